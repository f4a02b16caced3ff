//! Per-token data the facts of every pipeline share: which wildcard rules and which policies
//! decide each rule of a token's ACL, interned once so that pipelines using the same token (and
//! a what-if's head and base) compare and aggregate small ids instead of strings.

use rustc_hash::FxHashMap;

use super::escalation::Reached;
use super::{policy_label, sorted};
use crate::acl::policy::RuleKind;
use crate::passes::reach::TokenReach;

/// Per-token data derived once and shared by every pipeline using the token.
pub(super) struct TokenInfo {
    /// For each rule id of the token's ACL: the interned wildcard sources deciding it.
    pub(super) wildcard_sources: Vec<Vec<u32>>,
    /// For each rule id: interned policy names deciding it.
    pub(super) policy_ids: Vec<Vec<u32>>,
    /// Policies as `name` or `namespace/name`.
    pub(super) policy_labels: Vec<String>,
    pub(super) escalations: Vec<Reached>,
}

/// A wildcard rule of a policy that decides some grant, interned as one id per distinct rule.
/// Ordered by namespace, policy, pattern, then line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct SourceKey {
    pub(super) policy_namespace: String,
    pub(super) policy: String,
    pub(super) pattern: String,
    pub(super) line: u32,
}

/// Strings numbered in order of first appearance, so that ids index `names`.
#[derive(Default)]
pub(super) struct Interner {
    ids: FxHashMap<String, u32>,
    pub(super) names: Vec<String>,
}

impl Interner {
    /// The id of `name`, numbering it if it is new.
    pub(super) fn id(&mut self, name: String) -> u32 {
        if let Some(&id) = self.ids.get(&name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.ids.insert(name.clone(), id);
        self.names.push(name);
        id
    }
}

/// The per-token data of every token, with the tables its ids point into. Escalations are left
/// empty: they are searched in parallel afterwards, while interning has to run in order so ids
/// are the same on every run.
pub(super) struct TokenTables {
    pub(super) infos: Vec<TokenInfo>,
    /// Wildcard sources by id.
    pub(super) src_keys: Vec<SourceKey>,
    /// Policy labels by id.
    pub(super) policy_names: Vec<String>,
}

/// Intern the wildcard sources and deciding policies of every rule of every token.
pub(super) fn intern(tokens: &[TokenReach]) -> TokenTables {
    let mut interning = Interning::default();
    let infos = tokens
        .iter()
        .map(|token| interning.token_info(token))
        .collect();
    TokenTables {
        infos,
        src_keys: interning.src_keys,
        policy_names: interning.policies.names,
    }
}

/// The interners while the tokens are read.
#[derive(Default)]
struct Interning {
    sources: Interner,
    src_keys: Vec<SourceKey>,
    policies: Interner,
}

impl Interning {
    fn token_info(&mut self, token: &TokenReach) -> TokenInfo {
        let rules = token.acl.rules();
        let mut wildcard_sources = Vec::with_capacity(rules.len());
        let mut policy_ids = Vec::with_capacity(rules.len());
        for rule in rules {
            let mut rule_sources = Vec::new();
            let mut rule_policies = Vec::new();
            for source in rule.deciding_sources() {
                rule_policies.push(self.policies.id(policy_label(
                    &source.policy_namespace,
                    &source.policy,
                    &token.identity.token_namespace,
                )));
                if rule.kind != RuleKind::Exact {
                    let key = format!(
                        "{}\u{0}{}\u{0}{}\u{0}{}",
                        source.policy_namespace, source.policy, source.rule, source.line
                    );
                    let before = self.sources.names.len();
                    let id = self.sources.id(key);
                    if id as usize == before {
                        self.src_keys.push(SourceKey {
                            policy_namespace: source.policy_namespace.clone(),
                            policy: source.policy.clone(),
                            pattern: source.rule.clone(),
                            line: source.line,
                        });
                    }
                    rule_sources.push(id);
                }
            }
            rule_sources.sort_unstable();
            rule_sources.dedup();
            rule_policies.sort_unstable();
            rule_policies.dedup();
            wildcard_sources.push(rule_sources);
            policy_ids.push(rule_policies);
        }
        let policy_labels = sorted(token.identity.policies.iter().map(|policy| {
            policy_label(
                &policy.namespace,
                &policy.name,
                &token.identity.token_namespace,
            )
        }));
        TokenInfo {
            wildcard_sources,
            policy_ids,
            policy_labels,
            escalations: Vec::new(),
        }
    }
}
