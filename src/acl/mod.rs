//! An exact reimplementation of Vault's and OpenBao's ACL engine.
//!
//! [`policy`] parses policies as the server does; [`Acl::new`] compiles the policies a token holds
//! into one ACL (merging identical patterns, resolving identity templates for an entity);
//! [`Acl::capabilities`] answers what `sys/capabilities` would answer on a path, with the policy
//! and rule behind it; [`Acl::allow_operation`] checks one request including its parameters.
//!
//! The server's own structure is kept (exact rules, prefix rules, segment-wildcard rules, checked
//! in the server's order) but indexed so a lookup costs the path's length, not the number of rules.

pub(crate) mod answer;
pub(crate) mod caps;
pub mod eval;
pub mod policy;
pub(crate) mod radix;
pub(crate) mod segtrie;
pub mod template;

use std::collections::BTreeMap;

pub use caps::Caps;
pub use eval::{Decision, OpRequest, OpResult, Operation};
pub use policy::{parse_policy, ParseOptions, Permissions, Policy, PolicyError, PolicySource};

use crate::duration::GoDuration;
use crate::hcl1::decode::Value;
use policy::{normalize, RuleKind};
use radix::Radix;
use segtrie::SegTrie;

/// Which server's semantics to follow where Vault and OpenBao differ (the snapshot records it):
/// OpenBao ≥ 2.6 checks the full path before the trimmed one for LIST/SCAN, has `scan`, lets the
/// root policy reach a namespace's descendants and blocks `/`, `*`, `+` in template values; Vault
/// (and OpenBao ≤ 2.5) tries the trimmed LIST path first.
pub use crate::model::Flavor;

/// One policy's rule that contributed to a merged rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSource {
    pub policy: String,
    pub policy_namespace: String,
    /// The rule's pattern as written (after template substitution, if any).
    pub rule: String,
    pub line: u32,
    pub caps: Caps,
}

/// A compiled rule: every rule of every policy with the same normalized pattern, merged.
#[derive(Debug, Clone)]
pub struct MergedRule {
    /// The normalized pattern, as the server stores it (prefix rules shown with their `*`).
    pub pattern: String,
    pub kind: RuleKind,
    pub perms: Permissions,
    /// Every contributing rule in policy order, including ones a `deny` overrode.
    pub sources: Vec<RuleSource>,
    /// Policy names per granted capability bit, as the server records them (audit only).
    pub granting: Vec<(Caps, Vec<String>)>,
}

impl MergedRule {
    /// The rules behind this rule's answer: the denying rules when it denies, else all.
    pub fn deciding_sources(&self) -> impl Iterator<Item = &RuleSource> {
        let deny = self.perms.caps.is_deny();
        self.sources
            .iter()
            .filter(move |s| !deny || s.caps.is_deny())
    }
}

/// Something about the ACL that the caller should report rather than silently absorb.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AclNote {
    /// A templated rule that could not be resolved for this token; the server drops it.
    TemplateDropped {
        policy: String,
        rule: String,
        reason: String,
    },
    /// A template substituted a blocked string (`/`, `*`, `+`, OpenBao 2.6+) into the rule: the
    /// server refuses to build the token's ACL, so **every request of the token fails**
    /// (verified against OpenBao 2.7.2 in `tests/suite/template_live.rs`: even `lookup-self` is
    /// refused). The ACL is marked [`Acl::is_forbidden`].
    TemplateBlocked {
        policy: String,
        rule: String,
        reason: String,
    },
    /// A substituted rule path the server cannot parse (e.g. `+*` from a template the policy
    /// allows wildcards in): the whole policy fails, and with it every request of the token.
    TemplateForbidden {
        policy: String,
        rule: String,
        reason: String,
    },
    /// A rule whose `expiration` has passed; the server ignores it.
    Expired { policy: String, rule: String },
}

/// The identity a token carries, for templated policies.
#[derive(Debug, Clone, Copy, Default)]
pub struct Identity<'a> {
    pub entity: Option<&'a template::Entity>,
    /// Direct and inherited groups of the entity.
    pub groups: &'a [template::Group],
}

/// Error building an ACL (the server refuses the request).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AclError {
    #[error("other policies present along with root")]
    RootWithOthers,
    #[error("root policy is only allowed in the root namespace on Vault")]
    RootOutsideRootNamespace,
}

/// The compiled ACL of one token.
#[derive(Debug, Clone)]
pub struct Acl {
    flavor: Flavor,
    /// Namespace path of the root policy when the token is root.
    root: Option<String>,
    /// Exact rules: a hash map beats a trie walk for whole-key lookups.
    exact: rustc_hash::FxHashMap<Box<str>, u32>,
    prefix: Radix<u32>,
    seg: SegTrie,
    rules: Vec<MergedRule>,
    notes: Vec<AclNote>,
    forbidden: bool,
}

/// Inputs of [`Acl::new`] beside the policies.
#[derive(Debug, Clone, Copy)]
pub struct AclContext<'a> {
    pub flavor: Flavor,
    /// Namespace path of the token (`""` for root).
    pub token_namespace: &'a str,
    pub identity: Identity<'a>,
    pub now_unix_nanos: i128,
}

impl Default for AclContext<'_> {
    fn default() -> Self {
        AclContext {
            flavor: Flavor::OpenBao,
            token_namespace: "",
            identity: Identity::default(),
            now_unix_nanos: time::OffsetDateTime::now_utc().unix_timestamp_nanos(),
        }
    }
}

impl Acl {
    /// Compile the policies of one token (`NewACL`). `special_root` adds the virtual `root`
    /// policy, which must then be the only one.
    pub fn new(
        policies: &[&Policy],
        special_root: bool,
        ctx: &AclContext,
    ) -> Result<Acl, AclError> {
        let mut acl = Acl {
            flavor: ctx.flavor,
            root: None,
            exact: Default::default(),
            prefix: Radix::new(),
            seg: SegTrie::default(),
            rules: Vec::new(),
            notes: Vec::new(),
            forbidden: false,
        };
        if special_root {
            if !policies.is_empty() {
                return Err(AclError::RootWithOthers);
            }
            if ctx.flavor == Flavor::Vault && !ctx.token_namespace.is_empty() {
                return Err(AclError::RootOutsideRootNamespace);
            }
            acl.root = Some(ctx.token_namespace.to_string());
            return Ok(acl);
        }
        // Segment rules are keyed by their full pattern until the trie is built.
        let mut seg_ids: BTreeMap<String, u32> = BTreeMap::new();
        for p in policies {
            for rule in &p.rules {
                let mut key = rule.key.clone();
                if rule.expiration.is_some_and(|t| ctx.now_unix_nanos > t) {
                    acl.notes.push(AclNote::Expired {
                        policy: p.name.clone(),
                        rule: rule.key.clone(),
                    });
                    continue;
                }
                if rule.templated {
                    match resolve_template(p, &rule.key, ctx) {
                        Ok(k) => key = k,
                        Err((blocked, reason)) => {
                            let note = if blocked {
                                acl.forbidden = true;
                                AclNote::TemplateBlocked {
                                    policy: p.name.clone(),
                                    rule: rule.key.clone(),
                                    reason,
                                }
                            } else {
                                AclNote::TemplateDropped {
                                    policy: p.name.clone(),
                                    rule: rule.key.clone(),
                                    reason,
                                }
                            };
                            acl.notes.push(note);
                            continue;
                        }
                    }
                }
                let norm = match normalize(&key, &p.namespace_path) {
                    Ok(n) => n,
                    Err(reason) => {
                        // Only reachable through a substituted template: the server fails the
                        // whole policy, and so the request.
                        acl.forbidden = true;
                        acl.notes.push(AclNote::TemplateForbidden {
                            policy: p.name.clone(),
                            rule: rule.key.clone(),
                            reason: reason.to_string(),
                        });
                        continue;
                    }
                };
                let next_id = acl.rules.len() as u32;
                let id = match norm.kind {
                    RuleKind::Exact => *acl
                        .exact
                        .entry(norm.path.as_str().into())
                        .or_insert(next_id),
                    RuleKind::Prefix => *acl
                        .prefix
                        .entry_or_insert_with(norm.path.as_bytes(), || next_id),
                    RuleKind::Segment => *seg_ids.entry(norm.path.clone()).or_insert(next_id),
                };
                let source = RuleSource {
                    policy: p.name.clone(),
                    policy_namespace: p.namespace_path.clone(),
                    rule: key.clone(),
                    line: rule.line,
                    caps: rule.perms.caps,
                };
                if id == next_id {
                    let pattern = match norm.kind {
                        RuleKind::Prefix => format!("{}*", norm.path),
                        _ => norm.path.clone(),
                    };
                    let granting = granting_for(rule.perms.caps, &p.name, Vec::new());
                    acl.rules.push(MergedRule {
                        pattern,
                        kind: norm.kind,
                        perms: rule.perms.clone(),
                        sources: vec![source],
                        granting,
                    });
                } else {
                    let existing = &mut acl.rules[id as usize];
                    existing.sources.push(source);
                    merge(existing, &rule.perms, &p.name);
                }
            }
        }
        for (pattern, id) in seg_ids {
            acl.seg.insert(&pattern, id);
        }
        Ok(acl)
    }

    pub fn flavor(&self) -> Flavor {
        self.flavor
    }

    /// True when the token holds the root policy.
    pub fn is_root(&self) -> bool {
        self.root.is_some()
    }

    /// Templates that could not be resolved, expired rules, and the like.
    pub fn notes(&self) -> &[AclNote] {
        &self.notes
    }

    /// A templated rule substituted a blocked string, or could not be parsed after substitution:
    /// the server fails every request of the token. The rules are still compiled (for
    /// explanations), but callers must treat the token as able to do nothing.
    pub fn is_forbidden(&self) -> bool {
        self.forbidden
    }

    pub fn rules(&self) -> &[MergedRule] {
        &self.rules
    }

    pub fn rule(&self, id: u32) -> &MergedRule {
        &self.rules[id as usize]
    }
}

/// Substitute a templated rule key for the token's identity.
fn resolve_template(p: &Policy, key: &str, ctx: &AclContext) -> Result<String, (bool, String)> {
    let blocked = if ctx.flavor == Flavor::OpenBao {
        template::blocked_substitutions(
            p.allow_wildcards_in_identity_templates,
            p.allow_slashes_in_identity_templates,
        )
    } else {
        Vec::new()
    };
    let now = (ctx.now_unix_nanos / 1_000_000_000) as i64;
    let input = template::PopulateInput {
        string: key,
        entity: ctx.identity.entity,
        groups: ctx.identity.groups,
        namespace_id: &p.namespace_id,
        blocked_substitutions: &blocked,
        now_unix: now,
        validity_check_only: false,
    };
    match template::populate(&input) {
        Ok((_, out)) => Ok(out),
        Err(e) => Err((e.is_blocked_substitution(), e.to_string())),
    }
}

fn granting_for(
    caps: Caps,
    policy: &str,
    mut g: Vec<(Caps, Vec<String>)>,
) -> Vec<(Caps, Vec<String>)> {
    for (c, _) in Caps::NAMED {
        if caps.intersects(c) {
            match g.iter_mut().find(|(k, _)| *k == c) {
                Some((_, v)) => v.push(policy.to_string()),
                None => g.push((c, vec![policy.to_string()])),
            }
        }
    }
    g
}

/// Merge a rule into an existing one with the same pattern (`NewACL`).
fn merge(existing: &mut MergedRule, new: &Permissions, policy: &str) {
    let existing_perms = &mut existing.perms;
    if existing_perms.caps.is_deny() {
        return;
    }
    if new.caps.is_deny() {
        existing_perms.caps = Caps::DENY;
        existing_perms.allowed_parameters = None;
        existing_perms.denied_parameters = None;
    } else {
        existing_perms.caps |= new.caps;
        existing.granting = granting_for(new.caps, policy, std::mem::take(&mut existing.granting));
    }
    let zero = GoDuration::ZERO;
    if new.max_wrapping_ttl > zero
        && (existing_perms.max_wrapping_ttl == zero
            || new.max_wrapping_ttl < existing_perms.max_wrapping_ttl)
    {
        existing_perms.max_wrapping_ttl = new.max_wrapping_ttl;
    }
    if new.min_wrapping_ttl > zero
        && (existing_perms.min_wrapping_ttl == zero
            || new.min_wrapping_ttl < existing_perms.min_wrapping_ttl)
    {
        existing_perms.min_wrapping_ttl = new.min_wrapping_ttl;
    }
    merge_params(
        &mut existing_perms.allowed_parameters,
        &new.allowed_parameters,
    );
    merge_params(
        &mut existing_perms.denied_parameters,
        &new.denied_parameters,
    );
    for r in &new.required_parameters {
        if !existing_perms.required_parameters.contains(r) {
            existing_perms.required_parameters.push(r.clone());
        }
    }
    for m in &new.mfa_methods {
        if !existing_perms.mfa_methods.contains(m) {
            existing_perms.mfa_methods.push(m.clone());
        }
    }
    if new.pagination_limit > 0
        && (existing_perms.pagination_limit <= 0
            || new.pagination_limit < existing_perms.pagination_limit)
    {
        existing_perms.pagination_limit = new.pagination_limit;
    }
    if !new.response_keys_filter_path.is_empty()
        && existing_perms.response_keys_filter_path.is_empty()
    {
        existing_perms.response_keys_filter_path = new.response_keys_filter_path.clone();
    }
}

/// Parameter maps merge per key: an empty list (any value) absorbs, otherwise the new values go
/// first (`append(value, existing...)`).
fn merge_params(
    existing: &mut Option<BTreeMap<String, Vec<Value>>>,
    new: &Option<BTreeMap<String, Vec<Value>>>,
) {
    let Some(new) = new.as_ref().filter(|m| !m.is_empty()) else {
        return;
    };
    match existing {
        None => *existing = Some(new.clone()),
        Some(e) => {
            for (k, v) in new {
                let cur = e.get(k);
                if v.is_empty() || cur.is_some_and(|c| c.is_empty()) {
                    e.insert(k.clone(), Vec::new());
                } else {
                    let mut merged = v.clone();
                    if let Some(c) = cur {
                        merged.extend(c.iter().cloned());
                    }
                    e.insert(k.clone(), merged);
                }
            }
        }
    }
}
