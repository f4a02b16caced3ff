# Variable and log exposure, as far as the estate shows it: audit devices that write secrets or
# token accessors in clear, no audit trail at all, and policies that suggest secrets handed to
# pipelines through CI variables (wrapping tokens, cubbyholes). Reading CI configurations and
# job logs themselves is a later pass.
#
# Input: the facts document (docs/facts.md). Rule pages: docs/rules/exposure.*.md.
package blastmap.rules.exposure

import rego.v1

rules["exposure.audit-log-raw"] := {
	"title": "Audit device logs secrets in clear",
	"severity": "critical",
	"practice": "exposure",
	"description": "An audit device has `log_raw = true`: request and response bodies, including every secret read and every token issued, are written unhashed. Whoever reads the audit log (the log shipper, the SIEM, its admins, its backups) reads every secret the pipelines fetch.",
	"remediation": "Disable and re-enable the device without `log_raw` (the default HMACs sensitive values); if raw logging was turned on for debugging, rotate what was logged.",
}

rules["exposure.audit-hmac-accessor"] := {
	"title": "Audit device logs token accessors in clear",
	"severity": "medium",
	"practice": "exposure",
	"description": "An audit device has `hmac_accessor = false`: token accessors are written in clear. An accessor cannot read secrets, but it can look up, renew and revoke the token, which lets a log reader disrupt pipelines or keep a stolen token alive.",
	"remediation": "Re-enable the device with `hmac_accessor = true` (the default).",
}

rules["exposure.no-audit-device"] := {
	"title": "No audit device",
	"severity": "high",
	"practice": "exposure",
	"description": "The estate has no audit device enabled (and the export could read the list). No request is recorded: a compromised pipeline's reads, and any escalation it performs, leave no trace to investigate.",
	"remediation": "Enable at least one audit device (two on different backends, so one failing does not block requests) and ship its log off the server.",
}

rules["exposure.wrapped-secret-handoff"] := {
	"title": "Policy suggests secrets handed over through variables",
	"severity": "low",
	"practice": "exposure",
	"description": "A policy other than `default` explicitly grants `sys/wrapping/unwrap` or cubbyhole access. That is the pattern of handing a pipeline a wrapping token or a token with secrets in its cubbyhole through a CI variable: the variable is a secret in the CI system, readable by anyone who can read the job's variables or logs, and it can be unwrapped by whoever gets there first.",
	"remediation": "Let the pipeline authenticate itself (JWT/OIDC, Kubernetes) and read its secrets directly; if wrapping is needed, keep TTLs in seconds and alert on unwrap failures (a failed unwrap means someone else unwrapped first).",
}

device_subject(d) := {"kind": "audit_device", "id": sprintf("%s%s", [d.namespace, d.path]), "namespace": d.namespace, "path": d.path}

findings contains f if {
	some d in input.audit.devices
	d.log_raw
	f := {
		"rule": "exposure.audit-log-raw",
		"subject": device_subject(d),
		"message": sprintf("audit device %s (%s) has log_raw = true: secrets and tokens are written in clear", [d.path, d.type]),
		"evidence": {"device": d},
	}
}

findings contains f if {
	some d in input.audit.devices
	not d.hmac_accessor
	f := {
		"rule": "exposure.audit-hmac-accessor",
		"subject": device_subject(d),
		"message": sprintf("audit device %s (%s) has hmac_accessor = false: token accessors are written in clear", [d.path, d.type]),
		"evidence": {"device": d},
	}
}

findings contains f if {
	input.audit.known
	count(input.audit.devices) == 0
	f := {
		"rule": "exposure.no-audit-device",
		"subject": {"kind": "audit", "id": "audit devices"},
		"message": "no audit device is enabled: requests of compromised pipelines leave no trace",
		"evidence": {"namespaces": count(input.namespaces)},
	}
}

handoff(p) := array.concat(
	["update on sys/wrapping/unwrap" | p.grants_unwrap],
	["access under cubbyhole/" | p.grants_cubbyhole],
)

findings contains f if {
	some p in input.policies
	p.name != "default"
	what := handoff(p)
	count(what) > 0
	f := {
		"rule": "exposure.wrapped-secret-handoff",
		"subject": {"kind": "policy", "id": sprintf("%s%s", [p.namespace, p.name]), "namespace": p.namespace, "name": p.name},
		"message": sprintf(
			"policy %q grants %s%s",
			[p.name, concat(" and ", what), held_note(p)],
		),
		"evidence": {"grants_unwrap": p.grants_unwrap, "grants_cubbyhole": p.grants_cubbyhole, "pipelines": p.pipelines},
	}
}

held_note(p) := sprintf(", held by pipelines %s", [concat(", ", p.pipelines)]) if count(p.pipelines) > 0

else := ""
