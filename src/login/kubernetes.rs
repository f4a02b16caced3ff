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
use super::{Admission, Alias, Credential, Verdict};
use crate::model::{AuthMount, KubernetesRole, ServerInfo};
use serde_json::Value;
use std::collections::BTreeMap;

pub(super) fn admit(
    mount: &AuthMount,
    role: &KubernetesRole,
    cred: &Credential<'_>,
    server: &ServerInfo,
) -> Admission {
    let (Some(name), Some(ns)) = (cred.service_account, cred.service_account_namespace) else {
        return Admission::unknown(
            "the pipeline's service account (name and namespace) is not known",
            format!(
                "the Kubernetes service account of the pipeline (needed to judge role {:?})",
                role.name
            ),
        );
    };
    let mut a = Admission::new(Verdict::Admitted, String::new());
    a.require_login_cidrs("token_bound_cidrs", &role.token.token_bound_cidrs);
    let mut passed = Vec::new();
    let strict = super::jwt::strict_registered_keys(server);
    let reg = match cred
        .claims
        .map(|c| Registered::parse(c, strict))
        .transpose()
    {
        Ok(r) => r,
        Err(e) => return Admission::refused(e.to_string()),
    };

    // Issuer: checked only when validation is explicitly enabled and an issuer is configured.
    let iss_validation = mount
        .config
        .as_ref()
        .and_then(|c| c.get("disable_iss_validation"))
        .and_then(crate::model::de::value_as_bool)
        .map(|disabled| !disabled)
        .unwrap_or(false);
    if let (true, Some(issuer)) = (iss_validation, mount.config_str("issuer")) {
        match reg.as_ref().filter(|r| r.iss_listed) {
            Some(r) if r.iss.as_deref() == Some(issuer) => {
                passed.push(format!("iss {issuer:?} is the configured issuer"))
            }
            Some(r) => {
                return Admission::refused(format!(
                    "the service account token's iss {:?} is not the configured issuer {issuer:?}",
                    r.iss.as_deref().unwrap_or("")
                ))
            }
            None => a.conditions.push(format!(
                "the service account token's iss is {issuer:?} (issuer validation is enabled)"
            )),
        }
    }

    // Names.
    let names = &role.bound_service_account_names;
    if names.is_empty() {
        return Admission::refused(format!(
            "role {:?} has no bound_service_account_names: the server cannot admit any login",
            role.name
        ));
    }
    if names.len() == 1 && names[0] == "*" {
        passed.push("bound_service_account_names is \"*\"".to_owned());
    } else {
        if list_contains_glob(names, name) {
            passed.push(format!(
                "service account {name:?} matches bound_service_account_names {}",
                show_names(names)
            ));
        } else {
            return Admission::refused(format!(
                "service account {name:?} matches none of bound_service_account_names {}",
                show_names(names)
            ));
        }
    }

    // Namespaces, OR'ed with the selector.
    let nss = &role.bound_service_account_namespaces;
    let listed = !nss.is_empty() && (nss[0] == "*" || list_contains_glob(nss, ns));
    match listed {
        true => passed.push(format!(
            "namespace {ns:?} matches bound_service_account_namespaces {}",
            show_names(nss)
        )),
        false
            if !role
                .bound_service_account_namespace_selector
                .trim()
                .is_empty() =>
        {
            let sel = role.bound_service_account_namespace_selector.trim();
            a.verdict = Verdict::Unknown;
            a.conditions.push(format!(
                "namespace {ns:?} carries labels matching the selector {sel}"
            ));
            a.unknowns.push(format!(
                "whether Kubernetes namespace {ns:?} matches role {:?}'s \
                 bound_service_account_namespace_selector {sel} (needs the cluster)",
                role.name
            ));
        }
        false => {
            return Admission::refused(if nss.is_empty() {
                format!(
                    "role {:?} binds no namespace (neither a list nor a selector)",
                    role.name
                )
            } else {
                format!(
                    "namespace {ns:?} matches none of bound_service_account_namespaces {}",
                    show_names(nss)
                )
            })
        }
    }

    // Audience.
    if !role.audience.is_empty() {
        match reg.as_ref() {
            Some(r) if !r.aud.is_empty() || cred.claims.is_some_and(|c| c.contains_key("aud")) => {
                if r.aud.contains(&role.audience) {
                    passed.push(format!(
                        "aud contains the role's audience {:?}",
                        role.audience
                    ));
                } else {
                    return Admission::refused(format!(
                        "the service account token's aud {:?} does not contain the role's \
                         audience {:?}",
                        r.aud, role.audience
                    ));
                }
            }
            _ => a.conditions.push(format!(
                "the service account token's audience includes {:?} (a projected token \
                 requested for that audience)",
                role.audience
            )),
        }
    }
    let host = mount
        .config_str("kubernetes_host")
        .map(|h| format!(" at {h}"))
        .unwrap_or_default();
    a.conditions.push(format!(
        "the cluster's TokenReview API{host} accepts the service account token (a live token of \
         {ns}/{name})"
    ));

    // Alias.
    let uid = cred
        .service_account_uid
        .map(str::to_owned)
        .or_else(|| cred.claims.and_then(uid_from_claims));
    let mut metadata = BTreeMap::new();
    metadata.insert("service_account_name".to_owned(), name.to_owned());
    metadata.insert("service_account_namespace".to_owned(), ns.to_owned());
    if let Some(u) = &uid {
        metadata.insert("service_account_uid".to_owned(), u.clone());
    }
    let source = role.alias_name_source.as_deref().unwrap_or("");
    a.alias = Some(match source {
        "" | "serviceaccount_uid" => match uid {
            Some(u) => Alias {
                mount_accessor: mount.accessor.clone(),
                name: u,
                name_known: true,
                metadata,
                match_metadata: BTreeMap::new(),
            },
            None => {
                a.unknowns.push(format!(
                    "the UID of service account {ns}/{name} (the alias name of role {:?}); the \
                     entity is found by the alias metadata service_account_name/namespace",
                    role.name
                ));
                Alias {
                    mount_accessor: mount.accessor.clone(),
                    name: format!("<uid of {ns}/{name}>"),
                    name_known: false,
                    match_metadata: metadata.clone(),
                    metadata,
                }
            }
        },
        "serviceaccount_name" => Alias {
            mount_accessor: mount.accessor.clone(),
            name: format!("{ns}/{name}"),
            name_known: true,
            metadata,
            match_metadata: BTreeMap::new(),
        },
        other => {
            return Admission::refused(format!(
                "role {:?} has alias_name_source {other:?}, which the server rejects at login",
                role.name
            ))
        }
    });

    a.token = resolve(&role.token, role.token.configured_policies(), mount, server);
    a.why = match a.verdict {
        Verdict::Unknown => format!(
            "role {:?}: {}; namespace {ns:?} is not listed, so the namespace selector decides",
            role.name,
            passed.join("; ")
        ),
        _ => format!(
            "role {:?} admits {ns}/{name}: {}",
            role.name,
            passed.join("; ")
        ),
    };
    a
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
