//! BloodHound CE OpenGraph JSON: `{"metadata": {"source_kind": …}, "graph": {"nodes": […],
//! "edges": […]}}`. Node kinds are `BM_<Label>` (one kind per node; BloodHound adds the source
//! kind), edge kinds `BM_<Kind>` (letters, digits and underscores, as BloodHound requires), every
//! endpoint matched by id, and property values strings, numbers, booleans or arrays of strings
//! (never null, never an object).

use std::io::{self, Write};
use std::path::Path;

use serde_json::{json, Map, Value};

use super::{write_json, Column, EstateGraph, Item, Written, EDGE_COLUMNS, NODE_COLUMNS};
use crate::graph::{EDGE_KINDS, NODE_KINDS};
use crate::output::{self, FileMode, OutputError};

/// The source kind BloodHound registers blastmap's nodes under.
pub const SOURCE_KIND: &str = "Blastmap";

/// The prefix of every node and edge kind.
pub const KIND_PREFIX: &str = "BM_";

pub fn write(estates: &[EstateGraph<'_>], out: &Path) -> Result<Written, OutputError> {
    let mut written = Written::default();
    output::write_with(out, FileMode::Shared, |w| {
        write!(
            w,
            "{{\"metadata\":{{\"source_kind\":\"{SOURCE_KIND}\"}},\"graph\":{{\"nodes\":["
        )?;
        let mut first = true;
        for kind in NODE_KINDS {
            for estate in estates {
                for item in estate.nodes_of(kind) {
                    separate(w, &mut first)?;
                    let node = json!({
                        "id": item.id,
                        "kinds": [format!("{KIND_PREFIX}{}", kind.label())],
                        "properties": properties(&item, NODE_COLUMNS),
                    });
                    write_json(w, &node)?;
                    *written.nodes.entry(kind.label()).or_default() += 1;
                }
            }
        }
        w.write_all(b"],\"edges\":[")?;
        first = true;
        for kind in EDGE_KINDS {
            for estate in estates {
                for item in estate.edges_of(kind) {
                    separate(w, &mut first)?;
                    let (start, end) = item.ends.clone().unwrap_or_default();
                    let edge = json!({
                        "start": {"match_by": "id", "value": start},
                        "end": {"match_by": "id", "value": end},
                        "kind": format!("{KIND_PREFIX}{}", kind.pascal()),
                        "properties": properties(&item, EDGE_COLUMNS),
                    });
                    write_json(w, &edge)?;
                    *written.edges.entry(kind.label()).or_default() += 1;
                }
            }
        }
        w.write_all(b"]}}\n")
    })?;
    Ok(written)
}

fn separate(w: &mut dyn Write, first: &mut bool) -> io::Result<()> {
    if *first {
        *first = false;
        w.write_all(b"\n")
    } else {
        w.write_all(b",\n")
    }
}

fn properties(item: &Item, columns: &[Column]) -> Value {
    let mut map = Map::new();
    for (column, value) in columns.iter().zip(&item.props) {
        if let Some(value) = value {
            map.insert(column.name.to_string(), value.as_json());
        }
    }
    Value::Object(map)
}
