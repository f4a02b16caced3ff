//! Consistency checks beyond the JSON schema. A snapshot that loads is usable; these issues are
//! warnings for people (duplicates, dangling references, values that must never be stored).

use super::auth::SENSITIVE_CONFIG_FIELDS;
use super::policy::{is_root_policy, normalize_policy_name};
use super::{namespace_path, parent_namespace_path, AuthMount, Namespace, Snapshot};
use std::collections::{HashMap, HashSet};
use std::fmt;

/// One problem found by [`Snapshot::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationIssue {
    /// Where: a JSON path such as `namespaces[1].groups[0].member_group_ids`.
    pub json_path: String,
    pub message: String,
}

impl fmt::Display for ValidationIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.json_path, self.message)
    }
}

impl Snapshot {
    /// Check internal consistency: namespace paths and ids, duplicate mounts, accessors,
    /// policies, entity and group ids; references from aliases and groups to things that do
    /// not exist; KV keys that are not relative paths; credentials in the server address or
    /// key material in auth configs. Empty when all is well.
    pub fn validate(&self) -> Vec<ValidationIssue> {
        let mut validator = Validator::new(self);
        if self.server.address.contains('@') {
            validator.issue(
                "server.address".into(),
                "the address contains user info; only scheme, host and port may be stored".into(),
            );
        }
        for (ni, ns) in self.namespaces.iter().enumerate() {
            let at = format!("namespaces[{ni}]");
            validator.namespace(&at, ni, ns);
            validator.auth_mounts(&at, ns);
            validator.secret_mounts(&at, ns);
            validator.policies(&at, ns);
            validator.entities(&at, ns);
            validator.groups(&at, ns);
        }
        validator.issues
    }
}

/// The issues found so far, and what the checks of later namespaces compare with.
struct Validator<'s> {
    snapshot: &'s Snapshot,
    issues: Vec<ValidationIssue>,
    /// The snapshot's scope (its namespace path).
    scope: String,
    namespace_paths: HashMap<String, usize>,
    namespace_ids: HashMap<&'s str, usize>,
    /// Accessor → the JSON path of the first mount with it (empty until a mount claims it).
    accessors: HashMap<&'s str, String>,
    entity_ids: HashSet<&'s str>,
    group_ids: HashSet<&'s str>,
}

impl<'s> Validator<'s> {
    fn new(snapshot: &'s Snapshot) -> Self {
        let mut accessors: HashMap<&str, String> = HashMap::new();
        let mut entity_ids: HashSet<&str> = HashSet::new();
        let mut group_ids: HashSet<&str> = HashSet::new();
        for ns in &snapshot.namespaces {
            for m in &ns.auth_mounts {
                if !m.accessor.is_empty() {
                    accessors.entry(m.accessor.as_str()).or_default();
                }
            }
            entity_ids.extend(ns.entities.iter().map(|e| e.id.as_str()));
            group_ids.extend(ns.groups.iter().map(|g| g.id.as_str()));
        }
        Validator {
            snapshot,
            issues: Vec::new(),
            scope: namespace_path(&snapshot.scope.namespace).into_owned(),
            namespace_paths: HashMap::new(),
            namespace_ids: HashMap::new(),
            accessors,
            entity_ids,
            group_ids,
        }
    }

    fn issue(&mut self, json_path: String, message: String) {
        self.issues.push(ValidationIssue { json_path, message });
    }

    /// The namespace's path and id: canonical, unique, its parent present.
    fn namespace(&mut self, at: &str, ni: usize, ns: &'s Namespace) {
        let norm = namespace_path(&ns.path);
        if norm != ns.path.as_str() {
            self.issue(
                format!("{at}.path"),
                format!(
                    "namespace path {:?} is not in canonical form (expected {:?})",
                    ns.path, norm
                ),
            );
        }
        if let Some(prev) = self.namespace_paths.insert(norm.clone().into_owned(), ni) {
            self.issue(
                format!("{at}.path"),
                format!(
                    "duplicate namespace path {:?} (also namespaces[{prev}])",
                    ns.path
                ),
            );
        }
        if let Some(prev) = self.namespace_ids.insert(ns.id.as_str(), ni) {
            self.issue(
                format!("{at}.id"),
                format!(
                    "duplicate namespace id {:?} (also namespaces[{prev}])",
                    ns.id
                ),
            );
        }
        if norm.is_empty() != (ns.id == "root") {
            self.issue(
                format!("{at}.id"),
                "the root namespace (path \"\") and only it has id \"root\"".into(),
            );
        }
        if let Some(parent) = parent_namespace_path(&ns.path) {
            let in_scope = parent.starts_with(self.scope.as_str());
            if in_scope
                && !self
                    .snapshot
                    .namespaces
                    .iter()
                    .any(|n| namespace_path(&n.path) == parent.as_str())
            {
                self.issue(
                    format!("{at}.path"),
                    format!("the parent namespace {parent:?} is not in the snapshot"),
                );
            }
        }
    }

    fn auth_mounts(&mut self, at: &str, ns: &'s Namespace) {
        let mut auth_paths = HashSet::new();
        for (mi, m) in ns.auth_mounts.iter().enumerate() {
            let mat = format!("{at}.auth_mounts[{mi}]");
            if !m.path.ends_with('/') || m.path.starts_with('/') || m.path.starts_with("auth/") {
                self.issue(
                    format!("{mat}.path"),
                    format!(
                        "auth mount path {:?} must be as sys/auth lists it: no `auth/` prefix, a trailing `/`",
                        m.path
                    ),
                );
            }
            if !auth_paths.insert(m.name()) {
                self.issue(
                    format!("{mat}.path"),
                    format!("duplicate auth mount {:?}", m.path),
                );
            }
            self.accessor(&mat, m);
            if let Some(cfg) = &m.config {
                for f in SENSITIVE_CONFIG_FIELDS {
                    if cfg.get(*f).is_some_and(|v| !v.is_null() && v != "") {
                        self.issue(
                            format!("{mat}.config.{f}"),
                            "secret or key material must never be stored in a snapshot".into(),
                        );
                    }
                }
            }
            let mut names = HashSet::new();
            for r in m.roles() {
                if !names.insert((r.kind(), r.collection(), r.name())) {
                    self.issue(
                        format!("{mat}.roles.{}", r.kind().as_str()),
                        format!("duplicate role {:?}", r.name()),
                    );
                }
            }
        }
    }

    /// An auth mount's accessor: present, and no other mount's.
    fn accessor(&mut self, mat: &str, m: &'s AuthMount) {
        if m.accessor.is_empty() {
            self.issue(format!("{mat}.accessor"), "empty accessor".into());
            return;
        }
        let owner = self.accessors.entry(m.accessor.as_str()).or_default();
        if owner.is_empty() {
            *owner = mat.to_string();
            return;
        }
        let message = format!("accessor {:?} is also used by {owner}", m.accessor);
        self.issue(format!("{mat}.accessor"), message);
    }

    fn secret_mounts(&mut self, at: &str, ns: &Namespace) {
        let mut secret_paths = HashSet::new();
        for (mi, m) in ns.secret_mounts.iter().enumerate() {
            let mat = format!("{at}.secret_mounts[{mi}]");
            if !m.path.ends_with('/') || m.path.starts_with('/') {
                self.issue(
                    format!("{mat}.path"),
                    format!(
                        "secret mount path {:?} must end with `/` and not start with one",
                        m.path
                    ),
                );
            }
            if !secret_paths.insert(m.name()) {
                self.issue(
                    format!("{mat}.path"),
                    format!("duplicate secret mount {:?}", m.path),
                );
            }
            for (ki, k) in m.secrets.keys.iter().enumerate() {
                if k.is_empty() || k.starts_with('/') || k.contains("//") {
                    self.issue(
                        format!("{mat}.secrets.keys[{ki}]"),
                        format!("key {k:?} is not a path relative to the mount"),
                    );
                }
            }
        }
    }

    fn policies(&mut self, at: &str, ns: &Namespace) {
        let mut names = HashSet::new();
        for (pi, p) in ns.policies.iter().enumerate() {
            let key = normalize_policy_name(&p.name);
            if is_root_policy(&key) {
                self.issue(
                    format!("{at}.policies[{pi}].name"),
                    "the root policy is virtual and must not be stored".into(),
                );
            }
            if !names.insert(key) {
                self.issue(
                    format!("{at}.policies[{pi}].name"),
                    format!("duplicate policy {:?} (names are case-insensitive)", p.name),
                );
            }
        }
    }

    fn entities(&mut self, at: &str, ns: &Namespace) {
        let mut seen = HashSet::new();
        for (ei, e) in ns.entities.iter().enumerate() {
            if !seen.insert(e.id.as_str()) {
                self.issue(
                    format!("{at}.entities[{ei}].id"),
                    format!("duplicate entity id {:?}", e.id),
                );
            }
            for (ai, a) in e.aliases.iter().enumerate() {
                if !self.accessors.contains_key(a.mount_accessor.as_str()) {
                    self.issue(
                        format!("{at}.entities[{ei}].aliases[{ai}].mount_accessor"),
                        format!("no auth mount has accessor {:?}", a.mount_accessor),
                    );
                }
            }
        }
    }

    fn groups(&mut self, at: &str, ns: &Namespace) {
        let mut seen = HashSet::new();
        for (gi, g) in ns.groups.iter().enumerate() {
            let gat = format!("{at}.groups[{gi}]");
            if !seen.insert(g.id.as_str()) {
                self.issue(
                    format!("{gat}.id"),
                    format!("duplicate group id {:?}", g.id),
                );
            }
            for e in &g.member_entity_ids {
                if !self.entity_ids.contains(e.as_str()) {
                    self.issue(
                        format!("{gat}.member_entity_ids"),
                        format!("unknown entity {e:?}"),
                    );
                }
            }
            for (field, ids) in [
                ("member_group_ids", &g.member_group_ids),
                ("parent_group_ids", &g.parent_group_ids),
            ] {
                for id in ids {
                    if !self.group_ids.contains(id.as_str()) {
                        self.issue(format!("{gat}.{field}"), format!("unknown group {id:?}"));
                    } else if id == &g.id {
                        self.issue(
                            format!("{gat}.{field}"),
                            "a group cannot contain itself".into(),
                        );
                    }
                }
            }
            if let Some(a) = &g.alias {
                if !g.is_external() {
                    self.issue(
                        format!("{gat}.alias"),
                        "only external groups have an alias".into(),
                    );
                }
                if !self.accessors.contains_key(a.mount_accessor.as_str()) {
                    self.issue(
                        format!("{gat}.alias.mount_accessor"),
                        format!("no auth mount has accessor {:?}", a.mount_accessor),
                    );
                }
            }
        }
    }
}
