//! `blastmap usage` against a real OpenBao dev server with a file audit device: JWT and
//! AppRole pipelines log in and use a subset of what they are granted (reads, a create, an
//! update, a list, a child token, a denied read, a default-policy self lookup); a token that
//! logged in before the audit device existed makes requests too. Then:
//!
//! * the unused grants `usage` reports per role equal, exactly, the server's own answer
//!   (`sys/capabilities` of a fresh login of the role on every exported secret) minus what the
//!   test did;
//! * every suggested policy, written into OpenBao and given alone (with `default`) to a new
//!   token, allows every request the role made (checked with `sys/capabilities` and by replaying
//!   the requests) and grants nothing on any exported secret the role never used;
//! * the pre-audit token is reported as unattributed, not dropped;
//! * with `--pipelines`, roles map to the pipelines they admit; `--policy-dir` writes the files.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use blastmap::model::Snapshot;
use blastmap::passes::SecretIndex;
use common::jwt::Signer;
use common::{BaoServer, Client};
use serde_json::{json, Map, Value};

const ISSUER: &str = "https://token.actions.githubusercontent.com";
const AUD: &str = "https://github.com/acme";

const POLICIES: &[(&str, &str)] = &[
    (
        "payments-deploy",
        r#"path "secret/data/payments/*" { capabilities = ["read"] }
path "secret/data/payments/deploy/*" { capabilities = ["read", "create", "update"] }"#,
    ),
    (
        "ci-read",
        r#"path "secret/data/ci/*" { capabilities = ["read", "list"] }
path "secret/metadata/ci/*" { capabilities = ["list"] }
path "kv1/ci/+/token" { capabilities = ["read"] }"#,
    ),
    (
        "batch",
        r#"path "secret/data/payments/db" { capabilities = ["read"] }
path "kv1/legacy/*" { capabilities = ["read", "list"] }
path "auth/token/create" { capabilities = ["update"] }"#,
    ),
];

const KV2: &[&str] = &[
    "payments/db",
    "payments/stripe",
    "payments/deploy/kubeconfig",
    "payments/deploy/registry",
    "ci/npm",
    "ci/docker/hub",
    "eng/wiki",
];
const KV1: &[&str] = &[
    "ci/artifactory/token",
    "ci/jenkins/token",
    "legacy/ftp",
    "legacy/smb",
];

const INVENTORY: &str = r#"
teams:
  - name: payments
    owns: ["secret/data/payments/*"]
pipelines:
  - name: payments-deploy
    team: payments
    auth:
      method: jwt
      mount: gha
      role: deploy
      claims:
        sub: "repo:acme/payments:environment:production"
        aud: "https://github.com/acme"
        repository: acme/payments
        environment: production
  - name: ci
    auth:
      method: jwt
      mount: gha
      role: ci
      claims:
        sub: "repo:acme/tools:ref:refs/heads/main"
        aud: "https://github.com/acme"
        repository: acme/tools
        ref: refs/heads/main
  - name: web
    auth:
      method: jwt
      mount: gha
      role: ci
      claims:
        sub: "repo:acme/web:ref:refs/heads/main"
        aud: "https://github.com/acme"
        repository: acme/web
        ref: refs/heads/main
  - name: batch
    auth:
      method: approle
      mount: approle
      role_name: batch
"#;

fn seed(server: &BaoServer, signer: &Signer) {
    common::seed::kv_and_jwt(
        server,
        &common::seed::KvJwtEstate {
            kv2: KV2,
            kv1: KV1,
            policies: POLICIES,
            signer,
            issuer: ISSUER,
        },
    );
    server.post(
        "auth/gha/role/deploy",
        &json!({"role_type": "jwt", "user_claim": "repository", "bound_audiences": [AUD],
            "bound_claims": {"repository": "acme/payments", "environment": "production"},
            "token_policies": ["payments-deploy"]}),
    );
    server.post(
        "auth/gha/role/ci",
        &json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": [AUD],
            "bound_claims_type": "glob", "bound_claims": {"sub": "repo:acme/*", "ref": "refs/heads/*"},
            "token_policies": ["ci-read"]}),
    );
    server.post("sys/auth/approle", &json!({"type": "approle"}));
    server.post(
        "auth/approle/role/batch",
        &json!({"token_policies": ["batch"]}),
    );
    server.post(
        "auth/approle/role/early",
        &json!({"token_policies": ["ci-read"]}),
    );
}

fn jwt_login(server: &BaoServer, signer: &Signer, role: &str, claims: Value) -> String {
    let mut c: Map<String, Value> = claims.as_object().unwrap().clone();
    c.insert("iss".into(), json!(ISSUER));
    let jwt = signer.sign_fresh(&c);
    let v = server
        .client()
        .without_token()
        .post("auth/gha/login", &json!({"role": role, "jwt": jwt}));
    v["auth"]["client_token"].as_str().unwrap().to_string()
}

fn approle_login(server: &BaoServer, role: &str) -> String {
    let role_id = server.get(&format!("auth/approle/role/{role}/role-id"))["data"]["role_id"]
        .as_str()
        .unwrap()
        .to_string();
    let secret_id = server.post(&format!("auth/approle/role/{role}/secret-id"), &json!({}))["data"]
        ["secret_id"]
        .as_str()
        .unwrap()
        .to_string();
    let v = server.client().without_token().post(
        "auth/approle/login",
        &json!({"role_id": role_id, "secret_id": secret_id}),
    );
    v["auth"]["client_token"].as_str().unwrap().to_string()
}

/// One request a pipeline made: method, path, body, and the capability it needed.
#[derive(Debug, Clone)]
struct Did {
    method: &'static str,
    path: String,
    body: Option<Value>,
    cap: &'static str,
}

fn did(method: &'static str, path: &str, body: Option<Value>, cap: &'static str) -> Did {
    Did {
        method,
        path: path.to_string(),
        body,
        cap,
    }
}

fn perform(c: &Client, d: &Did) {
    c.request(d.method, &d.path, d.body.as_ref())
        .unwrap_or_else(|e| panic!("{} {} failed: {e:?}", d.method, d.path));
}

fn blastmap(args: &[&str], extra: &[&Path]) -> Value {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_blastmap"));
    cmd.args(args);
    for p in extra {
        cmd.arg(p);
    }
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "blastmap {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&o.stdout)))
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn usage_reports_unused_grants_and_policies_that_hold() {
    let server = BaoServer::start_with_config("unsafe_allow_api_audit_creation = true\n");
    let signer = Signer::generate(server.dir());
    seed(&server, &signer);

    // A login before the audit device exists: its token's requests cannot be linked.
    let early = approle_login(&server, "early");

    let audit_log = server.dir().join("audit.log");
    server.post(
        "sys/audit/file",
        &json!({"type": "file", "options": {"file_path": audit_log.display().to_string()}}),
    );

    // Two more devices: accessors in clear (`hmac_accessor = false`) and everything in clear
    // (`log_raw = true`). Linking must give the same roles from their logs.
    let plain_log = server.dir().join("audit-plain.log");
    server.post(
        "sys/audit/plain",
        &json!({"type": "file", "options": {"file_path": plain_log.display().to_string(), "hmac_accessor": "false"}}),
    );
    let raw_log = server.dir().join("audit-raw.log");
    server.post(
        "sys/audit/raw",
        &json!({"type": "file", "options": {"file_path": raw_log.display().to_string(), "log_raw": "true"}}),
    );

    // What each role's tokens do: (role key, requests).
    let deploy_claims = json!({"sub": "repo:acme/payments:environment:production", "aud": AUD,
        "repository": "acme/payments", "environment": "production"});
    let ci_claims = json!({"sub": "repo:acme/tools:ref:refs/heads/main", "aud": AUD,
        "repository": "acme/tools", "ref": "refs/heads/main"});
    let deploy_did = vec![
        did("GET", "secret/data/payments/db", None, "read"),
        did(
            "GET",
            "secret/data/payments/deploy/kubeconfig",
            None,
            "read",
        ),
        did(
            "POST",
            "secret/data/payments/deploy/kubeconfig",
            Some(json!({"data": {"v": "y"}})),
            "update",
        ),
        did(
            "POST",
            "secret/data/payments/deploy/new-cert",
            Some(json!({"data": {"v": "z"}})),
            "create",
        ),
        did("GET", "auth/token/lookup-self", None, "read"),
    ];
    let ci_did = vec![
        did("GET", "secret/data/ci/npm", None, "read"),
        did("LIST", "secret/metadata/ci", None, "list"),
        did("GET", "kv1/ci/artifactory/token", None, "read"),
    ];
    let batch_did = vec![did("GET", "secret/data/payments/db", None, "read")];
    // The batch pipeline's child token reads kv1/legacy/ftp: usage of the batch role.
    let batch_child_did = vec![did("GET", "kv1/legacy/ftp", None, "read")];

    // Two runs of each pipeline (the second deploy run only reads).
    for run in 0..2 {
        let t = jwt_login(&server, &signer, "deploy", deploy_claims.clone());
        let c = server.client_with_token(&t);
        for d in &deploy_did {
            if run == 0 || d.method == "GET" {
                perform(&c, d);
            }
        }
        let t = jwt_login(&server, &signer, "ci", ci_claims.clone());
        let c = server.client_with_token(&t);
        for d in &ci_did {
            perform(&c, d);
        }
        // A denied request: reported, never suggested.
        assert_eq!(
            c.try_get("secret/data/payments/stripe").unwrap_err().status,
            403
        );
        let t = approle_login(&server, "batch");
        let c = server.client_with_token(&t);
        for d in &batch_did {
            perform(&c, d);
        }
        let child = c.post(
            "auth/token/create",
            &json!({"policies": ["batch"], "ttl": "10m"}),
        )["auth"]["client_token"]
            .as_str()
            .unwrap()
            .to_string();
        let cc = server.client_with_token(&child);
        for d in &batch_child_did {
            perform(&cc, d);
        }
    }
    let early_c = server.client_with_token(&early);
    early_c.get("secret/data/ci/docker/hub");

    let mut batch_all = batch_did.clone();
    batch_all.extend(batch_child_did.clone());
    batch_all.push(did(
        "POST",
        "auth/token/create",
        Some(json!({"policies": ["batch"], "ttl": "10m"})),
        "update",
    ));
    let roles: BTreeMap<&str, (&str, &str, Vec<Did>)> = [
        (
            "auth/gha/role/deploy",
            ("gha", "deploy", deploy_did.clone()),
        ),
        ("auth/gha/role/ci", ("gha", "ci", ci_did.clone())),
        ("auth/approle/role/batch", ("approle", "batch", batch_all)),
    ]
    .into_iter()
    .collect();

    let snap_path = server.dir().join("snapshot.json");
    server.export_to(&snap_path);
    let inv_path = server.dir().join("pipelines.yaml");
    std::fs::write(&inv_path, INVENTORY).unwrap();
    let policy_dir = server.dir().join("policies");

    let report = blastmap(
        &["usage", "--format", "json", "--snapshot"],
        &[
            &snap_path,
            Path::new("--pipelines"),
            &inv_path,
            Path::new("--policy-dir"),
            &policy_dir,
            Path::new("--audit-log"),
            &audit_log,
        ],
    );
    // The same roles, usage, unused grants and policies from the clear-accessor and raw logs
    // (read now: the checks below make more requests).
    for log in [&plain_log, &raw_log] {
        let text = std::fs::read_to_string(log).unwrap();
        let login = text
            .lines()
            .find(|l| {
                l.contains("\"path\":\"auth/approle/login\"") && l.contains("\"type\":\"response\"")
            })
            .unwrap();
        let v: Value = serde_json::from_str(login).unwrap();
        let acc = v["response"]["auth"]["accessor"].as_str().unwrap();
        assert!(
            !acc.starts_with("hmac-sha256:"),
            "accessor in clear in {}: {acc}",
            log.display()
        );
        let other = blastmap(
            &["usage", "--format", "json", "--snapshot"],
            &[&snap_path, Path::new("--audit-log"), log],
        );
        assert_eq!(other["stats"]["logins"], report["stats"]["logins"]);
        assert_eq!(other["stats"]["attributed"], report["stats"]["attributed"]);
        let strip = |r: &Value| -> Vec<Value> {
            r["roles"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| {
                    // Each device stamps its own `time`: compare everything else.
                    let mut x = x.clone();
                    let o = x.as_object_mut().unwrap();
                    o.remove("pipelines");
                    o["suggested_policy"].as_object_mut().unwrap().remove("hcl");
                    for list in ["used", "denied"] {
                        for u in o[list].as_array_mut().unwrap() {
                            let u = u.as_object_mut().unwrap();
                            u.remove("first");
                            u.remove("last");
                        }
                    }
                    x
                })
                .collect()
        };
        assert_eq!(
            strip(&other),
            strip(&report),
            "roles from {}",
            log.display()
        );
    }

    assert_eq!(report["format"], "blastmap-usage/1");
    assert_eq!(report["stats"]["malformed"], 0, "{report:#}");
    assert_eq!(report["stats"]["logins"], 6, "{:#}", report["stats"]);

    let snap = Snapshot::load(&snap_path).unwrap();
    let secrets = SecretIndex::build(&snap);
    let secret_paths: Vec<&str> = secrets.secrets.iter().map(|s| s.path.as_str()).collect();
    assert!(secret_paths.contains(&"secret/data/payments/deploy/new-cert"));

    let by_key: BTreeMap<String, &Value> = report["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["key"].as_str().unwrap().to_string(), r))
        .collect();
    assert_eq!(
        by_key.keys().cloned().collect::<BTreeSet<_>>(),
        roles.keys().map(|k| k.to_string()).collect::<BTreeSet<_>>(),
        "roles with logins in the log"
    );

    for (key, (_mount, role, dids)) in &roles {
        let r = by_key[*key];
        assert_eq!(r["in_snapshot"], true, "{key}");
        // The server's own answer for a fresh login of this role, on every exported secret.
        let token = if *key == "auth/approle/role/batch" {
            approle_login(&server, role)
        } else if *role == "deploy" {
            jwt_login(&server, &signer, role, deploy_claims.clone())
        } else {
            jwt_login(&server, &signer, role, ci_claims.clone())
        };
        let granted = server.capabilities(&token, &secret_paths);
        let mut used: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for d in dids {
            used.entry(d.path.as_str()).or_default().insert(d.cap);
        }
        let mut expected = BTreeSet::new();
        for (p, caps) in secret_paths.iter().zip(&granted) {
            if caps == &["deny"] {
                continue;
            }
            let u = used.get(p).cloned().unwrap_or_default();
            let unused: Vec<&str> = caps
                .iter()
                .map(String::as_str)
                .filter(|c| !u.contains(c))
                .collect();
            if !unused.is_empty() {
                expected.insert(format!("{p} {}", unused.join(",")));
            }
        }
        let got: BTreeSet<String> = r["unused"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| {
                format!(
                    "{} {}",
                    u["path"].as_str().unwrap(),
                    strings(&u["unused"])
                        .into_iter()
                        .collect::<Vec<_>>()
                        .join(",")
                )
            })
            .collect();
        assert_eq!(got, expected, "unused grants of {key}");

        // Every request the test made is reported as used with its operation.
        let used_report: BTreeSet<(String, String)> = r["used"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| {
                (
                    u["path"].as_str().unwrap().to_string(),
                    u["operation"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        for d in dids {
            let path = if d.method == "LIST" {
                format!("{}/", d.path)
            } else {
                d.path.clone()
            };
            assert!(
                used_report.contains(&(path.clone(), d.cap.to_string())),
                "{key}: {} {path} not reported as used: {used_report:?}",
                d.cap
            );
        }

        // The suggested policy, alone (plus default), on a new token.
        let sp = &r["suggested_policy"];
        let hcl = sp["hcl"].as_str().unwrap();
        let file = policy_dir.join(sp["file"].as_str().unwrap());
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            hcl,
            "{}",
            file.display()
        );
        let name = format!("suggested-{}", sp["name"].as_str().unwrap());
        server.write_policy(&name, hcl);
        let st = server.create_token(&[&name], false);
        let sc = server.client_with_token(&st);
        // sys/capabilities allows each logged request ...
        let paths: Vec<String> = dids
            .iter()
            .map(|d| {
                if d.method == "LIST" {
                    format!("{}/", d.path)
                } else {
                    d.path.clone()
                }
            })
            .collect();
        let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
        let caps = server.capabilities(&st, &refs);
        for (d, c) in dids.iter().zip(&caps) {
            // The default policy answers for lookup-self.
            assert!(
                c.iter().any(|x| x == d.cap),
                "{key}: suggested policy lacks {} on {}: {c:?}\n{hcl}",
                d.cap,
                d.path
            );
        }
        // ... and the requests themselves succeed (writes now update what the first run created).
        for d in dids {
            if d.path == "auth/token/create" {
                // A child token can only carry its parent's policies.
                let mut d = d.clone();
                d.body = Some(json!({"policies": [name], "ttl": "10m"}));
                perform(&sc, &d);
            } else {
                perform(&sc, d);
            }
        }
        // Nothing on any exported secret the role never used; on used secrets, only what was
        // used (a create also gets update).
        let sugg = server.capabilities(&st, &secret_paths);
        for (p, c) in secret_paths.iter().zip(&sugg) {
            let u = used.get(p).cloned().unwrap_or_default();
            let mut allowed: BTreeSet<&str> = u.clone();
            if u.contains("create") {
                allowed.insert("update");
            }
            for cap in c {
                assert!(
                    cap == "deny" || allowed.contains(cap.as_str()),
                    "{key}: suggested policy grants {cap} on {p}, used only {u:?}\n{hcl}"
                );
            }
            if u.is_empty() {
                assert_eq!(c, &["deny"], "{key}: {p} never used\n{hcl}");
            }
        }
        // A real request on a granted-but-unused secret is refused.
        if let Some(u) = r["unused"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| strings(&u["used"]).is_empty())
        {
            let p = u["path"].as_str().unwrap();
            assert_eq!(sc.try_get(p).unwrap_err().status, 403, "{key}: {p}");
        }
        // The denied request of the ci role is reported, not suggested.
        if *role == "ci" {
            let denied: Vec<&str> = r["denied"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["path"].as_str().unwrap())
                .collect();
            assert_eq!(denied, ["secret/data/payments/stripe"]);
            assert!(!hcl.contains("stripe"));
        }
    }

    // Child tokens are the batch role's.
    assert_eq!(by_key["auth/approle/role/batch"]["child_tokens"], 2);
    // Roles map to the pipelines they admit.
    assert_eq!(
        strings(&by_key["auth/gha/role/deploy"]["pipelines"]),
        BTreeSet::from(["payments-deploy".to_string()])
    );
    assert!(strings(&by_key["auth/gha/role/ci"]["pipelines"]).contains("ci"));
    let pipes: BTreeMap<&str, &Value> = report["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p))
        .collect();
    assert_eq!(pipes.len(), 4);
    // The ci role admits ci and web; only ci's entity logged in, so web used nothing.
    assert_eq!(
        strings(&by_key["auth/gha/role/ci"]["pipelines"]),
        BTreeSet::from(["ci".to_string(), "web".to_string()])
    );
    let ci_requests = by_key["auth/gha/role/ci"]["requests"].as_u64().unwrap();
    assert!(ci_requests > 0);
    assert_eq!(
        pipes["ci"]["roles"][0]["requests"].as_u64(),
        Some(ci_requests)
    );
    assert_eq!(pipes["web"]["roles"][0]["requests"], 0);
    assert_eq!(pipes["web"]["used"].as_array().unwrap().len(), 0);
    assert!(
        pipes["ci"]["roles"][0]["shared_with"].is_null(),
        "{:#}",
        pipes["ci"]
    );
    // Unused per pipeline: web used nothing of its reach; ci's equals the ci role's.
    let unused_paths = |v: &Value| -> BTreeSet<String> {
        v["unused"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| {
                format!(
                    "{} {}",
                    u["path"].as_str().unwrap(),
                    strings(&u["unused"])
                        .into_iter()
                        .collect::<Vec<_>>()
                        .join(",")
                )
            })
            .collect()
    };
    assert_eq!(
        unused_paths(pipes["ci"]),
        unused_paths(by_key["auth/gha/role/ci"])
    );
    assert!(pipes["web"]["unused"]
        .as_array()
        .unwrap()
        .iter()
        .all(|u| u["used"].as_array().unwrap().is_empty()));
    assert!(!pipes["web"]["unused"].as_array().unwrap().is_empty());

    // The token that logged in before the log began is unattributed, with its role hint.
    let un = report["unattributed"].as_array().unwrap();
    let early_group = un
        .iter()
        .find(|u| u["role_hint"] == "early")
        .unwrap_or_else(|| panic!("no unattributed group for the early token: {un:#?}"));
    assert_eq!(early_group["requests"], 1);
    assert_eq!(early_group["used"][0]["path"], "secret/data/ci/docker/hub");
    assert!(
        early_group["reason"]
            .as_str()
            .unwrap()
            .contains("before the logs begin"),
        "{early_group:#}"
    );
    // The root token's seeding and export requests are unattributed too.
    assert!(un.iter().any(|u| strings(&u["policies"]).contains("root")));

    // The table output runs.
    let o = Command::new(env!("CARGO_BIN_EXE_blastmap"))
        .args(["usage", "--snapshot"])
        .arg(&snap_path)
        .arg("--audit-log")
        .arg(&audit_log)
        .output()
        .unwrap();
    assert!(o.status.success());
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("role auth/gha/role/deploy"), "{table}");
    assert!(table.contains("granted but unused"), "{table}");
}
