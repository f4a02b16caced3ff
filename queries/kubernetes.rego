# Kubernetes workloads as Vault consumers: what `blastmap discover --kubernetes` found in the
# manifests of the Vault Agent Injector, the Vault Secrets Operator, the External Secrets
# Operator and the Secrets Store CSI driver (`ci.provider == "kubernetes"`, `ci.consumer`,
# `ci.via`, `ci.exposures`), joined with the roles the consumers log in to. The rules belong to
# the families whose practice they judge; they live together because they read the same
# consumer evidence. Only consumers whose login works somewhere (admitted, or not decidable
# offline) are judged: a consumer that cannot log in reads nothing.
#
# Input: the facts document (docs/facts.md). Rule pages: docs/rules/*.k8s-*.md.
package blastmap.rules.kubernetes

import rego.v1

rules["identity-isolation.k8s-shared-store"] := {
	"title": "Vault store or VaultAuth shared across Kubernetes namespaces",
	"severity": "high",
	"practice": "identity-isolation",
	"description": "A `ClusterSecretStore` (External Secrets) or a `VaultAuth` (Vault Secrets Operator) that several namespaces may use logs in to Vault with one identity for all of them: every team whose namespace can reference it reads whatever that identity reaches, and anyone who can create an `ExternalSecret` or `VaultStaticSecret` in such a namespace (often every developer) can copy any of those secrets into a Kubernetes secret they can read. High when consumers of several teams already use it; medium when the store is open to every namespace (no `conditions`, a namespace regular expression or label selector, `allowedNamespaces: [\"*\"]`) but used by one team so far.",
	"remediation": "Give each team (namespace) its own store or `VaultAuth`: a namespaced `SecretStore` with the namespace's own service account, or a `ClusterSecretStore` whose `conditions` list exactly one team's namespaces; on the Vault side, one Kubernetes role per namespace bound to that namespace and service account, with that team's policies only.",
}

rules["bootstrap-credentials.k8s-static-token"] := {
	"title": "Static Vault token kept in a Kubernetes secret",
	"severity": "high",
	"practice": "bootstrap-credentials",
	"description": "An External Secrets store logs in with `auth.tokenSecretRef`: a Vault token stored in a Kubernetes `Secret`. It does not expire with a workload, is not bound to a service account or a namespace, and anyone who can read that secret (namespace admins, backups, etcd snapshots, a compromised controller) holds every policy of the token, outside Kubernetes too.",
	"remediation": "Use Kubernetes auth (`auth.kubernetes` with a `serviceAccountRef` per namespace) or JWT auth with a projected service account token; revoke the stored token and delete the secret.",
}

rules["exposure.k8s-agent-inject-token"] := {
	"title": "Vault Agent writes its token into the pod",
	"severity": "medium",
	"practice": "exposure",
	"description": "The pod is annotated `vault.hashicorp.com/agent-inject-token: \"true\"`: the injected agent writes its Vault token to `/vault/secrets/token`, a volume every container of the pod mounts. Any process in the pod (a sidecar, a dependency, an attacker with code execution) can use the token with every policy of the role, for as long as the agent renews it, not only for the secrets the annotations list.",
	"remediation": "Remove the annotation and let the agent render only the secrets the application needs; if the application must call Vault itself, give it its own login with a role limited to those calls.",
}

rules["least-privilege.k8s-find-whole-mount"] := {
	"title": "ExternalSecret finds secrets over a whole mount",
	"severity": "medium",
	"practice": "least-privilege",
	"description": "An `ExternalSecret`'s `dataFrom.find` has no `path`: the operator lists the whole KV mount and copies every secret whose name or tags match into the Kubernetes secret, today's and any written later. It needs list and read over the whole mount, and a regular expression such as `.*` or a tag anyone can set makes it a copy of the mount.",
	"remediation": "Set `find.path` to the folder the workload owns, or name the keys with `data`/`dataFrom.extract`; narrow the role's policy to that folder.",
}

rules["workload-constraints.k8s-consumer-wildcard-role"] := {
	"title": "Kubernetes consumer uses a role bound to any service account or namespace",
	"severity": "high",
	"practice": "workload-constraints",
	"description": "A Kubernetes workload (Agent Injector, VSO, ESO or CSI consumer) logs in with a Kubernetes auth role whose `bound_service_account_names` or `bound_service_account_namespaces` is `*`: any pod of any namespace (when namespaces are `*`) or any service account of the bound namespaces can log in with the same role and read what this workload reads. Critical when both are `*`.",
	"remediation": "Bind the role to the consumer's own service account and namespace (`bound_service_account_names = [\"<sa>\"]`, `bound_service_account_namespaces = [\"<namespace>\"]`), one role per workload or team.",
}

consumers := [p |
	some p in input.pipelines
	object.get(p, ["ci", "provider"], "") == "kubernetes"
	count(p.logins) > 0
]

exposures(p, kind) := [e |
	some e in object.get(p, ["ci", "exposures"], [])
	e.kind == kind
]

team_of(p) := t if {
	t := object.get(p, "team", null)
	t != null
}

# -- identity-isolation.k8s-shared-store ----------------------------------------------------

stores := {v | some p in consumers; v := object.get(p, ["ci", "via"], ""); v != ""}

store_consumers(v) := [p | some p in consumers; object.get(p, ["ci", "via"], "") == v]

store_teams(ps) := sort({t | some p in ps; t := team_of(p)})

store_open(ps) := sort({e.detail | some p in ps; some e in exposures(p, "shared-store")})

# Where a store is written: the places of its consumers' exposures of `kinds` (the exact
# setting at fault), else the store object itself as its consumers record it.
store_places(ps, kinds) := sort([[object.get(e, "file", p.ci.file), object.get(e, "line", 0)] |
	some p in ps
	some e in object.get(p, ["ci", "exposures"], [])
	e.kind in kinds
])

store_object_places(ps) := sort([[p.ci.via_file, object.get(p, ["ci", "via_line"], 0)] |
	some p in ps
	object.get(p, ["ci", "via_file"], "") != ""
])

# The exposures' places come first: the object's place is used only when none is known.
store_place(ps, kinds) := places[0] if {
	places := array.concat(store_places(ps, kinds), store_object_places(ps))
	count(places) > 0
}

store_evidence(evidence, ps, kinds) := object.union(evidence, {"file": place[0], "line": place[1]}) if {
	place := store_place(ps, kinds)
}

store_evidence(evidence, ps, kinds) := evidence if not store_place(ps, kinds)

store_severity(teams) := "high" if count(teams) > 1

store_severity(teams) := "medium" if count(teams) <= 1

store_shared(ps) if count(store_teams(ps)) > 1

store_shared(ps) if count(store_open(ps)) > 0

store_why(teams, _) := sprintf("is used by consumers of %d teams (%s)", [count(teams), concat(", ", teams)]) if count(teams) > 1

store_why(teams, open) := open[0] if {
	count(teams) <= 1
	count(open) > 0
}

findings contains f if {
	some v in stores
	ps := store_consumers(v)
	store_shared(ps)
	teams := store_teams(ps)
	open := store_open(ps)
	f := {
		"rule": "identity-isolation.k8s-shared-store",
		"severity": store_severity(teams),
		"subject": {"kind": "k8s_store", "id": v},
		"message": sprintf("%s %s; its consumers log in as one Vault identity: %s", [v, store_why(teams, open), concat(", ", sort([p.name | some p in ps]))]),
		"evidence": store_evidence(
			{
				"consumers": sort([p.name | some p in ps]),
				"teams": teams,
				"open_to": open,
				"roles": sort({l.role | some p in ps; some l in p.logins}),
			},
			ps, {"shared-store"},
		),
	}
}

# -- bootstrap-credentials.k8s-static-token -------------------------------------------------

findings contains f if {
	some v in stores
	ps := [p | some p in store_consumers(v); count(exposures(p, "static-token-secret")) > 0]
	count(ps) > 0
	details := sort({e.detail | some p in ps; some e in exposures(p, "static-token-secret")})
	f := {
		"rule": "bootstrap-credentials.k8s-static-token",
		"subject": {"kind": "k8s_store", "id": v},
		"message": details[0],
		"evidence": store_evidence(
			{
				"consumers": sort([p.name | some p in ps]),
				"secrets_reachable": max([p.reach.secrets | some p in ps]),
			},
			ps, {"static-token-secret"},
		),
	}
}

# -- per consumer: agent token, whole-mount find --------------------------------------------

consumer_rules := {
	"exposure.k8s-agent-inject-token": "agent-inject-token",
	"least-privilege.k8s-find-whole-mount": "find-whole-mount",
}

consumer_subject(p) := {"kind": "k8s_consumer", "id": sprintf("%s#%s", [p.ci.file, p.ci.job]), "file": p.ci.file, "job": p.ci.job, "consumer": object.get(p, ["ci", "consumer"], "")}

where(file, line) := sprintf("%s:%d", [file, line]) if line > 0

where(file, line) := file if line <= 0

findings contains f if {
	some id, kind in consumer_rules
	some p in consumers
	es := exposures(p, kind)
	count(es) > 0
	line := object.get(es[0], "line", 0)

	# A store's or VaultAuth's exposure is at its line in its own file.
	file := object.get(es[0], "file", p.ci.file)
	f := {
		"rule": id,
		"subject": consumer_subject(p),
		"message": sprintf("%s: %s", [where(file, line), es[0].detail]),
		"evidence": {
			"file": file,
			"line": line,
			"pipeline": p.name,
			"secrets_reachable": p.reach.secrets,
			"roles": sort({l.role | some l in p.logins}),
		},
	}
}

# -- workload-constraints.k8s-consumer-wildcard-role ----------------------------------------

wildcard_roles := {r.id: r | some r in input.roles; r.kubernetes; wildcard(r.kubernetes)}

wildcard(k) if k.any_service_account

wildcard(k) if k.any_namespace

wildcard_what(k) := concat(" and ", array.concat(
	["any service account name (*)" | k.any_service_account],
	["any namespace (*)" | k.any_namespace],
))

wildcard_severity(k) := "critical" if {
	k.any_service_account
	k.any_namespace
}

wildcard_severity(k) := "high" if not k.any_service_account

wildcard_severity(k) := "high" if not k.any_namespace

findings contains f if {
	some p in consumers
	some l in p.logins
	l.configured
	r := wildcard_roles[l.role]
	f := {
		"rule": "workload-constraints.k8s-consumer-wildcard-role",
		"severity": wildcard_severity(r.kubernetes),
		"subject": consumer_subject(p),
		"message": sprintf("%s (%s) logs in with role %s, which admits %s: any such pod reads what it reads (policies %s)", [p.name, object.get(p, ["ci", "consumer"], "consumer"), r.id, wildcard_what(r.kubernetes), concat(", ", r.policies)]),
		"evidence": {
			"pipeline": p.name,
			"role": r.id,
			"service_account_names": r.kubernetes.service_account_names,
			"service_account_namespaces": r.kubernetes.service_account_namespaces,
		},
	}
}
