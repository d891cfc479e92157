//! Protocol objects that cross a process boundary (ledger JSON, MCP results, handler bodies),
//! plus the one implementation of canonical JSON and hashing.
//!
//! Wire names (`synapsor.change-set.v1`, …) are kept from Synapsor Runner so that tools written
//! for it keep working.

pub mod canonical;
pub mod change_set;
pub mod events;
pub mod handler;
pub mod ids;
#[cfg(feature = "schema")]
pub mod schema;
pub mod state;
pub mod writeback;

pub use canonical::{
    canonical_json, hash_canonical, hash_json, sha256_hex, write_canonical, write_canonical_str,
};
pub use change_set::*;
pub use state::{ProposalState, ReceiptStatus, UnknownState};
pub use writeback::*;

/// Current UTC time as RFC 3339 with milliseconds and `Z` (`2026-06-20T14:31:08.123Z`).
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Test inputs: our own protocol fixtures (`examples/protocol/`) and published schemas
/// (`schemas/`), and the original's when the compatibility tier runs.
#[cfg(test)]
pub(crate) mod fixtures {
    use serde_json::Value;

    /// `examples/protocol/<name>`.
    pub fn own(name: &str) -> Value {
        airlock_testkit::read_json(
            &airlock_testkit::repo_root().join("examples/protocol"),
            name,
        )
    }

    /// `schemas/<name>`.
    pub fn own_schema(name: &str) -> Value {
        airlock_testkit::read_json(&airlock_testkit::repo_root().join("schemas"), name)
    }

    pub use airlock_testkit::schema_errors as errors;
}
