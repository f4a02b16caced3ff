//! CircleCI and Buildkite ID tokens judged by real logins on an OpenBao dev server.
//!
//! One JWT mount per issuer, each trusting a locally generated key with the issuer's
//! `bound_issuer` (a CircleCI organisation's issuer; Buildkite's shared one). Roles are bound as
//! each vendor's documentation recommends (CircleCI: project id and `ssh-rerun: false`;
//! Buildkite: organisation and pipeline ids requested with `--claim`) and in the weaker or
//! mistaken ways seen in practice (slugs only, a glob over `sub`, a boolean bound as a string, a
//! step key, a number bound as a string). Tokens carry each issuer's claims with their real
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
fn circleci_and_buildkite_admission_agrees_with_real_logins() {
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
}
