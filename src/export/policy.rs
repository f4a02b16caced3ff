//! The least-privilege, read-only policy the exporter needs (`docs/exporter-policy.hcl`).
//!
//! Generated here so that the shipped file and the exporter cannot drift apart: a unit test
//! compares `docs/exporter-policy.hcl` with [`exporter_policy`]`(DEFAULT_DEPTH)`, and the
//! integration tests export the test estate with only this policy and require empty coverage.
//!
//! How the rules interact under the server's rule priority (`vault-semantics.md` 1.6). The
//! policy grants `list` on `+/*` (names only, every path, every namespace below): that is the
//! KV inventory and the role names of credential engines, whatever the mount is called. A
//! prefix rule `+/*` outranks every other *prefix* rule whose first `+` is also in the first
//! segment but that has more `+` segments (`+/auth/+/role/*` in a child namespace would lose to
//! it). So no other rule here is a prefix rule: object reads are written `<collection>/+`
//! (names have no `/`), which is a non-prefix rule and beats `+/*` on the paths it matches. Since
//! `+` also matches an empty segment, `<collection>/+` matches the LIST form `<collection>/`
//! too, so those rules carry `list` as well. The AppRole denies are non-prefix rules and beat
//! `+/*` on `role/<r>/secret-id/` (the LIST of secret-id accessors).

/// Namespace levels below the policy's own namespace that the shipped file covers.
pub(crate) const DEFAULT_DEPTH: usize = 3;

/// (path, capabilities, why). Paths are relative to a namespace; [`exporter_policy`] repeats
/// them with `+/` prefixes for child namespaces.
const RULES: &[(&str, &str, &str)] = &[
    (
        "auth/token/lookup-self",
        r#""read""#,
        "token check before the walk (the answer is never stored)",
    ),
    ("sys/auth", r#""read""#, "auth mounts with their tune"),
    ("sys/mounts", r#""read""#, "secret mounts with their tune"),
    (
        "sys/mounts/cubbyhole/tune",
        r#""read""#,
        "system default and max lease TTLs",
    ),
    (
        "sys/namespaces",
        r#""list", "scan""#,
        "child namespaces (scan: OpenBao; drop it for Vault)",
    ),
    (
        "sys/namespaces/+",
        r#""read", "list", "scan""#,
        "the id of the namespace an export starts in",
    ),
    ("sys/policies/acl", r#""list""#, "policy names (fallback)"),
    (
        "sys/policies/acl/+",
        r#""read", "list""#,
        "policy bodies (fallback)",
    ),
    (
        "sys/policies/detailed/acl",
        r#""list""#,
        "every policy body in one LIST (OpenBao 2.3+)",
    ),
    (
        "identity/entity/id/+",
        r#""read", "list""#,
        "entities with their aliases (AppRole alias names are redacted)",
    ),
    (
        "identity/group/id/+",
        r#""read", "list""#,
        "groups with their alias",
    ),
    (
        "auth/+/config",
        r#""read""#,
        "auth method configs (issuer, key source; secrets are stripped)",
    ),
    (
        "auth/+/config/client",
        r#""read""#,
        "aws client config (iam_server_id_header_value; keys are stripped)",
    ),
    (
        "auth/+/config/identity",
        r#""read""#,
        "aws identity config (what an alias is named after)",
    ),
    (
        "auth/+/role/+",
        r#""read", "list""#,
        "jwt, oidc, kubernetes, approle and other roles",
    ),
    (
        "auth/+/role/+/role-id",
        r#""deny""#,
        "AppRole role-id: half of a credential, never read",
    ),
    (
        "auth/+/role/+/secret-id",
        r#""deny""#,
        "AppRole secret-ids: never read or minted",
    ),
    (
        "auth/+/role/+/secret-id/",
        r#""deny""#,
        "AppRole secret-id accessors (LIST form)",
    ),
    (
        "auth/+/cel/role/+",
        r#""read", "list""#,
        "OpenBao CEL roles",
    ),
    ("auth/+/certs/+", r#""read", "list""#, "cert auth entries"),
    (
        "auth/+/users/+",
        r#""read", "list""#,
        "userpass, ldap, okta, radius users (never passwords)",
    ),
    (
        "auth/+/groups/+",
        r#""read", "list""#,
        "ldap, okta, kerberos groups",
    ),
    (
        "auth/+/roles/+",
        r#""read", "list""#,
        "token roles (auth/token/roles) and cf roles",
    ),
    (
        "auth/+/map/+/+",
        r#""read", "list""#,
        "github team and user maps",
    ),
];

/// The shipped policy text, for the policy's namespace and `depth` levels of child namespaces.
pub(crate) fn exporter_policy(depth: usize) -> String {
    let mut out = String::new();
    out.push_str(HEADER);
    for d in 0..=depth {
        let prefix = "+/".repeat(d);
        if d == 0 {
            out.push_str("\n# ---- The namespace this policy is written in ----\n");
        } else {
            out.push_str(&format!(
                "\n# ---- Child namespaces {} level(s) down ----\n",
                d
            ));
        }
        for (path, caps, why) in RULES {
            out.push_str(&format!(
                "path \"{prefix}{path}\" {{ capabilities = [{caps}] }}  # {why}\n"
            ));
        }
        if d == 0 {
            out.push_str(
                "path \"sys/audit\" { capabilities = [\"read\", \"sudo\"] }  # audit devices \
                 (root namespace only; sudo without update cannot change them)\n",
            );
        }
    }
    out.push_str(FOOTER);
    out
}

const HEADER: &str = r#"# blastmap exporter policy: the least privilege `blastmap export` needs. Read-only.
#
# Generated by `blastmap export --print-policy` (src/export/policy.rs); the tests export a
# realistic estate with only this policy and require that nothing is missing.
#
# Write it in the namespace the export starts from (the root namespace for a whole-estate export):
#   bao policy write blastmap-exporter docs/exporter-policy.hcl
# It covers that namespace and three levels of child namespaces (`+/` prefixes); for deeper
# trees print a longer one with `blastmap export --print-policy --policy-depth N`.
#
# What it never allows: reading a secret (no KV `data/`, no `creds/`), an AppRole role-id or
# secret-id (explicit denies), a token or its accessor, or changing anything.
# For Vault, remove "scan" (Vault rejects it as an unknown capability).
"#;

const FOOTER: &str = r#"
# ---- Names only, everywhere ----
# LIST returns names, never values. It gives the KV inventory (KV v2 `<mount>/metadata/...`,
# KV v1 `<mount>/...`, mounts with several segments too) and the role names of credential
# engines (database/roles, pki/roles, transit/keys ...). `+/*` matches every path of two or more
# segments in every namespace below this one; every rule above is a non-prefix rule and wins
# over it on the paths it matches.
# The LIST endpoints that would reveal credential handles are denied above (secret-id accessors)
# or need sudo, which this policy grants nowhere but on sys/audit (token accessors, leases).
path "+/*" { capabilities = ["list"] }
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_file_matches_the_generator() {
        let shipped = include_str!("../../docs/exporter-policy.hcl");
        assert_eq!(
            shipped,
            exporter_policy(DEFAULT_DEPTH),
            "docs/exporter-policy.hcl is out of date: regenerate it with \
             `cargo run -- export --print-policy > docs/exporter-policy.hcl`"
        );
    }

    #[test]
    fn prefixes_per_depth() {
        let policy = exporter_policy(2);
        assert!(policy.contains("path \"+/+/auth/+/role/+/role-id\" { capabilities = [\"deny\"] }"));
        assert_eq!(policy.matches("path \"sys/audit\"").count(), 1);
        assert!(!policy.contains("path \"+/sys/audit\""));
    }
}
