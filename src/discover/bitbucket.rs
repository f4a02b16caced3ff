//! Bitbucket Pipelines: `bitbucket-pipelines.yml`.
//!
//! A step is a pipeline when its `script` logs in to Vault or reads from it (`vault`/`bao` CLI,
//! `curl …/v1/`). It runs in every pipeline that lists it: `default` (pushes of any branch
//! without a pipeline of its own), `branches.<glob>`, `tags.<glob>`, `pull-requests.<glob>`
//! (the source branch) and `custom.<name>` (started by hand or on a schedule, on a branch
//! chosen then), inside `parallel` and `stage` blocks too; steps shared through `definitions`
//! and YAML anchors are read where they are used. A step gets an ID token only with
//! `oidc: true`, in `$BITBUCKET_STEP_OIDC_TOKEN`. Its claims are Bitbucket's
//! (`docs/pipelines.md#bitbucket-pipelines`): the workspace and repository (slugs and UUIDs from
//! `--bitbucket-repo`), the branch from the pipeline's pattern, the deployment environment's
//! UUID (`--bitbucket-environment`); the step and pipeline UUIDs, and so `sub`, are dynamic.

use std::collections::BTreeSet;
use std::path::Path;

use yaml_serde::Value;

use super::jobscan::{self, JobScan, Script};
use super::yaml::{get, scalar, strings, Seg, YamlFile};
use super::{Discovery, Draft, Options, RepoName, Result, Val};
use crate::inventory::{AuthMethod, CiEvidence, CiExposure};

/// The variable Bitbucket fills with the step's ID token (only when the step says `oidc: true`).
pub const TOKEN_VAR: &str = "BITBUCKET_STEP_OIDC_TOKEN";

/// Nesting of `parallel` / `stage` blocks read at most (Bitbucket allows one level of each).
const MAX_NESTING: usize = 4;

/// The kind of pipeline a step runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    Default,
    Branches,
    Tags,
    PullRequests,
    Custom,
}

impl Trigger {
    const ALL: [(Trigger, &'static str); 5] = [
        (Trigger::Default, "default"),
        (Trigger::Branches, "branches"),
        (Trigger::Tags, "tags"),
        (Trigger::PullRequests, "pull-requests"),
        (Trigger::Custom, "custom"),
    ];

    fn event(self) -> &'static str {
        match self {
            Trigger::Default | Trigger::Branches | Trigger::Tags => "push",
            Trigger::PullRequests => "pull_request",
            Trigger::Custom => "custom",
        }
    }
}

/// One pipeline of the file (`branches: main`) and the steps it runs.
struct Run<'a> {
    trigger: Trigger,
    /// The glob or custom name (`main`, `release/*`, `rotate`); empty for `default`.
    pattern: String,
    steps: Vec<Step<'a>>,
}

/// A step as a pipeline runs it.
struct Step<'a> {
    value: &'a Value,
    /// Where its keys are written (the anchor's definition for a `*alias`).
    path: Vec<Seg<'a>>,
    /// The line of the item in the pipeline that runs it.
    line: Option<usize>,
    /// `deployment:` of the step or of its `stage`.
    deployment: Option<String>,
    ordinal: usize,
}

/// What the repository is, when known: `WORKSPACE/REPO`, with the UUIDs as
/// `WORKSPACE@{uuid}/REPO@{uuid}`.
pub type Repository = RepoName;

/// What every step of one file is read with.
struct FileContext<'c> {
    config: &'c YamlFile,
    /// `<workspace>/<repo>` (or the checkout's name): the start of each pipeline's name.
    label: String,
    repo: Option<&'c Repository>,
    /// Global `options: oidc: audiences`.
    audiences: Vec<String>,
    opts: &'c Options,
}

pub fn discover(
    dir: &Path,
    repo: Option<&Repository>,
    opts: &Options,
    out: &mut Discovery,
) -> Result<()> {
    let file = super::config_in(
        dir,
        &["bitbucket-pipelines.yml", "bitbucket-pipelines.yaml"],
    );
    let shown = file.display().to_string();
    let config = YamlFile::read(&file, &shown)?;
    let context = FileContext {
        config: &config,
        label: repo
            .map(|r| format!("{}/{}", r.owner, r.name))
            .or_else(|| super::dir_label(dir))
            .unwrap_or_else(|| "bitbucket".into()),
        repo,
        audiences: get(&config.value, "options")
            .and_then(|o| get(o, "oidc"))
            .map(oidc_audiences)
            .unwrap_or_default(),
        opts,
    };
    for run in runs(&config) {
        for step in &run.steps {
            if let Some(draft) = pipeline(&context, &run, step, out) {
                out.pipelines.push(draft.finish());
            }
        }
    }
    Ok(())
}

/// Every pipeline of `pipelines:` with its steps, in file order.
fn runs(config: &YamlFile) -> Vec<Run<'_>> {
    let mut out = Vec::new();
    let Some(pipelines) = get(&config.value, "pipelines") else {
        return out;
    };
    for (trigger, key) in Trigger::ALL {
        let Some(body) = get(pipelines, key) else {
            continue;
        };
        let root = vec![Seg::Key("pipelines"), Seg::Key(key)];
        if trigger == Trigger::Default {
            let steps = steps(config, body, root);
            out.push(Run {
                trigger,
                pattern: String::new(),
                steps,
            });
            continue;
        }
        let Some(map) = body.as_mapping() else {
            continue;
        };
        for (k, items) in map {
            let Some(pattern) = scalar(k) else { continue };
            let mut path = root.clone();
            // The key is borrowed from the parsed file, which outlives the paths.
            let key_str: &str = k.as_str().unwrap_or("");
            path.push(Seg::Key(key_str));
            let steps = steps(config, items, path);
            out.push(Run {
                trigger,
                pattern,
                steps,
            });
        }
    }
    out
}

/// The steps of one pipeline's item list, through `parallel` and `stage` blocks.
fn steps<'a>(config: &'a YamlFile, items: &'a Value, path: Vec<Seg<'a>>) -> Vec<Step<'a>> {
    let mut out = Vec::new();
    collect(config, items, path, None, 0, &mut out);
    out
}

fn collect<'a>(
    config: &'a YamlFile,
    items: &'a Value,
    path: Vec<Seg<'a>>,
    deployment: Option<&str>,
    depth: usize,
    out: &mut Vec<Step<'a>>,
) {
    let Value::Sequence(list) = items else {
        return;
    };
    if depth > MAX_NESTING {
        return;
    }
    for (index, item) in list.iter().enumerate() {
        let mut item_path = path.clone();
        item_path.push(Seg::Item(index));
        if let Some(step) = get(item, "step") {
            let mut step_path = item_path.clone();
            step_path.push(Seg::Key("step"));
            let own = get(step, "deployment").and_then(scalar);
            out.push(Step {
                value: step,
                path: definition_path(config, step).unwrap_or(step_path),
                line: config.line(&item_path),
                deployment: own.or_else(|| deployment.map(str::to_string)),
                ordinal: out.len() + 1,
            });
        } else if let Some(parallel) = get(item, "parallel") {
            // `parallel: [- step]` or `parallel: {steps: [- step]}`.
            let (inner, key) = match get(parallel, "steps") {
                Some(s) => (s, Some("steps")),
                None => (parallel, None),
            };
            let mut inner_path = item_path.clone();
            inner_path.push(Seg::Key("parallel"));
            inner_path.extend(key.map(Seg::Key));
            collect(config, inner, inner_path, deployment, depth + 1, out);
        } else if let Some(stage) = get(item, "stage") {
            let stage_deployment = get(stage, "deployment").and_then(scalar);
            let mut inner_path = item_path.clone();
            inner_path.extend([Seg::Key("stage"), Seg::Key("steps")]);
            let inner = get(stage, "steps").unwrap_or(&Value::Null);
            let deployment_name = stage_deployment.as_deref().or(deployment);
            collect(config, inner, inner_path, deployment_name, depth + 1, out);
        }
    }
}

/// A step written once under `definitions.steps` (an anchor) and used by alias: the path of
/// its definition, where its lines are.
fn definition_path<'a>(config: &'a YamlFile, step: &Value) -> Option<Vec<Seg<'a>>> {
    let Some(Value::Sequence(defs)) =
        get(&config.value, "definitions").and_then(|d| get(d, "steps"))
    else {
        return None;
    };
    let index = defs.iter().position(|d| get(d, "step") == Some(step))?;
    Some(vec![
        Seg::Key("definitions"),
        Seg::Key("steps"),
        Seg::Item(index),
        Seg::Key("step"),
    ])
}

/// `oidc: {audiences: [...]}` (step or global `options`).
fn oidc_audiences(oidc: &Value) -> Vec<String> {
    get(oidc, "audiences").map(strings).unwrap_or_default()
}

/// A step asks for an ID token: `oidc: true`, or `oidc:` with audiences.
fn wants_token(step: &Value) -> bool {
    match get(step, "oidc") {
        Some(Value::Bool(b)) => *b,
        Some(Value::Mapping(_)) => true,
        _ => false,
    }
}

/// The step's `script` (and `after-script`) lines as scripts, scanned; and the secret files
/// its `artifacts` keep.
fn scan(config: &YamlFile, step: &Step) -> JobScan {
    let mut scripts = Vec::new();
    for key in ["script", "after-script"] {
        let Some(Value::Sequence(items)) = get(step.value, key) else {
            continue;
        };
        for (i, item) in items.iter().enumerate() {
            let mut path = step.path.clone();
            path.extend([Seg::Key(key), Seg::Item(i)]);
            let Some(text) = scalar(item) else { continue };
            scripts.push(Script {
                text,
                line: config.scalar_line(&path, 0),
                label: format!("{key} line {}", i + 1),
            });
        }
    }
    let secrets = BTreeSet::from([TOKEN_VAR.to_string()]);
    let mut scan = jobscan::scan_job(&scripts, &secrets);
    let artifacts = get(step.value, "artifacts")
        .map(|a| get(a, "paths").map(strings).unwrap_or_else(|| strings(a)))
        .unwrap_or_default();
    scan.artifacts(&artifacts, "artifacts");
    scan
}

/// The step's name in the inventory: `<repo>/<pipeline>/<step name>`.
fn step_name(run: &Run, step: &Step) -> String {
    let name = get(step.value, "name")
        .and_then(scalar)
        .unwrap_or_else(|| format!("step {}", step.ordinal));
    let kind = Trigger::ALL
        .iter()
        .find(|(t, _)| *t == run.trigger)
        .map(|(_, k)| *k)
        .unwrap_or("default");
    if run.pattern.is_empty() {
        format!("{kind}/{name}")
    } else {
        format!("{kind}:{}/{name}", run.pattern)
    }
}

/// The pipeline of one step in one run, or `None` when it does not use Vault.
fn pipeline(cx: &FileContext, run: &Run, step: &Step, out: &mut Discovery) -> Option<Draft> {
    let config = cx.config;
    let scan = scan(config, step);
    let job = step_name(run, step);
    note_vault_pipes(config, step, &job, out);
    if !scan.uses_vault() {
        return None;
    }
    let ci = CiEvidence {
        provider: "bitbucket".into(),
        file: config.name.clone(),
        job: job.clone(),
        line: step.line,
        events: vec![run.trigger.event().to_string()],
        exposures: Vec::new(),
        ..CiEvidence::default()
    };
    let login = scan.logins.first().map(|(l, _)| l);
    let Some(mut draft) = jobscan::draft(format!("{}/{job}", cx.label), login, ci) else {
        out.notes.push(format!(
            "{}: step `{job}` logs in with method `{}`, which the inventory cannot describe: skipped",
            config.name,
            login.map(|l| l.method.as_str()).unwrap_or_default()
        ));
        return None;
    };
    let token = wants_token(step.value);
    if draft.auth.method == AuthMethod::Jwt {
        if !token {
            out.notes.push(format!(
                "{}:{}: step `{job}` logs in with a JWT but does not say `oidc: true`: ${TOKEN_VAR} is empty and the login fails",
                config.name,
                step.line.unwrap_or(0)
            ));
        }
        let step_audiences = get(step.value, "oidc")
            .map(oidc_audiences)
            .unwrap_or_default();
        let audiences = if step_audiences.is_empty() {
            &cx.audiences
        } else {
            &step_audiences
        };
        claims(&mut draft, run, step, cx.repo, audiences, cx.opts);
    }
    for n in &scan.needs {
        draft.need(n);
    }
    for e in &scan.exposures {
        draft.expose(e.clone());
    }
    exposures(&mut draft, run, step, &job, token);
    Some(draft)
}

/// A pipe named like Vault: its login and reads happen inside the pipe's image, not seen.
fn note_vault_pipes(config: &YamlFile, step: &Step, job: &str, out: &mut Discovery) {
    let Some(Value::Sequence(items)) = get(step.value, "script") else {
        return;
    };
    for pipe in items.iter().filter_map(|i| get(i, "pipe").and_then(scalar)) {
        let note = format!(
            "{}: step `{job}` runs pipe `{pipe}`, which looks like a Vault pipe that blastmap does not read: its login and secrets are not discovered",
            config.name
        );
        if pipe.to_ascii_lowercase().contains("vault") && !out.notes.contains(&note) {
            out.notes.push(note);
        }
    }
}

/// `pull-request-login` for a pull-request pipeline whose step gets an ID token; `any-branch`
/// for `default` and for branch patterns that match every branch.
fn exposures(draft: &mut Draft, run: &Run, step: &Step, job: &str, token: bool) {
    let every_branch = matches!(run.pattern.as_str(), "**" | "*");
    if run.trigger == Trigger::PullRequests && token {
        draft.expose(CiExposure {
            kind: "pull-request-login".into(),
            line: step.line,
            detail: format!(
                "pull-request pipeline `{}` runs step `{job}` with `oidc: true`: the pull request's unreviewed code gets the step's ID token and logs in to Vault with it",
                run.pattern
            ),
            ..Default::default()
        });
    }
    let any = run.trigger == Trigger::Default || (run.trigger == Trigger::Branches && every_branch);
    if any {
        draft.expose(CiExposure {
            kind: "any-branch".into(),
            line: step.line,
            detail: format!(
                "step `{job}` runs in the `{}` pipeline: a push of any branch runs it with its Vault access",
                if run.trigger == Trigger::Default { "default".to_string() } else { format!("branches: {}", run.pattern) }
            ),
            ..Default::default()
        });
    }
}

/// Bitbucket's claims for one step in one run (`docs/pipelines.md#bitbucket-pipelines`).
fn claims(
    draft: &mut Draft,
    run: &Run,
    step: &Step,
    repo: Option<&Repository>,
    audiences: &[String],
    opts: &Options,
) {
    match repo {
        Some(r) => draft.claim("iss", Val::Known(issuer(&r.owner))),
        None => draft.dynamic(
            "auth.claims.iss",
            "https://api.bitbucket.org/2.0/workspaces/<workspace>/pipelines-config/identity/oidc (pass --bitbucket-repo)",
        ),
    }
    let workspace_uuid = repo.and_then(|r| r.owner_id.as_deref()).map(braced);
    let repo_uuid = repo.and_then(|r| r.repo_id.as_deref()).map(braced);
    match (audiences, &workspace_uuid) {
        ([one], _) => draft.claim("aud", Val::of(one)),
        ([], Some(ws)) => draft.claim(
            "aud",
            Val::Known(format!(
                "ari:cloud:bitbucket::workspace/{}",
                ws.trim_matches(['{', '}'])
            )),
        ),
        ([], None) => draft.dynamic(
            "auth.claims.aud",
            "ari:cloud:bitbucket::workspace/<workspace UUID> (pass --bitbucket-repo WORKSPACE@{UUID}/REPO@{UUID})",
        ),
        (many, _) => {
            let list = many.iter().map(|a| serde_json::Value::String(a.clone()));
            draft
                .claims
                .insert("aud".into(), serde_json::Value::Array(list.collect()));
        }
    }
    let ids = "pass --bitbucket-repo WORKSPACE@{UUID}/REPO@{UUID}";
    match &workspace_uuid {
        Some(ws) => draft.claim("workspaceUuid", Val::Known(ws.clone())),
        None => draft.dynamic("auth.claims.workspaceUuid", ids),
    }
    match &repo_uuid {
        Some(r) => draft.claim("repositoryUuid", Val::Known(r.clone())),
        None => draft.dynamic("auth.claims.repositoryUuid", ids),
    }
    draft.claim("branchName", branch(run));
    draft.dynamic("auth.claims.pipelineUuid", "the pipeline run's UUID");
    draft.dynamic("auth.claims.stepUuid", "the step run's UUID");
    let repo_part = repo_uuid.unwrap_or_else(|| "{<repository UUID>}".into());
    let sub = match &step.deployment {
        Some(env) => {
            let env_uuid = environment_uuid(env, opts);
            match &env_uuid {
                Some(u) => draft.claim("deploymentEnvironmentUuid", Val::Known(u.clone())),
                None => draft.dynamic(
                    "auth.claims.deploymentEnvironmentUuid",
                    format!("the UUID of deployment environment {env} (pass --bitbucket-environment {env}={{UUID}})"),
                ),
            }
            let env_part = env_uuid.unwrap_or_else(|| format!("{{<UUID of {env}>}}"));
            format!("{repo_part}:{env_part}:{{<step UUID>}}")
        }
        None => format!("{repo_part}:{{<step UUID>}}"),
    };
    draft.dynamic("auth.claims.sub", sub);
}

/// The issuer of a workspace's ID tokens.
pub fn issuer(workspace: &str) -> String {
    format!("https://api.bitbucket.org/2.0/workspaces/{workspace}/pipelines-config/identity/oidc")
}

/// A UUID as Bitbucket writes it in claims: in braces.
fn braced(uuid: &str) -> String {
    format!("{{{}}}", uuid.trim_matches(['{', '}']))
}

fn environment_uuid(env: &str, opts: &Options) -> Option<String> {
    if super::is_expression(env) {
        return None;
    }
    opts.bitbucket_environments.get(env).map(|u| braced(u))
}

/// `branchName` for a run: the pipeline's branch when its pattern names one branch.
fn branch(run: &Run) -> Val {
    let glob = run.pattern.contains(['*', '?', '{', '[']);
    match run.trigger {
        Trigger::Branches | Trigger::PullRequests if !glob && !run.pattern.is_empty() => {
            Val::Known(run.pattern.clone())
        }
        Trigger::Branches => Val::Dynamic(format!("<a branch matching {}>", run.pattern)),
        Trigger::PullRequests => Val::Dynamic(format!(
            "<the source branch of a pull request, matching {}>",
            run.pattern
        )),
        Trigger::Default => Val::Dynamic("<any branch without a pipeline of its own>".into()),
        Trigger::Tags => Val::Dynamic(format!(
            "<the branch of the commit tagged {} (tag builds)>",
            run.pattern
        )),
        Trigger::Custom => Val::Dynamic(format!(
            "<the branch custom pipeline {} is run on>",
            run.pattern
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_through_parallel_stages_and_anchors() {
        let text = "definitions:\n  steps:\n    - step: &deploy\n        name: Deploy\n        oidc: true\n        script:\n          - vault kv get secret/app\npipelines:\n  branches:\n    main:\n      - parallel:\n          - step:\n              name: a\n              script: [echo]\n      - stage:\n          deployment: production\n          steps:\n            - step: *deploy\n";
        let config = YamlFile::parse(text, "bitbucket-pipelines.yml").unwrap();
        let runs = runs(&config);
        assert_eq!(runs.len(), 1);
        let names: Vec<Option<String>> = runs[0]
            .steps
            .iter()
            .map(|s| get(s.value, "name").and_then(scalar))
            .collect();
        assert_eq!(names, [Some("a".into()), Some("Deploy".into())]);
        let deploy = &runs[0].steps[1];
        assert_eq!(deploy.deployment.as_deref(), Some("production"));
        // Lines of an aliased step come from its definition.
        let scan = scan(&config, deploy);
        assert_eq!(scan.needs, ["secret/data/app"]);
        let mut path = deploy.path.clone();
        path.extend([Seg::Key("script"), Seg::Item(0)]);
        assert_eq!(config.scalar_line(&path, 0), Some(7));
        assert_eq!(deploy.line, Some(18));
    }

    #[test]
    fn branch_claims() {
        let run = |trigger, pattern: &str| Run {
            trigger,
            pattern: pattern.into(),
            steps: Vec::new(),
        };
        assert_eq!(
            branch(&run(Trigger::Branches, "main")),
            Val::Known("main".into())
        );
        assert!(matches!(
            branch(&run(Trigger::Branches, "release/*")),
            Val::Dynamic(_)
        ));
        assert!(matches!(
            branch(&run(Trigger::Default, "")),
            Val::Dynamic(_)
        ));
        assert_eq!(braced("{abc}"), "{abc}");
        assert_eq!(braced("abc"), "{abc}");
    }
}
