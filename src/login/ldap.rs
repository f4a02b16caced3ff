//! LDAP (`internal/builtin/credential/ldap/path_login.go`, `backend.go` `Login`). One login per
//! user: the user binds to the directory with its password, the plugin collects the user's local
//! groups (`users/<u>.groups`) and directory groups, and the token gets the mount config's
//! `token_policies` plus the policies of every `groups/<g>` entry among those groups plus the
//! `users/<u>` entry's policies. Token settings (TTLs, CIDRs …) come from the mount config. Names
//! are lowercased unless `case_sensitive_names`. Every group name becomes a group alias.
//!
//! Here every `users/` and `groups/` entry that applies to the user's login is admitted, each
//! carrying the token of the whole login.

use super::token::resolve;
use super::{Admission, Alias, Credential, Verdict};
use crate::model::{AuthMount, LdapUser, RoleRef, ServerInfo, TokenFields};
use std::collections::BTreeMap;

struct Login<'m> {
    user: String,
    entry: Option<&'m LdapUser>,
    /// Local groups then directory groups, as the plugin reports them (group aliases).
    all_groups: Vec<String>,
    admission: Admission,
}

fn case_sensitive(mount: &AuthMount) -> bool {
    mount
        .config
        .as_ref()
        .and_then(|c| c.get("case_sensitive_names"))
        .and_then(crate::model::de::value_as_bool)
        .unwrap_or(false)
}

fn same(a: &str, b: &str, cs: bool) -> bool {
    if cs {
        a == b
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

fn login<'m>(
    mount: &'m AuthMount,
    cred: &Credential<'_>,
    server: &ServerInfo,
) -> Option<Login<'m>> {
    let raw_user = cred.user?.trim();
    let case_sensitive_names = case_sensitive(mount);
    let user = if case_sensitive_names {
        raw_user.to_owned()
    } else {
        raw_user.to_lowercase()
    };
    let entry = mount
        .roles
        .ldap_users
        .iter()
        .find(|u| same(&u.name, &user, case_sensitive_names));
    let mut all_groups: Vec<String> = entry.map(|e| e.groups.clone()).unwrap_or_default();
    all_groups.extend(cred.groups.iter().cloned());

    let mut policies: Vec<String> = Vec::new();
    for g in &all_groups {
        if let Some(ge) = mount
            .roles
            .ldap_groups
            .iter()
            .find(|e| same(&e.name, g, case_sensitive_names))
        {
            policies.extend(ge.token.configured_policies().iter().cloned());
        }
    }
    if let Some(e) = entry {
        policies.extend(e.token.configured_policies().iter().cloned());
    }
    let cfg: TokenFields = mount
        .config
        .as_ref()
        .and_then(|c| serde_json::from_value(serde_json::Value::Object(c.clone())).ok())
        .unwrap_or_default();
    let mut raw = cfg.configured_policies().to_vec();
    raw.extend(policies);

    let mut admission = Admission::new(Verdict::Admitted, String::new());
    let url = mount
        .config_str("url")
        .map(|u| format!(" ({u})"))
        .unwrap_or_default();
    admission.conditions.push(format!(
        "user {user:?} binds to the directory{url} with its password"
    ));
    admission.require_login_cidrs(
        "token_bound_cidrs of the mount config",
        &cfg.token_bound_cidrs,
    );
    if cred.groups.is_empty() {
        admission.unknowns.push(format!(
            "the directory groups of LDAP user {user:?} (only local groups are counted)"
        ));
    }
    let username_as_alias = mount
        .config
        .as_ref()
        .and_then(|c| c.get("username_as_alias"))
        .and_then(crate::model::de::value_as_bool)
        .unwrap_or(false);
    let mut metadata = BTreeMap::new();
    metadata.insert("name".to_owned(), user.clone());
    admission.alias = Some(if username_as_alias {
        Alias {
            mount_accessor: mount.accessor.clone(),
            name: user.clone(),
            name_known: true,
            metadata,
            match_metadata: BTreeMap::new(),
        }
    } else {
        let attr = mount.config_str("userattr").unwrap_or("cn");
        admission.unknowns.push(format!(
            "the alias name of LDAP user {user:?} is its directory attribute {attr:?}; the entity \
             is found by alias metadata name = {user:?}"
        ));
        Alias {
            mount_accessor: mount.accessor.clone(),
            name: format!("<{attr} of {user}>"),
            name_known: false,
            match_metadata: metadata.clone(),
            metadata,
        }
    });
    let mut seen = Vec::new();
    for g in &all_groups {
        if !g.is_empty() && !seen.contains(g) {
            seen.push(g.clone());
        }
    }
    admission.group_aliases = seen;
    admission.token = resolve(&cfg, &raw, mount, server);
    Some(Login {
        user,
        entry,
        all_groups,
        admission,
    })
}

pub(super) fn admit(
    mount: &AuthMount,
    role: RoleRef<'_>,
    cred: &Credential<'_>,
    server: &ServerInfo,
) -> Admission {
    let Some(ldap_login) = login(mount, cred, server) else {
        return Admission::unknown(
            "the pipeline's LDAP user is not known",
            format!(
                "whether LDAP entry {:?} applies to the pipeline's user",
                role.name()
            ),
        );
    };
    let case_sensitive_names = case_sensitive(mount);
    let mut admission = ldap_login.admission;
    match role {
        RoleRef::LdapUser(u) => {
            if !same(&u.name, &ldap_login.user, case_sensitive_names) {
                return Admission::refused(format!(
                    "the pipeline logs in as LDAP user {:?}, not {:?}",
                    ldap_login.user, u.name
                ));
            }
            admission.why = format!(
                "user entry {:?} applies to the pipeline's LDAP login",
                u.name
            );
        }
        RoleRef::LdapGroup(g) => {
            let local = ldap_login.entry.is_some_and(|e| {
                e.groups
                    .iter()
                    .any(|x| same(x, &g.name, case_sensitive_names))
            });
            if local {
                admission.why = format!(
                    "group entry {:?} applies: users/{} lists it as a local group",
                    g.name, ldap_login.user
                );
            } else if ldap_login
                .all_groups
                .iter()
                .any(|x| same(x, &g.name, case_sensitive_names))
            {
                admission.why = format!(
                    "group entry {:?} applies: user {:?} is in directory group {:?}",
                    g.name, ldap_login.user, g.name
                );
            } else if cred.groups.is_empty() {
                admission.verdict = Verdict::Unknown;
                admission.why = format!(
                    "group entry {:?} applies only if user {:?} is in that directory group, which \
                     is not known",
                    g.name, ldap_login.user
                );
                admission.unknowns.push(format!(
                    "whether LDAP user {:?} is in directory group {:?}",
                    ldap_login.user, g.name
                ));
            } else {
                return Admission::refused(format!(
                    "user {:?} is not in group {:?} (its groups: {:?})",
                    ldap_login.user, g.name, ldap_login.all_groups
                ));
            }
        }
        other => {
            return Admission::refused(format!(
                "{:?} is not an LDAP user or group entry",
                other.name()
            ))
        }
    }
    admission
}

/// The directory login of a user without a `users/` entry (named after the user), or `None`
/// when the user has an entry (its entry's admission covers the login) or is unknown.
pub(super) fn bare_login(
    mount: &AuthMount,
    cred: &Credential<'_>,
    server: &ServerInfo,
) -> Option<(String, Admission)> {
    let ldap_login = login(mount, cred, server)?;
    if ldap_login.entry.is_some() {
        return None;
    }
    let mut admission = ldap_login.admission;
    admission.why = format!(
        "any directory user can log in: user {:?} has no users/ entry and gets the mount's and \
         its groups' policies",
        ldap_login.user
    );
    Some((ldap_login.user, admission))
}
