//! `blastmap discover --kubernetes DIR`: the consumers discovered from the manifests in
//! `fixtures/discover/kubernetes/shop/` (Agent Injector, Vault Secrets Operator, External
//! Secrets, CSI; a Kustomize overlay over a base) are exactly the expected inventory; paths
//! outside the directory are never read; hostile trees end with notes or a clean error.

use crate::common;

use common::discovered::{assert_same, discover, dynamic, expected, exposures, pipeline, run};

const SHOP: &[&str] = &["--kubernetes", "fixtures/discover/kubernetes/shop"];

#[test]
fn shop_is_the_expected_inventory() {
    let (inv, notes) = discover(SHOP);
    assert_same(&inv, &expected("kubernetes-shop.yaml"));
    // The overlay's namespace applies to the base it lists.
    let injected = pipeline(&inv, "k8s/checkout/Deployment/checkout");
    assert_eq!(
        injected.auth.service_account_namespace.as_deref(),
        Some("checkout")
    );
    assert_eq!(
        injected.needs,
        ["secret/data/checkout/api", "secret/data/checkout/db"]
    );
    assert_eq!(
        exposures(injected),
        [("agent-inject-token".to_string(), Some(16))]
    );
    // VSO logs in with the VaultAuth's service account in the consumer's own namespace.
    let vso = pipeline(&inv, "k8s/checkout/VaultStaticSecret/tls");
    assert_eq!(vso.auth.service_account.as_deref(), Some("vso-reader"));
    assert_eq!(
        vso.auth.service_account_namespace.as_deref(),
        Some("checkout")
    );
    // A Helm value left in a path is dynamic, never guessed.
    let helm = pipeline(&inv, "k8s/search/VaultStaticSecret/search-config");
    assert!(helm.needs.is_empty());
    assert!(dynamic(helm, "needs")
        .unwrap()
        .contains("{{ .Values.configPath }}"));
    // A find over the whole mount of a store every namespace may use.
    let find = pipeline(&inv, "k8s/search/ExternalSecret/everything");
    assert_eq!(find.needs, ["secret/data/*", "secret/metadata/*"]);
    assert_eq!(
        exposures(find),
        [
            ("shared-store".to_string(), Some(5)),
            ("find-whole-mount".to_string(), Some(11))
        ]
    );
    let token = pipeline(&inv, "k8s/legacy/ExternalSecret/old-config");
    assert_eq!(token.auth.method.as_str(), "token");
    assert_eq!(
        exposures(token),
        [("static-token-secret".to_string(), Some(32))]
    );
    assert!(
        notes.contains("resource \"../../../../outside.yaml\" is outside"),
        "{notes}"
    );
    assert!(
        notes.contains("ExternalSecret/search/sneaky uses ClusterSecretStore//vault-legacy, whose conditions do not admit namespace \"search\""),
        "{notes}"
    );
}

/// A tree written for the test: each (relative path, text).
fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in files {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

const INJECTED_POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: a\n  annotations:\n    vault.hashicorp.com/agent-inject: \"true\"\n    vault.hashicorp.com/role: r\n";

#[test]
fn links_and_kustomize_paths_never_leave_the_directory() {
    let outside = tree(&[("secret.yaml", INJECTED_POD)]);
    let inside = tree(&[(
        "k/kustomization.yaml",
        &format!(
            "resources:\n  - {}\n  - ../../etc\n",
            outside.path().join("secret.yaml").display()
        ),
    )]);
    std::os::unix::fs::symlink(
        outside.path().join("secret.yaml"),
        inside.path().join("link.yaml"),
    )
    .unwrap();
    let dir = inside.path().to_str().unwrap();
    let (inv, notes) = discover(&["--kubernetes", dir]);
    assert!(inv.pipelines.is_empty(), "{inv:?}");
    assert!(notes.contains("is outside"), "{notes}");
}

#[test]
fn kustomization_cycles_and_fan_out_are_bounded() {
    let mut files: Vec<(String, String)> = vec![
        (
            "a/kustomization.yaml".into(),
            "resources: [../b, pod.yaml]\n".into(),
        ),
        ("a/pod.yaml".into(), INJECTED_POD.into()),
        ("b/kustomization.yaml".into(), "resources: [../a]\n".into()),
    ];
    // Each level lists the next one twice: 2^20 reads if nothing were read once.
    for i in 0..20 {
        files.push((
            format!("f{i}/kustomization.yaml"),
            format!("resources: [../f{}, ../f{}]\n", i + 1, i + 1),
        ));
    }
    files.push((
        "f20/kustomization.yaml".into(),
        "resources: [pod.yaml]\n".into(),
    ));
    files.push((
        "f20/pod.yaml".into(),
        INJECTED_POD.replace("name: p", "name: q"),
    ));
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let dir = tree(&refs);
    let (inv, notes) = discover(&["--kubernetes", dir.path().to_str().unwrap()]);
    // Each pod once: a build reads what it reaches once, as Kustomize refuses duplicates.
    let mut names: Vec<&str> = inv.pipelines.iter().map(|p| p.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["k8s/a/Pod/p", "k8s/a/Pod/q"], "{notes}");
}

#[test]
fn malformed_manifests_name_file_and_line() {
    let dir = tree(&[(
        "m.yaml",
        "kind: ConfigMap\nmetadata:\n  name: a\n---\nkind: Pod\nmetadata: [1, 2\n",
    )]);
    let out = run(&["discover", "--kubernetes", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("m.yaml:7:"), "{err}");
    assert!(err.contains("malformed YAML"), "{err}");
}

#[test]
fn hostile_values_do_not_panic() {
    let deep = format!(
        "kind: Pod\nmetadata:\n  name: d\nspec: {}{}\n",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let template = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: t\n  namespace: a\n  annotations:\n    vault.hashicorp.com/agent-inject: \"true\"\n    vault.hashicorp.com/agent-inject-template-x: 'secret secret \"unterminated {{ with secret (printf \"a/%s\" .x) }}'\n";
    let dir = tree(&[
        ("deep.yaml", &deep),
        ("t.yaml", template),
        ("helm.yaml", "{{ if .Values.x }}\nkind: Pod\n{{ end }}\n"),
    ]);
    let out = run(&["discover", "--kubernetes", dir.path().to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(matches!(out.status.code(), Some(0 | 2)), "{err}");
}

/// The demo estate's consumers are what discovery writes for `fixtures/demo/kubernetes/`, and
/// `teams[].namespaces` gives them their teams.
#[test]
fn the_demo_consumers_are_discovered_from_its_manifests() {
    let (found, _) = discover(&["--kubernetes", "fixtures/demo/kubernetes"]);
    let demo = blastmap::inventory::Inventory::load(
        &std::path::Path::new(common::discovered::ROOT).join("fixtures/demo/pipelines.yaml"),
    )
    .unwrap();
    let mut consumers: Vec<_> = demo
        .pipelines
        .iter()
        .filter(|p| p.name.starts_with("k8s/"))
        .cloned()
        .collect();
    let teams: Vec<_> = consumers.iter().map(|p| p.team.clone()).collect();
    assert_eq!(
        teams,
        [
            Some("checkout"),
            Some("checkout"),
            Some("payments"),
            Some("checkout")
        ]
        .map(|t| t.map(String::from))
    );
    for p in &mut consumers {
        p.team = None;
    }
    assert_eq!(consumers, found.pipelines);
}

/// A what-if on the demo: widening the storefront consumers' policy gives them the payments-web
/// config; `diff` reports it on the consumers and the cross-team gate fails.
#[test]
fn diff_gates_a_consumer_gaining_another_teams_secret() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("storefront-vso.hcl"),
        "path \"apps/data/*\" {\n  capabilities = [\"read\"]\n}\n",
    )
    .unwrap();
    let out = run(&[
        "diff",
        "--snapshot",
        "fixtures/demo/snapshot.json",
        "--pipelines",
        "fixtures/demo/pipelines.yaml",
        "--apply",
        dir.path().to_str().unwrap(),
        "--format",
        "json",
        "--fail-on",
        "new-cross-team",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = v.to_string();
    for consumer in [
        "k8s/storefront/VaultStaticSecret/api-keys",
        "k8s/storefront/VaultDynamicSecret/db",
    ] {
        assert!(text.contains(consumer), "{consumer} not in the delta");
    }
    assert!(text.contains("apps/data/payments-web/config"));
}

/// `kubectl get -o yaml` writes a `List`: its items are the objects, found with their own
/// lines, exactly as the same objects written as separate documents.
#[test]
fn a_list_document_holds_its_items_as_objects() {
    let store = "apiVersion: external-secrets.io/v1beta1\nkind: SecretStore\nmetadata:\n  name: vault\n  namespace: shop\nspec:\n  provider:\n    vault:\n      server: https://vault.example\n      path: secret\n      version: v2\n      auth:\n        kubernetes:\n          mountPath: k8s\n          role: shop-reader\n          serviceAccountRef:\n            name: eso\n";
    let secret = "apiVersion: external-secrets.io/v1beta1\nkind: ExternalSecret\nmetadata:\n  name: db\n  namespace: shop\nspec:\n  secretStoreRef:\n    name: vault\n    kind: SecretStore\n  data:\n  - secretKey: password\n    remoteRef:\n      key: shop/db\n      property: password\n";
    let indent = |text: &str| {
        let mut lines = text.lines();
        let first = lines.next().unwrap();
        let rest: Vec<String> = lines.map(|l| format!("  {l}")).collect();
        format!("- {first}\n{}\n", rest.join("\n"))
    };
    let list = format!(
        "apiVersion: v1\nkind: List\nmetadata:\n  resourceVersion: \"\"\nitems:\n{}{}",
        indent(store),
        indent(secret)
    );
    let separate = tree(&[("all.yaml", &format!("{store}---\n{secret}"))]);
    let listed = tree(&[("list.yaml", &list)]);
    let (from_documents, _) = discover(&["--kubernetes", separate.path().to_str().unwrap()]);
    let (from_list, _) = discover(&["--kubernetes", listed.path().to_str().unwrap()]);
    let names = |inv: &blastmap::inventory::Inventory| -> Vec<(String, Vec<String>)> {
        inv.pipelines
            .iter()
            .map(|p| (p.name.clone(), p.needs.clone()))
            .collect()
    };
    assert_eq!(names(&from_list), names(&from_documents));
    let consumer = pipeline(&from_list, "k8s/shop/ExternalSecret/db");
    assert_eq!(consumer.needs, ["secret/data/shop/db"]);
    let line = consumer.ci.as_ref().and_then(|ci| ci.line);
    assert!(
        line.is_some_and(|l| l > 20),
        "the item's own line: {line:?}"
    );
}
