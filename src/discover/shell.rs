//! Heuristics over shell scripts (`run:`, `script:`, `sh '…'`): Vault/OpenBao CLI calls
//! (`vault|bao kv get|read|write|login`), `curl …/v1/…`, and what a script does with secrets
//! (prints them, writes them to files, traces them with `set -x`).
//!
//! Line numbers are 0-based offsets into the script; callers map them to file lines.

use std::collections::{BTreeMap, BTreeSet};

use super::{kv2_data, kv2_from_logical};

/// A login found in a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellLogin {
    /// `jwt`, `approle`, `kubernetes`, `userpass`, `ldap`, `cert`, `token`, or another name.
    pub method: String,
    /// The auth mount path (may be an expression).
    pub mount: String,
    pub role: Option<String>,
    pub namespace: Option<String>,
    /// The variable holding the JWT (`jwt=$VAULT_ID_TOKEN`), if named.
    pub jwt_var: Option<String>,
    pub line: usize,
}

/// A secret path read or written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellAccess {
    /// API path (may contain an expression).
    pub path: String,
    pub write: bool,
    pub line: usize,
}

/// Something a script does with a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretUse {
    /// Printed to the job log (or the step summary).
    Echoed { var: String, line: usize },
    /// Written to a file.
    File {
        var: String,
        file: String,
        line: usize,
    },
    /// Traced by `set -x` / `curl -v` while secrets are used.
    Traced { what: String, line: usize },
}

#[derive(Debug, Default, Clone)]
pub struct ScriptScan {
    pub logins: Vec<ShellLogin>,
    pub accesses: Vec<ShellAccess>,
    pub uses: Vec<SecretUse>,
    /// Variables assigned from Vault output (`X=$(vault kv get …)`).
    pub assigned: BTreeSet<String>,
    /// Checks out pull-request code (`gh pr checkout`, `git fetch origin pull/…`, head refs).
    pub fork_checkout: Option<usize>,
}

impl ScriptScan {
    pub fn uses_vault(&self) -> bool {
        !self.logins.is_empty() || !self.accesses.is_empty()
    }
}

/// Split a command line into words (quotes removed, no expansion).
pub fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                any = true;
            }
            None if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            None => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Shell statements of a line: split on `;`, `&&`, `||`, `|`, `$(` (roughly).
fn statements(line: &str) -> Vec<String> {
    let mut text = line.to_string();
    for sep in ["&&", "||", "$(", "`"] {
        text = text.replace(sep, ";");
    }
    text.split([';', '|', ')'])
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect()
}

fn is_cli(w: &str) -> bool {
    let base = w.rsplit('/').next().unwrap_or(w);
    base == "vault" || base == "bao"
}

/// Where the Vault CLI's arguments start: after `vault` or `bao`, or after `d8 stronghold`
/// (Deckhouse's Vault-compatible CLI, its binary often in a variable: `$D8 stronghold`).
fn cli_at(ws: &[String]) -> Option<usize> {
    ws.iter().enumerate().position(|(i, w)| {
        is_cli(w)
            || (w == "stronghold" && i > 0 && {
                let before = &ws[i - 1];
                let base = before.rsplit('/').next().unwrap_or(before);
                base == "d8" || base.starts_with("d8-") || before.starts_with('$')
            })
    })
}

fn flag_value(ws: &[String], i: &mut usize, name: &str) -> Option<String> {
    let word = &ws[*i];
    let bare = word.trim_start_matches('-');
    if !word.starts_with('-') {
        return None;
    }
    if let Some(v) = bare.strip_prefix(&format!("{name}=")) {
        return Some(v.to_string());
    }
    if bare == name && *i + 1 < ws.len() {
        *i += 1;
        return Some(ws[*i].clone());
    }
    None
}

/// Scan one script. `secrets` are the variables known to hold secrets before the script runs;
/// `file_secrets` those holding a path to a file with the secret (GitLab `file: true`).
pub fn scan(
    script: &str,
    secrets: &BTreeSet<String>,
    file_secrets: &BTreeSet<String>,
) -> ScriptScan {
    let mut scanner = Scanner {
        out: ScriptScan::default(),
        known: secrets.clone(),
        file_secrets,
        xtrace: None,
    };
    for line in logical_lines(script) {
        let trimmed = line.text.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        scanner.line(line.number, trimmed);
    }
    scanner.out
}

/// A command line with its continuation lines joined, at the offset of its first line.
struct LogicalLine {
    number: usize,
    text: String,
}

fn logical_lines(script: &str) -> Vec<LogicalLine> {
    let mut lines: Vec<LogicalLine> = Vec::new();
    let mut pending: Option<LogicalLine> = None;
    for (i, raw) in script.lines().enumerate() {
        let trimmed = raw.trim_end();
        let mut line = pending.take().unwrap_or(LogicalLine {
            number: i,
            text: String::new(),
        });
        if let Some(x) = trimmed.strip_suffix('\\') {
            line.text.push_str(x);
            line.text.push(' ');
            pending = Some(line);
        } else {
            line.text.push_str(trimmed);
            lines.push(line);
        }
    }
    lines.extend(pending);
    lines
}

/// The state of a script's scan: what is found so far, the variables known to hold secrets,
/// and the line of a `set -x` still in force.
struct Scanner<'s> {
    out: ScriptScan,
    known: BTreeSet<String>,
    file_secrets: &'s BTreeSet<String>,
    xtrace: Option<usize>,
}

/// What one line does with Vault.
#[derive(Debug, Clone, Copy)]
struct VaultCalls {
    /// A login or a read was found on the line.
    here: bool,
    /// A call on the line prints what Vault answered.
    output: bool,
}

/// One line as the leak checks read it.
struct LineView<'l> {
    number: usize,
    text: &'l str,
    words: &'l [String],
    /// Secret variables the line refers to.
    refs: &'l [String],
    /// Variables holding secret files the line refers to.
    file_refs: &'l [String],
    vault: VaultCalls,
}

impl LineView<'_> {
    fn first(&self) -> &str {
        self.words.first().map(String::as_str).unwrap_or("")
    }
}

impl Scanner<'_> {
    fn line(&mut self, number: usize, trimmed: &str) {
        let words = words(trimmed);
        self.tracing_switch(&words, number);
        let vault = self.vault_calls(trimmed, number);
        if vault.here || vault.output {
            self.assignment(trimmed);
        }
        let refs = referenced(trimmed, &self.known);
        let file_refs = referenced(trimmed, self.file_secrets);
        let view = LineView {
            number,
            text: trimmed,
            words: &words,
            refs: &refs,
            file_refs: &file_refs,
            vault,
        };
        self.tracing(&view);
        if is_fork_checkout(trimmed) {
            self.out.fork_checkout.get_or_insert(number);
        }
        if trimmed.contains("::add-mask::") {
            return;
        }
        self.leaks(&view);
    }

    /// `set -x` / `set -o xtrace` turn tracing on, `set +x` off.
    fn tracing_switch(&mut self, words: &[String], number: usize) {
        if words.first().map(String::as_str) != Some("set") {
            return;
        }
        for w in &words[1..] {
            if w == "-o" {
                continue;
            }
            if w == "xtrace" || (w.starts_with('-') && !w.starts_with("--") && w.contains('x')) {
                self.xtrace = Some(number);
            }
            if w.starts_with('+') && w.contains('x') {
                self.xtrace = None;
            }
        }
    }

    fn vault_calls(&mut self, trimmed: &str, number: usize) -> VaultCalls {
        let before = self.out.accesses.len() + self.out.logins.len();
        let mut output = false;
        for statement in statements(trimmed) {
            let words = words(&statement);
            if let Some(pos) = cli_at(&words) {
                output |= cli(&words[pos + 1..], number, &mut self.out);
            }
            if words.first().is_some_and(|w| w == "curl") {
                output |= curl(&words, &statement, number, &mut self.out);
            }
        }
        VaultCalls {
            here: self.out.accesses.len() + self.out.logins.len() > before,
            output,
        }
    }

    /// Assignments from Vault output (`X=$(vault kv get …)`).
    fn assignment(&mut self, trimmed: &str) {
        let lhs = trimmed
            .trim_start_matches("export ")
            .trim_start_matches("local ");
        if let Some((name, rhs)) = lhs.split_once('=') {
            if is_ident(name)
                && (rhs.starts_with("$(") || rhs.starts_with("\"$(") || rhs.starts_with('`'))
            {
                self.known.insert(name.to_string());
                self.out.assigned.insert(name.to_string());
            }
        }
    }

    /// `set -x`, `bash -x` and `curl -v` over a line that uses secrets.
    fn tracing(&mut self, line: &LineView<'_>) {
        let words = line.words;
        let touches = line.vault.here || !line.refs.is_empty() || !line.file_refs.is_empty();
        let shell_x = words.len() >= 2
            && matches!(words[0].as_str(), "bash" | "sh" | "zsh")
            && words[1].starts_with('-')
            && !words[1].starts_with("--")
            && words[1].contains('x');
        if touches {
            if let Some(x) = self.xtrace {
                self.out.uses.push(SecretUse::Traced {
                    what: format!("`set -x` traces {}", describe(line.refs, line.vault.here)),
                    line: x,
                });
                self.xtrace = None; // one finding per tracing section
            } else if shell_x {
                self.out.uses.push(SecretUse::Traced {
                    what: format!(
                        "`{} {}` traces {}",
                        words[0],
                        words[1],
                        describe(line.refs, line.vault.here)
                    ),
                    line: line.number,
                });
            }
        }
        if words.first().is_some_and(|w| w == "curl")
            && words
                .iter()
                .any(|w| w == "-v" || w == "--verbose" || w == "--trace" || w == "--trace-ascii")
            && (line.text.contains("X-Vault-Token") || line.text.contains("/v1/"))
        {
            self.out.uses.push(SecretUse::Traced {
                what: "`curl -v` prints the request headers, the Vault token included".into(),
                line: line.number,
            });
        }
    }

    /// Secrets the line prints, dumps or writes to a file.
    fn leaks(&mut self, line: &LineView<'_>) {
        let redirect = redirect_target(line.text);
        let first = line.first();
        let prints =
            matches!(first, "echo" | "printf" | "cat" | "tee") || line.text.contains("| tee");
        let dumps_env = matches!(first, "env" | "printenv" | "export" | "set")
            && line.words.len() == 1
            || (matches!(first, "env" | "printenv") && redirect.is_some());
        let leaked = self.leaked_values(line, redirect.as_deref(), prints, dumps_env);
        if first == "cp" && !line.file_refs.is_empty() && line.words.len() >= 3 {
            for v in line.file_refs {
                self.out.uses.push(SecretUse::File {
                    var: v.clone(),
                    file: line.words[line.words.len() - 1].clone(),
                    line: line.number,
                });
            }
        }
        let to_log = prints
            || dumps_env
            || is_cli(first)
            || first == "curl"
            || matches!(first, "base64" | "xxd" | "od" | "head" | "tail");
        for value in leaked {
            self.record_leak(value, redirect.as_deref(), to_log, line.number);
        }
    }

    /// What the line exposes: printed secret variables, printed secret files, the environment,
    /// Vault answers not captured.
    fn leaked_values(
        &self,
        line: &LineView<'_>,
        redirect: Option<&str>,
        prints: bool,
        dumps_env: bool,
    ) -> Vec<String> {
        let first = line.first();
        let mut leaked: Vec<String> = Vec::new();
        if prints {
            leaked.extend(line.refs.iter().cloned());
        }
        if matches!(
            first,
            "cat" | "base64" | "xxd" | "od" | "head" | "tail" | "less" | "more"
        ) {
            leaked.extend(line.file_refs.iter().cloned());
        }
        if dumps_env && (!self.known.is_empty() || !self.file_secrets.is_empty()) {
            leaked.push("the whole environment".into());
        }
        // A read whose output is neither captured nor redirected goes to the job log.
        if line.vault.output
            && redirect.is_none()
            && (is_cli(first) || first == "curl")
            && !line.text.contains('|')
            && !line.text.contains("$(")
        {
            leaked.push(format!(
                "the secret read by `{}`",
                line.words
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
        }
        if (line.vault.here || line.vault.output)
            && redirect.is_some()
            && !line.text.contains("auth/")
        {
            leaked.push(format!("{first} output"));
        }
        leaked
    }

    fn record_leak(&mut self, value: String, redirect: Option<&str>, to_log: bool, line: usize) {
        match redirect {
            Some(f) if f.contains("GITHUB_STEP_SUMMARY") => self.out.uses.push(SecretUse::Echoed {
                var: format!("{value} (to the step summary)"),
                line,
            }),
            Some(f)
                if f.contains("GITHUB_ENV")
                    || f.contains("GITHUB_OUTPUT")
                    || f == "/dev/null"
                    || f.starts_with('&') => {}
            Some(f) => self.out.uses.push(SecretUse::File {
                var: value,
                file: f.to_string(),
                line,
            }),
            None if to_log => self.out.uses.push(SecretUse::Echoed { var: value, line }),
            None => {}
        }
    }
}

/// Checks out pull-request code (`gh pr checkout`, `git fetch origin pull/…`, head refs).
fn is_fork_checkout(trimmed: &str) -> bool {
    trimmed.contains("gh pr checkout")
        || trimmed.contains("pull/") && trimmed.contains("git fetch")
        || (trimmed.contains("git checkout") || trimmed.contains("git switch"))
            && (trimmed.contains("head.sha")
                || trimmed.contains("head.ref")
                || trimmed.contains("github.head_ref"))
}

/// `NAME` or `{NAME}` after a `$`.
pub struct VarRef<'a> {
    pub name: &'a str,
    /// Bytes after the `$`.
    pub len: usize,
}

impl VarRef<'_> {
    pub fn parse(after: &str) -> Option<VarRef<'_>> {
        let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
        if let Some(braced) = after.strip_prefix('{') {
            let end = braced.find('}')?;
            let name = &braced[..end];
            return (!name.is_empty() && name.chars().all(is_name))
                .then_some(VarRef { name, len: end + 2 });
        }
        let end = after.find(|c: char| !is_name(c)).unwrap_or(after.len());
        let name = &after[..end];
        let starts_well = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        starts_well.then_some(VarRef { name, len: end })
    }
}

/// `script` with `$NAME` and `${NAME}` replaced by the literal values `env` gives, except names
/// the script assigns itself (their value changes as it runs). `$$` stays as written.
pub fn with_env(script: &str, env: &BTreeMap<String, String>) -> String {
    with_env_except(script, env, &assigned_names(script))
}

/// [`with_env`] for a caller that already has the script's [`assigned_names`].
pub fn with_env_except(
    script: &str,
    env: &BTreeMap<String, String>,
    assigned: &BTreeSet<String>,
) -> String {
    let mut out = String::with_capacity(script.len());
    let mut rest = script;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push_str("$$");
            rest = tail;
            continue;
        }
        match VarRef::parse(after) {
            Some(reference) => {
                match env
                    .get(reference.name)
                    .filter(|_| !assigned.contains(reference.name))
                {
                    Some(value) => out.push_str(value),
                    None => out.push_str(&rest[dollar..dollar + 1 + reference.len]),
                }
                rest = &after[reference.len..];
            }
            None => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The names a script assigns anywhere (`X=…`, `export X=…`, `local X=…`, `for X in`,
/// `read … X`): their value is the script's, changing as it runs.
pub fn assigned_names(script: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for statement in script.lines().flat_map(|l| l.split([';', '&', '|', '('])) {
        let owned = words(statement.trim());
        // The shell's `read NAMES`, not the CLI's `vault read PATH`.
        let cli = cli_at(&owned);
        let shell_read = owned
            .iter()
            .enumerate()
            .position(|(i, w)| w == "read" && (i == 0 || cli != Some(i - 1)));
        let ws: Vec<&str> = owned.iter().map(String::as_str).collect();
        if let Some(read) = shell_read {
            names.extend(ws[read + 1..].iter().map(|w| w.to_string()));
            continue;
        }
        match ws.as_slice() {
            ["for", name, "in", ..] => {
                names.insert(name.to_string());
            }
            [first, second, ..] if matches!(*first, "export" | "local" | "declare") => {
                names.extend(second.split_once('=').map(|(n, _)| n.to_string()));
            }
            [first, ..] => {
                names.extend(first.split_once('=').map(|(n, _)| n.to_string()));
            }
            [] => {}
        }
    }
    names.retain(|n| is_ident(n));
    names
}

fn describe(refs: &[String], vault: bool) -> String {
    match (refs.is_empty(), vault) {
        (false, _) => format!("commands using {}", refs.join(", ")),
        (true, true) => "Vault CLI/API calls and their tokens".into(),
        (true, false) => "secret use".into(),
    }
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

/// Which of `names` a line references (`$X`, `${X}`, `${{ env.X }}`, `${{ steps.s.outputs.X }}`).
pub fn referenced(line: &str, names: &BTreeSet<String>) -> Vec<String> {
    let mut out = Vec::new();
    for n in names {
        let dollar = [format!("${n}"), format!("${{{n}}}"), format!("${{{n}:")];
        let hit_dollar = dollar.iter().any(|p| {
            line.match_indices(p.as_str()).any(|(i, m)| {
                let after = line[i + m.len()..].chars().next();
                p.ends_with('}')
                    || p.ends_with(':')
                    || !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            })
        });
        let hit_expr = line.contains("${{")
            && (line.contains(&format!("env.{n} "))
                || line.contains(&format!("env.{n}}}"))
                || line.contains(&format!("outputs.{n} "))
                || line.contains(&format!("outputs.{n}}}")));
        if hit_dollar || hit_expr {
            out.push(n.clone());
        }
    }
    out
}

/// The file a line's output goes to (`> f`, `>> f`, `| tee f`), if any.
fn redirect_target(line: &str) -> Option<String> {
    let all_words = words(line);
    for (i, w) in all_words.iter().enumerate() {
        if w == "tee" || w == "tee -a" {
            return all_words[i + 1..]
                .iter()
                .find(|x| !x.starts_with('-'))
                .cloned();
        }
        for op in [">>", ">"] {
            if w == op {
                return all_words.get(i + 1).cloned();
            }
            if let Some(rest) = w.strip_prefix(op) {
                if !rest.is_empty() && !rest.starts_with('&') && !rest.starts_with('>') {
                    return Some(rest.to_string());
                }
            }
            if w.starts_with("2>") || w.starts_with("&>") {
                break;
            }
        }
    }
    None
}

/// A `vault`/`bao` invocation; true when its output is a secret (a read).
fn cli(args: &[String], ln: usize, out: &mut ScriptScan) -> bool {
    let mut i = 0;
    let mut namespace = None;
    // Global flags before the subcommand are rare; skip them.
    while i < args.len() && args[i].starts_with('-') {
        i += 1;
    }
    let Some(cmd) = args.get(i) else { return false };
    let sub = args.get(i + 1).cloned().unwrap_or_default();
    let (rest_start, kv) = if cmd == "kv" {
        (i + 2, true)
    } else {
        (i + 1, false)
    };
    let mut mount: Option<String> = None;
    let mut method: Option<String> = None;
    let mut path_flag: Option<String> = None;
    let mut positional: Vec<String> = Vec::new();
    let mut j = rest_start;
    while j < args.len() {
        if let Some(v) = flag_value(args, &mut j, "mount") {
            mount = Some(v);
        } else if let Some(v) =
            flag_value(args, &mut j, "namespace").or_else(|| flag_value(args, &mut j, "ns"))
        {
            namespace = Some(v);
        } else if let Some(v) = flag_value(args, &mut j, "method") {
            method = Some(v);
        } else if let Some(v) = flag_value(args, &mut j, "path") {
            path_flag = Some(v);
        } else if args[j].starts_with('-') {
            // Other flags (`-field=x`, `-format json` …): a separate value is not consumed.
        } else if args[j].starts_with('>') || args[j] == "2>&1" {
            break;
        } else {
            positional.push(args[j].clone());
        }
        j += 1;
    }
    let kvarg = |k: &str| {
        positional
            .iter()
            .find_map(|p| p.strip_prefix(&format!("{k}=")).map(str::to_string))
    };
    if kv {
        let Some(p) = positional.first() else {
            return false;
        };
        let path = match &mount {
            Some(m) => kv2_data(m, p),
            None => kv2_from_logical(p),
        };
        let write = matches!(
            sub.as_str(),
            "put" | "patch" | "delete" | "destroy" | "undelete" | "rollback"
        );
        if matches!(
            sub.as_str(),
            "get" | "put" | "patch" | "delete" | "destroy" | "undelete" | "rollback"
        ) {
            out.accesses.push(ShellAccess {
                path,
                write,
                line: ln,
            });
            return sub == "get";
        }
        return false;
    }
    match cmd.as_str() {
        "login" => {
            let method = method.unwrap_or_else(|| "token".into());
            out.logins.push(ShellLogin {
                mount: path_flag.unwrap_or_else(|| method.clone()),
                method,
                role: kvarg("role"),
                namespace,
                jwt_var: kvarg("jwt").map(|v| {
                    v.trim_start_matches('$')
                        .trim_matches(['{', '}'])
                        .to_string()
                }),
                line: ln,
            });
            false
        }
        "read" | "write" => {
            let Some(p) = positional.first() else {
                return false;
            };
            let path = p.trim_start_matches('/');
            if let Some(rest) = path.strip_prefix("auth/") {
                if let Some(i) = rest.find("/login") {
                    let mount = rest[..i].to_string();
                    let last = mount.split('/').next_back().unwrap_or("");
                    // GCP and Azure logins also send `jwt=`: their own arguments, or a mount
                    // named after the method, tell them apart from a JWT/OIDC login.
                    let jwt = kvarg("jwt").is_some();
                    // AWS and GitHub logins send no `jwt=`: a JWT mount may well be named
                    // `github` (GitHub Actions OIDC).
                    let method = if matches!(last, "gcp" | "azure")
                        || (matches!(last, "aws" | "github") && !jwt)
                    {
                        last
                    } else if kvarg("subscription_id").is_some()
                        || kvarg("resource_group_name").is_some()
                    {
                        "azure"
                    } else if kvarg("iam_http_request_method").is_some() || kvarg("pkcs7").is_some()
                    {
                        "aws"
                    } else if jwt {
                        "jwt"
                    } else if kvarg("role_id").is_some() {
                        "approle"
                    } else if mount.contains("kubernetes") || mount.contains("k8s") {
                        "kubernetes"
                    } else {
                        mount.split('/').next_back().unwrap_or("jwt")
                    };
                    out.logins.push(ShellLogin {
                        method: method.to_string(),
                        mount,
                        role: kvarg("role"),
                        namespace,
                        jwt_var: kvarg("jwt").map(|v| {
                            v.trim_start_matches('$')
                                .trim_matches(['{', '}'])
                                .to_string()
                        }),
                        line: ln,
                    });
                    return false;
                }
            }
            out.accesses.push(ShellAccess {
                path: path.to_string(),
                write: cmd == "write",
                line: ln,
            });
            cmd == "read" && secret_path(path)
        }
        _ => false,
    }
}

/// A `curl` to the Vault HTTP API; true when it reads a secret.
fn curl(ws: &[String], st: &str, ln: usize, out: &mut ScriptScan) -> bool {
    let Some(url) = ws.iter().find(|w| w.contains("/v1/")) else {
        return false;
    };
    let path = url.split("/v1/").nth(1).unwrap_or("");
    let path: String = path
        .split(['?', '#', '"', '\''])
        .next()
        .unwrap_or("")
        .to_string();
    if path.is_empty() {
        return false;
    }
    let write = ws.iter().any(|w| {
        matches!(
            w.as_str(),
            "-d" | "--data" | "--data-raw" | "--data-binary" | "--json"
        ) || w.starts_with("--data")
    }) || ws
        .windows(2)
        .any(|p| (p[0] == "-X" || p[0] == "--request") && p[1] != "GET");
    if let Some(rest) = path.strip_prefix("auth/") {
        if let Some(i) = rest.find("/login") {
            let mount = rest[..i].to_string();
            // A body inside a double-quoted shell string has its quotes escaped (`\"role\"`).
            let body = st.replace("\\\"", "\"");
            let role = find_json_field(&body, "role");
            let method = if body.contains("\"jwt\"") || body.contains("jwt=") {
                "jwt"
            } else if body.contains("role_id") {
                "approle"
            } else {
                mount.split('/').next_back().unwrap_or("jwt")
            };
            out.logins.push(ShellLogin {
                method: method.to_string(),
                mount,
                role,
                namespace: None,
                jwt_var: None,
                line: ln,
            });
            return false;
        }
    }
    let secret = !write && secret_path(&path);
    out.accesses.push(ShellAccess {
        path,
        write,
        line: ln,
    });
    secret
}

/// Whether reading this API path returns a secret (not system or identity configuration).
fn secret_path(p: &str) -> bool {
    !["sys/", "auth/", "identity/"]
        .iter()
        .any(|x| p.starts_with(x))
}

/// `"field": "value"` or `"field":"value"` in a line (for JSON bodies in curl calls).
fn find_json_field(s: &str, field: &str) -> Option<String> {
    let key = format!("\"{field}\"");
    let start = s.find(&key)?;
    let rest = s[start + key.len()..]
        .trim_start()
        .strip_prefix(':')?
        .trim_start();
    let rest = rest
        .strip_prefix('"')
        .or_else(|| rest.strip_prefix("\\\""))?;
    let end = rest.find(['"', '\\'])?;
    Some(rest[..end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(xs: &[&str]) -> BTreeSet<String> {
        xs.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn cli_reads_and_logins() {
        let found = scan(
            "export VAULT_TOKEN=$(vault write -field=token auth/gitlab/login role=deploy jwt=$VAULT_ID_TOKEN)\n\
             DB=$(vault kv get -mount=secret -field=password app/db)\n\
             bao read database/creds/app\n\
             vault kv get secret/ci/npm\n\
             curl -sS -H \"X-Vault-Token: $VAULT_TOKEN\" $VAULT_ADDR/v1/secret/data/ci/x\n",
            &BTreeSet::new(),
            &BTreeSet::new(),
        );
        assert_eq!(found.logins.len(), 1);
        assert_eq!(found.logins[0].mount, "gitlab");
        assert_eq!(found.logins[0].role.as_deref(), Some("deploy"));
        assert_eq!(found.logins[0].jwt_var.as_deref(), Some("VAULT_ID_TOKEN"));
        let paths: Vec<&str> = found.accesses.iter().map(|a| a.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "secret/data/app/db",
                "database/creds/app",
                "secret/data/ci/npm",
                "secret/data/ci/x"
            ]
        );
        assert!(found.assigned.contains("DB"));
    }

    #[test]
    fn cloud_and_github_logins() {
        let found = scan(
            "vault login -method=aws -path=aws-prod role=deploy header_value=vault.acme.example\n\
             vault login -method=gcp role=build service_account=ci@acme.iam.gserviceaccount.com\n\
             vault login -method=github token=$GH_TOKEN\n\
             vault write auth/azure/login role=vmss jwt=$AZ_TOKEN subscription_id=s\n\
             vault write auth/az-prod/login role=vmss jwt=$AZ_TOKEN resource_group_name=rg\n\
             vault write auth/cloud/login role=r iam_http_request_method=POST\n\
             vault write auth/github/login role=ci jwt=$ACTIONS_ID_TOKEN\n",
            &BTreeSet::new(),
            &BTreeSet::new(),
        );
        let got: Vec<(&str, &str, Option<&str>)> = found
            .logins
            .iter()
            .map(|l| (l.method.as_str(), l.mount.as_str(), l.role.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("aws", "aws-prod", Some("deploy")),
                ("gcp", "gcp", Some("build")),
                ("github", "github", None),
                ("azure", "azure", Some("vmss")),
                ("azure", "az-prod", Some("vmss")),
                ("aws", "cloud", Some("r")),
                ("jwt", "github", Some("ci")),
            ]
        );
        for m in ["aws", "gcp", "azure", "github"] {
            assert_eq!(
                crate::discover::jobscan::login_method(m).map(|x| x.as_str()),
                Some(m)
            );
        }
    }

    #[test]
    fn echo_files_and_tracing() {
        let found = scan(
            "set -x\ncurl -u \"$NPM_TOKEN\" https://registry\nset +x\necho \"::add-mask::$NPM_TOKEN\"\necho $NPM_TOKEN\necho \"$NPM_TOKEN\" > dist/.npmrc\nprintf '%s' \"${NPM_TOKEN}x\" | base64\n",
            &set(&["NPM_TOKEN"]),
            &BTreeSet::new(),
        );
        let kinds: Vec<String> = found
            .uses
            .iter()
            .map(|u| match u {
                SecretUse::Echoed { line, .. } => format!("echo@{line}"),
                SecretUse::File { file, line, .. } => format!("file:{file}@{line}"),
                SecretUse::Traced { line, .. } => format!("trace@{line}"),
            })
            .collect();
        assert_eq!(kinds, ["trace@0", "echo@4", "file:dist/.npmrc@5", "echo@6"]);
    }
}
