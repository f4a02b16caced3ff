//! Index of segment-wildcard rules (`+`), replacing Vault's scan over every such rule.
//!
//! Vault compares each `+` rule with the request path one by one (`CheckAllowedFromNonExactPaths`).
//! Here the rules sit in a trie keyed on path segments, with `+` as one more edge, so a lookup only
//! visits rules that can match. The candidates and their priority are the server's own.

use rustc_hash::FxHashMap as HashMap;

use super::radix::Radix;

/// The priority of a non-exact candidate: larger wins (`acl.go`, the `less` function).
/// `(first wildcard or glob position, not a prefix rule, -number of + segments, len, path)`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Priority {
    pub first_wc_or_glob: usize,
    pub non_prefix: bool,
    pub neg_wildcards: i64,
    pub len: usize,
    pub wc_path: Box<str>,
}

#[derive(Debug, Default, Clone)]
struct SegNode {
    literal: HashMap<Box<str>, u32>,
    plus: Option<u32>,
    /// A non-prefix rule whose segments end exactly here.
    end: Option<u32>,
    /// Prefix rules whose last segment only needs to be a string prefix of the path segment at
    /// this depth, keyed by that last segment. All of them share the segments before, so the
    /// server's priority reduces to the longest one that matches.
    prefixes: Radix<u32>,
}

/// Segment-wildcard rules indexed by segment.
#[derive(Debug, Clone)]
pub(crate) struct SegTrie {
    nodes: Vec<SegNode>,
    priorities: Vec<Priority>,
    /// The rule id (in the ACL's rule table) of each entry.
    rule_ids: Vec<u32>,
}

impl Default for SegTrie {
    fn default() -> Self {
        SegTrie {
            nodes: vec![SegNode::default()],
            priorities: Vec::new(),
            rule_ids: Vec::new(),
        }
    }
}

impl SegTrie {
    pub(crate) fn is_empty(&self) -> bool {
        self.rule_ids.is_empty()
    }

    /// Add a rule by its full pattern (trailing `*` kept, as Vault stores segment rules).
    pub(crate) fn insert(&mut self, pattern: &str, rule_id: u32) {
        let first = pattern.find('+').unwrap_or(0);
        let (wc_path, is_prefix) = match pattern.strip_suffix('*') {
            Some(p) => (p, true),
            None => (pattern, false),
        };
        let segs: Vec<&str> = wc_path.split('/').collect();
        let wildcards = segs.iter().filter(|s| **s == "+").count() as i64;
        let entry = self.rule_ids.len() as u32;
        self.rule_ids.push(rule_id);
        self.priorities.push(Priority {
            first_wc_or_glob: first,
            non_prefix: !is_prefix,
            neg_wildcards: -wildcards,
            len: wc_path.len(),
            wc_path: wc_path.into(),
        });
        let walk = if is_prefix {
            &segs[..segs.len() - 1]
        } else {
            &segs[..]
        };
        let mut node = 0usize;
        for s in walk {
            node = self.child_or_insert(node, s);
        }
        if is_prefix {
            let last = segs[segs.len() - 1];
            *self.nodes[node]
                .prefixes
                .entry_or_insert_with(last.as_bytes(), || entry) = entry;
        } else {
            self.nodes[node].end = Some(entry);
        }
    }

    fn child_or_insert(&mut self, node: usize, seg: &str) -> usize {
        let existing = if seg == "+" {
            self.nodes[node].plus
        } else {
            self.nodes[node].literal.get(seg).copied()
        };
        if let Some(c) = existing {
            return c as usize;
        }
        self.nodes.push(SegNode::default());
        let child = (self.nodes.len() - 1) as u32;
        if seg == "+" {
            self.nodes[node].plus = Some(child);
        } else {
            self.nodes[node].literal.insert(seg.into(), child);
        }
        child as usize
    }

    /// The best matching rule for `parts` (the request path split on `/`), as
    /// `(priority, rule id)`.
    pub(crate) fn best<'a>(&'a self, parts: &[&str]) -> Option<(&'a Priority, u32)> {
        let mut best: Option<u32> = None;
        self.walk(0, parts, 0, &mut best);
        best.map(|e| (&self.priorities[e as usize], self.rule_ids[e as usize]))
    }

    fn consider(&self, entry: u32, best: &mut Option<u32>) {
        match best {
            Some(b) if self.priorities[*b as usize] >= self.priorities[entry as usize] => {}
            _ => *best = Some(entry),
        }
    }

    fn walk(&self, node: usize, parts: &[&str], depth: usize, best: &mut Option<u32>) {
        let seg_node = &self.nodes[node];
        if depth < parts.len() {
            if let Some((_, entry)) = seg_node.prefixes.longest_prefix(parts[depth].as_bytes()) {
                self.consider(*entry, best);
            }
            if let Some(&c) = seg_node.literal.get(parts[depth]) {
                self.walk(c as usize, parts, depth + 1, best);
            }
            if let Some(c) = seg_node.plus {
                self.walk(c as usize, parts, depth + 1, best);
            }
        } else if let Some(e) = seg_node.end {
            self.consider(e, best);
        }
    }
}
