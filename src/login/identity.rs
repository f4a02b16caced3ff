//! The cloud and GitHub identities a pipeline presents to the `aws`, `gcp`, `azure` and `github`
//! auth methods, as the inventory states them (`auth.aws`, `auth.gcp`, `auth.azure`,
//! `auth.github`; docs/pipelines.md).
//!
//! Every field is optional: what the inventory leaves out is unknown, and a binding that needs it
//! makes the admission [`super::Verdict::Unknown`], never a refusal. Lists that the plugins read
//! live (GCP instance groups, Azure group ids, GitHub teams) are taken as complete when given and
//! as unknown when empty, the way LDAP directory groups are.

use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

/// How an AWS workload signs its login (`auth_type` of the role it targets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AwsAuthType {
    /// A signed `sts:GetCallerIdentity` request (any AWS principal: CI runners, Lambda, ECS …).
    Iam,
    /// The EC2 instance identity document (PKCS#7 signed by AWS).
    Ec2,
}

impl AwsAuthType {
    pub fn as_str(self) -> &'static str {
        match self {
            AwsAuthType::Iam => "iam",
            AwsAuthType::Ec2 => "ec2",
        }
    }
}

/// An AWS identity (`auth.aws`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AwsIdentity {
    /// `iam` or `ec2`; absent = `iam`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_type: Option<AwsAuthType>,
    /// The IAM principal's ARN: `arn:aws:iam::<account>:role/<path/>name`,
    /// `arn:aws:iam::<account>:user/<path/>name`, or the session ARN the runner sees
    /// (`arn:aws:sts::<account>:assumed-role/<name>/<session>`, whose role path is unknown).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_arn"
    )]
    pub iam_principal_arn: Option<String>,
    /// The principal's unique id (`AROA…`, `AIDA…`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam_unique_id: Option<String>,
    /// The account id (12 digits); taken from the ARN when absent.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_account"
    )]
    pub account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// EC2: the instance's IAM instance profile ARN.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_arn"
    )]
    pub instance_profile_arn: Option<String>,
    /// EC2: the ARN of the IAM role inside the instance profile.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_arn"
    )]
    pub iam_role_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ec2_instance_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ami_id: Option<String>,
}

impl AwsIdentity {
    pub fn auth_type(&self) -> AwsAuthType {
        self.auth_type.unwrap_or(AwsAuthType::Iam)
    }

    /// The account id: stated, or read from the principal ARN.
    pub fn account(&self) -> Option<String> {
        self.account_id.clone().or_else(|| {
            self.iam_principal_arn
                .as_deref()
                .and_then(|a| IamArn::parse(a).ok())
                .map(|a| a.account)
        })
    }
}

/// How a GCP workload proves itself (`type` of the role it targets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum GcpLoginType {
    /// A JWT signed for a service account (`iam.serviceAccounts.signJwt`).
    Iam,
    /// A Compute Engine instance identity token (carries the instance's metadata).
    Gce,
}

impl GcpLoginType {
    pub fn as_str(self) -> &'static str {
        match self {
            GcpLoginType::Iam => "iam",
            GcpLoginType::Gce => "gce",
        }
    }
}

/// A GCP identity (`auth.gcp`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GcpIdentity {
    /// `iam` or `gce`; absent = `iam`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub login_type: Option<GcpLoginType>,
    /// The service account's email (`ci@acme-prod.iam.gserviceaccount.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_email: Option<String>,
    /// The service account's numeric unique id, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_id: Option<String>,
    /// IAM: the service account's project. GCE: the instance's project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// GCE: the instance's zone (`europe-west1-b`); its region is derived from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// GCE: the region, when the zone is not stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// GCE: every instance group the instance belongs to (empty = not known).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instance_groups: Vec<String>,
    /// GCE: the instance's labels (`None` = not known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// GCE: the numeric instance id (the alias name under `gce_alias = instance_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
}

impl GcpIdentity {
    pub fn login_type(&self) -> GcpLoginType {
        self.login_type.unwrap_or(GcpLoginType::Iam)
    }

    /// The region: stated, or the zone without its last `-` part, as `zoneToRegion` in
    /// vault-plugin-auth-gcp plugin/helpers.go derives it.
    pub fn region(&self) -> Option<String> {
        if let Some(r) = &self.region {
            return Some(r.clone());
        }
        let zone = self.zone.as_deref()?;
        let zone = zone.rsplit('/').next().unwrap_or(zone);
        zone.rfind('-').map(|i| zone[..i].to_owned())
    }
}

/// An Azure managed identity (`auth.azure`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AzureIdentity {
    /// The service principal's object id (the token's `oid`; the alias name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_principal_id: Option<String>,
    /// The application (client) id (the token's `appid`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// Every Entra ID group in the token's `groups` claim (empty = not known).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_group: Option<String>,
    /// The Azure location of the VM or scale set (`westeurope`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The virtual machine scale set the runner is an instance of (`vmss_name` at login).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_set: Option<String>,
    /// The virtual machine (`vm_name` at login), when not in a scale set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm_name: Option<String>,
}

/// A GitHub user (`auth.github`): the owner of the personal access token the pipeline holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GithubIdentity {
    /// The user's login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The organisation's login the user is a member of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// The organisation's numeric id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<u64>,
    /// Every team of that organisation the user is in, by name or slug (empty = not known).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub teams: Vec<String>,
}

/// An IAM ARN split the way `parseIamArn` in vault builtin/credential/aws/path_login.go splits
/// it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamArn {
    pub partition: String,
    pub account: String,
    /// `user`, `role`, `assumed-role` or `instance-profile`.
    pub entity_type: String,
    /// The path between the type and the name (`ci/` segments joined by `/`, no outer slashes);
    /// always empty for `assumed-role`, whose session ARN does not carry it.
    pub path: String,
    pub name: String,
    /// `assumed-role`: the session name (an EC2 instance id for inferred instances).
    pub session: Option<String>,
}

/// Why an ARN is not an IAM principal ARN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArnError {
    #[error("an IAM ARN has 6 colon-separated parts (arn:aws:iam::<account>:<type>/<name>), this one has {0}")]
    Parts(usize),
    #[error("an ARN starts with \"arn:\"")]
    Prefix,
    #[error("the service of an IAM principal ARN is iam or sts, not {0:?}")]
    Service(String),
    #[error("the resource {0:?} needs a type and a name (<type>/<name>)")]
    Resource(String),
    #[error("unknown principal type {0:?} (user, role, assumed-role or instance-profile)")]
    EntityType(String),
    #[error("an assumed-role ARN is assumed-role/<role name>/<session name>")]
    AssumedRole,
}

impl IamArn {
    pub fn parse(text: &str) -> Result<IamArn, ArnError> {
        let parts: Vec<&str> = text.split(':').collect();
        if parts.len() != 6 {
            return Err(ArnError::Parts(parts.len()));
        }
        if parts[0] != "arn" {
            return Err(ArnError::Prefix);
        }
        if parts[2] != "iam" && parts[2] != "sts" {
            return Err(ArnError::Service(parts[2].to_owned()));
        }
        let segments: Vec<&str> = parts[5].split('/').collect();
        if segments.len() < 2 {
            return Err(ArnError::Resource(parts[5].to_owned()));
        }
        let entity_type = segments[0];
        let mut arn = IamArn {
            partition: parts[1].to_owned(),
            account: parts[4].to_owned(),
            entity_type: entity_type.to_owned(),
            path: segments[1..segments.len() - 1].join("/"),
            name: segments[segments.len() - 1].to_owned(),
            session: None,
        };
        match entity_type {
            "assumed-role" => {
                // The upstream parser indexes parts[2] unchecked; a session name is required.
                if segments.len() < 3 {
                    return Err(ArnError::AssumedRole);
                }
                arn.path = String::new();
                arn.name = segments[1].to_owned();
                arn.session = Some(segments[2].to_owned());
            }
            "user" | "role" | "instance-profile" => {}
            other => return Err(ArnError::EntityType(other.to_owned())),
        }
        Ok(arn)
    }

    /// `canonicalArn`: `arn:<partition>:iam::<account>:<type>/<name>`, `assumed-role` read as
    /// `role` and the path dropped.
    pub fn canonical(&self) -> String {
        let entity_type = match self.entity_type.as_str() {
            "assumed-role" => "role",
            entity_type => entity_type,
        };
        format!(
            "arn:{}:iam::{}:{entity_type}/{}",
            self.partition, self.account, self.name
        )
    }

    /// The full IAM ARN (with the path) as `fullArn` looks it up, when the ARN carries it: every
    /// form but `assumed-role`.
    pub fn full(&self) -> Option<String> {
        if self.entity_type == "assumed-role" {
            return None;
        }
        Some(self.full_with_path(&self.path))
    }

    /// The IAM ARN of the principal under a given path (`""` = none).
    pub fn full_with_path(&self, path: &str) -> String {
        let entity_type = match self.entity_type.as_str() {
            "assumed-role" => "role",
            entity_type => entity_type,
        };
        let path = path.trim_matches('/');
        let sep = if path.is_empty() { "" } else { "/" };
        format!(
            "arn:{}:iam::{}:{entity_type}/{path}{sep}{}",
            self.partition, self.account, self.name
        )
    }
}

fn de_arn<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let Some(arn) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    IamArn::parse(&arn).map_err(serde::de::Error::custom)?;
    Ok(Some(arn))
}

fn de_account<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let Some(account) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(serde::de::Error::custom(format!(
            "an AWS account id is 12 digits (quote it in YAML), got {account:?}"
        )));
    }
    Ok(Some(account))
}
