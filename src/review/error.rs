//! Why a review could not answer: its inputs could not be loaded, the rules failed, or a
//! question named something the estate does not have.

use std::sync::Arc;

use crate::inventory::InventoryError;
use crate::model::SnapshotError;
use crate::rules::RulesError;

/// An error of [`Review`](super::Review) or [`Estate`](super::Estate).
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    #[error(transparent)]
    Rules(#[from] RulesError),
    /// The facts could not be turned into the rules' input. Shared: a review keeps the
    /// outcome of that stage, and a review derived from it reports the same cause.
    #[error(transparent)]
    RuleInput(Arc<RulesError>),
    #[error("pipeline {name:?} is not in the inventory")]
    UnknownPipeline { name: String },
    #[error("--path is empty")]
    EmptyPath,
}
