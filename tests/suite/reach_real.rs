//! Reach judged by real logins: seed an OpenBao dev server with a JWT mount trusting a
//! local RSA key, roles with string / glob / list bound claims, audiences and subjects, identity
//! entities and groups with policies, an AppRole mount and KV data; export it with blastmap; then
//! for every pipeline of an inventory and every role on its mount, sign a JWT with the pipeline's
//! claims (AppRole: a real secret-id) and log in for real. Admission must equal blastmap's, and
//! for every real token `sys/capabilities` on every exported secret path must equal blastmap's
//! answer for that login. The union over a pipeline's logins must equal `blastmap reach`.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};

use blastmap::passes::reach::Analysis;
use common::jwt::Signer;
use common::BaoServer;
use serde_json::{json, Map, Value};

const ISSUER: &str = "https://token.actions.githubusercontent.com";
const AUD: &str = "https://github.com/acme";

const POLICIES: &[(&str, &str)] = &[
    (
        "payments-deploy",
        r#"path "secret/data/payments/*" { capabilities = ["read"] }
path "secret/data/payments/deploy/*" { capabilities = ["read", "create", "update"] }
path "secret/data/payments/admin/*" { capabilities = ["deny"] }"#,
    ),
    (
        "ci-read",
        r#"path "secret/data/ci/*" { capabilities = ["read", "list"] }
path "kv1/ci/+/token" { capabilities = ["read"] }"#,
    ),
    (
        "checkout",
        "path \"secret/data/checkout/*\" {\n  capabilities = [\"read\"]\n}\npath \"secret/data/+/shared/*\" {\n  capabilities = [\"read\"]\n}",
    ),
    (
        "shared",
        r#"{"path": {"secret/data/shared/*": {"capabilities": ["read"]}}}"#,
    ),
    ("group-extra", r#"path "secret/data/teams/payments/*" { capabilities = ["read", "update", "delete"] }"#),
    ("eng-common", r#"path "secret/data/eng/*" { capabilities = ["read"] }"#),
    ("batch", r#"path "secret/data/payments/db" { capabilities = ["read"] }
path "kv1/legacy/*" { capabilities = ["read", "list"] }"#),
];

const KV2: &[&str] = &[
    "payments/db",
    "payments/stripe",
    "payments/deploy/kubeconfig",
    "payments/admin/break-glass",
    "payments/shared/fraud",
    "checkout/db",
    "checkout/shared/flags",
    "ci/npm",
    "ci/docker/hub",
    "shared/slack",
    "teams/payments/scratch",
    "teams/checkout/scratch",
    "eng/wiki",
    "eng/teamsonly/x",
];
const KV1: &[&str] = &["ci/artifactory/token", "ci/jenkins/token", "legacy/ftp"];

const INVENTORY: &str = r#"
teams:
  - name: payments
    owns: ["secret/data/payments/*", "secret/data/teams/payments/*"]
  - name: checkout
    owns: ["secret/data/checkout/*"]
pipelines:
  - name: payments-deploy
    team: payments
    auth:
      method: jwt
      mount: gha
      role: deploy
      claims:
        sub: "repo:acme/payments:environment:production"
        aud: "https://github.com/acme"
        repository: acme/payments
        repository_owner: acme
        environment: production
        ref: refs/heads/main
        team: payments
  - name: payments-pr
    team: payments
    auth:
      method: jwt
      mount: gha
      claims:
        sub: "repo:acme/payments:pull_request"
        aud: ["https://github.com/acme", "other"]
        repository: acme/payments
        repository_owner: acme
        ref: refs/pull/7/merge
        team: payments
  - name: checkout-main
    team: checkout
    auth:
      method: jwt
      mount: gha
      claims:
        sub: "repo:acme/checkout:ref:refs/heads/main"
        aud: "https://github.com/acme"
        repository: acme/checkout
        repository_owner: acme
        ref: refs/heads/main
        team: checkout
  - name: foreign
    auth:
      method: jwt
      mount: gha
      claims:
        sub: "repo:evil/fork:ref:refs/heads/main"
        aud: "https://github.com/acme"
        repository: evil/fork
        repository_owner: evil
        ref: refs/heads/main
  - name: no-audience
    auth:
      method: jwt
      mount: gha
      claims:
        sub: "repo:acme/checkout:ref:refs/heads/main"
        repository: acme/checkout
        repository_owner: acme
  - name: numeric-claims
    auth:
      method: jwt
      mount: gha
      claims:
        sub: "repo:acme/tools:ref:refs/heads/main"
        aud: "https://github.com/acme"
        repository: acme/tools
        repository_owner: acme
        repository_id: 4242
        run_attempt: 1
  - name: batch
    team: payments
    auth:
      method: approle
      mount: approle
      role_name: batch
"#;

fn seed(server: &BaoServer, signer: &Signer) {
    common::seed::kv_and_jwt(
        server,
        &common::seed::KvJwtEstate {
            kv2: KV2,
            kv1: KV1,
            policies: POLICIES,
            signer,
            issuer: ISSUER,
        },
    );
    let roles = [
        (
            "deploy",
            json!({"role_type": "jwt", "user_claim": "repository", "bound_audiences": [AUD],
            "bound_claims": {"repository": "acme/payments", "environment": "production"},
            "token_policies": ["payments-deploy"], "token_ttl": "15m"}),
        ),
        (
            "ci-glob",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": [AUD],
            "bound_claims_type": "glob", "bound_claims": {"sub": "repo:acme/*", "ref": "refs/heads/*"},
            "token_policies": ["ci-read"]}),
        ),
        (
            "any-acme",
            json!({"role_type": "jwt", "user_claim": "repository", "bound_audiences": [AUD, "other"],
            "bound_claims": {"repository_owner": "acme", "repository": ["acme/payments", "acme/checkout"]},
            "claim_mappings": {"team": "team"},
            "token_policies": ["shared"], "token_no_default_policy": true}),
        ),
        (
            "checkout-main",
            json!({"role_type": "jwt", "user_claim": "repository", "bound_audiences": [AUD],
            "bound_subject": "repo:acme/checkout:ref:refs/heads/main",
            "token_policies": ["checkout"]}),
        ),
        (
            "no-aud",
            json!({"role_type": "jwt", "user_claim": "sub",
            "bound_claims": {"repository_owner": "acme"}, "token_policies": ["shared"]}),
        ),
        (
            "numbers",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": [AUD],
            "bound_claims": {"repository_id": "4242", "run_attempt": 1}, "token_policies": ["eng-common"]}),
        ),
        (
            "browser",
            json!({"role_type": "oidc", "user_claim": "sub", "bound_audiences": [AUD],
            "allowed_redirect_uris": ["http://localhost:8250/oidc/callback"], "token_policies": ["shared"]}),
        ),
    ];
    for (name, body) in roles {
        server.post(&format!("auth/gha/role/{name}"), &body);
    }
    // An entity for acme/payments with a group, a parent group and policies.
    let accessor = server.get("sys/auth")["data"]["gha/"]["accessor"]
        .as_str()
        .unwrap()
        .to_string();
    let eid = server.post(
        "identity/entity",
        &json!({"name": "payments-bot", "policies": ["eng-common"]}),
    )["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    server.post(
        "identity/entity-alias",
        &json!({"name": "acme/payments", "canonical_id": eid, "mount_accessor": accessor}),
    );
    let parent = server.post(
        "identity/group",
        &json!({"name": "eng", "policies": ["eng-common"]}),
    )["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let child = server.post(
        "identity/group",
        &json!({"name": "payments-team", "policies": ["group-extra"], "member_entity_ids": [eid]}),
    )["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    server.post(
        &format!("identity/group/id/{parent}"),
        &json!({"member_group_ids": [child]}),
    );
    // AppRole.
    server.post("sys/auth/approle", &json!({"type": "approle"}));
    server.post(
        "auth/approle/role/batch",
        &json!({"token_policies": ["batch"], "secret_id_num_uses": 0}),
    );
    server.post(
        "auth/approle/role/other",
        &json!({"token_policies": ["ci-read"]}),
    );
}

/// Log in for real: the client token, or None when the server refuses.
fn login(server: &BaoServer, mount: &str, body: &Value) -> Option<String> {
    let c = server.client().without_token();
    match c.try_post(&format!("auth/{mount}/login"), body) {
        Ok(v) => Some(v["auth"]["client_token"].as_str().unwrap().to_string()),
        Err(e) => {
            assert!(
                e.status == 400 || e.status == 403,
                "unexpected login failure: {e:?}"
            );
            None
        }
    }
}

#[test]
fn reach_equals_real_logins() {
    let server = BaoServer::start();
    let signer = Signer::generate(server.dir());
    seed(&server, &signer);
    let estate = server.export_estate(INVENTORY);
    let analysis = Analysis::new(&estate.snapshot, &estate.inventory);
    let pipelines: Vec<_> = estate.inventory.pipelines.iter().collect();
    let (logins, tokens) = analysis.prepare(&pipelines);

    let paths: Vec<(String, String)> = analysis
        .secrets
        .secrets
        .iter()
        .map(|s| (s.namespace.to_string(), s.path.clone()))
        .collect();
    assert_eq!(
        paths.len(),
        KV2.len() + KV1.len(),
        "every seeded secret is exported"
    );
    let path_refs: Vec<&str> = paths.iter().map(|(_, p)| p.as_str()).collect();

    let mut disagreements = Vec::new();
    let mut admission_checks = 0;
    let mut capability_checks = 0;
    let mut union_real: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (p, (ls, _)) in pipelines.iter().zip(&logins) {
        for l in ls {
            // Log in for real with this pipeline's credential on this role.
            let token = match p.auth.method {
                blastmap::inventory::AuthMethod::Jwt => {
                    let mut claims: Map<String, Value> = p.auth.claims.clone().unwrap_or_default();
                    claims.insert("iss".into(), json!(ISSUER));
                    let jwt = signer.sign_fresh(&claims);
                    login(&server, "gha", &json!({"role": l.role, "jwt": jwt}))
                }
                blastmap::inventory::AuthMethod::Approle => {
                    // The pipeline holds credentials for its own role only.
                    if Some(l.role.as_str()) != p.auth.configured_role() {
                        None
                    } else {
                        let role_id = server.get(&format!("auth/approle/role/{}/role-id", l.role))
                            ["data"]["role_id"]
                            .as_str()
                            .unwrap()
                            .to_string();
                        let secret_id = server.post(
                            &format!("auth/approle/role/{}/secret-id", l.role),
                            &json!({}),
                        )["data"]["secret_id"]
                            .as_str()
                            .unwrap()
                            .to_string();
                        login(
                            &server,
                            "approle",
                            &json!({"role_id": role_id, "secret_id": secret_id}),
                        )
                    }
                }
                _ => unreachable!(),
            };
            admission_checks += 1;
            let ours = l.admission.verdict;
            let real = token.is_some();
            if (ours == blastmap::login::Verdict::Admitted) != real {
                disagreements.push(format!(
                    "admission: pipeline {} role {}: server {}, blastmap {:?} ({})",
                    p.name,
                    l.role,
                    if real { "admits" } else { "refuses" },
                    ours,
                    l.admission.why
                ));
                continue;
            }
            let Some(token) = token else { continue };
            let t = &tokens[l.token.expect("admitted logins have a token identity")];
            let real_caps = server.capabilities(&token, &path_refs);
            for ((ns, path), real) in paths.iter().zip(real_caps) {
                capability_checks += 1;
                let d = t.acl.capabilities(ns, path);
                let ours: Vec<String> = if t.identity.entity_disabled {
                    vec!["deny".into()]
                } else {
                    d.names().into_iter().map(String::from).collect()
                };
                if ours != real {
                    disagreements.push(format!(
                        "capabilities: pipeline {} role {} path {path}: server {real:?}, blastmap {ours:?} (policies {:?})",
                        p.name,
                        l.role,
                        t.identity.policies.iter().map(|r| &r.name).collect::<Vec<_>>()
                    ));
                }
                if real != ["deny"] {
                    union_real
                        .entry(p.name.clone())
                        .or_default()
                        .entry(path.clone())
                        .or_default()
                        .extend(real);
                }
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreements with the server:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );

    // The CLI's union per pipeline equals the union of the real tokens' capabilities.
    common::assert_cli_reach_equals(&estate.snapshot_path, &estate.inventory_path, union_real);
    println!(
        "{admission_checks} real logins compared, {capability_checks} (token, path) capabilities equal"
    );
    // Sanity: the matrix exercises both outcomes and identity policies.
    assert!(admission_checks >= 40, "{admission_checks}");
    let admitted = capability_checks / paths.len();
    assert!(
        admitted >= 6 && admission_checks - admitted >= 20,
        "{admitted} admitted"
    );
    assert!(
        tokens.iter().any(|t| t
            .identity
            .policies
            .iter()
            .any(|r| matches!(r.origin, blastmap::passes::PolicyOrigin::Group { .. }))),
        "some login holds group policies (entity → group → parent group)"
    );
    assert!(capability_checks >= 100, "{capability_checks}");
}
