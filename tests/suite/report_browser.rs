//! The HTML report in headless Chromium (`apt-get install chromium`; `scripts/test.sh` installs
//! it), driven with `std::process::Command`:
//!
//! * `--enable-logging=stderr --v=0 --dump-dom`: the page loads with no console message (no
//!   error, no Content-Security-Policy violation), its script ran (`data-ready`), the findings
//!   table and inline SVG diagrams are in the DOM;
//! * `report.html?pipelines=checkout&findings=…&sort=…`: the page's own script applies the
//!   query on load, and the dumped DOM shows exactly the matching rows, the others `hidden`,
//!   sorted as asked;
//! * `--screenshot`: a PNG in `target/tmp/report_browser/` for people to look at;
//! * a report of an estate with hostile names runs no injected markup.
//!
//! Tests never skip: without Chromium they fail and say how to install it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::render_fixture::*;

fn chromium() -> String {
    if let Ok(c) = std::env::var("BLASTMAP_CHROMIUM") {
        return c;
    }
    for c in [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ] {
        if Command::new(c)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        {
            return c.to_string();
        }
    }
    panic!(
        "Chromium not found: install it (`apt-get install -y chromium`; scripts/test.sh does it) \
         or set BLASTMAP_CHROMIUM. The browser test never skips."
    )
}

/// Run headless Chromium on a URL with extra flags, killed after two minutes.
fn headless(extra: &[String], url: &str) -> Output {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting chromium");
    // Read both pipes on threads; wait with a deadline.
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut so, &mut v).ok();
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut se, &mut v).ok();
        v
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            child.kill().ok();
            panic!("chromium did not finish within two minutes on {url}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Output {
        status,
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
    }
}

fn url(file: &Path, query: &str) -> String {
    format!("file://{}{query}", file.canonicalize().unwrap().display())
}

/// Console messages Chromium logged (`…:CONSOLE…] "message", source: …`).
fn console_messages(stderr: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect()
}

fn dump_dom(file: &Path, query: &str) -> (String, Vec<String>) {
    let out = headless(
        &[
            "--enable-logging=stderr".into(),
            "--v=0".into(),
            "--dump-dom".into(),
        ],
        &url(file, query),
    );
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        console_messages(&out.stderr),
    )
}

/// The `<tr>` elements of a table's body, as text.
fn body_rows(dom: &str, table: &str) -> Vec<String> {
    let start = dom
        .find(&format!("<table id=\"{table}\""))
        .unwrap_or_else(|| panic!("no table {table} in the DOM"));
    let t = &dom[start..];
    let t = &t[..t.find("</table>").unwrap()];
    let body = &t[t.find("<tbody>").unwrap() + 7..];
    body.split("<tr")
        .skip(1)
        .map(|r| format!("<tr{r}"))
        .collect()
}

/// The `<body …>` start tag (where the page records readiness and script errors).
fn body_tag(dom: &str) -> &str {
    let i = dom.find("<body").expect("no body in the DOM");
    &dom[i..i + dom[i..].find('>').unwrap() + 1]
}

fn is_hidden(row: &str) -> bool {
    let open = &row[..row.find('>').unwrap()];
    open.contains(" hidden")
}

fn text(row: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in row.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
}

fn make_report(dir: &Path, snapshot: &Path, pipelines: &Path) -> PathBuf {
    let out = dir.join("report.html");
    blastmap()
        .arg("report")
        .arg("--snapshot")
        .arg(snapshot)
        .arg("--pipelines")
        .arg(pipelines)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    out
}

#[test]
fn report_works_in_headless_chromium() {
    dot_binary();
    chromium();
    let dir = artefacts("report_browser");
    let report = make_report(&dir, Path::new(SNAP), Path::new(PIPES));

    // 1. Loads with no console message, script ran, findings table and SVG present.
    let (dom, console) = dump_dom(&report, "");
    assert!(console.is_empty(), "console messages: {console:#?}");
    let body = body_tag(&dom);
    assert!(
        body.contains("data-ready=\"1\""),
        "the page's script did not run: {body}"
    );
    assert!(
        !body.contains("data-js-errors"),
        "script errors recorded: {body}"
    );
    let findings = body_rows(&dom, "findings-table");
    assert!(!findings.is_empty(), "empty findings table");
    assert!(findings.iter().all(|r| !is_hidden(r)));
    assert!(
        dom.matches("<svg").count() >= 9,
        "inline SVG diagrams missing"
    );
    assert_eq!(body_rows(&dom, "pipelines-table").len(), 16);

    // 2. Search from the query string filters rows; sort orders them.
    let term = {
        // A word of the first finding's rule id, present in some rows and not others.
        let first = text(&findings[0]);
        first
            .split_whitespace()
            .nth(1)
            .unwrap_or("identity")
            .to_lowercase()
    };
    let q = format!("?pipelines=checkout&findings={term}&sort=pipelines-table:4:desc");
    let (dom, console) = dump_dom(&report, &q);
    assert!(console.is_empty(), "console messages: {console:#?}");
    let rows = body_rows(&dom, "pipelines-table");
    let shown: Vec<String> = rows
        .iter()
        .filter(|r| !is_hidden(r))
        .map(|r| text(r))
        .collect();
    // Four CI pipelines and the three consumers of the storefront namespace (team checkout).
    assert_eq!(shown.len(), 7, "checkout filter: {shown:?}");
    assert!(shown.iter().all(|r| r.contains("checkout")));
    assert_eq!(rows.iter().filter(|r| is_hidden(r)).count(), 9);
    assert!(dom.contains("7 of 16 shown"));
    // Sorted by "secrets reachable", descending: checkout-ci (19) before checkout-deploy (9).
    assert!(shown[0].starts_with("checkout-ci"), "not sorted: {shown:?}");
    let frows = body_rows(&dom, "findings-table");
    let expect = frows
        .iter()
        .filter(|r| text(r).to_lowercase().contains(&term))
        .count();
    assert!(expect > 0);
    assert_eq!(
        frows.iter().filter(|r| !is_hidden(r)).count(),
        expect,
        "findings filter {term:?}"
    );
    let (dom, _) = dump_dom(&report, "#findings=no-such-finding-anywhere");
    assert!(body_rows(&dom, "findings-table")
        .iter()
        .all(|r| is_hidden(r)));

    // 3. A screenshot for people.
    let shot = dir.join("report.png");
    let _ = std::fs::remove_file(&shot);
    let out = headless(
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1400,2400".into(),
        ],
        &url(&report, ""),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&shot).expect("no screenshot written");
    assert!(png.starts_with(b"\x89PNG"), "the screenshot is not a PNG");
    assert!(
        png.len() > 20_000,
        "the screenshot looks empty ({} bytes)",
        png.len()
    );
    eprintln!("screenshot: {}", shot.display());
}

#[test]
fn hostile_names_run_no_code_in_the_browser() {
    dot_binary();
    chromium();
    let h = hostile_estate();
    let report = make_report(h.dir.path(), &h.snapshot, &h.pipelines);
    let (dom, console) = dump_dom(&report, "?q=evil");
    assert!(console.is_empty(), "console messages: {console:#?}");
    let body = body_tag(&dom);
    assert!(
        body.contains("data-ready=\"1\"") && !body.contains("data-js-errors"),
        "{body}"
    );
    assert_eq!(
        dom.matches("<script").count(),
        1,
        "an injected script element"
    );
    assert!(!dom.contains("<img"), "an injected img element");
    assert!(!dom.contains("<b>b</b>") && !dom.contains("<i>it</i>"));
    // The hostile names are shown as text.
    assert!(dom.contains("&lt;img src=x onerror=alert(1)&gt;"));
}
