//! The direct executor: one row, one transaction.
//!
//! Inside a single transaction on the source's write connection:
//! 1. lock the row by primary key AND tenant (`SELECT … FOR UPDATE`; SQLite holds the database
//!    write lock from `BEGIN IMMEDIATE`);
//! 2. look for this proposal's receipt in `synapsor_writeback_receipts`: a write that already
//!    happened → `already_applied`, nothing written. Then no row (or a key that no longer fits
//!    its column) → `conflict` (`ROW_NOT_FOUND`). Steps 1 and 2 are one call
//!    (`WriteTx::lock_for_apply`): on Postgres one round trip with the `BEGIN`;
//! 3. re-check the conflict guard against the locked row: the version column's value, or the
//!    hash of the row as the proposal read it → `conflict` (`VERSION_CONFLICT`);
//! 4. re-check numeric bounds and transition guards against today's config and the locked row;
//! 5. `UPDATE … SET <patched columns> WHERE pk AND tenant AND version = <seen>`, which must
//!    affect exactly one row;
//! 6. insert the receipt row; commit. The update and its receipt commit together or not at all.
//!
//! The UPDATE sets exactly the patched columns, so a writer role with column-scoped UPDATE on
//! them (the original's documented grants) is enough, and a trigger that advances the version
//! column does so once. With `conflict_guard.bump: true` Airlock also advances the version
//! column: an integer by one, a timestamp to the current time (strictly later than before);
//! the writer then needs UPDATE on that column too. Either way the WHERE clause still requires
//! the version seen at proposal time, so a concurrent change is a conflict.
//!
//! Dry runs do every step and roll back.
//!
//! What a failure proves ([`AttemptEffect`]): any database error before the commit (no
//! connection, a permission refused, a lock wait, a lost connection) rolls the transaction
//! back, so nothing was written and the approval stands. A failed COMMIT leaves the outcome
//! unknown; the retry's receipt lookup settles it. Conflicts, policy refusals, values that do
//! not fit and multi-row matches are about the change and settle the attempt.

use std::sync::Arc;

use airlock_capability::plan;
use airlock_db::{
    DbError, DbErrorKind, Ident, Param, ReceiptRow, RowUpdate, ScopedSelect, SourceSettings,
    VersionAdvance, WriteTx, Writer,
};
use airlock_protocol::{ConflictGuard, ReceiptStatus, hash_json};
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use crate::executor::{ApplyPlan, AttemptEffect, Executor, Outcome, OutcomeStatus, ReceiptCode};

/// Applies proposals with a guarded single-row UPDATE. Connects on first use and keeps the
/// pool; a connection failure is a `failed` outcome like any other.
#[derive(Debug)]
pub struct SqlUpdate {
    settings: SourceSettings,
    writer: OnceCell<Arc<dyn Writer>>,
}

impl SqlUpdate {
    pub fn new(settings: SourceSettings) -> SqlUpdate {
        SqlUpdate {
            settings,
            writer: OnceCell::new(),
        }
    }

    async fn writer(&self) -> Result<&Arc<dyn Writer>, DbError> {
        self.writer
            .get_or_try_init(|| async {
                let writer = airlock_db::connect_writer(&self.settings).await?;
                writer.ensure_receipts_table().await?;
                Ok(writer)
            })
            .await
    }
}

#[async_trait::async_trait]
impl Executor for SqlUpdate {
    fn kind(&self) -> &'static str {
        "sql_update"
    }

    async fn apply(&self, plan: &ApplyPlan<'_>, dry_run: bool) -> Outcome {
        let writer = match self.writer().await {
            Ok(w) => w,
            Err(e) => return before_commit(&e),
        };
        let mut tx = match writer.begin().await {
            Ok(tx) => tx,
            Err(e) => return before_commit(&e),
        };
        let result = attempt(tx.as_mut(), plan, dry_run).await;
        match result {
            // A commit that fails may still have committed (the answer was lost with the
            // connection): the retry finds the receipt row if it did.
            Ok(Step::Commit(outcome)) => match tx.commit().await {
                Ok(()) => outcome,
                Err(e) => db_failure(&e).with_effect(AttemptEffect::OutcomeUnknown),
            },
            Ok(Step::Rollback(mut outcome)) => {
                if let Err(e) = tx.rollback().await {
                    tracing::warn!(error = %e, "rollback failed; the transaction is discarded with its connection");
                }
                outcome.dry_run = dry_run;
                outcome
            }
            Err(e) => {
                let _ = tx.rollback().await;
                before_commit(&e)
            }
        }
    }
}

/// The codes `sql_update` receipts carry (docs/review-and-apply.md).
pub mod codes {
    use crate::executor::ReceiptCode;

    /// The database closed the connection inside the transaction, before the commit: the
    /// server rolled it back, nothing was applied, and a retry is safe.
    pub const CONNECTION_LOST: ReceiptCode = ReceiptCode::of("CONNECTION_LOST");
    /// No connection to the database.
    pub const DATABASE_UNAVAILABLE: ReceiptCode = ReceiptCode::of("DATABASE_UNAVAILABLE");
    /// The row has no value for the conflict guard column.
    pub const GUARD_MISSING: ReceiptCode = ReceiptCode::of("GUARD_MISSING");
    /// A value does not fit its column.
    pub const INVALID_VALUE: ReceiptCode = ReceiptCode::of("INVALID_VALUE");
    /// The row stayed locked, or the statement timed out.
    pub const LOCK_TIMEOUT: ReceiptCode = ReceiptCode::of("LOCK_TIMEOUT");
    /// The update would touch more than one row.
    pub const MULTI_ROW_WRITE_BLOCKED: ReceiptCode = ReceiptCode::of("MULTI_ROW_WRITE_BLOCKED");
    /// The write role lacks a grant.
    pub const PERMISSION_DENIED: ReceiptCode = ReceiptCode::of("PERMISSION_DENIED");
    /// The change is outside today's capability policy.
    pub const POLICY_VIOLATION: ReceiptCode = ReceiptCode::of("POLICY_VIOLATION");
    /// No row has the primary key inside the proposal's tenant.
    pub const ROW_NOT_FOUND: ReceiptCode = ReceiptCode::of("ROW_NOT_FOUND");
    /// The table or a column does not exist.
    pub const SCHEMA_MISMATCH: ReceiptCode = ReceiptCode::of("SCHEMA_MISMATCH");
    /// Any other database failure.
    pub const TRANSACTION_FAILED: ReceiptCode = ReceiptCode::of("TRANSACTION_FAILED");
    /// The conflict guard no longer matches: the row changed after the proposal.
    pub const VERSION_CONFLICT: ReceiptCode = ReceiptCode::of("VERSION_CONFLICT");
}

enum Step {
    Commit(Outcome),
    Rollback(Outcome),
}

fn ident(s: &str) -> Result<Ident, DbError> {
    Ident::new(s).ok_or_else(|| {
        DbError::new(
            DbErrorKind::InvalidValue,
            format!("unsafe identifier `{s}` in job"),
        )
    })
}

fn param(v: &Value) -> Result<Param, DbError> {
    Param::from_json(v)
        .ok_or_else(|| DbError::new(DbErrorKind::InvalidValue, "patch values must be scalars"))
}

fn outcome(status: OutcomeStatus, code: Option<ReceiptCode>, detail: impl Into<String>) -> Outcome {
    Outcome {
        status,
        rows_affected: 0,
        previous_version: None,
        new_version: None,
        safe_error_code: code,
        detail: detail.into(),
        dry_run: false,
        effect: AttemptEffect::Settled,
    }
}

async fn attempt(
    tx: &mut dyn WriteTx,
    plan: &ApplyPlan<'_>,
    dry_run: bool,
) -> Result<Step, DbError> {
    let job = plan.job;
    let cap = plan.capability;
    let schema = match &cap.target.schema {
        Some(s) => Some(ident(s)?),
        None => None,
    };
    let table = ident(&job.target.table)?;
    let key = (
        ident(&job.target.primary_key.column)?,
        param(&job.target.primary_key.value)?,
    );
    let tenant = (
        ident(&job.tenant_guard.column)?,
        param(&job.tenant_guard.value)?,
    );
    // Read exactly the columns the proposal read, so the row hash compares like with like.
    let columns: Vec<Ident> = plan
        .change_set
        .before
        .keys()
        .map(|c| ident(c))
        .collect::<Result<_, _>>()?;
    let select = ScopedSelect {
        schema: schema.clone(),
        table: table.clone(),
        columns,
        key_column: key.0.clone(),
        key_value: key.1.clone(),
        tenant: Some(tenant.clone()),
        limit: 2,
    };
    // The receipt is looked up after the row lock: a concurrent apply of the same proposal has
    // either committed its receipt (seen now) or not started its write.
    let (rows, receipt) = match tx.lock_for_apply(&select, &job.idempotency_key).await {
        Ok(locked) => (locked.rows, locked.receipt),
        // The key does not fit its column (the table changed since the proposal): no row can
        // have it, and no apply of this proposal can have written.
        Err(e) if e.kind == DbErrorKind::InvalidValue => (Vec::new(), None),
        Err(e) => return Err(e),
    };
    if let Some(existing) = receipt {
        let o = outcome(
            OutcomeStatus::AlreadyApplied,
            None,
            format!(
                "the write was already applied (receipt status {})",
                existing.status
            ),
        );
        return Ok(Step::Rollback(o));
    }
    let row = match rows.as_slice() {
        [] => {
            return Ok(Step::Rollback(outcome(
                OutcomeStatus::Conflict,
                Some(codes::ROW_NOT_FOUND),
                "no row with this primary key in the proposal's tenant",
            )));
        }
        [row] => row,
        _ => {
            return Ok(Step::Rollback(outcome(
                OutcomeStatus::Failed,
                Some(codes::MULTI_ROW_WRITE_BLOCKED),
                "the primary key matched more than one row",
            )));
        }
    };

    // The conflict guard, against the locked row.
    let (previous, version_check) = match &job.conflict_guard {
        ConflictGuard::Column {
            column,
            expected_value,
        } => {
            let current = row.get(column).cloned().unwrap_or(Value::Null);
            if current != *expected_value {
                let mut o = outcome(
                    OutcomeStatus::Conflict,
                    Some(codes::VERSION_CONFLICT),
                    format!("`{column}` changed since the proposal"),
                );
                o.previous_version = Some(expected_value.clone());
                o.new_version = Some(current);
                return Ok(Step::Rollback(o));
            }
            (
                expected_value.clone(),
                Some((ident(column)?, param(expected_value)?)),
            )
        }
        ConflictGuard::RowHash { expected_hash } => {
            let current = hash_json(&Value::Object(row.clone()));
            if current != *expected_hash {
                let mut o = outcome(
                    OutcomeStatus::Conflict,
                    Some(codes::VERSION_CONFLICT),
                    "the row changed since the proposal (row hash differs)",
                );
                o.previous_version = Some(Value::String(expected_hash.clone()));
                o.new_version = Some(Value::String(current));
                return Ok(Step::Rollback(o));
            }
            (Value::String(expected_hash.clone()), None)
        }
        ConflictGuard::None => {
            return Ok(Step::Rollback(outcome(
                OutcomeStatus::Failed,
                Some(codes::GUARD_MISSING),
                "the job has no conflict guard",
            )));
        }
    };

    // Bounds and transitions, as configured today, against the locked row.
    if let Err(e) = plan::check_guards(cap, row, &job.patch) {
        return Ok(Step::Rollback(outcome(
            OutcomeStatus::Failed,
            Some(codes::POLICY_VIOLATION),
            e.message,
        )));
    }

    // Only the patched columns are written, unless the capability asks Airlock to advance the
    // version column itself (`conflict_guard.bump`, as configured today).
    let advance = match &version_check {
        Some((column, _))
            if cap.bumped_column() == Some(column.as_str())
                && !job.patch.contains_key(column.as_str()) =>
        {
            Some((
                column.clone(),
                if previous.is_number() {
                    VersionAdvance::Increment
                } else {
                    VersionAdvance::Now
                },
            ))
        }
        _ => None,
    };
    let update = RowUpdate {
        schema,
        table,
        key,
        tenant: Some(tenant),
        set: job
            .patch
            .iter()
            .map(|(c, v)| Ok((ident(c)?, param(v)?)))
            .collect::<Result<_, DbError>>()?,
        version_check,
        advance,
    };
    let affected = match tx.update_row(&update).await {
        Ok(n) => n,
        Err(e) if e.kind == DbErrorKind::InvalidValue => {
            return Ok(Step::Rollback(outcome(
                OutcomeStatus::Failed,
                Some(codes::INVALID_VALUE),
                format!("a patch value does not fit its column: {}", e.detail),
            )));
        }
        Err(e) => return Err(e),
    };
    if affected != 1 {
        let code = if affected == 0 {
            codes::VERSION_CONFLICT
        } else {
            codes::MULTI_ROW_WRITE_BLOCKED
        };
        let mut o = outcome(
            if affected == 0 {
                OutcomeStatus::Conflict
            } else {
                OutcomeStatus::Failed
            },
            Some(code),
            format!("the update matched {affected} rows; exactly one is required"),
        );
        o.previous_version = Some(previous);
        return Ok(Step::Rollback(o));
    }
    let after = tx.lock_rows(&select).await?;
    let new_version = match &job.conflict_guard {
        ConflictGuard::Column { column, .. } => after.first().and_then(|r| r.get(column)).cloned(),
        _ => after
            .first()
            .map(|r| Value::String(hash_json(&Value::Object(r.clone())))),
    };
    let mut done = outcome(
        OutcomeStatus::Applied,
        None,
        if dry_run {
            "dry run: the update would apply; rolled back"
        } else {
            "applied"
        },
    );
    done.rows_affected = 1;
    done.previous_version = Some(previous);
    done.new_version = new_version;
    if dry_run {
        return Ok(Step::Rollback(done));
    }
    let inserted = tx
        .insert_receipt(&ReceiptRow {
        idempotency_key: job.idempotency_key.clone(),
        job_id: job.writeback_job_id.clone(),
        proposal_id: job.proposal_id.clone(),
        status: ReceiptStatus::Applied.as_str().into(),
        result_hash: Some(hash_json(&json!({"job_id": job.writeback_job_id, "status": ReceiptStatus::Applied, "version": done.new_version}))),
        completed: true,
    })
        .await;
    match inserted {
        Ok(()) => {}
        // Another applier committed the same write first (possible only without the row lock,
        // e.g. the row was re-keyed): ours rolls back.
        Err(e) if e.is_duplicate_receipt() => {
            return Ok(Step::Rollback(outcome(
                OutcomeStatus::AlreadyApplied,
                None,
                "the write was already applied by another attempt",
            )));
        }
        Err(e) => return Err(e),
    }
    Ok(Step::Commit(done))
}

/// A database error before anything committed: nothing was written, so the approval stands,
/// unless the error is about the change itself (a value that does not fit its column).
fn before_commit(e: &DbError) -> Outcome {
    let effect = if e.kind == DbErrorKind::InvalidValue {
        AttemptEffect::Settled
    } else {
        AttemptEffect::NothingWritten
    };
    if e.is_connection_lost() {
        tracing::warn!(error = %e, "writeback connection lost before the commit");
        return Outcome::failed(
            codes::CONNECTION_LOST,
            "the database closed the connection before the commit (restart, failover, idle limit or a killed session): the transaction rolled back, nothing was applied; retrying the apply is safe and reconnects",
        )
        .with_effect(effect);
    }
    db_failure(e).with_effect(effect)
}

fn db_failure(e: &DbError) -> Outcome {
    let code = match e.kind {
        DbErrorKind::Connection => codes::DATABASE_UNAVAILABLE,
        DbErrorKind::Permission => codes::PERMISSION_DENIED,
        DbErrorKind::Timeout | DbErrorKind::Conflict => codes::LOCK_TIMEOUT,
        DbErrorKind::NotFound => codes::SCHEMA_MISMATCH,
        DbErrorKind::InvalidValue => codes::INVALID_VALUE,
        _ => codes::TRANSACTION_FAILED,
    };
    tracing::warn!(error = %e, "writeback failed");
    Outcome::failed(code, e.to_string())
}
