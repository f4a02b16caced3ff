//! `blastmap discover --circleci DIR --buildkite DIR`: the inventories discovered from the
//! fixture configurations in `fixtures/discover/{circleci,buildkite}/` are exactly the expected
//! ones in `fixtures/discover/expected/`, with the claims each issuer really issues (types
//! included), the values left dynamic, the exposures, and the VCS origin read from the
//! checkout's remote.

use crate::common;

use std::path::Path;

use common::discovered::{
    assert_same, claim, discover, dynamic, expected, exposures, pipeline, run, ROOT,
};
use serde_json::{json, Value};

const CIRCLECI: &[&str] = &[
    "--circleci",
    "fixtures/discover/circleci/payments-api",
    "--circleci-org",
    "4b4bc4e4-0c8f-4d59-9a61-0f0b1b6c2d8e",
    "--circleci-project",
    "8a2f0c4d-5e6b-4a7c-9d8e-1f2a3b4c5d6e",
    "--circleci-context",
    "payments-prod=c7d1f2a4-6b3e-4e5f-8a9b-0c1d2e3f4a5b",
];

const BUILDKITE: &[&str] = &[
    "--buildkite",
    "fixtures/discover/buildkite/deploy-tools",
    "--buildkite-pipeline",
    "acme@0190f1a2-7b3c-4d5e-8f60-a1b2c3d4e5f6/deploy-tools@0190f1a2-9c8d-4e7f-a6b5-c4d3e2f1a0b9",
];

#[test]
fn circleci_is_the_expected_inventory() {
    let (inv, notes) = discover(CIRCLECI);
    assert_same(&inv, &expected("circleci-payments-api.yaml"));
    assert!(
        notes.contains("orb `vault` (acme/vault-tools@1.4.0) looks like a Vault orb"),
        "{notes}"
    );
    // `test` uses no Vault; `integration` runs in workflow ci on every branch.
    assert_eq!(inv.pipelines.len(), 3);
    let it = pipeline(&inv, "payments-api/ci/integration");
    assert_eq!(it.auth.method.as_str(), "jwt");
    assert_eq!(
        (it.auth.mount.as_str(), it.auth.role.as_deref()),
        ("circleci", Some("payments-ci"))
    );
    assert_eq!(
        claim(it, "iss"),
        Some(&json!(
            "https://oidc.circleci.com/org/4b4bc4e4-0c8f-4d59-9a61-0f0b1b6c2d8e"
        ))
    );
    assert_eq!(
        claim(it, "aud"),
        Some(&json!("4b4bc4e4-0c8f-4d59-9a61-0f0b1b6c2d8e"))
    );
    // A boolean, as CircleCI issues it (a role binding "false" as a string refuses it).
    assert_eq!(
        claim(it, "oidc.circleci.com/ssh-rerun"),
        Some(&json!(false))
    );
    // The triggering user's id is in `sub`: never known statically. V1 form for CIRCLE_OIDC_TOKEN.
    let sub = dynamic(it, "auth.claims.sub").unwrap();
    assert!(
        sub.ends_with("/user/<id of the user who triggers the pipeline>"),
        "{sub}"
    );
    // The context's id was not given.
    assert!(dynamic(it, "auth.claims.oidc.circleci.com/context-ids")
        .unwrap()
        .contains("payments-test"));
    assert_eq!(it.needs, ["secret/data/payments/test-db"]);
    assert_eq!(
        exposures(it),
        [
            ("secret-echoed".to_string(), Some(28)),
            ("any-branch".to_string(), Some(53))
        ]
    );
    // The deploy job: main and v* tags, with the production context's id; V2 `sub`.
    let main = pipeline(&inv, "payments-api/release/deploy-prod@branch:main");
    assert_eq!(
        claim(main, "oidc.circleci.com/vcs-ref"),
        Some(&json!("refs/heads/main"))
    );
    assert_eq!(
        claim(main, "oidc.circleci.com/context-ids"),
        Some(&json!(["c7d1f2a4-6b3e-4e5f-8a9b-0c1d2e3f4a5b"]))
    );
    assert!(dynamic(main, "auth.claims.sub")
        .unwrap()
        .ends_with("/vcs-ref/refs/heads/main"));
    assert_eq!(
        dynamic(main, "needs").as_deref(),
        Some("secret/data/payments/<<parameters.env>>/api")
    );
    assert_eq!(
        exposures(main),
        [
            ("secret-in-artifact".to_string(), Some(43)),
            ("secret-echoed".to_string(), Some(44))
        ]
    );
    let tags = pipeline(&inv, "payments-api/release/deploy-prod@tags");
    assert!(claim(tags, "oidc.circleci.com/vcs-ref").is_none());
    assert!(dynamic(tags, "auth.claims.oidc.circleci.com/vcs-ref")
        .unwrap()
        .contains("/^v.*/"));
}

#[test]
fn circleci_origin_comes_from_the_remote_and_missing_settings_stay_dynamic() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".circleci")).unwrap();
    std::fs::create_dir_all(dir.path().join(".git")).unwrap();
    std::fs::copy(
        Path::new(ROOT).join("fixtures/discover/circleci/payments-api/.circleci/config.yml"),
        dir.path().join(".circleci/config.yml"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join(".git/config"),
        "[remote \"origin\"]\n\turl = git@github.com:acme/payments-api.git\n",
    )
    .unwrap();
    let (inv, _) = discover(&["--quiet", "--circleci", dir.path().to_str().unwrap()]);
    let main = pipeline(&inv, "acme/payments-api/release/deploy-prod@branch:main");
    assert_eq!(
        claim(main, "oidc.circleci.com/vcs-origin"),
        Some(&json!("github.com/acme/payments-api"))
    );
    assert!(dynamic(main, "auth.claims.sub")
        .unwrap()
        .contains("/vcs-origin/github.com/acme/payments-api/vcs-ref/refs/heads/main"));
    // Without --circleci-org / --circleci-project: issuer, audience and ids are dynamic.
    for field in [
        "iss",
        "aud",
        "oidc.circleci.com/org-id",
        "oidc.circleci.com/project-id",
    ] {
        assert!(claim(main, field).is_none(), "{field}");
        assert!(
            dynamic(main, &format!("auth.claims.{field}")).is_some(),
            "{field}"
        );
    }
}

#[test]
fn buildkite_is_the_expected_inventory() {
    let (inv, _) = discover(BUILDKITE);
    assert_same(&inv, &expected("buildkite-deploy-tools.yaml"));
    // `build` uses no Vault; publish runs on main and on release/* (a pattern).
    let names: Vec<&str> = inv.pipelines.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "acme/deploy-tools/integration",
            "acme/deploy-tools/publish@branch:main",
            "acme/deploy-tools/publish@branches",
            "acme/deploy-tools/announce"
        ]
    );
    let it = pipeline(&inv, "acme/deploy-tools/integration");
    assert_eq!(
        claim(it, "iss"),
        Some(&json!("https://agent.buildkite.com"))
    );
    assert_eq!(claim(it, "aud"), Some(&json!("https://bao.acme.example")));
    // Requested with --claim organization_id,pipeline_id: the ids given with the pipeline.
    assert_eq!(
        claim(it, "organization_id"),
        Some(&json!("0190f1a2-7b3c-4d5e-8f60-a1b2c3d4e5f6"))
    );
    assert_eq!(
        claim(it, "pipeline_id"),
        Some(&json!("0190f1a2-9c8d-4e7f-a6b5-c4d3e2f1a0b9"))
    );
    assert_eq!(claim(it, "step_key"), Some(&json!("integration")));
    assert!(dynamic(it, "auth.claims.build_number").is_some());
    assert!(dynamic(it, "auth.claims.sub")
        .unwrap()
        .ends_with(":commit:<commit>:step:integration"));
    assert_eq!(
        exposures(it),
        [
            ("any-branch".to_string(), Some(9)),
            ("secret-in-artifact".to_string(), Some(14))
        ]
    );
    // The vault-oidc-auth plugin logs in; its token is not asked for the optional claims.
    let publish = pipeline(&inv, "acme/deploy-tools/publish@branch:main");
    assert_eq!(
        (publish.auth.mount.as_str(), publish.auth.role.as_deref()),
        ("buildkite", Some("deploy-tools-release"))
    );
    assert_eq!(claim(publish, "build_branch"), Some(&json!("main")));
    assert!(claim(publish, "organization_id").is_none());
    assert_eq!(
        exposures(publish),
        [
            ("debug-logging".to_string(), Some(31)),
            ("secret-echoed".to_string(), Some(32))
        ]
    );
    // A step without `key`: `step_key` is null (a role binding step_key refuses it).
    let announce = pipeline(&inv, "acme/deploy-tools/announce");
    assert_eq!(claim(announce, "step_key"), Some(&Value::Null));
    assert_eq!(claim(announce, "build_branch"), Some(&json!("main")));
    assert!(exposures(announce).is_empty());
}

#[test]
fn buildkite_without_pipeline_names_keeps_slugs_dynamic_and_flags_are_checked() {
    let (inv, _) = discover(&[
        "--quiet",
        "--buildkite",
        "fixtures/discover/buildkite/deploy-tools/.buildkite/pipeline.yml",
    ]);
    let it = inv
        .pipelines
        .iter()
        .find(|p| p.name.ends_with("/integration"))
        .unwrap();
    for field in [
        "organization_slug",
        "pipeline_slug",
        "organization_id",
        "pipeline_id",
    ] {
        assert!(claim(it, field).is_none(), "{field}");
        assert!(
            dynamic(it, &format!("auth.claims.{field}")).is_some(),
            "{field}"
        );
    }
    let out = run(&[
        "discover",
        "--buildkite-pipeline",
        "a/b",
        "--circleci",
        "fixtures/discover/circleci/payments-api",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("--buildkite-pipeline is given 1 time(s) for 0"));
    let out = run(&[
        "discover",
        "--circleci",
        "fixtures/discover/circleci/payments-api",
        "--circleci-context",
        "nameonly",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected NAME=ID"));
}
