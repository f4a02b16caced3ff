//! Per-namespace facts: the teams and number of pipelines authenticating in each namespace, and
//! each secret mount with its known secrets and their owning teams.

use std::collections::BTreeSet;

use serde::Serialize;

use super::logins::LoginIndex;
use super::{ns_of, paths};
use crate::model::{Namespace, Snapshot};
use crate::ownership::Owners;
use crate::passes::SecretIndex;

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

/// Every namespace of the snapshot (in snapshot order). Takes each namespace's pipelines out of
/// `index`.
pub(super) fn namespaces(
    snap: &Snapshot,
    secrets: &SecretIndex,
    owners: &Owners,
    index: &mut LoginIndex,
) -> Vec<NamespaceFacts> {
    snap.namespaces
        .iter()
        .map(|ns| {
            let path = ns_of(&ns.path);
            let logins = index.namespaces.remove(&path).unwrap_or_default();
            let secret_mounts = secret_mounts(ns, &path, secrets, owners);
            NamespaceFacts {
                path,
                teams: logins.teams.into_iter().collect(),
                pipelines: logins.pipelines,
                secret_mounts,
            }
        })
        .collect()
}

/// The secret mounts of one namespace holding known secrets or owned by some team.
fn secret_mounts(
    ns: &Namespace,
    ns_path: &str,
    secrets: &SecretIndex,
    owners: &Owners,
) -> Vec<SecretMountFacts> {
    let mut mounts = Vec::new();
    for mount in &ns.secret_mounts {
        let range = paths::range(secrets, &format!("{ns_path}{}", mount.path));
        let count = range.len();
        let teams: BTreeSet<&str> = range
            .flat_map(|secret| owners.team_names(owners.owner[secret]))
            .collect();
        if count == 0 && teams.is_empty() {
            continue;
        }
        mounts.push(SecretMountFacts {
            path: mount.path.clone(),
            mount_type: mount.mount_type.clone(),
            secrets: count,
            owners: teams.into_iter().map(str::to_string).collect(),
        });
    }
    mounts
}
