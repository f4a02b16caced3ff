//! `blastmap export`: walk a live Vault or OpenBao read-only and build a [`Snapshot`].
//!
//! ```text
//! export()                         mod.rs      connect, log in, check the token, walk, assemble
//! ├── connect::*                   connect.rs  address/namespace/TLS/credentials as the CLIs resolve them
//! ├── login::login                 login.rs    JWT or AppRole login (own workload identity)
//! ├── client::Api                  client.rs   raw requests, semaphore, retries, bounds, redirects
//! ├── server::*                    server.rs   flavour, version, seal state, system TTLs, token check
//! ├── walk::discover               walk.rs     namespace tree (SCAN, else LIST level by level)
//! └── walk::export_namespace       walk.rs     per namespace, concurrently:
//!     ├── auth::read_auth_mounts   auth.rs     sys/auth, per-method config and roles
//!     ├── secrets::read_secret_mounts secrets.rs sys/mounts, engine role names
//!     │   └── kv::inventory        kv.rs       KV v1/v2 key names (metadata LIST, never data/)
//!     ├── policies::read_policies  policies.rs ACL policies (bulk detailed LIST, else list + read)
//!     ├── identity::read_*         identity.rs entities, groups and their aliases
//!     └── audit devices            walk.rs     root namespace only
//! coverage::Coverage               coverage.rs every 403/unsupported endpoint, as model gaps
//! policy::exporter_policy          policy.rs   the least-privilege policy (docs/exporter-policy.hcl)
//! ```
//!
//! What is never read: KV `data/`, credential endpoints (`creds/`, `issue/` …), AppRole
//! `role-id` and `secret-id`, token accessors, passwords. What is never written: the token or
//! any login credential, anywhere (see [`error::Redactor`]).
//!
//! Failure model: a 403, a 404 "unsupported path" or another client error on one endpoint is a
//! coverage gap and the export goes on; an unreachable or sealed server, or a refused token,
//! stops the export with an error and no snapshot.

pub(crate) mod auth;
pub(crate) mod client;
pub(crate) mod connect;
pub(crate) mod coverage;
pub(crate) mod error;
pub(crate) mod identity;
pub(crate) mod kv;
pub(crate) mod login;
pub(crate) mod policies;
pub(crate) mod policy;
pub(crate) mod progress;
pub(crate) mod secrets;
pub(crate) mod server;
pub(crate) mod walk;

use std::time::{Duration, Instant};

use futures_util::future::try_join_all;

use crate::model::{ExportScope, Flavor, Snapshot, Timestamp};
use crate::render::escape::visible;

pub use client::{ApiConfig, Bounds, DEFAULT_MAX_REQUESTS, DEFAULT_MAX_RESPONSE_MIB, MIB};
pub use connect::{Credentials, LoginArgs, TlsOptions};
pub use error::{ExportError, Redactor};
pub use kv::KvLimits;
pub use progress::Progress;

/// Default `--concurrency`.
pub const DEFAULT_CONCURRENCY: usize = 8;
/// Default `--kv-max-depth`: path segments of a listed key.
pub const DEFAULT_KV_MAX_DEPTH: u32 = 16;
/// Default `--kv-max-keys`: entries recorded per KV mount.
pub const DEFAULT_KV_MAX_KEYS: u64 = 100_000;

/// Everything an export needs.
pub struct ExportOptions {
    /// Server address, e.g. `https://vault.example:8200`.
    pub address: String,
    /// The namespace to export with its descendants (`""` = root, else `"a/"`).
    pub namespace: String,
    pub credentials: Credentials,
    pub tls: TlsOptions,
    /// KV listing bounds; `None` = `--no-kv`.
    pub kv: Option<KvLimits>,
    /// Force the flavour instead of detecting it.
    pub flavor: Option<Flavor>,
    pub concurrency: usize,
    pub retries: u32,
    /// First retry backoff (doubled per retry).
    pub backoff: Duration,
    /// Per-request timeout (connection, headers and the whole body).
    pub timeout: Duration,
    /// Bytes of one answer at most; a larger answer is abandoned and recorded as a gap.
    pub max_response_bytes: u64,
    /// Requests sent at most; later ones are recorded as gaps.
    pub max_requests: u64,
    pub progress: Progress,
}

/// A finished export.
pub struct ExportReport {
    pub snapshot: Snapshot,
    pub requests: u64,
    pub retries: u64,
    pub elapsed: Duration,
}

/// What an export cost: requests sent, of which retried, and the time taken.
#[derive(Debug, Clone, Copy)]
pub struct ExportStats {
    pub requests: u64,
    pub retries: u64,
    pub elapsed: Duration,
}

impl ExportReport {
    /// The snapshot, and what reading it cost.
    pub fn into_parts(self) -> (Snapshot, ExportStats) {
        let stats = ExportStats {
            requests: self.requests,
            retries: self.retries,
            elapsed: self.elapsed,
        };
        (self.snapshot, stats)
    }
}

/// Settings the readers consult.
pub struct WalkOptions {
    pub kv: Option<KvLimits>,
    pub flavor: Flavor,
}

/// Shared state of one export: the connection, the coverage being collected, the options.
pub struct Ctx {
    pub api: client::Api,
    pub coverage: coverage::Coverage,
    pub options: WalkOptions,
}

impl Ctx {
    pub fn is_vault(&self) -> bool {
        self.options.flavor == Flavor::Vault
    }
}

/// Run an export on a fresh multi-threaded tokio runtime (for callers that are not async).
pub fn export_blocking(options: ExportOptions) -> Result<ExportReport, ExportError> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, 4);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .map_err(|e| ExportError::Other(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(export(options))
}

/// Export the estate.
pub async fn export(options: ExportOptions) -> Result<ExportReport, ExportError> {
    let start = Instant::now();
    let redactor = Redactor::new();
    for s in options.credentials.secrets() {
        redactor.add(s);
    }
    let result = run(options, redactor.clone(), start).await;
    // Belt and braces: whatever produced an error text, it leaves without credentials, and
    // the server's words in it (error bodies, names) cannot drive the terminal.
    let clean = |m: String| visible(&redactor.clean(&m)).into_owned();
    result.map_err(|e| match e {
        ExportError::Config(m) => ExportError::Config(clean(m)),
        ExportError::Unreachable(m) => ExportError::Unreachable(clean(m)),
        ExportError::Sealed(m) => ExportError::Sealed(clean(m)),
        ExportError::Auth(m) => ExportError::Auth(clean(m)),
        ExportError::Other(m) => ExportError::Other(clean(m)),
    })
}

async fn run(
    options: ExportOptions,
    redactor: Redactor,
    start: Instant,
) -> Result<ExportReport, ExportError> {
    let initial_token = match &options.credentials {
        Credentials::Token { token, .. } => token.as_str(),
        _ => "",
    };
    let http = connect::build_http(&options.address, &options.tls, options.timeout)?;
    let mut api = client::Api::new(
        http,
        initial_token,
        ApiConfig {
            concurrency: options.concurrency,
            retries: options.retries,
            backoff: options.backoff,
            bounds: Bounds {
                max_response_bytes: options.max_response_bytes,
                max_requests: options.max_requests,
                timeout: options.timeout,
            },
        },
        redactor.clone(),
        options.progress.clone(),
    );

    let mut server_info = server::read_server(&api, &options.address, options.flavor).await?;
    let login_ns = match &options.credentials {
        Credentials::Jwt { namespace, .. } | Credentials::AppRole { namespace, .. } => {
            Some(namespace.clone())
        }
        Credentials::Token { .. } => None,
    };
    if let Some(token) = login::login(&api, &options.credentials).await? {
        api.set_token(&token);
    }
    let scope = options.namespace.clone();
    server::check_token(&api, &scope, &options.credentials.describe()).await?;

    let ctx = Ctx {
        api,
        coverage: coverage::Coverage::new(options.progress.clone()),
        options: WalkOptions {
            kv: options.kv,
            flavor: server_info.flavor,
        },
    };
    let walked = async {
        server::read_system_ttls(&ctx, &scope, &mut server_info).await?;
        let namespaces = walk::discover(&ctx, &scope).await?;
        try_join_all(
            namespaces
                .into_iter()
                .map(|n| walk::export_namespace(&ctx, n)),
        )
        .await
    }
    .await;
    if let Some(ns) = &login_ns {
        login::revoke(&ctx.api, ns).await;
    }
    let namespaces = walked?;

    let mut snapshot = Snapshot::new(server_info);
    snapshot.namespaces = namespaces;
    snapshot.scope = ExportScope {
        namespace: scope,
        kv_max_depth: options.kv.map(|k| k.max_depth),
        kv_max_keys: options.kv.map(|k| k.max_keys),
        ..ExportScope::default()
    };
    let Ctx { api, coverage, .. } = ctx;
    snapshot.coverage = coverage.into_sorted();
    snapshot.exported_at = Timestamp::now();
    options.progress.finish();
    Ok(ExportReport {
        snapshot,
        requests: api
            .stats
            .requests
            .load(std::sync::atomic::Ordering::Relaxed),
        retries: api.stats.retries.load(std::sync::atomic::Ordering::Relaxed),
        elapsed: start.elapsed(),
    })
}
