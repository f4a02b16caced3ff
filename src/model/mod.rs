//! The snapshot model: the versioned JSON form of a Vault/OpenBao estate.
//!
//! `blastmap export` writes it from a live server; every pass (reach, who-can, findings, diagrams,
//! what-if) reads it. `docs/snapshot.md` documents the format field by field.
//!
//! ```text
//! Snapshot
//! ├── schema_version, blastmap_version, exported_at, server {flavor, version, address}, scope
//! ├── coverage: [CoverageGap]                 what could not be read, and what that leaves unknown
//! └── namespaces: [Namespace]                 flat list; "" = root, "team-a/", "team-a/sub/"
//!     ├── auth_mounts: [AuthMount]            path, type, accessor, tune, config
//!     │   └── roles: AuthRoles                jwt, cel, kubernetes, approle, cert, userpass,
//!     │                                       ldap_groups, ldap_users, token, other
//!     ├── policies: [Policy]                  name, raw text, OpenBao flags
//!     ├── entities: [Entity]                  with their aliases
//!     ├── groups: [Group]                     with the alias of external groups
//!     ├── secret_mounts: [SecretMount]        with `secrets`: listing status, KV keys, role names
//!     └── audit_devices: [AuditDevice]
//! ```
//!
//! Load with [`Snapshot::load`] / [`Snapshot::from_json_str`], write with [`Snapshot::save`], and
//! build a [`SnapshotIndex`] (via [`Snapshot::index`]) for lookups by accessor, id and name.
//! Secret values, role-ids, secret-ids, tokens and key material are never part of the model.

mod audit;
mod auth;
mod cloud;
mod coverage;
pub(crate) mod de;
mod identity;
mod index;
mod load;
mod policy;
mod secrets;
#[cfg(test)]
mod tests;
mod validate;

pub use audit::AuditDevice;
pub use auth::{
    strip_sensitive_config, AppRoleRole, AuthMount, AuthRoles, CelRole, CertRole, JwtRole,
    KubernetesRole, LdapGroup, LdapUser, MountTune, OtherRole, RoleKind, RoleRef, TokenFields,
    TokenRole, UserpassUser, SENSITIVE_CONFIG_FIELDS,
};
pub use cloud::{AwsRole, AzureRole, CloudRoleError, GcpRole, GithubMapKind, GithubMapping};
pub use coverage::{same_mount, Affects, CoverageGap};
pub use identity::{Entity, EntityAlias, Group, GroupAlias, GroupType, REDACTED_ROLE_ID};
pub use index::{EntityGroups, SnapshotIndex};
pub use load::{SnapshotError, SUPPORTED_SCHEMA_VERSION};
pub use policy::{is_root_policy, normalize_policy_name, sanitize_policies, Policy};
pub use secrets::{
    credential_endpoints, KeyIter, KeyList, Listing, ListingStatus, SecretInventory, SecretKind,
    SecretMount, SecretPath,
};
pub use validate::ValidationIssue;

use de::{null_default, opt_duration};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::BTreeMap;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The system default for `default_lease_ttl` and `max_lease_ttl` when the server config does not
/// set them: 768h (32 days).
pub const SYSTEM_DEFAULT_TTL: i64 = 768 * 3600;

/// A whole exported estate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Snapshot {
    /// The format version; always first in the file. This blastmap reads
    /// [`SUPPORTED_SCHEMA_VERSION`].
    #[serde(deserialize_with = "load::schema_version")]
    // The published schema speaks to readers of the file, not of the code.
    #[schemars(
        description = "The format version; always first in the file. A blastmap reads exactly its own version (docs/snapshot.md, Versioning)."
    )]
    pub schema_version: u32,
    /// The blastmap version that wrote the file.
    pub blastmap_version: String,
    /// When the export finished (RFC3339).
    pub exported_at: Timestamp,
    pub server: ServerInfo,
    /// What the export was asked to cover.
    #[serde(default, skip_serializing_if = "ExportScope::is_default")]
    pub scope: ExportScope,
    /// Every endpoint that could not be read.
    #[serde(default, deserialize_with = "null_default")]
    pub coverage: Vec<CoverageGap>,
    /// Every exported namespace, parents before children.
    pub namespaces: Vec<Namespace>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An RFC3339 time, written in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub OffsetDateTime);

impl Timestamp {
    pub fn now() -> Timestamp {
        Timestamp(OffsetDateTime::now_utc())
    }

    /// Parse an RFC3339 time.
    pub fn parse(s: &str) -> Result<Timestamp, TimestampError> {
        OffsetDateTime::parse(s, &Rfc3339)
            .map(Timestamp)
            .map_err(|reason| TimestampError {
                text: s.to_string(),
                reason,
            })
    }
}

/// A time that is not RFC3339.
#[derive(Debug, thiserror::Error)]
#[error("invalid RFC3339 time {text:?}: {reason}")]
pub struct TimestampError {
    pub text: String,
    pub reason: time::error::Parse,
}

impl Timestamp {
    /// RFC3339 text in UTC; in the parsed offset when UTC would leave the years RFC3339 can
    /// express (`0000-01-01T00:30:00+01:00`).
    fn rfc3339(&self) -> Result<String, time::error::Format> {
        self.0
            .checked_to_offset(time::UtcOffset::UTC)
            .and_then(|utc| utc.format(&Rfc3339).ok())
            .map_or_else(|| self.0.format(&Rfc3339), Ok)
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.rfc3339() {
            Ok(s) => f.write_str(&s),
            Err(_) => write!(f, "{}", self.0.unix_timestamp()),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = self.rfc3339().map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }
}

// Written as RFC 3339 text (see the `Serialize` impl above).
impl schemars::JsonSchema for Timestamp {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Timestamp".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "format": "date-time"})
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Cow::<'de, str>::deserialize(d)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The server flavour: it decides the ACL semantics (LIST fallback order, capability set, root
/// policy scope, identity-template blocking).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, schemars::JsonSchema,
)]
pub enum Flavor {
    #[default]
    #[serde(rename = "openbao")]
    OpenBao,
    #[serde(rename = "vault")]
    Vault,
}

impl Flavor {
    pub fn as_str(self) -> &'static str {
        match self {
            Flavor::OpenBao => "openbao",
            Flavor::Vault => "vault",
        }
    }
}

/// Facts about the exported server. Never credentials.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ServerInfo {
    pub flavor: Flavor,
    /// The server version (`sys/seal-status` → `version`), e.g. `2.7.2`.
    pub version: String,
    /// The address the export talked to (scheme, host, port; never user info or tokens).
    pub address: String,
    /// System default lease TTL in seconds, when known (else 768h is assumed).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_duration"
    )]
    pub default_lease_ttl: Option<i64>,
    /// System max lease TTL in seconds, when known (else 768h is assumed).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_duration"
    )]
    pub max_lease_ttl: Option<i64>,
    /// `within_namespace_hierarchy` (the default when absent) or `any`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_policy_application_mode: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ServerInfo {
    /// The system default TTL (seconds), 768h unless the export recorded another value.
    pub fn system_default_ttl(&self) -> i64 {
        self.default_lease_ttl
            .filter(|t| *t > 0)
            .unwrap_or(SYSTEM_DEFAULT_TTL)
    }

    /// The system max TTL (seconds), 768h unless the export recorded another value.
    pub fn system_max_ttl(&self) -> i64 {
        self.max_lease_ttl
            .filter(|t| *t > 0)
            .unwrap_or(SYSTEM_DEFAULT_TTL)
    }
}

/// Remove user info, query and fragment from a server address (`https://u:p@h:8200/?x` →
/// `https://h:8200/`), so that only scheme, host, port and path are ever stored.
pub fn redact_address(address: &str) -> String {
    let trimmed = address.trim();
    let (scheme, rest) = match trimmed.find("://") {
        Some(i) => (&trimmed[..i + 3], &trimmed[i + 3..]),
        None => ("", trimmed),
    };
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let host = match authority.rfind('@') {
        Some(i) => &authority[i + 1..],
        None => authority,
    };
    format!("{scheme}{host}{path}")
}

/// What the export was asked to cover.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ExportScope {
    /// The namespace the export started from (`""` = root); only it and its descendants are in
    /// the snapshot.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// KV listing depth limit, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_max_depth: Option<u32>,
    /// KV listing key-count limit, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_max_keys: Option<u64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ExportScope {
    fn is_default(&self) -> bool {
        *self == ExportScope::default()
    }
}

/// One namespace and everything defined in it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Namespace {
    /// The full path: `""` for the root namespace, else with a trailing `/` (`"team-a/"`,
    /// `"team-a/sub/"`).
    pub path: String,
    /// `"root"` for the root namespace, else the server's namespace id.
    pub id: String,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "null_default"
    )]
    pub custom_metadata: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "null_default")]
    pub auth_mounts: Vec<AuthMount>,
    #[serde(default, deserialize_with = "null_default")]
    pub policies: Vec<Policy>,
    #[serde(default, deserialize_with = "null_default")]
    pub entities: Vec<Entity>,
    #[serde(default, deserialize_with = "null_default")]
    pub groups: Vec<Group>,
    #[serde(default, deserialize_with = "null_default")]
    pub secret_mounts: Vec<SecretMount>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_default"
    )]
    pub audit_devices: Vec<AuditDevice>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Normalise a namespace path, the one normalisation of the code base (snapshots, inventories,
/// command lines, the exporter): surrounding white space and `/` dropped, then one trailing `/`
/// unless root; `""`, `"/"` and `"root"` are the root namespace.
pub fn namespace_path(path: &str) -> Cow<'_, str> {
    let bare = path.trim().trim_matches('/');
    if bare.is_empty() || bare == "root" {
        return Cow::Borrowed("");
    }
    let with_slash = path.trim().trim_start_matches('/');
    if with_slash.len() == bare.len() + 1 {
        Cow::Borrowed(with_slash)
    } else {
        Cow::Owned(format!("{bare}/"))
    }
}

/// The parent of a namespace path (`"a/b/"` → `"a/"`, `"a/"` → `""`); `None` for the root.
pub fn parent_namespace_path(path: &str) -> Option<String> {
    let normalised = namespace_path(path);
    if normalised.is_empty() {
        return None;
    }
    let trimmed = normalised.trim_end_matches('/');
    Some(match trimmed.rfind('/') {
        Some(i) => trimmed[..=i].to_owned(),
        None => String::new(),
    })
}

/// Normalise a mount path for comparison: no `auth/` prefix when `auth` is set, no leading or
/// trailing `/`.
fn mount_key(path: &str, auth: bool) -> &str {
    let trimmed = path.trim_matches('/');
    if auth {
        trimmed.strip_prefix("auth/").unwrap_or(trimmed)
    } else {
        trimmed
    }
}

impl Namespace {
    /// A namespace with just a path and an id.
    pub fn new(path: &str, id: impl Into<String>) -> Namespace {
        Namespace {
            path: namespace_path(path).into_owned(),
            id: id.into(),
            ..Namespace::default()
        }
    }

    pub fn is_root(&self) -> bool {
        namespace_path(&self.path).is_empty()
    }

    /// The parent namespace path, `None` for the root.
    pub fn parent_path(&self) -> Option<String> {
        parent_namespace_path(&self.path)
    }

    /// Nesting depth: 0 for the root, 1 for `team-a/`, …
    pub fn depth(&self) -> usize {
        namespace_path(&self.path).matches('/').count()
    }

    /// True when `self` is `other` or below it (a path-prefix test, as the server's `HasParent`).
    pub fn is_within(&self, other: &str) -> bool {
        namespace_path(&self.path).starts_with(namespace_path(other).as_ref())
    }

    /// A policy by name, with the policy store's case-insensitivity. `root` is never stored.
    pub fn policy(&self, name: &str) -> Option<&Policy> {
        let key = normalize_policy_name(name);
        self.policies
            .iter()
            .find(|p| p.name == key)
            .or_else(|| self.policies.iter().find(|p| p.key() == key))
    }

    /// An auth mount by path (`"gha"`, `"gha/"` or `"auth/gha/"`).
    pub fn auth_mount(&self, path: &str) -> Option<&AuthMount> {
        let key = mount_key(path, true);
        self.auth_mounts
            .iter()
            .find(|m| mount_key(&m.path, true) == key)
    }

    /// An auth mount by accessor.
    pub fn auth_mount_by_accessor(&self, accessor: &str) -> Option<&AuthMount> {
        self.auth_mounts.iter().find(|m| m.accessor == accessor)
    }

    /// A secret mount by path (`"secret"` or `"secret/"`).
    pub fn secret_mount(&self, path: &str) -> Option<&SecretMount> {
        let key = mount_key(path, false);
        self.secret_mounts
            .iter()
            .find(|m| mount_key(&m.path, false) == key)
    }

    /// The secret mount an API path (relative to this namespace) falls in: the longest mount
    /// path that is a prefix of it at a segment boundary.
    pub fn secret_mount_for_path(&self, api_path: &str) -> Option<&SecretMount> {
        let path = api_path.trim_start_matches('/');
        self.secret_mounts
            .iter()
            .filter(|m| {
                let name = m.name();
                !name.is_empty()
                    && path.starts_with(name)
                    && (path.len() == name.len() || path.as_bytes()[name.len()] == b'/')
            })
            .max_by_key(|m| m.name().len())
    }

    /// An entity by id.
    pub fn entity(&self, id: &str) -> Option<&Entity> {
        self.entities.iter().find(|e| e.id == id)
    }

    /// An entity by name (exact).
    pub fn entity_by_name(&self, name: &str) -> Option<&Entity> {
        self.entities.iter().find(|e| e.name == name)
    }

    /// A group by id.
    pub fn group(&self, id: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.id == id)
    }

    /// A group by name (exact, then case-insensitive).
    pub fn group_by_name(&self, name: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.name == name).or_else(|| {
            self.groups
                .iter()
                .find(|g| g.name.eq_ignore_ascii_case(name))
        })
    }
}

impl Snapshot {
    /// An empty snapshot of a server, written now by this blastmap, with the root namespace.
    pub fn new(server: ServerInfo) -> Snapshot {
        Snapshot {
            schema_version: SUPPORTED_SCHEMA_VERSION,
            blastmap_version: env!("CARGO_PKG_VERSION").to_owned(),
            exported_at: Timestamp::now(),
            server,
            scope: ExportScope::default(),
            coverage: Vec::new(),
            namespaces: vec![Namespace::new("", "root")],
            extra: Map::new(),
        }
    }

    /// The server flavour (decides the ACL semantics).
    pub fn flavor(&self) -> Flavor {
        self.server.flavor
    }

    /// A policy by namespace path and name (case-insensitive, as the policy store looks names
    /// up), with its namespace. For many lookups build a [`SnapshotIndex`].
    pub fn policy(&self, namespace: &str, name: &str) -> Option<(&Namespace, &Policy)> {
        let ns = self.namespace(namespace)?;
        ns.policy(name).map(|p| (ns, p))
    }

    /// A namespace by path (`""`, `"root"`, `"team-a"`, `"team-a/"` …).
    pub fn namespace(&self, path: &str) -> Option<&Namespace> {
        let wanted = namespace_path(path);
        self.namespaces
            .iter()
            .find(|n| namespace_path(&n.path) == wanted)
    }

    /// A namespace by path, mutably.
    pub fn namespace_mut(&mut self, path: &str) -> Option<&mut Namespace> {
        let wanted = namespace_path(path).into_owned();
        self.namespaces
            .iter_mut()
            .find(|n| namespace_path(&n.path) == wanted.as_str())
    }

    /// A namespace by id (`"root"` for the root namespace).
    pub fn namespace_by_id(&self, id: &str) -> Option<&Namespace> {
        self.namespaces.iter().find(|n| n.id == id)
    }

    /// The root namespace, if it was exported.
    pub fn root(&self) -> Option<&Namespace> {
        self.namespace("")
    }

    /// The direct children of a namespace.
    pub fn children<'a>(&'a self, path: &str) -> impl Iterator<Item = &'a Namespace> + 'a {
        let parent = namespace_path(path).into_owned();
        self.namespaces
            .iter()
            .filter(move |n| n.parent_path().as_deref() == Some(parent.as_str()))
    }

    /// The coverage gaps that leave something about `affects` unknown in `namespace` (for the
    /// mount with API prefix `mount`, e.g. `auth/ldap/` or `secret/`, when given). See
    /// [`CoverageGap::concerns`].
    pub fn gaps<'a>(
        &'a self,
        namespace: &str,
        affects: &Affects,
        mount: Option<&str>,
    ) -> Vec<&'a CoverageGap> {
        self.coverage
            .iter()
            .filter(|g| g.concerns(namespace, affects, mount))
            .collect()
    }

    /// Every gap recorded in (or above, for namespace listing) a namespace.
    pub fn gaps_in_namespace<'a>(&'a self, namespace: &str) -> Vec<&'a CoverageGap> {
        let wanted = namespace_path(namespace).into_owned();
        self.coverage
            .iter()
            .filter(|g| {
                let gap_ns = namespace_path(&g.namespace);
                gap_ns == wanted.as_str()
                    || (g.affects == Affects::Namespaces
                        && wanted.len() > gap_ns.len()
                        && wanted.starts_with(gap_ns.as_ref()))
            })
            .collect()
    }

    /// True when nothing about `affects` in `namespace` (and `mount`) is unknown.
    pub fn is_known(&self, namespace: &str, affects: &Affects, mount: Option<&str>) -> bool {
        !self
            .coverage
            .iter()
            .any(|g| g.concerns(namespace, affects, mount))
    }

    /// True when the inventory of this secret mount is complete and no gap concerns it.
    pub fn secrets_known(&self, namespace: &str, mount: &SecretMount) -> bool {
        mount.secrets.is_complete()
            && self.is_known(namespace, &Affects::Secrets, Some(&mount.api_prefix()))
    }

    /// Build the lookup index.
    pub fn index(&self) -> SnapshotIndex<'_> {
        SnapshotIndex::new(self)
    }

    /// Number of inventory entries (KV keys and dynamic names) over all mounts.
    pub fn secret_count(&self) -> usize {
        self.namespaces
            .iter()
            .flat_map(|n| n.secret_mounts.iter())
            .map(|m| m.secrets.len())
            .sum()
    }
}
