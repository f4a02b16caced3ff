//! `blastmap path`: how exactly a pipeline reaches a secret. Every chain is a walk of the
//! [`BlastGraph`]: a login to a token, the escalation steps the token can take (to the review's
//! escalation depth), and the grant that decides the secret, expanded into the role, entity or
//! group, policy and rule behind it. Chains are ranked by length, shortest first.

use std::collections::BTreeMap;
use std::sync::Arc;

use petgraph::stable_graph::NodeIndex;
use rustc_hash::FxHashMap;
use serde::Serialize;

use super::{BlastGraph, Edge, GrantSource, Holding, Node, RoleName};
use crate::acl::Caps;
use crate::facts::escalation::Step;
use crate::login::Verdict;

/// More escalation walks than this from one pipeline are not enumerated (said in the answer).
const WALK_BUDGET: usize = 100_000;

/// A secret by namespace and API path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
pub struct SecretRef {
    /// Namespace path (`""` is root).
    pub namespace: String,
    /// API path relative to the namespace (`secret/data/payments/db`).
    pub path: String,
}

/// One element of a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChainStep {
    Pipeline {
        name: String,
    },
    /// The login, to this role.
    Login {
        namespace: String,
        mount: String,
        role: String,
        /// `admitted`, or `unknown` when the login could not be decided.
        verdict: Verdict,
    },
    /// An escalation step the token at this point of the chain can take.
    Escalation {
        step: Step,
    },
    /// The end of an escalation that gives full control of a namespace and its descendants.
    FullControl {
        namespace: String,
    },
    Entity {
        id: String,
        name: String,
    },
    Group {
        id: String,
        name: String,
    },
    Policy {
        namespace: String,
        name: String,
    },
    Rule {
        policy_namespace: String,
        policy: String,
        rule: String,
        line: u32,
    },
    Secret {
        namespace: String,
        path: String,
    },
}

impl ChainStep {
    /// A short label for a table or a diagram.
    pub fn label(&self) -> String {
        match self {
            ChainStep::Pipeline { name } => format!("pipeline {name}"),
            ChainStep::Login {
                namespace,
                mount,
                role,
                verdict,
            } => {
                let unknown = if *verdict == Verdict::Unknown {
                    " (admission unknown)"
                } else {
                    ""
                };
                format!("login {namespace}auth/{mount}/role/{role}{unknown}")
            }
            ChainStep::Escalation { step } => format!(
                "escalation {} on {}{} ({})",
                step.kind, step.namespace, step.path, step.target
            ),
            ChainStep::FullControl { namespace } => {
                format!("full control of {}", super::namespace_label(namespace))
            }
            ChainStep::Entity { name, .. } => format!("entity {name}"),
            ChainStep::Group { name, .. } => format!("group {name}"),
            ChainStep::Policy { namespace, name } => format!("policy {namespace}{name}"),
            ChainStep::Rule {
                policy_namespace,
                policy,
                rule,
                line,
            } => format!("rule {rule:?} ({policy_namespace}{policy} line {line})"),
            ChainStep::Secret { namespace, path } => format!("secret {namespace}{path}"),
        }
    }
}

/// One way a pipeline reaches a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Chain {
    /// Hops from the pipeline to the secret (steps less one).
    pub length: usize,
    /// How many escalation steps the chain takes (0: direct access).
    pub escalations: usize,
    /// What the end of the chain grants on the secret.
    pub capabilities: Vec<&'static str>,
    pub steps: Vec<ChainStep>,
}

/// A secret a pipeline reaches, with the chains behind it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Target {
    pub namespace: String,
    pub path: String,
    /// What the pipeline's logins grant directly (`blastmap reach`'s capabilities; empty when
    /// only an escalation reaches the secret).
    pub capabilities: Vec<&'static str>,
    /// What the escalation chains add (every capability under full control of a namespace).
    pub escalated_capabilities: Vec<&'static str>,
    /// The shortest chain's length.
    pub shortest: usize,
    /// Chains found (at most `--max-paths` are listed).
    pub chains_total: usize,
    pub chains: Vec<Chain>,
}

/// What one pipeline reaches, and how.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PipelinePaths {
    pub pipeline: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    pub targets: Vec<Target>,
    /// What blastmap could not decide about this pipeline's logins (reach may be larger).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknowns: Vec<String>,
    /// Set when the escalation walks were cut at the walk budget: more chains may exist.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub walks_truncated: bool,
}

/// The answer of `blastmap path --format json`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PathsAnswer {
    pub schema_version: u32,
    /// Escalation steps are followed this many steps from each login.
    pub escalation_depth: usize,
    /// The secret asked for (`--to`), when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<SecretRef>,
    /// The pipeline asked for (`--from`), or every pipeline that reaches `to`.
    pub pipelines: Vec<PipelinePaths>,
}

/// What to look for.
#[derive(Debug, Clone, Default)]
pub struct PathQuery {
    /// Chains listed per target (all are counted).
    pub max_paths: usize,
    /// Only this secret (all secrets the pipeline reaches when `None`).
    pub to: Option<SecretRef>,
}

/// The walks that end at one node, in order of length, and the chain heads of the first
/// `--max-paths` of them.
struct WalkEnds<'w> {
    node: NodeIndex,
    walks: &'w [&'w Walk],
    heads: &'w [Vec<ChainStep>],
}

/// How a token holds each of its policies, and the entity its login maps to.
struct Explainer {
    holdings: FxHashMap<(String, String), Vec<Holding>>,
    entity: Option<ChainStep>,
}

impl Explainer {
    /// The ways the token holds the rules that decide a grant: per rule, per way the token
    /// holds its policy (from the role, the entity, or a group), the steps entity → group →
    /// policy → rule.
    fn tails(&self, sources: &[GrantSource]) -> Vec<Vec<ChainStep>> {
        let mut tails = Vec::new();
        for source in sources {
            let policy = (source.policy_namespace.clone(), source.policy.clone());
            let role = [Holding::Role];
            let ways = self.holdings.get(&policy).map_or(&role[..], Vec::as_slice);
            for holding in ways {
                let mut tail = Vec::new();
                match holding {
                    Holding::Role => {}
                    Holding::Entity { id, name } => tail.push(ChainStep::Entity {
                        id: id.clone(),
                        name: name.clone(),
                    }),
                    Holding::Group { id, name } => {
                        tail.extend(self.entity.clone());
                        tail.push(ChainStep::Group {
                            id: id.clone(),
                            name: name.clone(),
                        });
                    }
                }
                tail.push(ChainStep::Policy {
                    namespace: policy.0.clone(),
                    name: policy.1.clone(),
                });
                tail.push(ChainStep::Rule {
                    policy_namespace: source.policy_namespace.clone(),
                    policy: source.policy.clone(),
                    rule: source.rule.clone(),
                    line: source.line,
                });
                tails.push(tail);
            }
        }
        tails
    }
}

/// The walk from a login's token to where a chain of escalation steps ends.
struct Walk {
    login: usize,
    steps: Vec<Arc<Step>>,
    /// The login's token, then each step's end.
    nodes: Vec<NodeIndex>,
}

impl Walk {
    fn end(&self) -> NodeIndex {
        *self.nodes.last().expect("a walk starts at a token")
    }
}

/// A login of the pipeline: the token and the role logged in to.
struct LoginEdge {
    token: NodeIndex,
    role: Arc<RoleName>,
    verdict: Verdict,
}

/// Chains of one target while they are gathered.
#[derive(Default)]
struct Gathered {
    direct: Caps,
    escalated: Caps,
    total: usize,
    chains: Vec<Chain>,
}

impl BlastGraph {
    /// The chains from `pipeline` (a pipeline node) to what `query` asks for, or `None` when
    /// the pipeline is not in the graph.
    pub fn paths(&self, pipeline: &str, query: &PathQuery) -> Option<PipelinePaths> {
        let node = self.find(&Node::Pipeline {
            name: pipeline.to_string(),
        })?;
        let team = self
            .incoming(node)
            .find_map(|(edge, from)| match (edge, &self.graph[from]) {
                (Edge::Runs, Node::Team { name }) => Some(name.clone()),
                _ => None,
            });
        let logins = self.logins(node);
        let (walks, walks_truncated) = self.walks(&logins);
        let only = match &query.to {
            Some(secret) => match self.secret(&secret.namespace, &secret.path) {
                Some(secret) => Some(secret),
                None => {
                    return Some(PipelinePaths {
                        pipeline: pipeline.to_string(),
                        team,
                        targets: Vec::new(),
                        unknowns: Vec::new(),
                        walks_truncated,
                    })
                }
            },
            None => None,
        };
        let mut by_end: BTreeMap<NodeIndex, Vec<&Walk>> = BTreeMap::new();
        for walk in &walks {
            by_end.entry(walk.end()).or_default().push(walk);
        }
        let mut gathered: BTreeMap<NodeIndex, Gathered> = BTreeMap::new();
        for (end, ending_here) in by_end {
            let heads: Vec<Vec<ChainStep>> = ending_here
                .iter()
                .take(query.max_paths)
                .map(|walk| self.chain_head(pipeline, &logins[walk.login], walk))
                .collect();
            let ends = WalkEnds {
                node: end,
                walks: &ending_here,
                heads: &heads,
            };
            self.gather_end(&ends, only, query.max_paths, &mut gathered);
        }
        let targets = gathered
            .into_iter()
            .map(|(secret, found)| self.target(secret, found))
            .collect();
        Some(PipelinePaths {
            pipeline: pipeline.to_string(),
            team,
            targets,
            unknowns: Vec::new(),
            walks_truncated,
        })
    }

    /// Every pipeline node's name, in graph order.
    pub fn pipelines(&self) -> Vec<String> {
        self.graph
            .node_indices()
            .filter_map(|i| match &self.graph[i] {
                Node::Pipeline { name } => Some(name.clone()),
                _ => None,
            })
            .collect()
    }

    fn logins(&self, pipeline: NodeIndex) -> Vec<LoginEdge> {
        let mut logins: Vec<LoginEdge> = self
            .out(pipeline)
            .filter_map(|(edge, token)| match edge {
                Edge::LogsInto { verdict, role, .. } => Some(LoginEdge {
                    token,
                    role: self.role(*role).clone(),
                    verdict: *verdict,
                }),
                _ => None,
            })
            .collect();
        logins.sort_by(|a, b| a.role.cmp(&b.role).then(a.token.cmp(&b.token)));
        logins
    }

    /// Every walk from each login's token along escalation edges, without repeating a node,
    /// at most the graph's escalation depth long, shortest first.
    fn walks(&self, logins: &[LoginEdge]) -> (Vec<Walk>, bool) {
        let mut walks: Vec<Walk> = logins
            .iter()
            .enumerate()
            .map(|(login, edge)| Walk {
                login,
                steps: Vec::new(),
                nodes: vec![edge.token],
            })
            .collect();
        let mut level_start = 0;
        for _ in 0..self.escalation_depth {
            let level_end = walks.len();
            for index in level_start..level_end {
                let mut next = Vec::new();
                let walk = &walks[index];
                for (edge, to) in self.out(walk.end()) {
                    let Edge::Escalates(step) = edge else {
                        continue;
                    };
                    let step = self.step(*step);
                    if walk.nodes.contains(&to) {
                        continue;
                    }
                    let mut steps = walk.steps.clone();
                    steps.push(step.clone());
                    let mut nodes = walk.nodes.clone();
                    nodes.push(to);
                    next.push(Walk {
                        login: walk.login,
                        steps,
                        nodes,
                    });
                }
                if walks.len() + next.len() > WALK_BUDGET {
                    return (walks, true);
                }
                walks.extend(next);
            }
            level_start = level_end;
        }
        (walks, false)
    }

    /// The secrets the walks ending at one node reach (all, or only `only`), with their chains.
    /// Walks are in order of length, so the first `max_paths` of them give the best chains for
    /// each secret; the others are counted, not built.
    fn gather_end(
        &self,
        ends: &WalkEnds<'_>,
        only: Option<NodeIndex>,
        max_paths: usize,
        gathered: &mut BTreeMap<NodeIndex, Gathered>,
    ) {
        match &self.graph[ends.node] {
            Node::Namespace { path } => {
                let covered: Vec<NodeIndex> = match only {
                    Some(secret) if self.in_namespace(secret, path) => vec![secret],
                    Some(_) => Vec::new(),
                    None => self.secrets_under(path),
                };
                for secret in covered {
                    let entry = gathered.entry(secret).or_default();
                    entry.escalated |= FULL_CONTROL;
                    entry.total += ends.walks.len();
                    for (head, walk) in ends.heads.iter().zip(ends.walks) {
                        let mut steps = head.clone();
                        steps.push(ChainStep::FullControl {
                            namespace: path.clone(),
                        });
                        steps.push(self.secret_step(secret));
                        keep_chain(
                            entry,
                            chain(steps, walk.steps.len(), FULL_CONTROL),
                            max_paths,
                        );
                    }
                }
            }
            Node::Token { .. } => {
                let grants: Vec<(NodeIndex, Caps, &Arc<[GrantSource]>)> = match only {
                    Some(secret) => self.grant(ends.node, secret).into_iter().collect(),
                    None => self.grants(ends.node),
                };
                let explainer = self.explainer(ends.node);
                let direct = ends.walks.iter().any(|w| w.steps.is_empty());
                let escalated = ends.walks.iter().any(|w| !w.steps.is_empty());
                for (secret, capabilities, sources) in grants {
                    let entry = gathered.entry(secret).or_default();
                    if direct {
                        entry.direct |= capabilities;
                    }
                    if escalated {
                        entry.escalated |= capabilities;
                    }
                    let tails = explainer.tails(sources);
                    entry.total += ends.walks.len() * tails.len();
                    for (head, walk) in ends.heads.iter().zip(ends.walks) {
                        for tail in tails.iter().take(max_paths) {
                            let mut steps = head.clone();
                            steps.extend(tail.iter().cloned());
                            steps.push(self.secret_step(secret));
                            keep_chain(
                                entry,
                                chain(steps, walk.steps.len(), capabilities),
                                max_paths,
                            );
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// Pipeline, login and escalation steps: the part of a chain before the grant.
    fn chain_head(&self, pipeline: &str, login: &LoginEdge, walk: &Walk) -> Vec<ChainStep> {
        let mut steps = vec![
            ChainStep::Pipeline {
                name: pipeline.to_string(),
            },
            ChainStep::Login {
                namespace: login.role.namespace.clone(),
                mount: login.role.mount.clone(),
                role: login.role.role.clone(),
                verdict: login.verdict,
            },
        ];
        steps.extend(walk.steps.iter().map(|step| ChainStep::Escalation {
            step: Step::clone(step),
        }));
        steps
    }

    /// The token's grant on one secret.
    fn grant(
        &self,
        token: NodeIndex,
        secret: NodeIndex,
    ) -> Option<(NodeIndex, Caps, &Arc<[GrantSource]>)> {
        self.incoming(secret).find_map(|(edge, from)| match edge {
            Edge::Grants {
                capabilities,
                sources,
            } if from == token => Some((secret, *capabilities, self.sources(*sources))),
            _ => None,
        })
    }

    /// Every grant of a token.
    fn grants(&self, token: NodeIndex) -> Vec<(NodeIndex, Caps, &Arc<[GrantSource]>)> {
        self.out(token)
            .filter_map(|(edge, secret)| match edge {
                Edge::Grants {
                    capabilities,
                    sources,
                } => Some((secret, *capabilities, self.sources(*sources))),
                _ => None,
            })
            .collect()
    }

    /// What explains a token's grants: how it holds each policy, and its entity.
    fn explainer(&self, token: NodeIndex) -> Explainer {
        let entity = self.incoming(token).find_map(|(edge, from)| match edge {
            Edge::IdentityOf => match &self.graph[from] {
                Node::Entity { id, name } => Some(ChainStep::Entity {
                    id: id.clone(),
                    name: name.clone(),
                }),
                _ => None,
            },
            _ => None,
        });
        Explainer {
            holdings: self.holdings(token),
            entity,
        }
    }

    /// How the token holds each of its policies.
    fn holdings(&self, token: NodeIndex) -> FxHashMap<(String, String), Vec<Holding>> {
        let mut holdings: FxHashMap<(String, String), Vec<Holding>> = FxHashMap::default();
        for (edge, from) in self.incoming(token) {
            if let (Edge::AppliesTo { holding }, Node::Policy { namespace, name }) =
                (edge, &self.graph[from])
            {
                let holding = self.holding(*holding);
                let ways = holdings
                    .entry((namespace.clone(), name.clone()))
                    .or_default();
                ways.push(holding.clone());
                ways.sort_by_key(|h| h.word());
            }
        }
        holdings
    }

    fn secret_step(&self, secret: NodeIndex) -> ChainStep {
        match &self.graph[secret] {
            Node::Secret { namespace, path } => ChainStep::Secret {
                namespace: namespace.clone(),
                path: path.clone(),
            },
            other => ChainStep::Secret {
                namespace: String::new(),
                path: other.label(),
            },
        }
    }

    fn in_namespace(&self, secret: NodeIndex, namespace: &str) -> bool {
        matches!(&self.graph[secret], Node::Secret { namespace: ns, .. } if ns.starts_with(namespace))
    }

    /// Every secret of a namespace and its descendants. Secrets are in the order of their full
    /// paths (namespace, then path), so they all lie in the range whose full paths start with
    /// the namespace; a root secret whose own path starts like the namespace is in that range
    /// too, and is filtered out.
    fn secrets_under(&self, namespace: &str) -> Vec<NodeIndex> {
        let below = |node: &NodeIndex| match &self.graph[*node] {
            Node::Secret {
                namespace: ns,
                path,
            } => {
                let full = ns.bytes().chain(path.bytes());
                full.take(namespace.len()).lt(namespace.bytes())
            }
            _ => true,
        };
        let start = self.secrets.partition_point(below);
        let len = self.secrets[start..].partition_point(|node| match &self.graph[*node] {
            Node::Secret {
                namespace: ns,
                path,
            } => ns
                .bytes()
                .chain(path.bytes())
                .take(namespace.len())
                .eq(namespace.bytes()),
            _ => false,
        });
        self.secrets[start..start + len]
            .iter()
            .copied()
            .filter(|&s| self.in_namespace(s, namespace))
            .collect()
    }

    fn target(&self, secret: NodeIndex, mut found: Gathered) -> Target {
        found.chains.sort_by(rank);
        let (namespace, path) = match &self.graph[secret] {
            Node::Secret { namespace, path } => (namespace.clone(), path.clone()),
            other => (String::new(), other.label()),
        };
        Target {
            namespace,
            path,
            capabilities: held(found.direct),
            escalated_capabilities: held(found.escalated),
            shortest: found.chains.first().map_or(0, |c| c.length),
            chains_total: found.total,
            chains: found.chains,
        }
    }
}

/// Every capability a token can hold on a secret, for full control of a namespace.
const FULL_CONTROL: Caps = Caps(
    Caps::CREATE.0
        | Caps::READ.0
        | Caps::UPDATE.0
        | Caps::PATCH.0
        | Caps::DELETE.0
        | Caps::LIST.0
        | Caps::SUDO.0,
);

/// The capabilities held, none when the set is empty (not `["deny"]`, which is what
/// `sys/capabilities` answers for a path nothing grants).
fn held(caps: Caps) -> Vec<&'static str> {
    if caps.is_empty() {
        Vec::new()
    } else {
        caps.names()
    }
}

fn chain(steps: Vec<ChainStep>, escalations: usize, capabilities: Caps) -> Chain {
    Chain {
        length: steps.len() - 1,
        escalations,
        capabilities: capabilities.names(),
        steps,
    }
}

/// Shortest first, then fewer escalations, then by the steps' labels (stable output).
fn rank(a: &Chain, b: &Chain) -> std::cmp::Ordering {
    a.length
        .cmp(&b.length)
        .then(a.escalations.cmp(&b.escalations))
        .then_with(|| {
            let labels = |c: &Chain| c.steps.iter().map(ChainStep::label).collect::<Vec<_>>();
            labels(a).cmp(&labels(b))
        })
}

/// Keep a chain if it is among the `max_paths` best so far (chains are counted by the caller).
fn keep_chain(entry: &mut Gathered, chain: Chain, max_paths: usize) {
    if max_paths == 0 {
        return;
    }
    if entry.chains.len() < max_paths {
        entry.chains.push(chain);
        return;
    }
    let worst = (0..entry.chains.len())
        .max_by(|&a, &b| rank(&entry.chains[a], &entry.chains[b]))
        .expect("max_paths > 0");
    if rank(&chain, &entry.chains[worst]) == std::cmp::Ordering::Less {
        entry.chains[worst] = chain;
    }
}
