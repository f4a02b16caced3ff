//! Per-team facts: what each team of the inventory owns, its pipelines, and how many known
//! secrets it owns.

use serde::Serialize;

use crate::inventory::Inventory;
use crate::ownership::Owners;

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TeamFacts {
    pub name: String,
    pub owns: Vec<String>,
    pub pipelines: Vec<String>,
    /// Known secrets the team owns.
    pub secrets: usize,
}

/// Every team of the inventory (in inventory order).
pub(super) fn teams(inventory: &Inventory, owners: &Owners) -> Vec<TeamFacts> {
    let mut owned = vec![0usize; owners.teams.len()];
    for &owner in &owners.owner {
        for &team in owners.team_ids(owner) {
            owned[team as usize] += 1;
        }
    }
    inventory
        .teams
        .iter()
        .enumerate()
        .map(|(position, team)| TeamFacts {
            name: team.name.clone(),
            owns: team.owns.clone(),
            pipelines: inventory
                .pipelines
                .iter()
                .filter(|pipeline| pipeline.team.as_deref() == Some(team.name.as_str()))
                .map(|pipeline| pipeline.name.clone())
                .collect(),
            secrets: owned.get(position).copied().unwrap_or(0),
        })
        .collect()
}
