//! The `blastmap` binary: parse the command line and hand it to [`blastmap::cli::run`], which
//! ends the process.
//!
//! The commit comes from `BLASTMAP_GIT_COMMIT` at build time (scripts/build-release.sh and the
//! container build set it). It is read here, in the binary, rather than by a build script: a
//! build script that follows HEAD would rebuild the whole library on every commit.

fn main() {
    blastmap::cli::run(blastmap::cli::Build {
        commit: option_env!("BLASTMAP_GIT_COMMIT"),
    })
}
