//! The answer `blastmap capabilities` gives on one path: the capabilities, as `sys/capabilities`
//! answers, and the policy rules that decide them. Its JSON output is an array of these (one per
//! path, one per line), described by `docs/schemas/capabilities.schema.json`.

use serde::Serialize;

use super::Acl;

/// One policy rule behind an answer.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Grant<'a> {
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
pub struct CapabilityAnswer<'a> {
    /// The path, as asked.
    pub path: &'a str,
    /// What `sys/capabilities` answers (`["deny"]` when nothing is granted).
    pub capabilities: Vec<&'static str>,
    /// The rules that decide the answer.
    pub granted_by: Vec<Grant<'a>>,
}

/// The answer of `acl` on `path` in namespace `ns`.
pub fn answer<'a>(acl: &'a Acl, ns: &str, path: &'a str) -> CapabilityAnswer<'a> {
    let d = acl.capabilities(ns, path);
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
