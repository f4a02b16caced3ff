//! `blastmap dot`: a diagram of the estate as DOT, SVG or PNG (`docs/diagrams.md`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::inventory::Inventory;
use crate::model::Snapshot;
use crate::ownership::Owners;
use crate::passes::reach::{Analysis, ReachOptions};
use crate::render::diagram::Diagram;
use crate::render::dot::{self as views, DEFAULT_MAX_NODES, MIN_NODES};
use crate::render::estate::{escalation_chains, EstateReach};
use crate::render::svg::{self, Format};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum View {
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
    /// Print the time each stage took to standard error.
    #[arg(long)]
    timings: bool,
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

/// The namespace and namespace-relative path of `--path`.
pub(crate) fn resolve_path(
    analysis: &Analysis<'_>,
    path: &str,
    namespace: Option<&str>,
) -> (String, String) {
    let path = path.trim_start_matches('/');
    if let Some(ns) = namespace {
        return (
            crate::model::namespace_path(ns).into_owned(),
            path.to_string(),
        );
    }
    if let Some(sid) = analysis.secrets.find(path) {
        let s = analysis.secrets.get(sid);
        return (s.namespace.clone(), s.path.clone());
    }
    let mut best = String::new();
    for ns in &analysis.snapshot.namespaces {
        let p = crate::model::namespace_path(&ns.path);
        if !p.is_empty()
            && path.starts_with(p.as_ref())
            && p.len() > best.len()
            && path.len() > p.len()
        {
            best = p.into_owned();
        }
    }
    let rel = path[best.len()..].to_string();
    (best, rel)
}

/// Build the diagram a `dot` invocation asks for.
fn build(args: &Args, snap: &Snapshot, inv: &Inventory, t: &mut Timings) -> Result<Diagram> {
    // Leaked: the process ends after this command, and freeing a million indexed secrets one
    // allocation at a time would only delay the exit.
    let analysis: &Analysis<'_> = Box::leak(Box::new(Analysis::new(snap, inv)));
    t.lap("analysis (index, parse policies)");
    Ok(match args.view {
        View::Pipeline => {
            let name = args.pipeline.as_deref().unwrap_or_default();
            let Some(p) = inv.pipeline(name) else {
                bail!(
                    "pipeline {name:?} is not in {} (known: {})",
                    args.pipelines.display(),
                    known(inv.pipelines.iter().map(|p| p.name.as_str()))
                );
            };
            let reach = analysis
                .reach(&ReachOptions {
                    pipelines: vec![name.to_string()],
                    all_roles: false,
                })
                .into_iter()
                .next()
                .context("reach returned no pipeline")?;
            let chains = escalation_chains(analysis, &[p], args.escalation_depth)
                .into_iter()
                .next()
                .unwrap_or_default();
            let owners = Owners::build(&analysis.secrets, inv);
            views::pipeline_view(&owners, &reach, &chains, args.max_nodes)
        }
        View::Secret => {
            let (ns, rel) = resolve_path(
                analysis,
                args.path.as_deref().unwrap_or_default(),
                args.namespace.as_deref(),
            );
            if rel.is_empty() {
                bail!("--path is empty");
            }
            let owners = Owners::build(&analysis.secrets, inv);
            let who = analysis.who_can(&ns, &rel, None);
            views::secret_view(analysis, &owners, &who, args.max_nodes)
        }
        View::Teams => {
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
            let est = EstateReach::build(analysis);
            t.lap("reach (logins, tokens, grants)");
            let d = views::teams_view(&est, args.team.as_deref(), args.max_nodes);
            std::mem::forget(est);
            d
        }
        View::Overview => {
            let est = EstateReach::build(analysis);
            t.lap("reach (logins, tokens, grants)");
            let d = views::overview_view(&est, args.max_nodes);
            std::mem::forget(est);
            d
        }
    })
}

fn known<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<&str> = names.take(20).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// Stage timings for `--timings`.
struct Timings {
    on: bool,
    last: Instant,
    laps: Vec<(&'static str, f64)>,
}

impl Timings {
    fn lap(&mut self, what: &'static str) {
        let now = Instant::now();
        self.laps
            .push((what, now.duration_since(self.last).as_secs_f64()));
        self.last = now;
    }

    fn print(&self) {
        if self.on {
            let parts: Vec<String> = self
                .laps
                .iter()
                .map(|(w, s)| format!("{w} {s:.3}s"))
                .collect();
            eprintln!("timings: {}", parts.join(", "));
        }
    }
}

pub fn run(args: Args) -> Result<ExitCode> {
    let t0 = Instant::now();
    if let Some(p) = &args.out {
        crate::output::check(p)?;
    }
    let mut t = Timings {
        on: args.timings,
        last: t0,
        laps: Vec::new(),
    };
    check_selectors(&args)?;
    let output = output_of(args.out.as_deref())?;
    if let Output::Image(_) = output {
        if !svg::available() {
            return Err(svg::RenderError::NotInstalled(svg::dot_binary()).into());
        }
    }
    let snap = Snapshot::load(&args.snapshot)?;
    let inv = Inventory::load(&args.pipelines)?;
    t.lap("load");
    let diagram = build(&args, &snap, &inv, &mut t)?;
    t.lap("view");
    let text = diagram.to_dot();
    t.lap("DOT");
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
            t.lap("Graphviz");
            crate::render::write_atomic(p, &bytes)?;
        }
    }
    t.print();
    if let Some(p) = &args.out {
        let wrote = format!(
            "wrote {} in {:.2}s: {summary}",
            p.display(),
            t0.elapsed().as_secs_f64()
        );
        eprintln!("{}", crate::text::visible(&wrote));
    } else {
        let summary = crate::text::visible(&summary);
        eprintln!("{summary} ({:.2}s)", t0.elapsed().as_secs_f64());
    }
    Ok(ExitCode::SUCCESS)
}
