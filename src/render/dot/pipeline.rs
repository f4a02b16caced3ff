//! The pipeline view: one pipeline's blast radius, pipeline → roles → (entity/group →)
//! policies → rules → secrets, wildcard rules marked, escalation chains dashed.

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap;

use crate::acl::Caps;
use crate::login::Verdict;
use crate::ownership::Owners;
use crate::passes::identity::PolicyOrigin;
use crate::passes::reach::{PipelineReach, RoleReach, Via};
use crate::text::{fnv, shorten};

use super::super::diagram::{cluster_id, pipeline_kind, team_colour, Diagram, EdgeStyle, Kind};
use super::super::estate::{EscChain, EscStep, WRITE};
use super::super::group::{self, Item};
use super::{
    caps_label, cross, draw_identity_node, draw_policy_node, draw_rule_node, draw_secret_groups,
    key_of, ns_name, plural, role_id, sorted_distinct, IdentityRef, OwnerRanks, RuleNode,
    SecretGroupsStyle, LABEL_MAX, MIN_NODES,
};
use crate::inventory::ConsumerKind;

/// How far a pipeline view was reduced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Detail {
    Rules,
    Policies,
    Roles,
    RolesCapped,
}

/// The entity or group a policy comes through.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct IdentityNode {
    id: String,
    kind: Kind,
    name: String,
}

/// How a role reaches a policy: directly (a token policy) or through an entity or group.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct PolicyLink {
    role: String,
    identity: Option<IdentityNode>,
    policy: String,
}

/// A policy node's name and namespace.
struct PolicyInfo {
    name: String,
    namespace: String,
}

/// What makes two grants of a reach the same edges in a diagram.
#[derive(PartialEq, Eq, Hash)]
struct GrantKey<'r> {
    mount: &'r str,
    role: &'r str,
    policy_namespace: &'r str,
    policy: &'r str,
    line: u32,
    rule: &'r str,
    origin: &'r PolicyOrigin,
}

impl<'r> GrantKey<'r> {
    fn of(grant: &'r Via) -> Self {
        GrantKey {
            mount: &grant.mount,
            role: &grant.role,
            policy_namespace: &grant.policy_namespace,
            policy: &grant.policy,
            line: grant.line,
            rule: &grant.rule,
            origin: &grant.origin,
        }
    }
}

/// The node ids of one grant: its role, policy and rule.
#[derive(Clone)]
struct GrantNodes {
    role: String,
    policy: String,
    rule: String,
}

/// The role → policy → rule structure behind a pipeline's grants, and each secret's upstream
/// node ids at every detail level.
#[derive(Default)]
struct GrantLinks {
    policies: BTreeSet<PolicyLink>,
    /// (policy id, rule id).
    rules: BTreeSet<(String, String)>,
    rule_info: BTreeMap<String, RuleNode>,
    policy_info: BTreeMap<String, PolicyInfo>,
    /// Per secret of the reach (same order), the nodes its edges start from at each level.
    upstream: Vec<BTreeMap<Detail, BTreeSet<String>>>,
}

impl GrantLinks {
    fn collect(reach: &PipelineReach, roles: &[&RoleReach]) -> Self {
        let role_namespace: BTreeMap<(&str, &str), &str> = roles
            .iter()
            .map(|r| ((r.mount.as_str(), r.role.as_str()), r.namespace.as_str()))
            .collect();
        let mut links = GrantLinks::default();
        // A large reach repeats the same few grants over thousands of secrets: each distinct
        // grant's node ids are made once.
        let mut known: FxHashMap<GrantKey<'_>, GrantNodes> = FxHashMap::default();
        links.upstream = reach
            .secrets
            .iter()
            .map(|secret| {
                let mut upstream: BTreeMap<Detail, BTreeSet<String>> = BTreeMap::new();
                for grant in secret.via.iter() {
                    let GrantNodes { role, policy, rule } = known
                        .entry(GrantKey::of(grant))
                        .or_insert_with(|| {
                            let namespace = role_namespace
                                .get(&(grant.mount.as_str(), grant.role.as_str()))
                                .copied()
                                .unwrap_or_default();
                            let role = role_id(namespace, &grant.mount, &grant.role);
                            let (policy, rule) = links.add_grant(grant, &role);
                            GrantNodes { role, policy, rule }
                        })
                        .clone();
                    upstream.entry(Detail::Rules).or_default().insert(rule);
                    upstream.entry(Detail::Policies).or_default().insert(policy);
                    upstream
                        .entry(Detail::Roles)
                        .or_default()
                        .insert(role.clone());
                    upstream
                        .entry(Detail::RolesCapped)
                        .or_default()
                        .insert(role);
                }
                upstream
            })
            .collect();
        links
    }

    /// Record one grant; returns its policy and rule node ids.
    fn add_grant(&mut self, grant: &Via, role: &str) -> (String, String) {
        let policy = format!("policy:{}{}", grant.policy_namespace, grant.policy);
        let identity = match &grant.origin {
            PolicyOrigin::Role => None,
            PolicyOrigin::Entity { id, name } => Some(IdentityNode {
                id: format!("entity:{id}"),
                kind: Kind::Entity,
                name: name.clone(),
            }),
            PolicyOrigin::Group { id, name } => Some(IdentityNode {
                id: format!("group:{id}"),
                kind: Kind::Group,
                name: name.clone(),
            }),
        };
        self.policies.insert(PolicyLink {
            role: role.to_string(),
            identity,
            policy: policy.clone(),
        });
        self.policy_info.insert(
            policy.clone(),
            PolicyInfo {
                name: grant.policy.clone(),
                namespace: grant.policy_namespace.clone(),
            },
        );
        let rule = format!(
            "rule:{}{}:{}:{}",
            grant.policy_namespace, grant.policy, grant.line, grant.rule
        );
        self.rules.insert((policy.clone(), rule.clone()));
        self.rule_info.insert(rule.clone(), RuleNode::of(grant));
        (policy, rule)
    }

    fn identity_count(&self) -> usize {
        self.policies
            .iter()
            .filter_map(|link| link.identity.as_ref().map(|i| &i.id))
            .collect::<BTreeSet<_>>()
            .len()
    }
}

/// The escalation chains that fit in their share of the budget.
struct ShownChains<'c> {
    shown: Vec<&'c EscChain>,
    /// Chains left out (drawn as one "more" node).
    more: usize,
    /// Nodes the shown chains and the "more" node take.
    node_count: usize,
}

impl<'c> ShownChains<'c> {
    fn within(chains: &'c [EscChain], budget: usize) -> Self {
        let mut nodes: BTreeSet<String> = BTreeSet::new();
        let mut shown: Vec<&EscChain> = Vec::new();
        for chain in chains {
            let mut chain_nodes: BTreeSet<String> = chain.steps.iter().map(step_id).collect();
            chain_nodes.insert(gain_id(chain));
            let new = chain_nodes.iter().filter(|x| !nodes.contains(*x)).count();
            // Keep one slot for the "more chains" node.
            let more_slot = usize::from(shown.len() + 1 < chains.len());
            if nodes.len() + new + more_slot > budget {
                continue;
            }
            nodes.extend(chain_nodes);
            shown.push(chain);
        }
        let more = chains.len() - shown.len();
        ShownChains {
            node_count: nodes.len() + usize::from(more > 0),
            shown,
            more,
        }
    }
}

/// The roles drawn one node each; the others (when capped) share one "more roles" node.
struct KeptRoles {
    ids: BTreeSet<String>,
}

const MORE_ROLES: &str = "more:roles";

impl KeptRoles {
    fn all(roles: &[&RoleReach]) -> Self {
        KeptRoles {
            ids: roles
                .iter()
                .map(|r| role_id(&r.namespace, &r.mount, &r.role))
                .collect(),
        }
    }

    /// The `room` roles reaching most, the configured role first.
    fn largest(roles: &[&RoleReach], room: usize) -> Self {
        let mut by_size: Vec<&&RoleReach> = roles.iter().collect();
        by_size.sort_by(|a, b| {
            b.configured
                .cmp(&a.configured)
                .then(b.secrets.cmp(&a.secrets))
                .then(a.role.cmp(&b.role))
        });
        KeptRoles {
            ids: by_size
                .iter()
                .take(room)
                .map(|r| role_id(&r.namespace, &r.mount, &r.role))
                .collect(),
        }
    }

    /// The node a role's edges attach to.
    fn node_of(&self, role: &str) -> String {
        if self.ids.contains(role) {
            role.to_string()
        } else {
            MORE_ROLES.to_string()
        }
    }
}

/// One pipeline's blast radius. `chains` are its escalation chains (most rewarding first).
pub fn pipeline_view(
    owners: &Owners,
    reach: &PipelineReach,
    consumer: Option<ConsumerKind>,
    chains: &[EscChain],
    max_nodes: usize,
) -> Diagram {
    let max_nodes = max_nodes.max(MIN_NODES);
    let mut diagram = Diagram::new(title(owners, reach, chains.len()));
    let pipeline = format!("pipeline:{}", reach.name);
    draw_pipeline_node(&mut diagram, reach, consumer, &pipeline);

    // Roles shown: possible ones, and the configured one even when refused.
    let roles: Vec<&RoleReach> = reach
        .roles
        .iter()
        .filter(|r| r.verdict != Verdict::Refused || r.configured)
        .collect();
    let links = GrantLinks::collect(reach, &roles);
    let chains = ShownChains::within(chains, max_nodes / 5);

    let fixed = 2 + chains.node_count; // pipeline, legend
    let secrets_min = reach.secrets.len().min((max_nodes / 4).max(1));
    let level = detail_level(&links, roles.len(), fixed + secrets_min, max_nodes);
    let kept = if level == Detail::RolesCapped {
        let room = max_nodes.saturating_sub(fixed + secrets_min + 1).max(1);
        let kept = KeptRoles::largest(&roles, room);
        diagram.notes.push(format!(
            "{} of {} roles shown (the rest in one node)",
            kept.ids.len(),
            roles.len()
        ));
        kept
    } else {
        KeptRoles::all(&roles)
    };
    note_detail(&mut diagram, level);

    draw_roles(&mut diagram, &pipeline, &roles, &kept);
    if level <= Detail::Policies {
        draw_policies(&mut diagram, &links);
    }
    if level == Detail::Rules {
        for (policy, rule) in &links.rules {
            draw_rule_node(&mut diagram, rule, &links.rule_info[rule]);
            diagram.edge(policy, rule, EdgeStyle::Normal);
        }
    }
    draw_chains(&mut diagram, &chains, &kept, &pipeline);
    let view = ReachedSecrets {
        owners,
        reach,
        links: &links,
        level,
        kept: &kept,
        pipeline: &pipeline,
    };
    view.draw(&mut diagram, max_nodes);
    diagram
}

fn title(owners: &Owners, reach: &PipelineReach, chains: usize) -> Vec<String> {
    let team = reach.team.as_deref();
    let writable = reach
        .secrets
        .iter()
        .filter(|s| s.caps.intersects(WRITE))
        .count();
    let other_teams = reach
        .secrets
        .iter()
        .filter(|s| cross(owners, owners.of(s.secret_id), team))
        .count();
    vec![
        format!(
            "blast radius of pipeline {}{}",
            reach.name,
            team.map(|t| format!(" (team {t})")).unwrap_or_default()
        ),
        format!(
            "{} reachable, {writable} writable, {other_teams} owned by other teams, {}",
            plural(reach.secrets.len(), "secret", "secrets"),
            plural(chains, "escalation chain", "escalation chains"),
        ),
    ]
}

fn draw_pipeline_node(
    d: &mut Diagram,
    reach: &PipelineReach,
    consumer: Option<ConsumerKind>,
    pipeline: &str,
) {
    let team_cluster = reach.team.as_deref().map(|team| {
        let cluster = cluster_id(&["team", team]);
        d.cluster(&cluster, None, vec![format!("team {team}")]).fill = Some(team_colour(team));
        cluster
    });
    let (kind, what) = pipeline_kind(consumer);
    let node = d.node(pipeline.to_string(), kind, vec![what, reach.name.clone()]);
    node.emphasis = true;
    node.cluster = team_cluster;
}

/// The most detailed level whose nodes fit beside `reserved` (pipeline, legend, escalations and
/// the fewest secret nodes).
fn detail_level(links: &GrantLinks, roles: usize, reserved: usize, max_nodes: usize) -> Detail {
    let identities = links.identity_count();
    let policies = links.policy_info.len();
    let nodes_at = |level: Detail| -> usize {
        match level {
            Detail::Rules => roles + identities + policies + links.rule_info.len(),
            Detail::Policies => roles + identities + policies,
            Detail::Roles | Detail::RolesCapped => roles,
        }
    };
    [Detail::Rules, Detail::Policies, Detail::Roles]
        .into_iter()
        .find(|&level| reserved + nodes_at(level) <= max_nodes)
        .unwrap_or(Detail::RolesCapped)
}

fn note_detail(d: &mut Diagram, level: Detail) {
    match level {
        Detail::Rules => {}
        Detail::Policies => d
            .notes
            .push("rules folded into their policies to stay under --max-nodes".into()),
        _ => d
            .notes
            .push("policies and rules folded into the roles to stay under --max-nodes".into()),
    }
}

/// Role nodes and pipeline → role edges; roles that are not kept share one node.
fn draw_roles(d: &mut Diagram, pipeline: &str, roles: &[&RoleReach], kept: &KeptRoles) {
    let mut dropped = 0usize;
    for role in roles {
        let id = role_id(&role.namespace, &role.mount, &role.role);
        let (target, style) = if kept.ids.contains(&id) {
            draw_role_node(d, role, &id);
            let style = match role.verdict {
                Verdict::Refused => EdgeStyle::Refused,
                Verdict::Unknown => EdgeStyle::Unknown,
                Verdict::Admitted => EdgeStyle::Normal,
            };
            (id, style)
        } else {
            dropped += 1;
            (MORE_ROLES.to_string(), EdgeStyle::Normal)
        };
        let edge = d.edge(pipeline, &target, style);
        edge.label = vec![match role.verdict {
            Verdict::Refused => "refused".to_string(),
            Verdict::Unknown => "login?".to_string(),
            _ if role.configured => "configured login".to_string(),
            _ => "login".to_string(),
        }];
        edge.tooltip = vec![role.why.clone()];
    }
    if dropped > 0 {
        d.node(
            MORE_ROLES.to_string(),
            Kind::More,
            vec![format!("{dropped} more roles")],
        );
        d.edge(pipeline, MORE_ROLES, EdgeStyle::Normal).label =
            vec![plural(dropped, "login", "logins")];
    }
}

fn draw_role_node(d: &mut Diagram, role: &RoleReach, id: &str) {
    let full = format!("{}auth/{}/role/{}", role.namespace, role.mount, role.role);
    let node = d.node(id.to_string(), Kind::Role, vec![shorten(&full, LABEL_MAX)]);
    node.emphasis = role.configured;
    let mut tooltip = vec![full, role.why.clone()];
    if !role.policies.is_empty() {
        let names: BTreeSet<&str> = role.policies.iter().map(|p| p.name.as_str()).collect();
        tooltip.push(format!(
            "policies: {}",
            names.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    node.tooltip = tooltip;
    if role.configured {
        node.label.push("(configured)".into());
    }
    if role.verdict == Verdict::Unknown {
        node.label.push("(admission unknown)".into());
    }
    if role.verdict == Verdict::Refused {
        node.label.push("(refuses this login)".into());
    }
}

/// Policy nodes, and the role → policy or role → entity/group → policy edges.
fn draw_policies(d: &mut Diagram, links: &GrantLinks) {
    for link in &links.policies {
        let info = &links.policy_info[&link.policy];
        draw_policy_node(d, &link.policy, &info.namespace, &info.name);
        match &link.identity {
            None => {
                d.edge(&link.role, &link.policy, EdgeStyle::Normal).label =
                    vec!["token policy".into()];
            }
            Some(identity) => {
                draw_identity_node(
                    d,
                    &IdentityRef {
                        id: &identity.id,
                        kind: identity.kind,
                        name: &identity.name,
                    },
                );
                d.edge(&link.role, &identity.id, EdgeStyle::Normal).label =
                    vec![if identity.kind == Kind::Entity {
                        "maps to".to_string()
                    } else {
                        "member of".to_string()
                    }];
                d.edge(&identity.id, &link.policy, EdgeStyle::Normal).label =
                    vec!["identity policy".into()];
            }
        }
    }
}

fn draw_chains(d: &mut Diagram, chains: &ShownChains, kept: &KeptRoles, pipeline: &str) {
    for chain in &chains.shown {
        let mut starts: Vec<String> = chain
            .roles
            .iter()
            .map(|(ns, mount, role)| kept.node_of(&role_id(ns, mount, role)))
            .filter(|id| d.nodes.contains_key(id))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if starts.is_empty() {
            starts.push(pipeline.to_string());
        }
        draw_escalation_chain(d, chain, starts);
    }
    if chains.more > 0 {
        let id = "more:escalations".to_string();
        d.node(
            id.clone(),
            Kind::More,
            vec![plural(
                chains.more,
                "more escalation chain",
                "more escalation chains",
            )],
        );
        d.edge(pipeline, &id, EdgeStyle::Escalation);
    }
}

fn step_id(step: &EscStep) -> String {
    format!("esc:{}:{}{}", step.kind, step.namespace, step.path)
}

fn gain_id(chain: &EscChain) -> String {
    if chain.gain == "none" {
        // Every chain without modelled reach ends in the same node.
        return "gain:none".to_string();
    }
    format!("gain:{}:{:016x}", chain.gain, fnv(&chain.key))
}

/// One chain: its steps from `starts` (the roles it begins at, or the pipeline), then the gain.
fn draw_escalation_chain(d: &mut Diagram, chain: &EscChain, starts: Vec<String>) {
    let mut previous = starts;
    for step in &chain.steps {
        let id = step_id(step);
        let node = d.node(
            id.clone(),
            Kind::Escalation,
            vec![
                format!("escalation: {}", step.kind),
                shorten(&format!("{}{}", step.namespace, step.path), LABEL_MAX),
            ],
        );
        let mut tooltip = vec![
            format!("{} on {}{}", step.kind, step.namespace, step.path),
            step.effect.clone(),
        ];
        tooltip.extend(step.granted_by.iter().map(|g| format!("granted by {g}")));
        node.tooltip = tooltip;
        for from in &previous {
            d.edge(from, &id, EdgeStyle::Escalation).tooltip = vec![step.effect.clone()];
        }
        previous = vec![id];
    }
    let gain = gain_id(chain);
    draw_gain_node(d, chain, &gain);
    for from in &previous {
        d.edge(from, &gain, EdgeStyle::Escalation);
    }
}

fn draw_gain_node(d: &mut Diagram, chain: &EscChain, id: &str) {
    let what = match chain.gain {
        "login" => "a new login".to_string(),
        "any-policy" => "any policy of the namespace".to_string(),
        "full-namespace" => format!(
            "full control of namespace {}",
            ns_name(chain.namespace.as_deref().unwrap_or(""))
        ),
        _ => "no new reach modelled".to_string(),
    };
    let secrets = plural(chain.secrets, "secret", "secrets");
    if chain.gain == "none" {
        let node = d.node(
            id.to_string(),
            Kind::Gain,
            vec![what, "(persistence, tampering)".to_string()],
        );
        node.tooltip = vec!["steps that give no new reach blastmap models (persistence, hiding tracks, changing other tokens' access)".into()];
    } else {
        let node = d.node(
            id.to_string(),
            Kind::Gain,
            vec![what.clone(), secrets.clone()],
        );
        node.tooltip = vec![
            format!("{what}: reaches {secrets}"),
            chain
                .steps
                .last()
                .map(|s| s.effect.clone())
                .unwrap_or_default(),
        ];
    }
}

/// What the edges from one upstream node into one secret group add up to.
#[derive(Default)]
struct EdgeTally {
    secrets: usize,
    caps: Caps,
    cross_team: bool,
}

/// The secrets a pipeline reaches, grouped to fit the budget left, with aggregated edges from
/// the nodes above them at the chosen detail level.
struct ReachedSecrets<'v> {
    owners: &'v Owners,
    reach: &'v PipelineReach,
    links: &'v GrantLinks,
    level: Detail,
    kept: &'v KeptRoles,
    pipeline: &'v str,
}

impl ReachedSecrets<'_> {
    fn draw(&self, d: &mut Diagram, max_nodes: usize) {
        let reach = self.reach;
        let team = reach.team.as_deref();
        let budget = max_nodes.saturating_sub(d.node_count()).max(1);
        let owner_names: Vec<Option<&str>> = reach
            .secrets
            .iter()
            .map(|s| self.owners.of(s.secret_id))
            .collect();
        let ranks = OwnerRanks::new(owner_names.iter().copied(), team);
        let namespaces = sorted_distinct(reach.secrets.iter().map(|s| s.namespace.to_string()));
        let mut items: Vec<Item> = reach
            .secrets
            .iter()
            .enumerate()
            .map(|(i, s)| Item {
                head: [
                    ranks.rank(owner_names[i]),
                    key_of(&namespaces, &s.namespace),
                ],
                path: &s.path,
                id: i as u32,
            })
            .collect();
        items.sort();
        let groups = group::group(&items, budget, 2);
        if groups.len() < items.len() {
            d.notes.push(format!(
                "{} shown as {} groups by prefix (--max-nodes {max_nodes})",
                plural(items.len(), "secret", "secrets"),
                groups.len()
            ));
        }
        let owner_of_item = |i: usize| owner_names[items[i].id as usize].map(str::to_string);
        let style = SecretGroupsStyle {
            ranks: &ranks,
            namespaces: &namespaces,
            team,
            owner_of_item: &owner_of_item,
            cluster_prefix: "secrets",
            ownership: self.owners,
        };
        let group_nodes = draw_secret_groups(d, &items, &groups, &style);
        let member = group::membership(&groups, items.len());
        let mut tallies: BTreeMap<(String, usize), EdgeTally> = BTreeMap::new();
        for (i, item) in items.iter().enumerate() {
            let secret = &reach.secrets[item.id as usize];
            let cross_team = cross(self.owners, owner_names[item.id as usize], team);
            for upstream in self.upstream_of(item.id as usize) {
                let tally = tallies.entry((upstream, member[i] as usize)).or_default();
                tally.secrets += 1;
                tally.caps |= secret.caps;
                tally.cross_team |= cross_team;
            }
        }
        for ((upstream, group), tally) in tallies {
            let style = EdgeStyle::reach(tally.cross_team);
            let edge = d.edge(&upstream, &group_nodes.ids[group], style);
            edge.weight = tally.secrets;
            edge.write = tally.caps.intersects(WRITE);
            let one_secret = groups[group].leaf && groups[group].count == 1;
            edge.label = if one_secret {
                vec![caps_label(tally.caps)]
            } else {
                vec![format!("{}: {}", tally.secrets, caps_label(tally.caps))]
            };
        }
    }

    /// The nodes a secret's edges start from at the chosen level.
    fn upstream_of(&self, secret: usize) -> BTreeSet<String> {
        let upstream = self.links.upstream[secret]
            .get(&self.level)
            .cloned()
            .unwrap_or_default();
        let mut upstream: BTreeSet<String> = if self.level == Detail::RolesCapped {
            upstream.iter().map(|r| self.kept.node_of(r)).collect()
        } else {
            upstream
        };
        if upstream.is_empty() {
            // No chain recorded (should not happen): attach to the pipeline.
            upstream.insert(self.pipeline.to_string());
        }
        upstream
    }
}
