//! Path helpers for the facts pass: ranges of the secret index by namespace-qualified prefix
//! (without building full-path strings) and Vault pattern matching on (namespace, path) pairs.
//! Team ownership is `crate::ownership`.

use std::cmp::Ordering;

use crate::acl::policy::RuleKind;
use crate::passes::{Secret, SecretIndex};

/// Compare the first `prefix.len()` bytes of `ns + path` with `prefix` (`Equal` = starts with).
fn cmp_prefix(ns: &str, path: &str, prefix: &str) -> Ordering {
    let prefix_bytes = prefix.as_bytes();
    let ns_bytes = ns.as_bytes();
    let path_bytes = path.as_bytes();
    let mut i = 0;
    while i < prefix_bytes.len() {
        let byte = if i < ns_bytes.len() {
            ns_bytes[i]
        } else if i - ns_bytes.len() < path_bytes.len() {
            path_bytes[i - ns_bytes.len()]
        } else {
            // The full path is shorter than the prefix and equal so far.
            return Ordering::Less;
        };
        match byte.cmp(&prefix_bytes[i]) {
            Ordering::Equal => i += 1,
            o => return o,
        }
    }
    Ordering::Equal
}

/// Ids of the secrets whose namespace-qualified path starts with `prefix`.
pub(crate) fn range(index: &SecretIndex, prefix: &str) -> std::ops::Range<usize> {
    let secrets = &index.secrets;
    let start =
        secrets.partition_point(|x| cmp_prefix(&x.namespace, &x.path, prefix) == Ordering::Less);
    let end = start
        + secrets[start..]
            .partition_point(|x| cmp_prefix(&x.namespace, &x.path, prefix) == Ordering::Equal);
    start..end
}

/// Whether a namespace-qualified secret (`ns`, `path`) equals `full`.
fn full_eq(ns: &str, path: &str, full: &str) -> bool {
    full.len() == ns.len() + path.len() && full.starts_with(ns) && full.ends_with(path)
}

/// A Vault path pattern, namespace-qualified and classified as the server classifies rule paths:
/// exact, prefix (trailing `*`) or segment (`+` segments, optionally ending in `*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    /// Full path without the trailing `*` of a prefix pattern.
    pub path: String,
    pub kind: RuleKind,
}

impl Pattern {
    /// Classify `pattern` (already namespace-qualified) as `acl::policy::normalize` does.
    pub(crate) fn new(pattern: &str) -> Pattern {
        let full = pattern.trim_start_matches('/');
        let segment = full == "+" || full.contains("/+") || full.starts_with("+/");
        if segment {
            return Pattern {
                path: full.to_string(),
                kind: RuleKind::Segment,
            };
        }
        if let Some(p) = full.strip_suffix('*') {
            return Pattern {
                path: p.to_string(),
                kind: RuleKind::Prefix,
            };
        }
        Pattern {
            path: full.to_string(),
            kind: RuleKind::Exact,
        }
    }

    /// The literal part: everything before the first wildcard.
    pub(crate) fn literal(&self) -> &str {
        match self.kind {
            RuleKind::Segment => &self.path[..self.path.find('+').unwrap_or(self.path.len())],
            _ => &self.path,
        }
    }

    pub(crate) fn is_wildcard(&self) -> bool {
        self.kind != RuleKind::Exact
    }

    /// Whether the pattern matches a full path.
    pub(crate) fn matches(&self, full: &str) -> bool {
        match self.kind {
            RuleKind::Exact => full == self.path,
            RuleKind::Prefix => full.starts_with(&self.path),
            RuleKind::Segment => segment_match(&self.path, full),
        }
    }

    /// Whether the pattern matches the secret (`ns + path`).
    pub(crate) fn matches_secret(&self, s: &Secret) -> bool {
        match self.kind {
            RuleKind::Exact => full_eq(&s.namespace, &s.path, &self.path),
            RuleKind::Prefix => cmp_prefix(&s.namespace, &s.path, &self.path) == Ordering::Equal,
            // Namespaces end in `/`, so when the pattern starts with the secret's namespace the
            // segments line up and the namespace-relative rest decides; otherwise (a `+` in
            // the namespace part) compare full paths.
            RuleKind::Segment => match self.path.strip_prefix(&*s.namespace) {
                Some(rest) => segment_match(rest, &s.path),
                None => segment_match(&self.path, &s.full_path()),
            },
        }
    }

    /// Whether some path under `prefix` may match: the pattern lies inside `prefix`, or (for
    /// wildcard patterns) the pattern's literal part is a prefix of `prefix`.
    pub(crate) fn touches(&self, prefix: &str) -> bool {
        let lit = self.literal();
        lit.starts_with(prefix) || (self.is_wildcard() && prefix.starts_with(lit))
    }
}

/// `+` matches exactly one segment; a trailing `*` makes the last segment a prefix.
fn segment_match(pattern: &str, path: &str) -> bool {
    let (pat, prefix) = match pattern.strip_suffix('*') {
        Some(p) => (p, true),
        None => (pattern, false),
    };
    let mut pattern_segments = pat.split('/').peekable();
    let mut path_segments = path.split('/');
    while let Some(pattern_segment) = pattern_segments.next() {
        let last = pattern_segments.peek().is_none();
        let Some(path_segment) = path_segments.next() else {
            return false;
        };
        let ok = if pattern_segment == "+" {
            true
        } else if prefix && last {
            path_segment.starts_with(pattern_segment)
        } else {
            pattern_segment == path_segment
        };
        if !ok {
            return false;
        }
    }
    prefix || path_segments.next().is_none()
}

/// The number of key segments a pattern's literal part fixes below its secret mount's data root
/// (`secret/data/ci/*` → 1, `secret/*` → 0, `secret/data/+/shared/*` → 0; `kv1/legacy/x` → 2).
/// `mount_prefix` is the namespace-qualified mount path (`secret/`); KV v2 `data/` and
/// `metadata/` (and the other v2 verbs) do not count.
pub(crate) fn key_depth(literal: &str, mount_prefix: &str, kv2: bool) -> i32 {
    let Some(rest) = literal.strip_prefix(mount_prefix) else {
        return -1;
    };
    let rest = if kv2 {
        [
            "data/",
            "metadata/",
            "delete/",
            "undelete/",
            "destroy/",
            "subkeys/",
        ]
        .iter()
        .find_map(|v| rest.strip_prefix(v))
        .unwrap_or(if rest.contains('/') { rest } else { "" })
    } else {
        rest
    };
    // Complete segments only: `payments/` and `payments/x` both fix `payments`.
    rest.matches('/').count() as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let p = Pattern::new("secret/data/+/shared/*");
        assert_eq!(p.kind, RuleKind::Segment);
        assert_eq!(p.literal(), "secret/data/");
        assert!(p.matches("secret/data/payments/shared/x"));
        assert!(!p.matches("secret/data/payments/x"));
        let p = Pattern::new("secret/data/ci/*");
        assert_eq!(p.kind, RuleKind::Prefix);
        assert!(p.matches("secret/data/ci/x/y"));
        assert!(p.touches("secret/"));
        assert!(p.touches("secret/data/ci/x"));
        assert!(!p.touches("sys/"));
        let e = Pattern::new("auth/token/create");
        assert!(e.touches("auth/token/"));
        assert!(!e.touches("auth/token/create/x"));
        assert!(segment_match("a/+/c", "a/b/c"));
        assert!(!segment_match("a/+/c", "a/b/c/d"));
        assert!(segment_match("a/+/c*", "a/b/cd/e"));
    }

    #[test]
    fn depths() {
        assert_eq!(key_depth("secret/", "secret/", true), 0);
        assert_eq!(key_depth("secret/data/", "secret/", true), 0);
        assert_eq!(key_depth("secret/data/ci/", "secret/", true), 1);
        assert_eq!(key_depth("secret/data/payments/", "secret/", true), 1);
        assert_eq!(key_depth("secret/data/pay", "secret/", true), 0);
        assert_eq!(key_depth("kv1/legacy/", "kv1/", false), 1);
        assert_eq!(key_depth("data/", "secret/", true), -1);
    }

    #[test]
    fn prefix_compare() {
        assert_eq!(cmp_prefix("a/", "secret/x", "a/sec"), Ordering::Equal);
        assert_eq!(cmp_prefix("", "secret/x", "secret/x/y"), Ordering::Less);
        assert_eq!(cmp_prefix("b/", "x", "a/"), Ordering::Greater);
        assert!(full_eq("a/", "b/c", "a/b/c"));
        assert!(!full_eq("a/", "b/c", "a/b/cd"));
    }
}
