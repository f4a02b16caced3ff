//! Auth mounts (`sys/auth`) and, per method, their config and roles.
//!
//! Which collections are read depends on the method type (`plan`). Every role is read with a
//! plain `GET <collection>/<name>` of a name returned by `LIST <collection>`; names containing a
//! `/` are skipped, so the exporter can never be steered onto a sub-path such as
//! `role/<r>/role-id` or `role/<r>/secret-id` (half or all of an AppRole credential).

use futures_util::future::try_join_all;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::model::{
    strip_sensitive_config, Affects, AuthMount, AuthRoles, MountTune, OtherRole,
    SENSITIVE_CONFIG_FIELDS,
};

use super::client::{data, list_keys, mount_entries, Op};
use super::coverage::GapSpec;
use super::error::ExportError;
use super::Ctx;

/// A collection of role-like objects on an auth mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Jwt,
    Cel,
    Kubernetes,
    AppRole,
    Cert,
    Userpass,
    LdapGroups,
    LdapUsers,
    Token,
    Other,
}

/// What to read on a mount of a given type: (collection relative to the mount, kind, optional).
/// An optional collection that the server does not know (404 "unsupported path") is simply
/// absent (CEL roles before OpenBao 2.3, an unknown plugin without `role/`), not a gap.
struct Plan {
    /// The config endpoints, relative to the mount, merged into the mount's `config` in order.
    config: &'static [&'static str],
    collections: &'static [(&'static str, Kind, bool)],
}

/// The config endpoint of most methods.
const CONFIG: &[&str] = &["config"];

fn plan(mount_type: &str) -> Plan {
    use Kind::*;
    type Collections = &'static [(&'static str, Kind, bool)];
    let (config, collections): (&'static [&'static str], Collections) = match mount_type {
        "jwt" | "oidc" => (CONFIG, &[("role", Jwt, false), ("cel/role", Cel, true)]),
        "kubernetes" => (CONFIG, &[("role", Kubernetes, false)]),
        "approle" => (&[], &[("role", AppRole, false)]),
        "cert" => (CONFIG, &[("certs", Cert, false)]),
        "userpass" => (&[], &[("users", Userpass, false)]),
        "ldap" => (
            CONFIG,
            &[("groups", LdapGroups, false), ("users", LdapUsers, false)],
        ),
        "token" | "ns_token" => (&[], &[("roles", Token, false)]),
        "github" => (
            CONFIG,
            &[("map/teams", Other, false), ("map/users", Other, false)],
        ),
        // `iam_server_id_header_value` (client config) and `iam_alias`/`ec2_alias` (identity
        // config) decide AWS logins and their aliases.
        "aws" => (
            &["config/client", "config/identity"],
            &[("role", Other, true)],
        ),
        // `iam_alias`/`gce_alias` (GCP) and the tenant (Azure) live in `config`.
        "gcp" | "azure" => (CONFIG, &[("role", Other, true)]),
        "okta" => (CONFIG, &[("groups", Other, false), ("users", Other, false)]),
        "radius" => (CONFIG, &[("users", Other, false)]),
        "kerberos" => (&[], &[("groups", Other, true)]),
        "cf" => (&[], &[("roles", Other, true)]),
        // oci, alicloud and most plugins keep their roles under `role/`.
        _ => (&[], &[("role", Other, true)]),
    };
    Plan {
        config,
        collections,
    }
}

/// Read `sys/auth` in `ns` and every mount's config and roles.
pub(crate) async fn read_auth_mounts(ctx: &Ctx, ns: &str) -> Result<Vec<AuthMount>, ExportError> {
    let answer = match ctx.api.call(ns, Op::Read, "sys/auth").await {
        Ok(v) => v,
        Err(e) => {
            ctx.coverage.record(
                GapSpec {
                    ns,
                    endpoint: "sys/auth",
                    op: Op::Read,
                    affects: Affects::AuthMounts,
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
            .map(|(path, raw)| read_auth_mount(ctx, ns, path, raw)),
    )
    .await?;
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Map a `sys/auth` or `sys/mounts` entry: its `config` is the mount's tune.
pub(crate) fn mount_parts(
    path: &str,
    mut raw: Map<String, Value>,
) -> (Map<String, Value>, MountTune) {
    let tune = raw
        .remove("config")
        .and_then(|c| serde_json::from_value::<MountTune>(c).ok())
        .unwrap_or_default();
    raw.insert("path".into(), Value::String(path.to_owned()));
    if raw.get("options").is_some_and(Value::is_null) {
        raw.remove("options");
    }
    (raw, tune)
}

async fn read_auth_mount(
    ctx: &Ctx,
    ns: &str,
    path: String,
    raw: Map<String, Value>,
) -> Result<AuthMount, ExportError> {
    let (obj, tune) = mount_parts(&path, raw);
    let mut mount: AuthMount = match serde_json::from_value(Value::Object(obj.clone())) {
        Ok(m) => m,
        Err(e) => {
            // Keep the mount with what is certain; say why the rest is missing.
            ctx.coverage.note(
                GapSpec {
                    ns,
                    endpoint: "sys/auth",
                    op: Op::Read,
                    affects: Affects::AuthMounts,
                    mount: Some(&format!("auth/{path}")),
                    object: None,
                },
                None,
                format!("the mount entry could not be mapped: {e}"),
            );
            AuthMount {
                path: path.clone(),
                mount_type: obj
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                accessor: obj
                    .get("accessor")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                ..AuthMount::default()
            }
        }
    };
    mount.tune = tune;
    let prefix = mount.api_prefix();
    let plan = plan(&mount.mount_type);

    let config = read_configs(ctx, ns, &prefix, plan.config);
    let roles = try_join_all(
        plan.collections
            .iter()
            .filter(|(_, kind, _)| !(*kind == Kind::Cel && ctx.is_vault()))
            .map(|&(collection, kind, optional)| {
                read_collection(ctx, ns, &prefix, collection, kind, optional)
            }),
    );
    let (config, roles) = futures_util::future::try_join(config, roles).await?;
    mount.config = config;
    let mut all = AuthRoles::default();
    for part in roles {
        merge_roles(&mut all, part);
    }
    mount.roles = all;
    Ok(mount)
}

/// The mount's config endpoints merged in order (a later one's field wins); `None` when none is
/// set or the method has none.
async fn read_configs(
    ctx: &Ctx,
    ns: &str,
    prefix: &str,
    endpoints: &[&str],
) -> Result<Option<Map<String, Value>>, ExportError> {
    let parts = try_join_all(endpoints.iter().map(|e| read_config(ctx, ns, prefix, e))).await?;
    let mut merged: Option<Map<String, Value>> = None;
    for part in parts.into_iter().flatten() {
        merged.get_or_insert_with(Map::new).extend(part);
    }
    Ok(merged)
}

/// `auth/<m>/<endpoint>`, stripped of key material. `None` when the method has no config set.
async fn read_config(
    ctx: &Ctx,
    ns: &str,
    prefix: &str,
    config_endpoint: &str,
) -> Result<Option<Map<String, Value>>, ExportError> {
    let endpoint = format!("{prefix}{config_endpoint}");
    match ctx.api.call(ns, Op::Read, &endpoint).await {
        Ok(v) => Ok(data(&v).as_object().cloned().map(|mut m| {
            strip_config(&mut m);
            m
        })),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => {
            ctx.coverage.record(
                GapSpec {
                    ns,
                    endpoint: &endpoint,
                    op: Op::Read,
                    affects: Affects::AuthConfig,
                    mount: Some(prefix),
                    object: None,
                },
                &e,
            )?;
            Ok(None)
        }
    }
}

/// Remove secrets from an auth config: the model's list, plus anything whose name says it is
/// private (`client_tls_key`, `*_secret`, `*password*`, `credentials`, reviewer JWTs). Public
/// keys and CA certificates (`jwt_validation_pubkeys`, `pem_keys`, `*_ca_pem`) stay: they decide
/// which tokens are accepted.
pub(crate) fn strip_config(config: &mut Map<String, Value>) {
    strip_sensitive_config(config);
    config.retain(|k, _| !is_sensitive_name(k));
}

fn is_sensitive_name(k: &str) -> bool {
    let lower = k.to_ascii_lowercase();
    if SENSITIVE_CONFIG_FIELDS.contains(&lower.as_str()) {
        return true;
    }
    let public = lower.contains("pubkey") || lower.contains("public") || lower == "pem_keys";
    if public {
        return false;
    }
    lower.contains("secret") && !lower.ends_with("_set")
        || lower.contains("password")
        || lower.contains("private")
        || lower == "credentials"
        || lower.ends_with("_jwt")
        || lower.ends_with("tls_key")
        || lower == "bindpass"
        // An AWS access key id is half of a credential: kept out with its secret.
        || lower.ends_with("access_key")
}

/// One listed collection, mapped into the model.
enum Part {
    Roles(Kind, Vec<Value>),
    Other(String, Vec<Value>),
}

async fn read_collection(
    ctx: &Ctx,
    ns: &str,
    prefix: &str,
    collection: &'static str,
    kind: Kind,
    optional: bool,
) -> Result<Part, ExportError> {
    let list_endpoint = format!("{prefix}{collection}");
    fn gap<'a>(
        ns: &'a str,
        prefix: &'a str,
        endpoint: &'a str,
        op: Op,
        object: Option<&'a str>,
    ) -> GapSpec<'a> {
        GapSpec {
            ns,
            endpoint,
            op,
            affects: Affects::Roles,
            mount: Some(prefix),
            object,
        }
    }
    let names = match ctx.api.call(ns, Op::List, &list_endpoint).await {
        Ok(v) => list_keys(&v),
        Err(e) if e.is_not_found() => Vec::new(),
        Err(e) if optional && e.is_unsupported() => Vec::new(),
        Err(e) => {
            ctx.coverage
                .record(gap(ns, prefix, &list_endpoint, Op::List, None), &e)?;
            Vec::new()
        }
    };
    let reads = names
        .iter()
        // A name with a slash would address a sub-path (role-id, secret-id): never read it.
        .filter(|n| !n.is_empty() && !n.contains('/'))
        .map(|name| async move {
            let endpoint = format!("{prefix}{collection}/{name}");
            match ctx.api.call(ns, Op::Read, &endpoint).await {
                Ok(v) => {
                    let mut obj = data(&v).as_object().cloned().unwrap_or_default();
                    strip_sensitive_config(&mut obj);
                    obj.insert("name".into(), Value::String(name.clone()));
                    if kind == Kind::Other {
                        obj.insert("collection".into(), Value::String(collection.to_owned()));
                    }
                    Ok(Some(Value::Object(obj)))
                }
                // Deleted between the LIST and the read.
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => {
                    ctx.coverage
                        .record(gap(ns, prefix, &endpoint, Op::Read, Some(name)), &e)?;
                    Ok(None)
                }
            }
        });
    let objects: Vec<Value> = try_join_all(reads).await?.into_iter().flatten().collect();
    let part = match kind {
        Kind::Other => Part::Other(collection.to_owned(), objects),
        k => Part::Roles(k, objects),
    };
    Ok(map_check(ctx, ns, prefix, collection, part))
}

/// Drop objects that do not map into their model type (recording a gap for each), so that the
/// merge below cannot fail.
fn map_check(ctx: &Ctx, ns: &str, prefix: &str, collection: &str, part: Part) -> Part {
    fn ok<T: DeserializeOwned>(v: &Value) -> Result<(), serde_json::Error> {
        serde_json::from_value::<T>(v.clone()).map(|_| ())
    }
    let check = |kind: Option<Kind>, v: &Value| -> Result<(), serde_json::Error> {
        use crate::model::*;
        match kind {
            Some(Kind::Jwt) => ok::<JwtRole>(v),
            Some(Kind::Cel) => ok::<CelRole>(v),
            Some(Kind::Kubernetes) => ok::<KubernetesRole>(v),
            Some(Kind::AppRole) => ok::<AppRoleRole>(v),
            Some(Kind::Cert) => ok::<CertRole>(v),
            Some(Kind::Userpass) => ok::<UserpassUser>(v),
            Some(Kind::LdapGroups) => ok::<LdapGroup>(v),
            Some(Kind::LdapUsers) => ok::<LdapUser>(v),
            Some(Kind::Token) => ok::<TokenRole>(v),
            Some(Kind::Other) | None => ok::<OtherRole>(v),
        }
    };
    let filter = |kind: Option<Kind>, objects: Vec<Value>| -> Vec<Value> {
        objects
            .into_iter()
            .filter(|v| match check(kind, v) {
                Ok(()) => true,
                Err(e) => {
                    let name = v.get("name").and_then(Value::as_str).unwrap_or_default();
                    let endpoint = format!("{prefix}{collection}/{name}");
                    ctx.coverage.note(
                        GapSpec {
                            ns,
                            endpoint: &endpoint,
                            op: Op::Read,
                            affects: Affects::Roles,
                            mount: Some(prefix),
                            object: Some(name),
                        },
                        None,
                        format!("the role could not be mapped into the snapshot model: {e}"),
                    );
                    false
                }
            })
            .collect()
    };
    match part {
        Part::Roles(kind, objects) => Part::Roles(kind, filter(Some(kind), objects)),
        Part::Other(c, objects) => Part::Other(c, filter(None, objects)),
    }
}

fn merge_roles(all: &mut AuthRoles, part: Part) {
    fn conv<T: DeserializeOwned>(objects: Vec<Value>) -> Vec<T> {
        objects
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .collect()
    }
    match part {
        Part::Roles(Kind::Jwt, o) => all.jwt = conv(o),
        Part::Roles(Kind::Cel, o) => all.cel = conv(o),
        Part::Roles(Kind::Kubernetes, o) => all.kubernetes = conv(o),
        Part::Roles(Kind::AppRole, o) => all.approle = conv(o),
        Part::Roles(Kind::Cert, o) => all.cert = conv(o),
        Part::Roles(Kind::Userpass, o) => all.userpass = conv(o),
        Part::Roles(Kind::LdapGroups, o) => all.ldap_groups = conv(o),
        Part::Roles(Kind::LdapUsers, o) => all.ldap_users = conv(o),
        Part::Roles(Kind::Token, o) => all.token = conv(o),
        Part::Roles(Kind::Other, o) | Part::Other(_, o) => all.other.extend(conv::<OtherRole>(o)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_secrets_keeps_public_material() {
        let mut config: Map<String, Value> = serde_json::from_str(
            r#"{"bound_issuer":"https://x","jwt_validation_pubkeys":["PEM"],"oidc_client_secret":"s",
                "token_reviewer_jwt":"j","bindpass":"p","client_tls_key":"k","client_tls_cert":"c",
                "pem_keys":["k"],"kubernetes_ca_cert":"ca","token_reviewer_jwt_set":true,
                "secret_key":"x","credentials":"{}","oidc_client_id":"id"}"#,
        )
        .unwrap();
        strip_config(&mut config);
        let keys: Vec<&str> = config.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "bound_issuer",
                "jwt_validation_pubkeys",
                "client_tls_cert",
                "pem_keys",
                "kubernetes_ca_cert",
                "token_reviewer_jwt_set",
                "oidc_client_id"
            ]
        );
    }
}
