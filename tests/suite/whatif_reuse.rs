//! A what-if's head takes over from its base whatever the change leaves equal: the secret index,
//! parsed policies, logins on unchanged mounts, tokens of unchanged identities, escalation
//! tokens, wildcard coverage, whole pipelines' facts and their rule input (`Review::derive`).
//! Whatever was taken over, the head's reach, facts and rule input must be exactly what a fresh
//! review of the head gives (`Review::open`). This compares both, byte for byte, for the kinds of
//! change a pull request makes (and for none), on a synthetic estate with escalation paths,
//! identity groups, templated policies and several auth methods.

use blastmap::inventory::Inventory;
use blastmap::model::Snapshot;
use blastmap::review::{Review, ReviewOptions};
use blastmap::rules::engine::RuleSet;
use blastmap::synth::{self, Params};
use serde_json::{json, Value};

fn estate() -> (Value, Inventory) {
    let params = Params {
        secrets: 6_000,
        policies: 120,
        roles: 60,
        pipelines: 60,
        namespaces: 3,
        seed: 11,
    };
    let (snapshot, inventory) = synth::generate(&params).unwrap();
    (serde_json::to_value(&snapshot).unwrap(), inventory)
}

fn snapshot(v: &Value) -> Snapshot {
    serde_json::from_value(v.clone()).unwrap()
}

/// The first namespace holding something at `key` (policies, groups, entities …).
fn first_ns_with<'v>(v: &'v mut Value, key: &str) -> &'v mut Value {
    v["namespaces"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|ns| ns[key].as_array().is_some_and(|a| !a.is_empty()))
        .unwrap_or_else(|| panic!("a namespace with {key}"))
}

/// The first role of the first auth mount of the given type, as JSON.
fn first_role<'v>(v: &'v mut Value, mount_type: &str, kind: &str) -> &'v mut Value {
    v["namespaces"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .flat_map(|ns| ns["auth_mounts"].as_array_mut().unwrap().iter_mut())
        .find(|m| {
            m["type"] == mount_type && m["roles"][kind].as_array().is_some_and(|r| !r.is_empty())
        })
        .map(|m| &mut m["roles"][kind][0])
        .unwrap_or_else(|| panic!("a {mount_type} mount with {kind} roles"))
}

/// The first mount of a type in the root namespace's `list` (`auth_mounts`, `secret_mounts`).
fn root_mount<'v>(v: &'v mut Value, list: &str, mount_type: &str) -> &'v mut Value {
    v["namespaces"][0][list]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|m| m["type"] == mount_type)
        .unwrap_or_else(|| panic!("a {mount_type} mount in the root namespace"))
}

/// A named change to an estate (as JSON).
type Change = (&'static str, fn(&mut Value));

/// The changes compared.
fn changes() -> Vec<Change> {
    vec![
        ("no change", |_| {}),
        ("one role gets one more policy", |v| {
            assert!(synth::change_one_role(v));
        }),
        ("a policy gains a rule that writes policies", |v| {
            let ns = first_ns_with(v, "policies");
            let p = ns["policies"]
                .as_array_mut()
                .unwrap()
                .iter_mut()
                .find(|p| p["name"] != "default" && p["name"] != "root")
                .unwrap();
            let text = format!(
                "{}\npath \"sys/policies/acl/*\" {{\n  capabilities = [\"create\", \"update\"]\n}}\n",
                p["policy"].as_str().unwrap()
            );
            p["policy"] = json!(text);
        }),
        ("a role can mint secret-ids of every AppRole", |v| {
            let ns = first_ns_with(v, "policies");
            ns["policies"].as_array_mut().unwrap().push(json!({
                "name": "mint-everything",
                "policy": "path \"auth/approle/role/+/secret-id\" {\n  capabilities = [\"update\"]\n}\n",
            }));
            let r = first_role(v, "jwt", "jwt");
            r["token_policies"]
                .as_array_mut()
                .unwrap()
                .push(json!("mint-everything"));
        }),
        ("a JWT role loses its bound claims", |v| {
            let r = first_role(v, "jwt", "jwt");
            r.as_object_mut().unwrap().remove("bound_claims");
        }),
        ("an AppRole role is deleted", |v| {
            let ns = v["namespaces"]
                .as_array_mut()
                .unwrap()
                .iter_mut()
                .flat_map(|ns| ns["auth_mounts"].as_array_mut().unwrap().iter_mut())
                .find(|m| {
                    m["type"] == "approle"
                        && m["roles"]["approle"]
                            .as_array()
                            .is_some_and(|r| !r.is_empty())
                })
                .unwrap();
            ns["roles"]["approle"].as_array_mut().unwrap().remove(0);
        }),
        ("an identity group gets another policy", |v| {
            let ns = first_ns_with(v, "groups");
            let other = ns["policies"]
                .as_array()
                .unwrap()
                .iter()
                .rev()
                .find(|p| p["name"] != "default")
                .unwrap()["name"]
                .clone();
            ns["groups"][0]["policies"]
                .as_array_mut()
                .unwrap()
                .push(other);
        }),
        ("an entity's metadata changes (templated policies)", |v| {
            let ns = first_ns_with(v, "entities");
            for e in ns["entities"].as_array_mut().unwrap() {
                e["metadata"]["team"] = json!("elsewhere");
            }
        }),
        ("an entity is disabled (its logins are refused)", |v| {
            let ns = first_ns_with(v, "entities");
            let entity = ns["entities"]
                .as_array_mut()
                .unwrap()
                .iter_mut()
                .find(|e| e["aliases"].as_array().is_some_and(|a| !a.is_empty()))
                .unwrap();
            entity["disabled"] = json!(true);
        }),
        ("alias metadata changes", |v| {
            let ns = first_ns_with(v, "entities");
            for e in ns["entities"].as_array_mut().unwrap() {
                for alias in e["aliases"].as_array_mut().into_iter().flatten() {
                    alias["metadata"]["role_name"] = json!("elsewhere");
                    alias["metadata"]["repository"] = json!("acme/elsewhere");
                }
            }
        }),
        ("a mount's TTLs are tuned", |v| {
            let m = root_mount(v, "auth_mounts", "jwt");
            m["tune"]["max_lease_ttl"] = json!(86400 * 30);
        }),
        ("a secret is added", |v| {
            let m = root_mount(v, "secret_mounts", "kv");
            m["secrets"]["keys"]
                .as_array_mut()
                .unwrap()
                .push(json!("payments/api/dev/new-secret"));
        }),
    ]
}

#[test]
fn head_reusing_base_equals_fresh_analysis() {
    let (base_json, inventory) = estate();
    let base_snapshot = snapshot(&base_json);
    for (name, change) in changes() {
        let mut head_json = base_json.clone();
        change(&mut head_json);
        let head_snapshot = snapshot(&head_json);

        let base = Review::open(&base_snapshot, Some(&inventory), ReviewOptions::default());
        let head = Review::derive(&base, &head_snapshot);
        let fresh = Review::open(&head_snapshot, Some(&inventory), ReviewOptions::default());

        let same_secrets =
            std::sync::Arc::ptr_eq(&base.analysis().secrets, &head.analysis().secrets);
        assert_eq!(
            same_secrets,
            name != "a secret is added",
            "{name}: the secret index is shared exactly when the secrets are the same"
        );
        let reach = |r: &Review<'_>| {
            let prepared = r.prepared();
            serde_json::to_string(&prepared.assemble(0..prepared.len())).unwrap()
        };
        assert!(
            reach(&head) == reach(&fresh),
            "{name}: the head's reach differs from a fresh analysis"
        );

        let taken = head.facts_taken_over();
        // The rules' input of the head, sharing the base's values of copied pipelines, is the
        // input of the head's facts.
        assert!(
            *head.rule_input().unwrap() == RuleSet::input_of(head.facts()).unwrap(),
            "{name}: the head's shared rule input differs from its own"
        );
        let (a, b) = (
            serde_json::to_value(head.facts()).unwrap(),
            serde_json::to_value(fresh.facts()).unwrap(),
        );
        if a != b {
            let diff: Vec<String> = ["pipelines", "roles", "policies", "entities", "auth_mounts"]
                .iter()
                .filter(|k| a[**k] != b[**k])
                .map(|k| k.to_string())
                .collect();
            let detail: Vec<String> = a["pipelines"]
                .as_array()
                .unwrap()
                .iter()
                .zip(b["pipelines"].as_array().unwrap())
                .filter(|(x, y)| x != y)
                .map(|(x, y)| {
                    let fields: Vec<&String> = x
                        .as_object()
                        .unwrap()
                        .keys()
                        .filter(|k| x[k.as_str()] != y[k.as_str()])
                        .collect();
                    format!("{} {fields:?}: {} vs {}", x["name"], x, y)
                })
                .take(1)
                .collect();
            panic!("{name}: the head's facts differ from a fresh build in {diff:?}: {detail:?}");
        }
        // Not a vacuous comparison: unchanged estates take over every pipeline, changes of
        // one object most of them, a new secret none (its index is not shared).
        let n = inventory.pipelines.len();
        match name {
            "no change" => assert_eq!(taken, n, "{name}"),
            "a secret is added" => assert_eq!(taken, 0, "{name}"),
            _ => assert!(taken > 0, "{name}: no pipeline's facts were taken over"),
        }
    }
}
