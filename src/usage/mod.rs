//! Usage from the audit log: what each role's tokens actually did, against what the
//! snapshot grants them, and the least-privilege policy that covers exactly the use.
//!
//! * `parse` reads file-device audit logs (JSON lines, Vault and OpenBao) with a bounded line
//!   buffer, deserializing only the fields needed.
//! * [`collect`] links each token to the login (or parent token) that minted it through the
//!   HMAC'd accessor, falling back to entity + display name + role metadata, and aggregates
//!   (namespace, path, operation) per role; tokens nothing in the logs explains are kept as
//!   unattributed.
//! * [`report`] compares usage with the snapshot's reach (per role, and per pipeline with an
//!   inventory) and [`policy`] writes the suggested policy of each role.
//!
//! See `docs/usage.md` for the linking rules, the JSON shape and the limitations.

pub mod collect;
pub(crate) mod parse;
pub mod policy;
pub mod report;

pub use collect::{Collector, RoleKey};
pub use report::{build, ReportOptions, UsageReport};

#[cfg(test)]
mod tests;
