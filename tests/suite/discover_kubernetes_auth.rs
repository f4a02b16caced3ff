//! `blastmap discover --kubernetes`: the logins consumers make with other methods than
//! Kubernetes auth, and the Vault Secrets Operator's `VaultAuthGlobal` inheritance. The
//! manifests of `fixtures/discover/kubernetes/platform-auth/` become exactly the expected
//! inventory; cloud identities come from the service accounts' IRSA and Workload Identity
//! annotations; what only the cluster knows is dynamic, never guessed.

use crate::common;

use common::discovered::{assert_same, claim, discover, dynamic, expected, pipeline, tree};

const PLATFORM: &[&str] = &["--kubernetes", "fixtures/discover/kubernetes/platform-auth"];

#[test]
fn platform_auth_is_the_expected_inventory() {
    let (inv, notes) = discover(PLATFORM);
    assert_same(&inv, &expected("kubernetes-platform-auth.yaml"));
    assert!(
        notes.contains("VaultAuth/audit/audit-auth uses VaultAuthGlobal/vso-system/platform, whose allowedNamespaces does not list \"audit\""),
        "{notes}"
    );
    assert!(
        notes.contains("assumes the operator runs with allow-default-globals"),
        "{notes}"
    );
    assert!(inv.pipelines.iter().all(|p| !p.name.contains("audit")));
}

#[test]
fn a_vault_auth_inherits_what_it_leaves_empty_from_its_global() {
    let (inv, _) = discover(PLATFORM);
    // Its own role wins; mount, service account and audiences are the global's.
    let payments = pipeline(&inv, "k8s/payments/VaultStaticSecret/stripe");
    assert_eq!(payments.auth.mount, "k8s-apps");
    assert_eq!(payments.auth.role.as_deref(), Some("payments"));
    assert_eq!(
        payments.auth.service_account.as_deref(),
        Some("vault-reader")
    );
    assert_eq!(
        payments.auth.service_account_namespace.as_deref(),
        Some("payments")
    );
    assert_eq!(claim(payments, "aud"), Some(&serde_json::json!(["vault"])));
    // A VaultAuth with no method block takes the global's whole block.
    let ledger = pipeline(&inv, "k8s/ledger/VaultStaticSecret/ledger-db");
    assert_eq!(ledger.auth.role.as_deref(), Some("apps-reader"));
}

#[test]
fn cloud_logins_present_the_service_accounts_cloud_identity() {
    let (inv, _) = discover(PLATFORM);
    let arn = |name: &str| {
        let aws = pipeline(&inv, name).auth.aws.as_ref();
        aws.and_then(|a| a.iam_principal_arn.clone())
    };
    let irsa = Some("arn:aws:iam::123456789012:role/eks/reports-vault".to_string());
    assert_eq!(arn("k8s/reports/VaultDynamicSecret/report-bucket"), irsa);
    assert_eq!(arn("k8s/reports/Deployment/exporter"), irsa);
    assert_eq!(
        arn("k8s/billing/ExternalSecret/billing-keys").as_deref(),
        Some("arn:aws:iam::123456789012:role/external-secrets")
    );
    // An assumed role is the principal Vault sees.
    assert_eq!(
        arn("k8s/billing/ExternalSecret/ledger-export").as_deref(),
        Some("arn:aws:iam::123456789012:role/billing-vault")
    );
    let email = |name: &str| {
        let gcp = pipeline(&inv, name).auth.gcp.as_ref();
        gcp.and_then(|g| g.service_account_email.clone())
    };
    let analytics = Some("analytics@acme-data.iam.gserviceaccount.com".to_string());
    assert_eq!(
        email("k8s/analytics/VaultStaticSecret/warehouse"),
        analytics
    );
    assert_eq!(email("k8s/analytics/ExternalSecret/bigquery"), analytics);
    assert_eq!(
        email("k8s/analytics/Deployment/loader").as_deref(),
        Some("loader@acme-data.iam.gserviceaccount.com")
    );
}

#[test]
fn what_only_the_cluster_knows_is_dynamic() {
    let (inv, _) = discover(PLATFORM);
    let ldap = pipeline(&inv, "k8s/billing/ExternalSecret/invoices");
    assert_eq!(ldap.auth.method.as_str(), "ldap");
    assert_eq!(ldap.auth.user.as_deref(), Some("svc-billing"));
    assert!(dynamic(ldap, "auth.groups").is_some());
    let cert = pipeline(&inv, "k8s/billing/ExternalSecret/partner-api");
    assert_eq!(
        (cert.auth.method.as_str(), cert.auth.mount.as_str()),
        ("cert", "cert")
    );
    assert!(dynamic(cert, "auth.common_name")
        .unwrap()
        .contains("billing-client-tls"));
    // The injector's default auth path is its own setting, not the method's.
    let rotate = pipeline(&inv, "k8s/ops/CronJob/rotate");
    assert_eq!(rotate.auth.role.as_deref(), Some("ops-rotate"));
    assert!(dynamic(rotate, "auth.mount").is_some());
    // An auth-type blastmap does not model is still a consumer, with its method unknown.
    let kerberos = pipeline(&inv, "k8s/ops/Pod/kerberos-probe");
    assert_eq!(kerberos.auth.method.as_str(), "dynamic");
    assert!(dynamic(kerberos, "auth.method")
        .unwrap()
        .contains("kerberos"));
    assert_eq!(kerberos.needs, ["kv/data/ops/probe"]);
    let approle = pipeline(&inv, "k8s/billing/Deployment/legacy-billing");
    assert!(dynamic(approle, "auth.role")
        .unwrap()
        .contains("/etc/vault/role-id"));
    // A pod-token JWT names its subject; issuer and audience are the cluster's.
    let jwt = pipeline(&inv, "k8s/billing/Deployment/statements");
    assert_eq!(
        claim(jwt, "sub"),
        Some(&serde_json::json!(
            "system:serviceaccount:billing:statements"
        ))
    );
    assert!(dynamic(jwt, "auth.claims.iss").is_some());
    assert!(dynamic(jwt, "auth.claims.aud").is_some());
}

const SECRET: &str = "apiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultStaticSecret\nmetadata:\n  name: s\n  namespace: team\nspec:\n  vaultAuthRef: team-auth\n  mount: kv\n  type: kv-v2\n  path: team/app\n";

/// `VaultAuth` `team/team-auth` with `spec` (indented), and a global.
fn vault_auth(spec: &str, global: &str) -> String {
    format!(
        "{SECRET}---\napiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultAuth\nmetadata:\n  name: team-auth\n  namespace: team\nspec:\n{spec}---\napiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultAuthGlobal\nmetadata:\n{global}"
    )
}

#[test]
fn a_merge_the_operator_refuses_leaves_the_consumer_out_with_a_note() {
    let cases = [
        (
            "  vaultAuthGlobalRef:\n    name: missing\n",
            "  name: g\n  namespace: team\nspec:\n  defaultAuthMethod: kubernetes\n",
            "VaultAuthGlobal team/missing, which is not in the manifests",
        ),
        (
            "  vaultAuthGlobalRef:\n    namespace: team\n",
            "  name: default\n  namespace: team\nspec:\n  defaultAuthMethod: kubernetes\n",
            "no name and no allowDefault",
        ),
        (
            "  vaultAuthGlobalRef:\n    name: g\n",
            "  name: g\n  namespace: team\nspec:\n  defaultMount: k8s\n",
            "no method in the VaultAuth and no defaultAuthMethod",
        ),
        (
            "  vaultAuthGlobalRef:\n    name: g\n  method: jwt\n",
            "  name: g\n  namespace: team\nspec:\n  kubernetes:\n    role: r\n",
            "method \"jwt\" is configured in neither",
        ),
        (
            "  vaultAuthGlobalRef:\n    name: g\n",
            "  name: g\n  namespace: team\nspec:\n  defaultAuthMethod: kubernetes\n  kubernetes:\n    role: r\n",
            "no mount after the merge",
        ),
        (
            // `["*", "x"]` is not the wildcard: only a list of exactly `*` is.
            "  vaultAuthGlobalRef:\n    name: g\n    namespace: platform\n",
            "  name: g\n  namespace: platform\nspec:\n  allowedNamespaces: [\"*\", other]\n  defaultAuthMethod: kubernetes\n  defaultMount: k8s\n",
            "whose allowedNamespaces does not list \"team\"",
        ),
    ];
    for (spec, global, note) in cases {
        let dir = tree(&[("m.yaml", &vault_auth(spec, global))]);
        let (inv, notes) = discover(&["--kubernetes", dir.path().to_str().unwrap()]);
        assert!(inv.pipelines.is_empty(), "{spec}{global}");
        assert!(notes.contains(note), "{note}: {notes}");
    }
}

#[test]
fn mount_and_vault_namespace_fall_back_to_the_globals_defaults() {
    let global = "  name: g\n  namespace: team\nspec:\n  defaultAuthMethod: kubernetes\n  defaultMount: k8s-default\n  defaultVaultNamespace: apps\n  kubernetes:\n    role: team\n    serviceAccount: reader\n";
    let dir = tree(&[(
        "m.yaml",
        &vault_auth("  vaultAuthGlobalRef:\n    name: g\n", global),
    )]);
    let (inv, _) = discover(&["--kubernetes", dir.path().to_str().unwrap()]);
    let p = pipeline(&inv, "k8s/team/VaultStaticSecret/s");
    assert_eq!(p.auth.mount, "k8s-default");
    assert_eq!(p.auth.namespace, "apps");
    assert_eq!(p.auth.role.as_deref(), Some("team"));
    assert_eq!(p.needs, ["kv/data/team/app"]);
}

#[test]
fn cloud_identities_without_annotations_are_dynamic() {
    let store = "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata:\n  name: s\n  namespace: team\nspec:\n  provider:\n    vault:\n      path: kv\n      auth:\n        iam:\n          vaultRole: team\n          jwt:\n            serviceAccountRef:\n              name: plain\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: plain\n  namespace: team\n---\napiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata:\n  name: e\n  namespace: team\nspec:\n  secretStoreRef:\n    name: s\n  data:\n    - secretKey: k\n      remoteRef:\n        key: team/app\n";
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: team\n  annotations:\n    vault.hashicorp.com/agent-inject: \"true\"\n    vault.hashicorp.com/auth-type: gcp\n    vault.hashicorp.com/auth-path: gcp\n    vault.hashicorp.com/role: team\n    vault.hashicorp.com/auth-config-type: gce\nspec:\n  containers: []\n";
    let dir = tree(&[("store.yaml", store), ("pod.yaml", pod)]);
    let (inv, _) = discover(&["--kubernetes", dir.path().to_str().unwrap()]);
    let eso = pipeline(&inv, "k8s/team/ExternalSecret/e");
    assert!(eso.auth.aws.is_none());
    assert!(dynamic(eso, "auth.aws.iam_principal_arn")
        .unwrap()
        .contains("no eks.amazonaws.com/role-arn annotation"));
    let gce = pipeline(&inv, "k8s/team/Pod/p");
    assert_eq!(
        gce.auth.gcp.as_ref().and_then(|g| g.login_type),
        Some(blastmap::login::GcpLoginType::Gce)
    );
    assert!(dynamic(gce, "auth.gcp.instance_id").is_some());
}
