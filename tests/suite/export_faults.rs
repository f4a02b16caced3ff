//! `blastmap export` when things go wrong: endpoints the token may not read (coverage, export
//! completes), a server that dies mid-export, a sealed server, a bad token, no server at all
//! (clear error, exit 2, no file, an older snapshot left intact), and the KV bounds.

use crate::common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use common::seed::{self, EXPORTER_POLICY_NAME};
use common::BaoServer;
use serde_json::{json, Value};

fn exporter(home: &Path) -> Command {
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

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// No snapshot and no temporary file left in `dir` (besides `keep`).
fn assert_no_output(dir: &Path, keep: &[&str]) {
    let left: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !keep.contains(&n.as_str()))
        .collect();
    assert!(left.is_empty(), "files left behind: {left:?}");
}

#[test]
fn denied_endpoints_become_coverage_gaps_and_the_export_completes() {
    let server = BaoServer::start();
    let estate = seed::seed(&server);
    server.write_policy(
        "no-identity-no-approle",
        r#"
path "identity/entity/id/+" { capabilities = ["deny"] }
path "auth/approle/role/+" { capabilities = ["deny"] }
path "kv1/app/" { capabilities = ["deny"] }
path "team-a/sys/auth" { capabilities = ["deny"] }
"#,
    );
    let token = server.create_token(&[EXPORTER_POLICY_NAME, "no-identity-no-approle"], true);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snap.json");
    let o = exporter(dir.path())
        .args(["--address", server.addr(), "--out"])
        .arg(&out)
        .env("BAO_TOKEN", &token)
        .output()
        .unwrap();
    let err = text(&o.stderr);
    assert!(o.status.success(), "{err}");
    let snap: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let gaps: Vec<(String, String, String, u64, String, String)> = snap["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["namespace"].as_str().unwrap().to_owned(),
                g["endpoint"].as_str().unwrap().to_owned(),
                g["operation"].as_str().unwrap().to_owned(),
                g["status"].as_u64().unwrap(),
                g["affects"].as_str().unwrap().to_owned(),
                g["mount"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let s = |x: &str| x.to_owned();
    assert_eq!(
        gaps,
        vec![
            (
                s(""),
                s("auth/approle/role"),
                s("list"),
                403,
                s("roles"),
                s("auth/approle/")
            ),
            (
                s(""),
                s("identity/entity/id"),
                s("list"),
                403,
                s("entities"),
                s("")
            ),
            (
                s(""),
                s("kv1/app/"),
                s("list"),
                403,
                s("secrets"),
                s("kv1/")
            ),
            (
                s("team-a/"),
                s("sys/auth"),
                s("read"),
                403,
                s("auth_mounts"),
                s("")
            ),
        ],
        "stderr:\n{err}"
    );
    assert!(snap["coverage"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("permission denied"));
    // What could be read is there; what could not is marked.
    let got = seed::facts(&snap);
    assert!(got.contains("policy  payments-read"));
    assert!(got.contains("key  kv1/ top") && got.contains("key  kv1/ app/"));
    assert!(got.contains("listing  kv1/ partial"));
    assert!(!got.iter().any(|f| f.starts_with("entity  ")));
    assert!(got.contains("entity team-a/ team-a-bot policies=team-a-read metadata={}"));
    assert!(got.contains("key team-a/ kv/ app/db/password"));
    // The summary says what is missing.
    assert!(
        err.contains("warning: 4 endpoint(s) could not be read"),
        "{err}"
    );
    assert!(err.contains("namespace root: entities unknown"), "{err}");
    assert!(
        err.contains("namespace team-a/: auth_mounts unknown"),
        "{err}"
    );
    assert!(!err.contains(&token) && !std::fs::read_to_string(&out).unwrap().contains(&token));
    for c in &estate.canaries {
        assert!(!err.contains(c.as_str()));
    }
}

/// A TCP proxy to the server that, once it has forwarded a request for `trigger` `after`
/// times, cuts every connection and refuses to forward anything more: from the exporter's side
/// the server died at that moment.
struct KillSwitchProxy {
    port: u16,
    fired: mpsc::Receiver<()>,
}

impl KillSwitchProxy {
    fn start(server_port: u16, trigger: &'static [u8], after: usize) -> KillSwitchProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let dead = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (tx, fired) = mpsc::channel();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(client) = conn else { continue };
                if dead.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(upstream) = TcpStream::connect(("127.0.0.1", server_port)) else {
                    continue;
                };
                let (dead2, seen2, tx2) = (dead.clone(), seen.clone(), tx.clone());
                let (mut c_read, mut u_write) =
                    (client.try_clone().unwrap(), upstream.try_clone().unwrap());
                let (c_kill, u_kill) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
                // client -> server, watching for the trigger.
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16 * 1024];
                    loop {
                        let n = match c_read.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        let hits = buf[..n]
                            .windows(trigger.len())
                            .filter(|w| *w == trigger)
                            .count();
                        if hits > 0 && seen2.fetch_add(hits, Ordering::SeqCst) + hits >= after {
                            dead2.store(true, Ordering::SeqCst);
                            let _ = tx2.send(());
                        }
                        if dead2.load(Ordering::SeqCst) {
                            break;
                        }
                        if u_write.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = c_kill.shutdown(Shutdown::Both);
                    let _ = u_kill.shutdown(Shutdown::Both);
                });
                // server -> client.
                let (mut u_read, mut c_write) = (upstream, client);
                let dead3 = dead.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16 * 1024];
                    loop {
                        let n = match u_read.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if dead3.load(Ordering::SeqCst) || c_write.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = c_write.shutdown(Shutdown::Both);
                });
            }
        });
        KillSwitchProxy { port, fired }
    }
}

#[test]
fn server_stopped_mid_export_gives_a_clean_error_and_no_file() {
    let server = BaoServer::start();
    let estate = seed::seed(&server);
    // Cut the server off at the third KV metadata LIST, in the middle of the inventory.
    let proxy = KillSwitchProxy::start(server.port(), b"/metadata/", 3);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snap.json");
    let child = exporter(dir.path())
        .args(["--address", &format!("http://127.0.0.1:{}", proxy.port)])
        .args(["--concurrency", "1", "--retries", "2", "--out"])
        .arg(&out)
        .env("VAULT_TOKEN", server.root_token())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    proxy
        .fired
        .recv_timeout(Duration::from_secs(60))
        .expect("the export never reached the KV inventory");
    // The server really goes away too.
    drop(server);
    let o: Output = child.wait_with_output().unwrap();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "stderr:\n{err}");
    assert!(
        err.contains("the server stopped answering during the export")
            && err.contains("no snapshot was written"),
        "{err}"
    );
    assert!(text(&o.stdout).is_empty());
    assert_no_output(dir.path(), &[]);
    for c in &estate.canaries {
        assert!(!err.contains(c.as_str()));
    }
}

#[test]
fn sealed_server_bad_token_and_no_server_are_clear_errors() {
    let server = BaoServer::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snap.json");
    // An older snapshot at the same path must survive every failed export.
    std::fs::write(&out, "previous snapshot").unwrap();
    let run = |args: &[&str], token: &str| -> (Option<i32>, String) {
        let o = exporter(dir.path())
            .args(args)
            .arg("--out")
            .arg(&out)
            .env("VAULT_TOKEN", token)
            .output()
            .unwrap();
        assert!(text(&o.stdout).is_empty());
        (o.status.code(), text(&o.stderr))
    };

    // A token the server does not know.
    let bogus = "s.BOGUSTOKEN0123456789abcdef";
    let (code, err) = run(&["--address", server.addr()], bogus);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("the server refused the token from $VAULT_TOKEN"),
        "{err}"
    );
    assert!(!err.contains(bogus), "{err}");

    // Nothing listening.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let addr = format!("http://127.0.0.1:{port}");
    let (code, err) = run(&["--address", &addr, "--retries", "1"], server.root_token());
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!("cannot reach the server at {addr}")),
        "{err}"
    );

    // Sealed.
    server.put("sys/seal", &json!({}));
    let (code, err) = run(&["--address", server.addr()], server.root_token());
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("is sealed"), "{err}");
    assert!(!err.contains(server.root_token()), "{err}");

    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous snapshot");
    assert_no_output(dir.path(), &["snap.json"]);
}

#[test]
fn kv_bounds_no_kv_and_namespace_scope() {
    let server = BaoServer::start();
    seed::seed(&server);
    let dir = tempfile::tempdir().unwrap();
    let export_env = |args: &[&str], env: &[(&str, &str)]| -> Value {
        let out = dir.path().join("snap.json");
        let o = exporter(dir.path())
            .args(["--address", server.addr(), "--quiet", "--out"])
            .arg(&out)
            .args(args)
            .env("VAULT_TOKEN", server.root_token())
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o.stderr));
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap()
    };
    let export = |args: &[&str]| export_env(args, &[]);
    let secret_mount = |snap: &Value| -> Value {
        snap["namespaces"][0]["secret_mounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["path"] == "secret/")
            .unwrap()["secrets"]
            .clone()
    };

    let snap = export(&["--kv-max-depth", "2"]);
    let s = secret_mount(&snap);
    assert_eq!(s["listing"]["status"], "truncated");
    assert_eq!(s["listing"]["max_depth"], 2);
    assert_eq!(
        s["keys"],
        json!([
            "ci/shared/",
            "deep/a/",
            "payments/db",
            "payments/stripe-api-key",
            "readme"
        ])
    );
    assert_eq!(snap["scope"]["kv_max_depth"], 2);

    let snap = export(&["--kv-max-keys", "2"]);
    let s = secret_mount(&snap);
    assert_eq!(s["listing"]["status"], "truncated");
    let keys: Vec<&str> = s["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    let leaves = keys.iter().filter(|k| !k.ends_with('/')).count();
    assert!(leaves <= 2, "{keys:?}");
    assert!(
        keys.iter().any(|k| k.ends_with('/')),
        "unexpanded folders recorded: {keys:?}"
    );

    let snap = export(&["--no-kv"]);
    let s = secret_mount(&snap);
    assert_eq!(s["listing"]["status"], "not_listed");
    assert!(s["keys"].is_null());
    assert!(snap["scope"].get("kv_max_depth").is_none());
    // Other engines are still listed.
    let transit = snap["namespaces"][0]["secret_mounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["path"] == "transit/")
        .unwrap();
    assert_eq!(
        transit["secrets"]["collections"]["keys"],
        json!(["ci-signing", "payments"])
    );

    // A subtree: VAULT_NAMESPACE as the CLIs read it.
    let snap = export_env(&[], &[("VAULT_NAMESPACE", "team-a")]);
    let paths: Vec<&str> = snap["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["team-a/", "team-a/sub/"]);
    assert_eq!(snap["scope"]["namespace"], "team-a/");
    assert!(snap["coverage"].as_array().is_none_or(|c| c.is_empty()));
    let ids: Vec<&str> = snap["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert!(ids.iter().all(|i| !i.is_empty() && *i != "root"), "{ids:?}");
    let facts = seed::facts(&snap);
    assert!(facts.contains("key team-a/ kv/ app/db/password"));
    assert!(facts.contains("key team-a/sub/ legacy/ x/y"));
}
