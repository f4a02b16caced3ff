# Variable and log exposure in the CI configuration itself: what `blastmap discover`
# found in GitHub Actions workflows, GitLab CI files, Jenkinsfiles, CircleCI, Buildkite, Bitbucket and
# Azure Pipelines configurations and HCP Terraform workspace settings, and recorded on each
# discovered pipeline as `ci.exposures` (docs/discover.md lists the kinds). One finding per CI
# job and kind, whatever the number of triggers (pipelines) the job was discovered for; only
# jobs whose token logs in somewhere (a login admitted or undecidable) are judged: a job that
# cannot log in reads nothing to expose.
#
# Input: the facts document (docs/facts.md, `pipelines[].ci`). Rule pages: docs/rules/exposure.ci-*.md.
package blastmap.rules.exposure_ci

import rego.v1

rules["exposure.ci-export-token"] := {
	"title": "CI job exports its Vault token to later steps",
	"severity": "high",
	"practice": "exposure",
	"description": "A `hashicorp/vault-action` step sets `exportToken: true`: the job's Vault token is exported as `VAULT_TOKEN` to every later step of the job, third-party actions and build scripts included. Any of them can use it, with every policy of the role, for as long as it lives, not only for the secrets the step listed.",
	"remediation": "Remove `exportToken: true` and list the secrets the job needs in `secrets:` (the action exports only those values). If a later step must call Vault, give it its own short login, or revoke the token at the end of the step that needs it.",
}

rules["exposure.ci-credential-to-action"] := {
	"title": "CI job hands Vault credentials to third-party code",
	"severity": "high",
	"practice": "exposure",
	"description": "A step of a job passes a Vault credential to an action the repository does not hold: the token a `hashicorp/vault-action` step outputs (`steps.<id>.outputs.vault_token`), an exported `VAULT_TOKEN`, or a repository secret or variable holding a Vault token, AppRole role-id or secret-id, in the step's `with:` or `env:`. The action's code, and every version its tag will ever point to, can use the credential with all of its policies, not only for what the step needs.",
	"remediation": "Read the secrets the action needs with `hashicorp/vault-action` and pass those values instead of a credential; if the action must call Vault, pin it to a full commit SHA you have reviewed and give it a login of its own with a role that grants only what it reads.",
}

rules["exposure.ci-secret-echoed"] := {
	"title": "CI job prints a secret to its log",
	"severity": "medium",
	"practice": "exposure",
	"description": "A script prints a secret read from Vault to the job log: `echo $SECRET`, a `vault kv get` or `curl …/v1/…` whose output is not captured, `env`/`printenv`, or the secret written to the step summary. CI log masking only hides the exact registered value: a transformed, partial or multi-line value, or a value the CI never learned (a CLI read), is shown to everyone who can read the logs, and logs are kept and exported.",
	"remediation": "Do not print secrets: capture CLI output into a variable or file (`-field=… > file`), register derived values with `::add-mask::`, and never dump the environment in jobs that read secrets.",
}

rules["exposure.ci-secret-in-artifact"] := {
	"title": "CI job writes a secret into an uploaded artifact",
	"severity": "high",
	"practice": "exposure",
	"description": "A script writes a secret read from Vault to a file that the job then uploads as an artifact (`actions/upload-artifact`, GitLab `artifacts:` paths or reports, Jenkins `archiveArtifacts`). Artifacts are downloadable by everyone with read access to the project (on public projects: everyone), outlive the job by days or months, and are not masked.",
	"remediation": "Write secrets outside the uploaded paths (the runner's temporary directory), delete them before the upload step, or narrow the artifact paths to the build output.",
}

rules["exposure.ci-debug-logging"] := {
	"title": "CI job traces commands that use secrets",
	"severity": "medium",
	"practice": "exposure",
	"description": "Shell tracing (`set -x`, `bash -x`) or verbose HTTP (`curl -v`) is on where the job uses secrets or calls Vault: every traced command line, with its expanded arguments and the `X-Vault-Token` header, goes to the job log.",
	"remediation": "Turn tracing off around secret use (`set +x` before, `set -x` after), and do not use `curl -v` with Vault tokens.",
}

rules["exposure.ci-step-debug"] := {
	"title": "CI debug logging is switched on in a job that reads secrets",
	"severity": "medium",
	"practice": "exposure",
	"description": "The configuration switches on the CI system's own debug logging for a job that reads Vault secrets: `ACTIONS_STEP_DEBUG` / `ACTIONS_RUNNER_DEBUG` on GitHub, `CI_DEBUG_TRACE` / `CI_DEBUG_SERVICES` on GitLab. GitLab's trace prints every variable, secrets included; GitHub's step debug logs action internals and environments. Committed to the configuration, it stays on for every run.",
	"remediation": "Remove the switch from the configuration; enable debug logging for a single re-run when needed, and rotate what it printed.",
}

rules["exposure.ci-workflow-env-token"] := {
	"title": "Credential placed in workflow-level environment",
	"severity": "high",
	"practice": "exposure",
	"description": "A Vault token or another credential is set in the workflow-level `env:` (GitHub) or the global `variables:` (GitLab): every step of every job gets it, including jobs that do not need it and third-party actions and tools they run.",
	"remediation": "Scope credentials to the one step that needs them (step-level `env:`), or better, let the job log in with its own OIDC token instead of a stored Vault token.",
}

rules["exposure.ci-pull-request-target"] := {
	"title": "pull_request_target job reads Vault secrets",
	"severity": "high",
	"practice": "exposure",
	"description": "A job triggered by `pull_request_target` logs in to Vault and reads secrets. The event runs in the base repository's context, with its secrets and OIDC token, for pull requests from anyone, forks included: whoever opens a pull request starts a job holding the Vault token, and anything the job takes from the pull request (title, branch name, labels, files) is attacker input.",
	"remediation": "Read secrets in `pull_request` jobs (forks get no secrets and no OIDC token), or split the workflow: an unprivileged `pull_request` job builds, a separate privileged job on trusted refs deploys. Bind the Vault role to `event_name` or to refs that only run trusted code.",
}

rules["exposure.ci-fork-code"] := {
	"title": "Job with Vault access runs code from pull requests",
	"severity": "critical",
	"practice": "exposure",
	"description": "A job triggered by `pull_request_target`, `workflow_run` or `issue_comment` checks out the pull request's head (`ref: ${{ github.event.pull_request.head.sha }}`, `gh pr checkout`, `git fetch origin pull/…`) and reads Vault secrets. The pull request's code (build scripts, package hooks, tests) runs with the job's Vault token: anyone who can open a pull request can read every secret the token reaches.",
	"remediation": "Never build or run pull-request code in a job that holds secrets: run it in a `pull_request` job without secrets, and hand results to a privileged job as artifacts that are treated as data. Bind the Vault role so that these events cannot log in.",
}

rules["exposure.ci-any-branch"] := {
	"title": "Job with Vault access runs on every branch",
	"severity": "medium",
	"practice": "exposure",
	"description": "A CircleCI workflow job, a Buildkite step or a Bitbucket step that logs in to Vault has no branch filter (CircleCI `filters: branches`, Buildkite `branches:` or an `if:` condition; a Bitbucket `default` pipeline or a `branches: '**'` pattern): every build runs it, so whoever can push a branch, or open a pull request that the project builds (forks included, where the project builds them and passes secrets or tokens to them), runs code of their choosing with the job's Vault access. A CircleCI context attached to such a job is handed to every branch too.",
	"remediation": "Restrict the job to trusted branches (`filters: branches: only: [main]`, `branches: \"main\"`, `if: build.branch == \"main\"`), keep fork builds from receiving secrets and tokens, and bind the Vault role to the ref as well (`oidc.circleci.com/vcs-ref`, `build_branch`), so that the binding holds whatever the configuration says.",
}

rules["exposure.ci-pull-request-login"] := {
	"title": "Pull-request pipeline logs in to Vault",
	"severity": "high",
	"practice": "exposure",
	"description": "A pipeline that runs for pull requests logs in to Vault: a Bitbucket `pull-requests:` pipeline whose step says `oidc: true` (the step gets `$BITBUCKET_STEP_OIDC_TOKEN`), or an Azure Pipelines job that uses Vault while the pipeline's `pr:` trigger is on (the default) and no `condition:` on the ref or build reason keeps pull-request builds out. The pull request's code, not yet reviewed, runs with the job's ID token or Vault token: whoever can open a pull request from a branch (or, where the project builds them, from a fork) reads every secret the role reaches.",
	"remediation": "Do not log in to Vault in pull-request pipelines: drop `oidc: true` from pull-request steps (Bitbucket), set `pr: none` or add a `condition:` that excludes `Build.Reason` `PullRequest` (Azure Pipelines), and bind the Vault role to the protected branch (`branchName`, `rpo_ref`) or to a deployment environment, so that the binding holds whatever the configuration says.",
}

rules["exposure.ci-plan-apply-same-role"] := {
	"title": "Terraform plan logs in with the apply role",
	"severity": "high",
	"practice": "exposure",
	"description": "An HCP Terraform / Terraform Enterprise workspace with Vault dynamic credentials uses one Vault role for both run phases: only `TFC_VAULT_RUN_ROLE` is set, or `TFC_VAULT_PLAN_ROLE` and `TFC_VAULT_APPLY_ROLE` name the same role. Plans run on changes nobody approved yet, speculative plans of pull requests included, and the code of a plan (providers, external data sources, `local-exec` in data) runs with the token: whoever can open a pull request against the workspace's repository gets the apply phase's write access.",
	"remediation": "Give the plan phase its own read-only role (`TFC_VAULT_PLAN_ROLE`) and the apply phase the write role (`TFC_VAULT_APPLY_ROLE`), and bind the write role to `terraform_run_phase = \"apply\"` (with the organisation and workspace ids), so that a plan token cannot log in to it.",
}

# rule id -> exposure kind recorded by discovery.
kinds := {
	"exposure.ci-export-token": "export-token",
	"exposure.ci-secret-echoed": "secret-echoed",
	"exposure.ci-secret-in-artifact": "secret-in-artifact",
	"exposure.ci-debug-logging": "debug-logging",
	"exposure.ci-step-debug": "step-debug",
	"exposure.ci-workflow-env-token": "workflow-env-token",
	"exposure.ci-credential-to-action": "credential-to-action",
	"exposure.ci-pull-request-target": "pull-request-target",
	"exposure.ci-fork-code": "fork-code",
	"exposure.ci-any-branch": "any-branch",
	"exposure.ci-pull-request-login": "pull-request-login",
	"exposure.ci-plan-apply-same-role": "plan-apply-same-role",
}

# The pipeline's token logs in somewhere (admitted, or not decidable offline).
can_login(p) if count(p.logins) > 0

# An exposure that counts: an exported token matters only when later steps hold it.
counts(e) if e.kind != "export-token"

counts(e) if {
	e.kind == "export-token"
	object.get(e, "later_steps", 1) > 0
}

exposed(p, kind) := [e |
	some e in p.ci.exposures
	e.kind == kind
	counts(e)
]

# CI jobs (file, job) with a counting exposure of `kind` on a pipeline that can log in.
jobs(kind) := {[p.ci.file, p.ci.job] |
	some p in input.pipelines
	p.ci
	can_login(p)
	count(exposed(p, kind)) > 0
}

where(file, 0) := file

where(file, line) := sprintf("%s:%d", [file, line]) if line > 0

findings contains f if {
	some id, kind in kinds
	some job in jobs(kind)
	[file, name] := job
	ps := [p |
		some p in input.pipelines
		p.ci
		p.ci.file == file
		p.ci.job == name
		can_login(p)
		count(exposed(p, kind)) > 0
	]
	# [file, line, detail], sorted by file and line; identical ones (one per trigger) merged.
	es := sort({[object.get(e, "file", file), object.get(e, "line", 0), e.detail] |
		some p in ps
		some e in exposed(p, kind)
	})
	first := es[0]
	f := {
		"rule": id,
		"subject": {"kind": "ci_job", "id": sprintf("%s#%s", [file, name]), "file": file, "job": name, "provider": ps[0].ci.provider},
		"message": sprintf("%s: %s%s", [where(first[0], first[1]), first[2], more_note(count(es) - 1)]),
		"evidence": {
			"file": first[0],
			"line": first[1],
			"exposures": [{"where": where(x[0], x[1]), "detail": x[2]} | some x in es],
			"pipelines": sort([p.name | some p in ps]),
			"secrets_reachable": max([p.reach.secrets | some p in ps]),
			"roles": sort({l.role | some p in ps; some l in p.logins}),
		},
	}
}

more_note(0) := ""

more_note(n) := sprintf(" (and %d more)", [n]) if n > 0
