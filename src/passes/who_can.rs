//! Who can reach one path: every pipeline login whose token the server would grant something on
//! it, with the chain, the reverse of [`reach`](super::reach).

use std::collections::BTreeSet;

use serde::Serialize;

use super::reach::{Analysis, Unknown, Via};
use crate::acl::Caps;
use crate::inventory::Pipeline;
use crate::login::Verdict;

/// A pipeline (through one role) that can reach the path.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Subject {
    pub pipeline: String,
    pub team: Option<String>,
    pub role: String,
    pub mount: String,
    pub namespace: String,
    pub capabilities: Vec<&'static str>,
    pub via: Vec<Via>,
    /// `admitted`, or `unknown` when the login could not be decided offline.
    pub admission: Verdict,
}

/// The answer for one path.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WhoCan {
    /// The version of this JSON shape (docs/schemas/README.md).
    pub schema_version: u32,
    pub path: String,
    pub namespace: String,
    pub subjects: Vec<Subject>,
    pub unknowns: Vec<Unknown>,
}

impl Analysis<'_> {
    /// Who can reach `path` in `namespace`, optionally only with `capability`.
    pub fn who_can(&self, namespace: &str, path: &str, capability: Option<Caps>) -> WhoCan {
        let selected: Vec<&Pipeline> = self.inventory.pipelines.iter().collect();
        let (logins, tokens) = self.prepare(&selected);
        let mut subjects = Vec::new();
        let mut unknowns = Vec::new();
        for (p, (ls, u)) in selected.iter().zip(&logins) {
            let mut relevant = false;
            for l in ls {
                let Some(token) = l.token.map(|i| &tokens[i]) else {
                    continue;
                };
                if !namespace.starts_with(&token.identity.token_namespace) {
                    continue;
                }
                let decision = token.acl.capabilities(namespace, path);
                relevant |= !token.unknowns.is_empty();
                if decision.caps.is_deny()
                    || decision.caps.is_empty()
                    || token.identity.entity_disabled
                {
                    continue;
                }
                if capability.is_some_and(|c| !decision.caps.intersects(c)) {
                    continue;
                }
                let mut via = BTreeSet::new();
                let ident = l.identity.as_ref().unwrap_or(&token.identity);
                if let Some(rule) = decision.rule {
                    for src in rule.deciding_sources() {
                        for r in ident
                            .policies
                            .iter()
                            .filter(|r| r.name == src.policy && r.namespace == src.policy_namespace)
                        {
                            via.insert(Via {
                                role: l.role.clone(),
                                mount: l.mount.path.trim_end_matches('/').to_string(),
                                policy: src.policy.clone(),
                                rule: src.rule.clone(),
                                line: src.line,
                                policy_namespace: src.policy_namespace.clone(),
                                origin: r.origin.clone(),
                                admission: l.admission.verdict,
                            });
                        }
                    }
                }
                subjects.push(Subject {
                    pipeline: p.name.clone(),
                    team: p.team.clone(),
                    role: l.role.clone(),
                    mount: l.mount.path.trim_end_matches('/').to_string(),
                    namespace: crate::model::namespace_path(&l.namespace.path).into_owned(),
                    capabilities: decision.caps.names(),
                    via: via.into_iter().collect(),
                    admission: l.admission.verdict,
                });
                relevant = true;
            }
            if relevant {
                for x in u {
                    unknowns.push(Unknown {
                        kind: x.kind,
                        detail: format!("pipeline {:?}: {}", p.name, x.detail),
                    });
                }
                for l in ls {
                    if let Some(token) = l.token.map(|i| &tokens[i]) {
                        for x in &token.unknowns {
                            unknowns.push(Unknown {
                                kind: x.kind,
                                detail: format!(
                                    "pipeline {:?}, role {:?}: {}",
                                    p.name, l.role, x.detail
                                ),
                            });
                        }
                    }
                }
            } else {
                // Undecided logins: they may reach the path.
                for l in ls
                    .iter()
                    .filter(|l| l.admission.verdict == crate::login::Verdict::Unknown)
                {
                    unknowns.push(Unknown {
                        kind: "admission",
                        detail: format!(
                            "pipeline {:?}, role {:?}: admission undecided ({})",
                            p.name,
                            l.role,
                            l.admission.unknowns.join("; ")
                        ),
                    });
                }
                for x in u {
                    unknowns.push(Unknown {
                        kind: x.kind,
                        detail: format!("pipeline {:?}: {}", p.name, x.detail),
                    });
                }
            }
        }
        unknowns.sort();
        unknowns.dedup();
        WhoCan {
            schema_version: crate::schema::version::WHO_CAN,
            path: path.to_string(),
            namespace: namespace.to_string(),
            subjects,
            unknowns,
        }
    }
}
