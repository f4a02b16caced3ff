//! AWS roles (vault builtin/credential/aws): `pathLoginUpdateIam` and `pathLoginUpdateEc2` in
//! path_login.go, with the bindings of `verifyInstanceMeetsRoleRequirements`.
//!
//! * The role's `auth_type` must be the one the workload signs with (`iam` or `ec2`).
//! * `iam`: the mount's `iam_server_id_header_value` must be in the signed request (a condition);
//!   `bound_iam_principal_arn` passes by one of three checks — the caller's unique id is in
//!   `bound_iam_principal_id` (resolved from the ARNs when the role was written, the default
//!   `resolve_aws_unique_ids`), or, without resolution, the caller's canonical ARN (type and name,
//!   no path) is listed, or the principal's full ARN (with its path) matches an entry ending in
//!   `*` by `strutil.GlobbedStringsMatch` (leading and trailing `*` only). With
//!   `inferred_entity_type = ec2_instance` the caller must be a running instance of
//!   `inferred_aws_region` and the instance bindings apply.
//! * `ec2`: `bound_region`, then the instance bindings (instance id, account, AMI, subnet, VPC,
//!   instance profile ARN and IAM role ARN, the last two with a trailing-`*` prefix).
//!
//! The alias name follows the mount's identity config (`iam_alias`, `ec2_alias`; default
//! `role_id`, the role's own id).

use super::bindings::{show, unknown_identity, unreadable_role, Checks, Compare};
use super::identity::{AwsAuthType, AwsIdentity, IamArn};
use super::token::resolve;
use super::{Admission, Alias, Credential};
use crate::model::{AuthMount, AwsRole, OtherRole, ServerInfo};
use std::collections::BTreeMap;

pub(super) fn admit(
    mount: &AuthMount,
    o: &OtherRole,
    cred: &Credential<'_>,
    server: &ServerInfo,
) -> Admission {
    let role = match AwsRole::from_other(o) {
        Ok(r) => r,
        Err(e) => return unreadable_role("AWS", o, &e),
    };
    let Some(id) = cred.aws else {
        return unknown_identity("AWS", o);
    };
    let role_type = match role.auth_type.as_deref() {
        Some("iam") => AwsAuthType::Iam,
        Some("ec2") => AwsAuthType::Ec2,
        other => {
            return Admission::unknown(
                format!("AWS role {:?} has auth_type {other:?}", o.name),
                format!("the auth_type of AWS role {:?}", o.name),
            )
        }
    };
    if role_type != id.auth_type() {
        // "auth method iam not allowed for role" / "auth method ec2 not allowed for role".
        return Admission::refused(format!(
            "role {:?} has auth_type {}: auth method {} not allowed",
            o.name,
            role_type.as_str(),
            id.auth_type().as_str()
        ));
    }
    let mut checks = Checks::default();
    let subject = match role_type {
        AwsAuthType::Iam => {
            iam_checks(mount, &role, id, &mut checks);
            id.iam_principal_arn
                .clone()
                .unwrap_or_else(|| "the IAM principal".to_owned())
        }
        AwsAuthType::Ec2 => {
            ec2_checks(&role, id, &mut checks);
            id.ec2_instance_id
                .clone()
                .unwrap_or_else(|| "the EC2 instance".to_owned())
        }
    };
    let mut admission = checks.admission(&o.name, &subject);
    if !admission.is_possible() {
        return admission;
    }
    admission.alias = Some(alias(mount, &role, id, role_type, &mut admission.unknowns));
    admission.token = resolve(&o.token, o.token.configured_policies(), mount, server);
    admission
}

/// The `iam` login: server id header, principal ARN, then the inferred instance.
fn iam_checks(mount: &AuthMount, role: &AwsRole, id: &AwsIdentity, checks: &mut Checks) {
    if mount.config_str("iam_server_id_header_value").is_some() {
        checks.conditions.push(
            "the signed GetCallerIdentity request carries the X-Vault-AWS-IAM-Server-ID header \
             value configured on the mount (iam_server_id_header_value)"
                .to_owned(),
        );
    }
    checks.conditions.push(
        "the workload holds credentials of the IAM principal to sign sts:GetCallerIdentity"
            .to_owned(),
    );
    principal_check(role, id, checks);
    if role.infers_ec2() {
        inferred_instance(role, id, checks);
        instance_checks(role, id, checks);
    }
}

/// `bound_iam_principal_arn`, the three ways `pathLoginUpdateIam` lets a caller through.
fn principal_check(role: &AwsRole, id: &AwsIdentity, checks: &mut Checks) {
    let bound = &role.bound_iam_principal_arn;
    if bound.is_empty() {
        return;
    }
    let Some(arn) = id
        .iam_principal_arn
        .as_deref()
        .and_then(|t| IamArn::parse(t).ok())
    else {
        checks.unknowns.push(format!(
            "the pipeline's IAM principal ARN (the role binds bound_iam_principal_arn {})",
            show(bound)
        ));
        return;
    };
    let canonical = arn.canonical();
    // Check 1: the caller's unique id is one the server resolved when the role was written.
    if let Some(uid) = &id.iam_unique_id {
        if role.bound_iam_principal_id.contains(uid) {
            checks
                .passed
                .push(format!("unique id {uid:?} is in bound_iam_principal_id"));
            return;
        }
    }
    // Check 2: without resolution, the canonical ARN (no path) must be listed verbatim.
    if !role.resolves_unique_ids() && bound.contains(&canonical) {
        checks.passed.push(format!(
            "canonical ARN {canonical:?} is in bound_iam_principal_arn"
        ));
        return;
    }
    // Check 3: the full ARN against the entries ending in `*`.
    match wildcard_match(bound, &arn) {
        PathMatch::Yes(p) => {
            checks.passed.push(format!(
                "the principal's ARN matches bound_iam_principal_arn {p:?}"
            ));
            return;
        }
        PathMatch::DependsOnPath(p) => {
            checks.unknowns.push(format!(
                "the path of IAM role {:?}: whether its full ARN matches bound_iam_principal_arn \
                 {p:?} depends on it",
                arn.name
            ));
            return;
        }
        PathMatch::No => {}
    }
    resolved_arn_check(role, id, &arn, checks);
}

/// A listed, non-wildcard ARN under `resolve_aws_unique_ids`: the server compares the unique id
/// it resolved when the role was written, which the snapshot may not match to this principal.
fn resolved_arn_check(role: &AwsRole, id: &AwsIdentity, arn: &IamArn, checks: &mut Checks) {
    let canonical = arn.canonical();
    let listed = role.bound_iam_principal_arn.iter().any(|b| {
        !b.ends_with('*') && IamArn::parse(b).is_ok_and(|bound| bound.canonical() == canonical)
    });
    let message = format!(
        "IAM principal {canonical:?} does not belong to the role (bound_iam_principal_arn {})",
        show(&role.bound_iam_principal_arn)
    );
    if !listed || !role.resolves_unique_ids() {
        checks.refuse(message);
        return;
    }
    match &id.iam_unique_id {
        Some(uid) if !role.bound_iam_principal_id.is_empty() => checks.refuse(format!(
            "unique id {uid:?} of {canonical:?} is not in bound_iam_principal_id (the principal \
             was re-created after the role was written)"
        )),
        _ => {
            checks.passed.push(format!(
                "{canonical:?} is listed in bound_iam_principal_arn"
            ));
            checks.conditions.push(format!(
                "{canonical:?} is the same IAM principal whose unique id the server resolved when \
                 the role was written (resolve_aws_unique_ids): a principal re-created under that \
                 ARN is refused"
            ));
        }
    }
}

enum PathMatch {
    Yes(String),
    DependsOnPath(String),
    No,
}

/// Whether an entry ending in `*` matches the principal's full ARN (`HasSuffix(arn, "*") &&
/// GlobbedStringsMatch`). An assumed-role session ARN does not carry the role's path, which
/// `fullArn` looks up: such a match is decided only when it holds for every path or for none.
fn wildcard_match(bound: &[String], arn: &IamArn) -> PathMatch {
    let mut depends = None;
    for p in bound.iter().filter(|p| p.ends_with('*')) {
        let decided = match arn.full() {
            Some(full) => Some(globbed_strings_match(p, &full)),
            None => session_match(p, arn),
        };
        match decided {
            Some(true) => return PathMatch::Yes(p.clone()),
            Some(false) => {}
            None => {
                depends.get_or_insert_with(|| p.clone());
            }
        }
    }
    depends.map_or(PathMatch::No, PathMatch::DependsOnPath)
}

/// A pattern ending in `*` against `arn:<p>:iam::<account>:role/<path/><name>` with the path
/// unknown: `Some(true)` for every path, `Some(false)` for none, `None` when the path decides.
/// Every such ARN contains the head `…:role/` and ends with `/<name>`.
fn session_match(pattern: &str, arn: &IamArn) -> Option<bool> {
    let head = format!("arn:{}:iam::{}:role/", arn.partition, arn.account);
    let tail = format!("/{}", arn.name);
    if pattern.len() < 2 {
        return Some(false);
    }
    let body = &pattern[..pattern.len() - 1];
    match body.strip_prefix('*') {
        // `*X*`: contained in a part every path keeps, else the path may hold it.
        Some(inner) if head.contains(inner) || tail.contains(inner) => Some(true),
        Some(_) => None,
        // `X*`: a prefix of the head holds for every path; one going past it depends on the path.
        None if head.starts_with(body) => Some(true),
        None if body.starts_with(&head) => None,
        None => Some(false),
    }
}

/// `strutil.GlobbedStringsMatch` (go-secure-stdlib): `*` only as the first and/or last byte; a
/// pattern shorter than 2 bytes is compared verbatim (so a lone `*` matches only `*`).
pub(crate) fn globbed_strings_match(item: &str, val: &str) -> bool {
    if item.len() < 2 {
        return val == item;
    }
    let starts = item.starts_with('*');
    let ends = item.ends_with('*');
    match (starts, ends) {
        (true, true) => val.contains(&item[1..item.len() - 1]),
        (true, false) => val.ends_with(&item[1..]),
        (false, true) => val.starts_with(&item[..item.len() - 1]),
        (false, false) => val == item,
    }
}

/// `inferred_entity_type = ec2_instance`: the caller is an instance's role session, validated in
/// `inferred_aws_region` (`validateInstance` with the session name as instance id).
fn inferred_instance(role: &AwsRole, id: &AwsIdentity, checks: &mut Checks) {
    let region = &role.inferred_aws_region;
    match id.region.as_deref() {
        Some(r) if r == region => checks
            .passed
            .push(format!("region {r:?} is the role's inferred_aws_region")),
        Some(r) => checks.refuse(format!(
            "the instance is in region {r:?}, not the role's inferred_aws_region {region:?}"
        )),
        None => checks.unknowns.push(format!(
            "the pipeline's region (the role infers an EC2 instance in {region:?})"
        )),
    }
    let session = id
        .iam_principal_arn
        .as_deref()
        .and_then(|t| IamArn::parse(t).ok())
        .and_then(|a| a.session);
    if let (Some(s), Some(i)) = (&session, &id.ec2_instance_id) {
        if s != i {
            checks.refuse(format!(
                "the role session {s:?} is not the EC2 instance id {i:?} the role infers"
            ));
            return;
        }
    }
    checks.conditions.push(
        "the caller is the instance-profile session of a running EC2 instance (session name = \
         instance id)"
            .to_owned(),
    );
}

/// The `ec2` login: a signed identity document, `bound_region`, the instance bindings.
fn ec2_checks(role: &AwsRole, id: &AwsIdentity, checks: &mut Checks) {
    checks
        .conditions
        .push("the instance presents its AWS-signed identity document and is running".to_owned());
    checks.list(
        "bound_region",
        &role.bound_region,
        id.region.as_deref(),
        "region",
        Compare::Exact,
    );
    instance_checks(role, id, checks);
    if !role.role_tag.is_empty() {
        checks.conditions.push(format!(
            "if the instance carries a role tag under key {:?}, its signed value can only narrow \
             the role's policies (the token may hold fewer)",
            role.role_tag
        ));
    }
    if role.disallow_reauthentication == Some(true) {
        checks.conditions.push(
            "only the instance's first login succeeds (disallow_reauthentication)".to_owned(),
        );
    } else {
        checks.conditions.push(
            "a repeated login from the instance presents the nonce of its first login".to_owned(),
        );
    }
}

/// One list binding of an instance and the instance's value for it.
struct InstanceBinding<'a> {
    field: &'static str,
    bound: &'a [String],
    value: Option<&'a str>,
    what: &'static str,
    compare: Compare,
}

/// `verifyInstanceMeetsRoleRequirements`, in its order.
fn instance_checks(role: &AwsRole, id: &AwsIdentity, checks: &mut Checks) {
    let account = id.account();
    let exact = |field, bound, value, what| InstanceBinding {
        field,
        bound,
        value,
        what,
        compare: Compare::Exact,
    };
    let bindings = [
        exact(
            "bound_ec2_instance_id",
            &role.bound_ec2_instance_id,
            id.ec2_instance_id.as_deref(),
            "instance id",
        ),
        exact(
            "bound_account_id",
            &role.bound_account_id,
            account.as_deref(),
            "account id",
        ),
        exact(
            "bound_ami_id",
            &role.bound_ami_id,
            id.ami_id.as_deref(),
            "AMI id",
        ),
        exact(
            "bound_subnet_id",
            &role.bound_subnet_id,
            id.subnet_id.as_deref(),
            "subnet id",
        ),
        exact(
            "bound_vpc_id",
            &role.bound_vpc_id,
            id.vpc_id.as_deref(),
            "VPC id",
        ),
        InstanceBinding {
            field: "bound_iam_instance_profile_arn",
            bound: &role.bound_iam_instance_profile_arn,
            value: id.instance_profile_arn.as_deref(),
            what: "instance profile ARN",
            compare: Compare::TrailingStarPrefix,
        },
        InstanceBinding {
            field: "bound_iam_role_arn",
            bound: &role.bound_iam_role_arn,
            value: id.iam_role_arn.as_deref(),
            what: "IAM role ARN",
            compare: Compare::TrailingStarPrefix,
        },
    ];
    for b in bindings {
        checks.list(b.field, b.bound, b.value, b.what, b.compare);
    }
}

/// The alias: `iam_alias` (`role_id`, `unique_id`, `full_arn`, `canonical_arn`) or `ec2_alias`
/// (`role_id`, `instance_id`, `image_id`) of the mount's identity config.
fn alias(
    mount: &AuthMount,
    role: &AwsRole,
    id: &AwsIdentity,
    auth_type: AwsAuthType,
    unknowns: &mut Vec<String>,
) -> Alias {
    let (key, source) = match auth_type {
        AwsAuthType::Iam => (
            "iam_alias",
            mount.config_str("iam_alias").unwrap_or("role_id"),
        ),
        AwsAuthType::Ec2 => (
            "ec2_alias",
            mount.config_str("ec2_alias").unwrap_or("role_id"),
        ),
    };
    let arn = id
        .iam_principal_arn
        .as_deref()
        .and_then(|t| IamArn::parse(t).ok());
    let name = match source {
        "role_id" => Some(role.role_id.clone()).filter(|r| !r.is_empty()),
        "unique_id" => id.iam_unique_id.clone(),
        // The caller's ARN as STS reports it: a role is seen as its session ARN.
        "full_arn" => arn
            .as_ref()
            .filter(|a| a.entity_type != "role")
            .and(id.iam_principal_arn.clone()),
        "canonical_arn" => arn.as_ref().map(IamArn::canonical),
        "instance_id" => id.ec2_instance_id.clone(),
        "image_id" => id.ami_id.clone(),
        _ => None,
    };
    if name.is_none() {
        unknowns.push(format!(
            "the alias name ({key} = {source}) of the AWS login"
        ));
    }
    Alias {
        mount_accessor: mount.accessor.clone(),
        name: name.clone().unwrap_or_else(|| format!("<{source}>")),
        name_known: name.is_some(),
        metadata: BTreeMap::new(),
        match_metadata: BTreeMap::new(),
    }
}
