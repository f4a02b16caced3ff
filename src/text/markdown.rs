//! Text from data in Markdown for pull-request comments (GitHub- and GitLab-flavoured).
//!
//! The one scheme: every data-derived value is an inline code span, and a multi-line document
//! (JSON evidence) is a fenced code block. Inside code, CommonMark, GFM and GLFM recognise no
//! link, image, raw HTML, emphasis or entity, and GitHub's and GitLab's reference filters (`@user`
//! mentions, `#123` issues, `!123` merge requests, `:emoji:`) skip code. So that a value cannot
//! leave its span:
//!
//! * [`visible`] first: a newline, a carriage return or any other control character cannot end
//!   the line (a table row, a list item) or start a new block; it is shown as `\n`, `\x1b`, ….
//! * The fence is one backtick longer than the longest run of backticks in the value. A value
//!   that starts or ends with a backtick, or both starts and ends with a space, or is empty, is
//!   padded with one space on each side: CommonMark strips exactly one on each side in those
//!   cases, so the value is shown as it is. Other values are not padded, so the comment stays
//!   readable.
//! * In a table cell ([`cell`]), `|` is written `\|`: GFM splits rows on unescaped pipes before
//!   it parses code spans, then turns `\|` back into `|` (also inside code), and only `\|` is an
//!   escape at that stage, so the value is shown exactly.

use super::terminal::visible;

/// The value as an inline code span (outside tables).
pub fn code(s: &str) -> String {
    span(&visible(s), false)
}

/// The value as an inline code span in a GFM table cell.
pub fn cell(s: &str) -> String {
    span(&visible(s), true)
}

/// A fenced code block (with an info string such as `json`) holding `body` verbatim. The fence
/// is longer than any backtick run in the body, so no line of the body can close it. The body
/// is shown as it is, so the caller gives text without raw control characters (JSON escapes
/// them).
pub(crate) fn fenced(info: &str, body: &str) -> String {
    let fence = "`".repeat(longest_backtick_run(body).max(2) + 1);
    let mut out = String::with_capacity(body.len() + 2 * fence.len() + info.len() + 3);
    out.push_str(&fence);
    out.push_str(info);
    out.push('\n');
    out.push_str(body);
    if !body.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&fence);
    out
}

fn span(shown: &str, in_table: bool) -> String {
    let fence = "`".repeat(longest_backtick_run(shown) + 1);
    let pad = needs_padding(shown);
    let mut out = String::with_capacity(shown.len() + 2 * fence.len() + 2);
    out.push_str(&fence);
    if pad {
        out.push(' ');
    }
    for c in shown.chars() {
        if in_table && c == '|' {
            out.push('\\');
        }
        out.push(c);
    }
    if pad {
        out.push(' ');
    }
    out.push_str(&fence);
    out
}

/// Whether CommonMark would strip or merge an edge of the span's content without padding: a
/// backtick at an edge would join the fence, and a space at both edges would be stripped.
fn needs_padding(shown: &str) -> bool {
    shown.is_empty()
        || shown.starts_with('`')
        || shown.ends_with('`')
        || (shown.starts_with(' ') && shown.ends_with(' '))
}

fn longest_backtick_run(s: &str) -> usize {
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans() {
        assert_eq!(code("policy"), "`policy`");
        assert_eq!(code("a`b``c"), "```a`b``c```");
        assert_eq!(code("`x`"), "`` `x` ``");
        assert_eq!(code(" x "), "`  x  `");
        assert_eq!(code(" x"), "` x`");
        assert_eq!(code("a\nb\u{1b}"), "`a\\nb\\x1b`");
        assert_eq!(cell("a|b"), "`a\\|b`");
        assert_eq!(code(""), "`  `");
    }

    #[test]
    fn fences() {
        assert_eq!(fenced("json", "{}"), "```json\n{}\n```");
        assert_eq!(fenced("", "a ```` b\n"), "`````\na ```` b\n`````");
    }
}
