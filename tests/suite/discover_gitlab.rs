//! `blastmap discover --gitlab` on the configurations organisations really have: a `spec:`
//! header and its inputs, includes of every form (wildcards, conditional, other projects,
//! remote, templates, components, missing), `!reference` and unknown tags, hidden templates
//! across files, job names with spaces, colons and quotes, variables expanded where Vault is
//! named, `default:` and `inherit:`. Nothing it cannot read aborts it: it is noted, and the
//! fields it would give are dynamic with the reason.

use crate::common;

use std::fs;
use std::path::Path;

use common::discovered::{assert_same, claim, discover, dynamic, expected, pipeline, run};
use proptest::prelude::*;
use serde_json::Value;

const MONOREPO: &[&str] = &[
    "--gitlab",
    "fixtures/discover/gitlab/platform-monorepo/.gitlab-ci.yml",
    "--project",
    "acme/platform/monorepo",
    "--gitlab-url",
    "https://gitlab.acme.example",
    "--default-branch",
    "main",
];

const P: &str = "acme/platform/monorepo";

#[test]
fn monorepo_is_the_expected_inventory() {
    let (inv, notes) = discover(MONOREPO);
    assert_same(&inv, &expected("gitlab-platform-monorepo.yaml"));
    // Every include the server alone can fetch, and the missing file, is a note with its line.
    for note in [
        ".gitlab-ci.yml:18: include \"/ci/removed.yml\" not found",
        ".gitlab-ci.yml:19: include project: acme/ci-templates",
        ".gitlab-ci.yml:22: include remote: https://ci.acme.example/shared/lint.yml (remote)",
        ".gitlab-ci.yml:23: include template: Security/Secret-Detection.gitlab-ci.yml (template)",
        ".gitlab-ci.yml:24: include component: $CI_SERVER_FQDN/acme/components/notify@2.1.0",
        ".gitlab-ci.yml:27: include https://ci.acme.example/shared/cache.yml (remote)",
        ".gitlab-ci.yml:15: include \"/ci/nightly.yml\" is conditional ([{\"if\":\"$CI_PIPELINE_SOURCE == \\\"schedule\\\"\"}]): the jobs it changes are read both with and without it",
        "inputs without a default, given when the pipeline is created: release_channel",
        "`unit tests.script`: !reference [.shared-test-steps, script]: no such job",
        "job `release:channel`: `extends: .from-another-project`: no such job",
    ] {
        assert!(notes.contains(note), "no note {note:?} in\n{notes}");
    }
}

#[test]
fn inputs_variables_and_templates_from_other_files_resolve() {
    let (inv, _) = discover(MONOREPO);
    // The hidden template's inputs (one given by the include, one defaulted) and the global
    // variable built from the main file's input default, expanded in the short-form secret.
    let deploy = pipeline(&inv, &format!("{P}/deploy: api"));
    assert_eq!(deploy.auth.mount, "gitlab-jwt");
    assert_eq!(deploy.auth.role.as_deref(), Some("platform-deployer"));
    assert_eq!(deploy.needs, ["kv/data/monorepo/staging/api-db"]);
    assert_eq!(claim(deploy, "environment"), Some(&Value::from("staging")));
    // `default: id_tokens` is inherited.
    assert_eq!(
        claim(deploy, "aud"),
        Some(&Value::from("https://vault.acme.example"))
    );
    // A wildcard-included job: `inherit: default: false` keeps its own token; an audience
    // from a variable defined nowhere is dynamic, with the reason.
    let migrate = pipeline(&inv, &format!("{P}/migrate database"));
    assert_eq!(migrate.needs, ["kv/data/monorepo/staging/migrations"]);
    assert!(dynamic(migrate, "auth.claims.aud")
        .unwrap()
        .contains("$AUDIENCE_EXTRA is not defined in the configuration"));
    assert!(migrate
        .ci
        .as_ref()
        .unwrap()
        .file
        .ends_with("migrate.gitlab-ci.yml"));
    // The conditional include is read.
    let nightly = pipeline(&inv, &format!("{P}/nightly backup"));
    assert_eq!(nightly.needs, ["kv/data/backups/bucket"]);
}

#[test]
fn unknowns_are_dynamic_with_their_reason_and_jobs_are_kept() {
    let (inv, _) = discover(MONOREPO);
    // An input without default in the role, a predefined variable in the long-form path and
    // a template from a project not read: the job is still a pipeline.
    let release = pipeline(&inv, &format!("{P}/release:channel"));
    assert!(release.needs.is_empty());
    assert_eq!(release.auth.role, None);
    assert!(dynamic(release, "auth.role")
        .unwrap()
        .contains("an input without a value"));
    let needs: Vec<&str> = release
        .dynamic
        .iter()
        .filter(|d| d.field == "needs")
        .map(|d| d.expression.as_str())
        .collect();
    assert!(needs[0]
        .starts_with("kv/data/release/${CI_PROJECT_NAME}/signing ($CI_PROJECT_NAME is predefined"));
    assert!(needs[1].contains(".from-another-project"));
    // `!reference` resolved across files; a dangling one and an unknown tag are dynamic.
    let rotate = pipeline(&inv, &format!("{P}/rotate:keys"));
    assert_eq!(rotate.auth.role.as_deref(), Some("rotator"));
    assert_eq!(rotate.needs, ["kv/data/rotation/master"]);
    assert!(dynamic(rotate, "auth.namespace")
        .unwrap()
        .contains(".gone-template"));
    assert!(dynamic(rotate, "needs").unwrap().contains("!vault-legacy"));
    // `inherit: variables: false`: no global namespace; the job's own role is expanded in
    // the script's login.
    let docs = pipeline(&inv, &format!("{P}/publish \"docs\""));
    assert_eq!(docs.auth.role.as_deref(), Some("docs-publisher"));
    assert_eq!(docs.auth.namespace, "");
    // A job that touches no Vault is not a pipeline, even with a dangling reference.
    assert!(inv.pipelines.iter().all(|p| !p.name.contains("unit tests")));
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn discover_dir(dir: &Path) -> (std::process::Output, String) {
    let out = run(&[
        "discover",
        "--gitlab",
        dir.join(".gitlab-ci.yml").to_str().unwrap(),
        "--project",
        "g/p",
    ]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    (out, err)
}

#[test]
fn wildcard_includes_stay_in_the_repository_and_loops_end() {
    let d = tempfile::tempdir().unwrap();
    let repo = d.path().join("repo");
    write(
        d.path(),
        "outside/evil.gitlab-ci.yml",
        "- not a configuration\n",
    );
    write(
        &repo,
        ".gitlab-ci.yml",
        "include:\n  - local: ci/*.gitlab-ci.yml\n  - local: ci/**.yml\njob:\n  secrets:\n    A:\n      vault: a/b/c@kv\n  script: [x]\n",
    );
    // Includes itself and the main file: read once each.
    write(
        &repo,
        "ci/loop.gitlab-ci.yml",
        "include:\n  - local: ci/loop.gitlab-ci.yml\n  - local: .gitlab-ci.yml\n",
    );
    std::os::unix::fs::symlink(
        d.path().join("outside/evil.gitlab-ci.yml"),
        repo.join("ci/link.gitlab-ci.yml"),
    )
    .unwrap();
    std::os::unix::fs::symlink(d.path().join("outside"), repo.join("ci/out")).unwrap();
    let (out, err) = discover_dir(&repo);
    assert_eq!(out.status.code(), Some(0), "{err}");
    // The linked file is refused by each of the two wildcards; the linked directory is not
    // walked.
    assert_eq!(err.matches("outside the repository").count(), 2, "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("kv/data/a/b"));
}

/// `--gitlab .gitlab-ci.yml`, run in the repository: the root is the current directory, and
/// its local includes are read like those of a path with a directory.
#[test]
fn a_bare_file_name_reads_its_local_includes() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        ".gitlab-ci.yml",
        "include:\n  - local: ci/vault.yml\njob:\n  extends: .reads\n  script: [x]\n",
    );
    write(
        d.path(),
        "ci/vault.yml",
        ".reads:\n  secrets:\n    A:\n      vault: app/db/password@kv\n",
    );
    let out = assert_cmd::Command::cargo_bin("blastmap")
        .unwrap()
        .current_dir(d.path())
        .args(["discover", "--gitlab", ".gitlab-ci.yml", "--project", "g/p"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("not found"), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("kv/data/app/db"));
}

#[test]
fn malformed_yaml_is_still_an_error_and_a_spec_header_is_not_one() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), ".gitlab-ci.yml", "job:\n  script: [a\n  b: c\n");
    let (out, err) = discover_dir(d.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.contains(".gitlab-ci.yml:") && err.contains("malformed YAML"),
        "{err}"
    );
    write(
        d.path(),
        ".gitlab-ci.yml",
        "spec:\n  inputs:\n    mount: {default: ci-jwt}\n---\njob:\n  variables:\n    VAULT_AUTH_PATH: $[[ inputs.mount ]]\n    VAULT_AUTH_ROLE: r\n  id_tokens: {T: {aud: v}}\n  secrets: {A: {vault: a/b/c@kv}}\n  script: [x]\n",
    );
    let (out, err) = discover_dir(d.path());
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("mount: ci-jwt"));
}

/// Fragments of real configurations, to build random ones from.
const KEYS: &[&str] = &[
    "script",
    "secrets",
    "id_tokens",
    "variables",
    "extends",
    "rules",
    "inherit",
    "needs",
    "trigger",
    "parallel",
    "cache",
    "x-unknown",
    "hooks",
    "pages",
];
const VALUES: &[&str] = &[
    "[a, b]",
    "!reference [.t, script]",
    "!reference [.missing, x]",
    "!custom 3",
    "{A: {vault: a/b/c@kv}}",
    "{A: {vault: {engine: {name: kv-v2, path: $M}, path: p/$CI_JOB_ID, field: f}}}",
    "{T: {aud: [$AUD, x]}}",
    "{VAULT_AUTH_ROLE: '$[[ inputs.r ]]'}",
    ".t",
    "[.t, .nope]",
    "{default: false, variables: [A]}",
    "{default: [image], variables: false}",
    "null",
    "'$$'",
    "\"vault kv get -mount=kv x\"",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random jobs with unknown keys and tags, and included files randomly missing: a
    /// well-formed configuration never makes discovery fail.
    #[test]
    fn never_aborts_on_well_formed_yaml(
        jobs in prop::collection::vec(
            prop::collection::vec((prop::sample::select(KEYS), prop::sample::select(VALUES)), 0..6),
            1..4,
        ),
        present in prop::collection::vec(any::<bool>(), 3),
    ) {
        let d = tempfile::tempdir().unwrap();
        let mut main = String::from("include:\n  - local: ci/a.yml\n  - local: ci/b.yml\n  - local: ci/*.yml\n  - project: g/t\n    file: x.yml\n.t:\n  script: [\"vault kv get -mount=kv t\"]\n");
        for (i, keys) in jobs.iter().enumerate() {
            main.push_str(&format!("\"job {i}: x\":\n  script: [echo]\n"));
            for (k, v) in keys {
                main.push_str(&format!("  {k}: {v}\n"));
            }
        }
        let files = [
            ("ci/a.yml", "spec:\n  inputs:\n    r:\n---\n.a:\n  variables:\n    VAULT_AUTH_ROLE: $[[ inputs.r ]]\n"),
            ("ci/b.yml", "b:\n  extends: .a\n  secrets: {S: {vault: !reference [.t, script]}}\n"),
            ("ci/c.yml", "include: [ci/a.yml, ci/c.yml]\n"),
        ];
        for ((name, text), keep) in files.iter().zip(&present) {
            if *keep {
                write(d.path(), name, text);
            }
        }
        write(d.path(), ".gitlab-ci.yml", &main);
        // Duplicate keys make malformed YAML: only well-formed text is the property's input.
        prop_assume!(yaml_serde::from_str::<yaml_serde::Value>(&main).is_ok());
        let mut out = blastmap::discover::Discovery::default();
        let result = blastmap::discover::gitlab::discover(
            &d.path().join(".gitlab-ci.yml"),
            Some("g/p"),
            &Default::default(),
            &mut out,
        );
        prop_assert!(result.is_ok(), "{:?}\n{main}", result.err());
    }
}

#[test]
fn long_reference_and_extends_chains_are_bounded_notes() {
    let d = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..200 {
        text.push_str(&format!(
            ".t{i}:\n  extends: .t{}\n  secrets: !reference [.t{}, secrets]\n",
            i + 1,
            i + 1
        ));
    }
    text.push_str(".t200:\n  secrets: {A: {vault: a/b/c@kv}}\n");
    text.push_str(&format!(
        "\"{} job\":\n  extends: .t0\n  script: [x]\n",
        "'\\\":".repeat(200)
    ));
    write(d.path(), ".gitlab-ci.yml", &text);
    let (out, err) = discover_dir(d.path());
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("references nest deeper than 10 levels"),
        "{err}"
    );
    assert!(err.contains("nests deeper than 11 levels"), "{err}");
    // The job (a long name of quotes and colons: YAML keys stop at 1024 characters) is
    // kept: what it reads is dynamic, not dropped.
    assert!(String::from_utf8_lossy(&out.stdout).contains("field: needs"));
}
