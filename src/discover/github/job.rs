//! One job of a workflow: its steps read in order (vault-action, `run:` scripts, checkouts,
//! uploads), the logins and secret paths found there, what exposes them, and one pipeline per
//! distinct login and trigger with the claims GitHub puts in the job's OIDC token.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use yaml_serde::Value;

use super::super::shell::{self, SecretUse};
use super::super::yaml::{entries, get, scalar, strings, Seg, YamlFile};
use super::super::{is_expression, Discovery, Draft, Options, Val};
use super::matrix::{self, Combination, Matrix};
use super::{malformed_secrets, parse_secrets, Call, Trigger, Workflow, ISSUER};
use crate::inventory::{AuthMethod, CiEvidence, CiExposure, Pipeline};
use crate::login::AwsIdentity;

/// Events on which a job may run code from a fork with the base repository's privileges.
const FORK_TRIGGERS: [&str; 3] = ["pull_request_target", "workflow_run", "issue_comment"];

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
    /// The login is made by the code of another repository's action (`uses: owner/repo@ref`),
    /// which a static reader cannot see: what it does is said here, the fields are dynamic.
    by_action: Option<ActionLogin>,
    step: usize,
    line: Option<usize>,
}

/// A login another repository's action makes in its own code, in words.
#[derive(Debug, Clone)]
struct ActionLogin {
    /// The action, its step and the inputs it is given.
    login: String,
    /// What it reads: its inputs may name it, its code decides.
    reads: String,
}

/// What makes two logins the same configuration: method, mount, role and namespace.
#[derive(Debug, PartialEq, Eq)]
struct LoginKey {
    method: String,
    mount: String,
    role: String,
    namespace: String,
}

impl Login {
    fn key(&self) -> LoginKey {
        let text = |v: &Option<Val>| match v {
            Some(Val::Known(s)) | Some(Val::Dynamic(s)) => s.clone(),
            None => String::new(),
        };
        let mount = match &self.mount {
            Val::Known(s) | Val::Dynamic(s) => s.clone(),
        };
        LoginKey {
            method: self.method.clone(),
            mount,
            role: text(&self.role),
            namespace: text(&self.namespace),
        }
    }

    /// A job that reads secrets without a login step uses a token it was given.
    fn given_token(line: Option<usize>) -> Login {
        Login {
            method: "token".into(),
            mount: Val::Known("token".into()),
            role: None,
            namespace: None,
            audience: None,
            user: None,
            self_signed: false,
            by_action: None,
            step: 0,
            line,
        }
    }
}

/// Local actions (`uses: ./.github/actions/x`), read from the checkout: a composite action's
/// steps are read like the job's own, and an action that is a copy of `hashicorp/vault-action`
/// (its `action.yml` declares that action's inputs) is read as it. Nesting is bounded, and
/// nothing outside the checkout is opened.
struct LocalActions<'r> {
    root: &'r Path,
    depth: usize,
}

/// The job step that runs a local action, and how many steps the job has.
#[derive(Clone, Copy)]
struct ActionStep {
    step: usize,
    step_count: usize,
}

/// Composite actions nested deeper than this are not followed (GitHub itself stops at 10).
const MAX_ACTION_DEPTH: usize = 10;

/// What a local action turned out to be.
enum LocalAction {
    /// A composite action or a copy of vault-action: its steps were read.
    Read(StepScan),
    /// Code blastmap does not read (JavaScript, a Docker image) or an `action.yml` it could not
    /// read: only what the step hands it is known.
    Code(ActionCode),
}

/// Code a step runs whose Vault calls a static reader cannot see: another repository's action,
/// a local JavaScript or Docker action, a local action it could not read.
struct ActionCode {
    /// How texts name it after its `uses:` ("another repository's action whose code is not
    /// read").
    kind: String,
    /// The literal defaults of the inputs it declares: a local action given no `vault-url`
    /// still logs in to the one its `action.yml` defaults to.
    defaults: BTreeMap<String, String>,
}

impl ActionCode {
    fn other_repository() -> Self {
        ActionCode {
            kind: "another repository's action whose code is not read".into(),
            defaults: BTreeMap::new(),
        }
    }

    fn unread() -> Self {
        ActionCode {
            kind: "a local action whose action.yml could not be read".into(),
            defaults: BTreeMap::new(),
        }
    }

    fn local(using: &str, defaults: BTreeMap<String, String>) -> Self {
        let runtime = if using == "docker" {
            "Docker".to_string()
        } else {
            crate::text::shorten(using, 40)
        };
        ActionCode {
            kind: format!("a local {runtime} action whose code is not read"),
            defaults,
        }
    }

    /// The step's settings, then the defaults of declared inputs the step does not give.
    fn settings(&self, given: Vec<StepSetting>) -> Vec<StepSetting> {
        let mut settings = given;
        for (key, value) in &self.defaults {
            if !settings
                .iter()
                .any(|s| s.section == "with" && &s.key == key)
            {
                settings.push(StepSetting {
                    section: "default",
                    key: key.clone(),
                    value: Some(value.clone()),
                });
            }
        }
        settings
    }
}

impl LocalActions<'_> {
    fn scan(
        &self,
        place: &JobPlace<'_>,
        at_step: ActionStep,
        local: &str,
        inputs: BTreeMap<String, String>,
        job_env: &BTreeMap<String, String>,
        out: &mut Discovery,
    ) -> LocalAction {
        let step = at_step.step;
        let at = format!(
            "{}:{}",
            place.file.name,
            place.step_line(step, "uses").unwrap_or(0)
        );
        if self.depth >= MAX_ACTION_DEPTH {
            out.notes.push(format!("{at}: local action ./{local} is nested more than {MAX_ACTION_DEPTH} deep: not read"));
            return LocalAction::Code(ActionCode::unread());
        }
        let Some(action) = self.read(local, &at, out) else {
            return LocalAction::Code(ActionCode::unread());
        };
        let runs = get(&action.value, "runs");
        let using = runs
            .and_then(|r| get(r, "using"))
            .and_then(scalar)
            .unwrap_or_default();
        let defaults = declared_defaults(&action.value);
        let mut inputs_with_defaults = defaults.clone();
        inputs_with_defaults.extend(inputs);
        if using == "composite" {
            let steps: Vec<&Value> = runs
                .and_then(|r| get(r, "steps"))
                .and_then(Value::as_sequence)
                .map(|s| s.iter().collect())
                .unwrap_or_default();
            let sub_place = JobPlace {
                file: &action,
                id: place.id,
                path: vec![Seg::Key("runs")],
            };
            let sub_call = Call {
                file: &action,
                rel: local.to_string(),
                job_id: place.id.to_string(),
                inputs: inputs_with_defaults,
                caller_permissions: Vec::new(),
                job_workflow: None,
                caller: None,
                uncalled: false,
            };
            let nested = LocalActions {
                root: self.root,
                depth: self.depth + 1,
            };
            let mut sub = StepScan::of(&sub_place, &steps, &sub_call, job_env, &nested, out);
            for e in &mut sub.exposures {
                e.file.get_or_insert_with(|| action.name.clone());
            }
            return LocalAction::Read(sub);
        }
        if is_vault_action_copy(&action.value) {
            let scan = vault_action_copy(place, at_step, &inputs_with_defaults, out);
            return LocalAction::Read(scan);
        }
        LocalAction::Code(ActionCode::local(&using, defaults))
    }

    /// The action's `action.yml` (or `action.yaml`), when it is inside the checkout.
    fn read(&self, local: &str, at: &str, out: &mut Discovery) -> Option<YamlFile> {
        let dir = self.root.join(local);
        let file = ["action.yml", "action.yaml"]
            .iter()
            .map(|n| dir.join(n))
            .find(|p| p.is_file());
        let Some(file) = file else {
            out.notes.push(format!("{at}: local action ./{local} has no action.yml in this checkout: what it does with Vault is not known"));
            return None;
        };
        if super::super::confine(self.root, &file) == super::super::Confined::Outside {
            out.notes.push(format!(
                "{at}: local action ./{local} leads out of the repository: not read"
            ));
            return None;
        }
        let shown = file.display().to_string();
        match YamlFile::read(&file, &shown) {
            Ok(y) => Some(y),
            Err(e) => {
                out.notes.push(format!("{at}: local action ./{local} cannot be read ({e}): what it does with Vault is not known"));
                None
            }
        }
    }
}

/// The literal `default:` of each declared input of an action.
fn declared_defaults(action: &Value) -> BTreeMap<String, String> {
    entries(get(action, "inputs").unwrap_or(&Value::Null))
        .into_iter()
        .filter_map(|(k, v)| get(v, "default").and_then(scalar).map(|d| (k, d)))
        .collect()
}

/// An action whose inputs are hashicorp/vault-action's (`url`, `method`, `secrets`, `role`): a
/// vendored copy of it, which logs in and reads as it does.
fn is_vault_action_copy(action: &Value) -> bool {
    let inputs = get(action, "inputs");
    ["url", "method", "secrets", "role"]
        .iter()
        .all(|k| inputs.and_then(|i| get(i, k)).is_some())
}

/// Read a step that runs a copy of vault-action as if it named `hashicorp/vault-action`.
fn vault_action_copy(
    place: &JobPlace<'_>,
    at: ActionStep,
    inputs: &BTreeMap<String, String>,
    out: &mut Discovery,
) -> StepScan {
    let with: Value = Value::Mapping(
        inputs
            .iter()
            .map(|(k, v)| (Value::String(k.clone()), Value::String(v.clone())))
            .collect(),
    );
    let as_written = StepInputs {
        with: Some(&with),
        inputs: &BTreeMap::new(),
    };
    let mut scan = StepScan::default();
    let step_value = Value::Null;
    scan.vault_action(place, at.step, &step_value, &as_written, at.step_count, out);
    scan
}

/// An input or variable name that says Vault (or OpenBao): `vault-url`, `vaultRole`,
/// `VAULT_ADDR`, `bao_namespace`.
fn names_vault(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    lower.contains("vault")
        || lower.contains("openbao")
        || lower
            .split(['-', '_'])
            .next()
            .is_some_and(|first| first == "bao")
}

/// A URL whose host names Vault or OpenBao (`https://vault.acme.example:8200`).
fn vault_url(text: &str) -> bool {
    let Some(rest) = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
    else {
        return false;
    };
    let host = rest
        .split(['/', ':'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    host.contains("vault")
        || host.contains("openbao")
        || host.split('.').any(|label| label == "bao")
}

/// At most this many characters of an action's inputs are quoted in a dynamic field.
const MAX_QUOTED_SETTINGS: usize = 400;

/// A `with:` or `env:` entry of a step, the caller's inputs substituted in its value.
struct StepSetting {
    section: &'static str,
    key: String,
    /// `None` when the value is not a scalar.
    value: Option<String>,
}

/// The step's `with:` and `env:` entries. `inputs` are the caller's: inside a composite
/// action, `${{ inputs.x }}` is what the workflow gave it (`${{ secrets.VAULT_ROLE_ID }}`).
fn step_settings(step: &Value, inputs: &BTreeMap<String, String>) -> Vec<StepSetting> {
    let mut settings = Vec::new();
    for section in ["with", "env"] {
        for (key, value) in entries(get(step, section).unwrap_or(&Value::Null)) {
            settings.push(StepSetting {
                section,
                key,
                value: scalar(value).map(|text| subst(&text, inputs)),
            });
        }
    }
    settings
}

/// Whether a `uses:` names code this repository does not hold and Vault does not ship: not a
/// local action, not a reusable workflow, not `hashicorp/vault-action`.
fn third_party(uses: &str) -> bool {
    !uses.is_empty()
        && !uses.starts_with("./")
        && !uses.starts_with("hashicorp/vault-action@")
        && uses != "hashicorp/vault-action"
}

/// A Vault credential an expression hands over, and the login it stands for.
struct HandedCredential {
    what: String,
    method: &'static str,
}

impl HandedCredential {
    fn login(&self, step: usize, line: Option<usize>) -> Login {
        let mount = match self.method {
            "token" => Val::Known("token".into()),
            _ => Val::Dynamic("the AppRole mount the action logs in to".into()),
        };
        Login {
            method: self.method.into(),
            mount,
            role: None,
            namespace: None,
            audience: None,
            user: None,
            self_signed: false,
            by_action: None,
            step,
            line,
        }
    }
}

/// The Vault credential a `${{ … }}` expression of a step input refers to, if any.
fn vault_credential(text: &str) -> Option<HandedCredential> {
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        let end = rest[start..].find("}}").map_or(rest.len(), |e| start + e);
        let expr = rest[start + 3..end].trim();
        if let Some(found) = credential_reference(expr) {
            return Some(found);
        }
        rest = &rest[(end + 2).min(rest.len())..];
    }
    None
}

fn credential_reference(expr: &str) -> Option<HandedCredential> {
    let token = |what: String| {
        Some(HandedCredential {
            what,
            method: "token",
        })
    };
    if let Some(step) = expr
        .strip_prefix("steps.")
        .and_then(|r| r.strip_suffix(".outputs.vault_token"))
    {
        return token(format!("the Vault token output of step `{step}`"));
    }
    let (scope, name) = expr.split_once('.')?;
    if !matches!(scope, "secrets" | "vars" | "env") {
        return None;
    }
    let upper = name.to_ascii_uppercase().replace('-', "_");
    let vault = upper.contains("VAULT") || upper.contains("BAO");
    if upper.contains("ROLE_ID")
        || upper.contains("SECRET_ID")
        || upper.contains("ROLEID")
        || upper.contains("SECRETID")
    {
        return Some(HandedCredential {
            what: format!("an AppRole credential ({scope}.{name})"),
            method: "approle",
        });
    }
    if vault && upper.contains("TOKEN") {
        return token(format!("a Vault token ({scope}.{name})"));
    }
    None
}

/// Substitute `${{ inputs.X }}` with a literal input of the caller.
pub(super) fn subst(s: &str, inputs: &BTreeMap<String, String>) -> String {
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

/// The `env:` values of a workflow, job or step that are literal: an expression (`${{ … }}`) is
/// only known when the job runs.
fn literal_env(scope: &Value) -> BTreeMap<String, String> {
    entries(get(scope, "env").unwrap_or(&Value::Null))
        .into_iter()
        .filter_map(|(name, value)| {
            let text = scalar(value)?;
            (!text.contains("${{")).then_some((name, text))
        })
        .collect()
}

/// The audience a script asks GitHub's token service for: the `audience` parameter added to
/// `$ACTIONS_ID_TOKEN_REQUEST_URL`. Without it the token carries the default audience.
fn requested_audience(run: &str) -> Option<Val> {
    let request = run.find("ACTIONS_ID_TOKEN_REQUEST_URL")?;
    let rest = &run[request..];
    let line_end = rest.find('\n').unwrap_or(rest.len());
    let parameter = rest[..line_end].find("audience=")?;
    let value = &rest[parameter + "audience=".len()..line_end];
    let end = value
        .find(|c: char| c == '"' || c == '\'' || c == '&' || c.is_whitespace())
        .unwrap_or(value.len());
    let value = &value[..end];
    (!value.is_empty()).then(|| Val::of(value))
}

fn debug_switch(name: &str) -> bool {
    name == "ACTIONS_STEP_DEBUG" || name == "ACTIONS_RUNNER_DEBUG"
}

/// A secret path read at a step (it goes to the login in force at that step).
struct StepNeed {
    step: usize,
    path: String,
}

/// An `actions/upload-artifact` step.
struct Upload {
    step: usize,
    paths: Vec<String>,
    line: Option<usize>,
}

/// A secret a step writes to a file.
struct SecretFile {
    step: usize,
    var: String,
    file: String,
    line: Option<usize>,
}

/// Where a job is in its workflow file.
struct JobPlace<'a> {
    file: &'a YamlFile,
    id: &'a str,
    /// Where the steps' parent is: `jobs.<id>` in a workflow, `runs` in a composite action.
    path: Vec<Seg<'a>>,
}

impl<'a> JobPlace<'a> {
    fn step_path(&self, step: usize, key: &'static str) -> Vec<Seg<'a>> {
        let mut path = self.path.to_vec();
        path.extend([Seg::Key("steps"), Seg::Item(step), Seg::Key(key)]);
        path
    }

    fn step_line(&self, step: usize, key: &'static str) -> Option<usize> {
        self.file.line(&self.step_path(step, key))
    }

    fn step_field_line(&self, step: usize, key: &'static str, field: &str) -> Option<usize> {
        self.file
            .line(&[&self.step_path(step, key)[..], &[Seg::Key(field)]].concat())
    }
}

/// An `aws-actions/configure-aws-credentials` step: the role it assumes and the region.
struct AwsCredentials {
    step: usize,
    role: Option<Val>,
    region: Option<Val>,
}

/// What the steps of a job do with Vault, read in order.
#[derive(Default)]
struct StepScan {
    logins: Vec<Login>,
    needs: Vec<StepNeed>,
    exposures: Vec<CiExposure>,
    /// Environment variables and outputs that hold secrets.
    secret_vars: BTreeSet<String>,
    uploads: Vec<Upload>,
    files: Vec<SecretFile>,
    /// The first step that checks out the pull request's code.
    fork_checkout: Option<usize>,
    /// vault-action steps by `id`, with the outputs that hold secrets.
    vault_steps: BTreeMap<String, BTreeSet<String>>,
    /// `aws-actions/configure-aws-credentials` steps: the AWS identity later steps run as.
    aws_credentials: Vec<AwsCredentials>,
    /// The audience of the last ID token a script requested (`…&audience=X` on
    /// `$ACTIONS_ID_TOKEN_REQUEST_URL`): the `aud` of the JWT its later logins present.
    requested_audience: Option<Val>,
}

/// The `with:` inputs of a step, with the caller's inputs substituted.
struct StepInputs<'a> {
    with: Option<&'a Value>,
    inputs: &'a BTreeMap<String, String>,
}

impl StepInputs<'_> {
    /// Every literal `with:` input, the caller's inputs substituted.
    fn literal_inputs(&self) -> BTreeMap<String, String> {
        entries(self.with.unwrap_or(&Value::Null))
            .into_iter()
            .filter_map(|(k, v)| scalar(v).map(|v| (k, subst(&v, self.inputs))))
            .collect()
    }

    fn get(&self, key: &str) -> Option<String> {
        self.with
            .and_then(|w| get(w, key))
            .and_then(scalar)
            .map(|s| subst(&s, self.inputs))
    }
}

impl StepScan {
    fn of(
        place: &JobPlace<'_>,
        steps: &[&Value],
        call: &Call,
        job_env: &BTreeMap<String, String>,
        actions: &LocalActions<'_>,
        out: &mut Discovery,
    ) -> Self {
        let mut scan = StepScan::default();
        for (i, step) in steps.iter().enumerate() {
            let uses = get(step, "uses").and_then(scalar).unwrap_or_default();
            let with = StepInputs {
                with: get(step, "with"),
                inputs: &call.inputs,
            };
            scan.step_env(place, i, step);
            if uses.starts_with("hashicorp/vault-action@") || uses == "hashicorp/vault-action" {
                scan.vault_action(place, i, step, &with, steps.len(), out);
            } else if uses.starts_with("actions/upload-artifact@") {
                let paths: Vec<String> = with
                    .get("path")
                    .map(|p| {
                        p.lines()
                            .map(str::trim)
                            .filter(|l| !l.is_empty())
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                scan.uploads.push(Upload {
                    step: i,
                    paths,
                    line: place.step_line(i, "uses"),
                });
            } else if uses.starts_with("aws-actions/configure-aws-credentials@") {
                scan.aws_credentials.push(AwsCredentials {
                    step: i,
                    role: with.get("role-to-assume").map(|r| Val::of(&r)),
                    region: with.get("aws-region").map(|r| Val::of(&r)),
                });
            } else if uses.starts_with("actions/checkout@") {
                scan.checkout(i, &with);
            } else if let Some(local) = uses.strip_prefix("./") {
                let step_inputs = with.literal_inputs();
                let at = ActionStep {
                    step: i,
                    step_count: steps.len(),
                };
                match actions.scan(place, at, local, step_inputs, job_env, out) {
                    LocalAction::Read(sub) => scan.absorb(sub, i, place.step_line(i, "uses")),
                    LocalAction::Code(code) => {
                        let settings = code.settings(step_settings(step, &call.inputs));
                        scan.credential_handoff(place, i, &uses, &code, &settings);
                    }
                }
            } else if third_party(&uses) {
                let settings = step_settings(step, &call.inputs);
                let code = ActionCode::other_repository();
                scan.credential_handoff(place, i, &uses, &code, &settings);
            } else if let Some(run) = get(step, "run").and_then(scalar) {
                let mut env = job_env.clone();
                env.extend(literal_env(step));
                scan.run(place, i, &shell::with_env(&subst(&run, &call.inputs), &env));
            }
        }
        scan.artifact_exposures();
        scan
    }

    /// Take in what a local action's steps do, as done by the step `step` that runs it: its
    /// logins and reads count from that step on; its own lines are in its file, so logins take
    /// the calling step's line.
    fn absorb(&mut self, sub: StepScan, step: usize, line: Option<usize>) {
        self.logins.extend(sub.logins.into_iter().map(|mut l| {
            l.step = step;
            l.line = line;
            l
        }));
        self.needs.extend(sub.needs.into_iter().map(|mut n| {
            n.step = step;
            n
        }));
        self.exposures.extend(sub.exposures);
        self.secret_vars.extend(sub.secret_vars);
        self.vault_steps.extend(sub.vault_steps);
        if self.fork_checkout.is_none() {
            self.fork_checkout = sub.fork_checkout.map(|_| step);
        }
        if sub.requested_audience.is_some() {
            self.requested_audience = sub.requested_audience;
        }
    }

    /// Vault credentials in the `with:` or `env:` of an action whose code is not read (another
    /// repository's, a local JavaScript or Docker action): the token a
    /// vault-action step outputs, an exported `VAULT_TOKEN`, or a repository secret or variable
    /// holding a Vault token, role-id or secret-id. The action's code can use it with every
    /// policy it carries. A job whose only contact with Vault is such a hand-off still logs in
    /// (through the action): it gets that login, so it is not dropped.
    fn credential_handoff(
        &mut self,
        place: &JobPlace<'_>,
        i: usize,
        uses: &str,
        code: &ActionCode,
        settings: &[StepSetting],
    ) {
        let mut handed = false;
        for setting in settings {
            let Some(text) = &setting.value else { continue };
            let Some(credential) = vault_credential(text) else {
                continue;
            };
            let (section, key) = (setting.section, &setting.key);
            self.exposures.push(CiExposure {
                kind: "credential-to-action".into(),
                line: place.step_field_line(i, section, key),
                detail: format!(
                    "step {} passes {} to {uses} as {section}.{key}: the action's code holds a Vault credential",
                    i + 1,
                    credential.what
                ),
                ..Default::default()
            });
            handed = true;
            if self.logins.is_empty() {
                self.logins
                    .push(credential.login(i, place.step_line(i, "uses")));
            }
        }
        if !handed {
            self.action_login(place, i, uses, code, settings);
        }
    }

    /// An action whose code is not read, given Vault settings and no credential: an input or
    /// env named for Vault (`vault-url`, `vault_role`, `VAULT_ADDR`), or a URL to a Vault host,
    /// given by the step or defaulted by a local action's `action.yml`. It logs in itself, in
    /// code blastmap does not read, so the job is a pipeline whose
    /// method, mount, role and reads are dynamic, its inputs quoted, rather than a job that
    /// reaches nothing.
    fn action_login(
        &mut self,
        place: &JobPlace<'_>,
        i: usize,
        uses: &str,
        code: &ActionCode,
        settings: &[StepSetting],
    ) {
        let mut quoted = Vec::new();
        let mut for_vault = false;
        for setting in settings {
            let shown = setting.value.as_deref().unwrap_or_default();
            for_vault |= names_vault(&setting.key) || vault_url(shown);
            quoted.push(format!("{}.{}={shown}", setting.section, setting.key));
        }
        if !for_vault {
            return;
        }
        let quoted = crate::text::shorten(&quoted.join(", "), MAX_QUOTED_SETTINGS);
        let what = format!(
            "the login made by {uses} (step {}), {}; it is given {quoted}",
            i + 1,
            code.kind
        );
        self.logins.push(Login {
            method: "dynamic".into(),
            mount: Val::Dynamic(format!("the auth mount {uses} logs in to")),
            role: Some(Val::Dynamic(format!("the role {uses} logs in with"))),
            namespace: None,
            audience: None,
            user: None,
            self_signed: false,
            by_action: Some(ActionLogin {
                login: what,
                reads: format!("the secrets {uses} reads (step {})", i + 1),
            }),
            step: i,
            line: place.step_line(i, "uses"),
        });
    }

    /// Step env: names bound to secret outputs of earlier vault-action steps, debug switches.
    fn step_env(&mut self, place: &JobPlace<'_>, i: usize, step: &Value) {
        for (key, value) in entries(get(step, "env").unwrap_or(&Value::Null)) {
            let Some(text) = scalar(value) else { continue };
            if self
                .vault_steps
                .keys()
                .any(|id| text.contains(&format!("steps.{id}.outputs")))
            {
                self.secret_vars.insert(key.clone());
            }
            if debug_switch(&key) && truthy(value) {
                self.exposures.push(CiExposure {
                    kind: "step-debug".into(),
                    line: place.step_field_line(i, "env", &key),
                    detail: format!("step env sets {key}: true: debug logging for this step"),
                    ..Default::default()
                });
            }
        }
    }

    fn vault_action(
        &mut self,
        place: &JobPlace<'_>,
        i: usize,
        step: &Value,
        with: &StepInputs<'_>,
        step_count: usize,
        out: &mut Discovery,
    ) {
        let method = with.get("method").unwrap_or_else(|| "token".into());
        let mount = with.get("path").unwrap_or_else(|| method.clone());
        self.logins.push(Login {
            method: method.clone(),
            mount: Val::of(&mount),
            role: with.get("role").map(|r| Val::of(&r)),
            namespace: with.get("namespace").map(|n| Val::of(&n)),
            audience: with
                .get("jwtGithubAudience")
                .filter(|a| !a.is_empty())
                .map(|a| Val::of(&a)),
            user: with.get("username").map(|u| Val::of(&u)),
            self_signed: with.get("jwtPrivateKey").is_some(),
            by_action: None,
            step: i,
            line: place.step_line(i, "uses"),
        });
        let outputs = self.vault_action_secrets(place, i, with, out);
        if let Some(pki) = with.get("pki") {
            for entry in pki.split(';').map(str::trim).filter(|e| !e.is_empty()) {
                if let Some(path) = entry.split_whitespace().next() {
                    self.needs.push(StepNeed {
                        step: i,
                        path: path.to_string(),
                    });
                }
            }
        }
        let export_env = with
            .get("exportEnv")
            .map(|v| v.trim() != "false")
            .unwrap_or(true);
        if export_env {
            self.secret_vars.extend(outputs.iter().cloned());
        }
        if let Some(id) = get(step, "id").and_then(scalar) {
            let mut step_outputs = outputs;
            if with.get("outputToken").is_some_and(|v| v.trim() == "true") {
                step_outputs.insert("vault_token".into());
            }
            self.vault_steps.insert(id, step_outputs);
        }
        if with
            .with
            .and_then(|w| get(w, "exportToken"))
            .is_some_and(truthy)
        {
            self.secret_vars.insert("VAULT_TOKEN".into());
            let later_steps = step_count - i - 1;
            self.exposures.push(CiExposure {
                kind: "export-token".into(),
                line: place
                    .step_field_line(i, "with", "exportToken")
                    .or(place.step_line(i, "uses")),
                detail: format!(
                    "hashicorp/vault-action with exportToken: true (step {}): VAULT_TOKEN is exported to the {later_steps} later step(s) of job `{}`",
                    i + 1,
                    place.id
                ),
                later_steps: Some(later_steps),
                ..Default::default()
            });
        }
    }

    /// The `secrets` input of a vault-action step: the paths it reads; returns the output names.
    fn vault_action_secrets(
        &mut self,
        place: &JobPlace<'_>,
        i: usize,
        with: &StepInputs<'_>,
        out: &mut Discovery,
    ) -> BTreeSet<String> {
        let mut outputs = BTreeSet::new();
        let Some(secrets) = with.get("secrets") else {
            return outputs;
        };
        let line = place.step_field_line(i, "with", "secrets").unwrap_or(0);
        for bad in malformed_secrets(&secrets) {
            if bad.contains("${{") {
                // An expression may stand for any number of entries: GitHub substitutes it
                // before the action splits the input, so the paths are known only then.
                out.notes.push(format!(
                    "{}:{line}: job `{}`: vault-action secrets entry {bad:?} is an expression: the paths it names are known when the step runs (needs dynamic)",
                    place.file.name, place.id
                ));
                self.needs.push(StepNeed {
                    step: i,
                    path: format!("{bad} (vault-action secrets given by an expression: known when the step runs)"),
                });
                continue;
            }
            out.notes.push(format!(
                "{}:{}: job `{}`: vault-action secrets entry {bad:?} is not `<path> <selector> [| NAME]` (entries are separated by `;`, not by newlines): ignored",
                place.file.name,
                line,
                place.id
            ));
        }
        for (path, _selector, name) in parse_secrets(&secrets) {
            self.needs.push(StepNeed { step: i, path });
            if let Some(name) = name {
                outputs.insert(name);
            }
        }
        outputs
    }

    fn checkout(&mut self, i: usize, with: &StepInputs<'_>) {
        let checked_out = with.get("ref").unwrap_or_default();
        let repository = with.get("repository").unwrap_or_default();
        if checked_out.contains("head.sha")
            || checked_out.contains("head.ref")
            || checked_out.contains("github.head_ref")
            || checked_out.contains("refs/pull/")
            || repository.contains("head.repo")
        {
            self.fork_checkout.get_or_insert(i);
        }
    }

    /// A `run:` script: logins, reads, and what it does with secrets.
    fn run(&mut self, place: &JobPlace<'_>, i: usize, run: &str) {
        // References to secret outputs inside the script, and step env.
        let mut known = self.secret_vars.clone();
        for (id, outputs) in &self.vault_steps {
            for output in outputs {
                if run.contains(&format!("steps.{id}.outputs.{output}")) {
                    known.insert(output.clone());
                }
            }
        }
        if let Some(audience) = requested_audience(run) {
            self.requested_audience = Some(audience);
        }
        let scan = shell::scan(run, &known, &BTreeSet::new());
        let line_of = |offset: usize| place.file.scalar_line(&place.step_path(i, "run"), offset);
        for login in &scan.logins {
            self.logins.push(Login {
                method: login.method.clone(),
                mount: Val::of(&login.mount),
                role: login.role.as_deref().map(Val::of),
                namespace: login.namespace.as_deref().map(Val::of),
                audience: self.requested_audience.clone(),
                user: None,
                self_signed: false,
                by_action: None,
                step: i,
                line: line_of(login.line),
            });
        }
        for access in &scan.accesses {
            self.needs.push(StepNeed {
                step: i,
                path: access.path.clone(),
            });
        }
        self.secret_vars.extend(scan.assigned.iter().cloned());
        if scan.fork_checkout.is_some() {
            self.fork_checkout.get_or_insert(i);
        }
        for secret_use in &scan.uses {
            match secret_use {
                SecretUse::Echoed { var, line } => self.exposures.push(CiExposure {
                    kind: "secret-echoed".into(),
                    line: line_of(*line),
                    detail: format!("step {} prints {var} to the job log", i + 1),
                    ..Default::default()
                }),
                SecretUse::File { var, file, line } => self.files.push(SecretFile {
                    step: i,
                    var: var.clone(),
                    file: file.clone(),
                    line: line_of(*line),
                }),
                SecretUse::Traced { what, line } => self.exposures.push(CiExposure {
                    kind: "debug-logging".into(),
                    line: line_of(*line),
                    detail: format!("step {}: {what}", i + 1),
                    ..Default::default()
                }),
            }
        }
    }

    /// Secrets written to files that a later step uploads.
    fn artifact_exposures(&mut self) {
        for written in &self.files {
            let upload = self.uploads.iter().find(|upload| {
                upload.step > written.step
                    && upload
                        .paths
                        .iter()
                        .any(|p| super::super::path_covered(p, &written.file))
            });
            if let Some(upload) = upload {
                self.exposures.push(CiExposure {
                    kind: "secret-in-artifact".into(),
                    line: written.line,
                    detail: format!(
                        "step {} writes {} to {}, uploaded as an artifact by actions/upload-artifact (line {})",
                        written.step + 1,
                        written.var,
                        written.file,
                        upload.line.map(|l| l.to_string()).unwrap_or_else(|| "?".into())
                    ),
                    ..Default::default()
                });
            }
        }
    }
}

/// Debug switches in the workflow's and the job's `env`, and tokens in the workflow's.
fn env_exposures(ctx: &Workflow, place: &JobPlace<'_>, job: &Value) -> Vec<CiExposure> {
    let mut exposures = Vec::new();
    let file = place.file;
    for scope in ["workflow", "job"] {
        let (value, env_file, base) = if scope == "workflow" {
            (&ctx.file.value, ctx.file, Vec::new())
        } else {
            (job, file, place.path.to_vec())
        };
        let other_file = (env_file.name != file.name).then(|| env_file.name.clone());
        for (key, val) in entries(get(value, "env").unwrap_or(&Value::Null)) {
            let mut path = base.clone();
            path.extend([Seg::Key("env"), Seg::Key(&key)]);
            if debug_switch(&key) && truthy(val) {
                exposures.push(CiExposure {
                    kind: "step-debug".into(),
                    file: other_file.clone(),
                    line: env_file.line(&path),
                    detail: format!(
                        "{scope}-level env sets {key}: true: debug logging for every step"
                    ),
                    ..Default::default()
                });
            } else if scope == "workflow" {
                let text = scalar(val).unwrap_or_default();
                if text.contains("secrets.") && super::super::credential_name(&key)
                    || key == "VAULT_TOKEN"
                    || key == "BAO_TOKEN"
                {
                    exposures.push(CiExposure {
                        kind: "workflow-env-token".into(),
                        file: other_file.clone(),
                        line: env_file.line(&path),
                        detail: format!("workflow-level env {key} = {text}: every step of every job, third-party actions included, gets it"),
                        ..Default::default()
                    });
                }
            }
        }
    }
    exposures
}

/// What the job's settings put in its token and how it runs: shared by its pipelines.
struct JobSettings {
    /// `permissions: id-token: write` (job, workflow or caller).
    oidc: bool,
    environment: Option<Val>,
    runner_environment: Option<&'static str>,
    workflow_name: String,
    /// An `if:` that keeps pull requests from forks out of the job.
    fork_guard: bool,
}

impl JobSettings {
    fn of(ctx: &Workflow, call: &Call, job: &Value) -> Self {
        // Permissions: the job's, else the workflow's, else the caller's.
        let permissions: Option<&Value> = get(job, "permissions")
            .or_else(|| get(&call.file.value, "permissions"))
            .or_else(|| call.caller_permissions.first().copied());
        let environment = get(job, "environment").and_then(|e| match e {
            Value::Mapping(_) => get(e, "name").and_then(scalar),
            other => scalar(other),
        });
        let runner = get(job, "runs-on").map(strings).unwrap_or_default();
        let runner_environment = if runner.iter().any(|r| r == "self-hosted") {
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
        let condition = get(job, "if")
            .and_then(scalar)
            .unwrap_or_default()
            .replace(' ', "");
        JobSettings {
            oidc: permissions.is_some_and(id_token_write),
            environment: environment.map(|e| Val::of(&subst(&e, &call.inputs))),
            runner_environment,
            workflow_name: get(&ctx.file.value, "name")
                .and_then(scalar)
                .unwrap_or_else(|| ctx.rel.clone()),
            fork_guard: condition.contains("head.repo.full_name==github.repository")
                || condition
                    .contains("github.repository==github.event.pull_request.head.repo.full_name")
                || condition.contains("head.repo.fork==false")
                || condition.contains("!github.event.pull_request.head.repo.fork"),
        }
    }
}

/// The job's pipeline name (before login and trigger suffixes) and its `ci.job`.
fn job_names(ctx: &Workflow, call: &Call) -> (String, String) {
    let job_id = call.job_id.as_str();
    let stem = |rel: &str| {
        Path::new(rel)
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default()
    };
    match &call.caller {
        Some(caller) => (
            format!(
                "{}/{}/{}/{job_id}",
                ctx.repo.full(),
                stem(&ctx.rel),
                caller.ids
            ),
            format!("{} → {}#{job_id}", caller.shown, call.rel),
        ),
        None => (
            format!("{}/{}/{job_id}", ctx.repo.full(), stem(&call.rel)),
            job_id.to_string(),
        ),
    }
}

/// The pipelines of one job: one per distinct login and trigger, and per matrix combination
/// where the combinations differ in what they log in with or read.
pub(super) fn job_pipelines(
    ctx: &Workflow,
    call: &Call,
    job: &Value,
    opts: &Options,
    out: &mut Discovery,
) {
    if !matrix::mentioned(job) {
        return pipelines_as_written(ctx, call, job, opts, out);
    }
    match matrix::read(job) {
        Matrix::AsWritten => pipelines_as_written(ctx, call, job, opts, out),
        Matrix::TooLarge(n) => {
            out.notes.push(format!(
                "{}: job `{}` has a matrix of {n} combinations, beyond GitHub's 256: not expanded, its matrix values stay dynamic",
                call.file.name, call.job_id
            ));
            pipelines_as_written(ctx, call, job, opts, out)
        }
        Matrix::Combinations(combos) => expand(ctx, call, job, &combos, opts, out),
    }
}

/// One set of pipelines per combination; combinations whose pipelines equal an earlier one's
/// (but for the name) add nothing. When every combination gives the same pipelines they keep
/// the job's names; otherwise each job name is followed by its combination
/// (`deploy[svc=api,env=prod]@push:refs/heads/main`).
fn expand(
    ctx: &Workflow,
    call: &Call,
    job: &Value,
    combos: &[Combination],
    opts: &Options,
    out: &mut Discovery,
) {
    let mut kept: Vec<(String, Vec<Pipeline>)> = Vec::new();
    for combo in combos {
        let mut part = Discovery::default();
        pipelines_as_written(ctx, call, &matrix::substitute(job, combo), opts, &mut part);
        for note in part.notes {
            if !out.notes.contains(&note) {
                out.notes.push(note);
            }
        }
        let seen = kept
            .iter()
            .any(|(_, earlier)| same_but_names(earlier, &part.pipelines));
        if !seen {
            kept.push((combo.label(), part.pipelines));
        }
    }
    let several = kept.len() > 1;
    let base = job_names(ctx, call).0;
    for (label, pipelines) in kept {
        for mut p in pipelines {
            // Every name starts with the job's: the combination goes right after it, before
            // the login and trigger suffixes.
            if several {
                if let Some(rest) = p.name.strip_prefix(&base) {
                    p.name = format!("{base}[{label}]{rest}");
                }
            }
            out.pipelines.push(p);
        }
    }
}

fn same_but_names(a: &[Pipeline], b: &[Pipeline]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            let mut y = y.clone();
            y.name.clone_from(&x.name);
            *x == y
        })
}

/// The pipelines of one job as written (no matrix expansion).
fn pipelines_as_written(
    ctx: &Workflow,
    call: &Call,
    job: &Value,
    opts: &Options,
    out: &mut Discovery,
) {
    let place = JobPlace {
        file: call.file,
        id: call.job_id.as_str(),
        path: vec![Seg::Key("jobs"), Seg::Key(call.job_id.as_str())],
    };
    let steps: Vec<&Value> = get(job, "steps")
        .and_then(Value::as_sequence)
        .map(|s| s.iter().collect())
        .unwrap_or_default();
    let mut job_env = literal_env(&ctx.file.value);
    job_env.extend(literal_env(job));
    let actions = LocalActions {
        root: ctx.root,
        depth: 0,
    };
    let mut scan = StepScan::of(&place, &steps, call, &job_env, &actions, out);
    if scan.logins.is_empty() && scan.needs.is_empty() {
        return;
    }
    scan.exposures.extend(env_exposures(ctx, &place, job));
    let settings = JobSettings::of(ctx, call, job);
    let job_line = place.file.line(&place.path);
    let runs_fork_code = ctx
        .triggers
        .iter()
        .any(|t| FORK_TRIGGERS.contains(&t.event.as_str()));
    if settings.fork_guard && runs_fork_code {
        out.notes.push(format!(
            "{}:{}: job `{}` runs only for pull requests from the repository itself (`if: {}`): not reported as running fork code",
            place.file.name,
            job_line.unwrap_or(0),
            place.id,
            get(job, "if").and_then(scalar).unwrap_or_default()
        ));
    }
    let job = JobDrafts {
        ctx,
        call,
        opts,
        place: &place,
        steps: &steps,
        scan: &scan,
        settings: &settings,
        distinct: distinct_logins(&scan.logins, job_line),
        names: job_names(ctx, call),
        job_line,
    };
    job.emit(out);
}

/// One login per distinct configuration, in order of appearance.
fn distinct_logins(logins: &[Login], job_line: Option<usize>) -> Vec<Login> {
    let mut distinct: Vec<Login> = Vec::new();
    for login in logins {
        if !distinct.iter().any(|d| d.key() == login.key()) {
            distinct.push(login.clone());
        }
    }
    if distinct.is_empty() {
        distinct.push(Login::given_token(job_line));
    }
    distinct
}

/// Everything the pipelines of one job are drafted from.
struct JobDrafts<'j> {
    ctx: &'j Workflow<'j>,
    call: &'j Call<'j>,
    opts: &'j Options,
    place: &'j JobPlace<'j>,
    steps: &'j [&'j Value],
    scan: &'j StepScan,
    settings: &'j JobSettings,
    distinct: Vec<Login>,
    /// (pipeline name before suffixes, `ci.job`).
    names: (String, String),
    job_line: Option<usize>,
}

impl JobDrafts<'_> {
    fn emit(&self, out: &mut Discovery) {
        for (index, login) in self.distinct.iter().enumerate() {
            let dynamic = is_expression(&login.method) || login.by_action.is_some();
            let method = super::super::jobscan::login_method(&login.method)
                .or_else(|| dynamic.then_some(AuthMethod::Dynamic));
            let Some(method) = method else {
                out.notes.push(format!(
                    "{}:{}: job `{}` logs in with method `{}`, which the inventory cannot describe: skipped",
                    self.place.file.name,
                    login.line.unwrap_or(0),
                    self.place.id,
                    login.method
                ));
                continue;
            };
            if method == AuthMethod::Jwt && !login.self_signed && !self.settings.oidc {
                out.notes.push(format!(
                    "{}:{}: job `{}` logs in with jwt but has no `permissions: id-token: write` (job, workflow or caller): GitHub issues it no OIDC token, so this login fails",
                    self.place.file.name,
                    self.job_line.unwrap_or(0),
                    self.place.id
                ));
            }
            for trigger in &self.ctx.triggers {
                let draft = self.draft(index, login, method, trigger);
                out.pipelines.push(draft.finish());
            }
        }
    }

    /// The index in `distinct` of the login in force at a step.
    fn login_at(&self, step: usize) -> usize {
        let mut best = 0;
        for (k, distinct) in self.distinct.iter().enumerate() {
            let key = distinct.key();
            if self
                .scan
                .logins
                .iter()
                .any(|l| l.key() == key && l.step <= step)
            {
                best = k;
            }
        }
        best
    }

    fn pipeline_name(&self, index: usize, login: &Login, trigger: &Trigger) -> String {
        let mut name = self.names.0.clone();
        if self.distinct.len() > 1 {
            name.push_str(&format!(
                "#{}",
                login
                    .role
                    .as_ref()
                    .and_then(Val::known)
                    .unwrap_or(&index.to_string())
            ));
        }
        if self.ctx.triggers.len() > 1 {
            name.push_str(&format!("@{}", trigger.label()));
        }
        name
    }

    fn draft(&self, index: usize, login: &Login, method: AuthMethod, trigger: &Trigger) -> Draft {
        let ci = CiEvidence {
            provider: "github".into(),
            file: self.place.file.name.clone(),
            job: self.names.1.clone(),
            line: self.job_line,
            events: vec![trigger.event.clone()],
            exposures: Vec::new(),
            ..CiEvidence::default()
        };
        let mount = match (&login.mount, method) {
            (_, AuthMethod::Dynamic) => String::new(),
            (Val::Known(m), _) => m.clone(),
            (Val::Dynamic(_), _) => login.method.clone(),
        };
        let name = self.pipeline_name(index, login, trigger);
        let mut draft = Draft::new(name, method, &mount, ci);
        if method == AuthMethod::Dynamic {
            let what = login.by_action.as_ref().map_or(&login.method, |a| &a.login);
            draft.dynamic("auth.method", what.clone());
            // Should the method turn out to be jwt, this is the audience it would ask for.
            if let Some(audience) = &login.audience {
                draft.claim("aud", audience.clone());
            }
        }
        apply_login(&mut draft, login, method);
        if method == AuthMethod::Aws {
            self.aws_identity(&mut draft, login);
        }
        if method == AuthMethod::Jwt {
            if login.self_signed {
                draft.dynamic(
                    "auth.claims",
                    "a self-signed JWT (jwtPrivateKey): its claims are not GitHub's",
                );
            } else {
                let token = TokenContext {
                    ctx: self.ctx,
                    call: self.call,
                    trigger,
                    login,
                    settings: self.settings,
                };
                claims(&mut draft, &token, self.opts);
            }
        }
        for need in &self.scan.needs {
            if self.login_at(need.step) == index {
                draft.need(&subst(&need.path, &self.call.inputs));
            }
        }
        if let Some(action) = &login.by_action {
            draft.dynamic("needs", action.reads.clone());
        }
        for exposure in &self.scan.exposures {
            draft.expose(exposure.clone());
        }
        self.fork_exposures(&mut draft, trigger);
        draft
    }

    /// The AWS identity of an `aws` login: the role the last `configure-aws-credentials` step
    /// before it assumed (the plugin resolves the session to that role), else the runner's own,
    /// which only the runner knows.
    fn aws_identity(&self, d: &mut Draft, login: &Login) {
        let credentials = self
            .scan
            .aws_credentials
            .iter()
            .rev()
            .find(|c| c.step < login.step);
        let Some(credentials) = credentials else {
            d.dynamic(
                "auth.aws",
                "the runner's own AWS identity (its instance profile or the credentials given to the job)",
            );
            return;
        };
        let mut identity = AwsIdentity::default();
        match &credentials.role {
            Some(Val::Known(arn)) if arn.starts_with("arn:") => {
                identity.iam_principal_arn = Some(arn.clone())
            }
            Some(Val::Known(name)) => d.dynamic(
                "auth.aws.iam_principal_arn",
                format!("role-to-assume {name:?} is a role name: its account is that of the credentials the job starts with"),
            ),
            Some(Val::Dynamic(e)) => d.dynamic("auth.aws.iam_principal_arn", e.clone()),
            None => d.dynamic(
                "auth.aws.iam_principal_arn",
                "the IAM user whose access keys configure-aws-credentials was given",
            ),
        }
        match &credentials.region {
            Some(Val::Known(region)) => identity.region = Some(region.clone()),
            Some(Val::Dynamic(e)) => d.dynamic("auth.aws.region", e.clone()),
            None => {}
        }
        d.auth.aws = Some(identity);
    }

    /// Pull requests from forks that reach the job's secrets.
    fn fork_exposures(&self, d: &mut Draft, trigger: &Trigger) {
        let job_id = self.place.id;
        let fork_guard = self.settings.fork_guard;
        let has_access = !d.needs.is_empty() || d.dynamic.iter().any(|x| x.field == "needs");
        if trigger.event == "pull_request_target" && has_access && !fork_guard {
            d.expose(CiExposure {
                kind: "pull-request-target".into(),
                line: self.place.file.line(&[Seg::Key("on")]),
                detail: format!(
                    "job `{job_id}` reads Vault secrets on pull_request_target: any pull request, from a fork too, triggers it with the base repository's privileges"
                ),
                ..Default::default()
            });
        }
        let Some(step) = self.scan.fork_checkout.filter(|_| !fork_guard) else {
            return;
        };
        if FORK_TRIGGERS.contains(&trigger.event.as_str()) {
            let key = if get(self.steps[step], "run").is_some() {
                "run"
            } else {
                "uses"
            };
            d.expose(CiExposure {
                kind: "fork-code".into(),
                line: self.place.step_line(step, key),
                detail: format!(
                    "job `{job_id}` runs on {} and checks out the pull request's code (step {}) in a job that reads Vault secrets",
                    trigger.event,
                    step + 1
                ),
                ..Default::default()
            });
        }
    }
}

/// The login's mount, role, namespace and user, known or dynamic, and what the method leaves to
/// the runner.
fn apply_login(d: &mut Draft, login: &Login, method: AuthMethod) {
    d.login(&login.mount, login.role.as_ref(), login.namespace.as_ref());
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
    let runner_identity = match method {
        AuthMethod::Gcp => Some((
            "auth.gcp",
            "the Google identity the job runs as (google-github-actions/auth or the runner's service account)",
        )),
        AuthMethod::Azure => Some((
            "auth.azure",
            "the Azure identity the job runs as (azure/login or the runner's managed identity)",
        )),
        AuthMethod::Github => Some(("auth.github", "the user behind the GitHub token the job presents")),
        _ => None,
    };
    if let Some((field, why)) = runner_identity {
        d.dynamic(field, why);
    }
    if method == AuthMethod::Approle && d.auth.role.is_none() {
        d.dynamic(
            "auth.role",
            "the AppRole behind the role-id given to the action (roleId)",
        );
    }
}

/// A claim value inside `sub`: `:` is encoded as `%3A`.
fn enc(s: &str) -> String {
    s.replace(':', "%3A")
}

/// What shapes one pipeline's OIDC token.
struct TokenContext<'t> {
    ctx: &'t Workflow<'t>,
    call: &'t Call<'t>,
    trigger: &'t Trigger,
    login: &'t Login,
    settings: &'t JobSettings,
}

/// The claims GitHub puts in the job's OIDC token for this trigger.
fn claims(d: &mut Draft, token: &TokenContext<'_>, opts: &Options) {
    let TokenContext {
        ctx,
        call,
        trigger: t,
        login,
        settings,
    } = *token;
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
    if let Some(e) = &settings.environment {
        d.claim("environment", e.clone());
    }
    d.claim("workflow", Val::of(&settings.workflow_name));
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
    if let Some(r) = settings.runner_environment {
        d.claim("runner_environment", Val::Known(r.into()));
    }
    let sub = sub_claim(d, token, opts);
    d.claim("sub", sub);
    if call.uncalled {
        caller_claims_unknown(d);
    }
}

/// The claims a reusable workflow's token takes from whoever calls it, when no caller is
/// known: dynamic, the values set from this workflow's own view dropped. `job_workflow_ref`
/// stays as `claims` wrote it: this workflow's path, at the ref the caller pins.
fn caller_claims_unknown(d: &mut Draft) {
    const FROM_CALLER: [&str; 12] = [
        "repository",
        "repository_owner",
        "repository_owner_id",
        "repository_id",
        "event_name",
        "ref",
        "ref_type",
        "base_ref",
        "head_ref",
        "workflow",
        "workflow_ref",
        "sub",
    ];
    for key in FROM_CALLER {
        d.claims.remove(key);
        d.dynamic
            .retain(|v| v.field != format!("auth.claims.{key}"));
    }
    for key in FROM_CALLER {
        let what = match key {
            "sub" => "the caller's repository and context",
            _ => "the calling workflow's value",
        };
        d.dynamic(
            format!("auth.claims.{key}"),
            format!("{what} (workflow_call, no caller in this checkout)"),
        );
    }
}

/// `sub`: the repository and the context (environment, else pull_request, else the ref), or
/// the keys of a customised subject template.
fn sub_claim(d: &Draft, token: &TokenContext<'_>, opts: &Options) -> Val {
    let repo = token.ctx.repo;
    let trigger = token.trigger;
    let context: Val = if let Some(e) = &token.settings.environment {
        match e {
            Val::Known(e) => Val::Known(format!("environment:{}", enc(e))),
            Val::Dynamic(x) => Val::Dynamic(format!("environment:{x}")),
        }
    } else if trigger.event == "pull_request" {
        Val::Known("pull_request".into())
    } else {
        match &trigger.ref_ {
            Val::Known(r) => Val::Known(format!("ref:{}", enc(r))),
            Val::Dynamic(x) => Val::Dynamic(format!("ref:<{x}>")),
        }
    };
    let Some(keys) = &opts.sub_template else {
        return match &context {
            Val::Known(c) => Val::Known(format!("repo:{}:{c}", repo.sub_repo())),
            Val::Dynamic(x) => Val::Dynamic(format!("repo:{}:{x}", repo.sub_repo())),
        };
    };
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
