//! Query passes over a snapshot and a pipeline inventory: reach (what each pipeline can reach)
//! and who-can (the reverse, for one path).
//!
//! The unit of work is a *token identity*: the policies a login yields (the role's token policies,
//! the entity's and its groups' identity policies) with the entity that templates resolve
//! against. Many pipelines share one; each is compiled into an ACL and evaluated once, in
//! parallel, and pipelines are assembled from the results.

pub(crate) mod identity;
pub mod reach;
pub(crate) mod secrets;
pub(crate) mod who_can;

pub use identity::{PolicyOrigin, PolicyRef, TokenIdentity};
pub use reach::{Analysis, PipelineReach, ReachOptions, RoleReach, SecretReach, Unknown, Via};
pub use secrets::{Secret, SecretIndex};
