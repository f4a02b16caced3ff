//! `variables:` of a job as GitLab gives them to it (global ones it inherits, then its own),
//! and the expansion of `$VAR` / `${VAR}` in the values blastmap reads from the configuration.
//!
//! A variable the configuration defines is expanded; a predefined one (`CI_*`, `GITLAB_*`) or
//! one defined nowhere in the files (a project, group or instance CI/CD variable) is only
//! known when the pipeline runs: the value stays dynamic, with the reason.

use std::collections::{BTreeMap, BTreeSet};

use yaml_serde::Value;

use super::super::shell::VarRef;
use super::super::yaml::{entries, get, scalar};
use super::super::Val;

/// Variables refer to variables at most this deep (GitLab expands a bounded number of times).
const MAX_EXPANSION_DEPTH: usize = 10;

/// One variable's value as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Variable {
    pub value: String,
    /// `expand: false`: the value is taken as written, `$` and all.
    pub raw: bool,
}

/// Variables by name.
#[derive(Debug, Clone, Default)]
pub(super) struct Variables {
    pub values: BTreeMap<String, Variable>,
}

impl Variables {
    /// The entries of a `variables:` mapping: `NAME: value` or `NAME: {value:, description:,
    /// expand:}`. A variable with a description and no value is prefilled for manual runs
    /// and left out (its value is given when the pipeline is run).
    pub(super) fn of(v: Option<&Value>) -> Variables {
        let mut out = Variables::default();
        for (name, val) in entries(v.unwrap_or(&Value::Null)) {
            let (value, raw) = match val {
                Value::Mapping(_) => (
                    get(val, "value").and_then(scalar),
                    matches!(get(val, "expand"), Some(Value::Bool(false))),
                ),
                other => (scalar(other), false),
            };
            if let Some(value) = value {
                out.values.insert(name, Variable { value, raw });
            }
        }
        out
    }

    /// The global variables a job inherits (`inherit: variables: false | [names]`), then its
    /// own, which win.
    pub(super) fn for_job(global: &Variables, job: &Value) -> Variables {
        let inherit = get(job, "inherit").and_then(|i| get(i, "variables"));
        let mut out = match inherit {
            Some(Value::Bool(false)) => Variables::default(),
            Some(Value::Sequence(names)) => Variables {
                values: global
                    .values
                    .iter()
                    .filter(|(k, _)| names.iter().any(|n| scalar(n).as_deref() == Some(k)))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            },
            _ => global.clone(),
        };
        out.values
            .extend(Variables::of(get(job, "variables")).values);
        out
    }

    pub(super) fn contains(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// The variables whose expanded value is a literal on one line, as a script sees them:
    /// substituted before a script is read, so that a path or a mount built from them is
    /// read as GitLab's shell would run it.
    pub(super) fn literals(&self) -> BTreeMap<String, String> {
        self.values
            .iter()
            .filter_map(|(name, v)| match self.expand_variable(v, 0) {
                Val::Known(value) if !value.contains(['\n', '$']) => Some((name.clone(), value)),
                _ => None,
            })
            .collect()
    }

    /// A value read from a script after [`Variables::literals`] were substituted: what is left
    /// of `$NAME` is a variable the script sets as it runs (`assigned`), or one the
    /// configuration does not give.
    pub(super) fn script_value(&self, text: &str, assigned: &BTreeSet<String>) -> Val {
        let mut expanded = self.expand_at(text, 0);
        let mut rest = text;
        while let Some(dollar) = rest.find('$') {
            let after = &rest[dollar + 1..];
            let Some(reference) = VarRef::parse(after) else {
                rest = after;
                continue;
            };
            if assigned.contains(reference.name) {
                let own = why_unknown(reference.name);
                expanded.unknown.retain(|why| *why != own);
                expanded.unknown.push(format!(
                    "${} is set by the script as it runs",
                    reference.name
                ));
            }
            rest = &after[reference.len..];
        }
        expanded.unknown.dedup();
        expanded.into_val()
    }

    /// A variable's value, expanded.
    pub(super) fn get(&self, name: &str) -> Option<Val> {
        self.values.get(name).map(|v| self.expand_variable(v, 0))
    }

    /// `text` with the configuration's variables expanded.
    pub(super) fn expand(&self, text: &str) -> Val {
        self.expand_at(text, 0).into_val()
    }

    /// `text` with what can be expanded expanded, the rest as written, and why.
    pub(super) fn expand_parts(&self, text: &str) -> Expanded {
        self.expand_at(text, 0)
    }

    fn expand_variable(&self, variable: &Variable, depth: usize) -> Val {
        if variable.raw {
            Val::Known(variable.value.clone())
        } else {
            self.expand_at(&variable.value, depth).into_val()
        }
    }

    fn expand_at(&self, text: &str, depth: usize) -> Expanded {
        let mut out = String::new();
        let mut unknown: Vec<String> = Vec::new();
        let mut rest = text;
        while let Some(dollar) = rest.find('$') {
            out.push_str(&rest[..dollar]);
            let after = &rest[dollar + 1..];
            if let Some(tail) = after.strip_prefix('$') {
                // `$$` is a literal dollar.
                out.push('$');
                rest = tail;
                continue;
            }
            let Some(reference) = VarRef::parse(after) else {
                out.push('$');
                rest = after;
                continue;
            };
            let written = &rest[dollar..dollar + 1 + reference.len];
            match self.values.get(reference.name) {
                Some(v) if !v.raw && refers_to(&v.value, reference.name) => {
                    out.push_str(written);
                    unknown.push(format!(
                        "${} refers to itself: a project, group or instance CI/CD variable of that name, which takes precedence",
                        reference.name
                    ));
                }
                Some(v) if depth < MAX_EXPANSION_DEPTH => {
                    match self.expand_variable(v, depth + 1) {
                        Val::Known(value) => out.push_str(&value),
                        Val::Dynamic(inner) => {
                            out.push_str(written);
                            unknown.push(inner);
                        }
                    }
                }
                Some(_) => {
                    out.push_str(written);
                    unknown.push(format!("{written} refers to variables too deeply"));
                }
                None => {
                    out.push_str(written);
                    unknown.push(why_unknown(reference.name));
                }
            }
            rest = &after[reference.len..];
        }
        out.push_str(rest);
        if out.contains("$[[") {
            unknown.push("an input without a value: given when the pipeline is created".into());
        }
        unknown.dedup();
        Expanded { text: out, unknown }
    }
}

/// A value with the variables the configuration defines expanded.
pub(super) struct Expanded {
    /// The expanded text; variables not known are kept as written.
    pub text: String,
    /// Why the value is not fully known (empty when it is).
    pub unknown: Vec<String>,
}

impl Expanded {
    /// Known, or dynamic as `text (reasons)`.
    pub(super) fn into_val(self) -> Val {
        self.map(|t| t)
    }

    /// Known, or dynamic as `f(text) (reasons)`: the value built from it keeps the reasons.
    pub(super) fn map(self, f: impl FnOnce(String) -> String) -> Val {
        let text = f(self.text);
        if self.unknown.is_empty() {
            Val::Known(text)
        } else {
            Val::Dynamic(format!("{text} ({})", self.unknown.join("; ")))
        }
    }
}

/// Whether `text` refers to the variable `name` (`$NAME`, `${NAME}`): a variable set to
/// itself (`VAULT_ROLE: $VAULT_ROLE`) hands on the value a CI/CD setting gives.
fn refers_to(text: &str, name: &str) -> bool {
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        let after = &rest[dollar + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            rest = tail;
            continue;
        }
        match VarRef::parse(after) {
            Some(reference) if reference.name == name => return true,
            Some(reference) => rest = &after[reference.len..],
            None => rest = after,
        }
    }
    false
}

/// Why a variable's value is not in the configuration.
fn why_unknown(name: &str) -> String {
    if name.starts_with("CI_") || name.starts_with("GITLAB_") {
        format!("${name} is predefined by GitLab: known when the pipeline runs")
    } else {
        format!("${name} is not defined in the configuration: a project, group or instance CI/CD variable")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(text: &str) -> Variables {
        Variables::of(Some(&yaml_serde::from_str(text).unwrap()))
    }

    #[test]
    fn expansion() {
        let variables = vars("APP: billing\nENV: {value: prod, description: target}\nPATH_: \"${APP}/$ENV\"\nRAW: {value: $APP, expand: false}\nLOOP: $LOOP\n");
        assert_eq!(
            variables.expand("kv/$PATH_/db"),
            Val::Known("kv/billing/prod/db".into())
        );
        assert_eq!(variables.get("RAW"), Some(Val::Known("$APP".into())));
        assert_eq!(variables.expand("cost $$5"), Val::Known("cost $5".into()));
        let Val::Dynamic(why) = variables.expand("kv/$CI_PROJECT_NAME/${TEAM}") else {
            panic!()
        };
        assert!(why.starts_with("kv/$CI_PROJECT_NAME/${TEAM} ("), "{why}");
        assert!(
            why.contains("predefined") && why.contains("project, group"),
            "{why}"
        );
        assert!(matches!(variables.expand("$LOOP"), Val::Dynamic(_)));
        assert_eq!(variables.expand("a $ b"), Val::Known("a $ b".into()));
    }

    #[test]
    fn inherit_variables() {
        let global = vars("A: 1\nB: 2\n");
        let job: Value =
            yaml_serde::from_str("inherit: {variables: [B]}\nvariables: {C: 3}\n").unwrap();
        let variables = Variables::for_job(&global, &job);
        assert!(!variables.contains("A") && variables.contains("B") && variables.contains("C"));
        let job: Value = yaml_serde::from_str("inherit: {variables: false}\n").unwrap();
        assert!(Variables::for_job(&global, &job).values.is_empty());
    }
}
