//! `ledger verify`: walk the chain in order and re-hash every record it covers.

use std::collections::HashMap;

use rusqlite::Connection;

use super::read;
use crate::LedgerError;
use crate::chain::{self, EventBody, GENESIS_HASH, VerifyBreak, VerifyReport};

pub(crate) fn verify(conn: &Connection) -> Result<VerifyReport, LedgerError> {
    let mut report = VerifyReport {
        ok: true,
        events_checked: 0,
        records_checked: 0,
        first_break: None,
    };
    match walk(conn, &mut report) {
        Ok(()) => {}
        Err(Walk::Break(b)) => {
            report.ok = false;
            report.first_break = Some(b);
        }
        Err(Walk::Ledger(e)) => return Err(e),
    }
    Ok(report)
}

enum Walk {
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

fn walk(conn: &Connection, report: &mut VerifyReport) -> Result<(), Walk> {
    let mut stmt = conn.prepare(&format!("{} ORDER BY seq", read::events_sql()))?;
    let mut rows = stmt.query([])?;
    let mut prev_hash = GENESIS_HASH.to_owned();
    let mut prev_seq = 0i64;
    // Latest state each proposal's events say it is in.
    let mut states: HashMap<String, (i64, String)> = HashMap::new();
    let mut covered = [0i64; 6];
    while let Some(row) = rows.next()? {
        let ev = match read::event_from_row(row) {
            Ok(ev) => ev,
            Err(e) => {
                let seq: i64 = row.get(0).unwrap_or(prev_seq + 1);
                return Err(broken(
                    seq,
                    "EVENT_HASH_MISMATCH",
                    format!("event is unreadable: {e}"),
                ));
            }
        };
        report.events_checked += 1;
        if ev.seq != prev_seq + 1 {
            return Err(broken(
                ev.seq,
                "SEQUENCE_GAP",
                format!("event {} follows event {prev_seq}", ev.seq),
            ));
        }
        if ev.prev_hash != prev_hash {
            return Err(broken(
                ev.seq,
                "PREV_HASH_MISMATCH",
                "prev_hash does not match the previous event's hash",
            ));
        }
        let body = EventBody {
            seq: ev.seq,
            kind: &ev.kind,
            proposal_id: ev.proposal_id.as_deref(),
            subject_kind: &ev.subject_kind,
            subject_id: &ev.subject_id,
            actor: &ev.actor,
            payload: &ev.payload,
            record_hash: &ev.record_hash,
            prev_hash: &ev.prev_hash,
            created_at: &ev.created_at,
        };
        if chain::event_hash(&body) != ev.hash {
            return Err(broken(
                ev.seq,
                "EVENT_HASH_MISMATCH",
                format!(
                    "event {} ({}) was changed after it was written",
                    ev.seq, ev.kind
                ),
            ));
        }
        check_record(conn, &ev, &mut covered)?;
        report.records_checked += 1;
        if let (Some(pid), Some(state)) = (
            ev.proposal_id.as_deref(),
            ev.payload.get("state").and_then(|s| s.as_str()),
        ) {
            states.insert(pid.to_owned(), (ev.seq, state.to_owned()));
        }
        prev_seq = ev.seq;
        prev_hash = ev.hash;
    }
    for (pid, (seq, state)) in &states {
        let stored: String = conn.query_row(
            "SELECT state FROM proposals WHERE proposal_id = ?1",
            [pid],
            |r| r.get(0),
        )?;
        if &stored != state {
            return Err(broken(
                *seq,
                "STATE_MISMATCH",
                format!("proposal {pid} is {stored} but its last event says {state}"),
            ));
        }
    }
    let tables = [
        "evidence_bundles",
        "query_audit",
        "proposals",
        "approvals",
        "writeback_jobs",
        "receipts",
    ];
    for (i, table) in tables.iter().enumerate() {
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

fn check_record(conn: &Connection, ev: &crate::Event, covered: &mut [i64; 6]) -> Result<(), Walk> {
    let missing = || {
        broken(
            ev.seq,
            "RECORD_MISSING",
            format!("{} {} is gone", ev.subject_kind, ev.subject_id),
        )
    };
    let actual = match ev.subject_kind.as_str() {
        "evidence" => {
            covered[0] += 1;
            let e = read::evidence_bundle(conn, &ev.subject_id)
                .map_err(|e| unreadable(ev, e))?
                .ok_or_else(missing)?;
            chain::evidence_hash(&e)
        }
        "query_audit" => {
            covered[1] += 1;
            let id: i64 = ev.subject_id.parse().map_err(|_| missing())?;
            let a = read::audit_by_id(conn, id)
                .map_err(|e| unreadable(ev, e))?
                .ok_or_else(missing)?;
            chain::audit_hash(&a)
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
            chain::proposal_hash(&p, &key)
        }
        "approval" => {
            covered[3] += 1;
            let id: i64 = ev.subject_id.parse().map_err(|_| missing())?;
            let a = read::approval_by_id(conn, id)
                .map_err(|e| unreadable(ev, e))?
                .ok_or_else(missing)?;
            chain::record_hash(&a)
        }
        "writeback_job" => {
            covered[4] += 1;
            let id: i64 = ev.subject_id.parse().map_err(|_| missing())?;
            let j = read::job_by_id(conn, id)
                .map_err(|e| unreadable(ev, e))?
                .ok_or_else(missing)?;
            chain::record_hash(&j)
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
            chain::record_hash(&r)
        }
        other => {
            return Err(broken(
                ev.seq,
                "RECORD_MISSING",
                format!("unknown subject kind {other}"),
            ));
        }
    };
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

fn unreadable(ev: &crate::Event, e: LedgerError) -> Walk {
    match e {
        LedgerError::Storage(rusqlite::Error::FromSqlConversionFailure(..))
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
