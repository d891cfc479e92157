//! Reading the event chain as a feed (`airlock events tail`) and the delivery state of event
//! notifications (`airlock events webhook`).
//!
//! Delivery state is operational: it says which events a receiver acknowledged, not what
//! happened, so it lives outside the hash chain (see [`UNCHAINED_TABLES`]). Losing or editing
//! it can only make a deliverer send an event again (receivers drop repeats by event id) or
//! skip ahead; it cannot change the story `verify` checks.

use serde::{Deserialize, Serialize};

use crate::{Event, Ledger, LedgerError};

/// Tables `verify` does not cover, and why each may stay outside the chain:
/// - `ledger_meta`: the path of the config that served the ledger (a convenience for later
///   commands, not evidence);
/// - `event_deliveries`: how far each notification destination has acknowledged the chain.
///
/// Every other table is covered column by column (`ledger_integrity.rs` checks that no table
/// is left out of both lists).
pub const UNCHAINED_TABLES: &[&str] = &["ledger_meta", "event_deliveries"];

/// Prefix of the search index's tables (the FTS5 tables of schema 8, the shadow tables
/// SQLite keeps for them, and `search_marks`, how far each index goes: `search_indexed` in schema 9). They are
/// outside the chain too, for another reason than [`UNCHAINED_TABLES`]: they hold nothing of
/// their own, only an index derived from chained rows and its bookkeeping, and every match
/// they give is confirmed against those rows before it is shown (a row named twice is shown
/// once), so an edited index or mark can hide or slow a search result but never change what
/// one says.
pub const SEARCH_INDEX_TABLE_PREFIX: &str = "search_";

/// Which events to read. Empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    /// Only events after this sequence number.
    pub after_seq: Option<i64>,
    /// Only events created at or after this RFC 3339 time.
    pub since: Option<String>,
    /// Only events created at or before this RFC 3339 time.
    pub until: Option<String>,
    /// Only these kinds.
    pub kinds: Vec<String>,
    pub proposal: Option<String>,
    pub actor: Option<String>,
    /// Only events whose record belongs to this tenant.
    pub tenant: Option<String>,
    /// At most this many events; 0 for no limit.
    pub limit: u32,
    /// The newest `limit` matching events instead of the oldest (still returned oldest first).
    pub newest: bool,
}

/// An event with the tenant and capability of the record it covers (from the proposal, query
/// audit or evidence bundle; none for ledger events such as `ledger_pruned`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScopedEvent {
    #[serde(flatten)]
    pub event: Event,
    pub tenant_id: Option<String>,
    pub capability: Option<String>,
}

/// One notification destination's progress through the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryState {
    /// The destination's name (a config name, or `url:<hash>` for `events webhook URL`).
    pub destination: String,
    /// Where it delivers, for display (never a secret-bearing URL).
    pub target: String,
    /// Every matching event up to this sequence number was acknowledged by the receiver.
    pub cursor_seq: i64,
    /// The event being retried, if the last attempt failed.
    pub pending_seq: Option<i64>,
    /// Failed attempts of `pending_seq` so far.
    pub attempts: u32,
    pub next_attempt_at: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    /// Events acknowledged by the receiver.
    pub delivered: u64,
    pub last_delivered_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// The delivery state of event notifications. Writes here touch only `event_deliveries`.
#[async_trait::async_trait]
pub trait Deliveries: Ledger {
    /// A destination's state, registering it with its cursor at `start_after` when it is new
    /// (an existing destination keeps its cursor).
    async fn register_destination(
        &self,
        destination: &str,
        target: &str,
        start_after: i64,
    ) -> Result<DeliveryState, LedgerError>;

    /// Every destination, by name.
    async fn delivery_states(&self) -> Result<Vec<DeliveryState>, LedgerError>;

    /// Records that the receiver acknowledged event `seq`: the cursor moves to it and the
    /// retry state clears.
    async fn record_delivered(&self, destination: &str, seq: i64) -> Result<(), LedgerError>;

    /// Moves the cursor to `seq` when no event up to it is for this destination (filtered out
    /// by kind or tenant), so a restart does not scan them again. Never moves it back.
    async fn advance_cursor(&self, destination: &str, seq: i64) -> Result<(), LedgerError>;

    /// Records a failed attempt at event `seq` and when the next one is due.
    async fn record_failed_attempt(
        &self,
        destination: &str,
        seq: i64,
        attempts: u32,
        error: &str,
        next_attempt_at: &str,
    ) -> Result<(), LedgerError>;
}
