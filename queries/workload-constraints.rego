# JWT and workload role constraints, rated by strength, not presence: a binding that every
# workload of the issuer satisfies binds nothing. On a shared CI/CD issuer (GitHub Actions,
# GitLab.com, Buildkite, Terraform Cloud …) every customer's jobs get tokens from the same
# issuer, so a role that does not pin the owner admits other organisations' workloads.
#
# Input: the facts document (docs/facts.md). Rule pages: docs/rules/workload-constraints.*.md.
package blastmap.rules.workload_constraints

import rego.v1

rules["workload-constraints.owner-unbound"] := {
	"title": "Role on a shared CI issuer does not bind the owner",
	"severity": "critical",
	"practice": "workload-constraints",
	"description": "A JWT role on a multi-tenant CI/CD issuer (GitHub Actions, GitLab.com, Buildkite, CircleCI, HCP Terraform …, or a per-tenant Bitbucket or Azure DevOps issuer whose keys every tenant shares, trusted without `bound_issuer`) binds no claim that pins the owner (`repository_owner`, `repository` = `owner/…`, `sub` = `repo:owner/…`, `namespace_path`, `project_path`, organisation, `terraform_organization_id`, `workspaceUuid`, `org_id`). Any workflow of any organisation on that platform can request a token with the right audience and log in. Audiences are chosen by the workflow, so `bound_audiences` does not pin the owner.",
	"remediation": "Bind the owner with an exact value (`bound_claims = {repository_owner_id = \"<id>\"}`, or `repository = \"acme/app\"`, or `sub = \"repo:acme/app:environment:production\"`), preferably immutable ids (`repository_owner_id`, `repository_id`, `namespace_id`).",
}

rules["workload-constraints.no-workload-binding"] := {
	"title": "JWT role binds no workload",
	"severity": "high",
	"practice": "workload-constraints",
	"description": "A JWT role binds no subject and no claim (only an audience, CIDRs, or nothing): every workload the issuer mints a token for, with that audience, logs in. On a shared issuer this is also reported as owner-unbound.",
	"remediation": "Bind the claims that identify the one workload the role is for (`sub`, `repository`/`project_path`, `environment`, `ref`, `job_workflow_ref`).",
}

rules["workload-constraints.no-audience"] := {
	"title": "JWT role without bound audiences",
	"severity": "medium",
	"practice": "workload-constraints",
	"description": "A JWT role has no `bound_audiences`. Tokens minted for any other relying party (a cloud provider, another Vault, a package registry) are not told apart from tokens minted for this server; OpenBao then accepts only tokens without an `aud`, which some issuers mint for any audience-less request.",
	"remediation": "Set `bound_audiences` to an audience unique to this server (`https://vault.example.com`), and have pipelines request it explicitly.",
}

rules["workload-constraints.broad-glob"] := {
	"title": "Glob bound claim admits every value",
	"severity": "medium",
	"practice": "workload-constraints",
	"description": "A glob-typed bound claim has a pattern whose literal part is empty or only a structural prefix (`repo:*`, `refs/*`, `*`): it admits every value the claim can take, e.g. every branch including pull-request merge refs, or every repository of the owner. High for such patterns; low for partial globs (`repo:acme/app:*`) that still admit every ref and environment of one repository.",
	"remediation": "Use exact values (`bound_claims_type = \"string\"`) or globs whose literal part names the workload and its trust level (`repo:acme/app:ref:refs/heads/main`, `repo:acme/app:environment:production`).",
}

rules["workload-constraints.shared-user-claim"] := {
	"title": "Alias claim is shared by many workloads",
	"severity": "medium",
	"practice": "workload-constraints",
	"description": "The role's `user_claim` (the entity alias name) is a claim many workloads share (`repository_owner`, `ref`, `environment`, `aud`, `namespace_path` …). All those workloads become one entity: they share identity policies, group memberships and templated per-entity paths, and the audit log cannot tell them apart.",
	"remediation": "Use a claim unique per workload as `user_claim`: `sub` or `job_workflow_ref` (GitHub), `sub` or `project_path` (GitLab).",
}

rules["workload-constraints.kubernetes-wildcard"] := {
	"title": "Kubernetes role admits any service account or namespace",
	"severity": "high",
	"practice": "workload-constraints",
	"description": "A Kubernetes auth role binds `*` service account names or `*` namespaces (critical when both), or globs (`runner-*`, low): any pod running under a matching service account, including one an attacker creates in a namespace they control, logs in with the role's policies.",
	"remediation": "List exact service account names and namespaces (`bound_service_account_names = [\"deployer\"]`, `bound_service_account_namespaces = [\"payments\"]`), one role per workload.",
}

rules["workload-constraints.cert-unconstrained"] := {
	"title": "Certificate role without name constraints",
	"severity": "medium",
	"practice": "workload-constraints",
	"description": "A TLS certificate auth entry constrains no name (`allowed_names`, `allowed_common_names`, DNS/email/URI SANs, OUs, required extensions): every certificate its CA ever issued logs in with its policies, whatever it was issued for.",
	"remediation": "Set `allowed_common_names` or `allowed_dns_sans` (or `allowed_uri_sans` with SPIFFE ids) to the workload's own names, or trust a CA that issues only to that workload.",
}

rules["workload-constraints.aws-broad-principal"] := {
	"title": "AWS role admits a whole account or any account",
	"severity": "high",
	"practice": "workload-constraints",
	"description": "An AWS auth role's `bound_iam_principal_arn` has a wildcard that admits every IAM role or user of an account (`arn:aws:iam::123456789012:*`, `…:role/*`; high), of any account (a leading `*`, or a literal part that stops inside the account id; critical) or of a path (`…:role/ci/*`; medium); or an EC2-checking role (`auth_type = ec2`, or an inferred `ec2_instance`) binds no `bound_account_id` (high). A `*` inside the ARN is compared literally by the plugin and matches nothing (low: the binding is broken).",
	"remediation": "Bind exact principal ARNs (`bound_iam_principal_arn = [\"arn:aws:iam::123456789012:role/ci/deployer\"]`) and keep `resolve_aws_unique_ids = true`, so a principal re-created under the same name is refused; bind `bound_account_id` on EC2 roles.",
}

rules["workload-constraints.gcp-broad-service-account"] := {
	"title": "GCP role admits any service account or any instance of a project",
	"severity": "high",
	"practice": "workload-constraints",
	"description": "A GCP auth role of type `iam` binds `bound_service_accounts = [\"*\"]` (critical without `bound_projects`: any service account of any project signs its way in; high with it), or a role of type `gce` binds nothing but `bound_projects` (every instance of the project, whoever runs it; critical without projects).",
	"remediation": "List the service accounts by email or unique id; bind `gce` roles to instance groups, labels or zones, and to the service account the instances run as.",
}

rules["workload-constraints.azure-any-principal"] := {
	"title": "Azure role admits any managed identity",
	"severity": "high",
	"practice": "workload-constraints",
	"description": "An Azure auth role's `bound_service_principal_ids` is empty or `*`: every managed identity that passes the other bindings logs in. High when only a subscription, resource group, location or scale set narrows it (any identity attached to any resource there); medium when a group binding does.",
	"remediation": "Set `bound_service_principal_ids` to the object ids of the pipeline's managed identities.",
}

rules["workload-constraints.github-org-unpinned"] := {
	"title": "GitHub auth mount does not pin the organisation id",
	"severity": "medium",
	"practice": "workload-constraints",
	"description": "A GitHub auth mount's config has no `organization_id`: the plugin resolves the organisation's name to an id at the next login and trusts that id from then on. If the organisation is renamed and its name registered by someone else before that login, their members log in with the mount's and the teams' policies.",
	"remediation": "Set `organization_id` in the mount's config (`vault write auth/github/config organization=acme organization_id=<id>`).",
}

rules["workload-constraints.github-broad-grant"] := {
	"title": "GitHub mount grants secrets to a whole organisation or team",
	"severity": "high",
	"practice": "workload-constraints",
	"description": "Every member of a GitHub auth mount's organisation can log in with a personal access token and gets the config's `token_policies` and the `default` mappings; every member of a mapped team also gets `map/teams/<team>`. When those policies reach secrets, the people holding them are everyone in the organisation (high) or everyone in the team, whoever joins it later included (medium when the team's mapping adds secrets of several teams or write access beyond what the organisation already has). Vault does not know a team's size: the finding is about what the grant reaches.",
	"remediation": "Give the config and `default` mappings no secret-reaching policies (`vault write auth/github/config token_policies=\"\"`); map secret-reaching policies to small teams of the secrets' owners (`vault write auth/github/map/teams/payments-oncall value=payments-read`), read-only; let pipelines log in with workload identity (JWT/OIDC) instead of personal tokens.",
}

role_subject(r) := {"kind": "role", "id": r.id, "namespace": r.namespace, "mount": r.mount, "name": r.name}

jwt_roles contains r if {
	some r in input.roles
	r.jwt.role_type == "jwt"
}

findings contains f if {
	some r in jwt_roles
	r.jwt.issuer.tenancy == "multi-tenant"
	not r.jwt.owner_bound
	f := {
		"rule": "workload-constraints.owner-unbound",
		"subject": role_subject(r),
		"message": sprintf(
			"role %s on the shared %s issuer (%s) does not pin the owner: any %s workload of any organisation with audience %s logs in with policies %s",
			[r.id, r.jwt.issuer.provider, r.jwt.issuer.url, r.jwt.issuer.provider, audience(r.jwt), concat(", ", r.policies)],
		),
		"evidence": {
			"issuer": r.jwt.issuer,
			"bound_subject": object.get(r.jwt, "bound_subject", ""),
			"bound_claims": r.jwt.bound_claims,
			"bound_claims_type": r.jwt.bound_claims_type,
			"bound_audiences": r.jwt.bound_audiences,
			"globs": r.jwt.globs,
			"tenant_claims": object.get(r.jwt, "tenant_claims", []),
			"pipelines": r.pipelines.admitted,
		},
	}
}

audience(j) := concat(" or ", j.bound_audiences) if count(j.bound_audiences) > 0

else := "(none)"

no_binding(j) if {
	object.get(j, "bound_subject", "") == ""
	count(j.bound_claims) == 0
}

findings contains f if {
	some r in jwt_roles
	no_binding(r.jwt)
	r.jwt.issuer.tenancy != "multi-tenant"
	f := {
		"rule": "workload-constraints.no-workload-binding",
		"subject": role_subject(r),
		"message": sprintf(
			"role %s binds no subject and no claim: every workload the issuer %s mints a token for (audience %s) logs in",
			[r.id, object.get(r.jwt.issuer, "url", "(unknown)"), audience(r.jwt)],
		),
		"evidence": {"issuer": r.jwt.issuer, "bound_audiences": r.jwt.bound_audiences, "unconstrained": r.jwt.unconstrained},
	}
}

findings contains f if {
	some r in jwt_roles
	count(r.jwt.bound_audiences) == 0
	f := {
		"rule": "workload-constraints.no-audience",
		"subject": role_subject(r),
		"message": sprintf("role %s has no bound_audiences: tokens minted for other relying parties are not told apart", [r.id]),
		"evidence": {"issuer": r.jwt.issuer, "bound_claims": r.jwt.bound_claims},
	}
}

glob_severity(gs) := "high" if {
	some g in gs
	g.breadth == "any"
}

else := "low"

# Owner-unbound roles are reported by owner-unbound (their globs are in its evidence).
findings contains f if {
	some r in jwt_roles
	count(r.jwt.globs) > 0
	not owner_unbound(r)
	f := {
		"rule": "workload-constraints.broad-glob",
		"severity": glob_severity(r.jwt.globs),
		"subject": role_subject(r),
		"message": sprintf(
			"role %s binds claims with globs: %s",
			[r.id, concat("; ", [sprintf("%s = %q (%s)", [g.claim, g.value, breadth_text(g)]) | some g in r.jwt.globs])],
		),
		"evidence": {"globs": r.jwt.globs, "bound_claims": r.jwt.bound_claims, "pipelines": r.pipelines.admitted},
	}
}

owner_unbound(r) if {
	r.jwt.issuer.tenancy == "multi-tenant"
	not r.jwt.owner_bound
}

breadth_text(g) := "matches every value" if g.breadth == "any"

else := "matches every value with this prefix"

findings contains f if {
	some r in jwt_roles
	not r.jwt.user_claim_unique
	f := {
		"rule": "workload-constraints.shared-user-claim",
		"subject": role_subject(r),
		"message": sprintf(
			"role %s uses user_claim %q, which many workloads share: their logins collapse into one entity",
			[r.id, r.jwt.user_claim],
		),
		"evidence": {"user_claim": r.jwt.user_claim, "issuer": r.jwt.issuer, "pipelines": r.pipelines.admitted},
	}
}

k8s_severity(k) := "critical" if {
	k.any_service_account
	k.any_namespace
}

else := "high" if k.any_service_account

else := "high" if k.any_namespace

else := "low"

k8s_issues(k) := array.concat(
	array.concat(
		["any service account name (*)" | k.any_service_account],
		["any namespace (*)" | k.any_namespace],
	),
	array.concat(
		[sprintf("service account globs %s", [concat(", ", k.service_account_globs)]) | count(k.service_account_globs) > 0],
		[sprintf("namespace globs %s", [concat(", ", k.namespace_globs)]) | count(k.namespace_globs) > 0],
	),
)

findings contains f if {
	some r in input.roles
	k := r.kubernetes
	issues := k8s_issues(k)
	count(issues) > 0
	f := {
		"rule": "workload-constraints.kubernetes-wildcard",
		"severity": k8s_severity(k),
		"subject": role_subject(r),
		"message": sprintf(
			"Kubernetes role %s admits %s (policies %s)",
			[r.id, concat(" and ", issues), concat(", ", r.policies)],
		),
		"evidence": {
			"service_account_names": k.service_account_names,
			"service_account_namespaces": k.service_account_namespaces,
			"pipelines": r.pipelines.admitted,
		},
	}
}

findings contains f if {
	some r in input.roles
	c := r.cert
	not c.name_constraints
	f := {
		"rule": "workload-constraints.cert-unconstrained",
		"subject": role_subject(r),
		"message": sprintf(
			"certificate role %s constrains no name: every certificate its CA issued logs in with policies %s",
			[r.id, concat(", ", r.policies)],
		),
		"evidence": {"pipelines": r.pipelines.admitted},
	}
}

aws_breadth_severity := {"any-account": "critical", "account": "high", "prefix": "medium", "literal": "low"}

aws_breadth_text := {
	"any-account": "principals of any account",
	"account": "every principal of the account",
	"prefix": "every principal under the prefix",
	"literal": "nothing (a * inside an ARN is literal)",
}

severity_rank := {"low": 1, "medium": 2, "high": 3, "critical": 4}

aws_issues(a) := array.concat(
	[sprintf("bound_iam_principal_arn %q admits %s", [w.pattern, aws_breadth_text[w.breadth]]) | some w in a.principal_wildcards],
	["no bound_account_id on an EC2-checking role" | a.account_unbound],
)

aws_severities(a) := array.concat(
	[aws_breadth_severity[w.breadth] | some w in a.principal_wildcards],
	["high" | a.account_unbound],
)

# The highest severity among a role's issues.
top_severity(sevs) := s if {
	ranks := [severity_rank[x] | some x in sevs]
	some s in sevs
	severity_rank[s] == max(ranks)
}

findings contains f if {
	some r in input.roles
	a := r.aws
	issues := aws_issues(a)
	count(issues) > 0
	f := {
		"rule": "workload-constraints.aws-broad-principal",
		"severity": top_severity(aws_severities(a)),
		"subject": role_subject(r),
		"message": sprintf("AWS role %s: %s (policies %s)", [r.id, concat("; ", issues), concat(", ", r.policies)]),
		"evidence": {
			"auth_type": a.auth_type,
			"bound_iam_principal_arn": a.bound_iam_principal_arn,
			"bound_account_id": a.bound_account_id,
			"pipelines": r.pipelines.admitted,
		},
	}
}

gcp_issue(g) := "any service account of any project" if {
	g.any_service_account
	count(g.bound_projects) == 0
}

else := sprintf("any service account of projects %s", [concat(", ", g.bound_projects)]) if g.any_service_account

else := "every instance of any project" if {
	g.project_only
	count(g.bound_projects) == 0
}

else := sprintf("every instance of projects %s", [concat(", ", g.bound_projects)]) if g.project_only

findings contains f if {
	some r in input.roles
	g := r.gcp
	issue := gcp_issue(g)
	f := {
		"rule": "workload-constraints.gcp-broad-service-account",
		"severity": gcp_severity(g),
		"subject": role_subject(r),
		"message": sprintf("GCP %s role %s admits %s (policies %s)", [g.role_type, r.id, issue, concat(", ", r.policies)]),
		"evidence": {
			"bound_service_accounts": g.bound_service_accounts,
			"bound_projects": g.bound_projects,
			"pipelines": r.pipelines.admitted,
		},
	}
}

gcp_severity(g) := "critical" if count(g.bound_projects) == 0

else := "high"

azure_scope(z) := array.concat(
	array.concat(
		[sprintf("subscriptions %s", [concat(", ", z.bound_subscription_ids)]) | count(z.bound_subscription_ids) > 0],
		[sprintf("resource groups %s", [concat(", ", z.bound_resource_groups)]) | count(z.bound_resource_groups) > 0],
	),
	array.concat(
		[sprintf("scale sets %s", [concat(", ", z.bound_scale_sets)]) | count(z.bound_scale_sets) > 0],
		[sprintf("locations %s", [concat(", ", z.bound_locations)]) | count(z.bound_locations) > 0],
	),
)

azure_narrowing(z) := "its group binding" if not z.any_group

else := concat(", ", azure_scope(z)) if count(azure_scope(z)) > 0

else := "nothing"

# Both empty or both `*` is refused by the plugin (verifyRole): such a role admits no one.
findings contains f if {
	some r in input.roles
	z := r.azure
	z.any_principal
	not z.admits_none
	f := {
		"rule": "workload-constraints.azure-any-principal",
		"severity": azure_severity(z),
		"subject": role_subject(r),
		"message": sprintf("Azure role %s admits any managed identity, narrowed only by %s (policies %s)", [r.id, azure_narrowing(z), concat(", ", r.policies)]),
		"evidence": {
			"bound_subscription_ids": z.bound_subscription_ids,
			"bound_resource_groups": z.bound_resource_groups,
			"pipelines": r.pipelines.admitted,
		},
	}
}

azure_severity(z) := "medium" if not z.any_group

else := "high"

findings contains f if {
	some m in input.auth_mounts
	g := m.github
	object.get(g, "organization_id", null) == null
	f := {
		"rule": "workload-constraints.github-org-unpinned",
		"subject": {"kind": "auth_mount", "id": m.id, "namespace": m.namespace, "path": m.path},
		"message": sprintf("GitHub mount %s trusts organization %q by name: organization_id is unset and is pinned from the name at the next login", [m.id, g.organization]),
		"evidence": {"organization": g.organization, "pipelines": m.pipelines},
	}
}

findings contains f if {
	some m in input.auth_mounts
	some g in m.github.grants
	github_grant_reported(g)
	f := {
		"rule": "workload-constraints.github-broad-grant",
		"severity": github_grant_severity(g),
		"subject": {"kind": "auth_mount", "id": m.id, "namespace": m.namespace, "path": m.path},
		"message": sprintf("GitHub mount %s gives %s policies %s: %d known secrets%s (%d writable; %s)", [m.id, github_grantees(m, g), concat(", ", g.policies), g.secrets, github_beyond(g), g.write_secrets, github_owned_by(g)]),
		"evidence": {
			"scope": g.scope,
			"team": g.team,
			"organization": m.github.organization,
			"policies": g.policies,
			"secrets": g.secrets,
			"write_secrets": g.write_secrets,
			"owners": g.owners,
			"unowned": g.unowned,
			"pipelines": m.pipelines,
		},
	}
}

github_grant_reported(g) if {
	g.scope == "organization"
	g.secrets > 0
}

github_grant_reported(g) if {
	g.scope == "team"
	g.write_secrets > 0
}

github_grant_reported(g) if {
	g.scope == "team"
	count(g.owners) + min([g.unowned, 1]) > 1
}

github_grant_severity(g) := "high" if g.scope == "organization"

else := "medium"

github_grantees(m, g) := sprintf("every member of organization %q", [m.github.organization]) if g.scope == "organization"

else := sprintf("every member of team %q", [g.team])

github_beyond(g) := "" if g.scope == "organization"

else := " beyond what every member of the organization gets"

github_owned_by(g) := sprintf("owned by %s", [concat(", ", array.concat(g.owners, [sprintf("%d without owner", [g.unowned]) | g.unowned > 0]))]) if count(g.owners) > 0

else := "no owner in the inventory"
