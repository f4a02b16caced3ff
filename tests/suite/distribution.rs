//! What a new user meets first, apart from the analysis: `--version`, shell completions and the
//! manual pages. Completions and pages are generated from the parser's own definitions, so the
//! tests check they name the real commands and flags, and that the bash script is valid bash.

use std::path::Path;
use std::process::Command;

fn blastmap(args: &[&str]) -> std::process::Output {
    assert_cmd::Command::cargo_bin("blastmap")
        .expect("binary")
        .args(args)
        .output()
        .expect("run blastmap")
}

fn stdout_of(args: &[&str]) -> String {
    let out = blastmap(args);
    assert!(
        out.status.success(),
        "blastmap {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

#[test]
fn long_version_names_the_commit_the_snapshot_schema_and_the_servers() {
    let text = stdout_of(&["--version"]);
    let version = env!("CARGO_PKG_VERSION");
    assert!(text.starts_with(&format!("blastmap {version}\n")), "{text}");
    let commit = text
        .lines()
        .find_map(|l| l.strip_prefix("commit: "))
        .unwrap_or_else(|| panic!("no commit line in {text}"));
    // The commit is compiled in when the build sets BLASTMAP_GIT_COMMIT
    // (scripts/build-release.sh, tests/release_build.rs); a plain `cargo build` says so.
    let recorded = commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit());
    assert!(
        recorded || commit.starts_with("unknown (built without BLASTMAP_GIT_COMMIT"),
        "{commit}"
    );
    assert!(text.contains("\nsnapshot schema_version: 1\n"), "{text}");
    assert!(text.contains("OpenBao 2.7.2"), "{text}");
    assert!(text.contains("HashiCorp Vault 1.x"), "{text}");
    // -V stays the one-line version scripts parse.
    assert_eq!(stdout_of(&["-V"]), format!("blastmap {version}\n"));
}

#[test]
fn completions_name_every_command_and_their_flags() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = stdout_of(&["completions", shell]);
        // Flags without their dashes: fish writes `-l snapshot`.
        for word in [
            "findings",
            "who-can",
            "discover",
            "completions",
            "snapshot",
            "fail-on",
            "bitbucket",
            "terraform-config",
            "azure-pipelines",
        ] {
            assert!(script.contains(word), "{shell} completions lack {word}");
        }
    }
    let out = blastmap(&["completions", "tcsh"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}

#[test]
fn the_bash_completion_script_is_valid_bash_and_completes_subcommands() {
    let script = stdout_of(&["completions", "bash"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("blastmap.bash");
    std::fs::write(&file, &script).unwrap();
    // Source the script and ask its completion function what follows `blastmap f`.
    let probe = format!(
        "source {}; COMP_WORDS=(blastmap f); COMP_CWORD=1; COMP_LINE='blastmap f'; \
         COMP_POINT=${{#COMP_LINE}}; _blastmap blastmap f blastmap; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        file.display()
    );
    let out = Command::new("bash").arg("-c").arg(&probe).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let replies = String::from_utf8_lossy(&out.stdout);
    let mut words: Vec<&str> = replies.lines().collect();
    words.sort();
    assert_eq!(words, ["facts", "findings"]);
}

fn assert_is_man_page(text: &str, name: &str) {
    assert!(
        text.starts_with(".ie"),
        "{name}: not roff: {}",
        &text[..text.len().min(80)]
    );
    assert!(
        text.contains(&format!(".TH {name} 1")),
        "{name}: no .TH header"
    );
    assert!(text.contains(".SH NAME"), "{name}: no NAME section");
    assert!(text.contains(".SH SYNOPSIS"), "{name}: no SYNOPSIS section");
}

#[test]
fn man_prints_the_main_page() {
    let page = stdout_of(&["man"]);
    assert_is_man_page(&page, "blastmap");
    assert!(
        page.contains("who\\-can"),
        "the main page lists the commands"
    );
}

#[test]
fn man_out_writes_one_page_per_command() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("man1");
    stdout_of(&["man", "--out", out_dir.to_str().unwrap()]);
    let mut names: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for expected in [
        "blastmap.1",
        "blastmap-export.1",
        "blastmap-findings.1",
        "blastmap-who-can.1",
        "blastmap-man.1",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
    assert!(!names.iter().any(|n| n == "blastmap-help.1"), "{names:?}");
    let findings = std::fs::read_to_string(out_dir.join("blastmap-findings.1")).unwrap();
    assert_is_man_page(&findings, "blastmap-findings");
    assert!(
        findings.contains("\\-\\-fail\\-on"),
        "the findings page documents --fail-on"
    );
}

#[test]
fn man_out_replaces_a_planted_symlink_instead_of_following_it() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("man");
    std::fs::create_dir(&out_dir).unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "keep me").unwrap();
    std::os::unix::fs::symlink(&victim, out_dir.join("blastmap.1")).unwrap();
    stdout_of(&["man", "--out", out_dir.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    let page = out_dir.join("blastmap.1");
    assert!(!Path::new(&page).is_symlink());
    assert_is_man_page(&std::fs::read_to_string(page).unwrap(), "blastmap");
}
