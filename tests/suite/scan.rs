//! `blastmap scan`: the five files of a first review, each equal to what the single command
//! writes; discovery merged into a hand-written inventory; a scan without inventory; the gate;
//! refusals before any work; and a scan of a live OpenBao whose token appears nowhere.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const DEMO_SNAPSHOT: &str = "fixtures/demo/snapshot.json";
const DEMO_PIPELINES: &str = "fixtures/demo/pipelines.yaml";

fn blastmap(args: &[&str]) -> Output {
    common::discovered::run(args)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn scan_demo(out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "scan",
        "--snapshot",
        DEMO_SNAPSHOT,
        "--pipelines",
        DEMO_PIPELINES,
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    blastmap(&args)
}

fn rule_ids(sarif: &Value) -> Vec<String> {
    let mut ids: Vec<String> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn a_scan_writes_what_the_single_commands_write() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("review");
    let out = scan_demo(&out_dir, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // The snapshot is the user's file, byte for byte, private.
    let copied = out_dir.join("snapshot.json");
    assert_eq!(
        std::fs::read(&copied).unwrap(),
        std::fs::read(Path::new(ROOT).join(DEMO_SNAPSHOT)).unwrap()
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&copied).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    // findings.json equals `findings --format json` on the scan's own files.
    let inventory = out_dir.join("pipelines.yaml");
    let single = blastmap(&[
        "findings",
        "--snapshot",
        DEMO_SNAPSHOT,
        "--pipelines",
        DEMO_PIPELINES,
        "--format",
        "json",
    ]);
    let expected: Value = serde_json::from_slice(&single.stdout).unwrap();
    assert_eq!(json(&out_dir.join("findings.json")), expected);
    let again = blastmap(&[
        "findings",
        "--snapshot",
        copied.to_str().unwrap(),
        "--pipelines",
        inventory.to_str().unwrap(),
        "--format",
        "sarif",
    ]);
    let sarif_expected: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(json(&out_dir.join("findings.sarif")), sarif_expected);
    assert!(!rule_ids(&sarif_expected).is_empty());

    let report = std::fs::read_to_string(out_dir.join("report.html")).unwrap();
    assert!(report.starts_with("<!DOCTYPE html>"), "{}", &report[..60]);
    assert!(
        report.contains("payments"),
        "the report names the demo's teams"
    );

    let text = stdout(&out);
    let starts: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .take(5)
        .collect();
    assert_eq!(
        starts,
        ["snapshot", "inventory", "findings", "report", "next:"]
    );
    assert!(
        text.contains("(16 pipeline(s), from --pipelines)"),
        "{text}"
    );
    assert!(text.contains("critical"), "{text}");
    assert!(
        text.contains(&format!(
            "blastmap reach --snapshot {} --pipelines {} --pipeline NAME",
            copied.display(),
            inventory.display()
        )),
        "{text}"
    );
}

#[test]
fn discovered_pipelines_are_merged_into_the_hand_written_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("merged");
    let out = scan_demo(
        &out_dir,
        &[
            "--github",
            "fixtures/discover/github/payments",
            "--repo",
            "acme/payments",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let inventory = std::fs::read_to_string(out_dir.join("pipelines.yaml")).unwrap();
    assert!(
        inventory.starts_with("# Pipeline inventory written by `blastmap scan` (discovered"),
        "{inventory}"
    );
    // The demo's twelve pipelines and the twelve discovered ones.
    let merged = blastmap(&[
        "reach",
        "--snapshot",
        DEMO_SNAPSHOT,
        "--pipelines",
        out_dir.join("pipelines.yaml").to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(merged.status.code(), Some(0), "{}", stderr(&merged));
    let reach: Value = serde_json::from_slice(&merged.stdout).unwrap();
    let names: Vec<&str> = reach["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 28, "{names:?}");
    assert!(names.contains(&"acme/payments/deploy/deploy"), "{names:?}");
    assert!(
        stdout(&out).contains("(28 pipeline(s), 12 discovered, merged into --pipelines)"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn without_an_inventory_the_scan_reports_role_level_reach_and_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("roles");
    let out = blastmap(&[
        "scan",
        "--snapshot",
        DEMO_SNAPSHOT,
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!out_dir.join("pipelines.yaml").exists());
    for file in [
        "snapshot.json",
        "findings.json",
        "findings.sarif",
        "report.html",
    ] {
        assert!(out_dir.join(file).is_file(), "{file}");
    }
    let text = stdout(&out);
    assert!(text.contains("inventory  none"), "{text}");
    assert!(text.contains("role-level reach ("), "{text}");
    assert!(text.contains("Without a pipeline inventory"), "{text}");
    assert!(
        !text.contains("blastmap reach"),
        "reach needs an inventory: {text}"
    );
    // Role lines: a count of secrets, then a role path.
    let roles: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(" secret(s)  "))
        .collect();
    assert!(!roles.is_empty(), "{text}");
    assert!(roles.iter().all(|l| l.contains("auth/")), "{roles:?}");
    // Only rules that need no pipeline fire.
    let findings = json(&out_dir.join("findings.json"));
    for f in findings["findings"].as_array().unwrap() {
        assert!(
            f["subject"]["kind"].as_str() != Some("pipeline"),
            "a pipeline finding without an inventory: {f}"
        );
    }
}

#[test]
fn fail_on_gates_after_every_file_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("gate");
    let out = scan_demo(&out_dir, &["--fail-on", "high"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    for file in [
        "snapshot.json",
        "pipelines.yaml",
        "findings.json",
        "findings.sarif",
        "report.html",
    ] {
        assert!(out_dir.join(file).is_file(), "{file}");
    }
}

#[test]
fn a_scan_needs_exactly_one_estate() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("x");
    let none = blastmap(&["scan", "--out", out_dir.to_str().unwrap()]);
    assert_eq!(none.status.code(), Some(2));
    assert!(stderr(&none).contains("--address"), "{}", stderr(&none));
    let both = blastmap(&[
        "scan",
        "--address",
        "https://127.0.0.1:1",
        "--snapshot",
        DEMO_SNAPSHOT,
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(both.status.code(), Some(2));
    assert!(!out_dir.exists(), "nothing is written on a usage error");
}

#[test]
fn an_unwritable_target_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("blocked");
    std::fs::create_dir(&out_dir).unwrap();
    // A directory where the report goes: the scan stops before it copies or exports anything.
    std::fs::create_dir(out_dir.join("report.html")).unwrap();
    let out = scan_demo(&out_dir, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("report.html"), "{}", stderr(&out));
    assert!(!out_dir.join("snapshot.json").exists());

    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let out = scan_demo(&file, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot create the output directory"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn suggested_commands_quote_file_names_for_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir: PathBuf = dir.path().join("my review $(id)");
    let out = scan_demo(&out_dir, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let quoted = format!("'{}/report.html'", out_dir.display());
    assert!(
        stdout(&out).contains(&format!("open {quoted}")),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_scan_of_a_live_server_exports_it_and_the_token_appears_nowhere() {
    // The dev server mounts KV v2 at secret/.
    let server = common::BaoServer::start();
    server.write_policy(
        "app-read",
        "path \"secret/data/app/*\" { capabilities = [\"read\"] }\n",
    );
    server.post("sys/auth/approle", &serde_json::json!({"type": "approle"}));
    server.post(
        "auth/approle/role/app",
        &serde_json::json!({"token_policies": ["app-read"]}),
    );
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("live");
    let mut cmd = Command::cargo_bin("blastmap").unwrap();
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("VAULT_") || k.starts_with("BAO_") {
            cmd.env_remove(&k);
        }
    }
    let out = cmd
        .current_dir(ROOT)
        .env("HOME", server.dir())
        .env("BAO_TOKEN", server.root_token())
        .args(["scan", "--quiet", "--address", server.addr(), "--out"])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let snapshot = json(&out_dir.join("snapshot.json"));
    assert_eq!(snapshot["server"]["address"], server.addr());
    let text = stdout(&out);
    assert!(text.contains("exported from"), "{text}");
    assert!(
        text.contains("auth/approle/role/app"),
        "the role-level reach: {text}"
    );
    let token = server.root_token();
    assert!(!text.contains(token) && !stderr(&out).contains(token));
    for entry in std::fs::read_dir(&out_dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(token),
            "the token is in {}",
            path.display()
        );
    }
}
