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
