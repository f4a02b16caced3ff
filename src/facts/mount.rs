//! Per-auth-mount facts: each auth mount's type, TTL tuning, issuer (JWT/OIDC), role count,
//! and the pipelines authenticating through it.

use serde::Serialize;

use super::logins::LoginIndex;
use super::{ns_of, workload};
use crate::login::calculate_ttl;
use crate::ownership::Owners;
use crate::passes::reach::Analysis;

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
    /// GitHub mounts with a config: the organisation the mount admits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub github: Option<super::github::GithubMountFacts>,
}

/// Every auth mount of the snapshot (in snapshot order). Takes each mount's pipelines out of
/// `index`. GitHub mounts also get what they grant members of the organisation and its teams.
pub(super) fn auth_mounts(
    analysis: &Analysis<'_>,
    owners: &Owners,
    index: &mut LoginIndex,
) -> Vec<MountFacts> {
    let snap = analysis.snapshot;
    let mut mounts = Vec::new();
    for ns in &snap.namespaces {
        let ns_path = ns_of(&ns.path);
        for mount in &ns.auth_mounts {
            let id = format!("{ns_path}auth/{}", mount.name());
            let fallback_issuer = index.issuers.get(&id).map(String::as_str);
            let is_jwt = matches!(mount.mount_type.as_str(), "jwt" | "oidc");
            let issuer = is_jwt.then(|| workload::issuer(mount, fallback_issuer));
            let logins = index.mounts.remove(&id).unwrap_or_default();
            let (default_lease_ttl, max_lease_ttl, _) =
                calculate_ttl(mount, &snap.server, None, None, None, None);
            mounts.push(MountFacts {
                id,
                namespace: ns_path.clone(),
                path: mount.name().to_string(),
                mount_type: mount.mount_type.clone(),
                roles: mount.roles.len(),
                default_lease_ttl,
                max_lease_ttl,
                issuer,
                pipelines: logins.pipelines.into_iter().collect(),
                teams: logins.teams.into_iter().collect(),
                github: super::github::github(analysis, owners, ns, mount),
            });
        }
    }
    mounts
}
