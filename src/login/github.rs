//! GitHub (`verifyCredentials` and `pathLogin` in vault builtin/credential/github/path_login.go).
//! One login per user: the personal access token's user must be a member of the configured
//! organisation (matched by `organization_id`, which the plugin pins from `organization` on the
//! first login when unset); the token gets the config's `token_policies`, plus the policies of
//! `map/teams/<key>` for every team of that organisation the user is in (looked up by team name
//! and by slug), plus `map/users/<user>`; each map's `default` entry applies to every login
//! (`PolicyMap.Policies` in vault sdk/framework/policy_map.go). Keys are lowercased on write and
//! on lookup (`PathMap`, not case-sensitive). Token settings and `token_bound_cidrs` (checked at
//! login) come from the config.
//!
//! Here every `map/` entry that applies to the user's login is admitted, each carrying the token
//! of the whole login; the login itself appears under the user's name when it has no user entry.

use super::bindings::show;
use super::identity::GithubIdentity;
use super::token::resolve;
use super::{Admission, Alias, Credential, Verdict};
use crate::model::{AuthMount, GithubMapKind, GithubMapping, OtherRole, ServerInfo, TokenFields};
use std::collections::BTreeMap;

/// A user's login on the mount, with its whole token.
struct Login {
    user: String,
    /// The user's teams (lowercased names and slugs), empty when not known.
    team_keys: Vec<String>,
    admission: Admission,
}

/// GitHub's team slug of a name: lowercase, every run of other than letters, digits, `-` and `_`
/// replaced by `-`, no `-` at either end.
pub(crate) fn team_slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut dash = false;
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() || c == '_' || c == '-' {
            out.push(c);
            dash = false;
        } else if !dash {
            out.push('-');
            dash = true;
        }
    }
    out.trim_matches('-').to_owned()
}

fn login(
    mount: &AuthMount,
    cred: &Credential<'_>,
    server: &ServerInfo,
) -> Result<Login, Box<Admission>> {
    let Some(user) = cred.github.and_then(|g| g.user.as_deref()) else {
        return Err(Box::new(Admission::unknown(
            "the pipeline's GitHub user is not known",
            "the GitHub user whose token the pipeline holds",
        )));
    };
    let Some(config) = &mount.config else {
        return Err(Box::new(Admission::unknown(
            format!(
                "the config of GitHub mount {:?} is not in the snapshot",
                mount.path
            ),
            format!(
                "the organisation and policies of GitHub mount {:?}",
                mount.path
            ),
        )));
    };
    let id = cred.github.cloned().unwrap_or_default();
    let mut admission = Admission::new(Verdict::Admitted, String::new());
    admission.conditions.push(format!(
        "the pipeline holds a GitHub token of user {user:?} with read:org"
    ));
    if let Some(refusal) = organisation(mount, &id, user, &mut admission) {
        return Err(Box::new(refusal));
    }
    let team_keys = team_keys(&id.teams);
    if team_keys.is_empty() {
        admission.unknowns.push(format!(
            "the teams of GitHub user {user:?} (only default mappings are counted)"
        ));
    }
    let cfg: TokenFields =
        serde_json::from_value(serde_json::Value::Object(config.clone())).unwrap_or_default();
    let mut raw = cfg.configured_policies().to_vec();
    for m in mappings(mount) {
        if applies(&m, user, &team_keys) {
            raw.extend(m.policies.iter().cloned());
        }
    }
    admission.require_login_cidrs(
        "token_bound_cidrs of the mount config",
        &cfg.token_bound_cidrs,
    );
    admission.alias = Some(alias(mount, user));
    admission.group_aliases = id.teams.iter().filter(|t| !t.is_empty()).cloned().collect();
    admission.token = resolve(&cfg, &raw, mount, server);
    Ok(Login {
        user: user.to_owned(),
        team_keys,
        admission,
    })
}

/// What the mount alone grants a member of its organisation with no user entry: the config's
/// `token_policies` and the `default` mappings, plus, with `team`, that team's mapping; the
/// team's name is also the group alias the login yields. This is the grant every person in the
/// organisation (or in the team) holds with a personal token, whoever they are, so it is judged
/// without a user. `None` when the snapshot has no config for the mount.
pub fn github_member(
    mount: &AuthMount,
    server: &ServerInfo,
    team: Option<&str>,
) -> Option<Admission> {
    let config = mount.config.as_ref()?;
    let cfg: TokenFields =
        serde_json::from_value(serde_json::Value::Object(config.clone())).unwrap_or_default();
    let team_key = team.map(str::to_lowercase);
    let mut raw = cfg.configured_policies().to_vec();
    for m in mappings(mount) {
        let this_team = m.kind == GithubMapKind::Team && Some(m.key.to_lowercase()) == team_key;
        if m.is_default() || this_team {
            raw.extend(m.policies.iter().cloned());
        }
    }
    let mut admission = Admission::new(Verdict::Admitted, String::new());
    admission.group_aliases = team.map(str::to_owned).into_iter().collect();
    admission.token = resolve(&cfg, &raw, mount, server);
    Some(admission)
}

/// The organisation check: by id when the config pins one (else pinned from the name on first
/// login). A membership the inventory does not state is unknown, never a refusal: the user may
/// belong to several organisations. Returns the refusal of a mount without an organisation.
fn organisation(
    mount: &AuthMount,
    id: &GithubIdentity,
    user: &str,
    a: &mut Admission,
) -> Option<Admission> {
    let org_name = mount.config_str("organization");
    let org_id = mount
        .config
        .as_ref()
        .and_then(|c| c.get("organization_id"))
        .and_then(serde_json::Value::as_u64)
        .filter(|i| *i != 0);
    if org_name.is_none() && org_id.is_none() {
        return Some(Admission::refused(format!(
            "GitHub mount {:?} has no organization configured: the server cannot admit any login",
            mount.path
        )));
    }
    let same_name = match (org_name, id.organization.as_deref()) {
        (Some(c), Some(i)) => Some(c.eq_ignore_ascii_case(i)),
        _ => None,
    };
    let same_id = org_id.zip(id.organization_id).map(|(c, i)| c == i);
    let shown = org_name.unwrap_or("<unset>");
    match (org_id, same_id, same_name) {
        (Some(_), Some(true), _) => {}
        (Some(n), None, Some(true)) => a.conditions.push(format!(
            "organization {shown:?} still has the id {n} the mount pins (organization_id)"
        )),
        (None, _, Some(true)) => a.conditions.push(format!(
            "organization_id is unset: the first login pins the id of organization {shown:?}"
        )),
        _ => {
            a.verdict = Verdict::Unknown;
            a.unknowns.push(format!(
                "whether GitHub user {user:?} is a member of organization {shown:?}{}",
                org_id.map(|n| format!(" (id {n})")).unwrap_or_default()
            ));
        }
    }
    None
}

/// The lookup keys of the user's teams: each team's lowercased name and slug.
fn team_keys(teams: &[String]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for t in teams {
        for k in [t.to_lowercase(), team_slug(t)] {
            if !k.is_empty() && !keys.contains(&k) {
                keys.push(k);
            }
        }
    }
    keys
}

fn mappings(mount: &AuthMount) -> impl Iterator<Item = GithubMapping> + '_ {
    mount
        .roles
        .other
        .iter()
        .filter_map(GithubMapping::from_other)
}

/// Whether a mapping applies to this user's login (unknown team membership counts as not).
fn applies(m: &GithubMapping, user: &str, team_keys: &[String]) -> bool {
    let key = m.key.to_lowercase();
    m.is_default()
        || match m.kind {
            GithubMapKind::User => key == user.to_lowercase(),
            GithubMapKind::Team => team_keys.contains(&key),
        }
}

/// The alias is the user's login; `pathLogin` sets metadata on the token, none on the alias.
fn alias(mount: &AuthMount, user: &str) -> Alias {
    Alias {
        mount_accessor: mount.accessor.clone(),
        name: user.to_owned(),
        name_known: true,
        metadata: BTreeMap::new(),
        match_metadata: BTreeMap::new(),
    }
}

pub(super) fn admit(
    mount: &AuthMount,
    o: &OtherRole,
    cred: &Credential<'_>,
    server: &ServerInfo,
) -> Admission {
    let Some(mapping) = GithubMapping::from_other(o) else {
        return Admission::unknown(
            format!(
                "{:?} ({}) is not a GitHub team or user mapping",
                o.name, o.collection
            ),
            format!(
                "what GitHub entry {} {:?} does at login",
                o.collection, o.name
            ),
        );
    };
    let github_login = match login(mount, cred, server) {
        Ok(github_login) => github_login,
        Err(a) => return *a,
    };
    let mut admission = github_login.admission;
    let key = mapping.key.to_lowercase();
    let entry = format!("{} {:?}", o.collection.trim_matches('/'), mapping.key);
    if mapping.is_default() {
        admission.why = format!("{entry} applies to every login of the mount");
        return admission;
    }
    match mapping.kind {
        GithubMapKind::User if key == github_login.user.to_lowercase() => {
            admission.why = format!("{entry} maps the pipeline's GitHub user");
        }
        GithubMapKind::User => {
            return Admission::refused(format!(
                "the pipeline logs in as GitHub user {:?}, not {:?}",
                github_login.user, mapping.key
            ))
        }
        GithubMapKind::Team if github_login.team_keys.contains(&key) => {
            admission.why = format!(
                "{entry} applies: user {:?} is in that team",
                github_login.user
            );
        }
        GithubMapKind::Team if github_login.team_keys.is_empty() => {
            admission.verdict = Verdict::Unknown;
            admission.why = format!(
                "{entry} applies only if user {:?} is in that team, which is not known",
                github_login.user
            );
            admission.unknowns.push(format!(
                "whether GitHub user {:?} is in team {:?}",
                github_login.user, mapping.key
            ));
        }
        GithubMapKind::Team => {
            return Admission::refused(format!(
                "user {:?} is not in team {:?} (its teams: {})",
                github_login.user,
                mapping.key,
                show(&cred.github.map(|g| g.teams.clone()).unwrap_or_default())
            ))
        }
    }
    admission
}

/// The login of a user without a `map/users/` entry (named after the user), or `None` when the
/// user has one (its entry's admission covers the login) or is unknown.
pub(super) fn bare_login(
    mount: &AuthMount,
    cred: &Credential<'_>,
    server: &ServerInfo,
) -> Option<(String, Admission)> {
    let github_login = login(mount, cred, server).ok()?;
    let has_entry = mappings(mount)
        .any(|m| m.kind == GithubMapKind::User && m.key.eq_ignore_ascii_case(&github_login.user));
    if has_entry {
        return None;
    }
    let mut admission = github_login.admission;
    if admission.verdict == Verdict::Admitted {
        admission.why = format!(
            "any member of the organization can log in: user {:?} gets the config's policies and \
             its teams' and the default mappings' policies",
            github_login.user
        );
    } else {
        admission.why = format!(
            "user {:?} can log in if it is a member of the organization",
            github_login.user
        );
    }
    Some((github_login.user, admission))
}
