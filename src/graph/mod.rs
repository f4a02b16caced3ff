//! The blast-radius graph: typed nodes (pipeline, team, namespace, auth mount, role, entity,
//! group, policy, rule, secret mount, secret) and typed edges, built once from an analysis and
//! its reach results, then queried (chains for a pipeline, who reaches a secret) and rendered.
//!
//! Grants are edges from the rule that *decides* a secret for some token to that secret: the ACL
//! engine has already applied the server's priority and deny semantics, so every rule → secret
//! edge is a real grant, and every path pipeline → role → policy → rule → secret in the graph is a
//! real chain.

use std::collections::HashMap;

use rustc_hash::{FxHashMap, FxHashSet};

use petgraph::stable_graph::{NodeIndex, StableDiGraph};
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use serde::Serialize;

use crate::acl::Caps;
use crate::ownership::Owners;
use crate::passes::identity::PolicyOrigin;
use crate::passes::reach::{Analysis, PipelineReach};

/// A node of the graph. Names are as in the snapshot; `namespace` is a namespace path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Node {
    Team {
        name: String,
    },
    Pipeline {
        name: String,
    },
    Namespace {
        path: String,
    },
    AuthMount {
        namespace: String,
        path: String,
    },
    Role {
        namespace: String,
        mount: String,
        name: String,
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
        namespace: String,
        policy: String,
        pattern: String,
        line: u32,
    },
    SecretMount {
        namespace: String,
        path: String,
    },
    Secret {
        namespace: String,
        path: String,
    },
}

impl Node {
    /// A short label for people.
    pub fn label(&self) -> String {
        match self {
            Node::Team { name } => name.clone(),
            Node::Pipeline { name } => name.clone(),
            Node::Namespace { path } => {
                if path.is_empty() {
                    "root".to_string()
                } else {
                    path.clone()
                }
            }
            Node::AuthMount { namespace, path } => format!("{namespace}auth/{path}"),
            Node::Role { mount, name, .. } => format!("{mount}/{name}"),
            Node::Entity { name, .. } => name.clone(),
            Node::Group { name, .. } => name.clone(),
            Node::Policy { name, .. } => name.clone(),
            Node::Rule { pattern, .. } => pattern.clone(),
            Node::SecretMount { namespace, path } => format!("{namespace}{path}"),
            Node::Secret { namespace, path } => format!("{namespace}{path}"),
        }
    }

    /// The kind, as a word (`pipeline`, `role`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Node::Team { .. } => "team",
            Node::Pipeline { .. } => "pipeline",
            Node::Namespace { .. } => "namespace",
            Node::AuthMount { .. } => "auth_mount",
            Node::Role { .. } => "role",
            Node::Entity { .. } => "entity",
            Node::Group { .. } => "group",
            Node::Policy { .. } => "policy",
            Node::Rule { .. } => "rule",
            Node::SecretMount { .. } => "secret_mount",
            Node::Secret { .. } => "secret",
        }
    }
}

/// An edge of the graph.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Edge {
    /// team → pipeline
    Runs,
    /// team → secret: the secret matches one of the team's `owns` patterns.
    Owns,
    /// namespace → auth mount / secret mount
    Contains,
    /// auth mount → role
    HasRole,
    /// pipeline → role: the pipeline can log in (`admitted` or `unknown`).
    LogsInto {
        verdict: crate::login::Verdict,
        configured: bool,
    },
    /// role → policy (token policies)
    TokenPolicy,
    /// role → entity: the login's alias maps to this entity.
    MapsTo,
    /// entity → group, group → parent group
    MemberOf,
    /// entity/group → policy (identity policies)
    IdentityPolicy,
    /// policy → rule
    HasRule,
    /// rule → secret: the rule decides the secret for some token, granting these capabilities.
    Grants { capabilities: Vec<&'static str> },
    /// secret mount → secret
    Holds,
}

/// The graph with lookup of nodes by value.
#[derive(Debug, Default)]
pub struct BlastGraph {
    pub graph: StableDiGraph<Node, Edge>,
    index: HashMap<Node, NodeIndex>,
    /// Every edge, for the duplicate check (a rule can grant thousands of secrets, so scanning
    /// a node's edges per insertion would be quadratic).
    edges: FxHashSet<(NodeIndex, NodeIndex, Edge)>,
}

impl BlastGraph {
    /// The node's index, adding it if new.
    pub fn node(&mut self, n: Node) -> NodeIndex {
        if let Some(&i) = self.index.get(&n) {
            return i;
        }
        let i = self.graph.add_node(n.clone());
        self.index.insert(n, i);
        i
    }

    pub fn find(&self, n: &Node) -> Option<NodeIndex> {
        self.index.get(n).copied()
    }

    /// Add an edge unless an equal one exists.
    pub fn edge(&mut self, a: NodeIndex, b: NodeIndex, e: Edge) {
        if self.edges.contains(&(a, b, e.clone())) {
            return;
        }
        self.edges.insert((a, b, e.clone()));
        self.graph.add_edge(a, b, e);
    }

    pub fn node_count(&self) -> usize {
        self.graph.node_count()
    }

    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    /// Nodes reachable from `start` following edges forward.
    pub fn descendants(&self, start: NodeIndex) -> Vec<NodeIndex> {
        let mut seen = vec![start];
        let mut dfs = petgraph::visit::Dfs::new(&self.graph, start);
        while let Some(n) = dfs.next(&self.graph) {
            if n != start {
                seen.push(n);
            }
        }
        seen
    }

    /// Nodes from which `target` is reachable (following edges backwards).
    pub fn ancestors(&self, target: NodeIndex) -> Vec<NodeIndex> {
        let rev = petgraph::visit::Reversed(&self.graph);
        let mut out = Vec::new();
        let mut dfs = petgraph::visit::Dfs::new(rev, target);
        while let Some(n) = dfs.next(rev) {
            if n != target {
                out.push(n);
            }
        }
        out
    }

    /// Outgoing edges of a node with their targets.
    pub fn out(&self, n: NodeIndex) -> impl Iterator<Item = (&Edge, NodeIndex)> {
        self.graph
            .edges_directed(n, Direction::Outgoing)
            .map(|e| (e.weight(), e.target()))
    }

    /// Build the graph of an analysis and its reach results.
    pub fn build(analysis: &Analysis<'_>, reach: &[PipelineReach]) -> BlastGraph {
        let mut g = BlastGraph::default();
        let snap = analysis.snapshot;
        for ns in &snap.namespaces {
            let nsp = crate::model::namespace_path(&ns.path).into_owned();
            let nsn = g.node(Node::Namespace { path: nsp.clone() });
            for m in &ns.auth_mounts {
                let mn = g.node(Node::AuthMount {
                    namespace: nsp.clone(),
                    path: m.path.clone(),
                });
                g.edge(nsn, mn, Edge::Contains);
            }
            for m in &ns.secret_mounts {
                let mn = g.node(Node::SecretMount {
                    namespace: nsp.clone(),
                    path: m.path.clone(),
                });
                g.edge(nsn, mn, Edge::Contains);
            }
        }
        let inv = analysis.inventory;
        for t in &inv.teams {
            g.node(Node::Team {
                name: t.name.clone(),
            });
        }
        let mut secret_nodes: FxHashMap<u32, NodeIndex> = FxHashMap::default();
        let mut rule_nodes: FxHashMap<(&str, &str, &str, u32), NodeIndex> = FxHashMap::default();
        for p in reach {
            let pn = g.node(Node::Pipeline {
                name: p.name.clone(),
            });
            if let Some(t) = &p.team {
                let tn = g.node(Node::Team { name: t.clone() });
                g.edge(tn, pn, Edge::Runs);
            }
            for r in &p.roles {
                if r.verdict == crate::login::Verdict::Refused {
                    continue;
                }
                let mount_path = format!("{}/", r.mount);
                let mn = g.node(Node::AuthMount {
                    namespace: r.namespace.clone(),
                    path: mount_path.clone(),
                });
                let rn = g.node(Node::Role {
                    namespace: r.namespace.clone(),
                    mount: r.mount.clone(),
                    name: r.role.clone(),
                });
                g.edge(mn, rn, Edge::HasRole);
                g.edge(
                    pn,
                    rn,
                    Edge::LogsInto {
                        verdict: r.verdict,
                        configured: r.configured,
                    },
                );
                for pol in &r.policies {
                    let poln = g.node(Node::Policy {
                        namespace: pol.namespace.clone(),
                        name: pol.name.clone(),
                    });
                    match &pol.origin {
                        PolicyOrigin::Role => g.edge(rn, poln, Edge::TokenPolicy),
                        PolicyOrigin::Entity { id, name } => {
                            let en = g.node(Node::Entity {
                                id: id.clone(),
                                name: name.clone(),
                            });
                            g.edge(rn, en, Edge::MapsTo);
                            g.edge(en, poln, Edge::IdentityPolicy);
                        }
                        PolicyOrigin::Group { id, name } => {
                            let gn = g.node(Node::Group {
                                id: id.clone(),
                                name: name.clone(),
                            });
                            g.edge(gn, poln, Edge::IdentityPolicy);
                        }
                    }
                }
            }
            for s in &p.secrets {
                // Secrets by id, and rules by their source, are looked up without building a
                // node value per (pipeline, secret).
                let sn = match secret_nodes.get(&s.secret_id) {
                    Some(&sn) => sn,
                    None => {
                        let sn = g.node(Node::Secret {
                            namespace: s.namespace.clone(),
                            path: s.path.clone(),
                        });
                        let smn = g.node(Node::SecretMount {
                            namespace: s.namespace.clone(),
                            path: s.mount.clone(),
                        });
                        g.edge(smn, sn, Edge::Holds);
                        secret_nodes.insert(s.secret_id, sn);
                        sn
                    }
                };
                for v in s.via.iter() {
                    let key = (
                        v.policy_namespace.as_str(),
                        v.policy.as_str(),
                        v.rule.as_str(),
                        v.line,
                    );
                    let rule = match rule_nodes.get(&key) {
                        Some(&r) => r,
                        None => {
                            let poln = g.node(Node::Policy {
                                namespace: v.policy_namespace.clone(),
                                name: v.policy.clone(),
                            });
                            let rule = g.node(Node::Rule {
                                namespace: v.policy_namespace.clone(),
                                policy: v.policy.clone(),
                                pattern: v.rule.clone(),
                                line: v.line,
                            });
                            g.edge(poln, rule, Edge::HasRule);
                            rule_nodes.insert(key, rule);
                            rule
                        }
                    };
                    g.edge(
                        rule,
                        sn,
                        Edge::Grants {
                            capabilities: s.capabilities.clone(),
                        },
                    );
                }
            }
        }
        // Entities' group memberships, for the identity chains.
        let index = &analysis.index;
        let entity_nodes: Vec<(NodeIndex, String)> = g
            .graph
            .node_indices()
            .filter_map(|i| match &g.graph[i] {
                Node::Entity { id, .. } => Some((i, id.clone())),
                _ => None,
            })
            .collect();
        for (en, id) in entity_nodes {
            let groups = index.groups_of_entity(&id);
            for (_, grp) in groups.direct.iter() {
                let gn = g.node(Node::Group {
                    id: grp.id.clone(),
                    name: grp.name.clone(),
                });
                g.edge(en, gn, Edge::MemberOf);
                for (_, parent) in index.group_ancestors(&grp.id) {
                    let pn = g.node(Node::Group {
                        id: parent.id.clone(),
                        name: parent.name.clone(),
                    });
                    g.edge(gn, pn, Edge::MemberOf);
                }
            }
        }
        // Ownership: team → the secrets it owns by the one ownership rule (`crate::ownership`:
        // the most specific entry wins, tied teams each own the secret). Only secrets some
        // pipeline reaches are nodes.
        let owners = Owners::build(&analysis.secrets, inv);
        let mut owned_by_team: Vec<Vec<NodeIndex>> = vec![Vec::new(); inv.teams.len()];
        for (&id, &sn) in &secret_nodes {
            for &team in owners.team_ids(owners.owner[id as usize]) {
                owned_by_team[team as usize].push(sn);
            }
        }
        for (t, owned) in inv.teams.iter().zip(&mut owned_by_team) {
            let tn = g.node(Node::Team {
                name: t.name.clone(),
            });
            // In node order, as when every secret node was visited.
            owned.sort_unstable();
            owned.dedup();
            for &sn in owned.iter() {
                g.edge(tn, sn, Edge::Owns);
            }
        }
        g
    }
}

/// Capabilities as a set, for aggregation.
pub fn caps_of(names: &[&str]) -> Caps {
    names
        .iter()
        .filter_map(|n| Caps::from_name(n))
        .fold(Caps::NONE, |a, b| a | b)
}
