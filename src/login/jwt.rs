//! JWT/OIDC roles (`internal/builtin/credential/jwt`: `path_login.go` `pathLogin`, `claims.go`) and
//! the pre-checks of CEL roles (`path_cel_login.go`).
//!
//! Order of the server's checks, each refusing on failure:
//! 1. `role_type = "oidc"` roles are refused by the `login` endpoint;
//! 2. `token_bound_cidrs` against the client address (a condition here);
//! 3. signature and algorithm (assumed), then the registered claims as `hashicorp/cap` decodes them
//!    into go-jose's `jwt.Claims` (a wrongly typed `iss`/`sub`/`aud`/`jti`/`exp`/`nbf`/`iat`
//!    fails the login; `encoding/json` matches keys case-insensitively, and OpenBao 2.7 refuses a
//!    key that only case-folds onto a registered claim, such as `AUD`): `iss`
//!    against the mount's `bound_issuer`, `sub` against `bound_subject`, `aud` against
//!    `bound_audiences` (any), and the time claims (assumed fresh);
//! 4. OpenBao's rule that a token carrying `aud` (the exact key) needs bound audiences;
//! 5. `createIdentity`: `user_claim` must exist and be a string (JSON pointer with
//!    `user_claim_json_pointer`), `claim_mappings` values must be strings when present,
//!    `groups_claim` (if set) must exist and be a string or a list of strings;
//! 6. `validateBoundClaims`: every key present, each side normalised to a list, any expected value
//!    equal to (or, for `glob`, matching) any received value;
//! 7. `token_policies_template_claims` templates; then core refuses `root` tokens.

use super::glob::go_glob;
use super::template::{render, TemplateOutcome};
use super::token::resolve;
use super::{show, Admission, Alias, Credential, Refusal, Verdict};
use crate::model::{AuthMount, CelRole, JwtRole, ServerInfo};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub(super) fn admit(
    mount: &AuthMount,
    role: &JwtRole,
    cred: &Credential<'_>,
    server: &ServerInfo,
    pre: Option<&Result<Registered, ClaimsError>>,
) -> Admission {
    if role.effective_role_type() == "oidc" {
        return Admission::refused(format!(
            "role {:?} has role_type \"oidc\": the JWT login endpoint refuses it (only the \
             interactive browser OIDC flow can use it)",
            role.name
        ));
    }
    let Some(claims) = cred.claims else {
        return Admission::unknown(
            "the pipeline's token claims are not known",
            format!(
                "the claims of the pipeline's JWT (needed to judge role {:?})",
                role.name
            ),
        );
    };
    let mut admission = Admission::new(Verdict::Admitted, String::new());
    admission.require_login_cidrs("token_bound_cidrs", &role.token.token_bound_cidrs);
    admission.conditions.push(signature_condition(mount));
    let mut judgement = JwtJudgement {
        mount,
        role,
        claims,
        admission,
        passed: Vec::new(),
    };
    match judgement.judge(server, pre) {
        Ok(()) => judgement.finish(),
        Err(Refusal(why)) => Admission::refused(why),
    }
}

/// A JWT admission being judged, in the server's order: the checks passed so far (for `why`).
struct JwtJudgement<'j> {
    mount: &'j AuthMount,
    role: &'j JwtRole,
    claims: &'j Map<String, Value>,
    admission: Admission,
    passed: Vec<String>,
}

impl JwtJudgement<'_> {
    fn judge(
        &mut self,
        server: &ServerInfo,
        pre: Option<&Result<Registered, ClaimsError>>,
    ) -> Result<(), Refusal> {
        // 3. Registered claims, issuer, subject, audiences.
        let mut parsed = None;
        let reg = registered(pre, self.claims, server, &mut parsed)
            .map_err(|e| Refusal(e.to_string()))?;
        check_issuer(self.mount, reg, &mut self.admission, &mut self.passed)?;
        self.subject(reg)?;
        self.audiences(reg)?;
        // 5. Identity: user claim, claim mappings, groups.
        let user = self.user()?;
        let metadata = self.claim_mappings()?;
        if !self.role.groups_claim.is_empty() {
            self.admission.group_aliases = groups(self.claims, &self.role.groups_claim)?;
        }
        // 6. Bound claims.
        let glob = self.role.effective_bound_claims_type() == "glob";
        for (key, expected) in &self.role.bound_claims {
            self.passed
                .push(check_bound_claim(self.claims, key, expected, glob)?);
        }
        // 7. Policies (templated over the claims on OpenBao) and the token.
        self.token(server)?;
        self.admission.alias = Some(Alias {
            mount_accessor: self.mount.accessor.clone(),
            name: user.clone(),
            name_known: true,
            metadata,
            match_metadata: BTreeMap::new(),
        });
        self.passed
            .push(format!("user_claim {:?} = {user:?}", self.role.user_claim));
        Ok(())
    }

    fn subject(&mut self, reg: &Registered) -> Result<(), Refusal> {
        let bound = &self.role.bound_subject;
        if bound.is_empty() {
            return Ok(());
        }
        let sub = reg.sub.as_deref().unwrap_or("");
        if sub != bound {
            return Err(Refusal(if reg.sub.is_none() {
                format!("bound_subject {bound:?} is set but the token has no sub claim")
            } else {
                format!("sub {sub:?} is not the role's bound_subject {bound:?}")
            }));
        }
        self.passed
            .push(format!("sub {sub:?} is the bound_subject"));
        Ok(())
    }

    /// `bound_audiences` (any), then OpenBao's rule that a token with `aud` (the exact key,
    /// string or list) needs bound audiences.
    fn audiences(&mut self, reg: &Registered) -> Result<(), Refusal> {
        let bound = &self.role.bound_audiences;
        if !bound.is_empty() {
            let Some(matched) = bound.iter().find(|b| reg.aud.contains(b)) else {
                return Err(Refusal(format!(
                    "aud {} matches none of the role's bound_audiences {}",
                    show_list(&reg.aud),
                    show_list(bound)
                )));
            };
            self.passed
                .push(format!("aud {matched:?} is in bound_audiences"));
        }
        // 4.
        let aud_len = match self.claims.get("aud") {
            Some(Value::String(_)) => 1,
            Some(Value::Array(xs)) => xs.len(),
            _ => 0,
        };
        if aud_len > 0 && bound.is_empty() {
            return Err(Refusal(format!(
                "the token carries aud {} but role {:?} has no bound_audiences (OpenBao refuses a \
                 token with an audience on a role without bound audiences)",
                show(&self.claims["aud"]),
                self.role.name
            )));
        }
        Ok(())
    }

    /// `user_claim` (a JSON pointer with `user_claim_json_pointer`): present and a string.
    fn user(&self) -> Result<String, Refusal> {
        let role = self.role;
        let user = if role.user_claim_json_pointer.unwrap_or(false) {
            lookup(self.claims, &role.user_claim)
        } else {
            self.claims.get(&role.user_claim).filter(|v| !v.is_null())
        };
        match user {
            None => Err(Refusal(format!(
                "user_claim {:?} is not in the token",
                role.user_claim
            ))),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(v) => Err(Refusal(format!(
                "user_claim {:?} is {} (not a string)",
                role.user_claim,
                show(v)
            ))),
        }
    }

    /// The alias metadata: `claim_mappings` values must be strings when present.
    fn claim_mappings(&self) -> Result<BTreeMap<String, String>, Refusal> {
        let mut metadata = BTreeMap::new();
        for (source, target) in &self.role.claim_mappings {
            match lookup(self.claims, source) {
                None => {}
                Some(Value::String(s)) => {
                    metadata.insert(target.clone(), s.clone());
                }
                Some(v) => {
                    return Err(Refusal(format!(
                        "claim_mappings source {source:?} is {} (not a string): the server fails \
                         the login",
                        show(v)
                    )))
                }
            }
        }
        metadata.insert("role".to_owned(), self.role.name.clone());
        Ok(metadata)
    }

    /// The token's policies, rendered over the claims when `token_policies_template_claims`.
    fn token(&mut self, server: &ServerInfo) -> Result<(), Refusal> {
        let role = self.role;
        let configured = role.token.configured_policies();
        let mut unresolved = Vec::new();
        let policies: Vec<String> = if role.token_policies_template_claims.unwrap_or(false) {
            let mut rendered = Vec::new();
            for policy in configured {
                match render(policy, self.claims) {
                    TemplateOutcome::Rendered(s) => {
                        if !s.is_empty() {
                            rendered.push(s);
                        }
                    }
                    TemplateOutcome::Fails(e) => {
                        return Err(Refusal(format!(
                            "token policy template {policy:?} fails on the token's claims ({e}): \
                             the server fails the login"
                        )))
                    }
                    TemplateOutcome::Unsupported(why) => {
                        self.admission.unknowns.push(format!(
                            "token policy template {policy:?} of role {:?}: {why}",
                            role.name
                        ));
                        unresolved.push(policy.clone());
                    }
                }
            }
            rendered
        } else {
            configured.to_vec()
        };
        self.admission.token = resolve(&role.token, &policies, self.mount, server);
        self.admission.token.unresolved_policies = unresolved;
        Ok(())
    }

    fn finish(self) -> Admission {
        let mut admission = self.admission;
        admission.why = format!(
            "role {:?} admits the token: {}",
            self.role.name,
            self.passed.join("; ")
        );
        if !admission.token.unresolved_policies.is_empty() {
            // Admission itself is decided; only the policy set is partly unknown.
            admission
                .why
                .push_str(" (some token policies are templates not resolved offline)");
        }
        admission
    }
}

/// A CEL role (`auth/<m>/cel/login`): the server checks the issuer and `bound_audiences`, then the
/// program decides admission, alias and policies. Refused when a pre-check fails, else unknown.
pub(super) fn admit_cel(
    mount: &AuthMount,
    role: &CelRole,
    cred: &Credential<'_>,
    server: &ServerInfo,
    pre: Option<&Result<Registered, ClaimsError>>,
) -> Admission {
    let program = role
        .cel_program
        .get("expression")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| show(&role.cel_program));
    let unknown = format!(
        "CEL role {:?}: its program decides admission, alias and policies ({program})",
        role.name
    );
    let Some(claims) = cred.claims else {
        return Admission::unknown(
            format!(
                "CEL role {:?}: the program decides (and the token's claims are not known)",
                role.name
            ),
            unknown,
        );
    };
    let mut admission = Admission::new(Verdict::Unknown, String::new());
    admission.conditions.push(signature_condition(mount));
    let mut passed = Vec::new();
    let mut parsed = None;
    let reg = match registered(pre, claims, server, &mut parsed) {
        Ok(r) => r,
        Err(e) => return Admission::refused(e.to_string()),
    };
    if let Err(e) = check_issuer(mount, reg, &mut admission, &mut passed) {
        return Admission::refused(e.0);
    }
    if !role.bound_audiences.is_empty() && !role.bound_audiences.iter().any(|b| reg.aud.contains(b))
    {
        return Admission::refused(format!(
            "aud {} matches none of CEL role {:?}'s bound_audiences {}",
            show_list(&reg.aud),
            role.name,
            show_list(&role.bound_audiences)
        ));
    }
    admission.conditions.push(format!(
        "CEL program of role {:?} accepts the claims",
        role.name
    ));
    admission.why = format!(
        "CEL role {:?}: the issuer and audience checks pass; its program decides the rest",
        role.name
    );
    admission.unknowns.push(unknown);
    admission
}

fn signature_condition(mount: &AuthMount) -> String {
    let cfg = mount.config.as_ref();
    let has_keys = cfg
        .and_then(|c| c.get("jwt_validation_pubkeys"))
        .is_some_and(|v| match v {
            Value::Array(xs) => !xs.is_empty(),
            Value::String(s) => !s.is_empty(),
            _ => false,
        });
    let source = if has_keys {
        "jwt_validation_pubkeys".to_owned()
    } else if let Some(u) = mount.config_str("jwks_url") {
        format!("the JWKS at {u}")
    } else if let Some(u) = mount.config_str("oidc_discovery_url") {
        format!("OIDC discovery at {u}")
    } else {
        "the mount's configured keys".to_owned()
    };
    let algs = cfg
        .and_then(|c| c.get("jwt_supported_algs"))
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .map(|a| {
            format!(
                " with one of {}",
                a.iter().map(show).collect::<Vec<_>>().join(", ")
            )
        })
        .unwrap_or_default();
    format!(
        "the JWT is signed by a key from {source}{algs} and is not expired (exp, nbf and iat are \
         not judged offline)"
    )
}

fn check_issuer(
    mount: &AuthMount,
    reg: &Registered,
    a: &mut Admission,
    passed: &mut Vec<String>,
) -> Result<(), Refusal> {
    let Some(bound) = mount.config_str("bound_issuer") else {
        return Ok(());
    };
    if !reg.iss_listed {
        a.conditions.push(format!(
            "the token's iss is the mount's bound_issuer {bound:?} (the pipeline's claims do \
             not list iss)"
        ));
        return Ok(());
    }
    let iss = reg.iss.as_deref().unwrap_or("");
    if iss != bound {
        return Err(Refusal(format!(
            "iss {iss:?} is not the mount's bound_issuer {bound:?}"
        )));
    }
    passed.push(format!("iss {iss:?} is the bound_issuer"));
    Ok(())
}

/// Whether a claim key that only case-folds onto a registered claim (`AUD`, `Sub`, `ſub`) makes
/// the login fail: OpenBao 2.7 refuses such tokens as ambiguous ("ambiguous claim: key "AUD"
/// collides with registered claim "aud" under case folding"). Vault still decodes them
/// case-insensitively.
/// The registered claims of a credential: those `admit_all` parsed once for every role (`pre`;
/// every role judges the same claims), else parsed here into `slot`; why the server could not
/// decode them otherwise.
fn registered<'r>(
    pre: Option<&'r Result<Registered, ClaimsError>>,
    claims: &Map<String, Value>,
    server: &ServerInfo,
    slot: &'r mut Option<Result<Registered, ClaimsError>>,
) -> Result<&'r Registered, ClaimsError> {
    let reg = match pre {
        Some(r) => r,
        None => slot.insert(Registered::parse(claims, strict_registered_keys(server))),
    };
    reg.as_ref().map_err(ClaimsError::clone)
}

pub(super) fn strict_registered_keys(server: &ServerInfo) -> bool {
    server.flavor == crate::model::Flavor::OpenBao
}

/// The registered claims as `cap` decodes them into go-jose's `jwt.Claims` with
/// `encoding/json`: keys match case-insensitively (Unicode simple folding; with `strict`, a key
/// that is not exactly the registered name fails the login instead), the last matching key in
/// sorted order wins, `null` leaves a field unset, and a wrongly typed value fails the login.
#[derive(Debug, Default)]
pub(super) struct Registered {
    pub(super) iss: Option<String>,
    pub(super) iss_listed: bool,
    pub(super) sub: Option<String>,
    pub(super) aud: Vec<String>,
}

/// Why the server cannot decode a token's registered claims (the login fails).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum ClaimsError {
    #[error(
        "claim key {key:?} collides with the registered claim {field:?} under case folding: the \
         server refuses such tokens as ambiguous"
    )]
    Ambiguous { key: String, field: &'static str },
    #[error(
        "claim {key:?} is {shown} but must be {expected}: the server cannot decode the token's \
         registered claims"
    )]
    WrongType {
        key: String,
        shown: String,
        expected: &'static str,
    },
}

impl Registered {
    pub(super) fn parse(
        claims: &Map<String, Value>,
        strict: bool,
    ) -> Result<Registered, ClaimsError> {
        let mut keys: Vec<&String> = claims.keys().collect();
        keys.sort();
        let mut registered = Registered::default();
        for key in keys {
            let value = &claims[key.as_str()];
            let Some(field) = ["iss", "sub", "aud", "jti", "exp", "nbf", "iat"]
                .into_iter()
                .find(|f| fold_eq(key, f))
            else {
                continue;
            };
            if strict && key != field {
                return Err(ClaimsError::Ambiguous {
                    key: key.clone(),
                    field,
                });
            }
            let bad = |expected: &'static str| ClaimsError::WrongType {
                key: key.clone(),
                shown: show(value),
                expected,
            };
            match field {
                "iss" | "sub" | "jti" => match value {
                    Value::String(s) => match field {
                        "iss" => registered.iss = Some(s.clone()),
                        "sub" => registered.sub = Some(s.clone()),
                        _ => {}
                    },
                    Value::Null => {}
                    _ => return Err(bad("a string")),
                },
                "aud" => match value {
                    Value::String(s) => registered.aud = vec![s.clone()],
                    Value::Array(xs) => {
                        registered.aud = xs
                            .iter()
                            .map(|x| x.as_str().map(str::to_owned))
                            .collect::<Option<Vec<_>>>()
                            .ok_or_else(|| bad("a string or a list of strings"))?;
                    }
                    _ => return Err(bad("a string or a list of strings")),
                },
                _ => match value {
                    Value::Number(_) | Value::Null => {}
                    _ => return Err(bad("a number")),
                },
            }
            if field == "iss" {
                registered.iss_listed = true;
            }
        }
        Ok(registered)
    }
}

/// `bytes.EqualFold(key, name)` for an ASCII lowercase `name`: the only non-ASCII characters that
/// fold onto ASCII letters are ſ (s) and the Kelvin sign (k).
fn fold_eq(key: &str, name: &str) -> bool {
    let mut key_chars = key.chars().map(|c| match c {
        'ſ' => 's',
        '\u{212A}' => 'k',
        c => c.to_ascii_lowercase(),
    });
    let mut name_chars = name.chars();
    loop {
        match (key_chars.next(), name_chars.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

/// `getClaim`: a JSON pointer (RFC 6901, via `pointerstructure`) when the name starts with `/`,
/// else the top-level key. `null` is absent.
pub(crate) fn lookup<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    let value = if name.starts_with('/') {
        pointer(claims, name)?
    } else {
        claims.get(name)?
    };
    (!value.is_null()).then_some(value)
}

fn pointer<'a>(claims: &'a Map<String, Value>, ptr: &str) -> Option<&'a Value> {
    let parts = ptr[1..]
        .split('/')
        .map(|p| p.replace("~1", "/").replace("~0", "~"));
    let mut map = Some(claims);
    let mut cur: Option<&Value> = None;
    for part in parts {
        let next = match (map, cur) {
            (Some(m), _) => m.get(&part)?,
            (None, Some(Value::Object(m))) => m.get(&part)?,
            (None, Some(Value::Array(xs))) => {
                let index: i64 = part.parse().ok()?;
                xs.get(usize::try_from(index).ok()?)?
            }
            _ => return None,
        };
        map = None;
        cur = Some(next);
    }
    cur
}

/// A claim value as the plugin holds it: received claims are decoded without `UseNumber`
/// (numbers are float64; `getClaim` turns a top-level float64 into the json.Number of its
/// truncated integer), bound claims are stored with `UseNumber` (json.Number everywhere).
#[derive(Debug, Clone)]
enum Go<'a> {
    Str(&'a str),
    Bool(bool),
    /// json.Number (its text)
    Num(String),
    /// float64 (numbers inside received lists)
    Float(f64),
    List(&'a [Value]),
    Map,
    Nil,
}

/// A received claim at the top level, after `getClaim`.
fn received(v: &Value) -> Go<'_> {
    match v {
        Value::Number(n) => Go::Num(go_int_string(n.as_f64().unwrap_or(0.0))),
        v => common(v, |n| Go::Float(n.as_f64().unwrap_or(0.0))),
    }
}

/// An element of a received list claim (float64 kept).
fn received_elem(v: &Value) -> Go<'_> {
    common(v, |n| Go::Float(n.as_f64().unwrap_or(0.0)))
}

/// A bound (expected) value, top level or list element.
fn stored(v: &Value) -> Go<'_> {
    common(v, |n| Go::Num(n.to_string()))
}

fn common<'a>(v: &'a Value, num: impl Fn(&serde_json::Number) -> Go<'a>) -> Go<'a> {
    match v {
        Value::String(s) => Go::Str(s),
        Value::Bool(b) => Go::Bool(*b),
        Value::Number(n) => num(n),
        Value::Array(xs) => Go::List(xs),
        Value::Object(_) => Go::Map,
        Value::Null => Go::Nil,
    }
}

/// `strconv.Itoa(int(f))` on amd64: truncation toward zero, out-of-range values become
/// math.MinInt64.
fn go_int_string(f: f64) -> String {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() || !(-TWO_63..TWO_63).contains(&f) {
        i64::MIN.to_string()
    } else {
        (f.trunc() as i64).to_string()
    }
}

/// `normalizeList`: a string, bool or json.Number becomes a one-element list, a list stays a list.
fn normalize<'a>(v: Go<'a>, elem: fn(&'a Value) -> Go<'a>) -> Option<Vec<Go<'a>>> {
    match v {
        Go::Str(_) | Go::Bool(_) | Go::Num(_) => Some(vec![v]),
        Go::List(xs) => Some(xs.iter().map(elem).collect()),
        _ => None,
    }
}

/// Go's `actVal != expVal` on interface values: `Err` when both hold the same uncomparable type
/// (the comparison panics and the login request fails).
fn go_eq(a: &Go<'_>, b: &Go<'_>) -> Result<bool, ()> {
    Ok(match (a, b) {
        (Go::Str(x), Go::Str(y)) => x == y,
        (Go::Bool(x), Go::Bool(y)) => x == y,
        (Go::Num(x), Go::Num(y)) => x == y,
        (Go::Float(x), Go::Float(y)) => x == y,
        (Go::Nil, Go::Nil) => true,
        (Go::List(_), Go::List(_)) | (Go::Map, Go::Map) => return Err(()),
        _ => false,
    })
}

fn describe(g: &Go<'_>) -> String {
    match g {
        Go::Str(s) => format!("{s:?}"),
        Go::Bool(b) => b.to_string(),
        Go::Num(n) => n.clone(),
        Go::Float(f) => f.to_string(),
        Go::List(xs) => show(&Value::Array(xs.to_vec())),
        Go::Map => "an object".to_owned(),
        Go::Nil => "null".to_owned(),
    }
}

/// `validateBoundClaims` for one key: `Ok(why it matched)` or `Err(why the login fails)`.
fn check_bound_claim(
    claims: &Map<String, Value>,
    key: &str,
    expected: &Value,
    glob: bool,
) -> Result<String, Refusal> {
    let Some(actual) = lookup(claims, key) else {
        return Err(Refusal(format!(
            "bound claim {key:?} is not in the token (every bound claim is required)"
        )));
    };
    let act = normalize(received(actual), received_elem).ok_or_else(|| {
        Refusal(format!(
            "claim {key:?} is {} (not a string, bool, number or list): the server refuses it",
            show(actual)
        ))
    })?;
    let exp = normalize(stored(expected), stored).ok_or_else(|| {
        Refusal(format!(
            "bound claim {key:?} expects {} (not a string, bool, number or list): no token can \
             match",
            show(expected)
        ))
    })?;
    let kind = if glob { " (glob)" } else { "" };
    for e in &exp {
        for x in &act {
            let hit = if glob {
                let Go::Str(pattern) = e else {
                    return Err(Refusal(format!(
                        "bound claim {key:?} has the non-string glob {}: the server fails the \
                         login",
                        describe(e)
                    )));
                };
                let Go::Str(s) = x else { continue };
                go_glob(pattern, s)
            } else {
                match go_eq(x, e) {
                    Ok(m) => m,
                    Err(()) => {
                        return Err(Refusal(format!(
                            "bound claim {key:?}: comparing {} with {} panics in the server \
                             (uncomparable values); the login fails",
                            describe(x),
                            describe(e)
                        )))
                    }
                }
            };
            if hit {
                return Ok(format!(
                    "bound_claims.{key} {}{kind} matches {}",
                    describe(e),
                    describe(x)
                ));
            }
        }
    }
    let why_typed = if !glob
        && act.iter().any(|x| matches!(x, Go::Float(_)))
        && exp.iter().any(|e| matches!(e, Go::Num(_)))
    {
        " (numbers inside a list claim never equal a bound number)"
    } else {
        ""
    };
    Err(Refusal(format!(
        "bound_claims.{key} {}{kind} matches none of the token's values {}{why_typed}",
        if exp.len() == 1 {
            describe(&exp[0])
        } else {
            format!(
                "[{}]",
                exp.iter().map(describe).collect::<Vec<_>>().join(", ")
            )
        },
        show(actual)
    )))
}

/// The group alias names of `groups_claim`: the claim must exist and be a string or a list of
/// strings (empty entries skipped).
fn groups(claims: &Map<String, Value>, claim: &str) -> Result<Vec<String>, Refusal> {
    let Some(raw) = lookup(claims, claim) else {
        return Err(Refusal(format!(
            "groups_claim {claim:?} is not in the token: the server fails the login"
        )));
    };
    let list = normalize(received(raw), received_elem).ok_or_else(|| {
        Refusal(format!(
            "groups_claim {claim:?} is {} (not a string or list): the server fails the login",
            show(raw)
        ))
    })?;
    let mut out: Vec<String> = Vec::new();
    for g in list {
        match g {
            Go::Str("") => {}
            Go::Str(s) => {
                if !out.iter().any(|o| o == s) {
                    out.push(s.to_owned());
                }
            }
            other => {
                return Err(Refusal(format!(
                    "groups_claim {claim:?} holds {} (not a string): the server fails the login",
                    describe(&other)
                )))
            }
        }
    }
    Ok(out)
}

fn show_list(xs: &[String]) -> String {
    format!(
        "[{}]",
        xs.iter()
            .map(|x| format!("{x:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}
