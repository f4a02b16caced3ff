//! `blastmap export` against a real OpenBao dev server with a seeded estate
//! (`tests/suite/common/seed.rs`): completeness, the shipped exporter policy, the audit-log proof that
//! no secret was read, canaries, and the exporter's own JWT and AppRole logins.

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::seed::{self, Estate, EXPORTER_POLICY_NAME};
use common::BaoServer;
use serde_json::{json, Value};

/// The exporter binary with a clean environment: no VAULT_*/BAO_* of the developer, HOME in a
/// scratch directory (no ~/.vault-token).
pub fn exporter(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_blastmap"));
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("VAULT_") || k.starts_with("BAO_") || k.starts_with("BLASTMAP_") {
            cmd.env_remove(&k);
        }
    }
    cmd.env("HOME", home).arg("export");
    cmd
}

struct Run {
    out: Output,
    file: PathBuf,
}

impl Run {
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    fn snapshot_text(&self) -> String {
        std::fs::read_to_string(&self.file).unwrap_or_else(|e| {
            panic!(
                "no snapshot at {} ({e}); stderr:\n{}",
                self.file.display(),
                self.stderr()
            )
        })
    }
    fn snapshot(&self) -> Value {
        serde_json::from_str(&self.snapshot_text()).expect("snapshot is JSON")
    }
    fn assert_ok(&self) {
        assert!(
            self.out.status.success(),
            "export failed ({:?}); stderr:\n{}",
            self.out.status,
            self.stderr()
        );
    }
}

/// Run an export of `server` with `token` (or with the extra args' login) into a fresh file.
fn run_export(server: &BaoServer, token: Option<&str>, extra: &[&str]) -> Run {
    let dir = tempfile::tempdir_in(server.dir()).unwrap().keep();
    let file = dir.join("snapshot.json");
    let mut cmd = exporter(&dir);
    cmd.args(["--address", server.addr(), "--out"])
        .arg(&file)
        .args(extra);
    if let Some(t) = token {
        cmd.env("VAULT_TOKEN", t);
    }
    let out = cmd.output().expect("run blastmap");
    Run { out, file }
}

fn coverage(snap: &Value) -> Vec<Value> {
    snap["coverage"].as_array().cloned().unwrap_or_default()
}

/// Every canary, and every extra secret, is absent from stdout, stderr and the snapshot.
fn assert_no_canary(run: &Run, estate: &Estate, extra: &[&str]) {
    let snapshot = run.snapshot_text();
    let outputs = [
        ("stdout", run.stdout()),
        ("stderr", run.stderr()),
        ("snapshot", snapshot),
    ];
    for secret in estate
        .canaries
        .iter()
        .map(String::as_str)
        .chain(extra.iter().copied())
    {
        for (name, text) in &outputs {
            assert!(
                !text.contains(secret),
                "a secret ({}…) appears in the export's {name}",
                &secret[..secret.len().min(14)]
            );
        }
    }
}

/// A token with exactly the shipped exporter policy and a canary id.
fn canary_exporter_token(server: &BaoServer) -> String {
    let id = format!("CANARY-TOKEN-{:016x}", common::random_u64());
    let v = server.post(
        "auth/token/create",
        &json!({ "id": id, "policies": [EXPORTER_POLICY_NAME], "no_default_policy": true }),
    );
    assert_eq!(v["auth"]["client_token"], id.as_str());
    id
}

#[test]
fn export_equals_the_seeded_estate() {
    let server = BaoServer::start();
    let estate = seed::seed(&server);
    let run = run_export(&server, Some(server.root_token()), &[]);
    run.assert_ok();
    assert!(run.stdout().is_empty(), "stdout: {}", run.stdout());
    assert!(
        run.stderr().contains("exported openbao 2.7.2"),
        "summary missing: {}",
        run.stderr()
    );
    let snap = run.snapshot();
    assert_eq!(coverage(&snap), Vec::<Value>::new());
    let got = seed::facts(&snap);
    assert!(
        got == estate.expected,
        "export differs from the seeded estate:\n{}",
        seed::diff(&estate.expected, &got)
    );

    // Written with mode 0600, loads with the model, and passes its consistency checks.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&run.file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let loaded = blastmap::model::Snapshot::load(&run.file).expect("snapshot loads");
    assert_eq!(loaded.server.version, "2.7.2");
    assert!(loaded.server.default_lease_ttl.is_some());
    let issues = loaded.validate();
    assert!(issues.is_empty(), "validation issues: {issues:?}");
    let ns: Vec<&str> = loaded.namespaces.iter().map(|n| n.path.as_str()).collect();
    assert_eq!(ns, ["", "team-a/", "team-a/sub/", "team-b/"]);
    assert!(loaded.namespaces.iter().all(|n| !n.id.is_empty()));

    // Key material never reaches the snapshot, and the root token does not either.
    assert_no_canary(&run, &estate, &[server.root_token()]);
    let k8s = loaded.namespaces[0].auth_mount("k8s").unwrap();
    assert!(k8s
        .config
        .as_ref()
        .unwrap()
        .get("token_reviewer_jwt")
        .is_none());
}

#[test]
fn exporter_policy_alone_reads_everything_and_no_secret() {
    let server = BaoServer::start_with_config("unsafe_allow_api_audit_creation = true\n");
    let estate = seed::seed(&server);
    let token = canary_exporter_token(&server);
    let audit_log = server.dir().join("audit.log");
    server.put(
        "sys/audit/file",
        &json!({ "type": "file", "options": { "file_path": audit_log.display().to_string() } }),
    );

    let run = run_export(&server, Some(&token), &[]);
    run.assert_ok();
    let snap = run.snapshot();
    assert_eq!(
        coverage(&snap),
        Vec::<Value>::new(),
        "the shipped exporter policy misses endpoints"
    );
    let got = seed::facts(&snap);
    assert!(
        got == estate.expected,
        "export with the exporter policy differs from the seeded estate:\n{}",
        seed::diff(&estate.expected, &got)
    );
    // The audit device itself is exported (root namespace, sudo read).
    assert_eq!(snap["namespaces"][0]["audit_devices"][0]["type"], "file");
    assert_no_canary(&run, &estate, &[&token]);

    // The audit log: every request the exporter made, with its operation and full path.
    let text = std::fs::read_to_string(&audit_log).expect("audit log");
    let mut requests: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).expect("audit line is JSON");
        if v["type"] != "request" {
            continue;
        }
        let policies = v["auth"]["policies"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !policies.iter().any(|p| p == EXPORTER_POLICY_NAME) {
            continue;
        }
        let ns = v["request"]["namespace"]["path"].as_str().unwrap_or("");
        let path = v["request"]["path"].as_str().unwrap_or("");
        let op = v["request"]["operation"].as_str().unwrap_or("").to_owned();
        requests.push((op, format!("{ns}{path}")));
    }
    assert!(
        requests.len() > 40,
        "too few exporter requests audited ({}): is the audit filter right?",
        requests.len()
    );
    assert!(requests.iter().any(|(_, p)| p == "team-a/kv/metadata/app/"));
    let kv2_data: BTreeSet<&str> = ["secret/data/", "team-a/kv/data/"].into_iter().collect();
    for (op, path) in &requests {
        assert!(
            matches!(op.as_str(), "read" | "list" | "scan"),
            "the exporter made a {op} request on {path}"
        );
        assert!(
            !kv2_data.iter().any(|d| path.starts_with(d)),
            "the exporter touched KV v2 data: {op} {path}"
        );
        assert!(
            !estate.secret_paths.contains(path),
            "the exporter touched a secret: {op} {path}"
        );
        assert!(
            !path.ends_with("/role-id") && !path.contains("/secret-id"),
            "the exporter touched an AppRole credential: {op} {path}"
        );
        assert!(
            !path.contains("/creds/") && !path.contains("/decrypt/") && !path.contains("/export/"),
            "the exporter touched a credential endpoint: {op} {path}"
        );
    }
}

#[test]
fn exporter_logs_in_with_its_own_jwt_or_approle() {
    let server = BaoServer::start();
    let estate = seed::seed(&server);
    let scratch = server.dir().join("creds");
    std::fs::create_dir_all(&scratch).unwrap();

    // JWT, from a file.
    let jwt = estate.exporter_jwt();
    let jwt_file = scratch.join("jwt");
    std::fs::write(&jwt_file, &jwt).unwrap();
    let run = run_export(
        &server,
        None,
        &[
            "--jwt-role",
            "blastmap",
            "--auth-mount",
            "gha",
            "--jwt-file",
            jwt_file.to_str().unwrap(),
            "--quiet",
        ],
    );
    run.assert_ok();
    assert!(run.stderr().is_empty(), "--quiet printed: {}", run.stderr());
    let snap = run.snapshot();
    assert_eq!(coverage(&snap), Vec::<Value>::new());
    let got = seed::facts(&snap);
    let missing: Vec<&String> = estate.expected.difference(&got).collect();
    assert!(missing.is_empty(), "missing after JWT login: {missing:?}");
    assert_no_canary(&run, &estate, &[&jwt]);

    // JWT from the environment, with a wrong role: a clear error naming the role, no file.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snap.json");
    let o = exporter(dir.path())
        .args(["--address", server.addr(), "--auth-mount", "gha"])
        .args(["--jwt-role", "nope", "--out"])
        .arg(&out)
        .env("BLASTMAP_JWT", &jwt)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("JWT login to auth/gha/ as role \"nope\""),
        "{err}"
    );
    assert!(!err.contains(&jwt) && !out.exists());

    // AppRole, role-id and secret-id from files.
    let rid = scratch.join("role-id");
    let sid = scratch.join("secret-id");
    std::fs::write(&rid, format!("{}\n", estate.exporter_role_id)).unwrap();
    std::fs::write(&sid, &estate.exporter_secret_id).unwrap();
    let run = run_export(
        &server,
        None,
        &[
            "--approle-role-id-file",
            rid.to_str().unwrap(),
            "--approle-secret-id-file",
            sid.to_str().unwrap(),
        ],
    );
    run.assert_ok();
    let snap = run.snapshot();
    assert_eq!(coverage(&snap), Vec::<Value>::new());
    // The login created an alias named after the role-id: exported redacted.
    assert_no_canary(
        &run,
        &estate,
        &[&estate.exporter_role_id, &estate.exporter_secret_id],
    );
    let aliases: Vec<&Value> = snap["namespaces"][0]["entities"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["aliases"].as_array().unwrap().iter())
        .filter(|a| a["mount_path"] == "auth/approle/")
        .collect();
    assert!(aliases
        .iter()
        .all(|a| a["name"] == blastmap::model::REDACTED_ROLE_ID
            && a["metadata"]["role_name"].is_string()));
    let aliases = aliases.len();
    assert_eq!(aliases, 2, "one alias per AppRole login, both redacted");
}
