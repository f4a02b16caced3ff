use super::*;

#[test]
fn kv_paths() {
    assert_eq!(kv_path("secret", "app/db", true), "secret/data/app/db");
    assert_eq!(kv_path("secret/", "/app/db", false), "secret/app/db");
    // Without a mount the key's first segment is the mount.
    assert_eq!(kv_path("", "secret/app/db", true), "secret/data/app/db");
}

#[test]
fn helm_values_are_dynamic() {
    assert_eq!(
        val("{{ .Values.role }}"),
        Val::Dynamic("{{ .Values.role }}".into())
    );
    assert_eq!(val("payments"), Val::Known("payments".into()));
}

#[test]
fn template_secrets() {
    let ci = CiEvidence::default();
    let mut draft = Draft::new("x".into(), AuthMethod::Kubernetes, "kubernetes", ci);
    injector::template_needs(
        &mut draft,
        "{{- with secret \"secret/data/a\" -}}{{ end }}{{ with secret (printf \"s/%s\" .x) }}{{ end }}\
         mysecret \"no\" {{ pkiCert \"pki/issue/web\" }} secret",
    );
    assert_eq!(
        draft.needs.iter().map(String::as_str).collect::<Vec<_>>(),
        ["pki/issue/web", "secret/data/a"]
    );
    assert_eq!(draft.dynamic.len(), 1);
    assert!(draft.dynamic[0].expression.starts_with("secret (printf"));
}

#[test]
fn needs_are_relative_to_the_login_namespace() {
    use vso::relative_namespace as rel;
    assert_eq!(rel(None, None).as_deref(), Some(""));
    assert_eq!(rel(Some("team-a"), Some("team-a/")).as_deref(), Some(""));
    assert_eq!(
        rel(Some("team-a"), Some("team-a/apps")).as_deref(),
        Some("apps/")
    );
    assert_eq!(rel(None, Some("team-b")).as_deref(), Some("team-b/"));
    assert_eq!(rel(Some("team-a"), Some("team-ab")), None);
    assert_eq!(rel(Some("team-a"), Some("team-b")), None);
}
