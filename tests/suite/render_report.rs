//! `blastmap report` on the demo estate: one self-contained, deterministic HTML file with the
//! summary, the findings (built-in and `--queries` rules), the blast radius of every pipeline,
//! the diagrams inline as SVG (or notes without Graphviz), coverage gaps and unknowns.

use std::path::Path;

use crate::render_fixture::*;

fn report(dir: &Path, extra: &[&str], env: Option<(&str, &str)>) -> String {
    let out = dir.join("report.html");
    let mut c = blastmap();
    c.args(["report", "--snapshot", SNAP, "--pipelines", PIPES, "--out"])
        .arg(&out)
        .args(extra);
    if let Some((k, v)) = env {
        c.env(k, v);
    }
    let o = c.output().unwrap();
    assert!(
        o.status.success(),
        "report failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::read_to_string(&out).unwrap()
}

fn findings_count() -> usize {
    let o = blastmap()
        .args([
            "findings",
            "--snapshot",
            SNAP,
            "--pipelines",
            PIPES,
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["findings"].as_array().unwrap().len()
}

/// Rows of the table with this id.
fn rows(html: &str, table: &str) -> usize {
    let start = html
        .find(&format!("<table id=\"{table}\""))
        .unwrap_or_else(|| panic!("no table {table}"));
    let body = &html[start..];
    let end = body.find("</table>").unwrap();
    let tbody = &body[..end];
    let tb = tbody.find("<tbody>").unwrap();
    tbody[tb..].matches("<tr").count()
}

#[test]
fn report_has_every_section_and_is_self_contained() {
    dot_binary();
    let dir = tempfile::tempdir().unwrap();
    let html = report(dir.path(), &[], None);
    for id in [
        "summary",
        "findings",
        "blast-radius",
        "teams",
        "overview",
        "pipelines",
        "gaps",
        "findings-table",
        "pipelines-table",
        "coverage-table",
        "unknowns-table",
        "by-severity",
        "by-practice",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "no #{id}");
    }
    // Findings: the same as `blastmap findings`, with remediation.
    let n = findings_count();
    assert!(n > 0, "the demo estate has findings");
    assert_eq!(rows(&html, "findings-table"), n);
    assert!(html.contains("<th data-sort><button type=\"button\">remediation</button></th>"));
    // Every pipeline: a row, details and an inline diagram; teams and overview diagrams too.
    assert_eq!(rows(&html, "pipelines-table"), 16);
    // Kubernetes consumers are marked beside CI pipelines.
    assert!(
        html.contains("<code>k8s consumer (vso): kubernetes auth/k8s role storefront-vso</code>")
    );
    for p in [
        "payments-deploy",
        "checkout-ci",
        "data-etl",
        "platform-terraform",
    ] {
        assert!(html.contains(&format!(">{p}<")), "{p} missing");
    }
    assert_eq!(
        html.matches("<svg").count(),
        2 + 16,
        "teams, overview and 16 pipelines (4 of them Kubernetes consumers)"
    );
    // The coverage gap of the demo export is listed.
    assert!(html.contains("auth/ldap/groups"));
    // Self-contained: nothing is loaded from anywhere.
    for bad in [
        "src=\"http",
        "href=\"http",
        "<link",
        "<script src",
        "@import",
        "url(http",
    ] {
        assert!(!html.contains(bad), "external reference {bad:?}");
    }
    assert!(html.contains("Content-Security-Policy"));
    assert!(html.contains("default-src 'none'"));
    // Written atomically: no temporary file left behind.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, vec!["report.html".to_string()]);
}

#[test]
fn report_is_deterministic() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    assert_eq!(report(a.path(), &[], None), report(b.path(), &[], None));
}

#[test]
fn report_without_graphviz_has_notes_and_dot_sources() {
    let dir = tempfile::tempdir().unwrap();
    let html = report(dir.path(), &[], Some(("BLASTMAP_DOT", "/nonexistent/dot")));
    assert_eq!(html.matches("<svg").count(), 0);
    assert!(html.contains("Graphviz is not installed"));
    assert!(html.contains("apt-get install graphviz"));
    assert!(html.contains("DOT source of teams diagram"));
    assert!(html.contains("digraph &quot;blastmap&quot;"));
}

#[test]
fn report_runs_the_users_queries_too() {
    let dir = tempfile::tempdir().unwrap();
    let q = dir.path().join("rules");
    std::fs::create_dir(&q).unwrap();
    std::fs::write(
        q.join("custom.rego"),
        r#"package blastmap.rules.custom
import rego.v1

rules["custom.every-pipeline"] := {
    "title": "Custom rule ran",
    "severity": "low",
    "practice": "exposure",
    "description": "A test rule.",
    "remediation": "Nothing to do.",
}

findings contains f if {
    some p in input.pipelines
    f := {"rule": "custom.every-pipeline", "subject": {"kind": "pipeline", "id": p.name},
          "message": sprintf("custom rule saw %s", [p.name]), "evidence": {}}
}
"#,
    )
    .unwrap();
    let html = report(dir.path(), &["--queries", q.to_str().unwrap()], None);
    assert_eq!(html.matches("custom rule saw ").count(), 16);
    assert!(html.contains("Nothing to do."));
    assert_eq!(rows(&html, "findings-table"), findings_count() + 16);
}

#[test]
fn report_bad_input_exits_2() {
    let o = blastmap()
        .args([
            "report",
            "--snapshot",
            SNAP,
            "--pipelines",
            PIPES,
            "--queries",
            "/nonexistent/q",
            "--out",
            "/tmp/never.html",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/q"));
    let o = blastmap()
        .args(["report", "--snapshot", SNAP, "--pipelines", PIPES])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--out"));
    let o = blastmap()
        .args([
            "report",
            "--snapshot",
            SNAP,
            "--pipelines",
            "/nonexistent/p.yaml",
            "--out",
            "/tmp/never.html",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}
