//! `blastmap synth`: write a deterministic synthetic estate (a snapshot and a pipeline
//! inventory) of a given size, for benchmarks, scale checks and demos.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};

use super::Outcome;
use crate::synth::{self, Params};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Secret paths: KV v2 and v1 keys plus database role names.
    #[arg(long, value_name = "N")]
    secrets: usize,
    /// ACL policies over all namespaces, `default` included.
    #[arg(long, value_name = "N")]
    policies: usize,
    /// JWT, Kubernetes and AppRole roles over all namespaces.
    #[arg(long, value_name = "N")]
    roles: usize,
    /// Pipelines in the inventory (one team per ~20).
    #[arg(long, value_name = "N")]
    pipelines: usize,
    /// Namespaces, the root included (at least 1).
    #[arg(long, value_name = "N")]
    namespaces: usize,
    /// The seed: the same seed and sizes always give the same files.
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
    /// Directory to write `snapshot.json` and `pipelines.yaml` into (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

pub(super) fn run(args: Args) -> Result<Outcome> {
    let params = Params {
        secrets: args.secrets,
        policies: args.policies,
        roles: args.roles,
        pipelines: args.pipelines,
        namespaces: args.namespaces,
        seed: args.seed,
    };
    let started = Instant::now();
    let written = synth::write(&params, &args.out)
        .with_context(|| format!("cannot write a synthetic estate to {}", args.out.display()))?;
    eprintln!(
        "wrote {} and {} in {:.2}s: {}",
        written.snapshot.display(),
        written.pipelines.display(),
        started.elapsed().as_secs_f64(),
        written.summary
    );
    Ok(Outcome::Success)
}
