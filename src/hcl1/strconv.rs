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
    let c = char::from_u32(r).unwrap_or(RUNE_ERROR);
    let mut tmp = [0u8; 4];
    buf.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
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
    let c = s[0];
    if c == quote {
        return Err(());
    }
    if c >= 0x80 {
        // Our input is valid UTF-8, so a full character starts here.
        let text = std::str::from_utf8(&s[..s.len().min(4)])
            .or_else(|e| std::str::from_utf8(&s[..e.valid_up_to()]))
            .unwrap_or("");
        let ch = text.chars().next().ok_or(())?;
        return Ok((ch as u32, true, ch.len_utf8()));
    }
    if c != b'\\' {
        return Ok((c as u32, false, 1));
    }
    if s.len() <= 1 {
        return Err(());
    }
    let e = s[1];
    let rest = &s[2..];
    let simple = |v: u8| Ok((v as u32, false, 2));
    match e {
        b'a' => simple(0x07),
        b'b' => simple(0x08),
        b'f' => simple(0x0c),
        b'n' => simple(b'\n'),
        b'r' => simple(b'\r'),
        b't' => simple(b'\t'),
        b'v' => simple(0x0b),
        b'\\' => simple(b'\\'),
        b'\'' | b'"' => {
            if e != quote {
                return Err(());
            }
            simple(e)
        }
        b'x' | b'u' | b'U' => {
            let n = match e {
                b'x' => 2,
                b'u' => 4,
                _ => 8,
            };
            if rest.len() < n {
                return Err(());
            }
            let mut v: u32 = 0;
            for &b in &rest[..n] {
                v = (v << 4) | unhex(b).ok_or(())?;
            }
            if e == b'x' {
                // A single byte, possibly not UTF-8.
                return Ok((v, false, 2 + n));
            }
            let ok = match flavor {
                Flavor::Hcl => v <= 0x10FFFF,
                Flavor::Go => char::from_u32(v).is_some(),
            };
            if !ok {
                return Err(());
            }
            Ok((v, true, 2 + n))
        }
        b'0'..=b'7' => {
            if rest.len() < 2 {
                return Err(());
            }
            let mut v = (e - b'0') as u32;
            for &b in &rest[..2] {
                if !(b'0'..=b'7').contains(&b) {
                    return Err(());
                }
                v = (v << 3) | (b - b'0') as u32;
            }
            if v > 255 {
                return Err(());
            }
            Ok((v, false, 4))
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
pub fn hcl_unquote(text: &str) -> Result<String, ()> {
    let b = text.as_bytes();
    let n = b.len();
    if n < 2 {
        return Err(());
    }
    let quote = b[0];
    if quote != b[n - 1] || quote != b'"' {
        return Err(());
    }
    let mut s = &b[1..n - 1];
    let has = |s: &[u8], c: u8| s.contains(&c);
    if !has(s, b'$') && !has(s, b'{') && has(s, b'\n') {
        return Err(());
    }
    if !has(s, b'\\') && !has(s, quote) && !has(s, b'$') {
        return Ok(go_lossy(s));
    }
    let mut buf = Vec::with_capacity(s.len());
    while !s.is_empty() {
        if s[0] == b'$' && s.len() > 1 && s[1] == b'{' {
            buf.extend_from_slice(b"${");
            s = &s[2..];
            let mut braces = 1;
            while !s.is_empty() && braces > 0 {
                // Go's DecodeRuneInString: a literal U+FFFD is indistinguishable from bad UTF-8,
                // and both are rejected.
                let text = std::str::from_utf8(&s[..s.len().min(4)])
                    .or_else(|e| std::str::from_utf8(&s[..e.valid_up_to()]))
                    .unwrap_or("");
                let r = text.chars().next().unwrap_or(RUNE_ERROR);
                if r == RUNE_ERROR {
                    return Err(());
                }
                let size = r.len_utf8();
                buf.extend_from_slice(&s[..size]);
                s = &s[size..];
                match r {
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
        if s[0] == b'\n' {
            return Err(());
        }
        let (v, multibyte, used) = unquote_char(s, quote, Flavor::Hcl)?;
        s = &s[used..];
        push_char(&mut buf, v, multibyte);
    }
    Ok(go_lossy(&buf))
}

/// Go's `strconv.Unquote` for a double-quoted string, which hcl1 uses for JSON string tokens.
/// `Err` is Go's `ErrSyntax`.
pub fn go_unquote(text: &str) -> Result<String, ()> {
    let b = text.as_bytes();
    if b.len() < 2 || b[0] != b'"' {
        return Err(());
    }
    let quote = b[0];
    let end = match b[1..].iter().position(|&c| c == quote) {
        Some(i) => i + 2,
        None => return Err(()),
    };
    if !b[..end].contains(&b'\\') && !b[..end].contains(&b'\n') {
        // No escapes: the text up to the first quote is the value, and nothing may follow.
        if end != b.len() {
            return Err(());
        }
        return Ok(text[1..end - 1].to_string());
    }
    let mut s = &b[1..];
    let mut buf = Vec::with_capacity(b.len());
    while !s.is_empty() && s[0] != quote {
        if s[0] == b'\n' {
            return Err(());
        }
        let (v, multibyte, used) = unquote_char(s, quote, Flavor::Go)?;
        s = &s[used..];
        push_char(&mut buf, v, multibyte);
    }
    // Exactly one terminating quote must remain.
    if s != [quote] {
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
pub fn unindent_heredoc(text: &str) -> String {
    let b = text.as_bytes();
    let Some(idx) = b.iter().position(|&c| c == b'\n') else {
        // The scanner never produces this; Go would panic.
        return String::new();
    };
    let slice = |lo: usize, hi: usize| -> &[u8] {
        if lo <= hi && hi <= b.len() {
            &b[lo..hi]
        } else {
            &[]
        }
    };
    let unindent = b.get(2) == Some(&b'-');
    if !unindent {
        return go_lossy(slice(idx + 1, (b.len() + 1).saturating_sub(idx)));
    }
    let body = slice(idx + 1, (b.len() + 2).saturating_sub(idx));
    let lines: Vec<&[u8]> = body.split(|&c| c == b'\n').collect();
    let prefix = lines[lines.len() - 1];
    if !lines.iter().all(|l| l.starts_with(prefix)) {
        let kept = slice(idx + 1, (b.len() + 1).saturating_sub(idx));
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

/// Go's `strconv.Quote`, as `NumError` prints the offending text.
///
/// Printability for non-ASCII characters is approximated (Rust has no `unicode.IsPrint`): control
/// and whitespace characters other than the space are escaped.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{07}' => out.push_str("\\a"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{0b}' => out.push_str("\\v"),
            ' ' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() || c.is_whitespace() || c == '\u{feff}' => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn num_error(func: &str, num: &str, what: &str) -> String {
    format!("strconv.{func}: parsing {}: {what}", go_quote(num))
}

const SYNTAX: &str = "invalid syntax";
const RANGE: &str = "value out of range";

/// Go's `underscoreOK`: underscores only between digits (or after a base prefix).
fn underscore_ok(s: &str) -> bool {
    let mut b = s.as_bytes();
    if !b.is_empty() && (b[0] == b'-' || b[0] == b'+') {
        b = &b[1..];
    }
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1].eq_ignore_ascii_case(&b'x');
    }
    while i < b.len() {
        let c = b[i];
        let lc = c.to_ascii_lowercase();
        if c.is_ascii_digit() || (hex && (b'a'..=b'f').contains(&lc)) {
            saw = b'0';
        } else if c == b'_' {
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

enum UintError {
    Syntax,
    Range,
}

/// Go's `strconv.ParseUint(s, 0, 64)`.
fn parse_uint_base0(s: &str) -> Result<u64, UintError> {
    if s.is_empty() {
        return Err(UintError::Syntax);
    }
    let b = s.as_bytes();
    let (base, digits): (u64, &[u8]) = if b[0] == b'0' {
        if b.len() >= 3 && b[1].eq_ignore_ascii_case(&b'b') {
            (2, &b[2..])
        } else if b.len() >= 3 && b[1].eq_ignore_ascii_case(&b'o') {
            (8, &b[2..])
        } else if b.len() >= 3 && b[1].eq_ignore_ascii_case(&b'x') {
            (16, &b[2..])
        } else {
            (8, &b[1..])
        }
    } else {
        (10, b)
    };
    let cutoff = u64::MAX / base + 1;
    let mut underscores = false;
    let mut n: u64 = 0;
    for &c in digits {
        let d = match c {
            b'_' => {
                underscores = true;
                continue;
            }
            b'0'..=b'9' => c - b'0',
            _ if c.to_ascii_lowercase().is_ascii_lowercase() => c.to_ascii_lowercase() - b'a' + 10,
            _ => return Err(UintError::Syntax),
        };
        if d as u64 >= base {
            return Err(UintError::Syntax);
        }
        if n >= cutoff {
            return Err(UintError::Range);
        }
        n *= base;
        let n1 = n.wrapping_add(d as u64);
        if n1 < n {
            return Err(UintError::Range);
        }
        n = n1;
    }
    if underscores && !underscore_ok(s) {
        return Err(UintError::Syntax);
    }
    Ok(n)
}

/// Go's `strconv.ParseInt(s, 0, 0)` on a 64-bit platform: optional sign, then decimal, `0x`
/// hex, `0o`/leading-`0` octal or `0b` binary, with `_` separators allowed between digits.
/// The error is Go's `NumError` text, e.g. `strconv.ParseInt: parsing "1h": invalid syntax`.
pub fn parse_int(s: &str) -> Result<i64, String> {
    if s.is_empty() {
        return Err(num_error("ParseInt", s, SYNTAX));
    }
    let (neg, rest) = match s.as_bytes()[0] {
        b'+' => (false, &s[1..]),
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    let un = match parse_uint_base0(rest) {
        Ok(v) => v,
        Err(UintError::Syntax) => return Err(num_error("ParseInt", s, SYNTAX)),
        Err(UintError::Range) => u64::MAX,
    };
    let cutoff: u64 = 1 << 63;
    if !neg && un >= cutoff {
        return Err(num_error("ParseInt", s, RANGE));
    }
    if neg && un > cutoff {
        return Err(num_error("ParseInt", s, RANGE));
    }
    Ok(if neg {
        (un as i64).wrapping_neg()
    } else {
        un as i64
    })
}

/// Go's `strconv.ParseFloat(s, 64)` on the texts hcl1's decoder hands it: NUMBER and FLOAT
/// token texts (digits, `.`, `e`/`E`, a sign, or a `0x` prefix, which Go rejects without a `p`
/// exponent). Such texts never hold `_`, `p`, `inf` or `nan`; those Go extensions are treated
/// as syntax errors here. Overflow to infinity is Go's range error.
pub fn parse_float(s: &str) -> Result<f64, String> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let plain = !body.is_empty()
        && body
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'));
    if !plain {
        return Err(num_error("ParseFloat", s, SYNTAX));
    }
    match s.parse::<f64>() {
        Ok(v) if v.is_infinite() => Err(num_error("ParseFloat", s, RANGE)),
        Ok(v) => Ok(v),
        Err(_) => Err(num_error("ParseFloat", s, SYNTAX)),
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
        assert_eq!(parse_int("42"), Ok(42));
        assert_eq!(parse_int("-0x1F"), Ok(-31));
        assert_eq!(parse_int("017"), Ok(15));
        assert_eq!(parse_int("0b101"), Ok(5));
        assert_eq!(parse_int("0o17"), Ok(15));
        assert_eq!(parse_int("1_000"), Ok(1000));
        assert_eq!(parse_int("+7"), Ok(7));
        assert_eq!(parse_int("-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(
            parse_int("9223372036854775808").unwrap_err(),
            "strconv.ParseInt: parsing \"9223372036854775808\": value out of range"
        );
        assert_eq!(
            parse_int("1h").unwrap_err(),
            "strconv.ParseInt: parsing \"1h\": invalid syntax"
        );
        assert!(parse_int("08").is_err());
        assert!(parse_int("1__0").is_err());
        assert!(parse_int("_1").is_err());
        assert!(parse_int("").is_err());
        assert!(parse_int("0x").is_err());
        assert_eq!(parse_int("0"), Ok(0));
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
            parse_float("1e400").unwrap_err(),
            "strconv.ParseFloat: parsing \"1e400\": value out of range"
        );
    }
}
