//! DOT ids, labels and tooltips.
//!
//! graphviz-rust prints ids verbatim (it escapes nothing), so every name is quoted here. In DOT,
//! a quoted string only unescapes `\"`, but Graphviz then applies its own escapes to labels and
//! tooltips (`\N`, `\G`, `\l`, `\n`, …) and decodes HTML entities (`&amp;`). A label therefore
//! escapes `\` as `\\` (Graphviz turns it back into one backslash), `"` as `\"` and `&` as
//! `&amp;`, after [`visible`]; lines are joined with `\n` only after escaping. Labels are never
//! HTML-like (`<…>`) and no record shapes are used, so `<`, `>`, `{`, `}` and `|` carry no
//! meaning.
//!
//! Graphviz refuses a whole graph when one quoted string is longer than 16,384 bytes, and a KV
//! key may be longer than that. Labels and tooltips are therefore shortened here, keeping both
//! ends readable (the full name stays in the report's HTML tables), and an over-long id is
//! replaced by its shortened form plus a hash of the full name, so ids stay distinct.

use super::terminal::visible;

/// Longest line of a label or tooltip, in characters after [`visible`]. An escaped character
/// takes at most five bytes (`&amp;`), so a full label stays far below Graphviz's limit.
pub(crate) const DOT_LINE_MAX: usize = 512;
/// Most characters of all lines of one label or tooltip together.
pub(crate) const DOT_LABEL_MAX: usize = 2048;
/// Longest id kept as it is, in characters after [`visible`].
pub(crate) const DOT_ID_MAX: usize = 1024;

fn dot_escape_into(out: &mut String, shown: &str, label: bool) {
    for c in shown.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '&' if label => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
}

/// A DOT id (node or cluster name), quoted. Ids are never shown as text (every node has a
/// label), so only the DOT lexer's rules apply. An id longer than `DOT_ID_MAX` becomes its
/// shortened form and the hash of the whole name.
pub fn dot_id(s: &str) -> String {
    let shown = visible(s);
    let mut out = String::with_capacity(shown.len().min(DOT_ID_MAX * 2) + 20);
    out.push('"');
    if shown.chars().count() > DOT_ID_MAX {
        let short = format!("{}#{:016x}", shorten(&shown, DOT_ID_MAX), fnv(s));
        dot_escape_into(&mut out, &short, false);
    } else {
        dot_escape_into(&mut out, &shown, false);
    }
    out.push('"');
    out
}

/// A DOT label (or tooltip) of one or more lines, quoted and escaped for Graphviz's label
/// processing. Each line is escaped on its own (and shortened to `DOT_LINE_MAX`); lines are
/// joined with Graphviz's `\n`; lines past `DOT_LABEL_MAX` characters are left out and
/// counted.
pub fn dot_label<S: AsRef<str>>(lines: &[S]) -> String {
    let mut out = String::from("\"");
    let mut budget = DOT_LABEL_MAX;
    for (i, l) in lines.iter().enumerate() {
        let shown = shorten(&visible(l.as_ref()), DOT_LINE_MAX);
        let len = shown.chars().count();
        if i > 0 && len > budget {
            out.push_str(&format!("\\n… and {} more lines", lines.len() - i));
            break;
        }
        budget = budget.saturating_sub(len);
        if i > 0 {
            out.push_str("\\n");
        }
        dot_escape_into(&mut out, &shown, true);
    }
    out.push('"');
    out
}

/// A fixed DOT value (a colour, a shape, a number): quoted, escaped like an id.
pub fn dot_value(s: &str) -> String {
    dot_id(s)
}

/// A name shortened to `max` characters (with `…`), keeping its beginning and its end (a third
/// and two thirds: the end of a path names the secret), for labels of crowded diagrams. The full
/// name stays in the tooltip.
pub fn shorten(s: &str, max: usize) -> String {
    let count = s.chars().count();
    if count <= max {
        return s.to_string();
    }
    let keep = max.saturating_sub(1);
    let head = keep / 3;
    let tail = keep - head;
    let mut out: String = s.chars().take(head).collect();
    out.push('…');
    out.extend(s.chars().skip(count - tail));
    out
}

/// A stable 64-bit FNV-1a hash, for ids that must not change between runs.
pub fn fnv(s: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
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
    fn shortening() {
        assert_eq!(shorten("abcdef", 10), "abcdef");
        let short = shorten("secret/data/payments/very/long/path/name", 20);
        assert_eq!(short.chars().count(), 20);
        assert!(short.contains('…'));
        assert!(short.ends_with("path/name"));
    }

    #[test]
    fn long_names_stay_under_graphviz_limit() {
        let key = format!("secret/data/{}end", "&".repeat(40_000));
        let label = dot_label(&[key.as_str(), key.as_str(), key.as_str(), key.as_str(), &key]);
        assert!(label.len() < 16_384, "{}", label.len());
        assert!(label.contains("end"));
        assert!(label.contains("more lines"));
        let id = dot_id(&key);
        assert!(id.len() < 16_384);
        assert_ne!(id, dot_id(&format!("{key}x")));
        assert!(dot_label(&["\u{1}".repeat(30_000)]).len() < 16_384);
    }
}
