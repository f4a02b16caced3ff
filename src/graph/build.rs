//! Building the graph from a review's prepared logins and tokens: the estate's structure
//! (namespaces, mounts, every secret, ownership), each pipeline's logins to the tokens they
//! yield, what each token grants, and the escalation steps tokens can take, followed breadth
//! first to the review's escalation depth.

use std::sync::Arc;

use petgraph::stable_graph::NodeIndex;
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

use super::{BlastGraph, Edge, GrantSource, Holding, Node, RoleName, SourcesId};
use crate::facts::escalation::{Escalations, Gained, Reached};
use crate::inventory::Pipeline;
use crate::ownership::Owners;
use crate::passes::identity::{PolicyOrigin, TokenIdentity};
use crate::passes::reach::{Analysis, PipelineLogins, TokenReach};

/// What a graph is built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GraphOptions {
    /// Escalation steps are followed this many steps from each login's token (the facts'
    /// `--escalation-depth`).
    pub escalation_depth: usize,
}

impl Default for GraphOptions {
    fn default() -> Self {
        GraphOptions {
            escalation_depth: crate::facts::FactsOptions::default().escalation_depth,
        }
    }
}

/// The pipelines of a review with their logins and compiled tokens (`Prepared`'s parts).
pub struct Logins<'p, 'a> {
    pub pipelines: &'p [&'a Pipeline],
    pub logins: &'p [PipelineLogins<'a>],
    pub tokens: &'p [TokenReach],
}

impl BlastGraph {
    /// The graph of an analysis and its pipelines' logins.
    pub fn build(analysis: &Analysis<'_>, logins: &Logins<'_, '_>, opts: GraphOptions) -> Self {
        let mut graph = BlastGraph {
            escalation_depth: opts.escalation_depth,
            ..BlastGraph::default()
        };
        // Room for what is known to come: every secret (with its mount and owner edges) and
        // every grant of a login's token. Growing by doubling would briefly hold both copies
        // of millions of edges.
        let secrets = analysis.secrets.len();
        let grants: usize = logins.tokens.iter().map(|t| t.grants.len()).sum();
        graph
            .graph
            .reserve_exact_nodes(secrets + secrets / 16 + 1024);
        graph
            .graph
            .reserve_exact_edges(grants + 2 * secrets + grants / 8 + 4096);
        graph.add_structure(analysis);
        graph.add_ownership(analysis);
        let token_nodes: Vec<NodeIndex> = logins
            .tokens
            .iter()
            .map(|token| graph.add_token(token, false))
            .collect();
        for (pipeline, (pipeline_logins, _)) in logins.pipelines.iter().zip(logins.logins) {
            graph.add_pipeline(analysis, pipeline, pipeline_logins, &token_nodes);
        }
        graph.add_escalations(analysis, logins.tokens, &token_nodes, opts.escalation_depth);
        graph
    }

    /// Namespaces (each containing its children), their mounts, and every secret of the
    /// snapshot in its mount.
    fn add_structure(&mut self, analysis: &Analysis<'_>) {
        let mut namespaces: Vec<String> = analysis
            .snapshot
            .namespaces
            .iter()
            .map(|ns| crate::model::namespace_path(&ns.path).into_owned())
            .collect();
        namespaces.sort();
        for ns in &analysis.snapshot.namespaces {
            let path = crate::model::namespace_path(&ns.path).into_owned();
            let node = self.node(Node::Namespace { path: path.clone() });
            if let Some(parent) = parent_namespace(&path, &namespaces) {
                let parent = self.node(Node::Namespace { path: parent });
                self.edge(parent, node, Edge::Contains);
            }
            for mount in &ns.auth_mounts {
                let mount_node = self.node(Node::AuthMount {
                    namespace: path.clone(),
                    path: mount.path.clone(),
                });
                self.edge(node, mount_node, Edge::Contains);
                for role in mount.roles.iter() {
                    let role = self.node(Node::Role {
                        namespace: path.clone(),
                        mount: mount.path.trim_end_matches('/').to_string(),
                        name: role.name().to_string(),
                    });
                    self.edge(mount_node, role, Edge::HasRole);
                }
            }
            // Every policy and entity, so findings about ones no login holds have a node.
            for policy in &ns.policies {
                self.node(Node::Policy {
                    namespace: path.clone(),
                    name: policy.key(),
                });
            }
            for entity in &ns.entities {
                self.node(Node::Entity {
                    id: entity.id.clone(),
                    name: entity.name.clone(),
                });
            }
            for mount in &ns.secret_mounts {
                let mount = self.node(Node::SecretMount {
                    namespace: path.clone(),
                    path: mount.path.clone(),
                });
                self.edge(node, mount, Edge::Contains);
            }
        }
        self.secrets.reserve(analysis.secrets.len());
        let mut mounts: FxHashMap<(&str, &str), NodeIndex> = FxHashMap::default();
        for secret in &analysis.secrets.secrets {
            let mount = match mounts.get(&(&*secret.namespace, &*secret.mount)) {
                Some(&mount) => mount,
                None => {
                    let mount = self.node(Node::SecretMount {
                        namespace: secret.namespace.to_string(),
                        path: secret.mount.to_string(),
                    });
                    mounts.insert((&secret.namespace, &secret.mount), mount);
                    mount
                }
            };
            let node = self.graph.add_node(Node::Secret {
                namespace: secret.namespace.to_string(),
                path: secret.path.clone(),
            });
            self.new_edge(mount, node, Edge::Holds);
            self.secrets.push(node);
        }
    }

    /// Teams, and each secret's owners by the one ownership rule (`crate::ownership`).
    fn add_ownership(&mut self, analysis: &Analysis<'_>) {
        let inventory = analysis.inventory;
        let team_nodes: Vec<NodeIndex> = inventory
            .teams
            .iter()
            .map(|team| {
                self.node(Node::Team {
                    name: team.name.clone(),
                })
            })
            .collect();
        let owners = Owners::build(&analysis.secrets, inventory);
        for (id, &owner) in owners.owner.iter().enumerate() {
            for &team in owners.team_ids(owner) {
                let secret = self.secrets[id];
                self.new_edge(team_nodes[team as usize], secret, Edge::Owns);
            }
        }
    }

    /// A token: its node, what it grants (each grant with the rules that decide it) and the
    /// policies it holds. An existing token node is returned as it is.
    fn add_token(&mut self, token: &TokenReach, any_policy: bool) -> NodeIndex {
        let node = token_node(&token.identity, any_policy);
        if let Some(existing) = self.find(&node) {
            return existing;
        }
        let token_node = self.node(node);
        let mut sources_of_rule: FxHashMap<u32, SourcesId> = FxHashMap::default();
        for &(secret, capabilities, rule) in &token.grants {
            let sources = match sources_of_rule.get(&rule) {
                Some(&id) => id,
                None => {
                    let sources: Arc<[GrantSource]> = token
                        .acl
                        .rule(rule)
                        .deciding_sources()
                        .map(|source| GrantSource {
                            policy_namespace: source.policy_namespace.clone(),
                            policy: source.policy.clone(),
                            rule: source.rule.clone(),
                            line: source.line,
                        })
                        .collect();
                    let id = self.add_sources(sources);
                    sources_of_rule.insert(rule, id);
                    id
                }
            };
            let secret = self.secrets[secret as usize];
            self.new_edge(
                token_node,
                secret,
                Edge::Grants {
                    capabilities,
                    sources,
                },
            );
        }
        if any_policy {
            self.add_policies(token_node, &token.identity);
        }
        token_node
    }

    /// The policies a token holds, each pointing into the token, with the entity and groups
    /// they come from.
    fn add_policies(&mut self, token: NodeIndex, identity: &TokenIdentity) {
        for policy in &identity.policies {
            let policy_node = self.node(Node::Policy {
                namespace: policy.namespace.clone(),
                name: policy.name.clone(),
            });
            let holding = match &policy.origin {
                PolicyOrigin::Role => Holding::Role,
                PolicyOrigin::Entity { id, name } => {
                    let entity = self.node(Node::Entity {
                        id: id.clone(),
                        name: name.clone(),
                    });
                    self.edge(entity, policy_node, Edge::IdentityPolicy);
                    Holding::Entity {
                        id: id.clone(),
                        name: name.clone(),
                    }
                }
                PolicyOrigin::Group { id, name } => {
                    let group = self.node(Node::Group {
                        id: id.clone(),
                        name: name.clone(),
                    });
                    self.edge(group, policy_node, Edge::IdentityPolicy);
                    Holding::Group {
                        id: id.clone(),
                        name: name.clone(),
                    }
                }
            };
            let holding = self.intern_holding(holding);
            self.edge(policy_node, token, Edge::AppliesTo { holding });
        }
    }

    /// A pipeline, its team, and each login it can make (admitted or unknown) to the token the
    /// login yields, with the role, policies and entity behind it.
    fn add_pipeline(
        &mut self,
        analysis: &Analysis<'_>,
        pipeline: &Pipeline,
        logins: &[crate::passes::reach::Login<'_>],
        token_nodes: &[NodeIndex],
    ) {
        let pipeline_node = self.node(Node::Pipeline {
            name: pipeline.name.clone(),
        });
        if let Some(team) = &pipeline.team {
            let team = self.node(Node::Team { name: team.clone() });
            self.edge(team, pipeline_node, Edge::Runs);
        }
        for login in logins {
            let (Some(token), Some(identity)) = (login.token, &login.identity) else {
                continue;
            };
            if !login.admission.is_possible() {
                continue;
            }
            let namespace = crate::model::namespace_path(&login.namespace.path).into_owned();
            let role_name = RoleName {
                namespace: namespace.clone(),
                mount: login.mount.path.trim_end_matches('/').to_string(),
                role: login.role.clone(),
            };
            let mount = self.node(Node::AuthMount {
                namespace: namespace.clone(),
                path: login.mount.path.clone(),
            });
            let role_node = self.node(Node::Role {
                namespace,
                mount: role_name.mount.clone(),
                name: role_name.role.clone(),
            });
            let role = self.intern_role(role_name);
            let token = token_nodes[token];
            self.edge(mount, role_node, Edge::HasRole);
            self.edge(role_node, token, Edge::Issues);
            self.edge(
                pipeline_node,
                token,
                Edge::LogsInto {
                    verdict: login.admission.verdict,
                    configured: login.configured,
                    role,
                },
            );
            self.add_policies(token, identity);
            if let Some((id, name)) = &identity.entity_ref {
                self.add_entity(analysis, token, id, name);
            }
        }
    }

    /// The entity a login maps to, and the groups it is a member of (with their parents).
    fn add_entity(&mut self, analysis: &Analysis<'_>, token: NodeIndex, id: &str, name: &str) {
        let entity = self.node(Node::Entity {
            id: id.to_string(),
            name: name.to_string(),
        });
        self.edge(entity, token, Edge::IdentityOf);
        let index = &analysis.index;
        for (_, group) in index.groups_of_entity(id).direct.iter() {
            let group_node = self.node(Node::Group {
                id: group.id.clone(),
                name: group.name.clone(),
            });
            self.edge(entity, group_node, Edge::MemberOf);
            let mut child = group_node;
            for (_, parent) in index.group_ancestors(&group.id) {
                let parent_node = self.node(Node::Group {
                    id: parent.id.clone(),
                    name: parent.name.clone(),
                });
                self.edge(child, parent_node, Edge::MemberOf);
                child = parent_node;
            }
        }
    }

    /// Escalation steps, breadth first from every login's token: a token is expanded when some
    /// login's token reaches it in fewer than `depth` steps, so every chain the facts' search
    /// follows from any login (`crate::facts::escalation`) is a path of the graph.
    fn add_escalations(
        &mut self,
        analysis: &Analysis<'_>,
        tokens: &[TokenReach],
        token_nodes: &[NodeIndex],
        depth: usize,
    ) {
        if depth == 0 {
            return;
        }
        let search = Escalations::new(analysis, depth);
        let mut expanded: FxHashSet<NodeIndex> = FxHashSet::default();
        let mut frontier: Vec<(NodeIndex, Arc<TokenReach>)> = Vec::new();
        let starts: Vec<(NodeIndex, Vec<Reached>)> = tokens
            .par_iter()
            .zip(token_nodes.par_iter())
            .map(|(token, &node)| (node, search.steps(token)))
            .collect();
        let mut level_steps = starts;
        for level in 1..=depth {
            for (from, steps) in level_steps {
                if !expanded.insert(from) {
                    continue;
                }
                for reached in steps {
                    if let Some(next) = self.add_step(from, reached) {
                        if level < depth {
                            frontier.push(next);
                        }
                    }
                }
            }
            let next: Vec<(NodeIndex, Arc<TokenReach>)> = std::mem::take(&mut frontier)
                .into_iter()
                .filter(|(node, _)| !expanded.contains(node))
                .collect();
            level_steps = next
                .par_iter()
                .map(|(node, token)| (*node, search.steps(token)))
                .collect();
        }
    }

    /// One escalation step from `from`: its edge to what it gains. Returns a gained token to
    /// expand.
    fn add_step(
        &mut self,
        from: NodeIndex,
        reached: Reached,
    ) -> Option<(NodeIndex, Arc<TokenReach>)> {
        let step = Arc::new(reached.chain.into_iter().next()?);
        if let Gained::Nothing = reached.gained {
            let dead_ends = self.dead_ends.entry(from).or_default();
            if !dead_ends
                .iter()
                .any(|s| s.kind == step.kind && s.target == step.target)
            {
                dead_ends.push(step);
            }
            return None;
        }
        let step = self.add_step_data(step);
        match reached.gained {
            Gained::Nothing => None,
            Gained::Full(namespace) => {
                let node = self.node(Node::Namespace { path: namespace });
                self.edge(from, node, Edge::Escalates(step));
                None
            }
            Gained::Token(token) => {
                let any_policy = reached.key.starts_with("any:");
                let node = self.add_token(&token, any_policy);
                if node == from {
                    return None;
                }
                if !any_policy {
                    self.add_policies(node, &token.identity);
                }
                self.edge(from, node, Edge::Escalates(step));
                Some((node, token))
            }
        }
    }
}

/// The node of a token identity.
fn token_node(identity: &TokenIdentity, any_policy: bool) -> Node {
    let mut policies: Vec<String> = identity
        .policies
        .iter()
        .map(|p| format!("{}{}", p.namespace, p.name))
        .collect();
    policies.sort();
    policies.dedup();
    let key = identity.cache_key(true);
    Node::Token {
        namespace: identity.token_namespace.clone(),
        key: format!("{:016x}", crate::text::fnv(&key)),
        policies,
        any_policy,
    }
}

/// The closest namespace of `namespaces` (sorted) that contains `path`.
fn parent_namespace(path: &str, namespaces: &[String]) -> Option<String> {
    if path.is_empty() {
        return None;
    }
    let trimmed = path.trim_end_matches('/');
    let mut cut = trimmed.rfind('/');
    loop {
        let parent = match cut {
            Some(i) => &trimmed[..=i],
            None => "",
        };
        if parent.is_empty()
            || namespaces
                .binary_search_by(|n| n.as_str().cmp(parent))
                .is_ok()
        {
            return Some(parent.to_string());
        }
        cut = parent.trim_end_matches('/').rfind('/');
    }
}
