//! Evaluating a compiled [`Acl`]: which rule applies to a request (`AllowOperation` and
//! `CheckAllowedFromNonExactPaths` in `acl.go`), and what it allows.

use std::collections::BTreeMap;

use super::caps::Caps;
use super::{Acl, Flavor, MergedRule};
use crate::duration::GoDuration;
use crate::hcl1::decode::Value;

/// A request operation (`logical.Operation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Read,
    Update,
    Patch,
    Delete,
    List,
    Scan,
    Help,
    Revoke,
    Renew,
    Rollback,
}

impl Operation {
    pub fn parse(s: &str) -> Option<Operation> {
        Some(match s {
            "create" => Operation::Create,
            "read" => Operation::Read,
            "update" => Operation::Update,
            "patch" => Operation::Patch,
            "delete" => Operation::Delete,
            "list" => Operation::List,
            "scan" => Operation::Scan,
            "help" => Operation::Help,
            "revoke" => Operation::Revoke,
            "renew" => Operation::Renew,
            "rollback" => Operation::Rollback,
            _ => return None,
        })
    }

    /// The capability an operation needs.
    pub fn capability(self) -> Caps {
        match self {
            Operation::Create => Caps::CREATE,
            Operation::Read => Caps::READ,
            Operation::Update | Operation::Revoke | Operation::Renew | Operation::Rollback => {
                Caps::UPDATE
            }
            Operation::Patch => Caps::PATCH,
            Operation::Delete => Caps::DELETE,
            Operation::List => Caps::LIST,
            Operation::Scan => Caps::SCAN,
            Operation::Help => Caps::NONE,
        }
    }

    fn is_listing(self) -> bool {
        matches!(self, Operation::List | Operation::Scan)
    }
}

/// The answer for a path: the capabilities and the rule that gave them.
#[derive(Debug, Clone, Copy)]
pub struct Decision<'a> {
    /// The token is root in this namespace: `["root"]`.
    pub is_root: bool,
    /// The winning rule's capabilities (`deny` alone when a deny rule won).
    pub caps: Caps,
    /// The winning rule, `None` when nothing matched.
    pub rule: Option<&'a MergedRule>,
}

impl Decision<'_> {
    /// What `sys/capabilities` answers: `["root"]`, `["deny"]` or the sorted capability names.
    pub fn names(&self) -> Vec<&'static str> {
        if self.is_root {
            vec!["root"]
        } else {
            self.caps.names()
        }
    }
}

/// A request to check with [`Acl::allow_operation`].
#[derive(Debug, Clone, Default)]
pub struct OpRequest {
    pub data: BTreeMap<String, Value>,
    /// The response-wrapping TTL requested, if the request is wrapped.
    pub wrap_ttl: Option<GoDuration>,
}

/// The result of checking one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpResult {
    pub allowed: bool,
    /// The winning rule has `sudo` (or the token is root), whether or not the op is allowed.
    pub root_privs: bool,
    pub is_root: bool,
    /// Policies recorded as granting the operation's capability.
    pub granting_policies: Vec<String>,
}

/// Whether a segment-wildcard rule may match the path looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Segments {
    MayMatch,
    /// The caller knows none can: the segment rules are not walked.
    CannotMatch,
}

/// Split a path on `/` without allocating for ordinary depths.
fn with_parts<R>(path: &str, f: impl FnOnce(&[&str]) -> R) -> R {
    let mut buf: [&str; 16] = [""; 16];
    let mut part_count = 0;
    for part in path.split('/') {
        if part_count == buf.len() {
            let parts: Vec<&str> = path.split('/').collect();
            return f(&parts);
        }
        buf[part_count] = part;
        part_count += 1;
    }
    f(&buf[..part_count])
}

impl Acl {
    /// `CheckAllowedFromNonExactPaths` (not bare-mount): the best prefix or segment-wildcard rule.
    /// `segments` is `CannotMatch` when the caller knows no segment-wildcard rule can match
    /// `path`.
    fn non_exact(&self, path: &str, segments: Segments) -> Option<u32> {
        let prefix = self.prefix.longest_prefix(path.as_bytes());
        if self.seg.is_empty() || segments == Segments::CannotMatch {
            return prefix.map(|(_, id)| *id);
        }
        let seg = with_parts(path, |parts| self.seg.best(parts));
        match (prefix, seg) {
            (None, None) => None,
            (Some((_, id)), None) => Some(*id),
            (None, Some((_, id))) => Some(id),
            (Some((plen, pid)), Some((sp, sid))) => {
                // The prefix candidate's key: (len, prefix rule, 0 wildcards, len, prefix).
                let prefix_key = (plen, false, 0i64, plen, &path[..plen]);
                let segment_key = (
                    sp.first_wc_or_glob,
                    sp.non_prefix,
                    sp.neg_wildcards,
                    sp.len,
                    &*sp.wc_path,
                );
                if prefix_key > segment_key {
                    Some(*pid)
                } else {
                    Some(sid)
                }
            }
        }
    }

    /// The rule that decides `op` on `full` (already namespace-prefixed, leading `/` stripped).
    fn lookup(&self, full: &str, op: Operation) -> Option<u32> {
        self.lookup_with(full, op, Segments::MayMatch)
    }

    fn lookup_with(&self, full: &str, op: Operation, segments: Segments) -> Option<u32> {
        if let Some(id) = self.exact.get(full) {
            return Some(*id);
        }
        let listing = op.is_listing();
        let trimmed = full.strip_suffix('/');
        if let (true, Some(t)) = (listing, trimmed) {
            if let Some(id) = self.exact.get(t) {
                return Some(*id);
            }
        }
        match self.flavor {
            Flavor::OpenBao => {
                if let Some(id) = self.non_exact(full, segments) {
                    return Some(id);
                }
                if let (true, Some(t)) = (listing, trimmed) {
                    return self.non_exact(t, segments);
                }
                None
            }
            Flavor::Vault => {
                // Vault (and OpenBao ≤ 2.5) try the trimmed path first, for LIST only.
                if let (Operation::List, Some(t)) = (op, trimmed) {
                    if let Some(id) = self.non_exact(t, segments) {
                        return Some(id);
                    }
                }
                self.non_exact(full, segments)
            }
        }
    }

    /// `ns.Path + req.Path` with every leading `/` stripped; borrows in the common case.
    fn full_path<'p>(request_namespace: &str, path: &'p str) -> std::borrow::Cow<'p, str> {
        if request_namespace.is_empty() {
            return std::borrow::Cow::Borrowed(path.trim_start_matches('/'));
        }
        let full = format!("{request_namespace}{path}");
        std::borrow::Cow::Owned(full.trim_start_matches('/').to_string())
    }

    /// The root policy applies when the request's namespace is the token's or a descendant.
    fn root_applies(&self, request_namespace: &str) -> Option<bool> {
        self.root
            .as_ref()
            .map(|root_ns| request_namespace.starts_with(root_ns.as_str()))
    }

    /// What `sys/capabilities` answers for this token on `path` in `request_namespace` (a
    /// namespace path such as `""` or `"team-a/"`): the LIST lookup with its trailing-slash
    /// fallbacks, parameters ignored.
    pub fn capabilities(&self, request_namespace: &str, path: &str) -> Decision<'_> {
        if let Some(applies) = self.root_applies(request_namespace) {
            return Decision {
                is_root: applies,
                caps: Caps::NONE,
                rule: None,
            };
        }
        let full = Self::full_path(request_namespace, path);
        self.decide(&full, Operation::List)
    }

    /// [`capabilities`](Self::capabilities) for a path already joined with the request namespace
    /// and stripped of leading `/` (`full` is `(request_namespace + path).trim_start_matches('/')`),
    /// without building that string again; also gives the winning rule's id (see
    /// [`rule`](Self::rule)).
    pub fn capabilities_full(
        &self,
        request_namespace: &str,
        full: &str,
    ) -> (Decision<'_>, Option<u32>) {
        if let Some(applies) = self.root_applies(request_namespace) {
            let decision = Decision {
                is_root: applies,
                caps: Caps::NONE,
                rule: None,
            };
            return (decision, None);
        }
        let id = self.lookup(full, Operation::List);
        (self.decision_of(id), id)
    }

    /// [`capabilities_full`](Self::capabilities_full) for a path that no segment-wildcard
    /// (`+`) rule of this ACL can match, which the caller knows from an index of the paths each
    /// such rule may match: the same answer, without walking the segment rules.
    pub fn capabilities_full_outside_segments(
        &self,
        request_namespace: &str,
        full: &str,
    ) -> (Decision<'_>, Option<u32>) {
        if self.root_applies(request_namespace).is_some() || full.ends_with('/') {
            // A listing path is also looked up without its trailing slash, which the caller's
            // index did not check.
            return self.capabilities_full(request_namespace, full);
        }
        let id = self.lookup_with(full, Operation::List, Segments::CannotMatch);
        (self.decision_of(id), id)
    }

    /// The decision for a specific operation (no parameter checks): unlike
    /// [`capabilities`](Self::capabilities), a non-listing operation gets no trailing-slash
    /// fallback.
    pub fn decide_op(&self, request_namespace: &str, path: &str, op: Operation) -> Decision<'_> {
        if let Some(applies) = self.root_applies(request_namespace) {
            return Decision {
                is_root: applies,
                caps: Caps::NONE,
                rule: None,
            };
        }
        let full = Self::full_path(request_namespace, path);
        self.decide(&full, op)
    }

    fn decide(&self, full: &str, op: Operation) -> Decision<'_> {
        self.decision_of(self.lookup(full, op))
    }

    /// The decision of the rule `lookup` found (none: no capabilities).
    fn decision_of(&self, rule_id: Option<u32>) -> Decision<'_> {
        match rule_id {
            Some(id) => {
                let rule = &self.rules[id as usize];
                Decision {
                    is_root: false,
                    caps: rule.perms.caps,
                    rule: Some(rule),
                }
            }
            None => Decision {
                is_root: false,
                caps: Caps::NONE,
                rule: None,
            },
        }
    }

    /// Check one request as `AllowOperation` does, with wrapping TTLs, parameters and pagination.
    pub fn allow_operation(
        &self,
        request_namespace: &str,
        path: &str,
        op: Operation,
        req: &OpRequest,
    ) -> OpResult {
        let mut ret = OpResult::default();
        if let Some(applies) = self.root_applies(request_namespace) {
            if applies {
                ret.allowed = true;
                ret.root_privs = true;
                ret.is_root = true;
                ret.granting_policies = vec!["root".to_string()];
            }
            return ret;
        }
        if op == Operation::Help {
            ret.allowed = true;
            return ret;
        }
        let full = Self::full_path(request_namespace, path);
        let Some(id) = self.lookup(&full, op) else {
            return ret;
        };
        let rule = &self.rules[id as usize];
        let perms = &rule.perms;
        let caps = perms.caps;
        ret.root_privs = caps.intersects(Caps::SUDO);
        let needed = op.capability();
        if !caps.intersects(needed) {
            return ret;
        }
        ret.granting_policies = rule
            .granting
            .iter()
            .find(|(c, _)| *c == needed)
            .map(|(_, v)| v.clone())
            .unwrap_or_default();

        let zero = GoDuration::ZERO;
        if perms.max_wrapping_ttl > zero && req.wrap_ttl.is_none_or(|t| t > perms.max_wrapping_ttl)
        {
            return ret;
        }
        if perms.min_wrapping_ttl > zero && req.wrap_ttl.is_none_or(|t| t < perms.min_wrapping_ttl)
        {
            return ret;
        }
        if perms.min_wrapping_ttl != zero
            && perms.max_wrapping_ttl != zero
            && perms.max_wrapping_ttl < perms.min_wrapping_ttl
        {
            return ret;
        }
        let conditions_met = match op {
            Operation::Read | Operation::Update | Operation::Create | Operation::Patch => {
                parameters_allowed(perms, &req.data)
            }
            Operation::List | Operation::Scan => pagination_allowed(perms, &req.data),
            _ => true,
        };
        if !conditions_met {
            return ret;
        }
        ret.allowed = true;
        ret
    }
}

fn parameters_allowed(p: &super::Permissions, data: &BTreeMap<String, Value>) -> bool {
    for r in &p.required_parameters {
        if !data.contains_key(&r.to_lowercase()) {
            return false;
        }
    }
    if data.is_empty() {
        return true;
    }
    if let Some(denied) = p.denied_parameters.as_ref().filter(|d| !d.is_empty()) {
        if denied.contains_key("*") {
            return false;
        }
        for (k, v) in data {
            if let Some(list) = denied.get(&k.to_lowercase()) {
                if value_in_parameter_list(v, list) {
                    return false;
                }
            }
        }
    }
    let Some(allowed) = p.allowed_parameters.as_ref().filter(|a| !a.is_empty()) else {
        return true;
    };
    let allowed_all = allowed.contains_key("*");
    if allowed.len() == 1 && allowed_all {
        return true;
    }
    for (k, v) in data {
        match allowed.get(&k.to_lowercase()) {
            None if !allowed_all => return false,
            Some(list) if !value_in_parameter_list(v, list) => return false,
            _ => {}
        }
    }
    true
}

fn pagination_allowed(p: &super::Permissions, data: &BTreeMap<String, Value>) -> bool {
    if p.pagination_limit <= 0 {
        return true;
    }
    match data.get("limit") {
        None => !p
            .required_parameters
            .iter()
            .any(|r| r.eq_ignore_ascii_case("limit")),
        Some(v) => match safe_parse_int(v) {
            Some(n) => n <= p.pagination_limit && n >= 0,
            None => matches!(v, Value::String(s) if s == "max"),
        },
    }
}

/// `parseutil.SafeParseInt`: integers, integral floats and decimal strings.
fn safe_parse_int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::Float(f) if f.fract() == 0.0 => Some(*f as i64),
        Value::String(s) => s.parse::<i64>().ok(),
        _ => None,
    }
}

fn value_in_parameter_list(v: &Value, list: &[Value]) -> bool {
    list.is_empty() || list.iter().any(|el| value_matches(el, v))
}

fn value_matches(el: &Value, v: &Value) -> bool {
    match (el, v) {
        (Value::Nil, _) | (_, Value::Nil) => matches!((el, v), (Value::Nil, Value::Nil)),
        (Value::String(item), Value::String(val)) => globbed_strings_match(item, val),
        _ => deep_equal(el, v),
    }
}

/// Go's `reflect.DeepEqual` on decoded values: maps compare as unordered sets of entries.
fn deep_equal(a: &Value, b: &Value) -> bool {
    fn map_eq(x: &[(String, Value)], y: &[(String, Value)]) -> bool {
        x.len() == y.len()
            && x.iter()
                .all(|(k, v)| y.iter().any(|(k2, v2)| k == k2 && deep_equal(v, v2)))
    }
    match (a, b) {
        (Value::Map(x), Value::Map(y)) => map_eq(x, y),
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| deep_equal(p, q))
        }
        (Value::MapList(x), Value::MapList(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| map_eq(p, q))
        }
        _ => a == b,
    }
}

/// `strutil.GlobbedStringsMatch`: a leading and/or trailing `*` only.
pub fn globbed_strings_match(item: &str, val: &str) -> bool {
    if item.len() < 2 {
        return val == item;
    }
    let pre = item.starts_with('*');
    let suf = item.ends_with('*');
    match (pre, suf) {
        (true, true) => val.contains(&item[1..item.len() - 1]),
        (true, false) => val.ends_with(&item[1..]),
        (false, true) => val.starts_with(&item[..item.len() - 1]),
        (false, false) => val == item,
    }
}

/// A request value from JSON, with the Go types a decoded HTTP body would have (integral
/// numbers as `int`, others as `float64`).
pub fn value_from_json(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Array(a) => Value::List(a.iter().map(value_from_json).collect()),
        serde_json::Value::Object(m) => Value::Map(
            m.iter()
                .map(|(k, v)| (k.clone(), value_from_json(v)))
                .collect(),
        ),
    }
}
