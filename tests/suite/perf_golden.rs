//! Digests of reach, findings and diff on a synthetic estate larger than the ones of
//! `tests/suite/golden.rs` (10,000 secrets, 200 policies, 100 roles, 50 pipelines over 5 namespaces),
//! where the secret index, the parallel evaluation and the merge-join diff work on enough data
//! to be split across threads and meet more policy shapes than the readable snapshots hold.
//! The digests are pinned to the output of the implementation before that work was restructured
//! (commit 08a32ba); a drift in order, content or formatting fails here, and the snapshots of
//! `tests/suite/golden.rs` usually show on a small estate what changed.
//!
//! `reach` is pinned byte for byte, but for the `schema_version` line added to it since (the
//! digests are of the document without that line). For `findings` and `diff` only the parts that work
//! restructured are pinned (the `findings` array; the diff's `pipelines`), re-serialised
//! compactly: rule families added later (the `exposure.ci-*` rules, which cannot fire on a
//! synthetic estate) change the rule count in the summary, and the findings delta of `diff` is
//! tested in `tests/suite/diff.rs`. To re-pin against a reference build, point `BLASTMAP_GOLDEN_BIN`
//! at its binary and read the hashes it prints in the failures.

use std::path::Path;

use assert_cmd::Command;

fn blastmap() -> Command {
    match std::env::var_os("BLASTMAP_GOLDEN_BIN") {
        Some(bin) => Command::new(bin),
        None => Command::cargo_bin("blastmap").unwrap(),
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn output(args: &[&str]) -> Vec<u8> {
    let out = blastmap().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "blastmap {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The hash of a `reach --format json` document without its `schema_version` line, which was
/// added after the digests were pinned: the rest must stay byte for byte what it was.
fn run_reach(args: &[&str]) -> String {
    let out = output(args);
    let line = b"  \"schema_version\": 1,\n";
    assert!(
        out.starts_with(b"{\n") && out[2..].starts_with(line),
        "reach --format json starts with its schema_version"
    );
    let mut without = out[..2].to_vec();
    without.extend_from_slice(&out[2 + line.len()..]);
    sha256_hex(&without)
}

/// The hash of one member of the JSON document printed, re-serialised compactly.
fn run_member(args: &[&str], member: &str) -> String {
    let v: serde_json::Value = serde_json::from_slice(&output(args)).unwrap();
    sha256_hex(serde_json::to_string(&v[member]).unwrap().as_bytes())
}

/// `head`: `snapshot` with the first role that has token policies given the last policy of its
/// namespace (`blastmap::synth::change_one_role`, also used by `benches/pipeline.rs`).
fn one_role_changed(snapshot: &Path, head: &Path) {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(snapshot).unwrap()).unwrap();
    assert!(blastmap::synth::change_one_role(&mut v), "a role to change");
    std::fs::write(head, v.to_string()).unwrap();
}

#[test]
fn outputs_on_a_synthetic_estate_are_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let dir_s = d.to_str().unwrap();
    blastmap()
        .args([
            "synth",
            "--secrets",
            "10000",
            "--policies",
            "200",
            "--roles",
            "100",
            "--pipelines",
            "50",
            "--namespaces",
            "5",
            "--seed",
            "8",
            "--out",
            dir_s,
        ])
        .assert()
        .success();
    let snap = d.join("snapshot.json");
    let pipes = d.join("pipelines.yaml");
    let head = d.join("head.json");
    one_role_changed(&snap, &head);
    let mut bad = Vec::new();
    let (s, p, h) = (
        snap.to_str().unwrap(),
        pipes.to_str().unwrap(),
        head.to_str().unwrap(),
    );

    check(
        &mut bad,
        run_reach(&[
            "reach",
            "--snapshot",
            s,
            "--pipelines",
            p,
            "--format",
            "json",
        ]),
        "91239434d107a982331d90d82e07ec9e6a25d081f72c3a096495f5360ad46c43",
        "reach --format json",
    );
    check(
        &mut bad,
        run_reach(&[
            "reach",
            "--snapshot",
            s,
            "--pipelines",
            p,
            "--format",
            "json",
            "--all-roles",
        ]),
        "d044484fd4815250d136c6de4e02515b4960460da80ed67f556fb231ae723cfa",
        "reach --format json --all-roles",
    );
    check(
        &mut bad,
        run_member(
            &[
                "findings",
                "--snapshot",
                s,
                "--pipelines",
                p,
                "--format",
                "json",
            ],
            "findings",
        ),
        "91b5fa1fbb9d0005061becc2b74f7d4212f4b41bbf3a01249272411071509b5a",
        "findings --format json",
    );
    check(
        &mut bad,
        run_member(
            &[
                "diff",
                "--base",
                s,
                "--head",
                h,
                "--pipelines",
                p,
                "--format",
                "json",
            ],
            "pipelines",
        ),
        "b3df59b66c1f52de76b8be9d8f1a7f5f35ad8360c900b2b7b899671dbeeda253",
        "diff --format json",
    );
    check(
        &mut bad,
        run_member(
            &["diff", "--base", s, "--head", h, "--format", "json"],
            "pipelines",
        ),
        "4f41ad6a868078ae63b95a792b4793955f37c32a032a6b2dfe5836f0adc5bf0f",
        "diff --format json, role level (no inventory)",
    );
    assert!(bad.is_empty(), "outputs changed:\n{}", bad.join("\n"));
}

fn check(bad: &mut Vec<String>, got: String, want: &str, what: &str) {
    if got != want {
        bad.push(format!("{what}: {got} (pinned {want})"));
    }
}
