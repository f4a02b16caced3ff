//! The README's promise: its first command runs the main job on the demo estate (findings of
//! every family, then the HTML report), its second is the test command `.ci/run` runs.

use std::collections::BTreeSet;
use std::path::Path;

use assert_cmd::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The first two ```sh blocks of the README.
fn commands() -> (String, String) {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    let mut blocks = readme
        .split("```sh\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap().trim().to_string());
    (blocks.next().unwrap(), blocks.next().unwrap())
}

#[test]
fn the_first_command_shows_every_family_and_writes_the_report() {
    let (demo, _) = commands();
    assert_eq!(demo.lines().count(), 1, "one command line: {demo}");
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.html");
    let mut ran = Vec::new();
    for part in demo.split("&&") {
        let words: Vec<&str> = part.split_whitespace().collect();
        let args = words
            .strip_prefix(&["cargo", "run", "--quiet", "--"])
            .unwrap_or_else(|| panic!("not a `cargo run` of blastmap: {part}"));
        let mut args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        // Write the report into a temporary directory, not into the work tree.
        if let Some(i) = args.iter().position(|a| a == "--out") {
            args[i + 1] = report.to_str().unwrap().to_string();
        }
        let out = Command::cargo_bin("blastmap")
            .unwrap()
            .current_dir(ROOT)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{part}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        ran.push((args[0].clone(), String::from_utf8(out.stdout).unwrap()));
    }
    let commands: Vec<&str> = ran.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(commands, ["findings", "report"]);
    let families: BTreeSet<&str> = ran[0]
        .1
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter_map(|rule| rule.split_once('.').map(|(family, _)| family))
        .collect();
    for family in [
        "identity-isolation",
        "least-privilege",
        "token-ttl",
        "bootstrap-credentials",
        "exposure",
        "workload-constraints",
        "team-isolation",
        "escalation",
    ] {
        assert!(
            families.contains(family),
            "no {family} finding in the demo: {families:?}"
        );
    }
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") || html.starts_with("<!doctype html>"));
    assert!(html.contains("payments-deploy"));
}

#[test]
fn the_second_command_is_what_ci_runs() {
    let (_, tests) = commands();
    assert_eq!(tests, "bash scripts/test.sh");
    let ci = std::fs::read_to_string(Path::new(ROOT).join(".ci/run")).unwrap();
    assert!(
        ci.lines().any(|l| l.trim() == "exec bash scripts/test.sh"),
        ".ci/run must run the README's test command: {ci}"
    );
}
