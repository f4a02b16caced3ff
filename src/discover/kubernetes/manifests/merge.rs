//! Strategic merge patches, as Kustomize applies them (its `kyaml` merge):
//!
//! - mappings merge key by key, recursively; a key set to `null` is deleted;
//! - `$patch: delete` in a mapping deletes it (the whole object at the top), `$patch: replace`
//!   replaces it with the rest of the patch's mapping;
//! - lists are replaced, except the lists Kubernetes declares a merge key for (`patchMergeKey`),
//!   which merge item by item on that key: an item of the patch merges into the item with the
//!   same key, `$patch: delete` in it deletes that item, and new items come first (Kustomize
//!   prepends them). Custom resources (every group outside the built-in ones) publish no merge
//!   keys, so their lists are always replaced; for built-in objects only the lists that matter
//!   here merge: `containers`, `initContainers`, `ephemeralContainers`, `volumes`, `env`,
//!   `imagePullSecrets` (key `name`) and `volumeMounts` (key `mountPath`). Other built-in lists
//!   (`ports`, `tolerations`, …) are replaced, where Kubernetes would merge some of them;
//! - other directives (`$retainKeys`, `$setElementOrder/…`, `$deleteFromPrimitiveList/…`) are
//!   dropped, not applied.
//!
//! The patch never changes the object's identity: `apiVersion`, `kind`, `metadata.name` and
//! `metadata.namespace` are kept (Kustomize matches them, or sets the patch's to the target's).

use yaml_serde::{Mapping, Value};

use super::super::Unusable;
use super::Step;

/// Nesting of mappings and lists followed at most.
pub(super) const MAX_NESTING: usize = 100;

/// How the lists of an object merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lists {
    /// A custom resource: no merge keys, every list is replaced.
    Replace,
    /// A built-in object: the lists with a Kubernetes merge key merge on it.
    ByMergeKey,
}

impl Lists {
    /// The rule for objects of an API group (`""` is the core group).
    pub(super) fn of_group(group: &str) -> Lists {
        let built_in = group.is_empty()
            || matches!(
                group,
                "apps" | "batch" | "extensions" | "policy" | "autoscaling" | "networking.k8s.io"
            );
        if built_in {
            Lists::ByMergeKey
        } else {
            Lists::Replace
        }
    }

    fn merge_key(self, list: &str) -> Option<&'static str> {
        if self == Lists::Replace {
            return None;
        }
        match list {
            "containers"
            | "initContainers"
            | "ephemeralContainers"
            | "volumes"
            | "env"
            | "imagePullSecrets" => Some("name"),
            "volumeMounts" => Some("mountPath"),
            _ => None,
        }
    }
}

/// What became of the object.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Merged {
    Kept,
    /// The patch says `$patch: delete` at its top.
    Deleted,
}

/// Merge `patch` into the object `target`; `changed` hears the paths whose value changed (a
/// list whose items moved is changed as a whole). On an error `target` is unchanged.
pub(super) fn strategic_merge(
    target: &mut Value,
    patch: &Value,
    lists: Lists,
    changed: &mut Vec<Vec<Step>>,
) -> Result<Merged, Unusable> {
    let Some(patch) = patch.as_mapping() else {
        return Err(Unusable::from("a strategic merge patch is a mapping"));
    };
    if directive(patch) == Some("delete") {
        return Ok(Merged::Deleted);
    }
    let patch = without_identity(patch);
    let mut work = target.clone();
    let Some(map) = work.as_mapping_mut() else {
        return Err(Unusable::from("the object is not a mapping"));
    };
    let mut merge = Merge {
        lists,
        changed: Vec::new(),
        path: Vec::new(),
    };
    merge.mapping(map, &patch, 0)?;
    *target = work;
    changed.extend(merge.changed);
    Ok(Merged::Kept)
}

/// The patch without the fields that name the object.
fn without_identity(patch: &Mapping) -> Mapping {
    let mut patch = patch.clone();
    patch.shift_remove("apiVersion");
    patch.shift_remove("kind");
    if let Some(Value::Mapping(meta)) = patch.get_mut("metadata") {
        meta.shift_remove("name");
        meta.shift_remove("namespace");
    }
    patch
}

/// A mapping's `$patch` directive.
fn directive(map: &Mapping) -> Option<&str> {
    map.get("$patch").and_then(Value::as_str)
}

fn is_directive(key: &Value) -> bool {
    key.as_str().is_some_and(|k| k.starts_with('$'))
}

struct Merge {
    lists: Lists,
    changed: Vec<Vec<Step>>,
    /// Where the merge is, for `changed`.
    path: Vec<Step>,
}

impl Merge {
    fn mark(&mut self) {
        self.changed.push(self.path.clone());
    }

    fn mapping(
        &mut self,
        target: &mut Mapping,
        patch: &Mapping,
        depth: usize,
    ) -> Result<(), Unusable> {
        let depth = nested(depth)?;
        if directive(patch) == Some("replace") {
            *target = clean_mapping(patch, depth)?;
            self.mark();
            return Ok(());
        }
        for (key, value) in patch {
            if is_directive(key) {
                continue;
            }
            let name = key
                .as_str()
                .map_or_else(|| format!("{key:?}"), str::to_string);
            self.path.push(Step::Key(name));
            self.field(target, key, value, depth)?;
            self.path.pop();
        }
        Ok(())
    }

    fn field(
        &mut self,
        target: &mut Mapping,
        key: &Value,
        value: &Value,
        depth: usize,
    ) -> Result<(), Unusable> {
        let deletes = value.is_null()
            || value
                .as_mapping()
                .is_some_and(|m| directive(m) == Some("delete"));
        if deletes {
            if target.shift_remove(key).is_some() {
                self.mark();
            }
            return Ok(());
        }
        let Some(current) = target.get_mut(key) else {
            target.insert(key.clone(), clean(value, depth)?);
            self.mark();
            return Ok(());
        };
        if let (Value::Mapping(into), Value::Mapping(from)) = (&mut *current, value) {
            return self.mapping(into, from, depth);
        }
        if let (Value::Sequence(into), Value::Sequence(from)) = (&mut *current, value) {
            return match self.lists.merge_key(key.as_str().unwrap_or("")) {
                Some(merge_key) => self.keyed_list(into, from, merge_key, depth),
                None => self.replace(current, value, depth),
            };
        }
        let container = |v: &Value| matches!(v, Value::Mapping(_) | Value::Sequence(_));
        if !current.is_null() && (container(current) || container(value)) {
            return Err(Unusable::from(format!(
                "{}: the patch and the object disagree on the kind of value (mapping, list or scalar)",
                shown(&self.path)
            )));
        }
        self.replace(current, value, depth)
    }

    /// Replace a value with the patch's (cleaned), noting it when it differs.
    fn replace(
        &mut self,
        current: &mut Value,
        value: &Value,
        depth: usize,
    ) -> Result<(), Unusable> {
        let new = clean(value, depth)?;
        if *current != new {
            *current = new;
            self.mark();
        }
        Ok(())
    }

    /// Merge a list whose items are identified by `merge_key`.
    fn keyed_list(
        &mut self,
        target: &mut Vec<Value>,
        patch: &[Value],
        merge_key: &str,
        depth: usize,
    ) -> Result<(), Unusable> {
        let depth = nested(depth)?;
        // A `- $patch: replace` item: the list becomes the patch's other items.
        let replaces = patch.iter().any(|item| {
            item.as_mapping()
                .is_some_and(|m| directive(m) == Some("replace") && m.len() == 1)
        });
        if replaces {
            *target = clean_list(patch, depth)?;
            self.mark();
            return Ok(());
        }
        let mut added = Vec::new();
        let mut shifted = false;
        for item in patch {
            let key = item.as_mapping().and_then(|m| m.get(merge_key));
            let found = key.and_then(|k| {
                target
                    .iter()
                    .position(|t| t.as_mapping().and_then(|m| m.get(merge_key)) == Some(k))
            });
            match (found, item.as_mapping()) {
                (Some(i), Some(m)) if directive(m) == Some("delete") => {
                    target.remove(i);
                    shifted = true;
                }
                (None, Some(m)) if directive(m) == Some("delete") => {}
                (Some(i), Some(m)) => {
                    self.path.push(Step::Item(i));
                    let into = target[i].as_mapping_mut().ok_or_else(|| {
                        Unusable::from(format!("{}: not a mapping", shown(&self.path)))
                    })?;
                    self.mapping(into, m, depth)?;
                    self.path.pop();
                }
                _ => added.push(clean(item, depth)?),
            }
        }
        if shifted || !added.is_empty() {
            added.append(target);
            *target = added;
            self.mark();
        }
        Ok(())
    }
}

/// A patch's value as it lands in the object: directives and `null` keys removed, list items
/// carrying a `$patch` directive (deleting themselves, or marking a list to replace) dropped.
fn clean(value: &Value, depth: usize) -> Result<Value, Unusable> {
    match value {
        Value::Mapping(map) => clean_mapping(map, depth).map(Value::Mapping),
        Value::Sequence(items) => clean_list(items, depth).map(Value::Sequence),
        other => Ok(other.clone()),
    }
}

fn clean_mapping(map: &Mapping, depth: usize) -> Result<Mapping, Unusable> {
    let depth = nested(depth)?;
    let mut out = Mapping::new();
    for (k, v) in map {
        if is_directive(k) || v.is_null() {
            continue;
        }
        if v.as_mapping()
            .is_some_and(|m| directive(m) == Some("delete"))
        {
            continue;
        }
        out.insert(k.clone(), clean(v, depth)?);
    }
    Ok(out)
}

fn clean_list(items: &[Value], depth: usize) -> Result<Vec<Value>, Unusable> {
    let depth = nested(depth)?;
    items
        .iter()
        .filter(|i| i.as_mapping().is_none_or(|m| directive(m).is_none()))
        .map(|i| clean(i, depth))
        .collect()
}

fn nested(depth: usize) -> Result<usize, Unusable> {
    if depth >= MAX_NESTING {
        return Err(Unusable::from(format!(
            "the patch nests deeper than {MAX_NESTING} levels"
        )));
    }
    Ok(depth + 1)
}

/// A path as `spec.template.containers[0]`, for messages.
fn shown(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(k) if out.is_empty() => out.push_str(k),
            Step::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Step::Item(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Value {
        yaml_serde::from_str(text).unwrap()
    }

    fn merged(object: &str, patch: &str, lists: Lists) -> Value {
        let mut doc = yaml(object);
        let out = strategic_merge(&mut doc, &yaml(patch), lists, &mut Vec::new()).unwrap();
        assert_eq!(out, Merged::Kept);
        doc
    }

    const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    metadata:\n      annotations:\n        vault.hashicorp.com/role: web\n        keep: k\n    spec:\n      containers:\n        - name: app\n          image: a:1\n          env: [{name: A, value: a}]\n        - name: side\n          image: s:1\n      tolerations: [{key: x}]\n";

    #[test]
    fn mappings_merge_and_null_deletes() {
        let out = merged(
            DEPLOYMENT,
            "kind: Deployment\nmetadata:\n  name: other\nspec:\n  template:\n    metadata:\n      annotations:\n        vault.hashicorp.com/role: web-prod\n        keep: null\n        added: yes\n",
            Lists::ByMergeKey,
        );
        let ann = &out["spec"]["template"]["metadata"]["annotations"];
        assert_eq!(ann["vault.hashicorp.com/role"], yaml("web-prod"));
        assert_eq!(ann.get("keep"), None);
        assert_eq!(ann["added"], yaml("yes"));
        assert_eq!(out["metadata"]["name"], yaml("web"), "identity is kept");
    }

    #[test]
    fn containers_merge_by_name_and_new_ones_come_first() {
        let out = merged(
            DEPLOYMENT,
            "spec:\n  template:\n    spec:\n      containers:\n        - name: side\n          $patch: delete\n        - name: app\n          image: a:2\n          env: [{name: B, value: b}]\n        - name: new\n          image: n:1\n      tolerations: [{key: y}]\n",
            Lists::ByMergeKey,
        );
        let spec = &out["spec"]["template"]["spec"];
        assert_eq!(
            spec["containers"],
            yaml("- name: new\n  image: n:1\n- name: app\n  image: a:2\n  env: [{name: B, value: b}, {name: A, value: a}]\n")
        );
        assert_eq!(
            spec["tolerations"],
            yaml("[{key: y}]"),
            "no merge key: replaced"
        );
    }

    #[test]
    fn a_replace_item_replaces_a_keyed_list() {
        let out = merged(
            DEPLOYMENT,
            "spec:\n  template:\n    spec:\n      containers:\n        - $patch: replace\n        - name: only\n          image: o:1\n",
            Lists::ByMergeKey,
        );
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            yaml("[{name: only, image: o:1}]")
        );
    }

    #[test]
    fn custom_resources_replace_their_lists() {
        let object = "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nspec:\n  data:\n    - {secretKey: a, remoteRef: {key: x}}\n    - {secretKey: b, remoteRef: {key: y}}\n";
        let out = merged(
            object,
            "spec:\n  data:\n    - {secretKey: c, remoteRef: {key: z}}\n",
            Lists::Replace,
        );
        assert_eq!(
            out["spec"]["data"],
            yaml("[{secretKey: c, remoteRef: {key: z}}]")
        );
    }

    #[test]
    fn replace_and_delete_directives() {
        let out = merged(
            "spec:\n  provider:\n    vault:\n      auth: {kubernetes: {role: a}}\n      path: secret\n",
            "spec:\n  provider:\n    vault:\n      $patch: replace\n      path: other\n",
            Lists::Replace,
        );
        assert_eq!(out["spec"]["provider"]["vault"], yaml("path: other"));
        let out = merged(
            "spec:\n  a: {b: 1}\n  c: 2\n",
            "spec:\n  a: {$patch: delete}\n",
            Lists::Replace,
        );
        assert_eq!(out["spec"], yaml("c: 2"));
        let mut doc = yaml("kind: X\n");
        let gone = strategic_merge(
            &mut doc,
            &yaml("kind: X\n$patch: delete\n"),
            Lists::Replace,
            &mut Vec::new(),
        );
        assert_eq!(gone, Ok(Merged::Deleted));
    }

    #[test]
    fn kind_disagreements_fail_and_leave_the_object() {
        let mut doc = yaml("spec:\n  a: {b: 1}\n");
        let before = doc.clone();
        let err = strategic_merge(
            &mut doc,
            &yaml("spec:\n  a: [1]\n"),
            Lists::Replace,
            &mut Vec::new(),
        );
        assert!(err.is_err());
        assert_eq!(doc, before);
        assert!(strategic_merge(&mut doc, &yaml("[1]"), Lists::Replace, &mut Vec::new()).is_err());
    }

    #[test]
    fn changed_paths() {
        let mut doc = yaml(DEPLOYMENT);
        let mut changed = Vec::new();
        strategic_merge(
            &mut doc,
            &yaml("spec:\n  template:\n    metadata:\n      annotations:\n        vault.hashicorp.com/role: web-prod\n        keep: k\n    spec:\n      containers:\n        - name: app\n          image: a:2\n"),
            Lists::ByMergeKey,
            &mut changed,
        )
        .unwrap();
        let key = |k: &str| Step::Key(k.to_string());
        assert_eq!(
            changed,
            [
                vec![
                    key("spec"),
                    key("template"),
                    key("metadata"),
                    key("annotations"),
                    key("vault.hashicorp.com/role")
                ],
                vec![
                    key("spec"),
                    key("template"),
                    key("spec"),
                    key("containers"),
                    Step::Item(0),
                    key("image")
                ],
            ]
        );
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("{}1{}", "{a: ".repeat(120), "}".repeat(120));
        let mut doc = yaml("x: 1\n");
        let patch: Value = yaml(&deep);
        assert!(strategic_merge(&mut doc, &patch, Lists::Replace, &mut Vec::new()).is_err());
    }
}
