//! What-if: the blast-radius delta between two estates (a base and a head snapshot, or one
//! snapshot with changes applied), per pipeline, with the chain behind every gain, and the
//! findings delta (`findings`), as a CI gate.
//!
//! Both sides are reviews: the head is derived from the base (`Review::derive`), so it takes over
//! whatever the change leaves equal.

pub(crate) mod change;
pub(crate) mod error;
pub(crate) mod findings;
pub(crate) mod terraform;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::acl::Caps;
use crate::inventory::Inventory;
use crate::model::Snapshot;
use crate::ownership::OwnershipRules;
use crate::passes::reach::{PipelineReach, PreparedReach, ReachOptions, SecretReach, Via};
use crate::review::Review;
use crate::rules::Severity;
use crate::text::{md_cell, md_code};
use error::DiffError;

type Result<T, E = DiffError> = std::result::Result<T, E>;
pub use findings::{ChangedFinding, FindingsDelta, Judge, JudgeConfig};

/// Access a pipeline gains on one path.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Lost {
    pub path: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// The capabilities lost on that API path.
    pub capabilities: Vec<&'static str>,
}

/// A role that newly admits (or no longer admits) a pipeline.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
pub struct RoleRef {
    pub namespace: String,
    pub mount: String,
    pub role: String,
}

/// The delta of one pipeline.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
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

/// The whole what-if.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct DiffReport {
    /// The version of this JSON shape (docs/schemas/README.md).
    pub schema_version: u32,
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

    /// Whether any of `gates` fails on this what-if.
    pub fn fails(&self, gates: &[Gate]) -> bool {
        gates.iter().any(|gate| match *gate {
            Gate::NewAccess => self.new_access(),
            Gate::NewCrossTeam => self.new_cross_team(),
            Gate::Severity(min) => self.findings.fails_at(min),
        })
    }
}

/// A CI gate of a what-if (`--fail-on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Any pipeline gains a capability on any path.
    NewAccess,
    /// A pipeline gains access to a path another team owns.
    NewCrossTeam,
    /// A new unsuppressed finding at or above the severity, or a known one that rose to it.
    Severity(Severity),
}

impl Gate {
    /// `new-access`, `new-cross-team`, or a severity's name, exactly as written.
    pub fn parse(text: &str) -> Result<Gate, error::UnknownGate> {
        match text {
            "new-access" => Ok(Gate::NewAccess),
            "new-cross-team" => Ok(Gate::NewCrossTeam),
            _ => Severity::ALL
                .into_iter()
                .find(|s| s.as_str() == text)
                .map(Gate::Severity)
                .ok_or_else(|| error::UnknownGate {
                    text: text.to_string(),
                }),
        }
    }
}

/// The two estates of a what-if, loaded.
#[derive(Debug)]
pub struct Sides {
    pub base: Snapshot,
    pub head: Snapshot,
    /// What the changes applied were (with [`HeadSource::Changes`]).
    pub changes: Vec<String>,
    /// Changes that could not be modelled.
    pub unknowns: Vec<String>,
}

/// Where a what-if's head comes from.
#[derive(Debug, Clone, Copy)]
pub enum HeadSource<'a> {
    /// A second snapshot.
    Snapshot(&'a Path),
    /// Changes applied to the base: policy files, change files, Terraform plans
    /// (`change::load_changes`), policy files in `namespace`.
    Changes {
        files: &'a [PathBuf],
        namespace: &'a str,
    },
}

impl Sides {
    /// Load the base snapshot and make the head.
    pub fn load(base: &Path, head: HeadSource<'_>) -> Result<Sides> {
        match head {
            HeadSource::Snapshot(h) => {
                let (base, head) = rayon::join(|| Snapshot::load(base), || Snapshot::load(h));
                Ok(Sides {
                    base: base?,
                    head: head?,
                    changes: Vec::new(),
                    unknowns: Vec::new(),
                })
            }
            HeadSource::Changes { files, namespace } => {
                let base = Snapshot::load(base)?;
                let mut all = Vec::new();
                let mut unknowns = Vec::new();
                for c in files {
                    let (cs, u) = change::load_changes(c, namespace)?;
                    all.extend(cs);
                    unknowns.extend(u);
                }
                let head = change::apply(&base, &all)?;
                Ok(Sides {
                    base,
                    head,
                    changes: all.iter().map(change::Change::describe).collect(),
                    unknowns,
                })
            }
        }
    }
}

/// The reach of one side: per pipeline, or per role without an inventory.
fn whole_reach(review: &Review<'_>) -> Vec<PipelineReach> {
    if review.inventory().is_some() {
        review.reach(&ReachOptions::default())
    } else {
        review.role_reach()
    }
}

/// Order of two reached secrets by full path (namespace + path), without building it.
fn cmp_full(x: &SecretReach, y: &SecretReach) -> std::cmp::Ordering {
    if x.namespace == y.namespace {
        return x.path.cmp(&y.path);
    }
    x.namespace
        .bytes()
        .chain(x.path.bytes())
        .cmp(y.namespace.bytes().chain(y.path.bytes()))
}

fn roles_of(p: &PipelineReach) -> BTreeSet<RoleRef> {
    p.roles
        .iter()
        .filter(|r| r.verdict != crate::login::Verdict::Refused)
        .map(|r| RoleRef {
            namespace: r.namespace.clone(),
            mount: r.mount.clone(),
            role: r.role.clone(),
        })
        .collect()
}

/// Pipelines assembled per chunk when both sides are streamed.
const CHUNK: usize = 256;

/// The reach delta of a what-if, without findings: `head` is a review derived from `base`
/// ([`Review::derive`]). Without an inventory every role is a virtual pipeline (role-level
/// what-if).
pub fn diff(base: &Review<'_>, head: &Review<'_>) -> DiffReport {
    DiffReport {
        schema_version: crate::schema::version::DIFF,
        pipelines: pipeline_deltas(base, head),
        findings: FindingsDelta::default(),
        changes: Vec::new(),
        unknowns: Vec::new(),
    }
}

/// The delta of every pipeline whose reach changes. With an inventory of uniquely named
/// pipelines both sides are compared pipeline by pipeline as they are assembled
/// (`streamed_deltas`); otherwise (role-level what-if, or duplicate pipeline names) both
/// sides are assembled whole and matched by name.
pub fn pipeline_deltas(base: &Review<'_>, head: &Review<'_>) -> Vec<PipelineDelta> {
    match base.inventory() {
        Some(inv) if unique_names(inv) => streamed_deltas(&base.prepared(), &head.prepared(), inv),
        inventory => {
            let (b, h) = rayon::join(|| whole_reach(base), || whole_reach(head));
            diff_whole(&b, &h, inventory)
        }
    }
}

/// Whether every pipeline of the inventory has its own name (then both sides of a what-if are
/// compared pipeline by pipeline as they are assembled, see [`streamed_deltas`]).
fn unique_names(inv: &Inventory) -> bool {
    let names: BTreeSet<&str> = inv.pipelines.iter().map(|p| p.name.as_str()).collect();
    names.len() == inv.pipelines.len()
}

/// The delta of every pipeline whose reach changes, from the prepared reach of both sides (the
/// same pipelines of the same inventory, with unique names), by name. A pipeline whose possible
/// logins and per-secret capabilities are the same on both sides has no delta (chains only
/// matter for what is gained): only the others are assembled, a chunk at a time (each side in
/// parallel), so neither side's whole reach is held.
fn streamed_deltas(
    bp: &PreparedReach<'_, '_>,
    hp: &PreparedReach<'_, '_>,
    inv: &Inventory,
) -> Vec<PipelineDelta> {
    let count = bp.len();
    let (bs, hs) = (&bp.analysis().secrets, &hp.analysis().secrets);
    let changed: Vec<usize> = if std::sync::Arc::ptr_eq(bs, hs) || bs.same_paths(hs) {
        (0..count)
            .into_par_iter()
            .filter(|&i| bp.summary(i) != hp.summary(i))
            .collect()
    } else {
        (0..count).collect()
    };
    let ownership = OwnershipRules::new(inv);
    let mut out = Vec::new();
    for chunk in changed.chunks(CHUNK) {
        let (before, after) = rayon::join(|| bp.assemble_at(chunk), || hp.assemble_at(chunk));
        let deltas: Vec<PipelineDelta> = before
            .par_iter()
            .zip(after.par_iter())
            .filter_map(|(b, a)| {
                let pipeline_delta = delta(&a.name, b, a, &ownership);
                (!pipeline_delta.is_empty()).then_some(pipeline_delta)
            })
            .collect();
        out.extend(deltas);
        // Freeing millions of strings is work too: in parallel.
        rayon::join(|| drop(before), || drop(after));
    }
    // By name, as the whole comparison orders them.
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Both sides whole, matched by name (role-level what-if, or duplicate pipeline names).
fn diff_whole(
    before: &[PipelineReach],
    after: &[PipelineReach],
    inventory: Option<&Inventory>,
) -> Vec<PipelineDelta> {
    let before_by: BTreeMap<&str, &PipelineReach> =
        before.iter().map(|p| (p.name.as_str(), p)).collect();
    let after_by: BTreeMap<&str, &PipelineReach> =
        after.iter().map(|p| (p.name.as_str(), p)).collect();
    let names: BTreeSet<&str> = before_by.keys().chain(after_by.keys()).copied().collect();
    let ownership = inventory.map(OwnershipRules::new).unwrap_or_default();
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
        let before = match before_by.get(name) {
            Some(b) => *b,
            None => {
                b_owned = empty_reach(name);
                &b_owned
            }
        };
        let a_owned;
        let after = match after_by.get(name) {
            Some(a) => *a,
            None => {
                a_owned = empty_reach(name);
                &a_owned
            }
        };
        let pipeline_delta = delta(name, before, after, &ownership);
        if !pipeline_delta.is_empty() {
            pipelines.push(pipeline_delta);
        }
    }
    pipelines
}

/// The delta of one pipeline from its reach before (`b`) and after (`a`).
fn delta(
    name: &str,
    b: &PipelineReach,
    a: &PipelineReach,
    ownership: &OwnershipRules,
) -> PipelineDelta {
    let team = a.team.clone().or_else(|| b.team.clone());
    // Both sides list their secrets in full-path order (namespace + path, the order of their
    // snapshot's index): a merge join, not a map lookup per secret.
    let mut gained = Vec::new();
    let mut lost = Vec::new();
    let mut gain = |s: &SecretReach, bcaps: Caps| {
        let gained_caps = Caps(s.caps.0 & !bcaps.0);
        if gained_caps.is_empty() {
            return;
        }
        // The owners by the one ownership rule: one team, or the tied teams of a shared
        // secret; a pipeline of any of them stays inside its team.
        let owners = ownership.owners_of(&format!("{}{}", s.namespace, s.path));
        let cross_team = match &team {
            Some(t) if !owners.is_empty() && !owners.contains(&t.as_str()) => {
                owners.into_iter().map(str::to_string).collect()
            }
            _ => Vec::new(),
        };
        gained.push(Gained {
            path: s.path.clone(),
            namespace: s.namespace.to_string(),
            capabilities: gained_caps.names(),
            via: s.via.to_vec(),
            cross_team,
        });
    };
    let mut lose = |s: &SecretReach, acaps: Caps| {
        let lost_caps = Caps(s.caps.0 & !acaps.0);
        if !lost_caps.is_empty() {
            lost.push(Lost {
                path: s.path.clone(),
                namespace: s.namespace.to_string(),
                capabilities: lost_caps.names(),
            });
        }
    };
    let (mut i, mut j) = (0, 0);
    while i < b.secrets.len() || j < a.secrets.len() {
        match (b.secrets.get(i), a.secrets.get(j)) {
            (Some(bs), Some(as_)) => match cmp_full(bs, as_) {
                std::cmp::Ordering::Less => {
                    lose(bs, Caps::NONE);
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    gain(as_, Caps::NONE);
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    if bs.namespace == as_.namespace {
                        gain(as_, bs.caps);
                        lose(bs, as_.caps);
                    } else {
                        // The same full path split differently: different secrets.
                        gain(as_, Caps::NONE);
                        lose(bs, Caps::NONE);
                    }
                    i += 1;
                    j += 1;
                }
            },
            (Some(bs), None) => {
                lose(bs, Caps::NONE);
                i += 1;
            }
            (None, Some(as_)) => {
                gain(as_, Caps::NONE);
                j += 1;
            }
            (None, None) => break,
        }
    }
    // By (namespace, path), as reported.
    gained.sort_by(|x, y| (&x.namespace, &x.path).cmp(&(&y.namespace, &y.path)));
    lost.sort_by(|x, y| (&x.namespace, &x.path).cmp(&(&y.namespace, &y.path)));
    let roles_before = roles_of(b);
    let roles_after = roles_of(a);
    PipelineDelta {
        name: name.to_string(),
        team,
        gained,
        lost,
        roles_gained: roles_after.difference(&roles_before).cloned().collect(),
        roles_lost: roles_before.difference(&roles_after).cloned().collect(),
        reach_before: b.secrets.len(),
        reach_after: a.secrets.len(),
    }
}

/// The report as Markdown, fit for a pull-request comment. Every name, path, message and change
/// is a code span ([`md_code`], [`md_cell`]): nothing from the estate or the change can become a
/// link, an image, HTML, a mention or an issue reference (`docs/security.md`).
pub fn markdown(r: &DiffReport) -> String {
    let mut text = String::from("## blastmap what-if\n\n");
    if r.pipelines.is_empty()
        && r.findings.new.is_empty()
        && r.findings.resolved.is_empty()
        && r.findings.changed.is_empty()
    {
        text.push_str("No change to any pipeline's blast radius.\n");
    } else {
        md_pipelines(&mut text, r);
        md_gains(&mut text, r);
        md_findings(&mut text, r);
    }
    if !r.changes.is_empty() {
        text.push_str("\n<details><summary>Changes applied</summary>\n\n");
        for c in &r.changes {
            text.push_str(&format!("- {}\n", md_code(c)));
        }
        text.push_str("\n</details>\n");
    }
    if !r.unknowns.is_empty() {
        text.push_str("\n### Unknowns\n\n");
        for u in &r.unknowns {
            text.push_str(&format!("- {}\n", md_code(u)));
        }
    }
    text
}

fn md_pipelines(s: &mut String, r: &DiffReport) {
    let gained: usize = r.pipelines.iter().map(|p| p.gained.len()).sum();
    let lost: usize = r.pipelines.iter().map(|p| p.lost.len()).sum();
    s.push_str(&format!(
        "**{}** pipelines change: **{gained}** paths gain access, **{lost}** lose access; **{}** new findings, **{}** resolved.\n\n",
        r.pipelines.len(),
        r.findings.new.len(),
        r.findings.resolved.len()
    ));
    s.push_str("| pipeline | team | reach before | reach after | gained | lost | roles gained | roles lost |\n|---|---|---:|---:|---:|---:|---|---|\n");
    let roles = |v: &[RoleRef]| {
        v.iter()
            .map(|r| md_cell(&format!("{}auth/{}/role/{}", r.namespace, r.mount, r.role)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for p in &r.pipelines {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            md_cell(&p.name),
            p.team.as_deref().map(md_cell).unwrap_or_default(),
            p.reach_before,
            p.reach_after,
            p.gained.len(),
            p.lost.len(),
            roles(&p.roles_gained),
            roles(&p.roles_lost)
        ));
    }
}

fn md_gains(s: &mut String, r: &DiffReport) {
    for p in r.pipelines.iter().filter(|p| !p.gained.is_empty()) {
        s.push_str(&format!(
            "\n### {} gains\n\n| path | capabilities | via | cross-team |\n|---|---|---|---|\n",
            md_code(&p.name)
        ));
        for g in &p.gained {
            let via: BTreeSet<String> = g
                .via
                .iter()
                .map(|v| {
                    format!(
                        "{} → {} {}",
                        md_cell(&v.role),
                        md_cell(&v.policy),
                        md_cell(&v.rule)
                    )
                })
                .collect();
            s.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                md_cell(&format!("{}{}", g.namespace, g.path)),
                g.capabilities.join(", "),
                via.into_iter().collect::<Vec<_>>().join("<br>"),
                if g.cross_team.is_empty() {
                    String::new()
                } else {
                    format!("⚠ owned by {}", md_cell(&g.cross_team.join(", ")))
                }
            ));
        }
    }
}

fn md_findings(s: &mut String, r: &DiffReport) {
    if !r.findings.new.is_empty() {
        s.push_str("\n### New findings\n\n");
        for f in &r.findings.new {
            s.push_str(&format!(
                "- **{}** {}: {}\n",
                md_code(f.severity.as_str()),
                md_code(&f.rule),
                md_code(&f.message)
            ));
        }
    }
    if !r.findings.changed.is_empty() {
        s.push_str("\n### Changed findings\n\n");
        for c in &r.findings.changed {
            s.push_str(&format!(
                "- **{}** {}: {} (was **{}**: {})\n",
                md_code(c.finding.severity.as_str()),
                md_code(&c.finding.rule),
                md_code(&c.finding.message),
                md_code(c.before.severity.as_str()),
                md_code(&c.before.message)
            ));
        }
    }
    if !r.findings.resolved.is_empty() {
        s.push_str("\n### Resolved findings\n\n");
        for f in &r.findings.resolved {
            s.push_str(&format!(
                "- {}: {}\n",
                md_code(&f.rule),
                md_code(&f.message)
            ));
        }
    }
}
