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
pub fn normalize(key: &str, namespace_path: &str) -> Result<Normalized, InvalidWildcards> {
    let stripped = key.strip_prefix('/').unwrap_or(key);
    let full = format!("{namespace_path}{stripped}");
    if full.contains("+*") {
        return Err(InvalidWildcards { path: full });
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

/// A rule path with `+*`, which the server refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("path \"{path}\": invalid use of wildcards ('+*' is forbidden)")]
pub struct InvalidWildcards {
    /// The full path, namespace included.
    pub path: String,
}

/// Why the server refuses one `path` block, in its words (the policy's error adds
/// `failed to parse policy: path "<key>": ` in front).
#[derive(Debug, thiserror::Error)]
enum RuleError {
    #[error("failed to validate policy templating: {0}")]
    Templating(template::TemplateError),
    #[error(transparent)]
    Keys(KeyError),
    #[error("error handling control_group: {0}")]
    ControlGroup(ControlGroupError),
    #[error("path \"{key}\": {reason}")]
    Decode { key: String, reason: DecodeError },
    #[error("path \"{path}\": invalid expiration time: could not parse string as date and time")]
    Expiration { path: String },
    #[error(transparent)]
    Wildcards(#[from] InvalidWildcards),
    #[error("path \"{key}\": invalid policy \"{policy}\"")]
    InvalidPolicy { key: String, policy: String },
    #[error("path \"{key}\": invalid capability \"{capability}\"")]
    InvalidCapability { key: String, capability: String },
    #[error("error parsing {field}: {reason}")]
    WrappingTtl {
        field: &'static str,
        reason: DurationError,
    },
    #[error("max_wrapping_ttl cannot be less than min_wrapping_ttl")]
    WrappingTtlOrder,
    #[error(
        "list_scan_response_keys_filter_path needs to be used on a path with the list capability"
    )]
    FilterPathWithoutList,
    #[error("unable to compile template for list_scan_response_keys_filter_path: unclosed action")]
    FilterTemplateUnclosed,
    #[error("list_scan_response_keys_filter_path resulted in same path for two different keys")]
    FilterTemplateIgnoresKey,
}

/// `hclutil.CheckHCLKeys` failing: the tree could not be read, or keys are invalid (printed as
/// Vault's multierror).
#[derive(Debug, thiserror::Error)]
enum KeyError {
    #[error(transparent)]
    Decode(DecodeError),
    #[error("{}", multierror(.0))]
    Invalid(Vec<hcl1::InvalidKey>),
}

impl KeyError {
    fn line(&self) -> Option<u32> {
        match self {
            KeyError::Decode(e) => line_of(e),
            KeyError::Invalid(keys) => keys.iter().map(|k| k.line as u32).find(|l| *l > 0),
        }
    }
}

/// Vault's `multierror` text for a list of errors.
fn multierror(keys: &[hcl1::InvalidKey]) -> String {
    if keys.len() == 1 {
        return format!("1 error occurred:\n\t* {}", keys[0]);
    }
    let items: Vec<String> = keys.iter().map(|k| format!("\t* {k}")).collect();
    format!("{} errors occurred:\n{}", keys.len(), items.join("\n"))
}

/// Why a `control_group` block was refused (after `error handling control_group: `).
#[derive(Debug, thiserror::Error)]
enum ControlGroupError {
    #[error(transparent)]
    Keys(KeyError),
    #[error("path control_group: {0}")]
    Decode(DecodeError),
    #[error("path control_group factor: {0}")]
    FactorKeys(KeyError),
    #[error("path control_group factor: require name key")]
    FactorName,
    #[error("path control_group factor: {0}")]
    FactorDecode(DecodeError),
    #[error("path control_group: invalid ttl: {0}")]
    Ttl(DurationError),
    #[error("requires at least one factor but had none")]
    NoFactor,
    #[error("path control_group: unknown operation: {0:?}")]
    UnknownOperation(String),
    #[error("factor {0}: missing controlled capabilities")]
    FactorWithoutCapabilities(usize),
    #[error("factor {0}: missing required approvals")]
    FactorWithoutApprovals(usize),
    #[error("factor {0}: missing approving groups")]
    FactorWithoutGroups(usize),
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

    check_keys(DNode::List(&root), &["name", "path"]).map_err(|e| fail(e.line(), e.to_string()))?;

    // `hcl.DecodeObject(&p, list)`: of the Policy struct's fields only `name` can be present
    // (every other key was refused above).
    let mut text_name = String::new();
    let mut decoder =
        StructDecoder::new("root", DNode::List(&root)).map_err(|e| fail(None, e.to_string()))?;
    let has_name = decoder
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
fn check_keys(node: DNode<'_>, valid: &[&str]) -> Result<(), KeyError> {
    let bad = hcl1::check_hcl_keys(node, valid).map_err(KeyError::Decode)?;
    if bad.is_empty() {
        return Ok(());
    }
    Err(KeyError::Invalid(bad))
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
    let mut rule = RawRule::default();
    let mut decoder = StructDecoder::new("root", DNode::Node(node))?;
    decoder.field("policy", &mut rule.policy)?;
    decoder.field("capabilities", &mut rule.capabilities)?;
    decoder.field("expiration", &mut rule.expiration)?;
    decoder.field("min_wrapping_ttl", &mut rule.min_wrapping_ttl)?;
    decoder.field("max_wrapping_ttl", &mut rule.max_wrapping_ttl)?;
    decoder.field("allowed_parameters", &mut rule.allowed_parameters)?;
    decoder.field("denied_parameters", &mut rule.denied_parameters)?;
    decoder.field("required_parameters", &mut rule.required_parameters)?;
    decoder.field("mfa_methods", &mut rule.mfa_methods)?;
    decoder.field("pagination_limit", &mut rule.pagination_limit)?;
    decoder.field(
        "list_scan_response_keys_filter_path",
        &mut rule.list_scan_response_keys_filter_path,
    )?;
    Ok(rule)
}

fn parse_path(
    key: &str,
    item: &ObjectItem,
    src: &PolicySource,
    opts: &ParseOptions,
) -> Result<Option<PathRule>, RuleError> {
    // Write-time template check: only balance is validated.
    let templated = template::has_templating(key).map_err(RuleError::Templating)?;

    check_keys(DNode::Node(&item.val), RULE_KEYS).map_err(RuleError::Keys)?;

    let control_group = parse_control_group(&item.val).map_err(RuleError::ControlGroup)?;

    let raw = decode_rule(&item.val).map_err(|reason| RuleError::Decode {
        key: key.to_string(),
        reason,
    })?;

    let mut expiration = None;
    if !raw.expiration.is_empty() {
        let expires_at = parse_absolute_time(&raw.expiration).ok_or_else(|| {
            let path = normalize(key, &src.namespace_path)
                .map(|n| n.path)
                .unwrap_or_else(|_| key.to_string());
            RuleError::Expiration { path }
        })?;
        if opts.now_unix_nanos > expires_at {
            return Ok(None);
        }
        expiration = Some(expires_at);
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
            p => {
                return Err(RuleError::InvalidPolicy {
                    key: key.to_string(),
                    policy: p.to_string(),
                })
            }
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
            _ => {
                return Err(RuleError::InvalidCapability {
                    key: key.to_string(),
                    capability: c.clone(),
                })
            }
        }
    }

    perms.allowed_parameters = raw.allowed_parameters.map(lowercase_keys);
    perms.denied_parameters = raw.denied_parameters.map(lowercase_keys);
    if raw.min_wrapping_ttl != Value::Nil {
        perms.min_wrapping_ttl =
            duration_second(&raw.min_wrapping_ttl).map_err(|reason| RuleError::WrappingTtl {
                field: "min_wrapping_ttl",
                reason,
            })?;
    }
    if raw.max_wrapping_ttl != Value::Nil {
        perms.max_wrapping_ttl =
            duration_second(&raw.max_wrapping_ttl).map_err(|reason| RuleError::WrappingTtl {
                field: "max_wrapping_ttl",
                reason,
            })?;
    }
    perms.mfa_methods = raw.mfa_methods.unwrap_or_default();
    if perms.min_wrapping_ttl != GoDuration::ZERO
        && perms.max_wrapping_ttl != GoDuration::ZERO
        && perms.max_wrapping_ttl < perms.min_wrapping_ttl
    {
        return Err(RuleError::WrappingTtlOrder);
    }
    perms.required_parameters = raw.required_parameters.unwrap_or_default();
    let filter_path = raw.list_scan_response_keys_filter_path;
    if !filter_path.is_empty() {
        if !perms.caps.intersects(Caps::LIST) {
            return Err(RuleError::FilterPathWithoutList);
        }
        validate_filter_template(&filter_path)?;
        perms.response_keys_filter_path = filter_path;
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
fn validate_filter_template(t: &str) -> Result<(), RuleError> {
    let mut rest = t;
    let mut uses_key = false;
    while let Some(start) = rest.find("{{") {
        let Some(end) = rest[start..].find("}}") else {
            return Err(RuleError::FilterTemplateUnclosed);
        };
        let action = &rest[start + 2..start + end];
        if action.contains(".key") {
            uses_key = true;
        }
        rest = &rest[start + end + 2..];
    }
    if !uses_key {
        return Err(RuleError::FilterTemplateIgnoresKey);
    }
    Ok(())
}

/// A `control_group { ttl = … factor "name" { controlled_capabilities = […] identity { … } } }`
/// block, validated as the server validates it (`hclutil.WhenHCLKeyPresent`), kept as a summary.
fn parse_control_group(block: &Node) -> Result<Option<ControlGroup>, ControlGroupError> {
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
        .map_err(ControlGroupError::Keys)?;
        let mut ttl_raw = Value::Nil;
        // Decoded only for the server's type check; blastmap does not model self-approval.
        let mut self_auth = false;
        let mut decoder = StructDecoder::new("root", DNode::Node(&item.val))
            .map_err(ControlGroupError::Decode)?;
        decoder
            .field("ttl", &mut ttl_raw)
            .map_err(ControlGroupError::Decode)?;
        decoder
            .field("self_auth_allowed", &mut self_auth)
            .map_err(ControlGroupError::Decode)?;
        let list = hcl1::object_list_of(DNode::Node(&item.val)).expect("checked above");
        let factors = list
            .items
            .iter()
            .filter(|i| i.keys.first().is_some_and(|k| k.value == "factor"))
            .map(parse_factor)
            .collect::<Result<Vec<Factor>, ControlGroupError>>()?;
        let ttl = duration_second(&ttl_raw).map_err(ControlGroupError::Ttl)?;
        if factors.is_empty() {
            return Err(ControlGroupError::NoFactor);
        }
        for (index, factor) in factors.iter().enumerate() {
            factor.validate(index)?;
        }
        result = Some(ControlGroup {
            ttl,
            factors: factors.into_iter().map(|f| f.name).collect(),
        });
    }
    Ok(result)
}

/// One `factor "name" { … }` of a control group.
struct Factor {
    name: String,
    controlled_capabilities: Vec<String>,
    group_names: Vec<String>,
    approvals: i64,
}

/// The operations a factor may control.
const CONTROL_GROUP_OPERATIONS: &[&str] = &[
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

fn parse_factor(item: &ObjectItem) -> Result<Factor, ControlGroupError> {
    check_keys(
        DNode::Node(&item.val),
        &["controlled_capabilities", "identity"],
    )
    .map_err(ControlGroupError::FactorKeys)?;
    let name = item
        .keys
        .get(1)
        .map(|k| k.value.clone())
        .ok_or(ControlGroupError::FactorName)?;
    let mut caps: Option<Vec<String>> = None;
    let mut decoder = StructDecoder::new("root", DNode::Node(&item.val))
        .map_err(ControlGroupError::FactorDecode)?;
    decoder
        .field("controlled_capabilities", &mut caps)
        .map_err(ControlGroupError::FactorDecode)?;
    let mut group_names: Option<Vec<String>> = None;
    let mut approvals = 0i64;
    let list = hcl1::object_list_of(DNode::Node(&item.val)).expect("checked above");
    for identity in list.items.iter().filter(|i| {
        i.keys
            .first()
            .is_some_and(|k| k.value.eq_ignore_ascii_case("identity"))
    }) {
        let mut identity_decoder = StructDecoder::new("root", DNode::Node(&identity.val))
            .map_err(ControlGroupError::FactorDecode)?;
        identity_decoder
            .field("group_names", &mut group_names)
            .map_err(ControlGroupError::FactorDecode)?;
        identity_decoder
            .field("approvals", &mut approvals)
            .map_err(ControlGroupError::FactorDecode)?;
    }
    Ok(Factor {
        name,
        controlled_capabilities: caps.unwrap_or_default(),
        group_names: group_names.unwrap_or_default(),
        approvals,
    })
}

impl Factor {
    /// The server's checks of a decoded factor, in its order.
    fn validate(&self, index: usize) -> Result<(), ControlGroupError> {
        let caps = &self.controlled_capabilities;
        if let Some(bad) = caps
            .iter()
            .find(|c| !CONTROL_GROUP_OPERATIONS.contains(&c.as_str()))
        {
            return Err(ControlGroupError::UnknownOperation(bad.clone()));
        }
        if caps.is_empty() {
            return Err(ControlGroupError::FactorWithoutCapabilities(index));
        }
        if self.approvals <= 0 {
            return Err(ControlGroupError::FactorWithoutApprovals(index));
        }
        if self.group_names.is_empty() {
            return Err(ControlGroupError::FactorWithoutGroups(index));
        }
        Ok(())
    }
}
