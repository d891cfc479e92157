//! The executor interface: apply one approved writeback job and say what happened.

use airlock_config::Capability;
pub use airlock_ledger::AttemptEffect;
use airlock_protocol::{ChangeSet, WritebackJob};
use serde_json::Value;

/// What an executor needs: the job, the proposal it came from, and the capability as
/// configured now (its guards are checked again).
#[derive(Debug, Clone)]
pub struct ApplyPlan<'a> {
    pub job: &'a WritebackJob,
    pub change_set: &'a ChangeSet,
    pub capability: &'a Capability,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeStatus {
    Applied,
    AlreadyApplied,
    Conflict,
    Failed,
}

impl OutcomeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeStatus::Applied => "applied",
            OutcomeStatus::AlreadyApplied => "already_applied",
            OutcomeStatus::Conflict => "conflict",
            OutcomeStatus::Failed => "failed",
        }
    }
}

/// The result of one attempt.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: OutcomeStatus,
    pub rows_affected: u64,
    /// The guard value expected (version column) or the row hash.
    pub previous_version: Option<Value>,
    /// The version after the write, or the current version found on a conflict.
    pub new_version: Option<Value>,
    /// A code from the documented set (`VERSION_CONFLICT`, `ROW_NOT_FOUND`, …).
    pub safe_error_code: Option<&'static str>,
    /// Operator-facing explanation (never contains credentials).
    pub detail: String,
    /// True when the attempt was rehearsed in a rolled-back transaction.
    pub dry_run: bool,
    /// For a failure: whether it proves nothing was written, leaves the outcome unknown, or
    /// settles the proposal (see [`AttemptEffect`]).
    pub effect: AttemptEffect,
}

impl Outcome {
    pub fn failed(code: &'static str, detail: impl Into<String>) -> Outcome {
        Outcome {
            status: OutcomeStatus::Failed,
            rows_affected: 0,
            previous_version: None,
            new_version: None,
            safe_error_code: Some(code),
            detail: detail.into(),
            dry_run: false,
            effect: AttemptEffect::Settled,
        }
    }

    /// The same outcome with `effect` (it matters only for failures).
    pub fn with_effect(mut self, effect: AttemptEffect) -> Outcome {
        self.effect = effect;
        self
    }

    pub fn source_database_mutated(&self) -> bool {
        self.status == OutcomeStatus::Applied && !self.dry_run && self.rows_affected > 0
    }
}

/// Applies approved jobs. One implementation per executor type.
#[async_trait::async_trait]
pub trait Executor: Send + Sync {
    /// `sql_update`, `http_handler` or `command_handler`.
    fn kind(&self) -> &'static str;

    /// Applies the job, or rehearses it when `dry_run`. Every failure is an [`Outcome`]
    /// (status `failed` with a code), never an `Err`, so each attempt leaves a receipt; its
    /// [`AttemptEffect`] says whether the failure proves nothing was written (the approval
    /// stands), leaves the outcome unknown (the approval stands; the retry's idempotency key
    /// decides) or is about the change itself (the approval ends). When unsure, unknown.
    async fn apply(&self, plan: &ApplyPlan<'_>, dry_run: bool) -> Outcome;
}
