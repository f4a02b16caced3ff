//! Word lists for names that look like a real organisation's.

/// The GitHub organisation of every repository.
pub(crate) const ORG: &str = "acme";
/// An organisation whose repositories no role trusts (pipelines that match no role).
pub(crate) const FOREIGN_ORG: &str = "acme-labs";
pub(crate) const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
pub(crate) const GITHUB_AUDIENCE: &str = "https://github.com/acme";
pub(crate) const VAULT_AUDIENCE: &str = "https://bao.acme.example";

/// Top-level namespaces: business units.
pub(crate) const BUSINESS_UNITS: &[&str] = &[
    "retail",
    "logistics",
    "finance",
    "marketing",
    "research",
    "corporate",
    "mobile",
    "media",
    "insurance",
    "travel",
    "health",
    "energy",
    "security",
    "analytics",
    "partners",
    "support",
];

/// Nested namespaces: regions and environments.
pub(crate) const SUB_NAMESPACES: &[&str] = &[
    "prod", "staging", "eu", "us", "apac", "sandbox", "shared", "labs",
];

/// Team names (prefixed from [`TEAM_PREFIXES`] once the list is used up; see [`team`]).
pub(crate) const TEAMS: &[&str] = &[
    "payments",
    "checkout",
    "platform",
    "search",
    "identity",
    "billing",
    "catalog",
    "orders",
    "shipping",
    "pricing",
    "fraud",
    "risk",
    "ledger",
    "growth",
    "ads",
    "recommendations",
    "notifications",
    "messaging",
    "warehouse",
    "inventory",
    "returns",
    "loyalty",
    "reviews",
    "media",
    "streaming",
    "maps",
    "routing",
    "fleet",
    "telemetry",
    "observability",
    "sre",
    "devex",
    "security",
    "compliance",
    "data-eng",
    "ml-platform",
    "analytics",
    "reporting",
    "crm",
    "support",
    "partners",
    "onboarding",
    "accounts",
    "auth",
    "gateway",
    "mobile",
    "web",
    "design-system",
    "localization",
    "tax",
];

/// Prefixes of team names after the first round (`core-payments`): a prefix, not a suffix, so
/// that no team's repository glob (`acme/payments-*`) matches another team's repositories.
pub(crate) const TEAM_PREFIXES: &[&str] = &[
    "core", "edge", "global", "cloud", "next", "open", "smart", "rapid", "prime", "blue",
];

/// Team name `i`.
pub(crate) fn team(i: usize) -> String {
    let base = TEAMS[i % TEAMS.len()];
    match i / TEAMS.len() {
        0 => base.to_string(),
        r => {
            let prefix = TEAM_PREFIXES[(r - 1) % TEAM_PREFIXES.len()];
            match (r - 1) / TEAM_PREFIXES.len() {
                0 => format!("{prefix}-{base}"),
                n => format!("{prefix}{}-{base}", n + 1),
            }
        }
    }
}

/// Application names within a team.
pub(crate) const APPS: &[&str] = &[
    "api",
    "web",
    "worker",
    "gateway",
    "scheduler",
    "ingest",
    "reports",
    "notifier",
    "indexer",
    "admin",
    "cache",
    "etl",
    "bff",
    "sync",
    "exporter",
    "cron",
];

/// Environments, as KV folders.
pub(crate) const ENVS: &[&str] = &["dev", "staging", "prod"];

/// Secret names (leaves).
pub(crate) const SECRET_NAMES: &[&str] = &[
    "db-password",
    "api-key",
    "api-token",
    "tls-cert",
    "tls-key",
    "oauth-client",
    "webhook-secret",
    "signing-key",
    "encryption-key",
    "jwt-secret",
    "smtp-credentials",
    "sentry-dsn",
    "datadog-api-key",
    "slack-webhook",
    "ssh-deploy-key",
    "registry-credentials",
    "service-account",
    "license-key",
    "session-secret",
    "basic-auth",
];

/// Components: folders under an environment.
pub(crate) const COMPONENTS: &[&str] = &[
    "postgres",
    "redis",
    "kafka",
    "s3",
    "stripe",
    "auth0",
    "twilio",
    "sendgrid",
    "elasticsearch",
    "mongodb",
    "rabbitmq",
    "snowflake",
];

/// Shared CI tools (`ci/shared/<tool>-token`).
pub(crate) const CI_TOOLS: &[&str] = &[
    "npm",
    "docker-hub",
    "codecov",
    "sonar",
    "pypi",
    "maven",
    "artifactory",
    "github-app",
    "snyk",
    "cosign",
];

/// Name `i` of a list, with `-2`, `-3` … once the list is used up.
pub(crate) fn nth(list: &[&str], i: usize) -> String {
    let base = list[i % list.len()];
    match i / list.len() {
        0 => base.to_string(),
        r => format!("{base}-{}", r + 1),
    }
}
