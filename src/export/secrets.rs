//! Secret mounts (`sys/mounts`) and their inventory: KV keys (see [`super::kv`]) or, for
//! engines that produce credentials, the names of their roles (`collections`).
//!
//! Only LIST is used on engine collections: a role's name is what decides which
//! `creds/<name>` endpoint a policy must allow, and reading the role itself could return
//! connection details the snapshot does not need.

use futures_util::future::try_join_all;
use serde_json::{Map, Value};

use crate::model::{Affects, Listing, ListingStatus, SecretInventory, SecretMount};

use super::auth::mount_parts;
use super::client::{list_keys, mount_entries, Op};
use super::coverage::GapSpec;
use super::error::ExportError;
use super::{kv, Ctx};

/// The collections listed per engine type: (key in `collections`, path LISTed under the mount).
/// The keys match `model::credential_endpoints`, which maps them to the credential endpoints.
pub(crate) fn engine_collections(engine: &str) -> &'static [(&'static str, &'static str)] {
    match engine {
        "database" => &[("roles", "roles"), ("static-roles", "static-roles")],
        "aws" | "pki" | "ssh" | "kubernetes" | "azure" | "consul" | "rabbitmq" | "mongodbatlas" => {
            &[("roles", "roles")]
        }
        "transit" | "totp" => &[("keys", "keys")],
        "gcp" => &[
            ("rolesets", "rolesets"),
            ("static-account", "static-accounts"),
        ],
        "nomad" | "terraform" => &[("role", "role")],
        "ldap" | "openldap" => &[
            ("role", "role"),
            ("static-role", "static-role"),
            ("library", "library"),
        ],
        _ => &[],
    }
}

/// Built-in mounts that hold no shared secrets to inventory.
fn is_builtin(mount_type: &str) -> bool {
    matches!(
        mount_type,
        "system" | "identity" | "cubbyhole" | "ns_system" | "ns_identity" | "ns_cubbyhole"
    )
}

/// Read `sys/mounts` in `ns` and inventory every mount.
pub(crate) async fn read_secret_mounts(
    ctx: &Ctx,
    ns: &str,
) -> Result<Vec<SecretMount>, ExportError> {
    let answer = match ctx.api.call(ns, Op::Read, "sys/mounts").await {
        Ok(v) => v,
        Err(e) => {
            ctx.coverage.record(
                GapSpec {
                    ns,
                    endpoint: "sys/mounts",
                    op: Op::Read,
                    affects: Affects::SecretMounts,
                    mount: None,
                    object: None,
                },
                &e,
            )?;
            return Ok(Vec::new());
        }
    };
    let mounts = mount_entries(&answer);
    let mut out = try_join_all(
        mounts
            .into_iter()
            .map(|(path, raw)| read_secret_mount(ctx, ns, path, raw)),
    )
    .await?;
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

async fn read_secret_mount(
    ctx: &Ctx,
    ns: &str,
    path: String,
    raw: Map<String, Value>,
) -> Result<SecretMount, ExportError> {
    let (obj, tune) = mount_parts(&path, raw);
    let mut mount: SecretMount = match serde_json::from_value(Value::Object(obj.clone())) {
        Ok(m) => m,
        Err(e) => {
            ctx.coverage.note(
                GapSpec {
                    ns,
                    endpoint: "sys/mounts",
                    op: Op::Read,
                    affects: Affects::SecretMounts,
                    mount: Some(&path),
                    object: None,
                },
                None,
                format!("the mount entry could not be mapped: {e}"),
            );
            SecretMount {
                path: path.clone(),
                mount_type: obj
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                ..SecretMount::default()
            }
        }
    };
    mount.tune = tune;
    mount.secrets = if is_builtin(&mount.mount_type) {
        not_listed("built-in mount: holds no shared secrets")
    } else if mount.kv_version().is_some() {
        match ctx.options.kv {
            Some(limits) => kv::inventory(ctx, ns, &mount, limits).await?,
            None => not_listed("KV listing disabled (--no-kv)"),
        }
    } else {
        collections(ctx, ns, &mount).await?
    };
    Ok(mount)
}

fn not_listed(reason: &str) -> SecretInventory {
    SecretInventory {
        listing: Listing {
            status: ListingStatus::NotListed,
            reason: Some(reason.to_owned()),
            ..Listing::default()
        },
        ..SecretInventory::default()
    }
}

/// LIST the known collections of a dynamic engine.
async fn collections(
    ctx: &Ctx,
    ns: &str,
    mount: &SecretMount,
) -> Result<SecretInventory, ExportError> {
    let wanted = engine_collections(&mount.mount_type);
    if wanted.is_empty() {
        return Ok(not_listed(&format!(
            "blastmap knows no listable collection of engine type {:?}",
            mount.mount_type
        )));
    }
    let prefix = mount.api_prefix();
    let results = try_join_all(wanted.iter().map(|&(key, list_path)| {
        let endpoint = format!("{prefix}{list_path}");
        let prefix = &prefix;
        async move {
            match ctx.api.call(ns, Op::List, &endpoint).await {
                Ok(v) => Ok(Some((key, list_keys(&v)))),
                Err(e) if e.is_not_found() => Ok(Some((key, Vec::new()))),
                Err(e) => {
                    ctx.coverage.record(
                        GapSpec {
                            ns,
                            endpoint: &endpoint,
                            op: Op::List,
                            affects: Affects::Secrets,
                            mount: Some(prefix),
                            object: None,
                        },
                        &e,
                    )?;
                    Ok::<_, ExportError>(None)
                }
            }
        }
    }))
    .await?;
    let mut inv = SecretInventory::default();
    let failed = results.iter().filter(|r| r.is_none()).count();
    for (key, names) in results.into_iter().flatten() {
        let names: Vec<String> = names.into_iter().filter(|n| !n.is_empty()).collect();
        if !names.is_empty() {
            inv.collections.insert(key.to_owned(), names);
        }
    }
    inv.listing = if failed == 0 {
        Listing::complete()
    } else if failed == wanted.len() {
        Listing {
            status: ListingStatus::NotListed,
            reason: Some("no collection could be listed (see coverage)".into()),
            ..Listing::default()
        }
    } else {
        Listing {
            status: ListingStatus::Partial,
            reason: Some(format!(
                "{failed} of {} collections could not be listed (see coverage)",
                wanted.len()
            )),
            ..Listing::default()
        }
    };
    Ok(inv)
}
