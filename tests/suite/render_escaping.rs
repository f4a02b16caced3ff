//! Hostile names (OpenBao accepts them) must neither break nor inject into the DOT, the SVG or
//! the report: policy, group, team, pipeline and secret names with quotes, braces, `<`, HTML,
//! newlines, carriage returns, backslashes, Graphviz escapes (`\N`, `\G`, `\l`), entities and a
//! right-to-left override. Each is drawn exactly as it is (with control characters shown as
//! escapes), and Graphviz draws exactly the nodes blastmap wrote.

use crate::render_fixture::*;

fn views() -> Vec<Vec<&'static str>> {
    vec![
        vec!["--view", "pipeline", "--pipeline", PIPELINE],
        vec!["--view", "pipeline", "--pipeline", "payments-ci"],
        vec!["--view", "secret", "--path", "secret/data/payments/db"],
        vec!["--view", "teams"],
        vec!["--view", "teams", "--team", TEAM],
        vec!["--view", "overview"],
    ]
}

#[test]
fn hostile_names_do_not_break_or_inject_into_dot() {
    let h = hostile_estate();
    let hostile_secret = format!("secret/data/{SECRET_KEY}");
    let mut seen: Vec<&str> = Vec::new();
    for args in views() {
        let dot = dot_of(&h.snapshot, &h.pipelines, &args);
        // Nothing from a name ends up outside a quoted string: graphviz-rust's parser and
        // Graphviz agree on the node count, and no injected id exists.
        let n = count_nodes(&dot);
        let svg = dot_svg(&dot);
        assert_eq!(
            svg_node_count(&svg),
            n,
            "{args:?}: Graphviz drew other nodes"
        );
        for injected in ["injected", "a", "b", "x"] {
            assert!(
                !svg.contains(&format!("<title>{injected}</title>")),
                "{args:?}: a node {injected:?} was injected"
            );
        }
        // Raw markup from names never reaches the SVG.
        for raw in ["<script", "<img", "<b>", "<i>", "</text><"] {
            assert!(!svg.contains(raw), "{args:?}: raw {raw:?} in the SVG");
        }
        assert!(
            !dot.contains('\r'),
            "{args:?}: a raw carriage return in the DOT"
        );
        assert!(
            !dot.contains('\u{202e}'),
            "{args:?}: a raw bidi override in the DOT"
        );
        // Each name is drawn as it is.
        let texts = svg_texts(&svg);
        let all = texts.join("\n");
        let mut expect = |what: &'static str, shown_text: String| {
            if all.contains(&shown_text) {
                seen.push(what);
            }
        };
        expect("policy", shown(POLICY));
        expect("group", shown(GROUP));
        expect("team", format!("team {}", shown(TEAM)));
        expect("pipeline", shown(PIPELINE));
        expect("secret", shown(&hostile_secret));
    }
    // Every hostile name was drawn, intact, in some view.
    for what in ["policy", "group", "team", "pipeline", "secret"] {
        assert!(
            seen.contains(&what),
            "the hostile {what} name was never drawn intact"
        );
    }
}

#[test]
fn hostile_pipeline_view_keeps_the_chain() {
    let h = hostile_estate();
    let dot = dot_of(
        &h.snapshot,
        &h.pipelines,
        &["--view", "pipeline", "--pipeline", PIPELINE],
    );
    let svg = dot_svg(&dot);
    let texts = svg_texts(&svg);
    // The hostile policy decides the hostile secret, through a wildcard rule.
    assert!(
        texts.iter().any(|t| t == &shown(POLICY)),
        "policy not drawn: {texts:?}"
    );
    assert!(texts
        .iter()
        .any(|t| t == "path \"secret/data/payments/evil*\""));
    assert!(texts
        .iter()
        .any(|t| t == &format!("secret/data/{}", shown(SECRET_KEY))));
    assert!(texts.iter().any(|t| t == &shown(GROUP)), "group not drawn");
    assert!(
        texts.iter().any(|t| t == &shown(PIPELINE)),
        "pipeline not drawn"
    );
}

#[test]
fn hostile_names_are_escaped_in_the_report() {
    let h = hostile_estate();
    let out = h.dir.path().join("report.html");
    blastmap()
        .arg("report")
        .arg("--snapshot")
        .arg(&h.snapshot)
        .arg("--pipelines")
        .arg(&h.pipelines)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let html = std::fs::read_to_string(&out).unwrap();
    for raw in [
        "<script>alert",
        "<img src=x",
        "<b>b</b>",
        "<i>it</i>",
        "</text><script>",
        "\u{202e}",
        "\r",
    ] {
        assert!(!html.contains(raw), "raw {raw:?} in the report");
    }
    // The names are there, escaped.
    assert!(html.contains("grp&lt;/text&gt;&lt;script&gt;alert(1)&lt;/script&gt;\\n--&gt;"));
    assert!(html.contains("evil&quot;&lt;img src=x onerror=alert(1)&gt;\\G"));
    assert!(html.contains("\\u{202e}rtl"));
    // Exactly one script element: ours.
    assert_eq!(html.matches("<script").count(), 1);
}
