//! Reach: for each pipeline, the roles it can log into, the policies its tokens hold, and every
//! secret it can reach with the capabilities the server would answer, with the chain that grants
//! each one. Unknowns (coverage gaps, unresolved templates, undecidable admissions) are listed,
//! never turned into "no access".

use std::collections::BTreeSet;
use std::sync::Arc;

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::Serialize;

use super::identity::{self, PolicyOrigin, PolicyRef, TokenIdentity};
use super::secrets::SecretIndex;
use crate::acl::{
    self, Acl, AclContext, AclNote, Caps, Identity, ParseOptions, Policy, PolicySource,
};
use crate::inventory::{AuthMethod, Inventory, Pipeline};
use crate::login::{self, Admission, Credential, Method, Verdict};
use crate::model::{Affects, AuthMount, Namespace, SecretKind, Snapshot, SnapshotIndex};

/// Something the analysis could not decide, with what it affects.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
pub struct Unknown {
    /// `coverage`, `admission`, `template`, `policy`, `inventory`, `identity`, `unmodelled`.
    pub kind: &'static str,
    pub detail: String,
}

impl Unknown {
    fn new(kind: &'static str, detail: impl Into<String>) -> Unknown {
        Unknown {
            kind,
            detail: detail.into(),
        }
    }
}

/// One link of the chain that grants a secret: role → (entity/group →) policy → rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
pub struct Via {
    pub role: String,
    pub mount: String,
    pub policy: String,
    pub rule: String,
    /// Line of the rule in the policy text.
    pub line: u32,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub policy_namespace: String,
    /// How the token holds the policy: from the role, the entity, or a group.
    pub origin: PolicyOrigin,
    /// `admitted`, or `unknown` when the login itself could not be decided.
    pub admission: Verdict,
}

/// A login whose entity is disabled: the server refuses it (permission denied), whatever the
/// role admits, so no token exists.
fn refuse_disabled(admission: &mut Admission, id: &TokenIdentity) {
    let entity = id.entity_ref.as_ref().map_or("", |e| e.1.as_str());
    admission.verdict = Verdict::Refused;
    admission.why = format!(
        "the login maps to entity {entity:?}, which is disabled: the server refuses the login \
         (permission denied) although the role admits the credential ({})",
        admission.why
    );
}

/// A role of the pipeline's mount and whether the pipeline can log into it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RoleReach {
    pub mount: String,
    pub role: String,
    pub namespace: String,
    pub admitted: bool,
    pub why: String,
    pub verdict: Verdict,
    /// The role named in the inventory.
    pub configured: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknowns: Vec<String>,
    /// The policies a token of this login holds.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<PolicyRef>,
    /// The entity the login maps to, if it exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    /// Token lifetime of this login, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_ttl: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_max_ttl: Option<i64>,
    /// Number of secrets reachable through this role alone.
    pub secrets: usize,
}

/// A secret a pipeline can reach.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SecretReach {
    /// The API path whose capabilities are given (namespace-relative).
    pub path: String,
    // Shared by every secret of the mount (the secret index's string).
    pub mount: Arc<str>,
    pub key: String,
    // Shared by every secret of the namespace (the secret index's string).
    pub namespace: Arc<str>,
    /// Union over every role the pipeline can log into.
    pub capabilities: Vec<&'static str>,
    /// Shared between the secrets a rule decides for the same login (serialised as a list).
    pub via: Arc<[Via]>,
    /// What the role named in the inventory alone gives (absent when none is named).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub configured_role_capabilities: Option<Vec<&'static str>>,
    #[serde(skip)]
    pub caps: Caps,
    #[serde(skip)]
    pub secret_id: u32,
}

/// The document `blastmap reach --format json` writes. The command streams it a chunk of
/// pipelines at a time (it can be gigabytes) and writes exactly what `serde_json::to_writer_pretty`
/// writes for this struct; the type is the one definition of that shape and its schema.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ReachDocument<'a> {
    /// The version of this JSON shape (docs/schemas/README.md).
    pub schema_version: u32,
    pub pipelines: &'a [PipelineReach],
}

/// The blast radius of one pipeline.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PipelineReach {
    pub name: String,
    pub team: Option<String>,
    pub roles: Vec<RoleReach>,
    pub secrets: Vec<SecretReach>,
    pub unknowns: Vec<Unknown>,
}

/// A reached secret while a pipeline is assembled: (secret id, capabilities, capabilities of the
/// configured role, chains).
type SecretRow = (u32, Caps, Option<Caps>, Arc<[Via]>);

/// The selected pipelines of a reach run with their logins and compiled tokens: what each
/// pipeline's reach is assembled from, and what the facts of those pipelines read.
pub struct Prepared<'a> {
    selected: Vec<&'a Pipeline>,
    logins: Vec<PipelineLogins<'a>>,
    tokens: Vec<TokenReach>,
    opts: ReachOptions,
}

impl<'a> Prepared<'a> {
    /// The selected pipelines, in inventory order.
    pub fn selected(&self) -> &[&'a Pipeline] {
        &self.selected
    }

    /// Each selected pipeline's logins (same order as [`selected`](Self::selected)).
    pub fn logins(&self) -> &[PipelineLogins<'a>] {
        &self.logins
    }

    /// The compiled tokens the logins index into.
    pub fn tokens(&self) -> &[TokenReach] {
        &self.tokens
    }
}

/// A reach run ready to be assembled: an analysis and the logins and tokens prepared on it
/// ([`Analysis::prepare_reach`]). The prepared part is shared, so a review can keep it for
/// every later pass over the same pipelines.
pub struct PreparedReach<'r, 'a> {
    analysis: &'r Analysis<'a>,
    prepared: Arc<Prepared<'a>>,
}

impl<'r, 'a> PreparedReach<'r, 'a> {
    /// The reach run of `prepared`, which was prepared on `analysis`.
    pub(crate) fn new(analysis: &'r Analysis<'a>, prepared: Arc<Prepared<'a>>) -> Self {
        PreparedReach { analysis, prepared }
    }

    /// The logins and compiled tokens, borrowed.
    pub fn parts(&self) -> (&[PipelineLogins<'a>], &[TokenReach]) {
        (&self.prepared.logins, &self.prepared.tokens)
    }

    /// The logins and tokens, shared.
    pub fn prepared(&self) -> &Arc<Prepared<'a>> {
        &self.prepared
    }

    /// The analysis the reach was prepared on.
    pub fn analysis(&self) -> &'r Analysis<'a> {
        self.analysis
    }
}

/// The logins and tokens of another analysis (a what-if's base), for an analysis of a similar
/// snapshot: a login or token whose inputs are equal on both sides is copied, not recomputed.
#[derive(Clone, Copy)]
struct Reusable<'r, 'b> {
    analysis: &'r Analysis<'b>,
    selected: &'r [&'b Pipeline],
    logins: &'r [PipelineLogins<'b>],
    tokens: &'r [TokenReach],
}

impl<'r, 'b> Reusable<'r, 'b> {
    /// What `prepared`, prepared on `analysis`, offers an analysis of a similar snapshot.
    fn of(analysis: &'r Analysis<'b>, prepared: &'r Prepared<'b>) -> Self {
        Reusable {
            analysis,
            selected: &prepared.selected,
            logins: &prepared.logins,
            tokens: &prepared.tokens,
        }
    }
}

impl PreparedReach<'_, '_> {
    /// Number of selected pipelines.
    pub fn len(&self) -> usize {
        self.prepared.selected.len()
    }

    pub fn is_empty(&self) -> bool {
        self.prepared.selected.is_empty()
    }

    /// What a pipeline's reach amounts to for a what-if, without its chains: the union of the
    /// capabilities its possible logins' tokens grant, per secret id (ascending), and its possible
    /// logins as (namespace, mount, role). Two reaches with equal summaries (over secret indexes
    /// with the same paths) differ at most in their chains.
    pub fn summary(&self, i: usize) -> ReachSummary {
        let mut grants: Vec<(u32, Caps)> = Vec::new();
        let mut roles = BTreeSet::new();
        let prepared = &self.prepared;
        for l in &prepared.logins[i].0 {
            if !l.admission.is_possible() {
                continue;
            }
            roles.insert((
                crate::model::namespace_path(&l.namespace.path).into_owned(),
                mount_name(&l.mount.path),
                l.role.clone(),
            ));
            if let Some(t) = l.token {
                grants.extend(
                    prepared.tokens[t]
                        .grants
                        .iter()
                        .map(|&(sid, caps, _)| (sid, caps)),
                );
            }
        }
        grants.sort_unstable_by_key(|g| g.0);
        let mut merged: Vec<(u32, Caps)> = Vec::with_capacity(grants.len());
        for (sid, caps) in grants {
            match merged.last_mut() {
                Some(last) if last.0 == sid => last.1 |= caps,
                _ => merged.push((sid, caps)),
            }
        }
        ReachSummary {
            grants: merged,
            roles,
        }
    }

    /// The reach of the selected pipelines at `indices` (each below [`len`](Self::len)), in
    /// parallel, in the order given.
    pub fn assemble_at(&self, indices: &[usize]) -> Vec<PipelineReach> {
        let prepared = &self.prepared;
        indices
            .par_iter()
            .map(|&i| {
                let (logins, unknowns) = &prepared.logins[i];
                self.analysis.assemble(
                    prepared.selected[i],
                    logins,
                    unknowns,
                    &prepared.tokens,
                    &prepared.opts,
                )
            })
            .collect()
    }

    /// The reach of the selected pipelines in `range` (in inventory order), in parallel.
    pub fn assemble(&self, range: std::ops::Range<usize>) -> Vec<PipelineReach> {
        let prepared = &self.prepared;
        prepared.selected[range.clone()]
            .par_iter()
            .zip(prepared.logins[range].par_iter())
            .map(|(p, (ls, unknowns))| {
                self.analysis
                    .assemble(p, ls, unknowns, &prepared.tokens, &prepared.opts)
            })
            .collect()
    }
}

/// See [`PreparedReach::summary`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReachSummary {
    pub grants: Vec<(u32, Caps)>,
    pub roles: BTreeSet<(String, String, String)>,
}

/// Options of a reach run.
#[derive(Debug, Clone, Default)]
pub struct ReachOptions {
    /// Only these pipelines (all when empty).
    pub pipelines: Vec<String>,
    /// List refused roles of the mount too (by default only possible and configured roles).
    pub all_roles: bool,
}

/// The ACL of one token identity and what it grants.
#[derive(Debug)]
pub struct TokenReach {
    pub identity: TokenIdentity,
    pub acl: Acl,
    /// (secret id, capabilities, winning rule id)
    pub grants: Vec<(u32, Caps, u32)>,
    pub unknowns: Vec<Unknown>,
}

/// One possible login of a pipeline.
#[derive(Debug)]
pub struct Login<'a> {
    pub namespace: &'a Namespace,
    pub mount: &'a AuthMount,
    pub role: String,
    pub admission: Admission,
    pub configured: bool,
    /// What this login's token holds (policies with their origins, entity), for possible logins.
    pub identity: Option<TokenIdentity>,
    /// Index into the analysis' token table (logins with equal ACLs share one), for possible
    /// logins.
    pub token: Option<usize>,
}

/// The possible logins of one pipeline and what is unknown about them.
pub type PipelineLogins<'a> = (Vec<Login<'a>>, Vec<Unknown>);

/// A snapshot and an inventory, prepared for queries: parsed policies, secret index, logins.
pub struct Analysis<'a> {
    pub snapshot: &'a Snapshot,
    pub index: SnapshotIndex<'a>,
    pub inventory: &'a Inventory,
    /// Shared with the analysis of another snapshot with the same secrets (a what-if's base).
    pub secrets: Arc<SecretIndex>,
    /// Every policy of the snapshot, parsed once, expired ones included (see `expired`).
    policies: FxHashMap<(String, String), Result<Arc<Policy>, acl::PolicyError>>,
    /// Policies past their expiration: the server ignores them, so tokens do not get them.
    expired: BTreeSet<(String, String)>,
}

/// Mount types that hold no shared secrets to inventory (per-token cubbyholes, the identity and
/// system backends).
const NOT_INVENTORIED: &[&str] = &[
    "cubbyhole",
    "ns_cubbyhole",
    "identity",
    "ns_identity",
    "system",
    "ns_system",
    "token",
];

fn mount_name(path: &str) -> String {
    path.trim_end_matches('/').to_string()
}

/// Whether two snapshots hold the same secret mounts in the same namespaces (then their secret
/// indexes are equal).
fn same_secret_mounts(a: &Snapshot, b: &Snapshot) -> bool {
    a.namespaces.len() == b.namespaces.len()
        && a.namespaces
            .iter()
            .zip(&b.namespaces)
            .all(|(x, y)| x.path == y.path && x.secret_mounts == y.secret_mounts)
}

impl<'a> Analysis<'a> {
    /// Index the snapshot and parse every policy once (in parallel).
    pub fn new(snapshot: &'a Snapshot, inventory: &'a Inventory) -> Analysis<'a> {
        Self::build(snapshot, inventory, None)
    }

    /// [`new`](Self::new) for a snapshot that differs little from `base`'s (the head of a
    /// what-if, see `Review::derive`): the secret index is shared when both snapshots hold the
    /// same secret mounts, and a policy whose source equals the base's is not parsed again. The
    /// result is the same as [`new`](Self::new)'s.
    pub(crate) fn new_reusing(
        snapshot: &'a Snapshot,
        inventory: &'a Inventory,
        base: &Analysis<'_>,
    ) -> Analysis<'a> {
        Self::build(snapshot, inventory, Some(base))
    }

    fn build(
        snapshot: &'a Snapshot,
        inventory: &'a Inventory,
        base: Option<&Analysis<'_>>,
    ) -> Analysis<'a> {
        let opts = ParseOptions {
            flavor: snapshot.server.flavor,
            ..Default::default()
        };
        let base = base.filter(|b| b.snapshot.server.flavor == snapshot.server.flavor);
        // The base's policies by key, with the id of their namespace (part of the source).
        let base_sources: FxHashMap<(String, String), (&str, &crate::model::Policy)> = base
            .map(|b| {
                b.snapshot
                    .namespaces
                    .iter()
                    .flat_map(|ns| {
                        ns.policies.iter().map(move |p| {
                            (
                                (crate::model::namespace_path(&ns.path).into_owned(), p.key()),
                                (ns.id.as_str(), p),
                            )
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut policies: FxHashMap<(String, String), Result<Arc<Policy>, acl::PolicyError>> =
            FxHashMap::default();
        let sources: Vec<((String, String), PolicySource)> = snapshot
            .namespaces
            .iter()
            .flat_map(|ns| ns.policies.iter().map(move |p| (ns, p)))
            .filter_map(|(ns, p)| {
                let key = (crate::model::namespace_path(&ns.path).into_owned(), p.key());
                if let (Some(b), Some((id, bp))) = (base, base_sources.get(&key)) {
                    if *id == ns.id && *bp == p {
                        if let Some(parsed) = b.policies.get(&key) {
                            policies.insert(key, parsed.clone());
                            return None;
                        }
                    }
                }
                Some((key, PolicySource::from_snapshot(ns, p)))
            })
            .collect();
        let shared_secrets = base
            .filter(|b| same_secret_mounts(b.snapshot, snapshot))
            .map(|b| b.secrets.clone());
        let index_shared = shared_secrets.is_some();
        let now = time::OffsetDateTime::now_utc();
        let expired: BTreeSet<(String, String)> = snapshot
            .namespaces
            .iter()
            .flat_map(|ns| {
                ns.policies
                    .iter()
                    .filter(|p| p.is_expired_at(now))
                    .map(move |p| (crate::model::namespace_path(&ns.path).into_owned(), p.key()))
            })
            .collect();
        // Policies and the secret index are independent: build them side by side.
        let (parsed, secrets) = rayon::join(
            || {
                sources
                    .into_par_iter()
                    .map(|(k, src)| {
                        let parsed = acl::parse_policy(&src, &opts).map(Arc::new);
                        (k, parsed)
                    })
                    .collect::<Vec<_>>()
            },
            || shared_secrets.unwrap_or_else(|| Arc::new(SecretIndex::build(snapshot))),
        );
        policies.extend(parsed);
        if !index_shared {
            // Building the index left its per-mount lists free in the worker threads' arenas.
            crate::review::return_free_memory();
        }
        Analysis {
            snapshot,
            index: snapshot.index(),
            inventory,
            secrets,
            policies,
            expired,
        }
    }

    /// Every policy of the snapshot parsed (expired ones included), keyed by (namespace path,
    /// name), for passes that describe policies rather than tokens (facts).
    pub fn parsed_policies(
        &self,
    ) -> &FxHashMap<(String, String), Result<Arc<Policy>, acl::PolicyError>> {
        &self.policies
    }

    /// A policy a token can hold: parsed, or why not; `None` when it does not exist or expired.
    fn live_policy(
        &self,
        key: &(String, String),
    ) -> Option<&Result<Arc<Policy>, acl::PolicyError>> {
        if self.expired.contains(key) {
            return None;
        }
        self.policies.get(key)
    }

    /// The credential a pipeline presents; `None` when its method is only known at run time.
    fn credential<'p>(p: &'p Pipeline) -> Option<Credential<'p>> {
        let auth = &p.auth;
        let method = match auth.method {
            AuthMethod::Dynamic => return None,
            AuthMethod::Jwt => Method::Jwt,
            AuthMethod::Oidc => Method::Oidc,
            AuthMethod::Kubernetes => Method::Kubernetes,
            AuthMethod::Approle => Method::AppRole,
            AuthMethod::Cert => Method::Cert,
            AuthMethod::Userpass => Method::Userpass,
            AuthMethod::Ldap => Method::Ldap,
            AuthMethod::Token => Method::Token,
            AuthMethod::Aws => Method::Aws,
            AuthMethod::Gcp => Method::Gcp,
            AuthMethod::Azure => Method::Azure,
            AuthMethod::Github => Method::Github,
        };
        let mut credential = Credential::new(method);
        credential.claims = auth.claims.as_ref();
        credential.service_account = auth.service_account.as_deref();
        credential.service_account_namespace = auth.service_account_namespace.as_deref();
        credential.role_name = match method {
            Method::AppRole | Method::Token => auth.configured_role(),
            _ => None,
        };
        credential.common_name = auth.common_name.as_deref();
        credential.user = auth.user.as_deref();
        credential.groups = &auth.groups;
        credential.source_addresses =
            (!auth.source_addresses.is_empty()).then_some(&auth.source_addresses[..]);
        credential.entity_alias = auth.entity_alias.as_deref();
        credential.aws = auth.aws.as_ref();
        credential.gcp = auth.gcp.as_ref();
        credential.azure = auth.azure.as_ref();
        credential.github = auth.github.as_ref();
        Some(credential)
    }

    /// The logins a pipeline can attempt on its mount, and what is unknown about them.
    pub fn logins(&self, p: &'a Pipeline) -> (Vec<Login<'a>>, Vec<Unknown>) {
        let mut unknowns = Vec::new();
        let Some(cred) = Self::credential(p) else {
            let written = p
                .dynamic
                .iter()
                .find(|d| d.field == "auth.method")
                .map(|d| format!(" ({})", d.expression))
                .unwrap_or_default();
            unknowns.push(Unknown::new(
                "inventory",
                format!("the pipeline's auth method is only known when it runs{written}: where it logs in and what it reaches are unknown"),
            ));
            return (Vec::new(), unknowns);
        };
        let ns_path = p.auth.namespace_path();
        let Some(ns) = self.index.namespace(&ns_path) else {
            let detail = if self.snapshot.is_known(&ns_path, &Affects::Namespaces, None) {
                format!("namespace {ns_path:?} is not in the snapshot: the pipeline cannot log in there")
            } else {
                format!("namespace {ns_path:?} could not be exported: its logins are unknown")
            };
            unknowns.push(Unknown::new("inventory", detail));
            return (Vec::new(), unknowns);
        };
        let mount_path = p.auth.mount_path();
        let Some(mount) = self.index.auth_mount(&ns_path, &mount_path) else {
            let kind = if self.snapshot.is_known(&ns_path, &Affects::AuthMounts, None) {
                "inventory"
            } else {
                "coverage"
            };
            unknowns.push(Unknown::new(
                kind,
                format!(
                    "auth mount auth/{mount_path} is not in namespace {ns_path:?} of the snapshot"
                ),
            ));
            return (Vec::new(), unknowns);
        };
        let api_mount = format!("auth/{mount_path}");
        if !self
            .snapshot
            .is_known(&ns_path, &Affects::Roles, Some(&api_mount))
        {
            unknowns.push(Unknown::new(
                "coverage",
                format!("the roles of {api_mount} could not be read: roles missing from the snapshot may admit this pipeline"),
            ));
        }
        let configured = p.auth.configured_role().map(str::to_lowercase);
        let mut out = Vec::new();
        let mut configured_found = false;
        for (role, admission) in login::admit_all(mount, &cred, &self.snapshot.server) {
            let is_conf = configured
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case(&role));
            configured_found |= is_conf;
            out.push(Login {
                namespace: ns,
                mount,
                role,
                admission,
                configured: is_conf,
                identity: None,
                token: None,
            });
        }
        if let (Some(c), false) = (&configured, configured_found) {
            unknowns.push(Unknown::new(
                "inventory",
                format!(
                    "the configured role {c:?} does not exist on {api_mount}: that login fails"
                ),
            ));
        }
        (out, unknowns)
    }

    /// Whether any policy of the identity holds identity templates (then the entity matters).
    pub fn templated(&self, id: &TokenIdentity) -> bool {
        id.policies.iter().any(|p| {
            matches!(
                self.live_policy(&(p.namespace.clone(), p.name.clone())),
                Some(Ok(pol)) if pol.templated
            )
        })
    }

    /// Compile the ACL of a token identity and find what it grants.
    pub fn token_reach(&self, identity: TokenIdentity) -> TokenReach {
        let mut unknowns: Vec<Unknown> = identity
            .notes
            .iter()
            .map(|n| Unknown::new("identity", n.clone()))
            .collect();
        let mut parsed: Vec<Arc<Policy>> = Vec::new();
        let mut seen = BTreeSet::new();
        for p in &identity.policies {
            if !seen.insert((p.namespace.clone(), p.name.clone())) {
                continue;
            }
            match self.live_policy(&(p.namespace.clone(), p.name.clone())) {
                Some(Ok(pol)) => parsed.push(pol.clone()),
                Some(Err(e)) => unknowns.push(Unknown::new(
                    "policy",
                    format!(
                        "policy {:?} cannot be parsed ({e}); its grants are unknown",
                        p.name
                    ),
                )),
                None => {
                    if !self
                        .snapshot
                        .is_known(&p.namespace, &Affects::Policies, None)
                    {
                        unknowns.push(Unknown::new(
                            "coverage",
                            format!(
                                "policy {:?} in namespace {:?} could not be exported; its grants are unknown",
                                p.name, p.namespace
                            ),
                        ));
                    }
                    // Otherwise the policy does not exist, and the server ignores the name.
                }
            }
        }
        let refs: Vec<&Policy> = parsed.iter().map(|p| p.as_ref()).collect();
        let ctx = AclContext {
            flavor: self.snapshot.server.flavor,
            token_namespace: &identity.token_namespace,
            identity: Identity {
                entity: identity.entity.as_ref(),
                groups: &identity.groups,
            },
            ..Default::default()
        };
        let acl = Acl::new(&refs, false, &ctx)
            .unwrap_or_else(|_| Acl::new(&[], false, &ctx).expect("an empty ACL always compiles"));
        for n in acl.notes() {
            match n {
                AclNote::TemplateDropped { policy, rule, reason } => {
                    // Only worth saying when the rule could have granted an inventoried secret.
                    let lit = rule.split("{{").next().unwrap_or("");
                    let lit = format!("{}{}", identity.token_namespace, lit.trim_start_matches('/'));
                    if self.secrets.any_with_prefix(&lit) {
                        unknowns.push(Unknown::new(
                            "template",
                            format!("policy {policy:?}, path {rule:?}: identity template not resolved for this login ({reason}); the rule is dropped, as the server drops it"),
                        ));
                    }
                }
                AclNote::TemplateForbidden { policy, rule, reason }
                | AclNote::TemplateBlocked { policy, rule, reason } => unknowns.push(Unknown::new(
                    "template",
                    format!("policy {policy:?}, path {rule:?}: {reason}; the server fails every request of this token"),
                )),
                AclNote::Expired { .. } => {}
            }
        }
        let mut grants = Vec::new();
        if !identity.entity_disabled && !acl.is_forbidden() {
            // Walking the segment-wildcard rules is most of a lookup's cost; most candidates
            // are outside every such rule, and their lookups skip it.
            let segment_matches = self.secrets.segment_rule_matches(&acl);
            let mut segment_matches = segment_matches.iter().copied().peekable();
            for id in self.secrets.candidates(&acl) {
                let secret = self.secrets.get(id);
                if !secret.namespace.starts_with(&identity.token_namespace) {
                    continue;
                }
                while segment_matches.next_if(|&matched| matched < id).is_some() {}
                let segments_may_match = segment_matches.peek() == Some(&id);
                let full = self.secrets.full_path(id);
                let (decision, rule_id) = if full.starts_with('/') {
                    // Not produced by the index today; keep the general path exact anyway.
                    let decision = acl.capabilities(&secret.namespace, &secret.path);
                    let rid = decision
                        .rule
                        .and_then(|r| acl.rules().iter().position(|x| std::ptr::eq(x, r)))
                        .map(|i| i as u32);
                    (decision, rid)
                } else if segments_may_match {
                    acl.capabilities_full(&secret.namespace, full)
                } else {
                    acl.capabilities_full_outside_segments(&secret.namespace, full)
                };
                if decision.caps.is_deny() || decision.caps.is_empty() {
                    continue;
                }
                grants.push((id, decision.caps, rule_id.unwrap_or(0)));
            }
        }
        // Inventories that are incomplete where this ACL grants something.
        for ns in &self.snapshot.namespaces {
            let ns_path = crate::model::namespace_path(&ns.path);
            if !ns_path.starts_with(&identity.token_namespace) {
                continue;
            }
            for m in &ns.secret_mounts {
                if NOT_INVENTORIED.contains(&m.mount_type.as_str())
                    || self.snapshot.secrets_known(&ns_path, m)
                {
                    continue;
                }
                let prefix = format!("{ns_path}{}", m.api_prefix());
                let touches = acl.rules().iter().any(|r| {
                    !r.perms.caps.is_deny() && {
                        let lit = r.pattern.split(['*', '+']).next().unwrap_or("");
                        lit.starts_with(&prefix) || prefix.starts_with(lit)
                    }
                });
                if touches {
                    unknowns.push(Unknown::new(
                        "coverage",
                        format!("the secret inventory of {prefix} is incomplete: reach over unlisted secrets there is unknown"),
                    ));
                }
            }
        }
        TokenReach {
            identity,
            acl,
            grants,
            unknowns,
        }
    }

    /// Resolve the logins of the selected pipelines and compile every distinct token identity.
    pub fn prepare(
        &self,
        pipelines: &[&'a Pipeline],
    ) -> (Vec<PipelineLogins<'a>>, Vec<TokenReach>) {
        self.prepare_with(pipelines, None)
    }

    fn prepare_with(
        &self,
        pipelines: &[&'a Pipeline],
        reuse: Option<Reusable<'_, '_>>,
    ) -> (Vec<PipelineLogins<'a>>, Vec<TokenReach>) {
        let clock = crate::timings::Clock::start("reach");
        // Logins depend on the pipeline, its auth mount, the server and what the export could
        // read; tokens also on the secrets and the policies they hold.
        let reuse = reuse.filter(|r| {
            r.analysis.snapshot.server == self.snapshot.server
                && r.analysis.snapshot.coverage == self.snapshot.coverage
        });
        let mut logins: Vec<PipelineLogins<'a>> = match reuse {
            Some(r) if r.selected.len() == pipelines.len() => {
                let same_mount = self.unchanged_mounts(pipelines, r.analysis);
                pipelines
                    .par_iter()
                    .enumerate()
                    .map(|(i, p)| {
                        let key = (p.auth.namespace_path(), p.auth.mount_path());
                        // A base login refused for its disabled entity lost its own verdict:
                        // the head decides such a pipeline afresh (its entity may be enabled).
                        let refused_by_entity = r.logins[i]
                            .0
                            .iter()
                            .any(|l| l.identity.as_ref().is_some_and(|id| id.entity_disabled));
                        match same_mount.get(&key) {
                            Some(&(ns, mount))
                                if std::ptr::eq(r.selected[i], *p) && !refused_by_entity =>
                            {
                                let (base_logins, unknowns) = &r.logins[i];
                                let logins = base_logins
                                    .iter()
                                    .map(|l| Login {
                                        namespace: ns,
                                        mount,
                                        role: l.role.clone(),
                                        admission: l.admission.clone(),
                                        configured: l.configured,
                                        identity: None,
                                        token: None,
                                    })
                                    .collect();
                                (logins, unknowns.clone())
                            }
                            _ => self.logins(p),
                        }
                    })
                    .collect()
            }
            _ => pipelines.par_iter().map(|p| self.logins(p)).collect(),
        };
        let t_logins = clock.seconds();
        let reuse_tokens = reuse
            .filter(|r| self.tokens_comparable(r.analysis))
            .map(|r| (r.analysis, r.tokens));
        let tokens = self.compile_logins_with(&mut logins, reuse_tokens);
        log::info!(
            "reach: logins of {} pipelines in {t_logins:.3}s; {} distinct tokens compiled and \
             evaluated in {:.3}s ({} token grants)",
            pipelines.len(),
            tokens.len(),
            clock.seconds() - t_logins,
            tokens.iter().map(|t| t.grants.len()).sum::<usize>(),
        );
        (logins, tokens)
    }

    /// [`prepare`](Self::prepare) for the same pipelines of the same inventory as `base`, an
    /// analysis of a similar snapshot (a what-if's head): logins on auth mounts equal on both
    /// sides and tokens whose identity and policies are equal on both sides are taken from
    /// `base`. The result is the same as [`prepare_reach`](Self::prepare_reach)'s.
    pub(crate) fn prepare_reach_reusing<'r>(
        &'r self,
        opts: &ReachOptions,
        base: &PreparedReach<'_, '_>,
    ) -> PreparedReach<'r, 'a> {
        self.prepared_reach(opts, Some(Reusable::of(base.analysis, &base.prepared)))
    }

    fn prepared_reach<'r>(
        &'r self,
        opts: &ReachOptions,
        reuse: Option<Reusable<'_, '_>>,
    ) -> PreparedReach<'r, 'a> {
        let selected = self.select(opts);
        let (logins, tokens) = self.prepare_with(&selected, reuse);
        let prepared = Prepared {
            selected,
            logins,
            tokens,
            opts: opts.clone(),
        };
        PreparedReach::new(self, Arc::new(prepared))
    }

    /// The auth mounts of `pipelines` that are equal in `base`'s snapshot, by (namespace path,
    /// mount path), with this snapshot's namespace and mount.
    fn unchanged_mounts(
        &self,
        pipelines: &[&'a Pipeline],
        base: &Analysis<'_>,
    ) -> FxHashMap<(String, String), (&'a Namespace, &'a AuthMount)> {
        let keys: BTreeSet<(String, String)> = pipelines
            .iter()
            .map(|p| (p.auth.namespace_path(), p.auth.mount_path()))
            .collect();
        keys.into_par_iter()
            .filter_map(|(ns_path, mount_path)| {
                let namespace = self.index.namespace(&ns_path)?;
                let mount = self.index.auth_mount(&ns_path, &mount_path)?;
                let theirs = base.index.auth_mount(&ns_path, &mount_path)?;
                (mount == theirs).then_some(((ns_path, mount_path), (namespace, mount)))
            })
            .collect()
    }

    /// Whether a token compiled in `base` is the token of an equal identity here when both
    /// hold the same policies ([`same_policies`](Self::same_policies)): the same secret index,
    /// server and export coverage.
    pub fn tokens_comparable(&self, base: &Analysis<'_>) -> bool {
        Arc::ptr_eq(&base.secrets, &self.secrets)
            && base.snapshot.server == self.snapshot.server
            && base.snapshot.coverage == self.snapshot.coverage
    }

    /// Whether a token identity holds the same policies here and in `base` (the same parsed
    /// policy, the same parse error, or absent in both).
    pub fn same_policies(&self, id: &TokenIdentity, base: &Analysis<'_>) -> bool {
        id.policies.iter().all(|p| {
            let key = (p.namespace.clone(), p.name.clone());
            match (self.live_policy(&key), base.live_policy(&key)) {
                (None, None) => true,
                (Some(Ok(a)), Some(Ok(b))) => Arc::ptr_eq(a, b),
                (Some(Err(a)), Some(Err(b))) => a == b,
                _ => false,
            }
        })
    }

    /// Resolve the token identity of every possible login and compile each distinct one.
    pub fn compile_logins(&self, logins: &mut [PipelineLogins<'a>]) -> Vec<TokenReach> {
        self.compile_logins_with(logins, None)
    }

    /// [`compile_logins`](Self::compile_logins), copying the tokens of `base` (an analysis with
    /// the same secret index) whose identity and policies are equal.
    fn compile_logins_with(
        &self,
        logins: &mut [PipelineLogins<'a>],
        base: Option<(&Analysis<'_>, &[TokenReach])>,
    ) -> Vec<TokenReach> {
        let mut keys: FxHashMap<String, usize> = FxHashMap::default();
        let mut identities: Vec<TokenIdentity> = Vec::new();
        // Identities and their keys in parallel; numbered in login order below.
        let resolved: Vec<Vec<Option<(TokenIdentity, String)>>> = logins
            .par_iter()
            .map(|(ls, _)| {
                ls.iter()
                    .map(|l| {
                        l.admission.is_possible().then(|| {
                            let id =
                                identity::resolve(&self.index, l.namespace, l.mount, &l.admission);
                            let key = id.cache_key(self.templated(&id));
                            (id, key)
                        })
                    })
                    .collect()
            })
            .collect();
        for ((ls, _), ids) in logins.iter_mut().zip(resolved) {
            for (l, resolved) in ls.iter_mut().zip(ids) {
                let Some((id, key)) = resolved else {
                    continue;
                };
                if id.entity_disabled {
                    refuse_disabled(&mut l.admission, &id);
                    l.identity = Some(id);
                    continue;
                }
                let next = identities.len();
                let slot = *keys.entry(key).or_insert(next);
                if slot == next {
                    identities.push(id.clone());
                }
                l.identity = Some(id);
                l.token = Some(slot);
            }
        }
        let Some((base, theirs)) = base else {
            return identities
                .into_par_iter()
                .map(|id| self.token_reach(id))
                .collect();
        };
        let their_keys: FxHashMap<String, usize> = theirs
            .par_iter()
            .enumerate()
            .map(|(i, t)| (t.identity.cache_key(base.templated(&t.identity)), i))
            .collect();
        let mut by_slot: Vec<Option<&TokenReach>> = vec![None; identities.len()];
        for (key, &slot) in &keys {
            by_slot[slot] = their_keys.get(key).map(|&i| &theirs[i]);
        }
        identities
            .into_par_iter()
            .zip(by_slot)
            .map(|(id, theirs)| match theirs {
                Some(t) if t.identity == id && self.same_policies(&id, base) => TokenReach {
                    identity: id,
                    acl: t.acl.clone(),
                    grants: t.grants.clone(),
                    unknowns: t.unknowns.clone(),
                },
                _ => self.token_reach(id),
            })
            .collect()
    }

    /// Reach of every role of the estate as if a workload could log into it, for estates without
    /// an inventory: one virtual pipeline per role, named `<ns>auth/<mount>/role/<name>`. The
    /// login's entity is not known, so only the role's token policies count (said in unknowns).
    pub fn role_reach(&self) -> Vec<PipelineReach> {
        let mut virtual_pipelines = Vec::new();
        let mut logins: Vec<PipelineLogins<'a>> = Vec::new();
        for ns in &self.snapshot.namespaces {
            let nsp = crate::model::namespace_path(&ns.path).into_owned();
            for m in &ns.auth_mounts {
                for r in m.roles() {
                    let name = format!("{nsp}auth/{}role/{}", m.path, r.name());
                    let mut admission = Admission {
                        verdict: Verdict::Admitted,
                        why: "role-level analysis: any workload the role admits".to_string(),
                        conditions: Vec::new(),
                        unknowns: Vec::new(),
                        login_cidrs: Vec::new(),
                        alias: None,
                        group_aliases: Vec::new(),
                        token: Default::default(),
                    };
                    match r.token() {
                        Some(t) => admission.token.policies = t.login_policies(),
                        None => {
                            admission.verdict = Verdict::Unknown;
                            admission
                                .unknowns
                                .push("the role's policies come from a program (CEL)".into());
                        }
                    }
                    virtual_pipelines.push(Pipeline {
                        name: name.clone(),
                        ..Default::default()
                    });
                    logins.push((
                        vec![Login {
                            namespace: ns,
                            mount: m,
                            role: r.name().to_string(),
                            admission,
                            configured: true,
                            identity: None,
                            token: None,
                        }],
                        vec![Unknown::new(
                            "identity",
                            "role-level analysis: entity and group policies of the logins are not included",
                        )],
                    ));
                }
            }
        }
        let tokens = self.compile_logins(&mut logins);
        let opts = ReachOptions::default();
        virtual_pipelines
            .par_iter()
            .zip(logins.par_iter())
            .map(|(p, (ls, u))| self.assemble(p, ls, u, &tokens, &opts))
            .collect()
    }

    /// The reach of every selected pipeline.
    pub fn reach(&self, opts: &ReachOptions) -> Vec<PipelineReach> {
        let prepared = self.prepare_reach(opts);
        prepared.assemble(0..prepared.len())
    }

    /// Logins resolved and tokens compiled for the selected pipelines; their reach is then
    /// assembled a range at a time ([`PreparedReach::assemble`]), so a caller can stream the
    /// results of a large estate instead of holding all of them.
    pub fn prepare_reach<'r>(&'r self, opts: &ReachOptions) -> PreparedReach<'r, 'a> {
        self.prepared_reach(opts, None)
    }

    /// The pipelines of the inventory a reach run covers.
    fn select(&self, opts: &ReachOptions) -> Vec<&'a Pipeline> {
        self.inventory
            .pipelines
            .iter()
            .filter(|p| opts.pipelines.is_empty() || opts.pipelines.contains(&p.name))
            .collect()
    }

    fn assemble(
        &self,
        p: &Pipeline,
        logins: &[Login<'a>],
        unknowns: &[Unknown],
        tokens: &[TokenReach],
        opts: &ReachOptions,
    ) -> PipelineReach {
        let mut unknowns: Vec<Unknown> = unknowns.to_vec();
        let mut roles = Vec::new();
        // One row per (secret, login that grants it): (secret id, caps, configured login, chain
        // list). Chains depend on the login and the deciding rule only, so each (login, rule)
        // list is built once and shared by every secret that rule decides.
        let mut rows: Vec<(u32, Caps, bool, u32)> = Vec::new();
        let mut lists: Vec<Arc<[Via]>> = Vec::new();
        for l in logins {
            let possible = l.admission.is_possible();
            if !possible && !l.configured && !opts.all_roles {
                continue;
            }
            let verdict = l.admission.verdict;
            for u in &l.admission.unknowns {
                unknowns.push(Unknown::new("admission", format!("role {:?}: {u}", l.role)));
            }
            let token = l.token.map(|t| &tokens[t]);
            let mut count = 0;
            if let Some(t) = token {
                unknowns.extend(t.unknowns.iter().cloned());
                count = t.grants.len();
                let ident = l.identity.as_ref().unwrap_or(&t.identity);
                let mut by_rule: FxHashMap<u32, u32> = FxHashMap::default();
                rows.reserve(t.grants.len());
                for &(sid, caps, rule_id) in &t.grants {
                    let list = *by_rule.entry(rule_id).or_insert_with(|| {
                        let rule = t.acl.rule(rule_id);
                        let mut vias: BTreeSet<Via> = BTreeSet::new();
                        for src in rule.deciding_sources() {
                            for origin in ident
                                .policies
                                .iter()
                                .filter(|r| {
                                    r.name == src.policy && r.namespace == src.policy_namespace
                                })
                                .map(|r| r.origin.clone())
                                .collect::<BTreeSet<_>>()
                            {
                                vias.insert(Via {
                                    role: l.role.clone(),
                                    mount: mount_name(&l.mount.path),
                                    policy: src.policy.clone(),
                                    rule: src.rule.clone(),
                                    line: src.line,
                                    policy_namespace: src.policy_namespace.clone(),
                                    origin,
                                    admission: verdict,
                                });
                            }
                        }
                        lists.push(vias.into_iter().collect());
                        (lists.len() - 1) as u32
                    });
                    rows.push((sid, caps, l.configured, list));
                }
            }
            roles.push(role_reach(l, count));
        }
        // By secret id; stable, so a secret's rows stay in login order.
        rows.sort_by_key(|r| r.0);
        let mut by_secret: Vec<SecretRow> = Vec::new();
        let mut merged: FxHashMap<Vec<u32>, Arc<[Via]>> = FxHashMap::default();
        for group in rows.chunk_by(|a, b| a.0 == b.0) {
            let mut caps = Caps::NONE;
            let mut conf: Option<Caps> = None;
            for &(_, c, configured, _) in group {
                caps |= c;
                if configured {
                    conf = Some(conf.unwrap_or(Caps::NONE) | c);
                }
            }
            let via = if group.len() == 1 {
                lists[group[0].3 as usize].clone()
            } else {
                let mut ids: Vec<u32> = group.iter().map(|r| r.3).collect();
                ids.sort_unstable();
                ids.dedup();
                merged
                    .entry(ids)
                    .or_insert_with_key(|ids| {
                        let all: BTreeSet<&Via> =
                            ids.iter().flat_map(|&i| lists[i as usize].iter()).collect();
                        all.into_iter().cloned().collect()
                    })
                    .clone()
            };
            by_secret.push((group[0].0, caps, conf, via));
        }
        let has_configured = logins.iter().any(|l| l.configured);
        let secrets = by_secret
            .into_iter()
            .map(|(sid, caps, conf, via)| {
                let secret = self.secrets.get(sid);
                if secret.kind == SecretKind::Unmodelled {
                    unknowns.push(Unknown::new(
                        "unmodelled",
                        format!("{} is an object of an engine blastmap has no endpoint table for; the path is a guess", secret.path),
                    ));
                }
                let configured = has_configured.then(|| conf.unwrap_or(Caps::NONE));
                secret_reach(secret, sid, caps, configured, via)
            })
            .collect();
        unknowns.sort();
        unknowns.dedup();
        PipelineReach {
            name: p.name.clone(),
            team: p.team.clone(),
            roles,
            secrets,
            unknowns,
        }
    }
}

/// A login's row of a pipeline's reach: its verdict, why, identity and token, and how many
/// grants its token has.
fn role_reach(login: &Login<'_>, secrets: usize) -> RoleReach {
    let admission = &login.admission;
    let possible = admission.is_possible();
    let identity = login.identity.as_ref();
    RoleReach {
        mount: mount_name(&login.mount.path),
        role: login.role.clone(),
        namespace: crate::model::namespace_path(&login.namespace.path).into_owned(),
        admitted: admission.verdict == Verdict::Admitted,
        why: admission.why.clone(),
        verdict: admission.verdict,
        configured: login.configured,
        conditions: admission.conditions.clone(),
        unknowns: admission.unknowns.clone(),
        policies: identity.map(|i| i.policies.clone()).unwrap_or_default(),
        entity: identity.and_then(|i| i.entity_ref.as_ref().map(|e| e.1.clone())),
        token_ttl: possible.then_some(admission.token.ttl),
        token_max_ttl: possible.then_some(admission.token.max_ttl),
        secrets,
    }
}

/// One reached secret: the union of its capabilities over every login, those of the configured
/// login when the pipeline has one, and the chains behind them.
fn secret_reach(
    secret: &crate::passes::secrets::Secret,
    secret_id: u32,
    caps: Caps,
    configured: Option<Caps>,
    via: Arc<[Via]>,
) -> SecretReach {
    SecretReach {
        path: secret.path.clone(),
        mount: secret.mount.clone(),
        key: secret.key.clone(),
        namespace: secret.namespace.clone(),
        capabilities: caps.names(),
        via,
        configured_role_capabilities: configured.map(Caps::names),
        caps,
        secret_id,
    }
}
