//! Why a what-if change could not be read or applied. Messages name the change's file; a
//! variant with a `source` prints its own context only and the CLI appends the cause.

use std::path::PathBuf;

/// A change file, policy file or directory that could not be read, or a change that cannot
/// be applied to the snapshot.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("cannot read change {}", path.display())]
    ReadChange {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}:{column}: malformed JSON: {reason}", path.display())]
    MalformedJson {
        path: PathBuf,
        line: usize,
        column: usize,
        reason: serde_json::Error,
    },
    #[error("cannot apply Terraform plan {}", path.display())]
    TerraformPlan {
        path: PathBuf,
        source: TerraformError,
    },
    #[error("{}: invalid change file at `{at}`: {reason}", path.display())]
    InvalidChangeFile {
        path: PathBuf,
        at: String,
        reason: String,
    },
    #[error("{}: unknown change type: give a directory of policies, a *.hcl or *.json policy, a *.yaml/*.json change file, or a Terraform plan (`terraform show -json plan > plan.json`)", path.display())]
    UnknownChangeType { path: PathBuf },
    #[error("cannot read policy file {}", path.display())]
    ReadPolicyFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot name a policy after {}", path.display())]
    PolicyName { path: PathBuf },
    /// The server would refuse the policy.
    #[error("{}: {reason}", path.display())]
    PolicyRefused {
        path: PathBuf,
        reason: crate::acl::PolicyError,
    },
    #[error("cannot read policy directory {}", dir.display())]
    ReadPolicyDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: no *.hcl or *.json policy files", dir.display())]
    NoPolicyFiles { dir: PathBuf },
    /// A policy `file` named by a change file could not be read.
    #[error("{}: cannot read policy file {file}", path.display())]
    ReadNamedPolicyFile {
        path: PathBuf,
        file: String,
        source: std::io::Error,
    },
    #[error("{}: policy {policy:?}: give exactly one of `policy` (the text) or `file`, or `delete: true`", path.display())]
    PolicyTextOrFile { path: PathBuf, policy: String },
    #[error("cannot serialize the snapshot")]
    SerializeSnapshot { source: serde_json::Error },
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error("cannot apply change: {change}")]
    Apply {
        /// The change as [`crate::diff::change::Change::describe`] tells it.
        change: String,
        source: Box<ChangeError>,
    },
    #[error("the changes make the snapshot invalid")]
    InvalidResult { source: crate::model::SnapshotError },
    #[error("snapshot has no namespaces")]
    NoNamespaces,
    #[error("namespace {namespace:?} is not in the snapshot")]
    UnknownNamespace { namespace: String },
    #[error("auth mount auth/{mount} is not in namespace {namespace:?}")]
    UnknownAuthMount { mount: String, namespace: String },
    #[error("give the role `kind`: mount auth/{mount} is of type {mount_type:?}")]
    RoleKindNeeded { mount: String, mount_type: String },
    /// Part of the snapshot's JSON form does not have the shape the model writes.
    #[error("{what} is not an object")]
    NotAnObject { what: &'static str },
    #[error("{what} is not an array")]
    NotAnArray { what: &'static str },
}

/// A Terraform plan that cannot be mapped onto changes.
#[derive(Debug, thiserror::Error)]
pub enum TerraformError {
    #[error("unsupported plan format_version {version:?} (this blastmap reads 1.x)")]
    UnsupportedFormat { version: String },
    #[error("not a Terraform plan: no `resource_changes` (produce one with `terraform show -json plan.tfplan > plan.json`)")]
    NotAPlan,
    #[error("`resource_changes` is not an array")]
    ResourceChangesNotAnArray,
    #[error("{address}: no `change`")]
    NoChange { address: String },
    #[error("{address}: `change.actions` missing")]
    NoActions { address: String },
    #[error("{address}: {problem}")]
    Resource {
        address: String,
        problem: ResourceProblem,
    },
}

/// What a Vault provider resource lacks.
#[derive(Debug, thiserror::Error)]
pub enum ResourceProblem {
    #[error("attribute `{key}` missing")]
    MissingAttribute { key: String },
    #[error("`change.after` missing")]
    NoAfter,
}

/// A `--fail-on` value that names no gate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "--fail-on {text:?}: expected new-access, new-cross-team or a severity ({})",
    crate::rules::Severity::ALL.map(|s| s.as_str()).join(", ")
)]
pub struct UnknownGate {
    pub text: String,
}

/// Why a what-if could not be computed: a side could not be loaded, a change not applied, or
/// the rules failed on a side.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error(transparent)]
    Snapshot(#[from] crate::model::SnapshotError),
    #[error(transparent)]
    Change(#[from] ChangeError),
    #[error(transparent)]
    Rules(#[from] crate::rules::RulesError),
    #[error(transparent)]
    Review(#[from] crate::review::ReviewError),
}
