//! GraphML (yEd, Gephi, networkx): one directed graph, a typed `<key>` per property (strings,
//! booleans, longs; lists as their JSON text), `kind` on every node and edge, and node ids as the
//! other formats write them. Text and attributes are escaped with [`crate::text::html()`], whose
//! escapes are XML's, after control characters are made visible (XML 1.0 cannot carry most of
//! them).

use std::borrow::Cow;
use std::io::{self, Write};
use std::path::Path;

use super::{Column, ColumnType, EstateGraph, Item, Written, EDGE_COLUMNS, NODE_COLUMNS};
use crate::graph::{EDGE_KINDS, NODE_KINDS};
use crate::output::{self, FileMode, OutputError};
use crate::text::html as xml;

pub(crate) fn write(estates: &[EstateGraph<'_>], out: &Path) -> Result<Written, OutputError> {
    let mut written = Written::default();
    output::write_with(out, FileMode::Shared, |w| {
        w.write_all(
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
              <graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">\n",
        )?;
        keys(w, "node", "n", NODE_COLUMNS)?;
        keys(w, "edge", "e", EDGE_COLUMNS)?;
        w.write_all(b"<graph id=\"blastmap\" edgedefault=\"directed\">\n")?;
        for kind in NODE_KINDS {
            for estate in estates {
                for item in estate.nodes_of(kind) {
                    write!(w, "<node id=\"{}\">", xml(&item.id))?;
                    write!(w, "<data key=\"n_kind\">{}</data>", kind.label())?;
                    data(w, "n", NODE_COLUMNS, &item)?;
                    w.write_all(b"</node>\n")?;
                    *written.nodes.entry(kind.label()).or_default() += 1;
                }
            }
        }
        let mut edge_number = 0usize;
        for kind in EDGE_KINDS {
            for estate in estates {
                for item in estate.edges_of(kind) {
                    let (start, end) = item.ends.expect("an edge has ends");
                    write!(
                        w,
                        "<edge id=\"e{edge_number}\" source=\"{}\" target=\"{}\">",
                        xml(start),
                        xml(end)
                    )?;
                    write!(w, "<data key=\"e_kind\">{}</data>", kind.label())?;
                    data(w, "e", EDGE_COLUMNS, &item)?;
                    w.write_all(b"</edge>\n")?;
                    edge_number += 1;
                    *written.edges.entry(kind.label()).or_default() += 1;
                }
            }
        }
        w.write_all(b"</graph>\n</graphml>\n")
    })?;
    Ok(written)
}

fn keys(w: &mut dyn Write, domain: &str, prefix: &str, columns: &[Column]) -> io::Result<()> {
    writeln!(
        w,
        "<key id=\"{prefix}_kind\" for=\"{domain}\" attr.name=\"kind\" attr.type=\"string\"/>"
    )?;
    for column in columns {
        let kind = match column.kind {
            ColumnType::Text | ColumnType::List => "string",
            ColumnType::Bool => "boolean",
            ColumnType::Int => "long",
        };
        writeln!(
            w,
            "<key id=\"{prefix}_{name}\" for=\"{domain}\" attr.name=\"{name}\" attr.type=\"{kind}\"/>",
            name = column.name
        )?;
    }
    Ok(())
}

fn data(w: &mut dyn Write, prefix: &str, columns: &[Column], item: &Item) -> io::Result<()> {
    for (column, value) in columns.iter().zip(&item.props) {
        let text = match value {
            Some(super::Prop::List(list)) => Cow::Borrowed(list.xml.as_str()),
            Some(value) => Cow::Owned(xml(&value.as_text())),
            None => continue,
        };
        write!(w, "<data key=\"{prefix}_{}\">{text}</data>", column.name)?;
    }
    Ok(())
}
