//! Per-pipeline facts: the roles a pipeline is admitted to and the tokens they issue, a reach
//! summary (counts per capability, per owning team, per folder), granted versus needed, which
//! wildcard rules grant what, and (in `blast.rs`) the escalation chains with the reach they
//! add. Pipelines are independent of each other: `build` computes them in parallel, each from
//! the per-token data every pipeline shares.

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;
use serde_json::{Map, Value};

use super::blast::{BlastRadius, EscalationFacts};
use super::paths::Pattern;
use super::token::{SourceKey, TokenInfo};
use super::{ns_of, role_id, role_kind, sorted, FactsOptions};
use crate::acl::Caps;
use crate::inventory::Pipeline;
use crate::login::Verdict;
use crate::ownership::Owners;
use crate::passes::reach::{Analysis, Login, TokenReach};
use crate::passes::Unknown;

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PipelineAuthFacts {
    pub method: &'static str,
    pub mount: String,
    pub namespace: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct LoginToken {
    pub ttl: i64,
    pub max_ttl: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<i64>,
    /// `null` = unbounded with renewals.
    pub max_lifetime: Option<i64>,
    pub renewable: bool,
    #[serde(rename = "type")]
    pub token_type: &'static str,
    pub num_uses: i64,
    pub bound_cidrs: Vec<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct LoginFacts {
    /// The role id (`auth/gha/role/lint`).
    pub role: String,
    pub kind: &'static str,
    /// `admitted` or `unknown` (refused logins are not listed).
    pub verdict: Verdict,
    /// The role named in the inventory.
    pub configured: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    /// Policies the token holds, `name` or `namespace/name` outside the token's namespace.
    pub policies: Vec<String>,
    pub token: LoginToken,
    /// Secrets this login alone reaches.
    pub secrets: usize,
}

#[derive(Debug, Clone, Serialize, Default, schemars::JsonSchema)]
pub struct ReachFacts {
    pub secrets: usize,
    /// Secrets per capability (`read`, `create`, `update`, `patch`, `delete`, `list`, `sudo`, `scan`).
    pub capabilities: BTreeMap<&'static str, usize>,
    /// Secrets with create, update or patch.
    pub written: usize,
    pub deleted: usize,
    /// Namespaces reached.
    pub namespaces: Vec<String>,
    /// Granted versus needed; absent when the pipeline declares no `needs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub needs: Option<NeedsFacts>,
    /// Reach per owning team (the pipeline's own team included).
    pub by_owner: Vec<OwnerReach>,
    /// Secrets no team owns.
    pub unowned: usize,
    /// Wildcard rules that decide some of the reach.
    pub wildcards: Vec<WildcardReach>,
    /// Reach per folder (`secret/data/payments/deploy`), namespace-qualified.
    pub folders: Vec<FolderReach>,
    /// Folders were merged into their parents to stay under `config.folder_cap`.
    pub folders_collapsed: bool,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct NeedsFacts {
    pub declared: usize,
    /// Reached secrets that some need covers.
    pub granted: usize,
    /// Reached secrets no need covers, and their share of the reach.
    pub unneeded: usize,
    pub unneeded_ratio: f64,
    pub unneeded_sample: Vec<String>,
    /// Exact needs that name an inventoried secret the pipeline cannot reach.
    pub not_granted: Vec<String>,
    /// Needed secrets granted more than read: `{path, capabilities, extra}` (sample) and count.
    pub excess: Vec<ExcessCaps>,
    pub excess_count: usize,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ExcessCaps {
    pub path: String,
    pub capabilities: Vec<&'static str>,
    pub extra: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct OwnerReach {
    /// The owner: a team, or for secrets whose owners tie (shared ownership) the tied teams'
    /// names joined by `", "`.
    pub team: String,
    /// The tied teams of a shared owner (absent for a single team).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shared_by: Vec<String>,
    pub secrets: usize,
    pub capabilities: Vec<&'static str>,
    /// Some of them can be written or deleted.
    pub write: bool,
    pub sample: Vec<String>,
    /// The policies that grant them.
    pub policies: Vec<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WildcardReach {
    pub policy: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub policy_namespace: String,
    pub pattern: String,
    pub line: u32,
    /// The rule is identity-templated (a per-entity path such as `secret/data/teams/<entity>/*`).
    pub templated: bool,
    /// Secrets the rule decides for this pipeline, and how many of them are needed (`null`
    /// without `needs`).
    pub secrets: usize,
    pub needed: Option<usize>,
    pub unneeded_sample: Vec<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct FolderReach {
    pub path: String,
    pub secrets: usize,
    pub capabilities: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PipelineFacts {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    pub auth: PipelineAuthFacts,
    /// The claims the inventory says the pipeline's token carries (JWT/OIDC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims: Option<Map<String, Value>>,
    pub needs: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_job_duration: Option<i64>,
    /// Inventory fields built from CI expressions (`blastmap discover`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dynamic: Vec<crate::inventory::DynamicValue>,
    /// Where the pipeline was discovered and what its CI configuration exposes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ci: Option<crate::inventory::CiEvidence>,
    pub logins: Vec<LoginFacts>,
    pub reach: ReachFacts,
    pub escalations: Vec<EscalationFacts>,
    pub blast_radius: BlastRadius,
    pub unknowns: Vec<String>,
}

/// Everything the facts of one pipeline are computed from, shared by the parallel workers.
pub(super) struct PipelineBuilder<'x, 'a> {
    pub(super) analysis: &'x Analysis<'a>,
    pub(super) opts: &'x FactsOptions,
    pub(super) owners: &'x Owners,
    pub(super) tokens: &'x [TokenReach],
    pub(super) infos: &'x [TokenInfo],
    pub(super) src_keys: &'x [SourceKey],
    pub(super) policy_names: &'x [String],
    /// Templated rules as `(policy namespace, policy, line)`.
    pub(super) templated_rules: &'x FxHashSet<(String, String, u32)>,
}

/// A secret a pipeline reaches and the capabilities it has on it (merged over its tokens).
#[derive(Clone, Copy)]
pub(super) struct SecretCaps {
    pub(super) secret: u32,
    pub(super) caps: Caps,
}

/// A token a pipeline holds, and the role id it logs in through for it.
pub(super) struct UsedToken {
    pub(super) token: usize,
    pub(super) role: String,
}

/// What a pipeline's logins give it: the login facts, the merged reach (sorted by secret id)
/// and the tokens it holds.
struct LoggedIn {
    logins: Vec<LoginFacts>,
    reach: Vec<SecretCaps>,
    used_tokens: Vec<UsedToken>,
}

/// Which reached secrets the pipeline declares it needs. Without declared needs nothing is
/// counted as needed or unneeded.
struct Needed {
    declared: bool,
    secrets: FxHashSet<u32>,
}

/// The secrets one owner (a team, or a set of teams sharing ownership) has in a pipeline's
/// reach.
struct OwnerTally {
    secrets: usize,
    caps: Caps,
    sample: Vec<u32>,
    /// Interned labels of the policies granting them.
    policies: FxHashSet<u32>,
}

/// A wildcard source deciding the grant of one secret. Sorting by source groups each rule's
/// secrets together.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct SourceGrant {
    source: u32,
    secret: u32,
}

/// The secrets and capabilities a pipeline reaches in one folder.
#[derive(Clone, Copy)]
struct FolderTally {
    secrets: usize,
    caps: Caps,
}

impl FolderTally {
    const EMPTY: FolderTally = FolderTally {
        secrets: 0,
        caps: Caps::NONE,
    };
}

/// Capabilities beyond reading that a needed secret should not need.
const EXTRA_CAPS: Caps = Caps(
    Caps::CREATE.0 | Caps::UPDATE.0 | Caps::PATCH.0 | Caps::DELETE.0 | Caps::SUDO.0 | Caps::LIST.0,
);

impl PipelineBuilder<'_, '_> {
    pub(super) fn path_of(&self, secret: u32) -> String {
        self.analysis.secrets.get(secret).full_path()
    }

    /// The facts of one pipeline: its logins, what they reach summarized by capability, need,
    /// owner, wildcard rule and folder, and the escalations its tokens can take.
    pub(super) fn pipeline(
        &self,
        pipeline: &Pipeline,
        logins: &[Login<'_>],
        unknowns: &[Unknown],
    ) -> PipelineFacts {
        let mut unknown_set: BTreeSet<String> = unknowns
            .iter()
            .map(|unknown| format!("{}: {}", unknown.kind, unknown.detail))
            .collect();
        let logged_in = self.logins(logins, &mut unknown_set);
        let reach = &logged_in.reach;
        let ns_path = pipeline.auth.namespace_path();
        let needed = self.needed(pipeline, &ns_path, reach);
        let mut reach_facts = self.counts(reach);
        if needed.declared {
            reach_facts.needs = Some(self.needs(pipeline, &ns_path, reach, &needed));
        }
        reach_facts.by_owner =
            self.by_owner(reach, &logged_in.used_tokens, &mut reach_facts.unowned);
        reach_facts.wildcards = self.wildcards(&logged_in.used_tokens, &needed);
        let (folders, collapsed) = self.folders(reach);
        reach_facts.folders = folders;
        reach_facts.folders_collapsed = collapsed;

        let direct: FxHashSet<u32> = reach.iter().map(|reached| reached.secret).collect();
        let (escalations, blast) = self.escalations(&logged_in.used_tokens, &direct);

        let mut unknowns_all: Vec<String> = unknown_set.into_iter().collect();
        unknowns_all.extend(
            pipeline
                .dynamic
                .iter()
                .map(|dynamic| format!("dynamic: {} = {}", dynamic.field, dynamic.expression)),
        );
        PipelineFacts {
            name: pipeline.name.clone(),
            team: pipeline.team.clone(),
            auth: PipelineAuthFacts {
                method: pipeline.auth.method.as_str(),
                mount: pipeline.auth.mount_path().trim_end_matches('/').to_string(),
                namespace: ns_path,
                role: pipeline.auth.configured_role().map(str::to_string),
            },
            claims: pipeline.auth.claims.clone(),
            needs: pipeline.needs.clone(),
            max_job_duration: pipeline.max_job_duration,
            dynamic: pipeline.dynamic.clone(),
            ci: pipeline.ci.clone(),
            logins: logged_in.logins,
            reach: reach_facts,
            escalations,
            blast_radius: BlastRadius {
                direct: reach.len(),
                total: reach.len() + blast.escalated,
                ..blast
            },
            unknowns: unknowns_all,
        }
    }

    /// The possible logins of a pipeline with their tokens, and the union of what the tokens
    /// grant. Unknowns of the admissions and tokens are added to `unknown_set`.
    fn logins(&self, logins: &[Login<'_>], unknown_set: &mut BTreeSet<String>) -> LoggedIn {
        let mut login_facts = Vec::new();
        let mut grants: Vec<SecretCaps> = Vec::new();
        let mut used_tokens: Vec<UsedToken> = Vec::new();
        for login in logins {
            if !login.admission.is_possible() {
                continue;
            }
            let login_ns = ns_of(&login.namespace.path);
            let role = role_id(&login_ns, login.mount, &login.role);
            for unknown in &login.admission.unknowns {
                unknown_set.insert(format!("admission: role {:?}: {unknown}", login.role));
            }
            let issued = &login.admission.token;
            let mut facts = LoginFacts {
                role: role.clone(),
                kind: role_kind(login.mount, &login.role),
                verdict: login.admission.verdict,
                configured: login.configured,
                entity: None,
                policies: Vec::new(),
                token: LoginToken {
                    ttl: issued.ttl,
                    max_ttl: issued.max_ttl,
                    period: issued.period.filter(|p| *p > 0),
                    max_lifetime: issued.max_lifetime,
                    renewable: issued.renewable,
                    token_type: issued.token_type.as_str(),
                    num_uses: issued.num_uses,
                    bound_cidrs: issued.bound_cidrs.clone(),
                },
                secrets: 0,
            };
            if let Some(token) = login.token {
                let token_reach = &self.tokens[token];
                for unknown in &token_reach.unknowns {
                    unknown_set.insert(format!("{}: {}", unknown.kind, unknown.detail));
                }
                facts.entity = token_reach
                    .identity
                    .entity_ref
                    .as_ref()
                    .map(|entity| entity.1.clone());
                facts.policies = self.infos[token].policy_labels.clone();
                facts.secrets = token_reach.grants.len();
                grants.extend(
                    token_reach
                        .grants
                        .iter()
                        .map(|&(secret, caps, _)| SecretCaps { secret, caps }),
                );
                used_tokens.push(UsedToken { token, role });
            }
            login_facts.push(facts);
        }
        LoggedIn {
            logins: login_facts,
            reach: merge_grants(grants),
            used_tokens,
        }
    }

    /// The reached secrets matching a declared need.
    fn needed(&self, pipeline: &Pipeline, ns_path: &str, reach: &[SecretCaps]) -> Needed {
        let secrets = &self.analysis.secrets;
        let need_patterns: Vec<Pattern> = pipeline
            .needs
            .iter()
            .map(|need| Pattern::new(&format!("{ns_path}{}", need.trim_start_matches('/'))))
            .collect();
        let declared = !need_patterns.is_empty();
        let needed = if declared {
            reach
                .iter()
                .map(|reached| reached.secret)
                .filter(|&secret| {
                    let secret = secrets.get(secret);
                    need_patterns.iter().any(|need| need.matches_secret(secret))
                })
                .collect()
        } else {
            FxHashSet::default()
        };
        Needed {
            declared,
            secrets: needed,
        }
    }

    /// Counts of the reach per capability, written and deleted secrets, and the namespaces
    /// reached.
    fn counts(&self, reach: &[SecretCaps]) -> ReachFacts {
        let secrets = &self.analysis.secrets;
        let mut facts = ReachFacts {
            secrets: reach.len(),
            ..Default::default()
        };
        let mut namespaces: BTreeSet<&str> = BTreeSet::new();
        let mut last_ns: Option<&str> = None;
        for reached in reach {
            let caps = reached.caps;
            for (cap, name) in Caps::NAMED {
                if cap != Caps::DENY && caps.contains(cap) {
                    *facts.capabilities.entry(name).or_insert(0) += 1;
                }
            }
            if caps.intersects(Caps::WRITE) {
                facts.written += 1;
            }
            if caps.contains(Caps::DELETE) {
                facts.deleted += 1;
            }
            // Secrets are sorted by namespace first: insert each run once.
            let namespace = &*secrets.get(reached.secret).namespace;
            if last_ns != Some(namespace) {
                namespaces.insert(namespace);
                last_ns = Some(namespace);
            }
        }
        facts.namespaces = namespaces.into_iter().map(str::to_string).collect();
        facts
    }

    /// Granted versus needed: what is reached without being needed, needed secrets granted
    /// more than reading, and declared needs not granted at all.
    fn needs(
        &self,
        pipeline: &Pipeline,
        ns_path: &str,
        reach: &[SecretCaps],
        needed: &Needed,
    ) -> NeedsFacts {
        let sample = self.opts.sample;
        let unneeded: Vec<u32> = reach
            .iter()
            .map(|reached| reached.secret)
            .filter(|secret| !needed.secrets.contains(secret))
            .collect();
        let mut excess = Vec::new();
        let mut excess_count = 0;
        for reached in reach {
            if needed.secrets.contains(&reached.secret) && reached.caps.intersects(EXTRA_CAPS) {
                excess_count += 1;
                if excess.len() < sample {
                    excess.push(ExcessCaps {
                        path: self.path_of(reached.secret),
                        capabilities: reached.caps.names(),
                        extra: Caps(reached.caps.0 & EXTRA_CAPS.0).names(),
                    });
                }
            }
        }
        let reached: FxHashSet<u32> = reach.iter().map(|reached| reached.secret).collect();
        let not_granted = pipeline
            .needs
            .iter()
            .filter(|need| !need.contains(['*', '+']))
            .filter(|need| {
                let full = format!("{ns_path}{}", need.trim_start_matches('/'));
                self.analysis
                    .secrets
                    .find(&full)
                    .is_some_and(|secret| !reached.contains(&secret))
            })
            .cloned()
            .collect();
        NeedsFacts {
            declared: pipeline.needs.len(),
            granted: needed.secrets.len(),
            unneeded: unneeded.len(),
            unneeded_ratio: if reach.is_empty() {
                0.0
            } else {
                (unneeded.len() as f64 / reach.len() as f64 * 1000.0).round() / 1000.0
            },
            unneeded_sample: unneeded
                .iter()
                .take(sample)
                .map(|&secret| self.path_of(secret))
                .collect(),
            not_granted,
            excess,
            excess_count,
        }
    }

    /// The reach per owning team, with the policies granting each team's secrets. Secrets no
    /// team owns are counted in `unowned`.
    fn by_owner(
        &self,
        reach: &[SecretCaps],
        used_tokens: &[UsedToken],
        unowned: &mut usize,
    ) -> Vec<OwnerReach> {
        let mut tallies: BTreeMap<u16, OwnerTally> = BTreeMap::new();
        for reached in reach {
            let owner = self.owners.owner[reached.secret as usize];
            if owner == Owners::NONE {
                *unowned += 1;
                continue;
            }
            let tally = tallies.entry(owner).or_insert(OwnerTally {
                secrets: 0,
                caps: Caps::NONE,
                sample: Vec::new(),
                policies: FxHashSet::default(),
            });
            tally.secrets += 1;
            tally.caps |= reached.caps;
            if tally.sample.len() < self.opts.sample {
                tally.sample.push(reached.secret);
            }
        }
        if !tallies.is_empty() {
            for used in used_tokens {
                let info = &self.infos[used.token];
                for &(secret, _, rule) in &self.tokens[used.token].grants {
                    let owner = self.owners.owner[secret as usize];
                    if let Some(tally) = tallies.get_mut(&owner) {
                        tally
                            .policies
                            .extend(info.policy_ids[rule as usize].iter().copied());
                    }
                }
            }
        }
        tallies
            .into_iter()
            .map(|(owner, tally)| OwnerReach {
                team: self.owners.label(owner).to_string(),
                shared_by: match self.owners.is_shared(owner) {
                    true => self.owners.team_names(owner).map(str::to_string).collect(),
                    false => Vec::new(),
                },
                secrets: tally.secrets,
                capabilities: tally.caps.names(),
                write: tally.caps.intersects(Caps::WRITE_OR_DELETE),
                sample: tally
                    .sample
                    .into_iter()
                    .map(|secret| self.path_of(secret))
                    .collect(),
                policies: sorted(
                    tally
                        .policies
                        .into_iter()
                        .map(|id| self.policy_names[id as usize].clone()),
                ),
            })
            .collect()
    }

    /// The wildcard rules deciding the reach, each with how many secrets it decides and how
    /// many of them are needed.
    fn wildcards(&self, used_tokens: &[UsedToken], needed: &Needed) -> Vec<WildcardReach> {
        let mut pairs: Vec<SourceGrant> = Vec::new();
        for used in used_tokens {
            let info = &self.infos[used.token];
            for &(secret, _, rule) in &self.tokens[used.token].grants {
                for &source in &info.wildcard_sources[rule as usize] {
                    pairs.push(SourceGrant { source, secret });
                }
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        pairs
            .chunk_by(|a, b| a.source == b.source)
            .map(|group| self.wildcard(group, needed))
            .collect()
    }

    /// One wildcard source and the secrets it decides (`group`, all of one source).
    fn wildcard(&self, group: &[SourceGrant], needed: &Needed) -> WildcardReach {
        let mut needed_count = 0;
        let mut unneeded_sample = Vec::new();
        for pair in group {
            if needed.secrets.contains(&pair.secret) {
                needed_count += 1;
            } else if unneeded_sample.len() < self.opts.sample {
                unneeded_sample.push(self.path_of(pair.secret));
            }
        }
        let key = &self.src_keys[group[0].source as usize];
        WildcardReach {
            policy: key.policy.clone(),
            policy_namespace: key.policy_namespace.clone(),
            pattern: key.pattern.clone(),
            line: key.line,
            templated: self.templated_rules.contains(&(
                key.policy_namespace.clone(),
                key.policy.clone(),
                key.line,
            )),
            secrets: group.len(),
            needed: needed.declared.then_some(needed_count),
            unneeded_sample: if needed.declared {
                unneeded_sample
            } else {
                Vec::new()
            },
        }
    }

    /// The reach per folder. Past `folder_cap` folders, deeper folders are collapsed into their
    /// parents (at the deepest level that fits) so the document stays small.
    fn folders(&self, reach: &[SecretCaps]) -> (Vec<FolderReach>, bool) {
        let secrets = &self.analysis.secrets;
        let mut by_folder_id: FxHashMap<u32, FolderTally> = FxHashMap::default();
        for reached in reach {
            let tally = by_folder_id
                .entry(secrets.get(reached.secret).folder)
                .or_insert(FolderTally::EMPTY);
            tally.secrets += 1;
            tally.caps |= reached.caps;
        }
        // (namespace, folder) → tally, borrowed from the index.
        let by_folder: FxHashMap<(&str, &str), FolderTally> = by_folder_id
            .into_iter()
            .map(|(id, tally)| (secrets.folder(id), tally))
            .collect();
        let cap = self.opts.folder_cap.max(1);
        let (depth, collapsed) = if by_folder.len() > cap {
            (collapse_depth(&by_folder, cap), true)
        } else {
            (usize::MAX, false)
        };
        let mut folders: BTreeMap<String, FolderTally> = BTreeMap::new();
        for ((ns, folder), tally) in by_folder {
            let folder = if depth == usize::MAX {
                folder
            } else {
                truncate(folder, depth)
            };
            let merged = folders
                .entry(format!("{ns}{folder}"))
                .or_insert(FolderTally::EMPTY);
            merged.secrets += tally.secrets;
            merged.caps |= tally.caps;
        }
        let folders = folders
            .into_iter()
            .map(|(path, tally)| FolderReach {
                path,
                secrets: tally.secrets,
                capabilities: tally.caps.names(),
            })
            .collect();
        (folders, collapsed)
    }
}

/// Merge grants of the same secret (from several tokens or rules), OR-ing capabilities; the
/// result is sorted by secret id.
fn merge_grants(mut grants: Vec<SecretCaps>) -> Vec<SecretCaps> {
    grants.sort_unstable_by_key(|grant| grant.secret);
    let mut reach: Vec<SecretCaps> = Vec::with_capacity(grants.len());
    for grant in grants {
        match reach.last_mut() {
            Some(last) if last.secret == grant.secret => last.caps |= grant.caps,
            _ => reach.push(grant),
        }
    }
    reach
}

/// The deepest folder level (segments) at which at most `cap` folders remain, or 0.
fn collapse_depth(by_folder: &FxHashMap<(&str, &str), FolderTally>, cap: usize) -> usize {
    let segments = |folder: &str| {
        if folder.is_empty() {
            0
        } else {
            folder.split('/').count()
        }
    };
    let deepest = by_folder
        .keys()
        .map(|(_, folder)| segments(folder))
        .max()
        .unwrap_or(0);
    for depth in (1..deepest).rev() {
        let remaining: FxHashSet<(&str, &str)> = by_folder
            .keys()
            .map(|(ns, folder)| (*ns, truncate(folder, depth)))
            .collect();
        if remaining.len() <= cap {
            return depth;
        }
    }
    0
}

/// The first `depth` segments of a folder path.
fn truncate(folder: &str, depth: usize) -> &str {
    if depth == 0 {
        return "";
    }
    match folder.match_indices('/').nth(depth - 1) {
        Some((end, _)) => &folder[..end],
        None => folder,
    }
}
