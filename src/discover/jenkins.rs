//! Jenkins: literal `withVault` configurations in a `Jenkinsfile` (HashiCorp Vault plugin).
//!
//! `withVault([configuration: [...], vaultSecrets: [[path: ..., engineVersion: 2, secretValues:
//! [[envVar: 'X', vaultKey: 'y']]]]])`, with the maps written inline or in variables assigned
//! earlier in the file (`def secrets = [...]`). The login is the configured Vault credential:
//! an AppRole credential whose role is given with `--jenkins-role CREDENTIAL=ROLE` (otherwise
//! recorded as dynamic). KV v2 paths are logical in the plugin: `data/` is inserted after the
//! mount (`prefixPath` when set, else the first segment).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::shell::{self, ScriptScan, SecretUse};
use super::{kv2_data, DiscoverError, Discovery, Draft, KvVersion, Options, Result};
use crate::inventory::{AuthMethod, CiEvidence, CiExposure};

/// A Groovy literal.
#[derive(Debug, Clone, PartialEq)]
pub enum G {
    Str(String),
    /// A GString with `${…}` or `$x`: not evaluated.
    Dyn(String),
    Num(i64),
    Bool(bool),
    List(Vec<G>),
    Map(Vec<(String, G)>),
    /// A reference to a variable or an expression that is not a literal.
    Ref(String),
}

impl G {
    pub fn get(&self, k: &str) -> Option<&G> {
        match self {
            G::Map(m) => m.iter().find(|(x, _)| x == k).map(|(_, v)| v),
            _ => None,
        }
    }
}

struct P<'a> {
    s: &'a [u8],
    i: usize,
    vars: &'a BTreeMap<String, G>,
}

impl P<'_> {
    fn ws(&mut self) {
        loop {
            if self.i >= self.s.len() {
                self.i = self.s.len();
                return;
            }
            while self.i < self.s.len() && (self.s[self.i] as char).is_whitespace() {
                self.i += 1;
            }
            if self.s[self.i..].starts_with(b"//") {
                while self.i < self.s.len() && self.s[self.i] != b'\n' {
                    self.i += 1;
                }
            } else if self.s[self.i..].starts_with(b"/*") {
                match find(&self.s[self.i + 2..], b"*/") {
                    Some(e) => self.i += e + 4,
                    None => self.i = self.s.len(),
                }
            } else {
                break;
            }
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }

    fn value(&mut self) -> Option<G> {
        match self.peek()? {
            b'[' => {
                self.i += 1;
                if self.peek() == Some(b':') {
                    self.i += 1;
                    self.peek();
                    self.i += 1; // ]
                    return Some(G::Map(Vec::new()));
                }
                let mut items = Vec::new();
                let mut map = Vec::new();
                loop {
                    if self.peek()? == b']' {
                        self.i += 1;
                        break;
                    }
                    let save = self.i;
                    if let Some(k) = self.key() {
                        if self.peek() == Some(b':') {
                            self.i += 1;
                            let value = self.value()?;
                            map.push((k, value));
                        } else {
                            self.i = save;
                            items.push(self.value()?);
                        }
                    } else {
                        items.push(self.value()?);
                    }
                    match self.peek()? {
                        b',' => self.i += 1,
                        b']' => {}
                        _ => return None,
                    }
                }
                Some(if map.is_empty() {
                    G::List(items)
                } else {
                    G::Map(map)
                })
            }
            b'\'' | b'"' => {
                let quote = self.s[self.i];
                let triple = self.s[self.i..].starts_with(&[quote, quote, quote]);
                let start = self.i + if triple { 3 } else { 1 };
                let end = if triple {
                    start + find(&self.s[start..], &[quote, quote, quote])?
                } else {
                    let mut j = start;
                    while j < self.s.len() && self.s[j] != quote {
                        if self.s[j] == b'\\' {
                            j += 1;
                        }
                        j += 1;
                    }
                    j
                };
                let text =
                    String::from_utf8_lossy(&self.s[start..end.min(self.s.len())]).to_string();
                self.i = end + if triple { 3 } else { 1 };
                Some(if quote == b'"' && super::is_expression(&text) {
                    G::Dyn(text)
                } else {
                    G::Str(text)
                })
            }
            c if c == b'-' || c.is_ascii_digit() => {
                let start = self.i;
                self.i += 1;
                while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
                    self.i += 1;
                }
                let digits = std::str::from_utf8(&self.s[start..self.i]).ok()?;
                Some(G::Num(digits.parse().ok()?))
            }
            _ => {
                let start = self.i;
                while self.i < self.s.len() {
                    let byte = self.s[self.i];
                    if byte == b',' || byte == b']' || byte == b')' || byte == b'\n' {
                        break;
                    }
                    self.i += 1;
                }
                let word = String::from_utf8_lossy(&self.s[start..self.i])
                    .trim()
                    .to_string();
                Some(match word.as_str() {
                    "true" => G::Bool(true),
                    "false" => G::Bool(false),
                    _ => self.vars.get(&word).cloned().unwrap_or(G::Ref(word)),
                })
            }
        }
    }

    /// A map key: an identifier or a quoted string.
    fn key(&mut self) -> Option<String> {
        let first = self.peek()?;
        if first == b'\'' || first == b'"' {
            let save = self.i;
            if let Some(G::Str(s)) = self.value() {
                return Some(s);
            }
            self.i = save;
            return None;
        }
        let start = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_alphanumeric()
                || self.s[self.i] == b'_'
                || self.s[self.i] == b'$')
        {
            self.i += 1;
        }
        if self.i == start {
            return None;
        }
        Some(String::from_utf8_lossy(&self.s[start..self.i]).to_string())
    }
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

fn line_at(text: &str, pos: usize) -> usize {
    text[..pos.min(text.len())]
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        + 1
}

/// Parse a literal at the start of `s`.
pub fn parse_literal(s: &str, vars: &BTreeMap<String, G>) -> Option<G> {
    P {
        s: s.as_bytes(),
        i: 0,
        vars,
    }
    .value()
}

/// `def x = <literal>` / `x = <literal>` assignments, in file order.
fn assignments(text: &str) -> BTreeMap<String, G> {
    let mut vars = BTreeMap::new();
    for (pos, _) in text.match_indices('=') {
        let bytes = text.as_bytes();
        if bytes.get(pos + 1) == Some(&b'=')
            || pos > 0 && matches!(bytes[pos - 1], b'=' | b'!' | b'<' | b'>')
        {
            continue;
        }
        let line_start = text[..pos].rfind('\n').map(|i| i + 1).unwrap_or(0);
        let lhs = text[line_start..pos].trim();
        let lhs = lhs.strip_prefix("def ").unwrap_or(lhs).trim();
        let lhs = lhs.rsplit(' ').next().unwrap_or(lhs);
        if lhs.is_empty() || !lhs.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let rhs = text[pos + 1..].trim_start();
        if !rhs.starts_with('[')
            && !rhs.starts_with('\'')
            && !rhs.starts_with('"')
            && !rhs.starts_with(|c: char| c.is_ascii_digit())
        {
            continue;
        }
        if let Some(v) = parse_literal(rhs, &vars) {
            vars.insert(lhs.to_string(), v);
        }
    }
    vars
}

/// The argument of a `withVault(` call: a map literal, or named arguments.
fn call_arg(text: &str, open: usize, vars: &BTreeMap<String, G>) -> Option<G> {
    let inner = &text[open + 1..];
    let trimmed = inner.trim_start();
    if trimmed.starts_with('[') {
        return parse_literal(trimmed, vars);
    }
    // Named arguments `configuration: x, vaultSecrets: y`: parse as a map without brackets.
    let wrapped = format!("[{}", trimmed.replacen(')', "]", 1));
    parse_literal(&wrapped, vars)
}

/// The name of the innermost `stage('…')` before `pos`.
fn stage_before(text: &str, pos: usize) -> Option<String> {
    let head = &text[..pos];
    let start = head.rfind("stage(")?;
    let rest = &head[start + 6..];
    let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let rest = &rest[1..];
    Some(rest[..rest.find(quote)?].to_string())
}

fn s(g: Option<&G>) -> Option<String> {
    match g? {
        G::Str(s) => Some(s.clone()),
        G::Num(n) => Some(n.to_string()),
        _ => None,
    }
}

fn dynamic_text(g: Option<&G>) -> Option<String> {
    match g? {
        G::Dyn(s) | G::Ref(s) => Some(s.clone()),
        _ => None,
    }
}

/// The engine version of secrets that state none: the Vault plugin's global setting, which only
/// the Jenkins configuration knows (`--jenkins-engine-version`; the plugin's usual 2 otherwise).
fn global_engine_version(opts: &Options) -> &'static str {
    match opts.jenkins_engine_version {
        Some(KvVersion::V1) => "1",
        Some(KvVersion::V2) | None => "2",
    }
}

pub fn discover(file: &Path, opts: &Options, out: &mut Discovery) -> Result<()> {
    let shown = file.display().to_string();
    let text = std::fs::read_to_string(file).map_err(|source| DiscoverError::Read {
        shown: shown.clone(),
        source,
    })?;
    let text = without_comments(&text);
    let job = file
        .parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().to_string())
        .filter(|n| !n.is_empty() && n != ".")
        .unwrap_or_else(|| "jenkins".into());
    let jenkinsfile = Jenkinsfile {
        shown: &shown,
        text: &text,
        vars: assignments(&text),
        job: &job,
        opts,
    };
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for (pos, _) in text.match_indices("withVault(") {
        if let Some(d) = jenkinsfile.with_vault(pos, &mut count, out) {
            out.pipelines.push(d.finish());
        }
    }
    script_pipelines(&text, &shown, &job, &mut count, out);
    Ok(())
}

/// `text` with its Groovy comments (`// …` to the line end, `/* … */`) blanked out: code
/// commented out (an old `withVault` block, a disabled stage) does not run. Comment characters
/// become spaces and newlines stay, so offsets and line numbers are those of the file; a `//`
/// or `/*` inside a string (`'http://vault:8200'`) is not a comment.
fn without_comments(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut quote: Option<&str> = None;
    let mut i = 0;
    while i < chars.len() {
        let rest = &chars[i..];
        let starts = |p: &str| p.chars().zip(rest).filter(|(a, b)| a == *b).count() == p.len();
        if let Some(q) = quote {
            if rest[0] == '\\' && rest.len() > 1 {
                out.extend(&rest[..2]);
                i += 2;
                continue;
            }
            if starts(q) {
                quote = None;
                out.push_str(q);
                i += q.chars().count();
                continue;
            }
            out.push(rest[0]);
            i += 1;
            continue;
        }
        let end = if starts("//") {
            rest.iter().position(|c| *c == '\n').unwrap_or(rest.len())
        } else if starts("/*") {
            (2..rest.len())
                .find(|&k| rest[k - 1] == '*' && rest[k] == '/')
                .map_or(rest.len(), |k| k + 1)
        } else {
            if let Some(q) = ["'''", "\"\"\"", "'", "\""].into_iter().find(|q| starts(q)) {
                quote = Some(q);
                out.push_str(q);
                i += q.chars().count();
            } else {
                out.push(rest[0]);
                i += 1;
            }
            continue;
        };
        for c in &rest[..end] {
            match c {
                '\n' => out.push('\n'),
                c => out.extend(std::iter::repeat_n(' ', c.len_utf8())),
            }
        }
        i += end;
    }
    out
}

/// One Jenkinsfile being read, with what every `withVault` block of it shares.
struct Jenkinsfile<'f> {
    shown: &'f str,
    text: &'f str,
    /// The file's literal variable assignments, for arguments that name them.
    vars: BTreeMap<String, G>,
    /// The Jenkins job: the directory holding the Jenkinsfile.
    job: &'f str,
    opts: &'f Options,
}

impl Jenkinsfile<'_> {
    /// The pipeline of the `withVault` call at `pos`; `None` (with a note) when its arguments
    /// are not literal.
    fn with_vault(
        &self,
        pos: usize,
        count: &mut BTreeMap<String, usize>,
        out: &mut Discovery,
    ) -> Option<Draft> {
        let shown = self.shown;
        let line = line_at(self.text, pos);
        let Some(arg) = call_arg(self.text, pos + "withVault".len(), &self.vars) else {
            out.notes.push(format!(
                "{shown}:{line}: withVault arguments are not a literal map: skipped"
            ));
            return None;
        };
        let empty = G::Map(Vec::new());
        let config = arg.get("configuration").unwrap_or(&empty);
        let secrets = match arg.get("vaultSecrets") {
            Some(G::List(l)) => l.clone(),
            Some(other) => {
                out.notes.push(format!(
                    "{shown}:{line}: vaultSecrets is not a literal list ({other:?}): its paths are not discovered"
                ));
                Vec::new()
            }
            None => Vec::new(),
        };
        let stage = stage_before(self.text, pos).unwrap_or_else(|| "pipeline".into());
        let (name, ci) = stage_pipeline(
            &StageAt {
                shown,
                job: self.job,
                stage: &stage,
                line,
            },
            count,
        );
        let mount = self
            .opts
            .jenkins_mount
            .clone()
            .unwrap_or_else(|| "approle".into());
        let mut draft = Draft::new(name, AuthMethod::Approle, &mount, ci);
        self.login(&mut draft, config);
        let env_vars = self.secret_needs(&mut draft, config, &secrets, line, out);
        self.sh_steps(&mut draft, pos, &env_vars);
        Some(draft)
    }

    /// The AppRole (from `--jenkins-role` for the block's credential) and the namespace.
    fn login(&self, d: &mut Draft, config: &G) {
        match s(config.get("vaultCredentialId")) {
            Some(cred) => match self.opts.jenkins_roles.get(&cred) {
                Some(role) => {
                    d.auth.role = Some(role.clone());
                    d.auth.role_name = Some(role.clone());
                }
                None => d.dynamic(
                    "auth.role",
                    format!("the AppRole of Jenkins credential {cred:?} (pass --jenkins-role {cred}=ROLE)"),
                ),
            },
            None => d.dynamic(
                "auth.role",
                dynamic_text(config.get("vaultCredentialId"))
                    .unwrap_or_else(|| "the globally configured Vault credential".into()),
            ),
        }
        match (
            s(config.get("vaultNamespace")),
            dynamic_text(config.get("vaultNamespace")),
        ) {
            (Some(ns), _) => d.auth.namespace = ns,
            (None, Some(e)) => d.dynamic("auth.namespace", e),
            _ => {}
        }
    }

    /// The block's secrets as needs; returns the environment variables they are bound to.
    fn secret_needs(
        &self,
        d: &mut Draft,
        config: &G,
        secrets: &[G],
        line: usize,
        out: &mut Discovery,
    ) -> BTreeSet<String> {
        let configured_engine = s(config.get("engineVersion"));
        let mut assumed_engine = false;
        let prefix = s(config.get("prefixPath"));
        let mut env_vars = BTreeSet::new();
        for secret in secrets {
            let path = match (s(secret.get("path")), dynamic_text(secret.get("path"))) {
                (Some(p), _) => p,
                (None, Some(e)) => {
                    d.dynamic("needs", e);
                    continue;
                }
                _ => continue,
            };
            let engine = match s(secret.get("engineVersion")).or_else(|| configured_engine.clone())
            {
                Some(version) => version,
                None => {
                    assumed_engine = true;
                    global_engine_version(self.opts).to_string()
                }
            };
            let need = match (&prefix, engine.as_str()) {
                (Some(pf), "2") => kv2_data(pf, &path),
                (Some(pf), _) => format!("{}/{}", pf.trim_matches('/'), path.trim_matches('/')),
                (None, "2") => super::kv2_from_logical(&path),
                (None, _) => path.trim_matches('/').to_string(),
            };
            d.need(&need);
            if let Some(G::List(values)) = secret.get("secretValues") {
                for v in values {
                    if let Some(e) = s(v.get("envVar")).or_else(|| s(v.get("vaultKey"))) {
                        env_vars.insert(e);
                    }
                }
            }
        }
        if assumed_engine && self.opts.jenkins_engine_version.is_none() {
            out.notes.push(format!(
                "{}:{line}: withVault sets no engineVersion (neither on its secrets nor in its configuration): the paths are read as KV version 2, the plugin's usual global setting; pass --jenkins-engine-version 1 if this Jenkins is configured for KV version 1",
                self.shown
            ));
        }
        env_vars
    }

    /// `sh` steps inside the block at `pos`: secrets printed or written to archived files, and
    /// the paths the `vault` CLI reads.
    fn sh_steps(&self, d: &mut Draft, pos: usize, env_vars: &BTreeSet<String>) {
        let body = block_after(self.text, pos);
        let archived = archive_patterns(self.text);
        for (off, script) in sh_scripts(body) {
            // `"${env.TOKEN}"` in a Groovy string is the same variable as the shell's `$TOKEN`
            // (Groovy puts its value into the command before the shell runs).
            let script = script.replace("${env.", "${");
            let scan = shell::scan(&script, env_vars, &BTreeSet::new());
            let base = line_at(self.text, pos + off);
            for u in scan.uses {
                match u {
                    SecretUse::Echoed { var, line } => d.expose(CiExposure {
                        kind: "secret-echoed".into(),
                        line: Some(base + line),
                        detail: format!("an sh step prints {var} to the build log (withVault masks exact values only)"),
                        ..Default::default()
                    }),
                    SecretUse::File { var, file: f, line } => {
                        if let Some(p) = archived.iter().find(|p| super::path_covered(p, &f)) {
                            d.expose(CiExposure {
                                kind: "secret-in-artifact".into(),
                                line: Some(base + line),
                                detail: format!("an sh step writes {var} to {f}, archived by archiveArtifacts ({p})"),
                                ..Default::default()
                            });
                        }
                    }
                    SecretUse::Traced { what, line } => d.expose(CiExposure {
                        kind: "debug-logging".into(),
                        line: Some(base + line),
                        detail: what,
                        ..Default::default()
                    }),
                }
            }
            for a in &scan.accesses {
                d.need(&a.path);
            }
        }
    }
}

/// Stages whose `sh` steps, outside every `withVault` block, log in with the `vault` CLI or
/// `curl`, or read from Vault: one pipeline per stage, the login as the script writes it
/// (`jobscan::draft`), its paths as needs. A stage that reads without logging in holds a
/// stored token.
fn script_pipelines(
    text: &str,
    shown: &str,
    job: &str,
    count: &mut BTreeMap<String, usize>,
    out: &mut Discovery,
) {
    let plugin_blocks: Vec<(usize, usize)> = text
        .match_indices("withVault(")
        .map(|(pos, _)| (pos, pos + block_after(text, pos).len()))
        .collect();
    let mut stages: BTreeMap<usize, (String, Vec<ScriptScan>)> = BTreeMap::new();
    for (off, script) in sh_scripts(text) {
        if plugin_blocks.iter().any(|&(a, b)| (a..b).contains(&off)) {
            continue;
        }
        let scan = shell::scan(&script, &BTreeSet::new(), &BTreeSet::new());
        if !scan.uses_vault() {
            continue;
        }
        let stage = stage_before(text, off).unwrap_or_else(|| "pipeline".into());
        let first = stage_start(text, off);
        stages
            .entry(first)
            .or_insert_with(|| (stage, Vec::new()))
            .1
            .push(scan);
    }
    for (start, (stage, scans)) in stages {
        let line = line_at(text, start);
        let (name, ci) = stage_pipeline(
            &StageAt {
                shown,
                job,
                stage: &stage,
                line,
            },
            count,
        );
        let login = scans.iter().find_map(|s| s.logins.first());
        let Some(mut d) = super::jobscan::draft(name, login, ci) else {
            out.notes.push(format!(
                "{shown}:{line}: stage {stage} logs in with method `{}`, which the inventory cannot describe: skipped",
                login.map(|l| l.method.as_str()).unwrap_or_default()
            ));
            continue;
        };
        for access in scans.iter().flat_map(|s| &s.accesses) {
            d.need(&access.path);
        }
        out.pipelines.push(d.finish());
    }
}

/// A stage of a Jenkinsfile that yields a pipeline.
struct StageAt<'a> {
    shown: &'a str,
    job: &'a str,
    stage: &'a str,
    line: usize,
}

/// A stage pipeline's name (`jenkins/<job>/<stage>`, then `#2`, `#3` … for a stage name seen again,
/// counted across the file in `count`) and its CI evidence.
fn stage_pipeline(at: &StageAt<'_>, count: &mut BTreeMap<String, usize>) -> (String, CiEvidence) {
    let count = count.entry(at.stage.to_string()).or_insert(0);
    *count += 1;
    let mut name = format!("jenkins/{}/{}", at.job, at.stage);
    if *count > 1 {
        name.push_str(&format!("#{count}"));
    }
    let ci = CiEvidence {
        provider: "jenkins".into(),
        file: at.shown.to_string(),
        job: format!("{}: stage {}", at.job, at.stage),
        line: Some(at.line),
        ..CiEvidence::default()
    };
    (name, ci)
}

/// Where the stage holding `pos` starts (its `stage(` call), or `pos` outside any stage.
fn stage_start(text: &str, pos: usize) -> usize {
    text[..pos].rfind("stage(").unwrap_or(pos)
}

/// The `{ … }` block following a call at `pos` (the closure `withVault(…) { … }` runs).
fn block_after(text: &str, pos: usize) -> &str {
    let Some(open) = text[pos..].find('{').map(|i| pos + i) else {
        return "";
    };
    let mut depth = 0usize;
    for (i, c) in text[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return &text[pos..open + i];
                }
            }
            _ => {}
        }
    }
    &text[pos..]
}

/// `sh '…'`, `sh "…"`, `sh '''…'''`, `sh(script: '…')` inside a block, with byte offsets.
fn sh_scripts(body: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let vars = BTreeMap::new();
    for (pos, _) in body.match_indices("sh ").chain(body.match_indices("sh(")) {
        if pos > 0 && body.as_bytes()[pos - 1].is_ascii_alphanumeric() {
            continue;
        }
        let rest = body[pos + 3..].trim_start();
        let rest = rest
            .strip_prefix("script:")
            .map(str::trim_start)
            .unwrap_or(rest);
        if let Some(G::Str(s) | G::Dyn(s)) = parse_literal(rest, &vars) {
            let lead = body[pos..].find(['\'', '"']).unwrap_or(0);
            // Triple-quoted scripts start on the next line.
            let skip = usize::from(rest.starts_with("'''") || rest.starts_with("\"\"\""));
            let (s, nl) = match s.strip_prefix('\n') {
                Some(x) if skip == 1 => (x.to_string(), 1),
                _ => (s, 0),
            };
            out.push((pos + lead + skip * 3 + nl, s));
        }
    }
    out.sort_by_key(|x| x.0);
    out
}

fn archive_patterns(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let vars = BTreeMap::new();
    for (pos, _) in text.match_indices("archiveArtifacts") {
        let rest = text[pos + "archiveArtifacts".len()..].trim_start();
        let rest = rest.strip_prefix('(').unwrap_or(rest).trim_start();
        let rest = rest
            .strip_prefix("artifacts:")
            .map(str::trim_start)
            .unwrap_or(rest);
        if let Some(G::Str(s)) = parse_literal(rest, &vars) {
            out.extend(s.split(',').map(|x| x.trim().to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groovy_literals() {
        let vars = assignments("def cfg = [vaultUrl: 'https://v', engineVersion: 2]\ndef list = [[path: \"a/${env.X}\"]]\n");
        assert_eq!(vars["cfg"].get("engineVersion"), Some(&G::Num(2)));
        assert!(
            matches!(vars["list"], G::List(ref l) if matches!(l[0].get("path"), Some(G::Dyn(_))))
        );
        let parsed = parse_literal("[configuration: cfg, vaultSecrets: []]", &vars).unwrap();
        assert_eq!(parsed.get("configuration"), Some(&vars["cfg"]));
    }
}
