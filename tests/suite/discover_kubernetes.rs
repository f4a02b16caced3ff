//! `blastmap discover --kubernetes DIR`: the consumers discovered from the manifests in
//! `fixtures/discover/kubernetes/shop/` (Agent Injector, Vault Secrets Operator, External
//! Secrets, CSI; a Kustomize overlay over a base, with patches) are exactly the expected
//! inventory; Kustomize patches apply as Kustomize applies them; paths outside the directory are
//! never read; hostile trees end with notes or a clean error.

use crate::common;

use common::discovered::{
    assert_same, discover, dynamic, expected, exposures, pipeline, run, tree,
};

const SHOP: &[&str] = &["--kubernetes", "fixtures/discover/kubernetes/shop"];

#[test]
fn shop_is_the_expected_inventory() {
    let (inv, notes) = discover(SHOP);
    assert_same(&inv, &expected("kubernetes-shop.yaml"));
    // The overlay's namespace applies to the base it lists, and its patches to the base's
    // objects: the role and a secret from a strategic merge patch, the store's role from a
    // targeted patch, the payment key from a JSON patch.
    let injected = pipeline(&inv, "k8s/checkout/Deployment/checkout");
    assert_eq!(
        injected.auth.service_account_namespace.as_deref(),
        Some("checkout")
    );
    assert_eq!(injected.auth.role.as_deref(), Some("checkout-prod"));
    assert_eq!(
        injected.needs,
        [
            "secret/data/checkout/api",
            "secret/data/checkout/db",
            "secret/data/checkout/payments"
        ]
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
    let keys = pipeline(&inv, "k8s/checkout/ExternalSecret/payment-keys");
    assert_eq!(keys.auth.role.as_deref(), Some("checkout-eso-prod"));
    assert!(keys
        .needs
        .contains(&"secret/data/checkout/stripe-live".to_string()));
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

/// The Vault Secrets Operator's default `VaultAuth`, for the trees below.
const VSO_AUTH: &str = "apiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultAuth\nmetadata:\n  name: default\n  namespace: vault-secrets-operator\nspec:\n  method: kubernetes\n  mount: kubernetes\n  kubernetes:\n    role: vso\n    serviceAccount: vso\n";

/// A `VaultStaticSecret` named `name` reading `kv/<path>`, with `labels`.
fn static_secret(name: &str, path: &str, labels: &str) -> String {
    format!(
        "apiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultStaticSecret\nmetadata:\n  name: {name}\n  labels: {{{labels}}}\nspec:\n  type: kv-v2\n  mount: kv\n  path: {path}\n  destination:\n    name: {name}\n"
    )
}

const WEB: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    metadata:\n      annotations:\n        vault.hashicorp.com/agent-inject: \"true\"\n        vault.hashicorp.com/role: web\n        vault.hashicorp.com/agent-inject-secret-a: kv/data/web/a\n    spec:\n      serviceAccountName: web\n      containers:\n        - name: app\n          image: web:1\n";

fn needs_of(inv: &blastmap::inventory::Inventory, name: &str) -> Vec<String> {
    pipeline(inv, name).needs.clone()
}

#[test]
fn strategic_merge_patches_from_a_file_and_inline() {
    let dir = tree(&[
        ("platform.yaml", VSO_AUTH),
        ("base/kustomization.yaml", "resources: [web.yaml]\n"),
        ("base/web.yaml", WEB),
        (
            "prod/kustomization.yaml",
            "namespace: prod\nresources: [../base]\npatchesStrategicMerge:\n  - role.yaml\n  - |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: web\n    spec:\n      template:\n        metadata:\n          annotations:\n            vault.hashicorp.com/agent-inject-secret-a: null\n            vault.hashicorp.com/agent-inject-secret-b: kv/data/web/b\n",
        ),
        (
            "prod/role.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    metadata:\n      annotations:\n        vault.hashicorp.com/role: web-prod\n        vault.hashicorp.com/agent-inject-token: \"true\"\n",
        ),
    ]);
    let (inv, notes) = discover(&["--kubernetes", dir.path().to_str().unwrap()]);
    let web = pipeline(&inv, "k8s/prod/Deployment/web");
    assert_eq!(web.auth.role.as_deref(), Some("web-prod"), "{notes}");
    assert_eq!(web.needs, ["kv/data/web/b"]);
    let ci = web.ci.as_ref().unwrap();
    assert!(ci.file.ends_with("base/web.yaml"), "{}", ci.file);
    assert_eq!(ci.line, Some(2), "the object's own line in its manifest");
    // The token annotation comes from the patch: its line is that of `annotations:` in the
    // manifest, the nearest part the patch left alone.
    assert_eq!(
        exposures(web),
        [("agent-inject-token".to_string(), Some(8))]
    );
}

#[test]
fn patches_select_their_targets_by_regex_and_labels() {
    let secrets = [
        static_secret("app-1", "app/one", "tier: web"),
        static_secret("app-2", "app/two", "tier: db"),
        static_secret("other", "other", "tier: db"),
        static_secret("untouched", "untouched", ""),
    ]
    .join("---\n");
    let dir = tree(&[
        ("platform.yaml", VSO_AUTH),
        ("app/secrets.yaml", &secrets),
        (
            "app/kustomization.yaml",
            "namespace: shop\nresources: [secrets.yaml]\npatches:\n  - target: {kind: VaultStaticSecret, name: app-.*}\n    patch: |\n      kind: VaultStaticSecret\n      metadata: {name: ignored}\n      spec: {mount: kv-prod}\n  - target: {labelSelector: tier=db, annotationSelector: '!skip'}\n    patch: |\n      - {op: add, path: /spec/path, value: db}\n  - path: named.yaml\n  - target: {name: app}\n    options: {allowNoTargetMatch: true}\n    patch: '[{\"op\": \"remove\", \"path\": \"/spec\"}]'\n",
        ),
        (
            "app/named.yaml",
            "apiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultStaticSecret\nmetadata:\n  name: untouched\nspec:\n  path: named\n",
        ),
    ]);
    let (inv, notes) = discover(&["--kubernetes", dir.path().to_str().unwrap()]);
    assert_eq!(
        needs_of(&inv, "k8s/shop/VaultStaticSecret/app-1"),
        ["kv-prod/data/app/one"],
        "{notes}"
    );
    // Both patches, in order: the name's, then the label's.
    assert_eq!(
        needs_of(&inv, "k8s/shop/VaultStaticSecret/app-2"),
        ["kv-prod/data/db"]
    );
    assert_eq!(
        needs_of(&inv, "k8s/shop/VaultStaticSecret/other"),
        ["kv/data/db"]
    );
    // A patch without a target patches the object it names.
    assert_eq!(
        needs_of(&inv, "k8s/shop/VaultStaticSecret/untouched"),
        ["kv/data/named"]
    );
    // `name: app` is anchored: it selects nothing, which its options allow without a note.
    assert!(!notes.contains("selects no object"), "{notes}");
}

const STORE: &str = "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata:\n  name: vault\nspec:\n  provider:\n    vault:\n      server: https://vault.example\n      path: secret\n      version: v2\n      auth:\n        kubernetes:\n          mountPath: kubernetes\n          role: shop\n          serviceAccountRef:\n            name: eso\n";

const EXTERNAL_SECRET: &str = "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata:\n  name: keys\nspec:\n  secretStoreRef:\n    name: vault\n  data:\n    - secretKey: a\n      remoteRef:\n        key: shop/a\n    - secretKey: b\n      remoteRef:\n        key: shop/b\n";

#[test]
fn json_patches_apply_every_operation() {
    let dir = tree(&[
        ("k/store.yaml", STORE),
        ("k/secret.yaml", EXTERNAL_SECRET),
        (
            "k/kustomization.yaml",
            "namespace: shop\nresources: [store.yaml, secret.yaml]\npatchesJson6902:\n  - target: {group: external-secrets.io, version: v1, kind: ExternalSecret, name: keys}\n    path: ops.yaml\n  - target: {kind: SecretStore, name: vault}\n    patch: |-\n      [{\"op\": \"replace\", \"path\": \"/spec/provider/vault/auth/kubernetes/role\", \"value\": \"shop-prod\"}]\n",
        ),
        (
            "k/ops.yaml",
            "- op: test\n  path: /spec/data/0/secretKey\n  value: a\n- op: replace\n  path: /spec/data/0/remoteRef/key\n  value: shop/a-prod\n- op: copy\n  from: /spec/data/1\n  path: /spec/data/-\n- op: replace\n  path: /spec/data/2/remoteRef/key\n  value: shop/c\n- op: move\n  from: /spec/data/1\n  path: /spec/data/0\n- op: remove\n  path: /spec/data/0\n- op: add\n  path: /metadata/annotations\n  value: {a~b/c: x}\n- op: test\n  path: /metadata/annotations/a~0b~1c\n  value: x\n",
        ),
    ]);
    let (inv, notes) = discover(&["--kubernetes", dir.path().to_str().unwrap()]);
    let keys = pipeline(&inv, "k8s/shop/ExternalSecret/keys");
    assert_eq!(
        keys.needs,
        ["secret/data/shop/a-prod", "secret/data/shop/c"],
        "{notes}"
    );
    assert_eq!(keys.auth.role.as_deref(), Some("shop-prod"));
}

#[test]
fn an_overlay_patches_its_bases_before_its_namespace() {
    let dir = tree(&[
        ("platform.yaml", VSO_AUTH),
        (
            "base/kustomization.yaml",
            "namespace: staging\nresources: [secrets.yaml]\npatches:\n  - patch: |\n      apiVersion: secrets.hashicorp.com/v1beta1\n      kind: VaultStaticSecret\n      metadata: {name: a}\n      spec: {path: base-patched}\n",
        ),
        (
            "base/secrets.yaml",
            &[
                static_secret("a", "a", ""),
                static_secret("b", "b", ""),
                static_secret("c", "c", ""),
            ]
            .join("---\n"),
        ),
        (
            "prod/kustomization.yaml",
            "namespace: prod\nresources: [../base]\npatchesStrategicMerge:\n  - |-\n    apiVersion: secrets.hashicorp.com/v1beta1\n    kind: VaultStaticSecret\n    metadata: {name: b}\n    spec: {path: no-namespace}\n  - |-\n    apiVersion: secrets.hashicorp.com/v1beta1\n    kind: VaultStaticSecret\n    metadata: {name: c, namespace: staging}\n    spec: {path: staging}\npatchesJson6902:\n  - target: {kind: VaultStaticSecret, name: a, namespace: prod}\n    patch: '[{\"op\": \"add\", \"path\": \"/spec/mount\", \"value\": \"kv-prod\"}]'\n",
        ),
    ]);
    let (inv, notes) = discover(&["--kubernetes", dir.path().to_str().unwrap()]);
    // The base's patch applied before its namespace; the overlay's JSON patch after the
    // overlay's namespace (it selects namespace `prod`).
    assert_eq!(
        needs_of(&inv, "k8s/prod/VaultStaticSecret/a"),
        ["kv-prod/data/base-patched"],
        "{notes}"
    );
    // A patch without a namespace names the object as its manifest did (before the base's
    // namespace); one with the base's namespace names it as the base left it.
    assert_eq!(
        needs_of(&inv, "k8s/prod/VaultStaticSecret/b"),
        ["kv/data/no-namespace"]
    );
    assert_eq!(
        needs_of(&inv, "k8s/prod/VaultStaticSecret/c"),
        ["kv/data/staging"]
    );
    assert!(!notes.contains("not applied"), "{notes}");
}

#[test]
fn a_component_patches_what_its_parent_accumulated() {
    let dir = tree(&[
        ("platform.yaml", VSO_AUTH),
        (
            "app/kustomization.yaml",
            "namespace: shop\nresources: [secret.yaml]\ncomponents: [../vault-prod]\n",
        ),
        ("app/secret.yaml", &static_secret("a", "a", "")),
        (
            "vault-prod/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [extra.yaml]\npatches:\n  - target: {kind: VaultStaticSecret}\n    patch: '[{\"op\": \"replace\", \"path\": \"/spec/mount\", \"value\": \"kv-prod\"}]'\n",
        ),
        ("vault-prod/extra.yaml", &static_secret("extra", "extra", "")),
    ]);
    let (inv, notes) = discover(&["--kubernetes", dir.path().to_str().unwrap()]);
    assert_eq!(
        needs_of(&inv, "k8s/shop/VaultStaticSecret/a"),
        ["kv-prod/data/a"],
        "{notes}"
    );
    assert_eq!(
        needs_of(&inv, "k8s/shop/VaultStaticSecret/extra"),
        ["kv-prod/data/extra"]
    );
    assert_eq!(
        inv.pipelines.len(),
        2,
        "the component is not built on its own"
    );
}

#[test]
fn patches_that_match_nothing_or_fail_are_notes() {
    let dir = tree(&[
        ("platform.yaml", VSO_AUTH),
        ("k/secret.yaml", &static_secret("a", "a", "")),
        (
            "k/kustomization.yaml",
            "namespace: shop\nresources: [secret.yaml]\npatchesStrategicMerge:\n  - |-\n    apiVersion: secrets.hashicorp.com/v1beta1\n    kind: VaultStaticSecret\n    metadata: {name: missing}\n    spec: {path: x}\npatches:\n  - target: {kind: VaultStaticSecret}\n    patch: |\n      - {op: replace, path: /spec/path, value: changed}\n      - {op: test, path: /spec/mount, value: other}\n  - target: {kind: Nothing}\n    patch: '[{\"op\": \"remove\", \"path\": \"/spec\"}]'\n  - patch: '[{\"op\": \"remove\", \"path\": \"/spec\"}]'\n  - target: {name: '('}\n    patch: '[{\"op\": \"remove\", \"path\": \"/spec\"}]'\n  - target: {kind: VaultStaticSecret}\n    patch: '[{op: remove, path: /spec}]'\n",
        ),
    ]);
    let (inv, notes) = discover(&["--kubernetes", dir.path().to_str().unwrap()]);
    // The failing test undoes the whole patch: the object is read as written. `patches:` apply
    // before the kustomization's namespace, so the note names the object without it.
    assert_eq!(
        needs_of(&inv, "k8s/shop/VaultStaticSecret/a"),
        ["kv/data/a"]
    );
    for expected in [
        "k/kustomization.yaml:4: the patch for VaultStaticSecret//missing (secrets.hashicorp.com/v1beta1) matches no object: not applied",
        "k/kustomization.yaml:10: operation 2 fails on VaultStaticSecret//a: test: /spec/mount has another value: that object is read without the patch",
        "k/kustomization.yaml:14: the patch's target selects no object: not applied",
        "k/kustomization.yaml:16: a JSON patch needs a `target`: not applied",
        "k/kustomization.yaml:19: a patch starting with `[` is read as JSON, and this is not JSON",
        "k/kustomization.yaml:17: target name \"(\" is not a regular expression: error: unclosed group: not applied",
    ] {
        assert!(notes.contains(expected), "{expected}\n{notes}");
    }
}

#[test]
fn patch_paths_never_leave_the_directory() {
    let outside = tree(&[(
        "patch.yaml",
        "apiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultStaticSecret\nmetadata: {name: a}\nspec: {path: stolen}\n",
    )]);
    let patch = outside.path().join("patch.yaml");
    let inside = tree(&[
        ("platform.yaml", VSO_AUTH),
        ("k/secret.yaml", &static_secret("a", "a", "")),
        (
            "k/kustomization.yaml",
            &format!(
                "namespace: shop\nresources: [secret.yaml]\npatchesStrategicMerge:\n  - {}\npatches:\n  - path: link.yaml\n  - path: ../../../../../../{}\n  - path: missing.yaml\n",
                patch.display(),
                patch.display()
            ),
        ),
    ]);
    std::os::unix::fs::symlink(&patch, inside.path().join("k/link.yaml")).unwrap();
    let (inv, notes) = discover(&["--kubernetes", inside.path().to_str().unwrap()]);
    assert_eq!(
        needs_of(&inv, "k8s/shop/VaultStaticSecret/a"),
        ["kv/data/a"]
    );
    assert_eq!(notes.matches(" is outside ").count(), 3, "{notes}");
    assert!(
        notes.contains("patch \"missing.yaml\" is not a file here"),
        "{notes}"
    );
}

#[test]
fn malformed_patches_name_file_and_line() {
    let in_file = tree(&[
        ("k/secret.yaml", &static_secret("a", "a", "")),
        (
            "k/kustomization.yaml",
            "resources: [secret.yaml]\npatches:\n  - path: bad.yaml\n",
        ),
        (
            "k/bad.yaml",
            "kind: VaultStaticSecret\n---\nmetadata:\n  name: [a\n",
        ),
    ]);
    let inline = tree(&[
        ("k/secret.yaml", &static_secret("a", "a", "")),
        (
            "k/kustomization.yaml",
            "resources: [secret.yaml]\npatches:\n  - target: {kind: VaultStaticSecret}\n    patch: |\n      - op: add\n        path: [/spec\n",
        ),
    ]);
    for (dir, place) in [
        (&in_file, "bad.yaml:5:"),
        (&inline, "kustomization.yaml:7:"),
    ] {
        let out = run(&["discover", "--kubernetes", dir.path().to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(place), "{place}: {err}");
        assert!(err.contains("malformed YAML"), "{err}");
    }
}

#[test]
fn hostile_patches_do_not_panic() {
    let many: String = (0..1_100)
        .map(|i| format!("  - target: {{name: '.*'}}\n    patch: '[{{\"op\": \"add\", \"path\": \"/metadata/x{i}\", \"value\": {i}}}]'\n"))
        .collect();
    let deep_pointer = format!("/spec{}", "/a".repeat(200));
    let deep_patch = format!(
        "apiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultStaticSecret\nmetadata: {{name: a}}\nspec: {}1{}\n",
        "{a: ".repeat(110),
        "}".repeat(110)
    );
    let objects: String = (0..200)
        .map(|i| static_secret(&format!("s{i}"), "p", ""))
        .collect::<Vec<_>>()
        .join("---\n");
    let dir = tree(&[
        ("k/secrets.yaml", &objects),
        (
            "k/kustomization.yaml",
            &format!(
                "resources: [secrets.yaml]\npatchesStrategicMerge: [deep.yaml, 7, '']\npatchesJson6902:\n  - target: {{name: s1}}\n    patch: |\n      - {{op: add, path: \"{deep_pointer}\", value: 1}}\n      - {{op: remove, path: /spec/99999999999999999999}}\n      - {{op: add, path: /x~2, value: 1}}\n  - target: {{name: 'a{{1000}}{{1000}}{{1000}}'}}\n    patch: '[]'\n  - target: {{labelSelector: 'a in (b'}}\n    patch: '[]'\npatches:\n  - patch: '7'\n  - patch: 'null'\n{many}"
            ),
        ),
        ("k/deep.yaml", &deep_patch),
    ]);
    let out = run(&["discover", "--kubernetes", dir.path().to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(matches!(out.status.code(), Some(0 | 2)), "{err}");
    assert!(err.contains("more than 1000 entries in `patches`"), "{err}");
    assert!(err.contains("patch applications"), "{err}");
}

/// Two overlays set their namespaces on a base that holds a `ClusterSecretStore`: Kustomize
/// writes the namespace on the store too (it does not know the kind), the API server drops it.
/// Both teams' `ExternalSecret`s then read through one store, as in the cluster.
#[test]
fn a_cluster_store_in_namespaced_overlays_is_one_store() {
    let base_store = "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata:\n  name: vault\nspec:\n  provider:\n    vault:\n      server: https://vault.example\n      path: secret\n      version: v2\n      auth:\n        kubernetes:\n          mountPath: kubernetes\n          role: eso\n          serviceAccountRef:\n            name: eso\n            namespace: external-secrets\n";
    let external = "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata:\n  name: db\nspec:\n  secretStoreRef:\n    kind: ClusterSecretStore\n    name: vault\n  data:\n    - secretKey: password\n      remoteRef:\n        key: app/db\n";
    let dir = tree(&[
        (
            "base/kustomization.yaml",
            "resources: [store.yaml, external.yaml]\n",
        ),
        ("base/store.yaml", base_store),
        ("base/external.yaml", external),
        (
            "team-a/kustomization.yaml",
            "namespace: team-a\nresources: [../base]\n",
        ),
        (
            "team-b/kustomization.yaml",
            "namespace: team-b\nresources: [../base]\n",
        ),
    ]);
    let (inv, notes) = discover(&["--kubernetes", dir.path().to_str().unwrap()]);
    let vias: Vec<(Option<String>, Option<String>)> = inv
        .pipelines
        .iter()
        .map(|p| {
            let ci = p.ci.as_ref().unwrap();
            (ci.namespace.clone(), ci.via.clone())
        })
        .collect();
    let store = Some("ClusterSecretStore//vault".to_string());
    assert_eq!(
        vias,
        [
            (Some("team-a".to_string()), store.clone()),
            (Some("team-b".to_string()), store)
        ],
        "{notes}"
    );
}
