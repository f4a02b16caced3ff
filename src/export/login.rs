//! The exporter's own login, so a CI job can export with its workload identity (a JWT from the
//! CI's OIDC provider, or an AppRole) instead of a long-lived token.
//!
//! The token obtained is revoked when the export ends (`auth/token/revoke-self`, allowed by
//! the default policy); that is the exporter's own credential, not a change to the estate.

use serde_json::{json, Value};

use super::client::{Api, ApiError};
use super::connect::{check_header_safe, Credentials};
use super::error::ExportError;

/// Log in when the credentials ask for it; returns the token to use, or `None` for a plain
/// token (already in the client).
pub(crate) async fn login(api: &Api, creds: &Credentials) -> Result<Option<String>, ExportError> {
    let (namespace, mount, body, what) = match creds {
        Credentials::Token { .. } => return Ok(None),
        Credentials::Jwt {
            mount,
            role,
            jwt,
            namespace,
        } => (
            namespace,
            mount,
            json!({ "role": role, "jwt": jwt }),
            format!("JWT login to auth/{mount}/ as role {role:?}"),
        ),
        Credentials::AppRole {
            mount,
            role_id,
            secret_id,
            namespace,
        } => {
            let mut body = json!({ "role_id": role_id });
            if let Some(s) = secret_id {
                body["secret_id"] = Value::String(s.clone());
            }
            (
                namespace,
                mount,
                body,
                format!("AppRole login to auth/{mount}/"),
            )
        }
    };
    let ns_text = if namespace.is_empty() {
        String::new()
    } else {
        format!(" in namespace {namespace}")
    };
    let answer = api
        .post(namespace, &format!("auth/{mount}/login"), &body)
        .await
        .map_err(|e| match &e {
            ApiError::Transport(m) => ExportError::Unreachable(format!(
                "{what}{ns_text} failed: no answer from the server ({m})"
            )),
            other if other.is_fatal() => ExportError::Sealed(format!(
                "{what}{ns_text} failed: the server is sealed or unavailable ({})",
                other.reason()
            )),
            other => ExportError::Auth(format!(
                "{what}{ns_text} was refused (HTTP {}: {}). Check the role name, the auth mount \
                 (--auth-mount), the namespace (--auth-namespace) and that the credential is \
                 current",
                other.status().unwrap_or(0),
                api.redactor().clean(&other.reason())
            )),
        })?;
    let token = answer
        .get("auth")
        .and_then(|a| a.get("client_token"))
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ExportError::Auth(format!(
                "{what}{ns_text} answered without a token (is auth/{mount}/ really a login \
                 endpoint?)"
            ))
        })?
        .to_owned();
    api.redactor().add(&token);
    check_header_safe(&token, "the token returned by the login")?;
    Ok(Some(token))
}

/// Revoke the token obtained by [`login`]; best effort (it expires anyway).
pub(crate) async fn revoke(api: &Api, namespace: &str) {
    let _ = api
        .post(namespace, "auth/token/revoke-self", &json!({}))
        .await;
}
