//! The ledger: every read's evidence and query audit, every proposal and its history, and a
//! hash-chained event log over all of it.
//!
//! [`Ledger`] records tool calls and reads everything back; [`Review`] adds the state changes of
//! a decision or an apply, behind a key only `airlock-writeback` makes. [`SqliteLedger`]
//! implements both (WAL mode, safe for several processes on one file). A shared Postgres
//! ledger can implement the same traits.
//!
//! Invariants:
//! - Every record is written together with its event, in one transaction.
//! - Every event carries the hash of the previous event and of the record it describes, so
//!   [`Ledger::verify`] finds any row edited or removed behind the ledger's back.
//! - The chain head is appended to an anchor file beside the ledger ([`anchor`]), so a
//!   removed tail is found too.
//! - Reading never writes.

pub mod anchor;
pub mod browse;
mod canonical_text;
mod chain;
pub mod columns;
mod error;
pub mod export;
mod feed;
mod records;
pub mod rules;
pub mod shadow;
mod sqlite;
pub mod telemetry;

pub use anchor::{Anchor, anchor_path, read_anchors};
pub use browse::{
    Hit, LedgerTime, MAX_PAGE, MAX_SEARCH_TEXT, Page, RecordFilter, RecordKind, SearchText,
    SearchTextError,
};
pub use chain::{ChainHead, GENESIS_HASH, VerifyBreak, VerifyReport};
pub use error::LedgerError;
pub use export::{ExportHeader, ExportLine, verify_export};
pub use feed::{
    Deliveries, DeliveryState, EventQuery, SEARCH_INDEX_TABLE_PREFIX, ScopedEvent, UNCHAINED_TABLES,
};
pub use records::*;
pub use sqlite::checkpoint::Checkpoint;
pub use sqlite::{
    BackupReport, ImportReport, MigrationProgress, MigrationReport, MigrationStep, PrunePlan,
    PruneProgress, PruneReport, SqliteLedger, StorageStats, VacuumReport, ledger_files,
    set_verify_threads,
};

use airlock_protocol::{ExecutionReceipt, WritebackJob};
use airlock_review_key::ReviewKey;

/// Storage for evidence, audit, proposals and events: recording tool calls and reading
/// everything back. This is all the call runtime and the MCP server hold; nothing here changes
/// a proposal's state.
#[async_trait::async_trait]
pub trait Ledger: Send + Sync {
    /// Records what a read returned (evidence, when a row was seen) and its query audit.
    async fn record_read(&self, read: NewRead) -> Result<ReadRecorded, LedgerError>;

    /// Records a proposal with the evidence and audit of the read it was built from.
    ///
    /// If an open (`pending_review`) proposal with the same dedupe key exists, no new proposal
    /// is created: the read is still recorded, linked to that proposal, and it is returned with
    /// `created: false`.
    async fn record_proposal(&self, proposal: NewProposal)
    -> Result<ProposalRecorded, LedgerError>;

    /// A proposal by id, or the most recent one for `"latest"`.
    async fn proposal(&self, id: &str) -> Result<StoredProposal, LedgerError>;

    /// How many proposals match the filter (its page, cursor and offset aside).
    async fn proposal_count(&self, filter: &RecordFilter) -> Result<u64, LedgerError>;

    /// Proposals whose id, capability, tenant, object id or principal, or a decision's reason
    /// or actor, or an apply's actor, contains `text` (literally; ASCII case ignored), newest
    /// first: one page (`limit`, 1..=1000, after `offset`) and how many match in all.
    async fn search_proposals(
        &self,
        text: &str,
        limit: u32,
        offset: u32,
    ) -> Result<(u64, Vec<StoredProposal>), LedgerError>;

    /// The last event of the chain (none in an empty ledger). Cheap: one indexed row.
    async fn chain_head(&self) -> Result<Option<ChainHead>, LedgerError>;

    /// Events of one proposal, oldest first.
    async fn proposal_events(&self, proposal_id: &str) -> Result<Vec<Event>, LedgerError>;

    /// Events of the whole chain matching `query`, oldest first, each with the tenant and
    /// capability of its record. A search by time does not scan the chain.
    async fn events(&self, query: &EventQuery) -> Result<Vec<ScopedEvent>, LedgerError>;

    /// How far a feed that read everything up to `after` may move its cursor now: the highest
    /// sequence number at or below which every event that will ever exist is already visible
    /// to [`Ledger::events`] with `after_seq`. A follower moves past events that did not match
    /// only up to here, never up to [`Ledger::chain_head`], which may be ahead of an event that
    /// commits late. The default, the chain head, fits a ledger whose writes commit in
    /// sequence order (SQLite: one writer at a time).
    async fn feed_horizon(&self, after: i64) -> Result<i64, LedgerError> {
        let _ = after;
        Ok(self.chain_head().await?.map_or(0, |h| h.seq))
    }

    /// An evidence bundle with its query-audit records.
    async fn evidence(&self, id: &str) -> Result<EvidenceWithAudit, LedgerError>;

    /// Walks the event chain and every record it covers, and checks the chain against the
    /// ledger's own anchor when it has one.
    async fn verify(&self) -> Result<VerifyReport, LedgerError>;

    /// Like [`Ledger::verify`], against these anchored heads instead (an anchor file kept
    /// elsewhere, or none): each must be an event of the chain, with the same hash.
    async fn verify_against(&self, anchors: &[Anchor]) -> Result<VerifyReport, LedgerError>;

    /// Row counts per table.
    async fn stats(&self) -> Result<Stats, LedgerError>;

    /// The receipt that applied the proposal, if it was applied.
    async fn applied_receipt(
        &self,
        proposal_id: &str,
    ) -> Result<Option<StoredReceipt>, LedgerError>;

    /// A proposal (as [`Ledger::proposal`]) and, when it is applied, the receipt that applied it
    /// (as [`Ledger::applied_receipt`]): what an apply reads first. A ledger behind a network
    /// answers both in one round trip; the default reads one after the other.
    async fn proposal_for_apply(
        &self,
        id: &str,
    ) -> Result<(StoredProposal, Option<StoredReceipt>), LedgerError> {
        let proposal = self.proposal(id).await?;
        let applied = if proposal.state == airlock_protocol::ProposalState::Applied {
            self.applied_receipt(&proposal.proposal_id).await?
        } else {
            None
        };
        Ok((proposal, applied))
    }

    /// One receipt.
    async fn receipt(&self, id: i64) -> Result<StoredReceipt, LedgerError>;

    /// Approvals and rejections of one proposal, oldest first.
    async fn approvals(&self, proposal_id: &str) -> Result<Vec<ApprovalRecord>, LedgerError>;

    /// Everything about one proposal (or `latest`), assembled on read. Never writes.
    async fn replay(&self, proposal_id: &str) -> Result<Replay, LedgerError>;

    /// Proposals per state and receipts per status, for metrics. One grouped query per table.
    async fn state_counts(&self) -> Result<telemetry::StateCounts, LedgerError>;

    /// The tool-call write path right now (queue depth, commit latencies), or `None` when this
    /// ledger has not written a tool call in this process. Never touches the database.
    fn write_stats(&self) -> Option<telemetry::WriteStats> {
        None
    }
    /// One page of proposals matching the filter, newest first (see [`browse`]).
    async fn proposal_page(
        &self,
        filter: &RecordFilter,
    ) -> Result<Page<StoredProposal>, LedgerError>;

    /// One page of evidence bundles matching the filter, newest first.
    async fn evidence_page(
        &self,
        filter: &RecordFilter,
    ) -> Result<Page<EvidenceBundle>, LedgerError>;

    /// One page of query-audit records matching the filter, newest first.
    async fn query_audit_page(
        &self,
        filter: &RecordFilter,
    ) -> Result<Page<QueryAudit>, LedgerError>;

    /// One page of receipts matching the filter, newest first.
    async fn receipt_page(&self, filter: &RecordFilter)
    -> Result<Page<StoredReceipt>, LedgerError>;

    /// Proposals, evidence, query audit, receipts and proposal events matching the filter and,
    /// when given, containing `text`; one page, newest first.
    async fn search(
        &self,
        text: Option<&SearchText>,
        filter: &RecordFilter,
    ) -> Result<Page<Hit>, LedgerError>;

    /// One query-audit record.
    async fn query_audit_record(&self, id: i64) -> Result<QueryAudit, LedgerError>;
}

/// The review side: the state changes a person's decision or an apply makes. Each method takes
/// a [`ReviewKey`], which only `airlock-writeback` makes (see the `airlock-review-key` crate), so
/// the rules it checks before calling them (`approval::decide`, `apply::apply`) cannot be
/// skipped. [`SqliteLedger`] implements it; the call runtime never sees it.
#[async_trait::async_trait]
pub trait Review: Ledger {
    /// Records a person's approval of the exact proposal content they saw
    /// (`pending_review`, `conflict` or `failed` → `approved`).
    async fn approve(
        &self,
        key: &ReviewKey,
        decision: Decision,
    ) -> Result<StoredProposal, LedgerError>;

    /// Records a rejection (`pending_review`, `approved`, `conflict` or `failed` → `rejected`).
    async fn reject(
        &self,
        key: &ReviewKey,
        decision: Decision,
    ) -> Result<StoredProposal, LedgerError>;

    /// Records the job of an apply attempt and moves the proposal to `pending_worker`
    /// (from `approved`, or from `pending_worker` when retrying after a crash or after an
    /// attempt whose outcome is unknown).
    async fn begin_apply(
        &self,
        key: &ReviewKey,
        job: &WritebackJob,
        actor: &Actor,
    ) -> Result<JobRecord, LedgerError>;

    /// Records an attempt's receipt and moves the proposal to the matching state: `applied`,
    /// `conflict` or `failed`; for a `failed` receipt whose `effect` is not settled, back to
    /// `approved` (nothing written) or left in `pending_worker` (outcome unknown).
    async fn record_receipt(
        &self,
        key: &ReviewKey,
        receipt: &ExecutionReceipt,
        effect: AttemptEffect,
        actor: &str,
    ) -> Result<RecordedReceipt, LedgerError>;
}
