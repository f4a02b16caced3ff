//! Stage timings on standard error, the one mechanism for every stage that reports its time.
//!
//! Stages report through the `log` crate at level `info`; nothing is printed unless the command
//! line asked for timings (`blastmap --timings …`, or the older `BLASTMAP_FACTS_TIMINGS`
//! environment variable, kept as an alias), in which case [`init`] installs a logger that writes
//! blastmap's own messages, as they are, to standard error. Messages of dependencies that also use
//! `log` are not shown. A library user that installs no logger gets no output.

use std::time::Instant;

/// The environment variable that turns timings on, as `--timings` does.
pub(crate) const ENV_ALIAS: &str = "BLASTMAP_FACTS_TIMINGS";

/// Turn timings on when `requested` (the `--timings` flag) or when [`ENV_ALIAS`] is set.
/// Called once, by the command line, before any work.
pub(crate) fn init(requested: bool) {
    if !(requested || std::env::var_os(ENV_ALIAS).is_some()) {
        return;
    }
    // Only the first logger of a process is installed; a second call changes nothing.
    if log::set_logger(&STDERR).is_ok() {
        log::set_max_level(log::LevelFilter::Info);
    }
}

/// Whether timings are printed: for measurements that cost time themselves, taken only then.
pub(crate) fn enabled() -> bool {
    log::log_enabled!(target: "blastmap", log::Level::Info)
}

/// A stage's clock: [`lap`](Clock::lap) reports `<stage>: <what> at <seconds since start>s`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    stage: &'static str,
    start: Instant,
}

impl Clock {
    /// Start the clock of `stage` (`facts`, `diff`, …), the prefix of each of its lines.
    pub(crate) fn start(stage: &'static str) -> Clock {
        Clock {
            stage,
            start: Instant::now(),
        }
    }

    /// Report that `what` is done, with the seconds since the clock started.
    pub(crate) fn lap(&self, what: &str) {
        log::info!(
            target: "blastmap",
            "{}: {what} at {:.3}s",
            self.stage,
            self.seconds()
        );
    }

    /// Seconds since the clock started.
    pub(crate) fn seconds(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }
}

/// Writes blastmap's messages to standard error, one line each, nothing else.
struct Stderr;

static STDERR: Stderr = Stderr;

impl log::Log for Stderr {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.target().starts_with("blastmap")
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!("{}", record.args());
        }
    }

    fn flush(&self) {}
}
