//! `blastmap facts`: print the facts document the findings rules judge (`docs/facts.md`).

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};

use super::Outcome;
use crate::facts::FactsOptions;
use crate::review::{Estate, ReviewOptions};

/// Inputs and thresholds of `facts`.
#[derive(Debug, Clone, clap::Args)]
pub(super) struct Input {
    /// A snapshot written by `blastmap export`.
    #[arg(long, value_name = "FILE")]
    pub snapshot: PathBuf,
    /// The pipeline inventory (YAML or JSON; see docs/pipelines.md). Without it, only the
    /// estate-wide facts (roles, policies, audit devices) are computed.
    #[arg(long, value_name = "FILE")]
    pub pipelines: Option<PathBuf>,
    /// A token may outlive the pipeline's max_job_duration by this factor.
    #[arg(
        long,
        value_name = "FACTOR",
        default_value_t = 1.5,
        allow_negative_numbers = true
    )]
    pub ttl_slack: f64,
    /// Follow privilege-escalation chains this many steps deep (0 disables the search).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub escalation_depth: usize,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: Input,
    /// One line of JSON instead of pretty-printed JSON.
    #[arg(long)]
    compact: bool,
}

pub(super) fn run(args: Args) -> Result<Outcome> {
    let input = &args.input;
    let estate = Estate::load(&input.snapshot, input.pipelines.as_deref())?;
    let options = review_options(input.ttl_slack, input.escalation_depth)?;
    let review = estate.review(options);
    let facts = review.facts();
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    if args.compact {
        serde_json::to_writer(&mut out, facts)
    } else {
        serde_json::to_writer_pretty(&mut out, facts)
    }
    .context("writing the facts")?;
    out.write_all(b"\n")?;
    out.flush()?;
    drop(out);
    super::finish(Outcome::Success)
}

/// The review options of `--ttl-slack` and `--escalation-depth` (`facts` and `findings`).
pub(super) fn review_options(ttl_slack: f64, escalation_depth: usize) -> Result<ReviewOptions> {
    if !(ttl_slack.is_finite() && ttl_slack > 0.0) {
        anyhow::bail!("--ttl-slack must be a positive number");
    }
    Ok(ReviewOptions {
        facts: FactsOptions {
            ttl_slack,
            escalation_depth,
            ..FactsOptions::default()
        },
    })
}
