//! Facts of a what-if's head that are taken over from its base.
//!
//! A what-if of a small change (one role, one policy) leaves most pipelines' facts as they were.
//! A pipeline's facts are a function of its logins, the tokens those logins get (identity,
//! grants and the rule that decides each, the policies and wildcard rules behind every rule,
//! escalation chains) and of estate-wide data: the secret index, the team owners of secrets
//! and which policy rules are templated. When all of these are equal on both sides, the base's
//! facts of the pipeline are the head's: they are copied instead of recomputed. Everything else
//! (escalation searches, roles, policies, entities, namespaces) is still computed on the head,
//! so the head's document is the one a full build would give.

use std::sync::Arc;

use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

use super::escalation::{Gained, Reached};
use super::policy::Coverage;
use super::{role_id, role_kind, Built, FactsOptions, PipelineFacts, SourceKey, TokenInfo};
use crate::passes::reach::{Analysis, Login, PipelineLogins, TokenReach};

/// What a facts build worked from besides the analysis and the reach pass's logins and
/// tokens, kept to compare a later build of a similar estate with.
pub(crate) struct Kept {
    pub(super) infos: Vec<TokenInfo>,
    pub(super) src_keys: Vec<SourceKey>,
    pub(super) policy_names: Vec<String>,
    pub(super) templated_rules: FxHashSet<(String, String, u32)>,
    /// Tokens the escalation search compiled, by identity key.
    pub(super) escalation_tokens: FxHashMap<String, Arc<TokenReach>>,
    /// Known secrets each wildcard pattern covers (count, owning teams, unowned count).
    pub(super) coverage: FxHashMap<String, Coverage>,
    /// For each pipeline, whether its facts were copied from a base.
    pub(super) taken_over: Vec<bool>,
}

/// The facts of a what-if's base with everything they were built from: the document and what
/// the build kept, the analysis, and the logins and tokens of every pipeline of its inventory.
pub(crate) struct FactsBase<'r, 'a> {
    pub built: &'r Built,
    pub analysis: &'r Analysis<'a>,
    pub logins: &'r [PipelineLogins<'a>],
    pub tokens: &'r [TokenReach],
}

impl FactsBase<'_, '_> {
    /// Whether the secrets and their owners are the same as `analysis`'s (then anything
    /// computed from secrets and owners alone carries over).
    pub(super) fn same_secrets(&self, analysis: &Analysis<'_>) -> bool {
        Arc::ptr_eq(&self.analysis.secrets, &analysis.secrets)
            && std::ptr::eq(self.analysis.inventory, analysis.inventory)
    }
}

/// A facts build of the head of a what-if: what it kept, and the logins and tokens it read.
pub(super) struct Head<'x, 'a> {
    pub kept: &'x Kept,
    pub logins: &'x [PipelineLogins<'a>],
    pub tokens: &'x [TokenReach],
}

/// For each pipeline of the head (in inventory order), the base's facts of the same pipeline
/// when every input of those facts is equal on both sides.
pub(super) fn matches<'b>(
    base: &FactsBase<'b, '_>,
    analysis: &Analysis<'_>,
    opts: &FactsOptions,
    head: Head<'_, '_>,
) -> Vec<Option<&'b PipelineFacts>> {
    let pipeline_count = head.logins.len();
    let ours = &base.built.kept;
    let theirs = &base.built.facts;
    let comparable = base.same_secrets(analysis)
        && theirs.config == *opts
        && ours.templated_rules == head.kept.templated_rules
        && base.logins.len() == pipeline_count
        && theirs.pipelines.len() == pipeline_count;
    if !comparable {
        return vec![None; pipeline_count];
    }
    let by_key: FxHashMap<String, usize> = base
        .tokens
        .par_iter()
        .enumerate()
        .map(|(i, t)| (t.identity.cache_key(true), i))
        .collect();
    // Each head token, with the base token it is equal to.
    let token_match: Vec<Option<usize>> = head
        .tokens
        .par_iter()
        .enumerate()
        .map(|(i, t)| {
            let &j = by_key.get(&t.identity.cache_key(true))?;
            same_token(
                (
                    t,
                    &head.kept.infos[i],
                    &head.kept.src_keys,
                    &head.kept.policy_names,
                ),
                (
                    &base.tokens[j],
                    &ours.infos[j],
                    &ours.src_keys,
                    &ours.policy_names,
                ),
            )
            .then_some(j)
        })
        .collect();
    // A pipeline's wildcard facts are listed in the order each side interned their sources
    // (first seen over all tokens): a copy is only right when that order is the same for the
    // sources the pipeline uses. The sources each matched head token's grants use:
    let base_src: FxHashMap<&SourceKey, u32> = ours
        .src_keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k, i as u32))
        .collect();
    let used_sources: Vec<Vec<u32>> = head
        .tokens
        .par_iter()
        .zip(&head.kept.infos)
        .zip(&token_match)
        .map(|((t, info), m)| {
            if m.is_none() {
                return Vec::new();
            }
            let mut rules: Vec<u32> = t.grants.iter().map(|g| g.2).collect();
            rules.sort_unstable();
            rules.dedup();
            let mut srcs: Vec<u32> = rules
                .iter()
                .flat_map(|&r| info.wildcard_sources[r as usize].iter().copied())
                .collect();
            srcs.sort_unstable();
            srcs.dedup();
            srcs
        })
        .collect();
    let same_source_order = |ls: &[&Login<'_>]| {
        let mut srcs: Vec<u32> = ls
            .iter()
            .filter_map(|l| l.token)
            .flat_map(|t| used_sources[t].iter().copied())
            .collect();
        srcs.sort_unstable();
        srcs.dedup();
        let theirs: Option<Vec<u32>> = srcs
            .iter()
            .map(|&s| base_src.get(&head.kept.src_keys[s as usize]).copied())
            .collect();
        theirs.is_some_and(|t| t.windows(2).all(|w| w[0] < w[1]))
    };
    (0..pipeline_count)
        .into_par_iter()
        .map(|i| {
            let (head_logins, head_unknowns) = &head.logins[i];
            let (base_logins, base_unknowns) = &base.logins[i];
            // The facts read possible logins only.
            let head_possible: Vec<&Login<'_>> = possible(head_logins);
            let base_possible: Vec<&Login<'_>> = possible(base_logins);
            let same = head_unknowns == base_unknowns
                && head_possible.len() == base_possible.len()
                && head_possible
                    .iter()
                    .zip(&base_possible)
                    .all(|(a, b)| same_login(a, b, &token_match))
                && same_source_order(&head_possible);
            same.then(|| &theirs.pipelines[i])
        })
        .collect()
}

fn possible<'x, 'a>(ls: &'x [Login<'a>]) -> Vec<&'x Login<'a>> {
    ls.iter().filter(|l| l.admission.is_possible()).collect()
}

/// A login as the facts see it, with its token equal to the other's.
fn same_login(head: &Login<'_>, base: &Login<'_>, token_match: &[Option<usize>]) -> bool {
    let tokens = match (head.token, base.token) {
        (Some(h), Some(b)) => token_match[h] == Some(b),
        (None, None) => true,
        _ => false,
    };
    tokens
        && head.role == base.role
        && head.configured == base.configured
        && head.admission == base.admission
        && head.namespace.path == base.namespace.path
        && role_id("", head.mount, &head.role) == role_id("", base.mount, &base.role)
        && role_kind(head.mount, &head.role) == role_kind(base.mount, &base.role)
}

type TokenSide<'x> = (&'x TokenReach, &'x TokenInfo, &'x [SourceKey], &'x [String]);

/// Two tokens whose identity, unknowns, grants, deciding policies and wildcard rules per ACL
/// rule, and escalations are equal (interned ids resolved: each side interns in its own order).
fn same_token(h: TokenSide<'_>, b: TokenSide<'_>) -> bool {
    let (head_reach, head_info, head_source_keys, head_policy_names) = h;
    let (base_reach, base_info, base_source_keys, base_policy_names) = b;
    head_reach.identity == base_reach.identity
        && head_reach.unknowns == base_reach.unknowns
        && head_reach.grants == base_reach.grants
        && head_info.policy_labels == base_info.policy_labels
        && same_resolved(
            &head_info.wildcard_sources,
            head_source_keys,
            &base_info.wildcard_sources,
            base_source_keys,
        )
        && same_resolved(
            &head_info.policy_ids,
            head_policy_names,
            &base_info.policy_ids,
            base_policy_names,
        )
        && same_reached(&head_info.escalations, &base_info.escalations)
}

/// Per ACL rule, the same set of interned values once resolved in each side's table.
fn same_resolved<T: Ord>(x: &[Vec<u32>], xt: &[T], y: &[Vec<u32>], yt: &[T]) -> bool {
    x.len() == y.len()
        && x.iter().zip(y).all(|(a, b)| {
            if a.len() != b.len() {
                return false;
            }
            let mut resolved_a: Vec<&T> = a.iter().map(|&i| &xt[i as usize]).collect();
            let mut resolved_b: Vec<&T> = b.iter().map(|&i| &yt[i as usize]).collect();
            resolved_a.sort_unstable();
            resolved_b.sort_unstable();
            resolved_a == resolved_b
        })
}

/// Escalations equal in what the facts read of them: the node, its chain, and what it gains.
fn same_reached(a: &[Reached], b: &[Reached]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.key == y.key
                && x.chain == y.chain
                && match (&x.gained, &y.gained) {
                    (Gained::Token(s), Gained::Token(t)) => {
                        s.grants == t.grants
                            && s.identity.token_namespace == t.identity.token_namespace
                    }
                    (Gained::Full(s), Gained::Full(t)) => s == t,
                    (Gained::Nothing, Gained::Nothing) => true,
                    _ => false,
                }
        })
}
