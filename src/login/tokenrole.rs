//! Token roles (`auth/token/roles/<r>`; `internal/vault/token_store.go`,
//! `resolveTokenPolicies`). A pipeline holding a token minted from role R is admitted for R only;
//! the token's policies are the role's `allowed_policies` (the default when a creation request
//! names none; the request may pick any subset, or names matching `allowed_policies_glob`),
//! `default` unless disallowed or `token_no_default_policy`. A role with no allowed list gives the
//! parent token's policies (unknown here).

use super::glob::list_contains_glob;
use super::token::{resolve, sanitize_sorted};
use super::{Admission, Credential, Verdict};
use crate::model::{AuthMount, ServerInfo, TokenRole};

pub(super) fn admit(
    mount: &AuthMount,
    role: &TokenRole,
    cred: &Credential<'_>,
    server: &ServerInfo,
) -> Admission {
    let Some(held) = cred.role_name else {
        return Admission::unknown(
            "which token role minted the pipeline's token is not known",
            format!(
                "whether the pipeline's token was created from token role {:?} (set role_name)",
                role.name
            ),
        );
    };
    if !held.eq_ignore_ascii_case(&role.name) {
        return Admission::refused(format!(
            "the pipeline's token was created from token role {held:?}, not {:?}",
            role.name
        ));
    }
    let mut a = Admission::new(
        Verdict::Admitted,
        format!(
            "the pipeline holds a token created from token role {:?}",
            role.name
        ),
    );
    a.conditions
        .push("the pipeline holds a live token (static token)".to_owned());
    let restricted = !role.allowed_policies.is_empty()
        || !role.disallowed_policies.is_empty()
        || !role.allowed_policies_glob.is_empty()
        || !role.disallowed_policies_glob.is_empty();
    let add_default = !role.token.token_no_default_policy.unwrap_or(false)
        && !role.disallowed_policies.iter().any(|p| p == "default")
        && !list_contains_glob(&role.disallowed_policies_glob, "default");
    let mut fields = role.token.clone();
    fields.token_no_default_policy = Some(!add_default);
    let mut unresolved = Vec::new();
    let raw: Vec<String> = if restricted {
        if !role.allowed_policies_glob.is_empty() {
            for g in &role.allowed_policies_glob {
                unresolved.push(format!("{g} (allowed_policies_glob)"));
            }
        }
        if role.allowed_policies.is_empty() && role.allowed_policies_glob.is_empty() {
            unresolved.push("<the parent token's policies>".to_owned());
        }
        sanitize_sorted(&role.allowed_policies, false)
    } else {
        unresolved.push("<the parent token's policies>".to_owned());
        Vec::new()
    };
    a.token = resolve(&fields, &raw, mount, server);
    a.token.unresolved_policies = unresolved;
    if role.renewable == Some(false) {
        a.token.renewable = false;
    }
    if !role.allowed_entity_aliases.is_empty() {
        a.unknowns.push(format!(
            "token role {:?} allows entity aliases {:?}: the token may carry any of those \
             entities' identity policies",
            role.name, role.allowed_entity_aliases
        ));
    }
    a
}
