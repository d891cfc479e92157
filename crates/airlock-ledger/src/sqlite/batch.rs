//! Group commit for the hot path: the records of tool calls (`record_read`,
//! `record_proposal`).
//!
//! A call that finds the write connection free, nobody waiting and no overlap in the last few
//! milliseconds writes its record at once, in a transaction of its own, on its own thread (a
//! CLI or stdio session pays no thread hop). Calls that overlap queue instead: a writer
//! thread takes every call waiting, writes them all in one `BEGIN IMMEDIATE` transaction,
//! commits once, and only then answers the callers. A caller therefore gets exactly the guarantee it had with a transaction of its own
//! (its record is committed before it returns), a failing record fails alone (see [`commit`]),
//! and under load many records share one commit: the pages they touch are written
//! to the WAL once per batch rather than once per record. A queued caller never blocks a
//! runtime thread on the ledger lock.
//!
//! Checkpoints run on a second thread with its own connection (`PASSIVE`, which never blocks
//! the writer), so a call never waits for the WAL to be copied back and fsynced. The same
//! thread appends the committed head to the anchor file (see [`crate::anchor`]) on each tick
//! that follows new commits, and once more after the writer's last commit when it stops: the
//! call path never touches the anchor file.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::oneshot;

use super::{search_index, write};
use crate::anchor;
use crate::telemetry::{Histogram, WriteStats};
use crate::{LedgerError, NewProposal, NewRead, ProposalRecorded, ReadRecorded};

/// Most records one commit carries; bounds how long the first caller of a batch waits.
const MAX_BATCH: usize = 128;

/// After calls last overlapped, how long every call goes through the queue before a lone call
/// may write inline again.
const QUIET_MS: u64 = 20;

/// How often the checkpointer looks for committed batches to copy back and anchor.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

/// Above this size the checkpointer truncates the WAL. Under a steady stream of commits a
/// PASSIVE checkpoint rarely catches the writer, so SQLite never starts the WAL over and it
/// grows without bound (a 10-minute soak at ~4,000 calls/s grew it to 15 GB). Past this size
/// the checkpointer takes the write connection, so no commit can start, copies back the frames
/// the last PASSIVE pass missed and empties the file; new commits wait only for that remainder.
const WAL_LIMIT_BYTES: u64 = 64 * 1024 * 1024;

#[expect(clippy::large_enum_variant, reason = "one per call, moved once")]
pub(crate) enum Op {
    Read(NewRead),
    Proposal(NewProposal),
}

#[expect(clippy::large_enum_variant, reason = "one per call, moved once")]
pub(crate) enum Done {
    Read(ReadRecorded),
    Proposal(ProposalRecorded),
}

struct Job {
    op: Op,
    reply: oneshot::Sender<Result<Done, LedgerError>>,
}

/// State shared by callers and the writer thread.
struct Shared {
    /// The write connection. Whoever holds it writes: a caller that finds it free and nothing
    /// queued writes its own record at once (no thread hop when calls do not overlap);
    /// otherwise the writer thread takes it for a whole batch.
    conn: Mutex<Connection>,
    queue: Mutex<Queue>,
    wake: Condvar,
    commits: AtomicU64,
    /// Records written by those commits.
    records: AtomicU64,
    /// `BEGIN` to `COMMIT` of each write-path transaction.
    commit_time: Histogram,
    /// Whether the search index's tail was last seen past what searches read beside it
    /// (logged once per crossing).
    index_behind: std::sync::atomic::AtomicBool,
    /// Milliseconds since `epoch` when a call last found another one writing or waiting; 0
    /// for never.
    last_overlap: AtomicU64,
    epoch: Instant,
}

#[derive(Default)]
struct Queue {
    jobs: Vec<Job>,
    stopping: bool,
}

/// The writer and checkpointer threads of one writable ledger. Dropping it lets both finish
/// their work, closes their connections and joins them.
pub(crate) struct BatchWriter {
    shared: Arc<Shared>,
    stop_checkpoints: Option<Sender<()>>,
    writer: Option<JoinHandle<()>>,
    checkpointer: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for BatchWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchWriter").finish_non_exhaustive()
    }
}

impl BatchWriter {
    /// Starts the threads on connections of their own to `path`; heads go to `anchor`.
    pub(crate) fn start(path: &Path, anchor: &Path) -> Result<BatchWriter, LedgerError> {
        let writer = super::connect(path)?;
        // The checkpointer does this work off the call path.
        writer.pragma_update(None, "wal_autocheckpoint", 0)?;
        let checkpointer = super::connect(path)?;
        let shared = Arc::new(Shared {
            conn: Mutex::new(writer),
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            commits: AtomicU64::new(0),
            records: AtomicU64::new(0),
            commit_time: Histogram::default(),
            last_overlap: AtomicU64::new(0),
            index_behind: std::sync::atomic::AtomicBool::new(false),
            epoch: Instant::now(),
        });
        let (stop_checkpoints, stop) = mpsc::channel::<()>();
        let serving = Arc::clone(&shared);
        let checkpointing = Arc::clone(&shared);
        let anchor = anchor.to_owned();
        let writer = std::thread::Builder::new()
            .name("airlock-ledger-writer".into())
            .spawn(move || serve(&serving))?;
        let checkpointer = std::thread::Builder::new()
            .name("airlock-ledger-checkpoint".into())
            .spawn(move || checkpoint_loop(checkpointer, anchor, stop, &checkpointing))?;
        Ok(BatchWriter {
            shared,
            stop_checkpoints: Some(stop_checkpoints),
            writer: Some(writer),
            checkpointer: Some(checkpointer),
        })
    }

    pub(crate) async fn submit(&self, op: Op) -> Result<Done, LedgerError> {
        let shared = &self.shared;
        let now = shared.epoch.elapsed().as_millis() as u64;
        let last = shared.last_overlap.load(Ordering::Relaxed);
        let quiet = last == 0 || now.saturating_sub(last) > QUIET_MS;
        if quiet && let Ok(mut conn) = shared.conn.try_lock() {
            let nobody_waiting = lock(&shared.queue).jobs.is_empty();
            if nobody_waiting {
                // Uncontended: one short transaction on this thread, as a lone call would have.
                let started = Instant::now();
                let result = write_now(&mut conn, &op);
                shared.committed(started, 1);
                return result;
            }
        }
        // Calls overlap: queue for a while, so a busy server batches instead of blocking its
        // runtime threads on inline writes.
        shared.last_overlap.store(now.max(1), Ordering::Relaxed);
        let (reply, answer) = oneshot::channel();
        {
            let mut queue = lock(&shared.queue);
            if queue.stopping {
                return Err(LedgerError::WriterStopped);
            }
            queue.jobs.push(Job { op, reply });
        }
        shared.wake.notify_one();
        answer.await.map_err(|_| LedgerError::WriterStopped)?
    }
}

impl BatchWriter {
    /// Queue depth and commit latencies so far.
    pub(crate) fn stats(&self) -> WriteStats {
        let shared = &self.shared;
        WriteStats {
            queued: lock(&shared.queue).jobs.len() as u64,
            commits: shared.commits.load(Ordering::Acquire),
            records: shared.records.load(Ordering::Relaxed),
            commit_seconds: shared.commit_time.snapshot(),
        }
    }
}

impl Shared {
    /// Counts a finished write-path transaction of `records` records begun at `started`.
    fn committed(&self, started: Instant, records: usize) {
        self.commit_time.observe(started.elapsed());
        self.records.fetch_add(records as u64, Ordering::Relaxed);
        self.commits.fetch_add(1, Ordering::Release);
    }
}

impl Drop for BatchWriter {
    fn drop(&mut self) {
        lock(&self.shared.queue).stopping = true;
        self.shared.wake.notify_all();
        // The writer first, so the checkpointer's last anchor covers its last commit.
        if let Some(t) = self.writer.take() {
            let _ = t.join();
        }
        self.stop_checkpoints.take();
        if let Some(t) = self.checkpointer.take() {
            let _ = t.join();
        }
    }
}

/// A poisoned lock only means a panic elsewhere; SQLite rolled that transaction back.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn serve(shared: &Shared) {
    loop {
        let batch = {
            let mut queue = lock(&shared.queue);
            while queue.jobs.is_empty() && !queue.stopping {
                queue = shared.wake.wait(queue).unwrap_or_else(|p| p.into_inner());
            }
            if queue.jobs.is_empty() {
                return; // stopping, nothing left
            }
            let n = queue.jobs.len().min(MAX_BATCH);
            queue.jobs.drain(..n).collect::<Vec<_>>()
        };
        let (ops, replies): (Vec<Op>, Vec<_>) = batch.into_iter().map(|j| (j.op, j.reply)).unzip();
        let started = Instant::now();
        let results = commit(&mut lock(&shared.conn), &ops);
        shared.committed(started, ops.len());
        for (reply, result) in replies.into_iter().zip(results) {
            // A caller that went away (cancelled request) no longer needs the answer; its
            // record stays committed, like any record whose caller hung up after the commit.
            let _ = reply.send(result);
        }
    }
}

/// Writes every op in one transaction and commits once. A record that fails is rare (a
/// constraint, a full disk); then the whole batch rolls back and each op is written again in a
/// transaction of its own, so every caller gets its own result and one bad record never takes
/// the others with it. (Savepoints per record would give the same isolation at the price of
/// copying every touched page to a sub-journal on every call.)
fn commit(conn: &mut Connection, ops: &[Op]) -> Vec<Result<Done, LedgerError>> {
    match together(conn, ops) {
        Ok(done) => done.into_iter().map(Ok).collect(),
        Err(e) if ops.len() == 1 => vec![Err(e)],
        Err(_) => ops.iter().map(|op| write_now(conn, op)).collect(),
    }
}

/// One record in a transaction of its own.
pub(crate) fn write_now(conn: &mut Connection, op: &Op) -> Result<Done, LedgerError> {
    let mut done = together(conn, std::slice::from_ref(op))?;
    Ok(done.remove(0))
}

fn together(conn: &mut Connection, ops: &[Op]) -> Result<Vec<Done>, LedgerError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let done = ops
        .iter()
        .map(|op| apply(&tx, op))
        .collect::<Result<Vec<_>, _>>()?;
    tx.commit()?;
    Ok(done)
}

fn apply(tx: &Connection, op: &Op) -> Result<Done, LedgerError> {
    Ok(match op {
        Op::Read(read) => Done::Read(write::insert_read(tx, read)?),
        Op::Proposal(p) => Done::Proposal(write::insert_proposal_call(tx, p)?),
    })
}

fn checkpoint_loop(conn: Connection, anchor: PathBuf, stop: Receiver<()>, shared: &Shared) {
    let mut seen = 0;
    // The first tick indexes whatever tail an earlier writer left (a server killed hard).
    let mut indexing = true;
    // Whether the last tick's index batches wrote to the WAL (they are no tool-call commits,
    // but their pages must be copied back all the same).
    let mut indexed = false;
    // Rows per index batch, kept from tick to tick.
    let mut pace = search_index::Pace::new();
    loop {
        let stopping = match stop.recv_timeout(CHECKPOINT_EVERY) {
            Err(RecvTimeoutError::Timeout) => false,
            // Stopped: anchor the last commits; closing the last connection checkpoints.
            Ok(()) | Err(RecvTimeoutError::Disconnected) => true,
        };
        let now = shared.commits.load(Ordering::Acquire);
        let committed = now != seen;
        let index = committed || indexing;
        if committed {
            seen = now;
            anchor::append_head(&conn, &anchor);
        }
        if (committed || indexed || indexing) && !stopping {
            copy_back(&conn, shared);
        }
        // After the checkpoint, and for half a tick at most, so the WAL is copied back on time
        // however much there is to index.
        if index {
            (indexing, indexed) =
                index_tail(shared, &mut pace, Instant::now() + CHECKPOINT_EVERY / 2);
        } else {
            indexed = false;
        }
        if stopping {
            return;
        }
    }
}

/// Copies committed WAL frames back into the database.
fn copy_back(conn: &Connection, shared: &Shared) {
    // PASSIVE copies what it can without waiting for, or blocking, the writer. A failure (a
    // reader pinning old frames, a busy file) is retried next tick.
    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    if wal_bytes(conn) > WAL_LIMIT_BYTES {
        // Holding the write connection keeps this process's writer out, so the TRUNCATE never
        // races it through SQLite's busy handler (under load the writer won every such race
        // and the WAL kept growing). The PASSIVE pass above already copied most frames, so the
        // writer waits only for the rest. A reader pinning old frames: tried again next tick.
        let _writer = lock(&shared.conn);
        let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    }
}

/// Brings the search index up to the records committed so far, one batch at a time on the
/// write connection (so this process's writes wait on its mutex rather than in SQLite's busy
/// loop), letting go of it between batches so calls are held up by one batch at most. Returns
/// whether rows are left (it stopped at `until` or a batch failed), to go on at the next tick,
/// and whether it wrote. A server writing faster than batches index leaves a growing tail,
/// which searches read bounded without the index (`super::browse`) until the batches catch
/// up; crossing that bound is logged once.
fn index_tail(shared: &Shared, pace: &mut search_index::Pace, until: Instant) -> (bool, bool) {
    let mut wrote = false;
    while Instant::now() < until {
        let started = Instant::now();
        let step = search_index::index_next(&mut lock(&shared.conn), pace.rows());
        pace.took(started.elapsed());
        match step {
            Ok(0) => {
                shared.index_behind.store(false, Ordering::Relaxed);
                return (false, wrote);
            }
            // The mutex is not fair: locked again at once, this thread would win it from the
            // writer every time and hold calls for the whole catch-up (propose p99 180 ms in
            // issue 3's benchmark against 100 ms with this pause).
            Ok(_) => {
                wrote = true;
                std::thread::sleep(BETWEEN_BATCHES);
            }
            Err(e) => {
                tracing::warn!(
                    "indexing new ledger records for search failed (tried again shortly): {e}"
                );
                return (true, wrote);
            }
        }
    }
    // Behind stays behind under a steady overload: the call path comes first (indexing with
    // no rest between ticks was tried: it halved the tail of issue 3's benchmark and cost a
    // fifth of propose's throughput, and the tail still grew).
    if let Ok(left) = search_index::span_past_marks(&lock(&shared.conn))
        && left > search_index::BEHIND_ROWS
        && !shared.index_behind.swap(true, Ordering::Relaxed)
    {
        tracing::warn!(
            "the ledger's search index is {left} row ids behind the records (writes outpace indexing); searches read those kinds in bounded pages until it catches up"
        );
    }
    (true, wrote)
}

/// The pause between two batches of the search index, in which waiting calls take the write
/// connection.
const BETWEEN_BATCHES: Duration = Duration::from_micros(500);

/// The size of the ledger's WAL file (0 when there is none or it cannot be read).
fn wal_bytes(conn: &Connection) -> u64 {
    conn.path()
        .filter(|p| !p.is_empty())
        .and_then(|p| std::fs::metadata(format!("{p}-wal")).ok())
        .map_or(0, |m| m.len())
}
