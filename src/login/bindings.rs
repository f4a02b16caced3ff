//! The bindings of a cloud role (AWS, GCP, Azure) judged one after the other. The plugins check
//! every binding and refuse at the first that fails, so a role admits a workload exactly when
//! each binding admits it: one definite failure refuses whatever else is unknown, and a binding
//! whose input the inventory does not state leaves the verdict unknown (never refused).

use super::{Admission, Verdict};
use crate::model::OtherRole;

/// A cloud role whose fields do not read as the plugin's: its admission cannot be judged.
pub(super) fn unreadable_role(
    provider: &str,
    role: &OtherRole,
    error: &dyn std::fmt::Display,
) -> Admission {
    Admission::unknown(
        format!("{provider} role {:?} is unreadable", role.name),
        error.to_string(),
    )
}

/// The inventory does not state the pipeline's identity for this method.
pub(super) fn unknown_identity(provider: &str, role: &OtherRole) -> Admission {
    Admission::unknown(
        format!("the pipeline's {provider} identity is not known"),
        format!(
            "the {provider} identity of the pipeline (needed to judge role {:?})",
            role.name
        ),
    )
}

/// How a value is compared with a binding's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Compare {
    /// `strutil.StrListContains`: exact.
    Exact,
    /// `strListContains` of vault-plugin-auth-azure util.go: `strings.EqualFold`.
    CaseInsensitive,
    /// An entry ending in `*` is a prefix (the AWS instance profile and IAM role ARN bindings in
    /// `verifyInstanceMeetsRoleRequirements`, vault builtin/credential/aws/path_login.go);
    /// otherwise exact.
    TrailingStarPrefix,
}

impl Compare {
    pub(super) fn matches(self, bound: &str, value: &str) -> bool {
        match self {
            Compare::Exact => bound == value,
            Compare::CaseInsensitive => bound.to_lowercase() == value.to_lowercase(),
            Compare::TrailingStarPrefix => match bound.strip_suffix('*') {
                Some(prefix) => value.starts_with(prefix),
                None => bound == value,
            },
        }
    }
}

/// The outcome of the bindings so far.
#[derive(Debug, Default)]
pub(super) struct Checks {
    /// The bindings passed, in words.
    pub passed: Vec<String>,
    /// The first binding that refuses (a definite failure).
    pub refusal: Option<String>,
    /// Bindings whose input is not known.
    pub unknowns: Vec<String>,
    /// What an admission rests on beyond the bindings.
    pub conditions: Vec<String>,
}

impl Checks {
    /// A list binding: unset (empty) passes; otherwise the value must match an entry.
    pub(super) fn list(
        &mut self,
        field: &str,
        bound: &[String],
        value: Option<&str>,
        what: &str,
        compare: Compare,
    ) {
        if bound.is_empty() {
            return;
        }
        match value {
            None => self.unknowns.push(format!(
                "the pipeline's {what} (the role binds {field} {})",
                show(bound)
            )),
            Some(v) if bound.iter().any(|b| compare.matches(b, v)) => self
                .passed
                .push(format!("{what} {v:?} is in {field} {}", show(bound))),
            Some(v) => self.refuse(format!("{what} {v:?} is not in {field} {}", show(bound))),
        }
    }

    /// Record a definite failure (the first one is the one reported).
    pub(super) fn refuse(&mut self, why: String) {
        if self.refusal.is_none() {
            self.refusal = Some(why);
        }
    }

    /// The admission these checks make for `role`: refused at the first failure, unknown when an
    /// input is missing, else admitted with the bindings passed.
    pub(super) fn admission(self, role: &str, subject: &str) -> Admission {
        if let Some(why) = self.refusal {
            return Admission::refused(format!("role {role:?}: {why}"));
        }
        let mut admission = if self.unknowns.is_empty() {
            let passed = if self.passed.is_empty() {
                "no binding restricts it".to_owned()
            } else {
                self.passed.join("; ")
            };
            Admission::new(
                Verdict::Admitted,
                format!("role {role:?} admits {subject}: {passed}"),
            )
        } else {
            let mut admission = Admission::new(
                Verdict::Unknown,
                format!("role {role:?} binds what the inventory does not state about {subject}"),
            );
            admission.unknowns = self.unknowns;
            admission
        };
        admission.conditions = self.conditions;
        admission
    }
}

/// `["a", "b"]`, for messages.
pub(super) fn show<S: AsRef<str>>(xs: &[S]) -> String {
    format!(
        "[{}]",
        xs.iter()
            .map(|x| format!("{:?}", x.as_ref()))
            .collect::<Vec<_>>()
            .join(", ")
    )
}
