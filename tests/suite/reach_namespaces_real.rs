//! Reach across nested namespaces and non-KV engines, judged by real logins on OpenBao.
//!
//! The estate: namespaces `team-a/`, `team-a/sub/` and `team-b/`; JWT mounts in the root and in
//! each of `team-a/` and `team-a/sub/`; KV v2, KV v1, transit and PKI mounts spread over them; and
//! policies that reach *down* the namespace tree: a root policy granting `+/kv/data/*` (a `+`
//! standing for a whole namespace segment), `team-a/sub/legacy/*` (a child namespace's path
//! written from the root) and `+/+/legacy/*`; a `team-a/` policy granting `sub/legacy/*` and
//! `+/t/encrypt/*` in its child; transit `encrypt`/`decrypt` and PKI `issue`/`sign` paths with
//! allow and deny. Every pipeline logs in for real after the export; for every token and every
//! exported path, `sys/capabilities` asked in the path's own namespace must equal blastmap's
//! answer, and `blastmap reach` must equal the union of a pipeline's real tokens.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};

use blastmap::login::Verdict;
use blastmap::passes::reach::Analysis;
use common::jwt::Signer;
use common::{BaoServer, Client};
use serde_json::{json, Map, Value};

const ISSUER: &str = "https://token.actions.githubusercontent.com";
const AUD: &str = "https://github.com/acme";

/// A namespace of the estate and what it holds.
struct NamespaceSeed {
    /// `""` for the root, else `team-a/` style.
    path: &'static str,
    policies: &'static [(&'static str, &'static str)],
    /// JWT roles of this namespace's `jwt` mount (`gha` in the root): name, policies.
    roles: &'static [(&'static str, &'static [&'static str])],
    kv2: &'static [&'static str],
    kv1: &'static [&'static str],
    transit_keys: &'static [&'static str],
    pki_roles: &'static [&'static str],
}

const ROOT_POLICIES: &[(&str, &str)] = &[
    (
        "down-the-tree",
        r#"path "+/kv/data/*" { capabilities = ["read"] }
path "team-a/sub/legacy/*" { capabilities = ["read", "list"] }
path "+/+/legacy/ops/*" { capabilities = ["update"] }
path "team-b/kv/data/locked/*" { capabilities = ["deny"] }"#,
    ),
    (
        "crypto",
        r#"path "transit/encrypt/app" { capabilities = ["update"] }
path "transit/+/pay" { capabilities = ["update"] }
path "transit/decrypt/pay" { capabilities = ["deny"] }
path "pki/issue/*" { capabilities = ["create", "update"] }
path "pki/sign/web" { capabilities = ["deny"] }
path "team-a/sub/t/encrypt/*" { capabilities = ["update"] }"#,
    ),
    (
        "root-kv",
        r#"path "secret/data/*" { capabilities = ["read"] }"#,
    ),
];

const TEAM_A_POLICIES: &[(&str, &str)] = &[
    (
        "a-parent",
        r#"path "kv/data/app/*" { capabilities = ["read", "list"] }
path "sub/legacy/*" { capabilities = ["read"] }
path "+/t/encrypt/*" { capabilities = ["update"] }
path "+/legacy/ops/+" { capabilities = ["create", "update"] }"#,
    ),
    // Same name as a root policy: a token of team-a/ holds team-a's, never the root's.
    (
        "root-kv",
        r#"path "kv/data/shared" { capabilities = ["read"] }"#,
    ),
];

const SUB_POLICIES: &[(&str, &str)] = &[(
    "sub-own",
    r#"path "legacy/*" { capabilities = ["read"] }
path "t/decrypt/*" { capabilities = ["update"] }
path "t/keys/k" { capabilities = ["read"] }"#,
)];

const ESTATE: &[NamespaceSeed] = &[
    NamespaceSeed {
        path: "",
        policies: ROOT_POLICIES,
        roles: &[
            ("wide", &["down-the-tree", "root-kv"]),
            ("crypto", &["crypto"]),
        ],
        kv2: &["app/db", "shared"],
        kv1: &[],
        transit_keys: &["app", "pay"],
        pki_roles: &["web", "internal"],
    },
    NamespaceSeed {
        path: "team-a/",
        policies: TEAM_A_POLICIES,
        roles: &[("a-deploy", &["a-parent"]), ("a-shadow", &["root-kv"])],
        kv2: &["app/db", "app/api", "shared", "other/x"],
        kv1: &[],
        transit_keys: &[],
        pki_roles: &[],
    },
    NamespaceSeed {
        path: "team-a/sub/",
        policies: SUB_POLICIES,
        roles: &[("sub-deploy", &["sub-own"])],
        kv2: &[],
        kv1: &["x/y", "ops/pager", "ops/deep/z"],
        transit_keys: &["k"],
        pki_roles: &[],
    },
    NamespaceSeed {
        path: "team-b/",
        policies: &[],
        roles: &[],
        kv2: &["app/db", "locked/root"],
        kv1: &[],
        transit_keys: &[],
        pki_roles: &[],
    },
];

const INVENTORY: &str = r#"
pipelines:
  - name: root-wide
    auth: {method: jwt, mount: gha, role: wide, claims: {sub: "repo:acme/platform", aud: "https://github.com/acme"}}
  - name: root-crypto
    auth: {method: jwt, mount: gha, role: crypto, claims: {sub: "repo:acme/crypto", aud: "https://github.com/acme"}}
  - name: a-deploy
    auth: {method: jwt, namespace: team-a, mount: jwt, role: a-deploy, claims: {sub: "repo:acme/a", aud: "https://github.com/acme"}}
  - name: a-shadow
    auth: {method: jwt, namespace: team-a/, mount: jwt, role: a-shadow, claims: {sub: "repo:acme/a", aud: "https://github.com/acme"}}
  - name: sub-deploy
    auth: {method: jwt, namespace: team-a/sub, mount: jwt, role: sub-deploy, claims: {sub: "repo:acme/sub", aud: "https://github.com/acme"}}
"#;

fn client_in(server: &BaoServer, namespace: &str) -> Client {
    if namespace.is_empty() {
        server.client().clone()
    } else {
        server
            .client()
            .with_namespace(namespace.trim_end_matches('/'))
    }
}

fn seed_namespace(server: &BaoServer, signer: &Signer, ns: &NamespaceSeed) {
    if let Some((parent, name)) = ns.path.trim_end_matches('/').rsplit_once('/') {
        client_in(server, parent).post(&format!("sys/namespaces/{name}"), &json!({}));
    } else if !ns.path.is_empty() {
        server.post(
            &format!("sys/namespaces/{}", ns.path.trim_end_matches('/')),
            &json!({}),
        );
    }
    let c = client_in(server, ns.path);
    for (name, text) in ns.policies {
        c.put(
            &format!("sys/policies/acl/{name}"),
            &json!({ "policy": text }),
        );
    }
    let jwt_mount = if ns.path.is_empty() { "gha" } else { "jwt" };
    if !ns.roles.is_empty() {
        c.post(&format!("sys/auth/{jwt_mount}"), &json!({"type": "jwt"}));
        c.post(
            &format!("auth/{jwt_mount}/config"),
            &json!({"jwt_validation_pubkeys": [signer.public_pem()], "bound_issuer": ISSUER}),
        );
    }
    for (role, policies) in ns.roles {
        c.post(
            &format!("auth/{jwt_mount}/role/{role}"),
            &json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": [AUD],
                    "token_policies": policies}),
        );
    }
    seed_engines(&c, ns);
}

fn seed_engines(c: &Client, ns: &NamespaceSeed) {
    let (kv2_mount, kv1_mount) = if ns.path.is_empty() {
        ("secret", "kv1")
    } else {
        ("kv", "legacy")
    };
    if !ns.kv2.is_empty() && !ns.path.is_empty() {
        c.post(
            &format!("sys/mounts/{kv2_mount}"),
            &json!({"type": "kv", "options": {"version": "2"}}),
        );
    }
    for key in ns.kv2 {
        c.post(
            &format!("{kv2_mount}/data/{key}"),
            &json!({"data": {"v": "x"}}),
        );
    }
    if !ns.kv1.is_empty() {
        c.post(
            &format!("sys/mounts/{kv1_mount}"),
            &json!({"type": "kv", "options": {"version": "1"}}),
        );
    }
    for key in ns.kv1 {
        c.post(&format!("{kv1_mount}/{key}"), &json!({"v": "x"}));
    }
    let transit = if ns.path.is_empty() { "transit" } else { "t" };
    if !ns.transit_keys.is_empty() {
        c.post(
            &format!("sys/mounts/{transit}"),
            &json!({"type": "transit"}),
        );
    }
    for key in ns.transit_keys {
        c.post(&format!("{transit}/keys/{key}"), &json!({}));
    }
    if !ns.pki_roles.is_empty() {
        c.post("sys/mounts/pki", &json!({"type": "pki"}));
    }
    for role in ns.pki_roles {
        c.post(
            &format!("pki/roles/{role}"),
            &json!({"allowed_domains": ["example.com"], "allow_subdomains": true}),
        );
    }
}

/// Logs in for real with a freshly signed JWT; the client token, or None when refused.
fn login(
    server: &BaoServer,
    namespace: &str,
    mount: &str,
    role: &str,
    jwt: &str,
) -> Option<String> {
    let c = client_in(server, namespace).without_token();
    match c.try_post(
        &format!("auth/{mount}/login"),
        &json!({"role": role, "jwt": jwt}),
    ) {
        Ok(v) => Some(v["auth"]["client_token"].as_str().unwrap().to_string()),
        Err(e) => {
            assert!(
                e.status == 400 || e.status == 403,
                "unexpected login failure: {e:?}"
            );
            None
        }
    }
}

/// `sys/capabilities` of `token` on every path, each asked in the path's own namespace.
fn real_capabilities(
    server: &BaoServer,
    token: &str,
    paths: &[(String, String)],
) -> Vec<Vec<String>> {
    let mut by_namespace: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, (ns, _)) in paths.iter().enumerate() {
        by_namespace.entry(ns.as_str()).or_default().push(i);
    }
    let mut out = vec![Vec::new(); paths.len()];
    for (ns, indexes) in by_namespace {
        let relative: Vec<&str> = indexes.iter().map(|&i| paths[i].1.as_str()).collect();
        let answers = client_in(server, ns).capabilities(token, &relative);
        for (i, answer) in indexes.into_iter().zip(answers) {
            out[i] = answer;
        }
    }
    out
}

#[test]
fn reach_across_namespaces_and_engines_equals_real_logins() {
    let server = BaoServer::start();
    let signer = Signer::generate(server.dir());
    for ns in ESTATE {
        seed_namespace(&server, &signer, ns);
    }
    let estate = server.export_estate(INVENTORY);
    let analysis = Analysis::new(&estate.snapshot, &estate.inventory);
    let pipelines: Vec<_> = estate.inventory.pipelines.iter().collect();
    let (logins, tokens) = analysis.prepare(&pipelines);

    let paths: Vec<(String, String)> = analysis
        .secrets
        .secrets
        .iter()
        .map(|s| (s.namespace.to_string(), s.path.clone()))
        .collect();
    let engines: BTreeSet<&str> = paths
        .iter()
        .filter_map(|(_, p)| p.split('/').nth(1))
        .collect();
    for expected in ["encrypt", "decrypt", "issue", "sign"] {
        assert!(
            engines.contains(expected),
            "transit and PKI paths are exported ({expected} missing from {engines:?})"
        );
    }
    let namespaces: BTreeSet<&str> = paths.iter().map(|(ns, _)| ns.as_str()).collect();
    assert_eq!(namespaces.len(), 4, "{namespaces:?}");

    let mut disagreements = Vec::new();
    let mut union_real: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    let mut capability_checks = 0;
    let mut granted_checks = 0;
    for (pipeline, (pipeline_logins, _)) in pipelines.iter().zip(&logins) {
        let namespace = pipeline.auth.namespace.clone();
        let mount = pipeline.auth.mount.clone();
        let mut claims: Map<String, Value> = pipeline.auth.claims.clone().unwrap_or_default();
        claims.insert("iss".into(), json!(ISSUER));
        for l in pipeline_logins {
            let token = login(
                &server,
                &namespace,
                &mount,
                &l.role,
                &signer.sign_fresh(&claims),
            );
            if (l.admission.verdict == Verdict::Admitted) != token.is_some() {
                disagreements.push(format!(
                    "admission: pipeline {} role {}: server {}, blastmap {:?}",
                    pipeline.name,
                    l.role,
                    token.is_some(),
                    l.admission.verdict
                ));
                continue;
            }
            let Some(token) = token else { continue };
            let ours = &tokens[l.token.expect("an admitted login has a token identity")];
            for ((ns, path), real) in paths.iter().zip(real_capabilities(&server, &token, &paths)) {
                capability_checks += 1;
                let answer = ours.acl.capabilities(ns, path);
                let ours: Vec<String> = answer.names().into_iter().map(String::from).collect();
                if ours != real {
                    disagreements.push(format!(
                        "capabilities: pipeline {} role {} path {ns}{path}: server {real:?}, blastmap {ours:?}",
                        pipeline.name, l.role
                    ));
                }
                if real != ["deny"] {
                    granted_checks += 1;
                    union_real
                        .entry(pipeline.name.clone())
                        .or_default()
                        .entry(format!("{ns}{path}"))
                        .or_default()
                        .extend(real);
                }
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreements with the server:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    assert!(
        granted_checks >= 20,
        "the estate grants across namespaces ({granted_checks} grants)"
    );
    for expected in [
        ("root-wide", "team-a/sub/legacy/ops/pager"),
        ("root-wide", "team-b/kv/data/app/db"),
        ("root-crypto", "team-a/sub/t/encrypt/k"),
        ("root-crypto", "pki/issue/internal"),
        ("a-deploy", "team-a/sub/legacy/x/y"),
        ("a-deploy", "team-a/sub/t/encrypt/k"),
    ] {
        assert!(
            union_real
                .get(expected.0)
                .is_some_and(|reach| reach.contains_key(expected.1)),
            "the server grants {} to {}: the estate exercises it",
            expected.1,
            expected.0
        );
    }
    common::assert_cli_reach_equals(&estate.snapshot_path, &estate.inventory_path, union_real);
    println!("{capability_checks} (token, path) capabilities equal the server's");
}
