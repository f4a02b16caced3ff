//! Progress display on stderr: a spinner with request, namespace and key counts.
//!
//! Only when stderr is a terminal and `--quiet` is not given: CI logs must not fill with
//! redraws, and stdout stays clean for whatever the caller pipes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    keys: AtomicU64,
    namespaces: AtomicU64,
    gaps: AtomicU64,
}

/// A cheap, clonable handle; a no-op when the display is off.
#[derive(Clone, Default)]
pub struct Progress {
    bar: Option<ProgressBar>,
    counters: Arc<Counters>,
}

impl Progress {
    /// A progress display on stderr, shown only if `enabled` (the caller checks the terminal and
    /// `--quiet`).
    pub fn new(enabled: bool) -> Progress {
        let bar = enabled.then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} exporting [{elapsed}] {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress {
            bar,
            counters: Arc::default(),
        }
    }

    /// A display that shows nothing.
    pub fn hidden() -> Progress {
        Progress::default()
    }

    fn refresh(&self) {
        if let Some(bar) = &self.bar {
            let counters = &self.counters;
            bar.set_message(format!(
                "{} requests, {} namespaces, {} KV keys, {} gaps",
                counters.requests.load(Ordering::Relaxed),
                counters.namespaces.load(Ordering::Relaxed),
                counters.keys.load(Ordering::Relaxed),
                counters.gaps.load(Ordering::Relaxed),
            ));
        }
    }

    pub fn request_done(&self) {
        let done = self.counters.requests.fetch_add(1, Ordering::Relaxed);
        // Redrawing the message on every request costs more than the request at high rates.
        if done % 16 == 0 {
            self.refresh();
        }
    }

    pub fn keys_found(&self, n: u64) {
        self.counters.keys.fetch_add(n, Ordering::Relaxed);
    }

    pub fn namespace_started(&self) {
        self.counters.namespaces.fetch_add(1, Ordering::Relaxed);
        self.refresh();
    }

    pub fn gap(&self) {
        self.counters.gaps.fetch_add(1, Ordering::Relaxed);
    }

    /// Remove the spinner (before the summary is printed).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
