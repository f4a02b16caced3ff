//! The entries of `include:`: which are files of this repository, and which only the GitLab
//! server can fetch (another project's file, a URL, a GitLab template, a CI/CD component).

use std::path::{Path, PathBuf};

use yaml_serde::Value;

use super::super::yaml::{get, scalar};

/// One `include:` entry.
pub(super) enum Include {
    /// A file of this repository (`local:`, or a string without a scheme); `pattern` may hold
    /// `*` and `**`.
    Local {
        pattern: String,
        /// The entry's `inputs:`, for the included file's `spec:` header.
        inputs: Option<Value>,
        /// The entry's `rules:`: the configuration is read both with and without the file.
        rules: Option<Value>,
    },
    /// Read by the server only: `project:`, `remote:`, `template:`, `component:`.
    Elsewhere { kind: &'static str, what: String },
    /// An entry of no known form.
    Unknown { what: String },
}

impl Include {
    pub(super) fn of(entry: &Value) -> Include {
        let shown = || {
            yaml_serde::to_string(entry)
                .unwrap_or_default()
                .trim()
                .replace('\n', " ")
        };
        if let Value::String(s) = entry {
            return if s.contains("://") {
                Include::Elsewhere {
                    kind: "remote",
                    what: s.clone(),
                }
            } else {
                Include::Local {
                    pattern: s.clone(),
                    inputs: None,
                    rules: None,
                }
            };
        }
        if let Some(pattern) = get(entry, "local").and_then(scalar) {
            return Include::Local {
                pattern,
                inputs: get(entry, "inputs").cloned(),
                rules: get(entry, "rules").cloned(),
            };
        }
        for kind in ["project", "remote", "template", "component"] {
            if get(entry, kind).is_some() {
                return Include::Elsewhere {
                    kind,
                    what: shown(),
                };
            }
        }
        Include::Unknown { what: shown() }
    }
}

/// Bounds on the walk that expands a wildcard: a hostile repository must not make it endless.
const MAX_WALKED: usize = 20_000;
const MAX_DEPTH: usize = 32;
const MAX_PATTERN_BYTES: usize = 1024;
const MAX_PATH_BYTES: usize = 4096;

/// The files under `root` whose repository path matches `pattern` (`*` within a directory,
/// `**` across directories), sorted as GitLab includes them. Symbolic links to directories are
/// not followed (they could leave the repository or loop); linked files are returned and
/// confined by the caller.
pub(super) fn expand_wildcard(root: &Path, pattern: &str) -> Vec<PathBuf> {
    let pattern = pattern.trim_start_matches('/');
    let mut found = Vec::new();
    let mut pending = vec![(root.to_path_buf(), 0usize)];
    let mut walked = 0;
    while let Some((dir, depth)) = pending.pop() {
        let Ok(read) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in read.flatten() {
            walked += 1;
            if walked > MAX_WALKED {
                return sorted(found);
            }
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() && depth < MAX_DEPTH && entry.file_name() != ".git" {
                pending.push((path, depth + 1));
            } else if !kind.is_dir() {
                let relative = path.strip_prefix(root).unwrap_or(&path);
                let relative = relative.to_string_lossy().replace('\\', "/");
                if wildcard_match(pattern, &relative) {
                    found.push(path);
                }
            }
        }
    }
    sorted(found)
}

fn sorted(mut paths: Vec<PathBuf>) -> Vec<PathBuf> {
    paths.sort();
    paths
}

/// GitLab's wildcard: `*` never crosses `/`, `**` does; unlike artifact paths, a directory
/// does not cover its files. Memoised on (pattern position, path position), so a hostile
/// pattern of many stars stays quadratic.
fn wildcard_match(pattern: &str, path: &str) -> bool {
    // The matcher recurses once per byte: longer patterns are no include anyone writes.
    if pattern.len() > MAX_PATTERN_BYTES || path.len() > MAX_PATH_BYTES {
        return false;
    }
    let matcher = Wildcard {
        p: pattern.as_bytes(),
        s: path.as_bytes(),
    };
    let mut failed = vec![false; (matcher.p.len() + 1) * (matcher.s.len() + 1)];
    matcher.matches(0, 0, &mut failed)
}

struct Wildcard<'a> {
    p: &'a [u8],
    s: &'a [u8],
}

impl Wildcard<'_> {
    fn matches(&self, pi: usize, si: usize, failed: &mut [bool]) -> bool {
        let key = pi * (self.s.len() + 1) + si;
        if failed[key] {
            return false;
        }
        let (p, s) = (&self.p[pi..], &self.s[si..]);
        let found = match p.first() {
            None => s.is_empty(),
            Some(b'*') if p.get(1) == Some(&b'*') => {
                // `**/` also matches no directory at all.
                let after = if p.get(2) == Some(&b'/') { 3 } else { 2 };
                (si..=self.s.len())
                    .any(|i| self.matches(pi + 2, i, failed) || self.matches(pi + after, i, failed))
            }
            Some(b'*') => (si..=self.s.len())
                .take_while(|&i| i == si || self.s[i - 1] != b'/')
                .any(|i| self.matches(pi + 1, i, failed)),
            Some(&c) => s.first() == Some(&c) && self.matches(pi + 1, si + 1, failed),
        };
        if !found {
            failed[key] = true;
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_match(
            ".gitlab/ci/*.gitlab-ci.yml",
            ".gitlab/ci/deploy.gitlab-ci.yml"
        ));
        assert!(!wildcard_match(
            ".gitlab/ci/*.gitlab-ci.yml",
            ".gitlab/ci/sub/deploy.gitlab-ci.yml"
        ));
        assert!(wildcard_match("ci/**.yml", "ci/a/b/c.yml"));
        assert!(wildcard_match("ci/**/*.yml", "ci/a/b/c.yml"));
        assert!(!wildcard_match("ci/*.yml", "ci/a.yaml"));
        let hostile = "*".repeat(200);
        assert!(!wildcard_match(&format!("{hostile}x"), &"a/".repeat(100)));
    }

    #[test]
    fn forms() {
        let value: Value = yaml_serde::from_str("[a.yml, 'https://x/y.yml', {project: g/p, file: f.yml}, {component: $CI_SERVER_FQDN/g/c@1}, {template: Auto.yml}, {local: b.yml, rules: [{if: $X}]}, {bogus: 1}]").unwrap();
        let kinds: Vec<String> = value
            .as_sequence()
            .unwrap()
            .iter()
            .map(|e| match Include::of(e) {
                Include::Local { pattern, .. } => format!("local {pattern}"),
                Include::Elsewhere { kind, .. } => kind.to_string(),
                Include::Unknown { .. } => "unknown".into(),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "local a.yml",
                "remote",
                "project",
                "component",
                "template",
                "local b.yml",
                "unknown"
            ]
        );
    }
}
