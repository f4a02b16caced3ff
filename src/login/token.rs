//! The token a login yields: policies as core sanitises them, TTLs as `framework.CalculateTTL`
//! computes them against the mount's tune and the system defaults, and the token type as the
//! router resolves it against the mount's tuned `token_type`.

use crate::model::{sanitize_policies, AuthMount, ServerInfo, TokenFields};
use serde::Serialize;

/// Service tokens are persisted and renewable; batch tokens are neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    Service,
    Batch,
}

impl TokenType {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenType::Service => "service",
            TokenType::Batch => "batch",
        }
    }
}

/// What the token issued by a login looks like (token policies only: identity policies come from
/// the entity the alias maps to, which the caller resolves).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct TokenOutcome {
    /// The token policies as the server stores them: trimmed, lowercased, deduplicated, sorted,
    /// with `default` unless `no_default_policy`; a list naming `root` collapses to `["root"]`
    /// (and such a login is refused: auth methods cannot create root tokens).
    pub policies: Vec<String>,
    /// Policy names that could not be resolved offline (claim templates the evaluator does not
    /// support, token-role globs, a parent token's policies). Each also appears in the admission's
    /// `unknowns`.
    pub unresolved_policies: Vec<String>,
    pub no_default_policy: bool,
    /// Seconds of the first lease (`lease_duration` of the login response).
    pub ttl: i64,
    /// The cap on the token's lifetime for non-periodic tokens (mount/system max, lowered by
    /// `token_max_ttl` and `token_explicit_max_ttl`).
    pub max_ttl: i64,
    /// `token_period`: the token renews to this TTL forever (unless an explicit max is set).
    pub period: Option<i64>,
    pub explicit_max_ttl: Option<i64>,
    /// How long the token can live at most with renewals; `None` = unbounded (periodic token
    /// without an explicit max).
    pub max_lifetime: Option<i64>,
    /// `0` = unlimited.
    pub num_uses: i64,
    pub token_type: TokenType,
    pub renewable: bool,
    /// CIDRs the token can be used from (`token_bound_cidrs`; empty = anywhere).
    pub bound_cidrs: Vec<String>,
    /// OpenBao `token_strictly_bind_ip`: the token is bound to the login's source address.
    pub strictly_bind_ip: bool,
}

impl Default for TokenOutcome {
    fn default() -> Self {
        TokenOutcome {
            policies: Vec::new(),
            unresolved_policies: Vec::new(),
            no_default_policy: false,
            ttl: 0,
            max_ttl: 0,
            period: None,
            explicit_max_ttl: None,
            max_lifetime: None,
            num_uses: 0,
            token_type: TokenType::Service,
            renewable: true,
            bound_cidrs: Vec::new(),
            strictly_bind_ip: false,
        }
    }
}

impl TokenOutcome {
    /// True when the token would carry the `root` policy (the server refuses such a login).
    pub fn is_root(&self) -> bool {
        self.policies.iter().any(|p| p == "root")
    }
}

/// `policyutil.SanitizePolicies` followed by `strutil.RemoveDuplicates`: the set the server
/// stores, sorted the way it returns it.
pub fn sanitize_sorted<S: AsRef<str>>(policies: &[S], add_default: bool) -> Vec<String> {
    let mut out = sanitize_policies(policies, add_default);
    out.sort();
    out
}

/// The token of a login through a role with these token fields, on this mount: `raw_policies`
/// are the policy names the auth method hands to core (the role's `token_policies`, possibly
/// templated or merged with LDAP group policies).
pub(super) fn resolve(
    fields: &TokenFields,
    raw_policies: &[String],
    mount: &AuthMount,
    server: &ServerInfo,
) -> TokenOutcome {
    let no_default = fields.token_no_default_policy.unwrap_or(false);
    let policies = sanitize_sorted(raw_policies, !no_default);
    let token_type = resolve_token_type(fields.token_type.as_deref(), mount);
    let (ttl, max_ttl, max_lifetime) = calculate_ttl(
        mount,
        server,
        fields.ttl(),
        fields.period(),
        fields.max_ttl(),
        fields.explicit_max_ttl(),
    );
    let batch = token_type == TokenType::Batch;
    TokenOutcome {
        policies,
        unresolved_policies: Vec::new(),
        no_default_policy: no_default,
        ttl,
        max_ttl,
        period: fields.period(),
        explicit_max_ttl: fields.explicit_max_ttl(),
        max_lifetime: if batch { Some(ttl) } else { max_lifetime },
        num_uses: fields.token_num_uses.unwrap_or(0).max(0),
        token_type,
        renewable: !batch,
        bound_cidrs: fields.token_bound_cidrs.clone(),
        strictly_bind_ip: fields.token_strictly_bind_ip.unwrap_or(false),
    }
}

/// `framework.CalculateTTL(sysView, 0, ttl, period, maxTTL, explicitMaxTTL, now)` for a new
/// token: returns (first TTL, cap of a non-periodic token, maximum lifetime with renewals).
/// The system view's default/max are the mount's tuned values when non-zero, else the server's
/// (768h unless the export recorded others).
pub fn calculate_ttl(
    mount: &AuthMount,
    server: &ServerInfo,
    ttl: Option<i64>,
    period: Option<i64>,
    role_max_ttl: Option<i64>,
    explicit_max_ttl: Option<i64>,
) -> (i64, i64, Option<i64>) {
    let sys_default = mount
        .tuned_default_ttl()
        .unwrap_or_else(|| server.system_default_ttl());
    let mut max = mount
        .tuned_max_ttl()
        .unwrap_or_else(|| server.system_max_ttl());
    if let Some(m) = role_max_ttl.filter(|m| *m > 0 && *m < max) {
        max = m;
    }
    if let Some(m) = explicit_max_ttl.filter(|m| *m > 0 && *m < max) {
        max = m;
    }
    match period.filter(|p| *p > 0) {
        Some(p) => (p.min(max), max, explicit_max_ttl.filter(|e| *e > 0)),
        None => {
            let effective_ttl = ttl.filter(|t| *t > 0).unwrap_or(sys_default);
            (effective_ttl.min(max), max, Some(max))
        }
    }
}

/// The router's resolution of the role's `token_type` against the mount's tuned `token_type`
/// (`default-service` when not tuned).
pub fn resolve_token_type(role_type: Option<&str>, mount: &AuthMount) -> TokenType {
    if matches!(mount.mount_type.as_str(), "token" | "ns_token") {
        return match role_type.unwrap_or("") {
            "batch" | "default-batch" => TokenType::Batch,
            _ => TokenType::Service,
        };
    }
    let role = role_type.unwrap_or("default");
    match mount
        .tune
        .token_type
        .as_deref()
        .unwrap_or("default-service")
    {
        "service" => TokenType::Service,
        "batch" => TokenType::Batch,
        "default-batch" => match role {
            "default" | "" | "default-batch" | "batch" => TokenType::Batch,
            _ => TokenType::Service,
        },
        // "default-service", "default"
        _ => match role {
            "default" | "" | "default-service" | "service" => TokenType::Service,
            _ => TokenType::Batch,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(def: Option<i64>, max: Option<i64>, tt: Option<&str>) -> AuthMount {
        let mut m = AuthMount {
            path: "gha/".into(),
            mount_type: "jwt".into(),
            accessor: "auth_jwt_1".into(),
            ..AuthMount::default()
        };
        m.tune.default_lease_ttl = def;
        m.tune.max_lease_ttl = max;
        m.tune.token_type = tt.map(str::to_owned);
        m
    }

    fn server() -> ServerInfo {
        serde_json::from_value(serde_json::json!({
            "flavor": "openbao", "version": "2.7.2", "address": "http://127.0.0.1:8200"
        }))
        .unwrap()
    }

    #[test]
    fn ttl_defaults_to_system_768h() {
        let m = mount(None, None, None);
        let (ttl, max, life) = calculate_ttl(&m, &server(), None, None, None, None);
        assert_eq!((ttl, max, life), (768 * 3600, 768 * 3600, Some(768 * 3600)));
    }

    #[test]
    fn ttl_mount_tune_and_role_caps() {
        let m = mount(Some(3600), Some(7200), None);
        let s = server();
        assert_eq!(calculate_ttl(&m, &s, None, None, None, None).0, 3600);
        // token_ttl above the mount max is capped.
        assert_eq!(
            calculate_ttl(&m, &s, Some(10_000), None, None, None).0,
            7200
        );
        // token_max_ttl lowers the cap.
        assert_eq!(
            calculate_ttl(&m, &s, None, None, Some(600), None),
            (600, 600, Some(600))
        );
        // explicit max lowers it further.
        assert_eq!(
            calculate_ttl(&m, &s, Some(900), None, Some(1200), Some(300)),
            (300, 300, Some(300))
        );
        // periodic: ttl = period, unbounded lifetime unless explicit max.
        assert_eq!(
            calculate_ttl(&m, &s, None, Some(1800), None, None),
            (1800, 7200, None)
        );
        assert_eq!(
            calculate_ttl(&m, &s, None, Some(9000), None, Some(8000)),
            (7200, 7200, Some(8000))
        );
    }

    #[test]
    fn token_type_resolution() {
        let svc = mount(None, None, None);
        assert_eq!(resolve_token_type(None, &svc), TokenType::Service);
        assert_eq!(
            resolve_token_type(Some("default"), &svc),
            TokenType::Service
        );
        assert_eq!(resolve_token_type(Some("batch"), &svc), TokenType::Batch);
        let db = mount(None, None, Some("default-batch"));
        assert_eq!(resolve_token_type(Some("default"), &db), TokenType::Batch);
        assert_eq!(resolve_token_type(Some("service"), &db), TokenType::Service);
        let forced = mount(None, None, Some("service"));
        assert_eq!(
            resolve_token_type(Some("batch"), &forced),
            TokenType::Service
        );
    }

    #[test]
    fn policies_sorted_and_defaulted() {
        assert_eq!(
            sanitize_sorted(&["Zeta", " alpha ", "zeta", ""], true),
            ["alpha", "default", "zeta"]
        );
        assert_eq!(sanitize_sorted(&["a", "Root"], true), ["root"]);
        assert_eq!(sanitize_sorted::<&str>(&[], false), Vec::<String>::new());
        let f = TokenFields {
            token_policies: vec!["Deploy".into()],
            token_no_default_policy: Some(true),
            ..TokenFields::default()
        };
        let t = resolve(&f, &f.token_policies, &mount(None, None, None), &server());
        assert_eq!(t.policies, ["deploy"]);
        assert!(t.renewable);
    }
}
