//! HCL error messages and positions, exactly as hcl1 reports them.

use super::*;

#[test]
fn unclosed_constructs() {
    assert_eq!(err("a = \"unterminated"), "At 1:18: literal not terminated");
    assert_eq!(
        err("path \"x\" {\n  capabilities = [\"read\"]\n"),
        "At 3:2: object expected closing RBRACE got: EOF"
    );
    assert_eq!(
        err("path \"x\" {\n  capabilities = [\"read\"\n}"),
        "At 3:1: error parsing list, expected comma or list end, got: RBRACE"
    );
    assert_eq!(err("/* x"), "At 1:5: comment not terminated");
    assert_eq!(err("a = \"multi\nline\""), "At 2:6: literal not terminated");
    assert_eq!(err("a = <<EOF\nbar\nEOF"), "At 3:4: heredoc not terminated");
    // `<<-EOF` needs its closing anchor line to be at least as long as `-EOF`.
    assert_eq!(
        err("foo = <<-EOF\n  bar\nEOF\n"),
        "At 4:1: heredoc not terminated"
    );
}

#[test]
fn unexpected_tokens() {
    assert_eq!(
        err("a { b }"),
        "At 1:7: key 'b' expected start of object ('{') or assignment ('=')"
    );
    assert_eq!(
        err("a"),
        "At 1:3: key 'a' expected start of object ('{') or assignment ('=')"
    );
    assert_eq!(
        err("a = 1 }"),
        "At 1:7: expected: IDENT | STRING | ASSIGN | LBRACE got: RBRACE"
    );
    assert_eq!(
        err("foo bar = 1"),
        "At 1:9: nested object expected: LBRACE got: ASSIGN"
    );
    assert_eq!(err("= 1"), "At 1:1: no object keys found!");
    assert_eq!(
        err("a = 1\n  {}"),
        "At 2:3: expected: IDENT | STRING got: LBRACE"
    );
    assert_eq!(err("a = b"), "At 1:5: Unknown token: 1:5 IDENT b");
    assert_eq!(
        err("a = [1 2]"),
        "At 1:8: error parsing list, expected comma or list end, got: NUMBER"
    );
    assert_eq!(
        err("a = [{b = }]"),
        "At 1:6: error while trying to parse object within list: At 1:11: Unknown token: 1:11 RBRACE }"
    );
    assert_eq!(
        err("a = [[}]"),
        "At 1:6: error while trying to parse list within list: At 1:7: unexpected token while parsing list: RBRACE"
    );
    assert_eq!(
        err("\"a\" \"b\" = 1"),
        "At 1:9: nested object expected: LBRACE got: ASSIGN"
    );
}

#[test]
fn bad_characters_and_literals() {
    assert_eq!(err("a @ 1"), "At 1:3: illegal char");
    assert_eq!(err("a = 1 / 2"), "At 1:7: expected '/' for comment");
    assert_eq!(err("a = 008"), "At 1:8: illegal octal number");
    assert_eq!(err("a = 0x"), "At 1:7: illegal hexadecimal number");
    assert_eq!(err("a = \"\\z\""), "At 1:7: illegal char escape");
    // A NUL reads as the end of input: the string is then unterminated (hcl1 keeps the last error).
    assert_eq!(err("a = \"\u{0}\""), "At 1:8: literal not terminated");
    assert_eq!(
        err("a = \"\u{E123}\""),
        "At 1:6: unicode code point U+E123 reserved for internal use"
    );
    // hcl1 scans `.5e3` as `.5e` then `3`, so this is a stray number.
    assert_eq!(
        err("a = .5e3"),
        "At 1:8: expected: IDENT | STRING | ASSIGN | LBRACE got: NUMBER"
    );
    assert_eq!(err("a = <<\nx\n"), "At 1:7: zero-length heredoc anchor");
    assert_eq!(
        err("a = <<EOF x\n"),
        "At 1:10: invalid characters in heredoc anchor"
    );
    assert_eq!(
        err("a = < 1"),
        "At 1:6: heredoc expected second '<', didn't see it"
    );
}

#[test]
fn error_accessors() {
    let err = parse("a = \"x").unwrap_err();
    assert_eq!((err.line(), err.column()), (1, 7));
    assert_eq!(err.message, "literal not terminated");
    assert_eq!(err.style, ErrorStyle::Hcl);
}

#[test]
fn scanner_errors_win_over_parser_errors() {
    // hcl1 reads one token past each item (and each list comma) before the parser notices
    // anything, and a scanner error there is what it returns.
    assert_eq!(err("a = 1 \"open"), "At 1:12: literal not terminated");
    assert_eq!(err("a = [1, \"open"), "At 1:14: literal not terminated");
    // The parser stops at `}` before the string is scanned.
    assert_eq!(err("a = } \"open"), "At 1:5: Unknown token: 1:5 RBRACE }");
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("a = {}", "[".repeat(MAX_DEPTH + 10));
    assert!(parse(&deep).is_err());
    let deep = format!("a = {}", "{ b = ".repeat(MAX_DEPTH + 10));
    assert!(parse(&deep).is_err());
    let deep = "{\"a\": ".repeat(MAX_DEPTH + 10);
    assert!(parse(&deep).is_err());
    // Within the limit, parsing, flattening and decoding fit in a small thread stack.
    let depth = MAX_DEPTH - 1;
    let inputs = [
        format!("a = {}1{}", "[".repeat(depth), "]".repeat(depth)),
        format!("a = {}1{}", "{ b = ".repeat(depth), "}".repeat(depth)),
        format!("{}1{}", "{\"a\": ".repeat(depth), "}".repeat(depth)),
        format!(
            "{{\"a\": {}{{}}{}}}",
            "[{\"b\": ".repeat(depth / 2),
            "}]".repeat(depth / 2)
        ),
    ];
    for src in inputs {
        let handle = std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(move || {
                let list = parse(&src).expect("parses");
                let mut value = Value::Nil;
                let _ = decode_object(DNode::List(&list), &mut value);
                list.items.len()
            })
            .unwrap();
        assert_eq!(handle.join().unwrap(), 1);
    }
}

#[test]
fn scanner_never_misuses_unread() {
    // hcl1's HCL scanner always has a character to push back; check the port agrees.
    for src in [
        "a = 1",
        "a = 0x1F b = 017",
        "a = \"\\u00e9\\x41\" # c\n",
        "a = <<EOF\nx\nEOF\n",
        "x = 1.5e3 // c",
    ] {
        let mut lexer = scanner::Scanner::new(src);
        while lexer.scan().typ != scanner::TokenType::Eof {}
        assert_eq!(lexer.unread_misses(), 0, "{src}");
    }
}
