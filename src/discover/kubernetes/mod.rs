//! Kubernetes workloads that read Vault themselves: the Vault Agent Injector (pod annotations),
//! the Vault Secrets Operator, the External Secrets Operator and the Secrets Store CSI driver.
//! Each consumer becomes one inventory entry (`ci.provider: kubernetes`, `ci.consumer`): the
//! login it makes (usually Kubernetes auth with a service account, judged by
//! `login/kubernetes.rs`), the secrets it reads as `needs`, and what its manifests expose.
//!
//! `manifests.rs` reads the directory (multi-document files, Kustomize); one module per
//! operator turns its objects into consumers. Values left as Helm templates (`{{ … }}`) or
//! environment references are recorded as `dynamic`; objects that refer to objects not in the
//! manifests get a note. Names in manifests are data: they never name a file to open.

mod cloud;
mod csi;
mod eso;
mod injector;
pub(crate) mod manifests;
mod vso;
mod vso_global;

use std::path::Path;

use serde_json::Value as Json;

use super::yaml::{get, scalar};
use super::{Discovery, Draft, Result, Val};
use crate::inventory::{AuthMethod, CiEvidence, CiExposure, ConsumerKind};
use crate::login::{AwsIdentity, GcpIdentity};
use manifests::Object;

/// Why a setting in the manifests cannot be used as written: where Kustomize would fail the
/// build or an operator would refuse the object. It becomes a note (or a dynamic field's
/// reason); the rest of the manifests is still read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(super) struct Unusable(String);

impl From<String> for Unusable {
    fn from(reason: String) -> Self {
        Unusable(reason)
    }
}

impl From<&str> for Unusable {
    fn from(reason: &str) -> Self {
        Unusable(reason.to_string())
    }
}

/// Read every consumer of the manifests under `dir`.
pub(crate) fn discover(dir: &Path, out: &mut Discovery) -> Result<()> {
    let objects = manifests::read(dir, out)?;
    let index = Index { objects: &objects };
    let mut drafts = Vec::new();
    injector::read(&index, &mut drafts, out);
    vso::read(&index, &mut drafts, out);
    eso::read(&index, &mut drafts, out);
    csi::read(&index, &mut drafts, out);
    out.pipelines.extend(drafts.into_iter().map(Draft::finish));
    Ok(())
}

/// The objects read, looked up by kind, namespace and name.
pub(crate) struct Index<'o> {
    objects: &'o [Object],
}

impl<'o> Index<'o> {
    /// Every object of `kind` in `group` (API group without version).
    fn of_kind(&self, group: &'o str, kind: &'o str) -> impl Iterator<Item = &'o Object> + 'o {
        self.objects
            .iter()
            .filter(move |o| o.kind == kind && o.group == group)
    }

    /// The object of `kind` named `name` in `namespace` (`None`: cluster-scoped or unknown).
    fn find(
        &self,
        group: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<&'o Object> {
        self.objects.iter().find(|o| {
            o.kind == kind
                && o.group == group
                && o.name == name
                && o.namespace.as_deref() == namespace
        })
    }

    /// An annotation of the service account `name` in `namespace`, when the manifests hold the
    /// account and it carries the annotation.
    fn account_annotation(&self, namespace: Option<&str>, name: &str, key: &str) -> Option<String> {
        let account = self.find("", "ServiceAccount", namespace, name)?;
        let annotations = get(account.value(), "metadata").and_then(|m| get(m, "annotations"))?;
        field(Some(annotations), key)
    }
}

/// A non-empty scalar setting of a spec (or block) `v`: the operators treat an empty string as
/// unset, and so does every reader here.
fn field(v: Option<&yaml_serde::Value>, key: &str) -> Option<String> {
    v.and_then(|v| get(v, key))
        .and_then(scalar)
        .filter(|s| !s.is_empty())
}

/// A value from a manifest: literal, or left as an expression (a Helm template, `$VAR`).
fn val(s: &str) -> Val {
    if s.contains("{{") {
        Val::Dynamic(s.to_string())
    } else {
        Val::of(s)
    }
}

/// The service account whose token a login presents.
#[derive(Debug, Clone)]
enum Account {
    /// Named in the manifests; the namespace unknown when the manifest does not say.
    Known {
        name: Val,
        namespace: Option<String>,
    },
    /// Not in the manifests: why (recorded as dynamic).
    Unknown(String),
}

/// The Vault login a consumer makes, as its manifests state it.
#[derive(Debug, Clone)]
struct Login {
    method: AuthMethod,
    mount: Val,
    role: Option<Val>,
    /// The Vault (OpenBao) namespace of the mount.
    namespace: Option<Val>,
    /// `kubernetes` and `jwt` logins with a service account token.
    account: Option<Account>,
    /// The audiences requested for the service account token.
    audiences: Vec<String>,
    /// `userpass` and `ldap`: the user.
    user: Option<Val>,
    /// `aws`: the IAM principal, when the manifests name it.
    aws: Option<AwsIdentity>,
    /// `gcp`: the service account, when the manifests name it.
    gcp: Option<GcpIdentity>,
    /// What only the cluster, its secrets or the operator's settings know.
    unknowns: Vec<Unknown>,
}

/// A login field whose value the manifests do not hold, and why.
#[derive(Debug, Clone)]
struct Unknown {
    field: &'static str,
    why: String,
}

impl Login {
    fn new(method: AuthMethod, mount: Val) -> Login {
        Login {
            method,
            mount,
            role: None,
            namespace: None,
            account: None,
            audiences: Vec::new(),
            user: None,
            aws: None,
            gcp: None,
            unknowns: Vec::new(),
        }
    }

    /// Record a field only the cluster knows.
    fn unknown(&mut self, field: &'static str, why: impl Into<String>) {
        self.unknowns.push(Unknown {
            field,
            why: why.into(),
        });
    }
}

/// Where a consumer was found, and through what.
struct Origin<'o> {
    object: &'o Object,
    consumer: ConsumerKind,
    /// The shared store, `VaultAuth` or `SecretProviderClass` read through.
    via: Option<&'o Object>,
}

/// A draft for a consumer, with its login applied.
fn draft(origin: &Origin, login: &Login) -> Draft {
    let object = origin.object;
    let ns = object.namespace.as_deref().unwrap_or("?");
    let ci = CiEvidence {
        provider: "kubernetes".into(),
        file: object.file.clone(),
        job: object.id(),
        line: object.own_line(),
        consumer: Some(origin.consumer),
        namespace: object.namespace.clone(),
        via: origin.via.map(Object::id),
        via_file: origin.via.map(|v| v.file.clone()),
        via_line: origin.via.and_then(Object::own_line),
        ..CiEvidence::default()
    };
    // A mount only the cluster knows is written as the method's usual one, beside its
    // dynamic entry (the inventory needs a mount for every known method).
    let mount = match (&login.mount, login.method) {
        (_, AuthMethod::Dynamic) => login.mount.known().unwrap_or("").to_string(),
        (Val::Known(mount), _) => mount.clone(),
        (Val::Dynamic(_), method) => method.as_str().to_string(),
    };
    let name = format!("k8s/{ns}/{}/{}", object.kind, object.name);
    let mut draft = Draft::new(name, login.method, &mount, ci);
    draft.login(&login.mount, login.role.as_ref(), login.namespace.as_ref());
    apply_account(&mut draft, login);
    apply_identity(&mut draft, login);
    if object.namespace.is_none() {
        draft.dynamic(
            "ci.namespace",
            "(the namespace the manifest is applied to: the manifest names none)",
        );
    }
    draft
}

/// The service account and the token's audiences, as the login method reads them.
fn apply_account(d: &mut Draft, login: &Login) {
    match &login.account {
        Some(Account::Known { name, namespace }) => {
            match name {
                Val::Known(n) if login.method == AuthMethod::Kubernetes => {
                    d.auth.service_account = Some(n.clone())
                }
                Val::Known(_) => {}
                Val::Dynamic(e) => d.dynamic("auth.service_account", e.clone()),
            }
            match namespace {
                Some(ns) if login.method == AuthMethod::Kubernetes => {
                    d.auth.service_account_namespace = Some(ns.clone())
                }
                Some(_) => {}
                None => d.dynamic(
                    "auth.service_account_namespace",
                    "(the namespace the manifest is applied to)",
                ),
            }
            if login.method == AuthMethod::Jwt {
                if let (Val::Known(n), Some(ns)) = (name, namespace) {
                    // A service account token's subject (the TokenRequest API's format).
                    d.claims.insert(
                        "sub".into(),
                        Json::String(format!("system:serviceaccount:{ns}:{n}")),
                    );
                }
                d.dynamic("auth.claims.iss", "(the cluster's service account issuer)");
            }
        }
        Some(Account::Unknown(why)) => {
            let field = match login.method {
                AuthMethod::Jwt => "auth.claims",
                _ => "auth.service_account",
            };
            d.dynamic(field, why.clone());
        }
        None => {}
    }
    if !login.audiences.is_empty() {
        let aud = login
            .audiences
            .iter()
            .map(|a| Json::String(a.clone()))
            .collect();
        d.claims.insert("aud".into(), Json::Array(aud));
    }
}

/// The user and cloud identity of the login, and what the manifests leave unknown.
fn apply_identity(d: &mut Draft, login: &Login) {
    match &login.user {
        Some(Val::Known(user)) => d.auth.user = Some(user.clone()),
        Some(Val::Dynamic(e)) => d.dynamic("auth.user", e.clone()),
        None => {}
    }
    d.auth.aws = login.aws.clone();
    d.auth.gcp = login.gcp.clone();
    for unknown in &login.unknowns {
        d.dynamic(unknown.field, unknown.why.clone());
    }
}

/// A need read from a manifest: literal, or dynamic when it holds an expression.
fn need(d: &mut Draft, path: &str) {
    if path.contains("{{") {
        d.dynamic("needs", path);
    } else {
        d.need(path);
    }
}

/// An exposure found in a manifest: in `file` (the store's or `VaultAuth`'s, named only when it
/// is not the consumer's own file) at `line`.
fn expose(d: &mut Draft, kind: &str, file: &str, line: Option<usize>, detail: String) {
    let file = (file != d.ci.file).then(|| file.to_string());
    d.expose(CiExposure {
        kind: kind.into(),
        file,
        line,
        detail,
        later_steps: None,
    });
}

/// A KV read as an API path: `data/` after the mount for version 2.
fn kv_path(mount: &str, key: &str, v2: bool) -> String {
    let (m, k) = (mount.trim_matches('/'), key.trim_matches('/'));
    match (v2, m.is_empty()) {
        (true, false) => super::kv2_data(m, k),
        (true, true) => super::kv2_from_logical(k),
        (false, false) => format!("{m}/{k}"),
        (false, true) => k.to_string(),
    }
}

#[cfg(test)]
mod tests;
