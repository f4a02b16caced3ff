//! The shipped CI integrations: the GitHub Action (`action.yml`), the GitLab CI/CD component
//! (`templates/blastmap.yml`) and the script both run (`scripts/ci/`). The files must parse, use
//! only inputs they declare, never splice an input into shell text (an input can come from a pull
//! request), and the script must produce the documented outputs and exit codes with this build of
//! blastmap on the demo estate. Posting the comment is run against stand-ins for `gh` and `curl`
//! that record what they are asked, so the test also proves the token never reaches a command line.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every `open … name … close` reference in the text.
fn references(text: &str, open: &str, prefix: &str, close: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for piece in text.split(open).skip(1) {
        let inner = piece.split(close).next().unwrap_or("").trim();
        if let Some(name) = inner.strip_prefix(prefix) {
            let name: String = name
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            out.insert(name);
        }
    }
    out
}

#[test]
fn the_action_declares_what_it_uses_and_splices_nothing_into_shell() {
    let text = read("action.yml");
    let action: Value = yaml_serde::from_str(&text).expect("action.yml parses");
    let declared: BTreeSet<String> = action["inputs"]
        .as_object()
        .expect("inputs")
        .keys()
        .cloned()
        .collect();
    let used = references(&text, "${{", "inputs.", "}}");
    assert!(
        used.is_subset(&declared),
        "undeclared inputs: {:?}",
        used.difference(&declared).collect::<Vec<_>>()
    );
    for required in [
        "snapshot",
        "pipelines",
        "fail-on",
        "diff-apply",
        "diff-fail-on",
    ] {
        assert!(declared.contains(required), "input {required}");
    }
    assert_eq!(action["runs"]["using"], "composite");
    let steps = action["runs"]["steps"].as_array().unwrap();
    let mut scripts = 0;
    for step in steps {
        if let Some(run) = step["run"].as_str() {
            assert!(
                !run.contains("${{"),
                "step {:?} splices an expression into shell text: pass it through env",
                step["name"]
            );
            for word in run.split_whitespace() {
                if let Some(rel) = word.trim_matches('"').strip_prefix("$GITHUB_ACTION_PATH/") {
                    assert!(root().join(rel).is_file(), "{rel} is shipped");
                    scripts += 1;
                }
            }
        }
    }
    assert!(scripts >= 3, "the steps run the shipped scripts");
    assert!(
        steps.iter().any(|s| s["uses"]
            .as_str()
            .is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif@"))),
        "SARIF is uploaded to code scanning"
    );
}

#[test]
fn the_gitlab_component_declares_what_it_uses_and_splices_nothing_into_shell() {
    let text = read("templates/blastmap.yml");
    let mut documents = text.splitn(2, "\n---\n");
    let spec: Value = yaml_serde::from_str(documents.next().unwrap()).expect("spec parses");
    let jobs_text = documents.next().expect("a spec document, then the jobs");
    let jobs: Value = yaml_serde::from_str(jobs_text).expect("jobs parse");
    let declared: BTreeSet<String> = spec["spec"]["inputs"]
        .as_object()
        .expect("spec:inputs")
        .keys()
        .cloned()
        .collect();
    let used = references(jobs_text, "$[[", "inputs.", "]]");
    assert_eq!(
        used, declared,
        "every input is used, and only declared ones"
    );
    for (name, job) in jobs.as_object().unwrap() {
        for key in ["before_script", "script"] {
            for line in job[key].as_array().into_iter().flatten() {
                let line = line.as_str().unwrap();
                assert!(
                    !line.contains("$[["),
                    "{name}.{key} splices an input: {line}"
                );
                for word in line.split_whitespace() {
                    let word = word.trim_matches('"');
                    if let Some(rel) = word.strip_prefix("$CI_BUILDS_DIR/.blastmap/") {
                        if rel.starts_with("scripts/") {
                            assert!(root().join(rel).is_file(), "{rel} is shipped");
                        }
                    }
                }
            }
        }
    }
    for job in ["blastmap-findings", "blastmap-what-if"] {
        assert_eq!(jobs[job]["extends"], ".blastmap", "{job}");
    }
    // GitLab reads the findings job's SAST report from the file the script writes.
    assert_eq!(
        jobs["blastmap-findings"]["artifacts"]["reports"]["sast"],
        "blastmap-out/gl-sast-report.json"
    );
    assert!(read("scripts/ci/blastmap-ci.sh")
        .contains("--format gitlab-sast --output \"$out/gl-sast-report.json\""));
}

struct Run {
    out_dir: PathBuf,
    output: Output,
}

fn run_script(dir: &Path, script: &str, mode: &str, env: &[(&str, &str)]) -> Run {
    let out_dir = dir.join("out");
    let mut cmd = Command::new("bash");
    cmd.arg(root().join(script))
        .arg(mode)
        .current_dir(dir)
        .env("BLASTMAP_BIN", env!("CARGO_BIN_EXE_blastmap"))
        .env("BLASTMAP_OUT_DIR", &out_dir)
        .env(
            "BLASTMAP_SNAPSHOT",
            root().join("fixtures/demo/snapshot.json"),
        )
        .env(
            "BLASTMAP_PIPELINES",
            root().join("fixtures/demo/pipelines.yaml"),
        );
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = cmd.output().unwrap();
    Run { out_dir, output }
}

fn code(run: &Run) -> i32 {
    run.output.status.code().unwrap_or(-1)
}

#[test]
fn findings_mode_writes_sarif_json_markdown_and_gates() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_script(dir.path(), "scripts/ci/blastmap-ci.sh", "findings", &[]);
    assert_eq!(
        code(&run),
        0,
        "{}",
        String::from_utf8_lossy(&run.output.stderr)
    );
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(run.out_dir.join("findings.sarif")).unwrap())
            .unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(run.out_dir.join("findings.json")).unwrap())
            .unwrap();
    let critical = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "critical")
        .count();
    assert!(critical > 0, "the demo has critical findings");
    let markdown = std::fs::read_to_string(run.out_dir.join("findings.md")).unwrap();
    assert!(markdown.contains("critical"), "{markdown}");
    let gitlab: Value = serde_json::from_str(
        &std::fs::read_to_string(run.out_dir.join("gl-sast-report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        gitlab["vulnerabilities"].as_array().unwrap().len(),
        json["findings"].as_array().unwrap().len(),
        "one vulnerability per (unsuppressed) finding"
    );

    let gated = run_script(
        dir.path(),
        "scripts/ci/blastmap-ci.sh",
        "findings",
        &[("BLASTMAP_FAIL_ON", "critical")],
    );
    assert_eq!(code(&gated), 1, "a critical finding fails the gate");
    assert!(
        gated.out_dir.join("findings.sarif").is_file(),
        "SARIF is written also when the gate fails"
    );

    let missing = run_script(
        dir.path(),
        "scripts/ci/blastmap-ci.sh",
        "findings",
        &[("BLASTMAP_SNAPSHOT", "no/such/snapshot.json")],
    );
    assert_eq!(code(&missing), 2);
    assert!(String::from_utf8_lossy(&missing.output.stderr).contains("snapshot not found"));
}

#[test]
fn diff_mode_writes_the_what_if_and_gates() {
    let dir = tempfile::tempdir().unwrap();
    let change = root().join("fixtures/whatif/widen-ci");
    let change = change.to_str().unwrap();
    let run = run_script(
        dir.path(),
        "scripts/ci/blastmap-ci.sh",
        "diff",
        &[("BLASTMAP_DIFF_APPLY", change)],
    );
    assert_eq!(
        code(&run),
        0,
        "{}",
        String::from_utf8_lossy(&run.output.stderr)
    );
    let markdown = std::fs::read_to_string(run.out_dir.join("diff.md")).unwrap();
    assert!(markdown.contains("gains"), "{markdown}");
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(run.out_dir.join("diff.json")).unwrap())
            .unwrap();
    assert!(json.is_object());

    let gated = run_script(
        dir.path(),
        "scripts/ci/blastmap-ci.sh",
        "diff",
        &[
            ("BLASTMAP_DIFF_APPLY", change),
            ("BLASTMAP_DIFF_FAIL_ON", "new-access, new-cross-team"),
        ],
    );
    assert_eq!(code(&gated), 1, "widening ci-shared gives new access");

    let nothing = run_script(dir.path(), "scripts/ci/blastmap-ci.sh", "diff", &[]);
    assert_eq!(code(&nothing), 2, "diff without changes is an error");
}

/// A stand-in for `gh` or `curl`: appends its arguments to `<name>.args` and its standard input
/// to `<name>.stdin`, and answers `answer`.
fn stand_in(bin: &Path, name: &str, answer: &str) {
    std::fs::create_dir_all(bin).unwrap();
    let path = bin.join(name);
    let log = bin.join(name);
    std::fs::write(
        &path,
        format!(
            "#!/usr/bin/env bash\nprintf '%s\\n' \"$*\" >> '{log}.args'\ncat >> '{log}.stdin'\nprintf '%s' '{answer}'\n",
            log = log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn comments_replace_the_previous_one_and_keep_the_token_off_command_lines() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("diff.md"), "### `ci` gains\n").unwrap();
    let bin = dir.path().join("bin");
    let token = "glpat-NOT-ON-ANY-COMMAND-LINE";
    stand_in(&bin, "gh", "");
    stand_in(&bin, "curl", "[]");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    for platform in ["github", "gitlab"] {
        let output = Command::new("bash")
            .arg(root().join("scripts/ci/comment.sh"))
            .arg(platform)
            .env("PATH", &path)
            .env("BLASTMAP_OUT_DIR", &out)
            .env("GH_TOKEN", token)
            .env("GITHUB_REPOSITORY", "acme/vault")
            .env("PR_NUMBER", "7")
            .env("BLASTMAP_GITLAB_TOKEN", token)
            .env("CI_API_V4_URL", "https://gitlab.example/api/v4")
            .env("CI_PROJECT_ID", "42")
            .env("CI_MERGE_REQUEST_IID", "7")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{platform}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let gh = std::fs::read_to_string(bin.join("gh.args")).unwrap();
    assert!(
        gh.contains("-X POST repos/acme/vault/issues/7/comments"),
        "{gh}"
    );
    let body = std::fs::read_to_string(out.join("comment.md")).unwrap();
    assert!(
        body.starts_with("<!-- blastmap what-if -->\n### `ci` gains"),
        "{body}"
    );
    let curl = std::fs::read_to_string(bin.join("curl.args")).unwrap();
    assert!(curl.contains("-X POST"), "{curl}");
    assert!(curl.contains("merge_requests/7/notes"), "{curl}");
    assert!(
        !gh.contains(token) && !curl.contains(token),
        "a token on a command line:\n{gh}\n{curl}"
    );
    let curl_stdin = std::fs::read_to_string(bin.join("curl.stdin")).unwrap();
    assert!(
        curl_stdin.contains(&format!("PRIVATE-TOKEN: {token}")),
        "the token goes through standard input"
    );
}
