//! CircleCI: `.circleci/config.yml`.
//!
//! A job is a pipeline when its `run` steps log in to Vault or read from it (`vault`/`bao`
//! CLI, `curl …/v1/`). It runs once per workflow that lists it, on the branches and tags of that
//! workflow entry's `filters`, with the entry's `context`s. Its login is the script's
//! (`vault write auth/<mount>/login role=R jwt=$CIRCLE_OIDC_TOKEN`), or a stored token when the
//! job reads without logging in. The token's claims are CircleCI's (`docs/pipelines.md`):
//! `iss` and `aud` name the organisation (`--circleci-org`), the project id comes from
//! `--circleci-project`, the VCS origin from the checkout's remote, the ref from the filters,
//! and `sub` embeds the id of whoever triggers the pipeline, so it is always dynamic.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::Result;
use serde_json::Value as Json;
use yaml_serde::Value;

use super::jobscan::{self, Branches, JobScan, Script, TokenRequest};
use super::yaml::{entries, get, scalar, strings, Seg, YamlFile};
use super::{Discovery, Draft, Options, Val};
use crate::inventory::{AuthMethod, CiEvidence, CiExposure};

/// The environment variables CircleCI fills with the job's ID tokens.
const TOKEN_VARS: &[&str] = &["CIRCLE_OIDC_TOKEN", "CIRCLE_OIDC_TOKEN_V2"];
/// The claim-name prefix of CircleCI's own claims.
const CLAIM: &str = "oidc.circleci.com/";

/// What identifies one CircleCI project, when known.
#[derive(Debug, Clone, Default)]
pub struct Project {
    /// The project id (a UUID, `oidc.circleci.com/project-id`).
    pub id: Option<String>,
}

/// One run of a job: a workflow entry on one ref.
#[derive(Debug, Clone)]
struct Run {
    workflow: String,
    /// The job's name in the workflow (`name:` overrides the job id).
    name: String,
    line: Option<usize>,
    contexts: Vec<String>,
    /// `refs/heads/B`, `refs/tags/T`, or why it is not known.
    vcs_ref: Val,
    /// The filter has no branch restriction (every pushed branch runs it).
    any_branch: bool,
    events: Vec<String>,
}

pub(crate) fn discover(
    dir: &Path,
    project: &Project,
    opts: &Options,
    out: &mut Discovery,
) -> Result<()> {
    let file = super::config_in(dir, &[".circleci/config.yml", ".circleci/config.yaml"]);
    let shown = file.display().to_string();
    let config = YamlFile::read(&file, &shown)?;
    let origin = vcs_origin(dir);
    let repo_label = origin
        .as_deref()
        .and_then(|o| o.split_once('/').map(|x| x.1.to_string()))
        .or_else(|| super::dir_label(dir))
        .unwrap_or_else(|| "circleci".into());
    note_orbs(&config, out);
    let jobs = get(&config.value, "jobs").unwrap_or(&Value::Null);
    let runs = workflow_runs(&config);
    for (job_id, job) in entries(jobs) {
        let scan = scan(&config, &job_id, job);
        if !scan.uses_vault() {
            continue;
        }
        let job_runs: Vec<&Run> = runs
            .get(&job_id)
            .map(|r| r.iter().collect())
            .unwrap_or_default();
        if job_runs.is_empty() {
            out.notes.push(format!(
                "{shown}: job `{job_id}` uses Vault but no workflow runs it: skipped"
            ));
            continue;
        }
        let names: BTreeSet<(&str, &str)> = job_runs
            .iter()
            .map(|r| (r.workflow.as_str(), r.name.as_str()))
            .collect();
        for run in &job_runs {
            let mut name = format!("{repo_label}/{}/{}", run.workflow, run.name);
            let same_entry = job_runs
                .iter()
                .filter(|r| r.workflow == run.workflow && r.name == run.name)
                .count();
            if same_entry > 1 || names.len() < job_runs.len() {
                name.push_str(&format!("@{}", ref_label(&run.vcs_ref)));
            }
            let found = pipeline(
                name,
                &shown,
                &job_id,
                run,
                &scan,
                project,
                origin.as_deref(),
                opts,
                out,
            );
            out.pipelines.extend(found.map(Draft::finish));
        }
    }
    Ok(())
}

/// The VCS origin (`github.com/org/repo`, no scheme) of the checkout's first remote.
pub(crate) fn vcs_origin(dir: &Path) -> Option<String> {
    let config = std::fs::read_to_string(dir.join(".git/config")).ok()?;
    let url = config
        .lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix("url"))
        .map(|l| l.trim_start().trim_start_matches('=').trim().to_string())
        .next()?;
    let without_scheme = url.split_once("://").map(|x| x.1.to_string());
    let origin = match without_scheme {
        Some(rest) => rest
            .rsplit_once('@')
            .map(|x| x.1.to_string())
            .unwrap_or(rest),
        // scp form `git@github.com:org/repo.git`
        None => {
            let (host, path) = url.split_once(':')?;
            let host = host.rsplit_once('@').map(|x| x.1).unwrap_or(host);
            format!("{host}/{path}")
        }
    };
    Some(
        origin
            .trim_end_matches(".git")
            .trim_matches('/')
            .to_string(),
    )
}

/// Orbs are packaged commands whose source is not in the file: a Vault orb's steps are noted.
fn note_orbs(config: &YamlFile, out: &mut Discovery) {
    let Some(orbs) = get(&config.value, "orbs") else {
        return;
    };
    for (alias, reference) in entries(orbs) {
        let reference = scalar(reference).unwrap_or_else(|| "an inline orb".into());
        let vaultish = |s: &str| {
            let lower = s.to_ascii_lowercase();
            lower.contains("vault") || lower.contains("openbao")
        };
        if vaultish(&alias) || vaultish(&reference) {
            let line = config
                .line(&[Seg::Key("orbs"), Seg::Key(&alias)])
                .unwrap_or(0);
            out.notes.push(format!(
                "{}:{line}: orb `{alias}` ({reference}) looks like a Vault orb: its commands are not read (the orb's source is not in the file); jobs using it are discovered only from their `run` steps",
                config.name
            ));
        }
    }
}

/// Every run of every job, from `workflows`.
fn workflow_runs(config: &YamlFile) -> BTreeMap<String, Vec<Run>> {
    let mut out: BTreeMap<String, Vec<Run>> = BTreeMap::new();
    let workflows = get(&config.value, "workflows").unwrap_or(&Value::Null);
    for (workflow, body) in entries(workflows) {
        let Some(Value::Sequence(items)) = get(body, "jobs") else {
            continue;
        };
        let scheduled = get(body, "triggers").is_some();
        for (index, item) in items.iter().enumerate() {
            let (job_id, params) = match item {
                Value::String(s) => (s.clone(), &Value::Null),
                Value::Mapping(m) if m.len() == 1 => {
                    let (k, v) = m.iter().next().expect("one entry");
                    (scalar(k).unwrap_or_default(), v)
                }
                _ => continue,
            };
            let line = config.line(&[
                Seg::Key("workflows"),
                Seg::Key(&workflow),
                Seg::Key("jobs"),
                Seg::Item(index),
            ]);
            let name = get(params, "name")
                .and_then(scalar)
                .unwrap_or_else(|| job_id.clone());
            let contexts = get(params, "context").map(strings).unwrap_or_default();
            let filters = get(params, "filters").unwrap_or(&Value::Null);
            let events = vec![if scheduled { "schedule" } else { "push" }.to_string()];
            for (vcs_ref, any_branch) in refs(filters) {
                out.entry(job_id.clone()).or_default().push(Run {
                    workflow: workflow.clone(),
                    name: name.clone(),
                    line,
                    contexts: contexts.clone(),
                    vcs_ref,
                    any_branch,
                    events: events.clone(),
                });
            }
        }
    }
    out
}

/// The refs a workflow entry runs on, from its `filters`: branches (all of them unless
/// `branches.only`/`ignore` says otherwise) and, only when `tags` filters are given, tags.
fn refs(filters: &Value) -> Vec<(Val, bool)> {
    let mut out = Vec::new();
    let branch_filter = get(filters, "branches").unwrap_or(&Value::Null);
    match branches(branch_filter) {
        Branches::Only(list) => out.extend(
            list.into_iter()
                .map(|b| (Val::Known(format!("refs/heads/{b}")), false)),
        ),
        Branches::Pattern(p) => out.push((
            Val::Dynamic(format!("refs/heads/<a branch matching {p}>")),
            false,
        )),
        Branches::Any => out.push((Val::Dynamic("refs/heads/<any branch>".into()), true)),
    }
    if let Some(tags) = get(filters, "tags") {
        match get(tags, "only").map(strings) {
            Some(only) => {
                for t in only {
                    out.push(match literal(&t) {
                        Some(tag) => (Val::Known(format!("refs/tags/{tag}")), false),
                        None => (
                            Val::Dynamic(format!("refs/tags/<a tag matching {t}>")),
                            false,
                        ),
                    });
                }
            }
            None => out.push((Val::Dynamic("refs/tags/<any tag>".into()), false)),
        }
    }
    // `branches: {ignore: /.*/}` with tag filters: a tag-only entry.
    if out.len() > 1 && ignores_every_branch(branch_filter) {
        out.remove(0);
    }
    out
}

fn ignores_every_branch(filter: &Value) -> bool {
    get(filter, "ignore")
        .map(strings)
        .is_some_and(|i| i.iter().any(|x| x == "/.*/"))
}

fn branches(filter: &Value) -> Branches {
    if let Some(only) = get(filter, "only").map(strings) {
        let literals: Vec<Option<String>> = only.iter().map(|b| literal(b)).collect();
        if literals.iter().all(Option::is_some) && !literals.is_empty() {
            return Branches::Only(literals.into_iter().flatten().collect());
        }
        return Branches::Pattern(only.join(" "));
    }
    match get(filter, "ignore").map(strings) {
        Some(ignore) => Branches::Pattern(format!("anything but {}", ignore.join(" "))),
        None => Branches::Any,
    }
}

/// A filter entry naming one ref literally (not a `/regex/`, not a pipeline parameter).
fn literal(entry: &str) -> Option<String> {
    let is_regex = entry.len() >= 2 && entry.starts_with('/') && entry.ends_with('/');
    (!is_regex && !dynamic(entry)).then(|| entry.to_string())
}

/// A value built from `<< … >>` (pipeline values, parameters) or a shell expression.
fn dynamic(value: &str) -> bool {
    value.contains("<<") || super::is_expression(value)
}

fn ref_label(vcs_ref: &Val) -> String {
    match vcs_ref {
        Val::Known(r) => r
            .strip_prefix("refs/heads/")
            .map(|b| format!("branch:{b}"))
            .or_else(|| r.strip_prefix("refs/tags/").map(|t| format!("tag:{t}")))
            .unwrap_or_else(|| r.clone()),
        Val::Dynamic(d) if d.starts_with("refs/tags/") => "tags".into(),
        Val::Dynamic(_) => "branches".into(),
    }
}

/// The job's `run` steps as scripts, scanned; plus what its `store_artifacts` upload.
fn scan(config: &YamlFile, job_id: &str, job: &Value) -> JobScan {
    let mut scripts = Vec::new();
    let mut uploads = Vec::new();
    let steps = match get(job, "steps") {
        Some(Value::Sequence(s)) => s.as_slice(),
        _ => &[],
    };
    let step_path = |i: usize| {
        vec![
            Seg::Key("jobs"),
            Seg::Key(job_id),
            Seg::Key("steps"),
            Seg::Item(i),
        ]
    };
    for (i, step) in steps.iter().enumerate() {
        if let Some(run) = get(step, "run") {
            let (text, key_path) = match run {
                Value::Mapping(_) => (
                    get(run, "command").and_then(scalar),
                    vec![Seg::Key("run"), Seg::Key("command")],
                ),
                other => (scalar(other), vec![Seg::Key("run")]),
            };
            let Some(text) = text.map(|t| compact_parameters(&t)) else {
                continue;
            };
            let mut path = step_path(i);
            path.extend(key_path);
            scripts.push(Script {
                text,
                line: config.scalar_line(&path, 0),
                label: format!("step {}", i + 1),
            });
        }
        if let Some(store) = get(step, "store_artifacts") {
            uploads.extend(get(store, "path").and_then(scalar));
        }
    }
    let secrets: BTreeSet<String> = TOKEN_VARS.iter().map(|v| v.to_string()).collect();
    let mut scan = jobscan::scan_job(&scripts, &secrets);
    scan.artifacts(&uploads, "store_artifacts");
    scan
}

/// `<< parameters.x >>` written without its inner spaces, so that the shell reader keeps it in
/// one word (CircleCI substitutes it before the shell runs; the value is dynamic).
fn compact_parameters(script: &str) -> String {
    super::rewrite_spans(script, "<<", ">>", |inner| {
        let name = inner.trim();
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        valid.then(|| format!("<<{name}>>"))
    })
}

/// The pipeline of one run of a job.
#[allow(clippy::too_many_arguments)]
fn pipeline(
    name: String,
    file: &str,
    job_id: &str,
    run: &Run,
    scan: &JobScan,
    project: &Project,
    origin: Option<&str>,
    opts: &Options,
    out: &mut Discovery,
) -> Option<Draft> {
    let ci = CiEvidence {
        provider: "circleci".into(),
        file: file.to_string(),
        job: job_id.to_string(),
        line: run.line,
        events: run.events.clone(),
        exposures: Vec::new(),
        ..CiEvidence::default()
    };
    let login = scan.logins.first().map(|(l, _)| l);
    let Some(mut draft) = jobscan::draft(name, login, ci) else {
        out.notes.push(format!(
            "{file}: job `{job_id}` logs in with method `{}`, which the inventory cannot describe: skipped",
            login.map(|l| l.method.as_str()).unwrap_or_default()
        ));
        return None;
    };
    if draft.auth.method == AuthMethod::Jwt {
        let token_var = login.and_then(|l| l.jwt_var.clone());
        let request = token_var.as_deref().and_then(|v| {
            scan.token_requests
                .iter()
                .find(|r| r.var.as_deref() == Some(v))
        });
        claims(
            &mut draft,
            run,
            project,
            origin,
            token_var.as_deref(),
            request,
            opts,
        );
        if token_var.is_none() && request.is_none() {
            out.notes.push(format!(
                "{file}: job `{job_id}` logs in with jwt but the token's variable is not named: CircleCI's claims are assumed"
            ));
        }
    }
    for n in &scan.needs {
        if dynamic(n) {
            draft.dynamic("needs", n.clone());
        } else {
            draft.need(n);
        }
    }
    for e in &scan.exposures {
        draft.expose(e.clone());
    }
    if run.any_branch && scan.uses_vault() {
        let contexts = if run.contexts.is_empty() {
            String::new()
        } else {
            format!(" with context {}", run.contexts.join(", "))
        };
        draft.expose(CiExposure {
            kind: "any-branch".into(),
            line: run.line,
            detail: format!(
                "workflow `{}` runs `{}`{contexts} on every branch (no branch filter): whoever can push a branch, or open a pull request CircleCI builds, runs it with its Vault access",
                run.workflow, run.name
            ),
            ..Default::default()
        });
    }
    Some(draft)
}

/// CircleCI's claims for one run (`docs/pipelines.md#circleci`).
fn claims(
    draft: &mut Draft,
    run: &Run,
    project: &Project,
    origin: Option<&str>,
    token_var: Option<&str>,
    request: Option<&TokenRequest>,
    opts: &Options,
) {
    let org = opts.circleci_org.as_deref();
    let root_issuer = request.is_some_and(|r| r.root_issuer);
    match (org, root_issuer) {
        (_, true) => draft.claim("iss", Val::Known("https://oidc.circleci.com".into())),
        (Some(o), false) => draft.claim(
            "iss",
            Val::Known(format!("https://oidc.circleci.com/org/{o}")),
        ),
        (None, false) => draft.dynamic(
            "auth.claims.iss",
            "https://oidc.circleci.com/org/<organization id> (pass --circleci-org)",
        ),
    }
    match (request.and_then(|r| r.audience.as_deref()), org) {
        (Some(aud), _) => draft.claim("aud", Val::of(aud)),
        (None, Some(o)) => draft.claim("aud", Val::Known(o.to_string())),
        (None, None) => draft.dynamic("auth.claims.aud", "<organization id> (pass --circleci-org)"),
    }
    let org_part = org.unwrap_or("<organization id>");
    let project_part = project.id.as_deref().unwrap_or("<project id>");
    let v2_token = token_var == Some("CIRCLE_OIDC_TOKEN_V2");
    let mut sub = format!(
        "org/{org_part}/project/{project_part}/user/<id of the user who triggers the pipeline>"
    );
    if v2_token {
        let ref_part = match &run.vcs_ref {
            Val::Known(r) => r.clone(),
            Val::Dynamic(d) => d.clone(),
        };
        sub.push_str(&format!(
            "/vcs-origin/{}/vcs-ref/{ref_part}",
            origin.unwrap_or("<vcs origin>")
        ));
    }
    draft.dynamic("auth.claims.sub", sub);
    match org {
        Some(o) => draft.claim(&format!("{CLAIM}org-id"), Val::Known(o.to_string())),
        None => draft.dynamic(format!("auth.claims.{CLAIM}org-id"), "pass --circleci-org"),
    }
    match &project.id {
        Some(p) => draft.claim(&format!("{CLAIM}project-id"), Val::Known(p.clone())),
        None => draft.dynamic(
            format!("auth.claims.{CLAIM}project-id"),
            "pass --circleci-project",
        ),
    }
    match origin {
        Some(o) => draft.claim(&format!("{CLAIM}vcs-origin"), Val::Known(o.to_string())),
        None => draft.dynamic(
            format!("auth.claims.{CLAIM}vcs-origin"),
            "the repository's remote (no remote in .git/config)",
        ),
    }
    draft.claim(&format!("{CLAIM}vcs-ref"), run.vcs_ref.clone());
    context_ids(draft, &run.contexts, opts);
    // A normal run; a "rerun job with SSH" token says true (a person holds a shell).
    draft
        .claims
        .insert(format!("{CLAIM}ssh-rerun"), Json::Bool(false));
}

/// `oidc.circleci.com/context-ids`: the ids of the entry's contexts, when each is known.
fn context_ids(draft: &mut Draft, contexts: &[String], opts: &Options) {
    if contexts.is_empty() {
        return;
    }
    let ids: Vec<Option<&String>> = contexts
        .iter()
        .map(|c| opts.circleci_contexts.get(c))
        .collect();
    if ids.iter().all(Option::is_some) && !contexts.iter().any(|c| dynamic(c)) {
        let list = ids
            .into_iter()
            .flatten()
            .map(|id| Json::String(id.clone()))
            .collect();
        draft
            .claims
            .insert(format!("{CLAIM}context-ids"), Json::Array(list));
    } else {
        draft.dynamic(
            format!("auth.claims.{CLAIM}context-ids"),
            format!(
                "the ids of contexts {} (pass --circleci-context NAME=ID)",
                contexts.join(", ")
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_stay_one_word() {
        assert_eq!(
            compact_parameters("vault read a/<< parameters.env >>/b >> log"),
            "vault read a/<<parameters.env>>/b >> log"
        );
        assert_eq!(compact_parameters("cat <<EOF\nx\nEOF"), "cat <<EOF\nx\nEOF");
    }
}
