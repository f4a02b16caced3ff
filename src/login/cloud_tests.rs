//! AWS, GCP, Azure and GitHub admission: table tests reproducing the plugins' own tests and
//! functions (each case names the one it follows), and properties that a role admits a workload
//! exactly when each of its bindings does.

use super::*;
use crate::model::{AuthMount, OtherRole, RoleRef, ServerInfo};
use proptest::prelude::*;
use serde_json::{json, Value};

fn mount(kind: &str, config: Option<Value>) -> AuthMount {
    AuthMount {
        path: format!("{kind}/"),
        mount_type: kind.to_owned(),
        accessor: format!("auth_{kind}_1"),
        config: config.and_then(|c| c.as_object().cloned()),
        ..AuthMount::default()
    }
}

/// A role as the exporter stores it: the read response under `roles.other`.
fn other(collection: &str, name: &str, body: Value) -> OtherRole {
    let mut v = body;
    v["collection"] = json!(collection);
    v["name"] = json!(name);
    serde_json::from_value(v).expect("an OtherRole")
}

fn judge(m: &AuthMount, role: &OtherRole, cred: &Credential<'_>) -> Admission {
    admit(m, RoleRef::Other(role), cred, &ServerInfo::default())
}

fn verdict(a: &Admission) -> Verdict {
    a.verdict
}

// ---- AWS ----------------------------------------------------------------------------------------

fn aws_id(v: Value) -> AwsIdentity {
    serde_json::from_value(v).expect("an AWS identity")
}

fn aws_cred(id: &AwsIdentity) -> Credential<'_> {
    Credential {
        aws: Some(id),
        ..Credential::new(Method::Aws)
    }
}

fn aws_role(body: Value) -> OtherRole {
    let mut b = body;
    if b.get("auth_type").is_none() {
        b["auth_type"] = json!("iam");
    }
    b["role_id"] = json!("rid-1");
    b["token_policies"] = json!(["deploy"]);
    other("role", "ci", b)
}

#[test]
fn aws_principal_arn_checks() {
    let m = mount("aws", None);
    let role_arn = "arn:aws:iam::123456789012:role/ci/deployer";
    let session = "arn:aws:sts::123456789012:assumed-role/deployer/gh-run-1";
    // (case, role body, identity, verdict) — pathLoginUpdateIam's three checks.
    let cases = [
        // Check 2: without unique-id resolution the canonical ARN (no path) must be listed verbatim
        // (TestBackendAcc_LoginWithCallerIdentity binds the canonical ARN of the caller).
        (
            "canonical listed, no resolution",
            json!({"bound_iam_principal_arn": ["arn:aws:iam::123456789012:role/deployer"], "resolve_aws_unique_ids": false}),
            json!({"iam_principal_arn": session}),
            Verdict::Admitted,
        ),
        // A listed ARN with a path is not the canonical ARN: check 2 fails without resolution.
        (
            "pathed ARN listed, no resolution",
            json!({"bound_iam_principal_arn": [role_arn], "resolve_aws_unique_ids": false}),
            json!({"iam_principal_arn": session}),
            Verdict::Refused,
        ),
        // Check 3: wildcard against the full ARN (`GlobbedStringsMatch`, trailing `*`).
        (
            "account wildcard",
            json!({"bound_iam_principal_arn": ["arn:aws:iam::123456789012:*"]}),
            json!({"iam_principal_arn": role_arn}),
            Verdict::Admitted,
        ),
        (
            "path wildcard decided by the full ARN",
            json!({"bound_iam_principal_arn": ["arn:aws:iam::123456789012:role/ci/*"]}),
            json!({"iam_principal_arn": role_arn}),
            Verdict::Admitted,
        ),
        // A session ARN hides the role's path: a path wildcard cannot be decided offline.
        (
            "path wildcard, session ARN",
            json!({"bound_iam_principal_arn": ["arn:aws:iam::123456789012:role/ci/*"]}),
            json!({"iam_principal_arn": session}),
            Verdict::Unknown,
        ),
        // …but an account-wide wildcard holds whatever the path.
        (
            "account wildcard, session ARN",
            json!({"bound_iam_principal_arn": ["arn:aws:iam::123456789012:role/*"]}),
            json!({"iam_principal_arn": session}),
            Verdict::Admitted,
        ),
        (
            "name-prefix wildcard, session ARN",
            json!({"bound_iam_principal_arn": ["arn:aws:iam::123456789012:role/deploy*"]}),
            json!({"iam_principal_arn": session}),
            Verdict::Unknown,
        ),
        (
            "contains wildcard in the name, session ARN",
            json!({"bound_iam_principal_arn": ["*/deployer*"]}),
            json!({"iam_principal_arn": session}),
            Verdict::Admitted,
        ),
        // An unreadable role is unknown, never refused.
        (
            "unreadable role",
            json!({"bound_iam_principal_arn": 5}),
            json!({"iam_principal_arn": role_arn}),
            Verdict::Unknown,
        ),
        // A `*` inside the pattern is literal (GlobbedStringsMatch handles only the ends).
        (
            "middle star is literal",
            json!({"bound_iam_principal_arn": ["arn:aws:iam::*:role/deployer*"]}),
            json!({"iam_principal_arn": role_arn}),
            Verdict::Refused,
        ),
        // A lone `*` is shorter than 2 bytes: compared verbatim.
        (
            "lone star",
            json!({"bound_iam_principal_arn": ["*"]}),
            json!({"iam_principal_arn": role_arn}),
            Verdict::Refused,
        ),
        // Check 1: the unique id resolved when the role was written.
        (
            "unique id listed",
            json!({"bound_iam_principal_arn": [role_arn], "bound_iam_principal_id": ["AROAEXAMPLE"]}),
            json!({"iam_principal_arn": session, "iam_unique_id": "AROAEXAMPLE"}),
            Verdict::Admitted,
        ),
        (
            "re-created principal",
            json!({"bound_iam_principal_arn": [role_arn], "bound_iam_principal_id": ["AROAOLD"]}),
            json!({"iam_principal_arn": role_arn, "iam_unique_id": "AROANEW"}),
            Verdict::Refused,
        ),
        (
            "other account",
            json!({"bound_iam_principal_arn": ["arn:aws:iam::123456789012:role/*"]}),
            json!({"iam_principal_arn": "arn:aws:iam::210987654321:role/deployer"}),
            Verdict::Refused,
        ),
        (
            "principal unknown",
            json!({"bound_iam_principal_arn": [role_arn]}),
            json!({}),
            Verdict::Unknown,
        ),
    ];
    for (case, body, id, want) in cases {
        let id = aws_id(id);
        let a = judge(&m, &aws_role(body), &aws_cred(&id));
        assert_eq!(verdict(&a), want, "{case}: {a:#?}");
    }
}

#[test]
fn aws_resolved_arn_match_is_a_condition() {
    // resolve_aws_unique_ids (default true): an ARN match alone does not prove the unique id.
    let role = aws_role(json!({
        "bound_iam_principal_arn": ["arn:aws:iam::123456789012:role/ci/deployer"],
        "bound_iam_principal_id": ["AROAEXAMPLE"],
    }));
    let id =
        aws_id(json!({"iam_principal_arn": "arn:aws:sts::123456789012:assumed-role/deployer/s"}));
    let a = judge(&mount("aws", None), &role, &aws_cred(&id));
    assert_eq!(a.verdict, Verdict::Admitted, "{a:#?}");
    assert!(
        a.conditions
            .iter()
            .any(|c| c.contains("resolve_aws_unique_ids")),
        "{a:#?}"
    );
    assert_eq!(a.token.policies, ["default", "deploy"]);
    assert_eq!(a.alias.as_ref().unwrap().name, "rid-1");
}

#[test]
fn aws_auth_type_and_header() {
    let m = mount(
        "aws",
        Some(json!({"iam_server_id_header_value": "vault.acme"})),
    );
    let role = aws_role(json!({"bound_iam_principal_arn": ["arn:aws:iam::123456789012:*"]}));
    let iam = aws_id(json!({"iam_principal_arn": "arn:aws:iam::123456789012:user/ci"}));
    let a = judge(&m, &role, &aws_cred(&iam));
    assert_eq!(a.verdict, Verdict::Admitted);
    assert!(a
        .conditions
        .iter()
        .any(|c| c.contains("X-Vault-AWS-IAM-Server-ID")));
    assert!(
        !a.conditions.iter().any(|c| c.contains("vault.acme")),
        "the header value stays out"
    );
    // "auth method ec2 not allowed for role" (pathLoginUpdateEc2).
    let ec2 = aws_id(json!({"auth_type": "ec2", "ec2_instance_id": "i-1"}));
    assert_eq!(judge(&m, &role, &aws_cred(&ec2)).verdict, Verdict::Refused);
    let no_id = Credential::new(Method::Aws);
    assert_eq!(judge(&m, &role, &no_id).verdict, Verdict::Unknown);
}

#[test]
fn aws_instance_bindings() {
    // verifyInstanceMeetsRoleRequirements, in its order, for auth_type ec2 and inferred instances.
    let m = mount("aws", None);
    let ec2 = json!({
        "auth_type": "ec2", "ec2_instance_id": "i-1", "account_id": "123456789012",
        "region": "eu-west-1", "ami_id": "ami-1", "vpc_id": "vpc-1", "subnet_id": "subnet-1",
        "instance_profile_arn": "arn:aws:iam::123456789012:instance-profile/ci/runner",
        "iam_role_arn": "arn:aws:iam::123456789012:role/runner",
    });
    let cases = [
        (
            json!({"bound_ami_id": ["ami-1"], "bound_region": ["eu-west-1"]}),
            Verdict::Admitted,
        ),
        (json!({"bound_ami_id": ["ami-2"]}), Verdict::Refused),
        (
            json!({"bound_account_id": ["123456789012"], "bound_vpc_id": ["vpc-1"]}),
            Verdict::Admitted,
        ),
        (json!({"bound_subnet_id": ["subnet-2"]}), Verdict::Refused),
        (json!({"bound_region": ["us-east-1"]}), Verdict::Refused),
        (
            json!({"bound_ec2_instance_id": ["i-1", "i-2"]}),
            Verdict::Admitted,
        ),
        // Instance profile and role ARNs: a trailing `*` is a prefix, a middle `*` is literal.
        (
            json!({"bound_iam_instance_profile_arn": ["arn:aws:iam::123456789012:instance-profile/ci/*"]}),
            Verdict::Admitted,
        ),
        (
            json!({"bound_iam_instance_profile_arn": ["arn:aws:iam::*:instance-profile/ci/runner"]}),
            Verdict::Refused,
        ),
        (
            json!({"bound_iam_role_arn": ["arn:aws:iam::123456789012:role/run*"]}),
            Verdict::Admitted,
        ),
    ];
    for (body, want) in cases {
        let mut b = body.clone();
        b["auth_type"] = json!("ec2");
        let id = aws_id(ec2.clone());
        let a = judge(&m, &aws_role(b), &aws_cred(&id));
        assert_eq!(a.verdict, want, "{body}: {a:#?}");
    }
    // Inferred instances (pathLoginUpdateIam with inferred_entity_type = ec2_instance).
    let role = aws_role(json!({
        "inferred_entity_type": "ec2_instance", "inferred_aws_region": "eu-west-1",
        "bound_ami_id": ["ami-1"],
    }));
    let mut id = aws_id(json!({
        "iam_principal_arn": "arn:aws:sts::123456789012:assumed-role/runner/i-1",
        "ec2_instance_id": "i-1", "region": "eu-west-1", "ami_id": "ami-1",
    }));
    assert_eq!(judge(&m, &role, &aws_cred(&id)).verdict, Verdict::Admitted);
    id.region = Some("us-east-1".into());
    assert_eq!(judge(&m, &role, &aws_cred(&id)).verdict, Verdict::Refused);
    id.region = None;
    assert_eq!(judge(&m, &role, &aws_cred(&id)).verdict, Verdict::Unknown);
}

#[test]
fn aws_arn_parsing_like_parse_iam_arn() {
    // TestParseIamArn (vault builtin/credential/aws/path_login_test.go).
    let a = IamArn::parse("arn:aws:iam::123456789012:user/path/to/myUser").unwrap();
    assert_eq!(
        (a.entity_type.as_str(), a.path.as_str(), a.name.as_str()),
        ("user", "path/to", "myUser")
    );
    assert_eq!(a.canonical(), "arn:aws:iam::123456789012:user/myUser");
    let s = IamArn::parse("arn:aws-cn:sts::123456789012:assumed-role/myRole/mySession").unwrap();
    assert_eq!(s.canonical(), "arn:aws-cn:iam::123456789012:role/myRole");
    assert_eq!(s.session.as_deref(), Some("mySession"));
    for bad in [
        "",
        "arn:aws:iam::1:",
        "arn:aws:ec2::1:role/x",
        "nope:aws:iam::1:role/x",
        "arn:aws:iam::1:group/x",
        "arn:aws:sts::1:assumed-role/x",
    ] {
        assert!(IamArn::parse(bad).is_err(), "{bad}");
    }
    assert!(aws::globbed_strings_match("*ploy*", "deploy-1"));
    assert!(!aws::globbed_strings_match("*", "anything"));
}

// ---- GCP ----------------------------------------------------------------------------------------

fn gcp_role(body: Value) -> OtherRole {
    let mut b = body;
    b["role_id"] = json!("gcp-rid");
    b["token_policies"] = json!(["builder"]);
    other("role", "build", b)
}

fn gcp_cred(id: &GcpIdentity) -> Credential<'_> {
    Credential {
        gcp: Some(id),
        ..Credential::new(Method::Gcp)
    }
}

fn gcp_id(v: Value) -> GcpIdentity {
    serde_json::from_value(v).expect("a GCP identity")
}

#[test]
fn gcp_iam_service_accounts_and_projects() {
    // authorizeIAMServiceAccount (plugin/path_login.go); TestRoleIam_Wildcard, TestLogin_IAM.
    let m = mount("gcp", None);
    let sa =
        json!({"service_account_email": "ci@acme.iam.gserviceaccount.com", "project_id": "acme"});
    let cases = [
        (
            json!({"type": "iam", "bound_service_accounts": ["*"]}),
            sa.clone(),
            Verdict::Admitted,
        ),
        (
            json!({"type": "iam", "bound_service_accounts": ["ci@acme.iam.gserviceaccount.com"]}),
            sa.clone(),
            Verdict::Admitted,
        ),
        (
            json!({"type": "iam", "bound_service_accounts": ["other@acme.iam.gserviceaccount.com"]}),
            sa.clone(),
            Verdict::Refused,
        ),
        // The numeric id may be listed instead of the email: unknown without it.
        (
            json!({"type": "iam", "bound_service_accounts": ["1234567890"]}),
            sa.clone(),
            Verdict::Unknown,
        ),
        (
            json!({"type": "iam", "bound_service_accounts": ["*"], "bound_projects": ["other"]}),
            sa.clone(),
            Verdict::Refused,
        ),
        (
            json!({"type": "iam", "bound_service_accounts": ["*"], "bound_projects": ["acme"]}),
            sa.clone(),
            Verdict::Admitted,
        ),
        // "Got GCE token but IAM role does not allow GCE inference".
        (
            json!({"type": "iam", "bound_service_accounts": ["*"]}),
            json!({"type": "gce", "service_account_email": "x@y"}),
            Verdict::Refused,
        ),
        (
            json!({"type": "iam", "bound_service_accounts": ["*"], "allow_gce_inference": true}),
            json!({"type": "gce"}),
            Verdict::Admitted,
        ),
        // pathLogin: "login against role type ... is unsupported".
        (json!({"type": "oci"}), sa.clone(), Verdict::Refused),
    ];
    for (body, id, want) in cases {
        let id = gcp_id(id);
        let a = judge(&m, &gcp_role(body.clone()), &gcp_cred(&id));
        assert_eq!(a.verdict, want, "{body}: {a:#?}");
    }
}

#[test]
fn gcp_gce_bindings() {
    // TestAuthorizeGCE (plugin/authorizer_gce_test.go): labels, zones, regions, groups, accounts.
    let m = mount("gcp", None);
    let inst = json!({
        "type": "gce", "project_id": "acme", "service_account_email": "ci@acme.iam.gserviceaccount.com",
        "zone": "https://www.googleapis.com/compute/v1/projects/acme/zones/us-east1-a",
        "labels": {"foo": "bar"}, "instance_groups": ["runners"], "instance_id": "42",
    });
    let cases = [
        (
            "labels_no_match_key",
            json!({"bound_labels": {"foo": "bar", "zip": "zap"}}),
            Verdict::Refused,
        ),
        (
            "labels_no_match_value",
            json!({"bound_labels": ["foo:zip"]}),
            Verdict::Refused,
        ),
        (
            "labels_match",
            json!({"bound_labels": {"foo": "bar"}}),
            Verdict::Admitted,
        ),
        (
            "zone_as_self_link_exists",
            json!({"bound_zones": ["us-east1-a", "us-west1-b"]}),
            Verdict::Admitted,
        ),
        (
            "zone_no_exists",
            json!({"bound_zones": ["eu-west1-a"]}),
            Verdict::Refused,
        ),
        (
            "region_as_self_link_exists",
            json!({"bound_regions": ["us-east1", "us-west1"]}),
            Verdict::Admitted,
        ),
        (
            "region_no_exists",
            json!({"bound_regions": ["eu-west1"]}),
            Verdict::Refused,
        ),
        // Zones win over regions (validateForGCE: "bound_regions will be ignored").
        (
            "zones_over_regions",
            json!({"bound_zones": ["us-east1-a"], "bound_regions": ["eu-west1"]}),
            Verdict::Admitted,
        ),
        (
            "group_without_zone",
            json!({"bound_instance_groups": ["runners"]}),
            Verdict::Refused,
        ),
        (
            "group_member",
            json!({"bound_instance_groups": ["runners"], "bound_zones": ["us-east1-a"]}),
            Verdict::Admitted,
        ),
        (
            "group_not_member",
            json!({"bound_instance_groups": ["db"], "bound_zones": ["us-east1-a"]}),
            Verdict::Refused,
        ),
        // AuthorizeGCE compares service accounts exactly: `*` is no wildcard for gce roles.
        (
            "gce_star_is_literal",
            json!({"bound_service_accounts": ["*"]}),
            Verdict::Refused,
        ),
        (
            "project_mismatch",
            json!({"bound_projects": ["other"]}),
            Verdict::Refused,
        ),
    ];
    for (case, body, want) in cases {
        let mut b = body;
        b["type"] = json!("gce");
        let id = gcp_id(inst.clone());
        let a = judge(&m, &gcp_role(b), &gcp_cred(&id));
        assert_eq!(a.verdict, want, "{case}: {a:#?}");
    }
    // An IAM-signed JWT cannot log into a gce role ("expected JWT to have claims with GCE metadata").
    let iam = gcp_id(json!({"service_account_email": "a@b"}));
    assert_eq!(
        judge(&m, &gcp_role(json!({"type": "gce"})), &gcp_cred(&iam)).verdict,
        Verdict::Refused
    );
    // Unknown labels and groups stay unknown.
    let bare = gcp_id(json!({"type": "gce", "zone": "us-east1-a"}));
    let role = gcp_role(json!({"type": "gce", "bound_labels": {"a": "b"}}));
    assert_eq!(judge(&m, &role, &gcp_cred(&bare)).verdict, Verdict::Unknown);
}

#[test]
fn gcp_alias_and_group_aliases() {
    let m = mount("gcp", Some(json!({"gce_alias": "instance_id"})));
    let id = gcp_id(json!({"type": "gce", "project_id": "acme", "instance_id": "42"}));
    let a = judge(
        &m,
        &gcp_role(json!({"type": "gce", "add_group_aliases": true})),
        &gcp_cred(&id),
    );
    assert_eq!(a.verdict, Verdict::Admitted, "{a:#?}");
    assert_eq!(a.alias.as_ref().unwrap().name, "gce-42");
    assert_eq!(a.group_aliases, ["project-acme"]);
    assert!(a.unknowns.iter().any(|u| u.contains("ancestry")));
    assert_eq!(a.token.policies, ["builder", "default"]);
    let iam = gcp_id(json!({"service_account_email": "a@b"}));
    let a = judge(
        &mount("gcp", None),
        &gcp_role(json!({"type": "iam", "bound_service_accounts": ["a@b"]})),
        &gcp_cred(&iam),
    );
    assert_eq!(a.alias.as_ref().unwrap().name, "gcp-rid");
}

// ---- Azure --------------------------------------------------------------------------------------

fn azure_cred(id: &AzureIdentity) -> Credential<'_> {
    Credential {
        azure: Some(id),
        ..Credential::new(Method::Azure)
    }
}

fn azure_id(v: Value) -> AzureIdentity {
    serde_json::from_value(v).expect("an Azure identity")
}

#[test]
fn azure_verify_role() {
    // TestVerifyClaims, TestLogin_BoundServicePrincipalID, TestLogin_BoundGroupID
    // (vault-plugin-auth-azure path_login_test.go).
    let m = mount("azure", None);
    let cases = [
        (
            "both globbed",
            json!({"bound_group_ids": ["*"], "bound_service_principal_ids": ["*"]}),
            json!({"service_principal_id": "x"}),
            Verdict::Refused,
        ),
        (
            "both empty",
            json!({}),
            json!({"service_principal_id": "x"}),
            Verdict::Refused,
        ),
        (
            "group not bound",
            json!({"bound_group_ids": ["test-group-1"], "bound_service_principal_ids": ["*"]}),
            json!({"group_ids": ["test-group-2"]}),
            Verdict::Refused,
        ),
        (
            "group bound",
            json!({"bound_group_ids": ["test-group-1", "test-group-2"], "bound_service_principal_ids": ["*"]}),
            json!({"group_ids": ["test-group-2"]}),
            Verdict::Admitted,
        ),
        (
            "oid case-insensitive",
            json!({"bound_service_principal_ids": ["SpiD1", "sPid2"]}),
            json!({"service_principal_id": "spid2"}),
            Verdict::Admitted,
        ),
        (
            "bad oid",
            json!({"bound_service_principal_ids": ["SpiD1"]}),
            json!({"service_principal_id": "bad id"}),
            Verdict::Refused,
        ),
        (
            "group case-insensitive",
            json!({"bound_group_ids": ["grp1", "grp2"]}),
            json!({"group_ids": ["GrP1"]}),
            Verdict::Admitted,
        ),
        // The plugin refuses a token without groups; the inventory not stating them is unknown.
        (
            "groups unknown",
            json!({"bound_group_ids": ["grp1"]}),
            json!({"service_principal_id": "x"}),
            Verdict::Unknown,
        ),
    ];
    for (case, body, id, want) in cases {
        let id = azure_id(id);
        let a = judge(&m, &other("role", "r", body), &azure_cred(&id));
        assert_eq!(a.verdict, want, "{case}: {a:#?}");
    }
}

#[test]
fn azure_verify_resource() {
    // TestLogin_BoundSubscriptionID, TestLogin_BoundResourceGroup, TestLogin_BoundLocation,
    // TestLogin_BoundScaleSet (verifyResource).
    let m = mount("azure", None);
    let vmss = json!({
        "service_principal_id": "oid-1", "subscription_id": "SUB-1", "resource_group": "rg",
        "location": "westeurope", "scale_set": "runners", "group_ids": ["g"],
    });
    let cases = [
        (
            "subscription",
            json!({"bound_subscription_ids": ["sub-1"]}),
            vmss.clone(),
            Verdict::Admitted,
        ),
        (
            "wrong subscription",
            json!({"bound_subscription_ids": ["sub-2"]}),
            vmss.clone(),
            Verdict::Refused,
        ),
        // `*` is not special outside the principal and group bindings.
        (
            "star subscription",
            json!({"bound_subscription_ids": ["*"]}),
            vmss.clone(),
            Verdict::Refused,
        ),
        (
            "resource group",
            json!({"bound_resource_groups": ["RG"]}),
            vmss.clone(),
            Verdict::Admitted,
        ),
        (
            "wrong resource group",
            json!({"bound_resource_groups": ["other"]}),
            vmss.clone(),
            Verdict::Refused,
        ),
        (
            "location",
            json!({"bound_locations": ["westeurope"]}),
            vmss.clone(),
            Verdict::Admitted,
        ),
        (
            "wrong location",
            json!({"bound_locations": ["eastus"]}),
            vmss.clone(),
            Verdict::Refused,
        ),
        (
            "scale set",
            json!({"bound_scale_sets": ["runners"]}),
            vmss.clone(),
            Verdict::Admitted,
        ),
        (
            "vm, not a scale set",
            json!({"bound_scale_sets": ["runners"]}),
            json!({"service_principal_id": "oid-1", "vm_name": "vm"}),
            Verdict::Refused,
        ),
        (
            "location unknown",
            json!({"bound_locations": ["eastus"]}),
            json!({"service_principal_id": "oid-1"}),
            Verdict::Unknown,
        ),
        // With an app id, workload identity federation skips the resource group check.
        (
            "wif",
            json!({"bound_resource_groups": ["other"]}),
            json!({"service_principal_id": "oid-1", "resource_group": "rg", "app_id": "app"}),
            Verdict::Unknown,
        ),
    ];
    for (case, body, id, want) in cases {
        let mut b = body;
        b["bound_service_principal_ids"] = json!(["*"]);
        b["bound_group_ids"] = json!(["g", "h"]);
        let mut id = id;
        id["group_ids"] = json!(["g"]);
        let id = azure_id(id);
        let a = judge(&m, &other("role", "r", b), &azure_cred(&id));
        assert_eq!(a.verdict, want, "{case}: {a:#?}");
    }
    let id = azure_id(vmss);
    let a = judge(
        &m,
        &other(
            "role",
            "r",
            json!({"bound_service_principal_ids": ["oid-1"]}),
        ),
        &azure_cred(&id),
    );
    assert_eq!(a.alias.as_ref().unwrap().name, "oid-1");
    assert_eq!(a.group_aliases, ["g"]);
}

// ---- GitHub -------------------------------------------------------------------------------------

fn github_mount(config: Value) -> AuthMount {
    let mut m = mount("github", Some(config));
    m.roles.other = vec![
        other(
            "map/teams",
            "platform-team",
            json!({"key": "platform-team", "value": "deploy, read"}),
        ),
        other(
            "map/teams",
            "default",
            json!({"key": "default", "value": "everyone"}),
        ),
        other(
            "map/users",
            "octocat",
            json!({"key": "octocat", "value": "admin"}),
        ),
        other(
            "map/users",
            "hubot",
            json!({"key": "hubot", "value": "bots"}),
        ),
    ];
    m
}

fn gh_cred(id: &GithubIdentity) -> Credential<'_> {
    Credential {
        github: Some(id),
        ..Credential::new(Method::Github)
    }
}

#[test]
fn github_teams_users_and_defaults() {
    // verifyCredentials + PolicyMap.Policies: config policies, default entries, team (name and
    // slug) and user mappings, keys lowercased.
    let m = github_mount(
        json!({"organization": "acme", "organization_id": 77, "token_policies": ["base"]}),
    );
    let id = GithubIdentity {
        user: Some("OctoCat".into()),
        organization: Some("acme".into()),
        organization_id: Some(77),
        teams: vec!["Platform Team".into()],
    };
    let all = admit_all(&m, &gh_cred(&id), &ServerInfo::default());
    let by: BTreeMap<_, _> = all.iter().map(|(n, a)| (n.as_str(), a)).collect();
    assert_eq!(by["platform-team"].verdict, Verdict::Admitted, "{all:#?}");
    assert_eq!(by["default"].verdict, Verdict::Admitted);
    assert_eq!(by["octocat"].verdict, Verdict::Admitted);
    assert_eq!(by["hubot"].verdict, Verdict::Refused);
    assert!(
        !by.contains_key("OctoCat"),
        "the user has an entry: no separate login"
    );
    assert_eq!(
        by["octocat"].token.policies,
        ["admin", "base", "default", "deploy", "everyone", "read"]
    );
    assert_eq!(by["octocat"].alias.as_ref().unwrap().name, "OctoCat");
    assert_eq!(by["octocat"].group_aliases, ["Platform Team"]);
}

#[test]
fn github_organisation_and_unknown_teams() {
    let id = GithubIdentity {
        user: Some("dev".into()),
        organization: Some("acme".into()),
        organization_id: None,
        teams: Vec::new(),
    };
    // organization_id unset: pinned on the first login (trust on first use) — a condition.
    let m = github_mount(json!({"organization": "acme"}));
    let all = admit_all(&m, &gh_cred(&id), &ServerInfo::default());
    let by: BTreeMap<_, _> = all.iter().map(|(n, a)| (n.as_str(), a)).collect();
    assert_eq!(by["dev"].verdict, Verdict::Admitted, "{all:#?}");
    assert!(by["dev"]
        .conditions
        .iter()
        .any(|c| c.contains("first login")));
    assert_eq!(by["dev"].token.policies, ["default", "everyone"]);
    assert_eq!(
        by["platform-team"].verdict,
        Verdict::Unknown,
        "teams not stated"
    );
    // Another organisation: membership unknown, never refused.
    let m = github_mount(json!({"organization": "other", "organization_id": 5}));
    let a = admit(
        &m,
        m.role("default").unwrap(),
        &gh_cred(&id),
        &ServerInfo::default(),
    );
    assert_eq!(a.verdict, Verdict::Unknown, "{a:#?}");
    // No organisation configured.
    let m = github_mount(json!({"base_url": "https://ghe.example"}));
    let a = admit(
        &m,
        m.role("default").unwrap(),
        &gh_cred(&id),
        &ServerInfo::default(),
    );
    assert_eq!(a.verdict, Verdict::Refused);
    // No config in the snapshot.
    let mut m = github_mount(json!({}));
    m.config = None;
    let a = admit(
        &m,
        m.role("default").unwrap(),
        &gh_cred(&id),
        &ServerInfo::default(),
    );
    assert_eq!(a.verdict, Verdict::Unknown);
}

#[test]
fn github_team_slugs() {
    assert_eq!(github::team_slug("Platform Team"), "platform-team");
    assert_eq!(github::team_slug("  A&B  c_d "), "a-b-c_d");
    assert_eq!(github::team_slug(""), "");
}

// ---- Properties: a role admits iff each binding does ----------------------------------------------

fn pick() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop::sample::select(vec!["a", "b", "c"]).prop_map(str::to_owned))
}

fn bound() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        prop::sample::select(vec!["a", "b", "c"]).prop_map(str::to_owned),
        0..3,
    )
}

/// The expected verdict of independent list bindings: any definite miss refuses; else any
/// missing value is unknown; else admitted.
fn expected(pairs: &[(Vec<String>, Option<String>)]) -> Verdict {
    let miss = pairs
        .iter()
        .any(|(b, v)| !b.is_empty() && v.as_ref().is_some_and(|v| !b.contains(v)));
    let unknown = pairs.iter().any(|(b, v)| !b.is_empty() && v.is_none());
    match (miss, unknown) {
        (true, _) => Verdict::Refused,
        (false, true) => Verdict::Unknown,
        (false, false) => Verdict::Admitted,
    }
}

proptest! {
    #[test]
    fn aws_ec2_admits_iff_each_binding_does(
        regions in bound(), accounts in bound(), amis in bound(), vpcs in bound(), subnets in bound(),
        instances in bound(), region in pick(), ami in pick(), vpc in pick(), subnet in pick(),
        instance in pick(), acct in prop::option::of(prop::sample::select(vec!["111111111111", "222222222222"])),
    ) {
        let acct_bound: Vec<String> = accounts.iter().map(|a| match a.as_str() {
            "a" => "111111111111".to_owned(), _ => "222222222222".to_owned() }).collect();
        let role = aws_role(json!({
            "auth_type": "ec2", "bound_region": regions, "bound_account_id": acct_bound,
            "bound_ami_id": amis, "bound_vpc_id": vpcs, "bound_subnet_id": subnets,
            "bound_ec2_instance_id": instances,
        }));
        let id = AwsIdentity {
            auth_type: Some(AwsAuthType::Ec2), region: region.clone(), ami_id: ami.clone(),
            vpc_id: vpc.clone(), subnet_id: subnet.clone(), ec2_instance_id: instance.clone(),
            account_id: acct.map(str::to_owned), ..AwsIdentity::default()
        };
        let want = expected(&[
            (regions, region), (acct_bound, acct.map(str::to_owned)), (amis, ami), (vpcs, vpc),
            (subnets, subnet), (instances, instance),
        ]);
        let a = judge(&mount("aws", None), &role, &aws_cred(&id));
        prop_assert_eq!(a.verdict, want, "{:#?}", a);
    }

    #[test]
    fn azure_resource_admits_iff_each_binding_does(
        subs in bound(), rgs in bound(), locs in bound(), sub in pick(), rg in pick(), loc in pick(),
    ) {
        let role = other("role", "r", json!({
            "bound_service_principal_ids": ["oid"], "bound_subscription_ids": subs,
            "bound_resource_groups": rgs, "bound_locations": locs,
        }));
        let id = AzureIdentity {
            service_principal_id: Some("oid".into()), subscription_id: sub.clone(),
            resource_group: rg.clone(), location: loc.clone(), group_ids: vec!["g".into()],
            ..AzureIdentity::default()
        };
        let want = expected(&[(subs, sub), (rgs, rg), (locs, loc)]);
        let a = judge(&mount("azure", None), &role, &azure_cred(&id));
        prop_assert_eq!(a.verdict, want, "{:#?}", a);
    }

    #[test]
    fn gcp_gce_admits_iff_each_binding_does(
        projects in bound(), zones in bound(), project in pick(), zone in pick(),
    ) {
        let role = gcp_role(json!({"type": "gce", "bound_projects": projects, "bound_zones": zones}));
        let id = GcpIdentity {
            login_type: Some(GcpLoginType::Gce), project_id: project.clone(), zone: zone.clone(),
            ..GcpIdentity::default()
        };
        let want = expected(&[(projects, project), (zones, zone)]);
        let a = judge(&mount("gcp", None), &role, &gcp_cred(&id));
        prop_assert_eq!(a.verdict, want, "{:#?}", a);
    }

    #[test]
    fn hostile_identities_never_panic(arn in ".{0,200}", s in ".{0,64}") {
        let _ = IamArn::parse(&arn);
        let role = aws_role(json!({"bound_iam_principal_arn": [s.clone(), format!("{s}*"), format!("*{s}")]}));
        let id = AwsIdentity { iam_principal_arn: Some(arn.clone()), iam_unique_id: Some(s.clone()), ..AwsIdentity::default() };
        let _ = judge(&mount("aws", None), &role, &aws_cred(&id));
        let _ = github::team_slug(&s);
        let g = GcpIdentity { zone: Some(arn.clone()), region: None, service_account_email: Some(s.clone()), ..GcpIdentity::default() };
        let _ = g.region();
        let role = gcp_role(json!({"type": "gce", "bound_zones": [s.clone()], "bound_regions": [arn.clone()], "bound_labels": [format!("{s}:{s}")]}));
        let _ = judge(&mount("gcp", None), &role, &gcp_cred(&g));
        let z = AzureIdentity { service_principal_id: Some(s.clone()), group_ids: vec![arn.clone()], ..AzureIdentity::default() };
        let role = other("role", "r", json!({"bound_service_principal_ids": [s.clone()], "bound_group_ids": [arn.clone()], "bound_locations": ["*"]}));
        let _ = judge(&mount("azure", None), &role, &azure_cred(&z));
        let m = github_mount(json!({"organization": s.clone(), "organization_id": 1}));
        let gh = GithubIdentity { user: Some(s.clone()), organization: Some(arn.clone()), organization_id: None, teams: vec![s] };
        let _ = admit_all(&m, &gh_cred(&gh), &ServerInfo::default());
    }
}

/// A role exactly as `awsRoleEntry.ToResponseData` answers (null lists, token fields), with the
/// `iam_alias = unique_id` identity config.
#[test]
fn aws_role_as_the_server_answers_it() {
    let role: OtherRole = serde_json::from_value(json!({
        "collection": "role", "name": "deploy",
        "auth_type": "iam", "bound_ami_id": [], "bound_account_id": [], "bound_ec2_instance_id": null,
        "bound_iam_principal_arn": ["arn:aws:iam::123456789012:role/ci/*"], "bound_iam_principal_id": [],
        "bound_iam_role_arn": [], "bound_iam_instance_profile_arn": [], "bound_region": [],
        "bound_subnet_id": [], "bound_vpc_id": [], "inferred_entity_type": "", "inferred_aws_region": "",
        "resolve_aws_unique_ids": true, "role_id": "9d1c-aws-role", "role_tag": "",
        "allow_instance_migration": false, "disallow_reauthentication": false,
        "token_policies": ["aws-deploy"], "token_ttl": 0, "token_max_ttl": 0, "token_period": 0,
        "token_explicit_max_ttl": 0, "token_no_default_policy": false, "token_num_uses": 0,
        "token_type": "default", "token_bound_cidrs": []
    })).unwrap();
    let id = aws_id(
        json!({"iam_principal_arn": "arn:aws:iam::123456789012:role/ci/deployer", "iam_unique_id": "AROAEXAMPLE"}),
    );
    let a = judge(
        &mount("aws", Some(json!({"iam_alias": "unique_id"}))),
        &role,
        &aws_cred(&id),
    );
    assert_eq!(a.verdict, Verdict::Admitted, "{a:#?}");
    assert_eq!(a.alias.as_ref().unwrap().name, "AROAEXAMPLE");
}
