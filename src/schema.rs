//! JSON Schemas (draft 2020-12) of blastmap's JSON outputs, generated from the Rust types that
//! are serialised as each output, so a schema cannot drift from what the commands write.
//!
//! Schemas describe the *serialised* form (schemars' serialize contract): a field left out when
//! empty is optional, an `Option` written as `null` is nullable. Fields written by hand (a custom
//! `Serialize`, `serialize_with`) carry a hand-written schema next to their type.
//!
//! The published copies live in `docs/schemas/` (`blastmap schema --out docs/schemas`), and
//! `tests/suite/schemas.rs` checks they equal what this module generates. The compatibility policy is
//! in `docs/schemas/README.md`.

use std::path::Path;

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema};
use serde_json::{json, Value};

/// The schema version of each output: the `schema_version` field of the document, and the last
/// part of its schema's `$id`. Bumped only on an incompatible change (a field renamed, removed
/// or retyped, or its meaning changed); adding a field keeps the version.
pub mod version {
    pub const REACH: u32 = 1;
    pub const WHO_CAN: u32 = 1;
    pub const FINDINGS: u32 = 1;
    pub const RULES: u32 = 1;
    /// The facts already carried `facts_version`; `schema_version` is the same number.
    pub const FACTS: u32 = crate::facts::FACTS_VERSION;
    pub const DIFF: u32 = 1;
    pub const USAGE: u32 = 1;
    pub const INVENTORY: u32 = 1;
    /// The snapshot's `schema_version` predates this module: the version this blastmap reads.
    pub const SNAPSHOT: u32 = crate::model::SUPPORTED_SCHEMA_VERSION;
    /// `capabilities --format json` is an array: the version is only in its schema's `$id`.
    pub const CAPABILITIES: u32 = 1;
    pub const PATH: u32 = 1;
}

/// One JSON output of blastmap.
pub struct Output {
    /// The schema's name: `docs/schemas/<name>.schema.json`.
    pub name: &'static str,
    /// The command that writes it.
    pub command: &'static str,
    /// Its schema version.
    pub version: u32,
    /// What the document holds, for its readers (the schema's `description`; the type's own
    /// documentation speaks to the code's readers).
    pub description: &'static str,
    generate: fn() -> Schema,
}

impl Output {
    /// The schema's `$id`: names blastmap, the output and its schema version.
    pub fn id(&self) -> String {
        format!("urn:blastmap:schema:{}:{}", self.name, self.version)
    }

    /// The file name under `docs/schemas/`.
    pub fn file_name(&self) -> String {
        format!("{}.schema.json", self.name)
    }

    /// Whether the document carries its version in a `schema_version` field. Only an output
    /// whose top level is an array does not (wrapping it in an object would break its readers):
    /// its version is the one in its schema's `$id`.
    pub fn has_schema_version(&self) -> bool {
        self.schema()["properties"]["schema_version"].is_object()
    }

    /// The schema as JSON: the generated schema with its `$id` and title, and `schema_version`
    /// pinned to this version (a document of another version is not valid against it).
    pub fn schema(&self) -> Value {
        let generated = (self.generate)().to_value();
        let Value::Object(body) = generated else {
            unreachable!("a root schema of a struct is an object")
        };
        // `$schema` and `$id` first, then title and description, so a reader sees what the file
        // is at once.
        let mut out = serde_json::Map::new();
        if let Some(s) = body.get("$schema") {
            out.insert("$schema".into(), s.clone());
        }
        out.insert("$id".into(), json!(self.id()));
        out.insert(
            "title".into(),
            json!(format!(
                "blastmap {} output ({}), schema version {}",
                self.name, self.command, self.version
            )),
        );
        out.insert("description".into(), json!(self.description));
        for (k, v) in body {
            if k != "$schema" && k != "title" && k != "description" {
                out.insert(k, v);
            }
        }
        if let Some(Value::Object(props)) = out.get_mut("properties") {
            if let Some(Value::Object(sv)) = props.get_mut("schema_version") {
                sv.insert("const".into(), json!(self.version));
            }
        }
        Value::Object(out)
    }

    /// The schema as the published file: pretty JSON ending in a newline.
    pub fn text(&self) -> String {
        let mut text =
            serde_json::to_string_pretty(&self.schema()).expect("a schema serialises to JSON");
        text.push('\n');
        text
    }
}

/// The root schema of `T` as serialised, draft 2020-12.
fn serialized<T: JsonSchema + ?Sized>() -> Schema {
    SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<T>()
}

/// Every JSON output, in the order the documentation lists them.
pub fn outputs() -> &'static [Output] {
    const OUTPUTS: &[Output] = &[
        Output {
            name: "reach",
            command: "blastmap reach --format json",
            version: version::REACH,
            description: "The blast radius of each pipeline: the roles it can log into, the secrets it can reach with their capabilities, and the chain that grants each (README, reach).",
            generate: serialized::<crate::passes::reach::ReachDocument<'static>>,
        },
        Output {
            name: "who-can",
            command: "blastmap who-can --format json",
            version: version::WHO_CAN,
            description: "Who can reach one secret path: the pipelines and roles, their capabilities, and the chain that grants each.",
            generate: serialized::<crate::passes::who_can::WhoCan>,
        },
        Output {
            name: "path",
            command: "blastmap path --format json",
            version: version::PATH,
            description: "How pipelines reach secrets: per pipeline and secret, the direct and escalated capabilities and every chain (login, escalation steps, entity or group, policy, rule) ranked by length (docs/graph.md).",
            generate: serialized::<crate::graph::path::PathsAnswer>,
        },
        Output {
            name: "findings",
            command: "blastmap findings --format json",
            version: version::FINDINGS,
            description: "The findings of the rules on an estate, a summary, and the suppressions that matched nothing (docs/findings.md).",
            generate: serialized::<crate::rules::render::JsonOut<'static>>,
        },
        Output {
            name: "rules",
            command: "blastmap findings --list-rules --format json",
            version: version::RULES,
            description: "The rule catalogue: every rule's id, default severity, practice, title, description and remediation (docs/findings.md).",
            generate: serialized::<crate::rules::render::Catalogue<'static>>,
        },
        Output {
            name: "facts",
            command: "blastmap facts",
            version: version::FACTS,
            description: "The facts document the findings rules judge (docs/facts.md).",
            generate: serialized::<crate::facts::Facts>,
        },
        Output {
            name: "diff",
            command: "blastmap diff --format json",
            version: version::DIFF,
            description: "The what-if of a change: per pipeline the access gained and lost and the roles that newly admit it, and the findings delta (docs/what-if.md).",
            generate: serialized::<crate::diff::DiffReport>,
        },
        Output {
            name: "usage",
            command: "blastmap usage --format json",
            version: version::USAGE,
            description: "Usage from audit logs: what each role and pipeline used, granted but unused access, and a least-privilege policy per role (docs/usage.md).",
            generate: serialized::<crate::usage::UsageReport>,
        },
        Output {
            name: "inventory",
            command: "blastmap discover",
            version: version::INVENTORY,
            description: "The pipeline inventory: teams, pipelines and how each logs in to Vault/OpenBao (docs/pipelines.md, docs/discover.md).",
            generate: serialized::<crate::inventory::Inventory>,
        },
        Output {
            name: "snapshot",
            command: "blastmap export",
            version: version::SNAPSHOT,
            description: "An exported Vault/OpenBao estate: namespaces, auth mounts and roles, policies, identity, secret paths (never their values) and coverage gaps (docs/snapshot.md).",
            generate: serialized::<crate::model::Snapshot>,
        },
        Output {
            name: "capabilities",
            command: "blastmap capabilities --format json",
            version: version::CAPABILITIES,
            description: "The capabilities a set of policies grants on each path, as sys/capabilities answers, with the rules behind each answer: one element per path, in the order asked.",
            generate: serialized::<Vec<crate::acl::answer::CapabilityAnswer<'static>>>,
        },
    ];
    OUTPUTS
}

/// Why a schema could not be given or written.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("no JSON output called {name:?} (known: {known})")]
    UnknownOutput { name: String, known: String },
    #[error("cannot create the schema directory {dir}: {source}")]
    CreateDirectory { dir: String, source: std::io::Error },
    #[error(transparent)]
    Write(#[from] crate::output::OutputError),
}

/// The output called `name`.
pub fn output(name: &str) -> Result<&'static Output, SchemaError> {
    outputs()
        .iter()
        .find(|o| o.name == name)
        .ok_or_else(|| SchemaError::UnknownOutput {
            name: crate::text::visible(name).into_owned(),
            known: outputs()
                .iter()
                .map(|o| o.name)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Write every schema into `dir` (created if missing) as `<name>.schema.json`, each through the
/// project's one output writer. Returns the files written.
pub fn write_all(dir: &Path) -> Result<Vec<std::path::PathBuf>, SchemaError> {
    std::fs::create_dir_all(dir).map_err(|source| SchemaError::CreateDirectory {
        dir: dir.display().to_string(),
        source,
    })?;
    let mut written = Vec::new();
    for o in outputs() {
        let path = dir.join(o.file_name());
        crate::output::write_bytes(&path, crate::output::FileMode::Shared, o.text().as_bytes())?;
        written.push(path);
    }
    Ok(written)
}
