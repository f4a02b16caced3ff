//! Grouping secrets by prefix so a diagram stays under a node budget.
//!
//! Each item has a two-level *head* (cluster keys chosen by the view, e.g. owning team and
//! namespace, as small integers) and a path. Items are sorted by `(head, path)`, so every prefix
//! is a contiguous range. Grouping is a top-down cut of the implied tree:
//!
//! * level 0 is everything, levels 1 and 2 split by the head, deeper levels by path segment
//!   (`secret/`, `data/`, `payments/`, `db`);
//! * starting from the root, groups are expanded into their children as long as the total stays
//!   within the budget, shallowest first (every folder of a level is shown before one of them is
//!   split further), then largest first; a group with a single child is always expanded, so
//!   labels show the longest common prefix; groups above `min_depth` go first, so clusters
//!   separate;
//! * when no full expansion fits any more, the largest group left is split into its largest
//!   children plus one "… N more" group that uses up the rest of the budget.
//!
//! Every choice breaks ties by position, so the same items always give the same groups.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::ops::Range;

/// One thing to group: a secret (or anything with a path).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Item<'a> {
    pub head: [u32; 2],
    pub path: &'a str,
    /// The caller's id (a secret id).
    pub id: u32,
}

/// A group of items: one prefix (`ranges` has one range), or the lumped remainder of a parent's
/// children (`rest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Group {
    /// 0: everything; 1: one `head[0]`; 2: one head; 3+: one path prefix of `depth - 2` segments.
    pub depth: usize,
    pub ranges: Vec<Range<usize>>,
    pub count: usize,
    /// The siblings that did not fit, lumped together (`… N more`).
    pub rest: bool,
    /// How many prefixes a `rest` group lumps.
    pub lumped: usize,
    /// A single item shown as itself.
    pub leaf: bool,
}

impl Group {
    pub(crate) fn first(&self) -> usize {
        self.ranges[0].start
    }

    /// The items of the group, as indices into the sorted items.
    pub(crate) fn indices(&self) -> impl Iterator<Item = usize> + '_ {
        self.ranges.iter().flat_map(|r| r.clone())
    }
}

/// The byte length of the first `n` segments of `path` (a segment ends with `/`); the whole
/// path when it has fewer.
pub(crate) fn seg_end(path: &str, n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    let mut seen = 0;
    for (i, b) in path.bytes().enumerate() {
        if b == b'/' {
            seen += 1;
            if seen == n {
                return i + 1;
            }
        }
    }
    path.len()
}

/// The key of an item at `depth`, compared between neighbours to split a range.
fn key<'a>(it: &Item<'a>, depth: usize) -> (u32, u32, &'a str) {
    match depth {
        0 => (0, 0, ""),
        1 => (it.head[0], 0, ""),
        2 => (it.head[0], it.head[1], ""),
        d => (it.head[0], it.head[1], &it.path[..seg_end(it.path, d - 2)]),
    }
}

/// The path prefix of a group (empty above depth 3).
pub(crate) fn prefix<'a>(items: &[Item<'a>], g: &Group) -> &'a str {
    let first_item = &items[g.first()];
    if g.depth <= 2 {
        ""
    } else if g.leaf {
        first_item.path
    } else {
        &first_item.path[..seg_end(first_item.path, g.depth - 2)]
    }
}

fn is_leaf(items: &[Item<'_>], depth: usize, r: &Range<usize>) -> bool {
    r.len() == 1
        && depth >= 3
        && seg_end(items[r.start].path, depth - 2) == items[r.start].path.len()
}

/// The children of a one-range group, single-child chains followed down (so a child is either
/// a leaf or a real fork). `None` when the group cannot be split (a leaf).
fn children(
    items: &[Item<'_>],
    depth: usize,
    r: Range<usize>,
) -> Option<(usize, Vec<Range<usize>>)> {
    let mut depth = depth;
    let mut range = r;
    loop {
        if is_leaf(items, depth, &range) {
            return None;
        }
        let child_depth = depth + 1;
        let mut out = Vec::new();
        let mut start = range.start;
        for i in range.start + 1..range.end {
            if key(&items[i], child_depth) != key(&items[i - 1], child_depth) {
                out.push(start..i);
                start = i;
            }
        }
        out.push(start..range.end);
        if out.len() == 1 {
            // Same set one level down: keep going (a path cannot be deeper than its length).
            if depth > 2
                && seg_end(items[range.start].path, child_depth - 2)
                    == seg_end(items[range.start].path, depth - 2)
                && range.len() > 1
            {
                // Identical paths (should not happen): stop.
                return None;
            }
            depth = child_depth;
            range = out.pop().unwrap();
            continue;
        }
        return Some((child_depth, out));
    }
}

/// Group sorted `items` into at most `budget` groups (at least one), preferring to split down to
/// `min_depth` first. `items` must be sorted.
pub(crate) fn group(items: &[Item<'_>], budget: usize, min_depth: usize) -> Vec<Group> {
    debug_assert!(items.windows(2).all(|w| w[0] <= w[1]));
    if items.is_empty() {
        return Vec::new();
    }
    let budget = budget.max(1);
    let root = Group {
        depth: 0,
        ranges: std::iter::once(0..items.len()).collect(),
        count: items.len(),
        rest: false,
        lumped: 0,
        leaf: false,
    };
    // Frontier slots; `None` when replaced by children.
    let mut slots: Vec<Option<Group>> = vec![Some(root)];
    let mut count = 1usize;
    // (forced, Reverse(depth), size, Reverse(first)) → slot: shallow levels first (so a view
    // shows every folder of a level before splitting one of them further), largest first.
    type Key = (bool, Reverse<usize>, usize, Reverse<usize>, usize);
    let mut heap: BinaryHeap<Key> = BinaryHeap::new();
    heap.push((0 < min_depth, Reverse(0), items.len(), Reverse(0), 0));
    let mut deferred: Vec<(usize, usize, Vec<Range<usize>>)> = Vec::new(); // (slot, depth, children)
    while let Some((_, _, _, _, slot)) = heap.pop() {
        let parent = slots[slot].as_ref().unwrap();
        let Some((d, kids)) = children(items, parent.depth, parent.ranges[0].clone()) else {
            let parent = slots[slot].as_mut().unwrap();
            parent.leaf = true;
            parent.depth = parent.depth.max(3);
            // Normalise the depth of a leaf so `prefix` returns its path.
            continue;
        };
        let extra = kids.len() - 1;
        if count + extra <= budget {
            slots[slot] = None;
            count += extra;
            for k in kids {
                let leaf = is_leaf(items, d, &k);
                let new_slot = slots.len();
                let size = k.len();
                let first = k.start;
                slots.push(Some(Group {
                    depth: d,
                    ranges: vec![k],
                    count: size,
                    rest: false,
                    lumped: 0,
                    leaf,
                }));
                if !leaf {
                    heap.push((d < min_depth, Reverse(d), size, Reverse(first), new_slot));
                }
            }
        } else {
            deferred.push((slot, d, kids));
        }
    }
    // Partial split of the largest deferred group with what is left of the budget.
    let remaining = budget - count;
    if remaining > 0 {
        deferred.sort_by_key(|(slot, _, _)| {
            let parent = slots[*slot].as_ref().unwrap();
            (Reverse(parent.count), parent.first())
        });
        if let Some((slot, d, mut kids)) = deferred.into_iter().next() {
            // Largest children first (ties: position), the rest lumped.
            kids.sort_by_key(|k| (Reverse(k.len()), k.start));
            let rest: Vec<Range<usize>> = kids.split_off(remaining);
            let mut kept = kids;
            kept.sort_by_key(|k| k.start);
            slots[slot] = None;
            for k in kept {
                let leaf = is_leaf(items, d, &k);
                let size = k.len();
                slots.push(Some(Group {
                    depth: d,
                    ranges: vec![k],
                    count: size,
                    rest: false,
                    lumped: 0,
                    leaf,
                }));
            }
            let mut rest = rest;
            rest.sort_by_key(|k| k.start);
            let size = rest.iter().map(|r| r.len()).sum();
            let lumped = rest.len();
            slots.push(Some(Group {
                depth: d,
                ranges: rest,
                count: size,
                rest: true,
                lumped,
                leaf: false,
            }));
        }
    }
    let mut out: Vec<Group> = slots.into_iter().flatten().collect();
    out.sort_by_key(|g| (g.first(), g.rest));
    out
}

/// For each item index, the index of its group.
pub(crate) fn membership(groups: &[Group], n: usize) -> Vec<u32> {
    let mut group_of = vec![u32::MAX; n];
    for (gi, g) in groups.iter().enumerate() {
        for i in g.indices() {
            group_of[i] = gi as u32;
        }
    }
    group_of
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items<'a>(paths: &[&'a str]) -> Vec<Item<'a>> {
        let mut list: Vec<Item> = paths
            .iter()
            .enumerate()
            .map(|(i, p)| Item {
                head: [0, 0],
                path: p,
                id: i as u32,
            })
            .collect();
        list.sort();
        list
    }

    #[test]
    fn fits_without_grouping() {
        let item_list = items(&["secret/data/a/x", "secret/data/a/y", "secret/data/b/z"]);
        let groups = group(&item_list, 10, 2);
        assert_eq!(groups.len(), 3);
        assert!(groups.iter().all(|g| g.leaf));
        assert_eq!(prefix(&item_list, &groups[0]), "secret/data/a/x");
    }

    #[test]
    fn groups_by_prefix_within_budget() {
        let paths: Vec<String> = (0..100)
            .map(|i| format!("secret/data/team{}/app{}/key", i % 4, i))
            .collect();
        let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
        let item_list = items(&refs);
        for budget in 1..20 {
            let groups = group(&item_list, budget, 2);
            assert!(groups.len() <= budget, "{} > {budget}", groups.len());
            assert_eq!(groups.iter().map(|g| g.count).sum::<usize>(), 100);
            let member_of = membership(&groups, item_list.len());
            assert!(member_of.iter().all(|&x| x != u32::MAX));
        }
        let groups = group(&item_list, 4, 2);
        assert_eq!(groups.len(), 4);
        assert_eq!(prefix(&item_list, &groups[0]), "secret/data/team0/");
        assert_eq!(groups[0].count, 25);
        // Five groups: four teams do not leave room for a split, so a partial one is made.
        let groups = group(&item_list, 6, 2);
        assert_eq!(groups.len(), 6);
        assert!(groups.iter().any(|g| g.rest));
    }

    #[test]
    fn deterministic() {
        let paths: Vec<String> = (0..500)
            .map(|i| format!("kv/{}/{}/{}", i % 7, i % 13, i))
            .collect();
        let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
        let item_list = items(&refs);
        assert_eq!(group(&item_list, 30, 2), group(&item_list, 30, 2));
    }

    #[test]
    fn heads_split_first() {
        let mut item_list = vec![
            Item {
                head: [1, 0],
                path: "a/x",
                id: 0,
            },
            Item {
                head: [1, 0],
                path: "a/y",
                id: 1,
            },
            Item {
                head: [2, 0],
                path: "a/z",
                id: 2,
            },
        ];
        item_list.sort();
        let groups = group(&item_list, 2, 2);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].count, 2);
        assert_eq!(groups[1].count, 1);
    }
}
