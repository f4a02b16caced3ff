//! Lookup indexes over a loaded snapshot, built once and queried many times.

use super::policy::normalize_policy_name;
use super::{namespace_path, AuthMount, Entity, Group, Namespace, Policy, SecretMount, Snapshot};
use std::collections::{HashMap, HashSet, VecDeque};

type Loc = (usize, usize);

/// Hash indexes over a [`Snapshot`]: namespaces by path and id, policies by (namespace, name)
/// with the policy store's case-insensitivity, auth mounts by accessor and path, entities and
/// groups by id and name, aliases by (mount accessor, name), and group ancestry.
///
/// Lookups that are global (accessor, entity id, group id, alias) return the namespace too.
#[derive(Debug)]
pub struct SnapshotIndex<'a> {
    snapshot: &'a Snapshot,
    ns_by_path: HashMap<String, usize>,
    ns_by_id: HashMap<&'a str, usize>,
    policies: Vec<HashMap<String, usize>>,
    auth_by_accessor: HashMap<&'a str, Loc>,
    auth_by_path: Vec<HashMap<&'a str, usize>>,
    secret_by_path: Vec<HashMap<&'a str, usize>>,
    entities: HashMap<&'a str, Loc>,
    entity_by_name: Vec<HashMap<&'a str, usize>>,
    groups: HashMap<&'a str, Loc>,
    group_by_name: Vec<HashMap<&'a str, usize>>,
    entity_aliases: HashMap<(&'a str, &'a str), Loc>,
    group_aliases: HashMap<(&'a str, &'a str), Loc>,
    direct_groups: HashMap<&'a str, Vec<Loc>>,
    parents: HashMap<&'a str, Vec<Loc>>,
}

/// The groups an entity belongs to: directly (it is in their `member_entity_ids`) and inherited
/// (ancestors of those through `parent_group_ids`/`member_group_ids`), each group once.
#[derive(Debug, Clone, Default)]
pub struct EntityGroups<'a> {
    pub direct: Vec<(&'a Namespace, &'a Group)>,
    pub inherited: Vec<(&'a Namespace, &'a Group)>,
}

impl<'a> EntityGroups<'a> {
    /// Direct groups first, then inherited ones.
    pub fn all(&self) -> impl Iterator<Item = (&'a Namespace, &'a Group)> + '_ {
        self.direct.iter().chain(self.inherited.iter()).copied()
    }

    pub fn is_empty(&self) -> bool {
        self.direct.is_empty() && self.inherited.is_empty()
    }

    pub fn len(&self) -> usize {
        self.direct.len() + self.inherited.len()
    }
}

fn trimmed(p: &str) -> &str {
    let path = p.trim_matches('/');
    path.strip_prefix("auth/").unwrap_or(path)
}

impl<'a> SnapshotIndex<'a> {
    /// Build every index (linear in the size of the snapshot, KV keys excluded).
    pub fn new(snapshot: &'a Snapshot) -> SnapshotIndex<'a> {
        let count = snapshot.namespaces.len();
        let mut index = SnapshotIndex {
            snapshot,
            ns_by_path: HashMap::with_capacity(count),
            ns_by_id: HashMap::with_capacity(count),
            policies: Vec::with_capacity(count),
            auth_by_accessor: HashMap::new(),
            auth_by_path: Vec::with_capacity(count),
            secret_by_path: Vec::with_capacity(count),
            entities: HashMap::new(),
            entity_by_name: Vec::with_capacity(count),
            groups: HashMap::new(),
            group_by_name: Vec::with_capacity(count),
            entity_aliases: HashMap::new(),
            group_aliases: HashMap::new(),
            direct_groups: HashMap::new(),
            parents: HashMap::new(),
        };
        for (ni, ns) in snapshot.namespaces.iter().enumerate() {
            index
                .ns_by_path
                .entry(namespace_path(&ns.path).into_owned())
                .or_insert(ni);
            index.ns_by_id.entry(ns.id.as_str()).or_insert(ni);

            let mut pol = HashMap::with_capacity(ns.policies.len());
            for (pi, p) in ns.policies.iter().enumerate() {
                pol.entry(normalize_policy_name(&p.name)).or_insert(pi);
            }
            index.policies.push(pol);

            let mut auth = HashMap::with_capacity(ns.auth_mounts.len());
            for (mi, m) in ns.auth_mounts.iter().enumerate() {
                auth.entry(trimmed(&m.path)).or_insert(mi);
                if !m.accessor.is_empty() {
                    index
                        .auth_by_accessor
                        .entry(m.accessor.as_str())
                        .or_insert((ni, mi));
                }
            }
            index.auth_by_path.push(auth);

            let mut sec = HashMap::with_capacity(ns.secret_mounts.len());
            for (mi, m) in ns.secret_mounts.iter().enumerate() {
                sec.entry(m.path.trim_matches('/')).or_insert(mi);
            }
            index.secret_by_path.push(sec);

            let mut ent_names = HashMap::with_capacity(ns.entities.len());
            for (ei, e) in ns.entities.iter().enumerate() {
                index.entities.entry(e.id.as_str()).or_insert((ni, ei));
                ent_names.entry(e.name.as_str()).or_insert(ei);
                for a in &e.aliases {
                    index
                        .entity_aliases
                        .entry((a.mount_accessor.as_str(), a.name.as_str()))
                        .or_insert((ni, ei));
                }
            }
            index.entity_by_name.push(ent_names);

            let mut grp_names = HashMap::with_capacity(ns.groups.len());
            for (gi, g) in ns.groups.iter().enumerate() {
                index.groups.entry(g.id.as_str()).or_insert((ni, gi));
                grp_names.entry(g.name.as_str()).or_insert(gi);
                if let Some(a) = &g.alias {
                    index
                        .group_aliases
                        .entry((a.mount_accessor.as_str(), a.name.as_str()))
                        .or_insert((ni, gi));
                }
            }
            index.group_by_name.push(grp_names);
        }

        // Membership and ancestry, once every group id is known.
        for (ni, ns) in snapshot.namespaces.iter().enumerate() {
            for (gi, g) in ns.groups.iter().enumerate() {
                for e in &g.member_entity_ids {
                    push_unique(index.direct_groups.entry(e.as_str()).or_default(), (ni, gi));
                }
                for p in &g.parent_group_ids {
                    if let Some(&loc) = index.groups.get(p.as_str()) {
                        push_unique(index.parents.entry(g.id.as_str()).or_default(), loc);
                    }
                }
                for child in &g.member_group_ids {
                    if let Some(&(cn, cg)) = index.groups.get(child.as_str()) {
                        let child_id = snapshot.namespaces[cn].groups[cg].id.as_str();
                        push_unique(index.parents.entry(child_id).or_default(), (ni, gi));
                    }
                }
            }
        }
        index
    }

    /// The indexed snapshot.
    pub fn snapshot(&self) -> &'a Snapshot {
        self.snapshot
    }

    fn ns_index(&self, path: &str) -> Option<usize> {
        self.ns_by_path.get(namespace_path(path).as_ref()).copied()
    }

    fn group_at(&self, (n, g): Loc) -> (&'a Namespace, &'a Group) {
        let ns = &self.snapshot.namespaces[n];
        (ns, &ns.groups[g])
    }

    /// A namespace by path (`""`/`"root"`, `"team-a"`, `"team-a/"`).
    pub fn namespace(&self, path: &str) -> Option<&'a Namespace> {
        self.ns_index(path).map(|i| &self.snapshot.namespaces[i])
    }

    /// A namespace by id (`"root"` for the root).
    pub fn namespace_by_id(&self, id: &str) -> Option<&'a Namespace> {
        self.ns_by_id.get(id).map(|&i| &self.snapshot.namespaces[i])
    }

    /// A policy by name in a namespace, looked up as the policy store does (trimmed,
    /// lowercased). The virtual `root` policy is never found here.
    pub fn policy(&self, namespace: &str, name: &str) -> Option<&'a Policy> {
        let ns_index = self.ns_index(namespace)?;
        let policy_index = *self.policies[ns_index].get(&normalize_policy_name(name))?;
        Some(&self.snapshot.namespaces[ns_index].policies[policy_index])
    }

    /// An auth mount by accessor (accessors are unique across namespaces).
    pub fn auth_mount_by_accessor(&self, accessor: &str) -> Option<(&'a Namespace, &'a AuthMount)> {
        let &(n, m) = self.auth_by_accessor.get(accessor)?;
        let ns = &self.snapshot.namespaces[n];
        Some((ns, &ns.auth_mounts[m]))
    }

    /// An auth mount by path in a namespace (`"gha"`, `"gha/"`, `"auth/gha/"`).
    pub fn auth_mount(&self, namespace: &str, path: &str) -> Option<&'a AuthMount> {
        let ns_index = self.ns_index(namespace)?;
        let mount_index = *self.auth_by_path[ns_index].get(trimmed(path))?;
        Some(&self.snapshot.namespaces[ns_index].auth_mounts[mount_index])
    }

    /// A secret mount by path in a namespace (`"secret"`, `"secret/"`).
    pub fn secret_mount(&self, namespace: &str, path: &str) -> Option<&'a SecretMount> {
        let ns_index = self.ns_index(namespace)?;
        let mount_index = *self.secret_by_path[ns_index].get(path.trim_matches('/'))?;
        Some(&self.snapshot.namespaces[ns_index].secret_mounts[mount_index])
    }

    /// An entity by id.
    pub fn entity(&self, id: &str) -> Option<(&'a Namespace, &'a Entity)> {
        let &(n, e) = self.entities.get(id)?;
        let ns = &self.snapshot.namespaces[n];
        Some((ns, &ns.entities[e]))
    }

    /// An entity by name in a namespace.
    pub fn entity_by_name(&self, namespace: &str, name: &str) -> Option<&'a Entity> {
        let ns_index = self.ns_index(namespace)?;
        let entity_index = *self.entity_by_name[ns_index].get(name)?;
        Some(&self.snapshot.namespaces[ns_index].entities[entity_index])
    }

    /// The entity a login maps to: the entity with an alias of this name on the mount with this
    /// accessor.
    pub fn entity_by_alias(
        &self,
        mount_accessor: &str,
        alias_name: &str,
    ) -> Option<(&'a Namespace, &'a Entity)> {
        let &(n, e) = self.entity_aliases.get(&(mount_accessor, alias_name))?;
        let ns = &self.snapshot.namespaces[n];
        Some((ns, &ns.entities[e]))
    }

    /// The entity with an alias on the mount with this accessor whose metadata has `key` =
    /// `value` (AppRole logins: `role_name`, since alias names are redacted role-ids).
    pub fn entity_by_alias_metadata(
        &self,
        mount_accessor: &str,
        key: &str,
        value: &str,
    ) -> Option<(&'a Namespace, &'a Entity)> {
        self.snapshot.namespaces.iter().find_map(|ns| {
            ns.entities
                .iter()
                .find(|e| {
                    e.aliases
                        .iter()
                        .any(|a| a.mount_accessor == mount_accessor && a.meta(key) == Some(value))
                })
                .map(|e| (ns, e))
        })
    }

    /// A group by id.
    pub fn group(&self, id: &str) -> Option<(&'a Namespace, &'a Group)> {
        self.groups.get(id).map(|&l| self.group_at(l))
    }

    /// A group by name in a namespace (exact, then ASCII case-insensitive).
    pub fn group_by_name(&self, namespace: &str, name: &str) -> Option<&'a Group> {
        let ns_index = self.ns_index(namespace)?;
        let ns = &self.snapshot.namespaces[ns_index];
        match self.group_by_name[ns_index].get(name) {
            Some(&gi) => Some(&ns.groups[gi]),
            None => ns.groups.iter().find(|g| g.name.eq_ignore_ascii_case(name)),
        }
    }

    /// The external group whose alias has this name on the mount with this accessor.
    pub fn group_by_alias(
        &self,
        mount_accessor: &str,
        alias_name: &str,
    ) -> Option<(&'a Namespace, &'a Group)> {
        self.group_aliases
            .get(&(mount_accessor, alias_name))
            .map(|&l| self.group_at(l))
    }

    /// The parent groups of a group (from its `parent_group_ids` and from the groups listing it
    /// in `member_group_ids`).
    pub fn parent_groups(&self, group_id: &str) -> Vec<(&'a Namespace, &'a Group)> {
        self.parents
            .get(group_id)
            .map(|v| v.iter().map(|&l| self.group_at(l)).collect())
            .unwrap_or_default()
    }

    /// Every ancestor of a group (parents, their parents, …), each once, nearest first.
    /// Cycle-safe. The group itself is not included.
    pub fn group_ancestors(&self, group_id: &str) -> Vec<(&'a Namespace, &'a Group)> {
        let Some(&loc) = self.groups.get(group_id) else {
            return Vec::new();
        };
        let id: &'a str = self.group_at(loc).1.id.as_str();
        let mut seen: HashSet<&'a str> = HashSet::new();
        seen.insert(id);
        let start: Vec<Loc> = self.parents.get(id).cloned().unwrap_or_default();
        self.walk_up(start, &mut seen)
    }

    fn walk_up(
        &self,
        start: Vec<Loc>,
        seen: &mut HashSet<&'a str>,
    ) -> Vec<(&'a Namespace, &'a Group)> {
        let mut out = Vec::new();
        let mut queue: VecDeque<Loc> = start.into();
        while let Some(loc) = queue.pop_front() {
            let (ns, g) = self.group_at(loc);
            if !seen.insert(g.id.as_str()) {
                continue;
            }
            out.push((ns, g));
            if let Some(ps) = self.parents.get(g.id.as_str()) {
                queue.extend(ps.iter().copied());
            }
        }
        out
    }

    /// The groups of an entity: direct (it is a listed member) and inherited (every ancestor of
    /// a direct group), each once. Cycle-safe.
    pub fn groups_of_entity(&self, entity_id: &str) -> EntityGroups<'a> {
        let mut seen: HashSet<&'a str> = HashSet::new();
        let mut out = EntityGroups::default();
        let direct: &[Loc] = self
            .direct_groups
            .get(entity_id)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        for &loc in direct {
            let (ns, g) = self.group_at(loc);
            if seen.insert(g.id.as_str()) {
                out.direct.push((ns, g));
            }
        }
        let start: Vec<Loc> = direct
            .iter()
            .flat_map(|&loc| {
                let id = self.group_at(loc).1.id.as_str();
                self.parents.get(id).into_iter().flatten().copied()
            })
            .collect();
        out.inherited = self.walk_up(start, &mut seen);
        out
    }
}

fn push_unique(v: &mut Vec<Loc>, l: Loc) {
    if !v.contains(&l) {
        v.push(l);
    }
}
