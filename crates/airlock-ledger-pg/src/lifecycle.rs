//! Proposal lifecycle writes across a fleet: approve, reject, start an apply, record its
//! receipt. Each runs in one transaction that first locks the proposal's row
//! (`SELECT … FOR UPDATE`), so two servers (or CLI processes) can never both move a proposal
//! out of the same state; the states and transitions are the SQLite ledger's
//! ([`airlock_ledger::rules`]).
//!
//! Exactly once: an apply attempt is a `writeback_jobs` row whose `attempt` is the fencing
//! token and whose job carries a lease (`lease.expires_at`). `begin_apply` starts from
//! `approved`, or from `pending_worker` only when the latest attempt is settled for now (its
//! receipt said the outcome is unknown) or its lease has expired (its worker died or
//! stalled); while a lease is live it refuses with [`LedgerError::LeaseHeld`], so one worker
//! runs the executor at a time. `record_receipt` refuses ([`LedgerError::Fenced`]) a receipt
//! from an attempt this ledger began when a newer attempt has taken the job over since.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::tx::Tx;
use airlock_ledger::rules::{self, APPLICABLE, PROPOSAL_ROW, ProposalRow};
use airlock_ledger::{
    Actor, ApprovalRecord, AttemptEffect, Decision, JobRecord, LedgerError, RecordedReceipt,
    StoredProposal,
};
use airlock_protocol::ProposalState::{self, Applied, PendingWorker};
use airlock_protocol::{ExecutionReceipt, WritebackJob, now_rfc3339};
use serde_json::json;

use crate::error::Pg;
use crate::read;
use crate::writer::{Events, NewEvent};

/// Moves the proposal to `state` within the statement that records the row covering the
/// move: `insert` (an `INSERT … RETURNING` whose parameters start at `$5`) runs after a
/// data-modifying `WITH` that updates the proposal (`$1` id, `$2` state, `$3` time, `$4`
/// mutated), so the step costs one round trip instead of two. The same statement draws the
/// sequence number of the step's event, under the chain's head taken just before
/// ([`Events::claim_lane`]): the step's last statement before its event. Returns the new row
/// id and the proposal's row as the event records it.
async fn record_and_move(
    tx: &Tx,
    events: &mut Events,
    p: &StoredProposal,
    (state, mutated, at): (ProposalState, bool, &str),
    insert: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<(i64, ProposalRow), LedgerError> {
    let row = ProposalRow::moved(p, state, mutated, at);
    let sql = format!(
        "WITH moved AS (UPDATE proposals SET state = $2, updated_at = $3,
                source_database_mutated = $4 WHERE proposal_id = $1),
            recorded AS ({insert})
         SELECT recorded.*, nextval('event_seq') FROM recorded"
    );
    let statement = read::prepared(tx.client(), &sql).await?;
    events.claim_lane().await;
    let mut all: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![
        &p.proposal_id,
        &row.state,
        &row.updated_at,
        &row.source_database_mutated,
    ];
    all.extend_from_slice(params);
    let recorded = tx.query_one(&statement, &all).await.pg()?;
    events.drawn(recorded.get(1));
    Ok((recorded.get(0), row))
}

pub(crate) async fn decide(
    tx: &Tx,
    d: Decision,
    approve: bool,
    events: &mut Events,
) -> Result<StoredProposal, LedgerError> {
    let p = read::proposal_locked(tx.client(), &d.proposal_id, true).await?;
    let (status, kind) = rules::decision_rule(&p, &d, approve)?;
    let now = now_rfc3339();
    let (approval_id, row) = record_and_move(
        tx,
        events,
        &p,
        (status, false, &now),
        "INSERT INTO approvals (proposal_id, proposal_version, proposal_hash, approver, role,
                status, reason, created_at, actor_source, role_verified)
             VALUES ($1, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING approval_id",
        &[
            &i64::from(p.proposal_version),
            &p.proposal_hash,
            &d.actor.name,
            &d.role,
            &status.as_str(),
            &d.reason,
            &now,
            &d.actor.source,
            &d.role_verified,
        ],
    )
    .await?;
    let record = ApprovalRecord {
        approval_id,
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
    events.push(NewEvent {
        kind: kind.into(),
        proposal_id: Some(p.proposal_id.clone()),
        subject_kind: "approval",
        subject_id: approval_id.to_string(),
        actor: d.actor.name.clone(),
        payload: json!({"state": status, "previous_state": p.state, "proposal_hash": p.proposal_hash, "role": d.role, "role_verified": d.role_verified, "actor_source": d.actor.source, "reason": d.reason, PROPOSAL_ROW: row}),
        record_hash: rules::record_hash(&record),
        created_at: now,
    });
    // The row as the update left it; nothing else of the proposal changes.
    Ok(StoredProposal {
        state: status,
        updated_at: row.updated_at,
        source_database_mutated: row.source_database_mutated,
        ..p
    })
}

/// The latest attempt of a job: its number, its job (for the lease) and whether a receipt
/// settled it.
struct Latest {
    attempt: u32,
    job_json: String,
    has_receipt: bool,
}

impl Latest {
    /// When its lease ends; read only when a lease may still hold.
    fn expires_at(&self) -> Result<String, LedgerError> {
        serde_json::from_str::<WritebackJob>(&self.job_json)
            .map(|job| job.lease.expires_at)
            .map_err(|e| crate::error::corrupt(format!("job attempt {}", self.attempt), e))
    }
}

/// The proposal's row, locked, and the latest attempt of its job, sent in one round trip.
///
/// The attempt is read in a statement of its own after the row lock: under READ COMMITTED a
/// statement sees what committed before it began, and a join in the locking statement would
/// keep the attempts it saw before waiting for the lock (an apply that waited there would then
/// number its attempt from a stale one). Sending the second statement before the first has
/// answered changes none of that: the server runs them one after the other, and the second
/// begins, with a fresh snapshot, only once the first holds the lock. Both are prepared
/// first, so each is queued whole when polled, the lock first.
async fn locked_with_latest(
    tx: &Tx,
    proposal_id: &str,
    writeback_job_id: &str,
) -> Result<(StoredProposal, Option<Latest>), LedgerError> {
    let lock = read::lock_statement(tx.client()).await?;
    let latest = read::prepared(
        tx.client(),
        "SELECT j.attempt, j.job_json,
                EXISTS (SELECT 1 FROM receipts r
                    WHERE r.writeback_job_id = j.writeback_job_id AND r.attempt = j.attempt)
             FROM writeback_jobs j WHERE j.writeback_job_id = $1
             ORDER BY j.attempt DESC LIMIT 1",
    )
    .await?;
    let (locked, latest) = futures_util::future::try_join(
        async { tx.query_opt(&lock, &[&proposal_id]).await.pg() },
        async { tx.query_opt(&latest, &[&writeback_job_id]).await.pg() },
    )
    .await?;
    let p = read::proposal_from_row(&read::found(locked, proposal_id)?)?;
    let Some(row) = latest else {
        return Ok((p, None));
    };
    let attempt: i64 = read::col(&row, 0)?;
    let latest = Latest {
        attempt: u32::try_from(attempt).unwrap_or(u32::MAX),
        job_json: read::col(&row, 1)?,
        has_receipt: read::col(&row, 2)?,
    };
    Ok((p, Some(latest)))
}

/// Whether an RFC 3339 time is in the past (an unreadable one counts as expired: a lease
/// nobody can read protects nothing).
fn expired(at: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(at).map_or(true, |t| t <= chrono::Utc::now())
}

pub(crate) async fn begin_apply(
    tx: &Tx,
    job: &WritebackJob,
    actor: &Actor,
    events: &mut Events,
) -> Result<JobRecord, LedgerError> {
    let (p, latest) = locked_with_latest(tx, &job.proposal_id, &job.writeback_job_id).await?;
    if p.proposal_hash != job.proposal_hash {
        return Err(LedgerError::HashMismatch {
            proposal_id: p.proposal_id,
            expected: job.proposal_hash.clone(),
            found: p.proposal_hash,
        });
    }
    rules::check_state(&p, APPLICABLE, "apply")?;
    if p.state == PendingWorker
        && let Some(l) = &latest
        && !l.has_receipt
    {
        let expires_at = l.expires_at()?;
        if !expired(&expires_at) {
            return Err(LedgerError::LeaseHeld {
                proposal_id: p.proposal_id,
                attempt: l.attempt,
                expires_at,
            });
        }
    }
    let attempt = latest.map_or(1, |l| l.attempt.saturating_add(1));
    let mut job = job.clone();
    job.lease.attempt = attempt;
    let now = now_rfc3339();
    let (job_row_id, row) = record_and_move(
        tx,
        events,
        &p,
        (PendingWorker, false, &now),
        "INSERT INTO writeback_jobs (writeback_job_id, attempt, proposal_id, proposal_hash,
                actor, job_json, created_at, actor_source)
             VALUES ($5, $6, $1, $7, $8, $9, $10, $11) RETURNING job_row_id",
        &[
            &job.writeback_job_id,
            &i64::from(attempt),
            &job.proposal_hash,
            &actor.name,
            &serde_json::to_string(&job)?,
            &now,
            &actor.source,
        ],
    )
    .await?;
    let record = JobRecord {
        job_row_id,
        writeback_job_id: job.writeback_job_id.clone(),
        attempt,
        proposal_id: job.proposal_id.clone(),
        proposal_hash: job.proposal_hash.clone(),
        actor: actor.name.clone(),
        job,
        created_at: now.clone(),
        actor_source: Some(actor.source.clone()),
    };
    events.push(NewEvent {
        kind: "writeback_job_recorded".into(),
        proposal_id: Some(p.proposal_id.clone()),
        subject_kind: "writeback_job",
        subject_id: job_row_id.to_string(),
        actor: actor.name.clone(),
        payload: json!({"state": PendingWorker, "previous_state": p.state, "writeback_job_id": record.writeback_job_id, "attempt": attempt, "actor_source": actor.source, PROPOSAL_ROW: row}),
        record_hash: rules::record_hash(&record),
        created_at: now,
    });
    Ok(record)
}

/// Attempts this ledger began, by writeback job id: the fencing token its receipts carry.
pub(crate) type Begun = Mutex<HashMap<String, u32>>;

pub(crate) async fn record_receipt(
    tx: &Tx,
    receipt: &ExecutionReceipt,
    effect: AttemptEffect,
    actor: &str,
    begun: Option<u32>,
    events: &mut Events,
) -> Result<RecordedReceipt, LedgerError> {
    let (p, latest) =
        locked_with_latest(tx, &receipt.proposal_id, &receipt.writeback_job_id).await?;
    let current = latest.map_or(0, |l| l.attempt);
    // The fencing check: this worker's attempt is no longer the job's.
    if let Some(mine) = begun
        && mine != current
    {
        return Err(LedgerError::Fenced {
            proposal_id: p.proposal_id,
            attempt: mine,
            current,
        });
    }
    rules::check_state(&p, &[PendingWorker, Applied], "record a receipt for")?;
    let attempt = begun.unwrap_or(current);
    let now = now_rfc3339();
    // The outcome's state does not depend on the receipt's row id, filled in below.
    let mut outcome = rules::receipt_outcome(&p, receipt, effect, 0, &now);
    let (receipt_id, row) = record_and_move(
        tx,
        events,
        &p,
        (outcome.state, receipt.source_database_mutated, &now),
        "INSERT INTO receipts (writeback_job_id, attempt, proposal_id, status,
                idempotency_key, source_database_mutated, receipt_json, created_at)
             VALUES ($5, $6, $1, $7, $8, $9, $10, $11) RETURNING receipt_id",
        &[
            &receipt.writeback_job_id,
            &i64::from(attempt),
            &receipt.status.as_str(),
            &receipt.idempotency_key,
            &receipt.source_database_mutated,
            &serde_json::to_string(receipt)?,
            &now,
        ],
    )
    .await?;
    outcome.stored.receipt_id = receipt_id;
    events.push(NewEvent {
        kind: outcome.event_kind(),
        proposal_id: Some(p.proposal_id.clone()),
        subject_kind: "receipt",
        subject_id: receipt_id.to_string(),
        actor: actor.to_owned(),
        payload: outcome.event_payload(&p, &row, Some(attempt)),
        record_hash: rules::record_hash(&outcome.stored),
        created_at: now,
    });
    Ok(RecordedReceipt {
        receipt: outcome.stored,
        state: outcome.state,
    })
}
