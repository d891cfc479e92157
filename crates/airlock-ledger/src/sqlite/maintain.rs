//! Maintenance: storage statistics, online backup, vacuum and retention (prune).
//!
//! A prune never holds the write lock for long: it plans with a read snapshot, writes its
//! checkpoint (see [`super::checkpoint`]) in one short transaction, then removes records in
//! batches of a bounded number of events, each its own `BEGIN IMMEDIATE` transaction, so tool
//! calls recorded meanwhile wait at most one batch. A prune cut off half-way leaves a ledger
//! that still verifies (what is left below the cut is reported as awaiting removal) and the
//! next prune finishes the job.
//!
//! A prune that removes a large share of a kind sets that kind's search index aside first
//! (see [`super::search_index::SET_ASIDE`]) and rebuilds it from what is left at the end, in
//! batches of the same kind: deleting millions of FTS5 entries one by one is what made a prune
//! of a 10-million-record ledger crawl (131 events a second) and hold calls for over a second.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use serde_json::Value;

use super::checkpoint::{self, CheckpointPayload, PRUNED_KIND};
use super::import::{IMPORT_KIND, IMPORT_SUBJECT};
use super::write::{RUNNER_ACTOR, append_event};
use super::{read, search_index};
use crate::chain::ChainHead;
use crate::{Checkpoint, LedgerError, Stats};

/// The longest a prune batch holds the write lock (give or take one record): a tool call
/// recorded meanwhile waits at most about this long. A batch ends at `--batch` events or at
/// this budget, whichever comes first.
const BATCH_BUDGET: Duration = Duration::from_millis(10);

/// The pause after each batch, as a share of the batch's time (at least [`MIN_GAP`], at most
/// [`MAX_GAP`]): long enough for every connection waiting for the lock (they look every
/// millisecond) to take it before the next batch does.
const GAP_SHARE: u32 = 2;

/// A prune truncates the WAL after a batch that leaves it larger than this.
const PRUNE_WAL_LIMIT: u64 = 16 * 1024 * 1024;
const MIN_GAP: Duration = Duration::from_millis(2);
const MAX_GAP: Duration = Duration::from_millis(10);

/// Proposal states after which nothing more can happen to a proposal: only these are pruned.
const FINAL_STATES: &str = "'applied', 'rejected'";

/// What `ledger stats` reports.
#[derive(Debug, Clone, Serialize)]
pub struct StorageStats {
    /// Rows per record kind.
    pub counts: Stats,
    /// Proposals per state.
    pub proposals_by_state: BTreeMap<String, i64>,
    /// Size of the database file, the write-ahead log beside it, and the anchor file.
    pub file_bytes: u64,
    pub wal_bytes: u64,
    pub anchor_bytes: u64,
    /// Pages SQLite could reuse (what `ledger vacuum` would give back).
    pub free_bytes: u64,
    /// `created_at` of the oldest and newest event still in the ledger.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oldest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newest: Option<String>,
    /// The last event of the chain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head: Option<ChainHead>,
    /// The latest prune's checkpoint, if the ledger was ever pruned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Checkpoint>,
    /// The counts taken from chain positions and row ids instead of row by row (see
    /// `DERIVED_COUNTS` in `sqlite/maintain.rs`): exact for a ledger that verifies;
    /// `ledger verify` counts every table row by row.
    pub derived_counts: Vec<&'static str>,
    /// Schema version.
    pub schema_version: i64,
    /// Rows recorded past the search index's marks, every kind together: records not indexed
    /// yet (a server indexes them in batches shortly after writing them, as load allows; a
    /// search reads them directly meanwhile). See `sqlite/search_index.rs`.
    pub search_unindexed: u64,
    /// Search indexes a prune has set aside (see `SET_ASIDE` in `sqlite/search_index.rs`):
    /// searches read those kinds without them until the prune rebuilds them; one left by a
    /// prune that stopped is rebuilt by the next `ledger prune`.
    pub search_set_aside: Vec<&'static str>,
}

/// The big tables, whose counts `ledger stats` derives instead of counting rows (a count of
/// 10 million events reads every page of the table: seconds).
///
/// - `events`: the chain after the latest checkpoint's cut has no gaps (`verify` checks it),
///   so it holds `head - cut` events, plus the few at or before the cut that stay.
/// - `evidence_bundles`, `query_audit`: rows are only ever appended, with row ids in chain
///   order, and a prune removes only rows recorded at or before its cut. So every row from the
///   first one recorded after the cut (found through the first such event) to the last is
///   there, and only the rows before it need counting: the ones a prune kept.
///
/// The other tables (proposals and their decisions, jobs and receipts) are counted exactly;
/// they grow with proposals, not with every call. So are all tables of a ledger imported from
/// Synapsor Runner while its import event is there (it kept the original's audit ids).
pub const DERIVED_COUNTS: &[&str] = &["events", "evidence_bundles", "query_audit"];

/// Row counts for `ledger stats`: the tables of [`DERIVED_COUNTS`] from the chain's positions
/// and row ids, the others row by row.
fn counts(conn: &Connection, head: Option<&ChainHead>, cut: i64) -> Result<Stats, LedgerError> {
    let count = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> Result<i64, LedgerError> {
        Ok(conn.query_row(sql, p, |r| r.get(0))?)
    };
    let events = match head {
        None => 0,
        Some(h) => h.seq - cut + count("SELECT count(*) FROM events WHERE seq <= ?1", &[&cut])?,
    };
    // The row id of the first row of `table` recorded after the cut, through its event.
    let first_after_cut = |table: &str, subject: &str, id_column: &str| {
        let id: Option<String> = conn
            .query_row(
                "SELECT subject_id FROM events WHERE seq > ?1 AND subject_kind = ?2
                 ORDER BY seq LIMIT 1",
                params![cut, subject],
                |r| r.get(0),
            )
            .optional()?;
        let Some(id) = id else {
            return Ok::<_, LedgerError>(None);
        };
        Ok(conn
            .query_row(
                &format!("SELECT rowid FROM {table} WHERE {id_column} = ?1"),
                [id],
                |r| r.get::<_, i64>(0),
            )
            .optional()?)
    };
    // A ledger imported from Synapsor Runner keeps the original's audit ids, which may have
    // gaps: until the prune cut passes its import, its tables are counted row by row.
    let imported: bool = conn
        .query_row(
            "SELECT kind = ?1 FROM events WHERE seq = 1",
            [IMPORT_KIND],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(false);
    let appended = |table: &str, subject: &str, id_column: &str| -> Result<i64, LedgerError> {
        if imported {
            return count(&format!("SELECT count(*) FROM {table}"), &[]);
        }
        match first_after_cut(table, subject, id_column)? {
            Some(first) => {
                let last: i64 = count(&format!("SELECT max(rowid) FROM {table}"), &[])?;
                let kept = count(
                    &format!("SELECT count(*) FROM {table} WHERE rowid < ?1"),
                    &[&first],
                )?;
                Ok(kept + last - first + 1)
            }
            // Nothing recorded since the cut: what is left is what a prune kept.
            None => count(&format!("SELECT count(*) FROM {table}"), &[]),
        }
    };
    let exact = |table: &str| count(&format!("SELECT count(*) FROM {table}"), &[]);
    Ok(Stats {
        proposals: exact("proposals")?,
        evidence_bundles: appended("evidence_bundles", "evidence", "evidence_bundle_id")?,
        query_audit: appended("query_audit", "query_audit", "audit_id")?,
        events,
        approvals: exact("approvals")?,
        writeback_jobs: exact("writeback_jobs")?,
        receipts: exact("receipts")?,
    })
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// A sibling file: the ledger's path with `suffix` appended (`-wal`, `.anchor`, …).
pub(crate) fn sibling(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

pub(crate) fn storage_stats(
    conn: &Connection,
    path: &Path,
    anchor: &Path,
) -> Result<StorageStats, LedgerError> {
    let snapshot = conn.unchecked_transaction()?;
    let checkpoint = checkpoint::latest(&snapshot)?
        .and_then(Result::ok)
        .map(|c| c.summary);
    let head = read::head(&snapshot)?.map(|(seq, hash)| ChainHead { seq, hash });
    let cut = checkpoint.as_ref().map_or(0, |c| c.cut.seq);
    let counts = counts(&snapshot, head.as_ref(), cut)?;
    let mut by_state = BTreeMap::new();
    let mut stmt = snapshot.prepare("SELECT state, count(*) FROM proposals GROUP BY state")?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        let (state, n) = row?;
        by_state.insert(state, n);
    }
    drop(stmt);
    let edge = |order: &str| -> Result<Option<String>, LedgerError> {
        Ok(snapshot
            .query_row(
                &format!("SELECT created_at FROM events ORDER BY seq {order} LIMIT 1"),
                [],
                |r| r.get(0),
            )
            .optional()?)
    };
    let pragma = |name: &str| -> Result<i64, LedgerError> {
        Ok(snapshot.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))?)
    };
    let page_size = pragma("page_size")?;
    let stats = StorageStats {
        counts,
        proposals_by_state: by_state,
        file_bytes: file_len(path),
        wal_bytes: file_len(&sibling(path, "-wal")),
        anchor_bytes: file_len(anchor),
        free_bytes: (pragma("freelist_count")? * page_size) as u64,
        oldest: edge("ASC")?,
        newest: edge("DESC")?,
        head,
        checkpoint,
        derived_counts: DERIVED_COUNTS.to_vec(),
        schema_version: pragma("user_version")?,
        search_unindexed: search_index::unindexed(&snapshot)?,
        search_set_aside: search_index::set_aside_now(&snapshot)?,
    };
    snapshot.rollback()?;
    Ok(stats)
}

/// What `ledger backup` did.
#[derive(Debug, Clone, Serialize)]
pub struct BackupReport {
    pub path: String,
    pub bytes: u64,
    /// The last event in the copy: the backup holds the chain up to here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head: Option<ChainHead>,
    /// The anchor file written beside the copy (its lines up to `head`), if the ledger had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anchor: Option<String>,
    pub elapsed_ms: u64,
}

/// Copies the ledger to `dest` with SQLite's online backup API, in one step under one read
/// snapshot: writers keep committing (WAL), and the copy is the ledger as of one instant.
/// The anchor lines that the copy's chain reaches are copied to `<dest>.anchor`.
pub(crate) fn backup(
    conn: &Connection,
    anchor: &Path,
    dest: &Path,
) -> Result<BackupReport, LedgerError> {
    let started = Instant::now();
    if dest.exists() {
        return Err(LedgerError::Maintenance {
            detail: format!(
                "{} already exists; choose a new file name (a backup never overwrites)",
                dest.display()
            ),
        });
    }
    if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs_err::create_dir_all(dir)?;
    }
    let mut out = Connection::open(dest).map_err(|source| LedgerError::Open {
        path: dest.display().to_string(),
        source,
    })?;
    {
        let copy = rusqlite::backup::Backup::new(conn, &mut out)?;
        // -1: every page in one step, under one read lock of the source, so a writer
        // committing meanwhile cannot restart the copy (WAL readers do not block writers).
        copy.step(-1)?;
    }
    // The copy is a standalone file: no WAL beside it.
    out.execute_batch("PRAGMA journal_mode = DELETE;")?;
    let head = read::head(&out)?.map(|(seq, hash)| ChainHead { seq, hash });
    drop(out);
    let anchor_out = copy_anchor(anchor, dest, head.as_ref())?;
    Ok(BackupReport {
        path: dest.display().to_string(),
        bytes: file_len(dest),
        head,
        anchor: anchor_out.map(|p| p.display().to_string()),
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}

/// Writes the anchor lines of `anchor` whose event the backup holds beside the backup.
fn copy_anchor(
    anchor: &Path,
    dest: &Path,
    head: Option<&ChainHead>,
) -> Result<Option<std::path::PathBuf>, LedgerError> {
    if !anchor.exists() {
        return Ok(None);
    }
    let upto = head.map_or(0, |h| h.seq);
    let text = fs_err::read_to_string(anchor)?;
    let kept: String = text
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .next()
                .and_then(|s| s.parse::<i64>().ok())
                .is_some_and(|seq| seq <= upto)
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let out = crate::anchor::anchor_path(dest);
    fs_err::write(&out, kept)?;
    Ok(Some(out))
}

/// Sizes before and after `ledger vacuum`.
#[derive(Debug, Clone, Serialize)]
pub struct VacuumReport {
    pub bytes_before: u64,
    pub bytes_after: u64,
    pub elapsed_ms: u64,
}

pub(crate) fn vacuum(conn: &Connection, path: &Path) -> Result<VacuumReport, LedgerError> {
    let started = Instant::now();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    let before = file_len(path);
    conn.execute_batch("VACUUM; PRAGMA wal_checkpoint(TRUNCATE);")?;
    Ok(VacuumReport {
        bytes_before: before,
        bytes_after: file_len(path),
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}

/// What a prune removes (or, for a dry run, would remove).
#[derive(Debug, Clone, Serialize)]
pub struct PrunePlan {
    /// Records created before this (RFC 3339) are eligible.
    pub cutoff: String,
    /// The last event that may be removed; `None` when nothing is old enough.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cut: Option<ChainHead>,
    /// Records to remove, by kind, and `events`.
    pub removes: BTreeMap<String, u64>,
    /// Proposals at or before the cut that stay because they are still open (or changed
    /// after the cut), with every record and event they have.
    pub proposals_kept: u64,
    /// Events at or before the cut that stay.
    pub events_kept: u64,
    /// The search indexes the prune sets aside and rebuilds from what is left: those it
    /// removes at least a quarter of the rows of (`SET_ASIDE_SHARE`), and any a prune that
    /// stopped left set aside.
    pub search_set_aside: Vec<String>,
    #[serde(skip)]
    retained: Vec<(i64, String)>,
    #[serde(skip)]
    protected: HashSet<String>,
    #[serde(skip)]
    previous_checkpoint: Option<i64>,
}

impl PrunePlan {
    /// Events the prune removes.
    pub fn events(&self) -> u64 {
        self.removes.get("events").copied().unwrap_or(0)
    }
}

/// What a prune did.
#[derive(Debug, Clone, Serialize)]
pub struct PruneReport {
    #[serde(flatten)]
    pub plan: PrunePlan,
    /// The checkpoint event the prune wrote, if it removed anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint_seq: Option<i64>,
    /// The search indexes it rebuilt (set aside by this prune or by one stopped half-way),
    /// and how long emptying and rebuilding them took.
    pub search_rebuilt: Vec<String>,
    pub search_rebuild_ms: u64,
    /// Batches (write transactions) it took, and the longest one: how long a tool call could
    /// have waited for the prune.
    pub batches: u64,
    pub longest_batch_ms: f64,
    pub elapsed_ms: u64,
}

/// Events (or proposals) read per read snapshot while planning: a few milliseconds each.
const PLAN_CHUNK: i64 = 16_384;

/// The pause after each of the plan's read snapshots: no read transaction of this connection
/// is open meanwhile, and it spans at least two polls of a busy handler (a millisecond each).
///
/// Back to back, the plan's snapshots leave almost no moment without a reader. A server's
/// checkpointer truncating the WAL holds the write connection while it waits for readers to
/// leave, so its calls wait with it; with these pauses it finds its moment at the end of the
/// snapshot it met (each a few milliseconds), where without them only the chance of its 1 ms
/// polls would. (Added while chasing stalls of 3–11 s during the plan at 10 million records;
/// those turned out to be one snapshot that read a whole table, see
/// `read::row_id_ends_sql`. The pauses
/// cost about 3 s of a 10M plan and were kept as the safeguard reasoned above, not measured on
/// their own.)
const PLAN_GAP: Duration = Duration::from_millis(3);

/// Runs `read` in a read transaction of its own (one snapshot), ended right after; then keeps
/// the WAL short ([`keep_wal_short`]) and pauses for [`PLAN_GAP`].
///
/// While the plan reads, a server's commits cannot start the WAL over, so it grows until the
/// server's checkpointer truncates it at its limit, holding the write connection for the whole
/// copy: on 10 million records, calls waited 105–209 ms every few seconds while the prune
/// planned. Truncated here at the prune's lower limit, as between its batches, it stays short.
fn in_snapshot<T>(
    conn: &mut Connection,
    read: impl FnOnce(&Connection) -> Result<T, LedgerError>,
) -> Result<T, LedgerError> {
    let snapshot = conn.unchecked_transaction()?;
    let result = read(&snapshot);
    snapshot.rollback()?;
    keep_wal_short(conn);
    std::thread::sleep(PLAN_GAP);
    result
}

/// Plans a prune of everything created before `cutoff`.
///
/// The plan reads up to every event of the ledger. In one read snapshot, that took tens of
/// seconds on 10 million events, and all along the servers' WAL could not be started over:
/// it outgrew its limit and their checkpointer, waiting for that snapshot to end before it
/// could truncate the WAL, held their writer for seconds. So the plan reads in chunks of
/// [`PLAN_CHUNK`] rows, each in a short snapshot of its own. That reads the same as one
/// snapshot would: events up to the head found first are never changed (only appended
/// after, and removed only by a prune, whose checkpoint the prune checks again before it
/// removes anything), and a proposal can only become protected, never stop being.
pub(crate) fn plan(conn: &mut Connection, cutoff: &str) -> Result<PrunePlan, LedgerError> {
    let mut plan = plan_removals(conn, cutoff)?;
    plan.search_set_aside = in_snapshot(conn, |c| to_set_aside(c, &plan.removes))?;
    Ok(plan)
}

/// [`plan`] but for the search indexes.
fn plan_removals(conn: &mut Connection, cutoff: &str) -> Result<PrunePlan, LedgerError> {
    let previous = in_snapshot(conn, |c| match checkpoint::latest(c)? {
        Some(Ok(c)) => Ok(Some(c)),
        Some(Err(detail)) => Err(LedgerError::Maintenance {
            detail: format!("{detail}; run `airlock ledger verify` and restore a backup"),
        }),
        None => Ok(None),
    })?;
    let mut plan = PrunePlan {
        cutoff: cutoff.to_owned(),
        cut: None,
        removes: BTreeMap::new(),
        proposals_kept: 0,
        events_kept: 0,
        search_set_aside: Vec::new(),
        retained: Vec::new(),
        protected: HashSet::new(),
        previous_checkpoint: previous.as_ref().map(|c| c.summary.event_seq),
    };
    let Some((first_seq, head_seq)) = in_snapshot(conn, |c| Ok(read::row_id_ends(c, "events")?))?
    else {
        return Ok(plan);
    };
    // The cut: the event before the first one created at or after the cutoff, so nothing
    // newer than the cutoff is ever removed; never before a previous prune's cut.
    let mut first_new = None;
    let mut from = first_seq;
    while from <= head_seq && first_new.is_none() {
        let to = (from + PLAN_CHUNK).min(head_seq + 1);
        first_new = in_snapshot(conn, |c| {
            Ok(c.prepare_cached(
                "SELECT min(seq) FROM events WHERE seq >= ?1 AND seq < ?2 AND created_at >= ?3",
            )?
            .query_row(params![from, to, cutoff], |r| r.get::<_, Option<i64>>(0))?)
        })?;
        from = to;
    }
    let mut cut = first_new.map_or(head_seq, |s| s - 1);
    if let Some(prev) = &previous {
        cut = cut.max(prev.summary.cut.seq);
    }
    if cut <= 0 {
        return Ok(plan);
    }
    let cut_hash: Option<String> = in_snapshot(conn, |c| {
        Ok(
            c.query_row("SELECT hash FROM events WHERE seq = ?1", [cut], |r| {
                r.get(0)
            })
            .optional()?,
        )
    })?;
    let cut_hash = match (cut_hash, &previous) {
        (Some(h), _) => h,
        // Removed by the previous prune: its checkpoint holds the hash.
        (None, Some(prev)) if prev.summary.cut.seq == cut => prev.summary.cut.hash.clone(),
        (None, _) => {
            return Err(LedgerError::Maintenance {
                detail: format!(
                    "event {cut} is missing and no checkpoint explains it; run `airlock ledger verify`"
                ),
            });
        }
    };
    plan.cut = Some(ChainHead {
        seq: cut,
        hash: cut_hash,
    });
    // Proposals that stay: still open, or changed after the cut.
    let last_proposal: i64 = in_snapshot(conn, |c| {
        Ok(
            c.query_row("SELECT coalesce(max(rowid), 0) FROM proposals", [], |r| {
                r.get(0)
            })?,
        )
    })?;
    let mut from = 0;
    while from <= last_proposal {
        let to = from + PLAN_CHUNK;
        in_snapshot(conn, |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT proposal_id FROM proposals p WHERE rowid >= ?2 AND rowid < ?3
                 AND (state NOT IN ({FINAL_STATES})
                    OR (SELECT max(seq) FROM events e WHERE e.proposal_id = p.proposal_id) > ?1)"
            ))?;
            for id in stmt.query_map(params![cut, from, to], |r| r.get::<_, String>(0))? {
                plan.protected.insert(id?);
            }
            Ok(())
        })?;
        from = to;
    }
    // What goes and what stays, chunk by chunk.
    let mut kept_proposals = HashSet::new();
    let mut from = first_seq;
    while from <= cut {
        let to = (from + PLAN_CHUNK).min(cut + 1);
        in_snapshot(conn, |c| {
            let mut stmt = c.prepare_cached(
                "SELECT seq, kind, subject_kind, proposal_id, hash FROM events
                 WHERE seq >= ?1 AND seq < ?2 ORDER BY seq",
            )?;
            let mut rows = stmt.query(params![from, to])?;
            while let Some(r) = rows.next()? {
                tally(&mut plan, &mut kept_proposals, r)?;
            }
            Ok(())
        })?;
        from = to;
    }
    plan.events_kept = plan.retained.len() as u64;
    plan.proposals_kept = kept_proposals.len() as u64;
    Ok(plan)
}

/// A prune sets a kind's search index aside when it removes at least one in this many of the
/// kind's rows: rebuilding the other (at most) three quarters costs less than deleting that
/// quarter entry by entry, whose tombstones every later merge of the index reads.
pub const SET_ASIDE_SHARE: u64 = 4;

/// The search indexes a prune removing `removes` sets aside ([`SET_ASIDE_SHARE`]), and those a
/// prune that stopped left set aside (every prune rebuilds them). A kind's rows are counted by
/// the span of its row ids (an upper bound, read from the two ends of the table).
fn to_set_aside(
    conn: &Connection,
    removes: &BTreeMap<String, u64>,
) -> Result<Vec<String>, LedgerError> {
    let mut out = Vec::new();
    for &(index, _, table) in search_index::INDEXES {
        if search_index::is_set_aside(conn, index)? {
            out.push(index.to_owned());
            continue;
        }
        // The plan counts records by the subject of their events, and all events.
        let subject = match table {
            "proposals" => "proposal",
            "evidence_bundles" => "evidence",
            "query_audit" => "query_audit",
            "receipts" => "receipt",
            _ => "events",
        };
        let removed = removes.get(subject).copied().unwrap_or(0);
        if removed == 0 {
            continue;
        }
        let span = read::row_id_ends(conn, table)?.map_or(0, |(first, last)| last - first + 1);
        if removed.saturating_mul(SET_ASIDE_SHARE) >= u64::try_from(span).unwrap_or(0) {
            out.push(index.to_owned());
        }
    }
    Ok(out)
}

/// Counts one event at or before the cut into `plan`: kept (with its proposal) or removed.
fn tally(
    plan: &mut PrunePlan,
    kept_proposals: &mut HashSet<String>,
    r: &rusqlite::Row<'_>,
) -> Result<(), LedgerError> {
    let seq: i64 = r.get(0)?;
    let kind: String = r.get(1)?;
    let subject: String = r.get(2)?;
    let proposal: Option<String> = r.get(3)?;
    if let Some(p) = proposal.as_ref().filter(|p| plan.protected.contains(*p)) {
        plan.retained.push((seq, r.get(4)?));
        if kind == "proposal_created" {
            kept_proposals.insert(p.clone());
        }
        return Ok(());
    }
    *plan.removes.entry("events".into()).or_default() += 1;
    // A proposal is one record with several events; count it once.
    let counted = match subject.as_str() {
        "proposal" if kind != "proposal_created" => None,
        IMPORT_SUBJECT => None,
        other => Some(other.to_owned()),
    };
    if let Some(k) = counted {
        *plan.removes.entry(k).or_default() += 1;
    }
    Ok(())
}

/// Where a prune is, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PruneProgress {
    /// Events removed so far, of the plan's total.
    Removing { done: u64, total: u64 },
    /// Entries removed so far from the storage of a search index set aside.
    Emptying { index: &'static str, removed: u64 },
    /// Rows of the search indexes set aside still to index (0: done).
    Reindexing { left: u64 },
}

/// Removes what [`plan`] found, `batch_events` events per write transaction, after writing
/// the checkpoint; then empties and rebuilds any search index set aside.
pub(crate) fn prune(
    conn: &mut Connection,
    mut plan: PrunePlan,
    batch_events: usize,
    mut progress: impl FnMut(PruneProgress),
) -> Result<PruneReport, LedgerError> {
    let started = Instant::now();
    let mut report = PruneReport {
        checkpoint_seq: None,
        search_rebuilt: Vec::new(),
        search_rebuild_ms: 0,
        batches: 0,
        longest_batch_ms: 0.0,
        elapsed_ms: 0,
        plan: plan.clone(),
    };
    let mut longest = Duration::ZERO;
    let removed = match plan.cut.clone() {
        Some(cut) if plan.events() > 0 => remove(
            conn,
            &mut plan,
            &cut,
            batch_events,
            (&mut report, &mut longest),
            &mut progress,
        ),
        _ => Ok(()),
    };
    // Also after a failed removal, and when there was nothing to remove: a prune stopped
    // half-way left its indexes set aside, and this one finishes them.
    let rebuilt = removed.and_then(|()| {
        let rebuild_started = Instant::now();
        report.search_rebuilt = rebuild_set_aside(conn, &mut longest, &mut progress)?;
        report.search_rebuild_ms = rebuild_started.elapsed().as_millis() as u64;
        Ok(())
    });
    report.longest_batch_ms = longest.as_secs_f64() * 1000.0;
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    match (rebuilt, report.checkpoint_seq) {
        (Ok(()), _) => Ok(report),
        (Err(e), None) => Err(e),
        // Records are gone by then: say so, and how to finish.
        (Err(e), Some(seq)) => Err(LedgerError::Maintenance {
            detail: format!(
                "the prune wrote its checkpoint (event #{seq}) and then failed: {e}. The ledger \
                 verifies as it is; run `airlock ledger prune` again to remove what is left and \
                 rebuild any search index it set aside"
            ),
        }),
    }
}

/// The checkpoint, then the records in batches.
fn remove(
    conn: &mut Connection,
    plan: &mut PrunePlan,
    cut: &ChainHead,
    batch_events: usize,
    (report, longest): (&mut PruneReport, &mut Duration),
    progress: &mut impl FnMut(PruneProgress),
) -> Result<(), LedgerError> {
    // 1. The checkpoint, chained at the head, before anything is removed. Its payload (every
    // kept event: megabytes on a big ledger with many open proposals) is built and hashed
    // before the write lock is taken.
    let payload = CheckpointPayload {
        cut: cut.clone(),
        cutoff: plan.cutoff.clone(),
        retained: std::mem::take(&mut plan.retained),
        removed: plan.removes.clone(),
    };
    let payload: Value = serde_json::to_value(&payload)?;
    let record_hash = airlock_protocol::hash_json(&payload);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now_latest: Option<i64> = tx
        .query_row(
            "SELECT seq FROM events WHERE kind = 'ledger_pruned' ORDER BY seq DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if now_latest != plan.previous_checkpoint {
        return Err(LedgerError::Maintenance {
            detail: "another prune ran meanwhile; run this one again".into(),
        });
    }
    // Set aside in the same transaction: no removal reaches an index the prune rebuilds.
    search_index::set_aside(&tx, &plan.search_set_aside)?;
    append_event(
        &tx,
        PRUNED_KIND,
        None,
        (IMPORT_SUBJECT, "prune"),
        RUNNER_ACTOR,
        &payload,
        &record_hash,
        &airlock_protocol::now_rfc3339(),
    )?;
    let checkpoint_seq = read::head(&tx)?.map(|(seq, _)| seq);
    tx.commit()?;
    report.checkpoint_seq = checkpoint_seq;
    // 2. The records, in batches, oldest first.
    // Foreign-key checks would look for children of each removed proposal through partial
    // indexes SQLite cannot use for them (a full scan per proposal). A prune removes the
    // children with the parent, so it turns them off on its own connection meanwhile.
    conn.execute_batch("PRAGMA foreign_keys = OFF;")?;
    let removed = remove_batches(conn, plan, cut, batch_events, (report, longest), progress);
    conn.execute_batch("PRAGMA foreign_keys = ON;")?;
    removed
}

/// Rows of an index's storage one statement of [`rebuild_set_aside`] removes.
const CLEAR_ROWS: i64 = 256;

/// Empties each search index set aside and reopens it ([`search_index::clear_step`],
/// [`search_index::reopen`]), then indexes its kind's rows up to the newest at reopening, in
/// transactions of about [`BATCH_BUDGET`] with the pauses of the removal between them. Returns
/// the indexes it reopened and rebuilt.
///
/// Two prunes at once may both find an index set aside: each transaction first checks that it
/// still is (clearing one the other prune reopened would remove its new entries), and a
/// rebuild stops when the index is set aside again (the other prune rebuilds it) or when no
/// row is left to index (the newest rows were removed meanwhile).
fn rebuild_set_aside(
    conn: &mut Connection,
    longest: &mut Duration,
    progress: &mut impl FnMut(PruneProgress),
) -> Result<Vec<String>, LedgerError> {
    let mut targets = Vec::new();
    for index in search_index::set_aside_now(conn)? {
        if let Some(newest) = empty_and_reopen(conn, index, longest, progress)? {
            targets.push((index, newest));
        }
    }
    for (k, &(index, newest)) in targets.iter().enumerate() {
        // Row ids of the indexes after this one (an upper bound on their rows).
        let later: i64 = targets[k + 1..].iter().map(|&(_, n)| n).sum();
        let mut before = 0;
        let mut pace = search_index::Pace::new();
        loop {
            let started = Instant::now();
            let upto = search_index::index_one(conn, index, pace.rows())?;
            pace.took(started.elapsed());
            *longest = (*longest).max(started.elapsed());
            let done = upto < 0 || upto >= newest || upto == before;
            let left = if done { 0 } else { newest - upto };
            progress(PruneProgress::Reindexing {
                left: u64::try_from(left + later).unwrap_or(0),
            });
            if done {
                break;
            }
            before = upto;
            breathe(conn, started.elapsed());
        }
    }
    Ok(targets.into_iter().map(|(i, _)| i.to_owned()).collect())
}

/// Empties the set-aside `index` in transactions of about [`BATCH_BUDGET`], then reopens it at
/// mark 0 in the last one. Returns the kind's newest row id at reopening, or `None` when
/// another prune reopened the index first (it is then that prune's to rebuild).
fn empty_and_reopen(
    conn: &mut Connection,
    index: &'static str,
    longest: &mut Duration,
    progress: &mut impl FnMut(PruneProgress),
) -> Result<Option<i64>, LedgerError> {
    let mut removed = 0u64;
    loop {
        let started = Instant::now();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if !search_index::is_set_aside(&tx, index)? {
            return Ok(None);
        }
        let mut cleared = 0;
        loop {
            let n = search_index::clear_step(&tx, index, CLEAR_ROWS)?;
            cleared += n;
            if n == 0 || started.elapsed() >= BATCH_BUDGET {
                break;
            }
        }
        if cleared == 0 {
            search_index::reopen(&tx, index)?;
            let newest = search_index::newest(&tx, index)?;
            tx.commit()?;
            return Ok(Some(newest));
        }
        tx.commit()?;
        removed += cleared as u64;
        progress(PruneProgress::Emptying { index, removed });
        *longest = (*longest).max(started.elapsed());
        breathe(conn, started.elapsed());
    }
}

/// After a batch that took `took`: copy the WAL back, keep it short, and leave the write lock
/// free for a moment.
fn breathe(conn: &mut Connection, took: Duration) {
    // Copy what the batch wrote into the file at once (never blocks writers), so the WAL
    // does not grow until the servers' checkpointer must truncate it under the write
    // lock; then leave the lock free for a moment, so writers waiting in SQLite's busy
    // handler get their turn.
    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    keep_wal_short(conn);
    std::thread::sleep((took / GAP_SHARE).clamp(MIN_GAP, MAX_GAP));
}

/// Truncates the WAL when it is over [`PRUNE_WAL_LIMIT`], waiting briefly at most.
fn keep_wal_short(conn: &mut Connection) {
    // Deletes append frames faster than the WAL gets reused under steady writes: keep it
    // short here (everything was just copied, so this only waits for readers and cuts the
    // file) rather than let it reach the servers' limit, where their checkpointer
    // truncates it under their write lock and tool calls wait for all of it (measured:
    // calls of 160 ms behind a WAL of 150 MB).
    if conn
        .path()
        .is_some_and(|p| file_len(&sibling(Path::new(p), "-wal")) > PRUNE_WAL_LIMIT)
    {
        super::truncate_wal_briefly(conn);
    }
}

fn remove_batches(
    conn: &mut Connection,
    plan: &PrunePlan,
    cut: &ChainHead,
    batch_events: usize,
    (report, longest): (&mut PruneReport, &mut Duration),
    progress: &mut impl FnMut(PruneProgress),
) -> Result<(), LedgerError> {
    let total = plan.events();
    let mut done = 0u64;
    let mut after = 0i64;
    let mut removed_proposals = HashSet::new();
    loop {
        let batch_started = Instant::now();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let batch = next_batch(&tx, after, cut.seq, batch_events)?;
        if batch.is_empty() {
            tx.commit()?;
            break;
        }
        let mut last = after;
        for ev in &batch {
            // Out of time: commit what is done and let waiting writers in. Never between a
            // read's evidence and its audit, which go together.
            if last > after
                && batch_started.elapsed() >= BATCH_BUDGET
                && ev.subject_kind != "query_audit"
            {
                break;
            }
            last = ev.seq;
            match &ev.proposal {
                Some(p) if plan.protected.contains(p) => continue,
                Some(p) => {
                    if removed_proposals.insert(p.clone()) {
                        done += remove_proposal(&tx, p)?;
                    }
                }
                None => {
                    remove_record(&tx, ev)?;
                    tx.prepare_cached("DELETE FROM events WHERE seq = ?1")?
                        .execute([ev.seq])?;
                    done += 1;
                }
            }
        }
        tx.commit()?;
        let took = batch_started.elapsed();
        *longest = (*longest).max(took);
        report.batches += 1;
        after = last;
        progress(PruneProgress::Removing {
            done: done.min(total),
            total,
        });
        breathe(conn, took);
    }
    Ok(())
}

struct BatchEvent {
    seq: i64,
    subject_kind: String,
    subject_id: String,
    proposal: Option<String>,
}

/// The next `limit` events after `after` up to `cut`, plus the audit event right after an
/// evidence event at the end, so a read's two records always go together.
fn next_batch(
    tx: &Connection,
    after: i64,
    cut: i64,
    limit: usize,
) -> Result<Vec<BatchEvent>, LedgerError> {
    let mut stmt = tx.prepare_cached(
        "SELECT seq, subject_kind, subject_id, proposal_id FROM events
         WHERE seq > ?1 AND seq <= ?2 ORDER BY seq LIMIT ?3",
    )?;
    let map = |r: &rusqlite::Row<'_>| {
        Ok(BatchEvent {
            seq: r.get(0)?,
            subject_kind: r.get(1)?,
            subject_id: r.get(2)?,
            proposal: r.get(3)?,
        })
    };
    let mut batch: Vec<BatchEvent> = stmt
        .query_map(params![after, cut, limit as i64], map)?
        .collect::<Result<_, _>>()?;
    if let Some(last) = batch.last()
        && last.subject_kind == "evidence"
    {
        let next = stmt
            .query_map(params![last.seq, cut, 1], map)?
            .next()
            .transpose()?;
        batch.extend(next.filter(|e| e.subject_kind == "query_audit"));
    }
    Ok(batch)
}

fn remove_record(tx: &Connection, ev: &BatchEvent) -> Result<(), LedgerError> {
    let sql = match ev.subject_kind.as_str() {
        "evidence" => "DELETE FROM evidence_bundles WHERE evidence_bundle_id = ?1",
        "query_audit" => "DELETE FROM query_audit WHERE audit_id = ?1",
        "approval" => "DELETE FROM approvals WHERE approval_id = ?1",
        "writeback_job" => "DELETE FROM writeback_jobs WHERE job_row_id = ?1",
        "receipt" => "DELETE FROM receipts WHERE receipt_id = ?1",
        "human_action" => "DELETE FROM human_actions WHERE action_id = ?1",
        // Markers (import, checkpoints) have no record of their own.
        _ => return Ok(()),
    };
    tx.prepare_cached(sql)?.execute([&ev.subject_id])?;
    Ok(())
}

/// Removes a final proposal with every record and event it has; returns the events removed.
fn remove_proposal(tx: &Connection, proposal_id: &str) -> Result<u64, LedgerError> {
    for table in [
        "query_audit",
        "evidence_bundles",
        "approvals",
        "receipts",
        "writeback_jobs",
    ] {
        tx.prepare_cached(&format!("DELETE FROM {table} WHERE proposal_id = ?1"))?
            .execute([proposal_id])?;
    }
    let events = tx
        .prepare_cached("DELETE FROM events WHERE proposal_id = ?1")?
        .execute([proposal_id])?;
    tx.prepare_cached("DELETE FROM proposals WHERE proposal_id = ?1")?
        .execute([proposal_id])?;
    Ok(events as u64)
}

/// The files that make up a ledger: the database, its WAL and shared-memory files, and its
/// anchor. `ledger reset` removes these.
pub fn ledger_files(path: &Path) -> Vec<std::path::PathBuf> {
    vec![
        path.to_owned(),
        sibling(path, "-wal"),
        sibling(path, "-shm"),
        crate::anchor::anchor_path(path),
    ]
}
