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
use crate::passes::reach::{Analysis, PipelineReach, RoleReach, SecretReach, Via};

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
        g.add_mounts(analysis);
        for team in &analysis.inventory.teams {
            g.node(Node::Team {
                name: team.name.clone(),
            });
        }
        let mut builder = ReachNodes::default();
        for pipeline in reach {
            let pipeline_node = g.node(Node::Pipeline {
                name: pipeline.name.clone(),
            });
            if let Some(team) = &pipeline.team {
                let team_node = g.node(Node::Team { name: team.clone() });
                g.edge(team_node, pipeline_node, Edge::Runs);
            }
            for role in &pipeline.roles {
                if role.verdict != crate::login::Verdict::Refused {
                    g.add_login(pipeline_node, role);
                }
            }
            for secret in &pipeline.secrets {
                builder.add_secret(&mut g, secret);
            }
        }
        g.add_group_memberships(analysis);
        g.add_ownership(analysis, &builder.secrets);
        g
    }

    /// Namespaces and the auth and secret mounts they contain.
    fn add_mounts(&mut self, analysis: &Analysis<'_>) {
        for ns in &analysis.snapshot.namespaces {
            let namespace = crate::model::namespace_path(&ns.path).into_owned();
            let ns_node = self.node(Node::Namespace {
                path: namespace.clone(),
            });
            for m in &ns.auth_mounts {
                let mount = self.node(Node::AuthMount {
                    namespace: namespace.clone(),
                    path: m.path.clone(),
                });
                self.edge(ns_node, mount, Edge::Contains);
            }
            for m in &ns.secret_mounts {
                let mount = self.node(Node::SecretMount {
                    namespace: namespace.clone(),
                    path: m.path.clone(),
                });
                self.edge(ns_node, mount, Edge::Contains);
            }
        }
    }

    /// A pipeline's login into a role, and the role's policies (directly or through its
    /// entity or groups).
    fn add_login(&mut self, pipeline: NodeIndex, role: &RoleReach) {
        let mount = self.node(Node::AuthMount {
            namespace: role.namespace.clone(),
            path: format!("{}/", role.mount),
        });
        let role_node = self.node(Node::Role {
            namespace: role.namespace.clone(),
            mount: role.mount.clone(),
            name: role.role.clone(),
        });
        self.edge(mount, role_node, Edge::HasRole);
        self.edge(
            pipeline,
            role_node,
            Edge::LogsInto {
                verdict: role.verdict,
                configured: role.configured,
            },
        );
        for policy in &role.policies {
            let policy_node = self.node(Node::Policy {
                namespace: policy.namespace.clone(),
                name: policy.name.clone(),
            });
            match &policy.origin {
                PolicyOrigin::Role => self.edge(role_node, policy_node, Edge::TokenPolicy),
                PolicyOrigin::Entity { id, name } => {
                    let entity = self.node(Node::Entity {
                        id: id.clone(),
                        name: name.clone(),
                    });
                    self.edge(role_node, entity, Edge::MapsTo);
                    self.edge(entity, policy_node, Edge::IdentityPolicy);
                }
                PolicyOrigin::Group { id, name } => {
                    let group = self.node(Node::Group {
                        id: id.clone(),
                        name: name.clone(),
                    });
                    self.edge(group, policy_node, Edge::IdentityPolicy);
                }
            }
        }
    }

    /// Entities' group memberships, for the identity chains.
    fn add_group_memberships(&mut self, analysis: &Analysis<'_>) {
        let index = &analysis.index;
        let entity_nodes: Vec<(NodeIndex, String)> = self
            .graph
            .node_indices()
            .filter_map(|i| match &self.graph[i] {
                Node::Entity { id, .. } => Some((i, id.clone())),
                _ => None,
            })
            .collect();
        for (entity, id) in entity_nodes {
            for (_, group) in index.groups_of_entity(&id).direct.iter() {
                let group_node = self.node(Node::Group {
                    id: group.id.clone(),
                    name: group.name.clone(),
                });
                self.edge(entity, group_node, Edge::MemberOf);
                for (_, parent) in index.group_ancestors(&group.id) {
                    let parent_node = self.node(Node::Group {
                        id: parent.id.clone(),
                        name: parent.name.clone(),
                    });
                    self.edge(group_node, parent_node, Edge::MemberOf);
                }
            }
        }
    }

    /// Ownership: team → the secrets it owns by the one ownership rule (`crate::ownership`: the
    /// most specific entry wins, tied teams each own the secret). Only secrets some pipeline
    /// reaches are nodes.
    fn add_ownership(&mut self, analysis: &Analysis<'_>, secrets: &FxHashMap<u32, NodeIndex>) {
        let inventory = analysis.inventory;
        let owners = Owners::build(&analysis.secrets, inventory);
        let mut owned_by_team: Vec<Vec<NodeIndex>> = vec![Vec::new(); inventory.teams.len()];
        for (&id, &secret) in secrets {
            for &team in owners.team_ids(owners.owner[id as usize]) {
                owned_by_team[team as usize].push(secret);
            }
        }
        for (team, owned) in inventory.teams.iter().zip(&mut owned_by_team) {
            let team_node = self.node(Node::Team {
                name: team.name.clone(),
            });
            // In node order, as when every secret node was visited.
            owned.sort_unstable();
            owned.dedup();
            for &secret in owned.iter() {
                self.edge(team_node, secret, Edge::Owns);
            }
        }
    }
}

/// The secret and rule nodes made so far: secrets by id, and rules by their source, are looked
/// up without building a node value per (pipeline, secret).
#[derive(Default)]
struct ReachNodes<'r> {
    secrets: FxHashMap<u32, NodeIndex>,
    rules: FxHashMap<RuleSource<'r>, NodeIndex>,
}

/// A rule by where it is written: (policy namespace, policy, pattern, line).
type RuleSource<'r> = (&'r str, &'r str, &'r str, u32);

impl<'r> ReachNodes<'r> {
    /// A reached secret (with its mount) and the rules that grant it.
    fn add_secret(&mut self, g: &mut BlastGraph, secret: &'r SecretReach) {
        let secret_node = match self.secrets.get(&secret.secret_id) {
            Some(&node) => node,
            None => {
                let node = g.node(Node::Secret {
                    namespace: secret.namespace.clone(),
                    path: secret.path.clone(),
                });
                let mount = g.node(Node::SecretMount {
                    namespace: secret.namespace.clone(),
                    path: secret.mount.clone(),
                });
                g.edge(mount, node, Edge::Holds);
                self.secrets.insert(secret.secret_id, node);
                node
            }
        };
        for grant in secret.via.iter() {
            let rule = self.rule(g, grant);
            g.edge(
                rule,
                secret_node,
                Edge::Grants {
                    capabilities: secret.capabilities.clone(),
                },
            );
        }
    }

    fn rule(&mut self, g: &mut BlastGraph, grant: &'r Via) -> NodeIndex {
        let source = (
            grant.policy_namespace.as_str(),
            grant.policy.as_str(),
            grant.rule.as_str(),
            grant.line,
        );
        if let Some(&rule) = self.rules.get(&source) {
            return rule;
        }
        let policy = g.node(Node::Policy {
            namespace: grant.policy_namespace.clone(),
            name: grant.policy.clone(),
        });
        let rule = g.node(Node::Rule {
            namespace: grant.policy_namespace.clone(),
            policy: grant.policy.clone(),
            pattern: grant.rule.clone(),
            line: grant.line,
        });
        g.edge(policy, rule, Edge::HasRule);
        self.rules.insert(source, rule);
        rule
    }
}

/// Capabilities as a set, for aggregation.
pub fn caps_of(names: &[&str]) -> Caps {
    names
        .iter()
        .filter_map(|n| Caps::from_name(n))
        .fold(Caps::NONE, |a, b| a | b)
}
