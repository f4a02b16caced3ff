//! The `blastmap` binary: parse the command line and hand it to [`blastmap::cli::run`].

fn main() -> std::process::ExitCode {
    blastmap::cli::run()
}
