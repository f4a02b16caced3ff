//! Privilege escalation (`vault-semantics.md` section 6): what a token can *write* that yields
//! more privilege, and what that privilege reaches, followed transitively up to a bounded depth.
//!
//! Every check is an exact [`Acl::capabilities`] question on a concrete path
//! (`sys/policies/acl/<p>`, `auth/<m>/role/<r>/secret-id`, `identity/group/id/<id>`,
//! `auth/token/create` with `sudo` …), asked only in the (namespace, area) pairs where some write
//! rule of the token could match, so the cost follows the token's rules, not the estate.
//!
//! A primitive leads to one of:
//! * a **login** (mint an AppRole secret-id, reset a password, create a token from a token role,
//!   join a group): a new token identity whose ACL is compiled and searched again;
//! * **any policy** of a namespace (write an auth role or a group, enable an auth method, create
//!   tokens with `sudo`): a token holding every policy of the namespace;
//! * **full control** of a namespace and its descendants (rewrite a policy the token holds, or
//!   any-policy together with creating policies): every secret there, every capability;
//! * nothing modelled (persistence, hiding tracks, changing other tokens' access): reported as a
//!   step without reach.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap;
use serde::Serialize;

use super::paths::{self, Pattern};
use crate::acl::{Acl, Caps};
use crate::login::{self, Credential, Method};
use crate::model::{AuthMount, Namespace, RoleRef};
use crate::passes::identity::{self, PolicyOrigin, PolicyRef, TokenIdentity};
use crate::passes::reach::{Analysis, TokenReach};

const WRITE: Caps = Caps::WRITE;
const PROBE: &str = "blastmap-escalation-probe";

/// One step of an escalation chain.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct Step {
    /// The primitive: `policy-write`, `auth-role-write`, `auth-config-write`,
    /// `identity-group-write`, `identity-group-create`, `identity-entity-write`,
    /// `identity-alias-write`, `token-create-sudo`, `token-create-role`, `token-role-write`,
    /// `token-create-orphan`, `secret-id-mint`, `password-reset`, `auth-enable`, `raw-storage`,
    /// `plugin-register`, `audit-disable`, `remount`.
    pub kind: &'static str,
    /// Namespace of the request (`""` = root).
    pub namespace: String,
    /// The API path checked, relative to `namespace`.
    pub path: String,
    pub capabilities: Vec<&'static str>,
    /// The policy rules that grant it: `policy "p" path "x" (line n)`.
    pub granted_by: Vec<String>,
    /// What the step acts on (a policy, a role, a group, a mount).
    pub target: String,
    /// What the attacker gets, in one sentence.
    pub effect: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<String>,
}

/// What a chain ends in.
#[derive(Debug, Clone)]
pub(crate) enum Gained {
    /// A token identity (compiled, with its grants).
    Token(Arc<TokenReach>),
    /// Every secret of a namespace and its descendants, with every capability.
    Full(String),
    /// No reach modelled.
    Nothing,
}

/// A node reached from a token, with the shortest chain to it.
#[derive(Debug, Clone)]
pub(crate) struct Reached {
    pub key: String,
    pub chain: Vec<Step>,
    pub gained: Gained,
}

impl Reached {
    /// `login`, `any-policy`, `full-namespace`, `none`.
    pub(crate) fn gain_kind(&self) -> &'static str {
        match &self.gained {
            Gained::Full(_) => "full-namespace",
            Gained::Nothing => "none",
            Gained::Token(_) if self.key.starts_with("any:") => "any-policy",
            Gained::Token(_) => "login",
        }
    }
}

enum Gain {
    Identity(Box<TokenIdentity>),
    AnyPolicy(String),
    Full(String),
    Nothing,
}

/// Escalation search over one analysis, with caches shared by every start token.
pub(crate) struct Escalations<'a, 'b> {
    analysis: &'b Analysis<'a>,
    namespaces: Vec<(String, &'a Namespace)>,
    depth: usize,
    tokens: Mutex<FxHashMap<String, Arc<TokenReach>>>,
    /// Tokens another search compiled on a similar estate (a what-if's base), reused for equal
    /// identities holding the same policies.
    seed: Option<(&'b Analysis<'b>, &'b FxHashMap<String, Arc<TokenReach>>)>,
}

impl<'a, 'b> Escalations<'a, 'b> {
    pub(crate) fn new(analysis: &'b Analysis<'a>, depth: usize) -> Self {
        let namespaces = analysis
            .snapshot
            .namespaces
            .iter()
            .map(|ns| (crate::model::namespace_path(&ns.path).into_owned(), ns))
            .collect();
        Escalations {
            analysis,
            namespaces,
            depth,
            tokens: Mutex::new(FxHashMap::default()),
            seed: None,
        }
    }

    /// [`new`](Self::new), reusing the tokens `base` compiled where they are the same tokens.
    pub(crate) fn seeded(
        analysis: &'b Analysis<'a>,
        depth: usize,
        base: &'b Analysis<'b>,
        compiled: &'b FxHashMap<String, Arc<TokenReach>>,
    ) -> Self {
        let mut escalations = Self::new(analysis, depth);
        if analysis.tokens_comparable(base) {
            escalations.seed = Some((base, compiled));
        }
        escalations
    }

    /// The tokens compiled so far, by identity key.
    pub(crate) fn into_compiled(self) -> FxHashMap<String, Arc<TokenReach>> {
        self.tokens.into_inner().unwrap_or_else(|e| e.into_inner())
    }

    fn compile(&self, id: TokenIdentity) -> Arc<TokenReach> {
        let key = id.cache_key(true);
        if let Some(cached) = self.tokens.lock().unwrap().get(&key) {
            return cached.clone();
        }
        let seeded = self.seed.and_then(|(base, compiled)| {
            compiled
                .get(&key)
                .filter(|t| t.identity == id && self.analysis.same_policies(&id, base))
                .cloned()
        });
        let reach = match seeded {
            Some(reach) => reach,
            None => Arc::new(self.analysis.token_reach(id)),
        };
        self.tokens
            .lock()
            .unwrap()
            .entry(key)
            .or_insert_with(|| reach.clone())
            .clone()
    }

    /// Every node reachable from `start` in at most `depth` steps, each with its shortest chain.
    /// Every first step is kept (one node per primitive kind and target), so each primitive is
    /// reported with what it yields; deeper nodes are kept once, under the first chain found.
    pub(crate) fn search(&self, start: &TokenReach) -> Vec<Reached> {
        if self.depth == 0 {
            return Vec::new();
        }
        let start_key = start.identity.cache_key(true);
        let mut seen: BTreeSet<String> = BTreeSet::new();
        seen.insert(start_key.clone());
        let mut out: Vec<Reached> = Vec::new();
        let mut frontier: Vec<(Arc<TokenReach>, Vec<Step>)> = Vec::new();
        let mut first: BTreeSet<(&'static str, String, String)> = BTreeSet::new();
        for (step, gain) in self.primitives(start) {
            let key = Self::key(&step, &gain);
            if key == start_key || !first.insert((step.kind, step.target.clone(), key.clone())) {
                continue;
            }
            let explore = seen.insert(key.clone());
            self.record(key, vec![step], gain, explore, &mut out, &mut frontier);
        }
        let mut level = 1;
        while level < self.depth && !frontier.is_empty() {
            let current = std::mem::take(&mut frontier);
            for (tok, chain) in current {
                for (step, gain) in self.primitives(&tok) {
                    let key = Self::key(&step, &gain);
                    if !seen.insert(key.clone()) {
                        continue;
                    }
                    let mut next_chain = chain.clone();
                    next_chain.push(step);
                    self.record(key, next_chain, gain, true, &mut out, &mut frontier);
                }
            }
            level += 1;
        }
        out
    }

    fn key(step: &Step, gain: &Gain) -> String {
        match gain {
            Gain::Nothing => format!("none:{}:{}{}", step.kind, step.namespace, step.path),
            Gain::Full(ns) => format!("full:{ns}"),
            Gain::AnyPolicy(ns) => format!("any:{ns}"),
            Gain::Identity(id) => id.cache_key(true),
        }
    }

    fn record(
        &self,
        key: String,
        chain: Vec<Step>,
        gain: Gain,
        explore: bool,
        out: &mut Vec<Reached>,
        frontier: &mut Vec<(Arc<TokenReach>, Vec<Step>)>,
    ) {
        let gained = self.gained(gain);
        if explore {
            if let Gained::Token(t) = &gained {
                frontier.push((t.clone(), chain.clone()));
            }
        }
        out.push(Reached { key, chain, gained });
    }

    /// What a primitive's gain amounts to, its token compiled.
    fn gained(&self, gain: Gain) -> Gained {
        match gain {
            Gain::Nothing => Gained::Nothing,
            Gain::Full(ns) => Gained::Full(ns),
            Gain::AnyPolicy(ns) => Gained::Token(self.compile(self.any_policy_identity(&ns))),
            Gain::Identity(id) => Gained::Token(self.compile(*id)),
        }
    }

    /// Every escalation step `token` can take, one step deep: each with the key of what it
    /// gains (as [`search`](Self::search) keys them) and the gain, its token compiled. The
    /// blast-radius graph is built from these, one token at a time.
    pub(crate) fn steps(&self, token: &TokenReach) -> Vec<Reached> {
        self.primitives(token)
            .into_iter()
            .map(|(step, gain)| Reached {
                key: Self::key(&step, &gain),
                chain: vec![step],
                gained: self.gained(gain),
            })
            .collect()
    }

    /// Every policy of namespace `ns`, held by one token of that namespace.
    fn any_policy_identity(&self, ns: &str) -> TokenIdentity {
        let policies = self
            .namespace(ns)
            .map(|n| {
                n.policies
                    .iter()
                    .map(|p| PolicyRef {
                        namespace: ns.to_string(),
                        name: p.key(),
                        origin: PolicyOrigin::Role,
                    })
                    .collect()
            })
            .unwrap_or_default();
        TokenIdentity {
            token_namespace: ns.to_string(),
            policies,
            ..Default::default()
        }
    }

    fn namespace(&self, ns: &str) -> Option<&'a Namespace> {
        self.namespaces
            .iter()
            .find(|(p, _)| p == ns)
            .map(|(_, n)| *n)
    }

    /// The escalation primitives of one token.
    fn primitives(&self, tok: &TokenReach) -> Vec<(Step, Gain)> {
        let mut out = Vec::new();
        if tok.identity.entity_disabled || tok.acl.is_forbidden() {
            return out;
        }
        let acl = &tok.acl;
        let writes: Vec<Pattern> = acl
            .rules()
            .iter()
            .filter(|r| {
                !r.perms.caps.is_deny()
                    && r.perms
                        .caps
                        .intersects(Caps(WRITE.0 | Caps::SUDO.0 | Caps::DELETE.0))
            })
            .map(|r| Pattern::new(&r.pattern))
            .collect();
        if writes.is_empty() {
            return out;
        }
        let token_ns = tok.identity.token_namespace.clone();
        for (ns, n) in &self.namespaces {
            if !ns.starts_with(&token_ns) {
                continue;
            }
            let touches = |area: &str| {
                let full = format!("{ns}{area}");
                writes.iter().any(|p| p.touches(&full))
            };
            let mut cx = Ctx {
                acl,
                tok,
                ns,
                out: &mut out,
            };
            let mut policy_create = false;
            if touches("sys/policies/acl/") || touches("sys/policy/") {
                policy_create = self.policy_writes(&mut cx, n);
            }
            let any_before = cx.out.len();
            for m in &n.auth_mounts {
                let base = format!("auth/{}/", m.name());
                if !touches(&base) {
                    continue;
                }
                if matches!(m.mount_type.as_str(), "token" | "ns_token") {
                    self.token_store(&mut cx, n, m);
                } else {
                    self.auth_mount(&mut cx, n, m);
                }
            }
            if touches("identity/") {
                self.identity_writes(&mut cx, n);
            }
            if touches("sys/") {
                self.sys_sudo(&mut cx);
            }
            // Any policy plus creating policies: any access at all.
            if policy_create {
                for (step, gain) in cx.out[any_before..].iter_mut() {
                    if let Gain::AnyPolicy(m) = gain {
                        if m == ns {
                            step.effect.push_str(
                                "; with policy creation in the same namespace this is any access",
                            );
                            *gain = Gain::Full(ns.clone());
                        }
                    }
                }
            }
        }
        out.sort_by(|a, b| (a.0.kind, &a.0.path).cmp(&(b.0.kind, &b.0.path)));
        out
    }

    /// `sys/policies/acl/<p>` and `sys/policy/<p>`; returns whether new policies can be created.
    fn policy_writes(&self, cx: &mut Ctx<'_, '_>, n: &Namespace) -> bool {
        let create = ["sys/policies/acl/", "sys/policy/"].iter().any(|base| {
            cx.caps(&format!("{base}{PROBE}"))
                .intersects(Caps(Caps::CREATE.0 | Caps::UPDATE.0))
        });
        for p in &n.policies {
            let name = p.key();
            if name == "root" {
                continue;
            }
            let hit = ["sys/policies/acl/", "sys/policy/"]
                .iter()
                .find_map(|base| {
                    let path = format!("{base}{name}");
                    let decision = cx.acl.capabilities(cx.ns, &path);
                    (decision.caps.intersects(WRITE) && !decision.caps.is_deny())
                        .then_some((path, decision))
                });
            let Some((path, decision)) = hit else {
                continue;
            };
            let held = cx
                .tok
                .identity
                .policies
                .iter()
                .any(|r| r.namespace == cx.ns && r.name == name);
            let (effect, gain) = if held {
                (
                    format!(
                        "rewrite policy {name:?}, which this token holds: any access in {} and below",
                        ns_label(cx.ns)
                    ),
                    Gain::Full(cx.ns.to_string()),
                )
            } else {
                (
                    format!(
                        "rewrite policy {name:?}: every token that holds it gets what the attacker writes"
                    ),
                    Gain::Nothing,
                )
            };
            cx.push(
                "policy-write",
                &path,
                decision,
                name.clone(),
                effect,
                vec![],
                gain,
            );
        }
        create
    }

    /// What write access to an auth mount gives: rewriting its roles or its identity-forging
    /// configuration, minting AppRole secret-ids, resetting userpass passwords.
    fn auth_mount(&self, cx: &mut Ctx<'_, '_>, n: &'a Namespace, m: &'a AuthMount) {
        self.role_writes(cx, m);
        self.config_write(cx, m);
        match m.mount_type.as_str() {
            "approle" => self.approle_logins(cx, n, m),
            "userpass" => self.password_resets(cx, n, m),
            _ => {}
        }
    }

    /// Writing a role (or creating one): any non-root policy on a login the attacker controls.
    fn role_writes(&self, cx: &mut Ctx<'_, '_>, m: &'a AuthMount) {
        let mname = m.name().to_string();
        let collections: &[&str] = match m.mount_type.as_str() {
            "jwt" | "oidc" => &["role", "cel/role"],
            "cert" => &["certs"],
            "userpass" => &["users"],
            "ldap" => &["users", "groups"],
            _ => &["role"],
        };
        for coll in collections {
            let probe = format!("auth/{mname}/{coll}/{PROBE}");
            let decision = cx.acl.capabilities(cx.ns, &probe);
            if decision.caps.intersects(WRITE) && !decision.caps.is_deny() {
                let effect = format!(
                    "create or rewrite {} entries of auth/{mname} with any non-root token policies, bound to the attacker's own credential",
                    coll
                );
                cx.push(
                    "auth-role-write",
                    &format!("auth/{mname}/{coll}/*"),
                    decision,
                    format!("auth/{mname}"),
                    effect,
                    vec![],
                    Gain::AnyPolicy(cx.ns.to_string()),
                );
                continue;
            }
            for r in m.roles().filter(|r| r.collection() == *coll) {
                let path = format!("auth/{mname}/{coll}/{}", r.name());
                let decision = cx.acl.capabilities(cx.ns, &path);
                if decision.caps.intersects(WRITE) && !decision.caps.is_deny() {
                    let effect = format!(
                        "rewrite {path} (token_policies, bindings) so it admits the attacker with any non-root policy"
                    );
                    cx.push(
                        "auth-role-write",
                        &path,
                        decision,
                        path.clone(),
                        effect,
                        vec![],
                        Gain::AnyPolicy(cx.ns.to_string()),
                    );
                }
            }
        }
    }

    /// Writing the configuration of a mount that trusts an outside identity provider: the
    /// attacker's own provider then logs in through every role of the mount.
    fn config_write(&self, cx: &mut Ctx<'_, '_>, m: &'a AuthMount) {
        let mname = m.name().to_string();
        if matches!(
            m.mount_type.as_str(),
            "jwt" | "oidc" | "kubernetes" | "ldap"
        ) {
            let path = format!("auth/{mname}/config");
            let decision = cx.acl.capabilities(cx.ns, &path);
            if decision.caps.intersects(WRITE) && !decision.caps.is_deny() {
                let what = match m.mount_type.as_str() {
                    "kubernetes" => "point the mount at a Kubernetes API the attacker runs",
                    "ldap" => "point the mount at a directory the attacker runs",
                    _ => "trust the attacker's own signing keys or issuer",
                };
                let effect = format!(
                    "{what}, then log in through every role of auth/{mname} ({} roles)",
                    m.roles.len()
                );
                let policies: BTreeSet<String> = m
                    .roles()
                    .filter_map(|r| r.token())
                    .flat_map(|t| t.login_policies())
                    .collect();
                let identity = self.policies_identity(cx.ns, policies);
                cx.push(
                    "auth-config-write",
                    &path,
                    decision,
                    format!("auth/{mname}"),
                    effect,
                    vec![],
                    Gain::Identity(Box::new(identity)),
                );
            }
        }
    }

    /// Minting a secret-id (or reading the role-id of a role that needs none): a login as
    /// the AppRole role.
    fn approle_logins(&self, cx: &mut Ctx<'_, '_>, n: &'a Namespace, m: &'a AuthMount) {
        let mname = m.name().to_string();
        for r in m.roles.approle.iter() {
            let role_id_path = format!("auth/{mname}/role/{}/role-id", r.name);
            let role_id = cx.acl.capabilities(cx.ns, &role_id_path);
            let readable = role_id.caps.contains(Caps::READ) && !role_id.caps.is_deny();
            let id_cond = if readable {
                format!("the role-id is readable with this token ({role_id_path})")
            } else {
                format!(
                    "the attacker also needs the role-id of {:?} (not readable with this token)",
                    r.name
                )
            };
            let mut minted = false;
            for suffix in ["secret-id", "custom-secret-id"] {
                let path = format!("auth/{mname}/role/{}/{suffix}", r.name);
                let decision = cx.acl.capabilities(cx.ns, &path);
                if !decision.caps.intersects(WRITE) || decision.caps.is_deny() {
                    continue;
                }
                minted = true;
                let mut conds = vec![id_cond.clone()];
                if !r.secret_id_bound_cidrs.is_empty() {
                    conds.push(format!(
                        "the login comes from {}",
                        r.secret_id_bound_cidrs.join(", ")
                    ));
                }
                if let Some(id) = self.login_as(n, m, RoleRef::AppRole(r), None) {
                    cx.push(
                        "secret-id-mint",
                        &path,
                        decision,
                        format!("auth/{mname}/role/{}", r.name),
                        format!("mint a secret-id and log in as AppRole role {:?}", r.name),
                        conds,
                        Gain::Identity(Box::new(id)),
                    );
                }
                break;
            }
            if !minted && !r.binds_secret_id() && readable {
                if let Some(id) = self.login_as(n, m, RoleRef::AppRole(r), None) {
                    cx.push(
                        "secret-id-mint",
                        &role_id_path,
                        role_id,
                        format!("auth/{mname}/role/{}", r.name),
                        format!(
                            "read the role-id of {:?} and log in (bind_secret_id = false: no secret-id needed)",
                            r.name
                        ),
                        vec![],
                        Gain::Identity(Box::new(id)),
                    );
                }
            }
        }
    }

    /// Resetting a userpass password: a login as that user.
    fn password_resets(&self, cx: &mut Ctx<'_, '_>, n: &'a Namespace, m: &'a AuthMount) {
        let mname = m.name().to_string();
        for u in m.roles.userpass.iter() {
            let path = format!("auth/{mname}/users/{}/password", u.name);
            let decision = cx.acl.capabilities(cx.ns, &path);
            if !decision.caps.intersects(WRITE) || decision.caps.is_deny() {
                continue;
            }
            if let Some(id) = self.login_as(n, m, RoleRef::Userpass(u), Some(&u.name)) {
                cx.push(
                    "password-reset",
                    &path,
                    decision,
                    format!("auth/{mname}/users/{}", u.name),
                    format!("reset the password of {:?} and log in as that user", u.name),
                    vec![],
                    Gain::Identity(Box::new(id)),
                );
            }
        }
    }

    fn token_store(&self, cx: &mut Ctx<'_, '_>, n: &Namespace, m: &AuthMount) {
        let create = cx.acl.capabilities(cx.ns, "auth/token/create");
        if create.caps.contains(Caps::SUDO) && create.caps.intersects(WRITE) {
            cx.push(
                "token-create-sudo",
                "auth/token/create",
                create,
                "auth/token".to_string(),
                "create tokens with any non-root policies (sudo on auth/token/create)".to_string(),
                vec![],
                Gain::AnyPolicy(cx.ns.to_string()),
            );
        }
        let orphan = cx.acl.capabilities(cx.ns, "auth/token/create-orphan");
        if orphan.caps.intersects(WRITE) && !orphan.caps.is_deny() {
            cx.push(
                "token-create-orphan",
                "auth/token/create-orphan",
                orphan,
                "auth/token".to_string(),
                "create orphan tokens that survive the revocation of the pipeline's token (persistence)"
                    .to_string(),
                vec![],
                Gain::Nothing,
            );
        }
        // Defining token roles: with the create path, any policy.
        let probe_role = cx
            .acl
            .capabilities(cx.ns, &format!("auth/token/roles/{PROBE}"));
        if probe_role.caps.intersects(WRITE) && !probe_role.caps.is_deny() {
            let probe_create = cx
                .acl
                .capabilities(cx.ns, &format!("auth/token/create/{PROBE}"));
            let can_create = probe_create.caps.intersects(WRITE) && !probe_create.caps.is_deny();
            cx.push(
                "token-role-write",
                "auth/token/roles/*",
                probe_role,
                "auth/token".to_string(),
                if can_create {
                    "define a token role with any allowed_policies and create tokens from it"
                        .to_string()
                } else {
                    "define token roles (tokens from them need auth/token/create/<role>)"
                        .to_string()
                },
                vec![],
                if can_create {
                    Gain::AnyPolicy(cx.ns.to_string())
                } else {
                    Gain::Nothing
                },
            );
        }
        let existing: BTreeSet<String> = n.policies.iter().map(|p| p.key()).collect();
        for r in m.roles.token.iter() {
            let path = format!("auth/token/create/{}", r.name);
            let decision = cx.acl.capabilities(cx.ns, &path);
            if !decision.caps.intersects(WRITE) || decision.caps.is_deny() {
                continue;
            }
            if r.allowed_policies.is_empty() && r.allowed_policies_glob.is_empty() {
                // The parent's policies: no gain.
                continue;
            }
            let mut policies: BTreeSet<String> = r
                .allowed_policies
                .iter()
                .map(|p| crate::model::normalize_policy_name(p))
                .collect();
            for g in &r.allowed_policies_glob {
                policies.extend(existing.iter().filter(|p| login::go_glob(g, p)).cloned());
            }
            for decision in &r.disallowed_policies {
                policies.remove(&crate::model::normalize_policy_name(decision));
            }
            policies.retain(|p| {
                !r.disallowed_policies_glob
                    .iter()
                    .any(|g| login::go_glob(g, p))
                    && p != "root"
            });
            if !r.token.token_no_default_policy.unwrap_or(false) {
                policies.insert("default".to_string());
            }
            let identity = self.policies_identity(cx.ns, policies);
            cx.push(
                "token-create-role",
                &path,
                decision,
                format!("auth/token/roles/{}", r.name),
                format!(
                    "create tokens from token role {:?} with its allowed policies, whatever the pipeline's own",
                    r.name
                ),
                vec![],
                Gain::Identity(Box::new(identity)),
            );
        }
    }

    fn identity_writes(&self, cx: &mut Ctx<'_, '_>, n: &'a Namespace) {
        let has_entity = cx.tok.identity.entity.is_some();
        if has_entity {
            self.identity_group_writes(cx, n);
            Self::identity_entity_write(cx);
        }
        self.identity_alias_writes(cx, n);
    }

    /// New groups (and updates by name through the collection endpoint), else the existing
    /// internal groups the pipeline may write: its entity joins them and gets their policies.
    fn identity_group_writes(&self, cx: &mut Ctx<'_, '_>, n: &'a Namespace) {
        let decision = cx.acl.capabilities(cx.ns, "identity/group");
        if decision.caps.intersects(WRITE) && !decision.caps.is_deny() {
            cx.push(
                "identity-group-create",
                "identity/group",
                decision,
                "identity/group".to_string(),
                "create a group with any policies and put the pipeline's entity in it".to_string(),
                vec![],
                Gain::AnyPolicy(cx.ns.to_string()),
            );
        } else {
            for g in n.groups.iter().filter(|g| !g.is_external()) {
                let by_id = format!("identity/group/id/{}", g.id);
                let by_name = format!("identity/group/name/{}", g.name);
                let (path, decision) = [by_id, by_name]
                    .into_iter()
                    .map(|p| {
                        let decision = cx.acl.capabilities(cx.ns, &p);
                        (p, decision)
                    })
                    .find(|(_, decision)| {
                        decision.caps.intersects(WRITE) && !decision.caps.is_deny()
                    })
                    .unzip_opt();
                let (Some(path), Some(decision)) = (path, decision) else {
                    continue;
                };
                let mut identity = cx.tok.identity.clone();
                let mut groups = vec![(n, g)];
                groups.extend(self.analysis.index.group_ancestors(&g.id));
                for (gns, grp) in groups {
                    let gns_path = crate::model::namespace_path(&gns.path).into_owned();
                    for p in &grp.policies {
                        identity.policies.push(PolicyRef {
                            namespace: gns_path.clone(),
                            name: crate::model::normalize_policy_name(p),
                            origin: PolicyOrigin::Group {
                                id: grp.id.clone(),
                                name: grp.name.clone(),
                            },
                        });
                    }
                }
                cx.push(
                    "identity-group-write",
                    &path,
                    decision,
                    format!("group {}", g.name),
                    format!(
                        "add the pipeline's entity to group {:?} and get its policies ({})",
                        g.name,
                        g.policies.join(", ")
                    ),
                    vec![],
                    Gain::Identity(Box::new(identity)),
                );
            }
        }
    }

    /// The pipeline's own entity: set its policies.
    fn identity_entity_write(cx: &mut Ctx<'_, '_>) {
        let mut paths = vec!["identity/entity".to_string()];
        if let Some((eid, ename)) = &cx.tok.identity.entity_ref {
            paths.push(format!("identity/entity/id/{eid}"));
            paths.push(format!("identity/entity/name/{ename}"));
        } else {
            paths.push(format!("identity/entity/id/{PROBE}"));
        }
        if let Some((path, decision)) = paths
            .into_iter()
            .map(|p| {
                let decision = cx.acl.capabilities(cx.ns, &p);
                (p, decision)
            })
            .find(|(_, decision)| decision.caps.intersects(WRITE) && !decision.caps.is_deny())
        {
            cx.push(
                "identity-entity-write",
                &path.clone(),
                decision,
                "the pipeline's entity".to_string(),
                "set the policies of the pipeline's own entity to anything".to_string(),
                vec![],
                Gain::AnyPolicy(cx.ns.to_string()),
            );
        }
    }

    /// Aliases and merges: become any entity, or join any external group.
    fn identity_alias_writes(&self, cx: &mut Ctx<'_, '_>, n: &'a Namespace) {
        for (kind_path, what) in [
            (
                "identity/entity-alias",
                "re-point the pipeline's alias at any entity",
            ),
            (
                "identity/entity/merge",
                "merge any entity into the pipeline's entity",
            ),
            (
                "identity/group-alias",
                "map a group name the attacker controls to any external group",
            ),
        ] {
            let probe = format!("{kind_path}/id/{PROBE}");
            let decision = [kind_path.to_string(), probe]
                .into_iter()
                .map(|p| cx.acl.capabilities(cx.ns, &p))
                .find(|decision| decision.caps.intersects(WRITE) && !decision.caps.is_deny());
            let Some(decision) = decision else { continue };
            let mut policies: BTreeSet<String> = BTreeSet::new();
            if kind_path == "identity/group-alias" {
                for g in n.groups.iter().filter(|g| g.is_external()) {
                    policies.extend(
                        g.policies
                            .iter()
                            .map(|p| crate::model::normalize_policy_name(p)),
                    );
                }
            } else {
                for e in &n.entities {
                    if e.disabled {
                        continue;
                    }
                    policies.extend(
                        e.policies
                            .iter()
                            .map(|p| crate::model::normalize_policy_name(p)),
                    );
                    for (_, g) in self.analysis.index.groups_of_entity(&e.id).all() {
                        policies.extend(
                            g.policies
                                .iter()
                                .map(|p| crate::model::normalize_policy_name(p)),
                        );
                    }
                }
            }
            let mut identity = self.policies_identity(cx.ns, policies);
            identity.entity = cx.tok.identity.entity.clone();
            cx.push(
                "identity-alias-write",
                kind_path,
                decision,
                kind_path.to_string(),
                format!("{what} and get its identity policies"),
                vec![],
                Gain::Identity(Box::new(identity)),
            );
        }
    }

    fn sys_sudo(&self, cx: &mut Ctx<'_, '_>) {
        let checks: [(&str, &str, Caps, &str); 5] = [
            (
                "auth-enable",
                "sys/auth/",
                WRITE,
                "enable a new auth method (e.g. userpass) and create logins with any non-root policy",
            ),
            (
                "raw-storage",
                "sys/raw/",
                Caps(Caps::READ.0 | WRITE.0),
                "read and write the server's raw storage: equivalent to root (if raw_storage_endpoint is enabled)",
            ),
            (
                "plugin-register",
                "sys/plugins/catalog/",
                WRITE,
                "register a plugin binary: code execution on the server",
            ),
            (
                "audit-disable",
                "sys/audit/",
                Caps(WRITE.0 | Caps::DELETE.0),
                "disable or re-point audit devices (hides the attacker's tracks)",
            ),
            (
                "remount",
                "sys/remount",
                WRITE,
                "move a mount under a path the token's policies already grant",
            ),
        ];
        for (kind, base, need, effect) in checks {
            let path = if base.ends_with('/') {
                format!("{base}{PROBE}")
            } else {
                base.to_string()
            };
            let decision = cx.acl.capabilities(cx.ns, &path);
            if !(decision.caps.contains(Caps::SUDO) && decision.caps.intersects(need)) {
                continue;
            }
            let (gain, conds) = match kind {
                "auth-enable" => (Gain::AnyPolicy(cx.ns.to_string()), vec![]),
                "raw-storage" => (
                    Gain::Full(cx.ns.to_string()),
                    vec!["the server runs with raw_storage_endpoint = true".to_string()],
                ),
                _ => (Gain::Nothing, vec![]),
            };
            let shown = if base.ends_with('/') {
                format!("{base}*")
            } else {
                base.to_string()
            };
            cx.push(
                kind,
                &shown,
                decision,
                base.trim_end_matches('/').to_string(),
                effect.to_string(),
                conds,
                gain,
            );
        }
    }

    fn policies_identity(&self, ns: &str, policies: BTreeSet<String>) -> TokenIdentity {
        TokenIdentity {
            token_namespace: ns.to_string(),
            policies: policies
                .into_iter()
                .map(|name| PolicyRef {
                    namespace: ns.to_string(),
                    name,
                    origin: PolicyOrigin::Role,
                })
                .collect(),
            ..Default::default()
        }
    }

    /// The identity of a login through `role` (AppRole: holding its credentials; userpass: as
    /// `user`), or `None` if the server would refuse it.
    fn login_as(
        &self,
        n: &'a Namespace,
        m: &'a AuthMount,
        role: RoleRef<'a>,
        user: Option<&str>,
    ) -> Option<TokenIdentity> {
        let mut cred = match role {
            RoleRef::AppRole(_) => Credential::new(Method::AppRole),
            _ => Credential::new(Method::Userpass),
        };
        let name = role.name().to_string();
        cred.role_name = Some(&name);
        cred.user = user;
        let adm = login::admit(m, role, &cred, &self.analysis.snapshot.server);
        if !adm.is_possible() {
            return None;
        }
        Some(identity::resolve(&self.analysis.index, n, m, &adm))
    }
}

/// The token being searched and where its findings go.
struct Ctx<'t, 'o> {
    acl: &'t Acl,
    tok: &'t TokenReach,
    ns: &'t str,
    out: &'o mut Vec<(Step, Gain)>,
}

impl Ctx<'_, '_> {
    fn caps(&self, path: &str) -> Caps {
        let decision = self.acl.capabilities(self.ns, path);
        if decision.caps.is_deny() {
            Caps::NONE
        } else {
            decision.caps
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        kind: &'static str,
        path: &str,
        d: crate::acl::Decision<'_>,
        target: String,
        effect: String,
        conditions: Vec<String>,
        gain: Gain,
    ) {
        let granted_by = d
            .rule
            .map(|r| {
                r.deciding_sources()
                    .map(|s| format!("policy {:?} path {:?} (line {})", s.policy, s.rule, s.line))
                    .collect()
            })
            .unwrap_or_default();
        self.out.push((
            Step {
                kind,
                namespace: self.ns.to_string(),
                path: path.to_string(),
                capabilities: d.caps.names(),
                granted_by,
                target,
                effect,
                conditions,
            },
            gain,
        ));
    }
}

fn ns_label(ns: &str) -> String {
    if ns.is_empty() {
        "the root namespace".to_string()
    } else {
        format!("namespace {ns}")
    }
}

trait UnzipOpt<A, B> {
    fn unzip_opt(self) -> (Option<A>, Option<B>);
}

impl<A, B> UnzipOpt<A, B> for Option<(A, B)> {
    fn unzip_opt(self) -> (Option<A>, Option<B>) {
        match self {
            Some((a, b)) => (Some(a), Some(b)),
            None => (None, None),
        }
    }
}

/// Ids of the secrets of namespace `ns` and its descendants.
pub(crate) fn namespace_secrets(analysis: &Analysis<'_>, ns: &str) -> std::ops::Range<usize> {
    paths::range(&analysis.secrets, ns)
}
