# Multi-team isolation: a team's pipelines should reach only that team's secrets, and teams
# should not depend on each other's auth configuration. Ownership comes from `teams[].owns` in
# the inventory. (Roles and policies shared across teams are reported by identity-isolation
# shared-role and shared-policy, with high severity across teams, so they are not repeated here.)
#
# Input: the facts document (docs/facts.md). Rule pages: docs/rules/team-isolation.*.md.
package blastmap.rules.team_isolation

import rego.v1

rules["team-isolation.cross-team-reach"] := {
	"title": "Pipeline reaches another team's secrets",
	"severity": "high",
	"practice": "team-isolation",
	"description": "A pipeline of one team can read (or write) secrets that the inventory says another team owns. Compromising one team's CI then compromises the other team's services, and the other team never approved the access. Critical when the pipeline can write or delete them.",
	"remediation": "Remove the grant (usually a wildcard or `+` rule, or a shared role or policy, listed in the evidence) or move the shared secret to a folder owned by both teams explicitly; give cross-team consumers their own narrowly scoped policy, approved by the owning team.",
}

rules["team-isolation.shared-auth-mount"] := {
	"title": "Auth mount shared by several teams",
	"severity": "low",
	"practice": "team-isolation",
	"description": "Pipelines of several teams log in through the same auth mount. Its configuration (issuer, keys, default TTLs, token type) and anyone allowed to write its roles affect every team, and a role written for one team can admit another team's workloads.",
	"remediation": "Give each team its own mount (or namespace) for its pipelines, or restrict who may write roles on the shared mount and review them per team.",
}

rules["team-isolation.shared-namespace"] := {
	"title": "Teams share a namespace and its secret mounts",
	"severity": "low",
	"practice": "team-isolation",
	"description": "Several teams run pipelines in one namespace and keep their secrets in the same secret mounts. Their separation rests on path rules alone: one broad rule, one `+` segment or one misplaced secret crosses teams, and namespace-level administration (policies, auth mounts, identity) is shared.",
	"remediation": "Give each team a namespace (or at least its own secret mount) and delegate administration per namespace.",
}

pipe_subject(p, owner) := {"kind": "pipeline", "id": p.name, "name": p.name, "owner": owner}

# A secret of tied owners (shared ownership) belongs to each of them: a pipeline of any of them
# reaching it stays inside its team.
owned_by(o, team) if o.team == team

owned_by(o, team) if team in o.shared_by

cross_severity(o) := "critical" if o.write

else := "high"

findings contains f if {
	some p in input.pipelines
	p.team
	some o in p.reach.by_owner
	not owned_by(o, p.team)
	f := {
		"rule": "team-isolation.cross-team-reach",
		"severity": cross_severity(o),
		"subject": pipe_subject(p, o.team),
		"message": sprintf(
			"pipeline %s (team %s) reaches %d secret(s) of team %s with %s, through %s; e.g. %s",
			[p.name, p.team, o.secrets, o.team, concat(",", o.capabilities), concat(", ", o.policies), concat(", ", o.sample)],
		),
		"evidence": {
			"team": p.team,
			"owner": o.team,
			"secrets": o.secrets,
			"capabilities": o.capabilities,
			"policies": o.policies,
			"sample": o.sample,
		},
	}
}

findings contains f if {
	some m in input.auth_mounts
	count(m.teams) > 1
	f := {
		"rule": "team-isolation.shared-auth-mount",
		"subject": {"kind": "auth_mount", "id": m.id, "namespace": m.namespace, "path": m.path},
		"message": sprintf(
			"auth mount %s (%s) is used by pipelines of %d teams (%s)",
			[m.id, m.type, count(m.teams), concat(", ", m.teams)],
		),
		"evidence": {"teams": m.teams, "pipelines": m.pipelines, "roles": m.roles},
	}
}

findings contains f if {
	some n in input.namespaces
	count(n.teams) > 1
	shared := [sprintf("%s (%s)", [m.path, concat(", ", m.owners)]) | some m in n.secret_mounts; count(m.owners) > 1]
	count(shared) > 0
	f := {
		"rule": "team-isolation.shared-namespace",
		"subject": {"kind": "namespace", "id": ns_label(n.path), "path": n.path},
		"message": sprintf(
			"teams %s run pipelines in namespace %s and share its secret mounts %s",
			[concat(", ", n.teams), ns_label(n.path), concat(", ", shared)],
		),
		"evidence": {"teams": n.teams, "pipelines": n.pipelines, "shared_mounts": shared},
	}
}

ns_label(p) := "root" if p == ""

else := p
