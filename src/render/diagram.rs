//! A small diagram model (nodes, edges, nested clusters, a legend) printed as DOT through
//! graphviz-rust's syntax tree.
//!
//! graphviz-rust prints ids verbatim, so every id and value put into its tree goes through
//! [`escape`](super::escape) here and nowhere else; the views never write DOT text themselves.
//! Output is deterministic: clusters, nodes and edges are kept in ordered maps keyed by stable
//! ids derived from names, never from insertion order or hash-map iteration.

use std::collections::{BTreeMap, BTreeSet};

use graphviz_rust::dot_structures::{
    Attribute, Edge as GEdge, EdgeTy, Graph, GraphAttributes, Id, Node as GNode, NodeId, Stmt,
    Subgraph, Vertex,
};
use graphviz_rust::printer::{DotPrinter, PrinterContext};

use crate::inventory::ConsumerKind;
use crate::text::{dot_id, dot_label, dot_value};

/// What a node stands for; decides its shape and colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Team,
    Pipeline,
    /// A Kubernetes workload that reads Vault itself (an inventory entry with
    /// `ci.consumer`), drawn apart from CI pipelines.
    Consumer,
    /// Several pipelines of one team.
    Pipelines,
    Role,
    Entity,
    Group,
    Policy,
    Rule,
    /// A rule whose path has `*` or `+`.
    WildcardRule,
    Secret,
    /// A prefix of secrets, with a count.
    SecretGroup,
    /// An escalation primitive.
    Escalation,
    /// What an escalation chain ends in.
    Gain,
    /// Things left out to stay under the node budget (`… N more`).
    More,
}

/// How a secret (or group) relates to the team looking at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tone {
    Neutral,
    /// Owned by the team of the pipeline(s) looking at it.
    Own,
    /// Owned by another team.
    Other,
    /// Owned by no team.
    Unowned,
}

#[derive(Debug, Clone)]
pub struct DNode {
    pub kind: Kind,
    pub tone: Tone,
    pub cluster: Option<String>,
    pub label: Vec<String>,
    pub tooltip: Vec<String>,
    /// Drawn with a heavier border (configured role, the subject of the view).
    pub emphasis: bool,
    /// Explicit fill colour (team colours).
    pub fill: Option<String>,
}

/// How an edge is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EdgeStyle {
    Normal,
    /// Crosses a team boundary: red.
    CrossTeam,
    /// A step of an escalation chain: dashed.
    Escalation,
    /// A login whose admission could not be decided offline: dotted.
    Unknown,
    /// A configured login the server refuses: grey, dotted.
    Refused,
    /// Structure (namespace contains mount …): light grey.
    Structure,
}

impl EdgeStyle {
    /// A reach edge: red when it crosses a team boundary.
    pub fn reach(cross_team: bool) -> EdgeStyle {
        if cross_team {
            EdgeStyle::CrossTeam
        } else {
            EdgeStyle::Normal
        }
    }
}

#[derive(Debug, Clone)]
pub struct DEdge {
    pub style: EdgeStyle,
    pub label: Vec<String>,
    pub tooltip: Vec<String>,
    /// Aggregated count (line width grows with it).
    pub weight: usize,
    /// The edge grants a write capability.
    pub write: bool,
}

#[derive(Debug, Clone)]
pub struct DCluster {
    pub parent: Option<String>,
    pub label: Vec<String>,
    pub fill: Option<String>,
    pub dashed: bool,
}

/// A whole diagram.
#[derive(Debug, Clone, Default)]
pub struct Diagram {
    pub title: Vec<String>,
    /// `LR` (left to right) or `TB`.
    pub rankdir: &'static str,
    pub nodes: BTreeMap<String, DNode>,
    pub edges: BTreeMap<(String, String), DEdge>,
    pub clusters: BTreeMap<String, DCluster>,
    /// Whether to draw a legend, and what to list in it.
    pub legend: bool,
    /// Notes about how the view was reduced (shown under the title and by the CLI).
    pub notes: Vec<String>,
}

/// A stable cluster id (Graphviz only treats subgraphs named `cluster…` as clusters).
pub fn cluster_id(parts: &[&str]) -> String {
    let mut id = String::from("cluster");
    for p in parts {
        id.push(':');
        id.push_str(p);
    }
    id
}

/// A pastel colour for a team (or any name), stable across runs: the hue comes from a hash of
/// the name, so adding a team never changes the others' colours.
pub fn team_colour(name: &str) -> String {
    let hue = (crate::text::fnv(name) % 36) as f64 * 10.0;
    // HSL(h, 70%, 90%) to RGB.
    let (s, l) = (0.7f64, 0.9f64);
    let chroma = (1.0 - (2.0 * l - 1.0).abs()) * s;
    let second = chroma * (1.0 - ((hue / 60.0) % 2.0 - 1.0).abs());
    let offset = l - chroma / 2.0;
    let (r, g, b) = match (hue / 60.0) as u32 {
        0 => (chroma, second, 0.0),
        1 => (second, chroma, 0.0),
        2 => (0.0, chroma, second),
        3 => (0.0, second, chroma),
        4 => (second, 0.0, chroma),
        _ => (chroma, 0.0, second),
    };
    let to_byte = |v: f64| ((v + offset) * 255.0).round().clamp(0.0, 255.0) as u8;
    format!("#{:02x}{:02x}{:02x}", to_byte(r), to_byte(g), to_byte(b))
}

impl Diagram {
    pub fn new(title: Vec<String>) -> Diagram {
        Diagram {
            title,
            rankdir: "LR",
            legend: true,
            ..Default::default()
        }
    }

    /// Add a node (the first definition of an id wins).
    pub fn node(&mut self, id: impl Into<String>, kind: Kind, label: Vec<String>) -> &mut DNode {
        self.nodes.entry(id.into()).or_insert(DNode {
            kind,
            tone: Tone::Neutral,
            cluster: None,
            label,
            tooltip: Vec::new(),
            emphasis: false,
            fill: None,
        })
    }

    pub fn cluster(&mut self, id: &str, parent: Option<&str>, label: Vec<String>) -> &mut DCluster {
        self.clusters.entry(id.to_string()).or_insert(DCluster {
            parent: parent.map(str::to_string),
            label,
            fill: None,
            dashed: false,
        })
    }

    /// Add an edge, or merge into the existing one between the same nodes: weights add up, the
    /// strongest style wins, labels are kept from the first.
    pub fn edge(&mut self, from: &str, to: &str, style: EdgeStyle) -> &mut DEdge {
        let edge = self
            .edges
            .entry((from.to_string(), to.to_string()))
            .or_insert(DEdge {
                style,
                label: Vec::new(),
                tooltip: Vec::new(),
                weight: 0,
                write: false,
            });
        if style_rank(style) > style_rank(edge.style) {
            edge.style = style;
        }
        edge
    }

    /// Nodes counted against `--max-nodes` (the legend included).
    pub fn node_count(&self) -> usize {
        self.nodes.len() + usize::from(self.legend)
    }

    /// The DOT text.
    pub fn to_dot(&self) -> String {
        let mut stmts: Vec<Stmt> = Vec::new();
        let mut title = self.title.clone();
        title.extend(self.notes.iter().cloned());
        stmts.push(Stmt::GAttribute(GraphAttributes::Graph(vec![
            attr("rankdir", dot_value(self.rankdir)),
            attr("label", dot_label(&title)),
            attr("labelloc", dot_value("t")),
            attr("labeljust", dot_value("l")),
            attr("fontname", dot_value("Helvetica")),
            attr("fontsize", dot_value("14")),
            attr("newrank", dot_value("true")),
            attr("nodesep", dot_value("0.25")),
            attr("ranksep", dot_value("0.6")),
            attr("outputorder", dot_value("edgesfirst")),
            attr("tooltip", dot_label(&self.title)),
        ])));
        stmts.push(Stmt::GAttribute(GraphAttributes::Node(vec![
            attr("fontname", dot_value("Helvetica")),
            attr("fontsize", dot_value("10")),
            attr("style", dot_value("filled")),
            attr("fillcolor", dot_value("#ffffff")),
            attr("color", dot_value("#334155")),
        ])));
        stmts.push(Stmt::GAttribute(GraphAttributes::Edge(vec![
            attr("fontname", dot_value("Helvetica")),
            attr("fontsize", dot_value("9")),
            attr("color", dot_value("#64748b")),
            attr("arrowsize", dot_value("0.7")),
        ])));

        // Nodes grouped by cluster; clusters nested by parent.
        let mut by_cluster: BTreeMap<Option<&str>, Vec<(&String, &DNode)>> = BTreeMap::new();
        for (id, n) in &self.nodes {
            let cluster = n
                .cluster
                .as_deref()
                .filter(|c| self.clusters.contains_key(*c));
            by_cluster.entry(cluster).or_default().push((id, n));
        }
        let mut children: BTreeMap<Option<&str>, BTreeSet<&str>> = BTreeMap::new();
        for (id, c) in &self.clusters {
            let parent = c
                .parent
                .as_deref()
                .filter(|p| self.clusters.contains_key(*p) && *p != id.as_str());
            children.entry(parent).or_default().insert(id.as_str());
        }
        if let Some(top) = children.get(&None) {
            for cid in top {
                if let Some(sg) = self.subgraph(cid, &by_cluster, &children, 0) {
                    stmts.push(Stmt::Subgraph(sg));
                }
            }
        }
        if let Some(nodes) = by_cluster.get(&None) {
            for (id, n) in nodes {
                stmts.push(Stmt::Node(node_stmt(id, n)));
            }
        }
        if self.legend {
            stmts.push(Stmt::Node(self.legend_node()));
        }
        for ((from, to), e) in &self.edges {
            if !self.nodes.contains_key(from) || !self.nodes.contains_key(to) {
                continue;
            }
            stmts.push(Stmt::Edge(edge_stmt(from, to, e)));
        }
        let graph = Graph::DiGraph {
            id: Id::Escaped(dot_id("blastmap")),
            strict: false,
            stmts,
        };
        let mut ctx = PrinterContext::default();
        ctx.with_semi();
        let mut text = graph.print(&mut ctx);
        text.push('\n');
        text
    }

    fn subgraph(
        &self,
        cid: &str,
        by_cluster: &BTreeMap<Option<&str>, Vec<(&String, &DNode)>>,
        children: &BTreeMap<Option<&str>, BTreeSet<&str>>,
        depth: usize,
    ) -> Option<Subgraph> {
        if depth > 16 {
            return None;
        }
        let cluster = &self.clusters[cid];
        let mut stmts = vec![
            Stmt::Attribute(attr("label", dot_label(&cluster.label))),
            Stmt::Attribute(attr("labeljust", dot_value("l"))),
            Stmt::Attribute(attr("fontsize", dot_value("11"))),
            Stmt::Attribute(attr(
                "style",
                dot_value(if cluster.dashed {
                    "dashed,rounded,filled"
                } else {
                    "rounded,filled"
                }),
            )),
            Stmt::Attribute(attr(
                "fillcolor",
                dot_value(cluster.fill.as_deref().unwrap_or("#f8fafc")),
            )),
            Stmt::Attribute(attr("color", dot_value("#94a3b8"))),
            Stmt::Attribute(attr("tooltip", dot_label(&cluster.label))),
        ];
        let mut any = false;
        if let Some(kids) = children.get(&Some(cid)) {
            for k in kids {
                if let Some(sg) = self.subgraph(k, by_cluster, children, depth + 1) {
                    stmts.push(Stmt::Subgraph(sg));
                    any = true;
                }
            }
        }
        if let Some(nodes) = by_cluster.get(&Some(cid)) {
            for (id, n) in nodes {
                stmts.push(Stmt::Node(node_stmt(id, n)));
                any = true;
            }
        }
        if !any {
            return None;
        }
        Some(Subgraph {
            id: Id::Escaped(dot_id(cid)),
            stmts,
        })
    }

    /// The legend: one plain-text node with an HTML-like table of fixed text (no names).
    fn legend_node(&self) -> GNode {
        let kinds: BTreeSet<Kind> = self.nodes.values().map(|n| n.kind).collect();
        let tones: BTreeSet<Tone> = self.nodes.values().map(|n| n.tone).collect();
        let styles: BTreeSet<EdgeStyle> = self.edges.values().map(|e| e.style).collect();
        let weighted = self.edges.values().any(|e| e.weight > 1);
        let mut rows = String::new();
        let mut row = |swatch: &str, text: &str| {
            rows.push_str(&format!(
                "<TR><TD {swatch}> </TD><TD ALIGN=\"LEFT\">{text}</TD></TR>"
            ));
        };
        let order = [
            Kind::Team,
            Kind::Pipeline,
            Kind::Consumer,
            Kind::Pipelines,
            Kind::Role,
            Kind::Entity,
            Kind::Group,
            Kind::Policy,
            Kind::Rule,
            Kind::WildcardRule,
            Kind::Secret,
            Kind::SecretGroup,
            Kind::Escalation,
            Kind::Gain,
            Kind::More,
        ];
        for k in order {
            if kinds.contains(&k) {
                let (fill, text) = legend_kind(k);
                row(&format!("BGCOLOR=\"{fill}\""), text);
            }
        }
        if tones.contains(&Tone::Own) {
            row("BGCOLOR=\"#dcfce7\"", "secret owned by the team");
        }
        if tones.contains(&Tone::Other) {
            row("BGCOLOR=\"#fee2e2\"", "secret owned by another team");
        }
        if tones.contains(&Tone::Unowned) {
            row("BGCOLOR=\"#e5e7eb\"", "secret owned by no team");
        }
        let edge_rows = [
            (
                EdgeStyle::CrossTeam,
                "#dc2626",
                "red edge: crosses a team boundary",
            ),
            (
                EdgeStyle::Escalation,
                "#b91c1c",
                "dashed edge: escalation step",
            ),
            (
                EdgeStyle::Unknown,
                "#64748b",
                "dotted edge: admission not decidable offline",
            ),
            (
                EdgeStyle::Refused,
                "#94a3b8",
                "grey dotted edge: configured role refuses the login",
            ),
        ];
        for (s, colour, text) in edge_rows {
            if styles.contains(&s) {
                rows.push_str(&format!(
                    "<TR><TD><FONT COLOR=\"{colour}\">&#9472;&#9472;</FONT></TD><TD ALIGN=\"LEFT\">{text}</TD></TR>"
                ));
            }
        }
        if weighted {
            rows.push_str(
                "<TR><TD>n</TD><TD ALIGN=\"LEFT\">edge label: secrets reached (thicker = more)</TD></TR>",
            );
        }
        if self.edges.values().any(|e| e.write) {
            rows.push_str(
                "<TR><TD><B>&#9472;</B></TD><TD ALIGN=\"LEFT\">bold edge: grants a write capability</TD></TR>",
            );
        }
        let html = format!(
            "<<TABLE BORDER=\"0\" CELLBORDER=\"1\" CELLSPACING=\"0\" CELLPADDING=\"3\"><TR><TD COLSPAN=\"2\"><B>legend</B></TD></TR>{rows}</TABLE>>"
        );
        GNode::new(
            NodeId(Id::Escaped(dot_id("legend")), None),
            vec![
                attr("shape", dot_value("plaintext")),
                attr("style", dot_value("solid")),
                Attribute(Id::Plain("label".into()), Id::Html(html)),
                attr("fontsize", dot_value("9")),
            ],
        )
    }
}

fn style_rank(s: EdgeStyle) -> u8 {
    match s {
        EdgeStyle::Structure => 0,
        EdgeStyle::Refused => 1,
        EdgeStyle::Unknown => 2,
        EdgeStyle::Normal => 3,
        EdgeStyle::CrossTeam => 4,
        EdgeStyle::Escalation => 5,
    }
}

fn legend_kind(k: Kind) -> (&'static str, &'static str) {
    let (fill, _, _) = kind_style(k);
    let text = match k {
        Kind::Team => "team",
        Kind::Pipeline => "pipeline",
        Kind::Consumer => "Kubernetes workload reading Vault (consumer)",
        Kind::Pipelines => "pipelines of a team (count)",
        Kind::Role => "auth role the pipeline can log into",
        Kind::Entity => "identity entity",
        Kind::Group => "identity group",
        Kind::Policy => "policy",
        Kind::Rule => "policy rule (path, line)",
        Kind::WildcardRule => "&#10033; wildcard rule (* or +)",
        Kind::Secret => "secret",
        Kind::SecretGroup => "secrets grouped by prefix (count)",
        Kind::Escalation => "escalation step",
        Kind::Gain => "what the escalation yields",
        Kind::More => "left out to stay readable",
    };
    (fill, text)
}

/// The node kind and first label line of a pipeline: a Kubernetes consumer is drawn as a
/// component (`k8s consumer (eso)`), a CI pipeline as a rounded box.
pub fn pipeline_kind(consumer: Option<ConsumerKind>) -> (Kind, String) {
    match consumer {
        Some(c) => (Kind::Consumer, format!("k8s consumer ({})", c.as_str())),
        None => (Kind::Pipeline, "pipeline".into()),
    }
}

/// (fill, shape, extra style) of a node kind.
fn kind_style(k: Kind) -> (&'static str, &'static str, &'static str) {
    match k {
        Kind::Team => ("#f1f5f9", "box", "rounded,filled,bold"),
        Kind::Pipeline => ("#dbeafe", "box", "rounded,filled"),
        Kind::Consumer => ("#dcfce7", "component", "filled"),
        Kind::Pipelines => ("#dbeafe", "box3d", "filled"),
        Kind::Role => ("#ede9fe", "ellipse", "filled"),
        Kind::Entity => ("#fef3c7", "octagon", "filled"),
        Kind::Group => ("#fef3c7", "hexagon", "filled"),
        Kind::Policy => ("#f1f5f9", "note", "filled"),
        Kind::Rule => ("#ffffff", "box", "filled"),
        Kind::WildcardRule => ("#ffedd5", "box", "filled,bold"),
        Kind::Secret => ("#e5e7eb", "cylinder", "filled"),
        Kind::SecretGroup => ("#e5e7eb", "folder", "filled"),
        Kind::Escalation => ("#fef2f2", "cds", "filled,dashed"),
        Kind::Gain => ("#fecaca", "doubleoctagon", "filled"),
        Kind::More => ("#ffffff", "box", "dashed"),
    }
}

/// Tooltip lines, at most twelve (an aggregated edge can merge hundreds).
fn capped(lines: &[String]) -> Vec<String> {
    const MAX: usize = 12;
    if lines.len() <= MAX {
        return lines.to_vec();
    }
    let mut shown = lines[..MAX - 1].to_vec();
    shown.push(format!("… and {} more", lines.len() - (MAX - 1)));
    shown
}

fn attr(k: &str, v: String) -> Attribute {
    Attribute(Id::Plain(k.to_string()), Id::Escaped(v))
}

fn node_stmt(id: &str, n: &DNode) -> GNode {
    let (fill, shape, style) = kind_style(n.kind);
    let fill = match (n.kind, n.tone) {
        (Kind::Secret | Kind::SecretGroup, Tone::Own) => "#dcfce7",
        (Kind::Secret | Kind::SecretGroup, Tone::Other) => "#fee2e2",
        (Kind::Secret | Kind::SecretGroup, Tone::Unowned) => "#e5e7eb",
        _ => fill,
    };
    let fill = n.fill.as_deref().unwrap_or(fill);
    let mut attrs = vec![
        attr("label", dot_label(&n.label)),
        attr("shape", dot_value(shape)),
        attr("style", dot_value(style)),
        attr("fillcolor", dot_value(fill)),
    ];
    if matches!(n.kind, Kind::Rule | Kind::WildcardRule) {
        attrs.push(attr("fontname", dot_value("Courier")));
    }
    if n.kind == Kind::WildcardRule {
        attrs.push(attr("color", dot_value("#c2410c")));
        attrs.push(attr("penwidth", dot_value("2")));
    }
    if n.kind == Kind::Escalation || n.kind == Kind::Gain {
        attrs.push(attr("color", dot_value("#b91c1c")));
    }
    if n.tone == Tone::Other {
        attrs.push(attr("color", dot_value("#dc2626")));
    }
    if n.emphasis {
        attrs.push(attr("penwidth", dot_value("2.5")));
    }
    let tip = if n.tooltip.is_empty() {
        &n.label
    } else {
        &n.tooltip
    };
    attrs.push(attr("tooltip", dot_label(&capped(tip))));
    GNode::new(NodeId(Id::Escaped(dot_id(id)), None), attrs)
}

fn edge_stmt(from: &str, to: &str, e: &DEdge) -> GEdge {
    let mut attrs = Vec::new();
    let (colour, style) = match e.style {
        EdgeStyle::Normal => ("#475569", "solid"),
        EdgeStyle::CrossTeam => ("#dc2626", "solid"),
        EdgeStyle::Escalation => ("#b91c1c", "dashed"),
        EdgeStyle::Unknown => ("#475569", "dotted"),
        EdgeStyle::Refused => ("#94a3b8", "dotted"),
        EdgeStyle::Structure => ("#cbd5e1", "solid"),
    };
    attrs.push(attr("color", dot_value(colour)));
    attrs.push(attr(
        "style",
        dot_value(if e.write && style == "solid" {
            "bold"
        } else {
            style
        }),
    ));
    if e.style == EdgeStyle::CrossTeam {
        attrs.push(attr("fontcolor", dot_value(colour)));
    }
    let mut pen = 1.0f64;
    if e.weight > 1 {
        pen += (e.weight as f64).log2().min(5.0) * 0.6;
    }
    if e.style == EdgeStyle::CrossTeam {
        pen = pen.max(1.6);
    }
    if pen > 1.0 {
        attrs.push(attr("penwidth", dot_value(&format!("{pen:.1}"))));
    }
    if !e.label.is_empty() {
        attrs.push(attr("label", dot_label(&e.label)));
    }
    let tip = if e.tooltip.is_empty() {
        &e.label
    } else {
        &e.tooltip
    };
    if !tip.is_empty() {
        attrs.push(attr("tooltip", dot_label(&capped(tip))));
    }
    GEdge {
        ty: EdgeTy::Pair(
            Vertex::N(NodeId(Id::Escaped(dot_id(from)), None)),
            Vertex::N(NodeId(Id::Escaped(dot_id(to)), None)),
        ),
        attributes: attrs,
    }
}
