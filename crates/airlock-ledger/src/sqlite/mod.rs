//! SQLite ledger: one file, WAL mode, versioned migrations, `BEGIN IMMEDIATE` for every write
//! so several processes can share it.
//!
//! Durability: `synchronous=NORMAL`. A committed record survives the process being killed; a
//! power loss may drop the last few commits (never corrupt the file). This keeps a recorded
//! read in tens of microseconds instead of an fsync per call.

mod batch;
mod lifecycle;
mod migrations;
mod read;
mod verify;
mod write;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use airlock_protocol::{ExecutionReceipt, WritebackJob};

use crate::{
    ApprovalRecord, AttemptEffect, AuditFilter, Decision, Event, EvidenceWithAudit, JobRecord,
    Ledger, LedgerError, NewProposal, NewRead, ProposalFilter, ProposalRecorded, ReadRecorded,
    ReceiptFilter, Replay, Stats, StoredProposal, StoredReceipt, VerifyReport,
};

/// How long a writer waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A ledger in one SQLite file.
#[derive(Debug)]
pub struct SqliteLedger {
    path: PathBuf,
    conn: Mutex<Connection>,
    read_only: bool,
    /// Group-commit writer for tool-call records, started by the first one.
    batch: OnceLock<batch::BatchWriter>,
}

impl SqliteLedger {
    /// Opens the ledger for writing, creating the file and its folder when missing and
    /// applying pending migrations. Cost does not grow with the ledger's size.
    pub fn open(path: &Path) -> Result<SqliteLedger, LedgerError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs_err::create_dir_all(dir)?;
        }
        let conn = connect(path)?;
        migrations::migrate(&conn, path)?;
        Ok(SqliteLedger {
            path: path.to_owned(),
            conn: Mutex::new(conn),
            read_only: false,
            batch: OnceLock::new(),
        })
    }

    /// Opens an existing ledger for reading only. Fails with [`LedgerError::Missing`] when
    /// there is no file; never creates or changes anything.
    pub fn open_read_only(path: &Path) -> Result<SqliteLedger, LedgerError> {
        if !path.exists() {
            return Err(LedgerError::Missing {
                path: path.display().to_string(),
            });
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| open_error(path, source))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        migrations::check_current(&conn, path)?;
        Ok(SqliteLedger {
            path: path.to_owned(),
            conn: Mutex::new(conn),
            read_only: true,
            batch: OnceLock::new(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (the transaction
        // rolls back on drop), so a poisoned lock is safe to reuse.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The batch writer, started on first use so commands that never record a call (list,
    /// approve, verify) do not pay for its threads and connections.
    fn batch(&self) -> Result<Option<&batch::BatchWriter>, LedgerError> {
        if self.read_only {
            return Ok(None);
        }
        if let Some(b) = self.batch.get() {
            return Ok(Some(b));
        }
        let started = batch::BatchWriter::start(&self.path)?;
        // Two first callers may race; the loser's writer is dropped unused.
        Ok(Some(self.batch.get_or_init(|| started)))
    }

    /// Records a tool call's read or proposal: through the batch writer, or directly on a
    /// read-only ledger (where SQLite refuses the write with a clear error).
    async fn record(&self, op: batch::Op) -> Result<batch::Done, LedgerError> {
        match self.batch()? {
            Some(batch) => batch.submit(op).await,
            None => batch::write_now(&mut self.conn(), &op),
        }
    }
}

/// A write connection with the ledger's settings.
fn connect(path: &Path) -> Result<Connection, LedgerError> {
    let conn = Connection::open(path).map_err(|source| open_error(path, source))?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
    )
    .map_err(|source| open_error(path, source))?;
    Ok(conn)
}

fn open_error(path: &Path, source: rusqlite::Error) -> LedgerError {
    LedgerError::Open {
        path: path.display().to_string(),
        source,
    }
}

#[async_trait::async_trait]
impl Ledger for SqliteLedger {
    async fn record_read(&self, read: NewRead) -> Result<ReadRecorded, LedgerError> {
        match self.record(batch::Op::Read(read)).await? {
            batch::Done::Read(r) => Ok(r),
            batch::Done::Proposal(_) => unreachable!("a read is answered as a read"),
        }
    }

    async fn record_proposal(&self, p: NewProposal) -> Result<ProposalRecorded, LedgerError> {
        match self.record(batch::Op::Proposal(p)).await? {
            batch::Done::Proposal(r) => Ok(r),
            batch::Done::Read(_) => unreachable!("a proposal is answered as a proposal"),
        }
    }

    async fn proposal(&self, id: &str) -> Result<StoredProposal, LedgerError> {
        read::proposal(&self.conn(), id)
    }

    async fn proposals(&self, filter: &ProposalFilter) -> Result<Vec<StoredProposal>, LedgerError> {
        read::proposals(&self.conn(), filter)
    }

    async fn proposal_events(&self, proposal_id: &str) -> Result<Vec<Event>, LedgerError> {
        read::proposal_events(&self.conn(), proposal_id)
    }

    async fn evidence(&self, id: &str) -> Result<EvidenceWithAudit, LedgerError> {
        read::evidence(&self.conn(), id)
    }

    async fn query_audit(
        &self,
        filter: &AuditFilter,
    ) -> Result<Vec<crate::QueryAudit>, LedgerError> {
        read::query_audit(&self.conn(), filter)
    }

    async fn verify(&self) -> Result<VerifyReport, LedgerError> {
        verify::verify(&self.conn())
    }

    async fn stats(&self) -> Result<Stats, LedgerError> {
        read::stats(&self.conn())
    }

    async fn approve(&self, d: Decision) -> Result<StoredProposal, LedgerError> {
        lifecycle::decide(&mut self.conn(), d, true)
    }

    async fn reject(&self, d: Decision) -> Result<StoredProposal, LedgerError> {
        lifecycle::decide(&mut self.conn(), d, false)
    }

    async fn begin_apply(&self, job: &WritebackJob, actor: &str) -> Result<JobRecord, LedgerError> {
        lifecycle::begin_apply(&mut self.conn(), job, actor)
    }

    async fn record_receipt(
        &self,
        receipt: &ExecutionReceipt,
        effect: AttemptEffect,
        actor: &str,
    ) -> Result<StoredReceipt, LedgerError> {
        lifecycle::record_receipt(&mut self.conn(), receipt, effect, actor)
    }

    async fn applied_receipt(
        &self,
        proposal_id: &str,
    ) -> Result<Option<StoredReceipt>, LedgerError> {
        lifecycle::applied_receipt(&self.conn(), proposal_id)
    }

    async fn receipts(&self, filter: &ReceiptFilter) -> Result<Vec<StoredReceipt>, LedgerError> {
        read::receipts(&self.conn(), filter)
    }

    async fn receipt(&self, id: i64) -> Result<StoredReceipt, LedgerError> {
        read::receipt_by_id(&self.conn(), id)?.ok_or_else(|| LedgerError::NotFound {
            kind: "receipt",
            id: id.to_string(),
        })
    }

    async fn approvals(&self, proposal_id: &str) -> Result<Vec<ApprovalRecord>, LedgerError> {
        read::approvals(&self.conn(), proposal_id)
    }

    async fn replay(&self, proposal_id: &str) -> Result<Replay, LedgerError> {
        read::replay(&self.conn(), proposal_id)
    }
}
