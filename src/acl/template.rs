//! Identity templating of ACL policy path keys (`{{identity.entity.id}}` and friends).
//!
//! This reproduces OpenBao's `sdk/helper/identitytpl` `PopulateString` in ACL mode
//! (`ACLTemplating`), as called from `policy.parsePaths`:
//!
//! * At policy write time only the balance of `{{` / `}}` is checked
//!   ([`PopulateInput::validity_check_only`], or [`has_templating`]); unknown directives pass.
//! * At ACL build time every `{{ directive }}` is resolved against the token's entity, its
//!   (direct plus inherited) groups and the policy's namespace ID. Any error means the caller drops
//!   that one path rule (`continue` in `parsePaths`); the rest of the policy still applies.
//! * OpenBao 2.6+ (GHSA-59w7-v8rr-pr4p) refuses a substitution whose value contains a blocked
//!   string; see [`blocked_substitutions`] for the default set.
//!
//! Error [`Display`](std::fmt::Display) texts equal upstream's `err.Error()` strings, including
//! Go's `%q` quoting ([`go_quote`]) and, for `time.now.plus.<dur>`, the messages of
//! `parseutil.ParseDurationSecond` ([`crate::duration`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::duration::{DurationError, DurationSyntax, GoDuration};
use crate::hcl1::go_quote;

/// Deserialise `null` (or a missing field, with `#[serde(default)]`) as the type's default.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// The token's identity entity (`logical.Entity`, the fields templating reads).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entity {
    #[serde(default, deserialize_with = "null_as_default")]
    pub id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: BTreeMap<String, String>,
    /// In upstream order: the first alias with a matching mount accessor wins.
    #[serde(default, deserialize_with = "null_as_default")]
    pub aliases: Vec<Alias>,
}

/// One entity alias (`logical.Alias`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alias {
    #[serde(default, deserialize_with = "null_as_default")]
    pub id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub mount_accessor: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub custom_metadata: BTreeMap<String, String>,
}

/// One identity group the entity belongs to (`logical.Group`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    #[serde(default, deserialize_with = "null_as_default")]
    pub id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub namespace_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: BTreeMap<String, String>,
}

/// Input of [`populate`] (upstream `PopulateStringInput` with `Mode: ACLTemplating`).
#[derive(Debug, Clone, Copy, Default)]
pub struct PopulateInput<'a> {
    /// The string to template (a policy path key).
    pub string: &'a str,
    /// The token's entity; `None` for tokens without one (e.g. orphan tokens from
    /// `auth/token/create`), which makes every `identity.entity.*` directive fail.
    pub entity: Option<&'a Entity>,
    /// The entity's groups, direct plus inherited, in upstream order (first match wins).
    pub groups: &'a [Group],
    /// The policy's namespace ID. `identity.groups.names.*` only considers groups in this
    /// namespace; an empty ID disables that filter (as upstream).
    pub namespace_id: &'a str,
    /// A substituted value containing any of these strings is refused (see
    /// [`blocked_substitutions`]). Empty means nothing is blocked.
    pub blocked_substitutions: &'a [&'a str],
    /// "Now" for `time.now*`, in unix seconds.
    pub now_unix: i64,
    /// Only check `{{`/`}}` balance (policy write time). The output is then `""` whenever the
    /// string contains `{{`, and the string itself when it does not (as upstream).
    pub validity_check_only: bool,
}

/// Why a template could not be populated. `Display` equals upstream's error text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `ErrUnbalancedTemplatingCharacter`.
    #[error("unbalanced templating characters")]
    UnbalancedTemplatingCharacters,
    /// `ErrNoEntityAttachedToToken`.
    #[error("string contains entity template directives but no entity was provided")]
    NoEntityAttachedToToken,
    /// `ErrNoGroupsAttachedToToken`.
    #[error("string contains groups template directives but no groups were provided")]
    NoGroupsAttachedToToken,
    /// `ErrTemplateValueNotFound`: unknown directive, empty name/id, missing metadata key,
    /// or an object (metadata, group lists) used whole.
    #[error("no value could be found for one of the template directives")]
    TemplateValueNotFound,
    /// `ErrTemplateWildcard`: the substituted value contains a blocked string.
    #[error("template substitution contains forbidden value {}", go_quote(.blocked))]
    BlockedSubstitution { blocked: String },
    #[error("invalid alias selector")]
    InvalidAliasSelector,
    #[error("alias not found")]
    AliasNotFound,
    #[error("invalid groups selector")]
    InvalidGroupsSelector,
    #[error("invalid groups accessor")]
    InvalidGroupsAccessor,
    #[error("entity is not a member of group {}", go_quote(.group))]
    NotAGroupMember { group: String },
    #[error("invalid time selector {}", go_quote(.selector))]
    InvalidTimeSelector { selector: String },
    #[error("missing time operand")]
    MissingTimeOperand,
    /// The duration of `time.now.{plus,minus}.<dur>` did not parse.
    #[error("invalid duration: {0}")]
    InvalidDuration(DurationError),
    #[error("invalid time operator {}", go_quote(.operator))]
    InvalidTimeOperator { operator: String },
}

impl TemplateError {
    /// True for upstream's `ErrTemplateWildcard` (a blocked string in a substituted value).
    pub fn is_blocked_substitution(&self) -> bool {
        matches!(self, TemplateError::BlockedSubstitution { .. })
    }

    /// True for `unbalanced templating characters`, the only error possible at write time.
    pub fn is_unbalanced(&self) -> bool {
        matches!(self, TemplateError::UnbalancedTemplatingCharacters)
    }
}

/// The blocked set OpenBao 2.6+ passes when templating a policy (policy_store.go): `"/"` unless
/// the policy has `allow_slashes_in_identity_templates`, then `"*"`, `"+"` unless it has
/// `allow_wildcards_in_identity_templates`. In that order, which decides which one an error names.
///
/// Vault (and OpenBao before 2.6) block nothing: pass an empty slice to model them.
pub fn blocked_substitutions(allow_wildcards: bool, allow_slashes: bool) -> Vec<&'static str> {
    let mut blocked = Vec::with_capacity(3);
    if !allow_slashes {
        blocked.push("/");
    }
    if !allow_wildcards {
        blocked.push("*");
        blocked.push("+");
    }
    blocked
}

/// Populate the identity templates in `input.string`.
///
/// Returns `(has_templating, output)`: `has_templating` is true when at least one `{{ }}` pair
/// was found. Errors stop at the first failing piece, left to right, so an unresolvable directive
/// is reported before a later unbalanced `{{`.
pub fn populate(input: &PopulateInput) -> Result<(bool, String), TemplateError> {
    let template = input.string;
    if template.is_empty() {
        return Ok((false, String::new()));
    }

    let mut pieces = template.split("{{");
    // `split` always yields at least one piece.
    let head = pieces.next().unwrap_or_default();
    if head.contains("}}") {
        return Err(TemplateError::UnbalancedTemplatingCharacters);
    }
    let mut pieces = pieces.peekable();
    if pieces.peek().is_none() {
        return Ok((false, template.to_string()));
    }

    let mut out = String::new();
    if !input.validity_check_only {
        out.reserve(2 * template.len());
        out.push_str(head);
    }
    let mut has_templating = false;
    for piece in pieces {
        // Exactly one `}}` per piece: the directive, then literal text up to the next `{{`.
        let mut parts = piece.split("}}");
        let directive = parts.next().unwrap_or_default();
        let (Some(tail), None) = (parts.next(), parts.next()) else {
            return Err(TemplateError::UnbalancedTemplatingCharacters);
        };
        has_templating = true;
        if input.validity_check_only {
            continue;
        }
        let value = resolve(directive.trim(), input)?;
        if let Some(blocked) = input
            .blocked_substitutions
            .iter()
            .find(|b| value.contains(**b))
        {
            return Err(TemplateError::BlockedSubstitution {
                blocked: (*blocked).to_string(),
            });
        }
        out.push_str(&value);
        out.push_str(tail);
    }
    Ok((has_templating, out))
}

/// Write-time check (upstream `ValidityCheckOnly`): does `s` contain templating, and is it
/// balanced? Unknown directives are not rejected.
pub fn has_templating(s: &str) -> Result<bool, TemplateError> {
    populate(&PopulateInput {
        string: s,
        validity_check_only: true,
        ..PopulateInput::default()
    })
    .map(|(has, _)| has)
}

/// Resolve one trimmed directive.
fn resolve(directive: &str, input: &PopulateInput) -> Result<String, TemplateError> {
    if let Some(rest) = directive.strip_prefix("identity.entity.") {
        let entity = input.entity.ok_or(TemplateError::NoEntityAttachedToToken)?;
        return entity_value(rest, entity);
    }
    if let Some(rest) = directive.strip_prefix("identity.groups.") {
        if input.groups.is_empty() {
            return Err(TemplateError::NoGroupsAttachedToToken);
        }
        return group_value(rest, input.groups, input.namespace_id);
    }
    if let Some(rest) = directive.strip_prefix("time.") {
        return time_value(rest, input.now_unix);
    }
    Err(TemplateError::TemplateValueNotFound)
}

/// ACL mode emits a plain string only when it is non-empty.
fn non_empty(v: &str) -> Result<String, TemplateError> {
    if v.is_empty() {
        Err(TemplateError::TemplateValueNotFound)
    } else {
        Ok(v.to_string())
    }
}

/// ACL mode looks up one map key; a present key with an empty value is fine.
fn map_key(m: &BTreeMap<String, String>, key: &str) -> Result<String, TemplateError> {
    m.get(key)
        .cloned()
        .ok_or(TemplateError::TemplateValueNotFound)
}

fn entity_value(sel: &str, entity: &Entity) -> Result<String, TemplateError> {
    match sel {
        "id" => return non_empty(&entity.id),
        "name" => return non_empty(&entity.name),
        // Whole objects and the group lists are not renderable in ACL mode.
        "metadata" | "groups.names" | "groups.ids" => {
            return Err(TemplateError::TemplateValueNotFound)
        }
        _ => {}
    }
    if let Some(key) = sel.strip_prefix("metadata.") {
        return map_key(&entity.metadata, key);
    }
    if let Some(rest) = sel.strip_prefix("aliases.") {
        let (accessor, field) = rest
            .split_once('.')
            .ok_or(TemplateError::InvalidAliasSelector)?;
        let alias = entity
            .aliases
            .iter()
            .find(|a| a.mount_accessor == accessor)
            .ok_or(TemplateError::AliasNotFound)?;
        return alias_value(field, alias);
    }
    Err(TemplateError::TemplateValueNotFound)
}

fn alias_value(sel: &str, alias: &Alias) -> Result<String, TemplateError> {
    match sel {
        "id" => return non_empty(&alias.id),
        "name" => return non_empty(&alias.name),
        "metadata" | "custom_metadata" => return Err(TemplateError::TemplateValueNotFound),
        _ => {}
    }
    if let Some(key) = sel.strip_prefix("metadata.") {
        return map_key(&alias.metadata, key);
    }
    if let Some(key) = sel.strip_prefix("custom_metadata.") {
        return map_key(&alias.custom_metadata, key);
    }
    Err(TemplateError::TemplateValueNotFound)
}

fn group_value(sel: &str, groups: &[Group], namespace_id: &str) -> Result<String, TemplateError> {
    let (kind, rest) = sel
        .split_once('.')
        .ok_or(TemplateError::InvalidGroupsSelector)?;
    let by_id = match kind {
        "ids" => true,
        "names" => false,
        _ => return Err(TemplateError::InvalidGroupsSelector),
    };
    let (key, field) = rest
        .split_once('.')
        .ok_or(TemplateError::InvalidGroupsAccessor)?;
    let found = groups.iter().find(|g| {
        if by_id {
            g.id == key
        } else {
            // Names are only unique per namespace; an empty policy namespace ID skips the filter.
            (namespace_id.is_empty() || g.namespace_id == namespace_id) && g.name == key
        }
    });
    let Some(group) = found else {
        return Err(TemplateError::NotAGroupMember {
            group: key.to_string(),
        });
    };
    match field {
        // Upstream returns the ID unchecked (a stored group always has one).
        "id" => Ok(group.id.clone()),
        "name" => non_empty(&group.name),
        _ => match field.strip_prefix("metadata.") {
            Some(k) => map_key(&group.metadata, k),
            None => Err(TemplateError::TemplateValueNotFound),
        },
    }
}

fn time_value(sel: &str, now_unix: i64) -> Result<String, TemplateError> {
    let mut ops = sel.splitn(3, '.');
    let selector = ops.next().unwrap_or_default();
    if selector != "now" {
        return Err(TemplateError::InvalidTimeSelector {
            selector: selector.to_string(),
        });
    }
    let delta_ns: i64 = match (ops.next(), ops.next()) {
        (None, _) => 0,
        (Some(_), None) => return Err(TemplateError::MissingTimeOperand),
        (Some(operator), Some(operand)) => {
            // The duration is parsed before the operator is looked at.
            let duration = GoDuration::parse(operand, DurationSyntax::VaultSeconds)
                .map_err(TemplateError::InvalidDuration)?;
            match operator {
                "plus" => duration.as_nanos(),
                // Go's `-duration` wraps: minus of math.MinInt64 nanoseconds adds it.
                "minus" => duration.wrapping_neg().as_nanos(),
                _ => {
                    return Err(TemplateError::InvalidTimeOperator {
                        operator: operator.to_string(),
                    })
                }
            }
        }
    };
    // time.Time.Add then .Unix(): seconds, rounded towards negative infinity.
    const NANOS_PER_SECOND: i128 = 1_000_000_000;
    let total_ns = now_unix as i128 * NANOS_PER_SECOND + delta_ns as i128;
    Ok(total_ns.div_euclid(NANOS_PER_SECOND).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity() -> Entity {
        Entity {
            id: "entityID".into(),
            name: "entityName".into(),
            metadata: [("foo", "bar"), ("empty", ""), ("a.b", "dotted")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            aliases: vec![
                Alias {
                    id: "aliasID".into(),
                    mount_accessor: "auth_jwt_1".into(),
                    name: "aliasName".into(),
                    metadata: [("role".to_string(), "deploy".to_string())].into(),
                    custom_metadata: [
                        ("team".to_string(), "infra".to_string()),
                        ("blank".to_string(), String::new()),
                    ]
                    .into(),
                },
                Alias {
                    id: "second".into(),
                    mount_accessor: "auth_jwt_1".into(),
                    name: "secondName".into(),
                    ..Alias::default()
                },
                Alias {
                    mount_accessor: "auth_empty".into(),
                    ..Alias::default()
                },
            ],
        }
    }

    fn groups() -> Vec<Group> {
        vec![
            Group {
                id: "g1".into(),
                name: "devs".into(),
                namespace_id: "root".into(),
                metadata: [
                    ("env".to_string(), "prod".to_string()),
                    ("none".to_string(), String::new()),
                ]
                .into(),
            },
            Group {
                id: "g2".into(),
                name: "ops".into(),
                namespace_id: "ns1id".into(),
                ..Group::default()
            },
            Group {
                id: String::new(),
                name: String::new(),
                namespace_id: "root".into(),
                ..Group::default()
            },
        ]
    }

    fn run_with(
        s: &str,
        e: Option<&Entity>,
        g: &[Group],
        ns: &str,
        blocked: &[&str],
    ) -> Result<(bool, String), TemplateError> {
        populate(&PopulateInput {
            string: s,
            entity: e,
            groups: g,
            namespace_id: ns,
            blocked_substitutions: blocked,
            now_unix: 1_700_000_000,
            validity_check_only: false,
        })
    }

    fn ok(s: &str) -> String {
        let e = entity();
        let g = groups();
        let (has, out) = run_with(s, Some(&e), &g, "root", &[]).unwrap();
        assert!(has, "{s}: expected has_templating");
        out
    }

    fn err(s: &str) -> String {
        let e = entity();
        let g = groups();
        run_with(s, Some(&e), &g, "root", &[])
            .unwrap_err()
            .to_string()
    }

    const NOT_FOUND: &str = "no value could be found for one of the template directives";

    #[test]
    fn template_validity_check_only() {
        let v = |s: &str| {
            populate(&PopulateInput {
                string: s,
                validity_check_only: true,
                ..PopulateInput::default()
            })
        };
        // Upstream returns "" as output whenever there was a `{{`, and the input otherwise.
        assert_eq!(v("a/{{bogus.directive}}/b"), Ok((true, String::new())));
        assert_eq!(v("plain/path"), Ok((false, "plain/path".to_string())));
        assert_eq!(v(""), Ok((false, String::new())));
        assert_eq!(
            v("a/}}/{{x}}"),
            Err(TemplateError::UnbalancedTemplatingCharacters)
        );
        assert_eq!(
            v("a/{{x}}/{{y"),
            Err(TemplateError::UnbalancedTemplatingCharacters)
        );
        assert_eq!(
            v("a/{{x}}}}"),
            Err(TemplateError::UnbalancedTemplatingCharacters)
        );
        assert_eq!(has_templating("x/{{identity.entity.id}}"), Ok(true));
        assert_eq!(has_templating("x/y"), Ok(false));
        assert!(has_templating("x}}").unwrap_err().is_unbalanced());
    }

    #[test]
    fn template_no_templating_and_empty() {
        assert_eq!(
            run_with("", None, &[], "", &["/"]),
            Ok((false, String::new()))
        );
        // No `{{`: returned untouched, the blocked list does not apply to literal text.
        assert_eq!(
            run_with("secret/*", None, &[], "", &["/", "*"]),
            Ok((false, "secret/*".to_string()))
        );
    }

    #[test]
    fn template_entity_fields() {
        assert_eq!(ok("a/{{identity.entity.id}}/b"), "a/entityID/b");
        assert_eq!(ok("{{identity.entity.name}}"), "entityName");
        assert_eq!(ok("{{identity.entity.metadata.foo}}"), "bar");
        // Keys may contain dots: everything after `metadata.` is the key.
        assert_eq!(ok("{{identity.entity.metadata.a.b}}"), "dotted");
        // Present but empty substitutes "".
        assert_eq!(ok("x/{{identity.entity.metadata.empty}}/y"), "x//y");
        assert_eq!(err("{{identity.entity.metadata.missing}}"), NOT_FOUND);
        assert_eq!(err("{{identity.entity.metadata.}}"), NOT_FOUND);
        assert_eq!(err("{{identity.entity.metadata}}"), NOT_FOUND);
        assert_eq!(err("{{identity.entity.groups.names}}"), NOT_FOUND);
        assert_eq!(err("{{identity.entity.groups.ids}}"), NOT_FOUND);
        assert_eq!(err("{{identity.entity.bogus}}"), NOT_FOUND);
        assert_eq!(err("{{identity.entity.}}"), NOT_FOUND);
        // No trailing dot: not an entity directive at all.
        assert_eq!(err("{{identity.entity}}"), NOT_FOUND);
        let mut e = entity();
        e.id.clear();
        assert_eq!(
            run_with("{{identity.entity.id}}", Some(&e), &[], "", &[])
                .unwrap_err()
                .to_string(),
            NOT_FOUND
        );
    }

    #[test]
    fn template_no_entity() {
        let g = groups();
        assert_eq!(
            run_with("{{identity.entity.name}}", None, &g, "root", &[])
                .unwrap_err()
                .to_string(),
            "string contains entity template directives but no entity was provided"
        );
        // Groups and time directives do not need an entity.
        assert_eq!(
            run_with("{{identity.groups.ids.g1.name}}", None, &g, "root", &[]),
            Ok((true, "devs".to_string()))
        );
        assert_eq!(
            run_with("{{time.now}}", None, &[], "", &[]),
            Ok((true, "1700000000".to_string()))
        );
    }

    #[test]
    fn template_aliases() {
        assert_eq!(ok("{{identity.entity.aliases.auth_jwt_1.id}}"), "aliasID");
        // The first alias on the accessor wins.
        assert_eq!(
            ok("{{identity.entity.aliases.auth_jwt_1.name}}"),
            "aliasName"
        );
        assert_eq!(
            ok("{{identity.entity.aliases.auth_jwt_1.metadata.role}}"),
            "deploy"
        );
        assert_eq!(
            ok("{{identity.entity.aliases.auth_jwt_1.custom_metadata.team}}"),
            "infra"
        );
        assert_eq!(
            ok("p/{{identity.entity.aliases.auth_jwt_1.custom_metadata.blank}}"),
            "p/"
        );
        for bad in [
            "{{identity.entity.aliases.auth_jwt_1.custom_metadata}}",
            "{{identity.entity.aliases.auth_jwt_1.metadata}}",
            "{{identity.entity.aliases.auth_jwt_1.metadata.nope}}",
            "{{identity.entity.aliases.auth_jwt_1.custom_metadata.role}}",
            "{{identity.entity.aliases.auth_jwt_1.bogus}}",
            "{{identity.entity.aliases.auth_jwt_1.}}",
            "{{identity.entity.aliases.auth_empty.id}}",
            "{{identity.entity.aliases.auth_empty.name}}",
        ] {
            assert_eq!(err(bad), NOT_FOUND, "{bad}");
        }
        assert_eq!(
            err("{{identity.entity.aliases.auth_jwt_1}}"),
            "invalid alias selector"
        );
        assert_eq!(
            err("{{identity.entity.aliases.}}"),
            "invalid alias selector"
        );
        assert_eq!(
            err("{{identity.entity.aliases.nope.id}}"),
            "alias not found"
        );
    }

    #[test]
    fn template_groups() {
        assert_eq!(ok("{{identity.groups.ids.g1.name}}"), "devs");
        assert_eq!(ok("{{identity.groups.ids.g1.id}}"), "g1");
        assert_eq!(ok("{{identity.groups.names.devs.id}}"), "g1");
        assert_eq!(ok("{{identity.groups.names.devs.metadata.env}}"), "prod");
        assert_eq!(ok("x{{identity.groups.names.devs.metadata.none}}y"), "xy");
        assert_eq!(
            err("{{identity.groups.names.devs.metadata.nope}}"),
            NOT_FOUND
        );
        assert_eq!(err("{{identity.groups.names.devs.metadata}}"), NOT_FOUND);
        assert_eq!(err("{{identity.groups.names.devs.bogus}}"), NOT_FOUND);
        // By ID every group counts; by name only the policy's namespace.
        assert_eq!(ok("{{identity.groups.ids.g2.name}}"), "ops");
        assert_eq!(
            err("{{identity.groups.names.ops.id}}"),
            "entity is not a member of group \"ops\""
        );
        // An empty namespace ID disables the filter.
        let g = groups();
        assert_eq!(
            run_with("{{identity.groups.names.ops.id}}", None, &g, "", &[]),
            Ok((true, "g2".to_string()))
        );
        // Quirk: a group's ID is returned unchecked, even when empty; its name is not.
        assert_eq!(ok("a{{identity.groups.ids..id}}b"), "ab");
        assert_eq!(err("{{identity.groups.ids..name}}"), NOT_FOUND);
        assert_eq!(err("{{identity.groups.ids}}"), "invalid groups selector");
        assert_eq!(
            err("{{identity.groups.foo.g1.id}}"),
            "invalid groups selector"
        );
        assert_eq!(err("{{identity.groups.ids.g1}}"), "invalid groups accessor");
        assert_eq!(
            err("{{identity.groups.ids.x\"y.id}}"),
            "entity is not a member of group \"x\\\"y\""
        );
        // No groups at all: that error comes before the selector is looked at.
        let e = entity();
        assert_eq!(
            run_with("{{identity.groups.bogus}}", Some(&e), &[], "root", &[])
                .unwrap_err()
                .to_string(),
            "string contains groups template directives but no groups were provided"
        );
        // Not a groups directive (no trailing dot).
        assert_eq!(err("{{identity.groups}}"), NOT_FOUND);
    }

    #[test]
    fn template_unknown_directives_and_trimming() {
        assert_eq!(err("{{foo}}"), NOT_FOUND);
        assert_eq!(err("{{}}"), NOT_FOUND);
        assert_eq!(err("{{   }}"), NOT_FOUND);
        assert_eq!(err("{{time}}"), NOT_FOUND);
        assert_eq!(err("{{identity.entity.ID}}"), NOT_FOUND);
        assert_eq!(ok("{{ \t\nidentity.entity.id \u{a0}\u{3000}}}"), "entityID");
        // Inner spaces are not trimmed.
        assert_eq!(err("{{identity.entity. id}}"), NOT_FOUND);
        // Extra braces: `{{{` leaves a `{` in the directive, `}}}` leaves a `}` in the text.
        assert_eq!(err("{{{identity.entity.id}}"), NOT_FOUND);
        assert_eq!(ok("{{identity.entity.id}}}"), "entityID}");
        assert_eq!(
            ok("a{{identity.entity.id}}b{{identity.entity.name}}c"),
            "aentityIDbentityNamec"
        );
    }

    #[test]
    fn template_errors_stop_at_first_failing_piece() {
        // The unresolvable directive is reported before the later unbalanced `{{`.
        assert_eq!(err("{{identity.entity.nope}}/{{x"), NOT_FOUND);
        // An unbalanced piece before it wins.
        assert_eq!(
            err("{{x/{{identity.entity.nope}}"),
            "unbalanced templating characters"
        );
    }

    #[test]
    fn template_time() {
        let t = |s: &str| ok(s);
        assert_eq!(t("{{time.now}}"), "1700000000");
        assert_eq!(t("{{ time.now.plus.1h }}"), "1700003600");
        assert_eq!(t("{{time.now.minus.5m}}"), "1699999700");
        // parseutil.ParseDurationSecond: integers are seconds, `d` is days, "" is zero.
        assert_eq!(t("{{time.now.plus.90}}"), "1700000090");
        assert_eq!(t("{{time.now.plus.+90}}"), "1700000090");
        assert_eq!(t("{{time.now.plus.-90}}"), "1699999910");
        assert_eq!(t("{{time.now.plus.2d}}"), "1700172800");
        assert_eq!(t("{{time.now.minus.-1d}}"), "1700086400");
        assert_eq!(t("{{time.now.plus.}}"), "1700000000");
        assert_eq!(t("{{time.now.plus.1.5h}}"), "1700005400");
        assert_eq!(t("{{time.now.plus.1h30m}}"), "1700005400");
        // .Unix() floors.
        assert_eq!(t("{{time.now.plus.1.5s}}"), "1700000001");
        assert_eq!(t("{{time.now.minus.1.5s}}"), "1699999998");
        assert_eq!(t("{{time.now.minus.1ns}}"), "1699999999");
        assert_eq!(err("{{time.now.plus}}"), "missing time operand");
        assert_eq!(err("{{time.now.}}"), "missing time operand");
        assert_eq!(err("{{time.now.divide}}"), "missing time operand");
        assert_eq!(err("{{time.later}}"), "invalid time selector \"later\"");
        assert_eq!(err("{{time.}}"), "invalid time selector \"\"");
        assert_eq!(
            err("{{time.now.divide.5m}}"),
            "invalid time operator \"divide\""
        );
        // The duration is parsed before the operator is checked.
        assert_eq!(
            err("{{time.now.divide.abc}}"),
            "invalid duration: time: invalid duration \"abc\""
        );
        assert_eq!(
            err("{{time.now.plus.1x}}"),
            "invalid duration: time: unknown unit \"x\" in duration \"1x\""
        );
        assert_eq!(
            err("{{time.now.plus.1.5d}}"),
            "invalid duration: strconv.ParseInt: parsing \"1.5\": invalid syntax"
        );
        assert_eq!(
            err("{{time.now.plus.d}}"),
            "invalid duration: strconv.ParseInt: parsing \"\": invalid syntax"
        );
        assert_eq!(
            err("{{time.now.plus.999999999999d}}"),
            "invalid duration: multiplication of durations resulted in overflow, one operand may be too large"
        );
        assert_eq!(
            err("{{time.now.plus.99999999999999999999d}}"),
            "invalid duration: strconv.ParseInt: parsing \"99999999999999999999\": value out of range"
        );
        // Go's -math.MinInt64 wraps, so "minus" this duration goes back ~292 years too.
        let min = i64::MIN as i128;
        let expect = (1_700_000_000i128 * 1_000_000_000 + min).div_euclid(1_000_000_000);
        assert_eq!(
            t("{{time.now.minus.-9223372036854775808ns}}"),
            expect.to_string()
        );
        assert_eq!(
            t("{{time.now.plus.-9223372036854775808ns}}"),
            expect.to_string()
        );
    }

    #[test]
    fn template_blocked_substitutions() {
        let mut e = entity();
        e.metadata.insert("path".into(), "a/b".into());
        e.metadata.insert("star".into(), "a*".into());
        e.metadata.insert("both".into(), "a+/*".into());
        let g = groups();
        let blocked = blocked_substitutions(false, false);
        assert_eq!(blocked, vec!["/", "*", "+"]);
        assert_eq!(blocked_substitutions(true, false), vec!["/"]);
        assert_eq!(blocked_substitutions(false, true), vec!["*", "+"]);
        assert!(blocked_substitutions(true, true).is_empty());

        let r = |s: &str, b: &[&str]| run_with(s, Some(&e), &g, "root", b);
        // Literal text around the directive may contain blocked strings.
        assert_eq!(
            r("secret/+/{{identity.entity.name}}/*", &blocked),
            Ok((true, "secret/+/entityName/*".to_string()))
        );
        let err = r("secret/{{identity.entity.metadata.path}}", &blocked).unwrap_err();
        assert!(err.is_blocked_substitution());
        assert_eq!(
            err.to_string(),
            "template substitution contains forbidden value \"/\""
        );
        // The first blocked string in list order is reported.
        assert_eq!(
            r("{{identity.entity.metadata.both}}", &blocked)
                .unwrap_err()
                .to_string(),
            "template substitution contains forbidden value \"/\""
        );
        assert_eq!(
            r("{{identity.entity.metadata.both}}", &["+", "/"])
                .unwrap_err()
                .to_string(),
            "template substitution contains forbidden value \"+\""
        );
        assert_eq!(
            r(
                "{{identity.entity.metadata.path}}",
                &blocked_substitutions(false, true)
            ),
            Ok((true, "a/b".to_string()))
        );
        assert!(r(
            "{{identity.entity.metadata.star}}",
            &blocked_substitutions(true, false)
        )
        .is_ok());
        // Group values and alias values are checked as well.
        let mut g2 = g.clone();
        g2[0].metadata.insert("w".into(), "x+y".into());
        assert!(run_with(
            "{{identity.groups.ids.g1.metadata.w}}",
            None,
            &g2,
            "root",
            &blocked
        )
        .unwrap_err()
        .is_blocked_substitution());
        // Other errors are not the blocked-substitution error.
        assert!(!r("{{nope}}", &blocked)
            .unwrap_err()
            .is_blocked_substitution());
        // Go's strings.Contains(s, "") is true: an empty blocked string refuses everything.
        assert_eq!(
            r("{{identity.entity.id}}", &[""]).unwrap_err().to_string(),
            "template substitution contains forbidden value \"\""
        );
    }

    #[test]
    fn template_serde_accepts_null() {
        let e: Entity = serde_json::from_str(
            r#"{"id":"x","name":null,"metadata":null,"aliases":[{"mount_accessor":"m","metadata":null}]}"#,
        )
        .unwrap();
        assert_eq!(e.id, "x");
        assert!(e.name.is_empty() && e.metadata.is_empty());
        assert_eq!(e.aliases[0].mount_accessor, "m");
        let g: Group = serde_json::from_str(r#"{"id":"g","name":"n"}"#).unwrap();
        assert!(g.namespace_id.is_empty() && g.metadata.is_empty());
    }
}
