//! The pure rules every ledger engine shares, so a second engine (the Postgres ledger in
//! `airlock-ledger-pg`) hashes, chains and moves proposals exactly as [`crate::SqliteLedger`]
//! does, without copying them:
//!
//! - record hashes ([`evidence_hash`], [`audit_hash`], [`proposal_hash`], [`record_hash`]) and
//!   the event hash over [`EventBody`];
//! - [`ProposalRow`]: a proposal's mutable columns as each event leaves them (carried in the
//!   event payload under [`PROPOSAL_ROW`]), which `verify` replays;
//! - the lifecycle's allowed transitions ([`APPROVABLE`], [`REJECTABLE`], [`APPLICABLE`]) and
//!   the state a receipt leads to ([`state_of`]; with the stored receipt and its event:
//!   [`receipt_outcome`]), the rule of a decision ([`decision_rule`]).
//!
//! Nothing here touches storage.

pub use crate::chain::{
    EventBody, PROPOSAL_ROW, ProposalRow, audit_hash, event_hash, evidence_hash, proposal_hash,
    proposal_value, record_hash,
};
pub use crate::sqlite::lifecycle::{
    APPLICABLE, APPROVABLE, REJECTABLE, ReceiptOutcome, check_state, decision_rule,
    receipt_outcome, state_of,
};
pub use crate::sqlite::write::RUNNER_ACTOR;
