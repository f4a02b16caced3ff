//! `blastmap findings`: evaluate the rule families (and the user's rules) over the facts of an
//! estate, then print the findings as a table, JSON, SARIF or Markdown. Exit code 1 when a
//! finding at or above `--fail-on` is not suppressed (`docs/findings.md`).

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::Outcome;
use crate::review::Estate;
use crate::rules::engine::RunOptions;
use crate::rules::{self, gitlab, render, sarif, Report, RuleSet, Severity, Suppressions};
use crate::text::{column_width, pad, visible};
use crate::timings::Clock;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(super) enum Format {
    Table,
    Json,
    Sarif,
    Markdown,
    /// GitLab's security report (SAST format), for `artifacts:reports:sast`.
    GitlabSast,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A snapshot written by `blastmap export`.
    #[arg(long, value_name = "FILE", required_unless_present = "list_rules")]
    snapshot: Option<PathBuf>,
    /// The pipeline inventory (YAML or JSON; see docs/pipelines.md). Without it only the
    /// estate-wide rules (roles, policies, audit devices) can fire.
    #[arg(long, value_name = "FILE")]
    pipelines: Option<PathBuf>,
    /// A directory of your own .rego rules (repeatable); see docs/findings.md.
    #[arg(long = "queries", value_name = "DIR")]
    queries: Vec<PathBuf>,
    /// Run only the rules of --queries, not the built-in families.
    #[arg(long)]
    no_builtin: bool,
    /// Only these rules (repeatable).
    #[arg(long = "rule", value_name = "ID")]
    rule: Vec<String>,
    /// Show only findings at or above this severity (info, low, medium, high, critical).
    #[arg(long, value_name = "SEV", default_value = "info")]
    min_severity: Severity,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Exit with code 1 when an unsuppressed finding is at or above this severity.
    #[arg(long, value_name = "SEV")]
    fail_on: Option<Severity>,
    /// Accepted findings with their reasons (YAML or JSON; see docs/findings.md).
    #[arg(long, value_name = "FILE")]
    suppress: Option<PathBuf>,
    /// Override a rule's severity (repeatable), e.g. `--severity team-isolation.shared-auth-mount=info`.
    #[arg(long = "severity", value_name = "RULE=SEV")]
    severity: Vec<String>,
    /// A token may outlive the pipeline's max_job_duration by this factor.
    #[arg(
        long,
        value_name = "FACTOR",
        default_value_t = 1.5,
        allow_negative_numbers = true
    )]
    ttl_slack: f64,
    /// Follow privilege-escalation chains this many steps deep (0 disables the search).
    #[arg(long, value_name = "N", default_value_t = 3)]
    escalation_depth: usize,
    /// Write the output to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// List the rules (id, practice, default severity, title) and exit.
    #[arg(long)]
    list_rules: bool,
}

pub(super) fn run(args: Args) -> Result<Outcome> {
    let clock = Clock::start("findings");
    let started = time::OffsetDateTime::now_utc();
    if let Some(p) = &args.output {
        crate::output::check(p)?;
    }
    let mut rules = if args.no_builtin {
        RuleSet::empty()
    } else {
        RuleSet::builtin()
    };
    for dir in &args.queries {
        rules.add_dir(dir)?;
    }
    if args.list_rules {
        return list(&rules, &args);
    }
    let Some(snapshot_path) = args.snapshot.as_ref() else {
        bail!("--snapshot is required");
    };
    let options = super::facts::review_options(args.ttl_slack, args.escalation_depth)?;
    let severity = rules::parse_severity_overrides(&args.severity).map_err(anyhow::Error::msg)?;
    let suppressions = match &args.suppress {
        Some(p) => Some(Suppressions::load(p)?),
        None => None,
    };
    let run_opts = RunOptions {
        severity,
        suppressions,
        only: args.rule.clone(),
    };
    let estate = Estate::load(snapshot_path, args.pipelines.as_deref())?;
    let loaded = clock.seconds();
    let mut review = estate.review(options);
    let analysed = clock.seconds();
    review.facts();
    let built = clock.seconds();
    // The facts' size as JSON, measured only when asked (the rules read them directly), and
    // not counted in the rules' time.
    let facts_kib = crate::timings::enabled()
        .then(|| serde_json::to_vec(review.facts()).map_or(0, |v| v.len()) / 1024);
    let rules_start = clock.seconds();
    review.keep_only_rule_input()?;
    let mut report = review.findings(&rules, &run_opts)?;
    let judged = clock.seconds();
    let gate = args.fail_on.map(|s| report.count_at_least(s)).unwrap_or(0);
    report.retain_min_severity(args.min_severity);
    write(&args, snapshot_path, &report, started)?;
    if crate::timings::enabled() {
        log::info!(
            "timings: load {loaded:.3}s, analysis {:.3}s, facts (reach, escalation, aggregates) {:.3}s, rules {:.3}s ({} KiB of facts), total {:.3}s",
            analysed - loaded,
            built - analysed,
            judged - rules_start,
            facts_kib.unwrap_or(0),
            clock.seconds()
        );
    }
    super::finish(Outcome::gate(gate > 0))
}

/// Print the findings in the format asked, to standard output or `--output`. A file output is
/// assembled in memory and handed to the one output writer whole.
fn write(
    args: &Args,
    snapshot_path: &Path,
    report: &Report,
    started: time::OffsetDateTime,
) -> Result<()> {
    let mut file_bytes = Vec::new();
    let mut sink: Box<dyn Write> = match &args.output {
        Some(_) => Box::new(&mut file_bytes),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = BufWriter::new(&mut sink);
    match args.format {
        Format::Table => render::table(&mut out, report)?,
        Format::Json => render::json(&mut out, report)?,
        Format::Markdown => render::markdown(&mut out, report)?,
        Format::Sarif | Format::GitlabSast => {
            let snap_text = std::fs::read_to_string(snapshot_path).unwrap_or_default();
            let pipes_text = args
                .pipelines
                .as_ref()
                .map(|p| std::fs::read_to_string(p).unwrap_or_default());
            let snap_name = snapshot_path.display().to_string();
            let pipes_name = args.pipelines.as_ref().map(|p| p.display().to_string());
            let artifacts = sarif::Artifacts {
                snapshot: (&snap_name, &snap_text),
                pipelines: pipes_name.as_deref().zip(pipes_text.as_deref()),
            };
            if matches!(args.format, Format::Sarif) {
                serde_json::to_writer_pretty(&mut out, &sarif::log(report, &artifacts))?;
            } else {
                let gitlab = gitlab::report(report, &artifacts, started);
                serde_json::to_writer_pretty(&mut out, &gitlab)?;
            }
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    drop(out);
    drop(sink);
    if let Some(p) = &args.output {
        crate::output::write_bytes(p, crate::output::FileMode::Shared, &file_bytes)?;
    }
    Ok(())
}

fn list(rules: &RuleSet, args: &Args) -> Result<Outcome> {
    let cat = rules.catalogue()?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match args.format {
        Format::Json => render::catalogue_json(&mut out, &cat)?,
        _ => {
            // Rule ids come from rule files (`--queries`): padded by hand, any length.
            let ids: Vec<String> = cat.iter().map(|r| visible(&r.id).into_owned()).collect();
            let id_width = column_width(&ids, 0);
            for (r, id) in cat.iter().zip(&ids) {
                let severity = r.severity.as_str();
                writeln!(
                    out,
                    "{}  {severity:<8}  {}",
                    pad(id, id_width),
                    visible(&r.title)
                )?;
            }
        }
    }
    out.flush()?;
    Ok(Outcome::Success)
}
