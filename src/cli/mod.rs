//! The command line: argument definitions (clap) and dispatch to one module per command.
//!
//! Each command parses its arguments, asks the library (an analysis goes through
//! [`crate::review::Review`]) and prints. Exit codes are part of the contract: 0 success, 1 a gate
//! failed (findings, diff), 2 an error (bad input, unreadable file, refused policy).

mod capabilities;
mod completions;
mod diff;
mod discover;
mod dot;
mod export;
mod facts;
mod findings;
mod graph;
mod path;
mod reach;
mod report;
mod scan;
mod schema;
mod synth;
mod usage;

use std::io::Write;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "blastmap",
    version,
    about = "If this CI/CD pipeline is compromised, which secrets in Vault or OpenBao can the attacker reach, and through what?"
)]
pub struct Cli {
    /// Print the time each stage takes to standard error (any command; the environment
    /// variable BLASTMAP_FACTS_TIMINGS does the same).
    #[arg(long, global = true)]
    pub timings: bool,
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
    /// How exactly a pipeline reaches a secret: every chain (login, escalation steps, entity or
    /// group, policy, rule), ranked by length.
    Path(path::Args),
    /// Export the blast-radius graph of one or more estates for BloodHound CE (OpenGraph),
    /// Neo4j (CSV) or GraphML tools.
    Graph(graph::Args),
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
    /// A first review in one command: export (or read a snapshot), discover pipelines, and write
    /// the snapshot, inventory, findings (JSON, SARIF) and report into one directory.
    Scan(scan::Args),
    /// Print the shell completion script of one shell (bash, zsh, fish, powershell, elvish).
    Completions(completions::CompletionsArgs),
    /// Print the manual page, or write one page per command into a directory.
    Man(completions::ManArgs),
    /// JSON Schemas of the JSON outputs: print one, or write all of them to a directory.
    Schema(schema::Args),
}

/// What the binary knows of its own build, for `--version`.
#[derive(Debug, Clone, Copy)]
pub struct Build {
    /// The git commit the binary was built from, when the build recorded it.
    pub commit: Option<&'static str>,
}

/// Servers whose API and semantics blastmap follows: the exporter's endpoints and the ACL and
/// login rules are OpenBao's, which keeps Vault's.
const SERVERS: &str = "OpenBao 2.x (the tests run against a real OpenBao 2.7.2), \
HashiCorp Vault 1.x through the same API (ACL policies only: Sentinel policies are not read)";

impl Build {
    /// The text of `--version`: the version, the commit, the snapshot format and the servers.
    pub fn long_version(&self) -> String {
        let commit = match self.commit {
            Some(c) if !c.trim().is_empty() => c.trim().to_string(),
            _ => "unknown (built without BLASTMAP_GIT_COMMIT; scripts/build-release.sh sets it)"
                .to_string(),
        };
        format!(
            "{}\ncommit: {commit}\nsnapshot schema_version: {}\nservers: {SERVERS}",
            env!("CARGO_PKG_VERSION"),
            crate::model::SUPPORTED_SCHEMA_VERSION,
        )
    }
}

/// How a command that did its work ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit code 0.
    Success,
    /// Exit code 1: a gate (`--fail-on`) failed.
    GateFailed,
}

impl Outcome {
    /// [`GateFailed`](Outcome::GateFailed) when `failed`, else [`Success`](Outcome::Success).
    pub fn gate(failed: bool) -> Outcome {
        if failed {
            Outcome::GateFailed
        } else {
            Outcome::Success
        }
    }

    fn code(self) -> i32 {
        match self {
            Outcome::Success => 0,
            Outcome::GateFailed => 1,
        }
    }
}

/// The command line's definition, with the build's `--version` text.
pub fn command(build: &Build) -> clap::Command {
    Cli::command().long_version(build.long_version())
}

/// Parse the command line, run the command, map errors to exit code 2, and end the process.
pub fn run(build: Build) -> ! {
    let cli = match Cli::from_arg_matches(&command(&build).get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    crate::timings::init(cli.timings);
    crate::output::install_signal_cleanup();
    let result = match cli.command {
        Command::Capabilities(args) => capabilities::run(args),
        Command::Export(args) => export::run(args),
        Command::Reach(args) => reach::run_reach(args),
        Command::WhoCan(args) => reach::run_who_can(args),
        Command::Path(args) => path::run(args),
        Command::Graph(args) => graph::run(args),
        Command::Facts(args) => facts::run(args),
        Command::Findings(args) => findings::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Synth(args) => synth::run(args),
        Command::Discover(args) => discover::run(*args),
        Command::Dot(args) => dot::run(args),
        Command::Report(args) => report::run(args),
        Command::Usage(args) => usage::run(args),
        Command::Scan(args) => scan::run(args),
        Command::Completions(args) => completions::run_completions(args, &build),
        Command::Man(args) => completions::run_man(args, &build),
        Command::Schema(args) => schema::run(args),
    };
    match result {
        Ok(outcome) => finish(outcome),
        // The reader went away (`blastmap reach | head`): nothing more to say.
        Err(e) if is_broken_pipe(&e) => finish(Outcome::Success),
        Err(e) => {
            // Errors quote paths, names and server answers: shown with control characters
            // visible, so they cannot drive the terminal.
            eprintln!("error: {}", crate::text::visible(&error_text(&e)));
            exit(2)
        }
    }
}

/// End the process with the outcome's exit code, once standard output is flushed, without
/// freeing anything the command built. Every output file is complete by then: the output
/// writer renames a file over its target before it returns.
///
/// A command that analyses an estate calls this as its last step, while the estate, its
/// review and the results are still in scope: freeing a million indexed secrets, their tokens
/// and facts one allocation at a time takes about half a second on a large estate, and the
/// operating system reclaims the memory at once. Other commands return to [`run`], which calls
/// it.
pub(crate) fn finish(outcome: Outcome) -> ! {
    exit(outcome.code())
}

/// The one exit of the process: flush standard output, then exit with `code`.
fn exit(code: i32) -> ! {
    // A reader that went away (`| head`) is no error: the output it wanted was written.
    std::io::stdout().flush().ok();
    std::process::exit(code)
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
