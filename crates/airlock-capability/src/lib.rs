//! The capability engine: everything about a tool call that does not touch a database, a file
//! or the network.
//!
//! - [`Catalog`] turns a validated config into the tools a model sees (names, schemas, hints).
//! - [`args::check`] validates a call's arguments against its capability.
//! - [`plan`] builds the scoped read and the proposal patch, and checks the patch guards.
//! - [`envelope`] shapes results and errors for the model (v1 and v2 formats).
//! - [`exposure`] states what a model is never offered and checks a catalog against it.
//!
//! Invariant: this crate is pure. No `async`, no environment reads, no I/O. That is why
//! `airlock tools list` and `airlock config validate` need no database.

pub mod args;
pub mod catalog;
pub mod envelope;
pub mod error;
pub mod exposure;
pub mod plan;
pub mod sample;

pub use catalog::{AliasMode, Catalog, Tool};
pub use error::{CallCode, CallError, SafeCode};
