//! GitLab CI: `.gitlab-ci.yml` with its local `include:`s.
//!
//! A job is a pipeline when it has Vault `secrets:` or its scripts call `vault`/`bao` or the
//! HTTP API. The login is GitLab's: an ID token (`id_tokens`, its `aud`) presented to the JWT
//! mount `VAULT_AUTH_PATH` (default `jwt`) with role `VAULT_AUTH_ROLE`, in `VAULT_NAMESPACE`,
//! resolved from `variables:` (global, then job); the token's claims per ref the job runs on.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use yaml_serde::{Mapping, Value};

mod job;

use super::yaml::{entries, get, scalar, strings, Seg, YamlFile};
use super::{DiscoverError, Discovery, Options, Result, Val};
use job::{analyze_job, JobSource};

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
    let mut cfg = Config {
        files: Vec::new(),
        top: Mapping::new(),
        origin: BTreeMap::new(),
    };
    let mut seen = BTreeSet::new();
    load(
        &root,
        file,
        &file.display().to_string(),
        &mut cfg,
        &mut seen,
        out,
        0,
    )?;

    let top = Value::Mapping(cfg.top.clone());
    let global_vars = variables(get(&top, "variables"));
    let default = get(&top, "default").cloned().unwrap_or(Value::Null);
    let main = &cfg.files[cfg.files.len() - 1];

    let jobs: Vec<String> = entries(&top)
        .into_iter()
        .filter(|(k, v)| !RESERVED.contains(&k.as_str()) && !k.starts_with('.') && v.is_mapping())
        .map(|(k, _)| k)
        .collect();
    for name in jobs {
        let (job, chain) = resolve(&cfg, &name, 0)?;
        let job = with_default(job, &default);
        let mut vars = global_vars.clone();
        vars.extend(variables(get(&job, "variables")));
        let fidx = cfg
            .origin
            .get(&name)
            .copied()
            .unwrap_or(cfg.files.len() - 1);
        let jfile = &cfg.files[fidx];
        let locate = |sub: &[Seg]| -> At {
            for n in &chain {
                let f = &cfg.files[cfg.origin.get(n).copied().unwrap_or(0)];
                let mut p = vec![Seg::Key(n)];
                p.extend_from_slice(sub);
                let deep = f.line(&p);
                let shallow = f.line(&[Seg::Key(n)]);
                if deep.is_some() && deep != shallow || sub.is_empty() {
                    return At {
                        file: (f.name != jfile.name).then(|| f.name.clone()),
                        line: deep,
                    };
                }
            }
            At {
                file: None,
                line: jfile.line(&[Seg::Key(&name)]),
            }
        };
        let source = JobSource {
            name: &name,
            job: &job,
            vars: &vars,
            locate: &locate,
            file: jfile,
            main,
            top: &top,
            project: &project,
        };
        analyze_job(&source, opts, out);
    }
    Ok(())
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

fn load(
    root: &Path,
    path: &Path,
    shown: &str,
    cfg: &mut Config,
    seen: &mut BTreeSet<PathBuf>,
    out: &mut Discovery,
    depth: usize,
) -> Result<()> {
    if depth > 20 {
        return Err(DiscoverError::IncludesTooDeep {
            shown: shown.to_string(),
        });
    }
    let canon = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    if !seen.insert(canon) {
        return Ok(()); // GitLab includes a file once
    }
    let y = YamlFile::read(path, shown)?;
    if !(y.value.is_mapping() || y.value.is_null()) {
        return Err(DiscoverError::NotAGitlabConfiguration {
            shown: shown.to_string(),
        });
    }
    // Includes first: the including file's keys win.
    let incs: Vec<(Value, usize)> = match get(&y.value, "include") {
        Some(Value::Sequence(s)) => s.iter().cloned().enumerate().map(|(i, v)| (v, i)).collect(),
        Some(v) => vec![(v.clone(), usize::MAX)],
        None => Vec::new(),
    };
    for (inc, idx) in incs {
        let line = if idx == usize::MAX {
            y.line(&[Seg::Key("include")])
        } else {
            y.line(&[Seg::Key("include"), Seg::Item(idx)])
        };
        let local = match &inc {
            Value::String(s) if !s.contains("://") => Some(s.clone()),
            Value::Mapping(_) => get(&inc, "local").and_then(scalar),
            _ => None,
        };
        match local {
            Some(l) if !l.contains('*') && !super::is_expression(&l) => {
                let p = root.join(l.trim_start_matches('/'));
                if super::confine(root, &p) == super::Confined::Outside {
                    out.notes.push(format!(
                        "{shown}:{}: include {l:?} lies outside the repository {}: not read",
                        line.unwrap_or(0),
                        super::shown_path(root)
                    ));
                    continue;
                }
                if !p.is_file() {
                    return Err(DiscoverError::IncludeNotFound {
                        shown: shown.to_string(),
                        line: line.unwrap_or(0),
                        include: l,
                        looked_for: p,
                    });
                }
                let s = p.display().to_string();
                load(root, &p, &s, cfg, seen, out, depth + 1)?;
            }
            _ => out.notes.push(format!(
                "{shown}:{}: include {} is not a local file: not read",
                line.unwrap_or(0),
                yaml_serde::to_string(&inc)
                    .unwrap_or_default()
                    .trim()
                    .replace('\n', " ")
            )),
        }
    }
    let idx = cfg.files.len();
    for (k, v) in entries(&y.value) {
        if k == "include" {
            continue;
        }
        let key = Value::String(k.clone());
        let merged = match cfg.top.get(&key) {
            Some(old) if !RESERVED.contains(&k.as_str()) || k == "variables" || k == "default" => {
                deep_merge(old, v)
            }
            _ => v.clone(),
        };
        cfg.top.insert(key, merged);
        cfg.origin.insert(k, idx);
    }
    cfg.files.push(y);
    Ok(())
}

/// GitLab's deep merge: mappings merge key by key, anything else is replaced.
fn deep_merge(base: &Value, over: &Value) -> Value {
    match (base, over) {
        (Value::Mapping(b), Value::Mapping(o)) => {
            let mut m = b.clone();
            for (k, v) in o {
                let nv = match m.get(k) {
                    Some(old) => deep_merge(old, v),
                    None => v.clone(),
                };
                m.insert(k.clone(), nv);
            }
            Value::Mapping(m)
        }
        _ => over.clone(),
    }
}

/// A job with its `extends` applied; also the chain of names it was built from (the job
/// first), for line look-ups.
fn resolve(cfg: &Config, name: &str, depth: usize) -> Result<(Value, Vec<String>)> {
    if depth > 11 {
        return Err(DiscoverError::ExtendsTooDeep {
            job: name.to_string(),
        });
    }
    let job = cfg
        .top
        .get(name)
        .cloned()
        .ok_or_else(|| DiscoverError::UnknownExtendedJob {
            job: name.to_string(),
        })?;
    let parents = get(&job, "extends").map(strings).unwrap_or_default();
    let mut base = Value::Mapping(Mapping::new());
    let mut chain = vec![name.to_string()];
    for p in &parents {
        let (pv, pc) = resolve(cfg, p, depth + 1)?;
        base = deep_merge(&base, &pv);
        chain.extend(pc);
    }
    let mut merged = deep_merge(&base, &job);
    if let Value::Mapping(m) = &mut merged {
        m.remove("extends");
    }
    Ok((merged, chain))
}

fn with_default(mut job: Value, default: &Value) -> Value {
    if let (Value::Mapping(j), Value::Mapping(d)) = (&mut job, default) {
        for k in ["id_tokens", "before_script", "after_script", "artifacts"] {
            if !j.contains_key(k) {
                if let Some(v) = d.get(k) {
                    j.insert(Value::String(k.into()), v.clone());
                }
            }
        }
    }
    job
}

fn variables(v: Option<&Value>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Some(v) = v {
        for (k, val) in entries(v) {
            let s = match val {
                Value::Mapping(_) => get(val, "value").and_then(scalar),
                other => scalar(other),
            };
            if let Some(s) = s {
                out.insert(k, s);
            }
        }
    }
    out
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
    let s = s.trim();
    let q = s.chars().next()?;
    if q != '"' && q != '\'' {
        return None;
    }
    let rest = &s[1..];
    let end = rest.find(q)?;
    Some(rest[..end].to_string())
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
            for clause in cond.split("||") {
                let cl = clause.trim();
                let eq = |var: &str| -> Option<String> {
                    let i = cl.find(&format!("{var} =="))?;
                    quoted(&cl[i + var.len() + 3..])
                };
                if let Some(b) = eq("$CI_COMMIT_BRANCH").or_else(|| eq("$CI_COMMIT_REF_NAME")) {
                    out.push(branch(Val::of(&b)));
                } else if [
                    "$CI_COMMIT_BRANCH==$CI_DEFAULT_BRANCH",
                    "$CI_COMMIT_REF_NAME==$CI_DEFAULT_BRANCH",
                ]
                .iter()
                .any(|x| cl.replace(' ', "").contains(x))
                {
                    out.push(branch(default_branch()));
                } else if cl.contains("$CI_COMMIT_TAG") {
                    out.push(Run {
                        source: Val::Known("push".into()),
                        ref_: Val::Dynamic(format!("a tag ({cl})")),
                        ref_type: Some("tag"),
                    });
                } else if let Some(src) = eq("$CI_PIPELINE_SOURCE") {
                    let mr = src == "merge_request_event";
                    out.push(Run {
                        ref_: if mr {
                            Val::Dynamic("the merge request's source branch".into())
                        } else if src == "schedule" {
                            default_branch()
                        } else {
                            Val::Dynamic(format!("the ref of the {src} pipeline"))
                        },
                        source: Val::Known(src),
                        ref_type: Some("branch"),
                    });
                } else if cl.contains("$CI_COMMIT_BRANCH") {
                    out.push(branch(Val::Dynamic(format!("a branch matching {cl}"))));
                } else {
                    out.push(Run {
                        source: Val::Dynamic(format!("pipelines where {cl}")),
                        ref_: Val::Dynamic(format!("refs where {cl}")),
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
