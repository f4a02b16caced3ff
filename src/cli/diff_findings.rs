//! The findings half of a what-if: findings of the head that the base does not have, and the
//! reverse, keyed by rule and subject.

use anyhow::Result;

use crate::diff::FindingsDelta;
use crate::inventory::Inventory;
use crate::model::Snapshot;

/// New and resolved findings between two estates.
pub fn findings_delta(
    _base: &Snapshot,
    _head: &Snapshot,
    _inventory: Option<&Inventory>,
) -> Result<FindingsDelta> {
    // Filled in when the findings engine (issue 5) lands.
    Ok(FindingsDelta::default())
}
