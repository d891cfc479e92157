//! Keeps the search index (schema 8) up with the ledger, off the tool-call path (schema 9).
//!
//! Each kind's index covers its row ids up to a mark (`search_marks.upto`, named
//! `search_indexed` in schema 9): every row at or
//! below the mark is indexed with its current text, and no row above it. A tool call's
//! transaction never indexes: its new rows get row ids above the mark, in the kind's
//! unindexed *tail*, which a search reads directly beside the index (`super::browse`).
//! Batches move the marks forward, each in a short write transaction of its own: the servers'
//! checkpoint thread runs [`index_next`] (one kind at a time) after new commits, and a writable
//! ledger runs [`index_batch`] when it closes (CLI commands).
//!
//! A prune that removes most of a kind sets that kind's index aside instead of deleting its
//! entries one by one ([`SET_ASIDE`], [`clear_step`], [`reopen`]): see `super::maintain`.
//!
//! Batches are the point. FTS5 flushes one segment per transaction and merges segments as
//! they pile up; with migration 8's triggers every group commit of a busy server paid for a
//! flush and its merges, under the write lock (issue 3's HTTP benchmark lost 43 % of its
//! inspect and 67 % of its propose throughput). A batch of hundreds of rows pays for one.

use rusqlite::Connection;

use crate::LedgerError;

/// Each search index, the view that says what it holds for a row (its `row_id` is the row id
/// of the table) and the table.
pub(crate) const INDEXES: &[(&str, &str, &str)] = &[
    ("search_proposals", "search_text_proposals", "proposals"),
    (
        "search_evidence",
        "search_text_evidence",
        "evidence_bundles",
    ),
    (
        "search_query_audit",
        "search_text_query_audit",
        "query_audit",
    ),
    ("search_receipts", "search_text_receipts", "receipts"),
    ("search_events", "search_text_events", "events"),
];

/// The schema version that moved indexing off the call path (migration 9).
pub(crate) const BACKGROUND_SINCE: i64 = 9;

/// Rows one server batch indexes at most ([`index_next`]: one kind per write transaction;
/// [`Pace`] takes fewer while batches are slow). A batch
/// holds the write lock while it runs, and calls wait for it like for any other commit: with
/// 1,024, a tenth of the batches of issue 3's benchmark held it over 30 ms (proposals' change
/// sets are long); with 256 and a pause between batches, propose's p99 went from about 180
/// to 100 ms at the same throughput (docs/benchmarks.md, "Search index in the background").
pub(crate) const BATCH_ROWS: i64 = 256;

/// Rows per index batch, halved after a slow batch and doubled after a quick one, between
/// [`PACE_MIN_ROWS`] and [`BATCH_ROWS`]. FTS5 merges segments as it commits, with work in step
/// with what the commit wrote and with the number of levels the index has: on the 10M-record
/// bench ledger a batch of 256 rows held the write lock 50–90 ms (up to 190 ms while a prune
/// rebuilt an index beside a server), where a small ledger's took a few.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pace {
    rows: i64,
}

/// A batch slower than this halves the next one's rows; one quicker than [`PACE_FAST`] doubles
/// them.
const PACE_SLOW: std::time::Duration = std::time::Duration::from_millis(30);
const PACE_FAST: std::time::Duration = std::time::Duration::from_millis(10);
const PACE_MIN_ROWS: i64 = 16;

impl Pace {
    pub(crate) const fn new() -> Pace {
        Pace { rows: BATCH_ROWS }
    }

    /// Rows for the next batch.
    pub(crate) fn rows(&self) -> i64 {
        self.rows
    }

    /// The last batch took `took`.
    pub(crate) fn took(&mut self, took: std::time::Duration) {
        if took > PACE_SLOW {
            self.rows = (self.rows / 2).max(PACE_MIN_ROWS);
        } else if took < PACE_FAST {
            self.rows = (self.rows * 2).min(BATCH_ROWS);
        }
    }
}

/// The most rows of one kind a closing ledger indexes ([`catch_up_on_close`]): a CLI
/// command's own few records. A longer tail (a server killed hard, or one still writing) is
/// left to the servers' batches, which let calls in between.
const CLOSING_ROWS: i64 = 4_096;

/// A span of row ids past the marks (all kinds) beyond which a server logs that indexing is
/// behind: about where searches stop reading the tail beside the index (`super::browse`).
pub(crate) const BEHIND_ROWS: u64 = 8_192;

/// Row ids past the marks, every kind together (an upper bound on the rows not indexed).
pub(crate) fn span_past_marks(conn: &Connection) -> Result<u64, LedgerError> {
    let mut total = 0;
    for &(index, _, table) in INDEXES {
        let at = mark(conn, index, table)?;
        if !at.set_aside() {
            total += at.span();
        }
    }
    Ok(total)
}

/// The mark of a kind whose index a prune has set aside (schema 10): the index serves no row,
/// no trigger writes to it, no batch indexes into it, and searches read the kind without it.
/// The prune that set it aside removes its old rows without touching the index (deleting
/// millions of entries from FTS5 one by one leaves tombstones that every later merge checks:
/// at 10 million records a prune removed 131 events a second), then empties the index a few
/// hundred rows per transaction ([`clear_step`]), reopens it at mark 0 ([`reopen`]) and lets
/// batches index what is left, from the oldest row on. A prune stopped half-way leaves the
/// kind set aside; the next prune finishes the job.
pub(crate) const SET_ASIDE: i64 = -1;

/// The schema version from which a mark may be [`SET_ASIDE`] (migration 10, which only fences
/// off older builds: they would index into a half-emptied index).
pub(crate) const SET_ASIDE_SINCE: i64 = 10;

/// Where the index of one kind stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mark {
    /// Every row id at or below this is indexed; none above.
    pub upto: i64,
    /// The kind's newest row id (0 when empty).
    pub newest: i64,
}

impl Mark {
    /// How many row ids lie past the mark: at least as many as the rows there (ids can have
    /// gaps: deletes, or ids an import kept).
    pub(crate) fn span(&self) -> u64 {
        u64::try_from(self.newest.saturating_sub(self.upto)).unwrap_or(0)
    }

    /// Whether a prune set the index aside ([`SET_ASIDE`]): nothing may read or write it.
    pub(crate) fn set_aside(&self) -> bool {
        self.upto < 0
    }
}

/// The mark of `index` over `table`. A ledger older than schema 9 (a read-only connection to
/// one not yet migrated) indexes every row as it is written: its tail is empty. Schema 9 kept
/// the marks under their first name.
pub(crate) fn mark(conn: &Connection, index: &str, table: &str) -> Result<Mark, LedgerError> {
    let newest: i64 = conn
        .prepare_cached(&format!("SELECT coalesce(max(rowid), 0) FROM {table}"))?
        .query_row([], |r| r.get(0))?;
    let marks = match super::migrations::version(conn)? {
        v if v < BACKGROUND_SINCE => {
            return Ok(Mark {
                upto: newest,
                newest,
            });
        }
        v if v < SET_ASIDE_SINCE => "search_indexed",
        _ => "search_marks",
    };
    let upto: i64 = conn
        .prepare_cached(&format!("SELECT upto FROM {marks} WHERE index_name = ?1"))?
        .query_row([index], |r| r.get(0))?;
    Ok(Mark { upto, newest })
}

/// Whether at most `bound` rows of `table` lie past `mark`: at once when the span of ids is
/// that short, else by counting row ids up to `bound + 1` (ids with gaps).
pub(crate) fn tail_within(
    conn: &Connection,
    table: &str,
    mark: Mark,
    bound: u64,
) -> Result<bool, LedgerError> {
    if mark.span() <= bound {
        return Ok(true);
    }
    let limit = i64::try_from(bound.saturating_add(1)).unwrap_or(i64::MAX);
    let n: i64 = conn
        .prepare_cached(&format!(
            "SELECT count(*) FROM (SELECT 1 FROM {table} WHERE rowid > ?1 LIMIT ?2)"
        ))?
        .query_row([mark.upto, limit], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(u64::MAX) <= bound)
}

/// Rows past the marks, every kind together: records not indexed yet (`ledger stats`); every
/// row of a kind whose index is set aside.
pub(crate) fn unindexed(conn: &Connection) -> Result<u64, LedgerError> {
    let mut total = 0;
    for &(index, _, table) in INDEXES {
        let at = mark(conn, index, table)?;
        if at.span() == 0 {
            continue;
        }
        let n: i64 = conn
            .prepare_cached(&format!("SELECT count(*) FROM {table} WHERE rowid > ?1"))?
            .query_row([at.upto], |r| r.get(0))?;
        total += u64::try_from(n).unwrap_or(0);
    }
    Ok(total)
}

/// Indexes up to `rows` rows past the mark of every kind and moves the marks, in one write
/// transaction on `conn` (which must not be in one). Returns how many row ids are still past
/// the marks, all kinds together: 0 when the index is caught up. On an error the transaction
/// rolls back and the marks stay where they were.
pub(crate) fn index_batch(conn: &mut Connection, rows: i64) -> Result<u64, LedgerError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut left = 0;
    for &kind in INDEXES {
        left += index_kind(&tx, kind, rows)?;
    }
    tx.commit()?;
    Ok(left)
}

/// Indexes every row past the marks in the caller's write transaction (a ledger imported in
/// one transaction: its records are searchable through the index as soon as it commits).
pub(crate) fn index_all(tx: &Connection) -> Result<(), LedgerError> {
    for &kind in INDEXES {
        index_kind(tx, kind, i64::MAX)?;
    }
    Ok(())
}

/// [`index_batch`] for the first kind with rows past its mark only: the servers' step, so the
/// write lock is held for one kind's batch at a time. Returns the row ids still past the
/// marks of every kind.
pub(crate) fn index_next(conn: &mut Connection, rows: i64) -> Result<u64, LedgerError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut left = 0;
    let mut done = false;
    for &kind in INDEXES {
        if done {
            let at = mark(&tx, kind.0, kind.2)?;
            if !at.set_aside() {
                left += at.span();
            }
            continue;
        }
        let before = mark(&tx, kind.0, kind.2)?;
        left += index_kind(&tx, kind, rows)?;
        done = before.span() > 0 && !before.set_aside();
    }
    tx.commit()?;
    Ok(left)
}

/// Indexes the next `rows` rows past the mark of one kind (by row id, whatever gaps the ids
/// have) and moves its mark, in the caller's transaction. Returns how many row ids of the kind
/// are still past it: 0 for an index set aside, which only its prune reopens.
fn index_kind(
    tx: &Connection,
    (index, view, table): (&str, &str, &str),
    rows: i64,
) -> Result<u64, LedgerError> {
    let at = mark(tx, index, table)?;
    if at.span() == 0 || at.set_aside() {
        return Ok(0);
    }
    let last: Option<i64> = tx
        .prepare_cached(&format!(
            "SELECT max(r) FROM (SELECT rowid AS r FROM {table} WHERE rowid > ?1
             ORDER BY rowid LIMIT ?2)"
        ))?
        .query_row([at.upto, rows.max(1)], |r| r.get(0))?;
    // No row past the mark (deleted since): the mark moves to the newest id.
    let to = last.unwrap_or(at.newest);
    tx.prepare_cached(&format!(
        "INSERT INTO {index}(rowid, text) SELECT row_id, text FROM {view}
         WHERE row_id > ?1 AND row_id <= ?2"
    ))?
    .execute([at.upto, to])?;
    tx.prepare_cached("UPDATE search_marks SET upto = ?2 WHERE index_name = ?1")?
        .execute(rusqlite::params![index, to])?;
    Ok(u64::try_from(at.newest - to).unwrap_or(0))
}

/// Indexes the next `rows` rows past the mark of `index` only, in a write transaction of its
/// own on `conn`; returns the mark it leaves.
pub(crate) fn index_one(conn: &mut Connection, index: &str, rows: i64) -> Result<i64, LedgerError> {
    let kind = kind_of(index);
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    index_kind(&tx, kind, rows)?;
    let upto = mark(&tx, kind.0, kind.2)?.upto;
    tx.commit()?;
    Ok(upto)
}

/// The newest row id of the table `index` covers (0 when empty).
pub(crate) fn newest(conn: &Connection, index: &str) -> Result<i64, LedgerError> {
    let (index, _, table) = kind_of(index);
    Ok(mark(conn, index, table)?.newest)
}

/// The entry of [`INDEXES`] named `index`, which must be one of them.
fn kind_of(index: &str) -> (&'static str, &'static str, &'static str) {
    *INDEXES
        .iter()
        .find(|(i, _, _)| *i == index)
        .expect("one of the search indexes")
}

/// What a closing writable ledger does: indexes the rows past the marks when every kind has
/// at most [`CLOSING_ROWS`] of them (a CLI command's own records), in one short write
/// transaction; nothing at all (not even the write lock) when there are none. A longer tail is
/// left to the servers' batches, which let calls in between. Returns whether it indexed.
pub(crate) fn catch_up_on_close(conn: &mut Connection) -> Result<bool, LedgerError> {
    let mut any = false;
    for &(index, _, table) in INDEXES {
        let at = mark(conn, index, table)?;
        if at.span() == 0 || at.set_aside() {
            continue;
        }
        if !tail_within(conn, table, at, CLOSING_ROWS as u64)? {
            return Ok(false);
        }
        any = true;
    }
    if any {
        index_batch(conn, CLOSING_ROWS)?;
    }
    Ok(any)
}

/// Sets the index of each kind in `indexes` aside ([`SET_ASIDE`]), in the caller's write
/// transaction.
pub(crate) fn set_aside(tx: &Connection, indexes: &[String]) -> Result<(), LedgerError> {
    for index in indexes {
        tx.prepare_cached("UPDATE search_marks SET upto = ?2 WHERE index_name = ?1")?
            .execute(rusqlite::params![index, SET_ASIDE])?;
    }
    Ok(())
}

/// Whether the index `index` is set aside.
pub(crate) fn is_set_aside(conn: &Connection, index: &str) -> Result<bool, LedgerError> {
    let (index, _, table) = kind_of(index);
    Ok(mark(conn, index, table)?.set_aside())
}

/// The indexes set aside, in [`INDEXES`] order.
pub(crate) fn set_aside_now(conn: &Connection) -> Result<Vec<&'static str>, LedgerError> {
    if super::migrations::version(conn)? < SET_ASIDE_SINCE {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for &(index, _, table) in INDEXES {
        if mark(conn, index, table)?.set_aside() {
            out.push(index);
        }
    }
    Ok(out)
}

/// Where FTS5 keeps an index: its blocks (but the averages and the structure, rows 1 and 10,
/// which `delete-all` rewrites), the first term of each leaf, and each row's size. A statement
/// per table, each removing at most `?1` rows.
const STORAGE: [&str; 3] = [
    "DELETE FROM {index}_data WHERE id IN (SELECT id FROM {index}_data WHERE id > 10 LIMIT ?1)",
    "DELETE FROM {index}_idx WHERE (segid, term) IN (SELECT segid, term FROM {index}_idx LIMIT ?1)",
    "DELETE FROM {index}_docsize WHERE id IN (SELECT id FROM {index}_docsize LIMIT ?1)",
];

/// Removes up to `rows` rows of the storage of `index`, which must be set aside, in the
/// caller's write transaction: straight from FTS5's tables, since nothing reads the index
/// meanwhile (and `delete-all` would free every page of a gigabyte index in one transaction).
/// Returns how many it removed: 0 when the storage is empty.
pub(crate) fn clear_step(tx: &Connection, index: &str, rows: i64) -> Result<usize, LedgerError> {
    let (index, _, _) = kind_of(index);
    for sql in STORAGE {
        let n = tx
            .prepare_cached(&sql.replace("{index}", index))?
            .execute([rows.max(1)])?;
        if n > 0 {
            return Ok(n);
        }
    }
    Ok(0)
}

/// Reopens the emptied index of `index` at mark 0, in the caller's write transaction: FTS5
/// writes its empty structure (`delete-all`, cheap once [`clear_step`] left nothing), and
/// batches index the kind's rows from the oldest on.
pub(crate) fn reopen(tx: &Connection, index: &str) -> Result<(), LedgerError> {
    let (index, _, _) = kind_of(index);
    tx.execute_batch(&format!(
        "INSERT INTO {index}({index}) VALUES ('delete-all')"
    ))?;
    tx.prepare_cached("UPDATE search_marks SET upto = 0 WHERE index_name = ?1")?
        .execute([index])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{BATCH_ROWS, PACE_MIN_ROWS, Pace};

    #[test]
    fn slow_batches_halve_the_rows_and_quick_ones_double_them_within_bounds() {
        let mut pace = Pace::new();
        assert_eq!(pace.rows(), BATCH_ROWS);
        pace.took(Duration::from_millis(90));
        assert_eq!(pace.rows(), BATCH_ROWS / 2);
        for _ in 0..20 {
            pace.took(Duration::from_millis(90));
        }
        assert_eq!(pace.rows(), PACE_MIN_ROWS);
        // In between: kept.
        pace.took(Duration::from_millis(20));
        assert_eq!(pace.rows(), PACE_MIN_ROWS);
        pace.took(Duration::from_millis(2));
        assert_eq!(pace.rows(), 2 * PACE_MIN_ROWS);
        for _ in 0..20 {
            pace.took(Duration::from_millis(2));
        }
        assert_eq!(pace.rows(), BATCH_ROWS);
    }
}
