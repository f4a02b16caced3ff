//! `blastmap export`: write a snapshot of a live Vault/OpenBao estate, read-only.
//!
//! Argument parsing and output only; the walk is `crate::export`. The snapshot is written with
//! `Snapshot::save` (temporary file, mode 0600, rename), so a failed export leaves no file and a
//! previous snapshot at the same path stays intact.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use super::Outcome;
use crate::export::{
    connect, coverage, policy, ExportOptions, ExportStats, KvLimits, LoginArgs, Progress,
    TlsOptions, DEFAULT_CONCURRENCY, DEFAULT_KV_MAX_DEPTH, DEFAULT_KV_MAX_KEYS,
    DEFAULT_MAX_REQUESTS, DEFAULT_MAX_RESPONSE_MIB, MIB,
};
use crate::model::{Flavor, Snapshot};
use crate::render::escape::visible;

/// Where the snapshot goes without `--out`.
pub(super) const DEFAULT_OUT: &str = "snapshot.json";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Snapshot file to write (temporary file + rename, mode 0600).
    #[arg(long, value_name = "FILE", default_value = DEFAULT_OUT)]
    out: PathBuf,

    /// The server, the credentials and the walk's bounds (shared with `blastmap scan`).
    #[command(flatten)]
    server: Box<Server>,

    /// Print the least-privilege exporter policy (docs/exporter-policy.hcl) and exit.
    #[arg(long)]
    print_policy: bool,
    /// Child-namespace levels the printed policy covers.
    #[arg(long, value_name = "N", default_value_t = policy::DEFAULT_DEPTH, requires = "print_policy")]
    policy_depth: usize,
}

/// Which server to export, as whom, and within which bounds.
#[derive(Debug, clap::Args)]
pub(super) struct Server {
    /// Server address [env: BAO_ADDR, VAULT_ADDR; default https://127.0.0.1:8200].
    #[arg(long, value_name = "URL")]
    pub(super) address: Option<String>,
    /// Namespace to export, with all its descendants [env: BAO_NAMESPACE, VAULT_NAMESPACE;
    /// default: root].
    #[arg(long, value_name = "NS")]
    namespace: Option<String>,
    /// Requests in flight at most.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CONCURRENCY as u16,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    concurrency: u16,
    /// Most path segments of a listed KV key; deeper folders are recorded unexpanded.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_KV_MAX_DEPTH,
          value_parser = clap::value_parser!(u32).range(1..))]
    kv_max_depth: u32,
    /// Most KV entries recorded per mount; the listing is then marked truncated.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_KV_MAX_KEYS,
          value_parser = clap::value_parser!(u64).range(1..))]
    kv_max_keys: u64,
    /// Do not list KV mounts (their inventory is recorded as not listed).
    #[arg(long)]
    no_kv: bool,
    /// No progress display and no summary; only errors and the coverage warning.
    #[arg(long, short)]
    pub(super) quiet: bool,

    /// Credentials and TLS (boxed: they are most of the arguments' size).
    #[command(flatten)]
    access: Box<Access>,

    /// Per-request timeout in seconds, covering the whole answer (a server that drips its
    /// answer slowly is cut off).
    #[arg(long, value_name = "SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout: u64,
    /// Largest answer read from the server, in MiB; a larger one is abandoned while it streams
    /// and recorded as a coverage gap.
    #[arg(long, value_name = "MIB", default_value_t = DEFAULT_MAX_RESPONSE_MIB,
          value_parser = clap::value_parser!(u64).range(1..=65536))]
    max_response_mib: u64,
    /// Most requests sent in one export (retries included); what is left unread is recorded as
    /// coverage gaps.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_REQUESTS,
          value_parser = clap::value_parser!(u64).range(1..))]
    max_requests: u64,
    /// Retries of a request that got no answer, 429 or 5xx (exponential backoff).
    #[arg(long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(0..=20))]
    retries: u32,
    /// Server flavour, instead of detecting it.
    #[arg(long, value_enum)]
    flavor: Option<FlavorArg>,
}

/// How to authenticate and verify the server.
#[derive(Debug, clap::Args)]
struct Access {
    /// Read the token from this file [else BAO_TOKEN, VAULT_TOKEN, ~/.vault-token].
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Log in with a JWT (CI workload identity) as this role.
    #[arg(long, value_name = "ROLE", conflicts_with_all = ["token_file", "approle"])]
    jwt_role: Option<String>,
    /// File holding the JWT for --jwt-role.
    #[arg(long, value_name = "FILE", requires = "jwt_role")]
    jwt_file: Option<PathBuf>,
    /// Environment variable holding the JWT for --jwt-role when no --jwt-file is given
    /// (e.g. a GitLab `id_tokens` variable).
    #[arg(long, value_name = "VAR", default_value = "BLASTMAP_JWT")]
    jwt_env: String,
    /// Log in with AppRole; role-id and secret-id from the files below or from
    /// BLASTMAP_APPROLE_ROLE_ID and BLASTMAP_APPROLE_SECRET_ID.
    #[arg(long, conflicts_with = "token_file")]
    approle: bool,
    /// File holding the AppRole role-id (implies --approle).
    #[arg(long, value_name = "FILE", conflicts_with = "token_file")]
    approle_role_id_file: Option<PathBuf>,
    /// File holding the AppRole secret-id.
    #[arg(long, value_name = "FILE")]
    approle_secret_id_file: Option<PathBuf>,
    /// Auth mount of the login [default: jwt for --jwt-role, approle for --approle].
    #[arg(long, value_name = "PATH")]
    auth_mount: Option<String>,
    /// Namespace of the login's auth mount [default: --namespace].
    #[arg(long, value_name = "NS")]
    auth_namespace: Option<String>,

    /// PEM CA bundle to verify the server [env: BAO_CACERT, VAULT_CACERT].
    #[arg(long, value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// Directory of PEM CA certificates [env: BAO_CAPATH, VAULT_CAPATH].
    #[arg(long, value_name = "DIR")]
    ca_path: Option<PathBuf>,
    /// Client certificate for TLS authentication [env: VAULT_CLIENT_CERT].
    #[arg(long, value_name = "FILE", requires = "client_key")]
    client_cert: Option<PathBuf>,
    /// Client key for TLS authentication [env: VAULT_CLIENT_KEY].
    #[arg(long, value_name = "FILE", requires = "client_cert")]
    client_key: Option<PathBuf>,
    /// Do not verify the server certificate (tests only) [env: VAULT_SKIP_VERIFY].
    #[arg(long)]
    tls_skip_verify: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum FlavorArg {
    Openbao,
    Vault,
}

pub(super) fn run(args: Args) -> Result<Outcome> {
    if args.print_policy {
        print!("{}", policy::exporter_policy(args.policy_depth));
        return Ok(Outcome::Success);
    }
    // Before any request: a target that cannot be written is refused now, not after the walk.
    crate::output::check(&args.out)?;
    if let Some(parent) = args.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        anyhow::ensure!(
            parent.is_dir(),
            "the directory of --out {} does not exist; create it or choose another path",
            args.out.display()
        );
    }
    let progress = args.server.progress();
    let options = args.server.export_options(progress.clone())?;
    let report = match crate::export::export_blocking(options) {
        Ok(r) => r,
        Err(e) => {
            progress.finish();
            return Err(anyhow::Error::new(e).context("export failed"));
        }
    };
    let (snapshot, stats) = report.into_parts();
    snapshot
        .save(&args.out)
        .with_context(|| format!("cannot write the snapshot to {}", args.out.display()))?;
    print_summary(&snapshot, &stats, &args.out, args.server.quiet);
    Ok(Outcome::Success)
}

impl Server {
    /// The progress display: on a terminal, unless `--quiet`.
    pub(super) fn progress(&self) -> Progress {
        Progress::new(!self.quiet && std::io::stderr().is_terminal())
    }

    /// The export's options: the address, namespace, credentials and TLS settings resolved from
    /// the flags and the environment as the Vault CLI resolves them.
    pub(super) fn export_options(&self, progress: Progress) -> Result<ExportOptions> {
        let env = |k: &str| std::env::var(k).ok();
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let address = connect::resolve_address(self.address.as_deref(), &env)?;
        let namespace = connect::resolve_namespace(self.namespace.as_deref(), &env)?;
        let access = &self.access;
        let login = LoginArgs {
            token_file: access.token_file.clone(),
            jwt_role: access.jwt_role.clone(),
            jwt_file: access.jwt_file.clone(),
            jwt_env: access.jwt_env.clone(),
            approle: access.approle,
            approle_role_id_file: access.approle_role_id_file.clone(),
            approle_secret_id_file: access.approle_secret_id_file.clone(),
            auth_mount: access.auth_mount.clone(),
            auth_namespace: access.auth_namespace.clone(),
        };
        let credentials = connect::resolve_credentials(&login, &namespace, &env, home.as_deref())?;
        let tls = TlsOptions {
            ca_cert: access.ca_cert.clone(),
            ca_path: access.ca_path.clone(),
            client_cert: access.client_cert.clone(),
            client_key: access.client_key.clone(),
            skip_verify: access.tls_skip_verify,
        }
        .with_env(&env);
        Ok(ExportOptions {
            address,
            namespace,
            credentials,
            tls,
            kv: (!self.no_kv).then_some(KvLimits {
                max_depth: self.kv_max_depth,
                max_keys: self.kv_max_keys,
            }),
            flavor: self.flavor.map(|f| match f {
                FlavorArg::Openbao => Flavor::OpenBao,
                FlavorArg::Vault => Flavor::Vault,
            }),
            concurrency: usize::from(self.concurrency),
            retries: self.retries,
            backoff: Duration::from_millis(200),
            timeout: Duration::from_secs(self.timeout),
            max_response_bytes: self.max_response_mib * MIB,
            max_requests: self.max_requests,
            progress,
        })
    }
}

/// What the export read (unless `quiet`), and always what it could not read: coverage gaps
/// and truncated KV listings.
pub(super) fn print_summary(snap: &Snapshot, stats: &ExportStats, out: &Path, quiet: bool) {
    if !quiet {
        let ns = &snap.namespaces;
        let count = |f: &dyn Fn(&crate::model::Namespace) -> usize| ns.iter().map(f).sum::<usize>();
        let keys: usize = ns
            .iter()
            .flat_map(|n| &n.secret_mounts)
            .map(|m| m.secrets.keys.len())
            .sum();
        eprintln!(
            "exported {} {} {} to {}: {} namespace(s), {} auth mount(s) with {} role(s), {} \
             polic(ies), {} entit(ies), {} group(s), {} secret mount(s) with {} KV key(s); {} \
             requests ({} retried) in {:.1}s",
            snap.server.flavor.as_str(),
            visible(&snap.server.version),
            visible(&snap.server.address),
            out.display(),
            ns.len(),
            count(&|n| n.auth_mounts.len()),
            count(&|n| n.auth_mounts.iter().map(|m| m.roles.len()).sum()),
            count(&|n| n.policies.len()),
            count(&|n| n.entities.len()),
            count(&|n| n.groups.len()),
            count(&|n| n.secret_mounts.len()),
            keys,
            stats.requests,
            stats.retries,
            stats.elapsed.as_secs_f64(),
        );
    }
    if !snap.coverage.is_empty() {
        eprintln!(
            "warning: {} endpoint(s) could not be read; what they leave unknown is recorded in \
             the snapshot's coverage (later commands report it as unknown, not as no access):",
            snap.coverage.len()
        );
        for line in coverage::summary(&snap.coverage) {
            eprintln!("{line}");
        }
        eprintln!(
            "  to read everything, give the exporter the policy in docs/exporter-policy.hcl \
             (`blastmap export --print-policy`)"
        );
    }
    let truncated: Vec<String> = snap
        .namespaces
        .iter()
        .flat_map(|n| {
            n.secret_mounts
                .iter()
                .filter(|m| m.secrets.listing.status == crate::model::ListingStatus::Truncated)
                .map(move |m| visible(&format!("{}{}", n.path, m.path)).into_owned())
        })
        .collect();
    if !truncated.is_empty() {
        eprintln!(
            "warning: the KV listing of {} stopped at --kv-max-depth/--kv-max-keys; raise them \
             for a complete inventory",
            truncated.join(", ")
        );
    }
}
