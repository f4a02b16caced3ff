//! blastmap: if this CI/CD pipeline is compromised, which secrets in Vault or OpenBao can the
//! attacker reach, and through what?
//!
//! Data flows one way: `export` → [`model`] (the snapshot) → `passes` → `facts` → `rules` →
//! `render`. [`review::Review`] is the one entry to an analysis: every command that analyses an
//! estate opens one (or derives a what-if's head from one) and asks it. The [`acl`] engine
//! answers "which capabilities does this set of policies grant on this path", exactly as the
//! server would; [`hcl1`] parses the HCL1 dialect Vault policies are written in. See
//! `docs/architecture.md`.
//!
//! The library's surface is the review entry ([`review`]), the inputs ([`model`], [`inventory`]),
//! the engines the answers rest on ([`acl`], [`hcl1`], [`duration`], [`login`], [`passes`]) and
//! the outputs ([`facts`], [`rules`], [`render`], [`diff`], [`usage`], [`schema`], [`text`],
//! [`output`]); [`export`], [`discover`], [`synth`] and [`graph`] are public for the benchmarks
//! and the integration tests. Ownership, the scan command and stage timings are internal.
//! Inside a module, what no test or benchmark needs is `pub(crate)`; `unreachable_pub` keeps
//! it so (a `pub` item no one outside can reach is a warning).

#![warn(unreachable_pub)]

pub mod acl;
/// The command line: the binary's, not a library interface.
#[doc(hidden)]
pub mod cli;
pub mod diff;
pub mod discover;
pub mod duration;
pub mod export;
pub mod facts;
pub mod graph;
pub mod hcl1;
pub mod inventory;
pub mod login;
pub mod model;
pub mod output;
pub(crate) mod ownership;
pub mod passes;
pub mod render;
pub mod review;
pub mod rules;
pub(crate) mod scan;
pub mod schema;
pub mod synth;
pub mod text;
pub(crate) mod timings;
pub mod usage;
