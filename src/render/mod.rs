//! Making the graph visible: DOT views that stay readable at any size, SVG/PNG through Graphviz,
//! and the self-contained HTML review report (`docs/diagrams.md`, `docs/report.md`).
//!
//! * [`escape`]: the old home of the escapers, now in [`crate::text`]; every name goes through
//!   [`crate::text`] before it reaches DOT or HTML.
//! * [`group`]: secrets grouped by prefix, with counts, under a node budget.
//! * [`estate`]: token-level reach of every pipeline, owners and escalation chains.
//! * [`diagram`]: the diagram model and its DOT printer (graphviz-rust's syntax tree).
//! * [`dot`]: the views (`pipeline`, `secret`, `teams`, `overview`).
//! * [`svg`]: running `dot`.
//! * [`html`]: the report.

pub mod diagram;
pub mod dot;
pub mod escape;
pub mod estate;
pub mod group;
pub mod html;
pub mod svg;

use std::io::Write;
use std::path::Path;

/// Write a file atomically: a temporary file in the same directory, flushed and synced, then
/// renamed over the target, so readers never see a half-written file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
