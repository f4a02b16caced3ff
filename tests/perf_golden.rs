//! The performance work of issue 8 restructured how reach, findings and diff are computed and
//! written (shared chains, streamed JSON, merge-join diff). Their outputs must not change: this
//! pins the SHA-256 of each on a synthetic estate to the bytes the implementation before that work
//! produced (commit 08a32ba), so any drift in order, content or formatting fails here.

use std::path::Path;

use assert_cmd::Command;

fn blastmap() -> Command {
    Command::cargo_bin("blastmap").unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn run(args: &[&str]) -> String {
    let out = blastmap().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "blastmap {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    sha256_hex(&out.stdout)
}

/// `head`: `snapshot` with the first role that has token policies given the last policy of its
/// namespace (the same change as `benches/pipeline.rs` and `scripts/bench-e2e.sh`).
fn one_role_changed(snapshot: &Path, head: &Path) {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(snapshot).unwrap()).unwrap();
    'done: for ns in v["namespaces"].as_array_mut().unwrap() {
        let Some(policy) = ns["policies"]
            .as_array()
            .and_then(|p| p.last())
            .and_then(|p| p["name"].as_str())
            .map(str::to_string)
        else {
            continue;
        };
        for m in ns["auth_mounts"].as_array_mut().into_iter().flatten() {
            let Some(kinds) = m.get_mut("roles").and_then(|r| r.as_object_mut()) else {
                continue;
            };
            for roles in kinds.values_mut() {
                for r in roles.as_array_mut().into_iter().flatten() {
                    if let Some(tp) = r.get_mut("token_policies").and_then(|t| t.as_array_mut()) {
                        tp.push(policy.into());
                        break 'done;
                    }
                }
            }
        }
    }
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
    let (s, p, h) = (
        snap.to_str().unwrap(),
        pipes.to_str().unwrap(),
        head.to_str().unwrap(),
    );

    assert_eq!(
        run(&[
            "reach",
            "--snapshot",
            s,
            "--pipelines",
            p,
            "--format",
            "json"
        ]),
        "91239434d107a982331d90d82e07ec9e6a25d081f72c3a096495f5360ad46c43",
        "reach --format json"
    );
    assert_eq!(
        run(&[
            "reach",
            "--snapshot",
            s,
            "--pipelines",
            p,
            "--format",
            "json",
            "--all-roles"
        ]),
        "d044484fd4815250d136c6de4e02515b4960460da80ed67f556fb231ae723cfa",
        "reach --format json --all-roles"
    );
    assert_eq!(
        run(&[
            "findings",
            "--snapshot",
            s,
            "--pipelines",
            p,
            "--format",
            "json"
        ]),
        "c1a8d51b39f086272a180bb9b989fe8d3d5da61c253863ba5e518cbd77d0388a",
        "findings --format json"
    );
    assert_eq!(
        run(&[
            "diff",
            "--base",
            s,
            "--head",
            h,
            "--pipelines",
            p,
            "--format",
            "json"
        ]),
        "c93eedd5c9d47d6cb485bef9368e5506ed5d5b7434a9658eac16157da65c22cb",
        "diff --format json"
    );
    assert_eq!(
        run(&["diff", "--base", s, "--head", h, "--format", "json"]),
        "f4f083eff33680ecd948c26edb3ecb3b28454c0be35b74ba799d4348b62cce83",
        "diff --format json, role level (no inventory)"
    );
}
