//! Write transactions. Each public function is one `BEGIN IMMEDIATE` transaction that writes
//! records and their chained events together.

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};

use crate::chain::{self, EventBody, GENESIS_HASH, PROPOSAL_ROW, ProposalRow};
use crate::columns;
use crate::{
    EvidenceBundle, LedgerError, NewProposal, NewRead, ProposalRecorded, QueryAudit, ReadRecorded,
    StoredProposal,
};

/// The actor recorded for records Airlock writes on its own behalf.
pub const RUNNER_ACTOR: &str = "airlock";

/// Writes a read's evidence and audit. The caller holds the write transaction.
pub(crate) fn insert_read(tx: &Connection, read: &NewRead) -> Result<ReadRecorded, LedgerError> {
    let mut audit = read.audit.clone();
    if let Some(ev) = &read.evidence {
        insert_evidence(tx, ev)?;
    }
    let audit_id = insert_audit(tx, &mut audit)?;
    Ok(ReadRecorded { audit_id })
}

/// Writes a proposal call: the proposal (or finds the open one with the same dedupe key), the
/// read's evidence and audit. The caller holds the write transaction.
pub(crate) fn insert_proposal_call(
    tx: &Connection,
    p: &NewProposal,
) -> Result<ProposalRecorded, LedgerError> {
    // The literal (not a bound `ProposalState::PendingReview`) lets SQLite use the partial
    // index `idx_proposals_open_dedupe`, whose WHERE clause spells the same word.
    let existing: Option<String> = tx
        .prepare_cached(
            "SELECT proposal_id FROM proposals WHERE dedupe_key = ?1 AND state = 'pending_review'",
        )?
        .query_row([&p.dedupe_key], |r| r.get(0))
        .optional()?;
    // A new proposal is returned as written; only a reused one is read back.
    let (proposal_id, inserted) = match existing {
        Some(id) => (id, None),
        None => (
            p.change_set.proposal_id.clone(),
            Some(insert_proposal(tx, p)?),
        ),
    };
    let mut evidence = p.evidence.clone();
    evidence.proposal_id = Some(proposal_id.clone());
    insert_evidence(tx, &evidence)?;
    let mut audit = p.audit.clone();
    audit.proposal_id = Some(proposal_id.clone());
    audit.evidence_bundle_id = Some(evidence.evidence_bundle_id.clone());
    let audit_id = insert_audit(tx, &mut audit)?;
    let created = inserted.is_some();
    let proposal = match inserted {
        Some(stored) => stored,
        None => super::read::proposal(tx, &proposal_id)?,
    };
    Ok(ProposalRecorded {
        proposal,
        created,
        audit_id,
    })
}

/// Inserts the proposal and its event; returns the row as stored.
fn insert_proposal(tx: &Connection, p: &NewProposal) -> Result<StoredProposal, LedgerError> {
    let cs = &p.change_set;
    let stored = StoredProposal::pending(cs);
    tx.prepare_cached(
        "INSERT INTO proposals (proposal_id, proposal_version, proposal_hash, action, state,
            tenant_id, principal, business_object, object_id, source_kind, source_id,
            source_schema, source_table, source_database_mutated, dedupe_key, change_set_json,
            created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 0, ?14, ?15, ?16, ?16)",
    )?
    .execute(params![
        stored.proposal_id,
        stored.proposal_version,
        stored.proposal_hash,
        stored.action,
        stored.state.as_str(),
        stored.tenant_id,
        stored.principal,
        stored.business_object,
        stored.object_id,
        stored.source_kind,
        stored.source_id,
        stored.source_schema,
        stored.source_table,
        p.dedupe_key,
        serde_json::to_string(cs)?,
        stored.created_at,
    ])?;
    append_event(
        tx,
        "proposal_created",
        Some(&stored.proposal_id),
        ("proposal", &stored.proposal_id),
        &stored.principal,
        &json!({
            "proposal_hash": stored.proposal_hash,
            "proposal_version": stored.proposal_version,
            "state": stored.state,
            "source_database_mutated": false,
            "approval_policy": p.approval_policy,
            PROPOSAL_ROW: ProposalRow::of(&stored),
        }),
        &chain::proposal_hash(&stored, &p.dedupe_key),
        &stored.created_at,
    )?;
    Ok(stored)
}

fn insert_evidence(tx: &Connection, ev: &EvidenceBundle) -> Result<(), LedgerError> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "INSERT INTO evidence_bundles ({}) VALUES ({})",
            columns::EVIDENCE.columns,
            placeholders(columns::EVIDENCE.width(), 1)
        )
    });
    let json = columns::EvidenceJson::of(ev)?;
    let cols = columns::evidence_cols(ev, &json);
    tx.prepare_cached(&SQL)?
        .execute(rusqlite::params_from_iter(cols.iter()))?;
    append_event(
        tx,
        "evidence_recorded",
        ev.proposal_id.as_deref(),
        ("evidence", &ev.evidence_bundle_id),
        RUNNER_ACTOR,
        &json!({ "evidence_bundle_id": ev.evidence_bundle_id, "item_count": ev.items.len() }),
        &columns::hash(&columns::EVIDENCE, &cols),
        &ev.created_at,
    )
}

/// `?from, ?from+1, …`: `n` numbered placeholders.
fn placeholders(n: usize, from: usize) -> String {
    (from..from + n)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn insert_audit(tx: &Connection, a: &mut QueryAudit) -> Result<i64, LedgerError> {
    // `audit_id` (the first column) is the row id: NULL lets SQLite assign it.
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "INSERT INTO query_audit ({}) VALUES (NULL, {})",
            columns::AUDIT.columns,
            placeholders(columns::AUDIT.width() - 1, 1)
        )
    });
    let payload = serde_json::to_string(&a.payload)?;
    let cols = columns::audit_cols(a, &payload);
    tx.prepare_cached(&SQL)?
        .execute(rusqlite::params_from_iter(cols[1..].iter()))?;
    a.audit_id = tx.last_insert_rowid();
    let record_hash = columns::hash(&columns::AUDIT, &columns::audit_cols(a, &payload));
    let id = a.audit_id.to_string();
    append_event(
        tx,
        "query_audited",
        a.proposal_id.as_deref(),
        ("query_audit", &id),
        &a.principal,
        &json!({ "audit_id": a.audit_id, "outcome": a.outcome, "row_count": a.row_count }),
        &record_hash,
        &a.created_at,
    )?;
    Ok(a.audit_id)
}

/// Appends one event to the chain. Must run inside a write transaction so the head cannot move.
#[expect(clippy::too_many_arguments, reason = "one row of the events table")]
pub(crate) fn append_event(
    tx: &Connection,
    kind: &str,
    proposal_id: Option<&str>,
    (subject_kind, subject_id): (&str, &str),
    actor: &str,
    payload: &Value,
    record_hash: &str,
    created_at: &str,
) -> Result<(), LedgerError> {
    let (seq, prev_hash) = match super::read::head(tx)? {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS_HASH.to_owned()),
    };
    let body = EventBody {
        seq,
        kind,
        proposal_id,
        subject_kind,
        subject_id,
        actor,
        payload,
        record_hash,
        prev_hash: &prev_hash,
        created_at,
    };
    // New events are column-hashed: the payload as the exact text stored.
    let payload_json = serde_json::to_string(payload)?;
    let hash = columns::hash(&columns::EVENT, &columns::event_cols(&body, &payload_json));
    tx.prepare_cached(
        "INSERT INTO events (seq, kind, proposal_id, subject_kind, subject_id, actor,
            payload_json, record_hash, prev_hash, hash, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        seq,
        kind,
        proposal_id,
        subject_kind,
        subject_id,
        actor,
        payload_json,
        record_hash,
        prev_hash,
        hash,
        created_at,
    ])?;
    Ok(())
}
