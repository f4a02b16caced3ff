use super::*;

const GOOD: &str = r#"
teams:
  - name: payments
    owns: ["secret/data/payments/*", "ns-payments/"]
pipelines:
  - name: payments-deploy
    team: payments
    auth:
      method: jwt
      mount: gha
      namespace: ""
      role: deploy
      claims:
        sub: "repo:acme/payments:ref:refs/heads/main"
        aud: "https://vault.acme.example"
        repository: acme/payments
        run_number: 12
    needs: ["secret/data/payments/deploy"]
    max_job_duration: 20m
  - name: runner
    auth:
      method: kubernetes
      mount: auth/k8s/
      service_account: runner
      service_account_namespace: ci
"#;

#[test]
fn reads_the_contract_shape() {
    let inv = Inventory::from_yaml_str(GOOD, "p.yaml").unwrap();
    assert_eq!(inv.teams[0].owns.len(), 2);
    let p = &inv.pipelines[0];
    assert_eq!(p.auth.method, AuthMethod::Jwt);
    assert_eq!(p.auth.configured_role(), Some("deploy"));
    assert_eq!(p.max_job_duration, Some(1200));
    assert_eq!(p.auth.claims.as_ref().unwrap()["run_number"], 12);
    assert_eq!(inv.pipelines[1].auth.mount_path(), "k8s/");
    assert_eq!(inv.pipelines[1].auth.namespace_path(), "");
}

#[test]
fn json_and_yaml_agree() {
    let inv = Inventory::from_yaml_str(GOOD, "p.yaml").unwrap();
    let json = serde_json::to_string(&inv).unwrap();
    let back = Inventory::from_json_str(&json, "p.json").unwrap();
    assert_eq!(inv, back);
}

#[test]
fn unknown_key_names_file_line_and_path() {
    let bad = GOOD.replace("role: deploy", "role: deploy\n      rol: x");
    let e = Inventory::from_yaml_str(&bad, "p.yaml").unwrap_err();
    let s = e.to_string();
    assert!(s.starts_with("p.yaml:"), "{s}");
    assert_eq!(e.line, Some(13), "{s}");
    assert!(s.contains("pipelines[0].auth"), "{s}");
    assert!(s.contains("unknown field `rol`"), "{s}");
}

#[test]
fn bad_values_are_errors() {
    let bad = GOOD.replace("method: jwt", "method: github");
    let s = Inventory::from_yaml_str(&bad, "p.yaml")
        .unwrap_err()
        .to_string();
    assert!(s.contains("pipelines[0].auth.method"), "{s}");
    let bad = GOOD.replace("20m", "twenty minutes");
    let s = Inventory::from_yaml_str(&bad, "p.yaml")
        .unwrap_err()
        .to_string();
    assert!(s.contains("max_job_duration"), "{s}");
    let bad = GOOD.replace("team: payments", "team: payment");
    let s = Inventory::from_yaml_str(&bad, "p.yaml")
        .unwrap_err()
        .to_string();
    assert!(s.contains("team \"payment\" is not defined"), "{s}");
    let s = Inventory::from_json_str("{\"pipelines\": [", "p.json")
        .unwrap_err()
        .to_string();
    assert!(s.starts_with("p.json:1:"), "{s}");
}

#[test]
fn durations() {
    assert_eq!(parse_duration_seconds("90").unwrap(), 90);
    assert_eq!(parse_duration_seconds("1h30m").unwrap(), 5400);
    assert_eq!(parse_duration_seconds("2d").unwrap(), 172_800);
    assert_eq!(parse_duration_seconds(" 20m ").unwrap(), 1200);
    assert_eq!(parse_duration_seconds("1.5s").unwrap(), 1);
    assert_eq!(parse_duration_seconds("-0").unwrap(), 0);
    assert_eq!(
        parse_duration_seconds("-5").unwrap_err().to_string(),
        "invalid duration \"-5\": negative"
    );
    let invalid = |text: &str| {
        format!(
            "invalid duration \"{text}\": use a number of seconds or a value such as \"20m\" or \"1h30m\""
        )
    };
    for bad in [
        "-5m",
        "-2d",
        "",
        "soon",
        "1d12h",
        "999999999999999999d",
        "10000000000",
    ] {
        assert_eq!(
            parse_duration_seconds(bad).unwrap_err().to_string(),
            invalid(bad)
        );
    }
}

#[test]
fn demo_inventory_loads() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo/pipelines.yaml");
    let inv = Inventory::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(inv.pipelines.len() >= 5);
}
