//! The blast-radius graph: one petgraph of an estate, built once from a review's logins,
//! compiled tokens and escalation steps, and the source of `blastmap path` (chains from a
//! pipeline to a secret, [`path`]) and `blastmap graph` (exports for graph engines,
//! `export`).
//!
//! **Exact by construction.** Following edges forward from a pipeline reaches exactly what the
//! pipeline can reach, because the only edges on that walk are real access:
//!
//! * pipeline → token (`LogsInto`): a login the pipeline can make (admitted, or unknown), to the
//!   token it yields. A token is one compiled ACL (tokens with equal ACLs are one node), so the
//!   role and entity that differ between two pipelines' logins never mix;
//! * token → secret (`Grants`): what the ACL engine decided for that token, with the capabilities
//!   and the policy rules that decide them (deny, priority and merging already applied);
//! * token → token or namespace (`Escalates`): an escalation step the token can take (write a
//!   policy, mint a secret-id, …), to the token it yields, or to the namespace it gives full
//!   control of; a namespace then contains its child namespaces, mounts, roles and secrets.
//!
//! Everything that explains a token (its role, policies, entity and groups) points *into* the
//! token, and ownership starts at teams, so no walk from a pipeline leaves the access edges.
//! Without the `Escalates` edges, the secrets reached from a pipeline and the union of the
//! capabilities on the way are `blastmap reach`'s answer (`tests/suite/graph.rs`).

mod build;
pub(crate) mod export;
pub mod path;

use std::collections::HashMap;
use std::sync::Arc;

use petgraph::stable_graph::{NodeIndex, StableDiGraph};
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use rustc_hash::FxHashSet;
use serde::Serialize;

use crate::acl::Caps;
use crate::facts::escalation::Step;
use crate::login::Verdict;

pub use build::{GraphOptions, Logins};

/// A node of the graph. Namespaces are namespace paths (`""` is root, `"team-a/"`).
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
    /// One compiled ACL: the policies a login (or an escalation) yields, in the namespace the
    /// token lives in. `key` is a stable digest of what makes the ACL (its policies, and the
    /// entity when a policy is templated).
    Token {
        namespace: String,
        key: String,
        policies: Vec<String>,
        /// The token every policy of the namespace gives (an escalation's any-policy gain).
        any_policy: bool,
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
    SecretMount {
        namespace: String,
        path: String,
    },
    Secret {
        namespace: String,
        path: String,
    },
}

/// The kinds of node, in the order exports list them.
pub const NODE_KINDS: [NodeKind; 11] = [
    NodeKind::Team,
    NodeKind::Pipeline,
    NodeKind::Namespace,
    NodeKind::AuthMount,
    NodeKind::Role,
    NodeKind::Token,
    NodeKind::Entity,
    NodeKind::Group,
    NodeKind::Policy,
    NodeKind::SecretMount,
    NodeKind::Secret,
];

/// A node's kind, without its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeKind {
    Team,
    Pipeline,
    Namespace,
    AuthMount,
    Role,
    Token,
    Entity,
    Group,
    Policy,
    SecretMount,
    Secret,
}

impl NodeKind {
    /// The kind as a label (`Pipeline`, `AuthMount`, …): Cypher labels, CSV file names.
    pub fn label(self) -> &'static str {
        match self {
            NodeKind::Team => "Team",
            NodeKind::Pipeline => "Pipeline",
            NodeKind::Namespace => "Namespace",
            NodeKind::AuthMount => "AuthMount",
            NodeKind::Role => "Role",
            NodeKind::Token => "Token",
            NodeKind::Entity => "Entity",
            NodeKind::Group => "Group",
            NodeKind::Policy => "Policy",
            NodeKind::SecretMount => "SecretMount",
            NodeKind::Secret => "Secret",
        }
    }

    /// The kind as a word (`pipeline`, `auth_mount`, …): node ids, JSON.
    pub fn word(self) -> &'static str {
        match self {
            NodeKind::Team => "team",
            NodeKind::Pipeline => "pipeline",
            NodeKind::Namespace => "namespace",
            NodeKind::AuthMount => "auth_mount",
            NodeKind::Role => "role",
            NodeKind::Token => "token",
            NodeKind::Entity => "entity",
            NodeKind::Group => "group",
            NodeKind::Policy => "policy",
            NodeKind::SecretMount => "secret_mount",
            NodeKind::Secret => "secret",
        }
    }
}

impl Node {
    pub fn kind(&self) -> NodeKind {
        match self {
            Node::Team { .. } => NodeKind::Team,
            Node::Pipeline { .. } => NodeKind::Pipeline,
            Node::Namespace { .. } => NodeKind::Namespace,
            Node::AuthMount { .. } => NodeKind::AuthMount,
            Node::Role { .. } => NodeKind::Role,
            Node::Token { .. } => NodeKind::Token,
            Node::Entity { .. } => NodeKind::Entity,
            Node::Group { .. } => NodeKind::Group,
            Node::Policy { .. } => NodeKind::Policy,
            Node::SecretMount { .. } => NodeKind::SecretMount,
            Node::Secret { .. } => NodeKind::Secret,
        }
    }

    /// A short label for people.
    pub fn label(&self) -> String {
        match self {
            Node::Team { name } | Node::Pipeline { name } => name.clone(),
            Node::Namespace { path } if path.is_empty() => "root".to_string(),
            Node::Namespace { path } => path.clone(),
            Node::AuthMount { namespace, path } => format!("{namespace}auth/{path}"),
            Node::Role {
                namespace,
                mount,
                name,
            } => format!("{namespace}auth/{mount}/role/{name}"),
            Node::Token {
                namespace,
                any_policy: true,
                ..
            } => format!("any-policy token of {}", namespace_label(namespace)),
            Node::Token { policies, .. } => format!("token [{}]", policies.join(", ")),
            Node::Entity { name, .. } | Node::Group { name, .. } => name.clone(),
            Node::Policy { namespace, name } => format!("{namespace}{name}"),
            Node::SecretMount { namespace, path } | Node::Secret { namespace, path } => {
                format!("{namespace}{path}")
            }
        }
    }

    /// What identifies the node within its estate (with its kind): the export's node id is
    /// `<estate>:<kind>:<key>`.
    pub fn key(&self) -> String {
        match self {
            Node::Team { name } | Node::Pipeline { name } => name.clone(),
            Node::Namespace { path } => path.clone(),
            Node::AuthMount { namespace, path }
            | Node::SecretMount { namespace, path }
            | Node::Secret { namespace, path } => format!("{namespace}{path}"),
            Node::Role {
                namespace,
                mount,
                name,
            } => format!("{namespace}auth/{mount}/role/{name}"),
            Node::Token { key, .. } => key.clone(),
            Node::Entity { id, .. } | Node::Group { id, .. } => id.clone(),
            Node::Policy { namespace, name } => format!("{namespace}{name}"),
        }
    }
}

/// `root` for the root namespace, the path otherwise.
pub fn namespace_label(namespace: &str) -> &str {
    if namespace.is_empty() {
        "root"
    } else {
        namespace
    }
}

/// A policy rule that decides a token's access to a secret.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct GrantSource {
    pub policy_namespace: String,
    pub policy: String,
    /// The rule's path pattern as written (templates resolved).
    pub rule: String,
    pub line: u32,
}

impl GrantSource {
    /// `policy "p" path "x" (line n)`, as the escalation steps name their rules.
    pub fn describe(&self) -> String {
        format!(
            "policy {:?} path {:?} (line {})",
            format!("{}{}", self.policy_namespace, self.policy),
            self.rule,
            self.line
        )
    }
}

/// How a token holds a policy.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum Holding {
    /// From the role's `token_policies` (or every policy of the namespace, for an any-policy
    /// token).
    Role,
    /// The entity's own policies.
    Entity { id: String, name: String },
    /// A group's policies (the entity is a member, directly or through a parent group, or the
    /// login's group alias names it).
    Group { id: String, name: String },
}

impl Holding {
    pub fn word(&self) -> &'static str {
        match self {
            Holding::Role => "role",
            Holding::Entity { .. } => "entity",
            Holding::Group { .. } => "group",
        }
    }
}

/// An edge of the graph.
#[derive(Debug, Clone)]
pub enum Edge {
    /// team → pipeline
    Runs,
    /// team → secret: the team owns the secret (`crate::ownership`: the most specific `owns`
    /// entry wins; tied teams each own it).
    Owns,
    /// namespace → child namespace, auth mount or secret mount
    Contains,
    /// auth mount → role
    HasRole,
    /// pipeline → token: the pipeline can log in to `role` and gets the token.
    LogsInto {
        verdict: Verdict,
        /// The role is the one the inventory names.
        configured: bool,
        /// The role logged in to ([`BlastGraph::role`]).
        role: RoleId,
    },
    /// role → token: a login to the role yields the token.
    Issues,
    /// policy → token: the token holds the policy ([`BlastGraph::holding`] says how).
    AppliesTo { holding: HoldingId },
    /// entity → token: the login maps to the entity.
    IdentityOf,
    /// entity → group, group → parent group
    MemberOf,
    /// entity or group → policy: the identity's own policies.
    IdentityPolicy,
    /// token → secret: the token's ACL grants these capabilities, decided by these rules
    /// ([`BlastGraph::sources`]).
    Grants {
        capabilities: Caps,
        sources: SourcesId,
    },
    /// secret mount → secret
    Holds,
    /// token → token or namespace: an escalation step the token can take
    /// ([`BlastGraph::step`]).
    Escalates(StepId),
}

/// Edges carry their data as indexes into the graph's tables, so an edge takes 8 bytes: a
/// million-secret estate has millions of grants.
macro_rules! table_id {
    ($($(#[$doc:meta])* $name:ident),*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(u32);
        impl $name {
            fn at(self) -> usize {
                self.0 as usize
            }
        }
    )*};
}

table_id!(
    /// A role in [`BlastGraph::role`].
    RoleId,
    /// A way of holding a policy in [`BlastGraph::holding`].
    HoldingId,
    /// The rules behind a grant in [`BlastGraph::sources`].
    SourcesId,
    /// An escalation step in [`BlastGraph::step`].
    StepId
);

/// The data edges point to, each stored once.
#[derive(Debug, Default)]
struct Tables {
    roles: Vec<Arc<RoleName>>,
    role_ids: HashMap<Arc<RoleName>, RoleId>,
    holdings: Vec<Holding>,
    holding_ids: HashMap<Holding, HoldingId>,
    sources: Vec<Arc<[GrantSource]>>,
    steps: Vec<Arc<Step>>,
}

fn table_index(len: usize) -> u32 {
    u32::try_from(len).expect("fewer than 4 billion table entries")
}

/// A role by name: namespace, mount (without slash), role.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct RoleName {
    pub namespace: String,
    pub mount: String,
    pub role: String,
}

impl RoleName {
    pub fn label(&self) -> String {
        format!("{}auth/{}/role/{}", self.namespace, self.mount, self.role)
    }
}

/// An edge's kind, without its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EdgeKind {
    Runs,
    Owns,
    Contains,
    HasRole,
    LogsInto,
    Issues,
    AppliesTo,
    IdentityOf,
    MemberOf,
    IdentityPolicy,
    Grants,
    Holds,
    Escalates,
}

/// Every kind of edge, in the order exports list them.
pub const EDGE_KINDS: [EdgeKind; 13] = [
    EdgeKind::Runs,
    EdgeKind::Owns,
    EdgeKind::Contains,
    EdgeKind::HasRole,
    EdgeKind::LogsInto,
    EdgeKind::Issues,
    EdgeKind::AppliesTo,
    EdgeKind::IdentityOf,
    EdgeKind::MemberOf,
    EdgeKind::IdentityPolicy,
    EdgeKind::Grants,
    EdgeKind::Holds,
    EdgeKind::Escalates,
];

impl EdgeKind {
    /// The kind as a relationship type (`LOGS_INTO`): Cypher, CSV file names.
    pub fn label(self) -> &'static str {
        match self {
            EdgeKind::Runs => "RUNS",
            EdgeKind::Owns => "OWNS",
            EdgeKind::Contains => "CONTAINS",
            EdgeKind::HasRole => "HAS_ROLE",
            EdgeKind::LogsInto => "LOGS_INTO",
            EdgeKind::Issues => "ISSUES",
            EdgeKind::AppliesTo => "APPLIES_TO",
            EdgeKind::IdentityOf => "IDENTITY_OF",
            EdgeKind::MemberOf => "MEMBER_OF",
            EdgeKind::IdentityPolicy => "IDENTITY_POLICY",
            EdgeKind::Grants => "GRANTS",
            EdgeKind::Holds => "HOLDS",
            EdgeKind::Escalates => "ESCALATES",
        }
    }

    /// The kind in PascalCase (`LogsInto`): BloodHound's recommended edge-kind style.
    pub fn pascal(self) -> &'static str {
        match self {
            EdgeKind::Runs => "Runs",
            EdgeKind::Owns => "Owns",
            EdgeKind::Contains => "Contains",
            EdgeKind::HasRole => "HasRole",
            EdgeKind::LogsInto => "LogsInto",
            EdgeKind::Issues => "Issues",
            EdgeKind::AppliesTo => "AppliesTo",
            EdgeKind::IdentityOf => "IdentityOf",
            EdgeKind::MemberOf => "MemberOf",
            EdgeKind::IdentityPolicy => "IdentityPolicy",
            EdgeKind::Grants => "Grants",
            EdgeKind::Holds => "Holds",
            EdgeKind::Escalates => "Escalates",
        }
    }

    /// Whether a walk from a pipeline follows this kind: the access edges.
    pub fn is_access(self) -> bool {
        matches!(
            self,
            EdgeKind::LogsInto
                | EdgeKind::Grants
                | EdgeKind::Escalates
                | EdgeKind::Contains
                | EdgeKind::HasRole
                | EdgeKind::Issues
                | EdgeKind::Holds
        )
    }
}

impl Edge {
    pub fn kind(&self) -> EdgeKind {
        match self {
            Edge::Runs => EdgeKind::Runs,
            Edge::Owns => EdgeKind::Owns,
            Edge::Contains => EdgeKind::Contains,
            Edge::HasRole => EdgeKind::HasRole,
            Edge::LogsInto { .. } => EdgeKind::LogsInto,
            Edge::Issues => EdgeKind::Issues,
            Edge::AppliesTo { .. } => EdgeKind::AppliesTo,
            Edge::IdentityOf => EdgeKind::IdentityOf,
            Edge::MemberOf => EdgeKind::MemberOf,
            Edge::IdentityPolicy => EdgeKind::IdentityPolicy,
            Edge::Grants { .. } => EdgeKind::Grants,
            Edge::Holds => EdgeKind::Holds,
            Edge::Escalates(_) => EdgeKind::Escalates,
        }
    }
}

/// What tells two edges between the same nodes apart, for the duplicate check.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum EdgeIdentity {
    Plain(EdgeKind),
    Login(RoleId),
    Holding(HoldingId),
    /// An escalation step by its primitive and target.
    Step(&'static str, String),
}

/// The graph, with lookup of nodes by value (secrets by their id in the analysis' index).
#[derive(Debug, Default)]
pub struct BlastGraph {
    pub graph: StableDiGraph<Node, Edge>,
    index: HashMap<Node, NodeIndex>,
    /// Secret nodes by secret id, which is the order of their full paths (namespace and path):
    /// a million secrets are found by binary search, not hashed as values.
    secrets: Vec<NodeIndex>,
    edges: FxHashSet<(NodeIndex, NodeIndex, EdgeIdentity)>,
    tables: Tables,
    /// Escalation steps of a token that gain nothing modelled (persistence, hiding tracks),
    /// by token node: not edges, as they lead nowhere.
    dead_ends: HashMap<NodeIndex, Vec<Arc<Step>>>,
    /// How many escalation steps deep the graph was built.
    pub escalation_depth: usize,
}

impl BlastGraph {
    /// The node's index, adding it if new.
    pub fn node(&mut self, n: Node) -> NodeIndex {
        if let Some(&i) = self.index.get(&n) {
            return i;
        }
        let added = self.graph.add_node(n.clone());
        self.index.insert(n, added);
        added
    }

    pub fn find(&self, n: &Node) -> Option<NodeIndex> {
        if let Node::Secret { namespace, path } = n {
            return self.secret(namespace, path);
        }
        self.index.get(n).copied()
    }

    /// The node of the secret at `path` in `namespace`.
    pub fn secret(&self, namespace: &str, path: &str) -> Option<NodeIndex> {
        let wanted = namespace.bytes().chain(path.bytes());
        let at = self
            .secrets
            .binary_search_by(|&node| match &self.graph[node] {
                Node::Secret {
                    namespace: ns,
                    path: p,
                } => ns.bytes().chain(p.bytes()).cmp(wanted.clone()),
                _ => std::cmp::Ordering::Less,
            })
            .ok()?;
        Some(self.secrets[at])
    }

    /// Add an edge unless an equal one exists (same ends, kind, and role, holding or step).
    pub fn edge(&mut self, a: NodeIndex, b: NodeIndex, e: Edge) {
        let identity = match &e {
            Edge::LogsInto { role, .. } => EdgeIdentity::Login(*role),
            Edge::AppliesTo { holding } => EdgeIdentity::Holding(*holding),
            Edge::Escalates(step) => {
                let step = self.step(*step);
                EdgeIdentity::Step(step.kind, step.target.clone())
            }
            other => EdgeIdentity::Plain(other.kind()),
        };
        if self.edges.insert((a, b, identity)) {
            self.graph.add_edge(a, b, e);
        }
    }

    /// The role of a login edge.
    pub fn role(&self, id: RoleId) -> &Arc<RoleName> {
        &self.tables.roles[id.at()]
    }

    /// How a token holds a policy, for an `AppliesTo` edge.
    pub fn holding(&self, id: HoldingId) -> &Holding {
        &self.tables.holdings[id.at()]
    }

    /// The rules behind a grant.
    pub fn sources(&self, id: SourcesId) -> &Arc<[GrantSource]> {
        &self.tables.sources[id.at()]
    }

    /// An escalation step.
    pub fn step(&self, id: StepId) -> &Arc<Step> {
        &self.tables.steps[id.at()]
    }

    fn intern_role(&mut self, role: RoleName) -> RoleId {
        let role = Arc::new(role);
        if let Some(&id) = self.tables.role_ids.get(&role) {
            return id;
        }
        let id = RoleId(table_index(self.tables.roles.len()));
        self.tables.roles.push(role.clone());
        self.tables.role_ids.insert(role, id);
        id
    }

    fn intern_holding(&mut self, holding: Holding) -> HoldingId {
        if let Some(&id) = self.tables.holding_ids.get(&holding) {
            return id;
        }
        let id = HoldingId(table_index(self.tables.holdings.len()));
        self.tables.holdings.push(holding.clone());
        self.tables.holding_ids.insert(holding, id);
        id
    }

    fn add_sources(&mut self, sources: Arc<[GrantSource]>) -> SourcesId {
        let id = SourcesId(table_index(self.tables.sources.len()));
        self.tables.sources.push(sources);
        id
    }

    fn add_step_data(&mut self, step: Arc<Step>) -> StepId {
        let id = StepId(table_index(self.tables.steps.len()));
        self.tables.steps.push(step);
        id
    }

    /// Add an edge known to be new (grants, holds, ownership: one per pair by construction).
    fn new_edge(&mut self, a: NodeIndex, b: NodeIndex, e: Edge) {
        self.graph.add_edge(a, b, e);
    }

    pub fn node_count(&self) -> usize {
        self.graph.node_count()
    }

    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    /// Outgoing edges of a node with their targets.
    pub fn out(&self, n: NodeIndex) -> impl Iterator<Item = (&Edge, NodeIndex)> {
        self.graph
            .edges_directed(n, Direction::Outgoing)
            .map(|e| (e.weight(), e.target()))
    }

    /// Incoming edges of a node with their sources.
    pub fn incoming(&self, n: NodeIndex) -> impl Iterator<Item = (&Edge, NodeIndex)> {
        self.graph
            .edges_directed(n, Direction::Incoming)
            .map(|e| (e.weight(), e.source()))
    }

    /// The escalation steps of a token that gain nothing modelled.
    pub fn dead_ends(&self, token: NodeIndex) -> &[Arc<Step>] {
        self.dead_ends.get(&token).map_or(&[], Vec::as_slice)
    }

    /// Nodes reachable from `start` following edges forward (`start` first).
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
}
