//! Identity-templating vectors taken from OpenBao's `sdk/helper/identitytpl/templating_test.go`
//! (ACL mode), stored in `tests/vectors/templates.json`.

use std::path::PathBuf;

use blastmap::acl::template::{populate, Entity, Group, PopulateInput};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Vector {
    name: String,
    mode: String,
    input: String,
    entity: Option<Entity>,
    #[serde(default)]
    groups: Option<Vec<Group>>,
    #[serde(default)]
    namespace_id: String,
    #[serde(default)]
    blocked_substitutions: Option<Vec<String>>,
    /// `null`: not a time case (upstream then uses the wall clock).
    now_unix: Option<i64>,
    expected_output: Option<String>,
    /// A substring of the expected error message.
    expected_error: Option<String>,
    #[serde(default)]
    source: String,
}

fn load() -> Vec<Vector> {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "vectors",
        "templates.json",
    ]
    .iter()
    .collect();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("cannot parse {}: {e}", path.display()))
}

fn wall_clock_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Runs one vector; `Err` holds a human-readable failure description.
fn check(v: &Vector) -> Result<(), String> {
    if v.mode != "acl" {
        return Err(format!("unsupported mode {:?}", v.mode));
    }
    let groups = v.groups.clone().unwrap_or_default();
    let blocked_owned = v.blocked_substitutions.clone().unwrap_or_default();
    let blocked: Vec<&str> = blocked_owned.iter().map(String::as_str).collect();
    let input = PopulateInput {
        string: &v.input,
        entity: v.entity.as_ref(),
        groups: &groups,
        namespace_id: &v.namespace_id,
        blocked_substitutions: &blocked,
        now_unix: v.now_unix.unwrap_or_else(wall_clock_unix),
        validity_check_only: false,
    };
    let got = populate(&input);
    match (&v.expected_output, &v.expected_error, got) {
        (_, Some(want), Err(e)) => {
            let msg = e.to_string();
            if msg.contains(want.as_str()) {
                Ok(())
            } else {
                Err(format!(
                    "expected error containing {want:?}, got error {msg:?}"
                ))
            }
        }
        (_, Some(want), Ok((has, out))) => Err(format!(
            "expected error containing {want:?}, got Ok(has_templating={has}, output={out:?})"
        )),
        (Some(want), None, Ok((has, out))) => {
            if &out != want {
                Err(format!("expected output {want:?}, got {out:?}"))
            } else if !has && out != v.input {
                // Upstream's own check: no substitution means the output is the input.
                Err(format!(
                    "has_templating=false but output {out:?} differs from input"
                ))
            } else {
                Ok(())
            }
        }
        (Some(want), None, Err(e)) => Err(format!(
            "expected output {want:?}, got error {:?}",
            e.to_string()
        )),
        (None, None, _) => Err("vector has neither expected_output nor expected_error".into()),
    }
}

#[test]
fn template_vectors() {
    let vectors = load();
    assert_eq!(vectors.len(), 31, "unexpected number of template vectors");
    let failures: Vec<String> = vectors
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            check(v).err().map(|why| {
                format!(
                    "vector #{i} {:?} ({})\n    input: {:?}\n    {why}",
                    v.name, v.source, v.input
                )
            })
        })
        .collect();
    if !failures.is_empty() {
        panic!(
            "{} of {} template vectors failed:\n{}",
            failures.len(),
            vectors.len(),
            failures.join("\n")
        );
    }
}
