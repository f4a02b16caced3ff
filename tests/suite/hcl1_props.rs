//! Property tests for the HCL1 parser: on any input, `parse` returns (never panics, never hangs),
//! and decoding whatever it returns never panics either.

use std::sync::mpsc;
use std::time::Duration;

use blastmap::hcl1::{self, DNode, Decode, GoMap, ObjectList, StructDecoder, Value};
use proptest::prelude::*;

/// Valid policies to mutate, in both syntaxes, using the constructs Vault policies use.
const SEEDS: &[&str] = &[
    r#"path "secret/*" { capabilities = ["read", "list"] allowed_parameters = { "foo" = [] } }"#,
    r#"path "secret/*" { capabilities = ["read"], policy = "read" }"#,
    "# c\n// c\n/* c */\nname = \"n\"\npath \"a\" {\n  capabilities = [\"create\", \"update\",]\n  allowed_parameters {\n    \"foo\" = []\n    \"*\" = [\"x\", 1, 2.5, true]\n  }\n  min_wrapping_ttl = \"1h\"\n  max_wrapping_ttl = 3600\n  pagination_limit = 0x10\n}\n",
    "path \"x\" {\n  policy = <<EOF\nwrite\nEOF\n  capabilities = [<<-EOT\n    read\n    EOT\n  ]\n}\n",
    "a = -1.5e-3\nb = [[1, 2], [{c = \"${x(\\\"y\\\")}\"}]]\nd \"l1\" \"l2\" { e = .5 }\n",
    r#"{"path": {"secret/sample": {"capabilities": ["read"]}}}"#,
    r#"{"path": {"a": {"capabilities": ["read"]}, "b": {"allowed_parameters": {"x": [], "y": ["\u00e9", 1, "z"], "z": null}}}, "name": "n"}"#,
    r#"{"path": [{"a": {"policy": "read"}}, {"b": {"min_wrapping_ttl": 1.5e3}}]}"#,
];

/// Fragments that exercise the scanner's tricky paths.
const FRAGMENTS: &[&str] = &[
    "{", "}", "[", "]", "=", ",", ":", "\"", "\\", "${", "<<EOF\n", "\nEOF\n", "<<-EOF\n",
    "  EOF\n", "\n", " ", "#", "//", "/*", "*/", "-", ".", "0", "0x", "1e5", ".5", "08", "true",
    "null", "path", "\"p\"", "\\u00e9", "\\x", "\\400", "\r\n", "\r", "é", "\u{0}", "\u{E123}",
    "@", "<", "\u{a0}",
];

/// Run `parse` on another thread and fail if it does not finish in time (an infinite loop).
fn parse_terminates(src: &str) -> Result<ObjectList, hcl1::ParseError> {
    let (tx, rx) = mpsc::channel();
    let owned = src.to_string();
    std::thread::spawn(move || {
        let _ = tx.send(hcl1::parse(&owned));
    });
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(r) => r,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("parse did not terminate on {src:?}"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("parse panicked on {src:?}"),
    }
}

/// Decode a parsed file the ways the policy layer does; errors are fine, panics are not.
fn decode_everything(list: &ObjectList) {
    let mut any = Value::Nil;
    let _ = hcl1::decode_object(DNode::List(list), &mut any);
    let _ = hcl1::check_hcl_keys(DNode::List(list), &["name", "path"]);
    let Ok(paths) = list.filter("path") else {
        return;
    };
    for item in &paths.items {
        let _ = hcl1::check_hcl_keys(DNode::Node(&item.val), &["policy", "capabilities"]);
        let Ok(mut sd) = StructDecoder::new("root", DNode::Node(&item.val)) else {
            continue;
        };
        let _ = field(&mut sd, "policy", &mut String::new());
        let _ = field(&mut sd, "capabilities", &mut None::<Vec<String>>);
        let _ = field(&mut sd, "min_wrapping_ttl", &mut Value::Nil);
        let _ = field(
            &mut sd,
            "allowed_parameters",
            &mut None::<GoMap<Option<Vec<Value>>>>,
        );
        let _ = field(&mut sd, "pagination_limit", &mut 0i64);
        let _ = field(&mut sd, "self_auth_allowed", &mut false);
        let _ = field(&mut sd, "ratio", &mut 0f64);
    }
}

fn field<T: Decode>(
    sd: &mut StructDecoder<'_>,
    key: &str,
    out: &mut T,
) -> Result<bool, hcl1::DecodeError> {
    sd.field(key, out)
}

/// A seed policy with a few random edits (deletions, fragment insertions, duplications).
fn mutated_policy() -> impl Strategy<Value = String> {
    let edit = (
        0usize..4,
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        0usize..FRAGMENTS.len(),
    );
    (0usize..SEEDS.len(), prop::collection::vec(edit, 1..6)).prop_map(|(seed, edits)| {
        let mut chars: Vec<char> = SEEDS[seed].chars().collect();
        for (op, a, b, frag) in edits {
            let i = a.index(chars.len() + 1);
            match op {
                0 if !chars.is_empty() => {
                    let j = (i + 1 + b.index(4)).min(chars.len());
                    chars.drain(i.min(chars.len())..j);
                }
                1 | 2 => {
                    let f: Vec<char> = FRAGMENTS[frag].chars().collect();
                    chars.splice(i..i, f);
                }
                _ => {
                    let j = (i + b.index(20)).min(chars.len());
                    let dup: Vec<char> = chars[i.min(j)..j].to_vec();
                    let k = b.index(chars.len() + 1);
                    chars.splice(k..k, dup);
                }
            }
        }
        chars.into_iter().collect()
    })
}

/// Strings made of the fragments above, in any order.
fn fragment_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(0usize..FRAGMENTS.len(), 0..40)
        .prop_map(|ix| ix.into_iter().map(|i| FRAGMENTS[i]).collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(src in any::<String>()) {
        if let Ok(list) = parse_terminates(&src) {
            decode_everything(&list);
        }
        // JSON and HCL paths directly, whatever the first character.
        let _ = hcl1::parse_json(&src);
        let _ = hcl1::parse_hcl(&src);
    }

    #[test]
    fn json_looking_strings_never_panic(src in "\\{[ -~\\n\\t\u{e9}\u{0}]{0,60}") {
        if let Ok(list) = parse_terminates(&src) {
            decode_everything(&list);
        }
    }

    #[test]
    fn mutated_policies_never_panic(src in mutated_policy()) {
        if let Ok(list) = parse_terminates(&src) {
            decode_everything(&list);
        }
    }

    #[test]
    fn fragment_soup_never_panics(src in fragment_soup()) {
        if let Ok(list) = parse_terminates(&src) {
            decode_everything(&list);
        }
    }

    /// Errors always carry a position inside (or just past) the text for HCL.
    #[test]
    fn hcl_error_positions_are_sane(src in mutated_policy()) {
        if src.trim().starts_with('{') {
            return Ok(());
        }
        if let Err(e) = parse_terminates(&src) {
            let lines = src.replace("\r\n", "\n").split('\n').count();
            prop_assert!(e.line() >= 1 && e.line() <= lines, "line {} of {} in {:?}: {}", e.line(), lines, src, e);
            prop_assert!(e.column() >= 1, "{e}");
        }
    }
}

#[test]
fn seeds_parse_and_decode() {
    for seed in SEEDS {
        let list = hcl1::parse(seed).unwrap_or_else(|e| panic!("{seed}: {e}"));
        assert!(!list.items.is_empty());
        decode_everything(&list);
    }
}
