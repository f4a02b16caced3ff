//! The pipeline inventory: which CI/CD pipelines exist, which team owns each, how each one
//! authenticates to Vault, and what it needs (`docs/pipelines.md`).
//!
//! The file shape is a contract other tools write (discovery, hand-written inventories), so
//! unknown keys and bad values are errors that name the file, the line and the key path.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::duration::{format_seconds, DurationSyntax, GoDuration};
use crate::login::{AwsIdentity, AzureIdentity, GcpIdentity, GithubIdentity, Network};

/// A whole inventory file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    /// The version of the file shape (docs/schemas/README.md). `blastmap discover`
    /// writes it; hand-written inventories may leave it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<u32>,
    #[serde(default)]
    pub teams: Vec<Team>,
    #[serde(default)]
    pub pipelines: Vec<Pipeline>,
}

/// A team and what it owns: secret path patterns (Vault pattern syntax: `*` suffix, `+`
/// segments) or namespaces (`ns-payments/`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Team {
    pub name: String,
    #[serde(default)]
    pub owns: Vec<String>,
    /// Kubernetes namespaces the team owns: a pipeline or consumer that names no `team` and
    /// whose Kubernetes namespace ([`Pipeline::kubernetes_namespace`]) is listed here belongs to
    /// this team. A namespace may be listed by one team only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
}

/// One pipeline.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    pub auth: PipelineAuth,
    /// API paths (or Vault patterns) the pipeline needs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<String>,
    /// How long a job runs at most (`20m`, `1h30m`, or seconds).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_duration",
        serialize_with = "ser_duration"
    )]
    // Written as a duration text (`20m`, `1h30m`) by `ser_duration`.
    #[schemars(with = "String")]
    pub max_job_duration: Option<i64>,
    /// Values the CI configuration builds from expressions (`${{ … }}`, `$VAR`): the field they
    /// would fill and the expression as written. Written by `blastmap discover`, which never
    /// guesses them; the field itself is left out (or holds only the literal part).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dynamic: Vec<DynamicValue>,
    /// Where the pipeline was found in a CI configuration, and what that configuration exposes
    /// (written by `blastmap discover`; read by the `exposure.ci-*` rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci: Option<CiEvidence>,
}

impl Pipeline {
    /// The Kubernetes namespace the pipeline or consumer runs in: the consuming object's
    /// (`ci.namespace`), else the service account's of a `kubernetes` login.
    pub fn kubernetes_namespace(&self) -> Option<&str> {
        let from_ci = self.ci.as_ref().and_then(|c| c.namespace.as_deref());
        let from_login = (self.auth.method == AuthMethod::Kubernetes)
            .then_some(self.auth.service_account_namespace.as_deref())
            .flatten();
        from_ci.or(from_login).filter(|n| !n.is_empty())
    }
}

/// A value built from an expression, so unknown until the job runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DynamicValue {
    /// The inventory field it would fill: `auth.role`, `auth.claims.environment`, `needs` …
    pub field: String,
    /// The expression as written in the CI configuration.
    pub expression: String,
}

/// The CI configuration a pipeline was discovered in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CiEvidence {
    /// `github`, `gitlab`, `jenkins`, `circleci`, `buildkite`, `bitbucket`, `terraform` or
    /// `azure-pipelines`.
    pub provider: String,
    /// The configuration file, as given to `discover`.
    pub file: String,
    /// The job id (GitHub, GitLab), the stage / `withVault` block (Jenkins), the step
    /// (Bitbucket), the workspace's resource address (HCP Terraform).
    pub job: String,
    /// 1-based line of the job in `file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The events that run the job (GitHub `on:`; GitLab pipeline sources when known).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    /// What the configuration exposes: tokens handed to later steps, secrets printed, …
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exposures: Vec<CiExposure>,
    /// Provider `kubernetes`: which operator or injector reads Vault for the workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer: Option<ConsumerKind>,
    /// Provider `kubernetes`: the Kubernetes namespace of the consuming object (the
    /// `ExternalSecret`, the `VaultStaticSecret`, the annotated pod's workload …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Provider `kubernetes`: the shared object the consumer reads through, as
    /// `Kind/namespace/name` (`ClusterSecretStore//vault`, `SecretStore/payments/vault`,
    /// `VaultAuth/vso/shared`), so that consumers of one store can be told apart from others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// Provider `kubernetes`: the file `via` is written in, so that a finding about the shared
    /// store can point at the store rather than at one of its consumers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via_file: Option<String>,
    /// Provider `kubernetes`: 1-based line of `via` in `via_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via_line: Option<usize>,
    /// GitLab: the conditional includes (`include:` entries with `rules:`) that change this
    /// job, and whether this pipeline is the variant read with or without each. Discover reads
    /// the configuration both ways because only the pipeline that runs decides the rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<IncludeCondition>,
}

/// A conditional include a GitLab pipeline variant was read with or without (`ci.conditions`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IncludeCondition {
    /// The include as written (`ci/deploy.yml`, `.gitlab/*.yml`).
    pub include: String,
    /// Where the `include:` entry is, as `file:line`.
    pub at: String,
    /// Its `rules:`, as one line of JSON (`[{"if":"$CI_COMMIT_BRANCH == \"main\""}]`).
    pub rules: String,
    /// `true`: this variant is read with the include (its rules apply); `false`: without it.
    pub included: bool,
}

/// How a Kubernetes workload reads Vault (`ci.consumer`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ConsumerKind {
    /// The Vault Agent Injector (pod annotations `vault.hashicorp.com/*`).
    Injector,
    /// The Vault Secrets Operator (`VaultStaticSecret`, `VaultDynamicSecret`, `VaultPKISecret`).
    Vso,
    /// The External Secrets Operator (`ExternalSecret`, `PushSecret` with a `vault` store).
    Eso,
    /// The Secrets Store CSI driver (`SecretProviderClass` with provider `vault`).
    Csi,
}

impl ConsumerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsumerKind::Injector => "injector",
            ConsumerKind::Vso => "vso",
            ConsumerKind::Eso => "eso",
            ConsumerKind::Csi => "csi",
        }
    }
}

/// One exposure found in a CI configuration (`docs/discover.md` lists the kinds).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CiExposure {
    /// `export-token`, `secret-echoed`, `secret-in-artifact`, `debug-logging`, `step-debug`,
    /// `workflow-env-token`, `pull-request-target`, `fork-code`, `any-branch`,
    /// `pull-request-login`, `plan-apply-same-role`, `credential-to-action`.
    pub kind: String,
    /// The file the exposure is in, when it is not `ci.file` (a GitLab `include:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// What was found, in words.
    pub detail: String,
    /// `export-token`: steps of the job that run after the login and so hold the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub later_steps: Option<usize>,
}

/// How a pipeline authenticates.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PipelineAuth {
    pub method: AuthMethod,
    /// The auth mount path, without `auth/` and without a trailing slash.
    pub mount: String,
    /// The namespace of the mount (`""` = root).
    #[serde(default)]
    pub namespace: String,
    /// The role it is configured to use (`role_name` is accepted as a synonym for AppRole).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// jwt/oidc: the claims its token carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Map<String, Value>>,
    /// kubernetes: the service account and its namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_namespace: Option<String>,
    /// approle: the role it holds credentials for (same as `role`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_name: Option<String>,
    /// cert: the client certificate's common name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_name: Option<String>,
    /// userpass / ldap: the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// ldap: the user's directory groups, when known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// The networks the pipeline's runners reach the server from (as the server sees the client
    /// address). With them, CIDR-bound roles and tokens are judged exactly; without them, a CIDR
    /// binding stays a condition of the login.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_addresses: Vec<Network>,
    /// token: the entity alias named when the token was created from a token role with
    /// `allowed_entity_aliases` (`auth/token/create/<role>` with `entity_alias`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_alias: Option<String>,
    /// aws: the IAM principal or EC2 instance (docs/pipelines.md lists the fields).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<AwsIdentity>,
    /// gcp: the service account or Compute Engine instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcp: Option<GcpIdentity>,
    /// azure: the managed identity and the resource it is attached to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure: Option<AzureIdentity>,
    /// github: the user whose personal access token the pipeline holds, its organisation and
    /// teams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github: Option<GithubIdentity>,
}

impl PipelineAuth {
    /// The role named in the inventory (`role`, or `role_name` for AppRole).
    pub fn configured_role(&self) -> Option<&str> {
        self.role
            .as_deref()
            .or(self.role_name.as_deref())
            .filter(|r| !r.is_empty())
    }

    /// An identity object given for another method than the pipeline's: its field and method.
    fn identity_mismatch(&self) -> Option<(&'static str, AuthMethod)> {
        let given = [
            (self.aws.is_some(), "aws", AuthMethod::Aws),
            (self.gcp.is_some(), "gcp", AuthMethod::Gcp),
            (self.azure.is_some(), "azure", AuthMethod::Azure),
            (self.github.is_some(), "github", AuthMethod::Github),
        ];
        given
            .into_iter()
            .find(|(present, _, method)| *present && *method != self.method)
            .map(|(_, field, method)| (field, method))
    }

    /// The namespace path (`""` or `"team-a/"`).
    pub fn namespace_path(&self) -> String {
        crate::model::namespace_path(&self.namespace).into_owned()
    }

    /// The mount as `sys/auth` lists it (`"gha/"`).
    pub fn mount_path(&self) -> String {
        let mount = self.mount.trim_matches('/');
        let mount = mount.strip_prefix("auth/").unwrap_or(mount);
        format!("{mount}/")
    }
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum AuthMethod {
    #[default]
    Jwt,
    Oidc,
    Kubernetes,
    Approle,
    Cert,
    Userpass,
    Ldap,
    Token,
    Aws,
    Gcp,
    Azure,
    Github,
    /// Only known when the CI job runs (the configuration names it with an expression): the
    /// pipeline's logins and reach are unknown, and are reported so.
    Dynamic,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Jwt => "jwt",
            AuthMethod::Oidc => "oidc",
            AuthMethod::Kubernetes => "kubernetes",
            AuthMethod::Approle => "approle",
            AuthMethod::Cert => "cert",
            AuthMethod::Userpass => "userpass",
            AuthMethod::Ldap => "ldap",
            AuthMethod::Token => "token",
            AuthMethod::Aws => "aws",
            AuthMethod::Gcp => "gcp",
            AuthMethod::Azure => "azure",
            AuthMethod::Github => "github",
            AuthMethod::Dynamic => "dynamic",
        }
    }
}

fn de_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let value = Option::<Value>::deserialize(d)?;
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            n.as_i64().filter(|s| *s >= 0).map(Some).ok_or_else(|| {
                serde::de::Error::custom("expected a non-negative number of seconds")
            })
        }
        Some(Value::String(s)) => parse_duration_seconds(&s)
            .map(Some)
            .map_err(serde::de::Error::custom),
        Some(other) => Err(serde::de::Error::custom(format!(
            "expected a duration such as \"20m\" or a number of seconds, got {other}"
        ))),
    }
}

fn ser_duration<S: serde::Serializer>(v: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(secs) => s.serialize_str(&format_seconds(*secs)),
        None => s.serialize_none(),
    }
}

/// `20m`, `1h30m`, `2d`, `90s` or a bare number of seconds (the server's syntax, see
/// [`crate::duration`], with whitespace around it forgiven), as whole seconds. Empty and negative
/// durations are refused: a job cannot last less than nothing.
pub fn parse_duration_seconds(text: &str) -> Result<i64, DurationFieldError> {
    let trimmed = text.trim();
    let parsed = GoDuration::parse(trimmed, DurationSyntax::VaultSeconds);
    match parsed {
        Ok(duration) if !trimmed.is_empty() && duration >= GoDuration::ZERO => {
            Ok(duration.whole_seconds())
        }
        _ if trimmed.parse::<i64>().is_ok_and(|seconds| seconds < 0) => {
            Err(DurationFieldError::Negative {
                text: text.to_string(),
            })
        }
        _ => Err(DurationFieldError::Invalid {
            text: text.to_string(),
        }),
    }
}

/// Why a `max_job_duration` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationFieldError {
    #[error("invalid duration \"{text}\": negative")]
    Negative { text: String },
    #[error(
        "invalid duration \"{text}\": use a number of seconds or a value such as \"20m\" or \"1h30m\""
    )]
    Invalid { text: String },
}

/// Why an inventory could not be read.
#[derive(Debug)]
pub struct InventoryError {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// The key path, such as `pipelines[2].auth.method`.
    pub path: Option<String>,
    pub message: String,
}

impl fmt::Display for InventoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        write!(f, ": invalid pipeline inventory")?;
        if let Some(p) = self.path.as_ref().filter(|p| !p.is_empty() && *p != ".") {
            write!(f, " at `{p}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for InventoryError {}

impl InventoryError {
    /// A check made after parsing knows the key path but not the line: find the line of that
    /// path in the YAML text (the deepest part of it found).
    fn located_in_yaml(mut self, text: &str) -> InventoryError {
        if self.line.is_some() {
            return self;
        }
        let Some(path) = self.path.as_deref() else {
            return self;
        };
        let Ok(doc) = crate::discover::yaml::YamlFile::parse(text, &self.file) else {
            return self;
        };
        let segs = key_path_segments(path);
        let segs: Vec<crate::discover::yaml::Seg> = segs
            .iter()
            .map(|s| match s {
                PathPart::Key(k) => crate::discover::yaml::Seg::Key(k),
                PathPart::Item(i) => crate::discover::yaml::Seg::Item(*i),
            })
            .collect();
        self.line = doc.line(&segs);
        self
    }
}

/// One step of a key path such as `pipelines[2].auth.role`.
enum PathPart<'p> {
    Key(&'p str),
    Item(usize),
}

/// `pipelines[2].auth.role` as keys and items; anything unreadable ends the path.
fn key_path_segments(path: &str) -> Vec<PathPart<'_>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, items) = part.split_once('[').unwrap_or((part, ""));
        if !key.is_empty() {
            out.push(PathPart::Key(key));
        }
        for item in items.split('[').filter(|i| !i.is_empty()) {
            match item.trim_end_matches(']').parse() {
                Ok(i) => out.push(PathPart::Item(i)),
                Err(_) => return out,
            }
        }
    }
    out
}

impl Inventory {
    /// Read an inventory: YAML (`.yaml`, `.yml`) or JSON (`.json`), chosen by extension.
    pub fn load(path: &Path) -> Result<Inventory, InventoryError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| InventoryError {
            file: file.clone(),
            line: None,
            column: None,
            path: None,
            message: format!("cannot read it: {e}"),
        })?;
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("json") => Self::from_json_str(&text, &file),
            Some("yaml") | Some("yml") => Self::from_yaml_str(&text, &file),
            _ => Err(InventoryError {
                file,
                line: None,
                column: None,
                path: None,
                message: "unknown file type: name it *.yaml, *.yml or *.json".to_string(),
            }),
        }
    }

    pub fn from_json_str(text: &str, file: &str) -> Result<Inventory, InventoryError> {
        // Editors on Windows save UTF-8 with a byte-order mark; it is not part of the document.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let mut inv: Inventory =
            serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
                let path = e.path().to_string();
                let inner = e.into_inner();
                InventoryError {
                    file: file.to_string(),
                    line: Some(inner.line()).filter(|l| *l > 0),
                    column: Some(inner.column()).filter(|c| *c > 0),
                    path: Some(path),
                    message: inner.to_string(),
                }
            })?;
        inv.validate(file)?;
        inv.assign_namespace_teams();
        Ok(inv)
    }

    pub fn from_yaml_str(text: &str, file: &str) -> Result<Inventory, InventoryError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let deserializer = yaml_serde::Deserializer::from_str(text);
        let mut inv: Inventory = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let loc = inner.location();
            let mut message = inner.to_string();
            // The location is reported separately; keep the message itself short.
            if let Some(i) = message.find(" at line ") {
                message.truncate(i);
            }
            InventoryError {
                file: file.to_string(),
                line: loc.as_ref().map(|l| l.line()),
                column: loc.as_ref().map(|l| l.column()),
                path: Some(path),
                message,
            }
        })?;
        inv.validate(file).map_err(|e| e.located_in_yaml(text))?;
        inv.assign_namespace_teams();
        Ok(inv)
    }

    /// Checks serde cannot express: unique names, known teams, a mount per pipeline.
    fn validate(&self, file: &str) -> Result<(), InventoryError> {
        let err = |path: String, message: String| InventoryError {
            file: file.to_string(),
            line: None,
            column: None,
            path: Some(path),
            message,
        };
        if let Some(v) = self.schema_version {
            if v != crate::schema::version::INVENTORY {
                return Err(err(
                    "schema_version".into(),
                    format!(
                        "inventory schema version {v} is not supported (this blastmap reads version {})",
                        crate::schema::version::INVENTORY
                    ),
                ));
            }
        }
        let mut teams = BTreeSet::new();
        let mut namespace_owner: BTreeMap<&str, &str> = BTreeMap::new();
        for (i, t) in self.teams.iter().enumerate() {
            for (j, ns) in t.namespaces.iter().enumerate() {
                let at = format!("teams[{i}].namespaces[{j}]");
                if ns.trim().is_empty() {
                    return Err(err(at, "a Kubernetes namespace needs a name".into()));
                }
                if let Some(other) = namespace_owner.insert(ns.as_str(), t.name.as_str()) {
                    return Err(err(
                        at,
                        format!(
                            "Kubernetes namespace \"{ns}\" is listed by team \"{other}\" too: \
                             a namespace belongs to one team"
                        ),
                    ));
                }
            }
            if t.name.trim().is_empty() {
                return Err(err(
                    format!("teams[{i}].name"),
                    "a team needs a name".into(),
                ));
            }
            if !teams.insert(t.name.as_str()) {
                return Err(err(
                    format!("teams[{i}].name"),
                    format!("team \"{}\" is defined twice", t.name),
                ));
            }
        }
        let mut names = BTreeSet::new();
        for (i, p) in self.pipelines.iter().enumerate() {
            if p.name.trim().is_empty() {
                return Err(err(
                    format!("pipelines[{i}].name"),
                    "a pipeline needs a name".into(),
                ));
            }
            if !names.insert(p.name.as_str()) {
                return Err(err(
                    format!("pipelines[{i}].name"),
                    format!("pipeline \"{}\" is defined twice", p.name),
                ));
            }
            if let Some(team) = &p.team {
                if !teams.contains(team.as_str()) {
                    return Err(err(
                        format!("pipelines[{i}].team"),
                        format!(
                            "team \"{team}\" is not defined under `teams:` (defined: {})",
                            teams.iter().copied().collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
            }
            // A method known only at run time has no mount to name either.
            if p.auth.mount.trim_matches('/').is_empty() && p.auth.method != AuthMethod::Dynamic {
                return Err(err(
                    format!("pipelines[{i}].auth.mount"),
                    "the auth mount path is required (e.g. `gha` for auth/gha/; with method `dynamic` it may be empty)".into(),
                ));
            }
            if p.auth.entity_alias.is_some() && p.auth.method != AuthMethod::Token {
                return Err(err(
                    format!("pipelines[{i}].auth.entity_alias"),
                    format!(
                        "`entity_alias` applies to tokens created from a token role (method `token`), not to method `{}`",
                        p.auth.method.as_str()
                    ),
                ));
            }
            if let Some((field, method)) = p.auth.identity_mismatch() {
                return Err(err(
                    format!("pipelines[{i}].auth.{field}"),
                    format!(
                        "`{field}` describes the identity of method `{}`, not of method `{}`",
                        method.as_str(),
                        p.auth.method.as_str()
                    ),
                ));
            }
            if let Some(ci) = &p.ci {
                let kubernetes_only = [
                    (ci.consumer.is_some(), "consumer"),
                    (ci.namespace.is_some(), "namespace"),
                    (ci.via.is_some(), "via"),
                    (ci.via_file.is_some(), "via_file"),
                    (ci.via_line.is_some(), "via_line"),
                ];
                if let Some((_, field)) = kubernetes_only
                    .iter()
                    .find(|(set, _)| *set && ci.provider != "kubernetes")
                {
                    return Err(err(
                        format!("pipelines[{i}].ci.{field}"),
                        format!(
                            "`ci.{field}` describes a Kubernetes consumer (provider `kubernetes`), \
                             not provider `{}`",
                            ci.provider
                        ),
                    ));
                }
            }
            if let (Some(a), Some(b)) = (&p.auth.role, &p.auth.role_name) {
                if a != b {
                    return Err(err(
                        format!("pipelines[{i}].auth.role_name"),
                        format!("`role` (\"{a}\") and `role_name` (\"{b}\") disagree"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Give every pipeline that names no team the team listing its Kubernetes namespace
    /// (`teams[].namespaces`), so that every output sees one owner.
    fn assign_namespace_teams(&mut self) {
        let owner: BTreeMap<&str, &str> = self
            .teams
            .iter()
            .flat_map(|t| t.namespaces.iter().map(|n| (n.as_str(), t.name.as_str())))
            .collect();
        if owner.is_empty() {
            return;
        }
        for p in &mut self.pipelines {
            if p.team.is_some() {
                continue;
            }
            let team = p.kubernetes_namespace().and_then(|n| owner.get(n));
            p.team = team.map(|t| t.to_string());
        }
    }

    pub fn pipeline(&self, name: &str) -> Option<&Pipeline> {
        self.pipelines.iter().find(|p| p.name == name)
    }

    pub fn team(&self, name: &str) -> Option<&Team> {
        self.teams.iter().find(|t| t.name == name)
    }
}

#[cfg(test)]
mod tests;
