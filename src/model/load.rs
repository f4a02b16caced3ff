//! Loading and saving snapshots, with errors that name the file, the JSON path and the line.

use super::Snapshot;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// The snapshot schema version this blastmap reads and writes.
pub const SUPPORTED_SCHEMA_VERSION: u32 = 1;

/// Why a snapshot could not be loaded or saved. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("cannot read snapshot {file}: {source}")]
    Read {
        file: String,
        #[source]
        source: io::Error,
    },

    #[error(
        "{file}: not a snapshot: the file is not UTF-8 text (first invalid byte at offset \
         {offset}); a snapshot is the JSON file written by `blastmap export`"
    )]
    NotUtf8 { file: String, offset: usize },

    #[error("{file}:{line}:{column}: malformed snapshot at JSON path `{json_path}`: {message}")]
    Malformed {
        file: String,
        /// Where in the document the error is, e.g. `namespaces[0].auth_mounts[2].roles.jwt[0]`
        /// (`.` is the top level).
        json_path: String,
        line: usize,
        column: usize,
        message: String,
    },

    #[error(
        "{file}: unsupported snapshot schema_version {found} (written by blastmap {written_by}); \
         this blastmap {ours} reads schema_version {supported}. Re-export the estate with this \
         blastmap (`blastmap export --out FILE`), or read the file with the blastmap release \
         that wrote it"
    )]
    UnsupportedVersion {
        file: String,
        /// The value found, as JSON text (`2`, `"1"`, `null` …).
        found: String,
        written_by: String,
        supported: u32,
        ours: &'static str,
    },

    #[error(
        "{file}: not a blastmap snapshot: the top-level `schema_version` field is missing; \
         this blastmap {ours} reads schema_version {supported}. Create the file with \
         `blastmap export --out FILE`"
    )]
    MissingVersion {
        file: String,
        supported: u32,
        ours: &'static str,
    },

    /// The output writer's message already names the file.
    #[error("{source}")]
    Write {
        file: String,
        #[source]
        source: crate::output::OutputError,
    },
}

impl SnapshotError {
    /// The file (or source name) the error is about.
    pub fn file(&self) -> &str {
        match self {
            SnapshotError::Read { file, .. }
            | SnapshotError::NotUtf8 { file, .. }
            | SnapshotError::Malformed { file, .. }
            | SnapshotError::UnsupportedVersion { file, .. }
            | SnapshotError::MissingVersion { file, .. }
            | SnapshotError::Write { file, .. } => file,
        }
    }
}

/// `deserialize_with` for `schema_version`: anything but the supported version fails at once
/// (the field is first in files we write, so a wrong version stops the parse immediately).
pub(crate) fn schema_version<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let version = u64::deserialize(d)?;
    if version == u64::from(SUPPORTED_SCHEMA_VERSION) {
        Ok(SUPPORTED_SCHEMA_VERSION)
    } else {
        Err(serde::de::Error::custom(format!(
            "unsupported schema_version {version}; this blastmap reads schema_version \
             {SUPPORTED_SCHEMA_VERSION}"
        )))
    }
}

impl Snapshot {
    /// Load a snapshot file.
    pub fn load(path: &Path) -> Result<Snapshot, SnapshotError> {
        let file = path.display().to_string();
        let bytes = fs::read(path).map_err(|source| SnapshotError::Read {
            file: file.clone(),
            source,
        })?;
        let text = String::from_utf8(bytes).map_err(|e| SnapshotError::NotUtf8 {
            file: file.clone(),
            offset: e.utf8_error().valid_up_to(),
        })?;
        Snapshot::from_json_str(&text, &file)
    }

    /// Parse a snapshot from JSON text; `source_name` names it in errors (a file path, `<stdin>`).
    ///
    /// One parse on success. On failure the text is examined again to explain the error: a
    /// missing or unsupported `schema_version` is reported as such (wherever it sits in the
    /// file), anything else with its JSON path, line and column.
    pub fn from_json_str(text: &str, source_name: &str) -> Result<Snapshot, SnapshotError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        match serde_json::from_str::<Snapshot>(text) {
            Ok(s) => Ok(s),
            Err(first) => Err(diagnose(text, source_name, first)),
        }
    }

    /// Write the snapshot as pretty JSON to a writer.
    pub fn to_writer<W: Write>(&self, writer: W) -> serde_json::Result<()> {
        serde_json::to_writer_pretty(writer, self)
    }

    /// The snapshot as pretty JSON text.
    pub fn to_json_string(&self) -> String {
        // Serialising our own types to a String cannot fail (no non-string map keys).
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Write the snapshot to `path` through the one output writer (`crate::output`): an
    /// exclusive temporary file with an unpredictable name in the same directory (mode 0600),
    /// flushed and synced, then renamed over `path`; a FIFO or terminal is written in place. A
    /// failure leaves no partial file behind and the old file as it was.
    pub fn save(&self, path: &Path) -> Result<(), SnapshotError> {
        crate::output::write_with(path, crate::output::FileMode::Private, |w| {
            self.to_writer(&mut *w).map_err(io::Error::other)?;
            w.write_all(b"\n")
        })
        .map_err(|source| SnapshotError::Write {
            file: path.display().to_string(),
            source,
        })
    }
}

/// Explain why `text` did not load.
fn diagnose(text: &str, source: &str, first: serde_json::Error) -> SnapshotError {
    if let Some(e) = version_error(text, source) {
        return e;
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    match serde_path_to_error::deserialize::<_, Snapshot>(&mut deserializer) {
        Err(e) => {
            let json_path = e.path().to_string();
            malformed(source, json_path, e.inner())
        }
        // The tracked parse succeeded, so the first failure was after the value (trailing
        // characters) — report it as it was.
        Ok(_) => malformed(source, "(after the top-level object)".to_owned(), &first),
    }
}

fn malformed(source: &str, json_path: String, e: &serde_json::Error) -> SnapshotError {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let bare = full.strip_suffix(&suffix).unwrap_or(&full);
    let message = if e.is_eof() {
        format!("the file ends early (truncated or incomplete): {bare}")
    } else {
        bare.to_owned()
    };
    SnapshotError::Malformed {
        file: source.to_owned(),
        json_path,
        line: e.line(),
        column: e.column(),
        message,
    }
}

/// If the document's `schema_version` is missing or not the supported one, the error to report.
/// `None` when the version is fine or the document cannot be scanned at all.
/// The schema version as the file writes it: a number too large for an integer is read as a
/// float (`1e30`), which is not what the user wrote. The number token after the first
/// `"schema_version":` is used when it reads as the same value.
fn as_written(text: &str, value: &Value) -> String {
    let shown = value.to_string();
    if !value.is_number() {
        return shown;
    }
    let Some(at) = text.find("\"schema_version\"") else {
        return shown;
    };
    let rest = text[at + "\"schema_version\"".len()..].trim_start();
    let Some(rest) = rest.strip_prefix(':') else {
        return shown;
    };
    let rest = rest.trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E')))
        .unwrap_or(rest.len());
    let token = &rest[..end];
    match serde_json::from_str::<Value>(token) {
        Ok(v) if &v == value => token.to_owned(),
        _ => shown,
    }
}

fn version_error(text: &str, source: &str) -> Option<SnapshotError> {
    // `Some(Value::Null)` for an explicit `null`, `None` when the field is absent.
    fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
        Value::deserialize(d).map(Some)
    }
    #[derive(Deserialize)]
    struct Probe {
        #[serde(default, deserialize_with = "present")]
        schema_version: Option<Value>,
        #[serde(default, deserialize_with = "present")]
        blastmap_version: Option<Value>,
    }
    let probe: Probe = serde_json::from_str(text).ok()?;
    let ours = env!("CARGO_PKG_VERSION");
    match probe.schema_version {
        None => Some(SnapshotError::MissingVersion {
            file: source.to_owned(),
            supported: SUPPORTED_SCHEMA_VERSION,
            ours,
        }),
        Some(Value::Number(n)) if n.as_u64() == Some(u64::from(SUPPORTED_SCHEMA_VERSION)) => None,
        Some(v) => Some(SnapshotError::UnsupportedVersion {
            file: source.to_owned(),
            found: as_written(text, &v),
            written_by: match probe.blastmap_version {
                Some(Value::String(s)) => s,
                Some(other) => other.to_string(),
                None => "unknown".to_owned(),
            },
            supported: SUPPORTED_SCHEMA_VERSION,
            ours,
        }),
    }
}
