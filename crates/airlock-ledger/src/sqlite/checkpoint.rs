//! Checkpoints: what a prune leaves in the chain so `verify` still proves what remains.
//!
//! A prune removes old events and their records. Before it removes anything it appends one
//! `ledger_pruned` event whose payload is the checkpoint: the event at the cut (`cut.seq`,
//! `cut.hash`), every event at or before the cut that stays (the events of proposals that
//! are still open, with their hashes), and what is removed. Being an event, the checkpoint is
//! chained and covered by later events and anchors like any record.
//!
//! `verify` reads the latest checkpoint and then expects:
//! - every kept event at or before the cut present, with the hash the checkpoint lists;
//! - the first event after the cut to be `cut.seq + 1` and to point at `cut.hash`;
//! - any other event at or before the cut to be awaiting removal by a prune that was
//!   interrupted or is still running: its own hash and record are checked, and it is counted
//!   in `awaiting_prune` (the next prune removes it).

use std::collections::{BTreeMap, HashMap};

use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::LedgerError;
use crate::chain::ChainHead;

/// Kind of the event that carries a checkpoint.
pub(crate) const PRUNED_KIND: &str = "ledger_pruned";

/// The payload of a `ledger_pruned` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CheckpointPayload {
    /// The last event the prune may remove; everything after it is untouched.
    pub cut: ChainHead,
    /// Records older than this (RFC 3339) were eligible.
    pub cutoff: String,
    /// Events at or before the cut that stay, `[seq, hash]`, in order.
    pub retained: Vec<(i64, String)>,
    /// Records removed, by kind (`evidence`, `query_audit`, `proposal`, …), and `events`.
    pub removed: BTreeMap<String, u64>,
}

/// The latest checkpoint of a ledger, as `stats` and `verify` report it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Checkpoint {
    /// Sequence number of the `ledger_pruned` event that carries it.
    pub event_seq: i64,
    /// When the prune wrote it.
    pub created_at: String,
    /// The event at the cut: nothing after it was removed.
    pub cut: ChainHead,
    /// Records older than this were eligible.
    pub cutoff: String,
    /// Events at or before the cut that were kept (open proposals and their evidence).
    pub retained_events: u64,
    /// What the prune removed, by record kind.
    pub removed: BTreeMap<String, u64>,
}

/// The latest checkpoint with its kept events, for `verify` and the next prune.
#[derive(Debug, Clone)]
pub(crate) struct Loaded {
    pub summary: Checkpoint,
    pub retained: HashMap<i64, String>,
}

/// Reads the newest `ledger_pruned` event. A payload that does not parse is reported as
/// `Err(detail)` inside `Ok`, so `verify` can name it as a break.
pub(crate) fn latest(conn: &Connection) -> Result<Option<Result<Loaded, String>>, LedgerError> {
    // The kind is spelled in the SQL, not bound, so SQLite can use the partial index
    // `idx_events_checkpoints` (migration 4), whose WHERE clause names it.
    let row: Option<(i64, String, String)> = conn
        .prepare_cached(
            "SELECT seq, payload_json, created_at FROM events WHERE kind = 'ledger_pruned'
             ORDER BY seq DESC LIMIT 1",
        )?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((seq, payload, created_at)) = row else {
        return Ok(None);
    };
    let parsed: CheckpointPayload = match serde_json::from_str(&payload) {
        Ok(p) => p,
        Err(e) => {
            return Ok(Some(Err(format!(
                "checkpoint event {seq} does not parse: {e}"
            ))));
        }
    };
    if parsed.cut.seq >= seq || parsed.cut.seq < 0 {
        return Ok(Some(Err(format!(
            "checkpoint event {seq} claims a cut at event {}, which is not before it",
            parsed.cut.seq
        ))));
    }
    Ok(Some(Ok(Loaded {
        summary: Checkpoint {
            event_seq: seq,
            created_at,
            cut: parsed.cut.clone(),
            cutoff: parsed.cutoff.clone(),
            retained_events: parsed.retained.len() as u64,
            removed: parsed.removed.clone(),
        },
        retained: parsed.retained.into_iter().collect(),
    })))
}
