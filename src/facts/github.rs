//! GitHub mount facts: whether the organisation is pinned by id, and what the mount grants to
//! people rather than to pipelines. Every member of the organisation can log in with a personal
//! token and gets the config's `token_policies` and the `default` mappings; every member of a
//! mapped team gets that team's policies too (`login/github.rs`). Vault does not know how many
//! people that is, so a grant is judged by what it reaches: the whole organisation is the largest
//! team there is, and a team's grant matters by what it adds over the organisation's.

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::acl::Caps;
use crate::login::github_member;
use crate::model::{AuthMount, GithubMapKind, GithubMapping, Namespace};
use crate::ownership::Owners;
use crate::passes::identity;
use crate::passes::reach::Analysis;

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct GithubMountFacts {
    pub organization: String,
    /// `None` when unset (`0`): the plugin pins it from the organisation's name at the next login.
    pub organization_id: Option<u64>,
    /// What every member of the organisation holds, then what each mapped team's members hold
    /// beyond it (teams in the order the snapshot lists their mappings).
    pub grants: Vec<GithubGrantFacts>,
}

/// Who a grant goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantScope {
    /// Every member of the organisation: the config's `token_policies` and `default` mappings.
    Organization,
    /// Every member of one team: `map/teams/<team>`.
    Team,
}

/// The known secrets a person's token reaches through one grant.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct GithubGrantFacts {
    pub scope: GrantScope,
    /// The team's key as stored; empty for the organisation.
    pub team: String,
    /// The token's policies (sanitised, with `default` unless the config disables it).
    pub policies: Vec<String>,
    /// Known secrets the token can read or write; for a team, those beyond the organisation's.
    pub secrets: usize,
    /// Of those, secrets it can write or delete.
    pub write_secrets: usize,
    /// The teams owning those secrets (inventory), and how many have no owner.
    pub owners: Vec<String>,
    pub unowned: usize,
    /// What could not be decided about the token (unparsable or unexported policies).
    pub unknowns: Vec<String>,
}

/// The GitHub facts of a mount, `None` for other mounts and GitHub mounts without a config.
pub(super) fn github(
    analysis: &Analysis<'_>,
    owners: &Owners,
    ns: &Namespace,
    mount: &AuthMount,
) -> Option<GithubMountFacts> {
    if mount.mount_type != "github" {
        return None;
    }
    let config = mount.config.as_ref()?;
    let everyone = Member::of(analysis, ns, mount, None)?;
    let mut grants = vec![everyone.grant(GrantScope::Organization, "", None, owners)];
    let teams = mount
        .roles
        .other
        .iter()
        .filter_map(GithubMapping::from_other)
        .filter(|m| m.kind == GithubMapKind::Team && !m.is_default());
    for team in teams {
        if let Some(member) = Member::of(analysis, ns, mount, Some(&team.key)) {
            grants.push(member.grant(GrantScope::Team, &team.key, Some(&everyone), owners));
        }
    }
    Some(GithubMountFacts {
        organization: mount.config_str("organization").unwrap_or("").to_owned(),
        organization_id: config
            .get("organization_id")
            .and_then(serde_json::Value::as_u64)
            .filter(|i| *i != 0),
        grants,
    })
}

/// The token of a member with no user mapping: its policies and the secrets it reaches.
struct Member {
    policies: Vec<String>,
    /// Secret ids with their capabilities.
    reached: Vec<(u32, Caps)>,
    unknowns: Vec<String>,
}

impl Member {
    fn of(
        analysis: &Analysis<'_>,
        ns: &Namespace,
        mount: &AuthMount,
        team: Option<&str>,
    ) -> Option<Member> {
        let admission = github_member(mount, &analysis.snapshot.server, team)?;
        let id = identity::resolve(&analysis.index, ns, mount, &admission);
        let policies = id.policies.iter().map(|p| p.name.clone()).collect();
        let token = analysis.token_reach(id);
        let reached = token
            .grants
            .iter()
            .filter(|(_, caps, _)| {
                caps.contains(Caps::READ) || caps.intersects(Caps::WRITE_OR_DELETE)
            })
            .map(|&(secret, caps, _)| (secret, caps))
            .collect();
        let unknowns = token.unknowns.into_iter().map(|u| u.detail).collect();
        Some(Member {
            policies,
            reached,
            unknowns,
        })
    }

    /// The grant's facts; with `beyond`, only what `beyond` does not already give: a secret
    /// counts when this token holds a capability on it that `beyond`'s does not, and counts as
    /// written when one of those capabilities writes or deletes.
    fn grant(
        &self,
        scope: GrantScope,
        team: &str,
        beyond: Option<&Member>,
        owners: &Owners,
    ) -> GithubGrantFacts {
        let base: FxHashMap<u32, Caps> = beyond
            .map(|b| b.reached.iter().copied().collect())
            .unwrap_or_default();
        let mut facts = GithubGrantFacts {
            scope,
            team: team.to_owned(),
            policies: self.policies.clone(),
            secrets: 0,
            write_secrets: 0,
            owners: Vec::new(),
            unowned: 0,
            unknowns: self.unknowns.clone(),
        };
        for &(secret, caps) in &self.reached {
            let already = base.get(&secret).copied().unwrap_or(Caps::NONE);
            let extra = Caps(caps.0 & !already.0);
            if extra == Caps::NONE {
                continue;
            }
            facts.secrets += 1;
            if extra.intersects(Caps::WRITE_OR_DELETE) {
                facts.write_secrets += 1;
            }
            match owners.owner.get(secret as usize) {
                Some(&owner) if owner != Owners::NONE => {
                    facts
                        .owners
                        .extend(owners.team_names(owner).map(str::to_owned));
                }
                _ => facts.unowned += 1,
            }
        }
        facts.owners.sort();
        facts.owners.dedup();
        facts
    }
}
