//! Audit facts: whether the audit devices are known, and each device's settings.

use serde::Serialize;

use super::ns_of;
use crate::model::{Affects, Snapshot};

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AuditFacts {
    /// False when a coverage gap says the audit devices could not be read.
    pub known: bool,
    pub devices: Vec<AuditDeviceFacts>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AuditDeviceFacts {
    pub namespace: String,
    pub path: String,
    #[serde(rename = "type")]
    pub device_type: String,
    pub log_raw: bool,
    pub hmac_accessor: bool,
    pub elide_list_responses: bool,
}

/// The audit devices of every namespace, and whether the export could read them everywhere.
pub(super) fn audit(snap: &Snapshot) -> AuditFacts {
    AuditFacts {
        known: snap
            .namespaces
            .iter()
            .all(|ns| snap.is_known(&ns_of(&ns.path), &Affects::AuditDevices, None)),
        devices: snap
            .namespaces
            .iter()
            .flat_map(|ns| {
                ns.audit_devices.iter().map(move |device| AuditDeviceFacts {
                    namespace: ns_of(&ns.path),
                    path: device.path.clone(),
                    device_type: device.device_type.clone(),
                    log_raw: device.log_raw(),
                    hmac_accessor: device.hmac_accessor(),
                    elide_list_responses: device.elide_list_responses(),
                })
            })
            .collect(),
    }
}
