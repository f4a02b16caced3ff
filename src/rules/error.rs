//! What can go wrong loading rules, running them, and reading severities and suppressions.
//!
//! Rule files and suppression files are written by people, so most variants name the file and
//! what in it is wrong. A variant that wraps an underlying error (`source`) prints only its own
//! context; the CLI appends the cause (`reading x: No such file or directory`).

use std::path::PathBuf;

/// An error from loading or evaluating rules, or from their options.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("reading the rule directory {}", dir.display())]
    ReadDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: no .rego file in this directory", dir.display())]
    NoRegoFile { dir: PathBuf },
    #[error("reading {}", path.display())]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("loading rule file {file}")]
    LoadRuleFile { file: String, source: RegoError },
    #[error("{files}: no package under `blastmap.rules` (rule files must start with `package blastmap.rules.<name>`)")]
    NoRulesPackage { files: String },
    #[error("{file}: package {package} declares no `rules` object (rule id → {{title, severity, practice, description, remediation}})")]
    NoRulesObject { file: String, package: String },
    #[error("{file}: rule ids must be non-empty and without spaces, got {id:?}")]
    BadRuleId { file: String, id: String },
    #[error("{file}: rule {id:?}: {problem}")]
    BadMetadata {
        file: String,
        id: String,
        problem: MetadataProblem,
    },
    #[error("rule {id:?} is declared twice: in {first} and in {second}")]
    DeclaredTwice {
        id: String,
        first: String,
        second: String,
    },
    /// The facts could not be turned into the engine's input.
    #[error("loading the facts into the Rego engine: {reason}")]
    Input { reason: String },
    #[error("building the rules' input: {reason}")]
    BuildInput { reason: String },
    #[error("evaluating {path} ({file})")]
    Evaluate {
        path: String,
        file: String,
        source: RegoError,
    },
    #[error("converting {path} ({file})")]
    Convert {
        path: String,
        file: String,
        source: serde_json::Error,
    },
    #[error("{file}: `findings` must be a set of objects, got {got}")]
    FindingsNotASet { file: String, got: String },
    #[error("a finding must be an object, got {got}")]
    FindingNotAnObject { got: String },
    #[error("a finding has no string `rule`: {got}")]
    FindingWithoutRule { got: String },
    #[error("a finding names rule {rule:?}, which no `rules` object declares")]
    FindingOfUndeclaredRule { rule: String },
    /// A finding of a declared rule is malformed; `file` is the rule's file.
    #[error("{file}: {problem}")]
    BadFinding {
        file: String,
        problem: FindingProblem,
    },
    /// `--severity` or `--rule` names a rule no file declares.
    #[error("{option} names rule {id:?}, which no rule file declares")]
    UnknownRuleOption { option: &'static str, id: String },
    #[error("--severity {item:?}: expected RULE=SEVERITY")]
    SeverityOverrideSyntax { item: String },
    #[error(transparent)]
    Severity(#[from] UnknownSeverity),
    #[error("reading the suppression file {}", path.display())]
    ReadSuppressions {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: invalid suppression file at `{at}`: {reason}")]
    SuppressionFile {
        file: String,
        at: String,
        reason: String,
    },
    #[error("{file}: suppressions[{index}] needs a `rule`")]
    SuppressionWithoutRule { file: String, index: usize },
    #[error("{file}: suppressions[{index}] ({rule}) needs a non-empty `reason`: say why the finding is accepted")]
    SuppressionWithoutReason {
        file: String,
        index: usize,
        rule: String,
    },
    #[error("{file}: suppressions[{index}]: {problem}")]
    SuppressionExpiry {
        file: String,
        index: usize,
        problem: InvalidExpiry,
    },
}

/// What is wrong with a rule's metadata object.
#[derive(Debug, thiserror::Error)]
pub enum MetadataProblem {
    #[error("metadata must be an object")]
    NotAnObject,
    #[error("metadata needs a non-empty string `{0}`")]
    MissingField(&'static str),
    #[error("unknown metadata field `{0}` (expected title, severity, practice, description, remediation)")]
    UnknownField(String),
    #[error(transparent)]
    Severity(#[from] UnknownSeverity),
    #[error("practice {practice:?} is not one of {}", super::PRACTICES.join(", "))]
    UnknownPractice { practice: String },
}

/// What is wrong with a finding of a declared rule.
#[derive(Debug, thiserror::Error)]
pub enum FindingProblem {
    #[error("finding of {rule:?} needs an object `subject`")]
    NoSubject { rule: String },
    #[error("finding of {rule:?} needs a string `message`")]
    NoMessage { rule: String },
    #[error("`evidence` of {rule:?} must be an object, got {got}")]
    EvidenceNotAnObject { rule: String, got: String },
    #[error("finding of {rule:?}: {reason}")]
    Severity {
        rule: String,
        reason: UnknownSeverity,
    },
    #[error("`severity` of {rule:?} must be a string, got {got}")]
    SeverityNotAString { rule: String, got: String },
    #[error("finding of {rule:?} has unknown field `{field}` (expected rule, subject, message, evidence, severity)")]
    UnknownField { rule: String, field: String },
}

/// A severity name that is not one of the five.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity {text:?} (expected info, low, medium, high or critical)")]
pub struct UnknownSeverity {
    pub text: String,
}

/// An `expires` that is neither a date nor an RFC3339 time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid expires {text:?}: use YYYY-MM-DD or an RFC3339 time")]
pub struct InvalidExpiry {
    pub text: String,
}

/// An error regorus reported (its own error type is not kept: only its message is).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RegoError(pub String);

impl RegoError {
    pub fn of(error: &impl std::fmt::Display) -> RegoError {
        RegoError(error.to_string())
    }
}
