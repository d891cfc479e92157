//! SQLite ledger: one file, WAL mode, versioned migrations, `BEGIN IMMEDIATE` for every write
//! so several processes can share it.
//!
//! Durability: `synchronous=NORMAL`. A committed record survives the process being killed; a
//! power loss may drop the last few commits (never corrupt the file). This keeps a recorded
//! read in tens of microseconds instead of an fsync per call.

mod batch;
mod browse;
pub(crate) mod checkpoint;
mod counts;
mod export;
mod feed;
mod import;
pub(crate) mod lifecycle;
mod maintain;
mod meta;
mod migrations;
mod read;
mod search;
mod search_index;
mod shadow;
mod verify;
pub(crate) mod write;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

pub use import::ImportReport;
pub use maintain::{
    BackupReport, PrunePlan, PruneProgress, PruneReport, StorageStats, VacuumReport, ledger_files,
};
pub use migrations::{MigrationProgress, MigrationReport, MigrationStep};
pub(crate) use read::head;
pub use verify::set_verify_threads;

use airlock_protocol::{ExecutionReceipt, WritebackJob};
use airlock_review_key::ReviewKey;

use crate::anchor::{self, Anchor};
use crate::{
    Actor, ApprovalRecord, AttemptEffect, Decision, Event, EvidenceBundle, EvidenceWithAudit, Hit,
    JobRecord, Ledger, LedgerError, NewProposal, NewRead, Page, ProposalRecorded, ReadRecorded,
    RecordFilter, RecordedReceipt, Replay, Review, SearchText, Stats, StoredProposal,
    StoredReceipt, VerifyReport,
};

/// How long a writer waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How often a connection waiting for the write lock looks again.
const BUSY_POLL: Duration = Duration::from_millis(1);

/// The ledger's settings of every connection: a statement cache for every statement it uses,
/// and a wait of up to [`BUSY_TIMEOUT`] for a lock another connection holds, looking again
/// every [`BUSY_POLL`]. SQLite's own busy timeout backs off to sleeps of up to 100 ms, so a
/// waiting tool call could sleep through every gap a prune leaves between its short batches
/// (one waited 361 ms behind batches of 38 ms); polling every millisecond catches the first
/// gap.
pub(crate) fn wait_when_busy(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.busy_handler(Some(busy_usual))?;
    // Room for every statement the ledger prepares (writes, reads by id, verify's look-ups),
    // so none is prepared again per record.
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// SQLite's busy handler: looks again every [`BUSY_POLL`] for a lock another connection
/// holds, for at most `limit` in all.
fn poll_within(tries: i32, limit: Duration) -> bool {
    if u128::from(tries.unsigned_abs()) * BUSY_POLL.as_micros() >= limit.as_micros() {
        return false;
    }
    std::thread::sleep(BUSY_POLL);
    true
}

fn busy_usual(tries: i32) -> bool {
    poll_within(tries, BUSY_TIMEOUT)
}

fn busy_brief(tries: i32) -> bool {
    poll_within(tries, TRUNCATE_WAIT)
}

/// How long a TRUNCATE checkpoint may wait for the write lock and for readers.
const TRUNCATE_WAIT: Duration = Duration::from_millis(20);

/// `PRAGMA wal_checkpoint(TRUNCATE)` that gives up after [`TRUNCATE_WAIT`]; true when the
/// WAL was emptied. While such a checkpoint waits for readers to leave the WAL it holds the
/// write lock, so with a connection's usual wait of [`BUSY_TIMEOUT`] one reader holding an old
/// snapshot (a long search, a backup, a verify) stalled every writer for up to ten seconds and
/// failed their calls with "database is locked" (seen during a prune of 9M records, whose
/// batches truncate the WAL). Giving up is harmless: the prune tries again after its next
/// batch. The connection's usual wait is back afterwards. (The servers' checkpointer keeps
/// the usual wait: given up often, its WAL outgrew the limit under steady writes.)
pub(crate) fn truncate_wal_briefly(conn: &mut Connection) -> bool {
    if conn.busy_handler(Some(busy_brief)).is_err() {
        return false;
    }
    let busy: rusqlite::Result<i64> =
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0));
    let restored = conn.busy_handler(Some(busy_usual));
    if let Err(e) = restored {
        tracing::warn!("could not restore the ledger connection's busy wait: {e}");
    }
    matches!(busy, Ok(0))
}

/// A ledger in one SQLite file.
#[derive(Debug)]
pub struct SqliteLedger {
    path: PathBuf,
    /// `<path>.anchor`: where writers append the chain head (see [`crate::anchor`]).
    anchor: PathBuf,
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
        let anchor = anchor::anchor_path(path);
        if migrations::migrate(&conn, path)? == migrations::Migrated::Created {
            set_aside_stale_anchor(&anchor);
        }
        Ok(SqliteLedger {
            path: path.to_owned(),
            anchor,
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
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| open_error(path, source))?;
        wait_when_busy(&mut conn)?;
        migrations::check_current(&conn, path)?;
        Ok(SqliteLedger {
            path: path.to_owned(),
            anchor: anchor::anchor_path(path),
            conn: Mutex::new(conn),
            read_only: true,
            batch: OnceLock::new(),
        })
    }

    /// The schema migrations the ledger at `path` has not had yet (an empty list when it is
    /// current), read through a read-only connection: nothing is changed, and servers may be
    /// using the ledger meanwhile.
    pub fn pending_migrations(path: &Path) -> Result<MigrationReport, LedgerError> {
        let found = existing_version(path)?;
        migrations::pending(path, found)
    }

    /// Applies the pending schema migrations of the existing ledger at `path` explicitly
    /// (`airlock ledger migrate`; opening a ledger for writing does the same silently),
    /// telling `progress` where a long step is. The same locking as that open: one write
    /// transaction taken before the version is read again, so servers using the ledger
    /// meanwhile wait for it (or find it done); on any error it rolls back and the file is as
    /// it was. Never creates a ledger.
    pub fn migrate(
        path: &Path,
        mut progress: impl FnMut(&MigrationProgress),
    ) -> Result<MigrationReport, LedgerError> {
        existing_version(path)?;
        let conn = connect(path)?;
        migrations::migrate_reporting(&conn, path, &mut progress)
    }

    /// Migrates a Synapsor Runner store in place into Airlock's schema, after writing a backup
    /// beside it (`<file>.synapsor-backup-<unix secs>`). One transaction: on any error the
    /// store is left as it was.
    pub fn import_original(path: &Path) -> Result<ImportReport, LedgerError> {
        import::import(path)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records the absolute path of the config file serving this ledger, so commands run
    /// later with only the ledger (`--store`) can find the same policy. Writes only when the
    /// path changed.
    pub fn remember_config(&self, config: &Path) -> Result<(), LedgerError> {
        meta::set_if_changed(
            &self.conn(),
            meta::CONFIG_PATH,
            &config.display().to_string(),
        )
    }

    /// The config file the ledger was last served with, if it recorded one.
    pub fn remembered_config(&self) -> Result<Option<PathBuf>, LedgerError> {
        Ok(meta::get(&self.conn(), meta::CONFIG_PATH)?.map(PathBuf::from))
    }

    /// Sizes, counts per record kind, oldest and newest event, chain head and checkpoint, from
    /// one read snapshot.
    pub fn storage_stats(&self) -> Result<StorageStats, LedgerError> {
        maintain::storage_stats(&self.conn(), &self.path, &self.anchor)
    }

    /// Copies the ledger to `dest` (a new file) while writers keep writing; the copy is
    /// consistent as of one instant and verifies on its own. See `ledger backup` in docs/ledger-operations.md.
    pub fn backup(&self, dest: &Path) -> Result<BackupReport, LedgerError> {
        maintain::backup(&self.conn(), &self.anchor, dest)
    }

    /// Rebuilds the file to give free pages back to the file system. Holds the write lock
    /// for as long as it runs.
    pub fn vacuum(&self) -> Result<VacuumReport, LedgerError> {
        maintain::vacuum(&self.conn(), &self.path)
    }

    /// Writes the events created at or after `since` (RFC 3339; all when `None`), each with
    /// the record it covers, as an export that [`crate::verify_export`] checks anywhere.
    pub fn export(
        &self,
        since: Option<&str>,
        out: &mut dyn std::io::Write,
    ) -> Result<crate::ExportHeader, LedgerError> {
        export::export(&self.conn(), &self.path.display().to_string(), since, out)
    }

    /// What a prune of everything created before `cutoff` (RFC 3339) would remove. Reads only.
    pub fn prune_plan(&self, cutoff: &str) -> Result<PrunePlan, LedgerError> {
        maintain::plan(&mut self.conn(), cutoff)
    }

    /// Prunes what [`SqliteLedger::prune_plan`] finds, writing a checkpoint first and then
    /// removing records `batch_events` events per write transaction.
    pub fn prune(
        &self,
        cutoff: &str,
        batch_events: usize,
        progress: impl FnMut(PruneProgress),
    ) -> Result<PruneReport, LedgerError> {
        let plan = maintain::plan(&mut self.conn(), cutoff)?;
        let pruned = maintain::prune(&mut self.conn(), plan, batch_events.max(1), progress);
        // A failure after the checkpoint was written still leaves it to anchor.
        if pruned.as_ref().map_or(true, |r| r.checkpoint_seq.is_some()) {
            anchor::append_head(&self.conn(), &self.anchor);
        }
        pruned
    }

    /// Records what a person actually did for one object (shadow mode), chained and anchored
    /// like a decision.
    pub fn record_human_action(
        &self,
        action: &crate::NewHumanAction,
    ) -> Result<crate::HumanAction, LedgerError> {
        self.decide_anchored(|c| shadow::record(c, action))
    }

    /// Recorded human actions, oldest first.
    pub fn human_actions(
        &self,
        filter: &crate::HumanActionFilter,
    ) -> Result<Vec<crate::HumanAction>, LedgerError> {
        shadow::list(&self.conn(), filter)
    }

    /// The anchor file beside this ledger (it may not exist yet).
    pub fn anchor_path(&self) -> &Path {
        &self.anchor
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
        let started = batch::BatchWriter::start(&self.path, &self.anchor)?;
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

    /// Runs one lifecycle transaction, then anchors the head it committed. Approvals, jobs and
    /// receipts are rare and each one matters to the story, so each is anchored at once.
    fn decide_anchored<T>(
        &self,
        write: impl FnOnce(&mut Connection) -> Result<T, LedgerError>,
    ) -> Result<T, LedgerError> {
        let mut conn = self.conn();
        let done = write(&mut conn)?;
        anchor::append_head(&conn, &self.anchor);
        Ok(done)
    }
}

impl Drop for SqliteLedger {
    /// A writable ledger indexes the records it leaves past the search index's marks as it
    /// closes (a CLI command's few records; see `search_index::catch_up_on_close`), after its
    /// batch writer stopped (whose checkpoint thread indexes what it can on the way out). A
    /// failure (another process holding the write lock for ten seconds) only leaves the tail
    /// for a server's batches.
    fn drop(&mut self) {
        if self.read_only {
            return;
        }
        drop(self.batch.take());
        if let Err(e) = search_index::catch_up_on_close(&mut self.conn()) {
            tracing::warn!(
                "the search index was not brought up to date on closing the ledger: {e}"
            );
        }
    }
}

/// A new, empty ledger must not inherit the anchor of a ledger that was deleted at the same
/// path: that anchor would fail every `verify`. It is renamed, not removed, and the rename is
/// logged, so replacing a ledger this way stays visible.
fn set_aside_stale_anchor(anchor: &Path) {
    if !anchor.exists() {
        return;
    }
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut aside = anchor.as_os_str().to_owned();
    aside.push(format!(".replaced-{secs}"));
    match fs_err::rename(anchor, &aside) {
        Ok(()) => tracing::warn!(
            "a new ledger was created where an anchor file already was; the old anchor was moved to {}",
            Path::new(&aside).display()
        ),
        Err(e) => tracing::warn!("could not move a stale anchor file aside: {e}"),
    }
}

/// The schema version of the existing ledger at `path`, read without changing anything; an
/// error for a missing file, a Synapsor Runner store or a file that holds no ledger yet.
fn existing_version(path: &Path) -> Result<i64, LedgerError> {
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
    migrations::refuse_original_store(&conn, path)?;
    let found = migrations::version(&conn).map_err(|source| open_error(path, source))?;
    if found == 0 {
        return Err(LedgerError::Maintenance {
            detail: format!(
                "{} holds no Airlock ledger yet (schema version 0): nothing to migrate; the first command or server that records creates it",
                path.display()
            ),
        });
    }
    Ok(found)
}

/// A write connection with the ledger's settings.
fn connect(path: &Path) -> Result<Connection, LedgerError> {
    let mut conn = Connection::open(path).map_err(|source| open_error(path, source))?;
    wait_when_busy(&mut conn)?;
    migrations::refuse_original_store(&conn, path)?;
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

    async fn proposal_count(&self, filter: &RecordFilter) -> Result<u64, LedgerError> {
        browse::proposal_count(&self.conn(), filter)
    }

    async fn chain_head(&self) -> Result<Option<crate::ChainHead>, LedgerError> {
        read::chain_head(&self.conn())
    }

    async fn search_proposals(
        &self,
        text: &str,
        limit: u32,
        offset: u32,
    ) -> Result<(u64, Vec<StoredProposal>), LedgerError> {
        search::search_proposals(&self.conn(), text, limit, offset)
    }

    async fn proposal_events(&self, proposal_id: &str) -> Result<Vec<Event>, LedgerError> {
        read::proposal_events(&self.conn(), proposal_id)
    }

    async fn events(
        &self,
        query: &crate::EventQuery,
    ) -> Result<Vec<crate::ScopedEvent>, LedgerError> {
        feed::events(&self.conn(), query)
    }

    async fn evidence(&self, id: &str) -> Result<EvidenceWithAudit, LedgerError> {
        read::evidence(&self.conn(), id)
    }

    async fn verify(&self) -> Result<VerifyReport, LedgerError> {
        let anchors = if self.anchor.exists() {
            anchor::read_anchors(&self.anchor)?
        } else {
            Vec::new()
        };
        self.verify_against(&anchors).await
    }

    async fn verify_against(&self, anchors: &[Anchor]) -> Result<VerifyReport, LedgerError> {
        // One read transaction: every table is read from the same snapshot, so a writer
        // committing meanwhile (a server, an apply) cannot make a consistent ledger look
        // broken. Anchors are read before the snapshot starts, so each anchored head is
        // already committed when the snapshot is taken.
        let conn = self.conn();
        let snapshot = conn.unchecked_transaction()?;
        let report = verify::verify_parallel(&snapshot, &self.path, anchors);
        snapshot.rollback()?;
        report
    }

    async fn stats(&self) -> Result<Stats, LedgerError> {
        read::stats(&self.conn())
    }

    async fn state_counts(&self) -> Result<crate::telemetry::StateCounts, LedgerError> {
        counts::state_counts(&self.conn())
    }

    fn write_stats(&self) -> Option<crate::telemetry::WriteStats> {
        self.batch.get().map(batch::BatchWriter::stats)
    }

    async fn applied_receipt(
        &self,
        proposal_id: &str,
    ) -> Result<Option<StoredReceipt>, LedgerError> {
        lifecycle::applied_receipt(&self.conn(), proposal_id)
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

    async fn proposal_page(
        &self,
        filter: &RecordFilter,
    ) -> Result<Page<StoredProposal>, LedgerError> {
        browse::proposals(&self.conn(), filter)
    }

    async fn evidence_page(
        &self,
        filter: &RecordFilter,
    ) -> Result<Page<EvidenceBundle>, LedgerError> {
        browse::evidence(&self.conn(), filter)
    }

    async fn query_audit_page(
        &self,
        filter: &RecordFilter,
    ) -> Result<Page<crate::QueryAudit>, LedgerError> {
        browse::query_audit(&self.conn(), filter)
    }

    async fn receipt_page(
        &self,
        filter: &RecordFilter,
    ) -> Result<Page<StoredReceipt>, LedgerError> {
        browse::receipts(&self.conn(), filter)
    }

    async fn search(
        &self,
        text: Option<&SearchText>,
        filter: &RecordFilter,
    ) -> Result<Page<Hit>, LedgerError> {
        browse::search(&self.conn(), text, filter)
    }

    async fn query_audit_record(&self, id: i64) -> Result<crate::QueryAudit, LedgerError> {
        read::audit_by_id(&self.conn(), id)?.ok_or_else(|| LedgerError::NotFound {
            kind: "query-audit record",
            id: id.to_string(),
        })
    }

    async fn replay(&self, proposal_id: &str) -> Result<Replay, LedgerError> {
        read::replay(&self.conn(), proposal_id)
    }
}

#[async_trait::async_trait]
impl Review for SqliteLedger {
    async fn approve(&self, _key: &ReviewKey, d: Decision) -> Result<StoredProposal, LedgerError> {
        self.decide_anchored(|c| lifecycle::decide(c, d, true))
    }

    async fn reject(&self, _key: &ReviewKey, d: Decision) -> Result<StoredProposal, LedgerError> {
        self.decide_anchored(|c| lifecycle::decide(c, d, false))
    }

    async fn begin_apply(
        &self,
        _key: &ReviewKey,
        job: &WritebackJob,
        actor: &Actor,
    ) -> Result<JobRecord, LedgerError> {
        self.decide_anchored(|c| lifecycle::begin_apply(c, job, actor))
    }

    async fn record_receipt(
        &self,
        _key: &ReviewKey,
        receipt: &ExecutionReceipt,
        effect: AttemptEffect,
        actor: &str,
    ) -> Result<RecordedReceipt, LedgerError> {
        self.decide_anchored(|c| lifecycle::record_receipt(c, receipt, effect, actor))
    }
}

#[async_trait::async_trait]
impl crate::Deliveries for SqliteLedger {
    async fn register_destination(
        &self,
        destination: &str,
        target: &str,
        start_after: i64,
    ) -> Result<crate::DeliveryState, LedgerError> {
        feed::register(&self.conn(), destination, target, start_after)
    }

    async fn delivery_states(&self) -> Result<Vec<crate::DeliveryState>, LedgerError> {
        feed::states(&self.conn())
    }

    async fn record_delivered(&self, destination: &str, seq: i64) -> Result<(), LedgerError> {
        feed::delivered(&self.conn(), destination, seq)
    }

    async fn advance_cursor(&self, destination: &str, seq: i64) -> Result<(), LedgerError> {
        feed::advance(&self.conn(), destination, seq)
    }

    async fn record_failed_attempt(
        &self,
        destination: &str,
        seq: i64,
        attempts: u32,
        error: &str,
        next_attempt_at: &str,
    ) -> Result<(), LedgerError> {
        feed::failed(
            &self.conn(),
            destination,
            seq,
            attempts,
            error,
            next_attempt_at,
        )
    }
}

#[cfg(test)]
mod wal_tests {
    use super::*;

    fn wal_len(path: &Path) -> u64 {
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        std::fs::metadata(wal).map_or(0, |m| m.len())
    }

    #[test]
    fn a_truncate_held_up_by_a_reader_gives_up_and_the_usual_wait_comes_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wal.db");
        let mut w = Connection::open(&path).unwrap();
        w.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
        wait_when_busy(&mut w).unwrap();
        // A reader whose snapshot pins the frames written after it.
        let reader = Connection::open(&path).unwrap();
        reader.execute_batch("BEGIN").unwrap();
        let n: i64 = reader
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
        w.execute("INSERT INTO t VALUES (2)", []).unwrap();
        assert!(
            !truncate_wal_briefly(&mut w),
            "the reader still needs the WAL: the truncate must give up, not wait for it"
        );
        assert!(wal_len(&path) > 0);
        reader.execute_batch("COMMIT").unwrap();
        assert!(truncate_wal_briefly(&mut w), "nothing holds it up any more");
        assert_eq!(wal_len(&path), 0, "the WAL was emptied");

        // The connection waits as usual again: a write lock held for 200 ms (ten times the
        // truncate's wait) is waited for, not failed.
        let (held, release) = (
            std::sync::Arc::new(std::sync::Barrier::new(2)),
            std::sync::Arc::new(std::sync::Barrier::new(2)),
        );
        let other = {
            let (held, release, path) = (held.clone(), release.clone(), path.clone());
            std::thread::spawn(move || {
                let c = Connection::open(&path).unwrap();
                c.execute_batch("BEGIN IMMEDIATE; INSERT INTO t VALUES (3);")
                    .unwrap();
                held.wait();
                release.wait();
                std::thread::sleep(Duration::from_millis(200));
                c.execute_batch("COMMIT").unwrap();
            })
        };
        held.wait();
        release.wait();
        w.execute("INSERT INTO t VALUES (4)", [])
            .expect("the usual busy wait outlasts the other writer");
        other.join().unwrap();
        let n: i64 = w
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 4);
    }
}
