//! Consistency checks beyond the JSON schema. A snapshot that loads is usable; these issues are
//! warnings for people (duplicates, dangling references, values that must never be stored).

use super::auth::SENSITIVE_CONFIG_FIELDS;
use super::policy::{is_root_policy, normalize_policy_name};
use super::{namespace_path, parent_namespace_path, Snapshot};
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
        let mut out = Vec::new();
        let mut issue =
            |json_path: String, message: String| out.push(ValidationIssue { json_path, message });

        if self.server.address.contains('@') {
            issue(
                "server.address".into(),
                "the address contains user info; only scheme, host and port may be stored".into(),
            );
        }

        let mut ns_paths: HashMap<String, usize> = HashMap::new();
        let mut ns_ids: HashMap<&str, usize> = HashMap::new();
        let mut accessors: HashMap<&str, String> = HashMap::new();
        let mut entity_ids: HashSet<&str> = HashSet::new();
        let mut group_ids: HashSet<&str> = HashSet::new();
        for ns in &self.namespaces {
            for m in &ns.auth_mounts {
                if !m.accessor.is_empty() {
                    accessors.entry(m.accessor.as_str()).or_default();
                }
            }
            entity_ids.extend(ns.entities.iter().map(|e| e.id.as_str()));
            group_ids.extend(ns.groups.iter().map(|g| g.id.as_str()));
        }
        let scope = namespace_path(&self.scope.namespace).into_owned();

        for (ni, ns) in self.namespaces.iter().enumerate() {
            let at = format!("namespaces[{ni}]");
            let norm = namespace_path(&ns.path);
            if norm != ns.path.as_str() {
                issue(
                    format!("{at}.path"),
                    format!(
                        "namespace path {:?} is not in canonical form (expected {:?})",
                        ns.path, norm
                    ),
                );
            }
            if let Some(prev) = ns_paths.insert(norm.clone().into_owned(), ni) {
                issue(
                    format!("{at}.path"),
                    format!(
                        "duplicate namespace path {:?} (also namespaces[{prev}])",
                        ns.path
                    ),
                );
            }
            if let Some(prev) = ns_ids.insert(ns.id.as_str(), ni) {
                issue(
                    format!("{at}.id"),
                    format!(
                        "duplicate namespace id {:?} (also namespaces[{prev}])",
                        ns.id
                    ),
                );
            }
            if norm.is_empty() != (ns.id == "root") {
                issue(
                    format!("{at}.id"),
                    "the root namespace (path \"\") and only it has id \"root\"".into(),
                );
            }
            if let Some(parent) = parent_namespace_path(&ns.path) {
                let in_scope = parent.starts_with(scope.as_str());
                if in_scope
                    && !self
                        .namespaces
                        .iter()
                        .any(|n| namespace_path(&n.path) == parent.as_str())
                {
                    issue(
                        format!("{at}.path"),
                        format!("the parent namespace {parent:?} is not in the snapshot"),
                    );
                }
            }

            let mut auth_paths = HashSet::new();
            for (mi, m) in ns.auth_mounts.iter().enumerate() {
                let mat = format!("{at}.auth_mounts[{mi}]");
                if !m.path.ends_with('/') || m.path.starts_with('/') || m.path.starts_with("auth/")
                {
                    issue(
                        format!("{mat}.path"),
                        format!(
                            "auth mount path {:?} must be as sys/auth lists it: no `auth/` prefix, a trailing `/`",
                            m.path
                        ),
                    );
                }
                if !auth_paths.insert(m.name()) {
                    issue(
                        format!("{mat}.path"),
                        format!("duplicate auth mount {:?}", m.path),
                    );
                }
                if m.accessor.is_empty() {
                    issue(format!("{mat}.accessor"), "empty accessor".into());
                } else {
                    let owner = accessors.entry(m.accessor.as_str()).or_default();
                    if owner.is_empty() {
                        *owner = mat.clone();
                    } else {
                        issue(
                            format!("{mat}.accessor"),
                            format!("accessor {:?} is also used by {owner}", m.accessor),
                        );
                    }
                }
                if let Some(cfg) = &m.config {
                    for f in SENSITIVE_CONFIG_FIELDS {
                        if cfg.get(*f).is_some_and(|v| !v.is_null() && v != "") {
                            issue(
                                format!("{mat}.config.{f}"),
                                "secret or key material must never be stored in a snapshot".into(),
                            );
                        }
                    }
                }
                let mut names = HashSet::new();
                for r in m.roles() {
                    if !names.insert((r.kind(), r.collection(), r.name())) {
                        issue(
                            format!("{mat}.roles.{}", r.kind().as_str()),
                            format!("duplicate role {:?}", r.name()),
                        );
                    }
                }
            }

            let mut secret_paths = HashSet::new();
            for (mi, m) in ns.secret_mounts.iter().enumerate() {
                let mat = format!("{at}.secret_mounts[{mi}]");
                if !m.path.ends_with('/') || m.path.starts_with('/') {
                    issue(
                        format!("{mat}.path"),
                        format!(
                            "secret mount path {:?} must end with `/` and not start with one",
                            m.path
                        ),
                    );
                }
                if !secret_paths.insert(m.name()) {
                    issue(
                        format!("{mat}.path"),
                        format!("duplicate secret mount {:?}", m.path),
                    );
                }
                for (ki, k) in m.secrets.keys.iter().enumerate() {
                    if k.is_empty() || k.starts_with('/') || k.contains("//") {
                        issue(
                            format!("{mat}.secrets.keys[{ki}]"),
                            format!("key {k:?} is not a path relative to the mount"),
                        );
                    }
                }
            }

            let mut pol_names = HashSet::new();
            for (pi, p) in ns.policies.iter().enumerate() {
                let key = normalize_policy_name(&p.name);
                if is_root_policy(&key) {
                    issue(
                        format!("{at}.policies[{pi}].name"),
                        "the root policy is virtual and must not be stored".into(),
                    );
                }
                if !pol_names.insert(key) {
                    issue(
                        format!("{at}.policies[{pi}].name"),
                        format!("duplicate policy {:?} (names are case-insensitive)", p.name),
                    );
                }
            }

            let mut seen_entities = HashSet::new();
            for (ei, e) in ns.entities.iter().enumerate() {
                if !seen_entities.insert(e.id.as_str()) {
                    issue(
                        format!("{at}.entities[{ei}].id"),
                        format!("duplicate entity id {:?}", e.id),
                    );
                }
                for (ai, a) in e.aliases.iter().enumerate() {
                    if !accessors.contains_key(a.mount_accessor.as_str()) {
                        issue(
                            format!("{at}.entities[{ei}].aliases[{ai}].mount_accessor"),
                            format!("no auth mount has accessor {:?}", a.mount_accessor),
                        );
                    }
                }
            }

            let mut seen_groups = HashSet::new();
            for (gi, g) in ns.groups.iter().enumerate() {
                let gat = format!("{at}.groups[{gi}]");
                if !seen_groups.insert(g.id.as_str()) {
                    issue(
                        format!("{gat}.id"),
                        format!("duplicate group id {:?}", g.id),
                    );
                }
                for e in &g.member_entity_ids {
                    if !entity_ids.contains(e.as_str()) {
                        issue(
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
                        if !group_ids.contains(id.as_str()) {
                            issue(format!("{gat}.{field}"), format!("unknown group {id:?}"));
                        } else if id == &g.id {
                            issue(
                                format!("{gat}.{field}"),
                                "a group cannot contain itself".into(),
                            );
                        }
                    }
                }
                if let Some(a) = &g.alias {
                    if !g.is_external() {
                        issue(
                            format!("{gat}.alias"),
                            "only external groups have an alias".into(),
                        );
                    }
                    if !accessors.contains_key(a.mount_accessor.as_str()) {
                        issue(
                            format!("{gat}.alias.mount_accessor"),
                            format!("no auth mount has accessor {:?}", a.mount_accessor),
                        );
                    }
                }
            }
        }
        out
    }
}
