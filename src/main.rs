//! The `blastmap` binary: parse the command line and hand it to [`blastmap::cli::run`], which
//! ends the process.

fn main() {
    blastmap::cli::run()
}
