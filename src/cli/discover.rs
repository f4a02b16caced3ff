//! `blastmap discover`: read CI configurations and write the pipeline inventory they imply
//! (`docs/discover.md`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::Outcome;
use crate::discover::{self, Options, RepoName, Source};
use crate::inventory::Inventory;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A repository checkout (or its .github/workflows directory) to read GitHub Actions
    /// workflows from (repeatable).
    #[arg(long, value_name = "DIR")]
    github: Vec<PathBuf>,
    /// A .gitlab-ci.yml (its local includes are read too; repeatable).
    #[arg(long, value_name = "FILE")]
    gitlab: Vec<PathBuf>,
    /// A Jenkinsfile (repeatable).
    #[arg(long, value_name = "FILE")]
    jenkins: Vec<PathBuf>,
    /// Write the inventory here (YAML, or JSON for *.json) instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// The repository of each --github, in the same order: OWNER/REPO, or
    /// OWNER@OWNER_ID/REPO@REPO_ID for the immutable-id `sub` form. Default: the GitHub
    /// remote in the checkout's .git/config.
    #[arg(long, value_name = "OWNER/REPO")]
    repo: Vec<String>,
    /// The project path of each --gitlab, in the same order (GROUP/PROJECT). Default: the
    /// GitLab remote in .git/config.
    #[arg(long, value_name = "GROUP/PROJECT")]
    project: Vec<String>,
    /// GitHub: the organisation's custom `sub` template, as its claim keys in order
    /// (`include_claim_keys`), comma-separated: e.g. `repo,context,job_workflow_ref`.
    #[arg(long, value_name = "KEYS")]
    sub_template: Option<String>,
    /// GitHub: the OIDC issuer, when not github.com's (GHES: https://HOST/_services/token;
    /// an enterprise-specific issuer: https://token.actions.githubusercontent.com/SLUG).
    #[arg(long, value_name = "URL")]
    github_issuer: Option<String>,
    /// The default branch (runs of `schedule`, `workflow_run`, GitLab `$CI_DEFAULT_BRANCH`).
    /// Without it those refs are recorded as dynamic.
    #[arg(long, value_name = "BRANCH")]
    default_branch: Option<String>,
    /// GitLab: the instance URL (the ID tokens' `iss` and default `aud`).
    #[arg(long, value_name = "URL")]
    gitlab_url: Option<String>,
    /// GitLab: a protected branch or tag (repeatable). When given, `ref_protected` is set for
    /// literal refs; otherwise it is recorded as dynamic.
    #[arg(long = "protected-ref", value_name = "REF")]
    protected_ref: Vec<String>,
    /// Jenkins: the AppRole role behind a Vault credential id, as CREDENTIAL=ROLE (repeatable).
    #[arg(long = "jenkins-role", value_name = "CREDENTIAL=ROLE")]
    jenkins_role: Vec<String>,
    /// Jenkins: the AppRole auth mount (default `approle`).
    #[arg(long, value_name = "PATH")]
    jenkins_mount: Option<String>,
    /// A hand-written inventory to merge into: its pipelines win; discovered pipelines fill
    /// the fields they leave empty, and new ones are appended.
    #[arg(long, value_name = "INVENTORY")]
    merge: Option<PathBuf>,
    /// Do not print the notes (skipped jobs, values left dynamic) to standard error.
    #[arg(long)]
    quiet: bool,
}

pub fn run(args: Args) -> Result<Outcome> {
    if args.github.is_empty() && args.gitlab.is_empty() && args.jenkins.is_empty() {
        bail!("nothing to read: give --github DIR, --gitlab FILE or --jenkins FILE");
    }
    if let Some(out) = &args.out {
        crate::output::check(out)?;
        if let Some(merge) = &args.merge {
            refuse_overwriting_merge_source(out, merge)?;
        }
    }
    if args.repo.len() > args.github.len() {
        bail!(
            "--repo is given {} time(s) for {} --github",
            args.repo.len(),
            args.github.len()
        );
    }
    if args.project.len() > args.gitlab.len() {
        bail!(
            "--project is given {} time(s) for {} --gitlab",
            args.project.len(),
            args.gitlab.len()
        );
    }
    let mut sources = Vec::new();
    for (i, dir) in args.github.iter().enumerate() {
        let repo = args.repo.get(i).map(|r| RepoName::parse(r)).transpose()?;
        sources.push(Source::Github {
            dir: dir.clone(),
            repo,
        });
    }
    for (i, file) in args.gitlab.iter().enumerate() {
        sources.push(Source::Gitlab {
            file: file.clone(),
            project: args.project.get(i).cloned(),
        });
    }
    for file in &args.jenkins {
        sources.push(Source::Jenkins { file: file.clone() });
    }
    let mut jenkins_roles = BTreeMap::new();
    for m in &args.jenkins_role {
        let Some((c, r)) = m.split_once('=') else {
            bail!("--jenkins-role {m:?}: expected CREDENTIAL=ROLE");
        };
        jenkins_roles.insert(c.trim().to_string(), r.trim().to_string());
    }
    let sub_template = args.sub_template.as_ref().map(|t| {
        t.split(',')
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .collect::<Vec<_>>()
    });
    if sub_template.as_ref().is_some_and(Vec::is_empty) {
        bail!("--sub-template is empty: give claim keys such as repo,context,job_workflow_ref");
    }
    let opts = Options {
        sub_template,
        github_issuer: args.github_issuer.clone(),
        default_branch: args.default_branch.clone(),
        gitlab_url: args.gitlab_url.clone(),
        protected_refs: (!args.protected_ref.is_empty()).then(|| args.protected_ref.clone()),
        jenkins_roles,
        jenkins_mount: args.jenkins_mount.clone(),
    };
    let found = discover::discover(&sources, &opts)?;
    if !args.quiet {
        for n in &found.notes {
            eprintln!("note: {}", crate::text::visible(&n.to_string()));
        }
    }
    let mut inv = found.inventory();
    if let Some(m) = &args.merge {
        let hand = Inventory::load(m)?;
        inv = discover::merge(&hand, &inv);
    }
    let json = args
        .out
        .as_ref()
        .and_then(|p| p.extension())
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let text = if json {
        serde_json::to_string_pretty(&inv)? + "\n"
    } else {
        format!(
            "# Pipeline inventory written by `blastmap discover` (docs/discover.md, docs/pipelines.md).\n{}",
            yaml_serde::to_string(&inv)?
        )
    };
    match &args.out {
        Some(p) => crate::output::write_bytes(p, crate::output::FileMode::Shared, text.as_bytes())?,
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    if !args.quiet {
        eprintln!(
            "discovered {} pipeline(s) from {} source(s)",
            found.pipelines.len(),
            sources.len()
        );
    }
    Ok(Outcome::Success)
}

/// `--merge F --out F` would replace a hand-written inventory with one that has lost its
/// comments (the merge works on values; YAML comments are not values). Refused, so the
/// hand-written file is never damaged: write the merge elsewhere and compare.
fn refuse_overwriting_merge_source(out: &Path, merge: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let (Ok(o), Ok(m)) = (std::fs::metadata(out), std::fs::metadata(merge)) else {
        return Ok(());
    };
    if o.dev() == m.dev() && o.ino() == m.ino() {
        bail!(
            "--out {} is the --merge inventory: writing the merge over it would drop its comments; \
             write to another file (e.g. {}) and compare",
            out.display(),
            out.with_extension("discovered.yaml").display()
        );
    }
    Ok(())
}
