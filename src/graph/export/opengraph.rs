//! BloodHound CE OpenGraph JSON: `{"metadata": {"source_kind": …}, "graph": {"nodes": […],
//! "edges": […]}}`. Node kinds are `BM_<Label>` (one kind per node; BloodHound adds the source
//! kind), edge kinds `BM_<Kind>` (letters, digits and underscores, as BloodHound requires), every
//! endpoint matched by id, and property values strings, numbers, booleans or arrays of strings
//! (never null, never an object).

use std::io::{self, Write};
use std::path::Path;

use super::{write_json_str, Column, EstateGraph, Item, Written, EDGE_COLUMNS, NODE_COLUMNS};
use crate::graph::{EDGE_KINDS, NODE_KINDS};
use crate::output::{self, FileMode, OutputError};

/// The source kind BloodHound registers blastmap's nodes under.
pub(crate) const SOURCE_KIND: &str = "Blastmap";

/// The prefix of every node and edge kind.
pub(crate) const KIND_PREFIX: &str = "BM_";

pub(crate) fn write(estates: &[EstateGraph<'_>], out: &Path) -> Result<Written, OutputError> {
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
                    w.write_all(b"{\"id\":")?;
                    write_json_str(w, &item.id)?;
                    write!(w, ",\"kinds\":[\"{KIND_PREFIX}{}\"],", kind.label())?;
                    properties(w, &item, NODE_COLUMNS)?;
                    w.write_all(b"}")?;
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
                    let (start, end) = item.ends.as_ref().expect("an edge has ends");
                    w.write_all(b"{\"start\":{\"match_by\":\"id\",\"value\":")?;
                    write_json_str(w, start)?;
                    w.write_all(b"},\"end\":{\"match_by\":\"id\",\"value\":")?;
                    write_json_str(w, end)?;
                    write!(w, "}},\"kind\":\"{KIND_PREFIX}{}\",", kind.pascal())?;
                    properties(w, &item, EDGE_COLUMNS)?;
                    w.write_all(b"}")?;
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

/// `"properties":{…}`: the item's present properties, in column order.
fn properties(w: &mut dyn Write, item: &Item, columns: &[Column]) -> io::Result<()> {
    w.write_all(b"\"properties\":{")?;
    let mut first = true;
    for (column, value) in columns.iter().zip(&item.props) {
        if let Some(value) = value {
            if !first {
                w.write_all(b",")?;
            }
            first = false;
            write!(w, "\"{}\":", column.name)?;
            value.write_json(w)?;
        }
    }
    w.write_all(b"}")
}
