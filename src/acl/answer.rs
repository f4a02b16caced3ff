//! The answer `blastmap capabilities` gives on one path: the capabilities, as `sys/capabilities`
//! answers, and the policy rules that decide them. Its JSON output is an array of these (one per
//! path, one per line), described by `docs/schemas/capabilities.schema.json`.

use std::io::{self, Write};

use rustc_hash::FxHashMap;
use serde::Serialize;

use super::eval::Decision;
use super::{Acl, Caps, MergedRule};

/// One policy rule behind an answer.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub(crate) struct Grant<'a> {
    /// The policy (`root` for the root policy).
    pub policy: &'a str,
    /// The rule's path pattern as written (empty for the root policy).
    pub rule: &'a str,
    /// 1-based line of the rule in its policy (0 for the root policy).
    pub line: u32,
    /// The capabilities this rule grants.
    pub capabilities: Vec<&'static str>,
}

/// The answer on one path.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub(crate) struct CapabilityAnswer<'a> {
    /// The path, as asked.
    pub path: &'a str,
    /// What `sys/capabilities` answers (`["deny"]` when nothing is granted).
    pub capabilities: Vec<&'static str>,
    /// The rules that decide the answer.
    pub granted_by: Vec<Grant<'a>>,
}

fn answer_of<'a>(d: &Decision<'a>, path: &'a str) -> CapabilityAnswer<'a> {
    let granted_by = if d.is_root {
        vec![Grant {
            policy: "root",
            rule: "",
            line: 0,
            capabilities: vec!["root"],
        }]
    } else {
        d.rule
            .map(|r| {
                r.deciding_sources()
                    .map(|s| Grant {
                        policy: &s.policy,
                        rule: &s.rule,
                        line: s.line,
                        capabilities: s.caps.names(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    CapabilityAnswer {
        path,
        capabilities: d.names(),
        granted_by,
    }
}

/// What an answer holds besides its path depends only on the decision (root or not, the
/// capabilities, the deciding rule): a few hundred rules answer a million paths.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct DecisionKey {
    is_root: bool,
    caps: Caps,
    /// The deciding rule, by address (rules live as long as the ACL).
    rule: usize,
}

impl DecisionKey {
    fn of(d: &Decision<'_>) -> DecisionKey {
        DecisionKey {
            is_root: d.is_root,
            caps: d.caps,
            rule: d.rule.map_or(0, |r| r as *const MergedRule as usize),
        }
    }
}

/// The start of every answer's JSON: its path field, before the path itself.
const PATH_FIELD: &[u8] = b"{\"path\":";

/// Answers written one path at a time, without building an answer per path: the part of an
/// answer after its path (capabilities and the rules behind them), as JSON or as table cells,
/// is made once per decision and copied. The output is exactly what serialising each
/// [`CapabilityAnswer`] gives.
pub(crate) struct Answers<'a> {
    acl: &'a Acl,
    ns: &'a str,
    /// `,"capabilities":[…],"granted_by":[…]}` per decision.
    json_tails: FxHashMap<DecisionKey, Vec<u8>>,
    /// (capabilities joined, granted-by text) per decision, for the table.
    cells: FxHashMap<DecisionKey, (String, String)>,
}

impl<'a> Answers<'a> {
    pub(crate) fn new(acl: &'a Acl, ns: &'a str) -> Self {
        Answers {
            acl,
            ns,
            json_tails: FxHashMap::default(),
            cells: FxHashMap::default(),
        }
    }

    /// Write the answer on `path` as one JSON object.
    pub(crate) fn write_json(&mut self, w: &mut dyn Write, path: &str) -> io::Result<()> {
        let decision = self.acl.capabilities(self.ns, path);
        let tail = self
            .json_tails
            .entry(DecisionKey::of(&decision))
            .or_insert_with(|| {
                let whole =
                    serde_json::to_vec(&answer_of(&decision, "")).expect("an answer serialises");
                // `{"path":""` then the tail.
                whole[PATH_FIELD.len() + 2..].to_vec()
            });
        w.write_all(PATH_FIELD)?;
        serde_json::to_writer(&mut *w, path).map_err(io::Error::from)?;
        w.write_all(tail)
    }

    /// The answer on `path` as table cells: the capabilities joined with commas, and the
    /// rules behind them (`policy (path "rule", line n); …`, `-` for none), not yet escaped.
    pub(crate) fn cells(&mut self, path: &str) -> &(String, String) {
        let decision = self.acl.capabilities(self.ns, path);
        self.cells
            .entry(DecisionKey::of(&decision))
            .or_insert_with(|| {
                let answer = answer_of(&decision, "");
                let granted_by: Vec<String> = answer
                    .granted_by
                    .iter()
                    .map(|g| format!("{} (path \"{}\", line {})", g.policy, g.rule, g.line))
                    .collect();
                let granted_by = if granted_by.is_empty() {
                    "-".to_string()
                } else {
                    granted_by.join("; ")
                };
                (answer.capabilities.join(","), granted_by)
            })
    }
}
