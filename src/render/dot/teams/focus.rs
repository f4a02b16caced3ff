//! The teams view focused on one team: its pipelines and owned secrets in detail, every team it
//! shares secrets with as one node each.

use std::collections::BTreeMap;

use super::super::super::diagram::{
    cluster_id, pipeline_kind, team_colour, Diagram, EdgeStyle, Kind,
};
use super::super::super::estate::SecretSet;
use super::super::super::group::{self, Item};
use super::super::{
    cross, draw_secret_groups, key_of, ns_name, okey, plural, sorted_distinct, OwnerRanks,
    SecretGroupsStyle,
};
use super::{TeamEstate, TeamKey};

/// The other teams touching the focus, by traffic; those beyond a third of the budget share one
/// node.
struct OtherTeams {
    kept: Vec<TeamKey>,
    ranked: usize,
    dropped: usize,
}

impl OtherTeams {
    fn rank(teams: &TeamEstate<'_>, focus: &TeamKey, room: usize) -> Self {
        let mut traffic: BTreeMap<TeamKey, usize> = BTreeMap::new();
        for ((from, to), flow) in &teams.flows {
            if from == focus && to != focus {
                *traffic.entry(to.clone()).or_default() += flow.secrets;
            }
            if to == focus && from != focus {
                *traffic.entry(from.clone()).or_default() += flow.secrets;
            }
        }
        let mut ranked: Vec<(TeamKey, usize)> = traffic.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let take = if ranked.len() <= room {
            ranked.len()
        } else {
            room - 1
        };
        let kept: Vec<TeamKey> = ranked.iter().take(take).map(|(k, _)| k.clone()).collect();
        OtherTeams {
            dropped: ranked.len() - kept.len(),
            ranked: ranked.len(),
            kept,
        }
    }

    fn node_count(&self) -> usize {
        self.kept.len() + usize::from(self.dropped > 0)
    }

    fn node_of(&self, key: &TeamKey) -> String {
        if self.kept.contains(key) {
            format!("team:{}", okey(key.as_deref()))
        } else {
            "more:teams".into()
        }
    }

    fn draw(&self, d: &mut Diagram) {
        for key in &self.kept {
            let label = match key {
                Some(t) => format!("team {t}"),
                None => "no team / unowned".into(),
            };
            let node = d.node(self.node_of(key), Kind::Team, vec![label]);
            if let Some(t) = key {
                node.fill = Some(team_colour(t));
            }
        }
        if self.dropped > 0 {
            d.node(
                "more:teams".to_string(),
                Kind::More,
                vec![plural(self.dropped, "more team", "more teams")],
            );
        }
    }
}

/// The focus team's own pipelines and secrets.
struct FocusTeam<'f> {
    name: &'f str,
    pipelines: Vec<usize>,
    secrets: Vec<u32>,
    cluster: String,
}

/// The teams view focused on one team.
pub(super) fn teams_focus(
    teams: &TeamEstate<'_>,
    d: &mut Diagram,
    focus: &TeamKey,
    max_nodes: usize,
) -> Diagram {
    let est = teams.est;
    let name = focus.as_deref().unwrap_or("");
    let team = FocusTeam {
        name,
        pipelines: (0..est.pipelines.len())
            .filter(|&i| est.pipelines[i].team.as_deref() == Some(name))
            .collect(),
        secrets: (0..est.analysis.secrets.len() as u32)
            .filter(|&s| est.owner(s) == Some(name))
            .collect(),
        cluster: cluster_id(&["team", name]),
    };
    let legend = 1;
    let others = OtherTeams::rank(teams, focus, (max_nodes / 3).max(1));
    let per_pipeline = team.pipelines.len() + others.node_count() + legend < max_nodes;
    d.cluster(&team.cluster, None, vec![format!("team {name}")])
        .fill = Some(team_colour(name));
    let sources = draw_focus_pipelines(d, teams, &team, per_pipeline);
    others.draw(d);
    let group_of_secret = draw_focus_secrets(d, teams, &team, max_nodes - legend);
    // Edges from the focus team's pipelines.
    let sets: Vec<SecretSet> = if per_pipeline {
        team.pipelines
            .iter()
            .map(|&i| est.reach_of(std::iter::once(&est.pipelines[i])))
            .collect()
    } else {
        vec![est.reach_of(team.pipelines.iter().map(|&i| &est.pipelines[i]))]
    };
    for (i, set) in sets.iter().enumerate() {
        let source = if per_pipeline {
            sources[i].clone()
        } else {
            format!("pipelines:{name}")
        };
        draw_outgoing(d, teams, &team, &others, &group_of_secret, &source, set);
    }
    // Edges from other teams into the focus team's secrets.
    for (key, set) in teams.keys.iter().zip(&teams.team_sets) {
        if key != focus {
            draw_incoming(
                d,
                teams,
                &team,
                &group_of_secret,
                &others.node_of(key),
                key,
                set,
            );
        }
    }
    if !per_pipeline {
        d.notes
            .push("the team's pipelines folded into one node".into());
    }
    if others.dropped > 0 {
        d.notes.push(format!(
            "{} of {} other teams shown",
            others.kept.len(),
            others.ranked
        ));
    }
    std::mem::take(d)
}

/// The focus team's pipelines, one node each or one for all; returns each one's node id.
fn draw_focus_pipelines(
    d: &mut Diagram,
    teams: &TeamEstate<'_>,
    team: &FocusTeam<'_>,
    per_pipeline: bool,
) -> Vec<String> {
    let mut sources = Vec::with_capacity(team.pipelines.len());
    for &i in &team.pipelines {
        let pipeline = &teams.est.pipelines[i];
        let ns_cluster = cluster_id(&["team", team.name, "ns", &pipeline.namespace]);
        d.cluster(
            &ns_cluster,
            Some(&team.cluster),
            vec![format!("namespace {}", ns_name(&pipeline.namespace))],
        );
        let id = if per_pipeline {
            let id = format!("pipeline:{}", pipeline.name);
            let (kind, what) = pipeline_kind(pipeline.consumer);
            d.node(id.clone(), kind, vec![what, pipeline.name.clone()])
                .cluster = Some(ns_cluster);
            id
        } else {
            let id = format!("pipelines:{}", team.name);
            d.node(
                id.clone(),
                Kind::Pipelines,
                vec![plural(team.pipelines.len(), "pipeline", "pipelines")],
            )
            .cluster = Some(team.cluster.clone());
            id
        };
        sources.push(id);
    }
    sources
}

/// The focus team's secrets, grouped inside the team cluster; returns each secret's group node.
fn draw_focus_secrets(
    d: &mut Diagram,
    teams: &TeamEstate<'_>,
    team: &FocusTeam<'_>,
    room: usize,
) -> BTreeMap<u32, String> {
    let index = &teams.est.analysis.secrets;
    let namespaces = sorted_distinct(
        team.secrets
            .iter()
            .map(|&s| index.get(s).namespace.to_string()),
    );
    let ranks = OwnerRanks::new(std::iter::once(Some(team.name)), Some(team.name));
    let mut items: Vec<Item> = team
        .secrets
        .iter()
        .map(|&sid| {
            let secret = index.get(sid);
            Item {
                head: [0, key_of(&namespaces, &secret.namespace)],
                path: &secret.path,
                id: sid,
            }
        })
        .collect();
    items.sort();
    let budget = room.saturating_sub(d.nodes.len()).max(1);
    let groups = group::group(&items, budget, 2);
    let owner_of_item = |_: usize| Some(team.name.to_string());
    let style = SecretGroupsStyle {
        ranks: &ranks,
        namespaces: &namespaces,
        team: Some(team.name),
        owner_of_item: &owner_of_item,
        cluster_prefix: "focus",
        ownership: &teams.est.owners,
    };
    let group_nodes = draw_secret_groups(d, &items, &groups, &style);
    // Put the focus team's secret clusters inside the team cluster.
    for (id, cluster) in d.clusters.iter_mut() {
        if id.starts_with("cluster:focus:owner:") && cluster.parent.is_none() {
            cluster.parent = Some(team.cluster.clone());
            cluster.label = vec!["owned secrets".into()];
        }
    }
    let member = group::membership(&groups, items.len());
    items
        .iter()
        .enumerate()
        .map(|(i, item)| (item.id, group_nodes.ids[member[i] as usize].clone()))
        .collect()
}

/// What the edges from one node into one target add up to.
#[derive(Default)]
struct Tally {
    secrets: usize,
    writable: usize,
    cross_team: bool,
}

fn draw_outgoing(
    d: &mut Diagram,
    teams: &TeamEstate<'_>,
    team: &FocusTeam<'_>,
    others: &OtherTeams,
    group_of_secret: &BTreeMap<u32, String>,
    source: &str,
    set: &SecretSet,
) {
    let est = teams.est;
    let mut per_target: BTreeMap<String, Tally> = BTreeMap::new();
    for sid in set.ids() {
        let owner = est.owner(sid);
        let (target, cross_team) = if owner == Some(team.name) {
            (group_of_secret[&sid].clone(), false)
        } else {
            let cross_team = cross(&est.owners, owner, Some(team.name));
            (others.node_of(&owner.map(str::to_string)), cross_team)
        };
        let tally = per_target.entry(target).or_default();
        tally.secrets += 1;
        if set.writes(sid) {
            tally.writable += 1;
        }
        tally.cross_team |= cross_team;
    }
    for (target, tally) in per_target {
        let style = EdgeStyle::reach(tally.cross_team);
        add_weighted_edge(d, source, &target, style, &tally);
    }
}

fn draw_incoming(
    d: &mut Diagram,
    teams: &TeamEstate<'_>,
    team: &FocusTeam<'_>,
    group_of_secret: &BTreeMap<u32, String>,
    source: &str,
    key: &TeamKey,
    set: &SecretSet,
) {
    let mut per_target: BTreeMap<&str, Tally> = BTreeMap::new();
    for sid in set.ids() {
        if teams.est.owner(sid) == Some(team.name) {
            let tally = per_target
                .entry(group_of_secret[&sid].as_str())
                .or_default();
            tally.secrets += 1;
            if set.writes(sid) {
                tally.writable += 1;
            }
        }
    }
    let style = EdgeStyle::reach(key.is_some());
    for (target, tally) in per_target {
        add_weighted_edge(d, source, target, style, &tally);
    }
}

fn add_weighted_edge(d: &mut Diagram, from: &str, to: &str, style: EdgeStyle, tally: &Tally) {
    let edge = d.edge(from, to, style);
    edge.weight += tally.secrets;
    edge.write |= tally.writable > 0;
    edge.label = vec![edge.weight.to_string()];
}
