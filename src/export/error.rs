//! Export errors, and the redactor that keeps credentials out of every message.
//!
//! The exporter holds a token (and, when it logs in itself, a JWT or an AppRole role-id and
//! secret-id). None of them may appear in an error, a log line or the snapshot. The HTTP stack
//! never puts the token in a URL, but error texts come from several crates (reqwest, hyper,
//! rustls, url) and from the server; rather than trust each of them, every text that leaves
//! the exporter goes through [`Redactor::clean`], which replaces any known credential by
//! `<redacted>`.
//!
//! A hostile server can also echo a token inside the data it returns (a policy comment, a
//! metadata value, a key name), one the exporter never knew. So [`Redactor::clean`] also
//! replaces every token-shaped string, and [`Redactor::clean_value`] applies it to every string
//! (keys included) of every answer the walk keeps. The shapes are the token formats of both
//! servers: Vault's `hvs.` (service), `hvb.` (batch) and `hvr.` (recovery) prefixes, and the
//! `s.`, `b.`, `r.` prefixes of OpenBao and of Vault's legacy tokens, each followed by at least
//! 24 characters of the token alphabet (an OpenBao namespace token's `.<namespace id>` suffix
//! included).

use std::sync::{Arc, RwLock};

use serde_json::Value;

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
        let count = self.secrets.read().map(|s| s.len()).unwrap_or(0);
        write!(f, "Redactor({count} secrets)")
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
        let trimmed = secret.trim();
        if trimmed.len() < MIN_SECRET_LEN {
            return;
        }
        if let Ok(mut v) = self.secrets.write() {
            if !v.iter().any(|x| x == trimmed) {
                v.push(trimmed.to_owned());
                // Longest first, so a secret containing another is replaced whole.
                v.sort_by_key(|x| std::cmp::Reverse(x.len()));
            }
        }
    }

    /// The text with every known secret and every token-shaped string replaced by
    /// `<redacted>`.
    pub fn clean(&self, text: &str) -> String {
        let mut out = redact_token_shapes(text).into_owned();
        if let Ok(v) = self.secrets.read() {
            for s in v.iter() {
                if out.contains(s.as_str()) {
                    out = out.replace(s.as_str(), "<redacted>");
                }
            }
        }
        out
    }

    /// `value` with [`Redactor::clean`] applied to every string and object key in it.
    pub fn clean_value(&self, value: Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.clean_if_needed(s)),
            Value::Array(a) => Value::Array(a.into_iter().map(|v| self.clean_value(v)).collect()),
            Value::Object(o) => Value::Object(
                o.into_iter()
                    .map(|(k, v)| (self.clean_if_needed(k), self.clean_value(v)))
                    .collect(),
            ),
            other => other,
        }
    }

    /// `s` unchanged (no copy) when there is nothing to redact.
    fn clean_if_needed(&self, s: String) -> String {
        if self.leaks(&s) || has_token_shape(&s) {
            self.clean(&s)
        } else {
            s
        }
    }

    /// True when `text` contains a known secret (used by tests and debug assertions).
    pub fn leaks(&self, text: &str) -> bool {
        self.secrets
            .read()
            .map(|v| v.iter().any(|s| text.contains(s.as_str())))
            .unwrap_or(false)
    }
}

/// Token prefixes: Vault's current service, batch and recovery tokens, then the `s.`, `b.`,
/// `r.` of OpenBao and of Vault's legacy tokens.
const TOKEN_PREFIXES: [&str; 6] = ["hvs.", "hvb.", "hvr.", "s.", "b.", "r."];
/// The shortest token body after the prefix (legacy and OpenBao service tokens have 24).
const MIN_TOKEN_BODY: usize = 24;

fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// The end of a token starting at `start`, if one does.
fn token_end(bytes: &[u8], start: usize) -> Option<usize> {
    if start > 0 && (is_token_char(bytes[start - 1]) || bytes[start - 1] == b'.') {
        return None;
    }
    let rest = &bytes[start..];
    let prefix = TOKEN_PREFIXES
        .iter()
        .find(|p| rest.starts_with(p.as_bytes()))?;
    let body_start = start + prefix.len();
    let body = bytes[body_start..]
        .iter()
        .take_while(|b| is_token_char(**b))
        .count();
    if body < MIN_TOKEN_BODY {
        return None;
    }
    let mut end = body_start + body;
    // A namespace token ends in `.<namespace id>`.
    if bytes.get(end) == Some(&b'.') {
        let suffix = bytes[end + 1..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        if suffix > 0 {
            end += 1 + suffix;
        }
    }
    Some(end)
}

/// True when `text` holds a token-shaped string.
pub(crate) fn has_token_shape(text: &str) -> bool {
    let bytes = text.as_bytes();
    (0..bytes.len()).any(|i| token_end(bytes, i).is_some())
}

/// `text` with every token-shaped string replaced by `<redacted>`.
pub(crate) fn redact_token_shapes(text: &str) -> std::borrow::Cow<'_, str> {
    if !has_token_shape(text) {
        return std::borrow::Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        match token_end(bytes, i) {
            Some(end) => {
                out.push_str(&text[copied..i]);
                out.push_str("<redacted>");
                copied = end;
                i = end;
            }
            None => i += 1,
        }
    }
    out.push_str(&text[copied..]);
    std::borrow::Cow::Owned(out)
}

/// The full chain of an error (`outer: inner: innermost`), for transport errors whose useful part
/// ("connection refused") is several sources deep.
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let message = s.to_string();
        if !parts.iter().any(|p| p.contains(&message)) {
            parts.push(message);
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
        let redactor = Redactor::new();
        redactor.add("s.abcdef");
        redactor.add("s.abcdefghij");
        redactor.add("abc");
        assert_eq!(
            redactor.clean("token s.abcdefghij and s.abcdef and abc"),
            "token <redacted> and <redacted> and abc"
        );
        assert!(redactor.leaks("x s.abcdef y"));
        assert!(!redactor.leaks("nothing"));
        assert!(!format!("{redactor:?}").contains("abcdef"));
    }

    #[test]
    fn redacts_every_token_shape_and_nothing_else() {
        let body = "AbCdEfGhIjKlMnOpQrStUvWx";
        for prefix in TOKEN_PREFIXES {
            let token = format!("{prefix}{body}");
            let text = format!("echo {token}, end");
            assert_eq!(
                redact_token_shapes(&text),
                "echo <redacted>, end",
                "{prefix}"
            );
        }
        let ns_token = format!("s.{body}.Xy12z and more");
        assert_eq!(redact_token_shapes(&ns_token), "<redacted> and more");
        // Not tokens: too short, inside a word, or a path segment such as `keys.` + text.
        for text in [
            "s.short",
            "keys.AbCdEfGhIjKlMnOpQrStUvWx",
            "hvs.tooShort",
            "secret/data/app",
        ] {
            assert_eq!(redact_token_shapes(text), text);
        }
        let redactor = Redactor::new();
        let value =
            serde_json::json!({"keys": [format!("hvb.{body}"), "ok"], format!("r.{body}"): 1});
        let cleaned = redactor.clean_value(value).to_string();
        assert!(!cleaned.contains(body), "{cleaned}");
        assert!(cleaned.contains("\"ok\""));
    }
}
