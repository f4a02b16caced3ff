//! Streaming pass over audit logs: link every token to the login (or parent token) that minted
//! it, and aggregate the requests each role's tokens made.
//!
//! Memory is bounded by what is distinct, never by the size of the logs: one small map entry
//! per token minted in the logs (an accessor digest and a role id), one per distinct
//! (role, namespace, path, operation) used, and the first [`MAX_MALFORMED`] malformed lines.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::BufReader;
use std::path::Path;

use rustc_hash::{FxHashMap, FxHasher};
use serde::Serialize;

use super::parse::{self, Auth, Entry, LineReader, ReadLine};

/// How many malformed lines are kept with their position (all are counted).
pub const MAX_MALFORMED: usize = 100;

/// A role of an auth mount: the subject usage is aggregated for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema)]
pub struct RoleKey {
    /// Namespace path of the auth mount (`""` for root, `"team-a/"`).
    pub namespace: String,
    /// Auth mount path without `auth/` and the trailing `/` (`"gha"`, `"approle"`).
    pub mount: String,
    /// The role (AppRole `role_name`, JWT/Kubernetes `role`, cert `cert_name`, userpass and LDAP
    /// `username`, a token role); empty when the login's metadata did not name one.
    pub role: String,
}

impl RoleKey {
    /// `<ns>auth/<mount>/role/<role>`.
    pub fn display(&self) -> String {
        format!("{}auth/{}/role/{}", self.namespace, self.mount, self.role)
    }
}

/// A (namespace, path, operation) a token used.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UseKey {
    /// Namespace path of the request (`""` for root).
    pub namespace: String,
    /// The request path, relative to the namespace, as logged.
    pub path: String,
    pub operation: String,
}

/// What is known of the requests for one [`UseKey`].
#[derive(Debug, Clone, Default)]
pub struct UseAgg {
    pub count: u64,
    pub first: String,
    pub last: String,
    /// Policies `policy_results.granting_policies` named (`name` or `namespace_id:name`).
    pub granted_by: BTreeSet<String>,
    /// Some request was allowed with `policy_results` present but naming no policy: the path
    /// needs no policy (an unauthenticated path such as `sys/internal/ui/mounts/…`).
    pub allowed_without_policy: bool,
    /// Some request carried no `policy_results` (older Vault).
    pub no_policy_results: bool,
    /// Requests the ACL allowed that failed later (not found, bad input …).
    pub errors: u64,
}

impl UseAgg {
    fn add(&mut self, time: &str, auth: &Auth<'_>, error: bool) {
        self.count += 1;
        if self.first.is_empty() {
            self.first = time.to_string();
        }
        if self.last.as_str() != time {
            self.last = time.to_string();
        }
        if error {
            self.errors += 1;
        }
        match &auth.policy_results {
            Some(pr) => {
                if pr.allowed && pr.granting_policies.is_empty() {
                    self.allowed_without_policy = true;
                }
                for g in &pr.granting_policies {
                    if self.granted_by.len() >= 32 {
                        break;
                    }
                    if g.namespace_id.is_empty() || g.namespace_id == "root" {
                        if !self.granted_by.contains(&g.name) {
                            self.granted_by.insert(g.name.clone());
                        }
                    } else {
                        self.granted_by
                            .insert(format!("{}:{}", g.namespace_id, g.name));
                    }
                }
            }
            None => self.no_policy_results = true,
        }
    }
}

/// Everything aggregated for one role.
#[derive(Debug, Clone, Default)]
pub struct RoleAgg {
    pub key: Option<RoleKey>,
    pub logins: u64,
    /// Tokens created by this role's tokens (`auth/token/create*`), attributed to the role.
    pub child_tokens: u64,
    /// Entity ids of the logins. The collector keeps one aggregate per (role, entity), so
    /// this holds at most one id there; merged per role in the report.
    pub entities: BTreeSet<String>,
    pub display_names: BTreeSet<String>,
    /// Distinct policy sets the logins' tokens held.
    pub policy_sets: BTreeSet<Vec<String>>,
    /// Requests linked by entity, display name and role metadata instead of the accessor.
    pub linked_by_entity: u64,
    pub used: BTreeMap<UseKey, UseAgg>,
    pub denied: BTreeMap<UseKey, UseAgg>,
}

impl UseAgg {
    /// Fold another aggregate of the same key into this one.
    pub fn merge(&mut self, o: &UseAgg) {
        self.count += o.count;
        if self.first.is_empty() || (!o.first.is_empty() && o.first < self.first) {
            self.first = o.first.clone();
        }
        if o.last > self.last {
            self.last = o.last.clone();
        }
        self.granted_by.extend(o.granted_by.iter().cloned());
        self.allowed_without_policy |= o.allowed_without_policy;
        self.no_policy_results |= o.no_policy_results;
        self.errors += o.errors;
    }
}

impl RoleAgg {
    /// Fold the aggregate of another entity of the same role into this one.
    pub fn merge(&mut self, o: &RoleAgg) {
        self.logins += o.logins;
        self.child_tokens += o.child_tokens;
        self.entities.extend(o.entities.iter().cloned());
        self.display_names.extend(o.display_names.iter().cloned());
        self.policy_sets.extend(o.policy_sets.iter().cloned());
        self.linked_by_entity += o.linked_by_entity;
        for (k, u) in &o.used {
            self.used.entry(k.clone()).or_default().merge(u);
        }
        for (k, u) in &o.denied {
            self.denied.entry(k.clone()).or_default().merge(u);
        }
    }
}

/// Requests no login in the logs explains, grouped by what their token says about itself.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnattributedKey {
    pub display_name: String,
    pub role_hint: String,
    pub policies: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct UnattributedAgg {
    pub requests: u64,
    pub denied: u64,
    pub tokens: u64,
    pub entities: BTreeSet<String>,
    /// Earliest `token_issue_time` seen (tokens issued before the logs begin explain most).
    pub earliest_issue: Option<String>,
    pub used: BTreeMap<UseKey, UseAgg>,
    /// Distinct (path, operation) pairs beyond [`MAX_UNATTRIBUTED_PATHS`] are only counted.
    pub paths_dropped: u64,
}

/// Distinct paths kept per unattributed group.
pub const MAX_UNATTRIBUTED_PATHS: usize = 10_000;

/// A line that could not be read.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Malformed {
    pub file: String,
    pub line: u64,
    pub error: String,
}

/// Per-file counts.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct FileStats {
    pub path: String,
    pub lines: u64,
    pub entries: u64,
    pub malformed: u64,
}

/// Counts over all files.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct Stats {
    pub lines: u64,
    /// `type: request` entries (read; responses carry everything, so requests are only counted).
    pub request_entries: u64,
    pub response_entries: u64,
    pub malformed: u64,
    /// Successful logins (responses minting a token on an auth mount).
    pub logins: u64,
    /// Tokens minted by `auth/token/create*`.
    pub child_tokens: u64,
    /// Responses to requests without a token (failed logins, `sys/health` …).
    pub unauthenticated: u64,
    /// Responses before `--since` (their logins still link later requests).
    pub before_since: u64,
    /// Entries without a parsable `time` while `--since` is given (kept).
    pub undated: u64,
    /// Requests attributed to a role (through the accessor, a parent token or the entity).
    pub attributed: u64,
    pub unattributed: u64,
    /// Of all authenticated requests, those the ACL refused.
    pub denied: u64,
    /// `help` requests (need no capability; not counted as usage).
    pub help: u64,
}

/// How a token is linked to a role.
#[derive(Debug, Clone, Copy)]
struct TokenLink {
    role: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hint {
    Unique(u32),
    Ambiguous,
}

/// The streaming state.
#[derive(Debug, Default)]
pub struct Collector {
    since: Option<i128>,
    tokens: FxHashMap<u128, TokenLink>,
    entity_hints: FxHashMap<(String, String, String), Hint>,
    role_ids: FxHashMap<(RoleKey, String), u32>,
    pub roles: Vec<RoleAgg>,
    pub unattributed: BTreeMap<UnattributedKey, UnattributedAgg>,
    unattributed_tokens: FxHashMap<u128, ()>,
    pub stats: Stats,
    pub malformed: Vec<Malformed>,
    pub files: Vec<FileStats>,
    pub first_time: Option<String>,
    pub last_time: Option<String>,
}

/// A compact key for an accessor: the two 128-bit halves of an `hmac-sha256:<hex>` value XORed, otherwise
/// (an accessor logged in clear with `hmac_accessor = false` or `log_raw = true`) a 128-bit hash.
/// One request made with a token.
struct Use<'e> {
    key: UseKey,
    time: &'e str,
    /// The caller's accessor key.
    caller: u128,
}

/// Whether the request was allowed, and whether it failed after it was.
#[derive(Debug, Clone, Copy)]
struct Outcome {
    allowed: bool,
    failed: bool,
}

/// The role a request is counted for, and whether only the entity linked it.
struct Attribution {
    role: u32,
    by_entity: bool,
}

/// The key of a token a response minted: its accessor, else its (HMAC'd) client token.
fn minted_key(new: &Auth<'_>) -> Option<u128> {
    non_empty(&new.accessor)
        .or_else(|| non_empty(&new.client_token))
        .map(accessor_key)
}

pub fn accessor_key(s: &str) -> u128 {
    if let Some(hex) = s.strip_prefix("hmac-sha256:") {
        if hex.len() == 64 {
            if let (Ok(a), Ok(b)) = (
                u128::from_str_radix(&hex[..32], 16),
                u128::from_str_radix(&hex[32..], 16),
            ) {
                return a ^ b;
            }
        }
    }
    let mut high = FxHasher::default();
    s.hash(&mut high);
    let mut low = FxHasher::default();
    (s, 0x9e37_79b9_7f4a_7c15u64).hash(&mut low);
    ((high.finish() as u128) << 64) | low.finish() as u128
}

/// `auth/<mount…>/login` or `auth/<mount…>/login/<name>` (userpass, LDAP, cert).
fn is_login_path(path: &str) -> bool {
    let segs: Vec<&str> = path.split('/').collect();
    // `login` after the mount, as the last segment or followed by one name.
    segs.first() == Some(&"auth")
        && segs.len() >= 3
        && (segs[segs.len() - 1] == "login" || segs[segs.len() - 2] == "login")
        && segs.iter().skip(2).any(|s| *s == "login")
}

fn non_empty<'s>(s: &'s Option<std::borrow::Cow<'_, str>>) -> Option<&'s str> {
    s.as_deref().filter(|s| !s.is_empty())
}

/// An audit log that could not be read (malformed lines are counted, not errors).
#[derive(Debug, thiserror::Error)]
pub enum LogFileError {
    #[error("cannot open {}", path.display())]
    Open {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {}", path.display())]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

impl Collector {
    /// `since`: Unix nanoseconds; responses before it are not aggregated.
    pub fn new(since: Option<i128>) -> Collector {
        Collector {
            since,
            ..Default::default()
        }
    }

    /// Read one log file to the end.
    pub fn read_file(&mut self, path: &Path) -> Result<(), LogFileError> {
        let file = File::open(path).map_err(|source| LogFileError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let reader = BufReader::with_capacity(1 << 20, file);
        self.read(reader, &path.display().to_string())
            .map_err(|source| LogFileError::Read {
                path: path.to_path_buf(),
                source,
            })
    }

    /// Read a stream of log lines; `name` is used in malformed-line reports.
    pub fn read(&mut self, reader: impl std::io::BufRead, name: &str) -> std::io::Result<()> {
        let mut file_stats = FileStats {
            path: name.to_string(),
            ..Default::default()
        };
        let mut lines = LineReader::new(reader);
        let mut buf = Vec::with_capacity(1 << 16);
        loop {
            let err = match lines.next_line(&mut buf)? {
                ReadLine::Eof => break,
                ReadLine::TooLong(no, n) => {
                    file_stats.lines += 1;
                    Some((no, parse::LineError::TooLong(n)))
                }
                ReadLine::Line(no) => {
                    file_stats.lines += 1;
                    match parse::parse_line(&buf) {
                        Ok(None) => None,
                        Ok(Some(entry)) => {
                            file_stats.entries += 1;
                            self.entry(&entry);
                            None
                        }
                        Err(e) => Some((no, e)),
                    }
                }
            };
            if let Some((line, e)) = err {
                file_stats.malformed += 1;
                self.stats.malformed += 1;
                if self.malformed.len() < MAX_MALFORMED {
                    self.malformed.push(Malformed {
                        file: name.to_string(),
                        line,
                        error: e.to_string(),
                    });
                }
            }
        }
        self.stats.lines += file_stats.lines;
        self.files.push(file_stats);
        Ok(())
    }

    /// The aggregate of (role, entity id of the login; empty when none).
    fn role_id(&mut self, key: RoleKey, entity: &str) -> u32 {
        let role_entity = (key, entity.to_string());
        if let Some(&id) = self.role_ids.get(&role_entity) {
            return id;
        }
        let id = self.roles.len() as u32;
        let mut agg = RoleAgg {
            key: Some(role_entity.0.clone()),
            ..Default::default()
        };
        if !entity.is_empty() {
            agg.entities.insert(entity.to_string());
        }
        self.roles.push(agg);
        self.role_ids.insert(role_entity, id);
        id
    }

    /// Process one entry.
    pub fn entry(&mut self, e: &Entry<'_>) {
        if e.is_request() {
            self.stats.request_entries += 1;
            return;
        }
        if !e.is_response() {
            return;
        }
        self.stats.response_entries += 1;
        let Some(req) = &e.request else { return };
        let ns = crate::model::namespace_path(
            req.namespace
                .as_ref()
                .and_then(|n| n.path.as_deref())
                .unwrap_or(""),
        )
        .into_owned();
        let path = req.path.as_deref().unwrap_or("");
        let minted = e
            .response
            .as_ref()
            .and_then(|r| r.auth.as_ref())
            .filter(|a| non_empty(&a.accessor).is_some() || non_empty(&a.client_token).is_some());
        let top = e.auth.as_ref();
        // The caller's token: request.client_token_accessor; for a response without a minted
        // token the top-level auth is the caller's too.
        let caller = non_empty(&req.client_token_accessor).or_else(|| {
            if minted.is_none() {
                top.and_then(|a| non_empty(&a.accessor))
            } else {
                None
            }
        });
        let is_token_store =
            req.mount_type.as_deref() == Some("token") || path.starts_with("auth/token/");
        if let Some(new) = minted {
            if is_token_store {
                // A child token; the create request itself is usage of the parent (below).
                self.child_token(&ns, path, caller, new);
            } else if path.starts_with("auth/") {
                // A login is not usage of the role's policies.
                self.login(req, &ns, path, new);
                return;
            }
        }
        if minted.is_none() && !is_token_store && is_login_path(path) {
            // A failed login: unauthenticated, whatever token the client happened to send.
            self.stats.unauthenticated += 1;
            return;
        }
        let Some(caller) = caller else {
            self.stats.unauthenticated += 1;
            return;
        };
        let operation = req.operation.as_deref().unwrap_or("");
        if operation == "help" {
            self.stats.help += 1;
            return;
        }
        let time = e.time.as_deref().unwrap_or("");
        if !self.in_window(time) {
            return;
        }
        let request = Use {
            key: UseKey {
                namespace: ns,
                path: path.to_string(),
                operation: operation.to_string(),
            },
            time,
            caller: accessor_key(caller),
        };
        self.usage(e, top, request);
    }

    /// A token minted by the token store: it acts for the role of its parent.
    fn child_token(&mut self, ns: &str, path: &str, caller: Option<&str>, new: &Auth<'_>) {
        let new_key = minted_key(new);
        let parent = caller.and_then(|c| self.tokens.get(&accessor_key(c)).copied());
        let role = match parent {
            Some(p) => Some(p.role),
            None => path
                .strip_prefix("auth/token/create/")
                .filter(|r| !r.is_empty() && !r.contains('/'))
                .map(|r| {
                    self.role_id(
                        RoleKey {
                            namespace: ns.to_string(),
                            mount: "token".into(),
                            role: r.to_string(),
                        },
                        "",
                    )
                }),
        };
        self.stats.child_tokens += 1;
        if let (Some(role), Some(k)) = (role, new_key) {
            self.tokens.insert(k, TokenLink { role });
            self.roles[role as usize].child_tokens += 1;
        }
    }

    /// A login: the token it minted acts for the role.
    fn login(&mut self, req: &parse::Request<'_>, ns: &str, path: &str, new: &Auth<'_>) {
        let mount = req
            .mount_point
            .as_deref()
            .map(|m| {
                m.trim_start_matches("auth/")
                    .trim_end_matches('/')
                    .to_string()
            })
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| {
                path.trim_start_matches("auth/")
                    .split('/')
                    .next()
                    .unwrap_or("")
                    .to_string()
            });
        let role_name = new.role_hint().unwrap_or_default();
        let key = RoleKey {
            namespace: ns.to_string(),
            mount,
            role: role_name.clone(),
        };
        let entity = non_empty(&new.entity_id).unwrap_or("").to_string();
        let id = self.role_id(key, &entity);
        self.stats.logins += 1;
        let agg = &mut self.roles[id as usize];
        agg.logins += 1;
        let display = non_empty(&new.display_name).unwrap_or("").to_string();
        if agg.display_names.len() < 100 {
            agg.display_names.insert(display.clone());
        }
        if agg.policy_sets.len() < 100 {
            agg.policy_sets.insert(new.all_policies());
        }
        if let Some(k) = minted_key(new) {
            self.tokens.insert(k, TokenLink { role: id });
        }
        if !entity.is_empty() {
            let hint = self
                .entity_hints
                .entry((entity, display, role_name))
                .or_insert(Hint::Unique(id));
            if *hint != Hint::Unique(id) {
                *hint = Hint::Ambiguous;
            }
        }
    }

    /// Whether a request at `time` counts (`--since`); widens the window seen.
    fn in_window(&mut self, time: &str) -> bool {
        if let Some(since) = self.since {
            match parse::parse_time(time) {
                Some(t) if t < since => {
                    self.stats.before_since += 1;
                    return false;
                }
                Some(_) => {}
                None => self.stats.undated += 1,
            }
        }
        if !time.is_empty() {
            if self.first_time.is_none() {
                self.first_time = Some(time.to_string());
            }
            if self.last_time.as_deref() != Some(time) {
                self.last_time = Some(time.to_string());
            }
        }
        true
    }

    /// A request made with a token: usage of the role the token acts for, or unattributed.
    fn usage(&mut self, e: &Entry<'_>, top: Option<&Auth<'_>>, request: Use<'_>) {
        let empty = Auth::default();
        let auth = top.unwrap_or(&empty);
        let allowed = match &auth.policy_results {
            Some(pr) => pr.allowed,
            None => !e
                .error
                .as_deref()
                .is_some_and(|m| m.contains("permission denied")),
        };
        let outcome = Outcome {
            allowed,
            failed: allowed && non_empty(&e.error).is_some(),
        };
        if !allowed {
            self.stats.denied += 1;
        }
        let Some(attribution) = self.attribute(request.caller, auth) else {
            self.unattributed_use(auth, request, outcome);
            return;
        };
        self.stats.attributed += 1;
        let agg = &mut self.roles[attribution.role as usize];
        if attribution.by_entity {
            agg.linked_by_entity += 1;
        }
        let map = if allowed {
            &mut agg.used
        } else {
            &mut agg.denied
        };
        map.entry(request.key)
            .or_default()
            .add(request.time, auth, outcome.failed);
    }

    /// The role a token acts for: linked from its login or parent, else by its entity when one
    /// role alone logged that entity in with that display name.
    fn attribute(&self, caller: u128, auth: &Auth<'_>) -> Option<Attribution> {
        if let Some(token) = self.tokens.get(&caller) {
            return Some(Attribution {
                role: token.role,
                by_entity: false,
            });
        }
        let entity = non_empty(&auth.entity_id)?;
        let hint_key = (
            entity.to_string(),
            non_empty(&auth.display_name).unwrap_or("").to_string(),
            auth.role_hint().unwrap_or_default(),
        );
        match self.entity_hints.get(&hint_key) {
            Some(Hint::Unique(role)) => Some(Attribution {
                role: *role,
                by_entity: true,
            }),
            _ => None,
        }
    }

    fn unattributed_use(&mut self, auth: &Auth<'_>, request: Use<'_>, outcome: Outcome) {
        self.stats.unattributed += 1;
        let key = UnattributedKey {
            display_name: non_empty(&auth.display_name).unwrap_or("").to_string(),
            role_hint: auth.role_hint().unwrap_or_default(),
            policies: auth.all_policies(),
        };
        let new_token = self
            .unattributed_tokens
            .insert(request.caller, ())
            .is_none();
        let group = self.unattributed.entry(key).or_default();
        group.requests += 1;
        if new_token {
            group.tokens += 1;
        }
        if !outcome.allowed {
            group.denied += 1;
        }
        if let Some(entity) = non_empty(&auth.entity_id) {
            if group.entities.len() < 100 {
                group.entities.insert(entity.to_string());
            }
        }
        if let Some(issued) = non_empty(&auth.token_issue_time) {
            let earlier = match &group.earliest_issue {
                Some(current) => match (parse::parse_time(issued), parse::parse_time(current)) {
                    (Some(a), Some(b)) => a < b,
                    _ => false,
                },
                None => true,
            };
            if earlier {
                group.earliest_issue = Some(issued.to_string());
            }
        }
        if outcome.allowed {
            if group.used.len() < MAX_UNATTRIBUTED_PATHS || group.used.contains_key(&request.key) {
                group
                    .used
                    .entry(request.key)
                    .or_default()
                    .add(request.time, auth, outcome.failed);
            } else {
                group.paths_dropped += 1;
            }
        }
    }

    /// The aggregate of each (role, login entity), with its role key.
    pub fn role_entity_aggs(&self) -> impl Iterator<Item = (&RoleKey, &RoleAgg)> {
        self.roles
            .iter()
            .filter_map(|r| r.key.as_ref().map(|k| (k, r)))
    }

    /// The aggregate of each role (all its login entities merged), sorted by key.
    pub fn role_aggs(&self) -> BTreeMap<RoleKey, RoleAgg> {
        let mut out: BTreeMap<RoleKey, RoleAgg> = BTreeMap::new();
        for (k, a) in self.role_entity_aggs() {
            match out.get_mut(k) {
                Some(m) => m.merge(a),
                None => {
                    out.insert(k.clone(), a.clone());
                }
            }
        }
        out
    }
}
