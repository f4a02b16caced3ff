//! Kept for the code that still names `render::escape`; the escapers live in [`crate::text`].

pub use crate::text::{dot_id, dot_label, dot_value, fnv, html, shorten, visible};
