//! Shared helpers of the render tests (`tests/suite/render*.rs`, `tests/suite/report_browser.rs`): the demo
//! estate, a hostile variant of it (names with quotes, braces, HTML, newlines, backslashes, bidi
//! controls), running `blastmap` and Graphviz, counting DOT nodes, reading SVG text.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};

use assert_cmd::Command;
use graphviz_rust::dot_structures::{Graph, Stmt};

pub const SNAP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo/snapshot.json");
pub const PIPES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo/pipelines.yaml");

/// A policy name that tries to close the DOT string and add a node, with braces, HTML, an
/// entity, Graphviz escapes (`\n`, `\l`) and a trailing backslash. Lowercase: the server
/// lowercases policy names.
pub const POLICY: &str = "evil\"];\n injected [label=\"pwn\"] {x} <b>b</b> &amp; \\n\\l\\";
/// A group name that tries to close an SVG text element and inject a script, then a comment.
pub const GROUP: &str = "grp</text><script>alert(1)</script>\n-->";
/// A team name with quotes, braces, HTML, a Graphviz `\l`, `&` and a right-to-left override.
pub const TEAM: &str = "team \"q\" {br} <i>it</i> \\l & \u{202e}rtl";
/// A pipeline name that tries to add an edge, with a carriage return and a tag.
pub const PIPELINE: &str = "pipe\\\"]; a -> b; //\r<x>";
/// A secret key (under `payments/`) with a quote and an HTML event handler.
pub const SECRET_KEY: &str = "payments/evil\"<img src=x onerror=alert(1)>\\G";

pub fn blastmap() -> Command {
    Command::cargo_bin("blastmap").unwrap()
}

/// `dot`, or a clear failure: tests never skip for lack of Graphviz (`scripts/test.sh`
/// installs it).
pub fn dot_binary() -> String {
    let bin = std::env::var("BLASTMAP_DOT").unwrap_or_else(|_| "dot".into());
    match StdCommand::new(&bin).arg("-V").output() {
        Ok(o) if o.status.success() => bin,
        _ => panic!(
            "Graphviz (`dot`) not found: install it (`apt-get install graphviz`; scripts/test.sh \
             does it) or set BLASTMAP_DOT. The render tests never skip."
        ),
    }
}

/// Render DOT with `dot -Tsvg`, asserting Graphviz accepts it without a warning about syntax.
pub fn dot_svg(dot: &str) -> String {
    use std::io::Write;
    let mut child = StdCommand::new(dot_binary())
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = dot.as_bytes().to_vec();
    let w = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    w.join().unwrap().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "dot -Tsvg failed: {err}\n--- DOT ---\n{dot}"
    );
    assert!(
        !err.contains("syntax error") && !err.to_lowercase().contains("error"),
        "dot -Tsvg complained: {err}"
    );
    let svg = String::from_utf8(out.stdout).unwrap();
    assert!(svg.contains("<svg"), "no SVG from dot");
    svg
}

/// Nodes of a DOT graph (parsed with graphviz-rust, clusters walked).
pub fn count_nodes(dot: &str) -> usize {
    fn walk(stmts: &[Stmt]) -> usize {
        stmts
            .iter()
            .map(|s| match s {
                Stmt::Node(_) => 1,
                Stmt::Subgraph(sg) => walk(&sg.stmts),
                _ => 0,
            })
            .sum()
    }
    let g = graphviz_rust::parse(dot).unwrap_or_else(|e| panic!("DOT does not parse: {e}\n{dot}"));
    match g {
        Graph::DiGraph { stmts, .. } | Graph::Graph { stmts, .. } => walk(&stmts),
    }
}

/// Nodes Graphviz drew (`<g id="…" class="node">`).
pub fn svg_node_count(svg: &str) -> usize {
    svg.matches("class=\"node\"").count()
}

fn xml_unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let Some(j) = tail.find(';') else {
            out.push_str(tail);
            rest = "";
            break;
        };
        let ent = &tail[1..j];
        let c = match ent {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ if ent.starts_with("#x") => u32::from_str_radix(&ent[2..], 16)
                .ok()
                .and_then(char::from_u32),
            _ if ent.starts_with('#') => ent[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match c {
            Some(c) => {
                out.push(if c == '\u{a0}' { ' ' } else { c });
                rest = &tail[j + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The text lines Graphviz drew (`<text …>line</text>`), unescaped.
pub fn svg_texts(svg: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = svg;
    while let Some(i) = rest.find("<text") {
        let after = &rest[i..];
        let Some(gt) = after.find('>') else { break };
        let Some(end) = after.find("</text>") else {
            break;
        };
        out.push(xml_unescape(&after[gt + 1..end]));
        rest = &after[end + 7..];
    }
    out
}

/// How a name is shown: control and bidi characters as visible escapes (`render::escape`).
pub fn shown(name: &str) -> String {
    blastmap::render::escape::visible(name).into_owned()
}

/// The demo estate with hostile names: a policy (attached to the `payments-deploy` role and
/// deciding a hostile secret), a group, a team, a pipeline and a secret key.
pub struct Hostile {
    pub dir: tempfile::TempDir,
    pub snapshot: PathBuf,
    pub pipelines: PathBuf,
}

pub fn hostile_estate() -> Hostile {
    let mut snap: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(SNAP).unwrap()).unwrap();
    let root = &mut snap["namespaces"][0];
    // The policy: copy an existing one, rename it, grant the hostile key's prefix.
    let policies = root["policies"].as_array_mut().unwrap();
    let mut p = policies[0].clone();
    p["name"] = POLICY.into();
    p["policy"] =
        "path \"secret/data/payments/evil*\" {\n  capabilities = [\"read\", \"update\"]\n}\n"
            .into();
    policies.push(p);
    for m in root["auth_mounts"].as_array_mut().unwrap() {
        if m["path"] == "gha/" {
            for r in m["roles"]["jwt"].as_array_mut().unwrap() {
                if r["name"] == "payments-deploy" {
                    r["token_policies"]
                        .as_array_mut()
                        .unwrap()
                        .push(POLICY.into());
                }
            }
        }
    }
    for g in root["groups"].as_array_mut().unwrap() {
        if g["name"] == "engineering" {
            g["name"] = GROUP.into();
        }
    }
    for m in root["secret_mounts"].as_array_mut().unwrap() {
        if m["path"] == "secret/" {
            m["secrets"]["keys"]
                .as_array_mut()
                .unwrap()
                .push(SECRET_KEY.into());
        }
    }
    let mut inv = blastmap::inventory::Inventory::load(Path::new(PIPES)).unwrap();
    for t in &mut inv.teams {
        if t.name == "payments" {
            t.name = TEAM.into();
        }
    }
    for p in &mut inv.pipelines {
        if p.team.as_deref() == Some("payments") {
            p.team = Some(TEAM.into());
        }
        if p.name == "payments-deploy" {
            p.name = PIPELINE.into();
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("snapshot.json");
    let pipelines = dir.path().join("pipelines.json");
    std::fs::write(&snapshot, serde_json::to_string_pretty(&snap).unwrap()).unwrap();
    std::fs::write(&pipelines, serde_json::to_string_pretty(&inv).unwrap()).unwrap();
    Hostile {
        dir,
        snapshot,
        pipelines,
    }
}

/// Run `blastmap dot` and return the DOT text (asserting success).
pub fn dot_of(snapshot: &Path, pipelines: &Path, args: &[&str]) -> String {
    let out = blastmap()
        .arg("dot")
        .arg("--snapshot")
        .arg(snapshot)
        .arg("--pipelines")
        .arg(pipelines)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "blastmap dot {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A directory under `target/tmp` for artefacts a person may want to look at.
pub fn artefacts(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&d).unwrap();
    d
}
