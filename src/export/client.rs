//! The HTTP side of the exporter: one raw request function, bounded concurrency, retries, and
//! the bounds that keep a hostile server from turning the exporter against its user.
//!
//! Requests are sent with reqwest directly (see [`super::connect::build_http`]): every object is
//! read as `serde_json::Value` and mapped into the model by the readers, because typed client
//! responses are too strict for real estates.
//!
//! Every request takes a permit of one semaphore, so `--concurrency` bounds the requests in
//! flight whatever the walk spawns. Transient failures (no answer, connection reset, timeout,
//! 429, 5xx) are retried with exponential backoff; the permit is released while waiting, so a
//! struggling server gets fewer requests, not more.
//!
//! Bounds (see [`Bounds`]): a redirect to another origin is never followed (the token stays with
//! the origin the user named); an answer larger than `max_response_bytes` is abandoned while it
//! streams, before it is held in memory; a request and its whole body must finish within the
//! timeout; after `max_requests` requests no new one is sent. A request that hits a bound fails
//! with [`ApiError::Bound`] or [`ApiError::Redirect`], which the readers record as coverage gaps.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::header::{HeaderValue, CONTENT_TYPE, LOCATION};
use reqwest::Method;
use serde_json::Value;
use tokio::sync::Semaphore;

use super::error::{error_chain, Redactor};
use super::progress::Progress;

/// The operations the exporter performs. Only reads: `Login` and `RevokeSelf` are the
/// exporter's own authentication, never a change to the estate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `GET`.
    Read,
    /// `LIST` (the server's list operation; keys under a prefix).
    List,
    /// OpenBao's recursive `SCAN`, sent as `GET ?scan=true`.
    Scan,
}

impl Op {
    /// The name used in coverage gaps (`read`, `list`, `scan`).
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Read => "read",
            Op::List => "list",
            Op::Scan => "scan",
        }
    }
}

/// Which bound stopped a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// The answer was larger than `--max-response-mib` (the limit, in bytes).
    ResponseSize(u64),
    /// `--max-requests` requests were already sent.
    Requests(u64),
    /// No complete answer (headers and body) within `--timeout`.
    Timeout(Duration),
}

impl Bound {
    fn describe(self) -> String {
        match self {
            Bound::ResponseSize(limit) => format!(
                "the answer is larger than the response limit of {} MiB (--max-response-mib); \
                 it was abandoned unread",
                limit / MIB
            ),
            Bound::Requests(limit) => format!(
                "the request limit of {limit} requests (--max-requests) was reached; not requested"
            ),
            Bound::Timeout(t) => format!(
                "no complete answer within the timeout of {}s (--timeout)",
                t.as_secs_f64()
            ),
        }
    }
}

/// A failed request, after retries. Texts are redacted.
#[derive(Debug, Clone)]
pub enum ApiError {
    /// The server answered with a non-success status; `errors` is its `errors` array.
    Http { status: u16, errors: Vec<String> },
    /// No HTTP answer (connection refused or reset, TLS failure).
    Transport(String),
    /// A success status with a body that is not JSON.
    BadBody { status: u16, message: String },
    /// A redirect that was not followed: to another scheme, host or port (the token would leave
    /// its origin), or one same-origin redirect too many. `target` is redacted.
    Redirect { status: u16, target: String },
    /// A bound of the exporter stopped the request.
    Bound(Bound),
    /// A name read from the server cannot be put in a request without changing it (a `.` or
    /// `..` segment, a control character in a namespace header).
    UnsafeName(String),
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Http { status, .. }
            | ApiError::BadBody { status, .. }
            | ApiError::Redirect { status, .. } => Some(*status),
            ApiError::Transport(_) | ApiError::Bound(_) | ApiError::UnsafeName(_) => None,
        }
    }

    /// The server's reason (its `errors`, joined), or the transport error.
    pub fn reason(&self) -> String {
        match self {
            ApiError::Http { status, errors } => {
                let joined: Vec<String> = errors
                    .iter()
                    .map(|e| e.trim().replace("\n\t* ", " ").replace('\n', " "))
                    .map(|e| e.trim().to_owned())
                    .filter(|e| !e.is_empty())
                    .collect();
                if joined.is_empty() {
                    format!("HTTP {status}")
                } else {
                    joined.join("; ")
                }
            }
            ApiError::Transport(m) => m.clone(),
            ApiError::BadBody { message, .. } => message.clone(),
            ApiError::Redirect { status, target } => format!(
                "the server redirected (HTTP {status}) to {target}; not followed: the exporter \
                 follows only a few redirects to the same scheme, host and port, so the token \
                 never leaves the address it was given for"
            ),
            ApiError::Bound(b) => b.describe(),
            ApiError::UnsafeName(m) => m.clone(),
        }
    }

    /// 404 with an empty `errors` array: the object or list does not exist (an empty LIST).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ApiError::Http { status: 404, errors } if errors.iter().all(|e| e.trim().is_empty()))
    }

    /// The endpoint does not exist on this server or plugin version (404 "unsupported path",
    /// 405 unsupported operation).
    pub fn is_unsupported(&self) -> bool {
        match self {
            ApiError::Http { status: 405, .. } => true,
            ApiError::Http {
                status: 404,
                errors,
            } => !self.is_not_found() && errors.iter().any(|e| e.contains("unsupported")),
            ApiError::Http {
                status: 400,
                errors,
            } => errors.iter().any(|e| e.contains("unsupported operation")),
            _ => false,
        }
    }

    pub fn is_denied(&self) -> bool {
        matches!(self, ApiError::Http { status: 403, .. })
    }

    /// Errors that make a faithful export impossible: the server is gone or sealed. Everything
    /// else (bounds and refused redirects included) is recorded as a coverage gap and the export
    /// goes on.
    pub fn is_fatal(&self) -> bool {
        match self {
            ApiError::Transport(_) => true,
            ApiError::Http { status: 503, .. } => true,
            ApiError::Http { errors, .. } => errors
                .iter()
                .any(|e| e.contains("Vault is sealed") || e.contains("is sealed")),
            ApiError::BadBody { .. }
            | ApiError::Redirect { .. }
            | ApiError::Bound(_)
            | ApiError::UnsafeName(_) => false,
        }
    }

    /// Worth another attempt: no answer, a timeout, 429 or 5xx (`retry_http`).
    fn is_transient(&self, retry_http: bool) -> bool {
        match self {
            ApiError::Transport(_) | ApiError::Bound(Bound::Timeout(_)) => true,
            ApiError::Http { status, .. } => {
                retry_http && (*status == 429 || (500..600).contains(status))
            }
            _ => false,
        }
    }
}

/// Request counters, for the progress display and the summary.
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
}

/// One mebibyte.
pub const MIB: u64 = 1024 * 1024;
/// Default `--max-response-mib`: larger than any answer of a real estate within the KV bounds
/// (a LIST of 100,000 keys is a few MiB; the detailed policy list of 10,000 policies tens).
pub const DEFAULT_MAX_RESPONSE_MIB: u64 = 64;
/// Default `--max-requests`: an export of a million-secret estate sends a few hundred thousand.
pub const DEFAULT_MAX_REQUESTS: u64 = 2_000_000;
/// Same-origin redirects followed per request (a standby node points at the active one once).
pub(crate) const MAX_SAME_ORIGIN_REDIRECTS: usize = 3;

/// What the exporter will spend on one server.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Bytes of one answer at most.
    pub max_response_bytes: u64,
    /// Requests sent at most (retries included).
    pub max_requests: u64,
    /// One request, headers and whole body.
    pub timeout: Duration,
}

impl Default for Bounds {
    fn default() -> Bounds {
        Bounds {
            max_response_bytes: DEFAULT_MAX_RESPONSE_MIB * MIB,
            max_requests: DEFAULT_MAX_REQUESTS,
            timeout: Duration::from_secs(30),
        }
    }
}

/// Knobs of `Api`.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Requests in flight at most.
    pub concurrency: usize,
    /// Retries of a transient failure (so `retries + 1` attempts).
    pub retries: u32,
    /// First backoff; doubled on each retry, capped at `MAX_BACKOFF`.
    pub backoff: Duration,
    pub bounds: Bounds,
}

/// The longest wait between two attempts.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The HTTP client of one server: reqwest configured by [`super::connect::build_http`] and the
/// server's base address (without user info, query or fragment in messages).
pub struct Http {
    pub client: reqwest::Client,
    pub base: url::Url,
}

/// The parts of one request.
struct Request<'a> {
    ns: &'a str,
    method: Method,
    path: &'a str,
    query: Option<&'a str>,
    body: Option<Vec<u8>>,
}

/// The exporter's connection to one server.
pub struct Api {
    http: Http,
    token: String,
    sem: Semaphore,
    config: ApiConfig,
    redactor: Redactor,
    pub stats: Stats,
    progress: Progress,
}

impl Api {
    pub fn new(
        http: Http,
        token: &str,
        config: ApiConfig,
        redactor: Redactor,
        progress: Progress,
    ) -> Api {
        let permits = config.concurrency.max(1);
        Api {
            http,
            token: token.to_owned(),
            sem: Semaphore::new(permits),
            config,
            redactor,
            stats: Stats::default(),
            progress,
        }
    }

    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// Use `token` from now on (after a login). The token is added to the redactor first.
    pub fn set_token(&mut self, token: &str) {
        self.redactor.add(token);
        self.token = token.to_owned();
    }

    /// `op` on `path` in namespace `ns` (`""` = the root namespace; a child is `"a/b/"`).
    /// Returns the whole JSON answer (callers take `data`), with every token-shaped string
    /// redacted (see [`Redactor::clean_value`]). Retries transient failures.
    pub async fn call(&self, ns: &str, op: Op, path: &str) -> Result<Value, ApiError> {
        let (method, query) = match op {
            Op::Read => (Method::GET, None),
            Op::List => (list_method(), None),
            Op::Scan => (Method::GET, Some("scan=true")),
        };
        let request = Request {
            ns,
            method,
            path,
            query,
            body: None,
        };
        let answer = self.send(request, true).await?;
        Ok(self.redactor.clean_value(answer))
    }

    /// A `GET` with a query string, not retried on HTTP errors (`sys/health`, whose non-200
    /// statuses describe the node rather than a failure).
    pub async fn probe(&self, ns: &str, path: &str, query: &str) -> Result<Value, ApiError> {
        let request = Request {
            ns,
            method: Method::GET,
            path,
            query: Some(query),
            body: None,
        };
        let answer = self.send(request, false).await?;
        Ok(self.redactor.clean_value(answer))
    }

    /// A `POST` with a JSON body (logins). Not retried on HTTP errors: a refused login does not
    /// get better by repeating it. The answer is not redacted: it carries the login's token,
    /// which the caller adds to the redactor and never stores.
    pub async fn post(&self, ns: &str, path: &str, body: &Value) -> Result<Value, ApiError> {
        let bytes = serde_json::to_vec(body).map_err(|e| ApiError::BadBody {
            status: 0,
            message: e.to_string(),
        })?;
        let request = Request {
            ns,
            method: Method::POST,
            path,
            query: None,
            body: Some(bytes),
        };
        self.send(request, false).await
    }

    async fn send(&self, request: Request<'_>, retry_http: bool) -> Result<Value, ApiError> {
        let url = self.url(&request)?;
        let namespace = namespace_header(request.ns)?;
        let mut attempt = 0u32;
        loop {
            let result = {
                let _permit = self
                    .sem
                    .acquire()
                    .await
                    .map_err(|_| ApiError::Transport("the exporter is shutting down".into()))?;
                self.count_request()?;
                self.progress.request_done();
                let pending = self.once(&request, &url, namespace.as_ref());
                match tokio::time::timeout(self.config.bounds.timeout, pending).await {
                    Ok(r) => r,
                    Err(_) => Err(ApiError::Bound(Bound::Timeout(self.config.bounds.timeout))),
                }
            };
            let err = match result {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            if !err.is_transient(retry_http) || attempt >= self.config.retries {
                return Err(err);
            }
            attempt += 1;
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(backoff(self.config.backoff, attempt)).await;
        }
    }

    /// Take one request from the `--max-requests` budget, or refuse.
    fn count_request(&self) -> Result<(), ApiError> {
        let limit = self.config.bounds.max_requests;
        let before = self.stats.requests.fetch_add(1, Ordering::Relaxed);
        if before >= limit {
            self.stats.requests.fetch_sub(1, Ordering::Relaxed);
            return Err(ApiError::Bound(Bound::Requests(limit)));
        }
        Ok(())
    }

    /// `<address>/v1/<path>`, every segment of `path` percent-encoded as it is, so that the
    /// request names exactly the object the server listed (a `?`, `#` or `%` in a key stays
    /// part of the key). `.` and `..` segments would be resolved away by any URL library and
    /// name another object: refused.
    fn url(&self, request: &Request<'_>) -> Result<url::Url, ApiError> {
        let path = request.path.trim_start_matches('/');
        if path.split('/').any(|s| s == "." || s == "..") {
            return Err(ApiError::UnsafeName(format!(
                "the path {:?} has a . or .. segment, which no request can name without \
                 changing it; not requested",
                self.redactor.clean(path)
            )));
        }
        let mut url = self.http.base.clone();
        {
            let mut segments = url.path_segments_mut().map_err(|()| {
                ApiError::Transport("the server address cannot carry a path".into())
            })?;
            segments.pop_if_empty().push("v1");
            for segment in path.split('/') {
                segments.push(segment);
            }
        }
        url.set_query(request.query);
        Ok(url)
    }

    /// One attempt: send, then read the answer within the size bound.
    async fn once(
        &self,
        request: &Request<'_>,
        url: &url::Url,
        namespace: Option<&HeaderValue>,
    ) -> Result<Value, ApiError> {
        let mut builder = self
            .http
            .client
            .request(request.method.clone(), url.clone())
            .header("X-Vault-Request", "true");
        if !self.token.is_empty() {
            builder = builder.header("X-Vault-Token", &self.token);
        }
        if let Some(ns) = namespace {
            builder = builder.header("X-Vault-Namespace", ns.clone());
        }
        if let Some(body) = &request.body {
            builder = builder
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let response = builder.send().await.map_err(|e| self.transport(e))?;
        let status = response.status().as_u16();
        if response.status().is_redirection() {
            return Err(self.refused_redirect(status, &response));
        }
        let body = self.read_body(response).await?;
        if (200..300).contains(&status) {
            if body.iter().all(u8::is_ascii_whitespace) {
                return Ok(Value::Null);
            }
            return serde_json::from_slice(&body).map_err(|e| ApiError::BadBody {
                status,
                message: format!("the answer is not JSON: {e}"),
            });
        }
        Err(ApiError::Http {
            status,
            errors: self.error_texts(&body),
        })
    }

    /// The body, read chunk by chunk and abandoned as soon as it passes the size bound (a
    /// declared length over the bound is refused before reading anything).
    async fn read_body(&self, mut response: reqwest::Response) -> Result<Vec<u8>, ApiError> {
        let limit = self.config.bounds.max_response_bytes;
        let too_big = ApiError::Bound(Bound::ResponseSize(limit));
        if response.content_length().is_some_and(|n| n > limit) {
            return Err(too_big);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport(e))? {
            if (body.len() + chunk.len()) as u64 > limit {
                return Err(too_big);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// The redirect the policy did not follow, with its target redacted (no user info, query or
    /// known secret).
    fn refused_redirect(&self, status: u16, response: &reqwest::Response) -> ApiError {
        let target = response
            .headers()
            .get(LOCATION)
            .map(|l| String::from_utf8_lossy(l.as_bytes()).into_owned())
            .map(|l| match response.url().join(&l) {
                Ok(u) => crate::model::redact_address(u.as_str()),
                Err(_) => crate::model::redact_address(&l),
            })
            .unwrap_or_else(|| "(no Location header)".into());
        ApiError::Redirect {
            status,
            target: self.redactor.clean(&target),
        }
    }

    /// The `errors` of a Vault error body, else a short excerpt (a proxy's HTML page, say).
    fn error_texts(&self, body: &[u8]) -> Vec<String> {
        let errors = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| {
                v.get("errors").and_then(Value::as_array).map(|a| {
                    a.iter()
                        .map(|x| match x {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .collect::<Vec<_>>()
                })
            })
            .unwrap_or_else(|| {
                let text = String::from_utf8_lossy(body);
                let short: String = text.chars().take(200).collect();
                if short.trim().is_empty() {
                    Vec::new()
                } else {
                    vec![short]
                }
            });
        errors.iter().map(|s| self.redactor.clean(s)).collect()
    }

    /// A reqwest error without its URL (which may hold user info), redacted; a timeout is the
    /// timeout bound.
    fn transport(&self, e: reqwest::Error) -> ApiError {
        if e.is_timeout() {
            return ApiError::Bound(Bound::Timeout(self.config.bounds.timeout));
        }
        ApiError::Transport(self.redactor.clean(&error_chain(&e.without_url())))
    }
}

/// The server's LIST method.
fn list_method() -> Method {
    Method::from_bytes(b"LIST").unwrap_or(Method::GET)
}

/// The `X-Vault-Namespace` header of `ns`, or a refusal when the name cannot be a header
/// (control characters from a hostile server would otherwise fail every request).
fn namespace_header(ns: &str) -> Result<Option<HeaderValue>, ApiError> {
    let ns = ns.trim_matches('/');
    if ns.is_empty() {
        return Ok(None);
    }
    HeaderValue::from_str(ns).map(Some).map_err(|_| {
        ApiError::UnsafeName(format!(
            "the namespace {:?} cannot be sent in a request header; not requested",
            ns
        ))
    })
}

/// The wait before retry number `attempt` (1-based): `base · 2^(attempt-1)`, capped, with up to
/// 25 % jitter so that parallel requests do not retry in lockstep.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let exp = base.saturating_mul(1u32 << (attempt - 1).min(16));
    let capped = exp.min(MAX_BACKOFF);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let jitter = capped.mul_f64(f64::from(nanos % 250) / 1000.0);
    capped + jitter
}

/// The `(path, entry)` pairs of a `sys/auth` or `sys/mounts` answer.
pub(crate) fn mount_entries(answer: &Value) -> Vec<(String, serde_json::Map<String, Value>)> {
    data(answer)
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_object().map(|o| (k.clone(), o.clone())))
                .collect()
        })
        .unwrap_or_default()
}

/// The `data` object of an answer (`Value::Null` when absent).
pub(crate) fn data(v: &Value) -> &Value {
    v.get("data").unwrap_or(&Value::Null)
}

/// The `keys` of a LIST answer, as strings.
pub(crate) fn list_keys(v: &Value) -> Vec<String> {
    data(v)
        .get("keys")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let not_found = ApiError::Http {
            status: 404,
            errors: vec![],
        };
        assert!(not_found.is_not_found() && !not_found.is_unsupported());
        let unsup = ApiError::Http {
            status: 404,
            errors: vec!["1 error occurred:\n\t* unsupported path\n\n".into()],
        };
        assert!(unsup.is_unsupported() && !unsup.is_not_found());
        assert_eq!(unsup.reason(), "1 error occurred: unsupported path");
        assert!(ApiError::Transport("x".into()).is_fatal());
        assert!(ApiError::Http {
            status: 503,
            errors: vec!["Vault is sealed".into()]
        }
        .is_fatal());
        assert!(!ApiError::Http {
            status: 403,
            errors: vec!["permission denied".into()]
        }
        .is_fatal());
    }

    #[test]
    fn backoff_grows_and_caps() {
        let base = Duration::from_millis(100);
        assert!(backoff(base, 1) >= Duration::from_millis(100));
        assert!(backoff(base, 1) < Duration::from_millis(130));
        assert!(backoff(base, 3) >= Duration::from_millis(400));
        assert!(backoff(base, 30) <= MAX_BACKOFF.mul_f64(1.25));
    }
}
