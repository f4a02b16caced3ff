//! The discovery corpus: `fixtures/discover/cases/<case>/`, one small repository per construct
//! that real CI configurations use (each case's `case.yaml` says which, and the discover
//! arguments to read it with). What `blastmap discover` prints for it, the inventory on
//! standard output and the notes on standard error, is pinned in the case's `expected.txt`.
//!
//! A change fails with a line diff of every changed case. When it is intended, rewrite the
//! files with `UPDATE_SNAPSHOTS=1 cargo test --test suite discover_cases::` and review the diff
//! of `fixtures/discover/cases/` in the commit: each expected inventory is a claim about what
//! the CI system does, so read it, do not just accept it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde::Deserialize;

use crate::common::text_diff::line_diff;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A case's `case.yaml`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    /// The real-world construct the case reproduces (where it was seen, in words).
    about: String,
    /// `blastmap discover` arguments; paths are relative to the case's directory.
    args: Vec<String>,
}

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(ROOT).join("fixtures/discover/cases");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("case.yaml").is_file())
        .collect();
    out.sort();
    out
}

/// What discover prints for a case: exit code, inventory, notes.
fn discovered(case: &Path) -> String {
    let text = std::fs::read_to_string(case.join("case.yaml")).unwrap();
    let file: CaseFile =
        yaml_serde::from_str(&text).unwrap_or_else(|e| panic!("{}/case.yaml: {e}", case.display()));
    assert!(
        !file.about.trim().is_empty(),
        "{}: no about",
        case.display()
    );
    let out = Command::cargo_bin("blastmap")
        .unwrap()
        .current_dir(case)
        .arg("discover")
        .args(&file.args)
        .output()
        .unwrap();
    let mut shown = format!("exit: {}\n", out.status.code().unwrap_or(-1));
    shown.push_str(&String::from_utf8_lossy(&out.stdout));
    shown.push_str("--- notes (standard error) ---\n");
    shown.push_str(&String::from_utf8_lossy(&out.stderr));
    shown
}

#[test]
fn every_case_discovers_its_expected_inventory() {
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1");
    let all = cases();
    let mut report = String::new();
    for case in &all {
        let got = discovered(case);
        let file = case.join("expected.txt");
        if update {
            std::fs::write(&file, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&file).unwrap_or_default();
        if got != want {
            let name = case.file_name().unwrap().to_string_lossy();
            let _ = writeln!(report, "--- {name}/expected.txt (pinned)\n+++ now");
            report.push_str(&line_diff(&want, &got));
        }
    }
    assert!(
        report.is_empty(),
        "discovered inventories differ (UPDATE_SNAPSHOTS=1 rewrites them):\n{report}"
    );
    assert!(all.len() >= 30, "only {} cases", all.len());
}

/// No case makes discover abort: each exits 0 (malformed YAML is the only error, and no case
/// is malformed).
#[test]
fn no_case_aborts() {
    for case in cases() {
        let got = discovered(&case);
        assert!(got.starts_with("exit: 0\n"), "{}:\n{got}", case.display());
    }
}
