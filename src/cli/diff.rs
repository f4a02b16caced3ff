//! `blastmap diff`: the what-if of a change, as a CI gate.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use crate::text::terminal::writeln_visible;
use anyhow::{bail, Result};

use crate::diff::{self, change, DiffReport};
use crate::inventory::Inventory;
use crate::model::Snapshot;

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

const SEVERITIES: &[&str] = &["info", "low", "medium", "high", "critical"];

pub fn run(args: Args) -> Result<ExitCode> {
    for f in &args.fail_on {
        if !matches!(f.as_str(), "new-access" | "new-cross-team")
            && !SEVERITIES.contains(&f.as_str())
        {
            bail!(
                "--fail-on {f:?}: expected new-access, new-cross-team or a severity ({})",
                SEVERITIES.join(", ")
            );
        }
    }
    let t0 = std::time::Instant::now();
    let lap = |w: &str| {
        if std::env::var_os("BLASTMAP_FACTS_TIMINGS").is_some() {
            eprintln!("diff: {w} at {:.3}s", t0.elapsed().as_secs_f64());
        }
    };
    let inventory = match &args.pipelines {
        Some(p) => Some(Inventory::load(p)?),
        None => None,
    };
    let (base, head, changes, unknowns) = match (&args.base, &args.head, &args.snapshot) {
        (Some(b), Some(h), _) => {
            let (base, head) = rayon::join(|| Snapshot::load(b), || Snapshot::load(h));
            (base?, head?, Vec::new(), Vec::new())
        }
        (_, _, Some(s)) => {
            let base = Snapshot::load(s)?;
            let mut all = Vec::new();
            let mut unknowns = Vec::new();
            for c in &args.apply {
                let (cs, u) = change::load_changes(c, &args.namespace)?;
                all.extend(cs);
                unknowns.extend(u);
            }
            let head = change::apply(&base, &all)?;
            let described = all.iter().map(change::Change::describe).collect();
            (base, head, described, unknowns)
        }
        _ => bail!("give --base and --head, or --snapshot with --apply"),
    };
    lap("loaded");
    let config = super::diff_findings::FindingsConfig {
        queries: args.queries.clone(),
        suppress: args.suppress.clone(),
    };
    let judge = super::diff_findings::Judge::new(&config)?;
    let mut report = judge.diff(&base, &head, inventory.as_ref())?;
    lap("diffed and judged");
    report.changes = changes;
    report.unknowns.extend(unknowns);

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
    lap("written");
    let code = if gate_fails(&report, &args.fail_on) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    // The process ends after this command: leave two large estates to the operating system
    // instead of freeing them one allocation at a time.
    std::mem::forget((report, base, head, inventory));
    Ok(code)
}

fn gate_fails(r: &DiffReport, fail_on: &[String]) -> bool {
    let rank = |v: &serde_json::Value| {
        v.as_str()
            .and_then(|s| SEVERITIES.iter().position(|x| *x == s))
    };
    fail_on.iter().any(|f| match f.as_str() {
        "new-access" => r.new_access(),
        "new-cross-team" => r.new_cross_team(),
        sev => {
            let min = SEVERITIES.iter().position(|s| *s == sev).unwrap_or(0);
            let at_least = |f: &serde_json::Value| rank(&f["severity"]).is_some_and(|i| i >= min);
            // New findings at or above the severity, and known findings that rose into it;
            // suppressed findings never fail the gate.
            let new = r
                .findings
                .new
                .iter()
                .any(|f| f.get("suppressed").is_none() && at_least(f));
            let raised = r.findings.changed.iter().any(|f| {
                f.get("suppressed").is_none()
                    && at_least(f)
                    && rank(&f["before"]["severity"]).is_none_or(|i| i < min)
            });
            new || raised
        }
    })
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
            f["severity"].as_str().unwrap_or(""),
            f["rule"].as_str().unwrap_or(""),
            f["message"].as_str().unwrap_or("")
        )?;
    }
    for f in &r.findings.changed {
        writeln_visible!(
            out,
            "changed finding [{}, was {}] {}: {}",
            f["severity"].as_str().unwrap_or(""),
            f["before"]["severity"].as_str().unwrap_or(""),
            f["rule"].as_str().unwrap_or(""),
            f["message"].as_str().unwrap_or("")
        )?;
    }
    for f in &r.findings.resolved {
        writeln_visible!(
            out,
            "resolved finding {}: {}",
            f["rule"].as_str().unwrap_or(""),
            f["message"].as_str().unwrap_or("")
        )?;
    }
    for u in &r.unknowns {
        writeln_visible!(out, "unknown: {u}")?;
    }
    Ok(())
}
