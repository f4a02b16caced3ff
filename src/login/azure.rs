//! Azure roles (vault-plugin-auth-azure path_login.go). `pathLogin` checks `token_bound_cidrs`,
//! verifies the managed identity's token, then:
//!
//! * `verifyRole`: `bound_service_principal_ids` and `bound_group_ids` cannot both be empty or
//!   both be `["*"]`; a lone `*` skips that check; otherwise the token's `oid` must be listed, and
//!   one of its `groups` must be listed (`strListContains` in util.go: case-insensitive).
//! * `verifyResource`, only when the role binds a subscription, resource group, location or scale
//!   set: the login names its subscription and resource group, and a scale set (`vmss_name`) or a
//!   VM; `bound_scale_sets` needs a scale set; the token's `oid` must be the principal of that
//!   resource's managed identity (read live: a condition); then `bound_subscription_ids`,
//!   `bound_resource_groups` and `bound_locations` (the resource's location, read live; stated by
//!   the inventory). Only the service principal and group bindings treat `*` specially.
//!
//! The alias name is the token's `oid`; every group id becomes a group alias.

use super::bindings::{show, unknown_identity, unreadable_role, Checks, Compare};
use super::identity::AzureIdentity;
use super::token::resolve;
use super::{Admission, Alias, Credential};
use crate::model::{AuthMount, AzureRole, OtherRole, ServerInfo};
use std::collections::BTreeMap;

pub(super) fn admit(
    mount: &AuthMount,
    o: &OtherRole,
    cred: &Credential<'_>,
    server: &ServerInfo,
) -> Admission {
    let role = match AzureRole::from_other(o) {
        Ok(r) => r,
        Err(e) => return unreadable_role("Azure", o, &e),
    };
    let Some(id) = cred.azure else {
        return unknown_identity("Azure", o);
    };
    let mut checks = Checks::default();
    checks.conditions.push(
        "the workload presents an Entra ID token of its managed identity for the mount's resource"
            .to_owned(),
    );
    principal_and_groups(&role, id, &mut checks);
    resource(&role, id, &mut checks);
    let subject = id
        .service_principal_id
        .clone()
        .map(|p| format!("service principal {p}"))
        .unwrap_or_else(|| "the managed identity".to_owned());
    let mut admission = checks.admission(&o.name, &subject);
    if !admission.is_possible() {
        return admission;
    }
    admission.require_login_cidrs("token_bound_cidrs", &o.token.token_bound_cidrs);
    admission.alias = Some(alias(mount, id, &mut admission.unknowns));
    admission.group_aliases = id
        .group_ids
        .iter()
        .filter(|g| !g.is_empty())
        .cloned()
        .collect();
    if id.group_ids.is_empty() {
        admission.unknowns.push(
            "the groups claim of the managed identity's token (its group aliases)".to_owned(),
        );
    }
    admission.token = resolve(&o.token, o.token.configured_policies(), mount, server);
    admission
}

fn is_star(xs: &[String]) -> bool {
    xs.len() == 1 && xs[0] == "*"
}

/// `verifyRole`.
fn principal_and_groups(role: &AzureRole, id: &AzureIdentity, checks: &mut Checks) {
    let (sps, groups) = (&role.bound_service_principal_ids, &role.bound_group_ids);
    if (is_star(sps) && is_star(groups)) || (sps.is_empty() && groups.is_empty()) {
        checks.refuse(
            "expected specific bound_group_ids or bound_service_principal_ids; both cannot be \
             empty or '*'"
                .to_owned(),
        );
        return;
    }
    if is_star(sps) {
        checks
            .passed
            .push("bound_service_principal_ids is \"*\"".to_owned());
    } else {
        checks.list(
            "bound_service_principal_ids",
            sps,
            id.service_principal_id.as_deref(),
            "service principal",
            Compare::CaseInsensitive,
        );
    }
    if is_star(groups) {
        checks.passed.push("bound_group_ids is \"*\"".to_owned());
    } else if !groups.is_empty() {
        group_check(groups, id, checks);
    }
}

fn group_check(bound: &[String], id: &AzureIdentity, checks: &mut Checks) {
    if id.group_ids.is_empty() {
        checks.unknowns.push(format!(
            "the groups of the managed identity (the role binds bound_group_ids {})",
            show(bound)
        ));
        return;
    }
    let hit = id
        .group_ids
        .iter()
        .find(|g| bound.iter().any(|b| Compare::CaseInsensitive.matches(b, g)));
    match hit {
        Some(g) => checks
            .passed
            .push(format!("group {g:?} is in bound_group_ids {}", show(bound))),
        None => checks.refuse(format!("groups not authorized: {}", show(&id.group_ids))),
    }
}

/// `verifyResource`.
fn resource(role: &AzureRole, id: &AzureIdentity, checks: &mut Checks) {
    let binds_resource = !role.bound_resource_groups.is_empty()
        || !role.bound_subscription_ids.is_empty()
        || !role.bound_locations.is_empty()
        || !role.bound_scale_sets.is_empty();
    if !binds_resource {
        return;
    }
    checks.conditions.push(
        "the login names the subscription, resource group and VM or scale set whose managed \
         identity the token belongs to (checked against the Azure API)"
            .to_owned(),
    );
    if !role.bound_scale_sets.is_empty() {
        match (&id.scale_set, &id.vm_name) {
            (Some(s), _) => checks.list(
                "bound_scale_sets",
                &role.bound_scale_sets,
                Some(s),
                "scale set",
                Compare::CaseInsensitive,
            ),
            (None, Some(_)) => {
                checks.refuse("bound scale set defined but this vm isn't in a scale set".to_owned())
            }
            (None, None) => checks.unknowns.push(format!(
                "the pipeline's scale set (the role binds bound_scale_sets {})",
                show(&role.bound_scale_sets)
            )),
        }
    }
    checks.list(
        "bound_subscription_ids",
        &role.bound_subscription_ids,
        id.subscription_id.as_deref(),
        "subscription",
        Compare::CaseInsensitive,
    );
    resource_groups(role, id, checks);
    checks.list(
        "bound_locations",
        &role.bound_locations,
        id.location.as_deref(),
        "location",
        Compare::CaseInsensitive,
    );
}

/// `bound_resource_groups`, skipped when the token matched by its app id (workload identity
/// federation: "if we matched a valid clientID/appID by resource group, the group validity is
/// implicit"), which needs the Azure API: with an app id, a mismatch is unknown, not a refusal.
fn resource_groups(role: &AzureRole, id: &AzureIdentity, checks: &mut Checks) {
    let bound = &role.bound_resource_groups;
    let listed = |rg: &str| {
        bound
            .iter()
            .any(|b| Compare::CaseInsensitive.matches(b, rg))
    };
    match (id.resource_group.as_deref(), &id.app_id) {
        (Some(rg), Some(app)) if !bound.is_empty() && !listed(rg) => checks.unknowns.push(format!(
            "whether app id {app:?} matches a user-assigned identity of bound_resource_groups {} \
             (workload identity federation skips the resource group check for {rg:?})",
            show(bound)
        )),
        (rg, _) => checks.list(
            "bound_resource_groups",
            bound,
            rg,
            "resource group",
            Compare::CaseInsensitive,
        ),
    }
}

fn alias(mount: &AuthMount, id: &AzureIdentity, unknowns: &mut Vec<String>) -> Alias {
    let mut metadata = BTreeMap::new();
    for (k, v) in [
        ("subscription_id", id.subscription_id.as_ref()),
        ("resource_group_name", id.resource_group.as_ref()),
        ("vmss_name", id.scale_set.as_ref()),
        ("vm_name", id.vm_name.as_ref()),
        ("app_id", id.app_id.as_ref()),
    ] {
        if let Some(v) = v {
            metadata.insert(k.to_owned(), v.clone());
        }
    }
    if id.service_principal_id.is_none() {
        unknowns.push("the object id of the managed identity (the alias name)".to_owned());
    }
    Alias {
        mount_accessor: mount.accessor.clone(),
        name: id
            .service_principal_id
            .clone()
            .unwrap_or_else(|| "<oid>".to_owned()),
        name_known: id.service_principal_id.is_some(),
        metadata,
        match_metadata: BTreeMap::new(),
    }
}
