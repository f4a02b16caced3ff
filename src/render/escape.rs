//! Escaping of every name that reaches a diagram or the report.
//!
//! Names come from the estate (policies, groups, roles, secret keys, teams, pipelines) and
//! OpenBao accepts almost anything in them: quotes, braces, `<`, backslashes, newlines, HTML. They
//! pass through two steps:
//!
//! 1. [`visible`]: control characters and bidirectional overrides become visible escapes (`\n`,
//!    `\x07`, `\u{202e}`), so a name is shown on one line, as it is, and cannot reorder or hide
//!    the text around it.
//! 2. The target syntax: [`dot_id`] / [`dot_label`] quote for DOT (graphviz-rust prints ids
//!    verbatim, it escapes nothing), [`html`] for the report.
//!
//! In DOT, a quoted string only unescapes `\"`, but Graphviz then applies its own escapes to
//! labels and tooltips (`\N`, `\G`, `\l`, `\n`, …) and decodes HTML entities (`&amp;`). A label
//! therefore escapes `\` as `\\` (Graphviz turns it back into one backslash), `"` as `\"` and `&`
//! as `&amp;`; lines are joined with `\n` only after escaping. Labels are never HTML-like
//! (`<…>`) and no record shapes are used, so `<`, `>`, `{`, `}` and `|` carry no meaning.

use std::fmt::Write;

/// The name with control characters, line and paragraph separators and bidi controls replaced
/// by visible escapes. Everything else is kept.
pub fn visible(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(needs_visible) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !needs_visible(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
        }
    }
    std::borrow::Cow::Owned(out)
}

fn needs_visible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}' | '\u{feff}'
        )
}

fn dot_escape_into(out: &mut String, s: &str, label: bool) {
    for c in visible(s).chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '&' if label => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
}

/// A DOT id (node or cluster name), quoted. Ids are never shown as text (every node has a
/// label), so only the DOT lexer's rules apply.
pub fn dot_id(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    dot_escape_into(&mut out, s, false);
    out.push('"');
    out
}

/// A DOT label (or tooltip) of one or more lines, quoted and escaped for Graphviz's label
/// processing. Each line is escaped on its own; lines are joined with Graphviz's `\n`.
pub fn dot_label<S: AsRef<str>>(lines: &[S]) -> String {
    let mut out = String::from("\"");
    for (i, l) in lines.iter().enumerate() {
        if i > 0 {
            out.push_str("\\n");
        }
        dot_escape_into(&mut out, l.as_ref(), true);
    }
    out.push('"');
    out
}

/// A fixed DOT value (a colour, a shape, a number): quoted, escaped like an id.
pub fn dot_value(s: &str) -> String {
    dot_id(s)
}

/// HTML text or attribute value: `& < > " '` escaped, after [`visible`].
pub fn html(s: &str) -> String {
    let v = visible(s);
    let mut out = String::with_capacity(v.len() + 8);
    for c in v.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A name shortened to `max` characters (with `…`), for labels of crowded diagrams. The full
/// name stays in the tooltip.
pub fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let keep = max.saturating_sub(1);
    let head = keep / 3;
    let tail = keep - head;
    let chars: Vec<char> = s.chars().collect();
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// A stable 64-bit FNV-1a hash, for ids that must not change between runs.
pub fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_escapes() {
        assert_eq!(dot_id("a\"b"), r#""a\"b""#);
        assert_eq!(dot_id("a\\"), r#""a\\""#);
        assert_eq!(dot_id("x\ny"), r#""x\\ny""#);
        assert_eq!(dot_label(&["a&b", "c\\N"]), r#""a&amp;b\nc\\N""#);
        assert_eq!(dot_label(&["<b>{x}</b>"]), r#""<b>{x}</b>""#);
    }

    #[test]
    fn html_escapes() {
        assert_eq!(
            html("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
        assert_eq!(html("a\u{202e}b\n"), "a\\u{202e}b\\n");
    }

    #[test]
    fn visible_controls() {
        assert_eq!(visible("a\u{7}b"), "a\\x07b");
        assert_eq!(visible("plain"), "plain");
    }

    #[test]
    fn shortening() {
        assert_eq!(shorten("abcdef", 10), "abcdef");
        let s = shorten("secret/data/payments/very/long/path/name", 20);
        assert_eq!(s.chars().count(), 20);
        assert!(s.contains('…'));
    }
}
