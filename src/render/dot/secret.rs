//! The secret view (who can reach one secret): pipelines (in team clusters) → roles → policies →
//! rules → the secret; red where a pipeline of another team reaches it.

use std::collections::{BTreeMap, BTreeSet};

use crate::acl::Caps;
use crate::inventory::ConsumerKind;
use crate::login::Verdict;
use crate::ownership::{shared_label, Owners, OwnershipRules};
use crate::passes::identity::PolicyOrigin;
use crate::passes::reach::{Analysis, Via};
use crate::passes::who_can::{Subject, WhoCan};
use crate::text::shorten;

use super::super::diagram::{
    cluster_id, pipeline_kind, team_colour, Diagram, EdgeStyle, Kind, Tone,
};
use super::super::estate::WRITE;
use super::{
    caps_label, draw_identity_node, draw_policy_node, draw_rule_node, okey, plural, role_id,
    IdentityRef, RuleNode, LABEL_MAX, MIN_NODES,
};

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

/// Who owns the secret, as the view labels it.
struct SecretOwner {
    teams: Vec<String>,
    /// The shared label of the owning teams, if any.
    label: Option<String>,
    /// "owned by team x", "owned by teams x, y (shared)" or empty.
    owned_by: String,
}

impl SecretOwner {
    fn of(analysis: &Analysis<'_>, owners: &Owners, full: &str) -> Self {
        let teams = owner_of_path(analysis, owners, full);
        let names: Vec<&str> = teams.iter().map(String::as_str).collect();
        let label = (!names.is_empty()).then(|| shared_label(&names));
        let owned_by = match names.len() {
            0 => String::new(),
            1 => format!("owned by team {}", names[0]),
            _ => format!("owned by teams {} (shared)", names.join(", ")),
        };
        SecretOwner {
            teams,
            label,
            owned_by,
        }
    }

    fn includes(&self, team: &str) -> bool {
        self.teams.iter().any(|t| t == team)
    }
}

/// What the view draws one node each for, at its most detailed.
#[derive(Default)]
struct SubjectCounts {
    teams: usize,
    pipelines: usize,
    roles: usize,
    mounts: usize,
    policies: usize,
    rules: usize,
    identities: usize,
}

impl SubjectCounts {
    fn of(who: &WhoCan) -> Self {
        let teams: BTreeSet<Option<&str>> =
            who.subjects.iter().map(|s| s.team.as_deref()).collect();
        let pipelines: BTreeSet<&str> = who.subjects.iter().map(|s| s.pipeline.as_str()).collect();
        let roles: BTreeSet<(&str, &str, &str)> = who
            .subjects
            .iter()
            .map(|s| (s.namespace.as_str(), s.mount.as_str(), s.role.as_str()))
            .collect();
        let mounts: BTreeSet<(&str, &str)> = roles.iter().map(|(n, m, _)| (*n, *m)).collect();
        let mut policies: BTreeSet<String> = BTreeSet::new();
        let mut rules: BTreeSet<String> = BTreeSet::new();
        let mut identities: BTreeSet<String> = BTreeSet::new();
        for grant in who.subjects.iter().flat_map(|s| s.via.iter()) {
            policies.insert(policy_id(grant));
            rules.insert(rule_id(grant));
            if let Some(identity) = identity_of(grant) {
                identities.insert(identity.id);
            }
        }
        SubjectCounts {
            teams: teams.len(),
            pipelines: pipelines.len(),
            roles: roles.len(),
            mounts: mounts.len(),
            policies: policies.len(),
            rules: rules.len(),
            identities: identities.len(),
        }
    }

    fn nodes(&self, fold: Fold) -> usize {
        let fixed = 2; // secret, legend
        fixed
            + if fold.per_pipeline {
                self.pipelines
            } else {
                self.teams
            }
            + if fold.per_role {
                self.roles
            } else {
                self.mounts
            }
            + if fold.with_policies {
                self.policies + self.identities
            } else {
                0
            }
            + if fold.with_rules { self.rules } else { 0 }
    }
}

/// How much the view shows one node each for.
#[derive(Debug, Clone, Copy)]
struct Fold {
    per_pipeline: bool,
    per_role: bool,
    with_policies: bool,
    with_rules: bool,
}

impl Fold {
    const fn new(
        per_pipeline: bool,
        per_role: bool,
        with_policies: bool,
        with_rules: bool,
    ) -> Self {
        Fold {
            per_pipeline,
            per_role,
            with_policies,
            with_rules,
        }
    }

    /// From the most detailed to the most folded.
    const STEPS: [Fold; 6] = [
        Fold::new(true, true, true, true),
        Fold::new(true, true, true, false),
        Fold::new(false, true, true, true),
        Fold::new(false, true, true, false),
        Fold::new(false, false, true, false),
        Fold::new(false, false, false, false),
    ];

    fn notes(self) -> Vec<String> {
        let mut notes = Vec::new();
        if !self.per_pipeline {
            notes.push("pipelines folded into their teams to stay under --max-nodes".into());
        }
        if !self.per_role {
            notes.push("roles folded into their auth mounts".into());
        }
        if !self.with_rules {
            notes.push("rules folded into their policies".into());
        }
        if !self.with_policies {
            notes.push("policies folded into the roles".into());
        }
        notes
    }
}

/// The teams drawn (largest first, when even the most folded view is over budget); the others
/// share one node.
struct KeptTeams<'w> {
    pipelines_per_team: BTreeMap<Option<&'w str>, usize>,
    kept: BTreeSet<Option<&'w str>>,
    dropped: usize,
}

impl<'w> KeptTeams<'w> {
    fn choose(who: &'w WhoCan, room: usize) -> Self {
        let pipelines: BTreeSet<&str> = who.subjects.iter().map(|s| s.pipeline.as_str()).collect();
        let mut pipelines_per_team: BTreeMap<Option<&str>, usize> = BTreeMap::new();
        for pipeline in &pipelines {
            let team = who
                .subjects
                .iter()
                .find(|s| s.pipeline == *pipeline)
                .and_then(|s| s.team.as_deref());
            *pipelines_per_team.entry(team).or_default() += 1;
        }
        let mut ranked: Vec<(Option<&str>, usize)> =
            pipelines_per_team.iter().map(|(t, n)| (*t, *n)).collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let kept: BTreeSet<Option<&str>> = ranked.iter().take(room).map(|(t, _)| *t).collect();
        KeptTeams {
            dropped: ranked.len() - kept.len(),
            pipelines_per_team,
            kept,
        }
    }
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
    let owner = SecretOwner::of(analysis, owners, &full);
    let mut diagram = Diagram::new(title(who, &owner, &full));
    let secret = format!("secret:{full}");
    draw_secret_node(&mut diagram, &owner, &secret, &full);

    let counts = SubjectCounts::of(who);
    let fold = Fold::STEPS
        .iter()
        .copied()
        .find(|fold| counts.nodes(*fold) <= max_nodes)
        .unwrap_or(Fold::new(false, false, false, false));
    diagram.notes.extend(fold.notes());
    // Teams beyond the budget in the last resort.
    let team_room = if counts.nodes(fold) > max_nodes {
        max_nodes.saturating_sub(2 + counts.mounts + 1).max(1)
    } else {
        usize::MAX
    };
    let teams = KeptTeams::choose(who, team_room);
    let consumers = analysis
        .inventory
        .pipelines
        .iter()
        .filter_map(|p| Some((p.name.as_str(), p.ci.as_ref()?.consumer?)))
        .collect();
    let view = SubjectDrawing {
        who,
        owner: &owner,
        fold,
        teams: &teams,
        secret: &secret,
        consumers,
    };
    let mut caps_into_secret: BTreeMap<(String, String), Caps> = BTreeMap::new();
    for subject in &who.subjects {
        view.draw_subject(&mut diagram, subject, &mut caps_into_secret);
    }
    for ((from, to), caps) in caps_into_secret {
        let edge = diagram.edge(&from, &to, EdgeStyle::Normal);
        edge.label = vec![caps_label(caps)];
        edge.write = caps.intersects(WRITE);
    }
    if who.subjects.is_empty() {
        diagram
            .notes
            .push("no pipeline of the inventory can reach this path".into());
    }
    diagram
}

fn title(who: &WhoCan, owner: &SecretOwner, full: &str) -> Vec<String> {
    let pipelines: BTreeSet<&str> = who.subjects.iter().map(|s| s.pipeline.as_str()).collect();
    vec![
        format!("who can reach {full}"),
        format!(
            "{}, {} subjects (pipeline and role){}",
            plural(pipelines.len(), "pipeline", "pipelines"),
            who.subjects.len(),
            match owner.label {
                Some(_) => format!(", {}", owner.owned_by),
                None => ", owned by no team".into(),
            }
        ),
    ]
}

fn draw_secret_node(d: &mut Diagram, owner: &SecretOwner, id: &str, full: &str) {
    let cluster = owner.label.as_ref().map(|label| {
        let cluster = cluster_id(&["owner", label]);
        d.cluster(&cluster, None, vec![owner.owned_by.clone()]).fill = Some(team_colour(label));
        cluster
    });
    let node = d.node(id.to_string(), Kind::Secret, vec![shorten(full, LABEL_MAX)]);
    node.tooltip = vec![full.to_string()];
    node.emphasis = true;
    node.tone = match &owner.label {
        Some(_) => Tone::Own,
        None => Tone::Unowned,
    };
    node.cluster = cluster;
}

fn policy_id(grant: &Via) -> String {
    format!("{}{}", grant.policy_namespace, grant.policy)
}

fn rule_id(grant: &Via) -> String {
    format!(
        "{}{}:{}:{}",
        grant.policy_namespace, grant.policy, grant.line, grant.rule
    )
}

/// The entity or group node a grant's policy comes through, if any.
struct IdentityOf<'g> {
    id: String,
    kind: Kind,
    name: &'g str,
}

fn identity_of(grant: &Via) -> Option<IdentityOf<'_>> {
    match &grant.origin {
        PolicyOrigin::Role => None,
        PolicyOrigin::Entity { id, name } => Some(IdentityOf {
            id: format!("entity:{id}"),
            kind: Kind::Entity,
            name,
        }),
        PolicyOrigin::Group { id, name } => Some(IdentityOf {
            id: format!("group:{id}"),
            kind: Kind::Group,
            name,
        }),
    }
}

/// Draws each subject (pipeline and role) and the chain from it to the secret.
struct SubjectDrawing<'v> {
    who: &'v WhoCan,
    owner: &'v SecretOwner,
    fold: Fold,
    teams: &'v KeptTeams<'v>,
    secret: &'v str,
    /// The pipelines that are Kubernetes consumers, drawn as such.
    consumers: BTreeMap<&'v str, ConsumerKind>,
}

impl SubjectDrawing<'_> {
    fn draw_subject(
        &self,
        d: &mut Diagram,
        subject: &Subject,
        caps_into_secret: &mut BTreeMap<(String, String), Caps>,
    ) {
        let caps = subject
            .capabilities
            .iter()
            .filter_map(|c| Caps::from_name(c))
            .fold(Caps::NONE, |a, b| a | b);
        let source = self.source_node(d, subject);
        let role = self.role_node(d, subject);
        self.draw_login(d, subject, &source, &role);
        if subject.via.is_empty() {
            let edge = d.edge(&role, self.secret, EdgeStyle::Normal);
            edge.label = vec![caps_label(caps)];
            edge.write = caps.intersects(WRITE);
            return;
        }
        for grant in subject.via.iter() {
            let last = if self.fold.with_policies {
                self.draw_grant(d, &role, grant)
            } else {
                role.clone()
            };
            *caps_into_secret
                .entry((last, self.secret.to_string()))
                .or_insert(Caps::NONE) |= caps;
        }
    }

    /// The pipeline node, its team's pipelines node, or the "more teams" node.
    fn source_node(&self, d: &mut Diagram, subject: &Subject) -> String {
        let team = subject.team.as_deref();
        if !self.teams.kept.contains(&team) {
            let id = "more:teams".to_string();
            d.node(
                id.clone(),
                Kind::More,
                vec![plural(self.teams.dropped, "more team", "more teams")],
            );
            return id;
        }
        if self.fold.per_pipeline {
            let id = format!("pipeline:{}", subject.pipeline);
            let consumer = self.consumers.get(subject.pipeline.as_str()).copied();
            let (kind, what) = pipeline_kind(consumer);
            let node = d.node(id.clone(), kind, vec![what, subject.pipeline.clone()]);
            if let Some(t) = team {
                let cluster = cluster_id(&["team", t]);
                node.cluster = Some(cluster.clone());
                d.cluster(&cluster, None, vec![format!("team {t}")]).fill = Some(team_colour(t));
            }
            return id;
        }
        let id = format!("pipelines:{}", okey(team));
        let count = self
            .teams
            .pipelines_per_team
            .get(&team)
            .copied()
            .unwrap_or(0);
        let node = d.node(
            id.clone(),
            Kind::Pipelines,
            vec![
                team.map(|t| format!("team {t}"))
                    .unwrap_or_else(|| "no team".into()),
                plural(count, "pipeline", "pipelines"),
            ],
        );
        if let Some(t) = team {
            node.fill = Some(team_colour(t));
        }
        id
    }

    /// The role node, or its auth mount's node when roles are folded.
    fn role_node(&self, d: &mut Diagram, subject: &Subject) -> String {
        if self.fold.per_role {
            let id = role_id(&subject.namespace, &subject.mount, &subject.role);
            let full = format!(
                "{}auth/{}/role/{}",
                subject.namespace, subject.mount, subject.role
            );
            let short = shorten(&full, LABEL_MAX);
            d.node(id.clone(), Kind::Role, vec![short]).tooltip = vec![full];
            return id;
        }
        let id = format!("mount:{}{}", subject.namespace, subject.mount);
        let roles: BTreeSet<&str> = self
            .who
            .subjects
            .iter()
            .filter(|s| s.namespace == subject.namespace && s.mount == subject.mount)
            .map(|s| s.role.as_str())
            .collect();
        d.node(
            id.clone(),
            Kind::Role,
            vec![
                format!("{}auth/{}", subject.namespace, subject.mount),
                plural(roles.len(), "role", "roles"),
            ],
        );
        id
    }

    fn draw_login(&self, d: &mut Diagram, subject: &Subject, source: &str, role: &str) {
        let team = subject.team.as_deref();
        let cross_team =
            matches!((&self.owner.label, team), (Some(_), Some(t)) if !self.owner.includes(t));
        let style = if cross_team {
            EdgeStyle::CrossTeam
        } else if subject.admission == Verdict::Unknown {
            EdgeStyle::Unknown
        } else {
            EdgeStyle::Normal
        };
        let edge = d.edge(source, role, style);
        edge.weight += 1;
        if self.fold.per_pipeline && self.teams.kept.contains(&team) {
            edge.label = vec![if subject.admission == Verdict::Unknown {
                "login?"
            } else {
                "login"
            }
            .into()];
            edge.weight = 1;
        } else {
            edge.label = vec![plural(edge.weight, "login", "logins")];
        }
    }

    /// The policy (through its entity or group) and, unless folded, the rule of one grant;
    /// returns the node the edge into the secret starts from.
    fn draw_grant(&self, d: &mut Diagram, role: &str, grant: &Via) -> String {
        let policy = format!("policy:{}", policy_id(grant));
        draw_policy_node(d, &policy, &grant.policy_namespace, &grant.policy);
        match identity_of(grant) {
            None => {
                d.edge(role, &policy, EdgeStyle::Normal).label = vec!["token policy".into()];
            }
            Some(identity) => {
                draw_identity_node(
                    d,
                    &IdentityRef {
                        id: &identity.id,
                        kind: identity.kind,
                        name: identity.name,
                    },
                );
                d.edge(role, &identity.id, EdgeStyle::Normal);
                d.edge(&identity.id, &policy, EdgeStyle::Normal).label =
                    vec!["identity policy".into()];
            }
        }
        if !self.fold.with_rules {
            return policy;
        }
        let rule = format!("rule:{}", rule_id(grant));
        draw_rule_node(d, &rule, &RuleNode::of(grant));
        d.edge(&policy, &rule, EdgeStyle::Normal);
        rule
    }
}
