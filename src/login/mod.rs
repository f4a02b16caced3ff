//! Login admission: which auth roles a pipeline's credential can log into, decided the way the
//! server's auth plugin decides it, and what identity and token each login yields.
//!
//! [`admit`] judges one role, [`admit_all`] every role of a mount (the "no role named" case: a
//! compromised pipeline can present its credential to any role). Each [`Admission`] says
//! [`Verdict::Admitted`], [`Verdict::Refused`] or [`Verdict::Unknown`], with one sentence naming
//! the deciding check (`why`), the `conditions` an admission rests on (CIDRs, signatures,
//! secret-ids, passwords …), what could not be decided offline (`unknowns`), the entity alias and
//! external group aliases the login maps to, and the resulting token (policies, TTLs, type).
//!
//! The rules are the OpenBao plugins' own (`internal/builtin/credential/*`), and for the methods
//! OpenBao does not ship (`aws`, `gcp`, `azure`, `github`) HashiCorp's plugins', judged from the
//! identity the inventory states ([`AwsIdentity`] …), reproduced quirks included: go-glob's matcher ([`go_glob`]), the JWT plugin's typed claim comparison
//! (top-level float claims truncated to integers, numbers inside claim lists never equal a bound
//! number), the registered claims as go-jose decodes them (OpenBao 2.7 refuses keys such as `AUD`
//! that only case-fold onto `aud`), `policyutil.SanitizePolicies`, `framework.CalculateTTL` and the
//! router's token-type resolution.
//!
//! Expiry (`exp`, `nbf`, `iat`) is not judged: the pipeline's token is assumed fresh, and signed by
//! a key the mount trusts (both are listed as conditions).

mod approle;
mod aws;
mod azure;
mod bindings;
mod cert;
mod cidr;
mod gcp;
mod github;
mod glob;
mod identity;
mod jwt;
mod kubernetes;
mod ldap;
mod template;
mod token;
mod tokenrole;
mod userpass;

use crate::model::{AuthMount, EntityAlias, RoleRef, ServerInfo};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

pub use cidr::{any_cidr_contains, cidr_contains, source_coverage, Network, SourceCoverage};
pub use github::github_member;
pub use glob::{go_glob, list_contains_glob};
pub use identity::{
    ArnError, AwsAuthType, AwsIdentity, AzureIdentity, GcpIdentity, GcpLoginType, GithubIdentity,
    IamArn,
};
pub use template::{go_format_float, render as render_policy_template, TemplateOutcome};
pub use token::{calculate_ttl, resolve_token_type, sanitize_sorted, TokenOutcome, TokenType};

/// How a pipeline authenticates: the inventory's `auth.method`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// A JWT presented to `auth/<m>/login` (GitHub Actions, GitLab, CircleCI, Buildkite …).
    Jwt,
    /// Same login endpoint as `Jwt` (a pipeline cannot complete the interactive OIDC flow): the
    /// inventory's `oidc` means "a JWT/OIDC mount", typically one of type `oidc`. Roles with
    /// `role_type = "oidc"` are only usable by the browser flow and are refused.
    Oidc,
    Kubernetes,
    AppRole,
    Cert,
    Userpass,
    Ldap,
    /// A token the pipeline holds, possibly minted from a token role (`auth/token/create/<role>`).
    Token,
    /// An AWS IAM principal or EC2 instance (`auth/<m>/login` of an `aws` mount).
    Aws,
    /// A GCP service account or Compute Engine instance.
    Gcp,
    /// An Azure managed identity.
    Azure,
    /// A GitHub personal access token (its user's organisation and teams decide the policies).
    Github,
}

impl Method {
    pub const ALL: [Method; 12] = [
        Method::Jwt,
        Method::Oidc,
        Method::Kubernetes,
        Method::AppRole,
        Method::Cert,
        Method::Userpass,
        Method::Ldap,
        Method::Token,
        Method::Aws,
        Method::Gcp,
        Method::Azure,
        Method::Github,
    ];

    /// The inventory spelling (`jwt`, `oidc`, `kubernetes`, `approle`, `cert`, `userpass`, `ldap`,
    /// `token`, `aws`, `gcp`, `azure`, `github`).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Jwt => "jwt",
            Method::Oidc => "oidc",
            Method::Kubernetes => "kubernetes",
            Method::AppRole => "approle",
            Method::Cert => "cert",
            Method::Userpass => "userpass",
            Method::Ldap => "ldap",
            Method::Token => "token",
            Method::Aws => "aws",
            Method::Gcp => "gcp",
            Method::Azure => "azure",
            Method::Github => "github",
        }
    }

    /// Parse the inventory spelling (case-insensitive).
    pub fn parse(s: &str) -> Option<Method> {
        let spelling = s.trim();
        Method::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(spelling))
    }

    /// Whether a credential of this method is presented to an auth mount of this type (`jwt` and
    /// `oidc` mounts run the same plugin and both serve `login`).
    pub fn serves_mount_type(self, mount_type: &str) -> bool {
        match self {
            Method::Jwt | Method::Oidc => matches!(mount_type, "jwt" | "oidc"),
            Method::Token => matches!(mount_type, "token" | "ns_token"),
            m => m.as_str() == mount_type,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Method {
    type Err = UnknownMethod;
    fn from_str(s: &str) -> Result<Method, UnknownMethod> {
        Method::parse(s).ok_or_else(|| UnknownMethod {
            text: s.to_string(),
        })
    }
}

/// An auth method name blastmap does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown auth method {text:?} (expected one of: {})", Method::ALL.map(Method::as_str).join(", "))]
pub struct UnknownMethod {
    pub text: String,
}

/// Why the server refuses a login, in the words the admission reports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(pub String);

/// What a pipeline presents. Fields not relevant to the method are `None`/empty; a `None` that the
/// method needs makes the admission [`Verdict::Unknown`], never a refusal.
#[derive(Debug, Clone, Copy)]
pub struct Credential<'a> {
    pub method: Method,
    /// JWT/OIDC: the claims of the token (any JSON values; nested objects allowed). Kubernetes:
    /// optional claims of the service account token (`aud`, `iss`, uid claims), when known.
    pub claims: Option<&'a Map<String, Value>>,
    /// Kubernetes: service account name and namespace.
    pub service_account: Option<&'a str>,
    pub service_account_namespace: Option<&'a str>,
    /// Kubernetes: the service account's UID, when known (the default alias name).
    pub service_account_uid: Option<&'a str>,
    /// AppRole: the role it holds a role-id (and secret-id) for. Token: the token role its token
    /// was created from. Set it from the inventory's `role_name`, else its `role`.
    pub role_name: Option<&'a str>,
    /// Cert: the client certificate's subject CN.
    pub common_name: Option<&'a str>,
    /// Cert: the certificate's DNS / email / URI SANs and subject OUs; `None` = not known
    /// (constraints on them are then unknown), `Some(&[])` = the certificate has none.
    pub dns_sans: Option<&'a [String]>,
    pub email_sans: Option<&'a [String]>,
    pub uri_sans: Option<&'a [String]>,
    pub organizational_units: Option<&'a [String]>,
    /// Userpass / LDAP: the user name.
    pub user: Option<&'a str>,
    /// LDAP: the user's directory groups, if known (empty = not known).
    pub groups: &'a [String],
    /// The networks the runners reach the server from; `None` = not known (CIDR bindings then
    /// stay conditions).
    pub source_addresses: Option<&'a [Network]>,
    /// Token: the entity alias named at token creation (`entity_alias`), if known.
    pub entity_alias: Option<&'a str>,
    /// AWS / GCP / Azure / GitHub: the identity the pipeline presents (`None` = not known).
    pub aws: Option<&'a AwsIdentity>,
    pub gcp: Option<&'a GcpIdentity>,
    pub azure: Option<&'a AzureIdentity>,
    pub github: Option<&'a GithubIdentity>,
}

impl<'a> Credential<'a> {
    /// A credential of `method` with nothing known yet.
    pub fn new(method: Method) -> Credential<'a> {
        Credential {
            method,
            claims: None,
            service_account: None,
            service_account_namespace: None,
            service_account_uid: None,
            role_name: None,
            common_name: None,
            dns_sans: None,
            email_sans: None,
            uri_sans: None,
            organizational_units: None,
            user: None,
            groups: &[],
            source_addresses: None,
            entity_alias: None,
            aws: None,
            gcp: None,
            azure: None,
            github: None,
        }
    }

    /// A JWT/OIDC credential with these claims.
    pub fn jwt(claims: &'a Map<String, Value>) -> Credential<'a> {
        Credential {
            claims: Some(claims),
            ..Credential::new(Method::Jwt)
        }
    }
}

/// The server's decision, as far as it can be made offline.
/// Ordered as declared (admitted, refused, unknown), which is also the order of their names.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The server would accept the login (subject to `conditions`).
    Admitted,
    /// The server would refuse the login whatever the unknowns.
    Refused,
    /// Depends on something not known offline (`unknowns` says what). Treat as possibly
    /// admitted: never as "no access".
    Unknown,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Admitted => "admitted",
            Verdict::Refused => "refused",
            Verdict::Unknown => "unknown",
        }
    }
}

/// The entity alias a login maps to (identity resolves it to an entity by accessor + name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Alias {
    pub mount_accessor: String,
    /// The alias name the plugin reports. Meaningful only when `name_known`; otherwise a
    /// placeholder ([`crate::model::REDACTED_ROLE_ID`] for AppRole, `<uid of ns/name>` for a
    /// Kubernetes UID not given).
    pub name: String,
    pub name_known: bool,
    /// The alias metadata the login sets (JWT `claim_mappings` targets plus `role`, AppRole
    /// `role_name`, Kubernetes service account fields …), where known.
    pub metadata: BTreeMap<String, String>,
    /// When the name is not known: the metadata an existing entity alias on this accessor must
    /// carry to be this login's alias (AppRole: `role_name`; Kubernetes: service account name and
    /// namespace). Empty when the name is known.
    pub match_metadata: BTreeMap<String, String>,
}

impl Alias {
    /// Whether an exported entity alias is this login's alias: same accessor and same name, or,
    /// when the name is not known, the `match_metadata` entries present in its metadata.
    pub fn matches(&self, alias: &EntityAlias) -> bool {
        if alias.mount_accessor != self.mount_accessor {
            return false;
        }
        if self.name_known {
            return alias.name == self.name;
        }
        !self.match_metadata.is_empty()
            && self
                .match_metadata
                .iter()
                .all(|(k, v)| alias.meta(k) == Some(v.as_str()))
    }
}

/// One role's admission for one credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Admission {
    pub verdict: Verdict,
    /// One sentence: which check admitted or refused, e.g.
    /// `bound_claims.repository "acme/*" (glob) matches "acme/payments"`.
    pub why: String,
    /// What an admission rests on: CIDRs the login must come from, the signature, a secret-id or
    /// password, a namespace selector, a CEL program …
    pub conditions: Vec<String>,
    /// What could not be decided offline.
    pub unknowns: Vec<String>,
    /// CIDRs the login request must come from (`token_bound_cidrs` checked at login,
    /// AppRole `secret_id_bound_cidrs`, LDAP config `token_bound_cidrs`); empty = anywhere.
    /// Each also appears as a condition.
    pub login_cidrs: Vec<String>,
    /// The entity alias the login maps to.
    pub alias: Option<Alias>,
    /// External group alias names the login reports (JWT `groups_claim`, LDAP groups), on the
    /// same mount accessor as the alias.
    pub group_aliases: Vec<String>,
    /// The token the login yields.
    pub token: TokenOutcome,
}

impl Admission {
    fn new(verdict: Verdict, why: impl Into<String>) -> Admission {
        Admission {
            verdict,
            why: why.into(),
            conditions: Vec::new(),
            unknowns: Vec::new(),
            login_cidrs: Vec::new(),
            alias: None,
            group_aliases: Vec::new(),
            token: TokenOutcome::default(),
        }
    }

    pub(crate) fn refused(why: impl Into<String>) -> Admission {
        Admission::new(Verdict::Refused, why)
    }

    pub(crate) fn unknown(why: impl Into<String>, unknown: impl Into<String>) -> Admission {
        let mut admission = Admission::new(Verdict::Unknown, why);
        admission.unknowns.push(unknown.into());
        admission
    }

    pub fn is_admitted(&self) -> bool {
        self.verdict == Verdict::Admitted
    }

    /// Admitted or unknown: the role must be counted in a blast radius.
    pub fn is_possible(&self) -> bool {
        self.verdict != Verdict::Refused
    }

    /// Whether a login from `ip` passes the login-time CIDR checks (`login_cidrs`).
    pub fn login_allowed_from(&self, ip: IpAddr) -> bool {
        any_cidr_contains(&self.login_cidrs, ip)
    }

    /// Require the login to come from `cidrs` (no-op when empty).
    pub(crate) fn require_login_cidrs(&mut self, field: &str, cidrs: &[String]) {
        if cidrs.is_empty() {
            return;
        }
        self.conditions.push(format!(
            "the login comes from {} ({field})",
            cidrs.join(", ")
        ));
        self.login_cidrs.extend(cidrs.iter().cloned());
    }

    /// Judge the CIDR bindings against the runners' networks: the login-time lists
    /// (`login_cidrs`) refuse the login from outside them; the token's `bound_cidrs` let the
    /// login succeed but refuse every request from outside them. Runners wholly inside keep the
    /// admission; none inside refuse it; some inside keep it, saying which runners pass.
    fn judge_sources(mut self, sources: &[Network]) -> Admission {
        if self.verdict == Verdict::Refused {
            return self;
        }
        let checks = [
            (self.login_cidrs.clone(), "log in"),
            (self.token.bound_cidrs.clone(), "use the token"),
        ];
        for (cidrs, act) in checks {
            let list = cidrs.join(", ");
            match source_coverage(sources, &cidrs) {
                SourceCoverage::All => {}
                SourceCoverage::None => {
                    self.verdict = Verdict::Refused;
                    self.why = format!(
                        "no runner address ({}) is inside {list}: the server refuses to {act} \
                         from them",
                        join_networks(sources)
                    );
                    return self;
                }
                SourceCoverage::Part { allowed, outside } => {
                    let outside = if outside.is_empty() {
                        String::new()
                    } else {
                        format!("; runners at {} cannot", join_networks(&outside))
                    };
                    self.conditions.push(format!(
                        "only the runner addresses inside {list} can {act} (of {}{outside})",
                        join_networks(&allowed)
                    ));
                }
            }
        }
        self
    }

    /// Add the token-use conditions of the token (bound CIDRs, strict IP binding) and collapse
    /// an admitted login whose token would carry `root` (core refuses it).
    pub(crate) fn finish(mut self) -> Admission {
        if !self.token.bound_cidrs.is_empty() {
            self.conditions.push(format!(
                "the token is usable only from {} (token_bound_cidrs)",
                self.token.bound_cidrs.join(", ")
            ));
        }
        if self.token.strictly_bind_ip {
            self.conditions.push(
                "the token is usable only from the login's source address (token_strictly_bind_ip)"
                    .to_owned(),
            );
        }
        for p in self.token.unresolved_policies.clone() {
            let note = format!("token policy {p:?} cannot be resolved offline");
            if !self.unknowns.contains(&note) {
                self.unknowns.push(note);
            }
        }
        if self.verdict != Verdict::Refused {
            if self.token.is_root() {
                self.verdict = Verdict::Refused;
                self.why = "the role's token policies include \"root\": the server refuses the \
                            login (auth methods cannot create root tokens)"
                    .to_owned();
            } else if self.token.policies.iter().any(|p| p == "response-wrapping") {
                self.verdict = Verdict::Refused;
                self.why = "the role's token policies include \"response-wrapping\", which \
                            cannot be assigned: the server refuses the login"
                    .to_owned();
            }
        }
        self
    }
}

/// Judge whether `cred` can log in through `role` of `mount`, exactly as the server would.
///
/// `role` must be a role of `mount`. JWT/Kubernetes/cert/userpass roles are judged from the
/// credential's claims or names; AppRole and token roles admit only the role named by
/// `cred.role_name` (the role the pipeline holds credentials for); LDAP entries apply when the
/// user (or one of its groups) matches, and every LDAP entry's admission carries the token of the
/// user's whole login. CEL roles and roles of unmodelled mount types are [`Verdict::Unknown`].
pub fn admit(
    mount: &AuthMount,
    role: RoleRef<'_>,
    cred: &Credential<'_>,
    server: &ServerInfo,
) -> Admission {
    admit_pre(mount, role, cred, server, None)
}

/// [`admit`] with the JWT's registered claims already parsed (`None`: parse them here).
fn admit_pre(
    mount: &AuthMount,
    role: RoleRef<'_>,
    cred: &Credential<'_>,
    server: &ServerInfo,
    registered: Option<&Result<jwt::Registered, jwt::ClaimsError>>,
) -> Admission {
    if !cred.method.serves_mount_type(&mount.mount_type) {
        return Admission::refused(format!(
            "the pipeline authenticates with {} but auth mount {:?} is of type {:?}",
            cred.method, mount.path, mount.mount_type
        ));
    }
    let admission = match (cred.method, role) {
        (Method::Jwt | Method::Oidc, RoleRef::Jwt(r)) => {
            jwt::admit(mount, r, cred, server, registered)
        }
        (Method::Jwt | Method::Oidc, RoleRef::Cel(r)) => {
            jwt::admit_cel(mount, r, cred, server, registered)
        }
        (Method::Kubernetes, RoleRef::Kubernetes(r)) => kubernetes::admit(mount, r, cred, server),
        (Method::AppRole, RoleRef::AppRole(r)) => approle::admit(mount, r, cred, server),
        (Method::Cert, RoleRef::Cert(r)) => cert::admit(mount, r, cred, server),
        (Method::Userpass, RoleRef::Userpass(u)) => userpass::admit(mount, u, cred, server),
        (Method::Ldap, RoleRef::LdapUser(_) | RoleRef::LdapGroup(_)) => {
            ldap::admit(mount, role, cred, server)
        }
        (Method::Token, RoleRef::Token(r)) => tokenrole::admit(mount, r, cred, server),
        (Method::Aws, RoleRef::Other(o)) => aws::admit(mount, o, cred, server),
        (Method::Gcp, RoleRef::Other(o)) => gcp::admit(mount, o, cred, server),
        (Method::Azure, RoleRef::Other(o)) => azure::admit(mount, o, cred, server),
        (Method::Github, RoleRef::Other(o)) => github::admit(mount, o, cred, server),
        (_, RoleRef::Other(o)) => Admission::unknown(
            format!(
                "role {:?} ({}) is of a kind blastmap does not model",
                o.name, o.collection
            ),
            format!(
                "admission to {} role {:?} on mount {:?} is not modelled",
                mount.mount_type, o.name, mount.path
            ),
        ),
        (m, r) => Admission::refused(format!(
            "a {m} credential cannot log in through a {} entry",
            r.kind().as_str()
        )),
    };
    match cred.source_addresses {
        Some(sources) => admission.finish().judge_sources(sources),
        None => admission.finish(),
    }
}

/// Every role of `mount` with its admission, in the mount's role order (the "no role named in the
/// inventory" case). LDAP mounts also get an entry named after the user when the user has no
/// `users/` entry: the directory login itself, with the mount's and the groups' policies.
pub fn admit_all(
    mount: &AuthMount,
    cred: &Credential<'_>,
    server: &ServerInfo,
) -> Vec<(String, Admission)> {
    // The registered claims of a JWT are the same for every role: parse them once.
    let registered = match (cred.method, cred.claims) {
        (Method::Jwt | Method::Oidc, Some(c)) => Some(jwt::Registered::parse(
            c,
            jwt::strict_registered_keys(server),
        )),
        _ => None,
    };
    let mut out: Vec<(String, Admission)> = mount
        .roles()
        .map(|r| {
            let admission = admit_pre(mount, r, cred, server, registered.as_ref());
            (r.name().to_owned(), admission)
        })
        .collect();
    if cred.method == Method::Ldap && cred.method.serves_mount_type(&mount.mount_type) {
        if let Some((name, admission)) = ldap::bare_login(mount, cred, server) {
            out.push((name, admission.finish()));
        }
    }
    if cred.method == Method::Github && cred.method.serves_mount_type(&mount.mount_type) {
        if let Some((name, admission)) = github::bare_login(mount, cred, server) {
            let admission = match cred.source_addresses {
                Some(sources) => admission.finish().judge_sources(sources),
                None => admission.finish(),
            };
            out.push((name, admission));
        }
    }
    out
}

fn join_networks(ns: &[Network]) -> String {
    ns.iter()
        .map(Network::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// JSON text of a value, for messages.
pub(crate) fn show(v: &Value) -> String {
    v.to_string()
}

#[cfg(test)]
mod cloud_tests;
#[cfg(test)]
mod tests;
