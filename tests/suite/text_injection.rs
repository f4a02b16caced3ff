//! Hostile text in every output: names carrying terminal escapes (ESC, CSI, OSC 52 clipboard
//! writes, CR, newlines, C1, bidi overrides), Markdown (links, images, mentions, issue and merge
//! request references, backticks), HTML and shell metacharacters, and names longer than Rust's
//! formatting width (65,535) and Graphviz's string limit (16,384). Every table and stderr line is
//! inert (no raw control character, no forged line), every Markdown document parsed by a real
//! CommonMark/GFM parser holds no link, image or HTML from data, SARIF URIs are percent-encoded,
//! every diagram renders, and no formatter panics on any length or content.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use blastmap::text::{self, visible};
use proptest::prelude::*;
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use serde_json::Value;

const SNAP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo/snapshot.json");
const PIPES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo/pipelines.yaml");

/// Every attack at once: an OSC 52 clipboard write, a screen clear, a carriage return and a
/// newline forging a `CRITICAL` line, a C1 CSI, Markdown links, images, a mention, GitHub and
/// GitLab references, backticks, HTML, table pipes, emphasis and shell metacharacters, and a
/// right-to-left override.
const HOSTILE: &str = "x\u{1b}]52;c;ZXZpbA==\u{7}\u{1b}[2J\rCRITICAL forged\n[x](http://evil) ![i](http://evil/i.png) @user #123 !45 :smile: `tick`` <img src=x onerror=alert(1)> | *b* _i_ ~~s~~ &amp; $(id) ;`id`\u{9b}31m\u{202e}end";
/// Pieces of [`HOSTILE`] that must never be live in Markdown (outside code).
const LIVE: &[&str] = &[
    "http://evil",
    "@user",
    "#123",
    "!45",
    "<img",
    "CRITICAL forged",
];
/// Longer than `{:width$}` accepts.
const LONG: usize = 70_000;
/// Longer than a Graphviz quoted string may be, shorter than [`LONG`].
const LONGISH: usize = 20_000;

fn blastmap() -> Command {
    Command::cargo_bin("blastmap").unwrap()
}

fn policy_name() -> String {
    // The server lowercases policy names.
    HOSTILE.to_lowercase()
}

fn long_key() -> String {
    format!("payments/{}end", "k".repeat(LONG))
}

fn longish_key() -> String {
    format!("payments/{}tail", "l".repeat(LONGISH))
}

fn hostile_secret() -> String {
    format!("secret/data/payments/{HOSTILE}")
}

/// The demo estate with hostile names: a policy (attached to `payments-deploy`, granting all of
/// `payments/`), a team, a pipeline, a hostile secret key, and two very long keys.
struct Estate {
    dir: tempfile::TempDir,
    snapshot: PathBuf,
    pipelines: PathBuf,
}

fn hostile_estate() -> Estate {
    let mut snap: Value = serde_json::from_str(&std::fs::read_to_string(SNAP).unwrap()).unwrap();
    let root = &mut snap["namespaces"][0];
    let policies = root["policies"].as_array_mut().unwrap();
    let mut p = policies[0].clone();
    p["name"] = policy_name().into();
    p["policy"] =
        "path \"secret/data/payments/*\" {\n  capabilities = [\"read\", \"update\"]\n}\n".into();
    policies.push(p);
    for m in root["auth_mounts"].as_array_mut().unwrap() {
        if m["path"] == "gha/" {
            for r in m["roles"]["jwt"].as_array_mut().unwrap() {
                if r["name"] == "payments-deploy" {
                    r["token_policies"]
                        .as_array_mut()
                        .unwrap()
                        .push(policy_name().into());
                }
            }
        }
    }
    for m in root["secret_mounts"].as_array_mut().unwrap() {
        if m["path"] == "secret/" {
            let keys = m["secrets"]["keys"].as_array_mut().unwrap();
            keys.push(format!("payments/{HOSTILE}").into());
            keys.push(long_key().into());
            keys.push(longish_key().into());
        }
    }
    let mut inv = blastmap::inventory::Inventory::load(Path::new(PIPES)).unwrap();
    for t in &mut inv.teams {
        if t.name == "payments" {
            t.name = format!("team {HOSTILE}");
        }
    }
    for p in &mut inv.pipelines {
        if p.team.as_deref() == Some("payments") {
            p.team = Some(format!("team {HOSTILE}"));
        }
        if p.name == "payments-deploy" {
            p.name = HOSTILE.into();
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("snapshot.json");
    let pipelines = dir.path().join("pipelines.json");
    std::fs::write(&snapshot, serde_json::to_string_pretty(&snap).unwrap()).unwrap();
    std::fs::write(&pipelines, serde_json::to_string_pretty(&inv).unwrap()).unwrap();
    Estate {
        dir,
        snapshot,
        pipelines,
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Run {
    let out = blastmap().args(args).output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// No C0 control character but the line ends (what JSON itself escapes).
fn assert_no_raw_c0(what: &str, text: &str) {
    for (i, c) in text.char_indices() {
        let bad = c < '\u{20}' && c != '\n';
        assert!(!bad, "{what}: raw {c:?} at byte {i}");
    }
}

/// Terminal text is inert: no control character but the line ends, no bidi control, no line
/// forged by a name, and no panic message.
fn assert_inert_terminal(what: &str, text: &str) {
    for (i, c) in text.char_indices() {
        let bad = (c.is_control() && c != '\n')
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        assert!(!bad, "{what}: raw {c:?} at byte {i}");
    }
    for l in text.lines() {
        assert!(
            !l.starts_with("CRITICAL forged") && !l.starts_with("[x](http://evil)"),
            "{what}: a name forged the line {l:?}"
        );
    }
    assert!(!text.contains("panicked"), "{what}: {text}");
}

/// A table run: it succeeds, stdout and stderr are inert, and the hostile name is shown whole
/// (visibly escaped) when `shows` says so.
fn assert_table(what: &str, r: &Run, shows: &str) {
    assert_eq!(r.code, 0, "{what} failed: {}", r.stderr);
    assert_inert_terminal(what, &r.stdout);
    assert_inert_terminal(&format!("{what} (stderr)"), &r.stderr);
    assert!(
        r.stdout.contains(&*visible(shows)),
        "{what}: {:?} not shown intact",
        visible(shows)
    );
}

#[derive(Default)]
struct MarkdownParts {
    codes: Vec<String>,
    texts: Vec<String>,
    html: Vec<String>,
    links: usize,
}

fn parse_markdown(md: &str) -> MarkdownParts {
    let mut parts = MarkdownParts::default();
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    // Text inside a fenced code block (the evidence JSON) is code: nothing in it is live.
    let mut in_code_block = false;
    for ev in Parser::new_ext(md, opts) {
        match ev {
            Event::Start(Tag::CodeBlock(_)) => in_code_block = true,
            Event::End(TagEnd::CodeBlock) => in_code_block = false,
            Event::Code(c) => parts.codes.push(c.into_string()),
            Event::Text(t) if in_code_block => parts.codes.push(t.into_string()),
            Event::Text(t) => parts.texts.push(t.into_string()),
            Event::Html(h) | Event::InlineHtml(h) => parts.html.push(h.trim().to_string()),
            Event::Start(Tag::Link { .. } | Tag::Image { .. }) => parts.links += 1,
            _ => {}
        }
    }
    parts
}

/// Markdown is inert: no link or image, only blastmap's own HTML, nothing of [`LIVE`] outside
/// code, and the hostile name shown intact in a code span.
fn assert_inert_markdown(what: &str, md: &str, own_html: &[&str]) {
    let parts = parse_markdown(md);
    assert_eq!(parts.links, 0, "{what}: a link or image from data\n{md}");
    for h in &parts.html {
        for line in h.lines() {
            assert!(
                own_html.contains(&line.trim()),
                "{what}: HTML {line:?} is not blastmap's own"
            );
        }
    }
    for t in &parts.texts {
        for live in LIVE {
            assert!(!t.contains(live), "{what}: {live:?} outside code in {t:?}");
        }
    }
    assert!(
        parts.codes.iter().any(|c| c.contains(&*visible(HOSTILE))),
        "{what}: the hostile name is not shown intact in code\n{md}"
    );
    assert!(
        !md.contains('\u{1b}') && !md.contains('\r'),
        "{what}: raw control"
    );
}

#[test]
fn reach_and_who_can_tables_are_inert_at_any_length() {
    let e = hostile_estate();
    let r = run(&[
        "reach",
        "--snapshot",
        s(&e.snapshot),
        "--pipelines",
        s(&e.pipelines),
    ]);
    assert_table("reach", &r, HOSTILE);
    assert!(r.stdout.contains(&long_key()), "reach: the long key is cut");
    assert!(
        r.stdout.contains(&*visible(&policy_name())),
        "reach: policy"
    );
    let r = run(&[
        "reach",
        "--snapshot",
        s(&e.snapshot),
        "--pipelines",
        s(&e.pipelines),
        "--pipeline",
        "no such\u{1b}[2J",
    ]);
    assert_eq!(r.code, 2);
    assert_inert_terminal("reach error", &r.stderr);
    assert!(r.stderr.contains(&*visible(HOSTILE)), "{}", r.stderr);

    for path in [hostile_secret(), format!("secret/data/{}", long_key())] {
        let r = run(&[
            "who-can",
            "--snapshot",
            s(&e.snapshot),
            "--pipelines",
            s(&e.pipelines),
            "--path",
            &path,
        ]);
        assert_table("who-can", &r, HOSTILE);
    }
}

#[test]
fn reach_json_stays_escaped_json() {
    let e = hostile_estate();
    let r = run(&[
        "reach",
        "--snapshot",
        s(&e.snapshot),
        "--pipelines",
        s(&e.pipelines),
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // JSON escapes every C0 control (ESC, CR, newline, BEL); C1 and bidi characters are valid
    // JSON text and stay as they are (docs/security.md): JSON is read by tools, not terminals.
    assert_no_raw_c0("reach json", &r.stdout);
    // The name itself is kept exactly.
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let names: Vec<&str> = v["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(names.contains(&HOSTILE));
}

#[test]
fn capabilities_table_is_inert_at_any_length() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("evil\u{1b}[2j\n@user.hcl");
    std::fs::write(
        &policy,
        "path \"secret/*\" {\n  capabilities = [\"read\"]\n}\n",
    )
    .unwrap();
    let long = format!("secret/{}", "p".repeat(LONG));
    let hostile = format!("secret/{HOSTILE}");
    let r = run(&[
        "capabilities",
        "--policy-file",
        s(&policy),
        "--path",
        &long,
        &hostile,
    ]);
    assert_table("capabilities", &r, &hostile);
    assert!(
        r.stdout.contains(&long),
        "capabilities: the long path is cut"
    );
    assert!(r.stdout.contains("evil\\x1b[2j\\n@user"), "{}", r.stdout);
    // A header and one row per path: no name added a line.
    assert_eq!(r.stdout.lines().count(), 3, "{}", r.stdout);
}

fn findings(e: &Estate, format: &str) -> Run {
    run(&[
        "findings",
        "--snapshot",
        s(&e.snapshot),
        "--pipelines",
        s(&e.pipelines),
        "--format",
        format,
    ])
}

#[test]
fn findings_table_markdown_and_sarif_are_inert() {
    let e = hostile_estate();
    let table = findings(&e, "table");
    assert!(table.code <= 1, "{}", table.stderr);
    assert_inert_terminal("findings table", &table.stdout);
    assert_inert_terminal("findings stderr", &table.stderr);
    assert!(
        table.stdout.contains(&*visible(HOSTILE)),
        "findings: no hostile subject"
    );

    let md = findings(&e, "markdown");
    assert!(md.code <= 1, "{}", md.stderr);
    assert_inert_markdown(
        "findings markdown",
        &md.stdout,
        &["<details><summary>Evidence</summary>", "</details>"],
    );
    // Evidence JSON stays in its fenced block even when a value holds backticks.
    let parts = parse_markdown(&md.stdout);
    assert!(parts.texts.iter().all(|t| !t.contains("\"kind\"")));

    let json = findings(&e, "json");
    let v: Value = serde_json::from_str(&json.stdout).unwrap();
    assert!(!v["findings"].as_array().unwrap().is_empty());
}

#[test]
fn sarif_artifact_uris_are_percent_encoded() {
    let e = hostile_estate();
    let odd = e.dir.path().join("snap shot #1 %?é\u{1}.json");
    std::fs::copy(&e.snapshot, &odd).unwrap();
    let r = run(&[
        "findings",
        "--snapshot",
        s(&odd),
        "--pipelines",
        s(&e.pipelines),
        "--format",
        "sarif",
    ]);
    assert!(r.code <= 1, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let mut uris = Vec::new();
    for res in v["runs"][0]["results"].as_array().unwrap() {
        for loc in res["locations"].as_array().unwrap() {
            uris.push(
                loc["physicalLocation"]["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
    }
    assert!(!uris.is_empty());
    let expected = text::path_reference(s(&odd));
    assert!(uris.contains(&expected), "{uris:?}");
    for u in &uris {
        assert!(
            u.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~/%".contains(&b)),
            "not a percent-encoded URI: {u}"
        );
    }
    assert_eq!(percent_decode(&expected), s(&odd));
}

fn percent_decode(u: &str) -> String {
    let b = u.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(u8::from_str_radix(&u[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn diff(e: &Estate, format: &str) -> Run {
    run(&[
        "diff",
        "--base",
        SNAP,
        "--head",
        s(&e.snapshot),
        "--pipelines",
        s(&e.pipelines),
        "--format",
        format,
    ])
}

#[test]
fn diff_table_and_markdown_are_inert() {
    let e = hostile_estate();
    let table = diff(&e, "table");
    assert_table("diff table", &table, HOSTILE);
    assert!(table.stdout.contains(&long_key()));
    let md = diff(&e, "markdown");
    assert_eq!(md.code, 0, "{}", md.stderr);
    assert_inert_markdown("diff markdown", &md.stdout, &["<br>"]);
}

/// An audit log: an AppRole login of a role with a hostile name, a denied request on a path
/// longer than 65,535 characters, and a request on a hostile path.
fn audit_log(dir: &Path) -> PathBuf {
    let acc = "hmac-sha256:0e5b12c543a9ce1af68070c7cff4d92c8b4b884625e151d0153c280f58bb5bd8";
    let auth = serde_json::json!({
        "client_token": "hmac-sha256:aa", "accessor": acc, "display_name": "approle",
        "policies": ["default", "p1"], "token_policies": ["default", "p1"],
        "metadata": {"role_name": HOSTILE.to_lowercase()},
        "entity_id": "0e361534-5e08-327d-7923-4da68a8f6f39", "token_type": "service",
        "token_ttl": 2764800
    });
    let login = serde_json::json!({
        "time": "2026-11-25T23:51:32Z", "type": "response", "auth": auth,
        "request": {"id": "1", "operation": "update", "mount_point": "auth/approle/",
            "mount_type": "approle", "mount_class": "auth", "client_token": "hmac-sha256:de",
            "namespace": {"id": "root"}, "path": "auth/approle/login"},
        "response": {"auth": auth, "mount_point": "auth/approle/", "mount_type": "approle"}
    });
    let call = |path: &str, allowed: bool| {
        let mut v = serde_json::json!({
            "time": "2026-11-25T23:52:00Z", "type": "response",
            "auth": {"client_token": "hmac-sha256:9f", "accessor": acc,
                "display_name": "approle", "policies": ["default", "p1"],
                "token_policies": ["default", "p1"], "policy_results": {"allowed": allowed},
                "metadata": {"role_name": HOSTILE.to_lowercase()}, "token_type": "service"},
            "request": {"id": "2", "operation": "read", "mount_point": "secret/",
                "mount_type": "kv", "client_token": "hmac-sha256:9f",
                "client_token_accessor": acc, "namespace": {"id": "root"}, "path": path}
        });
        if !allowed {
            v["error"] = "1 error occurred:\n\t* permission denied\n\n".into();
        }
        v.to_string()
    };
    let lines = [
        login.to_string(),
        call(&format!("secret/data/{}", "d".repeat(LONG)), false),
        call(&hostile_secret(), true),
    ];
    let f = dir.join("audit.log");
    std::fs::write(&f, lines.join("\n") + "\n").unwrap();
    f
}

#[test]
fn usage_table_is_inert_at_any_length() {
    let e = hostile_estate();
    let log = audit_log(e.dir.path());
    let r = run(&[
        "usage",
        "--snapshot",
        s(&e.snapshot),
        "--audit-log",
        s(&log),
    ]);
    assert_table("usage", &r, &hostile_secret());
    assert!(
        r.stdout.contains(&"d".repeat(LONG)),
        "usage: the long path is cut"
    );
    assert!(
        r.stdout.contains(&*visible(&HOSTILE.to_lowercase())),
        "usage: role"
    );
}

#[test]
fn every_view_renders_with_a_key_longer_than_graphviz_allows() {
    let e = hostile_estate();
    let long_secret = format!("secret/data/{}", longish_key());
    let views: Vec<Vec<&str>> = vec![
        vec!["--view", "pipeline", "--pipeline", HOSTILE],
        vec!["--view", "secret", "--path", &long_secret],
        vec!["--view", "secret", "--path", "secret/data/payments/db"],
        vec!["--view", "teams"],
        vec!["--view", "overview"],
    ];
    for args in views {
        let out = dir_svg(&e, &args);
        assert!(out.contains("<svg"), "{args:?}");
    }
}

/// `blastmap dot … --out x.svg`: Graphviz must accept the DOT.
fn dir_svg(e: &Estate, args: &[&str]) -> String {
    let svg = e.dir.path().join("view.svg");
    let mut all = vec![
        "dot",
        "--snapshot",
        s(&e.snapshot),
        "--pipelines",
        s(&e.pipelines),
        "--max-nodes",
        "400",
        "--out",
        s(&svg),
    ];
    all.extend_from_slice(args);
    let r = run(&all);
    assert_eq!(r.code, 0, "dot {args:?}: {}", r.stderr);
    assert_inert_terminal("dot stderr", &r.stderr);
    std::fs::read_to_string(&svg).unwrap()
}

/// Strings of any content, some longer than 65,535 and 16,384 characters.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        2 => "[\\x00-\\x1f\\x7f-\\x9f`|<>\\[\\]!@#*_~&\\\\\"\u{202e}a ]{0,64}",
        1 => (0usize..3, any::<char>(), 16_000usize..70_000)
            .prop_map(|(k, c, n)| match k {
                0 => "`".repeat(n),
                1 => std::iter::repeat_n(c, n).collect(),
                _ => format!("a|{}\n`b", "\u{1b}".repeat(n)),
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn no_formatter_panics_and_terminal_text_is_inert(t in any_text(), w in 0usize..200_000) {
        let shown = visible(&t);
        prop_assert!(!shown.chars().any(|c| c.is_control()));
        let padded = text::pad(&shown, w).to_string();
        prop_assert!(padded.starts_with(&*shown));
        prop_assert_eq!(padded.chars().count(), shown.chars().count().max(w));
        let _ = text::column_width([&*shown, "x"], 4);
        let uri = text::path_reference(&t);
        prop_assert!(uri.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~/%".contains(&b)));
    }

    #[test]
    fn dot_strings_stay_under_graphviz_limit(t in any_text()) {
        let label = text::dot_label(&[t.as_str(), t.as_str(), "x"]);
        prop_assert!(label.len() < 16_384);
        prop_assert!(text::dot_id(&t).len() < 16_384);
        let _ = text::html(&t);
        let _ = text::shorten(&t, 60);
    }

    #[test]
    fn markdown_code_shows_the_value_exactly(t in any_text()) {
        let shown = visible(&t).into_owned();
        // Outside a table: one paragraph, one code span, the value exactly (a value of spaces
        // only keeps its padding, as CommonMark says).
        let md = format!("- a {} b\n", text::md_code(&t));
        let parts = parse_markdown(&md);
        prop_assert_eq!(parts.links, 0);
        prop_assert!(parts.html.is_empty());
        prop_assert_eq!(parts.codes.len(), 1);
        if !shown.chars().all(|c| c == ' ') {
            prop_assert_eq!(&parts.codes[0], &shown);
        }
        // In a table cell: still one row of two cells, the value exactly.
        let md = format!("| a | b |\n|---|---|\n| {} | z |\n", text::md_cell(&t));
        let parts = parse_markdown(&md);
        prop_assert_eq!(parts.codes.len(), 1);
        if !shown.chars().all(|c| c == ' ') {
            prop_assert_eq!(&parts.codes[0], &shown);
        }
        prop_assert!(parts.texts.iter().any(|x| x == "z"));
    }
}

#[test]
fn path_table_and_dot_are_inert() {
    let e = hostile_estate();
    let base = [
        "path",
        "--snapshot",
        s(&e.snapshot),
        "--pipelines",
        s(&e.pipelines),
        "--from",
        HOSTILE,
    ];
    let r = run(&base);
    assert_table("path", &r, HOSTILE);
    assert!(r.stdout.contains(&long_key()), "path: the long key is cut");
    let r = run(&[&base[..], &["--format", "dot"]].concat());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("path.dot");
    std::fs::write(&file, &r.stdout).unwrap();
    let svg = std::process::Command::new("dot")
        .args(["-Tsvg", s(&file)])
        .output()
        .expect("graphviz's dot (scripts/test.sh installs it)");
    assert!(
        svg.status.success(),
        "{}",
        String::from_utf8_lossy(&svg.stderr)
    );
    let svg = String::from_utf8_lossy(&svg.stdout);
    assert!(!svg.contains("<img src=x"), "no live HTML in the SVG");
}

#[test]
fn graph_exports_keep_hostile_names_inert() {
    let e = hostile_estate();
    let dir = tempfile::tempdir().unwrap();
    let export = |format: &str, out: &Path| {
        let r = run(&[
            "graph",
            "--snapshot",
            s(&e.snapshot),
            "--pipelines",
            s(&e.pipelines),
            "--format",
            format,
            "--out",
            s(out),
        ]);
        assert_eq!(r.code, 0, "{format}: {}", r.stderr);
        assert_inert_terminal(format, &r.stderr);
        assert!(r.stderr.contains("wrote "), "{format}: {}", r.stderr);
    };
    // CSV: one row per line (no cell spans lines), no raw control character, and no cell a
    // spreadsheet would evaluate.
    let csv = dir.path().join("csv");
    export("csv", &csv);
    let pipelines = std::fs::read_to_string(csv.join("nodes_Pipeline.csv")).unwrap();
    assert_inert_terminal("csv", &pipelines);
    let inventory = blastmap::inventory::Inventory::load(&e.pipelines).unwrap();
    assert_eq!(pipelines.lines().count(), inventory.pipelines.len() + 1);
    assert!(pipelines.contains(&*visible(HOSTILE).replace('"', "\"\"")));
    for entry in std::fs::read_dir(&csv).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert_inert_terminal("csv file", &text);
        for line in text.lines() {
            for cell in line.split(',') {
                assert!(
                    !cell.starts_with(['=', '+', '-', '@']),
                    "a formula cell: {cell}"
                );
            }
        }
    }
    // GraphML: well-formed XML networkx reads, with the name escaped and no raw control.
    let graphml = dir.path().join("g.graphml");
    export("graphml", &graphml);
    let text = std::fs::read_to_string(&graphml).unwrap();
    assert_inert_terminal("graphml", &text);
    assert!(!text.contains("<img src=x"));
    let python = std::env::var_os("BLASTMAP_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    let read = std::process::Command::new(python)
        .args([
            "-c",
            "import sys, networkx; g = networkx.read_graphml(sys.argv[1]); print(g.number_of_nodes())",
            s(&graphml),
        ])
        .output()
        .expect("the project's python (scripts/test.sh installs networkx)");
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    // OpenGraph: JSON, names kept exactly.
    let og = dir.path().join("g.json");
    export("opengraph", &og);
    let text = std::fs::read_to_string(&og).unwrap();
    assert_no_raw_c0("opengraph", &text);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert!(v["graph"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["properties"]["name"] == HOSTILE));
}
