//! Making the graph visible: DOT views that stay readable at any size, SVG/PNG through Graphviz,
//! and the self-contained HTML review report (`docs/diagrams.md`, `docs/report.md`).
//!
//! * [`escape`]: the old home of the escapers, now in [`crate::text`]; every name goes through
//!   [`crate::text`] before it reaches DOT or HTML.
//! * `group`: secrets grouped by prefix, with counts, under a node budget.
//! * [`estate`]: token-level reach of every pipeline, owners and escalation chains.
//! * [`diagram`]: the diagram model and its DOT printer (graphviz-rust's syntax tree).
//! * [`dot`]: the views (`pipeline`, `secret`, `teams`, `overview`).
//! * `svg`: running `dot`.
//! * `html`: the report.

pub mod diagram;
pub mod dot;
pub mod escape;
pub mod estate;
pub(crate) mod group;
pub(crate) mod html;
pub(crate) mod svg;

use std::path::Path;

/// Write an output file (a report, a diagram, a policy) through the one output writer:
/// unpredictable exclusive temporary file, synced, renamed over the target; FIFOs and terminals
/// written in place (see [`crate::output`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), crate::output::OutputError> {
    crate::output::write_bytes(path, crate::output::FileMode::Shared, bytes)
}
