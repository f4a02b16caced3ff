//! Shell completions and manual pages, generated from the same clap definitions the parser uses,
//! so they cannot drift from the real flags.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::ValueEnum;

use super::{Build, Outcome};
use crate::output::{self, FileMode};

/// Arguments of `blastmap completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// The shells `blastmap completions` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

impl Shell {
    fn generator(self) -> clap_complete::Shell {
        match self {
            Shell::Bash => clap_complete::Shell::Bash,
            Shell::Zsh => clap_complete::Shell::Zsh,
            Shell::Fish => clap_complete::Shell::Fish,
            Shell::Powershell => clap_complete::Shell::PowerShell,
            Shell::Elvish => clap_complete::Shell::Elvish,
        }
    }
}

/// Arguments of `blastmap man`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write one page per command into this directory (`blastmap.1`, `blastmap-export.1`, …)
    /// instead of printing `blastmap.1`.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Print the completion script of one shell.
pub(super) fn run_completions(args: CompletionsArgs, build: &Build) -> Result<Outcome> {
    let mut command = super::command(build);
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell.generator(), &mut command, "blastmap", &mut out);
    out.flush()?;
    Ok(Outcome::Success)
}

/// Print the main manual page, or write every command's page into a directory.
pub(super) fn run_man(args: ManArgs, build: &Build) -> Result<Outcome> {
    let mut command = super::command(build);
    command.build();
    let Some(dir) = args.out else {
        let mut out = std::io::stdout().lock();
        clap_mangen::Man::new(command).render(&mut out)?;
        out.flush()?;
        return Ok(Outcome::Success);
    };
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("creating the manual directory {}", dir.display()))?;
    let mut pages = vec![("blastmap".to_string(), command.clone())];
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("blastmap-{}", sub.get_name());
        pages.push((name.clone(), sub.clone().name(name)));
    }
    for (name, page) in pages {
        let mut text = Vec::new();
        clap_mangen::Man::new(page).render(&mut text)?;
        let path = dir.join(format!("{name}.1"));
        output::write_bytes(&path, FileMode::Shared, &text)
            .with_context(|| format!("writing the manual page {name}.1"))?;
    }
    Ok(Outcome::Success)
}
