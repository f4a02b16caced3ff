//! AppRole roles (`internal/builtin/credential/approle/path_login.go`). The role-id decides the
//! role, so a pipeline holding a role-id (and secret-id) for role R can log into R only.
//!
//! Login checks: the secret-id when `bind_secret_id` (the default): it must exist, be unexpired
//! and have uses left, and its own CIDRs must contain the client; then the role's
//! `secret_id_bound_cidrs` must contain the client. `token_bound_cidrs` are not checked at login:
//! they bind the token. The alias name is the role-id (never exported: the snapshot stores
//! [`REDACTED_ROLE_ID`] with `metadata.role_name`).

use super::token::resolve;
use super::{Admission, Alias, Credential, Verdict};
use crate::model::{AppRoleRole, AuthMount, ServerInfo, REDACTED_ROLE_ID};
use serde_json::Value;
use std::collections::BTreeMap;

pub(super) fn admit(
    mount: &AuthMount,
    role: &AppRoleRole,
    cred: &Credential<'_>,
    server: &ServerInfo,
) -> Admission {
    let Some(held) = cred.role_name else {
        return Admission::unknown(
            "which AppRole role the pipeline holds credentials for is not known",
            format!(
                "whether the pipeline holds a role-id for AppRole role {:?} (set role_name)",
                role.name
            ),
        );
    };
    // Role names are case-insensitive in AppRole (stored lowercased).
    if !held.eq_ignore_ascii_case(&role.name) {
        return Admission::refused(format!(
            "the pipeline holds AppRole credentials for role {held:?}, not {:?} (the role-id \
             decides the role)",
            role.name
        ));
    }
    let mut admission = Admission::new(Verdict::Admitted, String::new());
    if role.binds_secret_id() {
        let mut condition =
            "the pipeline holds the role-id and a valid secret-id (unexpired, with uses \
                     left, its own CIDR list containing the client)"
                .to_owned();
        if let Some(ttl) = role.secret_id_ttl.filter(|t| *t > 0) {
            condition.push_str(&format!("; secret-ids expire after {ttl}s"));
        }
        if let Some(n) = role.secret_id_num_uses.filter(|n| *n > 0) {
            condition.push_str(&format!("; each secret-id allows {n} logins"));
        }
        admission.conditions.push(condition);
    } else {
        admission.conditions.push(
            "the pipeline knows the role-id (bind_secret_id = false: no secret-id is needed)"
                .to_owned(),
        );
    }
    let mut cidrs = role.secret_id_bound_cidrs.clone();
    // Legacy `bound_cidr_list` (pre-1.0 roles), if the read still shows it.
    if let Some(Value::Array(legacy_cidrs)) = role.extra.get("bound_cidr_list") {
        if cidrs.is_empty() {
            cidrs = legacy_cidrs
                .iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect();
        }
    }
    admission.require_login_cidrs("secret_id_bound_cidrs", &cidrs);

    let mut metadata = BTreeMap::new();
    metadata.insert("role_name".to_owned(), role.name.clone());
    admission.alias = Some(Alias {
        mount_accessor: mount.accessor.clone(),
        name: REDACTED_ROLE_ID.to_owned(),
        name_known: false,
        match_metadata: metadata.clone(),
        metadata,
    });
    admission.token = resolve(&role.token, role.token.configured_policies(), mount, server);
    if role.binds_secret_id() {
        admission.unknowns.push(format!(
            "secret-id metadata and per-secret-id token_bound_cidrs of AppRole role {:?} (they \
             override the role's token_bound_cidrs and add alias metadata)",
            role.name
        ));
    }
    admission.why = format!(
        "the pipeline holds AppRole credentials for role {:?}{}",
        role.name,
        if role.binds_secret_id() {
            " (role-id + secret-id)"
        } else {
            " (role-id only: bind_secret_id = false)"
        }
    );
    admission
}
