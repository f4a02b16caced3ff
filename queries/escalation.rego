# Privilege escalation beyond the seed: what a compromised pipeline's token can *write* that
# yields more privilege (policies, auth roles and config, identity, token roles, AppRole
# secret-ids, passwords, auth methods, sudo system paths), with the chain and the reach it adds.
# The facts pass follows chains transitively (`config.escalation_depth` steps) and counts the
# secrets added to the pipeline's blast radius (`blast_radius.escalated`).
#
# Input: the facts document (docs/facts.md). Rule pages: docs/rules/escalation.*.md.
package blastmap.rules.escalation

import rego.v1

rules["escalation.policy-write"] := {
	"title": "Pipeline can rewrite ACL policies",
	"severity": "high",
	"practice": "escalation",
	"description": "The pipeline's token can create or update ACL policies (`sys/policies/acl/<name>`, `sys/policy/<name>`). Rewriting a policy its own token holds (`default` included) grants it anything in that namespace and below; rewriting another policy changes the access of every token holding it. Critical when it reaches full control.",
	"remediation": "Remove policy write from pipeline policies. If a pipeline must roll out policies (policy as code), give that job a dedicated role on a protected branch and environment, limit it to a name prefix it does not hold (`sys/policies/acl/app-*`), and review changes before apply.",
}

rules["escalation.auth-role-write"] := {
	"title": "Pipeline can write auth roles",
	"severity": "high",
	"practice": "escalation",
	"description": "The pipeline's token can create or update auth roles or users (`auth/<mount>/role/<name>`, `certs/`, `users/`, `groups/`): it can define a role bound to its own credential with any non-root `token_policies`, then log in through it.",
	"remediation": "Remove write on auth role paths from pipeline policies; manage auth roles from a protected administration pipeline or by hand with review.",
}

rules["escalation.auth-config-write"] := {
	"title": "Pipeline can rewrite auth method configuration",
	"severity": "high",
	"practice": "escalation",
	"description": "The pipeline's token can write an auth method's config (`auth/<mount>/config`): trusting its own JWT signing keys or issuer, its own Kubernetes API server or LDAP directory. It can then forge any identity and log in through every role of the mount.",
	"remediation": "Remove write on `auth/*/config` from pipeline policies; auth configuration belongs to administrators.",
}

rules["escalation.identity-write"] := {
	"title": "Pipeline can change identity (entities, groups, aliases)",
	"severity": "high",
	"practice": "escalation",
	"description": "The pipeline's token can update identity objects: add its entity to a group with more policies, create a group with any policy, set its own entity's policies, re-point its alias at a privileged entity, merge entities or map group aliases. Identity policies apply on the next request.",
	"remediation": "Remove write on `identity/*` from pipeline policies; identity is administered centrally.",
}

rules["escalation.token-create"] := {
	"title": "Pipeline can create more privileged tokens",
	"severity": "high",
	"practice": "escalation",
	"description": "The pipeline's token can create tokens beyond its own policies: `auth/token/create` with sudo (any non-root policy, orphan, periodic), `auth/token/create/<role>` of a token role whose allowed policies exceed its own, or defining token roles. Creating orphan tokens (`auth/token/create-orphan`) gives persistence past revocation (reported low).",
	"remediation": "Remove sudo on `auth/token/create` and write on `auth/token/roles/*` from pipeline policies; restrict `auth/token/create/<role>` to roles whose allowed policies are a subset of the pipeline's.",
}

rules["escalation.credential-mint"] := {
	"title": "Pipeline can mint login credentials for other roles",
	"severity": "high",
	"practice": "escalation",
	"description": "The pipeline's token can mint AppRole secret-ids (`auth/<mount>/role/<role>/secret-id`), read role-ids of roles that need no secret-id, or reset userpass passwords: it can log in as those roles and users and gets their policies.",
	"remediation": "Give secret-id minting only to a dedicated orchestrator identity, scoped to the exact roles it serves and with response wrapping required; never to the pipelines that consume them.",
}

rules["escalation.auth-enable"] := {
	"title": "Pipeline can enable auth methods",
	"severity": "high",
	"practice": "escalation",
	"description": "The pipeline's token has sudo with write on `sys/auth/<path>`: it can enable a new auth method (userpass, say), create logins in it with any non-root policy, and log in.",
	"remediation": "Remove `sys/auth/*` from pipeline policies.",
}

rules["escalation.system-sudo"] := {
	"title": "Pipeline holds sudo on dangerous system paths",
	"severity": "high",
	"practice": "escalation",
	"description": "The pipeline's token has sudo on system paths that bypass policy or hide activity: `sys/raw/*` (raw storage: root-equivalent when the endpoint is enabled), `sys/plugins/catalog/*` (code execution), `sys/audit/*` (disable auditing), `sys/remount` (move mounts under granted paths).",
	"remediation": "Remove these paths from pipeline policies; they are for break-glass operators only.",
}

kind_rule := {
	"policy-write": "escalation.policy-write",
	"auth-role-write": "escalation.auth-role-write",
	"auth-config-write": "escalation.auth-config-write",
	"identity-group-write": "escalation.identity-write",
	"identity-group-create": "escalation.identity-write",
	"identity-entity-write": "escalation.identity-write",
	"identity-alias-write": "escalation.identity-write",
	"token-create-sudo": "escalation.token-create",
	"token-create-role": "escalation.token-create",
	"token-role-write": "escalation.token-create",
	"token-create-orphan": "escalation.token-create",
	"secret-id-mint": "escalation.credential-mint",
	"password-reset": "escalation.credential-mint",
	"auth-enable": "escalation.auth-enable",
	"raw-storage": "escalation.system-sudo",
	"plugin-register": "escalation.system-sudo",
	"audit-disable": "escalation.system-sudo",
	"remount": "escalation.system-sudo",
}

severity(e) := "critical" if count(e.full_namespaces) > 0

else := "high" if e.gained_secrets > 0

else := "low" if e.kind == "token-create-orphan"

else := "high"

chain_text(c) := concat(" -> ", [sprintf("%s %s%s", [s.kind, s.namespace, s.path]) | some s in c.steps])

gain_text(e) := sprintf(
	"full control of %s: %d secret(s) added to its blast radius",
	[concat(", ", [ns_label(n) | some n in e.full_namespaces]), e.gained_secrets],
) if count(e.full_namespaces) > 0

else := sprintf(
	"%d secret(s) added to its blast radius (%s)",
	[e.gained_secrets, owners_text(e.gained_by_owner)],
) if e.gained_secrets > 0

else := "no secret added to its own reach, but the step changes what other identities can do" if e.kind == "policy-write"

else := "no secret added to its own reach"

owners_text(m) := concat(", ", [sprintf("%s: %d", [k, v]) | some k, v in m]) if count(m) > 0

else := "no owning team"

ns_label(p) := "the root namespace" if p == ""

else := sprintf("namespace %s", [p])

findings contains f if {
	some p in input.pipelines
	some e in p.escalations
	rule := kind_rule[e.kind]
	c := e.chains[0]
	f := {
		"rule": rule,
		"severity": severity(e),
		"subject": {"kind": "pipeline", "id": p.name, "name": p.name, "primitive": e.kind},
		"message": sprintf(
			"pipeline %s can %s (%d target(s), e.g. %s) through %s: %s. Chain: %s",
			[p.name, c.steps[0].effect, e.targets_count, concat(", ", e.targets), concat(", ", e.roles), gain_text(e), chain_text(c)],
		),
		"evidence": {
			"primitive": e.kind,
			"targets": e.targets,
			"targets_count": e.targets_count,
			"roles": e.roles,
			"chains": e.chains,
			"max_depth": e.max_depth,
			"full_namespaces": e.full_namespaces,
			"gained_secrets": e.gained_secrets,
			"gained_by_owner": e.gained_by_owner,
			"gained_sample": e.gained_sample,
			"blast_radius": p.blast_radius,
		},
	}
}
