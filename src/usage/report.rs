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

/// The entity of a pipeline's login on a role (see `build`).
type PipeEntity = Option<Option<String>>;

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
    let snapshot = analysis.snapshot;
    let inv = analysis.inventory;
    let mut notes = Vec::new();

    // Compile each role's token identities (one per entity seen logging in).
    let merged = c.role_aggs();
    let mut tokens: Vec<TokenReach> = Vec::new();
    let mut token_keys: FxHashMap<String, usize> = FxHashMap::default();
    let mut role_snap: BTreeMap<RoleKey, RoleSnapshot> = BTreeMap::new();
    for (key, agg) in &merged {
        let rs = role_snapshot(analysis, key, agg, &mut tokens, &mut token_keys);
        role_snap.insert(key.clone(), rs);
    }

    // Pipelines a role admits, with the entity each pipeline's login maps to when the snapshot
    // tells (JWT and Kubernetes alias names are known from the claims; AppRole's are not).
    // Entity of a pipeline's login: `Some(Some(id))` the snapshot has it; `Some(None)` the alias
    // name is known and no entity has it (the pipeline never logged in before the export);
    // `None` not known (AppRole: the alias name is the secret role-id).
    let mut role_pipelines: BTreeMap<RoleKey, Vec<(String, PipeEntity)>> = BTreeMap::new();
    let mut pipeline_roles: Vec<Vec<(RoleKey, PipeEntity)>> = Vec::new();
    if inventory.is_some() {
        for p in &inv.pipelines {
            let (logins, _) = analysis.logins(p);
            let mut keys = Vec::new();
            for l in logins.iter().filter(|l| l.admission.is_possible()) {
                let k = RoleKey {
                    namespace: crate::model::namespace_path(&l.namespace.path).into_owned(),
                    mount: l.mount.path.trim_end_matches('/').to_string(),
                    role: l.role.clone(),
                };
                let entity = l
                    .admission
                    .alias
                    .as_ref()
                    .filter(|a| a.name_known)
                    .map(|a| {
                        analysis
                            .index
                            .entity_by_alias(&a.mount_accessor, &a.name)
                            .map(|(_, e)| e.id.clone())
                    });
                role_pipelines
                    .entry(lower(&k))
                    .or_default()
                    .push((p.name.clone(), entity.clone()));
                keys.push((k, entity));
            }
            pipeline_roles.push(keys);
        }
    }

    let mut roles = Vec::new();
    for (key, agg) in &merged {
        let rs = &role_snap[key];
        let role_tokens: Vec<&TokenReach> = rs.tokens.iter().map(|&i| &tokens[i]).collect();
        let used = used_entries(&agg.used, &role_tokens, rs.in_snapshot);
        let denied = used_entries(&agg.denied, &role_tokens, rs.in_snapshot);
        let unused = unused_grants(analysis, &role_tokens, agg.used.keys());
        let mut rnotes = rs.notes.clone();
        if rs.in_snapshot {
            for set in &agg.policy_sets {
                let logged: BTreeSet<String> = set.iter().cloned().collect();
                if !logged.is_empty() && logged != rs.policy_names {
                    rnotes.push(format!(
                        "tokens in the logs held policies [{}], the snapshot gives [{}]: the role or identity changed between the logs and the snapshot",
                        set.join(", "),
                        rs.policy_names.iter().cloned().collect::<Vec<_>>().join(", ")
                    ));
                }
            }
        }
        let suggested = policy::suggest(key, &used, snapshot, &mut rnotes);
        let requests = agg.used.values().map(|u| u.count).sum();
        let denied_requests = agg.denied.values().map(|u| u.count).sum();
        roles.push(RoleUsage {
            key: key.display(),
            namespace: key.namespace.clone(),
            mount: key.mount.clone(),
            role: key.role.clone(),
            in_snapshot: rs.in_snapshot,
            logins: agg.logins,
            child_tokens: agg.child_tokens,
            requests,
            denied_requests,
            linked_by_entity: agg.linked_by_entity,
            entities: agg.entities.iter().cloned().collect(),
            display_names: agg.display_names.iter().cloned().collect(),
            token_policies: agg.policy_sets.iter().cloned().collect(),
            pipelines: inventory.is_some().then(|| {
                let mut v: Vec<String> = role_pipelines
                    .get(&lower(key))
                    .map(|v| v.iter().map(|(n, _)| n.clone()).collect())
                    .unwrap_or_default();
                v.dedup();
                v
            }),
            used,
            denied,
            unused,
            suggested_policy: suggested,
            notes: rnotes,
        });
    }
    roles.sort_by(|a, b| a.key.cmp(&b.key));
    policy::assign_file_names(&mut roles);

    let pipelines = inventory.map(|inv| {
        let reach = analysis.reach(&ReachOptions::default());
        inv.pipelines
            .iter()
            .zip(&pipeline_roles)
            .zip(reach)
            .map(|((p, keys), r)| {
                let mut prs = Vec::new();
                let mut pagg = RoleAgg::default();
                let mut pnotes = Vec::new();
                for (k, entity) in keys {
                    let lk = lower(k);
                    // Pipelines whose logins on this role are indistinguishable from this one's.
                    let shared_with: Vec<String> = role_pipelines
                        .get(&lk)
                        .map(|v| {
                            v.iter()
                                .filter(|(n, e)| {
                                    *n != p.name
                                        && match (e, entity) {
                                            (Some(Some(a)), Some(Some(b))) => a == b,
                                            (Some(None), _) | (_, Some(None)) => false,
                                            _ => true,
                                        }
                                })
                                .map(|(n, _)| n.clone())
                                .collect()
                        })
                        .unwrap_or_default();
                    let mut requests = 0;
                    let mut any_entity_match = false;
                    for (rk, a) in c.role_entity_aggs() {
                        if lower(rk) != lk {
                            continue;
                        }
                        let take = match entity {
                            Some(Some(e)) => a.entities.contains(e),
                            Some(None) => false,
                            None => true,
                        };
                        if take {
                            any_entity_match = true;
                            requests += a.used.values().map(|u| u.count).sum::<u64>();
                            pagg.merge(a);
                        }
                    }
                    if entity == &Some(None) {
                        pnotes.push(format!(
                            "{}: no entity has this pipeline's alias in the snapshot: no login of the pipeline is counted (export after the log window)",
                            k.display()
                        ));
                    }
                    if entity.is_none() && any_entity_match {
                        pnotes.push(format!(
                            "{}: the pipeline's entity is not known from the snapshot; all the role's usage is counted",
                            k.display()
                        ));
                    }
                    prs.push(PipelineRole {
                        key: k.display(),
                        entity: entity.clone().flatten(),
                        requests,
                        shared_with,
                    });
                }
                let used = used_entries(&pagg.used, &[], false);
                let mut used_caps: BTreeMap<(String, String), Caps> = BTreeMap::new();
                for u in &used {
                    *used_caps
                        .entry((u.namespace.clone(), u.path.clone()))
                        .or_default() |= op_caps(&u.operation).0;
                }
                let unused = r
                    .secrets
                    .iter()
                    .filter_map(|s| {
                        let used = used_caps
                            .get(&(s.namespace.clone(), s.path.clone()))
                            .copied()
                            .unwrap_or(Caps::NONE);
                        unused_entry(&s.namespace, &s.path, s.caps, used)
                    })
                    .collect();
                if prs.iter().any(|r| !r.shared_with.is_empty()) {
                    pnotes.push("some roles admit other pipelines the logs cannot tell apart: their usage is counted for each of them".to_string());
                }
                PipelineUsage {
                    name: p.name.clone(),
                    team: p.team.clone(),
                    roles: prs,
                    used,
                    unused,
                    notes: pnotes,
                }
            })
            .collect()
    });

    let unattributed = c
        .unattributed
        .iter()
        .map(|(k, g)| {
            let reason = if k.policies.iter().any(|p| p == "root") {
                "a root token: not issued by a login".to_string()
            } else if g.tokens > 0 {
                let before = match (&g.earliest_issue, &c.first_time) {
                    (Some(i), Some(f)) => {
                        super::parse::parse_time(i) < super::parse::parse_time(f)
                    }
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
                display_name: k.display_name.clone(),
                role_hint: k.role_hint.clone(),
                policies: k.policies.clone(),
                tokens: g.tokens,
                requests: g.requests,
                denied: g.denied,
                entities: g.entities.iter().cloned().collect(),
                earliest_token_issue_time: g.earliest_issue.clone(),
                reason,
                used: used_entries(&g.used, &[], false),
                paths_dropped: g.paths_dropped,
            }
        })
        .collect();

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
        roles,
        pipelines,
        unattributed,
        malformed: c.malformed.clone(),
        notes,
    }
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
    let mut rs = RoleSnapshot {
        in_snapshot: false,
        tokens: Vec::new(),
        notes: Vec::new(),
        policy_names: BTreeSet::new(),
    };
    let Some(ns) = analysis.index.namespace(&key.namespace) else {
        rs.notes.push(format!(
            "namespace {:?} is not in the snapshot: grants unknown",
            key.namespace
        ));
        return rs;
    };
    let Some(mount) = analysis.index.auth_mount(&key.namespace, &key.mount) else {
        rs.notes.push(format!(
            "auth mount auth/{}/ is not in the snapshot: grants unknown",
            key.mount
        ));
        return rs;
    };
    let Some(role) = mount.role(&key.role) else {
        rs.notes.push(if key.role.is_empty() {
            "the logins' metadata names no role: grants unknown".to_string()
        } else {
            format!(
                "role {:?} is not on auth/{}/ in the snapshot: grants unknown",
                key.role, key.mount
            )
        });
        return rs;
    };
    let Some(token) = role.token() else {
        rs.notes.push(
            "the role's policies come from a program (CEL): grants unknown from the snapshot"
                .to_string(),
        );
        return rs;
    };
    rs.in_snapshot = true;
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
                None => rs.notes.push(format!(
                    "entity {eid} is not in the snapshot: its entity and group policies are not counted"
                )),
            }
        }
        rs.policy_names
            .extend(id.policies.iter().map(|p| p.name.clone()));
        let k = id.cache_key(true);
        let idx = match token_keys.get(&k) {
            Some(&i) => i,
            None => {
                let t = analysis.token_reach(id);
                for u in &t.unknowns {
                    let s = format!("{}: {}", u.kind, u.detail);
                    if !rs.notes.contains(&s) {
                        rs.notes.push(s);
                    }
                }
                tokens.push(t);
                token_keys.insert(k, tokens.len() - 1);
                tokens.len() - 1
            }
        };
        if !rs.tokens.contains(&idx) {
            rs.tokens.push(idx);
        }
    }
    rs
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
                    let d = t.acl.capabilities(&k.namespace, &k.path);
                    if !d.caps.is_deny() {
                        caps |= d.caps;
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
    let p = path.trim_end_matches('/');
    let update = matches!(op, "update" | "create");
    match p {
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
            p == "cubbyhole"
                || p.starts_with("cubbyhole/")
                || (p.starts_with("sys/tools/hash/") && update)
                || p == "sys/internal/ui/mounts"
                || p.starts_with("sys/internal/ui/mounts/")
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
            let s = analysis.secrets.get(sid);
            let used = used_caps
                .get(&(s.namespace.as_str(), s.path.as_str()))
                .copied()
                .unwrap_or(Caps::NONE);
            unused_entry(&s.namespace, &s.path, caps, used)
        })
        .collect();
    out.sort();
    out
}
