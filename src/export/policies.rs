//! ACL policies of a namespace.
//!
//! OpenBao 2.3+ answers `LIST sys/policies/detailed/acl` with every policy body in `key_info`:
//! one request instead of one per policy. When that endpoint is missing (Vault, older OpenBao)
//! or denied, the exporter falls back to `LIST sys/policies/acl` and one read per policy; only
//! a failure of the fallback is a coverage gap.
//!
//! The virtual `root` policy (no text) is never stored.

use futures_util::future::try_join_all;
use serde_json::{Map, Value};

use crate::model::{is_root_policy, Affects, Policy};

use super::client::{data, list_keys, Op};
use super::coverage::GapSpec;
use super::error::ExportError;
use super::Ctx;

pub(crate) async fn read_policies(ctx: &Ctx, ns: &str) -> Result<Vec<Policy>, ExportError> {
    match ctx
        .api
        .call(ns, Op::List, "sys/policies/detailed/acl")
        .await
    {
        Ok(v) => {
            let info = data(&v).get("key_info").and_then(Value::as_object);
            let keys = list_keys(&v);
            // A server that lists names without bodies: read them one by one.
            if let Some(info) =
                info.filter(|i| keys.iter().all(|k| is_root_policy(k) || i.contains_key(k)))
            {
                let mut out = Vec::new();
                for name in keys.iter().filter(|k| !is_root_policy(k)) {
                    if let Some(obj) = info.get(name).and_then(Value::as_object) {
                        if let Some(p) = to_policy(ctx, ns, name, obj.clone()) {
                            out.push(p);
                        }
                    }
                }
                return Ok(out);
            }
        }
        Err(e) if e.is_fatal() => {
            return Err(super::coverage::fatal(&e, ns, "sys/policies/detailed/acl"))
        }
        Err(e) if e.is_not_found() => return Ok(Vec::new()),
        // Unsupported or denied: fall back to list + read.
        Err(_) => {}
    }
    let names = match ctx.api.call(ns, Op::List, "sys/policies/acl").await {
        Ok(v) => list_keys(&v),
        Err(e) if e.is_not_found() => Vec::new(),
        Err(e) => {
            ctx.coverage.record(
                GapSpec {
                    ns,
                    endpoint: "sys/policies/acl",
                    op: Op::List,
                    affects: Affects::Policies,
                    mount: None,
                    object: None,
                },
                &e,
            )?;
            return Ok(Vec::new());
        }
    };
    let reads = names
        .iter()
        .filter(|n| !is_root_policy(n) && !n.contains('/'))
        .map(|name| async move {
            let endpoint = format!("sys/policies/acl/{name}");
            match ctx.api.call(ns, Op::Read, &endpoint).await {
                Ok(v) => Ok(data(&v)
                    .as_object()
                    .cloned()
                    .and_then(|o| to_policy(ctx, ns, name, o))),
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => {
                    ctx.coverage.record(
                        GapSpec {
                            ns,
                            endpoint: &endpoint,
                            op: Op::Read,
                            affects: Affects::Policies,
                            mount: None,
                            object: Some(name),
                        },
                        &e,
                    )?;
                    Ok::<_, ExportError>(None)
                }
            }
        });
    Ok(try_join_all(reads).await?.into_iter().flatten().collect())
}

/// Map a policy object (`name`, `policy` or the legacy `rules`, OpenBao flags).
fn to_policy(ctx: &Ctx, ns: &str, name: &str, mut obj: Map<String, Value>) -> Option<Policy> {
    obj.insert("name".into(), Value::String(name.to_owned()));
    if !obj.contains_key("policy") {
        if let Some(rules) = obj.remove("rules") {
            obj.insert("policy".into(), rules);
        }
    }
    match serde_json::from_value::<Policy>(Value::Object(obj)) {
        Ok(p) => Some(p),
        Err(e) => {
            let endpoint = format!("sys/policies/acl/{name}");
            ctx.coverage.note(
                GapSpec {
                    ns,
                    endpoint: &endpoint,
                    op: Op::Read,
                    affects: Affects::Policies,
                    mount: None,
                    object: Some(name),
                },
                None,
                format!("the policy could not be mapped into the snapshot model: {e}"),
            );
            None
        }
    }
}
