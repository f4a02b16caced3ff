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
//! diagram's notes): secrets are grouped by prefix with counts ([`group`](super::group)), rules
//! fold into their policies, policies into roles, pipelines into their team, teams beyond the
//! budget into one "… N more" node.

use std::collections::{BTreeMap, BTreeSet};

use crate::acl::Caps;
use crate::login::Verdict;
use crate::ownership::{shared_label, Owners, OwnershipRules};
use crate::passes::identity::PolicyOrigin;
use crate::passes::reach::{Analysis, PipelineReach};
use crate::passes::who_can::WhoCan;

use super::diagram::{cluster_id, team_colour, Diagram, EdgeStyle, Kind, Tone};
use super::estate::{EscChain, EstateReach, SecretSet, WRITE};
use super::group::{self, Group, Item};
use crate::text::{fnv, shorten};

/// (role id, the entity or group the policy comes through (id, kind, name), policy id).
type PolicyLink = (String, Option<(String, Kind, String)>, String);
/// (from team, to owner) → (secrets, writable).
type Flows = BTreeMap<(Option<String>, Option<String>), (usize, usize)>;

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
fn sorted_distinct(values: impl IntoIterator<Item = String>) -> Vec<String> {
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

/// Draw groups of secrets keyed `[owner, namespace]`; `nss` maps namespace ranks to paths.
/// `team` is the viewer's team (for tones). Returns the node id of each group.
#[allow(clippy::too_many_arguments)]
fn draw_secret_groups(
    d: &mut Diagram,
    items: &[Item<'_>],
    groups: &[Group],
    owners: &OwnerRanks,
    nss: &[String],
    team: Option<&str>,
    owner_of_item: &dyn Fn(usize) -> Option<String>,
    cluster_prefix: &str,
    ownership: &Owners,
) -> GroupNodes {
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
            let c = d.cluster(&owner_cluster, None, label);
            c.fill = Some(match owner {
                Some(o) => team_colour(o),
                None => "#f8fafc".to_string(),
            });
            c.dashed = owner.is_none();
        }
        if g.depth >= 2 {
            d.cluster(
                &ns_cluster,
                Some(&owner_cluster),
                vec![format!("namespace {}", ns_name(ns))],
            );
        }
        let p = group::prefix(items, g);
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
            let full = format!("{ns}{p}");
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
            let mut os: BTreeSet<String> = BTreeSet::new();
            for i in g.indices().take(10_000) {
                os.insert(owner_of_item(i).unwrap_or_else(|| "(no team)".into()));
            }
            tip.push(format!(
                "owners: {}",
                os.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        let n = d.node(id.clone(), kind, label);
        n.tooltip = tip;
        n.tone = if g.depth >= 1 {
            tone(ownership, owner, team)
        } else {
            Tone::Neutral
        };
        n.cluster = match g.depth {
            0 => None,
            1 => Some(owner_cluster.clone()),
            _ => Some(ns_cluster.clone()),
        };
        ids.push(id);
    }
    GroupNodes { ids }
}

// ------------------------------------------------------------------------------------------------
// pipeline view

/// How far a pipeline view was reduced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Detail {
    Rules,
    Policies,
    Roles,
    RolesCapped,
}

fn role_id(ns: &str, mount: &str, role: &str) -> String {
    format!("role:{ns}auth/{mount}/role/{role}")
}

/// One pipeline's blast radius. `chains` are its escalation chains (most rewarding first).
pub fn pipeline_view(
    owners: &Owners,
    reach: &PipelineReach,
    chains: &[EscChain],
    max_nodes: usize,
) -> Diagram {
    let max_nodes = max_nodes.max(MIN_NODES);
    let team = reach.team.as_deref();
    let mut d = Diagram::new(vec![
        format!(
            "blast radius of pipeline {}{}",
            reach.name,
            team.map(|t| format!(" (team {t})")).unwrap_or_default()
        ),
        format!(
            "{} reachable, {} writable, {} owned by other teams, {}",
            plural(reach.secrets.len(), "secret", "secrets"),
            reach
                .secrets
                .iter()
                .filter(|s| s.caps.intersects(WRITE))
                .count(),
            reach
                .secrets
                .iter()
                .filter(|s| cross(owners, owners.of(s.secret_id), team))
                .count(),
            plural(chains.len(), "escalation chain", "escalation chains"),
        ),
    ]);
    let pid = format!("pipeline:{}", reach.name);
    {
        let team_cluster = team.map(|t| cluster_id(&["team", t]));
        if let (Some(t), Some(c)) = (team, &team_cluster) {
            let cl = d.cluster(c, None, vec![format!("team {t}")]);
            cl.fill = Some(team_colour(t));
        }
        let n = d.node(
            pid.clone(),
            Kind::Pipeline,
            vec!["pipeline".into(), reach.name.clone()],
        );
        n.emphasis = true;
        n.cluster = team_cluster;
    }

    // Roles shown: possible ones, and the configured one even when refused.
    let roles: Vec<&crate::passes::reach::RoleReach> = reach
        .roles
        .iter()
        .filter(|r| r.verdict != Verdict::Refused || r.configured)
        .collect();
    // Structure: policies, rules and identity nodes per role, from the grants.
    #[derive(Default)]
    struct Chain {
        // role id → (identity node id, label, kind) → policy id
        policies: BTreeSet<PolicyLink>,
        // policy id → rule id
        rules: BTreeSet<(String, String)>,
        rule_info: BTreeMap<String, (String, String, u32, String)>, // id → (pattern, policy, line, pns)
        policy_info: BTreeMap<String, (String, String)>,            // id → (name, namespace)
    }
    let mut ch = Chain::default();
    let role_ns: BTreeMap<(String, String), String> = roles
        .iter()
        .map(|r| ((r.mount.clone(), r.role.clone()), r.namespace.clone()))
        .collect();
    // Upstream of each secret at each detail level.
    let mut ups: Vec<BTreeMap<Detail, BTreeSet<String>>> = Vec::with_capacity(reach.secrets.len());
    for s in &reach.secrets {
        let mut u: BTreeMap<Detail, BTreeSet<String>> = BTreeMap::new();
        for v in s.via.iter() {
            let rns = role_ns
                .get(&(v.mount.clone(), v.role.clone()))
                .cloned()
                .unwrap_or_default();
            let rid = role_id(&rns, &v.mount, &v.role);
            let pid_ = format!("policy:{}{}", v.policy_namespace, v.policy);
            let ident = match &v.origin {
                PolicyOrigin::Role => None,
                PolicyOrigin::Entity { id, name } => {
                    Some((format!("entity:{id}"), Kind::Entity, name.clone()))
                }
                PolicyOrigin::Group { id, name } => {
                    Some((format!("group:{id}"), Kind::Group, name.clone()))
                }
            };
            ch.policies.insert((rid.clone(), ident, pid_.clone()));
            ch.policy_info
                .insert(pid_.clone(), (v.policy.clone(), v.policy_namespace.clone()));
            let ruid = format!(
                "rule:{}{}:{}:{}",
                v.policy_namespace, v.policy, v.line, v.rule
            );
            ch.rules.insert((pid_.clone(), ruid.clone()));
            ch.rule_info.insert(
                ruid.clone(),
                (
                    v.rule.clone(),
                    v.policy.clone(),
                    v.line,
                    v.policy_namespace.clone(),
                ),
            );
            u.entry(Detail::Rules).or_default().insert(ruid);
            u.entry(Detail::Policies).or_default().insert(pid_);
            u.entry(Detail::Roles).or_default().insert(rid.clone());
            u.entry(Detail::RolesCapped).or_default().insert(rid);
        }
        ups.push(u);
    }
    let idents: BTreeSet<&String> = ch
        .policies
        .iter()
        .filter_map(|(_, i, _)| i.as_ref().map(|x| &x.0))
        .collect();

    // Escalation chains: as many as fit in a fifth of the budget.
    let esc_budget = max_nodes / 5;
    let mut esc_nodes: BTreeSet<String> = BTreeSet::new();
    let mut shown_chains: Vec<&EscChain> = Vec::new();
    for c in chains {
        let mut add: BTreeSet<String> = BTreeSet::new();
        for s in &c.steps {
            add.insert(step_id(s));
        }
        add.insert(gain_id(c));
        let new: Vec<&String> = add.iter().filter(|x| !esc_nodes.contains(*x)).collect();
        // Keep one slot for the "more chains" node.
        if esc_nodes.len() + new.len() + usize::from(shown_chains.len() + 1 < chains.len())
            > esc_budget
        {
            continue;
        }
        esc_nodes.extend(add);
        shown_chains.push(c);
    }
    let more_chains = chains.len() - shown_chains.len();
    let esc_count = esc_nodes.len() + usize::from(more_chains > 0);

    let fixed = 2 + esc_count; // pipeline, legend
    let n_secrets = reach.secrets.len();
    let sec_min = n_secrets.min((max_nodes / 4).max(1));
    let level_nodes = |lvl: Detail| -> usize {
        match lvl {
            Detail::Rules => roles.len() + idents.len() + ch.policy_info.len() + ch.rule_info.len(),
            Detail::Policies => roles.len() + idents.len() + ch.policy_info.len(),
            Detail::Roles | Detail::RolesCapped => roles.len(),
        }
    };
    let mut level = Detail::RolesCapped;
    for l in [Detail::Rules, Detail::Policies, Detail::Roles] {
        if fixed + level_nodes(l) + sec_min <= max_nodes {
            level = l;
            break;
        }
    }
    // Roles beyond the budget (RolesCapped): keep those reaching most.
    let mut kept_roles: BTreeSet<String> = roles
        .iter()
        .map(|r| role_id(&r.namespace, &r.mount, &r.role))
        .collect();
    let other_roles_id = "more:roles".to_string();
    if level == Detail::RolesCapped {
        let room = max_nodes.saturating_sub(fixed + sec_min + 1).max(1);
        let mut by_size: Vec<&&crate::passes::reach::RoleReach> = roles.iter().collect();
        by_size.sort_by(|a, b| {
            b.configured
                .cmp(&a.configured)
                .then(b.secrets.cmp(&a.secrets))
                .then(a.role.cmp(&b.role))
        });
        kept_roles = by_size
            .iter()
            .take(room)
            .map(|r| role_id(&r.namespace, &r.mount, &r.role))
            .collect();
        d.notes.push(format!(
            "{} of {} roles shown (the rest in one node)",
            kept_roles.len(),
            roles.len()
        ));
    }
    match level {
        Detail::Rules => {}
        Detail::Policies => d
            .notes
            .push("rules folded into their policies to stay under --max-nodes".into()),
        _ => d
            .notes
            .push("policies and rules folded into the roles to stay under --max-nodes".into()),
    }

    // Role nodes and pipeline → role edges.
    let mut dropped_roles = 0usize;
    for r in &roles {
        let rid = role_id(&r.namespace, &r.mount, &r.role);
        let label_role = format!("{}auth/{}/role/{}", r.namespace, r.mount, r.role);
        let (target, style) = if kept_roles.contains(&rid) {
            let n = d.node(
                rid.clone(),
                Kind::Role,
                vec![shorten(&label_role, LABEL_MAX)],
            );
            n.emphasis = r.configured;
            let mut tip = vec![label_role.clone(), r.why.clone()];
            if !r.policies.is_empty() {
                let names: BTreeSet<&str> = r.policies.iter().map(|p| p.name.as_str()).collect();
                tip.push(format!(
                    "policies: {}",
                    names.into_iter().collect::<Vec<_>>().join(", ")
                ));
            }
            n.tooltip = tip;
            if r.configured {
                n.label.push("(configured)".into());
            }
            if r.verdict == Verdict::Unknown {
                n.label.push("(admission unknown)".into());
            }
            if r.verdict == Verdict::Refused {
                n.label.push("(refuses this login)".into());
            }
            let style = match r.verdict {
                Verdict::Refused => EdgeStyle::Refused,
                Verdict::Unknown => EdgeStyle::Unknown,
                Verdict::Admitted => EdgeStyle::Normal,
            };
            (rid.clone(), style)
        } else {
            dropped_roles += 1;
            (other_roles_id.clone(), EdgeStyle::Normal)
        };
        let e = d.edge(&pid, &target, style);
        e.label = vec![match r.verdict {
            Verdict::Refused => "refused".to_string(),
            Verdict::Unknown => "login?".to_string(),
            _ if r.configured => "configured login".to_string(),
            _ => "login".to_string(),
        }];
        e.tooltip = vec![r.why.clone()];
    }
    if dropped_roles > 0 {
        d.node(
            other_roles_id.clone(),
            Kind::More,
            vec![format!("{dropped_roles} more roles")],
        );
        d.edge(&pid, &other_roles_id, EdgeStyle::Normal).label =
            vec![plural(dropped_roles, "login", "logins")];
    }
    let map_role = |rid: &String| -> String {
        if kept_roles.contains(rid) {
            rid.clone()
        } else {
            other_roles_id.clone()
        }
    };

    // Policies, identity nodes and rules.
    if level <= Detail::Policies {
        for (rid, ident, pol) in &ch.policies {
            let (name, pns) = &ch.policy_info[pol];
            let pn = d.node(
                pol.clone(),
                Kind::Policy,
                vec!["policy".into(), shorten(&format!("{pns}{name}"), LABEL_MAX)],
            );
            pn.tooltip = vec![format!("policy {pns}{name}")];
            match ident {
                None => {
                    d.edge(rid, pol, EdgeStyle::Normal).label = vec!["token policy".into()];
                }
                Some((iid, kind, iname)) => {
                    let what = if *kind == Kind::Entity {
                        "entity"
                    } else {
                        "group"
                    };
                    let n = d.node(
                        iid.clone(),
                        *kind,
                        vec![what.into(), shorten(iname, LABEL_MAX)],
                    );
                    n.tooltip = vec![format!("{what} {iname}")];
                    d.edge(rid, iid, EdgeStyle::Normal).label = vec![if *kind == Kind::Entity {
                        "maps to".to_string()
                    } else {
                        "member of".to_string()
                    }];
                    d.edge(iid, pol, EdgeStyle::Normal).label = vec!["identity policy".into()];
                }
            }
        }
    }
    if level == Detail::Rules {
        for (pol, rule) in &ch.rules {
            let (pattern, policy, line, pns) = &ch.rule_info[rule];
            let wild = is_wildcard(pattern);
            let mut label = vec![
                format!("path \"{}\"", shorten(pattern, LABEL_MAX)),
                format!("line {line}"),
            ];
            if wild {
                label.insert(0, "\u{2731} wildcard grant".into());
            }
            let n = d.node(
                rule.clone(),
                if wild { Kind::WildcardRule } else { Kind::Rule },
                label,
            );
            n.tooltip = vec![format!(
                "policy {pns}{policy}, line {line}: path \"{pattern}\""
            )];
            d.edge(pol, rule, EdgeStyle::Normal);
        }
    }

    // Escalation chains.
    for c in &shown_chains {
        let mut prev: Vec<String> = c
            .roles
            .iter()
            .map(|(ns, m, r)| map_role(&role_id(ns, m, r)))
            .filter(|id| d.nodes.contains_key(id))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if prev.is_empty() {
            prev.push(pid.clone());
        }
        for s in &c.steps {
            let sid = step_id(s);
            let n = d.node(
                sid.clone(),
                Kind::Escalation,
                vec![
                    format!("escalation: {}", s.kind),
                    shorten(&format!("{}{}", s.namespace, s.path), LABEL_MAX),
                ],
            );
            let mut tip = vec![
                format!("{} on {}{}", s.kind, s.namespace, s.path),
                s.effect.clone(),
            ];
            tip.extend(s.granted_by.iter().map(|g| format!("granted by {g}")));
            n.tooltip = tip;
            for p in &prev {
                let e = d.edge(p, &sid, EdgeStyle::Escalation);
                e.tooltip = vec![s.effect.clone()];
            }
            prev = vec![sid];
        }
        let gid = gain_id(c);
        let what = match c.gain {
            "login" => "a new login".to_string(),
            "any-policy" => "any policy of the namespace".to_string(),
            "full-namespace" => format!(
                "full control of namespace {}",
                ns_name(c.namespace.as_deref().unwrap_or(""))
            ),
            _ => "no new reach modelled".to_string(),
        };
        let label = if c.gain == "none" {
            vec![what.clone(), "(persistence, tampering)".to_string()]
        } else {
            vec![what.clone(), plural(c.secrets, "secret", "secrets")]
        };
        let n = d.node(gid.clone(), Kind::Gain, label);
        if c.gain != "none" {
            n.tooltip = vec![
                format!("{what}: reaches {}", plural(c.secrets, "secret", "secrets")),
                c.steps.last().map(|s| s.effect.clone()).unwrap_or_default(),
            ];
        } else {
            n.tooltip = vec!["steps that give no new reach blastmap models (persistence, hiding tracks, changing other tokens' access)".into()];
        }
        for p in &prev {
            d.edge(p, &gid, EdgeStyle::Escalation);
        }
    }
    if more_chains > 0 {
        let id = "more:escalations".to_string();
        d.node(
            id.clone(),
            Kind::More,
            vec![plural(
                more_chains,
                "more escalation chain",
                "more escalation chains",
            )],
        );
        d.edge(&pid, &id, EdgeStyle::Escalation);
    }

    // Secrets, grouped when needed.
    let budget = max_nodes.saturating_sub(d.node_count()).max(1);
    let owner_names: Vec<Option<&str>> = reach
        .secrets
        .iter()
        .map(|s| owners.of(s.secret_id))
        .collect();
    let ranks = OwnerRanks::new(owner_names.iter().copied(), team);
    let nss = sorted_distinct(reach.secrets.iter().map(|s| s.namespace.clone()));
    let mut items: Vec<Item> = reach
        .secrets
        .iter()
        .enumerate()
        .map(|(i, s)| Item {
            head: [ranks.rank(owner_names[i]), key_of(&nss, &s.namespace)],
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
    let gn = draw_secret_groups(
        &mut d,
        &items,
        &groups,
        &ranks,
        &nss,
        team,
        &owner_of_item,
        "secrets",
        owners,
    );
    let member = group::membership(&groups, items.len());
    // Aggregated edges upstream → group.
    let mut agg: BTreeMap<(String, usize), (usize, Caps, bool)> = BTreeMap::new();
    for (i, it) in items.iter().enumerate() {
        let s = &reach.secrets[it.id as usize];
        let g = member[i] as usize;
        let cr = cross(owners, owner_names[it.id as usize], team);
        let up = ups[it.id as usize].get(&level).cloned().unwrap_or_default();
        let mut up: BTreeSet<String> = if level == Detail::RolesCapped {
            up.iter().map(&map_role).collect()
        } else {
            up
        };
        if up.is_empty() {
            // No chain recorded (should not happen): attach to the pipeline.
            up.insert(pid.clone());
        }
        for u in up {
            let e = agg.entry((u, g)).or_insert((0, Caps::NONE, false));
            e.0 += 1;
            e.1 |= s.caps;
            e.2 |= cr;
        }
    }
    for ((u, g), (count, caps, cr)) in agg {
        let grp = &groups[g];
        let e = d.edge(
            &u,
            &gn.ids[g],
            if cr {
                EdgeStyle::CrossTeam
            } else {
                EdgeStyle::Normal
            },
        );
        e.weight = count;
        e.write = caps.intersects(WRITE);
        e.label = if grp.leaf && grp.count == 1 {
            vec![caps_label(caps)]
        } else {
            vec![format!("{count}: {}", caps_label(caps))]
        };
    }
    d
}

/// The aggregated views (teams, overview) show prefixes, not secrets: about three groups per
/// cluster, even when the budget would allow more.
fn readable_groups(clusters: usize) -> usize {
    clusters * 3 + 2
}

fn step_id(s: &super::estate::EscStep) -> String {
    format!("esc:{}:{}{}", s.kind, s.namespace, s.path)
}

fn gain_id(c: &EscChain) -> String {
    if c.gain == "none" {
        // Every chain without modelled reach ends in the same node.
        return "gain:none".to_string();
    }
    format!("gain:{}:{:016x}", c.gain, fnv(&c.key))
}

// ------------------------------------------------------------------------------------------------
// secret view

/// The owning teams of a path that may not be in the secret index, by the one ownership rule
/// (`crate::ownership`): none, one, or the tied teams of a shared secret.
pub fn owner_of_path(analysis: &Analysis<'_>, owners: &Owners, full: &str) -> Vec<String> {
    if let Some(sid) = analysis.secrets.find(full) {
        let owner = owners.owner[sid as usize];
        return owners.team_names(owner).map(str::to_string).collect();
    }
    OwnershipRules::new(analysis.inventory)
        .owners_of(full)
        .into_iter()
        .map(str::to_string)
        .collect()
}

/// Who can reach one secret: pipelines (in team clusters) → roles → policies → rules → the
/// secret; red where a pipeline of another team reaches it.
pub fn secret_view(
    analysis: &Analysis<'_>,
    owners: &Owners,
    who: &WhoCan,
    max_nodes: usize,
) -> Diagram {
    let max_nodes = max_nodes.max(MIN_NODES);
    let full = format!("{}{}", who.namespace, who.path);
    let owner_teams = owner_of_path(analysis, owners, &full);
    let owner_names: Vec<&str> = owner_teams.iter().map(String::as_str).collect();
    let owner = (!owner_names.is_empty()).then(|| shared_label(&owner_names));
    let owned_by = match owner_teams.len() {
        0 => String::new(),
        1 => format!("owned by team {}", owner_names[0]),
        _ => format!("owned by teams {} (shared)", owner_names.join(", ")),
    };
    let pipelines: BTreeSet<&str> = who.subjects.iter().map(|s| s.pipeline.as_str()).collect();
    let mut d = Diagram::new(vec![
        format!("who can reach {full}"),
        format!(
            "{}, {} subjects (pipeline and role){}",
            plural(pipelines.len(), "pipeline", "pipelines"),
            who.subjects.len(),
            match owner {
                Some(_) => format!(", {owned_by}"),
                None => ", owned by no team".into(),
            }
        ),
    ]);
    let sid = format!("secret:{full}");
    {
        let cluster = owner.as_ref().map(|o| {
            let c = cluster_id(&["owner", o]);
            let cl = d.cluster(&c, None, vec![owned_by.clone()]);
            cl.fill = Some(team_colour(o));
            c
        });
        let n = d.node(sid.clone(), Kind::Secret, vec![shorten(&full, LABEL_MAX)]);
        n.tooltip = vec![full.clone()];
        n.emphasis = true;
        n.tone = match &owner {
            Some(_) => Tone::Own,
            None => Tone::Unowned,
        };
        n.cluster = cluster;
    }
    // Counts per level, to choose how much to fold.
    let teams: BTreeSet<Option<&str>> = who.subjects.iter().map(|s| s.team.as_deref()).collect();
    let roles: BTreeSet<(String, String, String)> = who
        .subjects
        .iter()
        .map(|s| (s.namespace.clone(), s.mount.clone(), s.role.clone()))
        .collect();
    let mounts: BTreeSet<(String, String)> = roles
        .iter()
        .map(|(n, m, _)| (n.clone(), m.clone()))
        .collect();
    let mut policies: BTreeSet<String> = BTreeSet::new();
    let mut rules: BTreeSet<String> = BTreeSet::new();
    let mut idents: BTreeSet<String> = BTreeSet::new();
    for s in &who.subjects {
        for v in &s.via {
            policies.insert(format!("{}{}", v.policy_namespace, v.policy));
            rules.insert(format!(
                "{}{}:{}:{}",
                v.policy_namespace, v.policy, v.line, v.rule
            ));
            match &v.origin {
                PolicyOrigin::Role => {}
                PolicyOrigin::Entity { id, .. } => {
                    idents.insert(format!("entity:{id}"));
                }
                PolicyOrigin::Group { id, .. } => {
                    idents.insert(format!("group:{id}"));
                }
            }
        }
    }
    let fixed = 2; // secret, legend
                   // Levels: (pipelines individually?, roles individually?, with policies?, with rules?)
    let options = [
        (true, true, true, true),
        (true, true, true, false),
        (false, true, true, true),
        (false, true, true, false),
        (false, false, true, false),
        (false, false, false, false),
    ];
    let count = |(pi, ri, po, ru): (bool, bool, bool, bool)| -> usize {
        fixed
            + if pi { pipelines.len() } else { teams.len() }
            + if ri { roles.len() } else { mounts.len() }
            + if po { policies.len() + idents.len() } else { 0 }
            + if ru { rules.len() } else { 0 }
    };
    let chosen = options
        .iter()
        .copied()
        .find(|o| count(*o) <= max_nodes)
        .unwrap_or((false, false, false, false));
    let (per_pipeline, per_role, with_policies, with_rules) = chosen;
    if !per_pipeline {
        d.notes
            .push("pipelines folded into their teams to stay under --max-nodes".into());
    }
    if !per_role {
        d.notes.push("roles folded into their auth mounts".into());
    }
    if !with_rules {
        d.notes.push("rules folded into their policies".into());
    }
    if !with_policies {
        d.notes.push("policies folded into the roles".into());
    }
    // Teams beyond the budget in the last resort.
    let mut team_room = usize::MAX;
    if count(chosen) > max_nodes {
        team_room = max_nodes.saturating_sub(fixed + mounts.len() + 1).max(1);
    }
    let mut team_sizes: BTreeMap<Option<&str>, usize> = BTreeMap::new();
    for p in &pipelines {
        let t = who
            .subjects
            .iter()
            .find(|s| s.pipeline == *p)
            .and_then(|s| s.team.as_deref());
        *team_sizes.entry(t).or_default() += 1;
    }
    let mut ranked: Vec<(Option<&str>, usize)> = team_sizes.iter().map(|(t, n)| (*t, *n)).collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let kept_teams: BTreeSet<Option<&str>> =
        ranked.iter().take(team_room).map(|(t, _)| *t).collect();
    let dropped_teams = ranked.len() - kept_teams.len();

    let mut agg_caps: BTreeMap<(String, String), Caps> = BTreeMap::new();
    for s in &who.subjects {
        let team = s.team.as_deref();
        let cr = matches!((&owner, team), (Some(_), Some(t)) if !owner_names.contains(&t));
        let caps = s
            .capabilities
            .iter()
            .filter_map(|c| Caps::from_name(c))
            .fold(Caps::NONE, |a, b| a | b);
        // Subject node.
        let src = if !kept_teams.contains(&team) {
            let id = "more:teams".to_string();
            d.node(
                id.clone(),
                Kind::More,
                vec![plural(dropped_teams, "more team", "more teams")],
            );
            id
        } else if per_pipeline {
            let id = format!("pipeline:{}", s.pipeline);
            let n = d.node(
                id.clone(),
                Kind::Pipeline,
                vec!["pipeline".into(), s.pipeline.clone()],
            );
            if let Some(t) = team {
                let c = cluster_id(&["team", t]);
                n.cluster = Some(c.clone());
                let cl = d.cluster(&c, None, vec![format!("team {t}")]);
                cl.fill = Some(team_colour(t));
            }
            id
        } else {
            let id = format!("pipelines:{}", okey(team));
            let n = team_sizes.get(&team).copied().unwrap_or(0);
            let node = d.node(
                id.clone(),
                Kind::Pipelines,
                vec![
                    team.map(|t| format!("team {t}"))
                        .unwrap_or_else(|| "no team".into()),
                    plural(n, "pipeline", "pipelines"),
                ],
            );
            if let Some(t) = team {
                node.fill = Some(team_colour(t));
            }
            id
        };
        let rid = if per_role {
            let id = role_id(&s.namespace, &s.mount, &s.role);
            let label = format!("{}auth/{}/role/{}", s.namespace, s.mount, s.role);
            let short = shorten(&label, LABEL_MAX);
            d.node(id.clone(), Kind::Role, vec![short]).tooltip = vec![label];
            id
        } else {
            let id = format!("mount:{}{}", s.namespace, s.mount);
            let n_roles = roles
                .iter()
                .filter(|(n, m, _)| *n == s.namespace && *m == s.mount)
                .count();
            d.node(
                id.clone(),
                Kind::Role,
                vec![
                    format!("{}auth/{}", s.namespace, s.mount),
                    plural(n_roles, "role", "roles"),
                ],
            );
            id
        };
        {
            let e = d.edge(
                &src,
                &rid,
                if cr {
                    EdgeStyle::CrossTeam
                } else if s.admission == Verdict::Unknown {
                    EdgeStyle::Unknown
                } else {
                    EdgeStyle::Normal
                },
            );
            e.weight += 1;
            if per_pipeline && kept_teams.contains(&team) {
                e.label = vec![if s.admission == Verdict::Unknown {
                    "login?"
                } else {
                    "login"
                }
                .into()];
                e.weight = 1;
            } else {
                e.label = vec![plural(e.weight, "login", "logins")];
            }
        }
        if s.via.is_empty() {
            let e = d.edge(&rid, &sid, EdgeStyle::Normal);
            e.label = vec![caps_label(caps)];
            e.write = caps.intersects(WRITE);
            continue;
        }
        for v in &s.via {
            let pol = format!("policy:{}{}", v.policy_namespace, v.policy);
            let rule = format!(
                "rule:{}{}:{}:{}",
                v.policy_namespace, v.policy, v.line, v.rule
            );
            let last = if with_policies {
                let pn = d.node(
                    pol.clone(),
                    Kind::Policy,
                    vec![
                        "policy".into(),
                        shorten(&format!("{}{}", v.policy_namespace, v.policy), LABEL_MAX),
                    ],
                );
                pn.tooltip = vec![format!("policy {}{}", v.policy_namespace, v.policy)];
                match &v.origin {
                    PolicyOrigin::Role => {
                        d.edge(&rid, &pol, EdgeStyle::Normal).label = vec!["token policy".into()];
                    }
                    PolicyOrigin::Entity { id, name } | PolicyOrigin::Group { id, name } => {
                        let (iid, kind, what) = if matches!(v.origin, PolicyOrigin::Entity { .. }) {
                            (format!("entity:{id}"), Kind::Entity, "entity")
                        } else {
                            (format!("group:{id}"), Kind::Group, "group")
                        };
                        d.node(
                            iid.clone(),
                            kind,
                            vec![what.into(), shorten(name, LABEL_MAX)],
                        )
                        .tooltip = vec![format!("{what} {name}")];
                        d.edge(&rid, &iid, EdgeStyle::Normal);
                        d.edge(&iid, &pol, EdgeStyle::Normal).label =
                            vec!["identity policy".into()];
                    }
                }
                if with_rules {
                    let wild = is_wildcard(&v.rule);
                    let mut label = vec![
                        format!("path \"{}\"", shorten(&v.rule, LABEL_MAX)),
                        format!("line {}", v.line),
                    ];
                    if wild {
                        label.insert(0, "\u{2731} wildcard grant".into());
                    }
                    d.node(
                        rule.clone(),
                        if wild { Kind::WildcardRule } else { Kind::Rule },
                        label,
                    )
                    .tooltip = vec![format!(
                        "policy {}{}, line {}: path \"{}\"",
                        v.policy_namespace, v.policy, v.line, v.rule
                    )];
                    d.edge(&pol, &rule, EdgeStyle::Normal);
                    rule
                } else {
                    pol
                }
            } else {
                rid.clone()
            };
            *agg_caps.entry((last, sid.clone())).or_insert(Caps::NONE) |= caps;
        }
    }
    for ((from, to), caps) in agg_caps {
        let e = d.edge(&from, &to, EdgeStyle::Normal);
        e.label = vec![caps_label(caps)];
        e.write = caps.intersects(WRITE);
    }
    if who.subjects.is_empty() {
        d.notes
            .push("no pipeline of the inventory can reach this path".into());
    }
    d
}

// ------------------------------------------------------------------------------------------------
// teams view

/// The architecture view. With `focus`, one team in detail and every team it touches.
pub fn teams_view(est: &EstateReach<'_, '_>, focus: Option<&str>, max_nodes: usize) -> Diagram {
    let max_nodes = max_nodes.max(MIN_NODES);
    let analysis = est.analysis;
    let idx = &analysis.secrets;
    let n_secrets = idx.len();
    let mut team_names: BTreeSet<String> = analysis
        .inventory
        .teams
        .iter()
        .map(|t| t.name.clone())
        .collect();
    for p in &est.pipelines {
        if let Some(t) = &p.team {
            team_names.insert(t.clone());
        }
    }
    // Team key: Some(name) or None (no team / unowned).
    let mut pipes_by_team: BTreeMap<Option<&str>, Vec<usize>> = BTreeMap::new();
    for (i, p) in est.pipelines.iter().enumerate() {
        pipes_by_team.entry(p.team.as_deref()).or_default().push(i);
    }
    let pipes_of =
        |t: Option<&str>| -> Vec<usize> { pipes_by_team.get(&t).cloned().unwrap_or_default() };
    let mut title = vec![match focus {
        Some(t) => format!("team {t} and the teams it shares secrets with"),
        None => "teams: pipelines and the secrets they own and reach".to_string(),
    }];
    title.push(format!(
        "{}, {}, {}",
        plural(team_names.len(), "team", "teams"),
        plural(est.pipelines.len(), "pipeline", "pipelines"),
        plural(n_secrets, "secret", "secrets")
    ));
    let mut d = Diagram::new(title);

    // Per-team reach (one bitset per team, computed in parallel) reduced to counts per owner.
    let keys: Vec<Option<String>> = team_names
        .iter()
        .map(|t| Some(t.clone()))
        .chain(std::iter::once(None))
        .collect();
    let owner_of = |sid: u32| est.owner(sid);
    use rayon::prelude::*;
    let team_sets: Vec<SecretSet> = keys
        .par_iter()
        .map(|k| {
            let ps: Vec<usize> = pipes_of(k.as_deref());
            est.reach_of(ps.iter().map(|&i| &est.pipelines[i]))
        })
        .collect();
    // (from team, to owner) → (secrets, writable)
    let mut flows: Flows = BTreeMap::new();
    for (k, set) in keys.iter().zip(&team_sets) {
        let mut per: BTreeMap<Option<&str>, (usize, usize)> = BTreeMap::new();
        for sid in set.ids() {
            let e = per.entry(owner_of(sid)).or_default();
            e.0 += 1;
            if set.writes(sid) {
                e.1 += 1;
            }
        }
        for (o, c) in per {
            flows.insert((k.clone(), o.map(str::to_string)), c);
        }
    }
    // Owned secrets per team, and per team and namespace.
    let mut owned: BTreeMap<Option<&str>, usize> = BTreeMap::new();
    let mut owned_ns: BTreeMap<Option<&str>, BTreeMap<&str, usize>> = BTreeMap::new();
    for sid in 0..n_secrets as u32 {
        let o = owner_of(sid);
        *owned.entry(o).or_insert(0) += 1;
        *owned_ns
            .entry(o)
            .or_default()
            .entry(idx.get(sid).namespace.as_str())
            .or_insert(0) += 1;
    }
    let n_pipes = |k: &Option<String>| pipes_by_team.get(&k.as_deref()).map(Vec::len).unwrap_or(0);
    let teams_with_pipes: Vec<&Option<String>> = keys.iter().filter(|k| n_pipes(k) > 0).collect();

    // Home namespace of a team: where most of its pipelines log in, else where it owns most.
    let home = |k: &Option<String>| -> String {
        let mut c: BTreeMap<&str, usize> = BTreeMap::new();
        for i in pipes_of(k.as_deref()) {
            *c.entry(est.pipelines[i].namespace.as_str()).or_default() += 1;
        }
        if c.is_empty() {
            if let Some(m) = owned_ns.get(&k.as_deref()) {
                c = m.clone();
            }
        }
        c.into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
            .map(|(n, _)| n.to_string())
            .unwrap_or_default()
    };

    let legend = 1;
    // Level 1/2 need the owned secrets grouped per (owner, namespace) cluster.
    let all_owners: Vec<Option<&str>> = (0..n_secrets as u32).map(owner_of).collect();
    let clusters: BTreeSet<(Option<&str>, &str)> = (0..n_secrets as u32)
        .map(|sid| (all_owners[sid as usize], idx.get(sid).namespace.as_str()))
        .collect();
    let focus_key = focus.map(|f| Some(f.to_string()));

    if let Some(fk) = &focus_key {
        return teams_focus(est, &mut d, fk, &keys, &team_sets, &flows, max_nodes);
    }

    let total_pipes = est.pipelines.len();
    let lvl1 = total_pipes + clusters.len() + legend <= max_nodes;
    let lvl2 = teams_with_pipes.len() + clusters.len() + legend <= max_nodes;
    let owners_with_secrets: Vec<&Option<&str>> = owned.keys().collect();
    let lvl3 = teams_with_pipes.len() + owners_with_secrets.len() + legend <= max_nodes;
    if lvl1 || lvl2 {
        let ranks = OwnerRanks::new(all_owners.iter().copied(), None);
        let nss = sorted_distinct(
            analysis
                .snapshot
                .namespaces
                .iter()
                .map(|n| crate::model::namespace_path(&n.path).into_owned())
                .chain(idx.secrets.iter().map(|s| s.namespace.clone())),
        );
        // Pipeline nodes.
        let mut src_of_pipe: Vec<String> = Vec::with_capacity(total_pipes);
        for (i, p) in est.pipelines.iter().enumerate() {
            let key = &okey(p.team.as_deref());
            let tc = cluster_id(&["secrets", "owner", key]);
            let label = match p.team.as_deref() {
                Some(t) => vec![format!("team {t}")],
                None => vec!["no team".to_string()],
            };
            let c = d.cluster(&tc, None, label);
            c.fill = Some(match p.team.as_deref() {
                Some(t) => team_colour(t),
                None => "#f8fafc".into(),
            });
            c.dashed = p.team.is_none();
            let nc = cluster_id(&["secrets", "owner", key, "ns", &p.namespace]);
            d.cluster(
                &nc,
                Some(&tc),
                vec![format!("namespace {}", ns_name(&p.namespace))],
            );
            let id = if lvl1 {
                let id = format!("pipeline:{}", p.name);
                d.node(
                    id.clone(),
                    Kind::Pipeline,
                    vec!["pipeline".into(), p.name.clone()],
                )
                .cluster = Some(nc);
                id
            } else {
                let id = format!("pipelines:{key}");
                let n = n_pipes(&p.team);
                let names: Vec<&str> = est
                    .pipelines
                    .iter()
                    .filter(|q| q.team == p.team)
                    .map(|q| q.name.as_str())
                    .take(20)
                    .collect();
                let node = d.node(
                    id.clone(),
                    Kind::Pipelines,
                    vec![plural(n, "pipeline", "pipelines")],
                );
                node.cluster = Some(tc.clone());
                node.tooltip = vec![format!("pipelines: {}", names.join(", "))];
                id
            };
            let _ = i;
            src_of_pipe.push(id);
        }
        if !lvl1 {
            d.notes
                .push("pipelines folded into one node per team to stay under --max-nodes".into());
        }
        // Secret groups.
        let mut items: Vec<Item> = (0..n_secrets as u32)
            .map(|sid| {
                let s = idx.get(sid);
                Item {
                    head: [
                        ranks.rank(all_owners[sid as usize]),
                        key_of(&nss, &s.namespace),
                    ],
                    path: &s.path,
                    id: sid,
                }
            })
            .collect();
        items.sort();
        let budget = max_nodes
            .saturating_sub(d.nodes.len() + legend)
            .min(readable_groups(clusters.len()))
            .max(1);
        let groups = group::group(&items, budget, 2);
        if groups.len() < items.len() {
            d.notes.push(format!(
                "{} shown as {} groups by prefix",
                plural(items.len(), "secret", "secrets"),
                groups.len()
            ));
        }
        let owner_of_item = |i: usize| all_owners[items[i].id as usize].map(str::to_string);
        let gn = draw_secret_groups(
            &mut d,
            &items,
            &groups,
            &ranks,
            &nss,
            None,
            &owner_of_item,
            "secrets",
            &est.owners,
        );
        // The owner clusters of groups double as team clusters: relabel with "team X".
        for (cid, c) in d.clusters.iter_mut() {
            if c.parent.is_none() {
                if let Some(rest) = cid.strip_prefix("cluster:secrets:owner:") {
                    c.label = match rest.strip_prefix("team=") {
                        Some(t) => vec![format!("team {t}")],
                        None => vec!["no team / unowned".into()],
                    };
                }
            }
        }
        let member = group::membership(&groups, items.len());
        let mut group_of_sid = vec![u32::MAX; n_secrets];
        for (i, it) in items.iter().enumerate() {
            group_of_sid[it.id as usize] = member[i];
        }
        // Edges: per pipeline (lvl1) or per team (lvl2).
        let sources: Vec<(String, Option<&str>, SecretSet)> = if lvl1 {
            est.per_pipeline()
                .into_iter()
                .enumerate()
                .map(|(i, s)| (src_of_pipe[i].clone(), est.pipelines[i].team.as_deref(), s))
                .collect()
        } else {
            keys.iter()
                .zip(&team_sets)
                .filter(|(k, _)| n_pipes(k) > 0)
                .map(|(k, s)| {
                    (
                        format!("pipelines:{}", okey(k.as_deref())),
                        k.as_deref(),
                        s.clone(),
                    )
                })
                .collect()
        };
        for (src, team, set) in sources {
            let mut per: BTreeMap<u32, (usize, usize, bool)> = BTreeMap::new();
            for sid in set.ids() {
                let g = group_of_sid[sid as usize];
                let e = per.entry(g).or_default();
                e.0 += 1;
                if set.writes(sid) {
                    e.1 += 1;
                }
                e.2 |= cross(&est.owners, all_owners[sid as usize], team);
            }
            for (g, (n, w, cr)) in per {
                let e = d.edge(
                    &src,
                    &gn.ids[g as usize],
                    if cr {
                        EdgeStyle::CrossTeam
                    } else {
                        EdgeStyle::Normal
                    },
                );
                e.weight = n;
                e.write = w > 0;
                e.label = vec![n.to_string()];
                e.tooltip = vec![format!("{n} secrets reached, {w} writable")];
            }
        }
        return d;
    }

    // Levels 3 to 5: teams as nodes, edges between them.
    let per_team_two = lvl3;
    let mut room = max_nodes.saturating_sub(legend);
    let mut all_keys: Vec<&Option<String>> = keys
        .iter()
        .filter(|k| n_pipes(k) > 0 || owned.contains_key(&k.as_deref()))
        .collect();
    // Importance: cross-team traffic in and out, then size, then name.
    let mut importance: BTreeMap<&Option<String>, usize> = BTreeMap::new();
    for ((from, to), (n, _)) in &flows {
        if from != to {
            *importance.entry(from).or_default() += n;
            *importance.entry(to).or_default() += n;
        }
    }
    all_keys.sort_by(|a, b| {
        importance
            .get(b)
            .unwrap_or(&0)
            .cmp(importance.get(a).unwrap_or(&0))
            .then(
                (n_pipes(b) + owned.get(&b.as_deref()).unwrap_or(&0))
                    .cmp(&(n_pipes(a) + owned.get(&a.as_deref()).unwrap_or(&0))),
            )
            .then(a.cmp(b))
    });
    let per_node = if per_team_two { 2 } else { 1 };
    let fits = all_keys.len() * per_node <= room;
    let kept: Vec<&Option<String>> = if fits {
        all_keys.clone()
    } else {
        // Room for kept teams, plus "other teams" nodes (one per namespace when they fit).
        room = room.saturating_sub(1);
        all_keys.iter().take(room).copied().collect()
    };
    let kept_set: BTreeSet<&Option<String>> = kept.iter().copied().collect();
    if per_team_two {
        d.notes
            .push("one node for each team's pipelines and one for its secrets".into());
    } else {
        d.notes
            .push("one node per team (pipelines and owned secrets together)".into());
    }
    if !fits {
        d.notes.push(format!(
            "{} of {} teams shown (those sharing the most secrets across teams); the others in one node",
            kept.len(),
            all_keys.len()
        ));
    }
    let team_label = |k: &Option<String>| match k {
        Some(t) => format!("team {t}"),
        None => "no team / unowned".to_string(),
    };
    // Node ids.
    let src_id = |k: &Option<String>| -> String {
        if !kept_set.contains(k) {
            return "more:teams".into();
        }
        let key = okey(k.as_deref());
        if per_team_two {
            format!("pipelines:{key}")
        } else {
            format!("team:{key}")
        }
    };
    let dst_id = |k: &Option<String>| -> String {
        if !kept_set.contains(k) {
            return "more:teams".into();
        }
        let key = okey(k.as_deref());
        if per_team_two {
            format!("secrets:{key}")
        } else {
            format!("team:{key}")
        }
    };
    for k in &kept {
        let ns = home(k);
        let nc = cluster_id(&["ns", &ns]);
        d.cluster(&nc, None, vec![format!("namespace {}", ns_name(&ns))]);
        let np = n_pipes(k);
        let no = owned.get(&k.as_deref()).copied().unwrap_or(0);
        let self_reach = flows
            .get(&((*k).clone(), (*k).clone()))
            .map(|x| x.0)
            .unwrap_or(0);
        if per_team_two {
            let tc = cluster_id(&["ns", &ns, "team", &okey(k.as_deref())]);
            let c = d.cluster(&tc, Some(&nc), vec![team_label(k)]);
            if let Some(t) = k {
                c.fill = Some(team_colour(t));
            }
            if np > 0 {
                let n = d.node(
                    src_id(k),
                    Kind::Pipelines,
                    vec![plural(np, "pipeline", "pipelines")],
                );
                n.cluster = Some(tc.clone());
            }
            if no > 0 {
                let n = d.node(
                    dst_id(k),
                    Kind::SecretGroup,
                    vec!["owned secrets".into(), no.to_string()],
                );
                n.cluster = Some(tc.clone());
                n.tone = if k.is_some() {
                    Tone::Own
                } else {
                    Tone::Unowned
                };
            }
        } else {
            let n = d.node(
                src_id(k),
                Kind::Team,
                vec![
                    team_label(k),
                    format!("{}, {} owned", plural(np, "pipeline", "pipelines"), no),
                    format!("reaches {self_reach} of its own"),
                ],
            );
            n.cluster = Some(nc.clone());
            if let Some(t) = k {
                n.fill = Some(team_colour(t));
            }
        }
    }
    if !fits {
        let others: Vec<&&Option<String>> = all_keys
            .iter()
            .filter(|k| !kept_set.contains(**k))
            .collect();
        let np: usize = others.iter().map(|k| n_pipes(k)).sum();
        let no: usize = others
            .iter()
            .map(|k| owned.get(&k.as_deref()).copied().unwrap_or(0))
            .sum();
        let n = d.node(
            "more:teams".to_string(),
            Kind::More,
            vec![
                plural(others.len(), "more team", "more teams"),
                format!(
                    "{}, {no} owned secrets",
                    plural(np, "pipeline", "pipelines")
                ),
            ],
        );
        n.tooltip = vec![format!(
            "left out to stay under --max-nodes: {}",
            others
                .iter()
                .take(50)
                .map(|k| team_label(k))
                .collect::<Vec<_>>()
                .join(", ")
        )];
    }
    for ((from, to), (n, w)) in &flows {
        let (a, b) = (src_id(from), dst_id(to));
        if a == b {
            continue; // a team's reach into its own secrets is in its label
        }
        let style = if from.is_some() && to.is_some() && from != to {
            EdgeStyle::CrossTeam
        } else {
            EdgeStyle::Normal
        };
        let e = d.edge(&a, &b, style);
        e.weight += n;
        e.write |= *w > 0;
        let wsum: usize = *w;
        e.label = vec![e.weight.to_string()];
        e.tooltip.push(format!(
            "{} → {}: {n} secrets ({wsum} writable)",
            team_label(from),
            team_label(to)
        ));
    }
    d
}

/// The teams view focused on one team.
fn teams_focus(
    est: &EstateReach<'_, '_>,
    d: &mut Diagram,
    focus: &Option<String>,
    keys: &[Option<String>],
    team_sets: &[SecretSet],
    flows: &Flows,
    max_nodes: usize,
) -> Diagram {
    let analysis = est.analysis;
    let idx = &analysis.secrets;
    let fname = focus.as_deref().unwrap_or("");
    let my_pipes: Vec<usize> = est
        .pipelines
        .iter()
        .enumerate()
        .filter(|(_, p)| p.team.as_deref() == Some(fname))
        .map(|(i, _)| i)
        .collect();
    let my_secrets: Vec<u32> = (0..idx.len() as u32)
        .filter(|&s| est.owner(s) == Some(fname))
        .collect();
    // Other teams touching the focus, by traffic.
    let mut others: BTreeMap<Option<String>, usize> = BTreeMap::new();
    for ((from, to), (n, _)) in flows {
        if from == focus && to != focus {
            *others.entry(to.clone()).or_default() += n;
        }
        if to == focus && from != focus {
            *others.entry(from.clone()).or_default() += n;
        }
    }
    let mut ranked: Vec<(Option<String>, usize)> = others.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let legend = 1;
    let other_room = (max_nodes / 3).max(1);
    let kept_others: Vec<Option<String>> = if ranked.len() <= other_room {
        ranked.iter().map(|(k, _)| k.clone()).collect()
    } else {
        ranked
            .iter()
            .take(other_room - 1)
            .map(|(k, _)| k.clone())
            .collect()
    };
    let dropped = ranked.len() - kept_others.len();
    let other_nodes = kept_others.len() + usize::from(dropped > 0);
    let per_pipeline = my_pipes.len() + other_nodes + legend < max_nodes;
    let fc = cluster_id(&["team", fname]);
    d.cluster(&fc, None, vec![format!("team {fname}")]).fill = Some(team_colour(fname));
    let mut pipe_src: Vec<String> = Vec::new();
    for &i in &my_pipes {
        let p = &est.pipelines[i];
        let nc = cluster_id(&["team", fname, "ns", &p.namespace]);
        d.cluster(
            &nc,
            Some(&fc),
            vec![format!("namespace {}", ns_name(&p.namespace))],
        );
        let id = if per_pipeline {
            let id = format!("pipeline:{}", p.name);
            d.node(
                id.clone(),
                Kind::Pipeline,
                vec!["pipeline".into(), p.name.clone()],
            )
            .cluster = Some(nc);
            id
        } else {
            let id = format!("pipelines:{fname}");
            d.node(
                id.clone(),
                Kind::Pipelines,
                vec![plural(my_pipes.len(), "pipeline", "pipelines")],
            )
            .cluster = Some(fc.clone());
            id
        };
        pipe_src.push(id);
    }
    // Other teams as one node each.
    let other_id = |k: &Option<String>| -> String {
        if kept_others.contains(k) {
            format!("team:{}", okey(k.as_deref()))
        } else {
            "more:teams".into()
        }
    };
    for k in &kept_others {
        let n = d.node(
            other_id(k),
            Kind::Team,
            vec![match k {
                Some(t) => format!("team {t}"),
                None => "no team / unowned".into(),
            }],
        );
        if let Some(t) = k {
            n.fill = Some(team_colour(t));
        }
    }
    if dropped > 0 {
        d.node(
            "more:teams".to_string(),
            Kind::More,
            vec![plural(dropped, "more team", "more teams")],
        );
    }
    // The focus team's secrets, grouped.
    let nss = sorted_distinct(my_secrets.iter().map(|&s| idx.get(s).namespace.clone()));
    let ranks = OwnerRanks::new(std::iter::once(Some(fname)), Some(fname));
    let mut items: Vec<Item> = my_secrets
        .iter()
        .map(|&sid| {
            let s = idx.get(sid);
            Item {
                head: [0, key_of(&nss, &s.namespace)],
                path: &s.path,
                id: sid,
            }
        })
        .collect();
    items.sort();
    let budget = max_nodes.saturating_sub(d.nodes.len() + legend).max(1);
    let groups = group::group(&items, budget, 2);
    let owner_of_item = |_: usize| Some(fname.to_string());
    let gn = draw_secret_groups(
        d,
        &items,
        &groups,
        &ranks,
        &nss,
        Some(fname),
        &owner_of_item,
        "focus",
        &est.owners,
    );
    // Put the focus team's secret clusters inside the team cluster.
    for (cid, c) in d.clusters.iter_mut() {
        if cid.starts_with("cluster:focus:owner:") && c.parent.is_none() {
            c.parent = Some(fc.clone());
            c.label = vec!["owned secrets".into()];
        }
    }
    let member = group::membership(&groups, items.len());
    let mut group_of_sid: BTreeMap<u32, u32> = BTreeMap::new();
    for (i, it) in items.iter().enumerate() {
        group_of_sid.insert(it.id, member[i]);
    }
    // Edges from the focus team's pipelines.
    let sets: Vec<SecretSet> = if per_pipeline {
        my_pipes
            .iter()
            .map(|&i| est.reach_of(std::iter::once(&est.pipelines[i])))
            .collect()
    } else {
        vec![est.reach_of(my_pipes.iter().map(|&i| &est.pipelines[i]))]
    };
    for (si, set) in sets.iter().enumerate() {
        let src = if per_pipeline {
            pipe_src[si].clone()
        } else {
            format!("pipelines:{fname}")
        };
        let mut per: BTreeMap<String, (usize, usize, bool)> = BTreeMap::new();
        for sid in set.ids() {
            let o = est.owner(sid);
            let (to, cr) = if o == Some(fname) {
                (gn.ids[group_of_sid[&sid] as usize].clone(), false)
            } else {
                let cross_team = cross(&est.owners, o, Some(fname));
                (other_id(&o.map(str::to_string)), cross_team)
            };
            let e = per.entry(to).or_default();
            e.0 += 1;
            if set.writes(sid) {
                e.1 += 1;
            }
            e.2 |= cr;
        }
        for (to, (n, w, cr)) in per {
            let e = d.edge(
                &src,
                &to,
                if cr {
                    EdgeStyle::CrossTeam
                } else {
                    EdgeStyle::Normal
                },
            );
            e.weight += n;
            e.write |= w > 0;
            e.label = vec![e.weight.to_string()];
        }
    }
    // Edges from other teams into the focus team's secrets.
    for (k, set) in keys.iter().zip(team_sets) {
        if k == focus {
            continue;
        }
        let mut per: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for sid in set.ids() {
            if est.owner(sid) == Some(fname) {
                let e = per
                    .entry(gn.ids[group_of_sid[&sid] as usize].clone())
                    .or_default();
                e.0 += 1;
                if set.writes(sid) {
                    e.1 += 1;
                }
            }
        }
        for (to, (n, w)) in per {
            let e = d.edge(
                &other_id(k),
                &to,
                if k.is_some() {
                    EdgeStyle::CrossTeam
                } else {
                    EdgeStyle::Normal
                },
            );
            e.weight += n;
            e.write |= w > 0;
            e.label = vec![e.weight.to_string()];
        }
    }
    if !per_pipeline {
        d.notes
            .push("the team's pipelines folded into one node".into());
    }
    if dropped > 0 {
        d.notes.push(format!(
            "{} of {} other teams shown",
            kept_others.len(),
            ranked.len()
        ));
    }
    std::mem::take(d)
}

// ------------------------------------------------------------------------------------------------
// overview

/// The whole estate by namespace, mount and path prefix, with each team's reach into it.
pub fn overview_view(est: &EstateReach<'_, '_>, max_nodes: usize) -> Diagram {
    let max_nodes = max_nodes.max(MIN_NODES);
    let analysis = est.analysis;
    let idx = &analysis.secrets;
    let n = idx.len();
    let mut d = Diagram::new(vec![
        "estate overview: secrets by namespace, mount and prefix; teams' reach".to_string(),
        format!(
            "{}, {} in {}, {}",
            plural(analysis.inventory.teams.len(), "team", "teams"),
            plural(n, "secret", "secrets"),
            plural(
                analysis.snapshot.namespaces.len(),
                "namespace",
                "namespaces"
            ),
            plural(est.pipelines.len(), "pipeline", "pipelines")
        ),
    ]);
    // Teams with pipelines, by reach.
    let mut team_keys: BTreeSet<Option<String>> = BTreeSet::new();
    for p in &est.pipelines {
        team_keys.insert(p.team.clone());
    }
    use rayon::prelude::*;
    let team_keys: Vec<Option<String>> = team_keys.into_iter().collect();
    let sets: Vec<SecretSet> = team_keys
        .par_iter()
        .map(|k| est.reach_of(est.pipelines.iter().filter(|p| &p.team == k)))
        .collect();
    let legend = 1;
    let team_room = ((max_nodes - legend) / 3).max(1);
    let mut order: Vec<usize> = (0..team_keys.len()).collect();
    let sizes: Vec<usize> = sets.iter().map(|s| s.len()).collect();
    order.sort_by(|&a, &b| {
        sizes[b]
            .cmp(&sizes[a])
            .then(team_keys[a].cmp(&team_keys[b]))
    });
    let kept: BTreeSet<usize> = if order.len() <= team_room {
        order.iter().copied().collect()
    } else {
        order.iter().take(team_room - 1).copied().collect()
    };
    let dropped = team_keys.len() - kept.len();
    let tc = cluster_id(&["teams"]);
    d.cluster(&tc, None, vec!["teams (their pipelines)".into()]);
    let team_node = |i: usize| -> String {
        if kept.contains(&i) {
            format!("team:{}", okey(team_keys[i].as_deref()))
        } else {
            "more:teams".into()
        }
    };
    for &i in &kept {
        let k = &team_keys[i];
        let np = est.pipelines.iter().filter(|p| &p.team == k).count();
        let node = d.node(
            team_node(i),
            Kind::Team,
            vec![
                k.as_deref()
                    .map(|t| format!("team {t}"))
                    .unwrap_or_else(|| "no team".into()),
                format!(
                    "{}, reach {}",
                    plural(np, "pipeline", "pipelines"),
                    sizes[i]
                ),
            ],
        );
        node.cluster = Some(tc.clone());
        if let Some(t) = k {
            node.fill = Some(team_colour(t));
        }
    }
    if dropped > 0 {
        d.node(
            "more:teams".to_string(),
            Kind::More,
            vec![plural(dropped, "more team", "more teams")],
        )
        .cluster = Some(tc.clone());
        d.notes.push(format!(
            "{} of {} teams shown (largest reach first)",
            kept.len(),
            team_keys.len()
        ));
    }
    // Secrets keyed [namespace, mount].
    let nss = sorted_distinct(idx.secrets.iter().map(|s| s.namespace.clone()));
    let mounts = sorted_distinct(idx.secrets.iter().map(|s| s.mount.clone()));
    let mut items: Vec<Item> = idx
        .secrets
        .iter()
        .enumerate()
        .map(|(i, s)| Item {
            head: [key_of(&nss, &s.namespace), key_of(&mounts, &s.mount)],
            path: &s.path,
            id: i as u32,
        })
        .collect();
    items.sort();
    let mount_clusters: BTreeSet<[u32; 2]> = items.iter().map(|i| i.head).collect();
    let budget = max_nodes
        .saturating_sub(d.nodes.len() + legend)
        .min(readable_groups(mount_clusters.len()))
        .max(1);
    let groups = group::group(&items, budget, 2);
    if groups.len() < items.len() {
        d.notes.push(format!(
            "{} shown as {} groups by prefix",
            plural(n, "secret", "secrets"),
            groups.len()
        ));
    }
    let member = group::membership(&groups, items.len());
    let mut group_of_sid = vec![u32::MAX; n];
    for (i, it) in items.iter().enumerate() {
        group_of_sid[it.id as usize] = member[i];
    }
    let mut ids = Vec::with_capacity(groups.len());
    for g in &groups {
        let first = &items[g.first()];
        let ns = &nss[first.head[0] as usize];
        let mount = &mounts[first.head[1] as usize];
        let nc = cluster_id(&["ns", ns]);
        let mc = cluster_id(&["ns", ns, "mount", mount]);
        if g.depth >= 1 {
            d.cluster(&nc, None, vec![format!("namespace {}", ns_name(ns))]);
        }
        if g.depth >= 2 {
            let mtype = analysis
                .index
                .namespace(ns)
                .and_then(|n| n.secret_mounts.iter().find(|m| &m.path == mount))
                .map(|m| m.mount_type.clone())
                .unwrap_or_default();
            d.cluster(&mc, Some(&nc), vec![format!("mount {mount} ({mtype})")]);
        }
        // Owners of the group.
        let mut owners: BTreeMap<Option<&str>, usize> = BTreeMap::new();
        for i in g.indices() {
            *owners.entry(est.owner(items[i].id)).or_default() += 1;
        }
        let owner_line = if owners.len() == 1 {
            match owners.keys().next().unwrap() {
                Some(o) => format!("owner: {o}"),
                None => "owner: none".into(),
            }
        } else {
            format!("{} owners", owners.len())
        };
        let p = group::prefix(&items, g);
        let (id, kind, mut label) = if g.leaf && g.count == 1 {
            (
                format!("secret:{ns}{}", first.path),
                Kind::Secret,
                vec![shorten(&format!("{ns}{}", first.path), LABEL_MAX)],
            )
        } else if g.rest {
            let parent = if g.depth > 3 {
                &first.path[..group::seg_end(first.path, g.depth - 3)]
            } else {
                ""
            };
            (
                format!("rest:{ns}:{mount}:{}:{parent}", g.depth),
                Kind::More,
                vec![
                    format!("{ns}{parent}… {} more", g.lumped),
                    plural(g.count, "secret", "secrets"),
                ],
            )
        } else if g.depth <= 2 {
            let what = match g.depth {
                0 => "all secrets".to_string(),
                1 => format!("namespace {}", ns_name(ns)),
                _ => format!("{ns}{mount}"),
            };
            (
                format!("group:{ns}:{mount}:*:{}", g.depth),
                Kind::SecretGroup,
                vec![what, plural(g.count, "secret", "secrets")],
            )
        } else {
            (
                format!("group:{ns}{p}"),
                Kind::SecretGroup,
                vec![
                    shorten(&format!("{ns}{p}"), LABEL_MAX),
                    plural(g.count, "secret", "secrets"),
                ],
            )
        };
        label.push(owner_line.clone());
        let node = d.node(id.clone(), kind, label.clone());
        node.tooltip = {
            let mut t = label;
            t.push(
                owners
                    .iter()
                    .map(|(o, c)| format!("{}: {c}", o.unwrap_or("no team")))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            t
        };
        node.tone = if owners.len() == 1 && owners.contains_key(&None) {
            Tone::Unowned
        } else {
            Tone::Neutral
        };
        if owners.len() == 1 {
            if let Some(Some(o)) = owners.keys().next() {
                node.fill = Some(team_colour(o));
            }
        }
        node.cluster = match g.depth {
            0 => None,
            1 => Some(nc),
            _ => Some(mc),
        };
        ids.push(id);
    }
    // Edges team → group.
    for (i, set) in sets.iter().enumerate() {
        let k = team_keys[i].as_deref();
        let mut per: BTreeMap<u32, (usize, usize, usize)> = BTreeMap::new();
        for sid in set.ids() {
            let e = per.entry(group_of_sid[sid as usize]).or_default();
            e.0 += 1;
            if set.writes(sid) {
                e.1 += 1;
            }
            if cross(&est.owners, est.owner(sid), k) {
                e.2 += 1;
            }
        }
        let src = team_node(i);
        for (g, (n, w, cr)) in per {
            let e = d.edge(
                &src,
                &ids[g as usize],
                if cr > 0 {
                    EdgeStyle::CrossTeam
                } else {
                    EdgeStyle::Normal
                },
            );
            e.weight += n;
            e.write |= w > 0;
            e.label = vec![e.weight.to_string()];
            e.tooltip.push(format!(
                "{}: {n} secrets, {w} writable, {cr} owned by other teams",
                k.map(|t| format!("team {t}"))
                    .unwrap_or_else(|| "no team".into())
            ));
        }
    }
    d
}
