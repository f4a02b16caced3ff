//! CSV cells (RFC 4180), for the graph's bulk-import files.

use std::borrow::Cow;

use super::terminal::visible;

/// One CSV cell: control characters shown as escapes (so a cell never spans lines and
/// `cat` of the file cannot drive a terminal), a leading `=`, `+`, `-` or `@` prefixed with `'`
/// (so a spreadsheet opening the file never evaluates data as a formula), and the cell quoted
/// when it holds a comma, a quote or leading or trailing spaces.
pub fn cell(s: &str) -> Cow<'_, str> {
    let shown = visible(s);
    let neutral: Cow<'_, str> = if shown.starts_with(['=', '+', '-', '@']) {
        Cow::Owned(format!("'{shown}"))
    } else {
        shown
    };
    let needs_quotes =
        neutral.contains([',', '"']) || neutral.starts_with(' ') || neutral.ends_with(' ');
    if needs_quotes {
        Cow::Owned(format!("\"{}\"", neutral.replace('"', "\"\"")))
    } else {
        neutral
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_inert_and_quoted() {
        assert_eq!(cell("plain/path"), "plain/path");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("-rm"), "'-rm");
        assert_eq!(cell("line\nbreak\x1b[31m"), "line\\nbreak\\x1b[31m");
        assert_eq!(cell(" padded"), "\" padded\"");
    }
}
