//! Neo4j's bulk-import CSV (`neo4j-admin database import full`): a directory with one
//! `nodes_<Label>.csv` per node kind (`id:ID`, `:LABEL`, then the properties) and one
//! `rels_<TYPE>.csv` per edge kind (`:START_ID`, `:END_ID`, `:TYPE`, then the properties).
//! Booleans and integers are typed in the header; lists are written as their JSON text. The
//! same files load into other engines (`docs/graph.md`). Every cell goes through
//! [`crate::text::csv_cell`].

use std::io::{self, Write};
use std::path::Path;

use super::{Column, ColumnType, EstateGraph, Item, Written, EDGE_COLUMNS, NODE_COLUMNS};
use crate::graph::{EDGE_KINDS, NODE_KINDS};
use crate::output::{self, FileMode, OutputError};
use crate::text::csv_cell;

pub(crate) fn write(estates: &[EstateGraph<'_>], dir: &Path) -> Result<Written, OutputError> {
    prepare_directory(dir)?;
    let mut written = Written::default();
    for kind in NODE_KINDS {
        let file = Table {
            path: dir.join(format!("nodes_{}.csv", kind.label())),
            fixed: &["id:ID", ":LABEL"],
            columns: NODE_COLUMNS,
            label: kind.label(),
        };
        let count = file.write(estates.iter().flat_map(|e| e.nodes_of(kind)))?;
        if count > 0 {
            written.nodes.insert(kind.label(), count);
        }
    }
    for kind in EDGE_KINDS {
        let file = Table {
            path: dir.join(format!("rels_{}.csv", kind.label())),
            fixed: &[":START_ID", ":END_ID", ":TYPE"],
            columns: EDGE_COLUMNS,
            label: kind.label(),
        };
        let count = file.write(estates.iter().flat_map(|e| e.edges_of(kind)))?;
        if count > 0 {
            written.edges.insert(kind.label(), count);
        }
    }
    Ok(written)
}

/// One CSV file: its header's fixed columns (ids, then the label or type) and properties.
struct Table {
    path: std::path::PathBuf,
    fixed: &'static [&'static str],
    columns: &'static [Column],
    label: &'static str,
}

impl Table {
    /// Write the items (none: no file) and return how many there were.
    fn write<'a>(&self, items: impl Iterator<Item = Item<'a>>) -> Result<usize, OutputError> {
        let mut items = items.peekable();
        if items.peek().is_none() {
            return Ok(0);
        }
        let mut count = 0;
        output::write_with(&self.path, FileMode::Shared, |w| {
            header(w, self.fixed, self.columns)?;
            for item in items {
                let ids: Vec<&str> = match item.ends {
                    Some((start, end)) => vec![start, end],
                    None => vec![&item.id],
                };
                row(w, &[&ids[..], &[self.label]].concat(), &item)?;
                count += 1;
            }
            Ok(())
        })?;
        Ok(count)
    }
}

/// The output directory: created when missing; an existing one must be a directory (not a
/// link), and earlier exports' files in it are replaced one by one.
fn prepare_directory(dir: &Path) -> Result<(), OutputError> {
    let file = || dir.display().to_string();
    match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(OutputError::NotADirectory {
            file: file(),
            dir: file(),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            std::fs::create_dir(dir).map_err(|source| OutputError::Unwritable {
                file: file(),
                dir: file(),
                source,
            })
        }
        Err(source) => Err(OutputError::Write {
            file: file(),
            source,
        }),
    }
}

fn header(w: &mut dyn Write, fixed: &[&str], columns: &[Column]) -> io::Result<()> {
    let mut cells: Vec<String> = fixed.iter().map(|c| c.to_string()).collect();
    cells.extend(columns.iter().map(|c| match c.kind {
        ColumnType::Text | ColumnType::List => c.name.to_string(),
        ColumnType::Bool => format!("{}:boolean", c.name),
        ColumnType::Int => format!("{}:long", c.name),
    }));
    writeln!(w, "{}", cells.join(","))
}

fn row(w: &mut dyn Write, fixed: &[&str], item: &Item) -> io::Result<()> {
    let mut line = String::new();
    for (i, cell) in fixed.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        line.push_str(&csv_cell(cell));
    }
    for value in &item.props {
        line.push(',');
        match value {
            Some(super::Prop::List(list)) => line.push_str(&list.csv),
            Some(value) => line.push_str(&csv_cell(&value.as_text())),
            None => {}
        }
    }
    line.push('\n');
    w.write_all(line.as_bytes())
}
