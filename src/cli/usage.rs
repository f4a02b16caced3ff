//! `blastmap usage`: what pipelines' roles actually used, from audit logs, against what the
//! snapshot grants; granted-but-unused access and a suggested least-privilege policy per role.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};

use super::Outcome;
use crate::review::{Estate, ReviewOptions};
use crate::text::terminal::writeln_visible;
use crate::text::{column_width, pad};
use crate::usage::report::{RoleUsage, Used};
use crate::usage::{self, Collector, ReportOptions, UsageReport};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(super) enum Format {
    Table,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A snapshot written by `blastmap export`.
    #[arg(long, value_name = "FILE")]
    snapshot: PathBuf,
    /// File audit device logs (JSON lines), oldest first; repeatable. Logs of one device only:
    /// accessors are HMAC'd with a salt per device.
    #[arg(long = "audit-log", value_name = "FILE", required = true, num_args = 1..)]
    audit_log: Vec<PathBuf>,
    /// The pipeline inventory: map roles to the pipelines they admit, and report per pipeline.
    #[arg(long, value_name = "FILE")]
    pipelines: Option<PathBuf>,
    /// Only count requests at or after this time (RFC 3339). Earlier logins still link tokens.
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Write one suggested policy per role, `<DIR>/<name>.hcl` (atomically; the directory is
    /// created if missing).
    #[arg(long, value_name = "DIR")]
    policy_dir: Option<PathBuf>,
}

pub(super) fn run(args: Args) -> Result<Outcome> {
    let since = match &args.since {
        None => None,
        Some(s) => Some(usage::parse::parse_time(s).with_context(|| {
            format!("--since {s:?} is not an RFC 3339 time (e.g. 2026-01-31T00:00:00Z)")
        })?),
    };
    if let Some(dir) = &args.policy_dir {
        prepare_policy_dir(dir)?;
    }
    let estate = Estate::load(&args.snapshot, args.pipelines.as_deref())?;
    let mut collector = Collector::new(since);
    for f in &args.audit_log {
        collector.read_file(f)?;
    }
    let review = estate.review(ReviewOptions::default());
    let report = review.usage(
        &collector,
        &ReportOptions {
            since: args.since.clone(),
        },
    );
    if let Some(dir) = &args.policy_dir {
        write_policies(dir, &report)?;
    }
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            out.write_all(b"\n")?;
        }
        Format::Table => print_table(&mut out, &report)?,
    }
    out.flush()?;
    drop(out);
    super::finish(Outcome::Success)
}

/// Before reading any log: the policy directory exists (created if missing) and accepts files.
fn prepare_policy_dir(dir: &std::path::Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the policy directory {}", dir.display()))?;
    crate::output::check(&dir.join("policy.hcl"))?;
    Ok(())
}

fn write_policies(dir: &std::path::Path, report: &UsageReport) -> Result<()> {
    for r in &report.roles {
        let file = &r.suggested_policy.file;
        if r.suggested_policy.renamed {
            eprintln!(
                "note: role {:?} of {:?}: its policy is written as {file} (the name holds characters a file name cannot, or is too long)",
                r.role, r.mount
            );
        }
        // File names are sanitised when they are assigned; this only guards the invariant.
        if file.contains('/') || file.starts_with('.') || file.chars().any(char::is_control) {
            eprintln!("note: skipped the policy file name {file:?}: not a plain file name");
            continue;
        }
        let path = dir.join(file);
        crate::render::write_atomic(&path, r.suggested_policy.hcl.as_bytes())?;
    }
    Ok(())
}

fn print_used(out: &mut impl Write, list: &[Used]) -> Result<()> {
    // Widths of the text as shown (escaped), padded by hand: a path may be longer than
    // `{:width$}` allows.
    let shown = |s: &str| crate::text::visible(s).into_owned();
    let operation_width = column_width(list.iter().map(|u| shown(&u.operation)), 0);
    let path_width = column_width(
        list.iter()
            .map(|u| shown(&format!("{}{}", u.namespace, u.path))),
        0,
    );
    for u in list {
        let full = shown(&format!("{}{}", u.namespace, u.path));
        let mut extra = Vec::new();
        if let Some(c) = u.covered_by {
            extra.push(format!("no rule needed: {c}"));
        }
        if u.errors > 0 {
            extra.push(format!("{} failed after the ACL", u.errors));
        }
        if let Some(s) = &u.snapshot_capabilities {
            if s == &["deny"] && u.needs_rule {
                extra.push("the snapshot grants nothing here".into());
            }
        }
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!("  ({})", extra.join("; "))
        };
        writeln_visible!(
            out,
            "    {}  {}  {}×{extra}",
            pad(&shown(&u.operation), operation_width),
            pad(&full, path_width),
            u.count
        )?;
    }
    Ok(())
}

fn print_role(out: &mut impl Write, r: &RoleUsage) -> Result<()> {
    let pipelines = match &r.pipelines {
        Some(p) if !p.is_empty() => format!("; pipelines: {}", p.join(", ")),
        Some(_) => "; no pipeline of the inventory".to_string(),
        None => String::new(),
    };
    writeln_visible!(
        out,
        "role {} ({} logins, {} requests{pipelines})",
        r.key,
        r.logins,
        r.requests
    )?;
    if !r.used.is_empty() {
        writeln_visible!(out, "  used:")?;
        print_used(out, &r.used)?;
    }
    if !r.denied.is_empty() {
        writeln_visible!(out, "  denied:")?;
        print_used(out, &r.denied)?;
    }
    if !r.in_snapshot {
        writeln_visible!(
            out,
            "  granted but unused: unknown (the role is not in the snapshot)"
        )?;
    } else if r.unused.is_empty() {
        writeln_visible!(out, "  granted but unused: nothing")?;
    } else {
        writeln_visible!(out, "  granted but unused:")?;
        let paths: Vec<String> = r
            .unused
            .iter()
            .map(|u| crate::text::visible(&format!("{}{}", u.namespace, u.path)).into_owned())
            .collect();
        let path_width = column_width(&paths, 0);
        for (u, path) in r.unused.iter().zip(&paths) {
            let used = if u.used.is_empty() {
                "never used".to_string()
            } else {
                format!("used: {}", u.used.join(","))
            };
            writeln_visible!(
                out,
                "    {}  {}  ({used})",
                pad(path, path_width),
                u.unused.join(",")
            )?;
        }
    }
    writeln_visible!(
        out,
        "  suggested policy {} ({} rules)",
        r.suggested_policy.file,
        r.suggested_policy.rules.len()
    )?;
    for n in &r.notes {
        writeln_visible!(out, "  note: {n}")?;
    }
    Ok(())
}

fn print_table(out: &mut impl Write, r: &UsageReport) -> Result<()> {
    let stats = &r.stats;
    writeln_visible!(
        out,
        "audit logs: {} files, {} lines ({} malformed), window {} .. {}",
        r.files.len(),
        stats.lines,
        stats.malformed,
        r.window.first.as_deref().unwrap_or("-"),
        r.window.last.as_deref().unwrap_or("-")
    )?;
    writeln_visible!(out,
        "  {} logins, {} child tokens; requests: {} attributed, {} unattributed, {} denied, {} unauthenticated{}",
        stats.logins,
        stats.child_tokens,
        stats.attributed,
        stats.unattributed,
        stats.denied,
        stats.unauthenticated,
        if r.window.since.is_some() {
            format!(", {} before --since", stats.before_since)
        } else {
            String::new()
        }
    )?;
    for role in &r.roles {
        writeln!(out)?;
        print_role(out, role)?;
    }
    if let Some(ps) = &r.pipelines {
        for p in ps {
            writeln!(out)?;
            let roles: Vec<String> = p
                .roles
                .iter()
                .map(|r| format!("{} ({} requests)", r.key, r.requests))
                .collect();
            writeln_visible!(out, "pipeline {}: roles {}", p.name, roles.join(", "))?;
            writeln_visible!(out, "  used: {} (path, operation) pairs", p.used.len())?;
            if p.unused.is_empty() {
                writeln_visible!(out, "  granted but unused: nothing")?;
            } else {
                writeln_visible!(out, "  granted but unused:")?;
                for u in &p.unused {
                    writeln_visible!(out, "    {}{}  {}", u.namespace, u.path, u.unused.join(","))?;
                }
            }
            for n in &p.notes {
                writeln_visible!(out, "  note: {n}")?;
            }
        }
    }
    if !r.unattributed.is_empty() {
        writeln!(out)?;
        writeln_visible!(out, "unattributed (not linked to a login in the logs):")?;
        for u in &r.unattributed {
            let hint = if u.role_hint.is_empty() {
                String::new()
            } else {
                format!(" role {:?}", u.role_hint)
            };
            writeln_visible!(
                out,
                "  {:?}{hint} policies [{}]: {} requests ({} denied), {} tokens: {}",
                u.display_name,
                u.policies.join(", "),
                u.requests,
                u.denied,
                u.tokens,
                u.reason
            )?;
        }
    }
    if !r.malformed.is_empty() {
        writeln!(out)?;
        writeln_visible!(out, "malformed lines:")?;
        for m in &r.malformed {
            writeln_visible!(out, "  {}:{}: {}", m.file, m.line, m.error)?;
        }
    }
    for n in &r.notes {
        writeln_visible!(out, "note: {n}")?;
    }
    Ok(())
}
