//! Output files, generated policies and files read from CI configurations under hostile
//! conditions: links planted at the target and at temporary names, FIFOs, directories, full
//! devices, signals, hostile role names and logged paths, includes that climb out of the
//! repository (`docs/security.md`).

use std::fs;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use blastmap::output::{self, FileMode, OutputError};

fn blastmap() -> Command {
    Command::cargo_bin("blastmap").unwrap()
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_link_at_the_target_is_replaced_not_followed() {
    let d = tempfile::tempdir().unwrap();
    let victim = d.path().join("victim");
    fs::write(&victim, "precious").unwrap();
    let out = d.path().join("report.html");
    std::os::unix::fs::symlink(&victim, &out).unwrap();
    output::write_bytes(&out, FileMode::Shared, b"report").unwrap();
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    assert!(!fs::symlink_metadata(&out).unwrap().file_type().is_symlink());
    assert_eq!(fs::read_to_string(&out).unwrap(), "report");
}

#[test]
fn links_at_every_predictable_temporary_name_are_ignored() {
    let d = tempfile::tempdir().unwrap();
    let victim = d.path().join("victim");
    fs::write(&victim, "precious").unwrap();
    let pid = std::process::id();
    // The names earlier versions used (`.<name>.tmp-<pid>`, `.<name>.<pid>.<n>.tmp`).
    for name in [
        format!(".snap.json.tmp-{pid}"),
        format!(".snap.json.{pid}.0.tmp"),
        format!(".snap.json.{pid}.1.tmp"),
    ] {
        std::os::unix::fs::symlink(&victim, d.path().join(name)).unwrap();
    }
    let out = d.path().join("snap.json");
    output::write_bytes(&out, FileMode::Private, b"{}").unwrap();
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    assert_eq!(fs::read_to_string(&out).unwrap(), "{}");
    let mode = fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "snapshots stay private");
    // Only the planted links, the victim and the output: no temporary file is left.
    assert_eq!(names_in(d.path()).len(), 5, "{:?}", names_in(d.path()));
}

#[test]
fn a_fifo_target_is_written_in_place() {
    let d = tempfile::tempdir().unwrap();
    let fifo = d.path().join("out.fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read(&fifo).unwrap())
    };
    output::write_bytes(&fifo, FileMode::Shared, b"through the pipe").unwrap();
    assert_eq!(reader.join().unwrap(), b"through the pipe");
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
}

#[test]
fn character_devices_and_standard_streams_are_written_in_place() {
    assert_eq!(
        output::check(Path::new("/dev/stdout")).unwrap(),
        output::Target::Stdout
    );
    output::write_bytes(Path::new("/dev/null"), FileMode::Shared, b"x").unwrap();
    assert!(fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());
}

#[test]
fn a_full_device_fails_naming_the_file() {
    let err =
        output::write_bytes(Path::new("/dev/full"), FileMode::Shared, &[0u8; 1 << 17]).unwrap_err();
    assert!(err.to_string().contains("/dev/full"), "{err}");
}

#[test]
fn a_failed_write_keeps_the_old_file_and_leaves_no_temporary() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("pipelines.yaml");
    fs::write(&out, "old").unwrap();
    let err = output::write_with(&out, FileMode::Shared, |w| {
        w.write_all(b"half of the new")?;
        Err(std::io::Error::other("disk on fire"))
    })
    .unwrap_err();
    assert!(err.to_string().contains("pipelines.yaml"), "{err}");
    assert_eq!(fs::read_to_string(&out).unwrap(), "old");
    assert_eq!(names_in(d.path()), ["pipelines.yaml"]);
    assert!(output::live_temporaries()
        .iter()
        .all(|p| !p.starts_with(d.path())));
}

#[test]
fn directories_and_missing_directories_are_refused_before_any_work() {
    let d = tempfile::tempdir().unwrap();
    assert!(matches!(
        output::check(d.path()),
        Err(OutputError::IsDirectory { .. })
    ));
    assert!(matches!(
        output::check(&d.path().join("missing/out.json")),
        Err(OutputError::MissingDirectory { .. })
    ));
    let file = d.path().join("plain");
    fs::write(&file, "").unwrap();
    assert!(matches!(
        output::check(&file.join("out.json")),
        Err(OutputError::NotADirectory { .. })
    ));
}

/// `export --out DIR` is refused before the exporter opens any connection.
#[test]
fn export_refuses_a_directory_before_any_request() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let d = tempfile::tempdir().unwrap();
    let out = blastmap()
        .args(["export", "--address", &address, "--out"])
        .arg(d.path())
        .env("VAULT_TOKEN", "hvs.test")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is a directory"), "{stderr}");
    assert!(
        listener.accept().is_err(),
        "a connection was made before the refusal"
    );
}

/// Run by `signals_remove_the_temporary_file` in a child process: writes into a temporary file
/// and waits there to be signalled.
#[test]
fn signal_child() {
    let Ok(dir) = std::env::var("BLASTMAP_SIGNAL_CHILD_DIR") else {
        return;
    };
    let dir = Path::new(&dir);
    output::install_signal_cleanup();
    let _ = output::write_with(&dir.join("out.json"), FileMode::Private, |w| {
        w.write_all(b"partial")?;
        w.flush()?;
        fs::write(dir.join("ready"), "")?;
        std::thread::sleep(Duration::from_secs(30));
        Ok(())
    });
    panic!("the signal did not end the process");
}

#[test]
fn signals_remove_the_temporary_file() {
    use std::os::unix::process::ExitStatusExt;
    for signal in ["TERM", "INT"] {
        let d = tempfile::tempdir().unwrap();
        // The suite's own binary, asked for that one test by its full name (module and test).
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "output_safety::signal_child",
                "--test-threads=1",
                "--nocapture",
            ])
            .env("BLASTMAP_SIGNAL_CHILD_DIR", d.path())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while !d.path().join("ready").exists() {
            assert!(start.elapsed() < Duration::from_secs(60), "child not ready");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(names_in(d.path()).len(), 2, "a temporary file exists");
        let sent = Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if start.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                panic!("child did not stop");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let expected = if signal == "TERM" { 15 } else { 2 };
        assert_eq!(status.signal(), Some(expected), "{status:?}");
        assert_eq!(names_in(d.path()), ["ready"], "SIG{signal} left a file");
    }
}

// ---- suggested policies ----

use blastmap::usage::policy::{assign_file_names, suggest};
use blastmap::usage::report::{RoleUsage, Used};
use blastmap::usage::RoleKey;

fn used(path: &str, op: &str, first: &str) -> Used {
    Used {
        namespace: String::new(),
        path: path.into(),
        operation: op.into(),
        count: 1,
        first: first.into(),
        last: "2026-01-01T00:00:01Z\n}\npath \"sys/*\" { capabilities = [\"sudo\"] }".into(),
        errors: 0,
        granted_by: Vec::new(),
        needs_rule: true,
        covered_by: None,
        snapshot_capabilities: None,
    }
}

const HOSTILE_ROLES: &[&str] = &[
    "deploy\npath \"sys/*\" {\n  capabilities = [\"sudo\", \"create\", \"read\", \"update\", \"delete\", \"list\"]\n}\n#",
    "r\r\u{2028}path \"sys/*\" { capabilities = [\"sudo\"] } /* x",
    "../../etc/cron.d/x",
    "a/b",
    "a_b",
    "\u{0}\u{1b}[2J",
    "",
    "..",
];

const HOSTILE_PATHS: &[&str] = &[
    "secret/data/a\"\n}\npath \"sys/*\" {\n  capabilities = [\"sudo\"]\n}\n#",
    "secret/data/x${\"}\npath \"sys/*\" { capabilities = [\"sudo\"] }\n\"}",
    "secret/data/#not-a-comment",
    "secret/data//* not a comment */",
    "secret/data/brace}",
    "secret/data/tab\there\u{7f}\u{85}",
    "secret/data/{{identity.entity.id}}",
    "sys/*",
    "secret/data/plain",
];

#[test]
fn suggested_policies_grant_exactly_what_was_used() {
    let snap = blastmap::model::Snapshot::new(Default::default());
    for role in HOSTILE_ROLES {
        let key = RoleKey {
            namespace: String::new(),
            mount: "jwt\n#".into(),
            role: (*role).into(),
        };
        let list: Vec<Used> = HOSTILE_PATHS
            .iter()
            .map(|p| {
                used(
                    p,
                    "read",
                    "2026\npath \"auth/*\" { capabilities = [\"sudo\"] }",
                )
            })
            .collect();
        let mut notes = Vec::new();
        let sp = suggest(&key, &list, &snap, &mut notes);
        let src = blastmap::acl::PolicySource::root_ns("p", &sp.hcl);
        let pol = blastmap::acl::parse_policy(&src, &Default::default())
            .unwrap_or_else(|e| panic!("{e}\n{}", sp.hcl));
        // Every rule is one of the logged paths, exactly, with read only; no template, no
        // glob, nothing under sys/ (the hostile texts all try to add `sys/*`).
        let expected: Vec<&str> = HOSTILE_PATHS
            .iter()
            .copied()
            .filter(|p| !p.contains("{{") && !p.ends_with('*'))
            .collect();
        let mut got: Vec<&str> = pol.rules.iter().map(|r| r.key.as_str()).collect();
        got.sort();
        let mut want = expected.clone();
        want.sort();
        assert_eq!(got, want, "{}", sp.hcl);
        for r in &pol.rules {
            assert!(!r.templated, "{}", r.key);
            assert_eq!(r.perms.caps, blastmap::acl::Caps::READ, "{}", r.key);
            assert!(r.perms.allowed_parameters.is_none());
        }
        assert!(!sp.hcl.contains("\n}\npath \"sys"), "{}", sp.hcl);
        assert_eq!(notes.len(), 2, "{notes:?}");
    }
}

#[test]
fn role_names_become_safe_unique_file_names() {
    let snap = blastmap::model::Snapshot::new(Default::default());
    let long = "x".repeat(5000);
    let mut names: Vec<&str> = HOSTILE_ROLES.to_vec();
    names.push(&long);
    names.push(&long);
    let mut roles: Vec<RoleUsage> = names
        .iter()
        .map(|name| {
            let key = RoleKey {
                namespace: String::new(),
                mount: "jwt".into(),
                role: (*name).into(),
            };
            let sp = suggest(&key, &[], &snap, &mut Vec::new());
            role_usage(name, sp)
        })
        .collect();
    assign_file_names(&mut roles);
    let mut seen = std::collections::BTreeSet::new();
    for r in &roles {
        let f = &r.suggested_policy.file;
        assert!(f.ends_with(".hcl"), "{f:?}");
        assert!(!f.contains('/') && !f.starts_with('.'), "{f:?}");
        assert!(!f.chars().any(|c| c.is_control()), "{f:?}");
        assert!(f.len() <= 120, "{} bytes", f.len());
        assert!(seen.insert(f.to_ascii_lowercase()), "two roles share {f:?}");
        assert_eq!(
            r.suggested_policy.renamed,
            r.role != "a_b",
            "{:?} -> {f:?}",
            r.role
        );
    }
}

fn role_usage(name: &str, sp: blastmap::usage::policy::SuggestedPolicy) -> RoleUsage {
    RoleUsage {
        key: name.into(),
        namespace: String::new(),
        mount: "jwt".into(),
        role: name.into(),
        in_snapshot: true,
        logins: 0,
        child_tokens: 0,
        requests: 0,
        denied_requests: 0,
        linked_by_entity: 0,
        entities: Vec::new(),
        display_names: Vec::new(),
        token_policies: Vec::new(),
        pipelines: None,
        used: Vec::new(),
        denied: Vec::new(),
        unused: Vec::new(),
        suggested_policy: sp,
        notes: Vec::new(),
    }
}

// ---- discover stays in the repository ----

#[test]
fn gitlab_includes_outside_the_repository_are_skipped() {
    let d = tempfile::tempdir().unwrap();
    let repo = d.path().join("repo");
    fs::create_dir_all(&repo).unwrap();
    // Read, it would fail discovery: its top level is not a mapping.
    fs::write(d.path().join("evil.yml"), "- not a configuration\n").unwrap();
    std::os::unix::fs::symlink(d.path().join("evil.yml"), repo.join("inc.yml")).unwrap();
    fs::write(
        repo.join(".gitlab-ci.yml"),
        "include:\n  - local: /../evil.yml\n  - local: ../evil.yml\n  - local: ../../../../../../etc/passwd\n  - local: inc.yml\njob:\n  script: echo hi\n",
    )
    .unwrap();
    let out = blastmap()
        .args(["discover", "--project", "g/p", "--gitlab"])
        .arg(repo.join(".gitlab-ci.yml"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        stderr.matches("outside the repository").count(),
        4,
        "{stderr}"
    );
}

#[test]
fn github_workflow_links_out_of_the_repository_are_skipped() {
    let d = tempfile::tempdir().unwrap();
    let wf = d.path().join("repo/.github/workflows");
    fs::create_dir_all(&wf).unwrap();
    fs::write(d.path().join("evil.yml"), "- not a workflow\n").unwrap();
    std::os::unix::fs::symlink(d.path().join("evil.yml"), wf.join("evil.yml")).unwrap();
    let out = blastmap()
        .args(["discover", "--repo", "o/r", "--github"])
        .arg(d.path().join("repo"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("a link out of the repository"), "{stderr}");
}

#[test]
fn discover_writes_to_dev_stdout_and_refuses_to_overwrite_its_merge_source() {
    let d = tempfile::tempdir().unwrap();
    let repo = d.path().join("repo");
    fs::create_dir_all(&repo).unwrap();
    fs::write(repo.join(".gitlab-ci.yml"), "job:\n  script: echo hi\n").unwrap();
    let ok = blastmap()
        .args([
            "discover",
            "--project",
            "g/p",
            "--out",
            "/dev/stdout",
            "--gitlab",
        ])
        .arg(repo.join(".gitlab-ci.yml"))
        .output()
        .unwrap();
    assert!(ok.status.success());
    assert!(String::from_utf8_lossy(&ok.stdout).contains("# Pipeline inventory"));
    let hand = d.path().join("pipelines.yaml");
    fs::write(&hand, "# hand-written notes\npipelines: []\n").unwrap();
    let out = blastmap()
        .args(["discover", "--project", "g/p", "--gitlab"])
        .arg(repo.join(".gitlab-ci.yml"))
        .arg("--merge")
        .arg(&hand)
        .arg("--out")
        .arg(&hand)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("drop its comments"));
    assert_eq!(
        fs::read_to_string(&hand).unwrap(),
        "# hand-written notes\npipelines: []\n"
    );
}

// ---- small things ----

#[test]
fn inventories_and_snapshots_may_start_with_a_bom() {
    let d = tempfile::tempdir().unwrap();
    for name in ["snapshot.json", "pipelines.yaml"] {
        let text = fs::read_to_string(Path::new("fixtures/demo").join(name)).unwrap();
        fs::write(d.path().join(name), format!("\u{feff}{text}")).unwrap();
    }
    blastmap::model::Snapshot::load(&d.path().join("snapshot.json")).unwrap();
    blastmap::inventory::Inventory::load(&d.path().join("pipelines.yaml")).unwrap();
}

#[test]
fn a_huge_schema_version_is_shown_as_written() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("s.json");
    fs::write(&p, "{\"schema_version\": 100000000000000000000000}").unwrap();
    let err = blastmap::model::Snapshot::load(&p).unwrap_err().to_string();
    assert!(err.contains("100000000000000000000000"), "{err}");
}

#[test]
fn synth_refuses_sizes_beyond_memory() {
    let d = tempfile::tempdir().unwrap();
    let out = blastmap()
        .args(["synth", "--secrets", "1000000000000", "--policies", "1"])
        .args([
            "--roles",
            "1",
            "--pipelines",
            "1",
            "--namespaces",
            "1",
            "--out",
        ])
        .arg(d.path().join("estate"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("memory"));
}

#[test]
fn os_errors_are_said_once_and_negative_slack_gets_its_message() {
    let out = blastmap()
        .args(["facts", "--snapshot", "/nonexistent/snapshot.json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("os error 2").count(), 1, "{stderr}");
    let out = blastmap()
        .args([
            "facts",
            "--snapshot",
            "fixtures/demo/snapshot.json",
            "--ttl-slack",
            "-1",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--ttl-slack must be a positive number"),
        "{stderr}"
    );
}
