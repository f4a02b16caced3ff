//! `blastmap findings --format sarif` is valid SARIF 2.1.0 (checked against the OASIS JSON schema
//! vendored in `tests/schemas/`, see its NOTICE.md) and carries what GitHub code scanning needs:
//! rule metadata with `security-severity`, a relative file location with a line per result,
//! stable `partialFingerprints`, and SARIF suppressions for suppressed findings.

use assert_cmd::Command;
use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const DEMO: &[&str] = &[
    "--snapshot",
    "fixtures/demo/snapshot.json",
    "--pipelines",
    "fixtures/demo/pipelines.yaml",
];

fn sarif(args: &[&str]) -> Value {
    findings_as("sarif", args)
}

/// `blastmap findings --format FORMAT ARGS`, which must succeed, parsed as JSON.
fn findings_as(format: &str, args: &[&str]) -> Value {
    let out = Command::cargo_bin("blastmap")
        .unwrap()
        .current_dir(ROOT)
        .args(["findings", "--format", format])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn validate(doc: &Value) {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{ROOT}/tests/schemas/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.set_default_draft(boon::Draft::V7);
    compiler
        .add_resource("http://blastmap.test/sarif-schema-2.1.0.json", schema)
        .unwrap();
    let idx = compiler
        .compile("http://blastmap.test/sarif-schema-2.1.0.json", &mut schemas)
        .unwrap();
    if let Err(e) = schemas.validate(doc, idx) {
        panic!("SARIF output does not validate against the SARIF 2.1.0 schema:\n{e:#}");
    }
}

#[test]
fn demo_sarif_is_valid_and_fit_for_code_scanning() {
    let doc = sarif(&[
        "--snapshot",
        "fixtures/demo/snapshot.json",
        "--pipelines",
        "fixtures/demo/pipelines.yaml",
    ]);
    validate(&doc);
    assert_eq!(doc["version"], "2.1.0");
    let run = &doc["runs"][0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "blastmap");
    let rules = driver["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 64);
    for r in rules {
        let sev: f64 = r["properties"]["security-severity"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((0.0..=10.0).contains(&sev));
        assert!(r["shortDescription"]["text"].is_string());
        assert!(r["help"]["markdown"].is_string());
        assert!(["error", "warning", "note"]
            .contains(&r["defaultConfiguration"]["level"].as_str().unwrap()));
    }
    let results = run["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for res in results {
        let idx = res["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], res["ruleId"]);
        let loc = &res["locations"][0]["physicalLocation"];
        let uri = loc["artifactLocation"]["uri"].as_str().unwrap();
        assert!(
            uri == "fixtures/demo/snapshot.json"
                || uri == "fixtures/demo/pipelines.yaml"
                || uri == "fixtures/demo/platform-workspaces.json"
                || uri.starts_with("fixtures/demo/kubernetes/"),
            "{uri}"
        );
        assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1);
        assert!(res["partialFingerprints"]["blastmapFinding/v1"].is_string());
    }
    // Pipeline findings point into the inventory at the pipeline, role findings into the
    // snapshot at the role.
    let pipelines =
        std::fs::read_to_string(format!("{ROOT}/fixtures/demo/pipelines.yaml")).unwrap();
    let snapshot = std::fs::read_to_string(format!("{ROOT}/fixtures/demo/snapshot.json")).unwrap();
    let line_of = |text: &str, n: u64| text.lines().nth(n as usize - 1).unwrap().to_string();
    let esc = results
        .iter()
        .find(|r| r["ruleId"] == "escalation.policy-write")
        .unwrap();
    let l = &esc["locations"][0]["physicalLocation"];
    assert_eq!(l["artifactLocation"]["uri"], "fixtures/demo/pipelines.yaml");
    assert!(
        line_of(&pipelines, l["region"]["startLine"].as_u64().unwrap())
            .contains("platform-terraform")
    );
    let owner = results
        .iter()
        .find(|r| {
            r["ruleId"] == "workload-constraints.owner-unbound"
                && r["message"]["text"]
                    .as_str()
                    .is_some_and(|t| t.contains("auth/gha/role/lint"))
        })
        .unwrap();
    let l = &owner["locations"][0]["physicalLocation"];
    assert_eq!(l["artifactLocation"]["uri"], "fixtures/demo/snapshot.json");
    assert!(line_of(&snapshot, l["region"]["startLine"].as_u64().unwrap()).contains("\"lint\""));
    assert_eq!(owner["level"], "error");
}

#[test]
fn suppressed_findings_carry_sarif_suppressions() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.yaml");
    std::fs::write(
        &file,
        "suppressions:\n  - rule: exposure.audit-log-raw\n    reason: accepted for the SIEM migration\n",
    )
    .unwrap();
    let doc = sarif(&[
        "--snapshot",
        "fixtures/rules/exposure.audit-log-raw/trigger/snapshot.json",
        "--pipelines",
        "fixtures/rules/exposure.audit-log-raw/trigger/pipelines.json",
        "--suppress",
        file.to_str().unwrap(),
    ]);
    validate(&doc);
    let res = &doc["runs"][0]["results"][0];
    assert_eq!(res["ruleId"], "exposure.audit-log-raw");
    assert_eq!(res["suppressions"][0]["kind"], "external");
    assert_eq!(
        res["suppressions"][0]["justification"],
        "accepted for the SIEM migration"
    );
}

#[test]
fn empty_result_is_valid() {
    let doc = sarif(&[
        "--snapshot",
        "fixtures/rules/clean/snapshot.json",
        "--pipelines",
        "fixtures/rules/clean/pipelines.json",
    ]);
    validate(&doc);
    assert!(doc["runs"][0]["results"].as_array().unwrap().is_empty());
}

/// GitLab's security report (`--format gitlab-sast`): what GitLab's report schema 15 requires of
/// the report, its scan and each vulnerability, and that findings line up with SARIF's.
#[test]
fn gitlab_sast_report_has_what_gitlab_requires_and_matches_sarif() {
    let report = findings_as("gitlab-sast", DEMO);
    assert!(report["version"].as_str().unwrap().starts_with("15."));
    let scan = &report["scan"];
    assert_eq!(scan["type"], "sast");
    assert_eq!(scan["status"], "success");
    for tool in ["analyzer", "scanner"] {
        for field in ["id", "name", "version"] {
            assert!(
                scan[tool][field].as_str().is_some_and(|v| !v.is_empty()),
                "{tool}.{field}"
            );
        }
        assert_eq!(scan[tool]["vendor"]["name"], "blastmap");
    }
    for time in ["start_time", "end_time"] {
        let t = scan[time].as_str().unwrap();
        let shape: String = t
            .chars()
            .map(|c| if c.is_ascii_digit() { '9' } else { c })
            .collect();
        assert_eq!(shape, "9999-99-99T99:99:99", "{time} {t}");
    }
    let severities = ["Info", "Unknown", "Low", "Medium", "High", "Critical"];
    let vulnerabilities = report["vulnerabilities"].as_array().unwrap();
    let mut ids = std::collections::BTreeSet::new();
    for v in vulnerabilities {
        let id = v["id"].as_str().unwrap();
        assert!(
            !id.is_empty() && ids.insert(id.to_string()),
            "ids are unique: {id}"
        );
        assert!(severities.contains(&v["severity"].as_str().unwrap()), "{v}");
        let name = v["name"].as_str().unwrap();
        assert!(!name.is_empty() && name.chars().count() <= 255, "{name}");
        let identifiers = v["identifiers"].as_array().unwrap();
        assert!(!identifiers.is_empty());
        for i in identifiers {
            for field in ["type", "name", "value"] {
                assert!(i[field].as_str().is_some_and(|s| !s.is_empty()), "{i}");
            }
        }
        assert!(
            v["location"]["file"]
                .as_str()
                .is_some_and(|f| !f.is_empty()),
            "{v}"
        );
        assert!(v["location"]["start_line"].as_u64().unwrap() >= 1, "{v}");
    }
    // The same findings, at the same places, as the SARIF log (whose URIs are percent-encoded
    // forms of the same paths; the demo's paths need no encoding).
    let sarif = sarif(DEMO);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), vulnerabilities.len());
    for (r, v) in results.iter().zip(vulnerabilities) {
        assert_eq!(r["partialFingerprints"]["blastmapFinding/v1"], v["id"]);
        assert_eq!(r["ruleId"], v["identifiers"][0]["value"]);
        let location = &r["locations"][0]["physicalLocation"];
        assert_eq!(location["artifactLocation"]["uri"], v["location"]["file"]);
        assert_eq!(location["region"]["startLine"], v["location"]["start_line"]);
    }
}

/// A finding about a Kubernetes store points at the store in its own manifest (its exposure's
/// file and line), not at the snapshot.
#[test]
fn a_shared_store_finding_points_at_the_store() {
    let doc = sarif(&[
        "--snapshot",
        "fixtures/demo/snapshot.json",
        "--pipelines",
        "fixtures/demo/pipelines.yaml",
    ]);
    let results = doc["runs"][0]["results"].as_array().unwrap();
    let store = results
        .iter()
        .find(|r| r["ruleId"] == "identity-isolation.k8s-shared-store")
        .expect("the demo's shared ClusterSecretStore is a finding");
    let location = &store["locations"][0]["physicalLocation"];
    assert_eq!(
        location["artifactLocation"]["uri"],
        "fixtures/demo/kubernetes/platform.yaml"
    );
    assert_eq!(location["region"]["startLine"], 6);
}

/// A store shared by consumers of two teams, with no setting at fault of its own (no open
/// `conditions`): the finding points at the store object, as its consumers recorded it.
#[test]
fn a_store_shared_only_by_teams_points_at_the_store_object() {
    let case = "fixtures/rules/identity-isolation.k8s-shared-store/trigger";
    let snapshot = format!("{case}/snapshot.json");
    let pipelines = format!("{case}/pipelines.json");
    let args = [
        "--snapshot",
        snapshot.as_str(),
        "--pipelines",
        pipelines.as_str(),
    ];
    let facts = findings_as("json", &args);
    let finding = facts["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "identity-isolation.k8s-shared-store")
        .expect("the trigger fixture's store is a finding");
    assert_eq!(finding["evidence"]["file"], "k8s/platform/stores.yaml");
    assert_eq!(finding["evidence"]["line"], 7);
    let doc = sarif(&args);
    let result = doc["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "identity-isolation.k8s-shared-store")
        .unwrap();
    let location = &result["locations"][0]["physicalLocation"];
    assert_eq!(
        location["artifactLocation"]["uri"],
        "k8s/platform/stores.yaml"
    );
    assert_eq!(location["region"]["startLine"], 7);
}
