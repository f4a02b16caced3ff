//! The overview: the whole estate by namespace, mount and path prefix, with each team's reach
//! into it.

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;

use crate::text::shorten;

use super::super::diagram::{cluster_id, team_colour, Diagram, EdgeStyle, Kind, Tone};
use super::super::estate::{EstateReach, PipelineTokens, SecretSet};
use super::super::group::{self, Group, Item};
use super::{
    cross, key_of, ns_name, okey, plural, readable_groups, sorted_distinct, LABEL_MAX, MIN_NODES,
};

/// What reaches into the estate in the overview: one team's CI pipelines, or its Kubernetes
/// workloads that read Vault themselves (drawn apart, as in every other view).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Source {
    team: Option<String>,
    workloads: bool,
}

impl Source {
    fn of(p: &PipelineTokens) -> Source {
        Source {
            team: p.team.clone(),
            workloads: p.consumer.is_some(),
        }
    }

    /// Whether `p` is one of this source's pipelines (compared in place: the overview asks
    /// this of every pipeline for every source).
    fn holds(&self, p: &PipelineTokens) -> bool {
        self.workloads == p.consumer.is_some() && self.team == p.team
    }

    /// Who reaches, in an edge's tooltip.
    fn who(&self) -> String {
        if self.workloads {
            format!("{}, k8s consumers", self.team_line())
        } else {
            self.team_line()
        }
    }

    fn team_line(&self) -> String {
        self.team
            .as_deref()
            .map(|t| format!("team {t}"))
            .unwrap_or_else(|| "no team".into())
    }
}

/// Each team's pipelines and Kubernetes consumers, by reach; those beyond a third of the budget
/// share one node.
struct OverviewTeams {
    keys: Vec<Source>,
    /// Per key (same order), the secrets its pipelines or consumers reach.
    sets: Vec<SecretSet>,
    kept: BTreeSet<usize>,
}

impl OverviewTeams {
    fn collect(est: &EstateReach<'_, '_>, room: usize) -> Self {
        let keys: Vec<Source> = sorted_distinct(est.pipelines.iter().map(Source::of));
        let sets: Vec<SecretSet> = keys
            .par_iter()
            .map(|k| est.reach_of(est.pipelines.iter().filter(|p| k.holds(p))))
            .collect();
        let mut order: Vec<usize> = (0..keys.len()).collect();
        order.sort_by(|&a, &b| {
            sets[b]
                .len()
                .cmp(&sets[a].len())
                .then(keys[a].cmp(&keys[b]))
        });
        let take = if order.len() <= room {
            order.len()
        } else {
            room - 1
        };
        OverviewTeams {
            kept: order.iter().take(take).copied().collect(),
            keys,
            sets,
        }
    }

    fn dropped(&self) -> usize {
        self.keys.len() - self.kept.len()
    }

    fn any_workloads(&self) -> bool {
        self.keys.iter().any(|k| k.workloads)
    }

    fn node_of(&self, source: usize) -> String {
        if !self.kept.contains(&source) {
            return "more:teams".into();
        }
        let key = &self.keys[source];
        let prefix = if key.workloads { "consumers" } else { "team" };
        format!("{prefix}:{}", okey(key.team.as_deref()))
    }

    fn draw(&self, d: &mut Diagram, est: &EstateReach<'_, '_>) {
        let cluster = cluster_id(&["teams"]);
        let title = if self.any_workloads() {
            "teams (their pipelines and Kubernetes consumers)"
        } else {
            "teams (their pipelines)"
        };
        d.cluster(&cluster, None, vec![title.into()]);
        for &i in &self.kept {
            let (kind, label) = self.node_label(i, est);
            let node = d.node(self.node_of(i), kind, label);
            node.cluster = Some(cluster.clone());
            if let Some(t) = &self.keys[i].team {
                node.fill = Some(team_colour(t));
            }
        }
        if self.dropped() > 0 {
            self.draw_dropped(d, &cluster);
        }
    }

    /// A kept source's node kind and label: a team's pipelines as a team, its Kubernetes
    /// consumers as a consumer (with the operators they read through).
    fn node_label(&self, source: usize, est: &EstateReach<'_, '_>) -> (Kind, Vec<String>) {
        let key = &self.keys[source];
        let members: Vec<&PipelineTokens> = est.pipelines.iter().filter(|p| key.holds(p)).collect();
        let reach = self.sets[source].len();
        if !key.workloads {
            let count = plural(members.len(), "pipeline", "pipelines");
            return (
                Kind::Team,
                vec![key.team_line(), format!("{count}, reach {reach}")],
            );
        }
        let operators: Vec<&str> = sorted_distinct(members.iter().filter_map(|p| p.consumer))
            .into_iter()
            .map(|c| c.as_str())
            .collect();
        let count = plural(members.len(), "k8s consumer", "k8s consumers");
        (
            Kind::Consumer,
            vec![
                key.team_line(),
                format!("{count} ({}), reach {reach}", operators.join(", ")),
            ],
        )
    }

    fn draw_dropped(&self, d: &mut Diagram, cluster: &str) {
        let label = if self.any_workloads() {
            plural(
                self.dropped(),
                "more team's pipelines or consumers",
                "more teams' pipelines or consumers",
            )
        } else {
            plural(self.dropped(), "more team", "more teams")
        };
        d.node("more:teams".to_string(), Kind::More, vec![label])
            .cluster = Some(cluster.to_string());
        let what = if self.any_workloads() {
            "teams' pipelines and consumers"
        } else {
            "teams"
        };
        d.notes.push(format!(
            "{} of {} {what} shown (largest reach first)",
            self.kept.len(),
            self.keys.len()
        ));
    }
}

/// The whole estate by namespace, mount and path prefix, with each team's reach into it.
pub fn overview_view(est: &EstateReach<'_, '_>, max_nodes: usize) -> Diagram {
    let max_nodes = max_nodes.max(MIN_NODES);
    let analysis = est.analysis;
    let index = &analysis.secrets;
    let mut diagram = Diagram::new(vec![
        "estate overview: secrets by namespace, mount and prefix; teams' reach".to_string(),
        format!(
            "{}, {} in {}, {}",
            plural(analysis.inventory.teams.len(), "team", "teams"),
            plural(index.len(), "secret", "secrets"),
            plural(
                analysis.snapshot.namespaces.len(),
                "namespace",
                "namespaces"
            ),
            plural(est.pipelines.len(), "pipeline", "pipelines")
        ),
    ]);
    let legend = 1;
    let teams = OverviewTeams::collect(est, ((max_nodes - legend) / 3).max(1));
    teams.draw(&mut diagram, est);
    let group_of_secret = draw_estate_groups(&mut diagram, est, max_nodes - legend);
    for (i, set) in teams.sets.iter().enumerate() {
        draw_team_reach(
            &mut diagram,
            est,
            &teams.node_of(i),
            &teams.keys[i],
            set,
            &group_of_secret,
        );
    }
    diagram
}

/// The secrets keyed [namespace, mount] and grouped by prefix; returns each secret's group node.
fn draw_estate_groups(d: &mut Diagram, est: &EstateReach<'_, '_>, room: usize) -> Vec<String> {
    let index = &est.analysis.secrets;
    let namespaces = sorted_distinct(index.secrets.iter().map(|s| s.namespace.to_string()));
    let mounts = sorted_distinct(index.secrets.iter().map(|s| s.mount.to_string()));
    let mut items: Vec<Item> = index
        .secrets
        .iter()
        .enumerate()
        .map(|(i, s)| Item {
            head: [key_of(&namespaces, &s.namespace), key_of(&mounts, &s.mount)],
            path: &s.path,
            id: i as u32,
        })
        .collect();
    items.sort();
    let mount_clusters: BTreeSet<[u32; 2]> = items.iter().map(|i| i.head).collect();
    let budget = room
        .saturating_sub(d.nodes.len())
        .min(readable_groups(mount_clusters.len()))
        .max(1);
    let groups = group::group(&items, budget, 2);
    if groups.len() < items.len() {
        d.notes.push(format!(
            "{} shown as {} groups by prefix",
            plural(index.len(), "secret", "secrets"),
            groups.len()
        ));
    }
    let drawing = EstateGroups {
        est,
        items: &items,
        namespaces: &namespaces,
        mounts: &mounts,
    };
    let ids: Vec<String> = groups.iter().map(|g| drawing.draw(d, g)).collect();
    let member = group::membership(&groups, items.len());
    let mut group_of_secret = vec![String::new(); index.len()];
    for (i, item) in items.iter().enumerate() {
        group_of_secret[item.id as usize] = ids[member[i] as usize].clone();
    }
    group_of_secret
}

/// Draws groups of secrets in namespace and mount clusters, labelled with their owners.
struct EstateGroups<'g> {
    est: &'g EstateReach<'g, 'g>,
    items: &'g [Item<'g>],
    namespaces: &'g [String],
    mounts: &'g [String],
}

impl EstateGroups<'_> {
    /// Draw one group; returns its node id.
    fn draw(&self, d: &mut Diagram, g: &Group) -> String {
        let first = &self.items[g.first()];
        let ns = &self.namespaces[first.head[0] as usize];
        let mount = &self.mounts[first.head[1] as usize];
        let ns_cluster = cluster_id(&["ns", ns]);
        let mount_cluster = cluster_id(&["ns", ns, "mount", mount]);
        if g.depth >= 1 {
            d.cluster(
                &ns_cluster,
                None,
                vec![format!("namespace {}", ns_name(ns))],
            );
        }
        if g.depth >= 2 {
            let mount_type = self
                .est
                .analysis
                .index
                .namespace(ns)
                .and_then(|n| n.secret_mounts.iter().find(|m| &m.path == mount))
                .map(|m| m.mount_type.clone())
                .unwrap_or_default();
            d.cluster(
                &mount_cluster,
                Some(&ns_cluster),
                vec![format!("mount {mount} ({mount_type})")],
            );
        }
        let mut owners: BTreeMap<Option<&str>, usize> = BTreeMap::new();
        for i in g.indices() {
            *owners.entry(self.est.owner(self.items[i].id)).or_default() += 1;
        }
        let (id, kind, mut label) = self.identify(g, ns, mount);
        label.push(owner_line(&owners));
        let node = d.node(id.clone(), kind, label.clone());
        let mut tooltip = label;
        tooltip.push(
            owners
                .iter()
                .map(|(o, c)| format!("{}: {c}", o.unwrap_or("no team")))
                .collect::<Vec<_>>()
                .join(", "),
        );
        node.tooltip = tooltip;
        node.tone = if owners.len() == 1 && owners.contains_key(&None) {
            Tone::Unowned
        } else {
            Tone::Neutral
        };
        if let [Some(owner)] = owners.keys().copied().collect::<Vec<_>>()[..] {
            node.fill = Some(team_colour(owner));
        }
        node.cluster = match g.depth {
            0 => None,
            1 => Some(ns_cluster),
            _ => Some(mount_cluster),
        };
        id
    }

    /// A group's node id, kind and label (without the owner line).
    fn identify(&self, g: &Group, ns: &str, mount: &str) -> (String, Kind, Vec<String>) {
        let first = &self.items[g.first()];
        if g.leaf && g.count == 1 {
            return (
                format!("secret:{ns}{}", first.path),
                Kind::Secret,
                vec![shorten(&format!("{ns}{}", first.path), LABEL_MAX)],
            );
        }
        if g.rest {
            let parent = if g.depth > 3 {
                &first.path[..group::seg_end(first.path, g.depth - 3)]
            } else {
                ""
            };
            return (
                format!("rest:{ns}:{mount}:{}:{parent}", g.depth),
                Kind::More,
                vec![
                    format!("{ns}{parent}… {} more", g.lumped),
                    plural(g.count, "secret", "secrets"),
                ],
            );
        }
        if g.depth <= 2 {
            let what = match g.depth {
                0 => "all secrets".to_string(),
                1 => format!("namespace {}", ns_name(ns)),
                _ => format!("{ns}{mount}"),
            };
            return (
                format!("group:{ns}:{mount}:*:{}", g.depth),
                Kind::SecretGroup,
                vec![what, plural(g.count, "secret", "secrets")],
            );
        }
        let prefix = group::prefix(self.items, g);
        (
            format!("group:{ns}{prefix}"),
            Kind::SecretGroup,
            vec![
                shorten(&format!("{ns}{prefix}"), LABEL_MAX),
                plural(g.count, "secret", "secrets"),
            ],
        )
    }
}

fn owner_line(owners: &BTreeMap<Option<&str>, usize>) -> String {
    match owners.keys().collect::<Vec<_>>()[..] {
        [Some(owner)] => format!("owner: {owner}"),
        [None] => "owner: none".into(),
        _ => format!("{} owners", owners.len()),
    }
}

/// One source's edges (a team's pipelines or consumers) into the groups it reaches.
fn draw_team_reach(
    d: &mut Diagram,
    est: &EstateReach<'_, '_>,
    node: &str,
    source: &Source,
    set: &SecretSet,
    group_of_secret: &[String],
) {
    #[derive(Default)]
    struct Tally {
        secrets: usize,
        writable: usize,
        other_teams: usize,
    }
    let mut per_group: BTreeMap<&str, Tally> = BTreeMap::new();
    for sid in set.ids() {
        let tally = per_group
            .entry(group_of_secret[sid as usize].as_str())
            .or_default();
        tally.secrets += 1;
        if set.writes(sid) {
            tally.writable += 1;
        }
        if cross(&est.owners, est.owner(sid), source.team.as_deref()) {
            tally.other_teams += 1;
        }
    }
    for (group, tally) in per_group {
        let style = EdgeStyle::reach(tally.other_teams > 0);
        let edge = d.edge(node, group, style);
        edge.weight += tally.secrets;
        edge.write |= tally.writable > 0;
        edge.label = vec![edge.weight.to_string()];
        edge.tooltip.push(format!(
            "{}: {} secrets, {} writable, {} owned by other teams",
            source.who(),
            tally.secrets,
            tally.writable,
            tally.other_teams
        ));
    }
}
