//! CircleCI, Buildkite, Bitbucket Pipelines, HCP Terraform and Azure DevOps ID tokens judged by
//! real logins on an OpenBao dev server.
//!
//! One JWT mount per issuer, each trusting a locally generated key with the issuer's
//! `bound_issuer` (a CircleCI organisation's issuer; Buildkite's shared one). Roles are bound as
//! each vendor's documentation recommends (CircleCI: project id and `ssh-rerun: false`;
//! Buildkite: organisation and pipeline ids requested with `--claim`) and in the weaker or
//! mistaken ways seen in practice (slugs only, a glob over `sub`, a boolean bound as a string, a
//! step key, a number bound as a string; Bitbucket UUIDs without their braces, HCP Terraform names
//! instead of ids and a glob over `sub`, an Azure DevOps definition id bound as a number). Tokens
//! carry each issuer's claims with their real
//! types (a list of context ids, a boolean `ssh-rerun`, a numeric `build_number`, a `null`
//! `step_key`), including the claims `blastmap discover` wrote for the fixture pipelines with
//! their dynamic values filled in. For every token × role the server's accept/refuse must equal
//! `login::admit`.

use crate::common;

use blastmap::inventory::Inventory;
use blastmap::login::{admit, Credential, Verdict};
use blastmap::model::{AuthMount, JwtRole, MountTune, RoleRef, ServerInfo};
use common::jwt::Signer;
use common::BaoServer;
use serde_json::{json, Map, Value};

const CIRCLE_ORG: &str = "4b4bc4e4-0c8f-4d59-9a61-0f0b1b6c2d8e";
const CIRCLE_PROJECT: &str = "8a2f0c4d-5e6b-4a7c-9d8e-1f2a3b4c5d6e";
const CIRCLE_CONTEXT: &str = "c7d1f2a4-6b3e-4e5f-8a9b-0c1d2e3f4a5b";
const BK_ORG_ID: &str = "0190f1a2-7b3c-4d5e-8f60-a1b2c3d4e5f6";
const BK_PIPELINE_ID: &str = "0190f1a2-9c8d-4e7f-a6b5-c4d3e2f1a0b9";
const BK_AUD: &str = "https://bao.acme.example";
const BB_WS: &str = "{3f6c2a1e-8b4d-4c7e-9a2f-5d1e0b7c9a34}";
const BB_REPO: &str = "{b2e4d6f8-1a3c-4e5f-8b7d-9c0a2e4f6b81}";
const BB_PROD: &str = "{7d9e1f3a-5b6c-4d8e-a0f2-3b4c5d6e7f81}";
const TFC_ORG: &str = "org-Hk3dPq8sLm2Xv9Ra";
const TFC_WS: &str = "ws-Rb3nX9kPq2Lm7VtA";
const ADO_ORG: &str = "5c3f1e2d-8a4b-4c6d-9e0f-1a2b3c4d5e6f";
const ADO_PRJ: &str = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a";

fn circleci_issuer() -> String {
    format!("https://oidc.circleci.com/org/{CIRCLE_ORG}")
}

fn circleci_roles() -> Vec<(&'static str, Value)> {
    let c = |k: &str| format!("oidc.circleci.com/{k}");
    vec![
        // CircleCI's recommendation: the project, and no SSH reruns (a boolean).
        (
            "payments-ci",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": [CIRCLE_ORG],
            "bound_claims": {c("project-id"): CIRCLE_PROJECT, c("ssh-rerun"): false}, "token_policies": ["ci"]}),
        ),
        // Deploys: also the production context (one of the token's context ids) and main.
        (
            "payments-deploy",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": [CIRCLE_ORG],
            "bound_claims": {c("project-id"): CIRCLE_PROJECT, c("context-ids"): [CIRCLE_CONTEXT],
                             c("vcs-ref"): "refs/heads/main", c("ssh-rerun"): false},
            "token_policies": ["deploy"]}),
        ),
        // A boolean bound as the string "false": never equal to the token's boolean.
        (
            "ssh-as-string",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": [CIRCLE_ORG],
            "bound_claims": {c("ssh-rerun"): "false"}, "token_policies": ["x"]}),
        ),
        // A glob over the v2 subject: `*` crosses `/`.
        (
            "sub-glob",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": [CIRCLE_ORG],
            "bound_claims_type": "glob",
            "bound_claims": {"sub": format!("org/{CIRCLE_ORG}/project/{CIRCLE_PROJECT}/user/*/vcs-origin/github.com/acme/payments-api/vcs-ref/refs/heads/main")},
            "token_policies": ["x"]}),
        ),
        // The JSON-pointer spelling of the project claim.
        (
            "pointer",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": [CIRCLE_ORG],
            "bound_claims": {"/oidc.circleci.com~1project-id": CIRCLE_PROJECT}, "token_policies": ["x"]}),
        ),
        // A custom audience (`circleci run oidc get --claims '{"aud":"bao"}'`).
        (
            "custom-aud",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["bao"],
            "token_policies": ["x"]}),
        ),
    ]
}

fn buildkite_roles() -> Vec<(&'static str, Value)> {
    vec![
        // Buildkite's recommendation: organisation and pipeline ids (requested with --claim).
        (
            "deploy-tools-ci",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": [BK_AUD],
            "bound_claims": {"organization_id": BK_ORG_ID, "pipeline_id": BK_PIPELINE_ID}, "token_policies": ["ci"]}),
        ),
        // Slugs and the branch.
        (
            "deploy-tools-release",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": [BK_AUD],
            "bound_claims": {"organization_slug": "acme", "pipeline_slug": "deploy-tools", "build_branch": ["main"]},
            "token_policies": ["release"]}),
        ),
        // A step key: a step without `key` has `step_key: null`, which never matches.
        (
            "step-publish",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": [BK_AUD],
            "bound_claims": {"organization_slug": "acme", "step_key": "publish"}, "token_policies": ["x"]}),
        ),
        // A glob over `sub`.
        (
            "sub-glob",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": [BK_AUD],
            "bound_claims_type": "glob",
            "bound_claims": {"sub": "organization:acme:pipeline:deploy-tools:ref:refs/heads/main:*"},
            "token_policies": ["x"]}),
        ),
        // build_number is a JSON number: bound as a string it never matches, as a number it does.
        (
            "number-as-string",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": [BK_AUD],
            "bound_claims": {"build_number": "42"}, "token_policies": ["x"]}),
        ),
        (
            "number",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": [BK_AUD],
            "bound_claims": {"build_number": 42}, "token_policies": ["x"]}),
        ),
        // The default audience only: every organisation can ask for it.
        (
            "default-aud",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["https://buildkite.com/acme"],
            "token_policies": ["x"]}),
        ),
    ]
}

fn circleci_token(
    v2: bool,
    context_ids: &[&str],
    vcs_ref: &str,
    ssh_rerun: bool,
) -> Map<String, Value> {
    let mut sub = format!(
        "org/{CIRCLE_ORG}/project/{CIRCLE_PROJECT}/user/5e1a0b1c-2d3e-4f50-8a9b-0c1d2e3f4a5b"
    );
    if v2 {
        sub.push_str(&format!(
            "/vcs-origin/github.com/acme/payments-api/vcs-ref/{vcs_ref}"
        ));
    }
    let v = json!({
        "iss": circleci_issuer(), "aud": CIRCLE_ORG, "sub": sub,
        "oidc.circleci.com/org-id": CIRCLE_ORG,
        "oidc.circleci.com/project-id": CIRCLE_PROJECT,
        "oidc.circleci.com/context-ids": context_ids,
        "oidc.circleci.com/vcs-origin": "github.com/acme/payments-api",
        "oidc.circleci.com/vcs-ref": vcs_ref,
        "oidc.circleci.com/ssh-rerun": ssh_rerun,
    });
    v.as_object().unwrap().clone()
}

fn buildkite_token(
    branch: &str,
    step_key: Option<&str>,
    ids: bool,
    aud: &str,
) -> Map<String, Value> {
    let commit = "5f2c3b1a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b";
    let mut v = json!({
        "iss": "https://agent.buildkite.com", "aud": aud,
        "sub": format!("organization:acme:pipeline:deploy-tools:ref:refs/heads/{branch}:commit:{commit}:step:{}", step_key.unwrap_or("")),
        "organization_slug": "acme", "pipeline_slug": "deploy-tools",
        "build_number": 42, "build_branch": branch, "build_commit": commit,
        "step_key": step_key, "job_id": "0190f1a3-0000-4000-8000-000000000001",
        "agent_id": "0190f1a3-0000-4000-8000-000000000002", "build_source": "webhook",
        "runner_environment": "self-hosted",
    });
    if ids {
        v["organization_id"] = json!(BK_ORG_ID);
        v["pipeline_id"] = json!(BK_PIPELINE_ID);
    }
    v.as_object().unwrap().clone()
}

/// The claims `discover` wrote for a fixture pipeline, with the values it left dynamic filled
/// in as the issuer would (`fill`).
fn discovered(expected: &str, pipeline: &str, fill: &[(&str, Value)]) -> Map<String, Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/discover/expected")
        .join(expected);
    let inv = Inventory::load(&path).unwrap();
    let p = inv
        .pipeline(pipeline)
        .unwrap_or_else(|| panic!("no {pipeline} in {expected}"));
    let mut claims = p.auth.claims.clone().unwrap();
    for (k, v) in fill {
        claims.insert(k.to_string(), v.clone());
    }
    claims
}

fn circleci_tokens() -> Vec<(String, Map<String, Value>)> {
    let sub = format!(
        "org/{CIRCLE_ORG}/project/{CIRCLE_PROJECT}/user/5e1a0b1c-2d3e-4f50-8a9b-0c1d2e3f4a5b"
    );
    vec![
        (
            "v1 no context".into(),
            circleci_token(false, &[], "refs/heads/feature", false),
        ),
        (
            "v2 prod main".into(),
            circleci_token(
                true,
                &[CIRCLE_CONTEXT, "0c0c0c0c-1111-4222-8333-444455556666"],
                "refs/heads/main",
                false,
            ),
        ),
        (
            "v2 prod main ssh rerun".into(),
            circleci_token(true, &[CIRCLE_CONTEXT], "refs/heads/main", true),
        ),
        (
            "v2 prod feature".into(),
            circleci_token(true, &[CIRCLE_CONTEXT], "refs/heads/feature", false),
        ),
        (
            "v2 crafted branch".into(),
            circleci_token(
                true,
                &[],
                "refs/heads/x/vcs-origin/github.com/acme/payments-api/vcs-ref/refs/heads/main",
                false,
            ),
        ),
        (
            "discovered integration".into(),
            discovered(
                "circleci-payments-api.yaml",
                "payments-api/ci/integration",
                &[
                    ("sub", json!(sub)),
                    (
                        "oidc.circleci.com/vcs-origin",
                        json!("github.com/acme/payments-api"),
                    ),
                    ("oidc.circleci.com/vcs-ref", json!("refs/heads/feature")),
                    (
                        "oidc.circleci.com/context-ids",
                        json!(["d0d0d0d0-1111-4222-8333-444455556666"]),
                    ),
                ],
            ),
        ),
        (
            "discovered deploy main".into(),
            discovered(
                "circleci-payments-api.yaml",
                "payments-api/release/deploy-prod@branch:main",
                &[
                    (
                        "sub",
                        json!(format!(
                            "{sub}/vcs-origin/github.com/acme/payments-api/vcs-ref/refs/heads/main"
                        )),
                    ),
                    (
                        "oidc.circleci.com/vcs-origin",
                        json!("github.com/acme/payments-api"),
                    ),
                ],
            ),
        ),
    ]
}

fn buildkite_tokens() -> Vec<(String, Map<String, Value>)> {
    let commit = json!("5f2c3b1a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b");
    vec![
        ("main publish ids".into(), buildkite_token("main", Some("publish"), true, BK_AUD)),
        ("feature no key".into(), buildkite_token("feature", None, false, BK_AUD)),
        ("main no key default aud".into(), buildkite_token("main", None, false, "https://buildkite.com/acme")),
        (
            "discovered integration".into(),
            discovered("buildkite-deploy-tools.yaml", "acme/deploy-tools/integration", &[
                ("build_branch", json!("feature")),
                ("build_commit", commit.clone()),
                ("build_number", json!(42)),
                ("sub", json!("organization:acme:pipeline:deploy-tools:ref:refs/heads/feature:commit:5f2c3b1a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b:step:integration")),
            ]),
        ),
        (
            "discovered announce".into(),
            discovered("buildkite-deploy-tools.yaml", "acme/deploy-tools/announce", &[
                ("build_commit", commit),
                ("build_number", json!(7)),
                ("sub", json!("organization:acme:pipeline:deploy-tools:ref:refs/heads/main:commit:5f2c3b1a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b:step:")),
            ]),
        ),
    ]
}

fn bitbucket_roles() -> Vec<(&'static str, Value)> {
    let aud = format!(
        "ari:cloud:bitbucket::workspace/{}",
        BB_WS.trim_matches(['{', '}'])
    );
    vec![
        // The recommended binding: workspace and repository UUIDs, braces included.
        (
            "billing-ci",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": [aud],
            "bound_claims": {"workspaceUuid": BB_WS, "repositoryUuid": BB_REPO}, "token_policies": ["ci"]}),
        ),
        // Deploys: the production environment too.
        (
            "billing-release",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": [aud],
            "bound_claims": {"repositoryUuid": BB_REPO, "deploymentEnvironmentUuid": BB_PROD}, "token_policies": ["release"]}),
        ),
        // UUIDs written without braces: never equal to the claims.
        (
            "no-braces",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": [aud],
            "bound_claims": {"workspaceUuid": BB_WS.trim_matches(['{', '}'])}, "token_policies": ["x"]}),
        ),
        // The branch and the custom audience of the pull-request step.
        (
            "main-only",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["https://bao.acme.example"],
            "bound_claims": {"repositoryUuid": BB_REPO, "branchName": "main"}, "token_policies": ["x"]}),
        ),
    ]
}

fn bitbucket_tokens() -> Vec<(String, Map<String, Value>)> {
    let file = "bitbucket-billing-api.yaml";
    let run = |branch: &str, env: Option<&str>| {
        let mut fill = vec![
            ("branchName", json!(branch)),
            (
                "pipelineUuid",
                json!("{0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d}"),
            ),
            ("stepUuid", json!("{5d6e7f80-9a1b-4c2d-8e3f-4a5b6c7d8e9f}")),
        ];
        let sub = match env {
            Some(e) => format!("{BB_REPO}:{e}:{{5d6e7f80-9a1b-4c2d-8e3f-4a5b6c7d8e9f}}"),
            None => format!("{BB_REPO}:{{5d6e7f80-9a1b-4c2d-8e3f-4a5b6c7d8e9f}}"),
        };
        fill.push(("sub", json!(sub)));
        fill
    };
    vec![
        (
            "default feature".into(),
            discovered(
                file,
                "acme/billing-api/default/Integration",
                &run("feature/x", None),
            ),
        ),
        (
            "tag production".into(),
            discovered(
                file,
                "acme/billing-api/tags:v*/Deploy production",
                &run("main", Some(BB_PROD)),
            ),
        ),
        (
            "pull request main".into(),
            discovered(
                file,
                "acme/billing-api/pull-requests:**/Contract check",
                &run("main", None),
            ),
        ),
    ]
}

fn terraform_roles() -> Vec<(&'static str, Value)> {
    let aud = "https://bao.acme.example";
    vec![
        // HashiCorp's advice with ids: organisation, workspace, and the apply phase for writes.
        (
            "billing-apply",
            json!({"role_type": "jwt", "user_claim": "terraform_full_workspace", "bound_audiences": [aud],
            "bound_claims": {"terraform_organization_id": TFC_ORG, "terraform_workspace_id": TFC_WS, "terraform_run_phase": "apply"},
            "token_policies": ["apply"]}),
        ),
        (
            "billing-plan",
            json!({"role_type": "jwt", "user_claim": "terraform_full_workspace", "bound_audiences": [aud],
            "bound_claims": {"terraform_organization_id": TFC_ORG, "terraform_workspace_id": TFC_WS, "terraform_run_phase": "plan"},
            "token_policies": ["plan"]}),
        ),
        // HashiCorp's example shape: a glob over `sub` (both phases).
        (
            "sub-glob",
            json!({"role_type": "jwt", "user_claim": "terraform_full_workspace", "bound_audiences": [aud],
            "bound_claims_type": "glob",
            "bound_claims": {"sub": "organization:acme:project:Billing:workspace:billing-prod:run_phase:*"},
            "token_policies": ["x"]}),
        ),
        // The default audience and an organisation name: every run of the organisation.
        (
            "default-aud",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["vault.workload.identity"],
            "bound_claims": {"terraform_organization_name": "acme"}, "token_policies": ["x"]}),
        ),
    ]
}

fn terraform_tokens() -> Vec<(String, Map<String, Value>)> {
    let file = "terraform-platform-workspaces.yaml";
    let run_id = ("terraform_run_id", json!("run-X3n1AUXNGWbfECsJ"));
    let dev_fill = |phase: &str| {
        vec![
            run_id.clone(),
            ("terraform_project_name", json!("Default Project")),
            (
                "terraform_full_workspace",
                json!("organization:acme:project:Default Project:workspace:billing-dev"),
            ),
            (
                "sub",
                json!(format!(
                    "organization:acme:project:Default Project:workspace:billing-dev:run_phase:{phase}"
                )),
            ),
        ]
    };
    vec![
        (
            "prod plan".into(),
            discovered(
                file,
                "acme/billing-prod/plan",
                std::slice::from_ref(&run_id),
            ),
        ),
        (
            "prod apply".into(),
            discovered(
                file,
                "acme/billing-prod/apply",
                std::slice::from_ref(&run_id),
            ),
        ),
        (
            "dev plan".into(),
            discovered(file, "acme/billing-dev/plan", &dev_fill("plan")),
        ),
        (
            "dev apply".into(),
            discovered(file, "acme/billing-dev/apply", &dev_fill("apply")),
        ),
    ]
}

fn azure_roles() -> Vec<(&'static str, Value)> {
    let aud = "api://AzureADTokenExchange";
    vec![
        // Ids of the organisation, project and pipeline definition (strings).
        (
            "inventory-ci",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": [aud],
            "bound_claims": {"org_id": ADO_ORG, "prj_id": ADO_PRJ, "def_id": "12"}, "token_policies": ["ci"]}),
        ),
        // The definition id bound as a number: the claim is a string.
        (
            "def-as-number",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": [aud],
            "bound_claims": {"def_id": 12}, "token_policies": ["x"]}),
        ),
        // The pipeline's subject, exactly.
        (
            "by-subject",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": [aud],
            "bound_subject": "p://acme/inventory/inventory-svc", "token_policies": ["x"]}),
        ),
    ]
}

fn azure_tokens() -> Vec<(String, Map<String, Value>)> {
    let fill = |def_id: &str, pipeline: &str| {
        vec![
            ("sub", json!(format!("p://acme/inventory/{pipeline}"))),
            ("def_id", json!(def_id)),
            ("run_id", json!("345")),
            ("rpo_ver", json!("5f2c3b1a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b")),
            ("rpo_ref", json!("refs/heads/main")),
        ]
    };
    let file = "azure-inventory-svc.yaml";
    vec![
        (
            "build test".into(),
            discovered(
                file,
                "acme/inventory/Build/test",
                &fill("12", "inventory-svc"),
            ),
        ),
        (
            "other definition".into(),
            discovered(
                file,
                "acme/inventory/Build/test",
                &fill("13", "inventory-nightly"),
            ),
        ),
    ]
}

fn read_mount(server: &BaoServer, path: &str) -> AuthMount {
    let auth = server.get("sys/auth");
    let entry = &auth["data"][format!("{path}/")];
    let tune: MountTune = serde_json::from_value(entry["config"].clone()).unwrap();
    let mut mount = AuthMount {
        path: format!("{path}/"),
        mount_type: entry["type"].as_str().unwrap().to_owned(),
        accessor: entry["accessor"].as_str().unwrap().to_owned(),
        tune,
        ..AuthMount::default()
    };
    mount.config = Some(
        server.get(&format!("auth/{path}/config"))["data"]
            .as_object()
            .unwrap()
            .clone(),
    );
    mount
}

/// Writes the mount and its roles, then logs every token in to every role; returns the
/// disagreements and the number of accepted logins.
fn judge(
    server: &BaoServer,
    signer: &Signer,
    mount_path: &str,
    issuer: &str,
    roles: &[(&str, Value)],
    tokens: &[(String, Map<String, Value>)],
) -> (Vec<String>, usize) {
    server.post(&format!("sys/auth/{mount_path}"), &json!({"type": "jwt"}));
    server.post(
        &format!("auth/{mount_path}/config"),
        &json!({"jwt_validation_pubkeys": [signer.public_pem()], "bound_issuer": issuer}),
    );
    let mut mount = read_mount(server, mount_path);
    for (name, body) in roles {
        server.post(&format!("auth/{mount_path}/role/{name}"), body);
        let mut data = server.get(&format!("auth/{mount_path}/role/{name}"))["data"].clone();
        data["name"] = json!(name);
        let role: JwtRole = serde_json::from_value(data).unwrap();
        mount.roles.jwt.push(role);
    }
    let info = ServerInfo {
        version: "2.7.2".into(),
        address: "http://127.0.0.1".into(),
        ..ServerInfo::default()
    };
    let anon = server.client().without_token();
    let mut disagreements = Vec::new();
    let mut accepted = 0;
    for (name, claims) in tokens {
        for role in &mount.roles.jwt {
            let token = signer.sign_fresh(claims);
            let admission = admit(&mount, RoleRef::Jwt(role), &Credential::jwt(claims), &info);
            let answer = anon.try_post(
                &format!("auth/{mount_path}/login"),
                &json!({"role": role.name, "jwt": token}),
            );
            accepted += usize::from(answer.is_ok());
            let want = admission.verdict == Verdict::Admitted;
            if answer.is_ok() != want {
                disagreements.push(format!(
                    "{mount_path}: token {name} × role {}: server {}, blastmap {:?} ({})",
                    role.name,
                    match &answer {
                        Ok(_) => "accepted".to_string(),
                        Err(e) => format!("refused: {}", e.message()),
                    },
                    admission.verdict,
                    admission.why
                ));
            }
        }
    }
    (disagreements, accepted)
}

#[test]
fn ci_issuer_admission_agrees_with_real_logins() {
    let server = BaoServer::start();
    let signer = Signer::generate(server.dir());
    let (mut disagreements, circle_accepted) = judge(
        &server,
        &signer,
        "circleci",
        &circleci_issuer(),
        &circleci_roles(),
        &circleci_tokens(),
    );
    let (bk, bk_accepted) = judge(
        &server,
        &signer,
        "buildkite",
        "https://agent.buildkite.com",
        &buildkite_roles(),
        &buildkite_tokens(),
    );
    disagreements.extend(bk);
    let (bb, bb_accepted) = judge(
        &server,
        &signer,
        "bitbucket",
        &blastmap::discover::bitbucket::issuer("acme"),
        &bitbucket_roles(),
        &bitbucket_tokens(),
    );
    disagreements.extend(bb);
    let (tfc, tfc_accepted) = judge(
        &server,
        &signer,
        "tfc",
        "https://app.terraform.io",
        &terraform_roles(),
        &terraform_tokens(),
    );
    disagreements.extend(tfc);
    let (ado, ado_accepted) = judge(
        &server,
        &signer,
        "azure-devops",
        &format!("https://vstoken.dev.azure.com/{ADO_ORG}"),
        &azure_roles(),
        &azure_tokens(),
    );
    disagreements.extend(ado);
    for d in &disagreements {
        eprintln!("{d}");
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreements",
        disagreements.len()
    );
    // Both sides of every binding were exercised: some logins pass, most are refused.
    assert!(
        circle_accepted >= 5 && bk_accepted >= 5,
        "{circle_accepted} {bk_accepted}"
    );
    // Bitbucket: the integration and release tokens pass billing-ci, the release token also
    // billing-release; braces-less UUIDs and the pull request's custom audience on main-only
    // show both sides. HCP Terraform: each phase only its own role.
    assert!(
        bb_accepted >= 4 && tfc_accepted >= 5 && ado_accepted >= 2,
        "{bb_accepted} {tfc_accepted} {ado_accepted}"
    );
}
