//! YAML tags in the merged configuration: `!reference [job, key, …]` is replaced by the value
//! it names (GitLab resolves references after merging the includes and before `extends:`);
//! a reference that names nothing, and any other tag, is removed and recorded, so that the
//! fields built from it are dynamic instead of the whole configuration being refused.

use yaml_serde::{Mapping, Value};

use super::super::yaml::scalar;

/// GitLab allows references to nest this deep.
const MAX_REFERENCE_DEPTH: usize = 10;
/// Values nested deeper than this are not searched for tags (hostile input).
const MAX_NESTING: usize = 128;

/// A tagged value that could not be read, and where it was.
#[derive(Debug, Clone)]
pub(in crate::discover) struct Unresolved {
    /// The top-level key (job, hidden job, `default`, `variables` …) it was under.
    pub owner: String,
    /// The keys from the owner down to the tag (`secrets`, `DB_PASSWORD`, `vault`).
    pub path: Vec<String>,
    /// The tag as written and why it was not read.
    pub reason: String,
}

/// The merged top level with every tag resolved or removed.
pub(super) fn resolve_tags(top: &Mapping) -> (Mapping, Vec<Unresolved>) {
    let mut unresolved = Vec::new();
    let mut out = Mapping::new();
    for (key, value) in top {
        let owner = scalar(key).unwrap_or_default();
        let mut walk = Walk {
            top,
            owner: &owner,
            path: Vec::new(),
            unresolved: &mut unresolved,
        };
        out.insert(key.clone(), walk.value(value, 0, 0));
    }
    (out, unresolved)
}

struct Walk<'a> {
    top: &'a Mapping,
    owner: &'a str,
    path: Vec<String>,
    unresolved: &'a mut Vec<Unresolved>,
}

impl Walk<'_> {
    fn value(&mut self, value: &Value, nesting: usize, references: usize) -> Value {
        if nesting > MAX_NESTING {
            return value.clone();
        }
        match value {
            Value::Tagged(tagged) if tagged.tag == "reference" => {
                match self.reference(&tagged.value, references) {
                    Ok(found) => self.value(&found, nesting + 1, references + 1),
                    Err(reason) => {
                        self.unresolved(format!("!reference {}: {reason}", flow(&tagged.value)))
                    }
                }
            }
            Value::Tagged(tagged) => self.unresolved(format!(
                "{} {}: unknown YAML tag, not read",
                tagged.tag,
                flow(&tagged.value)
            )),
            Value::Sequence(items) => Value::Sequence(
                items
                    .iter()
                    .map(|item| self.value(item, nesting + 1, references))
                    .collect(),
            ),
            Value::Mapping(m) => {
                let mut out = Mapping::new();
                for (k, v) in m {
                    self.path.push(scalar(k).unwrap_or_default());
                    let resolved = self.value(v, nesting + 1, references);
                    self.path.pop();
                    out.insert(k.clone(), resolved);
                }
                Value::Mapping(out)
            }
            other => other.clone(),
        }
    }

    fn unresolved(&mut self, reason: String) -> Value {
        self.unresolved.push(Unresolved {
            owner: self.owner.to_string(),
            path: self.path.clone(),
            reason,
        });
        Value::Null
    }

    /// The value `[job, key, …]` names in the merged configuration.
    fn reference(&self, keys: &Value, depth: usize) -> Result<Value, &'static str> {
        if depth >= MAX_REFERENCE_DEPTH {
            return Err("references nest deeper than 10 levels");
        }
        let keys = keys.as_sequence().ok_or("not a list of keys")?;
        let mut keys = keys.iter();
        let first = keys.next().and_then(scalar).ok_or("no job named")?;
        let mut found = self
            .top
            .get(first.as_str())
            .ok_or("no such job or hidden job in the files read")?;
        for key in keys {
            let key = scalar(key).ok_or("a key is not a string")?;
            found = found
                .as_mapping()
                .and_then(|m| m.get(key.as_str()))
                .ok_or("no such key in the files read")?;
        }
        Ok(found.clone())
    }
}

/// A value on one line, for notes.
fn flow(v: &Value) -> String {
    match v {
        Value::Sequence(items) => format!(
            "[{}]",
            items
                .iter()
                .map(|i| scalar(i).unwrap_or_else(|| "…".into()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => scalar(other).unwrap_or_else(|| "…".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::yaml::get;

    fn top(text: &str) -> Mapping {
        yaml_serde::from_str::<Value>(text)
            .unwrap()
            .as_mapping()
            .unwrap()
            .clone()
    }

    #[test]
    fn references_resolve_nested_and_missing_ones_are_recorded() {
        let top_level = top(".vars:\n  role: deployer\n.login:\n  script: [\"vault login role=x\"]\n  role: !reference [.vars, role]\njob:\n  script: !reference [.login, script]\n  variables:\n    VAULT_AUTH_ROLE: !reference [.login, role]\n    OTHER: !reference [.gone, x]\n    TAGGED: !vault secret\n");
        let (resolved, unresolved) = resolve_tags(&top_level);
        let job = resolved.get("job").unwrap();
        assert_eq!(
            get(get(job, "variables").unwrap(), "VAULT_AUTH_ROLE").and_then(scalar),
            Some("deployer".into())
        );
        assert!(get(job, "script").unwrap().is_sequence());
        assert_eq!(unresolved.len(), 2, "{unresolved:?}");
        assert_eq!(unresolved[0].path, ["variables", "OTHER"]);
        assert!(unresolved[1].reason.contains("unknown YAML tag"));
    }

    #[test]
    fn self_references_are_bounded() {
        let top_level = top("a:\n  x: !reference [a, x]\n");
        let (_, unresolved) = resolve_tags(&top_level);
        assert!(unresolved[0].reason.contains("deeper"), "{unresolved:?}");
    }
}
