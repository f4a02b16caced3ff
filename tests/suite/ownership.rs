//! One ownership rule across every output: `findings`, `diff` (its `new-cross-team` gate and its
//! Markdown), the diagrams and the report agree on nested and tied owners.
//!
//! The estate is the demo snapshot under `fixtures/ownership/pipelines.yaml`: team x owns
//! `secret/data/payments/*` inside team y's `secret/*` (and y's longer but less specific
//! `secret/data/+/deploy/kube*`), and teams z and w both own `secret/data/checkout/*` (a tie:
//! shared ownership). checkout-ci is y's, checkout-deploy z's, payments-* x's.

use assert_cmd::Command;
use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn estate() -> Vec<String> {
    vec![
        "--snapshot".into(),
        format!("{ROOT}/fixtures/demo/snapshot.json"),
        "--pipelines".into(),
        format!("{ROOT}/fixtures/ownership/pipelines.yaml"),
    ]
}

/// stdout and exit code of `blastmap args` (0 or 1; anything else fails the test).
fn run(args: &[&str]) -> (String, i32) {
    let out = Command::cargo_bin("blastmap")
        .unwrap()
        .args(args)
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    assert!(
        code == 0 || code == 1,
        "blastmap {args:?} exited {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (String::from_utf8(out.stdout).unwrap(), code)
}

fn run_on_estate(command: &[&str], extra: &[&str]) -> String {
    let estate = estate();
    let estate: Vec<&str> = estate.iter().map(String::as_str).collect();
    run(&[command, &estate, extra].concat()).0
}

/// The owners of each pipeline's cross-team findings, as `(pipeline, owner)`.
fn cross_team_owners(findings: &Value) -> Vec<(String, String)> {
    let mut owners: Vec<(String, String)> = findings["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "team-isolation.cross-team-reach")
        .map(|f| {
            (
                f["subject"]["name"].as_str().unwrap().to_string(),
                f["evidence"]["owner"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    owners.sort();
    owners
}

#[test]
fn findings_charge_the_inner_owner_and_spare_the_tied_owners_own_pipelines() {
    let out = run_on_estate(
        &["findings"],
        &[
            "--rule",
            "team-isolation.cross-team-reach",
            "--format",
            "json",
        ],
    );
    let owners = cross_team_owners(&serde_json::from_str(&out).unwrap());
    let of = |pipeline: &str| -> Vec<&str> {
        owners
            .iter()
            .filter(|(p, _)| p == pipeline)
            .map(|(_, o)| o.as_str())
            .collect()
    };
    // checkout-ci (y) reads payments' fraud-api (x's, not y's although inside secret/*) and the
    // checkout secrets shared by z and w.
    assert_eq!(of("checkout-ci"), ["x", "z, w"]);
    // checkout-deploy (z) reaches only checkout secrets, which z shares with w: not cross-team.
    assert!(of("checkout-deploy").is_empty(), "{owners:?}");
    // payments' own secrets, including deploy/kubeconfig (y's `+` entry is less specific).
    assert_eq!(of("payments-deploy"), ["y"]);
}

#[test]
fn facts_name_the_tied_teams_of_a_shared_owner() {
    let facts: Value = serde_json::from_str(&run_on_estate(&["facts"], &[])).unwrap();
    let pipelines = facts["pipelines"].as_array().unwrap();
    let checkout_ci = pipelines
        .iter()
        .find(|p| p["name"] == "checkout-ci")
        .unwrap();
    let by_owner = checkout_ci["reach"]["by_owner"].as_array().unwrap();
    let shared = by_owner.iter().find(|o| o["team"] == "z, w").unwrap();
    assert_eq!(shared["shared_by"], serde_json::json!(["z", "w"]));
    assert_eq!(shared["secrets"], 7);
    let single = by_owner.iter().find(|o| o["team"] == "x").unwrap();
    assert!(single.get("shared_by").is_none(), "{single}");
}

#[test]
fn the_diff_gate_and_its_markdown_agree_with_findings_on_a_nested_owner() {
    let snapshot = format!("{ROOT}/fixtures/demo/snapshot.json");
    let pipelines = format!("{ROOT}/fixtures/ownership/pipelines.yaml");
    let widen = format!("{ROOT}/fixtures/whatif/widen-ci");
    let args = |format: &'static str| -> Vec<String> {
        [
            "diff",
            "--snapshot",
            &snapshot,
            "--apply",
            &widen,
            "--pipelines",
            &pipelines,
            "--fail-on",
            "new-cross-team",
            "--format",
            format,
        ]
        .iter()
        .map(|a| a.to_string())
        .collect()
    };
    let json_args = args("json");
    let (json, code) = run(&json_args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 1, "checkout-ci (y) gains x's secrets: the gate fails");
    let report: Value = serde_json::from_str(&json).unwrap();
    let checkout_ci = report["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "checkout-ci")
        .unwrap();
    let db = checkout_ci["gained"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["path"] == "secret/data/payments/db")
        .unwrap();
    assert_eq!(db["cross_team"], serde_json::json!(["x"]));
    // x's own pipelines gain x's break-glass secret: inside their team.
    for name in ["payments-ci", "payments-deploy"] {
        let p = report["pipelines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap();
        // `cross_team` is left out when empty.
        assert!(p["gained"][0].get("cross_team").is_none(), "{p}");
    }
    let markdown_args = args("markdown");
    let (markdown, _) = run(&markdown_args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(markdown.contains("| ⚠ owned by `x` |"), "{markdown}");
    assert!(!markdown.contains("owned by `x, y`"), "{markdown}");
}

#[test]
fn diagrams_agree_on_nested_and_tied_owners() {
    // A path outside the snapshot's secrets is owned by the same rule.
    let nested = run_on_estate(
        &["dot", "--view", "secret"],
        &["--path", "secret/data/payments/deploy/kubeconfig-next"],
    );
    assert!(nested.contains("label=\"owned by team x\""), "{nested}");
    let tied = run_on_estate(
        &["dot", "--view", "secret"],
        &["--path", "secret/data/checkout/db"],
    );
    assert!(
        tied.contains("label=\"owned by teams z, w (shared)\""),
        "{tied}"
    );
    let deploy = run_on_estate(
        &["dot", "--view", "pipeline"],
        &["--pipeline", "checkout-deploy"],
    );
    assert!(deploy.contains(", 0 owned by other teams,"), "{deploy}");
    let ci = run_on_estate(
        &["dot", "--view", "pipeline"],
        &["--pipeline", "checkout-ci"],
    );
    // 7 checkout secrets (z and w's) and payments' fraud-api (x's); findings count the same.
    assert!(ci.contains(", 8 owned by other teams,"), "{ci}");
}

#[test]
fn the_report_marks_shared_secrets_cross_team_only_for_other_teams() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.html");
    run_on_estate(&["report"], &["--out", out.to_str().unwrap()]);
    let html = std::fs::read_to_string(&out).unwrap();
    // checkout-ci's and platform-terraform's seven checkout secrets are cross-team;
    // checkout-deploy's seven (z's own, shared with w) are not.
    assert_eq!(html.matches("<td class=\"cross\">z, w</td>").count(), 14);
    assert_eq!(html.matches("<td>z, w</td>").count(), 7);
}
