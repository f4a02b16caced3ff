//! TLS certificate entries (`internal/builtin/credential/cert/path_login.go`,
//! `matchesConstraints`). Every constraint list is any-of with go-glob patterns and an empty list
//! is unconstrained; all constraints are AND'ed:
//! `allowed_names` (CN, DNS SANs or email SANs), `allowed_common_names`, `allowed_dns_sans`,
//! `allowed_email_sans`, `allowed_uri_sans`, `allowed_organizational_units`,
//! `required_extensions`. The certificate must chain to the entry's `certificate` (a condition)
//! and the entry's `token_bound_cidrs` must contain the client. The alias name is the CN.
//!
//! A client certificate can reach every entry it satisfies (the login may name the entry).

use super::glob::go_glob;
use super::token::resolve;
use super::{Admission, Alias, Credential, Verdict};
use crate::model::{AuthMount, CertRole, ServerInfo};
use std::collections::BTreeMap;

enum Check {
    Pass(String),
    Fail(String),
    Unknown(String),
}

pub(super) fn admit(
    mount: &AuthMount,
    entry: &CertRole,
    cred: &Credential<'_>,
    server: &ServerInfo,
) -> Admission {
    let cn_vec: Option<Vec<String>> = cred.common_name.map(|c| vec![c.to_owned()]);
    let common_names = cn_vec.as_deref();
    let checks = [
        constraint(
            "allowed_names",
            &entry.allowed_names,
            &[
                ("CN", common_names),
                ("DNS SAN", cred.dns_sans),
                ("email SAN", cred.email_sans),
            ],
        ),
        constraint(
            "allowed_common_names",
            &entry.allowed_common_names,
            &[("CN", common_names)],
        ),
        constraint(
            "allowed_dns_sans",
            &entry.allowed_dns_sans,
            &[("DNS SAN", cred.dns_sans)],
        ),
        constraint(
            "allowed_email_sans",
            &entry.allowed_email_sans,
            &[("email SAN", cred.email_sans)],
        ),
        constraint(
            "allowed_uri_sans",
            &entry.allowed_uri_sans,
            &[("URI SAN", cred.uri_sans)],
        ),
        constraint(
            "allowed_organizational_units",
            &entry.allowed_organizational_units,
            &[("OU", cred.organizational_units)],
        ),
        if entry.required_extensions.is_empty() {
            None
        } else {
            Some(Check::Unknown(format!(
                "required_extensions {:?} (certificate extensions are not modelled)",
                entry.required_extensions
            )))
        },
    ];
    let mut passed = Vec::new();
    let mut unknown = Vec::new();
    for c in checks.into_iter().flatten() {
        match c {
            Check::Pass(s) => passed.push(s),
            Check::Fail(s) => return Admission::refused(s),
            Check::Unknown(s) => unknown.push(s),
        }
    }
    let mut admission = Admission::new(Verdict::Admitted, String::new());
    admission.conditions.push(format!(
        "the client certificate chains to certificate entry {:?}'s certificate and is not \
         revoked{}",
        entry.name,
        if entry
            .extra
            .get("ocsp_enabled")
            .and_then(serde_json::Value::as_bool)
            == Some(true)
        {
            " (OCSP checked)"
        } else {
            ""
        }
    ));
    admission.require_login_cidrs("token_bound_cidrs", &entry.token.token_bound_cidrs);
    match cred.common_name {
        Some("") => {
            return Admission::refused(
                "the certificate has no CN: the login's alias name would be empty, which the \
                 server refuses",
            )
        }
        Some(common_name) => {
            admission.alias = Some(Alias {
                mount_accessor: mount.accessor.clone(),
                name: common_name.to_owned(),
                name_known: true,
                metadata: BTreeMap::new(),
                match_metadata: BTreeMap::new(),
            })
        }
        None => admission
            .unknowns
            .push("the client certificate's CN (the alias name)".to_owned()),
    }
    admission.token = resolve(
        &entry.token,
        entry.token.configured_policies(),
        mount,
        server,
    );
    if !unknown.is_empty() {
        admission.verdict = Verdict::Unknown;
        admission.why = format!(
            "certificate entry {:?}: not decidable offline: {}",
            entry.name,
            unknown.join("; ")
        );
        admission.unknowns.extend(unknown);
    } else if passed.is_empty() {
        admission.why = format!(
            "certificate entry {:?} constrains no name: any certificate it trusts is admitted",
            entry.name
        );
    } else {
        admission.why = format!(
            "certificate entry {:?} admits the certificate: {}",
            entry.name,
            passed.join("; ")
        );
    }
    admission
}

/// One any-of constraint; `None` when the list is empty (unconstrained).
fn constraint(
    field: &str,
    patterns: &[String],
    candidates: &[(&str, Option<&[String]>)],
) -> Option<Check> {
    if patterns.is_empty() {
        return None;
    }
    let mut unknown_kinds: Vec<&str> = Vec::new();
    for p in patterns {
        for (kind, vals) in candidates {
            match vals {
                Some(vals) => {
                    for v in *vals {
                        if go_glob(p, v) {
                            return Some(Check::Pass(format!(
                                "{field} {p:?} matches {kind} {v:?}"
                            )));
                        }
                    }
                }
                None => {
                    if !unknown_kinds.contains(kind) {
                        unknown_kinds.push(kind);
                    }
                }
            }
        }
    }
    Some(if unknown_kinds.is_empty() {
        Check::Fail(format!(
            "the certificate's {} match none of {field} {patterns:?}",
            candidates
                .iter()
                .map(|(k, _)| *k)
                .collect::<Vec<_>>()
                .join(" / ")
        ))
    } else {
        Check::Unknown(format!(
            "whether the certificate's {} match {field} {patterns:?}",
            unknown_kinds.join(" / ")
        ))
    })
}
