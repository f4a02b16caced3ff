//! `blastmap discover`: the inventories discovered from the realistic CI
//! configurations in `fixtures/discover/` (GitHub Actions, GitLab CI with a local include,
//! a Jenkinsfile) are exactly the expected ones in `fixtures/discover/expected/`, with the
//! needs, claims, dynamic values and exposures checked one by one below; malformed input is a
//! clear error naming the file and line; a discovered inventory merges with a hand-written one
//! and feeds `reach` and `findings` on the demo estate.

use crate::common;

use std::path::Path;

use blastmap::inventory::{Inventory, Pipeline};
use common::discovered::{run, ROOT};
use serde_json::Value;

/// Run `discover` (YAML on stdout) and load the result as an inventory.
fn discover(args: &[&str]) -> Inventory {
    let mut a = vec!["discover", "--quiet"];
    a.extend_from_slice(args);
    let out = run(&a);
    assert!(
        out.status.success(),
        "discover {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    Inventory::from_yaml_str(&text, "discovered.yaml").unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn expected(name: &str) -> Inventory {
    Inventory::load(
        &Path::new(ROOT)
            .join("fixtures/discover/expected")
            .join(name),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn pipeline<'a>(inv: &'a Inventory, name: &str) -> &'a Pipeline {
    inv.pipeline(name).unwrap_or_else(|| {
        panic!(
            "no pipeline {name}; have {:?}",
            inv.pipelines.iter().map(|p| &p.name).collect::<Vec<_>>()
        )
    })
}

fn claim<'a>(p: &'a Pipeline, k: &str) -> Option<&'a str> {
    p.auth.claims.as_ref()?.get(k)?.as_str()
}

fn dynamic(p: &Pipeline, field: &str) -> Option<String> {
    p.dynamic
        .iter()
        .find(|d| d.field == field)
        .map(|d| d.expression.clone())
}

fn exposures(p: &Pipeline) -> Vec<(String, Option<usize>)> {
    p.ci.as_ref()
        .map(|c| {
            c.exposures
                .iter()
                .map(|e| (e.kind.clone(), e.line))
                .collect()
        })
        .unwrap_or_default()
}

fn kinds(p: &Pipeline) -> Vec<String> {
    exposures(p).into_iter().map(|e| e.0).collect()
}

/// Compare pipeline by pipeline, so a difference names the pipeline.
fn assert_same(got: &Inventory, want: &Inventory) {
    let names = |i: &Inventory| {
        i.pipelines
            .iter()
            .map(|p| p.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(got), names(want));
    for (g, w) in got.pipelines.iter().zip(&want.pipelines) {
        assert_eq!(g, w, "pipeline {} differs", g.name);
    }
    assert_eq!(got, want);
}

const PAYMENTS: &[&str] = &[
    "--github",
    "fixtures/discover/github/payments",
    "--repo",
    "acme/payments",
];

#[test]
fn github_payments_is_the_expected_inventory() {
    let inv = discover(PAYMENTS);
    assert_same(&inv, &expected("github-payments.yaml"));
    // The integration job's matrix reads one secret per service: one pipeline per service.
    assert_eq!(inv.pipelines.len(), 12);
    for service in ["ledger", "refunds"] {
        let p = pipeline(
            &inv,
            &format!("acme/payments/ci/integration[service={service}]@pull_request"),
        );
        assert_eq!(p.needs, [format!("secret/data/ci/payments/{service}")]);
    }

    // Production deploy: environment `sub`, the multi-line `;`-separated secrets (database
    // creds named twice, read once), exportToken with two later steps.
    let d = pipeline(&inv, "acme/payments/deploy/deploy");
    assert_eq!(d.auth.mount, "gha");
    assert_eq!(d.auth.role.as_deref(), Some("payments-deploy"));
    assert_eq!(
        d.needs,
        [
            "database/creds/payments-rw",
            "secret/data/payments/db",
            "secret/data/payments/deploy/kubeconfig",
            "secret/data/payments/stripe-api-key",
        ]
    );
    assert_eq!(
        claim(d, "sub"),
        Some("repo:acme/payments:environment:production")
    );
    assert_eq!(claim(d, "aud"), Some("https://github.com/acme"));
    assert_eq!(
        claim(d, "iss"),
        Some("https://token.actions.githubusercontent.com")
    );
    assert_eq!(claim(d, "ref"), Some("refs/heads/main"));
    assert_eq!(claim(d, "environment"), Some("production"));
    assert_eq!(
        claim(d, "job_workflow_ref"),
        Some("acme/payments/.github/workflows/deploy.yml@refs/heads/main")
    );
    assert_eq!(exposures(d), [("export-token".to_string(), Some(29))]);
    assert_eq!(d.ci.as_ref().unwrap().exposures[0].later_steps, Some(2));
    // The kubeconfig written to $RUNNER_TEMP is not uploaded: no artifact exposure.
    assert!(d.dynamic.is_empty(), "{:?}", d.dynamic);

    // Pull-request CI: the pull_request `sub`, the ref unknown; folded (`>-`) secrets.
    let pr = pipeline(&inv, "acme/payments/ci/test@pull_request");
    assert_eq!(claim(pr, "sub"), Some("repo:acme/payments:pull_request"));
    assert_eq!(claim(pr, "event_name"), Some("pull_request"));
    assert_eq!(claim(pr, "base_ref"), Some("main"));
    assert_eq!(claim(pr, "ref"), None);
    assert_eq!(
        dynamic(pr, "auth.claims.ref").as_deref(),
        Some("refs/pull/<number>/merge")
    );
    assert_eq!(
        pr.needs,
        [
            "secret/data/ci/payments/codecov-token",
            "secret/data/ci/shared/npm-token"
        ]
    );
    assert_eq!(
        exposures(pr),
        [
            ("debug-logging".to_string(), Some(30)),
            ("secret-in-artifact".to_string(), Some(36)),
        ]
    );
    // The same job on push to main: the ref form; on release/**: a pattern, so dynamic.
    let main = pipeline(&inv, "acme/payments/ci/test@push:refs/heads/main");
    assert_eq!(
        claim(main, "sub"),
        Some("repo:acme/payments:ref:refs/heads/main")
    );
    let rel = pipeline(&inv, "acme/payments/ci/test@push:refs/heads/release/**");
    assert_eq!(claim(rel, "sub"), None);
    assert_eq!(
        dynamic(rel, "auth.claims.sub").as_deref(),
        Some("repo:acme/payments:ref:<refs/heads/release/**>")
    );

    // A literal matrix expands: each service's pipeline reads its own secret, no need left
    // dynamic; the runner is self-hosted.
    let m = pipeline(
        &inv,
        "acme/payments/ci/integration[service=refunds]@push:refs/heads/main",
    );
    assert_eq!(m.needs, ["secret/data/ci/payments/refunds"]);
    assert_eq!(dynamic(m, "needs"), None);
    assert_eq!(claim(m, "runner_environment"), Some("self-hosted"));

    // Reusable workflow: the caller's sub, ref and workflow; job_workflow_ref names the callee;
    // `${{ inputs.environment }}` and `${{ inputs.app }}` come from the caller's literal `with:`.
    let r = pipeline(&inv, "acme/payments/release/publish/rollout");
    assert_eq!(
        claim(r, "sub"),
        Some("repo:acme/payments:environment:staging")
    );
    assert_eq!(claim(r, "workflow"), Some("release"));
    assert_eq!(claim(r, "ref_type"), Some("tag"));
    assert_eq!(
        dynamic(r, "auth.claims.job_workflow_ref").as_deref(),
        Some("acme/payments/.github/workflows/deploy-reusable.yml@<refs/tags/v*>")
    );
    assert_eq!(r.needs, ["secret/data/payments/deploy/kubeconfig"]);
    assert!(inv
        .pipelines
        .iter()
        .all(|p| !p.name.contains("deploy-reusable")));

    // pull_request_target with a checkout of the head: both exposures, and step debug.
    let t = pipeline(&inv, "acme/payments/triage/preview");
    assert_eq!(claim(t, "event_name"), Some("pull_request_target"));
    assert_eq!(kinds(t), ["pull-request-target", "step-debug", "fork-code"]);
    // The `label` job of the same workflow reads nothing: not a pipeline.
    assert!(inv.pipeline("acme/payments/triage/label").is_none());
}

#[test]
fn github_immutable_ids_default_branch_and_static_tokens() {
    let inv = discover(&[
        "--github",
        "fixtures/discover/github/platform-infra",
        "--repo",
        "acme@41870000/platform-infra@5550001",
        "--default-branch",
        "main",
    ]);
    assert_same(&inv, &expected("github-platform-infra.yaml"));
    let p = pipeline(
        &inv,
        "acme/platform-infra/apply/terraform@push:refs/heads/main",
    );
    assert_eq!(
        claim(p, "sub"),
        Some("repo:acme@41870000/platform-infra@5550001:environment:production")
    );
    assert_eq!(claim(p, "repository"), Some("acme/platform-infra"));
    assert_eq!(claim(p, "repository_owner_id"), Some("41870000"));
    assert_eq!(claim(p, "repository_id"), Some("5550001"));
    // The exported token is used by a `vault kv get -mount=…` (KV v2: data/ inserted) and a
    // curl to /v1/.
    assert_eq!(
        p.needs,
        [
            "secret/data/platform/terraform/aws-admin",
            "secret/data/platform/terraform/state-bucket",
            "sys/policies/acl/ci-shared",
        ]
    );
    assert_eq!(kinds(p), ["export-token", "debug-logging"]);
    // workflow_dispatch: the ref is chosen when dispatched.
    let w = pipeline(
        &inv,
        "acme/platform-infra/apply/terraform@workflow_dispatch",
    );
    assert!(dynamic(w, "auth.claims.ref").is_some());
    // AppRole login (the role behind a role-id secret is unknown), `namespace`, and `pki`
    // entries (`;`-separated, JSON parameters after the path).
    let c = pipeline(&inv, "acme/platform-infra/certs/issue");
    assert_eq!(c.auth.method.as_str(), "approle");
    assert_eq!(c.auth.namespace, "edge");
    assert_eq!(c.needs, ["pki/issue/checkout", "pki_int/issue/edge"]);
    assert!(dynamic(c, "auth.role").is_some());
    // The nightly job has no login: `bao` with the workflow-level VAULT_TOKEN.
    let n = pipeline(&inv, "acme/platform-infra/nightly/drift");
    assert_eq!(n.auth.method.as_str(), "token");
    assert_eq!(
        n.needs,
        [
            "database/creds/readonly",
            "secret/data/platform/terraform/state-bucket"
        ]
    );
    assert_eq!(
        kinds(n),
        ["workflow-env-token", "secret-echoed", "secret-echoed"]
    );
}

#[test]
fn github_custom_sub_template() {
    let inv = discover(&[
        "--github",
        "fixtures/discover/github/platform-infra",
        "--repo",
        "acme/platform-infra",
        "--sub-template",
        "repo,context,job_workflow_ref",
        "--github-issuer",
        "https://github.acme.example/_services/token",
    ]);
    let p = pipeline(
        &inv,
        "acme/platform-infra/apply/terraform@push:refs/heads/main",
    );
    assert_eq!(
        claim(p, "sub"),
        Some("repo:acme/platform-infra:environment:production:job_workflow_ref:acme/platform-infra/.github/workflows/apply.yml@refs/heads/main")
    );
    assert_eq!(
        claim(p, "iss"),
        Some("https://github.acme.example/_services/token")
    );
    // The dispatch run's job_workflow_ref is unknown, so its templated sub is too.
    let w = pipeline(
        &inv,
        "acme/platform-infra/apply/terraform@workflow_dispatch",
    );
    assert_eq!(claim(w, "sub"), None);
    assert!(dynamic(w, "auth.claims.sub").is_some());
}

#[test]
fn github_repository_from_git_config_and_missing_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let wf = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&wf).unwrap();
    std::fs::create_dir_all(dir.path().join(".git")).unwrap();
    std::fs::write(
        dir.path().join(".git/config"),
        "[remote \"origin\"]\n\turl = git@github.com:acme/checkout.git\n",
    )
    .unwrap();
    std::fs::write(
        wf.join("build.yml"),
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    environment: \"Prod:EU\"\n    steps:\n      - uses: hashicorp/vault-action@v3\n        with:\n          url: https://bao\n          method: jwt\n          path: gha\n          secrets: secret/data/checkout/redis password\n",
    )
    .unwrap();
    let out = run(&["discover", "--github", dir.path().to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no `permissions: id-token: write`"), "{err}");
    let inv = Inventory::from_yaml_str(&String::from_utf8_lossy(&out.stdout), "x.yaml").unwrap();
    let p = &inv.pipelines[0];
    assert_eq!(p.name, "acme/checkout/build/build");
    // `:` inside a claim value is encoded in `sub`.
    assert_eq!(
        claim(p, "sub"),
        Some("repo:acme/checkout:environment:Prod%3AEU")
    );
    assert_eq!(claim(p, "environment"), Some("Prod:EU"));
    assert_eq!(p.needs, ["secret/data/checkout/redis"]);
    // Without `on:` filters the pushed ref is unknown.
    assert!(dynamic(p, "auth.claims.ref").is_some());
}

#[test]
fn github_fork_guard_is_respected() {
    let dir = tempfile::tempdir().unwrap();
    let wf = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&wf).unwrap();
    let body = |guard: &str| {
        format!(
            "on: pull_request_target\npermissions: {{id-token: write}}\njobs:\n  preview:\n    {guard}runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n        with: {{ref: \"${{{{ github.event.pull_request.head.sha }}}}\"}}\n      - uses: hashicorp/vault-action@v3\n        with: {{url: https://bao, method: jwt, path: gha, secrets: secret/data/x y}}\n"
        )
    };
    std::fs::write(wf.join("open.yml"), body("")).unwrap();
    std::fs::write(
        wf.join("guarded.yml"),
        body("if: github.event.pull_request.head.repo.full_name == github.repository\n    "),
    )
    .unwrap();
    let inv = discover(&["--github", dir.path().to_str().unwrap(), "--repo", "acme/x"]);
    assert_eq!(
        kinds(pipeline(&inv, "acme/x/open/preview")),
        ["pull-request-target", "fork-code"]
    );
    assert!(kinds(pipeline(&inv, "acme/x/guarded/preview")).is_empty());
}

const GITLAB: &[&str] = &[
    "--gitlab",
    "fixtures/discover/gitlab/data-pipelines/.gitlab-ci.yml",
    "--project",
    "acme/data/pipelines",
    "--gitlab-url",
    "https://gitlab.acme.example",
    "--default-branch",
    "main",
    "--protected-ref",
    "main",
];

#[test]
fn gitlab_is_the_expected_inventory() {
    let inv = discover(GITLAB);
    assert_same(&inv, &expected("gitlab-data-pipelines.yaml"));
    // Short form `path/field@mount`, `file: false`; login settings from the included hidden job
    // (`extends: .vault`) and the global variables.
    let e = pipeline(&inv, "acme/data/pipelines/extract@branch:main");
    assert_eq!(e.auth.mount, "gitlab");
    assert_eq!(e.auth.role.as_deref(), Some("data-etl"));
    assert_eq!(e.auth.namespace, "data");
    assert_eq!(e.needs, ["secret/data/warehouse/snowflake-etl"]);
    assert_eq!(
        claim(e, "sub"),
        Some("project_path:acme/data/pipelines:ref_type:branch:ref:main")
    );
    assert_eq!(claim(e, "namespace_path"), Some("acme/data"));
    assert_eq!(claim(e, "ref_protected"), Some("true"));
    assert_eq!(claim(e, "aud"), Some("https://bao.acme.example"));
    assert_eq!(claim(e, "iss"), Some("https://gitlab.acme.example"));
    assert!(
        kinds(e).is_empty(),
        "CI_DEBUG_TRACE is \"false\": {:?}",
        kinds(e)
    );
    // The merge-request run of the same job: the source branch is unknown.
    let mr = pipeline(&inv, "acme/data/pipelines/extract@merge_request_event");
    assert_eq!(claim(mr, "pipeline_source"), Some("merge_request_event"));
    assert_eq!(claim(mr, "sub"), None);
    assert!(dynamic(mr, "auth.claims.sub").is_some());
    // Long form with engine path; the file secret copied into the artifact directory.
    let l = pipeline(&inv, "acme/data/pipelines/load");
    assert_eq!(l.needs, ["secret/data/warehouse/airflow-fernet"]);
    assert_eq!(claim(l, "environment"), Some("production"));
    assert_eq!(exposures(l), [("secret-in-artifact".to_string(), Some(38))]);
    // A job defined in the include, logging in from its script with a second ID token whose
    // aud is a list; CI_DEBUG_TRACE, `set -x` and an uncaptured `vault kv get`.
    let r = pipeline(&inv, "acme/data/pipelines/manual-rotate");
    assert!(r.ci.as_ref().unwrap().file.ends_with("ci/vault.yml"));
    assert_eq!(r.auth.role.as_deref(), Some("data-rotate"));
    assert_eq!(
        r.auth.claims.as_ref().unwrap()["aud"],
        Value::from(vec![
            "https://bao.acme.example",
            "https://bao-dr.acme.example"
        ])
    );
    assert_eq!(
        exposures(r),
        [
            ("step-debug".to_string(), Some(19)),
            ("debug-logging".to_string(), Some(21)),
            ("secret-echoed".to_string(), Some(24)),
        ]
    );
    // Short form without @mount: the kv-v2 mount. `$VAR`s in a secret path and in the
    // environment name are dynamic, never guessed.
    let rv = pipeline(&inv, "acme/data/pipelines/review");
    assert_eq!(rv.needs, ["kv-v2/data/previews/shared-db"]);
    assert!(dynamic(rv, "needs").unwrap().starts_with(
        "secret/data/previews/$CI_COMMIT_REF_SLUG ($CI_COMMIT_REF_SLUG is predefined"
    ));
    assert!(dynamic(rv, "auth.claims.environment")
        .unwrap()
        .starts_with("review/$CI_COMMIT_REF_SLUG ("));
    assert_eq!(claim(rv, "environment"), None);
    // `report` reads nothing.
    assert!(inv.pipelines.iter().all(|p| !p.name.contains("report")));
}

#[test]
fn gitlab_without_instance_settings_marks_them_dynamic() {
    let inv = discover(&GITLAB[..4]);
    let e = pipeline(&inv, "acme/data/pipelines/extract@branch:main");
    assert_eq!(claim(e, "iss"), None);
    assert!(dynamic(e, "auth.claims.iss").is_some());
    assert!(dynamic(e, "auth.claims.ref_protected").is_some());
    let r = pipeline(&inv, "acme/data/pipelines/manual-rotate");
    assert!(dynamic(r, "auth.claims.ref")
        .unwrap()
        .contains("CI_DEFAULT_BRANCH"));
}

#[test]
fn jenkins_is_the_expected_inventory() {
    let inv = discover(&[
        "--jenkins",
        "fixtures/discover/jenkins/payments-batch/Jenkinsfile",
        "--jenkins-role",
        "vault-approle-payments=jenkins-payments",
    ]);
    assert_same(&inv, &expected("jenkins-payments-batch.yaml"));
    let u = pipeline(&inv, "jenkins/payments-batch/Upload");
    assert_eq!(u.auth.method.as_str(), "approle");
    assert_eq!(u.auth.configured_role(), Some("jenkins-payments"));
    // engineVersion 2: data/ inserted; a GString path is dynamic.
    assert_eq!(
        u.needs,
        [
            "secret/data/payments/db",
            "secret/data/payments/sftp/bank-upload"
        ]
    );
    assert_eq!(
        dynamic(u, "needs").as_deref(),
        Some("secret/payments/${env.BANK}/api")
    );
    assert_eq!(exposures(u), [("secret-in-artifact".to_string(), Some(23))]);
    // engineVersion 1: the path as written; named-argument form of withVault.
    let r = pipeline(&inv, "jenkins/payments-batch/Report");
    assert_eq!(r.needs, ["kv1/legacy/payments-ftp"]);
    assert_eq!(exposures(r), [("secret-echoed".to_string(), Some(33))]);
}

#[test]
fn malformed_yaml_is_an_error_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let wf = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&wf).unwrap();
    std::fs::write(
        wf.join("bad.yml"),
        "on: push\njobs:\n  x:\n    steps: [a, b\n    runs-on: y\n",
    )
    .unwrap();
    let out = run(&[
        "discover",
        "--github",
        dir.path().to_str().unwrap(),
        "--repo",
        "acme/x",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.yml:"), "{err}");
    assert!(err.contains("malformed YAML"), "{err}");
    let line = err
        .split("bad.yml:")
        .nth(1)
        .unwrap()
        .split(':')
        .next()
        .unwrap();
    assert!(line.parse::<usize>().unwrap() >= 4, "{err}");

    let gl = dir.path().join(".gitlab-ci.yml");
    std::fs::write(&gl, "job:\n  script: a\n   b: c\n").unwrap();
    let out = run(&[
        "discover",
        "--gitlab",
        gl.to_str().unwrap(),
        "--project",
        "g/p",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(".gitlab-ci.yml:3:") && err.contains("malformed YAML"),
        "{err}"
    );
}

#[test]
fn other_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let gl = dir.path().join(".gitlab-ci.yml");
    // A local include that does not exist: a note naming file and line of the include, and
    // the rest is read.
    std::fs::write(
        &gl,
        "include:\n  - local: /ci/missing.yml\njob:\n  script: [true]\n",
    )
    .unwrap();
    let out = run(&[
        "discover",
        "--gitlab",
        gl.to_str().unwrap(),
        "--project",
        "g/p",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(".gitlab-ci.yml:2: include \"/ci/missing.yml\" not found"),
        "{err}"
    );
    // extends of an unknown job, and a loop: notes, not errors.
    std::fs::write(&gl, "job:\n  extends: .nope\n  script: [true]\n").unwrap();
    let err = String::from_utf8_lossy(
        &run(&[
            "discover",
            "--gitlab",
            gl.to_str().unwrap(),
            "--project",
            "g/p",
        ])
        .stderr,
    )
    .to_string();
    assert!(err.contains("extends: .nope"), "{err}");
    std::fs::write(
        &gl,
        ".a:\n  extends: .b\n.b:\n  extends: .a\njob:\n  extends: .a\n",
    )
    .unwrap();
    let out = run(&[
        "discover",
        "--gitlab",
        gl.to_str().unwrap(),
        "--project",
        "g/p",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("loops"));
    // No repository name to be found.
    let out = run(&["discover", "--github", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pass --repo OWNER/REPO"));
    // Bad option values.
    let out = run(&[
        "discover",
        "--github",
        "fixtures/discover/github/payments",
        "--repo",
        "acme",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["discover"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to read"));
    // Arbitrary bytes never panic.
    std::fs::write(&gl, [0xffu8, 0xfe, b':', b'\n', b'-', b'[']).unwrap();
    let out = run(&[
        "discover",
        "--gitlab",
        gl.to_str().unwrap(),
        "--project",
        "g/p",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let jf = dir.path().join("Jenkinsfile");
    std::fs::write(
        &jf,
        "withVault([configuration: [vaultCredentialId: 'x'], vaultSecrets: [[path: ",
    )
    .unwrap();
    let out = run(&["discover", "--jenkins", jf.to_str().unwrap()]);
    assert!(
        out.status.code() == Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn merge_keeps_hand_written_pipelines_and_fills_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("merged.yaml");
    let o = run(&[
        "discover",
        "--quiet",
        "--github",
        "fixtures/discover/github/payments",
        "--repo",
        "acme/payments",
        "--merge",
        "fixtures/demo/pipelines.yaml",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let merged = Inventory::load(&out).unwrap();
    let hand = Inventory::load(&Path::new(ROOT).join("fixtures/demo/pipelines.yaml")).unwrap();
    // Every hand-written pipeline is kept as written, teams included, in its place.
    assert_eq!(merged.teams, hand.teams);
    assert_eq!(
        &merged.pipelines[..hand.pipelines.len()],
        &hand.pipelines[..]
    );
    assert_eq!(merged.pipelines.len(), hand.pipelines.len() + 12);

    // A hand-written pipeline with a discovered name: its fields win, the gaps are filled.
    let hand_text = "teams: [{name: payments, owns: [\"secret/data/payments/*\"]}]\npipelines:\n  - name: acme/payments/deploy/deploy\n    team: payments\n    auth:\n      method: jwt\n      mount: gha\n      claims: {sub: \"repo:acme/payments:environment:production\", repository: acme/payments}\n    needs: [secret/data/payments/db]\n";
    let h = dir.path().join("hand.yaml");
    std::fs::write(&h, hand_text).unwrap();
    let o = run(&[
        "discover",
        "--quiet",
        "--github",
        "fixtures/discover/github/payments",
        "--repo",
        "acme/payments",
        "--merge",
        h.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m = Inventory::load(&out).unwrap();
    let p = pipeline(&m, "acme/payments/deploy/deploy");
    assert_eq!(p.team.as_deref(), Some("payments"));
    assert_eq!(
        p.needs,
        ["secret/data/payments/db"],
        "hand-written needs win"
    );
    assert_eq!(
        p.auth.role.as_deref(),
        Some("payments-deploy"),
        "role filled"
    );
    assert_eq!(claim(p, "ref"), Some("refs/heads/main"), "claims filled");
    assert_eq!(
        claim(p, "sub"),
        Some("repo:acme/payments:environment:production")
    );
    assert!(p.ci.is_some());
    assert_eq!(m.pipelines.len(), 12);
}

#[test]
fn json_output_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.json");
    let mut a = vec!["discover", "--quiet"];
    a.extend_from_slice(GITLAB);
    a.extend(["--out", out.to_str().unwrap()]);
    assert!(run(&a).status.success());
    assert_same(
        &Inventory::load(&out).unwrap(),
        &expected("gitlab-data-pipelines.yaml"),
    );
}

/// Discover everything, then `reach` and `findings` on the demo snapshot.
#[test]
fn discovered_inventory_feeds_reach_and_findings() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("pipelines.yaml");
    let mut a = vec!["discover", "--quiet"];
    a.extend_from_slice(PAYMENTS);
    a.extend([
        "--github",
        "fixtures/discover/github/platform-infra",
        "--repo",
        "acme/platform-infra",
    ]);
    a.extend_from_slice(GITLAB);
    a.extend([
        "--jenkins",
        "fixtures/discover/jenkins/payments-batch/Jenkinsfile",
        "--jenkins-role",
        "vault-approle-payments=jenkins-payments",
        "--out",
        inv.to_str().unwrap(),
    ]);
    let o = run(&a);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let o = run(&[
        "reach",
        "--snapshot",
        "fixtures/demo/snapshot.json",
        "--pipelines",
        inv.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let reach = |name: &str| -> Vec<String> {
        v["pipelines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name} not in reach output"))["secrets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["path"].as_str().unwrap().to_string())
            .collect()
    };
    // The discovered production deploy logs in as payments-deploy and reaches what it needs.
    let deploy = reach("acme/payments/deploy/deploy");
    for need in [
        "secret/data/payments/db",
        "secret/data/payments/deploy/kubeconfig",
    ] {
        assert!(
            deploy.iter().any(|s| s == need),
            "{need} not reached: {deploy:?}"
        );
    }
    // The Jenkins job, mapped to its AppRole, reaches the payments database secret.
    assert!(reach("jenkins/payments-batch/Upload")
        .iter()
        .any(|s| s == "secret/data/payments/db"));

    // Findings: the CI exposure rules fire on the discovered jobs, by file and line.
    let o = run(&[
        "findings",
        "--snapshot",
        "fixtures/demo/snapshot.json",
        "--pipelines",
        inv.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let f: Value = serde_json::from_slice(&o.stdout).unwrap();
    let ci: Vec<(String, String)> = f["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["rule"].as_str().unwrap().starts_with("exposure.ci-"))
        .map(|x| {
            (
                x["rule"].as_str().unwrap().to_string(),
                x["subject"]["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let has = |rule: &str, job: &str| ci.iter().any(|(r, j)| r == rule && j.ends_with(job));
    assert!(
        has("exposure.ci-export-token", "deploy.yml#deploy"),
        "{ci:?}"
    );
    assert!(has("exposure.ci-fork-code", "triage.yml#preview"), "{ci:?}");
    assert!(
        has("exposure.ci-pull-request-target", "triage.yml#preview"),
        "{ci:?}"
    );
    assert!(
        has("exposure.ci-secret-in-artifact", "ci.yml#test"),
        "{ci:?}"
    );
    assert!(has("exposure.ci-debug-logging", "ci.yml#test"), "{ci:?}");
    assert!(
        has("exposure.ci-step-debug", "triage.yml#preview"),
        "{ci:?}"
    );
    assert!(
        has("exposure.ci-workflow-env-token", "nightly.yml#drift"),
        "{ci:?}"
    );
    assert!(
        has(
            "exposure.ci-secret-echoed",
            "Jenkinsfile#payments-batch: stage Report"
        ),
        "{ci:?}"
    );
    // One finding per job and kind, not per trigger: ci.yml#test has three pipelines.
    assert_eq!(
        ci.iter()
            .filter(|(r, j)| r == "exposure.ci-secret-in-artifact" && j.ends_with("ci.yml#test"))
            .count(),
        1
    );
    // SARIF points at the CI file and line, for code scanning.
    let o = run(&[
        "findings",
        "--snapshot",
        "fixtures/demo/snapshot.json",
        "--pipelines",
        inv.to_str().unwrap(),
        "--format",
        "sarif",
        "--rule",
        "exposure.ci-export-token",
    ]);
    let s: Value = serde_json::from_slice(&o.stdout).unwrap();
    let locs: Vec<(String, u64)> = s["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let pl = &r["locations"][0]["physicalLocation"];
            (
                pl["artifactLocation"]["uri"].as_str().unwrap().to_string(),
                pl["region"]["startLine"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(
        locs.contains(&(
            "fixtures/discover/github/payments/.github/workflows/deploy.yml".to_string(),
            29
        )),
        "{locs:?}"
    );
    // GitLab jobs log in to a mount the demo estate does not have: nothing to judge.
    assert!(!ci.iter().any(|(_, j)| j.contains("gitlab")), "{ci:?}");
}

mod never_panics {
    use blastmap::discover::{jenkins, shell, yaml};
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn text() -> impl Strategy<Value = String> {
        // Mostly CI-ish characters, some arbitrary ones.
        prop::collection::vec(
            prop_oneof![
                8 => prop::sample::select(vec![
                    " ", "  ", "\n", "- ", ":", "'", "\"", "$", "{", "}", "[", "]", "(", ")", ",",
                    "|", ">", ";", "#", "\\", "vault ", "kv get ", "-mount=", "secret/", "/v1/",
                    "curl ", "echo ", "set -x", "withVault(", "path: ", "stage('", "sh '''",
                    "'''", "${{ ", " }}", "auth/", "/login", "jwt=", "role=", "ü", "é:", "\t",
                ]).prop_map(str::to_string),
                1 => any::<char>().prop_map(|c| c.to_string()),
            ],
            0..80,
        )
        .prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn shell_scan(s in text()) {
            let vars: BTreeSet<String> = ["TOKEN".to_string()].into();
            let _ = shell::scan(&s, &vars, &vars);
        }

        #[test]
        fn groovy_literals(s in text()) {
            let _ = jenkins::parse_literal(&s, &Default::default());
        }

        #[test]
        fn jenkinsfiles(s in text()) {
            let dir = tempfile::tempdir().unwrap();
            let f = dir.path().join("Jenkinsfile");
            std::fs::write(&f, format!("withVault({s}")).unwrap();
            let mut out = blastmap::discover::Discovery::default();
            let _ = jenkins::discover(&f, &Default::default(), &mut out);
        }

        #[test]
        fn bitbucket_azure_and_terraform(s in text()) {
            let dir = tempfile::tempdir().unwrap();
            let opts = Default::default();
            for (name, body) in [
                ("bitbucket-pipelines.yml", format!("pipelines:\n  default:\n    - step:\n        oidc: true\n        script:\n          - {s}\n")),
                ("azure-pipelines.yml", format!("steps:\n  - bash: {s}\n  - task: Vault@1\n    inputs: {{path: {s}}}\n")),
                ("raw.yml", s.clone()),
            ] {
                let f = dir.path().join(name);
                std::fs::write(&f, body).unwrap();
                let mut out = blastmap::discover::Discovery::default();
                let _ = blastmap::discover::bitbucket::discover(&f, None, &opts, &mut out);
                let _ = blastmap::discover::azure::discover(&f, None, &opts, &mut out);
            }
            let f = dir.path().join("show.json");
            std::fs::write(&f, format!("{{\"format_version\":\"1.0\",\"values\":{{\"root_module\":{{\"resources\":[{{\"address\":\"tfe_workspace.w\",\"type\":\"tfe_workspace\",\"values\":{{\"name\":{s:?}}}}}]}}}}}}")).unwrap();
            let mut out = blastmap::discover::Discovery::default();
            let _ = blastmap::discover::terraform::discover(&f, &opts, &mut out);
        }

        #[test]
        fn yaml_lines(s in text(), keys in prop::collection::vec(prop::sample::select(vec!["jobs", "steps", "run", "a", "-"]), 0..5), idx in 0usize..3) {
            if let Ok(y) = yaml::YamlFile::parse(&s, "x.yml") {
                let mut path: Vec<yaml::Seg> = keys.iter().map(|k| if *k == "-" { yaml::Seg::Item(idx) } else { yaml::Seg::Key(k) }).collect();
                let _ = y.line(&path);
                path.push(yaml::Seg::Item(idx));
                let _ = y.scalar_line(&path, idx);
            }
        }
    }
}

/// The inventory extensions are optional, typed, and strict like the rest of the file.
#[test]
fn inventory_extensions_are_strict() {
    let ok = "pipelines:\n  - name: p\n    auth: {method: jwt, mount: gha}\n    dynamic: [{field: needs, expression: \"secret/data/${{ matrix.x }}\"}]\n    ci:\n      provider: github\n      file: .github/workflows/x.yml\n      job: build\n      exposures: [{kind: export-token, detail: d, later_steps: 0}]\n";
    let inv = Inventory::from_yaml_str(ok, "p.yaml").unwrap();
    assert_eq!(inv.pipelines[0].dynamic[0].field, "needs");
    assert_eq!(
        inv.pipelines[0].ci.as_ref().unwrap().exposures[0].later_steps,
        Some(0)
    );
    let bad = ok.replace("job: build", "job: build\n      jobb: x");
    let e = Inventory::from_yaml_str(&bad, "p.yaml")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("p.yaml:"), "{e}");
    assert!(
        e.contains("pipelines[0].ci") && e.contains("unknown field `jobb`"),
        "{e}"
    );
    let bad = ok.replace("expression:", "expr:");
    let e = Inventory::from_yaml_str(&bad, "p.yaml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("pipelines[0].dynamic[0]"), "{e}");
}

/// A `withVault` block that sets no `engineVersion` depends on the plugin's global setting: read
/// as KV version 2 with a note, or as the version `--jenkins-engine-version` gives (no note); a
/// version on the secret or in the block's configuration always wins.
#[test]
fn jenkins_engine_version_is_an_explicit_assumption() {
    let dir = tempfile::tempdir().unwrap();
    let jenkinsfile = dir.path().join("Jenkinsfile");
    std::fs::write(
        &jenkinsfile,
        "pipeline { agent any\n  stages { stage('Build') { steps {\n    withVault([configuration: [vaultCredentialId: 'ci'], vaultSecrets: [\n      [path: 'secret/build/token', secretValues: [[envVar: 'T', vaultKey: 'token']]],\n      [path: 'kv/legacy', engineVersion: 1, secretValues: [[envVar: 'L', vaultKey: 'v']]]]]) {\n      sh 'make'\n    }\n  } } }\n}\n",
    )
    .unwrap();
    let file = jenkinsfile.to_str().unwrap();
    let needs = |extra: &[&str]| {
        let mut args = vec!["--jenkins", file];
        args.extend_from_slice(extra);
        let (inventory, notes) = common::discovered::discover(&args);
        let needs = inventory.pipelines[0].needs.clone();
        (needs, notes)
    };
    let (assumed, notes) = needs(&[]);
    assert_eq!(assumed, ["kv/legacy", "secret/data/build/token"]);
    assert!(notes.contains("--jenkins-engine-version 1"), "{notes}");
    let (v1, notes) = needs(&["--jenkins-engine-version", "1"]);
    assert_eq!(v1, ["kv/legacy", "secret/build/token"]);
    assert!(!notes.contains("engineVersion"), "{notes}");
    let (v2, notes) = needs(&["--jenkins-engine-version", "2"]);
    assert_eq!(v2, assumed);
    assert!(!notes.contains("engineVersion"), "{notes}");
    let refused = run(&[
        "discover",
        "--jenkins",
        file,
        "--jenkins-engine-version",
        "3",
    ]);
    assert_eq!(refused.status.code(), Some(2));
}

/// `run:` scripts see the literal `env:` of the workflow, the job and the step (the step's
/// winning), so a login and a read written with `$VAULT_ROLE` or `${SECRET_PATH}` are exact;
/// a variable the script assigns itself, or an expression, stays dynamic. The audience a script
/// asks the token service for is the JWT's `aud`.
#[test]
fn github_run_scripts_use_literal_env_and_the_requested_audience() {
    let dir = tempfile::tempdir().unwrap();
    let workflows = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    std::fs::write(
        workflows.join("deploy.yml"),
        r#"name: deploy
on:
  push:
    branches: [main]
env:
  VAULT_MOUNT: gha
  VAULT_ROLE: overridden-by-the-job
permissions:
  id-token: write
jobs:
  deploy:
    runs-on: ubuntu-latest
    env:
      VAULT_ROLE: payments-deploy
      STAGE: ${{ inputs.stage }}
    steps:
      - name: read
        env:
          SECRET_PATH: secret/payments/prod/db
        run: |
          JWT=$(curl -sSL -H "Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN" "$ACTIONS_ID_TOKEN_REQUEST_URL&audience=vault.acme.example" | jq -r .value)
          export VAULT_TOKEN=$(vault write -field=token auth/${VAULT_MOUNT}/login role=$VAULT_ROLE jwt=$JWT)
          vault kv get -field=password ${SECRET_PATH} > /dev/null
          OTHER=secret/payments/other
          vault kv get -field=x $OTHER > /dev/null
          vault kv get -field=x secret/payments/$STAGE/db > /dev/null
"#,
    )
    .unwrap();
    let (inventory, _) = common::discovered::discover(&[
        "--github",
        dir.path().to_str().unwrap(),
        "--repo",
        "acme/payments",
    ]);
    let p = &inventory.pipelines[0];
    assert_eq!(p.auth.mount_path(), "gha/");
    assert_eq!(p.auth.configured_role(), Some("payments-deploy"));
    assert_eq!(claim(p, "aud"), Some("vault.acme.example"));
    assert!(
        p.needs.iter().any(|n| n == "secret/data/payments/prod/db"),
        "{:?}",
        p.needs
    );
    assert!(dynamic(p, "needs").is_some_and(|e| e.contains("$OTHER") || e.contains("$STAGE")));
    assert!(dynamic(p, "auth.mount").is_none() && dynamic(p, "auth.role").is_none());
}

/// Cloud logins present the identity the job runs as. On GitHub, the role the last
/// `aws-actions/configure-aws-credentials` step before an `aws` login assumed is its IAM
/// principal; a `gcp` login without such a step leaves the identity dynamic. On GitLab, a cloud
/// login's identity is the runner's (its tags named), never JWT claims.
#[test]
fn cloud_logins_carry_the_identity_the_job_runs_as() {
    let dir = tempfile::tempdir().unwrap();
    let workflows = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    std::fs::write(
        workflows.join("release.yml"),
        r#"on:
  push:
    branches: [main]
jobs:
  aws:
    runs-on: [self-hosted, codebuild]
    steps:
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          role-to-assume: arn:aws:iam::314159265358:role/ci/release
          aws-region: eu-west-1
      - run: |
          vault login -method=aws -path=aws role=release-ci
          vault kv get -mount=secret release/signing
  gcp:
    runs-on: ubuntu-latest
    steps:
      - run: |
          vault login -method=gcp role=release-gcp
          vault kv get -mount=secret release/gcs
"#,
    )
    .unwrap();
    let (inventory, _) = common::discovered::discover(&[
        "--github",
        dir.path().to_str().unwrap(),
        "--repo",
        "acme/release",
    ]);
    let aws = pipeline(&inventory, "acme/release/release/aws");
    assert_eq!(aws.auth.method.as_str(), "aws");
    let identity = aws.auth.aws.as_ref().expect("the assumed role");
    assert_eq!(
        identity.iam_principal_arn.as_deref(),
        Some("arn:aws:iam::314159265358:role/ci/release")
    );
    assert_eq!(identity.region.as_deref(), Some("eu-west-1"));
    let gcp = pipeline(&inventory, "acme/release/release/gcp");
    assert_eq!(gcp.auth.method.as_str(), "gcp");
    assert!(dynamic(gcp, "auth.gcp").is_some());

    let gitlab = dir.path().join(".gitlab-ci.yml");
    std::fs::write(
        &gitlab,
        "deploy:\n  tags: [aws-eks-runner]\n  script:\n    - vault login -method=aws -path=aws role=deploy\n    - vault kv get -mount=secret app/db\n",
    )
    .unwrap();
    let (inventory, notes) = common::discovered::discover(&[
        "--gitlab",
        gitlab.to_str().unwrap(),
        "--project",
        "acme/app",
    ]);
    let deploy = &inventory.pipelines[0];
    assert_eq!(deploy.auth.method.as_str(), "aws");
    assert!(dynamic(deploy, "auth.aws").is_some_and(|why| why.contains("aws-eks-runner")));
    assert!(claim(deploy, "iss").is_none());
    assert!(!notes.contains("id_tokens"), "{notes}");
}

/// GitLab: a merge key whose value is a tag (`<<: !reference [...]`) cannot be applied; the
/// configuration is still read, with a note naming the mapping that lost its merged keys.
#[test]
fn gitlab_tagged_merge_keys_are_set_aside_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join(".gitlab-ci.yml");
    std::fs::write(
        &config,
        ".base:\n  variables: {VAULT_AUTH_ROLE: deploy}\ndeploy:\n  <<: !reference [.base, variables]\n  script:\n    - vault kv get -mount=secret app/db\n",
    )
    .unwrap();
    let (inventory, notes) = common::discovered::discover(&[
        "--gitlab",
        config.to_str().unwrap(),
        "--project",
        "acme/app",
    ]);
    assert_eq!(inventory.pipelines[0].needs, ["secret/data/app/db"]);
    assert!(
        notes.contains("deploy: <<: !reference") && notes.contains("merge key"),
        "{notes}"
    );
}

/// Random GitHub workflows (unknown keys, tags, matrices, local actions that are there or not,
/// reusable workflows called or not): a well-formed workflow never makes discovery fail, and
/// a job with a vault-action step is never dropped.
mod github_never_aborts {
    use proptest::prelude::*;

    const KEYS: &[&str] = &[
        "strategy",
        "environment",
        "permissions",
        "x-unknown",
        "container",
        "services",
        "concurrency",
        "if",
        "uses",
    ];
    const VALUES: &[&str] = &[
        "{matrix: {svc: [a, b], include: [{svc: c, extra: x}], exclude: [{svc: a}]}}",
        "{matrix: '${{ fromJSON(needs.x.outputs.m) }}'}",
        "{matrix: {cfg: [{a: 1}]}}",
        "{matrix: {include: [{svc: only}]}}",
        "production",
        "{name: '${{ matrix.svc }}', url: x}",
        "!custom 3",
        "write-all",
        "[a, b]",
        "null",
        "./.github/workflows/called.yml",
        "./.github/workflows/missing.yml",
        "other/repo/.github/workflows/x.yml@v1",
    ];
    const STEPS: &[&str] = &[
        "- uses: ./.github/actions/a\n        with: {svc: '${{ matrix.svc }}'}",
        "- uses: ./.github/actions/missing",
        "- uses: ./.github/actions/loop",
        "- uses: ./../../etc",
        "- uses: vendor/tool@v1\n        with: {token: '${{ secrets.VAULT_TOKEN }}'}",
        "- run: vault kv get secret/${{ matrix.svc }}",
        "- uses: hashicorp/vault-action@v3\n        with: {method: '${{ vars.M }}', secrets: 'secret/data/x k | K'}",
        "- !tagged {run: x}",
    ];

    fn write(dir: &std::path::Path, rel: &str, text: &str) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn never_aborts_on_well_formed_workflows(
            jobs in prop::collection::vec(
                (
                    prop::collection::vec((prop::sample::select(KEYS), prop::sample::select(VALUES)), 0..4),
                    prop::collection::vec(prop::sample::select(STEPS), 0..4),
                ),
                1..4,
            ),
            present in prop::collection::vec(any::<bool>(), 3),
        ) {
            let d = tempfile::tempdir().unwrap();
            let mut wf = String::from("on: [push]\npermissions: {id-token: write}\njobs:\n");
            for (i, (keys, steps)) in jobs.iter().enumerate() {
                wf.push_str(&format!("  job{i}:\n    runs-on: ubuntu-latest\n"));
                for (k, v) in keys {
                    wf.push_str(&format!("    {k}: {v}\n"));
                }
                wf.push_str("    steps:\n      - uses: hashicorp/vault-action@v3\n        with: {method: jwt, role: r, secrets: 'secret/data/a k | K'}\n");
                for s in steps {
                    wf.push_str(&format!("      {s}\n"));
                }
            }
            let files = [
                (".github/actions/a/action.yml", "inputs: {svc: {default: z}}\nruns:\n  using: composite\n  steps:\n    - uses: hashicorp/vault-action@v3\n      with: {method: jwt, role: '${{ inputs.svc }}', secrets: 'secret/data/${{ inputs.svc }} k | K'}\n"),
                (".github/actions/loop/action.yml", "runs:\n  using: composite\n  steps:\n    - uses: ./.github/actions/loop\n"),
                (".github/workflows/called.yml", "on: {workflow_call: {}}\njobs:\n  c:\n    runs-on: x\n    steps:\n      - uses: hashicorp/vault-action@v3\n        with: {method: jwt, secrets: 'secret/data/c k | K'}\n"),
            ];
            for ((name, text), keep) in files.iter().zip(&present) {
                if *keep {
                    write(d.path(), name, text);
                }
            }
            write(d.path(), ".github/workflows/main.yml", &wf);
            prop_assume!(yaml_serde::from_str::<yaml_serde::Value>(&wf).is_ok());
            let repo = blastmap::discover::RepoName::parse("acme/app").unwrap();
            let mut out = blastmap::discover::Discovery::default();
            let result = blastmap::discover::github::discover(d.path(), Some(&repo), &Default::default(), &mut out);
            prop_assert!(result.is_ok(), "{:?}\n{wf}", result.err());
            // Every job holds a vault-action step: each is a pipeline, or a reusable call.
            let names: Vec<&str> = out.pipelines.iter().map(|p| p.name.as_str()).collect();
            for (i, (keys, _)) in jobs.iter().enumerate() {
                let calls = keys.iter().any(|(k, _)| *k == "uses");
                prop_assert!(
                    calls || names.iter().any(|n| n.starts_with(&format!("acme/app/main/job{i}"))),
                    "job{i} dropped: {names:?}\n{wf}\nnotes: {:?}", out.notes
                );
            }
        }
    }
}

/// Reusable workflows that call each other in a loop, each twice (a fan-out at every level),
/// end at GitHub's depth and the call budget with a note, in bounded time.
#[test]
fn reusable_workflows_calling_each_other_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let workflows = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    std::fs::write(
        workflows.join("main.yml"),
        "on: push\npermissions:\n  id-token: write\njobs:\n  go:\n    uses: ./.github/workflows/_a.yml\n",
    )
    .unwrap();
    for (me, other) in [("a", "b"), ("b", "a")] {
        std::fs::write(
            workflows.join(format!("_{me}.yml")),
            format!(
                "on: workflow_call\njobs:\n  one:\n    uses: ./.github/workflows/_{other}.yml\n  two:\n    uses: ./.github/workflows/_{other}.yml\n  login:\n    runs-on: ubuntu-24.04\n    steps:\n      - uses: hashicorp/vault-action@v3\n        with:\n          url: https://vault.example\n          method: jwt\n          role: r-{me}\n          secrets: kv/data/{me} k | K\n"
            ),
        )
        .unwrap();
    }
    let started = std::time::Instant::now();
    let out = run(&[
        "discover",
        "--github",
        dir.path().to_str().unwrap(),
        "--repo",
        "acme/loop",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("deeper than GitHub's 10 levels"),
        "{stderr}"
    );
    let inventory =
        Inventory::from_yaml_str(&String::from_utf8_lossy(&out.stdout), "out.yaml").unwrap();
    // Levels 2 to 10 each hold a login job; the fan-out is cut by the budget.
    assert!(
        inventory.pipelines.len() > 9,
        "{}",
        inventory.pipelines.len()
    );
    assert!(inventory.pipelines.len() <= 1001);
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}
