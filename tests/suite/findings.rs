//! `blastmap findings` and `blastmap facts`: every rule fires on its triggering fixture
//! and its near miss yields no finding at all, the clean estate yields none, the demo estate
//! shows every family, and the CLI contract (JSON shape, exit codes, suppressions, severity
//! overrides, user rules, formats) holds.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::{json, Value};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn path(rel: &str) -> String {
    format!("{ROOT}/{rel}")
}

fn demo() -> [String; 4] {
    [
        "--snapshot".into(),
        path("fixtures/demo/snapshot.json"),
        "--pipelines".into(),
        path("fixtures/demo/pipelines.yaml"),
    ]
}

fn estate(dir: &str) -> [String; 4] {
    [
        "--snapshot".into(),
        path(&format!("{dir}/snapshot.json")),
        "--pipelines".into(),
        path(&format!("{dir}/pipelines.json")),
    ]
}

fn run(args: &[String]) -> std::process::Output {
    Command::cargo_bin("blastmap")
        .unwrap()
        .args(args)
        .output()
        .unwrap()
}

/// Run `findings --format json` and return (exit code, document).
fn findings(args: &[String]) -> (i32, Value) {
    let mut a = vec!["findings".to_string(), "--format".into(), "json".into()];
    a.extend(args.iter().cloned());
    let out = run(&a);
    let code = out.status.code().unwrap();
    assert!(
        code == 0 || code == 1,
        "exit {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (code, serde_json::from_slice(&out.stdout).unwrap())
}

fn list(v: &Value) -> &Vec<Value> {
    v["findings"].as_array().unwrap()
}

fn rules_of(v: &Value) -> BTreeSet<String> {
    list(v)
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

const PRACTICES: [&str; 8] = [
    "identity-isolation",
    "least-privilege",
    "token-ttl",
    "bootstrap-credentials",
    "exposure",
    "workload-constraints",
    "team-isolation",
    "escalation",
];

/// The JSON contract of one finding.
fn check_contract(f: &Value) {
    for k in [
        "rule",
        "severity",
        "practice",
        "title",
        "subject",
        "message",
        "evidence",
        "remediation",
    ] {
        assert!(f.get(k).is_some(), "finding lacks {k}: {f}");
    }
    assert!(
        ["info", "low", "medium", "high", "critical"].contains(&f["severity"].as_str().unwrap())
    );
    assert!(PRACTICES.contains(&f["practice"].as_str().unwrap()), "{f}");
    assert!(f["subject"].is_object() && f["evidence"].is_object());
    assert!(
        f["subject"]["kind"].is_string() && f["subject"]["id"].is_string(),
        "{f}"
    );
    assert!(!f["message"].as_str().unwrap().is_empty());
    assert!(!f["remediation"].as_str().unwrap().is_empty());
}

/// A rule fires on `fixtures/rules/<id>/trigger` and nothing fires on its near miss `pass`; its
/// documentation page has the four sections.
fn check_rule(id: &str) {
    let (_, t) = findings(&estate(&format!("fixtures/rules/{id}/trigger")));
    let hits: Vec<&Value> = list(&t).iter().filter(|f| f["rule"] == id).collect();
    assert!(!hits.is_empty(), "{id} does not fire on its trigger: {t:#}");
    for f in &hits {
        check_contract(f);
        assert_eq!(f["practice"], id.split('.').next().unwrap());
    }
    let (_, p) = findings(&estate(&format!("fixtures/rules/{id}/pass")));
    assert!(
        list(&p).is_empty(),
        "the near miss of {id} has findings: {:?}",
        rules_of(&p)
    );
    let doc = std::fs::read_to_string(path(&format!("docs/rules/{id}.md")))
        .unwrap_or_else(|_| panic!("docs/rules/{id}.md is missing"));
    for section in [
        "## What it detects",
        "## Why it matters",
        "## Example",
        "## Fix",
    ] {
        assert!(doc.contains(section), "docs/rules/{id}.md lacks {section}");
    }
    assert!(
        doc.contains(&format!("`{id}`")),
        "docs/rules/{id}.md does not name the rule id"
    );
}

macro_rules! rule_tests {
    ($($name:ident => $id:literal,)*) => {
        $(
            #[test]
            fn $name() {
                check_rule($id);
            }
        )*

        /// Every rule id with a test above.
        const TESTED: &[&str] = &[$($id),*];
    };
}

rule_tests! {
    identity_shared_role => "identity-isolation.shared-role",
    identity_shared_entity => "identity-isolation.shared-entity",
    identity_login_dependent_entity => "identity-isolation.login-dependent-entity",
    identity_shared_approle => "identity-isolation.shared-approle",
    identity_shared_policy => "identity-isolation.shared-policy",
    privilege_wildcard_exceeds_needs => "least-privilege.wildcard-exceeds-needs",
    privilege_broad_wildcard => "least-privilege.broad-wildcard",
    privilege_excess_capabilities => "least-privilege.excess-capabilities",
    privilege_unneeded_reach => "least-privilege.unneeded-reach",
    ttl_unset => "token-ttl.unset",
    ttl_exceeds_job => "token-ttl.exceeds-job",
    ttl_round_value => "token-ttl.round-value",
    ttl_periodic => "token-ttl.periodic",
    bootstrap_secret_id_not_required => "bootstrap-credentials.secret-id-not-required",
    bootstrap_secret_id_ttl => "bootstrap-credentials.secret-id-ttl",
    bootstrap_secret_id_reusable => "bootstrap-credentials.secret-id-reusable",
    bootstrap_no_cidr_binding => "bootstrap-credentials.no-cidr-binding",
    bootstrap_static_credential => "bootstrap-credentials.static-credential",
    bootstrap_token_role => "bootstrap-credentials.token-role",
    bootstrap_secret_id_unwrapped => "bootstrap-credentials.secret-id-unwrapped",
    exposure_audit_log_raw => "exposure.audit-log-raw",
    exposure_audit_hmac_accessor => "exposure.audit-hmac-accessor",
    exposure_no_audit_device => "exposure.no-audit-device",
    exposure_wrapped_secret_handoff => "exposure.wrapped-secret-handoff",
    exposure_ci_export_token => "exposure.ci-export-token",
    exposure_ci_secret_echoed => "exposure.ci-secret-echoed",
    exposure_ci_secret_in_artifact => "exposure.ci-secret-in-artifact",
    exposure_ci_debug_logging => "exposure.ci-debug-logging",
    exposure_ci_step_debug => "exposure.ci-step-debug",
    exposure_ci_workflow_env_token => "exposure.ci-workflow-env-token",
    exposure_ci_credential_to_action => "exposure.ci-credential-to-action",
    exposure_ci_pull_request_target => "exposure.ci-pull-request-target",
    exposure_ci_fork_code => "exposure.ci-fork-code",
    exposure_ci_any_branch => "exposure.ci-any-branch",
    exposure_ci_pull_request_login => "exposure.ci-pull-request-login",
    exposure_ci_plan_apply_same_role => "exposure.ci-plan-apply-same-role",
    workload_owner_unbound => "workload-constraints.owner-unbound",
    workload_no_workload_binding => "workload-constraints.no-workload-binding",
    workload_no_audience => "workload-constraints.no-audience",
    workload_broad_glob => "workload-constraints.broad-glob",
    workload_shared_user_claim => "workload-constraints.shared-user-claim",
    workload_kubernetes_wildcard => "workload-constraints.kubernetes-wildcard",
    workload_cert_unconstrained => "workload-constraints.cert-unconstrained",
    workload_aws_broad_principal => "workload-constraints.aws-broad-principal",
    workload_gcp_broad_service_account => "workload-constraints.gcp-broad-service-account",
    workload_azure_any_principal => "workload-constraints.azure-any-principal",
    workload_github_org_unpinned => "workload-constraints.github-org-unpinned",
    workload_github_broad_grant => "workload-constraints.github-broad-grant",
    team_cross_team_reach => "team-isolation.cross-team-reach",
    k8s_shared_store => "identity-isolation.k8s-shared-store",
    k8s_static_token => "bootstrap-credentials.k8s-static-token",
    k8s_agent_inject_token => "exposure.k8s-agent-inject-token",
    k8s_find_whole_mount => "least-privilege.k8s-find-whole-mount",
    k8s_consumer_wildcard_role => "workload-constraints.k8s-consumer-wildcard-role",
    team_shared_auth_mount => "team-isolation.shared-auth-mount",
    team_shared_namespace => "team-isolation.shared-namespace",
    escalation_policy_write => "escalation.policy-write",
    escalation_auth_role_write => "escalation.auth-role-write",
    escalation_auth_config_write => "escalation.auth-config-write",
    escalation_identity_write => "escalation.identity-write",
    escalation_token_create => "escalation.token-create",
    escalation_credential_mint => "escalation.credential-mint",
    escalation_auth_enable => "escalation.auth-enable",
    escalation_system_sudo => "escalation.system-sudo",
}

#[test]
fn every_rule_has_a_test_fixtures_and_a_page() {
    let out = run(&[
        "findings".into(),
        "--list-rules".into(),
        "--format".into(),
        "json".into(),
    ]);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: BTreeSet<String> = v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    let tested: BTreeSet<String> = TESTED.iter().map(|s| s.to_string()).collect();
    assert_eq!(ids, tested, "rules without a test, or tests without a rule");
    let mut practices = BTreeSet::new();
    for r in v["rules"].as_array().unwrap() {
        let id = r["id"].as_str().unwrap();
        practices.insert(r["practice"].as_str().unwrap().to_string());
        for k in ["trigger", "pass"] {
            assert!(
                Path::new(&path(&format!("fixtures/rules/{id}/{k}/snapshot.json"))).exists(),
                "{id}: no {k} fixture"
            );
        }
        assert_eq!(r["help"], format!("docs/rules/{id}.md"));
        assert!(id.starts_with(&format!("{}.", r["practice"].as_str().unwrap())));
    }
    assert_eq!(practices.len(), 8, "{practices:?}");
    // The index of docs/findings.md lists every rule.
    let index = std::fs::read_to_string(path("docs/findings.md")).unwrap();
    for id in &ids {
        assert!(
            index.contains(&format!("rules/{id}.md")),
            "docs/findings.md does not link {id}"
        );
    }
}

#[test]
fn clean_estate_yields_no_finding() {
    let (code, v) = findings(&estate("fixtures/rules/clean"));
    assert_eq!(code, 0);
    assert!(list(&v).is_empty(), "{v:#}");
    assert_eq!(v["summary"]["rules"], TESTED.len());
    // The gate passes too.
    let mut a = estate("fixtures/rules/clean").to_vec();
    a.extend(["--fail-on".into(), "info".into()]);
    assert_eq!(findings(&a).0, 0);
}

#[test]
fn demo_shows_every_family() {
    let (code, v) = findings(&demo());
    assert_eq!(code, 0, "no --fail-on: exit 0");
    let practices: BTreeSet<&str> = list(&v)
        .iter()
        .map(|f| f["practice"].as_str().unwrap())
        .collect();
    for p in PRACTICES {
        assert!(
            practices.contains(p),
            "no {p} finding on the demo: {practices:?}"
        );
    }
    for f in list(&v) {
        check_contract(f);
    }
    // The deliberate weak spots of the demo.
    let has = |rule: &str, id: &str| {
        list(&v)
            .iter()
            .any(|f| f["rule"] == rule && f["subject"]["id"] == id)
    };
    assert!(has(
        "workload-constraints.owner-unbound",
        "auth/gha/role/lint"
    ));
    assert!(has("identity-isolation.shared-role", "auth/gha/role/lint"));
    assert!(has("least-privilege.broad-wildcard", "checkout-read"));
    assert!(has(
        "bootstrap-credentials.secret-id-not-required",
        "auth/approle/role/platform-bootstrap"
    ));
    assert!(has(
        "bootstrap-credentials.secret-id-reusable",
        "auth/approle/role/legacy-batch"
    ));
    assert!(has("escalation.policy-write", "platform-terraform"));
    assert!(has("exposure.wrapped-secret-handoff", "ci-handoff"));
    // Most severe first.
    let sev = |f: &Value| {
        ["info", "low", "medium", "high", "critical"]
            .iter()
            .position(|s| *s == f["severity"])
            .unwrap()
    };
    let order: Vec<usize> = list(&v).iter().map(sev).collect();
    assert!(order.windows(2).all(|w| w[0] >= w[1]));
}

#[test]
fn escalation_reports_chain_and_reach_gained() {
    let (_, v) = findings(&demo());
    let f = list(&v)
        .iter()
        .find(|f| {
            f["rule"] == "escalation.policy-write" && f["subject"]["id"] == "platform-terraform"
        })
        .unwrap();
    assert_eq!(f["severity"], "critical");
    let e = &f["evidence"];
    assert_eq!(e["full_namespaces"], serde_json::json!([""]));
    let gained = e["gained_secrets"].as_u64().unwrap();
    assert!(gained > 0);
    let br = &e["blast_radius"];
    assert_eq!(
        br["total"].as_u64().unwrap(),
        br["direct"].as_u64().unwrap() + br["escalated"].as_u64().unwrap()
    );
    let step = &e["chains"][0]["steps"][0];
    assert_eq!(step["kind"], "policy-write");
    assert!(step["path"]
        .as_str()
        .unwrap()
        .starts_with("sys/policies/acl/"));
    assert!(step["granted_by"][0]
        .as_str()
        .unwrap()
        .contains("platform-admin"));
    // Minting secret-ids for the Jenkins AppRole role logs in as it: its entity's policy
    // (db-readonly) is reach the pipeline did not have.
    let mint = list(&v)
        .iter()
        .find(|f| {
            f["rule"] == "escalation.credential-mint"
                && f["subject"]["primitive"] == "secret-id-mint"
        })
        .unwrap();
    assert!(mint["evidence"]["targets"]
        .as_array()
        .unwrap()
        .contains(&Value::String("auth/approle/role/jenkins-payments".into())));
    // The facts carry the blast radius including escalation.
    let mut a = vec!["facts".to_string()];
    a.extend(demo());
    let out = run(&a);
    assert!(out.status.success());
    let facts: Value = serde_json::from_slice(&out.stdout).unwrap();
    let p = facts["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "platform-terraform")
        .unwrap();
    assert!(p["blast_radius"]["escalated"].as_u64().unwrap() > 0);
    assert_eq!(
        p["blast_radius"]["total"].as_u64().unwrap(),
        facts["summary"]["secrets"].as_u64().unwrap(),
        "rewriting a policy it holds gives platform-terraform every secret"
    );
    // A pipeline without write access has no escalation.
    let d = facts["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "data-etl")
        .unwrap();
    assert!(d["escalations"].as_array().unwrap().is_empty());
    assert_eq!(d["blast_radius"]["escalated"], 0);
}

#[test]
fn escalation_depth_bounds_the_search() {
    let mut a = demo().to_vec();
    a.extend(["--escalation-depth".into(), "0".into()]);
    let (_, v) = findings(&a);
    assert!(!rules_of(&v).iter().any(|r| r.starts_with("escalation.")));
}

#[test]
fn fail_on_exit_codes() {
    let trig = estate("fixtures/rules/exposure.audit-log-raw/trigger");
    let with = |extra: &[&str]| {
        let mut a = trig.to_vec();
        a.extend(extra.iter().map(|s| s.to_string()));
        findings(&a).0
    };
    assert_eq!(with(&[]), 0);
    assert_eq!(with(&["--fail-on", "critical"]), 1);
    assert_eq!(with(&["--fail-on", "high"]), 1);
    // The severity is configurable per rule; the gate follows it.
    assert_eq!(
        with(&[
            "--severity",
            "exposure.audit-log-raw=low",
            "--fail-on",
            "medium"
        ]),
        0
    );
    // --min-severity hides, it does not change the gate.
    assert_eq!(
        with(&["--min-severity", "critical", "--fail-on", "critical"]),
        1
    );
    // Errors exit 2: a missing file, a bad severity, an unknown rule in --severity.
    let mut a = vec!["findings".to_string()];
    a.extend(["--snapshot".into(), path("fixtures/nope.json")]);
    assert_eq!(run(&a).status.code(), Some(2));
    let mut a = vec!["findings".to_string()];
    a.extend(trig.iter().cloned());
    a.extend(["--fail-on".into(), "severe".into()]);
    assert_eq!(run(&a).status.code(), Some(2));
    let mut a = vec!["findings".to_string()];
    a.extend(trig.iter().cloned());
    a.extend(["--severity".into(), "no.such-rule=low".into()]);
    let out = run(&a);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no.such-rule"));
}

#[test]
fn severity_override_and_min_severity() {
    let mut a = demo().to_vec();
    a.extend([
        "--severity".into(),
        "team-isolation.shared-auth-mount=info".into(),
    ]);
    let (_, v) = findings(&a);
    let f = list(&v)
        .iter()
        .find(|f| f["rule"] == "team-isolation.shared-auth-mount")
        .unwrap();
    assert_eq!(f["severity"], "info");
    a.extend(["--min-severity".into(), "high".into()]);
    let (_, v) = findings(&a);
    assert!(list(&v)
        .iter()
        .all(|f| f["severity"] == "high" || f["severity"] == "critical"));
}

fn tmp(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    (dir, p)
}

#[test]
fn suppressions_are_shown_never_dropped() {
    let trig = estate("fixtures/rules/exposure.audit-log-raw/trigger");
    let (_d, file) = tmp(
        "suppress.yaml",
        "suppressions:\n  - rule: exposure.audit-log-raw\n    subject: {id: file/}\n    reason: \"SIEM needs raw bodies; accepted by security (SEC-42)\"\n  - rule: exposure.no-audit-device\n    reason: stale entry\n",
    );
    let mut a = trig.to_vec();
    a.extend([
        "--suppress".into(),
        file.display().to_string(),
        "--fail-on".into(),
        "critical".into(),
    ]);
    let (code, v) = findings(&a);
    assert_eq!(code, 0, "a suppressed finding does not fail the gate");
    let f = list(&v)
        .iter()
        .find(|f| f["rule"] == "exposure.audit-log-raw")
        .expect("suppressed findings stay in the output");
    assert_eq!(
        f["suppressed"]["reason"],
        "SIEM needs raw bodies; accepted by security (SEC-42)"
    );
    assert_eq!(v["summary"]["suppressed"], 1);
    let unused = v["unused_suppressions"].as_array().unwrap();
    assert_eq!(unused.len(), 1);
    assert_eq!(unused[0]["rule"], "exposure.no-audit-device");
    // The table marks it too.
    let mut t = vec!["findings".to_string()];
    t.extend(trig.iter().cloned());
    t.extend(["--suppress".into(), file.display().to_string()]);
    let out = run(&t);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("[suppressed]") && text.contains("SEC-42"),
        "{text}"
    );
    assert!(text.contains("unused suppression"), "{text}");
    // A suppression without a reason is an error.
    let (_d2, bad) = tmp(
        "bad.yaml",
        "suppressions:\n  - rule: exposure.audit-log-raw\n",
    );
    let mut b = vec!["findings".to_string()];
    b.extend(trig.iter().cloned());
    b.extend(["--suppress".into(), bad.display().to_string()]);
    let out = run(&b);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("reason"));
    // An expired suppression no longer applies.
    let (_d3, old) = tmp(
        "old.json",
        r#"{"suppressions": [{"rule": "exposure.audit-log-raw", "reason": "temporary", "expires": "2020-01-01"}]}"#,
    );
    let mut c = trig.to_vec();
    c.extend([
        "--suppress".into(),
        old.display().to_string(),
        "--fail-on".into(),
        "critical".into(),
    ]);
    let (code, v) = findings(&c);
    assert_eq!(code, 1);
    assert!(v["unused_suppressions"][0]["status"]
        .as_str()
        .unwrap()
        .starts_with("expired"));
}

#[test]
fn org_rule_production_from_protected_branches() {
    let q = path("queries/examples");
    let mut a = estate("fixtures/rules/org-production-branches/trigger").to_vec();
    a.extend(["--queries".into(), q.clone()]);
    let (_, v) = findings(&a);
    let f = list(&v)
        .iter()
        .find(|f| f["rule"] == "acme.production-from-protected-branches")
        .expect("the org rule fires on a pull-request pipeline reading production secrets");
    check_contract(f);
    assert_eq!(f["subject"]["id"], "app-ci");
    assert_eq!(f["severity"], "high");
    let mut a = estate("fixtures/rules/org-production-branches/pass").to_vec();
    a.extend(["--queries".into(), q.clone()]);
    let (_, v) = findings(&a);
    assert!(list(&v).is_empty(), "{v:#}");
    // On the demo: the payments pull-request CI reads the deploy folder.
    let mut a = demo().to_vec();
    a.extend([
        "--queries".into(),
        q,
        "--rule".into(),
        "acme.production-from-protected-branches".into(),
    ]);
    let (_, v) = findings(&a);
    let subjects: Vec<&str> = list(&v)
        .iter()
        .map(|f| f["subject"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["payments-ci"]);
}

#[test]
fn user_rules_are_validated() {
    let cases = [
        ("syntax.rego", "package blastmap.rules.x\nimport rego.v1\nrules := {\n", "syntax.rego"),
        (
            "practice.rego",
            "package blastmap.rules.x\nimport rego.v1\nrules[\"x.y\"] := {\"title\": \"t\", \"severity\": \"low\", \"practice\": \"hygiene\", \"description\": \"d\", \"remediation\": \"r\"}\n",
            "practice",
        ),
        (
            "undeclared.rego",
            "package blastmap.rules.x\nimport rego.v1\nrules := {}\nfindings contains {\"rule\": \"x.nope\", \"subject\": {}, \"message\": \"m\"} if true\n",
            "x.nope",
        ),
        (
            "duplicate.rego",
            "package blastmap.rules.x\nimport rego.v1\nrules[\"exposure.audit-log-raw\"] := {\"title\": \"t\", \"severity\": \"low\", \"practice\": \"exposure\", \"description\": \"d\", \"remediation\": \"r\"}\n",
            "declared twice",
        ),
        ("nopkg.rego", "package other\nimport rego.v1\nx := 1\n", "blastmap.rules"),
    ];
    for (name, text, expect) in cases {
        let (dir, _) = tmp(name, text);
        let mut a = vec!["findings".to_string()];
        a.extend(estate("fixtures/rules/clean"));
        a.extend(["--queries".into(), dir.path().display().to_string()]);
        let out = run(&a);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expect), "{name}: {err}");
    }
    // A valid user rule runs alongside the built-in ones, or alone with --no-builtin.
    let (dir, _) = tmp(
        "ok.rego",
        "package blastmap.rules.org\nimport rego.v1\nrules[\"org.every-pipeline\"] := {\"title\": \"t\", \"severity\": \"info\", \"practice\": \"exposure\", \"description\": \"d\", \"remediation\": \"r\"}\nfindings contains f if {\n  some p in input.pipelines\n  f := {\"rule\": \"org.every-pipeline\", \"subject\": {\"kind\": \"pipeline\", \"id\": p.name}, \"message\": p.name}\n}\n",
    );
    let mut a = estate("fixtures/rules/clean").to_vec();
    a.extend([
        "--queries".into(),
        dir.path().display().to_string(),
        "--no-builtin".into(),
    ]);
    let (_, v) = findings(&a);
    assert_eq!(v["summary"]["rules"], 1);
    assert_eq!(
        rules_of(&v),
        BTreeSet::from(["org.every-pipeline".to_string()])
    );
}

#[test]
fn formats_table_markdown_and_facts() {
    let mut a = vec!["findings".to_string()];
    a.extend(demo());
    let out = run(&a);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("CRITICAL"), "{text}");
    assert!(text.contains("workload-constraints.owner-unbound  role auth/gha/role/lint"));
    assert!(
        text.trim_end()
            .ends_with(&format!("{} rules evaluated", TESTED.len())),
        "{text}"
    );

    a.extend(["--format".into(), "markdown".into()]);
    let out = run(&a);
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(md.starts_with("# blastmap findings"));
    assert!(md.contains("| # | severity | rule | subject | finding |"));
    assert!(md.contains("**Fix:**"));

    // Facts without an inventory: estate-wide facts only.
    let out = run(&[
        "facts".into(),
        "--snapshot".into(),
        path("fixtures/demo/snapshot.json"),
    ]);
    assert!(out.status.success());
    let f: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(f["facts_version"], 1);
    assert_eq!(f["summary"]["inventory"], false);
    assert!(f["pipelines"].as_array().unwrap().is_empty());
    assert!(!f["roles"].as_array().unwrap().is_empty());
    for key in [
        "config",
        "server",
        "audit",
        "teams",
        "namespaces",
        "auth_mounts",
        "roles",
        "policies",
        "entities",
    ] {
        assert!(f.get(key).is_some(), "facts lack {key}");
    }
    // Estate-wide rules still run without an inventory.
    let out = run(&[
        "findings".into(),
        "--snapshot".into(),
        path("fixtures/demo/snapshot.json"),
        "--format".into(),
        "json".into(),
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = rules_of(&v);
    assert!(r.contains("workload-constraints.owner-unbound"));
    assert!(r.contains("exposure.wrapped-secret-handoff"));
}

#[test]
fn library_api_evaluates_an_estate() {
    let snap =
        blastmap::model::Snapshot::load(Path::new(&path("fixtures/demo/snapshot.json"))).unwrap();
    let inv =
        blastmap::inventory::Inventory::load(Path::new(&path("fixtures/demo/pipelines.yaml")))
            .unwrap();
    let evaluate = || {
        blastmap::review::Review::open(&snap, Some(&inv), Default::default())
            .findings(
                &blastmap::rules::RuleSet::builtin(),
                &blastmap::rules::engine::RunOptions::default(),
            )
            .unwrap()
    };
    let report = evaluate();
    assert_eq!(report.rules.len(), TESTED.len());
    assert!(report.count_at_least(blastmap::rules::Severity::Critical) > 0);
    // Fingerprints are stable across runs and distinct per finding.
    let again = evaluate();
    let a: Vec<&str> = report
        .findings
        .iter()
        .map(|f| f.fingerprint.as_str())
        .collect();
    let b: Vec<&str> = again
        .findings
        .iter()
        .map(|f| f.fingerprint.as_str())
        .collect();
    assert_eq!(a, b);
    assert_eq!(a.iter().collect::<BTreeSet<_>>().len(), a.len());
}

/// A chain two steps deep: the pipeline mints a secret-id for AppRole role `batch`, whose policy
/// can rewrite itself. Depth 1 sees only the login; depth 2 sees full control.
#[test]
fn escalation_chains_are_followed_transitively() {
    let dir = tempfile::tempdir().unwrap();
    let src = path("fixtures/rules/escalation.credential-mint/trigger");
    let mut snap: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{src}/snapshot.json")).unwrap())
            .unwrap();
    for p in snap["namespaces"][0]["policies"].as_array_mut().unwrap() {
        if p["name"] == "app-batch" {
            let text = p["policy"].as_str().unwrap().to_string()
                + "\npath \"sys/policies/acl/app-batch\" {\n  capabilities = [\"update\"]\n}\n";
            p["policy"] = Value::String(text);
        }
    }
    std::fs::write(
        dir.path().join("snapshot.json"),
        serde_json::to_string_pretty(&snap).unwrap(),
    )
    .unwrap();
    std::fs::copy(
        format!("{src}/pipelines.json"),
        dir.path().join("pipelines.json"),
    )
    .unwrap();
    let run_depth = |depth: &str| {
        let (_, v) = findings(&[
            "--snapshot".into(),
            dir.path().join("snapshot.json").display().to_string(),
            "--pipelines".into(),
            dir.path().join("pipelines.json").display().to_string(),
            "--escalation-depth".into(),
            depth.into(),
        ]);
        list(&v)
            .iter()
            .find(|f| {
                f["rule"] == "escalation.credential-mint" && f["subject"]["id"] == "app-deploy"
            })
            .cloned()
            .unwrap()
    };
    let shallow = run_depth("1");
    assert_eq!(shallow["severity"], "high");
    assert_eq!(shallow["evidence"]["max_depth"], 1);
    assert!(shallow["evidence"]["full_namespaces"]
        .as_array()
        .unwrap()
        .is_empty());
    let deep = run_depth("3");
    assert_eq!(deep["severity"], "critical");
    assert_eq!(deep["evidence"]["max_depth"], 2);
    assert_eq!(deep["evidence"]["full_namespaces"], serde_json::json!([""]));
    let chain = deep["evidence"]["chains"][0]["steps"].as_array().unwrap();
    let kinds: Vec<&str> = chain.iter().map(|s| s["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["secret-id-mint", "policy-write"]);
    assert_eq!(deep["evidence"]["chains"][0]["gain"], "full-namespace");
    // The whole estate is now in the pipeline's blast radius.
    let br = &deep["evidence"]["blast_radius"];
    assert!(br["escalated"].as_u64().unwrap() > 0);
}

/// The clean estate with one more JWT mount (`config`) holding role `r` (`bound_claims`): the
/// `owner-unbound` findings on it.
fn owner_unbound_on(config: Value, bound_claims: Value) -> usize {
    let mut snap: Value = serde_json::from_str(
        &std::fs::read_to_string(path("fixtures/rules/clean/snapshot.json")).unwrap(),
    )
    .unwrap();
    let role = serde_json::json!({"name": "r", "role_type": "jwt", "bound_audiences": ["https://bao.acme.example"],
        "bound_claims": bound_claims, "bound_claims_type": "string", "user_claim": "sub",
        "token_policies": ["app-deploy"], "token_ttl": 600, "token_max_ttl": 900});
    let mount = serde_json::json!({"path": "ci/", "type": "jwt", "accessor": "auth_jwt_ci",
        "config": config, "roles": {"jwt": [role]}});
    snap["namespaces"][0]["auth_mounts"]
        .as_array_mut()
        .unwrap()
        .push(mount);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("snapshot.json");
    std::fs::write(&file, serde_json::to_string(&snap).unwrap()).unwrap();
    let (_, v) = findings(&[
        "--snapshot".into(),
        file.to_str().unwrap().into(),
        "--pipelines".into(),
        path("fixtures/rules/clean/pipelines.json"),
    ]);
    list(&v)
        .iter()
        .filter(|f| {
            f["rule"] == "workload-constraints.owner-unbound"
                && f["subject"]["id"] == "auth/ci/role/r"
        })
        .count()
}

/// HCP Terraform's issuer and audience are every organisation's: a workspace name does not pin
/// the tenant, the organisation id does. Bitbucket and Azure DevOps issuers are per tenant, but
/// their keys are shared: without `bound_issuer` the workspace UUID or `org_id` must be bound.
#[test]
fn owner_unbound_on_hcp_terraform_bitbucket_and_azure_devops() {
    let tfc = serde_json::json!({"bound_issuer": "https://app.terraform.io"});
    let by_name = serde_json::json!({"terraform_workspace_name": "billing-prod"});
    let by_org = serde_json::json!({"terraform_organization_id": "org-Hk3dPq8sLm2Xv9Ra",
        "terraform_workspace_name": "billing-prod"});
    assert_eq!(owner_unbound_on(tfc.clone(), by_name), 1);
    assert_eq!(owner_unbound_on(tfc, by_org), 0);
    let bb_url = "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc";
    let branch = serde_json::json!({"branchName": "main"});
    assert_eq!(
        owner_unbound_on(
            serde_json::json!({"oidc_discovery_url": bb_url}),
            branch.clone()
        ),
        1
    );
    assert_eq!(
        owner_unbound_on(
            serde_json::json!({"oidc_discovery_url": bb_url, "bound_issuer": bb_url}),
            branch
        ),
        0
    );
    let ado_url = "https://vstoken.dev.azure.com/5c3f1e2d-8a4b-4c6d-9e0f-1a2b3c4d5e6f";
    let org = serde_json::json!({"org_id": "5c3f1e2d-8a4b-4c6d-9e0f-1a2b3c4d5e6f"});
    assert_eq!(
        owner_unbound_on(serde_json::json!({"oidc_discovery_url": ado_url}), org),
        0
    );
    assert_eq!(
        owner_unbound_on(
            serde_json::json!({"oidc_discovery_url": ado_url}),
            serde_json::json!({"def_id": "12"})
        ),
        1
    );
}

/// The GitHub grant rule on its trigger: the organisation's grant (every member) is high; the
/// `engineering` team's mapping adds write access beyond it, medium, with only what it adds;
/// the `platform` team's mapping adds nothing.
#[test]
fn github_grants_are_judged_for_the_organisation_and_for_each_team() {
    let (_, v) = findings(&estate(
        "fixtures/rules/workload-constraints.github-broad-grant/trigger",
    ));
    let grants: Vec<&Value> = list(&v)
        .iter()
        .filter(|f| f["rule"] == "workload-constraints.github-broad-grant")
        .collect();
    let scoped = |scope: &str| {
        grants
            .iter()
            .find(|f| f["evidence"]["scope"] == scope)
            .unwrap_or_else(|| panic!("no {scope} grant: {grants:#?}"))
    };
    let org = scoped("organization");
    assert_eq!(org["severity"], "high");
    assert_eq!(org["evidence"]["secrets"], 1, "{org:#}");
    assert_eq!(org["evidence"]["write_secrets"], 0);
    assert_eq!(org["evidence"]["owners"], json!(["app"]));
    let team = scoped("team");
    assert_eq!(team["severity"], "medium");
    assert_eq!(team["evidence"]["team"], "engineering");
    // ops/break-glass, which no team owns, read and written.
    assert_eq!(team["evidence"]["secrets"], 1, "{team:#}");
    assert_eq!(team["evidence"]["write_secrets"], 1);
    assert_eq!(team["evidence"]["unowned"], 1);
    // The `platform` team adds nothing beyond the organisation's grant: no finding.
    assert_eq!(grants.len(), 2, "{grants:#?}");
}
