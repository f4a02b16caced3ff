//! `blastmap diff`: the what-if of a change, judged on the demo estate.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn path(p: &str) -> String {
    format!("{ROOT}/{p}")
}

fn blastmap() -> Command {
    Command::cargo_bin("blastmap").unwrap()
}

fn diff_json(args: &[&str]) -> (Value, i32) {
    let out = blastmap()
        .arg("diff")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    assert!(
        code == 0 || code == 1,
        "exit {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (serde_json::from_slice(&out.stdout).unwrap(), code)
}

fn pipeline<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
}

fn gained_paths(p: &Value) -> Vec<String> {
    p["gained"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["path"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_one_line_policy_change_yields_exactly_the_expected_gains() {
    let (v, code) = diff_json(&[
        "--snapshot",
        &path("fixtures/demo/snapshot.json"),
        "--apply",
        &path("fixtures/whatif/widen-ci"),
        "--pipelines",
        &path("fixtures/demo/pipelines.yaml"),
        "--fail-on",
        "new-cross-team",
    ]);
    assert_eq!(code, 1, "the gate fails on new cross-team access");
    let payments: Vec<&str> = vec![
        "secret/data/payments/admin/break-glass",
        "secret/data/payments/db",
        "secret/data/payments/deploy/helm-values",
        "secret/data/payments/deploy/kubeconfig",
        "secret/data/payments/sftp/bank-upload",
        "secret/data/payments/stripe-api-key",
        "secret/data/payments/stripe-webhook-secret",
    ];
    let checkout = pipeline(&v, "checkout-ci").expect("checkout-ci changes");
    assert_eq!(gained_paths(checkout), payments);
    assert_eq!(checkout["reach_before"], 19);
    assert_eq!(checkout["reach_after"], 26);
    assert!(checkout["lost"].as_array().unwrap().is_empty());
    let g = &checkout["gained"][1];
    assert_eq!(g["capabilities"], serde_json::json!(["read"]));
    assert!(g["via"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["policy"] == "ci-shared" && v["rule"] == "secret/data/payments/*"));
    // The payments pipelines already read their own secrets except the break-glass one, which
    // their deploy policy denies but the shared `lint` role's token now reaches.
    for name in ["payments-ci", "payments-deploy"] {
        let p = pipeline(&v, name).unwrap();
        assert_eq!(
            gained_paths(p),
            ["secret/data/payments/admin/break-glass"],
            "{name}"
        );
    }
    // Pipelines that cannot log into a role holding ci-shared are unchanged.
    assert!(pipeline(&v, "checkout-deploy").is_none());
    for key in [
        "name",
        "gained",
        "lost",
        "roles_gained",
        "roles_lost",
        "reach_before",
        "reach_after",
    ] {
        assert!(checkout.get(key).is_some(), "missing {key}");
    }
    assert!(v["findings"]["new"].is_array() && v["findings"]["resolved"].is_array());
}

#[test]
fn a_terraform_plan_yields_the_expected_delta() {
    let (v, code) = diff_json(&[
        "--snapshot",
        &path("fixtures/demo/snapshot.json"),
        "--apply",
        &path("fixtures/whatif/plan.json"),
        "--pipelines",
        &path("fixtures/demo/pipelines.yaml"),
    ]);
    assert_eq!(code, 0, "no --fail-on: the gate passes");
    // bound_claims.repository "acme/payments,acme/checkout" is split on the comma by the
    // provider: checkout-ci is now admitted by payments-ci and reads payments' secrets.
    let c = pipeline(&v, "checkout-ci").unwrap();
    assert_eq!(
        c["roles_gained"],
        serde_json::json!([{"namespace": "", "mount": "gha", "role": "payments-ci"}])
    );
    assert_eq!(gained_paths(c).len(), 6);
    assert!(gained_paths(c)
        .iter()
        .all(|p| p.starts_with("secret/data/payments/")));
    // The Kubernetes role gains the new policy.
    let d = pipeline(&v, "checkout-deploy").unwrap();
    assert_eq!(
        gained_paths(d),
        ["secret/data/platform/github/runner-token"]
    );
    assert_eq!(v["pipelines"].as_array().unwrap().len(), 2);
    // vault_audit is not modelled: said, not ignored; aws and data sources are not Vault's.
    let unknowns: Vec<&str> = v["unknowns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    assert_eq!(unknowns.len(), 1, "{unknowns:?}");
    assert!(unknowns[0].contains("vault_audit.file"));
}

#[test]
fn identical_inputs_yield_an_empty_diff() {
    let snap = path("fixtures/demo/snapshot.json");
    let (v, code) = diff_json(&[
        "--base",
        &snap,
        "--head",
        &snap,
        "--pipelines",
        &path("fixtures/demo/pipelines.yaml"),
        "--fail-on",
        "new-access",
        "--fail-on",
        "low",
    ]);
    assert_eq!(code, 0);
    assert_eq!(v["pipelines"], serde_json::json!([]));
    assert_eq!(v["findings"]["new"], serde_json::json!([]));
    assert_eq!(v["findings"]["resolved"], serde_json::json!([]));
    assert_eq!(v["findings"]["changed"], serde_json::json!([]));
    // Role-level (no inventory) too.
    let (v, _) = diff_json(&["--base", &snap, "--head", &snap]);
    assert_eq!(v["pipelines"], serde_json::json!([]));
}

#[test]
fn base_and_head_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let head = dir.path().join("head.json");
    let text = std::fs::read_to_string(path("fixtures/demo/snapshot.json")).unwrap();
    // Remove payments-deploy's deny on admin/*.
    let changed = text.replacen(
        "path \\\"secret/data/payments/admin/*\\\" {\\n  capabilities = [\\\"deny\\\"]\\n}",
        "",
        1,
    );
    assert_ne!(changed, text, "fixture text changed; update the test");
    std::fs::write(&head, changed).unwrap();
    let (v, code) = diff_json(&[
        "--base",
        &path("fixtures/demo/snapshot.json"),
        "--head",
        head.to_str().unwrap(),
        "--pipelines",
        &path("fixtures/demo/pipelines.yaml"),
        "--fail-on",
        "new-access",
    ]);
    assert_eq!(code, 1);
    let p = pipeline(&v, "payments-deploy").unwrap();
    assert_eq!(gained_paths(p), ["secret/data/payments/admin/break-glass"]);
}

#[test]
fn change_file_and_markdown() {
    let out = blastmap()
        .args([
            "diff",
            "--snapshot",
            &path("fixtures/demo/snapshot.json"),
            "--apply",
            &path("fixtures/whatif/changes.yaml"),
            "--pipelines",
            &path("fixtures/demo/pipelines.yaml"),
            "--format",
            "markdown",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.starts_with("## blastmap what-if"));
    assert!(md.contains("`auth/gha/role/release`"), "{md}");
    assert!(md.contains("⚠ owned by `platform`"), "{md}");
    assert!(md.contains("<summary>Changes applied</summary>"));
}

#[test]
fn role_level_without_inventory() {
    let (v, _) = diff_json(&[
        "--snapshot",
        &path("fixtures/demo/snapshot.json"),
        "--apply",
        &path("fixtures/whatif/widen-ci"),
    ]);
    let names: Vec<&str> = v["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"auth/gha/role/lint"), "{names:?}");
}

#[test]
fn malformed_plans_and_changes_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &str, &str); 5] = [
        ("trunc.json", "{\"format_version\": \"1.2\", \"resource_changes\": [", "malformed JSON"),
        ("v2.json", "{\"format_version\": \"2.0\", \"resource_changes\": []}", "format_version"),
        (
            "nopolicy.json",
            "{\"format_version\": \"1.2\", \"resource_changes\": [{\"address\": \"vault_policy.p\", \"type\": \"vault_policy\", \"change\": {\"actions\": [\"create\"], \"before\": null, \"after\": {\"name\": \"p\"}}}]}",
            "vault_policy.p",
        ),
        ("bad.yaml", "roles:\n  - mount: gha\n    nme: x\n", "unknown field"),
        ("refused.hcl", "path \"a/+*\" { capabilities = [\"read\"] }", "invalid use of wildcards"),
    ];
    for (file, text, want) in cases {
        let p = dir.path().join(file);
        std::fs::write(&p, text).unwrap();
        blastmap()
            .args([
                "diff",
                "--snapshot",
                &path("fixtures/demo/snapshot.json"),
                "--apply",
            ])
            .arg(&p)
            .assert()
            .code(2)
            .stderr(predicates::str::contains(want))
            .stderr(predicates::str::contains(file));
    }
    assert!(Path::new(&path("fixtures/whatif/plan.json")).exists());
}

fn finding<'a>(list: &'a Value, rule: &str, id: &str) -> Option<&'a Value> {
    list.as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == rule && f["subject"]["id"] == id)
}

#[test]
fn findings_delta_of_a_terraform_plan_gates_on_severity() {
    let args = |extra: &[&str]| {
        let mut a = vec![
            "--snapshot".to_string(),
            path("fixtures/demo/snapshot.json"),
            "--apply".to_string(),
            path("fixtures/whatif/plan.json"),
            "--pipelines".to_string(),
            path("fixtures/demo/pipelines.yaml"),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let run = |extra: &[&str]| {
        let a = args(extra);
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        diff_json(&refs)
    };
    let (v, code) = run(&["--fail-on", "medium"]);
    assert_eq!(code, 1, "new medium findings fail a medium gate");
    let new = &v["findings"]["new"];
    // The plan attaches payments-read to checkout-ci's role: the policy is now shared by two
    // teams, and checkout-deploy (admitted by the changed Kubernetes role) over-reaches.
    let shared = finding(new, "identity-isolation.shared-policy", "payments-read")
        .expect("payments-read is now shared between teams");
    assert_eq!(shared["severity"], "medium");
    assert_eq!(shared["practice"], "identity-isolation");
    for key in [
        "rule",
        "severity",
        "practice",
        "title",
        "subject",
        "message",
        "evidence",
        "remediation",
        "fingerprint",
    ] {
        assert!(shared.get(key).is_some(), "new finding lacks {key}");
    }
    assert!(finding(new, "team-isolation.cross-team-reach", "checkout-deploy").is_some());
    // The plan shortens checkout-runner's TTL: that finding is resolved.
    assert!(
        finding(
            &v["findings"]["resolved"],
            "token-ttl.exceeds-job",
            "checkout-deploy"
        )
        .is_some(),
        "{:#}",
        v["findings"]["resolved"]
    );
    // Nothing new is critical: a critical gate passes.
    let (_, code) = run(&["--fail-on", "critical"]);
    assert_eq!(code, 0);

    // Accepted findings are listed, marked, and do not fail the gate.
    let dir = tempfile::tempdir().unwrap();
    let sup = dir.path().join("accepted.yaml");
    std::fs::write(
        &sup,
        "suppressions:\n  - rule: \"*\"\n    reason: \"migration window, SEC-42\"\n",
    )
    .unwrap();
    let (v, code) = run(&["--fail-on", "medium", "--suppress", sup.to_str().unwrap()]);
    assert_eq!(code, 0, "suppressed findings do not fail the gate");
    let shared = finding(
        &v["findings"]["new"],
        "identity-isolation.shared-policy",
        "payments-read",
    )
    .expect("suppressed findings are still listed");
    assert_eq!(shared["suppressed"]["reason"], "migration window, SEC-42");
}

#[test]
fn findings_delta_reports_changed_findings_with_their_before() {
    let (v, code) = diff_json(&[
        "--snapshot",
        &path("fixtures/demo/snapshot.json"),
        "--apply",
        &path("fixtures/whatif/widen-ci"),
        "--pipelines",
        &path("fixtures/demo/pipelines.yaml"),
        "--fail-on",
        "medium",
    ]);
    // The widened policy's findings already existed (same rule and subject): changed, not new,
    // and no severity rose, so a severity gate passes.
    assert_eq!(code, 0);
    assert_eq!(v["findings"]["new"], serde_json::json!([]));
    let c = finding(
        &v["findings"]["changed"],
        "least-privilege.broad-wildcard",
        "ci-shared",
    )
    .expect("ci-shared's broad-wildcard finding changes");
    let now = c["message"].as_str().unwrap();
    let before = c["before"]["message"].as_str().unwrap();
    assert!(now.contains("3 broad wildcard rule(s)"), "{now}");
    assert!(now.contains("secret/data/payments/*"), "{now}");
    assert!(before.contains("2 broad wildcard rule(s)"), "{before}");
    assert!(!before.contains("secret/data/payments/*"), "{before}");
    assert_eq!(c["before"]["severity"], "medium");

    // A user rule given with --queries judges both estates.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("payments.rego"), PAYMENTS_RULE).unwrap();
    let (v, code) = diff_json(&[
        "--snapshot",
        &path("fixtures/demo/snapshot.json"),
        "--apply",
        &path("fixtures/whatif/widen-ci"),
        "--pipelines",
        &path("fixtures/demo/pipelines.yaml"),
        "--queries",
        dir.path().to_str().unwrap(),
        "--fail-on",
        "high",
    ]);
    assert_eq!(code, 1, "the user's rule fires on the head only");
    let mine: Vec<&Value> = v["findings"]["new"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "org.ci-shared-payments")
        .collect();
    assert_eq!(mine.len(), 1, "{:#}", v["findings"]);
}

/// An organisation rule: the CI-wide policy must never cover a team's secret tree.
const PAYMENTS_RULE: &str = r#"package blastmap.rules.org

import rego.v1

rules["org.ci-shared-payments"] := {
	"title": "The CI-wide policy covers payments secrets",
	"severity": "high",
	"practice": "team-isolation",
	"description": "ci-shared is held by every team's pipelines.",
	"remediation": "Grant payments secrets through payments' own policies.",
}

findings contains f if {
	some p in input.policies
	p.name == "ci-shared"
	some r in p.wildcard_rules
	startswith(r.pattern, "secret/data/payments/")
	f := {
		"rule": "org.ci-shared-payments",
		"subject": {"kind": "policy", "id": p.name, "pattern": r.pattern},
		"message": sprintf("ci-shared grants %s", [r.pattern]),
		"evidence": {"line": r.line},
	}
}
"#;
