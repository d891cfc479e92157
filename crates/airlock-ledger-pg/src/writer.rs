//! This process's hash chain: the `writers` row it registers at connect, the head it appends
//! after, group commit for tool-call records, and cross-anchors.
//!
//! Every write transaction of a [`crate::PostgresLedger`] ends while holding its writer's
//! in-process mutex (and only that): the chain head is read from memory, the transaction's
//! events take the next `writer_seq`s and chain from the head, and the head moves only after
//! the commit. The rest of the transaction runs before, outside the mutex (a lifecycle step
//! takes it one statement earlier, after its row lock, to draw its sequence number in that
//! statement: see [`Events`]). Other servers append to their own chains at the same time;
//! nothing on the tool-call path waits for another process.
//!
//! Anchors: the writer's first event (`writer_joined`) and every `anchor_every`-th event after
//! (`writers_anchored`, and one more at [`crate::PostgresLedger::close`]) name the current head
//! of every other writer's chain. See ARCHITECTURE.md, "Postgres ledger: chains per writer",
//! for what `verify` proves with them.

use std::sync::Arc;
use std::sync::Mutex as SyncMutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use airlock_ledger::rules::{self, EventBody, RUNNER_ACTOR};
use airlock_ledger::{LedgerError, NewProposal, NewRead, ProposalRecorded, ReadRecorded};
use deadpool_postgres::Pool;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::error::Pg;
use crate::record;
use crate::tx::Tx;

/// Kind of a writer's first event.
pub(crate) const JOINED_KIND: &str = "writer_joined";
/// Kind of a cross-anchor event.
pub(crate) const ANCHORED_KIND: &str = "writers_anchored";
/// Subject kind of both: the writer itself.
pub(crate) const WRITER_SUBJECT: &str = "writer";

/// `prev_hash` of a writer's first event: binds the writer's id into its whole chain.
pub(crate) fn writer_genesis(writer_id: &str) -> String {
    airlock_protocol::hash_canonical(&format!("airlock-ledger-writer:{writer_id}"))
}

/// The JSON a `writer_joined` event's `record_hash` covers: the `writers` row as registered.
pub(crate) fn writer_record(writer_id: &str, host: &str, pid: i64, registered_at: &str) -> Value {
    json!({"writer_id": writer_id, "host": host, "pid": pid, "registered_at": registered_at})
}

/// An event to append, before it has a place on the chain.
#[derive(Debug, Clone)]
pub(crate) struct NewEvent {
    pub kind: String,
    pub proposal_id: Option<String>,
    pub subject_kind: &'static str,
    pub subject_id: String,
    pub actor: String,
    pub payload: Value,
    pub record_hash: String,
    pub created_at: String,
}

/// The events one write transaction appends, and the chain it took early, if it did.
///
/// A lifecycle step takes its chain ([`Events::claim_lane`]) just before its last statement
/// before the events, so that statement can also draw the events' sequence numbers: they must
/// rise along a chain, so they are drawn only while its head is held. That saves the round
/// trip of drawing them on their own, and holds the head no longer (two round trips either
/// way). The step's row lock was taken before: nothing waits on another transaction while
/// holding a head.
pub(crate) struct Events {
    list: Vec<NewEvent>,
    writer: Arc<Writer>,
    pool: Pool,
    /// The lane taken early, its head held until the commit.
    lane: Option<(Arc<Lane>, tokio::sync::OwnedMutexGuard<Option<Head>>)>,
    /// Sequence numbers drawn under that head, ascending: the first events' numbers.
    drawn: Vec<i64>,
}

impl Events {
    fn new(writer: Arc<Writer>, pool: Pool) -> Events {
        Events {
            list: Vec::new(),
            writer,
            pool,
            lane: None,
            drawn: Vec::new(),
        }
    }

    /// Takes the chain this transaction's events will append to, now (once; later calls keep
    /// the first). Call only after every row lock the transaction needs.
    pub(crate) async fn claim_lane(&mut self) {
        if self.lane.is_none() {
            self.lane = Some(self.writer.take_lane(&self.pool).await);
        }
    }

    /// Records a sequence number drawn under the claimed chain's head, for the next event.
    pub(crate) fn drawn(&mut self, seq: i64) {
        debug_assert!(self.lane.is_some(), "drawn only under a claimed head");
        self.drawn.push(seq);
    }
}

impl std::ops::Deref for Events {
    type Target = Vec<NewEvent>;
    fn deref(&self) -> &Vec<NewEvent> {
        &self.list
    }
}

impl std::ops::DerefMut for Events {
    fn deref_mut(&mut self) -> &mut Vec<NewEvent> {
        &mut self.list
    }
}

/// The last event of this writer's chain.
#[derive(Debug, Clone)]
pub(crate) struct Head {
    pub writer_seq: i64,
    /// The global sequence number of that event (0 before the first).
    pub seq: i64,
    pub hash: String,
    /// Events appended since the last anchor.
    pub since_anchor: u64,
}

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

/// Most records one group commit carries.
const MAX_BATCH: usize = 256;

/// One hash chain of a writer: its id in `writers` and its head.
struct Lane {
    id: String,
    /// `None` after a failed commit: unknown until read back from the database.
    head: Arc<tokio::sync::Mutex<Option<Head>>>,
}

pub(crate) struct Writer {
    /// The first lane's writer id; lane `k` (from 1) is `<id>.<k>`.
    pub id: String,
    /// Lanes in use, the first registered at connect. A write that finds every lane busy adds
    /// one (up to `max_lanes`), so a process commits on several chains at once and its commits
    /// share the database's flushes; a process that writes one thing at a time (the CLI) keeps
    /// one chain.
    lanes: std::sync::RwLock<Vec<Arc<Lane>>>,
    max_lanes: usize,
    /// Held while a lane is being added (one at a time).
    growing: tokio::sync::Mutex<()>,
    /// Where the search for a free lane starts next.
    next_lane: AtomicUsize,
    /// Held by the one drain building a group commit.
    batching: tokio::sync::Mutex<()>,
    queue: SyncMutex<Vec<Job>>,
    anchor_every: u64,
    /// Advisory lock taken exclusively by a joining writer and shared by every anchor (see
    /// ARCHITECTURE.md): an anchor numbered after a writer's first event has seen that event.
    join_key: i64,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// The writer id of lane `k` of writer `id`.
fn lane_id(id: &str, k: usize) -> String {
    if k == 0 {
        id.to_owned()
    } else {
        format!("{id}.{k}")
    }
}

impl Writer {
    /// Registers the writer's first lane (or resumes its chain when the id was used before)
    /// and writes its `writer_joined` anchor.
    pub(crate) async fn join(
        pool: &Pool,
        id: String,
        max_lanes: usize,
        anchor_every: u64,
        join_key: i64,
    ) -> Result<Writer, LedgerError> {
        let first = join_lane(pool, &id, join_key).await?;
        Ok(Writer {
            id,
            lanes: std::sync::RwLock::new(vec![Arc::new(first)]),
            max_lanes: max_lanes.max(1),
            growing: tokio::sync::Mutex::new(()),
            next_lane: AtomicUsize::new(0),
            batching: tokio::sync::Mutex::new(()),
            queue: SyncMutex::new(Vec::new()),
            anchor_every: anchor_every.max(1),
            join_key,
        })
    }

    fn lanes(&self) -> Vec<Arc<Lane>> {
        self.lanes.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The writer ids of every lane in use.
    pub(crate) fn lane_ids(&self) -> Vec<String> {
        self.lanes().iter().map(|l| l.id.clone()).collect()
    }

    /// A lane to chain on, its head held: a free one if any; else a new one while fewer than
    /// `max_lanes` exist; else the next in turn, waited for.
    async fn take_lane(
        &self,
        pool: &Pool,
    ) -> (Arc<Lane>, tokio::sync::OwnedMutexGuard<Option<Head>>) {
        let lanes = self.lanes();
        let start = self.next_lane.fetch_add(1, Ordering::Relaxed);
        for i in 0..lanes.len() {
            let lane = &lanes[(start + i) % lanes.len()];
            if let Ok(head) = Arc::clone(&lane.head).try_lock_owned() {
                return (Arc::clone(lane), head);
            }
        }
        if lanes.len() < self.max_lanes
            && let Ok(_growing) = self.growing.try_lock()
        {
            let k = self.lanes().len();
            match join_lane(pool, &lane_id(&self.id, k), self.join_key).await {
                Ok(lane) => {
                    let lane = Arc::new(lane);
                    let head = Arc::clone(&lane.head)
                        .try_lock_owned()
                        .expect("a lane nobody else has seen yet is free");
                    self.lanes
                        .write()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(Arc::clone(&lane));
                    return (lane, head);
                }
                // Still correct with the lanes there are, only slower: said once per failure.
                Err(e) => {
                    tracing::warn!(writer = %self.id, "could not add a ledger writer lane: {e}")
                }
            }
        }
        let lane = Arc::clone(&lanes[start % lanes.len()]);
        let head = Arc::clone(&lane.head).lock_owned().await;
        (lane, head)
    }

    /// Runs one write transaction on one of this writer's chains: `write` records rows and
    /// pushes the events that cover them; they are chained and inserted before the commit
    /// (see [`Writer::chain_and_commit`]). With `anchor`, the events end with a cross-anchor.
    pub(crate) async fn write<T>(
        self: &Arc<Self>,
        pool: &Pool,
        anchor: bool,
        write: impl for<'a> FnOnce(
            &'a Tx,
            &'a mut Events,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<T, LedgerError>> + Send + 'a>,
        >,
    ) -> Result<T, LedgerError> {
        let tx = Tx::new(pool.get().await.pg()?);
        let mut events = Events::new(Arc::clone(self), pool.clone());
        // A failure here rolls back with `tx` and leaves every head as it was (a head claimed
        // early is let go unmoved).
        let out = tx.run(write(&tx, &mut events)).await?;
        let Events {
            list, lane, drawn, ..
        } = events;
        let (lane, head) = match lane {
            Some(claimed) => claimed,
            None => self.take_lane(pool).await,
        };
        self.chain_and_commit(&lane, head, tx, (list, drawn), anchor)
            .await?;
        Ok(out)
    }

    /// Writes a cross-anchor on every lane (at close).
    pub(crate) async fn anchor_all(&self, pool: &Pool) -> Result<(), LedgerError> {
        for lane in self.lanes() {
            let tx = Tx::new(pool.get().await.pg()?);
            tx.run(async { Ok(()) }).await?;
            let head = Arc::clone(&lane.head).lock_owned().await;
            self.chain_and_commit(&lane, head, tx, (Vec::new(), Vec::new()), true)
                .await?;
        }
        Ok(())
    }

    /// Chains `events` after `lane`'s head (held by the caller), inserts them and commits
    /// `tx`: the head is held for just two round trips (the sequence numbers, then the events
    /// with the commit; or, when the transaction drew its numbers under the head already, its
    /// last statement, then the events with the commit). `events` comes with the sequence
    /// numbers drawn for its first events under this head, if any.
    ///
    /// Everything else a transaction does (row locks, inserts, updates) runs before, outside
    /// any head, so one process's lifecycle writes overlap. Events of one proposal still chain
    /// in commit order: each transaction locks the proposal's row first, and the next cannot
    /// read it before this one has committed here. Nothing here waits for a pooled connection
    /// while holding a head (every caller already holds one): after a failure the head is
    /// marked unknown and the next transaction on the lane reads it back inside itself.
    async fn chain_and_commit(
        &self,
        lane: &Lane,
        mut head: tokio::sync::OwnedMutexGuard<Option<Head>>,
        tx: Tx,
        (events, drawn): (Vec<NewEvent>, Vec<i64>),
        anchor: bool,
    ) -> Result<(), LedgerError> {
        let chained = async {
            let known = match head.as_ref() {
                Some(h) => h.clone(),
                // A commit whose answer was lost may have moved it: read what is stored.
                None => load_head(tx.client(), &lane.id).await?,
            };
            let (rows, moved) = self
                .append(&tx, &lane.id, &known, (events, drawn), anchor)
                .await?;
            insert_and_commit(&tx, &lane.id, &rows).await?;
            Ok::<_, LedgerError>(moved)
        }
        .await;
        match chained {
            Ok(moved) => {
                *head = Some(moved);
                Ok(())
            }
            Err(e) => {
                *head = None;
                Err(e)
            }
        }
    }

    /// Records a tool call's read or proposal, sharing one commit with every call queued
    /// meanwhile on this writer. The caller returns once its record is committed.
    pub(crate) async fn submit(self: &Arc<Self>, pool: &Pool, op: Op) -> Result<Done, LedgerError> {
        let (reply, answer) = oneshot::channel();
        lock(&self.queue).push(Job { op, reply });
        // The commit runs in a task of its own: a caller that goes away (a cancelled request)
        // can never stop a batch half-way and leave the other callers in it without an answer.
        let writer = Arc::clone(self);
        let pool = pool.clone();
        tokio::spawn(async move { writer.drain(&pool).await });
        answer.await.map_err(|_| LedgerError::WriterStopped)?
    }

    /// Commits every queued record, a batch at a time, answering each caller. One drain runs
    /// at a time (calls arriving meanwhile queue up and share the next commit); a drain that
    /// finds the queue empty (an earlier one took its job) just ends.
    async fn drain(&self, pool: &Pool) {
        let _batching = self.batching.lock().await;
        loop {
            let jobs: Vec<Job> = {
                let mut queue = lock(&self.queue);
                let n = queue.len().min(MAX_BATCH);
                queue.drain(..n).collect()
            };
            if jobs.is_empty() {
                return;
            }
            let (ops, replies): (Vec<Op>, Vec<_>) =
                jobs.into_iter().map(|j| (j.op, j.reply)).unzip();
            let results = self.commit_ops(pool, &ops).await;
            for (reply, result) in replies.into_iter().zip(results) {
                let _ = reply.send(result);
            }
        }
    }

    /// Writes `ops` in one transaction; if that fails, each in a transaction of its own, so
    /// one bad record never fails the others.
    async fn commit_ops(&self, pool: &Pool, ops: &[Op]) -> Vec<Result<Done, LedgerError>> {
        match self.together(pool, ops).await {
            Ok(done) => done.into_iter().map(Ok).collect(),
            Err(e) if ops.len() == 1 => vec![Err(e)],
            Err(_) => {
                let mut out = Vec::with_capacity(ops.len());
                for op in ops {
                    out.push(
                        self.together(pool, std::slice::from_ref(op))
                            .await
                            .map(|mut done| done.remove(0)),
                    );
                }
                out
            }
        }
    }

    async fn together(&self, pool: &Pool, ops: &[Op]) -> Result<Vec<Done>, LedgerError> {
        let tx = Tx::new(pool.get().await.pg()?);
        let mut events = Vec::new();
        let done = tx.run(self.record_ops(&tx, ops, &mut events)).await?;
        let (lane, head) = self.take_lane(pool).await;
        self.chain_and_commit(&lane, head, tx, (events, Vec::new()), false)
            .await?;
        Ok(done)
    }

    /// The rows of one group commit, in `tx`; the events covering them go to `events`.
    async fn record_ops(
        &self,
        tx: &Tx,
        ops: &[Op],
        events: &mut Vec<NewEvent>,
    ) -> Result<Vec<Done>, LedgerError> {
        // Proposals one by one (each may find another's open proposal), then every read of
        // the batch in a few statements; answers go back in the order of `ops`.
        let mut proposals = Vec::new();
        for op in ops {
            if let Op::Proposal(p) = op {
                proposals.push(record::insert_proposal_call(tx, p, events).await?);
            }
        }
        let reads: Vec<&NewRead> = ops
            .iter()
            .filter_map(|op| match op {
                Op::Read(r) => Some(r),
                Op::Proposal(_) => None,
            })
            .collect();
        let mut reads = record::insert_reads(tx, &reads, events).await?.into_iter();
        let mut proposals = proposals.into_iter();
        let done = ops
            .iter()
            .map(|op| match op {
                Op::Read(_) => Done::Read(reads.next().expect("one answer per read")),
                Op::Proposal(_) => {
                    Done::Proposal(proposals.next().expect("one answer per proposal"))
                }
            })
            .collect();
        Ok(done)
    }

    /// The head of every lane right now, by writer id (waits for writes in progress; reads a
    /// head back from the database when its lane's last write failed).
    pub(crate) async fn heads(&self, pool: &Pool) -> Result<Vec<(String, Head)>, LedgerError> {
        let mut out = Vec::new();
        for lane in self.lanes() {
            if let Some(h) = lane.head.lock().await.as_ref() {
                out.push((lane.id.clone(), h.clone()));
                continue;
            }
            let client = pool.get().await.pg()?;
            let mut head = lane.head.lock().await;
            if head.is_none() {
                *head = Some(load_head(&client, &lane.id).await?);
            }
            out.push((lane.id.clone(), head.clone().expect("set just above")));
        }
        Ok(out)
    }

    /// Chains `events` after `head`; with `anchor`, or when `anchor_every` events have passed
    /// since the last anchor, ends with a `writers_anchored` event. Returns the rows to insert
    /// (the caller inserts them with the commit) and the head after them.
    async fn append(
        &self,
        tx: &Tx,
        lane_id: &str,
        head: &Head,
        (events, mut seqs): (Vec<NewEvent>, Vec<i64>),
        anchor: bool,
    ) -> Result<(Vec<ChainedEvent>, Head), LedgerError> {
        let n = events.len() as u64;
        // Numbers drawn earlier under this head come first; any more are drawn now (after
        // them, so still ascending). A number drawn and not used is a hole, as after a
        // rollback.
        seqs.truncate(events.len());
        seqs.extend(next_seqs(tx, events.len() - seqs.len()).await?);
        let mut numbered: Vec<(i64, NewEvent)> = seqs.into_iter().zip(events).collect();
        let anchoring = anchor || head.since_anchor + n >= self.anchor_every;
        if anchoring {
            // Shared: anchors never wait for each other, only for a joining writer, whose
            // first event every anchor numbered after it therefore sees.
            tx.client()
                .execute("SELECT pg_advisory_xact_lock_shared($1)", &[&self.join_key])
                .await
                .pg()?;
            let seq = next_seqs(tx, 1).await?[0];
            let heads = other_heads(tx, lane_id).await?;
            let payload = json!({"heads": heads});
            numbered.push((
                seq,
                NewEvent {
                    kind: ANCHORED_KIND.into(),
                    proposal_id: None,
                    subject_kind: WRITER_SUBJECT,
                    subject_id: lane_id.to_owned(),
                    actor: RUNNER_ACTOR.into(),
                    record_hash: rules::record_hash(&payload),
                    payload,
                    created_at: airlock_protocol::now_rfc3339(),
                },
            ));
        }
        if numbered.is_empty() {
            return Ok((Vec::new(), head.clone()));
        }
        let (rows, mut moved) = chain(head, numbered);
        moved.since_anchor = if anchoring { 0 } else { head.since_anchor + n };
        Ok((rows, moved))
    }
}

/// Registers lane `id` (or resumes its chain when the id was used before) and writes its
/// `writer_joined` anchor, under the exclusive join lock.
async fn join_lane(pool: &Pool, id: &str, join_key: i64) -> Result<Lane, LedgerError> {
    let tx = Tx::new(pool.get().await.pg()?);
    let (rows, head) = tx.run(register_lane(&tx, id, join_key)).await?;
    insert_and_commit(&tx, id, &rows).await?;
    Ok(Lane {
        id: id.to_owned(),
        head: Arc::new(tokio::sync::Mutex::new(Some(head))),
    })
}

/// [`join_lane`]'s statements before the last: the lane's `writers` row and its
/// `writer_joined` event, chained but not inserted (none when the lane resumes its chain), and
/// the lane's head after them.
async fn register_lane(
    tx: &Tx,
    id: &str,
    join_key: i64,
) -> Result<(Vec<ChainedEvent>, Head), LedgerError> {
    let c = tx.client();
    c.execute("SELECT pg_advisory_xact_lock($1)", &[&join_key])
        .await
        .pg()?;
    let known = c
        .query_opt("SELECT 1 FROM writers WHERE writer_id = $1", &[&id])
        .await
        .pg()?
        .is_some();
    if known {
        return Ok((Vec::new(), load_head(c, id).await?));
    }
    let host = host_name();
    let pid = i64::from(std::process::id());
    let at = airlock_protocol::now_rfc3339();
    c.execute(
        "INSERT INTO writers (writer_id, host, pid, registered_at) VALUES ($1, $2, $3, $4)",
        &[&id, &host, &pid, &at],
    )
    .await
    .pg()?;
    let heads = other_heads(tx, id).await?;
    let event = NewEvent {
        kind: JOINED_KIND.into(),
        proposal_id: None,
        subject_kind: WRITER_SUBJECT,
        subject_id: id.to_owned(),
        actor: RUNNER_ACTOR.into(),
        payload: json!({"host": host, "pid": pid, "heads": heads}),
        record_hash: rules::record_hash(&writer_record(id, &host, pid, &at)),
        created_at: at,
    };
    let seq = next_seqs(tx, 1).await?[0];
    let start = Head {
        writer_seq: 0,
        seq: 0,
        hash: writer_genesis(id),
        since_anchor: 0,
    };
    let (rows, head) = chain(&start, vec![(seq, event)]);
    Ok((
        rows,
        Head {
            since_anchor: 0,
            ..head
        },
    ))
}

fn lock<T>(m: &SyncMutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// `n` new global sequence numbers, ascending.
async fn next_seqs(tx: &Tx, n: usize) -> Result<Vec<i64>, LedgerError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let numbers = crate::read::prepared(
        tx.client(),
        "SELECT nextval('event_seq') FROM generate_series(1, $1::int)",
    )
    .await?;
    let rows = tx.client().query(&numbers, &[&(n as i32)]).await.pg()?;
    let mut seqs: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
    seqs.sort_unstable();
    Ok(seqs)
}

/// An event placed on a chain, ready to insert.
pub(crate) struct ChainedEvent {
    pub seq: i64,
    pub writer_seq: i64,
    pub event: NewEvent,
    pub prev_hash: String,
    pub hash: String,
}

fn chain(head: &Head, events: Vec<(i64, NewEvent)>) -> (Vec<ChainedEvent>, Head) {
    let mut writer_seq = head.writer_seq;
    let mut last_seq = head.seq;
    let mut prev = head.hash.clone();
    let mut rows = Vec::with_capacity(events.len());
    for (seq, event) in events {
        writer_seq += 1;
        last_seq = seq;
        let hash = rules::event_hash(&EventBody {
            seq,
            kind: &event.kind,
            proposal_id: event.proposal_id.as_deref(),
            subject_kind: event.subject_kind,
            subject_id: &event.subject_id,
            actor: &event.actor,
            payload: &event.payload,
            record_hash: &event.record_hash,
            prev_hash: &prev,
            created_at: &event.created_at,
        });
        rows.push(ChainedEvent {
            seq,
            writer_seq,
            event,
            prev_hash: std::mem::replace(&mut prev, hash.clone()),
            hash,
        });
    }
    (
        rows,
        Head {
            writer_seq,
            seq: last_seq,
            hash: prev,
            since_anchor: head.since_anchor,
        },
    )
}

/// Inserts chained events in one statement, the transaction's last, and commits with it
/// (just commits when there are none).
async fn insert_and_commit(
    tx: &Tx,
    writer_id: &str,
    rows: &[ChainedEvent],
) -> Result<(), LedgerError> {
    if rows.is_empty() {
        return tx.commit_with(None).await;
    }
    let text = |f: fn(&ChainedEvent) -> &str| rows.iter().map(f).collect::<Vec<&str>>();
    let cols = (
        rows.iter().map(|r| r.seq).collect::<Vec<i64>>(),
        rows.iter().map(|r| r.writer_seq).collect::<Vec<i64>>(),
        text(|r| &r.event.kind),
        rows.iter()
            .map(|r| r.event.proposal_id.as_deref())
            .collect::<Vec<Option<&str>>>(),
        text(|r| r.event.subject_kind),
        text(|r| &r.event.subject_id),
        text(|r| &r.event.actor),
        rows.iter()
            .map(|r| serde_json::to_string(&r.event.payload))
            .collect::<Result<Vec<String>, _>>()?,
        text(|r| &r.event.record_hash),
        text(|r| &r.prev_hash),
        text(|r| &r.hash),
        text(|r| &r.event.created_at),
    );
    let statement = crate::read::prepared(
        tx.client(),
        "INSERT INTO events (writer_id, seq, writer_seq, kind, proposal_id, subject_kind,
            subject_id, actor, payload_json, record_hash, prev_hash, hash, created_at)
         SELECT $1, * FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[],
            $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
            $12::text[], $13::text[])",
    )
    .await?;
    tx.commit_with(Some((
        &statement,
        &[
            &writer_id, &cols.0, &cols.1, &cols.2, &cols.3, &cols.4, &cols.5, &cols.6, &cols.7,
            &cols.8, &cols.9, &cols.10, &cols.11,
        ],
    )))
    .await
}

/// The head of every other writer's chain, by writer id.
async fn other_heads(tx: &Tx, writer_id: &str) -> Result<Vec<Value>, LedgerError> {
    let rows = tx
        .client()
        .query(
            "SELECT w.writer_id, e.writer_seq, e.seq, e.hash FROM writers w
             CROSS JOIN LATERAL (SELECT writer_seq, seq, hash FROM events
                 WHERE events.writer_id = w.writer_id ORDER BY writer_seq DESC LIMIT 1) e
             WHERE w.writer_id <> $1 ORDER BY w.writer_id",
            &[&writer_id],
        )
        .await
        .pg()?;
    Ok(rows
        .iter()
        .map(|r| {
            json!({
                "writer_id": r.get::<_, String>(0),
                "writer_seq": r.get::<_, i64>(1),
                "seq": r.get::<_, i64>(2),
                "hash": r.get::<_, String>(3),
            })
        })
        .collect())
}

/// A writer's last event, as stored.
async fn load_head(
    client: &impl deadpool_postgres::GenericClient,
    writer_id: &str,
) -> Result<Head, LedgerError> {
    let row = client
        .query_opt(
            "SELECT writer_seq, seq, hash FROM events WHERE writer_id = $1
             ORDER BY writer_seq DESC LIMIT 1",
            &[&writer_id],
        )
        .await
        .pg()?;
    Ok(match row {
        Some(r) => Head {
            writer_seq: r.get(0),
            seq: r.get(1),
            hash: r.get(2),
            since_anchor: 0,
        },
        None => Head {
            writer_seq: 0,
            seq: 0,
            hash: writer_genesis(writer_id),
            since_anchor: 0,
        },
    })
}

/// This machine's name, for the `writers` row (`unknown` when it cannot be read).
pub(crate) fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .or_else(|_| std::fs::read_to_string("/etc/hostname"))
                .ok()
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// A writer id unique to this process: `<host>-<pid>-<random>`.
pub(crate) fn default_writer_id() -> String {
    format!(
        "{}-{}-{:08x}",
        host_name(),
        std::process::id(),
        rand::random::<u32>()
    )
}
