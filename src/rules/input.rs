//! The facts as the Rego engine's input, built directly from their `Serialize` implementation.
//!
//! Serialising a 60 MB facts document to JSON text and having regorus parse it again was a
//! serial half second per run on the large estate. This serializer builds the same
//! `regorus::Value` the JSON round trip gives (serde_json's data model: `None` and unit are
//! `null`, unit variants are strings, other variants `{"Variant": …}`, non-finite floats `null`,
//! `f32` as the shortest decimal that reads back as it, map keys as strings), so rules see the
//! same input either way; `tests` below and `tests/suite/rules_input.rs` check the equivalence.
//! Object keys that are field names are shared, as regorus' own parser shares repeated keys.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;

use regorus::Value;
use rustc_hash::FxHashMap;
use serde::ser::{self, Serialize};

/// `value` as the Rego input (the value `Value::from_json_str(&serde_json::to_string(value))`
/// gives).
pub(crate) fn to_input<T: Serialize + ?Sized>(value: &T) -> Result<Value, Error> {
    let keys = RefCell::new(FxHashMap::default());
    value.serialize(Ser {
        keys: &keys,
        given: None,
    })
}

/// [`to_input`] of a struct whose field `field` already has its input value (`given`): that
/// field is not serialised, `given` takes its place. Only the struct's own field is replaced, not
/// fields of the same name deeper in it.
pub(crate) fn to_input_given<T: Serialize + ?Sized>(
    value: &T,
    field: &'static str,
    given: Value,
) -> Result<Value, Error> {
    to_input_with(
        value,
        &[Given {
            field,
            value: given,
        }],
    )
}

/// [`to_input_given`] for several fields of the outermost struct.
pub(crate) fn to_input_with<T: Serialize + ?Sized>(
    value: &T,
    given: &[Given],
) -> Result<Value, Error> {
    let keys = RefCell::new(FxHashMap::default());
    value.serialize(Ser {
        keys: &keys,
        given: Some(given),
    })
}

/// The input of every item of a list, built in parallel, in chunks that share their field
/// names: the same array [`to_input`] gives for the list.
pub(crate) fn to_input_par<T: Serialize + Sync>(items: &[T]) -> Result<Value, Error> {
    use rayon::prelude::*;
    const CHUNK: usize = 64;
    let chunks: Vec<Value> = items
        .par_chunks(CHUNK)
        .map(to_input)
        .collect::<Result<_, _>>()?;
    let mut all = Vec::with_capacity(items.len());
    for chunk in &chunks {
        let array = chunk
            .as_array()
            .map_err(|_| Error("a list did not become an array".into()))?;
        all.extend(array.iter().cloned());
    }
    Ok(Value::from(all))
}

/// A field whose input value is known ([`to_input_given`]).
pub(crate) struct Given {
    pub(crate) field: &'static str,
    pub(crate) value: Value,
}

/// Why a value cannot be an input (what serde_json would also refuse).
#[derive(Debug)]
pub(crate) struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

/// Field names seen so far, each as one shared string value.
type Keys = RefCell<FxHashMap<&'static str, Value>>;

#[derive(Clone, Copy)]
struct Ser<'k> {
    keys: &'k Keys,
    /// For the outermost struct only: the fields whose values are given.
    given: Option<&'k [Given]>,
}

impl Ser<'_> {
    /// The serializer of the values inside a struct or map: a given field is the outermost
    /// struct's only.
    fn inner(self) -> Self {
        Ser {
            given: None,
            ..self
        }
    }

    fn key(&self, name: &'static str) -> Value {
        self.keys
            .borrow_mut()
            .entry(name)
            .or_insert_with(|| Value::from(name))
            .clone()
    }
}

fn float(v: f64) -> Value {
    if v.is_finite() {
        Value::from(v)
    } else {
        Value::Null
    }
}

fn object(entries: impl IntoIterator<Item = (Value, Value)>) -> Value {
    Value::from(entries.into_iter().collect::<BTreeMap<Value, Value>>())
}

impl<'k> ser::Serializer for Ser<'k> {
    type Ok = Value;
    type Error = Error;
    type SerializeSeq = Seq<'k>;
    type SerializeTuple = Seq<'k>;
    type SerializeTupleStruct = Seq<'k>;
    type SerializeTupleVariant = Seq<'k>;
    type SerializeMap = Map<'k>;
    type SerializeStruct = Map<'k>;
    type SerializeStructVariant = Map<'k>;

    fn serialize_bool(self, v: bool) -> Result<Value, Error> {
        Ok(Value::from(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, Error> {
        Ok(Value::from(i64::from(v)))
    }
    fn serialize_i16(self, v: i16) -> Result<Value, Error> {
        Ok(Value::from(i64::from(v)))
    }
    fn serialize_i32(self, v: i32) -> Result<Value, Error> {
        Ok(Value::from(i64::from(v)))
    }
    fn serialize_i64(self, v: i64) -> Result<Value, Error> {
        // serde_json writes it and regorus reads a non-negative one back as unsigned.
        Ok(match u64::try_from(v) {
            Ok(u) => Value::from(u),
            Err(_) => Value::from(v),
        })
    }
    fn serialize_i128(self, v: i128) -> Result<Value, Error> {
        // Beyond 64 bits serde_json reads the text back as a float.
        Ok(match (u64::try_from(v), i64::try_from(v)) {
            (Ok(u), _) => Value::from(u),
            (_, Ok(i)) => Value::from(i),
            _ => float(v as f64),
        })
    }
    fn serialize_u8(self, v: u8) -> Result<Value, Error> {
        Ok(Value::from(u64::from(v)))
    }
    fn serialize_u16(self, v: u16) -> Result<Value, Error> {
        Ok(Value::from(u64::from(v)))
    }
    fn serialize_u32(self, v: u32) -> Result<Value, Error> {
        Ok(Value::from(u64::from(v)))
    }
    fn serialize_u64(self, v: u64) -> Result<Value, Error> {
        Ok(Value::from(v))
    }
    fn serialize_u128(self, v: u128) -> Result<Value, Error> {
        Ok(match u64::try_from(v) {
            Ok(u) => Value::from(u),
            Err(_) => float(v as f64),
        })
    }
    fn serialize_f32(self, v: f32) -> Result<Value, Error> {
        // serde_json writes the shortest decimal of the f32; reading it back gives this f64.
        if !v.is_finite() {
            return Ok(Value::Null);
        }
        Ok(float(v.to_string().parse::<f64>().unwrap_or(f64::from(v))))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, Error> {
        Ok(float(v))
    }
    fn serialize_char(self, v: char) -> Result<Value, Error> {
        Ok(Value::from(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, Error> {
        Ok(Value::from(v))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, Error> {
        Ok(Value::from(
            v.iter()
                .map(|b| Value::from(u64::from(*b)))
                .collect::<Vec<_>>(),
        ))
    }
    fn serialize_none(self) -> Result<Value, Error> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value, Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, Error> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value, Error> {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value, Error> {
        Ok(self.key(variant))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Value, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Value, Error> {
        Ok(object([(self.key(variant), value.serialize(self)?)]))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Seq<'k>, Error> {
        Ok(Seq {
            ser: self.inner(),
            items: Vec::with_capacity(len.unwrap_or(0)),
            variant: None,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq<'k>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Seq<'k>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Seq<'k>, Error> {
        Ok(Seq {
            ser: self.inner(),
            items: Vec::with_capacity(len),
            variant: Some(variant),
        })
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Map<'k>, Error> {
        Ok(Map {
            ser: self.inner(),
            entries: BTreeMap::new(),
            key: None,
            variant: None,
            given: None,
        })
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Map<'k>, Error> {
        Ok(Map {
            ser: self.inner(),
            entries: BTreeMap::new(),
            key: None,
            variant: None,
            given: self.given,
        })
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Map<'k>, Error> {
        Ok(Map {
            ser: self.inner(),
            entries: BTreeMap::new(),
            key: None,
            variant: Some(variant),
            given: None,
        })
    }
}

pub(crate) struct Seq<'k> {
    ser: Ser<'k>,
    items: Vec<Value>,
    variant: Option<&'static str>,
}

impl Seq<'_> {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.items.push(value.serialize(self.ser)?);
        Ok(())
    }

    fn done(self) -> Value {
        let array = Value::from(self.items);
        match self.variant {
            Some(v) => object([(self.ser.key(v), array)]),
            None => array,
        }
    }
}

/// The four sequence traits serde asks for: each element is pushed, the end builds the array.
macro_rules! seq_trait {
    ($trait:ident, $method:ident) => {
        impl ser::$trait for Seq<'_> {
            type Ok = Value;
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.push(value)
            }
            fn end(self) -> Result<Value, Error> {
                Ok(self.done())
            }
        }
    };
}

seq_trait!(SerializeSeq, serialize_element);
seq_trait!(SerializeTuple, serialize_element);
seq_trait!(SerializeTupleStruct, serialize_field);
seq_trait!(SerializeTupleVariant, serialize_field);

pub(crate) struct Map<'k> {
    ser: Ser<'k>,
    entries: BTreeMap<Value, Value>,
    key: Option<Value>,
    variant: Option<&'static str>,
    given: Option<&'k [Given]>,
}

impl Map<'_> {
    /// A later value for the same key replaces the earlier one, as when a JSON parser reads
    /// a duplicate key.
    fn insert(&mut self, key: Value, value: Value) {
        self.entries.insert(key, value);
    }

    fn done(self) -> Value {
        let obj = Value::from(self.entries);
        match self.variant {
            Some(v) => object([(self.ser.key(v), obj)]),
            None => obj,
        }
    }
}

impl ser::SerializeMap for Map<'_> {
    type Ok = Value;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.key = Some(key.serialize(KeySer)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = self
            .key
            .take()
            .ok_or_else(|| Error("a map value without its key".into()))?;
        let value = value.serialize(self.ser)?;
        self.insert(key, value);
        Ok(())
    }
    fn end(self) -> Result<Value, Error> {
        Ok(self.done())
    }
}

impl ser::SerializeStruct for Map<'_> {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        let json_key = self.ser.key(key);
        let given = self
            .given
            .and_then(|given| given.iter().find(|g| g.field == key));
        let json_value = match given {
            Some(given) => given.value.clone(),
            None => value.serialize(self.ser)?,
        };
        self.insert(json_key, json_value);
        Ok(())
    }
    fn end(self) -> Result<Value, Error> {
        Ok(self.done())
    }
}

impl ser::SerializeStructVariant for Map<'_> {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        ser::SerializeStruct::serialize_field(self, key, value)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(self.done())
    }
}

/// Map keys, as serde_json writes them: strings, and numbers and chars as their text.
struct KeySer;

/// Key serializer methods that write the value's text.
macro_rules! key_as_text {
    ($($method:ident: $t:ty),*) => {
        $(fn $method(self, v: $t) -> Result<Value, Error> {
            Ok(Value::from(v.to_string()))
        })*
    };
}

fn key_error() -> Error {
    Error("a map key must be a string, a number or a char (as in JSON)".into())
}

impl ser::Serializer for KeySer {
    type Ok = Value;
    type Error = Error;
    type SerializeSeq = ser::Impossible<Value, Error>;
    type SerializeTuple = ser::Impossible<Value, Error>;
    type SerializeTupleStruct = ser::Impossible<Value, Error>;
    type SerializeTupleVariant = ser::Impossible<Value, Error>;
    type SerializeMap = ser::Impossible<Value, Error>;
    type SerializeStruct = ser::Impossible<Value, Error>;
    type SerializeStructVariant = ser::Impossible<Value, Error>;

    key_as_text!(
        serialize_bool: bool,
        serialize_i8: i8,
        serialize_i16: i16,
        serialize_i32: i32,
        serialize_i64: i64,
        serialize_i128: i128,
        serialize_u8: u8,
        serialize_u16: u16,
        serialize_u32: u32,
        serialize_u64: u64,
        serialize_u128: u128
    );
    fn serialize_f32(self, _v: f32) -> Result<Value, Error> {
        Err(key_error())
    }
    fn serialize_f64(self, _v: f64) -> Result<Value, Error> {
        Err(key_error())
    }
    fn serialize_char(self, v: char) -> Result<Value, Error> {
        Ok(Value::from(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, Error> {
        Ok(Value::from(v))
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<Value, Error> {
        Err(key_error())
    }
    fn serialize_none(self) -> Result<Value, Error> {
        Err(key_error())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<Value, Error> {
        Err(key_error())
    }
    fn serialize_unit(self) -> Result<Value, Error> {
        Err(key_error())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value, Error> {
        Err(key_error())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value, Error> {
        Ok(Value::from(variant))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Value, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<Value, Error> {
        Err(key_error())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_error())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_error())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_error())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_error())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_error())
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(key_error())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use serde_json::json;

    /// The value the JSON round trip gives, or `None` when serde_json refuses it.
    fn via_json<T: Serialize>(v: &T) -> Option<Value> {
        let text = serde_json::to_string(v).ok()?;
        Some(Value::from_json_str(&text).unwrap())
    }

    fn same<T: Serialize + fmt::Debug>(v: T) {
        assert_eq!(to_input(&v).ok(), via_json(&v), "{v:?}");
    }

    #[derive(Debug, Serialize)]
    enum E {
        Unit,
        New(u8),
        Tuple(u8, String),
        Struct { a: Option<i32>, b: f32 },
    }

    #[derive(Debug, Serialize)]
    struct S {
        name: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        gone: Option<u8>,
        ratio: f64,
        small: f32,
        neg: i64,
        big: u128,
        list: Vec<E>,
        by_num: BTreeMap<u32, bool>,
        by_str: BTreeMap<String, Vec<u8>>,
        unit: (),
        t: (u8, char),
        #[serde(flatten)]
        extra: BTreeMap<String, serde_json::Value>,
    }

    #[test]
    fn equals_the_json_round_trip() {
        same(S {
            name: "x",
            gone: None,
            ratio: 0.999,
            small: 0.1,
            neg: -3,
            big: u128::from(u64::MAX) + 5,
            list: vec![
                E::Unit,
                E::New(3),
                E::Tuple(1, "b".into()),
                E::Struct { a: None, b: 2.5 },
            ],
            by_num: [(1, true), (20, false)].into_iter().collect(),
            by_str: [("k".to_string(), vec![1, 2])].into_iter().collect(),
            unit: (),
            t: (7, 'z'),
            extra: [(
                "claims".to_string(),
                json!({"aud": ["a", 1, 2.5, null, {"x": -1}]}),
            )]
            .into_iter()
            .collect(),
        });
        same(f64::NAN);
        same(f32::INFINITY);
        same(-0.0f64);
        same(1e300);
        same(i64::MIN);
        same(json!({"a": 1, "a2": [true, "s"]}));
    }

    #[test]
    fn keys_json_refuses_are_errors() {
        let m: BTreeMap<Vec<u8>, u8> = [(vec![1], 1)].into_iter().collect();
        assert!(via_json(&m).is_none());
        assert!(to_input(&m).is_err());
    }
}
