//! JSON policies: detection, flattening, duplicate keys and hcl1's JSON leniencies.

use super::*;

#[test]
fn detection_follows_hclutil() {
    // Leading whitespace (Unicode too, as Go's TrimSpace) before `{` selects JSON.
    assert!(parse("  \n{}").unwrap().items.is_empty());
    // JSON's own scanner does not skip U+00A0, so this is a JSON scanner error.
    assert_eq!(err("\u{a0}{}"), "1:1: illegal char: \u{a0}");
    // Anything else is HCL: `{}` in HCL is an error, so this proves the dispatch.
    assert_eq!(
        err("a = {}\n{}"),
        "At 2:1: expected: IDENT | STRING got: LBRACE"
    );
}

#[test]
fn single_path_flattens_into_labelled_block() {
    let list = p(r#"{"path": {"secret/sample": {"capabilities": ["read"]}}}"#);
    assert_eq!(list.items.len(), 1);
    let item = &list.items[0];
    assert_eq!(keys(item), ["path", "secret/sample"]);
    // JSON keys and values carry no position in hcl1; the colon does.
    assert_eq!(item.keys[0].pos, Pos::default());
    assert_eq!(
        item.assign,
        Some(Pos {
            offset: 7,
            line: 1,
            column: 8
        })
    );
    let block = body(item);
    assert_eq!(keys(&block.items[0]), ["capabilities"]);
    assert_eq!(strings(&block.items[0].val), ["read"]);
}

#[test]
fn several_paths() {
    let src = r#"{
  "path": {
    "secret/a": {"capabilities": ["read"]},
    "secret/b": {"capabilities": ["list", "update"], "allowed_parameters": {"foo": [], "bar": ["x"]}}
  },
  "name": "n"
}"#;
    let list = p(src);
    assert_eq!(list.items.len(), 3);
    assert_eq!(keys(&list.items[0]), ["path", "secret/a"]);
    assert_eq!(keys(&list.items[1]), ["path", "secret/b"]);
    assert_eq!(keys(&list.items[2]), ["name"]);
    // Inside secret/b, allowed_parameters stays one item: its values are lists, not objects.
    let block = body(&list.items[1]);
    assert_eq!(keys(&block.items[1]), ["allowed_parameters"]);
    assert_eq!(body(&block.items[1]).items.len(), 2);
}

#[test]
fn arrays_of_objects_flatten_to_repeated_items() {
    let list = p(r#"{"path": [{"a": {"policy": "read"}}, {"b": {"policy": "deny"}}]}"#);
    assert_eq!(list.items.len(), 2);
    assert_eq!(keys(&list.items[0]), ["path", "a"]);
    assert_eq!(keys(&list.items[1]), ["path", "b"]);
}

#[test]
fn objects_of_only_objects_flatten_further() {
    // hcl1 flattens any object whose entries are all objects: a path body holding only
    // allowed_parameters becomes a three-key item (which Vault then rejects).
    let list = p(r#"{"path": {"secret/a": {"allowed_parameters": {"foo": []}}}}"#);
    assert_eq!(
        keys(&list.items[0]),
        ["path", "secret/a", "allowed_parameters"]
    );
    assert_eq!(keys(&body(&list.items[0]).items[0]), ["foo"]);
    // Empty objects and lists are left alone.
    let list = p(r#"{"a": {}, "b": [], "c": {"d": {}}}"#);
    assert_eq!(list.items.len(), 3);
    assert_eq!(keys(&list.items[2]), ["c", "d"]);
}

#[test]
fn duplicate_keys_are_kept_in_order() {
    let list = p(
        r#"{"a": 1, "a": 2, "path": {"x": {"policy": "read"}}, "path": {"x": {"policy": "write"}}}"#,
    );
    assert_eq!(list.items.len(), 4);
    assert_eq!(lit(&list.items[0].val), &LiteralKind::Number("1".into()));
    assert_eq!(lit(&list.items[1].val), &LiteralKind::Number("2".into()));
    assert_eq!(keys(&list.items[3]), ["path", "x"]);
}

#[test]
fn literals() {
    let list = p(
        r#"{"i": -12, "f": 1.5e3, "t": true, "n": null, "s": "a\"b\u00e9", "x": "${foo(\"y\")}"}"#,
    );
    use LiteralKind::*;
    assert_eq!(lit(&list.items[0].val), &Number("-12".into()));
    assert_eq!(lit(&list.items[1].val), &Float("1.5e3".into()));
    assert_eq!(lit(&list.items[2].val), &Bool(true));
    // null is an empty string, with empty token text, as in hcl1.
    let Node::Literal(null) = &list.items[3].val else {
        panic!()
    };
    assert_eq!((&null.kind, null.text.as_str()), (&s(""), ""));
    assert_eq!(lit(&list.items[4].val), &s("a\"bé"));
    // JSON strings are unquoted with Go's strconv: escapes inside ${} are processed.
    assert_eq!(lit(&list.items[5].val), &s("${foo(\"y\")}"));
    // A lone surrogate cannot be unquoted by Go's strconv (hcl1 would panic on use).
    let list = p(r#"{"a": "\ud800"}"#);
    let Node::Literal(bad) = &list.items[0].val else {
        panic!()
    };
    assert!(bad.value_error.is_some());
}

#[test]
fn array_quirks() {
    // Booleans in arrays are dropped; nested arrays' brackets are skipped.
    let list = p(r#"{"a": ["x", true, 1, 2.5]}"#);
    let Node::ListType(a) = &list.items[0].val else {
        panic!()
    };
    assert_eq!(a.items.len(), 3);
    let list = p(r#"{"a": [["x", "y"]]}"#);
    assert_eq!(strings(&list.items[0].val), ["x", "y"]);
    assert_eq!(
        err(r#"{"a": ["x", null]}"#),
        "unexpected token while parsing list: NULL"
    );
}

#[test]
fn lenient_object_endings() {
    // Unclosed, trailing text, a missing comma, an entry cut short by `}`: all as hcl1.
    assert_eq!(p(r#"{"a": 1"#).items.len(), 1);
    assert_eq!(p(r#"{"a": 1} trailing garbage"#).items.len(), 1);
    assert_eq!(p(r#"{"a": 1 "b": 2}"#).items.len(), 1);
    assert_eq!(p(r#"{"a": 1, "b": }"#).items.len(), 1);
    assert_eq!(p(r#"{"a": 1,}"#).items.len(), 1);
    assert_eq!(p("{").items.len(), 0);
    // Several keys before a colon make a multi-key item.
    assert_eq!(keys(&p(r#"{"a" "b": 1}"#).items[0]), ["a", "b"]);
}

#[test]
fn json_errors() {
    assert_eq!(err("{:}"), "expected: STRING got: COLON");
    assert_eq!(err("{{}}"), "expected: STRING got: LBRACE");
    assert_eq!(err(r#"{"a": 01}"#), "1:8: numbers cannot start with 0");
    assert_eq!(err(r#"{"a": nul}"#), "1:9: illegal char");
    assert_eq!(err(r#"{"a": -}"#), "1:7: illegal char");
    assert_eq!(err("{\"a\": @}"), "1:7: illegal char: @");
    assert_eq!(
        err(r#"{"a": ]}"#),
        "Expected object value, got unknown token: 1:7 RBRACK ]"
    );
    // The newline ends the string with an error, then `y` is scanned: the last error wins.
    assert_eq!(err("{\"a\": \"x\ny\"}"), "2:1: illegal char");
    assert_eq!(
        err(r#"{"a": [["x"], "y"], "b": 1}"#),
        "expected: STRING got: RBRACK"
    );
    // Plain (unpositioned) errors still carry the offending token's position.
    let plain_err = parse(r#"{"a": ]}"#).unwrap_err();
    assert_eq!(
        (plain_err.line(), plain_err.column(), plain_err.style),
        (1, 7, ErrorStyle::Plain)
    );
    // A truncated escape makes hcl1 panic; here it is an error.
    assert_eq!(err(r#"{"a": "\u00"#), "1:13: literal not terminated");
    assert_eq!(parse_json("").unwrap_err().to_string(), "EOF token found");
}
