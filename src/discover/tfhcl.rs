//! HCL2 Terraform source (`*.tf`) read as the resources `terraform show -json` would list:
//! each `resource "T" "N"` (address `T.N`) and `data "T" "N"` (address `data.T.N`) with its
//! literal attributes as values and, per attribute, the references it makes
//! (`workspace_id = tfe_workspace.app.id`, also inside `"${…}"`). Computed values (ids) are not
//! in source, so resources link by these references, as in a plan. Expressions other than
//! literals (variables, functions, conditionals) leave the attribute without a value: what
//! depends on it is dynamic.

use std::collections::BTreeMap;

use hcl::expr::{TemplateExpr, TraversalOperator};
use hcl::{Body, Expression};
use serde_json::Value;

use super::error::Location;
use super::terraform::Resource;
use super::{DiscoverError, Result};

/// Nesting of expressions searched for references at most.
const MAX_EXPRESSION_DEPTH: usize = 32;

/// The `resource` and `data` blocks of one file's text.
pub(super) fn resources(text: &str, shown: &str) -> Result<Vec<Resource>> {
    let body: Body = hcl::parse(text).map_err(|e| parse_error(e, shown))?;
    let mut out = Vec::new();
    for block in body.blocks() {
        let prefix = match block.identifier.as_str() {
            "resource" => "",
            "data" => "data.",
            _ => continue,
        };
        let [kind, name] = block.labels.as_slice() else {
            continue;
        };
        let mut values = serde_json::Map::new();
        let mut references = BTreeMap::new();
        for attr in block.body.attributes() {
            if let Some(v) = literal(&attr.expr) {
                values.insert(attr.key.as_str().to_string(), v);
            }
            let mut refs = Vec::new();
            collect_references(&attr.expr, 0, &mut refs);
            references.insert(attr.key.as_str().to_string(), refs);
        }
        out.push(Resource {
            address: format!("{prefix}{}.{}", kind.as_str(), name.as_str()),
            kind: kind.as_str().to_string(),
            values: Value::Object(values),
            references,
        });
    }
    Ok(out)
}

fn parse_error(e: hcl::Error, shown: &str) -> DiscoverError {
    match &e {
        hcl::Error::Parse(p) => DiscoverError::MalformedHclAt {
            shown: shown.to_string(),
            at: Location {
                line: p.location().line(),
                column: p.location().column(),
            },
            message: p.message().to_string(),
        },
        other => DiscoverError::MalformedHcl {
            shown: shown.to_string(),
            message: other.to_string(),
        },
    }
}

/// A literal value: a string without interpolation, a number, a boolean.
fn literal(expr: &Expression) -> Option<Value> {
    match expr {
        Expression::String(s) => Some(Value::String(s.clone())),
        Expression::Bool(b) => Some(Value::Bool(*b)),
        Expression::Number(n) => serde_json::to_value(n).ok(),
        Expression::TemplateExpr(t) => match t.as_ref() {
            TemplateExpr::QuotedString(s) if !s.contains("${") && !s.contains("%{") => {
                Some(Value::String(s.clone()))
            }
            _ => None,
        },
        _ => None,
    }
}

/// The resource references of an expression: `T.N.attr` as `T.N.attr` and `T.N` (and
/// `data.T.N…`), wherever they appear in it.
fn collect_references(expr: &Expression, depth: usize, out: &mut Vec<String>) {
    if depth > MAX_EXPRESSION_DEPTH {
        return;
    }
    match expr {
        Expression::Traversal(t) => {
            let Expression::Variable(root) = &t.expr else {
                return collect_references(&t.expr, depth + 1, out);
            };
            let attrs: Vec<&str> = t
                .operators
                .iter()
                .map_while(|op| match op {
                    TraversalOperator::GetAttr(id) => Some(id.as_str()),
                    _ => None,
                })
                .collect();
            push_path(root.as_str(), &attrs, out);
        }
        Expression::TemplateExpr(t) => {
            let text = match t.as_ref() {
                TemplateExpr::QuotedString(s) => s.as_str(),
                TemplateExpr::Heredoc(h) => h.template.as_str(),
            };
            for inner in interpolations(text) {
                let mut parts = inner.split('.');
                let root = parts.next().unwrap_or_default();
                let attrs: Vec<&str> = parts.collect();
                push_path(root, &attrs, out);
            }
        }
        Expression::Array(items) => items
            .iter()
            .for_each(|e| collect_references(e, depth + 1, out)),
        Expression::Parenthesis(e) => collect_references(e, depth + 1, out),
        Expression::FuncCall(call) => call
            .args
            .iter()
            .for_each(|e| collect_references(e, depth + 1, out)),
        _ => {}
    }
}

/// `root.a.b…` as the resource address it names (and that address with its first attribute).
fn push_path(root: &str, attrs: &[&str], out: &mut Vec<String>) {
    let (address, rest) = match (root, attrs) {
        ("data", [kind, name, rest @ ..]) => (format!("data.{kind}.{name}"), rest),
        ("var" | "local" | "module" | "each" | "count" | "path" | "terraform", _) => return,
        (kind, [name, rest @ ..]) => (format!("{kind}.{name}"), rest),
        _ => return,
    };
    if let Some(attr) = rest.first() {
        out.push(format!("{address}.{attr}"));
    }
    out.push(address);
}

/// The contents of the `${…}` of a template that are plain dotted names.
fn interpolations(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let inner = after[..end].trim();
        let plain = inner
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        if plain && inner.contains('.') {
            out.push(inner);
        }
        rest = &after[end + 1..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_values_and_references() {
        let text = r#"
resource "tfe_workspace" "app" {
  name         = "app-prod"
  organization = var.organization
  auto_apply   = false
}

resource "tfe_variable" "role" {
  key          = "TFC_VAULT_RUN_ROLE"
  value        = "app"
  category     = "env"
  workspace_id = tfe_workspace.app.id
}

data "vault_kv_secret_v2" "db" {
  mount = "secret"
  name  = "app/${data.tfe_outputs.x.values.env}/db"
}
"#;
        let found = resources(text, "main.tf").unwrap();
        assert_eq!(found[0].address, "tfe_workspace.app");
        assert_eq!(found[0].values["name"], "app-prod");
        assert!(found[0].values.get("organization").is_none());
        assert_eq!(
            found[1].references["workspace_id"],
            ["tfe_workspace.app.id", "tfe_workspace.app"]
        );
        assert_eq!(found[2].address, "data.vault_kv_secret_v2.db");
        assert!(found[2].values.get("name").is_none(), "interpolated");
        let err = resources("resource \"a\" {\n  x = \n", "bad.tf")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("bad.tf:"), "{err}");
    }
}
