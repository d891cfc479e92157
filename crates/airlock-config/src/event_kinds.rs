//! The ledger's event kinds, as `notifications.webhooks.*.kinds` and `airlock events --kind`
//! accept them (docs/notifications.md lists what each carries).

/// Every kind of event the ledger writes.
pub const EVENT_KINDS: &[&str] = &[
    "proposal_created",
    "evidence_recorded",
    "query_audited",
    "proposal_approved",
    "proposal_rejected",
    "writeback_job_recorded",
    "writeback_applied",
    "writeback_already_applied",
    "writeback_conflict",
    "writeback_failed",
    "writeback_canceled",
    "ledger_pruned",
    "ledger_imported",
];

/// What a reviewer wants to hear about, the default of a webhook: a proposal waiting, a
/// decision, an apply's outcome.
pub const REVIEW_EVENT_KINDS: &[&str] = &[
    "proposal_created",
    "proposal_approved",
    "proposal_rejected",
    "writeback_applied",
    "writeback_already_applied",
    "writeback_conflict",
    "writeback_failed",
    "writeback_canceled",
];

/// The word that selects every kind.
pub const ALL_EVENT_KINDS: &str = "*";
