//! The findings half of a what-if: findings of the head that the base does not have, and the
//! reverse, keyed by rule and fingerprint (a hash of the rule and the finding's subject, the same
//! key SARIF uses as `partialFingerprints`).
//!
//! A finding whose subject stays but whose severity or message changes (a policy that gains one
//! more broad wildcard, a cross-team edge that now covers more secrets) is `changed`, with the
//! base's severity and message beside the head's; evidence alone changing is not a change.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Serialize;

use super::error::DiffError;
use super::DiffReport;

type Result<T, E = DiffError> = std::result::Result<T, E>;
use crate::review::Review;
use crate::rules::engine::RunOptions;
use crate::rules::{Finding, RuleSet, Severity, Suppressions};
use crate::timings::Clock;

/// New, resolved and changed findings. A finding is identified by its rule and fingerprint (the
/// rule and its subject): `new` are the head's findings the base lacks, `resolved` the reverse,
/// `changed` the head's findings whose subject the base already had but whose severity or
/// message differs (a policy that gains one more broad wildcard).
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct FindingsDelta {
    pub new: Vec<Finding>,
    pub resolved: Vec<Finding>,
    pub changed: Vec<ChangedFinding>,
}

impl FindingsDelta {
    /// Whether an unsuppressed new finding is at or above `min`, or a known one rose to it.
    /// Suppressed findings never fail a gate.
    pub fn fails_at(&self, min: Severity) -> bool {
        let new = self
            .new
            .iter()
            .any(|f| f.suppressed.is_none() && f.severity >= min);
        let raised = self.changed.iter().any(|c| {
            c.finding.suppressed.is_none() && c.finding.severity >= min && c.before.severity < min
        });
        new || raised
    }
}

/// A finding of the head whose severity or message differs from the base's finding of the same
/// rule and subject: the head's finding, with a `before` object holding the base's `severity`
/// and `message`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ChangedFinding {
    #[serde(flatten)]
    pub finding: Finding,
    pub before: Before,
}

/// What a changed finding was on the base.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Before {
    pub severity: Severity,
    pub message: String,
}

/// Which rules judge both estates.
#[derive(Debug, Default)]
pub struct JudgeConfig {
    /// Directories of the user's own `.rego` rules (`--queries`).
    pub queries: Vec<PathBuf>,
    /// Accepted findings (`--suppress`): a new finding that matches is reported with its
    /// `suppressed` reason and does not fail a severity gate.
    pub suppress: Option<PathBuf>,
}

/// The rules and options that judge each side of a what-if.
pub struct Judge {
    rules: RuleSet,
    run: RunOptions,
}

impl Judge {
    /// The built-in rules and the user's, with the user's suppressions.
    pub fn new(config: &JudgeConfig) -> Result<Judge> {
        let mut rules = RuleSet::builtin();
        for dir in &config.queries {
            rules.add_dir(dir)?;
        }
        let run = RunOptions {
            suppressions: match &config.suppress {
                Some(p) => Some(Suppressions::load(p)?),
                None => None,
            },
            ..RunOptions::default()
        };
        Ok(Judge { rules, run })
    }

    /// The what-if of `head`, a review derived from `base` ([`Review::derive`]), with its
    /// findings delta. The head takes over from the base what the change leaves equal
    /// (`docs/what-if.md`), so a small change costs little more than one side.
    pub fn what_if(&self, base: &Review<'_>, head: &Review<'_>) -> Result<DiffReport> {
        let clock = Clock::start("diff");
        let pipelines = super::pipeline_deltas(base, head);
        clock.lap("delta assembled");
        base.facts();
        clock.lap("base facts");
        // The head's facts (most of them copies of the base's) are built while the base's facts
        // are loaded into the Rego engine; then the rules of both sides run side by side, the
        // head's input sharing the base's values of the pipelines whose facts are copies.
        let (base_input, _) = rayon::join(|| base.rule_input().map(drop), || head.facts());
        base_input?;
        clock.lap("head facts");
        let (before, after) = rayon::join(|| self.findings(base), || self.findings(head));
        clock.lap("both judged");
        Ok(DiffReport {
            schema_version: crate::schema::version::DIFF,
            pipelines,
            findings: delta(&before?, &after?),
            changes: Vec::new(),
            unknowns: Vec::new(),
        })
    }

    /// The findings of one side.
    fn findings(&self, review: &Review<'_>) -> Result<Vec<Finding>> {
        Ok(review.findings(&self.rules, &self.run)?.findings)
    }
}

fn key(f: &Finding) -> (&str, &str) {
    (f.rule.as_str(), f.fingerprint.as_str())
}

/// Findings of `after` whose key `before` lacks (new), the reverse (resolved), and findings of
/// both whose severity or message differs (changed), in the findings' usual order (most severe
/// first).
pub(crate) fn delta(before: &[Finding], after: &[Finding]) -> FindingsDelta {
    let by_key_before: BTreeMap<_, &Finding> = before.iter().map(|f| (key(f), f)).collect();
    let keys_after: BTreeSet<_> = after.iter().map(key).collect();
    let mut out = FindingsDelta::default();
    let mut seen = BTreeSet::new();
    for f in after {
        if !seen.insert(key(f)) {
            continue;
        }
        match by_key_before.get(&key(f)) {
            None => out.new.push(f.clone()),
            Some(b) if b.severity != f.severity || b.message != f.message => {
                out.changed.push(ChangedFinding {
                    finding: f.clone(),
                    before: Before {
                        severity: b.severity,
                        message: b.message.clone(),
                    },
                });
            }
            Some(_) => {}
        }
    }
    let mut seen = BTreeSet::new();
    for f in before {
        if !keys_after.contains(&key(f)) && seen.insert(key(f)) {
            out.resolved.push(f.clone());
        }
    }
    out
}
