//! `blastmap discover` on the fixtures of `fixtures/discover/`, and what it wrote: the
//! inventory, its pipelines' claims, dynamic values and exposures (shared by the discovery
//! tests).

use std::ffi::OsStr;
use std::path::Path;

use assert_cmd::Command;
use blastmap::inventory::{Inventory, Pipeline};
use serde_json::Value;

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// `blastmap ARGS` from the repository root.
pub fn run<S: AsRef<OsStr>>(args: &[S]) -> std::process::Output {
    Command::cargo_bin("blastmap")
        .unwrap()
        .current_dir(ROOT)
        .args(args)
        .output()
        .unwrap()
}

/// `blastmap discover ARGS`, which must succeed: the inventory and standard error (the notes).
pub fn discover<S: AsRef<OsStr>>(args: &[S]) -> (Inventory, String) {
    let mut all: Vec<&OsStr> = vec![OsStr::new("discover")];
    all.extend(args.iter().map(AsRef::as_ref));
    let out = run(&all);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "discover failed: {stderr}");
    let text = String::from_utf8(out.stdout).unwrap();
    let inv = Inventory::from_yaml_str(&text, "discovered.yaml")
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    (inv, stderr)
}

/// An expected inventory of `fixtures/discover/expected/`.
pub fn expected(name: &str) -> Inventory {
    Inventory::load(
        &Path::new(ROOT)
            .join("fixtures/discover/expected")
            .join(name),
    )
    .unwrap()
}

/// Equal inventories, the first differing pipeline named.
pub fn assert_same(got: &Inventory, want: &Inventory) {
    for (g, w) in got.pipelines.iter().zip(&want.pipelines) {
        assert_eq!(g, w, "pipeline {} differs", g.name);
    }
    assert_eq!(got, want);
}

pub fn pipeline<'a>(inv: &'a Inventory, name: &str) -> &'a Pipeline {
    inv.pipeline(name)
        .unwrap_or_else(|| panic!("no pipeline {name}"))
}

pub fn claim<'a>(p: &'a Pipeline, k: &str) -> Option<&'a Value> {
    p.auth.claims.as_ref()?.get(k)
}

/// The expression recorded for a dynamic field.
pub fn dynamic(p: &Pipeline, field: &str) -> Option<String> {
    p.dynamic
        .iter()
        .find(|d| d.field == field)
        .map(|d| d.expression.clone())
}

/// The pipeline's exposures as (kind, line).
pub fn exposures(p: &Pipeline) -> Vec<(String, Option<usize>)> {
    let ci = p.ci.as_ref().unwrap();
    ci.exposures
        .iter()
        .map(|e| (e.kind.clone(), e.line))
        .collect()
}

/// A directory written for a test: each (relative path, text).
pub fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in files {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}
