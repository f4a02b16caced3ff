//! `blastmap schema`: the JSON Schema of one JSON output, or all of them written to a directory
//! (`docs/schemas/README.md`).

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{bail, Result};

use super::Outcome;
use crate::schema;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The output whose schema to print: reach, who-can, findings, facts, diff, usage,
    /// inventory, snapshot.
    #[arg(value_name = "NAME", required_unless_present_any = ["out", "list"])]
    name: Option<String>,
    /// Write every schema into this directory as `<name>.schema.json` (created if missing).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["name", "list"])]
    out: Option<PathBuf>,
    /// List the outputs, their schema versions and the commands that write them.
    #[arg(long, conflicts_with = "name")]
    list: bool,
}

pub(super) fn run(args: Args) -> Result<Outcome> {
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    if args.list {
        for o in schema::outputs() {
            writeln!(out, "{:<12}  {}  {}", o.name, o.version, o.command)?;
        }
    } else if let Some(dir) = &args.out {
        for path in schema::write_all(dir)? {
            writeln!(out, "wrote {}", path.display())?;
        }
    } else if let Some(name) = &args.name {
        out.write_all(schema::output(name)?.text().as_bytes())?;
    } else {
        bail!("give an output name, --out DIR or --list");
    }
    out.flush()?;
    Ok(Outcome::Success)
}
