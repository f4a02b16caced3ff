//! `blastmap discover --bitbucket DIR --terraform DIR --azure-pipelines FILE`: the inventories
//! discovered from the fixture configurations in `fixtures/discover/{bitbucket,terraform,azure}/`
//! are exactly the expected ones in `fixtures/discover/expected/`, with the claims each issuer
//! really issues, the values left dynamic, the exposures, and clean errors for malformed input.

use crate::common;

use common::discovered::{
    assert_same, claim, discover, dynamic, expected, exposures, pipeline, run,
};
use serde_json::json;

const WS_UUID: &str = "3f6c2a1e-8b4d-4c7e-9a2f-5d1e0b7c9a34";
const REPO_UUID: &str = "b2e4d6f8-1a3c-4e5f-8b7d-9c0a2e4f6b81";
const PROD_ENV_UUID: &str = "7d9e1f3a-5b6c-4d8e-a0f2-3b4c5d6e7f81";

fn bitbucket_args() -> Vec<String> {
    vec![
        "--bitbucket".into(),
        "fixtures/discover/bitbucket/billing-api".into(),
        "--bitbucket-repo".into(),
        format!("acme@{{{WS_UUID}}}/billing-api@{{{REPO_UUID}}}"),
        "--bitbucket-environment".into(),
        format!("production={{{PROD_ENV_UUID}}}"),
    ]
}

const TERRAFORM: &[&str] = &[
    "--terraform",
    "fixtures/discover/terraform/platform-workspaces",
    "--terraform-config",
    "billing-prod=fixtures/discover/terraform/billing-prod.config.json",
];

const AZURE: &[&str] = &[
    "--azure-pipelines",
    "fixtures/discover/azure/inventory-svc/azure-pipelines.yml",
    "--azure-project",
    "acme@5c3f1e2d-8a4b-4c6d-9e0f-1a2b3c4d5e6f/inventory@9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
];

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

#[test]
fn bitbucket_is_the_expected_inventory() {
    let (inv, notes) = discover(&bitbucket_args());
    assert_same(&inv, &expected("bitbucket-billing-api.yaml"));
    let names: Vec<&str> = inv.pipelines.iter().map(|p| p.name.as_str()).collect();
    // Unit tests and lint use no Vault; the anchored deploy step runs in the main stage.
    assert_eq!(
        names,
        [
            "acme/billing-api/default/Integration",
            "acme/billing-api/branches:main/Deploy",
            "acme/billing-api/tags:v*/Deploy production",
            "acme/billing-api/pull-requests:**/Contract check",
            "acme/billing-api/custom:rotate-keys/Rotate",
        ]
    );
    let it = pipeline(&inv, "acme/billing-api/default/Integration");
    assert_eq!(
        claim(it, "iss"),
        Some(&json!(
            "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"
        ))
    );
    // The default audience names the workspace UUID without braces; the claims keep them.
    assert_eq!(
        claim(it, "aud"),
        Some(&json!(format!("ari:cloud:bitbucket::workspace/{WS_UUID}")))
    );
    assert_eq!(
        claim(it, "workspaceUuid"),
        Some(&json!(format!("{{{WS_UUID}}}")))
    );
    assert_eq!(
        dynamic(it, "auth.claims.sub").as_deref(),
        Some(format!("{{{REPO_UUID}}}:{{<step UUID>}}").as_str())
    );
    assert_eq!(
        exposures(it),
        [
            ("any-branch".into(), Some(26)),
            ("secret-echoed".into(), Some(31))
        ]
    );
    // The aliased step: its stage's deployment (staging, whose UUID was not given).
    let deploy = pipeline(&inv, "acme/billing-api/branches:main/Deploy");
    assert_eq!(claim(deploy, "branchName"), Some(&json!("main")));
    assert!(dynamic(deploy, "auth.claims.deploymentEnvironmentUuid")
        .unwrap()
        .contains("staging"));
    assert_eq!(
        dynamic(deploy, "needs").as_deref(),
        Some("secret/data/billing/$BITBUCKET_DEPLOYMENT_ENVIRONMENT/db")
    );
    // The merged tag step: production's UUID in the claim and in `sub`.
    let release = pipeline(&inv, "acme/billing-api/tags:v*/Deploy production");
    assert_eq!(
        claim(release, "deploymentEnvironmentUuid"),
        Some(&json!(format!("{{{PROD_ENV_UUID}}}")))
    );
    assert!(dynamic(release, "auth.claims.sub")
        .unwrap()
        .contains(&format!(":{{{PROD_ENV_UUID}}}:")));
    assert_eq!(
        exposures(release),
        [("secret-in-artifact".into(), Some(55))]
    );
    // The pull-request step asks for a token with its own audience.
    let pr = pipeline(&inv, "acme/billing-api/pull-requests:**/Contract check");
    assert_eq!(claim(pr, "aud"), Some(&json!("https://bao.acme.example")));
    assert_eq!(exposures(pr), [("pull-request-login".into(), Some(59))]);
    assert_eq!(pr.ci.as_ref().unwrap().events, ["pull_request"]);
    // A JWT login without `oidc: true` cannot work: said, not hidden.
    assert!(
        notes.contains(
            "step `custom:rotate-keys/Rotate` logs in with a JWT but does not say `oidc: true`"
        ),
        "{notes}"
    );
}

#[test]
fn bitbucket_without_repository_keeps_ids_dynamic() {
    let (inv, _) = discover(&strings(&[
        "--quiet",
        "--bitbucket",
        "fixtures/discover/bitbucket/billing-api/bitbucket-pipelines.yml",
    ]));
    let it = &inv.pipelines[0];
    assert!(it.name.ends_with("/default/Integration"), "{}", it.name);
    for field in ["iss", "aud", "workspaceUuid", "repositoryUuid"] {
        assert!(claim(it, field).is_none(), "{field}");
        assert!(
            dynamic(it, &format!("auth.claims.{field}")).is_some(),
            "{field}"
        );
    }
}

#[test]
fn terraform_is_the_expected_inventory() {
    let (inv, notes) = discover(&strings(TERRAFORM));
    assert_same(&inv, &expected("terraform-platform-workspaces.yaml"));
    // The plan's new workspace (linked by references), then the state's two workspaces.
    assert_eq!(inv.pipelines.len(), 6);
    let plan = pipeline(&inv, "acme/billing-prod/plan");
    let apply = pipeline(&inv, "acme/billing-prod/apply");
    // Variable set on the project (mount, audience), roles on the workspace.
    assert_eq!(
        (plan.auth.mount.as_str(), plan.auth.role.as_deref()),
        ("tfc", Some("billing-plan"))
    );
    assert_eq!(apply.auth.role.as_deref(), Some("billing-apply"));
    assert_eq!(claim(plan, "aud"), Some(&json!("https://bao.acme.example")));
    assert_eq!(
        claim(apply, "sub"),
        Some(&json!(
            "organization:acme:project:Billing:workspace:billing-prod:run_phase:apply"
        ))
    );
    assert_eq!(
        claim(plan, "terraform_organization_id"),
        Some(&json!("org-Hk3dPq8sLm2Xv9Ra"))
    );
    assert_eq!(claim(plan, "terraform_run_phase"), Some(&json!("plan")));
    // The workspace's own configuration: its vault data sources, read in both phases.
    assert_eq!(
        apply.needs,
        [
            "secret/data/billing/prod/db",
            "secret/data/billing/prod/stripe"
        ]
    );
    assert!(exposures(plan).is_empty());
    // billing-dev: one run role for both phases, in namespace dev; its project is not managed
    // here, so the project name (and `sub`) stay dynamic.
    let dev = pipeline(&inv, "acme/billing-dev/plan");
    assert_eq!(dev.auth.namespace, "dev");
    assert_eq!(exposures(dev), [("plan-apply-same-role".into(), None)]);
    assert!(exposures(pipeline(&inv, "acme/billing-dev/apply")).is_empty());
    assert!(claim(dev, "sub").is_none());
    assert!(dynamic(dev, "auth.claims.sub")
        .unwrap()
        .contains(":project:<unknown>:"));
    // The planned workspace: its id is known after apply; default project, default audience.
    let reports = pipeline(&inv, "acme/reports-nightly/plan");
    assert_eq!(reports.auth.role.as_deref(), Some("reports-plan"));
    assert_eq!(
        pipeline(&inv, "acme/reports-nightly/apply")
            .auth
            .role
            .as_deref(),
        Some("reports")
    );
    assert_eq!(
        claim(reports, "aud"),
        Some(&json!("vault.workload.identity"))
    );
    assert_eq!(
        claim(reports, "terraform_project_name"),
        Some(&json!("Default Project"))
    );
    assert!(dynamic(reports, "auth.claims.terraform_workspace_id").is_some());
    assert!(
        notes.contains("tfe_variable.dev_addr_wrong sets TFC_VAULT_ADDR as a Terraform variable"),
        "{notes}"
    );
}

#[test]
fn terraform_hcl_source_is_read_like_its_plan() {
    let (inv, _) = discover(&[
        "--terraform",
        "fixtures/discover/terraform/workspaces-hcl",
        "--terraform-config",
        "payments-api=fixtures/discover/terraform/payments-api-config",
    ]);
    assert_same(&inv, &expected("terraform-workspaces-hcl.yaml"));
    let plan = pipeline(&inv, "acme/payments-api/plan");
    // The project's variable set (linked by references, one through "${…}") gives mount and
    // audience; the workspace's own variable the plan role.
    assert_eq!(
        (plan.auth.mount.as_str(), plan.auth.role.as_deref()),
        ("tfc", Some("payments-plan"))
    );
    assert_eq!(claim(plan, "aud"), Some(&json!("https://bao.acme.example")));
    assert_eq!(
        claim(plan, "sub"),
        Some(&json!(
            "organization:acme:project:Payments:workspace:payments-api:run_phase:plan"
        ))
    );
    // Ids exist only after apply; the apply role is a Terraform variable: dynamic.
    assert!(dynamic(plan, "auth.claims.terraform_workspace_id").is_some());
    let apply = pipeline(&inv, "acme/payments-api/apply");
    assert!(apply.auth.role.is_none());
    assert!(dynamic(apply, "auth.role").is_some());
    // Different roles (one unknown): no plan-apply-same-role exposure is claimed.
    assert!(exposures(plan).is_empty());
    // The workspace's configuration: a literal KV v2 read, and an interpolated path.
    assert_eq!(plan.needs, ["secret/data/payments/stripe"]);
    assert!(dynamic(plan, "needs").is_some());
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("main.tf");
    std::fs::write(&bad, "resource \"tfe_workspace\" \"x\" {\n  name = \n}\n").unwrap();
    let out = run(&["discover", "--terraform", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("main.tf:2:10: malformed HCL"), "{err}");
}

#[test]
fn terraform_enterprise_issuer_and_malformed_json() {
    let (inv, _) = discover(&strings(&[
        "--quiet",
        "--terraform",
        "fixtures/discover/terraform/platform-workspaces/state.json",
        "--terraform-url",
        "https://tfe.acme.example/",
    ]));
    assert_eq!(
        claim(&inv.pipelines[0], "iss"),
        Some(&json!("https://tfe.acme.example"))
    );
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        "{\n  \"format_version\": \"1.0\",\n  \"values\": [\n}\n",
    )
    .unwrap();
    let out = run(&strings(&[
        "discover",
        "--terraform",
        bad.to_str().unwrap(),
    ]));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.json:4:1: malformed JSON"), "{err}");
    std::fs::write(&bad, "{\"resources\": []}").unwrap();
    let out = run(&strings(&[
        "discover",
        "--terraform",
        bad.to_str().unwrap(),
    ]));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not `terraform show -json` output"));
}

#[test]
fn azure_is_the_expected_inventory() {
    let (inv, _) = discover(&strings(AZURE));
    assert_same(&inv, &expected("azure-inventory-svc.yaml"));
    let test = pipeline(&inv, "acme/inventory/Build/test");
    // `$(vaultRole)` and `$(kvMount)` are pipeline variables: substituted.
    assert_eq!(
        (test.auth.mount.as_str(), test.auth.role.as_deref()),
        ("azure-devops", Some("inventory-ci"))
    );
    assert_eq!(
        claim(test, "iss"),
        Some(&json!(
            "https://vstoken.dev.azure.com/5c3f1e2d-8a4b-4c6d-9e0f-1a2b3c4d5e6f"
        ))
    );
    assert_eq!(
        claim(test, "aud"),
        Some(&json!("api://AzureADTokenExchange"))
    );
    // The template's parameter is substituted; its `set -x` is reported in the template.
    assert_eq!(
        test.needs,
        [
            "secret/data/inventory/ci/registry",
            "secret/data/inventory/ci/sonar"
        ]
    );
    let ci = test.ci.as_ref().unwrap();
    let traced = ci
        .exposures
        .iter()
        .find(|e| e.kind == "debug-logging")
        .unwrap();
    assert!(traced
        .file
        .as_deref()
        .unwrap()
        .ends_with("templates/vault-read.yml"));
    assert_eq!(
        exposures(test),
        [
            ("debug-logging".into(), Some(8)),
            ("pull-request-login".into(), Some(24)),
            ("secret-echoed".into(), Some(33))
        ]
    );
    // The Vault task logs in through a service connection: the method is never guessed.
    let deploy = pipeline(&inv, "acme/inventory/Deploy/production");
    assert!(dynamic(deploy, "auth.method")
        .unwrap()
        .contains("bao-production"));
    assert_eq!(
        deploy.needs,
        [
            "secret/data/inventory/prod/api",
            "secret/data/inventory/prod/db"
        ]
    );
    // Its stage runs only on main (a condition on the source branch): no pull-request exposure.
    assert!(exposures(deploy).is_empty());
}

#[test]
fn azure_templates_stay_in_the_repository_and_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    std::fs::write(
        dir.path().join("outside.yml"),
        "steps:\n  - script: vault kv get secret/x\n",
    )
    .unwrap();
    let main = repo.join("azure-pipelines.yml");
    std::fs::write(
        &main,
        "pr: none\nsteps:\n  - template: ../outside.yml\n  - script: vault kv get secret/app/db\n",
    )
    .unwrap();
    let (inv, notes) = discover(&strings(&["--azure-pipelines", main.to_str().unwrap()]));
    assert!(
        notes.contains("lies outside the repository: not read"),
        "{notes}"
    );
    assert_eq!(inv.pipelines.len(), 1);
    assert_eq!(inv.pipelines[0].needs, ["secret/data/app/db"]);
    // `pr: none`: no pull-request exposure.
    assert!(!exposures(&inv.pipelines[0])
        .iter()
        .any(|(k, _)| k == "pull-request-login"));
    // A token written into a task's inputs is a secret: its source is said, never its value.
    std::fs::write(
        &main,
        "pr: none\nsteps:\n  - task: VaultReadKV@1\n    inputs:\n      url: https://bao.acme.example\n      token: hvs.CAESIJ1pZXhhbXBsZXRva2Vu\n      path: secret/app/db\n",
    )
    .unwrap();
    let out = run(&["discover", "--azure-pipelines", main.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains("hvs.CAESIJ"), "{text}");
    assert!(
        text.contains("a literal token written in the file (not copied)"),
        "{text}"
    );
    assert!(text.contains("secret/data/app/db"), "{text}");
    std::fs::write(&main, "steps:\n  - script: [\n").unwrap();
    let out = run(&strings(&[
        "discover",
        "--azure-pipelines",
        main.to_str().unwrap(),
    ]));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("azure-pipelines.yml:") && err.contains("malformed YAML"),
        "{err}"
    );
    let out = run(&strings(&[
        "discover",
        "--azure-project",
        "a/b",
        "--bitbucket",
        "fixtures/discover/bitbucket/billing-api",
    ]));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--azure-project is given 1 time(s) for 0")
    );
}
