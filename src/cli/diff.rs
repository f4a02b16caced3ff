//! `blastmap diff`: the what-if of a change, as a CI gate.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{bail, Result};

use super::Outcome;
use crate::diff::{self, DiffReport, Gate, HeadSource, Judge, JudgeConfig, Sides};
use crate::inventory::Inventory;
use crate::review::{Review, ReviewOptions};
use crate::text::terminal::writeln_visible;
use crate::timings::Clock;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("mode").required(true).args(["base", "snapshot"])))]
pub struct Args {
    /// The estate before the change.
    #[arg(long, value_name = "S1", requires = "head", conflicts_with_all = ["snapshot", "apply"])]
    base: Option<PathBuf>,
    /// The estate after the change.
    #[arg(long, value_name = "S2")]
    head: Option<PathBuf>,
    /// The estate to apply changes to.
    #[arg(long, value_name = "S", requires = "apply")]
    snapshot: Option<PathBuf>,
    /// Changes: a directory or file of policies (named after the policy), a change file
    /// (YAML/JSON of policies, roles, entities, groups), or a Terraform plan as JSON.
    #[arg(long, value_name = "CHANGE", num_args = 1..)]
    apply: Vec<PathBuf>,
    /// The pipeline inventory; without it every role is analysed as a virtual pipeline.
    #[arg(long, value_name = "P")]
    pipelines: Option<PathBuf>,
    /// Namespace for policy files given with --apply (root by default).
    #[arg(long, value_name = "NS", default_value = "")]
    namespace: String,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Fail (exit 1) on: `new-access`, `new-cross-team`, or a severity (`info`, `low`, `medium`,
    /// `high`, `critical`) of new findings at or above it. Repeatable.
    #[arg(long = "fail-on", value_name = "RULE")]
    fail_on: Vec<String>,
    /// A directory of your own .rego rules (repeatable), judged on both estates beside the
    /// built-in families; see docs/findings.md.
    #[arg(long = "queries", value_name = "DIR")]
    queries: Vec<PathBuf>,
    /// Accepted findings with their reasons (see docs/findings.md): a new finding that matches is
    /// still listed, marked suppressed, and does not fail a severity gate.
    #[arg(long, value_name = "FILE")]
    suppress: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    Table,
    Json,
    Markdown,
}

pub(super) fn run(args: Args) -> Result<Outcome> {
    let gates: Vec<Gate> = args
        .fail_on
        .iter()
        .map(|f| Gate::parse(f))
        .collect::<Result<_, _>>()?;
    let clock = Clock::start("diff");
    let inventory = match &args.pipelines {
        Some(p) => Some(Inventory::load(p)?),
        None => None,
    };
    let (base_path, head) = match (&args.base, &args.head, &args.snapshot) {
        (Some(b), Some(h), _) => (b, HeadSource::Snapshot(h)),
        (_, _, Some(s)) => {
            let changes = HeadSource::Changes {
                files: &args.apply,
                namespace: &args.namespace,
            };
            (s, changes)
        }
        _ => bail!("give --base and --head, or --snapshot with --apply"),
    };
    let sides = Sides::load(base_path, head)?;
    clock.lap("loaded");
    let judge = Judge::new(&JudgeConfig {
        queries: args.queries.clone(),
        suppress: args.suppress.clone(),
    })?;
    let base = Review::open(&sides.base, inventory.as_ref(), ReviewOptions::default());
    let head = Review::derive(&base, &sides.head);
    let mut report = judge.what_if(&base, &head)?;
    clock.lap("diffed and judged");
    report.changes.clone_from(&sides.changes);
    report.unknowns.extend(sides.unknowns.iter().cloned());

    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            out.write_all(b"\n")?;
        }
        Format::Markdown => out.write_all(diff::markdown(&report).as_bytes())?,
        Format::Table => table(&mut out, &report)?,
    }
    out.flush()?;
    drop(out);
    clock.lap("written");
    super::finish(Outcome::gate(report.fails(&gates)))
}

fn table(out: &mut impl Write, r: &DiffReport) -> Result<()> {
    if r.pipelines.is_empty() {
        writeln_visible!(out, "no change to any pipeline's blast radius")?;
    }
    for p in &r.pipelines {
        writeln_visible!(
            out,
            "pipeline {}: reach {} → {} ({} gained, {} lost)",
            p.name,
            p.reach_before,
            p.reach_after,
            p.gained.len(),
            p.lost.len()
        )?;
        for role in &p.roles_gained {
            writeln_visible!(
                out,
                "  + now admitted by {}auth/{}/role/{}",
                role.namespace,
                role.mount,
                role.role
            )?;
        }
        for role in &p.roles_lost {
            writeln_visible!(
                out,
                "  - no longer admitted by {}auth/{}/role/{}",
                role.namespace,
                role.mount,
                role.role
            )?;
        }
        for g in &p.gained {
            let via: std::collections::BTreeSet<String> = g
                .via
                .iter()
                .map(|v| format!("{} → {} \"{}\"", v.role, v.policy, v.rule))
                .collect();
            let cross = if g.cross_team.is_empty() {
                String::new()
            } else {
                format!("  [cross-team: owned by {}]", g.cross_team.join(", "))
            };
            writeln_visible!(
                out,
                "  + {}{}  {}  via {}{cross}",
                g.namespace,
                g.path,
                g.capabilities.join(","),
                via.into_iter().collect::<Vec<_>>().join("; ")
            )?;
        }
        for l in &p.lost {
            writeln_visible!(
                out,
                "  - {}{}  {}",
                l.namespace,
                l.path,
                l.capabilities.join(",")
            )?;
        }
    }
    for f in &r.findings.new {
        writeln_visible!(
            out,
            "new finding [{}] {}: {}",
            f.severity,
            f.rule,
            f.message
        )?;
    }
    for c in &r.findings.changed {
        writeln_visible!(
            out,
            "changed finding [{}, was {}] {}: {}",
            c.finding.severity,
            c.before.severity,
            c.finding.rule,
            c.finding.message
        )?;
    }
    for f in &r.findings.resolved {
        writeln_visible!(out, "resolved finding {}: {}", f.rule, f.message)?;
    }
    for u in &r.unknowns {
        writeln_visible!(out, "unknown: {u}")?;
    }
    Ok(())
}
