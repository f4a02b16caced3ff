//! From aggregated usage to the report: what each role (and pipeline) used, what the snapshot
//! grants it that it never used, and the least-privilege policy that covers exactly what it used.

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap;
use serde::Serialize;

use super::collect::{Collector, Malformed, RoleAgg, RoleKey, Stats, UseAgg, UseKey};
use super::policy::{self, SuggestedPolicy};
use crate::acl::{Caps, Operation};
use crate::inventory::Inventory;
use crate::login::{self, Admission, Verdict};
use crate::passes::identity::{self, TokenIdentity};
use crate::passes::reach::{Analysis, ReachOptions, TokenReach};

/// Version of the JSON shape (`docs/usage.md`).
pub const FORMAT: &str = "blastmap-usage/1";

/// The whole report (`--format json`).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct UsageReport {
    /// The version of this JSON shape (docs/schemas/README.md); `format` names the same
    /// version as text.
    pub schema_version: u32,
    pub format: &'static str,
    pub window: Window,
    pub files: Vec<super::collect::FileStats>,
    pub stats: Stats,
    pub roles: Vec<RoleUsage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipelines: Option<Vec<PipelineUsage>>,
    pub unattributed: Vec<Unattributed>,
    pub malformed: Vec<Malformed>,
    pub notes: Vec<String>,
}

/// The time window the aggregated requests cover.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Window {
    /// `--since`, as given.
    pub since: Option<String>,
    /// `time` of the first and last aggregated request, as logged.
    pub first: Option<String>,
    pub last: Option<String>,
}

/// One (namespace, path, operation) used.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Used {
    pub namespace: String,
    pub path: String,
    pub operation: String,
    pub count: u64,
    pub first: String,
    pub last: String,
    /// Requests the ACL allowed that then failed (not found, invalid input …).
    #[serde(skip_serializing_if = "is_zero")]
    pub errors: u64,
    /// `policy_results.granting_policies` of the requests.
    pub granted_by: Vec<String>,
    /// Whether the suggested policy needs a rule for it.
    pub needs_rule: bool,
    /// Why no rule is needed: `default` (the default policy grants it) or `no_policy` (the
    /// server allowed it without any policy: an unauthenticated path).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub covered_by: Option<&'static str>,
    /// What the snapshot grants the role on the path (`sys/capabilities` answer; `["deny"]`
    /// when nothing); absent when the role is not in the snapshot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_capabilities: Option<Vec<&'static str>>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A secret the snapshot grants that was not (fully) used.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord, schemars::JsonSchema)]
pub struct Unused {
    pub namespace: String,
    pub path: String,
    pub granted: Vec<&'static str>,
    pub used: Vec<&'static str>,
    pub unused: Vec<&'static str>,
}

/// Usage of one role.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RoleUsage {
    /// `<ns>auth/<mount>/role/<role>`.
    pub key: String,
    pub namespace: String,
    pub mount: String,
    pub role: String,
    pub in_snapshot: bool,
    pub logins: u64,
    pub child_tokens: u64,
    pub requests: u64,
    pub denied_requests: u64,
    /// Requests linked through entity + display name + role metadata, not the accessor.
    pub linked_by_entity: u64,
    pub entities: Vec<String>,
    pub display_names: Vec<String>,
    /// Distinct policy sets the role's tokens held at login.
    pub token_policies: Vec<Vec<String>>,
    /// Pipelines of the inventory this role admits (with `--pipelines`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipelines: Option<Vec<String>>,
    pub used: Vec<Used>,
    pub denied: Vec<Used>,
    /// Secrets the snapshot grants this role, minus what was used.
    pub unused: Vec<Unused>,
    pub suggested_policy: SuggestedPolicy,
    pub notes: Vec<String>,
}

/// Usage of one pipeline: the union over the roles it can log into.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct PipelineUsage {
    pub name: String,
    pub team: Option<String>,
    pub roles: Vec<PipelineRole>,
    pub used: Vec<Used>,
    pub unused: Vec<Unused>,
    pub notes: Vec<String>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct PipelineRole {
    pub key: String,
    /// The entity the pipeline's login maps to, when the snapshot tells: then only that
    /// entity's logins count for the pipeline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    /// Requests the role's tokens made in the window.
    pub requests: u64,
    /// Other pipelines the same role admits: its usage may be theirs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shared_with: Vec<String>,
}

/// Requests whose token no login or parent token in the logs explains.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Unattributed {
    pub display_name: String,
    /// The role named in the token's metadata, if any (a hint, not a link: the mount is unknown).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub role_hint: String,
    pub policies: Vec<String>,
    pub tokens: u64,
    pub requests: u64,
    pub denied: u64,
    pub entities: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub earliest_token_issue_time: Option<String>,
    pub reason: String,
    pub used: Vec<Used>,
    #[serde(skip_serializing_if = "is_zero")]
    pub paths_dropped: u64,
}

/// Options of the report.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    pub since: Option<String>,
}

/// The capability a logged operation needs, and the capabilities a suggested rule gives for it.
pub fn op_caps(op: &str) -> (Caps, Caps) {
    match Operation::parse(op) {
        // A write logged as `create` becomes `update` once the object exists: grant both, or the
        // next run of the pipeline fails.
        Some(Operation::Create) => (Caps::CREATE, Caps::CREATE | Caps::UPDATE),
        Some(o) => (o.capability(), o.capability()),
        None => (Caps::NONE, Caps::NONE),
    }
}

/// The entity a pipeline's login on a role maps to. JWT and Kubernetes alias names are known
/// from the claims; AppRole's are not (the alias name is the secret role-id).
#[derive(Debug, Clone, PartialEq, Eq)]
enum LoginEntity {
    /// The snapshot has the entity.
    Known(String),
    /// The alias name is known and no entity has it: the pipeline never logged in before the
    /// export.
    NotInSnapshot,
    /// The alias name is not known.
    Unknown,
}

impl LoginEntity {
    fn id(&self) -> Option<String> {
        match self {
            LoginEntity::Known(id) => Some(id.clone()),
            _ => None,
        }
    }

    /// Whether logins of two pipelines on one role may be the same in the logs.
    fn indistinguishable(&self, other: &LoginEntity) -> bool {
        match (self, other) {
            (LoginEntity::Known(a), LoginEntity::Known(b)) => a == b,
            (LoginEntity::NotInSnapshot, _) | (_, LoginEntity::NotInSnapshot) => false,
            _ => true,
        }
    }
}

/// A pipeline a role admits.
struct AdmittedPipeline {
    name: String,
    entity: LoginEntity,
}

/// A role a pipeline logs in with.
struct PipelineLogin {
    key: RoleKey,
    entity: LoginEntity,
}

/// Which roles each pipeline of the inventory logs in with, and which pipelines each role
/// admits (keyed by the role in lower case, as the logs spell mounts).
#[derive(Default)]
struct InventoryLogins {
    by_role: BTreeMap<RoleKey, Vec<AdmittedPipeline>>,
    /// Per pipeline of the inventory, in order.
    by_pipeline: Vec<Vec<PipelineLogin>>,
}

impl InventoryLogins {
    fn of(analysis: &Analysis<'_>) -> Self {
        let mut logins = InventoryLogins::default();
        for pipeline in &analysis.inventory.pipelines {
            let (admissions, _) = analysis.logins(pipeline);
            let mut keys = Vec::new();
            for login in admissions.iter().filter(|l| l.admission.is_possible()) {
                let key = RoleKey {
                    namespace: crate::model::namespace_path(&login.namespace.path).into_owned(),
                    mount: login.mount.path.trim_end_matches('/').to_string(),
                    role: login.role.clone(),
                };
                let entity = match login.admission.alias.as_ref().filter(|a| a.name_known) {
                    None => LoginEntity::Unknown,
                    Some(alias) => match analysis
                        .index
                        .entity_by_alias(&alias.mount_accessor, &alias.name)
                    {
                        Some((_, e)) => LoginEntity::Known(e.id.clone()),
                        None => LoginEntity::NotInSnapshot,
                    },
                };
                logins
                    .by_role
                    .entry(lower(&key))
                    .or_default()
                    .push(AdmittedPipeline {
                        name: pipeline.name.clone(),
                        entity: entity.clone(),
                    });
                keys.push(PipelineLogin { key, entity });
            }
            logins.by_pipeline.push(keys);
        }
        logins
    }

    fn pipelines_of(&self, key: &RoleKey) -> Vec<String> {
        let mut names: Vec<String> = self
            .by_role
            .get(&lower(key))
            .map(|v| v.iter().map(|p| p.name.clone()).collect())
            .unwrap_or_default();
        names.dedup();
        names
    }
}

struct RoleSnapshot {
    in_snapshot: bool,
    tokens: Vec<usize>,
    notes: Vec<String>,
    policy_names: BTreeSet<String>,
}

/// Build the report on the analysis of the snapshot (`crate::review::Review::usage`), whose
/// inventory is `inventory` when one was given.
pub fn build(
    c: &Collector,
    analysis: &Analysis<'_>,
    inventory: Option<&Inventory>,
    opts: &ReportOptions,
) -> UsageReport {
    let roles = RoleTokens::of(c, analysis);
    let logins = inventory.map(|_| InventoryLogins::of(analysis));
    let mut role_usages: Vec<RoleUsage> = roles
        .merged
        .iter()
        .map(|(key, agg)| roles.usage(analysis, key, agg, logins.as_ref()))
        .collect();
    role_usages.sort_by(|a, b| a.key.cmp(&b.key));
    policy::assign_file_names(&mut role_usages);
    let pipelines = inventory.zip(logins.as_ref()).map(|(inventory, logins)| {
        let reach = analysis.reach(&ReachOptions::default());
        inventory
            .pipelines
            .iter()
            .zip(&logins.by_pipeline)
            .zip(reach)
            .map(|((pipeline, keys), reach)| pipeline_usage(c, logins, pipeline, keys, &reach))
            .collect()
    });
    UsageReport {
        schema_version: crate::schema::version::USAGE,
        format: FORMAT,
        window: Window {
            since: opts.since.clone(),
            first: c.first_time.clone(),
            last: c.last_time.clone(),
        },
        files: c.files.clone(),
        stats: c.stats.clone(),
        roles: role_usages,
        pipelines,
        unattributed: c
            .unattributed
            .iter()
            .map(|(key, group)| unattributed(c, key, group))
            .collect(),
        malformed: c.malformed.clone(),
        notes: report_notes(c),
    }
}

/// Every role seen in the logs, with the token identities it yields in the snapshot (one per
/// entity seen logging in).
struct RoleTokens {
    merged: BTreeMap<RoleKey, RoleAgg>,
    tokens: Vec<TokenReach>,
    snapshots: BTreeMap<RoleKey, RoleSnapshot>,
}

impl RoleTokens {
    fn of(c: &Collector, analysis: &Analysis<'_>) -> Self {
        let merged = c.role_aggs();
        let mut tokens: Vec<TokenReach> = Vec::new();
        let mut token_keys: FxHashMap<String, usize> = FxHashMap::default();
        let mut snapshots: BTreeMap<RoleKey, RoleSnapshot> = BTreeMap::new();
        for (key, agg) in &merged {
            let snapshot = role_snapshot(analysis, key, agg, &mut tokens, &mut token_keys);
            snapshots.insert(key.clone(), snapshot);
        }
        RoleTokens {
            merged,
            tokens,
            snapshots,
        }
    }

    fn usage(
        &self,
        analysis: &Analysis<'_>,
        key: &RoleKey,
        agg: &RoleAgg,
        logins: Option<&InventoryLogins>,
    ) -> RoleUsage {
        let snapshot = &self.snapshots[key];
        let role_tokens: Vec<&TokenReach> =
            snapshot.tokens.iter().map(|&i| &self.tokens[i]).collect();
        let used = used_entries(&agg.used, &role_tokens, snapshot.in_snapshot);
        let denied = used_entries(&agg.denied, &role_tokens, snapshot.in_snapshot);
        let unused = unused_grants(analysis, &role_tokens, agg.used.keys());
        let mut notes = snapshot.notes.clone();
        if snapshot.in_snapshot {
            notes.extend(policy_drift(agg, &snapshot.policy_names));
        }
        let suggested = policy::suggest(key, &used, analysis.snapshot, &mut notes);
        RoleUsage {
            key: key.display(),
            namespace: key.namespace.clone(),
            mount: key.mount.clone(),
            role: key.role.clone(),
            in_snapshot: snapshot.in_snapshot,
            logins: agg.logins,
            child_tokens: agg.child_tokens,
            requests: agg.used.values().map(|u| u.count).sum(),
            denied_requests: agg.denied.values().map(|u| u.count).sum(),
            linked_by_entity: agg.linked_by_entity,
            entities: agg.entities.iter().cloned().collect(),
            display_names: agg.display_names.iter().cloned().collect(),
            token_policies: agg.policy_sets.iter().cloned().collect(),
            pipelines: logins.map(|logins| logins.pipelines_of(key)),
            used,
            denied,
            unused,
            suggested_policy: suggested,
            notes,
        }
    }
}

/// Policy sets in the logs that differ from the role's in the snapshot.
fn policy_drift(agg: &RoleAgg, snapshot_policies: &BTreeSet<String>) -> Vec<String> {
    agg.policy_sets
        .iter()
        .filter(|set| {
            let logged: BTreeSet<String> = set.iter().cloned().collect();
            !logged.is_empty() && &logged != snapshot_policies
        })
        .map(|set| {
            format!(
                "tokens in the logs held policies [{}], the snapshot gives [{}]: the role or identity changed between the logs and the snapshot",
                set.join(", "),
                snapshot_policies.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        })
        .collect()
}

/// One pipeline's usage: its roles' logged requests (those of its entity when known), and the
/// grants of its reach it never used.
fn pipeline_usage(
    c: &Collector,
    logins: &InventoryLogins,
    pipeline: &crate::inventory::Pipeline,
    keys: &[PipelineLogin],
    reach: &crate::passes::reach::PipelineReach,
) -> PipelineUsage {
    let mut roles = Vec::new();
    let mut agg = RoleAgg::default();
    let mut notes = Vec::new();
    for login in keys {
        roles.push(pipeline_role(
            c,
            logins,
            &pipeline.name,
            login,
            &mut agg,
            &mut notes,
        ));
    }
    let used = used_entries(&agg.used, &[], false);
    let mut used_caps: BTreeMap<(String, String), Caps> = BTreeMap::new();
    for u in &used {
        *used_caps
            .entry((u.namespace.clone(), u.path.clone()))
            .or_default() |= op_caps(&u.operation).0;
    }
    let unused = reach
        .secrets
        .iter()
        .filter_map(|s| {
            let used = used_caps
                .get(&(s.namespace.to_string(), s.path.clone()))
                .copied()
                .unwrap_or(Caps::NONE);
            unused_entry(&s.namespace, &s.path, s.caps, used)
        })
        .collect();
    if roles.iter().any(|r| !r.shared_with.is_empty()) {
        notes.push("some roles admit other pipelines the logs cannot tell apart: their usage is counted for each of them".to_string());
    }
    PipelineUsage {
        name: pipeline.name.clone(),
        team: pipeline.team.clone(),
        roles,
        used,
        unused,
        notes,
    }
}

/// One role of a pipeline: the logged usage that is the pipeline's, merged into `agg`.
fn pipeline_role(
    c: &Collector,
    logins: &InventoryLogins,
    pipeline: &str,
    login: &PipelineLogin,
    agg: &mut RoleAgg,
    notes: &mut Vec<String>,
) -> PipelineRole {
    let key = lower(&login.key);
    // Pipelines whose logins on this role are indistinguishable from this one's.
    let shared_with: Vec<String> = logins
        .by_role
        .get(&key)
        .map(|admitted| {
            admitted
                .iter()
                .filter(|other| {
                    other.name != pipeline && other.entity.indistinguishable(&login.entity)
                })
                .map(|other| other.name.clone())
                .collect()
        })
        .unwrap_or_default();
    let mut requests = 0;
    let mut any_entity_match = false;
    for (role, entity_agg) in c.role_entity_aggs() {
        if lower(role) != key {
            continue;
        }
        let take = match &login.entity {
            LoginEntity::Known(e) => entity_agg.entities.contains(e),
            LoginEntity::NotInSnapshot => false,
            LoginEntity::Unknown => true,
        };
        if take {
            any_entity_match = true;
            requests += entity_agg.used.values().map(|u| u.count).sum::<u64>();
            agg.merge(entity_agg);
        }
    }
    if login.entity == LoginEntity::NotInSnapshot {
        notes.push(format!(
            "{}: no entity has this pipeline's alias in the snapshot: no login of the pipeline is counted (export after the log window)",
            login.key.display()
        ));
    }
    if login.entity == LoginEntity::Unknown && any_entity_match {
        notes.push(format!(
            "{}: the pipeline's entity is not known from the snapshot; all the role's usage is counted",
            login.key.display()
        ));
    }
    PipelineRole {
        key: login.key.display(),
        entity: login.entity.id(),
        requests,
        shared_with,
    }
}

/// Tokens the logs show no login or parent for, and why.
fn unattributed(
    c: &Collector,
    key: &super::collect::UnattributedKey,
    group: &super::collect::UnattributedAgg,
) -> Unattributed {
    let reason = if key.policies.iter().any(|p| p == "root") {
        "a root token: not issued by a login".to_string()
    } else if group.tokens > 0 {
        let before = match (&group.earliest_issue, &c.first_time) {
            (Some(i), Some(f)) => super::parse::parse_time(i) < super::parse::parse_time(f),
            _ => false,
        };
        if before {
            "no login or parent token for these tokens in the logs; some were issued before the first request of the window (login before the logs begin)".to_string()
        } else {
            "no login or parent token for these tokens in the logs".to_string()
        }
    } else {
        "no login for these tokens in the logs".to_string()
    };
    Unattributed {
        display_name: key.display_name.clone(),
        role_hint: key.role_hint.clone(),
        policies: key.policies.clone(),
        tokens: group.tokens,
        requests: group.requests,
        denied: group.denied,
        entities: group.entities.iter().cloned().collect(),
        earliest_token_issue_time: group.earliest_issue.clone(),
        reason,
        used: used_entries(&group.used, &[], false),
        paths_dropped: group.paths_dropped,
    }
}

fn report_notes(c: &Collector) -> Vec<String> {
    let mut notes = Vec::new();
    if c.stats.malformed as usize > c.malformed.len() {
        notes.push(format!(
            "{} malformed lines; the first {} are listed",
            c.stats.malformed,
            c.malformed.len()
        ));
    }
    if c.stats.request_entries > 0 && c.stats.response_entries == 0 {
        notes.push(
            "the logs hold request entries only: usage is read from response entries, so nothing was aggregated"
                .to_string(),
        );
    }
    notes
}

fn lower(k: &RoleKey) -> RoleKey {
    RoleKey {
        namespace: k.namespace.clone(),
        mount: k.mount.to_ascii_lowercase(),
        role: k.role.to_ascii_lowercase(),
    }
}

fn role_snapshot(
    analysis: &Analysis<'_>,
    key: &RoleKey,
    agg: &RoleAgg,
    tokens: &mut Vec<TokenReach>,
    token_keys: &mut FxHashMap<String, usize>,
) -> RoleSnapshot {
    let mut snapshot = RoleSnapshot {
        in_snapshot: false,
        tokens: Vec::new(),
        notes: Vec::new(),
        policy_names: BTreeSet::new(),
    };
    let Some(ns) = analysis.index.namespace(&key.namespace) else {
        snapshot.notes.push(format!(
            "namespace {:?} is not in the snapshot: grants unknown",
            key.namespace
        ));
        return snapshot;
    };
    let Some(mount) = analysis.index.auth_mount(&key.namespace, &key.mount) else {
        snapshot.notes.push(format!(
            "auth mount auth/{}/ is not in the snapshot: grants unknown",
            key.mount
        ));
        return snapshot;
    };
    let Some(role) = mount.role(&key.role) else {
        snapshot.notes.push(if key.role.is_empty() {
            "the logins' metadata names no role: grants unknown".to_string()
        } else {
            format!(
                "role {:?} is not on auth/{}/ in the snapshot: grants unknown",
                key.role, key.mount
            )
        });
        return snapshot;
    };
    let Some(token) = role.token() else {
        snapshot.notes.push(
            "the role's policies come from a program (CEL): grants unknown from the snapshot"
                .to_string(),
        );
        return snapshot;
    };
    snapshot.in_snapshot = true;
    let entities: Vec<Option<&String>> = if agg.entities.is_empty() {
        vec![None]
    } else {
        agg.entities.iter().map(Some).collect()
    };
    for ent in entities {
        let admission = Admission {
            verdict: Verdict::Admitted,
            why: "seen logging in in the audit log".to_string(),
            conditions: Vec::new(),
            unknowns: Vec::new(),
            login_cidrs: Vec::new(),
            alias: None,
            group_aliases: Vec::new(),
            token: login::TokenOutcome {
                policies: token.login_policies(),
                ..Default::default()
            },
        };
        // The role's token policies; the entity is known by id from the log, so it is added
        // directly (not through its alias: AppRole alias names are redacted in snapshots).
        let mut id: TokenIdentity = identity::resolve(&analysis.index, ns, mount, &admission);
        if let Some(eid) = ent {
            match analysis.index.entity(eid) {
                Some((ens, e)) => add_entity(analysis, &mut id, ens, e),
                None => snapshot.notes.push(format!(
                    "entity {eid} is not in the snapshot: its entity and group policies are not counted"
                )),
            }
        }
        snapshot
            .policy_names
            .extend(id.policies.iter().map(|p| p.name.clone()));
        let cache_key = id.cache_key(true);
        let idx = match token_keys.get(&cache_key) {
            Some(&i) => i,
            None => {
                let reach = analysis.token_reach(id);
                for u in &reach.unknowns {
                    let note = format!("{}: {}", u.kind, u.detail);
                    if !snapshot.notes.contains(&note) {
                        snapshot.notes.push(note);
                    }
                }
                tokens.push(reach);
                token_keys.insert(cache_key, tokens.len() - 1);
                tokens.len() - 1
            }
        };
        if !snapshot.tokens.contains(&idx) {
            snapshot.tokens.push(idx);
        }
    }
    snapshot
}

/// Add an entity's policies, its groups' (direct and inherited, in the token's namespace or
/// below) and its templating data to a token identity, as `passes::identity::resolve` does for
/// an entity found through an alias.
fn add_entity(
    analysis: &Analysis<'_>,
    id: &mut TokenIdentity,
    ens: &crate::model::Namespace,
    e: &crate::model::Entity,
) {
    identity::attach_entity(id, ens, e);
    identity::attach_groups(id, analysis.index.groups_of_entity(&e.id).all());
}

fn used_entries(
    map: &BTreeMap<UseKey, UseAgg>,
    tokens: &[&TokenReach],
    in_snapshot: bool,
) -> Vec<Used> {
    map.iter()
        .map(|(k, u)| {
            let covered_by = if u
                .granted_by
                .iter()
                .any(|g| g == "default" || g.ends_with(":default"))
            {
                Some("default")
            } else if u.allowed_without_policy && u.granted_by.is_empty() {
                Some("no_policy")
            } else if u.no_policy_results && default_covers(&k.path, &k.operation) {
                Some("default")
            } else {
                None
            };
            let snapshot_capabilities = in_snapshot.then(|| {
                let mut caps = Caps::NONE;
                for t in tokens {
                    let decision = t.acl.capabilities(&k.namespace, &k.path);
                    if !decision.caps.is_deny() {
                        caps |= decision.caps;
                    }
                }
                caps.names()
            });
            Used {
                namespace: k.namespace.clone(),
                path: k.path.clone(),
                operation: k.operation.clone(),
                count: u.count,
                first: u.first.clone(),
                last: u.last.clone(),
                errors: u.errors,
                granted_by: u.granted_by.iter().cloned().collect(),
                needs_rule: covered_by.is_none() && op_caps(&k.operation).0 != Caps::NONE,
                covered_by,
                snapshot_capabilities,
            }
        })
        .collect()
}

/// Requests the built-in `default` policy (OpenBao and Vault) allows, for logs without
/// `policy_results` (older Vault): token self-service, cubbyhole, wrapping, leases renew/lookup,
/// `sys/capabilities-self`, tools/hash, and the paths any token may call without a policy.
pub fn default_covers(path: &str, op: &str) -> bool {
    let trimmed = path.trim_end_matches('/');
    let update = matches!(op, "update" | "create");
    match trimmed {
        "auth/token/lookup-self" => op == "read",
        "auth/token/renew-self"
        | "auth/token/revoke-self"
        | "sys/capabilities-self"
        | "sys/leases/renew"
        | "sys/leases/lookup"
        | "sys/renew"
        | "sys/wrapping/wrap"
        | "sys/wrapping/lookup"
        | "sys/wrapping/unwrap"
        | "sys/tools/hash" => update,
        "sys/internal/ui/resultant-acl" => op == "read",
        _ => {
            trimmed == "cubbyhole"
                || trimmed.starts_with("cubbyhole/")
                || (trimmed.starts_with("sys/tools/hash/") && update)
                || trimmed == "sys/internal/ui/mounts"
                || trimmed.starts_with("sys/internal/ui/mounts/")
        }
    }
}

fn unused_entry(ns: &str, path: &str, granted: Caps, used: Caps) -> Option<Unused> {
    if granted.is_deny() || granted.is_empty() {
        return None;
    }
    let unused = Caps(granted.0 & !used.0);
    if unused.is_empty() {
        return None;
    }
    let used_g = Caps(granted.0 & used.0);
    Some(Unused {
        namespace: ns.to_string(),
        path: path.to_string(),
        granted: granted.names(),
        used: if used_g.is_empty() {
            Vec::new()
        } else {
            used_g.names()
        },
        unused: unused.names(),
    })
}

fn unused_grants<'k>(
    analysis: &Analysis<'_>,
    tokens: &[&TokenReach],
    used: impl Iterator<Item = &'k UseKey>,
) -> Vec<Unused> {
    let mut used_caps: BTreeMap<(&str, &str), Caps> = BTreeMap::new();
    for k in used {
        *used_caps
            .entry((k.namespace.as_str(), k.path.as_str()))
            .or_default() |= op_caps(&k.operation).0;
    }
    let mut granted: BTreeMap<u32, Caps> = BTreeMap::new();
    for t in tokens {
        for &(sid, caps, _) in &t.grants {
            *granted.entry(sid).or_default() |= caps;
        }
    }
    let mut out: Vec<Unused> = granted
        .into_iter()
        .filter_map(|(sid, caps)| {
            let secret = analysis.secrets.get(sid);
            let used = used_caps
                .get(&(&*secret.namespace, secret.path.as_str()))
                .copied()
                .unwrap_or(Caps::NONE);
            unused_entry(&secret.namespace, &secret.path, caps, used)
        })
        .collect();
    out.sort();
    out
}
