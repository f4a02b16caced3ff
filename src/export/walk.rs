//! The namespace tree and, per namespace, everything in it.
//!
//! Namespaces are found with one OpenBao `SCAN sys/namespaces` (every descendant in one answer)
//! and, where SCAN is missing or denied, with a level-by-level `LIST sys/namespaces`. A server
//! without namespaces (Vault community edition) answers "unsupported path": the export then has
//! the one namespace it started in, and that is not a gap.

use std::collections::BTreeMap;

use futures_util::future::try_join_all;
use serde_json::Value;

use crate::model::{Affects, AuditDevice, Namespace};

use super::client::{data, list_keys, Op};
use super::coverage::GapSpec;
use super::error::ExportError;
use super::{auth, identity, policies, secrets, Ctx};

/// A namespace to export.
#[derive(Debug, Clone)]
pub(crate) struct NsInfo {
    /// `""` or `"a/"`, `"a/b/"`.
    pub path: String,
    pub id: String,
    pub custom_metadata: BTreeMap<String, String>,
}

/// The `id` and `custom_metadata` of a `sys/namespaces` `key_info` entry.
fn ns_info(path: String, info: Option<&Value>) -> NsInfo {
    let id = info
        .and_then(|i| i.get("id"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let custom_metadata = info
        .and_then(|i| i.get("custom_metadata"))
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    NsInfo {
        path,
        id,
        custom_metadata,
    }
}

/// The scope namespace and all its descendants, parents before children.
pub(crate) async fn discover(ctx: &Ctx, scope: &str) -> Result<Vec<NsInfo>, ExportError> {
    let mut out = vec![scope_info(ctx, scope).await?];
    match ctx.api.call(scope, Op::Scan, "sys/namespaces").await {
        Ok(v) => {
            let info = data(&v).get("key_info");
            for key in list_keys(&v) {
                if !accept_namespace_key(ctx, scope, &key, Op::Scan) {
                    continue;
                }
                out.push(ns_info(
                    format!("{scope}{key}"),
                    info.and_then(|i| i.get(&key)),
                ));
            }
        }
        Err(e) if e.is_fatal() => return Err(super::coverage::fatal(&e, scope, "sys/namespaces")),
        Err(e) if e.is_not_found() => {}
        // SCAN unsupported (Vault, OpenBao < 2.2) or denied: walk with LIST.
        Err(_) => {
            let mut frontier = vec![scope.to_owned()];
            while !frontier.is_empty() {
                let levels = try_join_all(frontier.iter().map(|ns| list_children(ctx, ns))).await?;
                frontier = Vec::new();
                for child in levels.into_iter().flatten() {
                    frontier.push(child.path.clone());
                    out.push(child);
                }
            }
        }
    }
    for n in &mut out {
        if !n.path.ends_with('/') && !n.path.is_empty() {
            n.path.push('/');
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out.dedup_by(|a, b| a.path == b.path);
    Ok(out)
}

async fn list_children(ctx: &Ctx, ns: &str) -> Result<Vec<NsInfo>, ExportError> {
    match ctx.api.call(ns, Op::List, "sys/namespaces").await {
        Ok(v) => {
            let info = data(&v).get("key_info");
            Ok(list_keys(&v)
                .into_iter()
                .filter(|key| accept_namespace_key(ctx, ns, key, Op::List))
                .map(|key| ns_info(format!("{ns}{key}"), info.and_then(|i| i.get(&key))))
                .collect())
        }
        Err(e) if e.is_not_found() || e.is_unsupported() => Ok(Vec::new()),
        Err(e) => {
            ctx.coverage.record(
                GapSpec {
                    ns,
                    endpoint: "sys/namespaces",
                    op: Op::List,
                    affects: Affects::Namespaces,
                    mount: None,
                    object: None,
                },
                &e,
            )?;
            Ok(Vec::new())
        }
    }
}

/// Whether a namespace name listed under `parent` can be exported as it was returned: names
/// are kept exactly (never trimmed or otherwise repaired, which would record another namespace
/// than the server has), so a name that is empty, has an empty, `.` or `..` segment, or holds a
/// control character is refused and recorded as a coverage gap, its text escaped. A LIST
/// answers one level (`a/`); a SCAN may answer nested paths (`a/b/`).
fn accept_namespace_key(ctx: &Ctx, parent: &str, key: &str, op: Op) -> bool {
    let name = key.strip_suffix('/').unwrap_or(key);
    let segments_ok = name
        .split('/')
        .all(|s| !s.is_empty() && s != "." && s != "..");
    let nesting_ok = op == Op::Scan || !name.contains('/');
    if segments_ok && nesting_ok && !key.chars().any(char::is_control) {
        return true;
    }
    let shown = crate::render::escape::visible(key).into_owned();
    ctx.coverage.note(
        GapSpec {
            ns: parent,
            endpoint: "sys/namespaces",
            op,
            affects: Affects::Namespaces,
            mount: None,
            object: Some(&shown),
        },
        None,
        format!(
            "the server listed a namespace named \"{shown}\", which is not a valid namespace name \
             (empty, . or .. segment, or a control character); it and its contents were not \
             exported"
        ),
    );
    false
}

/// The namespace the export starts in: `root`, or a child whose id is read from its parent
/// (`sys/namespaces/<name>`). When that read is not allowed the id is taken from the entities
/// and groups found in it, else left as the path (see `export`).
async fn scope_info(ctx: &Ctx, scope: &str) -> Result<NsInfo, ExportError> {
    if scope.is_empty() {
        return Ok(NsInfo {
            path: String::new(),
            id: "root".into(),
            custom_metadata: BTreeMap::new(),
        });
    }
    let trimmed = scope.trim_end_matches('/');
    let (parent, name) = match trimmed.rfind('/') {
        Some(i) => (&trimmed[..=i], &trimmed[i + 1..]),
        None => ("", trimmed),
    };
    let endpoint = format!("sys/namespaces/{name}");
    match ctx.api.call(parent, Op::Read, &endpoint).await {
        Ok(v) => Ok(ns_info(scope.to_owned(), Some(data(&v)))),
        Err(e) if e.is_fatal() => Err(super::coverage::fatal(&e, parent, &endpoint)),
        Err(e) if e.is_not_found() => Err(ExportError::Config(format!(
            "the namespace {scope} does not exist on this server; check --namespace (or \
             VAULT_NAMESPACE/BAO_NAMESPACE)"
        ))),
        Err(_) => Ok(NsInfo {
            path: scope.to_owned(),
            id: String::new(),
            custom_metadata: BTreeMap::new(),
        }),
    }
}

/// Everything in one namespace.
pub(crate) async fn export_namespace(ctx: &Ctx, info: NsInfo) -> Result<Namespace, ExportError> {
    ctx.api.progress().namespace_started();
    let ns = info.path.as_str();
    let (auth_mounts, secret_mounts, policies, entities, groups, audit_devices) = tokio::try_join!(
        auth::read_auth_mounts(ctx, ns),
        secrets::read_secret_mounts(ctx, ns),
        policies::read_policies(ctx, ns),
        identity::read_entities(ctx, ns),
        identity::read_groups(ctx, ns),
        read_audit(ctx, ns),
    )?;
    let mut out = Namespace::new(ns, info.id.clone());
    out.custom_metadata = info.custom_metadata;
    out.auth_mounts = auth_mounts;
    out.secret_mounts = secret_mounts;
    out.policies = policies;
    out.entities = entities;
    out.groups = groups;
    out.audit_devices = audit_devices;
    if out.id.is_empty() {
        out.id = out
            .entities
            .iter()
            .filter_map(|e| e.namespace_id.clone())
            .chain(out.groups.iter().filter_map(|g| g.namespace_id.clone()))
            .next()
            .unwrap_or_else(|| ns.trim_end_matches('/').to_owned());
    }
    Ok(out)
}

/// Audit devices live in the root namespace only.
async fn read_audit(ctx: &Ctx, ns: &str) -> Result<Vec<AuditDevice>, ExportError> {
    if !ns.is_empty() {
        return Ok(Vec::new());
    }
    match ctx.api.call(ns, Op::Read, "sys/audit").await {
        Ok(v) => {
            let mut out: Vec<AuditDevice> = data(&v)
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter_map(|(path, dev)| {
                            let mut obj = dev.as_object()?.clone();
                            obj.insert("path".into(), Value::String(path.clone()));
                            match obj.get_mut("options") {
                                Some(Value::Object(o)) => {
                                    // OpenBao's http device may carry request headers
                                    // (credentials of the log receiver).
                                    o.remove("headers");
                                    auth::strip_config(o);
                                }
                                Some(_) => {
                                    obj.remove("options");
                                }
                                None => {}
                            }
                            serde_json::from_value(Value::Object(obj)).ok()
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.sort_by(|a: &AuditDevice, b| a.path.cmp(&b.path));
            Ok(out)
        }
        Err(e) => {
            ctx.coverage.record(
                GapSpec {
                    ns,
                    endpoint: "sys/audit",
                    op: Op::Read,
                    affects: Affects::AuditDevices,
                    mount: None,
                    object: None,
                },
                &e,
            )?;
            Ok(Vec::new())
        }
    }
}
