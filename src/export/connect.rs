//! Where to connect and with what: address, namespace, TLS and credentials, resolved as the
//! `vault` and `bao` CLIs do (flags first, then `BAO_*`, then `VAULT_*`, then `~/.vault-token`),
//! and the HTTP client built from them.
//!
//! Environment lookups go through a function argument so tests can resolve without touching the
//! process environment.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::client::{Http, MAX_SAME_ORIGIN_REDIRECTS};
use super::error::ExportError;

/// The default address of the `vault`/`bao` CLIs.
pub(crate) const DEFAULT_ADDRESS: &str = "https://127.0.0.1:8200";

/// An environment lookup (`std::env::var(..).ok()` in the binary).
pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The first non-empty value of these variables.
pub(crate) fn env_first(env: Env<'_>, names: &[&str]) -> Option<String> {
    names
        .iter()
        .filter_map(|n| env(n))
        .find(|v| !v.trim().is_empty())
}

/// `--address`, else `BAO_ADDR`, else `VAULT_ADDR`, else `https://127.0.0.1:8200`; validated.
pub(crate) fn resolve_address(flag: Option<&str>, env: Env<'_>) -> Result<String, ExportError> {
    let addr = flag
        .map(str::to_owned)
        .or_else(|| env_first(env, &["BAO_ADDR", "VAULT_ADDR"]))
        .unwrap_or_else(|| DEFAULT_ADDRESS.to_owned());
    let addr = addr.trim().trim_end_matches('/').to_owned();
    match url::Url::parse(&addr) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(addr),
        _ => Err(ExportError::Config(format!(
            "the server address {:?} is not an http:// or https:// URL; pass --address \
             https://host:8200 (or set VAULT_ADDR/BAO_ADDR)",
            crate::model::redact_address(&addr)
        ))),
    }
}

/// `--namespace`, else `BAO_NAMESPACE`, else `VAULT_NAMESPACE`, else root; normalised to `""`
/// or `"a/b/"`.
pub(crate) fn resolve_namespace(flag: Option<&str>, env: Env<'_>) -> Result<String, ExportError> {
    let raw = flag
        .map(str::to_owned)
        .or_else(|| env_first(env, &["BAO_NAMESPACE", "VAULT_NAMESPACE"]))
        .unwrap_or_default();
    normalize_namespace(&raw)
}

/// `""`, `"/"`, `"root"` → `""`; `"a/b"` → `"a/b/"`. Refuses characters a namespace cannot have.
pub(crate) fn normalize_namespace(raw: &str) -> Result<String, ExportError> {
    let path = crate::model::namespace_path(raw)
        .trim_end_matches('/')
        .to_string();
    if path.is_empty() || path == "root" {
        return Ok(String::new());
    }
    if path.chars().any(|c| c.is_control() || c.is_whitespace())
        || path
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(ExportError::Config(format!(
            "{raw:?} is not a valid namespace path (use names separated by /, e.g. team-a/sub)"
        )));
    }
    Ok(format!("{path}/"))
}

/// TLS settings (rustls; no OpenSSL).
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// PEM CA bundle (`VAULT_CACERT`).
    pub ca_cert: Option<PathBuf>,
    /// Directory of PEM CA certificates (`VAULT_CAPATH`).
    pub ca_path: Option<PathBuf>,
    /// Client certificate and key, PEM (`VAULT_CLIENT_CERT`, `VAULT_CLIENT_KEY`).
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    /// Do not verify the server certificate (`VAULT_SKIP_VERIFY`). For tests only.
    pub skip_verify: bool,
}

impl TlsOptions {
    /// Fill the unset fields from `BAO_*`/`VAULT_*` variables.
    pub fn with_env(mut self, env: Env<'_>) -> TlsOptions {
        let path = |names: &[&str]| env_first(env, names).map(PathBuf::from);
        self.ca_cert = self
            .ca_cert
            .or_else(|| path(&["BAO_CACERT", "VAULT_CACERT"]));
        self.ca_path = self
            .ca_path
            .or_else(|| path(&["BAO_CAPATH", "VAULT_CAPATH"]));
        self.client_cert = self
            .client_cert
            .or_else(|| path(&["BAO_CLIENT_CERT", "VAULT_CLIENT_CERT"]));
        self.client_key = self
            .client_key
            .or_else(|| path(&["BAO_CLIENT_KEY", "VAULT_CLIENT_KEY"]));
        if !self.skip_verify {
            self.skip_verify = env_first(env, &["BAO_SKIP_VERIFY", "VAULT_SKIP_VERIFY"])
                .is_some_and(|v| is_truthy(&v));
        }
        self
    }
}

/// The CLIs' reading of a boolean variable (`strconv.ParseBool`).
fn is_truthy(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "1" | "t" | "true" | "y" | "yes"
    )
}

/// How the exporter authenticates.
pub enum Credentials {
    /// A token from `source` (named in errors; the token itself never is).
    Token { token: String, source: String },
    /// JWT login: `POST auth/<mount>/login {role, jwt}` in `namespace`.
    Jwt {
        mount: String,
        role: String,
        jwt: String,
        namespace: String,
    },
    /// AppRole login: `POST auth/<mount>/login {role_id, secret_id}` in `namespace`.
    AppRole {
        mount: String,
        role_id: String,
        secret_id: Option<String>,
        namespace: String,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secrets.
        match self {
            Credentials::Token { source, .. } => write!(f, "Token(from {source})"),
            Credentials::Jwt { mount, role, .. } => write!(f, "Jwt(auth/{mount}, role {role})"),
            Credentials::AppRole { mount, .. } => write!(f, "AppRole(auth/{mount})"),
        }
    }
}

impl Credentials {
    /// Every secret string these credentials hold (for the redactor).
    pub fn secrets(&self) -> Vec<&str> {
        match self {
            Credentials::Token { token, .. } => vec![token.as_str()],
            Credentials::Jwt { jwt, .. } => vec![jwt.as_str()],
            Credentials::AppRole {
                role_id, secret_id, ..
            } => {
                let mut secrets = vec![role_id.as_str()];
                secrets.extend(secret_id.as_deref());
                secrets
            }
        }
    }

    /// Where the credentials came from, for messages.
    pub fn describe(&self) -> String {
        match self {
            Credentials::Token { source, .. } => source.clone(),
            Credentials::Jwt { mount, role, .. } => {
                format!("the JWT login (auth/{mount}, role {role})")
            }
            Credentials::AppRole { mount, .. } => format!("the AppRole login (auth/{mount})"),
        }
    }
}

/// The login and token options of the command line.
#[derive(Debug, Clone, Default)]
pub struct LoginArgs {
    pub token_file: Option<PathBuf>,
    pub jwt_role: Option<String>,
    pub jwt_file: Option<PathBuf>,
    /// Variable holding the JWT when no file is given.
    pub jwt_env: String,
    pub approle: bool,
    pub approle_role_id_file: Option<PathBuf>,
    pub approle_secret_id_file: Option<PathBuf>,
    /// Auth mount path for the login (default `jwt` or `approle`).
    pub auth_mount: Option<String>,
    /// Namespace of the login (default: the export's namespace).
    pub auth_namespace: Option<String>,
}

/// The variables the AppRole login reads when no file is given.
pub(crate) const ROLE_ID_ENV: &str = "BLASTMAP_APPROLE_ROLE_ID";
pub(crate) const SECRET_ID_ENV: &str = "BLASTMAP_APPROLE_SECRET_ID";

/// Decide how to authenticate: a login (`--jwt-role`, `--approle`) wins over a token; a token is
/// `--token-file`, else `BAO_TOKEN`, else `VAULT_TOKEN`, else `~/.vault-token`.
pub(crate) fn resolve_credentials(
    args: &LoginArgs,
    namespace: &str,
    env: Env<'_>,
    home: Option<&Path>,
) -> Result<Credentials, ExportError> {
    let login_ns = match &args.auth_namespace {
        Some(ns) => normalize_namespace(ns)?,
        None => namespace.to_owned(),
    };
    let mount = |default: &str| {
        args.auth_mount
            .as_deref()
            .map(|m| {
                m.trim()
                    .trim_start_matches("auth/")
                    .trim_matches('/')
                    .to_owned()
            })
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| default.to_owned())
    };
    if let Some(role) = &args.jwt_role {
        let jwt = match &args.jwt_file {
            Some(f) => read_secret_file(f, "JWT")?,
            None => env(&args.jwt_env)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .ok_or_else(|| {
                    ExportError::Config(format!(
                        "--jwt-role needs a JWT: pass --jwt-file FILE or set {}",
                        args.jwt_env
                    ))
                })?,
        };
        return Ok(Credentials::Jwt {
            mount: mount("jwt"),
            role: role.clone(),
            jwt,
            namespace: login_ns,
        });
    }
    if args.approle || args.approle_role_id_file.is_some() {
        let role_id = match &args.approle_role_id_file {
            Some(f) => read_secret_file(f, "AppRole role-id")?,
            None => env(ROLE_ID_ENV)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .ok_or_else(|| {
                    ExportError::Config(format!(
                        "--approle needs a role-id: pass --approle-role-id-file FILE or set \
                         {ROLE_ID_ENV}"
                    ))
                })?,
        };
        let secret_id = match &args.approle_secret_id_file {
            Some(f) => Some(read_secret_file(f, "AppRole secret-id")?),
            None => env(SECRET_ID_ENV)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty()),
        };
        return Ok(Credentials::AppRole {
            mount: mount("approle"),
            role_id,
            secret_id,
            namespace: login_ns,
        });
    }
    if let Some(f) = &args.token_file {
        let token = read_secret_file(f, "token")?;
        return checked_token(token, format!("--token-file {}", f.display()));
    }
    for var in ["BAO_TOKEN", "VAULT_TOKEN"] {
        if let Some(t) = env(var).filter(|t| !t.trim().is_empty()) {
            return checked_token(t.trim().to_owned(), format!("${var}"));
        }
    }
    if let Some(home) = home {
        let token_file = home.join(".vault-token");
        if token_file.is_file() {
            let token = read_secret_file(&token_file, "token")?;
            return checked_token(token, token_file.display().to_string());
        }
    }
    Err(ExportError::Config(
        "no credentials: set VAULT_TOKEN or BAO_TOKEN, pass --token-file FILE, log in with \
         `bao login` (~/.vault-token), or let the exporter log in itself with --jwt-role ROLE or \
         --approle"
            .into(),
    ))
}

/// A token must be usable as an HTTP header value; say so without printing it.
fn checked_token(token: String, source: String) -> Result<Credentials, ExportError> {
    check_header_safe(&token, &format!("the token from {source}"))?;
    Ok(Credentials::Token { token, source })
}

/// Refuse values that cannot be sent in a header (the HTTP stack would panic on them).
pub(crate) fn check_header_safe(value: &str, what: &str) -> Result<(), ExportError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ExportError::Config(format!(
            "{what} is empty or contains spaces or non-ASCII characters, which a token cannot \
             have; check that it is the right value"
        )));
    }
    Ok(())
}

/// Read a one-line secret file (trailing newline removed). The content is never printed.
fn read_secret_file(path: &Path, what: &str) -> Result<String, ExportError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ExportError::Config(format!(
            "cannot read the {what} file {}: {e}",
            path.display()
        ))
    })?;
    let trimmed = text.trim().to_owned();
    if trimmed.is_empty() {
        return Err(ExportError::Config(format!(
            "the {what} file {} is empty",
            path.display()
        )));
    }
    Ok(trimmed)
}

/// Install ring as the process-wide rustls provider (reqwest is built without one so that no
/// C crypto library has to be compiled). Idempotent.
pub(crate) fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The HTTP client for `address`: TLS as configured, the whole-request `timeout`, and the
/// redirect policy that keeps the token with its origin (see [`same_origin_redirects`]).
pub(crate) fn build_http(
    address: &str,
    tls: &TlsOptions,
    timeout: Duration,
) -> Result<Http, ExportError> {
    install_crypto_provider();
    let base = base_url(address)?;
    let mut builder = reqwest::Client::builder()
        .tls_backend_rustls()
        .timeout(timeout)
        .redirect(same_origin_redirects())
        .tls_danger_accept_invalid_certs(tls.skip_verify);
    if base.scheme() == "http" {
        // Plain http needs no trust roots (and loading the platform's can fail in containers).
        builder = builder.tls_certs_only(Vec::new());
    } else {
        for file in ca_files(tls)? {
            builder = builder.tls_certs_merge(read_certificates(&file)?);
        }
    }
    if let Some(identity) = client_identity(tls)? {
        builder = builder.identity(identity);
    }
    let client = builder.build().map_err(|e| {
        ExportError::Config(format!(
            "cannot set up the HTTP client: {}",
            super::error::error_chain(&e.without_url())
        ))
    })?;
    Ok(Http { client, base })
}

/// Redirects within the same scheme, host and port (a standby pointing at the active node
/// behind the same address), at most [`MAX_SAME_ORIGIN_REDIRECTS`] per request. Any other
/// redirect is not followed: the exporter gets the 3xx answer and reports it, so the token is
/// never sent to another host or over plain http when the address was https.
pub(crate) fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let Some(first) = attempt.previous().first() else {
            return attempt.stop();
        };
        let same = attempt.url().origin() == first.origin();
        if same && attempt.previous().len() <= MAX_SAME_ORIGIN_REDIRECTS {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

/// The address as the base of every request URL; a query or fragment is dropped (requests
/// carry their own path and query).
fn base_url(address: &str) -> Result<url::Url, ExportError> {
    let mut base = url::Url::parse(address).map_err(|_| {
        ExportError::Config(format!(
            "the server address {:?} is not a URL",
            crate::model::redact_address(address)
        ))
    })?;
    base.set_query(None);
    base.set_fragment(None);
    if base.cannot_be_a_base() {
        return Err(ExportError::Config(format!(
            "the server address {:?} cannot carry a path",
            crate::model::redact_address(address)
        )));
    }
    Ok(base)
}

/// The CA files of `VAULT_CACERT` and `VAULT_CAPATH`, in that order.
fn ca_files(tls: &TlsOptions) -> Result<Vec<PathBuf>, ExportError> {
    let mut files = Vec::new();
    if let Some(f) = &tls.ca_cert {
        if !f.is_file() {
            return Err(ExportError::Config(format!(
                "the CA certificate {} (VAULT_CACERT) does not exist",
                f.display()
            )));
        }
        files.push(f.clone());
    }
    if let Some(dir) = &tls.ca_path {
        let entries = std::fs::read_dir(dir).map_err(|e| {
            ExportError::Config(format!(
                "cannot read the CA directory {} (VAULT_CAPATH): {e}",
                dir.display()
            ))
        })?;
        let mut in_dir: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        in_dir.sort();
        files.extend(in_dir);
    }
    Ok(files)
}

fn read_certificates(file: &Path) -> Result<Vec<reqwest::Certificate>, ExportError> {
    let pem = std::fs::read(file).map_err(|e| {
        ExportError::Config(format!(
            "cannot read the CA certificate {}: {e}",
            file.display()
        ))
    })?;
    reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
        ExportError::Config(format!(
            "the CA certificate {} is not valid PEM: {e}",
            file.display()
        ))
    })
}

/// The client certificate and key, when both are given.
fn client_identity(tls: &TlsOptions) -> Result<Option<reqwest::Identity>, ExportError> {
    let (c, k) = match (&tls.client_cert, &tls.client_key) {
        (Some(c), Some(k)) => (c, k),
        (None, None) => return Ok(None),
        _ => {
            return Err(ExportError::Config(
                "a client certificate needs both VAULT_CLIENT_CERT and VAULT_CLIENT_KEY \
                 (or --client-cert and --client-key)"
                    .into(),
            ))
        }
    };
    let mut pem = std::fs::read(c).map_err(|e| {
        ExportError::Config(format!(
            "cannot read the client certificate {}: {e}",
            c.display()
        ))
    })?;
    pem.push(b'\n');
    pem.extend(std::fs::read(k).map_err(|e| {
        ExportError::Config(format!("cannot read the client key {}: {e}", k.display()))
    })?);
    reqwest::Identity::from_pem(&pem).map(Some).map_err(|e| {
        ExportError::Config(format!(
            "the client certificate {} and key {} are not a valid PEM pair: {e}",
            c.display(),
            k.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| vars.get(k).cloned()
    }

    #[test]
    fn address_precedence_and_validation() {
        let env = env_of(&[
            ("VAULT_ADDR", "http://v:8200"),
            ("BAO_ADDR", "http://b:8200/"),
        ]);
        assert_eq!(resolve_address(None, &env).unwrap(), "http://b:8200");
        assert_eq!(
            resolve_address(Some("https://f:1"), &env).unwrap(),
            "https://f:1"
        );
        let none = env_of(&[]);
        assert_eq!(resolve_address(None, &none).unwrap(), DEFAULT_ADDRESS);
        assert!(resolve_address(Some("ftp://x"), &none).is_err());
        assert!(resolve_address(Some("not a url"), &none).is_err());
    }

    #[test]
    fn namespaces() {
        let env = env_of(&[("VAULT_NAMESPACE", "team-a")]);
        assert_eq!(resolve_namespace(None, &env).unwrap(), "team-a/");
        assert_eq!(resolve_namespace(Some("/"), &env).unwrap(), "");
        assert_eq!(resolve_namespace(Some("root"), &env).unwrap(), "");
        assert_eq!(resolve_namespace(Some("a/b/"), &env).unwrap(), "a/b/");
        assert!(resolve_namespace(Some("a//b"), &env).is_err());
        assert!(resolve_namespace(Some("a b"), &env).is_err());
    }

    #[test]
    fn token_precedence_and_errors_never_show_tokens() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".vault-token"), "hvs.fromhome\n").unwrap();
        let args = LoginArgs::default();
        let env = env_of(&[
            ("VAULT_TOKEN", "hvs.fromvault"),
            ("BAO_TOKEN", "hvs.frombao"),
        ]);
        let credentials = resolve_credentials(&args, "", &env, Some(dir.path())).unwrap();
        assert!(matches!(&credentials, Credentials::Token { token, .. } if token == "hvs.frombao"));
        assert!(!format!("{credentials:?}").contains("frombao"));
        let credentials = resolve_credentials(&args, "", &env_of(&[]), Some(dir.path())).unwrap();
        assert!(
            matches!(&credentials, Credentials::Token { token, .. } if token == "hvs.fromhome")
        );
        let bad = env_of(&[("VAULT_TOKEN", "hvs.secret withspace")]);
        let message = resolve_credentials(&args, "", &bad, None)
            .unwrap_err()
            .to_string();
        assert!(!message.contains("secret"), "{message}");
        assert!(resolve_credentials(&args, "", &env_of(&[]), None).is_err());
    }

    #[test]
    fn logins() {
        let env = env_of(&[
            ("BLASTMAP_JWT", "eyJ.jwt.sig"),
            (ROLE_ID_ENV, "rid-123456"),
            ("VAULT_TOKEN", "hvs.t"),
        ]);
        let args = LoginArgs {
            jwt_role: Some("exporter".into()),
            jwt_env: "BLASTMAP_JWT".into(),
            auth_mount: Some("auth/gitlab/".into()),
            ..LoginArgs::default()
        };
        match resolve_credentials(&args, "team-a/", &env, None).unwrap() {
            Credentials::Jwt {
                mount,
                role,
                jwt,
                namespace,
            } => {
                assert_eq!((mount.as_str(), role.as_str()), ("gitlab", "exporter"));
                assert_eq!(jwt, "eyJ.jwt.sig");
                assert_eq!(namespace, "team-a/");
            }
            other => panic!("{other:?}"),
        }
        let args = LoginArgs {
            approle: true,
            ..LoginArgs::default()
        };
        match resolve_credentials(&args, "", &env, None).unwrap() {
            Credentials::AppRole {
                mount,
                role_id,
                secret_id,
                ..
            } => {
                assert_eq!(mount, "approle");
                assert_eq!(role_id, "rid-123456");
                assert!(secret_id.is_none());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn tls_from_env() {
        let env = env_of(&[("VAULT_CACERT", "/ca.pem"), ("VAULT_SKIP_VERIFY", "true")]);
        let tls = TlsOptions::default().with_env(&env);
        assert_eq!(tls.ca_cert.as_deref(), Some(Path::new("/ca.pem")));
        assert!(tls.skip_verify);
        let env = env_of(&[("VAULT_SKIP_VERIFY", "false")]);
        assert!(!TlsOptions::default().with_env(&env).skip_verify);
    }
}
