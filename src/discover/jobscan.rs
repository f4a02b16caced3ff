//! What CircleCI jobs and Buildkite steps share: their commands are shell scripts, one per
//! step (`run:` / `command:`), read with [`super::shell`]; the logins, secret paths and
//! exposures found there are gathered per job, with file lines, and an ID token requested in a
//! script (`buildkite-agent oidc request-token`, `circleci run oidc get`) is read for the
//! audience and extra claims it asks for.

use std::collections::BTreeSet;

use super::shell::{self, SecretUse, ShellLogin};
use super::{Draft, Val};
use crate::inventory::{AuthMethod, CiEvidence, CiExposure};

/// One shell script of a job, with the 1-based file line of its first line (when known).
pub(crate) struct Script {
    pub text: String,
    pub line: Option<usize>,
    /// How a note names the script (`step 2`, `command`).
    pub label: String,
}

/// An ID token requested from inside a script.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TokenRequest {
    /// The variable the token is assigned to (`TOKEN=$(buildkite-agent oidc request-token …)`).
    pub var: Option<String>,
    /// `--audience A` (Buildkite) or `--claims '{"aud":"A"}'` (CircleCI); `None`: the default.
    pub audience: Option<String>,
    /// Buildkite `--claim a,b` and `--subject-claim x`: optional claims asked for.
    pub claims: Vec<String>,
    /// Buildkite `--subject-claim x`: `sub` is that claim's value.
    pub subject_claim: Option<String>,
    /// CircleCI `--root-issuer`: `iss` is `https://oidc.circleci.com`.
    pub root_issuer: bool,
    pub line: Option<usize>,
}

/// Everything the scripts of one job do with Vault.
#[derive(Debug, Default)]
pub(crate) struct JobScan {
    pub logins: Vec<(ShellLogin, Option<usize>)>,
    pub needs: Vec<String>,
    pub exposures: Vec<CiExposure>,
    /// Files secrets were written to: `(variable, file, line)`.
    pub files: Vec<(String, String, Option<usize>)>,
    pub token_requests: Vec<TokenRequest>,
}

impl JobScan {
    pub(crate) fn uses_vault(&self) -> bool {
        !self.logins.is_empty() || !self.needs.is_empty()
    }

    /// `secret-in-artifact` for every secret file covered by one of the uploaded `paths`;
    /// `how` names the upload (`store_artifacts`).
    pub(crate) fn artifacts(&mut self, paths: &[String], how: &str) {
        for (var, file, line) in &self.files {
            if let Some(p) = paths.iter().find(|p| super::path_covered(p, file)) {
                self.exposures.push(CiExposure {
                    kind: "secret-in-artifact".into(),
                    line: *line,
                    detail: format!("writes {var} to {file}, uploaded by {how} ({p})"),
                    ..Default::default()
                });
            }
        }
    }
}

/// Scan the scripts of one job in order. `secrets` are the variables holding secrets before
/// the first script (ID-token variables included); variables a script assigns from Vault
/// output stay secret in later scripts (they may be carried over, e.g. through `$BASH_ENV`).
pub(crate) fn scan_job(scripts: &[Script], secrets: &BTreeSet<String>) -> JobScan {
    let mut out = JobScan::default();
    let mut known = secrets.clone();
    for script in scripts {
        let at = |offset: usize| script.line.map(|l| l + offset);
        let requests = token_requests(&script.text);
        for request in &requests {
            if let Some(var) = &request.var {
                known.insert(var.clone());
            }
        }
        out.token_requests
            .extend(requests.into_iter().map(|request| TokenRequest {
                line: request.line.and_then(at),
                ..request
            }));
        let scan = shell::scan(&script.text, &known, &BTreeSet::new());
        for login in &scan.logins {
            out.logins.push((login.clone(), at(login.line)));
        }
        out.needs
            .extend(scan.accesses.iter().map(|a| a.path.clone()));
        for secret_use in scan.uses {
            match secret_use {
                SecretUse::Echoed { var, line } => out.exposures.push(CiExposure {
                    kind: "secret-echoed".into(),
                    line: at(line),
                    detail: format!("{} prints {var} to the job log", script.label),
                    ..Default::default()
                }),
                SecretUse::File { var, file, line } => out.files.push((var, file, at(line))),
                SecretUse::Traced { what, line } => out.exposures.push(CiExposure {
                    kind: "debug-logging".into(),
                    line: at(line),
                    detail: format!("{}: {what}", script.label),
                    ..Default::default()
                }),
            }
        }
        known.extend(scan.assigned);
    }
    out
}

/// `buildkite-agent oidc request-token …` and `circleci run oidc get …` calls of a script
/// (0-based lines).
fn token_requests(script: &str) -> Vec<TokenRequest> {
    let mut out = Vec::new();
    for (offset, raw) in joined_lines(script) {
        let words = shell::words(&raw.replace("$(", " $( ").replace(')', " ) "));
        let Some(start) = words.windows(3).position(|w| {
            w[0].ends_with("buildkite-agent") && w[1] == "oidc" && w[2] == "request-token"
                || w[0].ends_with("circleci") && w[1] == "run" && w[2] == "oidc"
        }) else {
            continue;
        };
        let mut request = TokenRequest {
            var: assigned_variable(&raw),
            line: Some(offset),
            ..TokenRequest::default()
        };
        let args = &words[start + 3..];
        let mut i = 0;
        while i < args.len() {
            let (flag, inline) = match args[i].split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
                _ => (args[i].clone(), None),
            };
            let value = || inline.clone().or_else(|| args.get(i + 1).cloned());
            match flag.as_str() {
                "--audience" => request.audience = value(),
                "--claim" => request.claims.extend(
                    value()
                        .unwrap_or_default()
                        .split(',')
                        .map(|c| c.trim().to_string())
                        .filter(|c| !c.is_empty()),
                ),
                "--subject-claim" => {
                    request.subject_claim = value();
                    request.claims.extend(request.subject_claim.clone());
                }
                "--claims" => request.audience = value().and_then(|json| json_audience(&json)),
                "--root-issuer" => request.root_issuer = true,
                _ => {}
            }
            i += 1;
        }
        out.push(request);
    }
    out
}

/// `aud` of CircleCI's `--claims '{"aud":"X"}'`.
fn json_audience(json: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    value.get("aud")?.as_str().map(str::to_string)
}

/// Script lines with continuation lines joined, each with the offset of its first line.
fn joined_lines(script: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in script.lines().enumerate() {
        let (start, mut acc) = pending.take().unwrap_or((i, String::new()));
        match raw.trim_end().strip_suffix('\\') {
            Some(head) => {
                acc.push_str(head);
                acc.push(' ');
                pending = Some((start, acc));
            }
            None => {
                acc.push_str(raw.trim_end());
                out.push((start, acc));
            }
        }
    }
    out.extend(pending);
    out
}

/// `X=…` / `export X=…` at the start of a line: the variable assigned.
fn assigned_variable(line: &str) -> Option<String> {
    let trimmed = line.trim_start();
    let trimmed = trimmed
        .strip_prefix("export ")
        .unwrap_or(trimmed)
        .trim_start();
    let (name, _) = trimmed.split_once('=')?;
    let valid = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    valid.then(|| name.to_string())
}

/// The inventory's login method for a method name found in a script.
pub(crate) fn login_method(name: &str) -> Option<AuthMethod> {
    Some(match name {
        "jwt" => AuthMethod::Jwt,
        "oidc" => AuthMethod::Oidc,
        "kubernetes" => AuthMethod::Kubernetes,
        "approle" => AuthMethod::Approle,
        "userpass" => AuthMethod::Userpass,
        "ldap" => AuthMethod::Ldap,
        "token" => AuthMethod::Token,
        "cert" => AuthMethod::Cert,
        "aws" => AuthMethod::Aws,
        "gcp" => AuthMethod::Gcp,
        "azure" => AuthMethod::Azure,
        "github" => AuthMethod::Github,
        _ => return None,
    })
}

/// A pipeline draft for a job's login found in its scripts (mount, role and namespace as
/// written, expressions recorded as dynamic), or a stored token when the job reads Vault
/// without logging in. `None` for a method the inventory cannot describe.
pub(crate) fn draft(name: String, login: Option<&ShellLogin>, ci: CiEvidence) -> Option<Draft> {
    let Some(login) = login else {
        return Some(Draft::new(name, AuthMethod::Token, "token", ci));
    };
    let method = login_method(&login.method)?;
    let mount = Val::of(&login.mount);
    let mut draft = Draft::new(name, method, mount.known().unwrap_or(&login.method), ci);
    let role = login.role.as_deref().map(Val::of);
    let namespace = login.namespace.as_deref().map(Val::of);
    draft.login(&mount, role.as_ref(), namespace.as_ref());
    // An AppRole login names its role only through the role-id it presents.
    if method == AuthMethod::Approle && role.is_none() {
        draft.dynamic(
            "auth.role",
            "the AppRole whose role-id the script presents (role_id=…)",
        );
    }
    Some(draft)
}

/// A branch filter as the CI evaluates it, reduced to what a static reader can say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Branches {
    /// No filter: every branch runs the job.
    Any,
    /// Exactly these branches.
    Only(Vec<String>),
    /// A filter whose matching branches cannot be listed (patterns, exclusions, conditions).
    Pattern(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_requests_are_read() {
        let script = "export TOKEN=$(buildkite-agent oidc request-token --audience vault \\\n  --claim organization_id,pipeline_id)\nvault write auth/bk/login role=deploy jwt=$TOKEN\n";
        let found = token_requests(script);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].var.as_deref(), Some("TOKEN"));
        assert_eq!(found[0].audience.as_deref(), Some("vault"));
        assert_eq!(found[0].claims, ["organization_id", "pipeline_id"]);
        let circle = token_requests("T=$(circleci run oidc get --claims '{\"aud\":\"bao\"}')\n");
        assert_eq!(circle[0].audience.as_deref(), Some("bao"));
        assert!(!circle[0].root_issuer);
    }

    #[test]
    fn job_scan_carries_secrets_and_lines() {
        let scripts = [
            Script {
                text: "vault write auth/jwt/login role=r jwt=$CIRCLE_OIDC_TOKEN\nDB=$(vault kv get -field=pw secret/app/db)\n".into(),
                line: Some(10),
                label: "step 1".into(),
            },
            Script {
                text: "echo $DB\n".into(),
                line: Some(20),
                label: "step 2".into(),
            },
        ];
        let secrets = BTreeSet::from(["CIRCLE_OIDC_TOKEN".to_string()]);
        let scan = scan_job(&scripts, &secrets);
        assert_eq!(scan.logins[0].1, Some(10));
        assert_eq!(scan.needs, ["secret/data/app/db"]);
        assert_eq!(scan.exposures[0].line, Some(20));
        assert_eq!(scan.exposures[0].kind, "secret-echoed");
    }
}
