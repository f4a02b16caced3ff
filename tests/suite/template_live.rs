//! Identity templates against a real OpenBao: which substitutions drop one rule and which make
//! the server refuse every request of the token (OpenBao ≥ 2.6, GHSA-59w7-v8rr-pr4p).
//!
//! OpenBao 2.7.2 answers: a template that cannot be resolved (a missing metadata key) drops that
//! one rule and the rest of the token's policies still apply; a substitution of a blocked string
//! (`/` without `allow_slashes_in_identity_templates`, `*`/`+` without
//! `allow_wildcards_in_identity_templates`) makes building the token's ACL fail, so every
//! request of the token is refused, `auth/token/lookup-self` included. blastmap must say the
//! same: the ACL is `forbidden` and reach is empty with an unknown saying why.

use crate::common;

use blastmap::acl::template::{Alias, Entity};
use blastmap::acl::{
    parse_policy, Acl, AclContext, AclNote, Flavor, Identity, ParseOptions, PolicySource,
};
use common::BaoServer;
use serde_json::json;

struct Case {
    user: &'static str,
    team: &'static str,
    slashes: bool,
}

const TEMPLATED: &str = r#"path "secret/data/{{identity.entity.metadata.team}}/*" { capabilities = ["read"] }
path "secret/data/{{identity.entity.metadata.missing}}/*" { capabilities = ["read"] }
path "secret/data/static" { capabilities = ["read"] }
"#;

#[test]
fn blocked_substitutions_forbid_the_token_and_missing_keys_drop_the_rule() {
    let server = BaoServer::start();
    server.post("sys/auth/userpass", &json!({"type": "userpass"}));
    let accessor = server.get("sys/auth")["data"]["userpass/"]["accessor"]
        .as_str()
        .unwrap()
        .to_string();
    let cases = [
        // Plain value: the team rule applies, the missing-key rule is dropped.
        Case {
            user: "plain",
            team: "payments",
            slashes: false,
        },
        // A `/` in the value: blocked, the whole token is refused.
        Case {
            user: "slashed",
            team: "payments/prod",
            slashes: false,
        },
        // The same value under a policy that allows slashes: substituted.
        Case {
            user: "allowed",
            team: "payments/prod",
            slashes: true,
        },
        // `+` is blocked even with slashes allowed.
        Case {
            user: "plus",
            team: "pay+ments",
            slashes: true,
        },
    ];
    for c in &cases {
        let policy = format!("tpl-{}", c.user);
        server.put(
            &format!("sys/policies/acl/{policy}"),
            &json!({
                "policy": TEMPLATED,
                "allow_slashes_in_identity_templates": c.slashes,
            }),
        );
        server.post(
            &format!("auth/userpass/users/{}", c.user),
            &json!({"password": "pw-for-tests", "token_policies": [policy]}),
        );
        let entity = server.post(
            "identity/entity",
            &json!({"name": format!("e-{}", c.user), "metadata": {"team": c.team}}),
        );
        let entity_id = entity["data"]["id"].as_str().unwrap().to_string();
        server.post(
            "identity/entity-alias",
            &json!({"name": c.user, "canonical_id": entity_id, "mount_accessor": accessor}),
        );
        let login = server.client().without_token().post(
            &format!("auth/userpass/login/{}", c.user),
            &json!({"password": "pw-for-tests"}),
        );
        let token = login["auth"]["client_token"].as_str().unwrap().to_string();
        let paths = [
            "secret/data/static",
            &format!("secret/data/{}/db", c.team),
            "secret/data/other/db",
        ];
        let as_token = server.client_with_token(&token);
        let server_answer: Option<Vec<Vec<String>>> = as_token
            .try_post("sys/capabilities-self", &json!({"paths": paths}))
            .ok()
            .map(|v| {
                paths
                    .iter()
                    .map(|p| {
                        v["data"][*p]
                            .as_array()
                            .unwrap_or_else(|| panic!("{}: no answer for {p}: {v}", c.user))
                            .iter()
                            .map(|x| x.as_str().unwrap().to_string())
                            .collect()
                    })
                    .collect()
            });
        let lookup_ok = as_token.try_get("auth/token/lookup-self").is_ok();
        assert_eq!(
            lookup_ok,
            server_answer.is_some(),
            "{}: lookup-self and capabilities-self agree on refusal",
            c.user
        );

        // blastmap on the same identity.
        let parsed = parse_policy(
            &PolicySource {
                name: policy.clone(),
                text: TEMPLATED.to_string(),
                namespace_path: String::new(),
                namespace_id: "root".into(),
                allow_wildcards_in_identity_templates: false,
                allow_slashes_in_identity_templates: c.slashes,
            },
            &ParseOptions::default(),
        )
        .unwrap();
        let ent = Entity {
            id: entity_id.clone(),
            name: format!("e-{}", c.user),
            metadata: [("team".to_string(), c.team.to_string())].into(),
            aliases: vec![Alias {
                mount_accessor: accessor.clone(),
                name: c.user.to_string(),
                ..Alias::default()
            }],
        };
        let ctx = AclContext {
            flavor: Flavor::OpenBao,
            identity: Identity {
                entity: Some(&ent),
                groups: &[],
            },
            ..Default::default()
        };
        let acl = Acl::new(&[&parsed], false, &ctx).unwrap();
        match server_answer {
            None => {
                assert!(
                    acl.is_forbidden(),
                    "{}: the server refuses every request, blastmap must say forbidden",
                    c.user
                );
                assert!(acl
                    .notes()
                    .iter()
                    .any(|n| matches!(n, AclNote::TemplateBlocked { .. })));
            }
            Some(want) => {
                assert!(!acl.is_forbidden(), "{}: the server answers", c.user);
                let got: Vec<Vec<String>> = paths
                    .iter()
                    .map(|p| {
                        acl.capabilities("", p)
                            .names()
                            .into_iter()
                            .map(String::from)
                            .collect()
                    })
                    .collect();
                assert_eq!(got, want, "{}: capabilities on {paths:?}", c.user);
                assert!(
                    acl.notes()
                        .iter()
                        .any(|n| matches!(n, AclNote::TemplateDropped { rule, .. } if rule.contains("missing"))),
                    "{}: the missing-key rule is reported as dropped",
                    c.user
                );
            }
        }
    }
    // What the server did, so a change of OpenBao's behaviour shows here first.
    let refused: Vec<&str> = cases
        .iter()
        .filter(|c| {
            let login = server.client().without_token().post(
                &format!("auth/userpass/login/{}", c.user),
                &json!({"password": "pw-for-tests"}),
            );
            let t = login["auth"]["client_token"].as_str().unwrap().to_string();
            server
                .client_with_token(&t)
                .try_get("auth/token/lookup-self")
                .is_err()
        })
        .map(|c| c.user)
        .collect();
    assert_eq!(refused, ["slashed", "plus"]);
}
