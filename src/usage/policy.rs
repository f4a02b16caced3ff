//! The suggested least-privilege policy of a role: one exact-path rule per path its tokens used,
//! with the capabilities the logged operations needed (`docs/usage.md`, "Policy suggestion").

use std::collections::BTreeMap;

use serde::Serialize;

use super::collect::RoleKey;
use super::report::{op_caps, RoleUsage, Used};
use crate::acl::Caps;
use crate::model::Snapshot;

/// One rule of a suggested policy.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct SuggestedRule {
    /// Relative to the role's namespace (where the policy must be written).
    pub path: String,
    pub capabilities: Vec<&'static str>,
}

/// The suggested policy of a role.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SuggestedPolicy {
    /// The policy name to write it under (unique in the report).
    pub name: String,
    /// `<name>.hcl`, as written by `--policy-dir`.
    pub file: String,
    /// The name is not the role's own (characters a file name cannot hold, too long, or shared
    /// with another role).
    #[serde(skip)]
    pub renamed: bool,
    /// The namespace to write the policy in (the role's).
    pub namespace: String,
    pub rules: Vec<SuggestedRule>,
    /// Requests that need no rule, as `<operation> <path> (<why>)`.
    pub covered_without_rule: Vec<String>,
    /// The policy text (HCL).
    pub hcl: String,
}

/// Capabilities in the order they are written.
const ORDER: [(Caps, &str); 8] = [
    (Caps::CREATE, "create"),
    (Caps::READ, "read"),
    (Caps::UPDATE, "update"),
    (Caps::PATCH, "patch"),
    (Caps::DELETE, "delete"),
    (Caps::LIST, "list"),
    (Caps::SCAN, "scan"),
    (Caps::SUDO, "sudo"),
];

fn cap_names(c: Caps) -> Vec<&'static str> {
    ORDER
        .iter()
        .filter(|(k, _)| c.intersects(*k))
        .map(|(_, n)| *n)
        .collect()
}

/// Root-protected ("sudo") paths of the system backend, relative to `sys/`; a trailing `*` is a
/// prefix (OpenBao `logical_system.go` `PathsSpecial.Root`; Vault's list is a superset).
const SYS_ROOT_PATHS: &[&str] = &[
    "auth/*",
    "remount",
    "audit",
    "audit/*",
    "raw",
    "raw/*",
    "rotate",
    "rotate/keyring",
    "rotate/root",
    "config/cors",
    "config/auditing/*",
    "config/ui/headers/*",
    "plugins/catalog/*",
    "revoke-prefix/*",
    "revoke-force/*",
    "leases/revoke-prefix/*",
    "leases/revoke-force/*",
    "leases/lookup/*",
    "leases",
    "internal/inspect/*",
];

/// Root paths of the token store, relative to `auth/token/`.
const TOKEN_ROOT_PATHS: &[&str] = &["revoke-orphan/*", "accessors*"];

/// Root paths of a PKI mount, relative to the mount.
const PKI_ROOT_PATHS: &[&str] = &["root", "root/sign-self-issued"];

fn matches_root(list: &[&str], rel: &str) -> bool {
    list.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => rel.starts_with(prefix),
        None => rel == *p || rel.strip_suffix('/') == Some(p),
    })
}

/// Whether a request path is root-protected: the request then needs `sudo` besides the
/// operation's capability.
pub fn is_root_path(snapshot: &Snapshot, namespace: &str, path: &str) -> bool {
    if let Some(rel) = path.strip_prefix("sys/") {
        return matches_root(SYS_ROOT_PATHS, rel);
    }
    if let Some(rel) = path.strip_prefix("auth/token/") {
        return matches_root(TOKEN_ROOT_PATHS, rel);
    }
    if let Some(ns) = snapshot.namespace(namespace) {
        if let Some(m) = ns.secret_mount_for_path(path) {
            if m.mount_type == "pki" {
                let rel = path[m.name().len()..].trim_start_matches('/');
                return matches_root(PKI_ROOT_PATHS, rel);
            }
        }
    }
    false
}

/// Whether an exact path cannot be written as an exact policy rule (it would read as a glob).
fn is_globby(path: &str) -> bool {
    path.ends_with('*') || path.split('/').any(|s| s == "+")
}

/// Quote a string for HCL1 so that it reads back as exactly `s`: every control character is an
/// escape (the text stays on one line), and the `$` of `${` is written `\x24` because hcl1 does
/// not end a string at a quote inside `${…}`.
fn hcl_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '$' if chars.peek() == Some(&'{') => out.push_str("\\x24"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A value from the audit log or the snapshot made inert inside a `#` comment: hcl1 ends a
/// comment only at a newline, so control characters (and the Unicode line and paragraph
/// separators, which editors show as line breaks) are written as escapes and the comment stays
/// one line.
fn comment_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// Build the suggested policy of a role from what it used. `notes` gets what could not be
/// expressed.
pub fn suggest(
    key: &RoleKey,
    used: &[Used],
    snapshot: &Snapshot,
    notes: &mut Vec<String>,
) -> SuggestedPolicy {
    let mut rules: BTreeMap<String, Caps> = BTreeMap::new();
    let mut covered = Vec::new();
    let mut requests = 0u64;
    let mut first: Option<&str> = None;
    let mut last: Option<&str> = None;
    for u in used {
        requests += u.count;
        if first.is_none_or(|f| u.first.as_str() < f) {
            first = Some(&u.first);
        }
        if last.is_none_or(|l| u.last.as_str() > l) {
            last = Some(&u.last);
        }
        if !u.needs_rule {
            let why = u.covered_by.unwrap_or("needs no capability");
            covered.push(format!("{} {}{} ({why})", u.operation, u.namespace, u.path));
            continue;
        }
        let Some(rel_ns) = u.namespace.strip_prefix(key.namespace.as_str()) else {
            notes.push(format!(
                "{} {}{}: outside the role's namespace {:?}; no rule written",
                u.operation, u.namespace, u.path, key.namespace
            ));
            continue;
        };
        let rel = format!("{rel_ns}{}", u.path);
        if rel.contains("{{") {
            notes.push(format!(
                "{} {rel}: the path would read as an identity template in a policy; no rule written",
                u.operation
            ));
            continue;
        }
        if is_globby(&rel) {
            notes.push(format!(
                "{} {rel}: the path would read as a wildcard in a policy; no rule written",
                u.operation
            ));
            continue;
        }
        let mut caps = op_caps(&u.operation).1;
        if is_root_path(snapshot, &u.namespace, &u.path) {
            caps |= Caps::SUDO;
        }
        *rules.entry(rel).or_default() |= caps;
    }
    let rules: Vec<SuggestedRule> = rules
        .into_iter()
        .map(|(path, caps)| SuggestedRule {
            path,
            capabilities: cap_names(caps),
        })
        .collect();
    let mut suggested = SuggestedPolicy {
        name: String::new(),
        file: String::new(),
        renamed: false,
        namespace: key.namespace.clone(),
        rules,
        covered_without_rule: covered,
        hcl: String::new(),
    };
    suggested.hcl = render_hcl(key, &suggested, requests, first, last);
    if let Err(why) = grants_exactly(&suggested.hcl, &suggested.rules) {
        // Never hand out a text that would grant something else than what was used.
        notes.push(format!(
            "the suggested policy for {} did not read back as written ({why}); no rule written",
            key.display()
        ));
        suggested.rules.clear();
        suggested.hcl = format!(
            "# The suggestion could not be written safely: see the report's notes.\n{}",
            render_hcl(key, &suggested, requests, first, last)
        );
    }
    suggested
}

/// Why a suggested policy text does not read back as the rules it was written from.
#[derive(Debug, thiserror::Error)]
pub enum ReadBackError {
    #[error(transparent)]
    Refused(#[from] crate::acl::PolicyError),
    #[error("{found} rules instead of {expected}")]
    RuleCount { found: usize, expected: usize },
    /// The rule for this path (as written in a comment) parsed differently.
    #[error("rule {path:?} differs")]
    RuleDiffers { path: String },
}

/// Parse `hcl` with the ACL parser and check it holds exactly `rules`: the same keys, no
/// template, the same capabilities and nothing else (no parameters, wrapping TTLs, MFA).
pub fn grants_exactly(hcl: &str, rules: &[SuggestedRule]) -> Result<(), ReadBackError> {
    let src = crate::acl::PolicySource::root_ns("suggested", hcl);
    let policy = crate::acl::parse_policy(&src, &Default::default())?;
    if policy.rules.len() != rules.len() {
        return Err(ReadBackError::RuleCount {
            found: policy.rules.len(),
            expected: rules.len(),
        });
    }
    for (got, want) in policy.rules.iter().zip(rules) {
        let caps = want
            .capabilities
            .iter()
            .filter_map(|c| Caps::from_name(c))
            .fold(Caps::NONE, |a, b| a | b);
        let expected = crate::acl::policy::Permissions {
            caps,
            ..Default::default()
        };
        if got.key != want.path
            || got.templated
            || got.expiration.is_some()
            || got.perms != expected
        {
            return Err(ReadBackError::RuleDiffers {
                path: comment_text(&want.path),
            });
        }
    }
    Ok(())
}

fn render_hcl(
    key: &RoleKey,
    sp: &SuggestedPolicy,
    requests: u64,
    first: Option<&str>,
    last: Option<&str>,
) -> String {
    let mut text = String::new();
    text.push_str(&format!(
        "# Suggested least-privilege policy for {}\n",
        comment_text(&key.display())
    ));
    text.push_str(
        "# Written by `blastmap usage`: exact-path rules for what the role's tokens used in the audit logs,\n",
    );
    match (first, last) {
        (Some(f), Some(l)) => text.push_str(&format!(
            "# {requests} requests from {} to {}.\n",
            comment_text(f),
            comment_text(l)
        )),
        _ => text.push_str("# No requests were logged for this role.\n"),
    }
    if !key.namespace.is_empty() {
        text.push_str(&format!(
            "# Write it in namespace \"{}\" (paths are relative to it).\n",
            comment_text(&key.namespace)
        ));
    }
    text.push_str("# A logged `create` also gets `update`: the same write is an update once the object exists.\n");
    if !sp.covered_without_rule.is_empty() {
        text.push_str("# Used, but needs no rule here:\n");
        for c in &sp.covered_without_rule {
            text.push_str(&format!("#   {}\n", comment_text(c)));
        }
    }
    if sp.rules.is_empty() {
        text.push_str("# Nothing to grant: the role needs no policy beyond `default`.\n");
    }
    for r in &sp.rules {
        text.push('\n');
        text.push_str(&format!("path {} {{\n", hcl_quote(&r.path)));
        let caps: Vec<String> = r.capabilities.iter().map(|c| format!("\"{c}\"")).collect();
        text.push_str(&format!("  capabilities = [{}]\n", caps.join(", ")));
        text.push_str("}\n");
    }
    text
}

/// The longest policy name (and file name less `.hcl`) written; longer role names are cut and
/// made unique with a suffix.
const MAX_NAME: usize = 100;

/// A role name as a policy and file name: only ASCII letters, digits, `-`, `_` and `.` (no `/`,
/// no control character, no NUL), no leading `.` (so never `.` or `..`), at most [`MAX_NAME`]
/// characters.
fn sanitize(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut out = out.trim_start_matches('.').to_string();
    out.truncate(MAX_NAME);
    if out.is_empty() {
        "role".to_string()
    } else {
        out
    }
}

/// Give each role's policy a unique name and file: the role name, qualified with the mount (and
/// namespace) when two roles share a name.
pub fn assign_file_names(roles: &mut [RoleUsage]) {
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for r in roles.iter() {
        *count
            .entry(sanitize(&r.role).to_ascii_lowercase())
            .or_default() += 1;
    }
    let mut taken = std::collections::BTreeSet::new();
    for r in roles.iter_mut() {
        let plain = sanitize(&r.role);
        let mut name = if count[&plain.to_ascii_lowercase()] == 1 && !r.role.is_empty() {
            plain
        } else {
            let ns = r.namespace.trim_end_matches('/');
            if ns.is_empty() {
                sanitize(&format!("{}-{}", r.mount, r.role))
            } else {
                sanitize(&format!("{ns}-{}-{}", r.mount, r.role))
            }
        };
        let base = name.clone();
        let mut i = 2;
        while !taken.insert(name.to_ascii_lowercase()) {
            name = format!("{base}-{i}");
            i += 1;
        }
        r.suggested_policy.renamed = sanitize(&r.role) != r.role;
        r.suggested_policy.file = format!("{name}.hcl");
        r.suggested_policy.name = name;
    }
}
