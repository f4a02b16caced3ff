//! Differential test of the ACL engine against a real OpenBao server.
//!
//! Random policy sets (1–4 policies, 1–8 rules each) over a small shared alphabet, so that rules
//! collide, are written to one OpenBao dev server; a token holding the accepted policies (and no
//! default policy) is asked `sys/capabilities` on random paths, and `blastmap capabilities` must
//! give the same answer for every pair. A policy the server refuses must be refused by blastmap
//! too.
//!
//! Knobs (environment):
//! * `BLASTMAP_DIFF_SEED`: the seed (decimal or `0x` hex); default [`DEFAULT_SEED`].
//! * `BLASTMAP_DIFF_PAIRS`: how many (policy set, path) pairs to compare; default
//!   [`DEFAULT_PAIRS`].
//! * `BLASTMAP_DIFF_SERVER_ONLY=1`: exercise the generator and the server only, without blastmap.
//! * `BLASTMAP_DIFF_KEEP=<dir>`: keep every set in `<dir>/setNNNNN/`: the policy files,
//!   `paths.txt`, the server's answers in `expected.json` (blastmap's `--format json` shape,
//!   without `granted_by`) and, per refused policy, `<name>.refused` with the server's reason.
//!
//! Run alone: `cargo test --test suite differential:: -- --nocapture`.

use crate::common;

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use common::BaoServer;
use serde_json::Value;

const DEFAULT_SEED: u64 = 0x00b1_a57a_9c11_2026;
const DEFAULT_PAIRS: usize = 20_000;
/// Mismatching sets reported in full in the failure message.
const REPORTED_SETS: usize = 5;

// ---------------------------------------------------------------------------------------------
// PRNG

/// splitmix64: small, fast, and good enough to drive a generator.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn pick_str(&mut self, items: &[&'static str]) -> &'static str {
        items[self.below(items.len())]
    }
}

// ---------------------------------------------------------------------------------------------
// Generator

/// Path segments shared by patterns and queried paths; `a`, `ab`, `abc` exercise prefix globs.
const SEGS: &[&str] = &["secret", "data", "a", "b", "ab", "abc", "x"];
const CAPS: &[&str] = &[
    "create", "read", "update", "delete", "list", "sudo", "patch", "scan",
];
const LEGACY: &[&str] = &["read", "write", "sudo", "deny"];

#[derive(Clone, Debug)]
enum AttrValue {
    Str(String),
    Int(i64),
    List(Vec<String>),
    /// `{ "key" = [values] }`
    Map(Vec<(String, Vec<String>)>),
}

#[derive(Clone, Debug)]
struct Rule {
    pattern: String,
    /// Attributes in order; a key may repeat (duplicated attributes are accepted by the server).
    attrs: Vec<(String, AttrValue)>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Layout {
    /// One attribute per line.
    Multi,
    /// Each block on one line, attributes separated by spaces.
    OneLine,
    /// Each block on one line, attributes separated by commas.
    Commas,
    /// `{"path": {"<p>": {...}}}`
    Json,
}

/// A way to make the server refuse a policy (the server has the last word: some of them are
/// accepted after all, e.g. a bad TTL after `deny`).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Breakage {
    PlusStar,
    UnknownCapability,
    UppercaseCapability,
    UnknownPathKey,
    UnknownTopKey,
    WrongCaseCapabilities,
    BadMinTtl,
    MaxBelowMin,
    UnclosedBrace,
    BadLegacyPolicy,
    CapabilitiesAsString,
}

const BREAKAGES: &[Breakage] = &[
    Breakage::PlusStar,
    Breakage::UnknownCapability,
    Breakage::UppercaseCapability,
    Breakage::UnknownPathKey,
    Breakage::UnknownTopKey,
    Breakage::WrongCaseCapabilities,
    Breakage::BadMinTtl,
    Breakage::MaxBelowMin,
    Breakage::UnclosedBrace,
    Breakage::BadLegacyPolicy,
    Breakage::CapabilitiesAsString,
];

#[derive(Clone, Debug)]
struct Policy {
    name: String,
    text: String,
    /// Set when the generator tried to make the server refuse it.
    breakage: Option<Breakage>,
}

impl Policy {
    fn file_name(&self) -> String {
        let json = self.text.trim_start().starts_with('{');
        format!("{}.{}", self.name, if json { "json" } else { "hcl" })
    }
}

fn gen_pattern(rng: &mut Rng) -> String {
    let roll = rng.below(100);
    if roll < 4 {
        return "*".into();
    }
    if roll < 6 {
        return "+".into();
    }
    if roll < 7 {
        return "+/*".into();
    }
    let n = rng.range(1, 4);
    let mut segs: Vec<String> = (0..n)
        .map(|_| {
            if rng.chance(20) {
                "+".to_string()
            } else {
                rng.pick(SEGS).to_string()
            }
        })
        .collect();
    match rng.below(12) {
        // exact, or segment wildcards only
        0..=3 => {}
        // trailing `*` in the last segment: `secret/data/a*` (or `+/*` after a `+`)
        4..=5 => {
            let last = segs.last_mut().unwrap();
            if last == "+" {
                segs.push("*".into());
            } else {
                last.push('*');
            }
        }
        // `.../*`
        6..=7 => segs.push("*".into()),
        // trailing slash
        8 => segs.push(String::new()),
        // `x*` as a new last segment (`+/x*`)
        9 => segs.push(format!("{}*", rng.pick(SEGS))),
        // trailing `+`, sometimes followed by `/*`
        10 => {
            segs.push("+".into());
            if rng.chance(50) {
                segs.push("*".into());
            }
        }
        // a `*` that is not at the end: a literal character
        _ => {
            let i = rng.below(segs.len());
            if segs[i] != "+" {
                segs[i].push('*');
                segs.push(rng.pick(SEGS).to_string());
            }
        }
    }
    let mut p = segs.join("/");
    if rng.chance(10) {
        p.insert(0, '/');
    }
    // `+*` is refused by the server; only [`Breakage::PlusStar`] may produce it.
    p.replace("+*", "+/*")
}

fn gen_caps(rng: &mut Rng) -> Vec<String> {
    let n = match rng.below(10) {
        0 => 0,
        1..=4 => 1,
        5..=7 => 2,
        _ => rng.range(3, 6),
    };
    let mut caps: Vec<String> = (0..n).map(|_| rng.pick(CAPS).to_string()).collect();
    if rng.chance(12) {
        let at = rng.below(caps.len() + 1);
        caps.insert(at, "deny".into());
    }
    caps
}

fn gen_rule(rng: &mut Rng, pool: &mut Vec<String>) -> Rule {
    let pattern = if !pool.is_empty() && rng.chance(30) {
        let p = rng.pick(pool).clone();
        // The same rule written with and without a leading slash normalises to one pattern.
        match (rng.chance(15), p.strip_prefix('/')) {
            (true, Some(stripped)) => stripped.to_string(),
            (true, None) => format!("/{p}"),
            _ => p,
        }
    } else {
        gen_pattern(rng)
    };
    pool.push(pattern.clone());

    let mut attrs = Vec::new();
    let legacy = rng.chance(15);
    if !legacy || rng.chance(50) {
        if rng.chance(3) {
            // Accepted: parsing stops at the first `deny`.
            attrs.push((
                "capabilities".into(),
                AttrValue::List(vec!["read".into(), "deny".into(), "banana".into()]),
            ));
        } else {
            attrs.push(("capabilities".into(), AttrValue::List(gen_caps(rng))));
        }
    }
    if legacy {
        attrs.push((
            "policy".into(),
            AttrValue::Str(rng.pick(LEGACY).to_string()),
        ));
    }
    // Duplicated attributes: `capabilities` lists are concatenated, `policy` is the last one.
    if rng.chance(6) {
        if rng.chance(70) {
            attrs.push(("capabilities".into(), AttrValue::List(gen_caps(rng))));
        } else {
            attrs.push((
                "policy".into(),
                AttrValue::Str(rng.pick(LEGACY).to_string()),
            ));
        }
    }
    // Accepted attributes that do not change capabilities.
    if rng.chance(8) {
        attrs.push(("comment".into(), AttrValue::Str("generated rule".into())));
    }
    if rng.chance(5) {
        attrs.push(("min_wrapping_ttl".into(), AttrValue::Int(60)));
        attrs.push(("max_wrapping_ttl".into(), AttrValue::Str("1h".into())));
    }
    if rng.chance(5) {
        attrs.push((
            "allowed_parameters".into(),
            AttrValue::Map(vec![
                ("foo".into(), vec![]),
                ("bar".into(), vec!["x".into(), "y*".into()]),
            ]),
        ));
    }
    if rng.chance(4) {
        attrs.push((
            "denied_parameters".into(),
            AttrValue::Map(vec![("baz".into(), vec![])]),
        ));
        attrs.push((
            "required_parameters".into(),
            AttrValue::List(vec!["foo".into()]),
        ));
    }
    // Keep attribute order random too.
    if attrs.len() > 1 && rng.chance(30) {
        let i = rng.below(attrs.len());
        let j = rng.below(attrs.len());
        attrs.swap(i, j);
    }
    Rule { pattern, attrs }
}

fn break_rules(rng: &mut Rng, rules: &mut [Rule], how: Breakage) {
    let i = rng.below(rules.len());
    let rule = &mut rules[i];
    match how {
        Breakage::PlusStar => {
            rule.pattern = match rng.below(3) {
                0 => "secret/+*".into(),
                1 => format!("{}/a+*", rng.pick(SEGS)),
                _ => "+*".into(),
            }
        }
        Breakage::UnknownCapability => rule.attrs.insert(
            0,
            (
                "capabilities".into(),
                AttrValue::List(vec!["read".into(), "banana".into()]),
            ),
        ),
        Breakage::UppercaseCapability => rule.attrs.insert(
            0,
            ("capabilities".into(), AttrValue::List(vec!["READ".into()])),
        ),
        Breakage::UnknownPathKey => rule
            .attrs
            .push(("foo".into(), AttrValue::Str("bar".into()))),
        Breakage::WrongCaseCapabilities => rule
            .attrs
            .push(("Capabilities".into(), AttrValue::List(vec!["read".into()]))),
        Breakage::BadMinTtl => rule
            .attrs
            .push(("min_wrapping_ttl".into(), AttrValue::Str("abc".into()))),
        Breakage::MaxBelowMin => {
            rule.attrs
                .push(("min_wrapping_ttl".into(), AttrValue::Str("2h".into())));
            rule.attrs
                .push(("max_wrapping_ttl".into(), AttrValue::Str("1h".into())));
        }
        Breakage::BadLegacyPolicy => rule
            .attrs
            .push(("policy".into(), AttrValue::Str("list".into()))),
        Breakage::CapabilitiesAsString => rule
            .attrs
            .insert(0, ("capabilities".into(), AttrValue::Str("read".into()))),
        // Applied to the rendered text.
        Breakage::UnknownTopKey | Breakage::UnclosedBrace => {}
    }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

fn hcl_value(v: &AttrValue, rng: &mut Rng) -> String {
    match v {
        AttrValue::Str(s) => quote(s),
        AttrValue::Int(i) => i.to_string(),
        AttrValue::List(items) => {
            let sep = if rng.chance(50) { ", " } else { "," };
            let mut s = format!(
                "[{}",
                items.iter().map(|c| quote(c)).collect::<Vec<_>>().join(sep)
            );
            if !items.is_empty() && rng.chance(10) {
                s.push(',');
            }
            s.push(']');
            s
        }
        AttrValue::Map(entries) => {
            let inner: Vec<String> = entries
                .iter()
                .map(|(k, vals)| {
                    format!(
                        "{} = {}",
                        quote(k),
                        hcl_value(&AttrValue::List(vals.clone()), rng)
                    )
                })
                .collect();
            format!("{{ {} }}", inner.join(" "))
        }
    }
}

fn json_value(v: &AttrValue) -> String {
    match v {
        AttrValue::Str(s) => quote(s),
        AttrValue::Int(i) => i.to_string(),
        AttrValue::List(items) => format!(
            "[{}]",
            items
                .iter()
                .map(|c| quote(c))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        AttrValue::Map(entries) => format!(
            "{{{}}}",
            entries
                .iter()
                .map(|(k, vals)| format!(
                    "{}: {}",
                    quote(k),
                    json_value(&AttrValue::List(vals.clone()))
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn comment(rng: &mut Rng) -> &'static str {
    rng.pick_str(&["# a comment", "// another comment", "/* block comment */"])
}

fn render_hcl(rules: &[Rule], layout: Layout, rng: &mut Rng) -> String {
    let mut out = String::new();
    if rng.chance(20) {
        let _ = writeln!(out, "{}", comment(rng));
    }
    if rng.chance(5) {
        out.push_str("name = \"ignored\"\n");
    }
    for rule in rules {
        match layout {
            Layout::Multi => {
                let _ = writeln!(out, "path {} {{", quote(&rule.pattern));
                for (k, v) in &rule.attrs {
                    if rng.chance(10) {
                        let _ = writeln!(out, "  {}", comment(rng));
                    }
                    let _ = writeln!(out, "  {k} = {}", hcl_value(v, rng));
                }
                out.push_str("}\n");
            }
            Layout::OneLine | Layout::Commas => {
                let sep = if layout == Layout::Commas { ", " } else { " " };
                let attrs: Vec<String> = rule
                    .attrs
                    .iter()
                    .map(|(k, v)| format!("{k} = {}", hcl_value(v, rng)))
                    .collect();
                let _ = write!(
                    out,
                    "path {} {{ {} }}",
                    quote(&rule.pattern),
                    attrs.join(sep)
                );
                if rng.chance(10) {
                    out.push_str(" /* inline */");
                }
                out.push('\n');
            }
            Layout::Json => unreachable!(),
        }
        if rng.chance(15) {
            let _ = writeln!(out, "{}", comment(rng));
        }
        if rng.chance(30) {
            out.push('\n');
        }
    }
    out
}

fn render_json(rules: &[Rule], rng: &mut Rng) -> String {
    // Duplicate pattern keys are kept: the server's JSON decoder sees every one of them.
    let blocks: Vec<String> = rules
        .iter()
        .map(|r| {
            let attrs: Vec<String> = r
                .attrs
                .iter()
                .map(|(k, v)| format!("{}: {}", quote(k), json_value(v)))
                .collect();
            format!("{}: {{{}}}", quote(&r.pattern), attrs.join(", "))
        })
        .collect();
    if rng.chance(50) {
        format!("{{\"path\": {{{}}}}}\n", blocks.join(", "))
    } else {
        format!(
            "{{\n  \"path\": {{\n    {}\n  }}\n}}\n",
            blocks.join(",\n    ")
        )
    }
}

fn gen_policy(rng: &mut Rng, name: String, pool: &mut Vec<String>) -> Policy {
    let n_rules = rng.range(1, 8);
    let mut rules: Vec<Rule> = (0..n_rules).map(|_| gen_rule(rng, pool)).collect();
    let layout = match rng.below(10) {
        0..=3 => Layout::Multi,
        4..=5 => Layout::OneLine,
        6..=7 => Layout::Commas,
        _ => Layout::Json,
    };
    let breakage = rng.chance(10).then(|| *rng.pick(BREAKAGES));
    if let Some(b) = breakage {
        break_rules(rng, &mut rules, b);
    }
    let mut text = if layout == Layout::Json {
        render_json(&rules, rng)
    } else {
        render_hcl(&rules, layout, rng)
    };
    match breakage {
        Some(Breakage::UnknownTopKey) => {
            if layout == Layout::Json {
                let end = text.rfind('}').unwrap();
                text.replace_range(end..end, ", \"foo\": \"bar\"");
            } else {
                text.push_str("foo = \"bar\"\n");
            }
        }
        Some(Breakage::UnclosedBrace) => {
            let end = text.rfind('}').unwrap();
            text.replace_range(end..end + 1, "");
        }
        _ => {}
    }
    Policy {
        name,
        text,
        breakage,
    }
}

/// A path to query, likely to hit one of `patterns`.
fn gen_path(rng: &mut Rng, patterns: &[String]) -> String {
    let mut p = if !patterns.is_empty() && rng.chance(55) {
        // Instantiate a pattern: `+` becomes a segment, a trailing `*` some suffix.
        let pat = rng.pick(patterns).trim_start_matches('/').to_string();
        let mut segs: Vec<String> = pat
            .split('/')
            .map(|s| match s {
                "+" => {
                    if rng.chance(5) {
                        String::new()
                    } else {
                        rng.pick(SEGS).to_string()
                    }
                }
                _ => s.to_string(),
            })
            .collect();
        if let Some(last) = segs.last_mut() {
            if let Some(stem) = last.strip_suffix('*') {
                *last = match rng.below(4) {
                    0 => stem.to_string(),
                    1 => format!("{stem}c"),
                    2 => format!("{stem}{}", rng.pick(SEGS)),
                    _ => format!("{stem}/{}", rng.pick(SEGS)),
                };
            }
        }
        let mut p = segs.join("/");
        match rng.below(6) {
            0 => p.push('/'),
            1 => {
                p = p.trim_end_matches('/').to_string();
            }
            2 => {
                p.push('/');
                p.push_str(rng.pick_str(SEGS));
            }
            _ => {}
        }
        p
    } else {
        let n = rng.range(1, 5);
        let mut p = (0..n)
            .map(|_| *rng.pick(SEGS))
            .collect::<Vec<_>>()
            .join("/");
        if rng.chance(25) {
            p.push('/');
        }
        p
    };
    if rng.chance(3) {
        // Queried paths are literal: a `*` or `+` in them is an ordinary character.
        p.push_str(rng.pick_str(&["*", "+", "/*", "/+"]));
    }
    if rng.chance(10) {
        p.insert(0, '/');
    }
    if rng.chance(2) {
        p.insert(0, '/');
    }
    if p.is_empty() {
        // The server refuses an empty path ("missing path") for the whole request.
        p = "/".into();
    }
    p
}

// ---------------------------------------------------------------------------------------------
// blastmap

struct BlastmapAnswer {
    path: String,
    capabilities: Vec<String>,
    granted_by: Value,
}

fn blastmap() -> Command {
    Command::new(env!("CARGO_BIN_EXE_blastmap"))
}

fn policy_file_args(cmd: &mut Command, files: &[PathBuf]) {
    for f in files {
        cmd.arg("--policy-file").arg(f);
    }
}

/// `blastmap capabilities --policy-file ... --paths-file ... --format json`.
fn blastmap_capabilities(
    files: &[PathBuf],
    paths_file: &Path,
) -> Result<Vec<BlastmapAnswer>, String> {
    let mut cmd = blastmap();
    cmd.arg("capabilities");
    policy_file_args(&mut cmd, files);
    cmd.arg("--paths-file")
        .arg(paths_file)
        .args(["--format", "json"]);
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run blastmap: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!(
            "blastmap exited with {}; stderr:\n{stderr}",
            out.status
        ));
    }
    let v: Value = serde_json::from_str(&stdout)
        .map_err(|e| format!("stdout is not JSON ({e}):\n{stdout}\nstderr:\n{stderr}"))?;
    let arr = v
        .as_array()
        .ok_or_else(|| format!("stdout is not a JSON array:\n{stdout}"))?;
    arr.iter()
        .map(|o| {
            let path = o["path"]
                .as_str()
                .ok_or_else(|| format!("entry without a string \"path\": {o}"))?;
            let caps = o["capabilities"]
                .as_array()
                .ok_or_else(|| format!("entry without a \"capabilities\" array: {o}"))?
                .iter()
                .map(|c| {
                    c.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| format!("capability is not a string: {o}"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(BlastmapAnswer {
                path: path.to_string(),
                capabilities: caps,
                granted_by: o.get("granted_by").cloned().unwrap_or(Value::Null),
            })
        })
        .collect()
}

/// Does blastmap refuse this single policy file? `Err` describes an acceptance.
fn blastmap_refuses(file: &Path) -> Result<(), String> {
    let out = blastmap()
        .arg("capabilities")
        .arg("--policy-file")
        .arg(file)
        .args(["--path", "a", "--format", "json"])
        .output()
        .map_err(|e| format!("cannot run blastmap: {e}"))?;
    if out.status.success() {
        Err(format!(
            "blastmap accepted it (exit 0); stdout:\n{}",
            String::from_utf8_lossy(&out.stdout)
        ))
    } else if out.stderr.is_empty() {
        Err(format!(
            "blastmap refused it ({}) but gave no reason on stderr",
            out.status
        ))
    } else {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The test

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    let parsed = match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => v.parse(),
    };
    Some(parsed.unwrap_or_else(|e| panic!("{name}={v:?} is not a number: {e}")))
}

fn show_policies(policies: &[&Policy]) -> String {
    let mut s = String::new();
    for p in policies {
        let _ = writeln!(s, "--- policy {} ({}):", p.name, p.file_name());
        s.push_str(&p.text);
        if !p.text.ends_with('\n') {
            s.push('\n');
        }
    }
    s
}

#[test]
fn differential_capabilities_against_openbao() {
    let seed = env_u64("BLASTMAP_DIFF_SEED").unwrap_or(DEFAULT_SEED);
    let target_pairs = env_u64("BLASTMAP_DIFF_PAIRS")
        .map(|n| n as usize)
        .unwrap_or(DEFAULT_PAIRS);
    let server_only = std::env::var("BLASTMAP_DIFF_SERVER_ONLY").is_ok_and(|v| v == "1");
    let started = Instant::now();

    let server = BaoServer::start();
    let tmp = tempfile::tempdir().unwrap();
    let keep = std::env::var_os("BLASTMAP_DIFF_KEEP").map(PathBuf::from);
    let work: &Path = match &keep {
        Some(dir) => {
            std::fs::create_dir_all(dir).unwrap();
            dir
        }
        None => tmp.path(),
    };
    let mut rng = Rng::new(seed);

    let mut pairs = 0usize;
    let mut sets = 0usize;
    let mut policies_total = 0usize;
    let mut refused_by_both = 0usize;
    let mut broken_but_accepted = 0usize;
    let mut granted_pairs = 0usize;
    let mut mismatched_pairs = 0usize;
    let mut failures: Vec<String> = Vec::new();
    let mut failed_sets = 0usize;

    while pairs < target_pairs {
        let set = sets;
        sets += 1;
        let set_dir = work.join(format!("set{set:05}"));
        std::fs::create_dir_all(&set_dir).unwrap();

        let mut pool = Vec::new();
        let policies: Vec<Policy> = (0..rng.range(1, 4))
            .map(|i| gen_policy(&mut rng, format!("s{set:05}p{i}"), &mut pool))
            .collect();
        policies_total += policies.len();

        let mut accepted: Vec<&Policy> = Vec::new();
        let mut files = Vec::new();
        let mut set_failures = Vec::new();
        for p in &policies {
            let file = set_dir.join(p.file_name());
            std::fs::write(&file, &p.text).unwrap();
            match server.try_write_policy(&p.name, &p.text) {
                Ok(()) => {
                    if p.breakage.is_some() {
                        broken_but_accepted += 1;
                    }
                    accepted.push(p);
                    files.push(file);
                }
                Err(e) if e.status == 400 => {
                    if keep.is_some() {
                        std::fs::write(set_dir.join(format!("{}.refused", p.name)), e.message())
                            .unwrap();
                    }
                    if server_only {
                        refused_by_both += 1;
                        continue;
                    }
                    match blastmap_refuses(&file) {
                        Ok(()) => refused_by_both += 1,
                        Err(why) => set_failures.push(format!(
                            "the server refuses policy {} ({})\n{}but {why}",
                            p.name,
                            e.message(),
                            show_policies(&[p])
                        )),
                    }
                }
                Err(e) => panic!("unexpected answer writing policy {}: {e}", p.name),
            }
        }

        if !accepted.is_empty() {
            let names: Vec<&str> = accepted.iter().map(|p| p.name.as_str()).collect();
            let token = server.create_token(&names, true);
            let n_paths = rng.range(20, 60);
            let paths: Vec<String> = (0..n_paths).map(|_| gen_path(&mut rng, &pool)).collect();
            let path_refs: Vec<&str> = paths.iter().map(String::as_str).collect();
            let expected = server.capabilities(&token, &path_refs);
            if keep.is_some() {
                std::fs::write(set_dir.join("paths.txt"), paths.join("\n") + "\n").unwrap();
                let answers: Vec<Value> = paths
                    .iter()
                    .zip(&expected)
                    .map(|(p, c)| serde_json::json!({"path": p, "capabilities": c}))
                    .collect();
                std::fs::write(
                    set_dir.join("expected.json"),
                    serde_json::to_string_pretty(&answers).unwrap(),
                )
                .unwrap();
            }
            pairs += paths.len();
            granted_pairs += expected.iter().filter(|c| c[..] != ["deny"]).count();

            if !server_only {
                let paths_file = set_dir.join("paths.txt");
                std::fs::write(&paths_file, paths.join("\n") + "\n").unwrap();
                match blastmap_capabilities(&files, &paths_file) {
                    Err(why) => {
                        // Find the policy blastmap refuses, if one is.
                        let mut detail = String::new();
                        for (p, f) in accepted.iter().zip(&files) {
                            if blastmap_refuses(f).is_ok() {
                                let _ = writeln!(
                                    detail,
                                    "blastmap refuses policy {} that the server accepts",
                                    p.name
                                );
                            }
                        }
                        mismatched_pairs += paths.len();
                        set_failures.push(format!("{detail}{why}"));
                    }
                    Ok(answers) if answers.len() != paths.len() => {
                        mismatched_pairs += paths.len();
                        set_failures.push(format!(
                            "blastmap answered {} entries for {} paths",
                            answers.len(),
                            paths.len()
                        ));
                    }
                    Ok(answers) => {
                        let mut lines = Vec::new();
                        for ((path, want), got) in paths.iter().zip(&expected).zip(&answers) {
                            if got.capabilities != *want || got.path != *path {
                                mismatched_pairs += 1;
                                lines.push(format!(
                                    "  path {path:?}: server {want:?}, blastmap {:?} \
                                     (path echoed {:?}, granted_by {})",
                                    got.capabilities, got.path, got.granted_by
                                ));
                            }
                        }
                        if !lines.is_empty() {
                            let n = lines.len();
                            lines.truncate(15);
                            set_failures.push(format!(
                                "{n} of {} paths differ:\n{}{}",
                                paths.len(),
                                lines.join("\n"),
                                if n > 15 { "\n  ..." } else { "" }
                            ));
                        }
                    }
                }
            }
        }

        if !set_failures.is_empty() {
            failed_sets += 1;
            if failures.len() < REPORTED_SETS {
                failures.push(format!(
                    "=== set {set} (seed {seed:#x}, BLASTMAP_DIFF_SEED={seed:#x} reproduces it)\n{}{}",
                    show_policies(&policies.iter().collect::<Vec<_>>()),
                    set_failures.join("\n")
                ));
            }
        }
    }

    let summary = format!(
        "differential (seed {seed:#x}): {pairs} pairs compared in {sets} policy sets \
         ({granted_pairs} granted something), {policies_total} policies, {refused_by_both} \
         refused by {}, {broken_but_accepted} deliberately broken ones accepted by the server; \
         {mismatched_pairs} pairs differ in {failed_sets} sets; {:.1}s{}",
        if server_only { "the server" } else { "both" },
        started.elapsed().as_secs_f64(),
        if server_only {
            " (BLASTMAP_DIFF_SERVER_ONLY: blastmap not run)"
        } else {
            ""
        }
    );
    // Written straight to stderr so that it shows even when the test passes.
    let _ = writeln!(std::io::stderr(), "{summary}");
    assert!(
        failures.is_empty(),
        "blastmap disagrees with OpenBao.\n{summary}\n\n{}",
        failures.join("\n\n")
    );
    assert!(pairs >= target_pairs);
}

// ---------------------------------------------------------------------------------------------
// Server facts the ACL engine relies on, and the harness itself.

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// What `sys/capabilities` answers, as observed on OpenBao 2.7.2; blastmap must match all of it.
#[test]
fn sys_capabilities_behaviour() {
    let server = BaoServer::start();
    server.write_policy(
        "facts",
        r#"
        path "secret/*" { capabilities = ["update", "read", "scan", "list", "create", "patch", "sudo", "delete"] }
        path "a/b" { capabilities = ["deny"] }
        path "c" { capabilities = ["read"] }
        path "" { capabilities = ["list"] }
        "#,
    );
    let token = server.create_token(&["facts"], true);
    let all = strings(&[
        "create", "delete", "list", "patch", "read", "scan", "sudo", "update",
    ]);
    let deny = strings(&["deny"]);
    let caps = server.capabilities(
        &token,
        &[
            "secret/x",   // sorted alphabetically by the server
            "/secret/x",  // leading slashes are stripped...
            "//secret/x", // ...all of them
            "a/b",
            "a/b/", // exact rule reached through the list fallback (trailing slash trimmed)
            "c/",
            "c//", // only one trailing slash is trimmed
            "zzz",
            "/",         // "" after stripping: matches the rule for the empty path
            " secret/x", // surrounding whitespace is trimmed by the server
        ],
    );
    assert_eq!(
        caps,
        vec![
            all.clone(),
            all.clone(),
            all.clone(),
            deny.clone(),
            deny.clone(),
            strings(&["read"]),
            deny.clone(),
            deny.clone(),
            strings(&["list"]),
            all.clone(),
        ]
    );

    // The raw answer: one key per path in `data` (and at the top level); with a single path
    // `capabilities` too.
    let raw = server.post(
        "sys/capabilities",
        &serde_json::json!({"token": token, "paths": ["c"]}),
    );
    assert_eq!(raw["data"]["c"], serde_json::json!(["read"]));
    assert_eq!(raw["data"]["capabilities"], serde_json::json!(["read"]));
    assert_eq!(raw["c"], serde_json::json!(["read"]));

    // An empty path fails the whole request.
    let err = server
        .client()
        .try_post(
            "sys/capabilities",
            &serde_json::json!({"token": token, "paths": ["c", ""]}),
        )
        .unwrap_err();
    assert_eq!(err.status, 400, "{err}");
    assert!(err.message().contains("missing path"), "{err}");

    // More than 997 paths (1,000 JSON strings) is refused; the helper batches.
    let many: Vec<String> = (0..1200).map(|i| format!("secret/{i}")).collect();
    let err = server
        .client()
        .try_post(
            "sys/capabilities",
            &serde_json::json!({"token": token, "paths": many}),
        )
        .unwrap_err();
    assert!(
        err.message().contains("exceeded maximum number of strings"),
        "{err}"
    );
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let caps = server.capabilities(&token, &refs);
    assert_eq!(caps.len(), 1200);
    assert!(caps.iter().all(|c| *c == all));

    // The root token has `root`.
    assert_eq!(
        server.capabilities(server.root_token(), &["anything"]),
        vec![strings(&["root"])]
    );
}

fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

fn group_alive(pgid: u32) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("kill -0 -{pgid}"))
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn harness_stops_the_server_on_drop_and_on_panic() {
    let server = BaoServer::start();
    let (port, pgid) = (server.port(), server.process_group());
    assert!(port_open(port) && group_alive(pgid));
    drop(server);
    wait_until("the server is gone after drop", || {
        !port_open(port) && !group_alive(pgid)
    });

    let (tx, rx) = std::sync::mpsc::channel();
    let result = std::panic::catch_unwind(move || {
        let server = BaoServer::start_with_config("unsafe_allow_api_audit_creation = true\n");
        // The extra configuration is in force: audit devices can be created through the API.
        let log = server.dir().join("audit.log");
        server.put(
            "sys/audit/file",
            &serde_json::json!({"type": "file", "options": {"file_path": log}}),
        );
        tx.send((server.port(), server.process_group())).unwrap();
        panic!("test panic with a running server");
    });
    assert!(result.is_err());
    let (port, pgid) = rx.recv().unwrap();
    wait_until("the server is gone after a panic", || {
        !port_open(port) && !group_alive(pgid)
    });
}
