//! HCL syntax: every construct Vault policies use, and hcl1's leniencies.

use super::*;

#[test]
fn vault_one_line_policy() {
    let list = p(
        r#"path "secret/*" { capabilities = ["read", "list"] allowed_parameters = { "foo" = [] } }"#,
    );
    assert_eq!(list.items.len(), 1);
    let path = &list.items[0];
    assert_eq!(keys(path), ["path", "secret/*"]);
    assert!(!path.keys[0].quoted);
    assert!(path.keys[1].quoted);
    assert_eq!(path.keys[1].text, "\"secret/*\"");
    assert_eq!(path.assign, None);
    let block = body(path);
    assert_eq!(block.items.len(), 2);
    assert_eq!(keys(&block.items[0]), ["capabilities"]);
    assert_eq!(strings(&block.items[0].val), ["read", "list"]);
    assert_eq!(keys(&block.items[1]), ["allowed_parameters"]);
    let params = body(&block.items[1]);
    assert_eq!(keys(&params.items[0]), ["foo"]);
    assert!(matches!(&params.items[0].val, Node::ListType(list) if list.items.is_empty()));
}

#[test]
fn comma_separated_attributes() {
    let list = p(r#"path "secret/*" { capabilities = ["read"], policy = "read" }"#);
    let block = body(&list.items[0]);
    assert_eq!(block.items.len(), 2);
    assert_eq!(lit(&block.items[1].val), &s("read"));
    // Commas between top-level items and a trailing comma in an object are accepted too.
    let list = p("a = 1, b = 2,\nc { d = 3, }");
    assert_eq!(list.items.len(), 3);
}

#[test]
fn block_without_assignment() {
    let list = p(r#"path "x" { allowed_parameters { "foo" = [] "bar" = ["a"] } }"#);
    let allowed = &body(&list.items[0]).items[0];
    assert_eq!(keys(allowed), ["allowed_parameters"]);
    assert_eq!(allowed.assign, None);
    let inner = body(allowed);
    assert_eq!(keys(&inner.items[0]), ["foo"]);
    assert_eq!(strings(&inner.items[1].val), ["a"]);
}

#[test]
fn several_blocks_on_one_line() {
    let list = p(r#"path "a" { policy = "read" } path "b" { policy = "write" } name = "n""#);
    assert_eq!(list.items.len(), 3);
    assert_eq!(keys(&list.items[1]), ["path", "b"]);
    assert_eq!(keys(&list.items[2]), ["name"]);
}

#[test]
fn block_forms_and_labels() {
    let list = p("a = 1\nb { }\nc \"l1\" { }\nd \"l1\" \"l2\" { x = 1 }\ne l1 { }");
    assert_eq!(keys(&list.items[0]), ["a"]);
    assert!(list.items[0].assign.is_some());
    assert_eq!(keys(&list.items[1]), ["b"]);
    assert_eq!(keys(&list.items[2]), ["c", "l1"]);
    assert_eq!(keys(&list.items[3]), ["d", "l1", "l2"]);
    // Identifiers can be labels too.
    assert_eq!(keys(&list.items[4]), ["e", "l1"]);
    assert!(!list.items[4].keys[1].quoted);
}

#[test]
fn comments() {
    let src =
        "# hash\n// slashes\n/* block\n comment */ a = 1 # trailing\nb = /* inline */ 2 // end";
    let list = p(src);
    assert_eq!(list.items.len(), 2);
    assert_eq!(lit(&list.items[1].val), &LiteralKind::Number("2".into()));
    // A comment on the last line without a newline.
    assert_eq!(p("a = 1 # x").items.len(), 1);
    assert_eq!(p("# only a comment").items.len(), 0);
    assert_eq!(p("").items.len(), 0);
}

#[test]
fn identifiers() {
    let list = p("a.b-c_d = 1\n_x = 2\nk8s = 3\nnaïve = 4");
    assert_eq!(keys(&list.items[0]), ["a.b-c_d"]);
    assert_eq!(keys(&list.items[1]), ["_x"]);
    assert_eq!(keys(&list.items[2]), ["k8s"]);
    assert_eq!(keys(&list.items[3]), ["naïve"]);
}

#[test]
fn quoted_keys_and_escapes() {
    let list = p(r#""my key" = "a\nb\t\"q\" \\ \u00e9 \U0001F600 \x41 \101""#);
    assert_eq!(keys(&list.items[0]), ["my key"]);
    assert_eq!(lit(&list.items[0].val), &s("a\nb\t\"q\" \\ é 😀 A A"));
    assert_eq!(list.items[0].keys[0].text, r#""my key""#);
}

#[test]
fn interpolation_is_kept_verbatim() {
    let list = p(r#"a = "x ${foo("bar\n", {a = 1})} y\n""#);
    assert_eq!(
        lit(&list.items[0].val),
        &s("x ${foo(\"bar\\n\", {a = 1})} y\n")
    );
    // Inside `${...}` a newline does not end the string.
    let list = p("a = \"${x\ny}\"");
    assert_eq!(lit(&list.items[0].val), &s("${x\ny}"));
    // Vault templated policies.
    let list = p(r#"path "secret/{{identity.entity.id}}/*" { capabilities = ["read"] }"#);
    assert_eq!(keys(&list.items[0])[1], "secret/{{identity.entity.id}}/*");
}

#[test]
fn numbers_and_bools() {
    let list = p("a = 1\nb = -2\nc = 0x1F\nd = 017\ne = 1.5\nf = -1.5e-3\ng = 1e10\nh = 2E+3\ni = .5\nj = 0.25\nk = true\nl = false\nm = 0");
    let kinds: Vec<&LiteralKind> = list.items.iter().map(|i| lit(&i.val)).collect();
    use LiteralKind::*;
    assert_eq!(
        kinds,
        [
            &Number("1".into()),
            &Number("-2".into()),
            &Number("0x1F".into()),
            &Number("017".into()),
            &Float("1.5".into()),
            &Float("-1.5e-3".into()),
            &Float("1e10".into()),
            &Float("2E+3".into()),
            &Float(".5".into()),
            &Float("0.25".into()),
            &Bool(true),
            &Bool(false),
            &Number("0".into()),
        ]
    );
    // hcl1 does not flag `08` (it checks the digit after each digit), only `008`.
    assert_eq!(lit(&p("a = 08").items[0].val), &Number("08".into()));
}

#[test]
fn lists() {
    let list = p("a = [1, \"two\", 3.0, true,]\nb = []\nc = [[1, 2], [3]]\nd = [[1] [2]]\ne = [{x = 1}, {y = 2}]\nf = [\n  \"a\", # c\n  \"b\",\n]");
    let Node::ListType(a) = &list.items[0].val else {
        panic!()
    };
    assert_eq!(a.items.len(), 4);
    let Node::ListType(d) = &list.items[3].val else {
        panic!()
    };
    // No comma is needed after a nested list.
    assert_eq!(d.items.len(), 2);
    let Node::ListType(e) = &list.items[4].val else {
        panic!()
    };
    assert!(matches!(e.items[1], Node::ObjectType(_)));
    assert_eq!(strings(&list.items[5].val), ["a", "b"]);
}

#[test]
fn nested_objects() {
    let list = p("a = { b = { c = 1 } d = [] }\ne { f { g = 2 } }");
    let block = body(&list.items[0]);
    assert_eq!(keys(&block.items[0]), ["b"]);
    assert_eq!(keys(&body(&block.items[0]).items[0]), ["c"]);
    let f_block = &body(&list.items[1]).items[0];
    assert_eq!(keys(&body(f_block).items[0]), ["g"]);
}

#[test]
fn heredocs() {
    let src = "path \"x\" {\n  policy = <<EOF\nwrite\nEOF\n  capabilities = [<<-EOT\n    read\n      list\n    EOT\n  ]\n}\n";
    let list = p(src);
    let block = body(&list.items[0]);
    assert_eq!(
        lit(&block.items[0].val),
        &LiteralKind::Heredoc("write\n".into())
    );
    let Node::ListType(caps) = &block.items[1].val else {
        panic!()
    };
    assert_eq!(
        lit(&caps.items[0]),
        &LiteralKind::Heredoc("read\n  list\n".into())
    );
    // `<<EOF` with an indented closing anchor keeps the indentation at the end.
    assert_eq!(
        lit(&p("a = <<EOF\nx\n  EOF\n").items[0].val),
        &LiteralKind::Heredoc("x\n  ".into())
    );
    // `<<-` when a line is less indented than the anchor: kept as is, trailing blanks trimmed.
    assert_eq!(
        lit(&p("a = <<-EOF\n  x\n y\n    EOF\n").items[0].val),
        &LiteralKind::Heredoc("  x\n y\n".into())
    );
    // Anchors may contain digits and non-ASCII letters; a CRLF file works.
    assert_eq!(
        lit(&p("a = <<E0F\nx\nE0F\n").items[0].val),
        &LiteralKind::Heredoc("x\n".into())
    );
    assert_eq!(
        lit(&p("a = <<FIN\r\nx\r\nFIN\r\n").items[0].val),
        &LiteralKind::Heredoc("x\n".into())
    );
}

#[test]
fn duplicate_keys_are_kept() {
    let list = p(
        "path \"a\" { policy = \"read\" }\npath \"a\" { policy = \"write\" }\nname = 1\nname = 2",
    );
    assert_eq!(list.items.len(), 4);
    assert_eq!(keys(&list.items[1]), ["path", "a"]);
}

#[test]
fn positions() {
    let list = p("# c\npath \"é/x\" {\n  capabilities = [\"read\"]\n}");
    let item = &list.items[0];
    assert_eq!(
        item.keys[0].pos,
        Pos {
            offset: 4,
            line: 2,
            column: 1
        }
    );
    assert_eq!(
        item.keys[1].pos,
        Pos {
            offset: 9,
            line: 2,
            column: 6
        }
    );
    let Node::ObjectType(o) = &item.val else {
        panic!()
    };
    // Columns count characters, offsets bytes.
    assert_eq!(
        o.lbrace,
        Pos {
            offset: 16,
            line: 2,
            column: 12
        }
    );
    assert_eq!(
        o.rbrace,
        Pos {
            offset: 44,
            line: 4,
            column: 1
        }
    );
    let caps = &o.list.items[0];
    assert_eq!(
        caps.pos(),
        Pos {
            offset: 20,
            line: 3,
            column: 3
        }
    );
    assert_eq!(
        caps.assign,
        Some(Pos {
            offset: 33,
            line: 3,
            column: 16
        })
    );
    assert_eq!(caps.assign_line(), 3);
    assert_eq!(item.assign_line(), 0);
    assert_eq!(
        caps.val.pos(),
        Pos {
            offset: 35,
            line: 3,
            column: 18
        }
    );
    assert_eq!(format!("{}", caps.val.pos()), "3:18");
    assert_eq!(format!("{}", Pos::default()), "-");
}

#[test]
fn crlf_is_normalised_like_hcl1() {
    let list = p("a = 1\r\nb = \"x\"\r\n");
    assert_eq!(
        list.items[1].keys[0].pos,
        Pos {
            offset: 6,
            line: 2,
            column: 1
        }
    );
    // A lone CR is whitespace.
    assert_eq!(p("a = 1\rb = 2").items.len(), 2);
}

#[test]
fn hcl1_leniencies() {
    // A key with `=` but no value at the end of the file is dropped silently.
    assert_eq!(p("a = 1\nb =").items.len(), 1);
    assert_eq!(p("a =").items.len(), 0);
}

#[test]
fn filter_children_elem() {
    let list = p("path \"a\" { }\nPATH \"b\" { }\npath = 1\nname = \"x\"");
    let filtered = list.filter("path").unwrap();
    // Case-insensitive like Go's strings.EqualFold; the matched key is stripped.
    assert_eq!(filtered.items.len(), 3);
    assert_eq!(keys(&filtered.items[0]), ["a"]);
    assert_eq!(keys(&filtered.items[1]), ["b"]);
    assert!(filtered.items[2].keys.is_empty());
    assert_eq!(filtered.children().items.len(), 2);
    assert_eq!(filtered.elem().items.len(), 1);
    assert!(list.filter("nope").unwrap().items.is_empty());
    assert_eq!(filtered.items[2].pos(), Pos::default());
}

#[test]
fn equal_fold_matches_go() {
    assert!(equal_fold("Capabilities", "capabilities"));
    assert!(equal_fold("K", "\u{212A}")); // Kelvin sign folds to k
    assert!(!equal_fold("control_group", "ControlGroup"));
    assert!(!equal_fold("a", "ab"));
}

#[test]
fn unquote_failures_surface_lazily() {
    // hcl1's scanner accepts `\400`, but unquoting it fails (Go panics in Token.Value()).
    let list = p(r#"comment = "\400""#);
    let Node::Literal(lit) = &list.items[0].val else {
        panic!()
    };
    assert!(lit.value_error.is_some());
    let err = lit.string_value().unwrap().unwrap_err();
    assert!(err.go_panic);
    assert_eq!(err.msg, r#"unquote "\400" err: invalid syntax"#);
    let list = p(r#""\U00110000" = 1"#);
    assert!(list.filter("x").is_err());
    // Surrogate escapes become U+FFFD in HCL strings.
    assert_eq!(lit_kind(r#"a = "\ud800""#), s("\u{FFFD}"));
}

fn lit_kind(src: &str) -> LiteralKind {
    lit(&p(src).items[0].val).clone()
}
