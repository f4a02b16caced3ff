//! The teams view (the architecture view): one cluster per team (and namespace) with its
//! pipelines and owned secret groups, aggregated edges weighted by count, cross-team edges red.
//! With a focus, one team in detail and every team it touches ([`focus`]).

mod focus;

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;

use super::super::diagram::{
    cluster_id, pipeline_kind, team_colour, Diagram, EdgeStyle, Kind, Tone,
};
use super::super::estate::{EstateReach, SecretSet};
use super::super::group::{self, Item};
use super::{
    cross, draw_secret_groups, key_of, ns_name, okey, plural, readable_groups, sorted_distinct,
    OwnerRanks, SecretGroupsStyle, MIN_NODES,
};

/// A team's key: `Some(name)`, or `None` for pipelines without a team and unowned secrets.
type TeamKey = Option<String>;

/// How many secrets of one owner a team reaches, and how many of them it can write.
#[derive(Debug, Clone, Copy, Default)]
struct Flow {
    secrets: usize,
    writable: usize,
}

/// (from team, to owner) → what the team reaches of that owner's secrets.
type Flows = BTreeMap<(TeamKey, TeamKey), Flow>;

/// Every team's pipelines, reach and owned secrets, which all levels of the view draw from.
struct TeamEstate<'e> {
    est: &'e EstateReach<'e, 'e>,
    /// Teams of the inventory and of pipelines, by name.
    team_names: BTreeSet<String>,
    /// The team keys in order, `None` last.
    keys: Vec<TeamKey>,
    pipelines_by_team: BTreeMap<TeamKey, Vec<usize>>,
    /// Per key (same order), the secrets its pipelines reach.
    team_sets: Vec<SecretSet>,
    flows: Flows,
    owned: BTreeMap<TeamKey, usize>,
    owned_by_namespace: BTreeMap<TeamKey, BTreeMap<&'e str, usize>>,
}

impl<'e> TeamEstate<'e> {
    fn collect(est: &'e EstateReach<'e, 'e>) -> Self {
        let mut team_names: BTreeSet<String> = est
            .analysis
            .inventory
            .teams
            .iter()
            .map(|t| t.name.clone())
            .collect();
        team_names.extend(est.pipelines.iter().filter_map(|p| p.team.clone()));
        let mut pipelines_by_team: BTreeMap<TeamKey, Vec<usize>> = BTreeMap::new();
        for (i, p) in est.pipelines.iter().enumerate() {
            pipelines_by_team.entry(p.team.clone()).or_default().push(i);
        }
        let keys: Vec<TeamKey> = team_names
            .iter()
            .map(|t| Some(t.clone()))
            .chain(std::iter::once(None))
            .collect();
        // One bitset per team, computed in parallel.
        let team_sets: Vec<SecretSet> = keys
            .par_iter()
            .map(|key| {
                let pipelines = pipelines_by_team
                    .get(key)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                est.reach_of(pipelines.iter().map(|&i| &est.pipelines[i]))
            })
            .collect();
        let mut teams = TeamEstate {
            est,
            team_names,
            flows: flows(est, &keys, &team_sets),
            keys,
            pipelines_by_team,
            team_sets,
            owned: BTreeMap::new(),
            owned_by_namespace: BTreeMap::new(),
        };
        teams.count_owned();
        teams
    }

    fn count_owned(&mut self) {
        let est = self.est;
        let index = &est.analysis.secrets;
        let mut owned: BTreeMap<Option<&str>, usize> = BTreeMap::new();
        let mut owned_by_namespace: BTreeMap<Option<&str>, BTreeMap<&str, usize>> = BTreeMap::new();
        for sid in 0..index.len() as u32 {
            let owner = est.owner(sid);
            *owned.entry(owner).or_insert(0) += 1;
            *owned_by_namespace
                .entry(owner)
                .or_default()
                .entry(&*index.get(sid).namespace)
                .or_insert(0) += 1;
        }
        let key = |owner: Option<&str>| owner.map(str::to_string);
        self.owned = owned.into_iter().map(|(o, n)| (key(o), n)).collect();
        self.owned_by_namespace = owned_by_namespace
            .into_iter()
            .map(|(o, counts)| (key(o), counts))
            .collect();
    }

    fn pipelines_of(&self, key: &TeamKey) -> &[usize] {
        self.pipelines_by_team
            .get(key)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    fn pipeline_count(&self, key: &TeamKey) -> usize {
        self.pipelines_of(key).len()
    }

    fn owned_count(&self, key: &TeamKey) -> usize {
        self.owned.get(key).copied().unwrap_or(0)
    }

    /// Home namespace of a team: where most of its pipelines log in, else where it owns most.
    fn home(&self, key: &TeamKey) -> String {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for &i in self.pipelines_of(key) {
            *counts
                .entry(self.est.pipelines[i].namespace.as_str())
                .or_default() += 1;
        }
        if counts.is_empty() {
            if let Some(owned) = self.owned_by_namespace.get(key) {
                counts = owned.clone();
            }
        }
        counts
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
            .map(|(n, _)| n.to_string())
            .unwrap_or_default()
    }
}

/// What each team reaches, reduced to counts per owner.
fn flows(est: &EstateReach<'_, '_>, keys: &[TeamKey], team_sets: &[SecretSet]) -> Flows {
    let mut flows: Flows = BTreeMap::new();
    for (key, set) in keys.iter().zip(team_sets) {
        let mut per_owner: BTreeMap<Option<&str>, Flow> = BTreeMap::new();
        for sid in set.ids() {
            let flow = per_owner.entry(est.owner(sid)).or_default();
            flow.secrets += 1;
            if set.writes(sid) {
                flow.writable += 1;
            }
        }
        for (owner, flow) in per_owner {
            flows.insert((key.clone(), owner.map(str::to_string)), flow);
        }
    }
    flows
}

fn team_label(key: &TeamKey) -> String {
    match key {
        Some(t) => format!("team {t}"),
        None => "no team / unowned".to_string(),
    }
}

/// The architecture view. With `focus`, one team in detail and every team it touches.
pub fn teams_view(est: &EstateReach<'_, '_>, focus: Option<&str>, max_nodes: usize) -> Diagram {
    let max_nodes = max_nodes.max(MIN_NODES);
    let teams = TeamEstate::collect(shorten_lifetime(est));
    let mut diagram = Diagram::new(title(&teams, focus));
    if let Some(focus) = focus {
        return focus::teams_focus(&teams, &mut diagram, &Some(focus.to_string()), max_nodes);
    }
    let legend = 1;
    let secret_count = est.analysis.secrets.len();
    let owner_clusters: BTreeSet<(Option<&str>, &str)> = (0..secret_count as u32)
        .map(|sid| {
            let namespace = &*est.analysis.secrets.get(sid).namespace;
            (est.owner(sid), namespace)
        })
        .collect();
    let teams_with_pipelines = teams
        .keys
        .iter()
        .filter(|k| teams.pipeline_count(k) > 0)
        .count();
    let per_pipeline = est.pipelines.len() + owner_clusters.len() + legend <= max_nodes;
    let per_team = teams_with_pipelines + owner_clusters.len() + legend <= max_nodes;
    if per_pipeline || per_team {
        let grouped = GroupedSecrets {
            teams: &teams,
            per_pipeline,
            owner_clusters: owner_clusters.len(),
        };
        grouped.draw(&mut diagram, max_nodes);
        return diagram;
    }
    let two_nodes_per_team = teams_with_pipelines + teams.owned.len() + legend <= max_nodes;
    draw_team_nodes(&mut diagram, &teams, two_nodes_per_team, max_nodes - legend);
    diagram
}

/// The estate borrowed for the shorter of its two lifetimes: the view only reads it.
fn shorten_lifetime<'s>(est: &'s EstateReach<'_, '_>) -> &'s EstateReach<'s, 's> {
    est
}

fn title(teams: &TeamEstate<'_>, focus: Option<&str>) -> Vec<String> {
    vec![
        match focus {
            Some(t) => format!("team {t} and the teams it shares secrets with"),
            None => "teams: pipelines and the secrets they own and reach".to_string(),
        },
        format!(
            "{}, {}, {}",
            plural(teams.team_names.len(), "team", "teams"),
            plural(teams.est.pipelines.len(), "pipeline", "pipelines"),
            plural(teams.est.analysis.secrets.len(), "secret", "secrets")
        ),
    ]
}

/// Levels 1 and 2: pipelines (one node each, or one per team) and the owned secrets grouped per
/// (owner, namespace) cluster, with edges into the groups.
struct GroupedSecrets<'v> {
    teams: &'v TeamEstate<'v>,
    per_pipeline: bool,
    owner_clusters: usize,
}

impl GroupedSecrets<'_> {
    fn draw(&self, d: &mut Diagram, max_nodes: usize) {
        let est = self.teams.est;
        let sources = self.draw_pipelines(d);
        if !self.per_pipeline {
            d.notes
                .push("pipelines folded into one node per team to stay under --max-nodes".into());
        }
        let group_of_secret = self.draw_groups(d, max_nodes);
        // Edges: per pipeline (level 1) or per team (level 2).
        let reaches: Vec<SourceReach> = if self.per_pipeline {
            est.per_pipeline()
                .into_iter()
                .enumerate()
                .map(|(i, set)| SourceReach {
                    node: sources[i].clone(),
                    team: est.pipelines[i].team.as_deref(),
                    set,
                })
                .collect()
        } else {
            let teams = self.teams;
            teams
                .keys
                .iter()
                .zip(&teams.team_sets)
                .filter(|(k, _)| teams.pipeline_count(k) > 0)
                .map(|(k, set)| SourceReach {
                    node: format!("pipelines:{}", okey(k.as_deref())),
                    team: k.as_deref(),
                    set: set.clone(),
                })
                .collect()
        };
        for source in reaches {
            draw_reach_edges(d, est, &source, &group_of_secret);
        }
    }

    /// A node per pipeline (or per team's pipelines) inside its team and namespace clusters;
    /// returns each pipeline's node id.
    fn draw_pipelines(&self, d: &mut Diagram) -> Vec<String> {
        let est = self.teams.est;
        let mut nodes = Vec::with_capacity(est.pipelines.len());
        for pipeline in &est.pipelines {
            let key = &okey(pipeline.team.as_deref());
            let team_cluster = cluster_id(&["secrets", "owner", key]);
            let label = match pipeline.team.as_deref() {
                Some(t) => vec![format!("team {t}")],
                None => vec!["no team".to_string()],
            };
            let cluster = d.cluster(&team_cluster, None, label);
            cluster.fill = Some(match pipeline.team.as_deref() {
                Some(t) => team_colour(t),
                None => "#f8fafc".into(),
            });
            cluster.dashed = pipeline.team.is_none();
            let ns_cluster = cluster_id(&["secrets", "owner", key, "ns", &pipeline.namespace]);
            d.cluster(
                &ns_cluster,
                Some(&team_cluster),
                vec![format!("namespace {}", ns_name(&pipeline.namespace))],
            );
            let id = if self.per_pipeline {
                let id = format!("pipeline:{}", pipeline.name);
                let (kind, what) = pipeline_kind(pipeline.consumer);
                d.node(id.clone(), kind, vec![what, pipeline.name.clone()])
                    .cluster = Some(ns_cluster);
                id
            } else {
                let id = format!("pipelines:{key}");
                let names: Vec<&str> = est
                    .pipelines
                    .iter()
                    .filter(|q| q.team == pipeline.team)
                    .map(|q| q.name.as_str())
                    .take(20)
                    .collect();
                let count = self.teams.pipeline_count(&pipeline.team);
                let node = d.node(
                    id.clone(),
                    Kind::Pipelines,
                    vec![plural(count, "pipeline", "pipelines")],
                );
                node.cluster = Some(team_cluster.clone());
                node.tooltip = vec![format!("pipelines: {}", names.join(", "))];
                id
            };
            nodes.push(id);
        }
        nodes
    }

    /// Every secret grouped by (owner, namespace, prefix); returns each secret's group node id.
    fn draw_groups(&self, d: &mut Diagram, max_nodes: usize) -> Vec<String> {
        let est = self.teams.est;
        let index = &est.analysis.secrets;
        let secret_count = index.len();
        let owners: Vec<Option<&str>> = (0..secret_count as u32).map(|s| est.owner(s)).collect();
        let ranks = OwnerRanks::new(owners.iter().copied(), None);
        let namespaces = sorted_distinct(
            est.analysis
                .snapshot
                .namespaces
                .iter()
                .map(|n| crate::model::namespace_path(&n.path).into_owned())
                .chain(index.secrets.iter().map(|s| s.namespace.to_string())),
        );
        let mut items: Vec<Item> = (0..secret_count as u32)
            .map(|sid| {
                let secret = index.get(sid);
                Item {
                    head: [
                        ranks.rank(owners[sid as usize]),
                        key_of(&namespaces, &secret.namespace),
                    ],
                    path: &secret.path,
                    id: sid,
                }
            })
            .collect();
        items.sort();
        let legend = 1;
        let budget = max_nodes
            .saturating_sub(d.nodes.len() + legend)
            .min(readable_groups(self.owner_clusters))
            .max(1);
        let groups = group::group(&items, budget, 2);
        if groups.len() < items.len() {
            d.notes.push(format!(
                "{} shown as {} groups by prefix",
                plural(items.len(), "secret", "secrets"),
                groups.len()
            ));
        }
        let owner_of_item = |i: usize| owners[items[i].id as usize].map(str::to_string);
        let style = SecretGroupsStyle {
            ranks: &ranks,
            namespaces: &namespaces,
            team: None,
            owner_of_item: &owner_of_item,
            cluster_prefix: "secrets",
            ownership: &est.owners,
        };
        let group_nodes = draw_secret_groups(d, &items, &groups, &style);
        relabel_owner_clusters(d);
        let member = group::membership(&groups, items.len());
        let mut group_of_secret = vec![String::new(); secret_count];
        for (i, item) in items.iter().enumerate() {
            group_of_secret[item.id as usize] = group_nodes.ids[member[i] as usize].clone();
        }
        group_of_secret
    }
}

/// The owner clusters of groups double as team clusters: relabel with "team X".
fn relabel_owner_clusters(d: &mut Diagram) {
    for (id, cluster) in d.clusters.iter_mut() {
        if cluster.parent.is_none() {
            if let Some(rest) = id.strip_prefix("cluster:secrets:owner:") {
                cluster.label = match rest.strip_prefix("team=") {
                    Some(t) => vec![format!("team {t}")],
                    None => vec!["no team / unowned".into()],
                };
            }
        }
    }
}

/// A node whose reach is drawn as edges into secret groups.
struct SourceReach<'t> {
    node: String,
    team: Option<&'t str>,
    set: SecretSet,
}

fn draw_reach_edges(
    d: &mut Diagram,
    est: &EstateReach<'_, '_>,
    source: &SourceReach<'_>,
    group_of_secret: &[String],
) {
    #[derive(Default)]
    struct Tally {
        secrets: usize,
        writable: usize,
        cross_team: bool,
    }
    let mut per_group: BTreeMap<&str, Tally> = BTreeMap::new();
    for sid in source.set.ids() {
        let tally = per_group
            .entry(group_of_secret[sid as usize].as_str())
            .or_default();
        tally.secrets += 1;
        if source.set.writes(sid) {
            tally.writable += 1;
        }
        tally.cross_team |= cross(&est.owners, est.owner(sid), source.team);
    }
    for (group, tally) in per_group {
        let style = EdgeStyle::reach(tally.cross_team);
        let edge = d.edge(&source.node, group, style);
        edge.weight = tally.secrets;
        edge.write = tally.writable > 0;
        edge.label = vec![tally.secrets.to_string()];
        edge.tooltip = vec![format!(
            "{} secrets reached, {} writable",
            tally.secrets, tally.writable
        )];
    }
}

/// Levels 3 to 5: teams as nodes (one for a team's pipelines and one for its secrets, or one for
/// both), edges between them; teams beyond `room` share one node.
fn draw_team_nodes(d: &mut Diagram, teams: &TeamEstate<'_>, two_per_team: bool, room: usize) {
    let ranked = rank_teams(teams);
    let per_node = if two_per_team { 2 } else { 1 };
    let fits = ranked.len() * per_node <= room;
    // Room for kept teams, plus one node for the others.
    let kept: Vec<&TeamKey> = if fits {
        ranked.clone()
    } else {
        ranked
            .iter()
            .take(room.saturating_sub(1))
            .copied()
            .collect()
    };
    let ids = TeamNodeIds {
        kept: kept.iter().copied().collect(),
        two_per_team,
    };
    d.notes.push(if two_per_team {
        "one node for each team's pipelines and one for its secrets".into()
    } else {
        "one node per team (pipelines and owned secrets together)".into()
    });
    if !fits {
        d.notes.push(format!(
            "{} of {} teams shown (those sharing the most secrets across teams); the others in one node",
            kept.len(),
            ranked.len()
        ));
    }
    for key in &kept {
        draw_team(d, teams, &ids, key);
    }
    if !fits {
        draw_other_teams(d, teams, &ranked, &ids);
    }
    for ((from, to), flow) in &teams.flows {
        let (source, target) = (ids.source(from), ids.target(to));
        if source == target {
            continue; // a team's reach into its own secrets is in its label
        }
        let style = EdgeStyle::reach(from.is_some() && to.is_some() && from != to);
        let edge = d.edge(&source, &target, style);
        edge.weight += flow.secrets;
        edge.write |= flow.writable > 0;
        edge.label = vec![edge.weight.to_string()];
        edge.tooltip.push(format!(
            "{} → {}: {} secrets ({} writable)",
            team_label(from),
            team_label(to),
            flow.secrets,
            flow.writable
        ));
    }
}

/// Teams with pipelines or owned secrets, by importance: cross-team traffic in and out, then
/// size, then name.
fn rank_teams<'t>(teams: &'t TeamEstate<'_>) -> Vec<&'t TeamKey> {
    let mut ranked: Vec<&TeamKey> = teams
        .keys
        .iter()
        .filter(|k| teams.pipeline_count(k) > 0 || teams.owned.contains_key(*k))
        .collect();
    let mut traffic: BTreeMap<&TeamKey, usize> = BTreeMap::new();
    for ((from, to), flow) in &teams.flows {
        if from != to {
            *traffic.entry(from).or_default() += flow.secrets;
            *traffic.entry(to).or_default() += flow.secrets;
        }
    }
    let size = |k: &TeamKey| teams.pipeline_count(k) + teams.owned_count(k);
    ranked.sort_by(|a, b| {
        traffic
            .get(b)
            .unwrap_or(&0)
            .cmp(traffic.get(a).unwrap_or(&0))
            .then(size(b).cmp(&size(a)))
            .then(a.cmp(b))
    });
    ranked
}

/// Node ids of the team level: kept teams have their own, the others share "more:teams".
struct TeamNodeIds<'t> {
    kept: BTreeSet<&'t TeamKey>,
    two_per_team: bool,
}

impl TeamNodeIds<'_> {
    fn source(&self, key: &TeamKey) -> String {
        self.id(key, "pipelines")
    }

    fn target(&self, key: &TeamKey) -> String {
        self.id(key, "secrets")
    }

    fn id(&self, key: &TeamKey, side: &str) -> String {
        if !self.kept.contains(key) {
            return "more:teams".into();
        }
        let key = okey(key.as_deref());
        if self.two_per_team {
            format!("{side}:{key}")
        } else {
            format!("team:{key}")
        }
    }
}

fn draw_team(d: &mut Diagram, teams: &TeamEstate<'_>, ids: &TeamNodeIds<'_>, key: &TeamKey) {
    let home = teams.home(key);
    let ns_cluster = cluster_id(&["ns", &home]);
    d.cluster(
        &ns_cluster,
        None,
        vec![format!("namespace {}", ns_name(&home))],
    );
    let pipelines = teams.pipeline_count(key);
    let owned = teams.owned_count(key);
    if !ids.two_per_team {
        let own_reach = teams
            .flows
            .get(&(key.clone(), key.clone()))
            .map(|flow| flow.secrets)
            .unwrap_or(0);
        let node = d.node(
            ids.source(key),
            Kind::Team,
            vec![
                team_label(key),
                format!(
                    "{}, {owned} owned",
                    plural(pipelines, "pipeline", "pipelines")
                ),
                format!("reaches {own_reach} of its own"),
            ],
        );
        node.cluster = Some(ns_cluster);
        if let Some(t) = key {
            node.fill = Some(team_colour(t));
        }
        return;
    }
    let team_cluster = cluster_id(&["ns", &home, "team", &okey(key.as_deref())]);
    let cluster = d.cluster(&team_cluster, Some(&ns_cluster), vec![team_label(key)]);
    if let Some(t) = key {
        cluster.fill = Some(team_colour(t));
    }
    if pipelines > 0 {
        let node = d.node(
            ids.source(key),
            Kind::Pipelines,
            vec![plural(pipelines, "pipeline", "pipelines")],
        );
        node.cluster = Some(team_cluster.clone());
    }
    if owned > 0 {
        let node = d.node(
            ids.target(key),
            Kind::SecretGroup,
            vec!["owned secrets".into(), owned.to_string()],
        );
        node.cluster = Some(team_cluster);
        node.tone = if key.is_some() {
            Tone::Own
        } else {
            Tone::Unowned
        };
    }
}

fn draw_other_teams(
    d: &mut Diagram,
    teams: &TeamEstate<'_>,
    ranked: &[&TeamKey],
    ids: &TeamNodeIds<'_>,
) {
    let others: Vec<&TeamKey> = ranked
        .iter()
        .filter(|k| !ids.kept.contains(**k))
        .copied()
        .collect();
    let pipelines: usize = others.iter().map(|k| teams.pipeline_count(k)).sum();
    let owned: usize = others.iter().map(|k| teams.owned_count(k)).sum();
    let node = d.node(
        "more:teams".to_string(),
        Kind::More,
        vec![
            plural(others.len(), "more team", "more teams"),
            format!(
                "{}, {owned} owned secrets",
                plural(pipelines, "pipeline", "pipelines")
            ),
        ],
    );
    node.tooltip = vec![format!(
        "left out to stay under --max-nodes: {}",
        others
            .iter()
            .take(50)
            .map(|k| team_label(k))
            .collect::<Vec<_>>()
            .join(", ")
    )];
}
