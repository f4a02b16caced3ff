//! A file path as a URI reference (RFC 3986), for SARIF artifact locations.

use std::fmt::Write;

/// The path as a relative (or absolute-path) URI reference: `\` becomes `/`, a leading `./` is
/// dropped, and every byte of its UTF-8 text other than an unreserved character
/// (`A-Z a-z 0-9 - . _ ~`) or `/` is percent-encoded (`%20`, `%23`, `%25`, `%3F`, `%C3%A9`,
/// `%0A`). Encoding `:` too keeps a first segment such as `c:` from reading as a scheme.
pub fn path_reference(path: &str) -> String {
    let repo_path = repository_path(path);
    let mut out = String::with_capacity(repo_path.len());
    for b in repo_path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The path as a report names a file of the repository: `\` becomes `/` and a leading `./` is
/// dropped (SARIF's URI references and GitLab's report locations both start from it).
pub fn repository_path(path: &str) -> String {
    let normalised = path.replace('\\', "/");
    match normalised.strip_prefix("./") {
        Some(rest) => rest.to_string(),
        None => normalised,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding() {
        assert_eq!(path_reference("./snap.json"), "snap.json");
        assert_eq!(path_reference("a b/#1%?.json"), "a%20b/%231%25%3F.json");
        assert_eq!(path_reference("é\n\u{1b}"), "%C3%A9%0A%1B");
        assert_eq!(path_reference("dir\\f.yml"), "dir/f.yml");
        assert_eq!(path_reference("c:/x"), "c%3A/x");
    }
}
