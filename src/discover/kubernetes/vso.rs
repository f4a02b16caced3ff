//! The Vault Secrets Operator: `VaultStaticSecret`, `VaultDynamicSecret` and `VaultPKISecret`
//! read through the `VaultAuth` their `vaultAuthRef` names (`name` in their own namespace, or
//! `namespace/name`), or the default `VaultAuth` (named `default`) when they name none. A
//! `VaultAuth` of another namespace is usable only when it is the operator's `default` or its
//! `allowedNamespaces` is `["*"]` or lists the consumer's namespace. With method `kubernetes`
//! (or `jwt` with a service account) the operator requests a token for the `VaultAuth`'s
//! service account **in the consumer's own namespace**, so that is the identity the login
//! presents. A `VaultAuth` that names a `VaultAuthGlobal` logs in with the merge of both
//! (`vso_global.rs`).

use yaml_serde::Value;

use super::super::yaml::{get, strings, Seg};
use super::super::{Discovery, Draft};
use super::cloud::{self, ServiceAccount};
use super::manifests::Object;
use super::vso_global::{allows, effective_spec};
use super::{draft, expose, field, kv_path, need, val, Account, Index, Login, Origin};
use crate::inventory::{AuthMethod, ConsumerKind};

const GROUP: &str = "secrets.hashicorp.com";
const SECRETS: &[&str] = &["VaultStaticSecret", "VaultDynamicSecret", "VaultPKISecret"];

pub(super) fn read(index: &Index, drafts: &mut Vec<Draft>, out: &mut Discovery) {
    let operator = operator_namespace(index);
    for kind in SECRETS {
        for o in index.of_kind(GROUP, kind) {
            let spec = get(o.value(), "spec").unwrap_or(&Value::Null);
            let Some(auth) = vault_auth(index, o, spec, operator.as_deref(), out) else {
                continue;
            };
            let Some(auth_spec) = effective_spec(index, auth, operator.as_deref(), out) else {
                continue;
            };
            let using = Using {
                index,
                auth,
                spec: &auth_spec,
            };
            let Some(login) = login(&using, o, out) else {
                continue;
            };
            let origin = Origin {
                object: o,
                consumer: ConsumerKind::Vso,
                via: Some(auth),
            };
            let mut draft = draft(&origin, &login);
            let auth_ns = field(Some(&auth_spec), "namespace");
            let secret_ns = field(Some(spec), "namespace");
            if let Some(path) = secret_path(o, spec, out) {
                match relative_namespace(auth_ns.as_deref(), secret_ns.as_deref()) {
                    Some(prefix) => need(&mut draft, &format!("{prefix}{path}")),
                    None => draft.dynamic(
                        "needs",
                        format!(
                            "{path} in Vault namespace {:?}, outside the login's namespace {:?}",
                            secret_ns.unwrap_or_default(),
                            auth_ns.unwrap_or_default()
                        ),
                    ),
                }
            }
            shared(&mut draft, auth);
            drafts.push(draft);
        }
    }
}

/// The namespace the operator runs in: that of the one `VaultAuth` named `default` (the
/// operator's chart creates it there), when the manifests hold exactly one.
fn operator_namespace(index: &Index) -> Option<String> {
    let mut defaults = index
        .of_kind(GROUP, "VaultAuth")
        .filter(|a| a.name == "default");
    match (defaults.next(), defaults.next()) {
        (Some(one), None) => one.namespace.clone(),
        _ => None,
    }
}

/// A `VaultAuth` and the spec it logs in with (merged with its `VaultAuthGlobal`).
struct Using<'u> {
    index: &'u Index<'u>,
    auth: &'u Object,
    spec: &'u Value,
}

/// A secret's Vault namespace relative to its login's (needs are relative to the login's
/// namespace): `""` when the same or unset, `child/` below it, `None` elsewhere.
pub(super) fn relative_namespace(login: Option<&str>, secret: Option<&str>) -> Option<String> {
    let login = login.unwrap_or("").trim_matches('/');
    let Some(secret) = secret.map(|s| s.trim_matches('/')) else {
        return Some(String::new());
    };
    if secret == login {
        return Some(String::new());
    }
    let below = if login.is_empty() {
        Some(secret)
    } else {
        secret.strip_prefix(login).and_then(|r| r.strip_prefix('/'))
    };
    below.map(|b| format!("{b}/"))
}

/// The `VaultAuth` a secret resource uses, when the manifests hold it and the operator allows it.
fn vault_auth<'o>(
    index: &Index<'o>,
    o: &Object,
    spec: &Value,
    operator: Option<&str>,
    out: &mut Discovery,
) -> Option<&'o Object> {
    let at = || {
        format!(
            "{}:{}",
            o.file,
            o.line(&[Seg::Key("spec"), Seg::Key("vaultAuthRef")])
                .or(o.own_line())
                .unwrap_or(0)
        )
    };
    let reference = field(Some(spec), "vaultAuthRef");
    let Some(reference) = reference else {
        let defaults: Vec<&Object> = index
            .of_kind(GROUP, "VaultAuth")
            .filter(|a| a.name == "default")
            .collect();
        return match defaults.as_slice() {
            [one] if allows(one, o.namespace.as_deref(), operator) => Some(one),
            [one] => {
                out.notes.push(format!(
                    "{}: {} uses the default VaultAuth {}, whose allowedNamespaces does not list its namespace: the operator refuses it",
                    at(), o.id(), one.id()
                ));
                None
            }
            [] => {
                out.notes.push(format!(
                    "{}: {} names no vaultAuthRef and the manifests hold no default VaultAuth (named `default` in the operator's namespace): its login is unknown, not in the inventory",
                    at(), o.id()
                ));
                None
            }
            _ => {
                out.notes.push(format!(
                    "{}: {} uses the default VaultAuth, and the manifests hold several named `default`: which one is the operator's is unknown, not in the inventory",
                    at(), o.id()
                ));
                None
            }
        };
    };
    let (ns, name) = match reference.split_once('/') {
        Some((ns, name)) => (Some(ns.to_string()), name.to_string()),
        None => (o.namespace.clone(), reference.clone()),
    };
    let Some(auth) = index.find(GROUP, "VaultAuth", ns.as_deref(), &name) else {
        out.notes.push(format!(
            "{}: {} uses VaultAuth {reference:?}, which is not in the manifests: not in the inventory",
            at(),
            o.id()
        ));
        return None;
    };
    if !allows(auth, o.namespace.as_deref(), operator) {
        out.notes.push(format!(
            "{}: {} uses VaultAuth {}, whose allowedNamespaces does not list {:?}: the operator refuses it",
            at(),
            o.id(),
            auth.id(),
            o.namespace.as_deref().unwrap_or("")
        ));
        return None;
    }
    Some(auth)
}

/// A `VaultAuth` that lets every namespace use it.
fn shared(d: &mut Draft, auth: &Object) {
    let spec = get(auth.value(), "spec");
    let list = spec
        .and_then(|s| get(s, "allowedNamespaces"))
        .map(strings)
        .unwrap_or_default();
    // Only a list of exactly `*` is the operator's wildcard.
    if list == ["*"] {
        let line = auth.line(&[Seg::Key("spec"), Seg::Key("allowedNamespaces")]);
        expose(
            d,
            "shared-store",
            &auth.file,
            line,
            format!(
                "{} ({}:{}) sets allowedNamespaces: [\"*\"]: a secret resource in any namespace \
                 can read Vault with its login",
                auth.id(),
                auth.file,
                line.unwrap_or(0)
            ),
        );
    }
}

/// The login a `VaultAuth` makes for a consumer.
fn login(using: &Using, consumer: &Object, out: &mut Discovery) -> Option<Login> {
    let (auth, spec) = (using.auth, using.spec);
    let method = field(Some(spec), "method").unwrap_or_default();
    let mount = field(Some(spec), "mount").unwrap_or_default();
    let (method, block) = match method.as_str() {
        "kubernetes" => (AuthMethod::Kubernetes, "kubernetes"),
        "jwt" => (AuthMethod::Jwt, "jwt"),
        "appRole" => (AuthMethod::Approle, "appRole"),
        "aws" => (AuthMethod::Aws, "aws"),
        "gcp" => (AuthMethod::Gcp, "gcp"),
        other => {
            out.notes.push(format!(
                "{}: {} has method {other:?}, which blastmap does not read: its consumers are not in the inventory",
                auth.file,
                auth.id()
            ));
            return None;
        }
    };
    if mount.is_empty() {
        out.notes.push(format!(
            "{}: {} names no mount: its consumers are not in the inventory",
            auth.file,
            auth.id()
        ));
        return None;
    }
    let params = get(spec, block);
    let mut login = Login::new(method, val(&mount));
    login.namespace = field(Some(spec), "namespace").map(|n| val(&n));
    login.role = field(params, "role").map(|r| val(&r));
    login.audiences = params
        .and_then(|p| get(p, "audiences"))
        .map(strings)
        .unwrap_or_default();
    match method {
        AuthMethod::Approle => {
            // The manifest holds the role-id, not the role's name.
            let role_id = field(params, "roleId").unwrap_or_default();
            login.role = Some(super::super::Val::Dynamic(format!(
                "(the AppRole role of role-id {role_id})"
            )));
        }
        AuthMethod::Aws => aws_identity(using.index, &mut login, params, consumer),
        AuthMethod::Gcp => gcp_identity(using.index, &mut login, params, consumer),
        _ => login.account = service_account(method, params, consumer),
    }
    Some(login)
}

/// The service account a `kubernetes` or `jwt` login presents: the `VaultAuth`'s
/// `serviceAccount` in the consumer's namespace.
fn service_account(
    method: AuthMethod,
    params: Option<&Value>,
    consumer: &Object,
) -> Option<Account> {
    match (method, field(params, "serviceAccount")) {
        (AuthMethod::Kubernetes | AuthMethod::Jwt, Some(sa)) => Some(Account::Known {
            name: val(&sa),
            namespace: consumer.namespace.clone(),
        }),
        (AuthMethod::Jwt, None) => Some(Account::Unknown(
            "(the JWT stored in the VaultAuth's secretRef)".into(),
        )),
        (AuthMethod::Kubernetes, None) => Some(Account::Unknown(
            "(the VaultAuth names no serviceAccount)".into(),
        )),
        _ => None,
    }
}

/// An `aws` login's IAM principal: the role of `irsaServiceAccount` (in the consumer's
/// namespace), the keys of `secretRef`, or the operator's own identity.
fn aws_identity(index: &Index, login: &mut Login, params: Option<&Value>, consumer: &Object) {
    cloud::aws_region(login, field(params, "region"));
    if let Some(name) = field(params, "irsaServiceAccount") {
        let account = ServiceAccount {
            name: val(&name),
            namespace: consumer.namespace.clone(),
        };
        cloud::aws_from_account(index, login, &account);
    } else if let Some(secret) = field(params, "secretRef") {
        login.unknown(
            "auth.aws.iam_principal_arn",
            format!("(the IAM principal of the access keys in Secret {secret:?})"),
        );
    } else {
        login.unknown(
            "auth.aws.iam_principal_arn",
            "(the operator's own AWS identity: its pod's IAM role or its node's)",
        );
    }
}

/// A `gcp` login's Google service account: that of `workloadIdentityServiceAccount` (in the
/// consumer's namespace).
fn gcp_identity(index: &Index, login: &mut Login, params: Option<&Value>, consumer: &Object) {
    match field(params, "workloadIdentityServiceAccount") {
        Some(name) => {
            let account = ServiceAccount {
                name: val(&name),
                namespace: consumer.namespace.clone(),
            };
            cloud::gcp_from_account(index, login, &account);
        }
        None => login.unknown(
            "auth.gcp.service_account_email",
            "(the VaultAuth names no workloadIdentityServiceAccount)",
        ),
    }
}

/// The API path a secret resource reads.
fn secret_path(o: &Object, spec: &Value, out: &mut Discovery) -> Option<String> {
    let mount = field(Some(spec), "mount").unwrap_or_default();
    let path = match o.kind.as_str() {
        "VaultStaticSecret" => {
            let kind = field(Some(spec), "type").unwrap_or_default();
            let key = field(Some(spec), "path").unwrap_or_default();
            match kind.as_str() {
                "kv-v2" => kv_path(&mount, &key, true),
                "kv-v1" => kv_path(&mount, &key, false),
                other => {
                    out.notes.push(format!(
                        "{}: {} has type {other:?} (expected kv-v1 or kv-v2): its path is not read",
                        o.file,
                        o.id()
                    ));
                    return None;
                }
            }
        }
        "VaultDynamicSecret" => kv_path(
            &mount,
            &field(Some(spec), "path").unwrap_or_default(),
            false,
        ),
        _ => format!(
            "{}/issue/{}",
            mount.trim_matches('/'),
            field(Some(spec), "role").unwrap_or_default()
        ),
    };
    Some(path)
}
