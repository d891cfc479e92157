//! Read queries. Nothing here writes; each runs on any client (a pooled connection or the
//! caller's transaction).

use airlock_ledger::telemetry::StateCounts;
use airlock_ledger::{
    ApprovalRecord, ChainHead, Event, EvidenceBundle, EvidenceWithAudit, JobRecord, LedgerError,
    QueryAudit, Replay, Stats, StoredProposal, StoredReceipt,
};
use airlock_protocol::{ProposalState, ReceiptStatus};
use deadpool_postgres::GenericClient;
use tokio_postgres::types::FromSql;
use tokio_postgres::{Row, Statement};

use crate::error::{Pg, corrupt};

/// `sql` prepared once per pooled connection (the pool's statement cache): a statement on the
/// apply and tool-call paths then costs one round trip (bind and execute) instead of two
/// (parse and describe first). Only for fixed statement texts; a text built from filters
/// would fill the cache.
pub(crate) async fn prepared(c: &impl GenericClient, sql: &str) -> Result<Statement, LedgerError> {
    c.prepare_cached(sql).await.pg()
}

/// A column of `row` that must decode as `T`; anything else means the row was edited.
pub(crate) fn col<'a, T: FromSql<'a>>(row: &'a Row, i: usize) -> Result<T, LedgerError> {
    row.try_get(i).map_err(|e| {
        corrupt(
            format!("column {}", row.columns().get(i).map_or("?", |c| c.name())),
            e,
        )
    })
}

fn json_col(row: &Row, i: usize) -> Result<serde_json::Value, LedgerError> {
    let text: String = col(row, i)?;
    serde_json::from_str(&text).map_err(|e| corrupt("a JSON column", e))
}

fn word<T: std::str::FromStr<Err = airlock_protocol::UnknownState>>(
    row: &Row,
    i: usize,
) -> Result<T, LedgerError> {
    let text: String = col(row, i)?;
    text.parse().map_err(|e| corrupt("a state column", e))
}

pub(crate) const PROPOSAL_COLUMNS: &str = "proposal_id, proposal_version, proposal_hash, action,
    state, tenant_id, principal, business_object, object_id, source_kind, source_id,
    source_schema, source_table, source_database_mutated, change_set_json, created_at, updated_at";

/// How many columns [`PROPOSAL_COLUMNS`] names.
const PROPOSAL_COLUMN_COUNT: usize = 17;

pub(crate) fn proposal_from_row(r: &Row) -> Result<StoredProposal, LedgerError> {
    let change_set_json: String = col(r, 14)?;
    let version: i64 = col(r, 1)?;
    Ok(StoredProposal {
        proposal_id: col(r, 0)?,
        proposal_version: u32::try_from(version).map_err(|e| corrupt("proposal_version", e))?,
        proposal_hash: col(r, 2)?,
        action: col(r, 3)?,
        state: word(r, 4)?,
        tenant_id: col(r, 5)?,
        principal: col(r, 6)?,
        business_object: col(r, 7)?,
        object_id: col(r, 8)?,
        source_kind: col(r, 9)?,
        source_id: col(r, 10)?,
        source_schema: col(r, 11)?,
        source_table: col(r, 12)?,
        source_database_mutated: col(r, 13)?,
        change_set: serde_json::from_str(&change_set_json)
            .map_err(|e| corrupt("change_set_json", e))?,
        created_at: col(r, 15)?,
        updated_at: col(r, 16)?,
    })
}

/// A proposal by id, or the newest for `latest`.
pub(crate) async fn proposal(
    c: &impl GenericClient,
    id: &str,
) -> Result<StoredProposal, LedgerError> {
    proposal_locked(c, id, false).await
}

/// [`proposal`], with `FOR UPDATE` when `lock`: the row stays locked until the transaction
/// ends, so two servers can never both move it out of the same state.
pub(crate) async fn proposal_locked(
    c: &impl GenericClient,
    id: &str,
    lock: bool,
) -> Result<StoredProposal, LedgerError> {
    let tail = if lock { " FOR UPDATE" } else { "" };
    let row = if id == "latest" {
        let sql = format!(
            "SELECT {PROPOSAL_COLUMNS} FROM proposals ORDER BY created_at DESC, row_order DESC LIMIT 1{tail}"
        );
        c.query_opt(&prepared(c, &sql).await?, &[])
            .await
            .pg()?
            .ok_or(LedgerError::NoProposals)?
    } else {
        let sql = format!("SELECT {PROPOSAL_COLUMNS} FROM proposals WHERE proposal_id = $1{tail}");
        let row = c.query_opt(&prepared(c, &sql).await?, &[&id]).await.pg()?;
        found(row, id)?
    };
    proposal_from_row(&row)
}

/// The statement locking a proposal's row by id (`proposal_locked`'s), prepared: for a caller
/// that sends it together with the statement after it.
pub(crate) async fn lock_statement(c: &impl GenericClient) -> Result<Statement, LedgerError> {
    prepared(
        c,
        &format!("SELECT {PROPOSAL_COLUMNS} FROM proposals WHERE proposal_id = $1 FOR UPDATE"),
    )
    .await
}

/// The row a proposal look-up by `id` found, or [`LedgerError::NotFound`].
pub(crate) fn found(row: Option<Row>, id: &str) -> Result<Row, LedgerError> {
    row.ok_or_else(|| LedgerError::NotFound {
        kind: "proposal",
        id: id.to_owned(),
    })
}

/// `WHERE a = $1 AND b = $2` from optional equality filters, numbering from `first`.
pub(crate) fn where_clause(filters: &[(&str, &Option<String>)]) -> (String, Vec<String>) {
    let mut sql = String::new();
    let mut values = Vec::new();
    for (column, value) in filters {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            sql.push_str(if values.is_empty() {
                " WHERE "
            } else {
                " AND "
            });
            values.push(v.to_owned());
            sql.push_str(&format!("{column} = ${}", values.len()));
        }
    }
    (sql, values)
}

/// The proposals whose id, capability, tenant, object, principal, a decision's reason or
/// actor, or an apply's actor contains `text` (ASCII case ignored, matched literally).
pub(crate) async fn search_proposals(
    c: &impl GenericClient,
    text: &str,
    limit: u32,
    offset: u32,
) -> Result<(u64, Vec<StoredProposal>), LedgerError> {
    let needle = text.trim().to_ascii_lowercase();
    // `strpos` matches literally: no LIKE wildcards to escape.
    let matches = "(strpos(lower(p.proposal_id), $1) > 0
        OR strpos(lower(p.action), $1) > 0
        OR strpos(lower(p.tenant_id), $1) > 0
        OR strpos(lower(p.object_id), $1) > 0
        OR strpos(lower(p.principal), $1) > 0
        OR EXISTS (SELECT 1 FROM approvals a WHERE a.proposal_id = p.proposal_id
            AND (strpos(lower(COALESCE(a.reason, '')), $1) > 0 OR strpos(lower(a.approver), $1) > 0))
        OR EXISTS (SELECT 1 FROM writeback_jobs j WHERE j.proposal_id = p.proposal_id
            AND strpos(lower(j.actor), $1) > 0))";
    let total: i64 = c
        .query_one(
            &format!("SELECT COUNT(*) FROM proposals p WHERE {matches}"),
            &[&needle],
        )
        .await
        .pg()?
        .get(0);
    let columns = PROPOSAL_COLUMNS
        .split(',')
        .map(|c| format!("p.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = c
        .query(
            &format!(
                "SELECT {columns} FROM proposals p WHERE {matches}
                 ORDER BY p.created_at DESC, p.row_order DESC LIMIT $2 OFFSET $3"
            ),
            &[
                &needle,
                &i64::from(limit.clamp(1, 1000)),
                &i64::from(offset),
            ],
        )
        .await
        .pg()?;
    Ok((
        u64::try_from(total).unwrap_or(0),
        rows.iter()
            .map(proposal_from_row)
            .collect::<Result<_, _>>()?,
    ))
}

/// The newest event of any writer's chain.
pub(crate) async fn chain_head(c: &impl GenericClient) -> Result<Option<ChainHead>, LedgerError> {
    Ok(c.query_opt(
        "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1",
        &[],
    )
    .await
    .pg()?
    .map(|r| ChainHead {
        seq: r.get(0),
        hash: r.get(1),
    }))
}

pub(crate) const EVENT_COLUMNS: &str = "e.seq, e.kind, e.proposal_id, e.subject_kind,
    e.subject_id, e.actor, e.payload_json, e.record_hash, e.prev_hash, e.hash, e.created_at";

pub(crate) fn event_from_row(r: &Row) -> Result<Event, LedgerError> {
    Ok(Event {
        seq: col(r, 0)?,
        kind: col(r, 1)?,
        proposal_id: col(r, 2)?,
        subject_kind: col(r, 3)?,
        subject_id: col(r, 4)?,
        actor: col(r, 5)?,
        payload: json_col(r, 6)?,
        record_hash: col(r, 7)?,
        prev_hash: col(r, 8)?,
        hash: col(r, 9)?,
        created_at: col(r, 10)?,
    })
}

pub(crate) async fn proposal_events(
    c: &impl GenericClient,
    proposal_id: &str,
) -> Result<Vec<Event>, LedgerError> {
    proposal(c, proposal_id).await?;
    let rows = c
        .query(
            &format!(
                "SELECT {EVENT_COLUMNS} FROM events e WHERE e.proposal_id = $1 ORDER BY e.seq"
            ),
            &[&proposal_id],
        )
        .await
        .pg()?;
    rows.iter().map(event_from_row).collect()
}

pub(crate) const EVIDENCE_COLUMNS: &str = "evidence_bundle_id, proposal_id, tenant_id, principal,
    capability, source_id, source_table, business_object, object_id, query_fingerprint,
    payload_json, items_json, created_at";

pub(crate) fn evidence_from_row(r: &Row) -> Result<EvidenceBundle, LedgerError> {
    let items = match json_col(r, 11)? {
        serde_json::Value::Array(items) => items,
        _ => return Err(corrupt("items_json", "not an array")),
    };
    Ok(EvidenceBundle {
        evidence_bundle_id: col(r, 0)?,
        proposal_id: col(r, 1)?,
        tenant_id: col(r, 2)?,
        principal: col(r, 3)?,
        capability: col(r, 4)?,
        source_id: col(r, 5)?,
        source_table: col(r, 6)?,
        business_object: col(r, 7)?,
        object_id: col(r, 8)?,
        query_fingerprint: col(r, 9)?,
        payload: json_col(r, 10)?,
        items,
        created_at: col(r, 12)?,
    })
}

pub(crate) async fn evidence(
    c: &impl GenericClient,
    id: &str,
) -> Result<EvidenceWithAudit, LedgerError> {
    let row = c
        .query_opt(
            &format!(
                "SELECT {EVIDENCE_COLUMNS} FROM evidence_bundles WHERE evidence_bundle_id = $1"
            ),
            &[&id],
        )
        .await
        .pg()?
        .ok_or_else(|| LedgerError::NotFound {
            kind: "evidence bundle",
            id: id.to_owned(),
        })?;
    let bundle = evidence_from_row(&row)?;
    let query_audit = audit_of(c, "evidence_bundle_id", id).await?;
    Ok(EvidenceWithAudit {
        bundle,
        query_audit,
    })
}

pub(crate) const AUDIT_COLUMNS: &str = "audit_id, proposal_id, evidence_bundle_id, tenant_id,
    principal, capability, business_object, object_id, source_id, query_fingerprint, table_name,
    row_count, duration_us, outcome, payload_json, created_at";

pub(crate) fn audit_from_row(r: &Row) -> Result<QueryAudit, LedgerError> {
    Ok(QueryAudit {
        audit_id: col(r, 0)?,
        proposal_id: col(r, 1)?,
        evidence_bundle_id: col(r, 2)?,
        tenant_id: col(r, 3)?,
        principal: col(r, 4)?,
        capability: col(r, 5)?,
        business_object: col(r, 6)?,
        object_id: col(r, 7)?,
        source_id: col(r, 8)?,
        query_fingerprint: col(r, 9)?,
        table_name: col(r, 10)?,
        row_count: col::<i64>(r, 11)? as u64,
        duration_us: col::<i64>(r, 12)? as u64,
        outcome: col(r, 13)?,
        payload: json_col(r, 14)?,
        created_at: col(r, 15)?,
    })
}

pub(crate) async fn audit_by_id(
    c: &impl GenericClient,
    id: i64,
) -> Result<Option<QueryAudit>, LedgerError> {
    c.query_opt(
        &format!("SELECT {AUDIT_COLUMNS} FROM query_audit WHERE audit_id = $1"),
        &[&id],
    )
    .await
    .pg()?
    .map(|r| audit_from_row(&r))
    .transpose()
}

pub(crate) async fn stats(c: &impl GenericClient) -> Result<Stats, LedgerError> {
    let r = c
        .query_one(
            "SELECT (SELECT count(*) FROM proposals), (SELECT count(*) FROM evidence_bundles),
                (SELECT count(*) FROM query_audit), (SELECT count(*) FROM events),
                (SELECT count(*) FROM approvals), (SELECT count(*) FROM writeback_jobs),
                (SELECT count(*) FROM receipts)",
            &[],
        )
        .await
        .pg()?;
    Ok(Stats {
        proposals: r.get(0),
        evidence_bundles: r.get(1),
        query_audit: r.get(2),
        events: r.get(3),
        approvals: r.get(4),
        writeback_jobs: r.get(5),
        receipts: r.get(6),
    })
}

pub(crate) async fn state_counts(c: &impl GenericClient) -> Result<StateCounts, LedgerError> {
    let grouped = |sql: &'static str| async move {
        let rows = c.query(sql, &[]).await.pg()?;
        Ok::<_, LedgerError>(
            rows.iter()
                .map(|r| {
                    (
                        r.get::<_, String>(0),
                        u64::try_from(r.get::<_, i64>(1)).unwrap_or(0),
                    )
                })
                .collect::<Vec<_>>(),
        )
    };
    Ok(StateCounts {
        proposals: grouped("SELECT state, count(*) FROM proposals GROUP BY state ORDER BY state")
            .await?,
        receipts: grouped("SELECT status, count(*) FROM receipts GROUP BY status ORDER BY status")
            .await?,
    })
}

pub(crate) const APPROVAL_COLUMNS: &str = "approval_id, proposal_id, proposal_version,
    proposal_hash, approver, role, status, reason, created_at, actor_source, role_verified";

pub(crate) fn approval_from_row(r: &Row) -> Result<ApprovalRecord, LedgerError> {
    let version: i64 = col(r, 2)?;
    Ok(ApprovalRecord {
        approval_id: col(r, 0)?,
        proposal_id: col(r, 1)?,
        proposal_version: u32::try_from(version).map_err(|e| corrupt("proposal_version", e))?,
        proposal_hash: col(r, 3)?,
        approver: col(r, 4)?,
        role: col(r, 5)?,
        status: col(r, 6)?,
        reason: col(r, 7)?,
        created_at: col(r, 8)?,
        actor_source: col(r, 9)?,
        role_verified: col(r, 10)?,
    })
}

pub(crate) async fn approvals(
    c: &impl GenericClient,
    proposal_id: &str,
) -> Result<Vec<ApprovalRecord>, LedgerError> {
    let rows = c
        .query(
            &format!(
                "SELECT {APPROVAL_COLUMNS} FROM approvals WHERE proposal_id = $1 ORDER BY approval_id"
            ),
            &[&proposal_id],
        )
        .await
        .pg()?;
    rows.iter().map(approval_from_row).collect()
}

pub(crate) const JOB_COLUMNS: &str = "job_row_id, writeback_job_id, attempt, proposal_id,
    proposal_hash, actor, job_json, created_at, actor_source";

pub(crate) fn job_from_row(r: &Row) -> Result<JobRecord, LedgerError> {
    let text: String = col(r, 6)?;
    let attempt: i64 = col(r, 2)?;
    Ok(JobRecord {
        job_row_id: col(r, 0)?,
        writeback_job_id: col(r, 1)?,
        attempt: u32::try_from(attempt).map_err(|e| corrupt("attempt", e))?,
        proposal_id: col(r, 3)?,
        proposal_hash: col(r, 4)?,
        actor: col(r, 5)?,
        job: serde_json::from_str(&text).map_err(|e| corrupt("job_json", e))?,
        created_at: col(r, 7)?,
        actor_source: col(r, 8)?,
    })
}

pub(crate) async fn jobs(
    c: &impl GenericClient,
    proposal_id: &str,
) -> Result<Vec<JobRecord>, LedgerError> {
    let rows = c
        .query(
            &format!(
                "SELECT {JOB_COLUMNS} FROM writeback_jobs WHERE proposal_id = $1 ORDER BY job_row_id"
            ),
            &[&proposal_id],
        )
        .await
        .pg()?;
    rows.iter().map(job_from_row).collect()
}

pub(crate) const RECEIPT_COLUMNS: &str = "receipt_id, writeback_job_id, proposal_id, status,
    idempotency_key, source_database_mutated, receipt_json, created_at";

pub(crate) fn receipt_from_row(r: &Row) -> Result<StoredReceipt, LedgerError> {
    receipt_from_columns(r, 0)
}

/// A receipt from [`RECEIPT_COLUMNS`] starting at column `at` of `r`.
fn receipt_from_columns(r: &Row, at: usize) -> Result<StoredReceipt, LedgerError> {
    let text: String = col(r, at + 6)?;
    Ok(StoredReceipt {
        receipt_id: col(r, at)?,
        writeback_job_id: col(r, at + 1)?,
        proposal_id: col(r, at + 2)?,
        status: word(r, at + 3)?,
        idempotency_key: col(r, at + 4)?,
        source_database_mutated: col(r, at + 5)?,
        receipt: serde_json::from_str(&text).map_err(|e| corrupt("receipt_json", e))?,
        created_at: col(r, at + 7)?,
    })
}

pub(crate) async fn receipt_by_id(
    c: &impl GenericClient,
    id: i64,
) -> Result<Option<StoredReceipt>, LedgerError> {
    c.query_opt(
        &format!("SELECT {RECEIPT_COLUMNS} FROM receipts WHERE receipt_id = $1"),
        &[&id],
    )
    .await
    .pg()?
    .map(|r| receipt_from_row(&r))
    .transpose()
}

/// The receipt that applied a proposal (an `applied` one before an `already_applied` one).
pub(crate) async fn applied_receipt(
    c: &impl GenericClient,
    proposal_id: &str,
) -> Result<Option<StoredReceipt>, LedgerError> {
    let sql = format!(
        "SELECT {RECEIPT_COLUMNS} FROM receipts WHERE proposal_id = $1 AND status IN ($2, $3)
         ORDER BY (status = $2) DESC, receipt_id LIMIT 1"
    );
    c.query_opt(
        &prepared(c, &sql).await?,
        &[
            &proposal_id,
            &ReceiptStatus::Applied.as_str(),
            &ReceiptStatus::AlreadyApplied.as_str(),
        ],
    )
    .await
    .pg()?
    .map(|r| receipt_from_row(&r))
    .transpose()
}

/// A proposal and, when it is applied, its [`applied_receipt`], in one statement: an apply
/// that lost a race to another server learns both in one round trip. `latest` takes the two
/// reads.
pub(crate) async fn proposal_for_apply(
    c: &impl GenericClient,
    id: &str,
) -> Result<(StoredProposal, Option<StoredReceipt>), LedgerError> {
    if id == "latest" {
        let p = proposal(c, id).await?;
        let applied = match p.state {
            ProposalState::Applied => applied_receipt(c, &p.proposal_id).await?,
            _ => None,
        };
        return Ok((p, applied));
    }
    let proposal_columns: Vec<String> = PROPOSAL_COLUMNS
        .split(',')
        .map(|column| format!("p.{}", column.trim()))
        .collect();
    let receipt_columns: Vec<String> = RECEIPT_COLUMNS
        .split(',')
        .map(|column| format!("r.{}", column.trim()))
        .collect();
    // The receipt is looked up only for an applied proposal (a one-time filter on the
    // proposal's state), with `applied_receipt`'s order.
    let sql = format!(
        "SELECT {}, {} FROM proposals p
         LEFT JOIN LATERAL (SELECT {RECEIPT_COLUMNS} FROM receipts
             WHERE receipts.proposal_id = p.proposal_id AND p.state = $4
                 AND status IN ($2, $3)
             ORDER BY (status = $2) DESC, receipt_id LIMIT 1) r ON true
         WHERE p.proposal_id = $1",
        proposal_columns.join(", "),
        receipt_columns.join(", ")
    );
    let row = c
        .query_opt(
            &prepared(c, &sql).await?,
            &[
                &id,
                &ReceiptStatus::Applied.as_str(),
                &ReceiptStatus::AlreadyApplied.as_str(),
                &ProposalState::Applied.as_str(),
            ],
        )
        .await
        .pg()?
        .ok_or_else(|| LedgerError::NotFound {
            kind: "proposal",
            id: id.to_owned(),
        })?;
    let p = proposal_from_row(&row)?;
    let applied = match col::<Option<i64>>(&row, PROPOSAL_COLUMN_COUNT)? {
        Some(_) => Some(receipt_from_columns(&row, PROPOSAL_COLUMN_COUNT)?),
        None => None,
    };
    Ok((p, applied))
}

pub(crate) async fn replay(c: &impl GenericClient, id: &str) -> Result<Replay, LedgerError> {
    let proposal = proposal(c, id).await?;
    let pid = proposal.proposal_id.clone();
    let ids: Vec<String> = c
        .query(
            "SELECT evidence_bundle_id FROM evidence_bundles WHERE proposal_id = $1
             ORDER BY created_at, row_order",
            &[&pid],
        )
        .await
        .pg()?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut evidence_list = Vec::with_capacity(ids.len());
    for e in &ids {
        evidence_list.push(evidence(c, e).await?);
    }
    let mut audit = audit_of(c, "proposal_id", &pid).await?;
    audit.reverse();
    let mut receipt_list = receipts_of(c, &pid).await?;
    receipt_list.reverse();
    Ok(Replay {
        replay_id: airlock_protocol::ids::replay_id(&pid),
        events: proposal_events(c, &pid).await?,
        approvals: approvals(c, &pid).await?,
        jobs: jobs(c, &pid).await?,
        receipts: receipt_list,
        evidence: evidence_list,
        query_audit: audit,
        proposal,
        generated_at: airlock_protocol::now_rfc3339(),
    })
}

/// The newest 1,000 query-audit records whose `column` (`evidence_bundle_id` or `proposal_id`)
/// is `id`, newest first.
async fn audit_of(
    c: &impl GenericClient,
    column: &'static str,
    id: &str,
) -> Result<Vec<QueryAudit>, LedgerError> {
    let sql = format!(
        "SELECT {AUDIT_COLUMNS} FROM query_audit WHERE {column} = $1 ORDER BY audit_id DESC LIMIT 1000"
    );
    let rows = c.query(&sql, &[&id]).await.pg()?;
    rows.iter().map(audit_from_row).collect()
}

/// The newest 1,000 receipts of one proposal, newest first.
async fn receipts_of(
    c: &impl GenericClient,
    proposal_id: &str,
) -> Result<Vec<StoredReceipt>, LedgerError> {
    let sql = format!(
        "SELECT {RECEIPT_COLUMNS} FROM receipts WHERE proposal_id = $1 ORDER BY receipt_id DESC LIMIT 1000"
    );
    let rows = c.query(&sql, &[&proposal_id]).await.pg()?;
    rows.iter().map(receipt_from_row).collect()
}
