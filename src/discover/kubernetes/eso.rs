//! The External Secrets Operator: `ExternalSecret`s (and `PushSecret`s) read (write) Vault
//! through a `SecretStore` of their own namespace or a `ClusterSecretStore` whose `conditions`
//! admit their namespace (no conditions: every namespace). The store's `provider.vault` says
//! the KV mount (`path`), its `version` (`v2` by default) and the login: Kubernetes auth with
//! `serviceAccountRef` (or, without it, the controller's own service account), a JWT, AppRole,
//! user/password, LDAP, a TLS client certificate, AWS IAM, GCP, or a static token from a
//! Kubernetes secret (`tokenSecretRef`).

use yaml_serde::Value;

use super::super::yaml::{get, scalar, strings, Seg};
use super::super::{Discovery, Draft};
use super::cloud::{self, ServiceAccount};
use super::manifests::Object;
use super::{draft, expose, field, kv_path, need, val, Account, Index, Login, Origin};
use crate::inventory::{AuthMethod, ConsumerKind};

const GROUP: &str = "external-secrets.io";

/// A store's Vault settings, read once per consumer.
struct Store<'o> {
    object: &'o Object,
    vault: &'o Value,
    cluster: bool,
}

impl Store<'_> {
    fn setting(&self, key: &str) -> Option<String> {
        field(Some(self.vault), key)
    }

    fn mount(&self) -> String {
        self.setting("path").unwrap_or_default()
    }

    fn v2(&self) -> bool {
        self.setting("version").is_none_or(|v| v != "v1")
    }
}

pub(super) fn read(index: &Index, drafts: &mut Vec<Draft>, out: &mut Discovery) {
    for kind in ["ExternalSecret", "PushSecret"] {
        for o in index.of_kind(GROUP, kind) {
            let spec = get(o.value(), "spec").unwrap_or(&Value::Null);
            for reference in store_refs(o, spec) {
                let Some(store) = store(index, o, &reference, out) else {
                    continue;
                };
                let Some(login) = login(index, &store, o, out) else {
                    continue;
                };
                let origin = Origin {
                    object: o,
                    consumer: ConsumerKind::Eso,
                    via: Some(store.object),
                };
                if !admitted(&store, o, out) {
                    continue;
                }
                let mut draft = draft(&origin, &login);
                static_token(&mut draft, &store);
                conditions(&mut draft, &store, o, out);
                if kind == "ExternalSecret" {
                    reads(&mut draft, &store, o, spec);
                } else {
                    pushes(&mut draft, &store, spec);
                }
                drafts.push(draft);
            }
        }
    }
}

/// A store reference: its kind and name.
struct StoreRef {
    kind: String,
    name: String,
}

fn store_refs(o: &Object, spec: &Value) -> Vec<StoreRef> {
    let one = |r: &Value| {
        let name = get(r, "name").and_then(scalar)?;
        let kind = get(r, "kind")
            .and_then(scalar)
            .unwrap_or_else(|| "SecretStore".into());
        Some(StoreRef { kind, name })
    };
    if o.kind == "PushSecret" {
        let refs = get(spec, "secretStoreRefs").and_then(Value::as_sequence);
        return refs.into_iter().flatten().filter_map(one).collect();
    }
    get(spec, "secretStoreRef")
        .and_then(one)
        .into_iter()
        .collect()
}

/// The Vault store a consumer names, when the manifests hold it.
fn store<'o>(
    index: &Index<'o>,
    o: &Object,
    r: &StoreRef,
    out: &mut Discovery,
) -> Option<Store<'o>> {
    let cluster = r.kind == "ClusterSecretStore";
    let namespace = if cluster {
        None
    } else {
        o.namespace.as_deref()
    };
    let Some(object) = index.find(GROUP, &r.kind, namespace, &r.name) else {
        out.notes.push(format!(
            "{}:{}: {} uses {} {:?}, which is not in the manifests: not in the inventory",
            o.file,
            o.own_line().unwrap_or(0),
            o.id(),
            r.kind,
            r.name
        ));
        return None;
    };
    let vault = get(object.value(), "spec")
        .and_then(|s| get(s, "provider"))
        .and_then(|p| get(p, "vault"))?;
    Some(Store {
        object,
        vault,
        cluster,
    })
}

/// The login a store makes for a consumer: the method of its one `auth` block.
fn login(index: &Index, store: &Store, consumer: &Object, out: &mut Discovery) -> Option<Login> {
    let auth = get(store.vault, "auth").unwrap_or(&Value::Null);
    let methods: [(&str, LoginReader); 9] = [
        ("kubernetes", kubernetes_login),
        ("jwt", jwt_login),
        ("appRole", approle_login),
        ("userPass", userpass_login),
        ("ldap", ldap_login),
        ("cert", cert_login),
        ("iam", iam_login),
        ("gcp", gcp_login),
        ("tokenSecretRef", token_login),
    ];
    let found = methods
        .iter()
        .find_map(|(key, reader)| get(auth, key).map(|block| (block, reader)));
    let Some((block, reader)) = found else {
        out.notes.push(format!(
            "{}:{}: {} names no login blastmap reads (expected one of kubernetes, jwt, appRole, userPass, ldap, cert, iam, gcp, tokenSecretRef): its consumers are not in the inventory",
            store.object.file,
            store.object.own_line().unwrap_or(0),
            store.object.id()
        ));
        return None;
    };
    let from = LoginFrom {
        index,
        store,
        consumer,
        block,
    };
    let mut login = reader(&from);
    login.namespace = store.setting("namespace").map(|n| val(&n));
    Some(login)
}

/// What a method's login is read from: the store, its `auth.<method>` block, the consumer.
struct LoginFrom<'f> {
    index: &'f Index<'f>,
    store: &'f Store<'f>,
    consumer: &'f Object,
    block: &'f Value,
}

impl LoginFrom<'_> {
    fn param(&self, key: &str) -> Option<String> {
        field(Some(self.block), key)
    }

    /// The login at the block's mount (`key`, or the method's default mount).
    fn at(&self, method: AuthMethod, key: &str, default: &str) -> Login {
        let mount = self.param(key).unwrap_or_else(|| default.into());
        Login::new(method, val(&mount))
    }

    /// The Secret a `secretRef`-style key names, for the reasons given.
    fn secret_name(&self, key: &str) -> String {
        get(self.block, key)
            .and_then(|r| get(r, "name"))
            .and_then(scalar)
            .unwrap_or_default()
    }
}

type LoginReader = fn(&LoginFrom) -> Login;

fn kubernetes_login(from: &LoginFrom) -> Login {
    let mut login = from.at(AuthMethod::Kubernetes, "mountPath", "kubernetes");
    login.role = from.param("role").map(|r| val(&r));
    let reference = get(from.block, "serviceAccountRef");
    login.account = Some(account(
        from.store,
        from.consumer,
        reference,
        get(from.block, "secretRef"),
    ));
    login.audiences = reference
        .and_then(|s| get(s, "audiences"))
        .map(strings)
        .unwrap_or_default();
    login
}

fn jwt_login(from: &LoginFrom) -> Login {
    let mut login = from.at(AuthMethod::Jwt, "path", "jwt");
    login.role = from.param("role").map(|r| val(&r));
    let token = get(from.block, "kubernetesServiceAccountToken");
    login.account = Some(match token {
        Some(t) => account(from.store, from.consumer, get(t, "serviceAccountRef"), None),
        None => Account::Unknown("(the JWT stored in the store's secretRef)".into()),
    });
    login.audiences = token
        .and_then(|t| get(t, "audiences"))
        .map(strings)
        .unwrap_or_default();
    login
}

fn approle_login(from: &LoginFrom) -> Login {
    let mut login = from.at(AuthMethod::Approle, "path", "approle");
    let role_id = from
        .param("roleId")
        .unwrap_or_else(|| "from roleRef".into());
    login.role = Some(super::super::Val::Dynamic(format!(
        "(the AppRole role of role-id {role_id})"
    )));
    login
}

fn userpass_login(from: &LoginFrom) -> Login {
    let mut login = from.at(AuthMethod::Userpass, "path", "userpass");
    login.user = from.param("username").map(|u| val(&u));
    login
}

/// LDAP: the user is in the store; the user's directory groups only the directory knows.
fn ldap_login(from: &LoginFrom) -> Login {
    let mut login = from.at(AuthMethod::Ldap, "path", "ldap");
    login.user = from.param("username").map(|u| val(&u));
    login.unknown("auth.groups", "(the directory groups of the LDAP user)");
    login
}

/// TLS certificate: the controller posts to the mount's login with no role name, so every
/// role of the mount that trusts the certificate is tried; the certificate is in a Secret.
fn cert_login(from: &LoginFrom) -> Login {
    let mut login = from.at(AuthMethod::Cert, "path", "cert");
    login.unknown(
        "auth.common_name",
        format!(
            "(the client certificate in Secret {:?})",
            from.secret_name("clientCert")
        ),
    );
    login
}

/// AWS IAM: the Vault role is `vaultRole`; the principal is the IAM role it assumes (`role`),
/// else the credentials' own: the IRSA role of `jwt.serviceAccountRef`, the access keys of
/// `secretRef`, or the controller's identity.
fn iam_login(from: &LoginFrom) -> Login {
    let mut login = from.at(AuthMethod::Aws, "path", "aws");
    login.role = from.param("vaultRole").map(|r| val(&r));
    cloud::aws_region(&mut login, from.param("region"));
    if let Some(assumed) = from.param("role") {
        cloud::aws_principal(&mut login, &assumed);
        return login;
    }
    let reference = get(from.block, "jwt").and_then(|j| get(j, "serviceAccountRef"));
    if let Some(reference) = reference {
        let account = account_of(from.store, from.consumer, reference);
        cloud::aws_from_account(from.index, &mut login, &account);
    } else if get(from.block, "secretRef").is_some() {
        login.unknown(
            "auth.aws.iam_principal_arn",
            "(the IAM principal of the access keys in the store's secretRef)",
        );
    } else {
        login.unknown(
            "auth.aws.iam_principal_arn",
            "(the External Secrets controller's own AWS identity)",
        );
    }
    login
}

/// GCP: the Google service account of the Kubernetes one named (Workload Identity), else a
/// key in a Secret or the controller's identity.
fn gcp_login(from: &LoginFrom) -> Login {
    let mut login = from.at(AuthMethod::Gcp, "path", "gcp");
    login.role = from.param("role").map(|r| val(&r));
    let reference = get(from.block, "workloadIdentity")
        .and_then(|w| get(w, "serviceAccountRef"))
        .or_else(|| get(from.block, "serviceAccountRef"));
    if let Some(reference) = reference {
        let account = account_of(from.store, from.consumer, reference);
        cloud::gcp_from_account(from.index, &mut login, &account);
    } else if get(from.block, "secretRef").is_some() {
        login.unknown(
            "auth.gcp.service_account_email",
            "(the service account key in the store's secretRef)",
        );
    } else {
        login.unknown(
            "auth.gcp.service_account_email",
            "(the External Secrets controller's own Google identity)",
        );
    }
    login
}

fn token_login(_: &LoginFrom) -> Login {
    Login::new(AuthMethod::Token, val("token"))
}

/// The service account a Kubernetes or JWT login presents.
fn account(
    store: &Store,
    consumer: &Object,
    reference: Option<&Value>,
    secret: Option<&Value>,
) -> Account {
    if let Some(r) = reference {
        let account = account_of(store, consumer, r);
        return Account::Known {
            name: account.name,
            namespace: account.namespace,
        };
    }
    if let Some(s) = secret {
        let name = get(s, "name").and_then(scalar).unwrap_or_default();
        return Account::Unknown(format!(
            "(the service account whose token Secret {name:?} holds)"
        ));
    }
    Account::Unknown("(the External Secrets controller's own service account)".into())
}

/// The name and namespace of a `serviceAccountRef`: a namespaced store's references stay in
/// its namespace; a cluster store's default to the consumer's namespace.
fn account_of(store: &Store, consumer: &Object, reference: &Value) -> ServiceAccount {
    let name = get(reference, "name").and_then(scalar).unwrap_or_default();
    let namespace = if store.cluster {
        get(reference, "namespace")
            .and_then(scalar)
            .or(consumer.namespace.clone())
    } else {
        store.object.namespace.clone()
    };
    ServiceAccount {
        name: val(&name),
        namespace,
    }
}

/// `auth.tokenSecretRef`: a static Vault token kept in a Kubernetes secret.
fn static_token(d: &mut Draft, store: &Store) {
    let Some(r) = get(store.vault, "auth").and_then(|a| get(a, "tokenSecretRef")) else {
        return;
    };
    let name = get(r, "name").and_then(scalar).unwrap_or_default();
    let path = [
        Seg::Key("spec"),
        Seg::Key("provider"),
        Seg::Key("vault"),
        Seg::Key("auth"),
        Seg::Key("tokenSecretRef"),
    ];
    let line = store.object.line(&path);
    expose(
        d,
        "static-token-secret",
        &store.object.file,
        line,
        format!(
            "{} ({}:{}) logs in with the Vault token stored in Kubernetes Secret {name:?} \
             (auth.tokenSecretRef): whoever reads that secret holds the token",
            store.object.id(),
            store.object.file,
            line.unwrap_or(0)
        ),
    );
}

/// Whether a cluster store's `conditions` admit the consumer's namespace; a store open to every
/// namespace (or to ones only the cluster knows) is recorded as shared.
fn conditions(d: &mut Draft, store: &Store, consumer: &Object, out: &mut Discovery) {
    if !store.cluster {
        return;
    }
    let spec = get(store.object.value(), "spec");
    let conditions = spec
        .and_then(|s| get(s, "conditions"))
        .and_then(Value::as_sequence)
        .cloned()
        .unwrap_or_default();
    let line = store
        .object
        .line(&[Seg::Key("spec"), Seg::Key("conditions")]);
    let open = if conditions.is_empty() {
        Some("has no conditions: ExternalSecrets of every namespace can use it".to_string())
    } else if conditions
        .iter()
        .any(|c| get(c, "namespaceSelector").is_some())
    {
        out.notes.push(format!(
            "{}: {} admits namespaces by label (namespaceSelector): whether {} may use it needs the cluster",
            store.object.file,
            store.object.id(),
            consumer.id()
        ));
        Some(
            "admits namespaces by label selector: which namespaces is decided in the cluster"
                .into(),
        )
    } else if conditions
        .iter()
        .any(|c| get(c, "namespaceRegexes").is_some())
    {
        Some("admits namespaces by regular expression: any namespace created with a matching name can use it".into())
    } else {
        None
    };
    if let Some(why) = open {
        expose(
            d,
            "shared-store",
            &store.object.file,
            line,
            format!("ClusterSecretStore {} {why}", store.object.name),
        );
    }
}

/// Whether a cluster store's `conditions` may admit the consumer: a condition lists its
/// namespace, a regular expression (Go syntax, unanchored) matches it, or a label selector might
/// (the cluster decides). A refused consumer gets a note: the operator does not sync it.
fn admitted(store: &Store, consumer: &Object, out: &mut Discovery) -> bool {
    let conditions = get(store.object.value(), "spec")
        .and_then(|s| get(s, "conditions"))
        .and_then(Value::as_sequence);
    let Some(conditions) = conditions.filter(|c| store.cluster && !c.is_empty()) else {
        return true;
    };
    let Some(ns) = consumer.namespace.as_deref() else {
        return true;
    };
    let admits = |c: &Value| {
        let listed = get(c, "namespaces").map(strings).unwrap_or_default();
        let regexes = get(c, "namespaceRegexes").map(strings).unwrap_or_default();
        get(c, "namespaceSelector").is_some()
            || listed.iter().any(|n| n == ns)
            || regexes.iter().any(|r| {
                // A pattern the engine refuses is kept as a possible match, never dropped.
                regex::Regex::new(r).map_or(true, |re| re.is_match(ns))
            })
    };
    if conditions.iter().any(admits) {
        return true;
    }
    out.notes.push(format!(
        "{}:{}: {} uses {}, whose conditions do not admit namespace {ns:?}: the operator refuses it",
        consumer.file,
        consumer.own_line().unwrap_or(0),
        consumer.id(),
        store.object.id()
    ));
    false
}

/// The paths an `ExternalSecret` reads.
fn reads(d: &mut Draft, store: &Store, o: &Object, spec: &Value) {
    let items = |key| {
        get(spec, key)
            .and_then(Value::as_sequence)
            .cloned()
            .unwrap_or_default()
    };
    for item in items("data") {
        let key = get(&item, "remoteRef")
            .and_then(|r| get(r, "key"))
            .and_then(scalar);
        if let Some(key) = key {
            need(d, &key_path(store, &key));
        }
    }
    for (i, item) in items("dataFrom").iter().enumerate() {
        if let Some(key) = get(item, "extract")
            .and_then(|e| get(e, "key"))
            .and_then(scalar)
        {
            need(d, &key_path(store, &key));
        }
        let Some(find) = get(item, "find") else {
            continue;
        };
        let root = get(find, "path")
            .and_then(scalar)
            .filter(|p| !p.trim_matches('/').is_empty());
        let mount = store.mount();
        let below = |kind: &str| {
            let mount_path = mount.trim_matches('/');
            match root.as_deref().map(|r| r.trim_matches('/')) {
                Some(r) if store.v2() => format!("{mount_path}/{kind}/{r}/*"),
                Some(r) => format!("{mount_path}/{r}/*"),
                None if store.v2() => format!("{mount_path}/{kind}/*"),
                None => format!("{mount_path}/*"),
            }
        };
        need(d, &below("data"));
        if store.v2() {
            need(d, &below("metadata"));
        }
        if root.is_none() {
            let line = o.line(&[
                Seg::Key("spec"),
                Seg::Key("dataFrom"),
                Seg::Item(i),
                Seg::Key("find"),
            ]);
            expose(
                d,
                "find-whole-mount",
                &o.file,
                line,
                format!(
                    "{} finds secrets by name or tags over the whole {:?} mount of {} (dataFrom.find without path): it reads every secret that matches, today's and tomorrow's",
                    o.id(),
                    mount,
                    store.object.id()
                ),
            );
        }
    }
}

/// The paths a `PushSecret` writes.
fn pushes(d: &mut Draft, store: &Store, spec: &Value) {
    let items = get(spec, "data")
        .and_then(Value::as_sequence)
        .cloned()
        .unwrap_or_default();
    for item in items {
        let key = get(&item, "match")
            .and_then(|m| get(m, "remoteRef"))
            .and_then(|r| get(r, "remoteKey"))
            .and_then(scalar);
        if let Some(key) = key {
            need(d, &key_path(store, &key));
        }
    }
}

/// A key's API path in the store's mount. A key that already starts with the store's path is
/// not prefixed again; without a path, the key's first segment is the mount.
fn key_path(store: &Store, key: &str) -> String {
    let mount = store.mount();
    let mount_path = mount.trim_matches('/');
    let relative = key.trim_matches('/');
    let relative = match relative
        .strip_prefix(mount_path)
        .and_then(|r| r.strip_prefix('/'))
    {
        Some(rest) if !mount_path.is_empty() => rest,
        _ => relative,
    };
    kv_path(mount_path, relative, store.v2())
}
