//! Reading file-device audit logs (Vault and OpenBao, `format = "json"`): one JSON object per
//! line, optionally preceded by the device's `prefix`, streamed with a bounded line buffer.
//!
//! Only the fields the usage pass needs are deserialized (borrowed from the line where possible);
//! `request.data` and `response.data`, the bulk of a line, are skipped without being built.
//! Every field is optional, as both servers write them with `omitempty`.

use std::borrow::Cow;
use std::io::BufRead;

use serde::Deserialize;
use serde_json::Value;

/// Longest line accepted. A longer line is skipped (reported as malformed) without being held in
/// memory, so memory stays bounded whatever the input.
pub(crate) const MAX_LINE: usize = 64 << 20;

/// The top-level `auth` object, or `response.auth`.
#[derive(Debug, Default, Deserialize)]
pub struct Auth<'a> {
    #[serde(borrow, default)]
    pub accessor: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub client_token: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub display_name: Option<Cow<'a, str>>,
    #[serde(default)]
    pub policies: Option<Vec<String>>,
    #[serde(default)]
    pub token_policies: Option<Vec<String>>,
    #[serde(default)]
    pub identity_policies: Option<Vec<String>>,
    /// string → string in OpenBao, string → any in recent Vault.
    #[serde(default)]
    pub metadata: Option<serde_json::Map<String, Value>>,
    #[serde(borrow, default)]
    pub entity_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub token_issue_time: Option<Cow<'a, str>>,
    #[serde(default)]
    pub policy_results: Option<PolicyResults>,
}

/// `auth.policy_results`: whether the ACL allowed the request and which policies granted it.
#[derive(Debug, Default, Deserialize)]
pub struct PolicyResults {
    #[serde(default)]
    pub allowed: bool,
    #[serde(default)]
    pub granting_policies: Vec<GrantingPolicy>,
}

#[derive(Debug, Default, Deserialize)]
pub struct GrantingPolicy {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace_id: String,
    #[serde(default, rename = "type")]
    pub kind: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct NamespaceRef<'a> {
    #[serde(borrow, default)]
    pub id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub path: Option<Cow<'a, str>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Request<'a> {
    #[serde(borrow, default)]
    pub id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub operation: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub path: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub mount_point: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub mount_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub client_token_accessor: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub namespace: Option<NamespaceRef<'a>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Response<'a> {
    #[serde(borrow, default)]
    pub auth: Option<Auth<'a>>,
}

/// One audit entry.
#[derive(Debug, Default, Deserialize)]
pub struct Entry<'a> {
    #[serde(borrow, default, rename = "type")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub time: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub auth: Option<Auth<'a>>,
    #[serde(borrow, default)]
    pub request: Option<Request<'a>>,
    #[serde(borrow, default)]
    pub response: Option<Response<'a>>,
    #[serde(borrow, default)]
    pub error: Option<Cow<'a, str>>,
}

impl Entry<'_> {
    pub fn is_response(&self) -> bool {
        self.kind.as_deref() == Some("response")
    }
    pub fn is_request(&self) -> bool {
        self.kind.as_deref() == Some("request")
    }
}

impl Auth<'_> {
    /// The role the login was made with, from the token metadata the auth plugin sets: `role`
    /// (JWT/OIDC, Kubernetes), `role_name` (AppRole), `cert_name` (cert), `username`
    /// (userpass, LDAP).
    pub fn role_hint(&self) -> Option<String> {
        let metadata = self.metadata.as_ref()?;
        for k in ["role", "role_name", "cert_name", "username"] {
            match metadata.get(k) {
                Some(Value::String(s)) if !s.is_empty() => return Some(s.clone()),
                Some(v @ (Value::Number(_) | Value::Bool(_))) => return Some(v.to_string()),
                _ => {}
            }
        }
        None
    }

    /// `policies`, or the union of `token_policies` and `identity_policies`, sorted.
    pub fn all_policies(&self) -> Vec<String> {
        let mut policies: Vec<String> = match &self.policies {
            Some(p) => p.clone(),
            None => self
                .token_policies
                .iter()
                .chain(self.identity_policies.iter())
                .flatten()
                .cloned()
                .collect(),
        };
        policies.sort();
        policies.dedup();
        policies
    }
}

/// Why a line could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LineError {
    TooLong(usize),
    NotJson(String),
    NotAnEntry(&'static str),
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LineError::TooLong(n) => write!(
                f,
                "line longer than {MAX_LINE} bytes ({n} bytes read); skipped"
            ),
            LineError::NotJson(e) => write!(f, "not a JSON audit entry: {e}"),
            LineError::NotAnEntry(why) => write!(f, "not an audit entry: {why}"),
        }
    }
}

/// Parse one line (without its newline). `Ok(None)` for a blank line. A device `prefix` before
/// the JSON object is skipped.
pub(crate) fn parse_line(line: &[u8]) -> Result<Option<Entry<'_>>, LineError> {
    let trimmed = trim_ascii(line);
    if trimmed.is_empty() {
        return Ok(None);
    }
    let start = match trimmed.iter().position(|&b| b == b'{') {
        Some(i) => i,
        None => return Err(LineError::NotJson("no JSON object on the line".into())),
    };
    let json = &trimmed[start..];
    let entry: Entry<'_> = serde_json::from_slice(json).map_err(|e| {
        // serde_json reports line 1 and a column within the JSON text; give the column in the line.
        let col = e.column() + start;
        LineError::NotJson(format!(
            "{} at column {col}",
            strip_position(&e.to_string())
        ))
    })?;
    match entry.kind.as_deref() {
        Some("request") | Some("response") => {}
        Some(_) => {
            return Err(LineError::NotAnEntry(
                "\"type\" is neither request nor response",
            ))
        }
        None => return Err(LineError::NotAnEntry("no \"type\" field")),
    }
    if entry.request.is_none() {
        return Err(LineError::NotAnEntry("no \"request\" object"));
    }
    Ok(Some(entry))
}

fn strip_position(s: &str) -> &str {
    match s.find(" at line ") {
        Some(i) => &s[..i],
        None => s,
    }
}

fn trim_ascii(mut b: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = b {
        if first.is_ascii_whitespace() {
            b = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = b {
        if last.is_ascii_whitespace() {
            b = rest;
        } else {
            break;
        }
    }
    b
}

/// Read lines with a bounded buffer: `next_line` fills `buf` with the next line (without `\n`)
/// and returns its 1-based number, or tells that it was longer than `max` (then the rest of it is
/// consumed and dropped).
pub(crate) struct LineReader<R> {
    inner: R,
    line_no: u64,
    max: usize,
}

/// One read step.
pub(crate) enum ReadLine {
    Line(u64),
    TooLong(u64, usize),
    Eof,
}

impl<R: BufRead> LineReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self::with_max(inner, MAX_LINE)
    }

    pub(crate) fn with_max(inner: R, max: usize) -> Self {
        LineReader {
            inner,
            line_no: 0,
            max,
        }
    }

    pub(crate) fn next_line(&mut self, buf: &mut Vec<u8>) -> std::io::Result<ReadLine> {
        buf.clear();
        let mut total = 0usize;
        let mut too_long = false;
        let mut any = false;
        loop {
            let available = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                break;
            }
            any = true;
            let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
                Some(i) => (&available[..i], Some(i + 1)),
                None => (available, None),
            };
            total += chunk.len();
            if !too_long {
                if buf.len() + chunk.len() > self.max {
                    too_long = true;
                    buf.clear();
                    buf.shrink_to(1 << 16);
                } else {
                    buf.extend_from_slice(chunk);
                }
            }
            let used = done.unwrap_or(available.len());
            self.inner.consume(used);
            if done.is_some() {
                break;
            }
        }
        if !any {
            return Ok(ReadLine::Eof);
        }
        self.line_no += 1;
        if too_long {
            Ok(ReadLine::TooLong(self.line_no, total))
        } else {
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
            Ok(ReadLine::Line(self.line_no))
        }
    }
}

/// Parse an RFC 3339 timestamp (`time` of an entry, `--since`) to Unix nanoseconds.
pub(crate) fn parse_time(s: &str) -> Option<i128> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp_nanos())
}
