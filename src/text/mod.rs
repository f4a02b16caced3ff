//! Every text escaper of blastmap: how data-derived text (names from a snapshot, a CI file, an
//! audit log or a server answer) is shown in a terminal, in Markdown, in DOT and in HTML, and how
//! a path becomes a URI. One place, so every output follows the same rules
//! (`docs/security.md`).
//!
//! Names are hostile input: OpenBao accepts almost anything in a policy name, a role name or a
//! KV key (escape sequences, newlines, bidi overrides, Markdown, HTML, quotes). Every output path
//! turns them into inert text:
//!
//! * `terminal`: [`visible`] shows control characters, separators and bidi controls as
//!   escapes (`\x1b`, `\n`, `\u{202e}`); [`pad`] and [`column_width`] lay out tables by hand,
//!   because Rust's `{:width$}` panics above 65,535.
//! * `markdown`: data as code spans whose fence is longer than any backtick run inside, so no
//!   link, image, HTML, mention or issue reference can come from data.
//! * `dot`: quoted DOT ids, labels and tooltips, shortened under Graphviz's label limit.
//! * `html`: HTML text and attribute values.
//! * `uri`: RFC 3986 percent-encoding of a relative path, for SARIF artifact locations.
//! * `shell`: one POSIX shell word, for the commands blastmap suggests running next.
//! * `csv`: CSV cells of the graph's bulk-import files (inert, never a formula, one line).
//!   GraphML is XML: its text and attributes use `html`, whose escapes are XML's.

pub(crate) mod csv;
pub(crate) mod dot;
pub(crate) mod html;
pub(crate) mod markdown;
pub(crate) mod shell;
pub(crate) mod terminal;
pub(crate) mod uri;

pub use csv::cell as csv_cell;
pub use dot::{dot_id, dot_label, dot_value, fnv, shorten};
pub use html::html;
pub use markdown::{cell as md_cell, code as md_code};
pub use shell::shell_word;
pub use terminal::{column_width, pad, visible};
pub use uri::{path_reference, repository_path};
