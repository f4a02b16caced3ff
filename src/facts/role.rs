//! Per-role facts: each role of every auth mount with its bindings and their strength, the
//! token it issues (TTLs and where each comes from), its bootstrap parameters, and the
//! pipelines logging in through it. Roles pipelines log in through that the snapshot does not
//! list (LDAP bare logins and the like) get a bare entry so no login goes unaccounted.

use std::borrow::Cow;

use rustc_hash::FxHashMap;
use serde::Serialize;

use super::logins::{LoginIndex, RoleLogins};
use super::{ns_of, workload};
use crate::login::{calculate_ttl, resolve_token_type};
use crate::model::{AuthMount, GithubMapping, RoleRef, Snapshot, TokenFields};

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
    /// Roles of `aws`, `gcp` and `azure` mounts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws: Option<super::cloud::AwsFacts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gcp: Option<super::cloud::GcpFacts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub azure: Option<super::cloud::AzureFacts>,
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

impl RolePipelines {
    fn from_logins(logins: RoleLogins) -> RolePipelines {
        RolePipelines {
            admitted: logins.admitted.into_iter().collect(),
            unknown: logins.unknown.into_iter().collect(),
            teams: logins.teams.into_iter().collect(),
        }
    }
}

/// The facts of every role, and for each policy `(namespace, name)` the roles attaching it.
pub(super) struct Roles {
    pub(super) roles: Vec<RoleFacts>,
    pub(super) by_policy: FxHashMap<(String, String), Vec<String>>,
}

/// The roles of every auth mount (in snapshot order), then the roles pipelines log in through
/// that the snapshot does not list. Takes each role's logins out of `index`.
pub(super) fn roles(snap: &Snapshot, index: &mut LoginIndex) -> Roles {
    let mut listed = Roles {
        roles: Vec::new(),
        by_policy: FxHashMap::default(),
    };
    for ns in &snap.namespaces {
        let ns_path = ns_of(&ns.path);
        for mount in &ns.auth_mounts {
            let mount_id = format!("{ns_path}auth/{}", mount.name());
            let fallback_issuer = index.issuers.get(&mount_id).map(String::as_str);
            for role in mount.roles() {
                let id = format!("{ns_path}{}", role.api_path(mount));
                let policies = effective_token(mount, role)
                    .map(|token| token.login_policies())
                    .unwrap_or_default();
                for policy in &policies {
                    listed
                        .by_policy
                        .entry((ns_path.clone(), policy.clone()))
                        .or_default()
                        .push(id.clone());
                }
                let logins = index.roles.remove(&id).unwrap_or_default();
                let facts = RoleFacts {
                    id,
                    namespace: ns_path.clone(),
                    mount: mount.name().to_string(),
                    mount_type: mount.mount_type.clone(),
                    kind: role.kind().as_str(),
                    name: role.name().to_string(),
                    policies,
                    token: None,
                    pipelines: RolePipelines::from_logins(logins),
                    jwt: None,
                    kubernetes: None,
                    approle: None,
                    cert: None,
                    token_role: None,
                    aws: None,
                    gcp: None,
                    azure: None,
                };
                let facts = with_method_facts(facts, snap, mount, role, fallback_issuer);
                listed.roles.push(facts);
            }
        }
    }
    listed.roles.extend(unlisted_roles(snap, index));
    listed
}

/// The token settings a login through `role` gets. A GitHub team or user mapping carries only
/// policies: the token's settings and the mount's own policies come from the mount config, as
/// `pathLogin` (vault builtin/credential/github/path_login.go) builds the token.
fn effective_token<'m>(mount: &'m AuthMount, role: RoleRef<'m>) -> Option<Cow<'m, TokenFields>> {
    let RoleRef::Other(other) = role else {
        return role.token().map(Cow::Borrowed);
    };
    let Some(mapping) = (mount.mount_type == "github")
        .then(|| GithubMapping::from_other(other))
        .flatten()
    else {
        return Some(Cow::Borrowed(&other.token));
    };
    let mut fields: TokenFields = mount
        .config
        .as_ref()
        .and_then(|c| serde_json::from_value(serde_json::Value::Object(c.clone())).ok())
        .unwrap_or_default();
    let mut policies = fields.configured_policies().to_vec();
    policies.extend(mapping.policies);
    fields.token_policies = policies;
    Some(Cow::Owned(fields))
}

/// Fill in the token a role issues and its method's own parameters.
fn with_method_facts(
    mut facts: RoleFacts,
    snap: &Snapshot,
    mount: &AuthMount,
    role: RoleRef<'_>,
    fallback_issuer: Option<&str>,
) -> RoleFacts {
    let renewable = match role {
        RoleRef::Token(token_role) => token_role.renewable.unwrap_or(true),
        _ => true,
    };
    facts.token =
        effective_token(mount, role).map(|fields| token_facts(&fields, mount, snap, renewable));
    match role {
        RoleRef::Jwt(jwt) => facts.jwt = Some(workload::jwt(mount, jwt, fallback_issuer)),
        RoleRef::Kubernetes(kubernetes) => {
            facts.kubernetes = Some(workload::kubernetes(kubernetes))
        }
        RoleRef::AppRole(approle) => {
            facts.approle = Some(AppRoleFacts {
                bind_secret_id: approle.binds_secret_id(),
                secret_id_ttl: approle.secret_id_ttl.unwrap_or(0),
                secret_id_num_uses: approle.secret_id_num_uses.unwrap_or(0),
                secret_id_bound_cidrs: approle.secret_id_bound_cidrs.clone(),
                token_bound_cidrs: approle.token.token_bound_cidrs.clone(),
                cidr_bound: !approle.secret_id_bound_cidrs.is_empty()
                    || !approle.token.token_bound_cidrs.is_empty()
                    || approle
                        .extra
                        .get("bound_cidr_list")
                        .is_some_and(|list| list.as_array().is_some_and(|x| !x.is_empty())),
            })
        }
        RoleRef::Cert(cert) => {
            facts.cert = Some(CertFacts {
                name_constraints: !cert.has_no_name_constraints(),
                allowed_names: cert.allowed_names.clone(),
                allowed_common_names: cert.allowed_common_names.clone(),
                allowed_dns_sans: cert.allowed_dns_sans.clone(),
                allowed_organizational_units: cert.allowed_organizational_units.clone(),
            })
        }
        RoleRef::Token(token_role) => {
            facts.token_role = Some(TokenRoleFacts {
                orphan: token_role.orphan.unwrap_or(false),
                renewable: token_role.renewable.unwrap_or(true),
                allowed_policies: token_role.allowed_policies.clone(),
                allowed_policies_glob: token_role.allowed_policies_glob.clone(),
                allowed_entity_aliases: token_role.allowed_entity_aliases.clone(),
            })
        }
        RoleRef::Other(other) => match mount.mount_type.as_str() {
            "aws" => facts.aws = super::cloud::aws(other),
            "gcp" => facts.gcp = super::cloud::gcp(other),
            "azure" => facts.azure = super::cloud::azure(other),
            _ => {}
        },
        _ => {}
    }
    facts
}

/// Roles pipelines log in through that are not in the snapshot's role lists (LDAP bare logins
/// and the like), sorted by id: what their id says and who logs in.
fn unlisted_roles(snap: &Snapshot, index: &mut LoginIndex) -> Vec<RoleFacts> {
    let mut unlisted: Vec<(String, RoleLogins)> = index.roles.drain().collect();
    unlisted.sort_by(|a, b| a.0.cmp(&b.0));
    unlisted
        .into_iter()
        .map(|(id, logins)| {
            let (namespace, rest) = split_ns(snap, &id);
            let parts: Vec<&str> = rest.splitn(4, '/').collect();
            RoleFacts {
                id: id.clone(),
                namespace,
                mount: parts.get(1).unwrap_or(&"").to_string(),
                mount_type: String::new(),
                kind: "other",
                name: parts.get(3).unwrap_or(&"").to_string(),
                policies: Vec::new(),
                token: None,
                pipelines: RolePipelines::from_logins(logins),
                jwt: None,
                kubernetes: None,
                approle: None,
                cert: None,
                token_role: None,
                aws: None,
                gcp: None,
                azure: None,
            }
        })
        .collect()
}

/// Split a namespace-qualified API path into (namespace, rest) using the snapshot's namespaces.
fn split_ns(snap: &Snapshot, full: &str) -> (String, String) {
    let mut best = String::new();
    for ns in &snap.namespaces {
        let path = ns_of(&ns.path);
        if full.starts_with(&path) && path.len() > best.len() {
            best = path;
        }
    }
    (best.clone(), full[best.len()..].to_string())
}

/// TTL values that are whole days of at least one day: rules flag them as chosen by habit
/// rather than from the job's duration.
const ROUND_DAY: i64 = 86_400;

/// The token a role issues, resolved against its mount's tuning and the server's defaults the
/// way the server would, with where each TTL comes from.
fn token_facts(
    fields: &TokenFields,
    mount: &AuthMount,
    snap: &Snapshot,
    renewable: bool,
) -> TokenFacts {
    let server = &snap.server;
    let (ttl, max_ttl, max_lifetime) = calculate_ttl(
        mount,
        server,
        fields.ttl(),
        fields.period(),
        fields.max_ttl(),
        fields.explicit_max_ttl(),
    );
    let token_type = resolve_token_type(fields.token_type.as_deref(), mount);
    let batch = token_type == crate::login::TokenType::Batch;
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
    for (field, value) in [
        ("token_ttl", fields.ttl()),
        ("token_max_ttl", fields.max_ttl()),
        ("token_explicit_max_ttl", fields.explicit_max_ttl()),
        ("token_period", fields.period()),
    ] {
        if let Some(seconds) = value.filter(|s| *s >= ROUND_DAY && s % ROUND_DAY == 0) {
            round_values.push(RoundValue { field, seconds });
        }
    }
    let max_ttl_set =
        fields.max_ttl().is_some_and(|t| t > 0) || fields.explicit_max_ttl().is_some_and(|t| t > 0);
    TokenFacts {
        ttl,
        max_ttl,
        ttl_set: fields.ttl().is_some_and(|t| t > 0),
        max_ttl_set,
        ttl_source: if fields.period().is_some_and(|p| p > 0) {
            "period"
        } else {
            source(
                fields.ttl().is_some_and(|t| t > 0),
                mount.tuned_default_ttl(),
            )
        },
        max_ttl_source: source(max_ttl_set, mount.tuned_max_ttl()),
        period: fields.period().filter(|p| *p > 0),
        explicit_max_ttl: fields.explicit_max_ttl().filter(|p| *p > 0),
        max_lifetime: if batch { Some(ttl) } else { max_lifetime },
        renewable: renewable && !batch,
        token_type: token_type.as_str(),
        num_uses: fields.token_num_uses.unwrap_or(0).max(0),
        bound_cidrs: fields.token_bound_cidrs.clone(),
        round_values,
    }
}
