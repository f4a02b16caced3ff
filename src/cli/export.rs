//! `blastmap export` (issue 3): owned by the exporter work; placeholder arguments.

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("export is not implemented yet")
}
