//! Vault's `hclutil` helpers (OpenBao `sdk/helper/hclutil/hcl.go`), which the policy parser
//! applies to the syntax tree before and around decoding.

use std::fmt;

use super::ast::{Node, ObjectList};
use super::decode::{DNode, DecodeError};
use super::strconv::go_quote;

/// A key rejected by [`check_hcl_keys`]: the key and the line of its `=` (0 for the block form,
/// as Vault reports it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidKey {
    pub key: String,
    pub line: usize,
}

impl fmt::Display for InvalidKey {
    /// Vault's message for one invalid key: `invalid key "foo" on line 3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid key {} on line {}",
            go_quote(&self.key),
            self.line
        )
    }
}

/// The object list of an `ObjectList` or `ObjectType` node (what Vault's `hclutil` helpers
/// accept), or `None` for other nodes.
pub fn object_list_of<'n>(node: DNode<'n>) -> Option<&'n ObjectList> {
    match node {
        DNode::List(l) => Some(l),
        DNode::Node(Node::ObjectType(ot)) => Some(&ot.list),
        _ => None,
    }
}

/// Mirrors Vault's `hclutil.CheckHCLKeys` (OpenBao `sdk/helper/hclutil/hcl.go`): every item
/// whose first key (compared exactly, case-sensitively) is not in `valid`, in order. A node that
/// is not an object is the error `cannot check HCL keys of type <type>`. Vault joins the invalid
/// keys into a multierror; that formatting is left to the caller.
pub fn check_hcl_keys(node: DNode<'_>, valid: &[&str]) -> Result<Vec<InvalidKey>, DecodeError> {
    let Some(list) = object_list_of(node) else {
        return Err(DecodeError::plain(format!(
            "cannot check HCL keys of type {}",
            node.go_type_name()
        )));
    };
    let mut invalid = Vec::new();
    for item in &list.items {
        let Some(first) = item.keys.first() else {
            // Go indexes Keys[0] and panics; parsed objects always have keys.
            return Err(DecodeError::panic(
                "runtime error: index out of range [0] with length 0".into(),
            ));
        };
        let key = first.go_value()?;
        if !valid.contains(&key) {
            invalid.push(InvalidKey {
                key: key.to_string(),
                line: item.assign_line(),
            });
        }
    }
    Ok(invalid)
}
