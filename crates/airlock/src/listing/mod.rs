//! What every list command shares: the filter flags turned into the ledger's
//! [`airlock_ledger::RecordFilter`] (times and durations parsed once, here) and a table that
//! fits the terminal.

pub mod filter;
pub mod table;
