//! Azure Pipelines: `azure-pipelines.yml`, its `stages`, `jobs` (deployment jobs included) and
//! `steps`, with local `template:` files (confined to the repository) and `variables`
//! (literal values substituted for `$(name)`; variable groups are Azure DevOps settings, so
//! their values are dynamic).
//!
//! A job is a pipeline when a step logs in to Vault or reads from it: a script step (`script`,
//! `bash`, `pwsh`, `powershell`, or the inline script of `Bash@3`, `CmdLine@2`,
//! `PowerShell@2`, `AzureCLI@2`) calling `vault`/`bao`/`curl …/v1/`, or a Vault task from the
//! Marketplace (a `task:` whose name mentions Vault; there is no HashiCorp task), read from its
//! usual inputs. A login whose method, mount or role lives in a service connection is recorded
//! as dynamic, never guessed. A script that asks `System.OidcRequestUri` for an ID token logs in
//! with Azure DevOps claims (`docs/pipelines.md#azure-pipelines`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use yaml_serde::Value;

use super::jobscan::{self, JobScan, Script};
use super::shell::ShellLogin;
use super::yaml::{entries, get, scalar, strings, Seg, YamlFile};
use super::{Confined, DiscoverError, Discovery, Draft, Options, RepoName, Result, Val};
use crate::inventory::{AuthMethod, CiEvidence, CiExposure};

/// The audience of every Azure DevOps ID token.
pub const AUDIENCE: &str = "api://AzureADTokenExchange";
/// Template nesting read at most (Azure DevOps allows 100 files, 20 levels).
const MAX_TEMPLATE_DEPTH: usize = 20;
/// Tasks whose `inputs` hold an inline script, and the input's name.
const SCRIPT_TASKS: &[(&str, &str)] = &[
    ("bash", "script"),
    ("cmdline", "script"),
    ("powershell", "script"),
    ("azurecli", "inlinescript"),
    ("azurepowershell", "inline"),
];
/// Step keys whose value is a script.
const SCRIPT_KEYS: &[&str] = &["script", "bash", "pwsh", "powershell"];

/// A job with its steps read (templates expanded).
struct Job {
    /// `stage/job` (or `job` without stages).
    id: String,
    line: Option<usize>,
    variables: BTreeMap<String, String>,
    groups: Vec<String>,
    /// A `condition:` of the job or its stage that looks at the ref or the build reason (it
    /// may keep pull-request builds out; Azure DevOps evaluates it at run time).
    ref_condition: Option<String>,
    /// Scripts per file (a template's steps are scanned with their own lines).
    scripts: Vec<(String, Script)>,
    tasks: Vec<Task>,
}

/// A Vault task step.
struct Task {
    name: String,
    /// Inputs with lower-cased names.
    inputs: BTreeMap<String, String>,
    file: String,
    line: Option<usize>,
}

/// The triggers of the pipeline.
struct Triggers {
    /// Pushes run it: the branches (`None`: every branch).
    push: Option<Vec<String>>,
    push_enabled: bool,
    pull_request: bool,
}

/// Reading state: the repository root templates must stay in, and the jobs found.
struct Reader<'o> {
    root: PathBuf,
    jobs: Vec<Job>,
    out: &'o mut Discovery,
}

pub fn discover(
    file: &Path,
    project: Option<&RepoName>,
    _opts: &Options,
    out: &mut Discovery,
) -> Result<()> {
    let file = super::config_in(file, &["azure-pipelines.yml", "azure-pipelines.yaml"]);
    let shown = file.display().to_string();
    let config = YamlFile::read(&file, &shown)?;
    let root = repository_root(&file);
    let triggers = triggers(&config.value);
    let mut top = Job {
        id: String::new(),
        line: None,
        variables: BTreeMap::new(),
        groups: Vec::new(),
        ref_condition: None,
        scripts: Vec::new(),
        tasks: Vec::new(),
    };
    variables(get(&config.value, "variables"), &mut top, &config.name, out);
    if get(&config.value, "extends").is_some() {
        out.notes.push(format!(
            "{shown}: `extends:` templates are not read: the jobs they define are not discovered"
        ));
    }
    let mut reader = Reader {
        root,
        jobs: Vec::new(),
        out,
    };
    reader.pipeline_body(&config, &top)?;
    let Reader { jobs, out, .. } = reader;
    for job in jobs {
        if let Some(draft) = pipeline(&shown, &job, &triggers, project) {
            out.pipelines.push(draft.finish());
        }
    }
    Ok(())
}

/// The checkout the file is in: the nearest ancestor with `.git`, else the file's directory.
fn repository_root(file: &Path) -> PathBuf {
    let parent = file.parent().filter(|p| !p.as_os_str().is_empty());
    let dir = parent.unwrap_or(Path::new("."));
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    dir.ancestors()
        .find(|a| a.join(".git").exists())
        .map(Path::to_path_buf)
        .unwrap_or(dir)
}

impl Reader<'_> {
    /// `stages`, `jobs` or `steps` at the top of the pipeline file.
    fn pipeline_body(&mut self, f: &YamlFile, inherited: &Job) -> Result<()> {
        if let Some(stages) = get(&f.value, "stages") {
            self.stages(f, stages, &[Seg::Key("stages")], inherited, 0)?;
        } else if let Some(jobs) = get(&f.value, "jobs") {
            self.jobs(f, jobs, &[Seg::Key("jobs")], "", inherited, 0)?;
        } else if let Some(steps) = get(&f.value, "steps") {
            let mut job = inherited.child("job".into(), f.line(&[Seg::Key("steps")]));
            self.steps(f, steps, &[Seg::Key("steps")], &mut job, 0)?;
            self.jobs.push(job);
        }
        Ok(())
    }

    fn stages(
        &mut self,
        f: &YamlFile,
        stages: &Value,
        path: &[Seg],
        inherited: &Job,
        depth: usize,
    ) -> Result<()> {
        let Value::Sequence(items) = stages else {
            return Ok(());
        };
        for (i, stage) in items.iter().enumerate() {
            let mut stage_path = path.to_vec();
            stage_path.push(Seg::Item(i));
            if let Some(t) = get(stage, "template").and_then(scalar) {
                let Some(tf) = self.template(f, &t, &stage_path, stage, depth)? else {
                    continue;
                };
                if let Some(inner) = get(&tf.value, "stages") {
                    self.stages(&tf, inner, &[Seg::Key("stages")], inherited, depth + 1)?;
                }
                continue;
            }
            let name = get(stage, "stage")
                .and_then(scalar)
                .unwrap_or_else(|| format!("stage{}", i + 1));
            let mut scope = inherited.child(name.clone(), None);
            scope.condition(stage);
            variables(get(stage, "variables"), &mut scope, &f.name, self.out);
            let jobs = get(stage, "jobs").unwrap_or(&Value::Null);
            let mut jobs_path = stage_path.clone();
            jobs_path.push(Seg::Key("jobs"));
            self.jobs(f, jobs, &jobs_path, &name, &scope, depth)?;
        }
        Ok(())
    }

    fn jobs(
        &mut self,
        f: &YamlFile,
        jobs: &Value,
        path: &[Seg],
        stage: &str,
        inherited: &Job,
        depth: usize,
    ) -> Result<()> {
        let Value::Sequence(items) = jobs else {
            return Ok(());
        };
        for (i, job) in items.iter().enumerate() {
            let mut job_path = path.to_vec();
            job_path.push(Seg::Item(i));
            if let Some(t) = get(job, "template").and_then(scalar) {
                let Some(tf) = self.template(f, &t, &job_path, job, depth)? else {
                    continue;
                };
                if let Some(inner) = get(&tf.value, "jobs") {
                    self.jobs(&tf, inner, &[Seg::Key("jobs")], stage, inherited, depth + 1)?;
                }
                continue;
            }
            let id = get(job, "job")
                .or_else(|| get(job, "deployment"))
                .and_then(scalar)
                .unwrap_or_else(|| format!("job{}", i + 1));
            let full = if stage.is_empty() {
                id
            } else {
                format!("{stage}/{id}")
            };
            let mut job_scope = inherited.child(full, f.line(&job_path));
            job_scope.condition(job);
            variables(get(job, "variables"), &mut job_scope, &f.name, self.out);
            let (steps, steps_path) = job_steps(job, &job_path);
            self.steps(f, steps, &steps_path, &mut job_scope, depth)?;
            self.jobs.push(job_scope);
        }
        Ok(())
    }

    fn steps(
        &mut self,
        f: &YamlFile,
        steps: &Value,
        path: &[Seg],
        job: &mut Job,
        depth: usize,
    ) -> Result<()> {
        let Value::Sequence(items) = steps else {
            return Ok(());
        };
        for (i, step) in items.iter().enumerate() {
            let mut step_path = path.to_vec();
            step_path.push(Seg::Item(i));
            if let Some(t) = get(step, "template").and_then(scalar) {
                let Some(tf) = self.template(f, &t, &step_path, step, depth)? else {
                    continue;
                };
                if let Some(inner) = get(&tf.value, "steps") {
                    self.steps(&tf, inner, &[Seg::Key("steps")], job, depth + 1)?;
                }
                continue;
            }
            read_step(f, step, &step_path, i, job);
        }
        Ok(())
    }

    /// A local template, read with the caller's literal `parameters` substituted; `None` (and a
    /// note) for a template in another repository or outside this one.
    fn template(
        &mut self,
        f: &YamlFile,
        name: &str,
        at: &[Seg],
        node: &Value,
        depth: usize,
    ) -> Result<Option<YamlFile>> {
        let line = f.line(at).unwrap_or(0);
        if depth >= MAX_TEMPLATE_DEPTH {
            return Err(DiscoverError::IncludesTooDeep {
                shown: f.name.clone(),
            });
        }
        if name.contains('@') || super::is_expression(name) {
            self.out.notes.push(format!(
                "{}:{line}: template {name:?} is in another repository or built from an expression: not read",
                f.name
            ));
            return Ok(None);
        }
        let base = Path::new(&f.name).parent().unwrap_or(Path::new("."));
        let candidate = if let Some(rest) = name.strip_prefix('/') {
            self.root.join(rest)
        } else {
            base.join(name)
        };
        let real = match super::confine(&self.root, &candidate) {
            Confined::Inside(p) => p,
            Confined::Outside => {
                self.out.notes.push(format!(
                    "{}:{line}: template {} lies outside the repository: not read",
                    f.name,
                    super::shown_path(&candidate)
                ));
                return Ok(None);
            }
            Confined::Missing => {
                return Err(DiscoverError::IncludeNotFound {
                    shown: f.name.clone(),
                    line,
                    include: name.to_string(),
                    looked_for: candidate,
                })
            }
        };
        let shown = candidate.display().to_string();
        let text = std::fs::read_to_string(&real).map_err(|source| DiscoverError::Read {
            shown: shown.clone(),
            source,
        })?;
        let text = with_parameters(text, node);
        YamlFile::parse(&text, &shown).map(Some)
    }
}

impl Job {
    /// A job scope below this one (`id` is the full id): same variables and groups, no steps.
    fn child(&self, id: String, line: Option<usize>) -> Job {
        Job {
            id,
            line,
            variables: self.variables.clone(),
            groups: self.groups.clone(),
            ref_condition: self.ref_condition.clone(),
            scripts: Vec::new(),
            tasks: Vec::new(),
        }
    }

    /// Take the node's `condition:` when it looks at the ref or the build reason.
    fn condition(&mut self, node: &Value) {
        let Some(c) = get(node, "condition").and_then(scalar) else {
            return;
        };
        let gates = ["Build.Reason", "SourceBranch", "PullRequest"]
            .iter()
            .any(|k| c.contains(k));
        if gates {
            self.ref_condition = Some(c);
        }
    }
}

/// A template's text with the caller's literal one-line `parameters` written in for
/// `${{ parameters.x }}` (other expressions stay, and are dynamic where they are used).
fn with_parameters(mut text: String, node: &Value) -> String {
    for (k, v) in get(node, "parameters").map(entries).unwrap_or_default() {
        let Some(v) = scalar(v).filter(|v| !v.contains('\n')) else {
            continue;
        };
        for form in [
            format!("${{{{ parameters.{k} }}}}"),
            format!("${{{{parameters.{k}}}}}"),
        ] {
            text = text.replace(&form, &v);
        }
    }
    text
}

/// The steps of a job: `steps`, or a deployment job's `strategy.runOnce.deploy.steps`.
fn job_steps<'a>(job: &'a Value, path: &[Seg<'a>]) -> (&'a Value, Vec<Seg<'a>>) {
    let mut steps_path = path.to_vec();
    if let Some(s) = get(job, "steps") {
        steps_path.push(Seg::Key("steps"));
        return (s, steps_path);
    }
    for strategy in ["runOnce", "rolling", "canary"] {
        if let Some(s) = get(job, "strategy")
            .and_then(|x| get(x, strategy))
            .and_then(|x| get(x, "deploy"))
            .and_then(|x| get(x, "steps"))
        {
            steps_path.extend([
                Seg::Key("strategy"),
                Seg::Key(strategy),
                Seg::Key("deploy"),
                Seg::Key("steps"),
            ]);
            return (s, steps_path);
        }
    }
    (&Value::Null, steps_path)
}

/// One step: a script (its text with variables substituted) or a Vault task.
fn read_step(f: &YamlFile, step: &Value, path: &[Seg], index: usize, job: &mut Job) {
    let label = format!("step {}", index + 1);
    for key in SCRIPT_KEYS {
        if let Some(text) = get(step, key).and_then(scalar) {
            let mut script_path = path.to_vec();
            script_path.push(Seg::Key(key));
            job.scripts.push((
                f.name.clone(),
                Script {
                    text: macros(&text, &job.variables),
                    line: f.scalar_line(&script_path, 0),
                    label: label.clone(),
                },
            ));
            return;
        }
    }
    let Some(task) = get(step, "task").and_then(scalar) else {
        return;
    };
    let inputs: BTreeMap<String, String> = get(step, "inputs")
        .map(entries)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| {
            scalar(v).map(|v| (k.to_ascii_lowercase(), macros(&v, &job.variables)))
        })
        .collect();
    let bare = task.split('@').next().unwrap_or(&task).to_ascii_lowercase();
    if let Some((_, input)) = SCRIPT_TASKS.iter().find(|(t, _)| *t == bare) {
        if let Some(text) = inputs.get(*input) {
            let mut input_path = path.to_vec();
            input_path.extend([Seg::Key("inputs"), Seg::Key(input)]);
            job.scripts.push((
                f.name.clone(),
                Script {
                    text: text.clone(),
                    line: f.scalar_line(&input_path, 0).or_else(|| f.line(path)),
                    label,
                },
            ));
        }
        return;
    }
    if bare.contains("vault") {
        job.tasks.push(Task {
            name: task.clone(),
            inputs,
            file: f.name.clone(),
            line: f.line(path),
        });
    }
}

/// `variables:` as a mapping or a list of `name`/`value`, `group` and `template` entries.
fn variables(v: Option<&Value>, job: &mut Job, file: &str, out: &mut Discovery) {
    match v {
        Some(Value::Mapping(_)) => {
            for (k, val) in entries(v.expect("mapping")) {
                if let Some(val) = scalar(val) {
                    job.variables.insert(k, val);
                }
            }
        }
        Some(Value::Sequence(items)) => {
            for item in items {
                if let (Some(n), Some(val)) = (
                    get(item, "name").and_then(scalar),
                    get(item, "value").and_then(scalar),
                ) {
                    job.variables.insert(n, val);
                } else if let Some(g) = get(item, "group").and_then(scalar) {
                    if !job.groups.contains(&g) {
                        job.groups.push(g);
                    }
                } else if let Some(t) = get(item, "template").and_then(scalar) {
                    out.notes.push(format!(
                        "{file}: variable template {t:?} is not read: its variables stay dynamic"
                    ));
                }
            }
        }
        _ => {}
    }
}

/// `$(name)` macros: a literal pipeline variable is substituted; any other becomes `${name}`,
/// which discovery records as dynamic (its value is set in Azure DevOps or at run time).
fn macros(text: &str, vars: &BTreeMap<String, String>) -> String {
    super::rewrite_spans(text, "$(", ")", |name| {
        is_macro_name(name).then(|| match vars.get(name).filter(|v| !v.contains("$(")) {
            Some(v) => v.clone(),
            None => format!("${{{name}}}"),
        })
    })
}

fn is_macro_name(n: &str) -> bool {
    !n.is_empty()
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        && !n.starts_with(|c: char| c.is_ascii_digit())
}

/// `trigger:` and `pr:`: absent means every branch; `none` means off.
fn triggers(top: &Value) -> Triggers {
    let branches = |v: &Value| -> Option<Vec<String>> {
        match v {
            Value::Sequence(_) => Some(strings(v)),
            Value::Mapping(_) => get(v, "branches")
                .and_then(|b| get(b, "include"))
                .map(strings),
            _ => None,
        }
    };
    let off = |v: Option<&Value>| v.and_then(scalar).is_some_and(|s| s == "none");
    let push_value = get(top, "trigger");
    let pr_value = get(top, "pr");
    Triggers {
        push: push_value.and_then(branches),
        push_enabled: !off(push_value),
        pull_request: !off(pr_value),
    }
}

/// The pipeline of one job, or `None` when it does not use Vault.
fn pipeline(
    file: &str,
    job: &Job,
    triggers: &Triggers,
    project: Option<&RepoName>,
) -> Option<Draft> {
    let scan = scan(job, file);
    let task = job.tasks.first();
    if !scan.uses_vault() && task.is_none() {
        return None;
    }
    let mut events = Vec::new();
    if triggers.push_enabled {
        events.push("push".to_string());
    }
    if triggers.pull_request {
        events.push("pull_request".to_string());
    }
    let ci = CiEvidence {
        provider: "azure-pipelines".into(),
        file: file.to_string(),
        job: job.id.clone(),
        line: job.line,
        events,
        exposures: Vec::new(),
        ..CiEvidence::default()
    };
    let label = project
        .map(|p| format!("{}/{}", p.owner, p.name))
        .unwrap_or_else(|| "azure".into());
    let name = format!("{label}/{}", job.id);
    let login = scan.logins.first().map(|(l, _)| l.clone());
    let mut draft = match (login, task) {
        (Some(l), _) => jobscan::draft(name, Some(&l), ci)?,
        (None, Some(t)) => task_draft(name, t, ci),
        (None, None) => jobscan::draft(name, None, ci)?,
    };
    if !job.groups.is_empty() && task.is_none() && scan.logins.is_empty() {
        draft.dynamic(
            "auth.token",
            format!(
                "the Vault token comes from variable group(s) {} (Azure DevOps library)",
                job.groups.join(", ")
            ),
        );
    }
    if draft.auth.method == AuthMethod::Jwt {
        let connection = job
            .scripts
            .iter()
            .any(|(_, s)| s.text.contains("serviceConnectionId"));
        claims(&mut draft, triggers, project, connection, &job.scripts);
    }
    for n in &scan.needs {
        draft.need(n);
    }
    for t in &job.tasks {
        for n in task_reads(t) {
            draft.need(&n);
        }
    }
    for e in &scan.exposures {
        draft.expose(e.clone());
    }
    if triggers.pull_request && job.ref_condition.is_none() {
        draft.expose(CiExposure {
            kind: "pull-request-login".into(),
            line: job.line,
            detail: format!(
                "job `{}` uses Vault and the pipeline runs for pull requests (no `pr: none`): a pull request's unreviewed code runs with the job's Vault access",
                job.id
            ),
            ..Default::default()
        });
    }
    Some(draft)
}

/// The job's scripts scanned per file; exposures in a template name its file.
fn scan(job: &Job, main: &str) -> JobScan {
    let secrets = BTreeSet::from([
        "System.AccessToken".to_string(),
        "SYSTEM_ACCESSTOKEN".to_string(),
    ]);
    let mut total = JobScan::default();
    let files: BTreeSet<&String> = job.scripts.iter().map(|(f, _)| f).collect();
    for file in files {
        let scripts: Vec<Script> = job
            .scripts
            .iter()
            .filter(|(f, _)| f == file)
            .map(|(_, s)| Script {
                text: s.text.clone(),
                line: s.line,
                label: s.label.clone(),
            })
            .collect();
        let mut part = jobscan::scan_job(&scripts, &secrets);
        if file != main {
            for e in &mut part.exposures {
                e.file = Some(file.clone());
            }
        }
        total.logins.extend(part.logins);
        total.needs.extend(part.needs);
        total.exposures.extend(part.exposures);
        total.token_requests.extend(part.token_requests);
    }
    total
}

/// A task's input, by any of its usual names.
fn input<'t>(t: &'t Task, names: &[&str]) -> Option<&'t String> {
    names
        .iter()
        .find_map(|n| t.inputs.get(*n))
        .filter(|v| !v.is_empty())
}

/// The login a Vault task performs: the method named in its inputs (a token, AppRole ids, a
/// role with a JWT), or a service connection whose settings are not in the file.
fn task_draft(name: String, t: &Task, ci: CiEvidence) -> Draft {
    let how = task_login(t);
    let method = how.login.method.clone();
    let mut draft = match jobscan::draft(name.clone(), Some(&how.login), ci.clone()) {
        Some(d) => d,
        None => {
            // A method the inventory cannot describe: kept as a token login, the method said.
            let mut draft = Draft::new(name, AuthMethod::Token, "token", ci);
            draft.dynamic(
                "auth.method",
                format!("task {} input method {method}", t.name),
            );
            draft
        }
    };
    if let Some(c) = &how.connection {
        let why = format!("set in service connection `{c}` (Azure DevOps settings)");
        if !how.named {
            draft.dynamic("auth.method", why.clone());
        }
        if draft.auth.role.is_none() && method != "token" {
            draft.dynamic("auth.role", why.clone());
        }
        draft.dynamic("auth.credential", why);
    } else if method == "token" {
        // The token's source, never its value: a literal token in the file is not copied.
        let source = match input(t, &["token", "vaulttoken"]).map(|v| Val::of(v)) {
            Some(Val::Dynamic(e)) => e,
            Some(Val::Known(_)) => "a literal token written in the file (not copied)".into(),
            None => "not given in the file".into(),
        };
        let at = format!("{}:{}", t.file, t.line.unwrap_or(0));
        draft.dynamic(
            "auth.token",
            format!("task {} ({at}) input token: {source}", t.name),
        );
    }
    draft
}

/// How a Vault task logs in, as its inputs say.
struct TaskLogin {
    login: ShellLogin,
    /// The method is named by an input (not inferred).
    named: bool,
    /// The service connection that holds the address and credential.
    connection: Option<String>,
}

fn task_login(t: &Task) -> TaskLogin {
    let connections = [
        "connectedservicename",
        "serviceconnection",
        "vaultserviceconnection",
        "azuresubscription",
    ];
    let named = input(
        t,
        &["authmethod", "method", "authenticationmethod", "authtype"],
    )
    .map(|m| m.to_ascii_lowercase());
    let method = named.clone().unwrap_or_else(|| {
        if input(t, &["roleid"]).is_some() {
            "approle".into()
        } else if input(t, &["jwt", "jwtrole"]).is_some() {
            "jwt".into()
        } else {
            "token".into()
        }
    });
    let login = ShellLogin {
        mount: input(t, &["authpath", "mountpath", "authmount", "path_auth"])
            .cloned()
            .unwrap_or_else(|| method.clone()),
        method,
        role: input(t, &["role", "rolename", "jwtrole"]).cloned(),
        namespace: input(t, &["namespace"]).cloned(),
        jwt_var: None,
        line: 0,
    };
    TaskLogin {
        login,
        named: named.is_some(),
        connection: input(t, &connections).cloned(),
    }
}

/// The API paths a Vault task reads: engine mount and path, KV version 2 unless it says 1.
fn task_reads(t: &Task) -> Vec<String> {
    let Some(path) = input(
        t,
        &["path", "secretpath", "secretspath", "secrets", "kvpath"],
    ) else {
        return Vec::new();
    };
    let engine = input(
        t,
        &["enginename", "engine", "mount", "enginepath", "kvmount"],
    );
    let version = input(t, &["version", "kvversion", "engineversion"])
        .map(|v| v.trim_start_matches(['v', 'V']).to_string());
    let kv1 = version.as_deref() == Some("1");
    path.split([',', ';', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match (engine, kv1) {
            (Some(e), true) => format!("{}/{}", e.trim_matches('/'), p.trim_matches('/')),
            (Some(e), false) => super::kv2_data(e, p),
            (None, true) => p.trim_matches('/').to_string(),
            (None, false) => super::kv2_from_logical(p),
        })
        .collect()
}

/// Azure DevOps ID-token claims (`docs/pipelines.md#azure-pipelines`; the claim names are
/// observed, not documented by Microsoft).
fn claims(
    draft: &mut Draft,
    triggers: &Triggers,
    project: Option<&RepoName>,
    connection: bool,
    scripts: &[(String, Script)],
) {
    let requested = scripts
        .iter()
        .any(|(_, s)| s.text.to_ascii_lowercase().contains("oidcrequesturi"));
    match project.and_then(|p| p.owner_id.as_deref()) {
        Some(id) => draft.claim("iss", Val::Known(format!("https://vstoken.dev.azure.com/{id}"))),
        None => draft.dynamic("auth.claims.iss", "https://vstoken.dev.azure.com/<organization id> (pass --azure-project ORG@ORG_ID/PROJECT@PROJECT_ID)"),
    }
    draft.claim("aud", Val::Known(AUDIENCE.into()));
    let (org, prj) = project
        .map(|p| (p.owner.clone(), p.name.clone()))
        .unwrap_or_else(|| ("<organization>".into(), "<project>".into()));
    let sub = if connection {
        format!("sc://{org}/{prj}/<service connection name>")
    } else {
        format!("p://{org}/{prj}/<pipeline name (Azure DevOps settings)>")
    };
    draft.dynamic("auth.claims.sub", sub);
    if !requested {
        return;
    }
    for (claim, id) in [
        ("org_id", project.and_then(|p| p.owner_id.clone())),
        ("prj_id", project.and_then(|p| p.repo_id.clone())),
    ] {
        match id {
            Some(v) => draft.claim(claim, Val::Known(v)),
            None => draft.dynamic(
                format!("auth.claims.{claim}"),
                "pass --azure-project ORG@ORG_ID/PROJECT@PROJECT_ID",
            ),
        }
    }
    draft.dynamic(
        "auth.claims.def_id",
        "the pipeline definition's id (Azure DevOps settings)",
    );
    draft.dynamic("auth.claims.run_id", "the run's id");
    draft.dynamic("auth.claims.rpo_ver", "the commit built");
    let literal = |b: &String| !b.contains('*') && !super::is_expression(b);
    match (&triggers.push, triggers.pull_request) {
        (Some(list), false) if list.len() == 1 && literal(&list[0]) => {
            let branch = list[0].trim_start_matches("refs/heads/");
            draft.claim("rpo_ref", Val::Known(format!("refs/heads/{branch}")));
        }
        _ => draft.dynamic(
            "auth.claims.rpo_ref",
            "<the ref built: a pushed branch, or a pull request's merge ref>",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macros_substitute_literals_and_keep_the_rest_dynamic() {
        let vars = BTreeMap::from([("kvPath".to_string(), "app/db".to_string())]);
        assert_eq!(
            macros(
                "vault kv get secret/$(kvPath) $(Build.SourceBranch) $(date +%s)",
                &vars
            ),
            "vault kv get secret/app/db ${Build.SourceBranch} $(date +%s)"
        );
    }

    #[test]
    fn task_paths() {
        let task = Task {
            name: "HashiVaultRead@1".into(),
            inputs: BTreeMap::from([
                ("enginename".to_string(), "kv".to_string()),
                ("path".to_string(), "app/db, app/api".to_string()),
            ]),
            file: "azure-pipelines.yml".into(),
            line: None,
        };
        assert_eq!(task_reads(&task), ["kv/data/app/db", "kv/data/app/api"]);
    }
}
