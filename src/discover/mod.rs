//! Pipeline discovery: read CI configurations — GitHub Actions workflows, GitLab CI, CircleCI, Buildkite,
//! Jenkinsfiles, Bitbucket Pipelines, Azure Pipelines, and HCP Terraform workspaces managed with the
//! `tfe` provider — and write the pipeline inventory (`docs/pipelines.md`) they imply: how each
//! job logs in to Vault, the claims its OIDC token carries per trigger, the API paths it reads
//! (`needs`), and what the configuration exposes (`ci.exposures`, judged by the
//! `exposure.ci-*` rules). See `docs/discover.md`.
//!
//! Values built from expressions (`${{ … }}`, `$VAR`) are never guessed: the field is left out
//! and the expression is recorded in the pipeline's `dynamic` list.

pub mod azure;
pub mod bitbucket;
pub(crate) mod buildkite;
pub(crate) mod circleci;
pub(crate) mod error;
pub mod github;
pub mod gitlab;
pub mod jenkins;
pub(crate) mod jobscan;
pub(crate) mod kubernetes;
pub mod shell;
pub mod terraform;
pub(crate) mod tfhcl;
pub mod yaml;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::{Map, Value};

pub use error::DiscoverError;

pub(crate) type Result<T, E = DiscoverError> = std::result::Result<T, E>;

use crate::inventory::{
    AuthMethod, CiEvidence, CiExposure, DynamicValue, Inventory, Pipeline, PipelineAuth,
};

/// A GitHub repository name, optionally with the immutable ids (`OWNER@ID/REPO@ID`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoName {
    pub owner: String,
    pub name: String,
    pub owner_id: Option<String>,
    pub repo_id: Option<String>,
}

impl RepoName {
    /// `owner/repo`, or `owner@123/repo@456` for the immutable-id `sub` form.
    pub fn parse(s: &str) -> Result<RepoName> {
        let trimmed = s.trim().trim_end_matches(".git");
        let syntax = || DiscoverError::RepositorySyntax {
            text: trimmed.to_string(),
        };
        let Some((o, r)) = trimmed.split_once('/') else {
            return Err(syntax());
        };
        let split = |x: &str| match x.split_once('@') {
            Some((n, id)) => (n.to_string(), Some(id.to_string())),
            None => (x.to_string(), None),
        };
        let (owner, owner_id) = split(o);
        let (name, repo_id) = split(r);
        if owner.is_empty() || name.is_empty() || name.contains('/') {
            return Err(syntax());
        }
        if owner_id.is_some() != repo_id.is_some() {
            return Err(DiscoverError::RepositoryIds {
                text: trimmed.to_string(),
            });
        }
        Ok(RepoName {
            owner,
            name,
            owner_id,
            repo_id,
        })
    }

    pub fn full(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    /// The repository as the default `sub` names it.
    pub fn sub_repo(&self) -> String {
        match (&self.owner_id, &self.repo_id) {
            (Some(o), Some(r)) => format!("{}@{o}/{}@{r}", self.owner, self.name),
            _ => self.full(),
        }
    }
}

/// A KV secrets engine version, as a CI configuration names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KvVersion {
    V1,
    V2,
}

/// Discovery options shared by the providers.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// GitHub: an org's or repo's custom `sub` template (`include_claim_keys`), e.g.
    /// `repo,context,job_workflow_ref`.
    pub sub_template: Option<Vec<String>>,
    /// GitHub: the OIDC issuer (`iss`) when it is not github.com's (GHES
    /// `https://HOST/_services/token`, an enterprise-specific issuer).
    pub github_issuer: Option<String>,
    /// The default branch (for `schedule`, `workflow_dispatch` without input, GitLab
    /// `$CI_DEFAULT_BRANCH`). Unknown (dynamic) when not given.
    pub default_branch: Option<String>,
    /// GitLab: the instance URL (the tokens' `iss`, and the default `aud`).
    pub gitlab_url: Option<String>,
    /// GitLab: the project's protected branches and tags, when known (`ref_protected`).
    pub protected_refs: Option<Vec<String>>,
    /// Jenkins: Vault credential id → AppRole role name.
    pub jenkins_roles: BTreeMap<String, String>,
    /// Jenkins: the AppRole auth mount (default `approle`).
    pub jenkins_mount: Option<String>,
    /// Jenkins: the KV engine version of secrets that state none (the Vault plugin's global
    /// setting, which only the Jenkins configuration knows). `None`: version 2, with a note.
    pub jenkins_engine_version: Option<KvVersion>,
    /// CircleCI: the organisation id (the tokens' `iss` path, `aud` and `org-id` claim).
    pub circleci_org: Option<String>,
    /// CircleCI: context name → context id (the `context-ids` claim).
    pub circleci_contexts: BTreeMap<String, String>,
    /// Bitbucket: deployment environment name → its UUID (`deploymentEnvironmentUuid`).
    pub bitbucket_environments: BTreeMap<String, String>,
    /// HCP Terraform: the issuer when it is a Terraform Enterprise instance's URL.
    pub terraform_url: Option<String>,
    /// HCP Terraform: workspace name → the `terraform show -json` output of its own
    /// configuration (its `vault_*` data sources are the secrets its runs read).
    pub terraform_configs: BTreeMap<String, PathBuf>,
}

/// One source to read.
#[derive(Debug, Clone)]
pub enum Source {
    /// A repository checkout (or its `.github/workflows` directory) and its name.
    Github {
        dir: PathBuf,
        repo: Option<RepoName>,
    },
    /// A `.gitlab-ci.yml` and the project path (`group/sub/project`).
    Gitlab {
        file: PathBuf,
        project: Option<String>,
    },
    /// A `Jenkinsfile`.
    Jenkins { file: PathBuf },
    /// A repository checkout with `.circleci/config.yml` (or the file itself).
    Circleci {
        dir: PathBuf,
        project: circleci::Project,
    },
    /// A repository checkout with `.buildkite/pipeline.yml` (or the file itself), and the
    /// Buildkite organisation and pipeline it builds (`ORG/PIPELINE`, with the ids as
    /// `ORG@ORG_ID/PIPELINE@PIPELINE_ID`).
    Buildkite {
        dir: PathBuf,
        pipeline: Option<RepoName>,
    },
    /// A repository checkout with `bitbucket-pipelines.yml` (or the file itself), and the
    /// workspace and repository (`WORKSPACE/REPO`, with the UUIDs as
    /// `WORKSPACE@{UUID}/REPO@{UUID}`).
    Bitbucket {
        dir: PathBuf,
        repo: Option<RepoName>,
    },
    /// `terraform show -json` output (a file, or a directory of `*.json`) of the code that
    /// manages HCP Terraform workspaces.
    Terraform { path: PathBuf },
    /// An `azure-pipelines.yml` (or a checkout with one), and the Azure DevOps organisation and
    /// project (`ORG/PROJECT`, with the ids as `ORG@ORG_ID/PROJECT@PROJECT_ID`).
    Azure {
        file: PathBuf,
        project: Option<RepoName>,
    },
    /// A directory of Kubernetes manifests (plain, multi-document, Kustomize, rendered Helm):
    /// workloads that read Vault through the Agent Injector, VSO, ESO or the CSI driver.
    Kubernetes { dir: PathBuf },
}

/// What discovery found.
#[derive(Debug, Default)]
pub struct Discovery {
    pub pipelines: Vec<Pipeline>,
    /// Warnings: jobs skipped and why, values left dynamic, configuration that cannot work.
    pub notes: Vec<String>,
}

impl Discovery {
    pub fn inventory(&self) -> Inventory {
        Inventory {
            schema_version: Some(crate::schema::version::INVENTORY),
            teams: Vec::new(),
            pipelines: self.pipelines.clone(),
        }
    }
}

/// What one discovery reads, and the settings the files themselves cannot give.
#[derive(Debug, Clone)]
pub struct Plan {
    pub sources: Vec<Source>,
    pub options: Options,
}

/// Read every source.
pub fn discover(sources: &[Source], opts: &Options) -> Result<Discovery> {
    let mut out = Discovery::default();
    for s in sources {
        match s {
            Source::Github { dir, repo } => github::discover(dir, repo.as_ref(), opts, &mut out)?,
            Source::Gitlab { file, project } => {
                gitlab::discover(file, project.as_deref(), opts, &mut out)?
            }
            Source::Jenkins { file } => jenkins::discover(file, opts, &mut out)?,
            Source::Circleci { dir, project } => circleci::discover(dir, project, opts, &mut out)?,
            Source::Buildkite { dir, pipeline } => {
                buildkite::discover(dir, pipeline.as_ref(), opts, &mut out)?
            }
            Source::Bitbucket { dir, repo } => {
                bitbucket::discover(dir, repo.as_ref(), opts, &mut out)?
            }
            Source::Terraform { path } => terraform::discover(path, opts, &mut out)?,
            Source::Azure { file, project } => {
                azure::discover(file, project.as_ref(), opts, &mut out)?
            }
            Source::Kubernetes { dir } => kubernetes::discover(dir, &mut out)?,
        }
    }
    // Unique names: a second pipeline of the same name gets `#2`, `#3` …
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for p in &mut out.pipelines {
        let count = seen.entry(p.name.clone()).or_insert(0);
        *count += 1;
        if *count > 1 {
            p.name = format!("{}#{count}", p.name);
        }
    }
    Ok(out)
}

/// Merge discovered pipelines into a hand-written inventory: hand-written pipelines win (a
/// discovered pipeline of the same name only fills the fields the hand-written one leaves
/// empty: `team`, `needs`, `max_job_duration`, `dynamic`, `ci`, and claims it does not set);
/// discovered pipelines with new names are appended; teams come from the hand-written file.
pub fn merge(hand: &Inventory, found: &Inventory) -> Inventory {
    let mut out = hand.clone();
    // The merge is a discovered inventory too: it carries the version of the shape written.
    out.schema_version = Some(crate::schema::version::INVENTORY);
    for d in &found.pipelines {
        match out.pipelines.iter_mut().find(|p| p.name == d.name) {
            Some(p) => {
                if p.team.is_none() {
                    p.team = d.team.clone();
                }
                if p.needs.is_empty() {
                    p.needs = d.needs.clone();
                }
                if p.max_job_duration.is_none() {
                    p.max_job_duration = d.max_job_duration;
                }
                if p.dynamic.is_empty() {
                    p.dynamic = d.dynamic.clone();
                }
                if p.ci.is_none() {
                    p.ci = d.ci.clone();
                }
                let same_login = p.auth.method == d.auth.method
                    && p.auth.mount_path() == d.auth.mount_path()
                    && p.auth.namespace_path() == d.auth.namespace_path();
                if same_login {
                    if p.auth.role.is_none() && p.auth.role_name.is_none() {
                        p.auth.role = d.auth.role.clone();
                    }
                    if let Some(dc) = &d.auth.claims {
                        let claims = p.auth.claims.get_or_insert_with(Map::new);
                        for (k, v) in dc {
                            claims.entry(k.clone()).or_insert_with(|| v.clone());
                        }
                    }
                }
            }
            None => {
                let mut draft = d.clone();
                if let Some(t) = &draft.team {
                    if out.team(t).is_none() {
                        draft.team = None;
                    }
                }
                out.pipelines.push(draft);
            }
        }
    }
    out
}

// ------------------------------------------------------------------------------------------------
// Building pipelines.

/// A pipeline under construction.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub name: String,
    pub auth: PipelineAuth,
    pub claims: Map<String, Value>,
    pub needs: BTreeSet<String>,
    pub dynamic: Vec<DynamicValue>,
    pub ci: CiEvidence,
}

impl Draft {
    pub(crate) fn new(name: String, method: AuthMethod, mount: &str, ci: CiEvidence) -> Draft {
        Draft {
            name,
            auth: PipelineAuth {
                method,
                mount: mount.trim_matches('/').to_string(),
                ..PipelineAuth::default()
            },
            claims: Map::new(),
            needs: BTreeSet::new(),
            dynamic: Vec::new(),
            ci,
        }
    }

    pub(crate) fn dynamic(&mut self, field: impl Into<String>, expression: impl Into<String>) {
        let value = DynamicValue {
            field: field.into(),
            expression: expression.into(),
        };
        if !self.dynamic.contains(&value) {
            self.dynamic.push(value);
        }
    }

    /// The login's mount (given to [`Draft::new`] as its literal or a default), role and
    /// namespace as a CI configuration states them: each known value set, each expression
    /// recorded as dynamic.
    pub(crate) fn login(&mut self, mount: &Val, role: Option<&Val>, namespace: Option<&Val>) {
        if let Val::Dynamic(e) = mount {
            self.dynamic("auth.mount", e.clone());
        }
        match role {
            Some(Val::Known(r)) => self.auth.role = Some(r.clone()),
            Some(Val::Dynamic(e)) => self.dynamic("auth.role", e.clone()),
            None => {}
        }
        match namespace {
            Some(Val::Known(n)) => self.auth.namespace = n.clone(),
            Some(Val::Dynamic(e)) => self.dynamic("auth.namespace", e.clone()),
            None => {}
        }
    }

    /// Set a claim, or record it as dynamic when its value is an expression.
    pub(crate) fn claim(&mut self, key: &str, v: Val) {
        match v {
            Val::Known(s) => {
                self.claims.insert(key.to_string(), Value::String(s));
            }
            Val::Dynamic(e) => self.dynamic(format!("auth.claims.{key}"), e),
        }
    }

    /// Add a need, or record it as dynamic.
    pub(crate) fn need(&mut self, path: &str) {
        let trimmed = path.trim().trim_start_matches('/');
        if trimmed.is_empty() {
            return;
        }
        if is_expression(trimmed) {
            self.dynamic("needs", trimmed);
        } else {
            self.needs.insert(trimmed.to_string());
        }
    }

    pub(crate) fn expose(&mut self, e: CiExposure) {
        if !self.ci.exposures.contains(&e) {
            self.ci.exposures.push(e);
        }
    }

    pub(crate) fn finish(mut self) -> Pipeline {
        let service_account_claims =
            self.auth.method == AuthMethod::Kubernetes && !self.claims.is_empty();
        if matches!(self.auth.method, AuthMethod::Jwt | AuthMethod::Oidc) || service_account_claims
        {
            self.auth.claims = Some(self.claims);
        }
        self.ci
            .exposures
            .sort_by(|a, b| (a.line, &a.kind).cmp(&(b.line, &b.kind)));
        Pipeline {
            name: self.name,
            team: None,
            auth: self.auth,
            needs: self.needs.into_iter().collect(),
            max_job_duration: None,
            dynamic: self.dynamic,
            ci: Some(self.ci),
        }
    }
}

/// A configuration value: literal, or built from an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    Known(String),
    Dynamic(String),
}

impl Val {
    pub fn of(s: &str) -> Val {
        if is_expression(s) {
            Val::Dynamic(s.to_string())
        } else {
            Val::Known(s.to_string())
        }
    }

    pub fn known(&self) -> Option<&str> {
        match self {
            Val::Known(s) => Some(s),
            Val::Dynamic(_) => None,
        }
    }
}

/// Whether a value is built from an expression: GitHub `${{ … }}`, shell/GitLab `$VAR` or
/// `${VAR}`, GitLab `$[[ inputs.x ]]`, Groovy `${…}`.
pub fn is_expression(s: &str) -> bool {
    // `$[[ inputs.x ]]` is a GitLab input left uninterpolated (no value known).
    if s.contains("${{") || s.contains("$[[") {
        return true;
    }
    let bytes = s.as_bytes();
    bytes.iter().enumerate().any(|(i, &c)| {
        c == b'$'
            && bytes
                .get(i + 1)
                .is_some_and(|&n| n == b'{' || n == b'_' || n.is_ascii_alphabetic())
    })
}

/// The KV v2 API path of a logical path: `data/` inserted after the mount.
pub fn kv2_data(mount: &str, path: &str) -> String {
    let mount = mount.trim_matches('/');
    let path = path.trim_matches('/');
    let path = path.strip_prefix("data/").unwrap_or(path);
    format!("{mount}/data/{path}")
}

/// A logical KV v2 path whose first segment is the mount (`secret/app/db` →
/// `secret/data/app/db`); unchanged when it already names `data/`.
pub fn kv2_from_logical(path: &str) -> String {
    let path = path.trim_matches('/');
    match path.split_once('/') {
        Some((m, rest)) if rest.starts_with("data/") => format!("{m}/{rest}"),
        Some((m, rest)) => kv2_data(m, rest),
        None => path.to_string(),
    }
}

/// Simple glob match for artifact paths: `*` within a segment, `**` across segments; a
/// pattern naming a directory covers everything below it.
pub fn path_covered(pattern: &str, file: &str) -> bool {
    let norm = |s: &str| {
        s.trim()
            .trim_start_matches("./")
            .trim_end_matches('/')
            .to_string()
    };
    let (pat, f) = (norm(pattern), norm(file));
    if pat.is_empty() || pat.starts_with('!') {
        return false;
    }
    if f == pat || f.starts_with(&format!("{pat}/")) || pat == "." {
        return true;
    }
    glob(pat.as_bytes(), f.as_bytes())
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some(b'*') if p.get(1) == Some(&b'*') => {
            let rest = &p[2..];
            let rest = rest.strip_prefix(b"/").unwrap_or(rest);
            (0..=s.len()).any(|i| glob(rest, &s[i..]))
        }
        Some(b'*') => (0..=s.len())
            .take_while(|&i| i == 0 || s[i - 1] != b'/')
            .any(|i| glob(&p[1..], &s[i..])),
        Some(b'?') => !s.is_empty() && s[0] != b'/' && glob(&p[1..], &s[1..]),
        Some(&c) => s.first() == Some(&c) && glob(&p[1..], &s[1..]),
    }
}

/// `text` with every `open … close` span whose inner part `replace` accepts replaced by what it
/// returns; other spans and text are kept (CI template syntax rewritten before shell reading).
pub fn rewrite_spans(
    text: &str,
    open: &str,
    close: &str,
    replace: impl Fn(&str) -> Option<String>,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(open) {
        out.push_str(&rest[..start]);
        let after = &rest[start + open.len()..];
        let replaced = after
            .find(close)
            .and_then(|end| replace(&after[..end]).map(|r| (r, end)));
        match replaced {
            Some((r, end)) => {
                out.push_str(&r);
                rest = &after[end + close.len()..];
            }
            None => {
                out.push_str(open);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The configuration file in a checkout: the first of `names` that exists under `dir` (the
/// first name when none does, so that the error names it), or `dir` itself when it is a file.
pub fn config_in(dir: &std::path::Path, names: &[&str]) -> PathBuf {
    if dir.is_file() {
        return dir.to_path_buf();
    }
    names
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.exists())
        .unwrap_or_else(|| dir.join(names.first().copied().unwrap_or_default()))
}

/// The name of a checkout's directory (a label for its pipelines when no name is given).
pub fn dir_label(dir: &std::path::Path) -> Option<String> {
    dir.canonicalize()
        .ok()?
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
}

/// Names that look like they hold a credential.
pub fn credential_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    [
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "PRIVATE_KEY",
        "ROLE_ID",
        "API_KEY",
    ]
    .iter()
    .any(|w| upper.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions() {
        assert!(is_expression("${{ inputs.env }}"));
        assert!(is_expression("secret/data/$APP/db"));
        assert!(is_expression("${CI_PROJECT_NAME}"));
        assert!(!is_expression("secret/data/app/db"));
        assert!(!is_expression("cost: 5$"));
    }

    #[test]
    fn kv_paths_and_globs() {
        assert_eq!(kv2_from_logical("secret/app/db"), "secret/data/app/db");
        assert_eq!(kv2_from_logical("secret/data/app/db"), "secret/data/app/db");
        assert_eq!(
            kv2_data("kv-v2", "production/db"),
            "kv-v2/data/production/db"
        );
        assert!(path_covered("dist/", "dist/creds.txt"));
        assert!(path_covered("out/*.env", "out/prod.env"));
        assert!(path_covered("**/*.env", "a/b/prod.env"));
        assert!(!path_covered("dist", "distant/x"));
    }

    #[test]
    fn repo_names() {
        let repo = RepoName::parse("acme@41870000/payments@998877").unwrap();
        assert_eq!(repo.sub_repo(), "acme@41870000/payments@998877");
        assert_eq!(repo.full(), "acme/payments");
        assert!(RepoName::parse("acme").is_err());
        assert!(RepoName::parse("acme@1/payments").is_err());
    }
}

/// Where a file a CI configuration names lies, seen from the repository root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confined {
    /// Inside the repository, after resolving `..` and every symbolic link: the resolved path.
    Inside(std::path::PathBuf),
    /// Outside the repository (`..` past the root, an absolute escape, or a link out of it).
    Outside,
    /// Not there at all (a missing include is an error of its own).
    Missing,
}

/// Confine `candidate` to `root`: a configuration in a repository under review must not make
/// blastmap read the reviewer's other files, so the path is resolved (`..` and symbolic links,
/// as the kernel would) and must stay under the resolved root.
pub fn confine(root: &std::path::Path, candidate: &std::path::Path) -> Confined {
    // The parent of a bare file name (`--gitlab .gitlab-ci.yml`) is the empty path: the
    // current directory, which `canonicalize` does not take by that name.
    let root = if root.as_os_str().is_empty() {
        std::path::Path::new(".")
    } else {
        root
    };
    let Ok(root) = root.canonicalize() else {
        return Confined::Missing;
    };
    match candidate.canonicalize() {
        Ok(real) if real.starts_with(&root) => Confined::Inside(real),
        Ok(_) => Confined::Outside,
        Err(_) => missing_or_outside(&root, candidate),
    }
}

/// A path that does not resolve: outside when its deepest existing ancestor already is, or
/// when `..` follows the part that exists (it could climb anywhere).
fn missing_or_outside(root: &std::path::Path, candidate: &std::path::Path) -> Confined {
    for ancestor in candidate.ancestors().skip(1) {
        let Ok(real) = ancestor.canonicalize() else {
            continue;
        };
        let rest = candidate.strip_prefix(ancestor).unwrap_or(candidate);
        let climbs = rest
            .components()
            .any(|c| c == std::path::Component::ParentDir);
        return if real.starts_with(root) && !climbs {
            Confined::Missing
        } else {
            Confined::Outside
        };
    }
    Confined::Missing
}

/// A path from a CI file, made safe to print in a note on the terminal (control characters
/// escaped as Rust does in `{:?}`).
pub fn shown_path(p: &std::path::Path) -> String {
    format!("{:?}", p.display().to_string())
}
