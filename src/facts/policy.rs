//! Per-policy facts: who holds each policy (roles, groups, entities, pipelines and their
//! teams), its wildcard rules with how many known secrets each covers and who owns them, its
//! rules that mint AppRole secret ids (and whether they require wrapping), and whether it
//! grants unwrapping or the cubbyhole. Policies are independent of each other, so they are
//! computed in parallel; the coverage of a wildcard pattern is computed once however many
//! policies repeat it.

use std::collections::BTreeSet;
use std::sync::Arc;

use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;

use super::logins::PipelinesAndTeams;
use super::paths::{self, Pattern};
use super::{ns_of, sorted};
use crate::acl::policy::{PathRule, RuleKind};
use crate::acl::{self, Caps};
use crate::model::{Namespace, Policy, Snapshot};
use crate::ownership::Owners;
use crate::passes::reach::Analysis;
use crate::passes::SecretIndex;

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PolicyFacts {
    pub namespace: String,
    pub name: String,
    /// Roles whose token policies name it.
    pub roles: Vec<String>,
    /// Groups and entities that carry it.
    pub groups: Vec<String>,
    pub entities: Vec<String>,
    /// Pipelines whose tokens hold it, and their teams.
    pub pipelines: Vec<String>,
    pub teams: Vec<String>,
    /// Every path rule is identity-templated (per-entity paths).
    pub templated_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parse_error: Option<String>,
    /// Wildcard rules (`*`, `+`) on secret mounts, with what they cover.
    pub wildcard_rules: Vec<WildcardRuleFacts>,
    /// Rules that can mint AppRole secret-ids.
    pub secret_id_rules: Vec<SecretIdRuleFacts>,
    /// A rule grants `update` on `sys/wrapping/unwrap`.
    pub grants_unwrap: bool,
    /// A rule grants access under `cubbyhole/`.
    pub grants_cubbyhole: bool,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WildcardRuleFacts {
    /// The rule's path as written.
    pub pattern: String,
    pub line: u32,
    /// `prefix` or `segment`.
    pub kind: &'static str,
    pub capabilities: Vec<&'static str>,
    /// The secret mount it falls in (`secret/`), absent when it spans mounts or namespaces.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mount: Option<String>,
    /// Key segments fixed below the mount's data root (`secret/data/ci/*` → 1, `secret/*` → 0);
    /// -1 when the rule spans whole mounts or namespaces.
    pub depth: i32,
    /// Known secrets the pattern matches (other rules of the token may still decide them).
    pub secrets: usize,
    /// Teams owning those secrets, and how many have no owner.
    pub owners: Vec<String>,
    pub unowned: usize,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SecretIdRuleFacts {
    pub pattern: String,
    pub line: u32,
    pub capabilities: Vec<&'static str>,
    /// AppRole roles whose secret-id path it matches.
    pub roles: Vec<String>,
    /// `min_wrapping_ttl` in seconds (0 = responses need not be wrapped).
    pub min_wrapping_ttl: i64,
}

/// Every policy of the analysis, parsed, by `(namespace, name)`.
pub(super) type ParsedPolicies =
    FxHashMap<(String, String), Result<Arc<acl::Policy>, acl::PolicyError>>;

/// How many known secrets a pattern matches, their owning teams, and how many have none.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Coverage {
    pub(super) secrets: usize,
    pub(super) owners: Vec<String>,
    pub(super) unowned: usize,
}

/// Capabilities that let a rule on `auth/.../secret-id` mint secret ids.
const WRITE_CAPS: Caps = Caps::WRITE;

/// Secret engines whose paths hold no secrets a wildcard could cover.
const SYSTEM_MOUNT_TYPES: [&str; 6] = [
    "cubbyhole",
    "ns_cubbyhole",
    "identity",
    "ns_identity",
    "system",
    "ns_system",
];

/// Who holds each policy besides roles and pipelines.
pub(super) struct PolicyHolders<'x> {
    /// Roles attaching each policy `(namespace, name)`.
    pub(super) roles: &'x FxHashMap<(String, String), Vec<String>>,
    /// Pipelines whose tokens carry each policy, and their teams.
    pub(super) pipelines: &'x FxHashMap<(String, String), PipelinesAndTeams>,
}

/// The per-policy facts, and the coverage of every distinct wildcard pattern (kept so that a
/// what-if's head on the same secrets need not compute it again).
pub(super) struct Policies {
    pub(super) policies: Vec<PolicyFacts>,
    pub(super) coverage: FxHashMap<String, Coverage>,
}

/// Per-policy facts, in parallel. `known` is the coverage a similar estate (a what-if's base
/// on the same secrets) already computed.
pub(super) fn policy_facts(
    analysis: &Analysis<'_>,
    owners: &Owners,
    holders: PolicyHolders<'_>,
    known: Option<&FxHashMap<String, Coverage>>,
) -> Policies {
    let snap = analysis.snapshot;
    let parsed_all = analysis.parsed_policies();
    let estate = EstatePaths::collect(snap);
    let clock = crate::timings::Clock::start("facts");
    let runs = owners.runs();
    let coverage = pattern_coverage(
        wildcard_patterns(parsed_all),
        &analysis.secrets,
        owners,
        &runs,
        known,
    );
    log::info!(
        "facts: coverage of {} distinct wildcard patterns in {:.3}s",
        coverage.len(),
        clock.seconds()
    );
    let listed: Vec<(&Namespace, &Policy)> = snap
        .namespaces
        .iter()
        .flat_map(|ns| ns.policies.iter().map(move |policy| (ns, policy)))
        .collect();
    let builder = PolicyBuilder {
        secrets: &analysis.secrets,
        owners,
        runs: &runs,
        coverage: &coverage,
        estate: &estate,
        holders: &holders,
        parsed_all,
    };
    let policies = listed
        .par_iter()
        .map(|(ns, policy)| builder.policy(ns, policy))
        .collect();
    Policies { policies, coverage }
}

/// An AppRole endpoint minting secret ids, and the role it mints them for.
struct SecretIdPath {
    path: String,
    role: String,
}

/// A secret mount wildcards may cover: its namespace-qualified path and whether it is KV v2.
struct SecretMountPath {
    path: String,
    kv2: bool,
}

/// What the rules of every policy are matched against: who carries each policy through
/// identity, the AppRole secret-id endpoints, and the secret mounts.
struct EstatePaths {
    groups_by_policy: FxHashMap<(String, String), Vec<String>>,
    entities_by_policy: FxHashMap<(String, String), Vec<String>>,
    secret_id_paths: Vec<SecretIdPath>,
    secret_mounts: Vec<SecretMountPath>,
}

impl EstatePaths {
    fn collect(snap: &Snapshot) -> EstatePaths {
        let mut estate = EstatePaths {
            groups_by_policy: FxHashMap::default(),
            entities_by_policy: FxHashMap::default(),
            secret_id_paths: Vec::new(),
            secret_mounts: Vec::new(),
        };
        for ns in &snap.namespaces {
            let ns_path = ns_of(&ns.path);
            for group in &ns.groups {
                for policy in &group.policies {
                    estate
                        .groups_by_policy
                        .entry((ns_path.clone(), crate::model::normalize_policy_name(policy)))
                        .or_default()
                        .push(group.name.clone());
                }
            }
            for entity in &ns.entities {
                for policy in &entity.policies {
                    estate
                        .entities_by_policy
                        .entry((ns_path.clone(), crate::model::normalize_policy_name(policy)))
                        .or_default()
                        .push(entity.name.clone());
                }
            }
            for mount in ns.auth_mounts.iter().filter(|m| m.mount_type == "approle") {
                for role in &mount.roles.approle {
                    for suffix in ["secret-id", "custom-secret-id"] {
                        estate.secret_id_paths.push(SecretIdPath {
                            path: format!(
                                "{ns_path}auth/{}/role/{}/{suffix}",
                                mount.name(),
                                role.name
                            ),
                            role: format!("{ns_path}auth/{}/role/{}", mount.name(), role.name),
                        });
                    }
                }
            }
            for mount in &ns.secret_mounts {
                if SYSTEM_MOUNT_TYPES.contains(&mount.mount_type.as_str()) {
                    continue;
                }
                estate.secret_mounts.push(SecretMountPath {
                    path: format!("{ns_path}{}", mount.path),
                    kv2: mount.kv_version() == Some(2),
                });
            }
        }
        estate
    }
}

/// Every distinct wildcard pattern (namespace-qualified) of an allowing, untemplated rule: many
/// policies repeat the same rules, so coverage is computed per pattern, not per rule.
fn wildcard_patterns(parsed_all: &ParsedPolicies) -> BTreeSet<String> {
    let mut patterns: BTreeSet<String> = BTreeSet::new();
    for ((ns_path, _), parsed) in parsed_all {
        let Ok(policy) = parsed else {
            continue;
        };
        for rule in &policy.rules {
            if rule.templated || rule.perms.caps.is_deny() || rule.perms.caps.is_empty() {
                continue;
            }
            let full = format!("{ns_path}{}", rule.key.trim_start_matches('/'));
            if Pattern::new(&full).is_wildcard() {
                patterns.insert(full);
            }
        }
    }
    patterns
}

/// The coverage of each pattern, in parallel; patterns a similar estate (a what-if's base)
/// already covered keep their coverage.
fn pattern_coverage(
    patterns: BTreeSet<String>,
    secrets: &SecretIndex,
    owners: &Owners,
    runs: &[(u32, u16)],
    known: Option<&FxHashMap<String, Coverage>>,
) -> FxHashMap<String, Coverage> {
    patterns
        .into_par_iter()
        .map(|full| {
            let covered = match known.and_then(|known| known.get(&full)) {
                Some(covered) => covered.clone(),
                None => coverage(&Pattern::new(&full), secrets, owners, runs),
            };
            (full, covered)
        })
        .collect()
}

/// Everything the facts of one policy are computed from, shared by the parallel workers.
struct PolicyBuilder<'x> {
    secrets: &'x SecretIndex,
    owners: &'x Owners,
    runs: &'x [(u32, u16)],
    coverage: &'x FxHashMap<String, Coverage>,
    estate: &'x EstatePaths,
    holders: &'x PolicyHolders<'x>,
    parsed_all: &'x ParsedPolicies,
}

/// The paths of a policy's namespace its rules are checked against.
struct NamespacePaths {
    ns_path: String,
    unwrap: String,
    auth_prefix: String,
    cubbyhole: String,
}

impl PolicyBuilder<'_> {
    /// The facts of one policy: its holders, then what its parsed rules grant.
    fn policy(&self, ns: &Namespace, policy: &Policy) -> PolicyFacts {
        let ns_path = ns_of(&ns.path);
        let key = (ns_path.clone(), policy.key());
        let pipelines = self.holders.pipelines.get(&key);
        let mut facts = PolicyFacts {
            namespace: ns_path.clone(),
            name: policy.key(),
            roles: self.holders.roles.get(&key).cloned().unwrap_or_default(),
            groups: lookup(&self.estate.groups_by_policy, &key),
            entities: lookup(&self.estate.entities_by_policy, &key),
            pipelines: pipelines
                .map(|p| p.pipelines.iter().cloned().collect())
                .unwrap_or_default(),
            teams: pipelines
                .map(|p| p.teams.iter().cloned().collect())
                .unwrap_or_default(),
            templated_only: false,
            parse_error: None,
            wildcard_rules: Vec::new(),
            secret_id_rules: Vec::new(),
            grants_unwrap: false,
            grants_cubbyhole: false,
        };
        let parsed = match self.parsed_all.get(&key) {
            Some(Ok(parsed)) => parsed,
            Some(Err(error)) => {
                facts.parse_error = Some(error.to_string());
                return facts;
            }
            None => return facts,
        };
        facts.templated_only =
            !parsed.rules.is_empty() && parsed.rules.iter().all(|rule| rule.templated);
        let scope = NamespacePaths {
            unwrap: format!("{ns_path}sys/wrapping/unwrap"),
            auth_prefix: format!("{ns_path}auth/"),
            cubbyhole: format!("{ns_path}cubbyhole/"),
            ns_path,
        };
        for rule in &parsed.rules {
            let caps = rule.perms.caps;
            if caps.is_deny() || caps.is_empty() || rule.templated {
                continue;
            }
            self.add_rule(&mut facts, &scope, rule);
        }
        facts
    }

    /// What one allowing rule adds to its policy's facts.
    fn add_rule(&self, facts: &mut PolicyFacts, scope: &NamespacePaths, rule: &PathRule) {
        let caps = rule.perms.caps;
        let full = format!("{}{}", scope.ns_path, rule.key.trim_start_matches('/'));
        let pattern = Pattern::new(&full);
        if caps.contains(Caps::UPDATE) && pattern.matches(&scope.unwrap) {
            facts.grants_unwrap = true;
        }
        if pattern.touches(&scope.cubbyhole)
            && caps.intersects(Caps(Caps::READ.0 | Caps::CREATE.0 | Caps::UPDATE.0))
        {
            facts.grants_cubbyhole = true;
        }
        if caps.intersects(WRITE_CAPS) && pattern.touches(&scope.auth_prefix) {
            if let Some(secret_id_rule) = self.secret_id_rule(rule, &pattern) {
                facts.secret_id_rules.push(secret_id_rule);
            }
        }
        if pattern.is_wildcard() {
            if let Some(wildcard) = self.wildcard_rule(rule, &pattern, &full, &scope.ns_path) {
                facts.wildcard_rules.push(wildcard);
            }
        }
    }

    /// A writing rule matching AppRole secret-id endpoints: the roles it mints secret ids for.
    fn secret_id_rule(&self, rule: &PathRule, pattern: &Pattern) -> Option<SecretIdRuleFacts> {
        let roles: Vec<String> = self
            .estate
            .secret_id_paths
            .iter()
            .filter(|endpoint| pattern.matches(&endpoint.path))
            .map(|endpoint| endpoint.role.clone())
            .collect();
        if roles.is_empty() {
            return None;
        }
        Some(SecretIdRuleFacts {
            pattern: rule.key.clone(),
            line: rule.line,
            capabilities: rule.perms.caps.names(),
            roles: sorted(roles),
            min_wrapping_ttl: rule.perms.min_wrapping_ttl.whole_seconds(),
        })
    }

    /// A wildcard rule inside (or spanning) a secret mount: its depth and what it covers. Rules
    /// outside every secret mount cover no secrets and are left out.
    fn wildcard_rule(
        &self,
        rule: &PathRule,
        pattern: &Pattern,
        full: &str,
        ns_path: &str,
    ) -> Option<WildcardRuleFacts> {
        let literal = pattern.literal();
        let mount = self
            .estate
            .secret_mounts
            .iter()
            .filter(|mount| literal.starts_with(mount.path.as_str()))
            .max_by_key(|mount| mount.path.len());
        let spans = self
            .estate
            .secret_mounts
            .iter()
            .any(|mount| mount.path.starts_with(literal));
        let depth = match mount {
            Some(mount) => paths::key_depth(literal, &mount.path, mount.kv2),
            None if spans => -1,
            None => return None,
        };
        let covered = self
            .coverage
            .get(full)
            .cloned()
            .unwrap_or_else(|| coverage(pattern, self.secrets, self.owners, self.runs));
        Some(WildcardRuleFacts {
            pattern: rule.key.clone(),
            line: rule.line,
            kind: if pattern.kind == RuleKind::Segment {
                "segment"
            } else {
                "prefix"
            },
            capabilities: rule.perms.caps.names(),
            mount: mount.map(|mount| mount.path[ns_path.len().min(mount.path.len())..].to_string()),
            depth,
            secrets: covered.secrets,
            owners: covered.owners,
            unowned: covered.unowned,
        })
    }
}

/// The names listed for `key`, or none.
fn lookup(map: &FxHashMap<(String, String), Vec<String>>, key: &(String, String)) -> Vec<String> {
    map.get(key).cloned().unwrap_or_default()
}

/// How many known secrets a pattern matches, their owning teams, and how many have none.
fn coverage(
    pattern: &Pattern,
    index: &SecretIndex,
    owners: &Owners,
    runs: &[(u32, u16)],
) -> Coverage {
    let range = paths::range(index, pattern.literal());
    let names = |owned: &mut dyn Iterator<Item = u16>| -> Vec<String> {
        sorted(owned.flat_map(|owner| owners.team_names(owner).map(str::to_string)))
    };
    if pattern.kind == RuleKind::Prefix {
        let secrets = range.len();
        let (owned, unowned) = Owners::in_range(runs, range);
        return Coverage {
            secrets,
            owners: names(&mut owned.into_iter()),
            unowned,
        };
    }
    let mut secrets = 0;
    let mut unowned = 0;
    let mut owned: FxHashSet<u16> = FxHashSet::default();
    // Segment patterns: the index's per-pattern matches, shared with the reach pass (the same
    // `+` rules were matched there for every token holding them).
    let matched: Box<dyn Iterator<Item = usize>> = if pattern.kind == RuleKind::Segment {
        let ids = index.segment_candidates(&pattern.path);
        Box::new((0..ids.len()).map(move |k| ids[k] as usize))
    } else {
        Box::new(range.filter(|&secret| pattern.matches_secret(&index.secrets[secret])))
    };
    for secret in matched {
        secrets += 1;
        match owners.owner[secret] {
            Owners::NONE => unowned += 1,
            owner => {
                owned.insert(owner);
            }
        }
    }
    Coverage {
        secrets,
        owners: names(&mut owned.into_iter()),
        unowned,
    }
}
