//! Unit tests of the snapshot model: loading, errors, round trips, unknown fields, lookups.

use super::*;
use serde_json::json;

const DEMO: &str = include_str!("../../fixtures/demo/snapshot.json");

fn demo() -> Snapshot {
    Snapshot::from_json_str(DEMO, "fixtures/demo/snapshot.json").expect("demo snapshot loads")
}

/// The smallest valid snapshot, as text.
fn minimal() -> serde_json::Value {
    json!({
        "schema_version": 1,
        "blastmap_version": "0.1.0",
        "exported_at": "2026-11-20T09:30:00Z",
        "server": {"flavor": "vault", "version": "1.18.3", "address": "https://vault.example:8200"},
        "namespaces": [{"path": "", "id": "root"}]
    })
}

fn load_value(v: &serde_json::Value) -> Result<Snapshot, SnapshotError> {
    Snapshot::from_json_str(&serde_json::to_string_pretty(v).unwrap(), "test.json")
}

// ---------------------------------------------------------------------------------------------
// The demo estate

#[test]
fn demo_loads_and_validates_clean() {
    let snapshot = demo();
    assert_eq!(snapshot.schema_version, 1);
    assert_eq!(snapshot.server.flavor, Flavor::OpenBao);
    assert_eq!(snapshot.server.version, "2.7.2");
    assert_eq!(snapshot.namespaces.len(), 2);
    let issues = snapshot.validate();
    assert!(issues.is_empty(), "demo snapshot has issues: {issues:#?}");
    let root = snapshot.root().unwrap();
    assert!(root.policy("default").is_some());
    assert!(root.policy("root").is_none());
    let gha = root.auth_mount("gha").unwrap();
    assert_eq!(
        gha.config_str("bound_issuer"),
        Some("https://token.actions.githubusercontent.com")
    );
    assert!(gha.roles.jwt.len() >= 4);
    let glob = gha
        .roles
        .jwt
        .iter()
        .find(|r| r.effective_bound_claims_type() == "glob")
        .unwrap();
    assert!(glob.bound_claims.values().all(|v| v.is_string()));
    assert!(gha
        .roles
        .jwt
        .iter()
        .any(|r| r.bound_claims.values().any(|v| v.is_array())));
    let kv = root.secret_mount("secret").unwrap();
    assert_eq!(kv.kv_version(), Some(2));
    assert!(kv.secrets.keys.len() >= 25 && kv.secrets.is_complete());
    assert!(kv.secrets.keys.contains("payments/db"));
    assert_eq!(root.secret_mount("kv1/").unwrap().kv_version(), Some(1));
    assert!(root
        .audit_devices
        .iter()
        .all(|d| !d.log_raw() && d.hmac_accessor()));
    // every auth mount type of the demo is typed, none falls back to raw roles, except the
    // cloud methods, whose roles are `other` roles of collection `role` read as cloud roles
    for ns in &snapshot.namespaces {
        for m in &ns.auth_mounts {
            match m.mount_type.as_str() {
                "aws" | "gcp" => {
                    assert!(!m.roles.other.is_empty(), "{} has no roles", m.path);
                    for o in &m.roles.other {
                        assert_eq!(o.collection, "role", "{}{}", m.path, o.name);
                        if m.mount_type == "aws" {
                            AwsRole::from_other(o).expect("demo AWS role reads");
                        } else {
                            GcpRole::from_other(o).expect("demo GCP role reads");
                        }
                    }
                }
                _ => assert!(m.roles.other.is_empty(), "{} has raw roles", m.path),
            }
        }
    }
    assert!(snapshot.secret_count() > 30);
}

#[test]
fn demo_secret_paths_and_coverage() {
    let snapshot = demo();
    let root = snapshot.root().unwrap();
    let paths: Vec<String> = root
        .secret_mounts
        .iter()
        .flat_map(|m| m.secret_paths())
        .map(|p| p.api_path)
        .collect();
    assert!(paths.contains(&"secret/data/payments/db".to_owned()));
    assert!(paths.contains(&"kv1/ci/jenkins/token".to_owned()));
    assert!(paths.contains(&"database/creds/readonly".to_owned()));
    assert!(paths.contains(&"database/static-creds/billing-report".to_owned()));
    assert!(paths.contains(&"pki/issue/checkout".to_owned()));

    // The 403 on LIST auth/ldap/groups leaves the ldap roles unknown, nothing else.
    assert_eq!(
        snapshot.gaps("", &Affects::Roles, Some("auth/ldap/")).len(),
        1
    );
    assert!(!snapshot.is_known("", &Affects::Roles, Some("auth/ldap")));
    assert!(snapshot.is_known("", &Affects::Roles, Some("auth/gha/")));
    assert!(snapshot.is_known("", &Affects::Policies, None));
    assert!(snapshot.is_known("data/", &Affects::Roles, None));
    assert_eq!(snapshot.gaps_in_namespace("").len(), 1);
    assert!(snapshot.gaps_in_namespace("data").is_empty());
    let kv = root.secret_mount("secret").unwrap();
    assert!(snapshot.secrets_known("", kv));
    let cubby = root.secret_mount("cubbyhole").unwrap();
    assert!(!snapshot.secrets_known("", cubby));
}

// ---------------------------------------------------------------------------------------------
// Round trips

#[test]
fn round_trip_is_lossless() {
    let snapshot = demo();
    let text = snapshot.to_json_string();
    let back = Snapshot::from_json_str(&text, "again").unwrap();
    assert_eq!(snapshot, back);
    // a second cycle is byte-stable
    assert_eq!(back.to_json_string(), text);
}

#[test]
fn save_is_atomic_with_private_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.json");
    let snapshot = demo();
    snapshot.save(&path).unwrap();
    // overwrite an existing file
    snapshot.save(&path).unwrap();
    let back = Snapshot::load(&path).unwrap();
    assert_eq!(snapshot, back);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "temporary files left behind: {names:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn save_into_missing_directory_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/snap.json");
    let err = demo().save(&path).unwrap_err();
    assert!(matches!(err, SnapshotError::Write { .. }));
    assert!(err.to_string().contains("snap.json"), "{err}");
}

#[test]
fn unknown_fields_are_preserved_everywhere() {
    let mut doc = serde_json::from_str::<serde_json::Value>(DEMO).unwrap();
    doc["future_top"] = json!({"a": 1});
    doc["server"]["license"] = json!("oss");
    doc["scope"]["mounts_filter"] = json!(["secret/"]);
    doc["coverage"][0]["attempts"] = json!(3);
    let ns = &mut doc["namespaces"][0];
    ns["quota"] = json!(5);
    ns["auth_mounts"][1]["plugin_version"] = json!("v0.20.0");
    ns["auth_mounts"][1]["tune"]["listing_visibility"] = json!("unauth");
    ns["auth_mounts"][1]["roles"]["jwt"][0]["oauth2_metadata"] = json!(["id_token"]);
    ns["auth_mounts"][1]["roles"]["future_kind"] = json!([{"name": "x"}]);
    ns["auth_mounts"][0]["roles"]["token"][0]["token_auth_metadata"] = json!({"k": "v"});
    ns["policies"][1]["detailed"] = json!(true);
    ns["entities"][0]["mfa_secrets"] = json!({});
    ns["entities"][0]["aliases"][0]["merged_from_canonical_ids"] = json!(["z"]);
    ns["groups"][2]["alias"]["creation_time"] = json!("2026-01-01T00:00:00Z");
    ns["secret_mounts"][2]["external_entropy_access"] = json!(false);
    ns["secret_mounts"][2]["secrets"]["scan_used"] = json!(true);
    ns["secret_mounts"][2]["secrets"]["listing"]["pages"] = json!(12);
    ns["audit_devices"][0]["sink"] = json!("x");

    let snapshot = load_value(&doc).unwrap();
    assert_eq!(snapshot.extra["future_top"], json!({"a": 1}));
    let root = snapshot.root().unwrap();
    assert_eq!(root.extra["quota"], 5);
    let gha = root.auth_mount("gha").unwrap();
    assert_eq!(gha.extra["plugin_version"], "v0.20.0");
    assert_eq!(
        gha.roles.jwt[0].extra["oauth2_metadata"],
        json!(["id_token"])
    );
    assert!(gha.roles.extra.contains_key("future_kind"));
    // the round trip writes every one of them back
    let back: serde_json::Value = serde_json::from_str(&snapshot.to_json_string()).unwrap();
    let ns = &back["namespaces"][0];
    assert_eq!(back["future_top"], json!({"a": 1}));
    assert_eq!(back["server"]["license"], "oss");
    assert_eq!(back["scope"]["mounts_filter"], json!(["secret/"]));
    assert_eq!(back["coverage"][0]["attempts"], 3);
    assert_eq!(ns["auth_mounts"][1]["tune"]["listing_visibility"], "unauth");
    assert_eq!(
        ns["auth_mounts"][1]["roles"]["future_kind"],
        json!([{"name": "x"}])
    );
    assert_eq!(
        ns["auth_mounts"][0]["roles"]["token"][0]["token_auth_metadata"],
        json!({"k": "v"})
    );
    assert_eq!(ns["policies"][1]["detailed"], true);
    assert_eq!(ns["entities"][0]["mfa_secrets"], json!({}));
    assert_eq!(
        ns["entities"][0]["aliases"][0]["merged_from_canonical_ids"],
        json!(["z"])
    );
    assert_eq!(
        ns["groups"][2]["alias"]["creation_time"],
        "2026-01-01T00:00:00Z"
    );
    assert_eq!(ns["secret_mounts"][2]["external_entropy_access"], false);
    assert_eq!(ns["secret_mounts"][2]["secrets"]["scan_used"], true);
    assert_eq!(ns["secret_mounts"][2]["secrets"]["listing"]["pages"], 12);
    assert_eq!(ns["audit_devices"][0]["sink"], "x");
}

#[test]
fn unknown_mount_types_keep_raw_roles() {
    let mut doc = minimal();
    doc["namespaces"][0]["auth_mounts"] = json!([{
        "path": "github/", "type": "github", "accessor": "auth_github_1",
        "roles": {"other": [
            {"collection": "map/teams", "name": "sre", "value": "sre-policy",
             "token_policies": ["sre"], "nested": {"deep": [1, 2]}}
        ]}
    }]);
    let snapshot = load_value(&doc).unwrap();
    let mount = snapshot.root().unwrap().auth_mount("github").unwrap();
    let role = mount.role("sre").unwrap();
    assert_eq!(role.kind(), RoleKind::Other);
    assert_eq!(role.collection(), "map/teams");
    assert_eq!(role.api_path(mount), "auth/github/map/teams/sre");
    assert_eq!(role.token().unwrap().login_policies(), ["sre", "default"]);
    assert_eq!(role.extra()["nested"], json!({"deep": [1, 2]}));
    let back: serde_json::Value = serde_json::from_str(&snapshot.to_json_string()).unwrap();
    assert_eq!(
        back["namespaces"][0]["auth_mounts"][0]["roles"]["other"][0],
        doc["namespaces"][0]["auth_mounts"][0]["roles"]["other"][0]
    );
}

// ---------------------------------------------------------------------------------------------
// Lenient shapes of real API data

#[test]
fn api_shapes_load() {
    let mut doc = minimal();
    doc["namespaces"][0]["auth_mounts"] = json!([{
        "path": "jwt/", "type": "jwt", "accessor": "auth_jwt_1", "options": null,
        "tune": {"default_lease_ttl": "1h", "max_lease_ttl": 0},
        "roles": {"jwt": [{
            "name": "r", "role_type": "jwt", "bound_audiences": null, "bound_claims": null,
            "claim_mappings": null, "bound_subject": "", "user_claim": "sub",
            "token_policies": "a, b", "token_ttl": "30m", "token_max_ttl": 3600.0,
            "token_no_default_policy": "true", "expiration_leeway": -1,
            "token_bound_cidrs": null
        }]}
    }]);
    doc["namespaces"][0]["groups"] = json!([
        {"id": "g1", "name": "g", "type": "internal", "alias": {}, "metadata": null,
         "member_entity_ids": null, "policies": null}
    ]);
    let snapshot = load_value(&doc).unwrap();
    let root = snapshot.root().unwrap();
    let mount = root.auth_mount("auth/jwt/").unwrap();
    assert_eq!(mount.tune.default_lease_ttl, Some(3600));
    assert_eq!(mount.tuned_max_ttl(), None);
    let role = &mount.roles.jwt[0];
    assert_eq!(role.token.token_policies, ["a", "b"]);
    assert_eq!(role.token.token_ttl, Some(1800));
    assert_eq!(role.token.token_max_ttl, Some(3600));
    assert_eq!(role.token.token_no_default_policy, Some(true));
    assert_eq!(role.token.login_policies(), ["a", "b"]);
    assert_eq!(role.expiration_leeway, Some(-1));
    assert!(role.bound_claims.is_empty() && role.bound_audiences.is_empty());
    assert!(!role.is_unconstrained() || role.token.token_bound_cidrs.is_empty());
    let group = root.group("g1").unwrap();
    assert!(group.alias.is_none() && group.metadata.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Errors

#[test]
fn error_names_file_json_path_and_line() {
    let mut doc = serde_json::from_str::<serde_json::Value>(DEMO).unwrap();
    doc["namespaces"][0]["auth_mounts"][1]["roles"]["jwt"][0]["bound_audiences"] = json!({"x": 1});
    let text = serde_json::to_string_pretty(&doc).unwrap();
    let err = Snapshot::from_json_str(&text, "fixtures/broken.json").unwrap_err();
    let SnapshotError::Malformed {
        file,
        json_path,
        line,
        column,
        message,
    } = &err
    else {
        panic!("unexpected error {err:?}")
    };
    assert_eq!(file, "fixtures/broken.json");
    assert_eq!(
        json_path,
        "namespaces[0].auth_mounts[1].roles.jwt[0].bound_audiences"
    );
    let expected_line = text
        .lines()
        .position(|l| l.contains("\"bound_audiences\": {"))
        .unwrap()
        + 1;
    assert!(
        *line >= expected_line && *line <= expected_line + 2,
        "line {line}, expected about {expected_line}"
    );
    assert!(*column > 0);
    assert!(message.contains("list of strings"), "{message}");
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!("fixtures/broken.json:{line}:{column}: ")),
        "{shown}"
    );
    assert!(shown.contains("namespaces[0].auth_mounts[1].roles.jwt[0].bound_audiences"));
}

#[test]
fn error_on_wrong_type_deep_in_secrets() {
    let mut doc = minimal();
    doc["namespaces"][0]["secret_mounts"] = json!([
        {"path": "secret/", "type": "kv", "secrets": {"keys": ["a", "b", 7]}}
    ]);
    let err = load_value(&doc).unwrap_err();
    match &err {
        SnapshotError::Malformed { json_path, .. } => {
            assert_eq!(json_path, "namespaces[0].secret_mounts[0].secrets.keys[2]")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn truncated_file_is_an_error() {
    let cut = &DEMO[..DEMO.len() / 2];
    let err = Snapshot::from_json_str(cut, "cut.json").unwrap_err();
    match &err {
        SnapshotError::Malformed { message, line, .. } => {
            assert!(message.contains("ends early"), "{message}");
            assert!(*line > 1);
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().starts_with("cut.json:"));
    for bad in [
        "",
        "   ",
        "{",
        "[]",
        "null",
        "42",
        "{\"schema_version\": 1,}",
    ] {
        assert!(Snapshot::from_json_str(bad, "x").is_err(), "{bad:?} loaded");
    }
}

#[test]
fn trailing_garbage_is_an_error() {
    let text = format!("{}\n{{}}", serde_json::to_string(&minimal()).unwrap());
    let err = Snapshot::from_json_str(&text, "t.json").unwrap_err();
    assert!(matches!(err, SnapshotError::Malformed { .. }), "{err:?}");
}

#[test]
fn unknown_schema_version() {
    let mut doc = minimal();
    doc["schema_version"] = json!(2);
    doc["blastmap_version"] = json!("0.9.0");
    let err = load_value(&doc).unwrap_err();
    match &err {
        SnapshotError::UnsupportedVersion {
            found,
            written_by,
            supported,
            ..
        } => {
            assert_eq!(found, "2");
            assert_eq!(written_by, "0.9.0");
            assert_eq!(*supported, 1);
        }
        other => panic!("{other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("test.json") && msg.contains("schema_version 2"));
    assert!(msg.contains("reads schema_version 1") && msg.contains("Re-export"));

    // also when the rest of the file has another shape and the version comes last
    let text = r#"{"namespaces": {"new": "shape"}, "schema_version": 7}"#;
    let err = Snapshot::from_json_str(text, "v7.json").unwrap_err();
    assert!(
        matches!(&err, SnapshotError::UnsupportedVersion { found, .. } if found == "7"),
        "{err:?}"
    );

    for bad in [json!("1"), json!(1.5), json!(null), json!(-1)] {
        let mut doc = minimal();
        doc["schema_version"] = bad.clone();
        let err = load_value(&doc).unwrap_err();
        assert!(
            matches!(&err, SnapshotError::UnsupportedVersion { found, .. } if found.as_str() == bad.to_string().as_str()),
            "{bad}: {err:?}"
        );
    }
}

#[test]
fn missing_schema_version() {
    let mut doc = minimal();
    doc.as_object_mut().unwrap().remove("schema_version");
    let err = load_value(&doc).unwrap_err();
    assert!(
        matches!(err, SnapshotError::MissingVersion { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("test.json") && msg.contains("schema_version"),
        "{msg}"
    );
    let err = Snapshot::from_json_str(r#"{"policies": []}"#, "p.json").unwrap_err();
    assert!(matches!(err, SnapshotError::MissingVersion { .. }));
}

#[test]
fn other_field_errors() {
    let mut doc = minimal();
    doc["server"]["flavor"] = json!("consul");
    let err = load_value(&doc).unwrap_err();
    assert!(
        matches!(&err, SnapshotError::Malformed { json_path, .. } if json_path == "server.flavor"),
        "{err:?}"
    );
    let mut doc = minimal();
    doc["exported_at"] = json!("yesterday");
    let err = load_value(&doc).unwrap_err();
    assert!(
        matches!(&err, SnapshotError::Malformed { json_path, message, .. }
            if json_path == "exported_at" && message.contains("RFC3339")),
        "{err:?}"
    );
    let mut doc = minimal();
    doc.as_object_mut().unwrap().remove("namespaces");
    let err = load_value(&doc).unwrap_err();
    assert!(err.to_string().contains("namespaces"), "{err}");
}

#[test]
fn file_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.json");
    let err = Snapshot::load(&missing).unwrap_err();
    assert!(matches!(err, SnapshotError::Read { .. }));
    assert!(err.to_string().contains("nope.json"));

    let bin = dir.path().join("bin.json");
    std::fs::write(&bin, b"{\"schema_version\": 1, \xff\xfe}").unwrap();
    let err = Snapshot::load(&bin).unwrap_err();
    assert!(
        matches!(err, SnapshotError::NotUtf8 { offset: 22, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("bin.json"));
    assert_eq!(err.file(), bin.display().to_string());

    let ok = dir.path().join("bom.json");
    let mut text = String::from("\u{feff}");
    text.push_str(&serde_json::to_string(&minimal()).unwrap());
    std::fs::write(&ok, text).unwrap();
    Snapshot::load(&ok).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Lookups

#[test]
fn namespace_lookups() {
    let snapshot = demo();
    assert_eq!(snapshot.namespace("").unwrap().id, "root");
    assert_eq!(snapshot.namespace("root").unwrap().id, "root");
    assert_eq!(snapshot.namespace("/").unwrap().id, "root");
    assert_eq!(snapshot.namespace("data").unwrap().path, "data/");
    assert_eq!(snapshot.namespace("/data/").unwrap().path, "data/");
    assert!(snapshot.namespace("datax").is_none());
    assert_eq!(snapshot.namespace_by_id("Hq2Tz").unwrap().path, "data/");
    assert_eq!(
        snapshot
            .children("")
            .map(|n| n.path.as_str())
            .collect::<Vec<_>>(),
        ["data/"]
    );
    let data = snapshot.namespace("data").unwrap();
    assert_eq!(data.parent_path().as_deref(), Some(""));
    assert_eq!(data.depth(), 1);
    assert!(data.is_within("") && data.is_within("data") && !data.is_within("dat/"));
    assert_eq!(parent_namespace_path("a/b/c/").as_deref(), Some("a/b/"));
    assert_eq!(parent_namespace_path("a").as_deref(), Some(""));
    assert_eq!(parent_namespace_path(""), None);
    assert_eq!(namespace_path("a/b"), "a/b/");
    assert_eq!(namespace_path(" a/b// "), "a/b/");
    assert_eq!(namespace_path("/a/"), "a/");
    assert_eq!(namespace_path(" /root/ "), "");

    let index = snapshot.index();
    assert_eq!(index.namespace("data/").unwrap().id, "Hq2Tz");
    assert_eq!(index.namespace("root").unwrap().path, "");
    assert_eq!(index.namespace_by_id("root").unwrap().path, "");
}

#[test]
fn policy_lookup_is_case_insensitive() {
    let snapshot = demo();
    let index = snapshot.index();
    assert_eq!(
        index.policy("", "Payments-Read ").unwrap().name,
        "payments-read"
    );
    assert_eq!(index.policy("root", "DEFAULT").unwrap().name, "default");
    assert!(
        index.policy("data", "payments-read").is_none(),
        "policies are per namespace"
    );
    assert_eq!(index.policy("data", "data-etl").unwrap().name, "data-etl");
    assert!(index.policy("", "root").is_none());
    assert!(snapshot.root().unwrap().policy("CI-SHARED").is_some());
    assert!(index.policy("", "team-kv").unwrap().is_templated());
}

#[test]
fn mount_lookups() {
    let snapshot = demo();
    let index = snapshot.index();
    let (ns, m) = index.auth_mount_by_accessor("auth_jwt_61c0a9d2").unwrap();
    assert_eq!((ns.path.as_str(), m.path.as_str()), ("data/", "gha/"));
    assert!(index.auth_mount_by_accessor("auth_nope").is_none());
    for p in ["gha", "gha/", "auth/gha", "auth/gha/", "/auth/gha/"] {
        assert_eq!(
            index.auth_mount("", p).unwrap().accessor,
            "auth_jwt_5d2e8b41",
            "{p}"
        );
    }
    assert_eq!(
        index.auth_mount("data", "gha").unwrap().accessor,
        "auth_jwt_61c0a9d2"
    );
    assert_eq!(
        index.secret_mount("", "secret").unwrap().accessor,
        "kv_8c1f5e27"
    );
    assert_eq!(
        index.secret_mount("data/", "secret/").unwrap().accessor,
        "kv_3f7b1d90"
    );
    let root = snapshot.root().unwrap();
    assert_eq!(
        root.secret_mount_for_path("secret/data/payments/db")
            .unwrap()
            .path,
        "secret/"
    );
    assert!(root.secret_mount_for_path("secretx/data").is_none());
    assert_eq!(root.auth_mount_by_accessor("auth_k8s_nope"), None);

    let gha = root.auth_mount("gha").unwrap();
    let role = gha.role("payments-deploy").unwrap();
    assert_eq!(role.kind(), RoleKind::Jwt);
    assert_eq!(role.api_path(gha), "auth/gha/role/payments-deploy");
    assert_eq!(
        role.token().unwrap().login_policies(),
        ["payments-deploy", "default"]
    );
    let token = root.auth_mount("token").unwrap();
    let token_role = token.role("ci-orphan").unwrap();
    assert_eq!(token_role.api_path(token), "auth/token/roles/ci-orphan");
    assert_eq!(gha.api_prefix(), "auth/gha/");
    let approle = root.auth_mount("approle").unwrap();
    assert!(approle.roles.approle.iter().any(|r| !r.binds_secret_id()));
}

#[test]
fn identity_lookups() {
    let snapshot = demo();
    let index = snapshot.index();
    let (ns, e) = index
        .entity_by_alias("auth_jwt_5d2e8b41", "acme/payments")
        .unwrap();
    assert_eq!((ns.path.as_str(), e.name.as_str()), ("", "acme-payments"));
    assert_eq!(index.entity(&e.id).unwrap().1.name, "acme-payments");
    assert_eq!(
        index.entity_by_name("", "acme-checkout").unwrap().id,
        "0b6f3c1e-6a53-4e0a-9d55-3f7f0f3a1c02"
    );
    assert!(index
        .entity_by_alias("auth_jwt_61c0a9d2", "acme/payments")
        .is_none());
    let (_, j) = index
        .entity_by_alias_metadata("auth_approle_0f6b2d77", "role_name", "jenkins-payments")
        .unwrap();
    assert_eq!(j.name, "jenkins-payments");
    assert!(j.aliases[0].is_redacted());

    let (_, g) = index.group("3a9f1d7e-0c4b-4e6a-9b2d-5f8e1c3a7d01").unwrap();
    assert_eq!(g.name, "engineering");
    assert_eq!(
        index.group_by_name("", "CI-Pipelines").unwrap().name,
        "ci-pipelines"
    );
    let (_, sre) = index.group_by_alias("auth_ldap_2b8f7c55", "sre").unwrap();
    assert!(sre.is_external());

    let groups = index.groups_of_entity(&e.id);
    let direct: Vec<_> = groups.direct.iter().map(|(_, g)| g.name.as_str()).collect();
    let inherited: Vec<_> = groups
        .inherited
        .iter()
        .map(|(_, g)| g.name.as_str())
        .collect();
    assert_eq!(direct, ["ci-pipelines"]);
    assert_eq!(inherited, ["engineering"]);
    assert_eq!(groups.all().count(), 2);
    let ci = index.group_by_name("", "ci-pipelines").unwrap();
    assert_eq!(
        index
            .group_ancestors(&ci.id)
            .iter()
            .map(|(_, g)| g.name.as_str())
            .collect::<Vec<_>>(),
        ["engineering"]
    );
    assert!(index.groups_of_entity("no-such-entity").is_empty());
}

#[test]
fn group_ancestry_is_cycle_safe_and_uses_both_directions() {
    let mut doc = minimal();
    // a → b → c → a (cycle through parent ids), d lists a as a member group only.
    doc["namespaces"][0]["entities"] = json!([{"id": "e1", "name": "e1"}]);
    doc["namespaces"][0]["groups"] = json!([
        {"id": "a", "name": "A", "member_entity_ids": ["e1"], "parent_group_ids": ["b"]},
        {"id": "b", "name": "B", "parent_group_ids": ["c"]},
        {"id": "c", "name": "C", "parent_group_ids": ["a"]},
        {"id": "d", "name": "D", "member_group_ids": ["a"]},
        {"id": "x", "name": "X", "member_entity_ids": ["e1", "e1"], "parent_group_ids": ["x", "missing"]}
    ]);
    let snapshot = load_value(&doc).unwrap();
    let index = snapshot.index();
    let groups = index.groups_of_entity("e1");
    let direct: Vec<_> = groups.direct.iter().map(|(_, g)| g.id.as_str()).collect();
    let mut inherited: Vec<_> = groups
        .inherited
        .iter()
        .map(|(_, g)| g.id.as_str())
        .collect();
    inherited.sort();
    assert_eq!(direct, ["a", "x"]);
    assert_eq!(inherited, ["b", "c", "d"]);
    let mut anc: Vec<_> = index
        .group_ancestors("b")
        .iter()
        .map(|(_, g)| g.id.clone())
        .collect();
    anc.sort();
    assert_eq!(anc, ["a", "c", "d"]);
    assert!(index.group_ancestors("nope").is_empty());
    assert_eq!(index.parent_groups("a").len(), 2);
    // validate reports the self-membership and the dangling id
    let issues = snapshot.validate();
    assert!(issues
        .iter()
        .any(|i| i.message.contains("cannot contain itself")));
    assert!(issues.iter().any(|i| i.message.contains("\"missing\"")));
}

#[test]
fn validate_finds_problems() {
    let mut doc = minimal();
    doc["server"]["address"] = json!("https://user:pw@vault.example:8200");
    doc["namespaces"] = json!([
        {"path": "", "id": "root",
         "auth_mounts": [
            {"path": "auth/jwt", "type": "jwt", "accessor": "a1",
             "config": {"oidc_client_secret": "hunter2"}},
            {"path": "k8s/", "type": "kubernetes", "accessor": "a1"}
         ],
         "policies": [{"name": "Ops", "policy": ""}, {"name": "ops", "policy": ""},
                      {"name": "root", "policy": ""}],
         "entities": [{"id": "e", "name": "e", "aliases": [
            {"id": "al", "name": "n", "mount_accessor": "nope"}]}],
         "secret_mounts": [{"path": "secret/", "type": "kv", "secrets": {"keys": ["/abs", "ok"]}}]
        },
        {"path": "team/sub/", "id": "x"},
        {"path": "team/sub/", "id": "x"}
    ]);
    let snapshot = load_value(&doc).unwrap();
    let issues = snapshot.validate();
    let text: Vec<String> = issues.iter().map(ToString::to_string).collect();
    let has = |frag: &str| text.iter().any(|t| t.contains(frag));
    assert!(has("server.address"), "{text:#?}");
    assert!(has("auth_mounts[0].path"));
    assert!(has("is also used by"));
    assert!(has("config.oidc_client_secret"));
    assert!(has("duplicate policy"));
    assert!(has("root policy is virtual"));
    assert!(has("no auth mount has accessor \"nope\""));
    assert!(has("secrets.keys[0]"));
    assert!(has("parent namespace \"team/\""));
    assert!(has("duplicate namespace path"));
    assert!(has("duplicate namespace id"));
}

// ---------------------------------------------------------------------------------------------
// Helpers

#[test]
fn address_redaction_and_sensitive_config() {
    assert_eq!(
        redact_address("https://user:pw@vault.example:8200/v1?token=x#f"),
        "https://vault.example:8200/v1"
    );
    assert_eq!(
        redact_address("http://127.0.0.1:8200"),
        "http://127.0.0.1:8200"
    );
    assert_eq!(redact_address("vault:8200"), "vault:8200");
    let mut cfg = serde_json::Map::new();
    cfg.insert("bound_issuer".into(), json!("x"));
    cfg.insert("oidc_client_secret".into(), json!("s"));
    cfg.insert("token_reviewer_jwt".into(), json!("t"));
    let removed = strip_sensitive_config(&mut cfg);
    assert_eq!(removed, ["oidc_client_secret", "token_reviewer_jwt"]);
    assert_eq!(cfg.len(), 1);
}

#[test]
fn snapshot_new_is_valid_and_saves() {
    let snapshot = Snapshot::new(ServerInfo {
        flavor: Flavor::Vault,
        version: "1.18.0".into(),
        address: "https://v:8200".into(),
        ..ServerInfo::default()
    });
    assert!(snapshot.validate().is_empty());
    let back = Snapshot::from_json_str(&snapshot.to_json_string(), "new").unwrap();
    assert_eq!(back, snapshot);
    assert_eq!(back.server.system_default_ttl(), SYSTEM_DEFAULT_TTL);
    let text = snapshot.to_json_string();
    assert!(text.trim_start().starts_with("{\n  \"schema_version\": 1,"));
}

#[test]
fn ttl_helpers() {
    let snapshot = demo();
    let gha = snapshot.root().unwrap().auth_mount("gha").unwrap();
    assert_eq!(gha.tuned_default_ttl(), Some(3600));
    let lint = gha.roles.jwt.iter().find(|r| r.name == "lint").unwrap();
    assert_eq!(lint.token.ttl(), None);
    assert_eq!(lint.token.max_ttl(), None);
    let bootstrap = &snapshot
        .root()
        .unwrap()
        .auth_mount("approle")
        .unwrap()
        .roles
        .approle[2];
    assert_eq!(bootstrap.token.period(), Some(86400));
}

#[test]
fn timestamps_round_trip_at_the_edges() {
    for t in [
        "2026-11-20T09:30:00Z",
        "2026-11-20T10:30:00.123456789+01:00",
        "0000-01-01T00:30:00+01:00",
        "9999-12-31T23:30:00-01:00",
    ] {
        let mut doc = minimal();
        doc["exported_at"] = json!(t);
        let snapshot = load_value(&doc).unwrap();
        let back = Snapshot::from_json_str(&snapshot.to_json_string(), "again").unwrap();
        assert_eq!(snapshot.exported_at, back.exported_at, "{t}");
    }
    let snapshot = load_value(&minimal()).unwrap();
    assert_eq!(snapshot.exported_at.to_string(), "2026-11-20T09:30:00Z");
}

#[test]
fn the_documented_example_loads() {
    let doc = include_str!("../../docs/snapshot.md");
    let start = doc
        .find("```json\n")
        .expect("docs/snapshot.md has a JSON example")
        + 8;
    let len = doc[start..].find("```").unwrap();
    let snapshot = Snapshot::from_json_str(&doc[start..start + len], "docs/snapshot.md").unwrap();
    assert_eq!(snapshot.namespaces.len(), 2);
    let index = snapshot.index();
    assert!(index
        .entity_by_alias("auth_jwt_5d2e8b41", "acme/payments")
        .is_some());
    assert_eq!(
        snapshot.root().unwrap().secret_mounts[1].secret_paths()[0].api_path,
        "database/creds/payments-rw"
    );
}

#[test]
fn documented_error_message_shape() {
    let mut doc = serde_json::from_str::<serde_json::Value>(DEMO).unwrap();
    doc["namespaces"][0]["auth_mounts"][1]["roles"]["jwt"][0]["bound_audiences"] = json!({"x": 1});
    let err = load_value(&doc).unwrap_err().to_string();
    assert!(
        err.contains(": malformed snapshot at JSON path `namespaces[0].auth_mounts[1].roles.jwt[0].bound_audiences`: invalid type: map, expected a list of strings, a comma-separated string, or null"),
        "{err}"
    );
}

#[test]
fn errors_in_flattened_token_fields_name_the_role() {
    let mut doc = serde_json::from_str::<serde_json::Value>(DEMO).unwrap();
    doc["namespaces"][0]["auth_mounts"][1]["roles"]["jwt"][2]["token_ttl"] = json!("soon");
    let err = load_value(&doc).unwrap_err();
    let SnapshotError::Malformed {
        json_path, message, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert!(
        json_path.starts_with("namespaces[0].auth_mounts[1].roles.jwt[2]"),
        "{json_path}"
    );
    assert!(
        message.contains("field `token_ttl`: invalid duration \"soon\""),
        "{message}"
    );
}
