//! Identity: entities (with their aliases) and groups (with their alias, for external groups).

use super::de::{is_false, null_default, open_string_enum, opt_bool, string_list};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// An identity entity (`identity/entity/id/<id>`), with its aliases embedded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Entity {
    pub id: String,
    pub name: String,
    /// The id of the entity's namespace (`"root"` for the root namespace). When absent the
    /// entity belongs to the namespace it is listed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_id: Option<String>,
    /// Identity policies, resolved in the entity's namespace.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "string_list"
    )]
    pub policies: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "null_default"
    )]
    pub metadata: BTreeMap<String, String>,
    /// A disabled entity's tokens are denied every request.
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_default"
    )]
    pub aliases: Vec<EntityAlias>,
    /// Everything else the read returned (`direct_group_ids`, `group_ids`,
    /// `inherited_group_ids` as the server computed them, `merged_entity_ids`, times …).
    /// Group membership is taken from the groups, not from these.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Entity {
    /// The alias of this entity on the auth mount with this accessor.
    pub fn alias_for_accessor(&self, mount_accessor: &str) -> Option<&EntityAlias> {
        self.aliases
            .iter()
            .find(|a| a.mount_accessor == mount_accessor)
    }
}

/// The alias name the exporter stores for AppRole aliases. Their real name is the role-id (half
/// of the credential), which is never exported; `metadata.role_name` names the role instead.
pub const REDACTED_ROLE_ID: &str = "<redacted: AppRole role-id>";

/// An entity alias: the link from a login on an auth mount (accessor + alias name) to an entity.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EntityAlias {
    pub id: String,
    /// The name the auth method reports at login: the JWT `user_claim` value, the k8s service
    /// account uid or `namespace/name`, the userpass/LDAP user name … For AppRole it is the
    /// role-id, which is replaced by [`REDACTED_ROLE_ID`].
    pub name: String,
    pub mount_accessor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_type: Option<String>,
    /// The entity this alias belongs to (redundant with the enclosing entity; kept if exported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canonical_id: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "null_default"
    )]
    pub metadata: BTreeMap<String, String>,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "null_default"
    )]
    pub custom_metadata: BTreeMap<String, String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_bool"
    )]
    pub local: Option<bool>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl EntityAlias {
    /// True when the name was withheld by the exporter (AppRole role-ids).
    pub fn is_redacted(&self) -> bool {
        self.name == REDACTED_ROLE_ID
    }

    /// A metadata value (`metadata.role_name`, `metadata.repository` …).
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).map(String::as_str)
    }
}

open_string_enum! {
    /// `internal` groups list their members; `external` groups get members from an auth method
    /// at login, through their group alias.
    #[derive(Default)]
    pub enum GroupType {
        #[default]
        Internal => "internal",
        External => "external",
    }
}

/// An identity group (`identity/group/id/<id>`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Group {
    pub id: String,
    pub name: String,
    #[serde(rename = "type", default)]
    pub group_type: GroupType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_id: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "string_list"
    )]
    pub policies: Vec<String>,
    /// Direct member entities. For external groups: the members as of their last login.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "string_list"
    )]
    pub member_entity_ids: Vec<String>,
    /// Child groups (their members inherit this group's policies).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "string_list"
    )]
    pub member_group_ids: Vec<String>,
    /// Groups that list this one in their `member_group_ids`.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "string_list"
    )]
    pub parent_group_ids: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "null_default"
    )]
    pub metadata: BTreeMap<String, String>,
    /// The group alias of an external group. The API returns `{}` when there is none; that
    /// loads as `None`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "group_alias"
    )]
    pub alias: Option<GroupAlias>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Group {
    pub fn is_external(&self) -> bool {
        self.group_type == GroupType::External
    }
}

/// The alias of an external group: the group name an auth method reports (JWT `groups_claim`
/// entry, LDAP group …) on the mount with this accessor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GroupAlias {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub mount_accessor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canonical_id: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl GroupAlias {
    fn is_blank(&self) -> bool {
        self.id.is_empty()
            && self.name.is_empty()
            && self.mount_accessor.is_empty()
            && self.mount_path.is_none()
            && self.mount_type.is_none()
            && self.canonical_id.is_none()
            && self.extra.is_empty()
    }
}

fn group_alias<'de, D: Deserializer<'de>>(d: D) -> Result<Option<GroupAlias>, D::Error> {
    Ok(Option::<GroupAlias>::deserialize(d)?.filter(|a| !a.is_blank()))
}
