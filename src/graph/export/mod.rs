//! `blastmap graph`: the blast-radius graphs of one or more estates, written for the graph
//! engines security teams run (`docs/graph.md`): BloodHound CE's OpenGraph JSON
//! ([`opengraph`]), Neo4j's bulk-import CSV ([`csv`]) and GraphML ([`graphml`]).
//!
//! Every node and edge is turned once into an [`Item`]: an id, a kind and typed properties from
//! one fixed table of columns, so the three writers agree on what they write. Node ids are
//! `<estate>:<kind>:<key>`, so several estates share one graph without colliding. Writers stream
//! from the graphs: nothing but the graph itself is held in memory.

pub(crate) mod csv;
pub(crate) mod graphml;
pub(crate) mod opengraph;

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::sync::Arc;

use petgraph::stable_graph::{EdgeIndex, NodeIndex};
use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::Value;

use super::{BlastGraph, Edge, EdgeKind, GrantSource, Node, NodeKind, SourcesId};
use crate::acl::Caps;
use crate::rules::{Finding, Severity};

/// The export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// BloodHound CE OpenGraph JSON, one file.
    Opengraph,
    /// Neo4j bulk-import CSV: a directory of `nodes_<Label>.csv` and `rels_<TYPE>.csv`.
    Csv,
    /// GraphML with typed attributes, one file.
    Graphml,
}

/// The type of a property column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnType {
    Text,
    Bool,
    Int,
    /// A list of strings: an array in OpenGraph, its JSON text in CSV and GraphML.
    List,
}

/// One property column: name and type.
pub(crate) struct Column {
    pub name: &'static str,
    pub kind: ColumnType,
}

const fn column(name: &'static str, kind: ColumnType) -> Column {
    Column { name, kind }
}

/// Every node property, in the order the writers list them.
pub(crate) const NODE_COLUMNS: &[Column] = &[
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
pub(crate) const EDGE_COLUMNS: &[Column] = &[
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
pub(crate) enum Prop<'a> {
    Text(Cow<'a, str>),
    Bool(bool),
    Int(i64),
    List(Arc<List>),
}

/// A list of strings with its JSON text, made once and shared by every edge that carries it
/// (a rule's sources are the same for each secret it decides).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct List {
    pub items: Vec<String>,
    pub json: String,
    /// The JSON text as a CSV cell, and as XML text.
    pub csv: String,
    pub xml: String,
}

impl List {
    pub(crate) fn new(items: Vec<String>) -> Arc<List> {
        let json = Value::from(items.clone()).to_string();
        let csv = crate::text::csv_cell(&json).into_owned();
        let xml = crate::text::html(&json);
        Arc::new(List {
            items,
            json,
            csv,
            xml,
        })
    }
}

impl Prop<'_> {
    /// The value as one string: lists as their JSON text.
    pub(crate) fn as_text(&self) -> Cow<'_, str> {
        match self {
            Prop::Text(s) => Cow::Borrowed(s.as_ref()),
            Prop::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
            Prop::Int(i) => Cow::Owned(i.to_string()),
            Prop::List(list) => Cow::Borrowed(&list.json),
        }
    }

    /// Write the value as JSON.
    pub(crate) fn write_json(&self, w: &mut dyn Write) -> io::Result<()> {
        match self {
            Prop::Text(s) => write_json_str(w, s),
            Prop::Bool(b) => w.write_all(if *b { b"true" } else { b"false" }),
            Prop::Int(i) => write!(w, "{i}"),
            Prop::List(list) => w.write_all(list.json.as_bytes()),
        }
    }
}

/// Write a JSON string (quoted and escaped).
pub(crate) fn write_json_str(w: &mut dyn Write, s: &str) -> io::Result<()> {
    serde_json::to_writer(&mut *w, s).map_err(io::Error::from)
}

/// A node or an edge as the writers see it. Properties are indexed like the column table
/// ([`NODE_COLUMNS`] or [`EDGE_COLUMNS`]); absent ones are `None`.
pub(crate) struct Item<'a> {
    /// A node's id (empty for an edge unless `--since` needs it).
    pub id: Cow<'a, str>,
    /// Edges: start and end node ids.
    pub ends: Option<(&'a str, &'a str)>,
    pub props: Vec<Option<Prop<'a>>>,
}

/// What the export keeps of a finding: the node it concerns (when it is one), its rule and
/// severity. Evidence is not kept: a large estate has tens of thousands of findings.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FindingMark {
    pub subject: Option<Node>,
    pub rule: String,
    pub severity: Severity,
}

impl FindingMark {
    pub(crate) fn of(finding: &Finding) -> FindingMark {
        FindingMark {
            subject: subject_node(&finding.subject),
            rule: finding.rule.clone(),
            severity: finding.severity,
        }
    }
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
pub(crate) struct EstateGraph<'g> {
    /// The estate id, the first part of every node id.
    pub estate: String,
    pub graph: &'g BlastGraph,
    findings: FxHashMap<NodeIndex, NodeFindings>,
    /// Ids of the base's nodes and edges (`--since`); items not in them are marked `added`.
    base: Option<BaseIds>,
    /// Findings about something that is not a node (a CI job, a Kubernetes store).
    pub findings_without_node: usize,
    /// Every node's export id, by node index (made once: each edge names two).
    ids: Vec<String>,
    /// Lists shared by many edges, made once: the rules behind a grant (by their shared
    /// allocation) and capability sets.
    rules_lists: RefCell<FxHashMap<SourcesId, Arc<List>>>,
    caps_lists: RefCell<FxHashMap<Caps, Arc<List>>>,
}

/// The node and edge ids of a base graph.
pub(crate) struct BaseIds {
    nodes: FxHashSet<String>,
    edges: FxHashSet<String>,
}

impl<'g> EstateGraph<'g> {
    pub(crate) fn new(estate: &str, graph: &'g BlastGraph) -> Self {
        let mut ids = vec![String::new(); petgraph::visit::NodeIndexable::node_bound(&graph.graph)];
        for node in graph.graph.node_indices() {
            let weight = &graph.graph[node];
            ids[node.index()] = format!("{estate}:{}:{}", weight.kind().word(), weight.key());
        }
        EstateGraph {
            estate: estate.to_string(),
            graph,
            findings: FxHashMap::default(),
            base: None,
            findings_without_node: 0,
            ids,
            rules_lists: RefCell::default(),
            caps_lists: RefCell::default(),
        }
    }

    /// Attach findings to the nodes they concern (by their subject: pipeline, role, policy,
    /// entity, auth mount, namespace); the others are counted.
    pub(crate) fn attach_findings(&mut self, findings: &[FindingMark]) {
        for finding in findings {
            match finding.subject.as_ref().and_then(|n| self.graph.find(n)) {
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
    pub(crate) fn since(&mut self, base: &BlastGraph) {
        let base_view = EstateGraph::new(&self.estate, base);
        let nodes = base
            .graph
            .node_indices()
            .map(|n| base_view.node_id(n).to_string())
            .collect();
        let edges = base
            .graph
            .edge_indices()
            .map(|e| base_view.edge_id(e))
            .collect();
        self.base = Some(BaseIds { nodes, edges });
    }

    /// The export id of a node.
    pub(crate) fn node_id(&self, node: NodeIndex) -> &str {
        &self.ids[node.index()]
    }

    /// A stable id of an edge: its ends, kind and what tells parallel edges apart.
    fn edge_id(&self, edge: EdgeIndex) -> String {
        let (a, b) = self.graph.graph.edge_endpoints(edge).expect("edge exists");
        let weight = &self.graph.graph[edge];
        let extra = match weight {
            Edge::LogsInto { role, .. } => self.graph.role(*role).label(),
            Edge::AppliesTo { holding } => format!("{:?}", self.graph.holding(*holding)),
            Edge::Escalates(step) => {
                let step = self.graph.step(*step);
                format!("{}|{}", step.kind, step.target)
            }
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
    pub(crate) fn nodes_of(&self, kind: NodeKind) -> impl Iterator<Item = Item<'_>> + '_ {
        self.graph
            .graph
            .node_indices()
            .filter(move |&n| self.graph.graph[n].kind() == kind)
            .map(|n| self.node_item(n))
    }

    /// Edges of one kind, as items.
    pub(crate) fn edges_of(&self, kind: EdgeKind) -> impl Iterator<Item = Item<'_>> + '_ {
        self.graph
            .graph
            .edge_indices()
            .filter(move |&e| self.graph.graph[e].kind() == kind)
            .map(|e| self.edge_item(e))
    }

    fn node_item(&self, index: NodeIndex) -> Item<'_> {
        let node = &self.graph.graph[index];
        let id = self.node_id(index);
        let mut props = Props::new(NODE_COLUMNS);
        props.text("estate", &self.estate);
        props.owned("name", node.label());
        node_props(node, &mut props);
        let dead_ends = self.graph.dead_ends(index);
        if !dead_ends.is_empty() {
            props.list(
                "dead_end_steps",
                List::new(
                    dead_ends
                        .iter()
                        .map(|s| format!("{} {}", s.kind, s.target))
                        .collect(),
                ),
            );
        }
        if let Some(found) = self.findings.get(&index) {
            props.list("findings", List::new(found.rules.iter().cloned().collect()));
            props.set("findings_count", Prop::Int(found.count as i64));
            props.text("max_severity", found.max.as_str());
        }
        if let Some(base) = &self.base {
            props.set("added", Prop::Bool(!base.nodes.contains(id)));
        }
        Item {
            id: Cow::Borrowed(id),
            ends: None,
            props: props.values,
        }
    }

    fn edge_item(&self, index: EdgeIndex) -> Item<'_> {
        let (a, b) = self.graph.graph.edge_endpoints(index).expect("edge exists");
        let mut props = Props::new(EDGE_COLUMNS);
        props.text("estate", &self.estate);
        self.edge_props(&self.graph.graph[index], &mut props);
        // Only `--since` needs an edge's id: it is not made otherwise.
        let id = match &self.base {
            Some(base) => {
                let id = self.edge_id(index);
                props.set("added", Prop::Bool(!base.edges.contains(&id)));
                id
            }
            None => String::new(),
        };
        Item {
            id: Cow::Owned(id),
            ends: Some((self.node_id(a), self.node_id(b))),
            props: props.values,
        }
    }

    /// The rules behind a grant, as a list made once per rule.
    fn rules_list(&self, sources: SourcesId) -> Arc<List> {
        self.rules_lists
            .borrow_mut()
            .entry(sources)
            .or_insert_with(|| {
                List::new(
                    self.graph
                        .sources(sources)
                        .iter()
                        .map(GrantSource::describe)
                        .collect(),
                )
            })
            .clone()
    }

    fn caps_list(&self, caps: Caps) -> Arc<List> {
        self.caps_lists
            .borrow_mut()
            .entry(caps)
            .or_insert_with(|| List::new(caps.names().iter().map(|c| c.to_string()).collect()))
            .clone()
    }

    fn edge_props<'s>(&'s self, edge: &'s Edge, props: &mut Props<'s>) {
        match edge {
            Edge::LogsInto {
                verdict,
                configured,
                role,
            } => {
                props.text("verdict", verdict.as_str());
                props.set("configured", Prop::Bool(*configured));
                props.owned("role", self.graph.role(*role).label());
            }
            Edge::AppliesTo { holding } => {
                let holding = self.graph.holding(*holding);
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
                props.list("capabilities", self.caps_list(*capabilities));
                props.list("rules", self.rules_list(*sources));
            }
            Edge::Escalates(step) => {
                let step = self.graph.step(*step);
                props.text("step", step.kind);
                props.text("step_namespace", &step.namespace);
                props.text("step_path", &step.path);
                props.list(
                    "capabilities",
                    List::new(step.capabilities.iter().map(|c| c.to_string()).collect()),
                );
                props.text("target", &step.target);
                props.text("effect", &step.effect);
                props.list("granted_by", List::new(step.granted_by.clone()));
                if !step.conditions.is_empty() {
                    props.list("conditions", List::new(step.conditions.clone()));
                }
            }
            _ => {}
        }
    }
}

/// Properties being filled, by column name.
struct Props<'a> {
    columns: &'static [Column],
    values: Vec<Option<Prop<'a>>>,
}

impl<'a> Props<'a> {
    fn new(columns: &'static [Column]) -> Self {
        Props {
            columns,
            values: vec![None; columns.len()],
        }
    }

    fn set(&mut self, name: &str, value: Prop<'a>) {
        let at = self
            .columns
            .iter()
            .position(|c| c.name == name)
            .expect("a column of the table");
        self.values[at] = Some(value);
    }

    fn text(&mut self, name: &str, value: &'a str) {
        self.set(name, Prop::Text(Cow::Borrowed(value)));
    }

    fn owned(&mut self, name: &str, value: String) {
        self.set(name, Prop::Text(Cow::Owned(value)));
    }

    fn list(&mut self, name: &str, value: Arc<List>) {
        self.set(name, Prop::List(value));
    }
}

fn node_props<'a>(node: &'a Node, props: &mut Props<'a>) {
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
            props.list("policies", List::new(policies.clone()));
            props.set("any_policy", Prop::Bool(*any_policy));
        }
        Node::Entity { id, .. } | Node::Group { id, .. } => props.text("vault_id", id),
        Node::Policy { namespace, .. } => props.text("namespace", namespace),
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
pub(crate) struct Written {
    pub nodes: BTreeMap<&'static str, usize>,
    pub edges: BTreeMap<&'static str, usize>,
}

impl Written {
    pub(crate) fn node_total(&self) -> usize {
        self.nodes.values().sum()
    }

    pub(crate) fn edge_total(&self) -> usize {
        self.edges.values().sum()
    }
}

/// Write `estates` in `format` to `out` (a file, or a directory for CSV).
pub(crate) fn write(
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
