//! The JSON parser, following hcl1's `json/scanner`, `json/parser` and `json/parser/flatten.go`.
//!
//! Vault hands any policy whose trimmed text starts with `{` to this parser. It is *not* a strict
//! JSON parser, and its leniencies are reproduced because they decide what Vault accepts:
//!
//! - After an object's items it stops at the first token that is not a comma and takes that
//!   token as the closing brace, whatever it is; text after the root object is never read. So
//!   `{"a": 1` (unclosed) and `{"a": 1} trailing` parse, and `{"a": 1 "b": 2}` yields only `a`.
//! - An item whose key or value is cut short by `}` is dropped (`{"a": 1, "b": }` is `{a = 1}`).
//! - In arrays, `true`/`false` are skipped and a nested `[` is ignored (its elements join the
//!   outer array, whose end its `]` then marks); `null` in an array is an error.
//! - `null` as a value becomes an empty STRING literal.
//! - Keys and values carry no positions (hcl1 drops them when converting tokens); only the `:`
//!   of each item (`assign`) is positioned.
//! - Duplicate keys are all kept, in order.
//!
//! Scanner errors print as `line:col: message`, parser errors as a bare message (hcl1 gives
//! them no position); [`ParseError::pos`] still carries the offending token's position.
//!
//! After parsing, objects are flattened as hcl1 does, so that JSON looks like HCL blocks:
//! `{"path": {"a": {...}}}` becomes the item `path "a" {...}`.

use super::ast::{
    ListType, Literal, LiteralKind, Node, ObjectItem, ObjectKey, ObjectList, ObjectType, Pos,
};
use super::parser::unquote_panic;
use super::scanner::{digit_val, is_decimal, is_digit, is_letter, is_whitespace, Reader, EOF};
use super::strconv::go_unquote;
use super::{ErrorStyle, ParseError, MAX_DEPTH};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum JType {
    Illegal,
    Eof,
    Number,
    Float,
    Bool,
    String,
    Null,
    LBrack,
    LBrace,
    Comma,
    Period,
    Colon,
    RBrack,
    RBrace,
}

impl JType {
    fn name(self) -> &'static str {
        match self {
            JType::Illegal => "ILLEGAL",
            JType::Eof => "EOF",
            JType::Number => "NUMBER",
            JType::Float => "FLOAT",
            JType::Bool => "BOOL",
            JType::String => "STRING",
            JType::Null => "NULL",
            JType::LBrack => "LBRACK",
            JType::LBrace => "LBRACE",
            JType::Comma => "COMMA",
            JType::Period => "PERIOD",
            JType::Colon => "COLON",
            JType::RBrack => "RBRACK",
            JType::RBrace => "RBRACE",
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct JToken<'a> {
    typ: JType,
    pos: Pos,
    text: &'a str,
}

impl JToken<'_> {
    /// hcl1's json `Token.String()`, printed by its "unknown token" errors.
    fn describe(&self) -> String {
        format!("{} {} {}", self.pos, self.typ.name(), self.text)
    }
}

/// hcl1's JSON scanner. It shares the character reader with the HCL one but differs in detail:
/// no comments, heredocs or identifiers (only `true`, `false`, `null`), `:` tokens, numbers may
/// not start with 0, a NUL character is simply an end marker, and a string ends at the first
/// unescaped quote even inside `${...}`.
struct JScanner<'a> {
    r: Reader<'a>,
    error: Option<(Pos, String)>,
}

impl<'a> JScanner<'a> {
    fn err(&mut self, msg: &str) {
        self.error = Some((self.r.recent_position(), msg.to_string()));
    }

    fn next(&mut self) -> char {
        self.r.read().unwrap_or(EOF)
    }

    fn scan(&mut self) -> JToken<'a> {
        let mut current = self.next();
        while is_whitespace(current) {
            current = self.next();
        }
        let tok_start = self.r.src_pos.offset.saturating_sub(self.r.last_char_len);
        let pos = self.r.token_start_pos();

        let typ = if is_letter(current) {
            match self.scan_identifier() {
                "true" | "false" => JType::Bool,
                "null" => JType::Null,
                _ => {
                    self.err("illegal char");
                    JType::Illegal
                }
            }
        } else if is_decimal(current) {
            self.scan_number(current)
        } else {
            match current {
                EOF => JType::Eof,
                '"' => {
                    self.scan_string();
                    JType::String
                }
                '.' => {
                    let peeked = self.r.peek();
                    if is_decimal(peeked) {
                        let after_mantissa = self.scan_mantissa(peeked);
                        self.scan_exponent(after_mantissa);
                        JType::Float
                    } else {
                        JType::Period
                    }
                }
                '[' => JType::LBrack,
                ']' => JType::RBrack,
                '{' => JType::LBrace,
                '}' => JType::RBrace,
                ',' => JType::Comma,
                ':' => JType::Colon,
                '-' => {
                    if is_decimal(self.r.peek()) {
                        let first_digit = self.next();
                        self.scan_number(first_digit)
                    } else {
                        self.err("illegal char");
                        JType::Illegal
                    }
                }
                _ => {
                    self.err(&format!("illegal char: {current}"));
                    JType::Illegal
                }
            }
        };
        let text = self
            .r
            .src
            .get(tok_start..self.r.src_pos.offset)
            .unwrap_or("");
        JToken { typ, pos, text }
    }

    fn scan_number(&mut self, mut ch: char) -> JType {
        let zero = ch == '0';
        let pos = self.r.src_pos;
        self.scan_mantissa(ch);
        ch = self.next();
        if ch == 'e' || ch == 'E' {
            self.scan_exponent(ch);
            return JType::Float;
        }
        if ch == '.' {
            ch = self.scan_fraction(ch);
            if ch == 'e' || ch == 'E' {
                ch = self.next();
                self.scan_exponent(ch);
            }
            return JType::Float;
        }
        if ch != EOF {
            self.r.unread();
        }
        // hcl1 compares positions, so a lone `0` right at the end of input (read past twice)
        // is reported too.
        if zero && pos != self.r.src_pos {
            self.err("numbers cannot start with 0");
        }
        JType::Number
    }

    fn scan_mantissa(&mut self, mut ch: char) -> char {
        let mut scanned = false;
        while is_decimal(ch) {
            ch = self.next();
            scanned = true;
        }
        if scanned && ch != EOF {
            self.r.unread();
        }
        ch
    }

    fn scan_fraction(&mut self, mut ch: char) -> char {
        if ch == '.' {
            ch = self.r.peek();
            ch = self.scan_mantissa(ch);
        }
        ch
    }

    fn scan_exponent(&mut self, mut ch: char) -> char {
        if ch == 'e' || ch == 'E' {
            ch = self.next();
            if ch == '-' || ch == '+' {
                ch = self.next();
            }
            ch = self.scan_mantissa(ch);
        }
        ch
    }

    fn scan_string(&mut self) {
        let mut braces = 0u32;
        loop {
            let current = self.next();
            if current == '\n' || current == EOF {
                self.err("literal not terminated");
                return;
            }
            if current == '"' {
                break;
            }
            if braces == 0 && current == '$' && self.r.peek() == '{' {
                braces += 1;
                self.next();
            } else if braces > 0 && current == '{' {
                braces += 1;
            }
            if braces > 0 && current == '}' {
                braces -= 1;
            }
            if current == '\\' {
                self.scan_escape();
            }
        }
    }

    fn scan_escape(&mut self) {
        let escape = self.next();
        match escape {
            'a' | 'b' | 'f' | 'n' | 'r' | 't' | 'v' | '\\' | '"' => {}
            '0'..='7' => self.scan_digits(escape, 8, 3),
            'x' => {
                let first_digit = self.next();
                self.scan_digits(first_digit, 16, 2)
            }
            'u' => {
                let first_digit = self.next();
                self.scan_digits(first_digit, 16, 4)
            }
            'U' => {
                let first_digit = self.next();
                self.scan_digits(first_digit, 16, 8)
            }
            _ => self.err("illegal char escape"),
        }
    }

    /// Unlike the HCL scanner's, this one does not stop at the end of input (the end marker
    /// counts as the digit 0) and always pushes back the last character. When that last read
    /// hit the end, Go's `UnreadRune` fails and hcl1 panics; here the push-back is skipped and
    /// the string scan then reports "literal not terminated".
    fn scan_digits(&mut self, mut ch: char, base: u32, mut n: u32) {
        while n > 0 && digit_val(ch) < base {
            ch = self.next();
            n -= 1;
        }
        if n > 0 {
            self.err("illegal char escape");
        }
        self.r.unread();
    }

    fn scan_identifier(&mut self) -> &'a str {
        let offs = self.r.src_pos.offset.saturating_sub(self.r.last_char_len);
        let mut current = self.next();
        while is_letter(current) || is_digit(current) || current == '-' {
            current = self.next();
        }
        if current != EOF {
            self.r.unread();
        }
        self.r.src.get(offs..self.r.src_pos.offset).unwrap_or("")
    }
}

/// A JSON parser error: the `errEofToken` sentinel or a message (with the position of the token
/// it is about, which hcl1 does not print).
enum JErr {
    Eof,
    Msg(Pos, String),
}

type JResult<T> = Result<T, JErr>;

struct JParser<'a> {
    sc: JScanner<'a>,
    tok: JToken<'a>,
    buffered: bool,
    depth: usize,
}

/// Parse JSON text as hcl1's `json/parser.Parse` does, flattening the result.
pub fn parse_json(src: &str) -> Result<ObjectList, ParseError> {
    let mut parser = JParser {
        sc: JScanner {
            r: Reader::new(src),
            error: None,
        },
        tok: JToken {
            typ: JType::Illegal,
            pos: Pos::default(),
            text: "",
        },
        buffered: false,
        depth: 0,
    };
    let result = parser.object();
    if let Some((pos, msg)) = parser.sc.error.take() {
        return Err(ParseError::new(ErrorStyle::JsonScanner, pos, msg));
    }
    let mut list = match result {
        Ok(o) => o.list,
        Err(JErr::Eof) => {
            return Err(ParseError::new(
                ErrorStyle::Plain,
                parser.tok.pos,
                "EOF token found".into(),
            ))
        }
        Err(JErr::Msg(pos, msg)) => return Err(ParseError::new(ErrorStyle::Plain, pos, msg)),
    };
    flatten_list(&mut list);
    Ok(list)
}

impl<'a> JParser<'a> {
    fn scan(&mut self) -> JToken<'a> {
        if self.buffered {
            self.buffered = false;
            return self.tok;
        }
        self.tok = self.sc.scan();
        self.tok
    }

    fn enter(&mut self) -> JResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(JErr::Msg(
                self.tok.pos,
                format!("nesting deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    /// `objectList`: items separated by commas; the first non-comma token after an item ends
    /// the list (and is consumed). Returns the items parsed so far with any error, since the
    /// caller keeps them when the error happened at a `}`.
    fn object_list(&mut self) -> (ObjectList, Option<JErr>) {
        let mut list = ObjectList::default();
        loop {
            match self.object_item() {
                Err(JErr::Eof) => break,
                Err(e) => return (list, Some(e)),
                Ok(item) => list.items.push(item),
            }
            if self.scan().typ != JType::Comma {
                break;
            }
        }
        (list, None)
    }

    fn object_item(&mut self) -> JResult<ObjectItem> {
        let keys = self.object_key()?;
        // object_key only returns successfully on a colon.
        let assign = self.tok.pos;
        let val = self.object_value()?;
        Ok(ObjectItem {
            keys,
            assign: Some(assign),
            val,
        })
    }

    /// `objectKey`: one or more strings, then `:`.
    fn object_key(&mut self) -> JResult<Vec<ObjectKey>> {
        let mut keys = Vec::new();
        loop {
            let tok = self.scan();
            match tok.typ {
                JType::Eof => return Err(JErr::Eof),
                JType::String => keys.push(json_key(&tok)),
                JType::Colon => {
                    if keys.is_empty() {
                        return Err(JErr::Msg(tok.pos, "expected: STRING got: COLON".into()));
                    }
                    return Ok(keys);
                }
                JType::Illegal => return Err(JErr::Msg(tok.pos, "illegal".into())),
                other => {
                    return Err(JErr::Msg(
                        tok.pos,
                        format!("expected: STRING got: {}", other.name()),
                    ))
                }
            }
        }
    }

    fn object_value(&mut self) -> JResult<Node> {
        let tok = self.scan();
        match tok.typ {
            JType::Number | JType::Float | JType::Bool | JType::Null | JType::String => {
                Ok(Node::Literal(json_literal(&tok)))
            }
            JType::LBrace => Ok(Node::ObjectType(self.object_type()?)),
            JType::LBrack => Ok(Node::ListType(self.list_type()?)),
            JType::Eof => Err(JErr::Eof),
            _ => Err(JErr::Msg(
                tok.pos,
                format!(
                    "Expected object value, got unknown token: {}",
                    tok.describe()
                ),
            )),
        }
    }

    /// The root: must be an object.
    fn object(&mut self) -> JResult<ObjectType> {
        let tok = self.scan();
        match tok.typ {
            JType::LBrace => self.object_type(),
            JType::Eof => Err(JErr::Eof),
            _ => Err(JErr::Msg(
                tok.pos,
                format!("Expected object, got unknown token: {}", tok.describe()),
            )),
        }
    }

    /// `objectType`: an error is only fatal when the current token is not `}`.
    fn object_type(&mut self) -> JResult<ObjectType> {
        self.enter()?;
        let (list, err) = self.object_list();
        if let Some(e) = err {
            if self.tok.typ != JType::RBrace {
                return Err(e);
            }
        }
        self.depth -= 1;
        Ok(ObjectType {
            lbrace: Pos::default(),
            rbrace: Pos::default(),
            list,
        })
    }

    fn list_type(&mut self) -> JResult<ListType> {
        self.enter()?;
        let mut items = Vec::new();
        loop {
            let tok = self.scan();
            match tok.typ {
                JType::Number | JType::Float | JType::String => {
                    items.push(Node::Literal(json_literal(&tok)))
                }
                JType::Comma => {}
                JType::LBrace => items.push(Node::ObjectType(self.object_type()?)),
                // hcl1 leaves these unsupported: booleans are dropped, and a nested list's
                // bracket is skipped.
                JType::Bool | JType::LBrack => {}
                JType::RBrack => {
                    self.depth -= 1;
                    return Ok(ListType {
                        lbrack: Pos::default(),
                        rbrack: Pos::default(),
                        items,
                    });
                }
                other => {
                    return Err(JErr::Msg(
                        tok.pos,
                        format!("unexpected token while parsing list: {}", other.name()),
                    ))
                }
            }
        }
    }
}

/// A key from a JSON STRING token (hcl1's `HCLToken()`: no position; unquoted with Go's
/// `strconv.Unquote`).
fn json_key(tok: &JToken<'_>) -> ObjectKey {
    let (value, value_error) = match go_unquote(tok.text) {
        Ok(v) => (v, None),
        Err(()) => (tok.text.to_string(), Some(unquote_panic(tok.text))),
    };
    ObjectKey {
        value,
        quoted: true,
        text: tok.text.to_string(),
        pos: Pos::default(),
        value_error,
    }
}

/// A literal from a JSON token (hcl1's `HCLToken()`), without position. `null` becomes a STRING
/// with empty text, whose value is the empty string.
fn json_literal(tok: &JToken<'_>) -> Literal {
    let mut value_error = None;
    let (kind, text) = match tok.typ {
        JType::Number => (LiteralKind::Number(tok.text.to_string()), tok.text),
        JType::Float => (LiteralKind::Float(tok.text.to_string()), tok.text),
        JType::Bool => (LiteralKind::Bool(tok.text == "true"), tok.text),
        JType::Null => (LiteralKind::String(String::new()), ""),
        _ => match go_unquote(tok.text) {
            Ok(v) => (LiteralKind::String(v), tok.text),
            Err(()) => {
                value_error = Some(unquote_panic(tok.text));
                (LiteralKind::String(tok.text.to_string()), tok.text)
            }
        },
    };
    Literal {
        kind,
        text: text.to_string(),
        pos: Pos::default(),
        value_error,
    }
}

/// hcl1's `flattenObjects`: walk the tree top-down and, in every object list, replace items
/// whose value is an object made only of objects (or a list made only of objects) by one item
/// per inner entry, with the keys concatenated (or repeated, for lists). Empty objects and lists
/// stay as they are.
///
/// `{"path": {"a": {...}, "b": {...}}}` becomes `path "a" {...}` and `path "b" {...}`;
/// `{"x": [{...}, {...}]}` becomes two `x {...}` items. Note the flip side, which Vault
/// inherits: a path body whose entries are all objects, such as
/// `{"allowed_parameters": {"foo": []}}`, is flattened too, into `path "p" "allowed_parameters"`.
pub(super) fn flatten_list(list: &mut ObjectList) {
    // hcl1 pops items off the end of a work list and reverses the result at the end; the order
    // that comes out is the original one with each flattened item expanded in place.
    let mut frontier = std::mem::take(&mut list.items);
    let mut items = Vec::with_capacity(frontier.len());
    while let Some(ObjectItem { keys, assign, val }) = frontier.pop() {
        match val {
            Node::ObjectType(ot)
                if !ot.list.items.is_empty()
                    && ot
                        .list
                        .items
                        .iter()
                        .all(|s| matches!(s.val, Node::ObjectType(_))) =>
            {
                for sub in ot.list.items {
                    let mut sub_keys = keys.clone();
                    sub_keys.extend(sub.keys);
                    frontier.push(ObjectItem {
                        keys: sub_keys,
                        assign,
                        val: sub.val,
                    });
                }
            }
            Node::ListType(lt)
                if !lt.items.is_empty()
                    && lt.items.iter().all(|n| matches!(n, Node::ObjectType(_))) =>
            {
                for elem in lt.items {
                    frontier.push(ObjectItem {
                        keys: keys.clone(),
                        assign,
                        val: elem,
                    });
                }
            }
            val => items.push(ObjectItem { keys, assign, val }),
        }
    }
    items.reverse();
    list.items = items;
    for item in &mut list.items {
        flatten_node(&mut item.val);
    }
}

fn flatten_node(node: &mut Node) {
    match node {
        Node::ObjectType(o) => flatten_list(&mut o.list),
        Node::ListType(l) => l.items.iter_mut().for_each(flatten_node),
        Node::Literal(_) => {}
    }
}
