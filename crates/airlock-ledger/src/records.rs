//! Record types the ledger stores and returns. Their JSON form is what `--json` prints.

use airlock_protocol::{ChangeSet, ProposalState, ReceiptStatus};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What one read returned, as shown to the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceBundle {
    pub evidence_bundle_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal_id: Option<String>,
    pub tenant_id: String,
    pub principal: String,
    pub capability: String,
    pub source_id: String,
    /// `schema.table`.
    pub source_table: String,
    pub business_object: String,
    pub object_id: String,
    pub query_fingerprint: String,
    pub payload: Value,
    pub items: Vec<Value>,
    pub created_at: String,
}

/// One query's audit record. Parameter values are never stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryAudit {
    /// Assigned by the ledger; 0 before it is recorded.
    pub audit_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_bundle_id: Option<String>,
    pub tenant_id: String,
    pub principal: String,
    pub capability: String,
    pub business_object: String,
    /// The object id the read asked for (the lookup value), as text.
    pub object_id: String,
    pub source_id: String,
    pub query_fingerprint: String,
    /// `schema.table`.
    pub table_name: String,
    pub row_count: u64,
    /// Wall time of the database round trip, in microseconds.
    pub duration_us: u64,
    /// `ok`, `not_found`, `truncated`, or `error:<kind>`.
    pub outcome: String,
    pub payload: Value,
    pub created_at: String,
}

/// A read to record.
#[derive(Debug, Clone)]
pub struct NewRead {
    /// Present when a row was returned.
    pub evidence: Option<EvidenceBundle>,
    pub audit: QueryAudit,
}

/// Result of [`crate::Ledger::record_read`].
#[derive(Debug, Clone, Copy)]
pub struct ReadRecorded {
    pub audit_id: i64,
}

/// A proposal to record, with the read it came from.
#[derive(Debug, Clone)]
pub struct NewProposal {
    pub change_set: ChangeSet,
    /// Identifies "the same change": capability, tenant, object, row as read, and patch.
    pub dedupe_key: String,
    pub evidence: EvidenceBundle,
    pub audit: QueryAudit,
    /// What approval will require, fixed when the proposal is made.
    pub approval_policy: ApprovalPolicy,
}

/// What approving a proposal requires, as decided by the config that created it. Recorded in
/// the `proposal_created` event (so the hash chain covers it); a later config can make approval
/// stricter, never weaker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalPolicy {
    /// The capability's `required_role` was checked against declared `operators`.
    pub roles_enforced: bool,
    /// The person the proposal was made for may approve it.
    pub self_approval_allowed: bool,
}

impl ApprovalPolicy {
    /// The policy recorded in a proposal's events; `None` for proposals made before Airlock
    /// recorded one.
    pub fn recorded(events: &[Event]) -> Option<ApprovalPolicy> {
        events
            .iter()
            .find(|e| e.kind == "proposal_created")
            .and_then(|e| e.payload.get("approval_policy"))
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    }
}

/// Result of [`crate::Ledger::record_proposal`].
#[derive(Debug, Clone)]
pub struct ProposalRecorded {
    pub proposal: StoredProposal,
    /// False when an identical open proposal already existed and was returned instead.
    pub created: bool,
    pub audit_id: i64,
}

/// A proposal as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredProposal {
    pub proposal_id: String,
    pub proposal_version: u32,
    pub proposal_hash: String,
    pub action: String,
    pub state: ProposalState,
    pub tenant_id: String,
    pub principal: String,
    pub business_object: String,
    pub object_id: String,
    pub source_kind: String,
    pub source_id: String,
    pub source_schema: String,
    pub source_table: String,
    pub source_database_mutated: bool,
    pub change_set: ChangeSet,
    pub created_at: String,
    pub updated_at: String,
}

impl StoredProposal {
    /// A new proposal as every engine first stores it: `pending_review`, nothing mutated, its
    /// columns taken from the change set.
    pub fn pending(cs: &ChangeSet) -> Self {
        StoredProposal {
            proposal_id: cs.proposal_id.clone(),
            proposal_version: cs.proposal_version,
            proposal_hash: cs.integrity.proposal_hash.clone(),
            action: cs.action.clone(),
            state: ProposalState::PendingReview,
            tenant_id: cs.scope.tenant_id.clone(),
            principal: cs.principal.id.clone(),
            business_object: cs.scope.business_object.clone(),
            object_id: cs.scope.object_id.clone(),
            source_kind: cs.source.kind.clone(),
            source_id: cs.source.source_id.clone(),
            source_schema: cs.source.schema.clone(),
            source_table: cs.source.table.clone(),
            source_database_mutated: false,
            change_set: cs.clone(),
            created_at: cs.created_at.clone(),
            updated_at: cs.created_at.clone(),
        }
    }
}

/// One entry of the hash-chained event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub seq: i64,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal_id: Option<String>,
    /// `evidence`, `query_audit` or `proposal`.
    pub subject_kind: String,
    pub subject_id: String,
    pub actor: String,
    pub payload: Value,
    /// Hash of the record the event describes, as written.
    pub record_hash: String,
    pub prev_hash: String,
    pub hash: String,
    pub created_at: String,
}

/// An evidence bundle with the audit records of the reads that produced it.
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceWithAudit {
    #[serde(flatten)]
    pub bundle: EvidenceBundle,
    pub query_audit: Vec<QueryAudit>,
}

/// Row counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    pub proposals: i64,
    pub evidence_bundles: i64,
    pub query_audit: i64,
    pub events: i64,
    pub approvals: i64,
    pub writeback_jobs: i64,
    pub receipts: i64,
}

/// An approval or rejection by a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRecord {
    pub approval_id: i64,
    pub proposal_id: String,
    pub proposal_version: u32,
    pub proposal_hash: String,
    pub approver: String,
    /// The operator role that satisfied `required_role`, if one was required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// `approved` or `rejected`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub created_at: String,
    /// Where the approver's name came from (see [`Actor::source`]); absent on older records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_source: Option<String>,
    /// Whether a required role was checked against declared operators; absent when no role
    /// was required, or on older records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_verified: Option<bool>,
}

/// Who acts on the command line, and where that name came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
    /// `flag`, `env:AIRLOCK_ACTOR`, `env:USER` or `default`.
    pub source: String,
}

/// A decision to record: who, on which exact proposal content, and why.
#[derive(Debug, Clone)]
pub struct Decision {
    pub proposal_id: String,
    pub actor: Actor,
    pub role: Option<String>,
    /// Whether `role` was checked against declared operators (None: no role was required).
    pub role_verified: Option<bool>,
    pub reason: Option<String>,
    /// The proposal hash the person saw; the decision fails if the proposal differs.
    pub proposal_hash: String,
}

/// One apply attempt's job, as recorded before the executor runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub job_row_id: i64,
    pub writeback_job_id: String,
    pub attempt: u32,
    pub proposal_id: String,
    pub proposal_hash: String,
    pub actor: String,
    pub job: airlock_protocol::WritebackJob,
    pub created_at: String,
    /// Where the actor's name came from (see [`Actor::source`]); absent on older records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_source: Option<String>,
}

/// What an attempt is known to have done to the source database. For a `failed` receipt it
/// decides whether the approval the attempt ran under still stands; every other status
/// settles the attempt whatever this says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptEffect {
    /// The receipt says what happened: applied, a conflict, or a failure about the change
    /// itself (a policy refusal, a value that does not fit). After `conflict` or `failed`, a
    /// new attempt needs a new approval.
    #[default]
    Settled,
    /// Nothing was written (the executor could not connect, the handler refused the
    /// credentials, the transaction rolled back). The approval stands: the proposal returns to
    /// `approved` and the next apply retries.
    NothingWritten,
    /// The request may have been acted on (a timeout after sending, a lost answer, a commit
    /// whose result never arrived). The approval stands: the proposal stays `pending_worker`
    /// and the next apply retries with the same idempotency key, which tells whether the write
    /// already happened.
    OutcomeUnknown,
}

impl AttemptEffect {
    pub fn is_settled(&self) -> bool {
        *self == AttemptEffect::Settled
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AttemptEffect::Settled => "settled",
            AttemptEffect::NothingWritten => "nothing_written",
            AttemptEffect::OutcomeUnknown => "outcome_unknown",
        }
    }
}

/// A receipt as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredReceipt {
    pub receipt_id: i64,
    pub writeback_job_id: String,
    pub proposal_id: String,
    pub status: ReceiptStatus,
    pub idempotency_key: String,
    pub source_database_mutated: bool,
    pub receipt: airlock_protocol::ExecutionReceipt,
    pub created_at: String,
}

/// A receipt just recorded ([`crate::Review::record_receipt`]) and the state it left its
/// proposal in, so the caller need not read the proposal back.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedReceipt {
    pub receipt: StoredReceipt,
    /// The proposal's state after the receipt (an applied proposal stays applied, whatever a
    /// late receipt says).
    pub state: airlock_protocol::ProposalState,
}

/// Everything the ledger knows about one proposal, in order. Built on read; never stored.
#[derive(Debug, Clone, Serialize)]
pub struct Replay {
    pub replay_id: String,
    pub proposal: StoredProposal,
    pub events: Vec<Event>,
    pub approvals: Vec<ApprovalRecord>,
    pub jobs: Vec<JobRecord>,
    pub receipts: Vec<StoredReceipt>,
    pub evidence: Vec<EvidenceWithAudit>,
    pub query_audit: Vec<QueryAudit>,
    pub generated_at: String,
}

/// What a person actually did for one object, recorded beside shadow-mode proposals so
/// `airlock shadow report` can compare them. Chained like every other record (event
/// `human_action_recorded`, subject kind `human_action`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HumanAction {
    /// Assigned by the ledger.
    pub action_id: i64,
    /// The proposal capability the action corresponds to.
    pub capability: String,
    pub tenant_id: String,
    /// The object's id (the capability's lookup value), as text.
    pub object_id: String,
    /// The shadow proposal it answers, when recorded from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal_id: Option<String>,
    pub actor: String,
    /// Column → the value the person set.
    pub patch: serde_json::Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    pub created_at: String,
}

/// A human action to record.
#[derive(Debug, Clone)]
pub struct NewHumanAction {
    pub capability: String,
    pub tenant_id: String,
    pub object_id: String,
    pub proposal_id: Option<String>,
    pub actor: String,
    pub patch: serde_json::Map<String, Value>,
    pub notes: Option<String>,
}

/// Which human actions to read (all when empty), oldest first.
#[derive(Debug, Clone, Default)]
pub struct HumanActionFilter {
    pub capability: Option<String>,
    pub tenant: Option<String>,
}
