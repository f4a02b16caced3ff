//! The facts pass: everything the findings rules judge, computed once from the graph and
//! aggregated per pipeline, role, policy, entity, mount and namespace (never per secret), so the
//! document stays small on large estates and rules stay cheap (`docs/facts.md`).
//!
//! Per pipeline: admitted roles and their tokens, a reach summary (counts per capability, per
//! owning team, per folder), granted-versus-needed, which wildcard rules grant what, and the
//! escalation chains with the reach they add. Per role: bindings and their strength, TTLs,
//! bootstrap parameters, who logs in. Per policy: wildcard rules and how many known secrets each
//! covers, secret-id rules and their wrapping requirement, who holds it.

pub mod escalation;
pub mod paths;
mod reuse;
pub mod workload;

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::acl::policy::RuleKind;
use crate::acl::{self, Caps};
use crate::inventory::Pipeline;
use crate::login::{calculate_ttl, resolve_token_type, Verdict};
use crate::model::{Affects, AuthMount, RoleRef, Snapshot, TokenFields};
use crate::ownership::Owners;
use crate::passes::reach::{Analysis, Login, PipelineLogins, TokenReach};
use crate::passes::{PolicyOrigin, PolicyRef, TokenIdentity};
use escalation::{Escalations, Gained, Reached, Step};
use paths::Pattern;
pub(crate) use reuse::FactsBase;
use reuse::{Coverage, Kept};

/// The version of the facts document; it changes only on incompatible changes.
pub const FACTS_VERSION: u32 = 1;

/// Thresholds of the facts pass. They are copied into the document (`config`) so rules read the
/// same values the pass used.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct FactsOptions {
    /// A token may outlive the pipeline's `max_job_duration` by this factor.
    pub ttl_slack: f64,
    /// Escalation chains are followed this many steps deep.
    pub escalation_depth: usize,
    /// Sample paths kept per aggregate.
    pub sample: usize,
    /// Folders kept per pipeline reach before deeper folders are collapsed into their parents.
    pub folder_cap: usize,
    /// An AppRole `secret_id_ttl` above this (seconds) is long.
    pub secret_id_ttl_long: i64,
    /// A token lifetime above this (seconds) is long-lived.
    pub long_lived: i64,
    /// A pipeline whose reach is more than this share of not-needed secrets is over-privileged.
    pub unneeded_ratio: f64,
}

impl Default for FactsOptions {
    fn default() -> Self {
        FactsOptions {
            ttl_slack: 1.5,
            escalation_depth: 3,
            sample: 3,
            folder_cap: 32,
            secret_id_ttl_long: 86_400,
            long_lived: 86_400,
            unneeded_ratio: 0.5,
        }
    }
}

/// The whole facts document.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Facts {
    /// Version of this JSON shape: the same number as `facts_version`, under the name every
    /// JSON output of blastmap uses.
    pub schema_version: u32,
    pub facts_version: u32,
    pub blastmap_version: &'static str,
    pub config: FactsOptions,
    pub server: ServerFacts,
    pub summary: Summary,
    pub audit: AuditFacts,
    pub teams: Vec<TeamFacts>,
    pub namespaces: Vec<NamespaceFacts>,
    pub auth_mounts: Vec<MountFacts>,
    pub roles: Vec<RoleFacts>,
    pub policies: Vec<PolicyFacts>,
    pub entities: Vec<EntityFacts>,
    pub pipelines: Vec<PipelineFacts>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ServerFacts {
    pub flavor: &'static str,
    pub version: String,
    /// System TTLs in seconds (768h when the export did not record them).
    pub default_lease_ttl: i64,
    pub max_lease_ttl: i64,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Summary {
    pub namespaces: usize,
    pub secrets: usize,
    pub policies: usize,
    pub roles: usize,
    pub pipelines: usize,
    pub teams: usize,
    /// Whether a pipeline inventory was given.
    pub inventory: bool,
    /// Endpoints the export could not read.
    pub coverage_gaps: usize,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AuditFacts {
    /// False when a coverage gap says the audit devices could not be read.
    pub known: bool,
    pub devices: Vec<AuditDeviceFacts>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AuditDeviceFacts {
    pub namespace: String,
    pub path: String,
    #[serde(rename = "type")]
    pub device_type: String,
    pub log_raw: bool,
    pub hmac_accessor: bool,
    pub elide_list_responses: bool,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TeamFacts {
    pub name: String,
    pub owns: Vec<String>,
    pub pipelines: Vec<String>,
    /// Known secrets the team owns.
    pub secrets: usize,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct NamespaceFacts {
    pub path: String,
    /// Teams with pipelines logging in here.
    pub teams: Vec<String>,
    pub pipelines: usize,
    pub secret_mounts: Vec<SecretMountFacts>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SecretMountFacts {
    pub path: String,
    #[serde(rename = "type")]
    pub mount_type: String,
    pub secrets: usize,
    /// Teams owning secrets in this mount.
    pub owners: Vec<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct MountFacts {
    /// `auth/gha` (namespace-qualified: `data/auth/gha`).
    pub id: String,
    pub namespace: String,
    pub path: String,
    #[serde(rename = "type")]
    pub mount_type: String,
    pub roles: usize,
    /// Effective TTLs of tokens issued here when a role sets none (mount tune, else system).
    pub default_lease_ttl: i64,
    pub max_lease_ttl: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<workload::Issuer>,
    pub pipelines: Vec<String>,
    pub teams: Vec<String>,
}

/// The token a role issues.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TokenFacts {
    /// First TTL (seconds).
    pub ttl: i64,
    /// Cap of a non-periodic token (seconds).
    pub max_ttl: i64,
    /// `token_ttl` / `token_max_ttl` set on the role (else they fall back).
    pub ttl_set: bool,
    pub max_ttl_set: bool,
    /// Where the value comes from: `role`, `mount` or `system` (`period` for the TTL of a
    /// periodic token).
    pub ttl_source: &'static str,
    pub max_ttl_source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explicit_max_ttl: Option<i64>,
    /// Longest possible lifetime with renewals; `null` = unbounded (periodic, no explicit max).
    pub max_lifetime: Option<i64>,
    pub renewable: bool,
    #[serde(rename = "type")]
    pub token_type: &'static str,
    pub num_uses: i64,
    pub bound_cidrs: Vec<String>,
    /// Values set on the role that are whole days (24h and up): `{field, seconds}`.
    pub round_values: Vec<RoundValue>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RoundValue {
    pub field: &'static str,
    pub seconds: i64,
}

#[derive(Debug, Clone, Serialize, Default, schemars::JsonSchema)]
pub struct RolePipelines {
    /// Pipelines the role admits for certain.
    pub admitted: Vec<String>,
    /// Pipelines whose admission depends on something unknown.
    pub unknown: Vec<String>,
    /// Teams of the admitted pipelines.
    pub teams: Vec<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RoleFacts {
    /// `auth/gha/role/lint` (namespace-qualified).
    pub id: String,
    pub namespace: String,
    pub mount: String,
    pub mount_type: String,
    /// `jwt`, `cel`, `kubernetes`, `approle`, `cert`, `userpass`, `ldap_groups`, `ldap_users`,
    /// `token`, `other`.
    pub kind: &'static str,
    pub name: String,
    /// Token policies of a login (sanitised, with `default` unless disabled).
    pub policies: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenFacts>,
    pub pipelines: RolePipelines,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwt: Option<workload::JwtFacts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<workload::KubernetesFacts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approle: Option<AppRoleFacts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert: Option<CertFacts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_role: Option<TokenRoleFacts>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AppRoleFacts {
    pub bind_secret_id: bool,
    /// Seconds; 0 = secret-ids never expire.
    pub secret_id_ttl: i64,
    /// 0 = unlimited logins per secret-id.
    pub secret_id_num_uses: i64,
    pub secret_id_bound_cidrs: Vec<String>,
    pub token_bound_cidrs: Vec<String>,
    /// Some CIDR binds the secret-id or the token.
    pub cidr_bound: bool,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CertFacts {
    /// Some name, SAN, OU or extension constraint is set.
    pub name_constraints: bool,
    pub allowed_names: Vec<String>,
    pub allowed_common_names: Vec<String>,
    pub allowed_dns_sans: Vec<String>,
    pub allowed_organizational_units: Vec<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TokenRoleFacts {
    pub orphan: bool,
    pub renewable: bool,
    pub allowed_policies: Vec<String>,
    pub allowed_policies_glob: Vec<String>,
    pub allowed_entity_aliases: Vec<String>,
}

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

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct EntityFacts {
    pub id: String,
    pub name: String,
    pub namespace: String,
    pub disabled: bool,
    pub policies: Vec<String>,
    /// Pipelines whose logins map to this entity, the roles they use, their teams.
    pub pipelines: Vec<String>,
    pub roles: Vec<String>,
    pub teams: Vec<String>,
    /// When the logins of several pipelines map to this entity and each login rewrites it
    /// differently (alias metadata, external groups), so that what the entity's tokens reach
    /// depends on which pipeline logged in last: per (pipeline, role), the secret paths its own
    /// login grants and not every other login of the entity does. Empty otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub login_dependent: Vec<EntityLoginReach>,
}

/// What one login of a shared entity reaches that another login of it does not.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct EntityLoginReach {
    pub pipeline: String,
    pub role: String,
    /// Namespace-qualified secret paths, sorted.
    pub paths: Vec<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PipelineAuthFacts {
    pub method: &'static str,
    pub mount: String,
    pub namespace: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct LoginToken {
    pub ttl: i64,
    pub max_ttl: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<i64>,
    /// `null` = unbounded with renewals.
    pub max_lifetime: Option<i64>,
    pub renewable: bool,
    #[serde(rename = "type")]
    pub token_type: &'static str,
    pub num_uses: i64,
    pub bound_cidrs: Vec<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct LoginFacts {
    /// The role id (`auth/gha/role/lint`).
    pub role: String,
    pub kind: &'static str,
    /// `admitted` or `unknown` (refused logins are not listed).
    pub verdict: Verdict,
    /// The role named in the inventory.
    pub configured: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    /// Policies the token holds, `name` or `namespace/name` outside the token's namespace.
    pub policies: Vec<String>,
    pub token: LoginToken,
    /// Secrets this login alone reaches.
    pub secrets: usize,
}

#[derive(Debug, Clone, Serialize, Default, schemars::JsonSchema)]
pub struct ReachFacts {
    pub secrets: usize,
    /// Secrets per capability (`read`, `create`, `update`, `patch`, `delete`, `list`, `sudo`, `scan`).
    pub capabilities: BTreeMap<&'static str, usize>,
    /// Secrets with create, update or patch.
    pub written: usize,
    pub deleted: usize,
    /// Namespaces reached.
    pub namespaces: Vec<String>,
    /// Granted versus needed; absent when the pipeline declares no `needs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub needs: Option<NeedsFacts>,
    /// Reach per owning team (the pipeline's own team included).
    pub by_owner: Vec<OwnerReach>,
    /// Secrets no team owns.
    pub unowned: usize,
    /// Wildcard rules that decide some of the reach.
    pub wildcards: Vec<WildcardReach>,
    /// Reach per folder (`secret/data/payments/deploy`), namespace-qualified.
    pub folders: Vec<FolderReach>,
    /// Folders were merged into their parents to stay under `config.folder_cap`.
    pub folders_collapsed: bool,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct NeedsFacts {
    pub declared: usize,
    /// Reached secrets that some need covers.
    pub granted: usize,
    /// Reached secrets no need covers, and their share of the reach.
    pub unneeded: usize,
    pub unneeded_ratio: f64,
    pub unneeded_sample: Vec<String>,
    /// Exact needs that name an inventoried secret the pipeline cannot reach.
    pub not_granted: Vec<String>,
    /// Needed secrets granted more than read: `{path, capabilities, extra}` (sample) and count.
    pub excess: Vec<ExcessCaps>,
    pub excess_count: usize,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ExcessCaps {
    pub path: String,
    pub capabilities: Vec<&'static str>,
    pub extra: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct OwnerReach {
    /// The owner: a team, or for secrets whose owners tie (shared ownership) the tied teams'
    /// names joined by `", "`.
    pub team: String,
    /// The tied teams of a shared owner (absent for a single team).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shared_by: Vec<String>,
    pub secrets: usize,
    pub capabilities: Vec<&'static str>,
    /// Some of them can be written or deleted.
    pub write: bool,
    pub sample: Vec<String>,
    /// The policies that grant them.
    pub policies: Vec<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WildcardReach {
    pub policy: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub policy_namespace: String,
    pub pattern: String,
    pub line: u32,
    /// The rule is identity-templated (a per-entity path such as `secret/data/teams/<entity>/*`).
    pub templated: bool,
    /// Secrets the rule decides for this pipeline, and how many of them are needed (`null`
    /// without `needs`).
    pub secrets: usize,
    pub needed: Option<usize>,
    pub unneeded_sample: Vec<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct FolderReach {
    pub path: String,
    pub secrets: usize,
    pub capabilities: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ChainFacts {
    pub steps: Vec<Step>,
    /// `login`, `any-policy`, `full-namespace` or `none`.
    pub gain: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Secrets the end of the chain reaches (all of them, not only new ones).
    pub secrets: usize,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct EscalationFacts {
    /// The first step's primitive (see `escalation::Step::kind`).
    pub kind: &'static str,
    /// Distinct targets of that first step (sample) and their count.
    pub targets: Vec<String>,
    pub targets_count: usize,
    /// The pipeline's logins whose tokens can take the step.
    pub roles: Vec<String>,
    /// Example chains, the most rewarding first.
    pub chains: Vec<ChainFacts>,
    pub max_depth: usize,
    /// Namespaces the attacker gets full control of.
    pub full_namespaces: Vec<String>,
    /// Secrets added to the blast radius (not reachable directly), per owning team, sample.
    pub gained_secrets: usize,
    pub gained_by_owner: BTreeMap<String, usize>,
    pub gained_sample: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Default, schemars::JsonSchema)]
pub struct BlastRadius {
    pub direct: usize,
    /// Secrets added by escalation.
    pub escalated: usize,
    pub total: usize,
    pub escalated_by_owner: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PipelineFacts {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    pub auth: PipelineAuthFacts,
    /// The claims the inventory says the pipeline's token carries (JWT/OIDC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims: Option<Map<String, Value>>,
    pub needs: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_job_duration: Option<i64>,
    /// Inventory fields built from CI expressions (`blastmap discover`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dynamic: Vec<crate::inventory::DynamicValue>,
    /// Where the pipeline was discovered and what its CI configuration exposes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ci: Option<crate::inventory::CiEvidence>,
    pub logins: Vec<LoginFacts>,
    pub reach: ReachFacts,
    pub escalations: Vec<EscalationFacts>,
    pub blast_radius: BlastRadius,
    pub unknowns: Vec<String>,
}

// ------------------------------------------------------------------------------------------------

/// A small bitset over secret ids.
struct Bits(Vec<u64>);

impl Bits {
    fn new(n: usize) -> Bits {
        Bits(vec![0; n.div_ceil(64)])
    }
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn set_range(&mut self, r: std::ops::Range<usize>) {
        for i in r {
            self.set(i);
        }
    }
    fn or(&mut self, o: &Bits) {
        for (a, b) in self.0.iter_mut().zip(&o.0) {
            *a |= b;
        }
    }
    fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().enumerate().flat_map(|(w, &bits)| {
            let mut b = bits;
            std::iter::from_fn(move || {
                if b == 0 {
                    return None;
                }
                let t = b.trailing_zeros() as usize;
                b &= b - 1;
                Some(w * 64 + t)
            })
        })
    }
}

fn sorted<T: Ord>(it: impl IntoIterator<Item = T>) -> Vec<T> {
    let s: BTreeSet<T> = it.into_iter().collect();
    s.into_iter().collect()
}

fn ns_of(path: &str) -> String {
    crate::model::namespace_path(path).into_owned()
}

fn role_id(ns: &str, mount: &AuthMount, name: &str) -> String {
    match mount.role(name) {
        Some(r) => format!("{ns}{}", r.api_path(mount)),
        None => format!("{ns}auth/{}/login/{name}", mount.name()),
    }
}

fn role_kind(mount: &AuthMount, name: &str) -> &'static str {
    mount
        .role(name)
        .map(|r| r.kind().as_str())
        .unwrap_or("other")
}

const ROUND_DAY: i64 = 86_400;

fn token_facts(f: &TokenFields, mount: &AuthMount, snap: &Snapshot, renewable: bool) -> TokenFacts {
    let server = &snap.server;
    let (ttl, max_ttl, max_lifetime) = calculate_ttl(
        mount,
        server,
        f.ttl(),
        f.period(),
        f.max_ttl(),
        f.explicit_max_ttl(),
    );
    let tt = resolve_token_type(f.token_type.as_deref(), mount);
    let batch = tt == crate::login::TokenType::Batch;
    let source = |set: bool, tuned: Option<i64>| {
        if set {
            "role"
        } else if tuned.is_some() {
            "mount"
        } else {
            "system"
        }
    };
    let mut round_values = Vec::new();
    for (field, v) in [
        ("token_ttl", f.ttl()),
        ("token_max_ttl", f.max_ttl()),
        ("token_explicit_max_ttl", f.explicit_max_ttl()),
        ("token_period", f.period()),
    ] {
        if let Some(s) = v.filter(|s| *s >= ROUND_DAY && s % ROUND_DAY == 0) {
            round_values.push(RoundValue { field, seconds: s });
        }
    }
    TokenFacts {
        ttl,
        max_ttl,
        ttl_set: f.ttl().is_some_and(|t| t > 0),
        max_ttl_set: f.max_ttl().is_some_and(|t| t > 0)
            || f.explicit_max_ttl().is_some_and(|t| t > 0),
        ttl_source: if f.period().is_some_and(|p| p > 0) {
            "period"
        } else {
            source(f.ttl().is_some_and(|t| t > 0), mount.tuned_default_ttl())
        },
        max_ttl_source: source(
            f.max_ttl().is_some_and(|t| t > 0) || f.explicit_max_ttl().is_some_and(|t| t > 0),
            mount.tuned_max_ttl(),
        ),
        period: f.period().filter(|p| *p > 0),
        explicit_max_ttl: f.explicit_max_ttl().filter(|p| *p > 0),
        max_lifetime: if batch { Some(ttl) } else { max_lifetime },
        renewable: renewable && !batch,
        token_type: tt.as_str(),
        num_uses: f.token_num_uses.unwrap_or(0).max(0),
        bound_cidrs: f.token_bound_cidrs.clone(),
        round_values,
    }
}

/// Per-token data derived once and shared by every pipeline using the token.
struct TokenInfo {
    /// For each rule id of the token's ACL: the interned wildcard sources deciding it.
    wildcard_sources: Vec<Vec<u32>>,
    /// For each rule id: interned policy names deciding it.
    policy_ids: Vec<Vec<u32>>,
    /// Policies as `name` or `namespace/name`.
    policy_labels: Vec<String>,
    escalations: Vec<Reached>,
}

#[derive(Default)]
struct Interner {
    ids: FxHashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    fn id(&mut self, s: String) -> u32 {
        if let Some(&i) = self.ids.get(&s) {
            return i;
        }
        let i = self.names.len() as u32;
        self.ids.insert(s.clone(), i);
        self.names.push(s);
        i
    }
}

/// Two sets of names (pipelines, teams).
type Names2 = (BTreeSet<String>, BTreeSet<String>);
/// Three sets of names (admitted pipelines, unknown pipelines or roles, teams).
type Names3 = (BTreeSet<String>, BTreeSet<String>, BTreeSet<String>);

/// A wildcard source, interned: `(policy namespace, policy, pattern, line)`.
type SourceKey = (String, String, String, u32);

/// A facts document with what it was built from, kept so that the build of a similar estate (a
/// what-if's head) can take over whatever is equal (`facts/reuse.rs`).
pub(crate) struct Built {
    pub facts: Facts,
    pub(crate) kept: Kept,
}

impl Built {
    /// For each pipeline (in inventory order), whether its facts were copied from a base.
    pub(crate) fn taken_over(&self) -> &[bool] {
        &self.kept.taken_over
    }
}

/// Build the facts document of an analysis from the logins and tokens of every pipeline of its
/// inventory (in inventory order), as the reach pass prepared them. With a `base` (the facts of
/// a similar estate, a what-if's base) the facts of every pipeline whose inputs are equal on
/// both sides are copied from it (`facts/reuse.rs`); the document is the same either way. This
/// is the one way facts are built; `crate::review::Review` calls it.
pub(crate) fn build<'a>(
    analysis: &Analysis<'a>,
    opts: &FactsOptions,
    logins: &[PipelineLogins<'a>],
    tokens: &[TokenReach],
    base: Option<&FactsBase<'_, '_>>,
) -> Built {
    let clock = crate::timings::Clock::start("facts");
    let snap = analysis.snapshot;
    let inv = analysis.inventory;
    let owners = Owners::build(&analysis.secrets, inv);
    let parsed = analysis.parsed_policies();
    let templated_rules: FxHashSet<(String, String, u32)> = parsed
        .iter()
        .filter_map(|(k, v)| v.as_ref().ok().map(|p| (k, p)))
        .flat_map(|(k, p)| {
            p.rules
                .iter()
                .filter(|r| r.templated)
                .map(move |r| (k.0.clone(), k.1.clone(), r.line))
        })
        .collect();
    let pipes: Vec<&Pipeline> = inv.pipelines.iter().collect();
    clock.lap("owners and policies parsed");

    // Per-token: interned wildcard sources and policy names, and escalations.
    let esc = match base {
        Some(b) => Escalations::seeded(
            analysis,
            opts.escalation_depth,
            b.analysis,
            &b.built.kept.escalation_tokens,
        ),
        None => Escalations::new(analysis, opts.escalation_depth),
    };
    let mut src_interner = Interner::default();
    let mut src_keys: Vec<SourceKey> = Vec::new();
    let mut pol_interner = Interner::default();
    let mut infos: Vec<TokenInfo> = tokens
        .iter()
        .map(|t| {
            let rules = t.acl.rules();
            let mut wildcard_sources = Vec::with_capacity(rules.len());
            let mut policy_ids = Vec::with_capacity(rules.len());
            for r in rules {
                let mut ws = Vec::new();
                let mut ps = Vec::new();
                for s in r.deciding_sources() {
                    ps.push(pol_interner.id(policy_label(
                        &s.policy_namespace,
                        &s.policy,
                        &t.identity.token_namespace,
                    )));
                    if r.kind != RuleKind::Exact {
                        let key = format!(
                            "{}\u{0}{}\u{0}{}\u{0}{}",
                            s.policy_namespace, s.policy, s.rule, s.line
                        );
                        let before = src_interner.names.len();
                        let id = src_interner.id(key);
                        if id as usize == before {
                            src_keys.push((
                                s.policy_namespace.clone(),
                                s.policy.clone(),
                                s.rule.clone(),
                                s.line,
                            ));
                        }
                        ws.push(id);
                    }
                }
                ws.sort_unstable();
                ws.dedup();
                ps.sort_unstable();
                ps.dedup();
                wildcard_sources.push(ws);
                policy_ids.push(ps);
            }
            let policy_labels = sorted(
                t.identity
                    .policies
                    .iter()
                    .map(|p| policy_label(&p.namespace, &p.name, &t.identity.token_namespace)),
            );
            TokenInfo {
                wildcard_sources,
                policy_ids,
                policy_labels,
                escalations: Vec::new(),
            }
        })
        .collect();
    let searched: Vec<Vec<Reached>> = tokens.par_iter().map(|t| esc.search(t)).collect();
    for (info, e) in infos.iter_mut().zip(searched) {
        info.escalations = e;
    }
    let escalation_tokens = esc.into_compiled();
    clock.lap("escalations");

    let kept = Kept {
        infos,
        src_keys,
        policy_names: pol_interner.names,
        templated_rules,
        escalation_tokens,
        coverage: FxHashMap::default(),
        taken_over: Vec::new(),
    };
    let reused = match base {
        Some(b) => {
            let head = reuse::Head {
                kept: &kept,
                logins,
                tokens,
            };
            reuse::matches(b, analysis, opts, head)
        }
        None => vec![None; pipes.len()],
    };
    let taken_over: Vec<bool> = reused.iter().map(Option::is_some).collect();
    if base.is_some() {
        clock.lap("pipelines matched");
        log::info!(
            "facts: {} of {} pipelines taken over from the base",
            taken_over.iter().filter(|t| **t).count(),
            reused.len()
        );
    }
    let ctx = Ctx {
        analysis,
        opts,
        owners: &owners,
        tokens,
        infos: &kept.infos,
        src_keys: &kept.src_keys,
        policy_names: &kept.policy_names,
        templated_rules: &kept.templated_rules,
    };
    let pipelines: Vec<PipelineFacts> = pipes
        .par_iter()
        .zip(logins.par_iter())
        .zip(reused.into_par_iter())
        .map(|((p, (ls, unknowns)), reused)| match reused {
            Some(f) => f.clone(),
            None => ctx.pipeline(p, ls, unknowns),
        })
        .collect();
    clock.lap("pipelines");
    let mut kept = kept;
    kept.taken_over = taken_over;

    // Who logs in where.
    let team_of: FxHashMap<&str, Option<&str>> = inv
        .pipelines
        .iter()
        .map(|p| (p.name.as_str(), p.team.as_deref()))
        .collect();
    let mut role_pipes: FxHashMap<String, Names3> = FxHashMap::default();
    let mut mount_pipes: FxHashMap<String, (BTreeSet<String>, BTreeSet<String>)> =
        FxHashMap::default();
    let mut ns_pipes: FxHashMap<String, (usize, BTreeSet<String>)> = FxHashMap::default();
    let mut entity_pipes: FxHashMap<String, Names3> = FxHashMap::default();
    let mut entity_logins: FxHashMap<String, Vec<(String, String, usize)>> = FxHashMap::default();
    let mut policy_pipes: FxHashMap<(String, String), Names2> = FxHashMap::default();
    let mut iss_of_mount: FxHashMap<String, String> = FxHashMap::default();
    for (p, (ls, _)) in pipes.iter().zip(logins.iter()) {
        let team = team_of.get(p.name.as_str()).copied().flatten();
        let ns_path = p.auth.namespace_path();
        let e = ns_pipes.entry(ns_path.clone()).or_default();
        e.0 += 1;
        if let Some(t) = team {
            e.1.insert(t.to_string());
        }
        let mid = format!(
            "{ns_path}auth/{}",
            p.auth.mount_path().trim_end_matches('/')
        );
        let me = mount_pipes.entry(mid.clone()).or_default();
        me.0.insert(p.name.clone());
        if let Some(t) = team {
            me.1.insert(t.to_string());
        }
        if let Some(iss) = p
            .auth
            .claims
            .as_ref()
            .and_then(|c| c.get("iss"))
            .and_then(Value::as_str)
        {
            iss_of_mount.entry(mid).or_insert_with(|| iss.to_string());
        }
        for l in ls {
            if !l.admission.is_possible() {
                continue;
            }
            let lns = ns_of(&l.namespace.path);
            let rid = role_id(&lns, l.mount, &l.role);
            let re = role_pipes.entry(rid.clone()).or_default();
            if l.admission.is_admitted() {
                re.0.insert(p.name.clone());
                if let Some(t) = team {
                    re.2.insert(t.to_string());
                }
            } else {
                re.1.insert(p.name.clone());
            }
            if let Some(t) = l.token.map(|t| &tokens[t]) {
                if let Some((eid, _)) = &t.identity.entity_ref {
                    let ee = entity_pipes.entry(eid.clone()).or_default();
                    ee.0.insert(p.name.clone());
                    ee.1.insert(rid.clone());
                    entity_logins.entry(eid.clone()).or_default().push((
                        p.name.clone(),
                        rid.clone(),
                        l.token.unwrap_or_default(),
                    ));
                    if let Some(tm) = team {
                        ee.2.insert(tm.to_string());
                    }
                }
                for pr in &t.identity.policies {
                    let pe = policy_pipes
                        .entry((pr.namespace.clone(), pr.name.clone()))
                        .or_default();
                    pe.0.insert(p.name.clone());
                    if let Some(tm) = team {
                        pe.1.insert(tm.to_string());
                    }
                }
            }
        }
    }

    // Roles.
    let mut roles = Vec::new();
    let mut policy_roles: FxHashMap<(String, String), Vec<String>> = FxHashMap::default();
    let mut mounts = Vec::new();
    for ns in &snap.namespaces {
        let nsp = ns_of(&ns.path);
        for m in &ns.auth_mounts {
            let mid = format!("{nsp}auth/{}", m.name());
            let fallback_iss = iss_of_mount.get(&mid).map(String::as_str);
            let (mp, mt) = mount_pipes.remove(&mid).unwrap_or_default();
            let is_jwt = matches!(m.mount_type.as_str(), "jwt" | "oidc");
            let (def, max, _) = calculate_ttl(m, &snap.server, None, None, None, None);
            mounts.push(MountFacts {
                id: mid.clone(),
                namespace: nsp.clone(),
                path: m.name().to_string(),
                mount_type: m.mount_type.clone(),
                roles: m.roles.len(),
                default_lease_ttl: def,
                max_lease_ttl: max,
                issuer: is_jwt.then(|| workload::issuer(m, fallback_iss)),
                pipelines: mp.into_iter().collect(),
                teams: mt.into_iter().collect(),
            });
            for r in m.roles() {
                let id = format!("{nsp}{}", r.api_path(m));
                let policies = r.token().map(|t| t.login_policies()).unwrap_or_default();
                for pname in &policies {
                    policy_roles
                        .entry((nsp.clone(), pname.clone()))
                        .or_default()
                        .push(id.clone());
                }
                let (adm, unk, teams) = role_pipes.remove(&id).unwrap_or_default();
                let mut rf = RoleFacts {
                    id,
                    namespace: nsp.clone(),
                    mount: m.name().to_string(),
                    mount_type: m.mount_type.clone(),
                    kind: r.kind().as_str(),
                    name: r.name().to_string(),
                    policies,
                    token: None,
                    pipelines: RolePipelines {
                        admitted: adm.into_iter().collect(),
                        unknown: unk.into_iter().collect(),
                        teams: teams.into_iter().collect(),
                    },
                    jwt: None,
                    kubernetes: None,
                    approle: None,
                    cert: None,
                    token_role: None,
                };
                let renewable = match r {
                    RoleRef::Token(t) => t.renewable.unwrap_or(true),
                    _ => true,
                };
                rf.token = r.token().map(|t| token_facts(t, m, snap, renewable));
                match r {
                    RoleRef::Jwt(j) => rf.jwt = Some(workload::jwt(m, j, fallback_iss)),
                    RoleRef::Kubernetes(k) => rf.kubernetes = Some(workload::kubernetes(k)),
                    RoleRef::AppRole(a) => {
                        rf.approle = Some(AppRoleFacts {
                            bind_secret_id: a.binds_secret_id(),
                            secret_id_ttl: a.secret_id_ttl.unwrap_or(0),
                            secret_id_num_uses: a.secret_id_num_uses.unwrap_or(0),
                            secret_id_bound_cidrs: a.secret_id_bound_cidrs.clone(),
                            token_bound_cidrs: a.token.token_bound_cidrs.clone(),
                            cidr_bound: !a.secret_id_bound_cidrs.is_empty()
                                || !a.token.token_bound_cidrs.is_empty()
                                || a.extra
                                    .get("bound_cidr_list")
                                    .is_some_and(|v| v.as_array().is_some_and(|x| !x.is_empty())),
                        })
                    }
                    RoleRef::Cert(c) => {
                        rf.cert = Some(CertFacts {
                            name_constraints: !c.has_no_name_constraints(),
                            allowed_names: c.allowed_names.clone(),
                            allowed_common_names: c.allowed_common_names.clone(),
                            allowed_dns_sans: c.allowed_dns_sans.clone(),
                            allowed_organizational_units: c.allowed_organizational_units.clone(),
                        })
                    }
                    RoleRef::Token(t) => {
                        rf.token_role = Some(TokenRoleFacts {
                            orphan: t.orphan.unwrap_or(false),
                            renewable: t.renewable.unwrap_or(true),
                            allowed_policies: t.allowed_policies.clone(),
                            allowed_policies_glob: t.allowed_policies_glob.clone(),
                            allowed_entity_aliases: t.allowed_entity_aliases.clone(),
                        })
                    }
                    _ => {}
                }
                roles.push(rf);
            }
        }
    }
    // LDAP bare logins and other roles not in the snapshot's role lists.
    let mut extra: Vec<(String, Names3)> = role_pipes.into_iter().collect();
    extra.sort_by(|a, b| a.0.cmp(&b.0));
    for (id, (adm, unk, teams)) in extra {
        let (nsp, rest) = split_ns(snap, &id);
        let parts: Vec<&str> = rest.splitn(4, '/').collect();
        roles.push(RoleFacts {
            id: id.clone(),
            namespace: nsp,
            mount: parts.get(1).unwrap_or(&"").to_string(),
            mount_type: String::new(),
            kind: "other",
            name: parts.get(3).unwrap_or(&"").to_string(),
            policies: Vec::new(),
            token: None,
            pipelines: RolePipelines {
                admitted: adm.into_iter().collect(),
                unknown: unk.into_iter().collect(),
                teams: teams.into_iter().collect(),
            },
            jwt: None,
            kubernetes: None,
            approle: None,
            cert: None,
            token_role: None,
        });
    }

    clock.lap("roles");
    let known_coverage = base
        .filter(|b| b.same_secrets(analysis))
        .map(|b| &b.built.kept.coverage);
    let (policies, coverage) = policy_facts(
        analysis,
        parsed,
        &owners,
        &policy_roles,
        &policy_pipes,
        known_coverage,
    );
    kept.coverage = coverage;
    clock.lap("policies");

    // Entities reached by pipelines.
    let mut entities = Vec::new();
    for ns in &snap.namespaces {
        let nsp = ns_of(&ns.path);
        for e in &ns.entities {
            if let Some((ps, rs, ts)) = entity_pipes.remove(&e.id) {
                entities.push(EntityFacts {
                    id: e.id.clone(),
                    name: e.name.clone(),
                    namespace: nsp.clone(),
                    disabled: e.disabled,
                    policies: e.policies.clone(),
                    login_dependent: login_dependent(
                        analysis,
                        tokens,
                        entity_logins.remove(&e.id).unwrap_or_default(),
                    ),
                    pipelines: ps.into_iter().collect(),
                    roles: rs.into_iter().collect(),
                    teams: ts.into_iter().collect(),
                });
            }
        }
    }

    // Namespaces and their secret mounts' owners.
    let mut namespaces = Vec::new();
    for ns in &snap.namespaces {
        let nsp = ns_of(&ns.path);
        let (count, teams) = ns_pipes.remove(&nsp).unwrap_or_default();
        let mut mounts_f = Vec::new();
        for m in &ns.secret_mounts {
            let r = paths::range(&analysis.secrets, &format!("{nsp}{}", m.path));
            let n = r.len();
            let own: BTreeSet<&str> = r.flat_map(|i| owners.team_names(owners.owner[i])).collect();
            if n == 0 && own.is_empty() {
                continue;
            }
            mounts_f.push(SecretMountFacts {
                path: m.path.clone(),
                mount_type: m.mount_type.clone(),
                secrets: n,
                owners: own.into_iter().map(str::to_string).collect(),
            });
        }
        namespaces.push(NamespaceFacts {
            path: nsp,
            teams: teams.into_iter().collect(),
            pipelines: count,
            secret_mounts: mounts_f,
        });
    }

    let audit = AuditFacts {
        known: snap
            .namespaces
            .iter()
            .all(|ns| snap.is_known(&ns_of(&ns.path), &Affects::AuditDevices, None)),
        devices: snap
            .namespaces
            .iter()
            .flat_map(|ns| {
                ns.audit_devices.iter().map(move |d| AuditDeviceFacts {
                    namespace: ns_of(&ns.path),
                    path: d.path.clone(),
                    device_type: d.device_type.clone(),
                    log_raw: d.log_raw(),
                    hmac_accessor: d.hmac_accessor(),
                    elide_list_responses: d.elide_list_responses(),
                })
            })
            .collect(),
    };

    let mut owned = vec![0usize; owners.teams.len()];
    for &o in &owners.owner {
        for &team in owners.team_ids(o) {
            owned[team as usize] += 1;
        }
    }
    let teams = inv
        .teams
        .iter()
        .enumerate()
        .map(|(i, t)| TeamFacts {
            name: t.name.clone(),
            owns: t.owns.clone(),
            pipelines: inv
                .pipelines
                .iter()
                .filter(|p| p.team.as_deref() == Some(t.name.as_str()))
                .map(|p| p.name.clone())
                .collect(),
            secrets: owned.get(i).copied().unwrap_or(0),
        })
        .collect();

    let facts = Facts {
        schema_version: FACTS_VERSION,
        facts_version: FACTS_VERSION,
        blastmap_version: env!("CARGO_PKG_VERSION"),
        config: opts.clone(),
        server: ServerFacts {
            flavor: snap.server.flavor.as_str(),
            version: snap.server.version.clone(),
            default_lease_ttl: snap.server.system_default_ttl(),
            max_lease_ttl: snap.server.system_max_ttl(),
        },
        summary: Summary {
            namespaces: snap.namespaces.len(),
            secrets: analysis.secrets.len(),
            policies: snap.namespaces.iter().map(|n| n.policies.len()).sum(),
            roles: roles.len(),
            pipelines: inv.pipelines.len(),
            teams: inv.teams.len(),
            inventory: !inv.pipelines.is_empty() || !inv.teams.is_empty(),
            coverage_gaps: snap.coverage.len(),
        },
        audit,
        teams,
        namespaces,
        auth_mounts: mounts,
        roles,
        policies,
        entities,
        pipelines,
    };
    Built { facts, kept }
}

/// `name`, or `namespace/name` for a policy outside the token's namespace.
fn policy_label(ns: &str, name: &str, token_ns: &str) -> String {
    if ns == token_ns {
        name.to_string()
    } else {
        format!("{ns}{name}")
    }
}

/// Split a namespace-qualified API path into (namespace, rest) using the snapshot's namespaces.
fn split_ns(snap: &Snapshot, full: &str) -> (String, String) {
    let mut best = String::new();
    for ns in &snap.namespaces {
        let p = ns_of(&ns.path);
        if full.starts_with(&p) && p.len() > best.len() {
            best = p;
        }
    }
    (best.clone(), full[best.len()..].to_string())
}

struct Ctx<'x, 'a> {
    analysis: &'x Analysis<'a>,
    opts: &'x FactsOptions,
    owners: &'x Owners,
    tokens: &'x [TokenReach],
    infos: &'x [TokenInfo],
    src_keys: &'x [SourceKey],
    policy_names: &'x [String],
    templated_rules: &'x FxHashSet<(String, String, u32)>,
}

impl Ctx<'_, '_> {
    fn path_of(&self, sid: u32) -> String {
        self.analysis.secrets.get(sid).full_path()
    }

    fn pipeline(
        &self,
        p: &Pipeline,
        ls: &[Login<'_>],
        unknowns: &[crate::passes::Unknown],
    ) -> PipelineFacts {
        let sample = self.opts.sample;
        let secrets = &self.analysis.secrets;
        let mut unknown_set: BTreeSet<String> = unknowns
            .iter()
            .map(|u| format!("{}: {}", u.kind, u.detail))
            .collect();
        let mut login_facts = Vec::new();
        let mut grants: Vec<(u32, Caps)> = Vec::new();
        let mut used_tokens: Vec<(usize, String)> = Vec::new();
        for l in ls {
            if !l.admission.is_possible() {
                continue;
            }
            let lns = ns_of(&l.namespace.path);
            let rid = role_id(&lns, l.mount, &l.role);
            for u in &l.admission.unknowns {
                unknown_set.insert(format!("admission: role {:?}: {u}", l.role));
            }
            let tk = &l.admission.token;
            let mut lf = LoginFacts {
                role: rid.clone(),
                kind: role_kind(l.mount, &l.role),
                verdict: l.admission.verdict,
                configured: l.configured,
                entity: None,
                policies: Vec::new(),
                token: LoginToken {
                    ttl: tk.ttl,
                    max_ttl: tk.max_ttl,
                    period: tk.period.filter(|p| *p > 0),
                    max_lifetime: tk.max_lifetime,
                    renewable: tk.renewable,
                    token_type: tk.token_type.as_str(),
                    num_uses: tk.num_uses,
                    bound_cidrs: tk.bound_cidrs.clone(),
                },
                secrets: 0,
            };
            if let Some(t) = l.token {
                let tr = &self.tokens[t];
                for u in &tr.unknowns {
                    unknown_set.insert(format!("{}: {}", u.kind, u.detail));
                }
                lf.entity = tr.identity.entity_ref.as_ref().map(|e| e.1.clone());
                lf.policies = self.infos[t].policy_labels.clone();
                lf.secrets = tr.grants.len();
                grants.extend(tr.grants.iter().map(|&(sid, caps, _)| (sid, caps)));
                used_tokens.push((t, rid));
            }
            login_facts.push(lf);
        }
        grants.sort_unstable_by_key(|g| g.0);
        let mut reach: Vec<(u32, Caps)> = Vec::with_capacity(grants.len());
        for (sid, caps) in grants {
            match reach.last_mut() {
                Some(last) if last.0 == sid => last.1 |= caps,
                _ => reach.push((sid, caps)),
            }
        }

        // Needs.
        let pns = p.auth.namespace_path();
        let need_pats: Vec<Pattern> = p
            .needs
            .iter()
            .map(|n| Pattern::new(&format!("{pns}{}", n.trim_start_matches('/'))))
            .collect();
        let has_needs = !need_pats.is_empty();
        let is_needed = |sid: u32| {
            let s = secrets.get(sid);
            need_pats.iter().any(|n| n.matches_secret(s))
        };
        let needed: FxHashSet<u32> = if has_needs {
            reach
                .iter()
                .map(|r| r.0)
                .filter(|&sid| is_needed(sid))
                .collect()
        } else {
            FxHashSet::default()
        };

        // Counts per capability.
        let mut rf = ReachFacts {
            secrets: reach.len(),
            ..Default::default()
        };
        let mut nss: BTreeSet<&str> = BTreeSet::new();
        let mut last_ns: Option<&str> = None;
        for &(sid, caps) in &reach {
            for (c, name) in Caps::NAMED {
                if c != Caps::DENY && caps.contains(c) {
                    *rf.capabilities.entry(name).or_insert(0) += 1;
                }
            }
            if caps.intersects(Caps::WRITE) {
                rf.written += 1;
            }
            if caps.contains(Caps::DELETE) {
                rf.deleted += 1;
            }
            // Secrets are sorted by namespace first: insert each run once.
            let ns = secrets.get(sid).namespace.as_str();
            if last_ns != Some(ns) {
                nss.insert(ns);
                last_ns = Some(ns);
            }
        }
        rf.namespaces = nss.into_iter().map(str::to_string).collect();

        // Needs facts.
        if has_needs {
            let unneeded: Vec<u32> = reach
                .iter()
                .map(|r| r.0)
                .filter(|sid| !needed.contains(sid))
                .collect();
            let mut excess = Vec::new();
            let mut excess_count = 0;
            let extra_caps = Caps(
                Caps::CREATE.0
                    | Caps::UPDATE.0
                    | Caps::PATCH.0
                    | Caps::DELETE.0
                    | Caps::SUDO.0
                    | Caps::LIST.0,
            );
            for &(sid, caps) in &reach {
                if needed.contains(&sid) && caps.intersects(extra_caps) {
                    excess_count += 1;
                    if excess.len() < sample {
                        excess.push(ExcessCaps {
                            path: self.path_of(sid),
                            capabilities: caps.names(),
                            extra: Caps(caps.0 & extra_caps.0).names(),
                        });
                    }
                }
            }
            let reached: FxHashSet<u32> = reach.iter().map(|r| r.0).collect();
            let not_granted = p
                .needs
                .iter()
                .filter(|n| !n.contains(['*', '+']))
                .filter(|n| {
                    let full = format!("{pns}{}", n.trim_start_matches('/'));
                    secrets
                        .find(&full)
                        .is_some_and(|sid| !reached.contains(&sid))
                })
                .cloned()
                .collect();
            rf.needs = Some(NeedsFacts {
                declared: p.needs.len(),
                granted: needed.len(),
                unneeded: unneeded.len(),
                unneeded_ratio: if reach.is_empty() {
                    0.0
                } else {
                    (unneeded.len() as f64 / reach.len() as f64 * 1000.0).round() / 1000.0
                },
                unneeded_sample: unneeded
                    .iter()
                    .take(sample)
                    .map(|&s| self.path_of(s))
                    .collect(),
                not_granted,
                excess,
                excess_count,
            });
        }

        // Per owner.
        let mut by_owner: BTreeMap<u16, (usize, Caps, Vec<u32>, FxHashSet<u32>)> = BTreeMap::new();
        for &(sid, caps) in &reach {
            let o = self.owners.owner[sid as usize];
            if o == Owners::NONE {
                rf.unowned += 1;
                continue;
            }
            let e = by_owner
                .entry(o)
                .or_insert((0, Caps::NONE, Vec::new(), FxHashSet::default()));
            e.0 += 1;
            e.1 |= caps;
            if e.2.len() < sample {
                e.2.push(sid);
            }
        }
        // Policies granting each owner's secrets.
        if !by_owner.is_empty() {
            for (t, _) in &used_tokens {
                let tr = &self.tokens[*t];
                let info = &self.infos[*t];
                for &(sid, _, rule) in &tr.grants {
                    let o = self.owners.owner[sid as usize];
                    if let Some(e) = by_owner.get_mut(&o) {
                        e.3.extend(info.policy_ids[rule as usize].iter().copied());
                    }
                }
            }
        }
        rf.by_owner = by_owner
            .into_iter()
            .map(|(o, (n, caps, s, pols))| OwnerReach {
                team: self.owners.label(o).to_string(),
                shared_by: match self.owners.is_shared(o) {
                    true => self.owners.team_names(o).map(str::to_string).collect(),
                    false => Vec::new(),
                },
                secrets: n,
                capabilities: caps.names(),
                write: caps.intersects(Caps::WRITE_OR_DELETE),
                sample: s.into_iter().map(|sid| self.path_of(sid)).collect(),
                policies: sorted(
                    pols.into_iter()
                        .map(|i| self.policy_names[i as usize].clone()),
                ),
            })
            .collect();

        // Wildcard rules deciding the reach.
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        for (t, _) in &used_tokens {
            let tr = &self.tokens[*t];
            let info = &self.infos[*t];
            for &(sid, _, rule) in &tr.grants {
                for &src in &info.wildcard_sources[rule as usize] {
                    pairs.push((src, sid));
                }
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        let mut i = 0;
        while i < pairs.len() {
            let src = pairs[i].0;
            let mut j = i;
            let mut n_needed = 0;
            let mut un = Vec::new();
            while j < pairs.len() && pairs[j].0 == src {
                let sid = pairs[j].1;
                if needed.contains(&sid) {
                    n_needed += 1;
                } else if un.len() < sample {
                    un.push(self.path_of(sid));
                }
                j += 1;
            }
            let (pns_, pol, pat, line) = &self.src_keys[src as usize];
            rf.wildcards.push(WildcardReach {
                policy: pol.clone(),
                policy_namespace: pns_.clone(),
                pattern: pat.clone(),
                line: *line,
                templated: self
                    .templated_rules
                    .contains(&(pns_.clone(), pol.clone(), *line)),
                secrets: j - i,
                needed: has_needs.then_some(n_needed),
                unneeded_sample: if has_needs { un } else { Vec::new() },
            });
            i = j;
        }

        // Folders.
        let (folders, collapsed) = self.folders(&reach);
        rf.folders = folders;
        rf.folders_collapsed = collapsed;

        // Escalations.
        let direct: FxHashSet<u32> = reach.iter().map(|r| r.0).collect();
        let (escalations, blast) = self.escalations(&used_tokens, &direct);

        let mut unknowns_all: Vec<String> = unknown_set.into_iter().collect();
        unknowns_all.extend(
            p.dynamic
                .iter()
                .map(|d| format!("dynamic: {} = {}", d.field, d.expression)),
        );
        PipelineFacts {
            name: p.name.clone(),
            team: p.team.clone(),
            auth: PipelineAuthFacts {
                method: p.auth.method.as_str(),
                mount: p.auth.mount_path().trim_end_matches('/').to_string(),
                namespace: pns,
                role: p.auth.configured_role().map(str::to_string),
            },
            claims: p.auth.claims.clone(),
            needs: p.needs.clone(),
            max_job_duration: p.max_job_duration,
            dynamic: p.dynamic.clone(),
            ci: p.ci.clone(),
            logins: login_facts,
            reach: rf,
            escalations,
            blast_radius: BlastRadius {
                direct: reach.len(),
                total: reach.len() + blast.escalated,
                ..blast
            },
            unknowns: unknowns_all,
        }
    }

    fn folders(&self, reach: &[(u32, Caps)]) -> (Vec<FolderReach>, bool) {
        let secrets = &self.analysis.secrets;
        // (namespace, folder) → (secrets, capabilities), borrowed from the index.
        let mut map: FxHashMap<(&str, &str), (usize, Caps)> = FxHashMap::default();
        for &(sid, caps) in reach {
            let s = secrets.get(sid);
            let folder = match s.path.rfind('/') {
                Some(i) => &s.path[..i],
                None => "",
            };
            let e = map
                .entry((s.namespace.as_str(), folder))
                .or_insert((0, Caps::NONE));
            e.0 += 1;
            e.1 |= caps;
        }
        let cap = self.opts.folder_cap.max(1);
        let mut depth = usize::MAX;
        let mut collapsed = false;
        if map.len() > cap {
            // The deepest folder level (segments) at which at most `cap` folders remain.
            let segs = |f: &str| {
                if f.is_empty() {
                    0
                } else {
                    f.split('/').count()
                }
            };
            let max = map.keys().map(|(_, f)| segs(f)).max().unwrap_or(0);
            depth = 0;
            for d in (1..max).rev() {
                let n: FxHashSet<(&str, &str)> =
                    map.keys().map(|(ns, f)| (*ns, truncate(f, d))).collect();
                if n.len() <= cap {
                    depth = d;
                    break;
                }
            }
            collapsed = true;
        }
        let mut folders: BTreeMap<String, (usize, Caps)> = BTreeMap::new();
        for ((ns, f), (n, c)) in map {
            let f = if depth == usize::MAX {
                f
            } else {
                truncate(f, depth)
            };
            let e = folders.entry(format!("{ns}{f}")).or_insert((0, Caps::NONE));
            e.0 += n;
            e.1 |= c;
        }
        (
            folders
                .into_iter()
                .map(|(path, (n, c))| FolderReach {
                    path,
                    secrets: n,
                    capabilities: c.names(),
                })
                .collect(),
            collapsed,
        )
    }

    fn escalations(
        &self,
        used: &[(usize, String)],
        direct: &FxHashSet<u32>,
    ) -> (Vec<EscalationFacts>, BlastRadius) {
        let n = self.analysis.secrets.len();
        // Merge the reached nodes of every token, keeping the shortest chain per node.
        let mut nodes: BTreeMap<(&str, &str, &str), (&Reached, BTreeSet<&str>)> = BTreeMap::new();
        for (t, rid) in used {
            for r in &self.infos[*t].escalations {
                let e = nodes
                    .entry((r.chain[0].kind, r.chain[0].target.as_str(), r.key.as_str()))
                    .or_insert((r, BTreeSet::new()));
                if r.chain.len() < e.0.chain.len() {
                    e.0 = r;
                }
                e.1.insert(rid.as_str());
            }
        }
        if nodes.is_empty() {
            return (Vec::new(), BlastRadius::default());
        }
        let node_secrets = |r: &Reached| -> usize {
            match &r.gained {
                Gained::Token(t) => t.grants.len(),
                Gained::Full(ns) => escalation::namespace_secrets(self.analysis, ns).len(),
                Gained::Nothing => 0,
            }
        };
        let mut by_kind: BTreeMap<&'static str, Vec<(&Reached, &BTreeSet<&str>)>> = BTreeMap::new();
        for (r, roles) in nodes.values() {
            by_kind.entry(r.chain[0].kind).or_default().push((r, roles));
        }
        let mut all = Bits::new(n);
        let mut out = Vec::new();
        for (kind, mut rs) in by_kind {
            let mut bits = Bits::new(n);
            let mut full = BTreeSet::new();
            let mut targets = BTreeSet::new();
            let mut roles = BTreeSet::new();
            let mut max_depth = 0;
            for (r, rl) in &rs {
                targets.insert(r.chain[0].target.clone());
                roles.extend(rl.iter().map(|s| s.to_string()));
                max_depth = max_depth.max(r.chain.len());
                match &r.gained {
                    Gained::Token(t) => {
                        for &(sid, _, _) in &t.grants {
                            bits.set(sid as usize);
                        }
                    }
                    Gained::Full(ns) => {
                        full.insert(ns.clone());
                        bits.set_range(escalation::namespace_secrets(self.analysis, ns));
                    }
                    Gained::Nothing => {}
                }
            }
            // Most rewarding chains first, then shortest.
            rs.sort_by(|a, b| {
                node_secrets(b.0)
                    .cmp(&node_secrets(a.0))
                    .then(a.0.chain.len().cmp(&b.0.chain.len()))
                    .then(a.0.key.cmp(&b.0.key))
            });
            let chains = rs
                .iter()
                .take(3)
                .map(|(r, _)| ChainFacts {
                    steps: r.chain.clone(),
                    gain: r.gain_kind(),
                    namespace: match &r.gained {
                        Gained::Full(ns) => Some(ns.clone()),
                        Gained::Token(t) => Some(t.identity.token_namespace.clone()),
                        Gained::Nothing => None,
                    },
                    secrets: node_secrets(r),
                })
                .collect();
            let (gained, by_owner, gsample) = self.gained(&bits, direct);
            all.or(&bits);
            let targets_count = targets.len();
            out.push(EscalationFacts {
                kind,
                targets: targets.into_iter().take(self.opts.sample).collect(),
                targets_count,
                roles: roles.into_iter().collect(),
                chains,
                max_depth,
                full_namespaces: full.into_iter().collect(),
                gained_secrets: gained,
                gained_by_owner: by_owner,
                gained_sample: gsample,
            });
        }
        let (gained, by_owner, _) = self.gained(&all, direct);
        (
            out,
            BlastRadius {
                direct: direct.len(),
                escalated: gained,
                total: direct.len() + gained,
                escalated_by_owner: by_owner,
            },
        )
    }

    /// Secrets set in `bits` and not in `direct`: count, per owner, sample.
    fn gained(
        &self,
        bits: &Bits,
        direct: &FxHashSet<u32>,
    ) -> (usize, BTreeMap<String, usize>, Vec<String>) {
        let mut n = 0;
        let mut by_owner: BTreeMap<String, usize> = BTreeMap::new();
        let mut sample = Vec::new();
        for i in bits.iter() {
            if direct.contains(&(i as u32)) {
                continue;
            }
            n += 1;
            if let Some(o) = self.owners.of(i as u32) {
                *by_owner.entry(o.to_string()).or_insert(0) += 1;
            }
            if sample.len() < self.opts.sample {
                sample.push(self.path_of(i as u32));
            }
        }
        (n, by_owner, sample)
    }
}

/// How many known secrets a pattern matches, their owning teams, and how many have none.
fn coverage(
    pat: &Pattern,
    index: &crate::passes::SecretIndex,
    owners: &Owners,
    runs: &[(u32, u16)],
) -> (usize, Vec<String>, usize) {
    let r = paths::range(index, pat.literal());
    let names = |own: &mut dyn Iterator<Item = u16>| -> Vec<String> {
        sorted(own.flat_map(|o| owners.team_names(o).map(str::to_string)))
    };
    if pat.kind == RuleKind::Prefix {
        let n = r.len();
        let (own, unowned) = Owners::in_range(runs, r);
        return (n, names(&mut own.into_iter()), unowned);
    }
    let mut n = 0;
    let mut unowned = 0;
    let mut own: FxHashSet<u16> = FxHashSet::default();
    // Segment patterns: the index's per-pattern matches, shared with the reach pass (the same
    // `+` rules were matched there for every token holding them).
    let matched: Box<dyn Iterator<Item = usize>> = if pat.kind == RuleKind::Segment {
        let ids = index.segment_candidates(&pat.path);
        Box::new((0..ids.len()).map(move |k| ids[k] as usize))
    } else {
        Box::new(r.filter(|&i| pat.matches_secret(&index.secrets[i])))
    };
    for i in matched {
        n += 1;
        match owners.owner[i] {
            Owners::NONE => unowned += 1,
            o => {
                own.insert(o);
            }
        }
    }
    (n, names(&mut own.into_iter()), unowned)
}

/// The first `d` segments of a folder path.
fn truncate(f: &str, d: usize) -> &str {
    if d == 0 {
        return "";
    }
    match f.match_indices('/').nth(d - 1) {
        Some((i, _)) => &f[..i],
        None => f,
    }
}

/// Per-policy facts, in parallel.
fn policy_facts(
    analysis: &Analysis<'_>,
    parsed_all: &FxHashMap<(String, String), Result<std::sync::Arc<acl::Policy>, acl::PolicyError>>,
    owners: &Owners,
    policy_roles: &FxHashMap<(String, String), Vec<String>>,
    policy_pipes: &FxHashMap<(String, String), Names2>,
    known: Option<&FxHashMap<String, Coverage>>,
) -> (Vec<PolicyFacts>, FxHashMap<String, Coverage>) {
    let snap = analysis.snapshot;
    // Who carries each policy through identity.
    let mut by_group: FxHashMap<(String, String), Vec<String>> = FxHashMap::default();
    let mut by_entity: FxHashMap<(String, String), Vec<String>> = FxHashMap::default();
    let mut approle_paths: Vec<(String, String)> = Vec::new();
    let mut secret_mounts: Vec<(String, bool)> = Vec::new();
    for ns in &snap.namespaces {
        let nsp = ns_of(&ns.path);
        for g in &ns.groups {
            for p in &g.policies {
                by_group
                    .entry((nsp.clone(), crate::model::normalize_policy_name(p)))
                    .or_default()
                    .push(g.name.clone());
            }
        }
        for e in &ns.entities {
            for p in &e.policies {
                by_entity
                    .entry((nsp.clone(), crate::model::normalize_policy_name(p)))
                    .or_default()
                    .push(e.name.clone());
            }
        }
        for m in &ns.auth_mounts {
            if m.mount_type == "approle" {
                for r in &m.roles.approle {
                    for suffix in ["secret-id", "custom-secret-id"] {
                        approle_paths.push((
                            format!("{nsp}auth/{}/role/{}/{suffix}", m.name(), r.name),
                            format!("{nsp}auth/{}/role/{}", m.name(), r.name),
                        ));
                    }
                }
            }
        }
        for m in &ns.secret_mounts {
            if matches!(
                m.mount_type.as_str(),
                "cubbyhole" | "ns_cubbyhole" | "identity" | "ns_identity" | "system" | "ns_system"
            ) {
                continue;
            }
            secret_mounts.push((format!("{nsp}{}", m.path), m.kv_version() == Some(2)));
        }
    }
    let list: Vec<(&crate::model::Namespace, &crate::model::Policy)> = snap
        .namespaces
        .iter()
        .flat_map(|ns| ns.policies.iter().map(move |p| (ns, p)))
        .collect();
    // Coverage of every distinct wildcard pattern, once (many policies repeat the same rules).
    let mut patterns: BTreeSet<String> = BTreeSet::new();
    for ((nsp, _), parsed) in parsed_all {
        if let Ok(pol) = parsed {
            for r in &pol.rules {
                if r.templated || r.perms.caps.is_deny() || r.perms.caps.is_empty() {
                    continue;
                }
                let full = format!("{nsp}{}", r.key.trim_start_matches('/'));
                if Pattern::new(&full).is_wildcard() {
                    patterns.insert(full);
                }
            }
        }
    }
    let clock = crate::timings::Clock::start("facts");
    let runs = owners.runs();
    // Patterns a similar estate (a what-if's base) already covered keep their coverage.
    let covered: FxHashMap<String, Coverage> = patterns
        .into_par_iter()
        .map(|full| {
            let c = match known.and_then(|k| k.get(&full)) {
                Some(c) => c.clone(),
                None => coverage(&Pattern::new(&full), &analysis.secrets, owners, &runs),
            };
            (full, c)
        })
        .collect();
    log::info!(
        "facts: coverage of {} distinct wildcard patterns in {:.3}s",
        covered.len(),
        clock.seconds()
    );
    let facts = list
        .par_iter()
        .map(|(ns, p)| {
            let nsp = ns_of(&ns.path);
            let key = (nsp.clone(), p.key());
            let (pipes, teams) = policy_pipes.get(&key).cloned().unwrap_or_default();
            let mut f = PolicyFacts {
                namespace: nsp.clone(),
                name: p.key(),
                roles: policy_roles.get(&key).cloned().unwrap_or_default(),
                groups: by_group.get(&key).cloned().unwrap_or_default(),
                entities: by_entity.get(&key).cloned().unwrap_or_default(),
                pipelines: pipes.into_iter().collect(),
                teams: teams.into_iter().collect(),
                templated_only: false,
                parse_error: None,
                wildcard_rules: Vec::new(),
                secret_id_rules: Vec::new(),
                grants_unwrap: false,
                grants_cubbyhole: false,
            };
            let parsed = match parsed_all.get(&key) {
                Some(Ok(x)) => x,
                Some(Err(e)) => {
                    f.parse_error = Some(e.to_string());
                    return f;
                }
                None => return f,
            };
            f.templated_only = !parsed.rules.is_empty() && parsed.rules.iter().all(|r| r.templated);
            let unwrap = format!("{nsp}sys/wrapping/unwrap");
            let auth_prefix = format!("{nsp}auth/");
            let cubby = format!("{nsp}cubbyhole/");
            for r in &parsed.rules {
                let caps = r.perms.caps;
                if caps.is_deny() || caps.is_empty() || r.templated {
                    continue;
                }
                let full = format!("{nsp}{}", r.key.trim_start_matches('/'));
                let pat = Pattern::new(&full);
                if caps.contains(Caps::UPDATE) && pat.matches(&unwrap) {
                    f.grants_unwrap = true;
                }
                if pat.touches(&cubby)
                    && caps.intersects(Caps(Caps::READ.0 | Caps::CREATE.0 | Caps::UPDATE.0))
                {
                    f.grants_cubbyhole = true;
                }
                if caps.intersects(WRITE_CAPS) && pat.touches(&auth_prefix) {
                    let roles: Vec<String> = approle_paths
                        .iter()
                        .filter(|(path, _)| pat.matches(path))
                        .map(|(_, role)| role.clone())
                        .collect();
                    if !roles.is_empty() {
                        f.secret_id_rules.push(SecretIdRuleFacts {
                            pattern: r.key.clone(),
                            line: r.line,
                            capabilities: caps.names(),
                            roles: sorted(roles),
                            min_wrapping_ttl: r.perms.min_wrapping_ttl.whole_seconds(),
                        });
                    }
                }
                if !pat.is_wildcard() {
                    continue;
                }
                let lit = pat.literal();
                let mount = secret_mounts
                    .iter()
                    .filter(|(m, _)| lit.starts_with(m.as_str()))
                    .max_by_key(|(m, _)| m.len());
                let spans = secret_mounts.iter().any(|(m, _)| m.starts_with(lit));
                let depth = match mount {
                    Some((m, kv2)) => paths::key_depth(lit, m, *kv2),
                    None if spans => -1,
                    None => continue,
                };
                let (covered, own, unowned) = covered
                    .get(full.as_str())
                    .cloned()
                    .unwrap_or_else(|| coverage(&pat, &analysis.secrets, owners, &runs));
                f.wildcard_rules.push(WildcardRuleFacts {
                    pattern: r.key.clone(),
                    line: r.line,
                    kind: if pat.kind == RuleKind::Segment {
                        "segment"
                    } else {
                        "prefix"
                    },
                    capabilities: caps.names(),
                    mount: mount.map(|(m, _)| m[nsp.len().min(m.len())..].to_string()),
                    depth,
                    secrets: covered,
                    owners: own,
                    unowned,
                });
            }
            f
        })
        .collect();
    (facts, covered)
}

const WRITE_CAPS: Caps = Caps::WRITE;

/// One login of an entity: the pipeline, the role it logs in through and its token.
type EntityLogin = (String, String, usize);

/// The logins of one entity whose tokens reach more once another pipeline has logged in, each
/// with what it gains (see [`EntityFacts::login_dependent`]). The server evaluates a token's
/// entity and group policies, and its identity templates, at request time against the entity as
/// the last login left it: that login rewrote the alias metadata and the external group
/// memberships. So a token issued to one pipeline answers with its own role's policies but with
/// the identity another pipeline's login wrote. Only logins of several pipelines count: one
/// pipeline's roles are one workload.
fn login_dependent(
    analysis: &Analysis<'_>,
    tokens: &[TokenReach],
    logins: Vec<EntityLogin>,
) -> Vec<EntityLoginReach> {
    let pipelines: BTreeSet<&str> = logins.iter().map(|l| l.0.as_str()).collect();
    if pipelines.len() < 2 {
        return Vec::new();
    }
    let mut out: Vec<EntityLoginReach> = Vec::new();
    for (pipeline, role, token) in &logins {
        let mut gained: BTreeSet<u32> = BTreeSet::new();
        for (other_pipeline, _, other_token) in &logins {
            if other_pipeline != pipeline && other_token != token {
                gained.extend(gained_after(analysis, tokens, *token, *other_token));
            }
        }
        if gained.is_empty() {
            continue;
        }
        let mut paths: Vec<String> = gained
            .into_iter()
            .map(|sid| {
                let s = analysis.secrets.get(sid);
                format!("{}{}", s.namespace, s.path)
            })
            .collect();
        paths.sort();
        out.push(EntityLoginReach {
            pipeline: pipeline.clone(),
            role: role.clone(),
            paths,
        });
    }
    out.sort_by(|a, b| (&a.pipeline, &a.role).cmp(&(&b.pipeline, &b.role)));
    out.dedup_by(|a, b| a.pipeline == b.pipeline && a.role == b.role);
    out
}

/// What the token of one login reaches once another login has rewritten the shared entity, and
/// its own login did not give: its role's policies with the other login's entity, groups and
/// their policies. Limit: when the two logins use different mounts, the other login's view of
/// this login's alias is the exported one.
fn gained_after(
    analysis: &Analysis<'_>,
    tokens: &[TokenReach],
    own: usize,
    other: usize,
) -> Vec<u32> {
    let own_identity = &tokens[own].identity;
    let other_identity = &tokens[other].identity;
    let identity_policies = |id: &TokenIdentity| -> Vec<PolicyRef> {
        id.policies
            .iter()
            .filter(|p| p.origin != PolicyOrigin::Role)
            .cloned()
            .collect()
    };
    let same_identity_policies =
        identity_policies(own_identity) == identity_policies(other_identity);
    if same_identity_policies && !analysis.templated(own_identity) {
        return Vec::new();
    }
    let mut after = own_identity.clone();
    after.policies.retain(|p| p.origin == PolicyOrigin::Role);
    after.policies.extend(identity_policies(other_identity));
    after.entity = other_identity.entity.clone();
    after.groups = other_identity.groups.clone();
    after.entity_disabled = other_identity.entity_disabled;
    let own_reach: BTreeSet<u32> = tokens[own].grants.iter().map(|g| g.0).collect();
    analysis
        .token_reach(after)
        .grants
        .into_iter()
        .map(|g| g.0)
        .filter(|sid| !own_reach.contains(sid))
        .collect()
}
