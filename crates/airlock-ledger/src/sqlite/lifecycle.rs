//! Proposal lifecycle writes: approve, reject, start an apply, record its receipt. Each is one
//! `BEGIN IMMEDIATE` transaction that checks the current state first, so two processes can
//! never both move a proposal out of the same state.
//!
//! ```text
//! pending_review ─approve─► approved ─begin_apply─► pending_worker ─receipt─► applied | conflict | failed
//!   │                        │  ▲                      │  ▲  (retry after a crash, or     │
//!   │                        │  └─failed, nothing ─────┘  └── failed, outcome unknown)   │
//!   │                        │    written                                                │
//!   └────reject──────► rejected ◄────reject──────────────────────── conflict/failed ─approve─► approved
//! ```
//!
//! A `failed` receipt ends the approval only when it is settled ([`AttemptEffect`]): when it
//! proves nothing was written the proposal returns to `approved`; when the outcome is unknown
//! it stays `pending_worker`. Either way the next apply retries without a new decision, as a
//! new attempt of the same job (same idempotency key).

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde_json::json;

use super::read;
use super::write::append_event;
use crate::chain::{self, PROPOSAL_ROW, ProposalRow};
use crate::{
    Actor, ApprovalRecord, AttemptEffect, Decision, JobRecord, LedgerError, RecordedReceipt,
    StoredProposal, StoredReceipt,
};
use airlock_protocol::ProposalState::{
    self, Applied, Approved, Canceled, Conflict, Failed, PendingReview, PendingWorker, Rejected,
};
use airlock_protocol::{ExecutionReceipt, ReceiptStatus, WritebackJob, now_rfc3339};

/// States a proposal may be approved from.
pub const APPROVABLE: &[ProposalState] = &[PendingReview, Conflict, Failed];
/// States a proposal may be rejected from.
pub const REJECTABLE: &[ProposalState] = &[PendingReview, Approved, Conflict, Failed];
/// States an apply may start from (`pending_worker`: a crashed or concurrent attempt).
pub const APPLICABLE: &[ProposalState] = &[Approved, PendingWorker];

/// Refuses an action whose proposal is not in one of the `allowed` states.
pub fn check_state(
    p: &StoredProposal,
    allowed: &[ProposalState],
    action: &'static str,
) -> Result<(), LedgerError> {
    if allowed.contains(&p.state) {
        Ok(())
    } else {
        Err(LedgerError::InvalidState {
            proposal_id: p.proposal_id.clone(),
            state: p.state,
            action,
        })
    }
}

/// The rule of a decision on `p` (as read under the transaction's lock): the content the person
/// saw must be the stored one, a shadow proposal is never approved, and the state must allow
/// it. Returns the state the proposal moves to and the event kind that records it.
pub fn decision_rule(
    p: &StoredProposal,
    d: &Decision,
    approve: bool,
) -> Result<(ProposalState, &'static str), LedgerError> {
    if p.proposal_hash != d.proposal_hash {
        return Err(LedgerError::HashMismatch {
            proposal_id: p.proposal_id.clone(),
            expected: d.proposal_hash.clone(),
            found: p.proposal_hash.clone(),
        });
    }
    let (status, allowed, action, kind) = if approve {
        if p.change_set.mode == "shadow" {
            return Err(LedgerError::Shadow {
                proposal_id: p.proposal_id.clone(),
            });
        }
        (Approved, APPROVABLE, "approve", "proposal_approved")
    } else {
        (Rejected, REJECTABLE, "reject", "proposal_rejected")
    };
    check_state(p, allowed, action)?;
    Ok((status, kind))
}

/// Moves a proposal (as read in this transaction) to `state`; returns the row it leaves, which
/// the caller's event carries. `source_database_mutated` never goes back to false.
fn set_state(
    tx: &Connection,
    p: &StoredProposal,
    state: ProposalState,
    mutated: bool,
    at: &str,
) -> Result<ProposalRow, LedgerError> {
    let row = ProposalRow::moved(p, state, mutated, at);
    tx.execute(
        "UPDATE proposals SET state = ?2, updated_at = ?3, source_database_mutated = ?4
         WHERE proposal_id = ?1",
        params![
            p.proposal_id,
            row.state,
            row.updated_at,
            row.source_database_mutated
        ],
    )?;
    Ok(row)
}

pub(crate) fn decide(
    conn: &mut Connection,
    d: Decision,
    approve: bool,
) -> Result<StoredProposal, LedgerError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let p = read::proposal(&tx, &d.proposal_id)?;
    let (status, kind) = decision_rule(&p, &d, approve)?;
    let now = now_rfc3339();
    tx.execute(
        "INSERT INTO approvals (proposal_id, proposal_version, proposal_hash, approver, role, status, reason, created_at, actor_source, role_verified)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![p.proposal_id, p.proposal_version, p.proposal_hash, d.actor.name, d.role, status.as_str(), d.reason, now, d.actor.source, d.role_verified],
    )?;
    let record = ApprovalRecord {
        approval_id: tx.last_insert_rowid(),
        proposal_id: p.proposal_id.clone(),
        proposal_version: p.proposal_version,
        proposal_hash: p.proposal_hash.clone(),
        approver: d.actor.name.clone(),
        role: d.role.clone(),
        status: status.as_str().into(),
        reason: d.reason.clone(),
        created_at: now.clone(),
        actor_source: Some(d.actor.source.clone()),
        role_verified: d.role_verified,
    };
    let row = set_state(&tx, &p, status, false, &now)?;
    append_event(
        &tx,
        kind,
        Some(&p.proposal_id),
        ("approval", &record.approval_id.to_string()),
        &d.actor.name,
        &json!({"state": status, "previous_state": p.state, "proposal_hash": p.proposal_hash, "role": d.role, "role_verified": d.role_verified, "actor_source": d.actor.source, "reason": d.reason, PROPOSAL_ROW: row}),
        &chain::record_hash(&record),
        &now,
    )?;
    let updated = read::proposal(&tx, &p.proposal_id)?;
    tx.commit()?;
    Ok(updated)
}

pub(crate) fn begin_apply(
    conn: &mut Connection,
    job: &WritebackJob,
    actor: &Actor,
) -> Result<JobRecord, LedgerError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let p = read::proposal(&tx, &job.proposal_id)?;
    if p.proposal_hash != job.proposal_hash {
        return Err(LedgerError::HashMismatch {
            proposal_id: p.proposal_id,
            expected: job.proposal_hash.clone(),
            found: p.proposal_hash,
        });
    }
    check_state(&p, APPLICABLE, "apply")?;
    let attempt: u32 = tx.query_row(
        "SELECT COALESCE(MAX(attempt), 0) + 1 FROM writeback_jobs WHERE writeback_job_id = ?1",
        [&job.writeback_job_id],
        |r| r.get(0),
    )?;
    let mut job = job.clone();
    job.lease.attempt = attempt;
    let now = now_rfc3339();
    tx.execute(
        "INSERT INTO writeback_jobs (writeback_job_id, attempt, proposal_id, proposal_hash, actor, job_json, created_at, actor_source)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![job.writeback_job_id, attempt, job.proposal_id, job.proposal_hash, actor.name, serde_json::to_string(&job)?, now, actor.source],
    )?;
    let record = JobRecord {
        job_row_id: tx.last_insert_rowid(),
        writeback_job_id: job.writeback_job_id.clone(),
        attempt,
        proposal_id: job.proposal_id.clone(),
        proposal_hash: job.proposal_hash.clone(),
        actor: actor.name.clone(),
        job,
        created_at: now.clone(),
        actor_source: Some(actor.source.clone()),
    };
    let row = set_state(&tx, &p, PendingWorker, false, &now)?;
    append_event(
        &tx,
        "writeback_job_recorded",
        Some(&p.proposal_id),
        ("writeback_job", &record.job_row_id.to_string()),
        &actor.name,
        &json!({"state": PendingWorker, "previous_state": p.state, "writeback_job_id": record.writeback_job_id, "attempt": attempt, "actor_source": actor.source, PROPOSAL_ROW: row}),
        &chain::record_hash(&record),
        &now,
    )?;
    tx.commit()?;
    Ok(record)
}

/// Proposal state after a receipt with this status and effect.
pub fn state_of(status: ReceiptStatus, effect: AttemptEffect) -> ProposalState {
    match (status, effect) {
        (ReceiptStatus::Applied | ReceiptStatus::AlreadyApplied, _) => Applied,
        (ReceiptStatus::Conflict, _) => Conflict,
        (ReceiptStatus::Canceled, _) => Canceled,
        (ReceiptStatus::Failed, AttemptEffect::NothingWritten) => Approved,
        (ReceiptStatus::Failed, AttemptEffect::OutcomeUnknown) => PendingWorker,
        (ReceiptStatus::Failed, AttemptEffect::Settled) => Failed,
    }
}

/// What recording a receipt does to its proposal, the same on every ledger engine.
pub struct ReceiptOutcome {
    /// The receipt as the ledger stores it (its record hash covers this).
    pub stored: StoredReceipt,
    /// The proposal's state afterwards. An applied proposal stays applied: a late receipt
    /// (a concurrent apply that found the write done) is kept beside the one that applied it.
    pub state: ProposalState,
    /// The effect the event records: a failure's own, anything else settled.
    pub effect: AttemptEffect,
}

/// The outcome of recording `receipt` (stored as `receipt_id` at `now`) for proposal `p`.
pub fn receipt_outcome(
    p: &StoredProposal,
    receipt: &airlock_protocol::ExecutionReceipt,
    effect: AttemptEffect,
    receipt_id: i64,
    now: &str,
) -> ReceiptOutcome {
    ReceiptOutcome {
        stored: StoredReceipt {
            receipt_id,
            writeback_job_id: receipt.writeback_job_id.clone(),
            proposal_id: receipt.proposal_id.clone(),
            status: receipt.status,
            idempotency_key: receipt.idempotency_key.clone(),
            source_database_mutated: receipt.source_database_mutated,
            receipt: receipt.clone(),
            created_at: now.to_owned(),
        },
        state: if p.state == Applied {
            Applied
        } else {
            state_of(receipt.status, effect)
        },
        effect: if receipt.status == ReceiptStatus::Failed {
            effect
        } else {
            AttemptEffect::Settled
        },
    }
}

impl ReceiptOutcome {
    /// The receipt event's kind (`writeback_applied`, `writeback_conflict`, …).
    pub fn event_kind(&self) -> String {
        format!("writeback_{}", self.stored.status)
    }

    /// The receipt event's payload: what the receipt said, the row it leaves `p` with, and
    /// the attempt it ends.
    pub fn event_payload(
        &self,
        p: &StoredProposal,
        row: &ProposalRow,
        attempt: Option<u32>,
    ) -> serde_json::Value {
        let r = &self.stored.receipt;
        json!({
            "state": self.state,
            "previous_state": p.state,
            "writeback_job_id": r.writeback_job_id,
            "rows_affected": r.rows_affected,
            "source_database_mutated": r.source_database_mutated,
            "safe_error_code": r.safe_error_code,
            "receipt_hash": r.receipt_hash,
            PROPOSAL_ROW: row,
            "attempt": attempt,
            "effect": self.effect.as_str(),
            "approval_stands": matches!(self.state, Approved | PendingWorker),
        })
    }
}

pub(crate) fn record_receipt(
    conn: &mut Connection,
    receipt: &ExecutionReceipt,
    effect: AttemptEffect,
    actor: &str,
) -> Result<RecordedReceipt, LedgerError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let p = read::proposal(&tx, &receipt.proposal_id)?;
    // A receipt arriving after another process already recorded `applied` (a concurrent
    // apply that found the write done) is kept, and the proposal stays applied.
    check_state(&p, &[PendingWorker, Applied], "record a receipt for")?;
    let now = now_rfc3339();
    tx.execute(
        "INSERT INTO receipts (writeback_job_id, proposal_id, status, idempotency_key, source_database_mutated, receipt_json, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            receipt.writeback_job_id,
            receipt.proposal_id,
            receipt.status.as_str(),
            receipt.idempotency_key,
            receipt.source_database_mutated as i64,
            serde_json::to_string(receipt)?,
            now
        ],
    )?;
    let outcome = receipt_outcome(&p, receipt, effect, tx.last_insert_rowid(), &now);
    let attempt: Option<u32> = tx.query_row(
        "SELECT MAX(attempt) FROM writeback_jobs WHERE writeback_job_id = ?1",
        [&receipt.writeback_job_id],
        |r| r.get(0),
    )?;
    let row = set_state(
        &tx,
        &p,
        outcome.state,
        receipt.source_database_mutated,
        &now,
    )?;
    append_event(
        &tx,
        &outcome.event_kind(),
        Some(&p.proposal_id),
        ("receipt", &outcome.stored.receipt_id.to_string()),
        actor,
        &outcome.event_payload(&p, &row, attempt),
        &chain::record_hash(&outcome.stored),
        &now,
    )?;
    tx.commit()?;
    Ok(RecordedReceipt {
        receipt: outcome.stored,
        state: outcome.state,
    })
}

/// The receipt that applied a proposal, if any.
pub(crate) fn applied_receipt(
    conn: &Connection,
    proposal_id: &str,
) -> Result<Option<StoredReceipt>, LedgerError> {
    let id: Option<i64> = conn
        .query_row(
            "SELECT receipt_id FROM receipts WHERE proposal_id = ?1 AND status IN (?2, ?3)
             ORDER BY status = ?2 DESC, receipt_id LIMIT 1",
            params![
                proposal_id,
                ReceiptStatus::Applied.as_str(),
                ReceiptStatus::AlreadyApplied.as_str()
            ],
            |r| r.get(0),
        )
        .optional()?;
    match id {
        Some(id) => read::receipt_by_id(conn, id),
        None => Ok(None),
    }
}
