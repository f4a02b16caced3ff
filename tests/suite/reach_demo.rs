//! `blastmap reach` and `who-can` on the bundled demo estate: their JSON contracts and
//! the chains they report.

use assert_cmd::Command;
use serde_json::Value;

const SNAP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo/snapshot.json");
const PIPES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo/pipelines.yaml");

fn run(args: &[&str]) -> Value {
    let out = Command::cargo_bin("blastmap")
        .unwrap()
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

fn reach(pipeline: &str) -> Value {
    let v = run(&[
        "reach",
        "--snapshot",
        SNAP,
        "--pipelines",
        PIPES,
        "--pipeline",
        pipeline,
        "--format",
        "json",
    ]);
    let ps = v["pipelines"].as_array().unwrap();
    assert_eq!(ps.len(), 1);
    ps[0].clone()
}

fn secret<'a>(p: &'a Value, path: &str) -> Option<&'a Value> {
    p["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["path"] == path)
}

#[test]
fn reach_json_contract() {
    let p = reach("payments-deploy");
    for key in ["name", "team", "roles", "secrets", "unknowns"] {
        assert!(p.get(key).is_some(), "missing {key}");
    }
    assert_eq!(p["name"], "payments-deploy");
    assert_eq!(p["team"], "payments");
    for r in p["roles"].as_array().unwrap() {
        for key in ["mount", "role", "namespace", "admitted", "why"] {
            assert!(r.get(key).is_some(), "role lacks {key}: {r}");
        }
    }
    let s = secret(&p, "secret/data/payments/db").expect("payments-deploy reaches its db secret");
    for key in ["path", "mount", "key", "namespace", "capabilities", "via"] {
        assert!(s.get(key).is_some(), "secret lacks {key}: {s}");
    }
    assert_eq!(s["mount"], "secret/");
    assert_eq!(s["key"], "payments/db");
    assert_eq!(s["namespace"], "");
    assert_eq!(s["capabilities"], serde_json::json!(["read"]));
    let via = s["via"].as_array().unwrap();
    assert!(via.iter().any(|v| v["role"] == "payments-deploy"
        && v["policy"] == "payments-deploy"
        && v["rule"] == "secret/data/payments/*"));
    for v in via {
        for key in ["role", "policy", "rule"] {
            assert!(v.get(key).is_some());
        }
    }
}

#[test]
fn configured_role_is_reported_separately_from_the_union() {
    let p = reach("payments-deploy");
    let roles = p["roles"].as_array().unwrap();
    let conf: Vec<&Value> = roles.iter().filter(|r| r["configured"] == true).collect();
    assert_eq!(conf.len(), 1);
    assert_eq!(conf[0]["role"], "payments-deploy");
    assert_eq!(conf[0]["admitted"], true);
    // The glob-bound `lint` role admits every repository of the organisation, so the pipeline's
    // blast radius includes what `lint` grants although it is not configured to use it.
    assert!(roles
        .iter()
        .any(|r| r["role"] == "lint" && r["admitted"] == true));
    let s = secret(&p, "secret/data/ci/shared/npm-token").expect("reached through lint");
    assert_eq!(
        s["configured_role_capabilities"],
        serde_json::json!(["deny"])
    );
    let own = secret(&p, "secret/data/payments/deploy/kubeconfig").unwrap();
    assert_eq!(
        own["configured_role_capabilities"],
        serde_json::json!(["create", "read", "update"])
    );
}

#[test]
fn a_plus_rule_crosses_into_another_teams_secret() {
    let p = reach("checkout-ci");
    let s = secret(&p, "secret/data/payments/shared/fraud-api")
        .expect("checkout-read's secret/data/+/shared/* reaches payments");
    assert!(s["via"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["rule"] == "secret/data/+/shared/*"));
}

#[test]
fn child_namespace_secrets_are_reached_from_root_policies() {
    let p = reach("platform-terraform");
    let s = p["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["namespace"] == "data/")
        .expect("platform-admin's data/* rule reaches the data/ namespace");
    assert!(s["path"].as_str().unwrap().starts_with("secret/data/"));
}

#[test]
fn who_can_json_contract() {
    let v = run(&[
        "who-can",
        "--snapshot",
        SNAP,
        "--pipelines",
        PIPES,
        "--path",
        "secret/data/payments/db",
        "--format",
        "json",
    ]);
    assert_eq!(v["path"], "secret/data/payments/db");
    let subjects = v["subjects"].as_array().unwrap();
    for s in subjects {
        for key in ["pipeline", "team", "role", "capabilities", "via"] {
            assert!(s.get(key).is_some(), "subject lacks {key}: {s}");
        }
    }
    let names: Vec<&str> = subjects
        .iter()
        .map(|s| s["pipeline"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"payments-deploy"));
    assert!(names.contains(&"platform-terraform"));
    assert!(!names.contains(&"checkout-ci"));

    let writers = run(&[
        "who-can",
        "--snapshot",
        SNAP,
        "--pipelines",
        PIPES,
        "--path",
        "secret/data/payments/db",
        "--capability",
        "update",
        "--format",
        "json",
    ]);
    let w: Vec<&str> = writers["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["pipeline"].as_str().unwrap())
        .collect();
    assert_eq!(w, ["platform-terraform"]);
}

#[test]
fn unknown_pipeline_is_an_error() {
    Command::cargo_bin("blastmap")
        .unwrap()
        .args([
            "reach",
            "--snapshot",
            SNAP,
            "--pipelines",
            PIPES,
            "--pipeline",
            "nope",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("pipeline \"nope\" is not in"));
}

#[test]
fn graph_holds_the_chains() {
    use blastmap::graph::Node;
    use blastmap::inventory::Inventory;
    use blastmap::model::Snapshot;
    use blastmap::review::{Review, ReviewOptions};

    let snap = Snapshot::load(std::path::Path::new(SNAP)).unwrap();
    let inv = Inventory::load(std::path::Path::new(PIPES)).unwrap();
    let review = Review::open(&snap, Some(&inv), ReviewOptions::default());
    let g = review.graph();
    let p = g
        .find(&Node::Pipeline {
            name: "payments-deploy".into(),
        })
        .unwrap();
    let s = g
        .find(&Node::Secret {
            namespace: String::new(),
            path: "secret/data/payments/db".into(),
        })
        .unwrap();
    assert!(g.descendants(p).contains(&s), "pipeline → … → secret");
    let kinds: std::collections::BTreeSet<&str> = g
        .ancestors(s)
        .iter()
        .map(|&n| g.graph[n].kind().word())
        .collect();
    for k in [
        "pipeline",
        "token",
        "role",
        "policy",
        "team",
        "secret_mount",
    ] {
        assert!(kinds.contains(k), "{k} missing among {kinds:?}");
    }
}
