//! Ledger exports: a range of the chain as JSON lines that carry everything needed to verify
//! it on another machine, with no database and no config.
//!
//! Line 1 is an [`ExportHeader`]; each following line is one event with the record its
//! `record_hash` covers, in chain order. [`verify_export`] re-hashes every record and event and
//! follows the `prev_hash` links from the header's `prev_hash` to the last event; the export's
//! last event hash can be compared with an anchor kept elsewhere.

use std::io::BufRead;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::chain::{self, ChainHead, EventBody, VerifyBreak, VerifyReport};
use crate::columns;
use crate::{Event, EvidenceBundle, LedgerError, QueryAudit};

/// Format name of line 1.
pub const EXPORT_FORMAT: &str = "airlock.ledger-export.v1";

/// Line 1 of an export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportHeader {
    pub format: String,
    /// The ledger it came from and when.
    pub ledger: String,
    pub exported_at: String,
    /// Records created at or after this were asked for (absent: the whole chain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// First and last event exported, and how many (`last - first + 1`; 0 when empty).
    pub first_seq: i64,
    pub last_seq: i64,
    pub events: u64,
    /// The `prev_hash` of the first event: where this range hangs on the chain.
    pub prev_hash: String,
}

/// One event line: the event and the JSON its `record_hash` covers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportLine {
    pub event: Event,
    pub record: Value,
}

/// Whether the event's hash covers it, in the format its hash names. A column hash covers the
/// payload as the ledger stored it, which is what `serde_json` writes of it again.
fn event_matches(ev: &Event) -> bool {
    if !columns::is_column_hash(&ev.hash) {
        return chain::event_hash(&EventBody::of(ev)) == ev.hash;
    }
    let Ok(payload) = serde_json::to_string(&ev.payload) else {
        return false;
    };
    let cols = columns::event_cols(&EventBody::of(ev), &payload);
    columns::matches(&columns::EVENT, &cols, ev.hash.as_bytes(), &mut Vec::new())
}

/// Whether the event's `record_hash` covers the exported record. A column hash covers the
/// columns of an evidence bundle or a query audit row: the record must be exactly one (no
/// field more or less), whose columns are then hashed as the ledger stored them.
fn record_matches(ev: &Event, record: &Value) -> bool {
    if !columns::is_column_hash(&ev.record_hash) {
        return airlock_protocol::hash_json(record) == ev.record_hash;
    }
    let mut buf = Vec::new();
    match ev.subject_kind.as_str() {
        "evidence" => {
            let Ok(e) = serde_json::from_value::<EvidenceBundle>(record.clone()) else {
                return false;
            };
            let Ok(json) = columns::EvidenceJson::of(&e) else {
                return false;
            };
            serde_json::to_value(&e).ok().as_ref() == Some(record)
                && columns::matches(
                    &columns::EVIDENCE,
                    &columns::evidence_cols(&e, &json),
                    ev.record_hash.as_bytes(),
                    &mut buf,
                )
        }
        "query_audit" => {
            let Ok(a) = serde_json::from_value::<QueryAudit>(record.clone()) else {
                return false;
            };
            let Ok(payload) = serde_json::to_string(&a.payload) else {
                return false;
            };
            serde_json::to_value(&a).ok().as_ref() == Some(record)
                && columns::matches(
                    &columns::AUDIT,
                    &columns::audit_cols(&a, &payload),
                    ev.record_hash.as_bytes(),
                    &mut buf,
                )
        }
        _ => false,
    }
}

fn broken(seq: i64, code: &'static str, detail: String) -> VerifyBreak {
    VerifyBreak { seq, code, detail }
}

/// Verifies an export read from `input`. Problems with the export are reported as a
/// `first_break` (codes `EXPORT_INVALID`, `EXPORT_TRUNCATED` and the chain's own codes), naming
/// the line and event; only an unreadable input is an error.
pub fn verify_export(input: impl BufRead) -> Result<(ExportHeader, VerifyReport), LedgerError> {
    let mut report = VerifyReport::passing();
    let mut lines = input.lines();
    let first = lines.next().transpose()?.unwrap_or_default();
    let header = match serde_json::from_str::<ExportHeader>(&first) {
        Ok(h) if h.format == EXPORT_FORMAT => h,
        _ => {
            report.ok = false;
            report.first_break = Some(broken(
                0,
                "EXPORT_INVALID",
                format!("line 1 is not an {EXPORT_FORMAT} header"),
            ));
            return Ok((empty_header(), report));
        }
    };
    match walk(lines, &header, &mut report) {
        Ok(()) => {}
        Err(WalkError::Break(b)) => {
            report.ok = false;
            report.head = None;
            report.first_break = Some(b);
        }
        Err(WalkError::Io(e)) => return Err(e.into()),
    }
    Ok((header, report))
}

fn empty_header() -> ExportHeader {
    ExportHeader {
        format: String::new(),
        ledger: String::new(),
        exported_at: String::new(),
        since: None,
        first_seq: 0,
        last_seq: 0,
        events: 0,
        prev_hash: String::new(),
    }
}

enum WalkError {
    Break(VerifyBreak),
    Io(std::io::Error),
}

fn walk(
    lines: impl Iterator<Item = std::io::Result<String>>,
    header: &ExportHeader,
    report: &mut VerifyReport,
) -> Result<(), WalkError> {
    let mut prev_hash = header.prev_hash.clone();
    let mut prev_seq = header.first_seq - 1;
    for (i, line) in lines.enumerate() {
        let number = i + 2;
        let line = line.map_err(WalkError::Io)?;
        if line.trim().is_empty() {
            continue;
        }
        let entry: ExportLine = serde_json::from_str(&line).map_err(|e| {
            WalkError::Break(broken(
                prev_seq + 1,
                "EXPORT_INVALID",
                format!("line {number} is not an event line: {e}"),
            ))
        })?;
        let ev = &entry.event;
        let at = |code, what: String| {
            WalkError::Break(broken(
                ev.seq,
                code,
                format!("line {number}, event {} ({}): {what}", ev.seq, ev.kind),
            ))
        };
        report.events_checked += 1;
        if ev.seq != prev_seq + 1 {
            return Err(at(
                "SEQUENCE_GAP",
                format!("follows event {prev_seq}: events are missing or out of order"),
            ));
        }
        if ev.prev_hash != prev_hash {
            return Err(at(
                "PREV_HASH_MISMATCH",
                "prev_hash does not match the previous event's hash".into(),
            ));
        }
        if !event_matches(ev) {
            return Err(at(
                "EVENT_HASH_MISMATCH",
                "the event was changed after it was written".into(),
            ));
        }
        if !record_matches(ev, &entry.record) {
            return Err(at(
                "RECORD_HASH_MISMATCH",
                format!(
                    "{} {} was changed after the event recorded it",
                    ev.subject_kind, ev.subject_id
                ),
            ));
        }
        report.records_checked += 1;
        prev_seq = ev.seq;
        prev_hash = ev.hash.clone();
    }
    if prev_seq != header.last_seq || report.events_checked != header.events {
        return Err(WalkError::Break(broken(
            prev_seq + 1,
            "EXPORT_TRUNCATED",
            format!(
                "the header promises events {}..={} ({} events) but the export ends at event {prev_seq} after {} events",
                header.first_seq, header.last_seq, header.events, report.events_checked
            ),
        )));
    }
    if prev_seq >= header.first_seq && header.events > 0 {
        report.head = Some(ChainHead {
            seq: prev_seq,
            hash: prev_hash,
        });
    }
    Ok(())
}
