//! Building the estate: the plan (namespaces, teams, exact allocations), then the snapshot's
//! namespaces and the pipeline inventory derived from it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use super::names::{
    nth, team as team_name, APPS, BUSINESS_UNITS, FOREIGN_ORG, GITHUB_AUDIENCE, GITHUB_ISSUER, ORG,
    SUB_NAMESPACES, VAULT_AUDIENCE,
};
use super::policies;
use super::rng::{distribute, Rng};
use super::secrets;
use super::Params;
use crate::inventory::{AuthMethod, Inventory, Pipeline, PipelineAuth, Team};
use crate::model::{
    AppRoleRole, AuditDevice, AuthMount, Entity, EntityAlias, ExportScope, Group, GroupType,
    JwtRole, KeyList, KubernetesRole, Listing, MountTune, Namespace, Policy, SecretInventory,
    SecretMount, ServerInfo, Snapshot, Timestamp, TokenFields, REDACTED_ROLE_ID,
};

// Stream numbers: one RNG stream per concern and object.
const S_NS: u64 = 1 << 32;
const S_TEAM: u64 = 2 << 32;
const S_ROLE: u64 = 3 << 32;
const S_PIPE: u64 = 4 << 32;
const S_IDENT: u64 = 5 << 32;

/// Namespace-wide policies, in the order the budget allows them.
const SHARED_POLICIES: [&str; 3] = ["ci-shared", "ns-admin", "team-scoped"];

struct NsPlan {
    path: String,
    id: String,
    teams: Vec<usize>,
    kv2: usize,
    kv1: usize,
    db: usize,
    has_default: bool,
    shared: usize,
    jwt_accessor: String,
    k8s_accessor: String,
    approle_accessor: String,
    token_accessor: String,
    /// Whether `ns-admin` is (wrongly) attached to the first team's first production role.
    admin_leak: bool,
}

impl NsPlan {
    fn has_shared(&self, name: &str) -> bool {
        SHARED_POLICIES[..self.shared].contains(&name)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavour {
    Ci,
    Staging,
    Prod,
    /// A glob role over every repository of the team.
    TeamGlob,
}

impl Flavour {
    fn as_str(self) -> &'static str {
        match self {
            Flavour::Ci => "ci",
            Flavour::Staging => "deploy-staging",
            Flavour::Prod => "deploy-prod",
            Flavour::TeamGlob => "github",
        }
    }
}

/// A role a pipeline can be built to match.
enum Target {
    Jwt {
        role: String,
        app: usize,
        flavour: Flavour,
        audience: &'static str,
    },
    Kubernetes {
        role: String,
        service_account: String,
    },
    AppRole {
        role: String,
    },
}

struct TeamPlan {
    name: String,
    ns: usize,
    apps: Vec<String>,
    kv2: usize,
    kv1: usize,
    db: usize,
    policies: usize,
    roles: usize,
    pipelines: usize,
    glob_role: bool,
}

impl TeamPlan {
    /// The name of team policy `k` (0 read, 1 ci, 2 deploy, then per-app policies).
    fn policy_name(&self, k: usize) -> String {
        match k {
            0 => format!("{}-read", self.name),
            1 => format!("{}-ci", self.name),
            2 => format!("{}-deploy", self.name),
            _ => {
                let (app, variant, round) = self.app_policy(k);
                let suffix = ["", "-ro", "-ops"][variant];
                let mut name = format!("{}-{}{suffix}", self.name, self.apps[app]);
                if round > 0 {
                    name.push_str(&format!("-{}", round + 1));
                }
                name
            }
        }
    }

    /// (app, variant, round) of per-app policy `k >= 3`.
    fn app_policy(&self, k: usize) -> (usize, usize, usize) {
        let idx = k - 3;
        let app_count = self.apps.len();
        (
            idx % app_count,
            (idx / app_count) % 3,
            idx / (3 * app_count),
        )
    }

    fn has_policy(&self, k: usize) -> bool {
        k < self.policies
    }

    /// Index of the per-app policy (app, variant, round 0), if the team has it.
    fn app_policy_index(&self, app: usize, variant: usize) -> Option<usize> {
        let index = 3 + variant * self.apps.len() + app;
        self.has_policy(index).then_some(index)
    }

    fn repo(&self, app: usize) -> String {
        self.repo_of(&self.apps[app])
    }

    fn repo_of(&self, app: &str) -> String {
        format!("{ORG}/{}-{app}", self.name)
    }

    fn service_account(&self, app: usize) -> String {
        format!("{}-{}-deployer", self.name, self.apps[app])
    }
}

/// Build the whole estate.
pub(super) fn build(p: &Params) -> (Snapshot, Inventory) {
    let mut nss = plan_namespaces(p);
    let teams = plan_teams(p, &mut nss);
    let mut snap = new_snapshot(p);
    let mut targets: Vec<Vec<Target>> = (0..teams.len()).map(|_| Vec::new()).collect();
    snap.namespaces = nss
        .iter()
        .enumerate()
        .map(|(i, ns)| build_namespace(p, i, ns, &teams, &mut targets))
        .collect();

    let inventory = build_inventory(p, &nss, &teams, &targets);
    (snap, inventory)
}

/// The namespaces' plans: root, then business units, every fourth nested (a few two deep),
/// each with its own auth accessors.
fn plan_namespaces(p: &Params) -> Vec<NsPlan> {
    let mut used_accessors = BTreeSet::new();
    let mut accessor = |rng: &mut Rng, kind: &str| loop {
        let accessor_id = format!("auth_{kind}_{}", rng.hex(8));
        if used_accessors.insert(accessor_id.clone()) {
            return accessor_id;
        }
    };

    let mut nss: Vec<NsPlan> = Vec::with_capacity(p.namespaces);
    let mut top_level: Vec<usize> = Vec::new();
    let mut nested: Vec<usize> = Vec::new();
    let mut children: Vec<usize> = vec![0; p.namespaces];
    let mut ids = BTreeSet::new();
    for i in 0..p.namespaces {
        let mut rng = Rng::stream(p.seed, S_NS + i as u64);
        let (path, id) = if i == 0 {
            (String::new(), "root".to_string())
        } else {
            let parent = if i % 16 == 0 && !nested.is_empty() {
                Some(nested[(i / 16 - 1) % nested.len()])
            } else if i % 4 == 0 && !top_level.is_empty() {
                Some(top_level[(i / 4 - 1) % top_level.len()])
            } else {
                None
            };
            let path = match parent {
                Some(parent) => {
                    let sibling = children[parent];
                    children[parent] += 1;
                    nested.push(i);
                    // Offset by the parent, so siblings differ and `a/prod/prod/` is rare.
                    format!(
                        "{}{}/",
                        nss[parent].path,
                        nth(SUB_NAMESPACES, sibling + parent)
                    )
                }
                None => {
                    let name = nth(BUSINESS_UNITS, top_level.len());
                    top_level.push(i);
                    format!("{name}/")
                }
            };
            let id = loop {
                let id = rng.base62(5);
                if ids.insert(id.clone()) {
                    break id;
                }
            };
            (path, id)
        };
        nss.push(NsPlan {
            path,
            id,
            teams: Vec::new(),
            kv2: 0,
            kv1: 0,
            db: 0,
            has_default: false,
            shared: 0,
            jwt_accessor: accessor(&mut rng, "jwt"),
            k8s_accessor: accessor(&mut rng, "kubernetes"),
            approle_accessor: accessor(&mut rng, "approle"),
            token_accessor: accessor(&mut rng, "token"),
            admin_leak: rng.chance(0.4),
        });
    }

    nss
}

/// The teams' plans, with their share of pipelines, roles, secrets and policies; the
/// namespaces get their teams and their shared parts.
fn plan_teams(p: &Params, nss: &mut [NsPlan]) -> Vec<TeamPlan> {
    // Teams: one per ~20 pipelines, round-robin over the namespaces, random sizes.
    let n_teams = p.pipelines.div_ceil(20).max(1);
    let weights: Vec<f64> = (0..n_teams)
        .map(|t| 0.4 + 1.6 * Rng::stream(p.seed, S_TEAM + t as u64).f64())
        .collect();
    let pipes = distribute(p.pipelines, &weights);
    let roles = distribute(p.roles, &weights);

    // Secrets: ~2% database, ~8% KV v1, the rest KV v2; each pool over the teams and a shared
    // part per namespace (a twentieth of an average team: `ci/shared/`, `shared/`).
    let db_total = p.secrets / 50;
    let kv1_total = p.secrets * 8 / 100;
    let kv2_total = p.secrets - db_total - kv1_total;
    let mut bucket_w = weights.clone();
    let mean = weights.iter().sum::<f64>() / n_teams as f64;
    bucket_w.extend(std::iter::repeat_n(mean / 20.0, p.namespaces));
    let kv2 = distribute(kv2_total, &bucket_w);
    let kv1 = distribute(kv1_total, &bucket_w);
    let db_counts = distribute(db_total, &bucket_w);

    // Policies: `default` per namespace, then the shared ones if every team still gets one,
    // then the teams.
    let defaults = p.policies.min(p.namespaces);
    let rest = p.policies - defaults;
    let shared = if rest >= 3 * p.namespaces + n_teams {
        3
    } else if rest >= p.namespaces + n_teams {
        1
    } else {
        0
    };
    let team_pol = distribute(rest - shared * p.namespaces, &weights);

    let mut teams: Vec<TeamPlan> = Vec::with_capacity(n_teams);
    for t in 0..n_teams {
        let ns = t % p.namespaces;
        nss[ns].teams.push(t);
        let n_apps = pipes[t]
            .div_ceil(3)
            .max(roles[t].div_ceil(4))
            .clamp(2, APPS.len());
        let apps = (0..n_apps)
            .map(|k| APPS[(t * 5 + k) % APPS.len()].to_string())
            .collect();
        teams.push(TeamPlan {
            name: team_name(t),
            ns,
            apps,
            kv2: kv2[t],
            kv1: kv1[t],
            db: db_counts[t],
            policies: team_pol[t],
            roles: roles[t],
            pipelines: pipes[t],
            glob_role: t % 6 == 0,
        });
    }
    for (i, ns) in nss.iter_mut().enumerate() {
        ns.kv2 = kv2[n_teams + i];
        ns.kv1 = kv1[n_teams + i];
        ns.db = db_counts[n_teams + i];
        ns.has_default = i < defaults;
        ns.shared = shared;
    }

    teams
}

/// An empty snapshot of the synthetic server.
fn new_snapshot(p: &Params) -> Snapshot {
    let mut server = ServerInfo {
        flavor: crate::model::Flavor::OpenBao,
        version: "2.7.2".into(),
        address: format!("https://bao-{:04x}.acme.example:8200", p.seed & 0xffff),
        ..ServerInfo::default()
    };
    server.default_lease_ttl = Some(768 * 3600);
    server.max_lease_ttl = Some(768 * 3600);
    let mut snap = Snapshot::new(server);
    snap.exported_at = exported_at(p.seed);
    snap.scope = ExportScope {
        kv_max_depth: Some(16),
        ..ExportScope::default()
    };
    snap
}

/// A fixed export time derived from the seed: within 2026.
fn exported_at(seed: u64) -> Timestamp {
    const JAN_1_2026: i64 = 1_767_225_600;
    let offset = (super::rng::mix(seed) % (365 * 86_400)) as i64;
    Timestamp(
        time::OffsetDateTime::from_unix_timestamp(JAN_1_2026 + offset)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
    )
}

fn tune(default_ttl: i64, max_ttl: i64) -> MountTune {
    MountTune {
        default_lease_ttl: Some(default_ttl),
        max_lease_ttl: Some(max_ttl),
        token_type: Some("default-service".into()),
        ..MountTune::default()
    }
}

fn token_fields(rng: &mut Rng, policies: Vec<String>) -> TokenFields {
    let mut fields = TokenFields {
        token_policies: policies,
        ..TokenFields::default()
    };
    // One role in ten has no TTL at all (tokens live for the mount or system default).
    if !rng.chance(0.1) {
        fields.token_ttl = Some(*rng.pick(&[600, 900, 1800, 3600]));
        fields.token_max_ttl = Some(*rng.pick(&[3600, 7200, 14400]));
    }
    fields
}

fn build_namespace(
    p: &Params,
    i: usize,
    ns: &NsPlan,
    teams: &[TeamPlan],
    targets: &mut [Vec<Target>],
) -> Namespace {
    let mut out = Namespace::new(&ns.path, ns.id.clone());
    let child = i > 0;
    if child {
        out.custom_metadata
            .insert("cost-center".into(), format!("cc-{:04}", 1000 + i));
    }
    out.policies = namespace_policies(p, ns, teams);
    let (token, mut mounts) = auth_mounts(ns, child);
    for (pos, &t) in ns.teams.iter().enumerate() {
        build_roles(
            p,
            t,
            &teams[t],
            ns,
            pos == 0 && ns.admin_leak,
            &mut mounts,
            &mut targets[t],
        );
    }
    out.auth_mounts = vec![token, mounts.gha, mounts.k8s, mounts.approle];
    build_identity(p, i, ns, teams, &mut out);
    out.secret_mounts = secret_mounts(ns, teams, child);
    if !child {
        out.audit_devices.push(audit_device());
    }
    out
}

/// The namespace's policies: `default`, the shared ones, and each team's.
fn namespace_policies(p: &Params, ns: &NsPlan, teams: &[TeamPlan]) -> Vec<Policy> {
    let mut written = Vec::new();
    if ns.has_default {
        written.push(Policy::new("default", policies::default_policy()));
    }
    for name in &SHARED_POLICIES[..ns.shared] {
        let text = match *name {
            "ci-shared" => policies::ci_shared(),
            "ns-admin" => policies::ns_admin(),
            _ => policies::team_scoped(),
        };
        written.push(Policy::new(*name, text));
    }
    for &t in &ns.teams {
        let team = &teams[t];
        let mut rng = Rng::stream(p.seed, S_TEAM + t as u64);
        let _ = rng.f64(); // the weight
        for k in 0..team.policies {
            let text = match k {
                0 => policies::team_read(&team.name),
                1 => policies::team_ci(&team.name, rng.chance(0.1)),
                2 => policies::team_deploy(&team.name),
                _ => {
                    let (app, variant, _) = team.app_policy(k);
                    policies::team_app(&team.name, &team.apps[app], variant, rng.chance(0.03))
                }
            };
            let mut pol = Policy::new(team.policy_name(k), text);
            pol.version = Some(1 + rng.below(12) as u64);
            written.push(pol);
        }
    }

    written
}

/// The token mount, and the JWT, Kubernetes and AppRole mounts the teams' roles go to.
fn auth_mounts(ns: &NsPlan, child: bool) -> (AuthMount, RoleMounts) {
    let mut gha = AuthMount {
        path: "gha/".into(),
        mount_type: "jwt".into(),
        accessor: ns.jwt_accessor.clone(),
        description: "GitHub Actions OIDC".into(),
        tune: tune(3600, 14400),
        ..AuthMount::default()
    };
    let mut cfg = Map::new();
    cfg.insert("bound_issuer".into(), GITHUB_ISSUER.into());
    cfg.insert("oidc_discovery_url".into(), GITHUB_ISSUER.into());
    gha.config = Some(cfg);
    let mut k8s = AuthMount {
        path: "k8s/".into(),
        mount_type: "kubernetes".into(),
        accessor: ns.k8s_accessor.clone(),
        description: "Self-hosted runners".into(),
        ..AuthMount::default()
    };
    let mut cfg = Map::new();
    let host = if child {
        format!(
            "https://k8s-{}.acme.internal:6443",
            ns.path.trim_end_matches('/').replace('/', "-")
        )
    } else {
        "https://k8s.acme.internal:6443".to_string()
    };
    cfg.insert("kubernetes_host".into(), host.into());
    cfg.insert("disable_iss_validation".into(), true.into());
    k8s.config = Some(cfg);
    let approle = AuthMount {
        path: "approle/".into(),
        mount_type: "approle".into(),
        accessor: ns.approle_accessor.clone(),
        description: "Jenkins agents".into(),
        tune: tune(1800, 7200),
        ..AuthMount::default()
    };
    let token = AuthMount {
        path: "token/".into(),
        mount_type: if child { "ns_token" } else { "token" }.into(),
        accessor: ns.token_accessor.clone(),
        description: "token based credentials".into(),
        ..AuthMount::default()
    };
    (token, RoleMounts { gha, k8s, approle })
}

/// The system mounts, the KV v2 and v1 mounts with the teams' keys, and the database mount.
fn secret_mounts(ns: &NsPlan, teams: &[TeamPlan], child: bool) -> Vec<SecretMount> {
    let mut mounts = Vec::new();
    let ns_prefix = if child { "ns_" } else { "" };
    for (path, ty) in [
        ("cubbyhole/", "cubbyhole"),
        ("identity/", "identity"),
        ("sys/", "system"),
    ] {
        mounts.push(SecretMount {
            path: path.into(),
            mount_type: format!("{ns_prefix}{ty}"),
            accessor: format!("{ty}_{}", &ns.token_accessor[11..]),
            ..SecretMount::default()
        });
    }
    let listing = Listing {
        max_depth: Some(16),
        ..Listing::complete()
    };
    let team_list: Vec<&TeamPlan> = ns.teams.iter().map(|&t| &teams[t]).collect();
    let mut buf = String::with_capacity(96);
    let keys = kv_keys(
        &team_list,
        ns.kv2,
        44,
        &mut buf,
        |t| t.kv2,
        |t, k, b| secrets::team_kv2(&t.name, &t.apps, k, b),
        secrets::shared_kv2,
    );
    mounts.push(kv_mount(
        "secret/",
        "2",
        format!("kv_{}", &ns.jwt_accessor[9..]),
        "key/value secret storage",
        &listing,
        keys,
    ));
    let keys = kv_keys(
        &team_list,
        ns.kv1,
        40,
        &mut buf,
        |t| t.kv1,
        |t, k, b| secrets::team_kv1(&t.name, &t.apps, k, b),
        secrets::shared_kv1,
    );
    mounts.push(kv_mount(
        "kv/",
        "1",
        format!("kv_{}", &ns.k8s_accessor[16..]),
        "legacy KV (version 1)",
        &listing,
        keys,
    ));

    let mut collections: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for t in &team_list {
        for k in 0..t.db {
            let (c, n) = secrets::team_db(&t.name, &t.apps, k);
            collections.entry(c.to_string()).or_default().push(n);
        }
    }
    for k in 0..ns.db {
        let (c, n) = secrets::shared_db(k);
        collections.entry(c.to_string()).or_default().push(n);
    }
    mounts.push(SecretMount {
        path: "database/".into(),
        mount_type: "database".into(),
        accessor: format!("database_{}", &ns.approle_accessor[13..]),
        tune: tune(3600, 86400),
        secrets: SecretInventory {
            listing,
            collections,
            ..SecretInventory::default()
        },
        ..SecretMount::default()
    });

    mounts
}

fn audit_device() -> AuditDevice {
    let mut options = Map::new();
    options.insert("file_path".into(), "/var/log/openbao/audit.log".into());
    options.insert("log_raw".into(), "false".into());
    options.insert("hmac_accessor".into(), "true".into());
    AuditDevice {
        path: "file/".into(),
        device_type: "file".into(),
        options,
        ..AuditDevice::default()
    }
}

/// The kind of a team's role `j`: 5 in 8 JWT, 2 in 8 Kubernetes, 1 in 8 AppRole.
fn role_kind(j: usize) -> u8 {
    [0, 0, 1, 0, 2, 0, 1, 0][j % 8]
}

/// The auth mounts a namespace's roles are written to.
struct RoleMounts {
    gha: AuthMount,
    k8s: AuthMount,
    approle: AuthMount,
}

/// One team's roles in one namespace, drawn from the team's own random stream.
struct TeamRoles<'t> {
    team: &'t TeamPlan,
    ns: &'t NsPlan,
    rng: Rng,
    /// Whether the namespace admin policy has been given out (or must not be).
    leaked: bool,
}

fn build_roles(
    p: &Params,
    t: usize,
    team: &TeamPlan,
    ns: &NsPlan,
    admin_leak: bool,
    mounts: &mut RoleMounts,
    targets: &mut Vec<Target>,
) {
    let mut roles = TeamRoles {
        team,
        ns,
        rng: Rng::stream(p.seed, S_ROLE + t as u64),
        leaked: !(admin_leak && ns.has_shared("ns-admin")),
    };
    let (mut jwt, mut kubernetes, mut approle) = (0usize, 0usize, 0usize);
    for j in 0..team.roles {
        match role_kind(j) {
            0 => {
                let (role, target) = roles.jwt(jwt);
                jwt += 1;
                targets.push(target);
                mounts.gha.roles.jwt.push(role);
            }
            1 => {
                let (role, target) = roles.kubernetes(kubernetes);
                kubernetes += 1;
                targets.push(target);
                mounts.k8s.roles.kubernetes.push(role);
            }
            _ => {
                let (role, target) = roles.approle(approle);
                approle += 1;
                targets.push(target);
                mounts.approle.roles.approle.push(role);
            }
        }
    }
}

impl TeamRoles<'_> {
    fn policy(&self, k: usize) -> Option<String> {
        self.team.has_policy(k).then(|| self.team.policy_name(k))
    }

    fn app_policy(&self, app: usize, variant: usize) -> Option<String> {
        self.team
            .app_policy_index(app, variant)
            .map(|k| self.team.policy_name(k))
    }

    /// A role with no policy gets the team's first, else the namespace's shared CI policy.
    fn fallback(&self, policies: &mut Vec<String>) {
        if policies.is_empty() {
            if let Some(first) = self.policy(0) {
                policies.push(first);
            } else if self.ns.has_shared("ci-shared") {
                policies.push("ci-shared".into());
            }
        }
    }

    fn suffix(base: String, round: usize) -> String {
        if round == 0 {
            base
        } else {
            format!("{base}-{}", round + 1)
        }
    }

    /// The team's `c`-th JWT role: a glob role over the team's repositories first when the team
    /// has one, then CI, staging and production roles per app.
    fn jwt(&mut self, c: usize) -> (JwtRole, Target) {
        let team = self.team;
        let mut role = JwtRole {
            role_type: Some("jwt".into()),
            user_claim: "repository".into(),
            ..JwtRole::default()
        };
        let mut claims = Map::new();
        let mut policies = Vec::new();
        let (app, flavour, audience);
        if team.glob_role && c == 0 {
            app = 0;
            flavour = Flavour::TeamGlob;
            audience = GITHUB_AUDIENCE;
            role.name = format!("{}-github", team.name);
            role.bound_claims_type = Some("glob".into());
            claims.insert("repository".into(), format!("{ORG}/{}-*", team.name).into());
            role.bound_audiences = vec![GITHUB_AUDIENCE.into(), VAULT_AUDIENCE.into()];
            policies.extend(self.policy(1));
        } else {
            let slot = c - usize::from(team.glob_role);
            let apps = team.apps.len();
            flavour = [Flavour::Ci, Flavour::Staging, Flavour::Prod][slot % 3];
            app = (slot / 3) % apps;
            role.name = Self::suffix(
                format!("{}-{}-{}", team.name, team.apps[app], flavour.as_str()),
                slot / (3 * apps),
            );
            audience = if self.rng.chance(0.1) {
                VAULT_AUDIENCE
            } else {
                GITHUB_AUDIENCE
            };
            role.bound_audiences = vec![audience.into()];
            self.flavour_bindings(slot, app, flavour, &mut role, &mut claims, &mut policies);
            if self.rng.chance(0.15) {
                role.user_claim = "actor".into();
            }
        }
        role.bound_claims = claims;
        role.bound_claims_type
            .get_or_insert_with(|| "string".into());
        role.claim_mappings
            .insert("repository".into(), "repository".into());
        role.claim_mappings
            .insert("workflow".into(), "workflow".into());
        self.fallback(&mut policies);
        role.token = token_fields(&mut self.rng, policies);
        let target = Target::Jwt {
            role: role.name.clone(),
            app,
            flavour,
            audience,
        };
        (role, target)
    }

    /// The bound claims and policies of a CI, staging or production JWT role.
    fn flavour_bindings(
        &mut self,
        c: usize,
        app: usize,
        flavour: Flavour,
        role: &mut JwtRole,
        claims: &mut Map<String, Value>,
        policies: &mut Vec<String>,
    ) {
        let repo = self.team.repo(app);
        match flavour {
            Flavour::Ci => {
                claims.insert("repository".into(), repo.into());
                // One CI role in eight reads every app's dev secrets.
                if c % 8 == 0 {
                    policies.extend(self.policy(1));
                } else {
                    policies.extend(self.app_policy(app, 1).or_else(|| self.policy(1)));
                }
                if self.ns.has_shared("ci-shared") {
                    policies.push("ci-shared".into());
                }
            }
            Flavour::Staging => {
                claims.insert("repository".into(), repo.into());
                claims.insert("environment".into(), "staging".into());
                policies.extend(self.app_policy(app, 0).or_else(|| self.policy(0)));
            }
            _ => {
                if self.rng.chance(0.2) {
                    role.bound_claims_type = Some("glob".into());
                    claims.insert("repository".into(), format!("{repo}*").into());
                    claims.insert("environment".into(), "prod*".into());
                } else {
                    claims.insert("repository".into(), repo.into());
                    claims.insert("repository_owner".into(), ORG.into());
                    claims.insert("environment".into(), json!(["production"]));
                }
                policies.extend(self.policy(2));
                policies.extend(self.app_policy(app, 2));
                if !self.leaked {
                    policies.push("ns-admin".into());
                    self.leaked = true;
                }
            }
        }
    }

    /// The team's `c`-th Kubernetes role: one per app's runner service account, some with
    /// wildcard names or namespaces.
    fn kubernetes(&mut self, c: usize) -> (KubernetesRole, Target) {
        let team = self.team;
        let apps = team.apps.len();
        let app = c % apps;
        let name = Self::suffix(format!("{}-{}-runner", team.name, team.apps[app]), c / apps);
        let service_account = team.service_account(app);
        let names = match c % 10 {
            9 => vec!["*".to_string()],
            3 => vec![format!("{}-*", team.name)],
            _ => vec![service_account.clone()],
        };
        let namespaces = match c % 15 {
            14 => vec!["*".to_string()],
            2 | 7 => vec![format!("{}-*", team.name), team.name.clone()],
            _ => vec![team.name.clone()],
        };
        let mut policies: Vec<String> = self.policy(2).into_iter().collect();
        policies.extend(self.app_policy(app, 2));
        self.fallback(&mut policies);
        let role = KubernetesRole {
            name: name.clone(),
            bound_service_account_names: names,
            bound_service_account_namespaces: namespaces,
            audience: if c % 3 == 0 {
                "vault".into()
            } else {
                String::new()
            },
            alias_name_source: (c % 2 == 1).then(|| "serviceaccount_name".into()),
            token: token_fields(&mut self.rng, policies),
            ..KubernetesRole::default()
        };
        let target = Target::Kubernetes {
            role: name,
            service_account,
        };
        (role, target)
    }

    /// The team's `c`-th AppRole: one per app's Jenkins jobs.
    fn approle(&mut self, c: usize) -> (AppRoleRole, Target) {
        let team = self.team;
        let apps = team.apps.len();
        let app = c % apps;
        let name = Self::suffix(
            format!("{}-{}-jenkins", team.name, team.apps[app]),
            c / apps,
        );
        let mut policies: Vec<String> = self.app_policy(app, 1).into_iter().collect();
        // Old Jenkins jobs: one in five also reads the whole team folder.
        if c % 5 == 0 {
            policies.extend(self.policy(0));
        }
        self.fallback(&mut policies);
        let role = AppRoleRole {
            name: name.clone(),
            bind_secret_id: Some(c % 10 != 5),
            secret_id_bound_cidrs: if c % 3 == 0 {
                vec![format!("10.{}.0.0/16", 16 + self.rng.below(200))]
            } else {
                Vec::new()
            },
            secret_id_num_uses: Some(*self.rng.pick(&[0, 1, 10])),
            secret_id_ttl: Some(*self.rng.pick(&[0, 600, 3600])),
            token: token_fields(&mut self.rng, policies),
            ..AppRoleRole::default()
        };
        (role, Target::AppRole { role: name })
    }
}

fn build_identity(p: &Params, i: usize, ns: &NsPlan, teams: &[TeamPlan], out: &mut Namespace) {
    let mut rng = Rng::stream(p.seed, S_IDENT + i as u64);
    let ns_id = ns.id.clone();
    let mut team_groups: Vec<usize> = Vec::new();
    let mut jwt_aliases: BTreeSet<String> = BTreeSet::new();
    let mut k8s_aliases: BTreeSet<String> = BTreeSet::new();
    for &t in &ns.teams {
        let team = &teams[t];
        let first = out.entities.len();
        let gha = &out.auth_mounts[1];
        let k8s = &out.auth_mounts[2];
        let approle = &out.auth_mounts[3];
        let mut entities = Vec::new();
        // JWT: one entity per even app that a repository-user_claim role names.
        for r in gha
            .roles
            .jwt
            .iter()
            .filter(|r| r.name.starts_with(&team.name))
        {
            let Some(Value::String(repo)) = r.bound_claims.get("repository") else {
                continue;
            };
            let Some(app) = team.apps.iter().position(|a| *repo == team.repo_of(a)) else {
                continue;
            };
            if app % 2 != 0 || r.user_claim != "repository" || !jwt_aliases.insert(repo.clone()) {
                continue;
            }
            let mut identity = entity(
                &mut rng,
                &ns_id,
                format!("gha-{}-{}", team.name, team.apps[app]),
            );
            identity.metadata.insert("team".into(), team.name.clone());
            identity
                .metadata
                .insert("app".into(), team.apps[app].clone());
            if app % 4 == 0 {
                identity
                    .policies
                    .extend(team.app_policy_index(app, 0).map(|k| team.policy_name(k)));
            }
            let mut alias = alias(&mut rng, repo.clone(), gha);
            alias.metadata.insert("repository".into(), repo.clone());
            identity.aliases.push(alias);
            entities.push(identity);
        }
        // Kubernetes: roles whose alias is `<namespace>/<service account>`.
        for r in k8s.roles.kubernetes.iter().filter(|r| {
            r.name.starts_with(&team.name)
                && r.alias_name_source.as_deref() == Some("serviceaccount_name")
        }) {
            let Some(app) = team
                .apps
                .iter()
                .position(|a| r.name.starts_with(&format!("{}-{a}-runner", team.name)))
            else {
                continue;
            };
            let name = format!("{}/{}", team.name, team.service_account(app));
            if !k8s_aliases.insert(name.clone()) {
                continue;
            }
            let mut identity = entity(
                &mut rng,
                &ns_id,
                format!("k8s-{}-{}", team.name, team.apps[app]),
            );
            identity.metadata.insert("team".into(), team.name.clone());
            identity
                .metadata
                .insert("app".into(), team.apps[app].clone());
            identity.aliases.push(alias(&mut rng, name, k8s));
            entities.push(identity);
        }
        // AppRole: every other role, alias name redacted, linked by `role_name`.
        for r in approle
            .roles
            .approle
            .iter()
            .filter(|r| r.name.starts_with(&team.name))
            .step_by(2)
        {
            let mut identity = entity(&mut rng, &ns_id, format!("approle-{}", r.name));
            identity.metadata.insert("team".into(), team.name.clone());
            if let Some(app) = team
                .apps
                .iter()
                .find(|a| r.name.starts_with(&format!("{}-{a}-jenkins", team.name)))
            {
                identity.metadata.insert("app".into(), app.clone());
            }
            let mut role_alias = alias(&mut rng, REDACTED_ROLE_ID.into(), approle);
            role_alias
                .metadata
                .insert("role_name".into(), r.name.clone());
            identity.aliases.push(role_alias);
            entities.push(identity);
        }
        out.entities.extend(entities);
        if out.entities.len() > first {
            let mut team_group = group(&mut rng, &ns_id, format!("team-{}", team.name));
            // A few teams grant their whole folder to every workload through the group.
            if t % 10 == 0 && team.has_policy(0) {
                team_group.policies.push(team.policy_name(0));
            }
            team_group.metadata.insert("team".into(), team.name.clone());
            team_group.member_entity_ids =
                out.entities[first..].iter().map(|e| e.id.clone()).collect();
            team_groups.push(out.groups.len());
            out.groups.push(team_group);
        }
    }
    if !team_groups.is_empty() {
        let mut parent = group(&mut rng, &ns_id, "ci-workloads".into());
        if ns.has_shared("team-scoped") {
            parent.policies.push("team-scoped".into());
        }
        for &g in &team_groups {
            parent.member_group_ids.push(out.groups[g].id.clone());
            out.groups[g].parent_group_ids.push(parent.id.clone());
        }
        out.groups.push(parent);
    }
}

fn entity(rng: &mut Rng, ns_id: &str, name: String) -> Entity {
    Entity {
        id: rng.uuid(),
        name,
        namespace_id: Some(ns_id.to_string()),
        ..Entity::default()
    }
}

fn alias(rng: &mut Rng, name: String, mount: &AuthMount) -> EntityAlias {
    EntityAlias {
        id: rng.uuid(),
        name,
        mount_accessor: mount.accessor.clone(),
        mount_path: Some(format!("auth/{}", mount.path)),
        mount_type: Some(mount.mount_type.clone()),
        ..EntityAlias::default()
    }
}

fn group(rng: &mut Rng, ns_id: &str, name: String) -> Group {
    Group {
        id: rng.uuid(),
        name,
        group_type: GroupType::Internal,
        namespace_id: Some(ns_id.to_string()),
        ..Group::default()
    }
}

/// The method of a team's pipeline `j`, by preference: mostly JWT, then Kubernetes, AppRole.
fn pipeline_method(j: usize) -> u8 {
    [0, 0, 1, 0, 2, 0, 1, 0, 0, 0][j % 10]
}

fn build_inventory(
    p: &Params,
    nss: &[NsPlan],
    teams: &[TeamPlan],
    targets: &[Vec<Target>],
) -> Inventory {
    let mut inv = Inventory::default();
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    for (t, team) in teams.iter().enumerate() {
        let ns = &nss[team.ns];
        let abs = |p: &str| format!("{}{p}", ns.path);
        inv.teams.push(Team {
            name: team.name.clone(),
            owns: vec![
                abs(&format!("secret/data/{}/*", team.name)),
                abs(&format!("kv/legacy/{}/*", team.name)),
                abs(&format!("database/creds/{}-*", team.name)),
            ],
            namespaces: Vec::new(),
        });
        let mut rng = Rng::stream(p.seed, S_PIPE + t as u64);
        let by_kind = |k: u8| -> Vec<&Target> {
            targets[t]
                .iter()
                .filter(|x| match x {
                    Target::Jwt { flavour, .. } => k == 0 && *flavour != Flavour::TeamGlob,
                    Target::Kubernetes { .. } => k == 1,
                    Target::AppRole { .. } => k == 2,
                })
                .collect()
        };
        let mut kinds = [by_kind(0), by_kind(1), by_kind(2)];
        if kinds[0].is_empty() {
            // A team with only its glob role: pipelines target that one.
            kinds[0] = targets[t]
                .iter()
                .filter(|x| matches!(x, Target::Jwt { .. }))
                .collect();
        }
        for j in 0..team.pipelines {
            let want = pipeline_method(j);
            let kind = [want, 0, 1, 2]
                .into_iter()
                .find(|&k| !kinds[k as usize].is_empty());
            let target = kind.map(|k| {
                let list = &kinds[k as usize];
                list[rng.below(list.len())]
            });
            let PipelineLogin {
                stem: base,
                auth,
                flavour,
            } = pipeline_login(&mut rng, ns, team, target, j);
            let base = format!("{base}-{flavour}");
            let count = names.entry(base.clone()).or_insert(0);
            *count += 1;
            let name = if *count == 1 {
                base
            } else {
                format!("{base}-{count}")
            };
            inv.pipelines.push(Pipeline {
                name,
                team: Some(team.name.clone()),
                auth,
                needs: needs(team, j, &mut rng),
                max_job_duration: Some(*rng.pick(&[600, 900, 1200, 1800, 2700, 3600, 5400])),
                ..Default::default()
            });
        }
    }
    inv
}

/// A synthetic pipeline's login: the stem of its name, its auth, and the flavour its name ends with.
struct PipelineLogin {
    stem: String,
    auth: PipelineAuth,
    flavour: &'static str,
}

/// The login of a team's pipeline `j` towards `target`; with none, a token no role trusts.
/// Every fifth pipeline names no role; one in 25 carries a foreign repository's claims.
fn pipeline_login(
    rng: &mut Rng,
    ns: &NsPlan,
    team: &TeamPlan,
    target: Option<&Target>,
    j: usize,
) -> PipelineLogin {
    let configured = j % 5 != 4;
    let foreign = j % 25 == 7;
    match target {
        Some(Target::Jwt {
            role,
            app,
            flavour,
            audience,
        }) => {
            let app = if *flavour == Flavour::TeamGlob {
                j % team.apps.len()
            } else {
                *app
            };
            let claim_flavour = if *flavour == Flavour::TeamGlob {
                Flavour::Ci
            } else {
                *flavour
            };
            let claims = github_claims(rng, team, app, claim_flavour, audience, foreign, j);
            let auth = PipelineAuth {
                method: AuthMethod::Jwt,
                mount: "gha".into(),
                namespace: ns.path.clone(),
                role: configured.then(|| role.clone()),
                claims: Some(claims),
                ..PipelineAuth::default()
            };
            PipelineLogin {
                stem: format!("{}-{}", team.name, team.apps[app]),
                auth,
                flavour: claim_flavour.as_str(),
            }
        }
        Some(Target::Kubernetes {
            role,
            service_account,
        }) => {
            let auth = PipelineAuth {
                method: AuthMethod::Kubernetes,
                mount: "k8s".into(),
                namespace: ns.path.clone(),
                role: configured.then(|| role.clone()),
                service_account: Some(service_account.clone()),
                service_account_namespace: Some(team.name.clone()),
                ..PipelineAuth::default()
            };
            PipelineLogin {
                stem: role.trim_end_matches("-runner").to_string(),
                auth,
                flavour: "k8s-deploy",
            }
        }
        Some(Target::AppRole { role }) => {
            let auth = PipelineAuth {
                method: AuthMethod::Approle,
                mount: "approle".into(),
                namespace: ns.path.clone(),
                role: Some(role.clone()),
                role_name: Some(role.clone()),
                ..PipelineAuth::default()
            };
            PipelineLogin {
                stem: role.trim_end_matches("-jenkins").to_string(),
                auth,
                flavour: "jenkins",
            }
        }
        None => {
            // No role at all for this team: a token nobody trusts.
            let app = j % team.apps.len();
            let claims = github_claims(rng, team, app, Flavour::Ci, GITHUB_AUDIENCE, foreign, j);
            let auth = PipelineAuth {
                method: AuthMethod::Jwt,
                mount: "gha".into(),
                namespace: ns.path.clone(),
                claims: Some(claims),
                ..PipelineAuth::default()
            };
            PipelineLogin {
                stem: format!("{}-{}", team.name, team.apps[app]),
                auth,
                flavour: "ci",
            }
        }
    }
}

/// The claims of a GitHub Actions OIDC token for `team`/`app` in a job of this flavour.
#[allow(clippy::too_many_arguments)]
fn github_claims(
    rng: &mut Rng,
    team: &TeamPlan,
    app: usize,
    flavour: Flavour,
    audience: &str,
    foreign: bool,
    j: usize,
) -> Map<String, Value> {
    let owner = if foreign { FOREIGN_ORG } else { ORG };
    let repo = format!("{owner}/{}-{}", team.name, team.apps[app]);
    let workflow = match flavour {
        Flavour::Ci | Flavour::TeamGlob => "ci",
        _ => "deploy",
    };
    let pull_request = flavour == Flavour::Ci && j % 2 == 1;
    let (git_ref, event) = if pull_request {
        (
            format!("refs/pull/{}/merge", 100 + rng.below(5000)),
            "pull_request",
        )
    } else {
        ("refs/heads/main".to_string(), "push")
    };
    let env = match flavour {
        Flavour::Staging => Some("staging"),
        Flavour::Prod => Some("production"),
        _ => None,
    };
    let sub = match (env, pull_request) {
        (Some(e), _) => format!("repo:{repo}:environment:{e}"),
        (None, true) => format!("repo:{repo}:pull_request"),
        (None, false) => format!("repo:{repo}:ref:{git_ref}"),
    };
    let mut claims = Map::new();
    claims.insert("iss".into(), GITHUB_ISSUER.into());
    claims.insert("aud".into(), audience.into());
    claims.insert("sub".into(), sub.into());
    claims.insert("repository".into(), repo.clone().into());
    claims.insert("repository_owner".into(), owner.into());
    claims.insert(
        "repository_owner_id".into(),
        format!("{}", 41_870_000 + usize::from(foreign)).into(),
    );
    claims.insert("repository_visibility".into(), "private".into());
    claims.insert("ref".into(), git_ref.clone().into());
    claims.insert("ref_type".into(), "branch".into());
    claims.insert("event_name".into(), event.into());
    claims.insert("workflow".into(), workflow.into());
    claims.insert(
        "job_workflow_ref".into(),
        format!("{repo}/.github/workflows/{workflow}.yml@{git_ref}").into(),
    );
    claims.insert("runner_environment".into(), "github-hosted".into());
    claims.insert("actor".into(), format!("{}-bot", team.name).into());
    if let Some(e) = env {
        claims.insert("environment".into(), e.into());
    }
    claims
}

/// Two to four real paths of the team (relative to its namespace).
fn needs(team: &TeamPlan, j: usize, rng: &mut Rng) -> Vec<String> {
    let mut out = Vec::new();
    let mut buf = String::new();
    if team.kv2 > 0 {
        for _ in 0..2 + rng.below(2) {
            buf.clear();
            secrets::team_kv2(&team.name, &team.apps, rng.below(team.kv2), &mut buf);
            let path = format!("secret/data/{buf}");
            if !out.contains(&path) {
                out.push(path);
            }
        }
    }
    if team.db > 0 && j % 3 == 0 {
        let (c, n) = secrets::team_db(&team.name, &team.apps, rng.below(team.db));
        let endpoint = if c == "roles" {
            "creds"
        } else {
            "static-creds"
        };
        out.push(format!("database/{endpoint}/{n}"));
    }
    out
}

/// The keys of one KV mount of a namespace: each team's keys (`team_key`, `count` per team), then
/// the namespace's shared ones (`shared_key`); `avg_len` sizes the key buffer.
fn kv_keys(
    teams: &[&TeamPlan],
    shared: usize,
    avg_len: usize,
    buf: &mut String,
    count: impl Fn(&TeamPlan) -> usize,
    team_key: impl Fn(&TeamPlan, usize, &mut String),
    shared_key: impl Fn(usize, &mut String),
) -> KeyList {
    let total = teams.iter().map(|t| count(t)).sum::<usize>() + shared;
    let mut keys = KeyList::with_capacity(total, total * avg_len);
    for t in teams {
        for k in 0..count(t) {
            buf.clear();
            team_key(t, k, buf);
            keys.push(buf);
        }
    }
    for k in 0..shared {
        buf.clear();
        shared_key(k, buf);
        keys.push(buf);
    }
    keys
}

/// A KV mount of `version` holding `keys`.
fn kv_mount(
    path: &str,
    version: &str,
    accessor: String,
    description: &str,
    listing: &Listing,
    keys: KeyList,
) -> SecretMount {
    let mut opts = Map::new();
    opts.insert("version".into(), version.into());
    SecretMount {
        path: path.into(),
        mount_type: "kv".into(),
        accessor,
        description: description.into(),
        options: opts,
        secrets: SecretInventory {
            listing: listing.clone(),
            keys,
            ..SecretInventory::default()
        },
        ..SecretMount::default()
    }
}
