//! Server facts: flavour, version, seal state, system TTLs; and the token check.
//!
//! `sys/seal-status` (unauthenticated) gives the version and whether the server is sealed.
//! `sys/health` tells Vault from OpenBao: Vault reports an `enterprise` field, OpenBao does not
//! (and OpenBao versions start at 2). The system TTLs come from the tune of the `cubbyhole/`
//! mount, which exists in every namespace and cannot be tuned, so its tune shows the system
//! defaults.

use serde_json::Value;

use crate::model::{redact_address, Affects, Flavor, ServerInfo};

use super::client::{data, Api, ApiError, Op};
use super::coverage::{fatal, GapSpec};
use super::error::ExportError;
use super::Ctx;

/// Read the server facts. Errors when the server is unreachable or sealed.
pub(crate) async fn read_server(
    api: &Api,
    address: &str,
    forced: Option<Flavor>,
) -> Result<ServerInfo, ExportError> {
    let status = api
        .call("", Op::Read, "sys/seal-status")
        .await
        .map_err(|e| unreachable(&e, address))?;
    if status.get("sealed").and_then(Value::as_bool) == Some(true) {
        return Err(ExportError::Sealed(format!(
            "the server at {} is sealed; unseal it, then run the export again",
            redact_address(address)
        )));
    }
    let version = status
        .get("version")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let health = api
        .probe("", "sys/health", "standbyok=true&perfstandbyok=true")
        .await
        .ok();
    let flavor = forced.unwrap_or_else(|| detect_flavor(&version, health.as_ref()));
    Ok(ServerInfo {
        flavor,
        version,
        address: redact_address(address),
        ..ServerInfo::default()
    })
}

/// Vault reports `enterprise` in `sys/health`; OpenBao does not, and its versions start at 2.
pub(crate) fn detect_flavor(version: &str, health: Option<&Value>) -> Flavor {
    if health.is_some_and(|h| h.get("enterprise").is_some()) {
        return Flavor::Vault;
    }
    let major: u32 = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(2);
    if major >= 2 {
        Flavor::OpenBao
    } else {
        Flavor::Vault
    }
}

/// System default and max lease TTLs, from the `cubbyhole/` tune of the export's top namespace.
pub(crate) async fn read_system_ttls(
    ctx: &Ctx,
    ns: &str,
    server: &mut ServerInfo,
) -> Result<(), ExportError> {
    let endpoint = "sys/mounts/cubbyhole/tune";
    match ctx.api.call(ns, Op::Read, endpoint).await {
        Ok(v) => {
            let body = data(&v);
            server.default_lease_ttl = body.get("default_lease_ttl").and_then(Value::as_i64);
            server.max_lease_ttl = body.get("max_lease_ttl").and_then(Value::as_i64);
            Ok(())
        }
        Err(e) => ctx.coverage.record(
            GapSpec {
                ns,
                endpoint,
                op: Op::Read,
                affects: Affects::Server,
                mount: None,
                object: None,
            },
            &e,
        ),
    }
}

/// Check that the server accepts the token before walking anything: a bad or expired token
/// must be a clear error, not a snapshot full of gaps. `auth/token/lookup-self` is allowed by
/// the default policy and by the shipped exporter policy; a token that has neither is accepted
/// if it can read `sys/mounts`.
pub(crate) async fn check_token(api: &Api, ns: &str, source: &str) -> Result<(), ExportError> {
    let first = match api.call(ns, Op::Read, "auth/token/lookup-self").await {
        // The answer holds the token itself: drop it unread.
        Ok(_) => return Ok(()),
        Err(e) => e,
    };
    if first.is_fatal() {
        return Err(fatal(&first, ns, "auth/token/lookup-self"));
    }
    match api.call(ns, Op::Read, "sys/mounts").await {
        Ok(_) => Ok(()),
        Err(e) if e.is_fatal() => Err(fatal(&e, ns, "sys/mounts")),
        Err(e) if e.is_denied() || first.is_denied() => Err(ExportError::Auth(format!(
            "the server refused the token from {source} (HTTP {} on auth/token/lookup-self and \
             sys/mounts: {}). It is invalid or expired, or its policies grant nothing the export \
             reads. Give the exporter a valid token (VAULT_TOKEN/BAO_TOKEN, --token-file, or log \
             in with --jwt-role or --approle) whose policy is docs/exporter-policy.hcl",
            first.status().unwrap_or(0),
            first.reason()
        ))),
        Err(_) => Ok(()),
    }
}

fn unreachable(e: &ApiError, address: &str) -> ExportError {
    let address = redact_address(address);
    match e {
        ApiError::Transport(m) => ExportError::Unreachable(format!(
            "cannot reach the server at {address}: {m}. Check --address (or VAULT_ADDR/BAO_ADDR), \
             the network, and the TLS settings (VAULT_CACERT, VAULT_CAPATH, VAULT_SKIP_VERIFY)"
        )),
        other if other.is_fatal() => ExportError::Sealed(format!(
            "the server at {address} is sealed or unavailable (HTTP {}: {}); unseal it or wait \
             for an active node, then run the export again",
            other.status().unwrap_or(0),
            other.reason()
        )),
        other => ExportError::Unreachable(format!(
            "the server at {address} did not answer sys/seal-status as Vault or OpenBao does \
             (HTTP {}: {}); check --address",
            other
                .status()
                .map(|s| s.to_string())
                .unwrap_or_else(|| "-".into()),
            other.reason()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flavors() {
        assert_eq!(
            detect_flavor("2.7.2", Some(&json!({"version": "2.7.2"}))),
            Flavor::OpenBao
        );
        assert_eq!(
            detect_flavor("1.18.0", Some(&json!({"enterprise": false}))),
            Flavor::Vault
        );
        assert_eq!(detect_flavor("1.15.2", None), Flavor::Vault);
        assert_eq!(detect_flavor("", None), Flavor::OpenBao);
    }
}
