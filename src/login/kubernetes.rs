//! Kubernetes roles (`internal/builtin/credential/kubernetes/path_login.go`,
//! `parseAndValidateJWT`), judged from the plugin's own rules without a cluster:
//!
//! * `token_bound_cidrs` against the client address (a condition here);
//! * the service account JWT: `iss` only when the config sets `disable_iss_validation = false`
//!   and an `issuer`; the role's `audience`, when set, must be in `aud`;
//! * `bound_service_account_names`: `["*"]` alone admits any name, otherwise go-glob patterns;
//! * `bound_service_account_namespaces` (`*` first, or go-glob patterns) **or**, when those do not
//!   match, the namespace label selector, which needs the cluster (unknown here);
//! * then the TokenReview API must accept the token (a condition).
//!
//! The alias name is the service account UID (`alias_name_source` `serviceaccount_uid`, the
//! default) or `<namespace>/<name>` (`serviceaccount_name`).

use super::glob::list_contains_glob;
use super::jwt::Registered;
use super::token::resolve;
use super::{Admission, Alias, Credential, Refusal, Verdict};
use crate::model::{AuthMount, KubernetesRole, ServerInfo};
use serde_json::Value;
use std::collections::BTreeMap;

/// The service account a pipeline presents.
struct ServiceAccount<'c> {
    name: &'c str,
    namespace: &'c str,
}

/// An admission being judged: the checks passed so far (for `why`). A check that refuses
/// returns the [`Refusal`].
struct Judgement<'j> {
    mount: &'j AuthMount,
    role: &'j KubernetesRole,
    cred: &'j Credential<'j>,
    account: ServiceAccount<'j>,
    registered: Option<Registered>,
    admission: Admission,
    passed: Vec<String>,
}

pub(super) fn admit(
    mount: &AuthMount,
    role: &KubernetesRole,
    cred: &Credential<'_>,
    server: &ServerInfo,
) -> Admission {
    let (Some(name), Some(namespace)) = (cred.service_account, cred.service_account_namespace)
    else {
        return Admission::unknown(
            "the pipeline's service account (name and namespace) is not known",
            format!(
                "the Kubernetes service account of the pipeline (needed to judge role {:?})",
                role.name
            ),
        );
    };
    let mut admission = Admission::new(Verdict::Admitted, String::new());
    admission.require_login_cidrs("token_bound_cidrs", &role.token.token_bound_cidrs);
    let strict = super::jwt::strict_registered_keys(server);
    let registered = match cred
        .claims
        .map(|c| Registered::parse(c, strict))
        .transpose()
    {
        Ok(r) => r,
        Err(e) => return Admission::refused(e.to_string()),
    };
    let mut judgement = Judgement {
        mount,
        role,
        cred,
        account: ServiceAccount { name, namespace },
        registered,
        admission,
        passed: Vec::new(),
    };
    match judgement.judge() {
        Ok(()) => judgement.finish(server),
        Err(Refusal(why)) => Admission::refused(why),
    }
}

impl Judgement<'_> {
    fn judge(&mut self) -> Result<(), Refusal> {
        self.issuer()?;
        self.names()?;
        self.namespaces()?;
        self.audience()?;
        let host = self
            .mount
            .config_str("kubernetes_host")
            .map(|h| format!(" at {h}"))
            .unwrap_or_default();
        let ServiceAccount { name, namespace } = self.account;
        self.admission.conditions.push(format!(
            "the cluster's TokenReview API{host} accepts the service account token (a live token \
             of {namespace}/{name})"
        ));
        self.admission.alias = Some(self.alias()?);
        Ok(())
    }

    /// Issuer: checked only when validation is explicitly enabled and an issuer is configured.
    fn issuer(&mut self) -> Result<(), Refusal> {
        let validation = self
            .mount
            .config
            .as_ref()
            .and_then(|c| c.get("disable_iss_validation"))
            .and_then(crate::model::de::value_as_bool)
            .map(|disabled| !disabled)
            .unwrap_or(false);
        let (true, Some(issuer)) = (validation, self.mount.config_str("issuer")) else {
            return Ok(());
        };
        match self.registered.as_ref().filter(|r| r.iss_listed) {
            Some(r) if r.iss.as_deref() == Some(issuer) => {
                self.passed
                    .push(format!("iss {issuer:?} is the configured issuer"));
                Ok(())
            }
            Some(r) => Err(Refusal(format!(
                "the service account token's iss {:?} is not the configured issuer {issuer:?}",
                r.iss.as_deref().unwrap_or("")
            ))),
            None => {
                self.admission.conditions.push(format!(
                    "the service account token's iss is {issuer:?} (issuer validation is enabled)"
                ));
                Ok(())
            }
        }
    }

    /// `bound_service_account_names`: `["*"]` alone admits any name, otherwise go-glob patterns.
    fn names(&mut self) -> Result<(), Refusal> {
        let names = &self.role.bound_service_account_names;
        let name = self.account.name;
        if names.is_empty() {
            return Err(Refusal(format!(
                "role {:?} has no bound_service_account_names: the server cannot admit any login",
                self.role.name
            )));
        }
        if names.len() == 1 && names[0] == "*" {
            self.passed
                .push("bound_service_account_names is \"*\"".to_owned());
        } else if list_contains_glob(names, name) {
            self.passed.push(format!(
                "service account {name:?} matches bound_service_account_names {}",
                show_names(names)
            ));
        } else {
            return Err(Refusal(format!(
                "service account {name:?} matches none of bound_service_account_names {}",
                show_names(names)
            )));
        }
        Ok(())
    }

    /// `bound_service_account_namespaces`, OR'ed with the namespace selector (which needs the
    /// cluster).
    fn namespaces(&mut self) -> Result<(), Refusal> {
        let role = self.role;
        let namespaces = &role.bound_service_account_namespaces;
        let namespace = self.account.namespace;
        let listed = !namespaces.is_empty()
            && (namespaces[0] == "*" || list_contains_glob(namespaces, namespace));
        let selector = role.bound_service_account_namespace_selector.trim();
        if listed {
            self.passed.push(format!(
                "namespace {namespace:?} matches bound_service_account_namespaces {}",
                show_names(namespaces)
            ));
        } else if !selector.is_empty() {
            self.admission.verdict = Verdict::Unknown;
            self.admission.conditions.push(format!(
                "namespace {namespace:?} carries labels matching the selector {selector}"
            ));
            self.admission.unknowns.push(format!(
                "whether Kubernetes namespace {namespace:?} matches role {:?}'s \
                 bound_service_account_namespace_selector {selector} (needs the cluster)",
                role.name
            ));
        } else if namespaces.is_empty() {
            return Err(Refusal(format!(
                "role {:?} binds no namespace (neither a list nor a selector)",
                role.name
            )));
        } else {
            return Err(Refusal(format!(
                "namespace {namespace:?} matches none of bound_service_account_namespaces {}",
                show_names(namespaces)
            )));
        }
        Ok(())
    }

    /// The role's `audience`, when set, must be in `aud`.
    fn audience(&mut self) -> Result<(), Refusal> {
        let audience = &self.role.audience;
        if audience.is_empty() {
            return Ok(());
        }
        let has_aud = self.cred.claims.is_some_and(|c| c.contains_key("aud"));
        match self.registered.as_ref() {
            Some(r) if !r.aud.is_empty() || has_aud => {
                if !r.aud.contains(audience) {
                    return Err(Refusal(format!(
                        "the service account token's aud {:?} does not contain the role's \
                         audience {audience:?}",
                        r.aud
                    )));
                }
                self.passed
                    .push(format!("aud contains the role's audience {audience:?}"));
            }
            _ => self.admission.conditions.push(format!(
                "the service account token's audience includes {audience:?} (a projected token \
                 requested for that audience)"
            )),
        }
        Ok(())
    }

    /// The alias: the service account UID (`alias_name_source` `serviceaccount_uid`, the
    /// default) or `<namespace>/<name>` (`serviceaccount_name`).
    fn alias(&mut self) -> Result<Alias, Refusal> {
        let ServiceAccount { name, namespace } = self.account;
        let uid = self
            .cred
            .service_account_uid
            .map(str::to_owned)
            .or_else(|| self.cred.claims.and_then(uid_from_claims));
        let mut metadata = BTreeMap::new();
        metadata.insert("service_account_name".to_owned(), name.to_owned());
        metadata.insert("service_account_namespace".to_owned(), namespace.to_owned());
        if let Some(u) = &uid {
            metadata.insert("service_account_uid".to_owned(), u.clone());
        }
        let accessor = self.mount.accessor.clone();
        let known = |name: String, metadata| Alias {
            mount_accessor: accessor.clone(),
            name,
            name_known: true,
            metadata,
            match_metadata: BTreeMap::new(),
        };
        match self.role.alias_name_source.as_deref().unwrap_or("") {
            "" | "serviceaccount_uid" => match uid {
                Some(uid) => Ok(known(uid, metadata)),
                None => {
                    self.admission.unknowns.push(format!(
                        "the UID of service account {namespace}/{name} (the alias name of role \
                         {:?}); the entity is found by the alias metadata \
                         service_account_name/namespace",
                        self.role.name
                    ));
                    Ok(Alias {
                        mount_accessor: accessor.clone(),
                        name: format!("<uid of {namespace}/{name}>"),
                        name_known: false,
                        match_metadata: metadata.clone(),
                        metadata,
                    })
                }
            },
            "serviceaccount_name" => Ok(known(format!("{namespace}/{name}"), metadata)),
            other => Err(Refusal(format!(
                "role {:?} has alias_name_source {other:?}, which the server rejects at login",
                self.role.name
            ))),
        }
    }

    fn finish(self, server: &ServerInfo) -> Admission {
        let Judgement {
            mount,
            role,
            account: ServiceAccount { name, namespace },
            mut admission,
            passed,
            ..
        } = self;
        admission.token = resolve(&role.token, role.token.configured_policies(), mount, server);
        admission.why = match admission.verdict {
            Verdict::Unknown => format!(
                "role {:?}: {}; namespace {namespace:?} is not listed, so the namespace selector \
                 decides",
                role.name,
                passed.join("; ")
            ),
            _ => format!(
                "role {:?} admits {namespace}/{name}: {}",
                role.name,
                passed.join("; ")
            ),
        };
        admission
    }
}

fn uid_from_claims(claims: &serde_json::Map<String, Value>) -> Option<String> {
    if let Some(Value::String(u)) = claims
        .get("kubernetes.io")
        .and_then(|k| k.get("serviceaccount"))
        .and_then(|s| s.get("uid"))
    {
        return Some(u.clone());
    }
    claims
        .get("kubernetes.io/serviceaccount/service-account.uid")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn show_names(xs: &[String]) -> String {
    format!(
        "[{}]",
        xs.iter()
            .map(|x| format!("{x:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}
