//! Auth mounts and their roles (the "who can log in, and with which token" half of the estate).
//!
//! Field names are the Vault/OpenBao API's own, so the exporter maps read responses 1:1. Every
//! struct keeps the fields it does not know in `extra`, so nothing the server returned is lost.

use super::de::{self, is_false, map_is_empty, null_default, opt_bool, opt_duration, string_list};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Tuning of a mount: `sys/auth` and `sys/mounts` return it as the mount's `config` object.
/// Durations are seconds; `0` (or absent) means "use the system default".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MountTune {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_duration"
    )]
    pub default_lease_ttl: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_duration"
    )]
    pub max_lease_ttl: Option<i64>,
    /// Auth mounts only: `default-service`, `default-batch`, `service`, `batch`, `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// Everything else the tune returned (`force_no_cache`, `listing_visibility`,
    /// `audit_non_hmac_request_keys`, `passthrough_request_headers`, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl MountTune {
    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.default_lease_ttl.is_none()
            && self.max_lease_ttl.is_none()
            && self.token_type.is_none()
            && self.extra.is_empty()
    }
}

/// An auth method mount, as listed by `sys/auth` in its namespace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AuthMount {
    /// The mount path as `sys/auth` lists it: without the `auth/` prefix, with the trailing `/`
    /// (`"gha/"`, `"token/"`, `"team/jwt/"`). The login endpoint is `auth/<path>login`.
    pub path: String,
    /// The method type (`jwt`, `oidc`, `kubernetes`, `approle`, `cert`, `userpass`, `ldap`,
    /// `token`, or anything else).
    #[serde(rename = "type")]
    pub mount_type: String,
    /// The mount accessor (`auth_jwt_1234abcd`); entity and group aliases refer to it.
    pub accessor: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub local: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub seal_wrap: bool,
    /// Mount options (`sys/auth` → `options`), usually empty for auth methods.
    #[serde(
        default,
        skip_serializing_if = "map_is_empty",
        deserialize_with = "null_default"
    )]
    pub options: Map<String, Value>,
    /// The tuned TTLs and token type (`sys/auth` → `config`).
    #[serde(default, skip_serializing_if = "MountTune::is_empty")]
    pub tune: MountTune,
    /// The method's own configuration (`auth/<path>config`), restricted to what matters for
    /// admission: `bound_issuer`, `default_role`, `oidc_discovery_url`, `jwks_url`,
    /// `jwt_supported_algs`, `kubernetes_host`, `disable_iss_validation`, LDAP `url`/`userdn`/
    /// `groupdn`, token defaults, … Never key material (see [`SENSITIVE_CONFIG_FIELDS`]).
    /// `None` when the method has no config endpoint or it was not read (see coverage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Map<String, Value>>,
    /// The roles (users, groups, certificate entries …) defined on this mount.
    #[serde(default, skip_serializing_if = "AuthRoles::is_empty")]
    pub roles: AuthRoles,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Auth-config fields that hold secrets or key material. The exporter removes them with
/// [`strip_sensitive_config`]; a snapshot must never contain them.
pub const SENSITIVE_CONFIG_FIELDS: &[&str] = &[
    "oidc_client_secret",
    "token_reviewer_jwt",
    "bindpass",
    "client_key",
    "private_key",
    "secret_key",
    "password",
    "client_secret",
];

/// Remove every field of [`SENSITIVE_CONFIG_FIELDS`] from an auth config object, returning the
/// names removed.
pub fn strip_sensitive_config(config: &mut Map<String, Value>) -> Vec<String> {
    let mut removed = Vec::new();
    for f in SENSITIVE_CONFIG_FIELDS {
        if config.shift_remove(*f).is_some() {
            removed.push((*f).to_owned());
        }
    }
    removed
}

impl AuthMount {
    /// The path without its trailing `/` (`"gha"`).
    pub fn name(&self) -> &str {
        self.path.trim_end_matches('/')
    }

    /// The API prefix of this mount relative to its namespace: `"auth/gha/"`.
    pub fn api_prefix(&self) -> String {
        format!("auth/{}/", self.name())
    }

    /// A string field of the auth config (`config_str("bound_issuer")`); empty strings are `None`.
    pub fn config_str(&self, key: &str) -> Option<&str> {
        self.config
            .as_ref()?
            .get(key)?
            .as_str()
            .filter(|s| !s.is_empty())
    }

    /// Every role of the mount, whatever its kind.
    pub fn roles(&self) -> impl Iterator<Item = RoleRef<'_>> + '_ {
        self.roles.iter()
    }

    /// A role by kind-independent name (exact match first, then case-insensitive: JWT role names
    /// are lowercased by the server).
    pub fn role(&self, name: &str) -> Option<RoleRef<'_>> {
        self.roles()
            .find(|r| r.name() == name)
            .or_else(|| self.roles().find(|r| r.name().eq_ignore_ascii_case(name)))
    }

    /// The system-independent default TTL of tokens issued here, if tuned (non-zero).
    pub fn tuned_default_ttl(&self) -> Option<i64> {
        self.tune.default_lease_ttl.filter(|t| *t > 0)
    }

    /// The tuned maximum TTL, if tuned (non-zero).
    pub fn tuned_max_ttl(&self) -> Option<i64> {
        self.tune.max_lease_ttl.filter(|t| *t > 0)
    }
}

/// The token settings shared by every role kind (sdk/helper/tokenutil), flattened into the role's
/// JSON object. Absent fields stay absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TokenFields {
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "tf::token_policies"
    )]
    pub token_policies: Vec<String>,
    /// Legacy alias of `token_policies` (also the only policy field of LDAP groups and users).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "tf::policies"
    )]
    pub policies: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "tf::token_ttl"
    )]
    pub token_ttl: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "tf::token_max_ttl"
    )]
    pub token_max_ttl: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "tf::token_explicit_max_ttl"
    )]
    pub token_explicit_max_ttl: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "tf::token_period"
    )]
    pub token_period: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "tf::token_no_default_policy"
    )]
    pub token_no_default_policy: Option<bool>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "tf::token_num_uses"
    )]
    pub token_num_uses: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "tf::token_type"
    )]
    pub token_type: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "tf::token_bound_cidrs"
    )]
    pub token_bound_cidrs: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "tf::token_strictly_bind_ip"
    )]
    pub token_strictly_bind_ip: Option<bool>,
}

/// Deserializers for the token fields that name the field in their errors: the fields are
/// flattened into the role object, where the error's JSON path can only name the role.
mod tf {
    use super::de::{opt_bool, opt_duration, string_list};
    use serde::{Deserialize, Deserializer};

    macro_rules! named {
        ($($f:ident: $ty:ty = $inner:expr;)*) => {$(
            pub(super) fn $f<'de, D: Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
                $inner(d).map_err(|e: D::Error| {
                    serde::de::Error::custom(format_args!("field `{}`: {}", stringify!($f), e))
                })
            }
        )*};
    }

    named! {
        token_policies: Vec<String> = string_list;
        policies: Vec<String> = string_list;
        token_ttl: Option<i64> = opt_duration;
        token_max_ttl: Option<i64> = opt_duration;
        token_explicit_max_ttl: Option<i64> = opt_duration;
        token_period: Option<i64> = opt_duration;
        token_no_default_policy: Option<bool> = opt_bool;
        token_num_uses: Option<i64> = Option::<i64>::deserialize;
        token_type: Option<String> = Option::<String>::deserialize;
        token_bound_cidrs: Vec<String> = string_list;
        token_strictly_bind_ip: Option<bool> = opt_bool;
    }
}

impl TokenFields {
    /// The policy names as configured: `token_policies`, or the legacy `policies` when
    /// `token_policies` is empty (not yet sanitised).
    pub fn configured_policies(&self) -> &[String] {
        if self.token_policies.is_empty() {
            &self.policies
        } else {
            &self.token_policies
        }
    }

    /// The token policies a login through this role gets, as the server computes them:
    /// sanitised (trimmed, lowercased, deduplicated) plus `default` unless
    /// `token_no_default_policy`. Identity policies come on top (see the index).
    pub fn login_policies(&self) -> Vec<String> {
        super::policy::sanitize_policies(
            self.configured_policies(),
            !self.token_no_default_policy.unwrap_or(false),
        )
    }

    /// A non-zero `token_ttl`.
    pub fn ttl(&self) -> Option<i64> {
        self.token_ttl.filter(|t| *t > 0)
    }
    /// A non-zero `token_max_ttl`.
    pub fn max_ttl(&self) -> Option<i64> {
        self.token_max_ttl.filter(|t| *t > 0)
    }
    /// A non-zero `token_explicit_max_ttl`.
    pub fn explicit_max_ttl(&self) -> Option<i64> {
        self.token_explicit_max_ttl.filter(|t| *t > 0)
    }
    /// A non-zero `token_period` (periodic tokens renew forever unless an explicit max is set).
    pub fn period(&self) -> Option<i64> {
        self.token_period.filter(|t| *t > 0)
    }
}

/// A JWT/OIDC role (`auth/<m>/role/<name>` on `jwt` and `oidc` mounts).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct JwtRole {
    /// The role name (the last segment of its path; the read response has no name).
    pub name: String,
    /// `jwt` or `oidc`. Absent means a legacy role, which the server treats as `jwt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_type: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "string_list"
    )]
    pub bound_audiences: Vec<String>,
    /// Exact `sub` required; empty = not bound.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub bound_subject: String,
    /// Claim name (or JSON pointer if it starts with `/`) → expected value: a string, a list of
    /// values (any matches), or another JSON scalar (typed comparison).
    #[serde(
        default,
        skip_serializing_if = "map_is_empty",
        deserialize_with = "null_default"
    )]
    pub bound_claims: Map<String, Value>,
    /// `string` (default) or `glob`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound_claims_type: Option<String>,
    /// The claim whose value becomes the entity alias name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user_claim: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_bool"
    )]
    pub user_claim_json_pointer: Option<bool>,
    /// Claim → alias-metadata key.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "null_default"
    )]
    pub claim_mappings: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub groups_claim: String,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "string_list"
    )]
    pub oidc_scopes: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "string_list"
    )]
    pub allowed_redirect_uris: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_bool"
    )]
    pub verbose_oidc_logging: Option<bool>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_duration"
    )]
    pub max_age: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_duration"
    )]
    pub expiration_leeway: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_duration"
    )]
    pub not_before_leeway: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_duration"
    )]
    pub clock_skew_leeway: Option<i64>,
    /// OpenBao: token policy names are Go templates over the claims.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_bool"
    )]
    pub token_policies_template_claims: Option<bool>,
    #[serde(flatten)]
    pub token: TokenFields,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl JwtRole {
    /// `role_type`, with the server's reading of a missing value (`jwt`).
    pub fn effective_role_type(&self) -> &str {
        self.role_type.as_deref().unwrap_or("jwt")
    }
    /// `bound_claims_type`, default `string`.
    pub fn effective_bound_claims_type(&self) -> &str {
        self.bound_claims_type.as_deref().unwrap_or("string")
    }
    /// True when the role binds nothing a workload must prove (no audience, subject, claims or
    /// CIDRs): anyone the issuer mints a token for (without `aud`) is admitted.
    pub fn is_unconstrained(&self) -> bool {
        self.bound_audiences.is_empty()
            && self.bound_subject.is_empty()
            && self.bound_claims.is_empty()
            && self.token.token_bound_cidrs.is_empty()
    }
}

/// An OpenBao CEL role (`auth/<m>/cel/role/<name>`): admission and policies come from a program.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CelRole {
    pub name: String,
    /// The CEL program (`{"variables": [...], "expression": "..."}`), kept as the server returns it.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub cel_program: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_policy: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "string_list"
    )]
    pub bound_audiences: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_duration"
    )]
    pub expiration_leeway: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_duration"
    )]
    pub not_before_leeway: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_duration"
    )]
    pub clock_skew_leeway: Option<i64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A Kubernetes auth role (`auth/<m>/role/<name>` on `kubernetes` mounts).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct KubernetesRole {
    pub name: String,
    /// Service account names (go-glob patterns; `["*"]` = any).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "string_list"
    )]
    pub bound_service_account_names: Vec<String>,
    /// Namespaces (go-glob patterns; `["*"]` = any).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "string_list"
    )]
    pub bound_service_account_namespaces: Vec<String>,
    /// A label selector (JSON or YAML), OR'ed with the namespace list.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub bound_service_account_namespace_selector: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub audience: String,
    /// `serviceaccount_uid` (default) or `serviceaccount_name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias_name_source: Option<String>,
    #[serde(flatten)]
    pub token: TokenFields,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An AppRole role (`auth/<m>/role/<name>`). The role-id and secret-ids are never exported.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AppRoleRole {
    pub name: String,
    /// Absent means the server default, `true`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_bool"
    )]
    pub bind_secret_id: Option<bool>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "string_list"
    )]
    pub secret_id_bound_cidrs: Vec<String>,
    /// 0 = unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_id_num_uses: Option<i64>,
    /// Seconds; 0 = never expires.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_duration"
    )]
    pub secret_id_ttl: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_bool"
    )]
    pub local_secret_ids: Option<bool>,
    #[serde(flatten)]
    pub token: TokenFields,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AppRoleRole {
    /// Whether login needs a secret-id (server default `true`).
    pub fn binds_secret_id(&self) -> bool {
        self.bind_secret_id.unwrap_or(true)
    }
}

/// A TLS certificate auth entry (`auth/<m>/certs/<name>`). Every constraint list is any-of with
/// go-glob patterns; an empty list is unconstrained.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CertRole {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub display_name: String,
    /// The trusted CA or pinned leaf certificate (PEM, public); the exporter may omit it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "string_list"
    )]
    pub allowed_names: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "string_list"
    )]
    pub allowed_common_names: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "string_list"
    )]
    pub allowed_dns_sans: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "string_list"
    )]
    pub allowed_email_sans: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "string_list"
    )]
    pub allowed_uri_sans: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "string_list"
    )]
    pub allowed_organizational_units: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "string_list"
    )]
    pub required_extensions: Vec<String>,
    #[serde(flatten)]
    pub token: TokenFields,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl CertRole {
    /// True when the entry constrains nothing beyond the certificate chain.
    pub fn has_no_name_constraints(&self) -> bool {
        self.allowed_names.is_empty()
            && self.allowed_common_names.is_empty()
            && self.allowed_dns_sans.is_empty()
            && self.allowed_email_sans.is_empty()
            && self.allowed_uri_sans.is_empty()
            && self.allowed_organizational_units.is_empty()
            && self.required_extensions.is_empty()
    }
}

/// A userpass user (`auth/<m>/users/<name>`); the password is never exported.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UserpassUser {
    pub name: String,
    #[serde(flatten)]
    pub token: TokenFields,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An LDAP group mapping (`auth/<m>/groups/<name>`): its `policies` (in `token.policies`) apply to
/// every LDAP user in that directory group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LdapGroup {
    pub name: String,
    #[serde(flatten)]
    pub token: TokenFields,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An LDAP user mapping (`auth/<m>/users/<name>`): extra policies and local group names.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LdapUser {
    pub name: String,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "string_list"
    )]
    pub groups: Vec<String>,
    #[serde(flatten)]
    pub token: TokenFields,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A token role (`auth/token/roles/<name>`): what `auth/token/create/<name>` may mint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TokenRole {
    pub name: String,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "string_list"
    )]
    pub allowed_policies: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "string_list"
    )]
    pub disallowed_policies: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "string_list"
    )]
    pub allowed_policies_glob: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "string_list"
    )]
    pub disallowed_policies_glob: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "string_list"
    )]
    pub allowed_entity_aliases: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_bool"
    )]
    pub orphan: Option<bool>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_bool"
    )]
    pub renewable: Option<bool>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path_suffix: String,
    #[serde(flatten)]
    pub token: TokenFields,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A role-like object of a mount type blastmap does not model (github, aws, kerberos, radius …),
/// kept as the raw JSON object. `token_*` fields are still available through `token`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OtherRole {
    /// The listed collection, relative to the mount (`"role"`, `"map/teams"`, `"groups"`).
    pub collection: String,
    pub name: String,
    #[serde(flatten)]
    pub token: TokenFields,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The roles of one auth mount, one list per kind. Only the lists that apply to the mount's type
/// are filled; absent lists are empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AuthRoles {
    /// `role/` on `jwt` and `oidc` mounts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jwt: Vec<JwtRole>,
    /// `cel/role/` on `jwt` and `oidc` mounts (OpenBao 2.3+).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cel: Vec<CelRole>,
    /// `role/` on `kubernetes` mounts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kubernetes: Vec<KubernetesRole>,
    /// `role/` on `approle` mounts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approle: Vec<AppRoleRole>,
    /// `certs/` on `cert` mounts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cert: Vec<CertRole>,
    /// `users/` on `userpass` mounts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub userpass: Vec<UserpassUser>,
    /// `groups/` on `ldap` mounts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ldap_groups: Vec<LdapGroup>,
    /// `users/` on `ldap` mounts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ldap_users: Vec<LdapUser>,
    /// `roles/` on the `token` mount.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub token: Vec<TokenRole>,
    /// Anything on other mount types, as raw objects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other: Vec<OtherRole>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AuthRoles {
    pub fn is_empty(&self) -> bool {
        self.len() == 0 && self.extra.is_empty()
    }

    /// Number of roles of every kind.
    pub fn len(&self) -> usize {
        self.jwt.len()
            + self.cel.len()
            + self.kubernetes.len()
            + self.approle.len()
            + self.cert.len()
            + self.userpass.len()
            + self.ldap_groups.len()
            + self.ldap_users.len()
            + self.token.len()
            + self.other.len()
    }

    /// Every role, kind by kind in the order of the fields.
    pub fn iter(&self) -> impl Iterator<Item = RoleRef<'_>> + '_ {
        self.jwt
            .iter()
            .map(RoleRef::Jwt)
            .chain(self.cel.iter().map(RoleRef::Cel))
            .chain(self.kubernetes.iter().map(RoleRef::Kubernetes))
            .chain(self.approle.iter().map(RoleRef::AppRole))
            .chain(self.cert.iter().map(RoleRef::Cert))
            .chain(self.userpass.iter().map(RoleRef::Userpass))
            .chain(self.ldap_groups.iter().map(RoleRef::LdapGroup))
            .chain(self.ldap_users.iter().map(RoleRef::LdapUser))
            .chain(self.token.iter().map(RoleRef::Token))
            .chain(self.other.iter().map(RoleRef::Other))
    }
}

/// The kind of a role, which fixes its API collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RoleKind {
    Jwt,
    Cel,
    Kubernetes,
    AppRole,
    Cert,
    Userpass,
    LdapGroup,
    LdapUser,
    Token,
    Other,
}

impl RoleKind {
    /// The key of this kind in the mount's `roles` object.
    pub fn as_str(self) -> &'static str {
        match self {
            RoleKind::Jwt => "jwt",
            RoleKind::Cel => "cel",
            RoleKind::Kubernetes => "kubernetes",
            RoleKind::AppRole => "approle",
            RoleKind::Cert => "cert",
            RoleKind::Userpass => "userpass",
            RoleKind::LdapGroup => "ldap_groups",
            RoleKind::LdapUser => "ldap_users",
            RoleKind::Token => "token",
            RoleKind::Other => "other",
        }
    }
}

/// A borrowed role of any kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RoleRef<'a> {
    Jwt(&'a JwtRole),
    Cel(&'a CelRole),
    Kubernetes(&'a KubernetesRole),
    AppRole(&'a AppRoleRole),
    Cert(&'a CertRole),
    Userpass(&'a UserpassUser),
    LdapGroup(&'a LdapGroup),
    LdapUser(&'a LdapUser),
    Token(&'a TokenRole),
    Other(&'a OtherRole),
}

impl<'a> RoleRef<'a> {
    pub fn name(&self) -> &'a str {
        match self {
            RoleRef::Jwt(r) => &r.name,
            RoleRef::Cel(r) => &r.name,
            RoleRef::Kubernetes(r) => &r.name,
            RoleRef::AppRole(r) => &r.name,
            RoleRef::Cert(r) => &r.name,
            RoleRef::Userpass(r) => &r.name,
            RoleRef::LdapGroup(r) => &r.name,
            RoleRef::LdapUser(r) => &r.name,
            RoleRef::Token(r) => &r.name,
            RoleRef::Other(r) => &r.name,
        }
    }

    pub fn kind(&self) -> RoleKind {
        match self {
            RoleRef::Jwt(_) => RoleKind::Jwt,
            RoleRef::Cel(_) => RoleKind::Cel,
            RoleRef::Kubernetes(_) => RoleKind::Kubernetes,
            RoleRef::AppRole(_) => RoleKind::AppRole,
            RoleRef::Cert(_) => RoleKind::Cert,
            RoleRef::Userpass(_) => RoleKind::Userpass,
            RoleRef::LdapGroup(_) => RoleKind::LdapGroup,
            RoleRef::LdapUser(_) => RoleKind::LdapUser,
            RoleRef::Token(_) => RoleKind::Token,
            RoleRef::Other(_) => RoleKind::Other,
        }
    }

    /// The token settings; `None` for CEL roles (their policies come from the program).
    pub fn token(&self) -> Option<&'a TokenFields> {
        match self {
            RoleRef::Jwt(r) => Some(&r.token),
            RoleRef::Cel(_) => None,
            RoleRef::Kubernetes(r) => Some(&r.token),
            RoleRef::AppRole(r) => Some(&r.token),
            RoleRef::Cert(r) => Some(&r.token),
            RoleRef::Userpass(r) => Some(&r.token),
            RoleRef::LdapGroup(r) => Some(&r.token),
            RoleRef::LdapUser(r) => Some(&r.token),
            RoleRef::Token(r) => Some(&r.token),
            RoleRef::Other(r) => Some(&r.token),
        }
    }

    /// The unknown fields kept for this role.
    pub fn extra(&self) -> &'a Map<String, Value> {
        match self {
            RoleRef::Jwt(r) => &r.extra,
            RoleRef::Cel(r) => &r.extra,
            RoleRef::Kubernetes(r) => &r.extra,
            RoleRef::AppRole(r) => &r.extra,
            RoleRef::Cert(r) => &r.extra,
            RoleRef::Userpass(r) => &r.extra,
            RoleRef::LdapGroup(r) => &r.extra,
            RoleRef::LdapUser(r) => &r.extra,
            RoleRef::Token(r) => &r.extra,
            RoleRef::Other(r) => &r.extra,
        }
    }

    /// The collection this role is listed in, relative to its mount (`"role"`, `"cel/role"`,
    /// `"certs"`, `"users"`, `"groups"`, `"roles"`).
    pub fn collection(&self) -> &'a str {
        match self {
            RoleRef::Jwt(_) | RoleRef::Kubernetes(_) | RoleRef::AppRole(_) => "role",
            RoleRef::Cel(_) => "cel/role",
            RoleRef::Cert(_) => "certs",
            RoleRef::Userpass(_) | RoleRef::LdapUser(_) => "users",
            RoleRef::LdapGroup(_) => "groups",
            RoleRef::Token(_) => "roles",
            RoleRef::Other(r) => r.collection.trim_matches('/'),
        }
    }

    /// The API path of this role relative to its namespace, given its mount:
    /// `auth/gha/role/deploy`, `auth/token/roles/ci`.
    pub fn api_path(&self, mount: &AuthMount) -> String {
        format!(
            "auth/{}/{}/{}",
            mount.name(),
            self.collection(),
            self.name()
        )
    }
}

/// Mount-option helper: the string value of an option, whatever its JSON type.
pub(crate) fn option_string(options: &Map<String, Value>, key: &str) -> Option<String> {
    match options.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Mount-option helper: a boolean option (`"true"`/`true`).
pub(crate) fn option_bool(options: &Map<String, Value>, key: &str) -> Option<bool> {
    options.get(key).and_then(de::value_as_bool)
}
