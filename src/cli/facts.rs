//! `blastmap facts`: print the facts document the findings rules judge (`docs/facts.md`).

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::facts::{self, Facts, FactsOptions};
use crate::inventory::Inventory;
use crate::model::Snapshot;

/// Inputs and thresholds shared by `facts` and `findings`.
#[derive(Debug, Clone, clap::Args)]
pub struct Input {
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

impl Input {
    /// Load the snapshot and inventory and build the facts document.
    pub fn facts(&self) -> Result<Facts> {
        let snap = Snapshot::load(&self.snapshot)?;
        let inv = match &self.pipelines {
            Some(p) => Inventory::load(p)?,
            None => Inventory::default(),
        };
        if !(self.ttl_slack.is_finite() && self.ttl_slack > 0.0) {
            anyhow::bail!("--ttl-slack must be a positive number");
        }
        let opts = FactsOptions {
            ttl_slack: self.ttl_slack,
            escalation_depth: self.escalation_depth,
            ..FactsOptions::default()
        };
        Ok(facts::build(&snap, &inv, &opts))
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: Input,
    /// One line of JSON instead of pretty-printed JSON.
    #[arg(long)]
    compact: bool,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let facts = args.input.facts()?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    if args.compact {
        serde_json::to_writer(&mut out, &facts)
    } else {
        serde_json::to_writer_pretty(&mut out, &facts)
    }
    .context("writing the facts")?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
