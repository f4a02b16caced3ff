//! How strongly a workload role binds the workloads it admits: the issuer's tenancy (a shared
//! CI/CD issuer signs tokens for every customer), whether the role pins the owner (organisation,
//! group, account), how broad its globs are, and whether its alias claim is unique per workload.

use serde::Serialize;
use serde_json::Value;

use crate::model::{AuthMount, JwtRole, KubernetesRole};

/// A known CI/CD OIDC issuer.
struct Provider {
    name: &'static str,
    /// The issuer URL (no trailing slash) of the shared, multi-tenant issuer.
    issuer: &'static str,
    /// Claims whose value names or contains the owner (organisation / group / account).
    /// `(claim, structural prefix before the owner, owner-only claim)`.
    owner_claims: &'static [(&'static str, &'static str, bool)],
    /// Claims that are the same for many workloads (bad `user_claim` values).
    shared_claims: &'static [&'static str],
    /// The claims that pin the tenant (immutable ids first), as the issuer documents them.
    tenant_claims: &'static [&'static str],
}

const PROVIDERS: &[Provider] = &[
    Provider {
        name: "github",
        issuer: "https://token.actions.githubusercontent.com",
        owner_claims: &[
            ("repository_owner", "", true),
            ("repository_owner_id", "", true),
            ("enterprise", "", true),
            ("enterprise_id", "", true),
            ("repository", "", false),
            ("sub", "repo:", false),
            ("job_workflow_ref", "", false),
            ("workflow_ref", "", false),
        ],
        shared_claims: &[
            "repository_owner",
            "repository_owner_id",
            "repository_visibility",
            "enterprise",
            "enterprise_id",
            "ref",
            "ref_type",
            "ref_protected",
            "base_ref",
            "head_ref",
            "environment",
            "event_name",
            "runner_environment",
            "workflow",
            "actor",
            "actor_id",
            "aud",
            "iss",
        ],
        tenant_claims: &["repository_owner_id", "enterprise_id"],
    },
    Provider {
        name: "gitlab",
        issuer: "https://gitlab.com",
        owner_claims: &[
            ("namespace_path", "", true),
            ("namespace_id", "", true),
            ("project_path", "", false),
            ("sub", "project_path:", false),
            ("ci_config_ref_uri", "gitlab.com/", false),
        ],
        shared_claims: &[
            "namespace_path",
            "namespace_id",
            "ref",
            "ref_type",
            "ref_protected",
            "environment",
            "environment_protected",
            "pipeline_source",
            "user_login",
            "user_email",
            "user_id",
            "runner_environment",
            "aud",
            "iss",
        ],
        tenant_claims: &["namespace_id", "project_id"],
    },
    Provider {
        name: "buildkite",
        issuer: "https://agent.buildkite.com",
        owner_claims: &[
            ("organization_slug", "", true),
            ("organization_id", "", true),
            ("sub", "organization:", false),
        ],
        shared_claims: &[
            "organization_slug",
            "organization_id",
            "build_branch",
            "build_source",
            "aud",
            "iss",
        ],
        tenant_claims: &["organization_id", "organization_slug"],
    },
    Provider {
        name: "circleci",
        issuer: "https://oidc.circleci.com",
        owner_claims: &[
            ("oidc.circleci.com/org-id", "", true),
            ("/oidc.circleci.com~1org-id", "", true),
            ("sub", "org/", false),
        ],
        shared_claims: &[
            "oidc.circleci.com/org-id",
            "oidc.circleci.com/context-ids",
            "aud",
            "iss",
        ],
        tenant_claims: &["oidc.circleci.com/org-id"],
    },
    Provider {
        name: "terraform-cloud",
        issuer: "https://app.terraform.io",
        owner_claims: &[
            ("terraform_organization_name", "", true),
            ("terraform_organization_id", "", true),
            ("terraform_full_workspace", "organization:", false),
            // Ids are unique across organisations (names are not).
            ("terraform_project_id", "", true),
            ("terraform_workspace_id", "", true),
            ("sub", "organization:", false),
        ],
        shared_claims: &[
            "terraform_organization_name",
            "terraform_organization_id",
            "terraform_run_phase",
            "aud",
            "iss",
        ],
        tenant_claims: &["terraform_organization_id", "terraform_organization_name"],
    },
    Provider {
        name: "codefresh",
        issuer: "https://oidc.codefresh.io",
        owner_claims: &[
            ("account_id", "", true),
            ("account_name", "", true),
            ("sub", "account:", false),
        ],
        shared_claims: &["account_id", "account_name", "aud", "iss"],
        tenant_claims: &["account_id"],
    },
    // Per-tenant issuer URLs (below), never equal to a whole issuer: listed for their claims.
    Provider {
        name: "bitbucket",
        issuer: "https://api.bitbucket.org/2.0/workspaces/",
        // UUIDs are unique across workspaces: a repository's or environment's pins its workspace.
        owner_claims: &[
            ("workspaceUuid", "", true),
            ("repositoryUuid", "", true),
            ("deploymentEnvironmentUuid", "", true),
        ],
        shared_claims: &[
            "workspaceUuid",
            "branchName",
            "deploymentEnvironmentUuid",
            "aud",
            "iss",
        ],
        tenant_claims: &["workspaceUuid"],
    },
    Provider {
        name: "azure-devops",
        issuer: "https://vstoken.dev.azure.com/",
        owner_claims: &[
            ("org_id", "", true),
            ("sub", "sc://", false),
            ("sub", "p://", false),
        ],
        shared_claims: &["org_id", "prj_id", "rpo_ref", "aud", "iss"],
        tenant_claims: &["org_id"],
    },
];

/// An issuer whose URL is scoped to one tenant (the URL itself names the organisation).
struct TenantScoped {
    prefix: &'static str,
    provider: &'static str,
    /// The tenants' tokens are signed with the same keys (one JWKS for all), so only
    /// `bound_issuer` (which checks the token's `iss`) keeps the tenant: a mount that only
    /// names the tenant's discovery URL verifies every tenant's tokens. Azure DevOps documents
    /// one JWKS for every organisation; Bitbucket does not say, so it is treated the same.
    shared_keys: bool,
}

const TENANT_SCOPED: &[TenantScoped] = &[
    TenantScoped {
        prefix: "https://oidc.circleci.com/org/",
        provider: "circleci",
        shared_keys: false,
    },
    TenantScoped {
        prefix: "https://api.bitbucket.org/2.0/workspaces/",
        provider: "bitbucket",
        shared_keys: true,
    },
    TenantScoped {
        prefix: "https://vstoken.dev.azure.com/",
        provider: "azure-devops",
        shared_keys: true,
    },
    TenantScoped {
        prefix: "https://token.actions.githubusercontent.com/",
        provider: "github",
        shared_keys: false,
    },
];

/// Claims that are not unique per workload whatever the issuer.
const GENERIC_SHARED: &[&str] = &["aud", "iss", "azp", "email_verified", "groups"];

/// The tenancy of a JWT issuer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct Issuer {
    /// The issuer URL the mount trusts (`bound_issuer`, else the discovery URL, else the `iss`
    /// the inventory's pipelines present); `None` when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `github`, `gitlab`, `buildkite`, `circleci`, `terraform-cloud`, `codefresh`,
    /// `bitbucket`, `azure-devops`, or absent for an unrecognised issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<&'static str>,
    /// `multi-tenant` (a shared SaaS issuer: every customer's workloads get tokens from it),
    /// `tenant-scoped` (the issuer URL is one organisation's), `single-tenant` (a self-hosted
    /// or unrecognised issuer), `unknown` (no issuer recorded).
    pub tenancy: &'static str,
}

/// Classify the issuer a JWT mount trusts. `fallback_iss` is an `iss` claim a pipeline on the
/// mount presents, used when the mount's config was not exported.
pub(crate) fn issuer(mount: &AuthMount, fallback_iss: Option<&str>) -> Issuer {
    let url = mount
        .config_str("bound_issuer")
        .or_else(|| mount.config_str("oidc_discovery_url"))
        .map(str::to_string)
        .or_else(|| {
            mount.config_str("jwks_url").map(|j| {
                j.trim_end_matches("/.well-known/jwks")
                    .trim_end_matches("/.well-known/jwks.json")
                    .to_string()
            })
        })
        .or_else(|| fallback_iss.map(str::to_string));
    let Some(url) = url else {
        return Issuer {
            url: None,
            provider: None,
            tenancy: "unknown",
        };
    };
    let norm = url.trim().trim_end_matches('/');
    if let Some(p) = PROVIDERS.iter().find(|p| p.issuer == norm) {
        return Issuer {
            url: Some(url.clone()),
            provider: Some(p.name),
            tenancy: "multi-tenant",
        };
    }
    if let Some(scoped) = TENANT_SCOPED
        .iter()
        .find(|t| norm.starts_with(t.prefix) && norm.len() > t.prefix.len())
    {
        let checked = mount.config_str("bound_issuer").is_some() || !scoped.shared_keys;
        return Issuer {
            url: Some(url.clone()),
            provider: Some(scoped.provider),
            tenancy: if checked {
                "tenant-scoped"
            } else {
                "multi-tenant"
            },
        };
    }
    Issuer {
        url: Some(url.clone()),
        provider: None,
        tenancy: "single-tenant",
    }
}

/// A glob in a role's bound claims.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct Glob {
    pub claim: String,
    pub value: String,
    /// `any`: the literal part is empty or only a structural prefix (`repo:`, `refs/`), so the
    /// glob matches every value of the claim; `partial`: a literal part narrows it.
    pub breadth: &'static str,
}

/// Structural prefixes that narrow nothing on their own.
const STRUCTURAL: &[&str] = &[
    "",
    "repo:",
    "refs/",
    "refs/heads/",
    "refs/tags/",
    "project_path:",
    "organization:",
    "org/",
    "account:",
    "environment:",
    "https://",
    "http://",
];

fn glob_breadth(value: &str) -> &'static str {
    let lit = &value[..value.find('*').unwrap_or(value.len())];
    if STRUCTURAL.contains(&lit) {
        "any"
    } else {
        "partial"
    }
}

/// JSON values of a bound claim as strings (lists flattened; numbers and booleans as text).
fn claim_values(v: &Value) -> Vec<String> {
    match v {
        Value::Array(xs) => xs.iter().flat_map(claim_values).collect(),
        Value::String(s) => vec![s.clone()],
        Value::Null => vec![],
        other => vec![other.to_string()],
    }
}

/// Whether a value of an owner claim pins the owner: with no glob, always; with a glob, only
/// when the literal part (after the structural prefix) holds the whole owner and its separator.
fn pins_owner(value: &str, structural: &str, owner_only: bool, glob: bool) -> bool {
    if !glob || !value.contains('*') {
        return !value.is_empty();
    }
    if owner_only {
        return false;
    }
    let lit = &value[..value.find('*').unwrap_or(value.len())];
    let Some(rest) = lit.strip_prefix(structural) else {
        return false;
    };
    match rest.find(['/', ':']) {
        Some(i) => i > 0,
        None => false,
    }
}

/// The strength assessment of a JWT/OIDC role.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct JwtFacts {
    pub role_type: String,
    pub issuer: Issuer,
    pub bound_audiences: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub bound_subject: String,
    pub bound_claims: serde_json::Map<String, Value>,
    pub bound_claims_type: String,
    /// The role pins the owner (organisation, group, account) of the workloads it admits, or
    /// its issuer is scoped to one tenant.
    pub owner_bound: bool,
    /// What pins the owner (`bound_claims.repository = "acme/payments"`, `bound_subject`,
    /// `issuer`), empty when nothing does.
    pub owner_binding: Vec<String>,
    /// The claims that pin the tenant on this issuer (`repository_owner_id`,
    /// `terraform_organization_id`, `workspaceUuid` …), empty for an unrecognised issuer.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tenant_claims: Vec<&'static str>,
    /// Bound-claim globs and how broad each is.
    pub globs: Vec<Glob>,
    pub user_claim: String,
    /// `false` when the alias claim is shared by many workloads (`repository_owner`, `ref`,
    /// `environment`, `aud` …): their logins collapse into one entity.
    pub user_claim_unique: bool,
    /// No audience, subject, claim or CIDR is bound: anyone the issuer mints a token for.
    pub unconstrained: bool,
    /// OpenBao `token_policies_template_claims`: policy names come from claims.
    pub policies_from_claims: bool,
}

/// Assess a JWT role on `mount`.
pub(crate) fn jwt(mount: &AuthMount, role: &JwtRole, fallback_iss: Option<&str>) -> JwtFacts {
    let issuer = issuer(mount, fallback_iss);
    let provider = issuer
        .provider
        .and_then(|n| PROVIDERS.iter().find(|p| p.name == n));
    let glob_type = role.effective_bound_claims_type() == "glob";
    let mut globs = Vec::new();
    if glob_type {
        for (k, v) in &role.bound_claims {
            for val in claim_values(v) {
                if val.contains('*') {
                    globs.push(Glob {
                        claim: k.clone(),
                        breadth: glob_breadth(&val),
                        value: val,
                    });
                }
            }
        }
    }
    let mut owner_binding = Vec::new();
    if issuer.tenancy == "tenant-scoped" {
        owner_binding.push(format!(
            "issuer {} is scoped to one tenant",
            issuer.url.as_deref().unwrap_or("")
        ));
    }
    if !role.bound_subject.is_empty() {
        owner_binding.push(format!("bound_subject = {:?}", role.bound_subject));
    }
    let owner_claims: &[(&str, &str, bool)] = match provider {
        Some(p) => p.owner_claims,
        None => &[
            ("organization", "", true),
            ("owner", "", true),
            ("repository_owner", "", true),
            ("namespace_path", "", true),
        ],
    };
    for (k, v) in &role.bound_claims {
        let key = k.trim_start_matches('/');
        let Some((_, structural, owner_only)) = owner_claims
            .iter()
            .find(|(c, _, _)| *c == key || *c == k.as_str())
        else {
            continue;
        };
        let values = claim_values(v);
        if !values.is_empty()
            && values
                .iter()
                .all(|val| pins_owner(val, structural, *owner_only, glob_type))
        {
            owner_binding.push(format!("bound_claims.{k} = {}", v));
        }
    }
    let shared: &[&str] = provider.map(|p| p.shared_claims).unwrap_or(GENERIC_SHARED);
    let user_claim = role.user_claim.trim_start_matches('/');
    let user_claim_unique = !(shared.contains(&user_claim) || GENERIC_SHARED.contains(&user_claim));
    JwtFacts {
        role_type: role.effective_role_type().to_string(),
        owner_bound: !owner_binding.is_empty(),
        owner_binding,
        issuer,
        bound_audiences: role.bound_audiences.clone(),
        bound_subject: role.bound_subject.clone(),
        bound_claims: role.bound_claims.clone(),
        bound_claims_type: role.effective_bound_claims_type().to_string(),
        tenant_claims: provider
            .map(|p| p.tenant_claims.to_vec())
            .unwrap_or_default(),
        globs,
        user_claim: role.user_claim.clone(),
        user_claim_unique,
        unconstrained: role.is_unconstrained(),
        policies_from_claims: role.token_policies_template_claims.unwrap_or(false),
    }
}

/// The strength assessment of a Kubernetes role.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct KubernetesFacts {
    pub service_account_names: Vec<String>,
    pub service_account_namespaces: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace_selector: String,
    /// `bound_service_account_names = ["*"]`.
    pub any_service_account: bool,
    /// `bound_service_account_namespaces = ["*"]` (and no selector narrows it).
    pub any_namespace: bool,
    /// Entries with a glob other than `*` alone (`arc-runner-*`).
    pub service_account_globs: Vec<String>,
    pub namespace_globs: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub audience: String,
}

pub(crate) fn kubernetes(role: &KubernetesRole) -> KubernetesFacts {
    let globs = |xs: &[String]| -> Vec<String> {
        xs.iter()
            .filter(|x| x.contains('*') && x.as_str() != "*")
            .cloned()
            .collect()
    };
    let any = |xs: &[String]| xs.iter().any(|x| x == "*");
    KubernetesFacts {
        any_service_account: any(&role.bound_service_account_names),
        any_namespace: any(&role.bound_service_account_namespaces),
        service_account_globs: globs(&role.bound_service_account_names),
        namespace_globs: globs(&role.bound_service_account_namespaces),
        service_account_names: role.bound_service_account_names.clone(),
        service_account_namespaces: role.bound_service_account_namespaces.clone(),
        namespace_selector: role.bound_service_account_namespace_selector.clone(),
        audience: role.audience.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn gha() -> AuthMount {
        serde_json::from_value(json!({
            "path": "gha/", "type": "jwt", "accessor": "a",
            "config": {"bound_issuer": "https://token.actions.githubusercontent.com"}
        }))
        .unwrap()
    }

    fn role(v: Value) -> JwtRole {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn github_owner_binding() {
        let m = gha();
        let lint = role(json!({"name": "lint", "bound_audiences": ["x"],
            "bound_claims": {"sub": "repo:*"}, "bound_claims_type": "glob", "user_claim": "sub"}));
        let f = jwt(&m, &lint, None);
        assert_eq!(f.issuer.tenancy, "multi-tenant");
        assert!(!f.owner_bound);
        assert_eq!(f.globs[0].breadth, "any");
        let ok = role(json!({"name": "c", "bound_audiences": ["x"],
            "bound_claims": {"sub": "repo:acme/checkout:*"}, "bound_claims_type": "glob",
            "user_claim": "repository"}));
        let f = jwt(&m, &ok, None);
        assert!(f.owner_bound, "{:?}", f.owner_binding);
        assert_eq!(f.globs[0].breadth, "partial");
        let prefix_only = role(json!({"name": "c", "bound_audiences": ["x"],
            "bound_claims": {"repository": "acme*"}, "bound_claims_type": "glob",
            "user_claim": "repository"}));
        assert!(!jwt(&m, &prefix_only, None).owner_bound);
        let exact = role(json!({"name": "c", "bound_audiences": ["x"],
            "bound_claims": {"repository": ["acme/a", "acme/b"]}, "user_claim": "repository_owner"}));
        let f = jwt(&m, &exact, None);
        assert!(f.owner_bound);
        assert!(!f.user_claim_unique);
    }

    #[test]
    fn terraform_and_bitbucket_tenants() {
        let tfc: AuthMount =
            serde_json::from_value(json!({"path": "tfc/", "type": "jwt", "accessor": "t",
            "config": {"bound_issuer": "https://app.terraform.io"}}))
            .unwrap();
        let by_name = role(json!({"name": "r", "bound_audiences": ["x"],
            "bound_claims": {"terraform_workspace_name": "billing-prod"}, "user_claim": "terraform_full_workspace"}));
        let f = jwt(&tfc, &by_name, None);
        assert!(
            !f.owner_bound,
            "a workspace name exists in every organisation"
        );
        assert_eq!(f.tenant_claims[0], "terraform_organization_id");
        let by_org = role(json!({"name": "r", "bound_audiences": ["x"],
            "bound_claims": {"terraform_organization_id": "org-Hk3dPq8sLm2Xv9Ra"}, "user_claim": "sub"}));
        assert!(jwt(&tfc, &by_org, None).owner_bound);
        let by_glob = role(
            json!({"name": "r", "bound_audiences": ["x"], "bound_claims_type": "glob",
            "bound_claims": {"sub": "organization:acme:project:*"}, "user_claim": "sub"}),
        );
        assert!(jwt(&tfc, &by_glob, None).owner_bound);
        let bb: AuthMount = serde_json::from_value(json!({"path": "bb/", "type": "jwt", "accessor": "b",
            "config": {"oidc_discovery_url": "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"}}))
        .unwrap();
        let by_ws = role(json!({"name": "r", "bound_audiences": ["x"],
            "bound_claims": {"workspaceUuid": "{3f6c2a1e-8b4d-4c7e-9a2f-5d1e0b7c9a34}"}, "user_claim": "sub"}));
        let f = jwt(&bb, &by_ws, None);
        assert_eq!(f.issuer.tenancy, "multi-tenant");
        assert!(f.owner_bound);
        let by_repo = role(json!({"name": "r", "bound_audiences": ["x"],
            "bound_claims": {"repositoryUuid": "{b2e4d6f8-1a3c-4e5f-8b7d-9c0a2e4f6b81}"}, "user_claim": "sub"}));
        assert!(jwt(&bb, &by_repo, None).owner_bound);
        let by_branch = role(json!({"name": "r", "bound_audiences": ["x"],
            "bound_claims": {"branchName": "main"}, "user_claim": "sub"}));
        assert!(!jwt(&bb, &by_branch, None).owner_bound);
    }

    #[test]
    fn issuers() {
        let m: AuthMount =
            serde_json::from_value(json!({"path": "j/", "type": "jwt", "accessor": "b",
            "config": {"bound_issuer": "https://oidc.circleci.com/org/1234"}}))
            .unwrap();
        assert_eq!(issuer(&m, None).tenancy, "tenant-scoped");
        // One JWKS for every Azure DevOps organisation: a discovery URL alone checks no `iss`.
        let azure = |config: Value| -> AuthMount {
            serde_json::from_value(
                json!({"path": "ado/", "type": "jwt", "accessor": "c", "config": config}),
            )
            .unwrap()
        };
        let url = "https://vstoken.dev.azure.com/5c3f1e2d-8a4b-4c6d-9e0f-1a2b3c4d5e6f";
        assert_eq!(
            issuer(&azure(json!({"oidc_discovery_url": url})), None).tenancy,
            "multi-tenant"
        );
        let pinned = azure(json!({"oidc_discovery_url": url, "bound_issuer": url}));
        assert_eq!(issuer(&pinned, None).tenancy, "tenant-scoped");
        let m: AuthMount =
            serde_json::from_value(json!({"path": "j/", "type": "jwt", "accessor": "b"})).unwrap();
        assert_eq!(issuer(&m, None).tenancy, "unknown");
        assert_eq!(
            issuer(&m, Some("https://gitlab.com")).tenancy,
            "multi-tenant"
        );
        assert_eq!(
            issuer(&m, Some("https://gitlab.acme.example")).tenancy,
            "single-tenant"
        );
    }
}
