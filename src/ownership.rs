//! Team ownership of secrets: the one rule every output uses (facts and rules, diagrams, the
//! report, diff and who-can).
//!
//! A team owns what its `owns` entries match (`docs/pipelines.md`): a Vault path pattern
//! (trailing `*` for a prefix, `+` for one segment) or a namespace or folder ending in `/`
//! (everything below it). When entries of several teams match one secret, **the most specific
//! entry wins**, ranked as the server ranks policy paths that match one request:
//!
//! 1. the longer literal part before the first wildcard (`+` or the trailing `*`; a namespace or
//!    folder entry `x/` counts as `x/*`; an exact path counts in full);
//! 2. then an entry without a trailing `*` over one with it;
//! 3. then fewer `+` segments;
//! 4. then the longer entry.
//!
//! So `secret/data/x/*` beats `secret/*` and `secret/data/+/db` (its first wildcard comes
//! later), and the exact `secret/data/x/db` beats `secret/data/x/*`. Entries of different teams
//! equal on all four (the same entry listed by two teams, or `a/+/b/+` and `a/+/+/c`) are a
//! tie: the secret is **shared**, owned by each of those teams, and a pipeline of any of them
//! reaching it is not cross-team. The server would break such a tie lexicographically; an
//! inventory's tie says two teams claim the secret, which is reported, not resolved.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap;

use crate::inventory::Inventory;
use crate::passes::SecretIndex;

/// How specific an `owns` entry is; a greater value wins (field order is the ranking).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Specificity {
    /// Bytes before the first wildcard; an exact entry counts in full.
    literal: u32,
    /// No trailing `*`.
    not_prefix: bool,
    /// Fewer `+` segments rank higher.
    fewer_segment_wildcards: Reverse<u32>,
    /// Length of the entry without its trailing `*`.
    length: u32,
}

/// One `owns` entry of one team, classified once.
#[derive(Debug, Clone)]
pub(crate) struct OwnsEntry {
    /// The entry as written, without leading `/`.
    pattern: String,
    /// The part before the first wildcard: every path it matches starts with it.
    literal_len: usize,
    pub specificity: Specificity,
}

impl OwnsEntry {
    pub(crate) fn new(entry: &str) -> OwnsEntry {
        let pattern = entry.trim_start_matches('/');
        let is_prefix =
            pattern.ends_with('*') || (pattern.ends_with('/') && !pattern.contains('+'));
        let without_star = pattern.strip_suffix('*').unwrap_or(pattern);
        let literal_len = without_star.find('+').unwrap_or(without_star.len());
        let segment_wildcards = pattern.split('/').filter(|s| *s == "+").count();
        OwnsEntry {
            pattern: pattern.to_string(),
            literal_len,
            specificity: Specificity {
                literal: literal_len as u32,
                not_prefix: !is_prefix,
                fewer_segment_wildcards: Reverse(segment_wildcards as u32),
                length: without_star.len() as u32,
            },
        }
    }

    /// The literal part: every path the entry matches starts with it.
    pub(crate) fn literal(&self) -> &str {
        &self.pattern[..self.literal_len]
    }

    /// Whether the entry covers a namespace-qualified secret path.
    pub(crate) fn matches(&self, full_path: &str) -> bool {
        owns_match(&self.pattern, full_path)
    }
}

/// Whether an `owns` entry covers a namespace-qualified secret path: a Vault path pattern
/// (trailing `*` prefix, `+` one segment) or a namespace or folder (`ns-payments/`, everything
/// inside).
pub(crate) fn owns_match(pattern: &str, full_path: &str) -> bool {
    let pattern = pattern.trim_start_matches('/');
    if pattern.contains('+') {
        let (pat, prefix) = match pattern.strip_suffix('*') {
            Some(p) => (p, true),
            None => (pattern, false),
        };
        let ps: Vec<&str> = pat.split('/').collect();
        let xs: Vec<&str> = full_path.split('/').collect();
        if xs.len() < ps.len() || (!prefix && xs.len() != ps.len()) {
            return false;
        }
        return ps.iter().enumerate().all(|(i, p)| {
            *p == "+" || *p == xs[i] || (prefix && i == ps.len() - 1 && xs[i].starts_with(p))
        });
    }
    if let Some(p) = pattern.strip_suffix('*') {
        return full_path.starts_with(p);
    }
    if pattern.ends_with('/') {
        return full_path.starts_with(pattern);
    }
    full_path == pattern
}

/// Every team's `owns` entries, classified: the rule applied to paths one at a time (paths
/// outside the secret index, or a what-if's gained secrets).
#[derive(Debug, Clone, Default)]
pub(crate) struct OwnershipRules {
    teams: Vec<TeamEntries>,
}

#[derive(Debug, Clone)]
struct TeamEntries {
    name: String,
    entries: Vec<OwnsEntry>,
}

impl OwnershipRules {
    pub(crate) fn new(inventory: &Inventory) -> OwnershipRules {
        let teams = inventory
            .teams
            .iter()
            .map(|t| TeamEntries {
                name: t.name.clone(),
                entries: t.owns.iter().map(|o| OwnsEntry::new(o)).collect(),
            })
            .collect();
        OwnershipRules { teams }
    }

    /// The owning teams of a namespace-qualified path: empty when no entry matches, one team,
    /// or several when their most specific entries tie (shared ownership), in inventory order.
    pub(crate) fn owners_of(&self, full_path: &str) -> Vec<&str> {
        let mut best: Option<Specificity> = None;
        let mut owners: Vec<&str> = Vec::new();
        for team in &self.teams {
            let Some(spec) = team
                .entries
                .iter()
                .filter(|e| e.matches(full_path))
                .map(|e| e.specificity)
                .max()
            else {
                continue;
            };
            match best.map(|b| spec.cmp(&b)) {
                None | Some(std::cmp::Ordering::Greater) => {
                    best = Some(spec);
                    owners = vec![team.name.as_str()];
                }
                Some(std::cmp::Ordering::Equal) => owners.push(team.name.as_str()),
                Some(std::cmp::Ordering::Less) => {}
            }
        }
        owners
    }
}

/// The name of a shared owner: its teams' names, in inventory order, joined by `", "`.
pub(crate) fn shared_label(teams: &[&str]) -> String {
    teams.join(", ")
}

/// The owner of every secret of an index. An owner id is a team (`0..teams.len()`, inventory
/// order), a set of tied teams (shared ownership; ids after the teams) or [`Owners::NONE`].
pub struct Owners {
    pub owner: Vec<u16>,
    /// Team names, in inventory order.
    pub teams: Vec<String>,
    /// Per owner id: its name (a team's, or [`shared_label`] of a shared owner) and teams.
    owners: Vec<OwnerEntry>,
    /// Owner ids by name, for callers that carry owners by name.
    by_label: FxHashMap<String, u16>,
}

struct OwnerEntry {
    label: String,
    teams: Vec<u16>,
}

/// The best entry found so far for one secret, while [`Owners::build`] runs.
#[derive(Clone, Copy)]
struct Best {
    specificity: Specificity,
    team: u16,
}

impl Owners {
    pub const NONE: u16 = u16::MAX;

    pub fn build(index: &SecretIndex, inventory: &Inventory) -> Owners {
        let rules = OwnershipRules::new(inventory);
        let mut best: Vec<Option<Best>> = vec![None; index.len()];
        let mut ties: FxHashMap<u32, BTreeSet<u16>> = FxHashMap::default();
        // Shared owner ids come after the team ids and NONE stays out of reach.
        let team_count = rules.teams.len().min(u16::MAX as usize / 2);
        for (team, entries) in rules.teams.iter().take(team_count).enumerate() {
            let team = team as u16;
            for entry in &entries.entries {
                for sid in index.ids_with_prefix(entry.literal()) {
                    if entry.matches(index.full_path(sid)) {
                        rank(
                            &mut best[sid as usize],
                            &mut ties,
                            sid,
                            entry.specificity,
                            team,
                        );
                    }
                }
            }
        }
        let mut owners: Vec<OwnerEntry> = rules.teams[..team_count]
            .iter()
            .enumerate()
            .map(|(i, t)| OwnerEntry {
                label: t.name.clone(),
                teams: vec![i as u16],
            })
            .collect();
        let mut owner: Vec<u16> = best
            .iter()
            .map(|b| b.map_or(Owners::NONE, |b| b.team))
            .collect();
        let mut by_label: FxHashMap<String, u16> = owners
            .iter()
            .enumerate()
            .map(|(i, e)| (e.label.clone(), i as u16))
            .collect();
        let mut shared_ids: BTreeMap<BTreeSet<u16>, u16> = BTreeMap::new();
        let mut tied: Vec<(u32, BTreeSet<u16>)> = ties.into_iter().collect();
        tied.sort_unstable();
        for (sid, teams) in tied {
            let id = *shared_ids.entry(teams.clone()).or_insert_with(|| {
                let names: Vec<&str> = teams
                    .iter()
                    .map(|&t| owners[t as usize].label.as_str())
                    .collect();
                let mut label = shared_label(&names);
                // A team may be named like the teams it ties with, joined: keep names unique.
                while by_label.contains_key(&label) {
                    label.push_str(" (shared)");
                }
                let id = owners.len() as u16;
                by_label.insert(label.clone(), id);
                owners.push(OwnerEntry {
                    label,
                    teams: teams.iter().copied().collect(),
                });
                id
            });
            owner[sid as usize] = id;
        }
        let teams = rules.teams.iter().map(|t| t.name.clone()).collect();
        Owners {
            owner,
            teams,
            owners,
            by_label,
        }
    }

    /// The owner array as runs `(first secret id, owner)`: secrets are sorted by path and teams
    /// own prefixes, so runs are long and a range's owners are found without visiting it.
    pub fn runs(&self) -> Vec<(u32, u16)> {
        let mut runs: Vec<(u32, u16)> = Vec::new();
        for (i, &o) in self.owner.iter().enumerate() {
            if runs.last().is_none_or(|r| r.1 != o) {
                runs.push((i as u32, o));
            }
        }
        runs
    }

    /// Owner ids of the secrets in `range` (ids), and how many have none, using
    /// [`Owners::runs`].
    pub fn in_range(runs: &[(u32, u16)], range: std::ops::Range<usize>) -> (BTreeSet<u16>, usize) {
        let mut owners = BTreeSet::new();
        let mut unowned = 0;
        if range.is_empty() {
            return (owners, 0);
        }
        // The run containing range.start.
        let mut k = runs.partition_point(|r| (r.0 as usize) <= range.start) - 1;
        while k < runs.len() && (runs[k].0 as usize) < range.end {
            let start = (runs[k].0 as usize).max(range.start);
            let end = runs
                .get(k + 1)
                .map(|r| r.0 as usize)
                .unwrap_or(usize::MAX)
                .min(range.end);
            if runs[k].1 == Owners::NONE {
                unowned += end - start;
            } else {
                owners.insert(runs[k].1);
            }
            k += 1;
        }
        (owners, unowned)
    }

    /// The owner of a secret: a team's name, or the [`shared_label`] of tied teams.
    pub fn of(&self, sid: u32) -> Option<&str> {
        match self.owner.get(sid as usize) {
            Some(&o) if o != Owners::NONE => Some(self.label(o)),
            _ => None,
        }
    }

    /// The name of an owner id.
    pub fn label(&self, owner: u16) -> &str {
        &self.owners[owner as usize].label
    }

    /// The team names of an owner id: one, or the tied teams of a shared owner.
    pub fn team_names(&self, owner: u16) -> impl Iterator<Item = &str> {
        let teams: &[u16] = match self.owners.get(owner as usize) {
            Some(entry) => &entry.teams,
            None => &[],
        };
        teams.iter().map(|&t| self.teams[t as usize].as_str())
    }

    /// The team ids (inventory order) of an owner id.
    pub fn team_ids(&self, owner: u16) -> &[u16] {
        self.owners.get(owner as usize).map_or(&[], |e| &e.teams)
    }

    /// Whether an owner id is shared by tied teams.
    pub fn is_shared(&self, owner: u16) -> bool {
        self.owners
            .get(owner as usize)
            .is_some_and(|e| e.teams.len() > 1)
    }

    /// The owner id of the owner named `label` (as [`Owners::of`] gives it).
    fn id_of_label(&self, label: &str) -> Option<u16> {
        self.by_label.get(label).copied()
    }

    /// Whether `team` is one of the teams of the owner named `label`.
    pub fn label_includes(&self, label: &str, team: &str) -> bool {
        match self.id_of_label(label) {
            Some(id) => self.team_names(id).any(|t| t == team),
            None => label == team,
        }
    }

    /// Whether a pipeline of `team` reaching a secret of the owner `owner` (a name as
    /// [`Owners::of`] gives it) crosses teams: the secret has an owner and `team` is not one of
    /// its teams. No team on either side is never cross-team.
    pub fn is_cross_team(&self, owner: Option<&str>, team: Option<&str>) -> bool {
        matches!((owner, team), (Some(o), Some(t)) if !self.label_includes(o, t))
    }
}

/// Let `team`'s entry of `specificity` compete for secret `sid`: a more specific entry takes
/// the secret, an equally specific entry of another team makes it shared.
fn rank(
    best: &mut Option<Best>,
    ties: &mut FxHashMap<u32, BTreeSet<u16>>,
    sid: u32,
    specificity: Specificity,
    team: u16,
) {
    match best {
        Some(b) if specificity < b.specificity => {}
        Some(b) if specificity == b.specificity => {
            if b.team != team || ties.contains_key(&sid) {
                let tied = ties.entry(sid).or_insert_with(|| BTreeSet::from([b.team]));
                tied.insert(team);
            }
        }
        _ => {
            *best = Some(Best { specificity, team });
            ties.remove(&sid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(entry: &str) -> Specificity {
        OwnsEntry::new(entry).specificity
    }

    #[test]
    fn the_most_specific_entry_ranks_first() {
        // A later first wildcard wins, whatever follows it.
        assert!(spec("secret/data/x/*") > spec("secret/*"));
        assert!(spec("secret/data/x/*") > spec("secret/data/+/db"));
        // Exact over prefix of the same literal; a folder entry is a prefix.
        assert!(spec("secret/data/x/db") > spec("secret/data/x/db*"));
        assert_eq!(spec("data/"), spec("data/*"));
        // Same first wildcard: no trailing `*`, then fewer `+`, then longer.
        assert!(spec("a/+/b") > spec("a/+/b*"));
        assert!(spec("a/+/b/c") > spec("a/+/+/c"));
        assert!(spec("a/+/bb") > spec("a/+/b"));
        // Ties.
        assert_eq!(spec("a/+/b/+"), spec("a/+/+/c"));
        assert_eq!(spec("/secret/*"), spec("secret/*"));
    }

    #[test]
    fn entries_match_as_documented() {
        assert!(owns_match(
            "secret/data/payments/*",
            "secret/data/payments/db"
        ));
        assert!(!owns_match(
            "secret/data/payments/*",
            "secret/data/checkout/db"
        ));
        assert!(owns_match("data/", "data/secret/data/x"));
        assert!(owns_match("secret/data/+/db", "secret/data/payments/db"));
        assert!(!owns_match("secret/data/+/db", "secret/data/payments/x/db"));
        assert!(owns_match(
            "kv1/legacy/payments-ftp",
            "kv1/legacy/payments-ftp"
        ));
        assert_eq!(OwnsEntry::new("secret/data/+/db").literal(), "secret/data/");
        assert_eq!(OwnsEntry::new("data/").literal(), "data/");
    }

    #[test]
    fn nested_owners_yield_to_the_inner_one_and_tied_owners_share() {
        let inventory = Inventory::from_yaml_str(
            "teams:\n\
             - {name: x, owns: ['secret/data/x/*', 'a/+/b/+']}\n\
             - {name: y, owns: ['secret/*', 'secret/data/+/db', 'a/+/+/c', 'kv/s*']}\n\
             - {name: z, owns: ['kv/s*']}\n\
             pipelines: []\n",
            "inventory.yaml",
        )
        .unwrap();
        let rules = OwnershipRules::new(&inventory);
        assert_eq!(rules.owners_of("secret/data/x/db"), ["x"]);
        assert_eq!(rules.owners_of("secret/data/w/db"), ["y"]);
        assert_eq!(rules.owners_of("secret/other"), ["y"]);
        assert_eq!(rules.owners_of("a/1/b/c"), ["x", "y"]);
        assert_eq!(rules.owners_of("kv/s1"), ["y", "z"]);
        assert!(rules.owners_of("kv/t").is_empty());
    }

    #[test]
    fn owner_runs() {
        let o = Owners {
            owner: vec![0, 0, Owners::NONE, 1, 1, 1, Owners::NONE, 0],
            teams: vec!["a".into(), "b".into()],
            owners: Vec::new(),
            by_label: FxHashMap::default(),
        };
        let runs = o.runs();
        assert_eq!(
            runs,
            vec![(0, 0), (2, Owners::NONE), (3, 1), (6, Owners::NONE), (7, 0)]
        );
        let (own, un) = Owners::in_range(&runs, 1..5);
        assert_eq!(own.into_iter().collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!(un, 1);
        let (own, un) = Owners::in_range(&runs, 4..8);
        assert_eq!(own.into_iter().collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!(un, 1);
        let (own, un) = Owners::in_range(&runs, 2..3);
        assert!(own.is_empty());
        assert_eq!(un, 1);
        assert_eq!(Owners::in_range(&runs, 3..3).1, 0);
    }
}
