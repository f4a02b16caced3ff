//! The HCL tokenizer, following hcl1's `hcl/scanner` character for character.
//!
//! hcl1's scanner reads one character at a time with a one-character push-back (`unread`) and a
//! look-ahead (`peek`), and reports errors through a callback while carrying on. Its quirks
//! matter for fidelity: reading past the end still advances the column (so positions reported
//! at end of input depend on how many times the end was read), `.5e3` scans as `.5e` then `3`,
//! `08` is not reported as a bad octal while `008` is, a heredoc's closing anchor must be
//! followed by a newline. This port keeps the same structure so that tokens, positions and error
//! messages come out identical; the parser keeps only the last error reported, as hcl1 does.

use super::ast::Pos;
use super::unicode::{is_go_digit, is_go_letter};

/// hcl1's `eof` marker: the scanner returns the character 0 both at the end of input and for a
/// NUL character (after reporting it).
pub(super) const EOF: char = '\0';

/// The token types of hcl1's `hcl/token` package.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TokenType {
    Illegal,
    Eof,
    Comment,
    Ident,
    Number,
    Float,
    Bool,
    String,
    Heredoc,
    LBrack,
    LBrace,
    Comma,
    Period,
    RBrack,
    RBrace,
    Assign,
    Add,
    Sub,
}

impl TokenType {
    /// The name hcl1 prints for the type (`token.Type.String`).
    pub(super) fn name(self) -> &'static str {
        match self {
            TokenType::Illegal => "ILLEGAL",
            TokenType::Eof => "EOF",
            TokenType::Comment => "COMMENT",
            TokenType::Ident => "IDENT",
            TokenType::Number => "NUMBER",
            TokenType::Float => "FLOAT",
            TokenType::Bool => "BOOL",
            TokenType::String => "STRING",
            TokenType::Heredoc => "HEREDOC",
            TokenType::LBrack => "LBRACK",
            TokenType::LBrace => "LBRACE",
            TokenType::Comma => "COMMA",
            TokenType::Period => "PERIOD",
            TokenType::RBrack => "RBRACK",
            TokenType::RBrace => "RBRACE",
            TokenType::Assign => "ASSIGN",
            TokenType::Add => "ADD",
            TokenType::Sub => "SUB",
        }
    }
}

/// A scanned token; `text` is the exact source text (hcl1's `Token.Text`).
#[derive(Clone, Copy, Debug)]
pub(super) struct Token<'a> {
    pub typ: TokenType,
    pub pos: Pos,
    pub text: &'a str,
}

impl Token<'_> {
    /// hcl1's `Token.String()`: `"<pos> <TYPE> <text>"`, which its "Unknown token" errors print.
    pub(super) fn describe(&self) -> String {
        format!("{} {} {}", self.pos, self.typ.name(), self.text)
    }
}

/// Character reader shared by the HCL and JSON scanners: position bookkeeping exactly like the Go
/// scanners' `next`/`unread`/`peek` over a `bytes.Buffer`.
pub(super) struct Reader<'a> {
    pub src: &'a str,
    /// Current position; `offset` is also the read cursor.
    pub src_pos: Pos,
    prev_pos: Pos,
    pub last_char_len: usize,
    pub last_line_len: usize,
    /// Whether the last buffer operation was a successful read, which is what Go's
    /// `UnreadRune` requires (a `peek`, an `unread` or a read at the end clears it).
    can_unread: bool,
    /// Times `unread` was asked for when Go's `UnreadRune` would have failed (hcl1's HCL scanner
    /// never does this; its JSON scanner does at the end of a truncated escape, where Go panics).
    pub unread_misses: u32,
}

impl<'a> Reader<'a> {
    pub(super) fn new(src: &'a str) -> Self {
        Reader {
            src,
            src_pos: Pos {
                offset: 0,
                line: 1,
                column: 0,
            },
            prev_pos: Pos::default(),
            last_char_len: 0,
            last_line_len: 0,
            can_unread: false,
            unread_misses: 0,
        }
    }

    /// Read one character; at the end, return `None` after advancing the column as Go does.
    pub(super) fn read(&mut self) -> Option<char> {
        match self
            .src
            .get(self.src_pos.offset..)
            .and_then(|s| s.chars().next())
        {
            None => {
                self.src_pos.column += 1;
                self.last_char_len = 0;
                self.can_unread = false;
                None
            }
            Some(ch) => {
                self.prev_pos = self.src_pos;
                self.src_pos.column += 1;
                self.last_char_len = ch.len_utf8();
                self.src_pos.offset += ch.len_utf8();
                self.can_unread = true;
                if ch == '\n' {
                    self.src_pos.line += 1;
                    self.last_line_len = self.src_pos.column;
                    self.src_pos.column = 0;
                }
                Some(ch)
            }
        }
    }

    /// Push the last character back (`unread`).
    pub(super) fn unread(&mut self) {
        if !self.can_unread {
            self.unread_misses += 1;
            return;
        }
        self.src_pos = self.prev_pos;
        self.can_unread = false;
    }

    /// The next character without consuming it (`peek`), or `EOF`.
    pub(super) fn peek(&mut self) -> char {
        self.can_unread = false;
        self.src
            .get(self.src_pos.offset..)
            .and_then(|s| s.chars().next())
            .unwrap_or(EOF)
    }

    /// The position just after the last character read (`recentPosition`), where hcl1 reports
    /// scanner errors.
    pub(super) fn recent_position(&self) -> Pos {
        let offset = self.src_pos.offset.saturating_sub(self.last_char_len);
        if self.src_pos.column > 0 {
            Pos {
                offset,
                line: self.src_pos.line,
                column: self.src_pos.column,
            }
        } else if self.last_line_len > 0 {
            Pos {
                offset,
                line: self.src_pos.line.saturating_sub(1),
                column: self.last_line_len,
            }
        } else {
            Pos {
                offset,
                line: 1,
                column: 1,
            }
        }
    }

    /// The start position of a token whose first character was just read.
    pub(super) fn token_start_pos(&self) -> Pos {
        let offset = self.src_pos.offset.saturating_sub(self.last_char_len);
        if self.src_pos.column > 0 {
            Pos {
                offset,
                line: self.src_pos.line,
                column: self.src_pos.column,
            }
        } else {
            Pos {
                offset,
                line: self.src_pos.line.saturating_sub(1),
                column: self.last_line_len,
            }
        }
    }
}

/// Go's `isLetter` in hcl1's scanners.
pub(super) fn is_letter(ch: char) -> bool {
    ch.is_ascii_alphabetic() || ch == '_' || (ch as u32 >= 0x80 && is_go_letter(ch))
}

/// Go's `isDigit` in hcl1's scanners.
pub(super) fn is_digit(ch: char) -> bool {
    ch.is_ascii_digit() || (ch as u32 >= 0x80 && is_go_digit(ch))
}

pub(super) fn is_decimal(ch: char) -> bool {
    ch.is_ascii_digit()
}

pub(super) fn is_whitespace(ch: char) -> bool {
    matches!(ch, ' ' | '\t' | '\n' | '\r')
}

/// Go's `digitVal`: 16 for anything that is not a hex digit (note: `EOF`, the character 0, is
/// digit 0, which the JSON scanner relies on by accident).
pub(super) fn digit_val(ch: char) -> u32 {
    ch.to_digit(16).unwrap_or(16)
}

/// hcl1's HCL scanner.
pub(super) struct Scanner<'a> {
    r: Reader<'a>,
    /// The last error reported, as hcl1's parser keeps it (each report replaces the previous).
    pub error: Option<(Pos, String)>,
}

impl<'a> Scanner<'a> {
    pub(super) fn new(src: &'a str) -> Self {
        Scanner {
            r: Reader::new(src),
            error: None,
        }
    }

    #[cfg(test)]
    pub(super) fn unread_misses(&self) -> u32 {
        self.r.unread_misses
    }

    fn err(&mut self, msg: &str) {
        self.error = Some((self.r.recent_position(), msg.to_string()));
    }

    /// hcl1's `next`: read a character, reporting NUL and U+E123 (which it reserves).
    fn next(&mut self) -> char {
        let Some(ch) = self.r.read() else {
            return EOF;
        };
        if ch == '\0' {
            self.err("unexpected null character (0x00)");
            return EOF;
        }
        if ch == '\u{E123}' {
            self.err("unicode code point U+E123 reserved for internal use");
            return '\u{FFFD}';
        }
        ch
    }

    fn unread(&mut self) {
        self.r.unread();
    }

    fn peek(&mut self) -> char {
        self.r.peek()
    }

    /// Scan the next token (`Scan`).
    pub(super) fn scan(&mut self) -> Token<'a> {
        let mut current = self.next();
        while is_whitespace(current) {
            current = self.next();
        }
        let tok_start = self.r.src_pos.offset.saturating_sub(self.r.last_char_len);
        let pos = self.r.token_start_pos();

        let typ = if is_letter(current) {
            let lit = self.scan_identifier();
            if lit == "true" || lit == "false" {
                TokenType::Bool
            } else {
                TokenType::Ident
            }
        } else if is_decimal(current) {
            self.scan_number(current)
        } else {
            match current {
                EOF => TokenType::Eof,
                '"' => {
                    self.scan_string();
                    TokenType::String
                }
                '#' | '/' => {
                    self.scan_comment(current);
                    TokenType::Comment
                }
                '.' => {
                    let peeked = self.peek();
                    if is_decimal(peeked) {
                        // hcl1 passes the peeked (unconsumed) character along, so `.5e3` ends
                        // after the `e`: reproduced on purpose.
                        let after_mantissa = self.scan_mantissa(peeked);
                        self.scan_exponent(after_mantissa);
                        TokenType::Float
                    } else {
                        TokenType::Period
                    }
                }
                '<' => {
                    self.scan_heredoc();
                    TokenType::Heredoc
                }
                '[' => TokenType::LBrack,
                ']' => TokenType::RBrack,
                '{' => TokenType::LBrace,
                '}' => TokenType::RBrace,
                ',' => TokenType::Comma,
                '=' => TokenType::Assign,
                '+' => TokenType::Add,
                '-' => {
                    if is_decimal(self.peek()) {
                        let first_digit = self.next();
                        self.scan_number(first_digit)
                    } else {
                        TokenType::Sub
                    }
                }
                _ => {
                    self.err("illegal char");
                    TokenType::Illegal
                }
            }
        };

        let tok_end = self.r.src_pos.offset;
        let text = self.r.src.get(tok_start..tok_end).unwrap_or("");
        Token { typ, pos, text }
    }

    fn scan_comment(&mut self, mut ch: char) {
        if ch == '#' || (ch == '/' && self.peek() != '*') {
            if ch == '/' && self.peek() != '/' {
                self.err("expected '/' for comment");
                return;
            }
            ch = self.next();
            while ch != '\n' && ch != EOF {
                ch = self.next();
            }
            if ch != EOF {
                self.unread();
            }
            return;
        }
        // `/*` comment: read the `*` and the character after it.
        if ch == '/' {
            self.next();
            ch = self.next();
        }
        loop {
            if ch == EOF {
                self.err("comment not terminated");
                break;
            }
            let ch0 = ch;
            ch = self.next();
            if ch0 == '*' && ch == '/' {
                break;
            }
        }
    }

    fn scan_number(&mut self, mut ch: char) -> TokenType {
        if ch == '0' {
            // Hexadecimal, octal or float.
            ch = self.next();
            if ch == 'x' || ch == 'X' {
                ch = self.next();
                let mut found = false;
                while ch.is_ascii_hexdigit() {
                    ch = self.next();
                    found = true;
                }
                if !found {
                    self.err("illegal hexadecimal number");
                }
                if ch != EOF {
                    self.unread();
                }
                return TokenType::Number;
            }
            // 0421 (octal) or 0.1231 (float); a digit 8 or 9 is only an error if no `.`
            // follows. hcl1 checks the character after each digit, so `08` passes.
            let mut illegal_octal = false;
            while is_decimal(ch) {
                ch = self.next();
                if ch == '8' || ch == '9' {
                    illegal_octal = true;
                }
            }
            if ch == 'e' || ch == 'E' {
                self.scan_exponent(ch);
                return TokenType::Float;
            }
            if ch == '.' {
                ch = self.scan_fraction(ch);
                if ch == 'e' || ch == 'E' {
                    ch = self.next();
                    self.scan_exponent(ch);
                }
                return TokenType::Float;
            }
            if illegal_octal {
                self.err("illegal octal number");
            }
            if ch != EOF {
                self.unread();
            }
            return TokenType::Number;
        }

        self.scan_mantissa(ch);
        ch = self.next();
        if ch == 'e' || ch == 'E' {
            self.scan_exponent(ch);
            return TokenType::Float;
        }
        if ch == '.' {
            ch = self.scan_fraction(ch);
            if ch == 'e' || ch == 'E' {
                ch = self.next();
                self.scan_exponent(ch);
            }
            return TokenType::Float;
        }
        if ch != EOF {
            self.unread();
        }
        TokenType::Number
    }

    /// Consume decimal digits starting with `ch`; return the first non-digit (pushed back).
    fn scan_mantissa(&mut self, mut ch: char) -> char {
        let mut scanned = false;
        while is_decimal(ch) {
            ch = self.next();
            scanned = true;
        }
        if scanned && ch != EOF {
            self.unread();
        }
        ch
    }

    fn scan_fraction(&mut self, mut ch: char) -> char {
        if ch == '.' {
            ch = self.peek();
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

    fn scan_heredoc(&mut self) {
        if self.next() != '<' {
            self.err("heredoc expected second '<', didn't see it");
            return;
        }
        let offs = self.r.src_pos.offset;
        let mut current = self.next();
        // Indented heredoc syntax.
        if current == '-' {
            current = self.next();
        }
        while is_letter(current) || is_digit(current) {
            current = self.next();
        }
        if current == EOF {
            self.err("heredoc not terminated");
            return;
        }
        // Ignore the '\r' of a Windows line ending.
        if current == '\r' && self.peek() == '\n' {
            current = self.next();
        }
        if current != '\n' {
            self.err("invalid characters in heredoc anchor");
            return;
        }
        let ident_end = self.r.src_pos.offset.saturating_sub(self.r.last_char_len);
        let ident = self.r.src.get(offs..ident_end).unwrap_or("");
        if ident.is_empty() || ident == "-" {
            self.err("zero-length heredoc anchor");
            return;
        }
        let anchor = ident.strip_prefix('-').unwrap_or(ident);

        let mut line_start = self.r.src_pos.offset;
        loop {
            let current = self.next();
            if current == '\n' {
                // The line (without its newline) ends the heredoc when it is at least as long
                // as the anchor as written (`-EOF` for `<<-EOF`) and is
                // `^[[:space:]]*ANCHOR\r*$`.
                let line_end = self.r.src_pos.offset.saturating_sub(self.r.last_char_len);
                let line = self.r.src.get(line_start..line_end).unwrap_or("");
                if line.len() >= ident.len() && is_anchor_line(line, anchor) {
                    break;
                }
                line_start = self.r.src_pos.offset;
            }
            if current == EOF {
                self.err("heredoc not terminated");
                return;
            }
        }
    }

    fn scan_string(&mut self) {
        let mut braces = 0u32;
        loop {
            let current = self.next();
            if (current == '\n' && braces == 0) || current == EOF {
                self.err("literal not terminated");
                return;
            }
            if current == '"' && braces == 0 {
                break;
            }
            // Inside `${...}` quotes do not end the string.
            if braces == 0 && current == '$' && self.peek() == '{' {
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
            '0'..='7' => {
                self.scan_digits(escape, 8, 3);
            }
            'x' => {
                let first_digit = self.next();
                self.scan_digits(first_digit, 16, 2);
            }
            'u' => {
                let first_digit = self.next();
                self.scan_digits(first_digit, 16, 4);
            }
            'U' => {
                let first_digit = self.next();
                self.scan_digits(first_digit, 16, 8);
            }
            _ => self.err("illegal char escape"),
        }
    }

    fn scan_digits(&mut self, mut ch: char, base: u32, n: u32) -> char {
        let mut left = n;
        while left > 0 && digit_val(ch) < base {
            ch = self.next();
            if ch == EOF {
                break;
            }
            left -= 1;
        }
        if left > 0 {
            self.err("illegal char escape");
        }
        if left != n && ch != EOF {
            self.unread();
        }
        ch
    }

    fn scan_identifier(&mut self) -> &'a str {
        let offs = self.r.src_pos.offset.saturating_sub(self.r.last_char_len);
        let mut current = self.next();
        while is_letter(current) || is_digit(current) || current == '-' || current == '.' {
            current = self.next();
        }
        if current != EOF {
            self.unread();
        }
        self.r.src.get(offs..self.r.src_pos.offset).unwrap_or("")
    }
}

/// Whether a heredoc body line matches hcl1's `^[[:space:]]*ANCHOR\r*\z`.
fn is_anchor_line(line: &str, anchor: &str) -> bool {
    let rest = line.trim_start_matches([' ', '\t', '\n', '\u{0b}', '\u{0c}', '\r']);
    match rest.strip_prefix(anchor) {
        Some(tail) => tail.bytes().all(|b| b == b'\r'),
        None => false,
    }
}
