//! The blast-radius graph and `blastmap path`: the graph's answer equals `reach` (same secrets,
//! same capabilities) and the facts' blast radius (direct plus escalated secrets), every
//! escalation chain the facts report is a chain of `path`, and the command's JSON, table and
//! DOT outputs and errors, on the demo estate and on synthetic estates.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

use blastmap::graph::path::{ChainStep, PathQuery, PathsAnswer, SecretRef};
use blastmap::inventory::Inventory;
use blastmap::model::Snapshot;
use blastmap::passes::reach::ReachOptions;
use blastmap::review::{Review, ReviewOptions};

const SNAP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo/snapshot.json");
const PIPES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo/pipelines.yaml");

fn blastmap() -> Command {
    Command::cargo_bin("blastmap").unwrap()
}

fn demo() -> (Snapshot, Inventory) {
    (
        Snapshot::load(Path::new(SNAP)).unwrap(),
        Inventory::load(Path::new(PIPES)).unwrap(),
    )
}

/// (namespace, path) → capabilities.
type Caps = BTreeMap<(String, String), Vec<String>>;

/// Every pipeline's direct reach from `reach`, and from the graph's paths.
fn reach_both_ways(review: &Review<'_>, answer: &PathsAnswer) -> Vec<(String, Caps, Caps)> {
    let by_name: BTreeMap<&str, _> = answer
        .pipelines
        .iter()
        .map(|p| (p.pipeline.as_str(), p))
        .collect();
    review
        .reach(&ReachOptions::default())
        .into_iter()
        .map(|p| {
            let expected: Caps = p
                .secrets
                .iter()
                .map(|s| {
                    let caps = s.capabilities.iter().map(|c| c.to_string()).collect();
                    ((s.namespace.to_string(), s.path.clone()), caps)
                })
                .collect();
            let found: Caps = by_name
                .get(p.name.as_str())
                .map(|found| {
                    found
                        .targets
                        .iter()
                        .filter(|t| !t.capabilities.is_empty())
                        .map(|t| {
                            let caps = t.capabilities.iter().map(|c| c.to_string()).collect();
                            ((t.namespace.clone(), t.path.clone()), caps)
                        })
                        .collect()
                })
                .unwrap_or_default();
            (p.name, expected, found)
        })
        .collect()
}

/// The graph agrees with reach (direct) and the facts (blast radius), for every pipeline.
fn assert_graph_agrees(snapshot: &Snapshot, inventory: &Inventory, what: &str) {
    let review = Review::open(snapshot, Some(inventory), ReviewOptions::default());
    let graph = review.graph();
    let answer = review.paths(
        &graph,
        None,
        &PathQuery {
            max_paths: 2,
            to: None,
        },
    );
    let mut compared = 0;
    for (name, expected, found) in reach_both_ways(&review, &answer) {
        assert_eq!(found, expected, "{what}: {name}'s direct reach");
        compared += expected.len();
    }
    assert!(compared > 0, "{what}: some pipeline reaches something");
    let facts = serde_json::to_value(review.facts()).unwrap();
    for pipeline in facts["pipelines"].as_array().unwrap() {
        let name = pipeline["name"].as_str().unwrap();
        let total = pipeline["blast_radius"]["total"].as_u64().unwrap_or(0) as usize;
        let reached = answer
            .pipelines
            .iter()
            .find(|p| p.pipeline == name)
            .map_or(0, |p| p.targets.len());
        let direct = pipeline["blast_radius"]["direct"].as_u64().unwrap_or(0) as usize;
        let expected = if total == 0 { direct } else { total };
        assert_eq!(
            reached, expected,
            "{what}: {name}'s blast radius (direct and escalated)"
        );
    }
    for pipeline in &answer.pipelines {
        for target in &pipeline.targets {
            assert!(target.chains_total >= 1 && !target.chains.is_empty());
            for chain in &target.chains {
                assert_eq!(
                    chain.steps.last(),
                    Some(&ChainStep::Secret {
                        namespace: target.namespace.clone(),
                        path: target.path.clone()
                    }),
                    "{what}: a chain ends at its secret"
                );
                assert_eq!(
                    chain.steps.first(),
                    Some(&ChainStep::Pipeline {
                        name: pipeline.pipeline.clone()
                    })
                );
                assert_eq!(chain.length, chain.steps.len() - 1);
            }
            let lengths: Vec<usize> = target.chains.iter().map(|c| c.length).collect();
            assert!(lengths.windows(2).all(|w| w[0] <= w[1]), "ranked by length");
            assert_eq!(target.shortest, lengths[0]);
        }
    }
}

#[test]
fn path_equals_reach_and_the_blast_radius_on_the_demo() {
    let (snapshot, inventory) = demo();
    assert_graph_agrees(&snapshot, &inventory, "demo");
}

#[test]
fn path_equals_reach_and_the_blast_radius_on_synthetic_estates() {
    for seed in [1, 7, 23] {
        let params = blastmap::synth::Params::small(seed);
        let (snapshot, inventory) = blastmap::synth::generate(&params).unwrap();
        assert_graph_agrees(&snapshot, &inventory, &format!("synth seed {seed}"));
    }
}

/// The escalation steps of a facts chain: (kind, namespace, path, target).
fn fact_steps(chain: &Value) -> Vec<(String, String, String, String)> {
    chain["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let f = |k: &str| s[k].as_str().unwrap_or_default().to_string();
            (f("kind"), f("namespace"), f("path"), f("target"))
        })
        .collect()
}

#[test]
fn every_escalation_chain_of_the_findings_is_a_chain_of_path() {
    let (snapshot, inventory) = demo();
    let review = Review::open(&snapshot, Some(&inventory), ReviewOptions::default());
    let graph = review.graph();
    let facts = serde_json::to_value(review.facts()).unwrap();
    let mut checked = 0;
    for pipeline in facts["pipelines"].as_array().unwrap() {
        let name = pipeline["name"].as_str().unwrap();
        let Some(escalations) = pipeline["escalations"].as_array() else {
            continue;
        };
        let query = PathQuery {
            max_paths: usize::MAX,
            to: None,
        };
        let answer = review.paths(&graph, Some(name), &query);
        let walked: BTreeSet<Vec<(String, String, String, String)>> = answer.pipelines[0]
            .targets
            .iter()
            .flat_map(|t| &t.chains)
            .map(|c| {
                c.steps
                    .iter()
                    .filter_map(|s| match s {
                        ChainStep::Escalation { step } => Some((
                            step.kind.to_string(),
                            step.namespace.clone(),
                            step.path.clone(),
                            step.target.clone(),
                        )),
                        _ => None,
                    })
                    .collect()
            })
            .collect();
        for escalation in escalations {
            for chain in escalation["chains"].as_array().unwrap() {
                if chain["secrets"].as_u64().unwrap_or(0) == 0 {
                    continue;
                }
                let steps = fact_steps(chain);
                assert!(
                    walked.contains(&steps),
                    "{name}: the facts' chain {steps:?} is not a chain of path"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 3, "the demo has escalation chains ({checked})");
}

#[test]
fn depth_zero_is_direct_access_only() {
    let (snapshot, inventory) = demo();
    let options = ReviewOptions {
        facts: blastmap::facts::FactsOptions {
            escalation_depth: 0,
            ..Default::default()
        },
    };
    let review = Review::open(&snapshot, Some(&inventory), options);
    let graph = review.graph();
    let answer = review.paths(
        &graph,
        Some("platform-terraform"),
        &PathQuery {
            max_paths: 5,
            to: None,
        },
    );
    let targets = &answer.pipelines[0].targets;
    assert!(!targets.is_empty());
    for t in targets {
        assert!(t.escalated_capabilities.is_empty(), "{t:?}");
        assert!(t.chains.iter().all(|c| c.escalations == 0));
    }
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = blastmap().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn estate_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["path", "--snapshot", SNAP, "--pipelines", PIPES];
    args.extend_from_slice(extra);
    args
}

#[test]
fn path_json_names_the_chain_from_login_to_rule() {
    let (code, out, err) = run(&estate_args(&[
        "--from",
        "payments-deploy",
        "--to",
        "secret/data/payments/db",
        "--format",
        "json",
    ]));
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["to"]["path"], "secret/data/payments/db");
    let pipeline = &v["pipelines"][0];
    assert_eq!(pipeline["pipeline"], "payments-deploy");
    let target = &pipeline["targets"][0];
    assert_eq!(target["capabilities"], serde_json::json!(["read"]));
    let chain = &target["chains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["steps"][1]["role"] == "payments-deploy")
        .expect("the payments-deploy role's chain");
    let kinds: Vec<&str> = chain["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["pipeline", "login", "policy", "rule", "secret"]);
    assert_eq!(chain["steps"][2]["name"], "payments-deploy");
    assert_eq!(chain["steps"][3]["rule"], "secret/data/payments/*");
    assert!(chain["steps"][3]["line"].as_u64().unwrap() > 0);
}

#[test]
fn path_to_alone_lists_every_pipeline_that_reaches_the_secret() {
    let (code, out, err) = run(&estate_args(&[
        "--to",
        "secret/data/payments/db",
        "--format",
        "json",
        "--escalation-depth",
        "0",
    ]));
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let from_path: BTreeSet<String> = v["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pipeline"].as_str().unwrap().to_string())
        .collect();
    let (code, out, _) = run(&[
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
    assert_eq!(code, 0);
    let who: Value = serde_json::from_str(&out).unwrap();
    let from_who_can: BTreeSet<String> = who["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["pipeline"].as_str().map(str::to_string))
        .collect();
    assert!(from_who_can.len() >= 3, "{from_who_can:?}");
    assert_eq!(from_path, from_who_can);
}

#[test]
fn path_table_and_dot() {
    let (code, out, err) = run(&estate_args(&[
        "--from",
        "platform-terraform",
        "--to",
        "secret/data/payments/db",
        "--max-paths",
        "3",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("pipeline platform-terraform"), "{out}");
    assert!(out.contains("through escalation"), "{out}");
    assert!(out.contains("1. ["), "{out}");
    assert!(out.contains("(--max-paths)"), "{out}");
    let (code, dot, err) = run(&estate_args(&[
        "--from",
        "platform-terraform",
        "--to",
        "secret/data/payments/db",
        "--format",
        "dot",
    ]));
    assert_eq!(code, 0, "{err}");
    let mut child = std::process::Command::new("dot")
        .arg("-Tsvg")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("graphviz's dot (scripts/test.sh installs it)");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(dot.as_bytes())
        .unwrap();
    let svg = child.wait_with_output().unwrap();
    assert!(
        svg.status.success(),
        "{}",
        String::from_utf8_lossy(&svg.stderr)
    );
}

#[test]
fn path_refuses_unknown_pipelines_and_secrets() {
    let (code, _, err) = run(&estate_args(&["--from", "no-such-pipeline"]));
    assert_eq!(code, 2);
    assert!(err.contains("no pipeline \"no-such-pipeline\""), "{err}");
    let (code, _, err) = run(&estate_args(&["--to", "secret/data/nowhere"]));
    assert_eq!(code, 2);
    assert!(err.contains("no secret \"secret/data/nowhere\""), "{err}");
    let (code, _, err) = run(&["path", "--snapshot", SNAP, "--pipelines", PIPES]);
    assert_eq!(code, 2, "--from or --to is required: {err}");
}

#[test]
fn a_secret_nobody_reaches_has_no_pipeline() {
    let (snapshot, inventory) = demo();
    let review = Review::open(&snapshot, Some(&inventory), ReviewOptions::default());
    let graph = review.graph();
    let all: BTreeSet<(String, String)> = review
        .analysis()
        .secrets
        .secrets
        .iter()
        .map(|s| (s.namespace.to_string(), s.path.clone()))
        .collect();
    let reached: BTreeSet<(String, String)> = review
        .paths(
            &graph,
            None,
            &PathQuery {
                max_paths: 0,
                to: None,
            },
        )
        .pipelines
        .iter()
        .flat_map(|p| {
            p.targets
                .iter()
                .map(|t| (t.namespace.clone(), t.path.clone()))
        })
        .collect();
    let unreached = all.difference(&reached).next().cloned();
    if let Some((namespace, path)) = unreached {
        let answer = review.paths(
            &graph,
            None,
            &PathQuery {
                max_paths: 1,
                to: Some(SecretRef { namespace, path }),
            },
        );
        assert!(answer.pipelines.is_empty());
    }
}
