//! JSON Schemas of the JSON outputs (`docs/schemas/`): the committed files are exactly what the
//! library generates from the Rust types; every JSON output of the demo estate (reach, who-can,
//! findings and the rule catalogue, facts, diff, usage, discover's inventory, the snapshot, and
//! the capabilities array) validates against its schema and carries its `schema_version` (all
//! but the array); and a document with a wrong-typed field, or of another schema version, does
//! not validate, so the validation can fail.

use std::path::Path;

use assert_cmd::Command;
use blastmap::schema::{outputs, Output};
use serde_json::{json, Value};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn path(rel: &str) -> String {
    format!("{ROOT}/{rel}")
}

const SNAPSHOT: &str = "fixtures/demo/snapshot.json";
const PIPELINES: &str = "fixtures/demo/pipelines.yaml";

/// Run blastmap in the repository root; the standard output when the exit code is one of `ok`.
fn run(args: &[&str], ok: &[i32]) -> Vec<u8> {
    let out = Command::cargo_bin("blastmap")
        .unwrap()
        .current_dir(ROOT)
        .args(args)
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    assert!(
        ok.contains(&code),
        "blastmap {args:?} exited {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn run_json(args: &[&str], ok: &[i32]) -> Value {
    let stdout = run(args, ok);
    serde_json::from_slice(&stdout).unwrap_or_else(|e| {
        panic!(
            "blastmap {args:?} did not write JSON ({e}):\n{}",
            String::from_utf8_lossy(&stdout)
        )
    })
}

fn output(name: &str) -> &'static Output {
    blastmap::schema::output(name).unwrap()
}

/// The first line where `got` and `want` differ, for a readable failure.
fn first_difference(got: &str, want: &str) -> String {
    let (g, w): (Vec<_>, Vec<_>) = (got.lines().collect(), want.lines().collect());
    for i in 0..g.len().max(w.len()) {
        let (a, b) = (g.get(i), w.get(i));
        if a != b {
            return format!(
                "line {}:\n  committed: {}\n  generated: {}",
                i + 1,
                a.unwrap_or(&"<end of file>"),
                b.unwrap_or(&"<end of file>")
            );
        }
    }
    "the files differ only in their line endings".into()
}

#[test]
fn committed_schemas_equal_the_generated_ones() {
    let dir = Path::new(ROOT).join("docs/schemas");
    let mut problems = Vec::new();
    for o in outputs() {
        let file = dir.join(o.file_name());
        let generated = o.text();
        match std::fs::read_to_string(&file) {
            Err(e) => problems.push(format!("{}: cannot read it: {e}", file.display())),
            Ok(committed) if committed != generated => problems.push(format!(
                "{} differs from the schema generated from the Rust types, first at {}",
                file.display(),
                first_difference(&committed, &generated)
            )),
            Ok(_) => {}
        }
    }
    // No stale schema of an output that no longer exists.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".schema.json") {
            if !outputs().iter().any(|o| o.name == stem) {
                problems.push(format!(
                    "docs/schemas/{name} is the schema of no output (known: {})",
                    outputs()
                        .iter()
                        .map(|o| o.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{}\n\nIf the change to the output is intended, re-generate the schemas with\n  \
         cargo run -- schema --out docs/schemas\nand review the diff (docs/schemas/README.md: a \
         renamed, removed or retyped field bumps the output's schema version).",
        problems.join("\n")
    );
}

#[test]
fn the_schema_command_prints_and_writes_the_generated_schemas() {
    let printed = run(&["schema", "findings"], &[0]);
    assert_eq!(
        String::from_utf8(printed).unwrap(),
        output("findings").text()
    );

    let dir = tempfile::tempdir().unwrap();
    run(&["schema", "--out", dir.path().to_str().unwrap()], &[0]);
    for o in outputs() {
        let written = std::fs::read_to_string(dir.path().join(o.file_name())).unwrap();
        assert_eq!(written, o.text(), "{} as written by --out", o.name);
    }

    let out = Command::cargo_bin("blastmap")
        .unwrap()
        .args(["schema", "no-such-output"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("known: reach, who-can, path"));
}

#[test]
fn every_schema_is_draft_2020_12_and_names_its_output_and_version() {
    for o in outputs() {
        let s = o.schema();
        assert_eq!(
            s["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{}",
            o.name
        );
        assert_eq!(
            s["$id"],
            json!(format!("urn:blastmap:schema:{}:{}", o.name, o.version))
        );
        let title = s["title"].as_str().unwrap();
        assert!(title.contains(o.name) && title.contains(&format!("version {}", o.version)));
        if o.has_schema_version() {
            assert_eq!(s["type"], "object", "{}", o.name);
            assert_eq!(
                s["properties"]["schema_version"]["const"],
                json!(o.version),
                "{}: schema_version is pinned",
                o.name
            );
            // The inventory's schema is also the shape of hand-written inventories, which may
            // leave the version out; `discover` always writes it (checked on its output below).
            let required = s["required"]
                .as_array()
                .unwrap()
                .contains(&json!("schema_version"));
            assert_eq!(
                required,
                o.name != "inventory",
                "{}: schema_version is always written",
                o.name
            );
        } else {
            // Only a top-level array goes without: its version is the one in `$id`.
            assert_eq!(s["type"], "array", "{}", o.name);
        }
        compile(o);
    }
}

/// The schema of `o` compiled by an independent validator (boon, draft 2020-12), with format
/// assertions on (the snapshot's times are `date-time`).
fn compile(o: &Output) -> (boon::Schemas, boon::SchemaIndex) {
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    let url = format!("http://blastmap.test/{}", o.file_name());
    compiler.add_resource(&url, o.schema()).unwrap();
    let idx = compiler
        .compile(&url, &mut schemas)
        .unwrap_or_else(|e| panic!("the {} schema does not compile: {e:#}", o.name));
    (schemas, idx)
}

/// `doc` validates against the schema of `name` and carries its schema version (an object
/// output).
fn assert_valid(name: &str, what: &str, doc: &Value) {
    let o = output(name);
    let (schemas, idx) = compile(o);
    if let Err(e) = schemas.validate(doc, idx) {
        panic!(
            "{what} does not validate against docs/schemas/{}:\n{e:#}",
            o.file_name()
        );
    }
    if o.has_schema_version() {
        assert_eq!(
            doc["schema_version"],
            json!(o.version),
            "{what}: schema_version"
        );
    }
}

fn is_valid(name: &str, doc: &Value) -> bool {
    let (schemas, idx) = compile(output(name));
    schemas.validate(doc, idx).is_ok()
}

fn demo(args: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    a.extend(["--snapshot", SNAPSHOT, "--pipelines", PIPELINES].map(String::from));
    a
}

fn run_demo_json(args: &[&str], ok: &[i32]) -> Value {
    let a = demo(args);
    run_json(&a.iter().map(String::as_str).collect::<Vec<_>>(), ok)
}

#[test]
fn demo_reach_and_who_can_validate() {
    let reach = run_demo_json(&["reach", "--format", "json"], &[0]);
    assert!(!reach["pipelines"].as_array().unwrap().is_empty());
    assert_valid("reach", "reach --format json", &reach);
    let all = run_demo_json(&["reach", "--format", "json", "--all-roles"], &[0]);
    assert_valid("reach", "reach --all-roles --format json", &all);
    // No pipeline selected has its own writer path: the empty document.
    let dir = tempfile::tempdir().unwrap();
    let empty_inv = dir.path().join("empty.yaml");
    std::fs::write(&empty_inv, "pipelines: []\n").unwrap();
    let empty = run_json(
        &[
            "reach",
            "--format",
            "json",
            "--snapshot",
            SNAPSHOT,
            "--pipelines",
            empty_inv.to_str().unwrap(),
        ],
        &[0],
    );
    assert_eq!(empty["pipelines"], json!([]));
    assert_valid("reach", "reach of no pipeline", &empty);

    for p in [
        "secret/data/payments/db",
        "secret/data/ci/shared/docker-hub",
    ] {
        let who = run_demo_json(&["who-can", "--format", "json", "--path", p], &[0]);
        assert_valid("who-can", &format!("who-can --path {p}"), &who);
        let path = run_demo_json(&["path", "--format", "json", "--to", p], &[0]);
        assert!(!path["pipelines"].as_array().unwrap().is_empty());
        assert_valid("path", &format!("path --to {p}"), &path);
    }
    let from = run_demo_json(
        &["path", "--format", "json", "--from", "platform-terraform"],
        &[0],
    );
    assert_valid("path", "path --from platform-terraform", &from);
}

#[test]
fn demo_findings_and_facts_validate() {
    let findings = run_demo_json(&["findings", "--format", "json"], &[0, 1]);
    assert!(!findings["findings"].as_array().unwrap().is_empty());
    assert_valid("findings", "findings --format json", &findings);
    // Suppressions (matched and unused) exercise the optional parts of the document.
    let dir = tempfile::tempdir().unwrap();
    let supp = dir.path().join("suppress.yaml");
    let first = &findings["findings"][0];
    std::fs::write(
        &supp,
        format!(
            "suppressions:\n  - rule: {}\n    subject: {}\n    reason: accepted for the test\n  \
             - rule: no.such-rule\n    reason: stale\n    expires: 2020-01-01\n",
            first["rule"], first["subject"]
        ),
    )
    .unwrap();
    let suppressed = run_demo_json(
        &[
            "findings",
            "--format",
            "json",
            "--suppress",
            supp.to_str().unwrap(),
        ],
        &[0, 1],
    );
    assert!(suppressed["unused_suppressions"].is_array());
    assert!(suppressed["summary"]["suppressed"].as_u64().unwrap() >= 1);
    assert_valid("findings", "findings with suppressions", &suppressed);

    let rules = run_json(&["findings", "--list-rules", "--format", "json"], &[0]);
    assert!(rules["rules"].as_array().unwrap().len() > 10);
    assert_valid("rules", "findings --list-rules --format json", &rules);

    let facts = run_demo_json(&["facts"], &[0]);
    assert_valid("facts", "facts", &facts);
    assert_eq!(facts["schema_version"], facts["facts_version"]);
    let estate_only = run_json(&["facts", "--snapshot", SNAPSHOT], &[0]);
    assert_valid("facts", "facts without an inventory", &estate_only);
}

#[test]
fn demo_diff_validates() {
    for change in ["fixtures/whatif/widen-ci", "fixtures/whatif/plan.json"] {
        let diff = run_demo_json(
            &["diff", "--format", "json", "--apply", &path(change)],
            &[0, 1],
        );
        assert!(
            !diff["pipelines"].as_array().unwrap().is_empty(),
            "{change}"
        );
        assert_valid("diff", &format!("diff --apply {change}"), &diff);
    }
}

#[test]
fn demo_usage_validates() {
    // An audit log of the demo estate: a GitHub Actions login to gha/payments-deploy, a read
    // with the token it minted, a request of a token never seen logging in, and a line that
    // is not JSON.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let lines = [
        r#"{"time":"2026-03-01T10:00:00.000000000Z","type":"response","auth":{},"request":{"id":"l1","operation":"update","mount_point":"auth/gha/","mount_type":"jwt","namespace":{"id":"root"},"path":"auth/gha/login"},"response":{"auth":{"client_token":"hmac-sha256:aa","accessor":"hmac-sha256:0101","display_name":"gha-payments-deploy","policies":["default","payments-deploy"],"metadata":{"role":"payments-deploy"},"entity_id":"e-1","token_type":"service"}}}"#,
        r#"{"time":"2026-03-01T10:00:01.000000000Z","type":"response","auth":{"client_token":"hmac-sha256:aa","accessor":"hmac-sha256:0101","display_name":"gha-payments-deploy","policies":["default","payments-deploy"],"token_type":"service"},"request":{"id":"r1","operation":"read","mount_point":"secret/","mount_type":"kv","client_token_accessor":"hmac-sha256:0101","namespace":{"id":"root"},"path":"secret/data/payments/db"}}"#,
        r#"{"time":"2026-03-01T10:00:02.000000000Z","type":"response","auth":{"client_token":"hmac-sha256:bb","accessor":"hmac-sha256:0202","display_name":"token","policies":["default"],"token_type":"service"},"request":{"id":"r2","operation":"read","mount_point":"secret/","mount_type":"kv","client_token_accessor":"hmac-sha256:0202","namespace":{"id":"root"},"path":"secret/data/checkout/api"}}"#,
        "not an audit entry",
    ];
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();
    let log = log.to_str().unwrap();
    let with_inventory = run_demo_json(&["usage", "--format", "json", "--audit-log", log], &[0]);
    assert!(!with_inventory["roles"].as_array().unwrap().is_empty());
    assert_valid("usage", "usage --format json", &with_inventory);
    let without = run_json(
        &[
            "usage",
            "--format",
            "json",
            "--snapshot",
            SNAPSHOT,
            "--audit-log",
            log,
        ],
        &[0],
    );
    assert_valid("usage", "usage without an inventory", &without);
}

#[test]
fn discovered_inventories_validate_as_json_and_yaml() {
    let dir = tempfile::tempdir().unwrap();
    let sources: [&[&str]; 4] = [
        &[
            "--github",
            "fixtures/discover/github/payments",
            "--repo",
            "acme/payments",
        ],
        &[
            "--gitlab",
            "fixtures/discover/gitlab/data-pipelines/.gitlab-ci.yml",
            "--project",
            "acme/data/pipelines",
            "--protected-ref",
            "main",
        ],
        &[
            "--jenkins",
            "fixtures/discover/jenkins/payments-batch/Jenkinsfile",
            "--jenkins-role",
            "vault-approle-payments=jenkins-payments",
        ],
        &["--kubernetes", "fixtures/discover/kubernetes/shop"],
    ];
    for (i, source) in sources.iter().enumerate() {
        let out = dir.path().join(format!("inventory-{i}.json"));
        let mut args = vec!["discover", "--quiet", "--out", out.to_str().unwrap()];
        args.extend_from_slice(source);
        run(&args, &[0]);
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        assert!(
            !doc["pipelines"].as_array().unwrap().is_empty(),
            "{source:?}"
        );
        assert_valid(
            "inventory",
            &format!("discover {source:?} --out x.json"),
            &doc,
        );
        // The YAML form is the same document.
        let mut args = vec!["discover", "--quiet"];
        args.extend_from_slice(source);
        let yaml: Value = yaml_value(&run(&args, &[0]));
        assert_eq!(yaml, doc, "discover {source:?}: YAML and JSON differ");
    }
    // A merge with the demo's hand-written inventory (teams, pipelines without `ci`).
    let out = dir.path().join("merged.json");
    let mut args = vec![
        "discover",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
        "--merge",
        PIPELINES,
    ];
    args.extend_from_slice(sources[0]);
    run(&args, &[0]);
    let merged: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert!(!merged["teams"].as_array().unwrap().is_empty());
    assert_valid("inventory", "discover --merge", &merged);

    // The version is read back: a discovered inventory feeds `reach`; one of another version
    // is refused rather than misread.
    run(
        &[
            "reach",
            "--snapshot",
            SNAPSHOT,
            "--pipelines",
            out.to_str().unwrap(),
        ],
        &[0],
    );
    let future = dir.path().join("future.yaml");
    std::fs::write(&future, "schema_version: 2\npipelines: []\n").unwrap();
    let refused = Command::cargo_bin("blastmap")
        .unwrap()
        .current_dir(ROOT)
        .args(["reach", "--snapshot", SNAPSHOT, "--pipelines"])
        .arg(&future)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("schema_version") && stderr.contains("version 2 is not supported"),
        "{stderr}"
    );
}

/// A YAML document as JSON values, through the library's inventory model (which reads both).
fn yaml_value(text: &[u8]) -> Value {
    let inv = blastmap::inventory::Inventory::from_yaml_str(
        std::str::from_utf8(text).unwrap(),
        "discovered.yaml",
    )
    .unwrap();
    serde_json::to_value(&inv).unwrap()
}

#[test]
fn snapshots_validate() {
    // The demo snapshot as the exporter writes snapshots: loaded into the model and written
    // back with its `Serialize`, as `export` does.
    let snap = blastmap::model::Snapshot::load(Path::new(&path(SNAPSHOT))).unwrap();
    let doc = serde_json::to_value(&snap).unwrap();
    assert_valid("snapshot", "the demo snapshot as written", &doc);
    // The file itself (hand-maintained in the export's shape) validates too.
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(path(SNAPSHOT)).unwrap()).unwrap();
    assert_valid("snapshot", SNAPSHOT, &file);

    // A synthetic estate with namespaces, Kubernetes and AppRole roles, written by `synth`.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    run(
        &[
            "synth",
            "--secrets",
            "300",
            "--policies",
            "20",
            "--roles",
            "12",
            "--pipelines",
            "8",
            "--namespaces",
            "3",
            "--out",
            d,
        ],
        &[0],
    );
    let synth: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("snapshot.json")).unwrap())
            .unwrap();
    assert_valid("snapshot", "a synthetic snapshot", &synth);
}

#[test]
fn demo_capabilities_validate() {
    // A JSON array, one answer per line: no `schema_version` in it (see docs/schemas/README.md).
    let caps = run_json(
        &[
            "capabilities",
            "--snapshot",
            SNAPSHOT,
            "--policy",
            "ci-shared",
            "--policy",
            "payments-deploy",
            "--path",
            "secret/data/payments/db",
            "--path",
            "secret/data/checkout/api",
            "--format",
            "json",
        ],
        &[0],
    );
    assert_eq!(caps.as_array().unwrap().len(), 2);
    assert_valid("capabilities", "capabilities --format json", &caps);
    let mut wrong = caps;
    wrong[0]["granted_by"][0]["line"] = json!("2");
    assert!(
        !is_valid("capabilities", &wrong),
        "a line number as a string"
    );
}

#[test]
fn a_wrong_typed_field_or_another_version_fails_validation() {
    let who = run_demo_json(
        &[
            "who-can",
            "--format",
            "json",
            "--path",
            "secret/data/payments/db",
        ],
        &[0],
    );
    assert!(is_valid("who-can", &who));
    assert!(!who["subjects"].as_array().unwrap().is_empty());

    let mut wrong = who.clone();
    wrong["subjects"][0]["capabilities"] = json!("read");
    assert!(!is_valid("who-can", &wrong), "capabilities as a string");

    let mut wrong = who.clone();
    wrong["subjects"][0]["admission"] = json!("maybe");
    assert!(
        !is_valid("who-can", &wrong),
        "an admission outside the enum"
    );

    let mut wrong = who.clone();
    wrong.as_object_mut().unwrap().remove("subjects");
    assert!(!is_valid("who-can", &wrong), "a required field missing");

    let mut other = who.clone();
    other["schema_version"] = json!(2);
    assert!(!is_valid("who-can", &other), "another schema version");

    // Unknown fields are allowed within a version (consumers ignore them; outputs may gain
    // fields) wherever the type does not refuse them.
    let mut extended = who;
    extended["added_later"] = json!(true);
    assert!(is_valid("who-can", &extended));

    let findings = run_demo_json(&["findings", "--format", "json"], &[0, 1]);
    let mut wrong = findings;
    wrong["summary"]["total"] = json!("12");
    assert!(!is_valid("findings", &wrong), "a count as a string");

    let snap: Value =
        serde_json::from_str(&std::fs::read_to_string(path(SNAPSHOT)).unwrap()).unwrap();
    let mut wrong = snap;
    wrong["exported_at"] = json!("yesterday");
    assert!(!is_valid("snapshot", &wrong), "a time that is not RFC 3339");
}
