//! The header document of a configuration file (`spec: inputs:` then `---`) and the
//! `$[[ inputs.NAME ]]` interpolation of its body.
//!
//! GitLab interpolates a file's inputs before merging it: the value given by the `include:`
//! entry's `inputs:`, else the input's `default`. An input with neither is only known when the
//! pipeline is created, so its spans are left as written (`$[[ … ]]` is an expression, see
//! `is_expression`) and the fields built from them end up dynamic.

use std::collections::BTreeSet;

use yaml_serde::{Mapping, Value};

use super::super::yaml::{entries, get};

/// A file's text split at the end of its header document.
pub(super) struct SplitFile {
    /// The `spec:` header, when the file has one.
    pub header: Option<Value>,
    /// The configuration document, with the header's lines blanked so that line numbers stay
    /// those of the file.
    pub body: String,
}

/// Split `text` when its first document is a `spec:` header; otherwise the text is the body.
pub(super) fn split_header(text: &str) -> SplitFile {
    let whole = || SplitFile {
        header: None,
        body: text.to_string(),
    };
    let lines: Vec<&str> = text.lines().collect();
    // A leading `---` opens the first document rather than separating two.
    let first_content = lines
        .iter()
        .position(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    let Some(separator) = lines.iter().enumerate().position(|(i, l)| {
        Some(i) > first_content && (l.trim_end() == "---" || l.starts_with("--- "))
    }) else {
        return whole();
    };
    let header_text = lines[..separator].join("\n");
    let Ok(header) = yaml_serde::from_str::<Value>(&header_text) else {
        return whole();
    };
    if get(&header, "spec").is_none() {
        return whole();
    }
    let mut body = "\n".repeat(separator + 1);
    body.push_str(&lines[separator + 1..].join("\n"));
    body.push('\n');
    SplitFile {
        header: Some(header),
        body,
    }
}

/// The value of each input: the one given by the including entry, else the default.
pub(super) struct Inputs {
    values: Mapping,
    /// Inputs declared without a default and not given.
    pub unset: BTreeSet<String>,
    /// Inputs used in the body but not declared, or used with functions not evaluated.
    pub unreadable: BTreeSet<String>,
}

impl Inputs {
    pub(super) fn of(header: Option<&Value>, given: Option<&Value>) -> Inputs {
        let mut inputs = Inputs {
            values: Mapping::new(),
            unset: BTreeSet::new(),
            unreadable: BTreeSet::new(),
        };
        let declared = header
            .and_then(|h| get(h, "spec"))
            .and_then(|s| get(s, "inputs"));
        for (name, spec) in entries(declared.unwrap_or(&Value::Null)) {
            let value = given
                .and_then(|g| get(g, &name))
                .or_else(|| get(spec, "default").filter(|d| !d.is_null()));
            match value {
                Some(v) => {
                    inputs.values.insert(Value::String(name), v.clone());
                }
                None => {
                    inputs.unset.insert(name);
                }
            }
        }
        inputs
    }

    /// Interpolate every string (keys too) of `value`.
    pub(super) fn interpolate(&mut self, value: &mut Value, depth: usize) {
        if depth > 64 {
            return;
        }
        match value {
            Value::String(s) => {
                if let Some(typed) = self.whole_span(s) {
                    *value = typed;
                } else if s.contains("$[[") {
                    *s = self.spans(s);
                }
            }
            Value::Sequence(items) => {
                for item in items {
                    self.interpolate(item, depth + 1);
                }
            }
            Value::Mapping(m) => {
                let old = std::mem::take(m);
                for (mut k, mut v) in old {
                    self.interpolate(&mut k, depth + 1);
                    self.interpolate(&mut v, depth + 1);
                    m.insert(k, v);
                }
            }
            Value::Tagged(t) => self.interpolate(&mut t.value, depth + 1),
            _ => {}
        }
    }

    /// A string that is one span and nothing else takes the input's value with its type (a
    /// list, a boolean), as GitLab does.
    fn whole_span(&mut self, s: &str) -> Option<Value> {
        let inner = s.trim().strip_prefix("$[[")?.strip_suffix("]]")?;
        if inner.contains("]]") {
            return None;
        }
        let value = self.lookup(inner)?;
        (!matches!(value, Value::String(_))).then_some(value)
    }

    fn spans(&mut self, s: &str) -> String {
        // `rewrite_spans` takes a `Fn`: the names not read are gathered through a cell.
        let unreadable = std::cell::RefCell::new(Vec::new());
        let out = super::super::rewrite_spans(s, "$[[", "]]", |inner| {
            let found = self.lookup_ref(inner, &mut unreadable.borrow_mut())?;
            match found {
                Value::String(v) => Some(v.clone()),
                other => yaml_serde::to_string(other)
                    .ok()
                    .map(|t| t.trim().to_string()),
            }
        });
        self.unreadable.extend(unreadable.into_inner());
        out
    }

    fn lookup(&mut self, inner: &str) -> Option<Value> {
        let mut unreadable = Vec::new();
        let found = self.lookup_ref(inner, &mut unreadable).cloned();
        self.unreadable.extend(unreadable);
        found
    }

    /// The value of `inputs.NAME` (with the `expand_vars` function, a no-op here because
    /// variables are expanded where they are used); `None` leaves the span as written.
    fn lookup_ref(&self, inner: &str, unreadable: &mut Vec<String>) -> Option<&Value> {
        let mut parts = inner.split('|').map(str::trim);
        let reference = parts.next()?;
        let name = reference.strip_prefix("inputs.")?;
        if parts.any(|f| f != "expand_vars") {
            unreadable.push(format!("{name} (with functions)"));
            return None;
        }
        let value = self.values.get(name);
        if value.is_none() && !self.unset.contains(name) {
            unreadable.push(name.to_string());
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_split_and_lines_are_kept() {
        let text = "spec:\n  inputs:\n    role:\n      default: deployer\n    aud:\n---\njob:\n  script: [\"echo $[[ inputs.role ]] $[[ inputs.aud ]]\"]\n";
        let split = split_header(text);
        assert!(split.header.is_some());
        assert_eq!(split.body.lines().position(|l| l == "job:"), Some(6));
        let mut body: Value = yaml_serde::from_str(&split.body).unwrap();
        let mut inputs = Inputs::of(split.header.as_ref(), None);
        inputs.interpolate(&mut body, 0);
        let script = &get(get(&body, "job").unwrap(), "script").unwrap()[0];
        assert_eq!(script.as_str(), Some("echo deployer $[[ inputs.aud ]]"));
        assert!(inputs.unset.contains("aud"));
    }

    #[test]
    fn given_inputs_win_and_whole_spans_keep_their_type() {
        let header: Value =
            yaml_serde::from_str("spec:\n  inputs:\n    stages:\n      default: [a]\n").unwrap();
        let given: Value = yaml_serde::from_str("stages: [x, y]\n").unwrap();
        let mut body: Value = yaml_serde::from_str("stages: $[[ inputs.stages ]]\n").unwrap();
        Inputs::of(Some(&header), Some(&given)).interpolate(&mut body, 0);
        assert_eq!(
            get(&body, "stages").unwrap().as_sequence().unwrap().len(),
            2
        );
    }

    #[test]
    fn a_plain_multi_document_file_is_not_a_header() {
        assert!(split_header("---\na: 1\n").header.is_none());
        assert!(split_header("a: 1\n---\nb: 2\n").header.is_none());
    }
}
