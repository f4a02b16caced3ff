//! A compressed byte trie (radix tree) with exact and longest-prefix lookup, the two queries
//! Vault's ACL makes of its `exactRules` and `prefixRules` trees (`armon/go-radix`).
//!
//! Lookups walk the key once, so their cost grows with the path's length, not with the number of
//! rules: this is what lets one compiled ACL answer millions of paths per second.

/// A radix tree mapping byte strings to values of type `V`.
#[derive(Debug, Clone)]
pub(crate) struct Radix<V> {
    nodes: Vec<Node<V>>,
    len: usize,
}

#[derive(Debug, Clone)]
struct Node<V> {
    /// The edge label leading into this node (empty for the root).
    label: Box<[u8]>,
    value: Option<V>,
    /// Children sorted by the first byte of their label.
    children: Vec<(u8, u32)>,
}

impl<V> Default for Radix<V> {
    fn default() -> Self {
        Radix {
            nodes: vec![Node {
                label: Box::new([]),
                value: None,
                children: Vec::new(),
            }],
            len: 0,
        }
    }
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

impl<V> Radix<V> {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.len
    }

    fn child(&self, node: usize, b: u8) -> Option<usize> {
        let children = &self.nodes[node].children;
        children
            .binary_search_by_key(&b, |(k, _)| *k)
            .ok()
            .map(|i| children[i].1 as usize)
    }

    /// The value stored for `key`, creating it with `make` when absent.
    pub(crate) fn entry_or_insert_with(&mut self, key: &[u8], make: impl FnOnce() -> V) -> &mut V {
        let mut node = 0usize;
        let mut rest = key;
        loop {
            if rest.is_empty() {
                if self.nodes[node].value.is_none() {
                    self.nodes[node].value = Some(make());
                    self.len += 1;
                }
                return self.nodes[node].value.as_mut().expect("just set");
            }
            match self.child(node, rest[0]) {
                None => {
                    let new = self.push(rest, Some(make()));
                    self.len += 1;
                    self.attach(node, rest[0], new);
                    return self.nodes[new].value.as_mut().expect("just set");
                }
                Some(child) => {
                    let shared_len = common_prefix(&self.nodes[child].label, rest);
                    if shared_len == self.nodes[child].label.len() {
                        node = child;
                        rest = &rest[shared_len..];
                        continue;
                    }
                    // Split the edge into `child` at `shared_len`.
                    let old_label = std::mem::take(&mut self.nodes[child].label);
                    let mid = self.push(&old_label[..shared_len], None);
                    self.nodes[child].label = old_label[shared_len..].into();
                    let child_first = self.nodes[child].label[0];
                    self.nodes[mid].children.push((child_first, child as u32));
                    // Re-point the parent's edge to the middle node.
                    let children = &mut self.nodes[node].children;
                    let edge_index = children
                        .binary_search_by_key(&old_label[0], |(k, _)| *k)
                        .expect("edge exists");
                    children[edge_index].1 = mid as u32;
                    node = mid;
                    rest = &rest[shared_len..];
                }
            }
        }
    }

    fn push(&mut self, label: &[u8], value: Option<V>) -> usize {
        self.nodes.push(Node {
            label: label.into(),
            value,
            children: Vec::new(),
        });
        self.nodes.len() - 1
    }

    fn attach(&mut self, parent: usize, first: u8, child: usize) {
        let children = &mut self.nodes[parent].children;
        let position = children.partition_point(|(k, _)| *k < first);
        children.insert(position, (first, child as u32));
    }

    /// The value stored exactly at `key`.
    #[cfg(test)]
    fn get(&self, key: &[u8]) -> Option<&V> {
        let mut node = 0usize;
        let mut rest = key;
        loop {
            if rest.is_empty() {
                return self.nodes[node].value.as_ref();
            }
            let child = self.child(node, rest[0])?;
            let label = &self.nodes[child].label;
            if !rest.starts_with(label) {
                return None;
            }
            rest = &rest[label.len()..];
            node = child;
        }
    }

    /// The longest stored key that is a prefix of `key`, with its length and value.
    pub(crate) fn longest_prefix(&self, key: &[u8]) -> Option<(usize, &V)> {
        let mut node = 0usize;
        let mut consumed = 0usize;
        let mut best = self.nodes[0].value.as_ref().map(|v| (0, v));
        loop {
            let rest = &key[consumed..];
            if rest.is_empty() {
                return best;
            }
            let Some(c) = self.child(node, rest[0]) else {
                return best;
            };
            let label = &self.nodes[c].label;
            if !rest.starts_with(label) {
                return best;
            }
            consumed += label.len();
            node = c;
            if let Some(v) = self.nodes[node].value.as_ref() {
                best = Some((consumed, v));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn basic() {
        let mut t = Radix::new();
        *t.entry_or_insert_with(b"secret/", || 0) = 1;
        *t.entry_or_insert_with(b"secret/data/", || 0) = 2;
        *t.entry_or_insert_with(b"", || 0) = 3;
        *t.entry_or_insert_with(b"sec", || 0) = 4;
        assert_eq!(t.get(b"secret/"), Some(&1));
        assert_eq!(t.get(b"secret"), None);
        assert_eq!(t.longest_prefix(b"secret/data/x"), Some((12, &2)));
        assert_eq!(t.longest_prefix(b"secret/dat"), Some((7, &1)));
        assert_eq!(t.longest_prefix(b"secr"), Some((3, &4)));
        assert_eq!(t.longest_prefix(b"x"), Some((0, &3)));
        assert_eq!(t.len(), 4);
    }

    proptest! {
        #[test]
        fn agrees_with_a_scan(keys in proptest::collection::vec("[ab/]{0,6}", 0..20),
                              probes in proptest::collection::vec("[ab/]{0,8}", 0..20)) {
            let mut t = Radix::new();
            for (i, k) in keys.iter().enumerate() {
                *t.entry_or_insert_with(k.as_bytes(), || i) = i;
            }
            for p in &probes {
                let exact = keys.iter().rposition(|k| k == p);
                prop_assert_eq!(t.get(p.as_bytes()).copied(), exact);
                let best = keys.iter().filter(|k| p.starts_with(k.as_str())).map(|k| k.len()).max();
                prop_assert_eq!(t.longest_prefix(p.as_bytes()).map(|(n, _)| n), best);
            }
        }
    }
}
