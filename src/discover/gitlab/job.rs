//! One resolved GitLab job: its native `secrets:`, its scripts, what exposes the secrets, the
//! login it performs and one pipeline per way the job runs, with the claims of its ID token.

use std::collections::{BTreeMap, BTreeSet};

use yaml_serde::Value;

use super::super::shell::{self, SecretUse, ShellLogin};
use super::super::yaml::{entries, get, scalar, strings, Seg, YamlFile};
use super::super::{kv2_data, Discovery, Draft, Options, Val};
use super::vars::Variables;
use super::{runs, scripts, At, Gaps, Run};
use crate::inventory::{AuthMethod, CiEvidence, CiExposure};

/// A job as resolved from the configuration (`extends:`, `default:`, includes), and where it is.
pub(super) struct JobSource<'a> {
    pub name: &'a str,
    pub job: &'a Value,
    /// Global (as inherited) and job variables.
    pub vars: &'a Variables,
    /// What the configuration could not give the job.
    pub gaps: &'a Gaps,
    /// Where a key of the job is, through its `extends:` chain.
    pub locate: &'a dyn Fn(&[Seg]) -> At,
    /// The file that defines the job.
    pub file: &'a YamlFile,
    /// The main configuration file (global variables).
    pub main: &'a YamlFile,
    /// The merged top level of the configuration.
    pub top: &'a Value,
    pub project: &'a str,
}

fn exposure(kind: &str, at: At, detail: String) -> CiExposure {
    CiExposure {
        kind: kind.into(),
        file: at.file,
        line: at.line,
        detail,
        ..Default::default()
    }
}

/// What the job's native `secrets:` read and name.
#[derive(Default)]
struct NativeSecrets {
    needs: Vec<String>,
    /// Paths built from values only known when the pipeline runs, with the reason.
    dynamic_needs: Vec<String>,
    /// Variables that hold a secret's value.
    secret_vars: BTreeSet<String>,
    /// Variables that hold the path of a file with the secret (`file: true`, the default).
    file_vars: BTreeSet<String>,
    /// The `id_tokens` entry named by a secret's `token:`.
    token_var: Option<String>,
}

impl NativeSecrets {
    fn of(source: &JobSource<'_>, out: &mut Discovery) -> Self {
        let mut native = NativeSecrets::default();
        for (var, secret) in entries(get(source.job, "secrets").unwrap_or(&Value::Null)) {
            let Some(vault) = get(secret, "vault") else {
                continue;
            };
            let is_file = get(secret, "file")
                .map(|f| !matches!(f, Value::Bool(false)))
                .unwrap_or(true);
            if is_file {
                native.file_vars.insert(var.clone());
            } else {
                native.secret_vars.insert(var.clone());
            }
            if let Some(token) = get(secret, "token").and_then(scalar) {
                native.token_var = Some(
                    token
                        .trim_start_matches('$')
                        .trim_matches(['{', '}'])
                        .to_string(),
                );
            }
            match vault_path(source, &var, vault, out) {
                Some(Val::Known(need)) => native.needs.push(need),
                Some(Val::Dynamic(why)) => native.dynamic_needs.push(why),
                None => {}
            }
        }
        native
    }
}

/// The API path a `vault:` entry reads: short form `path/to/secret/field[@mount]` or long form
/// with `engine`, `path` and `field`; variables expanded, dynamic (with the reason) when a
/// part is only known when the pipeline runs.
fn vault_path(
    source: &JobSource<'_>,
    var: &str,
    vault: &Value,
    out: &mut Discovery,
) -> Option<Val> {
    let vars = source.vars;
    match vault {
        Value::String(short) => Some(vars.expand_parts(short).map(|short| {
            // The last segment is the field.
            let (path, mount) = match short.rsplit_once('@') {
                Some((p, m)) => (p.to_string(), m.to_string()),
                None => (short.clone(), "kv-v2".to_string()),
            };
            let secret = path.rsplit_once('/').map(|x| x.0).unwrap_or(&path);
            kv2_data(&mount, secret)
        })),
        Value::Mapping(_) => {
            let engine = get(vault, "engine");
            let mut unknown: Vec<String> = Vec::new();
            let mut field = |v: Option<&Value>, default: &str| -> String {
                let Some(written) = v.and_then(scalar) else {
                    return default.to_string();
                };
                let expanded = vars.expand_parts(&written);
                unknown.extend(expanded.unknown);
                expanded.text
            };
            let engine_name = field(engine.and_then(|e| get(e, "name")), "kv-v2");
            let mount = field(engine.and_then(|e| get(e, "path")), "kv-v2");
            let path = field(get(vault, "path"), "");
            let api_path = if engine_name == "kv-v2" {
                kv2_data(&mount, &path)
            } else {
                out.notes.push(format!(
                    "{}: job `{}` secret {var}: engine `{engine_name}`: path taken as {mount}/{path} without `data/`",
                    source.file.name, source.name
                ));
                format!("{}/{}", mount.trim_matches('/'), path.trim_matches('/'))
            };
            Some(if unknown.is_empty() {
                Val::Known(api_path)
            } else {
                unknown.dedup();
                Val::Dynamic(format!("{api_path} ({})", unknown.join("; ")))
            })
        }
        _ => None,
    }
}

/// A secret a script writes to a file.
struct SecretFile {
    var: String,
    file: String,
    at: At,
}

/// What the job's scripts do with Vault.
#[derive(Default)]
struct ScriptScan {
    logins: Vec<ShellLogin>,
    needs: Vec<String>,
    /// Paths a script builds from values not in the configuration, with the reason.
    dynamic_needs: Vec<String>,
    files: Vec<SecretFile>,
    exposures: Vec<CiExposure>,
}

/// One shell's script: the lines of its items, each mapped back to (key, item, line in item).
#[derive(Default)]
struct ShellScript {
    text: String,
    origin: Vec<(&'static str, usize, usize)>,
}

impl ScriptScan {
    /// `before_script` and `script` run in one shell (so `set -x` carries over), `after_script`
    /// in another: scan each as one script, mapping its lines back to the items.
    fn of(source: &JobSource<'_>, native: &NativeSecrets) -> Self {
        let mut scan = ScriptScan::default();
        let items = scripts(source.job);
        let literals = source.vars.literals();
        for shell_keys in [&["before_script", "script"][..], &["after_script"][..]] {
            let mut script = ShellScript::default();
            for (key, index, text) in items.iter().filter(|x| shell_keys.contains(&x.0)) {
                for (line, content) in text.lines().enumerate() {
                    script.text.push_str(content);
                    script.text.push('\n');
                    script.origin.push((key, *index, line));
                }
            }
            scan.add(source, native, &literals, &script);
        }
        scan
    }

    /// `literals` are the job's literal variables ([`Variables::literals`]): what the shell
    /// sees, so a path built from them is read as it runs; any other `$NAME` left in a path
    /// makes it dynamic, with the reason.
    fn add(
        &mut self,
        source: &JobSource<'_>,
        native: &NativeSecrets,
        literals: &BTreeMap<String, String>,
        script: &ShellScript,
    ) {
        let assigned = shell::assigned_names(&script.text);
        let text = shell::with_env_except(&script.text, literals, &assigned);
        let found = shell::scan(&text, &native.secret_vars, &native.file_vars);
        let at = |offset: usize| {
            let Some(&(key, index, line)) = script.origin.get(offset) else {
                return At::default();
            };
            let item = (source.locate)(&[Seg::Key(key), Seg::Item(index)]);
            let item_line = item.line.or_else(|| (source.locate)(&[Seg::Key(key)]).line);
            At {
                file: item.file,
                line: item_line.map(|l| l + line),
            }
        };
        let key = |offset: usize| script.origin.get(offset).map(|m| m.0).unwrap_or("script");
        self.logins.extend(found.logins.iter().cloned());
        for access in &found.accesses {
            match source.vars.script_value(&access.path, &assigned) {
                Val::Known(path) => self.needs.push(path),
                Val::Dynamic(why) => self.dynamic_needs.push(why),
            }
        }
        for secret_use in found.uses {
            match secret_use {
                SecretUse::Echoed { var, line } => self.exposures.push(exposure(
                    "secret-echoed",
                    at(line),
                    format!("{} prints {var} to the job log", key(line)),
                )),
                SecretUse::File { var, file, line } => self.files.push(SecretFile {
                    var,
                    file,
                    at: at(line),
                }),
                SecretUse::Traced { what, line } => self.exposures.push(exposure(
                    "debug-logging",
                    at(line),
                    format!("{}: {what}", key(line)),
                )),
            }
        }
    }
}

/// Artifacts are uploaded when the job ends: any secret written to a path they cover leaks.
fn artifact_exposures(job: &Value, files: &[SecretFile]) -> Vec<CiExposure> {
    let artifacts = get(job, "artifacts");
    let mut paths: Vec<String> = artifacts
        .and_then(|a| get(a, "paths"))
        .map(strings)
        .unwrap_or_default();
    if let Some(reports) = artifacts.and_then(|a| get(a, "reports")) {
        for (_, v) in entries(reports) {
            paths.extend(strings(v));
        }
    }
    files
        .iter()
        .filter_map(|written| {
            let covering = paths
                .iter()
                .find(|p| super::super::path_covered(p, &written.file))?;
            Some(exposure(
                "secret-in-artifact",
                written.at.clone(),
                format!(
                    "writes {} to {}, uploaded as a job artifact (artifacts: {covering})",
                    written.var, written.file
                ),
            ))
        })
        .collect()
}

/// Debug switches in job and global variables, and credentials in global variables.
/// A global variable named like a credential whose value the job's Vault paths are built from
/// (`SHOP_SECRET: checkout` in `vault kv get … $SHOP_SECRET`) names a secret; it is not one.
fn names_a_path(text: &str, needs: &[String]) -> bool {
    let segments: Vec<&str> = text.split('/').filter(|s| !s.is_empty()).collect();
    !segments.is_empty()
        && needs.iter().any(|need| {
            let parts: Vec<&str> = need.split('/').collect();
            parts
                .windows(segments.len())
                .any(|w| w == segments.as_slice())
        })
}

fn variable_exposures(source: &JobSource<'_>, needs: &[String]) -> Vec<CiExposure> {
    let mut exposures = Vec::new();
    for (scope, variables, is_global) in [
        ("job", get(source.job, "variables"), false),
        ("global", get(source.top, "variables"), true),
    ] {
        for (key, value) in entries(variables.unwrap_or(&Value::Null)) {
            let text = match value {
                Value::Mapping(_) => get(value, "value").and_then(scalar),
                other => scalar(other),
            }
            .unwrap_or_default();
            let at = if is_global {
                At {
                    file: None,
                    line: source.main.line(&[Seg::Key("variables"), Seg::Key(&key)]),
                }
            } else {
                (source.locate)(&[Seg::Key("variables"), Seg::Key(&key)])
            };
            let at = At {
                file: at.file.filter(|f| *f != source.file.name),
                line: at.line,
            };
            if (key == "CI_DEBUG_TRACE" || key == "CI_DEBUG_SERVICES")
                && text.eq_ignore_ascii_case("true")
            {
                exposures.push(exposure("step-debug", at, format!("{scope} variables set {key}: \"true\": the job log shows every variable, secrets included")));
            } else if is_global
                && !text.is_empty()
                && (key == "VAULT_TOKEN"
                    || key == "BAO_TOKEN"
                    || super::super::credential_name(&key)
                        && !super::super::is_expression(&text)
                        && !names_a_path(&text, needs))
            {
                exposures.push(exposure(
                    "workflow-env-token",
                    at,
                    format!("global variables set {key}: every job of the pipeline, and every script it runs, gets it"),
                ));
            }
        }
    }
    exposures
}

/// The login a job performs: GitLab's native `secrets:` flow, or one found in the scripts.
struct JobLogin {
    /// The auth method: a script's `vault login -method=…` or `auth/<m>/login` write, else JWT
    /// (GitLab's native `secrets:` flow).
    method: AuthMethod,
    mount: Val,
    role: Option<Val>,
    namespace: Option<Val>,
    /// The `id_tokens` entry whose token the login presents.
    jwt_var: Option<String>,
}

impl JobLogin {
    fn of(source: &JobSource<'_>, scripts: &ScriptScan, native: &NativeSecrets) -> Self {
        let vars = source.vars;
        match scripts.logins.first() {
            Some(login) if get(source.job, "secrets").is_none() => JobLogin {
                method: super::super::jobscan::login_method(&login.method)
                    .unwrap_or(AuthMethod::Jwt),
                mount: vars.expand(&login.mount),
                role: login.role.as_deref().map(|r| vars.expand(r)),
                namespace: match login.namespace.as_deref() {
                    Some(n) => Some(vars.expand(n)),
                    None => vars.get("VAULT_NAMESPACE"),
                },
                jwt_var: login.jwt_var.clone(),
            },
            _ => {
                let var = |k: &str| vars.get(k);
                JobLogin {
                    method: AuthMethod::Jwt,
                    mount: var("VAULT_AUTH_PATH").unwrap_or(Val::Known("jwt".into())),
                    role: var("VAULT_AUTH_ROLE"),
                    namespace: var("VAULT_NAMESPACE"),
                    jwt_var: native.token_var.clone(),
                }
            }
        }
    }
}

/// An `id_tokens` entry: its name and audiences.
#[derive(Clone)]
struct IdToken {
    name: String,
    audiences: Vec<Val>,
}

/// The ID token the login presents: the one named, else the only one.
fn presented_token(
    source: &JobSource<'_>,
    login: &JobLogin,
    out: &mut Discovery,
) -> Option<IdToken> {
    let tokens: Vec<IdToken> = entries(get(source.job, "id_tokens").unwrap_or(&Value::Null))
        .into_iter()
        .map(|(name, v)| IdToken {
            name,
            audiences: get(v, "aud")
                .map(strings)
                .unwrap_or_default()
                .iter()
                .map(|aud| source.vars.expand(aud))
                .collect(),
        })
        .collect();
    if get(source.job, "secrets").is_some() && !source.vars.contains("VAULT_SERVER_URL") {
        out.notes.push(format!(
            "{}: job `{}` has Vault secrets but VAULT_SERVER_URL is not in `variables:` (it may be a project or group CI/CD variable)",
            source.file.name, source.name
        ));
    }
    let token = match &login.jwt_var {
        Some(var) => tokens.iter().find(|t| &t.name == var).cloned(),
        None => (tokens.len() == 1).then(|| tokens[0].clone()),
    };
    let presents_jwt = matches!(login.method, AuthMethod::Jwt | AuthMethod::Oidc);
    if tokens.is_empty() && presents_jwt {
        out.notes.push(format!(
            "{}:{}: job `{}` reads Vault secrets but defines no `id_tokens`: it gets no ID token (CI_JOB_JWT was removed in GitLab 17.0)",
            source.file.name,
            (source.locate)(&[]).line.unwrap_or(0),
            source.name
        ));
    }
    token
}

/// Read one job; a job that logs in to Vault or reads from it yields one pipeline per way it
/// runs.
pub(super) fn analyze_job(source: &JobSource<'_>, opts: &Options, out: &mut Discovery) {
    let native = NativeSecrets::of(source, out);
    let scripts = ScriptScan::of(source, &native);
    let mut needs = native.needs.clone();
    needs.extend(scripts.needs.iter().cloned());
    let mut dynamic_needs = native.dynamic_needs.clone();
    dynamic_needs.extend(scripts.dynamic_needs.iter().cloned());
    let gaps = GapDynamics::of(source);
    // A job whose secrets could not be read still reads Vault: it is never dropped.
    let touches_vault = !needs.is_empty()
        || !scripts.logins.is_empty()
        || !dynamic_needs.is_empty()
        || gaps.in_secrets;
    if !touches_vault {
        return;
    }
    let mut exposures = scripts.exposures.clone();
    exposures.extend(artifact_exposures(source.job, &scripts.files));
    exposures.extend(variable_exposures(source, &needs));
    let login = JobLogin::of(source, &scripts, &native);
    let token = presented_token(source, &login, out);
    let drafts = JobDrafts {
        source,
        opts,
        login: &login,
        token: token.as_ref(),
        environment: get(source.job, "environment")
            .and_then(|e| match e {
                Value::Mapping(_) => get(e, "name").and_then(scalar),
                other => scalar(other),
            })
            .map(|name| source.vars.expand(&name)),
        needs: &needs,
        dynamic_needs: &dynamic_needs,
        gaps: &gaps,
        exposures: &exposures,
    };
    let runs = runs(source.job, source.top, opts);
    for run in &runs {
        let mut name = format!("{}/{}", source.project, source.name);
        if runs.len() > 1 {
            name.push_str(&format!("@{}", run.label()));
        }
        out.pipelines.push(drafts.draft(name, run).finish());
    }
}

/// Everything a job's pipelines are drafted from.
struct JobDrafts<'j> {
    source: &'j JobSource<'j>,
    opts: &'j Options,
    login: &'j JobLogin,
    token: Option<&'j IdToken>,
    environment: Option<Val>,
    needs: &'j [String],
    dynamic_needs: &'j [String],
    gaps: &'j GapDynamics,
    exposures: &'j [CiExposure],
}

impl JobDrafts<'_> {
    fn draft(&self, name: String, run: &Run) -> Draft {
        let source = self.source;
        let at = (source.locate)(&[]);
        let ci = CiEvidence {
            provider: "gitlab".into(),
            file: at.file.unwrap_or_else(|| source.file.name.clone()),
            job: source.name.to_string(),
            line: at.line,
            events: run
                .source
                .known()
                .map(|s| vec![s.to_string()])
                .unwrap_or_default(),
            exposures: Vec::new(),
            ..CiEvidence::default()
        };
        let login = self.login;
        let mount = login.mount.known().unwrap_or("jwt").to_string();
        let mut draft = Draft::new(name, login.method, &mount, ci);
        draft.login(&login.mount, login.role.as_ref(), login.namespace.as_ref());
        if !matches!(login.method, AuthMethod::Jwt | AuthMethod::Oidc) {
            self.runner_identity(&mut draft);
            self.needs_and_exposures(&mut draft);
            return draft;
        }
        self.issuer_and_audience(&mut draft);
        let project = source.project;
        let group = project.rsplit_once('/').map(|x| x.0).unwrap_or("");
        draft.claim("project_path", Val::Known(project.to_string()));
        draft.claim("namespace_path", Val::Known(group.to_string()));
        draft.claim("pipeline_source", run.source.clone());
        ref_claims(&mut draft, run, project, self.opts);
        if let Some(e) = &self.environment {
            draft.claim("environment", e.clone());
        }
        self.needs_and_exposures(&mut draft);
        draft
    }

    fn needs_and_exposures(&self, d: &mut Draft) {
        for need in self.needs {
            d.need(need);
        }
        for why in self.dynamic_needs {
            d.dynamic("needs", why.clone());
        }
        for gap in &self.gaps.fields {
            // A role the job itself sets (known or not) is not the missing template's.
            let role_set = gap.field == "auth.role" && self.login.role.is_some();
            if !role_set {
                d.dynamic(gap.field, gap.reason.clone());
            }
        }
        for exposure in self.exposures {
            d.expose(exposure.clone());
        }
    }

    /// A cloud login (`aws`, `gcp`, `azure`) presents the identity of the machine the job runs
    /// on: the runner's, which the CI configuration does not state.
    fn runner_identity(&self, d: &mut Draft) {
        let field = match self.login.method {
            AuthMethod::Aws => "auth.aws",
            AuthMethod::Gcp => "auth.gcp",
            AuthMethod::Azure => "auth.azure",
            AuthMethod::Github => "auth.github",
            _ => return,
        };
        let tags = get(self.source.job, "tags")
            .map(strings)
            .unwrap_or_default();
        let runner = if tags.is_empty() {
            "the runner's".to_string()
        } else {
            format!("the runner's (tags: {})", tags.join(", "))
        };
        d.dynamic(
            field,
            format!("{runner} cloud identity: known to the runner, not to the CI configuration"),
        );
    }

    fn issuer_and_audience(&self, d: &mut Draft) {
        let instance = self
            .opts
            .gitlab_url
            .as_ref()
            .map(|u| u.trim_end_matches('/').to_string());
        match &instance {
            Some(url) => d.claim("iss", Val::Known(url.clone())),
            None => d.dynamic(
                "auth.claims.iss",
                "the GitLab instance URL (pass --gitlab-url)",
            ),
        }
        let audiences = self.token.map(|t| t.audiences.as_slice()).unwrap_or(&[]);
        let known: Vec<&str> = audiences.iter().filter_map(Val::known).collect();
        match audiences {
            [one] => d.claim("aud", one.clone()),
            [_, _, ..] if known.len() < audiences.len() => {
                let shown: Vec<String> = audiences
                    .iter()
                    .map(|a| match a {
                        Val::Known(k) | Val::Dynamic(k) => k.clone(),
                    })
                    .collect();
                d.dynamic("auth.claims.aud", shown.join(", "));
            }
            [_, _, ..] => {
                d.claims.insert(
                    "aud".into(),
                    serde_json::Value::Array(
                        known
                            .iter()
                            .map(|a| serde_json::Value::String(a.to_string()))
                            .collect(),
                    ),
                );
            }
            [] => match instance {
                Some(url) => d.claim("aud", Val::Known(url)),
                None => d.dynamic(
                    "auth.claims.aud",
                    "the GitLab instance URL (no aud in id_tokens)",
                ),
            },
        }
    }
}

/// `ref`, `ref_type`, `ref_path`, `sub` and `ref_protected` for one way the job runs.
fn ref_claims(d: &mut Draft, run: &Run, project: &str, opts: &Options) {
    d.claim("ref", run.ref_.clone());
    if let Some(t) = run.ref_type {
        d.claim("ref_type", Val::Known(t.into()));
    }
    if let (Val::Known(r), Some(t)) = (&run.ref_, run.ref_type) {
        let path = if t == "tag" {
            format!("refs/tags/{r}")
        } else {
            format!("refs/heads/{r}")
        };
        d.claim("ref_path", Val::Known(path));
        d.claim(
            "sub",
            Val::Known(format!("project_path:{project}:ref_type:{t}:ref:{r}")),
        );
        match &opts.protected_refs {
            Some(p) => d.claim(
                "ref_protected",
                Val::Known(p.iter().any(|x| x == r).to_string()),
            ),
            None => d.dynamic(
                "auth.claims.ref_protected",
                "project settings (pass --protected-ref)",
            ),
        }
        return;
    }
    let described = match &run.ref_ {
        Val::Dynamic(e) => e.clone(),
        Val::Known(r) => r.clone(),
    };
    d.dynamic(
        "auth.claims.sub",
        format!(
            "project_path:{project}:ref_type:{}:ref:<{described}>",
            run.ref_type.unwrap_or("<ref_type>")
        ),
    );
    d.dynamic("auth.claims.ref_protected", "depends on the ref");
}

/// An inventory field left dynamic because the configuration could not give it.
struct GapField {
    field: &'static str,
    reason: String,
}

/// The fields of a job's pipelines that the unresolved tags and missing templates leave
/// dynamic.
#[derive(Default)]
struct GapDynamics {
    fields: Vec<GapField>,
    /// A tag under `secrets:` was not resolved: the job reads Vault, what it reads is unknown.
    in_secrets: bool,
}

impl GapDynamics {
    fn of(source: &JobSource<'_>) -> GapDynamics {
        let mut gaps = GapDynamics::default();
        for u in &source.gaps.unresolved {
            // Global variables are keyed by their name under the `variables` owner.
            let mut keys: Vec<&str> = Vec::new();
            if u.owner == "variables" {
                keys.push("variables");
            }
            keys.extend(u.path.iter().map(String::as_str));
            gaps.in_secrets |= keys.first() == Some(&"secrets");
            if let Some(field) = gap_field(&keys) {
                gaps.fields.push(GapField {
                    field,
                    reason: u.reason.clone(),
                });
            }
        }
        for missing in &source.gaps.missing_extends {
            for field in ["needs", "auth.role"] {
                gaps.fields.push(GapField {
                    field,
                    reason: missing.clone(),
                });
            }
        }
        gaps
    }
}

/// The inventory field a job key feeds.
fn gap_field(keys: &[&str]) -> Option<&'static str> {
    match keys {
        ["secrets" | "script" | "before_script" | "after_script", ..] => Some("needs"),
        ["id_tokens", ..] => Some("auth.claims.aud"),
        ["variables", "VAULT_AUTH_ROLE", ..] => Some("auth.role"),
        ["variables", "VAULT_AUTH_PATH", ..] => Some("auth.mount"),
        ["variables", "VAULT_NAMESPACE", ..] => Some("auth.namespace"),
        ["rules" | "only" | "except", ..] => Some("auth.claims.ref"),
        ["environment", ..] => Some("auth.claims.environment"),
        _ => None,
    }
}
