//! The facts pass: everything the findings rules judge, computed once from the graph and
//! aggregated per pipeline, role, policy, entity, mount and namespace (never per secret), so the
//! document stays small on large estates and rules stay cheap (`docs/facts.md`).
//!
//! Each aggregate has its own module: `pipeline.rs` (admitted roles and their tokens, a reach
//! summary per capability, owning team and folder, granted versus needed, which wildcard rules
//! grant what) with `blast.rs` (escalation chains and the reach they add), `role.rs` (bindings
//! and their strength, TTLs, bootstrap parameters, who logs in), `policy.rs` (wildcard rules and
//! how many known secrets each covers, secret-id rules and their wrapping requirement, who holds
//! it), `entity.rs`, `mount.rs`, `namespace.rs`, `team.rs` and `audit.rs`. `token.rs` holds
//! what every pipeline using a token shares, `logins.rs` who logs in where. This module holds
//! the document's type and `build`, which runs the steps in order.

mod audit;
mod blast;
pub(crate) mod cloud;
mod entity;
pub(crate) mod escalation;
pub(crate) mod github;
mod logins;
mod mount;
mod namespace;
pub(crate) mod paths;
mod pipeline;
mod policy;
mod reuse;
mod role;
mod team;
mod token;
pub(crate) mod workload;

use std::collections::BTreeSet;

use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;

use crate::inventory::Pipeline;
use crate::model::AuthMount;
use crate::ownership::Owners;
use crate::passes::reach::{Analysis, PipelineLogins, TokenReach};
use escalation::{Escalations, Reached};
use logins::LoginIndex;
use pipeline::PipelineBuilder;
use policy::{ParsedPolicies, PolicyHolders};
pub(crate) use reuse::FactsBase;
use reuse::Kept;
use token::{SourceKey, TokenInfo, TokenTables};

pub use audit::{AuditDeviceFacts, AuditFacts};
pub use blast::{BlastRadius, ChainFacts, EscalationFacts};
pub use entity::{EntityFacts, EntityLoginReach};
pub use mount::MountFacts;
pub use namespace::{NamespaceFacts, SecretMountFacts};
pub use pipeline::{
    ExcessCaps, FolderReach, LoginFacts, LoginToken, NeedsFacts, OwnerReach, PipelineAuthFacts,
    PipelineFacts, ReachFacts, WildcardReach,
};
pub use policy::{PolicyFacts, SecretIdRuleFacts, WildcardRuleFacts};
pub use role::{
    AppRoleFacts, CertFacts, RoleFacts, RolePipelines, RoundValue, TokenFacts, TokenRoleFacts,
};
pub use team::TeamFacts;

/// The version of the facts document; it changes only on incompatible changes.
pub const FACTS_VERSION: u32 = 1;

/// Thresholds of the facts pass. They are copied into the document (`config`) so rules read the
/// same values the pass used.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct FactsOptions {
    /// A token may outlive the pipeline's `max_job_duration` by this factor.
    pub ttl_slack: f64,
    /// Escalation chains are followed this many steps deep.
    pub escalation_depth: usize,
    /// Sample paths kept per aggregate.
    pub sample: usize,
    /// Folders kept per pipeline reach before deeper folders are collapsed into their parents.
    pub folder_cap: usize,
    /// An AppRole `secret_id_ttl` above this (seconds) is long.
    pub secret_id_ttl_long: i64,
    /// A token lifetime above this (seconds) is long-lived.
    pub long_lived: i64,
    /// A pipeline whose reach is more than this share of not-needed secrets is over-privileged.
    pub unneeded_ratio: f64,
}

impl Default for FactsOptions {
    fn default() -> Self {
        FactsOptions {
            ttl_slack: 1.5,
            escalation_depth: 3,
            sample: 3,
            folder_cap: 32,
            secret_id_ttl_long: 86_400,
            long_lived: 86_400,
            unneeded_ratio: 0.5,
        }
    }
}

/// The whole facts document.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Facts {
    /// Version of this JSON shape: the same number as `facts_version`, under the name every
    /// JSON output of blastmap uses.
    pub schema_version: u32,
    pub facts_version: u32,
    pub blastmap_version: &'static str,
    pub config: FactsOptions,
    pub server: ServerFacts,
    pub summary: Summary,
    pub audit: AuditFacts,
    pub teams: Vec<TeamFacts>,
    pub namespaces: Vec<NamespaceFacts>,
    pub auth_mounts: Vec<MountFacts>,
    pub roles: Vec<RoleFacts>,
    pub policies: Vec<PolicyFacts>,
    pub entities: Vec<EntityFacts>,
    pub pipelines: Vec<PipelineFacts>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ServerFacts {
    pub flavor: &'static str,
    pub version: String,
    /// System TTLs in seconds (768h when the export did not record them).
    pub default_lease_ttl: i64,
    pub max_lease_ttl: i64,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Summary {
    pub namespaces: usize,
    pub secrets: usize,
    pub policies: usize,
    pub roles: usize,
    pub pipelines: usize,
    pub teams: usize,
    /// Whether a pipeline inventory was given.
    pub inventory: bool,
    /// Endpoints the export could not read.
    pub coverage_gaps: usize,
}

fn sorted<T: Ord>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let set: BTreeSet<T> = items.into_iter().collect();
    set.into_iter().collect()
}

/// The namespace path (`""` or `team-a/`) of a namespace's or secret's path.
fn ns_of(path: &str) -> String {
    crate::model::namespace_path(path).into_owned()
}

/// A role's id: its namespace-qualified API path, or the login path for roles the mount does
/// not list.
fn role_id(ns: &str, mount: &AuthMount, name: &str) -> String {
    match mount.role(name) {
        Some(role) => format!("{ns}{}", role.api_path(mount)),
        None => format!("{ns}auth/{}/login/{name}", mount.name()),
    }
}

fn role_kind(mount: &AuthMount, name: &str) -> &'static str {
    mount
        .role(name)
        .map(|role| role.kind().as_str())
        .unwrap_or("other")
}

/// `name`, or `namespace/name` for a policy outside the token's namespace.
fn policy_label(ns: &str, name: &str, token_ns: &str) -> String {
    if ns == token_ns {
        name.to_string()
    } else {
        format!("{ns}{name}")
    }
}

/// A facts document with what it was built from, kept so that the build of a similar estate (a
/// what-if's head) can take over whatever is equal (`facts/reuse.rs`).
pub(crate) struct Built {
    pub facts: Facts,
    pub(crate) kept: Kept,
}

impl Built {
    /// Take the escalations the facts searched from each token (in the tokens' order), for a
    /// caller that draws them once the facts themselves are no longer needed.
    pub(crate) fn take_escalations(&mut self) -> Vec<Vec<Reached>> {
        self.kept
            .infos
            .iter_mut()
            .map(|info| std::mem::take(&mut info.escalations))
            .collect()
    }

    /// For each pipeline (in inventory order), whether its facts were copied from a base.
    pub(crate) fn taken_over(&self) -> &[bool] {
        &self.kept.taken_over
    }
}

/// Build the facts document of an analysis from the logins and tokens of every pipeline of its
/// inventory (in inventory order), as the reach pass prepared them. With a `base` (the facts of
/// a similar estate, a what-if's base) the facts of every pipeline whose inputs are equal on
/// both sides are copied from it (`facts/reuse.rs`); the document is the same either way. This
/// is the one way facts are built; `crate::review::Review` calls it.
pub(crate) fn build<'a>(
    analysis: &Analysis<'a>,
    opts: &FactsOptions,
    logins: &[PipelineLogins<'a>],
    tokens: &[TokenReach],
    base: Option<&FactsBase<'_, '_>>,
) -> Built {
    let clock = crate::timings::Clock::start("facts");
    let snap = analysis.snapshot;
    let inventory = analysis.inventory;
    let owners = Owners::build(&analysis.secrets, inventory);
    let templated_rules = templated_rules(analysis.parsed_policies());
    clock.lap("owners and policies parsed");

    let mut kept = token_data(analysis, opts, tokens, templated_rules, base);
    clock.lap("escalations");

    let reused = reusable(analysis, opts, logins, tokens, &kept, base);
    let taken_over: Vec<bool> = reused.iter().map(Option::is_some).collect();
    if base.is_some() {
        clock.lap("pipelines matched");
        log::info!(
            "facts: {} of {} pipelines taken over from the base",
            taken_over.iter().filter(|taken| **taken).count(),
            reused.len()
        );
    }
    let builder = PipelineBuilder {
        analysis,
        opts,
        owners: &owners,
        tokens,
        infos: &kept.infos,
        src_keys: &kept.src_keys,
        policy_names: &kept.policy_names,
        templated_rules: &kept.templated_rules,
    };
    let pipelines = pipelines(&builder, &inventory.pipelines, logins, reused);
    kept.taken_over = taken_over;
    clock.lap("pipelines");

    let mut index = LoginIndex::collect(inventory, logins, tokens);
    let auth_mounts = mount::auth_mounts(analysis, &owners, &mut index);
    let roles = role::roles(snap, &mut index);
    clock.lap("roles");

    // Coverage depends on the secrets and their owners alone: a base on the same ones has it.
    let known_coverage = base
        .filter(|base| base.same_secrets(analysis))
        .map(|base| &base.built.kept.coverage);
    let holders = PolicyHolders {
        roles: &roles.by_policy,
        pipelines: &index.policies,
    };
    let policies = policy::policy_facts(analysis, &owners, holders, known_coverage);
    kept.coverage = policies.coverage;
    clock.lap("policies");

    let entities = entity::entities(analysis, tokens, &mut index);
    clock.lap("entities");
    let namespaces = namespace::namespaces(snap, &analysis.secrets, &owners, &mut index);
    clock.lap("namespaces");
    let facts = Facts {
        schema_version: FACTS_VERSION,
        facts_version: FACTS_VERSION,
        blastmap_version: env!("CARGO_PKG_VERSION"),
        config: opts.clone(),
        server: ServerFacts {
            flavor: snap.server.flavor.as_str(),
            version: snap.server.version.clone(),
            default_lease_ttl: snap.server.system_default_ttl(),
            max_lease_ttl: snap.server.system_max_ttl(),
        },
        summary: Summary {
            namespaces: snap.namespaces.len(),
            secrets: analysis.secrets.len(),
            policies: snap.namespaces.iter().map(|ns| ns.policies.len()).sum(),
            roles: roles.roles.len(),
            pipelines: inventory.pipelines.len(),
            teams: inventory.teams.len(),
            inventory: !inventory.pipelines.is_empty() || !inventory.teams.is_empty(),
            coverage_gaps: snap.coverage.len(),
        },
        audit: audit::audit(snap),
        teams: team::teams(inventory, &owners),
        namespaces,
        auth_mounts,
        roles: roles.roles,
        policies: policies.policies,
        entities,
        pipelines,
    };
    Built { facts, kept }
}

/// The templated rules of every parsed policy as `(namespace, policy, line)`: a wildcard
/// source that is one of them is marked templated in the pipelines' facts.
fn templated_rules(parsed: &ParsedPolicies) -> FxHashSet<(String, String, u32)> {
    parsed
        .iter()
        .filter_map(|(key, parsed)| parsed.as_ref().ok().map(|policy| (key, policy)))
        .flat_map(|((namespace, name), policy)| {
            policy
                .rules
                .iter()
                .filter(|rule| rule.templated)
                .map(move |rule| (namespace.clone(), name.clone(), rule.line))
        })
        .collect()
}

/// The per-token data every pipeline shares: interned sources and policies, and the
/// escalations each token can take (searched in parallel; seeded with the tokens a base's
/// search already compiled). Returned as what the build keeps for a later what-if.
fn token_data(
    analysis: &Analysis<'_>,
    opts: &FactsOptions,
    tokens: &[TokenReach],
    templated_rules: FxHashSet<(String, String, u32)>,
    base: Option<&FactsBase<'_, '_>>,
) -> Kept {
    let search = match base {
        Some(base) => Escalations::seeded(
            analysis,
            opts.escalation_depth,
            base.analysis,
            &base.built.kept.escalation_tokens,
        ),
        None => Escalations::new(analysis, opts.escalation_depth),
    };
    let TokenTables {
        mut infos,
        src_keys,
        policy_names,
    } = token::intern(tokens);
    let searched: Vec<Vec<Reached>> = tokens
        .par_iter()
        .map(|token| search.search(token))
        .collect();
    for (info, escalations) in infos.iter_mut().zip(searched) {
        info.escalations = escalations;
    }
    Kept {
        infos,
        src_keys,
        policy_names,
        templated_rules,
        escalation_tokens: search.into_compiled(),
        coverage: FxHashMap::default(),
        taken_over: Vec::new(),
    }
}

/// For each pipeline (in inventory order), the base's facts when its inputs equal the base's.
fn reusable<'b>(
    analysis: &Analysis<'_>,
    opts: &FactsOptions,
    logins: &[PipelineLogins<'_>],
    tokens: &[TokenReach],
    kept: &Kept,
    base: Option<&FactsBase<'b, '_>>,
) -> Vec<Option<&'b PipelineFacts>> {
    match base {
        Some(base) => {
            let head = reuse::Head {
                kept,
                logins,
                tokens,
            };
            reuse::matches(base, analysis, opts, head)
        }
        None => vec![None; analysis.inventory.pipelines.len()],
    }
}

/// The facts of every pipeline (in inventory order), in parallel; those the base has equal
/// inputs for are copied.
fn pipelines(
    builder: &PipelineBuilder<'_, '_>,
    inventory: &[Pipeline],
    logins: &[PipelineLogins<'_>],
    reused: Vec<Option<&PipelineFacts>>,
) -> Vec<PipelineFacts> {
    let listed: Vec<&Pipeline> = inventory.iter().collect();
    listed
        .par_iter()
        .zip(logins.par_iter())
        .zip(reused.into_par_iter())
        .map(
            |((pipeline, (pipeline_logins, unknowns)), reused)| match reused {
                Some(facts) => facts.clone(),
                None => builder.pipeline(pipeline, pipeline_logins, unknowns),
            },
        )
        .collect()
}
