//! Protocol objects that cross a process boundary (ledger JSON, MCP results, handler bodies),
//! plus the one implementation of canonical JSON and hashing.
//!
//! Wire names (`synapsor.change-set.v1`, …) are kept from Synapsor Runner so that tools written
//! for it keep working.

pub mod canonical;
pub mod change_set;
pub mod handler;
pub mod ids;
pub mod state;
pub mod writeback;

pub use canonical::{canonical_json, hash_json, sha256_hex};
pub use change_set::*;
pub use state::{ProposalState, ReceiptStatus, UnknownState};
pub use writeback::*;

/// Current UTC time as RFC 3339 with milliseconds and `Z` (`2026-06-20T14:31:08.123Z`).
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
