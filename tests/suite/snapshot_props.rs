//! Property tests of the snapshot loader: no input panics it, and whatever loads round-trips.
//!
//! Inputs: arbitrary bytes, the demo snapshot damaged byte-wise (truncated, spliced, garbage
//! inserted), and the demo snapshot with one JSON node replaced or removed.

use blastmap::model::{Affects, Snapshot, SnapshotError};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;
use std::path::Path;

const DEMO: &str = include_str!("../../fixtures/demo/snapshot.json");

/// Load text and, when it loads, exercise everything downstream code calls: round trip,
/// validation, index and lookups. Nothing here may panic.
fn check(text: &str) -> Result<(), SnapshotError> {
    let snap = Snapshot::from_json_str(text, "prop.json")?;
    let again = Snapshot::from_json_str(&snap.to_json_string(), "again.json")
        .expect("a loaded snapshot must reload from its own output");
    assert_eq!(snap, again, "round trip changed the snapshot");
    let _ = snap.validate();
    let ix = snap.index();
    for ns in &snap.namespaces {
        let _ = ix.namespace(&ns.path);
        let _ = ix.namespace_by_id(&ns.id);
        let _ = ns.parent_path();
        for p in &ns.policies {
            let _ = ix.policy(&ns.path, &p.name);
            let _ = p.expiration_time();
        }
        for m in &ns.auth_mounts {
            let _ = ix.auth_mount_by_accessor(&m.accessor);
            let _ = ix.auth_mount(&ns.path, &m.path);
            for r in m.roles() {
                let _ = r.api_path(m);
                if let Some(t) = r.token() {
                    let _ = t.login_policies();
                }
            }
            let _ = snap.is_known(&ns.path, &Affects::Roles, Some(&m.api_prefix()));
        }
        for m in &ns.secret_mounts {
            let _ = m.secret_paths();
            let _ = snap.secrets_known(&ns.path, m);
        }
        for e in &ns.entities {
            let _ = ix.groups_of_entity(&e.id);
            for a in &e.aliases {
                let _ = ix.entity_by_alias(&a.mount_accessor, &a.name);
            }
        }
        for g in &ns.groups {
            let _ = ix.group_ancestors(&g.id);
            let _ = ix.group_by_name(&ns.path, &g.name);
        }
        let _ = snap.gaps_in_namespace(&ns.path);
    }
    Ok(())
}

/// Every error must name the source.
fn check_error(text: &str) {
    if let Err(e) = check(text) {
        assert!(
            e.to_string().contains("prop.json"),
            "error without file: {e}"
        );
    }
}

/// All JSON pointers of a value (the root included).
fn pointers(v: &Value, here: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                let p = format!("{here}/{}", k.replace('~', "~0").replace('/', "~1"));
                pointers(c, p, out);
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                pointers(c, format!("{here}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(here);
}

fn replacement() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None), // remove the node
        Just(Some(Value::Null)),
        any::<bool>().prop_map(|b| Some(Value::Bool(b))),
        any::<i64>().prop_map(|n| Some(Value::from(n))),
        any::<f64>()
            .prop_map(|f| Some(serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number))),
        ".{0,12}".prop_map(|s| Some(Value::String(s))),
        Just(Some(Value::Array(vec![]))),
        Just(Some(Value::Object(serde_json::Map::new()))),
        Just(Some(serde_json::json!(["a", 1, null]))),
        Just(Some(
            serde_json::json!({"name": "x", "path": "y/", "id": "z"})
        )),
        Just(Some(Value::from("1h30m"))),
        Just(Some(Value::from(-1))),
    ]
}

fn mutate(doc: &Value, at: Index, with: Option<Value>) -> Value {
    let mut doc = doc.clone();
    let mut ptrs = Vec::new();
    pointers(&doc, String::new(), &mut ptrs);
    let ptr = at.get(&ptrs).clone();
    match (ptr.rfind('/'), with) {
        (None, Some(v)) => doc = v,
        (None, None) => doc = Value::Null,
        (Some(i), with) => {
            let (parent, key) = (&ptr[..i], &ptr[i + 1..]);
            let key = key.replace("~1", "/").replace("~0", "~");
            if let Some(p) = doc.pointer_mut(parent) {
                match (p, with) {
                    (Value::Object(m), Some(v)) => {
                        m.insert(key, v);
                    }
                    (Value::Object(m), None) => {
                        m.shift_remove(&key);
                    }
                    (Value::Array(a), with) => {
                        if let Ok(i) = key.parse::<usize>() {
                            if i < a.len() {
                                match with {
                                    Some(v) => a[i] = v,
                                    None => {
                                        a.remove(i);
                                    }
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    doc
}

fn demo_value() -> Value {
    serde_json::from_str(DEMO).expect("demo is JSON")
}

#[test]
fn demo_passes_the_checks() {
    check(DEMO).expect("demo loads");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check_error(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn arbitrary_json_like_text_never_panics(text in r#"[\{\}\[\]",:0-9a-z_ \n\\-]{0,400}"#) {
        check_error(&text);
        check_error(&format!(r#"{{"schema_version": 1, {text}"#));
    }

    #[test]
    fn truncated_demo_is_an_error(cut in 0usize..DEMO.trim_end().len()) {
        // cut at a char boundary; any strict prefix of the document is incomplete JSON
        let mut end = cut;
        while !DEMO.is_char_boundary(end) { end -= 1; }
        let prefix = &DEMO[..end];
        let r = check(prefix);
        prop_assert!(r.is_err(), "a truncated snapshot loaded ({end} of {} bytes)", DEMO.len());
        let msg = r.unwrap_err().to_string();
        prop_assert!(msg.contains("prop.json"));
    }

    #[test]
    fn byte_damaged_demo_never_panics(
        at in 0usize..DEMO.len(),
        len in 0usize..64,
        insert in proptest::collection::vec(any::<u8>(), 0..16),
    ) {
        let mut bytes = DEMO.as_bytes().to_vec();
        let end = (at + len).min(bytes.len());
        bytes.splice(at..end, insert);
        check_error(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn json_damaged_demo_never_panics(at in any::<Index>(), with in replacement()) {
        let doc = mutate(&demo_value(), at, with);
        check_error(&serde_json::to_string_pretty(&doc).unwrap());
    }

    #[test]
    fn twice_damaged_demo_never_panics(
        a in any::<Index>(), wa in replacement(),
        b in any::<Index>(), wb in replacement(),
    ) {
        let doc = mutate(&mutate(&demo_value(), a, wa), b, wb);
        check_error(&serde_json::to_string(&doc).unwrap());
    }

    #[test]
    fn load_from_file_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prop.json");
        std::fs::write(&path, &bytes).unwrap();
        if let Err(e) = Snapshot::load(&path) {
            prop_assert!(e.to_string().contains("prop.json"));
        }
    }
}

#[test]
fn deeply_nested_unknown_fields_do_not_overflow() {
    let mut v = demo_value();
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    v["extra_deep"] = Value::Null;
    let text = serde_json::to_string(&v)
        .unwrap()
        .replace("\"extra_deep\":null", &format!("\"extra_deep\":{deep}"));
    let err = Snapshot::from_json_str(&text, "prop.json").unwrap_err();
    assert!(err.to_string().contains("recursion"), "{err}");
}

/// A synthetic estate of 1,000,000 KV keys (plus 20,000 policies and 10,000 roles) must load
/// in well under 2 s (about 0.15 s on the 2-core reference machine, with the test profile of
/// Cargo.toml; `--nocapture` prints the figure).
#[test]
fn million_key_snapshot_loads_fast() {
    use blastmap::model::{AuthMount, JwtRole, Listing, Policy, SecretMount, ServerInfo};
    let mut s = Snapshot::new(ServerInfo {
        version: "2.7.2".into(),
        address: "https://bao.example:8200".into(),
        ..ServerInfo::default()
    });
    let root = &mut s.namespaces[0];
    for m in 0..10 {
        let mut sm = SecretMount {
            path: format!("kv{m}/"),
            mount_type: "kv".into(),
            accessor: format!("kv_{m}"),
            ..SecretMount::default()
        };
        sm.options.insert("version".into(), "2".into());
        sm.secrets.listing = Listing::complete();
        for k in 0..100_000 {
            sm.secrets.keys.push(&format!(
                "team-{}/app-{}/env-{}/secret-{k}",
                k % 97,
                k % 1013,
                k % 7
            ));
        }
        root.secret_mounts.push(sm);
    }
    for p in 0..20_000 {
        root.policies.push(Policy::new(
            format!("p{p}"),
            format!(
                "path \"kv{}/data/team-{}/*\" {{\n  capabilities = [\"read\"]\n}}\n",
                p % 10,
                p % 97
            ),
        ));
    }
    let mut am = AuthMount {
        path: "jwt/".into(),
        mount_type: "jwt".into(),
        accessor: "auth_jwt_1".into(),
        ..AuthMount::default()
    };
    for r in 0..10_000 {
        let mut role = JwtRole {
            name: format!("r{r}"),
            user_claim: "sub".into(),
            ..JwtRole::default()
        };
        role.bound_claims
            .insert("repository".into(), format!("acme/repo-{r}").into());
        role.bound_audiences.push("https://github.com/acme".into());
        role.token.token_policies = vec![format!("p{r}")];
        role.token.token_ttl = Some(900);
        am.roles.jwt.push(role);
    }
    root.auth_mounts.push(am);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.json");
    s.save(&path).unwrap();
    let size = std::fs::metadata(&path).unwrap().len();
    let t = std::time::Instant::now();
    let loaded = Snapshot::load(Path::new(&path)).unwrap();
    let took = t.elapsed();
    eprintln!(
        "loaded {size} bytes, {} keys in {took:?}",
        loaded.secret_count()
    );
    assert_eq!(loaded.secret_count(), 1_000_000);
    assert!(took.as_secs_f64() < 2.0, "load took {took:?}");
}
