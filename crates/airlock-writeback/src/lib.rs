//! Approval and guarded apply.
//!
//! - [`approval::authorize`] decides whether an operator may approve a proposal (roles,
//!   self-approval).
//! - [`job`] builds the writeback job of a proposal and cross-checks a job file against it.
//! - [`Executor`] applies one approved job; [`sql_update::SqlUpdate`] is the direct executor
//!   (one row, one transaction, every guard re-checked, a receipt in the same transaction).
//! - [`http_handler::HttpHandler`] and [`command_handler::CommandHandler`] hand the approved
//!   change to the team's own code (signed HTTP request, or a local program) and map its
//!   receipt; see `docs/handlers.md`.
//! - [`apply::apply`] is the whole flow: checks, ledger job, executor, receipt.
//! - [`grants::write_targets`]: the tables and columns a config's direct writes need.
//!
//! Invariant: nothing in `airlock-mcp` depends on this crate. The model-facing server has no
//! code that can approve or apply.

pub mod apply;
pub mod approval;
pub mod command_handler;
pub mod executor;
pub mod executors;
pub mod grants;
pub mod handler_outcome;
pub mod http_handler;
pub mod job;
pub mod secret;
pub mod signing;
pub mod sql_update;

pub use apply::{ApplyError, ApplyReport, apply};
pub use executor::{AttemptEffect, Executor, Outcome, OutcomeStatus};
