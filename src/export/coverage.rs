//! Collecting coverage gaps while the walk runs, and the summary printed after it.
//!
//! A 403 or an unsupported endpoint never stops the export: it becomes a [`CoverageGap`] so
//! that later passes answer "unknown" rather than "no access". Fatal errors (server gone,
//! sealed) are not gaps; they abort the export.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::model::{Affects, CoverageGap};
use crate::render::escape::visible;

use super::client::{ApiError, Op};
use super::error::ExportError;
use super::progress::Progress;

/// Thread-safe list of gaps.
#[derive(Default)]
pub struct Coverage {
    gaps: Mutex<Vec<CoverageGap>>,
    progress: Progress,
}

/// What a failed request leaves unknown, built fluently by the readers.
pub struct GapSpec<'a> {
    pub ns: &'a str,
    pub endpoint: &'a str,
    pub op: Op,
    pub affects: Affects,
    pub mount: Option<&'a str>,
    pub object: Option<&'a str>,
}

impl Coverage {
    pub fn new(progress: Progress) -> Coverage {
        Coverage {
            gaps: Mutex::new(Vec::new()),
            progress,
        }
    }

    pub fn push(&self, gap: CoverageGap) {
        self.progress.gap();
        if let Ok(mut g) = self.gaps.lock() {
            g.push(gap);
        }
    }

    /// Record a failed request as a gap, or return the fatal error that must stop the export.
    pub fn record(&self, spec: GapSpec<'_>, err: &ApiError) -> Result<(), ExportError> {
        if err.is_fatal() {
            return Err(fatal(err, spec.ns, spec.endpoint));
        }
        let mut gap = CoverageGap::new(
            spec.ns,
            spec.endpoint,
            spec.op.as_str(),
            err.status(),
            err.reason(),
            spec.affects,
        );
        gap.mount = spec.mount.map(str::to_owned);
        gap.object = spec.object.map(str::to_owned);
        self.push(gap);
        Ok(())
    }

    /// Record a gap that is not the answer of one request (a mapping failure, a skipped part).
    pub fn note(&self, spec: GapSpec<'_>, status: Option<u16>, reason: impl Into<String>) {
        let mut gap = CoverageGap::new(
            spec.ns,
            spec.endpoint,
            spec.op.as_str(),
            status,
            reason,
            spec.affects,
        );
        gap.mount = spec.mount.map(str::to_owned);
        gap.object = spec.object.map(str::to_owned);
        self.push(gap);
    }

    /// The gaps in a stable order (namespace, endpoint, operation).
    pub fn into_sorted(self) -> Vec<CoverageGap> {
        let mut gaps = self.gaps.into_inner().unwrap_or_default();
        gaps.sort_by(|a, b| {
            (&a.namespace, &a.endpoint, &a.operation, &a.object).cmp(&(
                &b.namespace,
                &b.endpoint,
                &b.operation,
                &b.object,
            ))
        });
        gaps
    }
}

/// The error that stops the export when the server is gone or sealed.
pub(crate) fn fatal(err: &ApiError, ns: &str, endpoint: &str) -> ExportError {
    let ns_text = if ns.is_empty() {
        String::new()
    } else {
        format!(" (namespace {ns})")
    };
    match err {
        ApiError::Transport(m) => ExportError::Unreachable(format!(
            "the server stopped answering during the export ({endpoint}{ns_text}: {m}); no \
             snapshot was written. Check that the server is up and reachable, then run the \
             export again"
        )),
        other => ExportError::Sealed(format!(
            "the server is sealed or unavailable (HTTP {} on {endpoint}{ns_text}: {}); no \
             snapshot was written. Unseal it (or wait for the active node) and run the export \
             again",
            other.status().unwrap_or(0),
            other.reason()
        )),
    }
}

/// A human summary of what is missing, grouped by namespace and kind: one line per
/// (namespace, affects, status), with up to three example endpoints. Namespaces, endpoints and
/// reasons come from the server, so control characters in them are shown escaped.
pub(crate) fn summary(gaps: &[CoverageGap]) -> Vec<String> {
    let mut groups: BTreeMap<(String, String, String), Vec<&CoverageGap>> = BTreeMap::new();
    for g in gaps {
        let status = g
            .status
            .map(|s| s.to_string())
            .unwrap_or_else(|| "-".into());
        groups
            .entry((g.namespace.clone(), g.affects.as_str().to_owned(), status))
            .or_default()
            .push(g);
    }
    let mut out = Vec::new();
    for ((ns, affects, status), list) in groups {
        let ns = if ns.is_empty() { "root".to_owned() } else { ns };
        let mut examples: Vec<String> = list
            .iter()
            .take(3)
            .map(|g| format!("{} {}", g.operation, g.endpoint))
            .collect();
        if list.len() > 3 {
            examples.push(format!("… {} more", list.len() - 3));
        }
        let reason = &list[0].reason;
        let line = format!(
            "  namespace {ns}: {affects} unknown — {} endpoint(s), status {status} ({reason}): {}",
            list.len(),
            examples.join(", ")
        );
        out.push(visible(&line).into_owned());
    }
    out
}
