//! `ledger verify`: walk the chain in order, re-hash every record it covers, rebuild each
//! proposal's mutable columns from its events and compare them with the table, and check the
//! chain against anchored heads.

use std::collections::{BTreeSet, HashMap};

use rusqlite::Connection;

use super::{checkpoint, read};
use crate::chain::{
    self, ChainHead, EventBody, GENESIS_HASH, ProposalRow, VerifyBreak, VerifyReport,
};
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

pub(crate) fn verify(conn: &Connection, anchors: &[Anchor]) -> Result<VerifyReport, LedgerError> {
    let mut report = VerifyReport::passing();
    match walk(conn, anchors, &mut report) {
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

/// One event as the reader thread found it: the event (or why its row does not decode) and
/// the JSON its `record_hash` covers (or the break found reading the record).
struct Item {
    seq: i64,
    event: Result<crate::Event, String>,
    record: Result<serde_json::Value, Walk>,
}

/// Events go from the reader to the checker in batches of this many.
const ITEMS_PER_BATCH: usize = 256;

/// The walk runs on two threads: this one reads (steps through the events in order, fetches
/// and decodes each record), a second one hashes and checks the chain in the same order. So
/// the first break reported is the same as a one-thread walk's, and on two cores reading and
/// hashing overlap.
fn walk(conn: &Connection, anchors: &[Anchor], report: &mut VerifyReport) -> Result<(), Walk> {
    // A pruned ledger is walked from its latest checkpoint: events at or before the cut are
    // the ones it kept (or ones a prune has yet to remove), and the chain resumes after it.
    let checkpoint = match checkpoint::latest(conn)? {
        None => None,
        Some(Ok(c)) => Some(c),
        Some(Err(detail)) => return Err(broken(0, "CHECKPOINT_INVALID", detail)),
    };
    report.checkpoint = checkpoint.as_ref().map(|c| c.summary.clone());
    let mut covered: Covered = [0; CHAINED_TABLES.len()];
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<Item>>(8);
    let kept = checkpoint.as_ref();
    let (checked, read) = std::thread::scope(|scope| {
        let checker = std::thread::Builder::new()
            .name("airlock-verify".into())
            .spawn_scoped(scope, move || {
                let mut chain = Chain::start(kept, anchors);
                let outcome = receiver
                    .iter()
                    .flatten()
                    .try_for_each(|item| chain.check(item));
                (outcome, chain)
            })
            .expect("a thread for verify");
        let read = read_items(conn, &sender, &mut covered);
        drop(sender);
        let checked = checker.join().expect("the verify thread does not panic");
        (checked, read)
    });
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

/// The reader's half: every event in order with the record it covers, sent in batches. Stops
/// at the first storage error (returned) or when the checker has stopped listening.
fn read_items(
    conn: &Connection,
    sender: &std::sync::mpsc::SyncSender<Vec<Item>>,
    covered: &mut Covered,
) -> Result<(), Walk> {
    let mut stmt = conn.prepare(&format!("{} ORDER BY seq", read::events_sql()))?;
    let mut rows = stmt.query([])?;
    let mut batch = Vec::with_capacity(ITEMS_PER_BATCH);
    let mut last_seq = 0;
    while let Some(row) = rows.next()? {
        let item = match read::event_from_row(row) {
            Ok(ev) => Item {
                seq: ev.seq,
                record: record_value(conn, &ev, covered),
                event: Ok(ev),
            },
            Err(e) => Item {
                seq: row.get(0).unwrap_or(last_seq + 1),
                event: Err(e.to_string()),
                record: Ok(serde_json::Value::Null),
            },
        };
        last_seq = item.seq;
        let stop = item.event.is_err();
        batch.push(item);
        if batch.len() == ITEMS_PER_BATCH || stop {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(ITEMS_PER_BATCH));
            if sender.send(full).is_err() || stop {
                return Ok(());
            }
        }
    }
    if !batch.is_empty() {
        let _ = sender.send(batch);
    }
    Ok(())
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

    fn check(&mut self, item: Item) -> Result<(), Walk> {
        let ev = match item.event {
            Ok(ev) => ev,
            Err(e) => {
                return Err(broken(
                    item.seq,
                    "EVENT_HASH_MISMATCH",
                    format!("event is unreadable: {e}"),
                ));
            }
        };
        self.events_checked += 1;
        if ev.seq <= self.cut {
            check_before_cut(&ev, self.checkpoint, item.record)?;
            if !self.unseen.remove(&ev.seq) {
                self.awaiting_prune += 1;
            }
            track_proposal(&ev, &mut self.proposal_rows);
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
        if chain::event_hash(&EventBody::of(&ev)) != ev.hash {
            return Err(broken(
                ev.seq,
                "EVENT_HASH_MISMATCH",
                format!(
                    "event {} ({}) was changed after it was written",
                    ev.seq, ev.kind
                ),
            ));
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
        check_record(&ev, item.record)?;
        track_proposal(&ev, &mut self.proposal_rows);
        self.prev_seq = ev.seq;
        self.prev_hash = ev.hash;
        Ok(())
    }
}

/// Remembers the mutable columns a proposal's event leaves.
fn track_proposal(ev: &crate::Event, rows: &mut HashMap<String, (i64, ProposalRow)>) {
    if let Some(pid) = ev.proposal_id.as_deref() {
        let before = rows.get(pid).map(|(_, row)| row);
        if let Some(after) = ProposalRow::after(ev, before) {
            rows.insert(pid.to_owned(), (ev.seq, after));
        }
    }
}

/// An event at or before a checkpoint's cut: its predecessor may be gone, so only its own
/// hash, the hash the checkpoint kept for it (if it kept it) and its record are checked.
fn check_before_cut(
    ev: &crate::Event,
    checkpoint: Option<&checkpoint::Loaded>,
    record: Result<serde_json::Value, Walk>,
) -> Result<(), Walk> {
    if chain::event_hash(&EventBody::of(ev)) != ev.hash {
        return Err(broken(
            ev.seq,
            "EVENT_HASH_MISMATCH",
            format!(
                "event {} ({}) was changed after it was written",
                ev.seq, ev.kind
            ),
        ));
    }
    if let Some(kept) = checkpoint.and_then(|c| c.retained.get(&ev.seq))
        && *kept != ev.hash
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
    check_record(ev, record)
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

/// Compares the hash of the record as read (or the break found reading it) with the event's
/// `record_hash`.
fn check_record(ev: &crate::Event, record: Result<serde_json::Value, Walk>) -> Result<(), Walk> {
    let actual = airlock_protocol::hash_json(&record?);
    if actual != ev.record_hash {
        return Err(broken(
            ev.seq,
            "RECORD_HASH_MISMATCH",
            format!(
                "{} {} was changed after event {} recorded it",
                ev.subject_kind, ev.subject_id, ev.seq
            ),
        ));
    }
    Ok(())
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

/// A record whose columns no longer decode (text where a number was, bad JSON) was edited.
fn unreadable(ev: &crate::Event, e: LedgerError) -> Walk {
    match e {
        LedgerError::Storage(
            rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::IntegralValueOutOfRange(..),
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
