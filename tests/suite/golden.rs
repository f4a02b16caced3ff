//! Golden outputs: what every command prints on the demo estate (`fixtures/demo/`) and on a small
//! synthetic estate (`blastmap synth`), kept as readable files in `tests/snapshots/`.
//!
//! A change of output fails here with a line diff of each changed file. When the change is
//! intended, rewrite the files with `UPDATE_SNAPSHOTS=1 cargo test --test suite golden::` and review
//! the diff of `tests/snapshots/` in the commit: that diff is the change of behaviour.
//!
//! Paths that depend on the machine (the repository, the temporary directory of the synthetic
//! estate) are replaced by `$ROOT` and `$TMP`, and the seconds a command reports on standard
//! error are not captured (only standard output is).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

use crate::common::text_diff::line_diff;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// One command of a golden run: the snapshot file it is compared to and its arguments.
struct Case {
    name: String,
    args: Vec<String>,
}

/// The outputs of a run, compared after every command ran, so one failure lists every change.
#[derive(Default)]
struct Mismatches {
    report: String,
}

fn blastmap() -> Command {
    Command::cargo_bin("blastmap").unwrap()
}

fn snapshot_path(name: &str) -> PathBuf {
    Path::new(ROOT)
        .join("tests/snapshots")
        .join(format!("{name}.txt"))
}

/// stdout of `blastmap args`, with the exit code on top (findings and diff gates exit 1 on
/// purpose) and machine-dependent paths replaced.
fn run(args: &[String], tmp: &Path) -> String {
    let out = blastmap().args(args).output().unwrap();
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "blastmap {args:?} exited {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 output");
    let stdout = stdout
        .replace(tmp.to_str().unwrap(), "$TMP")
        .replace(ROOT, "$ROOT");
    format!("exit: {code}\n{stdout}")
}

fn check(case: &Case, tmp: &Path, bad: &mut Mismatches) {
    let got = run(&case.args, tmp);
    let file = snapshot_path(&case.name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1") {
        std::fs::write(&file, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&file).unwrap_or_default();
    if got != want {
        let _ = writeln!(
            bad.report,
            "--- tests/snapshots/{}.txt (pinned)\n+++ blastmap {} (now)",
            case.name,
            case.args.join(" ")
        );
        bad.report.push_str(&line_diff(&want, &got));
    }
}

/// The arguments of a command: its parts one after the other.
fn joined<'a>(parts: &[&[&'a str]]) -> Vec<&'a str> {
    parts.concat()
}

fn case(name: &str, args: &[&str]) -> Case {
    Case {
        name: name.to_string(),
        args: args.iter().map(|a| a.to_string()).collect(),
    }
}

/// Every command and format on the demo estate, and the what-if of `fixtures/whatif/widen-ci`.
fn demo_cases() -> Vec<Case> {
    let snapshot = format!("{ROOT}/fixtures/demo/snapshot.json");
    let pipelines = format!("{ROOT}/fixtures/demo/pipelines.yaml");
    let widen = format!("{ROOT}/fixtures/whatif/widen-ci");
    let (s, p) = (snapshot.as_str(), pipelines.as_str());
    let estate = ["--snapshot", s, "--pipelines", p];
    let mut cases = vec![
        case("demo-reach-table", &joined(&[&["reach"], &estate, &[]])),
        case(
            "demo-reach-json",
            &joined(&[&["reach"], &estate, &["--format", "json"]]),
        ),
        case(
            "demo-reach-all-roles-json",
            &joined(&[&["reach"], &estate, &["--format", "json", "--all-roles"]]),
        ),
        case("demo-facts", &joined(&[&["facts"], &estate, &[]])),
    ];
    for format in ["table", "json", "markdown", "sarif"] {
        cases.push(case(
            &format!("demo-findings-{format}"),
            &joined(&[&["findings"], &estate, &["--format", format]]),
        ));
    }
    for format in ["table", "json"] {
        cases.push(case(
            &format!("demo-who-can-{format}"),
            &joined(&[
                &["who-can"],
                &estate,
                &["--path", "secret/data/payments/db", "--format", format],
            ]),
        ));
    }
    let paths: [(&str, &[&str]); 3] = [
        (
            "table",
            &[
                "--from",
                "platform-terraform",
                "--to",
                "secret/data/payments/db",
                "--max-paths",
                "5",
            ],
        ),
        (
            "json",
            &["--to", "secret/data/payments/db", "--max-paths", "2"],
        ),
        (
            "dot",
            &[
                "--from",
                "payments-deploy",
                "--to",
                "secret/data/payments/db",
            ],
        ),
    ];
    for (format, extra) in paths {
        cases.push(case(
            &format!("demo-path-{format}"),
            &joined(&[&["path"], &estate, extra, &["--format", format]]),
        ));
    }
    cases.push(case(
        "demo-graph-opengraph",
        &joined(&[
            &["graph"],
            &estate,
            &[
                "--format",
                "opengraph",
                "--out",
                "/dev/stdout",
                "--estate",
                "demo",
            ],
        ]),
    ));
    let views: [(&str, &[&str]); 5] = [
        ("pipeline", &["--pipeline", "checkout-ci"]),
        ("secret", &["--path", "secret/data/payments/db"]),
        ("teams", &[]),
        ("teams", &["--team", "payments"]),
        ("overview", &[]),
    ];
    for (index, (view, extra)) in views.iter().enumerate() {
        let args = joined(&[&["dot", "--view", view], &estate, extra]);
        cases.push(case(&format!("demo-dot-{index}-{view}"), &args));
    }
    for format in ["json", "markdown", "table"] {
        cases.push(case(
            &format!("demo-diff-widen-ci-{format}"),
            &joined(&[
                &["diff", "--snapshot", s, "--apply", &widen, "--pipelines", p],
                &["--format", format, "--fail-on", "new-cross-team"],
            ]),
        ));
    }
    for format in ["table", "json"] {
        cases.push(case(
            &format!("demo-capabilities-{format}"),
            &[
                "capabilities",
                "--snapshot",
                s,
                "--policy",
                "ci-shared",
                "--policy",
                "payments-deploy",
                "--path",
                "secret/data/payments/db",
                "--path",
                "secret/data/checkout/api",
                "--path",
                "sys/policies/acl/x",
                "--format",
                format,
            ],
        ));
    }
    // The namespace is normalised as everywhere else: white space around it is dropped.
    cases.push(case(
        "demo-capabilities-namespace-padded",
        &[
            "capabilities",
            "--snapshot",
            s,
            "--namespace",
            " data ",
            "--policy",
            "data-etl",
            "--path",
            "secret/data/warehouse/airflow-fernet",
        ],
    ));
    cases
}

/// `head` of the synthetic what-if: the first role with token policies given the last policy of
/// its namespace (`blastmap::synth::change_one_role`).
fn one_role_changed(snapshot: &Path, head: &Path) {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(snapshot).unwrap()).unwrap();
    assert!(blastmap::synth::change_one_role(&mut v), "a role to change");
    std::fs::write(head, v.to_string()).unwrap();
}

/// A small synthetic estate (two namespaces, four pipelines): its reach, facts, findings,
/// diagrams and a what-if changing one role.
fn synth_cases(dir: &Path) -> Vec<Case> {
    let out = dir.to_str().unwrap();
    let sizes = [
        "--secrets",
        "30",
        "--policies",
        "8",
        "--roles",
        "6",
        "--pipelines",
        "4",
        "--namespaces",
        "2",
        "--seed",
        "3",
    ];
    let synth = [&["synth"][..], &sizes, &["--out", out]].concat();
    blastmap().args(&synth).assert().success();
    let snapshot = dir.join("snapshot.json");
    let head = dir.join("head.json");
    one_role_changed(&snapshot, &head);
    let (s, h) = (snapshot.to_str().unwrap(), head.to_str().unwrap());
    let pipelines = dir.join("pipelines.yaml");
    let p = pipelines.to_str().unwrap();
    let estate = ["--snapshot", s, "--pipelines", p];
    let mut cases = vec![
        case("synth-reach-table", &joined(&[&["reach"], &estate, &[]])),
        case(
            "synth-reach-json",
            &joined(&[&["reach"], &estate, &["--format", "json"]]),
        ),
        case("synth-facts", &joined(&[&["facts"], &estate, &[]])),
        case(
            "synth-findings-table",
            &joined(&[&["findings"], &estate, &[]]),
        ),
        case(
            "synth-findings-json",
            &joined(&[&["findings"], &estate, &["--format", "json"]]),
        ),
        case(
            "synth-dot-teams",
            &joined(&[&["dot", "--view", "teams"], &estate, &[]]),
        ),
        case(
            "synth-dot-overview",
            &joined(&[&["dot", "--view", "overview"], &estate, &[]]),
        ),
    ];
    for format in ["json", "markdown"] {
        cases.push(case(
            &format!("synth-diff-one-role-{format}"),
            &[
                "diff",
                "--base",
                s,
                "--head",
                h,
                "--pipelines",
                p,
                "--format",
                format,
            ],
        ));
    }
    cases.push(case(
        "synth-diff-one-role-roles-json",
        &["diff", "--base", s, "--head", h, "--format", "json"],
    ));
    cases
}

#[test]
fn outputs_match_the_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let mut bad = Mismatches::default();
    let mut cases = demo_cases();
    cases.extend(synth_cases(dir.path()));
    for case in &cases {
        check(case, dir.path(), &mut bad);
    }
    assert!(
        bad.report.is_empty(),
        "outputs differ from tests/snapshots (UPDATE_SNAPSHOTS=1 rewrites them):\n{}",
        bad.report
    );
}

#[test]
fn the_line_diff_shows_the_changed_lines_with_context() {
    let old = "a\nb\nc\nd\ne\nf\ng\n";
    let new = "a\nb\nc\nD\ne\nf\ng\nh\n";
    let diff = line_diff(old, new);
    assert_eq!(
        diff, "@@ line 1 @@\n a\n b\n c\n-d\n+D\n e\n f\n g\n+h\n",
        "{diff}"
    );
}
