# Token TTL alignment: a pipeline's token should die with its job. A token that outlives the job
# is a credential an attacker can lift from a runner, a log or a cache and use later.
#
# Input: the facts document (docs/facts.md). Rule pages: docs/rules/token-ttl.*.md.
package blastmap.rules.token_ttl

import rego.v1

rules["token-ttl.unset"] := {
	"title": "Token TTLs not set on the role",
	"severity": "medium",
	"practice": "token-ttl",
	"description": "The role sets no `token_ttl` or no `token_max_ttl`, so its tokens fall back to the mount's tuned TTLs or, when the mount is not tuned either, to the system default of 768 hours (32 days). Nobody chose how long these tokens live. High when the fallback is the system's 768h.",
	"remediation": "Set `token_ttl` to the pipeline's longest job and `token_max_ttl` to a small multiple of it on the role (for example 20m and 30m), or tune the mount's `default_lease_ttl`/`max_lease_ttl` down for every role on it.",
}

rules["token-ttl.exceeds-job"] := {
	"title": "Token outlives the pipeline's job",
	"severity": "medium",
	"practice": "token-ttl",
	"description": "The longest lifetime of the pipeline's token (its max TTL with renewals; unbounded for periodic tokens) is longer than the pipeline's `max_job_duration` times the slack (`config.ttl_slack`, 1.5 by default). After the job ends the token stays valid. High above 24 hours or when unbounded.",
	"remediation": "Lower `token_ttl` and `token_max_ttl` (or `token_explicit_max_ttl`) of the role to the job's duration times a small slack, and revoke the token at the end of the job (`vault token revoke -self`).",
}

rules["token-ttl.round-value"] := {
	"title": "Whole-day token TTL",
	"severity": "low",
	"practice": "token-ttl",
	"description": "A token TTL, max TTL, explicit max or period of the role is a whole number of days (24h, 72h, 168h, 768h …). Round day values are defaults copied between roles rather than sized to a job; CI jobs run for minutes.",
	"remediation": "Size the TTLs to the job that uses the role (minutes to a few hours) and document why when a pipeline really needs longer.",
}

rules["token-ttl.periodic"] := {
	"title": "Periodic token for a pipeline",
	"severity": "medium",
	"practice": "token-ttl",
	"description": "The role issues periodic tokens (`token_period`): each renewal resets the TTL to the period, so without `token_explicit_max_ttl` the token can be renewed forever. A pipeline token lifted once stays usable indefinitely. High when no explicit max bounds it.",
	"remediation": "Remove `token_period` from roles used by pipelines and use `token_ttl`/`token_max_ttl`; if a long-running agent really needs a periodic token, cap it with `token_explicit_max_ttl`.",
}

role_subject(r) := {"kind": "role", "id": r.id, "namespace": r.namespace, "mount": r.mount, "name": r.name}

# Roles that issue tokens to workloads: admitted by some pipeline, or of a machine auth kind.
workload_kinds := {"jwt", "kubernetes", "approle", "cert", "cel"}

workload_role(r) if count(r.pipelines.admitted) > 0

workload_role(r) if count(r.pipelines.unknown) > 0

workload_role(r) if r.kind in workload_kinds

# A duration in seconds as whole hours, minutes or seconds (2h, 45m, 1350s).
hours(secs) := sprintf("%dh", [s / 3600]) if {
	s := round(secs)
	s >= 3600
	s % 3600 == 0
} else := sprintf("%dm", [round(secs) / 60]) if {
	round(secs) % 60 == 0
} else := sprintf("%ds", [round(secs)])

lifetime(t) := "unbounded (renewable forever)" if t.max_lifetime == null

else := hours(t.max_lifetime)

# A periodic token's TTL is its period: token_ttl does not matter then.
ttl_covered(t) if t.ttl_set

ttl_covered(t) if t.period

unset_fields(t) := array.concat(
	["token_ttl" | not ttl_covered(t)],
	["token_max_ttl" | not t.max_ttl_set],
)

unset_severity(t) := "high" if t.max_ttl_source == "system"

else := "high" if {
	not ttl_covered(t)
	t.ttl_source == "system"
}

else := "medium"

findings contains f if {
	some r in input.roles
	r.kind != "token"
	t := r.token
	workload_role(r)
	fields := unset_fields(t)
	count(fields) > 0
	f := {
		"rule": "token-ttl.unset",
		"severity": unset_severity(t),
		"subject": role_subject(r),
		"message": sprintf(
			"role %s does not set %s: its tokens get a TTL of %s (from the %s) and can be renewed up to %s (from the %s)",
			[r.id, concat(" or ", fields), hours(t.ttl), t.ttl_source, hours(t.max_ttl), t.max_ttl_source],
		),
		"evidence": {
			"unset": fields,
			"ttl": t.ttl,
			"ttl_source": t.ttl_source,
			"max_ttl": t.max_ttl,
			"max_ttl_source": t.max_ttl_source,
			"pipelines": r.pipelines.admitted,
		},
	}
}

# The logins to judge for a pipeline: its configured role, else every possible login.
judged_logins(p) := [x | some x in p.logins; x.configured] if {
	some l in p.logins
	l.configured
}

else := p.logins

too_long(l, limit) if l.token.max_lifetime == null

too_long(l, limit) if l.token.max_lifetime > limit

exceeds_severity(ls) := "high" if {
	some l in ls
	l.token.max_lifetime == null
}

else := "high" if {
	some l in ls
	l.token.max_lifetime > 86400
}

else := "medium"

findings contains f if {
	some p in input.pipelines
	p.max_job_duration
	limit := p.max_job_duration * input.config.ttl_slack
	ls := [l | some l in judged_logins(p); too_long(l, limit)]
	count(ls) > 0
	f := {
		"rule": "token-ttl.exceeds-job",
		"severity": exceeds_severity(ls),
		"subject": {"kind": "pipeline", "id": p.name, "name": p.name},
		"message": sprintf(
			"pipeline %s's jobs run at most %s (%s with slack %v) but its tokens live longer: %s",
			[p.name, hours(p.max_job_duration), hours(limit), input.config.ttl_slack, concat("; ", [sprintf("%s: up to %s", [l.role, lifetime(l.token)]) | some l in ls])],
		),
		"evidence": {
			"max_job_duration": p.max_job_duration,
			"limit": round(limit),
			"logins": [{"role": l.role, "ttl": l.token.ttl, "max_ttl": l.token.max_ttl, "max_lifetime": l.token.max_lifetime, "period": object.get(l.token, "period", null)} | some l in ls],
		},
	}
}

findings contains f if {
	some r in input.roles
	t := r.token
	workload_role(r)
	count(t.round_values) > 0
	f := {
		"rule": "token-ttl.round-value",
		"subject": role_subject(r),
		"message": sprintf(
			"role %s uses whole-day token durations: %s",
			[r.id, concat(", ", [sprintf("%s = %s", [v.field, hours(v.seconds)]) | some v in t.round_values])],
		),
		"evidence": {"values": t.round_values, "pipelines": r.pipelines.admitted},
	}
}

periodic_severity(t) := "high" if t.max_lifetime == null

else := "medium"

findings contains f if {
	some r in input.roles
	r.kind != "token"
	t := r.token
	workload_role(r)
	t.period
	f := {
		"rule": "token-ttl.periodic",
		"severity": periodic_severity(t),
		"subject": role_subject(r),
		"message": sprintf(
			"role %s issues periodic tokens (token_period = %s): lifetime %s",
			[r.id, hours(t.period), lifetime(t)],
		),
		"evidence": {
			"token_period": t.period,
			"explicit_max_ttl": object.get(t, "explicit_max_ttl", null),
			"max_lifetime": t.max_lifetime,
			"pipelines": r.pipelines.admitted,
		},
	}
}
