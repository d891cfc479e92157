//! Records shaped like the runtime's, and ledgers on fresh Postgres databases. Shared by the
//! tests and the bench.
#![allow(dead_code)]

use std::time::Duration;

use airlock_ledger::*;
use airlock_ledger_pg::{PgLedgerOptions, PostgresLedger};
use airlock_protocol::{ChangeSet, ExecutionReceipt, WritebackJob, ids};
use airlock_review_key::ReviewKey;
use serde_json::json;

pub fn evidence(tenant: &str, object: &str) -> EvidenceBundle {
    EvidenceBundle {
        evidence_bundle_id: ids::new_id(ids::EVIDENCE),
        proposal_id: None,
        tenant_id: tenant.into(),
        principal: "agent_1".into(),
        capability: "billing.inspect_invoice".into(),
        source_id: "app".into(),
        source_table: "public.invoices".into(),
        business_object: "invoices".into(),
        object_id: object.into(),
        query_fingerprint: "sha256:abc".into(),
        payload: json!({"capability": "billing.inspect_invoice"}),
        items: vec![
            json!({"kind": "external_row", "visible_row": {"id": object, "late_fee_cents": 500}}),
        ],
        created_at: airlock_protocol::now_rfc3339(),
    }
}

pub fn audit(tenant: &str, object: &str, ev: Option<&EvidenceBundle>) -> QueryAudit {
    QueryAudit {
        audit_id: 0,
        proposal_id: None,
        evidence_bundle_id: ev.map(|e| e.evidence_bundle_id.clone()),
        tenant_id: tenant.into(),
        principal: "agent_1".into(),
        capability: "billing.inspect_invoice".into(),
        business_object: "invoices".into(),
        object_id: object.into(),
        source_id: "app".into(),
        query_fingerprint: "sha256:abc".into(),
        table_name: "public.invoices".into(),
        row_count: ev.map_or(0, |_| 1),
        duration_us: 120,
        outcome: if ev.is_some() { "ok" } else { "not_found" }.into(),
        payload: json!({"statement_template": "SELECT ...", "parameters_redacted": true}),
        created_at: airlock_protocol::now_rfc3339(),
    }
}

pub fn read(object: &str) -> NewRead {
    let ev = evidence("acme", object);
    let a = audit("acme", object, Some(&ev));
    NewRead {
        evidence: Some(ev),
        audit: a,
    }
}

pub fn change_set(object: &str, fee: i64) -> ChangeSet {
    let mut v = airlock_testkit::read_json(
        &airlock_testkit::repo_root().join("examples/protocol"),
        "change-set.fee-reversal.v1.json",
    );
    v["scope"]["tenant_id"] = json!("acme");
    v["guards"]["tenant"]["value"] = json!("acme");
    v["scope"]["object_id"] = json!(object);
    v["patch"]["late_fee_cents"] = json!(fee);
    let mut cs: ChangeSet = serde_json::from_value(v).unwrap();
    cs.proposal_id = ids::new_id(ids::PROPOSAL);
    cs.created_at = airlock_protocol::now_rfc3339();
    cs.seal();
    cs
}

pub fn new_proposal(object: &str, fee: i64) -> NewProposal {
    let ev = evidence("acme", object);
    let a = audit("acme", object, Some(&ev));
    NewProposal {
        change_set: change_set(object, fee),
        dedupe_key: format!("dk:{object}:{fee}"),
        evidence: ev,
        audit: a,
        approval_policy: Default::default(),
    }
}

/// A new proposal on `object`, approved.
pub async fn approved(ledger: &PostgresLedger, key: &ReviewKey, object: &str) -> StoredProposal {
    let p = ledger
        .record_proposal(new_proposal(object, 0))
        .await
        .unwrap()
        .proposal;
    ledger.approve(key, decision(&p)).await.unwrap();
    p
}

pub fn decision(p: &StoredProposal) -> Decision {
    Decision {
        proposal_id: p.proposal_id.clone(),
        actor: actor(),
        role: None,
        role_verified: None,
        reason: Some("looks right".into()),
        proposal_hash: p.proposal_hash.clone(),
    }
}

pub fn actor() -> Actor {
    Actor {
        name: "dana".into(),
        source: "flag".into(),
    }
}

/// The apply job of a proposal, its lease ending `lease_secs` from now (negative: already
/// expired).
pub fn job(p: &StoredProposal, lease_secs: i64) -> WritebackJob {
    let v = airlock_testkit::read_json(
        &airlock_testkit::repo_root().join("examples/protocol"),
        "writeback-job.fee-reversal.v1.json",
    );
    let mut job: WritebackJob = serde_json::from_value(v).unwrap();
    job.writeback_job_id = format!("wbj_{}", p.proposal_id);
    job.proposal_id = p.proposal_id.clone();
    job.proposal_hash = p.proposal_hash.clone();
    job.idempotency_key = format!("{}:{}", p.proposal_id, p.object_id);
    job.lease.expires_at = (chrono::Utc::now() + chrono::Duration::seconds(lease_secs))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    job
}

/// A sealed receipt of `status` for a job.
pub fn receipt(job: &WritebackJob, status: &str, runner: &str) -> ExecutionReceipt {
    let v = airlock_testkit::read_json(
        &airlock_testkit::repo_root().join("examples/protocol"),
        "execution-receipt.applied.v1.json",
    );
    let mut r: ExecutionReceipt = serde_json::from_value(v).unwrap();
    r.writeback_job_id = job.writeback_job_id.clone();
    r.proposal_id = job.proposal_id.clone();
    r.idempotency_key = job.idempotency_key.clone();
    r.runner_id = runner.into();
    r.status = status.parse().unwrap();
    r.source_database_mutated = status == "applied";
    r.rows_affected = u64::from(status == "applied");
    r.executed_at = airlock_protocol::now_rfc3339();
    r.seal();
    r
}

pub fn options(writer: &str) -> PgLedgerOptions {
    PgLedgerOptions {
        writer_id: Some(writer.into()),
        anchor_every: 8,
        feed_settle: Duration::ZERO,
        ..PgLedgerOptions::default()
    }
}

pub async fn connect(db: &airlock_testkit::FreshDb, writer: &str) -> PostgresLedger {
    PostgresLedger::connect(&db.url, options(writer))
        .await
        .unwrap()
}
