//! Job matrices. A `strategy.matrix` whose keys are literal lists expands to the combinations
//! GitHub runs: the product of the keys (in the order written), less every combination an
//! `exclude` entry matches (on all of its keys), then each `include` entry either merged into
//! every combination whose original values it does not change or, when it fits none, added as
//! a combination of its own. A matrix given as an expression (`${{ fromJSON(…) }}`), or a key
//! whose values are objects, is left alone: its references stay dynamic.

use yaml_serde::Value;

use super::super::yaml::{entries, get, scalar};

/// GitHub runs at most 256 jobs per matrix; a larger one is not a configuration it accepts.
const MAX_COMBINATIONS: usize = 256;

/// One combination: `matrix.<key>` values, keys in the order written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Combination {
    pub(super) values: Vec<(String, String)>,
}

impl Combination {
    fn get(&self, key: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn set(&mut self, key: &str, value: &str) {
        match self.values.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value.to_string(),
            None => self.values.push((key.to_string(), value.to_string())),
        }
    }

    /// `service=api,env=production`: the suffix of the pipelines of this combination.
    pub(super) fn label(&self) -> String {
        self.values
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// What a job's matrix expands to.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Matrix {
    /// No matrix, or one whose values are not literal: the job as written.
    AsWritten,
    /// The combinations, at least one.
    Combinations(Vec<Combination>),
    /// A literal matrix beyond GitHub's limit: not expanded.
    TooLarge(usize),
}

/// The matrix of a job.
pub(super) fn read(job: &Value) -> Matrix {
    let Some(matrix) = get(job, "strategy").and_then(|s| get(s, "matrix")) else {
        return Matrix::AsWritten;
    };
    if !matrix.is_mapping() {
        return Matrix::AsWritten;
    }
    let mut keys: Vec<(String, Vec<String>)> = Vec::new();
    for (key, values) in entries(matrix) {
        if key == "include" || key == "exclude" {
            continue;
        }
        let Some(list) = values.as_sequence() else {
            return Matrix::AsWritten;
        };
        let Some(literal) = list.iter().map(scalar).collect::<Option<Vec<String>>>() else {
            return Matrix::AsWritten;
        };
        keys.push((key, literal));
    }
    let product: usize = keys
        .iter()
        .map(|(_, v)| v.len())
        .fold(1usize, usize::saturating_mul);
    if product > MAX_COMBINATIONS {
        return Matrix::TooLarge(product);
    }
    let Some(exclude) = entry_list(matrix, "exclude") else {
        return Matrix::AsWritten;
    };
    let Some(include) = entry_list(matrix, "include") else {
        return Matrix::AsWritten;
    };
    let mut combos = product_of(&keys);
    combos.retain(|c| !exclude.iter().any(|e| matches_all(c, e)));
    let original: Vec<&str> = keys.iter().map(|(k, _)| k.as_str()).collect();
    let product = combos.len();
    for entry in &include {
        apply_include(&mut combos, product, entry, &original);
    }
    if combos.len() > MAX_COMBINATIONS {
        return Matrix::TooLarge(combos.len());
    }
    if combos.is_empty() {
        return Matrix::AsWritten;
    }
    Matrix::Combinations(combos)
}

/// `include` or `exclude` as combinations; `None` when some value is not a literal scalar.
fn entry_list(matrix: &Value, key: &str) -> Option<Vec<Combination>> {
    let Some(list) = get(matrix, key) else {
        return Some(Vec::new());
    };
    let list = list.as_sequence()?;
    list.iter()
        .map(|entry| {
            let values = entries(entry)
                .into_iter()
                .map(|(k, v)| scalar(v).map(|v| (k, v)))
                .collect::<Option<Vec<_>>>()?;
            Some(Combination { values })
        })
        .collect()
}

fn product_of(keys: &[(String, Vec<String>)]) -> Vec<Combination> {
    let mut combos = vec![Combination { values: Vec::new() }];
    for (key, values) in keys {
        let mut next = Vec::with_capacity(combos.len() * values.len());
        for combo in &combos {
            for value in values {
                let mut extended = combo.clone();
                extended.set(key, value);
                next.push(extended);
            }
        }
        combos = next;
    }
    // A matrix of include entries alone starts from no combination at all.
    if keys.is_empty() {
        combos.clear();
    }
    combos
}

fn matches_all(combo: &Combination, entry: &Combination) -> bool {
    entry
        .values
        .iter()
        .all(|(k, v)| combo.get(k) == Some(v.as_str()))
}

/// Merge an include entry into every combination of the product (`product` of them, first in
/// `combos`) whose original values it leaves unchanged (values an earlier entry added may be
/// overwritten); add it as a combination of its own when it fits none. Combinations added that
/// way are never merged into.
fn apply_include(
    combos: &mut Vec<Combination>,
    product: usize,
    entry: &Combination,
    original: &[&str],
) {
    let mut merged = false;
    for combo in combos.iter_mut().take(product) {
        let fits = entry
            .values
            .iter()
            .all(|(k, v)| !original.contains(&k.as_str()) || combo.get(k) == Some(v.as_str()));
        if fits {
            for (k, v) in &entry.values {
                combo.set(k, v);
            }
            merged = true;
        }
    }
    if !merged {
        combos.push(entry.clone());
    }
}

/// Whether a job refers to its matrix anywhere.
pub(super) fn mentioned(job: &Value) -> bool {
    match job {
        Value::String(s) => s.contains("matrix."),
        Value::Sequence(items) => items.iter().any(mentioned),
        Value::Mapping(m) => m
            .iter()
            .any(|(k, v)| k.as_str() != Some("strategy") && mentioned(v)),
        Value::Tagged(t) => mentioned(&t.value),
        _ => false,
    }
}

/// The job with `${{ matrix.<key> }}` replaced by this combination's values in every string.
pub(super) fn substitute(job: &Value, combo: &Combination) -> Value {
    match job {
        Value::String(s) => Value::String(replace_refs(s, combo)),
        Value::Sequence(items) => {
            Value::Sequence(items.iter().map(|v| substitute(v, combo)).collect())
        }
        Value::Mapping(m) => Value::Mapping(
            m.iter()
                .map(|(k, v)| (k.clone(), substitute(v, combo)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Replace each `${{ matrix.KEY }}` whose key the combination has; other expressions stay.
fn replace_refs(s: &str, combo: &Combination) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${{") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        let inner = rest[start + 3..start + len].trim();
        out.push_str(&rest[..start]);
        match inner.strip_prefix("matrix.").and_then(|k| combo.get(k)) {
            Some(value) => out.push_str(value),
            None => out.push_str(&rest[start..start + len + 2]),
        }
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(yaml: &str) -> Value {
        yaml_serde::from_str(yaml).unwrap()
    }

    fn labels(m: Matrix) -> Vec<String> {
        match m {
            Matrix::Combinations(c) => c.iter().map(Combination::label).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn product_exclude_and_include_as_github_computes_them() {
        // The documented example: include entries extend the combinations they fit, and one
        // that fits none is added.
        let matrix = read(&job(
            "strategy:\n  matrix:\n    fruit: [apple, pear]\n    animal: [cat, dog]\n    include:\n      - color: green\n      - color: pink\n        animal: cat\n      - fruit: apple\n        shape: circle\n      - fruit: banana\n      - fruit: banana\n        animal: cat\n",
        ));
        assert_eq!(
            labels(matrix),
            [
                "fruit=apple,animal=cat,color=pink,shape=circle",
                "fruit=apple,animal=dog,color=green,shape=circle",
                "fruit=pear,animal=cat,color=pink",
                "fruit=pear,animal=dog,color=green",
                "fruit=banana",
                "fruit=banana,animal=cat",
            ]
        );
        let matrix = read(&job(
            "strategy:\n  matrix:\n    os: [a, b]\n    v: ['1', '2']\n    exclude:\n      - os: a\n        v: '2'\n",
        ));
        assert_eq!(labels(matrix), ["os=a,v=1", "os=b,v=1", "os=b,v=2"]);
    }

    #[test]
    fn expressions_objects_and_oversized_matrices_are_left_alone() {
        let expr = job("strategy:\n  matrix: ${{ fromJSON(needs.plan.outputs.m) }}\n");
        assert_eq!(read(&expr), Matrix::AsWritten);
        let listed = job("strategy:\n  matrix:\n    svc: ${{ fromJSON(inputs.svcs) }}\n");
        assert_eq!(read(&listed), Matrix::AsWritten);
        let objects = job("strategy:\n  matrix:\n    cfg: [{name: a}]\n");
        assert_eq!(read(&objects), Matrix::AsWritten);
        let big = job(&format!(
            "strategy:\n  matrix:\n    a: [{}]\n    b: [{}]\n",
            (0..20).map(|i| i.to_string()).collect::<Vec<_>>().join(","),
            (0..20).map(|i| i.to_string()).collect::<Vec<_>>().join(",")
        ));
        assert_eq!(read(&big), Matrix::TooLarge(400));
    }

    #[test]
    fn references_are_replaced_and_others_kept() {
        let combo = Combination {
            values: vec![("svc".into(), "api".into())],
        };
        assert_eq!(
            replace_refs(
                "kv/${{ matrix.svc }}/${{matrix.svc}} ${{ matrix.os }} ${{ x",
                &combo
            ),
            "kv/api/api ${{ matrix.os }} ${{ x"
        );
    }
}
