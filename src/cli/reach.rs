//! `blastmap reach` and `blastmap who-can`: the blast radius of pipelines, and its reverse.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use rayon::prelude::*;

use super::Outcome;
use crate::acl::Caps;
use crate::inventory::Inventory;
use crate::login::Verdict;
use crate::passes::reach::{PipelineReach, PreparedReach, ReachDocument, ReachOptions};
use crate::review::{Estate, ReviewOptions};
use crate::text::{column_width, pad, visible};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(super) enum Format {
    Table,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct ReachArgs {
    /// A snapshot written by `blastmap export`.
    #[arg(long, value_name = "FILE")]
    snapshot: PathBuf,
    /// The pipeline inventory (YAML or JSON; see docs/pipelines.md).
    #[arg(long, value_name = "FILE")]
    pipelines: PathBuf,
    /// Only these pipelines (repeatable).
    #[arg(long = "pipeline", value_name = "NAME")]
    pipeline: Vec<String>,
    /// Also list roles of the mount that refuse the pipeline.
    #[arg(long)]
    all_roles: bool,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

#[derive(Debug, clap::Args)]
pub struct WhoCanArgs {
    #[arg(long, value_name = "FILE")]
    snapshot: PathBuf,
    #[arg(long, value_name = "FILE")]
    pipelines: PathBuf,
    /// The API path (e.g. `secret/data/payments/db`), relative to --namespace.
    #[arg(long, value_name = "PATH")]
    path: String,
    /// Namespace of the path (root by default).
    #[arg(long, value_name = "NS", default_value = "")]
    namespace: String,
    /// Only subjects holding this capability.
    #[arg(long, value_name = "CAP")]
    capability: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

pub(super) fn run_reach(args: ReachArgs) -> Result<Outcome> {
    let estate = Estate::load(&args.snapshot, Some(&args.pipelines))?;
    if let Some(inv) = &estate.inventory {
        check_pipelines(&args, inv)?;
    }
    let review = estate.review(ReviewOptions::default());
    let opts = ReachOptions {
        pipelines: args.pipeline.clone(),
        all_roles: args.all_roles,
    };
    let prepared = review.prepare_reach(&opts);
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match args.format {
        Format::Json => {
            // Streamed a chunk of pipelines at a time, each pipeline assembled and serialised in
            // parallel: on a large estate the whole result is gigabytes of JSON.
            write_reach_json(&mut out, &prepared)?;
            out.write_all(b"\n")?;
        }
        Format::Table => {
            let result = prepared.assemble(0..prepared.len());
            print_reach(&mut out, &result)?;
        }
    }
    out.flush()?;
    drop(out);
    super::finish(Outcome::Success)
}

/// Every `--pipeline` is in the inventory.
fn check_pipelines(args: &ReachArgs, inv: &Inventory) -> Result<()> {
    for name in &args.pipeline {
        if inv.pipeline(name).is_none() {
            bail!(
                "pipeline {name:?} is not in {} (known: {})",
                args.pipelines.display(),
                inv.pipelines
                    .iter()
                    .map(|p| visible(&p.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    Ok(())
}

/// Pipelines per chunk of the streamed JSON.
const CHUNK: usize = 128;

/// A [`ReachDocument`] exactly as `serde_json::to_writer_pretty` writes it, without holding
/// every pipeline's reach at once: each pipeline is serialised on its own (in parallel) and
/// indented to its depth. Pretty JSON strings never hold a raw newline, so indenting after every
/// newline is exact.
fn write_reach_json(out: &mut impl Write, prepared: &PreparedReach<'_, '_>) -> Result<()> {
    let version = crate::schema::version::REACH;
    if prepared.is_empty() {
        let doc = ReachDocument {
            schema_version: version,
            pipelines: &[],
        };
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        return Ok(());
    }
    write!(
        out,
        "{{\n  \"schema_version\": {version},\n  \"pipelines\": ["
    )?;
    let mut first = true;
    let mut start = 0;
    while start < prepared.len() {
        let end = (start + CHUNK).min(prepared.len());
        let texts: Vec<Vec<u8>> = prepared
            .assemble(start..end)
            .into_par_iter()
            .map(|p| -> Result<Vec<u8>> {
                let text = serde_json::to_vec_pretty(&p)?;
                // Freeing a pipeline's reach is work too: done here, in parallel.
                drop(p);
                let mut indented = Vec::with_capacity(text.len() + text.len() / 8);
                indented.extend_from_slice(b"    ");
                for &b in &text {
                    indented.push(b);
                    if b == b'\n' {
                        indented.extend_from_slice(b"    ");
                    }
                }
                Ok(indented)
            })
            .collect::<Result<_>>()?;
        for t in texts {
            out.write_all(if first { b"\n" } else { b",\n" })?;
            first = false;
            out.write_all(&t)?;
        }
        start = end;
    }
    out.write_all(b"\n  ]\n}")?;
    Ok(())
}

fn print_reach(out: &mut impl Write, result: &[PipelineReach]) -> Result<()> {
    for (i, p) in result.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        let team = p
            .team
            .as_deref()
            .map(|t| format!(" (team {})", visible(t)))
            .unwrap_or_default();
        // A count with unknowns behind it is a lower bound: say so where the count is read.
        let bound = match p.unknowns.len() {
            0 => String::new(),
            n => format!(", and {n} unknown(s) below that may add more"),
        };
        writeln!(
            out,
            "pipeline {}{team}: {} secrets reachable{bound}",
            visible(&p.name),
            p.secrets.len()
        )?;
        print_reach_roles(out, p)?;
        print_reach_secrets(out, p)?;
        print_unknowns(out, &p.unknowns)?;
    }
    Ok(())
}

/// What could not be decided, one line each, names escaped.
fn print_unknowns(out: &mut impl Write, unknowns: &[crate::passes::Unknown]) -> Result<()> {
    for u in unknowns {
        writeln!(
            out,
            "  unknown ({}): {}",
            visible(u.kind),
            visible(&u.detail)
        )?;
    }
    Ok(())
}

fn print_reach_roles(out: &mut impl Write, p: &PipelineReach) -> Result<()> {
    for r in &p.roles {
        let mark = match r.verdict {
            Verdict::Admitted => "+",
            Verdict::Unknown => "?",
            Verdict::Refused => "-",
        };
        let conf = if r.configured { " [configured]" } else { "" };
        let ns = if r.namespace.is_empty() {
            String::new()
        } else {
            format!("{} ", r.namespace)
        };
        let role = format!("{ns}auth/{}/role/{}", r.mount, r.role);
        writeln!(
            out,
            "  {mark} role {}{conf}: {} ({} secrets)",
            visible(&role),
            visible(&r.why),
            r.secrets
        )?;
        if !r.policies.is_empty() {
            let names: Vec<_> = r.policies.iter().map(|p| visible(&p.name)).collect();
            writeln!(out, "      policies: {}", names.join(", "))?;
        }
    }
    Ok(())
}

/// One row per secret: path and capabilities in columns padded by hand (a path may be longer
/// than `{:width$}` allows), then the chains that grant it.
fn print_reach_secrets(out: &mut impl Write, p: &PipelineReach) -> Result<()> {
    let rows: Vec<(String, String)> = p
        .secrets
        .iter()
        .map(|s| {
            let full = format!("{}{}", s.namespace, s.path);
            (visible(&full).into_owned(), s.capabilities.join(","))
        })
        .collect();
    let path_width = column_width(rows.iter().map(|r| &r.0), 0);
    let caps_width = column_width(rows.iter().map(|r| &r.1), 0);
    for (s, (full, caps)) in p.secrets.iter().zip(&rows) {
        let via: Vec<String> = s
            .via
            .iter()
            .map(|v| format!("{} → {} \"{}\"", v.role, v.policy, v.rule))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        writeln!(
            out,
            "    {}  {}  via {}",
            pad(full, path_width),
            pad(caps, caps_width),
            visible(&via.join("; "))
        )?;
    }
    Ok(())
}

pub(super) fn run_who_can(args: WhoCanArgs) -> Result<Outcome> {
    let estate = Estate::load(&args.snapshot, Some(&args.pipelines))?;
    let cap = match &args.capability {
        None => None,
        Some(c) => Some(Caps::from_name(c).with_context(|| {
            format!("unknown capability {c:?} (expected one of create, read, update, patch, delete, list, scan, sudo)")
        })?),
    };
    let ns = crate::model::namespace_path(&args.namespace).into_owned();
    let review = estate.review(ReviewOptions::default());
    let res = review.who_can(&ns, &args.path, cap);
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &res)?;
            out.write_all(b"\n")?;
        }
        Format::Table => {
            writeln!(
                out,
                "who can reach {}: {} subjects",
                visible(&format!("{ns}{}", args.path)),
                res.subjects.len()
            )?;
            for s in &res.subjects {
                let via: Vec<String> = s
                    .via
                    .iter()
                    .map(|v| format!("{} \"{}\"", v.policy, v.rule))
                    .collect();
                writeln!(
                    out,
                    "  {} (team {}) via {}: {}  [{}]",
                    visible(&s.pipeline),
                    visible(s.team.as_deref().unwrap_or("-")),
                    visible(&format!("auth/{}/role/{}", s.mount, s.role)),
                    s.capabilities.join(","),
                    visible(&via.join("; "))
                )?;
            }
            print_unknowns(&mut out, &res.unknowns)?;
        }
    }
    out.flush()?;
    drop(out);
    super::finish(Outcome::Success)
}
