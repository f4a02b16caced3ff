//! `blastmap report`: the review report, one self-contained HTML file (`docs/report.md`).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Result};

use super::Outcome;
use crate::facts::FactsOptions;
use crate::render::dot::{DEFAULT_MAX_NODES, MIN_NODES};
use crate::render::html::ReportOptions;
use crate::review::{Estate, ReviewOptions};
use crate::rules::RuleSet;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A snapshot written by `blastmap export`.
    #[arg(long, value_name = "FILE")]
    snapshot: PathBuf,
    /// The pipeline inventory (YAML or JSON; see docs/pipelines.md).
    #[arg(long, value_name = "FILE")]
    pipelines: PathBuf,
    /// A directory of your own .rego rules (repeatable), run with the built-in ones.
    #[arg(long = "queries", value_name = "DIR")]
    queries: Vec<PathBuf>,
    /// The HTML file to write (atomically: a temporary file renamed over it).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Node budget of every diagram (see `blastmap dot --max-nodes`).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_NODES)]
    max_nodes: usize,
    /// Draw the diagrams of at most this many pipelines (largest blast radius first).
    #[arg(long, value_name = "N", default_value_t = 100)]
    max_diagrams: usize,
    /// Follow privilege-escalation chains this many steps deep (0 disables the search).
    #[arg(long, value_name = "N", default_value_t = 3)]
    escalation_depth: usize,
}

pub(super) fn run(args: Args) -> Result<Outcome> {
    let started = Instant::now();
    crate::output::check(&args.out)?;
    if args.max_nodes < MIN_NODES {
        bail!("--max-nodes must be at least {MIN_NODES}");
    }
    if args.out.as_os_str().is_empty() || args.out.is_dir() {
        bail!("--out must name a file (e.g. report.html)");
    }
    let mut rules = RuleSet::builtin();
    for dir in &args.queries {
        rules.add_dir(dir)?;
    }
    let estate = Estate::load(&args.snapshot, Some(&args.pipelines))?;
    let mut review = estate.review(ReviewOptions {
        facts: FactsOptions {
            escalation_depth: args.escalation_depth,
            ..FactsOptions::default()
        },
    });
    let opts = ReportOptions {
        max_nodes: args.max_nodes,
        max_diagrams: args.max_diagrams,
        escalation_depth: args.escalation_depth,
        snapshot_name: file_name(&args.snapshot),
        pipelines_name: file_name(&args.pipelines),
    };
    let (page, stats) = review.report(&rules, &opts)?;
    crate::render::write_atomic(&args.out, page.as_bytes())?;
    eprintln!(
        "wrote {} in {:.2}s: {} pipelines, {} secrets, {} findings, {} diagrams{}",
        crate::text::visible(&args.out.display().to_string()),
        started.elapsed().as_secs_f64(),
        stats.pipelines,
        stats.secrets,
        stats.findings,
        stats.diagrams,
        if stats.graphviz {
            String::new()
        } else {
            " (Graphviz not found: diagrams replaced by notes; `apt-get install graphviz`)"
                .to_string()
        }
    );
    super::finish(Outcome::Success)
}

fn file_name(p: &std::path::Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}
