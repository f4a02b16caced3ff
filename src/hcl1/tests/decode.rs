//! Decoding, following hcl1's decoder.go for the field types of Vault's `PathRules`.

use super::*;

type Params = Option<GoMap<Option<Vec<Value>>>>;

/// The fields of Vault's `PathRules` that hcl1 decodes, in declaration order.
#[derive(Debug, Default)]
struct PathRules {
    policy: String,
    capabilities: Option<Vec<String>>,
    min_wrapping_ttl: Value,
    max_wrapping_ttl: Value,
    allowed: Params,
    denied: Params,
    required: Option<Vec<String>>,
    pagination_limit: i64,
    filter_path: String,
}

/// Decode every `path` block's body as Vault's `hcl.DecodeObject(&pc, item.Val)` does.
fn paths(src: &str) -> Vec<Result<PathRules, String>> {
    let list = p(src);
    let paths = list.filter("path").unwrap();
    paths
        .items
        .iter()
        .map(|item| {
            let mut rules = PathRules::default();
            let mut decoder =
                StructDecoder::new("root", DNode::Node(&item.val)).map_err(|e| e.to_string())?;
            (|| {
                decoder.field("Policy", &mut rules.policy)?;
                decoder.field("Capabilities", &mut rules.capabilities)?;
                decoder.field("min_wrapping_ttl", &mut rules.min_wrapping_ttl)?;
                decoder.field("max_wrapping_ttl", &mut rules.max_wrapping_ttl)?;
                decoder.field("allowed_parameters", &mut rules.allowed)?;
                decoder.field("denied_parameters", &mut rules.denied)?;
                decoder.field("required_parameters", &mut rules.required)?;
                decoder.field("pagination_limit", &mut rules.pagination_limit)?;
                decoder.field(
                    "list_scan_response_keys_filter_path",
                    &mut rules.filter_path,
                )?;
                Ok::<_, DecodeError>(())
            })()
            .map_err(|e| e.to_string())?;
            Ok(rules)
        })
        .collect()
}

fn one(src: &str) -> PathRules {
    paths(src).pop().unwrap().unwrap()
}

fn one_err(src: &str) -> String {
    paths(src).pop().unwrap().unwrap_err()
}

fn params(m: &Params) -> Vec<(String, Vec<Value>)> {
    m.as_ref()
        .unwrap()
        .0
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().unwrap()))
        .collect()
}

fn st(v: &str) -> Value {
    Value::String(v.into())
}

#[test]
fn vault_examples_decode() {
    let rules = one(
        r#"path "secret/*" { capabilities = ["read", "list"] allowed_parameters = { "foo" = [] } }"#,
    );
    assert_eq!(rules.capabilities.unwrap(), ["read", "list"]);
    assert_eq!(params(&rules.allowed), [("foo".to_string(), vec![])]);
    assert_eq!(rules.denied, None);

    let rules = one(r#"path "x" { capabilities = ["read"], policy = "read" }"#);
    assert_eq!(rules.policy, "read");

    let rules =
        one(r#"path "x" { allowed_parameters { "foo" = [] "bar" = ["a", 1, 2.5, true] } }"#);
    assert_eq!(
        params(&rules.allowed),
        [
            ("foo".to_string(), vec![]),
            (
                "bar".to_string(),
                vec![st("a"), Value::Int(1), Value::Float(2.5), Value::Bool(true)]
            ),
        ]
    );

    let rules = one("path \"x\" {\n  policy = <<EOF\nwrite\nEOF\n}\n");
    assert_eq!(rules.policy, "write\n");

    let all = paths(
        r#"{"path": {"a": {"capabilities": ["read"]}, "b": {"capabilities": ["list"], "pagination_limit": 5}}}"#,
    );
    assert_eq!(all.len(), 2);
    let second = all[1].as_ref().unwrap();
    assert_eq!(
        (
            second.capabilities.clone().unwrap(),
            second.pagination_limit
        ),
        (vec!["list".to_string()], 5)
    );
}

#[test]
fn repeated_keys_in_one_block() {
    // Slices append, strings: last wins.
    let rules = one(
        r#"path "x" { capabilities = ["read"] capabilities = ["list"] policy = "read" policy = "write" }"#,
    );
    assert_eq!(rules.capabilities.unwrap(), ["read", "list"]);
    assert_eq!(rules.policy, "write");
    // Maps merge; list values of a repeated map key append.
    let rules = one(
        r#"path "x" { allowed_parameters = { "a" = [1] "a" = [2] } allowed_parameters { "a" = [3] "b" = [] } }"#,
    );
    assert_eq!(
        params(&rules.allowed),
        [
            (
                "a".to_string(),
                vec![Value::Int(1), Value::Int(2), Value::Int(3)]
            ),
            ("b".to_string(), vec![]),
        ]
    );
    // `any`: the first value fixes the type.
    assert_eq!(
        one(r#"path "x" { min_wrapping_ttl = "1h" min_wrapping_ttl = 30 }"#).min_wrapping_ttl,
        st("30")
    );
    assert_eq!(
        one_err(r#"path "x" { min_wrapping_ttl = 30 min_wrapping_ttl = "1h" }"#),
        r#"strconv.ParseInt: parsing "1h": invalid syntax"#
    );
    assert_eq!(
        one(r#"path "x" { max_wrapping_ttl = [1, "a", {b = 2}] max_wrapping_ttl = [2] }"#)
            .max_wrapping_ttl,
        Value::List(vec![
            Value::Int(1),
            st("a"),
            Value::Map(vec![("b".into(), Value::Int(2))]),
            Value::Int(2),
        ])
    );
}

#[test]
fn any_values() {
    let rules = one(r#"path "x" { min_wrapping_ttl = 1.5 max_wrapping_ttl = { a = 1 } }"#);
    assert_eq!(rules.min_wrapping_ttl, Value::Float(1.5));
    // In a struct field (not the root, not inside a slice) an object is a []map[string]any.
    assert_eq!(
        rules.max_wrapping_ttl,
        Value::MapList(vec![vec![("a".into(), Value::Int(1))]])
    );
    assert_eq!(
        one(r#"path "x" { min_wrapping_ttl = 0x10 }"#).min_wrapping_ttl,
        Value::Int(16)
    );
    assert_eq!(
        one(r#"path "x" { min_wrapping_ttl = <<EOF
1h
EOF
}"#)
        .min_wrapping_ttl,
        st("1h\n")
    );
    assert_eq!(one(r#"path "x" { }"#).min_wrapping_ttl, Value::Nil);
    // At the root an object is a map.
    let list = p("a = { b = 1 }\nc = [{ d = true }]");
    let mut value = Value::Nil;
    decode_object(DNode::List(&list), &mut value).unwrap();
    assert_eq!(
        value,
        Value::Map(vec![
            (
                "a".into(),
                Value::MapList(vec![vec![("b".into(), Value::Int(1))]])
            ),
            (
                "c".into(),
                Value::List(vec![Value::Map(vec![("d".into(), Value::Bool(true))])])
            ),
        ])
    );
}

#[test]
fn map_value_shapes() {
    // Block with a label: decoded as the label's entry holding the object.
    let rules = one(r#"path "x" { allowed_parameters "a" { } }"#);
    assert_eq!(
        params(&rules.allowed),
        [("a".to_string(), vec![Value::Map(vec![])])]
    );
    let rules = one(r#"path "x" { allowed_parameters = { "a" = {x = 1} } }"#);
    assert_eq!(
        params(&rules.allowed),
        [(
            "a".to_string(),
            vec![Value::Map(vec![("x".into(), Value::Int(1))])]
        )]
    );
    assert_eq!(
        one_err(r#"path "x" { allowed_parameters = { "a" = "b" } }"#),
        "At 1:41: unknown slice type: *ast.LiteralType"
    );
    assert_eq!(
        one_err(r#"path "x" { allowed_parameters = "a" }"#),
        "At 1:33: root.allowed_parameters: not an object type for map (*ast.LiteralType)"
    );
    // A map key with a further label is decoded from all items of that key, as object items,
    // which an `any` element cannot take.
    assert_eq!(
        one_err(r#"path "x" { allowed_parameters { "a" "b" { } } }"#),
        "root.allowed_parameters.a[0]: cannot decode into interface: *ast.ObjectItem"
    );
}

#[test]
fn string_and_slice_coercions() {
    assert_eq!(
        one_err(r#"path "x" { capabilities = "read" }"#),
        "At 1:27: unknown slice type: *ast.LiteralType"
    );
    assert_eq!(
        one_err(r#"path "x" { capabilities = [true] }"#),
        "At 1:28: root.Capabilities[0]: unknown type for string *ast.LiteralType"
    );
    assert_eq!(
        one_err(r#"path "x" { capabilities = [1, 0x10, 1.5] }"#),
        "At 1:37: root.Capabilities[2]: unknown type for string *ast.LiteralType"
    );
    // Numbers decode into strings as written.
    assert_eq!(
        one(r#"path "x" { capabilities = [1, 0x10] }"#)
            .capabilities
            .unwrap(),
        ["1", "0x10"]
    );
    assert_eq!(
        one_err(r#"path "x" { capabilities { a = 1 } }"#),
        "At 1:27: root.Capabilities[0]: unknown type for string *ast.ObjectItem"
    );
    assert_eq!(one(r#"path "x" { policy = 5 }"#).policy, "5");
    assert_eq!(
        one_err(r#"path "x" { policy = true }"#),
        "At 1:21: root.Policy: unknown type for string *ast.LiteralType"
    );
    // Field names match case-insensitively, like hcl1's Filter.
    let rules = one(r#"path "x" { Policy = "read" CAPABILITIES = ["x"] }"#);
    assert_eq!(
        (rules.policy.as_str(), rules.capabilities.unwrap()),
        ("read", vec!["x".to_string()])
    );
    // An empty list is a non-nil empty slice.
    assert_eq!(
        one(r#"path "x" { required_parameters = [] }"#).required,
        Some(vec![])
    );
}

#[test]
fn int_coercions() {
    assert_eq!(
        one(r#"path "x" { pagination_limit = "0x10" }"#).pagination_limit,
        16
    );
    assert_eq!(
        one(r#"path "x" { pagination_limit = 010 }"#).pagination_limit,
        8
    );
    assert_eq!(
        one(r#"path "x" { pagination_limit = -3 }"#).pagination_limit,
        -3
    );
    assert_eq!(
        one_err(r#"path "x" { pagination_limit = 1.5 }"#),
        "At 1:31: root.pagination_limit: unknown type *ast.LiteralType"
    );
    assert_eq!(
        one_err(r#"path "x" { pagination_limit = 99999999999999999999 }"#),
        r#"strconv.ParseInt: parsing "99999999999999999999": value out of range"#
    );
    assert_eq!(
        one_err(r#"path "x" { pagination_limit = 08 }"#),
        r#"strconv.ParseInt: parsing "08": invalid syntax"#
    );
    // JSON null is an empty string.
    assert_eq!(
        one_err(r#"{"path": {"a": {"pagination_limit": null}}}"#),
        r#"strconv.ParseInt: parsing "": invalid syntax"#
    );
}

#[test]
fn bool_and_float() {
    let list = p("a = true\nb = \"true\"\nc = 0x10\nd = 2");
    let mut decoder = StructDecoder::new("root", DNode::List(&list)).unwrap();
    let mut flag = false;
    assert!(decoder.field("a", &mut flag).unwrap() && flag);
    assert_eq!(
        decoder.field("b", &mut flag).unwrap_err().to_string(),
        "At 2:5: root.b: unknown type *ast.LiteralType"
    );
    let mut float = 0.0;
    assert_eq!(
        decoder.field("c", &mut float).unwrap_err().to_string(),
        r#"strconv.ParseFloat: parsing "0x10": invalid syntax"#
    );
    assert!(decoder.field("d", &mut float).unwrap());
    assert_eq!(float, 2.0);
    assert!(!decoder.field("missing", &mut float).unwrap());
}

#[test]
fn struct_preamble() {
    let list = p("path = [1]");
    let item = &list.filter("path").unwrap().items[0];
    let err = StructDecoder::new("root", DNode::Node(&item.val))
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "At 1:8: root: not an object type for struct (*ast.ListType)"
    );
    // JSON nodes have no position.
    let list = p(r#"{"path": 1}"#);
    let item = &list.filter("path").unwrap().items[0];
    let err = StructDecoder::new("root", DNode::Node(&item.val))
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "At -: root: not an object type for struct (*ast.LiteralType)"
    );
    // An item whose value is a literal decodes as a one-item list of itself.
    let decoder = StructDecoder::new("root", DNode::Item(item)).unwrap();
    assert_eq!(decoder.list().items.len(), 1);
}

#[test]
fn panics_become_errors() {
    let list = p(r#"path "x" { capabilities = ["\400"] }"#);
    let item = &list.filter("path").unwrap().items[0];
    let mut decoder = StructDecoder::new("root", DNode::Node(&item.val)).unwrap();
    let mut caps: Option<Vec<String>> = None;
    let err = decoder.field("capabilities", &mut caps).unwrap_err();
    assert!(err.go_panic);
    assert_eq!(
        err.to_string(),
        r#"hcl1 would panic: unquote "\400" err: invalid syntax"#
    );
}

#[test]
fn check_keys_like_hclutil() {
    let list = p("name = \"x\"\npath \"a\" { }\nbogus = 1\nother { }");
    let bad = check_hcl_keys(DNode::List(&list), &["name", "path"]).unwrap();
    assert_eq!(
        bad,
        [
            InvalidKey {
                key: "bogus".into(),
                line: 3
            },
            InvalidKey {
                key: "other".into(),
                line: 0
            }
        ]
    );
    assert_eq!(bad[0].to_string(), r#"invalid key "bogus" on line 3"#);
    let list = p("a = 1");
    assert_eq!(
        check_hcl_keys(DNode::Node(&list.items[0].val), &[])
            .unwrap_err()
            .to_string(),
        "cannot check HCL keys of type *ast.LiteralType"
    );
}
