//! Every secret of a snapshot as an absolute API path, indexed so that the secrets a compiled
//! ACL can grant are found from its rules, not by evaluating every path.
//!
//! A secret can only be granted by the rule that wins for it, and that rule grants something, so
//! the union of the paths each non-deny rule matches is a superset of the reach. Each candidate is
//! then evaluated exactly with [`Acl::capabilities`]. The cost follows the size of the reach, not
//! the size of the estate.

use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::acl::policy::RuleKind;
use crate::acl::Acl;
use crate::model::{SecretKind, Snapshot};

/// One secret: where it lives and the API path that decides access to it.
#[derive(Debug, Clone)]
pub struct Secret {
    /// Namespace path (`""` or `"team-a/"`), shared by every secret of the namespace.
    pub namespace: Arc<str>,
    /// Secret mount path (`"secret/"`), shared by every secret of the mount.
    pub mount: Arc<str>,
    /// The inventory key (`payments/db`, or `<collection>/<name>` for dynamic engines).
    pub key: String,
    /// The API path relative to the namespace (`secret/data/payments/db`).
    pub path: String,
    pub kind: SecretKind,
    /// The folder it sits in (see [`SecretIndex::folder`]).
    pub folder: u32,
}

impl Secret {
    /// Namespace-qualified path, as ACL rules see it (`team-a/secret/data/x`).
    pub fn full_path(&self) -> String {
        format!("{}{}", self.namespace, self.path)
    }
}

/// All secrets, sorted by full path.
#[derive(Debug, Default)]
pub struct SecretIndex {
    pub secrets: Vec<Secret>,
    /// Full paths in sorted order, parallel to `secrets` (looked up by binary search).
    full: Vec<Box<str>>,
    /// By folder id ([`Secret::folder`]), the index of a secret in that folder.
    folders: Vec<u32>,
    /// The secrets each segment-wildcard pattern may match, computed once per pattern: tokens
    /// share policies, so the same `+` rule is seen by many ACLs.
    segment_matches: Mutex<FxHashMap<Box<str>, Arc<[u32]>>>,
}

impl SecretIndex {
    pub fn build(snapshot: &Snapshot) -> SecretIndex {
        let mounts: Vec<(Arc<str>, Arc<str>, &crate::model::SecretMount)> = snapshot
            .namespaces
            .iter()
            .flat_map(|ns| {
                let ns_path: Arc<str> = crate::model::namespace_path(&ns.path).into();
                ns.secret_mounts
                    .iter()
                    .map(move |m| (ns_path.clone(), Arc::<str>::from(m.path.as_str()), m))
            })
            .collect();
        // Each mount's secrets in path order, mounts in parallel (an export lists them in
        // order already, and the stable sort finishes an ordered run in one pass).
        let groups: Vec<Vec<Listed>> = mounts
            .par_iter()
            .map(|(ns_path, mount, m)| {
                let mut group: Vec<Listed> = m
                    .secret_paths()
                    .into_iter()
                    .map(|sp| {
                        let secret = Secret {
                            namespace: ns_path.clone(),
                            mount: mount.clone(),
                            key: sp.key,
                            path: sp.api_path,
                            kind: sp.kind,
                            folder: 0,
                        };
                        (secret.full_path().into_boxed_str(), secret)
                    })
                    .collect();
                group.sort_by(|a, b| a.0.cmp(&b.0));
                group
            })
            .collect();
        let prefixes: Vec<String> = mounts
            .iter()
            .map(|(ns_path, mount, _)| format!("{ns_path}{mount}"))
            .collect();
        let ordered = in_path_order(groups, &prefixes);
        let total = ordered.iter().map(Vec::len).sum();
        let mut full: Vec<Box<str>> = Vec::with_capacity(total);
        let mut secrets: Vec<Secret> = Vec::with_capacity(total);
        // Each group is freed once moved; of equal paths the first is kept.
        for group in ordered {
            for (path, secret) in group {
                if full.last() != Some(&path) {
                    full.push(path);
                    secrets.push(secret);
                }
            }
        }
        let folders = number_folders(&mut secrets);
        SecretIndex {
            secrets,
            full,
            folders,
            segment_matches: Mutex::default(),
        }
    }

    /// The namespace and path of a folder ([`Secret::folder`]): the secret's path up to its
    /// last `/` (`""` at the top of the namespace).
    pub fn folder(&self, id: u32) -> (&str, &str) {
        folder_of(&self.secrets[self.folders[id as usize] as usize])
    }

    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    pub fn get(&self, id: u32) -> &Secret {
        &self.secrets[id as usize]
    }

    /// The secret at a namespace-qualified path.
    pub fn find(&self, full_path: &str) -> Option<u32> {
        self.full
            .binary_search_by(|p| (**p).cmp(full_path))
            .ok()
            .map(|i| i as u32)
    }

    /// Whether two indexes hold the same secrets under the same ids: equal full paths, split
    /// into namespace and path the same way.
    pub fn same_paths(&self, other: &SecretIndex) -> bool {
        self.full == other.full
            && self
                .secrets
                .iter()
                .zip(&other.secrets)
                .all(|(a, b)| a.namespace == b.namespace)
    }

    /// The namespace-qualified path of a secret (`namespace + path`).
    pub fn full_path(&self, id: u32) -> &str {
        &self.full[id as usize]
    }

    /// Whether some secret's full path starts with `prefix`.
    pub fn any_with_prefix(&self, prefix: &str) -> bool {
        !self.range(prefix).is_empty()
    }

    /// Ids of the secrets whose full path starts with `prefix`.
    pub fn ids_with_prefix(&self, prefix: &str) -> impl Iterator<Item = u32> {
        self.range(prefix).map(|i| i as u32)
    }

    /// Ids of the secrets whose full path starts with `prefix`.
    fn range(&self, prefix: &str) -> std::ops::Range<usize> {
        let start = self.full.partition_point(|p| &**p < prefix);
        let end = start + self.full[start..].partition_point(|p| p.starts_with(prefix));
        start..end
    }

    /// The secrets some non-deny rule of `acl` matches: a superset of what it grants.
    pub fn candidates(&self, acl: &Acl) -> Vec<u32> {
        let mut out: Vec<u32> = Vec::new();
        for rule in acl.rules() {
            if rule.perms.caps.is_deny() || rule.perms.caps.is_empty() {
                continue;
            }
            match rule.kind {
                RuleKind::Exact => {
                    if let Some(id) = self.find(&rule.pattern) {
                        out.push(id);
                    }
                }
                RuleKind::Prefix => {
                    let prefix = rule.pattern.strip_suffix('*').unwrap_or(&rule.pattern);
                    out.extend(self.range(prefix).map(|i| i as u32));
                }
                RuleKind::Segment => out.extend_from_slice(&self.segment_candidates(&rule.pattern)),
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

impl SecretIndex {
    /// The secrets some segment-wildcard rule of `acl` may match, whether it grants or denies,
    /// ascending. For any other secret the ACL's segment rules take no part in the decision.
    pub fn segment_rule_matches(&self, acl: &Acl) -> Vec<u32> {
        let mut out: Vec<u32> = Vec::new();
        for rule in acl.rules() {
            if matches!(rule.kind, RuleKind::Segment) {
                out.extend_from_slice(&self.segment_candidates(&rule.pattern));
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The secrets a segment-wildcard pattern (namespace-qualified, `+` segments, optionally
    /// ending in `*`) matches, ascending; memoized per pattern.
    pub fn segment_candidates(&self, pattern: &str) -> Arc<[u32]> {
        if let Some(hit) = self
            .segment_matches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(pattern)
        {
            return hit.clone();
        }
        // Everything up to the first `+` is literal, and every path of its range starts with
        // it: the whole segments of that literal need no second look.
        let lit = &pattern[..pattern.find('+').unwrap_or(0)];
        let same_segments = lit.rfind('/').map_or(0, |slash| slash + 1);
        let rest = &pattern[same_segments..];
        let ids: Arc<[u32]> = self
            .range(lit)
            .filter(|&i| segment_may_match(rest, &self.full[i][same_segments..]))
            .map(|i| i as u32)
            .collect();
        self.segment_matches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(pattern.into(), ids.clone());
        ids
    }
}

/// A secret with its full path (namespace and API path), as one mount lists it.
type Listed = (Box<str>, Secret);

/// The secrets of every mount (`groups`, each sorted by full path, in snapshot order, with
/// their `prefixes`: namespace and mount path) put in full-path order, equal paths in snapshot
/// order, as one stable sort of them all would give; returned as groups to concatenate. When no
/// prefix starts another, no path is in two groups, and the groups in prefix order are the
/// whole in order; otherwise (nested or repeated mount paths, which a server should not give)
/// they are sorted together, as one group.
fn in_path_order(groups: Vec<Vec<Listed>>, prefixes: &[String]) -> Vec<Vec<Listed>> {
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by(|&a, &b| prefixes[a].cmp(&prefixes[b]));
    let nested = order
        .windows(2)
        .any(|pair| prefixes[pair[1]].starts_with(prefixes[pair[0]].as_str()));
    if nested {
        let mut all: Vec<Listed> = groups.into_iter().flatten().collect();
        all.par_sort_by(|a, b| a.0.cmp(&b.0));
        return vec![all];
    }
    let mut groups: Vec<Option<Vec<Listed>>> = groups.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|at| groups[at].take())
        .collect()
}

/// The namespace and folder of a secret: its path up to the last `/`.
fn folder_of(secret: &Secret) -> (&str, &str) {
    let path = secret.path.rfind('/').map_or("", |end| &secret.path[..end]);
    (&secret.namespace, path)
}

/// Give each secret the id of its folder; returns, by folder id, the index of a secret in it.
/// Facts tally reach per folder for every pipeline: an id is cheaper to look up than the two
/// strings. Chunks of the index number their folders side by side, then the chunks' numbers
/// are made one.
fn number_folders(secrets: &mut [Secret]) -> Vec<u32> {
    const CHUNK: usize = 1 << 16;
    let chunk_folders: Vec<Vec<u32>> = secrets
        .par_chunks_mut(CHUNK)
        .enumerate()
        .map(|(chunk, secrets)| number_chunk(secrets, (chunk * CHUNK) as u32))
        .collect();
    let mut folders: Vec<u32> = Vec::new();
    let renumbered: Vec<Vec<u32>> = {
        let mut known: FxHashMap<(&str, &str), u32> = FxHashMap::default();
        chunk_folders
            .iter()
            .map(|local| {
                local
                    .iter()
                    .map(|&member| {
                        let key = folder_of(&secrets[member as usize]);
                        *known.entry(key).or_insert_with(|| {
                            folders.push(member);
                            (folders.len() - 1) as u32
                        })
                    })
                    .collect()
            })
            .collect()
    };
    secrets
        .par_chunks_mut(CHUNK)
        .zip(renumbered)
        .for_each(|(chunk, global)| {
            for secret in chunk {
                secret.folder = global[secret.folder as usize];
            }
        });
    folders
}

/// Number the folders of one chunk of secrets (the first at index `offset`) from 0; returns,
/// by number, the index of a secret in each.
fn number_chunk(secrets: &mut [Secret], offset: u32) -> Vec<u32> {
    let mut folders: Vec<u32> = Vec::new();
    let ids: Vec<u32> = {
        let mut known: FxHashMap<(&str, &str), u32> = FxHashMap::default();
        // Sorted by path, neighbours mostly share their folder.
        let mut previous: Option<((&str, &str), u32)> = None;
        secrets
            .iter()
            .enumerate()
            .map(|(at, secret)| {
                let key = folder_of(secret);
                if let Some((previous_key, id)) = previous {
                    if previous_key == key {
                        return id;
                    }
                }
                let id = *known.entry(key).or_insert_with(|| {
                    folders.push(offset + at as u32);
                    (folders.len() - 1) as u32
                });
                previous = Some((key, id));
                id
            })
            .collect()
    };
    for (secret, id) in secrets.iter_mut().zip(ids) {
        secret.folder = id;
    }
    folders
}

/// A quick filter for segment-wildcard patterns (the exact decision is the ACL's): segment
/// counts and literal segments must fit.
fn segment_may_match(pattern: &str, path: &str) -> bool {
    let (pat, prefix) = match pattern.strip_suffix('*') {
        Some(p) => (p, true),
        None => (pattern, false),
    };
    // Walk both in lockstep, without allocating: every pattern segment needs a path segment.
    let mut pattern_segments = pat.split('/').peekable();
    let mut path_segments = path.split('/');
    while let Some(pattern_segment) = pattern_segments.next() {
        let Some(path_segment) = path_segments.next() else {
            return false;
        };
        let last = pattern_segments.peek().is_none();
        if !(pattern_segment == "+"
            || pattern_segment == path_segment
            || (prefix && last && path_segment.starts_with(pattern_segment)))
        {
            return false;
        }
    }
    // An exact pattern needs exactly as many segments; a prefix pattern at least as many.
    prefix || path_segments.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_candidates_equal_the_filter_on_whole_paths() {
        let mut paths = vec![
            "ns/secret/data/a/x",
            "ns/secret/data/a/x/y",
            "ns/secret/data/ab+c/x",
            "ns/secret/data/ab+c/z",
            "ns/secret/data/abd/x",
            "ns/secret/data/b/xyz",
            "ns/secret/data/b/",
            "ns/secret/metadata/a/x",
            "other/secret/data/a/x",
        ];
        paths.sort();
        let index = SecretIndex {
            full: paths.iter().map(|p| (*p).into()).collect(),
            ..SecretIndex::default()
        };
        for pattern in [
            "ns/secret/data/+/x",
            "ns/secret/data/ab+c/+",
            "ns/secret/+/a/x",
            "ns/secret/data/+/x*",
            "+/secret/data/a/x",
            "ns/secret/data/+/",
            "ns/secret/data/a+",
        ] {
            let expected: Vec<u32> = (0..paths.len())
                .filter(|&i| segment_may_match(pattern, paths[i]))
                .map(|i| i as u32)
                .collect();
            assert_eq!(
                &*index.segment_candidates(pattern),
                &expected[..],
                "{pattern}"
            );
        }
    }

    /// Groups as `build` makes them: (namespace, mount, keys in order); the key names which
    /// group a secret came from, to tell equal paths apart.
    fn groups(spec: &[(&str, &str, &[&str])]) -> (Vec<Vec<Listed>>, Vec<String>) {
        let groups = spec
            .iter()
            .enumerate()
            .map(|(at, (namespace, mount, paths))| {
                paths
                    .iter()
                    .map(|path| {
                        let secret = Secret {
                            namespace: (*namespace).into(),
                            mount: (*mount).into(),
                            key: format!("group {at}"),
                            path: format!("{mount}{path}"),
                            kind: SecretKind::Kv,
                            folder: 0,
                        };
                        (secret.full_path().into_boxed_str(), secret)
                    })
                    .collect()
            })
            .collect();
        let prefixes = spec
            .iter()
            .map(|(ns, mount, _)| format!("{ns}{mount}"))
            .collect();
        (groups, prefixes)
    }

    fn stable_sort_of_all(groups: &[Vec<Listed>]) -> Vec<(String, String)> {
        let mut all: Vec<(String, String)> = groups
            .iter()
            .flatten()
            .map(|(full, secret)| (full.to_string(), secret.key.clone()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    #[test]
    fn mounts_in_prefix_order_equal_one_stable_sort() {
        let cases: [&[(&str, &str, &[&str])]; 2] = [
            // Disjoint mounts, listed out of order.
            &[
                ("b/", "secret/", &["x", "y"]),
                ("", "z/", &["a"]),
                ("", "kv/", &["a", "b/c"]),
                ("b/", "a-b/", &["k"]),
            ],
            // A mount whose path is also a namespace: one path is in two groups, and the
            // first in snapshot order must come first.
            &[
                ("a/b/", "secret/", &["x", "y"]),
                ("a/", "b/", &["secret/x", "z"]),
                ("", "kv/", &["a"]),
            ],
        ];
        for spec in cases {
            let (groups, prefixes) = groups(spec);
            let expected = stable_sort_of_all(&groups);
            let got: Vec<(String, String)> = in_path_order(groups, &prefixes)
                .into_iter()
                .flatten()
                .map(|(full, secret)| (full.to_string(), secret.key))
                .collect();
            assert_eq!(got, expected);
        }
    }

    #[test]
    fn segment_filter() {
        assert!(segment_may_match("secret/+/x", "secret/a/x"));
        assert!(!segment_may_match("secret/+/x", "secret/a/x/y"));
        assert!(segment_may_match("secret/+/x*", "secret/a/xyz/w"));
        assert!(segment_may_match("secret/+/*", "secret/a/b/c"));
        assert!(!segment_may_match("secret/+/*", "secret/a"));
        assert!(!segment_may_match("secret/+/x", "secret/a"));
        assert!(segment_may_match("+", "a"));
        assert!(!segment_may_match("+", "a/b"));
        assert!(segment_may_match("a/+/", "a/b/"));
        assert!(!segment_may_match("a/+/", "a/b/c"));
    }
}
