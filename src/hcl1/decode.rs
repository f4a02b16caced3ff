//! Decoding the syntax tree into values, reproducing hcl1's `decoder.go` for the Go types that
//! Vault's policy structs use: `string`, `int`, `bool`, `float64`, `interface{}` (`any`),
//! slices and `map[string]T`, and struct fields.
//!
//! hcl1 decodes by reflection, dispatching on the *target* type (and, for an `interface{}` that
//! already holds a value, on that value's dynamic type). The [`Decode`] trait plays that role:
//! each implementation mirrors one of `decodeString`, `decodeInt`, `decodeBool`, `decodeFloat`,
//! `decodeSlice`, `decodeMap` and `decodeInterface`, with the same coercions and error texts.
//! The [`Decoder`] keeps hcl1's stack of target kinds, which `decodeInterface` consults: an
//! object decoded into an `any` becomes a `map[string]interface{}` at the root or directly
//! inside a slice, and a `[]map[string]interface{}` anywhere else (e.g. a struct field).
//!
//! # Repeated keys
//!
//! hcl1 decodes a struct field once per matching item, *into the same value*
//! (`decodeStruct`: first all labelled blocks `key "label" { ... }` together, as one object
//! list, then each `key = value` and `key { ... }` item in order). So when a key appears several
//! times in one object:
//! - `string`, `int`, `bool`, `float64`: the last occurrence wins;
//! - slices (`[]string`, `[]any`): occurrences are appended (`decodeSlice` appends to a
//!   non-nil slice), so two `capabilities = [...]` lines add up;
//! - maps (`map[string][]any`): entries merge, and a key present in both has its value decoded
//!   again into the existing one, so list values append (`decodeMap` starts from the existing
//!   entry); the same happens for a key repeated inside one map object;
//! - `any`: the first occurrence fixes the dynamic type and later ones are decoded *as that
//!   type* (`min_wrapping_ttl = "1h"` then `= 30` gives the string `"30"`; `= 30` then `= "1h"`
//!   is the error `strconv.ParseInt: parsing "1h": invalid syntax`); lists and objects append.
//!
//! [`StructDecoder::field`] applies these rules for one field.
//!
//! # Errors
//!
//! [`DecodeError`] prints exactly as hcl1's error would: `At line:col: ...` for its
//! `PosError`s (`At -: ...` when the node has no position, as with JSON input), and bare
//! messages for the `strconv` errors it passes through. Where Go would panic (a string token
//! that cannot be unquoted, see [`super::ast::ObjectKey::value_error`]), the error says so with
//! Go's panic message and [`DecodeError::go_panic`] set.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use super::ast::{LiteralKind, Node, ObjectItem, ObjectList, Pos};
use super::strconv::{parse_float, parse_int, IntBase};

/// An error from decoding, printed exactly like hcl1's.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodeError {
    /// The node position for hcl1's `PosError`s (possibly invalid, printed `-`); `None` for
    /// errors hcl1 returns without position.
    pub pos: Option<Pos>,
    pub msg: String,
    /// True when Go would not return this error but panic (Vault then fails the request).
    pub go_panic: bool,
}

impl DecodeError {
    fn at(pos: Pos, msg: String) -> Self {
        DecodeError {
            pos: Some(pos),
            msg,
            go_panic: false,
        }
    }

    pub(super) fn plain(msg: String) -> Self {
        DecodeError {
            pos: None,
            msg,
            go_panic: false,
        }
    }

    /// An error standing for a Go panic with this message.
    pub(super) fn panic(msg: String) -> Self {
        DecodeError {
            pos: None,
            msg,
            go_panic: true,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.go_panic {
            return write!(f, "hcl1 would panic: {}", self.msg);
        }
        match self.pos {
            Some(pos) => write!(f, "At {pos}: {}", self.msg),
            None => f.write_str(&self.msg),
        }
    }
}

impl std::error::Error for DecodeError {}

/// A node as hcl1's decoder sees it: any `ast.Node`, including the object list and object item
/// kinds that decoding passes around.
#[derive(Clone, Copy, Debug)]
pub enum DNode<'a> {
    Node(&'a Node),
    List(&'a ObjectList),
    Item(&'a ObjectItem),
}

impl DNode<'_> {
    /// hcl1's `node.Pos()`.
    pub fn pos(&self) -> Pos {
        match self {
            DNode::Node(n) => n.pos(),
            DNode::List(l) => l.pos(),
            DNode::Item(i) => i.pos(),
        }
    }

    /// The Go type name hcl1 prints with `%T`.
    pub fn go_type_name(&self) -> &'static str {
        match self {
            DNode::Node(n) => n.go_type_name(),
            DNode::List(_) => "*ast.ObjectList",
            DNode::Item(_) => "*ast.ObjectItem",
        }
    }

    fn literal(&self) -> Option<&super::ast::Literal> {
        match self {
            DNode::Node(Node::Literal(l)) => Some(l),
            _ => None,
        }
    }
}

/// Go's `reflect.Kind`s that hcl1's decoder stack records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Bool,
    Int,
    Float64,
    String,
    Interface,
    Map,
    Slice,
    Struct,
    Ptr,
}

/// A decoded `interface{}` value, with Go's dynamic types.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Value {
    /// A nil interface (nothing decoded yet).
    #[default]
    Nil,
    /// Go `int` (64-bit).
    Int(i64),
    /// Go `float64`.
    Float(f64),
    Bool(bool),
    String(String),
    /// Go `[]interface{}`.
    List(Vec<Value>),
    /// Go `map[string]interface{}` (keys unique; kept in first-insertion order, where Go's map
    /// has no order).
    Map(Vec<(String, Value)>),
    /// Go `[]map[string]interface{}`: what an object becomes when decoded into an `any` that is
    /// not at the root or directly inside a slice (e.g. `min_wrapping_ttl = { a = 1 }`).
    MapList(Vec<Vec<(String, Value)>>),
}

/// A Go `map[string]T`: unique keys, kept in first-insertion order. `None` around it (in
/// `Option<GoMap<T>>`) is Go's nil map.
#[derive(Clone, Debug, PartialEq)]
pub struct GoMap<T>(pub Vec<(String, T)>);

impl<T> Default for GoMap<T> {
    fn default() -> Self {
        GoMap(Vec::new())
    }
}

impl<T> GoMap<T> {
    pub fn get(&self, key: &str) -> Option<&T> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Set `key`, replacing an existing entry in place.
    pub fn insert(&mut self, key: String, val: T) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = val,
            None => self.0.push((key, val)),
        }
    }
}

/// A Rust stand-in for a Go type hcl1 can decode into. Implemented for `String` (Go `string`),
/// `i64` (Go `int`), `bool`, `f64`, [`Value`] (`interface{}`), `Option<Vec<T>>` (a slice, `None`
/// = nil) and `Option<GoMap<T>>` (a `map[string]T`, `None` = nil).
pub trait Decode {
    /// The Go kind of the target (for an `interface{}`, of the value it holds, or `Interface`
    /// when nil), which hcl1 pushes on its stack.
    fn kind(&self) -> Kind;
    /// Decode `node` into `self` (the body of hcl1's per-kind function).
    fn decode_into(
        &mut self,
        d: &mut Decoder,
        name: &str,
        node: DNode<'_>,
    ) -> Result<(), DecodeError>;
}

/// hcl1's `decoder`: the stack of kinds being decoded into.
#[derive(Clone, Debug, Default)]
pub struct Decoder {
    stack: Vec<Kind>,
}

impl Decoder {
    /// A decoder as `hcl.DecodeObject` starts one (empty stack): use for a top-level target that
    /// is not a struct.
    pub fn new() -> Self {
        Decoder::default()
    }

    /// A decoder positioned inside a struct, as when `hcl.DecodeObject(&someStruct, node)`
    /// decodes its fields.
    pub fn in_struct() -> Self {
        Decoder {
            stack: vec![Kind::Struct],
        }
    }

    /// hcl1's `decoder.decode`: push the target's kind (unless it is a nil interface) and
    /// dispatch.
    pub fn decode<T: Decode + ?Sized>(
        &mut self,
        name: &str,
        node: DNode<'_>,
        out: &mut T,
    ) -> Result<(), DecodeError> {
        let kind = out.kind();
        let pushed = kind != Kind::Interface;
        if pushed {
            self.stack.push(kind);
        }
        let result = out.decode_into(self, name, node);
        if pushed {
            self.stack.pop();
        }
        result
    }
}

/// Decode a whole node into a non-struct target, as `hcl.DecodeObject(&out, node)` does (field
/// names in errors start with `root`).
pub fn decode_object<T: Decode>(node: DNode<'_>, out: &mut T) -> Result<(), DecodeError> {
    Decoder::new().decode("root", node, out)
}

/// Mirrors `decodeString`: a STRING or HEREDOC gives its value, a NUMBER its text (`42`, `0x1F`
/// as written); anything else (BOOL, FLOAT, lists, objects) is
/// `<name>: unknown type for string <type>`.
pub fn decode_string(name: &str, node: DNode<'_>, out: &mut String) -> Result<(), DecodeError> {
    if let Some(lit) = node.literal() {
        match &lit.kind {
            LiteralKind::Number(_) => {
                *out = lit.text.clone();
                return Ok(());
            }
            LiteralKind::String(_) | LiteralKind::Heredoc(_) => {
                if let Some(v) = lit.string_value() {
                    *out = v?.to_string();
                    return Ok(());
                }
            }
            _ => {}
        }
    }
    Err(DecodeError::at(
        node.pos(),
        format!("{name}: unknown type for string {}", node.go_type_name()),
    ))
}

/// Mirrors `decodeInt` (Go `int`): a NUMBER is parsed with `strconv.ParseInt(text, 0, 0)`
/// (decimal, `0x` hex, leading-`0` octal), a STRING's value likewise (so `"42"`, `"0x10"`,
/// `"1_000"` work); a ParseInt failure is returned as Go's bare `strconv.ParseInt: ...` error;
/// any other node is `<name>: unknown type <type>`.
pub fn decode_int(name: &str, node: DNode<'_>, out: &mut i64) -> Result<(), DecodeError> {
    if let Some(lit) = node.literal() {
        match &lit.kind {
            LiteralKind::Number(_) => {
                *out = parse_int(&lit.text, IntBase::Prefixed)
                    .map_err(|e| DecodeError::plain(e.to_string()))?;
                return Ok(());
            }
            LiteralKind::String(_) => {
                if let Some(v) = lit.string_value() {
                    *out = parse_int(v?, IntBase::Prefixed)
                        .map_err(|e| DecodeError::plain(e.to_string()))?;
                    return Ok(());
                }
            }
            _ => {}
        }
    }
    Err(DecodeError::at(
        node.pos(),
        format!("{name}: unknown type {}", node.go_type_name()),
    ))
}

/// Mirrors `decodeBool`: only a BOOL literal; anything else (including the string `"true"`) is
/// `<name>: unknown type <type>`.
pub fn decode_bool(name: &str, node: DNode<'_>, out: &mut bool) -> Result<(), DecodeError> {
    if let Some(lit) = node.literal() {
        if let LiteralKind::Bool(b) = lit.kind {
            *out = b;
            return Ok(());
        }
    }
    Err(DecodeError::at(
        node.pos(),
        format!("{name}: unknown type {}", node.go_type_name()),
    ))
}

/// Mirrors `decodeFloat`: a FLOAT or NUMBER literal parsed with `strconv.ParseFloat` (a hex
/// NUMBER such as `0x10` fails there); anything else is `<name>: unknown type <type>`.
pub fn decode_float(name: &str, node: DNode<'_>, out: &mut f64) -> Result<(), DecodeError> {
    if let Some(lit) = node.literal() {
        if matches!(lit.kind, LiteralKind::Float(_) | LiteralKind::Number(_)) {
            *out = parse_float(&lit.text).map_err(|e| DecodeError::plain(e.to_string()))?;
            return Ok(());
        }
    }
    Err(DecodeError::at(
        node.pos(),
        format!("{name}: unknown type {}", node.go_type_name()),
    ))
}

/// Mirrors `decodeSlice`: the elements are a list's elements, an object list's items (each an
/// `*ast.ObjectItem`, which only struct or map elements can take), or a single object (an
/// `ObjectType` is a one-element slice). Elements are decoded into fresh values named
/// `<name>[i]` and *appended* to an existing slice. A literal is the error
/// `unknown slice type: *ast.LiteralType` (no name prefix, as in hcl1).
///
/// hcl1's `expandObject` (re-nesting flattened JSON for slices of structs) is not reproduced:
/// no slice in Vault's policy structs has struct elements.
pub fn decode_slice<T: Decode + Default>(
    d: &mut Decoder,
    name: &str,
    node: DNode<'_>,
    out: &mut Option<Vec<T>>,
) -> Result<(), DecodeError> {
    let items: Vec<DNode<'_>> = match node {
        DNode::List(l) => l.items.iter().map(DNode::Item).collect(),
        DNode::Node(n @ Node::ObjectType(_)) => vec![DNode::Node(n)],
        DNode::Node(Node::ListType(l)) => l.items.iter().map(DNode::Node).collect(),
        _ => {
            return Err(DecodeError::at(
                node.pos(),
                format!("unknown slice type: {}", node.go_type_name()),
            ))
        }
    };
    let mut result = out.take().unwrap_or_default();
    for (i, item) in items.into_iter().enumerate() {
        let mut val = T::default();
        d.decode(&format!("{name}[{i}]"), item, &mut val)?;
        result.push(val);
    }
    *out = Some(result);
    Ok(())
}

/// Mirrors `decodeMap` for `map[string]T`: the node must be an object (an `ObjectType`, an
/// object list, or a single item); otherwise `<name>: not an object type for map (<type>)`.
/// Each item's first key is the map key and its value is decoded into the entry named
/// `<name>.<key>`, *starting from the entry already there* (so repeated keys merge: list values
/// append, scalars are replaced). An item with more keys (`"k" "sub" { ... }`) makes hcl1 decode
/// every item of that first key together (filtered, case-insensitively, with the key stripped)
/// and skip later items with that exact key. An item with no keys is
/// `<name>: map must have string keys`.
pub fn decode_map<T: Decode + Default + Clone>(
    d: &mut Decoder,
    name: &str,
    node: DNode<'_>,
    out: &mut Option<GoMap<T>>,
) -> Result<(), DecodeError> {
    let wrapped;
    let node = match node {
        DNode::Item(item) => {
            wrapped = ObjectList {
                items: vec![item.clone()],
            };
            DNode::List(&wrapped)
        }
        DNode::Node(Node::ObjectType(ot)) => DNode::List(&ot.list),
        other => other,
    };
    let DNode::List(list) = node else {
        return Err(DecodeError::at(
            node.pos(),
            format!(
                "{name}: not an object type for map ({})",
                node.go_type_name()
            ),
        ));
    };
    let mut map = out.take().unwrap_or_default();
    let mut done: HashSet<String> = HashSet::new();
    for item in &list.items {
        let Some(first) = item.keys.first() else {
            return Err(DecodeError::at(
                list.pos(),
                format!("{name}: map must have string keys"),
            ));
        };
        let key = first.go_value()?.to_string();
        if done.contains(&key) {
            continue;
        }
        let filtered;
        let item_val = if item.keys.len() > 1 {
            filtered = list.filter(&key)?;
            done.insert(key.clone());
            DNode::List(&filtered)
        } else {
            DNode::Node(&item.val)
        };
        let mut val = map.get(&key).cloned().unwrap_or_default();
        d.decode(&format!("{name}.{key}"), item_val, &mut val)?;
        map.insert(key, val);
    }
    *out = Some(map);
    Ok(())
}

/// Mirrors `decodeInterface` for a nil `interface{}`: picks the Go type from the node, then
/// decodes into it. Literals: NUMBER → `int` (then parsed as in [`decode_int`]), FLOAT →
/// `float64`, BOOL → `bool`, STRING/HEREDOC → `string`. A list → `[]interface{}`. An object (or
/// object list) → `map[string]interface{}` at the root or directly inside a slice, else
/// `[]map[string]interface{}`. An object item is the error
/// `<name>: cannot decode into interface: *ast.ObjectItem` (without position, as in hcl1).
pub fn decode_interface(
    d: &mut Decoder,
    name: &str,
    node: DNode<'_>,
    out: &mut Value,
) -> Result<(), DecodeError> {
    let is_object = matches!(node, DNode::List(_) | DNode::Node(Node::ObjectType(_)));
    let set = if is_object {
        match d.stack.last() {
            None | Some(Kind::Slice) => Value::Map(Vec::new()),
            Some(_) => Value::MapList(Vec::new()),
        }
    } else {
        match node {
            DNode::Node(Node::ListType(_)) => Value::List(Vec::new()),
            DNode::Node(Node::Literal(lit)) => match lit.kind {
                LiteralKind::Bool(_) => Value::Bool(false),
                LiteralKind::Float(_) => Value::Float(0.0),
                LiteralKind::Number(_) => Value::Int(0),
                LiteralKind::String(_) | LiteralKind::Heredoc(_) => Value::String(String::new()),
            },
            _ => {
                return Err(DecodeError::plain(format!(
                    "{name}: cannot decode into interface: {}",
                    node.go_type_name()
                )))
            }
        }
    };
    *out = set;
    d.decode(name, node, out)
}

impl Decode for String {
    fn kind(&self) -> Kind {
        Kind::String
    }
    fn decode_into(
        &mut self,
        _: &mut Decoder,
        name: &str,
        node: DNode<'_>,
    ) -> Result<(), DecodeError> {
        decode_string(name, node, self)
    }
}

impl Decode for i64 {
    fn kind(&self) -> Kind {
        Kind::Int
    }
    fn decode_into(
        &mut self,
        _: &mut Decoder,
        name: &str,
        node: DNode<'_>,
    ) -> Result<(), DecodeError> {
        decode_int(name, node, self)
    }
}

impl Decode for bool {
    fn kind(&self) -> Kind {
        Kind::Bool
    }
    fn decode_into(
        &mut self,
        _: &mut Decoder,
        name: &str,
        node: DNode<'_>,
    ) -> Result<(), DecodeError> {
        decode_bool(name, node, self)
    }
}

impl Decode for f64 {
    fn kind(&self) -> Kind {
        Kind::Float64
    }
    fn decode_into(
        &mut self,
        _: &mut Decoder,
        name: &str,
        node: DNode<'_>,
    ) -> Result<(), DecodeError> {
        decode_float(name, node, self)
    }
}

impl<T: Decode + Default> Decode for Option<Vec<T>> {
    fn kind(&self) -> Kind {
        Kind::Slice
    }
    fn decode_into(
        &mut self,
        d: &mut Decoder,
        name: &str,
        node: DNode<'_>,
    ) -> Result<(), DecodeError> {
        decode_slice(d, name, node, self)
    }
}

impl<T: Decode + Default + Clone> Decode for Option<GoMap<T>> {
    fn kind(&self) -> Kind {
        Kind::Map
    }
    fn decode_into(
        &mut self,
        d: &mut Decoder,
        name: &str,
        node: DNode<'_>,
    ) -> Result<(), DecodeError> {
        decode_map(d, name, node, self)
    }
}

impl Decode for Value {
    fn kind(&self) -> Kind {
        match self {
            Value::Nil => Kind::Interface,
            Value::Int(_) => Kind::Int,
            Value::Float(_) => Kind::Float64,
            Value::Bool(_) => Kind::Bool,
            Value::String(_) => Kind::String,
            Value::List(_) | Value::MapList(_) => Kind::Slice,
            Value::Map(_) => Kind::Map,
        }
    }

    /// An `interface{}` holding a value is decoded as that value's type (hcl1 dispatches on
    /// `result.Elem()`); a nil one goes through [`decode_interface`].
    fn decode_into(
        &mut self,
        d: &mut Decoder,
        name: &str,
        node: DNode<'_>,
    ) -> Result<(), DecodeError> {
        match self {
            Value::Nil => decode_interface(d, name, node, self),
            Value::Int(i) => decode_int(name, node, i),
            Value::Float(f) => decode_float(name, node, f),
            Value::Bool(b) => decode_bool(name, node, b),
            Value::String(s) => decode_string(name, node, s),
            Value::List(items) => {
                let mut slice = Some(std::mem::take(items));
                let result = decode_slice(d, name, node, &mut slice);
                *items = slice.unwrap_or_default();
                result
            }
            Value::Map(entries) => {
                let mut map = Some(GoMap(std::mem::take(entries)));
                let result = decode_map(d, name, node, &mut map);
                *entries = map.unwrap_or_default().0;
                result
            }
            Value::MapList(maps) => {
                let mut slice: Option<Vec<Option<GoMap<Value>>>> = Some(
                    std::mem::take(maps)
                        .into_iter()
                        .map(|m| Some(GoMap(m)))
                        .collect(),
                );
                let result = decode_slice(d, name, node, &mut slice);
                *maps = slice
                    .unwrap_or_default()
                    .into_iter()
                    .map(|m| m.unwrap_or_default().0)
                    .collect();
                result
            }
        }
    }
}

/// Decoding of one struct: mirrors `decodeStruct`, field by field.
///
/// Build it with [`StructDecoder::new`] from the node `hcl.DecodeObject(&s, node)` receives,
/// then call [`StructDecoder::field`] for each field that has an `hcl` name, in the Go struct's
/// declaration order (which decides which error is reported first). Fields hcl1 would match by
/// their Go field name (no tag) are matched the same way: pass the Go name, the match is
/// case-insensitive.
pub struct StructDecoder<'a> {
    name: String,
    list: Cow<'a, ObjectList>,
    decoder: Decoder,
}

impl<'a> StructDecoder<'a> {
    /// The preamble of `decodeStruct`: an object item stands for its value, an object for its
    /// items, and a literal item for a one-item list of itself; anything else is
    /// `<name>: not an object type for struct (<type>)`. `name` is `root` for
    /// `hcl.DecodeObject`.
    pub fn new(name: &str, node: DNode<'a>) -> Result<Self, DecodeError> {
        let (item, node) = match node {
            DNode::Item(it) => (Some(it), DNode::Node(&it.val)),
            other => (None, other),
        };
        let node = match node {
            DNode::Node(Node::ObjectType(ot)) => DNode::List(&ot.list),
            other => other,
        };
        let list = match (node, item) {
            (DNode::List(l), _) => Cow::Borrowed(l),
            (DNode::Node(Node::Literal(_)), Some(it)) => Cow::Owned(ObjectList {
                items: vec![it.clone()],
            }),
            _ => {
                return Err(DecodeError::at(
                    node.pos(),
                    format!(
                        "{name}: not an object type for struct ({})",
                        node.go_type_name()
                    ),
                ))
            }
        };
        Ok(StructDecoder {
            name: name.to_string(),
            list,
            decoder: Decoder::in_struct(),
        })
    }

    /// The object list the struct is decoded from.
    pub fn list(&self) -> &ObjectList {
        &self.list
    }

    /// Decode the field whose HCL name is `key` into `out`, as `decodeStruct` does: the items
    /// whose first key matches `key` (case-insensitively) are found with
    /// [`ObjectList::filter`]; those with further keys (block form with labels) are decoded
    /// together as one object list, then each `key = value` / `key { }` item is decoded in
    /// order into the same `out` (an object value as its item list). See the module docs for
    /// what repeated keys do. Returns whether the key was present (an absent key leaves `out`
    /// untouched). Errors name the field `<struct name>.<key>`.
    pub fn field<T: Decode + ?Sized>(
        &mut self,
        key: &str,
        out: &mut T,
    ) -> Result<bool, DecodeError> {
        let filtered = self.list.filter(key)?;
        let prefix_matches = filtered.children();
        let matches = filtered.elem();
        if prefix_matches.items.is_empty() && matches.items.is_empty() {
            return Ok(false);
        }
        let field_name = format!("{}.{key}", self.name);
        if !prefix_matches.items.is_empty() {
            self.decoder
                .decode(&field_name, DNode::List(&prefix_matches), out)?;
        }
        for m in &matches.items {
            let node = match &m.val {
                Node::ObjectType(ot) => DNode::List(&ot.list),
                other => DNode::Node(other),
            };
            self.decoder.decode(&field_name, node, out)?;
        }
        Ok(true)
    }
}
