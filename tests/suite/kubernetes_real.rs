//! Kubernetes consumers against a real OpenBao: manifests of every operator are discovered into
//! an inventory, OpenBao's Kubernetes auth is configured against a local TokenReview stand-in
//! (`common/tokenreview.rs`, HTTPS with its own CA) that answers for the test's own service
//! account tokens, and each consumer really logs in with a token of its service account. The
//! server's admission (login or refusal) must equal blastmap's verdict for the consumer's
//! configured role, and an admitted token's capabilities on the consumer's `needs` must equal
//! blastmap's reach.

use crate::common;

use std::collections::BTreeMap;

use common::jwt::Signer;
use common::tokenreview::{Account, TokenReview};
use common::BaoServer;
use serde_json::{json, Map, Value};

/// The manifests: one consumer per operator, a refused pod (an attacker's namespace on a
/// namespace-bound role), a pod whose service account the role does not list, and a role bound
/// to `*`.
const MANIFESTS: &[(&str, &str)] = &[
    (
        "vso.yaml",
        "apiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultAuth\nmetadata: {name: storefront, namespace: storefront}\nspec:\n  method: kubernetes\n  mount: k8s\n  kubernetes: {role: storefront, serviceAccount: storefront-app, audiences: [vault]}\n---\napiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultStaticSecret\nmetadata: {name: api-keys, namespace: storefront}\nspec: {vaultAuthRef: storefront, type: kv-v2, mount: apps, path: storefront/api-keys}\n",
    ),
    (
        "eso.yaml",
        "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {name: shared}\nspec:\n  provider:\n    vault:\n      path: apps\n      auth:\n        kubernetes:\n          mountPath: k8s\n          role: eso-shared\n          serviceAccountRef: {name: eso-reader, namespace: external-secrets}\n---\napiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: config, namespace: payments-web}\nspec:\n  secretStoreRef: {kind: ClusterSecretStore, name: shared}\n  data:\n    - {secretKey: c, remoteRef: {key: payments-web/config}}\n",
    ),
    (
        "pods.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: crawler, namespace: search}\nspec:\n  template:\n    metadata:\n      annotations:\n        vault.hashicorp.com/agent-inject: \"true\"\n        vault.hashicorp.com/auth-path: auth/k8s\n        vault.hashicorp.com/role: wild\n        vault.hashicorp.com/agent-inject-secret-x: apps/data/search/elastic\n    spec: {serviceAccountName: crawler}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: intruder\n  namespace: attacker\n  annotations:\n    vault.hashicorp.com/agent-inject: \"true\"\n    vault.hashicorp.com/auth-path: auth/k8s\n    vault.hashicorp.com/role: storefront\n    vault.hashicorp.com/agent-inject-secret-x: apps/data/storefront/api-keys\nspec: {serviceAccountName: storefront-app}\n---\napiVersion: secrets-store.csi.x-k8s.io/v1\nkind: SecretProviderClass\nmetadata: {name: es, namespace: search}\nspec:\n  provider: vault\n  parameters:\n    roleName: search\n    vaultKubernetesMountPath: k8s\n    objects: |\n      - objectName: p\n        secretPath: apps/data/search/elastic\n---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: indexer, namespace: search}\nspec:\n  template:\n    spec:\n      serviceAccountName: indexer\n      volumes:\n        - name: s\n          csi: {driver: secrets-store.csi.k8s.io, volumeAttributes: {secretProviderClass: es}}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: reports, namespace: search}\nspec:\n  template:\n    spec:\n      volumes:\n        - name: s\n          csi: {driver: secrets-store.csi.k8s.io, volumeAttributes: {secretProviderClass: es}}\n",
    ),
];

/// The server side: roles (name, body) and their policies.
fn roles() -> Vec<(&'static str, Value)> {
    let role = |names: &[&str], namespaces: &[&str], policy: &str| {
        json!({
            "bound_service_account_names": names,
            "bound_service_account_namespaces": namespaces,
            "token_policies": [policy],
            "token_ttl": "10m",
        })
    };
    let mut storefront = role(&["storefront-app"], &["storefront"], "storefront");
    storefront["audience"] = json!("vault");
    vec![
        ("storefront", storefront),
        (
            "eso-shared",
            role(&["eso-reader"], &["external-secrets"], "eso-shared"),
        ),
        ("wild", role(&["*"], &["*"], "wild")),
        ("search", role(&["indexer"], &["search"], "search")),
    ]
}

const POLICIES: &[(&str, &str)] = &[
    ("storefront", "path \"apps/data/storefront/*\" { capabilities = [\"read\"] }"),
    (
        "eso-shared",
        "path \"apps/data/storefront/*\" { capabilities = [\"read\"] }\npath \"apps/data/payments-web/*\" { capabilities = [\"read\", \"update\"] }",
    ),
    ("wild", "path \"apps/data/*\" { capabilities = [\"read\", \"list\"] }"),
    ("search", "path \"apps/data/search/*\" { capabilities = [\"read\"] }"),
];

const SECRETS: &[&str] = &[
    "storefront/api-keys",
    "payments-web/config",
    "search/elastic",
];

#[test]
fn consumers_log_in_as_blastmap_admits_them() {
    let server = BaoServer::start();
    let review = TokenReview::start(server.dir());
    let signer = Signer::generate(server.dir());
    seed(&server, &review);

    let manifests = tempfile::tempdir().unwrap();
    for (name, text) in MANIFESTS {
        std::fs::write(manifests.path().join(name), text).unwrap();
    }
    let (inventory, _) =
        common::discovered::discover(&["--kubernetes", manifests.path().to_str().unwrap()]);
    let names: Vec<&str> = inventory
        .pipelines
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names.len(), 6, "{names:?}");
    let yaml = yaml_serde::to_string(&inventory).unwrap();
    let estate = server.export_estate(&yaml);
    let reach = reach_json(&estate.snapshot_path, &estate.inventory_path);

    let mut admitted = 0;
    for (i, p) in inventory.pipelines.iter().enumerate() {
        let (ns, sa) = (
            p.auth.service_account_namespace.clone().unwrap(),
            p.auth.service_account.clone().unwrap(),
        );
        let role = p.auth.role.clone().unwrap();
        let audiences: Vec<String> = match p.auth.claims.as_ref().and_then(|c| c.get("aud")) {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect(),
            _ => vec!["https://kubernetes.default.svc".to_string()],
        };
        let token = service_account_token(&signer, &ns, &sa, &format!("uid-{i}"), &audiences);
        review.register(
            &token,
            Account {
                namespace: ns.clone(),
                name: sa.clone(),
                uid: format!("uid-{i}"),
                audiences,
            },
        );
        let login = server
            .client()
            .without_token()
            .try_post("auth/k8s/login", &json!({"role": role, "jwt": token}));
        let ours = configured(&reach, &p.name);
        assert_eq!(
            login.is_ok(),
            ours["verdict"] == "admitted",
            "{}: the server {} the login to role {role}, blastmap says {:#}",
            p.name,
            if login.is_ok() { "allowed" } else { "refused" },
            ours
        );
        let Ok(answer) = login else { continue };
        admitted += 1;
        let client_token = answer["auth"]["client_token"].as_str().unwrap().to_string();
        same_capabilities(&server, &reach, p, &client_token);
    }
    // storefront, eso, crawler (wild) and indexer log in; the intruder and `reports` (service
    // account `default`) are refused by both.
    assert_eq!(admitted, 4);

    // A token the cluster never issued, with the right claims: the server asks the TokenReview
    // API and refuses it; blastmap admits the service account on the condition that the cluster
    // vouches for its token, and says so.
    let forged = service_account_token(
        &signer,
        "storefront",
        "storefront-app",
        "uid-x",
        &["vault".into()],
    );
    let refused = server.client().without_token().try_post(
        "auth/k8s/login",
        &json!({"role": "storefront", "jwt": forged}),
    );
    assert!(
        refused.is_err(),
        "a token the stand-in does not know logs in"
    );
    let vso = configured(&reach, "k8s/storefront/VaultStaticSecret/api-keys");
    assert!(
        vso["conditions"]
            .to_string()
            .contains("TokenReview API at https://127.0.0.1:"),
        "{vso:#}"
    );
}

/// Mount, TokenReview configuration, roles, policies and secrets.
fn seed(server: &BaoServer, review: &TokenReview) {
    server.post("sys/auth/k8s", &json!({"type": "kubernetes"}));
    server.post(
        "auth/k8s/config",
        &json!({
            "kubernetes_host": review.url,
            "kubernetes_ca_cert": review.ca_pem,
            "disable_local_ca_jwt": true,
        }),
    );
    for (name, body) in roles() {
        server.post(&format!("auth/k8s/role/{name}"), &body);
    }
    for (name, text) in POLICIES {
        server.write_policy(name, text);
    }
    server.post(
        "sys/mounts/apps",
        &json!({"type": "kv", "options": {"version": "2"}}),
    );
    for s in SECRETS {
        server.post(&format!("apps/data/{s}"), &json!({"data": {"v": "x"}}));
    }
}

/// A projected service account token's claims, signed (the plugin reads them; the TokenReview
/// stand-in vouches for the token).
fn service_account_token(signer: &Signer, ns: &str, sa: &str, uid: &str, aud: &[String]) -> String {
    let mut c = Map::new();
    c.insert(
        "iss".into(),
        json!("https://kubernetes.default.svc.cluster.local"),
    );
    c.insert(
        "sub".into(),
        json!(format!("system:serviceaccount:{ns}:{sa}")),
    );
    c.insert("aud".into(), json!(aud));
    c.insert(
        "kubernetes.io".into(),
        json!({"namespace": ns, "serviceaccount": {"name": sa, "uid": uid}}),
    );
    signer.sign_fresh(&c)
}

fn reach_json(snapshot: &std::path::Path, inventory: &std::path::Path) -> Value {
    let out = common::discovered::run(&[
        "reach",
        "--snapshot",
        snapshot.to_str().unwrap(),
        "--pipelines",
        inventory.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn pipeline<'r>(reach: &'r Value, name: &str) -> &'r Value {
    reach["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no reach for {name}"))
}

/// blastmap's answer for the consumer's configured role.
fn configured<'r>(reach: &'r Value, name: &str) -> &'r Value {
    pipeline(reach, name)["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["configured"] == true)
        .unwrap_or_else(|| panic!("{name}: no configured role in {:#}", pipeline(reach, name)))
}

/// The admitted token's capabilities on the consumer's needs equal blastmap's reach through the
/// configured role.
fn same_capabilities(
    server: &BaoServer,
    reach: &Value,
    p: &blastmap::inventory::Pipeline,
    token: &str,
) {
    let needs: Vec<&str> = p.needs.iter().map(String::as_str).collect();
    let real = server.capabilities(token, &needs);
    let ours: BTreeMap<&str, Vec<String>> = pipeline(reach, &p.name)["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let caps = s["configured_role_capabilities"]
                .as_array()
                .map(|c| c.iter().map(|x| x.as_str().unwrap().to_string()).collect())
                .unwrap_or_default();
            (s["path"].as_str().unwrap(), caps)
        })
        .collect();
    for (path, mut caps) in needs.iter().zip(real) {
        caps.retain(|c| c != "deny");
        caps.sort();
        let mut mine = ours.get(path).cloned().unwrap_or_default();
        mine.sort();
        assert_eq!(mine, caps, "{}: capabilities on {path}", p.name);
    }
}
