//! Terraform plans (`terraform show -json plan`) as what-if changes: the `resource_changes` of
//! the Vault provider's resources, mapped onto the snapshot.
//!
//! The provider's habits matter: `vault_jwt_auth_backend_role.bound_claims` values are split on
//! commas into lists (unless `disable_bound_claims_parsing`), `role_type` defaults to `oidc`,
//! `backend` defaults to the method's type, and every resource's `namespace` is relative to the
//! provider's. Resources the mapping does not understand are returned as unknowns, never dropped.

use serde_json::{Map, Value};

use super::change::Change;
use super::error::{ResourceProblem, TerraformError};
use crate::model::namespace_path;

/// Changes and unmapped resources of a plan.
pub(crate) fn changes(plan: &Value) -> Result<(Vec<Change>, Vec<String>), TerraformError> {
    if let Some(v) = plan.get("format_version").and_then(Value::as_str) {
        if !v.starts_with("1.") && v != "1" {
            return Err(TerraformError::UnsupportedFormat {
                version: v.to_string(),
            });
        }
    }
    let Some(rcs) = plan.get("resource_changes") else {
        return Err(TerraformError::NotAPlan);
    };
    let rcs = rcs
        .as_array()
        .ok_or(TerraformError::ResourceChangesNotAnArray)?;
    let mut out = Vec::new();
    let mut unknown = Vec::new();
    for (i, rc) in rcs.iter().enumerate() {
        let resource_type = rc.get("type").and_then(Value::as_str).unwrap_or("");
        let address = rc
            .get("address")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("resource_changes[{i}]"));
        if !resource_type.starts_with("vault_")
            || rc.get("mode").and_then(Value::as_str) == Some("data")
        {
            continue;
        }
        let change = rc.get("change").ok_or_else(|| TerraformError::NoChange {
            address: address.clone(),
        })?;
        let actions: Vec<&str> = change
            .get("actions")
            .and_then(Value::as_array)
            .ok_or_else(|| TerraformError::NoActions {
                address: address.clone(),
            })?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        if actions.iter().all(|a| *a == "no-op" || *a == "read") {
            continue;
        }
        let deletes = actions.contains(&"delete");
        let creates = actions.contains(&"create") || actions.contains(&"update");
        let before = change.get("before").and_then(Value::as_object);
        let after = change.get("after").and_then(Value::as_object);
        let after_unknown = change.get("after_unknown").and_then(Value::as_object);
        let unknown_keys: Vec<String> = after_unknown
            .map(|m| {
                m.iter()
                    .filter(|(k, v)| {
                        v.as_bool() == Some(true) && !matches!(k.as_str(), "id" | "accessor")
                    })
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default();
        if !unknown_keys.is_empty() && creates {
            unknown.push(format!(
                "{address}: {} known only after apply; assumed as planned where a value is given",
                unknown_keys.join(", ")
            ));
        }
        let mapped = map_resource(resource_type, deletes, creates, before, after, &mut out);
        match mapped {
            Ok(true) => {}
            Ok(false) => unknown.push(format!(
                "{address}: resource type {resource_type} is not modelled; its effect on reach is unknown"
            )),
            Err(problem) => return Err(TerraformError::Resource { address, problem }),
        }
    }
    Ok((out, unknown))
}

fn s<'a>(m: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    m.get(k).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn ns_of(m: &Map<String, Value>) -> String {
    namespace_path(s(m, "namespace").unwrap_or("")).into_owned()
}

/// Role fields the API knows, from a provider resource's attributes.
fn role_fields(ty: &str, m: &Map<String, Value>) -> Map<String, Value> {
    const SKIP: &[&str] = &[
        "id",
        "backend",
        "role_name",
        "namespace",
        "role_id",
        "disable_bound_claims_parsing",
    ];
    let mut fields = Map::new();
    for (k, v) in m {
        if SKIP.contains(&k.as_str()) || v.is_null() {
            continue;
        }
        fields.insert(k.clone(), v.clone());
    }
    if ty == "vault_jwt_auth_backend_role" {
        let parse = !m
            .get("disable_bound_claims_parsing")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if let (true, Some(Value::Object(bc))) = (parse, m.get("bound_claims")) {
            let split: Map<String, Value> = bc
                .iter()
                .map(|(k, v)| {
                    let value = match v.as_str() {
                        Some(s) if s.contains(',') => Value::Array(
                            s.split(',')
                                .map(|x| Value::String(x.trim().to_string()))
                                .collect(),
                        ),
                        _ => v.clone(),
                    };
                    (k.clone(), value)
                })
                .collect();
            fields.insert("bound_claims".into(), Value::Object(split));
        }
        if !fields.contains_key("role_type") {
            fields.insert("role_type".into(), Value::String("oidc".into()));
        }
        // Legacy `policies` maps to token_policies.
        if let Some(p) = fields.remove("policies") {
            fields.entry("token_policies").or_insert(p);
        }
    }
    fields
}

fn map_resource(
    ty: &str,
    deletes: bool,
    creates: bool,
    before: Option<&Map<String, Value>>,
    after: Option<&Map<String, Value>>,
    out: &mut Vec<Change>,
) -> Result<bool, ResourceProblem> {
    let resource = PlannedResource {
        ty,
        deletes,
        creates,
        before,
        after,
    };
    match ty {
        "vault_policy" => resource.policy(out)?,
        "vault_jwt_auth_backend_role"
        | "vault_approle_auth_backend_role"
        | "vault_kubernetes_auth_backend_role"
        | "vault_token_auth_backend_role"
        | "vault_cert_auth_backend_role" => resource.role(out)?,
        "vault_identity_entity" => resource.entity(out)?,
        "vault_identity_group" => resource.group(out)?,
        "vault_auth_backend" | "vault_jwt_auth_backend" => resource.auth_backend(out),
        "vault_mount" => return resource.secret_mount(out),
        "vault_namespace" => return resource.namespace(out),
        _ => return Ok(false),
    }
    Ok(true)
}

/// One resource change of the plan: its type, the actions and both sides.
struct PlannedResource<'p> {
    ty: &'p str,
    deletes: bool,
    creates: bool,
    before: Option<&'p Map<String, Value>>,
    after: Option<&'p Map<String, Value>>,
}

fn need(m: Option<&Map<String, Value>>, key: &str) -> Result<String, ResourceProblem> {
    m.and_then(|m| s(m, key))
        .map(str::to_string)
        .ok_or_else(|| ResourceProblem::MissingAttribute {
            key: key.to_string(),
        })
}

/// The attributes of `keys` that are set.
fn set_fields(m: &Map<String, Value>, keys: &[&str]) -> Map<String, Value> {
    let mut fields = Map::new();
    for k in keys {
        if let Some(v) = m.get(*k).filter(|v| !v.is_null()) {
            fields.insert((*k).into(), v.clone());
        }
    }
    fields
}

impl PlannedResource<'_> {
    /// The side a deletion is read from.
    fn deleted(&self) -> Option<&Map<String, Value>> {
        self.before.or(self.after)
    }

    /// Whether the plan writes the resource (created, or replaced).
    fn writes(&self) -> bool {
        self.creates || (self.deletes && self.after.is_some())
    }

    fn policy(&self, out: &mut Vec<Change>) -> Result<(), ResourceProblem> {
        if self.deletes {
            let before = self.deleted();
            out.push(Change::DeletePolicy {
                namespace: before.map(ns_of).unwrap_or_default(),
                name: need(before, "name")?.to_lowercase(),
            });
        }
        if self.writes() {
            let after = self.after;
            out.push(Change::UpsertPolicy {
                namespace: after.map(ns_of).unwrap_or_default(),
                name: need(after, "name")?.to_lowercase(),
                text: need(after, "policy")?,
            });
        }
        Ok(())
    }

    fn role(&self, out: &mut Vec<Change>) -> Result<(), ResourceProblem> {
        let (default_backend, kind) = match self.ty {
            "vault_jwt_auth_backend_role" => ("jwt", "jwt"),
            "vault_approle_auth_backend_role" => ("approle", "approle"),
            "vault_kubernetes_auth_backend_role" => ("kubernetes", "kubernetes"),
            "vault_token_auth_backend_role" => ("token", "token"),
            _ => ("cert", "cert"),
        };
        let name_key = if self.ty == "vault_cert_auth_backend_role" {
            "name"
        } else {
            "role_name"
        };
        if self.deletes {
            let before = self.deleted();
            out.push(Change::DeleteRole {
                namespace: before.map(ns_of).unwrap_or_default(),
                mount: before
                    .and_then(|m| s(m, "backend"))
                    .unwrap_or(default_backend)
                    .to_string(),
                kind: Some(kind.to_string()),
                name: need(before, name_key)?,
            });
        }
        if self.writes() {
            let after = self.after.ok_or(ResourceProblem::NoAfter)?;
            out.push(Change::UpsertRole {
                namespace: ns_of(after),
                mount: s(after, "backend").unwrap_or(default_backend).to_string(),
                kind: Some(kind.to_string()),
                name: need(Some(after), name_key)?,
                fields: role_fields(self.ty, after),
                replace: true,
            });
        }
        Ok(())
    }

    fn entity(&self, out: &mut Vec<Change>) -> Result<(), ResourceProblem> {
        if self.deletes {
            let before = self.deleted();
            out.push(Change::DeleteEntity {
                namespace: before.map(ns_of).unwrap_or_default(),
                name: need(before, "name")?,
            });
        }
        if self.writes() {
            let after = self.after.ok_or(ResourceProblem::NoAfter)?;
            out.push(Change::UpsertEntity {
                namespace: ns_of(after),
                name: need(Some(after), "name")?,
                fields: set_fields(after, &["policies", "metadata", "disabled"]),
            });
        }
        Ok(())
    }

    fn group(&self, out: &mut Vec<Change>) -> Result<(), ResourceProblem> {
        if self.deletes {
            let before = self.deleted();
            out.push(Change::DeleteGroup {
                namespace: before.map(ns_of).unwrap_or_default(),
                name: need(before, "name")?,
            });
        }
        if self.writes() {
            let after = self.after.ok_or(ResourceProblem::NoAfter)?;
            let keys = [
                "policies",
                "metadata",
                "member_entity_ids",
                "member_group_ids",
                "type",
            ];
            out.push(Change::UpsertGroup {
                namespace: ns_of(after),
                name: need(Some(after), "name")?,
                fields: set_fields(after, &keys),
            });
        }
        Ok(())
    }

    fn auth_backend(&self, out: &mut Vec<Change>) {
        let attributes = self.after.or(self.before);
        let default_type = if self.ty == "vault_jwt_auth_backend" {
            "jwt"
        } else {
            ""
        };
        let mount_type = attributes
            .and_then(|m| s(m, "type"))
            .unwrap_or(default_type)
            .to_string();
        let path = attributes
            .and_then(|m| s(m, "path"))
            .map(str::to_string)
            .unwrap_or_else(|| mount_type.clone());
        let namespace = attributes.map(ns_of).unwrap_or_default();
        out.push(if self.deletes && !self.creates {
            Change::DeleteAuthMount { namespace, path }
        } else {
            Change::AddAuthMount {
                namespace,
                path,
                mount_type,
            }
        });
    }

    fn secret_mount(&self, out: &mut Vec<Change>) -> Result<bool, ResourceProblem> {
        let Some(a) = self.after else {
            return Ok(false);
        };
        let mut options = a
            .get("options")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut mount_type = need(Some(a), "type")?;
        if mount_type == "kv-v2" {
            mount_type = "kv".into();
            options.insert("version".into(), Value::String("2".into()));
        }
        out.push(Change::AddSecretMount {
            namespace: ns_of(a),
            path: need(Some(a), "path")?,
            mount_type,
            options,
        });
        Ok(true)
    }

    fn namespace(&self, out: &mut Vec<Change>) -> Result<bool, ResourceProblem> {
        let Some(a) = self.after else {
            return Ok(false);
        };
        let parent = ns_of(a);
        out.push(Change::AddNamespace {
            path: format!("{parent}{}", need(Some(a), "path")?),
        });
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bound_claims_are_comma_split_and_role_type_defaults_to_oidc() {
        let plan = json!({"format_version": "1.2", "resource_changes": [{
            "address": "vault_jwt_auth_backend_role.ci", "mode": "managed",
            "type": "vault_jwt_auth_backend_role",
            "change": {"actions": ["update"], "before": {}, "after": {
                "backend": "gha", "role_name": "ci", "user_claim": "sub",
                "bound_claims": {"repository": "acme/a, acme/b", "ref": "refs/heads/main"},
                "token_policies": ["ci"], "namespace": null}}}]});
        let (cs, unknown) = changes(&plan).unwrap();
        assert!(unknown.is_empty());
        match &cs[0] {
            Change::UpsertRole {
                mount,
                name,
                fields,
                ..
            } => {
                assert_eq!(mount, "gha");
                assert_eq!(name, "ci");
                assert_eq!(
                    fields["bound_claims"]["repository"],
                    json!(["acme/a", "acme/b"])
                );
                assert_eq!(fields["bound_claims"]["ref"], json!("refs/heads/main"));
                assert_eq!(fields["role_type"], json!("oidc"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unmapped_vault_resources_are_unknown_and_others_ignored() {
        let plan = json!({"format_version": "1.2", "resource_changes": [
            {"address": "vault_ldap_auth_backend.x", "type": "vault_ldap_auth_backend",
             "change": {"actions": ["create"], "before": null, "after": {"path": "ldap"}}},
            {"address": "aws_s3_bucket.b", "type": "aws_s3_bucket",
             "change": {"actions": ["create"], "before": null, "after": {}}}]});
        let (cs, unknown) = changes(&plan).unwrap();
        assert!(cs.is_empty());
        assert_eq!(unknown.len(), 1);
        assert!(unknown[0].contains("vault_ldap_auth_backend.x"));
    }

    #[test]
    fn malformed_plans_are_errors() {
        assert!(changes(&json!({"format_version": "2.0", "resource_changes": []})).is_err());
        assert!(changes(&json!({"format_version": "1.0"})).is_err());
        let message = changes(
            &json!({"resource_changes": [{"address": "vault_policy.p", "type": "vault_policy",
            "change": {"actions": ["create"], "before": null, "after": {"name": "p"}}}]}),
        )
        .unwrap_err()
        .to_string();
        assert!(
            message.contains("vault_policy.p") && message.contains("policy"),
            "{message}"
        );
    }
}
