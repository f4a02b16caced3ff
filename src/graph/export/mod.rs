//! `blastmap graph`: the blast-radius graphs of one or more estates, written for the graph
//! engines security teams run (`docs/graph.md`): BloodHound CE's OpenGraph JSON
//! ([`opengraph`]), Neo4j's bulk-import CSV ([`csv`]) and GraphML ([`graphml`]).
//!
//! Every node and edge is turned once into an [`Item`]: an id, a kind and typed properties from
//! one fixed table of columns, so the three writers agree on what they write. Node ids are
//! `<estate>:<kind>:<key>`, so several estates share one graph without colliding. Writers stream
//! from the graphs: nothing but the graph itself is held in memory.

pub mod csv;
pub mod graphml;
pub mod opengraph;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use petgraph::stable_graph::{EdgeIndex, NodeIndex};
use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::Value;

use super::{BlastGraph, Edge, EdgeKind, Node, NodeKind};
use crate::rules::{Finding, Severity};

/// The export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// BloodHound CE OpenGraph JSON, one file.
    Opengraph,
    /// Neo4j bulk-import CSV: a directory of `nodes_<Label>.csv` and `rels_<TYPE>.csv`.
    Csv,
    /// GraphML with typed attributes, one file.
    Graphml,
}

/// The type of a property column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Text,
    Bool,
    Int,
    /// A list of strings: an array in OpenGraph, its JSON text in CSV and GraphML.
    List,
}

/// One property column: name and type.
pub struct Column {
    pub name: &'static str,
    pub kind: ColumnType,
}

const fn column(name: &'static str, kind: ColumnType) -> Column {
    Column { name, kind }
}

/// Every node property, in the order the writers list them.
pub const NODE_COLUMNS: &[Column] = &[
    column("estate", ColumnType::Text),
    column("name", ColumnType::Text),
    column("namespace", ColumnType::Text),
    column("path", ColumnType::Text),
    column("mount", ColumnType::Text),
    column("vault_id", ColumnType::Text),
    column("policies", ColumnType::List),
    column("any_policy", ColumnType::Bool),
    column("dead_end_steps", ColumnType::List),
    column("findings", ColumnType::List),
    column("findings_count", ColumnType::Int),
    column("max_severity", ColumnType::Text),
    column("added", ColumnType::Bool),
];

/// Every edge property, in the order the writers list them.
pub const EDGE_COLUMNS: &[Column] = &[
    column("estate", ColumnType::Text),
    column("verdict", ColumnType::Text),
    column("configured", ColumnType::Bool),
    column("role", ColumnType::Text),
    column("holding", ColumnType::Text),
    column("holder", ColumnType::Text),
    column("capabilities", ColumnType::List),
    column("rules", ColumnType::List),
    column("step", ColumnType::Text),
    column("step_namespace", ColumnType::Text),
    column("step_path", ColumnType::Text),
    column("target", ColumnType::Text),
    column("effect", ColumnType::Text),
    column("granted_by", ColumnType::List),
    column("conditions", ColumnType::List),
    column("added", ColumnType::Bool),
];

/// A property value.
#[derive(Debug, Clone, PartialEq)]
pub enum Prop {
    Text(String),
    Bool(bool),
    Int(i64),
    List(Vec<String>),
}

impl Prop {
    /// The value as one string: lists as their JSON text.
    pub fn as_text(&self) -> String {
        match self {
            Prop::Text(s) => s.clone(),
            Prop::Bool(b) => b.to_string(),
            Prop::Int(i) => i.to_string(),
            Prop::List(items) => Value::from(items.clone()).to_string(),
        }
    }

    /// The value as JSON.
    pub fn as_json(&self) -> Value {
        match self {
            Prop::Text(s) => Value::from(s.as_str()),
            Prop::Bool(b) => Value::from(*b),
            Prop::Int(i) => Value::from(*i),
            Prop::List(items) => Value::from(items.clone()),
        }
    }
}

/// A node or an edge as the writers see it. Properties are indexed like the column table
/// ([`NODE_COLUMNS`] or [`EDGE_COLUMNS`]); absent ones are `None`.
pub struct Item {
    pub id: String,
    /// Edges: start and end node ids.
    pub ends: Option<(String, String)>,
    pub props: Vec<Option<Prop>>,
}

/// What the findings say about one node.
#[derive(Debug, Default, Clone)]
struct NodeFindings {
    rules: BTreeSet<String>,
    count: usize,
    max: Severity,
}

/// One estate's graph, with its findings attached to nodes and, when a base was given, what is
/// new since the base.
pub struct EstateGraph<'g> {
    /// The estate id, the first part of every node id.
    pub estate: String,
    pub graph: &'g BlastGraph,
    findings: FxHashMap<NodeIndex, NodeFindings>,
    /// Ids of the base's nodes and edges (`--since`); items not in them are marked `added`.
    base: Option<BaseIds>,
    /// Findings about something that is not a node (a CI job, a Kubernetes store).
    pub findings_without_node: usize,
}

/// The node and edge ids of a base graph.
pub struct BaseIds {
    nodes: FxHashSet<String>,
    edges: FxHashSet<String>,
}

impl<'g> EstateGraph<'g> {
    pub fn new(estate: &str, graph: &'g BlastGraph) -> Self {
        EstateGraph {
            estate: estate.to_string(),
            graph,
            findings: FxHashMap::default(),
            base: None,
            findings_without_node: 0,
        }
    }

    /// Attach findings to the nodes they concern (by their subject: pipeline, role, policy,
    /// entity, auth mount, namespace); the others are counted.
    pub fn attach_findings(&mut self, findings: &[Finding]) {
        for finding in findings {
            match subject_node(&finding.subject).and_then(|n| self.graph.find(&n)) {
                Some(node) => {
                    let entry = self.findings.entry(node).or_default();
                    entry.rules.insert(finding.rule.clone());
                    entry.count += 1;
                    entry.max = entry.max.max(finding.severity);
                }
                None => self.findings_without_node += 1,
            }
        }
    }

    /// Mark what is not in `base` (the same estate's graph at an earlier snapshot) as added.
    pub fn since(&mut self, base: &BlastGraph) {
        let base_view = EstateGraph::new(&self.estate, base);
        let nodes = base
            .graph
            .node_indices()
            .map(|n| base_view.node_id(n))
            .collect();
        let edges = base
            .graph
            .edge_indices()
            .map(|e| base_view.edge_id(e))
            .collect();
        self.base = Some(BaseIds { nodes, edges });
    }

    /// The export id of a node.
    pub fn node_id(&self, node: NodeIndex) -> String {
        let n = &self.graph.graph[node];
        format!("{}:{}:{}", self.estate, n.kind().word(), n.key())
    }

    /// A stable id of an edge: its ends, kind and what tells parallel edges apart.
    fn edge_id(&self, edge: EdgeIndex) -> String {
        let (a, b) = self.graph.graph.edge_endpoints(edge).expect("edge exists");
        let weight = &self.graph.graph[edge];
        let extra = match weight {
            Edge::LogsInto { role, .. } => role.label(),
            Edge::AppliesTo { holding } => format!("{holding:?}"),
            Edge::Escalates(step) => format!("{}|{}", step.kind, step.target),
            _ => String::new(),
        };
        format!(
            "{}|{}|{}|{extra}",
            self.node_id(a),
            weight.kind().label(),
            self.node_id(b)
        )
    }

    /// Nodes of one kind, as items.
    pub fn nodes_of(&self, kind: NodeKind) -> impl Iterator<Item = Item> + '_ {
        self.graph
            .graph
            .node_indices()
            .filter(move |&n| self.graph.graph[n].kind() == kind)
            .map(|n| self.node_item(n))
    }

    /// Edges of one kind, as items.
    pub fn edges_of(&self, kind: EdgeKind) -> impl Iterator<Item = Item> + '_ {
        self.graph
            .graph
            .edge_indices()
            .filter(move |&e| self.graph.graph[e].kind() == kind)
            .map(|e| self.edge_item(e))
    }

    fn node_item(&self, index: NodeIndex) -> Item {
        let node = &self.graph.graph[index];
        let id = self.node_id(index);
        let mut props = Props::new(NODE_COLUMNS);
        props.text("estate", &self.estate);
        props.text("name", &node.label());
        node_props(node, &mut props);
        let dead_ends = self.graph.dead_ends(index);
        if !dead_ends.is_empty() {
            props.list(
                "dead_end_steps",
                dead_ends
                    .iter()
                    .map(|s| format!("{} {}", s.kind, s.target))
                    .collect(),
            );
        }
        if let Some(found) = self.findings.get(&index) {
            props.list("findings", found.rules.iter().cloned().collect());
            props.set("findings_count", Prop::Int(found.count as i64));
            props.text("max_severity", found.max.as_str());
        }
        if let Some(base) = &self.base {
            props.set("added", Prop::Bool(!base.nodes.contains(&id)));
        }
        Item {
            id,
            ends: None,
            props: props.values,
        }
    }

    fn edge_item(&self, index: EdgeIndex) -> Item {
        let (a, b) = self.graph.graph.edge_endpoints(index).expect("edge exists");
        let mut props = Props::new(EDGE_COLUMNS);
        props.text("estate", &self.estate);
        edge_props(&self.graph.graph[index], &mut props);
        let id = self.edge_id(index);
        if let Some(base) = &self.base {
            props.set("added", Prop::Bool(!base.edges.contains(&id)));
        }
        Item {
            id,
            ends: Some((self.node_id(a), self.node_id(b))),
            props: props.values,
        }
    }
}

/// Properties being filled, by column name.
struct Props {
    columns: &'static [Column],
    values: Vec<Option<Prop>>,
}

impl Props {
    fn new(columns: &'static [Column]) -> Self {
        Props {
            columns,
            values: vec![None; columns.len()],
        }
    }

    fn set(&mut self, name: &str, value: Prop) {
        let at = self
            .columns
            .iter()
            .position(|c| c.name == name)
            .expect("a column of the table");
        self.values[at] = Some(value);
    }

    fn text(&mut self, name: &str, value: &str) {
        self.set(name, Prop::Text(value.to_string()));
    }

    fn list(&mut self, name: &str, value: Vec<String>) {
        self.set(name, Prop::List(value));
    }
}

fn node_props(node: &Node, props: &mut Props) {
    match node {
        Node::Team { .. } | Node::Pipeline { .. } => {}
        Node::Namespace { path } => props.text("namespace", path),
        Node::AuthMount { namespace, path }
        | Node::SecretMount { namespace, path }
        | Node::Secret { namespace, path } => {
            props.text("namespace", namespace);
            props.text("path", path);
        }
        Node::Role {
            namespace, mount, ..
        } => {
            props.text("namespace", namespace);
            props.text("mount", mount);
        }
        Node::Token {
            namespace,
            policies,
            any_policy,
            ..
        } => {
            props.text("namespace", namespace);
            props.list("policies", policies.clone());
            props.set("any_policy", Prop::Bool(*any_policy));
        }
        Node::Entity { id, .. } | Node::Group { id, .. } => props.text("vault_id", id),
        Node::Policy { namespace, .. } => props.text("namespace", namespace),
    }
}

fn edge_props(edge: &Edge, props: &mut Props) {
    match edge {
        Edge::LogsInto {
            verdict,
            configured,
            role,
        } => {
            props.text("verdict", verdict.as_str());
            props.set("configured", Prop::Bool(*configured));
            props.text("role", &role.label());
        }
        Edge::AppliesTo { holding } => {
            props.text("holding", holding.word());
            match holding {
                super::Holding::Role => {}
                super::Holding::Entity { name, .. } | super::Holding::Group { name, .. } => {
                    props.text("holder", name)
                }
            }
        }
        Edge::Grants {
            capabilities,
            sources,
        } => {
            props.list(
                "capabilities",
                capabilities.names().iter().map(|c| c.to_string()).collect(),
            );
            props.list("rules", sources.iter().map(|s| s.describe()).collect());
        }
        Edge::Escalates(step) => {
            props.text("step", step.kind);
            props.text("step_namespace", &step.namespace);
            props.text("step_path", &step.path);
            props.list(
                "capabilities",
                step.capabilities.iter().map(|c| c.to_string()).collect(),
            );
            props.text("target", &step.target);
            props.text("effect", &step.effect);
            props.list("granted_by", step.granted_by.clone());
            if !step.conditions.is_empty() {
                props.list("conditions", step.conditions.clone());
            }
        }
        _ => {}
    }
}

/// The node a finding's subject names, when it is one.
fn subject_node(subject: &serde_json::Map<String, Value>) -> Option<Node> {
    let field = |name: &str| {
        subject
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let namespace = || field("namespace").unwrap_or_default();
    match field("kind")?.as_str() {
        "pipeline" => Some(Node::Pipeline {
            name: field("name").or_else(|| field("id"))?,
        }),
        "role" => Some(Node::Role {
            namespace: namespace(),
            mount: field("mount")?,
            name: field("name")?,
        }),
        "policy" => Some(Node::Policy {
            namespace: namespace(),
            name: field("name")?,
        }),
        "entity" => Some(Node::Entity {
            id: field("entity_id")?,
            name: field("name")?,
        }),
        "auth_mount" => Some(Node::AuthMount {
            namespace: namespace(),
            path: format!("{}/", field("path")?),
        }),
        "namespace" => Some(Node::Namespace {
            path: field("path")?,
        }),
        _ => None,
    }
}

/// Counts of what was written, per kind, for the command's summary.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Written {
    pub nodes: BTreeMap<&'static str, usize>,
    pub edges: BTreeMap<&'static str, usize>,
}

impl Written {
    pub fn node_total(&self) -> usize {
        self.nodes.values().sum()
    }

    pub fn edge_total(&self) -> usize {
        self.edges.values().sum()
    }
}

/// Write `estates` in `format` to `out` (a file, or a directory for CSV).
pub fn write(
    format: Format,
    estates: &[EstateGraph<'_>],
    out: &std::path::Path,
) -> Result<Written, crate::output::OutputError> {
    match format {
        Format::Opengraph => opengraph::write(estates, out),
        Format::Graphml => graphml::write(estates, out),
        Format::Csv => csv::write(estates, out),
    }
}

/// Write one JSON value without a trailing newline.
fn write_json(w: &mut dyn Write, value: &Value) -> io::Result<()> {
    serde_json::to_writer(&mut *w, value).map_err(io::Error::from)
}
