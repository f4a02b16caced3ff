//! `github.com/ryanuber/go-glob` v1.0.0 (the version OpenBao pins), the matcher behind JWT
//! `bound_claims_type = "glob"`, Kubernetes service account names/namespaces
//! (`strutil.StrListContainsGlob`) and every cert-auth name constraint.
//!
//! The only wildcard is `*`; it matches any run of bytes, `/` included, anywhere in the pattern and
//! any number of times. The library's algorithm, reproduced step by step: the pieces between `*`s
//! are matched left to right at their *first* occurrence (the first piece must be a prefix unless
//! the pattern starts with `*`), then the last piece must be a suffix of what is left (unless the
//! pattern ends with `*`). There is no other syntax: `?`, `[`, `\` are literal.

/// `glob.Glob(pattern, subj)`.
pub fn go_glob(pattern: &str, subj: &str) -> bool {
    let pattern_bytes = pattern.as_bytes();
    let mut rest = subj.as_bytes();
    if pattern_bytes.is_empty() {
        return rest.is_empty();
    }
    if pattern_bytes == b"*" {
        return true;
    }
    let parts: Vec<&[u8]> = pattern_bytes.split(|&b| b == b'*').collect();
    if parts.len() == 1 {
        return rest == pattern_bytes;
    }
    let leading = pattern_bytes[0] == b'*';
    let trailing = pattern_bytes[pattern_bytes.len() - 1] == b'*';
    let end = parts.len() - 1;
    for (i, part) in parts[..end].iter().enumerate() {
        let idx = find(rest, part);
        match (i, idx) {
            (0, Some(0)) => {}
            (0, _) if !leading => return false,
            (_, None) => return false,
            _ => {}
        }
        let idx = idx.unwrap_or(0);
        rest = &rest[idx + part.len()..];
    }
    trailing || rest.ends_with(parts[end])
}

/// `strutil.StrListContainsGlob`: any pattern of the list matches.
pub fn list_contains_glob<S: AsRef<str>>(patterns: &[S], subj: &str) -> bool {
    patterns.iter().any(|p| go_glob(p.as_ref(), subj))
}

/// `strings.Index` on bytes: the first occurrence, `Some(0)` for an empty needle.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    if needle.len() > hay.len() {
        return None;
    }
    (0..=hay.len() - needle.len()).find(|&i| &hay[i..i + needle.len()] == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_empty() {
        assert!(go_glob("", ""));
        assert!(!go_glob("", "a"));
        assert!(go_glob("abc", "abc"));
        assert!(!go_glob("abc", "abcd"));
        assert!(go_glob("*", ""));
        assert!(go_glob("*", "anything/at/all"));
        assert!(go_glob("**", ""));
        // No other metacharacters.
        assert!(go_glob("a?c", "a?c"));
        assert!(!go_glob("a?c", "abc"));
        assert!(go_glob("[ab]", "[ab]"));
    }

    #[test]
    fn star_anywhere_crosses_slashes() {
        assert!(go_glob("acme/*", "acme/payments"));
        assert!(go_glob("acme/*", "acme/team/payments"));
        assert!(go_glob("acme/*", "acme/"));
        assert!(!go_glob("acme/*", "acme"));
        assert!(go_glob("*/payments", "acme/payments"));
        assert!(go_glob(
            "repo:acme/*:ref:refs/heads/*",
            "repo:acme/x:ref:refs/heads/main"
        ));
        assert!(!go_glob(
            "repo:acme/*:ref:refs/heads/*",
            "repo:acme/x:ref:refs/tags/v1"
        ));
        assert!(go_glob("a*b*c", "a-b-c"));
        assert!(go_glob("a**c", "ac"));
        assert!(go_glob("*mid*", "xmidx"));
        assert!(!go_glob("*mid*", "xmixd"));
    }

    #[test]
    fn pieces_do_not_overlap() {
        assert!(!go_glob("a*b", "a"));
        assert!(!go_glob("ab*b", "ab"));
        assert!(go_glob("ab*b", "abb"));
        assert!(!go_glob("*a*a", "a"));
        assert!(go_glob("*aa*a", "aaa"));
        assert!(!go_glob("*ab*bc", "abc"));
        assert!(!go_glob("repo:*:ref", "repo:"));
        assert!(go_glob("*a*b", "xaxb"));
        assert!(!go_glob("a*b", "ba"));
        assert!(go_glob("*b*c", "bbc"));
    }

    #[test]
    fn list_contains() {
        assert!(list_contains_glob(&["ci", "app-*"], "app-web"));
        assert!(!list_contains_glob(&["ci", "app-*"], "web"));
        assert!(!list_contains_glob::<&str>(&[], "web"));
    }
}
