//! `blastmap export` of `aws`, `gcp`, `azure` and `github` auth mounts from answers shaped as
//! those plugins return them (OpenBao ships none of them), then `reach` on the snapshot: the
//! roles and configs land in the snapshot without key material, and each pipeline's identity is
//! admitted or refused by the plugins' rules.

use crate::common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use common::hostile::{self, Hostile, Limits, Reply, Seen};
use serde_json::{json, Value};

const TOKEN: &str = "hvs.CAESICloudAuthExportTestToken0123456789";

fn blastmap(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_blastmap"));
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("VAULT_") || k.starts_with("BAO_") || k.starts_with("BLASTMAP_") {
            cmd.env_remove(&k);
        }
    }
    cmd.env("HOME", home).env("VAULT_TOKEN", TOKEN);
    cmd
}

fn mount(kind: &str) -> Value {
    json!({"type": kind, "accessor": format!("auth_{kind}_0a1b"), "description": "", "local": false,
           "seal_wrap": false, "options": null, "config": {"default_lease_ttl": 0, "max_lease_ttl": 0}})
}

/// The token fields every role read response carries (tokenutil `PopulateTokenData`).
fn token_fields(policies: &[&str]) -> Value {
    json!({"token_policies": policies, "token_ttl": 0, "token_max_ttl": 0, "token_period": 0,
           "token_explicit_max_ttl": 0, "token_no_default_policy": false, "token_num_uses": 0,
           "token_type": "default", "token_bound_cidrs": []})
}

/// A read answer: the object with the token fields, under `data`.
fn with_tokens(mut role: Value, policies: &[&str]) -> Value {
    for (k, v) in token_fields(policies).as_object().unwrap() {
        role[k] = v.clone();
    }
    json!({ "data": role })
}

/// Recorded answers, by request path.
fn answer(seen: &Seen) -> Option<Value> {
    let list = seen.method == "LIST";
    let v = match (list, seen.path()) {
        (false, "sys/auth") => json!({"data": {
            "aws/": mount("aws"), "gcp/": mount("gcp"), "azure/": mount("azure"), "github/": mount("github"),
        }}),
        // vault builtin/credential/aws: pathConfigClientRead, pathConfigIdentityRead.
        (false, "auth/aws/config/client") => json!({"data": {
            "access_key": "AKIAEXAMPLEEXPORTKEY", "secret_key": "should-never-be-returned",
            "endpoint": "", "iam_endpoint": "", "sts_endpoint": "", "sts_region": "",
            "iam_server_id_header_value": "vault.acme.example", "max_retries": -1,
        }}),
        (false, "auth/aws/config/identity") => json!({"data": {
            "iam_alias": "unique_id", "iam_metadata": ["account_id", "auth_type"],
            "ec2_alias": "role_id", "ec2_metadata": ["account_id", "auth_type"],
        }}),
        (true, "auth/aws/role") => json!({"data": {"keys": ["deploy", "any-account"]}}),
        // awsRoleEntry.ToResponseData.
        (false, "auth/aws/role/deploy") => with_tokens(
            json!({
                "auth_type": "iam", "bound_ami_id": [], "bound_account_id": [], "bound_ec2_instance_id": null,
                "bound_iam_principal_arn": ["arn:aws:iam::123456789012:role/ci/*"], "bound_iam_principal_id": [],
                "bound_iam_role_arn": [], "bound_iam_instance_profile_arn": [], "bound_region": [],
                "bound_subnet_id": [], "bound_vpc_id": [], "inferred_entity_type": "", "inferred_aws_region": "",
                "resolve_aws_unique_ids": true, "role_id": "9d1c-aws-role", "role_tag": "",
                "allow_instance_migration": false, "disallow_reauthentication": false,
            }),
            &["aws-deploy"],
        ),
        (false, "auth/aws/role/any-account") => with_tokens(
            json!({
                "auth_type": "iam", "bound_iam_principal_arn": ["arn:aws:iam::210987654321:*"],
                "bound_iam_principal_id": [], "resolve_aws_unique_ids": true, "role_id": "r2",
            }),
            &["other"],
        ),
        // vault-plugin-auth-gcp plugin/path_config.go pathConfigRead (no credentials returned).
        (false, "auth/gcp/config") => json!({"data": {
            "client_email": "vault@acme.iam.gserviceaccount.com", "private_key_id": "k-123",
            "project_id": "acme", "iam_alias": "role_id", "gce_alias": "instance_id",
            "iam_metadata": ["default"], "gce_metadata": ["default"],
        }}),
        (true, "auth/gcp/role") => json!({"data": {"keys": ["build", "runners"]}}),
        (false, "auth/gcp/role/build") => with_tokens(
            json!({
                "role_id": "gcp-build-id", "type": "iam", "bound_service_accounts": ["*"],
                "bound_projects": ["acme"], "add_group_aliases": false, "max_jwt_exp": 900,
                "allow_gce_inference": false,
            }),
            &["gcp-build"],
        ),
        (false, "auth/gcp/role/runners") => with_tokens(
            json!({
                "role_id": "gcp-runners-id", "type": "gce", "bound_service_accounts": ["ci@acme.iam.gserviceaccount.com"],
                "bound_projects": ["acme"], "add_group_aliases": true, "bound_zones": ["europe-west1-b"],
                "bound_labels": {"env": "prod"},
            }),
            &["gce-runner"],
        ),
        // vault-plugin-auth-azure path_config.go pathConfigRead.
        (false, "auth/azure/config") => json!({"data": {
            "tenant_id": "11111111-2222-3333-4444-555555555555", "resource": "https://management.azure.com/",
            "environment": "AzurePublicCloud", "client_id": "cid", "root_password_ttl": 15_552_000,
        }}),
        (true, "auth/azure/role") => json!({"data": {"keys": ["vmss"]}}),
        (false, "auth/azure/role/vmss") => with_tokens(
            json!({
                "bound_service_principal_ids": ["*"], "bound_group_ids": ["grp-ci"],
                "bound_subscription_ids": ["1234abcd-1234-abcd-1234-abcd1234ef90"],
                "bound_resource_groups": ["rg-ci"], "bound_locations": [], "bound_scale_sets": ["runners"],
            }),
            &["azure-runner"],
        ),
        // The GitHub plugin: pathConfigRead, and PathMap entries (`value` as written).
        (false, "auth/github/config") => with_tokens(
            json!({
                "organization": "acme", "organization_id": 77, "base_url": "",
            }),
            &["gh-base"],
        ),
        (true, "auth/github/map/teams") => json!({"data": {"keys": ["platform", "default"]}}),
        (true, "auth/github/map/users") => json!({"data": {"keys": ["octocat"]}}),
        (false, "auth/github/map/teams/platform") => json!({"data": {"value": "deploy,read"}}),
        (false, "auth/github/map/teams/default") => json!({"data": {"value": "everyone"}}),
        (false, "auth/github/map/users/octocat") => json!({"data": {"value": "admin"}}),
        _ => return None,
    };
    Some(v)
}

const PIPELINES: &str = r#"
pipelines:
  - name: aws-deploy
    auth:
      method: aws
      mount: aws
      aws:
        iam_principal_arn: arn:aws:iam::123456789012:role/ci/deployer
        iam_unique_id: AROAEXAMPLE
  - name: gcp-runner
    auth:
      method: gcp
      mount: gcp
      gcp:
        type: gce
        service_account_email: ci@acme.iam.gserviceaccount.com
        project_id: acme
        zone: europe-west1-b
        labels: {env: prod}
        instance_id: "4242"
  - name: azure-runner
    auth:
      method: azure
      mount: azure
      azure:
        service_principal_id: 0f0f-oid
        group_ids: [grp-ci]
        subscription_id: 1234abcd-1234-abcd-1234-abcd1234ef90
        resource_group: rg-ci
        scale_set: runners
  - name: gh-token
    auth:
      method: github
      mount: github
      github:
        user: octocat
        organization: acme
        organization_id: 77
        teams: [platform]
"#;

fn roles(reach: &Value, pipeline: &str) -> Vec<(String, String)> {
    let p = reach["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == pipeline)
        .unwrap_or_else(|| panic!("no pipeline {pipeline}"));
    p["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["role"].as_str().unwrap().to_owned(),
                r["verdict"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn cloud_auth_mounts_export_and_admit_their_pipelines() {
    let server = Hostile::start(
        Arc::new(|seen: &Seen| match answer(seen) {
            Some(v) => Reply::Json(200, v.to_string()),
            None => hostile::healthy(seen),
        }),
        Limits::default(),
    );
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap.json");
    let out = blastmap(dir.path())
        .args(["export", "--quiet", "--retries", "0", "--address"])
        .arg(server.addr())
        .arg("--out")
        .arg(&snap)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&snap).unwrap();
    for secret in [
        "AKIAEXAMPLEEXPORTKEY",
        "should-never-be-returned",
        "k-123",
        TOKEN,
    ] {
        assert!(!text.contains(secret), "{secret} reached the snapshot");
    }
    let s: Value = serde_json::from_str(&text).unwrap();
    let mounts = s["namespaces"][0]["auth_mounts"].as_array().unwrap();
    let aws = mounts.iter().find(|m| m["type"] == "aws").unwrap();
    assert_eq!(
        aws["config"]["iam_server_id_header_value"],
        "vault.acme.example"
    );
    assert_eq!(aws["config"]["iam_alias"], "unique_id");
    assert_eq!(aws["roles"]["other"].as_array().unwrap().len(), 2);

    let inv = dir.path().join("pipelines.yaml");
    std::fs::write(&inv, PIPELINES).unwrap();
    let out = blastmap(dir.path())
        .args(["reach", "--format", "json", "--snapshot"])
        .arg(&snap)
        .arg("--pipelines")
        .arg(&inv)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reach: Value = serde_json::from_slice(&out.stdout).unwrap();
    let whys: Vec<&Value> = reach["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["roles"].as_array().unwrap())
        .collect();
    let whys = format!("{whys:#?}");
    let v = |s: &str| s.to_owned();
    assert_eq!(
        roles(&reach, "aws-deploy"),
        // Refused roles are not part of a pipeline's reach.
        [(v("deploy"), v("admitted"))],
        "{whys}"
    );
    assert_eq!(
        roles(&reach, "gcp-runner"),
        [(v("runners"), v("admitted"))],
        "{whys}"
    );
    assert_eq!(
        roles(&reach, "azure-runner"),
        [(v("vmss"), v("admitted"))],
        "{whys}"
    );
    // The other account's role and the IAM role refusing a GCE token are not reached.
    let gh = roles(&reach, "gh-token");
    for want in [
        (v("platform"), v("admitted")),
        (v("default"), v("admitted")),
        (v("octocat"), v("admitted")),
    ] {
        assert!(gh.contains(&want), "{gh:?} {whys}");
    }
}
