//! `blastmap discover`: read CI configurations and write the pipeline inventory they imply
//! (`docs/discover.md`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::Outcome;
use crate::discover::{self, KvVersion, Options, RepoName, Source};
use crate::inventory::Inventory;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The CI configurations and their settings (boxed: they are most of the arguments' size).
    #[command(flatten)]
    inputs: Box<Inputs>,
    /// Write the inventory here (YAML, or JSON for *.json) instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// A hand-written inventory to merge into: its pipelines win; discovered pipelines fill
    /// the fields they leave empty, and new ones are appended.
    #[arg(long, value_name = "INVENTORY")]
    merge: Option<PathBuf>,
    /// Do not print the notes (skipped jobs, values left dynamic) to standard error.
    #[arg(long)]
    quiet: bool,
}

/// The CI configurations to read and what the files cannot say (shared with `blastmap scan`).
#[derive(Debug, clap::Args)]
pub(super) struct Inputs {
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
    /// A repository checkout with .circleci/config.yml, or the file itself (repeatable).
    #[arg(long, value_name = "DIR")]
    circleci: Vec<PathBuf>,
    /// A repository checkout with .buildkite/pipeline.yml, or the file itself (repeatable).
    #[arg(long, value_name = "DIR")]
    buildkite: Vec<PathBuf>,
    /// A repository checkout with bitbucket-pipelines.yml, or the file itself (repeatable).
    #[arg(long, value_name = "DIR")]
    bitbucket: Vec<PathBuf>,
    /// The Terraform code that manages HCP Terraform / Terraform Enterprise workspaces: HCL
    /// source (a .tf file, or a directory of *.tf) or `terraform show -json` output (a .json
    /// file, or each *.json of a directory) (repeatable).
    #[arg(long, value_name = "DIR")]
    terraform: Vec<PathBuf>,
    /// An azure-pipelines.yml (its local templates are read too; repeatable).
    #[arg(long = "azure-pipelines", value_name = "FILE")]
    azure_pipelines: Vec<PathBuf>,
    /// A directory of Kubernetes manifests (plain or multi-document YAML, Kustomize bases and
    /// overlays, `helm template` output): workloads that read Vault through the Agent Injector,
    /// the Vault Secrets Operator, External Secrets or the CSI driver (repeatable).
    #[arg(long, value_name = "DIR")]
    kubernetes: Vec<PathBuf>,
    /// CircleCI: the organisation id (the tokens' issuer is `https://oidc.circleci.com/org/ID`
    /// and their default audience is the id). Without it both are dynamic.
    #[arg(long, value_name = "ORG_ID")]
    circleci_org: Option<String>,
    /// CircleCI: the project id of each --circleci, in the same order.
    #[arg(long, value_name = "PROJECT_ID")]
    circleci_project: Vec<String>,
    /// CircleCI: a context's id, as NAME=ID (repeatable), for the `context-ids` claim.
    #[arg(long = "circleci-context", value_name = "NAME=ID")]
    circleci_context: Vec<String>,
    /// Buildkite: the organisation and pipeline of each --buildkite, in the same order:
    /// ORG/PIPELINE (slugs), or ORG@ORG_ID/PIPELINE@PIPELINE_ID to give the ids too.
    #[arg(long, value_name = "ORG/PIPELINE")]
    buildkite_pipeline: Vec<String>,
    /// Bitbucket: the workspace and repository of each --bitbucket, in the same order:
    /// WORKSPACE/REPO (slugs), or WORKSPACE@{UUID}/REPO@{UUID} to give the UUIDs too.
    #[arg(long, value_name = "WORKSPACE/REPO")]
    bitbucket_repo: Vec<String>,
    /// Bitbucket: a deployment environment's UUID, as NAME={UUID} (repeatable), for the
    /// `deploymentEnvironmentUuid` claim.
    #[arg(long = "bitbucket-environment", value_name = "NAME=UUID")]
    bitbucket_environment: Vec<String>,
    /// HCP Terraform: the issuer when it is a Terraform Enterprise instance
    /// (`https://tfe.example.com`). Default: `https://app.terraform.io`.
    #[arg(long, value_name = "URL")]
    terraform_url: Option<String>,
    /// HCP Terraform: a workspace's own configuration (source or `terraform show -json`), as
    /// WORKSPACE=PATH (repeatable): its vault_* data sources are what its runs read.
    #[arg(long = "terraform-config", value_name = "WORKSPACE=FILE")]
    terraform_config: Vec<String>,
    /// Azure Pipelines: the organisation and project of each --azure-pipelines, in the same
    /// order: ORG/PROJECT, or ORG@ORG_ID/PROJECT@PROJECT_ID to give the ids too.
    #[arg(long, value_name = "ORG/PROJECT")]
    azure_project: Vec<String>,
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
    /// an enterprise-specific issuer: `https://token.actions.githubusercontent.com/SLUG`).
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
    /// Jenkins: the KV engine version of secrets whose `engineVersion` is set neither on the
    /// secret nor in the `withVault` configuration (the plugin's global setting). Default 2,
    /// with a note on standard error.
    #[arg(long, value_name = "1|2", value_parser = clap::value_parser!(u8).range(1..=2))]
    jenkins_engine_version: Option<u8>,
}

pub(super) fn run(args: Args) -> Result<Outcome> {
    if args.inputs.is_empty() {
        bail!("nothing to read: give --github DIR, --gitlab FILE, --jenkins FILE, --circleci DIR, --buildkite DIR, --bitbucket DIR, --terraform DIR, --azure-pipelines FILE or --kubernetes DIR");
    }
    if let Some(out) = &args.out {
        crate::output::check(out)?;
        if let Some(merge) = &args.merge {
            refuse_overwriting_merge_source(out, merge)?;
        }
    }
    let plan = args.inputs.plan()?;
    let found = discover::discover(&plan.sources, &plan.options)?;
    if !args.quiet {
        print_notes(&found.notes);
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
    let text = inventory_text(&inv, json)?;
    match &args.out {
        Some(p) => crate::output::write_bytes(p, crate::output::FileMode::Shared, text.as_bytes())?,
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    if !args.quiet {
        eprintln!(
            "discovered {} pipeline(s) from {} source(s)",
            found.pipelines.len(),
            plan.sources.len()
        );
    }
    Ok(Outcome::Success)
}

/// The notes of a discovery (skipped jobs, values left dynamic), one per line on stderr.
pub(super) fn print_notes(notes: &[String]) {
    for n in notes {
        eprintln!("note: {}", crate::text::visible(n));
    }
}

/// The inventory as written to a file: pretty JSON, or YAML under a comment saying where it
/// came from.
pub(super) fn inventory_text(inv: &Inventory, json: bool) -> Result<String> {
    Ok(if json {
        serde_json::to_string_pretty(inv)? + "\n"
    } else {
        format!(
            "# Pipeline inventory written by `blastmap discover` (docs/discover.md, docs/pipelines.md).\n{}",
            yaml_serde::to_string(inv)?
        )
    })
}

impl Inputs {
    /// No CI configuration given.
    pub(super) fn is_empty(&self) -> bool {
        self.github.is_empty()
            && self.gitlab.is_empty()
            && self.jenkins.is_empty()
            && self.circleci.is_empty()
            && self.buildkite.is_empty()
            && self.bitbucket.is_empty()
            && self.terraform.is_empty()
            && self.azure_pipelines.is_empty()
            && self.kubernetes.is_empty()
    }

    /// The sources to read, each with its repository or project, and the settings.
    pub(super) fn plan(&self) -> Result<discover::Plan> {
        self.check_counts()?;
        Ok(discover::Plan {
            sources: self.sources()?,
            options: self.options()?,
        })
    }

    /// A per-source option (`--repo`, `--project`, …) given more often than its sources.
    fn check_counts(&self) -> Result<()> {
        let counts = [
            ("--repo", self.repo.len(), "--github", self.github.len()),
            (
                "--project",
                self.project.len(),
                "--gitlab",
                self.gitlab.len(),
            ),
            (
                "--circleci-project",
                self.circleci_project.len(),
                "--circleci",
                self.circleci.len(),
            ),
            (
                "--buildkite-pipeline",
                self.buildkite_pipeline.len(),
                "--buildkite",
                self.buildkite.len(),
            ),
            (
                "--bitbucket-repo",
                self.bitbucket_repo.len(),
                "--bitbucket",
                self.bitbucket.len(),
            ),
            (
                "--azure-project",
                self.azure_project.len(),
                "--azure-pipelines",
                self.azure_pipelines.len(),
            ),
        ];
        for (flag, given, source, sources) in counts {
            if given > sources {
                bail!("{flag} is given {given} time(s) for {sources} {source}");
            }
        }
        Ok(())
    }

    fn sources(&self) -> Result<Vec<Source>> {
        let mut sources = Vec::new();
        for (i, dir) in self.github.iter().enumerate() {
            let repo = named(&self.repo, i)?;
            sources.push(Source::Github {
                dir: dir.clone(),
                repo,
            });
        }
        for (i, file) in self.gitlab.iter().enumerate() {
            sources.push(Source::Gitlab {
                file: file.clone(),
                project: self.project.get(i).cloned(),
            });
        }
        for file in &self.jenkins {
            sources.push(Source::Jenkins { file: file.clone() });
        }
        for (i, dir) in self.circleci.iter().enumerate() {
            let project = discover::circleci::Project {
                id: self.circleci_project.get(i).cloned(),
            };
            sources.push(Source::Circleci {
                dir: dir.clone(),
                project,
            });
        }
        for (i, dir) in self.buildkite.iter().enumerate() {
            let pipeline = named(&self.buildkite_pipeline, i)?;
            sources.push(Source::Buildkite {
                dir: dir.clone(),
                pipeline,
            });
        }
        for (i, dir) in self.bitbucket.iter().enumerate() {
            let repo = named(&self.bitbucket_repo, i)?;
            sources.push(Source::Bitbucket {
                dir: dir.clone(),
                repo,
            });
        }
        for path in &self.terraform {
            sources.push(Source::Terraform { path: path.clone() });
        }
        for (i, file) in self.azure_pipelines.iter().enumerate() {
            let project = named(&self.azure_project, i)?;
            sources.push(Source::Azure {
                file: file.clone(),
                project,
            });
        }
        for dir in &self.kubernetes {
            sources.push(Source::Kubernetes { dir: dir.clone() });
        }
        Ok(sources)
    }

    fn options(&self) -> Result<Options> {
        let sub_template = self.sub_template.as_ref().map(|t| {
            t.split(',')
                .map(|k| k.trim().to_string())
                .filter(|k| !k.is_empty())
                .collect::<Vec<_>>()
        });
        if sub_template.as_ref().is_some_and(Vec::is_empty) {
            bail!("--sub-template is empty: give claim keys such as repo,context,job_workflow_ref");
        }
        Ok(Options {
            sub_template,
            github_issuer: self.github_issuer.clone(),
            default_branch: self.default_branch.clone(),
            gitlab_url: self.gitlab_url.clone(),
            protected_refs: (!self.protected_ref.is_empty()).then(|| self.protected_ref.clone()),
            jenkins_roles: pairs("--jenkins-role", "CREDENTIAL=ROLE", &self.jenkins_role)?,
            jenkins_mount: self.jenkins_mount.clone(),
            jenkins_engine_version: self.jenkins_engine_version.map(|v| match v {
                1 => KvVersion::V1,
                _ => KvVersion::V2,
            }),
            circleci_org: self.circleci_org.clone(),
            circleci_contexts: pairs("--circleci-context", "NAME=ID", &self.circleci_context)?,
            bitbucket_environments: pairs(
                "--bitbucket-environment",
                "NAME=UUID",
                &self.bitbucket_environment,
            )?,
            terraform_url: self.terraform_url.clone(),
            terraform_configs: pairs(
                "--terraform-config",
                "WORKSPACE=FILE",
                &self.terraform_config,
            )?
            .into_iter()
            .map(|(k, v)| (k, PathBuf::from(v)))
            .collect(),
        })
    }
}

/// The `i`-th `OWNER/NAME` of a per-source option, parsed (`None` when not given).
fn named(list: &[String], i: usize) -> Result<Option<RepoName>> {
    Ok(list.get(i).map(|r| RepoName::parse(r)).transpose()?)
}

/// `KEY=VALUE` options as a map, each side trimmed.
fn pairs(flag: &str, form: &str, items: &[String]) -> Result<BTreeMap<String, String>> {
    let mut map = BTreeMap::new();
    for item in items {
        let Some((key, value)) = item.split_once('=') else {
            bail!("{flag} {item:?}: expected {form}");
        };
        map.insert(key.trim().to_string(), value.trim().to_string());
    }
    Ok(map)
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
