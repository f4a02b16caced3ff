//! Coverage: what the export could not read, so later passes answer "unknown", not "no access".

use super::de::open_string_enum;
use super::namespace_path;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

open_string_enum! {
    /// Which part of the model an unreadable endpoint leaves unknown.
    pub enum Affects {
        /// Child namespaces of `namespace` (and so everything inside them).
        Namespaces => "namespaces",
        /// The auth mounts of the namespace (and so all their roles and configs).
        AuthMounts => "auth_mounts",
        /// The config of one auth mount (`mount`).
        AuthConfig => "auth_config",
        /// Roles, users, groups or certificate entries of one auth mount (or of all, if `mount`
        /// is absent); token roles are the roles of `auth/token/`.
        Roles => "roles",
        /// ACL policies of the namespace (one, if `object` is set).
        Policies => "policies",
        /// Identity entities or entity aliases.
        Entities => "entities",
        /// Identity groups or group aliases.
        Groups => "groups",
        /// The secret mounts of the namespace (and so their inventories).
        SecretMounts => "secret_mounts",
        /// The inventory of one secret mount (or of all, if `mount` is absent).
        Secrets => "secrets",
        /// Audit devices.
        AuditDevices => "audit_devices",
        /// Server facts (version, flavour, system TTLs).
        Server => "server",
    }
}

impl Affects {
    /// Whether a gap about `self` leaves `other` unknown too (in the same namespace).
    pub fn implies(&self, other: &Affects) -> bool {
        if self == other {
            return true;
        }
        matches!(
            (self, other),
            (Affects::AuthMounts, Affects::AuthConfig)
                | (Affects::AuthMounts, Affects::Roles)
                | (Affects::SecretMounts, Affects::Secrets)
        )
    }

    /// Whether gaps of this kind are about one mount when `mount` is set.
    pub fn is_per_mount(&self) -> bool {
        matches!(
            self,
            Affects::AuthConfig | Affects::Roles | Affects::Secrets
        )
    }
}

/// One endpoint the export could not read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CoverageGap {
    /// The namespace path the request was made in (`""` = root, `"team-a/"`).
    pub namespace: String,
    /// The API path relative to that namespace, without `/v1/` (`auth/ldap/groups`,
    /// `secret/metadata/payments/`).
    pub endpoint: String,
    /// `read`, `list` or `scan`.
    pub operation: String,
    /// The HTTP status, or `null` when there was no HTTP answer (timeout, connection error) or
    /// the endpoint was skipped on purpose.
    #[serde(default)]
    pub status: Option<u16>,
    /// The server's error or the exporter's reason, for people.
    pub reason: String,
    /// Which part of the model is left unknown.
    pub affects: Affects,
    /// The mount concerned, as the API prefix relative to the namespace: `auth/ldap/` for an
    /// auth mount, `secret/` for a secret mount. Absent when the gap is namespace-wide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount: Option<String>,
    /// The single object concerned (role name, policy name, entity id …), when only one read
    /// failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl CoverageGap {
    /// A gap with the required fields.
    pub fn new(
        namespace: impl Into<String>,
        endpoint: impl Into<String>,
        operation: impl Into<String>,
        status: Option<u16>,
        reason: impl Into<String>,
        affects: Affects,
    ) -> CoverageGap {
        CoverageGap {
            namespace: namespace.into(),
            endpoint: endpoint.into(),
            operation: operation.into(),
            status,
            reason: reason.into(),
            affects,
            mount: None,
            object: None,
            extra: Map::new(),
        }
    }

    /// Set the mount (API prefix, e.g. `auth/ldap/`).
    pub fn with_mount(mut self, mount: impl Into<String>) -> CoverageGap {
        self.mount = Some(mount.into());
        self
    }

    /// Set the single object concerned.
    pub fn with_object(mut self, object: impl Into<String>) -> CoverageGap {
        self.object = Some(object.into());
        self
    }

    /// Does this gap leave something unknown about `affects` in `namespace` (restricted to the
    /// mount with API prefix `mount`, when given)?
    ///
    /// * Same namespace, and this gap's kind is or implies `affects` (`auth_mounts` implies
    ///   `roles` and `auth_config`; `secret_mounts` implies `secrets`).
    /// * A namespace-wide gap (no `mount`) concerns every mount; a per-mount gap concerns only
    ///   its mount.
    /// * A `namespaces` gap in `P` concerns everything in every namespace below `P`.
    pub fn concerns(&self, namespace: &str, affects: &Affects, mount: Option<&str>) -> bool {
        let gap_ns = namespace_path(&self.namespace);
        let q_ns = namespace_path(namespace);
        if self.affects == Affects::Namespaces
            && q_ns.len() > gap_ns.len()
            && q_ns.starts_with(gap_ns.as_ref())
        {
            return true;
        }
        if gap_ns != q_ns || !self.affects.implies(affects) {
            return false;
        }
        match (&self.mount, mount) {
            (Some(g), Some(q)) if self.affects.is_per_mount() || self.affects == *affects => {
                same_mount(g, q)
            }
            _ => true,
        }
    }
}

/// Compare two mount API prefixes ignoring leading and trailing slashes.
pub fn same_mount(a: &str, b: &str) -> bool {
    a.trim_matches('/') == b.trim_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gap(ns: &str, affects: Affects, mount: Option<&str>) -> CoverageGap {
        let made = CoverageGap::new(ns, "x", "list", Some(403), "permission denied", affects);
        match mount {
            Some(m) => made.with_mount(m),
            None => made,
        }
    }

    #[test]
    fn per_mount_gap() {
        let ldap_gap = gap("", Affects::Roles, Some("auth/ldap/"));
        assert!(ldap_gap.concerns("", &Affects::Roles, Some("auth/ldap")));
        assert!(ldap_gap.concerns("", &Affects::Roles, None));
        assert!(!ldap_gap.concerns("", &Affects::Roles, Some("auth/gha/")));
        assert!(!ldap_gap.concerns("", &Affects::Policies, None));
        assert!(!ldap_gap.concerns("team-a/", &Affects::Roles, Some("auth/ldap/")));
    }

    #[test]
    fn namespace_wide_and_implied() {
        let mounts_gap = gap("team-a", Affects::AuthMounts, None);
        assert!(mounts_gap.concerns("team-a/", &Affects::Roles, Some("auth/gha/")));
        assert!(mounts_gap.concerns("team-a/", &Affects::AuthConfig, None));
        assert!(!mounts_gap.concerns("team-a/", &Affects::Secrets, None));
        let secrets_gap = gap("", Affects::SecretMounts, None);
        assert!(secrets_gap.concerns("", &Affects::Secrets, Some("secret/")));
    }

    #[test]
    fn namespace_listing_gap_covers_descendants() {
        let listing_gap = gap("team-a/", Affects::Namespaces, None);
        assert!(listing_gap.concerns("team-a/sub/", &Affects::Policies, None));
        assert!(listing_gap.concerns("team-a/", &Affects::Namespaces, None));
        assert!(!listing_gap.concerns("team-a/", &Affects::Policies, None));
        assert!(!listing_gap.concerns("team-b/", &Affects::Policies, None));
        let root = gap("", Affects::Namespaces, None);
        assert!(root.concerns("x/", &Affects::Secrets, None));
    }

    #[test]
    fn unknown_affects_round_trips() {
        let parsed: CoverageGap = serde_json::from_str(
            r#"{"namespace":"","endpoint":"sys/mfa","operation":"read","status":null,
                "reason":"x","affects":"mfa_methods","retries":3}"#,
        )
        .unwrap();
        assert_eq!(parsed.affects, Affects::Other("mfa_methods".into()));
        assert_eq!(parsed.extra["retries"], 3);
        let json = serde_json::to_string(&parsed).unwrap();
        assert!(json.contains(r#""affects":"mfa_methods""#) && json.contains(r#""retries":3"#));
        assert!(parsed.concerns("", &Affects::Other("mfa_methods".into()), None));
    }
}
