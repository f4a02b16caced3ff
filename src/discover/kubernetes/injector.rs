//! The Vault Agent Injector: pods (and the pod templates of workloads) annotated
//! `vault.hashicorp.com/agent-inject: "true"`. The agent logs in with the pod's own service
//! account token (`auth-type` `kubernetes`, the default) at `auth-path` (default
//! `auth/kubernetes`) with `role`, and renders `agent-inject-secret-<name>` paths (API paths)
//! and the secrets named in `agent-inject-template-<name>` templates.

use yaml_serde::Value;

use super::super::yaml::{entries, get, scalar, Seg};
use super::super::{Discovery, Draft, Val};
use super::manifests::Object;
use super::{draft, expose, need, val, Account, Index, Login, Origin};
use crate::inventory::{AuthMethod, ConsumerKind};

const PREFIX: &str = "vault.hashicorp.com/";

/// Kinds with a pod template, and the path to the template.
const WORKLOADS: &[(&str, &[&str])] = &[
    ("Deployment", &["spec", "template"]),
    ("StatefulSet", &["spec", "template"]),
    ("DaemonSet", &["spec", "template"]),
    ("ReplicaSet", &["spec", "template"]),
    ("Job", &["spec", "template"]),
    ("CronJob", &["spec", "jobTemplate", "spec", "template"]),
    ("Pod", &[]),
];

/// The pod template of a workload object: its value and key path.
pub(super) fn pod_template(o: &Object) -> Option<(&Value, Vec<Seg<'static>>)> {
    if !["", "apps", "batch"].contains(&o.group.as_str()) {
        return None;
    }
    let (_, path) = WORKLOADS.iter().find(|(k, _)| *k == o.kind)?;
    let mut v = o.value();
    for key in path.iter() {
        v = get(v, key)?;
    }
    Some((v, path.iter().map(|k| Seg::Key(k)).collect()))
}

/// The service account a pod runs as (`default` when the pod spec names none).
pub(super) fn pod_account(pod: &Value) -> Val {
    let spec = get(pod, "spec");
    let name = spec
        .and_then(|s| get(s, "serviceAccountName").or_else(|| get(s, "serviceAccount")))
        .and_then(scalar)
        .unwrap_or_else(|| "default".into());
    val(&name)
}

pub(super) fn read(index: &Index, drafts: &mut Vec<Draft>, out: &mut Discovery) {
    for o in index.objects {
        let Some((pod, at)) = pod_template(o) else {
            continue;
        };
        let annotations = get(pod, "metadata")
            .and_then(|m| get(m, "annotations"))
            .map(entries)
            .unwrap_or_default();
        let ann = |k: &str| {
            annotations
                .iter()
                .find(|(key, _)| key == &format!("{PREFIX}{k}"))
                .and_then(|(_, v)| scalar(v))
        };
        if ann("agent-inject").is_none_or(|v| !v.eq_ignore_ascii_case("true")) {
            continue;
        }
        let line_of = |k: &str| {
            let mut path = at.clone();
            path.extend([Seg::Key("metadata"), Seg::Key("annotations"), Seg::Key(k)]);
            o.line(&path)
        };
        let auth_type = ann("auth-type").unwrap_or_else(|| "kubernetes".into());
        if auth_type != "kubernetes" {
            out.notes.push(format!(
                "{}:{}: {} injects with auth-type {auth_type:?}, whose identity is in \
                 `auth-config-*` annotations blastmap does not read: not in the inventory",
                o.file,
                line_of(&format!("{PREFIX}auth-type")).unwrap_or(0),
                o.id()
            ));
            continue;
        }
        let auth_path = ann("auth-path").unwrap_or_else(|| "auth/kubernetes".into());
        let mount = auth_path.trim_matches('/');
        let mount = mount.strip_prefix("auth/").unwrap_or(mount);
        let mut login = Login::new(AuthMethod::Kubernetes, val(mount));
        login.role = ann("role").map(|r| val(&r));
        login.namespace = ann("namespace").map(|n| val(&n));
        login.account = Some(Account::Known {
            name: pod_account(pod),
            namespace: o.namespace.clone(),
        });
        let origin = Origin {
            object: o,
            consumer: ConsumerKind::Injector,
            via: None,
        };
        let mut d = draft(&origin, &login);
        if login.role.is_none() {
            out.notes.push(format!(
                "{}: {} sets no vault.hashicorp.com/role: the injector refuses to start its agent",
                o.file,
                o.id()
            ));
        }
        for (key, v) in &annotations {
            let Some(name) = key.strip_prefix(PREFIX) else {
                continue;
            };
            let Some(text) = scalar(v) else { continue };
            if name.starts_with("agent-inject-secret-") {
                need(&mut d, &text);
            } else if name.starts_with("agent-inject-template-") {
                template_needs(&mut d, &text);
            }
        }
        if ann("agent-inject-token").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            let line = line_of(&format!("{PREFIX}agent-inject-token"));
            expose(
                &mut d,
                "agent-inject-token",
                &o.file,
                line,
                format!(
                    "{} sets vault.hashicorp.com/agent-inject-token: \"true\": the agent writes its \
                     Vault token to /vault/secrets/token, readable by every container of the pod",
                    o.id()
                ),
            );
        }
        drafts.push(d);
    }
}

/// The secrets a Consul Template template reads: each `secret "<path>"` (and `pkiCert`) with
/// a literal path; a path built in the template is dynamic.
pub(super) fn template_needs(d: &mut Draft, text: &str) {
    for func in ["secret ", "pkiCert "] {
        let mut rest = text;
        while let Some(i) = rest.find(func) {
            let after = rest[i + func.len()..].trim_start();
            rest = &rest[i + func.len()..];
            // The name must be a whole word (not `mysecret `).
            let before = text.len() - rest.len() - func.len();
            if before > 0 && text.as_bytes()[before - 1].is_ascii_alphanumeric() {
                continue;
            }
            match after.strip_prefix('"').and_then(|a| a.split_once('"')) {
                Some((path, _)) if !path.contains("{{") => need(d, path),
                _ => {
                    let call = after.split(['}', '\n']).next().unwrap_or("");
                    let call: String = call.chars().take(80).collect();
                    d.dynamic("needs", format!("{func}{}", call.trim()));
                }
            }
        }
    }
}
