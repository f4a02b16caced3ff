//! Policy texts: the server's `default`, namespace-wide policies and team policies, with the
//! mix of rule shapes real estates have (exact paths, prefix globs ending mid-segment or at a
//! folder, `+` segments, denies, broad wildcards, identity templates), mostly in HCL and a few in
//! the JSON dialect.

use std::fmt::Write;

/// One `path` block.
pub(crate) struct Rule<'a> {
    pub path: String,
    pub caps: &'a [&'a str],
}

pub(crate) fn rule<'a>(path: impl Into<String>, caps: &'a [&'a str]) -> Rule<'a> {
    Rule {
        path: path.into(),
        caps,
    }
}

/// A policy in HCL, with a leading comment.
pub(crate) fn hcl(comment: &str, rules: &[Rule<'_>]) -> String {
    let mut text = String::with_capacity(64 + rules.len() * 80);
    for line in comment.lines() {
        let _ = writeln!(text, "# {line}");
    }
    for r in rules {
        text.push('\n');
        let _ = writeln!(text, "path \"{}\" {{", r.path);
        let caps: Vec<String> = r.caps.iter().map(|c| format!("\"{c}\"")).collect();
        let _ = writeln!(text, "  capabilities = [{}]", caps.join(", "));
        text.push_str("}\n");
    }
    text
}

/// A policy in the JSON dialect (`{"path": {"<p>": {"capabilities": [...]}}}`).
pub(crate) fn json(rules: &[Rule<'_>]) -> String {
    let mut paths = serde_json::Map::new();
    for r in rules {
        let mut body = serde_json::Map::new();
        body.insert(
            "capabilities".into(),
            serde_json::Value::from(r.caps.to_vec()),
        );
        paths.insert(r.path.clone(), serde_json::Value::Object(body));
    }
    let mut top = serde_json::Map::new();
    top.insert("path".into(), serde_json::Value::Object(paths));
    let mut text = serde_json::to_string_pretty(&serde_json::Value::Object(top))
        .unwrap_or_else(|_| "{}".into());
    text.push('\n');
    text
}

const R: &[&str] = &["read"];
const RL: &[&str] = &["read", "list"];
const L: &[&str] = &["list"];
const U: &[&str] = &["update"];
const CRUDL: &[&str] = &["create", "read", "update", "delete", "list"];
const RU: &[&str] = &["read", "update"];
const DENY: &[&str] = &["deny"];
const SUDO: &[&str] = &["update", "sudo"];

/// The server's built-in `default` policy (abridged to its path rules).
pub(crate) fn default_policy() -> String {
    hcl(
        "Allow tokens to look up their own properties, renew and revoke themselves,\n\
         and use their cubbyhole (the server's built-in default policy).",
        &[
            rule("auth/token/lookup-self", R),
            rule("auth/token/renew-self", U),
            rule("auth/token/revoke-self", U),
            rule("sys/capabilities-self", U),
            rule("identity/entity/id/{{identity.entity.id}}", R),
            rule("identity/entity/name/{{identity.entity.name}}", R),
            rule("identity/oidc/provider/+/authorize", &["read", "update"]),
            rule("sys/internal/ui/resultant-acl", R),
            rule("sys/renew", U),
            rule("sys/leases/renew", U),
            rule("sys/leases/lookup", U),
            rule("cubbyhole/*", CRUDL),
            rule("sys/wrapping/wrap", U),
            rule("sys/wrapping/lookup", U),
            rule("sys/wrapping/unwrap", U),
            rule("sys/tools/hash", U),
            rule("sys/tools/hash/*", U),
            rule("sys/control-group/request", U),
        ],
    )
}

/// `ci-shared`: what every CI job of the namespace may read.
pub(crate) fn ci_shared() -> String {
    hcl(
        "Shared CI credentials (package registries, code coverage, signing).",
        &[
            rule("secret/data/ci/shared/*", R),
            rule("secret/metadata/ci/*", L),
            rule("secret/data/shared/+/api-key", R),
            rule("secret/data/ci/shared/cosign/*", DENY),
        ],
    )
}

/// `ns-admin`: the broad namespace administrator policy (attached where it should not be).
pub(crate) fn ns_admin() -> String {
    hcl(
        "Namespace administrators. Broad on purpose; attach to people, not pipelines.",
        &[
            rule("secret/*", CRUDL),
            rule("kv/*", CRUDL),
            rule("database/*", CRUDL),
            rule("sys/policies/acl/*", CRUDL),
            rule("auth/*", CRUDL),
            rule(
                "sys/mounts/*",
                &["create", "read", "update", "delete", "list", "sudo"],
            ),
        ],
    )
}

/// `team-scoped`: identity templates over the entity's `team` and `app` metadata.
pub(crate) fn team_scoped() -> String {
    hcl(
        "Every member entity reads its own application's dev secrets (entity metadata `team`, `app`).",
        &[
            rule(
                "secret/data/{{identity.entity.metadata.team}}/{{identity.entity.metadata.app}}/dev/*",
                R,
            ),
            rule("secret/metadata/{{identity.entity.metadata.team}}/*", L),
        ],
    )
}

/// `<team>-read`.
pub(crate) fn team_read(team: &str) -> String {
    hcl(
        &format!("Read access to the {team} team's secrets. Managed by terraform."),
        &[
            rule(format!("secret/data/{team}/*"), RL),
            rule(format!("secret/metadata/{team}/*"), RL),
            rule(format!("secret/data/{team}/+/prod/signing-*"), DENY),
            rule(format!("kv/legacy/{team}/*"), R),
        ],
    )
}

/// `<team>-ci`: development secrets of every app, production denied; `broad` adds
/// `secret/data/ci/*`.
pub(crate) fn team_ci(team: &str, broad: bool) -> String {
    let mut rules = vec![
        rule(format!("secret/data/{team}/+/dev/*"), R),
        rule(format!("secret/metadata/{team}/+/staging/*"), L),
        rule(format!("secret/data/{team}/+/prod/*"), DENY),
        rule("secret/data/ci/shared/*", R),
        rule(format!("secret/metadata/{team}/+/dev/*"), L),
    ];
    if broad {
        rules.push(rule("secret/data/ci/*", RL));
    }
    hcl(&format!("CI jobs of the {team} team."), &rules)
}

/// `<team>-deploy`: deploy-time access: dynamic database credentials and certificates.
pub(crate) fn team_deploy(team: &str) -> String {
    hcl(
        &format!("Deployments of the {team} team."),
        &[
            rule(format!("database/creds/{team}-*"), R),
            rule(format!("database/static-creds/{team}-*"), R),
            rule(format!("secret/data/{team}/+/prod/tls-*"), R),
            rule(format!("secret/data/{team}/+/prod/tls-key"), DENY),
            rule("auth/token/create", U),
            rule("sys/leases/renew", U),
        ],
    )
}

/// An application policy: `variant` 0 (`<team>-<app>`), 1 (`-ro`), 2 (`-ops`).
pub(crate) fn team_app(team: &str, app: &str, variant: usize, as_json: bool) -> String {
    let rules = match variant {
        0 => vec![
            rule(format!("secret/data/{team}/{app}/*"), RL),
            rule(format!("secret/data/{team}/{app}/prod/db-password"), R),
            rule(format!("secret/data/{team}/{app}/prod/api-*"), R),
            rule(format!("database/creds/{team}-{app}-rw"), R),
            rule(format!("kv/legacy/{team}/{app}/*"), R),
        ],
        1 => vec![
            rule(format!("secret/data/{team}/{app}/+/postgres/*"), R),
            rule(format!("secret/metadata/{team}/{app}/*"), L),
            rule(format!("secret/data/{team}/{app}/staging/*"), R),
            rule(format!("database/creds/{team}-{app}-ro"), R),
        ],
        _ => vec![
            rule(format!("secret/data/{team}/{app}/prod/*"), RU),
            rule(format!("secret/data/{team}/{app}/+/tls-*"), R),
            rule(format!("secret/destroy/{team}/{app}/*"), DENY),
            rule(format!("secret/data/{team}/{app}/prod/signing-key"), DENY),
            rule(
                format!("sys/leases/revoke-prefix/database/creds/{team}-{app}-*"),
                SUDO,
            ),
        ],
    };
    if as_json {
        json(&rules)
    } else {
        hcl(
            &format!("Application {team}/{app}. Owner: the {team} team."),
            &rules,
        )
    }
}
