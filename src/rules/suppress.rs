//! Suppressions: accepted findings, each with a reason, read from a YAML or JSON file
//! (`--suppress FILE`). A suppressed finding stays in every output, marked with its reason; it
//! only stops counting for `--fail-on`. Suppressions that match nothing, or have expired, are
//! reported so they do not rot.
//!
//! ```yaml
//! suppressions:
//!   - rule: identity-isolation.shared-role     # a rule id; `*` globs allowed
//!     subject:                                 # optional: every key must match the subject
//!       id: auth/gha/role/lint                 # strings may use `*` globs
//!     reason: "lint only reads the shared CI cache; accepted by security (SEC-1234)"
//!     expires: 2027-01-31                      # optional: stops applying after this day
//! ```

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

use super::error::{InvalidExpiry, RulesError};
use super::{Finding, Suppressed};
use crate::login::go_glob;

/// One suppression.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Suppression {
    pub rule: String,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub subject: Map<String, Value>,
    pub reason: String,
    /// `YYYY-MM-DD` or an RFC3339 time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// Why it is listed as unused (`matched no finding`, `expired on …`); output only.
    #[serde(default, skip_serializing_if = "Option::is_none", skip_deserializing)]
    pub status: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    suppressions: Vec<Suppression>,
}

/// A loaded suppression file.
#[derive(Debug, Clone, Default)]
pub struct Suppressions {
    pub items: Vec<Suppression>,
    /// When suppressions expire relative to (now, unless a test fixes it).
    pub now: Option<OffsetDateTime>,
}

fn expiry(s: &str) -> Result<OffsetDateTime, InvalidExpiry> {
    let trimmed = s.trim();
    if let Ok(timestamp) = OffsetDateTime::parse(trimmed, &Rfc3339) {
        return Ok(timestamp);
    }
    let date = || -> Option<Date> {
        let mut parts = trimmed.splitn(3, '-');
        let year: i32 = parts.next()?.parse().ok()?;
        let month: u8 = parts.next()?.parse().ok()?;
        let day: u8 = parts.next()?.parse().ok()?;
        Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()
    };
    date()
        .map(|d| {
            // A date expires at the end of that day (UTC).
            d.next_day().unwrap_or(d).midnight().assume_utc()
        })
        .ok_or_else(|| InvalidExpiry {
            text: s.to_string(),
        })
}

impl Suppressions {
    /// Read a suppression file (`.yaml`, `.yml` or `.json`).
    pub fn load(path: &Path) -> Result<Suppressions, RulesError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| RulesError::ReadSuppressions {
                path: path.to_path_buf(),
                source,
            })?;
        let name = path.display().to_string();
        let json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        Suppressions::parse(&text, &name, json)
    }

    /// Parse suppressions from text.
    pub fn parse(text: &str, name: &str, json: bool) -> Result<Suppressions, RulesError> {
        fn invalid<E: std::fmt::Display>(
            name: &str,
        ) -> impl Fn(serde_path_to_error::Error<E>) -> RulesError + '_ {
            move |e| RulesError::SuppressionFile {
                file: name.to_string(),
                at: e.path().to_string(),
                reason: e.inner().to_string(),
            }
        }
        let file: File = if json {
            let mut deserializer = serde_json::Deserializer::from_str(text);
            serde_path_to_error::deserialize(&mut deserializer).map_err(invalid(name))?
        } else {
            let deserializer = yaml_serde::Deserializer::from_str(text);
            serde_path_to_error::deserialize(deserializer).map_err(invalid(name))?
        };
        for (index, s) in file.suppressions.iter().enumerate() {
            let file = name.to_string();
            if s.rule.trim().is_empty() {
                return Err(RulesError::SuppressionWithoutRule { file, index });
            }
            if s.reason.trim().is_empty() {
                let rule = s.rule.clone();
                return Err(RulesError::SuppressionWithoutReason { file, index, rule });
            }
            if let Some(e) = &s.expires {
                expiry(e).map_err(|problem| RulesError::SuppressionExpiry {
                    file,
                    index,
                    problem,
                })?;
            }
        }
        Ok(Suppressions {
            items: file.suppressions,
            now: None,
        })
    }

    /// Mark matching findings as suppressed; return the suppressions that matched nothing or
    /// have expired.
    pub fn apply(&self, findings: &mut [Finding]) -> Vec<Suppression> {
        let now = self.now.unwrap_or_else(OffsetDateTime::now_utc);
        let mut used = vec![false; self.items.len()];
        let active: Vec<bool> = self
            .items
            .iter()
            .map(|s| match &s.expires {
                Some(e) => expiry(e).map(|t| now < t).unwrap_or(false),
                None => true,
            })
            .collect();
        for f in findings.iter_mut() {
            for (i, s) in self.items.iter().enumerate() {
                if !active[i] || !s.matches(f) {
                    continue;
                }
                used[i] = true;
                if f.suppressed.is_none() {
                    f.suppressed = Some(Suppressed {
                        reason: s.reason.clone(),
                        expires: s.expires.clone(),
                    });
                }
            }
        }
        self.items
            .iter()
            .enumerate()
            .filter(|(i, _)| !used[*i])
            .map(|(i, s)| {
                let mut suppression = s.clone();
                suppression.status = Some(if active[i] {
                    "matched no finding".to_string()
                } else {
                    format!(
                        "expired on {}: the findings it covered are reported again",
                        suppression.expires.clone().unwrap_or_default()
                    )
                });
                suppression
            })
            .collect()
    }
}

impl Suppression {
    /// Whether this suppression covers a finding.
    pub fn matches(&self, f: &Finding) -> bool {
        if !(self.rule == f.rule || (self.rule.contains('*') && go_glob(&self.rule, &f.rule))) {
            return false;
        }
        self.subject.iter().all(|(k, want)| match f.subject.get(k) {
            None => false,
            Some(have) => match (want, have) {
                (Value::String(w), Value::String(h)) => {
                    w == h || (w.contains('*') && go_glob(w, h))
                }
                (w, h) => w == h,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Severity;

    fn finding(rule: &str, id: &str) -> Finding {
        let mut subject = Map::new();
        subject.insert("kind".into(), Value::String("role".into()));
        subject.insert("id".into(), Value::String(id.into()));
        Finding {
            rule: rule.into(),
            severity: Severity::High,
            practice: "identity-isolation".into(),
            title: "t".into(),
            subject,
            message: "m".into(),
            evidence: Map::new(),
            remediation: "r".into(),
            suppressed: None,
            fingerprint: String::new(),
        }
    }

    #[test]
    fn matching_and_expiry() {
        let s = Suppressions::parse(
            "suppressions:\n  - rule: a.*\n    subject: {id: 'auth/gha/role/*'}\n    reason: ok\n  - rule: b.x\n    reason: old\n    expires: 2020-01-01\n  - rule: c.y\n    reason: unused\n",
            "s.yaml",
            false,
        )
        .unwrap();
        let mut fs = vec![
            finding("a.b", "auth/gha/role/lint"),
            finding("a.b", "auth/k8s/role/x"),
            finding("b.x", "auth/gha/role/lint"),
        ];
        let unused = s.apply(&mut fs);
        assert!(fs[0].suppressed.is_some());
        assert!(fs[1].suppressed.is_none());
        assert!(fs[2].suppressed.is_none(), "expired");
        assert_eq!(unused.len(), 2);
        assert!(unused[0].status.as_deref().unwrap().starts_with("expired"));
    }

    #[test]
    fn reason_required() {
        let e = Suppressions::parse(
            "suppressions:\n  - rule: a\n    reason: ' '\n",
            "s.yaml",
            false,
        )
        .unwrap_err();
        assert!(e.to_string().contains("reason"), "{e}");
        let e = Suppressions::parse("suppressions:\n  - rule: a\n", "s.yaml", false).unwrap_err();
        assert!(e.to_string().contains("reason"), "{e}");
        let e = Suppressions::parse(
            "suppressions:\n  - rule: a\n    reason: x\n    expires: soon\n",
            "s.yaml",
            false,
        )
        .unwrap_err();
        assert!(e.to_string().contains("expires"), "{e}");
    }
}
