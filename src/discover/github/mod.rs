//! GitHub Actions: `.github/workflows/*.yml`.
//!
//! A job is a pipeline when it logs in to Vault or reads from it: a `hashicorp/vault-action`
//! step, or `run:` steps calling `vault`/`bao` or `curl …/v1/…`. Each such job yields one
//! pipeline per login and trigger (the OIDC token's `sub`, `ref` and `event_name` differ per
//! trigger), with the claims GitHub puts in the token (`job.rs`).

mod job;
mod matrix;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use yaml_serde::Value;

use super::yaml::{entries, get, scalar, strings, YamlFile};
use super::{is_expression, DiscoverError, Discovery, Options, RepoName, Result, Val};

use job::job_pipelines;

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
        let workflow = YamlFile::read(f, &shown)?;
        if !workflow.value.is_mapping() {
            return Err(DiscoverError::NotAWorkflow { shown });
        }
        workflows.insert(rel, workflow);
    }
    for (rel, wf) in &workflows {
        let triggers = triggers(wf, opts);
        let standalone: Vec<Trigger> = triggers
            .iter()
            .filter(|t| t.event != "workflow_call")
            .cloned()
            .collect();
        if standalone.is_empty() {
            // Only runs when called: discovered from its callers, or on its own when no
            // workflow of this checkout calls it (another repository may).
            if !triggers.is_empty() && !called_here(rel, &repo, &workflows) {
                let workflow = Workflow {
                    repo: &repo,
                    root: &root,
                    rel: rel.clone(),
                    file: wf,
                    triggers,
                };
                uncalled_workflow(workflow, opts, out);
            }
            continue;
        }
        let ctx = Workflow {
            repo: &repo,
            root: &root,
            rel: rel.clone(),
            file: wf,
            triggers: standalone,
        };
        for (job_id, job) in entries(get(&wf.value, "jobs").unwrap_or(&Value::Null)) {
            if let Some(uses) = get(job, "uses").and_then(scalar) {
                let caller = Caller {
                    names: CallerNames {
                        ids: job_id.clone(),
                        shown: job_id.clone(),
                    },
                    file: wf,
                    inputs: BTreeMap::new(),
                    fixed_ref: None,
                    inherited_permissions: Vec::new(),
                    depth: 1,
                };
                let mut budget = MAX_NESTED_CALLS;
                let called = Called {
                    workflows: &workflows,
                    opts,
                };
                called.call(&ctx, &caller, job, &uses, &mut budget, out);
                continue;
            }
            let call = Call {
                file: wf,
                rel: rel.clone(),
                job_id: job_id.clone(),
                inputs: BTreeMap::new(),
                caller_permissions: Vec::new(),
                job_workflow: None,
                caller: None,
                uncalled: false,
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
    /// The checkout's root: local actions (`uses: ./…`) are read below it, never outside.
    root: &'a Path,
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
    /// The calling jobs (reusable workflows).
    caller: Option<CallerNames>,
    /// A reusable workflow no workflow of this checkout calls: the caller's repository,
    /// event, ref and workflow, all of which the token carries, are unknown.
    uncalled: bool,
}

/// The jobs that call a reusable workflow, from the triggering workflow's down.
#[derive(Debug, Clone)]
struct CallerNames {
    /// Their ids (`deploy`, `deploy/release`): part of the pipeline's name.
    ids: String,
    /// The same with the workflows between (`deploy → .github/workflows/_release.yml#release`):
    /// `ci.job` before the called job.
    shown: String,
}

/// Reusable workflows calling reusable workflows are followed this deep, the triggering
/// workflow included (GitHub's own limit).
const MAX_CALL_DEPTH: usize = 10;
/// Nested calls followed from one job of a triggering workflow at most: a fan-out at every
/// level multiplies.
const MAX_NESTED_CALLS: usize = 1000;

/// A job that calls a reusable workflow, with what it passes on to the workflow's jobs.
struct Caller<'a> {
    names: CallerNames,
    /// The workflow the calling job is written in.
    file: &'a YamlFile,
    /// The inputs in force where the calling job is written (its `with:` may use them).
    inputs: BTreeMap<String, String>,
    /// The ref the calling job runs at, when a caller up the chain fixed it (`@v1`).
    fixed_ref: Option<String>,
    /// The permissions a caller up the chain set, in force where neither the calling job nor
    /// its workflow sets any (a called workflow can only keep or narrow them).
    inherited_permissions: Vec<&'a Value>,
    depth: usize,
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

/// Whether a pushed ref is a branch or a tag.
#[derive(Debug, Clone, Copy)]
enum RefKind {
    Branch,
    Tag,
}

impl Trigger {
    /// A push of a branch or tag filter: known when the filter is a literal name, else the
    /// pattern as written.
    fn pushed(event: &str, name: &str, kind: RefKind) -> Trigger {
        let (prefix, ref_type) = match kind {
            RefKind::Branch => ("refs/heads", "branch"),
            RefKind::Tag => ("refs/tags", "tag"),
        };
        let full = format!("{prefix}/{name}");
        Trigger {
            event: event.to_string(),
            ref_: if literal(name) {
                Val::Known(full)
            } else {
                Val::Dynamic(full)
            },
            ref_type: Some(ref_type),
            base_ref: None,
        }
    }

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
                    out.push(Trigger::pushed(&event, &b, RefKind::Branch));
                }
                for t in tags.unwrap_or_default() {
                    out.push(Trigger::pushed(&event, &t, RefKind::Tag));
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
                let branches = list("branches").unwrap_or_default();
                if branches.is_empty() {
                    out.push(Trigger {
                        event: event.clone(),
                        ref_: Val::Dynamic("the pull request's base branch".into()),
                        ref_type: Some("branch"),
                        base_ref: None,
                    });
                }
                for branch in branches {
                    out.push(Trigger {
                        event: event.clone(),
                        ref_: if literal(&branch) {
                            Val::Known(format!("refs/heads/{branch}"))
                        } else {
                            Val::Dynamic(format!("refs/heads/{branch}"))
                        },
                        ref_type: Some("branch"),
                        base_ref: literal(&branch).then(|| branch.clone()),
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

/// The workflows of the checkout and the options, for following reusable-workflow calls.
struct Called<'a> {
    workflows: &'a BTreeMap<String, YamlFile>,
    opts: &'a Options,
}

impl Called<'_> {
    /// The jobs of the reusable workflow `uses` that `job` (written in `caller.file`) calls, as
    /// pipelines of the triggering workflow `ctx`; a job of that workflow that calls yet another
    /// reusable workflow is followed the same way, to GitHub's depth.
    fn call(
        &self,
        ctx: &Workflow,
        caller: &Caller,
        job: &Value,
        uses: &str,
        budget: &mut usize,
        out: &mut Discovery,
    ) {
        let Some(callee) = self.callee(ctx, caller, uses, out) else {
            return;
        };
        let Some(file) = self.workflows.get(&callee.rel) else {
            out.notes.push(format!(
                "{}: job `{}` calls {uses}, which is not in this checkout",
                caller.file.name, caller.names.ids
            ));
            return;
        };
        let inputs: BTreeMap<String, String> = get(job, "with")
            .map(entries)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(k, v)| scalar(v).map(|v| (k, job::subst(&v, &caller.inputs))))
            .collect();
        let caller_permissions =
            match get(job, "permissions").or_else(|| get(&caller.file.value, "permissions")) {
                Some(p) => vec![p],
                None => caller.inherited_permissions.clone(),
            };
        for (cid, cjob) in entries(get(&file.value, "jobs").unwrap_or(&Value::Null)) {
            if let Some(nested_uses) = get(cjob, "uses").and_then(scalar) {
                let nested = Caller {
                    names: CallerNames {
                        ids: format!("{}/{cid}", caller.names.ids),
                        shown: format!("{} → {}#{cid}", caller.names.shown, callee.rel),
                    },
                    file,
                    inputs: inputs.clone(),
                    fixed_ref: callee.fixed_ref.clone(),
                    inherited_permissions: caller_permissions.clone(),
                    depth: caller.depth + 1,
                };
                if nested.depth >= MAX_CALL_DEPTH || *budget == 0 {
                    out.notes.push(format!(
                        "{}: job `{cid}` nests another reusable workflow deeper than GitHub's \
                         {MAX_CALL_DEPTH} levels or past {MAX_NESTED_CALLS} calls: not followed",
                        file.name
                    ));
                    continue;
                }
                *budget -= 1;
                self.call(ctx, &nested, cjob, &nested_uses, budget, out);
                continue;
            }
            let call = Call {
                file,
                rel: callee.rel.clone(),
                job_id: cid.clone(),
                inputs: inputs.clone(),
                caller_permissions: caller_permissions.clone(),
                job_workflow: Some((callee.job_workflow.clone(), callee.fixed_ref.clone())),
                caller: Some(caller.names.clone()),
                uncalled: false,
            };
            let caller_ctx = Workflow {
                repo: ctx.repo,
                root: ctx.root,
                rel: ctx.rel.clone(),
                file: ctx.file,
                triggers: ctx.triggers.clone(),
            };
            job_pipelines(&caller_ctx, &call, cjob, self.opts, out);
        }
    }

    /// Where a `uses:` of this repository leads: the workflow's path in the checkout, its
    /// `job_workflow_ref` without the ref, and the ref when fixed. A workflow of another
    /// repository is noted and not followed.
    fn callee(
        &self,
        ctx: &Workflow,
        caller: &Caller,
        uses: &str,
        out: &mut Discovery,
    ) -> Option<Callee> {
        let at = (&caller.file.name, &caller.names.ids);
        if let Some(local) = uses.strip_prefix("./") {
            return Some(Callee {
                rel: local.to_string(),
                job_workflow: format!("{}/{local}", ctx.repo.full()),
                // A local call runs at the caller's own ref.
                fixed_ref: caller.fixed_ref.clone(),
            });
        }
        let (path, r) = uses.split_once('@').unwrap_or((uses, ""));
        let mut parts = path.splitn(3, '/');
        let (o, n, rest) = (
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
        );
        if format!("{o}/{n}") != ctx.repo.full() {
            out.notes.push(format!(
                "{}: job `{}` calls {uses} from another repository: its jobs are not discovered (give that repository with --github to read them)",
                at.0, at.1
            ));
            return None;
        }
        out.notes.push(format!(
            "{}: job `{}` calls {uses}: read from this checkout, which may differ from {r}",
            at.0, at.1
        ));
        Some(Callee {
            rel: rest.to_string(),
            job_workflow: path.to_string(),
            fixed_ref: Some(r.to_string()),
        })
    }
}

/// A called reusable workflow: its path in the checkout, its `job_workflow_ref` without the
/// ref, and the ref when a caller fixed it.
struct Callee {
    rel: String,
    job_workflow: String,
    fixed_ref: Option<String>,
}

/// The jobs of a reusable workflow nothing here calls that run steps; a job that calls yet
/// another reusable workflow is noted and not followed (what it is given depends on the
/// unknown caller).
fn called_jobs<'w>(wf: &'w YamlFile, out: &mut Discovery) -> Vec<(String, &'w Value)> {
    let mut jobs = Vec::new();
    for (job_id, job) in entries(get(&wf.value, "jobs").unwrap_or(&Value::Null)) {
        if get(job, "uses").is_some() {
            out.notes.push(format!(
                "{}: job `{job_id}` nests another reusable workflow: not followed",
                wf.name
            ));
        } else {
            jobs.push((job_id, job));
        }
    }
    jobs
}

/// Whether a job of some workflow of this checkout calls the workflow at `rel`, locally
/// (`./.github/workflows/x.yml`) or by this repository's name (`owner/repo/…@ref`).
fn called_here(rel: &str, repo: &RepoName, workflows: &BTreeMap<String, YamlFile>) -> bool {
    let by_name = format!("{}/{rel}", repo.full());
    workflows.values().any(|wf| {
        entries(get(&wf.value, "jobs").unwrap_or(&Value::Null))
            .into_iter()
            .filter_map(|(_, job)| get(job, "uses").and_then(scalar))
            .any(|uses| {
                let path = uses.split_once('@').map_or(uses.as_str(), |(p, _)| p);
                path.strip_prefix("./") == Some(rel) || path.eq_ignore_ascii_case(&by_name)
            })
    })
}

/// The jobs of a reusable workflow nothing here calls, as pipelines of their own: what the
/// workflow itself fixes (its path in `job_workflow_ref`, environments, logins, paths) is exact;
/// what the caller decides is dynamic.
fn uncalled_workflow(ctx: Workflow, opts: &Options, out: &mut Discovery) {
    let (repo, rel, wf) = (ctx.repo, ctx.rel.clone(), ctx.file);
    let before = out.pipelines.len();
    for (job_id, job) in called_jobs(wf, out) {
        let call = Call {
            file: wf,
            rel: rel.to_string(),
            job_id: job_id.clone(),
            inputs: BTreeMap::new(),
            caller_permissions: Vec::new(),
            job_workflow: Some((format!("{}/{rel}", repo.full()), None)),
            caller: None,
            uncalled: true,
        };
        job_pipelines(&ctx, &call, job, opts, out);
    }
    if out.pipelines.len() > before {
        out.notes.push(format!(
            "{}: runs only on workflow_call and no workflow here calls it: its jobs are pipelines of their own, with the caller's repository, event, ref and inputs dynamic",
            wf.name
        ));
    }
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
        let parsed = parse_secrets(
            "secret/data/ci/aws accessKey | AWS_ACCESS_KEY_ID ;\n secret/data/ci/aws secretKey | AWS_SECRET_ACCESS_KEY ;\nsecret/data/ci npm.token\nsecret/data/ci/all * | CI_ ;",
        );
        assert_eq!(parsed.len(), 2, "{parsed:?}");
        // Newlines do not separate entries: the third piece has four words and is dropped.
        assert_eq!(
            parsed[0],
            (
                "secret/data/ci/aws".into(),
                "accessKey".into(),
                Some("AWS_ACCESS_KEY_ID".into())
            )
        );
        let parsed = parse_secrets("secret/data/ci/${{ matrix.app }} dsn | DSN");
        assert_eq!(parsed[0].0, "secret/data/ci/${{ matrix.app }}");
        let parsed = parse_secrets("secret/data/ci npm.token ; secret/data/ci/all ** ");
        assert_eq!(parsed[0].2.as_deref(), Some("NPM__TOKEN"));
        assert_eq!(parsed[1].2, None);
        assert_eq!(malformed_secrets("a b ; c"), vec!["c".to_string()]);
    }
}
