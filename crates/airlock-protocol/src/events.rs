//! Ledger events as Airlock hands them out: one line of `airlock events tail --json`
//! ([`EventRecord`]) and the body a webhook receives for one event ([`EventDelivery`]).
//! `docs/notifications.md` is the contract in prose.
//!
//! A delivery is signed exactly like a handler request ([`crate::handler::Signed`]): the
//! `idempotency-key` is the event id, `x-synapsor-proposal-id` the event's proposal (empty for
//! events without one), `x-synapsor-issued-at` the time of this attempt.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `schema_version` of a webhook body.
pub const EVENT_DELIVERY_V1: &str = "airlock.event-delivery.v1";

/// Header names of an event delivery beyond the signed-request set, lowercase as sent.
pub mod headers {
    /// The event id (also the `idempotency-key`): receivers de-duplicate on it.
    pub const EVENT_ID: &str = "x-airlock-event-id";
    /// The event's kind, e.g. `proposal_created`.
    pub const EVENT_KIND: &str = "x-airlock-event-kind";
    /// Which attempt this is, from 1.
    pub const ATTEMPT: &str = "x-airlock-delivery-attempt";
}

/// The stable id of the event at `seq` whose chain hash is `hash`: `evt_<seq>_<16 hex>`.
/// The same event always has the same id; events of two ledgers do not share one.
pub fn event_id(seq: i64, hash: &str) -> String {
    // `sha256:` or the ledger's column hashes, `sha256c:`: the hex after the format's name.
    let hex = hash.split_once(':').map_or(hash, |(_, hex)| hex);
    let short: String = hex.chars().take(16).collect();
    format!("evt_{seq}_{short}")
}

/// One ledger event. Field order is the printed order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    /// See [`event_id`].
    pub event_id: String,
    /// Position in the hash chain, from 1.
    pub seq: i64,
    /// `proposal_created`, `proposal_approved`, `writeback_applied`, `query_audited`, …
    pub kind: String,
    /// RFC 3339, when the record the event covers was made.
    pub created_at: String,
    /// Who acted: the principal, the operator, or `airlock`.
    pub actor: String,
    pub proposal_id: Option<String>,
    /// The tenant of the record (none for ledger events such as `ledger_pruned`).
    pub tenant_id: Option<String>,
    /// The capability of the record.
    pub capability: Option<String>,
    /// `proposal`, `evidence`, `query_audit`, `approval`, `writeback_job`, `receipt`, `ledger`.
    pub subject_kind: String,
    pub subject_id: String,
    /// The event's own fields (see docs/notifications.md); shape varies by kind.
    pub payload: Value,
    /// The event's chain hash (`sha256:…`).
    pub hash: String,
}

/// The JSON body of one webhook delivery (`format: json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventDelivery {
    /// [`EVENT_DELIVERY_V1`].
    pub schema_version: String,
    /// The event id; equals the `idempotency-key` and `x-airlock-event-id` headers.
    pub event_id: String,
    /// When this attempt was signed; equals `x-synapsor-issued-at`.
    pub issued_at: String,
    /// Which attempt this is, from 1.
    pub attempt: u32,
    /// The destination's name.
    pub destination: String,
    /// A one-line summary a person can read.
    pub text: String,
    /// The review UI's page of the event's proposal, when a review URL is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_url: Option<String>,
    pub event: EventRecord,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_short_and_stable() {
        let h = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(event_id(42, h), "evt_42_0123456789abcdef");
        assert_eq!(event_id(42, h), event_id(42, h));
        assert_ne!(event_id(43, h), event_id(42, h));
        // A column hash of the ledger: the same shape.
        let c = "sha256c:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
        assert_eq!(event_id(7, c), "evt_7_fedcba9876543210");
    }
}
