//! Audit devices (`sys/audit`), kept for the exposure findings.

use super::auth::option_bool;
use super::de::{is_false, map_is_empty, null_default};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// An enabled audit device.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AuditDevice {
    /// The device path with its trailing `/` (`"file/"`).
    pub path: String,
    /// `file`, `socket`, `syslog`, `http` (OpenBao) …
    #[serde(rename = "type")]
    pub device_type: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub local: bool,
    /// Device options as the server returns them (strings): `file_path`, `log_raw`,
    /// `hmac_accessor`, `elide_list_responses`, `format`, `prefix`, …
    #[serde(
        default,
        skip_serializing_if = "map_is_empty",
        deserialize_with = "null_default"
    )]
    pub options: Map<String, Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AuditDevice {
    /// `log_raw` (default false): secrets and tokens are written in clear.
    pub fn log_raw(&self) -> bool {
        option_bool(&self.options, "log_raw").unwrap_or(false)
    }
    /// `hmac_accessor` (default true): token accessors are HMAC'd.
    pub fn hmac_accessor(&self) -> bool {
        option_bool(&self.options, "hmac_accessor").unwrap_or(true)
    }
    /// `elide_list_responses` (default false).
    pub fn elide_list_responses(&self) -> bool {
        option_bool(&self.options, "elide_list_responses").unwrap_or(false)
    }
}
