//! The `blastmap capabilities` command line contract.

use std::fs;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn blastmap() -> Command {
    Command::cargo_bin("blastmap").expect("binary")
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.path().join(name);
    fs::write(&p, text).unwrap();
    p
}

#[test]
fn json_output_is_one_object_per_path_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let ci = write(
        &dir,
        "ci.hcl",
        "path \"secret/data/ci/*\" { capabilities = [\"read\", \"list\"] }\n\
         path \"secret/data/ci/prod/*\" { capabilities = [\"deny\"] }",
    );
    let ops = write(
        &dir,
        "Ops.json",
        r#"{"path": {"secret/data/ci/*": {"capabilities": ["update"]}}}"#,
    );
    let out = blastmap()
        .args(["capabilities", "--format", "json", "--policy-file"])
        .arg(&ci)
        .arg(&ops)
        .args([
            "--path",
            "secret/data/ci/app",
            "secret/data/ci/prod/db",
            "other/path",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 3);
    assert_eq!(arr[0]["path"], "secret/data/ci/app");
    assert_eq!(
        arr[0]["capabilities"],
        serde_json::json!(["list", "read", "update"])
    );
    let by: Vec<&str> = arr[0]["granted_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["policy"].as_str().unwrap())
        .collect();
    assert_eq!(
        by,
        ["ci", "ops"],
        "policy names are the lowercased file stems"
    );
    assert_eq!(arr[0]["granted_by"][0]["rule"], "secret/data/ci/*");
    assert_eq!(arr[1]["capabilities"], serde_json::json!(["deny"]));
    assert_eq!(arr[1]["granted_by"][0]["rule"], "secret/data/ci/prod/*");
    assert_eq!(arr[2]["capabilities"], serde_json::json!(["deny"]));
    assert_eq!(arr[2]["granted_by"], serde_json::json!([]));
}

#[test]
fn paths_file_and_table_format() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir,
        "kv.hcl",
        "path \"kv/+/config\" {\n  capabilities = [\"read\"]\n}\n",
    );
    let paths = write(&dir, "paths.txt", "kv/a/config\r\n\nkv/a/b/config\n");
    blastmap()
        .args(["capabilities", "--policy-file"])
        .arg(&p)
        .arg("--paths-file")
        .arg(&paths)
        .assert()
        .success()
        .stdout(predicate::str::contains("kv/a/config"))
        .stdout(predicate::str::contains(
            "kv (path \"kv/+/config\", line 1)",
        ))
        .stdout(predicate::str::contains("kv/a/b/config"));
}

#[test]
fn refused_policy_exits_non_zero_with_reason() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir,
        "bad.hcl",
        "path \"secret/+*\" {\n  capabilities = [\"read\"]\n}\n",
    );
    blastmap()
        .args(["capabilities", "--policy-file"])
        .arg(&p)
        .args(["--path", "secret/x"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("bad.hcl"))
        .stderr(predicate::str::contains("invalid use of wildcards"))
        .stderr(predicate::str::contains("line 1"));
}

#[test]
fn malformed_hcl_names_file_and_position() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir,
        "broken.hcl",
        "path \"a\" {\n  capabilities = [\"read\"\n",
    );
    blastmap()
        .args(["capabilities", "--policy-file"])
        .arg(&p)
        .args(["--path", "a"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("broken.hcl"))
        .stderr(predicate::str::contains("failed to parse policy"));
}

#[test]
fn missing_file_is_a_clear_error() {
    blastmap()
        .args([
            "capabilities",
            "--policy-file",
            "/nonexistent/p.hcl",
            "--path",
            "x",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cannot read policy file /nonexistent/p.hcl",
        ));
}

#[test]
fn vault_flavor_changes_list_fallback_order() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir,
        "kv.hcl",
        "path \"foo/metadata/*\" { capabilities = [\"list\"] }\n\
         path \"foo/metadata/private/*\" { capabilities = [\"deny\"] }\n",
    );
    let run = |flavor: &str| -> Value {
        let out = blastmap()
            .args([
                "capabilities",
                "--format",
                "json",
                "--flavor",
                flavor,
                "--policy-file",
            ])
            .arg(&p)
            .args(["--path", "foo/metadata/private/"])
            .output()
            .unwrap();
        assert!(out.status.success());
        serde_json::from_slice(&out.stdout).unwrap()
    };
    assert_eq!(
        run("openbao")[0]["capabilities"],
        serde_json::json!(["deny"])
    );
    assert_eq!(run("vault")[0]["capabilities"], serde_json::json!(["list"]));
}

#[test]
fn templated_rules_without_an_entity_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir,
        "tpl.hcl",
        "path \"secret/data/{{identity.entity.name}}/*\" { capabilities = [\"read\"] }\n",
    );
    blastmap()
        .args(["capabilities", "--policy-file"])
        .arg(&p)
        .args(["--path", "secret/data/x/y"])
        .assert()
        .success()
        .stderr(predicate::str::contains("identity template not resolved"));
}
