//! Per-stage cost of the whole analysis over synthetic estates (issue 8): snapshot load, analysis
//! build (policies parsed, secrets indexed), reach for every pipeline, graph build, and the
//! generator itself.
//!
//! Sizes: small (10k secrets, 200 policies, 100 roles, 50 pipelines, 5 namespaces) and medium
//! (100k / 2k / 1k / 500 / 20) always; large (the issue's 1M / 20k / 10k / 5k / 50) with
//! `BLASTMAP_BENCH_LARGE=1`. On the large estate, reach and graph take tens of seconds each, so
//! criterion measures only its fast stages (synth, load, analysis) and reach and graph are timed
//! once (printed before the group, as for every size):
//!
//! ```text
//! cargo bench --bench pipeline
//! BLASTMAP_BENCH_LARGE=1 cargo bench --bench pipeline -- large
//! ```
//!
//! Estates are written with `blastmap::synth::write` into a temporary directory, so the load
//! stage reads a real file. Sampling is flat with 10 samples: a stage that takes seconds runs
//! 10 times, not 55. End-to-end time and peak memory: `scripts/bench-e2e.sh`.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};

use blastmap::graph::BlastGraph;
use blastmap::inventory::Inventory;
use blastmap::model::Snapshot;
use blastmap::passes::reach::{Analysis, ReachOptions};
use blastmap::synth::{self, Params};

const SEED: u64 = 8;

/// (name, size, criterion measurement time, whether criterion also measures reach and graph)
fn sizes() -> Vec<(&'static str, Params, Duration, bool)> {
    let mut v = vec![
        ("small", Params::small(SEED), Duration::from_secs(2), true),
        ("medium", Params::medium(SEED), Duration::from_secs(4), true),
    ];
    if std::env::var("BLASTMAP_BENCH_LARGE").is_ok_and(|v| v == "1") {
        v.push(("large", Params::large(SEED), Duration::from_secs(10), false));
    }
    v
}

fn bench(c: &mut Criterion) {
    for (name, params, measurement, slow_stages) in sizes() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let started = Instant::now();
        let written = synth::write(&params, dir.path()).expect("synthetic estate");
        let synth_secs = started.elapsed().as_secs_f64();
        let snapshot = Snapshot::load(&written.snapshot).expect("snapshot loads");
        let inventory = Inventory::load(&written.pipelines).expect("inventory loads");
        let analysis = Analysis::new(&snapshot, &inventory);
        let started = Instant::now();
        let reach = analysis.reach(&ReachOptions::default());
        let reach_secs = started.elapsed().as_secs_f64();
        let admitted = reach
            .iter()
            .filter(|p| p.roles.iter().any(|r| r.admitted))
            .count();
        let grants: usize = reach.iter().map(|p| p.secrets.len()).sum();
        let logins: usize = reach
            .iter()
            .map(|p| p.roles.iter().filter(|r| r.verdict != "refused").count())
            .sum();
        let started = Instant::now();
        let graph = BlastGraph::build(&analysis, &reach);
        let graph_secs = started.elapsed().as_secs_f64();
        eprintln!(
            "estate {name}: {} ({:.1} MB snapshot, written in {synth_secs:.2}s); reach: \
             {admitted}/{} pipelines admitted somewhere, {logins} possible logins, {grants} \
             (pipeline, secret) grants, one run {reach_secs:.2}s; graph: {} nodes, {} edges, \
             one run {graph_secs:.2}s",
            written.summary,
            std::fs::metadata(&written.snapshot)
                .map(|m| m.len() as f64 / 1e6)
                .unwrap_or(0.0),
            reach.len(),
            graph.node_count(),
            graph.edge_count(),
        );
        drop(graph);

        let mut g = c.benchmark_group(format!("pipeline/{name}"));
        g.sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(measurement);

        g.throughput(Throughput::Elements(params.secrets as u64));
        g.bench_function("synth (in memory)", |b| {
            b.iter(|| synth::generate(&params).expect("estate"))
        });
        g.bench_function("load", |b| {
            b.iter(|| Snapshot::load(&written.snapshot).expect("snapshot loads"))
        });
        g.bench_function("analysis", |b| {
            b.iter(|| Analysis::new(&snapshot, &inventory))
        });
        if slow_stages {
            g.throughput(Throughput::Elements(params.pipelines as u64));
            g.bench_function("reach (all pipelines)", |b| {
                b.iter(|| analysis.reach(&ReachOptions::default()))
            });
            g.bench_function("graph", |b| b.iter(|| BlastGraph::build(&analysis, &reach)));
        }
        // Stages of later issues go here, over the same `analysis` and `reach`:
        // - findings (issue 5): the facts document and the Rego rules over it;
        // - dot views (issue 6): rendering the graph per pipeline and per team;
        // - diff (issue 7): a what-if change applied to `snapshot`, reach before and after.
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
