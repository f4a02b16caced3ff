//! The syntax tree, mirroring hcl1's `hcl/ast` package.
//!
//! Both parsers (HCL and JSON) produce this tree, exactly as in Go, so the policy layer and
//! [`super::decode`] can follow Vault's code path node for node. Comments are not kept: hcl1 keeps
//! them only for its printer, and they never influence decoding.

use std::fmt;

use super::decode::DecodeError;

/// A source position, like hcl1's `token.Pos`.
///
/// `line` and `column` are 1-based (the column counts characters, not bytes), `offset` is a
/// 0-based byte offset. A position whose `line` is 0 is "invalid" (unknown): hcl1 uses that for
/// nodes that have no position, notably every key and value produced by the JSON parser, and
/// prints it as `-`.
///
/// For HCL input, positions refer to the text after hcl1's normalisation of `\r\n` to `\n` (Go
/// replaces every `\r\n` before scanning), so byte offsets differ from the original text on lines
/// that follow a CRLF; lines and columns are what hcl1 reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Pos {
    /// Byte offset, starting at 0.
    pub offset: usize,
    /// Line number, starting at 1; 0 means "no position".
    pub line: usize,
    /// Column number in characters, starting at 1.
    pub column: usize,
}

impl Pos {
    /// Whether the position is known (hcl1's `Pos.IsValid`: `line > 0`).
    pub fn is_valid(&self) -> bool {
        self.line > 0
    }
}

impl fmt::Display for Pos {
    /// `line:column`, or `-` for an invalid position (hcl1's `Pos.String`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_valid() {
            write!(f, "{}:{}", self.line, self.column)
        } else {
            f.write_str("-")
        }
    }
}

/// A list of object items: a whole file, or the inside of `{ ... }` (hcl1's `ast.ObjectList`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObjectList {
    pub items: Vec<ObjectItem>,
}

/// One `key... = value` or `key... { ... }` entry (hcl1's `ast.ObjectItem`).
///
/// `keys` holds the item's key followed by any block labels: `path "secret/*" { ... }` has keys
/// `[path, "secret/*"]`. `assign` is the position of `=` (or of `:` in JSON); it is `None` for the
/// block form, where Go leaves a zero position (so Vault's `item.Assign.Line` reads 0).
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectItem {
    pub keys: Vec<ObjectKey>,
    pub assign: Option<Pos>,
    pub val: Node,
}

/// A key or block label (hcl1's `ast.ObjectKey`, which wraps an IDENT or STRING token).
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectKey {
    /// The key as Go's `Token.Value()` returns it: the identifier, or the unquoted string. When
    /// unquoting fails (see `value_error`) this holds the raw token text instead.
    pub value: String,
    /// Whether the key was a quoted string (STRING token) rather than an identifier.
    pub quoted: bool,
    /// The raw token text, quotes and escapes included (hcl1's `Token.Text`, which its error
    /// messages print).
    pub text: String,
    pub pos: Pos,
    /// Set when hcl1's scanner accepted the string but its unquoting fails (for example `"\400"`,
    /// an octal escape above 255): Go's `Token.Value()` then panics, which happens only when Vault
    /// looks at this key. The text is the panic message; [`ObjectKey::go_value`] turns it into a
    /// [`DecodeError`].
    pub value_error: Option<String>,
}

impl ObjectKey {
    /// The key's value as Go's `key.Token.Value().(string)` yields it, or the error standing for
    /// Go's panic when the string cannot be unquoted.
    pub fn go_value(&self) -> Result<&str, DecodeError> {
        match &self.value_error {
            Some(msg) => Err(DecodeError::panic(msg.clone())),
            None => Ok(&self.value),
        }
    }
}

/// A value node (hcl1's `ast.Node` minus the list/item/key/comment kinds, which appear only in
/// fixed places of the tree).
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    ObjectType(ObjectType),
    ListType(ListType),
    Literal(Literal),
}

impl Node {
    /// hcl1's `Node.Pos()`: `{`, `[` or the literal's token.
    pub fn pos(&self) -> Pos {
        match self {
            Node::ObjectType(o) => o.lbrace,
            Node::ListType(l) => l.lbrack,
            Node::Literal(l) => l.pos,
        }
    }

    /// The Go type name hcl1 prints with `%T` in its errors.
    pub fn go_type_name(&self) -> &'static str {
        match self {
            Node::ObjectType(_) => "*ast.ObjectType",
            Node::ListType(_) => "*ast.ListType",
            Node::Literal(_) => "*ast.LiteralType",
        }
    }
}

/// `{ ... }` (hcl1's `ast.ObjectType`). JSON objects have invalid brace positions, as in Go.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectType {
    pub lbrace: Pos,
    pub rbrace: Pos,
    pub list: ObjectList,
}

/// `[ ... ]` (hcl1's `ast.ListType`). JSON lists have invalid bracket positions, as in Go.
#[derive(Clone, Debug, PartialEq)]
pub struct ListType {
    pub lbrack: Pos,
    pub rbrack: Pos,
    pub items: Vec<Node>,
}

/// A literal (hcl1's `ast.LiteralType`, a NUMBER, FLOAT, BOOL, STRING or HEREDOC token).
#[derive(Clone, Debug, PartialEq)]
pub struct Literal {
    pub kind: LiteralKind,
    /// The raw token text (hcl1's `Token.Text`); hcl1's decoder reads numbers from it. For a JSON
    /// `null`, which hcl1 turns into a STRING token with empty text, this is empty.
    pub text: String,
    pub pos: Pos,
    /// As [`ObjectKey::value_error`]: the string scanned but cannot be unquoted, so Go's
    /// `Token.Value()` panics when the decoder reads it.
    pub value_error: Option<String>,
}

impl Literal {
    /// The value of a STRING or HEREDOC literal as Go's `Token.Value()` yields it, or the error
    /// standing for Go's panic. `None` for other kinds.
    pub fn string_value(&self) -> Option<Result<&str, DecodeError>> {
        match &self.kind {
            LiteralKind::String(s) | LiteralKind::Heredoc(s) => Some(match &self.value_error {
                Some(msg) => Err(DecodeError::panic(msg.clone())),
                None => Ok(s),
            }),
            _ => None,
        }
    }
}

/// The token type of a literal, with its value.
#[derive(Clone, Debug, PartialEq)]
pub enum LiteralKind {
    /// An integer as scanned (decimal, `0x` hex, leading-`0` octal, possibly negative); the text
    /// is not validated further here, exactly as hcl1 defers `strconv.ParseInt` to decoding.
    Number(String),
    /// A float as scanned (`1.5`, `1e5`, `.5`, `-1.5e-3`, ...), likewise unvalidated.
    Float(String),
    Bool(bool),
    /// A quoted string, unquoted with hcl1's rules (`${...}` kept verbatim). JSON `null` is an
    /// empty string here, as in hcl1.
    String(String),
    /// A heredoc's value (`<<EOF` as is, `<<-EOF` unindented as hcl1 does).
    Heredoc(String),
}

impl LiteralKind {
    /// hcl1's token type name (`NUMBER`, `FLOAT`, `BOOL`, `STRING`, `HEREDOC`).
    pub fn token_name(&self) -> &'static str {
        match self {
            LiteralKind::Number(_) => "NUMBER",
            LiteralKind::Float(_) => "FLOAT",
            LiteralKind::Bool(_) => "BOOL",
            LiteralKind::String(_) => "STRING",
            LiteralKind::Heredoc(_) => "HEREDOC",
        }
    }
}

impl ObjectList {
    /// hcl1's `ObjectList.Pos()`: the first item's position, or invalid for an empty list.
    pub fn pos(&self) -> Pos {
        self.items.first().map(ObjectItem::pos).unwrap_or_default()
    }

    /// hcl1's `ObjectList.Filter(key)`: the items whose first key equals `key` (exactly or under
    /// Go's `strings.EqualFold`, i.e. ASCII/Unicode case-insensitively), each with that key
    /// stripped off. Items with no keys are skipped. The result may hold items with no keys left
    /// (assignments such as `capabilities = [...]` filtered by `capabilities`).
    ///
    /// Go reads every candidate's first key with `Token.Value()`, which panics on a string that
    /// cannot be unquoted; that is returned here as an error.
    pub fn filter(&self, key: &str) -> Result<ObjectList, DecodeError> {
        let mut items = Vec::new();
        for item in &self.items {
            let Some(first) = item.keys.first() else {
                continue;
            };
            let value = first.go_value()?;
            if value != key && !equal_fold(value, key) {
                continue;
            }
            let mut stripped = item.clone();
            stripped.keys.remove(0);
            items.push(stripped);
        }
        Ok(ObjectList { items })
    }

    /// hcl1's `ObjectList.Children()`: items that still have keys (nested blocks, after
    /// [`ObjectList::filter`]).
    pub fn children(&self) -> ObjectList {
        ObjectList {
            items: self
                .items
                .iter()
                .filter(|i| !i.keys.is_empty())
                .cloned()
                .collect(),
        }
    }

    /// hcl1's `ObjectList.Elem()`: items with no keys left (direct assignments, after
    /// [`ObjectList::filter`]).
    pub fn elem(&self) -> ObjectList {
        ObjectList {
            items: self
                .items
                .iter()
                .filter(|i| i.keys.is_empty())
                .cloned()
                .collect(),
        }
    }
}

impl ObjectItem {
    /// hcl1's `ObjectItem.Pos()`: the first key's position, or invalid when there are no keys.
    pub fn pos(&self) -> Pos {
        self.keys.first().map(|k| k.pos).unwrap_or_default()
    }

    /// The line of `=` as Vault's `item.Assign.Line` reads it: 0 for the block form.
    pub fn assign_line(&self) -> usize {
        self.assign.map_or(0, |p| p.line)
    }
}

/// Go's `strings.EqualFold`: equal under Unicode simple case folding.
///
/// Approximated per character with Rust's case mappings (a character folds to another when
/// their single-character lowercase or uppercase mappings meet); exact for ASCII and for the
/// usual letters, which is all a Vault policy key ever holds.
pub fn equal_fold(a: &str, b: &str) -> bool {
    let mut a_chars = a.chars();
    let mut b_chars = b.chars();
    loop {
        match (a_chars.next(), b_chars.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) => {
                if x != y && !chars_fold(x, y) {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

fn chars_fold(x: char, y: char) -> bool {
    fn single(mut it: impl Iterator<Item = char>) -> Option<char> {
        let only = it.next()?;
        it.next().is_none().then_some(only)
    }
    let (lx, ly) = (single(x.to_lowercase()), single(y.to_lowercase()));
    if lx.is_some() && lx == ly {
        return true;
    }
    let (ux, uy) = (single(x.to_uppercase()), single(y.to_uppercase()));
    ux.is_some() && ux == uy
}
