# Policy least privilege: a pipeline should reach what it needs (`needs` in the inventory), with
# the capabilities it needs, and no more. Wildcards are where grants outgrow needs.
#
# Input: the facts document (docs/facts.md). Rule pages: docs/rules/least-privilege.*.md.
package blastmap.rules.least_privilege

import rego.v1

rules["least-privilege.wildcard-exceeds-needs"] := {
	"title": "Wildcard grants more secrets than the pipeline needs",
	"severity": "medium",
	"practice": "least-privilege",
	"description": "A `*` or `+` rule decides access to more of the pipeline's reachable secrets than the pipeline needs (per `needs` in the inventory). Every secret a wildcard adds beyond the need is blast radius with no purpose, and a wildcard keeps growing as secrets are added under it.",
	"remediation": "Replace the wildcard by exact paths (or a narrower prefix) covering only the secrets in the pipeline's `needs`; if other pipelines rely on the wildcard, give this pipeline its own policy.",
}

rules["least-privilege.broad-wildcard"] := {
	"title": "Wildcard at a broad root",
	"severity": "medium",
	"practice": "least-privilege",
	"description": "A policy rule puts a wildcard at the root of a secret mount (`secret/*`, `secret/data/+/…`), across mounts or namespaces (`data/*`), or one level below the root over secrets owned by another team than the pipelines using it (`secret/data/ci/*` used by every team). It covers every secret stored there today and tomorrow. High at the root of a mount or wider.",
	"remediation": "Scope the rule to the folder of the team or pipeline that uses it (`secret/data/<team>/<app>/*`) or to exact paths; split shared folders per consumer.",
}

rules["least-privilege.excess-capabilities"] := {
	"title": "More than read on secrets the pipeline only needs to read",
	"severity": "medium",
	"practice": "least-privilege",
	"description": "Secrets the pipeline needs are granted create, update, patch, delete, list or sudo on top of read. `needs` lists paths, which blastmap reads as read access: a compromised pipeline can overwrite, delete or enumerate what it was only meant to fetch (poisoning a deploy credential is as good as stealing it).",
	"remediation": "Grant only `read` on these paths (and `list` only on the metadata folder a job really enumerates). If the pipeline does write them, accept the finding with a suppression that says so.",
}

rules["least-privilege.unneeded-reach"] := {
	"title": "Most of the pipeline's reach is not needed",
	"severity": "medium",
	"practice": "least-privilege",
	"description": "The share of the pipeline's reachable secrets that no entry of its `needs` covers is above the threshold (`config.unneeded_ratio`, 0.5 by default). The blast radius of the pipeline is mostly secrets it has no use for. High when nine in ten reachable secrets are not needed.",
	"remediation": "Cut the policies of the roles this pipeline can log into down to its `needs`; check which roles it is admitted to (an unbound role such as a shared lint role often adds most of the excess).",
}

pipe_subject(p) := {"kind": "pipeline", "id": p.name, "name": p.name}

policy_subject(p) := {"kind": "policy", "id": sprintf("%s%s", [p.namespace, p.name]), "namespace": p.namespace, "name": p.name}

# Wildcards of a pipeline that grant secrets it does not need.
excess_wildcards(p) := [w |
	some w in p.reach.wildcards
	not w.templated
	w.needed != null
	w.secrets > w.needed
]

findings contains f if {
	some p in input.pipelines
	count(p.needs) > 0
	ws := excess_wildcards(p)
	count(ws) > 0
	extra := sum([(w.secrets - w.needed) | some w in ws])
	f := {
		"rule": "least-privilege.wildcard-exceeds-needs",
		"subject": pipe_subject(p),
		"message": sprintf(
			"%d wildcard rule(s) grant pipeline %s %d secrets it does not need: %s",
			[count(ws), p.name, extra, concat("; ", [sprintf("%s %q grants %d, %d needed", [w.policy, w.pattern, w.secrets, w.needed]) | some w in ws])],
		),
		"evidence": {
			"wildcards": [{"policy": w.policy, "pattern": w.pattern, "line": w.line, "secrets": w.secrets, "needed": w.needed, "unneeded_sample": w.unneeded_sample} | some w in ws],
			"needs": p.needs,
		},
	}
}

# Is a wildcard rule broad? Depth 0 (mount root) or -1 (spans mounts or namespaces) always;
# depth 1 when teams using the policy do not own what it covers.
broad(p, w) if w.depth <= 0

broad(p, w) if {
	w.depth == 1
	count(p.teams) > 0
	some t in p.teams
	not t in w.owners
	count(w.owners) + w.unowned > 0
}

broad_rules(p) := [w |
	some w in p.wildcard_rules
	w.secrets > 0
	broad(p, w)
]

broad_severity(ws) := "high" if {
	some w in ws
	w.depth <= 0
}

else := "medium"

where(w) := "across mounts or namespaces" if w.depth < 0

else := sprintf("at the root of %s", [w.mount]) if w.depth == 0

else := sprintf("one level below the root of %s, over secrets of %s", [w.mount, concat(", ", w.owners)])

findings contains f if {
	some p in input.policies
	ws := broad_rules(p)
	count(ws) > 0
	f := {
		"rule": "least-privilege.broad-wildcard",
		"severity": broad_severity(ws),
		"subject": policy_subject(p),
		"message": sprintf(
			"policy %q has %d broad wildcard rule(s): %s",
			[p.name, count(ws), concat("; ", [sprintf("%q (%s) %s covers %d known secrets", [w.pattern, concat(",", w.capabilities), where(w), w.secrets]) | some w in ws])],
		),
		"evidence": {
			"rules": [{"pattern": w.pattern, "line": w.line, "capabilities": w.capabilities, "depth": w.depth, "secrets": w.secrets, "owners": w.owners} | some w in ws],
			"used_by_teams": p.teams,
			"pipelines": p.pipelines,
		},
	}
}

findings contains f if {
	some p in input.pipelines
	n := p.reach.needs
	n.excess_count > 0
	f := {
		"rule": "least-privilege.excess-capabilities",
		"subject": pipe_subject(p),
		"message": sprintf(
			"pipeline %s is granted more than read on %d of the %d secrets it needs, e.g. %s",
			[p.name, n.excess_count, n.granted, concat("; ", [sprintf("%s: %s", [e.path, concat(",", e.extra)]) | some e in n.excess])],
		),
		"evidence": {"excess": n.excess, "excess_count": n.excess_count, "needs": p.needs},
	}
}

unneeded_severity(n) := "high" if n.unneeded_ratio >= 0.9

else := "medium"

findings contains f if {
	some p in input.pipelines
	n := p.reach.needs
	n.unneeded > 0
	n.unneeded_ratio > input.config.unneeded_ratio
	f := {
		"rule": "least-privilege.unneeded-reach",
		"severity": unneeded_severity(n),
		"subject": pipe_subject(p),
		"message": sprintf(
			"pipeline %s reaches %d secrets but needs %d: %d (%.0f%%) are granted without being needed",
			[p.name, p.reach.secrets, n.granted, n.unneeded, n.unneeded_ratio * 100],
		),
		"evidence": {
			"reachable": p.reach.secrets,
			"needed_and_granted": n.granted,
			"unneeded": n.unneeded,
			"unneeded_ratio": n.unneeded_ratio,
			"unneeded_sample": n.unneeded_sample,
			"not_granted": n.not_granted,
		},
	}
}
