//! Per-stage cost of the whole analysis over synthetic estates: snapshot load, analysis
//! build (policies parsed, secrets indexed), reach for every pipeline, graph build, findings
//! (facts, then the Rego rules over them), the `teams` and `overview` diagrams, a what-if diff of
//! two snapshots that differ in one role, and the generator itself.
//!
//! Sizes: small (10k secrets, 200 policies, 100 roles, 50 pipelines, 5 namespaces) and medium
//! (100k / 2k / 1k / 500 / 20) always; large (the issue's 1M / 20k / 10k / 5k / 50) with
//! `BLASTMAP_BENCH_LARGE=1`. On the large estate criterion measures only the fast stages (synth,
//! load, analysis); every stage is also timed once per size and printed before its group:
//!
//! ```text
//! cargo bench --bench pipeline
//! cargo bench --bench pipeline -- medium        # one size
//! BLASTMAP_BENCH_LARGE=1 cargo bench --bench pipeline -- large
//! ```
//!
//! Estates are written with `blastmap::synth::write` into a temporary directory, so the load
//! stage reads a real file. Sampling is flat with 10 samples: a stage that takes seconds runs
//! 10 times, not 55. End-to-end time and peak memory of the commands: `scripts/bench-e2e.sh`
//! (figures in `docs/performance.md`).

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};

use blastmap::inventory::Inventory;
use blastmap::model::Snapshot;
use blastmap::passes::reach::{Analysis, ReachOptions};
use blastmap::render::dot as views;
use blastmap::render::estate::EstateReach;
use blastmap::review::{Review, ReviewOptions};
use blastmap::rules::engine::RunOptions;
use blastmap::rules::RuleSet;
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
            .map(|p| {
                p.roles
                    .iter()
                    .filter(|r| r.verdict != blastmap::login::Verdict::Refused)
                    .count()
            })
            .sum();
        let started = Instant::now();
        let review = Review::open(&snapshot, Some(&inventory), ReviewOptions::default());
        let graph = review.graph();
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
        let rules = RuleSet::builtin();
        let started = Instant::now();
        let found = findings(&snapshot, &inventory, &rules);
        let findings_secs = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let est = EstateReach::build(&analysis);
        let teams = views::teams_view(&est, None, views::DEFAULT_MAX_NODES).to_dot();
        let overview = views::overview_view(&est, views::DEFAULT_MAX_NODES).to_dot();
        let dot_secs = started.elapsed().as_secs_f64();
        drop(est);
        let head = one_role_changed(&written.snapshot);
        let started = Instant::now();
        let delta = what_if(&snapshot, &head, &inventory);
        let diff_secs = started.elapsed().as_secs_f64();
        eprintln!(
            "estate {name}: {found} findings in {findings_secs:.2}s; teams and overview \
             diagrams ({} + {} bytes of DOT) in {dot_secs:.2}s; diff of one changed role \
             ({} pipelines change) in {diff_secs:.2}s",
            teams.len(),
            overview.len(),
            delta.pipelines.len(),
        );
        drop(delta);

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
            g.bench_function("graph", |b| b.iter(|| review.graph()));
        }
        if slow_stages {
            g.throughput(Throughput::Elements(params.pipelines as u64));
            g.bench_function("findings (facts + rules)", |b| {
                b.iter(|| findings(&snapshot, &inventory, &rules))
            });
            g.bench_function("dot teams + overview", |b| {
                b.iter(|| {
                    let est = EstateReach::build(&analysis);
                    let t = views::teams_view(&est, None, views::DEFAULT_MAX_NODES).to_dot();
                    let o = views::overview_view(&est, views::DEFAULT_MAX_NODES).to_dot();
                    t.len() + o.len()
                })
            });
            g.bench_function("diff (one role changed)", |b| {
                b.iter(|| what_if(&snapshot, &head, &inventory))
            });
        }
        g.finish();
    }
}

/// The findings of an estate: its review (analysis, reach of every pipeline, facts), then the
/// built-in rules over the facts. Returns the number of findings.
fn findings(snapshot: &Snapshot, inventory: &Inventory, rules: &RuleSet) -> usize {
    let review = Review::open(snapshot, Some(inventory), ReviewOptions::default());
    review
        .findings(rules, &RunOptions::default())
        .expect("rules run")
        .findings
        .len()
}

/// The reach delta of a what-if: the base's review, the head's derived from it.
fn what_if(base: &Snapshot, head: &Snapshot, inventory: &Inventory) -> blastmap::diff::DiffReport {
    let base = Review::open(base, Some(inventory), ReviewOptions::default());
    let head = Review::derive(&base, head);
    blastmap::diff::diff(&base, &head)
}

/// The snapshot at `path` with one role changed: the first role with token policies also gets
/// the last policy of its namespace (a one-line change to a large estate).
fn one_role_changed(path: &std::path::Path) -> Snapshot {
    let text = std::fs::read_to_string(path).expect("snapshot text");
    let mut v: serde_json::Value = serde_json::from_str(&text).expect("snapshot JSON");
    assert!(blastmap::synth::change_one_role(&mut v), "a role to change");
    Snapshot::from_json_str(&v.to_string(), "head.json").expect("changed snapshot loads")
}

criterion_group!(benches, bench);
criterion_main!(benches);
