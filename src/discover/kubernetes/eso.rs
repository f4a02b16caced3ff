//! The External Secrets Operator: `ExternalSecret`s (and `PushSecret`s) read (write) Vault
//! through a `SecretStore` of their own namespace or a `ClusterSecretStore` whose `conditions`
//! admit their namespace (no conditions: every namespace). The store's `provider.vault` says
//! the KV mount (`path`), its `version` (`v2` by default) and the login: Kubernetes auth with
//! `serviceAccountRef` (or, without it, the controller's own service account), a JWT, AppRole,
//! user/password, or a static token from a Kubernetes secret (`tokenSecretRef`).

use yaml_serde::Value;

use super::super::yaml::{get, scalar, strings, Seg};
use super::super::{Discovery, Draft};
use super::manifests::Object;
use super::{draft, expose, kv_path, need, val, Account, Index, Login, Origin};
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
        get(self.vault, key)
            .and_then(scalar)
            .filter(|s| !s.is_empty())
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
                let Some(login) = login(&store, o, out) else {
                    continue;
                };
                let origin = Origin {
                    object: o,
                    consumer: ConsumerKind::Eso,
                    via: Some(store.object.id()),
                };
                if !admitted(&store, o, out) {
                    continue;
                }
                let mut d = draft(&origin, &login);
                static_token(&mut d, &store);
                conditions(&mut d, &store, o, out);
                if kind == "ExternalSecret" {
                    reads(&mut d, &store, o, spec);
                } else {
                    pushes(&mut d, &store, spec);
                }
                drafts.push(d);
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
    let found = index
        .find(GROUP, &r.kind, namespace, &r.name)
        // A cluster-scoped object written with a namespace is still the cluster's.
        .or_else(|| {
            cluster
                .then(|| {
                    index
                        .of_kind(GROUP, "ClusterSecretStore")
                        .find(|s| s.name == r.name)
                })
                .flatten()
        });
    let Some(object) = found else {
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

/// The login a store makes for a consumer.
fn login(store: &Store, consumer: &Object, out: &mut Discovery) -> Option<Login> {
    let auth = get(store.vault, "auth").unwrap_or(&Value::Null);
    let param =
        |block: &Value, key: &str| get(block, key).and_then(scalar).filter(|s| !s.is_empty());
    let mut login = if let Some(k) = get(auth, "kubernetes") {
        let mount = param(k, "mountPath").unwrap_or_else(|| "kubernetes".into());
        let mut login = Login::new(AuthMethod::Kubernetes, val(&mount));
        login.role = param(k, "role").map(|r| val(&r));
        login.account = Some(account(
            store,
            consumer,
            get(k, "serviceAccountRef"),
            get(k, "secretRef"),
        ));
        login.audiences = get(k, "serviceAccountRef")
            .and_then(|s| get(s, "audiences"))
            .map(strings)
            .unwrap_or_default();
        login
    } else if let Some(j) = get(auth, "jwt") {
        let mount = param(j, "path").unwrap_or_else(|| "jwt".into());
        let mut login = Login::new(AuthMethod::Jwt, val(&mount));
        login.role = param(j, "role").map(|r| val(&r));
        let token = get(j, "kubernetesServiceAccountToken");
        login.account = Some(match token {
            Some(t) => account(store, consumer, get(t, "serviceAccountRef"), None),
            None => Account::Unknown("(the JWT stored in the store's secretRef)".into()),
        });
        login.audiences = token
            .and_then(|t| get(t, "audiences"))
            .map(strings)
            .unwrap_or_default();
        login
    } else if let Some(a) = get(auth, "appRole") {
        let mount = param(a, "path").unwrap_or_else(|| "approle".into());
        let mut login = Login::new(AuthMethod::Approle, val(&mount));
        let role_id = param(a, "roleId").unwrap_or_else(|| "from roleRef".into());
        login.role = Some(super::super::Val::Dynamic(format!(
            "(the AppRole role of role-id {role_id})"
        )));
        login
    } else if let Some(u) = get(auth, "userPass") {
        let mount = param(u, "path").unwrap_or_else(|| "userpass".into());
        Login::new(AuthMethod::Userpass, val(&mount))
    } else if get(auth, "tokenSecretRef").is_some() {
        Login::new(AuthMethod::Token, val("token"))
    } else {
        out.notes.push(format!(
            "{}:{}: {} logs in with a method blastmap does not read (cert, iam, ldap …): its consumers are not in the inventory",
            store.object.file,
            store.object.own_line().unwrap_or(0),
            store.object.id()
        ));
        return None;
    };
    login.namespace = store.setting("namespace").map(|n| val(&n));
    Some(login)
}

/// The service account a Kubernetes or JWT login presents.
fn account(
    store: &Store,
    consumer: &Object,
    reference: Option<&Value>,
    secret: Option<&Value>,
) -> Account {
    if let Some(r) = reference {
        let name = get(r, "name").and_then(scalar).unwrap_or_default();
        // A namespaced store's references stay in its namespace; a cluster store's default to
        // the consumer's namespace.
        let namespace = if store.cluster {
            get(r, "namespace")
                .and_then(scalar)
                .or(consumer.namespace.clone())
        } else {
            store.object.namespace.clone()
        };
        return Account::Known {
            name: val(&name),
            namespace,
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
            let m = mount.trim_matches('/');
            match root.as_deref().map(|r| r.trim_matches('/')) {
                Some(r) if store.v2() => format!("{m}/{kind}/{r}/*"),
                Some(r) => format!("{m}/{r}/*"),
                None if store.v2() => format!("{m}/{kind}/*"),
                None => format!("{m}/*"),
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
    let m = mount.trim_matches('/');
    let k = key.trim_matches('/');
    let k = match k.strip_prefix(m).and_then(|r| r.strip_prefix('/')) {
        Some(rest) if !m.is_empty() => rest,
        _ => k,
    };
    kv_path(m, k, store.v2())
}
