//! `blastmap graph`: the blast-radius graphs of one or more estates, exported for BloodHound CE
//! (OpenGraph), Neo4j and other engines (CSV) or yEd, Gephi and networkx (GraphML), with
//! findings on their nodes and, with `--since`, what is new since a base (`docs/graph.md`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::Outcome;
use crate::facts::FactsOptions;
use crate::graph::export::{self, EstateGraph, FindingMark, Format};
use crate::graph::BlastGraph;
use crate::model::Snapshot;
use crate::review::{Estate, Review, ReviewOptions};
use crate::rules::engine::RunOptions;
use crate::rules::RuleSet;
use crate::text::visible;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A snapshot written by `blastmap export` (repeatable: one graph holds every estate).
    #[arg(long, value_name = "FILE", required = true)]
    snapshot: Vec<PathBuf>,
    /// The pipeline inventory: once for every snapshot, or once per snapshot in the same order.
    #[arg(long, value_name = "FILE", required = true)]
    pipelines: Vec<PathBuf>,
    /// The estate id of each snapshot, in order (default: the snapshot's file name without
    /// `.json`); the first part of every node id.
    #[arg(long, value_name = "ID")]
    estate: Vec<String>,
    /// A base snapshot per --snapshot, in order: nodes and edges not in the base's graph are
    /// marked `added`.
    #[arg(long, value_name = "FILE")]
    since: Vec<PathBuf>,
    #[arg(long, value_enum)]
    format: Format,
    /// The file to write (a directory for csv).
    #[arg(long, value_name = "PATH")]
    out: PathBuf,
    /// Follow privilege-escalation steps this many steps deep (0: no escalation edges).
    #[arg(long, value_name = "N", default_value_t = 3)]
    escalation_depth: usize,
    /// Do not run the rules (no findings on the nodes; faster on a large estate).
    #[arg(long)]
    no_findings: bool,
}

/// One estate as given on the command line.
struct EstateInput<'a> {
    id: String,
    snapshot: &'a Path,
    pipelines: &'a Path,
    since: Option<&'a Path>,
}

pub(super) fn run(args: Args) -> Result<Outcome> {
    let inputs = estate_inputs(&args)?;
    preflight(&args)?;
    let options = ReviewOptions {
        facts: FactsOptions {
            escalation_depth: args.escalation_depth,
            ..FactsOptions::default()
        },
    };
    let mut loaded = Vec::new();
    for input in &inputs {
        let estate = Estate::load(input.snapshot, Some(input.pipelines))?;
        let base = match input.since {
            Some(path) => Some(Snapshot::load(path)?),
            None => None,
        };
        loaded.push((estate, base));
    }
    let mut graphs: Vec<(BlastGraph, Option<BlastGraph>, Vec<FindingMark>)> = Vec::new();
    for (estate, base) in &loaded {
        let findings = if args.no_findings {
            Vec::new()
        } else {
            findings_of(estate, &options)?
        };
        let base_graph = base.as_ref().map(|snapshot| {
            Review::open(snapshot, estate.inventory.as_ref(), options.clone()).graph()
        });
        // The review is dropped once its graph is built: the writers need only the graph.
        let graph = estate.review(options.clone()).graph();
        graphs.push((graph, base_graph, findings));
    }
    let mut views = Vec::new();
    for (input, (graph, base, findings)) in inputs.iter().zip(&graphs) {
        let mut view = EstateGraph::new(&input.id, graph);
        view.attach_findings(findings);
        if let Some(base) = base {
            view.since(base);
        }
        views.push(view);
    }
    let written = export::write(args.format, &views, &args.out)?;
    eprintln!(
        "wrote {} nodes and {} edges of {} estate(s) to {}",
        written.node_total(),
        written.edge_total(),
        views.len(),
        visible(&args.out.display().to_string())
    );
    for view in &views {
        if view.findings_without_node > 0 {
            eprintln!(
                "{}: {} finding(s) concern a CI job or a Kubernetes store, which are not nodes \
                 of the graph (see `blastmap findings`)",
                visible(&view.estate),
                view.findings_without_node
            );
        }
    }
    super::finish(Outcome::Success)
}

/// The findings of an estate, from a review of their own that is dropped (and its memory
/// returned) before the graph's review is opened: the two stages' peaks do not add up.
fn findings_of(estate: &Estate, options: &ReviewOptions) -> Result<Vec<FindingMark>> {
    let review = estate.review(options.clone());
    let findings = review
        .findings(&RuleSet::builtin(), &RunOptions::default())?
        .findings
        .iter()
        .map(FindingMark::of)
        .collect();
    drop(review);
    crate::review::return_free_memory();
    Ok(findings)
}

/// Pair every snapshot with its inventory, estate id and base.
fn estate_inputs(args: &Args) -> Result<Vec<EstateInput<'_>>> {
    let count = args.snapshot.len();
    if args.pipelines.len() != 1 && args.pipelines.len() != count {
        bail!(
            "give --pipelines once (for every snapshot) or once per --snapshot ({count}); got {}",
            args.pipelines.len()
        );
    }
    if !args.estate.is_empty() && args.estate.len() != count {
        bail!("give --estate once per --snapshot ({count}), or not at all");
    }
    if !args.since.is_empty() && args.since.len() != count {
        bail!("give --since once per --snapshot ({count}), or not at all");
    }
    let mut inputs = Vec::new();
    for (i, snapshot) in args.snapshot.iter().enumerate() {
        let id = match args.estate.get(i) {
            Some(id) => checked_estate_id(id)?,
            None => estate_id_of(snapshot)?,
        };
        if inputs.iter().any(|e: &EstateInput| e.id == id) {
            bail!("two estates have the id {id:?}: name them with --estate");
        }
        inputs.push(EstateInput {
            id,
            snapshot,
            pipelines: &args.pipelines[if args.pipelines.len() == 1 { 0 } else { i }],
            since: args.since.get(i).map(PathBuf::as_path),
        });
    }
    Ok(inputs)
}

/// An estate id: letters, digits, `.`, `_` and `-`, starting with a letter or digit (it starts
/// every node id, so it can never start a spreadsheet formula or carry a separator).
fn checked_estate_id(id: &str) -> Result<String> {
    let valid = id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !valid {
        bail!(
            "estate id {:?}: use up to 64 letters, digits, '.', '_' or '-', starting with a \
             letter or digit",
            visible(id)
        );
    }
    Ok(id.to_string())
}

/// The default estate id: the snapshot's file name without `.json`, other characters as `_`.
fn estate_id_of(snapshot: &Path) -> Result<String> {
    let stem = snapshot
        .file_name()
        .map(|n| n.to_string_lossy().trim_end_matches(".json").to_string())
        .unwrap_or_default();
    let mut id: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if !id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric()) {
        id.insert(0, 'e');
        id.truncate(64);
    }
    checked_estate_id(&id).with_context(|| {
        format!(
            "no estate id from {}: name it with --estate",
            snapshot.display()
        )
    })
}

/// Refuse an output that cannot be written before any work.
fn preflight(args: &Args) -> Result<()> {
    match args.format {
        Format::Csv => {
            if let Ok(meta) = std::fs::symlink_metadata(&args.out) {
                if !meta.is_dir() {
                    bail!(
                        "cannot write {}: the csv format writes a directory of files; give a \
                         directory (it is created when missing)",
                        args.out.display()
                    );
                }
            }
            Ok(())
        }
        Format::Opengraph | Format::Graphml => {
            crate::output::check(&args.out)?;
            Ok(())
        }
    }
}
