//! Per-pipeline escalations and blast radius: the escalation chains a pipeline's tokens can
//! take (from `escalation.rs`'s search), grouped by their first step's kind, with the secrets
//! each kind adds beyond the direct reach, and the blast radius over all kinds.

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashSet;
use serde::Serialize;

use super::escalation::{self, Gained, Reached, Step};
use super::pipeline::{PipelineBuilder, UsedToken};

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ChainFacts {
    pub steps: Vec<Step>,
    /// `login`, `any-policy`, `full-namespace` or `none`.
    pub gain: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Secrets the end of the chain reaches (all of them, not only new ones).
    pub secrets: usize,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct EscalationFacts {
    /// The first step's primitive (see `escalation::Step::kind`).
    pub kind: &'static str,
    /// Distinct targets of that first step (sample) and their count.
    pub targets: Vec<String>,
    pub targets_count: usize,
    /// The pipeline's logins whose tokens can take the step.
    pub roles: Vec<String>,
    /// Example chains, the most rewarding first.
    pub chains: Vec<ChainFacts>,
    pub max_depth: usize,
    /// Namespaces the attacker gets full control of.
    pub full_namespaces: Vec<String>,
    /// Secrets added to the blast radius (not reachable directly), per owning team, sample.
    pub gained_secrets: usize,
    pub gained_by_owner: BTreeMap<String, usize>,
    pub gained_sample: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Default, schemars::JsonSchema)]
pub struct BlastRadius {
    pub direct: usize,
    /// Secrets added by escalation.
    pub escalated: usize,
    pub total: usize,
    pub escalated_by_owner: BTreeMap<String, usize>,
}

/// A small bitset over secret ids.
struct Bits(Vec<u64>);

impl Bits {
    fn new(len: usize) -> Bits {
        Bits(vec![0; len.div_ceil(64)])
    }
    fn set(&mut self, index: usize) {
        self.0[index / 64] |= 1 << (index % 64);
    }
    fn set_range(&mut self, range: std::ops::Range<usize>) {
        for index in range {
            self.set(index);
        }
    }
    fn or(&mut self, other: &Bits) {
        for (word, other_word) in self.0.iter_mut().zip(&other.0) {
            *word |= other_word;
        }
    }
    fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().enumerate().flat_map(|(word_index, &word)| {
            let mut remaining = word;
            std::iter::from_fn(move || {
                if remaining == 0 {
                    return None;
                }
                let bit = remaining.trailing_zeros() as usize;
                remaining &= remaining - 1;
                Some(word_index * 64 + bit)
            })
        })
    }
}

/// A reached node, identified by its chain's first step (kind, target) and the reached key.
type NodeKey<'x> = (&'x str, &'x str, &'x str);

/// One node the escalation search reached from any of a pipeline's tokens: the shortest chain
/// to it, and the roles whose tokens reach it.
struct Node<'x> {
    shortest: &'x Reached,
    roles: BTreeSet<&'x str>,
}

/// Secrets an escalation adds beyond the direct reach: how many, per owning team, and a sample.
struct GainedReach {
    secrets: usize,
    by_owner: BTreeMap<String, usize>,
    sample: Vec<String>,
}

impl PipelineBuilder<'_, '_> {
    /// The escalations of a pipeline's tokens, grouped by kind, and its blast radius.
    pub(super) fn escalations(
        &self,
        used_tokens: &[UsedToken],
        direct: &FxHashSet<u32>,
    ) -> (Vec<EscalationFacts>, BlastRadius) {
        let nodes = self.reached_nodes(used_tokens);
        if nodes.is_empty() {
            return (Vec::new(), BlastRadius::default());
        }
        let mut by_kind: BTreeMap<&'static str, Vec<&Node<'_>>> = BTreeMap::new();
        for node in nodes.values() {
            by_kind
                .entry(node.shortest.chain[0].kind)
                .or_default()
                .push(node);
        }
        let secret_count = self.analysis.secrets.len();
        let mut all = Bits::new(secret_count);
        let mut out = Vec::new();
        for (kind, kind_nodes) in by_kind {
            let mut bits = Bits::new(secret_count);
            out.push(self.escalation_kind(kind, kind_nodes, &mut bits, direct));
            all.or(&bits);
        }
        let gained = self.gained(&all, direct);
        (
            out,
            BlastRadius {
                direct: direct.len(),
                escalated: gained.secrets,
                total: direct.len() + gained.secrets,
                escalated_by_owner: gained.by_owner,
            },
        )
    }

    /// Merge the reached nodes of every token, keeping the shortest chain per node.
    fn reached_nodes<'x>(
        &'x self,
        used_tokens: &'x [UsedToken],
    ) -> BTreeMap<NodeKey<'x>, Node<'x>> {
        let mut nodes: BTreeMap<NodeKey<'x>, Node<'x>> = BTreeMap::new();
        for used in used_tokens {
            for reached in &self.infos[used.token].escalations {
                let node = nodes
                    .entry((
                        reached.chain[0].kind,
                        reached.chain[0].target.as_str(),
                        reached.key.as_str(),
                    ))
                    .or_insert(Node {
                        shortest: reached,
                        roles: BTreeSet::new(),
                    });
                if reached.chain.len() < node.shortest.chain.len() {
                    node.shortest = reached;
                }
                node.roles.insert(used.role.as_str());
            }
        }
        nodes
    }

    /// How many secrets a reached node gives.
    fn node_secrets(&self, reached: &Reached) -> usize {
        match &reached.gained {
            Gained::Token(token) => token.grants.len(),
            Gained::Full(ns) => escalation::namespace_secrets(self.analysis, ns).len(),
            Gained::Nothing => 0,
        }
    }

    /// The facts of the escalations of one kind; sets in `bits` every secret they reach.
    fn escalation_kind(
        &self,
        kind: &'static str,
        mut nodes: Vec<&Node<'_>>,
        bits: &mut Bits,
        direct: &FxHashSet<u32>,
    ) -> EscalationFacts {
        let mut full = BTreeSet::new();
        let mut targets = BTreeSet::new();
        let mut roles = BTreeSet::new();
        let mut max_depth = 0;
        for node in &nodes {
            let reached = node.shortest;
            targets.insert(reached.chain[0].target.clone());
            roles.extend(node.roles.iter().map(|role| role.to_string()));
            max_depth = max_depth.max(reached.chain.len());
            match &reached.gained {
                Gained::Token(token) => {
                    for &(secret, _, _) in &token.grants {
                        bits.set(secret as usize);
                    }
                }
                Gained::Full(ns) => {
                    full.insert(ns.clone());
                    bits.set_range(escalation::namespace_secrets(self.analysis, ns));
                }
                Gained::Nothing => {}
            }
        }
        // Most rewarding chains first, then shortest.
        nodes.sort_by(|a, b| {
            self.node_secrets(b.shortest)
                .cmp(&self.node_secrets(a.shortest))
                .then(a.shortest.chain.len().cmp(&b.shortest.chain.len()))
                .then(a.shortest.key.cmp(&b.shortest.key))
        });
        let chains = nodes
            .iter()
            .take(3)
            .map(|node| self.chain(node.shortest))
            .collect();
        let gained = self.gained(bits, direct);
        let targets_count = targets.len();
        EscalationFacts {
            kind,
            targets: targets.into_iter().take(self.opts.sample).collect(),
            targets_count,
            roles: roles.into_iter().collect(),
            chains,
            max_depth,
            full_namespaces: full.into_iter().collect(),
            gained_secrets: gained.secrets,
            gained_by_owner: gained.by_owner,
            gained_sample: gained.sample,
        }
    }

    /// One chain as the document shows it.
    fn chain(&self, reached: &Reached) -> ChainFacts {
        ChainFacts {
            steps: reached.chain.clone(),
            gain: reached.gain_kind(),
            namespace: match &reached.gained {
                Gained::Full(ns) => Some(ns.clone()),
                Gained::Token(token) => Some(token.identity.token_namespace.clone()),
                Gained::Nothing => None,
            },
            secrets: self.node_secrets(reached),
        }
    }

    /// Secrets set in `bits` and not in `direct`: count, per owner, sample.
    fn gained(&self, bits: &Bits, direct: &FxHashSet<u32>) -> GainedReach {
        let mut gained = GainedReach {
            secrets: 0,
            by_owner: BTreeMap::new(),
            sample: Vec::new(),
        };
        for index in bits.iter() {
            let secret = index as u32;
            if direct.contains(&secret) {
                continue;
            }
            gained.secrets += 1;
            if let Some(owner) = self.owners.of(secret) {
                *gained.by_owner.entry(owner.to_string()).or_insert(0) += 1;
            }
            if gained.sample.len() < self.opts.sample {
                gained.sample.push(self.path_of(secret));
            }
        }
        gained
    }
}
