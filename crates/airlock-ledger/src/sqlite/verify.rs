//! `ledger verify`: walk the chain in order, re-hash every record it covers, rebuild each
//! proposal's mutable columns from its events and compare them with the table, and check the
//! chain against anchored heads.

use std::collections::{BTreeSet, HashMap};

use rusqlite::Connection;

use super::{checkpoint, read};
use crate::chain::{
    self, ChainHead, EventBody, GENESIS_HASH, ProposalRow, VerifyBreak, VerifyReport,
};
use crate::columns::{self, Col};
use crate::{Anchor, LedgerError};

/// Every table whose rows the chain covers, in the order of [`Covered`]'s counts.
pub(crate) const CHAINED_TABLES: [&str; 7] = [
    "evidence_bundles",
    "query_audit",
    "proposals",
    "approvals",
    "writeback_jobs",
    "receipts",
    "human_actions",
];

/// How many rows of each of [`CHAINED_TABLES`] the walk met events for.
pub(crate) type Covered = [i64; CHAINED_TABLES.len()];

/// [`verify`] on this thread's reader only (tests compare the parallel walk with it).
#[cfg(test)]
pub(crate) fn verify(conn: &Connection, anchors: &[Anchor]) -> Result<VerifyReport, LedgerError> {
    verify_with(conn, None, anchors)
}

/// [`verify`], reading the chain on several connections to the ledger at `path` when it is
/// big enough and more than one thread may hash (see [`walk`]). `conn` must not hold
/// uncommitted changes: the other connections would not see them.
pub(crate) fn verify_parallel(
    conn: &Connection,
    path: &std::path::Path,
    anchors: &[Anchor],
) -> Result<VerifyReport, LedgerError> {
    verify_with(conn, Some(path), anchors)
}

fn verify_with(
    conn: &Connection,
    path: Option<&std::path::Path>,
    anchors: &[Anchor],
) -> Result<VerifyReport, LedgerError> {
    let mut report = VerifyReport::passing();
    match walk(conn, path, anchors, &mut report) {
        Ok(()) => {}
        Err(Walk::Break(b)) => {
            report.ok = false;
            // A broken chain has no head anyone should record.
            report.head = None;
            report.first_break = Some(b);
        }
        Err(Walk::Ledger(e)) => return Err(e),
    }
    Ok(report)
}

pub(crate) enum Walk {
    Break(VerifyBreak),
    Ledger(LedgerError),
}

impl From<LedgerError> for Walk {
    fn from(e: LedgerError) -> Walk {
        Walk::Ledger(e)
    }
}

impl From<rusqlite::Error> for Walk {
    fn from(e: rusqlite::Error) -> Walk {
        Walk::Ledger(e.into())
    }
}

fn broken(seq: i64, code: &'static str, detail: impl Into<String>) -> Walk {
    Walk::Break(VerifyBreak {
        seq,
        code,
        detail: detail.into(),
    })
}

/// One event the reader could not take the fast way (a subject other than evidence or
/// query audit, columns of unexpected types, or a hash that does not match in a row holding
/// text that is not UTF-8): the event (or why its row does not decode), what hashing it
/// found, and the break found reading its record.
struct Item {
    seq: i64,
    event: Result<crate::Event, String>,
    hashed: Hashed,
    record_break: Option<Walk>,
}

impl Item {
    /// The event of `row` decoded, its record read from its table, and both hashed.
    fn read(
        conn: &Connection,
        row: &rusqlite::Row<'_>,
        covered: &mut Covered,
        last_seq: i64,
    ) -> Result<Item, Walk> {
        let ev = match read::event_from_row(row) {
            Ok(ev) => ev,
            Err(e) => {
                return Ok(Item {
                    seq: row.get(0).unwrap_or(last_seq + 1),
                    event: Err(e.to_string()),
                    hashed: Hashed::default(),
                    record_break: None,
                });
            }
        };
        let event_ok = if columns::is_column_hash(&ev.hash) {
            row_event_ok(row, &ev.hash)?
        } else {
            chain::event_hash(&EventBody::of(&ev)) == ev.hash
        };
        let (record_ok, record_break) = match record_value(conn, &ev, covered) {
            Ok(v) => (airlock_protocol::hash_json(&v) == ev.record_hash, None),
            Err(w) => (false, Some(w)),
        };
        Ok(Item {
            seq: ev.seq,
            event: Ok(ev),
            hashed: Hashed {
                unreadable: None,
                event_ok,
                record_ok: Some(Ok(record_ok)),
            },
            record_break,
        })
    }
}

/// Events go from a reader to the checker in batches of this many.
const ITEMS_PER_BATCH: usize = 512;

/// The walk runs on two threads or more: readers step through the events in order, each with
/// its evidence or audit row ([`read_range`]), and hash each event and record from the column
/// bytes SQLite returns (nothing is copied but the few columns the checker reads), and a checker
/// takes the batches in chain order and checks the chain. So the first break reported is the
/// same as a one-thread walk's.
///
/// With a `path` and more than one thread, a big ledger is read in parallel ([`parallel`]):
/// the events after the checkpoint's cut are split into chunks of [`CHUNK_EVENTS`] sequence
/// numbers, dealt round-robin to one walker per thread, each with its own connection and read
/// snapshot, reading and hashing its chunks; the checker takes the chunks in order. This
/// thread reads the events at or before the cut itself. Otherwise this thread reads them all
/// ([`serial`]).
fn walk(
    conn: &Connection,
    path: Option<&std::path::Path>,
    anchors: &[Anchor],
    report: &mut VerifyReport,
) -> Result<(), Walk> {
    // A pruned ledger is walked from its latest checkpoint: events at or before the cut are
    // the ones it kept (or ones a prune has yet to remove), and the chain resumes after it.
    let checkpoint = match checkpoint::latest(conn)? {
        None => None,
        Some(Ok(c)) => Some(c),
        Some(Err(detail)) => return Err(broken(0, "CHECKPOINT_INVALID", detail)),
    };
    report.checkpoint = checkpoint.as_ref().map(|c| c.summary.clone());
    let mut covered: Covered = [0; CHAINED_TABLES.len()];
    let threads = walker_threads();
    let kept = checkpoint.as_ref();
    let walkers = match path {
        Some(path) if threads > 1 => open_walkers(conn, path, threads, kept)?,
        _ => None,
    };
    let (checked, read) = match walkers {
        Some(w) => parallel(conn, w, anchors, kept, &mut covered),
        None => serial(conn, anchors, kept, &mut covered),
    };
    let (outcome, chain) = checked;
    // A break the checker found comes first in chain order; a storage error of the reader
    // (which stops at the first) comes after everything the checker saw.
    outcome?;
    read?;
    report.events_checked = chain.events_checked;
    report.records_checked = chain.events_checked;
    report.awaiting_prune = chain.awaiting_prune;
    report.anchors_checked = chain.anchors_checked;
    report.anchored_seq = chain.anchored_seq;
    let prev_seq = chain.prev_seq;
    if let (Some(c), Some(seq)) = (&checkpoint, chain.unseen.first()) {
        return Err(broken(
            *seq,
            "CHECKPOINT_MISMATCH",
            format!(
                "event {seq} is gone, but the checkpoint at event {} kept it ({} of the {} events it kept are missing)",
                c.summary.event_seq,
                chain.unseen.len(),
                c.retained.len()
            ),
        ));
    }
    if prev_seq > 0 {
        report.head = Some(ChainHead {
            seq: prev_seq,
            hash: chain.prev_hash.clone(),
        });
    }
    if let Some(a) = chain.anchors.get(chain.next_anchor) {
        return Err(broken(
            a.seq,
            "ANCHOR_TRUNCATED",
            format!(
                "anchor line {} (written {}) records event {}, but the chain ends at event {prev_seq}: events were removed from its end",
                a.line, a.at, a.seq
            ),
        ));
    }
    check_proposal_rows(conn, &chain.proposal_rows)?;
    for (i, table) in CHAINED_TABLES.iter().enumerate() {
        let n: i64 = conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
        if n != covered[i] {
            return Err(broken(
                prev_seq,
                "UNCHAINED_RECORD",
                format!("{table} holds {n} rows but the chain covers {}", covered[i]),
            ));
        }
    }
    Ok(())
}

/// What the checker found (and the chain it walked), and how reading ended.
type Walked<'a> = ((Result<(), Walk>, Chain<'a>), Result<(), Walk>);

/// One reader (this thread, which also hashes) and the checker.
fn serial<'a>(
    conn: &Connection,
    anchors: &'a [Anchor],
    kept: Option<&'a checkpoint::Loaded>,
    covered: &mut Covered,
) -> Walked<'a> {
    let (to_check, for_checker) = std::sync::mpsc::sync_channel::<Batch>(4);
    let spare = &Spare::default();
    std::thread::scope(|scope| {
        let checker = std::thread::Builder::new()
            .name("airlock-verify".into())
            .spawn_scoped(scope, move || {
                let mut chain = Chain::start(kept, anchors);
                for mut batch in for_checker.iter() {
                    if let Err(b) = batch.check(&mut chain) {
                        return (Err(b), chain);
                    }
                    spare.put(batch);
                }
                (Ok(()), chain)
            })
            .expect("a thread for verify");
        let read = read_range(conn, (i64::MIN, i64::MAX), covered, spare, &mut |b| {
            to_check.send(b).is_ok()
        })
        .map(|_| ());
        drop(to_check);
        let checked = checker.join().expect("the verify thread does not panic");
        (checked, read)
    })
}

/// Events per chunk of a parallel walk (small in tests, so small ledgers take that path).
const CHUNK_EVENTS: i64 = if cfg!(test) { 100 } else { 4096 };

/// Batches a walker may have sent ahead of the checker: two chunks' worth, so each walker
/// reads its next chunk while the checker takes the others' (with less, the walkers would
/// wait for each other in turn).
const AHEAD: usize = 2 * (CHUNK_EVENTS as usize).div_ceil(ITEMS_PER_BATCH) + 1;

/// A parallel walk is worth its connections from this many events after the cut.
const PARALLEL_FROM: i64 = 4 * CHUNK_EVENTS;

/// One read-only connection per walker, each in a read transaction that sees what `conn`
/// sees of the chain, or `None` for a serial walk (a small ledger, a connection that cannot
/// be opened, or a prune that started since `conn`'s snapshot).
///
/// The snapshots may differ only by commits made after `conn`'s began. The walkers read only
/// events up to `conn`'s head, and those events and their records are never changed after
/// they are written, except by a prune: one that started later has a newer checkpoint event
/// (written before anything is removed), which a walker would see, and one still removing
/// events at or before the cut `conn` knows is harmless, as this thread reads those.
fn open_walkers(
    conn: &Connection,
    path: &std::path::Path,
    n: usize,
    kept: Option<&checkpoint::Loaded>,
) -> Result<Option<(Vec<Connection>, i64, i64)>, Walk> {
    let cut = kept.map_or(0, |c| c.summary.cut.seq);
    let checkpoint_seq = kept.map(|c| c.summary.event_seq);
    let (head, checkpoint_now) = chain_ends(conn)?;
    if head - cut < PARALLEL_FROM || checkpoint_now != checkpoint_seq {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let open = || -> rusqlite::Result<Option<Connection>> {
            let mut c = Connection::open_with_flags(
                path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            super::wait_when_busy(&mut c)?;
            c.execute_batch("BEGIN")?;
            let (their_head, their_checkpoint) = chain_ends(&c)?;
            Ok((their_head >= head && their_checkpoint == checkpoint_seq).then_some(c))
        };
        match open() {
            Ok(Some(c)) => out.push(c),
            _ => return Ok(None),
        }
    }
    Ok(Some((out, cut, head)))
}

/// The last event's seq (0 when none) and the latest checkpoint event's, as `conn` sees them.
fn chain_ends(conn: &Connection) -> rusqlite::Result<(i64, Option<i64>)> {
    // The kind spelled in the SQL: the partial index of checkpoints answers it.
    conn.query_row(
        "SELECT (SELECT coalesce(max(seq), 0) FROM events),
                (SELECT seq FROM events WHERE kind = 'ledger_pruned' ORDER BY seq DESC LIMIT 1)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// The parallel walk (see [`walk`]): this thread reads up to the cut, the walkers read the
/// chunks after it, and the checker takes them in chain order from each one's channel.
fn parallel<'a>(
    conn: &Connection,
    (walkers, cut, head): (Vec<Connection>, i64, i64),
    anchors: &'a [Anchor],
    kept: Option<&'a checkpoint::Loaded>,
    covered: &mut Covered,
) -> Walked<'a> {
    let n = walkers.len();
    let chunks = ((head - cut) + CHUNK_EVENTS - 1) / CHUNK_EVENTS;
    let chunk = move |k: i64| {
        let lo = cut + k * CHUNK_EVENTS;
        (lo, (lo + CHUNK_EVENTS).min(head))
    };
    let (to_check, from_here) = std::sync::mpsc::sync_channel::<Batch>(2);
    let mut senders = Vec::with_capacity(n);
    let mut receivers = Vec::with_capacity(n);
    for _ in 0..n {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(AHEAD);
        senders.push(tx);
        receivers.push(rx);
    }
    let spare = &Spare::default();
    std::thread::scope(|scope| {
        let checker = std::thread::Builder::new()
            .name("airlock-verify".into())
            .spawn_scoped(scope, move || {
                let mut chain = Chain::start(kept, anchors);
                // Chunk -1 (up to the cut) comes from this thread, chunk k from walker k % n.
                for k in -1..chunks {
                    let from = if k < 0 {
                        &from_here
                    } else {
                        &receivers[(k as usize) % n]
                    };
                    loop {
                        // A closed channel: its reader stopped (an error it reports).
                        let Ok(mut batch) = from.recv() else {
                            return (Ok(()), chain);
                        };
                        let last = batch.last;
                        if let Err(b) = batch.check(&mut chain) {
                            return (Err(b), chain);
                        }
                        spare.put(batch);
                        if last {
                            break;
                        }
                    }
                }
                (Ok(()), chain)
            })
            .expect("a thread for verify");
        let mut readers = Vec::with_capacity(n);
        for (w, (c, tx)) in walkers.into_iter().zip(senders).enumerate() {
            readers.push(
                std::thread::Builder::new()
                    .name(format!("airlock-verify-read-{w}"))
                    .spawn_scoped(scope, move || {
                        let mut covered: Covered = [0; CHAINED_TABLES.len()];
                        for k in (w as i64..chunks).step_by(n) {
                            let mut send = |b: Batch| tx.send(b).is_ok();
                            if !read_range(&c, chunk(k), &mut covered, spare, &mut send)? {
                                break;
                            }
                        }
                        Ok::<_, Walk>(covered)
                    })
                    .expect("a thread for verify"),
            );
        }
        let read = read_range(conn, (i64::MIN, cut), covered, spare, &mut |b| {
            to_check.send(b).is_ok()
        });
        drop(to_check);
        let checked = checker.join().expect("the verify thread does not panic");
        let mut read = read.map(|_| ());
        for r in readers {
            match r.join().expect("a verify reader does not panic") {
                Ok(theirs) => {
                    for (sum, n) in covered.iter_mut().zip(theirs) {
                        *sum += n;
                    }
                }
                Err(e) => {
                    if read.is_ok() {
                        read = Err(e);
                    }
                }
            }
        }
        (checked, read)
    })
}

/// Reading threads set by [`set_verify_threads`]; 0: one per core.
static VERIFY_THREADS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Sets how many threads read and hash records during `verify` in this process (0: one per
/// core, the default; 1: one reader whatever the ledger's size). The CLI takes it from
/// `AIRLOCK_VERIFY_THREADS`; the bench uses 1 for the one-reader figure.
pub fn set_verify_threads(n: usize) {
    VERIFY_THREADS.store(n, std::sync::atomic::Ordering::Relaxed);
}

/// Reading threads: one per core, at least one, unless [`set_verify_threads`] chose.
fn walker_threads() -> usize {
    Some(VERIFY_THREADS.load(std::sync::atomic::Ordering::Relaxed))
        .filter(|n| *n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, 16)
}

/// The statements of a walk.
struct WalkSql {
    /// The events of a range, in order.
    events: String,
    /// Where the range's evidence and audit rows start: the row id of the first one an event
    /// of the range covers, of each kind (`i64::MAX` for none).
    starts: String,
    /// The evidence rows from a row id on, in row id order.
    evidence_from: String,
    /// The audit rows from an id on, in id order.
    audit_from: String,
    /// An evidence row by its id.
    evidence_by_id: String,
    /// An audit row by its id.
    audit_by_id: String,
}

fn walk_sql() -> &'static WalkSql {
    static SQL: std::sync::LazyLock<WalkSql> = std::sync::LazyLock::new(|| {
        let first = |kind: &str| {
            format!(
                "(SELECT subject_id FROM events WHERE seq > ?1 AND seq <= ?2
                   AND subject_kind = '{kind}' ORDER BY seq LIMIT 1)"
            )
        };
        WalkSql {
            events: format!(
                "SELECT {} FROM events WHERE seq > ?1 AND seq <= ?2 ORDER BY seq",
                read::EVENT_COLUMNS
            ),
            starts: format!(
                "SELECT coalesce((SELECT rowid FROM evidence_bundles
                                  WHERE evidence_bundle_id = {}), {max}),
                        coalesce((SELECT audit_id FROM query_audit WHERE audit_id = {}), {max})",
                first("evidence"),
                first("query_audit"),
                max = i64::MAX
            ),
            evidence_from: format!(
                "SELECT {} FROM evidence_bundles WHERE rowid >= ?1 ORDER BY rowid",
                read::EVIDENCE_COLUMNS
            ),
            audit_from: format!(
                "SELECT {} FROM query_audit WHERE audit_id >= ?1 ORDER BY audit_id",
                read::AUDIT_COLUMNS
            ),
            evidence_by_id: format!(
                "SELECT {} FROM evidence_bundles WHERE evidence_bundle_id = ?1 -- verify",
                read::EVIDENCE_COLUMNS
            ),
            audit_by_id: format!(
                "SELECT {} FROM query_audit WHERE audit_id = ?1 -- verify",
                read::AUDIT_COLUMNS
            ),
        }
    });
    &SQL
}

const EVENT_CELLS: usize = 11;
const EVIDENCE_CELLS: usize = 13;
const AUDIT_CELLS: usize = 16;

/// What each column must hold for the fast path: `T` text, `t` text or NULL, `I` integer.
/// Anything else goes the slow way, which reports it as the old walk did.
const EVENT_TYPES: &[u8; EVENT_CELLS] = b"ITtTTTTTTTT";
const EVIDENCE_TYPES: &[u8; EVIDENCE_CELLS] = b"TtTTTTTTTTTTT";
const AUDIT_TYPES: &[u8; AUDIT_CELLS] = b"IttTTTTTTTTIITTT";

/// The event columns the checker reads of every event (`View`): seq, kind, proposal_id,
/// subject_kind, subject_id, prev_hash and hash. Of a proposal's event it reads them all (it
/// rebuilds the proposal's row from the event).
const CHECKED_CELLS: [bool; EVENT_CELLS] = [
    true, true, true, true, true, false, false, false, true, true, false,
];

/// A column copied into a batch's text: NULL, an integer, or a range of the text.
#[derive(Clone, Copy, PartialEq)]
enum Cell {
    Null,
    Int(i64),
    Text(u32, u32),
}

#[derive(Clone, Copy, PartialEq)]
enum Subject {
    Evidence,
    Audit,
}

/// An evidence or audit event, hashed by the reader: the event columns the checker reads
/// ([`CHECKED_CELLS`]; `Null` for the others) and what hashing found.
struct Fast {
    subject: Subject,
    event: [Cell; EVENT_CELLS],
    hashed: Hashed,
}

impl Fast {
    fn seq(&self) -> Option<i64> {
        match self.event[0] {
            Cell::Int(n) => Some(n),
            _ => None,
        }
    }
}

// Nearly every entry is a fast one, which a box would allocate one by one; the rare slow
// ones are boxed.
#[allow(clippy::large_enum_variant)]
enum Entry {
    Fast(Fast),
    Slow(Box<Item>),
}

/// What hashing an entry found.
#[derive(Default)]
struct Hashed {
    /// Why the event does not decode, if it does not.
    unreadable: Option<String>,
    event_ok: bool,
    /// Whether the record's hash matches; `Err` for a record that does not decode.
    record_ok: Option<Result<bool, String>>,
}

impl Hashed {
    fn all_ok(&self) -> bool {
        self.unreadable.is_none() && self.event_ok && matches!(self.record_ok, Some(Ok(true)))
    }
}

struct Batch {
    /// The last batch of its range.
    last: bool,
    /// The fast entries' checked columns, one after the other.
    text: String,
    entries: Vec<Entry>,
}

impl Batch {
    fn new() -> Batch {
        Batch {
            last: false,
            // The checked columns of an event take about 250 bytes (two hashes of 71 and
            // 72): room for a batch of them without growing.
            text: String::with_capacity(ITEMS_PER_BATCH * 320),
            entries: Vec::with_capacity(ITEMS_PER_BATCH),
        }
    }

    fn str(&self, c: Cell) -> &str {
        match c {
            Cell::Text(a, b) => &self.text[a as usize..b as usize],
            _ => "",
        }
    }

    fn opt(&self, c: Cell) -> Option<&str> {
        match c {
            Cell::Text(a, b) => Some(&self.text[a as usize..b as usize]),
            _ => None,
        }
    }

    /// Copies a column into the text; `None` when it is text but not UTF-8.
    fn copy(&mut self, c: Col<'_>) -> Option<Cell> {
        Some(match c {
            Col::Null => Cell::Null,
            Col::Int(n) => Cell::Int(n),
            Col::Text(bytes) => {
                let a = self.text.len() as u32;
                self.text.push_str(std::str::from_utf8(bytes).ok()?);
                Cell::Text(a, self.text.len() as u32)
            }
        })
    }

    /// Checks the entries in order (on the checker thread), leaving the batch empty.
    fn check(&mut self, chain: &mut Chain<'_>) -> Result<(), Walk> {
        let mut entries = std::mem::take(&mut self.entries);
        let checked = entries
            .drain(..)
            .try_for_each(|entry| self.check_entry(entry, chain));
        // Empty, its room kept for the batch's next use.
        self.entries = entries;
        self.text.clear();
        self.last = false;
        checked
    }

    fn check_entry(&self, entry: Entry, chain: &mut Chain<'_>) -> Result<(), Walk> {
        {
            match entry {
                Entry::Slow(item) => {
                    let ev = match &item.event {
                        Ok(ev) => ev,
                        Err(e) => {
                            return Err(broken(
                                item.seq,
                                "EVENT_HASH_MISMATCH",
                                format!("event is unreadable: {e}"),
                            ));
                        }
                    };
                    chain.check(&View::of(ev), &item.hashed, item.record_break, || {
                        Some(ev.clone())
                    })?;
                }
                Entry::Fast(f) => {
                    let t = |i: usize| self.str(f.event[i]);
                    let view = View {
                        seq: f.seq().unwrap_or(0),
                        kind: t(1),
                        proposal_id: self.opt(f.event[2]),
                        subject_kind: t(3),
                        subject_id: t(4),
                        prev_hash: t(8),
                        hash: t(9),
                    };
                    if let Some(e) = &f.hashed.unreadable {
                        return Err(broken(
                            view.seq,
                            "EVENT_HASH_MISMATCH",
                            format!("event is unreadable: {e}"),
                        ));
                    }
                    // Only asked for a proposal's event, whose columns were all copied.
                    let event = || {
                        Some(crate::Event {
                            seq: view.seq,
                            kind: t(1).to_owned(),
                            proposal_id: self.opt(f.event[2]).map(str::to_owned),
                            subject_kind: t(3).to_owned(),
                            subject_id: t(4).to_owned(),
                            actor: t(5).to_owned(),
                            payload: serde_json::from_str(t(6)).ok()?,
                            record_hash: t(7).to_owned(),
                            prev_hash: t(8).to_owned(),
                            hash: t(9).to_owned(),
                            created_at: t(10).to_owned(),
                        })
                    };
                    chain.check(&view, &f.hashed, None, event)?;
                }
            }
        }
        Ok(())
    }
}

/// Batches the checker is done with, for the readers to fill again: a batch's text and
/// entries keep their room, so the walk does not allocate (and free on another thread) a
/// batch's worth of memory every [`ITEMS_PER_BATCH`] events.
#[derive(Default)]
struct Spare(std::sync::Mutex<Vec<Batch>>);

impl Spare {
    /// More than the batches in flight at once (the readers' channels and one each in hand).
    const KEPT: usize = 64;

    fn take(&self) -> Batch {
        self.0
            .lock()
            .ok()
            .and_then(|mut spare| spare.pop())
            .unwrap_or_else(Batch::new)
    }

    /// Keeps a batch that [`Batch::check`] emptied.
    fn put(&self, batch: Batch) {
        if let Ok(mut spare) = self.0.lock()
            && spare.len() < Self::KEPT
        {
            spare.push(batch);
        }
    }
}

/// The text of a column (`""` for NULL or an integer, as the first-format writers below
/// expect); `None` when it is not UTF-8.
fn utf8(c: Col<'_>) -> Option<&str> {
    match c {
        Col::Text(b) => std::str::from_utf8(b).ok(),
        _ => Some(""),
    }
}

/// Every column as text (see [`utf8`]); `None` when one is not UTF-8.
fn texts<'a, const N: usize>(cols: &[Col<'a>; N]) -> Option<[&'a str; N]> {
    let mut out = [""; N];
    for (to, c) in out.iter_mut().zip(cols) {
        *to = utf8(*c)?;
    }
    Some(out)
}

/// The event and record of a fast entry, hashed from their stored columns: column hashes
/// straight from the bytes, `sha256:` hashes through the canonical JSON they cover. `None`
/// when a `sha256:` hash needs the text of a column that is not UTF-8.
fn hash_fast(
    e: &[Col<'_>; EVENT_CELLS],
    subject: Subject,
    r: &[Col<'_>; AUDIT_CELLS],
    buf: &mut Vec<u8>,
) -> Option<Hashed> {
    fn bytes(c: Col<'_>) -> &[u8] {
        match c {
            Col::Text(b) => b,
            _ => &[],
        }
    }
    let event_ok = if bytes(e[9]).starts_with(columns::PREFIX.as_bytes()) {
        let cols = [e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7], e[8], e[10]];
        columns::matches(&columns::EVENT, &cols, bytes(e[9]), buf)
    } else {
        match first_format_event(e, &texts(e)?, buf) {
            Ok(ok) => ok,
            Err(why) => {
                return Some(Hashed {
                    unreadable: Some(format!("payload_json: {why}")),
                    ..Hashed::default()
                });
            }
        }
    };
    let n = match subject {
        Subject::Evidence => EVIDENCE_CELLS,
        Subject::Audit => AUDIT_CELLS,
    };
    let record_ok = if bytes(e[7]).starts_with(columns::PREFIX.as_bytes()) {
        let layout = match subject {
            Subject::Evidence => &columns::EVIDENCE,
            Subject::Audit => &columns::AUDIT,
        };
        Ok(columns::matches(layout, &r[..n], bytes(e[7]), buf))
    } else {
        let s = texts(r)?;
        buf.clear();
        let record = match subject {
            Subject::Evidence => evidence_text(r, &s, buf),
            Subject::Audit => audit_text(r, &s, buf),
        };
        record.map(|()| first_format_matches(buf, utf8(e[7]).unwrap_or("")))
    };
    Some(Hashed {
        unreadable: None,
        event_ok,
        record_ok: Some(record_ok),
    })
}

/// Whether `buf` is what a `sha256:` hash covers.
fn first_format_matches(buf: &[u8], want: &str) -> bool {
    want.strip_prefix("sha256:")
        .is_some_and(|hex| airlock_protocol::sha256_hex(buf) == hex)
}

/// A `sha256:` event hash: its keys in sorted order, as `chain::event_hash` writes them.
/// `s` holds the columns' text. `Err` when the payload does not parse.
fn first_format_event(
    e: &[Col<'_>; EVENT_CELLS],
    s: &[&str; EVENT_CELLS],
    buf: &mut Vec<u8>,
) -> Result<bool, String> {
    use crate::canonical_text::{canonicalize_or_parse, push_str};
    buf.clear();
    buf.extend_from_slice(b"{\"actor\":");
    push_str(s[5], buf);
    buf.extend_from_slice(b",\"created_at\":");
    push_str(s[10], buf);
    buf.extend_from_slice(b",\"kind\":");
    push_str(s[1], buf);
    buf.extend_from_slice(b",\"payload\":");
    canonicalize_or_parse(s[6], buf)?;
    buf.extend_from_slice(b",\"prev_hash\":");
    push_str(s[8], buf);
    buf.extend_from_slice(b",\"proposal_id\":");
    match e[2] {
        Col::Text(..) => push_str(s[2], buf),
        _ => buf.extend_from_slice(b"null"),
    }
    buf.extend_from_slice(b",\"record_hash\":");
    push_str(s[7], buf);
    buf.extend_from_slice(b",\"seq\":");
    if let Col::Int(n) = e[0] {
        buf.extend_from_slice(n.to_string().as_bytes());
    }
    buf.extend_from_slice(b",\"subject_id\":");
    push_str(s[4], buf);
    buf.extend_from_slice(b",\"subject_kind\":");
    push_str(s[3], buf);
    buf.push(b'}');
    Ok(first_format_matches(buf, s[9]))
}

/// For a column-hashed event the slow way: whether the row's stored columns match its hash.
fn row_event_ok(row: &rusqlite::Row<'_>, stored: &str) -> rusqlite::Result<bool> {
    use rusqlite::types::ValueRef;
    let mut cols = [Col::Null; 10];
    // Every column of `read::EVENT_COLUMNS` but `hash` (index 9).
    for (to, i) in cols.iter_mut().zip([0, 1, 2, 3, 4, 5, 6, 7, 8, 10]) {
        *to = match row.get_ref(i)? {
            ValueRef::Null => Col::Null,
            ValueRef::Integer(n) => Col::Int(n),
            ValueRef::Text(b) => Col::Text(b),
            // Columns the ledger never writes: changed.
            ValueRef::Real(_) | ValueRef::Blob(_) => return Ok(false),
        };
    }
    Ok(columns::matches(
        &columns::EVENT,
        &cols,
        stored.as_bytes(),
        &mut Vec::new(),
    ))
}

/// A key and a text column.
fn key_str(key: &[u8], v: &str, buf: &mut Vec<u8>) {
    buf.extend_from_slice(key);
    crate::canonical_text::push_str(v, buf);
}

/// A key and a JSON column (a column that does not parse is unreadable, as in the slow walk).
fn key_json(key: &[u8], column: &str, v: &str, buf: &mut Vec<u8>) -> Result<(), String> {
    buf.extend_from_slice(key);
    crate::canonical_text::canonicalize_or_parse(v, buf).map_err(|e| format!("{column}: {e}"))
}

/// `EvidenceBundle` as `serde_json::to_value` writes it, keys sorted. Columns in
/// `EVIDENCE_COLUMNS` order, `s` their text.
fn evidence_text(r: &[Col<'_>], s: &[&str], buf: &mut Vec<u8>) -> Result<(), String> {
    key_str(b"{\"business_object\":", s[7], buf);
    key_str(b",\"capability\":", s[4], buf);
    key_str(b",\"created_at\":", s[12], buf);
    key_str(b",\"evidence_bundle_id\":", s[0], buf);
    let items = buf.len() + b",\"items\":".len();
    key_json(b",\"items\":", "items_json", s[11], buf)?;
    if buf.get(items) != Some(&b'[') {
        return Err("items_json is not an array".into());
    }
    key_str(b",\"object_id\":", s[8], buf);
    key_json(b",\"payload\":", "payload_json", s[10], buf)?;
    key_str(b",\"principal\":", s[3], buf);
    if let Col::Text(..) = r[1] {
        key_str(b",\"proposal_id\":", s[1], buf);
    }
    key_str(b",\"query_fingerprint\":", s[9], buf);
    key_str(b",\"source_id\":", s[5], buf);
    key_str(b",\"source_table\":", s[6], buf);
    key_str(b",\"tenant_id\":", s[2], buf);
    buf.push(b'}');
    Ok(())
}

/// `QueryAudit` as `serde_json::to_value` writes it, keys sorted. Columns in `AUDIT_COLUMNS`
/// order, `s` their text.
fn audit_text(r: &[Col<'_>], s: &[&str], buf: &mut Vec<u8>) -> Result<(), String> {
    let int = |c: Col<'_>| match c {
        Col::Int(n) => n,
        _ => 0,
    };
    buf.extend_from_slice(b"{\"audit_id\":");
    buf.extend_from_slice(int(r[0]).to_string().as_bytes());
    key_str(b",\"business_object\":", s[6], buf);
    key_str(b",\"capability\":", s[5], buf);
    key_str(b",\"created_at\":", s[15], buf);
    // Stored as i64 and read back `as u64`, as the slow walk does.
    buf.extend_from_slice(b",\"duration_us\":");
    buf.extend_from_slice((int(r[12]) as u64).to_string().as_bytes());
    if let Col::Text(..) = r[2] {
        key_str(b",\"evidence_bundle_id\":", s[2], buf);
    }
    key_str(b",\"object_id\":", s[7], buf);
    key_str(b",\"outcome\":", s[13], buf);
    key_json(b",\"payload\":", "payload_json", s[14], buf)?;
    key_str(b",\"principal\":", s[4], buf);
    if let Col::Text(..) = r[1] {
        key_str(b",\"proposal_id\":", s[1], buf);
    }
    key_str(b",\"query_fingerprint\":", s[9], buf);
    buf.extend_from_slice(b",\"row_count\":");
    buf.extend_from_slice((int(r[11]) as u64).to_string().as_bytes());
    key_str(b",\"source_id\":", s[8], buf);
    key_str(b",\"table_name\":", s[10], buf);
    key_str(b",\"tenant_id\":", s[3], buf);
    buf.push(b'}');
    Ok(())
}

/// The reader's half: the events with `lo < seq <= hi` in order, each with the record it
/// covers, hashed and handed to `send` in batches; the last batch (possibly empty) is marked
/// `last`. Returns `Ok(false)` when reading stopped early: at an event that does not decode
/// (its batch is sent) or when `send` says nobody listens any more. Stops at the first storage
/// error (returned).
///
/// Evidence and audit rows are written in chain order, so the events of a range meet them in
/// row id order: each kind is read by a cursor stepping through its table alongside the
/// events, and an event takes the cursor's row when it is the row the event names (by its id,
/// the table's key). Otherwise (a row missing, moved or added) the event's row is looked up by
/// its id, as a join would, and the cursor waits for the next event whose row it holds.
fn read_range(
    conn: &Connection,
    (lo, hi): (i64, i64),
    covered: &mut Covered,
    spare: &Spare,
    send: &mut dyn FnMut(Batch) -> bool,
) -> Result<bool, Walk> {
    use rusqlite::types::ValueRef;
    let sql = walk_sql();
    let (evidence_start, audit_start): (i64, i64) = conn
        .prepare_cached(&sql.starts)?
        .query_row([lo, hi], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let mut evidence_from = conn.prepare_cached(&sql.evidence_from)?;
    let mut evidence_rows = evidence_from.query([evidence_start])?;
    let mut evidence_at = evidence_rows.next()?;
    let mut audit_from = conn.prepare_cached(&sql.audit_from)?;
    let mut audit_rows = audit_from.query([audit_start])?;
    let mut audit_at = audit_rows.next()?;
    let mut evidence_by_id = conn.prepare_cached(&sql.evidence_by_id)?;
    let mut audit_by_id = conn.prepare_cached(&sql.audit_by_id)?;
    let mut events = conn.prepare_cached(&sql.events)?;
    let mut rows = events.query([lo, hi])?;
    let mut batch = spare.take();
    let mut buf = Vec::with_capacity(4096);
    let mut last_seq = lo;
    while let Some(row) = rows.next()? {
        let mark = batch.text.len();
        let subject = match (row.get_ref(3)?, row.get_ref(4)?) {
            (ValueRef::Text(b"evidence"), ValueRef::Text(id)) => Some((Subject::Evidence, id)),
            (ValueRef::Text(b"query_audit"), ValueRef::Text(id)) => Some((Subject::Audit, id)),
            _ => None,
        };
        // The event's record: the cursor's row, or the one its id finds.
        let mut found;
        let mut took = None;
        let record = match subject {
            None => None,
            Some((Subject::Evidence, id)) => match evidence_at {
                Some(r) if r.get_ref(0)? == ValueRef::Text(id) => {
                    took = Some(Subject::Evidence);
                    Some(r)
                }
                _ => {
                    found = evidence_by_id.query([Col::Text(id)])?;
                    found.next()?
                }
            },
            Some((Subject::Audit, id)) => {
                let id_is = |r: &rusqlite::Row<'_>| -> rusqlite::Result<bool> {
                    Ok(matches!(r.get_ref(0)?, ValueRef::Integer(n)
                        if std::str::from_utf8(id).ok().and_then(|s| s.parse().ok()) == Some(n)))
                };
                match audit_at {
                    Some(r) if id_is(r)? => {
                        took = Some(Subject::Audit);
                        Some(r)
                    }
                    _ => {
                        found = audit_by_id.query([Col::Text(id)])?;
                        found.next()?
                    }
                }
            }
        };
        let fast = match record {
            Some(record) => fast_entry(&mut batch, row, record, &mut buf)?,
            None => None,
        };
        let (entry, stop) = match fast {
            Some(f) => {
                covered[if f.subject == Subject::Evidence { 0 } else { 1 }] += 1;
                last_seq = f.seq().unwrap_or(last_seq);
                (Entry::Fast(f), false)
            }
            None => {
                batch.text.truncate(mark);
                let item = Item::read(conn, row, covered, last_seq)?;
                last_seq = item.seq;
                let stop = item.event.is_err();
                (Entry::Slow(Box::new(item)), stop)
            }
        };
        match took {
            Some(Subject::Evidence) => evidence_at = evidence_rows.next()?,
            Some(Subject::Audit) => audit_at = audit_rows.next()?,
            None => {}
        }
        batch.entries.push(entry);
        if batch.entries.len() == ITEMS_PER_BATCH || stop {
            let full = std::mem::replace(&mut batch, spare.take());
            if !send(full) || stop {
                return Ok(false);
            }
        }
    }
    batch.last = true;
    Ok(send(batch))
}

/// Reads a row's columns `at..at + types.len()` as SQLite holds them (nothing copied);
/// `false` when one has a type other than `types` says.
fn stored<'r>(
    row: &'r rusqlite::Row<'_>,
    at: usize,
    types: &[u8],
    into: &mut [Col<'r>],
) -> rusqlite::Result<bool> {
    use rusqlite::types::ValueRef;
    for (i, (t, to)) in types.iter().zip(into).enumerate() {
        *to = match (row.get_ref(at + i)?, t) {
            (ValueRef::Null, b't') => Col::Null,
            (ValueRef::Integer(n), b'I') => Col::Int(n),
            (ValueRef::Text(bytes), b'T' | b't') => Col::Text(bytes),
            _ => return Ok(false),
        };
    }
    Ok(true)
}

/// An event and its record as a fast entry: an evidence or audit event whose columns all
/// have the types the fast path expects, hashed, its checked columns copied into the batch.
/// `None` sends it the slow way: so does a row whose hashes do not all match and that holds
/// text that is not UTF-8 (the slow way reports it unreadable, as before). Texts are not
/// checked for UTF-8 otherwise: a column hash that matches covers the very bytes the writer
/// hashed, its text.
fn fast_entry(
    batch: &mut Batch,
    row: &rusqlite::Row<'_>,
    record: &rusqlite::Row<'_>,
    buf: &mut Vec<u8>,
) -> rusqlite::Result<Option<Fast>> {
    let mut e = [Col::Null; EVENT_CELLS];
    if !stored(row, 0, EVENT_TYPES, &mut e)? {
        return Ok(None);
    }
    let (subject, types): (_, &[u8]) = match e[3] {
        Col::Text(b"evidence") => (Subject::Evidence, EVIDENCE_TYPES),
        Col::Text(b"query_audit") => (Subject::Audit, AUDIT_TYPES),
        _ => return Ok(None),
    };
    let mut r = [Col::Null; AUDIT_CELLS];
    if !stored(record, 0, types, &mut r)? {
        return Ok(None);
    }
    let same_row = match (subject, r[0]) {
        (Subject::Evidence, id @ Col::Text(_)) => id == e[4],
        (Subject::Audit, Col::Int(id)) => utf8(e[4]).and_then(|s| s.parse().ok()) == Some(id),
        _ => false,
    };
    if !same_row {
        return Ok(None);
    }
    let Some(hashed) = hash_fast(&e, subject, &r, buf) else {
        return Ok(None);
    };
    if !hashed.all_ok() && (texts(&e).is_none() || texts(&r).is_none()) {
        return Ok(None);
    }
    let whole = e[2] != Col::Null;
    let mut event = [Cell::Null; EVENT_CELLS];
    for ((to, c), checked) in event.iter_mut().zip(e).zip(CHECKED_CELLS) {
        if checked || whole {
            let Some(cell) = batch.copy(c) else {
                return Ok(None);
            };
            *to = cell;
        }
    }
    Ok(Some(Fast {
        subject,
        event,
        hashed,
    }))
}

/// The fields of an event the checker reads.
struct View<'a> {
    seq: i64,
    kind: &'a str,
    proposal_id: Option<&'a str>,
    subject_kind: &'a str,
    subject_id: &'a str,
    prev_hash: &'a str,
    hash: &'a str,
}

impl<'a> View<'a> {
    fn of(ev: &'a crate::Event) -> View<'a> {
        View {
            seq: ev.seq,
            kind: &ev.kind,
            proposal_id: ev.proposal_id.as_deref(),
            subject_kind: &ev.subject_kind,
            subject_id: &ev.subject_id,
            prev_hash: &ev.prev_hash,
            hash: &ev.hash,
        }
    }
}

/// The checker's half: the chain as walked so far.
struct Chain<'a> {
    checkpoint: Option<&'a checkpoint::Loaded>,
    cut: i64,
    prev_seq: i64,
    prev_hash: String,
    /// Events the checkpoint kept that the walk has not met yet.
    unseen: BTreeSet<i64>,
    /// Anchors after the cut, in order (those at or before it name events removed on purpose).
    anchors: Vec<&'a Anchor>,
    next_anchor: usize,
    /// Each proposal's mutable columns as its latest event left them, and that event's seq.
    proposal_rows: HashMap<String, (i64, ProposalRow)>,
    events_checked: u64,
    awaiting_prune: u64,
    anchors_checked: u64,
    anchored_seq: Option<i64>,
}

impl<'a> Chain<'a> {
    fn start(checkpoint: Option<&'a checkpoint::Loaded>, anchors: &'a [Anchor]) -> Chain<'a> {
        let (prev_seq, prev_hash) = match checkpoint {
            Some(c) => (c.summary.cut.seq, c.summary.cut.hash.clone()),
            None => (0i64, GENESIS_HASH.to_owned()),
        };
        let mut after_cut: Vec<&Anchor> = anchors.iter().filter(|a| a.seq > prev_seq).collect();
        after_cut.sort_by_key(|a| a.seq);
        Chain {
            checkpoint,
            cut: prev_seq,
            prev_seq,
            prev_hash,
            unseen: checkpoint
                .map(|c| c.retained.keys().copied().collect())
                .unwrap_or_default(),
            anchors: after_cut,
            next_anchor: 0,
            proposal_rows: HashMap::new(),
            events_checked: 0,
            awaiting_prune: 0,
            anchors_checked: 0,
            anchored_seq: None,
        }
    }

    /// Checks one event, given what the hashers found and how to build the whole event (only
    /// asked for events of a proposal, whose columns the chain rebuilds).
    fn check(
        &mut self,
        ev: &View<'_>,
        hashed: &Hashed,
        record_break: Option<Walk>,
        event: impl FnOnce() -> Option<crate::Event>,
    ) -> Result<(), Walk> {
        self.events_checked += 1;
        let changed = || {
            broken(
                ev.seq,
                "EVENT_HASH_MISMATCH",
                format!(
                    "event {} ({}) was changed after it was written",
                    ev.seq, ev.kind
                ),
            )
        };
        if ev.seq <= self.cut {
            // Its predecessor may be gone, so only its own hash, the hash the checkpoint kept
            // for it (if it kept it) and its record are checked.
            if !hashed.event_ok {
                return Err(changed());
            }
            if let Some(kept) = self.checkpoint.and_then(|c| c.retained.get(&ev.seq))
                && kept != ev.hash
            {
                return Err(broken(
                    ev.seq,
                    "CHECKPOINT_MISMATCH",
                    format!(
                        "event {} is not the event the checkpoint kept at that position",
                        ev.seq
                    ),
                ));
            }
            check_record(ev, hashed, record_break)?;
            if !self.unseen.remove(&ev.seq) {
                self.awaiting_prune += 1;
            }
            self.track_proposal(ev, event)?;
            return Ok(());
        }
        if ev.seq != self.prev_seq + 1 {
            return Err(broken(
                ev.seq,
                "SEQUENCE_GAP",
                format!("event {} follows event {}", ev.seq, self.prev_seq),
            ));
        }
        if ev.prev_hash != self.prev_hash {
            return Err(broken(
                ev.seq,
                "PREV_HASH_MISMATCH",
                "prev_hash does not match the previous event's hash",
            ));
        }
        if !hashed.event_ok {
            return Err(changed());
        }
        while let Some(a) = self
            .anchors
            .get(self.next_anchor)
            .filter(|a| a.seq <= ev.seq)
        {
            // Only an anchor at this very seq can be met here: smaller ones were met before.
            if a.hash != ev.hash {
                return Err(broken(
                    ev.seq,
                    "ANCHOR_MISMATCH",
                    format!(
                        "anchor line {} (written {}) records event {} with hash {}, but the chain's event {} has {}: the chain was rewritten from there or before",
                        a.line, a.at, a.seq, a.hash, ev.seq, ev.hash
                    ),
                ));
            }
            self.anchors_checked += 1;
            self.anchored_seq = Some(a.seq);
            self.next_anchor += 1;
        }
        check_record(ev, hashed, record_break)?;
        self.track_proposal(ev, event)?;
        self.prev_seq = ev.seq;
        ev.hash.clone_into(&mut self.prev_hash);
        Ok(())
    }

    /// Remembers the mutable columns a proposal's event leaves.
    fn track_proposal(
        &mut self,
        ev: &View<'_>,
        event: impl FnOnce() -> Option<crate::Event>,
    ) -> Result<(), Walk> {
        let Some(pid) = ev.proposal_id else {
            return Ok(());
        };
        // The event's hash matched, so its payload is what was written and parses.
        let Some(event) = event() else {
            return Err(broken(
                ev.seq,
                "EVENT_HASH_MISMATCH",
                "event is unreadable: payload_json does not parse",
            ));
        };
        let before = self.proposal_rows.get(pid).map(|(_, row)| row);
        if let Some(after) = ProposalRow::after(&event, before) {
            self.proposal_rows.insert(pid.to_owned(), (ev.seq, after));
        }
        Ok(())
    }
}

/// Compares each proposal's state, `updated_at` and `source_database_mutated` with what its
/// last event says; reports the mismatch whose event comes first in the chain.
fn check_proposal_rows(
    conn: &Connection,
    expected: &HashMap<String, (i64, ProposalRow)>,
) -> Result<(), Walk> {
    let mut order: Vec<_> = expected.iter().collect();
    order.sort_by_key(|(_, (seq, _))| *seq);
    for (pid, (seq, want)) in order {
        let stored = match read::proposal(conn, pid) {
            Ok(p) => p,
            Err(LedgerError::NotFound { .. }) => {
                return Err(broken(
                    *seq,
                    "RECORD_MISSING",
                    format!("proposal {pid} is gone"),
                ));
            }
            Err(e) => return Err(Walk::Ledger(e)),
        };
        let have = ProposalRow::of(&stored);
        if have != *want {
            return Err(broken(
                *seq,
                "STATE_MISMATCH",
                format!(
                    "proposal {pid} has {} but its events say {}",
                    describe(&have),
                    describe(want)
                ),
            ));
        }
    }
    Ok(())
}

fn describe(row: &ProposalRow) -> String {
    format!(
        "state {}, updated_at {}, source_database_mutated {}",
        row.state, row.updated_at, row.source_database_mutated
    )
}

/// The record's hash as the hashers found it (or the break found reading it) against the
/// event's `record_hash`.
fn check_record(ev: &View<'_>, hashed: &Hashed, record_break: Option<Walk>) -> Result<(), Walk> {
    if let Some(w) = record_break {
        return Err(w);
    }
    match &hashed.record_ok {
        Some(Ok(true)) => Ok(()),
        Some(Err(why)) => Err(broken(
            ev.seq,
            "RECORD_HASH_MISMATCH",
            format!(
                "{} {} is no longer readable: {why}",
                ev.subject_kind, ev.subject_id
            ),
        )),
        _ => Err(broken(
            ev.seq,
            "RECORD_HASH_MISMATCH",
            format!(
                "{} {} was changed after event {} recorded it",
                ev.subject_kind, ev.subject_id, ev.seq
            ),
        )),
    }
}

/// The JSON an event's `record_hash` covers, read from its table (checking what can be
/// checked on the way), and counted in `covered`.
pub(crate) fn record_value(
    conn: &Connection,
    ev: &crate::Event,
    covered: &mut Covered,
) -> Result<serde_json::Value, Walk> {
    let missing = || {
        broken(
            ev.seq,
            "RECORD_MISSING",
            format!("{} {} is gone", ev.subject_kind, ev.subject_id),
        )
    };
    let value = match ev.subject_kind.as_str() {
        "evidence" => {
            covered[0] += 1;
            let e = read::evidence_bundle(conn, &ev.subject_id)
                .map_err(|e| unreadable(ev, e))?
                .ok_or_else(missing)?;
            serde_json::to_value(&e).map_err(LedgerError::from)?
        }
        "query_audit" => {
            covered[1] += 1;
            let id: i64 = ev.subject_id.parse().map_err(|_| missing())?;
            let a = read::audit_by_id(conn, id)
                .map_err(|e| unreadable(ev, e))?
                .ok_or_else(missing)?;
            serde_json::to_value(&a).map_err(LedgerError::from)?
        }
        "proposal" => {
            if ev.kind == "proposal_created" {
                covered[2] += 1;
            }
            let p = match read::proposal(conn, &ev.subject_id) {
                Ok(p) => p,
                Err(LedgerError::NotFound { .. }) => return Err(missing()),
                Err(e) => return Err(unreadable(ev, e)),
            };
            if !p.change_set.hash_is_valid()
                || p.change_set.integrity.proposal_hash != p.proposal_hash
            {
                return Err(broken(
                    ev.seq,
                    "PROPOSAL_HASH_INVALID",
                    format!(
                        "proposal {} does not match its own integrity hash",
                        p.proposal_id
                    ),
                ));
            }
            let key = read::dedupe_key(conn, &p.proposal_id)?.unwrap_or_default();
            chain::proposal_value(&p, &key)
        }
        "approval" => {
            covered[3] += 1;
            let id: i64 = ev.subject_id.parse().map_err(|_| missing())?;
            let a = read::approval_by_id(conn, id)
                .map_err(|e| unreadable(ev, e))?
                .ok_or_else(missing)?;
            serde_json::to_value(&a).map_err(LedgerError::from)?
        }
        "writeback_job" => {
            covered[4] += 1;
            let id: i64 = ev.subject_id.parse().map_err(|_| missing())?;
            let j = read::job_by_id(conn, id)
                .map_err(|e| unreadable(ev, e))?
                .ok_or_else(missing)?;
            serde_json::to_value(&j).map_err(LedgerError::from)?
        }
        "receipt" => {
            covered[5] += 1;
            let id: i64 = ev.subject_id.parse().map_err(|_| missing())?;
            let r = read::receipt_by_id(conn, id)
                .map_err(|e| unreadable(ev, e))?
                .ok_or_else(missing)?;
            if !r.receipt.hash_is_valid() {
                return Err(broken(
                    ev.seq,
                    "RECORD_HASH_MISMATCH",
                    format!("receipt {id} does not match its own receipt_hash"),
                ));
            }
            serde_json::to_value(&r).map_err(LedgerError::from)?
        }
        "human_action" => {
            covered[6] += 1;
            let id: i64 = ev.subject_id.parse().map_err(|_| missing())?;
            let a = super::shadow::by_id(conn, id)
                .map_err(|e| unreadable(ev, e))?
                .ok_or_else(missing)?;
            serde_json::to_value(&a).map_err(LedgerError::from)?
        }
        // The first event of an imported ledger: its record is its own payload.
        // A prune's checkpoint, likewise.
        super::import::IMPORT_SUBJECT
            if ev.kind == "ledger_imported" || ev.kind == checkpoint::PRUNED_KIND =>
        {
            ev.payload.clone()
        }
        other => {
            return Err(broken(
                ev.seq,
                "RECORD_MISSING",
                format!("unknown subject kind {other}"),
            ));
        }
    };
    Ok(value)
}

/// A record whose columns no longer decode (text where a number was, text that is not UTF-8,
/// bad JSON) was edited.
fn unreadable(ev: &crate::Event, e: LedgerError) -> Walk {
    match e {
        LedgerError::Storage(
            rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::IntegralValueOutOfRange(..)
            | rusqlite::Error::Utf8Error(..),
        )
        | LedgerError::Json(_) => broken(
            ev.seq,
            "RECORD_HASH_MISMATCH",
            format!(
                "{} {} is no longer readable: {e}",
                ev.subject_kind, ev.subject_id
            ),
        ),
        other => Walk::Ledger(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EvidenceBundle, Ledger, NewRead, QueryAudit, SqliteLedger};
    use serde_json::{Value, json};

    const WORDS: [&str; 9] = [
        "plain",
        "é ü 中文",
        "😀",
        "q\"uote",
        "back\\slash",
        "tab\tnew\nline",
        "\u{1}\u{1f}",
        "\u{2028}",
        "",
    ];

    fn payload(i: usize) -> Value {
        let w = |n: usize| WORDS[n % WORDS.len()];
        json!({
            "zeta": i,
            "alpha": {"neg": -(i as i64), "float": i as f64 / 3.0, "big": u64::MAX - i as u64,
                      "exp": 1e300, "w": w(i)},
            w(i + 1): [w(i + 2), null, true, false, [], {}],
            "middle": {"b": w(i + 3), "a": i.is_multiple_of(7)},
        })
    }

    fn read(i: usize) -> NewRead {
        let w = |n: usize| WORDS[n % WORDS.len()].to_owned();
        let evidence = (!i.is_multiple_of(4)).then(|| EvidenceBundle {
            evidence_bundle_id: format!("ev_{i}_{}", w(i)),
            proposal_id: None,
            tenant_id: if i.is_multiple_of(2) {
                "acme"
            } else {
                "globex"
            }
            .into(),
            principal: w(i + 4),
            capability: "billing.inspect_invoice".into(),
            source_id: "app".into(),
            source_table: "public.invoices".into(),
            business_object: "invoices".into(),
            object_id: w(i),
            query_fingerprint: "sha256:abc".into(),
            payload: payload(i),
            items: vec![payload(i + 1), json!(w(i + 5))],
            created_at: airlock_protocol::now_rfc3339(),
        });
        NewRead {
            audit: QueryAudit {
                audit_id: 0,
                proposal_id: None,
                evidence_bundle_id: evidence.as_ref().map(|e| e.evidence_bundle_id.clone()),
                tenant_id: "acme".into(),
                principal: w(i + 6),
                capability: "billing.inspect_invoice".into(),
                business_object: "invoices".into(),
                object_id: w(i + 7),
                source_id: "app".into(),
                query_fingerprint: "sha256:abc".into(),
                table_name: "public.invoices".into(),
                row_count: i as u64,
                duration_us: (i * 31) as u64,
                outcome: "ok".into(),
                payload: payload(i + 2),
                created_at: airlock_protocol::now_rfc3339(),
            },
            evidence,
        }
    }

    #[test]
    fn column_layouts_are_the_columns_the_ledger_reads() {
        let names = |s: &'static str| s.split(',').map(str::trim).collect::<Vec<_>>();
        let mut event = names(read::EVENT_COLUMNS);
        assert_eq!(event.remove(9), "hash");
        assert_eq!(names(columns::EVENT.columns), event);
        assert_eq!(columns::EVENT.width(), EVENT_CELLS - 1);
        assert_eq!(columns::EVIDENCE.width(), EVIDENCE_CELLS);
        assert_eq!(columns::AUDIT.width(), AUDIT_CELLS);
    }

    /// Each row hashed both ways: (fast path taken, fast event ok, fast record ok, slow event
    /// ok, slow record ok). The fast way is given each event's record looked up by its id.
    fn both_ways(conn: &Connection) -> Vec<(i64, bool, bool, bool, bool, bool)> {
        let sql = walk_sql();
        let mut stmt = conn.prepare(&sql.events).unwrap();
        let mut rows = stmt.query([i64::MIN, i64::MAX]).unwrap();
        let mut out = Vec::new();
        let mut covered = [0; CHAINED_TABLES.len()];
        let mut buf = Vec::new();
        while let Some(row) = rows.next().unwrap() {
            let ev = read::event_from_row(row).unwrap();
            let slow_event = chain::event_hash(&EventBody::of(&ev)) == ev.hash;
            let slow_record = match record_value(conn, &ev, &mut covered) {
                Ok(v) => airlock_protocol::hash_json(&v) == ev.record_hash,
                Err(_) => false,
            };
            let by_id = match ev.subject_kind.as_str() {
                "evidence" => &sql.evidence_by_id,
                _ => &sql.audit_by_id,
            };
            let mut by_id = conn.prepare(by_id).unwrap();
            let mut records = by_id.query([&ev.subject_id]).unwrap();
            let mut batch = Batch::new();
            let fast = match records.next().unwrap() {
                Some(record) => fast_entry(&mut batch, row, record, &mut buf).unwrap(),
                None => None,
            };
            let (fast, e, r) = match fast {
                Some(f) => (
                    true,
                    f.hashed.event_ok,
                    matches!(f.hashed.record_ok, Some(Ok(true))),
                ),
                None => (false, false, false),
            };
            out.push((ev.seq, fast, e, r, slow_event, slow_record));
        }
        out
    }

    /// The same value with every object's keys in reverse order.
    fn reversed(v: &Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .rev()
                    .map(|(k, v)| (k.clone(), reversed(v)))
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(reversed).collect()),
            other => other.clone(),
        }
    }

    #[tokio::test]
    async fn the_fast_path_hashes_exactly_as_the_value_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.db");
        let ledger = SqliteLedger::open(&path).unwrap();
        for i in 0..400 {
            ledger.record_read(read(i)).await.unwrap();
        }
        let conn = Connection::open(&path).unwrap();
        // This is about `sha256:` rows, the ones ledgers written before column hashes hold.
        to_first_format(&conn, i64::MAX);
        let rows = both_ways(&conn);
        assert_eq!(rows.len(), 700);
        for (seq, fast, e, r, se, sr) in &rows {
            assert!(*fast, "event {seq} took the slow path");
            assert!(*e && *r && *se && *sr, "event {seq}: {e} {r} {se} {sr}");
        }

        // The same JSON written another way (keys reordered, spaces, escapes serde_json would
        // not write): both paths still match; a changed value fails both.
        let stored: String = conn
            .query_row(
                "SELECT payload_json FROM query_audit WHERE audit_id = 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let reordered = reversed(&serde_json::from_str(&stored).unwrap());
        let rewritten = serde_json::to_string_pretty(&reordered)
            .unwrap()
            .replace('é', "\\u00e9")
            .replace('/', "\\/")
            .replace('😀', "\\ud83d\\ude00");
        assert_ne!(rewritten, stored);
        conn.execute(
            "UPDATE query_audit SET payload_json = ?1 WHERE audit_id = 1",
            [&rewritten],
        )
        .unwrap();
        conn.execute_batch(
            r#"UPDATE query_audit SET payload_json = replace(payload_json, '"zeta":5', '"zeta":6')
               WHERE audit_id = 4;
               UPDATE events SET payload_json = ' ' || payload_json || ' ' WHERE seq = 3;
               UPDATE evidence_bundles SET items_json = '{}' WHERE rowid = 2;
               UPDATE evidence_bundles SET payload_json = 'not json' WHERE rowid = 3;"#,
        )
        .unwrap();
        let after = both_ways(&conn);
        let mut differs = 0;
        for ((seq, fast, e, r, se, sr), before) in after.iter().zip(&rows) {
            assert!(*fast, "event {seq} took the slow path");
            assert_eq!((e, r), (se, sr), "event {seq}");
            if (e, r) != (&before.2, &before.3) {
                differs += 1;
            }
        }
        // The reformatted audit row and event still verify; the edited ones do not.
        assert_eq!(differs, 3, "{after:?}");
        let report = crate::sqlite::verify::verify(&conn, &[]).unwrap();
        assert_eq!(report.first_break.unwrap().code, "RECORD_HASH_MISMATCH");
    }

    /// Rewrites the events up to `last` as versions before column hashes wrote them:
    /// `sha256:` record hashes for evidence and audit rows and `sha256:` event hashes, chained
    /// again from the first event.
    fn to_first_format(conn: &Connection, last: i64) {
        let events: Vec<crate::Event> = {
            let mut stmt = conn
                .prepare(&format!(
                    "{} WHERE seq <= ?1 ORDER BY seq",
                    read::events_sql()
                ))
                .unwrap();
            stmt.query_map([last], read::event_from_row)
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        let mut prev = GENESIS_HASH.to_owned();
        for mut ev in events {
            if columns::is_column_hash(&ev.record_hash) {
                ev.record_hash = match ev.subject_kind.as_str() {
                    "evidence" => chain::evidence_hash(
                        &read::evidence_bundle(conn, &ev.subject_id)
                            .unwrap()
                            .unwrap(),
                    ),
                    "query_audit" => chain::audit_hash(
                        &read::audit_by_id(conn, ev.subject_id.parse().unwrap())
                            .unwrap()
                            .unwrap(),
                    ),
                    other => panic!("no column-hashed {other} records"),
                };
            }
            ev.prev_hash = prev;
            ev.hash = chain::event_hash(&EventBody::of(&ev));
            conn.execute(
                "UPDATE events SET record_hash = ?1, prev_hash = ?2, hash = ?3 WHERE seq = ?4",
                rusqlite::params![ev.record_hash, ev.prev_hash, ev.hash, ev.seq],
            )
            .unwrap();
            prev = ev.hash;
        }
    }

    /// A different value of the same type (text gets a character, integers move, NULL
    /// becomes text), then the same value stored as another type, or JSON written another way.
    fn tampers(value: &rusqlite::types::Value, json: bool) -> Vec<rusqlite::types::Value> {
        use rusqlite::types::Value as V;
        match value {
            V::Integer(n) => vec![V::Integer(n + 1000), V::Text(n.to_string())],
            V::Null => vec![V::Text(String::new())],
            V::Text(t) if json => vec![
                V::Text(t.replacen(':', ": ", 1)),
                V::Text(format!("{t} ")),
                V::Blob(t.as_bytes().to_vec()),
            ],
            V::Text(t) => vec![V::Text(format!("{t}x")), V::Blob(t.as_bytes().to_vec())],
            other => panic!("the ledger wrote {other:?}"),
        }
    }

    /// Tampers every column of one row of `table`, each way [`tampers`] knows, and returns
    /// (column, tampered value, first break) for each; the ledger is left as it was.
    fn tamper_each_column(
        conn: &Connection,
        table: &str,
        layout: &str,
        rowid: i64,
    ) -> Vec<(String, String, Option<VerifyBreak>)> {
        let mut found = Vec::new();
        // An attacker is not bound by the ledger's foreign keys.
        conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
        for column in layout.split(',').map(str::trim).chain(
            // The event's own hash is stored but not hashed.
            (table == "events").then_some("hash"),
        ) {
            let old: rusqlite::types::Value = conn
                .query_row(
                    &format!("SELECT {column} FROM {table} WHERE rowid = ?1"),
                    [rowid],
                    |r| r.get(0),
                )
                .unwrap();
            for new in tampers(&old, column.ends_with("_json")) {
                conn.execute_batch("SAVEPOINT tamper").unwrap();
                let edited = conn.execute(
                    &format!("UPDATE {table} SET {column} = ?1 WHERE rowid = ?2"),
                    rusqlite::params![new, rowid],
                );
                // The row id columns take integers only, and integer columns store the text
                // of an integer as the integer: nothing changed then.
                let now: Option<rusqlite::types::Value> = conn
                    .query_row(
                        &format!("SELECT {column} FROM {table} WHERE rowid = ?1"),
                        [rowid],
                        |r| r.get(0),
                    )
                    .ok();
                if edited.is_ok() && now.as_ref() != Some(&old) {
                    let report = verify(conn, &[]).unwrap();
                    assert_eq!(report.ok, report.first_break.is_none());
                    found.push((column.to_owned(), format!("{new:?}"), report.first_break));
                }
                conn.execute_batch("ROLLBACK TO tamper; RELEASE tamper")
                    .unwrap();
            }
        }
        assert!(verify(conn, &[]).unwrap().ok);
        found
    }

    fn seq_of(conn: &Connection, subject_kind: &str, subject_id: &str) -> i64 {
        conn.query_row(
            "SELECT seq FROM events WHERE subject_kind = ?1 AND subject_id = ?2",
            [subject_kind, subject_id],
            |r| r.get(0),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn every_column_of_a_column_hashed_row_is_covered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.db");
        let ledger = SqliteLedger::open(&path).unwrap();
        for i in 0..24 {
            ledger.record_read(read(i)).await.unwrap();
        }
        let conn = Connection::open(&path).unwrap();
        let hashes: Vec<(String, String)> = conn
            .prepare("SELECT hash, record_hash FROM events")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            hashes
                .iter()
                .all(|(h, r)| h.starts_with("sha256c:") && r.starts_with("sha256c:")),
            "{hashes:?}"
        );
        assert!(verify(&conn, &[]).unwrap().ok);

        let mut wrong = Vec::new();
        let mut check = |found: Vec<(String, String, Option<VerifyBreak>)>,
                         seq: i64,
                         want: &dyn Fn(&str, &str) -> &'static str| {
            assert!(found.len() >= 20, "{found:?}");
            for (column, value, b) in found {
                let code = b.as_ref().map(|b| b.code);
                let at = b.as_ref().map(|b| b.seq);
                let expected = want(&column, &value);
                // A changed `seq` moves the event: the break is where the chain notices.
                let seq_ok = at == Some(seq) || column == "seq";
                if code != Some(expected) || !seq_ok {
                    wrong.push(format!(
                        "{column} = {value}: {code:?} at {at:?}, want {expected} at {seq}"
                    ));
                }
            }
        };

        // Evidence row 5 (of those written) and the audit row of read 9, in the middle.
        let evidence_id: String = conn
            .query_row(
                "SELECT evidence_bundle_id FROM evidence_bundles WHERE rowid = 5",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let seq = seq_of(&conn, "evidence", &evidence_id);
        check(
            tamper_each_column(&conn, "evidence_bundles", columns::EVIDENCE.columns, 5),
            seq,
            &|c, _| match c {
                // Its event no longer finds it.
                "evidence_bundle_id" => "RECORD_MISSING",
                _ => "RECORD_HASH_MISMATCH",
            },
        );
        let seq = seq_of(&conn, "query_audit", "9");
        check(
            tamper_each_column(&conn, "query_audit", columns::AUDIT.columns, 9),
            seq,
            &|c, _| match c {
                "audit_id" => "RECORD_MISSING",
                _ => "RECORD_HASH_MISMATCH",
            },
        );
        // An event in the middle.
        let seq = 11;
        check(
            tamper_each_column(&conn, "events", columns::EVENT.columns, seq),
            seq,
            &|c, value| match c {
                "seq" => "SEQUENCE_GAP",
                // Stored as a blob, the event does not even read back.
                "prev_hash" if !value.starts_with("Blob") => "PREV_HASH_MISMATCH",
                _ => "EVENT_HASH_MISMATCH",
            },
        );
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    /// Hashes are taken over the stored bytes without checking that text is UTF-8; a row
    /// whose hash then fails and that holds text that is not goes the slow way, which reports
    /// it unreadable (a record's text used to stop the walk with a storage error instead).
    #[tokio::test]
    async fn text_that_is_not_utf8_is_reported_unreadable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.db");
        let ledger = SqliteLedger::open(&path).unwrap();
        for i in 0..12 {
            ledger.record_read(read(i)).await.unwrap();
        }
        let conn = Connection::open(&path).unwrap();
        assert!(verify(&conn, &[]).unwrap().ok);
        let evidence_id: String = conn
            .query_row(
                "SELECT evidence_bundle_id FROM evidence_bundles WHERE rowid = 3",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let cases = [
            (
                "UPDATE evidence_bundles SET items_json = CAST(x'5b22ff225d' AS TEXT) WHERE rowid = 3",
                seq_of(&conn, "evidence", &evidence_id),
                "RECORD_HASH_MISMATCH",
                "is no longer readable",
            ),
            (
                "UPDATE query_audit SET payload_json = CAST(x'7b7dfe' AS TEXT) WHERE audit_id = 5",
                seq_of(&conn, "query_audit", "5"),
                "RECORD_HASH_MISMATCH",
                "is no longer readable",
            ),
            (
                "UPDATE events SET actor = CAST(x'61c3' AS TEXT) WHERE seq = 7",
                7,
                "EVENT_HASH_MISMATCH",
                "event is unreadable",
            ),
        ];
        for (edit, seq, code, detail) in cases {
            conn.execute_batch("SAVEPOINT tamper").unwrap();
            conn.execute_batch(edit).unwrap();
            let b = verify(&conn, &[]).unwrap().first_break.unwrap();
            assert_eq!((b.seq, b.code), (seq, code), "{edit}: {b:?}");
            assert!(b.detail.contains(detail), "{edit}: {b:?}");
            conn.execute_batch("ROLLBACK TO tamper; RELEASE tamper")
                .unwrap();
        }
        assert!(verify(&conn, &[]).unwrap().ok);
    }

    #[tokio::test]
    async fn a_ledger_upgraded_to_column_hashes_verifies_old_rows_the_old_way() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.db");
        let ledger = SqliteLedger::open(&path).unwrap();
        for i in 0..20 {
            ledger.record_read(read(i)).await.unwrap();
        }
        let conn = Connection::open(&path).unwrap();
        let (old_head,): (i64,) = conn
            .query_row("SELECT max(seq) FROM events", [], |r| Ok((r.get(0)?,)))
            .unwrap();
        to_first_format(&conn, i64::MAX);
        // Then the new version writes on.
        for i in 20..40 {
            ledger.record_read(read(i)).await.unwrap();
        }
        let formats: Vec<(i64, bool, bool)> = conn
            .prepare("SELECT seq, hash LIKE 'sha256c:%', record_hash LIKE 'sha256c:%' FROM events ORDER BY seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for (seq, event_c, record_c) in &formats {
            let new = *seq > old_head;
            assert_eq!((*event_c, *record_c), (new, new), "event {seq}");
        }
        let report = verify(&conn, &[]).unwrap();
        assert!(report.ok, "{:?}", report.first_break);
        assert_eq!(report.events_checked, formats.len() as u64);

        // An old row is still checked the old way: a changed value is found, the same JSON
        // written with other spacing is not (its hash covers the canonical form).
        let old_audit: i64 = conn
            .query_row(
                "SELECT audit_id FROM query_audit ORDER BY audit_id LIMIT 1 OFFSET 3",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let seq = seq_of(&conn, "query_audit", &old_audit.to_string());
        assert!(seq <= old_head);
        let found = tamper_each_column(&conn, "query_audit", columns::AUDIT.columns, old_audit);
        for (column, value, b) in &found {
            let respaced = column == "payload_json" && value.contains(": ");
            let trailing = column == "payload_json" && value.ends_with(" \")");
            if respaced || trailing {
                assert!(b.is_none(), "{column} = {value}: {b:?}");
            } else {
                let b = b
                    .as_ref()
                    .unwrap_or_else(|| panic!("{column} = {value} unnoticed"));
                assert_eq!(b.seq, seq, "{column} = {value}: {b:?}");
            }
        }
        // A rewritten old event, and a new event that no longer hangs on the old chain.
        conn.execute("UPDATE events SET actor = 'mallory' WHERE seq = 3", [])
            .unwrap();
        let b = verify(&conn, &[]).unwrap().first_break.unwrap();
        assert_eq!((b.seq, b.code), (3, "EVENT_HASH_MISMATCH"));
    }

    #[tokio::test]
    async fn an_export_of_column_hashed_rows_verifies_and_a_tampered_one_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.db");
        let ledger = SqliteLedger::open(&path).unwrap();
        for i in 0..12 {
            ledger.record_read(read(i)).await.unwrap();
        }
        let mut out = Vec::new();
        let header = ledger.export(None, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("\"sha256c:"));
        let (_, report) = crate::verify_export(text.as_bytes()).unwrap();
        assert!(report.ok, "{:?}", report.first_break);
        assert_eq!(report.events_checked, header.events);

        // Each event line changed in one place: its event, its record (a value, a field
        // added, a field removed), its payload.
        let lines: Vec<&str> = text.lines().collect();
        type Edit = (&'static str, fn(&mut Value));
        let edits: [Edit; 6] = [
            ("actor", |v| v["event"]["actor"] = json!("mallory")),
            ("payload", |v| v["event"]["payload"]["extra"] = json!(1)),
            ("record value", |v| {
                let r = &mut v["record"];
                r["principal"] = json!(format!("{}x", r["principal"].as_str().unwrap()));
            }),
            ("record field added", |v| v["record"]["note"] = json!("hi")),
            ("record field removed", |v| {
                v["record"].as_object_mut().unwrap().remove("created_at");
            }),
            ("record payload", |v| {
                v["record"]["payload"]["zeta"] = json!(-1)
            }),
        ];
        for n in [1, 4, lines.len() - 1] {
            for (what, edit) in &edits {
                let mut v: Value = serde_json::from_str(lines[n]).unwrap();
                edit(&mut v);
                let mut changed = lines.clone();
                let line = v.to_string();
                changed[n] = &line;
                let (_, report) = crate::verify_export(changed.join("\n").as_bytes()).unwrap();
                let b = report
                    .first_break
                    .unwrap_or_else(|| panic!("line {n}: {what} unnoticed"));
                let want = if what.starts_with("record") {
                    "RECORD_HASH_MISMATCH"
                } else {
                    "EVENT_HASH_MISMATCH"
                };
                assert_eq!(b.code, want, "line {n}: {what}: {}", b.detail);
                assert_eq!(b.seq, n as i64, "line {n}: {what}");
            }
        }
    }

    /// What a walk found, to compare the parallel walk with the one-reader walk.
    fn outcome(r: &VerifyReport) -> (bool, u64, u64, Option<(i64, &'static str)>) {
        (
            r.ok,
            r.events_checked,
            r.awaiting_prune,
            r.first_break.as_ref().map(|b| (b.seq, b.code)),
        )
    }

    #[tokio::test]
    async fn the_parallel_walk_finds_what_one_reader_finds() {
        // More than one walker even on a one-core machine (nextest: one process per test).
        set_verify_threads(3);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.db");
        let ledger = SqliteLedger::open(&path).unwrap();
        for i in 0..700 {
            ledger.record_read(read(i)).await.unwrap();
        }
        let conn = Connection::open(&path).unwrap();
        let head: i64 = conn
            .query_row("SELECT max(seq) FROM events", [], |r| r.get(0))
            .unwrap();
        assert!(head > 10 * CHUNK_EVENTS, "{head} events");
        let clean = both(&ledger, &path).await;
        assert!(clean.ok);
        assert_eq!(clean.events_checked, head as u64);

        // Edits at chunk edges, in late chunks, two at once (the first in chain order is
        // reported), a removed event.
        let edits: &[&[&str]] = &[
            &["UPDATE events SET actor = 'm' WHERE seq = 100"],
            &["UPDATE events SET actor = 'm' WHERE seq = 101"],
            &["UPDATE events SET actor = 'm' WHERE seq = 1"],
            &["UPDATE query_audit SET outcome = 'x' WHERE audit_id = 650"],
            &[
                "UPDATE query_audit SET outcome = 'x' WHERE audit_id = 600",
                "UPDATE evidence_bundles SET principal = 'x' WHERE rowid = 300",
            ],
            &["DELETE FROM events WHERE seq = 777"],
            &["DELETE FROM events WHERE seq = (SELECT max(seq) FROM events)"],
            &["DELETE FROM evidence_bundles WHERE rowid = 400"],
        ];
        for edit in edits {
            let copy = dir.path().join("copy.db");
            let _ = std::fs::remove_file(&copy);
            conn.execute("VACUUM INTO ?1", [copy.to_str().unwrap()])
                .unwrap();
            let c = Connection::open(&copy).unwrap();
            c.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
            for sql in *edit {
                c.execute_batch(sql).unwrap();
            }
            drop(c);
            let copied = SqliteLedger::open(&copy).unwrap();
            let report = both(&copied, &copy).await;
            assert!(!report.ok || edit[0].contains("max(seq)"), "{edit:?}");
        }

        // A pruned ledger: this thread reads up to the cut, the walkers after it.
        let cutoff: String = conn
            .query_row("SELECT created_at FROM events WHERE seq = 500", [], |r| {
                r.get(0)
            })
            .unwrap();
        let pruned = ledger.prune(&cutoff, 50, |_| {}).unwrap();
        assert!(pruned.checkpoint_seq.is_some());
        let after = both(&ledger, &path).await;
        assert!(after.ok, "{:?}", after.first_break);
        assert!(after.checkpoint.is_some());
    }

    #[tokio::test]
    async fn the_parallel_walk_verifies_while_calls_are_recorded() {
        set_verify_threads(3);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.db");
        let ledger = SqliteLedger::open(&path).unwrap();
        for i in 0..400 {
            ledger.record_read(read(i)).await.unwrap();
        }
        // Another process's server, in effect: its own ledger handle on the same file.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let (stop, path) = (stop.clone(), path.clone());
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap();
                let other = SqliteLedger::open(&path).unwrap();
                let mut i = 400;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    rt.block_on(other.record_read(read(i))).unwrap();
                    i += 1;
                }
                i - 400
            })
        };
        let mut seen = 0;
        for _ in 0..6 {
            let report = ledger.verify().await.unwrap();
            assert!(report.ok, "{:?}", report.first_break);
            assert!(report.events_checked >= seen);
            seen = report.events_checked;
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let written = writer.join().unwrap();
        assert!(written > 0);
        assert!(both(&ledger, &path).await.ok);
    }

    /// `ledger verify` (parallel) and the one-reader walk, which must agree.
    async fn both(ledger: &SqliteLedger, path: &std::path::Path) -> VerifyReport {
        let parallel = ledger.verify().await.unwrap();
        let serial = verify(&Connection::open(path).unwrap(), &[]).unwrap();
        assert_eq!(outcome(&parallel), outcome(&serial), "{parallel:?}");
        parallel
    }
}
