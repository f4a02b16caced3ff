//! `blastmap scan`: a first review in one command (`docs/scan.md`). Export (or read a snapshot),
//! discover pipelines, and write the snapshot, the inventory, the findings and the report into
//! one directory; then say what was found and which commands to run next.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::Outcome;
use crate::render::dot::{DEFAULT_MAX_NODES, MIN_NODES};
use crate::rules::engine::RunOptions;
use crate::rules::{RuleSet, Severity, Suppressions};
use crate::scan::{InventoryOrigin, ScanOutcome, ScanPlan, SnapshotSource};
use crate::text::{shell_word, visible};

#[derive(Debug, clap::Args)]
#[command(group(
    clap::ArgGroup::new("estate").required(true).args(["address", "snapshot"])
))]
pub struct Args {
    /// A snapshot written by `blastmap export`, instead of exporting a server (--address).
    #[arg(long, value_name = "FILE", conflicts_with = "address")]
    snapshot: Option<PathBuf>,
    /// A hand-written pipeline inventory; pipelines discovered from the CI configurations are
    /// merged into it (its pipelines win).
    #[arg(long, value_name = "FILE")]
    pipelines: Option<PathBuf>,
    /// The directory to write into (created when missing): snapshot.json, pipelines.yaml,
    /// findings.json, findings.sarif, report.html.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Exit with code 1 when an unsuppressed finding is at or above this severity.
    #[arg(long, value_name = "SEV")]
    fail_on: Option<Severity>,
    /// A directory of your own .rego rules (repeatable), run with the built-in ones.
    #[arg(long = "queries", value_name = "DIR")]
    queries: Vec<PathBuf>,
    /// Accepted findings with their reasons (YAML or JSON; see docs/findings.md).
    #[arg(long, value_name = "FILE")]
    suppress: Option<PathBuf>,
    /// Follow privilege-escalation chains this many steps deep (0 disables the search).
    #[arg(long, value_name = "N", default_value_t = 3)]
    escalation_depth: usize,
    /// Node budget of every diagram in the report (see `blastmap dot --max-nodes`).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_NODES)]
    max_nodes: usize,

    /// The server to export (`--address` and every option of `blastmap export`).
    #[command(flatten)]
    server: Box<super::export::Server>,
    /// The CI configurations to discover pipelines from (every input of `blastmap discover`).
    #[command(flatten)]
    ci: Box<super::discover::Inputs>,
}

pub(super) fn run(args: Args) -> Result<Outcome> {
    if args.max_nodes < MIN_NODES {
        bail!("--max-nodes must be at least {MIN_NODES}");
    }
    let quiet = args.server.quiet;
    let snapshot = match &args.snapshot {
        Some(path) => SnapshotSource::File(path.clone()),
        None => SnapshotSource::Export(Box::new(
            args.server.export_options(args.server.progress())?,
        )),
    };
    let mut rules = RuleSet::builtin();
    for dir in &args.queries {
        rules.add_dir(dir)?;
    }
    let plan = ScanPlan {
        snapshot,
        discover: (!args.ci.is_empty()).then(|| args.ci.plan()).transpose()?,
        pipelines: args.pipelines.clone(),
        out_dir: args.out.clone(),
        rules,
        run: RunOptions {
            suppressions: args
                .suppress
                .as_deref()
                .map(Suppressions::load)
                .transpose()?,
            ..RunOptions::default()
        },
        review: super::facts::review_options(1.5, args.escalation_depth)?,
        max_nodes: args.max_nodes,
        max_diagrams: 100,
    };
    let outcome = crate::scan::scan(plan)?;
    if let Some(stats) = &outcome.export {
        let snapshot = &outcome.estate.snapshot;
        super::export::print_summary(snapshot, stats, &outcome.files.snapshot, quiet);
    }
    if !quiet {
        super::discover::print_notes(&outcome.discovery_notes);
    }
    let mut out = std::io::stdout().lock();
    print_summary(&mut out, &outcome)?;
    print_next_steps(&mut out, &outcome)?;
    out.flush()?;
    drop(out);
    let gate = args
        .fail_on
        .is_some_and(|s| outcome.findings.count_at_least(s) > 0);
    super::finish(Outcome::gate(gate))
}

fn shown(path: &Path) -> String {
    visible(&shell_word(&path.display().to_string())).into_owned()
}

/// What was written and what it holds, one line per file.
fn print_summary(out: &mut impl Write, outcome: &ScanOutcome) -> std::io::Result<()> {
    let files = &outcome.files;
    let snapshot = &outcome.estate.snapshot;
    let source = match &outcome.export {
        Some(stats) => format!(
            "exported from {} in {:.1}s, {} requests",
            visible(&snapshot.server.address),
            stats.elapsed.as_secs_f64(),
            stats.requests
        ),
        None => "copied from --snapshot".to_string(),
    };
    let gaps = match outcome.coverage_gaps {
        0 => "no coverage gap".to_string(),
        n => format!("{n} endpoint(s) unreadable: their reach is reported as unknown"),
    };
    writeln!(
        out,
        "snapshot   {} ({source}; {gaps})",
        shown(&files.snapshot)
    )?;
    match &files.inventory {
        Some(path) => {
            let origin = match outcome.inventory {
                InventoryOrigin::Given => "from --pipelines".to_string(),
                InventoryOrigin::Merged => {
                    format!("{} discovered, merged into --pipelines", outcome.discovered)
                }
                _ => format!("{} discovered", outcome.discovered),
            };
            writeln!(
                out,
                "inventory  {} ({} pipeline(s), {origin})",
                shown(path),
                outcome.pipelines
            )?;
        }
        None => writeln!(
            out,
            "inventory  none (no --pipelines and no CI configuration)"
        )?,
    }
    let counts = outcome.counts();
    let by_severity: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .map(|s| format!("{} {}", counts.get(s).copied().unwrap_or(0), s.as_str()))
        .collect();
    writeln!(
        out,
        "findings   {}, {}: {}",
        shown(&files.findings_json),
        shown(&files.findings_sarif),
        by_severity.join(", ")
    )?;
    writeln!(
        out,
        "report     {} ({} pipeline(s), {} secret(s), {} diagram(s){})",
        shown(&files.report),
        outcome.report.pipelines,
        outcome.report.secrets,
        outcome.report.diagrams,
        if outcome.report.graphviz {
            ""
        } else {
            "; Graphviz not found: diagrams replaced by notes"
        }
    )?;
    if outcome.inventory == InventoryOrigin::None {
        print_role_reach(out, outcome)?;
    }
    Ok(())
}

/// Without an inventory: the roles with the widest reach, and what an inventory would add.
fn print_role_reach(out: &mut impl Write, outcome: &ScanOutcome) -> std::io::Result<()> {
    writeln!(
        out,
        "\nrole-level reach ({} role(s); a login's entity and groups are unknown without an \
         inventory, so only each role's own policies count):",
        outcome.roles
    )?;
    for role in &outcome.top_roles {
        writeln!(
            out,
            "  {:>6} secret(s)  {}",
            role.secrets,
            visible(&role.role)
        )?;
    }
    writeln!(
        out,
        "\nWithout a pipeline inventory only the role, policy and audit rules can fire. An \
         inventory (--github DIR, --gitlab FILE, --jenkins FILE, --circleci DIR, --buildkite DIR, \
         --bitbucket DIR, --terraform DIR, --azure-pipelines FILE or --pipelines FILE) adds each pipeline's blast radius with the chain behind it, the \
         login each pipeline's identity really gets, team isolation, shared identities and \
         weakly bound roles."
    )
}

/// The commands a reviewer runs next on the files just written.
fn print_next_steps(out: &mut impl Write, outcome: &ScanOutcome) -> std::io::Result<()> {
    let files = &outcome.files;
    let snapshot = format!("--snapshot {}", shown(&files.snapshot));
    let estate = match &files.inventory {
        Some(inv) => format!("{snapshot} --pipelines {}", shown(inv)),
        None => snapshot.clone(),
    };
    writeln!(out, "\nnext:")?;
    writeln!(out, "  open {}", shown(&files.report))?;
    if files.inventory.is_some() {
        writeln!(out, "  blastmap reach {estate} --pipeline NAME")?;
        writeln!(out, "  blastmap who-can {estate} --path secret/data/PATH")?;
    }
    writeln!(
        out,
        "  blastmap diff {estate} --apply POLICY.hcl  # what-if, before a change merges"
    )?;
    writeln!(
        out,
        "  blastmap findings {estate} --fail-on high  # a CI gate"
    )
}
