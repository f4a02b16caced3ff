//! HCL1: the configuration language Vault and OpenBao policies are written in.
//!
//! Vault parses a policy with `hclutil.ParseConfig` (OpenBao `sdk/helper/hclutil/hcl.go`) on top
//! of HashiCorp's HCL *version 1* Go package (`github.com/hashicorp/hcl`, at `v1.0.1-vault-7`),
//! not HCL2. HCL1 accepts things HCL2 parsers reject and Vault policies use them: several blocks
//! on one line, comma-separated attributes (`{ capabilities = ["read"], policy = "read" }`),
//! `allowed_parameters { "foo" = [] }` without `=`, duplicate keys. This module reimplements
//! that package's behaviour exactly, quirks included, so that blastmap reads a policy the way
//! the server does:
//!
//! - [`parse`]: `hclutil.ParseConfig`: text whose trimmed form starts with `{` goes to the JSON
//!   parser ([`parse_json`], hcl1's `json/parser`), anything else to the HCL parser
//!   ([`parse_hcl`], hcl1's `hcl/parser` with duplicate keys allowed). Both give the same
//!   `ast` (JSON objects are flattened into multi-key items the way hcl1 does).
//! - [`decode`]: hcl1's `decoder.go` for the Go types Vault's policy structs use, with the
//!   same coercions, duplicate-key behaviour and error texts.
//! - `hclutil`: Vault's key checks (`CheckHCLKeys`) on the tree.
//!
//! Errors print like hcl1's (`At 2:7: expected: IDENT | STRING got: LBRACE`), and nothing here
//! panics. Where hcl1 itself would panic, an error is returned instead, at the same point: a JSON
//! escape cut off by the end of input fails the parse; a string hcl1 scans but cannot unquote
//! (`"\400"`) parses, and fails only when something reads its value, as in Go (see
//! [`ast::ObjectKey::value_error`] and [`DecodeError::go_panic`]).
//!
//! Known, deliberate differences from hcl1, all on input no real policy contains: nesting is
//! limited to [`MAX_DEPTH`]; input is `&str`, so hcl1's invalid-UTF-8 errors cannot arise, and
//! strings that unquote to invalid UTF-8 (`"\xff"`) hold U+FFFD per bad byte; identifier
//! letters follow Go's Unicode 13 tables.

pub(crate) mod ast;
pub mod decode;
pub(crate) mod hclutil;
mod json;
mod parser;
mod scanner;
mod strconv;
mod unicode;

#[cfg(test)]
mod tests;

use std::fmt;

pub use ast::{
    equal_fold, ListType, Literal, LiteralKind, Node, ObjectItem, ObjectKey, ObjectList,
    ObjectType, Pos,
};
pub use decode::{
    decode_bool, decode_float, decode_int, decode_interface, decode_map, decode_object,
    decode_slice, decode_string, DNode, Decode, DecodeError, Decoder, GoMap, Kind, StructDecoder,
    Value,
};
pub use hclutil::{check_hcl_keys, object_list_of, InvalidKey};
pub use json::parse_json;
pub use parser::parse_hcl;
pub use strconv::{go_quote, parse_int, IntBase, NumError, NumErrorReason};

/// The deepest nesting of objects and lists accepted. hcl1 has no limit (Go stacks grow); this
/// one keeps parsing and decoding within a 2 MiB thread stack even in unoptimised builds on
/// hostile input, and is far above anything a policy uses (a handful of levels).
pub const MAX_DEPTH: usize = 100;

/// Parse a policy as Vault does (`hclutil.ParseConfig`): JSON when the text, trimmed of
/// whitespace, starts with `{`, HCL otherwise. Returns the root object list (`ast.File.Node`).
pub fn parse(src: &str) -> Result<ObjectList, ParseError> {
    // Go's strings.TrimSpace trims Unicode White_Space, as str::trim does.
    if src.trim().starts_with('{') {
        parse_json(src)
    } else {
        parse_hcl(src)
    }
}

/// How hcl1 formats an error, which depends on where it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorStyle {
    /// HCL scanner and parser errors (`parser.PosError`): `At line:col: message`.
    Hcl,
    /// JSON scanner errors: `line:col: message`.
    JsonScanner,
    /// JSON parser errors, which hcl1 returns without position: `message`.
    Plain,
}

/// A parse error: position, message, and hcl1's formatting of the two.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Where the error is. For [`ErrorStyle::Plain`] errors hcl1 prints no position; this is
    /// the offending token's (which may be invalid, line 0).
    pub pos: Pos,
    /// The message without position prefix (`literal not terminated`, ...).
    pub message: String,
    pub style: ErrorStyle,
}

impl ParseError {
    pub(crate) fn new(style: ErrorStyle, pos: Pos, message: String) -> Self {
        ParseError {
            pos,
            message,
            style,
        }
    }

    /// 1-based line of the error (0 when unknown).
    pub fn line(&self) -> usize {
        self.pos.line
    }

    /// 1-based column of the error, in characters (0 when unknown).
    pub fn column(&self) -> usize {
        self.pos.column
    }
}

impl fmt::Display for ParseError {
    /// Exactly hcl1's `err.Error()` text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.style {
            ErrorStyle::Hcl => write!(f, "At {}: {}", self.pos, self.message),
            ErrorStyle::JsonScanner => write!(f, "{}: {}", self.pos, self.message),
            ErrorStyle::Plain => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ParseError {}
