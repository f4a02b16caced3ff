//! `blastmap graph` exports loaded into real graph engines: the CSV into ladybug (an embedded
//! openCypher engine) whose Cypher answers equal `reach`, `who-can` and the escalation facts;
//! the GraphML read back with networkx, whose reachability equals `reach` and, with escalation
//! steps, the facts' blast radius; the OpenGraph JSON checked against BloodHound's documented
//! fields, with as many nodes and edges as the graph. Several estates and `--since` too.
//!
//! The Python side lives in `tests/graph_engines/`; `scripts/test.sh` installs ladybug and
//! networkx in the project's `.venv` and names its interpreter in `BLASTMAP_PYTHON`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;
use serde_json::Value;

const SNAP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo/snapshot.json");
const PIPES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo/pipelines.yaml");

fn blastmap() -> Command {
    Command::cargo_bin("blastmap").unwrap()
}

/// The project's Python with ladybug and networkx: `$BLASTMAP_PYTHON`, else `.venv/bin/python`.
fn python() -> PathBuf {
    let python = std::env::var_os("BLASTMAP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    let ok = Process::new(&python)
        .args(["-c", "import ladybug, networkx"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{} cannot import ladybug and networkx: run `bash scripts/test.sh`, which installs them \
         in .venv/ (pip install ladybug==0.22.0 networkx==3.6.1)",
        python.display()
    );
    python
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/graph_engines")
        .join(name)
}

fn json_of(args: &[&str]) -> Value {
    let out = blastmap().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn run_python(args: &[&str]) -> Value {
    let out = Process::new(python()).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// An estate on disk: the demo, or a small synthetic one.
struct Estate {
    _dir: Option<tempfile::TempDir>,
    snapshot: String,
    pipelines: String,
}

fn demo() -> Estate {
    Estate {
        _dir: None,
        snapshot: SNAP.into(),
        pipelines: PIPES.into(),
    }
}

fn synthetic(seed: &str) -> Estate {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap().to_string();
    blastmap()
        .args([
            "synth",
            "--secrets",
            "400",
            "--policies",
            "30",
            "--roles",
            "20",
            "--pipelines",
            "15",
            "--namespaces",
            "3",
            "--seed",
            seed,
            "--out",
            &out,
        ])
        .assert()
        .success();
    Estate {
        snapshot: format!("{out}/snapshot.json"),
        pipelines: format!("{out}/pipelines.yaml"),
        _dir: Some(dir),
    }
}

impl Estate {
    fn args<'a>(&'a self, command: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec![
            command,
            "--snapshot",
            &self.snapshot,
            "--pipelines",
            &self.pipelines,
        ];
        args.extend_from_slice(extra);
        args
    }

    fn export(&self, format: &str, out: &Path) {
        let out = out.to_str().unwrap();
        blastmap()
            .args(self.args("graph", &["--format", format, "--out", out]))
            .assert()
            .success();
    }

    /// pipeline → export secret id → capabilities, from `blastmap reach`.
    fn reach(&self) -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
        let reach = json_of(&self.args("reach", &["--format", "json"]));
        reach["pipelines"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| !p["secrets"].as_array().unwrap().is_empty())
            .map(|p| {
                let secrets = p["secrets"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| {
                        let id = format!(
                            "snapshot:secret:{}{}",
                            s["namespace"].as_str().unwrap(),
                            s["path"].as_str().unwrap()
                        );
                        let caps = s["capabilities"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|c| c.as_str().unwrap().to_string())
                            .collect();
                        (id, caps)
                    })
                    .collect();
                (p["name"].as_str().unwrap().to_string(), secrets)
            })
            .collect()
    }

    fn facts(&self) -> Value {
        json_of(&self.args("facts", &[]))
    }
}

fn assert_cypher_agrees(estate: &Estate, what: &str) {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("csv");
    estate.export("csv", &csv);
    let reach = estate.reach();
    let secrets: BTreeSet<String> = reach
        .values()
        .flat_map(|s| s.keys().cloned())
        .take(6)
        .collect();
    let mut args = vec![
        script("cypher.py").to_str().unwrap().to_string(),
        csv.to_str().unwrap().to_string(),
    ];
    args.extend(secrets.iter().cloned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let answer = run_python(&args);
    let cypher_reach: BTreeMap<String, BTreeMap<String, Vec<String>>> =
        serde_json::from_value(answer["reach"].clone()).unwrap();
    assert_eq!(
        cypher_reach, reach,
        "{what}: Cypher's reach equals blastmap reach"
    );
    for secret in &secrets {
        let (namespace_and_path, _) = (secret.trim_start_matches("snapshot:secret:"), ());
        let expected: BTreeSet<String> = reach
            .iter()
            .filter(|(_, s)| s.contains_key(secret))
            .map(|(p, _)| p.clone())
            .collect();
        let found: BTreeSet<String> =
            serde_json::from_value(answer["who_can"][secret].clone()).unwrap();
        assert_eq!(
            found, expected,
            "{what}: who can reach {namespace_and_path}"
        );
    }
    let facts = estate.facts();
    let writers: BTreeSet<String> = facts["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            p["escalations"]
                .as_array()
                .is_some_and(|e| e.iter().any(|e| e["kind"] == "policy-write"))
        })
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    let found: BTreeSet<String> = serde_json::from_value(answer["policy_writers"].clone()).unwrap();
    assert_eq!(found, writers, "{what}: pipelines that can write policies");
}

#[test]
fn csv_in_ladybug_answers_reach_and_who_can_on_the_demo() {
    assert_cypher_agrees(&demo(), "demo");
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("csv");
    demo().export("csv", &csv);
    let answer = run_python(&[script("cypher.py").to_str().unwrap(), csv.to_str().unwrap()]);
    // docs/graph.md's example queries run as written and find something on the demo.
    assert!(!answer["shortest_to_payments"]
        .as_array()
        .unwrap()
        .is_empty());
    assert!(!answer["cross_team"].as_array().unwrap().is_empty());
    assert!(answer["policy_writers"]
        .as_array()
        .unwrap()
        .contains(&"platform-terraform".into()));
}

#[test]
fn csv_in_ladybug_answers_reach_and_who_can_on_a_synthetic_estate() {
    assert_cypher_agrees(&synthetic("5"), "synthetic");
}

fn assert_networkx_agrees(estate: &Estate, what: &str) {
    let dir = tempfile::tempdir().unwrap();
    let graphml = dir.path().join("estate.graphml");
    estate.export("graphml", &graphml);
    let answer = run_python(&[
        script("networkx_reach.py").to_str().unwrap(),
        graphml.to_str().unwrap(),
        "3",
    ]);
    let reach = estate.reach();
    for (pipeline, secrets) in &reach {
        let found: BTreeSet<String> = serde_json::from_value(
            answer["direct"][format!("snapshot:pipeline:{pipeline}")].clone(),
        )
        .unwrap();
        let expected: BTreeSet<String> = secrets.keys().cloned().collect();
        assert_eq!(found, expected, "{what}: {pipeline}'s reach in networkx");
    }
    for pipeline in estate.facts()["pipelines"].as_array().unwrap() {
        let name = pipeline["name"].as_str().unwrap();
        let radius = &pipeline["blast_radius"];
        let expected = radius["total"]
            .as_u64()
            .filter(|&t| t > 0)
            .or(radius["direct"].as_u64())
            .unwrap_or(0);
        let found = answer["escalated"][format!("snapshot:pipeline:{name}")]
            .as_u64()
            .unwrap_or(0);
        assert_eq!(found, expected, "{what}: {name}'s blast radius in networkx");
    }
}

#[test]
fn graphml_in_networkx_equals_reach_and_the_blast_radius() {
    assert_networkx_agrees(&demo(), "demo");
    assert_networkx_agrees(&synthetic("11"), "synthetic");
}

/// Property values BloodHound accepts: strings, numbers, booleans, arrays of one primitive type.
fn assert_property_map(what: &str, value: &Value) {
    let map = value
        .as_object()
        .unwrap_or_else(|| panic!("{what}: properties"));
    for (key, v) in map {
        let ok = match v {
            Value::String(_) | Value::Number(_) | Value::Bool(_) => true,
            Value::Array(items) => {
                items.iter().all(Value::is_string)
                    || items.iter().all(Value::is_number)
                    || items.iter().all(Value::is_boolean)
            }
            _ => false,
        };
        assert!(ok, "{what}: property {key} = {v}");
    }
}

fn is_kind(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[test]
fn opengraph_has_bloodhounds_documented_shape_and_the_graphs_counts() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("demo.json");
    demo().export("opengraph", &file);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let top: BTreeSet<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(top, BTreeSet::from(["metadata", "graph"]));
    let metadata = doc["metadata"].as_object().unwrap();
    assert_eq!(metadata.len(), 1, "metadata holds only source_kind");
    assert!(is_kind(metadata["source_kind"].as_str().unwrap()));
    let nodes = doc["graph"]["nodes"].as_array().unwrap();
    let edges = doc["graph"]["edges"].as_array().unwrap();
    let mut ids = BTreeSet::new();
    for node in nodes {
        let id = node["id"].as_str().expect("a string id");
        assert!(
            !id.is_empty() && ids.insert(id.to_string()),
            "unique id {id}"
        );
        let kinds = node["kinds"].as_array().unwrap();
        assert!((1..=3).contains(&kinds.len()));
        for k in kinds {
            let k = k.as_str().unwrap();
            assert!(is_kind(k) && k.starts_with("BM_"), "node kind {k}");
        }
        assert_property_map(id, &node["properties"]);
    }
    for edge in edges {
        let kind = edge["kind"].as_str().unwrap();
        assert!(is_kind(kind) && kind.starts_with("BM_"), "edge kind {kind}");
        for end in ["start", "end"] {
            assert_eq!(edge[end]["match_by"], "id");
            let value = edge[end]["value"].as_str().unwrap();
            assert!(ids.contains(value), "{end} {value} is a node");
        }
        assert_property_map(kind, &edge["properties"]);
    }
    let snapshot = blastmap::model::Snapshot::load(Path::new(SNAP)).unwrap();
    let inventory = blastmap::inventory::Inventory::load(Path::new(PIPES)).unwrap();
    let review = blastmap::review::Review::open(&snapshot, Some(&inventory), Default::default());
    let graph = review.graph();
    assert_eq!(nodes.len(), graph.node_count());
    assert_eq!(edges.len(), graph.edge_count());
    let escalations = edges.iter().filter(|e| e["kind"] == "BM_Escalates").count();
    assert!(escalations > 0, "escalation edges are exported");
    let with_findings = nodes
        .iter()
        .filter(|n| n["properties"]["findings_count"].as_u64().unwrap_or(0) > 0)
        .count();
    assert!(with_findings > 10, "findings are on their nodes");
}

#[test]
fn several_estates_in_one_graph_and_what_is_new_since_a_base() {
    let dir = tempfile::tempdir().unwrap();
    // The second estate: the demo with payments-deploy's policy also granting checkout's secrets.
    let mut snapshot: Value =
        serde_json::from_str(&std::fs::read_to_string(SNAP).unwrap()).unwrap();
    for policy in snapshot["namespaces"][0]["policies"]
        .as_array_mut()
        .unwrap()
    {
        if policy["name"] == "payments-deploy" {
            let text = policy["policy"].as_str().unwrap().to_string();
            policy["policy"] = format!(
                "{text}\npath \"secret/data/checkout/*\" {{\n  capabilities = [\"read\"]\n}}\n"
            )
            .into();
        }
    }
    let changed = dir.path().join("prod-us.json");
    std::fs::write(&changed, serde_json::to_string(&snapshot).unwrap()).unwrap();
    let out = dir.path().join("org.json");
    let changed = changed.to_str().unwrap();
    blastmap()
        .args([
            "graph",
            "--snapshot",
            SNAP,
            "--snapshot",
            changed,
            "--pipelines",
            PIPES,
            "--estate",
            "prod-eu",
            "--estate",
            "prod-us",
            "--since",
            SNAP,
            "--since",
            SNAP,
            "--format",
            "opengraph",
            "--out",
            out.to_str().unwrap(),
            "--no-findings",
        ])
        .assert()
        .success();
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let nodes = doc["graph"]["nodes"].as_array().unwrap();
    let per_estate = |e: &str| {
        nodes
            .iter()
            .filter(|n| n["id"].as_str().unwrap().starts_with(&format!("{e}:")))
            .count()
    };
    assert!(per_estate("prod-eu") > 100);
    assert_eq!(per_estate("prod-eu") + per_estate("prod-us"), nodes.len());
    let added: Vec<&Value> = doc["graph"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["properties"]["added"] == true)
        .collect();
    assert!(!added.is_empty(), "the new grants are marked");
    for edge in &added {
        assert!(
            edge["start"]["value"]
                .as_str()
                .unwrap()
                .starts_with("prod-us:"),
            "only the changed estate has new edges: {edge}"
        );
    }
    assert!(added.iter().any(|e| e["kind"] == "BM_Grants"
        && e["end"]["value"]
            .as_str()
            .unwrap()
            .starts_with("prod-us:secret:secret/data/checkout/")));
}

#[test]
fn graph_refuses_mismatched_arguments_and_unwritable_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--format", "csv", "--out", file.to_str().unwrap()],
            "writes a directory",
        ),
        (
            vec![
                "--format",
                "opengraph",
                "--out",
                dir.path().to_str().unwrap(),
            ],
            "is a directory",
        ),
        (
            vec!["--format", "graphml", "--out", "x.graphml", "--estate=-bad"],
            "estate id",
        ),
        (
            vec![
                "--format",
                "graphml",
                "--out",
                "x.graphml",
                "--since",
                SNAP,
                "--since",
                SNAP,
            ],
            "--since once per --snapshot",
        ),
    ];
    for (extra, says) in cases {
        let mut args = vec!["graph", "--snapshot", SNAP, "--pipelines", PIPES];
        args.extend(extra);
        let out = blastmap().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "x",
        "nothing overwritten"
    );
}
