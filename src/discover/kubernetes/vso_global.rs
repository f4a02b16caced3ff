//! `VaultAuthGlobal`: settings a `VaultAuth` inherits through `vaultAuthGlobalRef`. The
//! operator merges them before it logs in (`MergeInVaultAuthGlobal` in the operator's
//! `common/common.go`), and blastmap merges them the same way:
//! - the global is `vaultAuthGlobalRef.name` in `vaultAuthGlobalRef.namespace` (default: the
//!   `VaultAuth`'s namespace); with no name and `allowDefault: true`, the global named
//!   `default` in the ref's namespace, else in the `VaultAuth`'s namespace, then in the
//!   operator's;
//! - the global must allow the `VaultAuth`'s namespace (same namespace, the operator's default,
//!   or listed in its `allowedNamespaces`);
//! - `method` falls back to `defaultAuthMethod`; each field of the method's block the
//!   `VaultAuth` leaves empty is the global block's; `mount` and `namespace` are the
//!   `VaultAuth`'s, else the global block's, else `defaultMount` / `defaultVaultNamespace`.
//!
//! Whatever makes the operator refuse the merge is a note, and the consumer is left out, as
//! the operator leaves it unsynced.

use yaml_serde::{Mapping, Value};

use super::super::yaml::{get, scalar, strings};
use super::super::Discovery;
use super::manifests::Object;
use super::{field, Index, Unusable};

const GROUP: &str = "secrets.hashicorp.com";
/// Keys of a global method block that are not the method's own settings.
const BLOCK_ONLY: &[&str] = &["namespace", "mount", "params", "headers"];

/// The spec a `VaultAuth` logs in with: its own, merged with its `VaultAuthGlobal` when it
/// names one. `None` (with a note) when the operator would refuse the merge.
pub(super) fn effective_spec(
    index: &Index,
    auth: &Object,
    operator_namespace: Option<&str>,
    out: &mut Discovery,
) -> Option<Value> {
    let spec = get(auth.value(), "spec").cloned().unwrap_or(Value::Null);
    let Some(reference) = get(&spec, "vaultAuthGlobalRef") else {
        return Some(spec);
    };
    let global = find_global(index, auth, reference, operator_namespace, out)?;
    if !allows(global, auth.namespace.as_deref(), operator_namespace) {
        out.notes.push(format!(
            "{}: {} uses {}, whose allowedNamespaces does not list {:?}: the operator refuses it",
            auth.file,
            auth.id(),
            global.id(),
            auth.namespace.as_deref().unwrap_or("")
        ));
        return None;
    }
    let global_spec = get(global.value(), "spec").unwrap_or(&Value::Null);
    match merge(spec, global_spec) {
        Ok(merged) => Some(merged),
        Err(why) => {
            out.notes.push(format!(
                "{}: {} merged with {}: {why}: the operator refuses it, not in the inventory",
                auth.file,
                auth.id(),
                global.id()
            ));
            None
        }
    }
}

/// Whether `object` (a `VaultAuth` or `VaultAuthGlobal`) may be used from `namespace`: from its
/// own namespace, always when it is the operator's `default`, else when its
/// `allowedNamespaces` is `["*"]` or lists the namespace.
pub(super) fn allows(object: &Object, namespace: Option<&str>, operator: Option<&str>) -> bool {
    if object.namespace.as_deref() == namespace {
        return true;
    }
    if object.name == "default" && operator.is_some() && object.namespace.as_deref() == operator {
        return true;
    }
    let allowed = get(object.value(), "spec")
        .and_then(|s| get(s, "allowedNamespaces"))
        .map(strings)
        .unwrap_or_default();
    match allowed.as_slice() {
        [only] if only == "*" => true,
        list => namespace.is_some_and(|ns| list.iter().any(|n| n == ns)),
    }
}

/// The global a `vaultAuthGlobalRef` names (a mapping; a plain `namespace/name` string is
/// read too).
fn find_global<'o>(
    index: &Index<'o>,
    auth: &Object,
    reference: &Value,
    operator: Option<&str>,
    out: &mut Discovery,
) -> Option<&'o Object> {
    let (name, namespace) = match scalar(reference) {
        Some(plain) => match plain.split_once('/') {
            Some((ns, name)) => (Some(name.to_string()), Some(ns.to_string())),
            None => (Some(plain), None),
        },
        None => (
            field(Some(reference), "name"),
            field(Some(reference), "namespace"),
        ),
    };
    let Some(name) = name else {
        return default_global(index, auth, namespace.as_deref(), operator, out);
    };
    let namespace = namespace.or(auth.namespace.clone());
    let found = index.find(GROUP, "VaultAuthGlobal", namespace.as_deref(), &name);
    if found.is_none() {
        out.notes.push(format!(
            "{}: {} uses VaultAuthGlobal {}/{name}, which is not in the manifests: its consumers are not in the inventory",
            auth.file,
            auth.id(),
            namespace.as_deref().unwrap_or("")
        ));
    }
    found
}

/// The `default` global a ref without a name falls back to, when it allows that.
fn default_global<'o>(
    index: &Index<'o>,
    auth: &Object,
    ref_namespace: Option<&str>,
    operator: Option<&str>,
    out: &mut Discovery,
) -> Option<&'o Object> {
    let reference = get(auth.value(), "spec").and_then(|s| get(s, "vaultAuthGlobalRef"));
    let allow_default = reference
        .and_then(|r| get(r, "allowDefault"))
        .and_then(scalar)
        .is_some_and(|v| v == "true");
    if !allow_default {
        out.notes.push(format!(
            "{}: {} has a vaultAuthGlobalRef with no name and no allowDefault: the operator refuses it, not in the inventory",
            auth.file,
            auth.id()
        ));
        return None;
    }
    let search: Vec<Option<&str>> = match ref_namespace {
        Some(ns) => vec![Some(ns)],
        None => vec![auth.namespace.as_deref(), operator],
    };
    let found = search
        .into_iter()
        .flatten()
        .find_map(|ns| index.find(GROUP, "VaultAuthGlobal", Some(ns), "default"));
    match found {
        Some(global) => {
            out.notes.push(format!(
                "{}: {} uses the default VaultAuthGlobal {}: this assumes the operator runs with \
                 allow-default-globals (without it, the operator refuses the VaultAuth)",
                auth.file,
                auth.id(),
                global.id()
            ));
            Some(global)
        }
        None => {
            out.notes.push(format!(
                "{}: {} uses the default VaultAuthGlobal, and the manifests hold none where the operator looks: not in the inventory",
                auth.file,
                auth.id()
            ));
            None
        }
    }
}

/// The `VaultAuth`'s spec with the global's settings filled in, or why the operator refuses.
fn merge(mut spec: Value, global: &Value) -> Result<Value, Unusable> {
    let method = field(Some(&spec), "method")
        .or_else(|| field(Some(global), "defaultAuthMethod"))
        .ok_or("no method in the VaultAuth and no defaultAuthMethod in the global")?;
    let own_block = get(&spec, &method).cloned();
    let global_block = get(global, &method);
    if own_block.is_none() && global_block.is_none() {
        return Err(Unusable::from(format!(
            "method {method:?} is configured in neither"
        )));
    }
    let block = match global_block {
        Some(g) => fill_block(own_block.unwrap_or(Value::Null), g),
        None => own_block.unwrap_or(Value::Null),
    };
    let mount = field(Some(&spec), "mount")
        .or_else(|| field(global_block, "mount"))
        .or_else(|| field(Some(global), "defaultMount"))
        .ok_or("no mount after the merge")?;
    let namespace = field(Some(&spec), "namespace")
        .or_else(|| field(global_block, "namespace"))
        .or_else(|| field(Some(global), "defaultVaultNamespace"));
    let map = as_mapping(&mut spec);
    map.insert("method".into(), Value::String(method.clone()));
    map.insert(Value::String(method), block);
    map.insert("mount".into(), Value::String(mount));
    if let Some(namespace) = namespace {
        map.insert("namespace".into(), Value::String(namespace));
    }
    Ok(spec)
}

/// A method block with each setting it leaves empty taken from the global's block.
fn fill_block(own: Value, global: &Value) -> Value {
    let mut own = own;
    let map = as_mapping(&mut own);
    for (key, value) in global.as_mapping().into_iter().flatten() {
        if key.as_str().is_some_and(|k| BLOCK_ONLY.contains(&k)) {
            continue;
        }
        if map.get(key).is_none_or(is_empty) {
            map.insert(key.clone(), value.clone());
        }
    }
    own
}

/// A value the operator treats as unset: absent, null, `""`, `[]`, `{}` or `0`.
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Sequence(s) => s.is_empty(),
        Value::Mapping(m) => m.is_empty(),
        Value::Number(n) => n.as_i64() == Some(0),
        _ => false,
    }
}

/// The value as a mapping, made one when it is not.
fn as_mapping(v: &mut Value) -> &mut Mapping {
    if !v.is_mapping() {
        *v = Value::Mapping(Mapping::new());
    }
    match v {
        Value::Mapping(m) => m,
        _ => unreachable!("made a mapping above"),
    }
}
