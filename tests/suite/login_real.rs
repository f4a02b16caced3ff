//! Login admission judged by real logins on an OpenBao dev server.
//!
//! A JWT mount trusts a locally generated RSA key; its roles cover string, glob, list and typed
//! bound claims, JSON-pointer claims, audiences, subjects, user claims, claim mappings, groups
//! claims, claim-templated policies, CIDRs, TTL settings and a few server edge cases (go-glob's
//! panic, uncomparable claim values). An AppRole mount has roles with and without secret-ids and
//! CIDRs. For every credential × role the test logs in for real (JWTs signed with fresh
//! iat/exp; AppRole with a real role-id and secret-id) and compares the server's accept/refuse
//! with `login::admit` on the role as read back from the server's API. For every accepted login it
//! also compares the token policies, TTL, type and renewability, the entity alias (name and
//! metadata) and the external groups the login joined.
//!
//! Every disagreement is printed with its claims and role; the test requires 100 % agreement.
//! `BLASTMAP_LOGIN_VERBOSE=1` prints every login with the server's answer and blastmap's reason.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use blastmap::login::{admit, Admission, Credential, Method, Verdict};
use blastmap::model::{
    AppRoleRole, AuthMount, JwtRole, MountTune, RoleRef, ServerInfo, TokenRole, UserpassUser,
};
use common::jwt::{b64url, Signer};
use common::BaoServer;
use serde_json::{json, Map, Value};

const ISS: &str = "https://ci.example.test";

fn client_ip() -> IpAddr {
    "127.0.0.1".parse().unwrap()
}

/// The JWT roles written to the server: (name, body).
fn jwt_roles() -> Vec<(&'static str, Value)> {
    vec![
        (
            "r-string",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["vault"],
                   "bound_claims": {"repository": "acme/payments"},
                   "token_policies": ["Deploy", "ci", "deploy"], "token_ttl": "1h"}),
        ),
        (
            "r-glob",
            json!({"role_type": "jwt", "user_claim": "repository",
                   "bound_audiences": ["vault", "other"], "bound_claims_type": "glob",
                   "bound_claims": {"repository": "acme/*",
                                    "ref": ["refs/heads/main", "refs/tags/v*"]},
                   "claim_mappings": {"repository": "repo", "ref": "git_ref"},
                   "groups_claim": "teams", "token_policies": ["glob-pol"],
                   "token_type": "batch"}),
        ),
        (
            "r-list-typed",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["vault"],
                   "bound_claims": {"project_id": [1234, "42"], "ref_protected": true},
                   "token_policies": ["typed"]}),
        ),
        (
            "r-string-typed",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["vault"],
                   "bound_claims": {"project_id": "1234", "ref_protected": "true"},
                   "groups_claim": "groups", "token_policies": ["gitlab"]}),
        ),
        (
            "r-subject",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["vault"],
                   "bound_subject": "repo:acme/payments:ref:refs/heads/main",
                   "token_no_default_policy": true, "token_policies": ["subj"],
                   "token_period": "30m"}),
        ),
        (
            "r-pointer",
            json!({"role_type": "jwt", "user_claim": "/ctx/user", "user_claim_json_pointer": true,
                   "bound_audiences": ["vault"],
                   "bound_claims": {"/ctx/org": "acme", "/ctx/ids/0": "c1"},
                   "claim_mappings": {"/ctx/org": "org"}, "token_explicit_max_ttl": "20m",
                   "token_policies": ["ptr"]}),
        ),
        (
            "r-noaud",
            json!({"role_type": "jwt", "user_claim": "sub",
                   "token_bound_cidrs": ["127.0.0.1/32"], "token_policies": ["noaud"]}),
        ),
        (
            "r-cidr-miss",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["vault"],
                   "token_bound_cidrs": ["10.0.0.0/8"], "token_policies": ["never"]}),
        ),
        (
            "r-float",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["vault"],
                   "bound_claims": {"run": 5}, "token_policies": ["float"]}),
        ),
        (
            "r-numlist",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["vault"],
                   "bound_claims": {"ids": 5}}),
        ),
        (
            "r-oidc",
            json!({"role_type": "oidc", "user_claim": "sub", "bound_audiences": ["vault"],
                   "allowed_redirect_uris": ["http://localhost:8250/oidc/callback"]}),
        ),
        (
            "r-mapping-nonstring",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["vault"],
                   "claim_mappings": {"run": "run"}}),
        ),
        (
            "r-groups",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["vault"],
                   "groups_claim": "teams", "token_policies": ["grp"]}),
        ),
        (
            "r-template",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["vault"],
                   "token_policies_template_claims": true,
                   "token_policies": ["ci-{{ .repository_owner }}", "Static"]}),
        ),
        (
            "r-template-missing",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["vault"],
                   "token_policies_template_claims": true,
                   "token_policies": ["x-{{.missing_claim}}"]}),
        ),
        (
            "r-root",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["vault"],
                   "token_policies": ["root"]}),
        ),
        (
            "r-glob-pieces",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["vault"],
                   "bound_claims_type": "glob", "bound_claims": {"ref": ["repo:*:ref", "x*x"]}}),
        ),
        (
            "r-uncomparable",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["vault"],
                   "bound_claims": {"blob": [{"a": 1}]}}),
        ),
        (
            "r-legacy",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["vault"],
                   "policies": ["Legacy"], "bound_claims": {"repository_owner": "acme"}}),
        ),
        (
            "r-bool-in-list",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["vault"],
                   "bound_claims": {"flags": true}}),
        ),
        (
            "r-aud-only",
            json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["vault"],
                   "token_num_uses": 3, "token_max_ttl": "3h", "token_ttl": "3h"}),
        ),
    ]
}

/// The claim sets the pipelines present: (name, claims). Time claims are added at signing.
fn claim_sets() -> Vec<(&'static str, Value)> {
    let base = json!({
        "iss": ISS,
        "sub": "repo:acme/payments:ref:refs/heads/main",
        "aud": "vault",
        "repository": "acme/payments",
        "repository_owner": "acme",
        "ref": "refs/heads/main",
        "project_id": 1234,
        "ref_protected": true,
        "run": 5.9,
        "teams": ["red", "blue", ""],
        "ctx": {"org": "acme", "ids": ["c1", "c2"], "user": "svc-1"},
        "flags": [false, true],
    });
    let with = |changes: Value| {
        let mut c = base.as_object().unwrap().clone();
        for (k, v) in changes.as_object().unwrap() {
            if v == &json!("<remove>") {
                c.shift_remove(k);
            } else {
                c.insert(k.clone(), v.clone());
            }
        }
        Value::Object(c)
    };
    vec![
        ("gha-main", base.clone()),
        (
            "gha-feature",
            with(json!({"sub": "repo:acme/payments:ref:refs/heads/feature",
                         "ref": "refs/heads/feature", "aud": ["other", "x"]})),
        ),
        (
            "gha-tag",
            with(
                json!({"sub": "repo:acme/web:ref:refs/tags/v1.2", "ref": "refs/tags/v1.2",
                         "repository": "acme/web", "aud": ["x", "other"], "teams": "red"}),
            ),
        ),
        (
            "fork",
            with(
                json!({"repository": "evil/payments", "repository_owner": "evil",
                         "sub": "repo:evil/payments:ref:refs/heads/main"}),
            ),
        ),
        (
            "gitlab-strings",
            with(
                json!({"sub": "project_path:acme/payments:ref_type:branch:ref:main",
                         "project_id": "1234", "ref_protected": "true", "aud": ["vault"],
                         "groups": "single-group", "run": "5"}),
            ),
        ),
        ("no-aud", with(json!({"aud": "<remove>"}))),
        ("aud-empty-list", with(json!({"aud": []}))),
        ("wrong-iss", with(json!({"iss": "https://evil.example"}))),
        ("case-aud", with(json!({"aud": "<remove>", "AUD": "vault"}))),
        (
            "case-sub",
            with(json!({"Sub": "repo:acme/payments:ref:refs/heads/main",
                                 "sub": "<remove>"})),
        ),
        ("aud-null", with(json!({"aud": null}))),
        ("case-iss", with(json!({"ISS": ISS}))),
        ("case-jti", with(json!({"JTI": "x", "jti": "y"}))),
        ("case-exp", with(json!({"Exp": 1}))),
        ("case-nbf", with(json!({"NBF": 1}))),
        ("case-iat", with(json!({"iAt": 1}))),
        ("unicode-sub", with(json!({"\u{17f}ub": "x"}))),
        ("kelvin-like", with(json!({"\u{212a}ind": "x", "IDX": "y"}))),
        (
            "numbers",
            with(json!({"run": 5, "ids": [5, 6], "teams": 7, "project_id": 1234.0})),
        ),
        ("ids-scalar", with(json!({"ids": 5.2}))),
        ("no-sub", with(json!({"sub": "<remove>"}))),
        ("sub-number", with(json!({"sub": 42}))),
        ("glob-edge", with(json!({"ref": "repo:"}))),
        ("glob-edge-2", with(json!({"ref": "x"}))),
        ("glob-edge-3", with(json!({"ref": "repo:a:b:ref"}))),
        ("blob", with(json!({"blob": [{"a": 1}]}))),
        ("blob-other", with(json!({"blob": ["a", {"b": 2}]}))),
        ("ptr-miss", with(json!({"ctx": {"org": "acme", "ids": []}}))),
        ("flags-string", with(json!({"flags": ["true"]}))),
    ]
}

fn approle_roles() -> Vec<(&'static str, Value)> {
    vec![
        (
            "a-deploy",
            json!({"token_policies": ["Deploy", "approle-base"], "token_ttl": "20m",
                   "secret_id_bound_cidrs": ["127.0.0.0/8"], "token_bound_cidrs": ["127.0.0.1/32"]}),
        ),
        (
            "a-nosecret",
            json!({"bind_secret_id": false, "secret_id_bound_cidrs": ["127.0.0.1/32"],
                   "token_policies": ["nosecret"], "token_period": "10m"}),
        ),
        (
            "a-elsewhere",
            json!({"secret_id_bound_cidrs": ["10.0.0.0/8"], "token_policies": ["far"]}),
        ),
        ("a-root", json!({"token_policies": ["root"]})),
        (
            "a-batch",
            json!({"token_type": "batch", "token_policies": ["b"], "token_no_default_policy": true}),
        ),
    ]
}

fn userpass_users() -> Vec<(&'static str, Value)> {
    vec![
        (
            "deployer",
            json!({"password": "pw-deployer", "token_policies": ["Up", "ci"],
                   "token_bound_cidrs": ["127.0.0.1"], "token_ttl": "45m"}),
        ),
        (
            "far",
            json!({"password": "pw-far", "token_bound_cidrs": ["10.0.0.0/8"]}),
        ),
        (
            "batcher",
            json!({"password": "pw-batcher", "token_type": "batch",
                   "token_no_default_policy": true, "token_policies": ["b"]}),
        ),
    ]
}

fn token_roles() -> Vec<(&'static str, Value)> {
    vec![
        (
            "ci",
            json!({"allowed_policies": ["CI", "read"], "token_period": "1h"}),
        ),
        (
            "nodefault",
            json!({"allowed_policies": ["a", "b"], "disallowed_policies": ["default"],
                   "token_explicit_max_ttl": "10m"}),
        ),
        (
            "fixed",
            json!({"allowed_policies": ["x"], "renewable": false, "token_no_default_policy": true}),
        ),
    ]
}

struct Tally {
    compared: usize,
    admitted: usize,
    disagreements: Vec<String>,
    verbose: bool,
}

impl Tally {
    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.disagreements.push(what());
        }
    }
}

fn server_info() -> ServerInfo {
    ServerInfo {
        version: "2.7.2".into(),
        address: "http://127.0.0.1".into(),
        ..ServerInfo::default()
    }
}

/// The mount as the exporter would model it: `sys/auth` entry (type, accessor, tune) and the
/// method config.
fn read_mount(server: &BaoServer, path: &str) -> AuthMount {
    let auth = server.get("sys/auth");
    let entry = &auth["data"][format!("{path}/")];
    assert!(entry.is_object(), "sys/auth has no {path}/: {auth}");
    let tune: MountTune = serde_json::from_value(entry["config"].clone()).unwrap();
    AuthMount {
        path: format!("{path}/"),
        mount_type: entry["type"].as_str().unwrap().to_owned(),
        accessor: entry["accessor"].as_str().unwrap().to_owned(),
        tune,
        ..AuthMount::default()
    }
}

fn role_from_api<T: serde::de::DeserializeOwned>(server: &BaoServer, path: &str, name: &str) -> T {
    let mut data = server.get(&format!("{path}/{name}"))["data"].clone();
    data["name"] = json!(name);
    serde_json::from_value(data.clone())
        .unwrap_or_else(|e| panic!("role {name} does not load into the model: {e}\n{data:#}"))
}

fn expected_admitted(a: &Admission) -> bool {
    a.verdict == Verdict::Admitted && a.login_allowed_from(client_ip())
}

fn str_list(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Compares an accepted login's answer with the admission: token policies, TTL, type,
/// renewability, and the entity alias and external groups it produced.
fn compare_login(
    server: &BaoServer,
    tally: &mut Tally,
    ctx: &str,
    resp: &Value,
    adm: &Admission,
    accessor: &str,
    groups_by_id: &BTreeMap<String, String>,
) {
    let auth = &resp["auth"];
    let got_policies = str_list(&auth["token_policies"]);
    tally.check(got_policies == adm.token.policies, || {
        format!(
            "{ctx}: token policies differ: server {got_policies:?}, blastmap {:?}",
            adm.token.policies
        )
    });
    let ttl = auth["lease_duration"].as_i64().unwrap_or(-1);
    tally.check(ttl == adm.token.ttl, || {
        format!(
            "{ctx}: TTL differs: server {ttl}, blastmap {}",
            adm.token.ttl
        )
    });
    let tt = auth["token_type"].as_str().unwrap_or("");
    tally.check(tt == adm.token.token_type.as_str(), || {
        format!(
            "{ctx}: token type differs: server {tt}, blastmap {}",
            adm.token.token_type.as_str()
        )
    });
    let renewable = auth["renewable"].as_bool().unwrap_or(false);
    tally.check(renewable == adm.token.renewable, || {
        format!(
            "{ctx}: renewable differs: server {renewable}, blastmap {}",
            adm.token.renewable
        )
    });
    if let Some(n) = auth.get("num_uses").and_then(Value::as_i64) {
        tally.check(n == adm.token.num_uses, || {
            format!(
                "{ctx}: num_uses differs: server {n}, blastmap {}",
                adm.token.num_uses
            )
        });
    }
    // Identity: the entity alias on this mount, and the external groups joined.
    let Some(entity_id) = auth["entity_id"].as_str().filter(|s| !s.is_empty()) else {
        tally.check(false, || format!("{ctx}: the login has no entity"));
        return;
    };
    let entity = server.get(&format!("identity/entity/id/{entity_id}"))["data"].clone();
    let alias = entity["aliases"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["mount_accessor"] == accessor))
        .cloned()
        .unwrap_or(Value::Null);
    let model_alias: Option<blastmap::model::EntityAlias> =
        serde_json::from_value(alias.clone()).ok();
    let Some(expected) = &adm.alias else {
        tally.check(false, || format!("{ctx}: blastmap gives no alias"));
        return;
    };
    let name = alias["name"].as_str().unwrap_or("");
    if expected.name_known {
        tally.check(name == expected.name, || {
            format!(
                "{ctx}: alias name differs: server {name:?}, blastmap {:?}",
                expected.name
            )
        });
    }
    let meta: BTreeMap<String, String> =
        serde_json::from_value(alias["metadata"].clone()).unwrap_or_default();
    let known_meta: BTreeMap<String, String> = if expected.name_known {
        meta.clone()
    } else {
        meta.iter()
            .filter(|(k, _)| expected.metadata.contains_key(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    tally.check(known_meta == expected.metadata, || {
        format!(
            "{ctx}: alias metadata differs: server {meta:?}, blastmap {:?}",
            expected.metadata
        )
    });
    tally.check(
        model_alias.as_ref().is_some_and(|m| expected.matches(m)),
        || format!("{ctx}: Alias::matches rejects the server's alias {alias}"),
    );
    let joined: BTreeSet<String> = str_list(&entity["group_ids"])
        .iter()
        .filter_map(|id| groups_by_id.get(id).cloned())
        .collect();
    let expected_groups: BTreeSet<String> = adm
        .group_aliases
        .iter()
        .filter(|g| groups_by_id.values().any(|v| v == *g))
        .cloned()
        .collect();
    tally.check(joined == expected_groups, || {
        format!(
            "{ctx}: external groups differ: server joined {joined:?}, blastmap group aliases {:?}",
            adm.group_aliases
        )
    });
}

#[test]
fn admission_agrees_with_real_logins() {
    let started = std::time::Instant::now();
    assert_eq!(b64url(b"fo"), "Zm8");
    let server = BaoServer::start();
    let signer = Signer::generate(server.dir());
    let info = server_info();
    let anon = server.client().without_token();
    let mut tally = Tally {
        compared: 0,
        admitted: 0,
        disagreements: Vec::new(),
        verbose: std::env::var_os("BLASTMAP_LOGIN_VERBOSE").is_some(),
    };

    // ---- JWT mount -------------------------------------------------------------------------
    server.post(
        "sys/auth/jwt",
        &json!({"type": "jwt", "config": {"default_lease_ttl": "2h", "max_lease_ttl": "4h"}}),
    );
    server.post(
        "auth/jwt/config",
        &json!({"jwt_validation_pubkeys": [signer.public_pem()], "bound_issuer": ISS}),
    );
    for (name, body) in jwt_roles() {
        server.post(&format!("auth/jwt/role/{name}"), &body);
    }
    let mut jwt = read_mount(&server, "jwt");
    jwt.config = Some(
        server.get("auth/jwt/config")["data"]
            .as_object()
            .unwrap()
            .clone(),
    );
    for (name, _) in jwt_roles() {
        let role: JwtRole = role_from_api(&server, "auth/jwt/role", name);
        jwt.roles.jwt.push(role);
    }
    // External groups for the group aliases a login may report.
    let mut groups_by_id = BTreeMap::new();
    for g in ["red", "blue", "single-group"] {
        let id = server.post(
            "identity/group",
            &json!({"name": format!("ext-{g}"), "type": "external"}),
        )["data"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        server.post(
            "identity/group-alias",
            &json!({"name": g, "mount_accessor": jwt.accessor, "canonical_id": id}),
        );
        groups_by_id.insert(id, g.to_owned());
    }

    for (cname, claims) in claim_sets() {
        let claims = claims.as_object().unwrap().clone();
        for role in &jwt.roles.jwt {
            let token = signer.sign_fresh(&claims);
            let signed = {
                // The claims exactly as signed (fresh iat/exp added).
                let payload = token.split('.').nth(1).unwrap();
                decode_b64url_json(payload)
            };
            let cred = Credential::jwt(&signed);
            let adm = admit(&jwt, RoleRef::Jwt(role), &cred, &info);
            let res = anon.try_post("auth/jwt/login", &json!({"role": role.name, "jwt": token}));
            let want = expected_admitted(&adm);
            let got = res.is_ok();
            tally.compared += 1;
            let ctx = format!("jwt claims {cname} × role {}", role.name);
            if tally.verbose {
                println!(
                    "{ctx}: server {}, blastmap {:?}: {}",
                    match &res {
                        Ok(_) => "accepted".to_owned(),
                        Err(e) => format!("refused ({})", e.message()),
                    },
                    adm.verdict,
                    adm.why
                );
            }
            if got != want {
                tally.disagreements.push(format!(
                    "{ctx}: server {}, blastmap {:?} ({})\n  claims: {}\n  role: {}",
                    match &res {
                        Ok(_) => "ACCEPTED".to_owned(),
                        Err(e) => format!("REFUSED: {} (HTTP {})", e.message(), e.status),
                    },
                    adm.verdict,
                    adm.why,
                    Value::Object(claims.clone()),
                    serde_json::to_string(role).unwrap()
                ));
                continue;
            }
            if let Ok(resp) = res {
                tally.admitted += 1;
                compare_login(
                    &server,
                    &mut tally,
                    &ctx,
                    &resp,
                    &adm,
                    &jwt.accessor,
                    &groups_by_id,
                );
            }
        }
    }

    // ---- AppRole mount ---------------------------------------------------------------------
    server.post(
        "sys/auth/approle",
        &json!({"type": "approle", "config": {"default_lease_ttl": "1h", "max_lease_ttl": "2h"}}),
    );
    for (name, body) in approle_roles() {
        server.post(&format!("auth/approle/role/{name}"), &body);
    }
    let mut approle = read_mount(&server, "approle");
    for (name, _) in approle_roles() {
        let role: AppRoleRole = role_from_api(&server, "auth/approle/role", name);
        approle.roles.approle.push(role);
    }
    let no_groups = BTreeMap::new();
    for holder in approle.roles.approle.clone() {
        // The pipeline's real credentials for `holder`.
        let role_id = server.get(&format!("auth/approle/role/{}/role-id", holder.name))["data"]
            ["role_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut body = json!({"role_id": role_id});
        if holder.binds_secret_id() {
            let sid = server.post(
                &format!("auth/approle/role/{}/secret-id", holder.name),
                &json!({}),
            )["data"]["secret_id"]
                .as_str()
                .unwrap()
                .to_owned();
            body["secret_id"] = json!(sid);
        }
        let res = anon.try_post("auth/approle/login", &body);
        let logged_into = res.as_ref().ok().and_then(|r| {
            r["auth"]["metadata"]["role_name"]
                .as_str()
                .map(str::to_owned)
        });
        let cred = Credential {
            role_name: Some(&holder.name),
            ..Credential::new(Method::AppRole)
        };
        for role in &approle.roles.approle {
            let adm = admit(&approle, RoleRef::AppRole(role), &cred, &info);
            let got = logged_into.as_deref() == Some(role.name.as_str());
            let want = expected_admitted(&adm);
            tally.compared += 1;
            let ctx = format!(
                "approle credentials of {} × role {}",
                holder.name, role.name
            );
            if tally.verbose {
                println!(
                    "{ctx}: server {}, blastmap {:?}: {}",
                    match &res {
                        Ok(r) => format!("logged into {}", r["auth"]["metadata"]["role_name"]),
                        Err(e) => format!("refused ({})", e.message()),
                    },
                    adm.verdict,
                    adm.why
                );
            }
            if got != want {
                tally.disagreements.push(format!(
                    "{ctx}: server {}, blastmap {:?} ({})\n  role: {}",
                    match &res {
                        Ok(r) => format!("logged into {}", r["auth"]["metadata"]["role_name"]),
                        Err(e) => format!("REFUSED: {} (HTTP {})", e.message(), e.status),
                    },
                    adm.verdict,
                    adm.why,
                    serde_json::to_string(role).unwrap()
                ));
                continue;
            }
            if got {
                tally.admitted += 1;
                compare_login(
                    &server,
                    &mut tally,
                    &ctx,
                    res.as_ref().unwrap(),
                    &adm,
                    &approle.accessor,
                    &no_groups,
                );
            }
        }
    }

    // ---- Userpass mount --------------------------------------------------------------------
    server.post(
        "sys/auth/userpass",
        &json!({"type": "userpass", "config": {"max_lease_ttl": "1h"}}),
    );
    for (name, body) in userpass_users() {
        server.post(&format!("auth/userpass/users/{name}"), &body);
    }
    let mut userpass = read_mount(&server, "userpass");
    for (name, _) in userpass_users() {
        let u: UserpassUser = role_from_api(&server, "auth/userpass/users", name);
        userpass.roles.userpass.push(u);
    }
    for (holder, body) in userpass_users() {
        // The pipeline logs in as `holder` (its name in another case: names are lowercased).
        let login_name = holder.to_uppercase();
        let res = anon.try_post(
            &format!("auth/userpass/login/{login_name}"),
            &json!({"password": body["password"]}),
        );
        let cred = Credential {
            user: Some(&login_name),
            ..Credential::new(Method::Userpass)
        };
        for user in &userpass.roles.userpass {
            let adm = admit(&userpass, RoleRef::Userpass(user), &cred, &info);
            let got = res.is_ok() && user.name == holder;
            let want = expected_admitted(&adm);
            tally.compared += 1;
            let ctx = format!("userpass login {login_name} × user {}", user.name);
            if got != want {
                tally.disagreements.push(format!(
                    "{ctx}: server {}, blastmap {:?} ({})",
                    match &res {
                        Ok(_) => "logged in".to_owned(),
                        Err(e) => format!("REFUSED: {}", e.message()),
                    },
                    adm.verdict,
                    adm.why
                ));
                continue;
            }
            if got {
                tally.admitted += 1;
                compare_login(
                    &server,
                    &mut tally,
                    &ctx,
                    res.as_ref().unwrap(),
                    &adm,
                    &userpass.accessor,
                    &no_groups,
                );
            }
        }
    }

    // ---- Token roles: a static token minted from each role --------------------------------
    for (name, body) in token_roles() {
        server.post(&format!("auth/token/roles/{name}"), &body);
    }
    let mut token_mount = read_mount(&server, "token");
    for (name, _) in token_roles() {
        let r: TokenRole = role_from_api(&server, "auth/token/roles", name);
        token_mount.roles.token.push(r);
    }
    for role in &token_mount.roles.token {
        let resp = server.post(&format!("auth/token/create/{}", role.name), &json!({}));
        let cred = Credential {
            role_name: Some(&role.name),
            ..Credential::new(Method::Token)
        };
        let adm = admit(&token_mount, RoleRef::Token(role), &cred, &info);
        tally.compared += 1;
        let ctx = format!("token created from role {}", role.name);
        let auth = &resp["auth"];
        let got_policies = str_list(&auth["token_policies"]);
        tally.check(adm.verdict == Verdict::Admitted, || {
            format!("{ctx}: not admitted")
        });
        tally.check(got_policies == adm.token.policies, || {
            format!(
                "{ctx}: policies differ: server {got_policies:?}, blastmap {:?}",
                adm.token.policies
            )
        });
        let ttl = auth["lease_duration"].as_i64().unwrap_or(-1);
        tally.check(ttl == adm.token.ttl, || {
            format!(
                "{ctx}: TTL differs: server {ttl}, blastmap {}",
                adm.token.ttl
            )
        });
        let renewable = auth["renewable"].as_bool().unwrap_or(true);
        tally.check(renewable == adm.token.renewable, || {
            format!(
                "{ctx}: renewable differs: server {renewable}, blastmap {}",
                adm.token.renewable
            )
        });
        tally.admitted += 1;
    }

    println!(
        "login admission: {} credential × role pairs compared, {} real logins accepted and \
         compared in detail, {} disagreements, {:.1}s",
        tally.compared,
        tally.admitted,
        tally.disagreements.len(),
        started.elapsed().as_secs_f64()
    );
    for d in &tally.disagreements {
        println!("DISAGREEMENT {d}");
    }
    assert!(
        tally.disagreements.is_empty(),
        "{} disagreements between real logins and login::admit (printed above)",
        tally.disagreements.len()
    );
    assert!(tally.admitted >= 20, "too few accepted logins to compare");
}

fn decode_b64url_json(s: &str) -> Map<String, Value> {
    let mut bits: u32 = 0;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => continue,
        };
        bits = (bits << 6) | u32::from(v);
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    serde_json::from_slice(&out).unwrap()
}
