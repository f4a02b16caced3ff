//! Export errors, and the redactor that keeps credentials out of every message.
//!
//! The exporter holds a token (and, when it logs in itself, a JWT or an AppRole role-id and
//! secret-id). None of them may appear in an error, a log line or the snapshot. The HTTP stack
//! never puts the token in a URL, but error texts come from several crates (reqwest, hyper,
//! rustify, vaultrs) and from the server; rather than trust each of them, every text that leaves
//! the exporter goes through [`Redactor::clean`], which replaces any known credential by
//! `<redacted>`.

use std::sync::{Arc, RwLock};

/// Why an export could not be completed. Every variant's text is already redacted and tells the
/// user what to do.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Bad options or unreadable credential files (before any request).
    #[error("{0}")]
    Config(String),
    /// The server could not be reached, or stopped answering, after the retries.
    #[error("{0}")]
    Unreachable(String),
    /// The server is sealed (or answered 503 to every retry).
    #[error("{0}")]
    Sealed(String),
    /// The token (or the login) was refused.
    #[error("{0}")]
    Auth(String),
    /// Anything else that makes the snapshot impossible to write faithfully.
    #[error("{0}")]
    Other(String),
}

/// Replaces known secret strings in texts. Cheap to clone (shared list); secrets learnt later
/// (the token returned by a login) are added with [`Redactor::add`].
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Arc<RwLock<Vec<String>>>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secrets themselves.
        let n = self.secrets.read().map(|s| s.len()).unwrap_or(0);
        write!(f, "Redactor({n} secrets)")
    }
}

/// Secrets shorter than this are not scrubbed: replacing every "a" in a message would make it
/// unreadable, and such short strings are not credentials anyway.
const MIN_SECRET_LEN: usize = 6;

impl Redactor {
    pub fn new() -> Redactor {
        Redactor::default()
    }

    /// Remember a secret; it is scrubbed from every text cleaned from now on.
    pub fn add(&self, secret: &str) {
        let s = secret.trim();
        if s.len() < MIN_SECRET_LEN {
            return;
        }
        if let Ok(mut v) = self.secrets.write() {
            if !v.iter().any(|x| x == s) {
                v.push(s.to_owned());
                // Longest first, so a secret containing another is replaced whole.
                v.sort_by_key(|x| std::cmp::Reverse(x.len()));
            }
        }
    }

    /// The text with every known secret replaced by `<redacted>`.
    pub fn clean(&self, text: &str) -> String {
        let mut out = text.to_owned();
        if let Ok(v) = self.secrets.read() {
            for s in v.iter() {
                if out.contains(s.as_str()) {
                    out = out.replace(s.as_str(), "<redacted>");
                }
            }
        }
        out
    }

    /// True when `text` contains a known secret (used by tests and debug assertions).
    pub fn leaks(&self, text: &str) -> bool {
        self.secrets
            .read()
            .map(|v| v.iter().any(|s| text.contains(s.as_str())))
            .unwrap_or(false)
    }
}

/// The full chain of an error (`outer: inner: innermost`), for transport errors whose useful part
/// ("connection refused") is several sources deep.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
        cur = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_longest_first_and_ignores_short() {
        let r = Redactor::new();
        r.add("s.abcdef");
        r.add("s.abcdefghij");
        r.add("abc");
        assert_eq!(
            r.clean("token s.abcdefghij and s.abcdef and abc"),
            "token <redacted> and <redacted> and abc"
        );
        assert!(r.leaks("x s.abcdef y"));
        assert!(!r.leaks("nothing"));
        assert!(!format!("{r:?}").contains("abcdef"));
    }
}
