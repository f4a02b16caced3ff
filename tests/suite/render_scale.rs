//! Diagrams of large estates stay under `--max-nodes`, stay deterministic and render quickly:
//! a 100k-path synthetic estate (`blastmap synth`'s generator, 500 pipelines, 25 teams, 20
//! namespaces) in every view at several budgets. The 1M-path estate is the ignored
//! test below (`cargo test --release --test render_scale -- --ignored --nocapture`).

use std::time::Instant;

use crate::render_fixture::*;
use blastmap::passes::reach::{Analysis, ReachOptions};
use blastmap::render::dot::{overview_view, pipeline_view, secret_view, teams_view};
use blastmap::render::estate::{escalation_chains, EstateReach};
use blastmap::synth::{generate, Params};

fn check(what: &str, d: &blastmap::render::diagram::Diagram, max: usize, render: bool) -> String {
    assert!(
        d.node_count() <= max,
        "{what}: {} nodes > {max}",
        d.node_count()
    );
    let dot = d.to_dot();
    let n = count_nodes(&dot);
    assert!(n <= max, "{what}: {n} nodes in the DOT > {max}");
    if render {
        let t = Instant::now();
        let svg = dot_svg(&dot);
        assert_eq!(svg_node_count(&svg), n, "{what}");
        eprintln!(
            "{what}: {n} nodes, dot -Tsvg {:.2}s",
            t.elapsed().as_secs_f64()
        );
    }
    dot
}

fn run(params: Params, budgets: &[usize]) {
    let t0 = Instant::now();
    let (snap, inv) = generate(&params).unwrap();
    let analysis = Analysis::new(&snap, &inv);
    let est = EstateReach::build(&analysis);
    eprintln!(
        "{} secrets, {} pipelines, {} teams: estate, analysis and reach in {:.2}s",
        analysis.secrets.len(),
        inv.pipelines.len(),
        inv.teams.len(),
        t0.elapsed().as_secs_f64()
    );
    assert!(analysis.secrets.len() >= params.secrets);
    let per = est.per_pipeline();
    let biggest = (0..per.len())
        .max_by_key(|&i| (per[i].len(), std::cmp::Reverse(i)))
        .unwrap();
    let pipe = &inv.pipelines[biggest];
    let reach = analysis
        .reach(&ReachOptions {
            pipelines: vec![pipe.name.clone()],
            all_roles: false,
        })
        .remove(0);
    let (logins, tokens) = analysis.prepare(&[pipe]);
    let chains = escalation_chains(&analysis, &logins, &tokens, 3).remove(0);
    // The secret most pipelines reach.
    let mut hits = vec![0u32; analysis.secrets.len()];
    for s in &per {
        for id in s.ids() {
            hits[id as usize] += 1;
        }
    }
    let popular = (0..hits.len())
        .max_by_key(|&i| (hits[i], std::cmp::Reverse(i)))
        .unwrap();
    let secret = analysis.secrets.get(popular as u32);
    let who = analysis.who_can(&secret.namespace, &secret.path, None);
    eprintln!(
        "largest blast radius: {} ({} secrets); most reached secret: {}{} ({} pipelines)",
        pipe.name,
        reach.secrets.len(),
        secret.namespace,
        secret.path,
        hits[popular]
    );
    let team = inv.teams[0].name.clone();
    for &max in budgets {
        let render = max == budgets[0];
        let t = Instant::now();
        let d = teams_view(&est, None, max);
        let teams_s = t.elapsed().as_secs_f64();
        let a = check(
            &format!("teams (max {max}, view {teams_s:.2}s)"),
            &d,
            max,
            render,
        );
        assert_eq!(
            a,
            teams_view(&est, None, max).to_dot(),
            "teams view not deterministic"
        );
        let t = Instant::now();
        let d = overview_view(&est, max);
        let ov_s = t.elapsed().as_secs_f64();
        let a = check(
            &format!("overview (max {max}, view {ov_s:.2}s)"),
            &d,
            max,
            render,
        );
        assert_eq!(
            a,
            overview_view(&est, max).to_dot(),
            "overview not deterministic"
        );
        check(
            &format!("teams --team {team} (max {max})"),
            &teams_view(&est, Some(&team), max),
            max,
            render,
        );
        check(
            &format!("pipeline {} (max {max})", pipe.name),
            &pipeline_view(&est.owners, &reach, None, &chains, max),
            max,
            render,
        );
        check(
            &format!("secret {} (max {max})", secret.path),
            &secret_view(&analysis, &est.owners, &who, max),
            max,
            render,
        );
    }
}

#[test]
fn hundred_thousand_path_estate_stays_under_max_nodes() {
    run(
        Params {
            secrets: 100_000,
            policies: 2_000,
            roles: 1_000,
            pipelines: 500,
            namespaces: 20,
            seed: 6,
        },
        &[150, 60, 12],
    );
}

#[test]
#[ignore = "1M paths: run with --release --ignored"]
fn million_path_estate_stays_under_max_nodes() {
    run(Params::large(6), &[150, 40]);
}
