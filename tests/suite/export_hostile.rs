//! `blastmap export` against a hostile server (`tests/suite/common/hostile.rs`): the token never
//! leaves its origin, every bound holds and is recorded as a coverage gap, server text cannot
//! drive the terminal, names are kept as returned, and echoed tokens never reach the snapshot.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use common::hostile::{self, Hostile, Limits, Reply, Seen};
use serde_json::Value;

/// The exporter's token in these tests (token-shaped, so both redactions apply).
const TOKEN: &str = "hvs.CAESIHostileTestsExporterToken0123456789";

fn exporter(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_blastmap"));
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("VAULT_") || k.starts_with("BAO_") || k.starts_with("BLASTMAP_") {
            cmd.env_remove(&k);
        }
    }
    cmd.env("HOME", home)
        .env("VAULT_TOKEN", TOKEN)
        .arg("export");
    cmd
}

struct Run {
    output: Output,
    snapshot: Option<Value>,
    snapshot_bytes: Vec<u8>,
    elapsed: Duration,
}

impl Run {
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    fn snapshot(&self) -> &Value {
        self.snapshot
            .as_ref()
            .unwrap_or_else(|| panic!("no snapshot; stderr:\n{}", self.stderr()))
    }

    /// The coverage gaps whose reason contains `text`.
    fn gaps_with(&self, text: &str) -> Vec<Value> {
        self.snapshot()["coverage"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|g| g["reason"].as_str().is_some_and(|r| r.contains(text)))
            .collect()
    }
}

fn run_export(address: &str, args: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snap.json");
    let start = Instant::now();
    let output = exporter(dir.path())
        .args(["--address", address, "--out"])
        .arg(&out)
        .args(["--retries", "0"])
        .args(args)
        .output()
        .unwrap();
    let elapsed = start.elapsed();
    let snapshot_bytes = std::fs::read(&out).unwrap_or_default();
    let snapshot =
        (!snapshot_bytes.is_empty()).then(|| serde_json::from_slice(&snapshot_bytes).unwrap());
    Run {
        output,
        snapshot,
        snapshot_bytes,
        elapsed,
    }
}

fn script(f: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> hostile::Script {
    Arc::new(f)
}

/// The requests of `server` on `path`.
fn requests_to(server: &Hostile, path: &str) -> Vec<Seen> {
    server
        .seen()
        .into_iter()
        .filter(|s| s.path() == path)
        .collect()
}

#[test]
fn redirects_stay_on_the_origin_and_the_token_never_leaves_it() {
    let other = Hostile::start(script(hostile::healthy), Limits::default());
    let other_addr = other.addr();
    let own_port: Arc<OnceLock<u16>> = Arc::new(OnceLock::new());
    let port = own_port.clone();
    let server = Hostile::start(
        script(move |seen| match seen.path() {
            // A standby's redirect to the same origin: followed.
            "sys/seal-status" if !seen.target.contains("moved") => {
                Reply::Redirect(307, "/v1/sys/seal-status?moved=1".into())
            }
            // Another port on the same host: refused.
            "sys/auth" => Reply::Redirect(307, format!("{other_addr}/v1/sys/auth")),
            // Another host name for the same address: refused.
            "sys/audit" => Reply::Redirect(
                302,
                format!("http://localhost:{}/v1/sys/audit", port.get().unwrap()),
            ),
            // Endless same-origin redirects: followed a few times, then refused.
            "sys/policies/detailed/acl" | "sys/policies/acl" => {
                Reply::Redirect(307, format!("/v1/{}", seen.path()))
            }
            _ => hostile::healthy(seen),
        }),
        Limits::default(),
    );
    own_port.set(server.port()).unwrap();
    let run = run_export(&server.addr(), &["--quiet"]);
    assert!(run.output.status.success(), "{}", run.stderr());

    let seal = requests_to(&server, "sys/seal-status");
    assert_eq!(
        seal.len(),
        2,
        "the same-origin redirect is followed once: {seal:?}"
    );
    assert!(
        other.seen().is_empty(),
        "nothing reached the other port: {:?}",
        other.seen()
    );

    let to_other = run.gaps_with(&format!("to {}/v1/sys/auth", other.addr()));
    assert_eq!(to_other.len(), 1, "{}", run.snapshot()["coverage"]);
    assert_eq!(to_other[0]["endpoint"], "sys/auth");
    assert_eq!(to_other[0]["status"], 307);
    let to_localhost = run.gaps_with("to http://localhost:");
    assert_eq!(to_localhost.len(), 1, "{}", run.snapshot()["coverage"]);
    assert_eq!(to_localhost[0]["endpoint"], "sys/audit");
    // The original request and three same-origin redirects, then a gap.
    for path in ["sys/policies/detailed/acl", "sys/policies/acl"] {
        let loops = requests_to(&server, path);
        assert_eq!(loops.len(), 4, "{loops:?}");
    }
    assert!(!run
        .gaps_with("redirected (HTTP 307) to http://127.0.0.1")
        .is_empty());
    // Every request carried the token; the token is nowhere in the snapshot.
    assert!(server
        .seen()
        .iter()
        .all(|s| s.token.as_deref() == Some(TOKEN)));
    assert!(!String::from_utf8_lossy(&run.snapshot_bytes).contains("ExporterToken"));
}

#[test]
fn https_never_redirects_to_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    let Some(tls) = hostile::self_signed(dir.path()) else {
        panic!("the openssl command is needed to make the test certificate");
    };
    let ca = dir.path().join("cert.pem");
    let plain = Hostile::start(script(hostile::healthy), Limits::default());
    let plain_addr = plain.addr();
    let server = Hostile::start_tls(
        script(move |seen| match seen.path() {
            "sys/seal-status" => Reply::Redirect(
                308,
                format!("{plain_addr}/v1/sys/seal-status?user=a&token=leak"),
            ),
            _ => hostile::healthy(seen),
        }),
        Limits::default(),
        &tls,
    );
    // A password and a query in the address must not be printed either.
    let address = server
        .addr()
        .replace("https://", "https://reviewer:S3cretPassw0rd@")
        + "/?sig=QuerySecret";
    let run = run_export(&address, &["--quiet", "--ca-cert", ca.to_str().unwrap()]);
    assert_eq!(run.output.status.code(), Some(2), "{}", run.stderr());
    assert!(run.snapshot.is_none());
    let stderr = run.stderr();
    assert!(
        stderr.contains(&format!(
            "redirected (HTTP 308) to {}/v1/sys/seal-status",
            plain.addr()
        )),
        "{stderr}"
    );
    for secret in [
        "S3cretPassw0rd",
        "QuerySecret",
        "token=leak",
        "ExporterToken",
    ] {
        assert!(!stderr.contains(secret), "{secret} printed: {stderr}");
    }
    assert_eq!(requests_to(&server, "sys/seal-status").len(), 1);
    assert!(
        plain.seen().is_empty(),
        "the plain-http listener was contacted: {:?}",
        plain.seen()
    );
}

#[test]
fn huge_answers_are_abandoned_and_recorded() {
    const HUGE: u64 = 200 * 1024 * 1024;
    let server = Hostile::start(
        script(|seen| match seen.path() {
            // Declared too large: refused before reading.
            "sys/auth" => Reply::Flood {
                bytes: HUGE,
                declare_length: true,
            },
            // No declared length: abandoned once past the limit.
            "sys/audit" => Reply::Flood {
                bytes: HUGE,
                declare_length: false,
            },
            _ => hostile::healthy(seen),
        }),
        Limits::default(),
    );
    let run = run_export(&server.addr(), &["--quiet", "--max-response-mib", "1"]);
    assert!(run.output.status.success(), "{}", run.stderr());
    let gaps = run.gaps_with("larger than the response limit of 1 MiB");
    let endpoints: Vec<&str> = gaps.iter().filter_map(|g| g["endpoint"].as_str()).collect();
    assert!(endpoints.contains(&"sys/auth"), "{gaps:?}");
    assert!(endpoints.contains(&"sys/audit"), "{gaps:?}");
    // The exporter stopped reading: far less than the 400 MB offered was ever sent (what is
    // sent beyond 1 MiB sits in socket buffers).
    let sent = server.body_bytes_sent();
    assert!(sent < 32 * 1024 * 1024, "{sent} bytes were sent");
    assert!(
        run.stderr().contains("--max-response-mib"),
        "{}",
        run.stderr()
    );
}

/// A KV tree of folders only, ten per level, forever.
fn endless_folders(seen: &Seen) -> Reply {
    if seen.method == "LIST" && seen.path().starts_with("secret/metadata/") {
        let keys: Vec<String> = (0..10).map(|i| format!("\"f{i}/\"")).collect();
        return Reply::Json(
            200,
            format!("{{\"data\":{{\"keys\":[{}]}}}}", keys.join(",")),
        );
    }
    hostile::healthy(seen)
}

#[test]
fn endless_folders_are_bounded_by_the_kv_flags() {
    let server = Hostile::start(script(endless_folders), Limits::default());
    let run = run_export(
        &server.addr(),
        &["--quiet", "--kv-max-keys", "10", "--kv-max-depth", "4"],
    );
    assert!(run.output.status.success(), "{}", run.stderr());
    let lists = server
        .seen()
        .into_iter()
        .filter(|s| s.method == "LIST" && s.path().starts_with("secret/metadata/"))
        .count();
    assert!(lists <= 11, "{lists} LISTs for --kv-max-keys 10");
    let mount = &run.snapshot()["namespaces"][0]["secret_mounts"][0]["secrets"];
    assert_eq!(mount["listing"]["status"], "truncated", "{mount}");
    assert!(mount["keys"].as_array().unwrap().len() <= 10, "{mount}");
}

#[test]
fn the_request_budget_holds_and_is_recorded() {
    let server = Hostile::start(script(endless_folders), Limits::default());
    let run = run_export(&server.addr(), &["--quiet", "--max-requests", "25"]);
    assert!(run.output.status.success(), "{}", run.stderr());
    assert!(
        server.seen().len() <= 25,
        "{} requests",
        server.seen().len()
    );
    assert!(
        !run.gaps_with("request limit of 25 requests (--max-requests)")
            .is_empty(),
        "{}",
        run.snapshot()["coverage"]
    );
}

#[test]
fn slow_drips_are_cut_off_by_the_timeout() {
    let server = Hostile::start(
        script(|seen| match seen.path() {
            "sys/audit" => Reply::Drip {
                interval: Duration::from_millis(200),
                bytes: 600,
            },
            _ => hostile::healthy(seen),
        }),
        Limits::default(),
    );
    let run = run_export(&server.addr(), &["--quiet", "--timeout", "1"]);
    assert!(run.output.status.success(), "{}", run.stderr());
    assert!(run.elapsed < Duration::from_secs(20), "{:?}", run.elapsed);
    let gaps = run.gaps_with("within the timeout of 1s");
    assert_eq!(gaps.len(), 1, "{}", run.snapshot()["coverage"]);
    assert_eq!(gaps[0]["endpoint"], "sys/audit");
}

#[test]
fn hostile_names_and_texts_are_kept_exact_or_refused_and_never_raw_on_stderr() {
    let server = Hostile::start(
        script(|seen| match (seen.method.as_str(), seen.path()) {
            ("GET", "sys/namespaces") if seen.target.contains("scan=true") => Reply::Json(
                200,
                r#"{"data":{"keys":["ok/","evil\u001b[2J/","../","/lead/"]}}"#.into(),
            ),
            ("LIST", "secret/metadata/") => Reply::Json(
                200,
                r#"{"data":{"keys":["a?b","c#d","p%2F/","../","k e y"]}}"#.into(),
            ),
            ("LIST", "secret/metadata/p%252F/") => {
                Reply::Json(200, r#"{"data":{"keys":["inner"]}}"#.into())
            }
            ("GET", "sys/auth") => Reply::Json(
                403,
                r#"{"errors":["permission denied \u001b]52;c;ZXZpbA==\u0007\r\nCRITICAL forged"]}"#
                    .into(),
            ),
            _ => hostile::healthy(seen),
        }),
        Limits::default(),
    );
    let run = run_export(&server.addr(), &[]);
    assert!(run.output.status.success(), "{}", run.stderr());
    let stderr = run.stderr();
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\u{7}') && !stderr.contains('\r'),
        "raw control characters on stderr: {stderr:?}"
    );
    assert!(stderr.contains("\\x1b]52;c;"), "{stderr}");

    let snap = run.snapshot();
    let paths: Vec<&str> = snap["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["path"].as_str())
        .collect();
    assert_eq!(paths, ["", "ok/"], "only the valid namespace is exported");
    let refused = run.gaps_with("not a valid namespace name");
    assert_eq!(refused.len(), 3, "{}", snap["coverage"]);
    assert!(
        refused.iter().any(|g| g["object"] == "evil\\x1b[2J/"),
        "{refused:?}"
    );

    // KV names are recorded exactly as listed, and requested exactly (percent-encoded).
    let keys = &snap["namespaces"][0]["secret_mounts"][0]["secrets"]["keys"];
    for key in ["a?b", "c#d", "p%2F/inner", "k e y"] {
        assert!(
            keys.as_array().unwrap().iter().any(|k| k == key),
            "{key} in {keys}"
        );
    }
    assert!(server
        .seen()
        .iter()
        .any(|s| s.target == "/v1/secret/metadata/p%252F/"));
    // `../` cannot be requested without naming another folder: recorded unexpanded, with a gap.
    assert!(
        keys.as_array().unwrap().iter().any(|k| k == "../"),
        "{keys}"
    );
    assert!(
        !run.gaps_with(". or .. segment").is_empty(),
        "{}",
        snap["coverage"]
    );
    assert!(server.seen().iter().all(|s| !s.target.contains("/../")));
}

#[test]
fn echoed_tokens_never_reach_the_snapshot() {
    let echoed = [
        "hvs.CAESIEchoedServiceTokenAbCdEfGhIjKlMnOp",
        "hvb.AAAAAQEchoedBatchTokenAbCdEfGhIjKlMnOp",
        "s.EchoedLegacyTokenAbCdEfG",
        "b.AAAAAQEchoedOpenBaoBatchTokenXyZ",
        "r.EchoedRecoveryTokenAbCdEfG",
    ];
    let mounts = format!(
        r#"{{"data":{{"secret/":{{"type":"kv","accessor":"kv_1","options":{{"version":"2"}},
        "config":{{}},"description":"token {} and {} and mine {TOKEN}"}}}}}}"#,
        echoed[0], echoed[2]
    );
    let keys = format!(
        r#"{{"data":{{"keys":["{}","{}","{}","plain"]}}}}"#,
        echoed[1], echoed[3], echoed[4]
    );
    let server = Hostile::start(
        script(move |seen| match (seen.method.as_str(), seen.path()) {
            (_, "sys/mounts") => Reply::Json(200, mounts.clone()),
            ("LIST", "secret/metadata/") => Reply::Json(200, keys.clone()),
            _ => hostile::healthy(seen),
        }),
        Limits::default(),
    );
    let run = run_export(&server.addr(), &["--quiet"]);
    assert!(run.output.status.success(), "{}", run.stderr());
    let bytes = String::from_utf8_lossy(&run.snapshot_bytes);
    for token in echoed.iter().chain([&TOKEN]) {
        let body = token.split_once('.').unwrap().1;
        assert!(!bytes.contains(body), "{token} is in the snapshot");
    }
    let mount = &run.snapshot()["namespaces"][0]["secret_mounts"][0];
    assert!(
        mount["description"]
            .as_str()
            .unwrap()
            .contains("<redacted>"),
        "{mount}"
    );
    assert!(mount["secrets"]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k == "plain"));
}
