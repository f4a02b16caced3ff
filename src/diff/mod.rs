//! What-if: the blast-radius delta between two estates (a base and a head snapshot, or one
//! snapshot with changes applied), per pipeline, with the chain behind every gain, as a CI gate.

pub mod change;
pub mod terraform;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::acl::Caps;
use crate::graph::owns_match;
use crate::inventory::Inventory;
use crate::model::Snapshot;
use crate::passes::reach::{Analysis, PipelineReach, ReachOptions, Via};

/// Access a pipeline gains on one path.
#[derive(Debug, Clone, Serialize)]
pub struct Gained {
    pub path: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// The capabilities gained on that API path.
    pub capabilities: Vec<&'static str>,
    /// The chain that grants them after the change.
    pub via: Vec<Via>,
    /// The teams owning the path, when the pipeline's team is not among them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cross_team: Vec<String>,
}

/// Access a pipeline loses on one path.
#[derive(Debug, Clone, Serialize)]
pub struct Lost {
    pub path: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// The capabilities lost on that API path.
    pub capabilities: Vec<&'static str>,
}

/// A role that newly admits (or no longer admits) a pipeline.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct RoleRef {
    pub namespace: String,
    pub mount: String,
    pub role: String,
}

/// The delta of one pipeline.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineDelta {
    pub name: String,
    pub team: Option<String>,
    pub gained: Vec<Gained>,
    pub lost: Vec<Lost>,
    pub roles_gained: Vec<RoleRef>,
    pub roles_lost: Vec<RoleRef>,
    /// Number of secrets reachable before and after.
    pub reach_before: usize,
    pub reach_after: usize,
}

impl PipelineDelta {
    fn is_empty(&self) -> bool {
        self.gained.is_empty()
            && self.lost.is_empty()
            && self.roles_gained.is_empty()
            && self.roles_lost.is_empty()
    }
}

/// New and resolved findings.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FindingsDelta {
    pub new: Vec<serde_json::Value>,
    pub resolved: Vec<serde_json::Value>,
}

/// The whole what-if.
#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    /// Pipelines whose reach or roles change (unchanged pipelines are omitted).
    pub pipelines: Vec<PipelineDelta>,
    pub findings: FindingsDelta,
    /// What the changes applied were, when given with --apply.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
    /// Changes that could not be modelled, and other unknowns.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknowns: Vec<String>,
}

impl DiffReport {
    pub fn new_access(&self) -> bool {
        self.pipelines.iter().any(|p| !p.gained.is_empty())
    }

    pub fn new_cross_team(&self) -> bool {
        self.pipelines
            .iter()
            .any(|p| p.gained.iter().any(|g| !g.cross_team.is_empty()))
    }
}

fn reach_of(snapshot: &Snapshot, inventory: Option<&Inventory>) -> Vec<PipelineReach> {
    let empty = Inventory::default();
    let inv = inventory.unwrap_or(&empty);
    let analysis = Analysis::new(snapshot, inv);
    if inventory.is_some() {
        analysis.reach(&ReachOptions::default())
    } else {
        analysis.role_reach()
    }
}

type Key = (String, String);

fn by_path(p: &PipelineReach) -> BTreeMap<Key, (Caps, &[Via])> {
    p.secrets
        .iter()
        .map(|s| ((s.namespace.clone(), s.path.clone()), (s.caps, &s.via[..])))
        .collect()
}

fn roles_of(p: &PipelineReach) -> BTreeSet<RoleRef> {
    p.roles
        .iter()
        .filter(|r| r.verdict != "refused")
        .map(|r| RoleRef {
            namespace: r.namespace.clone(),
            mount: r.mount.clone(),
            role: r.role.clone(),
        })
        .collect()
}

/// Compare the reach of every pipeline in `base` and `head`. Without an inventory every role is a
/// virtual pipeline (role-level what-if).
pub fn diff(base: &Snapshot, head: &Snapshot, inventory: Option<&Inventory>) -> DiffReport {
    let (before, after) = rayon::join(|| reach_of(base, inventory), || reach_of(head, inventory));
    let before_by: BTreeMap<&str, &PipelineReach> =
        before.iter().map(|p| (p.name.as_str(), p)).collect();
    let after_by: BTreeMap<&str, &PipelineReach> =
        after.iter().map(|p| (p.name.as_str(), p)).collect();
    let names: BTreeSet<&str> = before_by.keys().chain(after_by.keys()).copied().collect();
    let empty_reach = |name: &str| PipelineReach {
        name: name.to_string(),
        team: None,
        roles: Vec::new(),
        secrets: Vec::new(),
        unknowns: Vec::new(),
    };
    let mut pipelines = Vec::new();
    for name in names {
        let b_owned;
        let b = match before_by.get(name) {
            Some(b) => *b,
            None => {
                b_owned = empty_reach(name);
                &b_owned
            }
        };
        let a_owned;
        let a = match after_by.get(name) {
            Some(a) => *a,
            None => {
                a_owned = empty_reach(name);
                &a_owned
            }
        };
        let team = a.team.clone().or_else(|| b.team.clone());
        let bm = by_path(b);
        let am = by_path(a);
        let mut gained = Vec::new();
        let mut lost = Vec::new();
        for (k, (acaps, via)) in &am {
            let bcaps = bm.get(k).map(|x| x.0).unwrap_or(Caps::NONE);
            let g = Caps(acaps.0 & !bcaps.0);
            if !g.is_empty() {
                let full = format!("{}{}", k.0, k.1);
                let owners: Vec<String> = inventory
                    .map(|inv| {
                        inv.teams
                            .iter()
                            .filter(|t| t.owns.iter().any(|o| owns_match(o, &full)))
                            .map(|t| t.name.clone())
                            .collect()
                    })
                    .unwrap_or_default();
                let cross_team = match &team {
                    Some(t) if !owners.is_empty() && !owners.contains(t) => owners,
                    _ => Vec::new(),
                };
                gained.push(Gained {
                    path: k.1.clone(),
                    namespace: k.0.clone(),
                    capabilities: g.names(),
                    via: via.to_vec(),
                    cross_team,
                });
            }
        }
        for (k, (bcaps, _)) in &bm {
            let acaps = am.get(k).map(|x| x.0).unwrap_or(Caps::NONE);
            let l = Caps(bcaps.0 & !acaps.0);
            if !l.is_empty() {
                lost.push(Lost {
                    path: k.1.clone(),
                    namespace: k.0.clone(),
                    capabilities: l.names(),
                });
            }
        }
        let rb = roles_of(b);
        let ra = roles_of(a);
        let d = PipelineDelta {
            name: name.to_string(),
            team,
            gained,
            lost,
            roles_gained: ra.difference(&rb).cloned().collect(),
            roles_lost: rb.difference(&ra).cloned().collect(),
            reach_before: b.secrets.len(),
            reach_after: a.secrets.len(),
        };
        if !d.is_empty() {
            pipelines.push(d);
        }
    }
    DiffReport {
        pipelines,
        findings: FindingsDelta::default(),
        changes: Vec::new(),
        unknowns: Vec::new(),
    }
}

/// The report as Markdown, fit for a pull-request comment.
pub fn markdown(r: &DiffReport) -> String {
    let mut s = String::from("## blastmap what-if\n\n");
    if r.pipelines.is_empty() && r.findings.new.is_empty() && r.findings.resolved.is_empty() {
        s.push_str("No change to any pipeline's blast radius.\n");
    } else {
        let gained: usize = r.pipelines.iter().map(|p| p.gained.len()).sum();
        let lost: usize = r.pipelines.iter().map(|p| p.lost.len()).sum();
        s.push_str(&format!(
            "**{}** pipelines change: **{gained}** paths gain access, **{lost}** lose access; **{}** new findings, **{}** resolved.\n\n",
            r.pipelines.len(),
            r.findings.new.len(),
            r.findings.resolved.len()
        ));
        s.push_str("| pipeline | team | reach before | reach after | gained | lost | roles gained | roles lost |\n|---|---|---:|---:|---:|---:|---|---|\n");
        for p in &r.pipelines {
            let roles = |v: &[RoleRef]| {
                v.iter()
                    .map(|r| format!("`{}auth/{}/role/{}`", r.namespace, r.mount, r.role))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
                md(&p.name),
                md(p.team.as_deref().unwrap_or("")),
                p.reach_before,
                p.reach_after,
                p.gained.len(),
                p.lost.len(),
                roles(&p.roles_gained),
                roles(&p.roles_lost)
            ));
        }
        for p in r.pipelines.iter().filter(|p| !p.gained.is_empty()) {
            s.push_str(&format!(
                "\n### {} gains\n\n| path | capabilities | via | cross-team |\n|---|---|---|---|\n",
                md(&p.name)
            ));
            for g in &p.gained {
                let via: BTreeSet<String> = g
                    .via
                    .iter()
                    .map(|v| format!("`{}` → `{}` `{}`", v.role, v.policy, v.rule))
                    .collect();
                s.push_str(&format!(
                    "| `{}{}` | {} | {} | {} |\n",
                    md(&g.namespace),
                    md(&g.path),
                    g.capabilities.join(", "),
                    via.into_iter().collect::<Vec<_>>().join("<br>"),
                    if g.cross_team.is_empty() {
                        String::new()
                    } else {
                        format!("⚠ owned by {}", md(&g.cross_team.join(", ")))
                    }
                ));
            }
        }
        if !r.findings.new.is_empty() {
            s.push_str("\n### New findings\n\n");
            for f in &r.findings.new {
                s.push_str(&format!(
                    "- **{}** `{}`: {}\n",
                    md(f["severity"].as_str().unwrap_or("")),
                    md(f["rule"].as_str().unwrap_or("")),
                    md(f["message"].as_str().unwrap_or(""))
                ));
            }
        }
        if !r.findings.resolved.is_empty() {
            s.push_str("\n### Resolved findings\n\n");
            for f in &r.findings.resolved {
                s.push_str(&format!(
                    "- `{}`: {}\n",
                    md(f["rule"].as_str().unwrap_or("")),
                    md(f["message"].as_str().unwrap_or(""))
                ));
            }
        }
    }
    if !r.changes.is_empty() {
        s.push_str("\n<details><summary>Changes applied</summary>\n\n");
        for c in &r.changes {
            s.push_str(&format!("- {}\n", md(c)));
        }
        s.push_str("\n</details>\n");
    }
    if !r.unknowns.is_empty() {
        s.push_str("\n### Unknowns\n\n");
        for u in &r.unknowns {
            s.push_str(&format!("- {}\n", md(u)));
        }
    }
    s
}

/// Escape text for a Markdown table cell.
fn md(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\n', " ")
}
