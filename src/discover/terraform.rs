//! HCP Terraform / Terraform Enterprise dynamic provider credentials for Vault, read from the
//! Terraform code that manages the workspaces (`tfe_workspace`, `tfe_variable`,
//! `tfe_variable_set` and its attachments): its `terraform show -json` output (state or plan),
//! or its HCL2 source (`*.tf`, read by `super::tfhcl`).
//!
//! A workspace whose environment variables say `TFC_VAULT_PROVIDER_AUTH=true` logs in to Vault
//! in each run, once per phase: the plan and the apply are two pipelines, each with its role
//! (`TFC_VAULT_PLAN_ROLE` / `TFC_VAULT_APPLY_ROLE`, else `TFC_VAULT_RUN_ROLE`), on the mount
//! `TFC_VAULT_AUTH_PATH` (default `jwt`) in `TFC_VAULT_NAMESPACE`. Variables tagged for a
//! provider alias (`TFC_VAULT_…_<TAG>`, defaults in `TFC_DEFAULT_VAULT_…`) are one more login
//! per tag. The token's claims are HCP Terraform's (`docs/pipelines.md#hcp-terraform`). The
//! secrets a run reads are the `vault_*` data sources of the workspace's own configuration,
//! when its `terraform show -json` is given (`--terraform-config WORKSPACE=FILE`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::error::Location;
use super::{DiscoverError, Discovery, Draft, Options, Result, Val};
use crate::inventory::{AuthMethod, CiEvidence, CiExposure};

/// HCP Terraform's issuer (Terraform Enterprise: the instance URL, `--terraform-url`).
pub const ISSUER: &str = "https://app.terraform.io";
/// The audience of the tokens when `TFC_VAULT_WORKLOAD_IDENTITY_AUDIENCE` is not set.
pub const DEFAULT_AUDIENCE: &str = "vault.workload.identity";
/// The project of a workspace created without one.
const DEFAULT_PROJECT: &str = "Default Project";
/// Module nesting read at most.
const MAX_MODULE_DEPTH: usize = 16;

/// One resource (or data source) of the JSON: its address, type and attribute values, and the
/// references its configuration makes per attribute (for values only known after apply).
#[derive(Debug, Clone)]
pub(super) struct Resource {
    pub(super) address: String,
    pub(super) kind: String,
    pub(super) values: Value,
    pub(super) references: BTreeMap<String, Vec<String>>,
}

/// The resources of one input read together: a JSON document, or a directory's `*.tf` files
/// (one module: its files reference each other).
struct Unit {
    shown: String,
    resources: Vec<Resource>,
}

impl Resource {
    fn text(&self, attr: &str) -> Option<String> {
        match self.values.get(attr)? {
            Value::String(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// Whether attribute `attr` points at `target`: equal ids when both are known, else a
    /// configuration reference to the target's address.
    fn links(&self, attr: &str, target: &Resource) -> bool {
        if let (Some(a), Some(b)) = (self.text(attr), target.text("id")) {
            return a == b;
        }
        self.references.get(attr).is_some_and(|refs| {
            refs.iter()
                .any(|r| r == &target.address || *r == format!("{}.id", target.address))
        })
    }
}

/// One pipeline phase of a workspace run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Plan,
    Apply,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Plan => "plan",
            Phase::Apply => "apply",
        }
    }
}

/// The `TFC_VAULT_*` settings of one workspace for one tag (`""`: untagged).
#[derive(Debug, Default)]
struct Settings {
    values: BTreeMap<String, String>,
}

impl Settings {
    /// `TFC_VAULT_<name>[_<tag>]`, else (tagged only) `TFC_DEFAULT_VAULT_<name>`.
    fn get(&self, name: &str, tag: &str) -> Option<&String> {
        if tag.is_empty() {
            return self.values.get(&format!("TFC_VAULT_{name}"));
        }
        self.values
            .get(&format!("TFC_VAULT_{name}_{tag}"))
            .or_else(|| self.values.get(&format!("TFC_DEFAULT_VAULT_{name}")))
    }

    /// The tags with `TFC_VAULT_PROVIDER_AUTH[_TAG] = true` (`""` for the untagged form).
    fn tags(&self) -> Vec<String> {
        self.values
            .iter()
            .filter(|(_, v)| v.trim().eq_ignore_ascii_case("true"))
            .filter_map(|(k, _)| k.strip_prefix("TFC_VAULT_PROVIDER_AUTH"))
            .map(|rest| rest.trim_start_matches('_').to_string())
            .collect()
    }
}

/// The inputs of a path: a `.tf` file, a JSON file, or a directory whose `*.json` files are
/// one input each and whose `*.tf` files are one input together (sorted by name).
fn units(path: &Path) -> Result<Vec<Unit>> {
    let is_tf = |p: &Path| p.extension().is_some_and(|e| e == "tf");
    if !path.is_dir() {
        let resources = if is_tf(path) {
            hcl_resources(&[path.to_path_buf()])?
        } else {
            resources(&load(path)?)
        };
        let shown = path.display().to_string();
        return Ok(vec![Unit { shown, resources }]);
    }
    let read = std::fs::read_dir(path).map_err(|source| DiscoverError::Read {
        shown: path.display().to_string(),
        source,
    })?;
    let mut files: Vec<PathBuf> = read.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    let mut out = Vec::new();
    for json in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
    {
        out.push(Unit {
            shown: json.display().to_string(),
            resources: resources(&load(json)?),
        });
    }
    let tf_files: Vec<PathBuf> = files.iter().filter(|p| is_tf(p)).cloned().collect();
    if !tf_files.is_empty() {
        out.push(Unit {
            shown: path.display().to_string(),
            resources: hcl_resources(&tf_files)?,
        });
    }
    Ok(out)
}

/// The resources of HCL files read as one module.
fn hcl_resources(files: &[PathBuf]) -> Result<Vec<Resource>> {
    let mut out = Vec::new();
    for file in files {
        let shown = file.display().to_string();
        let text = std::fs::read_to_string(file).map_err(|source| DiscoverError::Read {
            shown: shown.clone(),
            source,
        })?;
        out.extend(super::tfhcl::resources(&text, &shown)?);
    }
    Ok(out)
}

/// Parse one `terraform show -json` output; errors name the file, line and column.
fn load(path: &Path) -> Result<Value> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| DiscoverError::Read {
        shown: shown.clone(),
        source,
    })?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| DiscoverError::MalformedJsonAt {
        shown: shown.clone(),
        at: Location {
            line: e.line(),
            column: e.column(),
        },
        message: e.to_string(),
    })?;
    if doc.get("format_version").is_none() {
        return Err(DiscoverError::NotTerraformJson { shown });
    }
    Ok(doc)
}

/// The resources of a document: prior state, then state values, then planned values (later
/// ones win for the same address), with the configuration's references.
fn resources(doc: &Value) -> Vec<Resource> {
    let mut by_address: BTreeMap<String, Resource> = BTreeMap::new();
    let mut refs = BTreeMap::new();
    if let Some(root) = doc.pointer("/configuration/root_module") {
        config_references(root, "", 0, &mut refs);
    }
    for pointer in [
        "/prior_state/values/root_module",
        "/values/root_module",
        "/planned_values/root_module",
    ] {
        if let Some(module) = doc.pointer(pointer) {
            module_resources(module, 0, &refs, &mut by_address);
        }
    }
    by_address.into_values().collect()
}

fn module_resources(
    module: &Value,
    depth: usize,
    refs: &BTreeMap<String, BTreeMap<String, Vec<String>>>,
    out: &mut BTreeMap<String, Resource>,
) {
    if depth > MAX_MODULE_DEPTH {
        return;
    }
    for r in items(module, "resources") {
        let (Some(address), Some(kind)) = (
            r.get("address").and_then(Value::as_str),
            r.get("type").and_then(Value::as_str),
        ) else {
            continue;
        };
        let unindexed = address.split('[').next().unwrap_or(address);
        out.insert(
            address.to_string(),
            Resource {
                address: address.to_string(),
                kind: kind.to_string(),
                values: r.get("values").cloned().unwrap_or(Value::Null),
                references: refs.get(unindexed).cloned().unwrap_or_default(),
            },
        );
    }
    for child in items(module, "child_modules") {
        module_resources(child, depth + 1, refs, out);
    }
}

/// The elements of the array `key` of `v` (none when it is absent or not an array).
fn items<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

/// `configuration` references per resource address and attribute (module calls prefixed).
fn config_references(
    module: &Value,
    prefix: &str,
    depth: usize,
    out: &mut BTreeMap<String, BTreeMap<String, Vec<String>>>,
) {
    if depth > MAX_MODULE_DEPTH {
        return;
    }
    for r in items(module, "resources") {
        let Some(address) = r.get("address").and_then(Value::as_str) else {
            continue;
        };
        let mut attrs = BTreeMap::new();
        for (attr, expr) in r
            .get("expressions")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let list: Vec<String> = items(expr, "references")
                .filter_map(Value::as_str)
                .map(|s| format!("{prefix}{s}"))
                .collect();
            attrs.insert(attr.clone(), list);
        }
        out.insert(format!("{prefix}{address}"), attrs);
    }
    for (name, call) in module
        .get("module_calls")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if let Some(inner) = call.get("module") {
            let module_prefix = format!("{prefix}module.{name}.");
            config_references(inner, &module_prefix, depth + 1, out);
        }
    }
}

pub fn discover(path: &Path, opts: &Options, out: &mut Discovery) -> Result<()> {
    for unit in units(path)? {
        let (all, shown) = (unit.resources, unit.shown);
        for ws in all.iter().filter(|r| r.kind == "tfe_workspace") {
            let settings = settings(ws, &all, &shown, out);
            for tag in settings.tags() {
                let login = Login {
                    ws,
                    all: &all,
                    settings: &settings,
                    tag: &tag,
                    file: &shown,
                };
                for phase in [Phase::Plan, Phase::Apply] {
                    let draft = pipeline(&login, phase, opts, out)?;
                    out.pipelines.push(draft.finish());
                }
            }
        }
    }
    Ok(())
}

/// The variable sets that apply to a workspace, each with its precedence: 0 global, 1 attached
/// to its project, 2 attached to it.
fn variable_sets<'a>(ws: &Resource, all: &'a [Resource]) -> Vec<(usize, &'a Resource)> {
    let project = all
        .iter()
        .find(|p| p.kind == "tfe_project" && ws.links("project_id", p));
    let attached = |link_kind: &str, attr: &str, target: &Resource, set: &Resource| {
        all.iter().any(|l| {
            l.kind == link_kind && l.links(attr, target) && l.links("variable_set_id", set)
        })
    };
    all.iter()
        .filter(|s| s.kind == "tfe_variable_set")
        .filter_map(|set| {
            let level = if attached("tfe_workspace_variable_set", "workspace_id", ws, set) {
                2
            } else if project
                .is_some_and(|p| attached("tfe_project_variable_set", "project_id", p, set))
            {
                1
            } else if set.values.get("global") == Some(&Value::Bool(true)) {
                0
            } else {
                return None;
            };
            Some((level, set))
        })
        .collect()
}

/// The workspace's environment variables, from global, project and workspace variable sets,
/// then its own variables (each level overriding the one before, as HCP Terraform does).
fn settings(ws: &Resource, all: &[Resource], file: &str, out: &mut Discovery) -> Settings {
    let sets = variable_sets(ws, all);
    let mut values = BTreeMap::new();
    for level in 0..=3 {
        for var in all.iter().filter(|v| v.kind == "tfe_variable") {
            let owner = if level == 3 {
                var.links("workspace_id", ws)
            } else {
                sets.iter()
                    .any(|(l, set)| *l == level && var.links("variable_set_id", set))
            };
            if !owner {
                continue;
            }
            let Some(key) = var.text("key").filter(|k| k.starts_with("TFC_")) else {
                continue;
            };
            if var.text("category").as_deref() != Some("env") {
                out.notes.push(format!(
                    "{file}: {} sets {key} as a Terraform variable: HCP Terraform reads it only as an environment variable (category \"env\"): ignored",
                    var.address
                ));
                continue;
            }
            match var.text("value") {
                Some(v) => {
                    values.insert(key, v);
                }
                None => {
                    values.insert(key, format!("${{{}.value}}", var.address));
                }
            }
        }
    }
    Settings { values }
}

/// The names HCP Terraform puts in the token, each known or why not.
struct Names {
    organization: Val,
    organization_id: Val,
    project: Val,
    project_id: Val,
    workspace: Val,
    workspace_id: Val,
}

fn names(ws: &Resource, all: &[Resource]) -> Names {
    let known = |v: Option<String>, why: String| v.map(Val::Known).unwrap_or(Val::Dynamic(why));
    let organization = known(
        ws.text("organization"),
        format!("{}: the provider's default organization", ws.address),
    );
    let org_id = organization.known().and_then(|name| {
        all.iter()
            .find(|o| o.kind == "tfe_organization" && o.text("name").as_deref() == Some(name))
            .and_then(|o| o.text("external_id"))
    });
    let project = all
        .iter()
        .find(|p| p.kind == "tfe_project" && ws.links("project_id", p));
    let (project_name, project_id) = match (project, ws.text("project_id")) {
        (Some(p), id) => (
            known(p.text("name"), format!("{}.name", p.address)),
            known(
                p.text("id").or(id),
                format!("{}.id (known after apply)", p.address),
            ),
        ),
        (None, Some(id)) => (
            Val::Dynamic(format!("the name of project {id}")),
            Val::Known(id),
        ),
        (None, None) if !ws.references.contains_key("project_id") => (
            Val::Known(DEFAULT_PROJECT.into()),
            Val::Dynamic("the organization's default project's id".into()),
        ),
        (None, None) => (
            Val::Dynamic(format!("{}.project_id", ws.address)),
            Val::Dynamic(format!("{}.project_id", ws.address)),
        ),
    };
    Names {
        organization,
        organization_id: known(
            org_id,
            "the organization's id (org-…; a data.tfe_organization gives it)".into(),
        ),
        project: project_name,
        project_id,
        workspace: known(ws.text("name"), format!("{}.name", ws.address)),
        workspace_id: known(
            ws.text("id"),
            format!("{}.id (known after apply)", ws.address),
        ),
    }
}

/// The pipeline of one phase of one workspace's runs (for one provider tag).
/// One login of a workspace's runs: the workspace, the resources around it, its settings, and
/// the provider tag (`""`: untagged).
struct Login<'l> {
    ws: &'l Resource,
    all: &'l [Resource],
    settings: &'l Settings,
    tag: &'l str,
    file: &'l str,
}

fn pipeline(login: &Login, phase: Phase, opts: &Options, out: &mut Discovery) -> Result<Draft> {
    let Login {
        ws,
        all,
        settings,
        tag,
        file,
    } = *login;
    let workspace_names = names(ws, all);
    let label = |v: &Val| match v {
        Val::Known(s) => s.clone(),
        Val::Dynamic(_) => "?".into(),
    };
    let tag_part = if tag.is_empty() {
        String::new()
    } else {
        format!("[{tag}]")
    };
    let name = format!(
        "{}/{}/{}{tag_part}",
        label(&workspace_names.organization),
        label(&workspace_names.workspace),
        phase.name()
    );
    let ci = CiEvidence {
        provider: "terraform".into(),
        file: file.to_string(),
        job: ws.address.clone(),
        line: None,
        events: vec![phase.name().to_string()],
        exposures: Vec::new(),
        ..CiEvidence::default()
    };
    let mount = settings.get("AUTH_PATH", tag).map(|m| Val::of(m));
    let mut draft = Draft::new(
        name,
        AuthMethod::Jwt,
        mount.as_ref().and_then(Val::known).unwrap_or("jwt"),
        ci,
    );
    if let Some(Val::Dynamic(e)) = mount {
        draft.dynamic("auth.mount", e);
    }
    match settings.get("NAMESPACE", tag).map(|s| Val::of(s)) {
        Some(Val::Known(ns)) => draft.auth.namespace = ns.trim_matches('/').to_string(),
        Some(Val::Dynamic(e)) => draft.dynamic("auth.namespace", e),
        None => {}
    }
    let phase_role = match phase {
        Phase::Plan => "PLAN_ROLE",
        Phase::Apply => "APPLY_ROLE",
    };
    let role = settings
        .get(phase_role, tag)
        .or_else(|| settings.get("RUN_ROLE", tag));
    match role.map(|r| Val::of(r)) {
        Some(Val::Known(r)) => draft.auth.role = Some(r),
        Some(Val::Dynamic(e)) => draft.dynamic("auth.role", e),
        None => out.notes.push(format!(
            "{file}: workspace {} sets TFC_VAULT_PROVIDER_AUTH{} but no TFC_VAULT_RUN_ROLE or TFC_VAULT_{phase_role}: its {} phase cannot log in",
            ws.address,
            if tag.is_empty() { String::new() } else { format!("_{tag}") },
            phase.name()
        )),
    }
    claims(&mut draft, &workspace_names, settings, tag, phase, opts);
    same_role(&mut draft, settings, tag, phase, ws);
    if let Some(config) = workspace_names
        .workspace
        .known()
        .and_then(|w| opts.terraform_configs.get(w))
    {
        for unit in units(config)? {
            for path in reads(&unit.resources) {
                draft.need(&path);
            }
        }
    }
    Ok(draft)
}

/// HCP Terraform's claims for one phase (`docs/pipelines.md#hcp-terraform`).
fn claims(
    draft: &mut Draft,
    n: &Names,
    settings: &Settings,
    tag: &str,
    phase: Phase,
    opts: &Options,
) {
    let iss = opts.terraform_url.as_deref().unwrap_or(ISSUER);
    draft.claim("iss", Val::Known(iss.trim_end_matches('/').to_string()));
    let aud = settings
        .get("WORKLOAD_IDENTITY_AUDIENCE", tag)
        .cloned()
        .unwrap_or_else(|| DEFAULT_AUDIENCE.into());
    draft.claim("aud", Val::of(&aud));
    draft.claim("terraform_organization_name", n.organization.clone());
    draft.claim("terraform_organization_id", n.organization_id.clone());
    draft.claim("terraform_project_name", n.project.clone());
    draft.claim("terraform_project_id", n.project_id.clone());
    draft.claim("terraform_workspace_name", n.workspace.clone());
    draft.claim("terraform_workspace_id", n.workspace_id.clone());
    draft.claim("terraform_run_phase", Val::Known(phase.name().into()));
    draft.dynamic("auth.claims.terraform_run_id", "the run's id (run-…)");
    let part = |v: &Val| match v {
        Val::Known(s) => s.clone(),
        Val::Dynamic(_) => "<unknown>".into(),
    };
    let full = format!(
        "organization:{}:project:{}:workspace:{}",
        part(&n.organization),
        part(&n.project),
        part(&n.workspace)
    );
    let all_known = [&n.organization, &n.project, &n.workspace]
        .iter()
        .all(|v| v.known().is_some());
    let sub = format!("{full}:run_phase:{}", phase.name());
    if all_known {
        draft.claim("terraform_full_workspace", Val::Known(full));
        draft.claim("sub", Val::Known(sub));
    } else {
        draft.dynamic("auth.claims.terraform_full_workspace", full);
        draft.dynamic("auth.claims.sub", sub);
    }
}

/// `plan-apply-same-role` on the plan phase when it logs in with the apply phase's role.
fn same_role(draft: &mut Draft, settings: &Settings, tag: &str, phase: Phase, ws: &Resource) {
    if phase != Phase::Plan {
        return;
    }
    let run = settings.get("RUN_ROLE", tag);
    let plan = settings.get("PLAN_ROLE", tag).or(run);
    let apply = settings.get("APPLY_ROLE", tag).or(run);
    let (Some(plan), Some(apply)) = (plan, apply) else {
        return;
    };
    if plan != apply {
        return;
    }
    let how =
        if settings.get("PLAN_ROLE", tag).is_some() && settings.get("APPLY_ROLE", tag).is_some() {
            "TFC_VAULT_PLAN_ROLE and TFC_VAULT_APPLY_ROLE name the same role"
        } else {
            "only TFC_VAULT_RUN_ROLE is set"
        };
    draft.expose(CiExposure {
        kind: "plan-apply-same-role".into(),
        detail: format!(
            "workspace {}: {how} ({plan}): plans, speculative plans of unmerged changes included, log in with the role that applies",
            ws.address
        ),
        ..Default::default()
    });
}

/// The API paths the `vault_*` data sources of a configuration read.
fn reads(all: &[Resource]) -> Vec<String> {
    let mut out = Vec::new();
    for r in all {
        if !(r.address.starts_with("data.") || r.address.contains(".data.")) {
            continue;
        }
        let path = match r.kind.as_str() {
            "vault_generic_secret" | "vault_kv_secret" => r.text("path"),
            "vault_kv_secret_v2" => match (r.text("mount"), r.text("name")) {
                (Some(m), Some(n)) => Some(super::kv2_data(&m, &n)),
                _ => None,
            },
            _ => None,
        };
        out.push(path.unwrap_or_else(|| format!("${{{}}}", r.address)));
    }
    out.retain(|p| !p.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tagged_settings_fall_back_to_defaults() {
        let settings = Settings {
            values: BTreeMap::from([
                ("TFC_VAULT_PROVIDER_AUTH".to_string(), "true".to_string()),
                (
                    "TFC_VAULT_PROVIDER_AUTH_OPS".to_string(),
                    "true".to_string(),
                ),
                (
                    "TFC_DEFAULT_VAULT_RUN_ROLE".to_string(),
                    "fallback".to_string(),
                ),
                ("TFC_VAULT_RUN_ROLE".to_string(), "app".to_string()),
            ]),
        };
        assert_eq!(settings.tags(), ["", "OPS"]);
        assert_eq!(
            settings.get("RUN_ROLE", "").map(String::as_str),
            Some("app")
        );
        assert_eq!(
            settings.get("RUN_ROLE", "OPS").map(String::as_str),
            Some("fallback")
        );
    }

    #[test]
    fn data_sources_are_reads() {
        let doc = json!({"format_version": "1.0", "values": {"root_module": {"resources": [
            {"address": "data.vault_kv_secret_v2.db", "mode": "data", "type": "vault_kv_secret_v2",
             "values": {"mount": "secret", "name": "app/db"}},
            {"address": "data.vault_generic_secret.legacy", "mode": "data", "type": "vault_generic_secret",
             "values": {"path": "kv1/app"}},
            {"address": "vault_policy.p", "mode": "managed", "type": "vault_policy", "values": {}}
        ]}}});
        // In address order.
        assert_eq!(reads(&resources(&doc)), ["kv1/app", "secret/data/app/db"]);
    }
}
