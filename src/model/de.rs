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

use crate::duration::{DurationError, DurationSyntax, GoDuration};

/// `null` (or an absent field, with `#[serde(default)]`) becomes `T::default()`.
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A list of strings: a JSON array of strings, `null` (empty), or a comma-separated string (the
/// form the Vault API accepts on write; `"a, b"` becomes `["a", "b"]`, empty pieces dropped).
pub(crate) fn string_list<'de, D>(d: D) -> Result<Vec<String>, D::Error>
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

/// A duration in whole seconds: an integer (the API's form), a float (truncated), or a string as
/// the server reads one (`parseutil.ParseDurationSecond`: `"3600"`, `"1h30m"`, `"768h"`, `"2d"`;
/// see [`crate::duration`]), fractions of a second truncated. `null` is `None`.
/// Negative values are kept (JWT leeways use `-1` for "disabled").
pub(crate) fn opt_duration<'de, D>(d: D) -> Result<Option<i64>, D::Error>
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
            // The server's syntax; whitespace around the value is forgiven in hand-written files.
            GoDuration::parse(v.trim(), DurationSyntax::VaultSeconds)
                .map(|duration| Some(duration.whole_seconds()))
                .map_err(|error| E::custom(duration_message(v, &error)))
        }
    }
    d.deserialize_any(V)
}

/// The loader's wording of a refused duration: Go's, without the `time: ` package prefix.
fn duration_message(text: &str, error: &DurationError) -> String {
    match error {
        DurationError::Invalid { .. } => format!("invalid duration {text:?}"),
        DurationError::MissingUnit { .. } => format!("missing unit in duration {text:?}"),
        DurationError::UnknownUnit { unit, .. } => {
            format!("unknown unit {unit:?} in duration {text:?}")
        }
        DurationError::MultiplicationOverflow => format!("duration {text:?} is out of range"),
        DurationError::Days(_) | DurationError::UnsupportedInput => error.to_string(),
    }
}

/// An optional boolean that also accepts the strings `"true"`/`"false"`/`"1"`/`"0"` (mount and
/// audit options are strings in the API).
pub(crate) fn opt_bool<'de, D>(d: D) -> Result<Option<bool>, D::Error>
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
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s.trim() {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// Read a JSON value as a boolean the lenient way ([`parse_bool`] for strings).
pub(crate) fn value_as_bool(v: &serde_json::Value) -> Option<bool> {
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
                let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
                Ok($name::from(text.as_ref()))
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
        #[derive(Deserialize)]
        struct T {
            #[serde(default, deserialize_with = "opt_duration")]
            d: Option<i64>,
        }
        let parse = |json: &str| serde_json::from_str::<T>(json).map(|t| t.d);
        assert_eq!(parse(r#"{"d": ""}"#).unwrap(), Some(0));
        assert_eq!(parse(r#"{"d": "3600"}"#).unwrap(), Some(3600));
        assert_eq!(parse(r#"{"d": " 1h "}"#).unwrap(), Some(3600));
        assert_eq!(parse(r#"{"d": "1h30m"}"#).unwrap(), Some(5400));
        assert_eq!(parse(r#"{"d": "768h"}"#).unwrap(), Some(2_764_800));
        assert_eq!(parse(r#"{"d": "1.5h"}"#).unwrap(), Some(5400));
        assert_eq!(parse(r#"{"d": "2d"}"#).unwrap(), Some(172_800));
        assert_eq!(parse(r#"{"d": "1500ms"}"#).unwrap(), Some(1));
        assert_eq!(parse(r#"{"d": "-1"}"#).unwrap(), Some(-1));
        assert_eq!(parse(r#"{"d": "-1s"}"#).unwrap(), Some(-1));
        assert_eq!(parse(r#"{"d": -1}"#).unwrap(), Some(-1));
        assert_eq!(parse(r#"{"d": 90.9}"#).unwrap(), Some(90));
        assert_eq!(parse(r#"{"d": null}"#).unwrap(), None);
        // The server refuses these, so a snapshot cannot hold them.
        for bad in [
            "1x",
            "h",
            "-",
            "1d12h",
            "99999999999999999999h",
            "10000000000",
        ] {
            assert!(parse(&format!(r#"{{"d": "{bad}"}}"#)).is_err(), "{bad}");
        }
    }

    #[test]
    fn string_lists_accept_api_shapes() {
        #[derive(Deserialize)]
        struct T {
            #[serde(default, deserialize_with = "string_list")]
            l: Vec<String>,
        }
        let parse = |s: &str| serde_json::from_str::<T>(s).map(|t| t.l);
        assert_eq!(parse(r#"{"l": null}"#).unwrap(), Vec::<String>::new());
        assert_eq!(parse(r#"{}"#).unwrap(), Vec::<String>::new());
        assert_eq!(parse(r#"{"l": "a, b,,c"}"#).unwrap(), ["a", "b", "c"]);
        assert_eq!(parse(r#"{"l": ["x", "y"]}"#).unwrap(), ["x", "y"]);
        assert!(parse(r#"{"l": [1]}"#).is_err());
        assert!(parse(r#"{"l": {}}"#).is_err());
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
