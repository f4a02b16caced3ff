//! Human and machine renderings of a findings report: a terminal table, JSON (the contract of
//! `docs/findings.md`), and Markdown for pull-request comments and review documents.
//!
//! Subjects, messages, evidence and suppression reasons carry names from the estate: the table
//! shows them through [`visible`] and Markdown as code ([`md_code`], [`md_cell`]), so none of
//! them can drive the terminal or become a link, an image, HTML or a mention
//! (`docs/security.md`). A rule's own metadata (title, remediation, documentation link) is
//! its author's Markdown and is kept, on one line.

use std::io::Write;

use serde::Serialize;
use serde_json::Value;

use super::{Finding, Report, Severity};
use crate::text::{md_cell, md_code, visible};

/// The JSON document: `{"schema_version": 1, "findings": [...], "summary": {...},
/// "unused_suppressions": [...]}`.
#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct JsonOut<'a> {
    /// The version of this JSON shape (docs/schemas/README.md).
    pub schema_version: u32,
    pub findings: &'a [Finding],
    pub summary: Summary,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub unused_suppressions: &'a [super::Suppression],
}

/// The rule catalogue `findings --list-rules --format json` writes.
#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct Catalogue<'a> {
    /// The version of this JSON shape (docs/schemas/README.md).
    pub schema_version: u32,
    pub rules: &'a [super::RuleMeta],
}

/// The rule catalogue as JSON.
pub(crate) fn catalogue_json(
    out: &mut impl Write,
    rules: &[super::RuleMeta],
) -> std::io::Result<()> {
    let doc = Catalogue {
        schema_version: crate::schema::version::RULES,
        rules,
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    out.write_all(b"\n")
}

#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct Summary {
    pub total: usize,
    /// Unsuppressed findings per severity.
    pub by_severity: std::collections::BTreeMap<&'static str, usize>,
    pub suppressed: usize,
    pub rules: usize,
}

pub(crate) fn summary(r: &Report) -> Summary {
    let (by_severity, suppressed) = r.counts();
    Summary {
        total: r.findings.len(),
        by_severity: Severity::ALL
            .iter()
            .map(|s| (s.as_str(), by_severity.get(s).copied().unwrap_or(0)))
            .collect(),
        suppressed,
        rules: r.rules.len(),
    }
}

pub(crate) fn json(out: &mut impl Write, r: &Report) -> std::io::Result<()> {
    let doc = JsonOut {
        schema_version: crate::schema::version::FINDINGS,
        findings: &r.findings,
        summary: summary(r),
        unused_suppressions: &r.unused_suppressions,
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    out.write_all(b"\n")
}

fn summary_line(r: &Report) -> String {
    let (by_severity, suppressed) = r.counts();
    let total: usize = by_severity.values().sum();
    let parts: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .filter_map(|s| by_severity.get(s).map(|n| format!("{n} {s}")))
        .collect();
    let mut line = format!("{total} finding{}", if total == 1 { "" } else { "s" });
    if !parts.is_empty() {
        line.push_str(&format!(" ({})", parts.join(", ")));
    }
    if suppressed > 0 {
        line.push_str(&format!(", {suppressed} suppressed"));
    }
    line.push_str(&format!(
        ", {} rule{} evaluated",
        r.rules.len(),
        if r.rules.len() == 1 { "" } else { "s" }
    ));
    line
}

/// Short evidence for the table: scalar fields only.
fn evidence_line(f: &Finding) -> Option<String> {
    let parts: Vec<String> = f
        .evidence
        .iter()
        .filter_map(|(k, v)| match v {
            Value::String(s) if s.len() <= 80 => Some(format!("{k}={s}")),
            Value::Number(n) => Some(format!("{k}={n}")),
            Value::Bool(b) => Some(format!("{k}={b}")),
            Value::Array(xs) if !xs.is_empty() && xs.iter().all(Value::is_string) => {
                let items: Vec<&str> = xs
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|s| if s.is_empty() { "\"\"" } else { s })
                    .take(4)
                    .collect();
                let more = if xs.len() > 4 {
                    format!(" (+{})", xs.len() - 4)
                } else {
                    String::new()
                };
                Some(format!("{k}={}{more}", items.join(",")))
            }
            _ => None,
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("  "))
}

/// The terminal table: one block per finding, most severe first.
pub(crate) fn table(out: &mut impl Write, r: &Report) -> std::io::Result<()> {
    if r.findings.is_empty() {
        writeln!(out, "No findings.")?;
    }
    for f in &r.findings {
        let sup = if f.suppressed.is_some() {
            " [suppressed]"
        } else {
            ""
        };
        writeln!(
            out,
            "{:<8} {}  {}{sup}",
            f.severity.as_str().to_uppercase(),
            visible(&f.rule),
            visible(&f.subject_label())
        )?;
        writeln!(out, "         {}", visible(&f.message))?;
        if let Some(e) = evidence_line(f) {
            writeln!(out, "         evidence: {}", visible(&e))?;
        }
        if let Some(s) = &f.suppressed {
            writeln!(out, "         suppressed: {}", visible(&s.reason))?;
        }
        writeln!(out)?;
    }
    for s in &r.unused_suppressions {
        writeln!(
            out,
            "unused suppression: rule {} {}: {}",
            visible(&s.rule),
            if s.subject.is_empty() {
                String::new()
            } else {
                Value::Object(s.subject.clone()).to_string()
            },
            visible(s.status.as_deref().unwrap_or(""))
        )?;
    }
    writeln!(out, "{}", summary_line(r))
}

/// A rule author's Markdown (title, remediation) on one line of a table or a heading: shown
/// as written, with control characters visible and pipes escaped.
fn md_line(s: &str) -> String {
    visible(s).replace('|', "\\|")
}

/// Markdown: a summary, a table, then one section per finding with its evidence.
pub(crate) fn markdown(out: &mut impl Write, r: &Report) -> std::io::Result<()> {
    writeln!(out, "# blastmap findings\n")?;
    writeln!(out, "{}\n", summary_line(r))?;
    let (by_severity, suppressed) = r.counts();
    writeln!(out, "| severity | findings |")?;
    writeln!(out, "|---|---|")?;
    for s in Severity::ALL.iter().rev() {
        writeln!(
            out,
            "| {s} | {} |",
            by_severity.get(s).copied().unwrap_or(0)
        )?;
    }
    writeln!(out, "| suppressed | {suppressed} |\n")?;
    if r.findings.is_empty() {
        writeln!(out, "No findings.")?;
        return Ok(());
    }
    writeln!(out, "| # | severity | rule | subject | finding |")?;
    writeln!(out, "|---|---|---|---|---|")?;
    for (i, f) in r.findings.iter().enumerate() {
        let sev = if f.suppressed.is_some() {
            format!("~~{}~~ (suppressed)", f.severity)
        } else {
            format!("**{}**", f.severity)
        };
        writeln!(
            out,
            "| {} | {sev} | {} | {} | {} |",
            i + 1,
            md_cell(&f.rule),
            md_cell(&f.subject_label()),
            md_cell(&f.message)
        )?;
    }
    writeln!(out, "\n## Details\n")?;
    for (i, f) in r.findings.iter().enumerate() {
        writeln!(
            out,
            "### {}. {} — {}\n",
            i + 1,
            md_line(&f.title),
            md_code(&f.subject_label())
        )?;
        writeln!(
            out,
            "- **Rule:** {} ({}, {})",
            md_code(&f.rule),
            md_code(&f.practice),
            f.severity
        )?;
        if let Some(h) = r.rule(&f.rule).and_then(|m| m.help.as_ref()) {
            writeln!(out, "- **Documentation:** {}", md_code(h))?;
        }
        if let Some(s) = &f.suppressed {
            writeln!(out, "- **Suppressed:** {}", md_code(&s.reason))?;
        }
        writeln!(out, "\n**Finding:** {}\n", md_code(&f.message))?;
        writeln!(out, "**Fix:** {}\n", md_line(&f.remediation))?;
        if !f.evidence.is_empty() {
            writeln!(out, "<details><summary>Evidence</summary>\n")?;
            let json = serde_json::to_string_pretty(&f.evidence)?;
            writeln!(
                out,
                "{}\n</details>\n",
                crate::text::markdown::fenced("json", &json)
            )?;
        }
    }
    if !r.unused_suppressions.is_empty() {
        writeln!(out, "## Unused suppressions\n")?;
        for s in &r.unused_suppressions {
            writeln!(
                out,
                "- {} {}: {}",
                md_code(&s.rule),
                md_code(&Value::Object(s.subject.clone()).to_string()),
                md_code(s.status.as_deref().unwrap_or(""))
            )?;
        }
    }
    Ok(())
}
