//! What the diagrams need from the analysis, computed at token level so it stays cheap on large
//! estates: every pipeline's possible logins share compiled tokens, and a pipeline's reach is the
//! union of its tokens' grants (exactly what `reach` reports, without materialising per-secret
//! chains). Also the owner of every secret and the escalation chains of a pipeline.
//!
//! Owners and escalations come from the facts pass (`crate::ownership::Owners`,
//! `crate::facts::escalation::Escalations`), so diagrams, findings and the report agree on who
//! owns a secret and on what a token can escalate to.

use std::collections::BTreeMap;
use std::sync::Arc;

use rayon::prelude::*;

use crate::acl::Caps;
use crate::facts::escalation::{self, Escalations, Gained};
use crate::ownership::Owners;
use crate::passes::reach::{Analysis, PipelineLogins, Prepared, ReachOptions, TokenReach};

/// Capabilities that change or destroy a secret (`Caps::WRITE_OR_DELETE`): "writable" in
/// diagrams and the report.
pub const WRITE: Caps = Caps::WRITE_OR_DELETE;

/// One pipeline, with the tokens it can obtain.
#[derive(Debug, Clone)]
pub struct PipelineTokens {
    pub name: String,
    pub team: Option<String>,
    /// Namespace of its auth mount (`""` = root).
    pub namespace: String,
    /// How it reads Vault when it is a Kubernetes workload (`ci.consumer`).
    pub consumer: Option<crate::inventory::ConsumerKind>,
    /// Indices into the estate's compiled tokens.
    pub tokens: Vec<usize>,
}

/// Every pipeline's tokens, and the owners of every secret.
pub struct EstateReach<'a, 'b> {
    pub analysis: &'b Analysis<'a>,
    /// Every pipeline's logins and the tokens they get.
    prepared: Arc<Prepared<'a>>,
    pub pipelines: Vec<PipelineTokens>,
    pub owners: Owners,
}

/// A set of secret ids with the union of capabilities, as two bitsets.
#[derive(Debug, Clone)]
pub struct SecretSet {
    pub reach: Vec<u64>,
    pub write: Vec<u64>,
}

impl SecretSet {
    pub fn new(n: usize) -> SecretSet {
        SecretSet {
            reach: vec![0; n.div_ceil(64)],
            write: vec![0; n.div_ceil(64)],
        }
    }

    pub fn add(&mut self, id: u32, caps: Caps) {
        let (w, b) = (id as usize / 64, 1u64 << (id % 64));
        self.reach[w] |= b;
        if caps.intersects(WRITE) {
            self.write[w] |= b;
        }
    }

    pub fn contains(&self, id: u32) -> bool {
        self.reach[id as usize / 64] & (1u64 << (id % 64)) != 0
    }

    pub fn writes(&self, id: u32) -> bool {
        self.write[id as usize / 64] & (1u64 << (id % 64)) != 0
    }

    pub fn len(&self) -> usize {
        self.reach.iter().map(|w| w.count_ones() as usize).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.reach.iter().all(|w| *w == 0)
    }

    /// The ids in the set, ascending.
    pub fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.reach.iter().enumerate().flat_map(|(w, &bits)| {
            let mut remaining = bits;
            std::iter::from_fn(move || {
                if remaining == 0 {
                    return None;
                }
                let bit = remaining.trailing_zeros();
                remaining &= remaining - 1;
                Some(w as u32 * 64 + bit)
            })
        })
    }
}

impl<'a, 'b> EstateReach<'a, 'b> {
    /// Resolve every pipeline's logins and compile each distinct token once.
    pub fn build(analysis: &'b Analysis<'a>) -> EstateReach<'a, 'b> {
        let prepared = analysis.prepare_reach(&ReachOptions::default());
        Self::from_prepared(analysis, prepared.prepared().clone())
    }

    /// [`build`](Self::build) from the logins and tokens of every pipeline of the inventory,
    /// already prepared on `analysis` (with the default reach options).
    pub fn from_prepared(analysis: &'b Analysis<'a>, prepared: Arc<Prepared<'a>>) -> Self {
        let inv = analysis.inventory;
        let pipelines = prepared
            .selected()
            .iter()
            .zip(prepared.logins())
            .map(|(p, (ls, _))| {
                let mut tokens: Vec<usize> = ls.iter().filter_map(|l| l.token).collect();
                tokens.sort_unstable();
                tokens.dedup();
                PipelineTokens {
                    name: p.name.clone(),
                    team: p.team.clone(),
                    namespace: p.auth.namespace_path(),
                    consumer: p.ci.as_ref().and_then(|c| c.consumer),
                    tokens,
                }
            })
            .collect();
        EstateReach {
            analysis,
            owners: Owners::build(&analysis.secrets, inv),
            prepared,
            pipelines,
        }
    }

    pub fn secret_count(&self) -> usize {
        self.analysis.secrets.len()
    }

    /// The union of what the given pipelines reach.
    pub fn reach_of<'p>(
        &self,
        pipelines: impl IntoIterator<Item = &'p PipelineTokens>,
    ) -> SecretSet {
        let mut set = SecretSet::new(self.secret_count());
        let mut seen = rustc_hash::FxHashSet::default();
        for p in pipelines {
            for &t in &p.tokens {
                if !seen.insert(t) {
                    continue;
                }
                for &(sid, caps, _) in &self.prepared.tokens()[t].grants {
                    set.add(sid, caps);
                }
            }
        }
        set
    }

    /// Each pipeline's reach, in inventory order (computed in parallel).
    pub fn per_pipeline(&self) -> Vec<SecretSet> {
        self.pipelines
            .par_iter()
            .map(|p| self.reach_of(std::iter::once(p)))
            .collect()
    }

    /// The owning team of a secret.
    pub fn owner(&self, sid: u32) -> Option<&str> {
        self.owners.of(sid)
    }
}

/// One step of an escalation chain, as drawn.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct EscStep {
    pub kind: &'static str,
    pub namespace: String,
    pub path: String,
    pub target: String,
    pub effect: String,
    pub granted_by: Vec<String>,
}

/// An escalation chain a pipeline's token can take, with what it ends in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscChain {
    /// The logins (`namespace`, `mount`, `role`) whose token can take the first step.
    pub roles: Vec<(String, String, String)>,
    pub steps: Vec<EscStep>,
    /// `login`, `any-policy`, `full-namespace` or `none`.
    pub gain: &'static str,
    /// The chain's key (stable): what the attacker ends up holding.
    pub key: String,
    /// Secrets the end of the chain reaches.
    pub secrets: usize,
    /// The namespace of a full-namespace gain.
    pub namespace: Option<String>,
}

/// The escalation chains of each pipeline of `logins` (same order), searched `depth` steps
/// deep from the tokens its logins hold. The logins and tokens are those the pipelines' reach
/// was prepared with, so a command that shows both computes them once. Tokens shared by
/// several pipelines are searched once.
pub fn escalation_chains(
    analysis: &Analysis<'_>,
    logins: &[PipelineLogins<'_>],
    tokens: &[TokenReach],
    depth: usize,
) -> Vec<Vec<EscChain>> {
    if depth == 0 {
        return vec![Vec::new(); logins.len()];
    }
    let esc = Escalations::new(analysis, depth);
    let found: Vec<Vec<escalation::Reached>> = tokens.par_iter().map(|t| esc.search(t)).collect();
    escalation_chains_of(analysis, logins, &found)
}

/// [`escalation_chains`] from the escalations already searched from each token (`found`, in
/// the tokens' order): the facts search them too, and a command that shows both searches once.
pub(crate) fn escalation_chains_of(
    analysis: &Analysis<'_>,
    logins: &[PipelineLogins<'_>],
    found: &[Vec<escalation::Reached>],
) -> Vec<Vec<EscChain>> {
    logins
        .iter()
        .map(|(ls, _)| {
            let mut by_key: BTreeMap<String, EscChain> = BTreeMap::new();
            for l in ls {
                let Some(t) = l.token else { continue };
                let role = (
                    crate::model::namespace_path(&l.namespace.path).into_owned(),
                    l.mount.path.trim_end_matches('/').to_string(),
                    l.role.clone(),
                );
                for r in &found[t] {
                    let chain = by_key.entry(r.key.clone()).or_insert_with(|| EscChain {
                        roles: Vec::new(),
                        steps: r
                            .chain
                            .iter()
                            .map(|s| EscStep {
                                kind: s.kind,
                                namespace: s.namespace.clone(),
                                path: s.path.clone(),
                                target: s.target.clone(),
                                effect: s.effect.clone(),
                                granted_by: s.granted_by.clone(),
                            })
                            .collect(),
                        gain: r.gain_kind(),
                        key: r.key.clone(),
                        secrets: match &r.gained {
                            Gained::Token(t) => t.grants.len(),
                            Gained::Full(ns) => escalation::namespace_secrets(analysis, ns).len(),
                            Gained::Nothing => 0,
                        },
                        namespace: match &r.gained {
                            Gained::Full(ns) => Some(ns.clone()),
                            _ => None,
                        },
                    });
                    if !chain.roles.contains(&role) {
                        chain.roles.push(role.clone());
                    }
                }
            }
            let mut chains: Vec<EscChain> = by_key.into_values().collect();
            for c in &mut chains {
                c.roles.sort();
            }
            // Most rewarding first, then shortest, then by key.
            chains.sort_by(|a, b| {
                b.secrets
                    .cmp(&a.secrets)
                    .then(a.steps.len().cmp(&b.steps.len()))
                    .then(a.key.cmp(&b.key))
            });
            chains
        })
        .collect()
}
