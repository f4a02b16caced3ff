//! Lenient (de)serialisation helpers shared by the snapshot types.
//!
//! The snapshot is written by `blastmap export` from what the server answers, and sometimes written
//! or edited by hand (fixtures, what-if change files). The helpers here accept the shapes the Vault
//! and OpenBao APIs really produce (`null` for an empty list or map, durations as integer seconds or
//! as Go duration strings, booleans as strings in mount options), while always *writing* one
//! canonical form.

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serializer};
use std::fmt;

/// `null` (or an absent field, with `#[serde(default)]`) becomes `T::default()`.
pub fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A list of strings: a JSON array of strings, `null` (empty), or a comma-separated string (the
/// form the Vault API accepts on write; `"a, b"` becomes `["a", "b"]`, empty pieces dropped).
pub fn string_list<'de, D>(d: D) -> Result<Vec<String>, D::Error>
where
    D: Deserializer<'de>,
{
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of strings, a comma-separated string, or null")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(V)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
            while let Some(s) = seq.next_element::<String>()? {
                out.push(s);
            }
            Ok(out)
        }
    }
    d.deserialize_any(V)
}

/// A duration in whole seconds: an integer (the API's form), a float (truncated), a string of
/// digits, or a Go-style duration string (`"1h30m"`, `"768h"`, `"90s"`, `"2d"`). `null` is `None`.
/// Negative values are kept (JWT leeways use `-1` for "disabled").
pub fn opt_duration<'de, D>(d: D) -> Result<Option<i64>, D::Error>
where
    D: Deserializer<'de>,
{
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<i64>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a duration in seconds (integer) or a duration string such as \"1h\"")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(V)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            i64::try_from(v)
                .map(Some)
                .map_err(|_| E::custom(format!("duration {v} is out of range")))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            if v.is_finite() && v.abs() < 9.0e18 {
                Ok(Some(v.trunc() as i64))
            } else {
                Err(E::custom(format!("duration {v} is out of range")))
            }
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            parse_duration(v).map(Some).map_err(E::custom)
        }
    }
    d.deserialize_any(V)
}

/// Parse a duration the way Vault's `parseutil.ParseDurationSecond` does: an empty string is 0,
/// plain digits are seconds, otherwise a sequence of `<number><unit>` with units `ns`, `us`, `µs`,
/// `ms`, `s`, `m`, `h`, `d`. The result is whole seconds (fractions truncated toward zero).
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(0);
    }
    if let Ok(n) = t.parse::<i64>() {
        return Ok(n);
    }
    let (neg, mut rest) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if rest.is_empty() {
        return Err(format!("invalid duration {s:?}"));
    }
    let mut nanos: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return Err(format!("invalid duration {s:?}"));
        }
        let num: f64 = rest[..num_len]
            .parse()
            .map_err(|_| format!("invalid duration {s:?}"))?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "d" => 86400e9,
            "" => return Err(format!("missing unit in duration {s:?}")),
            _ => return Err(format!("unknown unit {unit:?} in duration {s:?}")),
        };
        nanos += num * scale;
    }
    let secs = (nanos / 1e9).trunc();
    if !secs.is_finite() || secs.abs() > 9.0e18 {
        return Err(format!("duration {s:?} is out of range"));
    }
    Ok(if neg { -(secs as i64) } else { secs as i64 })
}

/// An optional boolean that also accepts the strings `"true"`/`"false"`/`"1"`/`"0"` (mount and
/// audit options are strings in the API).
pub fn opt_bool<'de, D>(d: D) -> Result<Option<bool>, D::Error>
where
    D: Deserializer<'de>,
{
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<bool>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a boolean")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(V)
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            parse_bool(v)
                .map(Some)
                .ok_or_else(|| E::custom(format!("expected a boolean, found the string {v:?}")))
        }
    }
    d.deserialize_any(V)
}

/// `"true"`, `"1"`, `"t"` (any case) → true; `"false"`, `"0"`, `"f"` → false, as Go's
/// `strconv.ParseBool`.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim() {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// Read a JSON value as a boolean the lenient way ([`parse_bool`] for strings).
pub fn value_as_bool(v: &serde_json::Value) -> Option<bool> {
    match v {
        serde_json::Value::Bool(b) => Some(*b),
        serde_json::Value::String(s) => parse_bool(s),
        serde_json::Value::Number(n) => n.as_i64().map(|i| i != 0),
        _ => None,
    }
}

pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

/// Serialise a `&str` slice as a JSON array (helper for custom containers).
pub(crate) fn serialize_str_seq<'a, S, I>(s: S, len: usize, items: I) -> Result<S::Ok, S::Error>
where
    S: Serializer,
    I: Iterator<Item = &'a str>,
{
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(len))?;
    for it in items {
        seq.serialize_element(it)?;
    }
    seq.end()
}

/// Declares a string-valued enum whose unknown values are kept in an `Other(String)` variant, so
/// a newer exporter's values load (and round-trip) instead of failing.
macro_rules! open_string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version of blastmap does not know, kept verbatim.
            Other(String),
        }

        impl $name {
            /// Every known value, in declaration order.
            pub const KNOWN: &'static [$name] = &[$($name::$variant),+];

            /// The JSON spelling of this value.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $text, )+
                    $name::Other(s) => s.as_str(),
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $( $text => $name::$variant, )+
                    other => $name::Other(other.to_owned()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
                Ok($name::from(s.as_ref()))
            }
        }

        // Any string is valid (unknown values are kept), so the schema is a string with the
        // known values as examples rather than an enum a newer value would fail.
        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "examples": [$($text),+]
                })
            }
        }
    };
}
pub(crate) use open_string_enum;

/// Serialize helper so `skip_serializing_if` can use a plain function on maps.
pub(crate) fn map_is_empty(m: &serde_json::Map<String, serde_json::Value>) -> bool {
    m.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_vault() {
        assert_eq!(parse_duration("").unwrap(), 0);
        assert_eq!(parse_duration("3600").unwrap(), 3600);
        assert_eq!(parse_duration("1h").unwrap(), 3600);
        assert_eq!(parse_duration("1h30m").unwrap(), 5400);
        assert_eq!(parse_duration("768h").unwrap(), 2_764_800);
        assert_eq!(parse_duration("1.5h").unwrap(), 5400);
        assert_eq!(parse_duration("2d").unwrap(), 172_800);
        assert_eq!(parse_duration("1500ms").unwrap(), 1);
        assert_eq!(parse_duration("-1").unwrap(), -1);
        assert_eq!(parse_duration("-1s").unwrap(), -1);
        assert!(parse_duration("1x").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("1").is_ok());
        assert!(parse_duration("5").is_ok());
        assert!(parse_duration("-").is_err());
        assert!(parse_duration("99999999999999999999h").is_err());
    }

    #[test]
    fn string_lists_accept_api_shapes() {
        #[derive(Deserialize)]
        struct T {
            #[serde(default, deserialize_with = "string_list")]
            l: Vec<String>,
        }
        let p = |s: &str| serde_json::from_str::<T>(s).map(|t| t.l);
        assert_eq!(p(r#"{"l": null}"#).unwrap(), Vec::<String>::new());
        assert_eq!(p(r#"{}"#).unwrap(), Vec::<String>::new());
        assert_eq!(p(r#"{"l": "a, b,,c"}"#).unwrap(), ["a", "b", "c"]);
        assert_eq!(p(r#"{"l": ["x", "y"]}"#).unwrap(), ["x", "y"]);
        assert!(p(r#"{"l": [1]}"#).is_err());
        assert!(p(r#"{"l": {}}"#).is_err());
    }

    #[test]
    fn bools_accept_strings() {
        assert_eq!(parse_bool("true"), Some(true));
        assert_eq!(parse_bool("0"), Some(false));
        assert_eq!(parse_bool("yes"), None);
        assert_eq!(value_as_bool(&serde_json::json!("false")), Some(false));
        assert_eq!(value_as_bool(&serde_json::json!(true)), Some(true));
    }
}
