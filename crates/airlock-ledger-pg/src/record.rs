//! The tool-call records: a read's evidence and audit, a proposal call. Each function runs
//! inside the caller's write transaction and pushes the events that cover what it wrote.

use crate::tx::Tx;
use airlock_ledger::rules::{self, PROPOSAL_ROW, ProposalRow, RUNNER_ACTOR};
use airlock_ledger::{
    EvidenceBundle, LedgerError, NewProposal, NewRead, ProposalRecorded, QueryAudit, ReadRecorded,
    StoredProposal,
};
use serde_json::json;

use crate::error::Pg;
use crate::read;
use crate::writer::NewEvent;

/// The proposal (or the open one with the same dedupe key, on any server), then the read's
/// evidence and audit linked to it.
pub(crate) async fn insert_proposal_call(
    tx: &Tx,
    p: &NewProposal,
    events: &mut Vec<NewEvent>,
) -> Result<ProposalRecorded, LedgerError> {
    let (proposal_id, inserted) = match open_proposal(tx, &p.dedupe_key).await? {
        Some(id) => (id, None),
        None => match insert_proposal(tx, p, events).await? {
            Some(stored) => (stored.proposal_id.clone(), Some(stored)),
            // Another server inserted the same open proposal meanwhile: use theirs.
            None => (
                open_proposal(tx, &p.dedupe_key)
                    .await?
                    .ok_or_else(|| LedgerError::Postgres {
                        detail: format!(
                            "an open proposal with dedupe key {} conflicted but cannot be read",
                            p.dedupe_key
                        ),
                    })?,
                None,
            ),
        },
    };
    let mut evidence = p.evidence.clone();
    evidence.proposal_id = Some(proposal_id.clone());
    insert_evidence(tx, &evidence, events).await?;
    let mut audit = p.audit.clone();
    audit.proposal_id = Some(proposal_id.clone());
    audit.evidence_bundle_id = Some(evidence.evidence_bundle_id.clone());
    let audit_id = insert_audit(tx, &mut audit, events).await?;
    let created = inserted.is_some();
    let proposal = match inserted {
        Some(stored) => stored,
        None => read::proposal(tx.client(), &proposal_id).await?,
    };
    Ok(ProposalRecorded {
        proposal,
        created,
        audit_id,
    })
}

/// The open (`pending_review`) proposal with this dedupe key, if any.
async fn open_proposal(tx: &Tx, key: &str) -> Result<Option<String>, LedgerError> {
    let open = read::prepared(
        tx.client(),
        "SELECT proposal_id FROM proposals WHERE dedupe_key = $1 AND state = 'pending_review'",
    )
    .await?;
    Ok(tx.query_opt(&open, &[&key]).await.pg()?.map(|r| r.get(0)))
}

/// Inserts the proposal and its event, or returns `None` when an open proposal with the same
/// dedupe key exists (the partial unique index decides, across servers).
async fn insert_proposal(
    tx: &Tx,
    p: &NewProposal,
    events: &mut Vec<NewEvent>,
) -> Result<Option<StoredProposal>, LedgerError> {
    let cs = &p.change_set;
    let stored = StoredProposal::pending(cs);
    let statement = tx
        .prepare_cached(
            "INSERT INTO proposals (proposal_id, proposal_version, proposal_hash, action, state,
                tenant_id, principal, business_object, object_id, source_kind, source_id,
                source_schema, source_table, source_database_mutated, dedupe_key,
                change_set_json, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, false, $14, $15,
                $16, $16)
             ON CONFLICT (dedupe_key) WHERE state = 'pending_review' DO NOTHING",
        )
        .await
        .pg()?;
    let n = tx
        .execute(
            &statement,
            &[
                &stored.proposal_id,
                &i64::from(stored.proposal_version),
                &stored.proposal_hash,
                &stored.action,
                &stored.state.as_str(),
                &stored.tenant_id,
                &stored.principal,
                &stored.business_object,
                &stored.object_id,
                &stored.source_kind,
                &stored.source_id,
                &stored.source_schema,
                &stored.source_table,
                &p.dedupe_key,
                &serde_json::to_string(cs)?,
                &stored.created_at,
            ],
        )
        .await
        .pg()?;
    if n == 0 {
        return Ok(None);
    }
    events.push(NewEvent {
        kind: "proposal_created".into(),
        proposal_id: Some(stored.proposal_id.clone()),
        subject_kind: "proposal",
        subject_id: stored.proposal_id.clone(),
        actor: stored.principal.clone(),
        payload: json!({
            "proposal_hash": stored.proposal_hash,
            "proposal_version": stored.proposal_version,
            "state": stored.state,
            "source_database_mutated": false,
            "approval_policy": p.approval_policy,
            PROPOSAL_ROW: ProposalRow::of(&stored),
        }),
        record_hash: rules::proposal_hash(&stored, &p.dedupe_key),
        created_at: stored.created_at.clone(),
    });
    Ok(Some(stored))
}

async fn insert_evidence(
    tx: &Tx,
    ev: &EvidenceBundle,
    events: &mut Vec<NewEvent>,
) -> Result<(), LedgerError> {
    let statement = tx
        .prepare_cached(
            "INSERT INTO evidence_bundles (evidence_bundle_id, proposal_id, tenant_id, principal,
                capability, source_id, source_table, business_object, object_id,
                query_fingerprint, payload_json, items_json, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .await
        .pg()?;
    tx.execute(
        &statement,
        &[
            &ev.evidence_bundle_id,
            &ev.proposal_id,
            &ev.tenant_id,
            &ev.principal,
            &ev.capability,
            &ev.source_id,
            &ev.source_table,
            &ev.business_object,
            &ev.object_id,
            &ev.query_fingerprint,
            &serde_json::to_string(&ev.payload)?,
            &serde_json::to_string(&ev.items)?,
            &ev.created_at,
        ],
    )
    .await
    .pg()?;
    events.push(NewEvent {
        kind: "evidence_recorded".into(),
        proposal_id: ev.proposal_id.clone(),
        subject_kind: "evidence",
        subject_id: ev.evidence_bundle_id.clone(),
        actor: RUNNER_ACTOR.into(),
        payload: json!({ "evidence_bundle_id": ev.evidence_bundle_id, "item_count": ev.items.len() }),
        record_hash: rules::evidence_hash(ev),
        created_at: ev.created_at.clone(),
    });
    Ok(())
}

async fn insert_audit(
    tx: &Tx,
    a: &mut QueryAudit,
    events: &mut Vec<NewEvent>,
) -> Result<i64, LedgerError> {
    let statement = tx
        .prepare_cached(
            "INSERT INTO query_audit (proposal_id, evidence_bundle_id, tenant_id, principal,
                capability, business_object, object_id, source_id, query_fingerprint, table_name,
                row_count, duration_us, outcome, payload_json, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
             RETURNING audit_id",
        )
        .await
        .pg()?;
    let row = tx
        .query_one(
            &statement,
            &[
                &a.proposal_id,
                &a.evidence_bundle_id,
                &a.tenant_id,
                &a.principal,
                &a.capability,
                &a.business_object,
                &a.object_id,
                &a.source_id,
                &a.query_fingerprint,
                &a.table_name,
                &(a.row_count as i64),
                &(a.duration_us as i64),
                &a.outcome,
                &serde_json::to_string(&a.payload)?,
                &a.created_at,
            ],
        )
        .await
        .pg()?;
    a.audit_id = row.get(0);
    events.push(NewEvent {
        kind: "query_audited".into(),
        proposal_id: a.proposal_id.clone(),
        subject_kind: "query_audit",
        subject_id: a.audit_id.to_string(),
        actor: a.principal.clone(),
        payload: json!({ "audit_id": a.audit_id, "outcome": a.outcome, "row_count": a.row_count }),
        record_hash: rules::audit_hash(a),
        created_at: a.created_at.clone(),
    });
    Ok(a.audit_id)
}

/// Many reads in three statements (audit ids, evidence rows, audit rows), whatever their
/// number: the group commit's common case, where one statement per row would make the batch's
/// round trips grow with its size.
pub(crate) async fn insert_reads(
    tx: &Tx,
    reads: &[&NewRead],
    events: &mut Vec<NewEvent>,
) -> Result<Vec<ReadRecorded>, LedgerError> {
    if reads.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = {
        let numbers = read::prepared(
            tx.client(),
            "SELECT nextval(pg_get_serial_sequence('query_audit', 'audit_id'))
             FROM generate_series(1, $1::int)",
        )
        .await?;
        let rows = tx.query(&numbers, &[&(reads.len() as i32)]).await.pg()?;
        let mut ids: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
        ids.sort_unstable();
        ids
    };
    let bundles: Vec<&EvidenceBundle> = reads.iter().filter_map(|r| r.evidence.as_ref()).collect();
    if !bundles.is_empty() {
        let text =
            |f: fn(&EvidenceBundle) -> &str| bundles.iter().map(|e| f(e)).collect::<Vec<&str>>();
        let e = (
            text(|e| &e.evidence_bundle_id),
            bundles
                .iter()
                .map(|e| e.proposal_id.as_deref())
                .collect::<Vec<Option<&str>>>(),
            text(|e| &e.tenant_id),
            text(|e| &e.principal),
            text(|e| &e.capability),
            text(|e| &e.source_id),
            text(|e| &e.source_table),
            text(|e| &e.business_object),
            text(|e| &e.object_id),
            text(|e| &e.query_fingerprint),
            bundles
                .iter()
                .map(|e| serde_json::to_string(&e.payload))
                .collect::<Result<Vec<String>, _>>()?,
            bundles
                .iter()
                .map(|e| serde_json::to_string(&e.items))
                .collect::<Result<Vec<String>, _>>()?,
            text(|e| &e.created_at),
        );
        let statement = tx
            .prepare_cached(
                "INSERT INTO evidence_bundles (evidence_bundle_id, proposal_id, tenant_id,
                    principal, capability, source_id, source_table, business_object, object_id,
                    query_fingerprint, payload_json, items_json, created_at)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                    $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
                    $12::text[], $13::text[])",
            )
            .await
            .pg()?;
        tx.execute(
            &statement,
            &[
                &e.0, &e.1, &e.2, &e.3, &e.4, &e.5, &e.6, &e.7, &e.8, &e.9, &e.10, &e.11, &e.12,
            ],
        )
        .await
        .pg()?;
        for ev in &bundles {
            events.push(NewEvent {
                kind: "evidence_recorded".into(),
                proposal_id: ev.proposal_id.clone(),
                subject_kind: "evidence",
                subject_id: ev.evidence_bundle_id.clone(),
                actor: RUNNER_ACTOR.into(),
                payload: json!({ "evidence_bundle_id": ev.evidence_bundle_id, "item_count": ev.items.len() }),
                record_hash: rules::evidence_hash(ev),
                created_at: ev.created_at.clone(),
            });
        }
    }
    let audits: Vec<QueryAudit> = reads
        .iter()
        .zip(&ids)
        .map(|(r, id)| QueryAudit {
            audit_id: *id,
            ..r.audit.clone()
        })
        .collect();
    let text = |f: fn(&QueryAudit) -> &str| audits.iter().map(f).collect::<Vec<&str>>();
    let opt =
        |f: fn(&QueryAudit) -> Option<&str>| audits.iter().map(f).collect::<Vec<Option<&str>>>();
    let a = (
        audits.iter().map(|q| q.audit_id).collect::<Vec<i64>>(),
        opt(|q| q.proposal_id.as_deref()),
        opt(|q| q.evidence_bundle_id.as_deref()),
        text(|q| &q.tenant_id),
        text(|q| &q.principal),
        text(|q| &q.capability),
        text(|q| &q.business_object),
        text(|q| &q.object_id),
        text(|q| &q.source_id),
        text(|q| &q.query_fingerprint),
        text(|q| &q.table_name),
        audits
            .iter()
            .map(|q| q.row_count as i64)
            .collect::<Vec<i64>>(),
        audits
            .iter()
            .map(|q| q.duration_us as i64)
            .collect::<Vec<i64>>(),
        text(|q| &q.outcome),
        audits
            .iter()
            .map(|q| serde_json::to_string(&q.payload))
            .collect::<Result<Vec<String>, _>>()?,
        text(|q| &q.created_at),
    );
    let statement = tx
        .prepare_cached(
            "INSERT INTO query_audit (audit_id, proposal_id, evidence_bundle_id, tenant_id,
                principal, capability, business_object, object_id, source_id, query_fingerprint,
                table_name, row_count, duration_us, outcome, payload_json, created_at)
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[],
                $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
                $12::bigint[], $13::bigint[], $14::text[], $15::text[], $16::text[])",
        )
        .await
        .pg()?;
    tx.execute(
        &statement,
        &[
            &a.0, &a.1, &a.2, &a.3, &a.4, &a.5, &a.6, &a.7, &a.8, &a.9, &a.10, &a.11, &a.12, &a.13,
            &a.14, &a.15,
        ],
    )
    .await
    .pg()?;
    for q in &audits {
        events.push(NewEvent {
            kind: "query_audited".into(),
            proposal_id: q.proposal_id.clone(),
            subject_kind: "query_audit",
            subject_id: q.audit_id.to_string(),
            actor: q.principal.clone(),
            payload: json!({ "audit_id": q.audit_id, "outcome": q.outcome, "row_count": q.row_count }),
            record_hash: rules::audit_hash(q),
            created_at: q.created_at.clone(),
        });
    }
    Ok(ids
        .into_iter()
        .map(|audit_id| ReadRecorded { audit_id })
        .collect())
}
