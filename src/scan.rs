//! A first review in one call (`blastmap scan`, `docs/scan.md`): take a snapshot (export a live
//! server, or read a saved one), discover the pipelines of CI configurations and merge them with
//! a hand-written inventory, then write the snapshot, the inventory, the findings (JSON and
//! SARIF) and the HTML report into one directory.
//!
//! Every step is the one the single commands run (`export`, `discover`, `findings`, `report`),
//! with their defaults, so a scan's files equal what those commands write. Every target file is
//! checked before the export starts: a directory that cannot be written is refused before a
//! single request is sent.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::discover::{self, DiscoverError, Plan};
use crate::export::{ExportError, ExportOptions, ExportStats};
use crate::inventory::{Inventory, InventoryError};
use crate::model::{Snapshot, SnapshotError};
use crate::output::{self, FileMode, OutputError};
use crate::render::html::{ReportOptions, ReportStats};
use crate::review::{Estate, ReviewError, ReviewOptions};
use crate::rules::engine::RunOptions;
use crate::rules::{render, sarif, Report, RuleSet, Severity};

/// The files a scan writes, in its output directory.
pub(crate) const SNAPSHOT_FILE: &str = "snapshot.json";
pub(crate) const INVENTORY_FILE: &str = "pipelines.yaml";
pub(crate) const FINDINGS_JSON_FILE: &str = "findings.json";
pub(crate) const FINDINGS_SARIF_FILE: &str = "findings.sarif";
pub(crate) const REPORT_FILE: &str = "report.html";

/// Roles listed in a scan without inventory (widest reach first).
const TOP_ROLES: usize = 10;

/// Where a scan's snapshot comes from.
pub(crate) enum SnapshotSource {
    /// Export a live server (read-only; never reads a secret).
    Export(Box<ExportOptions>),
    /// A snapshot `blastmap export` wrote.
    File(PathBuf),
}

/// What a scan is asked to do.
pub(crate) struct ScanPlan {
    pub snapshot: SnapshotSource,
    /// CI configurations to discover pipelines from (none: no discovery).
    pub discover: Option<Plan>,
    /// A hand-written inventory; discovered pipelines are merged into it (its pipelines win).
    pub pipelines: Option<PathBuf>,
    /// The output directory (created when missing).
    pub out_dir: PathBuf,
    pub rules: RuleSet,
    pub run: RunOptions,
    pub review: ReviewOptions,
    /// Node budget of each diagram and the number of pipelines drawn in the report.
    pub max_nodes: usize,
    pub max_diagrams: usize,
}

/// The paths a scan wrote.
#[derive(Debug, Clone)]
pub(crate) struct ScanFiles {
    pub snapshot: PathBuf,
    /// Absent when there is no inventory at all.
    pub inventory: Option<PathBuf>,
    pub findings_json: PathBuf,
    pub findings_sarif: PathBuf,
    pub report: PathBuf,
}

impl ScanFiles {
    fn in_dir(dir: &Path) -> ScanFiles {
        ScanFiles {
            snapshot: dir.join(SNAPSHOT_FILE),
            inventory: Some(dir.join(INVENTORY_FILE)),
            findings_json: dir.join(FINDINGS_JSON_FILE),
            findings_sarif: dir.join(FINDINGS_SARIF_FILE),
            report: dir.join(REPORT_FILE),
        }
    }

    fn all(&self) -> impl Iterator<Item = &PathBuf> {
        [
            &self.snapshot,
            &self.findings_json,
            &self.findings_sarif,
            &self.report,
        ]
        .into_iter()
        .chain(self.inventory.as_ref())
    }
}

/// Where the inventory of a scan came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InventoryOrigin {
    /// Neither CI configurations nor `--pipelines`: role-level reach only.
    None,
    /// `--pipelines` only.
    Given,
    /// Discovered from CI configurations.
    Discovered,
    /// Discovered and merged into `--pipelines`.
    Merged,
}

/// One role's reach, for a scan without inventory.
#[derive(Debug, Clone)]
pub(crate) struct RoleSummary {
    /// `<ns>auth/<mount>/role/<name>`.
    pub role: String,
    pub secrets: usize,
}

/// What a scan found and wrote.
pub(crate) struct ScanOutcome {
    pub files: ScanFiles,
    /// The snapshot and the inventory the scan reviewed.
    pub estate: Estate,
    /// What the export cost, when the scan exported.
    pub export: Option<ExportStats>,
    /// Endpoints the export could not read (recorded in the snapshot as unknowns).
    pub coverage_gaps: usize,
    pub inventory: InventoryOrigin,
    pub pipelines: usize,
    /// Pipelines that discovery found.
    pub discovered: usize,
    pub discovery_notes: Vec<String>,
    pub findings: Report,
    pub report: ReportStats,
    /// Without an inventory: the roles with the widest reach, and how many roles there are.
    pub top_roles: Vec<RoleSummary>,
    pub roles: usize,
}

impl ScanOutcome {
    /// Unsuppressed findings per severity.
    pub(crate) fn counts(&self) -> BTreeMap<Severity, usize> {
        self.findings.counts().0
    }
}

/// Why a scan stopped. Files written before the failing step stay; nothing is half-written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ScanError {
    #[error("cannot create the output directory {}", dir.display())]
    CreateDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error("export failed")]
    Export(#[from] ExportError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    #[error(transparent)]
    Discover(#[from] DiscoverError),
    #[error(transparent)]
    Review(#[from] ReviewError),
    #[error("writing {what}")]
    Serialize {
        what: &'static str,
        source: serde_json::Error,
    },
    #[error("writing the inventory as YAML: {reason}")]
    Yaml { reason: String },
    #[error("reading {} back for the SARIF log", path.display())]
    ReadBack {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Run a scan: every file is checked writable first, then the snapshot, the inventory, the
/// findings and the report are produced and written in that order.
pub(crate) fn scan(plan: ScanPlan) -> Result<ScanOutcome, ScanError> {
    std::fs::create_dir_all(&plan.out_dir).map_err(|source| ScanError::CreateDir {
        dir: plan.out_dir.clone(),
        source,
    })?;
    let mut files = ScanFiles::in_dir(&plan.out_dir);
    for path in files.all() {
        output::check(path)?;
    }
    let (snapshot, export) = take_snapshot(plan.snapshot, &files.snapshot)?;
    let inventory = gather_inventory(plan.discover.as_ref(), plan.pipelines.as_deref())?;
    let origin = inventory.origin;
    match &inventory.inventory {
        Some(inv) => write_inventory(inv, origin, files.inventory.as_ref().expect("path"))?,
        None => files.inventory = None,
    }
    let pipelines = inventory
        .inventory
        .as_ref()
        .map_or(0, |i| i.pipelines.len());
    let estate = Estate {
        snapshot,
        inventory: inventory.inventory,
    };
    let mut review = estate.review(plan.review.clone());
    let findings = review.findings(&plan.rules, &plan.run)?;
    write_findings(&findings, &files)?;
    let report_options = ReportOptions {
        max_nodes: plan.max_nodes,
        max_diagrams: plan.max_diagrams,
        escalation_depth: plan.review.facts.escalation_depth,
        snapshot_name: SNAPSHOT_FILE.to_string(),
        pipelines_name: match origin {
            InventoryOrigin::None => "(no inventory)".to_string(),
            _ => INVENTORY_FILE.to_string(),
        },
    };
    let (page, report) = review.report(&plan.rules, &report_options)?;
    output::write_bytes(&files.report, FileMode::Shared, page.as_bytes())?;
    let (top_roles, roles) = if origin == InventoryOrigin::None {
        let role_reach = review.role_reach();
        (widest_roles(&role_reach), role_reach.len())
    } else {
        (Vec::new(), 0)
    };
    drop(review);
    Ok(ScanOutcome {
        files,
        coverage_gaps: estate.snapshot.coverage.len(),
        estate,
        export,
        inventory: origin,
        pipelines,
        discovered: inventory.discovered,
        discovery_notes: inventory.notes,
        findings,
        report,
        top_roles,
        roles,
    })
}

/// Export the server or read the given snapshot, and write it into the output directory. An
/// exported snapshot is returned with its export report.
fn take_snapshot(
    source: SnapshotSource,
    target: &Path,
) -> Result<(Snapshot, Option<ExportStats>), ScanError> {
    match source {
        SnapshotSource::Export(options) => {
            let (snapshot, stats) = crate::export::export_blocking(*options)?.into_parts();
            snapshot.save(target)?;
            Ok((snapshot, Some(stats)))
        }
        SnapshotSource::File(path) => {
            let snapshot = Snapshot::load(&path)?;
            // The user's file is copied as it is (same bytes), private like every snapshot.
            let bytes = std::fs::read(&path).map_err(|source| SnapshotError::Read {
                file: path.display().to_string(),
                source,
            })?;
            output::write_bytes(target, FileMode::Private, &bytes)?;
            Ok((snapshot, None))
        }
    }
}

/// The inventory of a scan and where it came from.
struct Gathered {
    inventory: Option<Inventory>,
    origin: InventoryOrigin,
    discovered: usize,
    notes: Vec<String>,
}

fn gather_inventory(plan: Option<&Plan>, given: Option<&Path>) -> Result<Gathered, ScanError> {
    let mut hand = given.map(Inventory::load).transpose()?;
    // The scan writes the inventory anew: it carries the version it is written in.
    if let Some(hand) = &mut hand {
        hand.schema_version = Some(crate::schema::version::INVENTORY);
    }
    let Some(plan) = plan.filter(|p| !p.sources.is_empty()) else {
        let origin = if hand.is_some() {
            InventoryOrigin::Given
        } else {
            InventoryOrigin::None
        };
        return Ok(Gathered {
            inventory: hand,
            origin,
            discovered: 0,
            notes: Vec::new(),
        });
    };
    let found = discover::discover(&plan.sources, &plan.options)?;
    let discovered = found.inventory();
    let (inventory, origin) = match &hand {
        Some(hand) => (discover::merge(hand, &discovered), InventoryOrigin::Merged),
        None => (discovered, InventoryOrigin::Discovered),
    };
    Ok(Gathered {
        inventory: Some(inventory),
        origin,
        discovered: found.pipelines.len(),
        notes: found.notes,
    })
}

fn write_inventory(inv: &Inventory, origin: InventoryOrigin, path: &Path) -> Result<(), ScanError> {
    let how = match origin {
        InventoryOrigin::Given => "copied from --pipelines",
        InventoryOrigin::Merged => "discovered from CI configurations, merged into --pipelines",
        _ => "discovered from CI configurations",
    };
    let yaml = yaml_serde::to_string(inv).map_err(|e| ScanError::Yaml {
        reason: e.to_string(),
    })?;
    let text = format!(
        "# Pipeline inventory written by `blastmap scan` ({how}; docs/pipelines.md).\n{yaml}"
    );
    Ok(output::write_bytes(
        path,
        FileMode::Shared,
        text.as_bytes(),
    )?)
}

/// findings.json as `findings --format json` writes it, and findings.sarif as `findings
/// --format sarif` would with the scan's snapshot and inventory as its artifacts.
fn write_findings(findings: &Report, files: &ScanFiles) -> Result<(), ScanError> {
    let mut json = Vec::new();
    render::json(&mut json, findings).map_err(|e| ScanError::Serialize {
        what: FINDINGS_JSON_FILE,
        source: serde_json::Error::io(e),
    })?;
    output::write_bytes(&files.findings_json, FileMode::Shared, &json)?;

    let read_back = |path: &Path| {
        std::fs::read_to_string(path).map_err(|source| ScanError::ReadBack {
            path: path.to_path_buf(),
            source,
        })
    };
    let snapshot_text = read_back(&files.snapshot)?;
    let inventory_text = files.inventory.as_deref().map(read_back).transpose()?;
    let snapshot_name = files.snapshot.display().to_string();
    let inventory_name = files.inventory.as_ref().map(|p| p.display().to_string());
    let artifacts = sarif::Artifacts {
        snapshot: (&snapshot_name, &snapshot_text),
        pipelines: inventory_name.as_deref().zip(inventory_text.as_deref()),
    };
    let mut sarif_text =
        serde_json::to_vec_pretty(&sarif::log(findings, &artifacts)).map_err(|source| {
            ScanError::Serialize {
                what: FINDINGS_SARIF_FILE,
                source,
            }
        })?;
    sarif_text.push(b'\n');
    Ok(output::write_bytes(
        &files.findings_sarif,
        FileMode::Shared,
        &sarif_text,
    )?)
}

/// The roles whose token reaches the most secrets, widest first (ties by name).
fn widest_roles(role_reach: &[crate::passes::reach::PipelineReach]) -> Vec<RoleSummary> {
    let mut roles: Vec<RoleSummary> = role_reach
        .iter()
        .map(|r| RoleSummary {
            role: r.name.clone(),
            secrets: r.secrets.len(),
        })
        .collect();
    roles.sort_by(|a, b| b.secrets.cmp(&a.secrets).then_with(|| a.role.cmp(&b.role)));
    roles.truncate(TOP_ROLES);
    roles
}
