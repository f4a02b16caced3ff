//! The Vault Agent Injector: pods (and the pod templates of workloads) annotated
//! `vault.hashicorp.com/agent-inject: "true"`. The agent logs in with its `auth-type` (by
//! default `kubernetes`, with the pod's own service account token) at `auth-path` with `role`;
//! the other types read their `auth-config-*` settings, which the injector hands to the
//! agent's auto-auth method. It renders `agent-inject-secret-<name>` paths (API paths) and the
//! secrets named in `agent-inject-template-<name>` templates.

use yaml_serde::Value;

use super::super::yaml::{entries, get, scalar, Seg};
use super::super::{Discovery, Draft, Val};
use super::cloud::{self, ServiceAccount};
use super::manifests::Object;
use super::{draft, expose, need, val, Account, Index, Login, Origin};
use crate::inventory::{AuthMethod, ConsumerKind};
use crate::login::{AwsAuthType, AwsIdentity, GcpIdentity, GcpLoginType};

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
    let mut value = o.value();
    for key in path.iter() {
        value = get(value, key)?;
    }
    Some((value, path.iter().map(|k| Seg::Key(k)).collect()))
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
        let settings = Settings {
            pod_account: pod_account(pod),
            namespace: o.namespace.clone(),
            annotation: &ann,
        };
        let login = agent_login(index, &settings);
        let origin = Origin {
            object: o,
            consumer: ConsumerKind::Injector,
            via: None,
        };
        let mut draft = draft(&origin, &login);
        if login.role.is_none() && login.method == AuthMethod::Kubernetes {
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
                need(&mut draft, &text);
            } else if name.starts_with("agent-inject-template-") {
                template_needs(&mut draft, &text);
            }
        }
        if ann("agent-inject-token").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            let line = line_of(&format!("{PREFIX}agent-inject-token"));
            expose(
                &mut draft,
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
        drafts.push(draft);
    }
}

/// What the agent's login is read from: the pod's service account and namespace, and its
/// annotations (`vault.hashicorp.com/` left out of the key).
struct Settings<'s> {
    pod_account: Val,
    namespace: Option<String>,
    annotation: &'s dyn Fn(&str) -> Option<String>,
}

impl Settings<'_> {
    fn get(&self, key: &str) -> Option<String> {
        (self.annotation)(key).filter(|v| !v.is_empty())
    }

    /// An `auth-config-<key>` setting of the agent's auto-auth method (the injector turns
    /// `-` into `_` in the key).
    fn config(&self, key: &str) -> Option<String> {
        self.get(&format!("auth-config-{key}"))
    }

    fn account(&self) -> ServiceAccount {
        ServiceAccount {
            name: self.pod_account.clone(),
            namespace: self.namespace.clone(),
        }
    }
}

/// The service account token file Kubernetes mounts in every pod.
const POD_TOKEN: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// The agent's auto-auth login: `auth-type` (default `kubernetes`) at `auth-path`, with `role`
/// (or `auth-config-role`) and the method's `auth-config-*` settings.
fn agent_login(index: &Index, settings: &Settings) -> Login {
    let auth_type = settings
        .get("auth-type")
        .unwrap_or_else(|| "kubernetes".into());
    let method = agent_method(&auth_type);
    let mount = match settings.get("auth-path") {
        Some(path) => {
            let mount = path.trim_matches('/');
            val(mount.strip_prefix("auth/").unwrap_or(mount))
        }
        None if method == AuthMethod::Kubernetes => val("kubernetes"),
        // The injector's own default path (`-vault-auth-path`) serves every auth-type.
        None => Val::Dynamic(format!(
            "(the injector's default auth path, auth/kubernetes unless configured otherwise, for auth-type {auth_type:?})"
        )),
    };
    let mut login = Login::new(method, mount);
    login.role = settings
        .get("role")
        .or_else(|| settings.config("role"))
        .map(|r| val(&r));
    login.namespace = settings.get("namespace").map(|n| val(&n));
    match method {
        AuthMethod::Kubernetes => {
            login.account = Some(Account::Known {
                name: settings.pod_account.clone(),
                namespace: settings.namespace.clone(),
            })
        }
        AuthMethod::Dynamic => login.unknown(
            "auth.method",
            format!("auth-type {auth_type:?}, which blastmap does not model"),
        ),
        _ => method_identity(index, settings, &mut login),
    }
    login
}

/// The inventory method of an agent auto-auth type.
fn agent_method(auth_type: &str) -> AuthMethod {
    match auth_type {
        "kubernetes" => AuthMethod::Kubernetes,
        "jwt" => AuthMethod::Jwt,
        "approle" => AuthMethod::Approle,
        "aws" => AuthMethod::Aws,
        "gcp" => AuthMethod::Gcp,
        "azure" => AuthMethod::Azure,
        "cert" => AuthMethod::Cert,
        "ldap" => AuthMethod::Ldap,
        "token_file" => AuthMethod::Token,
        _ => AuthMethod::Dynamic,
    }
}

/// The identity a non-Kubernetes auto-auth method presents, from its `auth-config-*` settings.
fn method_identity(index: &Index, settings: &Settings, login: &mut Login) {
    match login.method {
        AuthMethod::Jwt => {
            let file = settings.config("path");
            login.account = Some(match file.as_deref() {
                None | Some(POD_TOKEN) => {
                    login.unknown(
                        "auth.claims.aud",
                        "(the audience of the cluster's pod tokens: its API server's)",
                    );
                    Account::Known {
                        name: settings.pod_account.clone(),
                        namespace: settings.namespace.clone(),
                    }
                }
                Some(other) => Account::Unknown(format!("(the JWT in file {other:?})")),
            });
        }
        AuthMethod::Approle => {
            let file = settings.config("role-id-file-path").unwrap_or_default();
            login.role = Some(Val::Dynamic(format!(
                "(the AppRole role of the role-id in file {file:?})"
            )));
        }
        AuthMethod::Aws => aws_identity(index, settings, login),
        AuthMethod::Gcp => gcp_identity(index, settings, login),
        AuthMethod::Azure => login.unknown(
            "auth.azure",
            "(the managed identity of the pod's node or workload identity)",
        ),
        AuthMethod::Cert => {
            login.role = settings.config("name").map(|n| val(&n));
            login.unknown(
                "auth.common_name",
                format!(
                    "(the client certificate in file {:?})",
                    settings.config("client-cert").unwrap_or_default()
                ),
            );
        }
        AuthMethod::Ldap => {
            login.user = settings.config("username").map(|u| val(&u));
            login.unknown("auth.groups", "(the directory groups of the LDAP user)");
        }
        _ => login.unknown(
            "auth.token",
            format!(
                "(the Vault token in file {:?})",
                settings.config("token-file-path").unwrap_or_default()
            ),
        ),
    }
}

/// AWS: `iam` (the default) signs with the pod's IRSA role, which the injector mounts for the
/// agent; `ec2` presents the node's instance identity.
fn aws_identity(index: &Index, settings: &Settings, login: &mut Login) {
    cloud::aws_region(login, settings.config("region"));
    if settings.config("type").as_deref() == Some("ec2") {
        login.aws.get_or_insert_with(AwsIdentity::default).auth_type = Some(AwsAuthType::Ec2);
        login.unknown(
            "auth.aws.ec2_instance_id",
            "(the EC2 instance the pod runs on)",
        );
        return;
    }
    cloud::aws_from_account(index, login, &settings.account());
}

/// GCP: `iam` (the default) signs as `auth-config-service-account`, else as the pod's
/// Workload Identity account; `gce` presents the node's instance.
fn gcp_identity(index: &Index, settings: &Settings, login: &mut Login) {
    if settings.config("type").as_deref() == Some("gce") {
        login
            .gcp
            .get_or_insert_with(GcpIdentity::default)
            .login_type = Some(GcpLoginType::Gce);
        login.unknown(
            "auth.gcp.instance_id",
            "(the Compute Engine instance the pod runs on)",
        );
        return;
    }
    match settings.config("service-account") {
        Some(email) => cloud::gcp_account(login, &email),
        None => cloud::gcp_from_account(index, login, &settings.account()),
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
