//! Per-entity facts: each identity entity pipelines' tokens belong to, who logs in as it, and
//! which of those logins reach more once another pipeline has logged in as the same entity.

use std::collections::BTreeSet;
use std::sync::Arc;

use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

use serde::Serialize;

use super::logins::{EntityLogin, LoginIndex};
use super::ns_of;
use crate::passes::reach::{Analysis, TokenReach};
use crate::passes::{PolicyOrigin, PolicyRef, TokenIdentity};

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

/// The entities of the snapshot that some pipeline's token belongs to (in snapshot order).
/// Takes each entity's pipelines and logins out of `index`. Entities are judged in parallel:
/// each shared entity compiles a token per pair of its logins.
pub(super) fn entities(
    analysis: &Analysis<'_>,
    tokens: &[TokenReach],
    index: &mut LoginIndex,
) -> Vec<EntityFacts> {
    let mut found = Vec::new();
    for ns in &analysis.snapshot.namespaces {
        let ns_path = ns_of(&ns.path);
        for entity in &ns.entities {
            let Some(reached) = index.entities.remove(&entity.id) else {
                continue;
            };
            let logins = index.entity_logins.remove(&entity.id).unwrap_or_default();
            found.push((ns_path.clone(), entity, reached, logins));
        }
    }
    found
        .into_par_iter()
        .map(|(namespace, entity, reached, logins)| EntityFacts {
            id: entity.id.clone(),
            name: entity.name.clone(),
            namespace,
            disabled: entity.disabled,
            policies: entity.policies.clone(),
            login_dependent: login_dependent(analysis, tokens, logins),
            pipelines: reached.pipelines.into_iter().collect(),
            roles: reached.roles.into_iter().collect(),
            teams: reached.teams.into_iter().collect(),
        })
        .collect()
}

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
    let pipelines: BTreeSet<&str> = logins.iter().map(|l| l.pipeline.as_str()).collect();
    if pipelines.len() < 2 {
        return Vec::new();
    }
    let mut rewritten = Rewritten::default();
    let mut out: Vec<EntityLoginReach> = Vec::new();
    for login in &logins {
        let mut gained: BTreeSet<u32> = BTreeSet::new();
        for other in &logins {
            if other.pipeline != login.pipeline && other.token != login.token {
                gained.extend(rewritten.gained_after(analysis, tokens, login.token, other.token));
            }
        }
        if gained.is_empty() {
            continue;
        }
        let mut paths: Vec<String> = gained
            .into_iter()
            .map(|sid| {
                let secret = analysis.secrets.get(sid);
                format!("{}{}", secret.namespace, secret.path)
            })
            .collect();
        paths.sort();
        out.push(EntityLoginReach {
            pipeline: login.pipeline.clone(),
            role: login.role.clone(),
            paths,
        });
    }
    out.sort_by(|a, b| (&a.pipeline, &a.role).cmp(&(&b.pipeline, &b.role)));
    out.dedup_by(|a, b| a.pipeline == b.pipeline && a.role == b.role);
    out
}

/// The tokens one entity's logins would hold after another login rewrote the entity, compiled
/// once per distinct identity (many pairs of logins give the same one), and each login's own
/// reach as a set.
#[derive(Default)]
struct Rewritten {
    /// Secrets granted, by the identity's key (`TokenIdentity::cache_key`, entity included).
    grants: FxHashMap<String, Arc<Vec<u32>>>,
    own: FxHashMap<usize, FxHashSet<u32>>,
}

impl Rewritten {
    /// What the token of one login reaches once another login has rewritten the shared entity, and
    /// its own login did not give: its role's policies with the other login's entity, groups and
    /// their policies. Limit: when the two logins use different mounts, the other login's view of
    /// this login's alias is the exported one.
    /// What the token of one login reaches once another login has rewritten the shared entity,
    /// and its own login did not give: its role's policies with the other login's entity,
    /// groups and their policies. Limit: when the two logins use different mounts, the other
    /// login's view of this login's alias is the exported one.
    fn gained_after(
        &mut self,
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
        let key = after.cache_key(true);
        let granted = self
            .grants
            .entry(key)
            .or_insert_with(|| {
                let reach = analysis.token_reach(after);
                Arc::new(reach.grants.into_iter().map(|g| g.0).collect())
            })
            .clone();
        let own_reach = self
            .own
            .entry(own)
            .or_insert_with(|| tokens[own].grants.iter().map(|g| g.0).collect());
        granted
            .iter()
            .copied()
            .filter(|sid| !own_reach.contains(sid))
            .collect()
    }
}
