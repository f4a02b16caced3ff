//! The command line: argument definitions (clap) and dispatch to one module per command.
//!
//! Exit codes are part of the contract: 0 success, 1 a gate failed (findings, diff), 2 an error
//! (bad input, unreadable file, refused policy).

mod capabilities;
mod diff;
mod diff_findings;
mod discover;
mod dot;
mod export;
mod facts;
mod findings;
mod reach;
mod report;
mod synth;
mod usage;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "blastmap",
    version,
    about = "If this CI/CD pipeline is compromised, which secrets in Vault or OpenBao can the attacker reach, and through what?"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Capabilities a set of policies grants on paths, exactly as sys/capabilities answers.
    Capabilities(capabilities::Args),
    /// Export a live Vault/OpenBao estate to a snapshot, read-only, never reading a secret.
    Export(export::Args),
    /// The secrets each pipeline can reach, with capabilities and the chain that grants them.
    Reach(reach::ReachArgs),
    /// Who can reach one secret path, and through what.
    WhoCan(reach::WhoCanArgs),
    /// Print the facts document the findings rules judge (JSON; see docs/facts.md).
    Facts(facts::Args),
    /// Findings: the CI/CD secrets practices and privilege escalation, as Rego rules over the facts.
    Findings(findings::Args),
    /// What-if: the reach and findings delta of a change, as a CI gate.
    Diff(diff::Args),
    /// Write a deterministic synthetic estate (snapshot and pipeline inventory) of a given size.
    Synth(synth::Args),
    /// Discover pipelines from CI configurations (GitHub Actions, GitLab CI, Jenkins, CircleCI,
    /// Buildkite) as an inventory. Boxed: its many options would make every command large.
    Discover(Box<discover::Args>),
    /// Diagrams as DOT, SVG or PNG: a pipeline's blast radius, who can reach a secret, teams, overview.
    Dot(dot::Args),
    /// The review report: one self-contained HTML file with findings, blast radii and diagrams.
    Report(report::Args),
    /// Usage from audit logs: what each role used, granted-but-unused access, least-privilege policies.
    Usage(usage::Args),
}

/// Parse the command line, run the command, and map errors to exit code 2.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    crate::output::install_signal_cleanup();
    let result = match cli.command {
        Command::Capabilities(args) => capabilities::run(args),
        Command::Export(args) => export::run(args),
        Command::Reach(args) => reach::run_reach(args),
        Command::WhoCan(args) => reach::run_who_can(args),
        Command::Facts(args) => facts::run(args),
        Command::Findings(args) => findings::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Synth(args) => synth::run(args),
        Command::Discover(args) => discover::run(*args),
        Command::Dot(args) => dot::run(args),
        Command::Report(args) => report::run(args),
        Command::Usage(args) => usage::run(args),
    };
    match result {
        Ok(code) => code,
        // The reader went away (`blastmap reach | head`): nothing more to say.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // Errors quote paths, names and server answers: shown with control characters
            // visible, so they cannot drive the terminal.
            eprintln!("error: {}", crate::text::visible(&error_text(&e)));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes joined by `: `, each said once: a cause whose text already ends its
/// parent's message (`cannot read x: No such file` over `No such file`) is not repeated.
fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if text.ends_with(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .and_then(|j| j.io_error_kind())
                .is_some_and(|k| k == std::io::ErrorKind::BrokenPipe)
    })
}
