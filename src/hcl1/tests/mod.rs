//! Unit tests for the HCL1 module. Expected error texts and decoded values were checked against
//! hcl1 (`github.com/hashicorp/hcl` v1.0.1-vault-7) itself.

mod decode;
mod errors;
mod hcl;
mod json;

use super::*;

/// Parse or fail the test with the error text.
pub(super) fn p(src: &str) -> ObjectList {
    match parse(src) {
        Ok(l) => l,
        Err(e) => panic!("parse failed for {src:?}: {e}"),
    }
}

/// The error text hcl1 would return.
pub(super) fn err(src: &str) -> String {
    match parse(src) {
        Ok(l) => panic!("expected an error for {src:?}, got {l:?}"),
        Err(e) => e.to_string(),
    }
}

/// Key values of an item.
pub(super) fn keys(item: &ObjectItem) -> Vec<&str> {
    item.keys.iter().map(|k| k.value.as_str()).collect()
}

/// The object list inside an item's `{ }` value.
pub(super) fn body(item: &ObjectItem) -> &ObjectList {
    match &item.val {
        Node::ObjectType(o) => &o.list,
        other => panic!("not an object: {other:?}"),
    }
}

/// A literal's kind.
pub(super) fn lit(node: &Node) -> &LiteralKind {
    match node {
        Node::Literal(l) => &l.kind,
        other => panic!("not a literal: {other:?}"),
    }
}

/// The string values of a list of string literals.
pub(super) fn strings(node: &Node) -> Vec<String> {
    match node {
        Node::ListType(l) => l
            .items
            .iter()
            .map(|n| match lit(n) {
                LiteralKind::String(s) => s.clone(),
                other => panic!("not a string: {other:?}"),
            })
            .collect(),
        other => panic!("not a list: {other:?}"),
    }
}

pub(super) fn s(v: &str) -> LiteralKind {
    LiteralKind::String(v.to_string())
}
