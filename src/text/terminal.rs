//! Text for a terminal: control characters made visible, and columns padded by hand.

use std::borrow::Cow;
use std::fmt::{self, Write};

/// The text with control characters (C0, DEL, C1: ESC, CR, BEL, OSC and CSI introducers), line
/// and paragraph separators, bidi controls and the BOM replaced by visible escapes (`\n`, `\r`,
/// `\t`, `\x1b`, `\u{202e}`). Everything else is kept, so a name is shown on one line, as it is,
/// and cannot move the cursor, clear the screen, write the clipboard (OSC 52), forge a line of
/// output or reorder the text around it.
pub fn visible(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_visible) {
        return Cow::Borrowed(s);
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
    Cow::Owned(out)
}

fn needs_visible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}' | '\u{feff}'
        )
}

/// One line of human-readable output, with every control character of the formatted text made
/// visible (see [`visible`]), then a newline. Lines of tables and notes go through here whole, so
/// a name inside them cannot end the line early or drive the terminal; the fixed text around the
/// names holds no control characters, so it is written unchanged.
pub(crate) fn write_visible_line(
    out: &mut (impl std::io::Write + ?Sized),
    args: fmt::Arguments<'_>,
) -> std::io::Result<()> {
    let line = args.to_string();
    out.write_all(visible(&line).as_bytes())?;
    out.write_all(b"\n")
}

/// `writeln!` through [`write_visible_line`]: `writeln_visible!(out, "role {}", name)?`.
macro_rules! writeln_visible {
    ($out:expr, $($arg:tt)*) => {
        $crate::text::terminal::write_visible_line($out, format_args!($($arg)*))
    };
}
pub(crate) use writeln_visible;

/// The widest a table column grows. A longer cell (a path of 100,000 characters is a valid KV
/// key) is printed whole and pushes the rest of its own row to the right; the other rows stay
/// aligned with each other. Nothing is cut: the table is the only place the full value is shown.
pub(crate) const MAX_COLUMN: usize = 120;

/// The width of a column holding these cells (in characters, as [`pad`] counts), at least `min`
/// and at most `MAX_COLUMN` (unless `min` is larger).
pub fn column_width<I, S>(cells: I, min: usize) -> usize
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    cells
        .into_iter()
        .map(|c| c.as_ref().chars().count().min(MAX_COLUMN))
        .max()
        .unwrap_or(0)
        .max(min)
}

/// A cell left-aligned in `width` characters: the text, then spaces up to the width (none when
/// the text is longer). Unlike `{:width$}`, any width and any length are fine.
pub fn pad(text: &str, width: usize) -> Padded<'_> {
    Padded { text, width }
}

/// See [`pad`].
pub struct Padded<'a> {
    text: &'a str,
    width: usize,
}

impl fmt::Display for Padded<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text)?;
        let len = self.text.chars().count();
        for _ in len..self.width {
            f.write_char(' ')?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_controls() {
        assert_eq!(visible("a\u{7}b"), "a\\x07b");
        assert_eq!(visible("plain"), "plain");
        assert_eq!(visible("\u{1b}]52;c;eA==\u{7}"), "\\x1b]52;c;eA==\\x07");
        assert_eq!(visible("a\rCRITICAL\u{7f}\u{9b}"), "a\\rCRITICAL\\x7f\\x9b");
        assert_eq!(visible("x\u{202e}y\u{2066}"), "x\\u{202e}y\\u{2066}");
    }

    #[test]
    fn padding_by_hand() {
        assert_eq!(pad("ab", 4).to_string(), "ab  ");
        assert_eq!(pad("abcdef", 4).to_string(), "abcdef");
        assert_eq!(pad("é", 3).to_string(), "é  ");
        let long = "k".repeat(70_000);
        assert_eq!(pad(&long, 70_001).to_string().len(), 70_001);
        assert_eq!(column_width([long.as_str(), "ab"], 4), MAX_COLUMN);
        assert_eq!(column_width(Vec::<String>::new(), 4), 4);
    }
}
