//! Who logs in where: one pass over the pipelines' logins indexes, for each role, auth mount,
//! namespace, entity and policy, the pipelines (and their teams) that reach it. The facts of
//! roles, mounts, namespaces, entities and policies read this index instead of walking the
//! logins again each.

use std::collections::BTreeSet;

use rustc_hash::FxHashMap;
use serde_json::Value;

use super::{ns_of, role_id};
use crate::inventory::{Inventory, Pipeline};
use crate::passes::reach::{Login, PipelineLogins, TokenReach};

/// The pipelines logging in through one role.
#[derive(Default)]
pub(super) struct RoleLogins {
    /// Pipelines the role admits.
    pub(super) admitted: BTreeSet<String>,
    /// Pipelines the role may admit (the verdict depends on something unknown).
    pub(super) unknown: BTreeSet<String>,
    /// Teams of the admitted pipelines.
    pub(super) teams: BTreeSet<String>,
}

/// Pipelines and their teams (of an auth mount, or of a policy their tokens carry).
#[derive(Default)]
pub(super) struct PipelinesAndTeams {
    pub(super) pipelines: BTreeSet<String>,
    pub(super) teams: BTreeSet<String>,
}

/// The pipelines authenticating in one namespace: how many, and their teams.
#[derive(Default)]
pub(super) struct NamespaceLogins {
    pub(super) pipelines: usize,
    pub(super) teams: BTreeSet<String>,
}

/// The pipelines whose tokens belong to one entity, the roles they log in through, their teams.
#[derive(Default)]
pub(super) struct EntityPipelines {
    pub(super) pipelines: BTreeSet<String>,
    pub(super) roles: BTreeSet<String>,
    pub(super) teams: BTreeSet<String>,
}

/// One login of an entity: the pipeline, the role it logs in through and its token.
pub(super) struct EntityLogin {
    pub(super) pipeline: String,
    pub(super) role: String,
    pub(super) token: usize,
}

/// Who logs in where, keyed by the ids the facts document uses.
#[derive(Default)]
pub(super) struct LoginIndex {
    /// By role id.
    pub(super) roles: FxHashMap<String, RoleLogins>,
    /// By auth mount id (`namespace/auth/path`).
    pub(super) mounts: FxHashMap<String, PipelinesAndTeams>,
    /// By namespace path.
    pub(super) namespaces: FxHashMap<String, NamespaceLogins>,
    /// By entity id.
    pub(super) entities: FxHashMap<String, EntityPipelines>,
    /// Every login of each entity, by entity id.
    pub(super) entity_logins: FxHashMap<String, Vec<EntityLogin>>,
    /// By policy `(namespace, name)`.
    pub(super) policies: FxHashMap<(String, String), PipelinesAndTeams>,
    /// The issuer a pipeline's claims declare for its auth mount (the first one seen), used
    /// when the mount's configuration does not say.
    pub(super) issuers: FxHashMap<String, String>,
}

impl LoginIndex {
    /// Index the logins of every pipeline of the inventory (in inventory order).
    pub(super) fn collect(
        inventory: &Inventory,
        logins: &[PipelineLogins<'_>],
        tokens: &[TokenReach],
    ) -> LoginIndex {
        // A pipeline's team is looked up by name, so pipelines sharing a name share one team.
        let team_of: FxHashMap<&str, Option<&str>> = inventory
            .pipelines
            .iter()
            .map(|pipeline| (pipeline.name.as_str(), pipeline.team.as_deref()))
            .collect();
        let mut index = LoginIndex::default();
        for (pipeline, (pipeline_logins, _)) in inventory.pipelines.iter().zip(logins.iter()) {
            let team = team_of.get(pipeline.name.as_str()).copied().flatten();
            index.add_pipeline(pipeline, team);
            for login in pipeline_logins {
                if login.admission.is_possible() {
                    index.add_login(pipeline, team, login, tokens);
                }
            }
        }
        index
    }

    /// Count the pipeline in its namespace and auth mount, and note the issuer its claims name.
    fn add_pipeline(&mut self, pipeline: &Pipeline, team: Option<&str>) {
        let ns_path = pipeline.auth.namespace_path();
        let namespace = self.namespaces.entry(ns_path.clone()).or_default();
        namespace.pipelines += 1;
        if let Some(team) = team {
            namespace.teams.insert(team.to_string());
        }
        let mount_id = format!(
            "{ns_path}auth/{}",
            pipeline.auth.mount_path().trim_end_matches('/')
        );
        let mount = self.mounts.entry(mount_id.clone()).or_default();
        mount.pipelines.insert(pipeline.name.clone());
        if let Some(team) = team {
            mount.teams.insert(team.to_string());
        }
        if let Some(issuer) = pipeline
            .auth
            .claims
            .as_ref()
            .and_then(|claims| claims.get("iss"))
            .and_then(Value::as_str)
        {
            self.issuers
                .entry(mount_id)
                .or_insert_with(|| issuer.to_string());
        }
    }

    /// Record one possible login: its role, and the entity and policies of its token.
    fn add_login(
        &mut self,
        pipeline: &Pipeline,
        team: Option<&str>,
        login: &Login<'_>,
        tokens: &[TokenReach],
    ) {
        let login_ns = ns_of(&login.namespace.path);
        let role = role_id(&login_ns, login.mount, &login.role);
        let role_logins = self.roles.entry(role.clone()).or_default();
        if login.admission.is_admitted() {
            role_logins.admitted.insert(pipeline.name.clone());
            if let Some(team) = team {
                role_logins.teams.insert(team.to_string());
            }
        } else {
            role_logins.unknown.insert(pipeline.name.clone());
        }
        let Some(token) = login.token.map(|token| &tokens[token]) else {
            return;
        };
        if let Some((entity_id, _)) = &token.identity.entity_ref {
            let entity = self.entities.entry(entity_id.clone()).or_default();
            entity.pipelines.insert(pipeline.name.clone());
            entity.roles.insert(role.clone());
            self.entity_logins
                .entry(entity_id.clone())
                .or_default()
                .push(EntityLogin {
                    pipeline: pipeline.name.clone(),
                    role: role.clone(),
                    token: login.token.unwrap_or_default(),
                });
            if let Some(team) = team {
                entity.teams.insert(team.to_string());
            }
        }
        for policy in &token.identity.policies {
            let holders = self
                .policies
                .entry((policy.namespace.clone(), policy.name.clone()))
                .or_default();
            holders.pipelines.insert(pipeline.name.clone());
            if let Some(team) = team {
                holders.teams.insert(team.to_string());
            }
        }
    }
}
