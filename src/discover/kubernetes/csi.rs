//! The Secrets Store CSI driver with the Vault provider: a `SecretProviderClass` with
//! `provider: vault` names the role (`roleName`), the Kubernetes auth mount
//! (`vaultKubernetesMountPath`, default `kubernetes`), the token audience (`audience`) and the
//! secrets (`objects`, a YAML list inside a string, each with a `secretPath` used as the API
//! path). The login is made with the service account of each pod that mounts the class, so each
//! workload mounting it is one consumer.

use yaml_serde::Value;

use super::super::yaml::{get, scalar, Seg};
use super::super::{Discovery, Draft};
use super::injector::{pod_account, pod_template};
use super::manifests::Object;
use super::{draft, field, need, val, Account, Index, Login, Origin};
use crate::inventory::{AuthMethod, ConsumerKind};

const GROUP: &str = "secrets-store.csi.x-k8s.io";
const DRIVER: &str = "secrets-store.csi.k8s.io";

pub(super) fn read(index: &Index, drafts: &mut Vec<Draft>, out: &mut Discovery) {
    for class in index.of_kind(GROUP, "SecretProviderClass") {
        let spec = get(class.value(), "spec").unwrap_or(&Value::Null);
        if get(spec, "provider").and_then(scalar).as_deref() != Some("vault") {
            continue;
        }
        let params = get(spec, "parameters").unwrap_or(&Value::Null);
        let param = |k: &str| field(Some(params), k);
        let mount = param("vaultKubernetesMountPath").unwrap_or_else(|| "kubernetes".into());
        let mount = mount.trim_matches('/');
        let mut login = Login::new(
            AuthMethod::Kubernetes,
            val(mount.strip_prefix("auth/").unwrap_or(mount)),
        );
        login.role = param("roleName").map(|r| val(&r));
        login.namespace = param("vaultNamespace").map(|n| val(&n));
        login.audiences = param("audience").into_iter().collect();
        let paths = secret_paths(class, params.clone(), out);
        let pods = mounting_pods(index, class);
        if pods.is_empty() {
            login.account = Some(Account::Unknown(
                "(the service account of each pod that mounts the SecretProviderClass; none in the manifests)".into(),
            ));
            let origin = Origin {
                object: class,
                consumer: ConsumerKind::Csi,
                via: None,
            };
            drafts.push(with_paths(draft(&origin, &login), &paths));
            continue;
        }
        for (workload, pod) in pods {
            let mut login = login.clone();
            login.account = Some(Account::Known {
                name: pod_account(pod),
                namespace: workload.namespace.clone(),
            });
            let origin = Origin {
                object: workload,
                consumer: ConsumerKind::Csi,
                via: Some(class),
            };
            drafts.push(with_paths(draft(&origin, &login), &paths));
        }
    }
}

/// The class's secrets as needs: its `vaultNamespace` is the login's too, and needs are
/// relative to the login's namespace.
fn with_paths(mut d: Draft, paths: &[String]) -> Draft {
    for p in paths {
        need(&mut d, p);
    }
    d
}

/// The `secretPath` of every entry of `objects` (a YAML document in a string).
fn secret_paths(class: &Object, params: Value, out: &mut Discovery) -> Vec<String> {
    let Some(text) = get(&params, "objects").and_then(scalar) else {
        return Vec::new();
    };
    let line = class.line(&[
        Seg::Key("spec"),
        Seg::Key("parameters"),
        Seg::Key("objects"),
    ]);
    let parsed: Result<Value, _> = yaml_serde::from_str(&text);
    let Ok(Value::Sequence(items)) = parsed else {
        out.notes.push(format!(
            "{}:{}: {} `objects` is not a YAML list: its secrets are not read",
            class.file,
            line.unwrap_or(0),
            class.id()
        ));
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|i| get(i, "secretPath").and_then(scalar))
        .collect()
}

/// The workloads of the class's namespace whose pods mount it through the CSI driver.
fn mounting_pods<'o>(index: &Index<'o>, class: &Object) -> Vec<(&'o Object, &'o Value)> {
    index
        .objects
        .iter()
        .filter(|o| o.namespace == class.namespace)
        .filter_map(|o| pod_template(o).map(|(pod, _)| (o, pod)))
        .filter(|(_, pod)| mounts(pod, &class.name))
        .collect()
}

fn mounts(pod: &Value, class: &str) -> bool {
    let volumes = get(pod, "spec")
        .and_then(|s| get(s, "volumes"))
        .and_then(Value::as_sequence);
    volumes.into_iter().flatten().any(|v| {
        let Some(csi) = get(v, "csi") else {
            return false;
        };
        let driver = get(csi, "driver").and_then(scalar);
        let named = get(csi, "volumeAttributes")
            .and_then(|a| get(a, "secretProviderClass"))
            .and_then(scalar);
        driver.as_deref() == Some(DRIVER) && named.as_deref() == Some(class)
    })
}
