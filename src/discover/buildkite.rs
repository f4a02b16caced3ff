//! Buildkite: `.buildkite/pipeline.yml` (or `pipeline.yaml`), steps in `group`s included.
//!
//! A command step is a pipeline when its commands log in to Vault or read from it, or when a
//! Vault plugin logs it in. The login is the script's (`vault write auth/<mount>/login role=R
//! jwt=$TOKEN` with `TOKEN=$(buildkite-agent oidc request-token --audience A --claim …)`) or the
//! plugin's (`vault-oidc-auth`: `path`, `role`, `audience`; `vault-secrets`: `auth.method`).
//! The token's claims are Buildkite's (`docs/pipelines.md`): the organisation and pipeline
//! slugs (and ids, when requested with `--claim`) come from `--buildkite-pipeline`, the branch
//! from the step's `branches` filter or a literal `if: build.branch == "…"`, the step key from
//! `key`; the commit, and so `sub`, is always dynamic.

use std::collections::BTreeSet;
use std::path::Path;

use super::Result;
use serde_json::Value as Json;
use yaml_serde::Value;

use super::jobscan::{self, JobScan, Script, TokenRequest};
use super::shell::ShellLogin;
use super::yaml::{entries, get, scalar, strings, Seg, YamlFile};
use super::{Discovery, Draft, Options, RepoName, Val};
use crate::inventory::{AuthMethod, CiEvidence, CiExposure};

/// The issuer of every Buildkite organisation's agent tokens.
pub(crate) const ISSUER: &str = "https://agent.buildkite.com";

/// A command step, wherever it is nested.
struct Step<'a> {
    value: &'a Value,
    /// Its key path in the file (for lines).
    path: Vec<Seg<'a>>,
    /// `step N` (1-based, in file order), for names when the step has no key or label.
    ordinal: usize,
}

/// A Vault login a plugin performs before the command runs.
struct PluginLogin {
    login: ShellLogin,
    audience: Option<String>,
    /// Why the role is not known, when the plugin takes it from outside the file.
    unknown_role: Option<&'static str>,
}

/// One branch (or ref) a step runs on.
struct Run {
    /// The branch name, or why it is not known.
    branch: Val,
    /// No filter: every branch's builds run the step.
    any_branch: bool,
}

pub(crate) fn discover(
    dir: &Path,
    pipeline: Option<&RepoName>,
    _opts: &Options,
    out: &mut Discovery,
) -> Result<()> {
    let file = super::config_in(
        dir,
        &[".buildkite/pipeline.yml", ".buildkite/pipeline.yaml"],
    );
    let shown = file.display().to_string();
    let config = YamlFile::read(&file, &shown)?;
    let label = pipeline
        .map(|p| format!("{}/{}", p.owner, p.name))
        .or_else(|| super::dir_label(dir))
        .unwrap_or_else(|| "buildkite".into());
    let (top, root): (&Value, Vec<Seg>) = match get(&config.value, "steps") {
        Some(steps) => (steps, vec![Seg::Key("steps")]),
        None => (&config.value, Vec::new()),
    };
    let mut steps = Vec::new();
    collect_steps(top, root, &mut steps);
    for step in &steps {
        let key = get(step.value, "key")
            .or_else(|| get(step.value, "id"))
            .or_else(|| get(step.value, "identifier"))
            .and_then(scalar);
        let plugin = plugin_login(&config, step, pipeline, out);
        let scan = scan(&config, step, plugin.is_some());
        if !scan.uses_vault() && plugin.is_none() {
            continue;
        }
        let step_name = key
            .clone()
            .or_else(|| {
                get(step.value, "label")
                    .or_else(|| get(step.value, "name"))
                    .and_then(scalar)
            })
            .unwrap_or_else(|| format!("step {}", step.ordinal));
        let runs = runs(step.value);
        for run in &runs {
            let mut name = format!("{label}/{step_name}");
            if runs.len() > 1 {
                match &run.branch {
                    Val::Known(b) => name.push_str(&format!("@branch:{b}")),
                    Val::Dynamic(_) => name.push_str("@branches"),
                }
            }
            let ci = CiEvidence {
                provider: "buildkite".into(),
                file: shown.clone(),
                job: step_name.clone(),
                line: config.line(&step.path),
                events: Vec::new(),
                exposures: Vec::new(),
                ..CiEvidence::default()
            };
            let login = scan
                .logins
                .first()
                .map(|(l, _)| l)
                .or(plugin.as_ref().map(|p| &p.login));
            let Some(mut draft) = jobscan::draft(name, login, ci) else {
                out.notes.push(format!(
                    "{shown}: step `{step_name}` logs in with method `{}`, which the inventory cannot describe: skipped",
                    login.map(|l| l.method.as_str()).unwrap_or_default()
                ));
                continue;
            };
            if let Some(why) = plugin
                .as_ref()
                .and_then(|p| p.unknown_role)
                .filter(|_| scan.logins.is_empty())
            {
                draft.dynamic("auth.role", why);
            }
            if draft.auth.method == AuthMethod::Jwt {
                let from_script = !scan.logins.is_empty();
                let request = if from_script {
                    token_request(&scan, login)
                } else {
                    None
                };
                let audience = match (from_script, &plugin) {
                    (false, Some(p)) => p.audience.clone().or(Some("vault".into())),
                    _ => request.and_then(|r| r.audience.clone()),
                };
                claims(&mut draft, run, key.as_deref(), pipeline, audience, request);
            }
            finish(&mut draft, &scan, run, &step_name, config.line(&step.path));
            out.pipelines.push(draft.finish());
        }
    }
    Ok(())
}

/// Command steps in file order, descending into `group` steps.
fn collect_steps<'a>(steps: &'a Value, path: Vec<Seg<'a>>, out: &mut Vec<Step<'a>>) {
    let Value::Sequence(items) = steps else {
        return;
    };
    for (index, item) in items.iter().enumerate() {
        let mut item_path = path.clone();
        item_path.push(Seg::Item(index));
        if let Some(inner) = get(item, "steps").filter(|_| get(item, "group").is_some()) {
            let mut inner_path = item_path.clone();
            inner_path.push(Seg::Key("steps"));
            collect_steps(inner, inner_path, out);
            continue;
        }
        let is_command = ["command", "commands", "plugins"]
            .iter()
            .any(|k| get(item, k).is_some());
        if is_command {
            let ordinal = out.len() + 1;
            out.push(Step {
                value: item,
                path: item_path,
                ordinal,
            });
        }
    }
}

/// The step's commands as one script (a step's commands run in one shell), scanned, and the
/// secret files its `artifact_paths` upload.
fn scan(config: &YamlFile, step: &Step, plugin_token: bool) -> JobScan {
    let mut scripts = Vec::new();
    for key in ["command", "commands"] {
        let Some(value) = get(step.value, key) else {
            continue;
        };
        let mut path = step.path.clone();
        path.push(Seg::Key(key));
        match value {
            Value::Sequence(items) => {
                for (i, item) in items.iter().enumerate() {
                    let Some(text) = scalar(item) else { continue };
                    let mut item_path = path.clone();
                    item_path.push(Seg::Item(i));
                    scripts.push(Script {
                        text,
                        line: config.scalar_line(&item_path, 0),
                        label: format!("{key} {}", i + 1),
                    });
                }
            }
            other => scripts.extend(scalar(other).map(|text| Script {
                text,
                line: config.scalar_line(&path, 0),
                label: key.to_string(),
            })),
        }
    }
    let mut secrets = BTreeSet::new();
    if plugin_token {
        secrets.insert("VAULT_TOKEN".to_string());
    }
    let mut scan = jobscan::scan_job(&scripts, &secrets);
    let uploads: Vec<String> = get(step.value, "artifact_paths")
        .map(strings)
        .unwrap_or_default()
        .iter()
        .flat_map(|p| {
            p.split(';')
                .map(|x| x.trim().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    scan.artifacts(&uploads, "artifact_paths");
    scan
}

/// The step's plugins as `(name without version, configuration, index)`.
fn plugins(step: &Value) -> Vec<(String, &Value, usize)> {
    let list: Vec<(String, &Value)> = match get(step, "plugins") {
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(|item| match item {
                Value::Mapping(m) if m.len() == 1 => {
                    let (k, v) = m.iter().next().expect("one entry");
                    scalar(k).map(|k| (k, v))
                }
                other => scalar(other).map(|k| (k, &Value::Null)),
            })
            .collect(),
        Some(map @ Value::Mapping(_)) => entries(map),
        _ => Vec::new(),
    };
    list.into_iter()
        .enumerate()
        .map(|(i, (name, config))| {
            let bare = name.split('#').next().unwrap_or(&name).to_string();
            (bare, config, i)
        })
        .collect()
}

/// A Vault login performed by one of the step's plugins.
fn plugin_login(
    config: &YamlFile,
    step: &Step,
    pipeline: Option<&RepoName>,
    out: &mut Discovery,
) -> Option<PluginLogin> {
    for (name, settings, index) in plugins(step.value) {
        let mut path = step.path.clone();
        path.extend([Seg::Key("plugins"), Seg::Item(index)]);
        let line = config.line(&path);
        let base = name.rsplit('/').next().unwrap_or(&name);
        let text = |k: &str| get(settings, k).and_then(scalar);
        if base == "vault-oidc-auth" {
            let mount = text("path").unwrap_or_else(|| "auth/buildkite".into());
            let role = text("role").or_else(|| match pipeline {
                Some(p) => Some(p.name.clone()),
                None => Some("$BUILDKITE_PIPELINE_SLUG".into()),
            });
            return Some(PluginLogin {
                login: ShellLogin {
                    method: "jwt".into(),
                    mount: mount
                        .trim_start_matches("auth/")
                        .trim_matches('/')
                        .to_string(),
                    role,
                    namespace: None,
                    jwt_var: None,
                    line: 0,
                },
                audience: text("audience"),
                unknown_role: None,
            });
        }
        if base == "vault-secrets" {
            let auth = get(settings, "auth").unwrap_or(&Value::Null);
            let method = get(auth, "method")
                .and_then(scalar)
                .unwrap_or_else(|| "token".into());
            out.notes.push(format!(
                "{}:{}: plugin `{name}` reads secrets by its own path convention under {:?}: the paths are not listed in `needs`; its login ({method}) names no role the file shows",
                config.name,
                line.unwrap_or(0),
                text("path").unwrap_or_default()
            ));
            return Some(PluginLogin {
                login: ShellLogin {
                    method: method.clone(),
                    mount: method,
                    role: None,
                    namespace: text("namespace"),
                    jwt_var: None,
                    line: 0,
                },
                audience: None,
                unknown_role: Some("the role of the vault-secrets plugin's login (its role id or secret comes from the agent's environment)"),
            });
        }
        if base.contains("vault") {
            out.notes.push(format!(
                "{}:{}: plugin `{name}` looks like a Vault plugin that blastmap does not read: its login and secrets are not discovered",
                config.name,
                line.unwrap_or(0)
            ));
        }
    }
    None
}

/// The token request whose variable the login presents, or the only one.
fn token_request<'a>(scan: &'a JobScan, login: Option<&ShellLogin>) -> Option<&'a TokenRequest> {
    let var = login.and_then(|l| l.jwt_var.as_deref());
    scan.token_requests
        .iter()
        .find(|r| var.is_some() && r.var.as_deref() == var)
        .or_else(|| (scan.token_requests.len() == 1).then(|| &scan.token_requests[0]))
}

/// The branches a step runs on: its `branches` filter (space-separated; `*` globs and `!`
/// exclusions cannot be listed), else a literal `if: build.branch == "…"`, else every branch.
fn runs(step: &Value) -> Vec<Run> {
    let filter: Vec<String> = get(step, "branches")
        .map(strings)
        .unwrap_or_default()
        .iter()
        .flat_map(|b| b.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect();
    let condition = get(step, "if").and_then(scalar);
    if filter.is_empty() {
        return vec![match condition {
            None => Run {
                branch: Val::Dynamic("<any branch>".into()),
                any_branch: true,
            },
            Some(c) => Run {
                branch: branch_condition(&c)
                    .map(Val::Known)
                    .unwrap_or_else(|| Val::Dynamic(format!("<a branch where {c}>"))),
                any_branch: false,
            },
        }];
    }
    let (literal, patterns): (Vec<String>, Vec<String>) = filter
        .into_iter()
        .partition(|b| !b.contains('*') && !b.starts_with('!') && !super::is_expression(b));
    let mut out: Vec<Run> = literal
        .into_iter()
        .map(|b| Run {
            branch: Val::Known(b),
            any_branch: false,
        })
        .collect();
    if !patterns.is_empty() {
        out.push(Run {
            branch: Val::Dynamic(format!("<a branch matching {}>", patterns.join(" "))),
            any_branch: false,
        });
    }
    out
}

/// `build.branch == "main"` (alone): the branch.
fn branch_condition(condition: &str) -> Option<String> {
    let rest = condition.trim().strip_prefix("build.branch")?.trim_start();
    let value = rest.strip_prefix("==")?.trim();
    let quote = value.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let inner = value[1..].strip_suffix(quote)?;
    (!inner.contains(quote)).then(|| inner.to_string())
}

/// Buildkite's claims for one run of a step (`docs/pipelines.md#buildkite`).
fn claims(
    draft: &mut Draft,
    run: &Run,
    step_key: Option<&str>,
    pipeline: Option<&RepoName>,
    audience: Option<String>,
    request: Option<&TokenRequest>,
) {
    draft.claim("iss", Val::Known(ISSUER.into()));
    match (audience, pipeline) {
        (Some(aud), _) => draft.claim("aud", Val::of(&aud)),
        (None, Some(p)) => draft.claim(
            "aud",
            Val::Known(format!("https://buildkite.com/{}", p.owner)),
        ),
        (None, None) => draft.dynamic(
            "auth.claims.aud",
            "https://buildkite.com/<organization slug> (pass --buildkite-pipeline)",
        ),
    }
    let (org, slug) = match pipeline {
        Some(p) => (p.owner.clone(), p.name.clone()),
        None => {
            for claim in ["organization_slug", "pipeline_slug"] {
                draft.dynamic(
                    format!("auth.claims.{claim}"),
                    "pass --buildkite-pipeline ORG/PIPELINE",
                );
            }
            ("<organization slug>".into(), "<pipeline slug>".into())
        }
    };
    if pipeline.is_some() {
        draft.claim("organization_slug", Val::Known(org.clone()));
        draft.claim("pipeline_slug", Val::Known(slug.clone()));
    }
    draft.claim("build_branch", run.branch.clone());
    draft.dynamic("auth.claims.build_commit", "the commit built");
    draft.dynamic(
        "auth.claims.build_number",
        "the build's number (a JSON number)",
    );
    let key_value = step_key
        .map(|k| Json::String(k.to_string()))
        .unwrap_or(Json::Null);
    draft.claims.insert("step_key".into(), key_value);
    let branch = match &run.branch {
        Val::Known(b) => b.clone(),
        Val::Dynamic(d) => d.clone(),
    };
    let requested: Vec<String> = request.map(|r| r.claims.clone()).unwrap_or_default();
    for claim in &requested {
        match optional_claim(claim, pipeline) {
            Some(value) => draft.claim(claim, Val::Known(value)),
            None => draft.dynamic(
                format!("auth.claims.{claim}"),
                format!("requested with --claim {claim}"),
            ),
        }
    }
    let subject_claim = request.and_then(|r| r.subject_claim.as_deref());
    match subject_claim.and_then(|c| optional_claim(c, pipeline)) {
        Some(value) => draft.claim("sub", Val::Known(value)),
        None => draft.dynamic(
            "auth.claims.sub",
            match subject_claim {
                Some(c) => format!("the value of {c} (--subject-claim)"),
                None => format!(
                    "organization:{org}:pipeline:{slug}:ref:refs/heads/{branch}:commit:<commit>:step:{}",
                    step_key.unwrap_or("")
                ),
            },
        ),
    }
}

/// The value of an optional claim that the pipeline's ids give (`organization_id`, `pipeline_id`).
fn optional_claim(claim: &str, pipeline: Option<&RepoName>) -> Option<String> {
    let pipeline = pipeline?;
    match claim {
        "organization_id" => pipeline.owner_id.clone(),
        "pipeline_id" => pipeline.repo_id.clone(),
        _ => None,
    }
}

/// Needs and exposures of the step, and `any-branch` for a step without a branch filter.
fn finish(draft: &mut Draft, scan: &JobScan, run: &Run, step_name: &str, line: Option<usize>) {
    for n in &scan.needs {
        draft.need(n);
    }
    for e in &scan.exposures {
        draft.expose(e.clone());
    }
    if run.any_branch {
        draft.expose(CiExposure {
            kind: "any-branch".into(),
            line,
            detail: format!(
                "step `{step_name}` has no `branches` filter or `if` condition: every build of the pipeline runs it with its Vault access, builds of any pushed branch and, when the pipeline builds them, of pull requests from forks"
            ),
            ..Default::default()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_conditions() {
        assert_eq!(
            branch_condition("build.branch == \"main\""),
            Some("main".into())
        );
        assert_eq!(branch_condition("build.branch == 'main' && x"), None);
        assert_eq!(branch_condition("build.tag != null"), None);
    }

    #[test]
    fn branch_filters() {
        let step: Value = yaml_serde::from_str("branches: \"main release/* !wip\"").unwrap();
        let runs = runs(&step);
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].branch, Val::Known("main".into()));
        assert!(matches!(runs[1].branch, Val::Dynamic(_)));
        assert!(!runs[0].any_branch);
    }
}
