//! GitHub Actions: `.github/workflows/*.yml`.
//!
//! A job is a pipeline when it logs in to Vault or reads from it: a `hashicorp/vault-action`
//! step, or `run:` steps calling `vault`/`bao` or `curl …/v1/…`. Each such job yields one
//! pipeline per login and trigger (the OIDC token's `sub`, `ref` and `event_name` differ per
//! trigger), with the claims GitHub puts in the token.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use yaml_serde::Value;

use super::shell::{self, SecretUse};
use super::yaml::{entries, get, scalar, strings, Seg, YamlFile};
use super::{is_expression, DiscoverError, Discovery, Draft, Options, RepoName, Result, Val};
use crate::inventory::{AuthMethod, CiEvidence, CiExposure};

const ISSUER: &str = "https://token.actions.githubusercontent.com";

/// Read the workflows of one repository.
pub fn discover(
    dir: &Path,
    repo: Option<&RepoName>,
    opts: &Options,
    out: &mut Discovery,
) -> Result<()> {
    let (wf_dir, root) = if dir.join(".github/workflows").is_dir() {
        (dir.join(".github/workflows"), dir.to_path_buf())
    } else if dir.is_dir() {
        let root = dir
            .parent()
            .and_then(Path::parent)
            .filter(|_| dir.ends_with(".github/workflows"))
            .map(Path::to_path_buf)
            .unwrap_or_else(|| dir.to_path_buf());
        (dir.to_path_buf(), root)
    } else {
        return Err(DiscoverError::NotADirectory {
            dir: dir.to_path_buf(),
        });
    };
    let repo = match repo {
        Some(r) => r.clone(),
        None => match infer_repo(&root) {
            Some(r) => r,
            None => {
                return Err(DiscoverError::UnknownRepository {
                    dir: dir.to_path_buf(),
                })
            }
        },
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&wf_dir)
        .map_err(|source| DiscoverError::Read {
            shown: wf_dir.display().to_string(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| e == "yml" || e == "yaml")
        })
        .collect();
    files.sort();
    let mut workflows: BTreeMap<String, YamlFile> = BTreeMap::new();
    for f in &files {
        if super::confine(&root, f) == super::Confined::Outside {
            out.notes.push(format!(
                "{}: a link out of the repository {}: not read",
                super::shown_path(f),
                super::shown_path(&root)
            ));
            continue;
        }
        let rel = format!(
            ".github/workflows/{}",
            f.file_name().unwrap_or_default().to_string_lossy()
        );
        let shown = f.display().to_string();
        let y = YamlFile::read(f, &shown)?;
        if !y.value.is_mapping() {
            return Err(DiscoverError::NotAWorkflow { shown });
        }
        workflows.insert(rel, y);
    }
    for (rel, wf) in &workflows {
        let triggers = triggers(wf, opts);
        let standalone: Vec<Trigger> = triggers
            .into_iter()
            .filter(|t| t.event != "workflow_call")
            .collect();
        if standalone.is_empty() {
            continue; // only runs when called: discovered from its callers
        }
        let ctx = Workflow {
            repo: &repo,
            rel: rel.clone(),
            file: wf,
            triggers: standalone,
        };
        for (job_id, job) in entries(get(&wf.value, "jobs").unwrap_or(&Value::Null)) {
            if let Some(uses) = get(job, "uses").and_then(scalar) {
                reusable_call(&ctx, &job_id, job, &uses, &workflows, opts, out);
                continue;
            }
            let call = Call {
                file: wf,
                rel: rel.clone(),
                job_id: job_id.clone(),
                inputs: BTreeMap::new(),
                caller_permissions: Vec::new(),
                job_workflow: None,
                caller_job: None,
            };
            job_pipelines(&ctx, &call, job, opts, out);
        }
    }
    Ok(())
}

/// `owner/repo` from `.git/config`'s GitHub remote.
fn infer_repo(root: &Path) -> Option<RepoName> {
    let cfg = std::fs::read_to_string(root.join(".git/config")).ok()?;
    let url = cfg
        .lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix("url"))
        .map(|l| l.trim_start().trim_start_matches('=').trim())
        .find(|u| u.contains("github"))?;
    let tail = url.rsplit_once("github.com").map(|x| x.1)?;
    let tail = tail.trim_start_matches([':', '/']).trim_end_matches(".git");
    RepoName::parse(tail).ok()
}

struct Workflow<'a> {
    repo: &'a RepoName,
    /// `.github/workflows/x.yml`.
    rel: String,
    file: &'a YamlFile,
    triggers: Vec<Trigger>,
}

/// The workflow file a job is defined in, and how it was called.
struct Call<'a> {
    file: &'a YamlFile,
    rel: String,
    job_id: String,
    /// `with:` of the calling job (reusable workflows): literal inputs.
    inputs: BTreeMap<String, String>,
    /// Permissions in force at the caller (job, then workflow).
    caller_permissions: Vec<&'a Value>,
    /// `job_workflow_ref` without the ref (`owner/repo/.github/workflows/x.yml`) and the
    /// ref when fixed by the caller (`@v1`); `None` for jobs of the triggering workflow.
    job_workflow: Option<(String, Option<String>)>,
    /// The calling job's id (reusable workflows).
    caller_job: Option<String>,
}

/// One way a workflow is triggered, as it shapes the token.
#[derive(Debug, Clone)]
struct Trigger {
    event: String,
    /// The ref (`refs/heads/main`) or, when not fixed, a description of it.
    ref_: Val,
    ref_type: Option<&'static str>,
    base_ref: Option<String>,
}

impl Trigger {
    fn label(&self) -> String {
        match &self.ref_ {
            Val::Known(r) => format!("{}:{r}", self.event),
            Val::Dynamic(p) if p.starts_with("refs/") && !p.contains('<') => {
                format!("{}:{p}", self.event)
            }
            Val::Dynamic(_) => self.event.clone(),
        }
    }
}

fn literal(s: &str) -> bool {
    !s.contains(['*', '?', '[', '!', '+']) && !is_expression(s)
}

fn triggers(wf: &YamlFile, opts: &Options) -> Vec<Trigger> {
    let on = get(&wf.value, "on")
        .or_else(|| get(&wf.value, "true"))
        .cloned()
        .unwrap_or(Value::Null);
    let mut events: Vec<(String, Value)> = match &on {
        Value::String(s) => vec![(s.clone(), Value::Null)],
        Value::Sequence(s) => s
            .iter()
            .filter_map(scalar)
            .map(|e| (e, Value::Null))
            .collect(),
        Value::Mapping(_) => entries(&on)
            .into_iter()
            .map(|(k, v)| (k, v.clone()))
            .collect(),
        _ => Vec::new(),
    };
    if let Value::Bool(true) = on {
        events.clear();
    }
    let default_ref = |what: &str| match &opts.default_branch {
        Some(b) => Val::Known(format!("refs/heads/{b}")),
        None => Val::Dynamic(format!(
            "the default branch ({what}; pass --default-branch)"
        )),
    };
    let mut out = Vec::new();
    for (event, cfg) in events {
        let list = |k: &str| get(&cfg, k).map(strings);
        match event.as_str() {
            "push" => {
                let branches = list("branches");
                let tags = list("tags");
                let ignored =
                    get(&cfg, "branches-ignore").is_some() || get(&cfg, "tags-ignore").is_some();
                if branches.is_none() && tags.is_none() {
                    out.push(Trigger {
                        event,
                        ref_: Val::Dynamic(if ignored {
                            "refs/heads/* or refs/tags/* not ignored (push)".into()
                        } else {
                            "any pushed branch or tag (push)".into()
                        }),
                        ref_type: None,
                        base_ref: None,
                    });
                    continue;
                }
                for b in branches.unwrap_or_default() {
                    out.push(Trigger {
                        event: event.clone(),
                        ref_: if literal(&b) {
                            Val::Known(format!("refs/heads/{b}"))
                        } else {
                            Val::Dynamic(format!("refs/heads/{b}"))
                        },
                        ref_type: Some("branch"),
                        base_ref: None,
                    });
                }
                for t in tags.unwrap_or_default() {
                    out.push(Trigger {
                        event: event.clone(),
                        ref_: if literal(&t) {
                            Val::Known(format!("refs/tags/{t}"))
                        } else {
                            Val::Dynamic(format!("refs/tags/{t}"))
                        },
                        ref_type: Some("tag"),
                        base_ref: None,
                    });
                }
            }
            "pull_request" => {
                let base = list("branches")
                    .and_then(|b| (b.len() == 1 && literal(&b[0])).then(|| b[0].clone()));
                out.push(Trigger {
                    event,
                    ref_: Val::Dynamic("refs/pull/<number>/merge".into()),
                    ref_type: None,
                    base_ref: base,
                });
            }
            "pull_request_target" => {
                // The token's ref is the base branch.
                let b = list("branches").unwrap_or_default();
                if b.is_empty() {
                    out.push(Trigger {
                        event: event.clone(),
                        ref_: Val::Dynamic("the pull request's base branch".into()),
                        ref_type: Some("branch"),
                        base_ref: None,
                    });
                }
                for b in b {
                    out.push(Trigger {
                        event: event.clone(),
                        ref_: if literal(&b) {
                            Val::Known(format!("refs/heads/{b}"))
                        } else {
                            Val::Dynamic(format!("refs/heads/{b}"))
                        },
                        ref_type: Some("branch"),
                        base_ref: literal(&b).then(|| b.clone()),
                    });
                }
            }
            "schedule" | "workflow_run" | "issue_comment" | "issues" | "repository_dispatch" => out
                .push(Trigger {
                    ref_: default_ref(&event),
                    event,
                    ref_type: Some("branch"),
                    base_ref: None,
                }),
            "release" => out.push(Trigger {
                event,
                ref_: Val::Dynamic("the release tag (refs/tags/*)".into()),
                ref_type: Some("tag"),
                base_ref: None,
            }),
            "workflow_dispatch" => out.push(Trigger {
                event,
                ref_: Val::Dynamic("the branch or tag chosen when dispatched".into()),
                ref_type: None,
                base_ref: None,
            }),
            "workflow_call" => out.push(Trigger {
                event,
                ref_: Val::Dynamic("the caller's ref".into()),
                ref_type: None,
                base_ref: None,
            }),
            _ => out.push(Trigger {
                ref_: Val::Dynamic(format!("the ref of the {event} event")),
                event,
                ref_type: None,
                base_ref: None,
            }),
        }
    }
    out
}

fn reusable_call(
    ctx: &Workflow,
    job_id: &str,
    job: &Value,
    uses: &str,
    workflows: &BTreeMap<String, YamlFile>,
    opts: &Options,
    out: &mut Discovery,
) {
    let (callee_rel, jwr, fixed_ref) = if let Some(local) = uses.strip_prefix("./") {
        let jwr = format!("{}/{local}", ctx.repo.full());
        (local.to_string(), jwr, None)
    } else {
        let (path, r) = uses.split_once('@').unwrap_or((uses, ""));
        let mut parts = path.splitn(3, '/');
        let (o, n, rest) = (
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
        );
        if format!("{o}/{n}") != ctx.repo.full() {
            out.notes.push(format!(
                "{}: job `{job_id}` calls {uses} from another repository: its jobs are not discovered (give that repository with --github to read them)",
                ctx.file.name
            ));
            return;
        }
        out.notes.push(format!(
            "{}: job `{job_id}` calls {uses}: read from this checkout, which may differ from {r}",
            ctx.file.name
        ));
        (rest.to_string(), path.to_string(), Some(r.to_string()))
    };
    let Some(callee) = workflows.get(&callee_rel) else {
        out.notes.push(format!(
            "{}: job `{job_id}` calls {uses}, which is not in this checkout",
            ctx.file.name
        ));
        return;
    };
    let inputs: BTreeMap<String, String> = get(job, "with")
        .map(entries)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| scalar(v).map(|v| (k, v)))
        .collect();
    let mut caller_permissions = Vec::new();
    if let Some(p) = get(job, "permissions") {
        caller_permissions.push(p);
    } else if let Some(p) = get(&ctx.file.value, "permissions") {
        caller_permissions.push(p);
    }
    for (cid, cjob) in entries(get(&callee.value, "jobs").unwrap_or(&Value::Null)) {
        if get(cjob, "uses").is_some() {
            out.notes.push(format!(
                "{}: job `{cid}` nests another reusable workflow: not followed",
                callee.name
            ));
            continue;
        }
        let call = Call {
            file: callee,
            rel: callee_rel.clone(),
            job_id: cid.clone(),
            inputs: inputs.clone(),
            caller_permissions: caller_permissions.clone(),
            job_workflow: Some((jwr.clone(), fixed_ref.clone())),
            caller_job: Some(job_id.to_string()),
        };
        let caller_ctx = Workflow {
            repo: ctx.repo,
            rel: ctx.rel.clone(),
            file: ctx.file,
            triggers: ctx.triggers.clone(),
        };
        job_pipelines(&caller_ctx, &call, cjob, opts, out);
    }
}

/// A login a job performs.
#[derive(Debug, Clone)]
struct Login {
    method: String,
    mount: Val,
    role: Option<Val>,
    namespace: Option<Val>,
    audience: Option<Val>,
    user: Option<Val>,
    /// `jwtPrivateKey`: a self-signed JWT, not GitHub's OIDC token.
    self_signed: bool,
    step: usize,
    line: Option<usize>,
}

impl Login {
    fn key(&self) -> (String, String, String, String) {
        let s = |v: &Option<Val>| match v {
            Some(Val::Known(s)) | Some(Val::Dynamic(s)) => s.clone(),
            None => String::new(),
        };
        let m = match &self.mount {
            Val::Known(s) | Val::Dynamic(s) => s.clone(),
        };
        (self.method.clone(), m, s(&self.role), s(&self.namespace))
    }
}

/// Substitute `${{ inputs.X }}` with a literal input of the caller.
fn subst(s: &str, inputs: &BTreeMap<String, String>) -> String {
    let mut out = s.to_string();
    for (k, v) in inputs {
        for form in [
            format!("${{{{ inputs.{k} }}}}"),
            format!("${{{{inputs.{k}}}}}"),
        ] {
            out = out.replace(&form, v);
        }
    }
    out
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => s.trim().eq_ignore_ascii_case("true"),
        _ => false,
    }
}

fn id_token_write(p: &Value) -> bool {
    match p {
        Value::String(s) => s == "write-all",
        Value::Mapping(_) => get(p, "id-token").and_then(scalar).as_deref() == Some("write"),
        _ => false,
    }
}

fn job_pipelines(ctx: &Workflow, call: &Call, job: &Value, opts: &Options, out: &mut Discovery) {
    let file = call.file;
    let jid = call.job_id.as_str();
    let jpath = [Seg::Key("jobs"), Seg::Key(jid)];
    let job_line = file.line(&jpath);
    let steps: Vec<&Value> = get(job, "steps")
        .and_then(Value::as_sequence)
        .map(|s| s.iter().collect())
        .unwrap_or_default();
    let step_path = |i: usize, k: &'static str| -> Vec<Seg<'_>> {
        let mut p = jpath.to_vec();
        p.extend([Seg::Key("steps"), Seg::Item(i), Seg::Key(k)]);
        p
    };

    let mut logins: Vec<Login> = Vec::new();
    // Needs per step index (attached to the login in force at that step).
    let mut needs: Vec<(usize, String)> = Vec::new();
    let mut exposures: Vec<CiExposure> = Vec::new();
    let mut secret_vars: BTreeSet<String> = BTreeSet::new();
    let mut artifacts: Vec<(usize, Vec<String>, Option<usize>)> = Vec::new();
    let mut files: Vec<(usize, String, String, Option<usize>)> = Vec::new();
    let mut fork_checkout: Option<usize> = None;
    let mut vault_steps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();

    for (i, step) in steps.iter().enumerate() {
        let uses = get(step, "uses").and_then(scalar).unwrap_or_default();
        let with = get(step, "with");
        let w = |k: &str| {
            with.and_then(|w| get(w, k))
                .and_then(scalar)
                .map(|s| subst(&s, &call.inputs))
        };
        // Step env: names bound to secret outputs of earlier vault-action steps.
        for (k, v) in entries(get(step, "env").unwrap_or(&Value::Null)) {
            if let Some(s) = scalar(v) {
                if vault_steps
                    .keys()
                    .any(|id| s.contains(&format!("steps.{id}.outputs")))
                {
                    secret_vars.insert(k.clone());
                }
                if (k == "ACTIONS_STEP_DEBUG" || k == "ACTIONS_RUNNER_DEBUG") && truthy(v) {
                    exposures.push(CiExposure {
                        kind: "step-debug".into(),
                        line: file.line(&[&step_path(i, "env")[..], &[Seg::Key(&k)]].concat()),
                        detail: format!("step env sets {k}: true: debug logging for this step"),
                        ..Default::default()
                    });
                }
            }
        }
        if uses.starts_with("hashicorp/vault-action@") || uses == "hashicorp/vault-action" {
            let method = w("method").unwrap_or_else(|| "token".into());
            let mount = w("path").unwrap_or_else(|| method.clone());
            let login = Login {
                method: method.clone(),
                mount: Val::of(&mount),
                role: w("role").map(|r| Val::of(&r)),
                namespace: w("namespace").map(|n| Val::of(&n)),
                audience: w("jwtGithubAudience")
                    .filter(|a| !a.is_empty())
                    .map(|a| Val::of(&a)),
                user: w("username").map(|u| Val::of(&u)),
                self_signed: w("jwtPrivateKey").is_some(),
                step: i,
                line: file.line(&step_path(i, "uses")),
            };
            logins.push(login);
            let mut outputs = BTreeSet::new();
            let export_env = w("exportEnv").map(|v| v.trim() != "false").unwrap_or(true);
            if let Some(secrets) = w("secrets") {
                for bad in malformed_secrets(&secrets) {
                    out.notes.push(format!(
                        "{}:{}: job `{jid}`: vault-action secrets entry {bad:?} is not `<path> <selector> [| NAME]` (entries are separated by `;`, not by newlines): ignored",
                        file.name,
                        file.line(&[&step_path(i, "with")[..], &[Seg::Key("secrets")]].concat()).unwrap_or(0)
                    ));
                }
                for (path, _sel, name) in parse_secrets(&secrets) {
                    needs.push((i, path));
                    if let Some(n) = name {
                        outputs.insert(n);
                    }
                }
            }
            if let Some(pki) = w("pki") {
                for entry in pki.split(';').map(str::trim).filter(|e| !e.is_empty()) {
                    if let Some(p) = entry.split_whitespace().next() {
                        needs.push((i, p.to_string()));
                    }
                }
            }
            if export_env {
                secret_vars.extend(outputs.iter().cloned());
            }
            if let Some(id) = get(step, "id").and_then(scalar) {
                let mut o = outputs.clone();
                if w("outputToken").is_some_and(|v| v.trim() == "true") {
                    o.insert("vault_token".into());
                }
                vault_steps.insert(id, o);
            }
            if with.and_then(|w| get(w, "exportToken")).is_some_and(truthy) {
                secret_vars.insert("VAULT_TOKEN".into());
                exposures.push(CiExposure {
                    kind: "export-token".into(),
                    line: file
                        .line(&[&step_path(i, "with")[..], &[Seg::Key("exportToken")]].concat())
                        .or(file.line(&step_path(i, "uses"))),
                    detail: format!(
                        "hashicorp/vault-action with exportToken: true (step {}): VAULT_TOKEN is exported to the {} later step(s) of job `{jid}`",
                        i + 1,
                        steps.len() - i - 1
                    ),
                    later_steps: Some(steps.len() - i - 1),
                    ..Default::default()
                });
            }
            continue;
        }
        if uses.starts_with("actions/upload-artifact@") {
            let paths: Vec<String> = w("path")
                .map(|p| {
                    p.lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            artifacts.push((i, paths, file.line(&step_path(i, "uses"))));
            continue;
        }
        if uses.starts_with("actions/checkout@") {
            let r = w("ref").unwrap_or_default();
            let repo = w("repository").unwrap_or_default();
            if r.contains("head.sha")
                || r.contains("head.ref")
                || r.contains("github.head_ref")
                || r.contains("refs/pull/")
                || repo.contains("head.repo")
            {
                fork_checkout.get_or_insert(i);
            }
            continue;
        }
        if let Some(run) = get(step, "run").and_then(scalar) {
            let run = subst(&run, &call.inputs);
            // References to secret outputs inside the script, and step env.
            let mut known = secret_vars.clone();
            for (id, outs) in &vault_steps {
                for o in outs {
                    if run.contains(&format!("steps.{id}.outputs.{o}")) {
                        known.insert(o.clone());
                    }
                }
            }
            let scan = shell::scan(&run, &known, &BTreeSet::new());
            let line_of = |off: usize| file.scalar_line(&step_path(i, "run"), off);
            for l in &scan.logins {
                logins.push(Login {
                    method: l.method.clone(),
                    mount: Val::of(&l.mount),
                    role: l.role.as_deref().map(Val::of),
                    namespace: l.namespace.as_deref().map(Val::of),
                    audience: None,
                    user: None,
                    self_signed: false,
                    step: i,
                    line: line_of(l.line),
                });
            }
            for a in &scan.accesses {
                needs.push((i, a.path.clone()));
            }
            secret_vars.extend(scan.assigned.iter().cloned());
            if scan.fork_checkout.is_some() {
                fork_checkout.get_or_insert(i);
            }
            for u in &scan.uses {
                match u {
                    SecretUse::Echoed { var, line } => exposures.push(CiExposure {
                        kind: "secret-echoed".into(),
                        line: line_of(*line),
                        detail: format!("step {} prints {var} to the job log", i + 1),
                        ..Default::default()
                    }),
                    SecretUse::File { var, file: f, line } => {
                        files.push((i, var.clone(), f.clone(), line_of(*line)))
                    }
                    SecretUse::Traced { what, line } => exposures.push(CiExposure {
                        kind: "debug-logging".into(),
                        line: line_of(*line),
                        detail: format!("step {}: {what}", i + 1),
                        ..Default::default()
                    }),
                }
            }
        }
    }
    // Secrets written to files that a later step uploads.
    for (si, var, f, line) in &files {
        for (ai, pats, aline) in &artifacts {
            if ai > si && pats.iter().any(|p| super::path_covered(p, f)) {
                exposures.push(CiExposure {
                    kind: "secret-in-artifact".into(),
                    line: *line,
                    detail: format!(
                        "step {} writes {var} to {f}, uploaded as an artifact by actions/upload-artifact (line {})",
                        si + 1,
                        aline.map(|l| l.to_string()).unwrap_or_else(|| "?".into())
                    ),
                    ..Default::default()
                });
                break;
            }
        }
    }
    if logins.is_empty() && needs.is_empty() {
        return;
    }
    // Debug switches and workflow-level env.
    for (scope, base) in [("workflow", vec![]), ("job", jpath.to_vec())] {
        let v = if base.is_empty() {
            &ctx.file.value
        } else {
            job
        };
        let f = if base.is_empty() { ctx.file } else { file };
        for (k, val) in entries(get(v, "env").unwrap_or(&Value::Null)) {
            let mut p = base.clone();
            p.extend([Seg::Key("env"), Seg::Key(&k)]);
            if (k == "ACTIONS_STEP_DEBUG" || k == "ACTIONS_RUNNER_DEBUG") && truthy(val) {
                exposures.push(CiExposure {
                    kind: "step-debug".into(),
                    file: (f.name != file.name).then(|| f.name.clone()),
                    line: f.line(&p),
                    detail: format!(
                        "{scope}-level env sets {k}: true: debug logging for every step"
                    ),
                    ..Default::default()
                });
            } else if scope == "workflow" {
                let s = scalar(val).unwrap_or_default();
                if s.contains("secrets.") && super::credential_name(&k)
                    || k == "VAULT_TOKEN"
                    || k == "BAO_TOKEN"
                {
                    exposures.push(CiExposure {
                        kind: "workflow-env-token".into(),
                        file: (f.name != file.name).then(|| f.name.clone()),
                        line: f.line(&p),
                        detail: format!("workflow-level env {k} = {s}: every step of every job, third-party actions included, gets it"),
                        ..Default::default()
                    });
                }
            }
        }
    }

    // Permissions: the job's, else the workflow's, else the caller's.
    let perms: Option<&Value> = get(job, "permissions")
        .or_else(|| get(&file.value, "permissions"))
        .or_else(|| call.caller_permissions.first().copied());
    let oidc = perms.is_some_and(id_token_write);

    let environment = get(job, "environment").and_then(|e| match e {
        Value::Mapping(_) => get(e, "name").and_then(scalar),
        other => scalar(other),
    });
    let environment = environment.map(|e| Val::of(&subst(&e, &call.inputs)));
    let runner = get(job, "runs-on").map(strings).unwrap_or_default();
    let runner_env = if runner.iter().any(|r| r == "self-hosted") {
        Some("self-hosted")
    } else if runner.iter().any(|r| {
        ["ubuntu-", "windows-", "macos-"]
            .iter()
            .any(|p| r.starts_with(p))
    }) {
        Some("github-hosted")
    } else {
        None
    };

    // One login per distinct configuration; needs go to the login in force at their step.
    let mut distinct: Vec<Login> = Vec::new();
    for l in &logins {
        if !distinct.iter().any(|d| d.key() == l.key()) {
            distinct.push(l.clone());
        }
    }
    if distinct.is_empty() {
        distinct.push(Login {
            method: "token".into(),
            mount: Val::Known("token".into()),
            role: None,
            namespace: None,
            audience: None,
            user: None,
            self_signed: false,
            step: 0,
            line: job_line,
        });
    }
    let login_at = |step: usize| -> usize {
        let mut best = 0;
        for (k, d) in distinct.iter().enumerate() {
            if logins.iter().any(|l| l.key() == d.key() && l.step <= step) {
                best = k;
            }
        }
        best
    };
    let wf_name = get(&ctx.file.value, "name")
        .and_then(scalar)
        .unwrap_or_else(|| ctx.rel.clone());
    let stem = Path::new(&call.rel)
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let caller_stem = Path::new(&ctx.rel)
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let (base_name, ci_job) = match &call.caller_job {
        Some(cj) => (
            format!("{}/{caller_stem}/{cj}/{jid}", ctx.repo.full()),
            format!("{cj} → {}#{jid}", call.rel),
        ),
        None => (format!("{}/{stem}/{jid}", ctx.repo.full()), jid.to_string()),
    };
    let fork_triggers = ["pull_request_target", "workflow_run", "issue_comment"];
    // `if:` guards that keep pull requests from forks out of the job.
    let cond = get(job, "if")
        .and_then(scalar)
        .unwrap_or_default()
        .replace(' ', "");
    let fork_guard = cond.contains("head.repo.full_name==github.repository")
        || cond.contains("github.repository==github.event.pull_request.head.repo.full_name")
        || cond.contains("head.repo.fork==false")
        || cond.contains("!github.event.pull_request.head.repo.fork");
    if fork_guard
        && ctx
            .triggers
            .iter()
            .any(|t| fork_triggers.contains(&t.event.as_str()))
    {
        out.notes.push(format!(
            "{}:{}: job `{jid}` runs only for pull requests from the repository itself (`if: {}`): not reported as running fork code",
            file.name,
            job_line.unwrap_or(0),
            get(job, "if").and_then(scalar).unwrap_or_default()
        ));
    }

    for (li, login) in distinct.iter().enumerate() {
        let Some(method) = super::jobscan::login_method(&login.method) else {
            out.notes.push(format!(
                "{}:{}: job `{jid}` logs in with method `{}`, which the inventory cannot describe: skipped",
                file.name,
                login.line.unwrap_or(0),
                login.method
            ));
            continue;
        };
        if method == AuthMethod::Jwt && !login.self_signed && !oidc {
            out.notes.push(format!(
                "{}:{}: job `{jid}` logs in with jwt but has no `permissions: id-token: write` (job, workflow or caller): GitHub issues it no OIDC token, so this login fails",
                file.name,
                job_line.unwrap_or(0)
            ));
        }
        for t in &ctx.triggers {
            let mut name = base_name.clone();
            if distinct.len() > 1 {
                name.push_str(&format!(
                    "#{}",
                    login
                        .role
                        .as_ref()
                        .and_then(Val::known)
                        .unwrap_or(&li.to_string())
                ));
            }
            if ctx.triggers.len() > 1 {
                name.push_str(&format!("@{}", t.label()));
            }
            let ci = CiEvidence {
                provider: "github".into(),
                file: file.name.clone(),
                job: ci_job.clone(),
                line: job_line,
                events: vec![t.event.clone()],
                exposures: Vec::new(),
            };
            let mount = match &login.mount {
                Val::Known(m) => m.clone(),
                Val::Dynamic(_) => login.method.clone(),
            };
            let mut d = Draft::new(name, method, &mount, ci);
            if let Val::Dynamic(e) = &login.mount {
                d.dynamic("auth.mount", e.clone());
            }
            match &login.role {
                Some(Val::Known(r)) => d.auth.role = Some(r.clone()),
                Some(Val::Dynamic(e)) => d.dynamic("auth.role", e.clone()),
                None => {}
            }
            match &login.namespace {
                Some(Val::Known(n)) => d.auth.namespace = n.clone(),
                Some(Val::Dynamic(e)) => d.dynamic("auth.namespace", e.clone()),
                None => {}
            }
            match &login.user {
                Some(Val::Known(u)) => d.auth.user = Some(u.clone()),
                Some(Val::Dynamic(e)) => d.dynamic("auth.user", e.clone()),
                None => {}
            }
            if method == AuthMethod::Kubernetes {
                d.dynamic(
                    "auth.service_account",
                    "the runner pod's service account (kubernetesTokenPath)",
                );
            }
            if method == AuthMethod::Approle && d.auth.role.is_none() {
                d.dynamic(
                    "auth.role",
                    "the AppRole behind the role-id given to the action (roleId)",
                );
            }
            if method == AuthMethod::Jwt {
                if login.self_signed {
                    d.dynamic(
                        "auth.claims",
                        "a self-signed JWT (jwtPrivateKey): its claims are not GitHub's",
                    );
                } else {
                    claims(
                        &mut d,
                        ctx,
                        call,
                        t,
                        login,
                        environment.as_ref(),
                        runner_env,
                        &wf_name,
                        opts,
                    );
                }
            }
            for (step, path) in &needs {
                if login_at(*step) == li {
                    d.need(&subst(path, &call.inputs));
                }
            }
            for e in &exposures {
                d.expose(e.clone());
            }
            let has_access = !d.needs.is_empty() || d.dynamic.iter().any(|x| x.field == "needs");
            if t.event == "pull_request_target" && has_access && !fork_guard {
                d.expose(CiExposure {
                    kind: "pull-request-target".into(),
                    line: file.line(&[Seg::Key("on")]),
                    detail: format!(
                        "job `{jid}` reads Vault secrets on pull_request_target: any pull request, from a fork too, triggers it with the base repository's privileges"
                    ),
                    ..Default::default()
                });
            }
            if let Some(step) = fork_checkout.filter(|_| !fork_guard) {
                if fork_triggers.contains(&t.event.as_str()) {
                    d.expose(CiExposure {
                        kind: "fork-code".into(),
                        line: file.line(&step_path(step, if get(steps[step], "run").is_some() { "run" } else { "uses" })),
                        detail: format!(
                            "job `{jid}` runs on {} and checks out the pull request's code (step {}) in a job that reads Vault secrets",
                            t.event,
                            step + 1
                        ),
                        ..Default::default()
                    });
                }
            }
            out.pipelines.push(d.finish());
        }
    }
}

/// A claim value inside `sub`: `:` is encoded as `%3A`.
fn enc(s: &str) -> String {
    s.replace(':', "%3A")
}

#[allow(clippy::too_many_arguments)]
fn claims(
    d: &mut Draft,
    ctx: &Workflow,
    call: &Call,
    t: &Trigger,
    login: &Login,
    environment: Option<&Val>,
    runner_env: Option<&str>,
    wf_name: &str,
    opts: &Options,
) {
    let repo = ctx.repo;
    d.claim(
        "iss",
        Val::Known(opts.github_issuer.clone().unwrap_or_else(|| ISSUER.into())),
    );
    let aud = login
        .audience
        .clone()
        .unwrap_or_else(|| Val::Known(format!("https://github.com/{}", repo.owner)));
    d.claim("aud", aud);
    d.claim("repository", Val::Known(repo.full()));
    d.claim("repository_owner", Val::Known(repo.owner.clone()));
    if let (Some(o), Some(r)) = (&repo.owner_id, &repo.repo_id) {
        d.claim("repository_owner_id", Val::Known(o.clone()));
        d.claim("repository_id", Val::Known(r.clone()));
    }
    d.claim("event_name", Val::Known(t.event.clone()));
    d.claim("ref", t.ref_.clone());
    if let Some(rt) = t.ref_type {
        d.claim("ref_type", Val::Known(rt.into()));
    }
    if let Some(b) = &t.base_ref {
        d.claim("base_ref", Val::Known(b.clone()));
    }
    if t.event == "pull_request" || t.event == "pull_request_target" {
        d.claim(
            "head_ref",
            Val::Dynamic("the pull request's head branch".into()),
        );
    }
    if let Some(e) = environment {
        d.claim("environment", e.clone());
    }
    d.claim("workflow", Val::of(wf_name));
    let wref = match &t.ref_ {
        Val::Known(r) => Val::Known(format!("{}/{}@{r}", repo.full(), ctx.rel)),
        Val::Dynamic(e) => Val::Dynamic(format!("{}/{}@<{e}>", repo.full(), ctx.rel)),
    };
    d.claim("workflow_ref", wref.clone());
    let jwr = match &call.job_workflow {
        None => wref,
        Some((path, Some(r))) => Val::Known(format!("{path}@{r}")),
        Some((path, None)) => match &t.ref_ {
            Val::Known(r) => Val::Known(format!("{path}@{r}")),
            Val::Dynamic(e) => Val::Dynamic(format!("{path}@<{e}>")),
        },
    };
    d.claim("job_workflow_ref", jwr);
    if let Some(r) = runner_env {
        d.claim("runner_environment", Val::Known(r.into()));
    }
    // sub: environment, else pull_request, else the ref.
    let context: Val = if let Some(e) = environment {
        match e {
            Val::Known(e) => Val::Known(format!("environment:{}", enc(e))),
            Val::Dynamic(x) => Val::Dynamic(format!("environment:{x}")),
        }
    } else if t.event == "pull_request" {
        Val::Known("pull_request".into())
    } else {
        match &t.ref_ {
            Val::Known(r) => Val::Known(format!("ref:{}", enc(r))),
            Val::Dynamic(x) => Val::Dynamic(format!("ref:<{x}>")),
        }
    };
    let sub = match &opts.sub_template {
        None => match &context {
            Val::Known(c) => Val::Known(format!("repo:{}:{c}", repo.sub_repo())),
            Val::Dynamic(x) => Val::Dynamic(format!("repo:{}:{x}", repo.sub_repo())),
        },
        Some(keys) => {
            let mut parts: Vec<String> = Vec::new();
            let mut unknown: Vec<String> = Vec::new();
            for k in keys {
                match k.as_str() {
                    "context" => match &context {
                        Val::Known(c) => parts.push(c.clone()),
                        Val::Dynamic(x) => {
                            parts.push(x.clone());
                            unknown.push(k.clone());
                        }
                    },
                    "repo" => parts.push(format!("repo:{}", repo.sub_repo())),
                    other => match d.claims.get(other).and_then(|v| v.as_str()) {
                        Some(v) => parts.push(format!("{other}:{}", enc(v))),
                        None => {
                            parts.push(format!("{other}:<{other}>"));
                            unknown.push(other.to_string());
                        }
                    },
                }
            }
            if unknown.is_empty() {
                Val::Known(parts.join(":"))
            } else {
                Val::Dynamic(parts.join(":"))
            }
        }
    };
    d.claim("sub", sub);
}

/// The `secrets` input of vault-action: `(path, selector, output name)` per entry. Entries are
/// separated by `;` only; the last `|` splits off the output name; the path spec must be
/// exactly `<path> <selector>`. Without `| NAME` the name is the selector with `.` → `__`,
/// other non-alphanumerics removed, upper-cased; wildcard selectors (`*`, `**`) have none.
pub fn parse_secrets(input: &str) -> Vec<(String, String, Option<String>)> {
    let mut out = Vec::new();
    for entry in input.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let (spec, name) = match entry.rfind('|') {
            Some(i) => (entry[..i].trim(), Some(entry[i + 1..].trim().to_string())),
            None => (entry, None),
        };
        let parts = spec_words(spec);
        if parts.len() != 2 {
            continue;
        }
        let (path, sel) = (parts[0].clone(), parts[1].clone());
        let name = name.filter(|n| !n.is_empty()).or_else(|| {
            if sel == "*" || sel == "**" {
                None
            } else {
                Some(
                    sel.replace('.', "__")
                        .chars()
                        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect::<String>()
                        .to_ascii_uppercase(),
                )
            }
        });
        out.push((path, sel, name));
    }
    out
}

/// Whitespace-separated words of a path spec; a `${{ … }}` expression is one word (GitHub
/// substitutes it before the action splits the spec).
fn spec_words(spec: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    let mut chars = spec.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek() == Some(&'{') {
            depth += 1;
        }
        if c == '}' && depth > 0 && chars.peek() == Some(&'}') {
            cur.push(c);
            cur.push(chars.next().unwrap_or('}'));
            depth -= 1;
            continue;
        }
        if c.is_whitespace() && depth == 0 {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Entries of the `secrets` input that do not follow the grammar (for notes).
pub fn malformed_secrets(input: &str) -> Vec<String> {
    input
        .split(';')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .filter(|e| {
            let spec = e.rfind('|').map(|i| &e[..i]).unwrap_or(e);
            spec_words(spec).len() != 2
        })
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_grammar() {
        let s = parse_secrets(
            "secret/data/ci/aws accessKey | AWS_ACCESS_KEY_ID ;\n secret/data/ci/aws secretKey | AWS_SECRET_ACCESS_KEY ;\nsecret/data/ci npm.token\nsecret/data/ci/all * | CI_ ;",
        );
        assert_eq!(s.len(), 2, "{s:?}");
        // Newlines do not separate entries: the third piece has four words and is dropped.
        assert_eq!(
            s[0],
            (
                "secret/data/ci/aws".into(),
                "accessKey".into(),
                Some("AWS_ACCESS_KEY_ID".into())
            )
        );
        let m = parse_secrets("secret/data/ci/${{ matrix.app }} dsn | DSN");
        assert_eq!(m[0].0, "secret/data/ci/${{ matrix.app }}");
        let t = parse_secrets("secret/data/ci npm.token ; secret/data/ci/all ** ");
        assert_eq!(t[0].2.as_deref(), Some("NPM__TOKEN"));
        assert_eq!(t[1].2, None);
        assert_eq!(malformed_secrets("a b ; c"), vec!["c".to_string()]);
    }
}
