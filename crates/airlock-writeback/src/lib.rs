//! Approval and guarded apply.
//!
//! - [`approval::decide`] checks whether an operator may approve or reject a proposal (roles,
//!   self-approval) and records the decision; [`approval::authorize`] is the check alone.
//! - [`job`] builds the writeback job of a proposal and cross-checks a job file against it.
//! - [`Executor`] applies one approved job ([`executor`]: the trait and its outcomes;
//!   [`setup::executor_for`] builds the one a capability names); [`sql_update::SqlUpdate`] is
//!   the direct executor
//!   (one row, one transaction, every guard re-checked, a receipt in the same transaction).
//! - [`http_handler::HttpHandler`] and [`command_handler::CommandHandler`] hand the approved
//!   change to the team's own code (signed HTTP request, or a local program) and map its
//!   receipt; see `docs/handlers.md`.
//! - [`probe`]: what a handler's answer to a signed no-op probe says (doctor).
//! - [`apply::apply`] is the whole flow: checks, ledger job, executor, receipt.
//! - [`grants::write_targets`]: the tables and columns a config's direct writes need.
//!
//! Invariants: nothing in `airlock-mcp` or `airlock-runtime` depends on this crate, and it is
//! the only crate that makes the [`ReviewKey`] every `airlock_ledger::Review` method asks for
//! (`crates/airlock-mcp/tests/tidy.rs`). So the model-facing server has no code that can
//! approve or apply, and nothing records a decision or an apply without the checks here.

pub mod apply;
pub mod approval;
pub mod command_handler;
pub mod executor;
pub mod grants;
pub mod handler_outcome;
pub mod http_handler;
pub mod job;
pub mod probe;
pub mod secret;
pub mod setup;
pub mod signing;
pub mod sql_update;
mod trace;

pub use apply::{ApplyError, ApplyReport, apply};
pub use executor::{AttemptEffect, Executor, Outcome, OutcomeStatus, ReceiptCode};

use airlock_review_key::ReviewKey;

/// A key for one review-side ledger call. Private: this crate never hands a key out.
fn review_key() -> ReviewKey {
    ReviewKey::issue()
}
