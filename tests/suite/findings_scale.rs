//! Findings on a large synthetic estate (the performance check at the target size).
//! Ignored by default: it writes an 80 MB snapshot and takes tens of seconds in a debug build.
//!
//! ```sh
//! cargo test --release --test findings_scale -- --ignored --nocapture
//! BLASTMAP_SCALE=0.1 cargo test --release --test findings_scale -- --ignored --nocapture
//! ```
//!
//! `BLASTMAP_SCALE` multiplies the target size (1,000,000 secrets, 20,000 policies, 10,000 roles,
//! 5,000 pipelines, 50 namespaces). The test prints the stage timings `--timings` reports and
//! checks that every family still produces findings and that the facts stay compact.

use std::time::Instant;

use assert_cmd::Command;
use serde_json::Value;

#[test]
#[ignore]
fn findings_on_a_large_synthetic_estate() {
    let scale: f64 = std::env::var("BLASTMAP_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let n = |x: f64| ((x * scale).round() as u64).max(1).to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("blastmap")
        .unwrap()
        .args([
            "synth",
            "--secrets",
            &n(1_000_000.0),
            "--policies",
            &n(20_000.0),
            "--roles",
            &n(10_000.0),
            "--pipelines",
            &n(5_000.0),
            "--namespaces",
            &n(50.0),
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let snapshot = dir.path().join("snapshot.json");
    let pipelines = dir.path().join("pipelines.yaml");
    let result = dir.path().join("findings.json");
    let t = Instant::now();
    let out = Command::cargo_bin("blastmap")
        .unwrap()
        .arg("findings")
        .arg("--snapshot")
        .arg(&snapshot)
        .arg("--pipelines")
        .arg(&pipelines)
        .args(["--format", "json", "--timings", "--output"])
        .arg(&result)
        .output()
        .unwrap();
    let wall = t.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "scale {scale}: findings end to end in {:.2}s",
        wall.as_secs_f64()
    );
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&std::fs::read(&result).unwrap()).unwrap();
    eprintln!("summary: {}", v["summary"]);
    let practices: std::collections::BTreeSet<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["practice"].as_str().unwrap())
        .collect();
    eprintln!("families with findings: {practices:?}");
    assert!(practices.len() >= 6, "{practices:?}");
    // The facts stay aggregated: well under 100 bytes per secret.
    let stderr = String::from_utf8_lossy(&out.stderr);
    let kib: u64 = stderr
        .split(" KiB of facts")
        .next()
        .and_then(|s| s.rsplit('(').next())
        .and_then(|s| s.trim().parse().ok())
        .unwrap();
    assert!(
        (kib as f64) * 1024.0 < 100.0 * 1_000_000.0 * scale,
        "facts of {kib} KiB"
    );
}
