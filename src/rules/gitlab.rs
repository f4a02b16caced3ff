//! Findings as a GitLab security report (the SAST report format, schema 15), for
//! `artifacts:reports:sast`: GitLab then shows them in the merge request's security widget and
//! the project's vulnerability report.
//!
//! Each unsuppressed finding is one vulnerability, placed where SARIF places it (the same
//! [`locate`]); its `id` is the finding's fingerprint, so the same finding keeps its identity
//! from one pipeline to the next and GitLab tracks it rather than reporting it anew. Suppressed
//! findings are left out: they were accepted, with a reason, in the suppression file, and the
//! format has no field to carry that reason.

use serde::Serialize;
use time::OffsetDateTime;

use super::sarif::{locate, Artifacts};
use super::{Finding, Report, Severity};

/// The version of GitLab's report schema this output follows.
pub(crate) const SCHEMA_VERSION: &str = "15.2.1";

/// GitLab's limits on a vulnerability's name and description (characters).
const NAME_MAX: usize = 255;
const DESCRIPTION_MAX: usize = 1_048_576;

#[derive(Debug, Serialize)]
pub(crate) struct GitlabReport {
    pub version: &'static str,
    pub vulnerabilities: Vec<Vulnerability>,
    pub scan: Scan,
}

#[derive(Debug, Serialize)]
pub(crate) struct Vulnerability {
    pub id: String,
    pub name: String,
    pub description: String,
    pub severity: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub solution: Option<String>,
    pub identifiers: Vec<Identifier>,
    pub location: Location,
}

#[derive(Debug, Serialize)]
pub(crate) struct Identifier {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: String,
    pub value: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct Location {
    pub file: String,
    pub start_line: usize,
}

#[derive(Debug, Serialize)]
pub(crate) struct Scan {
    pub analyzer: Tool,
    pub scanner: Tool,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub start_time: String,
    pub end_time: String,
    pub status: &'static str,
}

#[derive(Debug, Serialize)]
pub(crate) struct Tool {
    pub id: &'static str,
    pub name: &'static str,
    pub version: &'static str,
    pub vendor: Vendor,
}

#[derive(Debug, Serialize)]
pub(crate) struct Vendor {
    pub name: &'static str,
}

/// GitLab's severity names.
pub(crate) fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Info => "Info",
        Severity::Low => "Low",
        Severity::Medium => "Medium",
        Severity::High => "High",
        Severity::Critical => "Critical",
    }
}

/// GitLab's time form: UTC, to the second, without a zone designator.
fn gitlab_time(t: OffsetDateTime) -> String {
    let utc = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        utc.year(),
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second()
    )
}

/// At most `max` characters of `text`, ending with `…` when cut.
fn at_most(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

fn blastmap_tool() -> Tool {
    Tool {
        id: "blastmap",
        name: "blastmap",
        version: env!("CARGO_PKG_VERSION"),
        vendor: Vendor { name: "blastmap" },
    }
}

fn vulnerability(f: &Finding, artifacts: &Artifacts<'_>) -> Vulnerability {
    let spot = locate(f, artifacts);
    Vulnerability {
        id: f.fingerprint.clone(),
        name: at_most(&format!("{}: {}", f.title, f.subject_label()), NAME_MAX),
        description: at_most(&f.message, DESCRIPTION_MAX),
        severity: severity(f.severity),
        solution: (!f.remediation.is_empty()).then(|| at_most(&f.remediation, DESCRIPTION_MAX)),
        identifiers: vec![Identifier {
            kind: "blastmap_rule",
            name: at_most(&format!("blastmap {}", f.rule), NAME_MAX),
            value: f.rule.clone(),
        }],
        location: Location {
            file: crate::text::repository_path(&spot.file),
            start_line: spot.line,
        },
    }
}

/// The report of `report`'s unsuppressed findings, for a scan that ran from `started` to now.
pub(crate) fn report(
    report: &Report,
    artifacts: &Artifacts<'_>,
    started: OffsetDateTime,
) -> GitlabReport {
    let vulnerabilities = report
        .findings
        .iter()
        .filter(|f| f.suppressed.is_none())
        .map(|f| vulnerability(f, artifacts))
        .collect();
    GitlabReport {
        version: SCHEMA_VERSION,
        vulnerabilities,
        scan: Scan {
            analyzer: blastmap_tool(),
            scanner: blastmap_tool(),
            kind: "sast",
            start_time: gitlab_time(started),
            end_time: gitlab_time(OffsetDateTime::now_utc()),
            status: "success",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_seconds_without_a_zone() {
        let t = OffsetDateTime::from_unix_timestamp(1_780_000_000).unwrap();
        assert_eq!(gitlab_time(t), "2026-05-28T20:26:40");
    }

    #[test]
    fn long_text_is_cut_to_the_limit_at_a_character() {
        assert_eq!(at_most("abc", 3), "abc");
        assert_eq!(at_most("abcd", 3), "ab…");
        assert_eq!(at_most("ééééé", 4).chars().count(), 4);
    }
}
