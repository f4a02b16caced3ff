//! String and number conversions exactly as hcl1 and Go's `strconv` perform them.
//!
//! hcl1 keeps token text raw and converts it late: HCL strings with its own `hcl/strconv.Unquote`
//! (which leaves `${...}` untouched), JSON strings with Go's `strconv.Unquote`, heredocs with
//! `token.unindentHeredoc`, and numbers with `strconv.ParseInt(text, 0, ...)` /
//! `strconv.ParseFloat` in the decoder. The functions here reproduce those, including their
//! error texts, which the decoder returns verbatim.
//!
//! Go strings are byte strings and may hold invalid UTF-8 (`"\xff"` unquotes to the single byte
//! 0xff); Rust strings cannot, so each byte that is not part of a valid UTF-8 sequence becomes
//! U+FFFD, as Go itself does when it decodes such a string (`for range`, `json.Marshal`). Valid
//! byte sequences spelled with escapes (`"\xc3\xa9"`) come out right.

use std::fmt::Write as _;

/// Go's `utf8.RuneError`.
const RUNE_ERROR: char = '\u{FFFD}';

/// Bytes to a string the way Go decodes invalid UTF-8: one U+FFFD per offending byte (Rust's
/// `from_utf8_lossy` would merge a truncated sequence into one).
fn go_lossy(mut bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    loop {
        match std::str::from_utf8(bytes) {
            Ok(valid) => {
                out.push_str(valid);
                return out;
            }
            Err(e) => {
                let (valid, rest) = bytes.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                out.push(RUNE_ERROR);
                bytes = &rest[1..];
            }
        }
    }
}

/// Append Go's `utf8.EncodeRune(r)`: surrogates and values above U+10FFFF encode as U+FFFD.
fn push_rune(buf: &mut Vec<u8>, r: u32) {
    let character = char::from_u32(r).unwrap_or(RUNE_ERROR);
    let mut tmp = [0u8; 4];
    buf.extend_from_slice(character.encode_utf8(&mut tmp).as_bytes());
}

fn unhex(b: u8) -> Option<u32> {
    match b {
        b'0'..=b'9' => Some((b - b'0') as u32),
        b'a'..=b'f' => Some((b - b'a' + 10) as u32),
        b'A'..=b'F' => Some((b - b'A' + 10) as u32),
        _ => None,
    }
}

/// Which unquoting rules apply: hcl1's own copy of an old `strconv` (code points are only checked
/// against U+10FFFF) or the current Go one (`utf8.ValidRune`, which also rejects surrogates).
#[derive(Clone, Copy, PartialEq)]
enum Flavor {
    Hcl,
    Go,
}

/// One character of a quoted string (`strconv.UnquoteChar`). `s` is non-empty. Returns the value,
/// whether it is a code point to encode as UTF-8 (`multibyte`), and the bytes consumed.
fn unquote_char(s: &[u8], quote: u8, flavor: Flavor) -> Result<(u32, bool, usize), ()> {
    let first = s[0];
    if first == quote {
        return Err(());
    }
    if first >= 0x80 {
        // Our input is valid UTF-8, so a full character starts here.
        let text = std::str::from_utf8(&s[..s.len().min(4)])
            .or_else(|e| std::str::from_utf8(&s[..e.valid_up_to()]))
            .unwrap_or("");
        let decoded = text.chars().next().ok_or(())?;
        return Ok((decoded as u32, true, decoded.len_utf8()));
    }
    if first != b'\\' {
        return Ok((first as u32, false, 1));
    }
    if s.len() <= 1 {
        return Err(());
    }
    let escape = s[1];
    let rest = &s[2..];
    let simple = |v: u8| Ok((v as u32, false, 2));
    match escape {
        b'a' => simple(0x07),
        b'b' => simple(0x08),
        b'f' => simple(0x0c),
        b'n' => simple(b'\n'),
        b'r' => simple(b'\r'),
        b't' => simple(b'\t'),
        b'v' => simple(0x0b),
        b'\\' => simple(b'\\'),
        b'\'' | b'"' => {
            if escape != quote {
                return Err(());
            }
            simple(escape)
        }
        b'x' | b'u' | b'U' => {
            let digits = match escape {
                b'x' => 2,
                b'u' => 4,
                _ => 8,
            };
            if rest.len() < digits {
                return Err(());
            }
            let mut value: u32 = 0;
            for &b in &rest[..digits] {
                value = (value << 4) | unhex(b).ok_or(())?;
            }
            if escape == b'x' {
                // A single byte, possibly not UTF-8.
                return Ok((value, false, 2 + digits));
            }
            let ok = match flavor {
                Flavor::Hcl => value <= 0x10FFFF,
                Flavor::Go => char::from_u32(value).is_some(),
            };
            if !ok {
                return Err(());
            }
            Ok((value, true, 2 + digits))
        }
        b'0'..=b'7' => {
            if rest.len() < 2 {
                return Err(());
            }
            let mut value = (escape - b'0') as u32;
            for &b in &rest[..2] {
                if !(b'0'..=b'7').contains(&b) {
                    return Err(());
                }
                value = (value << 3) | (b - b'0') as u32;
            }
            if value > 255 {
                return Err(());
            }
            Ok((value, false, 4))
        }
        _ => Err(()),
    }
}

fn push_char(buf: &mut Vec<u8>, v: u32, multibyte: bool) {
    if v < 0x80 || !multibyte {
        buf.push(v as u8);
    } else {
        push_rune(buf, v);
    }
}

/// hcl1's `hcl/strconv.Unquote`: unquote a double-quoted HCL string token, copying every
/// `${...}` interpolation verbatim (escapes inside it are not processed). `Err` is Go's
/// `ErrSyntax` ("invalid syntax").
pub(super) fn hcl_unquote(text: &str) -> Result<String, ()> {
    let bytes = text.as_bytes();
    let len = bytes.len();
    if len < 2 {
        return Err(());
    }
    let quote = bytes[0];
    if quote != bytes[len - 1] || quote != b'"' {
        return Err(());
    }
    let mut rest = &bytes[1..len - 1];
    let has = |s: &[u8], c: u8| s.contains(&c);
    if !has(rest, b'$') && !has(rest, b'{') && has(rest, b'\n') {
        return Err(());
    }
    if !has(rest, b'\\') && !has(rest, quote) && !has(rest, b'$') {
        return Ok(go_lossy(rest));
    }
    let mut buf = Vec::with_capacity(rest.len());
    while !rest.is_empty() {
        if rest[0] == b'$' && rest.len() > 1 && rest[1] == b'{' {
            buf.extend_from_slice(b"${");
            rest = &rest[2..];
            let mut braces = 1;
            while !rest.is_empty() && braces > 0 {
                // Go's DecodeRuneInString: a literal U+FFFD is indistinguishable from bad UTF-8,
                // and both are rejected.
                let text = std::str::from_utf8(&rest[..rest.len().min(4)])
                    .or_else(|e| std::str::from_utf8(&rest[..e.valid_up_to()]))
                    .unwrap_or("");
                let decoded = text.chars().next().unwrap_or(RUNE_ERROR);
                if decoded == RUNE_ERROR {
                    return Err(());
                }
                let size = decoded.len_utf8();
                buf.extend_from_slice(&rest[..size]);
                rest = &rest[size..];
                match decoded {
                    '{' => braces += 1,
                    '}' => braces -= 1,
                    _ => {}
                }
            }
            if braces != 0 {
                return Err(());
            }
            continue;
        }
        if rest[0] == b'\n' {
            return Err(());
        }
        let (v, multibyte, used) = unquote_char(rest, quote, Flavor::Hcl)?;
        rest = &rest[used..];
        push_char(&mut buf, v, multibyte);
    }
    Ok(go_lossy(&buf))
}

/// Go's `strconv.Unquote` for a double-quoted string, which hcl1 uses for JSON string tokens.
/// `Err` is Go's `ErrSyntax`.
pub(super) fn go_unquote(text: &str) -> Result<String, ()> {
    let bytes = text.as_bytes();
    if bytes.len() < 2 || bytes[0] != b'"' {
        return Err(());
    }
    let quote = bytes[0];
    let end = match bytes[1..].iter().position(|&c| c == quote) {
        Some(i) => i + 2,
        None => return Err(()),
    };
    if !bytes[..end].contains(&b'\\') && !bytes[..end].contains(&b'\n') {
        // No escapes: the text up to the first quote is the value, and nothing may follow.
        if end != bytes.len() {
            return Err(());
        }
        return Ok(text[1..end - 1].to_string());
    }
    let mut rest = &bytes[1..];
    let mut buf = Vec::with_capacity(bytes.len());
    while !rest.is_empty() && rest[0] != quote {
        if rest[0] == b'\n' {
            return Err(());
        }
        let (v, multibyte, used) = unquote_char(rest, quote, Flavor::Go)?;
        rest = &rest[used..];
        push_char(&mut buf, v, multibyte);
    }
    // Exactly one terminating quote must remain.
    if rest != [quote] {
        return Err(());
    }
    Ok(go_lossy(&buf))
}

/// hcl1's `token.unindentHeredoc`: the value of a HEREDOC token, whose text runs from `<<` to
/// the newline after the closing anchor.
///
/// `<<EOF` keeps the body as is: hcl1 cuts the anchor's length (plus its newline) off the end,
/// so an indented closing anchor leaves its indentation in the value. `<<-EOF` removes the
/// closing line's indentation from every line when all lines have it, and otherwise keeps the
/// body with trailing spaces and tabs trimmed.
pub(super) fn unindent_heredoc(text: &str) -> String {
    let bytes = text.as_bytes();
    let Some(idx) = bytes.iter().position(|&c| c == b'\n') else {
        // The scanner never produces this; Go would panic.
        return String::new();
    };
    let slice = |lo: usize, hi: usize| -> &[u8] {
        if lo <= hi && hi <= bytes.len() {
            &bytes[lo..hi]
        } else {
            &[]
        }
    };
    let unindent = bytes.get(2) == Some(&b'-');
    if !unindent {
        return go_lossy(slice(idx + 1, (bytes.len() + 1).saturating_sub(idx)));
    }
    let body = slice(idx + 1, (bytes.len() + 2).saturating_sub(idx));
    let lines: Vec<&[u8]> = body.split(|&c| c == b'\n').collect();
    let prefix = lines[lines.len() - 1];
    if !lines.iter().all(|l| l.starts_with(prefix)) {
        let kept = slice(idx + 1, (bytes.len() + 1).saturating_sub(idx));
        let end = kept
            .iter()
            .rposition(|&c| c != b' ' && c != b'\t')
            .map_or(0, |i| i + 1);
        return go_lossy(&kept[..end]);
    }
    let mut out: Vec<u8> = Vec::with_capacity(body.len());
    for (k, line) in lines.iter().enumerate() {
        if k > 0 {
            out.push(b'\n');
        }
        if k == lines.len() - 1 {
            break;
        }
        out.extend_from_slice(&line[prefix.len()..]);
    }
    go_lossy(&out)
}

/// Go's `strconv.Quote` (what `%q` prints for a string).
///
/// Exact for Latin-1. Above U+00FF, Go consults Unicode 15 tables (`strconv.IsPrint`); this
/// treats as non-printable (escaped `\uXXXX`/`\UXXXXXXXX`) the spaces, controls, format
/// characters, private use, noncharacters and the unassigned planes, and everything else as
/// printable, so only a few unassigned code points inside assigned blocks can differ.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if go_is_print(c) => out.push(c),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if c < ' ' || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x1_0000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

/// Approximation of Go's `strconv.IsPrint` (see [`go_quote`]).
fn go_is_print(c: char) -> bool {
    let code = c as u32;
    if code <= 0xFF {
        return (0x20..=0x7E).contains(&code) || ((0xA1..=0xFF).contains(&code) && code != 0xAD);
    }
    if c.is_whitespace() || c.is_control() {
        return false;
    }
    !matches!(
        code,
        // Format characters (Cf).
        0x600..=0x605
            | 0x61C
            | 0x6DD
            | 0x70F
            | 0x890..=0x891
            | 0x8E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            // Private use.
            | 0xE000..=0xF8FF
            | 0xF_0000..=0x10_FFFF
            // Noncharacters.
            | 0xFDD0..=0xFDEF
            // Unassigned planes 4-13, and plane 14 outside the variation selectors.
            | 0x4_0000..=0xD_FFFF
            | 0xE_0000..=0xE_00FF
            | 0xE_01F0..=0xE_FFFF
    ) && (code & 0xFFFE) != 0xFFFE
}

/// Go's `strconv.NumError`: which function failed, on what text, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("strconv.{func}: parsing {}: {reason}", go_quote(.text))]
pub struct NumError {
    /// `ParseInt` or `ParseFloat`.
    pub func: &'static str,
    /// The text as given, quoted by `Display` as Go quotes it.
    pub text: String,
    pub reason: NumErrorReason,
}

/// Go's `strconv.ErrSyntax` and `strconv.ErrRange`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NumErrorReason {
    #[error("invalid syntax")]
    Syntax,
    #[error("value out of range")]
    Range,
}

impl NumError {
    fn new(func: &'static str, text: &str, reason: NumErrorReason) -> Self {
        NumError {
            func,
            text: text.to_string(),
            reason,
        }
    }
}

/// The `base` argument of Go's `strconv.ParseInt`, in the two forms Vault's code uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntBase {
    /// Base 0: a `0x`, `0o`, `0b` or leading-`0` prefix picks the base, and `_` may separate
    /// digits (hcl1's decoder).
    Prefixed,
    /// Base 10: decimal digits only (`parseutil`'s durations).
    Decimal,
}

/// Go's `underscoreOK`: underscores only between digits (or after a base prefix).
fn underscore_ok(s: &str) -> bool {
    let mut bytes = s.as_bytes();
    if !bytes.is_empty() && (bytes[0] == b'-' || bytes[0] == b'+') {
        bytes = &bytes[1..];
    }
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if bytes.len() >= 2
        && bytes[0] == b'0'
        && matches!(bytes[1].to_ascii_lowercase(), b'b' | b'o' | b'x')
    {
        i = 2;
        saw = b'0';
        hex = bytes[1].eq_ignore_ascii_case(&b'x');
    }
    while i < bytes.len() {
        let byte = bytes[i];
        let lower = byte.to_ascii_lowercase();
        if byte.is_ascii_digit() || (hex && (b'a'..=b'f').contains(&lower)) {
            saw = b'0';
        } else if byte == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// Go's `strconv.ParseUint(text, base, 64)` for the two bases of [`IntBase`].
fn parse_uint(text: &str, base: IntBase) -> Result<u64, NumErrorReason> {
    if text.is_empty() {
        return Err(NumErrorReason::Syntax);
    }
    let bytes = text.as_bytes();
    let (radix, digits): (u64, &[u8]) = match base {
        IntBase::Decimal => (10, bytes),
        IntBase::Prefixed if bytes[0] != b'0' => (10, bytes),
        IntBase::Prefixed if bytes.len() >= 3 && bytes[1].eq_ignore_ascii_case(&b'b') => {
            (2, &bytes[2..])
        }
        IntBase::Prefixed if bytes.len() >= 3 && bytes[1].eq_ignore_ascii_case(&b'o') => {
            (8, &bytes[2..])
        }
        IntBase::Prefixed if bytes.len() >= 3 && bytes[1].eq_ignore_ascii_case(&b'x') => {
            (16, &bytes[2..])
        }
        IntBase::Prefixed => (8, &bytes[1..]),
    };
    let cutoff = u64::MAX / radix + 1;
    let mut underscores = false;
    let mut value: u64 = 0;
    // Left to right, the first bad character or overflow decides the error, as in Go.
    for &byte in digits {
        let digit = match byte {
            b'_' if base == IntBase::Prefixed => {
                underscores = true;
                continue;
            }
            b'0'..=b'9' => byte - b'0',
            _ if byte.to_ascii_lowercase().is_ascii_lowercase() => {
                byte.to_ascii_lowercase() - b'a' + 10
            }
            _ => return Err(NumErrorReason::Syntax),
        };
        if u64::from(digit) >= radix {
            return Err(NumErrorReason::Syntax);
        }
        if value >= cutoff {
            return Err(NumErrorReason::Range);
        }
        value *= radix;
        let next = value.wrapping_add(u64::from(digit));
        if next < value {
            return Err(NumErrorReason::Range);
        }
        value = next;
    }
    if underscores && !underscore_ok(text) {
        return Err(NumErrorReason::Syntax);
    }
    Ok(value)
}

/// Go's `strconv.ParseInt(text, base, 64)`: an optional sign, then digits in `base`. The error
/// prints as Go's, e.g. `strconv.ParseInt: parsing "1h": invalid syntax`.
pub fn parse_int(text: &str, base: IntBase) -> Result<i64, NumError> {
    let error = |reason| NumError::new("ParseInt", text, reason);
    if text.is_empty() {
        return Err(error(NumErrorReason::Syntax));
    }
    let (negative, unsigned) = match text.as_bytes()[0] {
        b'+' => (false, &text[1..]),
        b'-' => (true, &text[1..]),
        _ => (false, text),
    };
    let magnitude = match parse_uint(unsigned, base) {
        Ok(value) => value,
        Err(NumErrorReason::Syntax) => return Err(error(NumErrorReason::Syntax)),
        // ParseUint returns its maximum with the range error; ParseInt re-judges the range.
        Err(NumErrorReason::Range) => u64::MAX,
    };
    let cutoff: u64 = 1 << 63;
    if (!negative && magnitude >= cutoff) || (negative && magnitude > cutoff) {
        return Err(error(NumErrorReason::Range));
    }
    Ok(if negative {
        (magnitude as i64).wrapping_neg()
    } else {
        magnitude as i64
    })
}

/// Go's `strconv.ParseFloat(s, 64)` on the texts hcl1's decoder hands it: NUMBER and FLOAT
/// token texts (digits, `.`, `e`/`E`, a sign, or a `0x` prefix, which Go rejects without a `p`
/// exponent). Such texts never hold `_`, `p`, `inf` or `nan`; those Go extensions are treated
/// as syntax errors here. Overflow to infinity is Go's range error.
pub(super) fn parse_float(s: &str) -> Result<f64, NumError> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let plain = !body.is_empty()
        && body
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'));
    if !plain {
        return Err(NumError::new("ParseFloat", s, NumErrorReason::Syntax));
    }
    match s.parse::<f64>() {
        Ok(v) if v.is_infinite() => Err(NumError::new("ParseFloat", s, NumErrorReason::Range)),
        Ok(v) => Ok(v),
        Err(_) => Err(NumError::new("ParseFloat", s, NumErrorReason::Syntax)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hcl_unquote_rules() {
        assert_eq!(hcl_unquote(r#""abc""#).unwrap(), "abc");
        assert_eq!(hcl_unquote(r#""a\nb\t\"\\""#).unwrap(), "a\nb\t\"\\");
        assert_eq!(hcl_unquote(r#""\u00e9\U0001F600""#).unwrap(), "é😀");
        assert_eq!(hcl_unquote(r#""\xc3\xa9""#).unwrap(), "é");
        // Invalid bytes become one U+FFFD each, as when Go decodes the string.
        assert_eq!(hcl_unquote(r#""\xf3\xa9!""#).unwrap(), "\u{FFFD}\u{FFFD}!");
        assert_eq!(hcl_unquote(r#""\101""#).unwrap(), "A");
        assert!(hcl_unquote(r#""\400""#).is_err());
        assert!(hcl_unquote(r#""\U00110000""#).is_err());
        // Surrogates encode as U+FFFD in hcl1's copy of strconv.
        assert_eq!(hcl_unquote(r#""\ud800""#).unwrap(), "\u{FFFD}");
        // Interpolations are copied verbatim, escapes included.
        assert_eq!(
            hcl_unquote(r#""a${foo("\n")}b\n""#).unwrap(),
            "a${foo(\"\\n\")}b\n"
        );
        assert_eq!(hcl_unquote("\"${a\nb}\"").unwrap(), "${a\nb}");
        assert!(hcl_unquote("\"${\u{FFFD}}\"").is_err());
    }

    #[test]
    fn go_unquote_rules() {
        assert_eq!(go_unquote(r#""a\"b""#).unwrap(), "a\"b");
        assert_eq!(go_unquote(r#""${x(\"a\")}""#).unwrap(), "${x(\"a\")}");
        assert!(go_unquote(r#""\ud800""#).is_err());
        assert_eq!(go_unquote(r#""""#).unwrap(), "");
    }

    #[test]
    fn heredocs() {
        assert_eq!(unindent_heredoc("<<EOF\nfoo\nbar\nEOF\n"), "foo\nbar\n");
        assert_eq!(unindent_heredoc("<<EOF\nfoo\n  EOF\n"), "foo\n  ");
        assert_eq!(
            unindent_heredoc("<<-EOF\n    foo\n      bar\n    EOF\n"),
            "foo\n  bar\n"
        );
        assert_eq!(
            unindent_heredoc("<<-EOF\n  foo\n bar\n    EOF\n"),
            "  foo\n bar\n"
        );
    }

    #[test]
    fn go_parse_int() {
        assert_eq!(parse_int("42", IntBase::Prefixed), Ok(42));
        assert_eq!(parse_int("-0x1F", IntBase::Prefixed), Ok(-31));
        assert_eq!(parse_int("017", IntBase::Prefixed), Ok(15));
        assert_eq!(parse_int("0b101", IntBase::Prefixed), Ok(5));
        assert_eq!(parse_int("0o17", IntBase::Prefixed), Ok(15));
        assert_eq!(parse_int("1_000", IntBase::Prefixed), Ok(1000));
        assert_eq!(parse_int("+7", IntBase::Prefixed), Ok(7));
        assert_eq!(
            parse_int("-9223372036854775808", IntBase::Prefixed),
            Ok(i64::MIN)
        );
        assert_eq!(
            parse_int("9223372036854775808", IntBase::Prefixed)
                .unwrap_err()
                .to_string(),
            "strconv.ParseInt: parsing \"9223372036854775808\": value out of range"
        );
        assert_eq!(
            parse_int("1h", IntBase::Prefixed).unwrap_err().to_string(),
            "strconv.ParseInt: parsing \"1h\": invalid syntax"
        );
        assert!(parse_int("08", IntBase::Prefixed).is_err());
        assert!(parse_int("1__0", IntBase::Prefixed).is_err());
        assert!(parse_int("_1", IntBase::Prefixed).is_err());
        assert!(parse_int("", IntBase::Prefixed).is_err());
        assert!(parse_int("0x", IntBase::Prefixed).is_err());
        assert_eq!(parse_int("0", IntBase::Prefixed), Ok(0));
        // Base 10: no prefixes, no separators; the first bad character or overflow decides.
        assert_eq!(parse_int("017", IntBase::Decimal), Ok(17));
        assert_eq!(parse_int("-0", IntBase::Decimal), Ok(0));
        assert!(parse_int("0x1F", IntBase::Decimal).is_err());
        assert!(parse_int("1_000", IntBase::Decimal).is_err());
        assert_eq!(
            parse_int("99999999999999999999x", IntBase::Decimal)
                .unwrap_err()
                .reason,
            NumErrorReason::Range
        );
        assert_eq!(
            parse_int("9x9999999999999999999", IntBase::Decimal)
                .unwrap_err()
                .reason,
            NumErrorReason::Syntax
        );
    }

    #[test]
    fn go_parse_float() {
        assert_eq!(parse_float("1.5"), Ok(1.5));
        assert_eq!(parse_float("1."), Ok(1.0));
        assert_eq!(parse_float(".5"), Ok(0.5));
        assert_eq!(parse_float("-1e3"), Ok(-1000.0));
        assert!(parse_float("1e").is_err());
        assert!(parse_float("0x10").is_err());
        assert_eq!(
            parse_float("1e400").unwrap_err().to_string(),
            "strconv.ParseFloat: parsing \"1e400\": value out of range"
        );
    }

    #[test]
    fn go_quote_as_strconv_quote() {
        assert_eq!(go_quote("plain"), "\"plain\"");
        assert_eq!(go_quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(
            go_quote("\n\t\r\u{7}\u{8}\u{c}\u{b}\u{1}\u{7f}"),
            "\"\\n\\t\\r\\a\\b\\f\\v\\x01\\x7f\""
        );
        assert_eq!(go_quote("é😀日本"), "\"é😀日本\"");
        assert_eq!(go_quote("\u{a0}\u{ad}\u{85}"), "\"\\u00a0\\u00ad\\u0085\"");
        assert_eq!(go_quote("\u{200b}\u{feff}"), "\"\\u200b\\ufeff\"");
        assert_eq!(go_quote("\u{f0000}"), "\"\\U000f0000\"");
    }
}
