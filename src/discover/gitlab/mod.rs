//! GitLab CI: `.gitlab-ci.yml` with its local `include:`s.
//!
//! A job is a pipeline when it has Vault `secrets:` or its scripts call `vault`/`bao` or the
//! HTTP API. The login is GitLab's: an ID token (`id_tokens`, its `aud`) presented to the JWT
//! mount `VAULT_AUTH_PATH` (default `jwt`) with role `VAULT_AUTH_ROLE`, in `VAULT_NAMESPACE`,
//! resolved from `variables:` (global, then job); the token's claims per ref the job runs on.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use yaml_serde::{Mapping, Value};

mod include;
mod inputs;
mod job;
mod tags;
mod variants;
mod vars;

use super::yaml::{entries, get, scalar, strings, Seg, YamlFile};
use super::{DiscoverError, Discovery, Options, Result, Val};
use job::{analyze_job, JobSource};
use vars::Variables;

const RESERVED: &[&str] = &[
    "default",
    "include",
    "stages",
    "variables",
    "workflow",
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
    "types",
    "spec",
];

/// Where something is: the file when it is not the job's own, and the line.
#[derive(Debug, Clone, Default)]
struct At {
    file: Option<String>,
    line: Option<usize>,
}

struct Config {
    files: Vec<YamlFile>,
    /// Top-level keys merged over the files (later files win), with the file defining each job.
    top: Mapping,
    origin: BTreeMap<String, usize>,
}

pub fn discover(
    file: &Path,
    project: Option<&str>,
    opts: &Options,
    out: &mut Discovery,
) -> Result<()> {
    let root = file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let project = match project {
        Some(p) => p.trim_matches('/').to_string(),
        None => infer_project(&root).ok_or_else(|| DiscoverError::UnknownProject {
            file: file.to_path_buf(),
        })?,
    };
    if !project.contains('/') {
        return Err(DiscoverError::ProjectSyntax { project });
    }
    let reading = Reading {
        root: &root,
        file,
        project: &project,
        opts,
    };
    let first = out.pipelines.len();
    let conditional = reading.read(None, out)?;
    variants::add_variants(&reading, &conditional, first, out)
}

/// One `.gitlab-ci.yml` to read, and what every reading of it shares.
struct Reading<'a> {
    root: &'a Path,
    file: &'a Path,
    project: &'a str,
    opts: &'a Options,
}

impl Reading<'_> {
    /// Read the configuration, leaving out the conditional include at `without` when given,
    /// and discover its jobs into `out`. Returns the conditional includes met.
    fn read(&self, without: Option<&str>, out: &mut Discovery) -> Result<Vec<ConditionalInclude>> {
        let mut loader = Loader {
            root: self.root,
            cfg: Config {
                files: Vec::new(),
                top: Mapping::new(),
                origin: BTreeMap::new(),
            },
            seen: BTreeSet::new(),
            without,
            conditional: Vec::new(),
            out,
        };
        loader.load(Loading {
            path: self.file,
            shown: &self.file.display().to_string(),
            inputs: None,
            depth: 0,
        })?;
        let conditional = loader.conditional;
        let mut cfg = loader.cfg;
        let (top, unresolved) = tags::resolve_tags(&cfg.top);
        cfg.top = top;
        note_unresolved(&cfg, &unresolved, out);
        let top = Value::Mapping(cfg.top.clone());
        let default = get(&top, "default").cloned().unwrap_or(Value::Null);
        note_default_secrets(&default, &cfg, out);
        let merged = Merged {
            cfg: &cfg,
            global_vars: Variables::of(get(&top, "variables")),
            default,
            top: &top,
            unresolved: &unresolved,
            project: self.project,
        };
        let jobs: Vec<String> = entries(&top)
            .into_iter()
            .filter(|(k, v)| {
                !RESERVED.contains(&k.as_str()) && !k.starts_with('.') && v.is_mapping()
            })
            .map(|(k, _)| k)
            .collect();
        for name in jobs {
            read_job(&merged, &name, self.opts, out);
        }
        Ok(conditional)
    }
}

/// An `include:` entry with `rules:`: whether GitLab reads it depends on the pipeline.
#[derive(Debug, Clone)]
struct ConditionalInclude {
    /// The entry's place, `file:line`, which tells it apart from every other entry.
    at: String,
    pattern: String,
    /// The `rules:` as one line of JSON.
    rules: String,
}

/// The configuration once read and merged, and what every job shares.
struct Merged<'a> {
    cfg: &'a Config,
    top: &'a Value,
    global_vars: Variables,
    default: Value,
    unresolved: &'a [tags::Unresolved],
    project: &'a str,
}

fn note_unresolved(cfg: &Config, unresolved: &[tags::Unresolved], out: &mut Discovery) {
    for u in unresolved {
        let file = cfg
            .origin
            .get(&u.owner)
            .map(|&i| cfg.files[i].name.as_str());
        let mut path = vec![u.owner.as_str()];
        path.extend(u.path.iter().map(String::as_str));
        out.notes.push(format!(
            "{}: `{}`: {}; left dynamic",
            file.unwrap_or(""),
            path.join("."),
            u.reason
        ));
    }
}

/// One job: `extends:`, `default:` and variables applied, what could not be read gathered,
/// then analysed.
fn read_job(merged: &Merged<'_>, name: &str, opts: &Options, out: &mut Discovery) {
    let cfg = merged.cfg;
    let mut missing = Vec::new();
    let (job, chain) = resolve(cfg, name, 0, &mut missing);
    let inherited = Inherited::of(&job);
    let job = with_default(job, &merged.default, &inherited);
    let vars = Variables::for_job(&merged.global_vars, &job);
    let fidx = cfg.origin.get(name).copied().unwrap_or(cfg.files.len() - 1);
    let jfile = &cfg.files[fidx];
    for gap in &missing {
        out.notes.push(format!(
            "{}: job `{name}`: {gap}; what it would give is dynamic",
            jfile.name
        ));
    }
    // Tags left unresolved in the job, its templates, or what it inherits.
    let mut owners: Vec<&str> = chain.iter().map(String::as_str).collect();
    if inherited.default_keys.is_some() {
        owners.push("default");
    }
    if inherited.variables {
        owners.push("variables");
    }
    let gaps = Gaps {
        unresolved: merged
            .unresolved
            .iter()
            .filter(|u| owners.contains(&u.owner.as_str()))
            .cloned()
            .collect(),
        missing_extends: missing,
    };
    let locate = |sub: &[Seg]| -> At {
        for n in &chain {
            let file = &cfg.files[cfg.origin.get(n).copied().unwrap_or(0)];
            let mut key_path = vec![Seg::Key(n)];
            key_path.extend_from_slice(sub);
            let deep = file.line(&key_path);
            let shallow = file.line(&[Seg::Key(n)]);
            if deep.is_some() && deep != shallow || sub.is_empty() {
                return At {
                    file: (file.name != jfile.name).then(|| file.name.clone()),
                    line: deep,
                };
            }
        }
        At {
            file: None,
            line: jfile.line(&[Seg::Key(name)]),
        }
    };
    let source = JobSource {
        name,
        job: &job,
        vars: &vars,
        gaps: &gaps,
        locate: &locate,
        file: jfile,
        main: &cfg.files[cfg.files.len() - 1],
        top: merged.top,
        project: merged.project,
    };
    analyze_job(&source, opts, out);
}

/// GitLab's `default:` has no `secrets:` (the server refuses the configuration): say so
/// rather than silently ignore it or invent an inheritance.
fn note_default_secrets(default: &Value, cfg: &Config, out: &mut Discovery) {
    if get(default, "secrets").is_some() {
        let file = cfg
            .origin
            .get("default")
            .map(|&i| cfg.files[i].name.as_str())
            .unwrap_or("");
        out.notes.push(format!(
            "{file}: `default: secrets:` is not a GitLab keyword (jobs do not inherit it): not read"
        ));
    }
}

/// What a job could not get from the configuration: tags not resolved and `extends:` of
/// templates not found.
#[derive(Debug, Default)]
pub(super) struct Gaps {
    pub unresolved: Vec<tags::Unresolved>,
    pub missing_extends: Vec<String>,
}

fn infer_project(root: &Path) -> Option<String> {
    let mut dir = Some(root);
    while let Some(d) = dir {
        if let Ok(cfg) = std::fs::read_to_string(d.join(".git/config")) {
            let url = cfg
                .lines()
                .map(str::trim)
                .filter_map(|l| l.strip_prefix("url"))
                .map(|l| l.trim_start().trim_start_matches('=').trim().to_string())
                .find(|u| u.contains("gitlab"))?;
            let tail = if let Some((_, t)) = url.split_once("://") {
                t.split_once('/').map(|x| x.1.to_string())?
            } else {
                url.split_once(':').map(|x| x.1.to_string())?
            };
            return Some(tail.trim_end_matches(".git").trim_matches('/').to_string());
        }
        dir = d.parent();
    }
    None
}

/// Includes nest at most this deep; deeper ones are noted and not read.
const MAX_INCLUDE_DEPTH: usize = 20;

/// One file to read into the configuration.
struct Loading<'a> {
    path: &'a Path,
    shown: &'a str,
    /// The including entry's `inputs:`, for the file's `spec:` header.
    inputs: Option<&'a Value>,
    depth: usize,
}

/// Where the files are read from, and what has been read.
struct Loader<'a> {
    root: &'a Path,
    cfg: Config,
    seen: BTreeSet<PathBuf>,
    /// The conditional include left out of this reading (its `at`), if any.
    without: Option<&'a str>,
    /// The conditional includes met, in the order read.
    conditional: Vec<ConditionalInclude>,
    out: &'a mut Discovery,
}

impl Loader<'_> {
    /// Read one file: its header's inputs interpolated, its includes first (the including
    /// file's keys win), then its keys merged in.
    fn load(&mut self, file: Loading<'_>) -> Result<()> {
        let canon = file
            .path
            .canonicalize()
            .unwrap_or_else(|_| file.path.to_path_buf());
        if !self.seen.insert(canon) {
            return Ok(()); // GitLab includes a file once
        }
        let text = std::fs::read_to_string(file.path).map_err(|source| DiscoverError::Read {
            shown: file.shown.to_string(),
            source,
        })?;
        let split = inputs::split_header(&text);
        let mut set_aside = Vec::new();
        let mut yaml =
            YamlFile::parse_setting_aside_tagged_merges(&split.body, file.shown, &mut |merge| {
                set_aside.push(merge)
            })?;
        for merge in set_aside {
            self.out.notes.push(format!(
                "{}: {merge}: a YAML merge key cannot take a tagged value; the keys it would merge are missing from that mapping",
                file.shown
            ));
        }
        let mut values = inputs::Inputs::of(split.header.as_ref(), file.inputs);
        values.interpolate(&mut yaml.value, 0);
        self.note_inputs(file.shown, &values);
        if !(yaml.value.is_mapping() || yaml.value.is_null()) {
            return Err(DiscoverError::NotAGitlabConfiguration {
                shown: file.shown.to_string(),
            });
        }
        let entries_with_line: Vec<(Value, Option<usize>)> = match get(&yaml.value, "include") {
            Some(Value::Sequence(s)) => s
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let line = yaml.line(&[Seg::Key("include"), Seg::Item(i)]);
                    (v.clone(), line)
                })
                .collect(),
            Some(v) => vec![(v.clone(), yaml.line(&[Seg::Key("include")]))],
            None => Vec::new(),
        };
        for (entry, line) in entries_with_line {
            let at = format!("{}:{}", file.shown, line.unwrap_or(0));
            self.include(&at, &entry, file.depth)?;
        }
        self.merge(yaml);
        Ok(())
    }

    fn note_inputs(&mut self, shown: &str, values: &inputs::Inputs) {
        if !values.unset.is_empty() {
            self.out.notes.push(format!(
                "{shown}: inputs without a default, given when the pipeline is created: {}; the fields built from them are dynamic",
                values.unset.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        if !values.unreadable.is_empty() {
            self.out.notes.push(format!(
                "{shown}: `$[[ inputs.… ]]` not evaluated (not declared in `spec: inputs:`, or with functions): {}; left dynamic",
                values.unreadable.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
    }

    /// One `include:` entry: a local file (or the files a wildcard matches) is read; anything
    /// else, or a file that cannot be read, is noted and the rest of the configuration read.
    fn include(&mut self, at: &str, entry: &Value, depth: usize) -> Result<()> {
        let (pattern, given_inputs, rules) = match include::Include::of(entry) {
            include::Include::Local {
                pattern,
                inputs,
                rules,
            } => (pattern, inputs, rules),
            include::Include::Elsewhere { kind, what } => {
                self.out.notes.push(format!(
                    "{at}: include {what} ({kind}) is fetched by the GitLab server: not read; jobs and templates it defines are missing"
                ));
                return Ok(());
            }
            include::Include::Unknown { what } => {
                self.out
                    .notes
                    .push(format!("{at}: include {what}: unknown form, not read"));
                return Ok(());
            }
        };
        if super::is_expression(&pattern) {
            self.out.notes.push(format!(
                "{at}: include {pattern:?} is built from variables: not read"
            ));
            return Ok(());
        }
        if depth >= MAX_INCLUDE_DEPTH {
            self.out.notes.push(format!(
                "{at}: include {pattern:?}: includes nest deeper than {MAX_INCLUDE_DEPTH} levels: not read"
            ));
            return Ok(());
        }
        if let Some(rules) = &rules {
            if self.without == Some(at) {
                return Ok(());
            }
            // One line, in JSON's flow form, so that it reads in a note and in one field.
            let rules = serde_json::to_string(rules).unwrap_or_default();
            self.out.notes.push(format!(
                "{at}: include {pattern:?} is conditional ({rules}): the jobs it changes are read both with and without it (`ci.conditions`)"
            ));
            self.conditional.push(ConditionalInclude {
                at: at.to_string(),
                pattern: pattern.clone(),
                rules,
            });
        }
        let paths = if pattern.contains('*') {
            let found = include::expand_wildcard(self.root, &pattern);
            if found.is_empty() {
                self.out
                    .notes
                    .push(format!("{at}: include {pattern:?} matches no file"));
            }
            found
        } else {
            vec![self.root.join(pattern.trim_start_matches('/'))]
        };
        for path in paths {
            self.include_file(at, &pattern, &path, given_inputs.as_ref(), depth)?;
        }
        Ok(())
    }

    fn include_file(
        &mut self,
        at: &str,
        pattern: &str,
        path: &Path,
        given_inputs: Option<&Value>,
        depth: usize,
    ) -> Result<()> {
        match super::confine(self.root, path) {
            super::Confined::Outside => {
                self.out.notes.push(format!(
                    "{at}: include {pattern:?} lies outside the repository {}: not read",
                    super::shown_path(self.root)
                ));
                Ok(())
            }
            super::Confined::Inside(real) if real.is_file() => {
                let shown = path.display().to_string();
                self.load(Loading {
                    path,
                    shown: &shown,
                    inputs: given_inputs,
                    depth: depth + 1,
                })
            }
            _ => {
                self.out.notes.push(format!(
                    "{at}: include {pattern:?} not found (looked for {}): not read; jobs and templates it defines are missing",
                    super::shown_path(path)
                ));
                Ok(())
            }
        }
    }

    fn merge(&mut self, y: YamlFile) {
        let cfg = &mut self.cfg;
        let idx = cfg.files.len();
        for (k, v) in entries(&y.value) {
            if k == "include" {
                continue;
            }
            let key = Value::String(k.clone());
            let merged = match cfg.top.get(&key) {
                Some(old)
                    if !RESERVED.contains(&k.as_str()) || k == "variables" || k == "default" =>
                {
                    deep_merge(old, v)
                }
                _ => v.clone(),
            };
            cfg.top.insert(key, merged);
            cfg.origin.insert(k, idx);
        }
        cfg.files.push(y);
    }
}

/// GitLab's deep merge: mappings merge key by key, anything else is replaced.
fn deep_merge(base: &Value, over: &Value) -> Value {
    match (base, over) {
        (Value::Mapping(b), Value::Mapping(o)) => {
            let mut merged = b.clone();
            for (k, v) in o {
                let merged_value = match merged.get(k) {
                    Some(old) => deep_merge(old, v),
                    None => v.clone(),
                };
                merged.insert(k.clone(), merged_value);
            }
            Value::Mapping(merged)
        }
        _ => over.clone(),
    }
}

/// A job with its `extends` applied; also the chain of names it was built from (the job
/// first), for line look-ups. A parent that is not there, or a chain too deep or looping, is
/// recorded in `missing` and the job built from the rest.
fn resolve(
    cfg: &Config,
    name: &str,
    depth: usize,
    missing: &mut Vec<String>,
) -> (Value, Vec<String>) {
    let job = cfg.top.get(name).cloned().unwrap_or(Value::Null);
    let parents = get(&job, "extends").map(strings).unwrap_or_default();
    let mut base = Value::Mapping(Mapping::new());
    let mut chain = vec![name.to_string()];
    for p in &parents {
        if depth >= MAX_EXTENDS_DEPTH {
            missing.push(format!(
                "`extends: {p}` nests deeper than {MAX_EXTENDS_DEPTH} levels (or loops): not followed"
            ));
            continue;
        }
        if !cfg.top.get(p.as_str()).is_some_and(Value::is_mapping) {
            missing.push(format!(
                "`extends: {p}`: no such job or hidden job in the files read"
            ));
            continue;
        }
        let (pv, pc) = resolve(cfg, p, depth + 1, missing);
        base = deep_merge(&base, &pv);
        chain.extend(pc);
    }
    let mut merged = deep_merge(&base, &job);
    if let Value::Mapping(m) = &mut merged {
        m.remove("extends");
    }
    (merged, chain)
}

/// GitLab follows `extends:` this many levels deep.
const MAX_EXTENDS_DEPTH: usize = 11;

/// The keys of `default:` that jobs inherit.
const DEFAULT_KEYS: &[&str] = &[
    "id_tokens",
    "before_script",
    "after_script",
    "artifacts",
    "image",
    "services",
    "hooks",
];

/// What a job inherits (`inherit:`): which `default:` keys, and whether global variables.
struct Inherited {
    /// `None`: none (`inherit: default: false`).
    default_keys: Option<Vec<String>>,
    variables: bool,
}

impl Inherited {
    fn of(job: &Value) -> Inherited {
        let inherit = get(job, "inherit");
        let default_keys = match inherit.and_then(|i| get(i, "default")) {
            Some(Value::Bool(false)) => None,
            Some(Value::Sequence(keys)) => Some(keys.iter().filter_map(scalar).collect()),
            _ => Some(DEFAULT_KEYS.iter().map(|k| k.to_string()).collect()),
        };
        let variables = !matches!(
            inherit.and_then(|i| get(i, "variables")),
            Some(Value::Bool(false))
        );
        Inherited {
            default_keys,
            variables,
        }
    }
}

fn with_default(mut job: Value, default: &Value, inherited: &Inherited) -> Value {
    let Some(keys) = &inherited.default_keys else {
        return job;
    };
    if let (Value::Mapping(j), Value::Mapping(d)) = (&mut job, default) {
        for k in DEFAULT_KEYS.iter().filter(|k| keys.iter().any(|x| x == *k)) {
            if !j.contains_key(*k) {
                if let Some(v) = d.get(*k) {
                    j.insert(Value::String(k.to_string()), v.clone());
                }
            }
        }
    }
    job
}

/// Script lines (`before_script`, `script`, `after_script`) with their key and index.
fn scripts(job: &Value) -> Vec<(&'static str, usize, String)> {
    let mut out = Vec::new();
    for key in ["before_script", "script", "after_script"] {
        match get(job, key) {
            Some(Value::Sequence(s)) => {
                for (i, item) in s.iter().enumerate() {
                    match item {
                        Value::Sequence(inner) => {
                            for x in inner.iter().filter_map(scalar) {
                                out.push((key, i, x));
                            }
                        }
                        other => {
                            if let Some(x) = scalar(other) {
                                out.push((key, i, x));
                            }
                        }
                    }
                }
            }
            Some(other) => {
                if let Some(x) = scalar(other) {
                    out.push((key, 0, x));
                }
            }
            None => {}
        }
    }
    out
}

/// Where a job runs: `(pipeline source, ref (short name), ref_type)`.
#[derive(Debug, Clone)]
struct Run {
    source: Val,
    ref_: Val,
    ref_type: Option<&'static str>,
}

impl Run {
    fn label(&self) -> String {
        match (&self.ref_, &self.source) {
            (Val::Known(r), _) => format!("{}:{r}", self.ref_type.unwrap_or("ref")),
            (Val::Dynamic(_), Val::Known(s)) => s.clone(),
            _ => self.ref_type.unwrap_or("any").to_string(),
        }
    }
}

fn quoted(s: &str) -> Option<String> {
    let trimmed = s.trim();
    let quote = trimmed.chars().next()?;
    if quote != '"' && quote != '\'' {
        return None;
    }
    let rest = &trimmed[1..];
    let end = rest.find(quote)?;
    Some(rest[..end].to_string())
}

/// Parentheses nested deeper than this in a `rules: if:` are not taken apart.
const MAX_CONDITION_DEPTH: usize = 16;

/// The alternatives of a `rules: if:` condition: its `||` operands at the top level, each
/// wholly parenthesised operand taken apart in turn. An `||` inside parentheses, a quoted
/// string or a `/regex/` belongs to its operand: `$A == "x" || ($S == "push" && ($T == "a" ||
/// $T == "b"))` has two alternatives, the second a push pipeline.
fn alternatives(cond: &str, depth: usize) -> Vec<String> {
    let mut out = Vec::new();
    for operand in top_level_or(cond) {
        let operand = operand.trim();
        match unwrap_parentheses(operand) {
            Some(inner) if depth < MAX_CONDITION_DEPTH => {
                out.extend(alternatives(inner, depth + 1))
            }
            _ => out.push(operand.to_string()),
        }
    }
    out
}

/// `cond` split at each `||` outside parentheses, quotes and regular expressions.
fn top_level_or(cond: &str) -> Vec<&str> {
    let bytes = cond.as_bytes();
    let (mut parts, mut start, mut depth) = (Vec::new(), 0, 0usize);
    let mut closing: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match closing {
            Some(_) if b == b'\\' => i += 1,
            Some(end) if b == end => closing = None,
            Some(_) => {}
            None => match b {
                b'"' | b'\'' => closing = Some(b),
                b'/' if cond[..i].trim_end().ends_with('~') => closing = Some(b'/'),
                b'(' => depth += 1,
                b')' => depth = depth.saturating_sub(1),
                b'|' if depth == 0 && bytes.get(i + 1) == Some(&b'|') => {
                    parts.push(&cond[start..i]);
                    start = i + 2;
                    i += 1;
                }
                _ => {}
            },
        }
        i += 1;
    }
    parts.push(&cond[start..]);
    parts
}

/// The inside of `(…)` when the parentheses enclose the whole operand.
fn unwrap_parentheses(operand: &str) -> Option<&str> {
    let inner = operand.strip_prefix('(')?.strip_suffix(')')?;
    let mut depth = 0usize;
    for b in inner.bytes() {
        match b {
            b'(' => depth += 1,
            b')' if depth == 0 => return None,
            b')' => depth -= 1,
            _ => {}
        }
    }
    (depth == 0).then_some(inner)
}

fn runs(job: &Value, top: &Value, opts: &Options) -> Vec<Run> {
    let default_branch = || match &opts.default_branch {
        Some(b) => Val::Known(b.clone()),
        None => Val::Dynamic("$CI_DEFAULT_BRANCH (pass --default-branch)".into()),
    };
    let branch = |b: Val| Run {
        source: Val::Known("push".into()),
        ref_: b,
        ref_type: Some("branch"),
    };
    let mut out: Vec<Run> = Vec::new();
    let rules = get(job, "rules")
        .or_else(|| get(top, "workflow").and_then(|w| get(w, "rules")))
        .and_then(Value::as_sequence);
    if let Some(rules) = rules {
        for r in rules {
            if get(r, "when").and_then(scalar).as_deref() == Some("never") {
                continue;
            }
            let Some(cond) = get(r, "if").and_then(scalar) else {
                out.push(Run {
                    source: Val::Dynamic("any pipeline source".into()),
                    ref_: Val::Dynamic("any ref".into()),
                    ref_type: None,
                });
                continue;
            };
            for trimmed in alternatives(&cond, 0) {
                let trimmed = trimmed.as_str();
                let value_of = |var: &str| -> Option<String> {
                    let start = trimmed.find(&format!("{var} =="))?;
                    quoted(&trimmed[start + var.len() + 3..])
                };
                if let Some(b) =
                    value_of("$CI_COMMIT_BRANCH").or_else(|| value_of("$CI_COMMIT_REF_NAME"))
                {
                    out.push(branch(Val::of(&b)));
                } else if [
                    "$CI_COMMIT_BRANCH==$CI_DEFAULT_BRANCH",
                    "$CI_COMMIT_REF_NAME==$CI_DEFAULT_BRANCH",
                ]
                .iter()
                .any(|x| trimmed.replace(' ', "").contains(x))
                {
                    out.push(branch(default_branch()));
                } else if trimmed.contains("$CI_COMMIT_TAG") {
                    out.push(Run {
                        source: Val::Known("push".into()),
                        ref_: Val::Dynamic(format!("a tag ({trimmed})")),
                        ref_type: Some("tag"),
                    });
                } else if let Some(src) = value_of("$CI_PIPELINE_SOURCE") {
                    let merge_request = src == "merge_request_event";
                    out.push(Run {
                        ref_: if merge_request {
                            Val::Dynamic("the merge request's source branch".into())
                        } else if src == "schedule" {
                            default_branch()
                        } else {
                            Val::Dynamic(format!("the ref of the {src} pipeline"))
                        },
                        source: Val::Known(src),
                        ref_type: Some("branch"),
                    });
                } else if trimmed.contains("$CI_COMMIT_BRANCH") {
                    out.push(branch(Val::Dynamic(format!("a branch matching {trimmed}"))));
                } else {
                    out.push(Run {
                        source: Val::Dynamic(format!("pipelines where {trimmed}")),
                        ref_: Val::Dynamic(format!("refs where {trimmed}")),
                        ref_type: None,
                    });
                }
            }
        }
    } else if let Some(only) = get(job, "only") {
        let refs = match only {
            Value::Mapping(_) => get(only, "refs").map(strings).unwrap_or_default(),
            other => strings(other),
        };
        for r in refs {
            match r.as_str() {
                "tags" => out.push(Run {
                    source: Val::Known("push".into()),
                    ref_: Val::Dynamic("any tag".into()),
                    ref_type: Some("tag"),
                }),
                "branches" => out.push(branch(Val::Dynamic("any branch".into()))),
                "merge_requests" => out.push(Run {
                    source: Val::Known("merge_request_event".into()),
                    ref_: Val::Dynamic("the merge request's source branch".into()),
                    ref_type: Some("branch"),
                }),
                "schedules" => out.push(Run {
                    source: Val::Known("schedule".into()),
                    ref_: default_branch(),
                    ref_type: Some("branch"),
                }),
                r if r.starts_with('/') => {
                    out.push(branch(Val::Dynamic(format!("a ref matching {r}"))))
                }
                r => out.push(branch(Val::Known(r.to_string()))),
            }
        }
    }
    if out.is_empty() {
        out.push(Run {
            source: Val::Dynamic("any pipeline source".into()),
            ref_: Val::Dynamic("any branch or tag".into()),
            ref_type: None,
        });
    }
    let mut seen = BTreeSet::new();
    out.retain(|r| seen.insert(r.label()));
    out
}
