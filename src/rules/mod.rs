//! Findings: rules written in Rego (`queries/*.rego`, one file per practice family, plus the
//! user's own with `--queries DIR`) evaluated with the embedded regorus engine over the facts
//! document (`crate::facts`), then severities, suppressions and output formats
//! (`docs/findings.md`).
//!
//! A rule file declares its rules as data and derives findings from `input` (the facts):
//!
//! ```rego
//! package blastmap.rules.exposure
//! import rego.v1
//!
//! rules["exposure.audit-log-raw"] := {
//!     "title": "Audit device logs secrets in clear",
//!     "severity": "critical",
//!     "practice": "exposure",
//!     "description": "…",
//!     "remediation": "…",
//! }
//!
//! findings contains f if {
//!     some d in input.audit.devices
//!     d.log_raw
//!     f := {"rule": "exposure.audit-log-raw", "subject": {"kind": "audit_device", "id": d.path},
//!           "message": sprintf("…", [d.path]), "evidence": {"device": d}}
//! }
//! ```

pub mod engine;
pub(crate) mod error;
pub(crate) mod gitlab;
pub(crate) mod input;
pub(crate) mod render;
pub(crate) mod sarif;
pub(crate) mod suppress;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use engine::{RuleSet, Source};
pub use error::{RulesError, UnknownSeverity};
pub use suppress::{Suppression, Suppressions};

/// The practice families; every rule names one.
pub const PRACTICES: [&str; 8] = [
    "identity-isolation",
    "least-privilege",
    "token-ttl",
    "bootstrap-credentials",
    "exposure",
    "workload-constraints",
    "team-isolation",
    "escalation",
];

/// How bad a finding is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    Default,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[default]
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = UnknownSeverity;
    fn from_str(s: &str) -> Result<Severity, UnknownSeverity> {
        Severity::ALL
            .into_iter()
            .find(|x| x.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownSeverity {
                text: s.to_string(),
            })
    }
}

/// A rule as its file declares it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RuleMeta {
    pub id: String,
    pub title: String,
    /// The default severity (findings may raise or lower it; `--severity` overrides both).
    pub severity: Severity,
    pub practice: String,
    pub description: String,
    pub remediation: String,
    /// The file the rule comes from (`queries/exposure.rego` or a user file).
    pub source: String,
    /// The rule's documentation page, for built-in rules (`docs/rules/<id>.md`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

/// Why a finding is suppressed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct Suppressed {
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// One finding.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Finding {
    pub rule: String,
    pub severity: Severity,
    pub practice: String,
    pub title: String,
    /// What the finding is about: `kind` (`pipeline`, `role`, `policy`, `audit_device`, …), `id`,
    /// and whatever else tells two findings of the rule apart.
    pub subject: Map<String, Value>,
    pub message: String,
    pub evidence: Map<String, Value>,
    pub remediation: String,
    /// Present when a suppression matches; suppressed findings are shown, never dropped, and do
    /// not fail `--fail-on`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppressed>,
    /// A stable hash of the rule and the subject (SARIF `partialFingerprints`).
    pub fingerprint: String,
}

impl Finding {
    /// `role auth/gha/role/lint`, for tables.
    pub fn subject_label(&self) -> String {
        let kind = self.subject.get("kind").and_then(Value::as_str);
        let id = self.subject.get("id").and_then(Value::as_str);
        match (kind, id) {
            (Some(k), Some(i)) => format!("{} {i}", k.replace('_', " ")),
            (None, Some(i)) => i.to_string(),
            _ => Value::Object(self.subject.clone()).to_string(),
        }
    }
}

/// FNV-1a, 64 bits: a stable fingerprint without another dependency.
pub fn fingerprint(rule: &str, subject: &Map<String, Value>) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let canon = canonical(&Value::Object(subject.clone()));
    for b in rule.bytes().chain([0u8]).chain(canon.bytes()) {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// JSON with object keys sorted, for hashing.
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let sorted: BTreeMap<&String, String> =
                m.iter().map(|(k, v)| (k, canonical(v))).collect();
            let inner: Vec<String> = sorted
                .iter()
                .map(|(k, v)| format!("{}:{v}", Value::String((*k).clone())))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(xs) => format!(
            "[{}]",
            xs.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// Everything a findings run produced.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Report {
    /// Every rule that ran (built-in and user), sorted by id.
    #[serde(skip)]
    pub rules: Vec<RuleMeta>,
    /// Findings, most severe first, then by rule and subject.
    pub findings: Vec<Finding>,
    /// Suppressions that matched no finding (or have expired), for people to clean up.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unused_suppressions: Vec<Suppression>,
}

impl Report {
    /// Count of unsuppressed findings at or above `sev`.
    pub fn count_at_least(&self, sev: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.suppressed.is_none() && f.severity >= sev)
            .count()
    }

    /// Per-severity counts of unsuppressed findings, and the number suppressed.
    pub fn counts(&self) -> (BTreeMap<Severity, usize>, usize) {
        let mut by_severity = BTreeMap::new();
        let mut suppressed = 0;
        for f in &self.findings {
            if f.suppressed.is_some() {
                suppressed += 1;
            } else {
                *by_severity.entry(f.severity).or_insert(0) += 1;
            }
        }
        (by_severity, suppressed)
    }

    /// Keep findings at or above `sev` (suppressed ones included).
    pub fn retain_min_severity(&mut self, sev: Severity) {
        self.findings.retain(|f| f.severity >= sev);
    }

    /// The rule a finding belongs to.
    pub fn rule(&self, id: &str) -> Option<&RuleMeta> {
        self.rules.iter().find(|r| r.id == id)
    }
}

/// Order findings: most severe first, then rule id, then subject.
pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.rule.cmp(&b.rule))
            .then_with(|| a.subject_label().cmp(&b.subject_label()))
            .then_with(|| a.message.cmp(&b.message))
    });
}

/// Parse `RULE=SEVERITY` overrides.
pub fn parse_severity_overrides(
    items: &[String],
) -> Result<BTreeMap<String, Severity>, RulesError> {
    let mut out = BTreeMap::new();
    for it in items {
        let (rule, sev) = it
            .split_once('=')
            .ok_or_else(|| RulesError::SeverityOverrideSyntax { item: it.clone() })?;
        out.insert(rule.trim().to_string(), sev.parse::<Severity>()?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_order_and_parse() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::Info < Severity::Low);
        assert_eq!("HIGH".parse::<Severity>().unwrap(), Severity::High);
        assert!("severe".parse::<Severity>().is_err());
    }

    #[test]
    fn fingerprints_ignore_key_order() {
        let a: Map<String, Value> = serde_json::from_str(r#"{"kind":"role","id":"x"}"#).unwrap();
        let b: Map<String, Value> = serde_json::from_str(r#"{"id":"x","kind":"role"}"#).unwrap();
        assert_eq!(fingerprint("r", &a), fingerprint("r", &b));
        assert_ne!(fingerprint("r", &a), fingerprint("s", &a));
    }

    #[test]
    fn overrides() {
        let o = parse_severity_overrides(&["a.b=low".into()]).unwrap();
        assert_eq!(o["a.b"], Severity::Low);
        assert!(parse_severity_overrides(&["a.b".into()]).is_err());
    }
}
