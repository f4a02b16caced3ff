//! Export throughput against a local OpenBao dev server: 50,000 KV v2 keys in nested folders
//! (`team-NN/app-NN/env-N/secret-NN`, 2,510 folders), exported at the default concurrency and at
//! concurrency 1. Prints keys per second; the target is at least 2,000 keys/s at the default.
//!
//! ```text
//! BLASTMAP_BAO=/path/to/bao cargo bench --bench export
//! BLASTMAP_BENCH_KEYS=200000 cargo bench --bench export     # another size (multiple of 200)
//! ```
//!
//! Seeding writes the keys through the API with 8 threads (about 20 s for 50,000 on 2 cores); the
//! export runs through the library (`blastmap::export::export_blocking`), as the CLI does, with
//! no progress display. Without `--bench` (as `cargo test --benches` runs it) it seeds and exports
//! 1,000 keys once, as a smoke test.

#[path = "../tests/suite/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use blastmap::export::{
    export_blocking, Credentials, ExportOptions, KvLimits, Progress, TlsOptions,
    DEFAULT_CONCURRENCY,
};
use common::BaoServer;
use serde_json::json;

/// The folder layout for `total` keys: 10 teams × 50 apps × 4 envs × `total / 2000` secrets.
fn key_names(total: usize) -> Vec<String> {
    let per_env = (total / 2000).max(1);
    let mut keys = Vec::with_capacity(total);
    'outer: for t in 0..10 {
        for a in 0..50 {
            for e in 0..4 {
                for s in 0..per_env {
                    if keys.len() == total {
                        break 'outer;
                    }
                    keys.push(format!("team-{t:02}/app-{a:02}/env-{e}/secret-{s:02}"));
                }
            }
        }
    }
    keys
}

fn seed(server: &BaoServer, keys: &[String]) -> Duration {
    let start = Instant::now();
    server.post(
        "sys/mounts/bench",
        &json!({ "type": "kv", "options": { "version": "2" } }),
    );
    let threads = 8;
    std::thread::scope(|s| {
        for chunk in keys.chunks(keys.len().div_ceil(threads)) {
            let client = server.client().clone();
            s.spawn(move || {
                for k in chunk {
                    client.post(&format!("bench/data/{k}"), &json!({ "data": { "v": "x" } }));
                }
            });
        }
    });
    start.elapsed()
}

fn export_once(server: &BaoServer, concurrency: usize) -> (Duration, usize, u64) {
    let report = export_blocking(ExportOptions {
        address: server.addr().to_owned(),
        namespace: String::new(),
        credentials: Credentials::Token {
            token: server.root_token().to_owned(),
            source: "bench".into(),
        },
        tls: TlsOptions::default(),
        kv: Some(KvLimits {
            max_depth: 16,
            max_keys: 10_000_000,
        }),
        flavor: None,
        concurrency,
        retries: 4,
        backoff: Duration::from_millis(200),
        timeout: Duration::from_secs(60),
        max_response_bytes: blastmap::export::DEFAULT_MAX_RESPONSE_MIB * blastmap::export::MIB,
        max_requests: blastmap::export::DEFAULT_MAX_REQUESTS,
        progress: Progress::hidden(),
    })
    .unwrap_or_else(|e| panic!("export failed: {e}"));
    let snap = report.snapshot;
    let m = snap.namespaces[0]
        .secret_mount("bench")
        .expect("bench mount exported");
    assert!(m.secrets.is_complete(), "{:?}", m.secrets.listing);
    assert!(snap.coverage.is_empty(), "{:?}", snap.coverage);
    (report.elapsed, m.secrets.keys.len(), report.requests)
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let total: usize = if bench {
        std::env::var("BLASTMAP_BENCH_KEYS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(50_000)
    } else {
        1_000
    };
    let server = BaoServer::start();
    let keys = key_names(total);
    let seeded = seed(&server, &keys);
    println!(
        "seeded {} KV v2 keys in {:.1}s ({:.0} writes/s)",
        keys.len(),
        seeded.as_secs_f64(),
        keys.len() as f64 / seeded.as_secs_f64()
    );
    let runs = if bench { 3 } else { 1 };
    for concurrency in [DEFAULT_CONCURRENCY, 1] {
        let mut best: Option<(Duration, usize, u64)> = None;
        for _ in 0..runs {
            let r = export_once(&server, concurrency);
            assert_eq!(r.1, keys.len(), "every key exported");
            if best.is_none_or(|b| r.0 < b.0) {
                best = Some(r);
            }
        }
        let (elapsed, n, requests) = best.unwrap();
        let rate = n as f64 / elapsed.as_secs_f64();
        println!(
            "export at concurrency {concurrency:>2}: {n} keys in {:.2}s = {rate:.0} keys/s \
             ({requests} requests, best of {runs})",
            elapsed.as_secs_f64()
        );
        if bench && concurrency == DEFAULT_CONCURRENCY && rate < 2000.0 {
            eprintln!("warning: below the 2,000 keys/s target at the default concurrency");
        }
    }
}
