//! A realistic estate seeded into a dev server, and its normalised form ("facts") to compare an
//! export with what was written.
//!
//! ```ignore
//! let server = common::BaoServer::start();
//! let estate = common::seed::seed(&server);
//! // ... export ...
//! let got = common::seed::facts(&snapshot_json);
//! assert_eq!(got, estate.expected);
//! ```
//!
//! The estate: namespaces `team-a/`, `team-a/sub/`, `team-b/`; in the root a JWT mount `gha/`
//! (config with a real public key, two JWT roles, one CEL role), Kubernetes `k8s/` (with a
//! reviewer JWT that must never be exported), AppRole `approle/` (a role with a custom role-id and
//! a secret-id used for one login, which creates an entity alias named after the role-id; a role
//! without secret-id; the `blastmap` role for exporter logins), userpass `userpass/` (with
//! passwords), a token role, KV v2 `secret/` and KV v1 `kv1/` with nested keys, a transit mount,
//! policies (including `blastmap-exporter`, the shipped exporter policy), entities with aliases,
//! internal groups with a parent, an external group with a group alias. The child namespaces hold
//! their own mounts, roles, policies, keys, entities and groups.
//!
//! Every secret-like value written is a *canary* ([`Estate::canaries`]): tests assert that none
//! of them appears in an export's output.
//!
//! Facts are strings such as `role team-a/ approle/ approle builder policies=team-a-read
//! detail={...}`; [`facts`] derives the same strings from a snapshot (as JSON), so a test
//! compares two sets and prints the difference.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use super::jwt::Signer;
use super::{random_u64, BaoServer, Client};

/// The shipped exporter policy, written as `blastmap-exporter` in the root namespace.
pub const EXPORTER_POLICY: &str = include_str!("../../../docs/exporter-policy.hcl");
pub const EXPORTER_POLICY_NAME: &str = "blastmap-exporter";
/// The JWT role (on `gha/`) an exporter can log in with: audience `blastmap`, subject
/// `exporter`, policy `blastmap-exporter`.
pub const EXPORTER_JWT_ROLE: &str = "blastmap";
pub const EXPORTER_JWT_AUDIENCE: &str = "blastmap";
pub const EXPORTER_JWT_SUBJECT: &str = "exporter";
pub const JWT_ISSUER: &str = "https://token.actions.example";

/// What was seeded.
pub struct Estate {
    /// The normalised form of everything seeded (see [`facts`]).
    pub expected: BTreeSet<String>,
    /// Secret values, passwords, role-ids, secret-ids and JWTs written to the server: none may
    /// appear in an export.
    pub canaries: Vec<String>,
    /// Signs JWTs the `gha/` mount (and `team-a/sub/jwt/`) accept.
    pub signer: Signer,
    /// KV paths holding values, as API paths with their namespace (`team-a/kv/data/app/db`).
    pub secret_paths: Vec<String>,
    /// Role-id and a fresh secret-id of the root `approle/` role `blastmap` (exporter policy).
    pub exporter_role_id: String,
    pub exporter_secret_id: String,
}

impl Estate {
    /// A JWT for the exporter role `gha/` `blastmap`, valid for 5 minutes.
    pub fn exporter_jwt(&self) -> String {
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(JWT_ISSUER));
        claims.insert("sub".into(), json!(EXPORTER_JWT_SUBJECT));
        claims.insert("aud".into(), json!(EXPORTER_JWT_AUDIENCE));
        self.signer.sign_fresh(&claims)
    }
}

fn canary(kind: &str) -> String {
    format!("CANARY-{kind}-{:016x}", random_u64())
}

/// Sorted, comma-separated.
fn joined<S: AsRef<str>>(items: &[S]) -> String {
    let mut v: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    v.sort_unstable();
    v.join(",")
}

/// JSON text with object keys sorted at every level.
pub fn canon(v: &Value) -> String {
    fn sort(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let b: BTreeMap<&String, Value> = m.iter().map(|(k, v)| (k, sort(v))).collect();
                let mut out = Map::new();
                for (k, v) in b {
                    out.insert(k.clone(), v);
                }
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(a.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    sort(v).to_string()
}

/// The role fields compared per kind (others are server defaults or irrelevant here).
fn detail_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "jwt" => &[
            "bound_audiences",
            "bound_claims",
            "bound_subject",
            "user_claim",
            "role_type",
        ],
        "cel" => &["cel_program", "bound_audiences"],
        "kubernetes" => &[
            "bound_service_account_names",
            "bound_service_account_namespaces",
        ],
        "approle" => &["bind_secret_id", "secret_id_bound_cidrs"],
        "token" => &["allowed_policies", "orphan"],
        _ => &[],
    }
}

fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn role_fact(ns: &str, mount: &str, kind: &str, name: &str, role: &Value) -> String {
    let policies: Vec<String> = role
        .get("token_policies")
        .or_else(|| role.get("policies"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|p| p.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let mut detail = Map::new();
    for f in detail_fields(kind) {
        if let Some(v) = role.get(*f).filter(|v| !is_empty_value(v)) {
            detail.insert((*f).to_owned(), v.clone());
        }
    }
    format!(
        "role {ns} {mount} {kind} {name} policies={} detail={}",
        joined(&policies),
        canon(&Value::Object(detail))
    )
}

/// Writes the estate: helpers over one namespace's client.
struct Seeder<'a> {
    server: &'a BaoServer,
    expected: BTreeSet<String>,
    canaries: Vec<String>,
    secret_paths: Vec<String>,
}

impl Seeder<'_> {
    fn c(&self, ns: &str) -> Client {
        let c = self.server.client().clone();
        if ns.is_empty() {
            c
        } else {
            c.with_namespace(ns.trim_end_matches('/'))
        }
    }

    fn namespace(&mut self, parent: &str, name: &str) -> String {
        self.c(parent)
            .post(&format!("sys/namespaces/{name}"), &json!({}));
        let path = format!("{parent}{name}/");
        self.builtins(&path);
        path
    }

    /// The mounts and the policy every namespace has.
    fn builtins(&mut self, ns: &str) {
        let root = ns.is_empty();
        let t = |a: &str, b: &str| if root { a.to_owned() } else { b.to_owned() };
        self.expected.insert(format!("ns {ns}"));
        self.expected
            .insert(format!("auth {ns} token/ {}", t("token", "ns_token")));
        self.expected.insert(format!(
            "mount {ns} cubbyhole/ {}",
            t("cubbyhole", "ns_cubbyhole")
        ));
        self.expected.insert(format!(
            "mount {ns} identity/ {}",
            t("identity", "ns_identity")
        ));
        self.expected
            .insert(format!("mount {ns} sys/ {}", t("system", "ns_system")));
        self.expected.insert(format!("policy {ns} default"));
    }

    fn policy(&mut self, ns: &str, name: &str, text: &str) {
        self.c(ns).write_policy(name, text);
        self.expected.insert(format!("policy {ns} {name}"));
        self.expected
            .insert(format!("policy-text {ns} {name} {}", text.trim()));
    }

    fn auth(&mut self, ns: &str, path: &str, kind: &str) -> String {
        self.c(ns)
            .post(&format!("sys/auth/{path}"), &json!({ "type": kind }));
        self.expected.insert(format!("auth {ns} {path}/ {kind}"));
        self.c(ns).get("sys/auth")["data"][format!("{path}/")]["accessor"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn config(&mut self, ns: &str, mount: &str, body: Value, compared: &[&str]) {
        self.c(ns).post(&format!("auth/{mount}/config"), &body);
        let mut sel = Map::new();
        for f in compared {
            sel.insert((*f).to_owned(), body[*f].clone());
        }
        self.expected.insert(format!(
            "config {ns} {mount}/ {}",
            canon(&Value::Object(sel))
        ));
    }

    /// Write a role at `auth/<mount>/<collection>/<name>` and expect it as `kind`.
    fn role(
        &mut self,
        ns: &str,
        mount: &str,
        collection: &str,
        kind: &str,
        name: &str,
        body: Value,
    ) {
        self.c(ns)
            .post(&format!("auth/{mount}/{collection}/{name}"), &body);
        self.expected
            .insert(role_fact(ns, &format!("{mount}/"), kind, name, &body));
    }

    fn secrets_engine(&mut self, ns: &str, path: &str, kind: &str, options: Value) {
        self.c(ns).post(
            &format!("sys/mounts/{path}"),
            &json!({ "type": kind, "options": options }),
        );
        self.expected.insert(format!("mount {ns} {path}/ {kind}"));
    }

    fn kv2(&mut self, ns: &str, mount: &str, key: &str, value: &str) {
        self.c(ns).post(
            &format!("{mount}/data/{key}"),
            &json!({ "data": { "value": value } }),
        );
        self.expected.insert(format!("key {ns} {mount}/ {key}"));
        self.secret_paths.push(format!("{ns}{mount}/data/{key}"));
    }

    fn kv1(&mut self, ns: &str, mount: &str, key: &str, value: &str) {
        self.c(ns)
            .post(&format!("{mount}/{key}"), &json!({ "value": value }));
        self.expected.insert(format!("key {ns} {mount}/ {key}"));
        self.secret_paths.push(format!("{ns}{mount}/{key}"));
    }

    fn entity(&mut self, ns: &str, name: &str, policies: &[&str], metadata: Value) -> String {
        let v = self.c(ns).post(
            "identity/entity",
            &json!({ "name": name, "policies": policies, "metadata": metadata }),
        );
        self.expected.insert(format!(
            "entity {ns} {name} policies={} metadata={}",
            joined(policies),
            canon(&metadata)
        ));
        v["data"]["id"].as_str().unwrap().to_owned()
    }

    fn entity_alias(
        &mut self,
        ns: &str,
        entity: (&str, &str),
        mount: &str,
        accessor: &str,
        name: &str,
    ) {
        self.c(ns).post(
            "identity/entity-alias",
            &json!({ "name": name, "canonical_id": entity.1, "mount_accessor": accessor }),
        );
        self.expected
            .insert(format!("alias {ns} auth/{mount}/ {name} -> {}", entity.0));
    }

    #[allow(clippy::too_many_arguments)]
    fn group(
        &mut self,
        ns: &str,
        name: &str,
        kind: &str,
        policies: &[&str],
        members: &[(&str, &str)],
        subgroups: &[(&str, &str)],
    ) -> String {
        let mut body = json!({ "name": name, "type": kind, "policies": policies });
        // External groups get their members from logins; the API refuses them here.
        if !members.is_empty() {
            body["member_entity_ids"] = json!(members.iter().map(|m| m.1).collect::<Vec<_>>());
        }
        if !subgroups.is_empty() {
            body["member_group_ids"] = json!(subgroups.iter().map(|m| m.1).collect::<Vec<_>>());
        }
        let v = self.c(ns).post("identity/group", &body);
        let m: Vec<&str> = members.iter().map(|m| m.0).collect();
        let s: Vec<&str> = subgroups.iter().map(|m| m.0).collect();
        self.expected.insert(format!(
            "group {ns} {name} {kind} policies={} members={} subgroups={}",
            joined(policies),
            joined(&m),
            joined(&s)
        ));
        v["data"]["id"].as_str().unwrap().to_owned()
    }
}

/// A self-signed CA certificate (PEM) for the Kubernetes auth config, made with `openssl` (as
/// the JWT key in `jwt.rs`).
fn k8s_ca_cert(dir: &std::path::Path) -> String {
    let subject = ["-subj", "/CN=blastmap-test-k8s-ca"];
    super::certs::must(dir, "k8s-ca", &subject, "a test Kubernetes CA").cert_pem()
}

/// Seed the estate into `server` (root token). Takes about a second.
pub fn seed(server: &BaoServer) -> Estate {
    let signer = Signer::generate(server.dir());
    let mut s = Seeder {
        server,
        expected: BTreeSet::new(),
        canaries: Vec::new(),
        secret_paths: Vec::new(),
    };
    // The server stores the key without its final newline.
    let pem = signer.public_pem().trim().to_owned();

    // ---- root namespace ----
    s.builtins("");
    s.policy("", EXPORTER_POLICY_NAME, EXPORTER_POLICY);
    s.policy(
        "",
        "ci-deploy",
        "path \"secret/data/ci/*\" {\n  capabilities = [\"read\"]\n}\n",
    );
    s.policy(
        "",
        "payments-read",
        "path \"secret/data/payments/*\" {\n  capabilities = [\"read\"]\n}\n\npath \"kv1/app/*\" {\n  capabilities = [\"read\", \"list\"]\n}\n",
    );
    s.policy(
        "",
        "platform-admin",
        "path \"sys/policies/acl/*\" {\n  capabilities = [\"create\", \"read\", \"update\"]\n}\n",
    );

    // JWT (GitHub-Actions-like) with list-valued bound claims, the exporter's role, a CEL role.
    let gha = s.auth("", "gha", "jwt");
    s.config(
        "",
        "gha",
        json!({ "jwt_validation_pubkeys": [pem], "bound_issuer": JWT_ISSUER }),
        &["bound_issuer", "jwt_validation_pubkeys"],
    );
    s.role(
        "",
        "gha",
        "role",
        "jwt",
        "deploy",
        json!({
            "role_type": "jwt", "user_claim": "repository",
            "bound_audiences": ["https://github.com/acme"],
            "bound_claims": { "repository": "acme/payments", "environment": ["production", "staging"] },
            "claim_mappings": { "environment": "environment" },
            "token_policies": ["ci-deploy", "payments-read"], "token_ttl": 900,
        }),
    );
    s.role(
        "",
        "gha",
        "role",
        "jwt",
        EXPORTER_JWT_ROLE,
        json!({
            "role_type": "jwt", "user_claim": "sub",
            "bound_audiences": [EXPORTER_JWT_AUDIENCE], "bound_subject": EXPORTER_JWT_SUBJECT,
            "token_policies": [EXPORTER_POLICY_NAME], "token_ttl": 600,
        }),
    );
    s.role(
        "",
        "gha",
        "cel/role",
        "cel",
        "cel-ci",
        json!({ "cel_program": { "expression": "true" }, "bound_audiences": ["cel"] }),
    );

    // Kubernetes with a reviewer JWT that is key material.
    let reviewer = canary("REVIEWER-JWT");
    s.canaries.push(reviewer.clone());
    s.auth("", "k8s", "kubernetes");
    let ca = k8s_ca_cert(server.dir());
    s.config(
        "",
        "k8s",
        json!({ "kubernetes_host": "https://127.0.0.1:6443", "token_reviewer_jwt": reviewer,
                "disable_local_ca_jwt": true, "kubernetes_ca_cert": ca }),
        &["kubernetes_host"],
    );
    s.role(
        "",
        "k8s",
        "role",
        "kubernetes",
        "payments-api",
        json!({
            "bound_service_account_names": ["payments"],
            "bound_service_account_namespaces": ["prod"],
            "audience": "vault", "token_policies": ["payments-read"],
        }),
    );

    // AppRole: a custom role-id (canary), a secret-id, one login (creates an alias named after
    // the role-id), a role without secret-id, and the exporter's role.
    let approle = s.auth("", "approle", "approle");
    s.role(
        "",
        "approle",
        "role",
        "approle",
        "jenkins",
        json!({ "bind_secret_id": true, "secret_id_bound_cidrs": ["127.0.0.0/8", "10.20.0.0/16"],
                "secret_id_ttl": 600, "token_policies": ["ci-deploy"] }),
    );
    s.role(
        "",
        "approle",
        "role",
        "approle",
        "nightly",
        json!({ "bind_secret_id": false, "secret_id_bound_cidrs": ["127.0.0.1/32"],
                "token_policies": ["payments-read"] }),
    );
    s.role(
        "",
        "approle",
        "role",
        "approle",
        "blastmap",
        json!({ "bind_secret_id": true, "token_policies": [EXPORTER_POLICY_NAME] }),
    );
    let role_id = canary("ROLE-ID");
    let root = s.c("");
    root.post(
        "auth/approle/role/jenkins/role-id",
        &json!({ "role_id": role_id }),
    );
    let secret_id = root.post("auth/approle/role/jenkins/secret-id", &json!({}))["data"]
        ["secret_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let login = root.without_token().post(
        "auth/approle/login",
        &json!({ "role_id": role_id, "secret_id": secret_id }),
    );
    let login_token = login["auth"]["client_token"].as_str().unwrap().to_owned();
    s.canaries
        .extend([role_id.clone(), secret_id.clone(), login_token]);
    s.expected.insert(format!(
        "alias  auth/approle/ {} -> auto",
        "<redacted: AppRole role-id>"
    ));
    let exporter_role_id = root.get("auth/approle/role/blastmap/role-id")["data"]["role_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let exporter_secret_id = root.post("auth/approle/role/blastmap/secret-id", &json!({}))["data"]
        ["secret_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // userpass with passwords.
    let userpass = s.auth("", "userpass", "userpass");
    for (user, policies) in [
        ("alice", vec!["platform-admin"]),
        ("bob", vec!["ci-deploy"]),
    ] {
        let pw = canary("PASSWORD");
        s.canaries.push(pw.clone());
        s.c("").post(
            &format!("auth/userpass/users/{user}"),
            &json!({ "password": pw, "token_policies": policies }),
        );
        s.expected.insert(role_fact(
            "",
            "userpass/",
            "userpass",
            user,
            &json!({ "token_policies": policies }),
        ));
    }

    // Token role.
    s.role(
        "",
        "token",
        "roles",
        "token",
        "ci-role",
        json!({ "allowed_policies": ["ci-deploy"], "orphan": true }),
    );

    // KV v2 (the dev server's secret/) and KV v1 with nested keys.
    for key in [
        "payments/db",
        "payments/stripe-api-key",
        "ci/shared/npm-token",
        "deep/a/b/c/leaf",
        "readme",
    ] {
        let v = canary("SECRET");
        s.canaries.push(v.clone());
        s.kv2("", "secret", key, &v);
    }
    s.expected.insert("mount  secret/ kv".into());
    s.expected.insert("listing  secret/ complete".into());
    s.secrets_engine("", "kv1", "kv", json!({ "version": "1" }));
    s.expected.insert("listing  kv1/ complete".into());
    for key in ["app/db", "app/cache/redis", "top"] {
        let v = canary("SECRET");
        s.canaries.push(v.clone());
        s.kv1("", "kv1", key, &v);
    }
    s.secrets_engine("", "transit", "transit", json!({}));
    for key in ["payments", "ci-signing"] {
        s.c("").post(&format!("transit/keys/{key}"), &json!({}));
        s.expected
            .insert(format!("collection  transit/ keys/{key}"));
    }
    s.expected.insert("listing  transit/ complete".into());

    // Identity: entities with aliases, nested internal groups, an external group with an alias.
    let bot = s.entity(
        "",
        "payments-bot",
        &["payments-read"],
        json!({ "team": "payments" }),
    );
    s.entity_alias("", ("payments-bot", &bot), "userpass", &userpass, "alice");
    let runner = s.entity("", "ci-runner", &[], json!({}));
    s.entity_alias("", ("ci-runner", &runner), "gha", &gha, "acme/payments");
    let ci = s.group(
        "",
        "ci-pipelines",
        "internal",
        &["ci-deploy"],
        &[("ci-runner", &runner)],
        &[],
    );
    s.group(
        "",
        "platform",
        "internal",
        &["platform-admin"],
        &[("payments-bot", &bot)],
        &[("ci-pipelines", &ci)],
    );
    let admins = s.group("", "gh-admins", "external", &["platform-admin"], &[], &[]);
    s.c("").post(
        "identity/group-alias",
        &json!({ "name": "acme/admins", "mount_accessor": gha, "canonical_id": admins }),
    );
    s.expected
        .insert("group-alias  gh-admins auth/gha/ acme/admins".into());
    let _ = approle;

    // ---- team-a/ ----
    let a = s.namespace("", "team-a");
    s.policy(
        &a,
        "team-a-read",
        "path \"kv/data/app/*\" {\n  capabilities = [\"read\"]\n}\n",
    );
    s.auth(&a, "approle", "approle");
    s.role(
        &a,
        "approle",
        "role",
        "approle",
        "builder",
        json!({ "bind_secret_id": true, "token_policies": ["team-a-read"] }),
    );
    s.secrets_engine(&a, "kv", "kv", json!({ "version": "2" }));
    s.expected.insert(format!("listing {a} kv/ complete"));
    for key in ["app/config", "app/db/password", "shared"] {
        let v = canary("SECRET");
        s.canaries.push(v.clone());
        s.kv2(&a, "kv", key, &v);
    }
    let abot = s.entity(&a, "team-a-bot", &["team-a-read"], json!({}));
    s.group(
        &a,
        "team-a-devs",
        "internal",
        &["team-a-read"],
        &[("team-a-bot", &abot)],
        &[],
    );

    // ---- team-a/sub/ ----
    let sub = s.namespace(&a, "sub");
    s.policy(
        &sub,
        "sub-read",
        "path \"legacy/*\" {\n  capabilities = [\"read\"]\n}\n",
    );
    s.auth(&sub, "jwt", "jwt");
    s.config(
        &sub,
        "jwt",
        json!({ "jwt_validation_pubkeys": [pem], "bound_issuer": JWT_ISSUER }),
        &["bound_issuer", "jwt_validation_pubkeys"],
    );
    s.role(
        &sub,
        "jwt",
        "role",
        "jwt",
        "sub-deploy",
        json!({ "role_type": "jwt", "user_claim": "sub", "bound_subject": "repo:acme/sub",
                "token_policies": ["sub-read"] }),
    );
    s.secrets_engine(&sub, "legacy", "kv", json!({ "version": "1" }));
    s.expected.insert(format!("listing {sub} legacy/ complete"));
    let v = canary("SECRET");
    s.canaries.push(v.clone());
    s.kv1(&sub, "legacy", "x/y", &v);

    // ---- team-b/ ----
    let b = s.namespace("", "team-b");
    s.auth(&b, "users", "userpass");
    let pw = canary("PASSWORD");
    s.canaries.push(pw.clone());
    s.c(&b).post(
        "auth/users/users/carol",
        &json!({ "password": pw, "token_policies": ["b-ops"] }),
    );
    s.expected.insert(role_fact(
        &b,
        "users/",
        "userpass",
        "carol",
        &json!({ "token_policies": ["b-ops"] }),
    ));
    s.role(
        &b,
        "token",
        "roles",
        "token",
        "b-role",
        json!({ "allowed_policies": ["b-ops"], "orphan": false }),
    );
    s.policy(
        &b,
        "b-ops",
        "path \"sys/mounts\" {\n  capabilities = [\"read\"]\n}\n",
    );

    Estate {
        expected: s.expected,
        canaries: s.canaries,
        signer,
        secret_paths: s.secret_paths,
        exporter_role_id,
        exporter_secret_id,
    }
}

/// The facts of a snapshot (parsed as JSON), in the form [`Estate::expected`] uses.
pub fn facts(snapshot: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let empty = Vec::new();
    let arr = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let str_of = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    for ns in snapshot["namespaces"].as_array().unwrap_or(&empty) {
        let p = str_of(ns, "path");
        out.insert(format!("ns {p}"));
        for m in arr(ns, "auth_mounts") {
            let mp = str_of(&m, "path");
            out.insert(format!("auth {p} {mp} {}", str_of(&m, "type")));
            if let Some(cfg) = m.get("config").and_then(Value::as_object) {
                let keys: &[&str] = match str_of(&m, "type").as_str() {
                    "jwt" | "oidc" => &["bound_issuer", "jwt_validation_pubkeys"],
                    "kubernetes" => &["kubernetes_host"],
                    _ => &[],
                };
                let mut sel = Map::new();
                for k in keys {
                    sel.insert((*k).to_owned(), cfg.get(*k).cloned().unwrap_or(Value::Null));
                }
                out.insert(format!("config {p} {mp} {}", canon(&Value::Object(sel))));
            }
            if let Some(roles) = m.get("roles").and_then(Value::as_object) {
                for (kind, list) in roles {
                    for r in list.as_array().unwrap_or(&empty) {
                        out.insert(role_fact(&p, &mp, kind, &str_of(r, "name"), r));
                    }
                }
            }
        }
        for pol in arr(ns, "policies") {
            let name = str_of(&pol, "name");
            out.insert(format!("policy {p} {name}"));
            if name != "default" {
                out.insert(format!(
                    "policy-text {p} {name} {}",
                    str_of(&pol, "policy").trim()
                ));
            }
        }
        let entities = arr(ns, "entities");
        let entity_name = |id: &str| {
            entities
                .iter()
                .find(|e| e["id"] == id)
                .map(|e| str_of(e, "name"))
                .unwrap_or_else(|| format!("?{id}"))
        };
        for e in &entities {
            let name = str_of(e, "name");
            let auto = name.starts_with("entity_");
            if !auto {
                let pols: Vec<String> = arr(e, "policies")
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect();
                out.insert(format!(
                    "entity {p} {name} policies={} metadata={}",
                    joined(&pols),
                    canon(e.get("metadata").unwrap_or(&json!({})))
                ));
            }
            for a in arr(e, "aliases") {
                out.insert(format!(
                    "alias {p} {} {} -> {}",
                    str_of(&a, "mount_path"),
                    str_of(&a, "name"),
                    if auto {
                        "auto".to_owned()
                    } else {
                        name.clone()
                    }
                ));
            }
        }
        let groups = arr(ns, "groups");
        let group_name = |id: &str| {
            groups
                .iter()
                .find(|g| g["id"] == id)
                .map(|g| str_of(g, "name"))
                .unwrap_or_else(|| format!("?{id}"))
        };
        for g in &groups {
            let name = str_of(g, "name");
            let ids = |k: &str| -> Vec<String> {
                arr(g, k)
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            };
            let members: Vec<String> = ids("member_entity_ids")
                .iter()
                .map(|i| entity_name(i))
                .collect();
            let subgroups: Vec<String> = ids("member_group_ids")
                .iter()
                .map(|i| group_name(i))
                .collect();
            out.insert(format!(
                "group {p} {name} {} policies={} members={} subgroups={}",
                str_of(g, "type"),
                joined(&ids("policies")),
                joined(&members),
                joined(&subgroups)
            ));
            if let Some(a) = g.get("alias").filter(|a| a.get("name").is_some()) {
                out.insert(format!(
                    "group-alias {p} {name} {} {}",
                    str_of(a, "mount_path"),
                    str_of(a, "name")
                ));
            }
        }
        for m in arr(ns, "secret_mounts") {
            let mp = str_of(&m, "path");
            out.insert(format!("mount {p} {mp} {}", str_of(&m, "type")));
            let secrets = &m["secrets"];
            let status = secrets["listing"]["status"]
                .as_str()
                .unwrap_or("not_listed");
            if status != "not_listed" {
                out.insert(format!("listing {p} {mp} {status}"));
            }
            for k in arr(secrets, "keys") {
                out.insert(format!("key {p} {mp} {}", k.as_str().unwrap_or("")));
            }
            if let Some(c) = secrets.get("collections").and_then(Value::as_object) {
                for (coll, names) in c {
                    for n in names.as_array().unwrap_or(&empty) {
                        out.insert(format!(
                            "collection {p} {mp} {coll}/{}",
                            n.as_str().unwrap_or("")
                        ));
                    }
                }
            }
        }
    }
    out
}

/// Print the difference of two fact sets (for assertion messages).
pub fn diff(expected: &BTreeSet<String>, got: &BTreeSet<String>) -> String {
    let mut s = String::new();
    for f in expected.difference(got) {
        s.push_str(&format!("  missing: {f}\n"));
    }
    for f in got.difference(expected) {
        s.push_str(&format!("  unexpected: {f}\n"));
    }
    s
}

/// A KV v2 and a KV v1 estate with policies and a JWT mount `gha` that trusts one signer: the
/// base the live reach and usage tests build their roles on.
pub struct KvJwtEstate<'a> {
    /// Keys written under `secret/` (KV v2).
    pub kv2: &'a [&'a str],
    /// Keys written under `kv1/`, a KV v1 mount this creates.
    pub kv1: &'a [&'a str],
    pub policies: &'a [(&'a str, &'a str)],
    pub signer: &'a Signer,
    /// The `bound_issuer` of the `gha` mount.
    pub issuer: &'a str,
}

/// Writes `estate` into `server`; every secret holds a dummy value.
pub fn kv_and_jwt(server: &BaoServer, estate: &KvJwtEstate) {
    server.post(
        "sys/mounts/kv1",
        &json!({"type": "kv", "options": {"version": "1"}}),
    );
    for k in estate.kv2 {
        server.post(&format!("secret/data/{k}"), &json!({"data": {"v": "x"}}));
    }
    for k in estate.kv1 {
        server.post(&format!("kv1/{k}"), &json!({"v": "x"}));
    }
    for (name, text) in estate.policies {
        server.write_policy(name, text);
    }
    server.post("sys/auth/gha", &json!({"type": "jwt"}));
    server.post(
        "auth/gha/config",
        &json!({
            "jwt_validation_pubkeys": [estate.signer.public_pem()],
            "bound_issuer": estate.issuer,
        }),
    );
}
