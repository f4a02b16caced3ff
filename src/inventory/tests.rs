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
    let pipeline = &inv.pipelines[0];
    assert_eq!(pipeline.auth.method, AuthMethod::Jwt);
    assert_eq!(pipeline.auth.configured_role(), Some("deploy"));
    assert_eq!(pipeline.max_job_duration, Some(1200));
    assert_eq!(pipeline.auth.claims.as_ref().unwrap()["run_number"], 12);
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
    let err = Inventory::from_yaml_str(&bad, "p.yaml").unwrap_err();
    let message = err.to_string();
    assert!(message.starts_with("p.yaml:"), "{message}");
    assert_eq!(err.line, Some(13), "{message}");
    assert!(message.contains("pipelines[0].auth"), "{message}");
    assert!(message.contains("unknown field `rol`"), "{message}");
}

#[test]
fn bad_values_are_errors() {
    let bad = GOOD.replace("method: jwt", "method: kerberos");
    let message = Inventory::from_yaml_str(&bad, "p.yaml")
        .unwrap_err()
        .to_string();
    assert!(message.contains("pipelines[0].auth.method"), "{message}");
    let bad = GOOD.replace("20m", "twenty minutes");
    let message = Inventory::from_yaml_str(&bad, "p.yaml")
        .unwrap_err()
        .to_string();
    assert!(message.contains("max_job_duration"), "{message}");
    let bad = GOOD.replace("team: payments", "team: payment");
    let message = Inventory::from_yaml_str(&bad, "p.yaml")
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("team \"payment\" is not defined"),
        "{message}"
    );
    let message = Inventory::from_json_str("{\"pipelines\": [", "p.json")
        .unwrap_err()
        .to_string();
    assert!(message.starts_with("p.json:1:"), "{message}");
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

const CLOUD: &str = r#"
pipelines:
  - name: lambda-deploy
    auth:
      method: aws
      mount: aws
      role: deploy
      aws:
        auth_type: iam
        iam_principal_arn: arn:aws:iam::123456789012:role/ci/deployer
        account_id: "123456789012"
        region: eu-west-1
  - name: cloud-build
    auth:
      method: gcp
      mount: gcp
      gcp:
        type: gce
        service_account_email: ci@acme.iam.gserviceaccount.com
        project_id: acme
        zone: europe-west1-b
        instance_groups: [runners]
        labels: {env: prod}
  - name: azure-runner
    auth:
      method: azure
      mount: azure
      azure:
        service_principal_id: 6f1c-oid
        group_ids: [g1]
        subscription_id: sub-1
        resource_group: rg-ci
        location: westeurope
        scale_set: runners
  - name: gh-token
    auth:
      method: github
      mount: github
      github:
        user: octocat
        organization: acme
        organization_id: 77
        teams: [platform]
"#;

#[test]
fn cloud_identities() {
    let inv = Inventory::from_yaml_str(CLOUD, "p.yaml").unwrap_or_else(|e| panic!("{e}"));
    let aws = inv.pipelines[0].auth.aws.as_ref().unwrap();
    assert_eq!(aws.account().as_deref(), Some("123456789012"));
    let gcp = inv.pipelines[1].auth.gcp.as_ref().unwrap();
    assert_eq!(gcp.region().as_deref(), Some("europe-west1"));
    assert_eq!(inv.pipelines[3].auth.method, AuthMethod::Github);
    let json = serde_json::to_string(&inv).unwrap();
    assert_eq!(Inventory::from_json_str(&json, "p.json").unwrap(), inv);
}

#[test]
fn cloud_identity_errors_name_file_line_and_path() {
    let bad = CLOUD.replace("role/ci/deployer", "deployer");
    let err = Inventory::from_yaml_str(&bad, "p.yaml").unwrap_err();
    let message = err.to_string();
    // The YAML reader places a value's custom error at its mapping (the `aws:` block's first key).
    assert_eq!(err.line, Some(9), "{message}");
    assert!(
        message.contains("pipelines[0].auth.aws.iam_principal_arn"),
        "{message}"
    );
    assert!(message.contains("needs a type and a name"), "{message}");
    let bad = CLOUD.replace("role/ci/deployer", "role:deployer");
    let message = Inventory::from_yaml_str(&bad, "p.yaml")
        .unwrap_err()
        .to_string();
    assert!(message.contains("6 colon-separated parts"), "{message}");
    let bad = CLOUD.replace("account_id: \"123456789012\"", "account_id: \"1234\"");
    let message = Inventory::from_yaml_str(&bad, "p.yaml")
        .unwrap_err()
        .to_string();
    assert!(message.contains("12 digits"), "{message}");
    let bad = CLOUD.replace("type: gce", "type: gke");
    let message = Inventory::from_yaml_str(&bad, "p.yaml")
        .unwrap_err()
        .to_string();
    assert!(message.starts_with("p.yaml:18:15:"), "{message}");
    let bad = CLOUD.replace("teams: [platform]", "teams: [platform]\n        team: x");
    let message = Inventory::from_yaml_str(&bad, "p.yaml")
        .unwrap_err()
        .to_string();
    assert!(message.contains("unknown field `team`"), "{message}");
    let bad = CLOUD.replace("method: azure", "method: gcp");
    let message = Inventory::from_yaml_str(&bad, "p.yaml")
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("pipelines[2].auth.azure") && message.contains("not of method `gcp`"),
        "{message}"
    );
}

const CONSUMERS: &str = r#"
teams:
  - name: payments
    namespaces: [payments]
  - name: search
    namespaces: [search]
pipelines:
  - name: eso/payments/db
    auth:
      method: kubernetes
      mount: k8s
      role: payments
      service_account: eso-payments
      service_account_namespace: external-secrets
    ci:
      provider: kubernetes
      file: manifests/eso.yaml
      job: ExternalSecret/payments/db
      line: 3
      consumer: eso
      namespace: payments
      via: ClusterSecretStore//vault
  - name: search-api
    auth:
      method: kubernetes
      mount: k8s
      service_account: api
      service_account_namespace: search
  - name: named
    team: payments
    auth:
      method: kubernetes
      mount: k8s
      service_account: api
      service_account_namespace: search
"#;

#[test]
fn kubernetes_namespaces_give_teams() {
    let inv = Inventory::from_yaml_str(CONSUMERS, "p.yaml").unwrap();
    // The consuming object's namespace decides, not the operator's service account.
    assert_eq!(inv.pipelines[0].team.as_deref(), Some("payments"));
    assert_eq!(
        inv.pipelines[0].ci.as_ref().unwrap().consumer,
        Some(ConsumerKind::Eso)
    );
    assert_eq!(inv.pipelines[1].team.as_deref(), Some("search"));
    // A team named in the inventory wins over the namespace.
    assert_eq!(inv.pipelines[2].team.as_deref(), Some("payments"));
    let json = serde_json::to_string(&inv).unwrap();
    assert_eq!(Inventory::from_json_str(&json, "p.json").unwrap(), inv);
}

#[test]
fn a_namespace_of_two_teams_is_an_error_with_its_line() {
    let bad = CONSUMERS.replace("namespaces: [search]", "namespaces: [search, payments]");
    let err = Inventory::from_yaml_str(&bad, "p.yaml").unwrap_err();
    let message = err.to_string();
    assert!(message.starts_with("p.yaml:6:"), "{message}");
    assert!(message.contains("teams[1].namespaces[1]"), "{message}");
    assert!(
        message.contains("listed by team \"payments\" too"),
        "{message}"
    );
}

#[test]
fn consumer_fields_need_the_kubernetes_provider() {
    let bad = CONSUMERS.replace("provider: kubernetes", "provider: github");
    let err = Inventory::from_yaml_str(&bad, "p.yaml").unwrap_err();
    let message = err.to_string();
    assert!(message.contains("pipelines[0].ci.consumer"), "{message}");
    assert_eq!(err.line, Some(20), "{message}");
}

#[test]
fn where_the_store_is_written_needs_the_kubernetes_provider_too() {
    let located = CONSUMERS.replace(
        "      via: ClusterSecretStore//vault\n",
        "      via: ClusterSecretStore//vault\n      via_file: manifests/stores.yaml\n      via_line: 4\n",
    );
    let inv = Inventory::from_yaml_str(&located, "p.yaml").unwrap();
    let ci = inv.pipelines[0].ci.as_ref().unwrap();
    assert_eq!(ci.via_file.as_deref(), Some("manifests/stores.yaml"));
    assert_eq!(ci.via_line, Some(4));
    let bad = located
        .replace("      consumer: eso\n", "")
        .replace("      namespace: payments\n", "")
        .replace("      via: ClusterSecretStore//vault\n", "")
        .replace("provider: kubernetes", "provider: github");
    let message = Inventory::from_yaml_str(&bad, "p.yaml")
        .unwrap_err()
        .to_string();
    assert!(message.contains("pipelines[0].ci.via_file"), "{message}");
}
