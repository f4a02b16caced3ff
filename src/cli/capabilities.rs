//! `blastmap capabilities`: what a token holding these policies (and no default policy) may do
//! on each path, as `sys/capabilities` would answer, with the policy and rule behind each answer.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::Outcome;
use crate::acl::answer::Answers;
use crate::acl::{self, Acl, AclContext, AclNote, Flavor, ParseOptions, Policy, PolicySource};
use crate::model::Snapshot;
use crate::text::{column_width, pad, visible};

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["policy_file", "snapshot"])))]
#[command(group(clap::ArgGroup::new("paths").required(true).args(["path", "paths_file"])))]
pub struct Args {
    /// Policy files (HCL or JSON); each policy is named after its file stem.
    #[arg(long = "policy-file", value_name = "FILE", num_args = 1.., conflicts_with = "snapshot")]
    policy_file: Vec<PathBuf>,
    /// A snapshot written by `blastmap export`; pick its policies with --policy.
    #[arg(long, value_name = "FILE", requires = "policy")]
    snapshot: Option<PathBuf>,
    /// Policy names in the snapshot (`root` for the root policy).
    #[arg(long, value_name = "NAME", num_args = 1..)]
    policy: Vec<String>,
    /// Paths to evaluate, relative to --namespace.
    #[arg(long, value_name = "PATH", num_args = 1..)]
    path: Vec<String>,
    /// A file with one path per line (blank lines are skipped).
    #[arg(long = "paths-file", value_name = "FILE", conflicts_with = "path")]
    paths_file: Option<PathBuf>,
    /// Namespace of the token, its policies and the request (e.g. `team-a/`); root by default.
    #[arg(long, value_name = "NS", default_value = "")]
    namespace: String,
    /// Server semantics; defaults to the snapshot's server, else OpenBao.
    #[arg(long, value_enum)]
    flavor: Option<FlavorArg>,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum FlavorArg {
    Openbao,
    Vault,
}

pub(super) fn run(args: Args) -> Result<Outcome> {
    let ns = crate::model::namespace_path(&args.namespace).into_owned();
    let paths = read_paths(&args)?;

    let (policies, special_root, flavor) = match &args.snapshot {
        Some(file) => load_from_snapshot(file, &args, &ns)?,
        None => {
            let flavor = args.flavor.map(flavor_of).unwrap_or_default();
            (
                load_policy_files(&args.policy_file, &ns, flavor)?,
                false,
                flavor,
            )
        }
    };
    let refs: Vec<&Policy> = policies.iter().collect();
    let ctx = AclContext {
        flavor,
        token_namespace: &ns,
        ..Default::default()
    };
    let acl = Acl::new(&refs, special_root, &ctx)?;
    report_notes(&acl);

    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut answers = Answers::new(&acl, &ns);
    match args.format {
        Format::Json => {
            out.write_all(b"[")?;
            for (i, p) in paths.iter().enumerate() {
                out.write_all(if i > 0 { b",\n  " } else { b"\n  " })?;
                answers.write_json(&mut out, p)?;
            }
            out.write_all(b"\n]\n")?;
        }
        Format::Table => print_table(&mut out, &mut answers, &paths)?,
    }
    out.flush()?;
    Ok(Outcome::Success)
}

/// Path and capabilities in columns padded by hand (a path may be longer than `{:width$}`
/// allows), then the policy rules behind the answer. Streamed: a first pass over the paths
/// measures the columns, a second writes the rows (answering twice costs less than holding a
/// million rows).
fn print_table(
    out: &mut impl Write,
    answers: &mut Answers<'_>,
    paths: &[String],
) -> std::io::Result<()> {
    let path_width = column_width(paths.iter().map(|p| visible(p)), 4);
    let mut caps_width = column_width(["CAPABILITIES"], 12);
    for p in paths {
        caps_width = caps_width.max(column_width([&answers.cells(p).0], 0));
    }
    writeln!(
        out,
        "{}  {}  GRANTED BY",
        pad("PATH", path_width),
        pad("CAPABILITIES", caps_width)
    )?;
    for p in paths {
        let (caps, by) = answers.cells(p);
        writeln!(
            out,
            "{}  {}  {}",
            pad(&visible(p), path_width),
            pad(caps, caps_width),
            visible(by)
        )?;
    }
    Ok(())
}

fn flavor_of(f: FlavorArg) -> Flavor {
    match f {
        FlavorArg::Openbao => Flavor::OpenBao,
        FlavorArg::Vault => Flavor::Vault,
    }
}

fn read_paths(args: &Args) -> Result<Vec<String>> {
    match &args.paths_file {
        None => Ok(args.path.clone()),
        Some(f) => {
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("cannot read paths file {}", f.display()))?;
            Ok(text
                .lines()
                .map(|l| l.strip_suffix('\r').unwrap_or(l))
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string)
                .collect())
        }
    }
}

fn load_policy_files(files: &[PathBuf], ns: &str, flavor: Flavor) -> Result<Vec<Policy>> {
    let opts = ParseOptions {
        flavor,
        ..Default::default()
    };
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f)
            .with_context(|| format!("cannot read policy file {}", f.display()))?;
        let name = policy_name_of(f)?;
        let src = PolicySource {
            name,
            text,
            namespace_path: ns.to_string(),
            namespace_id: if ns.is_empty() {
                "root".into()
            } else {
                ns.to_string()
            },
            ..Default::default()
        };
        let policy =
            acl::parse_policy(&src, &opts).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
        out.push(policy);
    }
    Ok(out)
}

fn policy_name_of(f: &Path) -> Result<String> {
    match f.file_stem().and_then(|s| s.to_str()) {
        Some(s) if !s.is_empty() => Ok(s.to_lowercase()),
        _ => bail!("cannot name a policy after {}: no file stem", f.display()),
    }
}

fn load_from_snapshot(file: &Path, args: &Args, ns: &str) -> Result<(Vec<Policy>, bool, Flavor)> {
    let snap = Snapshot::load(file)?;
    let flavor = args.flavor.map(flavor_of).unwrap_or(snap.server.flavor);
    let opts = ParseOptions {
        flavor,
        ..Default::default()
    };
    let mut special_root = false;
    let mut out = Vec::new();
    for name in &args.policy {
        let lname = name.trim().to_lowercase();
        if lname == "root" {
            special_root = true;
            continue;
        }
        let namespace = snap
            .namespace(ns)
            .with_context(|| format!("namespace \"{ns}\" not found in {}", file.display()))?;
        let stored = namespace.policy(&lname).with_context(|| {
            format!(
                "policy \"{lname}\" not found in namespace \"{ns}\" of {}",
                file.display()
            )
        })?;
        let src = PolicySource::from_snapshot(namespace, stored);
        let policy = acl::parse_policy(&src, &opts)
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        out.push(policy);
    }
    Ok((out, special_root, flavor))
}

fn report_notes(acl: &Acl) {
    for n in acl.notes() {
        let (policy, rule) = match n {
            AclNote::TemplateDropped { policy, rule, .. }
            | AclNote::TemplateBlocked { policy, rule, .. }
            | AclNote::TemplateForbidden { policy, rule, .. }
            | AclNote::Expired { policy, rule } => (visible(policy), visible(rule)),
        };
        match n {
            AclNote::TemplateDropped { reason, .. } => eprintln!(
                "note: policy \"{policy}\", path \"{rule}\": identity template not resolved ({}); the server drops this rule for this token",
                visible(reason)
            ),
            AclNote::TemplateBlocked { reason, .. } => eprintln!(
                "note: policy \"{policy}\", path \"{rule}\": template substitution blocked ({}); the server fails every request of such a token",
                visible(reason)
            ),
            AclNote::TemplateForbidden { reason, .. } => eprintln!(
                "warning: policy \"{policy}\", path \"{rule}\": substituted path refused ({}); the server fails every request of such a token",
                visible(reason)
            ),
            AclNote::Expired { .. } => {
                eprintln!("note: policy \"{policy}\", path \"{rule}\": expired; ignored")
            }
        }
    }
}
