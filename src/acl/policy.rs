//! Parsing ACL policies exactly as OpenBao's `internal/vault/policy/policy.go` does.
//!
//! A policy is HCL1 (or JSON, when the trimmed text starts with `{`). Parsing decodes every rule
//! field, refuses what the server refuses (unknown keys, bad capabilities, `+*`, bad durations …)
//! and keeps each rule's source line so that every answer can be explained. Identity templates are
//! only checked for balance here, as the server does at write time; they are resolved per entity
//! when an [`Acl`](super::Acl) is built.

use std::collections::BTreeMap;
use std::fmt;

use super::caps::Caps;
use super::template;
use super::Flavor;
use crate::duration::{DurationError, GoDuration, SecondsValue};
use crate::hcl1::{self, DNode, DecodeError, GoMap, Node, ObjectItem, StructDecoder, Value};

/// Why a policy was refused, with the policy's name and, where known, the rule and its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub policy: String,
    pub path: Option<String>,
    pub line: Option<u32>,
    /// The server's wording where we know it.
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "policy \"{}\"", self.policy)?;
        if let Some(p) = &self.path {
            write!(f, ", path \"{p}\"")?;
        }
        if let Some(l) = self.line {
            write!(f, " (line {l})")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for PolicyError {}

/// Where a policy comes from: its name, text, namespace and OpenBao's write-time flags.
#[derive(Debug, Clone, Default)]
pub struct PolicySource {
    pub name: String,
    pub text: String,
    /// Namespace path, `""` for the root namespace, else like `"team-a/"`.
    pub namespace_path: String,
    /// Namespace id (`"root"` for the root namespace); identity templates look groups up by it.
    pub namespace_id: String,
    pub allow_wildcards_in_identity_templates: bool,
    pub allow_slashes_in_identity_templates: bool,
}

impl PolicySource {
    /// A policy of the root namespace.
    pub fn root_ns(name: &str, text: &str) -> Self {
        PolicySource {
            name: name.to_string(),
            text: text.to_string(),
            namespace_path: String::new(),
            namespace_id: "root".to_string(),
            ..Default::default()
        }
    }
}

impl PolicySource {
    /// The source of a policy stored in a snapshot namespace.
    pub fn from_snapshot(ns: &crate::model::Namespace, p: &crate::model::Policy) -> PolicySource {
        PolicySource {
            name: p.name.clone(),
            text: p.policy.clone(),
            namespace_path: crate::model::namespace_path(&ns.path).into_owned(),
            namespace_id: if ns.id.is_empty() {
                "root".to_string()
            } else {
                ns.id.clone()
            },
            allow_wildcards_in_identity_templates: p.allows_wildcards_in_templates(),
            allow_slashes_in_identity_templates: p
                .allow_slashes_in_identity_templates
                .unwrap_or(false),
        }
    }
}

/// Settings that change how a policy parses.
#[derive(Debug, Clone, Copy)]
pub struct ParseOptions {
    pub flavor: Flavor,
    /// Rules whose `expiration` is before this instant (unix nanoseconds) are dropped, as the
    /// server drops them.
    pub now_unix_nanos: i128,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            flavor: Flavor::OpenBao,
            now_unix_nanos: time::OffsetDateTime::now_utc().unix_timestamp_nanos(),
        }
    }
}

/// A parsed policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Lowercased and trimmed, as the policy store keeps names.
    pub name: String,
    pub namespace_path: String,
    pub namespace_id: String,
    pub rules: Vec<PathRule>,
    /// The `name` written inside the policy text, if any (the server ignores it in favour of the
    /// API name, but upstream tests name policies by it).
    pub text_name: Option<String>,
    /// Some rule's path holds an identity template.
    pub templated: bool,
    pub allow_wildcards_in_identity_templates: bool,
    pub allow_slashes_in_identity_templates: bool,
}

/// How a normalized rule path matches (`acl.go`: exactRules, prefixRules, segmentWildcardPaths).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuleKind {
    Exact,
    Prefix,
    Segment,
}

/// One `path "…" { … }` block.
#[derive(Debug, Clone)]
pub struct PathRule {
    /// The pattern exactly as written in the policy.
    pub key: String,
    /// 1-based line of the block in the policy text (0 when unknown).
    pub line: u32,
    /// The key holds an identity template, resolved per entity when the ACL is built.
    pub templated: bool,
    /// Unix nanoseconds after which the rule no longer applies.
    pub expiration: Option<i128>,
    pub perms: Permissions,
}

/// What a rule grants, and the conditions on it (`ACLPermissions`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Permissions {
    pub caps: Caps,
    pub min_wrapping_ttl: GoDuration,
    pub max_wrapping_ttl: GoDuration,
    /// `None` when the rule has no `allowed_parameters` at all; keys are lowercased.
    pub allowed_parameters: Option<BTreeMap<String, Vec<Value>>>,
    pub denied_parameters: Option<BTreeMap<String, Vec<Value>>>,
    pub required_parameters: Vec<String>,
    pub mfa_methods: Vec<String>,
    pub pagination_limit: i64,
    pub response_keys_filter_path: String,
    /// Control-group factors (approval required); they do not change capabilities.
    pub control_group: Option<ControlGroup>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ControlGroup {
    pub ttl: GoDuration,
    pub factors: Vec<String>,
}

/// A rule path after the server's normalization (`policy.go:524-548`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    /// Full path including the namespace prefix; for prefix rules without the trailing `*`.
    pub path: String,
    pub kind: RuleKind,
}

/// Normalize a rule key: strip one leading `/`, prepend the namespace, refuse `+*`, and classify
/// it as exact, prefix (trailing `*`) or segment-wildcard (`+` segments).
pub fn normalize(key: &str, namespace_path: &str) -> Result<Normalized, String> {
    let stripped = key.strip_prefix('/').unwrap_or(key);
    let full = format!("{namespace_path}{stripped}");
    if full.contains("+*") {
        return Err(format!(
            "path \"{full}\": invalid use of wildcards ('+*' is forbidden)"
        ));
    }
    let segment = full == "+" || full.contains("/+") || full.starts_with("+/");
    if segment {
        return Ok(Normalized {
            path: full,
            kind: RuleKind::Segment,
        });
    }
    if let Some(p) = full.strip_suffix('*') {
        return Ok(Normalized {
            path: p.to_string(),
            kind: RuleKind::Prefix,
        });
    }
    Ok(Normalized {
        path: full,
        kind: RuleKind::Exact,
    })
}

const RULE_KEYS: &[&str] = &[
    "comment",
    "policy",
    "capabilities",
    "allowed_parameters",
    "denied_parameters",
    "required_parameters",
    "min_wrapping_ttl",
    "max_wrapping_ttl",
    "mfa_methods",
    "pagination_limit",
    "expiration",
    "list_scan_response_keys_filter_path",
    "control_group",
];

/// Parse a policy as the server does when it is written (`ParseACLPolicy`).
pub fn parse_policy(src: &PolicySource, opts: &ParseOptions) -> Result<Policy, PolicyError> {
    let name = src.name.trim().to_lowercase();
    let err = |path: Option<&str>, line: Option<u32>, message: String| PolicyError {
        policy: name.clone(),
        path: path.map(str::to_string),
        line,
        message,
    };
    // The API refuses only the empty string; whitespace-only text is a policy with no rules.
    if src.text.is_empty() {
        return Err(err(
            None,
            None,
            "'policy' parameter not supplied or empty".to_string(),
        ));
    }
    let root = hcl1::parse(&src.text).map_err(|e| {
        err(
            None,
            Some(e.line() as u32).filter(|l| *l > 0),
            format!("failed to parse policy: {e}"),
        )
    })?;
    let fail =
        |line: Option<u32>, e: String| err(None, line, format!("failed to parse policy: {e}"));

    check_keys(DNode::List(&root), &["name", "path"]).map_err(|(l, m)| fail(l, m))?;

    // `hcl.DecodeObject(&p, list)`: of the Policy struct's fields only `name` can be present
    // (every other key was refused above).
    let mut text_name = String::new();
    let mut sd =
        StructDecoder::new("root", DNode::List(&root)).map_err(|e| fail(None, e.to_string()))?;
    let has_name = sd
        .field("name", &mut text_name)
        .map_err(|e| fail(line_of(&e), e.to_string()))?;

    let mut policy = Policy {
        name: name.clone(),
        namespace_path: src.namespace_path.clone(),
        namespace_id: if src.namespace_id.is_empty() {
            "root".to_string()
        } else {
            src.namespace_id.clone()
        },
        rules: Vec::new(),
        text_name: has_name.then_some(text_name),
        templated: false,
        allow_wildcards_in_identity_templates: src.allow_wildcards_in_identity_templates,
        allow_slashes_in_identity_templates: src.allow_slashes_in_identity_templates,
    };

    let paths = root.filter("path").map_err(|e| fail(None, e.to_string()))?;
    for item in &paths.items {
        let key = match item.keys.first() {
            Some(k) => k
                .go_value()
                .map_err(|e| fail(None, e.to_string()))?
                .to_string(),
            None => "path".to_string(),
        };
        let line = item.pos().line as u32;
        match parse_path(&key, item, src, opts) {
            Ok(Some(rule)) => {
                policy.templated |= rule.templated;
                policy.rules.push(rule);
            }
            Ok(None) => {}
            Err(m) => {
                return Err(err(
                    Some(&key),
                    Some(line).filter(|l| *l > 0),
                    format!("failed to parse policy: path \"{key}\": {m}"),
                ))
            }
        }
    }
    Ok(policy)
}

fn line_of(e: &DecodeError) -> Option<u32> {
    e.pos.map(|p| p.line as u32).filter(|l| *l > 0)
}

/// `hclutil.CheckHCLKeys`, with Vault's multierror formatting of every offending key.
fn check_keys(node: DNode<'_>, valid: &[&str]) -> Result<(), (Option<u32>, String)> {
    let bad = hcl1::check_hcl_keys(node, valid).map_err(|e| (line_of(&e), e.to_string()))?;
    if bad.is_empty() {
        return Ok(());
    }
    let line = bad.iter().map(|b| b.line as u32).find(|l| *l > 0);
    let msg = if bad.len() == 1 {
        format!("1 error occurred:\n\t* {}", bad[0])
    } else {
        let items: Vec<String> = bad.iter().map(|b| format!("\t* {b}")).collect();
        format!("{} errors occurred:\n{}", bad.len(), items.join("\n"))
    };
    Err((line, msg))
}

/// The decoded fields of a `path` block, in the Go struct's declaration order (`PathRules`).
#[derive(Default)]
struct RawRule {
    policy: String,
    capabilities: Option<Vec<String>>,
    expiration: String,
    min_wrapping_ttl: Value,
    max_wrapping_ttl: Value,
    allowed_parameters: Option<GoMap<Option<Vec<Value>>>>,
    denied_parameters: Option<GoMap<Option<Vec<Value>>>>,
    required_parameters: Option<Vec<String>>,
    mfa_methods: Option<Vec<String>>,
    pagination_limit: i64,
    list_scan_response_keys_filter_path: String,
}

fn decode_rule(node: &Node) -> Result<RawRule, DecodeError> {
    let mut r = RawRule::default();
    let mut sd = StructDecoder::new("root", DNode::Node(node))?;
    sd.field("policy", &mut r.policy)?;
    sd.field("capabilities", &mut r.capabilities)?;
    sd.field("expiration", &mut r.expiration)?;
    sd.field("min_wrapping_ttl", &mut r.min_wrapping_ttl)?;
    sd.field("max_wrapping_ttl", &mut r.max_wrapping_ttl)?;
    sd.field("allowed_parameters", &mut r.allowed_parameters)?;
    sd.field("denied_parameters", &mut r.denied_parameters)?;
    sd.field("required_parameters", &mut r.required_parameters)?;
    sd.field("mfa_methods", &mut r.mfa_methods)?;
    sd.field("pagination_limit", &mut r.pagination_limit)?;
    sd.field(
        "list_scan_response_keys_filter_path",
        &mut r.list_scan_response_keys_filter_path,
    )?;
    Ok(r)
}

fn parse_path(
    key: &str,
    item: &ObjectItem,
    src: &PolicySource,
    opts: &ParseOptions,
) -> Result<Option<PathRule>, String> {
    // Write-time template check: only balance is validated.
    let templated = template::has_templating(key)
        .map_err(|e| format!("failed to validate policy templating: {e}"))?;

    check_keys(DNode::Node(&item.val), RULE_KEYS).map_err(|(_, m)| m)?;

    let control_group = parse_control_group(&item.val)?;

    let raw = decode_rule(&item.val).map_err(|e| format!("path \"{key}\": {e}"))?;

    let mut expiration = None;
    if !raw.expiration.is_empty() {
        let t = parse_absolute_time(&raw.expiration).ok_or_else(|| {
            let full = normalize(key, &src.namespace_path)
                .map(|n| n.path)
                .unwrap_or_else(|_| key.to_string());
            format!(
                "path \"{full}\": invalid expiration time: could not parse string as date and time"
            )
        })?;
        if opts.now_unix_nanos > t {
            return Ok(None);
        }
        expiration = Some(t);
    }

    normalize(key, &src.namespace_path)?;

    let mut capabilities = raw.capabilities.unwrap_or_default();
    if !raw.policy.is_empty() {
        match raw.policy.as_str() {
            "deny" => capabilities = vec!["deny".to_string()],
            "read" => capabilities.extend(["read", "list"].map(String::from)),
            "write" => capabilities
                .extend(["create", "read", "update", "delete", "list"].map(String::from)),
            "sudo" => capabilities
                .extend(["create", "read", "update", "delete", "list", "sudo"].map(String::from)),
            p => return Err(format!("path \"{key}\": invalid policy \"{p}\"")),
        }
    }

    let line = item.pos().line as u32;
    let mut perms = Permissions::default();
    for c in &capabilities {
        if c == "deny" {
            // The server stops here: nothing after `deny` is parsed or validated.
            perms.caps = Caps::DENY;
            return Ok(Some(PathRule {
                key: key.to_string(),
                line,
                templated,
                expiration,
                perms,
            }));
        }
        match Caps::from_name(c) {
            Some(cap) if valid_capability(cap, opts.flavor) => perms.caps |= cap,
            _ => return Err(format!("path \"{key}\": invalid capability \"{c}\"")),
        }
    }

    perms.allowed_parameters = raw.allowed_parameters.map(lowercase_keys);
    perms.denied_parameters = raw.denied_parameters.map(lowercase_keys);
    if raw.min_wrapping_ttl != Value::Nil {
        perms.min_wrapping_ttl = duration_second(&raw.min_wrapping_ttl)
            .map_err(|e| format!("error parsing min_wrapping_ttl: {e}"))?;
    }
    if raw.max_wrapping_ttl != Value::Nil {
        perms.max_wrapping_ttl = duration_second(&raw.max_wrapping_ttl)
            .map_err(|e| format!("error parsing max_wrapping_ttl: {e}"))?;
    }
    perms.mfa_methods = raw.mfa_methods.unwrap_or_default();
    if perms.min_wrapping_ttl != GoDuration::ZERO
        && perms.max_wrapping_ttl != GoDuration::ZERO
        && perms.max_wrapping_ttl < perms.min_wrapping_ttl
    {
        return Err("max_wrapping_ttl cannot be less than min_wrapping_ttl".to_string());
    }
    perms.required_parameters = raw.required_parameters.unwrap_or_default();
    let fp = raw.list_scan_response_keys_filter_path;
    if !fp.is_empty() {
        if !perms.caps.intersects(Caps::LIST) {
            return Err(
                "list_scan_response_keys_filter_path needs to be used on a path with the list capability"
                    .to_string(),
            );
        }
        validate_filter_template(&fp)?;
        perms.response_keys_filter_path = fp;
    }
    perms.pagination_limit = raw.pagination_limit;
    perms.control_group = control_group;

    Ok(Some(PathRule {
        key: key.to_string(),
        line,
        templated,
        expiration,
        perms,
    }))
}

/// `parseutil.ParseDurationSecond` on a decoded value.
fn duration_second(value: &Value) -> Result<GoDuration, DurationError> {
    GoDuration::from_seconds_value(match value {
        Value::Nil => SecondsValue::Absent,
        Value::String(text) => SecondsValue::Text(text),
        Value::Int(seconds) => SecondsValue::Integer(*seconds),
        Value::Float(seconds) => SecondsValue::Float(*seconds),
        _ => SecondsValue::Other,
    })
}

/// go-secure-stdlib `parseutil.ParseAbsoluteTime` on a string: RFC 3339 (with or without
/// fractional seconds) or unix seconds. Returns unix nanoseconds; `None` when neither parses
/// (the server's "could not parse string as date and time").
fn parse_absolute_time(text: &str) -> Option<i128> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(instant) = time::OffsetDateTime::parse(text, &Rfc3339) {
        return Some(instant.unix_timestamp_nanos());
    }
    let seconds = text.parse::<i64>().ok()?;
    Some(i128::from(seconds) * 1_000_000_000)
}

fn valid_capability(cap: Caps, flavor: Flavor) -> bool {
    // Vault has no `scan`.
    !(flavor == Flavor::Vault && cap == Caps::SCAN)
}

fn lowercase_keys(m: GoMap<Option<Vec<Value>>>) -> BTreeMap<String, Vec<Value>> {
    m.0.into_iter()
        .map(|(k, v)| (k.to_lowercase(), v.unwrap_or_default()))
        .collect()
}

/// `list_scan_response_keys_filter_path` is a Go text/template over `.key` (and `.path`); the
/// server refuses one that does not depend on the key.
fn validate_filter_template(t: &str) -> Result<(), String> {
    let mut rest = t;
    let mut uses_key = false;
    while let Some(start) = rest.find("{{") {
        let Some(end) = rest[start..].find("}}") else {
            return Err("unable to compile template for list_scan_response_keys_filter_path: unclosed action".to_string());
        };
        let action = &rest[start + 2..start + end];
        if action.contains(".key") {
            uses_key = true;
        }
        rest = &rest[start + end + 2..];
    }
    if !uses_key {
        return Err(
            "list_scan_response_keys_filter_path resulted in same path for two different keys"
                .to_string(),
        );
    }
    Ok(())
}

/// A `control_group { ttl = … factor "name" { controlled_capabilities = […] identity { … } } }`
/// block, validated as the server validates it (`hclutil.WhenHCLKeyPresent`), kept as a summary.
fn parse_control_group(block: &Node) -> Result<Option<ControlGroup>, String> {
    let wrap = |e: String| format!("error handling control_group: {e}");
    let Some(body) = hcl1::object_list_of(DNode::Node(block)) else {
        return Ok(None);
    };
    let mut result = None;
    for item in body
        .items
        .iter()
        .filter(|i| i.keys.first().is_some_and(|k| k.value == "control_group"))
    {
        check_keys(
            DNode::Node(&item.val),
            &["ttl", "self_auth_allowed", "factor"],
        )
        .map_err(|(_, m)| wrap(m))?;
        let mut ttl_raw = Value::Nil;
        let mut self_auth = false;
        let mut sd = StructDecoder::new("root", DNode::Node(&item.val))
            .map_err(|e| wrap(format!("path control_group: {e}")))?;
        sd.field("ttl", &mut ttl_raw)
            .map_err(|e| wrap(format!("path control_group: {e}")))?;
        sd.field("self_auth_allowed", &mut self_auth)
            .map_err(|e| wrap(format!("path control_group: {e}")))?;
        let mut factors = Vec::new();
        let list = hcl1::object_list_of(DNode::Node(&item.val)).expect("checked above");
        for f in list
            .items
            .iter()
            .filter(|i| i.keys.first().is_some_and(|k| k.value == "factor"))
        {
            check_keys(
                DNode::Node(&f.val),
                &["controlled_capabilities", "identity"],
            )
            .map_err(|(_, m)| wrap(format!("path control_group factor: {m}")))?;
            let name = f
                .keys
                .get(1)
                .map(|k| k.value.clone())
                .ok_or_else(|| wrap("path control_group factor: require name key".into()))?;
            let mut caps: Option<Vec<String>> = None;
            let mut fd = StructDecoder::new("root", DNode::Node(&f.val))
                .map_err(|e| wrap(format!("path control_group factor: {e}")))?;
            fd.field("controlled_capabilities", &mut caps)
                .map_err(|e| wrap(format!("path control_group factor: {e}")))?;
            let mut group_names: Option<Vec<String>> = None;
            let mut approvals = 0i64;
            let flist = hcl1::object_list_of(DNode::Node(&f.val)).expect("checked above");
            for id in flist.items.iter().filter(|i| {
                i.keys
                    .first()
                    .is_some_and(|k| k.value.eq_ignore_ascii_case("identity"))
            }) {
                let mut idd = StructDecoder::new("root", DNode::Node(&id.val))
                    .map_err(|e| wrap(format!("path control_group factor: {e}")))?;
                idd.field("group_names", &mut group_names)
                    .map_err(|e| wrap(format!("path control_group factor: {e}")))?;
                idd.field("approvals", &mut approvals)
                    .map_err(|e| wrap(format!("path control_group factor: {e}")))?;
            }
            factors.push((
                name,
                caps.unwrap_or_default(),
                group_names.unwrap_or_default(),
                approvals,
            ));
        }
        let ttl = duration_second(&ttl_raw)
            .map_err(|e| wrap(format!("path control_group: invalid ttl: {e}")))?;
        if factors.is_empty() {
            return Err(wrap("requires at least one factor but had none".into()));
        }
        const OPS: &[&str] = &[
            "create",
            "read",
            "update",
            "patch",
            "delete",
            "list",
            "scan",
            "help",
            "alias-lookahead",
            "resolve-role",
            "header",
            "revoke",
            "renew",
            "rollback",
        ];
        for (i, (_, caps, groups, approvals)) in factors.iter().enumerate() {
            if let Some(bad) = caps.iter().find(|c| !OPS.contains(&c.as_str())) {
                return Err(wrap(format!(
                    "path control_group: unknown operation: {bad:?}"
                )));
            }
            if caps.is_empty() {
                return Err(wrap(format!("factor {i}: missing controlled capabilities")));
            }
            if *approvals <= 0 {
                return Err(wrap(format!("factor {i}: missing required approvals")));
            }
            if groups.is_empty() {
                return Err(wrap(format!("factor {i}: missing approving groups")));
            }
        }
        let _ = self_auth;
        result = Some(ControlGroup {
            ttl,
            factors: factors.into_iter().map(|f| f.0).collect(),
        });
    }
    Ok(result)
}
