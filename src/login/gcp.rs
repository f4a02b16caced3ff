//! GCP roles (vault-plugin-auth-gcp plugin/path_login.go): `pathLogin` checks the role's
//! `token_bound_cidrs`, then by role `type`:
//!
//! * `iam` (`pathIamLogin`, `authorizeIAMServiceAccount`): a GCE identity token needs
//!   `allow_gce_inference`; `bound_projects` against the service account's project; then
//!   `bound_service_accounts` = `["*"]` alone admits any account, otherwise the email or the
//!   numeric unique id must be listed (exact).
//! * `gce` (`pathGceLogin`, `AuthorizeGCE` in plugin/authorizer_gce.go): the token must be a
//!   Compute Engine identity token; `bound_projects` against the instance's project;
//!   `bound_labels` (every one, exact); `bound_zones`, or when none `bound_regions` (the zone
//!   without its last `-` part); `bound_instance_groups` (looked up live: membership stated by the
//!   inventory is taken as complete); `bound_service_accounts`, compared exactly — `*` is not a
//!   wildcard here.
//!
//! The signed JWT's audience must end in `vault/<role>`, which the workload chooses itself.
//! Alias names follow the mount config's `iam_alias` (`role_id` default, `unique_id`) and
//! `gce_alias` (`role_id` default, `instance_id` → `gce-<id>`).

use super::bindings::{show, unknown_identity, unreadable_role, Checks, Compare};
use super::identity::{GcpIdentity, GcpLoginType};
use super::token::resolve;
use super::{Admission, Alias, Credential};
use crate::model::{AuthMount, GcpRole, OtherRole, ServerInfo};
use std::collections::BTreeMap;

pub(super) fn admit(
    mount: &AuthMount,
    o: &OtherRole,
    cred: &Credential<'_>,
    server: &ServerInfo,
) -> Admission {
    let role = match GcpRole::from_other(o) {
        Ok(r) => r,
        Err(e) => return unreadable_role("GCP", o, &e),
    };
    let Some(id) = cred.gcp else {
        return unknown_identity("GCP", o);
    };
    let mut checks = Checks::default();
    let role_type = match role.role_type.as_deref() {
        Some("iam") => GcpLoginType::Iam,
        Some("gce") => GcpLoginType::Gce,
        other => {
            return Admission::refused(format!(
                "role {:?}: login against role type {other:?} is unsupported",
                o.name
            ))
        }
    };
    checks.conditions.push(format!(
        "the workload obtains a Google-signed JWT for its {} (audience ending in vault/{})",
        match id.login_type() {
            GcpLoginType::Iam => "service account",
            GcpLoginType::Gce => "instance",
        },
        o.name
    ));
    let subject = match role_type {
        GcpLoginType::Iam => iam_checks(&role, id, &mut checks),
        GcpLoginType::Gce => gce_checks(&role, id, &mut checks),
    };
    let mut admission = checks.admission(&o.name, &subject);
    if !admission.is_possible() {
        return admission;
    }
    admission.require_login_cidrs("token_bound_cidrs", &o.token.token_bound_cidrs);
    admission.alias = Some(alias(
        mount,
        &o.name,
        &role,
        id,
        role_type,
        &mut admission.unknowns,
    ));
    if role.add_group_aliases == Some(true) {
        group_aliases(id, &mut admission);
    }
    admission.token = resolve(&o.token, o.token.configured_policies(), mount, server);
    admission
}

fn iam_checks(role: &GcpRole, id: &GcpIdentity, checks: &mut Checks) -> String {
    if id.login_type() == GcpLoginType::Gce && role.allow_gce_inference != Some(true) {
        checks.refuse(
            "a GCE token is presented but the IAM role does not allow GCE inference".to_owned(),
        );
    }
    checks.list(
        "bound_projects",
        &role.bound_projects,
        id.project_id.as_deref(),
        "project",
        Compare::Exact,
    );
    service_accounts(role, id, checks, true);
    id.service_account_email
        .clone()
        .unwrap_or_else(|| "the service account".to_owned())
}

/// `bound_service_accounts`: the email or the unique id must be listed; a lone `*` admits any
/// account for `iam` roles only.
fn service_accounts(role: &GcpRole, id: &GcpIdentity, checks: &mut Checks, star: bool) {
    let bound = &role.bound_service_accounts;
    if bound.is_empty() {
        if star {
            // validateForIAM rejects an IAM role without bound_service_accounts.
            checks.refuse("the IAM role has no bound_service_accounts".to_owned());
        }
        return;
    }
    if star && bound.len() == 1 && bound[0] == "*" {
        checks
            .passed
            .push("bound_service_accounts is \"*\"".to_owned());
        return;
    }
    let email = id.service_account_email.as_deref();
    let uid = id.service_account_id.as_deref();
    let hit = [email, uid]
        .into_iter()
        .flatten()
        .find(|v| bound.iter().any(|b| b == v));
    match (hit, email, uid) {
        (Some(v), _, _) => checks.passed.push(format!("{v:?} is in bound_service_accounts {}", show(bound))),
        (None, Some(e), Some(_)) => checks.refuse(format!(
            "service account {e:?} (neither its email nor its id) is not in bound_service_accounts {}",
            show(bound)
        )),
        // The other identifier may be listed: the numeric id needs the IAM API.
        (None, Some(e), None) if bound.iter().any(|b| looks_like_unique_id(b)) => {
            checks.unknowns.push(format!(
                "the unique id of service account {e:?} (bound_service_accounts {} lists ids)",
                show(bound)
            ))
        }
        (None, Some(e), None) => checks.refuse(format!(
            "service account {e:?} is not in bound_service_accounts {}",
            show(bound)
        )),
        (None, None, _) => checks.unknowns.push(format!(
            "the pipeline's service account (the role binds bound_service_accounts {})",
            show(bound)
        )),
    }
}

fn looks_like_unique_id(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn gce_checks(role: &GcpRole, id: &GcpIdentity, checks: &mut Checks) -> String {
    if id.login_type() != GcpLoginType::Gce {
        checks
            .refuse("the role is of type gce: the JWT must carry GCE instance metadata".to_owned());
    }
    checks.list(
        "bound_projects",
        &role.bound_projects,
        id.project_id.as_deref(),
        "project",
        Compare::Exact,
    );
    labels(role, id, checks);
    if !role.bound_zones.is_empty() {
        // A zone may be given as its self-link, as the instance reports it.
        let zone = id
            .zone
            .as_deref()
            .map(|z| z.rsplit('/').next().unwrap_or(z));
        checks.list(
            "bound_zones",
            &role.bound_zones,
            zone,
            "zone",
            Compare::Exact,
        );
    } else {
        let region = id.region();
        checks.list(
            "bound_regions",
            &role.bound_regions,
            region.as_deref(),
            "region",
            Compare::Exact,
        );
    }
    instance_groups(role, id, checks);
    service_accounts(role, id, checks, false);
    checks
        .conditions
        .push("the instance exists and is running".to_owned());
    id.instance_id
        .clone()
        .map(|i| format!("instance {i}"))
        .unwrap_or_else(|| "the instance".to_owned())
}

fn labels(role: &GcpRole, id: &GcpIdentity, checks: &mut Checks) {
    if role.bound_labels.is_empty() {
        return;
    }
    let Some(have) = &id.labels else {
        checks.unknowns.push(format!(
            "the instance's labels (the role binds bound_labels {:?})",
            role.bound_labels
        ));
        return;
    };
    for (k, v) in &role.bound_labels {
        if have.get(k) != Some(v) {
            checks.refuse(format!("instance missing bound label \"{k}:{v}\""));
            return;
        }
    }
    checks.passed.push(format!(
        "the instance carries every bound label {:?}",
        role.bound_labels
    ));
}

/// `bound_instance_groups`: the instance must be in one of them, and the group must exist in the
/// bound zones or regions (a live lookup: a condition).
fn instance_groups(role: &GcpRole, id: &GcpIdentity, checks: &mut Checks) {
    let bound = &role.bound_instance_groups;
    if bound.is_empty() {
        return;
    }
    if role.bound_zones.is_empty() && role.bound_regions.is_empty() {
        checks.refuse(format!(
            "instance group {:?} is not bound to any zones or regions",
            bound[0]
        ));
        return;
    }
    if id.instance_groups.is_empty() {
        checks.unknowns.push(format!(
            "the instance groups of the instance (the role binds bound_instance_groups {})",
            show(bound)
        ));
        return;
    }
    match id.instance_groups.iter().find(|g| bound.contains(g)) {
        Some(g) => {
            checks
                .passed
                .push(format!("instance group {g:?} is in bound_instance_groups"));
            checks.conditions.push(format!(
                "instance group {g:?} exists in the role's zones or regions and lists the instance"
            ));
        }
        None => checks.refuse(format!(
            "instance is not part of instance groups {}",
            show(bound)
        )),
    }
}

fn alias(
    mount: &AuthMount,
    role_name: &str,
    role: &GcpRole,
    id: &GcpIdentity,
    role_type: GcpLoginType,
    unknowns: &mut Vec<String>,
) -> Alias {
    let (key, source) = match role_type {
        GcpLoginType::Iam => (
            "iam_alias",
            mount.config_str("iam_alias").unwrap_or("role_id"),
        ),
        GcpLoginType::Gce => (
            "gce_alias",
            mount.config_str("gce_alias").unwrap_or("role_id"),
        ),
    };
    let name = match source {
        "role_id" => Some(role.role_id.clone()).filter(|r| !r.is_empty()),
        "unique_id" => id.service_account_id.clone(),
        "instance_id" => id.instance_id.as_ref().map(|i| format!("gce-{i}")),
        _ => None,
    };
    if name.is_none() {
        unknowns.push(format!(
            "the alias name ({key} = {source}) of the GCP login"
        ));
    }
    // The default `iam_metadata` fields (plugin/path_config.go); PopulateDesiredMetadata sets
    // them on the alias too. The GCE defaults add instance fields the inventory may not state.
    let mut metadata = BTreeMap::new();
    metadata.insert("role".to_owned(), role_name.to_owned());
    for (k, v) in [
        ("service_account_email", id.service_account_email.as_ref()),
        ("service_account_id", id.service_account_id.as_ref()),
        ("project_id", id.project_id.as_ref()),
    ] {
        if let Some(v) = v {
            metadata.insert(k.to_owned(), v.clone());
        }
    }
    Alias {
        mount_accessor: mount.accessor.clone(),
        name: name.clone().unwrap_or_else(|| format!("<{source}>")),
        name_known: name.is_some(),
        metadata,
        match_metadata: BTreeMap::new(),
    }
}

/// `add_group_aliases` (`groupAliases`): `project-<id>`, then one alias per folder and the
/// organisation above it, which need the Resource Manager API.
fn group_aliases(id: &GcpIdentity, a: &mut Admission) {
    match &id.project_id {
        Some(p) => a.group_aliases.push(format!("project-{p}")),
        None => a
            .unknowns
            .push("the project of the login (its group alias)".to_owned()),
    }
    a.unknowns.push(
        "the folder and organisation group aliases of the project (add_group_aliases reads its \
         ancestry live)"
            .to_owned(),
    );
}
