//! `github.com/ryanuber/go-glob`, the matcher behind JWT `bound_claims_type = "glob"`, Kubernetes
//! service account names/namespaces (`strutil.StrListContainsGlob`) and every cert-auth name
//! constraint.
//!
//! The only wildcard is `*`; it matches any run of bytes, `/` included, and may appear anywhere and
//! several times. The algorithm is the library's own greedy left-to-right scan, reproduced step by
//! step because its corner cases decide logins:
//!
//! * each middle piece is matched at its *first* occurrence, never backtracked;
//! * when the subject is used up before the last piece, the last piece is not compared at all, so
//!   `a*b` matches `a` and `ab*b` matches `ab`;
//! * in that same situation a last piece of two or more bytes makes Go slice out of range: the
//!   server's matcher panics (the login request fails). That outcome is [`GlobPanic`].

/// go-glob panicked (`slice bounds out of range`): the server's request fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GlobPanic;

/// `glob.Glob(pattern, subj)`: `Ok(true)` when the pattern matches, `Err(GlobPanic)` when the
/// library would panic on this input.
pub fn go_glob(pattern: &str, subj: &str) -> Result<bool, GlobPanic> {
    let p = pattern.as_bytes();
    let mut s = subj.as_bytes();
    if p.is_empty() {
        return Ok(s.is_empty());
    }
    let parts: Vec<&[u8]> = p.split(|&b| b == b'*').collect();
    if parts.len() == 1 {
        return Ok(s == p);
    }
    let leading = p[0] == b'*';
    let trailing = p[p.len() - 1] == b'*';
    let end = parts.len() - 1;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            if leading {
                continue;
            }
            if !s.starts_with(part) {
                return Ok(false);
            }
        } else if i == end {
            if !s.is_empty() {
                return Ok(trailing || s.ends_with(part));
            }
        } else if find(s, part).is_none() {
            return Ok(false);
        }
        // idx := strings.Index(subj, part) + len(part); subj = subj[idx:]
        let idx = find(s, part).map_or(-1, |i| i as isize) + part.len() as isize;
        if idx < 0 || idx as usize > s.len() {
            return Err(GlobPanic);
        }
        s = &s[idx as usize..];
    }
    Ok(true)
}

/// `strutil.StrListContainsGlob`: any pattern of the list matches.
pub fn list_contains_glob<S: AsRef<str>>(patterns: &[S], subj: &str) -> Result<bool, GlobPanic> {
    for p in patterns {
        if go_glob(p.as_ref(), subj)? {
            return Ok(true);
        }
    }
    Ok(false)
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

    fn g(p: &str, s: &str) -> bool {
        go_glob(p, s).unwrap()
    }

    #[test]
    fn plain_and_empty() {
        assert!(g("", ""));
        assert!(!g("", "a"));
        assert!(g("abc", "abc"));
        assert!(!g("abc", "abcd"));
        assert!(g("*", ""));
        assert!(g("*", "anything/at/all"));
    }

    #[test]
    fn star_anywhere_crosses_slashes() {
        assert!(g("acme/*", "acme/payments"));
        assert!(g("acme/*", "acme/team/payments"));
        assert!(g("acme/*", "acme/"));
        assert!(!g("acme/*", "acme"));
        assert!(g("*/payments", "acme/payments"));
        assert!(g("repo:acme/*:ref:refs/heads/*", "repo:acme/x:ref:refs/heads/main"));
        assert!(!g("repo:acme/*:ref:refs/heads/*", "repo:acme/x:ref:refs/tags/v1"));
        assert!(g("a*b*c", "a-b-c"));
        assert!(g("a**c", "ac"));
        assert!(g("*mid*", "xmidx"));
        assert!(!g("*mid*", "xmixd"));
    }

    #[test]
    fn greedy_first_occurrence_is_kept() {
        // Middle pieces are matched at their first occurrence; the last piece is a suffix test on
        // what is left.
        assert!(g("*a*b", "xaxb"));
        assert!(g("a*b", "ab"));
        assert!(!g("a*b", "ba"));
        // Leading glob with middle piece: first "b" consumed, suffix check on the rest.
        assert!(g("*b*c", "bbc"));
    }

    #[test]
    fn subject_exhausted_before_last_piece() {
        // go-glob quirks: the last piece is not compared once the subject is used up.
        assert!(g("a*b", "a"));
        assert!(g("a*a", "a"));
        assert!(g("ab*b", "ab"));
        assert!(g("*x*b", "x"));
        // ... and a last piece of two bytes or more panics in Go.
        assert_eq!(go_glob("a*bc", "a"), Err(GlobPanic));
        assert_eq!(go_glob("repo:*:ref", "repo:"), Err(GlobPanic));
        assert_eq!(go_glob("*x*bc", "x"), Err(GlobPanic));
    }

    #[test]
    fn list_contains() {
        assert!(list_contains_glob(&["ci", "app-*"], "app-web").unwrap());
        assert!(!list_contains_glob(&["ci", "app-*"], "web").unwrap());
        assert!(!list_contains_glob::<&str>(&[], "web").unwrap());
    }
}
