//! The review report: one self-contained HTML file (`docs/report.md`).
//!
//! Everything is inline: the CSS, one small script (search and sort; it only hides, shows and
//! reorders rows that are already in the page, it never builds HTML from data), and the diagrams
//! as SVG from Graphviz (or a note and the DOT source when Graphviz is missing). A
//! Content-Security-Policy forbids every network load and every script but that one (allowed by
//! its SHA-256), so even a name that slipped through escaping could not run code or call out.
//! Every name is escaped with [`text::html`](mod@crate::text::html).
//!
//! The page is deterministic for a given input (no generation time), so two reports diff.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use rayon::prelude::*;

use crate::facts::escalation::Reached;
use crate::inventory::Inventory;
use crate::model::Snapshot;
use crate::ownership::Owners;
use crate::passes::identity::PolicyOrigin;
use crate::passes::reach::{PipelineReach, PreparedReach};
use crate::rules::{Finding, Report as FindingsReport, Severity, PRACTICES};
use crate::timings::Clock;

use super::diagram::Diagram;
use super::dot as views;
use super::estate::{escalation_chains, escalation_chains_of, EscChain, EstateReach, WRITE};
use super::svg;
use crate::text::html as h;

/// Options of a report.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// `--max-nodes` of every diagram.
    pub max_nodes: usize,
    /// Pipelines whose diagram is drawn (largest blast radius first); the others get a note.
    pub max_diagrams: usize,
    /// Escalation search depth (as `findings --escalation-depth`).
    pub escalation_depth: usize,
    /// Names of the inputs, shown in the header.
    pub snapshot_name: String,
    pub pipelines_name: String,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            max_nodes: views::DEFAULT_MAX_NODES,
            max_diagrams: 100,
            escalation_depth: 3,
            snapshot_name: String::new(),
            pipelines_name: String::new(),
        }
    }
}

/// A diagram as it goes into the page.
#[derive(Debug, Clone)]
pub(crate) enum Rendered {
    Svg(String),
    /// Graphviz is missing: the DOT source is shown instead.
    NoGraphviz(String),
    /// `dot` failed on it (the message, and the DOT source).
    Failed(String, String),
    /// Not drawn (beyond `max_diagrams`).
    Skipped,
}

/// What the report found, for the command's summary line.
#[derive(Debug, Clone, Default)]
pub struct ReportStats {
    pub pipelines: usize,
    pub secrets: usize,
    pub findings: usize,
    pub diagrams: usize,
    pub graphviz: bool,
}

/// One diagram as inline SVG, or a note when Graphviz is missing. `id` becomes the SVG's id.
fn render_one(id: &str, diagram: &Diagram, graphviz: bool) -> Rendered {
    let dot = diagram.to_dot();
    if !graphviz {
        return Rendered::NoGraphviz(dot);
    }
    match svg::render(&dot, svg::Format::Svg, &[format!("-Gid={id}")]) {
        Ok(bytes) => Rendered::Svg(svg::inline_svg(&String::from_utf8_lossy(&bytes))),
        Err(e) => Rendered::Failed(e.to_string(), dot),
    }
}

/// A diagram of the page, before it is laid out.
#[derive(Debug, Clone, Copy)]
enum PageDiagram {
    Teams,
    Overview,
    /// The pipeline at this index of the reach.
    Pipeline(usize),
}

/// Everything the page shows.
pub(crate) struct ReportData<'a> {
    pub snapshot: &'a Snapshot,
    pub inventory: &'a Inventory,
    pub findings: &'a FindingsReport,
    pub reach: &'a [PipelineReach],
    pub chains: &'a [Vec<EscChain>],
    pub owners: &'a Owners,
    pub secrets_total: usize,
    pub teams_svg: Rendered,
    pub overview_svg: Rendered,
    /// One per pipeline of `reach`.
    pub pipeline_svgs: Vec<Rendered>,
    pub opts: &'a ReportOptions,
}

/// The page of a review: its findings, and every pipeline's reach, escalation chains and
/// diagrams, all from `everyone` (the logins and tokens of every pipeline of the inventory,
/// prepared once for the findings and shared here).
///
/// `searched`: the escalations the facts searched from each token, when they were searched to
/// the report's depth; they are searched here otherwise.
pub(crate) fn build_with(
    everyone: &PreparedReach<'_, '_>,
    searched: Option<Vec<Vec<Reached>>>,
    findings: &FindingsReport,
    opts: &ReportOptions,
) -> (String, ReportStats) {
    let clock = Clock::start("report");
    let analysis = everyone.analysis();
    let inventory = analysis.inventory;
    let reach = everyone.assemble(0..everyone.len());
    clock.lap("reach assembled");
    let (logins, tokens) = everyone.parts();
    let chains = match searched {
        Some(found) => escalation_chains_of(analysis, logins, &found),
        None => escalation_chains(analysis, logins, tokens, opts.escalation_depth),
    };
    clock.lap("escalation chains");
    let est = EstateReach::from_prepared(analysis, everyone.prepared().clone());
    let owners = &est.owners;
    // Diagrams: teams, overview, then pipelines by blast radius.
    let mut order: Vec<usize> = (0..reach.len()).collect();
    order.sort_by(|&a, &b| {
        reach[b]
            .secrets
            .len()
            .cmp(&reach[a].secrets.len())
            .then(reach[a].name.cmp(&reach[b].name))
    });
    let drawn: BTreeSet<usize> = order.iter().take(opts.max_diagrams).copied().collect();
    let mut wanted = vec![PageDiagram::Teams, PageDiagram::Overview];
    wanted.extend(drawn.iter().map(|&i| PageDiagram::Pipeline(i)));
    let graphviz = svg::available();
    // Each diagram is laid out and drawn on its own: while one waits for Graphviz, another is
    // laid out.
    let mut rendered: Vec<Rendered> = wanted
        .par_iter()
        .map(|wanted| {
            let (id, diagram) = match *wanted {
                PageDiagram::Teams => (
                    "teams".to_string(),
                    views::teams_view(&est, None, opts.max_nodes),
                ),
                PageDiagram::Overview => (
                    "overview".to_string(),
                    views::overview_view(&est, opts.max_nodes),
                ),
                PageDiagram::Pipeline(i) => {
                    let consumer = inventory
                        .pipeline(&reach[i].name)
                        .and_then(|p| p.ci.as_ref())
                        .and_then(|c| c.consumer);
                    let diagram = views::pipeline_view(
                        owners,
                        &reach[i],
                        consumer,
                        &chains[i],
                        opts.max_nodes,
                    );
                    (format!("p{i}"), diagram)
                }
            };
            render_one(&id, &diagram, graphviz)
        })
        .collect();
    clock.lap("diagrams laid out and drawn");
    let mut pipeline_svgs: Vec<Rendered> = vec![Rendered::Skipped; reach.len()];
    for (wanted, drawing) in wanted.iter().zip(&mut rendered) {
        if let PageDiagram::Pipeline(i) = *wanted {
            pipeline_svgs[i] = std::mem::replace(drawing, Rendered::Skipped);
        }
    }
    let overview_svg = std::mem::replace(&mut rendered[1], Rendered::Skipped);
    let teams_svg = std::mem::replace(&mut rendered[0], Rendered::Skipped);
    let data = ReportData {
        snapshot: analysis.snapshot,
        inventory,
        findings,
        reach: &reach,
        chains: &chains,
        owners,
        secrets_total: analysis.secrets.len(),
        teams_svg,
        overview_svg,
        pipeline_svgs,
        opts,
    };
    let page = page(&data);
    clock.lap("page written");
    let stats = ReportStats {
        pipelines: reach.len(),
        secrets: analysis.secrets.len(),
        findings: findings.findings.len(),
        diagrams: drawn.len() + 2,
        graphviz,
    };
    (page, stats)
}

const CSS: &str = r#"
:root{--fg:#0f172a;--muted:#64748b;--line:#e2e8f0;--bg:#ffffff;--soft:#f8fafc;--accent:#1d4ed8}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg)}
header{padding:20px 28px;background:#0f172a;color:#f8fafc}
header h1{margin:0 0 4px;font-size:22px}
header .meta{color:#cbd5e1;font-size:13px}
nav{position:sticky;top:0;z-index:2;background:#fff;border-bottom:1px solid var(--line);padding:8px 28px;display:flex;gap:18px;flex-wrap:wrap}
nav a{color:var(--accent);text-decoration:none;font-weight:600}
main{padding:8px 28px 40px;max-width:1600px}
section{margin-top:28px}
h2{font-size:19px;border-bottom:2px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:12px}
.card{border:1px solid var(--line);border-radius:8px;padding:10px 14px;background:var(--soft)}
.card .n{font-size:26px;font-weight:700}
.card .l{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.03em}
table{border-collapse:collapse;width:100%;margin:6px 0 12px;font-size:13px}
th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
th{background:var(--soft);position:sticky;top:37px;z-index:1}
th button{all:unset;cursor:pointer;font-weight:700}
th button::after{content:" \2195";color:var(--muted);font-weight:400}
th[aria-sort=ascending] button::after{content:" \2191"}
th[aria-sort=descending] button::after{content:" \2193"}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;overflow-wrap:anywhere}
.sev{display:inline-block;min-width:64px;text-align:center;border-radius:10px;padding:1px 8px;font-size:12px;font-weight:700;color:#fff}
.sev-critical{background:#7f1d1d}.sev-high{background:#dc2626}.sev-medium{background:#d97706}.sev-low{background:#2563eb}.sev-info{background:#64748b}
tr.suppressed td{opacity:.55}
.search{display:flex;gap:10px;align-items:center;margin:8px 0}
.search input{width:min(480px,100%);padding:6px 10px;border:1px solid #cbd5e1;border-radius:6px;font-size:14px}
.count{color:var(--muted);font-size:12px}
.diagram{border:1px solid var(--line);border-radius:8px;overflow:auto;max-height:85vh;background:#fff;padding:6px}
.diagram svg{max-width:none;height:auto}
.note{background:#fffbeb;border:1px solid #fde68a;border-radius:6px;padding:8px 12px}
details{border:1px solid var(--line);border-radius:8px;margin:8px 0;padding:6px 12px;background:#fff}
details>summary{cursor:pointer;font-weight:600}
.cross{color:#b91c1c;font-weight:600}
.muted{color:var(--muted)}
pre{white-space:pre-wrap;max-height:300px;overflow:auto;background:var(--soft);padding:8px;border-radius:6px}
ul.tight{margin:4px 0;padding-left:20px}
table.small{width:auto;min-width:320px}
"#;

const SCRIPT: &str = r#"
(function () {
  "use strict";
  var errors = [];
  window.addEventListener("error", function (e) {
    errors.push(String(e.message));
    document.body.setAttribute("data-js-errors", errors.join(" | "));
  });
  function norm(s) { return (s || "").toLowerCase(); }
  function applyFilter(input) {
    var table = document.getElementById(input.getAttribute("data-table"));
    if (!table || !table.tBodies.length) { return; }
    var terms = norm(input.value).split(/\s+/).filter(function (t) { return t.length > 0; });
    var rows = table.tBodies[0].rows;
    var shown = 0;
    for (var i = 0; i < rows.length; i++) {
      var text = norm(rows[i].textContent);
      var ok = terms.every(function (t) { return text.indexOf(t) >= 0; });
      rows[i].hidden = !ok;
      if (ok) { shown++; }
    }
    var count = document.getElementById(input.getAttribute("data-count"));
    if (count) { count.textContent = shown + " of " + rows.length + " shown"; }
    table.setAttribute("data-shown", String(shown));
  }
  function cellKey(row, col, numeric) {
    var cell = row.cells[col];
    if (!cell) { return numeric ? 0 : ""; }
    var k = cell.getAttribute("data-key");
    if (k === null) { k = cell.textContent; }
    return numeric ? (parseFloat(k) || 0) : norm(k);
  }
  function sortBy(th) {
    var table = th.closest("table");
    var col = Array.prototype.indexOf.call(th.parentNode.cells, th);
    var numeric = th.getAttribute("data-type") === "num";
    var asc = th.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(th.parentNode.cells, function (c) { c.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellKey(a, col, numeric), y = cellKey(b, col, numeric);
      var r = x < y ? -1 : (x > y ? 1 : 0);
      return asc ? r : -r;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  function params() {
    var out = {};
    var sources = [window.location.search.replace(/^\?/, ""), window.location.hash.replace(/^#/, "")];
    sources.forEach(function (s) {
      if (!s) { return; }
      new URLSearchParams(s).forEach(function (v, k) { out[k] = v; });
    });
    return out;
  }
  function init() {
    var p = params();
    document.querySelectorAll("input[data-table]").forEach(function (input) {
      var name = input.getAttribute("data-param");
      var v = p[name] !== undefined ? p[name] : (input.hasAttribute("data-global") ? p.q : undefined);
      if (v !== undefined) { input.value = v; }
      input.addEventListener("input", function () { applyFilter(input); });
      applyFilter(input);
    });
    document.querySelectorAll("th[data-sort] button").forEach(function (b) {
      b.addEventListener("click", function () { sortBy(b.parentNode); });
    });
    // sort=<table id>:<column>[:desc], e.g. sort=pipelines-table:4:desc
    if (p.sort) {
      var parts = p.sort.split(":");
      var table = document.getElementById(parts[0]);
      var th = table && table.tHead ? table.tHead.rows[0].cells[parseInt(parts[1], 10)] : null;
      if (th && th.hasAttribute("data-sort")) {
        sortBy(th);
        if (parts[2] === "desc") { sortBy(th); }
      }
    }
    document.body.setAttribute("data-ready", "1");
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
"#;

fn sev_badge(s: Severity) -> String {
    format!("<span class=\"sev sev-{0}\">{0}</span>", s.as_str())
}

fn sev_rank(s: Severity) -> u8 {
    match s {
        Severity::Critical => 5,
        Severity::High => 4,
        Severity::Medium => 3,
        Severity::Low => 2,
        Severity::Info => 1,
    }
}

fn th(label: &str, numeric: bool) -> String {
    format!(
        "<th data-sort{}{}><button type=\"button\">{}</button></th>",
        if numeric { " data-type=\"num\"" } else { "" },
        if numeric { " class=\"num\"" } else { "" },
        h(label)
    )
}

/// A search box over a table. `param` names the query-string (or `#`) parameter that fills it
/// on load; `global` boxes also take `q`.
fn search_box(table: &str, param: &str, placeholder: &str, global: bool) -> String {
    format!(
        "<div class=\"search\"><input type=\"search\" data-table=\"{table}\" data-param=\"{param}\"{} \
         data-count=\"{table}-count\" placeholder=\"{}\" aria-label=\"{}\"><span class=\"count\" \
         id=\"{table}-count\"></span></div>",
        if global { " data-global" } else { "" },
        h(placeholder),
        h(placeholder)
    )
}

fn diagram_html(r: &Rendered, what: &str) -> String {
    match r {
        Rendered::Svg(s) => format!(
            "<div class=\"diagram\" role=\"img\" aria-label=\"{}\">{s}</div>",
            h(what)
        ),
        Rendered::NoGraphviz(dot) => format!(
            "<p class=\"note\">Graphviz is not installed, so this diagram is not drawn: install it \
             (<code>apt-get install graphviz</code>) and run the report again, or render the DOT \
             source below with <code>dot -Tsvg</code>.</p><details><summary>DOT source of {}</summary>\
             <pre>{}</pre></details>",
            h(what),
            h(dot)
        ),
        Rendered::Failed(e, dot) => format!(
            "<p class=\"note\">Graphviz failed on this diagram: {}</p><details><summary>DOT \
             source</summary><pre>{}</pre></details>",
            h(e),
            h(dot)
        ),
        Rendered::Skipped => "<p class=\"muted\">Diagram not drawn (beyond --max-diagrams); \
             <code>blastmap dot --view pipeline</code> draws it.</p>"
            .to_string(),
    }
}

fn ns_label(ns: &str) -> String {
    if ns.is_empty() {
        "root".into()
    } else {
        ns.trim_end_matches('/').to_string()
    }
}

/// SHA-256 (FIPS 180-4), for the Content-Security-Policy hash of the inline script.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut state: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    let bits = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bits.to_be_bytes());
    for chunk in msg.chunks(64) {
        let mut schedule = [0u32; 64];
        for i in 0..16 {
            schedule[i] = u32::from_be_bytes([
                chunk[4 * i],
                chunk[4 * i + 1],
                chunk[4 * i + 2],
                chunk[4 * i + 3],
            ]);
        }
        for i in 16..64 {
            let sigma0 = schedule[i - 15].rotate_right(7)
                ^ schedule[i - 15].rotate_right(18)
                ^ (schedule[i - 15] >> 3);
            let sigma1 = schedule[i - 2].rotate_right(17)
                ^ schedule[i - 2].rotate_right(19)
                ^ (schedule[i - 2] >> 10);
            schedule[i] = schedule[i - 16]
                .wrapping_add(sigma0)
                .wrapping_add(schedule[i - 7])
                .wrapping_add(sigma1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = state;
        for i in 0..64 {
            let big_sigma1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let choose = (e & f) ^ (!e & g);
            let temp1 = hh
                .wrapping_add(big_sigma1)
                .wrapping_add(choose)
                .wrapping_add(K[i])
                .wrapping_add(schedule[i]);
            let big_sigma0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let temp2 = big_sigma0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(temp1);
            d = c;
            c = b;
            b = a;
            a = temp1.wrapping_add(temp2);
        }
        for (x, y) in state.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 32];
    for (i, v) in state.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&v.to_be_bytes());
    }
    out
}

/// Standard base64 with padding.
pub(crate) fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let bytes = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let triple = (u32::from(bytes[0]) << 16) | (u32::from(bytes[1]) << 8) | u32::from(bytes[2]);
        out.push(A[(triple >> 18) as usize & 63] as char);
        out.push(A[(triple >> 12) as usize & 63] as char);
        out.push(if c.len() > 1 {
            A[(triple >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if c.len() > 2 {
            A[triple as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

fn finding_rows(out: &mut String, findings: &[Finding]) {
    for f in findings {
        let _ = write!(
            out,
            "<tr{}><td data-key=\"{}\">{}{}</td><td><code>{}</code><br>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if f.suppressed.is_some() { " class=\"suppressed\"" } else { "" },
            sev_rank(f.severity),
            sev_badge(f.severity),
            match &f.suppressed {
                Some(s) => format!("<br><span class=\"muted\">suppressed: {}</span>", h(&s.reason)),
                None => String::new(),
            },
            h(&f.rule).replace('.', ".<wbr>").replace('-', "-<wbr>"),
            h(&f.title),
            h(&f.practice),
            h(&f.subject_label()),
            h(&f.message),
            h(&f.remediation),
        );
    }
}

/// The page.
pub(crate) fn page(d: &ReportData<'_>) -> String {
    let mut out = String::with_capacity(1 << 20);
    write_head(&mut out, d);
    let rows = pipeline_numbers(d);
    write_summary(&mut out, d);
    write_findings(&mut out, d);
    write_blast_radius(&mut out, d, &rows);
    write_diagrams(&mut out, d);
    write_pipelines(&mut out, d, &rows);
    write_gaps(&mut out, d);
    write_footer(&mut out, d);
    out
}

/// The document head, the header and the navigation.
fn write_head(o: &mut String, d: &ReportData<'_>) {
    let snap = d.snapshot;
    let script_hash = base64(&sha256(SCRIPT.as_bytes()));
    let cluster = snap
        .server
        .extra
        .get("cluster_name")
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string();
    let title = if cluster.is_empty() {
        format!("blastmap report: {}", snap.server.address)
    } else {
        format!("blastmap report: {cluster}")
    };
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; \
         style-src 'unsafe-inline'; script-src 'sha256-{script_hash}'; base-uri 'none'; form-action 'none'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"blastmap {}\">\n<title>{}</title>\n<style>{CSS}</style></head>\n<body>\n",
        env!("CARGO_PKG_VERSION"),
        h(&title)
    );
    // Header.
    let _ = writeln!(
        o,
        "<header><h1>{}</h1><div class=\"meta\">{} {} at {} · snapshot {} ({}, exported {}) · inventory {} · blastmap {}</div></header>",
        h(&title),
        h(snap.server.flavor.as_str()),
        h(&snap.server.version),
        h(&snap.server.address),
        h(&d.opts.snapshot_name),
        h(&format!("schema {}", snap.schema_version)),
        h(&snap.exported_at.to_string()),
        h(&d.opts.pipelines_name),
        env!("CARGO_PKG_VERSION"),
    );
    o.push_str(
        "<nav><a href=\"#summary\">Summary</a><a href=\"#findings\">Findings</a>\
         <a href=\"#blast-radius\">Blast radius</a><a href=\"#teams\">Teams diagram</a>\
         <a href=\"#overview\">Overview</a><a href=\"#pipelines\">Pipelines</a>\
         <a href=\"#gaps\">Coverage gaps and unknowns</a></nav>\n<main>\n",
    );
}

/// One pipeline's numbers, shown in the blast-radius table and its details.
struct PipelineNumbers {
    writable: usize,
    cross: usize,
    admitted: usize,
    unknown_logins: usize,
    esc: usize,
    esc_secrets: usize,
}

fn pipeline_numbers(d: &ReportData<'_>) -> Vec<PipelineNumbers> {
    d.reach
        .iter()
        .zip(d.chains)
        .map(|(p, c)| PipelineNumbers {
            writable: p
                .secrets
                .iter()
                .filter(|s| s.caps.intersects(WRITE))
                .count(),
            cross: p
                .secrets
                .iter()
                .filter(|s| {
                    d.owners
                        .is_cross_team(d.owners.of(s.secret_id), p.team.as_deref())
                })
                .count(),
            admitted: p
                .roles
                .iter()
                .filter(|r| r.verdict == crate::login::Verdict::Admitted)
                .count(),
            unknown_logins: p
                .roles
                .iter()
                .filter(|r| r.verdict == crate::login::Verdict::Unknown)
                .count(),
            esc: c.iter().filter(|c| c.gain != "none").count(),
            esc_secrets: c.iter().map(|c| c.secrets).max().unwrap_or(0),
        })
        .collect()
}

fn write_summary(o: &mut String, d: &ReportData<'_>) {
    let snap = d.snapshot;
    // Millions of (pipeline, secret) pairs on a large estate: one flag per secret of the index.
    let mut reachable = vec![false; d.secrets_total];
    let mut cross = vec![false; d.secrets_total];
    for p in d.reach {
        for s in &p.secrets {
            reachable[s.secret_id as usize] = true;
            if d.owners
                .is_cross_team(d.owners.of(s.secret_id), p.team.as_deref())
            {
                cross[s.secret_id as usize] = true;
            }
        }
    }
    let reachable_count = reachable.iter().filter(|&&flag| flag).count();
    let cross_count = cross.iter().filter(|&&flag| flag).count();
    let (by_sev, suppressed) = d.findings.counts();
    let unsuppressed: usize = by_sev.values().sum();
    let unknowns_total: usize = d.reach.iter().map(|p| p.unknowns.len()).sum();

    o.push_str("<section id=\"summary\"><h2>Summary</h2><div class=\"cards\">");
    for (n, l) in [
        (d.reach.len(), "pipelines"),
        (d.inventory.teams.len(), "teams"),
        (d.secrets_total, "secrets inventoried"),
        (reachable_count, "secrets reachable by some pipeline"),
        (cross_count, "reachable by another team's pipeline"),
        (unsuppressed, "findings (unsuppressed)"),
        (snap.coverage.len(), "coverage gaps"),
        (unknowns_total, "unknowns"),
    ] {
        let _ = write!(
            o,
            "<div class=\"card\"><div class=\"n\">{n}</div><div class=\"l\">{}</div></div>",
            h(l)
        );
    }
    o.push_str("</div>");
    o.push_str("<h3>Findings by severity</h3><table id=\"by-severity\" class=\"small\"><thead><tr><th>severity</th><th class=\"num\">findings</th></tr></thead><tbody>");
    for s in Severity::ALL.iter().rev() {
        let _ = write!(
            o,
            "<tr><td>{}</td><td class=\"num\">{}</td></tr>",
            sev_badge(*s),
            by_sev.get(s).copied().unwrap_or(0)
        );
    }
    let _ = write!(
        o,
        "<tr><td>suppressed</td><td class=\"num\">{suppressed}</td></tr></tbody></table>"
    );
    // By practice × severity.
    let mut practices: BTreeMap<&str, BTreeMap<Severity, usize>> = BTreeMap::new();
    for p in PRACTICES {
        practices.entry(p).or_default();
    }
    for f in &d.findings.findings {
        if f.suppressed.is_none() {
            *practices
                .entry(f.practice.as_str())
                .or_default()
                .entry(f.severity)
                .or_default() += 1;
        }
    }
    o.push_str("<h3>Findings by practice</h3><table id=\"by-practice\" class=\"small\"><thead><tr><th>practice</th>");
    for s in Severity::ALL.iter().rev() {
        let _ = write!(o, "<th class=\"num\">{}</th>", s.as_str());
    }
    o.push_str("<th class=\"num\">total</th></tr></thead><tbody>");
    for (p, m) in &practices {
        let _ = write!(o, "<tr><td>{}</td>", h(p));
        for s in Severity::ALL.iter().rev() {
            let _ = write!(
                o,
                "<td class=\"num\">{}</td>",
                m.get(s).copied().unwrap_or(0)
            );
        }
        let _ = write!(
            o,
            "<td class=\"num\">{}</td></tr>",
            m.values().sum::<usize>()
        );
    }
    o.push_str("</tbody></table></section>\n");
}

fn write_findings(o: &mut String, d: &ReportData<'_>) {
    let (_, suppressed) = d.findings.counts();
    let _ = write!(
        o,
        "<section id=\"findings\"><h2>Findings</h2><p class=\"muted\">{} findings ({} suppressed) from {} rules; \
         most severe first. Search matches every column (rule, subject, message, remediation).</p>{}",
        d.findings.findings.len(),
        suppressed,
        d.findings.rules.len(),
        search_box("findings-table", "findings", "Search findings…", true)
    );
    o.push_str("<table id=\"findings-table\"><thead><tr>");
    o.push_str(&th("severity", true));
    o.push_str(&th("rule", false));
    o.push_str(&th("practice", false));
    o.push_str(&th("subject", false));
    o.push_str(&th("finding", false));
    o.push_str(&th("remediation", false));
    o.push_str("</tr></thead><tbody>");
    finding_rows(o, &d.findings.findings);
    o.push_str("</tbody></table>");
    if d.findings.findings.is_empty() {
        o.push_str("<p>No findings.</p>");
    }
    o.push_str("</section>\n");
}

fn write_blast_radius(o: &mut String, d: &ReportData<'_>, rows: &[PipelineNumbers]) {
    let _ = write!(
        o,
        "<section id=\"blast-radius\"><h2>Blast radius per pipeline</h2><p class=\"muted\">What an \
         attacker holding each pipeline's credential can reach: the union over every role that \
         admits it. Click a column to sort; the name opens the pipeline's details.</p>{}",
        search_box("pipelines-table", "pipelines", "Search pipelines, teams, auth…", true)
    );
    o.push_str("<table id=\"pipelines-table\"><thead><tr>");
    for (l, n) in [
        ("pipeline", false),
        ("team", false),
        ("auth", false),
        ("roles admitted", true),
        ("secrets reachable", true),
        ("writable", true),
        ("other teams' secrets", true),
        ("escalation chains", true),
        ("largest escalation (secrets)", true),
        ("unknowns", true),
    ] {
        o.push_str(&th(l, n));
    }
    o.push_str("</tr></thead><tbody>");
    for (i, (p, r)) in d.reach.iter().zip(rows).enumerate() {
        let inv = d.inventory.pipeline(&p.name);
        let auth = inv
            .map(|x| {
                // A Kubernetes workload is marked beside CI pipelines, as in the diagrams.
                let consumer =
                    x.ci.as_ref()
                        .and_then(|c| c.consumer)
                        .map(|c| format!("k8s consumer ({}): ", c.as_str()))
                        .unwrap_or_default();
                format!(
                    "{consumer}{} {}auth/{}{}",
                    x.auth.method.as_str(),
                    x.auth.namespace_path(),
                    x.auth.mount_path().trim_end_matches('/'),
                    x.auth
                        .configured_role()
                        .map(|r| format!(" role {r}"))
                        .unwrap_or_else(|| " (no role configured)".into())
                )
            })
            .unwrap_or_default();
        let _ = write!(
            o,
            "<tr><td><a href=\"#p{i}\">{}</a></td><td>{}</td><td><code>{}</code></td>\
             <td class=\"num\">{}{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num{}\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            h(&p.name),
            h(p.team.as_deref().unwrap_or("—")),
            h(&auth),
            r.admitted + r.unknown_logins,
            if r.unknown_logins > 0 {
                format!(" <span class=\"muted\">({} undecided)</span>", r.unknown_logins)
            } else {
                String::new()
            },
            p.secrets.len(),
            r.writable,
            if r.cross > 0 { " cross" } else { "" },
            r.cross,
            r.esc,
            r.esc_secrets,
            p.unknowns.len(),
        );
    }
    o.push_str("</tbody></table></section>\n");
}

fn write_diagrams(o: &mut String, d: &ReportData<'_>) {
    let _ = writeln!(
        o,
        "<section id=\"teams\"><h2>Teams</h2><p class=\"muted\">One cluster per team and namespace: \
         its pipelines and the secrets it owns (grouped by prefix, with counts). Edges are \
         weighted by the number of secrets reached; red edges cross a team boundary.</p>{}</section>",
        diagram_html(&d.teams_svg, "teams diagram")
    );
    let _ = writeln!(
        o,
        "<section id=\"overview\"><h2>Estate overview</h2><p class=\"muted\">Every secret by \
         namespace, mount and path prefix, and each team's reach into it.</p>{}</section>",
        diagram_html(&d.overview_svg, "estate overview diagram")
    );
}

fn write_pipelines(o: &mut String, d: &ReportData<'_>, rows: &[PipelineNumbers]) {
    let per_pipeline_rows = (50_000 / d.reach.len().max(1)).clamp(20, 500);
    o.push_str("<section id=\"pipelines\"><h2>Pipelines</h2>");
    for (i, numbers) in rows.iter().enumerate() {
        write_pipeline(o, d, i, numbers, per_pipeline_rows);
    }
    o.push_str("</section>\n");
}

/// One pipeline's details: logins, secrets (at most `max_rows`), escalations, unknowns, diagram.
fn write_pipeline(
    o: &mut String,
    d: &ReportData<'_>,
    i: usize,
    r: &PipelineNumbers,
    max_rows: usize,
) {
    let reach = &d.reach[i];
    let team = match reach.team.as_deref() {
        Some(t) => format!("team {t}"),
        None => "no team".into(),
    };
    let _ = write!(
        o,
        "<details id=\"p{i}\"{}><summary>{} <span class=\"muted\">· {} · {} secrets, {} writable, \
         {} of other teams · {} escalation chains</span></summary>",
        if d.reach.len() <= 12 { " open" } else { "" },
        h(&reach.name),
        h(&team),
        reach.secrets.len(),
        r.writable,
        r.cross,
        r.esc
    );
    write_logins(o, reach);
    write_secrets(o, d, i, max_rows);
    write_escalations(o, &d.chains[i]);
    if !reach.unknowns.is_empty() {
        o.push_str("<h3>Unknowns</h3><ul class=\"tight\">");
        for u in &reach.unknowns {
            let _ = write!(o, "<li><b>{}</b>: {}</li>", h(u.kind), h(&u.detail));
        }
        o.push_str("</ul>");
    }
    o.push_str("<h3>Diagram</h3>");
    o.push_str(&diagram_html(
        &d.pipeline_svgs[i],
        &format!("blast radius of {}", reach.name),
    ));
    o.push_str("</details>\n");
}

fn write_logins(o: &mut String, p: &PipelineReach) {
    o.push_str("<h3>Logins</h3><table><thead><tr><th>role</th><th>verdict</th><th>why</th><th>policies</th></tr></thead><tbody>");
    for role in &p.roles {
        let pols: BTreeSet<String> = role
            .policies
            .iter()
            .map(|x| match &x.origin {
                PolicyOrigin::Role => x.name.clone(),
                PolicyOrigin::Entity { name, .. } => format!("{} (entity {name})", x.name),
                PolicyOrigin::Group { name, .. } => format!("{} (group {name})", x.name),
            })
            .collect();
        let _ = write!(
            o,
            "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            h(&format!(
                "{}auth/{}/role/{}",
                role.namespace, role.mount, role.role
            )),
            if role.configured {
                " <b>(configured)</b>"
            } else {
                ""
            },
            h(role.verdict.as_str()),
            h(&role.why),
            h(&pols.into_iter().collect::<Vec<_>>().join(", ")),
        );
    }
    o.push_str("</tbody></table>");
}

fn write_secrets(o: &mut String, d: &ReportData<'_>, i: usize, max_rows: usize) {
    let reach = &d.reach[i];
    let _ = write!(o, "<h3>Secrets ({})</h3>", reach.secrets.len());
    let sid = format!("secrets-p{i}");
    o.push_str(&search_box(
        &sid,
        &format!("s{i}"),
        "Search these secrets…",
        false,
    ));
    let _ = write!(o, "<table id=\"{sid}\"><thead><tr>");
    o.push_str(&th("secret", false));
    o.push_str(&th("capabilities", false));
    o.push_str(&th("owner", false));
    o.push_str(&th("via (role → policy → rule)", false));
    o.push_str("</tr></thead><tbody>");
    for s in reach.secrets.iter().take(max_rows) {
        let owner = d.owners.of(s.secret_id);
        let cross = d.owners.is_cross_team(owner, reach.team.as_deref());
        let via: BTreeSet<String> = s
            .via
            .iter()
            .map(|v| format!("{} → {} \"{}\" (line {})", v.role, v.policy, v.rule, v.line))
            .collect();
        let _ = write!(
            o,
            "<tr><td><code>{}</code></td><td>{}</td><td{}>{}</td><td>{}</td></tr>",
            h(&format!("{}{}", s.namespace, s.path)),
            h(&s.capabilities.join(", ")),
            if cross { " class=\"cross\"" } else { "" },
            h(owner.unwrap_or("—")),
            via.iter().map(|v| h(v)).collect::<Vec<_>>().join("<br>"),
        );
    }
    o.push_str("</tbody></table>");
    if reach.secrets.len() > max_rows {
        let _ = write!(
            o,
            "<p class=\"muted\">{} more secrets not listed; <code>blastmap reach --pipeline …</code> lists them all.</p>",
            reach.secrets.len() - max_rows
        );
    }
}

fn write_escalations(o: &mut String, chains: &[EscChain]) {
    if !chains.is_empty() {
        let _ = write!(
            o,
            "<h3>Escalation chains ({})</h3><ul class=\"tight\">",
            chains.len()
        );
        for c in chains.iter().take(20) {
            let steps: Vec<String> = c
                .steps
                .iter()
                .map(|s| format!("{} on {}{}", s.kind, s.namespace, s.path))
                .collect();
            let end = match c.gain {
                "login" => format!("a new login reaching {} secrets", c.secrets),
                "any-policy" => format!("any policy of the namespace: {} secrets", c.secrets),
                "full-namespace" => format!(
                    "full control of namespace {}: {} secrets",
                    ns_label(c.namespace.as_deref().unwrap_or("")),
                    c.secrets
                ),
                _ => "no new reach modelled (persistence, tampering)".to_string(),
            };
            let roles: Vec<String> = c.roles.iter().map(|(_, m, r)| format!("{m}/{r}")).collect();
            let _ = write!(
                o,
                "<li>from {}: {} → <b>{}</b></li>",
                h(&roles.join(", ")),
                h(&steps.join(" → ")),
                h(&end)
            );
        }
        if chains.len() > 20 {
            let _ = write!(o, "<li class=\"muted\">… {} more</li>", chains.len() - 20);
        }
        o.push_str("</ul>");
    }
}

fn write_gaps(o: &mut String, d: &ReportData<'_>) {
    let snap = d.snapshot;
    o.push_str("<section id=\"gaps\"><h2>Coverage gaps and unknowns</h2>");
    let _ = write!(
        o,
        "<h3>Coverage gaps of the export ({})</h3><p class=\"muted\">Endpoints the export could not \
         read: what depends on them is reported as unknown, never as \"no access\".</p>",
        snap.coverage.len()
    );
    o.push_str("<table id=\"coverage-table\"><thead><tr><th>namespace</th><th>endpoint</th><th>operation</th><th>status</th><th>affects</th><th>reason</th></tr></thead><tbody>");
    for g in &snap.coverage {
        let _ = write!(
            o,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            h(&ns_label(&g.namespace)),
            h(&g.endpoint),
            h(&g.operation),
            g.status.map(|s| s.to_string()).unwrap_or_else(|| "—".into()),
            h(g.affects.as_str()),
            h(g.reason.trim()),
        );
    }
    o.push_str("</tbody></table>");
    let mut unknowns: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for p in d.reach {
        for u in &p.unknowns {
            unknowns
                .entry((u.kind, u.detail.as_str()))
                .or_default()
                .push(p.name.as_str());
        }
    }
    let _ = write!(
        o,
        "<h3>Unknowns ({})</h3><p class=\"muted\">What the analysis could not decide offline, and the \
         pipelines it concerns.</p>{}",
        unknowns.len(),
        search_box("unknowns-table", "unknowns", "Search unknowns…", true)
    );
    o.push_str("<table id=\"unknowns-table\"><thead><tr>");
    o.push_str(&th("kind", false));
    o.push_str(&th("detail", false));
    o.push_str(&th("pipelines", false));
    o.push_str("</tr></thead><tbody>");
    for ((kind, detail), ps) in &unknowns {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            h(kind),
            h(detail),
            h(&ps.join(", "))
        );
    }
    o.push_str("</tbody></table></section>\n");
}

fn write_footer(o: &mut String, d: &ReportData<'_>) {
    let _ = write!(
        o,
        "</main><footer class=\"muted\" style=\"padding:12px 28px\">Generated by blastmap {} from \
         {} and {}. The page loads nothing from the network.</footer>\n<script>{SCRIPT}</script>\n</body></html>\n",
        env!("CARGO_PKG_VERSION"),
        h(&d.opts.snapshot_name),
        h(&d.opts.pipelines_name),
    );
}
