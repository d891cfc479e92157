//! Group commit for the hot path: the records of tool calls (`record_read`,
//! `record_proposal`).
//!
//! One thread owns a write connection and serves a queue. It takes every call waiting, writes
//! them all in one `BEGIN IMMEDIATE` transaction, commits once, and only then answers the
//! callers. A caller therefore gets exactly the guarantee it had with a transaction of its own
//! (its record is committed before it returns), a failing record fails alone (see [`commit`]),
//! and under load many records share one commit: the pages they touch are written
//! to the WAL once per batch rather than once per record. Async callers never block a runtime
//! thread on the ledger lock.
//!
//! Checkpoints run on a second thread with its own connection (`PASSIVE`, which never blocks
//! the writer), so a call never waits for the WAL to be copied back and fsynced.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::oneshot;

use super::write;
use crate::{LedgerError, NewProposal, NewRead, ProposalRecorded, ReadRecorded};

/// Most records one commit carries; bounds how long the first caller of a batch waits.
const MAX_BATCH: usize = 128;

/// How often the checkpointer looks for committed batches to copy back.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

pub(crate) enum Op {
    Read(NewRead),
    Proposal(Box<NewProposal>),
}

pub(crate) enum Done {
    Read(ReadRecorded),
    Proposal(Box<ProposalRecorded>),
}

struct Job {
    op: Op,
    reply: oneshot::Sender<Result<Done, LedgerError>>,
}

/// The writer and checkpointer threads of one writable ledger. Dropping it lets both finish
/// their work, closes their connections and joins them.
#[derive(Debug)]
pub(crate) struct BatchWriter {
    queue: Option<Sender<Job>>,
    stop_checkpoints: Option<Sender<()>>,
    threads: Vec<JoinHandle<()>>,
}

impl BatchWriter {
    /// Starts the threads on connections of their own to `path`.
    pub(crate) fn start(path: &Path) -> Result<BatchWriter, LedgerError> {
        let writer = super::connect(path)?;
        // The checkpointer does this work off the call path.
        writer.pragma_update(None, "wal_autocheckpoint", 0)?;
        let checkpointer = super::connect(path)?;
        let commits = Arc::new(AtomicU64::new(0));
        let (queue, jobs) = mpsc::channel::<Job>();
        let (stop_checkpoints, stop) = mpsc::channel::<()>();
        let committed = Arc::clone(&commits);
        let threads = vec![
            std::thread::Builder::new()
                .name("airlock-ledger-writer".into())
                .spawn(move || serve(writer, jobs, &committed))?,
            std::thread::Builder::new()
                .name("airlock-ledger-checkpoint".into())
                .spawn(move || checkpoint_loop(checkpointer, stop, &commits))?,
        ];
        Ok(BatchWriter {
            queue: Some(queue),
            stop_checkpoints: Some(stop_checkpoints),
            threads,
        })
    }

    pub(crate) async fn submit(&self, op: Op) -> Result<Done, LedgerError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .as_ref()
            .expect("queue lives until drop")
            .send(Job { op, reply })
            .map_err(|_| LedgerError::WriterStopped)?;
        answer.await.map_err(|_| LedgerError::WriterStopped)?
    }
}

impl Drop for BatchWriter {
    fn drop(&mut self) {
        self.queue.take();
        self.stop_checkpoints.take();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn serve(mut conn: Connection, jobs: Receiver<Job>, commits: &AtomicU64) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let (ops, replies): (Vec<Op>, Vec<_>) = batch.into_iter().map(|j| (j.op, j.reply)).unzip();
        let results = commit(&mut conn, &ops);
        commits.fetch_add(1, Ordering::Release);
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
    if ops.len() > 1 {
        if let Ok(done) = together(conn, ops) {
            return done.into_iter().map(Ok).collect();
        }
    }
    ops.iter()
        .map(|op| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let done = apply(&tx, op)?;
            tx.commit()?;
            Ok(done)
        })
        .collect()
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
        Op::Proposal(p) => Done::Proposal(Box::new(write::insert_proposal_call(tx, p)?)),
    })
}

fn checkpoint_loop(conn: Connection, stop: Receiver<()>, commits: &AtomicU64) {
    let mut seen = 0;
    loop {
        match stop.recv_timeout(CHECKPOINT_EVERY) {
            Err(RecvTimeoutError::Timeout) => {}
            // Stopped: closing the last connection checkpoints what is left.
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        let now = commits.load(Ordering::Acquire);
        if now != seen {
            seen = now;
            // PASSIVE copies what it can without waiting for, or blocking, the writer. A
            // failure (a reader pinning old frames, a busy file) is retried on the next tick.
            let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
        }
    }
}
