//! Cloud identities a workload presents to Vault's `aws` and `gcp` logins. On EKS a service
//! account annotated `eks.amazonaws.com/role-arn` gets that IAM role's web identity (IRSA); on
//! GKE one annotated `iam.gke.io/gcp-service-account` acts as that Google service account
//! (Workload Identity). When the manifests do not hold the annotated account, the identity is
//! the node's or the controller's, which only the cluster knows: it is recorded as dynamic.

use super::{Index, Login, Val};
use crate::login::{AwsIdentity, GcpIdentity, IamArn};

/// The IAM role an EKS service account assumes.
const EKS_ROLE_ARN: &str = "eks.amazonaws.com/role-arn";
/// The Google service account a GKE service account acts as.
const GKE_SERVICE_ACCOUNT: &str = "iam.gke.io/gcp-service-account";

/// A Kubernetes service account: its name and namespace, as the manifests give them.
pub(super) struct ServiceAccount {
    pub name: Val,
    pub namespace: Option<String>,
}

/// The IAM role of the service account (IRSA), or the unknown principal and why.
pub(super) fn aws_from_account(index: &Index, login: &mut Login, account: &ServiceAccount) {
    match annotation(index, account, EKS_ROLE_ARN) {
        Val::Known(arn) => aws_principal(login, &arn),
        Val::Dynamic(why) => login.unknown("auth.aws.iam_principal_arn", why),
    }
}

/// The Google service account of the Kubernetes one (Workload Identity), or why it is unknown.
pub(super) fn gcp_from_account(index: &Index, login: &mut Login, account: &ServiceAccount) {
    match annotation(index, account, GKE_SERVICE_ACCOUNT) {
        Val::Known(email) => gcp_account(login, &email),
        Val::Dynamic(why) => login.unknown("auth.gcp.service_account_email", why),
    }
}

/// Set the login's IAM principal (an ARN written in the manifests).
pub(super) fn aws_principal(login: &mut Login, arn: &str) {
    if arn.contains("{{") || IamArn::parse(arn).is_err() {
        login.unknown(
            "auth.aws.iam_principal_arn",
            format!("{arn:?} (not an ARN the manifests resolve)"),
        );
        return;
    }
    login
        .aws
        .get_or_insert_with(AwsIdentity::default)
        .iam_principal_arn = Some(arn.to_string());
}

/// Set the login's Google service account (an email written in the manifests).
pub(super) fn gcp_account(login: &mut Login, email: &str) {
    if email.contains("{{") || !email.contains('@') {
        login.unknown(
            "auth.gcp.service_account_email",
            format!("{email:?} (not a service account email the manifests resolve)"),
        );
        return;
    }
    login
        .gcp
        .get_or_insert_with(GcpIdentity::default)
        .service_account_email = Some(email.to_string());
}

/// Set the login's AWS region, when the manifests name one.
pub(super) fn aws_region(login: &mut Login, region: Option<String>) {
    if let Some(region) = region.filter(|r| !r.contains("{{")) {
        login.aws.get_or_insert_with(AwsIdentity::default).region = Some(region);
    }
}

/// An annotation of a service account in the manifests, or (dynamic) why it is not known.
fn annotation(index: &Index, account: &ServiceAccount, key: &str) -> Val {
    let Val::Known(name) = &account.name else {
        return Val::Dynamic(format!(
            "(the cloud identity of a service account named by an expression: {:?})",
            account_name(&account.name)
        ));
    };
    match index.account_annotation(account.namespace.as_deref(), name, key) {
        Some(value) => Val::Known(value),
        None => Val::Dynamic(format!(
            "(the cloud identity of service account {}/{name}: the manifests hold no {key} annotation for it)",
            account.namespace.as_deref().unwrap_or("?")
        )),
    }
}

fn account_name(name: &Val) -> &str {
    match name {
        Val::Known(n) | Val::Dynamic(n) => n,
    }
}
