//! Changes a what-if applies to a snapshot: policy files, a change file of roles, entities,
//! groups and policies, or a Terraform plan (see [`super::terraform`]).
//!
//! A change is applied to the snapshot's JSON form and the result is loaded back through the
//! model, so a change that would make the estate malformed (a role field of the wrong type …) is
//! refused with the model's own error.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::error::ChangeError;
use crate::acl::{parse_policy, ParseOptions, PolicyError, PolicySource};
use crate::model::{namespace_path, Snapshot};

type Result<T, E = ChangeError> = std::result::Result<T, E>;

/// One change to an estate.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum Change {
    UpsertPolicy {
        namespace: String,
        name: String,
        text: String,
    },
    DeletePolicy {
        namespace: String,
        name: String,
    },
    /// Create a role or merge `fields` into it (`replace`: set exactly `fields`).
    UpsertRole {
        namespace: String,
        mount: String,
        kind: Option<String>,
        name: String,
        fields: Map<String, Value>,
        replace: bool,
    },
    DeleteRole {
        namespace: String,
        mount: String,
        kind: Option<String>,
        name: String,
    },
    /// Create an entity or merge `fields` (policies, metadata, disabled …) into it.
    UpsertEntity {
        namespace: String,
        name: String,
        fields: Map<String, Value>,
    },
    DeleteEntity {
        namespace: String,
        name: String,
    },
    /// Create a group or merge `fields` (policies, member_entity_ids, member_group_ids, type …).
    UpsertGroup {
        namespace: String,
        name: String,
        fields: Map<String, Value>,
    },
    DeleteGroup {
        namespace: String,
        name: String,
    },
    AddAuthMount {
        namespace: String,
        path: String,
        mount_type: String,
    },
    DeleteAuthMount {
        namespace: String,
        path: String,
    },
    AddSecretMount {
        namespace: String,
        path: String,
        mount_type: String,
        options: Map<String, Value>,
    },
    AddNamespace {
        path: String,
    },
}

impl Change {
    /// A one-line description for reports.
    pub(crate) fn describe(&self) -> String {
        match self {
            Change::UpsertPolicy {
                namespace, name, ..
            } => format!("policy {namespace}{name} written"),
            Change::DeletePolicy { namespace, name } => format!("policy {namespace}{name} deleted"),
            Change::UpsertRole {
                namespace,
                mount,
                name,
                ..
            } => {
                format!(
                    "role {namespace}auth/{}/role/{name} written",
                    mount.trim_end_matches('/')
                )
            }
            Change::DeleteRole {
                namespace,
                mount,
                name,
                ..
            } => {
                format!(
                    "role {namespace}auth/{}/role/{name} deleted",
                    mount.trim_end_matches('/')
                )
            }
            Change::UpsertEntity {
                namespace, name, ..
            } => format!("entity {namespace}{name} written"),
            Change::DeleteEntity { namespace, name } => format!("entity {namespace}{name} deleted"),
            Change::UpsertGroup {
                namespace, name, ..
            } => format!("group {namespace}{name} written"),
            Change::DeleteGroup { namespace, name } => format!("group {namespace}{name} deleted"),
            Change::AddAuthMount {
                namespace,
                path,
                mount_type,
            } => {
                format!("auth mount {namespace}auth/{path} ({mount_type}) enabled")
            }
            Change::DeleteAuthMount { namespace, path } => {
                format!("auth mount {namespace}auth/{path} disabled")
            }
            Change::AddSecretMount {
                namespace,
                path,
                mount_type,
                ..
            } => {
                format!("secret mount {namespace}{path} ({mount_type}) enabled")
            }
            Change::AddNamespace { path } => format!("namespace {path} created"),
        }
    }
}

/// The change file (`--apply changes.yaml`): lists of policies, roles, entities and groups.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChangeFile {
    /// Default namespace of every entry.
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub policies: Vec<PolicyChange>,
    #[serde(default)]
    pub roles: Vec<RoleChange>,
    #[serde(default)]
    pub entities: Vec<IdentityChange>,
    #[serde(default)]
    pub groups: Vec<IdentityChange>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicyChange {
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
    /// The policy text (HCL or JSON).
    #[serde(default)]
    pub policy: Option<String>,
    /// A file holding the policy text, relative to the change file.
    #[serde(default)]
    pub file: Option<String>,
    #[serde(default)]
    pub delete: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RoleChange {
    /// The auth mount (`gha`, `auth/gha/`).
    pub mount: String,
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
    /// The role collection (`jwt`, `kubernetes`, `approle`, `cert`, `userpass`, `ldap_groups`,
    /// `ldap_users`, `token`); inferred from the mount type when absent.
    #[serde(default)]
    pub kind: Option<String>,
    /// Fields to set (API field names), merged into the existing role.
    #[serde(default)]
    pub set: Map<String, Value>,
    /// Replace the whole role with `set`.
    #[serde(default)]
    pub replace: bool,
    #[serde(default)]
    pub delete: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IdentityChange {
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub set: Map<String, Value>,
    #[serde(default)]
    pub delete: bool,
}

fn mount_path(m: &str) -> String {
    let path = m.trim_matches('/');
    let path = path.strip_prefix("auth/").unwrap_or(path);
    format!("{path}/")
}

/// Read a `--apply` argument: a directory or file of policies, a change file, or a Terraform
/// plan. Returns the changes and what could not be mapped.
pub(crate) fn load_changes(
    path: &Path,
    default_namespace: &str,
) -> Result<(Vec<Change>, Vec<String>)> {
    if path.is_dir() {
        return Ok((policy_dir(path, default_namespace)?, Vec::new()));
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if ext == "hcl" {
        return Ok((vec![policy_file(path, default_namespace)?], Vec::new()));
    }
    let text = std::fs::read_to_string(path).map_err(|source| ChangeError::ReadChange {
        path: path.to_path_buf(),
        source,
    })?;
    let invalid = |at: String, reason: String| ChangeError::InvalidChangeFile {
        path: path.to_path_buf(),
        at,
        reason,
    };
    if ext == "json" {
        let value: Value =
            serde_json::from_str(&text).map_err(|reason| ChangeError::MalformedJson {
                path: path.to_path_buf(),
                line: reason.line(),
                column: reason.column(),
                reason,
            })?;
        if value.get("resource_changes").is_some() || value.get("format_version").is_some() {
            return super::terraform::changes(&value).map_err(|source| {
                ChangeError::TerraformPlan {
                    path: path.to_path_buf(),
                    source,
                }
            });
        }
        if value.get("path").is_some() {
            // A JSON policy named after its file.
            return Ok((vec![policy_file(path, default_namespace)?], Vec::new()));
        }
        let parsed: ChangeFile = serde_path_to_error::deserialize(value)
            .map_err(|e| invalid(e.path().to_string(), e.inner().to_string()))?;
        return Ok((change_file(parsed, path)?, Vec::new()));
    }
    if ext == "yaml" || ext == "yml" {
        let deserializer = yaml_serde::Deserializer::from_str(&text);
        let parsed: ChangeFile = serde_path_to_error::deserialize(deserializer)
            .map_err(|e| invalid(e.path().to_string(), e.inner().to_string()))?;
        return Ok((change_file(parsed, path)?, Vec::new()));
    }
    Err(ChangeError::UnknownChangeType {
        path: path.to_path_buf(),
    })
}

fn policy_file(path: &Path, namespace: &str) -> Result<Change> {
    let text = std::fs::read_to_string(path).map_err(|source| ChangeError::ReadPolicyFile {
        path: path.to_path_buf(),
        source,
    })?;
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or_else(|| ChangeError::PolicyName {
            path: path.to_path_buf(),
        })?
        .to_lowercase();
    check_policy(&name, &text, namespace).map_err(|reason| ChangeError::PolicyRefused {
        path: path.to_path_buf(),
        reason,
    })?;
    Ok(Change::UpsertPolicy {
        namespace: namespace_path(namespace).into_owned(),
        name,
        text,
    })
}

fn policy_dir(dir: &Path, namespace: &str) -> Result<Vec<Change>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|source| ChangeError::ReadPolicyDir {
            dir: dir.to_path_buf(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("hcl") | Some("json")
                )
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(ChangeError::NoPolicyFiles {
            dir: dir.to_path_buf(),
        });
    }
    files.iter().map(|f| policy_file(f, namespace)).collect()
}

/// Refuse a policy the server would refuse.
fn check_policy(name: &str, text: &str, namespace: &str) -> Result<(), PolicyError> {
    let src = PolicySource {
        name: name.to_string(),
        text: text.to_string(),
        namespace_path: namespace_path(namespace).into_owned(),
        namespace_id: "root".into(),
        ..Default::default()
    };
    parse_policy(&src, &ParseOptions::default()).map(|_| ())
}

fn change_file(cf: ChangeFile, path: &Path) -> Result<Vec<Change>> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let ns_of =
        |n: &Option<String>| namespace_path(n.as_deref().unwrap_or(&cf.namespace)).into_owned();
    let mut out = Vec::new();
    for p in &cf.policies {
        let ns = ns_of(&p.namespace);
        let name = p.name.trim().to_lowercase();
        if p.delete {
            out.push(Change::DeletePolicy {
                namespace: ns,
                name,
            });
            continue;
        }
        let text = match (&p.policy, &p.file) {
            (Some(t), None) => t.clone(),
            (None, Some(f)) => std::fs::read_to_string(dir.join(f)).map_err(|source| {
                ChangeError::ReadNamedPolicyFile {
                    path: path.to_path_buf(),
                    file: f.clone(),
                    source,
                }
            })?,
            _ => {
                return Err(ChangeError::PolicyTextOrFile {
                    path: path.to_path_buf(),
                    policy: p.name.clone(),
                })
            }
        };
        check_policy(&name, &text, &ns).map_err(|reason| ChangeError::PolicyRefused {
            path: path.to_path_buf(),
            reason,
        })?;
        out.push(Change::UpsertPolicy {
            namespace: ns,
            name,
            text,
        });
    }
    for r in &cf.roles {
        let ns = ns_of(&r.namespace);
        let mount = r
            .mount
            .trim_matches('/')
            .trim_start_matches("auth/")
            .to_string();
        if r.delete {
            out.push(Change::DeleteRole {
                namespace: ns,
                mount,
                kind: r.kind.clone(),
                name: r.name.clone(),
            });
        } else {
            out.push(Change::UpsertRole {
                namespace: ns,
                mount,
                kind: r.kind.clone(),
                name: r.name.clone(),
                fields: r.set.clone(),
                replace: r.replace,
            });
        }
    }
    for e in &cf.entities {
        let ns = ns_of(&e.namespace);
        out.push(if e.delete {
            Change::DeleteEntity {
                namespace: ns,
                name: e.name.clone(),
            }
        } else {
            Change::UpsertEntity {
                namespace: ns,
                name: e.name.clone(),
                fields: e.set.clone(),
            }
        });
    }
    for g in &cf.groups {
        let ns = ns_of(&g.namespace);
        out.push(if g.delete {
            Change::DeleteGroup {
                namespace: ns,
                name: g.name.clone(),
            }
        } else {
            Change::UpsertGroup {
                namespace: ns,
                name: g.name.clone(),
                fields: g.set.clone(),
            }
        });
    }
    Ok(out)
}

fn role_kind(mount_type: &str) -> Option<&'static str> {
    Some(match mount_type {
        "jwt" | "oidc" => "jwt",
        "kubernetes" => "kubernetes",
        "approle" => "approle",
        "cert" => "cert",
        "userpass" => "userpass",
        "token" => "token",
        _ => return None,
    })
}

fn ns_obj<'a>(snap: &'a mut Value, ns: &str, create: bool) -> Result<&'a mut Map<String, Value>> {
    let list = snap["namespaces"]
        .as_array_mut()
        .ok_or(ChangeError::NoNamespaces)?;
    let pos = list
        .iter()
        .position(|n| namespace_path(n["path"].as_str().unwrap_or("")) == ns);
    let index = match pos {
        Some(i) => i,
        None if create => {
            list.push(json!({"path": ns, "id": format!("whatif-{}", ns.trim_end_matches('/'))}));
            list.len() - 1
        }
        None => {
            return Err(ChangeError::UnknownNamespace {
                namespace: ns.to_string(),
            })
        }
    };
    list[index]
        .as_object_mut()
        .ok_or(ChangeError::NotAnObject { what: "namespace" })
}

fn array<'a>(obj: &'a mut Map<String, Value>, key: &str) -> &'a mut Vec<Value> {
    let entry = obj.entry(key).or_insert_with(|| Value::Array(Vec::new()));
    if !entry.is_array() {
        *entry = Value::Array(Vec::new());
    }
    entry.as_array_mut().expect("just made an array")
}

fn merge(into: &mut Map<String, Value>, fields: &Map<String, Value>) {
    for (k, v) in fields {
        into.insert(k.clone(), v.clone());
    }
}

/// Merge `fields` into the identity object (`kind`: entity or group) called `name`, or add it
/// with a what-if id and the given defaults.
fn upsert_named(
    list: &mut Vec<Value>,
    kind: &'static str,
    name: &str,
    fields: &Map<String, Value>,
    defaults: &[(&str, Value)],
) -> Result<()> {
    match list.iter_mut().find(|e| e["name"].as_str() == Some(name)) {
        Some(e) => merge(
            e.as_object_mut()
                .ok_or(ChangeError::NotAnObject { what: kind })?,
            fields,
        ),
        None => {
            let mut new = fields.clone();
            new.insert("name".into(), json!(name));
            new.entry("id")
                .or_insert_with(|| json!(format!("whatif-{kind}-{name}")));
            for (k, v) in defaults {
                new.entry(*k).or_insert_with(|| v.clone());
            }
            list.push(Value::Object(new));
        }
    }
    Ok(())
}

/// Apply changes to a snapshot, giving the new snapshot.
pub(crate) fn apply(base: &Snapshot, changes: &[Change]) -> Result<Snapshot> {
    let mut snapshot =
        serde_json::to_value(base).map_err(|source| ChangeError::SerializeSnapshot { source })?;
    for c in changes {
        apply_one(&mut snapshot, c).map_err(|source| ChangeError::Apply {
            change: c.describe(),
            source: Box::new(source),
        })?;
    }
    let text = serde_json::to_string(&snapshot)?;
    Snapshot::from_json_str(&text, "<snapshot with changes applied>")
        .map_err(|source| ChangeError::InvalidResult { source })
}

fn apply_one(v: &mut Value, c: &Change) -> Result<()> {
    match c {
        Change::AddNamespace { path } => {
            ns_obj(v, &namespace_path(path), true)?;
        }
        Change::UpsertPolicy {
            namespace,
            name,
            text,
        } => {
            let ns = ns_obj(v, namespace, true)?;
            let policies = array(ns, "policies");
            match policies
                .iter_mut()
                .find(|p| p["name"].as_str() == Some(name))
            {
                Some(p) => p["policy"] = json!(text),
                None => policies.push(json!({"name": name, "policy": text})),
            }
        }
        Change::DeletePolicy { namespace, name } => {
            let ns = ns_obj(v, namespace, false)?;
            array(ns, "policies").retain(|p| p["name"].as_str() != Some(name));
        }
        Change::UpsertRole {
            namespace,
            mount,
            kind,
            name,
            fields,
            replace,
        } => {
            let role = RoleTarget {
                namespace,
                mount: mount_path(mount),
                kind: kind.as_deref(),
                name,
            };
            upsert_role(v, &role, fields, *replace)?;
        }
        Change::DeleteRole {
            namespace,
            mount,
            kind,
            name,
        } => {
            let role = RoleTarget {
                namespace,
                mount: mount_path(mount),
                kind: kind.as_deref(),
                name,
            };
            delete_role(v, &role)?;
        }
        Change::UpsertEntity {
            namespace,
            name,
            fields,
        } => {
            let ns = ns_obj(v, namespace, false)?;
            upsert_named(array(ns, "entities"), "entity", name, fields, &[])?;
        }
        Change::DeleteEntity { namespace, name } => {
            let ns = ns_obj(v, namespace, false)?;
            array(ns, "entities").retain(|e| e["name"].as_str() != Some(name));
        }
        Change::UpsertGroup {
            namespace,
            name,
            fields,
        } => {
            let ns = ns_obj(v, namespace, false)?;
            upsert_named(
                array(ns, "groups"),
                "group",
                name,
                fields,
                &[("type", json!("internal"))],
            )?;
        }
        Change::DeleteGroup { namespace, name } => {
            let ns = ns_obj(v, namespace, false)?;
            array(ns, "groups").retain(|g| g["name"].as_str() != Some(name));
        }
        Change::AddAuthMount {
            namespace,
            path,
            mount_type,
        } => add_auth_mount(v, namespace, path, mount_type)?,
        Change::DeleteAuthMount { namespace, path } => {
            let ns = ns_obj(v, namespace, false)?;
            let mount = mount_path(path);
            array(ns, "auth_mounts")
                .retain(|m| m["path"].as_str().map(mount_path).as_deref() != Some(mount.as_str()));
        }
        Change::AddSecretMount {
            namespace,
            path,
            mount_type,
            options,
        } => add_secret_mount(v, namespace, path, mount_type, options)?,
    }
    Ok(())
}

/// A role a change names: `mount` normalised, `kind` when the change gives it.
struct RoleTarget<'c> {
    namespace: &'c str,
    mount: String,
    kind: Option<&'c str>,
    name: &'c str,
}

fn upsert_role(
    v: &mut Value,
    role: &RoleTarget<'_>,
    fields: &Map<String, Value>,
    replace: bool,
) -> Result<()> {
    let mount = &role.mount;
    let ns = ns_obj(v, role.namespace, false)?;
    let mounts = array(ns, "auth_mounts");
    let auth_mount = mounts
        .iter_mut()
        .find(|m| m["path"].as_str().map(mount_path).as_deref() == Some(mount.as_str()))
        .ok_or_else(|| ChangeError::UnknownAuthMount {
            mount: mount.clone(),
            namespace: role.namespace.to_string(),
        })?;
    let mount_type = auth_mount["type"].as_str().unwrap_or("").to_string();
    let kind = match role.kind {
        Some(k) => k.to_string(),
        None => role_kind(&mount_type)
            .ok_or_else(|| ChangeError::RoleKindNeeded {
                mount: mount.clone(),
                mount_type: mount_type.clone(),
            })?
            .to_string(),
    };
    let not_an_object = |what| ChangeError::NotAnObject { what };
    let mount_object = auth_mount.as_object_mut().ok_or(not_an_object("mount"))?;
    let roles = mount_object.entry("roles").or_insert_with(|| json!({}));
    let roles = roles.as_object_mut().ok_or(not_an_object("roles"))?;
    let list = roles.entry(kind.clone()).or_insert_with(|| json!([]));
    let list = list
        .as_array_mut()
        .ok_or(ChangeError::NotAnArray { what: "role list" })?;
    let name = role.name;
    match list.iter_mut().find(|r| r["name"].as_str() == Some(name)) {
        Some(r) if !replace => merge(r.as_object_mut().ok_or(not_an_object("role"))?, fields),
        Some(r) => {
            let mut new = fields.clone();
            new.insert("name".into(), json!(name));
            *r = Value::Object(new);
        }
        None => {
            let mut new = fields.clone();
            new.insert("name".into(), json!(name));
            if kind == "jwt" && !new.contains_key("role_type") {
                // The API defaults role_type to oidc on every write that omits it.
                new.insert("role_type".into(), json!("oidc"));
            }
            list.push(Value::Object(new));
        }
    }
    Ok(())
}

fn delete_role(v: &mut Value, role: &RoleTarget<'_>) -> Result<()> {
    let ns = ns_obj(v, role.namespace, false)?;
    for m in array(ns, "auth_mounts") {
        if m["path"].as_str().map(mount_path).as_deref() != Some(role.mount.as_str()) {
            continue;
        }
        let Some(roles) = m.get_mut("roles").and_then(Value::as_object_mut) else {
            continue;
        };
        for (kind, list) in roles.iter_mut() {
            if role.kind.is_some_and(|want| want != kind) {
                continue;
            }
            if let Some(list) = list.as_array_mut() {
                list.retain(|r| r["name"].as_str() != Some(role.name));
            }
        }
    }
    Ok(())
}

fn add_auth_mount(v: &mut Value, namespace: &str, path: &str, mount_type: &str) -> Result<()> {
    let ns = ns_obj(v, namespace, true)?;
    let path = mount_path(path);
    let mounts = array(ns, "auth_mounts");
    if !mounts
        .iter()
        .any(|m| m["path"].as_str().map(mount_path).as_deref() == Some(path.as_str()))
    {
        let accessor = format!(
            "auth_{mount_type}_whatif_{}",
            path.trim_end_matches('/').replace('/', "_")
        );
        mounts.push(json!({
            "path": path,
            "type": mount_type,
            "accessor": accessor,
        }));
    }
    Ok(())
}

fn add_secret_mount(
    v: &mut Value,
    namespace: &str,
    path: &str,
    mount_type: &str,
    options: &Map<String, Value>,
) -> Result<()> {
    let ns = ns_obj(v, namespace, true)?;
    let path = format!("{}/", path.trim_matches('/'));
    let mounts = array(ns, "secret_mounts");
    if !mounts
        .iter()
        .any(|m| m["path"].as_str() == Some(path.as_str()))
    {
        mounts.push(json!({
            "path": path,
            "type": mount_type,
            "accessor": format!("{mount_type}_whatif"),
            "options": options,
        }));
    }
    Ok(())
}
