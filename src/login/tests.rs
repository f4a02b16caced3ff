//! One test per admission rule (and per branch of it), from the plugins' own code.

use super::*;
use crate::model::{
    AppRoleRole, AuthMount, CelRole, CertRole, EntityAlias, JwtRole, KubernetesRole, LdapGroup,
    LdapUser, RoleRef, ServerInfo, TokenRole, UserpassUser, REDACTED_ROLE_ID,
};
use serde_json::{json, Map, Value};

fn server() -> ServerInfo {
    ServerInfo::default()
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().expect("an object").clone()
}

fn mount(kind: &str, config: Value) -> AuthMount {
    AuthMount {
        path: format!("{kind}/"),
        mount_type: kind.to_owned(),
        accessor: format!("auth_{kind}_1234"),
        config: config.as_object().cloned(),
        ..AuthMount::default()
    }
}

fn jwt_mount() -> AuthMount {
    mount(
        "jwt",
        json!({"bound_issuer": "https://iss", "jwt_validation_pubkeys": ["PEM"]}),
    )
}

fn jwt_role(v: Value) -> JwtRole {
    let mut v = v;
    if v.get("name").is_none() {
        v["name"] = json!("r");
    }
    if v.get("role_type").is_none() {
        v["role_type"] = json!("jwt");
    }
    if v.get("user_claim").is_none() {
        v["user_claim"] = json!("sub");
    }
    serde_json::from_value(v).unwrap()
}

fn base_claims() -> Map<String, Value> {
    obj(json!({
        "iss": "https://iss",
        "sub": "repo:acme/payments:ref:refs/heads/main",
        "aud": "vault",
        "repository": "acme/payments",
        "ref": "refs/heads/main",
        "project_id": 1234,
        "ref_protected": true,
        "teams": ["red", "blue"],
        "ctx": {"org": "acme", "ids": ["c1", "c2"], "a/b": "slash", "user": "svc"},
    }))
}

fn with(mut c: Map<String, Value>, changes: Value) -> Map<String, Value> {
    for (k, v) in obj(changes) {
        if v == json!("<remove>") {
            c.shift_remove(&k);
        } else {
            c.insert(k, v);
        }
    }
    c
}

fn judge(role: &JwtRole, claims: &Map<String, Value>) -> Admission {
    admit(
        &jwt_mount(),
        RoleRef::Jwt(role),
        &Credential::jwt(claims),
        &server(),
    )
}

#[track_caller]
fn assert_verdict(a: &Admission, v: Verdict) {
    assert_eq!(a.verdict, v, "why: {}\n{a:#?}", a.why);
}

// ---- JWT ----------------------------------------------------------------------------------------

#[test]
fn jwt_login_refuses_oidc_roles_for_jwt_and_oidc_methods() {
    let role = jwt_role(json!({"role_type": "oidc", "bound_audiences": ["vault"]}));
    let c = base_claims();
    assert_verdict(&judge(&role, &c), Verdict::Refused);
    let cred = Credential {
        method: Method::Oidc,
        ..Credential::jwt(&c)
    };
    let a = admit(&jwt_mount(), RoleRef::Jwt(&role), &cred, &server());
    assert_verdict(&a, Verdict::Refused);
    assert!(a.why.contains("role_type \"oidc\""), "{}", a.why);
    // A legacy role without role_type is a jwt role.
    let mut legacy = jwt_role(json!({"bound_audiences": ["vault"]}));
    legacy.role_type = None;
    assert_verdict(&judge(&legacy, &c), Verdict::Admitted);
}

#[test]
fn jwt_without_claims_is_unknown() {
    let role = jwt_role(json!({"bound_audiences": ["vault"]}));
    let cred = Credential::new(Method::Jwt);
    let a = admit(&jwt_mount(), RoleRef::Jwt(&role), &cred, &server());
    assert_verdict(&a, Verdict::Unknown);
    assert!(!a.unknowns.is_empty());
}

#[test]
fn bound_audiences_against_string_or_list_aud() {
    let role = jwt_role(json!({"bound_audiences": ["other", "vault"]}));
    assert_verdict(&judge(&role, &base_claims()), Verdict::Admitted);
    let list = with(base_claims(), json!({"aud": ["x", "vault"]}));
    assert_verdict(&judge(&role, &list), Verdict::Admitted);
    let miss = with(base_claims(), json!({"aud": ["x", "y"]}));
    let a = judge(&role, &miss);
    assert_verdict(&a, Verdict::Refused);
    assert!(a.why.contains("bound_audiences"), "{}", a.why);
    let none = with(base_claims(), json!({"aud": "<remove>"}));
    assert_verdict(&judge(&role, &none), Verdict::Refused);
}

#[test]
fn aud_without_bound_audiences_is_refused() {
    let role = jwt_role(json!({"bound_claims": {"repository": "acme/payments"}}));
    let a = judge(&role, &base_claims());
    assert_verdict(&a, Verdict::Refused);
    assert!(a.why.contains("no bound_audiences"), "{}", a.why);
    // No aud, or an empty list: fine.
    let none = with(base_claims(), json!({"aud": "<remove>"}));
    assert_verdict(&judge(&role, &none), Verdict::Admitted);
    let empty = with(base_claims(), json!({"aud": []}));
    assert_verdict(&judge(&role, &empty), Verdict::Admitted);
    // Even an empty-string aud counts as an audience.
    let blank = with(base_claims(), json!({"aud": ""}));
    assert_verdict(&judge(&role, &blank), Verdict::Refused);
}

#[test]
fn bound_subject_exact() {
    let role = jwt_role(json!({
        "bound_audiences": ["vault"],
        "bound_subject": "repo:acme/payments:ref:refs/heads/main"
    }));
    assert_verdict(&judge(&role, &base_claims()), Verdict::Admitted);
    let other = with(
        base_claims(),
        json!({"sub": "repo:acme/payments:ref:refs/heads/dev"}),
    );
    assert_verdict(&judge(&role, &other), Verdict::Refused);
    let none = with(base_claims(), json!({"sub": "<remove>"}));
    // The user claim (sub) is missing too, but the subject check comes first.
    let a = judge(&role, &none);
    assert_verdict(&a, Verdict::Refused);
    assert!(a.why.contains("no sub claim"), "{}", a.why);
}

#[test]
fn bound_claims_string_every_key_required() {
    let role = jwt_role(json!({
        "bound_audiences": ["vault"],
        "bound_claims": {"repository": "acme/payments", "ref": "refs/heads/main"}
    }));
    let a = judge(&role, &base_claims());
    assert_verdict(&a, Verdict::Admitted);
    assert!(
        a.why
            .contains("bound_claims.repository \"acme/payments\" matches \"acme/payments\""),
        "{}",
        a.why
    );
    let missing = with(base_claims(), json!({"ref": "<remove>"}));
    let a = judge(&role, &missing);
    assert_verdict(&a, Verdict::Refused);
    assert!(a.why.contains("\"ref\" is not in the token"), "{}", a.why);
    let wrong = with(base_claims(), json!({"ref": "refs/heads/dev"}));
    assert_verdict(&judge(&role, &wrong), Verdict::Refused);
    // String mode is exact: no globbing.
    let role = jwt_role(json!({
        "bound_audiences": ["vault"], "bound_claims": {"repository": "acme/*"}
    }));
    assert_verdict(&judge(&role, &base_claims()), Verdict::Refused);
}

#[test]
fn bound_claims_lists_any_match() {
    let role = jwt_role(json!({
        "bound_audiences": ["vault"],
        "bound_claims": {"ref": ["refs/heads/dev", "refs/heads/main"], "teams": "blue"}
    }));
    assert_verdict(&judge(&role, &base_claims()), Verdict::Admitted);
    let c = with(base_claims(), json!({"teams": ["green"]}));
    assert_verdict(&judge(&role, &c), Verdict::Refused);
    // An empty list claim matches nothing.
    let c = with(base_claims(), json!({"teams": []}));
    assert_verdict(&judge(&role, &c), Verdict::Refused);
}

#[test]
fn bound_claims_glob() {
    let role = jwt_role(json!({
        "bound_audiences": ["vault"],
        "bound_claims_type": "glob",
        "bound_claims": {"repository": "acme/*", "sub": "repo:*:ref:refs/heads/*"}
    }));
    let a = judge(&role, &base_claims());
    assert_verdict(&a, Verdict::Admitted);
    assert!(
        a.why
            .contains("bound_claims.repository \"acme/*\" (glob) matches \"acme/payments\""),
        "{}",
        a.why
    );
    // `*` crosses `/`.
    let c = with(base_claims(), json!({"repository": "acme/team/payments"}));
    assert_verdict(&judge(&role, &c), Verdict::Admitted);
    let c = with(base_claims(), json!({"repository": "evil/payments"}));
    assert_verdict(&judge(&role, &c), Verdict::Refused);
    // Non-string received values are skipped in glob mode.
    let role = jwt_role(json!({
        "bound_audiences": ["vault"], "bound_claims_type": "glob",
        "bound_claims": {"project_id": "12*"}
    }));
    assert_verdict(&judge(&role, &base_claims()), Verdict::Refused);
    let c = with(base_claims(), json!({"project_id": [1234, "1234"]}));
    assert_verdict(&judge(&role, &c), Verdict::Admitted);
}

#[test]
fn glob_with_non_string_pattern_fails() {
    let role = jwt_role(json!({
        "bound_audiences": ["vault"], "bound_claims_type": "glob",
        "bound_claims": {"ref": ["refs/heads/*", 5], "repository": [5, "acme/*"]}
    }));
    // "ref": the first pattern matches before 5 is reached -> fine; "repository": 5 comes first.
    let a = judge(&role, &base_claims());
    assert_verdict(&a, Verdict::Refused);
    assert!(a.why.contains("non-string glob"), "{}", a.why);
}

#[test]
fn glob_pieces_never_overlap() {
    // go-glob v1.0.0: "repo:*:ref" needs both pieces; "repo:" has only the first.
    let role = jwt_role(json!({
        "bound_audiences": ["vault"], "bound_claims_type": "glob",
        "bound_claims": {"ref": "repo:*:ref"}
    }));
    let c = with(base_claims(), json!({"ref": "repo:"}));
    assert_verdict(&judge(&role, &c), Verdict::Refused);
    let c = with(base_claims(), json!({"ref": "repo:x:ref"}));
    assert_verdict(&judge(&role, &c), Verdict::Admitted);
    let role = jwt_role(json!({
        "bound_audiences": ["vault"], "bound_claims_type": "glob",
        "bound_claims": {"ref": "refs*s"}
    }));
    let c = with(base_claims(), json!({"ref": "refs"}));
    assert_verdict(&judge(&role, &c), Verdict::Refused);
}

#[test]
fn json_pointer_claims() {
    let role = jwt_role(json!({
        "bound_audiences": ["vault"],
        "bound_claims": {"/ctx/org": "acme", "/ctx/ids/1": "c2", "/ctx/a~1b": "slash"}
    }));
    assert_verdict(&judge(&role, &base_claims()), Verdict::Admitted);
    let c = with(
        base_claims(),
        json!({"ctx": {"org": "acme", "ids": ["c1"], "a/b": "slash"}}),
    );
    let a = judge(&role, &c);
    assert_verdict(&a, Verdict::Refused);
    assert!(a.why.contains("/ctx/ids/1"), "{}", a.why);
    // A key without a leading slash is a plain top-level name, even with slashes inside.
    let role = jwt_role(json!({
        "bound_audiences": ["vault"], "bound_claims": {"ctx/org": "acme"}
    }));
    assert_verdict(&judge(&role, &base_claims()), Verdict::Refused);
    let c = with(base_claims(), json!({"ctx/org": "acme"}));
    assert_verdict(&judge(&role, &c), Verdict::Admitted);
}

#[test]
fn typed_comparison_like_the_plugin() {
    let num = jwt_role(json!({"bound_audiences": ["vault"], "bound_claims": {"project_id": 1234}}));
    assert_verdict(&judge(&num, &base_claims()), Verdict::Admitted);
    // Float claims are truncated to integers before comparing.
    let c = with(base_claims(), json!({"project_id": 1234.9}));
    assert_verdict(&judge(&num, &c), Verdict::Admitted);
    // A string claim never equals a bound number, nor a number claim a bound string.
    let c = with(base_claims(), json!({"project_id": "1234"}));
    assert_verdict(&judge(&num, &c), Verdict::Refused);
    let s = jwt_role(json!({"bound_audiences": ["vault"], "bound_claims": {"project_id": "1234"}}));
    assert_verdict(&judge(&s, &base_claims()), Verdict::Refused);
    // A fractional bound number can never match (claims are truncated).
    let f = jwt_role(json!({"bound_audiences": ["vault"], "bound_claims": {"project_id": 1234.5}}));
    let c = with(base_claims(), json!({"project_id": 1234.5}));
    assert_verdict(&judge(&f, &c), Verdict::Refused);
    // Booleans: typed.
    let b =
        jwt_role(json!({"bound_audiences": ["vault"], "bound_claims": {"ref_protected": true}}));
    assert_verdict(&judge(&b, &base_claims()), Verdict::Admitted);
    let c = with(base_claims(), json!({"ref_protected": "true"}));
    assert_verdict(&judge(&b, &c), Verdict::Refused);
    // Numbers inside a list claim stay float64 and never equal a bound number ...
    let c = with(base_claims(), json!({"project_id": [1234, 5]}));
    let a = judge(&num, &c);
    assert_verdict(&a, Verdict::Refused);
    assert!(a.why.contains("numbers inside a list claim"), "{}", a.why);
    // ... while booleans and strings inside lists do.
    let c = with(base_claims(), json!({"ref_protected": [false, true]}));
    assert_verdict(&judge(&b, &c), Verdict::Admitted);
}

#[test]
fn objects_and_uncomparable_values() {
    let role = jwt_role(json!({"bound_audiences": ["vault"], "bound_claims": {"ctx": "acme"}}));
    let a = judge(&role, &base_claims());
    assert_verdict(&a, Verdict::Refused);
    assert!(
        a.why.contains("not a string, bool, number or list"),
        "{}",
        a.why
    );
    let role =
        jwt_role(json!({"bound_audiences": ["vault"], "bound_claims": {"blob": [{"a": 1}]}}));
    let c = with(base_claims(), json!({"blob": [{"a": 1}]}));
    let a = judge(&role, &c);
    assert_verdict(&a, Verdict::Refused);
    assert!(a.why.contains("panics"), "{}", a.why);
    // A map against a string is merely unequal.
    let c = with(base_claims(), json!({"blob": ["x"]}));
    assert_verdict(&judge(&role, &c), Verdict::Refused);
    // A bound object value can never match.
    let role =
        jwt_role(json!({"bound_audiences": ["vault"], "bound_claims": {"ctx": {"org": "acme"}}}));
    assert_verdict(&judge(&role, &base_claims()), Verdict::Refused);
}

#[test]
fn user_claim_rules() {
    let role = jwt_role(json!({"bound_audiences": ["vault"], "user_claim": "repository"}));
    let a = judge(&role, &base_claims());
    assert_verdict(&a, Verdict::Admitted);
    let alias = a.alias.unwrap();
    assert_eq!(alias.name, "acme/payments");
    assert!(alias.name_known);
    assert_eq!(alias.mount_accessor, "auth_jwt_1234");
    // Missing, or not a string: refused.
    let c = with(base_claims(), json!({"repository": "<remove>"}));
    assert_verdict(&judge(&role, &c), Verdict::Refused);
    let c = with(base_claims(), json!({"repository": null}));
    assert_verdict(&judge(&role, &c), Verdict::Refused);
    let role_num = jwt_role(json!({"bound_audiences": ["vault"], "user_claim": "project_id"}));
    let a = judge(&role_num, &base_claims());
    assert_verdict(&a, Verdict::Refused);
    assert!(a.why.contains("not a string"), "{}", a.why);
    // JSON pointer only with user_claim_json_pointer.
    let ptr = jwt_role(json!({
        "bound_audiences": ["vault"], "user_claim": "/ctx/user", "user_claim_json_pointer": true
    }));
    assert_eq!(judge(&ptr, &base_claims()).alias.unwrap().name, "svc");
    let no_ptr = jwt_role(json!({"bound_audiences": ["vault"], "user_claim": "/ctx/user"}));
    assert_verdict(&judge(&no_ptr, &base_claims()), Verdict::Refused);
}

#[test]
fn claim_mappings_become_alias_metadata() {
    let role = jwt_role(json!({
        "name": "deploy",
        "bound_audiences": ["vault"],
        "claim_mappings": {"repository": "repo", "/ctx/org": "org", "absent": "gone"}
    }));
    let a = judge(&role, &base_claims());
    assert_verdict(&a, Verdict::Admitted);
    let meta = a.alias.unwrap().metadata;
    assert_eq!(meta.get("repo").map(String::as_str), Some("acme/payments"));
    assert_eq!(meta.get("org").map(String::as_str), Some("acme"));
    assert_eq!(meta.get("role").map(String::as_str), Some("deploy"));
    assert!(!meta.contains_key("gone"));
    // A non-string mapped claim fails the login.
    let role = jwt_role(json!({"bound_audiences": ["vault"], "claim_mappings": {"teams": "t"}}));
    assert_verdict(&judge(&role, &base_claims()), Verdict::Refused);
}

#[test]
fn groups_claim_yields_group_aliases() {
    let role = jwt_role(json!({"bound_audiences": ["vault"], "groups_claim": "teams"}));
    let c = with(base_claims(), json!({"teams": ["red", "", "blue", "red"]}));
    let a = judge(&role, &c);
    assert_verdict(&a, Verdict::Admitted);
    assert_eq!(a.group_aliases, ["red", "blue"]);
    let c = with(base_claims(), json!({"teams": "solo"}));
    assert_eq!(judge(&role, &c).group_aliases, ["solo"]);
    for bad in [
        json!("<remove>"),
        json!(7),
        json!(["a", 1]),
        json!({"a": "b"}),
        json!(true),
    ] {
        let c = with(base_claims(), json!({"teams": bad}));
        assert_verdict(&judge(&role, &c), Verdict::Refused);
    }
    let ptr = jwt_role(json!({"bound_audiences": ["vault"], "groups_claim": "/ctx/ids"}));
    assert_eq!(judge(&ptr, &base_claims()).group_aliases, ["c1", "c2"]);
}

#[test]
fn bound_issuer_from_mount_config() {
    let role = jwt_role(json!({"bound_audiences": ["vault"]}));
    let c = with(base_claims(), json!({"iss": "https://evil"}));
    let a = judge(&role, &c);
    assert_verdict(&a, Verdict::Refused);
    assert!(a.why.contains("bound_issuer"), "{}", a.why);
    // Not listed: assumed right, stated as a condition.
    let c = with(base_claims(), json!({"iss": "<remove>"}));
    let a = judge(&role, &c);
    assert_verdict(&a, Verdict::Admitted);
    assert!(
        a.conditions.iter().any(|c| c.contains("bound_issuer")),
        "{:?}",
        a.conditions
    );
    // Listed as null: the token has no issuer, refused.
    let c = with(base_claims(), json!({"iss": null}));
    assert_verdict(&judge(&role, &c), Verdict::Refused);
    // No bound_issuer: any iss.
    let m = mount("jwt", json!({}));
    let c = with(base_claims(), json!({"iss": "https://evil"}));
    let a = admit(&m, RoleRef::Jwt(&role), &Credential::jwt(&c), &server());
    assert_verdict(&a, Verdict::Admitted);
}

#[test]
fn registered_claims_are_typed_and_case_insensitive() {
    let role = jwt_role(json!({"bound_audiences": ["vault"]}));
    for bad in [
        json!({"sub": 42}),
        json!({"aud": ["vault", 1]}),
        json!({"aud": null}),
        json!({"exp": "soon"}),
        json!({"jti": false}),
    ] {
        let c = with(base_claims(), bad.clone());
        let a = judge(&role, &c);
        assert_verdict(&a, Verdict::Refused);
        assert!(a.why.contains("registered claims"), "{bad}: {}", a.why);
    }
    // OpenBao 2.7: a key that only case-folds onto a registered claim is refused as ambiguous.
    for key in ["AUD", "Sub", "\u{17f}ub", "Exp", "JTI"] {
        let mut c = base_claims();
        c.insert(key.to_owned(), json!("vault"));
        let a = judge(&role, &c);
        assert_verdict(&a, Verdict::Refused);
        assert!(a.why.contains("collides"), "{key}: {}", a.why);
    }
    // Keys that do not fold onto a registered name are plain claims.
    let c = with(base_claims(), json!({"\u{212a}ey": "x", "audience": "y"}));
    assert_verdict(&judge(&role, &c), Verdict::Admitted);
}

#[test]
fn vault_decodes_registered_claims_case_insensitively() {
    let vault = ServerInfo {
        flavor: crate::model::Flavor::Vault,
        ..ServerInfo::default()
    };
    let run = |role: &JwtRole, c: &Map<String, Value>| {
        admit(
            &jwt_mount(),
            RoleRef::Jwt(role),
            &Credential::jwt(c),
            &vault,
        )
    };
    let role = jwt_role(json!({"bound_audiences": ["vault"]}));
    // "AUD" satisfies bound_audiences, but is not the `aud` the plugin's own rule looks at.
    let c = with(base_claims(), json!({"aud": "<remove>", "AUD": "vault"}));
    assert_verdict(&run(&role, &c), Verdict::Admitted);
    let loose = jwt_role(json!({"token_bound_cidrs": ["127.0.0.1"]}));
    assert_verdict(&run(&loose, &c), Verdict::Admitted);
    // "Sub" satisfies bound_subject, but user_claim "sub" is an exact key.
    let subj = jwt_role(json!({
        "bound_audiences": ["vault"], "bound_subject": "x", "user_claim": "repository"
    }));
    let c = with(base_claims(), json!({"sub": "<remove>", "Sub": "x"}));
    assert_verdict(&run(&subj, &c), Verdict::Admitted);
    // The last matching key in sorted order wins ("sub" sorts after "Sub").
    let c = with(base_claims(), json!({"sub": "y", "Sub": "x"}));
    assert_verdict(&run(&subj, &c), Verdict::Refused);
}

#[test]
fn token_bound_cidrs_are_login_conditions() {
    let role = jwt_role(json!({"token_bound_cidrs": ["10.0.0.0/8"]}));
    let c = with(base_claims(), json!({"aud": "<remove>"}));
    let a = judge(&role, &c);
    assert_verdict(&a, Verdict::Admitted);
    assert_eq!(a.login_cidrs, ["10.0.0.0/8"]);
    assert!(a.login_allowed_from("10.1.2.3".parse().unwrap()));
    assert!(!a.login_allowed_from("127.0.0.1".parse().unwrap()));
    assert!(a.conditions.iter().any(|c| c.contains("10.0.0.0/8")));
    assert_eq!(a.token.bound_cidrs, ["10.0.0.0/8"]);
}

#[test]
fn claim_templated_policies() {
    let role = jwt_role(json!({
        "bound_audiences": ["vault"],
        "token_policies_template_claims": true,
        "token_policies": ["ci-{{ .ctx.org }}", "Static", "{{ .ref_protected }}"]
    }));
    let a = judge(&role, &base_claims());
    assert_verdict(&a, Verdict::Admitted);
    assert_eq!(a.token.policies, ["ci-acme", "default", "static", "true"]);
    let role = jwt_role(json!({
        "bound_audiences": ["vault"], "token_policies_template_claims": true,
        "token_policies": ["x-{{.missing}}"]
    }));
    assert_verdict(&judge(&role, &base_claims()), Verdict::Refused);
    let role = jwt_role(json!({
        "bound_audiences": ["vault"], "token_policies_template_claims": true,
        "token_policies": ["{{ lowercase .repository }}", "base"]
    }));
    let a = judge(&role, &base_claims());
    assert_verdict(&a, Verdict::Admitted);
    assert_eq!(a.token.policies, ["base", "default"]);
    assert_eq!(a.token.unresolved_policies, ["{{ lowercase .repository }}"]);
    assert!(a.unknowns.iter().any(|u| u.contains("lowercase")));
    // Without the flag, braces are literal policy names.
    let role = jwt_role(json!({"bound_audiences": ["vault"], "token_policies": ["ci-{{.x}}"]}));
    assert_eq!(
        judge(&role, &base_claims()).token.policies,
        ["ci-{{.x}}", "default"]
    );
}

#[test]
fn policies_are_sanitized_like_policyutil() {
    let role = jwt_role(json!({
        "bound_audiences": ["vault"], "token_policies": ["Deploy", " ci ", "deploy", ""]
    }));
    assert_eq!(
        judge(&role, &base_claims()).token.policies,
        ["ci", "default", "deploy"]
    );
    let role = jwt_role(json!({
        "bound_audiences": ["vault"], "token_policies": ["ci"], "token_no_default_policy": true
    }));
    assert_eq!(judge(&role, &base_claims()).token.policies, ["ci"]);
    let role = jwt_role(json!({"bound_audiences": ["vault"], "policies": ["Legacy"]}));
    assert_eq!(
        judge(&role, &base_claims()).token.policies,
        ["default", "legacy"]
    );
    // root: the server refuses to mint root tokens at login.
    let role = jwt_role(json!({"bound_audiences": ["vault"], "token_policies": ["a", "Root"]}));
    let a = judge(&role, &base_claims());
    assert_verdict(&a, Verdict::Refused);
    assert_eq!(a.token.policies, ["root"]);
    assert!(a.why.contains("root tokens"), "{}", a.why);
    let role = jwt_role(json!({
        "bound_audiences": ["vault"], "token_policies": ["response-wrapping"]
    }));
    assert_verdict(&judge(&role, &base_claims()), Verdict::Refused);
}

#[test]
fn token_ttls_against_mount_tune() {
    let mut m = jwt_mount();
    m.tune.default_lease_ttl = Some(7200);
    m.tune.max_lease_ttl = Some(14400);
    let c = base_claims();
    let role = jwt_role(json!({"bound_audiences": ["vault"]}));
    let a = admit(&m, RoleRef::Jwt(&role), &Credential::jwt(&c), &server());
    assert_eq!((a.token.ttl, a.token.max_ttl), (7200, 14400));
    let role = jwt_role(json!({"bound_audiences": ["vault"], "token_ttl": 99999}));
    let a = admit(&m, RoleRef::Jwt(&role), &Credential::jwt(&c), &server());
    assert_eq!(a.token.ttl, 14400);
    let role = jwt_role(json!({"bound_audiences": ["vault"], "token_period": "30m"}));
    let a = admit(&m, RoleRef::Jwt(&role), &Credential::jwt(&c), &server());
    assert_eq!((a.token.ttl, a.token.max_lifetime), (1800, None));
    let role = jwt_role(json!({"bound_audiences": ["vault"], "token_type": "batch"}));
    let a = admit(&m, RoleRef::Jwt(&role), &Credential::jwt(&c), &server());
    assert_eq!(a.token.token_type, TokenType::Batch);
    assert!(!a.token.renewable);
    // System default 768h without tune.
    let a = judge(&jwt_role(json!({"bound_audiences": ["vault"]})), &c);
    assert_eq!(a.token.ttl, 768 * 3600);
}

#[test]
fn conditions_name_the_signature_source() {
    let a = judge(
        &jwt_role(json!({"bound_audiences": ["vault"]})),
        &base_claims(),
    );
    assert!(
        a.conditions
            .iter()
            .any(|c| c.contains("jwt_validation_pubkeys") && c.contains("not expired")),
        "{:?}",
        a.conditions
    );
}

#[test]
fn cel_roles_are_unknown_unless_prechecks_fail() {
    let cel: CelRole = serde_json::from_value(json!({
        "name": "cel1",
        "cel_program": {"expression": "claims.sub.startsWith('repo:acme/')"},
        "bound_audiences": ["vault"]
    }))
    .unwrap();
    let c = base_claims();
    let a = admit(
        &jwt_mount(),
        RoleRef::Cel(&cel),
        &Credential::jwt(&c),
        &server(),
    );
    assert_verdict(&a, Verdict::Unknown);
    assert!(
        a.unknowns.iter().any(|u| u.contains("startsWith")),
        "{:?}",
        a.unknowns
    );
    let c = with(base_claims(), json!({"aud": "other"}));
    let a = admit(
        &jwt_mount(),
        RoleRef::Cel(&cel),
        &Credential::jwt(&c),
        &server(),
    );
    assert_verdict(&a, Verdict::Refused);
    let c = with(base_claims(), json!({"iss": "https://evil"}));
    let a = admit(
        &jwt_mount(),
        RoleRef::Cel(&cel),
        &Credential::jwt(&c),
        &server(),
    );
    assert_verdict(&a, Verdict::Refused);
}

#[test]
fn method_and_kind_mismatches_are_refused() {
    let role = jwt_role(json!({"bound_audiences": ["vault"]}));
    let c = base_claims();
    let m = mount("approle", json!({}));
    assert_verdict(
        &admit(&m, RoleRef::Jwt(&role), &Credential::jwt(&c), &server()),
        Verdict::Refused,
    );
    let ar = AppRoleRole {
        name: "x".into(),
        ..AppRoleRole::default()
    };
    assert_verdict(
        &admit(
            &jwt_mount(),
            RoleRef::AppRole(&ar),
            &Credential::jwt(&c),
            &server(),
        ),
        Verdict::Refused,
    );
    // An oidc-type mount serves JWT logins too.
    let m = mount("oidc", json!({}));
    let c = with(base_claims(), json!({"iss": "x"}));
    assert_verdict(
        &admit(&m, RoleRef::Jwt(&role), &Credential::jwt(&c), &server()),
        Verdict::Admitted,
    );
}

#[test]
fn method_names() {
    for m in Method::ALL {
        assert_eq!(Method::parse(m.as_str()), Some(m));
        assert_eq!(m.as_str().parse::<Method>(), Ok(m));
    }
    assert_eq!(Method::parse("AppRole"), Some(Method::AppRole));
    assert_eq!(Method::parse("GitHub"), Some(Method::Github));
    assert!(Method::parse("kerberos").is_none());
    assert!(Method::Aws.serves_mount_type("aws"));
    assert!(!Method::Gcp.serves_mount_type("aws"));
    assert!(Method::Jwt.serves_mount_type("oidc"));
    assert!(Method::Oidc.serves_mount_type("jwt"));
    assert!(!Method::Kubernetes.serves_mount_type("jwt"));
}

// ---- Kubernetes ---------------------------------------------------------------------------------

fn k8s_role(v: Value) -> KubernetesRole {
    let mut v = v;
    if v.get("name").is_none() {
        v["name"] = json!("k");
    }
    serde_json::from_value(v).unwrap()
}

fn k8s(role: &KubernetesRole, sa: &str, ns: &str) -> Admission {
    k8s_with(role, sa, ns, None)
}

fn k8s_with(
    role: &KubernetesRole,
    sa: &str,
    ns: &str,
    claims: Option<&Map<String, Value>>,
) -> Admission {
    let m = mount("kubernetes", json!({"kubernetes_host": "https://k8s:6443"}));
    let cred = Credential {
        service_account: Some(sa),
        service_account_namespace: Some(ns),
        claims,
        ..Credential::new(Method::Kubernetes)
    };
    admit(&m, RoleRef::Kubernetes(role), &cred, &server())
}

#[test]
fn k8s_names_star_and_globs() {
    let any = k8s_role(json!({
        "bound_service_account_names": ["*"], "bound_service_account_namespaces": ["ci"]
    }));
    assert_verdict(&k8s(&any, "whatever", "ci"), Verdict::Admitted);
    let globbed = k8s_role(json!({
        "bound_service_account_names": ["runner", "app-*"],
        "bound_service_account_namespaces": ["ci"]
    }));
    assert_verdict(&k8s(&globbed, "app-web", "ci"), Verdict::Admitted);
    assert_verdict(&k8s(&globbed, "runner", "ci"), Verdict::Admitted);
    let a = k8s(&globbed, "web", "ci");
    assert_verdict(&a, Verdict::Refused);
    assert!(a.why.contains("bound_service_account_names"), "{}", a.why);
    let empty = k8s_role(json!({"bound_service_account_namespaces": ["ci"]}));
    assert_verdict(&k8s(&empty, "runner", "ci"), Verdict::Refused);
}

#[test]
fn k8s_namespaces_and_selector() {
    let role = k8s_role(json!({
        "bound_service_account_names": ["runner"],
        "bound_service_account_namespaces": ["team-*"]
    }));
    assert_verdict(&k8s(&role, "runner", "team-a"), Verdict::Admitted);
    assert_verdict(&k8s(&role, "runner", "ci"), Verdict::Refused);
    let star = k8s_role(json!({
        "bound_service_account_names": ["runner"], "bound_service_account_namespaces": ["*"]
    }));
    assert_verdict(&k8s(&star, "runner", "anything"), Verdict::Admitted);
    // The selector is OR'ed and needs the cluster: unknown when the list does not match.
    let sel = k8s_role(json!({
        "bound_service_account_names": ["runner"],
        "bound_service_account_namespaces": ["ci"],
        "bound_service_account_namespace_selector": "{\"matchLabels\":{\"team\":\"a\"}}"
    }));
    assert_verdict(&k8s(&sel, "runner", "ci"), Verdict::Admitted);
    let a = k8s(&sel, "runner", "other");
    assert_verdict(&a, Verdict::Unknown);
    assert!(
        a.unknowns.iter().any(|u| u.contains("selector")),
        "{:?}",
        a.unknowns
    );
    let only_sel = k8s_role(json!({
        "bound_service_account_names": ["runner"],
        "bound_service_account_namespace_selector": "team: a"
    }));
    assert_verdict(&k8s(&only_sel, "runner", "x"), Verdict::Unknown);
    // The name check still refuses first.
    assert_verdict(&k8s(&only_sel, "other", "x"), Verdict::Refused);
}

#[test]
fn k8s_audience_and_missing_account() {
    let role = k8s_role(json!({
        "bound_service_account_names": ["runner"], "bound_service_account_namespaces": ["ci"],
        "audience": "vault"
    }));
    let a = k8s(&role, "runner", "ci");
    assert_verdict(&a, Verdict::Admitted);
    assert!(a
        .conditions
        .iter()
        .any(|c| c.contains("audience includes \"vault\"")));
    let good = obj(json!({"aud": ["https://kubernetes.default.svc", "vault"]}));
    assert_verdict(
        &k8s_with(&role, "runner", "ci", Some(&good)),
        Verdict::Admitted,
    );
    let bad = obj(json!({"aud": ["https://kubernetes.default.svc"]}));
    assert_verdict(
        &k8s_with(&role, "runner", "ci", Some(&bad)),
        Verdict::Refused,
    );
    let m = mount("kubernetes", json!({}));
    let cred = Credential::new(Method::Kubernetes);
    assert_verdict(
        &admit(&m, RoleRef::Kubernetes(&role), &cred, &server()),
        Verdict::Unknown,
    );
}

#[test]
fn k8s_alias_name_source() {
    let by_name = k8s_role(json!({
        "bound_service_account_names": ["runner"], "bound_service_account_namespaces": ["ci"],
        "alias_name_source": "serviceaccount_name", "token_policies": ["k8s"]
    }));
    let a = k8s(&by_name, "runner", "ci");
    let alias = a.alias.unwrap();
    assert_eq!((alias.name.as_str(), alias.name_known), ("ci/runner", true));
    assert_eq!(a.token.policies, ["default", "k8s"]);
    let by_uid = k8s_role(json!({
        "bound_service_account_names": ["runner"], "bound_service_account_namespaces": ["ci"]
    }));
    let a = k8s(&by_uid, "runner", "ci");
    let alias = a.alias.clone().unwrap();
    assert!(!alias.name_known);
    assert_eq!(
        alias
            .match_metadata
            .get("service_account_namespace")
            .map(String::as_str),
        Some("ci")
    );
    let exported = EntityAlias {
        name: "9f1c-uid".into(),
        mount_accessor: "auth_kubernetes_1234".into(),
        metadata: [
            ("service_account_name".to_owned(), "runner".to_owned()),
            ("service_account_namespace".to_owned(), "ci".to_owned()),
            ("service_account_uid".to_owned(), "9f1c-uid".to_owned()),
        ]
        .into_iter()
        .collect(),
        ..EntityAlias::default()
    };
    assert!(alias.matches(&exported));
    let claims = obj(json!({"kubernetes.io": {"serviceaccount": {"uid": "9f1c-uid"}}}));
    let a = k8s_with(&by_uid, "runner", "ci", Some(&claims));
    assert_eq!(a.alias.unwrap().name, "9f1c-uid");
    let cred = Credential {
        service_account: Some("runner"),
        service_account_namespace: Some("ci"),
        service_account_uid: Some("u-1"),
        ..Credential::new(Method::Kubernetes)
    };
    let m = mount("kubernetes", json!({}));
    let a = admit(&m, RoleRef::Kubernetes(&by_uid), &cred, &server());
    assert_eq!(a.alias.unwrap().name, "u-1");
}

#[test]
fn k8s_issuer_only_when_enabled() {
    let role = k8s_role(json!({
        "bound_service_account_names": ["runner"], "bound_service_account_namespaces": ["ci"]
    }));
    let claims = obj(json!({"iss": "https://other"}));
    // Default: validation disabled.
    assert_verdict(
        &k8s_with(&role, "runner", "ci", Some(&claims)),
        Verdict::Admitted,
    );
    let m = mount(
        "kubernetes",
        json!({"disable_iss_validation": false, "issuer": "https://k8s"}),
    );
    let cred = Credential {
        service_account: Some("runner"),
        service_account_namespace: Some("ci"),
        claims: Some(&claims),
        ..Credential::new(Method::Kubernetes)
    };
    assert_verdict(
        &admit(&m, RoleRef::Kubernetes(&role), &cred, &server()),
        Verdict::Refused,
    );
}

// ---- AppRole ------------------------------------------------------------------------------------

fn approle(v: Value) -> AppRoleRole {
    serde_json::from_value(v).unwrap()
}

fn approle_cred(role: Option<&str>) -> Credential<'_> {
    Credential {
        role_name: role,
        ..Credential::new(Method::AppRole)
    }
}

#[test]
fn approle_admits_the_held_role_only() {
    let m = mount("approle", json!({}));
    let r = approle(json!({"name": "payments", "token_policies": ["pay"],
                           "secret_id_bound_cidrs": ["10.0.0.0/8"]}));
    let a = admit(
        &m,
        RoleRef::AppRole(&r),
        &approle_cred(Some("Payments")),
        &server(),
    );
    assert_verdict(&a, Verdict::Admitted);
    assert_eq!(a.login_cidrs, ["10.0.0.0/8"]);
    assert!(a.conditions.iter().any(|c| c.contains("secret-id")));
    assert_eq!(a.token.policies, ["default", "pay"]);
    let alias = a.alias.unwrap();
    assert_eq!(alias.name, REDACTED_ROLE_ID);
    assert!(!alias.name_known);
    let exported = EntityAlias {
        name: REDACTED_ROLE_ID.into(),
        mount_accessor: m.accessor.clone(),
        metadata: [("role_name".to_owned(), "payments".to_owned())]
            .into_iter()
            .collect(),
        ..EntityAlias::default()
    };
    assert!(alias.matches(&exported));
    assert_verdict(
        &admit(
            &m,
            RoleRef::AppRole(&r),
            &approle_cred(Some("web")),
            &server(),
        ),
        Verdict::Refused,
    );
    assert_verdict(
        &admit(&m, RoleRef::AppRole(&r), &approle_cred(None), &server()),
        Verdict::Unknown,
    );
}

#[test]
fn approle_without_secret_id_and_token_cidrs() {
    let m = mount("approle", json!({}));
    let r = approle(json!({"name": "open", "bind_secret_id": false,
                           "token_bound_cidrs": ["127.0.0.1/32"]}));
    let a = admit(
        &m,
        RoleRef::AppRole(&r),
        &approle_cred(Some("open")),
        &server(),
    );
    assert_verdict(&a, Verdict::Admitted);
    assert!(a
        .conditions
        .iter()
        .any(|c| c.contains("bind_secret_id = false")));
    // token_bound_cidrs bind the token; they are not checked at AppRole login.
    assert!(a.login_cidrs.is_empty());
    assert_eq!(a.token.bound_cidrs, ["127.0.0.1/32"]);
}

// ---- Cert ---------------------------------------------------------------------------------------

fn cert(v: Value) -> CertRole {
    serde_json::from_value(v).unwrap()
}

fn cert_admit(entry: &CertRole, cred: Credential<'_>) -> Admission {
    admit(
        &mount("cert", json!({})),
        RoleRef::Cert(entry),
        &cred,
        &server(),
    )
}

#[test]
fn cert_constraints() {
    let cn = |c| Credential {
        common_name: Some(c),
        dns_sans: Some(&[]),
        email_sans: Some(&[]),
        uri_sans: Some(&[]),
        organizational_units: Some(&[]),
        ..Credential::new(Method::Cert)
    };
    let open = cert(json!({"name": "ci"}));
    let a = cert_admit(&open, cn("anything"));
    assert_verdict(&a, Verdict::Admitted);
    assert_eq!(a.alias.unwrap().name, "anything");
    let by_cn = cert(json!({"name": "ci", "allowed_common_names": ["*.ci.acme"]}));
    assert_verdict(&cert_admit(&by_cn, cn("build.ci.acme")), Verdict::Admitted);
    assert_verdict(&cert_admit(&by_cn, cn("build.acme")), Verdict::Refused);
    // allowed_names also matches DNS SANs.
    let by_name = cert(json!({"name": "ci", "allowed_names": ["ci.acme"]}));
    let sans = vec!["ci.acme".to_owned()];
    let cred = Credential {
        common_name: Some("runner"),
        dns_sans: Some(&sans),
        email_sans: Some(&[]),
        ..Credential::new(Method::Cert)
    };
    assert_verdict(&cert_admit(&by_name, cred), Verdict::Admitted);
    // SANs not known: unknown (the CN does not match).
    let cred = Credential {
        common_name: Some("runner"),
        ..Credential::new(Method::Cert)
    };
    assert_verdict(&cert_admit(&by_name, cred), Verdict::Unknown);
    let dns = cert(json!({"name": "ci", "allowed_dns_sans": ["*.acme"]}));
    assert_verdict(&cert_admit(&dns, cn("x")), Verdict::Refused);
    let ext = cert(json!({"name": "ci", "required_extensions": ["1.2.3:abc"]}));
    assert_verdict(&cert_admit(&ext, cn("x")), Verdict::Unknown);
    assert_verdict(&cert_admit(&open, cn("")), Verdict::Refused);
    let cred = Credential::new(Method::Cert);
    assert_verdict(&cert_admit(&by_cn, cred), Verdict::Unknown);
}

// ---- Userpass -----------------------------------------------------------------------------------

#[test]
fn userpass_named_user() {
    let m = mount("userpass", json!({}));
    let u: UserpassUser = serde_json::from_value(json!({
        "name": "deployer", "token_policies": ["up"], "token_bound_cidrs": ["10.0.0.0/8"]
    }))
    .unwrap();
    let cred = Credential {
        user: Some("Deployer"),
        ..Credential::new(Method::Userpass)
    };
    let a = admit(&m, RoleRef::Userpass(&u), &cred, &server());
    assert_verdict(&a, Verdict::Admitted);
    assert_eq!(a.alias.unwrap().name, "deployer");
    assert_eq!(a.login_cidrs, ["10.0.0.0/8"]);
    assert!(a.conditions.iter().any(|c| c.contains("password")));
    let other = Credential {
        user: Some("other"),
        ..Credential::new(Method::Userpass)
    };
    assert_verdict(
        &admit(&m, RoleRef::Userpass(&u), &other, &server()),
        Verdict::Refused,
    );
    let none = Credential::new(Method::Userpass);
    assert_verdict(
        &admit(&m, RoleRef::Userpass(&u), &none, &server()),
        Verdict::Unknown,
    );
}

// ---- LDAP ---------------------------------------------------------------------------------------

fn ldap_mount() -> AuthMount {
    let mut m = mount(
        "ldap",
        json!({"url": "ldaps://ldap.acme", "token_policies": ["ldap-base"], "token_ttl": 600}),
    );
    m.roles.ldap_users.push(
        serde_json::from_value::<LdapUser>(json!({
            "name": "deployer", "groups": ["local-ops"], "policies": ["user-pol"]
        }))
        .unwrap(),
    );
    for (g, p) in [
        ("local-ops", "ops-pol"),
        ("devs", "dev-pol"),
        ("admins", "admin-pol"),
    ] {
        m.roles.ldap_groups.push(
            serde_json::from_value::<LdapGroup>(json!({"name": g, "policies": [p]})).unwrap(),
        );
    }
    m
}

#[test]
fn ldap_entries_and_policies() {
    let m = ldap_mount();
    let groups = vec!["Devs".to_owned()];
    let cred = Credential {
        user: Some("Deployer"),
        groups: &groups,
        ..Credential::new(Method::Ldap)
    };
    let all = admit_all(&m, &cred, &server());
    let verdicts: Vec<(&str, Verdict)> = all.iter().map(|(n, a)| (n.as_str(), a.verdict)).collect();
    assert_eq!(
        verdicts,
        [
            ("local-ops", Verdict::Admitted),
            ("devs", Verdict::Admitted),
            ("admins", Verdict::Refused),
            ("deployer", Verdict::Admitted),
        ]
    );
    let a = &all[0].1;
    assert_eq!(
        a.token.policies,
        ["default", "dev-pol", "ldap-base", "ops-pol", "user-pol"]
    );
    assert_eq!(a.token.ttl, 600);
    assert_eq!(a.group_aliases, ["local-ops", "Devs"]);
    let alias = a.alias.as_ref().unwrap();
    assert!(!alias.name_known);
    assert_eq!(
        alias.match_metadata.get("name").map(String::as_str),
        Some("deployer")
    );
    assert!(a.why.contains("local group"), "{}", a.why);
}

#[test]
fn ldap_unknown_groups_and_bare_login() {
    let m = ldap_mount();
    let cred = Credential {
        user: Some("someone"),
        ..Credential::new(Method::Ldap)
    };
    let all = admit_all(&m, &cred, &server());
    let verdicts: Vec<(&str, Verdict)> = all.iter().map(|(n, a)| (n.as_str(), a.verdict)).collect();
    assert_eq!(
        verdicts,
        [
            ("local-ops", Verdict::Unknown),
            ("devs", Verdict::Unknown),
            ("admins", Verdict::Unknown),
            ("deployer", Verdict::Refused),
            ("someone", Verdict::Admitted),
        ]
    );
    assert_eq!(all[4].1.token.policies, ["default", "ldap-base"]);
    // username_as_alias: the alias name is the user name.
    let mut m = ldap_mount();
    m.config
        .as_mut()
        .unwrap()
        .insert("username_as_alias".into(), json!(true));
    let a = admit(
        &m,
        RoleRef::LdapUser(&m.roles.ldap_users[0]),
        &Credential {
            user: Some("DEPLOYER"),
            ..Credential::new(Method::Ldap)
        },
        &server(),
    );
    assert_verdict(&a, Verdict::Admitted);
    assert_eq!(a.alias.unwrap().name, "deployer");
}

#[test]
fn ldap_case_sensitive_names() {
    let mut m = ldap_mount();
    m.config
        .as_mut()
        .unwrap()
        .insert("case_sensitive_names".into(), json!(true));
    let cred = Credential {
        user: Some("Deployer"),
        ..Credential::new(Method::Ldap)
    };
    let a = admit(
        &m,
        RoleRef::LdapUser(&m.roles.ldap_users[0]),
        &cred,
        &server(),
    );
    assert_verdict(&a, Verdict::Refused);
}

// ---- Token roles --------------------------------------------------------------------------------

#[test]
fn token_roles() {
    let m = mount("token", json!({}));
    let r: TokenRole = serde_json::from_value(json!({
        "name": "ci", "allowed_policies": ["CI", "read"], "token_period": 3600,
        "renewable": false
    }))
    .unwrap();
    let cred = Credential {
        role_name: Some("ci"),
        ..Credential::new(Method::Token)
    };
    let a = admit(&m, RoleRef::Token(&r), &cred, &server());
    assert_verdict(&a, Verdict::Admitted);
    assert_eq!(a.token.policies, ["ci", "default", "read"]);
    assert_eq!(a.token.ttl, 3600);
    assert!(!a.token.renewable);
    let no_default: TokenRole = serde_json::from_value(json!({
        "name": "ci", "allowed_policies": ["ci"], "disallowed_policies": ["default"],
        "allowed_policies_glob": ["team-*"]
    }))
    .unwrap();
    let a = admit(&m, RoleRef::Token(&no_default), &cred, &server());
    assert_eq!(a.token.policies, ["ci"]);
    assert_eq!(
        a.token.unresolved_policies,
        ["team-* (allowed_policies_glob)"]
    );
    let open: TokenRole = serde_json::from_value(json!({"name": "ci"})).unwrap();
    let a = admit(&m, RoleRef::Token(&open), &cred, &server());
    assert!(
        a.unknowns.iter().any(|u| u.contains("parent token")),
        "{:?}",
        a.unknowns
    );
    let other = Credential {
        role_name: Some("other"),
        ..Credential::new(Method::Token)
    };
    assert_verdict(
        &admit(&m, RoleRef::Token(&r), &other, &server()),
        Verdict::Refused,
    );
    assert_verdict(
        &admit(
            &m,
            RoleRef::Token(&r),
            &Credential::new(Method::Token),
            &server(),
        ),
        Verdict::Unknown,
    );
}

// ---- admit_all ----------------------------------------------------------------------------------

#[test]
fn admit_all_covers_every_role_of_the_mount() {
    let mut m = jwt_mount();
    m.roles
        .jwt
        .push(jwt_role(json!({"name": "a", "bound_audiences": ["vault"]})));
    m.roles
        .jwt
        .push(jwt_role(json!({"name": "b", "bound_audiences": ["other"]})));
    m.roles.cel.push(
        serde_json::from_value(json!({"name": "c", "cel_program": {"expression": "true"}}))
            .unwrap(),
    );
    let c = base_claims();
    let all = admit_all(&m, &Credential::jwt(&c), &server());
    let verdicts: Vec<(&str, Verdict)> = all.iter().map(|(n, a)| (n.as_str(), a.verdict)).collect();
    assert_eq!(
        verdicts,
        [
            ("a", Verdict::Admitted),
            ("b", Verdict::Refused),
            ("c", Verdict::Unknown)
        ]
    );
    assert!(all.iter().all(|(_, a)| !a.why.is_empty()));
}
