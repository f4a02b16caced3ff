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

use crate::diff::{self, DiffReport, FindingsDelta, Side};
use crate::facts::{self, FactsOptions};
use crate::inventory::Inventory;
use crate::model::Snapshot;
use crate::passes::reach::{Analysis, ReachOptions};
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

    /// The what-if of `head` against `base`, with its findings delta. With an inventory of
    /// uniquely named pipelines the head takes over from the base what the change leaves equal
    /// (secret index, parsed policies, logins, tokens, pipelines' facts; see
    /// `docs/what-if.md`), so a small change costs little more than one side; otherwise
    /// (role-level what-if, or duplicate pipeline names) both sides are judged whole.
    pub fn diff(
        &self,
        base: &Snapshot,
        head: &Snapshot,
        inventory: Option<&Inventory>,
    ) -> Result<DiffReport> {
        if let Some(inv) = inventory.filter(|i| diff::unique_names(i)) {
            return self.diff_streamed(base, head, inv);
        }
        let (mut report, findings) =
            diff::diff_and_judge(base, head, inventory, |b, h| self.delta(b, h));
        report.findings = findings?;
        Ok(report)
    }

    fn diff_streamed(
        &self,
        base: &Snapshot,
        head: &Snapshot,
        inv: &Inventory,
    ) -> Result<DiffReport> {
        let timings = std::env::var_os("BLASTMAP_FACTS_TIMINGS").is_some();
        let t0 = std::time::Instant::now();
        let lap = |what: &str| {
            if timings {
                eprintln!("diff: {what} at {:.3}s", t0.elapsed().as_secs_f64());
            }
        };
        let ba = Analysis::new(base, inv);
        let ha = Analysis::new_reusing(head, inv, &ba);
        let opts = ReachOptions::default();
        let bp = ba.prepare_reach(&opts);
        let hp = ha.prepare_reach_reusing(&opts, &bp);
        lap("prepared");
        let pipelines = diff::streamed_deltas(&bp, &hp, inv);
        lap("delta assembled");
        let (logins, tokens) = bp.parts();
        let fb = facts::build_base(&ba, &self.facts, logins, tokens);
        lap("base facts");
        // The head's facts (most of them copies of the base's) are built while the base's facts
        // are loaded into the Rego engine; then the rules of both sides run side by side.
        let (base_input, (mut hf, copied)) = rayon::join(
            || Self::input(&fb.facts),
            || facts::build_reusing(&ha, &self.facts, Some(hp.into_parts()), &fb),
        );
        lap("head facts");
        let base_input = base_input?;
        // The head's input shares the base's values of the pipelines whose facts are copies.
        let (before, after) = rayon::join(
            || self.findings(&base_input),
            || {
                RuleSet::input_sharing(&mut hf, &copied, &base_input)
                    .map_err(anyhow::Error::from)
                    .and_then(|i| self.findings(&i))
            },
        );
        lap("both judged");
        let (before, after) = (before?, after?);
        let findings = delta(&before, &after);
        // `blastmap diff` ends after the delta: leave both estates' analyses, reach and facts to
        // the operating system instead of freeing millions of allocations one at a time.
        std::mem::forget((before, after, fb, hf, base_input));
        std::mem::forget(bp);
        std::mem::forget((ba, ha));
        Ok(DiffReport {
            pipelines,
            findings,
            changes: Vec::new(),
            unknowns: Vec::new(),
        })
    }

    /// The findings delta of a role-level what-if, each side judged whole on its analysis.
    fn delta(&self, base: Side<'_>, head: Side<'_>) -> Result<FindingsDelta> {
        let judge = |(a, p): Side<'_>| {
            let f = facts::build_from(&a, &self.facts, p);
            Self::input(&f).and_then(|i| self.findings(&i))
        };
        let (before, after) = rayon::join(|| judge(base), || judge(head));
        Ok(delta(&before?, &after?))
    }

    /// A facts document as the rules' input.
    fn input(facts: &crate::facts::Facts) -> Result<regorus::Value> {
        let t = std::time::Instant::now();
        let r = RuleSet::input_of(facts);
        if std::env::var_os("BLASTMAP_FACTS_TIMINGS").is_some() {
            eprintln!("rules: input built in {:.3}s", t.elapsed().as_secs_f64());
        }
        Ok(r?)
    }

    /// The findings of one facts document.
    fn findings(&self, input: &regorus::Value) -> Result<Vec<Finding>> {
        Ok(self.rules.run_input(input, &self.run)?.findings)
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
