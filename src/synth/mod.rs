//! Deterministic synthetic estates: a snapshot and a pipeline inventory of any size, shaped like a
//! real organisation's, for benchmarks, scale checks and demos (`blastmap synth`).
//!
//! [`generate`] builds the estate in memory; [`write()`] saves `snapshot.json` (with
//! [`Snapshot::save`]) and `pipelines.yaml` into a directory. The output is a normal snapshot and
//! a normal inventory: every command reads it like an export.
//!
//! # Shape
//!
//! * **Namespaces**: the root plus `namespaces - 1` children named after business units
//!   (`retail/`); every fourth is nested under a top-level one (`retail/prod/`), every
//!   sixteenth two deep.
//! * **Teams**: one per ~20 pipelines, spread over the namespaces round-robin, with 2–16 apps
//!   each and random sizes (weights 0.4–2.0), so teams differ as they do in practice.
//! * **Auth** per namespace: `token/`, `gha/` (JWT, GitHub Actions issuer), `k8s/`
//!   (Kubernetes) and `approle/`. Each team's roles (5 in 8 JWT, 2 in 8 Kubernetes, 1 in 8
//!   AppRole) total `roles` exactly. JWT roles come in threes per app (`-ci` binds
//!   `repository`, `-deploy-staging` adds `environment`, `-deploy-prod` adds
//!   `repository_owner` and an `environment` list, or is a glob role one time in five), all with
//!   `bound_audiences`, `user_claim` (`repository`, sometimes `actor`) and `claim_mappings`; one
//!   team in six also has a glob role over all its repositories (`acme/<team>-*`). Kubernetes
//!   roles bind a service account and the team's namespace (some globs, a few `*`, some with an
//!   `audience` or `serviceaccount_name` aliases). AppRole roles have secret-id TTLs, use limits,
//!   CIDRs, and a few `bind_secret_id = false`. One role in ten sets no token TTL.
//! * **Policies** total `policies` exactly: per namespace `default` (the server's), then, budget
//!   allowing, `ci-shared`, `ns-admin` (a broad `secret/*`, attached to one production role in
//!   40% of the namespaces) and `team-scoped` (identity templates over entity metadata); per
//!   team `<team>-read` (the team folder, a mid-segment deny), `<team>-ci` (`+` rules over
//!   every app's `dev/`, production denied, one in ten with the broad `secret/data/ci/*`),
//!   `<team>-deploy` (mid-segment globs such as `database/creds/<team>-*`), then per-app
//!   policies `<team>-<app>`, `-ro`, `-ops` (exact paths, prefix and `+` rules, denies), a few
//!   in the JSON dialect.
//! * **Identity**: entities with aliases for half of the JWT repositories, the Kubernetes roles
//!   with `serviceaccount_name` aliases and half of the AppRole roles (redacted role-id,
//!   `metadata.role_name`), with `team`/`app` metadata and sometimes policies; a group per team
//!   (one in ten holding `<team>-read`), nested in a per-namespace `ci-workloads` group holding
//!   `team-scoped`.
//! * **Secrets** total `secrets` exactly (inventory entries = distinct secret paths): ~90% KV v2
//!   keys under `secret/` (`<team>/<app>/<env>/[<component>/]<name>`, plus `ci/shared/` and
//!   `shared/`), ~8% KV v1 under `kv/` (`legacy/…`), ~2% `database/` roles and static roles.
//! * **Pipelines**: `pipelines` exactly, each owned by a team and built to log into one of its
//!   team's roles, picked at random (the claims of a GitHub Actions token for the role's
//!   repository and environment, a Kubernetes service account, an AppRole role name); other
//!   roles of the same repository or glob roles admit them too. Four in five name their role.
//!   One in 25 comes from a repository of another organisation that no role trusts. Each has
//!   `needs` (real paths of its team) and a `max_job_duration`; each team `owns` its folders.
//!
//! On the large estate (`Params::large`) a pipeline reaches about 500 secrets (median; a tenth reach
//! more than 2,000: team-wide and namespace-wide grants).
//!
//! Everything derives from the seed (`exported_at` too), and nothing iterates a hash map, so a
//! seed always gives the same bytes.

mod estate;
mod names;
mod policies;
mod rng;
mod secrets;

use std::path::{Path, PathBuf};

use crate::inventory::Inventory;
use crate::model::Snapshot;

/// The size and seed of an estate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Secret paths: KV keys plus dynamic-engine names (exact).
    pub secrets: usize,
    /// ACL policies stored over all namespaces, `default` included (exact).
    pub policies: usize,
    /// JWT, Kubernetes and AppRole roles over all namespaces (exact).
    pub roles: usize,
    /// Pipelines in the inventory (exact).
    pub pipelines: usize,
    /// Namespaces, the root included (exact; at least 1).
    pub namespaces: usize,
    pub seed: u64,
}

impl Params {
    /// The small benchmark estate: 10k secrets, 200 policies, 100 roles, 50 pipelines.
    pub fn small(seed: u64) -> Params {
        Params {
            secrets: 10_000,
            policies: 200,
            roles: 100,
            pipelines: 50,
            namespaces: 5,
            seed,
        }
    }

    /// The medium benchmark estate: 100k secrets, 2k policies, 1k roles, 500 pipelines.
    pub fn medium(seed: u64) -> Params {
        Params {
            secrets: 100_000,
            policies: 2_000,
            roles: 1_000,
            pipelines: 500,
            namespaces: 20,
            seed,
        }
    }

    /// The large estate the performance targets are set on: 1M secrets, 20k policies, 10k roles, 5k pipelines, 50
    /// namespaces.
    pub fn large(seed: u64) -> Params {
        Params {
            secrets: 1_000_000,
            policies: 20_000,
            roles: 10_000,
            pipelines: 5_000,
            namespaces: 50,
            seed,
        }
    }

    fn check(&self) -> Result<(), SynthError> {
        if self.namespaces == 0 {
            return Err(SynthError::Params(
                "--namespaces must be at least 1 (the root namespace)".into(),
            ));
        }
        if self.namespaces > 100_000 {
            return Err(SynthError::Params(
                "--namespaces is limited to 100000".into(),
            ));
        }
        self.check_memory(physical_memory())
    }

    /// A lower bound of the memory the estate needs (every secret, policy, role and pipeline
    /// is at least this many bytes once generated), against the machine's memory: sizes that
    /// cannot fit are refused with a message instead of an allocation failure that aborts.
    fn check_memory(&self, available: Option<u64>) -> Result<(), SynthError> {
        let need = [
            (self.secrets, BYTES_PER_SECRET),
            (self.policies, BYTES_PER_OBJECT),
            (self.roles, BYTES_PER_OBJECT),
            (self.pipelines, BYTES_PER_OBJECT),
        ]
        .iter()
        .try_fold(0u64, |sum, &(count, each)| {
            (count as u64).checked_mul(each)?.checked_add(sum)
        });
        let limit = available.unwrap_or(u64::MAX);
        match need {
            Some(bytes) if bytes <= limit => Ok(()),
            _ => {
                Err(SynthError::Params(format!(
                "an estate of {} secrets, {} policies, {} roles and {} pipelines needs more than \
                 {} of memory{}; choose smaller sizes",
                self.secrets,
                self.policies,
                self.roles,
                self.pipelines,
                need.map_or("2^64 bytes".to_string(), |b| format!("{} MiB", b >> 20)),
                available.map_or(String::new(), |a| format!(" (this machine has {} MiB)", a >> 20)),
            )))
            }
        }
    }
}

/// The least memory one generated secret path takes (the path, its key-list entry, its
/// snapshot text while it is written).
const BYTES_PER_SECRET: u64 = 64;
/// The least memory one generated policy, role or pipeline takes.
const BYTES_PER_OBJECT: u64 = 256;

/// The machine's memory (`MemTotal` of /proc/meminfo), when it can be read.
fn physical_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// What a generated estate contains.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub namespaces: usize,
    pub teams: usize,
    pub secrets: usize,
    pub kv_v2_keys: usize,
    pub kv_v1_keys: usize,
    pub database_roles: usize,
    pub policies: usize,
    pub roles: usize,
    pub jwt_roles: usize,
    pub kubernetes_roles: usize,
    pub approle_roles: usize,
    pub entities: usize,
    pub groups: usize,
    pub pipelines: usize,
}

impl Summary {
    /// Count what a snapshot and an inventory hold.
    pub fn of(snapshot: &Snapshot, inventory: &Inventory) -> Summary {
        let mut summary = Summary {
            namespaces: snapshot.namespaces.len(),
            teams: inventory.teams.len(),
            pipelines: inventory.pipelines.len(),
            ..Summary::default()
        };
        for ns in &snapshot.namespaces {
            summary.policies += ns.policies.len();
            summary.entities += ns.entities.len();
            summary.groups += ns.groups.len();
            for m in &ns.auth_mounts {
                summary.jwt_roles += m.roles.jwt.len();
                summary.kubernetes_roles += m.roles.kubernetes.len();
                summary.approle_roles += m.roles.approle.len();
                summary.roles += m.roles.len();
            }
            for m in &ns.secret_mounts {
                match m.kv_version() {
                    Some(2) => summary.kv_v2_keys += m.secrets.keys.len(),
                    Some(_) => summary.kv_v1_keys += m.secrets.keys.len(),
                    None => {}
                }
                if m.mount_type == "database" {
                    summary.database_roles +=
                        m.secrets.collections.values().map(Vec::len).sum::<usize>();
                }
                summary.secrets += m.secrets.len();
            }
        }
        summary
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} namespaces, {} teams, {} secrets ({} KV v2, {} KV v1, {} database), {} policies, \
             {} roles ({} JWT, {} Kubernetes, {} AppRole), {} entities, {} groups, {} pipelines",
            self.namespaces,
            self.teams,
            self.secrets,
            self.kv_v2_keys,
            self.kv_v1_keys,
            self.database_roles,
            self.policies,
            self.roles,
            self.jwt_roles,
            self.kubernetes_roles,
            self.approle_roles,
            self.entities,
            self.groups,
            self.pipelines
        )
    }
}

/// Why an estate could not be generated or written.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("{0}")]
    Params(String),
    #[error(transparent)]
    Snapshot(#[from] crate::model::SnapshotError),
    #[error("cannot write {file}: {message}")]
    Write { file: String, message: String },
    #[error(transparent)]
    Output(#[from] crate::output::OutputError),
}

/// Generate an estate in memory.
pub fn generate(params: &Params) -> Result<(Snapshot, Inventory), SynthError> {
    params.check()?;
    Ok(estate::build(params))
}

/// The files [`write()`] produced.
#[derive(Debug, Clone)]
pub struct Written {
    pub snapshot: PathBuf,
    pub pipelines: PathBuf,
    pub summary: Summary,
}

/// Generate an estate and write `dir/snapshot.json` and `dir/pipelines.yaml` (creating `dir`).
pub fn write(params: &Params, dir: &Path) -> Result<Written, SynthError> {
    let werr = |file: &Path, message: String| SynthError::Write {
        file: file.display().to_string(),
        message,
    };
    params.check()?;
    // Before generating: the directory exists and accepts both files.
    std::fs::create_dir_all(dir).map_err(|e| werr(dir, e.to_string()))?;
    for name in ["snapshot.json", "pipelines.yaml"] {
        crate::output::check(&dir.join(name))?;
    }
    let (snapshot, inventory) = generate(params)?;
    let snap_path = dir.join("snapshot.json");
    let inv_path = dir.join("pipelines.yaml");
    snapshot.save(&snap_path)?;
    let yaml = inventory_yaml(&inventory, params).map_err(|e| werr(&inv_path, e.to_string()))?;
    crate::output::write_bytes(&inv_path, crate::output::FileMode::Shared, yaml.as_bytes())?;
    Ok(Written {
        summary: Summary::of(&snapshot, &inventory),
        snapshot: snap_path,
        pipelines: inv_path,
    })
}

/// The inventory as YAML, with a header saying how it was made.
pub fn inventory_yaml(inventory: &Inventory, params: &Params) -> Result<String, yaml_serde::Error> {
    let body = yaml_serde::to_string(inventory)?;
    Ok(format!(
        "# Synthetic pipeline inventory written by `blastmap synth --secrets {} --policies {} \
         --roles {} --pipelines {} --namespaces {} --seed {}`.\n# Shape: docs/pipelines.md. \
         Pair it with the snapshot.json next to it.\n{body}",
        params.secrets,
        params.policies,
        params.roles,
        params.pipelines,
        params.namespaces,
        params.seed
    ))
}

/// The what-if the benchmarks and `tests/suite/perf_golden.rs` measure (a one-line change to a
/// large estate), applied to a snapshot as JSON: the first role with token policies also gets the
/// last policy of its namespace. False when no role has token policies.
pub fn change_one_role(snapshot: &mut serde_json::Value) -> bool {
    let Some(namespaces) = snapshot["namespaces"].as_array_mut() else {
        return false;
    };
    for ns in namespaces {
        let Some(policy) = ns["policies"]
            .as_array()
            .and_then(|p| p.last())
            .and_then(|p| p["name"].as_str())
            .map(str::to_string)
        else {
            continue;
        };
        for m in ns["auth_mounts"].as_array_mut().into_iter().flatten() {
            let Some(kinds) = m.get_mut("roles").and_then(|r| r.as_object_mut()) else {
                continue;
            };
            for roles in kinds.values_mut() {
                for r in roles.as_array_mut().into_iter().flatten() {
                    if let Some(tp) = r.get_mut("token_policies").and_then(|t| t.as_array_mut()) {
                        tp.push(policy.into());
                        return true;
                    }
                }
            }
        }
    }
    false
}
