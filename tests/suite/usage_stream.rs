//! `usage` streams: a generated audit log of 250,000 lines (about 200 MB, OpenBao-shaped, with
//! large HMAC'd response bodies) is read line by line with bounded memory. Asserts are on
//! counts, which are deterministic, and on the peak resident set growing by far less than the
//! file (a whole-file read would grow it by at least the file's size); nothing is timed.

use std::io::{BufWriter, Write};

use blastmap::usage::collect::UseKey;
use blastmap::usage::Collector;

const RUNS: usize = 5_000;
const CALLS_PER_RUN: usize = 24;
const PIPELINES: usize = 50;
const PATHS: usize = 40;

fn acc(n: usize) -> String {
    format!("hmac-sha256:{n:064x}")
}

fn unlinked_run(run: usize) -> bool {
    run % 7 == 3
}

/// `VmHWM` (peak resident set) of this process, in KiB.
fn peak_rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

#[test]
fn streams_a_large_log_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    // A response body of ~700 bytes of HMAC'd values, as a KV read logs it.
    let body: String = (0..8)
        .map(|i| format!("\"k{i}\":\"hmac-sha256:{:064x}\"", i * 7919))
        .collect::<Vec<_>>()
        .join(",");
    let mut lines = 0u64;
    let mut malformed = 0u64;
    {
        let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(&path).unwrap());
        for run in 0..RUNS {
            let p = run % PIPELINES;
            let a = acc(run + 1);
            let t = format!(
                "2026-03-{:02}T{:02}:{:02}:00.{:09}Z",
                1 + run / 1000,
                (run / 60) % 24,
                run % 60,
                run
            );
            writeln!(w, r#"{{"time":"{t}","type":"request","auth":{{}},"request":{{"id":"l{run}","operation":"update","mount_point":"auth/approle/","mount_type":"approle","namespace":{{"id":"root"}},"path":"auth/approle/login","data":{{"role_id":"hmac-sha256:01","secret_id":"hmac-sha256:02"}}}}}}"#).unwrap();
            writeln!(w, r#"{{"time":"{t}","type":"response","auth":{{"accessor":"{a}","display_name":"approle","policies":["default","p{p}"],"token_policies":["default","p{p}"],"metadata":{{"role_name":"pipeline-{p}"}},"entity_id":"e-{p}","token_type":"service"}},"request":{{"id":"l{run}","operation":"update","mount_point":"auth/approle/","mount_type":"approle","namespace":{{"id":"root"}},"path":"auth/approle/login"}},"response":{{"auth":{{"client_token":"hmac-sha256:03","accessor":"{a}","display_name":"approle","policies":["default","p{p}"],"metadata":{{"role_name":"pipeline-{p}"}},"entity_id":"e-{p}"}}}}}}"#).unwrap();
            lines += 2;
            // Every 7th run's token is not linked (its login is "before the log"): its
            // requests use another accessor.
            let caller = if unlinked_run(run) {
                acc(1_000_000 + run)
            } else {
                a
            };
            for call in 0..CALLS_PER_RUN {
                let path = format!("secret/data/team{p}/s{}", (run + call) % PATHS);
                for kind in ["request", "response"] {
                    let resp = if kind == "response" {
                        format!(
                            r#","response":{{"mount_type":"kv","data":{{"data":{{{body}}},"metadata":{{"version":3}}}}}}"#
                        )
                    } else {
                        String::new()
                    };
                    writeln!(w, r#"{{"time":"{t}","type":"{kind}","auth":{{"client_token":"hmac-sha256:04","accessor":"{caller}","display_name":"token-x","policies":["default","p{p}"],"policy_results":{{"allowed":true,"granting_policies":[{{"name":"p{p}","namespace_id":"root","type":"acl"}}]}},"token_type":"service"}},"request":{{"id":"r{run}-{call}","operation":"read","mount_point":"secret/","mount_type":"kv","client_token_accessor":"{caller}","namespace":{{"id":"root"}},"path":"{path}","remote_address":"10.1.2.3"}}{resp}}}"#).unwrap();
                    lines += 1;
                }
            }
            if run % 1000 == 500 {
                writeln!(w, "{{\"truncated\": ").unwrap();
                lines += 1;
                malformed += 1;
            }
        }
        w.flush().unwrap();
    }
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(lines >= 200_000, "{lines} lines");
    assert!(size >= 150 << 20, "{size} bytes");

    let before = peak_rss_kib();
    let mut c = Collector::new(None);
    c.read_file(&path).unwrap();
    let after = peak_rss_kib();

    let s = &c.stats;
    assert_eq!(s.lines, lines);
    assert_eq!(s.malformed, malformed);
    assert_eq!(c.malformed.len() as u64, malformed);
    assert!(c.malformed.iter().all(|m| m.error.contains("EOF")));
    assert_eq!(s.logins, RUNS as u64);
    let calls = (RUNS * CALLS_PER_RUN) as u64;
    assert_eq!(s.request_entries, RUNS as u64 + calls);
    assert_eq!(s.response_entries, RUNS as u64 + calls);
    let unlinked = ((0..RUNS).filter(|&r| unlinked_run(r)).count() * CALLS_PER_RUN) as u64;
    assert_eq!(s.unattributed, unlinked);
    assert_eq!(s.attributed, calls - unlinked);
    assert_eq!(c.roles.len(), PIPELINES);
    for (k, r) in c.role_aggs() {
        let p: usize = k.role.strip_prefix("pipeline-").unwrap().parse().unwrap();
        assert_eq!(r.logins, (RUNS / PIPELINES) as u64);
        // Each pipeline's linked runs read all its paths.
        assert_eq!(r.used.len(), PATHS, "{}", k.display());
        let any = r
            .used
            .get(&UseKey {
                namespace: String::new(),
                path: format!("secret/data/team{p}/s0"),
                operation: "read".into(),
            })
            .unwrap();
        assert!(any.granted_by.contains(&format!("p{p}")));
    }
    let total: u64 = c
        .role_aggs()
        .values()
        .map(|r| r.used.values().map(|u| u.count).sum::<u64>())
        .sum();
    assert_eq!(total, calls - unlinked);
    // Memory: the peak grew by far less than the file (a whole-file read would add >= size).
    let grown = (after.saturating_sub(before)) * 1024;
    assert!(
        grown < size / 4,
        "peak RSS grew by {grown} bytes reading a {size}-byte log"
    );
    println!("{lines} lines, {size} bytes; peak RSS grew by {grown} bytes");
}

/// The CLI on a small log: malformed lines shown as `file:line`, exit 0; a bad `--since` or a
/// missing log is an error (exit 2).
#[test]
fn cli_reports_malformed_lines_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snapshot.json");
    blastmap::model::Snapshot::new(Default::default())
        .save(&snap)
        .unwrap();
    let log = dir.path().join("audit.log");
    std::fs::write(
        &log,
        "{\"type\":\"response\",\"time\":\"2026-01-01T00:00:00Z\",\"request\":{\"path\":\"sys/health\"}}\nnot json\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_blastmap"))
            .arg("usage")
            .arg("--snapshot")
            .arg(&snap)
            .args(args)
            .output()
            .unwrap()
    };
    let o = run(&["--audit-log", log.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(&format!("{}:2: not a JSON audit entry", log.display())),
        "{out}"
    );
    assert!(out.contains("1 unauthenticated"), "{out}");
    let o = run(&["--audit-log", log.to_str().unwrap(), "--since", "last week"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("RFC 3339"));
    let o = run(&[
        "--audit-log",
        dir.path().join("missing.log").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot open"));
}
