//! JSON patches (RFC 6902) over YAML values, as Kustomize applies them to an object:
//! `add`, `remove`, `replace`, `move`, `copy` and `test`, with JSON pointers (RFC 6901: `~1` is
//! `/`, `~0` is `~`, `-` appends to an array). The operations of one patch apply together or not
//! at all: Kustomize fails the build on a failing operation, and blastmap keeps the object as it
//! was rather than half-patched.

use yaml_serde::Value;

use super::super::Unusable;
use super::Step;

/// Operations read at most from one patch.
pub(super) const MAX_OPERATIONS: usize = 1_000;
/// Tokens of a JSON pointer at most.
pub(super) const MAX_POINTER_DEPTH: usize = 64;

/// One operation of a JSON patch.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Operation {
    Add { path: Pointer, value: Value },
    Remove { path: Pointer },
    Replace { path: Pointer, value: Value },
    Move { from: Pointer, path: Pointer },
    Copy { from: Pointer, path: Pointer },
    Test { path: Pointer, value: Value },
}

/// A parsed JSON pointer: its reference tokens, unescaped.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Pointer {
    pub tokens: Vec<String>,
}

/// Why an operation failed: its place in the patch (0-based) and what went wrong.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct OperationError {
    pub index: usize,
    pub message: Unusable,
}

impl Pointer {
    /// Parse a JSON pointer (`""` is the whole document).
    pub(super) fn parse(text: &str) -> Result<Pointer, Unusable> {
        if text.is_empty() {
            return Ok(Pointer { tokens: Vec::new() });
        }
        let Some(rest) = text.strip_prefix('/') else {
            return Err(Unusable::from(format!(
                "JSON pointer {text:?} does not start with `/`"
            )));
        };
        let raw: Vec<&str> = rest.split('/').collect();
        if raw.len() > MAX_POINTER_DEPTH {
            return Err(Unusable::from(format!(
                "JSON pointer deeper than {MAX_POINTER_DEPTH} tokens"
            )));
        }
        let tokens = raw
            .iter()
            .map(|t| {
                unescape(t)
                    .ok_or_else(|| format!("JSON pointer {text:?}: `~` not followed by 0 or 1"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Pointer { tokens })
    }

    fn parent(&self) -> Option<(&[String], &str)> {
        let (last, parent) = self.tokens.split_last()?;
        Some((parent, last.as_str()))
    }

    fn shown(&self) -> String {
        self.tokens
            .iter()
            .map(|t| format!("/{}", t.replace('~', "~0").replace('/', "~1")))
            .collect()
    }
}

/// `~1` is `/` and `~0` is `~`, in that order (RFC 6901); any other `~` is an error.
fn unescape(token: &str) -> Option<String> {
    let mut out = String::with_capacity(token.len());
    let mut chars = token.chars();
    while let Some(c) = chars.next() {
        if c == '~' {
            match chars.next() {
                Some('0') => out.push('~'),
                Some('1') => out.push('/'),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// The operations of a patch document (a sequence of `{op, path, ...}` mappings).
pub(super) fn parse(doc: &Value) -> Result<Vec<Operation>, Unusable> {
    let Some(items) = doc.as_sequence() else {
        return Err("a JSON patch is a list of operations".into());
    };
    if items.len() > MAX_OPERATIONS {
        return Err(Unusable::from(format!(
            "more than {MAX_OPERATIONS} operations"
        )));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            operation(item).map_err(|e| Unusable::from(format!("operation {}: {e}", i + 1)))
        })
        .collect()
}

fn operation(item: &Value) -> Result<Operation, Unusable> {
    let field = |name: &str| item.as_mapping().and_then(|m| m.get(name));
    let text = |name: &str| -> Result<String, Unusable> {
        field(name)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| Unusable::from(format!("no `{name}`")))
    };
    let pointer = |name: &str| text(name).and_then(|t| Pointer::parse(&t));
    let value = || {
        field("value")
            .cloned()
            .ok_or_else(|| Unusable::from("no `value`"))
    };
    let operation = text("op")?;
    Ok(match operation.as_str() {
        "add" => Operation::Add {
            path: pointer("path")?,
            value: value()?,
        },
        "remove" => Operation::Remove {
            path: pointer("path")?,
        },
        "replace" => Operation::Replace {
            path: pointer("path")?,
            value: value()?,
        },
        "move" => Operation::Move {
            from: pointer("from")?,
            path: pointer("path")?,
        },
        "copy" => Operation::Copy {
            from: pointer("from")?,
            path: pointer("path")?,
        },
        "test" => Operation::Test {
            path: pointer("path")?,
            value: value()?,
        },
        other => return Err(Unusable::from(format!("unknown op {other:?}"))),
    })
}

/// Apply every operation to `doc`, all or nothing. `changed` hears the paths changed (an array
/// whose items shift is changed as a whole).
pub(super) fn apply(
    doc: &mut Value,
    operations: &[Operation],
    changed: &mut Vec<Vec<Step>>,
) -> Result<(), OperationError> {
    let mut work = doc.clone();
    let mut touched = Vec::new();
    for (index, op) in operations.iter().enumerate() {
        apply_one(&mut work, op, &mut touched)
            .map_err(|message| OperationError { index, message })?;
    }
    *doc = work;
    changed.extend(touched);
    Ok(())
}

fn apply_one(
    doc: &mut Value,
    op: &Operation,
    changed: &mut Vec<Vec<Step>>,
) -> Result<(), Unusable> {
    match op {
        Operation::Add { path, value } => add(doc, path, value.clone(), changed),
        Operation::Remove { path } => remove(doc, path, changed).map(drop),
        Operation::Replace { path, value } => {
            let slot = get_mut(doc, &path.tokens)
                .ok_or_else(|| format!("replace: {} does not exist", path.shown()))?;
            *slot = value.clone();
            changed.push(steps(doc, &path.tokens, false));
            Ok(())
        }
        Operation::Move { from, path } => {
            if path.tokens.len() > from.tokens.len() && path.tokens.starts_with(&from.tokens) {
                return Err(Unusable::from(format!(
                    "move: {} is inside {}",
                    path.shown(),
                    from.shown()
                )));
            }
            let value = remove(doc, from, changed)?;
            add(doc, path, value, changed)
        }
        Operation::Copy { from, path } => {
            let value = get(doc, &from.tokens)
                .cloned()
                .ok_or_else(|| format!("copy: {} does not exist", from.shown()))?;
            add(doc, path, value, changed)
        }
        Operation::Test { path, value } => match get(doc, &path.tokens) {
            Some(found) if found == value => Ok(()),
            Some(_) => Err(Unusable::from(format!(
                "test: {} has another value",
                path.shown()
            ))),
            None => Err(Unusable::from(format!(
                "test: {} does not exist",
                path.shown()
            ))),
        },
    }
}

fn add(
    doc: &mut Value,
    path: &Pointer,
    value: Value,
    changed: &mut Vec<Vec<Step>>,
) -> Result<(), Unusable> {
    let Some((parent, last)) = path.parent() else {
        *doc = value;
        changed.push(Vec::new());
        return Ok(());
    };
    let target = get_mut(doc, parent)
        .ok_or_else(|| format!("add: the parent of {} does not exist", path.shown()))?;
    match target {
        Value::Mapping(map) => {
            map.insert(Value::String(last.to_string()), value);
        }
        Value::Sequence(items) => {
            let at = if last == "-" {
                items.len()
            } else {
                index(last, items.len() + 1)
                    .ok_or_else(|| format!("add: {} is not an index of its array", path.shown()))?
            };
            items.insert(at, value);
            changed.push(steps(doc, parent, false));
            return Ok(());
        }
        _ => {
            return Err(Unusable::from(format!(
                "add: the parent of {} is not a container",
                path.shown()
            )))
        }
    }
    changed.push(steps(doc, &path.tokens, false));
    Ok(())
}

fn remove(
    doc: &mut Value,
    path: &Pointer,
    changed: &mut Vec<Vec<Step>>,
) -> Result<Value, Unusable> {
    let Some((parent, last)) = path.parent() else {
        return Err("remove: cannot remove the whole document".into());
    };
    let missing = || Unusable::from(format!("remove: {} does not exist", path.shown()));
    // The path is recorded before the removal: afterwards the key no longer resolves.
    let before = steps(doc, &path.tokens, true);
    let removed = match get_mut(doc, parent).ok_or_else(missing)? {
        Value::Mapping(map) => map.shift_remove(last).ok_or_else(missing)?,
        Value::Sequence(items) => {
            let at = index(last, items.len()).ok_or_else(missing)?;
            items.remove(at)
        }
        _ => return Err(missing()),
    };
    changed.push(before);
    Ok(removed)
}

/// An array index token: digits without a leading zero, below `bound`.
fn index(token: &str, bound: usize) -> Option<usize> {
    let digits = !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit());
    if !digits || (token.len() > 1 && token.starts_with('0')) {
        return None;
    }
    token.parse::<usize>().ok().filter(|i| *i < bound)
}

fn get<'v>(doc: &'v Value, tokens: &[String]) -> Option<&'v Value> {
    tokens.iter().try_fold(doc, |v, t| match v {
        Value::Mapping(map) => map.get(t.as_str()),
        Value::Sequence(items) => index(t, items.len()).and_then(|i| items.get(i)),
        _ => None,
    })
}

fn get_mut<'v>(doc: &'v mut Value, tokens: &[String]) -> Option<&'v mut Value> {
    tokens.iter().try_fold(doc, |v, t| match v {
        Value::Mapping(map) => map.get_mut(t.as_str()),
        Value::Sequence(items) => {
            let position = index(t, items.len())?;
            items.get_mut(position)
        }
        _ => None,
    })
}

/// The pointer as a path for line look-ups: a token under an array is an item. When an array's
/// items move (`shifting`, or an insertion), the array itself is what changed.
fn steps(doc: &Value, tokens: &[String], shifting: bool) -> Vec<Step> {
    let mut out = Vec::with_capacity(tokens.len());
    let mut at = Some(doc);
    for (i, t) in tokens.iter().enumerate() {
        match at {
            Some(Value::Sequence(items)) => {
                let last = i + 1 == tokens.len();
                if shifting && last {
                    break;
                }
                let position = index(t, usize::MAX).unwrap_or(items.len());
                out.push(Step::Item(position));
                at = items.get(position);
            }
            Some(Value::Mapping(map)) => {
                out.push(Step::Key(t.clone()));
                at = map.get(t.as_str());
            }
            _ => out.push(Step::Key(t.clone())),
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

    fn patched(doc: &str, patch: &str) -> Result<Value, OperationError> {
        let mut doc = yaml(doc);
        let ops = parse(&yaml(patch)).unwrap();
        apply(&mut doc, &ops, &mut Vec::new()).map(|()| doc)
    }

    #[test]
    fn pointers_unescape_and_refuse_bad_escapes() {
        let pointer =
            Pointer::parse("/metadata/annotations/vault.hashicorp.com~1role/~0x").unwrap();
        assert_eq!(
            pointer.tokens,
            ["metadata", "annotations", "vault.hashicorp.com/role", "~x"]
        );
        assert!(Pointer::parse("a/b").is_err());
        assert!(Pointer::parse("/a~2").is_err());
        assert!(Pointer::parse(&"/a".repeat(MAX_POINTER_DEPTH + 1)).is_err());
        assert_eq!(Pointer::parse("").unwrap().tokens, Vec::<String>::new());
        assert_eq!(
            Pointer::parse("/~01").unwrap().tokens,
            ["~1"],
            "~01 is `~` then `1`, not `/`"
        );
    }

    #[test]
    fn every_operation() {
        let doc = "spec:\n  role: a\n  list: [x, y]\n  keep: 1\n";
        let patch = r#"
- op: replace
  path: /spec/role
  value: b
- op: add
  path: /spec/list/1
  value: between
- op: add
  path: /spec/list/-
  value: last
- op: remove
  path: /spec/keep
- op: copy
  from: /spec/role
  path: /spec/copied
- op: move
  from: /spec/list/0
  path: /spec/moved
- op: test
  path: /spec/moved
  value: x
"#;
        let out = patched(doc, patch).unwrap();
        assert_eq!(
            out,
            yaml("spec:\n  role: b\n  list: [between, y, last]\n  copied: b\n  moved: x\n")
        );
    }

    #[test]
    fn a_failing_operation_leaves_the_document_unchanged() {
        let doc = "spec:\n  role: a\n";
        for (patch, index) in [
            ("- {op: replace, path: /spec/role, value: b}\n- {op: test, path: /spec/role, value: a}\n", 1),
            ("- {op: replace, path: /spec/missing, value: b}\n", 0),
            ("- {op: remove, path: /spec/missing}\n", 0),
            ("- {op: add, path: /nothing/here, value: b}\n", 0),
            ("- {op: add, path: /spec/role/x, value: b}\n", 0),
            ("- {op: move, from: /spec, path: /spec/inside}\n", 0),
            ("- {op: remove, path: \"\"}\n", 0),
        ] {
            let mut value = yaml(doc);
            let ops = parse(&yaml(patch)).unwrap();
            let err = apply(&mut value, &ops, &mut Vec::new()).unwrap_err();
            assert_eq!(err.index, index, "{patch}: {err:?}");
            assert_eq!(value, yaml(doc), "{patch}");
        }
    }

    #[test]
    fn array_indices_are_strict() {
        let doc = "l: [a, b]\n";
        assert!(patched(doc, "- {op: add, path: /l/2, value: c}\n").is_ok());
        assert!(patched(doc, "- {op: add, path: /l/3, value: c}\n").is_err());
        assert!(patched(doc, "- {op: remove, path: /l/01}\n").is_err());
        assert!(patched(doc, "- {op: remove, path: /l/-1}\n").is_err());
        assert!(patched(doc, "- {op: remove, path: /l/99999999999999999999999}\n").is_err());
    }

    #[test]
    fn malformed_operations_are_refused() {
        for patch in [
            "op: add\n",
            "- {op: frobnicate, path: /a}\n",
            "- {op: add, path: /a}\n",
            "- {path: /a}\n",
            "- {op: move, path: /a}\n",
        ] {
            assert!(parse(&yaml(patch)).is_err(), "{patch}");
        }
    }

    #[test]
    fn changed_paths_name_the_array_when_items_shift() {
        let mut doc = yaml("spec:\n  containers: [{name: a}, {name: b}]\n  role: r\n");
        let ops = parse(&yaml(
            "- {op: remove, path: /spec/containers/0}\n- {op: replace, path: /spec/role, value: s}\n",
        ))
        .unwrap();
        let mut changed = Vec::new();
        apply(&mut doc, &ops, &mut changed).unwrap();
        let key = |k: &str| Step::Key(k.to_string());
        assert_eq!(
            changed,
            [
                vec![key("spec"), key("containers")],
                vec![key("spec"), key("role")]
            ]
        );
    }
}
