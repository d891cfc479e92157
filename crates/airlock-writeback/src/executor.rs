//! The executor interface: apply one approved writeback job and say what happened.

use std::borrow::Cow;
use std::fmt;

use airlock_config::Capability;
pub use airlock_ledger::AttemptEffect;
use airlock_protocol::{ChangeSet, ReceiptStatus, WritebackJob};
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
    /// The receipt status this outcome is recorded as.
    pub fn receipt_status(self) -> ReceiptStatus {
        match self {
            OutcomeStatus::Applied => ReceiptStatus::Applied,
            OutcomeStatus::AlreadyApplied => ReceiptStatus::AlreadyApplied,
            OutcomeStatus::Conflict => ReceiptStatus::Conflict,
            OutcomeStatus::Failed => ReceiptStatus::Failed,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.receipt_status().as_str()
    }
}

/// The safe error code an attempt's receipt records: one of the executors' own codes
/// (`VERSION_CONFLICT`, `HANDLER_TIMEOUT`, …) or one an app handler supplied. Always of the
/// form `^[A-Z][A-Z0-9_]{0,63}$`: a handler's code is checked once, by [`ReceiptCode::parse`],
/// and our own are checked when they are built (at compile time for constants).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReceiptCode(Cow<'static, str>);

/// Longest code a receipt records.
pub const MAX_CODE_LEN: usize = 64;

const fn is_code(b: &[u8]) -> bool {
    if b.is_empty() || b.len() > MAX_CODE_LEN || !b[0].is_ascii_uppercase() {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if !(b[i].is_ascii_uppercase() || b[i].is_ascii_digit() || b[i] == b'_') {
            return false;
        }
        i += 1;
    }
    true
}

impl ReceiptCode {
    /// One of Airlock's own codes. Panics when `code` is not of the code form, which for a
    /// `const` is a compile error.
    pub const fn of(code: &'static str) -> ReceiptCode {
        assert!(is_code(code.as_bytes()), "not a receipt code");
        ReceiptCode(Cow::Borrowed(code))
    }

    /// A code from outside (a handler's answer); `None` unless it has the code form.
    pub fn parse(code: &str) -> Option<ReceiptCode> {
        is_code(code.as_bytes()).then(|| ReceiptCode(Cow::Owned(code.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ReceiptCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
    /// A code from the documented set (`VERSION_CONFLICT`, `ROW_NOT_FOUND`, …) or the
    /// handler's own.
    pub safe_error_code: Option<ReceiptCode>,
    /// Operator-facing explanation (never contains credentials).
    pub detail: String,
    /// True when the attempt was rehearsed in a rolled-back transaction.
    pub dry_run: bool,
    /// For a failure: whether it proves nothing was written, leaves the outcome unknown, or
    /// settles the proposal (see [`AttemptEffect`]).
    pub effect: AttemptEffect,
}

impl Outcome {
    pub fn failed(code: ReceiptCode, detail: impl Into<String>) -> Outcome {
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

    /// The safe error code as text.
    pub fn code(&self) -> Option<&str> {
        self.safe_error_code.as_ref().map(ReceiptCode::as_str)
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
