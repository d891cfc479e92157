//! Hashes of records and events, and what `verify` reports. Pure.

use airlock_protocol::{hash_canonical, hash_json, write_canonical, write_canonical_str};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{EvidenceBundle, QueryAudit, StoredProposal};

/// `prev_hash` of the first event.
pub const GENESIS_HASH: &str =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";

pub fn evidence_hash(e: &EvidenceBundle) -> String {
    hash_json(&serde_json::to_value(e).expect("evidence serializes"))
}

pub fn audit_hash(a: &QueryAudit) -> String {
    hash_json(&serde_json::to_value(a).expect("audit serializes"))
}

/// Covers the immutable part of a proposal. The mutable columns ([`ProposalRow`]) are covered
/// by the events that change them.
pub fn proposal_hash(p: &StoredProposal, dedupe_key: &str) -> String {
    hash_json(&proposal_value(p, dedupe_key))
}

/// The JSON [`proposal_hash`] hashes (what a ledger export carries for a proposal).
pub fn proposal_value(p: &StoredProposal, dedupe_key: &str) -> Value {
    let mut v = serde_json::to_value(p).expect("proposal serializes");
    if let Value::Object(m) = &mut v {
        m.remove("state");
        m.remove("updated_at");
        m.remove("source_database_mutated");
        m.insert("dedupe_key".into(), Value::String(dedupe_key.into()));
    }
    v
}

/// A proposal's mutable columns, as an event leaves them. Every event that changes them carries
/// the new values in its payload under [`PROPOSAL_ROW`], so `verify` can rebuild each
/// proposal's current row from the chain and compare it with the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposalRow {
    pub state: String,
    pub updated_at: String,
    pub source_database_mutated: bool,
}

/// Payload key of the [`ProposalRow`] an event leaves.
pub const PROPOSAL_ROW: &str = "proposal_row";

impl ProposalRow {
    /// The row `p` has after moving to `state` at `at`; `source_database_mutated` never goes
    /// back to false.
    pub fn moved(
        p: &StoredProposal,
        state: airlock_protocol::ProposalState,
        mutated: bool,
        at: &str,
    ) -> Self {
        ProposalRow {
            state: state.as_str().to_owned(),
            updated_at: at.to_owned(),
            source_database_mutated: p.source_database_mutated || mutated,
        }
    }

    /// The row an event leaves behind, given the row before it (`None` for the first).
    ///
    /// Events written before `proposal_row` existed carry only `state`; for them the row
    /// follows from how those versions wrote it, in the same statement as the event:
    /// `updated_at` was the event's `created_at`, and `source_database_mutated` only ever
    /// became true through a receipt event whose payload says so. Returns `None` for an
    /// event that does not change the proposal.
    pub fn after(event: &crate::Event, before: Option<&ProposalRow>) -> Option<ProposalRow> {
        if let Some(row) = event.payload.get(PROPOSAL_ROW) {
            return serde_json::from_value(row.clone()).ok();
        }
        let state = event.payload.get("state")?.as_str()?;
        let mutated_now = event
            .payload
            .get("source_database_mutated")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Some(ProposalRow {
            state: state.to_owned(),
            updated_at: event.created_at.clone(),
            source_database_mutated: before.is_some_and(|b| b.source_database_mutated)
                || mutated_now,
        })
    }

    pub fn of(p: &StoredProposal) -> ProposalRow {
        ProposalRow {
            state: p.state.as_str().to_owned(),
            updated_at: p.updated_at.clone(),
            source_database_mutated: p.source_database_mutated,
        }
    }
}

/// Fields of an event that its hash covers (everything but `hash`).
pub struct EventBody<'a> {
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

impl<'a> EventBody<'a> {
    /// The hashed fields of a stored event.
    pub fn of(ev: &'a crate::Event) -> EventBody<'a> {
        EventBody {
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
        }
    }
}

/// `sha256:` over the canonical JSON object of the event's fields. Written key by key in
/// sorted order (what `canonical_json` of the object gives) rather than built as a `Value`
/// first: `verify` hashes every event, and cloning each payload into a new object was a good
/// part of its time.
pub fn event_hash(b: &EventBody<'_>) -> String {
    let mut out = String::with_capacity(512);
    let text = |out: &mut String, key: &str, v: &str| {
        out.push_str(key);
        write_canonical_str(v, out);
    };
    text(&mut out, "{\"actor\":", b.actor);
    text(&mut out, ",\"created_at\":", b.created_at);
    text(&mut out, ",\"kind\":", b.kind);
    out.push_str(",\"payload\":");
    write_canonical(b.payload, &mut out);
    text(&mut out, ",\"prev_hash\":", b.prev_hash);
    match b.proposal_id {
        Some(p) => text(&mut out, ",\"proposal_id\":", p),
        None => out.push_str(",\"proposal_id\":null"),
    }
    text(&mut out, ",\"record_hash\":", b.record_hash);
    out.push_str(",\"seq\":");
    out.push_str(&b.seq.to_string());
    text(&mut out, ",\"subject_id\":", b.subject_id);
    text(&mut out, ",\"subject_kind\":", b.subject_kind);
    out.push('}');
    hash_canonical(&out)
}

/// Outcome of `airlock ledger verify`.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub ok: bool,
    pub events_checked: u64,
    pub records_checked: u64,
    /// The last event of the chain (record it elsewhere to anchor the ledger by hand).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head: Option<ChainHead>,
    /// Checkpoints of the anchor checked against the chain (0 without an anchor).
    pub anchors_checked: u64,
    /// The highest anchored sequence number: no event up to it was removed or rewritten.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anchored_seq: Option<i64>,
    /// The checkpoint the walk started from, when the ledger was pruned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<crate::Checkpoint>,
    /// Events at or before the checkpoint's cut that a prune has not removed yet (an
    /// interrupted or running prune; the next prune removes them).
    pub awaiting_prune: u64,
    /// The first problem found, in chain order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_break: Option<VerifyBreak>,
}

impl VerifyReport {
    /// A report with nothing checked yet and nothing wrong.
    pub fn passing() -> VerifyReport {
        VerifyReport {
            ok: true,
            events_checked: 0,
            records_checked: 0,
            head: None,
            anchors_checked: 0,
            anchored_seq: None,
            checkpoint: None,
            awaiting_prune: 0,
            first_break: None,
        }
    }
}

/// An event's position and hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: String,
}

/// Where the chain or a record stopped matching.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyBreak {
    /// Sequence number of the event at or after the damage.
    pub seq: i64,
    /// Stable reason code: `EVENT_HASH_MISMATCH`, `PREV_HASH_MISMATCH`, `SEQUENCE_GAP`,
    /// `RECORD_MISSING`, `RECORD_HASH_MISMATCH`, `PROPOSAL_HASH_INVALID`, `STATE_MISMATCH`
    /// (a proposal's state, `updated_at` or `source_database_mutated` differs from what its
    /// events say), `UNCHAINED_RECORD`, `ANCHOR_MISMATCH` (the event at an anchored sequence
    /// number has another hash), `ANCHOR_TRUNCATED` (the chain ends before an anchored
    /// event), `CHECKPOINT_INVALID` (the latest `ledger_pruned` event does not parse),
    /// `CHECKPOINT_MISMATCH` (an event the checkpoint kept is gone or has another hash).
    /// The Postgres ledger adds `WRITER_UNKNOWN` (events of an unregistered writer, or a chain
    /// that does not start with its `writer_joined` event), `SEQUENCE_ORDER` (a writer's
    /// sequence numbers do not increase), `ANCHOR_INVALID` (an anchor event without heads) and
    /// `WRITER_UNWITNESSED` (an anchor written after a writer joined does not name it).
    pub code: &'static str,
    pub detail: String,
}

/// Hash of any other record (approval, job, receipt): its whole JSON form.
pub fn record_hash<T: Serialize>(record: &T) -> String {
    hash_json(&serde_json::to_value(record).expect("record serializes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The hash every ledger already holds: `hash_json` of the event's fields as one object.
    fn as_object(b: &EventBody<'_>) -> String {
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

    #[test]
    fn an_event_hash_written_key_by_key_is_the_hash_of_its_object() {
        let payloads = [
            json!({"z": 1, "a": {"y": [1, 2.5, null], "b": "q\"uote"}, "m": true}),
            json!(null),
            json!("tab\there é 😀"),
        ];
        for (i, payload) in payloads.iter().enumerate() {
            for proposal_id in [None, Some("wrp_0001")] {
                let b = EventBody {
                    seq: -7 + i as i64 * 1_000_000_007,
                    kind: "evidence_recorded",
                    proposal_id,
                    subject_kind: "evi\\dence",
                    subject_id: "ev_\u{1}1",
                    actor: "dana \"d\"",
                    payload,
                    record_hash: "sha256:ab",
                    prev_hash: GENESIS_HASH,
                    created_at: "2026-12-06T10:00:00.000Z",
                };
                assert_eq!(event_hash(&b), as_object(&b));
            }
        }
    }
}
