//! Why discovery could not read a CI configuration. Every message names the file or directory
//! (and the line, where one is known), as the user has to find and fix it.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("{}: not a directory (give a repository checkout or its .github/workflows)", dir.display())]
    NotADirectory { dir: PathBuf },
    #[error("{}: cannot tell which repository this is (no GitHub remote in .git/config): pass --repo OWNER/REPO", dir.display())]
    UnknownRepository { dir: PathBuf },
    #[error("{}: cannot tell which GitLab project this is (no GitLab remote in .git/config): pass --project GROUP/PROJECT", file.display())]
    UnknownProject { file: PathBuf },
    #[error("repository \"{text}\": expected OWNER/REPO (or OWNER@OWNER_ID/REPO@REPO_ID)")]
    RepositorySyntax { text: String },
    #[error(
        "repository \"{text}\": the immutable form needs both ids: OWNER@OWNER_ID/REPO@REPO_ID"
    )]
    RepositoryIds { text: String },
    #[error("project \"{project}\": expected GROUP/PROJECT (the full project path)")]
    ProjectSyntax { project: String },
    /// A file or directory that could not be read; `shown` is how it is named to the user.
    #[error("{shown}: cannot read it: {source}")]
    Read {
        shown: String,
        source: std::io::Error,
    },
    #[error("{shown}:{}:{}: malformed YAML: {message}", at.line, at.column)]
    MalformedYamlAt {
        shown: String,
        at: Location,
        message: String,
    },
    #[error("{shown}: malformed YAML: {message}")]
    MalformedYaml { shown: String, message: String },
    #[error("{shown}:{}:{}: malformed JSON: {message}", at.line, at.column)]
    MalformedJsonAt {
        shown: String,
        at: Location,
        message: String,
    },
    #[error("{shown}:{}:{}: malformed HCL: {message}", at.line, at.column)]
    MalformedHclAt {
        shown: String,
        at: Location,
        message: String,
    },
    #[error("{shown}: malformed HCL: {message}")]
    MalformedHcl { shown: String, message: String },
    #[error("{shown}: not `terraform show -json` output (no format_version)")]
    NotTerraformJson { shown: String },
    #[error("{shown}: malformed YAML merge key (<<): {message}")]
    MalformedMergeKey { shown: String, message: String },
    #[error("{shown}: not a workflow (the top level is not a mapping)")]
    NotAWorkflow { shown: String },
    #[error("{shown}: not a GitLab CI configuration (the top level is not a mapping)")]
    NotAGitlabConfiguration { shown: String },
    #[error("{shown}: includes nest deeper than 20 levels")]
    IncludesTooDeep { shown: String },
    #[error("{shown}:{line}: include {include:?} not found (looked for {})", looked_for.display())]
    IncludeNotFound {
        shown: String,
        line: usize,
        include: String,
        looked_for: PathBuf,
    },
}

/// A 1-based line and column in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}
