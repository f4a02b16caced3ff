//! Typed readings of the roles of the `aws`, `gcp`, `azure` and `github` auth methods.
//!
//! The snapshot keeps these roles as [`OtherRole`] (raw JSON objects under `roles.other`), so
//! the snapshot format is unchanged; admission reads them through these structs. Field names are
//! the role read responses' own (vault builtin/credential/aws `pathRoleRead`, vault-plugin-auth-gcp
//! plugin/path_role.go `pathRoleRead`, vault-plugin-auth-azure path_role.go `pathRoleRead`, the
//! GitHub plugin's `map/teams/<team>` and `map/users/<user>` entries).

use super::de::{null_default, opt_bool, string_list};
use super::OtherRole;
use serde::de::{self, Deserializer};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Why a role object of a modelled cloud method could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("role {role:?} ({collection}) could not be read: {message}")]
pub struct CloudRoleError {
    pub role: String,
    pub collection: String,
    pub message: String,
}

fn read<T: for<'de> Deserialize<'de>>(o: &OtherRole) -> Result<T, CloudRoleError> {
    serde_json::from_value(Value::Object(o.extra.clone())).map_err(|e| CloudRoleError {
        role: o.name.clone(),
        collection: o.collection.clone(),
        message: e.to_string(),
    })
}

/// An AWS auth role (`auth/<m>/role/<name>`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct AwsRole {
    /// `iam` or `ec2`; the read response always carries it.
    #[serde(default)]
    pub auth_type: Option<String>,
    #[serde(default, deserialize_with = "string_list")]
    pub bound_iam_principal_arn: Vec<String>,
    /// The unique ids the server resolved the non-wildcard ARNs to when the role was written
    /// (`resolve_aws_unique_ids`).
    #[serde(default, deserialize_with = "string_list")]
    pub bound_iam_principal_id: Vec<String>,
    /// Absent means the server default, `true`.
    #[serde(default, deserialize_with = "opt_bool")]
    pub resolve_aws_unique_ids: Option<bool>,
    /// `ec2` or empty.
    #[serde(default, deserialize_with = "null_default")]
    pub inferred_entity_type: String,
    #[serde(default, deserialize_with = "null_default")]
    pub inferred_aws_region: String,
    #[serde(default, deserialize_with = "string_list")]
    pub bound_account_id: Vec<String>,
    #[serde(default, deserialize_with = "string_list")]
    pub bound_region: Vec<String>,
    #[serde(default, deserialize_with = "string_list")]
    pub bound_iam_role_arn: Vec<String>,
    #[serde(default, deserialize_with = "string_list")]
    pub bound_iam_instance_profile_arn: Vec<String>,
    #[serde(default, deserialize_with = "string_list")]
    pub bound_ec2_instance_id: Vec<String>,
    #[serde(default, deserialize_with = "string_list")]
    pub bound_vpc_id: Vec<String>,
    #[serde(default, deserialize_with = "string_list")]
    pub bound_subnet_id: Vec<String>,
    #[serde(default, deserialize_with = "string_list")]
    pub bound_ami_id: Vec<String>,
    /// EC2: the instance tag key whose value (a signed role tag) may narrow the policies.
    #[serde(default, deserialize_with = "null_default")]
    pub role_tag: String,
    #[serde(default, deserialize_with = "opt_bool")]
    pub disallow_reauthentication: Option<bool>,
    #[serde(default, deserialize_with = "null_default")]
    pub role_id: String,
}

impl AwsRole {
    pub fn from_other(o: &OtherRole) -> Result<AwsRole, CloudRoleError> {
        read(o)
    }

    pub fn resolves_unique_ids(&self) -> bool {
        self.resolve_aws_unique_ids.unwrap_or(true)
    }

    pub fn infers_ec2(&self) -> bool {
        self.inferred_entity_type == "ec2_instance"
    }
}

/// A GCP auth role (`auth/<m>/role/<name>`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct GcpRole {
    /// `iam` or `gce`.
    #[serde(default, rename = "type")]
    pub role_type: Option<String>,
    #[serde(default, deserialize_with = "string_list")]
    pub bound_service_accounts: Vec<String>,
    #[serde(default, deserialize_with = "string_list")]
    pub bound_projects: Vec<String>,
    #[serde(default, deserialize_with = "string_list")]
    pub bound_zones: Vec<String>,
    #[serde(default, deserialize_with = "string_list")]
    pub bound_regions: Vec<String>,
    #[serde(default, deserialize_with = "string_list")]
    pub bound_instance_groups: Vec<String>,
    /// The read response's map; the write form (`["key:value", …]`) is accepted too.
    #[serde(default, deserialize_with = "labels")]
    pub bound_labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "opt_bool")]
    pub add_group_aliases: Option<bool>,
    #[serde(default, deserialize_with = "opt_bool")]
    pub allow_gce_inference: Option<bool>,
    #[serde(default, deserialize_with = "null_default")]
    pub role_id: String,
}

impl GcpRole {
    pub fn from_other(o: &OtherRole) -> Result<GcpRole, CloudRoleError> {
        read(o)
    }
}

fn labels<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(m)) => m
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k, s)),
                other => Err(de::Error::custom(format!(
                    "label {k:?} has a non-string value {other}"
                ))),
            })
            .collect(),
        Some(other) => {
            let list = string_list(other).map_err(de::Error::custom)?;
            list.into_iter()
                .map(|kv| match kv.split_once(':') {
                    Some((k, v)) => Ok((k.trim().to_owned(), v.trim().to_owned())),
                    None => Err(de::Error::custom(format!("label {kv:?} is not key:value"))),
                })
                .collect()
        }
    }
}

/// An Azure auth role (`auth/<m>/role/<name>`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct AzureRole {
    #[serde(default, deserialize_with = "string_list")]
    pub bound_service_principal_ids: Vec<String>,
    #[serde(default, deserialize_with = "string_list")]
    pub bound_group_ids: Vec<String>,
    #[serde(default, deserialize_with = "string_list")]
    pub bound_locations: Vec<String>,
    #[serde(default, deserialize_with = "string_list")]
    pub bound_subscription_ids: Vec<String>,
    #[serde(default, deserialize_with = "string_list")]
    pub bound_resource_groups: Vec<String>,
    #[serde(default, deserialize_with = "string_list")]
    pub bound_scale_sets: Vec<String>,
}

impl AzureRole {
    pub fn from_other(o: &OtherRole) -> Result<AzureRole, CloudRoleError> {
        read(o)
    }
}

/// The GitHub method's two mapping collections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GithubMapKind {
    /// `map/teams/<team>`.
    Team,
    /// `map/users/<user>`.
    User,
}

/// A GitHub team or user mapping: the policies (`value`, comma-separated) a login gets when the
/// user is that user or in that team. `default` entries apply to every login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubMapping {
    pub kind: GithubMapKind,
    /// The key as stored (the server lowercases keys on write and lookup).
    pub key: String,
    /// The policy names, split on `,` and trimmed, empty names dropped (`PolicyMap.Policies`
    /// in vault sdk/framework/policy_map.go).
    pub policies: Vec<String>,
}

impl GithubMapping {
    /// The mapping of an `OtherRole` of a github mount; `None` for other collections.
    pub fn from_other(o: &OtherRole) -> Option<GithubMapping> {
        let kind = match o.collection.trim_matches('/') {
            "map/teams" => GithubMapKind::Team,
            "map/users" => GithubMapKind::User,
            _ => return None,
        };
        // A non-string value is skipped by the plugin (`valuesRaw.(string)` fails): no policies.
        let policies = match o.extra.get("value") {
            Some(Value::String(s)) => s
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        };
        Some(GithubMapping {
            kind,
            key: o.name.clone(),
            policies,
        })
    }

    /// Whether this entry applies to everyone (`DefaultKey: "default"` of the plugin's maps).
    pub fn is_default(&self) -> bool {
        self.key.eq_ignore_ascii_case("default")
    }
}
