//! ACL policies as stored per namespace, and Vault's policy-name rules.

use super::de::opt_bool;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// An ACL policy as `sys/policies/acl/<name>` returns it. The `default` policy is stored like any
/// other (operators can edit it); the virtual `root` policy is never stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Policy {
    /// The policy name as the server returns it (already lowercased by the server).
    pub name: String,
    /// The raw policy text (HCL1 or JSON), exactly as the server returns it.
    pub policy: String,
    /// OpenBao 2.6+: identity-template substitutions may contain `*` and `+`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_bool"
    )]
    pub allow_wildcards_in_identity_templates: Option<bool>,
    /// OpenBao 2.6+: identity-template substitutions may contain `/`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_bool"
    )]
    pub allow_slashes_in_identity_templates: Option<bool>,
    /// OpenBao 2.3+: RFC3339 time after which the policy is deleted on read. The zero time
    /// (`0001-01-01T00:00:00Z`) or absence means "never".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_bool"
    )]
    pub cas_required: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// RFC3339 time of the last modification, if the server reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Policy {
    /// A policy with just a name and text.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Policy {
        Policy {
            name: name.into(),
            policy: text.into(),
            ..Policy::default()
        }
    }

    /// The name as the policy store looks it up (trimmed, lowercased).
    pub fn key(&self) -> String {
        normalize_policy_name(&self.name)
    }

    /// The parsed expiration, `None` when absent, unparsable or the zero time.
    pub fn expiration_time(&self) -> Option<OffsetDateTime> {
        let time = OffsetDateTime::parse(self.expiration.as_deref()?, &Rfc3339).ok()?;
        (time.year() > 1).then_some(time)
    }

    /// True when the policy has an expiration at or before `now` (the server would delete it).
    pub fn is_expired_at(&self, now: OffsetDateTime) -> bool {
        self.expiration_time().is_some_and(|t| t <= now)
    }

    /// Whether identity templates may substitute `*`/`+` (OpenBao 2.6+ blocks them by default).
    pub fn allows_wildcards_in_templates(&self) -> bool {
        self.allow_wildcards_in_identity_templates.unwrap_or(false)
    }

    /// Whether identity templates may substitute `/`.
    pub fn allows_slashes_in_templates(&self) -> bool {
        self.allow_slashes_in_identity_templates.unwrap_or(false)
    }

    /// Whether any path of the text uses identity templating (`{{`), as the server marks it.
    pub fn is_templated(&self) -> bool {
        self.policy.contains("{{")
    }
}

/// The policy store's name normalisation: trim whitespace, lowercase.
pub fn normalize_policy_name(name: &str) -> String {
    name.trim().to_lowercase()
}

/// True for the virtual `root` policy (never stored in a snapshot).
pub fn is_root_policy(name: &str) -> bool {
    name.trim().eq_ignore_ascii_case("root")
}

/// `policyutil.SanitizePolicies`: trim and lowercase every name, drop empty ones and duplicates
/// (first occurrence wins), add `default` when `add_default` and missing, and collapse any list
/// containing `root` to exactly `["root"]`.
pub fn sanitize_policies<S: AsRef<str>>(policies: &[S], add_default: bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(policies.len() + 1);
    for p in policies {
        let name = normalize_policy_name(p.as_ref());
        if name.is_empty() || out.contains(&name) {
            continue;
        }
        if name == "root" {
            return vec!["root".to_owned()];
        }
        out.push(name);
    }
    if add_default && !out.iter().any(|p| p == "default") {
        out.push("default".to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_like_policyutil() {
        assert_eq!(
            sanitize_policies(&["  Deploy ", "deploy", "", "ci"], true),
            ["deploy", "ci", "default"]
        );
        assert_eq!(sanitize_policies(&["a", "ROOT"], true), ["root"]);
        assert_eq!(sanitize_policies(&["default", "a"], true), ["default", "a"]);
        assert_eq!(sanitize_policies::<&str>(&[], false), Vec::<String>::new());
    }

    #[test]
    fn expiration_parsing() {
        let mut policy = Policy::new("x", "");
        assert!(policy.expiration_time().is_none());
        policy.expiration = Some("0001-01-01T00:00:00Z".into());
        assert!(policy.expiration_time().is_none());
        policy.expiration = Some("2026-01-01T00:00:00Z".into());
        let now = OffsetDateTime::parse("2026-06-01T00:00:00Z", &Rfc3339).unwrap();
        assert!(policy.is_expired_at(now));
        policy.expiration = Some("not a time".into());
        assert!(!policy.is_expired_at(now));
    }

    #[test]
    fn root_and_names() {
        assert!(is_root_policy(" Root "));
        assert!(!is_root_policy("rooted"));
        assert_eq!(normalize_policy_name(" CI-Read "), "ci-read");
    }
}
