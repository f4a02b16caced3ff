# Bootstrap credential minimization: the credential a pipeline logs in with (an AppRole
# secret-id, a password, a token) should be single-use, short-lived, bound to where the job runs,
# and delivered wrapped. Federated workload identity (JWT/OIDC, Kubernetes) needs none.
#
# Input: the facts document (docs/facts.md). Rule pages: docs/rules/bootstrap-credentials.*.md.
package blastmap.rules.bootstrap_credentials

import rego.v1

rules["bootstrap-credentials.secret-id-not-required"] := {
	"title": "AppRole login without a secret-id",
	"severity": "high",
	"practice": "bootstrap-credentials",
	"description": "The AppRole role has `bind_secret_id = false`: the role-id alone logs in. A role-id is an identifier, not a secret: it sits in CI variables, configuration files and logs, and the alias name of every login. Critical when no CIDR restricts where the login may come from.",
	"remediation": "Set `bind_secret_id = true` and have the orchestrator deliver a single-use, short-lived, response-wrapped secret-id per job; better, move the pipeline to JWT/OIDC or Kubernetes auth so it has no static credential at all.",
}

rules["bootstrap-credentials.secret-id-ttl"] := {
	"title": "AppRole secret-ids live long",
	"severity": "medium",
	"practice": "bootstrap-credentials",
	"description": "The role's secret-ids never expire (`secret_id_ttl = 0`) or live longer than `config.secret_id_ttl_long` (24h by default). A secret-id copied from a job's environment, a log or a backup keeps working long after the job. High when they never expire.",
	"remediation": "Set `secret_id_ttl` to minutes (the time between minting and the job's login), and mint a fresh secret-id per job.",
}

rules["bootstrap-credentials.secret-id-reusable"] := {
	"title": "AppRole secret-ids can be used many times",
	"severity": "medium",
	"practice": "bootstrap-credentials",
	"description": "The role's secret-ids allow unlimited logins (`secret_id_num_uses = 0`) or more than one. A stolen secret-id logs in again and again, in parallel with the legitimate job. High when unlimited.",
	"remediation": "Set `secret_id_num_uses = 1`: one secret-id, one login, one job.",
}

rules["bootstrap-credentials.no-cidr-binding"] := {
	"title": "AppRole credentials usable from anywhere",
	"severity": "medium",
	"practice": "bootstrap-credentials",
	"description": "The AppRole role binds neither its secret-ids (`secret_id_bound_cidrs`) nor its tokens (`token_bound_cidrs`) to network ranges: a leaked role-id and secret-id, or the token they yield, work from any address that reaches the server.",
	"remediation": "Set `secret_id_bound_cidrs` and `token_bound_cidrs` to the ranges the CI runners use.",
}

rules["bootstrap-credentials.static-credential"] := {
	"title": "Pipeline logs in with a static credential",
	"severity": "high",
	"practice": "bootstrap-credentials",
	"description": "The pipeline authenticates with a long-lived secret stored in the CI system: a userpass or LDAP password, or a Vault token. Such a credential is copied into variables, runners and logs, is shared by every run, and is rarely rotated.",
	"remediation": "Move the pipeline to workload identity: the CI platform's OIDC token (JWT auth with bound claims), a Kubernetes service account, or at least AppRole with per-job wrapped secret-ids.",
}

rules["bootstrap-credentials.token-role"] := {
	"title": "Token role mints orphan or long-lived tokens",
	"severity": "medium",
	"practice": "bootstrap-credentials",
	"description": "A token role (`auth/token/roles/<name>`) creates orphan tokens (they survive the revocation of the token that created them) or tokens that live long (periodic without an explicit max, or a lifetime above `config.long_lived`, 24h by default). Tokens minted from it for pipelines become standing credentials. High when both.",
	"remediation": "Set `orphan = false`, remove `token_period` or set `token_explicit_max_ttl`, and keep `token_max_ttl` to the job's duration.",
}

rules["bootstrap-credentials.secret-id-unwrapped"] := {
	"title": "Secret-ids can be fetched without response wrapping",
	"severity": "medium",
	"practice": "bootstrap-credentials",
	"description": "A policy lets its holder mint AppRole secret-ids (`auth/<mount>/role/<role>/secret-id`) without requiring response wrapping (`min_wrapping_ttl`). The orchestrator then receives the secret-id in clear and passes it on in clear, so it shows up in logs and variables, and a theft goes unnoticed (a wrapped secret-id can be unwrapped once). High when pipelines hold the policy.",
	"remediation": "Add `min_wrapping_ttl = \"30s\"` (and a small `max_wrapping_ttl`) to the rules that grant the secret-id path, and have the job unwrap the secret-id itself.",
}

role_subject(r) := {"kind": "role", "id": r.id, "namespace": r.namespace, "mount": r.mount, "name": r.name}

approles contains r if {
	some r in input.roles
	r.approle
}

findings contains f if {
	some r in approles
	not r.approle.bind_secret_id
	f := {
		"rule": "bootstrap-credentials.secret-id-not-required",
		"severity": unbound_severity(r.approle),
		"subject": role_subject(r),
		"message": sprintf(
			"AppRole role %s has bind_secret_id = false: its role-id alone logs in%s",
			[r.id, cidr_note(r.approle)],
		),
		"evidence": {"approle": r.approle, "policies": r.policies, "pipelines": r.pipelines.admitted},
	}
}

unbound_severity(a) := "high" if a.cidr_bound

else := "critical"

cidr_note(a) := sprintf(" (from %s)", [concat(", ", array.concat(a.secret_id_bound_cidrs, a.token_bound_cidrs))]) if a.cidr_bound

else := ", from anywhere"

ttl_problem(ttl) := ["high", "never expire (secret_id_ttl = 0)"] if ttl == 0

else := ["medium", sprintf("live %ds, above the %ds threshold", [ttl, input.config.secret_id_ttl_long])] if {
	ttl > input.config.secret_id_ttl_long
}

findings contains f if {
	some r in approles
	r.approle.bind_secret_id
	ttl := r.approle.secret_id_ttl
	problem := ttl_problem(ttl)
	f := {
		"rule": "bootstrap-credentials.secret-id-ttl",
		"severity": problem[0],
		"subject": role_subject(r),
		"message": sprintf("secret-ids of AppRole role %s %s", [r.id, problem[1]]),
		"evidence": {"secret_id_ttl": ttl, "threshold": input.config.secret_id_ttl_long, "pipelines": r.pipelines.admitted},
	}
}

uses(n) := ["high", "unlimited"] if n == 0

else := ["medium", sprintf("%d", [n])]

findings contains f if {
	some r in approles
	r.approle.bind_secret_id
	n := r.approle.secret_id_num_uses
	n != 1
	f := {
		"rule": "bootstrap-credentials.secret-id-reusable",
		"severity": uses(n)[0],
		"subject": role_subject(r),
		"message": sprintf("secret-ids of AppRole role %s allow %s logins each", [r.id, uses(n)[1]]),
		"evidence": {"secret_id_num_uses": n, "pipelines": r.pipelines.admitted},
	}
}

findings contains f if {
	some r in approles
	not r.approle.cidr_bound
	f := {
		"rule": "bootstrap-credentials.no-cidr-binding",
		"subject": role_subject(r),
		"message": sprintf(
			"AppRole role %s binds neither secret-ids nor tokens to a network range: its credentials work from anywhere",
			[r.id],
		),
		"evidence": {"approle": r.approle, "pipelines": r.pipelines.admitted},
	}
}

static_methods := {"userpass": "a password", "ldap": "a directory password", "token": "a Vault token"}

findings contains f if {
	some p in input.pipelines
	what := static_methods[p.auth.method]
	f := {
		"rule": "bootstrap-credentials.static-credential",
		"subject": {"kind": "pipeline", "id": p.name, "name": p.name},
		"message": sprintf(
			"pipeline %s logs in to auth/%s with %s (%s auth) stored in the CI system",
			[p.name, p.auth.mount, what, p.auth.method],
		),
		"evidence": {"auth": p.auth, "logins": [l.role | some l in p.logins]},
	}
}

long_lived(t) if t.max_lifetime == null

long_lived(t) if t.max_lifetime > input.config.long_lived

token_role_issues(r) := array.concat(
	["orphan tokens" | r.token_role.orphan],
	[lifetime_note(r.token) | long_lived(r.token)],
)

lifetime_note(t) := "tokens renewable forever (periodic, no explicit max)" if t.max_lifetime == null

else := sprintf("tokens living up to %dh", [t.max_lifetime / 3600])

count_severity(issues) := "high" if count(issues) > 1

else := "medium"

findings contains f if {
	some r in input.roles
	r.token_role
	issues := token_role_issues(r)
	count(issues) > 0
	f := {
		"rule": "bootstrap-credentials.token-role",
		"severity": count_severity(issues),
		"subject": role_subject(r),
		"message": sprintf(
			"token role %s mints %s (allowed policies: %s)",
			[r.id, concat(" and ", issues), concat(", ", r.token_role.allowed_policies)],
		),
		"evidence": {"token_role": r.token_role, "token": r.token},
	}
}

held_severity(p) := "high" if count(p.pipelines) > 0

else := "medium"

findings contains f if {
	some p in input.policies
	rs := [x | some x in p.secret_id_rules; x.min_wrapping_ttl == 0]
	count(rs) > 0
	f := {
		"rule": "bootstrap-credentials.secret-id-unwrapped",
		"severity": held_severity(p),
		"subject": {"kind": "policy", "id": sprintf("%s%s", [p.namespace, p.name]), "namespace": p.namespace, "name": p.name},
		"message": sprintf(
			"policy %q lets its holders mint secret-ids for %s without response wrapping (%s)",
			[p.name, concat(", ", {role | some x in rs; some role in x.roles}), concat(", ", [sprintf("%q line %d", [x.pattern, x.line]) | some x in rs])],
		),
		"evidence": {"rules": rs, "pipelines": p.pipelines, "roles": p.roles},
	}
}
