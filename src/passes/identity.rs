//! From a login to the policies its token holds (semantics doc section 2): the role's token
//! policies in the mount's namespace, then identity policies recomputed per request: the entity's
//! (in the entity's namespace) and those of every group containing it and their ancestors, for
//! groups in the token's namespace or a descendant of it.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::acl::template;
use crate::login::Admission;
use crate::model::{AuthMount, Namespace, SnapshotIndex};

/// Where a policy of a token comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PolicyOrigin {
    /// The role's `token_policies` (and `default`).
    Role,
    /// The entity's own `policies`.
    Entity { id: String, name: String },
    /// A group the entity is in (directly, through a parent group, or by an external group alias
    /// the login yields).
    Group { id: String, name: String },
}

/// A policy of a token: its namespace, name and origin.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema)]
pub struct PolicyRef {
    pub namespace: String,
    pub name: String,
    pub origin: PolicyOrigin,
}

/// Everything that decides a token's ACL.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TokenIdentity {
    pub token_namespace: String,
    pub policies: Vec<PolicyRef>,
    /// The entity templates resolve against (`None`: no entity would exist).
    pub entity: Option<template::Entity>,
    pub groups: Vec<template::Group>,
    /// The entity exists and is disabled: every request of the token is refused.
    pub entity_disabled: bool,
    /// The entity the login maps to, when it already exists.
    pub entity_ref: Option<(String, String)>,
    /// What could not be resolved.
    pub notes: Vec<String>,
}

impl TokenIdentity {
    /// A key identifying the ACL: two logins with equal keys have equal ACLs. The entity only
    /// matters when some policy is `templated`.
    pub fn cache_key(&self, templated: bool) -> String {
        let mut names: Vec<(&str, &str)> = self
            .policies
            .iter()
            .map(|p| (p.namespace.as_str(), p.name.as_str()))
            .collect();
        names.sort_unstable();
        names.dedup();
        let mut key = format!("{}|", self.token_namespace);
        for (ns, n) in names {
            key.push_str(ns);
            key.push(':');
            key.push_str(n);
            key.push(',');
        }
        if let Some(e) = self.entity.as_ref().filter(|_| templated) {
            key.push_str("|e=");
            key.push_str(&e.id);
            key.push('/');
            key.push_str(&e.name);
            for a in &e.aliases {
                key.push('/');
                key.push_str(&a.mount_accessor);
                key.push('=');
                key.push_str(&a.name);
                // The login rewrites alias metadata: logins of one entity with different
                // claims resolve templates differently.
                for (mk, mv) in &a.metadata {
                    key.push_str(&format!("&{mk:?}={mv:?}"));
                }
            }
            for g in &self.groups {
                key.push_str("|g=");
                key.push_str(&g.id);
            }
        }
        if self.entity_disabled {
            key.push_str("|disabled");
        }
        key
    }
}

fn to_template_entity(e: &crate::model::Entity) -> template::Entity {
    template::Entity {
        id: e.id.clone(),
        name: e.name.clone(),
        metadata: e.metadata.clone(),
        aliases: e
            .aliases
            .iter()
            .map(|a| template::Alias {
                id: a.id.clone(),
                mount_accessor: a.mount_accessor.clone(),
                name: a.name.clone(),
                metadata: a.metadata.clone(),
                custom_metadata: a.custom_metadata.clone(),
            })
            .collect(),
    }
}

fn ns_id(ns: &Namespace) -> String {
    if ns.id.is_empty() {
        "root".to_string()
    } else {
        ns.id.clone()
    }
}

/// Resolve the token identity of one admitted (or possibly admitted) login on `mount` in
/// namespace `token_ns`.
pub(crate) fn resolve(
    index: &SnapshotIndex<'_>,
    token_ns: &Namespace,
    mount: &AuthMount,
    admission: &Admission,
) -> TokenIdentity {
    let token_ns_path = crate::model::namespace_path(&token_ns.path).into_owned();
    let mut identity = TokenIdentity {
        token_namespace: token_ns_path.clone(),
        ..Default::default()
    };
    for p in &admission.token.policies {
        identity.policies.push(PolicyRef {
            namespace: token_ns_path.clone(),
            name: p.clone(),
            origin: PolicyOrigin::Role,
        });
    }
    for p in &admission.token.unresolved_policies {
        identity.notes.push(format!(
            "token policy {p:?} cannot be resolved offline; its grants are unknown"
        ));
    }

    // The entity the alias maps to.
    if let Some(alias) = &admission.alias {
        let found = if alias.name_known {
            index.entity_by_alias(&alias.mount_accessor, &alias.name)
        } else {
            index.snapshot().namespaces.iter().find_map(|ns| {
                ns.entities
                    .iter()
                    .find(|e| e.aliases.iter().any(|a| alias.matches(a)))
                    .map(|e| (ns, e))
            })
        };
        match found {
            Some((ens, e)) => {
                attach_entity(&mut identity, ens, e);
                apply_login_metadata(&mut identity, e, alias);
            }
            None => {
                // The first login creates an entity with just this alias.
                identity.entity = Some(template::Entity {
                    id: String::new(),
                    name: String::new(),
                    metadata: Default::default(),
                    aliases: vec![template::Alias {
                        id: String::new(),
                        mount_accessor: alias.mount_accessor.clone(),
                        name: if alias.name_known {
                            alias.name.clone()
                        } else {
                            String::new()
                        },
                        metadata: alias.metadata.clone(),
                        custom_metadata: Default::default(),
                    }],
                });
                if !index.snapshot().is_known(
                    &token_ns_path,
                    &crate::model::Affects::Entities,
                    None,
                ) {
                    identity.notes.push(
                        "identity entities could not be exported: entity and group policies of this login are unknown"
                            .to_string(),
                    );
                }
            }
        }
    }

    // Groups: the login recomputes the entity's external groups on this mount (exactly those
    // whose alias is one of the login's group aliases; none when the role reports none), so the
    // stored memberships of this mount's external groups are replaced, not added to. Other
    // memberships (internal groups, external groups of other mounts) stay as exported.
    let mut groups: Vec<(&Namespace, &crate::model::Group)> = Vec::new();
    if let Some((eid, _)) = &identity.entity_ref {
        for (gns, g) in index.groups_of_entity(eid).direct {
            if !recomputed_by_login(g, &mount.accessor) {
                groups.push((gns, g));
                groups.extend(index.group_ancestors(&g.id));
            }
        }
    }
    for name in &admission.group_aliases {
        if let Some((gns, g)) = index.group_by_alias(&mount.accessor, name) {
            groups.push((gns, g));
            groups.extend(index.group_ancestors(&g.id));
        }
    }
    attach_groups(&mut identity, groups);
    identity
}

/// Whether the login on the mount with `accessor` rewrites the entity's membership of `group`:
/// external groups whose alias is on that mount.
fn recomputed_by_login(group: &crate::model::Group, accessor: &str) -> bool {
    group.is_external()
        && group
            .alias
            .as_ref()
            .is_some_and(|a| a.mount_accessor == accessor)
}

/// The login overwrites the metadata of its entity alias with what this login sets (JWT
/// `claim_mappings` and `role`, AppRole `role_name`, Kubernetes service account fields, none for
/// userpass and cert), whatever an earlier login left there: templates resolve with these values.
fn apply_login_metadata(
    id: &mut TokenIdentity,
    stored: &crate::model::Entity,
    login: &crate::login::Alias,
) {
    let Some(entity) = id.entity.as_mut() else {
        return;
    };
    for (alias, exported) in entity.aliases.iter_mut().zip(&stored.aliases) {
        if login.matches(exported) {
            alias.metadata = login.metadata.clone();
        }
    }
}

/// Give a token identity the entity it maps to: the entity's policies (in the entity's
/// namespace), its templating data, and a note when it is disabled (the server then refuses
/// every request of the token).
pub(crate) fn attach_entity(id: &mut TokenIdentity, ens: &Namespace, e: &crate::model::Entity) {
    id.entity_ref = Some((e.id.clone(), e.name.clone()));
    id.entity_disabled = e.disabled;
    if e.disabled {
        id.notes.push(format!(
            "entity {:?} is disabled: the server refuses every request of this token",
            e.name
        ));
    }
    let ens_path = crate::model::namespace_path(&ens.path).into_owned();
    for p in &e.policies {
        id.policies.push(PolicyRef {
            namespace: ens_path.clone(),
            name: crate::model::normalize_policy_name(p),
            origin: PolicyOrigin::Entity {
                id: e.id.clone(),
                name: e.name.clone(),
            },
        });
    }
    id.entity = Some(to_template_entity(e));
}

/// Give a token identity its groups (each once, in order): their templating data, and their
/// policies when the group lives in the token's namespace or above it; group policies apply in
/// the token's namespace and its descendants only.
pub(crate) fn attach_groups<'a>(
    id: &mut TokenIdentity,
    groups: impl IntoIterator<Item = (&'a Namespace, &'a crate::model::Group)>,
) {
    let mut seen = BTreeSet::new();
    for (gns, g) in groups {
        if !seen.insert(g.id.clone()) {
            continue;
        }
        let gns_path = crate::model::namespace_path(&gns.path).into_owned();
        id.groups.push(template::Group {
            id: g.id.clone(),
            name: g.name.clone(),
            namespace_id: ns_id(gns),
            metadata: g.metadata.clone(),
        });
        if !gns_path.starts_with(&id.token_namespace) {
            continue;
        }
        for p in &g.policies {
            id.policies.push(PolicyRef {
                namespace: gns_path.clone(),
                name: crate::model::normalize_policy_name(p),
                origin: PolicyOrigin::Group {
                    id: g.id.clone(),
                    name: g.name.clone(),
                },
            });
        }
    }
}
