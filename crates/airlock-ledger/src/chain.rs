//! Hashes of records and events, and what `verify` reports. Pure.

use airlock_protocol::hash_json;
use serde::Serialize;
use serde_json::{Value, json};

use crate::{EvidenceBundle, QueryAudit, StoredProposal};

/// `prev_hash` of the first event.
pub const GENESIS_HASH: &str =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";

pub(crate) fn evidence_hash(e: &EvidenceBundle) -> String {
    hash_json(&serde_json::to_value(e).expect("evidence serializes"))
}

pub(crate) fn audit_hash(a: &QueryAudit) -> String {
    hash_json(&serde_json::to_value(a).expect("audit serializes"))
}

/// Covers the immutable part of a proposal; state changes are covered by their own events.
pub(crate) fn proposal_hash(p: &StoredProposal, dedupe_key: &str) -> String {
    let mut v = serde_json::to_value(p).expect("proposal serializes");
    if let Value::Object(m) = &mut v {
        // Mutable columns; each change is covered by its own event (state) or receipt (mutated).
        m.remove("state");
        m.remove("updated_at");
        m.remove("source_database_mutated");
        m.insert("dedupe_key".into(), Value::String(dedupe_key.into()));
    }
    hash_json(&v)
}

/// Fields of an event that its hash covers (everything but `hash`).
pub(crate) struct EventBody<'a> {
    pub seq: i64,
    pub kind: &'a str,
    pub proposal_id: Option<&'a str>,
    pub subject_kind: &'a str,
    pub subject_id: &'a str,
    pub actor: &'a str,
    pub payload: &'a Value,
    pub record_hash: &'a str,
    pub prev_hash: &'a str,
    pub created_at: &'a str,
}

pub(crate) fn event_hash(b: &EventBody<'_>) -> String {
    hash_json(&json!({
        "seq": b.seq,
        "kind": b.kind,
        "proposal_id": b.proposal_id,
        "subject_kind": b.subject_kind,
        "subject_id": b.subject_id,
        "actor": b.actor,
        "payload": b.payload,
        "record_hash": b.record_hash,
        "prev_hash": b.prev_hash,
        "created_at": b.created_at,
    }))
}

/// Outcome of `airlock ledger verify`.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub ok: bool,
    pub events_checked: u64,
    pub records_checked: u64,
    /// The first problem found, in chain order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_break: Option<VerifyBreak>,
}

/// Where the chain or a record stopped matching.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyBreak {
    /// Sequence number of the event at or after the damage.
    pub seq: i64,
    /// Stable reason code: `EVENT_HASH_MISMATCH`, `PREV_HASH_MISMATCH`, `SEQUENCE_GAP`,
    /// `RECORD_MISSING`, `RECORD_HASH_MISMATCH`, `PROPOSAL_HASH_INVALID`, `STATE_MISMATCH`,
    /// `UNCHAINED_RECORD`.
    pub code: &'static str,
    pub detail: String,
}

/// Hash of any other record (approval, job, receipt): its whole JSON form.
pub(crate) fn record_hash<T: Serialize>(record: &T) -> String {
    hash_json(&serde_json::to_value(record).expect("record serializes"))
}
