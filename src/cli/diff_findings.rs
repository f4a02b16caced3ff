//! The findings half of a what-if: findings of the head that the base does not have, and the
//! reverse, keyed by rule and fingerprint (a hash of the rule and the finding's subject, the same
//! key SARIF uses as `partialFingerprints`).
//!
//! A finding whose subject stays but whose severity or message changes (a policy that gains one
//! more broad wildcard, a cross-team edge that now covers more secrets) is `changed`, with the
//! base's severity and message beside the head's; evidence alone changing is not a change.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::Result;

use crate::diff::FindingsDelta;
use crate::facts::FactsOptions;
use crate::passes::reach::Analysis;
use crate::rules::engine::RunOptions;
use crate::rules::{Finding, RuleSet, Suppressions};

/// Which rules judge both estates.
#[derive(Debug, Default)]
pub struct FindingsConfig {
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
    facts: FactsOptions,
}

impl Judge {
    pub fn new(config: &FindingsConfig) -> Result<Judge> {
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
        Ok(Judge {
            rules,
            run,
            facts: FactsOptions::default(),
        })
    }

    /// The findings of one side, from the analysis the reach delta was computed on.
    pub fn findings<'a>(
        &self,
        analysis: &Analysis<'a>,
        prepared: Option<crate::diff::Prepared<'a>>,
    ) -> Result<Vec<Finding>> {
        let facts = crate::facts::build_from(analysis, &self.facts, prepared);
        let json = serde_json::to_string(&facts)?;
        Ok(self.rules.run(&json, &self.run)?.findings)
    }
}

fn key(f: &Finding) -> (&str, &str) {
    (f.rule.as_str(), f.fingerprint.as_str())
}

/// Findings of `after` whose key `before` lacks (new), the reverse (resolved), and findings of
/// both whose severity or message differs (changed), in the findings' usual order (most severe
/// first).
pub fn delta(before: &[Finding], after: &[Finding]) -> FindingsDelta {
    let by_key_before: BTreeMap<_, &Finding> = before.iter().map(|f| (key(f), f)).collect();
    let keys_after: BTreeSet<_> = after.iter().map(key).collect();
    let to_value = |f: &Finding| serde_json::to_value(f).expect("a finding serialises");
    let mut out = FindingsDelta::default();
    let mut seen = BTreeSet::new();
    for f in after {
        if !seen.insert(key(f)) {
            continue;
        }
        match by_key_before.get(&key(f)) {
            None => out.new.push(to_value(f)),
            Some(b) if b.severity != f.severity || b.message != f.message => {
                let mut v = to_value(f);
                v["before"] = serde_json::json!({
                    "severity": b.severity.as_str(),
                    "message": b.message,
                });
                out.changed.push(v);
            }
            Some(_) => {}
        }
    }
    let mut seen = BTreeSet::new();
    for f in before {
        if !keys_after.contains(&key(f)) && seen.insert(key(f)) {
            out.resolved.push(to_value(f));
        }
    }
    out
}
