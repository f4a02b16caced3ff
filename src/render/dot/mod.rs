//! The four DOT views (`docs/diagrams.md`), each kept under a node budget (`--max-nodes`):
//!
//! * [`pipeline_view`]: one pipeline's blast radius, pipeline → roles → (entity/group →)
//!   policies → rules → secrets, wildcard rules marked, escalation chains dashed.
//! * [`secret_view`]: who can reach one secret (the who-can view), the same chain backwards.
//! * [`teams_view`]: the architecture view, one cluster per team (and namespace) with its
//!   pipelines and owned secret groups, aggregated edges weighted by count, cross-team edges red.
//! * [`overview_view`]: the whole estate by namespace, mount and path prefix, with each team's
//!   reach into it.
//!
//! When a view would exceed the budget it is reduced step by step (each step is named in the
//! diagram's notes): secrets are grouped by prefix with counts (the `super::group` module),
//! rules fold into their policies, policies into roles, pipelines into their team, teams beyond the
//! budget into one "… N more" node.

mod overview;
mod pipeline;
mod secret;
mod teams;

use std::collections::{BTreeMap, BTreeSet};

use crate::acl::Caps;
use crate::ownership::Owners;
use crate::passes::reach::Via;

use super::diagram::{cluster_id, team_colour, Diagram, Kind, Tone};
use super::group::{self, Group, Item};
use crate::text::shorten;

pub use overview::overview_view;
pub use pipeline::pipeline_view;
pub use secret::{owner_of_path, secret_view};
pub use teams::teams_view;

/// The smallest `--max-nodes` a view can honour (legend, subject, a few groups).
pub const MIN_NODES: usize = 8;
/// The default `--max-nodes`.
pub const DEFAULT_MAX_NODES: usize = 150;

/// Longest label line before it is shortened (the tooltip keeps the full text).
const LABEL_MAX: usize = 60;

fn ns_name(ns: &str) -> String {
    if ns.is_empty() {
        "root".to_string()
    } else {
        ns.trim_end_matches('/').to_string()
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn caps_label(c: Caps) -> String {
    c.names().join(",")
}

fn is_wildcard(pattern: &str) -> bool {
    pattern.contains('*') || pattern.contains('+')
}

/// Owner ranks of secrets: one team first (the focus), then teams by name, unowned last.
struct OwnerRanks {
    names: Vec<Option<String>>,
    by_name: BTreeMap<Option<String>, u32>,
}

impl OwnerRanks {
    fn new<'s>(owners: impl IntoIterator<Item = Option<&'s str>>, first: Option<&str>) -> Self {
        let mut set: BTreeSet<Option<String>> =
            owners.into_iter().map(|o| o.map(str::to_string)).collect();
        let mut names = Vec::new();
        if let Some(f) = first {
            if set.remove(&Some(f.to_string())) {
                names.push(Some(f.to_string()));
            }
        }
        let unowned = set.remove(&None);
        names.extend(set);
        if unowned {
            names.push(None);
        }
        let by_name = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i as u32))
            .collect();
        OwnerRanks { names, by_name }
    }

    fn rank(&self, o: Option<&str>) -> u32 {
        self.by_name[&o.map(str::to_string)]
    }

    fn name(&self, r: u32) -> Option<&str> {
        self.names[r as usize].as_deref()
    }
}

/// The key of an owner (or team) in node and cluster ids: `team=<name>`, or `unowned` (no team).
/// The prefix keeps a team named `unowned` apart from no team.
fn okey(o: Option<&str>) -> String {
    match o {
        Some(t) => format!("team={t}"),
        None => "unowned".to_string(),
    }
}

/// `owner` is a name as `Owners::of` gives it: a shared owner includes each of its teams.
fn tone(ownership: &Owners, owner: Option<&str>, team: Option<&str>) -> Tone {
    match (owner, team) {
        (None, _) => Tone::Unowned,
        (Some(o), Some(t)) if ownership.label_includes(o, t) => Tone::Own,
        (Some(_), Some(_)) => Tone::Other,
        (Some(_), None) => Tone::Neutral,
    }
}

fn cross(ownership: &Owners, owner: Option<&str>, team: Option<&str>) -> bool {
    ownership.is_cross_team(owner, team)
}

/// A drawn group of secrets: its node id, cluster and label, from a [`Group`] of items whose
/// head is `[owner rank, namespace rank]`.
struct GroupNodes {
    ids: Vec<String>,
}

/// The distinct values in sorted order; a value's grouping key is its index ([`key_of`]), and
/// the vector maps a key back to its value.
fn sorted_distinct<T: Ord>(values: impl IntoIterator<Item = T>) -> Vec<T> {
    values
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The key of a value listed by [`sorted_distinct`].
fn key_of(sorted: &[String], value: &str) -> u32 {
    sorted
        .binary_search_by(|x| x.as_str().cmp(value))
        .expect("the value was listed") as u32
}

/// How [`draw_secret_groups`] names, clusters and colours groups of secrets keyed
/// `[owner rank, namespace rank]`.
struct SecretGroupsStyle<'s> {
    ranks: &'s OwnerRanks,
    /// Namespace paths by rank.
    namespaces: &'s [String],
    /// The viewer's team (for tones).
    team: Option<&'s str>,
    /// The owner of an item, for the tooltip of groups that mix owners.
    owner_of_item: &'s dyn Fn(usize) -> Option<String>,
    cluster_prefix: &'s str,
    ownership: &'s Owners,
}

/// Draw groups of secrets keyed `[owner, namespace]`. Returns the node id of each group.
fn draw_secret_groups(
    d: &mut Diagram,
    items: &[Item<'_>],
    groups: &[Group],
    style: &SecretGroupsStyle<'_>,
) -> GroupNodes {
    let SecretGroupsStyle {
        ranks: owners,
        namespaces: nss,
        team,
        owner_of_item,
        cluster_prefix,
        ownership,
    } = *style;
    let mut ids = Vec::with_capacity(groups.len());
    for g in groups {
        let first = &items[g.first()];
        let owner = owners.name(first.head[0]);
        let ns = &nss[first.head[1] as usize];
        let owner_key = &okey(owner);
        let owner_cluster = cluster_id(&[cluster_prefix, "owner", owner_key]);
        let ns_cluster = cluster_id(&[cluster_prefix, "owner", owner_key, "ns", ns]);
        if g.depth >= 1 {
            let label = match owner {
                Some(o) if Some(o) == team => vec![format!("team {o} (own secrets)")],
                Some(o) => vec![format!("owned by team {o}")],
                None => vec!["owned by no team".to_string()],
            };
            let cluster = d.cluster(&owner_cluster, None, label);
            cluster.fill = Some(match owner {
                Some(o) => team_colour(o),
                None => "#f8fafc".to_string(),
            });
            cluster.dashed = owner.is_none();
        }
        if g.depth >= 2 {
            d.cluster(
                &ns_cluster,
                Some(&owner_cluster),
                vec![format!("namespace {}", ns_name(ns))],
            );
        }
        let prefix = group::prefix(items, g);
        let (id, kind, label, tip) = if g.leaf && g.count == 1 {
            let full = format!("{ns}{}", first.path);
            (
                format!("secret:{full}"),
                Kind::Secret,
                vec![shorten(&full, LABEL_MAX)],
                vec![full],
            )
        } else if g.rest {
            let parent = if g.depth > 3 {
                &first.path[..group::seg_end(first.path, g.depth - 3)]
            } else {
                ""
            };
            let full = format!("{ns}{parent}");
            let what = if g.depth <= 3 { "folders" } else { "prefixes" };
            (
                format!("rest:{owner_key}:{ns}:{}:{parent}", g.depth),
                Kind::More,
                vec![
                    format!("{full}… {} more {what}", g.lumped),
                    plural(g.count, "secret", "secrets"),
                ],
                vec![format!(
                    "{} more {what} under {full}, {} in all (left out to stay under --max-nodes)",
                    g.lumped,
                    plural(g.count, "secret", "secrets")
                )],
            )
        } else if g.depth <= 2 {
            let what = match (g.depth, owner) {
                (0, _) => "all secrets".to_string(),
                (1, Some(o)) => format!("secrets of team {o}"),
                (1, None) => "unowned secrets".to_string(),
                (_, _) => format!("secrets in namespace {}", ns_name(ns)),
            };
            (
                format!("group:{owner_key}:{ns}:*:{}", g.depth),
                Kind::SecretGroup,
                vec![what.clone(), plural(g.count, "secret", "secrets")],
                vec![what, plural(g.count, "secret", "secrets")],
            )
        } else {
            let full = format!("{ns}{prefix}");
            (
                format!("group:{owner_key}:{full}"),
                Kind::SecretGroup,
                vec![
                    shorten(&full, LABEL_MAX),
                    plural(g.count, "secret", "secrets"),
                ],
                vec![full, plural(g.count, "secret", "secrets")],
            )
        };
        // Mixed owners inside a group (possible above depth 1) are shown in the tooltip.
        let mut tip = tip;
        if g.depth < 1 {
            let mut owners: BTreeSet<String> = BTreeSet::new();
            for i in g.indices().take(10_000) {
                owners.insert(owner_of_item(i).unwrap_or_else(|| "(no team)".into()));
            }
            tip.push(format!(
                "owners: {}",
                owners.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        let node = d.node(id.clone(), kind, label);
        node.tooltip = tip;
        node.tone = if g.depth >= 1 {
            tone(ownership, owner, team)
        } else {
            Tone::Neutral
        };
        node.cluster = match g.depth {
            0 => None,
            1 => Some(owner_cluster.clone()),
            _ => Some(ns_cluster.clone()),
        };
        ids.push(id);
    }
    GroupNodes { ids }
}

fn role_id(ns: &str, mount: &str, role: &str) -> String {
    format!("role:{ns}auth/{mount}/role/{role}")
}

/// The aggregated views (teams, overview) show prefixes, not secrets: about three groups per
/// cluster, even when the budget would allow more.
fn readable_groups(clusters: usize) -> usize {
    clusters * 3 + 2
}

fn draw_policy_node(d: &mut Diagram, id: &str, namespace: &str, name: &str) {
    let full = format!("{namespace}{name}");
    let node = d.node(
        id.to_string(),
        Kind::Policy,
        vec!["policy".into(), shorten(&full, LABEL_MAX)],
    );
    node.tooltip = vec![format!("policy {full}")];
}

/// An entity or group node a policy comes through.
struct IdentityRef<'i> {
    id: &'i str,
    kind: Kind,
    name: &'i str,
}

fn draw_identity_node(d: &mut Diagram, identity: &IdentityRef<'_>) {
    let what = if identity.kind == Kind::Entity {
        "entity"
    } else {
        "group"
    };
    let node = d.node(
        identity.id.to_string(),
        identity.kind,
        vec![what.into(), shorten(identity.name, LABEL_MAX)],
    );
    node.tooltip = vec![format!("{what} {}", identity.name)];
}

/// A policy rule as a node: its path pattern, policy and line.
struct RuleNode {
    pattern: String,
    policy: String,
    line: u32,
    policy_namespace: String,
}

impl RuleNode {
    fn of(grant: &Via) -> Self {
        RuleNode {
            pattern: grant.rule.clone(),
            policy: grant.policy.clone(),
            line: grant.line,
            policy_namespace: grant.policy_namespace.clone(),
        }
    }
}

/// A rule node, marked when its pattern is a wildcard grant.
fn draw_rule_node(d: &mut Diagram, id: &str, rule: &RuleNode) {
    let wildcard = is_wildcard(&rule.pattern);
    let mut label = vec![
        format!("path \"{}\"", shorten(&rule.pattern, LABEL_MAX)),
        format!("line {}", rule.line),
    ];
    if wildcard {
        label.insert(0, "\u{2731} wildcard grant".into());
    }
    let kind = if wildcard {
        Kind::WildcardRule
    } else {
        Kind::Rule
    };
    d.node(id.to_string(), kind, label).tooltip = vec![format!(
        "policy {}{}, line {}: path \"{}\"",
        rule.policy_namespace, rule.policy, rule.line, rule.pattern
    )];
}
