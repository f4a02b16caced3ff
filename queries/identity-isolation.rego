# Workload identity isolation: one pipeline, one identity. When several pipelines share a role,
# an entity or an AppRole credential, compromising the least trusted of them yields the access of
# the most trusted, and the audit log cannot tell them apart.
#
# Input: the facts document (docs/facts.md). Rule pages: docs/rules/identity-isolation.*.md.
package blastmap.rules.identity_isolation

import rego.v1

rules["identity-isolation.shared-role"] := {
	"title": "Role admitted by several pipelines",
	"severity": "medium",
	"practice": "identity-isolation",
	"description": "One auth role admits several pipelines: their credentials (JWT claims, Kubernetes service accounts, certificates) all satisfy its bindings, so they all get its token policies. Compromising the least trusted of them (a pull-request build, a lint job) yields the access meant for the most trusted. High when the pipelines belong to different teams.",
	"remediation": "Give each pipeline its own role, bound to values only that pipeline's credential carries (GitHub: repository plus environment or job_workflow_ref; GitLab: project_path plus ref; Kubernetes: one service account in one namespace), with only the policies that pipeline needs.",
}

rules["identity-isolation.shared-entity"] := {
	"title": "Identity entity shared by several pipelines",
	"severity": "medium",
	"practice": "identity-isolation",
	"description": "The logins of several pipelines map to the same identity entity (their alias names are equal, e.g. a user_claim of `repository` for the deploy and the pull-request workflow of one repository). They share the entity's policies, its groups' policies, and every identity-templated path such as per-entity KV folders, so one pipeline can read and overwrite what another stores there. High when the pipelines belong to different teams.",
	"remediation": "Choose a user_claim (alias) that is unique per pipeline (GitHub: `sub` or `job_workflow_ref`; GitLab: `sub`), or give each pipeline its own role and mount alias, so each gets its own entity; grant identity policies per entity, not to a shared one.",
}

rules["identity-isolation.login-dependent-entity"] := {
	"title": "Shared entity whose grants follow the last login",
	"severity": "high",
	"practice": "identity-isolation",
	"description": "The logins of several pipelines map to one identity entity, and each login rewrites that entity differently (the alias metadata from its own claims, its external groups from its own groups claim). The server resolves templated policies and group policies per request from the entity as the last login left it, so the grants of a token already issued to one pipeline change whenever another pipeline logs in: one pipeline can reach what another's login grants.",
	"remediation": "Give each pipeline its own entity (a user_claim or alias unique per pipeline, e.g. `sub`), or stop depending on login-written metadata and external groups for the shared entity: grant per-pipeline paths through per-role token policies.",
}

rules["identity-isolation.shared-approle"] := {
	"title": "AppRole role used by several pipelines",
	"severity": "medium",
	"practice": "identity-isolation",
	"description": "Several pipelines hold credentials (role-id and secret-ids) for the same AppRole role. The role-id is shared, secret-ids cannot be told apart, and a secret-id leaked from one pipeline logs in as all of them; the audit log shows one identity. High when the pipelines belong to different teams.",
	"remediation": "Create one AppRole role per pipeline with its own role-id and the policies that pipeline needs, and have the orchestrator mint secret-ids per pipeline run.",
}

rules["identity-isolation.shared-policy"] := {
	"title": "Policy shared by pipelines of several teams",
	"severity": "medium",
	"practice": "identity-isolation",
	"description": "One (non-templated) ACL policy is attached to the roles, entities or groups of pipelines of several teams. Its grants are not scoped to any one team: every team gets what any other needed, and a change made for one team silently changes the others' access.",
	"remediation": "Split the policy per team (or per pipeline), or make it an identity-templated policy whose paths name the entity or group, so each pipeline only reaches its own paths.",
}

role_subject(r) := {"kind": "role", "id": r.id, "namespace": r.namespace, "mount": r.mount, "name": r.name}

team_severity(teams) := "high" if count(teams) > 1

else := "medium"

team_note(teams) := sprintf(" of %d teams (%s)", [count(teams), concat(", ", teams)]) if count(teams) > 1

else := ""

findings contains f if {
	some r in input.roles
	r.kind != "approle"
	count(r.pipelines.admitted) > 1
	f := {
		"rule": "identity-isolation.shared-role",
		"severity": team_severity(r.pipelines.teams),
		"subject": role_subject(r),
		"message": sprintf(
			"role %s admits %d pipelines%s: %s; each of them gets the same token policies (%s)",
			[r.id, count(r.pipelines.admitted), team_note(r.pipelines.teams), concat(", ", r.pipelines.admitted), concat(", ", r.policies)],
		),
		"evidence": {
			"pipelines": r.pipelines.admitted,
			"teams": r.pipelines.teams,
			"policies": r.policies,
		},
	}
}

findings contains f if {
	some e in input.entities
	count(e.pipelines) > 1
	f := {
		"rule": "identity-isolation.shared-entity",
		"severity": team_severity(e.teams),
		"subject": {"kind": "entity", "id": sprintf("%s%s", [e.namespace, e.name]), "name": e.name, "namespace": e.namespace, "entity_id": e.id},
		"message": sprintf(
			"entity %q is the identity of %d pipelines%s: %s (through %s); they share its identity policies and every per-entity templated path",
			[e.name, count(e.pipelines), team_note(e.teams), concat(", ", e.pipelines), concat(", ", e.roles)],
		),
		"evidence": {
			"pipelines": e.pipelines,
			"roles": e.roles,
			"teams": e.teams,
			"entity_policies": e.policies,
		},
	}
}

findings contains f if {
	some e in input.entities
	count(e.login_dependent) > 0
	f := {
		"rule": "identity-isolation.login-dependent-entity",
		"severity": "high",
		"subject": {"kind": "entity", "id": sprintf("%s%s", [e.namespace, e.name]), "name": e.name, "namespace": e.namespace, "entity_id": e.id},
		"message": sprintf(
			"entity %q is the identity of %s, whose logins rewrite it differently: a token of one reaches what the last login of another grants (%s)",
			[e.name, concat(", ", e.pipelines), concat("; ", [sprintf("%s via %s: %d paths", [l.pipeline, l.role, count(l.paths)]) | some l in e.login_dependent])],
		),
		"evidence": {
			"pipelines": e.pipelines,
			"roles": e.roles,
			"teams": e.teams,
			"logins": e.login_dependent,
		},
	}
}

findings contains f if {
	some r in input.roles
	r.kind == "approle"
	count(r.pipelines.admitted) > 1
	f := {
		"rule": "identity-isolation.shared-approle",
		"severity": team_severity(r.pipelines.teams),
		"subject": role_subject(r),
		"message": sprintf(
			"AppRole role %s is used by %d pipelines%s: %s; they share one role-id and indistinguishable secret-ids",
			[r.id, count(r.pipelines.admitted), team_note(r.pipelines.teams), concat(", ", r.pipelines.admitted)],
		),
		"evidence": {
			"pipelines": r.pipelines.admitted,
			"teams": r.pipelines.teams,
			"policies": r.policies,
		},
	}
}

findings contains f if {
	some p in input.policies
	p.name != "default"
	not p.templated_only
	count(p.teams) > 1
	f := {
		"rule": "identity-isolation.shared-policy",
		"subject": {"kind": "policy", "id": sprintf("%s%s", [p.namespace, p.name]), "namespace": p.namespace, "name": p.name},
		"message": sprintf(
			"policy %q is held by pipelines of %d teams (%s): %s",
			[p.name, count(p.teams), concat(", ", p.teams), concat(", ", p.pipelines)],
		),
		"evidence": {
			"teams": p.teams,
			"pipelines": p.pipelines,
			"roles": p.roles,
			"groups": p.groups,
			"entities": p.entities,
		},
	}
}
