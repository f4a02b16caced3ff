//! Strength facts of AWS, GCP and Azure roles: how many workloads a role's bindings let in, read
//! the way the plugins compare them (`login/aws.rs`, `login/gcp.rs`, `login/azure.rs`). GitHub
//! mounts have their own module, `github.rs`.

use serde::Serialize;

use crate::model::{AwsRole, AzureRole, GcpRole, OtherRole};

/// How much an AWS `bound_iam_principal_arn` wildcard (an entry ending in `*`) admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ArnBreadth {
    /// A leading `*` (`*:role/deploy*`): principals of every account.
    AnyAccount,
    /// The literal part stops at the account or the principal type (`arn:aws:iam::1:*`,
    /// `…:role/*`): every role or user of the account.
    Account,
    /// The literal part names a path or a name prefix (`…:role/ci/*`).
    Prefix,
    /// A `*` inside the ARN, which `GlobbedStringsMatch` compares literally: matches no principal.
    Literal,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ArnWildcard {
    pub pattern: String,
    pub breadth: ArnBreadth,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AwsFacts {
    /// `iam` or `ec2` (empty when unreadable).
    pub auth_type: String,
    pub bound_iam_principal_arn: Vec<String>,
    pub principal_wildcards: Vec<ArnWildcard>,
    pub bound_account_id: Vec<String>,
    /// The role checks EC2 instances (`auth_type = ec2`, or an inferred `ec2_instance`) but binds
    /// no account: instances of any account whose bindings match log in.
    pub account_unbound: bool,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct GcpFacts {
    /// `iam` or `gce`.
    pub role_type: String,
    pub bound_service_accounts: Vec<String>,
    pub bound_projects: Vec<String>,
    /// An `iam` role with `bound_service_accounts = ["*"]`: any service account (of the bound
    /// projects, or of any project).
    pub any_service_account: bool,
    /// A `gce` role bound by nothing but its projects: every instance of them.
    pub project_only: bool,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AzureFacts {
    /// `bound_service_principal_ids` is empty or `*`: any managed identity passing the other
    /// bindings.
    pub any_principal: bool,
    /// `bound_group_ids` is empty or `*`.
    pub any_group: bool,
    /// Both lists empty, or both `*`: `verifyRole` refuses every login.
    pub admits_none: bool,
    pub bound_subscription_ids: Vec<String>,
    pub bound_resource_groups: Vec<String>,
    pub bound_scale_sets: Vec<String>,
    pub bound_locations: Vec<String>,
}

fn is_star(xs: &[String]) -> bool {
    xs.len() == 1 && xs[0] == "*"
}

fn arn_breadth(pattern: &str) -> ArnBreadth {
    let literal = pattern.trim_end_matches('*');
    if pattern.starts_with('*') {
        return ArnBreadth::AnyAccount;
    }
    if literal.contains('*') {
        return ArnBreadth::Literal;
    }
    // A literal part that stops before the account's closing `:` admits several accounts.
    if literal.matches(':').count() < 5 {
        return ArnBreadth::AnyAccount;
    }
    // After `arn:<partition>:iam::<account>:` comes `<type>/<path/>name`.
    let rest = literal.splitn(6, ':').nth(5).unwrap_or("");
    match rest.split_once('/') {
        None => ArnBreadth::Account,
        Some((_, "")) => ArnBreadth::Account,
        Some(_) => ArnBreadth::Prefix,
    }
}

pub(crate) fn aws(role: &OtherRole) -> Option<AwsFacts> {
    let aws_role = AwsRole::from_other(role).ok()?;
    let ec2 = aws_role.auth_type.as_deref() == Some("ec2") || aws_role.infers_ec2();
    Some(AwsFacts {
        auth_type: aws_role.auth_type.clone().unwrap_or_default(),
        principal_wildcards: aws_role
            .bound_iam_principal_arn
            .iter()
            .filter(|p| p.ends_with('*'))
            .map(|p| ArnWildcard {
                pattern: p.clone(),
                breadth: arn_breadth(p),
            })
            .collect(),
        account_unbound: ec2 && aws_role.bound_account_id.is_empty(),
        bound_iam_principal_arn: aws_role.bound_iam_principal_arn,
        bound_account_id: aws_role.bound_account_id,
    })
}

pub(crate) fn gcp(role: &OtherRole) -> Option<GcpFacts> {
    let gcp_role = GcpRole::from_other(role).ok()?;
    let role_type = gcp_role.role_type.clone().unwrap_or_default();
    let project_only = role_type == "gce"
        && gcp_role.bound_service_accounts.is_empty()
        && gcp_role.bound_zones.is_empty()
        && gcp_role.bound_regions.is_empty()
        && gcp_role.bound_instance_groups.is_empty()
        && gcp_role.bound_labels.is_empty();
    Some(GcpFacts {
        any_service_account: role_type == "iam" && is_star(&gcp_role.bound_service_accounts),
        project_only,
        role_type,
        bound_service_accounts: gcp_role.bound_service_accounts,
        bound_projects: gcp_role.bound_projects,
    })
}

pub(crate) fn azure(role: &OtherRole) -> Option<AzureFacts> {
    let azure_role = AzureRole::from_other(role).ok()?;
    let loose = |xs: &[String]| xs.is_empty() || is_star(xs);
    let (sps, groups) = (
        &azure_role.bound_service_principal_ids,
        &azure_role.bound_group_ids,
    );
    let admits_none = (is_star(sps) && is_star(groups)) || (sps.is_empty() && groups.is_empty());
    Some(AzureFacts {
        admits_none,
        any_principal: loose(&azure_role.bound_service_principal_ids),
        any_group: loose(&azure_role.bound_group_ids),
        bound_subscription_ids: azure_role.bound_subscription_ids,
        bound_resource_groups: azure_role.bound_resource_groups,
        bound_scale_sets: azure_role.bound_scale_sets,
        bound_locations: azure_role.bound_locations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_breadths() {
        assert_eq!(arn_breadth("*:role/deploy*"), ArnBreadth::AnyAccount);
        assert_eq!(
            arn_breadth("arn:aws:iam::123456789012:*"),
            ArnBreadth::Account
        );
        assert_eq!(
            arn_breadth("arn:aws:iam::123456789012:role/*"),
            ArnBreadth::Account
        );
        assert_eq!(
            arn_breadth("arn:aws:iam::123456789012:role/ci/*"),
            ArnBreadth::Prefix
        );
        assert_eq!(arn_breadth("arn:aws:iam::*:role/ci/*"), ArnBreadth::Literal);
        assert_eq!(arn_breadth("arn:aws:iam::*"), ArnBreadth::AnyAccount);
        assert_eq!(arn_breadth("arn:aws:iam::12*"), ArnBreadth::AnyAccount);
    }
}
