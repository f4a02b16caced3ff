//! A file name as one POSIX shell word, for the commands blastmap prints for the user to copy
//! (`blastmap scan`'s next steps). A name made only of characters no shell treats specially is
//! shown as is; any other is single-quoted, the one quoting in which nothing but `'` itself is
//! special. Control characters are then shown as escapes by [`visible`](super::visible), so a
//! pasted line cannot carry a hidden newline; such a name is shown, not made pasteable.

use std::borrow::Cow;

/// `text` as one shell word: unchanged when it is plain, else in single quotes with each `'`
/// written as `'\''`.
pub fn shell_word(text: &str) -> Cow<'_, str> {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:@%+=,-".contains(c));
    if plain {
        return Cow::Borrowed(text);
    }
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('\'');
    for c in text.chars() {
        if c == '\'' {
            quoted.push_str("'\\''");
        } else {
            quoted.push(c);
        }
    }
    quoted.push('\'');
    Cow::Owned(quoted)
}

#[cfg(test)]
mod tests {
    use super::shell_word;

    #[test]
    fn plain_names_stay_and_others_are_single_quoted() {
        assert_eq!(shell_word("out/snapshot.json"), "out/snapshot.json");
        assert_eq!(shell_word("my scan/x.json"), "'my scan/x.json'");
        assert_eq!(shell_word("$(rm -rf ~)"), "'$(rm -rf ~)'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word(""), "''");
        assert_eq!(shell_word("-rf"), "-rf");
    }

    #[test]
    fn a_quoted_word_is_read_back_by_sh_as_the_same_text() {
        for name in [
            "a b", "it's", "$HOME", "`id`", "x;y|z&", "*?[a]", "~user", "\"q\"",
        ] {
            let word = shell_word(name);
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {word}"))
                .output()
                .expect("sh");
            assert_eq!(String::from_utf8_lossy(&out.stdout), name, "{word}");
        }
    }
}
