//! `verify` on the Postgres ledger: every writer's chain walked in order, every record
//! re-hashed, every proposal's mutable columns rebuilt from its events, every cross-anchor
//! checked against the chain it names, and every writer witnessed by the anchors written after
//! it joined. One `REPEATABLE READ` snapshot, so servers writing meanwhile never make a
//! consistent ledger look broken. See ARCHITECTURE.md, "Postgres ledger: chains per writer".

use std::collections::{BTreeMap, HashMap, HashSet};

use airlock_ledger::rules::{self, EventBody, ProposalRow};
use airlock_ledger::{Anchor, ChainHead, Event, LedgerError, VerifyBreak, VerifyReport};
use deadpool_postgres::Transaction;
use serde::Deserialize;
use tokio_postgres::Row;

use crate::error::Pg;
use crate::read::{self, col};
use crate::writer::{ANCHORED_KIND, JOINED_KIND, WRITER_SUBJECT, writer_genesis, writer_record};

/// Rows fetched per round trip while walking a table.
const BATCH_ROWS: i32 = 5_000;

enum Walk {
    Break(VerifyBreak),
    Ledger(LedgerError),
}

impl From<LedgerError> for Walk {
    fn from(e: LedgerError) -> Walk {
        Walk::Ledger(e)
    }
}

fn broken(seq: i64, code: &'static str, detail: impl Into<String>) -> Walk {
    Walk::Break(VerifyBreak {
        seq,
        code,
        detail: detail.into(),
    })
}

/// A record's hash as recomputed from its row, or why the row does not decode (it was edited).
type Recomputed = Result<String, String>;

/// Every chained record by subject kind and id: its recomputed hash, and whether an event
/// covered it.
#[derive(Default)]
struct Records {
    by_subject: HashMap<(&'static str, String), (Recomputed, bool)>,
    /// A receipt's `attempt` column, checked against its event.
    receipt_attempts: HashMap<String, i64>,
    /// A proposal's mutable columns as stored.
    proposal_rows: HashMap<String, ProposalRow>,
    /// Proposals whose change set no longer matches its own hash.
    invalid_proposals: HashSet<String>,
}

/// Runs `f` over every row of `sql` in batches, inside the snapshot.
async fn each_row(
    tx: &Transaction<'_>,
    sql: &str,
    mut f: impl FnMut(&Row) -> Result<(), Walk>,
) -> Result<(), Walk> {
    let portal = tx.bind(sql, &[]).await.pg()?;
    loop {
        let rows = tx.query_portal(&portal, BATCH_ROWS).await.pg()?;
        for row in &rows {
            f(row)?;
        }
        if rows.len() < BATCH_ROWS as usize {
            return Ok(());
        }
    }
}

fn hashed<T: serde::Serialize>(r: Result<T, LedgerError>) -> Recomputed {
    r.map(|v| rules::record_hash(&v)).map_err(|e| e.to_string())
}

async fn load_records(tx: &Transaction<'_>) -> Result<Records, Walk> {
    fn put(out: &mut Records, kind: &'static str, id: String, hash: Recomputed) {
        out.by_subject.insert((kind, id), (hash, false));
    }
    let mut out = Records::default();
    each_row(
        tx,
        &format!("SELECT {} FROM evidence_bundles", read::EVIDENCE_COLUMNS),
        |r| {
            let id: String = col(r, 0)?;
            put(
                &mut out,
                "evidence",
                id,
                read::evidence_from_row(r)
                    .map(|e| rules::evidence_hash(&e))
                    .map_err(|e| e.to_string()),
            );
            Ok(())
        },
    )
    .await?;
    each_row(
        tx,
        &format!("SELECT {} FROM query_audit", read::AUDIT_COLUMNS),
        |r| {
            let id: i64 = col(r, 0)?;
            put(
                &mut out,
                "query_audit",
                id.to_string(),
                read::audit_from_row(r)
                    .map(|a| rules::audit_hash(&a))
                    .map_err(|e| e.to_string()),
            );
            Ok(())
        },
    )
    .await?;
    each_row(
        tx,
        &format!(
            "SELECT {}, dedupe_key FROM proposals",
            read::PROPOSAL_COLUMNS
        ),
        |r| {
            let id: String = col(r, 0)?;
            let recomputed = match read::proposal_from_row(r) {
                Ok(p) => {
                    if !p.change_set.hash_is_valid()
                        || p.change_set.integrity.proposal_hash != p.proposal_hash
                    {
                        out.invalid_proposals.insert(id.clone());
                    }
                    out.proposal_rows.insert(id.clone(), ProposalRow::of(&p));
                    let dedupe_key: String = col(r, 17)?;
                    Ok(rules::proposal_hash(&p, &dedupe_key))
                }
                Err(e) => Err(e.to_string()),
            };
            put(&mut out, "proposal", id, recomputed);
            Ok(())
        },
    )
    .await?;
    each_row(
        tx,
        &format!("SELECT {} FROM approvals", read::APPROVAL_COLUMNS),
        |r| {
            let id: i64 = col(r, 0)?;
            put(
                &mut out,
                "approval",
                id.to_string(),
                hashed(read::approval_from_row(r)),
            );
            Ok(())
        },
    )
    .await?;
    each_row(
        tx,
        &format!("SELECT {} FROM writeback_jobs", read::JOB_COLUMNS),
        |r| {
            let id: i64 = col(r, 0)?;
            put(
                &mut out,
                "writeback_job",
                id.to_string(),
                hashed(read::job_from_row(r)),
            );
            Ok(())
        },
    )
    .await?;
    each_row(
        tx,
        &format!("SELECT {}, attempt FROM receipts", read::RECEIPT_COLUMNS),
        |r| {
            let id: i64 = col(r, 0)?;
            let recomputed = match read::receipt_from_row(r) {
                Ok(stored) if !stored.receipt.hash_is_valid() => {
                    Err(format!("receipt {id} does not match its own receipt_hash"))
                }
                other => hashed(other),
            };
            out.receipt_attempts.insert(id.to_string(), col(r, 8)?);
            put(&mut out, "receipt", id.to_string(), recomputed);
            Ok(())
        },
    )
    .await?;
    each_row(
        tx,
        &format!("SELECT {} FROM human_actions", crate::shadow::COLUMNS),
        |r| {
            let id: i64 = col(r, 0)?;
            put(
                &mut out,
                "human_action",
                id.to_string(),
                hashed(crate::shadow::from_row(r)),
            );
            Ok(())
        },
    )
    .await?;
    each_row(
        tx,
        "SELECT writer_id, host, pid, registered_at FROM writers",
        |r| {
            let id: String = col(r, 0)?;
            let host: String = col(r, 1)?;
            let pid: i64 = col(r, 2)?;
            let at: String = col(r, 3)?;
            let hash = rules::record_hash(&writer_record(&id, &host, pid, &at));
            put(&mut out, WRITER_SUBJECT, id, Ok(hash));
            Ok(())
        },
    )
    .await?;
    Ok(out)
}

/// One head an anchor names.
#[derive(Debug, Clone, Deserialize)]
struct NamedHead {
    writer_id: String,
    writer_seq: i64,
    seq: i64,
    hash: String,
}

/// What one anchor event says one writer's event is: `(seq, hash, anchor event's seq)`.
type NamedBy = (i64, String, i64);

/// An anchor event: who wrote it, where, and the heads it names.
struct CrossAnchor {
    seq: i64,
    writer_id: String,
    heads: Vec<NamedHead>,
}

const WALK_COLUMNS: &str = "e.seq, e.kind, e.proposal_id, e.subject_kind, e.subject_id,
    e.actor, e.payload_json, e.record_hash, e.prev_hash, e.hash, e.created_at, e.writer_id,
    e.writer_seq";

pub(crate) async fn verify(
    tx: &Transaction<'_>,
    anchors: &[Anchor],
) -> Result<VerifyReport, LedgerError> {
    let mut report = VerifyReport::passing();
    match walk(tx, anchors, &mut report).await {
        Ok(()) => {}
        Err(Walk::Break(b)) => {
            report.ok = false;
            report.head = None;
            report.first_break = Some(b);
        }
        Err(Walk::Ledger(e)) => return Err(e),
    }
    Ok(report)
}

/// Per-writer walking state.
struct Chain {
    writer_seq: i64,
    seq: i64,
    hash: String,
    first_seq: i64,
}

async fn walk(
    tx: &Transaction<'_>,
    external: &[Anchor],
    report: &mut VerifyReport,
) -> Result<(), Walk> {
    let mut records = load_records(tx).await?;
    // Cross-anchors, read first so the walk can check each named head as it passes it.
    let mut cross = Vec::new();
    each_row(
        tx,
        &format!(
            "SELECT seq, writer_id, payload_json FROM events
             WHERE kind IN ('{JOINED_KIND}', '{ANCHORED_KIND}') ORDER BY seq"
        ),
        |r| {
            let seq: i64 = col(r, 0)?;
            let payload: String = col(r, 2)?;
            let heads = serde_json::from_str::<serde_json::Value>(&payload)
                .ok()
                .and_then(|v| serde_json::from_value::<Vec<NamedHead>>(v["heads"].clone()).ok())
                .ok_or_else(|| {
                    broken(
                        seq,
                        "ANCHOR_INVALID",
                        format!("anchor event {seq} does not list heads"),
                    )
                })?;
            cross.push(CrossAnchor {
                seq,
                writer_id: col(r, 1)?,
                heads,
            });
            Ok(())
        },
    )
    .await?;
    // (writer, writer_seq) → the (seq, hash) it must have, and the anchor event naming it.
    let mut named: HashMap<(String, i64), Vec<NamedBy>> = HashMap::new();
    for a in &cross {
        for h in &a.heads {
            named
                .entry((h.writer_id.clone(), h.writer_seq))
                .or_default()
                .push((h.seq, h.hash.clone(), a.seq));
        }
    }
    let mut wanted: BTreeMap<i64, &Anchor> = BTreeMap::new();
    for a in external {
        wanted.insert(a.seq, a);
    }

    let mut chains: HashMap<String, Chain> = HashMap::new();
    let mut current: Option<String> = None;
    let mut head: Option<ChainHead> = None;
    let mut checked = 0u64;
    let mut named_checked = 0u64;
    let mut external_checked = 0u64;
    each_row(
        tx,
        &format!("SELECT {WALK_COLUMNS} FROM events e ORDER BY e.writer_id, e.writer_seq"),
        |r| {
            let writer_id: String = col(r, 11)?;
            let writer_seq: i64 = col(r, 12)?;
            let seq: i64 = col(r, 0)?;
            let ev = read::event_from_row(r).map_err(|e| {
                broken(seq, "EVENT_HASH_MISMATCH", format!("event is unreadable: {e}"))
            })?;
            if current.as_deref() != Some(&writer_id) {
                current = Some(writer_id.clone());
                if !records.by_subject.contains_key(&(WRITER_SUBJECT, writer_id.clone())) {
                    return Err(broken(
                        seq,
                        "WRITER_UNKNOWN",
                        format!("event {seq} belongs to writer {writer_id}, which never registered"),
                    ));
                }
                if ev.kind != JOINED_KIND || ev.subject_id != writer_id {
                    return Err(broken(
                        seq,
                        "WRITER_UNKNOWN",
                        format!("the chain of writer {writer_id} does not start with its {JOINED_KIND} event"),
                    ));
                }
                chains.insert(
                    writer_id.clone(),
                    Chain {
                        writer_seq: 0,
                        // The first event may have any number; later ones must follow it.
                        seq: i64::MIN,
                        hash: writer_genesis(&writer_id),
                        first_seq: seq,
                    },
                );
            }
            let chain = chains.get_mut(&writer_id).expect("inserted above");
            if writer_seq != chain.writer_seq + 1 {
                return Err(broken(
                    seq,
                    "SEQUENCE_GAP",
                    format!(
                        "event {writer_seq} of writer {writer_id} follows its event {}",
                        chain.writer_seq
                    ),
                ));
            }
            if seq <= chain.seq {
                return Err(broken(
                    seq,
                    "SEQUENCE_ORDER",
                    format!(
                        "writer {writer_id}'s event {writer_seq} has sequence number {seq}, not after its previous event's {}",
                        chain.seq
                    ),
                ));
            }
            if ev.prev_hash != chain.hash {
                return Err(broken(
                    seq,
                    "PREV_HASH_MISMATCH",
                    format!("prev_hash of writer {writer_id}'s event {writer_seq} does not match its previous event's hash"),
                ));
            }
            if rules::event_hash(&EventBody::of(&ev)) != ev.hash {
                return Err(broken(
                    seq,
                    "EVENT_HASH_MISMATCH",
                    format!("event {seq} ({}) was changed after it was written", ev.kind),
                ));
            }
            check_record(&ev, &mut records)?;
            if let Some(names) = named.remove(&(writer_id.clone(), writer_seq)) {
                for (named_seq, named_hash, by) in names {
                    if named_seq != seq || named_hash != ev.hash {
                        return Err(broken(
                            seq,
                            "ANCHOR_MISMATCH",
                            format!(
                                "anchor event {by} names writer {writer_id}'s event {writer_seq} as sequence {named_seq} with hash {named_hash}, but the chain holds sequence {seq} with {}: the chain was rewritten",
                                ev.hash
                            ),
                        ));
                    }
                    named_checked += 1;
                }
            }
            if let Some(a) = wanted.remove(&seq) {
                if a.hash != ev.hash {
                    return Err(broken(
                        seq,
                        "ANCHOR_MISMATCH",
                        format!(
                            "anchor line {} (written {}) records event {} with hash {}, but the ledger's event {seq} has {}",
                            a.line, a.at, a.seq, a.hash, ev.hash
                        ),
                    ));
                }
                external_checked += 1;
                report.anchored_seq = Some(report.anchored_seq.map_or(seq, |s| s.max(seq)));
            }
            chain.writer_seq = writer_seq;
            chain.seq = seq;
            chain.hash = ev.hash.clone();
            if head.as_ref().is_none_or(|h| h.seq < seq) {
                head = Some(ChainHead {
                    seq,
                    hash: ev.hash.clone(),
                });
            }
            checked += 1;
            Ok(())
        },
    )
    .await?;

    // A named head the walk never met: that writer's chain was cut short (or removed).
    if let Some(((writer_id, writer_seq), names)) = named.iter().min_by_key(|(_, n)| n[0].2) {
        let (_, _, by) = names[0];
        let ends = chains.get(writer_id).map_or(0, |c| c.writer_seq);
        return Err(broken(
            by,
            "ANCHOR_TRUNCATED",
            format!(
                "anchor event {by} names event {writer_seq} of writer {writer_id}, but that chain ends at its event {ends}: events were removed from its end"
            ),
        ));
    }
    if let Some((seq, a)) = wanted.iter().next() {
        return Err(broken(
            *seq,
            "ANCHOR_TRUNCATED",
            format!(
                "anchor line {} (written {}) records event {seq}, which the ledger no longer holds",
                a.line, a.at
            ),
        ));
    }
    // Every anchor numbered after a writer's first event saw that writer (the join lock makes
    // it so), so it must name it. A writer no later anchor names was added behind the fleet's
    // back, or its chain was removed with the anchors' names kept out of the way.
    for (writer_id, chain) in &chains {
        if let Some(a) = cross.iter().find(|a| {
            a.seq > chain.first_seq
                && a.writer_id != *writer_id
                && !a.heads.iter().any(|h| h.writer_id == *writer_id)
        }) {
            return Err(broken(
                chain.first_seq,
                "WRITER_UNWITNESSED",
                format!(
                    "writer {writer_id} joined at event {}, but anchor event {} of writer {}, written after, does not name it",
                    chain.first_seq, a.seq, a.writer_id
                ),
            ));
        }
    }
    check_proposal_rows(tx, &records).await?;
    if let Some(((kind, id), _)) = records
        .by_subject
        .iter()
        .filter(|(_, (_, seen))| !seen)
        .min_by(|a, b| a.0.cmp(b.0))
    {
        return Err(broken(
            head.as_ref().map_or(0, |h| h.seq),
            "UNCHAINED_RECORD",
            format!("{kind} {id} is covered by no event"),
        ));
    }
    report.events_checked = checked;
    report.records_checked = checked;
    report.anchors_checked = named_checked + external_checked;
    report.head = head;
    Ok(())
}

/// Compares the record an event covers with its `record_hash`.
fn check_record(ev: &Event, records: &mut Records) -> Result<(), Walk> {
    let seq = ev.seq;
    let kind: &'static str = match ev.subject_kind.as_str() {
        "evidence" => "evidence",
        "query_audit" => "query_audit",
        "proposal" => "proposal",
        "approval" => "approval",
        "writeback_job" => "writeback_job",
        "receipt" => "receipt",
        "human_action" => "human_action",
        WRITER_SUBJECT if ev.kind == ANCHORED_KIND => {
            // The anchor's record is its own payload.
            if rules::record_hash(&ev.payload) != ev.record_hash {
                return Err(broken(
                    seq,
                    "RECORD_HASH_MISMATCH",
                    format!("anchor event {seq}'s payload was changed"),
                ));
            }
            return Ok(());
        }
        WRITER_SUBJECT => WRITER_SUBJECT,
        other => {
            return Err(broken(
                seq,
                "RECORD_MISSING",
                format!("unknown subject kind {other}"),
            ));
        }
    };
    let key = (kind, ev.subject_id.clone());
    let Some((recomputed, seen)) = records.by_subject.get_mut(&key) else {
        return Err(broken(
            seq,
            "RECORD_MISSING",
            format!("{} {} is gone", ev.subject_kind, ev.subject_id),
        ));
    };
    // Only a proposal's creation covers its row; later events of the proposal name it too.
    if kind != "proposal" || ev.kind == "proposal_created" {
        *seen = true;
    }
    if kind == "proposal" && records.invalid_proposals.contains(&ev.subject_id) {
        return Err(broken(
            seq,
            "PROPOSAL_HASH_INVALID",
            format!(
                "proposal {}'s change set no longer matches its own hash",
                ev.subject_id
            ),
        ));
    }
    match recomputed {
        Ok(hash) if *hash == ev.record_hash => {}
        Ok(_) => {
            return Err(broken(
                seq,
                "RECORD_HASH_MISMATCH",
                format!(
                    "{} {} was changed after event {seq} recorded it",
                    ev.subject_kind, ev.subject_id
                ),
            ));
        }
        Err(detail) => {
            return Err(broken(
                seq,
                "RECORD_HASH_MISMATCH",
                format!(
                    "{} {} is no longer readable: {detail}",
                    ev.subject_kind, ev.subject_id
                ),
            ));
        }
    }
    if kind == "receipt"
        && let Some(attempt) = ev
            .payload
            .get("attempt")
            .and_then(serde_json::Value::as_i64)
        && records.receipt_attempts.get(&ev.subject_id) != Some(&attempt)
    {
        return Err(broken(
            seq,
            "RECORD_HASH_MISMATCH",
            format!(
                "receipt {}'s attempt differs from its event's",
                ev.subject_id
            ),
        ));
    }
    Ok(())
}

/// Rebuilds each proposal's mutable columns from its events in global order (lifecycle
/// events are numbered after the row lock, so that is the order they happened in) and
/// compares them with the table.
async fn check_proposal_rows(tx: &Transaction<'_>, records: &Records) -> Result<(), Walk> {
    let mut rows: HashMap<String, (i64, ProposalRow)> = HashMap::new();
    each_row(
        tx,
        &format!(
            "SELECT {} FROM events e WHERE e.proposal_id IS NOT NULL ORDER BY e.seq",
            read::EVENT_COLUMNS
        ),
        |r| {
            let ev = read::event_from_row(r)?;
            if let Some(pid) = ev.proposal_id.as_deref() {
                let before = rows.get(pid).map(|(_, row)| row);
                if let Some(after) = ProposalRow::after(&ev, before) {
                    rows.insert(pid.to_owned(), (ev.seq, after));
                }
            }
            Ok(())
        },
    )
    .await?;
    let mut order: Vec<_> = rows.iter().collect();
    order.sort_by_key(|(_, (seq, _))| *seq);
    for (pid, (seq, want)) in order {
        let Some(have) = records.proposal_rows.get(pid) else {
            return Err(broken(
                *seq,
                "RECORD_MISSING",
                format!("proposal {pid} is gone"),
            ));
        };
        if have != want {
            return Err(broken(
                *seq,
                "STATE_MISMATCH",
                format!(
                    "proposal {pid} has state {}, updated_at {}, source_database_mutated {} but its events say state {}, updated_at {}, source_database_mutated {}",
                    have.state,
                    have.updated_at,
                    have.source_database_mutated,
                    want.state,
                    want.updated_at,
                    want.source_database_mutated
                ),
            ));
        }
    }
    Ok(())
}
