//! Token roles (`auth/token/roles/<r>`; `internal/vault/token_store.go`,
//! `resolveTokenPolicies`). A pipeline holding a token minted from role R is admitted for R only;
//! the token's policies are the role's `allowed_policies` (the default when a creation request
//! names none; the request may pick any subset, or names matching `allowed_policies_glob`),
//! `default` unless disallowed or `token_no_default_policy`. A role with no allowed list gives the
//! parent token's policies (unknown here).

use super::glob::{go_glob, list_contains_glob};
use super::token::{resolve, sanitize_sorted};
use super::{Admission, Alias, Credential, Verdict};
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
    let mut admission = Admission::new(
        Verdict::Admitted,
        format!(
            "the pipeline holds a token created from token role {:?}",
            role.name
        ),
    );
    admission
        .conditions
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
    admission.token = resolve(&fields, &raw, mount, server);
    admission.token.unresolved_policies = unresolved;
    if role.renewable == Some(false) {
        admission.token.renewable = false;
    }
    entity_alias(admission, mount, role, cred.entity_alias)
}

/// The entity a token of the role carries: with `allowed_entity_aliases`, the creation request
/// may name an alias (`entity_alias`, globs allowed in the list); the token then carries the
/// entity of that alias on the token mount (created on first use), with its identity policies.
fn entity_alias(
    mut a: Admission,
    mount: &AuthMount,
    role: &TokenRole,
    named: Option<&str>,
) -> Admission {
    if role.allowed_entity_aliases.is_empty() {
        return a;
    }
    let Some(name) = named else {
        a.unknowns.push(format!(
            "token role {:?} allows entity aliases {:?}: the token may carry any of those \
             entities' identity policies (set entity_alias in the inventory)",
            role.name, role.allowed_entity_aliases
        ));
        return a;
    };
    let allowed = role
        .allowed_entity_aliases
        .iter()
        .any(|p| p.eq_ignore_ascii_case(name) || go_glob(p, name));
    if !allowed {
        return Admission::refused(format!(
            "entity alias {name:?} is not in allowed_entity_aliases {:?} of token role {:?}: \
             the server refuses to create the token",
            role.allowed_entity_aliases, role.name
        ));
    }
    a.alias = Some(Alias {
        mount_accessor: mount.accessor.clone(),
        name: name.to_owned(),
        name_known: true,
        metadata: Default::default(),
        match_metadata: Default::default(),
    });
    a
}
