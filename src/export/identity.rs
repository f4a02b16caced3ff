//! Identity: entities (with their aliases) and groups (with the alias of external groups).
//!
//! Aliases are exported as embedded in the entity and group reads, which carry everything the
//! alias endpoints would (id, name, mount accessor, path and type, metadata, canonical id), so
//! `identity/entity-alias/id` and `identity/group-alias/id` need not be listed or granted.
//!
//! An AppRole alias is named after the role-id, half of the login credential: its name is
//! replaced by [`REDACTED_ROLE_ID`] before the object leaves this module; `metadata.role_name`
//! still links it to its role.

use futures_util::future::try_join_all;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::model::{Affects, Entity, Group, REDACTED_ROLE_ID};

use super::client::{data, list_keys, Op};
use super::coverage::GapSpec;
use super::error::ExportError;
use super::Ctx;

/// True for an alias on an AppRole mount (by its type, or by the accessor's `auth_approle_`
/// prefix when the type is missing).
fn is_approle_alias(alias: &Value) -> bool {
    alias.get("mount_type").and_then(Value::as_str) == Some("approle")
        || alias
            .get("mount_accessor")
            .and_then(Value::as_str)
            .is_some_and(|a| a.starts_with("auth_approle_"))
}

/// Replace the name of an AppRole alias by [`REDACTED_ROLE_ID`].
pub(crate) fn redact_alias(alias: &mut Value) {
    if is_approle_alias(alias) {
        if let Some(o) = alias.as_object_mut() {
            o.insert("name".into(), Value::String(REDACTED_ROLE_ID.to_owned()));
        }
    }
}

pub(crate) async fn read_entities(ctx: &Ctx, ns: &str) -> Result<Vec<Entity>, ExportError> {
    read_all(ctx, ns, "identity/entity/id", Affects::Entities, |v| {
        if let Some(aliases) = v.get_mut("aliases").and_then(Value::as_array_mut) {
            aliases.iter_mut().for_each(redact_alias);
        }
    })
    .await
}

pub(crate) async fn read_groups(ctx: &Ctx, ns: &str) -> Result<Vec<Group>, ExportError> {
    read_all(ctx, ns, "identity/group/id", Affects::Groups, |v| {
        if let Some(alias) = v.get_mut("alias") {
            redact_alias(alias);
        }
    })
    .await
}

/// LIST `<base>` then GET `<base>/<id>` for every id, mapped into `T` after `fix`.
async fn read_all<T: DeserializeOwned>(
    ctx: &Ctx,
    ns: &str,
    base: &str,
    affects: Affects,
    fix: impl Fn(&mut Value),
) -> Result<Vec<T>, ExportError> {
    let ids = match ctx.api.call(ns, Op::List, base).await {
        Ok(v) => list_keys(&v),
        Err(e) if e.is_not_found() => Vec::new(),
        Err(e) => {
            ctx.coverage.record(
                GapSpec {
                    ns,
                    endpoint: base,
                    op: Op::List,
                    affects,
                    mount: None,
                    object: None,
                },
                &e,
            )?;
            return Ok(Vec::new());
        }
    };
    let affects = &affects;
    let fix = &fix;
    let reads = ids
        .iter()
        .filter(|id| !id.is_empty() && !id.contains('/'))
        .map(|id| async move {
            let endpoint = format!("{base}/{id}");
            let gap = |object| GapSpec {
                ns,
                endpoint: &endpoint,
                op: Op::Read,
                affects: affects.clone(),
                mount: None,
                object,
            };
            match ctx.api.call(ns, Op::Read, &endpoint).await {
                Ok(v) => {
                    let mut obj = data(&v).clone();
                    fix(&mut obj);
                    match serde_json::from_value::<T>(obj) {
                        Ok(t) => Ok(Some(t)),
                        Err(e) => {
                            ctx.coverage.note(
                                gap(Some(id)),
                                None,
                                format!("could not be mapped into the snapshot model: {e}"),
                            );
                            Ok(None)
                        }
                    }
                }
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => {
                    ctx.coverage.record(gap(Some(id)), &e)?;
                    Ok::<_, ExportError>(None)
                }
            }
        });
    Ok(try_join_all(reads).await?.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn approle_alias_names_are_redacted() {
        let mut approle = json!({"name": "83145702-944c", "mount_type": "approle", "mount_accessor": "auth_approle_1"});
        redact_alias(&mut approle);
        assert_eq!(approle["name"], REDACTED_ROLE_ID);
        let mut no_type = json!({"name": "x", "mount_accessor": "auth_approle_1"});
        redact_alias(&mut no_type);
        assert_eq!(no_type["name"], REDACTED_ROLE_ID);
        let mut jwt =
            json!({"name": "repo:acme/app", "mount_type": "jwt", "mount_accessor": "auth_jwt_1"});
        redact_alias(&mut jwt);
        assert_eq!(jwt["name"], "repo:acme/app");
    }
}
