# An organisation rule, as users write them: "production secrets are only reachable from
# protected branches". Not built in: run it with
#
#   blastmap findings --snapshot S --pipelines P --queries queries/examples
#
# Copy this file into your own rule directory and edit the two sets below. Rule files are plain
# Rego (v1) over the facts document (docs/facts.md); docs/findings.md explains the contract.
package blastmap.rules.acme

import rego.v1

# Folders (namespace-qualified, as in `reach.folders`) that hold production secrets.
production_folder := `(^|/)(prod|production|deploy)(/|$)`

# Refs whose jobs only run after review.
protected_refs := {"refs/heads/main", "refs/heads/master"}

rules["acme.production-from-protected-branches"] := {
	"title": "Production secrets reachable from an unprotected branch",
	"severity": "high",
	"practice": "workload-constraints",
	"description": "A pipeline whose token comes from an unprotected ref (a feature branch, a pull-request merge ref) can reach secrets in production folders. Anyone who can push a branch or open a pull request can run code with those secrets.",
	"remediation": "Bind the roles that reach production secrets to protected refs or deployment environments (GitHub: `environment` or `ref = refs/heads/main`; GitLab: `ref_protected = true`), and give branch and pull-request builds roles without production access.",
}

protected(p) if p.claims.ref in protected_refs

protected(p) if startswith(p.claims.ref, "refs/tags/")

protected(p) if p.claims.ref_protected == "true"

findings contains f if {
	some p in input.pipelines
	p.claims.ref
	not protected(p)
	prod := [d.path | some d in p.reach.folders; regex.match(production_folder, d.path)]
	count(prod) > 0
	f := {
		"rule": "acme.production-from-protected-branches",
		"subject": {"kind": "pipeline", "id": p.name, "name": p.name},
		"message": sprintf(
			"pipeline %s runs on ref %s, which is not protected, and reaches production folders %s",
			[p.name, p.claims.ref, concat(", ", prod)],
		),
		"evidence": {"ref": p.claims.ref, "folders": prod, "roles": [l.role | some l in p.logins]},
	}
}
