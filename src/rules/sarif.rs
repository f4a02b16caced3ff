//! SARIF 2.1.0 output for GitHub code scanning (and any SARIF viewer). The few objects needed
//! are written by hand rather than generated from the whole schema; `tests/suite/findings_sarif.rs`
//! validates the output against the SARIF 2.1.0 JSON schema.
//!
//! GitHub needs a physical location per result, so each finding points at the object it is
//! about in the file it comes from: a pipeline (or team) in the inventory, a role, policy,
//! entity, mount or audit device in the snapshot, found by text search (line 1 when not found).
//! `security-severity` (GitHub's 0.0–10.0 scale) and `level` follow the finding's severity;
//! suppressed findings carry a SARIF `suppressions` entry with their reason.

use serde::Serialize;
use serde_json::{Map, Value};

use super::{Finding, Report, RuleMeta, Severity};

pub(crate) const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

#[derive(Serialize)]
pub(crate) struct Log {
    #[serde(rename = "$schema")]
    pub schema: &'static str,
    pub version: &'static str,
    pub runs: Vec<Run>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Run {
    pub tool: Tool,
    pub results: Vec<SarifResult>,
    pub column_kind: &'static str,
}

#[derive(Serialize)]
pub(crate) struct Tool {
    pub driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Driver {
    pub name: &'static str,
    pub version: &'static str,
    pub semantic_version: &'static str,
    pub rules: Vec<Rule>,
}

#[derive(Serialize)]
pub(crate) struct Text {
    pub text: String,
}

#[derive(Serialize)]
pub(crate) struct MultiformatText {
    pub text: String,
    pub markdown: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Rule {
    pub id: String,
    pub name: String,
    pub short_description: Text,
    pub full_description: Text,
    pub help: MultiformatText,
    pub default_configuration: Configuration,
    pub properties: Map<String, Value>,
}

#[derive(Serialize)]
pub(crate) struct Configuration {
    pub level: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SarifResult {
    pub rule_id: String,
    pub rule_index: usize,
    pub level: &'static str,
    pub message: Text,
    pub locations: Vec<Location>,
    pub partial_fingerprints: Map<String, Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suppressions: Vec<Suppression>,
    pub properties: Map<String, Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Location {
    pub physical_location: PhysicalLocation,
    pub logical_locations: Vec<LogicalLocation>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PhysicalLocation {
    pub artifact_location: ArtifactLocation,
    pub region: Region,
}

#[derive(Serialize)]
pub(crate) struct ArtifactLocation {
    pub uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Region {
    pub start_line: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LogicalLocation {
    pub name: String,
    pub fully_qualified_name: String,
    pub kind: String,
}

#[derive(Serialize)]
pub(crate) struct Suppression {
    pub kind: &'static str,
    pub status: &'static str,
    pub justification: String,
}

/// SARIF `level` of a severity.
pub(crate) fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub's `security-severity` (critical ≥ 9.0, high 7.0–8.9, medium 4.0–6.9, low < 4.0).
pub(crate) fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "1.0",
    }
}

/// The input files, for locations.
pub(crate) struct Artifacts<'a> {
    /// Path of the snapshot as given (shown as the artifact URI) and its text.
    pub snapshot: (&'a str, &'a str),
    pub pipelines: Option<(&'a str, &'a str)>,
}

/// The artifact URI of an input file: percent-encoded, so a space, `#`, `%`, `?`, a non-ASCII
/// or a control character in a file name still gives a valid URI reference for the same file.
fn uri(path: &str) -> String {
    crate::text::path_reference(path)
}

/// 1-based line of the first line containing `needle` at or after line `from` (0-based).
fn find_line(text: &str, needle: &str, from: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .skip(from)
        .find(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
}

fn s<'m>(m: &'m Map<String, Value>, k: &str) -> Option<&'m str> {
    m.get(k).and_then(Value::as_str)
}

/// Where a finding's subject is written: an input file as the user named it, and a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Spot {
    pub file: String,
    pub line: usize,
}

/// Where in the input files a finding's subject is (SARIF and GitLab reports place findings
/// the same way).
pub(crate) fn locate(f: &Finding, a: &Artifacts<'_>) -> Spot {
    let (file, line) = locate_parts(f, a);
    Spot { file, line }
}

fn locate_parts(f: &Finding, a: &Artifacts<'_>) -> (String, usize) {
    let subj = &f.subject;
    let kind = s(subj, "kind").unwrap_or("");
    let (snap_path, snap) = a.snapshot;
    let json_str = |v: &str| serde_json::to_string(v).unwrap_or_default();
    if matches!(kind, "pipeline" | "team") {
        if let Some((pp, text)) = a.pipelines {
            let name = s(subj, "name").or(s(subj, "id")).unwrap_or("");
            let line = find_line(text, &format!("name: {name}"), 0)
                .or_else(|| find_line(text, &format!("name: \"{name}\""), 0))
                .or_else(|| find_line(text, &format!("\"name\": {}", json_str(name)), 0))
                .unwrap_or(1);
            return (pp.to_string(), line);
        }
    }
    // A CI job (`exposure.ci-*`), a Kubernetes consumer or store: the CI configuration or
    // manifest file itself, at the exposure's line.
    if matches!(kind, "ci_job" | "k8s_consumer" | "k8s_store") {
        if let Some(file) = f
            .evidence
            .get("file")
            .and_then(Value::as_str)
            .or(s(subj, "file"))
        {
            let line = f.evidence.get("line").and_then(Value::as_u64).unwrap_or(0);
            return (file.to_string(), (line as usize).max(1));
        }
    }
    let line = match kind {
        "role" => {
            let mount = s(subj, "mount").unwrap_or("");
            let name = s(subj, "name").unwrap_or("");
            let start = find_line(
                snap,
                &format!("\"path\": {}", json_str(&format!("{mount}/"))),
                0,
            )
            .unwrap_or(1);
            find_line(snap, &format!("\"name\": {}", json_str(name)), start - 1)
        }
        "policy" => {
            let name = s(subj, "name").unwrap_or("");
            let needle = format!("\"name\": {}", json_str(name));
            let lines: Vec<&str> = snap.lines().collect();
            lines
                .iter()
                .enumerate()
                .filter(|(_, l)| l.contains(&needle))
                .find(|(i, _)| {
                    lines
                        .iter()
                        .skip(i + 1)
                        .take(2)
                        .any(|l| l.trim_start().starts_with("\"policy\""))
                })
                .map(|(i, _)| i + 1)
                .or_else(|| find_line(snap, &needle, 0))
        }
        "entity" => s(subj, "entity_id")
            .and_then(|id| find_line(snap, &format!("\"id\": {}", json_str(id)), 0)),
        "audit_device" | "audit" => {
            let start = find_line(snap, "\"audit_devices\"", 0).unwrap_or(1);
            match s(subj, "path") {
                Some(p) => find_line(snap, &format!("\"path\": {}", json_str(p)), start - 1),
                None => Some(start),
            }
        }
        "auth_mount" => s(subj, "path").and_then(|p| {
            find_line(
                snap,
                &format!("\"path\": {}", json_str(&format!("{p}/"))),
                0,
            )
        }),
        _ => None,
    };
    (snap_path.to_string(), line.unwrap_or(1))
}

fn rule_name(id: &str) -> String {
    id.split(['.', '-', '/'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

fn rule(r: &RuleMeta) -> Rule {
    let mut props = Map::new();
    props.insert(
        "tags".into(),
        Value::Array(vec![
            Value::String("security".into()),
            Value::String("ci-cd".into()),
            Value::String(r.practice.clone()),
        ]),
    );
    props.insert(
        "security-severity".into(),
        Value::String(security_severity(r.severity).into()),
    );
    props.insert("precision".into(), Value::String("high".into()));
    props.insert("practice".into(), Value::String(r.practice.clone()));
    let mut markdown = format!(
        "**{}**\n\n{}\n\n**Fix:** {}",
        r.title, r.description, r.remediation
    );
    if let Some(h) = &r.help {
        markdown.push_str(&format!("\n\nSee `{h}` in the blastmap repository."));
    }
    Rule {
        id: r.id.clone(),
        name: rule_name(&r.id),
        short_description: Text {
            text: r.title.clone(),
        },
        full_description: Text {
            text: r.description.clone(),
        },
        help: MultiformatText {
            text: format!("{}\n\nFix: {}", r.description, r.remediation),
            markdown,
        },
        default_configuration: Configuration {
            level: level(r.severity),
        },
        properties: props,
    }
}

/// The SARIF log of a report.
pub(crate) fn log(report: &Report, artifacts: &Artifacts<'_>) -> Log {
    let rules: Vec<Rule> = report.rules.iter().map(rule).collect();
    let index: std::collections::HashMap<&str, usize> = report
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    let results = report
        .findings
        .iter()
        .map(|f| {
            let spot = locate(f, artifacts);
            let (uri, line) = (uri(&spot.file), spot.line);
            let mut fingerprints = Map::new();
            fingerprints.insert(
                "blastmapFinding/v1".into(),
                Value::String(f.fingerprint.clone()),
            );
            let mut props = Map::new();
            props.insert("severity".into(), Value::String(f.severity.as_str().into()));
            props.insert(
                "security-severity".into(),
                Value::String(security_severity(f.severity).into()),
            );
            props.insert("practice".into(), Value::String(f.practice.clone()));
            props.insert("subject".into(), Value::Object(f.subject.clone()));
            props.insert("evidence".into(), Value::Object(f.evidence.clone()));
            let label = f.subject_label();
            Location {
                physical_location: PhysicalLocation {
                    artifact_location: ArtifactLocation { uri },
                    region: Region { start_line: line },
                },
                logical_locations: vec![LogicalLocation {
                    name: s(&f.subject, "name")
                        .or(s(&f.subject, "id"))
                        .unwrap_or(&label)
                        .to_string(),
                    fully_qualified_name: label.clone(),
                    kind: s(&f.subject, "kind").unwrap_or("object").to_string(),
                }],
            }
            .into_result(
                f,
                index.get(f.rule.as_str()).copied().unwrap_or(0),
                fingerprints,
                props,
            )
        })
        .collect();
    Log {
        schema: SCHEMA_URI,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: "blastmap",
                    version: env!("CARGO_PKG_VERSION"),
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    rules,
                },
            },
            results,
            column_kind: "unicodeCodePoints",
        }],
    }
}

impl Location {
    fn into_result(
        self,
        f: &Finding,
        rule_index: usize,
        fp: Map<String, Value>,
        props: Map<String, Value>,
    ) -> SarifResult {
        SarifResult {
            rule_id: f.rule.clone(),
            rule_index,
            level: level(f.severity),
            message: Text {
                text: format!("{} ({}): {}", f.title, f.subject_label(), f.message),
            },
            locations: vec![self],
            partial_fingerprints: fp,
            suppressions: f
                .suppressed
                .as_ref()
                .map(|s| {
                    vec![Suppression {
                        kind: "external",
                        status: "accepted",
                        justification: s.reason.clone(),
                    }]
                })
                .unwrap_or_default(),
            properties: props,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_lines() {
        assert_eq!(
            rule_name("workload-constraints.owner-unbound"),
            "WorkloadConstraintsOwnerUnbound"
        );
        assert_eq!(find_line("a\nb\nc b", "b", 2), Some(3));
        assert_eq!(uri("./x\\y.json"), "x/y.json");
    }
}
