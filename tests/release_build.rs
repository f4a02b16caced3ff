//! The container image's build, without a container runtime: the Dockerfile's build stage runs
//! `scripts/build-release.sh`, so running that script here (with the dev profile, whose artifacts
//! the test run has already built) exercises the same steps: the binary with its commit, the
//! manual pages and the completions under one prefix. The Dockerfile itself is checked for what
//! the image promises: Graphviz, a non-root user, blastmap as the entry point.
//!
//! This is its own test binary on purpose: the script relinks `target/debug/blastmap` (the
//! commit is compiled in), and test binaries run one after another, so no other test executes
//! the binary while it is replaced.

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn git_head() -> Option<String> {
    let out = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(root())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[test]
fn the_release_script_installs_the_binary_pages_and_completions_with_the_commit() {
    let prefix = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .arg(root().join("scripts/build-release.sh"))
        .arg(prefix.path())
        .env("BLASTMAP_PROFILE", "dev")
        .env_remove("BLASTMAP_GIT_COMMIT")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "build-release.sh failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let binary = prefix.path().join("bin/blastmap");
    let version = Command::new(&binary).arg("--version").output().unwrap();
    let version = String::from_utf8_lossy(&version.stdout).into_owned();
    let expected = git_head().unwrap_or_else(|| "unknown".to_string());
    assert!(
        version.contains(&format!("\ncommit: {expected}")),
        "{version}"
    );
    // The script ends by printing the installed binary's version.
    assert!(stdout.contains(&format!("commit: {expected}")), "{stdout}");
    for file in [
        "share/man/man1/blastmap.1",
        "share/man/man1/blastmap-scan.1",
        "share/bash-completion/completions/blastmap",
        "share/zsh/site-functions/_blastmap",
        "share/fish/vendor_completions.d/blastmap.fish",
    ] {
        let path = prefix.path().join(file);
        let len = std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{file}: {e}"))
            .len();
        assert!(len > 100, "{file} is nearly empty");
    }
}

#[test]
fn the_dockerfile_builds_with_the_script_and_runs_unprivileged_with_graphviz() {
    let text = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let stages: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("FROM "))
        .collect();
    assert_eq!(stages.len(), 2, "a build stage and a final stage");
    let build = &lines[stages[0]..stages[1]];
    let last = &lines[stages[1]..];
    assert!(
        lines[stages[0]].ends_with(" AS build"),
        "{}",
        lines[stages[0]]
    );
    assert!(
        build
            .iter()
            .any(|l| l.starts_with("RUN ") && l.contains("bash scripts/build-release.sh /dist")),
        "the build stage runs the release script: {build:?}"
    );
    assert!(
        last.contains(&"COPY --from=build /dist/ /usr/local/"),
        "{last:?}"
    );
    assert!(
        last.iter().any(|l| l.contains("graphviz")),
        "Graphviz is installed in the final image"
    );
    let user = last
        .iter()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER line");
    assert!(user != "root" && user != "0", "USER {user}");
    assert!(last.contains(&r#"ENTRYPOINT ["blastmap"]"#), "{last:?}");
    let ignore = std::fs::read_to_string(root().join(".dockerignore")).unwrap();
    for entry in ["target", ".git", ".venv"] {
        assert!(
            ignore.lines().any(|l| l.trim() == entry),
            ".dockerignore keeps {entry} out of the build context"
        );
    }
}
