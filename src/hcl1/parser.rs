//! The HCL parser, following hcl1's `hcl/parser` (as called by
//! `ParseDontErrorOnDuplicateKeys`, so duplicate keys are kept).
//!
//! The token flow is reproduced exactly, including hcl1's look-ahead scans (after each object
//! item and after each list comma it reads one more token to attach line comments), because the
//! scanner reports errors as it goes and hcl1 returns the *last* scanner error in preference to
//! any parser error: which tokens get scanned decides which error the user sees. Some inputs
//! hcl1 accepts silently are accepted here too, e.g. a trailing `key =` at the end of the file
//! (the item is dropped).

use super::ast::{
    ListType, Literal, LiteralKind, Node, ObjectItem, ObjectKey, ObjectList, ObjectType, Pos,
};
use super::scanner::{Scanner, Token, TokenType};
use super::strconv::{hcl_unquote, unindent_heredoc};
use super::{ErrorStyle, ParseError, MAX_DEPTH};

/// A parser error: hcl1's `errEofToken` sentinel, or a `PosError`.
enum PErr {
    Eof,
    At(Pos, String),
}

impl PErr {
    /// The error as hcl1's `%s` prints it (nested list/object errors embed it).
    fn text(&self) -> String {
        match self {
            PErr::Eof => "EOF token found".to_string(),
            PErr::At(pos, msg) => format!("At {pos}: {msg}"),
        }
    }
}

type PResult<T> = Result<T, PErr>;

/// Parse HCL text into its object list, as hcl1's `parser.ParseDontErrorOnDuplicateKeys`.
///
/// Every `\r\n` is first replaced by `\n`, as hcl1 does; positions refer to that text.
pub fn parse_hcl(src: &str) -> Result<ObjectList, ParseError> {
    let normalized;
    let src = if src.contains("\r\n") {
        normalized = src.replace("\r\n", "\n");
        normalized.as_str()
    } else {
        src
    };
    let mut parser = Parser::new(src);
    let result = parser.object_list(false);
    if let Some((pos, msg)) = parser.sc.error.take() {
        return Err(ParseError::new(ErrorStyle::Hcl, pos, msg));
    }
    match result {
        Ok(list) => Ok(list),
        Err(PErr::At(pos, msg)) => Err(ParseError::new(ErrorStyle::Hcl, pos, msg)),
        // objectList(false) ends quietly at EOF; kept for completeness.
        Err(PErr::Eof) => Err(ParseError::new(
            ErrorStyle::Plain,
            Pos::default(),
            "EOF token found".into(),
        )),
    }
}

struct Parser<'a> {
    sc: Scanner<'a>,
    tok: Token<'a>,
    /// A token pushed back with `unscan` (hcl1's one-token buffer).
    buffered: bool,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        Parser {
            sc: Scanner::new(src),
            tok: Token {
                typ: TokenType::Illegal,
                pos: Pos::default(),
                text: "",
            },
            buffered: false,
            depth: 0,
        }
    }

    /// The next token, skipping comments (hcl1's `scan`, whose comment-group bookkeeping only
    /// ever consumes comment tokens).
    fn scan(&mut self) -> Token<'a> {
        if self.buffered {
            self.buffered = false;
            return self.tok;
        }
        self.tok = self.sc.scan();
        while self.tok.typ == TokenType::Comment {
            self.tok = self.sc.scan();
        }
        self.tok
    }

    fn unscan(&mut self) {
        self.buffered = true;
    }

    /// Guard against unbounded recursion on pathological nesting (hcl1 has none: Go stacks
    /// grow); real policies nest a handful of levels.
    fn enter(&mut self, pos: Pos) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(PErr::At(
                pos,
                format!("nesting deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    /// hcl1's `objectList`: items up to EOF (top level) or up to `}` (inside an object), each
    /// optionally followed by a comma.
    fn object_list(&mut self, obj: bool) -> PResult<ObjectList> {
        let mut list = ObjectList::default();
        loop {
            if obj {
                let tok = self.scan();
                self.unscan();
                if tok.typ == TokenType::RBrace {
                    break;
                }
            }
            match self.object_item() {
                Err(PErr::Eof) => break,
                Err(e) => return Err(e),
                Ok(item) => list.items.push(item),
            }
            let tok = self.scan();
            if tok.typ != TokenType::Comma {
                self.unscan();
            }
        }
        Ok(list)
    }

    /// hcl1's `objectItem`: keys, then `= value` or `{ ... }`.
    fn object_item(&mut self) -> PResult<ObjectItem> {
        let (keys, mut err) = self.object_key();
        if !keys.is_empty() && matches!(err, Some(PErr::Eof)) {
            // Keys but no value: reported below as a missing `=`/`{`.
            err = None;
        }
        if !keys.is_empty() && err.is_some() && self.tok.typ == TokenType::RBrace {
            // Keys followed by `}`: hcl1 drops the error and fakes an EOF token so the message
            // below says what is missing.
            err = None;
            self.tok.typ = TokenType::Eof;
        }
        if let Some(e) = err {
            return Err(e);
        }

        let (assign, val) = match self.tok.typ {
            TokenType::Assign => {
                let assign = self.tok.pos;
                (Some(assign), self.object()?)
            }
            TokenType::LBrace => (None, Node::ObjectType(self.object_type()?)),
            _ => {
                let texts: Vec<&str> = keys.iter().map(|k| k.text.as_str()).collect();
                return Err(PErr::At(
                    self.tok.pos,
                    format!(
                        "key '{}' expected start of object ('{{') or assignment ('=')",
                        texts.join(" ")
                    ),
                ));
            }
        };

        // hcl1 looks one token ahead here for a line comment.
        self.scan();
        self.unscan();
        Ok(ObjectItem { keys, assign, val })
    }

    /// hcl1's `objectKey`: identifiers and strings up to `=` or `{`. Returns the keys read so
    /// far together with any error, as hcl1 does (its caller looks at both).
    fn object_key(&mut self) -> (Vec<ObjectKey>, Option<PErr>) {
        let mut keys = Vec::new();
        loop {
            let tok = self.scan();
            match tok.typ {
                TokenType::Eof => return (keys, Some(PErr::Eof)),
                TokenType::Assign => {
                    // `foo bar = {}` is not allowed: only blocks take labels.
                    if keys.len() > 1 {
                        return (
                            Vec::new(),
                            Some(PErr::At(
                                tok.pos,
                                "nested object expected: LBRACE got: ASSIGN".into(),
                            )),
                        );
                    }
                    if keys.is_empty() {
                        return (
                            Vec::new(),
                            Some(PErr::At(tok.pos, "no object keys found!".into())),
                        );
                    }
                    return (keys, None);
                }
                TokenType::LBrace => {
                    let err = keys
                        .is_empty()
                        .then(|| PErr::At(tok.pos, "expected: IDENT | STRING got: LBRACE".into()));
                    return (keys, err);
                }
                TokenType::Ident | TokenType::String => keys.push(make_key(&tok)),
                TokenType::Illegal => {
                    return (keys, Some(PErr::At(tok.pos, "illegal character".into())));
                }
                other => {
                    return (
                        keys,
                        Some(PErr::At(
                            tok.pos,
                            format!(
                                "expected: IDENT | STRING | ASSIGN | LBRACE got: {}",
                                other.name()
                            ),
                        )),
                    );
                }
            }
        }
    }

    /// hcl1's `object`: the value after `=`.
    fn object(&mut self) -> PResult<Node> {
        let tok = self.scan();
        match tok.typ {
            TokenType::Number
            | TokenType::Float
            | TokenType::Bool
            | TokenType::String
            | TokenType::Heredoc => Ok(Node::Literal(make_literal(&tok))),
            TokenType::LBrace => Ok(Node::ObjectType(self.object_type()?)),
            TokenType::LBrack => Ok(Node::ListType(self.list_type()?)),
            TokenType::Eof => Err(PErr::Eof),
            _ => Err(PErr::At(
                tok.pos,
                format!("Unknown token: {}", tok.describe()),
            )),
        }
    }

    /// hcl1's `objectType`: the current token is `{`.
    fn object_type(&mut self) -> PResult<ObjectType> {
        let lbrace = self.tok.pos;
        self.enter(lbrace)?;
        let list = self.object_list(true)?;
        let tok = self.scan();
        if tok.typ != TokenType::RBrace {
            return Err(PErr::At(
                tok.pos,
                format!("object expected closing RBRACE got: {}", tok.typ.name()),
            ));
        }
        self.depth -= 1;
        Ok(ObjectType {
            lbrace,
            rbrace: self.tok.pos,
            list,
        })
    }

    /// hcl1's `listType`: the current token is `[`. Elements are literals, objects or lists;
    /// commas separate them (a trailing comma is fine; hcl1 does not require a comma after a
    /// nested list).
    fn list_type(&mut self) -> PResult<ListType> {
        let lbrack = self.tok.pos;
        self.enter(lbrack)?;
        let mut items = Vec::new();
        let mut need_comma = false;
        loop {
            let tok = self.scan();
            if need_comma && !matches!(tok.typ, TokenType::Comma | TokenType::RBrack) {
                return Err(PErr::At(
                    tok.pos,
                    format!(
                        "error parsing list, expected comma or list end, got: {}",
                        tok.typ.name()
                    ),
                ));
            }
            match tok.typ {
                TokenType::Bool
                | TokenType::Number
                | TokenType::Float
                | TokenType::String
                | TokenType::Heredoc => {
                    items.push(Node::Literal(make_literal(&tok)));
                    need_comma = true;
                }
                TokenType::Comma => {
                    // Look-ahead for a line comment, as hcl1 does.
                    self.scan();
                    self.unscan();
                    need_comma = false;
                }
                TokenType::LBrace => match self.object_type() {
                    Ok(o) => {
                        items.push(Node::ObjectType(o));
                        need_comma = true;
                    }
                    Err(e) => {
                        return Err(PErr::At(
                            tok.pos,
                            format!(
                                "error while trying to parse object within list: {}",
                                e.text()
                            ),
                        ))
                    }
                },
                TokenType::LBrack => match self.list_type() {
                    Ok(l) => items.push(Node::ListType(l)),
                    Err(e) => {
                        return Err(PErr::At(
                            tok.pos,
                            format!("error while trying to parse list within list: {}", e.text()),
                        ))
                    }
                },
                TokenType::RBrack => {
                    self.depth -= 1;
                    return Ok(ListType {
                        lbrack,
                        rbrack: self.tok.pos,
                        items,
                    });
                }
                other => {
                    return Err(PErr::At(
                        tok.pos,
                        format!("unexpected token while parsing list: {}", other.name()),
                    ))
                }
            }
        }
    }
}

/// The message of Go's panic in `Token.Value()` when unquoting fails.
pub(super) fn unquote_panic(text: &str) -> String {
    format!("unquote {text} err: invalid syntax")
}

/// An object key from an IDENT or STRING token.
fn make_key(tok: &Token<'_>) -> ObjectKey {
    if tok.typ == TokenType::Ident {
        return ObjectKey {
            value: tok.text.to_string(),
            quoted: false,
            text: tok.text.to_string(),
            pos: tok.pos,
            value_error: None,
        };
    }
    let (value, value_error) = match hcl_unquote(tok.text) {
        Ok(v) => (v, None),
        Err(()) => (tok.text.to_string(), Some(unquote_panic(tok.text))),
    };
    ObjectKey {
        value,
        quoted: true,
        text: tok.text.to_string(),
        pos: tok.pos,
        value_error,
    }
}

/// A literal node from a NUMBER, FLOAT, BOOL, STRING or HEREDOC token.
fn make_literal(tok: &Token<'_>) -> Literal {
    let mut value_error = None;
    let kind = match tok.typ {
        TokenType::Number => LiteralKind::Number(tok.text.to_string()),
        TokenType::Float => LiteralKind::Float(tok.text.to_string()),
        TokenType::Bool => LiteralKind::Bool(tok.text == "true"),
        TokenType::Heredoc => LiteralKind::Heredoc(unindent_heredoc(tok.text)),
        _ => match hcl_unquote(tok.text) {
            Ok(v) => LiteralKind::String(v),
            Err(()) => {
                value_error = Some(unquote_panic(tok.text));
                LiteralKind::String(tok.text.to_string())
            }
        },
    };
    Literal {
        kind,
        text: tok.text.to_string(),
        pos: tok.pos,
        value_error,
    }
}
