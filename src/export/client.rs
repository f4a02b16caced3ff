//! The HTTP side of the exporter: one raw endpoint over vaultrs, bounded concurrency, retries.
//!
//! vaultrs provides the HTTP client, the TLS setup and the middleware that adds `/v1`, the token
//! and the namespace header. Its typed responses are too strict for real estates (a JWT role
//! with list-valued `bound_claims` fails to deserialize, some mount fields are required), so
//! every object is read through [`Raw`], a generic `rustify` endpoint whose answer is kept as
//! `serde_json::Value` and mapped into the model by the readers.
//!
//! Every request takes a permit of one semaphore, so `--concurrency` bounds the requests in
//! flight whatever the walk spawns. Transient failures (no answer, connection reset, timeout,
//! 429, 5xx) are retried with exponential backoff; the permit is released while waiting, so a
//! struggling server gets fewer requests, not more.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use rustify::endpoint::Endpoint;
use rustify::enums::{RequestMethod, RequestType, ResponseType};
use serde_json::Value;
use tokio::sync::Semaphore;
use vaultrs::client::{Client, VaultClient};

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

/// A request to any path, answered as JSON.
struct Raw {
    path: String,
    method: RequestMethod,
    query: Option<String>,
    body: Option<Vec<u8>>,
}

#[async_trait]
impl Endpoint for Raw {
    type Response = Value;
    const REQUEST_BODY_TYPE: RequestType = RequestType::JSON;
    const RESPONSE_BODY_TYPE: ResponseType = ResponseType::JSON;

    fn path(&self) -> String {
        self.path.clone()
    }
    fn method(&self) -> RequestMethod {
        self.method.clone()
    }
    fn query(&self) -> Result<Option<String>, rustify::errors::ClientError> {
        Ok(self.query.clone())
    }
    fn body(&self) -> Result<Option<Vec<u8>>, rustify::errors::ClientError> {
        Ok(self.body.clone())
    }
}

/// A failed request, after retries. Texts are redacted.
#[derive(Debug, Clone)]
pub enum ApiError {
    /// The server answered with a non-success status; `errors` is its `errors` array.
    Http { status: u16, errors: Vec<String> },
    /// No HTTP answer (connection refused or reset, timeout, TLS failure).
    Transport(String),
    /// A success status with a body that is not JSON.
    BadBody { status: u16, message: String },
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Http { status, .. } | ApiError::BadBody { status, .. } => Some(*status),
            ApiError::Transport(_) => None,
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
    /// else is recorded as a coverage gap and the export goes on.
    pub fn is_fatal(&self) -> bool {
        match self {
            ApiError::Transport(_) => true,
            ApiError::Http { status: 503, .. } => true,
            ApiError::Http { errors, .. } => errors
                .iter()
                .any(|e| e.contains("Vault is sealed") || e.contains("is sealed")),
            ApiError::BadBody { .. } => false,
        }
    }
}

/// Request counters, for the progress display and the summary.
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
}

/// Knobs of [`Api`].
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Requests in flight at most.
    pub concurrency: usize,
    /// Retries of a transient failure (so `retries + 1` attempts).
    pub retries: u32,
    /// First backoff; doubled on each retry, capped at [`MAX_BACKOFF`].
    pub backoff: Duration,
}

/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The exporter's connection to one server.
pub struct Api {
    client: VaultClient,
    sem: Semaphore,
    config: ApiConfig,
    redactor: Redactor,
    pub stats: Stats,
    progress: Progress,
}

impl Api {
    pub fn new(
        client: VaultClient,
        config: ApiConfig,
        redactor: Redactor,
        progress: Progress,
    ) -> Api {
        let permits = config.concurrency.max(1);
        Api {
            client,
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
        self.client.set_token(token);
    }

    /// `op` on `path` in namespace `ns` (`""` = the root namespace; a child is `"a/b/"`).
    /// Returns the whole JSON answer (callers take `data`). Retries transient failures.
    pub async fn call(&self, ns: &str, op: Op, path: &str) -> Result<Value, ApiError> {
        let (method, query) = match op {
            Op::Read => (RequestMethod::GET, None),
            Op::List => (RequestMethod::LIST, None),
            Op::Scan => (RequestMethod::GET, Some("scan=true".to_owned())),
        };
        self.send(ns, method, path, query, None, true).await
    }

    /// A `GET` with a query string, not retried on HTTP errors (`sys/health`, whose non-200
    /// statuses describe the node rather than a failure).
    pub async fn probe(&self, ns: &str, path: &str, query: &str) -> Result<Value, ApiError> {
        self.send(
            ns,
            RequestMethod::GET,
            path,
            Some(query.to_owned()),
            None,
            false,
        )
        .await
    }

    /// A `POST` with a JSON body (logins). Not retried on HTTP errors: a refused login does not
    /// get better by repeating it.
    pub async fn post(&self, ns: &str, path: &str, body: &Value) -> Result<Value, ApiError> {
        let bytes = serde_json::to_vec(body).map_err(|e| ApiError::BadBody {
            status: 0,
            message: e.to_string(),
        })?;
        self.send(ns, RequestMethod::POST, path, None, Some(bytes), false)
            .await
    }

    async fn send(
        &self,
        ns: &str,
        method: RequestMethod,
        path: &str,
        query: Option<String>,
        body: Option<Vec<u8>>,
        retry_http: bool,
    ) -> Result<Value, ApiError> {
        let mut middle = self.client.middle().clone();
        let ns = ns.trim_matches('/');
        middle.namespace = (!ns.is_empty()).then(|| ns.to_owned());
        let mut attempt = 0u32;
        loop {
            let endpoint = Raw {
                path: path.trim_start_matches('/').to_owned(),
                method: method.clone(),
                query: query.clone(),
                body: body.clone(),
            };
            let result = {
                let _permit = self
                    .sem
                    .acquire()
                    .await
                    .map_err(|_| ApiError::Transport("the exporter is shutting down".into()))?;
                self.stats.requests.fetch_add(1, Ordering::Relaxed);
                self.progress.request_done();
                endpoint
                    .with_middleware(&middle)
                    .exec(self.client.http())
                    .await
            };
            let err = match result {
                Ok(resp) => {
                    let status = resp.response.status().as_u16();
                    let raw = resp.response.body();
                    if raw.iter().all(u8::is_ascii_whitespace) {
                        return Ok(Value::Null);
                    }
                    return serde_json::from_slice(raw).map_err(|e| ApiError::BadBody {
                        status,
                        message: format!("the answer is not JSON: {e}"),
                    });
                }
                Err(e) => self.classify(e),
            };
            let transient = match &err {
                ApiError::Transport(_) => true,
                ApiError::Http { status, .. } => {
                    retry_http && (*status == 429 || (500..600).contains(status))
                }
                ApiError::BadBody { .. } => false,
            };
            if !transient || attempt >= self.config.retries {
                return Err(err);
            }
            attempt += 1;
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(backoff(self.config.backoff, attempt)).await;
        }
    }

    /// Turn a rustify error into an [`ApiError`], redacted.
    fn classify(&self, e: rustify::errors::ClientError) -> ApiError {
        use rustify::errors::ClientError as E;
        match e {
            E::ServerResponseError { code, content } => {
                let errors = content
                    .as_deref()
                    .and_then(|c| serde_json::from_str::<Value>(c).ok())
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
                        // Not a Vault error body (a proxy's HTML page, say): keep a short excerpt.
                        let text = content.unwrap_or_default();
                        let short: String = text.chars().take(200).collect();
                        if short.trim().is_empty() {
                            Vec::new()
                        } else {
                            vec![short]
                        }
                    });
                ApiError::Http {
                    status: code,
                    errors: errors.iter().map(|s| self.redactor.clean(s)).collect(),
                }
            }
            other => ApiError::Transport(self.redactor.clean(&error_chain(&other))),
        }
    }
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
pub fn mount_entries(answer: &Value) -> Vec<(String, serde_json::Map<String, Value>)> {
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
pub fn data(v: &Value) -> &Value {
    v.get("data").unwrap_or(&Value::Null)
}

/// The `keys` of a LIST answer, as strings.
pub fn list_keys(v: &Value) -> Vec<String> {
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
        let nf = ApiError::Http {
            status: 404,
            errors: vec![],
        };
        assert!(nf.is_not_found() && !nf.is_unsupported());
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
        let b = Duration::from_millis(100);
        assert!(backoff(b, 1) >= Duration::from_millis(100));
        assert!(backoff(b, 1) < Duration::from_millis(130));
        assert!(backoff(b, 3) >= Duration::from_millis(400));
        assert!(backoff(b, 30) <= MAX_BACKOFF.mul_f64(1.25));
    }
}
