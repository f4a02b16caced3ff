//! `blastmap path`: how exactly a pipeline reaches a secret, every chain ranked by length, read
//! from the blast-radius graph (`docs/graph.md`).

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{bail, Result};

use super::Outcome;
use crate::facts::FactsOptions;
use crate::graph::path::{Chain, ChainStep, PathQuery, PathsAnswer, PipelinePaths, SecretRef};
use crate::review::{Estate, ReviewOptions};
use crate::text::{dot_id, dot_label, visible};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(super) enum Format {
    Table,
    Json,
    Dot,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A snapshot written by `blastmap export`.
    #[arg(long, value_name = "FILE")]
    snapshot: PathBuf,
    /// The pipeline inventory (YAML or JSON; see docs/pipelines.md).
    #[arg(long, value_name = "FILE")]
    pipelines: PathBuf,
    /// The pipeline the chains start from (alone: every secret it reaches).
    #[arg(long, value_name = "PIPELINE", required_unless_present = "to")]
    from: Option<String>,
    /// The secret's API path, relative to --namespace (alone: every pipeline that reaches it).
    #[arg(long, value_name = "SECRET")]
    to: Option<String>,
    /// Namespace of --to (root by default).
    #[arg(long, value_name = "NS", default_value = "")]
    namespace: String,
    /// Chains listed per pipeline and secret, shortest first (all are counted).
    #[arg(long, value_name = "N", default_value_t = 10)]
    max_paths: usize,
    /// Follow privilege-escalation steps this many steps deep (0: direct access only).
    #[arg(long, value_name = "N", default_value_t = 3)]
    escalation_depth: usize,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

pub(super) fn run(args: Args) -> Result<Outcome> {
    let estate = Estate::load(&args.snapshot, Some(&args.pipelines))?;
    let inventory = estate.inventory.as_ref().expect("loaded with an inventory");
    if let Some(from) = &args.from {
        if !inventory.pipelines.iter().any(|p| &p.name == from) {
            bail!(
                "no pipeline {from:?} in {}; `blastmap reach --pipelines {}` lists them",
                args.pipelines.display(),
                args.pipelines.display()
            );
        }
    }
    let to = args.to.as_ref().map(|path| SecretRef {
        namespace: crate::model::namespace_path(&args.namespace).into_owned(),
        path: path.trim_start_matches('/').to_string(),
    });
    let review = estate.review(ReviewOptions {
        facts: FactsOptions {
            escalation_depth: args.escalation_depth,
            ..FactsOptions::default()
        },
    });
    if let Some(secret) = &to {
        let full = format!("{}{}", secret.namespace, secret.path);
        if review.analysis().secrets.find(&full).is_none() {
            bail!(
                "no secret {full:?} in {}: blastmap knows the secrets the snapshot lists (give \
                 the API path, e.g. secret/data/app/db, and its namespace with --namespace)",
                args.snapshot.display()
            );
        }
    }
    let graph = review.graph();
    let query = PathQuery {
        max_paths: args.max_paths,
        to,
    };
    let answer = review.paths(&graph, args.from.as_deref(), &query);
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &answer)?;
            out.write_all(b"\n")?;
        }
        Format::Table => write_table(&mut out, &answer)?,
        Format::Dot => write_dot(&mut out, &answer)?,
    }
    out.flush()?;
    super::finish(Outcome::Success)
}

fn write_table(out: &mut dyn Write, answer: &PathsAnswer) -> std::io::Result<()> {
    if answer.pipelines.is_empty() {
        if let Some(to) = &answer.to {
            writeln!(
                out,
                "no pipeline reaches {} (escalation followed {} steps)",
                visible(&format!("{}{}", to.namespace, to.path)),
                answer.escalation_depth
            )?;
        }
        return Ok(());
    }
    for pipeline in &answer.pipelines {
        write_pipeline(out, pipeline, answer.escalation_depth)?;
    }
    Ok(())
}

fn write_pipeline(out: &mut dyn Write, p: &PipelinePaths, depth: usize) -> std::io::Result<()> {
    writeln!(out, "pipeline {}", visible(&p.pipeline))?;
    if p.targets.is_empty() {
        writeln!(
            out,
            "  reaches nothing asked for (escalation followed {depth} steps)"
        )?;
    }
    for target in &p.targets {
        let mut reach = Vec::new();
        if !target.capabilities.is_empty() {
            reach.push(format!("{} directly", target.capabilities.join(",")));
        }
        if !target.escalated_capabilities.is_empty() {
            reach.push(format!(
                "{} through escalation",
                target.escalated_capabilities.join(",")
            ));
        }
        writeln!(
            out,
            "  {}{}: {}; {} chain(s), shortest {} hops",
            visible(&target.namespace),
            visible(&target.path),
            reach.join("; "),
            target.chains_total,
            target.shortest
        )?;
        for (number, chain) in target.chains.iter().enumerate() {
            write_chain(out, number + 1, chain)?;
        }
        if target.chains_total > target.chains.len() {
            writeln!(
                out,
                "    … and {} longer or equal chain(s) (--max-paths)",
                target.chains_total - target.chains.len()
            )?;
        }
    }
    for unknown in &p.unknowns {
        writeln!(out, "  unknown: {}", visible(unknown))?;
    }
    if p.walks_truncated {
        writeln!(
            out,
            "  unknown: escalation walks were cut at the budget; more chains may exist"
        )?;
    }
    Ok(())
}

fn write_chain(out: &mut dyn Write, number: usize, chain: &Chain) -> std::io::Result<()> {
    writeln!(
        out,
        "    {number}. [{} hops, {}] {}",
        chain.length,
        chain.capabilities.join(","),
        chain.steps[1..]
            .iter()
            .map(|s| visible(&s.label()).into_owned())
            .collect::<Vec<_>>()
            .join(" → ")
    )
}

/// The chains as one DOT graph: each distinct step a node, each hop an edge.
fn write_dot(out: &mut dyn Write, answer: &PathsAnswer) -> std::io::Result<()> {
    writeln!(out, "digraph blastmap_path {{")?;
    writeln!(out, "  rankdir=LR;")?;
    writeln!(out, "  node [shape=box, fontname=\"Helvetica\"];")?;
    let mut nodes: BTreeMap<String, &ChainStep> = BTreeMap::new();
    let mut edges: BTreeMap<(String, String), ()> = BTreeMap::new();
    for pipeline in &answer.pipelines {
        for target in &pipeline.targets {
            for chain in &target.chains {
                let ids: Vec<String> = chain.steps.iter().map(step_id).collect();
                for (id, step) in ids.iter().zip(&chain.steps) {
                    nodes.entry(id.clone()).or_insert(step);
                }
                for pair in ids.windows(2) {
                    edges.insert((pair[0].clone(), pair[1].clone()), ());
                }
            }
        }
    }
    for (id, step) in &nodes {
        let shape = match step {
            ChainStep::Pipeline { .. } => "shape=component, style=filled, fillcolor=\"#dbe9f6\"",
            ChainStep::Secret { .. } => "shape=note, style=filled, fillcolor=\"#fde2e1\"",
            ChainStep::Escalation { .. } | ChainStep::FullControl { .. } => {
                "shape=octagon, style=filled, fillcolor=\"#fff2cc\""
            }
            _ => "shape=box",
        };
        writeln!(
            out,
            "  {} [label={}, {shape}];",
            dot_id(id),
            dot_label(&[step.label()])
        )?;
    }
    for (a, b) in edges.keys() {
        writeln!(out, "  {} -> {};", dot_id(a), dot_id(b))?;
    }
    writeln!(out, "}}")
}

/// A node id for a step: its label, which names it fully.
fn step_id(step: &ChainStep) -> String {
    step.label()
}
