//! `blastmap dot`: a diagram of the estate as DOT, SVG or PNG (`docs/diagrams.md`).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::Outcome;
use crate::facts::FactsOptions;
use crate::inventory::Inventory;
use crate::render::dot::{DEFAULT_MAX_NODES, MIN_NODES};
use crate::render::svg::{self, Format};
use crate::review::{DiagramView, Estate, ReviewOptions};
use crate::timings::Clock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum View {
    /// One pipeline's blast radius (needs --pipeline).
    Pipeline,
    /// Who can reach one secret (needs --path).
    Secret,
    /// The architecture view: teams, their pipelines and secrets (optionally --team).
    Teams,
    /// The whole estate by namespace, mount and path prefix.
    Overview,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A snapshot written by `blastmap export`.
    #[arg(long, value_name = "FILE")]
    snapshot: PathBuf,
    /// The pipeline inventory (YAML or JSON; see docs/pipelines.md).
    #[arg(long, value_name = "FILE")]
    pipelines: PathBuf,
    /// Which diagram.
    #[arg(long, value_enum)]
    view: View,
    /// The pipeline of `--view pipeline`.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["path", "team"])]
    pipeline: Option<String>,
    /// The secret of `--view secret`: an API path (`secret/data/payments/db`), namespace-qualified
    /// (`data/secret/data/x`) or relative to --namespace.
    #[arg(long, value_name = "PATH", conflicts_with = "team")]
    path: Option<String>,
    /// Namespace of --path (by default found from the path).
    #[arg(long, value_name = "NS", requires = "path")]
    namespace: Option<String>,
    /// `--view teams`: one team in detail, with the teams it shares secrets with.
    #[arg(long, value_name = "T")]
    team: Option<String>,
    /// At most this many nodes: beyond it secrets are grouped by prefix with counts, and rules,
    /// policies, pipelines and teams are folded.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_NODES)]
    max_nodes: usize,
    /// Write to FILE.dot (or .gv), FILE.svg or FILE.png (the last two need Graphviz's `dot`);
    /// without it, DOT goes to standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// `--view pipeline`: follow escalation chains this many steps (0 disables them).
    #[arg(long, value_name = "N", default_value_t = 3)]
    escalation_depth: usize,
}

/// What to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    Stdout,
    Dot,
    Image(Format),
}

fn output_of(out: Option<&Path>) -> Result<Output> {
    let Some(p) = out else {
        return Ok(Output::Stdout);
    };
    let ext = p
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    Ok(match ext.as_str() {
        "dot" | "gv" => Output::Dot,
        "svg" => Output::Image(Format::Svg),
        "png" => Output::Image(Format::Png),
        _ => bail!(
            "--out {}: unknown extension; use .dot (or .gv), .svg or .png",
            p.display()
        ),
    })
}

fn check_selectors(args: &Args) -> Result<()> {
    if args.max_nodes < MIN_NODES {
        bail!("--max-nodes must be at least {MIN_NODES}");
    }
    match args.view {
        View::Pipeline => {
            if args.pipeline.is_none() {
                bail!("--view pipeline needs --pipeline NAME");
            }
        }
        View::Secret => {
            if args.path.is_none() {
                bail!("--view secret needs --path PATH");
            }
        }
        View::Teams | View::Overview => {}
    }
    if args.pipeline.is_some() && args.view != View::Pipeline {
        bail!("--pipeline applies to --view pipeline only");
    }
    if args.path.is_some() && args.view != View::Secret {
        bail!("--path applies to --view secret only");
    }
    if args.team.is_some() && args.view != View::Teams {
        bail!("--team applies to --view teams only");
    }
    Ok(())
}

/// Every name `--pipeline` or `--team` gives is in the inventory.
fn check_names(args: &Args, inv: &Inventory) -> Result<()> {
    if let Some(name) = &args.pipeline {
        if inv.pipeline(name).is_none() {
            bail!(
                "pipeline {name:?} is not in {} (known: {})",
                args.pipelines.display(),
                known(inv.pipelines.iter().map(|p| p.name.as_str()))
            );
        }
    }
    if let Some(t) = &args.team {
        let exists = inv.teams.iter().any(|x| &x.name == t)
            || inv.pipelines.iter().any(|p| p.team.as_ref() == Some(t));
        if !exists {
            bail!(
                "team {t:?} is not in {} (known: {})",
                args.pipelines.display(),
                known(inv.teams.iter().map(|t| t.name.as_str()))
            );
        }
    }
    Ok(())
}

/// The view `args` asks for.
fn view(args: &Args) -> DiagramView<'_> {
    match args.view {
        View::Pipeline => DiagramView::Pipeline(args.pipeline.as_deref().unwrap_or_default()),
        View::Secret => DiagramView::Secret {
            path: args.path.as_deref().unwrap_or_default(),
            namespace: args.namespace.as_deref(),
        },
        View::Teams => DiagramView::Teams(args.team.as_deref()),
        View::Overview => DiagramView::Overview,
    }
}

fn known<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.take(20).collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

pub(super) fn run(args: Args) -> Result<Outcome> {
    let clock = Clock::start("dot");
    if let Some(p) = &args.out {
        crate::output::check(p)?;
    }
    check_selectors(&args)?;
    let output = output_of(args.out.as_deref())?;
    if let Output::Image(_) = output {
        if !svg::available() {
            return Err(svg::RenderError::NotInstalled(svg::dot_binary()).into());
        }
    }
    let estate = Estate::load(&args.snapshot, Some(&args.pipelines))?;
    clock.lap("load");
    if let Some(inv) = &estate.inventory {
        check_names(&args, inv)?;
    }
    let review = estate.review(ReviewOptions {
        facts: FactsOptions {
            escalation_depth: args.escalation_depth,
            ..FactsOptions::default()
        },
    });
    let diagram = review.diagram(view(&args), args.max_nodes)?;
    let text = diagram.to_dot();
    clock.lap("DOT");
    let summary = format!(
        "{} nodes (--max-nodes {}), {} edges{}",
        diagram.node_count(),
        args.max_nodes,
        diagram.edges.len(),
        if diagram.notes.is_empty() {
            String::new()
        } else {
            format!("; {}", diagram.notes.join("; "))
        }
    );
    match (output, &args.out) {
        (Output::Stdout, _) | (_, None) => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
        (Output::Dot, Some(p)) => {
            crate::render::write_atomic(p, text.as_bytes())?;
        }
        (Output::Image(f), Some(p)) => {
            let bytes = svg::render(&text, f, &[])?;
            clock.lap("Graphviz");
            crate::render::write_atomic(p, &bytes)?;
        }
    }
    if let Some(p) = &args.out {
        let wrote = format!(
            "wrote {} in {:.2}s: {summary}",
            p.display(),
            clock.seconds()
        );
        eprintln!("{}", crate::text::visible(&wrote));
    } else {
        let summary = crate::text::visible(&summary);
        eprintln!("{summary} ({:.2}s)", clock.seconds());
    }
    super::finish(Outcome::Success)
}
