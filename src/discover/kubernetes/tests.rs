use super::*;

#[test]
fn kv_paths() {
    assert_eq!(kv_path("secret", "app/db", true), "secret/data/app/db");
    assert_eq!(kv_path("secret/", "/app/db", false), "secret/app/db");
    // Without a mount the key's first segment is the mount.
    assert_eq!(kv_path("", "secret/app/db", true), "secret/data/app/db");
    assert_eq!(in_namespace(Some("team-a/"), "kv/x".into()), "team-a/kv/x");
    assert_eq!(in_namespace(Some(""), "kv/x".into()), "kv/x");
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
    let mut d = Draft::new("x".into(), AuthMethod::Kubernetes, "kubernetes", ci);
    injector::template_needs(
        &mut d,
        "{{- with secret \"secret/data/a\" -}}{{ end }}{{ with secret (printf \"s/%s\" .x) }}{{ end }}\
         mysecret \"no\" {{ pkiCert \"pki/issue/web\" }} secret",
    );
    assert_eq!(
        d.needs.iter().map(String::as_str).collect::<Vec<_>>(),
        ["pki/issue/web", "secret/data/a"]
    );
    assert_eq!(d.dynamic.len(), 1);
    assert!(d.dynamic[0].expression.starts_with("secret (printf"));
}
