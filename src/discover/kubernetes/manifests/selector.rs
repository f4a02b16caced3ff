//! The `target:` of a Kustomize patch: `group`, `version`, `kind`, `name` and `namespace` are
//! regular expressions anchored to the whole value (Kustomize wraps each in `^(?:…)$`; an
//! empty or absent field selects everything); `labelSelector` and `annotationSelector` are
//! Kubernetes label selectors. Kustomize compares `name` and `namespace` with the object's
//! original and current ones, and a namespace-less object is in the namespace `default`.

use std::collections::BTreeMap;

use regex::{Regex, RegexBuilder};
use yaml_serde::Value;

use super::super::super::yaml::{entries, get, scalar};
use super::super::Unusable;

/// Compiled size of one target's regular expression at most.
const MAX_REGEX_BYTES: usize = 1 << 20;
/// Requirements of one label selector at most.
const MAX_REQUIREMENTS: usize = 100;

/// A parsed `target:`.
#[derive(Debug)]
pub(super) struct Target {
    group: Option<Regex>,
    version: Option<Regex>,
    kind: Option<Regex>,
    name: Option<Regex>,
    namespace: Option<Regex>,
    labels: Vec<Requirement>,
    annotations: Vec<Requirement>,
}

/// What a target is compared with: an object's identity, labels and annotations.
pub(super) struct Candidate<'c> {
    pub group: &'c str,
    pub version: &'c str,
    pub kind: &'c str,
    /// The original name, then the current one.
    pub names: [&'c str; 2],
    /// The original namespace, then the current one.
    pub namespaces: [Option<&'c str>; 2],
    pub value: &'c Value,
}

/// One requirement of a label selector.
#[derive(Debug, PartialEq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    Absent(String),
}

impl Target {
    pub(super) fn parse(v: &Value) -> Result<Target, Unusable> {
        if v.as_mapping().is_none() {
            return Err("`target` is not a mapping".into());
        }
        let pattern = |field: &str| -> Result<Option<Regex>, Unusable> {
            let Some(text) = get(v, field).and_then(scalar).filter(|t| !t.is_empty()) else {
                return Ok(None);
            };
            RegexBuilder::new(&format!("^(?:{text})$"))
                .size_limit(MAX_REGEX_BYTES)
                .build()
                .map(Some)
                .map_err(|e| {
                    // The crate's message spans lines; its last one says what is wrong.
                    let message = e.to_string();
                    let why = message.lines().last().unwrap_or_default().trim();
                    Unusable::from(format!(
                        "target {field} {text:?} is not a regular expression: {why}"
                    ))
                })
        };
        let selector = |field: &str| -> Result<Vec<Requirement>, Unusable> {
            match get(v, field).and_then(scalar) {
                Some(text) => requirements(&text)
                    .map_err(|e| Unusable::from(format!("target {field} {text:?}: {e}"))),
                None => Ok(Vec::new()),
            }
        };
        Ok(Target {
            group: pattern("group")?,
            version: pattern("version")?,
            kind: pattern("kind")?,
            name: pattern("name")?,
            namespace: pattern("namespace")?,
            labels: selector("labelSelector")?,
            annotations: selector("annotationSelector")?,
        })
    }

    pub(super) fn selects(&self, c: &Candidate<'_>) -> bool {
        let whole = |re: &Option<Regex>, text: &str| re.as_ref().is_none_or(|re| re.is_match(text));
        let namespaces = c.namespaces.map(|n| n.unwrap_or("default"));
        whole(&self.group, c.group)
            && whole(&self.version, c.version)
            && whole(&self.kind, c.kind)
            && c.names.iter().any(|n| whole(&self.name, n))
            && namespaces.iter().any(|n| whole(&self.namespace, n))
            && matches_all(&self.labels, &string_map(c.value, "labels"))
            && matches_all(&self.annotations, &string_map(c.value, "annotations"))
    }
}

/// `metadata.<field>` as strings.
fn string_map(object: &Value, field: &str) -> BTreeMap<String, String> {
    get(object, "metadata")
        .and_then(|m| get(m, field))
        .map(entries)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| scalar(v).map(|v| (k, v)))
        .collect()
}

fn matches_all(requirements: &[Requirement], labels: &BTreeMap<String, String>) -> bool {
    requirements.iter().all(|r| match r {
        Requirement::Equals(k, v) => labels.get(k) == Some(v),
        Requirement::NotEquals(k, v) => labels.get(k) != Some(v),
        Requirement::In(k, vs) => labels.get(k).is_some_and(|l| vs.contains(l)),
        Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|l| !vs.contains(l)),
        Requirement::Exists(k) => labels.contains_key(k),
        Requirement::Absent(k) => !labels.contains_key(k),
    })
}

/// Parse a label selector: comma-separated `key=value`, `key==value`, `key!=value`, `key`,
/// `!key`, `key in (a,b)`, `key notin (a,b)`. The numeric `gt`/`lt` forms are refused.
fn requirements(text: &str) -> Result<Vec<Requirement>, Unusable> {
    let parts = split_top_level(text);
    if parts.len() > MAX_REQUIREMENTS {
        return Err(Unusable::from(format!(
            "more than {MAX_REQUIREMENTS} requirements"
        )));
    }
    parts
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .map(requirement)
        .collect()
}

/// Split at the commas outside parentheses.
fn split_top_level(text: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0usize, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn requirement(text: &str) -> Result<Requirement, Unusable> {
    if let Some(key) = text.strip_prefix('!') {
        return Ok(Requirement::Absent(key.trim().to_string()));
    }
    for (op, make) in [
        (
            "!=",
            Requirement::NotEquals as fn(String, String) -> Requirement,
        ),
        ("==", Requirement::Equals),
        ("=", Requirement::Equals),
    ] {
        if let Some((k, v)) = text.split_once(op) {
            return Ok(make(k.trim().to_string(), v.trim().to_string()));
        }
    }
    if text.contains('<') || text.contains('>') {
        return Err(Unusable::from(format!(
            "{text:?}: `<` and `>` are not supported"
        )));
    }
    let words: Vec<&str> = text.splitn(3, char::is_whitespace).collect();
    match words.as_slice() {
        [key] => Ok(Requirement::Exists(key.to_string())),
        [key, op, set] if *op == "in" || *op == "notin" => {
            let values = set_values(set).ok_or_else(|| format!("{text:?}: expected ( … )"))?;
            Ok(if *op == "in" {
                Requirement::In(key.to_string(), values)
            } else {
                Requirement::NotIn(key.to_string(), values)
            })
        }
        _ => Err(Unusable::from(format!("{text:?} is not a requirement"))),
    }
}

fn set_values(set: &str) -> Option<Vec<String>> {
    let inner = set.trim().strip_prefix('(')?.strip_suffix(')')?;
    Some(inner.split(',').map(|v| v.trim().to_string()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Value {
        yaml_serde::from_str(text).unwrap()
    }

    fn candidate<'c>(value: &'c Value, name: &'c str, namespace: Option<&'c str>) -> Candidate<'c> {
        Candidate {
            group: "apps",
            version: "v1",
            kind: "Deployment",
            names: [name, name],
            namespaces: [namespace, namespace],
            value,
        }
    }

    #[test]
    fn names_are_anchored_regular_expressions() {
        let object = yaml("metadata: {name: checkout-api}\n");
        let target = Target::parse(&yaml("name: checkout-.*\nkind: Deploy.*")).unwrap();
        assert!(target.selects(&candidate(&object, "checkout-api", None)));
        let target = Target::parse(&yaml("name: checkout")).unwrap();
        assert!(
            !target.selects(&candidate(&object, "checkout-api", None)),
            "anchored"
        );
        let target = Target::parse(&yaml("namespace: default")).unwrap();
        assert!(target.selects(&candidate(&object, "checkout-api", None)));
        assert!(!target.selects(&candidate(&object, "checkout-api", Some("shop"))));
        assert!(Target::parse(&yaml("name: '('")).is_err());
        assert!(
            Target::parse(&yaml("name: 'a{1000}{1000}'")).is_err(),
            "bounded"
        );
    }

    #[test]
    fn label_and_annotation_selectors() {
        let object =
            yaml("metadata:\n  labels: {app: web, tier: front}\n  annotations: {vault: 'yes'}\n");
        let selects = |target: &str| {
            Target::parse(&yaml(target))
                .unwrap()
                .selects(&candidate(&object, "x", None))
        };
        assert!(selects("labelSelector: app=web"));
        assert!(selects("labelSelector: app==web,tier"));
        assert!(selects("labelSelector: app!=db"));
        assert!(selects("labelSelector: 'tier in (front, back),!gone'"));
        assert!(!selects("labelSelector: 'tier notin (front)'"));
        assert!(!selects("labelSelector: app=db"));
        assert!(!selects("labelSelector: missing"));
        assert!(selects("annotationSelector: vault=yes"));
        assert!(Target::parse(&yaml("labelSelector: 'a > 1'")).is_err());
        assert!(Target::parse(&yaml("labelSelector: 'a in b'")).is_err());
    }
}
