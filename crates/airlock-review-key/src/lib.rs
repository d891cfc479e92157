//! The key to a ledger's review side.
//!
//! Every method of `airlock_ledger::Review` (approve, reject, begin an apply, record a receipt)
//! takes a [`ReviewKey`]. Holding a ledger is not enough to change a proposal's state: a crate
//! must also be able to name this crate, and only two crates may:
//!
//! - `airlock-ledger`, whose review methods ask for the key (it never makes one);
//! - `airlock-writeback`, which makes keys inside its approval and apply functions and never
//!   hands one out.
//!
//! `crates/airlock-mcp/tests/tidy.rs` (`review_key_is_named_only_by_ledger_and_writeback`)
//! fails when any other crate depends on this one outside its tests. Rust only lets a crate
//! name items of its direct dependencies, and the key has no `Default`, `Clone` or other way to
//! be made or copied, so no other crate can call a review method, whatever ledger it holds.

/// Proof that the caller is the review side. Zero-sized; made only by [`ReviewKey::issue`].
#[derive(Debug)]
pub struct ReviewKey {
    _private: (),
}

impl ReviewKey {
    /// A new key. Call only from `airlock-writeback` (or from tests).
    pub fn issue() -> ReviewKey {
        ReviewKey { _private: () }
    }
}
