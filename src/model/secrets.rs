//! Secret engine mounts and their inventory of secret paths (never values).

use super::auth::{option_string, MountTune};
use super::de::{self, is_false, map_is_empty, null_default, open_string_enum};
use serde::de::{Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

/// A secrets engine mount, as listed by `sys/mounts` in its namespace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SecretMount {
    /// The mount path with its trailing `/` (`"secret/"`, `"team/kv/"`).
    pub path: String,
    /// The engine type (`kv`, `database`, `pki`, `transit`, `ssh`, `aws`, `kubernetes`, …; also the
    /// built-in `system`, `identity`, `cubbyhole`).
    #[serde(rename = "type")]
    pub mount_type: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub accessor: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub local: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub seal_wrap: bool,
    /// Mount options; for KV, `version` is `"1"` or `"2"`.
    #[serde(
        default,
        skip_serializing_if = "map_is_empty",
        deserialize_with = "null_default"
    )]
    pub options: Map<String, Value>,
    /// Tuned TTLs (`sys/mounts` → `config`).
    #[serde(default, skip_serializing_if = "MountTune::is_empty")]
    pub tune: MountTune,
    /// The secret paths found by listing.
    #[serde(default)]
    pub secrets: SecretInventory,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl SecretMount {
    /// The path without its trailing `/`.
    pub fn name(&self) -> &str {
        self.path.trim_end_matches('/')
    }

    /// The API prefix relative to the namespace (`"secret/"`).
    pub fn api_prefix(&self) -> String {
        format!("{}/", self.name())
    }

    /// `Some(1)` or `Some(2)` for KV mounts (`kv` with `options.version`, `kv-v2`, legacy
    /// `generic`), `None` for every other engine.
    pub fn kv_version(&self) -> Option<u8> {
        match self.mount_type.as_str() {
            "kv-v2" => Some(2),
            "kv-v1" | "generic" => Some(1),
            "kv" => match option_string(&self.options, "version").as_deref() {
                Some("2") => Some(2),
                _ => Some(1),
            },
            _ => None,
        }
    }

    /// The API path of a KV key, relative to the namespace: `secret/data/<key>` for KV v2,
    /// `kv1/<key>` for KV v1. `None` for other engines.
    pub fn kv_data_path(&self, key: &str) -> Option<String> {
        match self.kv_version()? {
            2 => Some(format!("{}/data/{}", self.name(), key)),
            _ => Some(format!("{}/{}", self.name(), key)),
        }
    }

    /// The API path of a KV v2 key's metadata (`secret/metadata/<key>`); for KV v1 the data path.
    pub fn kv_metadata_path(&self, key: &str) -> Option<String> {
        match self.kv_version()? {
            2 => Some(format!("{}/metadata/{}", self.name(), key)),
            _ => Some(format!("{}/{}", self.name(), key)),
        }
    }

    /// Every secret of the inventory as API paths relative to the namespace: KV keys as their
    /// data path, dynamic-engine names as the endpoints that produce credentials
    /// (`database/creds/readonly`, `pki/issue/web` …). Unexpanded folders (keys ending in `/`)
    /// are skipped; see [`SecretInventory::unexpanded_folders`].
    pub fn secret_paths(&self) -> Vec<SecretPath> {
        let mut out = Vec::new();
        if self.kv_version().is_some() {
            out.reserve(self.secrets.keys.len());
            for k in self.secrets.keys.iter().filter(|k| !k.ends_with('/')) {
                if let Some(p) = self.kv_data_path(k) {
                    out.push(SecretPath {
                        api_path: p,
                        key: k.to_owned(),
                        kind: SecretKind::Kv,
                    });
                }
            }
        }
        for (collection, names) in &self.secrets.collections {
            let endpoints = credential_endpoints(&self.mount_type, collection);
            for n in names {
                if endpoints.is_empty() {
                    out.push(SecretPath {
                        api_path: format!("{}/{}/{}", self.name(), collection, n),
                        key: format!("{collection}/{n}"),
                        kind: SecretKind::Unmodelled,
                    });
                }
                for e in endpoints {
                    out.push(SecretPath {
                        api_path: format!("{}/{}", self.name(), e.replace("{}", n)),
                        key: format!("{collection}/{n}"),
                        kind: SecretKind::Dynamic,
                    });
                }
            }
        }
        out
    }
}

/// A secret as an API path (relative to its namespace) with the inventory entry it came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretPath {
    /// The path whose capabilities decide access: `secret/data/payments/db`, `kv1/app/db`,
    /// `database/creds/readonly`.
    pub api_path: String,
    /// The inventory entry: the KV key (`payments/db`) or `<collection>/<name>`.
    pub key: String,
    pub kind: SecretKind,
}

/// What kind of secret a [`SecretPath`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SecretKind {
    /// A stored KV value.
    Kv,
    /// A credential-producing endpoint of a dynamic engine.
    Dynamic,
    /// A named object of an engine blastmap has no endpoint table for (reported as unknown).
    Unmodelled,
}

/// The credential endpoints (templates, `{}` = the listed name) for a listed collection of an
/// engine: `("database", "roles")` → `["creds/{}"]`. Empty when unknown.
pub fn credential_endpoints(engine: &str, collection: &str) -> &'static [&'static str] {
    match (engine, collection.trim_matches('/')) {
        ("database", "roles") => &["creds/{}"],
        ("database", "static-roles") => &["static-creds/{}"],
        ("aws", "roles") => &["creds/{}", "sts/{}"],
        ("pki", "roles") => &["issue/{}", "sign/{}"],
        ("ssh", "roles") => &["creds/{}", "sign/{}"],
        ("transit", "keys") => &["decrypt/{}", "encrypt/{}", "datakey/plaintext/{}"],
        ("kubernetes", "roles") => &["creds/{}"],
        ("azure", "roles") => &["creds/{}"],
        ("gcp", "roleset") | ("gcp", "rolesets") => &["roleset/{}/token", "roleset/{}/key"],
        ("gcp", "static-account") => &["static-account/{}/token", "static-account/{}/key"],
        ("consul", "roles") | ("consul", "role") => &["creds/{}"],
        ("nomad", "role") | ("nomad", "roles") => &["creds/{}"],
        ("rabbitmq", "roles") => &["creds/{}"],
        ("mongodbatlas", "roles") => &["creds/{}"],
        ("terraform", "role") => &["creds/{}"],
        ("totp", "keys") => &["code/{}"],
        ("ldap" | "openldap", "role") => &["creds/{}"],
        ("ldap" | "openldap", "static-role") => &["static-cred/{}"],
        ("ldap" | "openldap", "library") => &["library/{}/check-out"],
        _ => &[],
    }
}

/// The inventory of one secret mount.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SecretInventory {
    /// How complete the inventory is.
    #[serde(default)]
    pub listing: Listing,
    /// KV keys relative to the mount, as listed under `metadata/` (v2) or the mount (v1):
    /// `payments/db`. An entry ending in `/` is a folder that was not expanded (depth or key
    /// limit, or its LIST failed).
    #[serde(default, skip_serializing_if = "KeyList::is_empty")]
    pub keys: KeyList,
    /// Dynamic engines: listed collection relative to the mount (`roles`, `static-roles`,
    /// `keys`, …) → names. See [`credential_endpoints`].
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "null_default"
    )]
    pub collections: BTreeMap<String, Vec<String>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl SecretInventory {
    /// True when every secret of the mount is known.
    pub fn is_complete(&self) -> bool {
        self.listing.status == ListingStatus::Complete
    }

    /// Folders recorded but not expanded (keys ending in `/`).
    pub fn unexpanded_folders(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().filter(|k| k.ends_with('/'))
    }

    /// Number of entries (KV keys plus dynamic names).
    pub fn len(&self) -> usize {
        self.keys.len() + self.collections.values().map(Vec::len).sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

open_string_enum! {
    /// How complete a mount's inventory is.
    #[derive(Default)]
    pub enum ListingStatus {
        /// Every key (or role) was listed.
        Complete => "complete",
        /// Listing stopped at the depth or key limit; unexpanded folders end in `/`.
        Truncated => "truncated",
        /// Some LIST calls failed (see coverage); what was listed is kept.
        Partial => "partial",
        /// Not inventoried (`--no-kv`, an engine without a listable collection, or LIST denied).
        #[default]
        NotListed => "not_listed",
    }
}

/// How a mount was listed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Listing {
    #[serde(default)]
    pub status: ListingStatus,
    /// The depth limit in force, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_depth: Option<u32>,
    /// The key-count limit in force, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_keys: Option<u64>,
    /// Why the listing is not complete, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Listing {
    pub fn complete() -> Listing {
        Listing {
            status: ListingStatus::Complete,
            ..Listing::default()
        }
    }
}

/// A compact list of strings: one text buffer plus end offsets, serialised as a plain JSON array
/// of strings. Built for mounts with hundreds of thousands of keys (one allocation instead of one
/// per key; loads straight from the borrowed input text).
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct KeyList {
    buf: String,
    ends: Vec<usize>,
}

impl KeyList {
    pub fn new() -> KeyList {
        KeyList::default()
    }

    pub fn with_capacity(keys: usize, bytes: usize) -> KeyList {
        KeyList {
            buf: String::with_capacity(bytes),
            ends: Vec::with_capacity(keys),
        }
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The key at index `i`.
    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.buf.get(start..end)
    }

    pub fn push(&mut self, key: &str) {
        self.buf.push_str(key);
        self.ends.push(self.buf.len());
    }

    pub fn iter(&self) -> KeyIter<'_> {
        KeyIter {
            list: self,
            front: 0,
            back: self.ends.len(),
        }
    }

    /// Linear membership test.
    pub fn contains(&self, key: &str) -> bool {
        self.iter().any(|k| k == key)
    }

    /// Keep only the keys for which `f` is true.
    pub fn retain(&mut self, mut f: impl FnMut(&str) -> bool) {
        let kept: KeyList = self.iter().filter(|k| f(k)).collect();
        *self = kept;
    }

    /// Sort the keys and remove duplicates.
    pub fn sort_dedup(&mut self) {
        let mut keys: Vec<&str> = self.iter().collect();
        keys.sort_unstable();
        keys.dedup();
        let sorted: KeyList = keys.into_iter().collect();
        *self = sorted;
    }

    /// Bytes of key text held.
    pub fn text_len(&self) -> usize {
        self.buf.len()
    }
}

/// Iterator over a [`KeyList`].
pub struct KeyIter<'a> {
    list: &'a KeyList,
    front: usize,
    back: usize,
}

impl<'a> Iterator for KeyIter<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        if self.front >= self.back {
            return None;
        }
        let key = self.list.get(self.front);
        self.front += 1;
        key
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.back - self.front;
        (left, Some(left))
    }
}

impl DoubleEndedIterator for KeyIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.front >= self.back {
            return None;
        }
        self.back -= 1;
        self.list.get(self.back)
    }
}

impl ExactSizeIterator for KeyIter<'_> {}

impl<'a> IntoIterator for &'a KeyList {
    type Item = &'a str;
    type IntoIter = KeyIter<'a>;
    fn into_iter(self) -> KeyIter<'a> {
        self.iter()
    }
}

impl<S: AsRef<str>> FromIterator<S> for KeyList {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> KeyList {
        let mut list = KeyList::new();
        list.extend(iter);
        list
    }
}

impl<S: AsRef<str>> Extend<S> for KeyList {
    fn extend<I: IntoIterator<Item = S>>(&mut self, iter: I) {
        for k in iter {
            self.push(k.as_ref());
        }
    }
}

impl fmt::Debug for KeyList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for KeyList {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        de::serialize_str_seq(s, self.len(), self.iter())
    }
}

// Written as a plain list of key strings (see the `Serialize` impl above).
impl schemars::JsonSchema for KeyList {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "KeyList".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "array", "items": {"type": "string"}})
    }
}

impl<'de> Deserialize<'de> for KeyList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<KeyList, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyList;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of key strings")
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<KeyList, E> {
                Ok(KeyList::new())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<KeyList, A::Error> {
                let mut list = KeyList::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20), 0);
                while let Some(k) = seq.next_element::<KeyStr>()? {
                    list.push(&k.0);
                }
                Ok(list)
            }
        }
        d.deserialize_any(V)
    }
}

/// A key string deserialised without an allocation when the input allows borrowing.
struct KeyStr<'de>(std::borrow::Cow<'de, str>);

impl<'de> Deserialize<'de> for KeyStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(KeyStr(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(KeyStr(std::borrow::Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(KeyStr(std::borrow::Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keylist_round_trip_and_ops() {
        let mut list: KeyList = ["b", "a", "c/d", "a", ""].into_iter().collect();
        assert_eq!(list.len(), 5);
        assert_eq!(list.get(2), Some("c/d"));
        assert_eq!(list.get(4), Some(""));
        assert_eq!(list.get(5), None);
        assert_eq!(list.iter().next_back(), Some(""));
        let json = serde_json::to_string(&list).unwrap();
        assert_eq!(json, r#"["b","a","c/d","a",""]"#);
        let back: KeyList = serde_json::from_str(&json).unwrap();
        assert_eq!(back, list);
        list.sort_dedup();
        assert_eq!(list.iter().collect::<Vec<_>>(), ["", "a", "b", "c/d"]);
        list.retain(|k| !k.is_empty());
        assert_eq!(list.iter().collect::<Vec<_>>(), ["a", "b", "c/d"]);
        assert!(list.contains("b") && !list.contains("x"));
        // escapes force the owned path
        let esc: KeyList = serde_json::from_str(r#"["a\"b", "\u00e9"]"#).unwrap();
        assert_eq!(esc.iter().collect::<Vec<_>>(), ["a\"b", "é"]);
        assert!(serde_json::from_str::<KeyList>(r#"["a", 1]"#).is_err());
        assert!(serde_json::from_str::<KeyList>(r#"{"a": 1}"#).is_err());
        assert!(serde_json::from_str::<KeyList>("null").unwrap().is_empty());
    }

    #[test]
    fn kv_versions_and_paths() {
        let mut kv = SecretMount {
            path: "secret/".into(),
            mount_type: "kv".into(),
            ..SecretMount::default()
        };
        assert_eq!(kv.kv_version(), Some(1));
        kv.options.insert("version".into(), "2".into());
        assert_eq!(kv.kv_version(), Some(2));
        assert_eq!(kv.kv_data_path("a/b").unwrap(), "secret/data/a/b");
        assert_eq!(kv.kv_metadata_path("a/b").unwrap(), "secret/metadata/a/b");
        kv.secrets.keys = ["a/b", "c/"].into_iter().collect();
        let paths = kv.secret_paths();
        assert_eq!(paths.len(), 1);
        assert_eq!(paths[0].api_path, "secret/data/a/b");
        assert_eq!(kv.secrets.unexpanded_folders().collect::<Vec<_>>(), ["c/"]);

        let mut database = SecretMount {
            path: "database/".into(),
            mount_type: "database".into(),
            ..SecretMount::default()
        };
        assert_eq!(database.kv_version(), None);
        database
            .secrets
            .collections
            .insert("roles".into(), vec!["readonly".into()]);
        database
            .secrets
            .collections
            .insert("weird".into(), vec!["x".into()]);
        let paths: Vec<_> = database
            .secret_paths()
            .into_iter()
            .map(|p| (p.api_path, p.kind))
            .collect();
        assert_eq!(
            paths,
            [
                ("database/creds/readonly".to_string(), SecretKind::Dynamic),
                ("database/weird/x".to_string(), SecretKind::Unmodelled)
            ]
        );
    }
}
