//! Read queries. Nothing here writes.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Row};

use crate::{
    Event, EvidenceBundle, EvidenceWithAudit, LedgerError, MAX_PAGE, QueryAudit, RecordFilter,
    Stats, StoredProposal,
};

pub(crate) const PROPOSAL_COLUMNS: &str =
    "proposal_id, proposal_version, proposal_hash, action, state,
    tenant_id, principal, business_object, object_id, source_kind, source_id, source_schema,
    source_table, source_database_mutated, change_set_json, created_at, updated_at";

/// A proposal state or receipt status column; an unknown word is a conversion error naming it.
fn word<T: std::str::FromStr<Err = airlock_protocol::UnknownState>>(
    r: &Row<'_>,
    i: usize,
) -> rusqlite::Result<T> {
    let text: String = r.get(i)?;
    text.parse().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

pub(crate) fn proposal_from_row(r: &Row<'_>) -> rusqlite::Result<StoredProposal> {
    let change_set_json: String = r.get(14)?;
    let change_set = serde_json::from_str(&change_set_json).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(14, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(StoredProposal {
        proposal_id: r.get(0)?,
        proposal_version: r.get(1)?,
        proposal_hash: r.get(2)?,
        action: r.get(3)?,
        state: word(r, 4)?,
        tenant_id: r.get(5)?,
        principal: r.get(6)?,
        business_object: r.get(7)?,
        object_id: r.get(8)?,
        source_kind: r.get(9)?,
        source_id: r.get(10)?,
        source_schema: r.get(11)?,
        source_table: r.get(12)?,
        source_database_mutated: r.get(13)?,
        change_set,
        created_at: r.get(15)?,
        updated_at: r.get(16)?,
    })
}

/// A proposal by id, or the newest for `latest`.
pub(crate) fn proposal(conn: &Connection, id: &str) -> Result<StoredProposal, LedgerError> {
    let found = if id == "latest" {
        conn.query_row(
            &format!("SELECT {PROPOSAL_COLUMNS} FROM proposals ORDER BY created_at DESC, rowid DESC LIMIT 1"),
            [],
            proposal_from_row,
        )
        .optional()?
        .ok_or(LedgerError::NoProposals)?
    } else {
        conn.prepare_cached(&format!(
            "SELECT {PROPOSAL_COLUMNS} FROM proposals WHERE proposal_id = ?1"
        ))?
        .query_row([id], proposal_from_row)
        .optional()?
        .ok_or_else(|| LedgerError::NotFound {
            kind: "proposal",
            id: id.to_owned(),
        })?
    };
    Ok(found)
}

/// Builds `WHERE a = ? AND b = ?` from optional equality filters.
pub(crate) fn where_clause(filters: &[(&str, &Option<String>)]) -> (String, Vec<SqlValue>) {
    let mut sql = String::new();
    let mut values = Vec::new();
    for (column, value) in filters {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            sql.push_str(if values.is_empty() {
                " WHERE "
            } else {
                " AND "
            });
            sql.push_str(column);
            sql.push_str(" = ?");
            values.push(SqlValue::Text(v.to_owned()));
        }
    }
    (sql, values)
}

/// The chain head: the last event's sequence number and hash.
pub(crate) fn chain_head(conn: &Connection) -> Result<Option<crate::ChainHead>, LedgerError> {
    Ok(head(conn)?.map(|(seq, hash)| crate::ChainHead { seq, hash }))
}

pub(crate) const EVENT_COLUMNS: &str = "seq, kind, proposal_id, subject_kind, subject_id, actor,
    payload_json, record_hash, prev_hash, hash, created_at";

pub(crate) fn event_from_row(r: &Row<'_>) -> rusqlite::Result<Event> {
    Ok(Event {
        seq: r.get(0)?,
        kind: r.get(1)?,
        proposal_id: r.get(2)?,
        subject_kind: r.get(3)?,
        subject_id: r.get(4)?,
        actor: r.get(5)?,
        payload: json_column(r, 6)?,
        record_hash: r.get(7)?,
        prev_hash: r.get(8)?,
        hash: r.get(9)?,
        created_at: r.get(10)?,
    })
}

/// The statement of [`row_id_ends`]: one aggregate per `SELECT`, so SQLite reads each from one
/// end of the table's B-tree. (`SELECT min(rowid), max(rowid) FROM t` reads every row: 13 s
/// for 10 million events, inside the read snapshot of a prune's plan, which held a server's
/// WAL truncation, and the calls behind it, about 11 s.)
pub(crate) fn row_id_ends_sql(table: &str) -> String {
    format!("SELECT (SELECT min(rowid) FROM {table}), (SELECT max(rowid) FROM {table})")
}

/// The first and last row id of `table`, `None` when it is empty.
pub(crate) fn row_id_ends(conn: &Connection, table: &str) -> rusqlite::Result<Option<(i64, i64)>> {
    conn.prepare_cached(&row_id_ends_sql(table))?
        .query_row([], |r| {
            Ok(r.get::<_, Option<i64>>(0)?.zip(r.get::<_, Option<i64>>(1)?))
        })
}

/// The last event's sequence number and hash.
pub(crate) fn head(conn: &Connection) -> Result<Option<(i64, String)>, rusqlite::Error> {
    conn.prepare_cached("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
}

pub(crate) fn events_sql() -> String {
    format!("SELECT {EVENT_COLUMNS} FROM events")
}

pub(crate) fn proposal_events(
    conn: &Connection,
    proposal_id: &str,
) -> Result<Vec<Event>, LedgerError> {
    proposal(conn, proposal_id)?;
    let mut stmt = conn.prepare(&format!(
        "{} WHERE proposal_id = ?1 ORDER BY seq",
        events_sql()
    ))?;
    let rows = stmt.query_map([proposal_id], event_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn json_column(r: &Row<'_>, i: usize) -> rusqlite::Result<serde_json::Value> {
    let text: String = r.get(i)?;
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// The columns of an evidence row, in the order its column hash covers them.
pub(crate) const EVIDENCE_COLUMNS: &str = crate::columns::EVIDENCE.columns;

pub(crate) fn evidence_from_row(r: &Row<'_>) -> rusqlite::Result<EvidenceBundle> {
    let items = match json_column(r, 11)? {
        serde_json::Value::Array(items) => items,
        _ => {
            return Err(rusqlite::Error::FromSqlConversionFailure(
                11,
                rusqlite::types::Type::Text,
                "items_json is not an array".into(),
            ));
        }
    };
    Ok(EvidenceBundle {
        evidence_bundle_id: r.get(0)?,
        proposal_id: r.get(1)?,
        tenant_id: r.get(2)?,
        principal: r.get(3)?,
        capability: r.get(4)?,
        source_id: r.get(5)?,
        source_table: r.get(6)?,
        business_object: r.get(7)?,
        object_id: r.get(8)?,
        query_fingerprint: r.get(9)?,
        payload: json_column(r, 10)?,
        items,
        created_at: r.get(12)?,
    })
}

pub(crate) fn evidence_bundle(
    conn: &Connection,
    id: &str,
) -> Result<Option<EvidenceBundle>, LedgerError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {EVIDENCE_COLUMNS} FROM evidence_bundles WHERE evidence_bundle_id = ?1"
        ))?
        .query_row([id], evidence_from_row)
        .optional()?)
}

pub(crate) fn evidence(conn: &Connection, id: &str) -> Result<EvidenceWithAudit, LedgerError> {
    let bundle = evidence_bundle(conn, id)?.ok_or_else(|| LedgerError::NotFound {
        kind: "evidence bundle",
        id: id.to_owned(),
    })?;
    let query_audit = super::browse::query_audit(
        conn,
        &RecordFilter {
            evidence: Some(id.to_owned()),
            limit: MAX_PAGE,
            ..RecordFilter::default()
        },
    )?
    .items;
    Ok(EvidenceWithAudit {
        bundle,
        query_audit,
    })
}

/// The columns of a query audit row, in the order its column hash covers them.
pub(crate) const AUDIT_COLUMNS: &str = crate::columns::AUDIT.columns;

pub(crate) fn audit_from_row(r: &Row<'_>) -> rusqlite::Result<QueryAudit> {
    Ok(QueryAudit {
        audit_id: r.get(0)?,
        proposal_id: r.get(1)?,
        evidence_bundle_id: r.get(2)?,
        tenant_id: r.get(3)?,
        principal: r.get(4)?,
        capability: r.get(5)?,
        business_object: r.get(6)?,
        object_id: r.get(7)?,
        source_id: r.get(8)?,
        query_fingerprint: r.get(9)?,
        table_name: r.get(10)?,
        row_count: r.get::<_, i64>(11)? as u64,
        duration_us: r.get::<_, i64>(12)? as u64,
        outcome: r.get(13)?,
        payload: json_column(r, 14)?,
        created_at: r.get(15)?,
    })
}

pub(crate) fn audit_by_id(conn: &Connection, id: i64) -> Result<Option<QueryAudit>, LedgerError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {AUDIT_COLUMNS} FROM query_audit WHERE audit_id = ?1"
        ))?
        .query_row([id], audit_from_row)
        .optional()?)
}

pub(crate) fn stats(conn: &Connection) -> Result<Stats, LedgerError> {
    let count = |table: &str| -> Result<i64, LedgerError> {
        Ok(conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?)
    };
    Ok(Stats {
        proposals: count("proposals")?,
        evidence_bundles: count("evidence_bundles")?,
        query_audit: count("query_audit")?,
        events: count("events")?,
        approvals: count("approvals")?,
        writeback_jobs: count("writeback_jobs")?,
        receipts: count("receipts")?,
    })
}

/// The stored dedupe key of a proposal (for verification).
pub(crate) fn dedupe_key(
    conn: &Connection,
    proposal_id: &str,
) -> Result<Option<String>, LedgerError> {
    Ok(conn
        .prepare_cached("SELECT dedupe_key FROM proposals WHERE proposal_id = ?1")?
        .query_row([proposal_id], |r| r.get(0))
        .optional()?)
}

fn approval_from_row(r: &Row<'_>) -> rusqlite::Result<crate::ApprovalRecord> {
    Ok(crate::ApprovalRecord {
        approval_id: r.get(0)?,
        proposal_id: r.get(1)?,
        proposal_version: r.get(2)?,
        proposal_hash: r.get(3)?,
        approver: r.get(4)?,
        role: r.get(5)?,
        status: r.get(6)?,
        reason: r.get(7)?,
        created_at: r.get(8)?,
        actor_source: r.get(9)?,
        role_verified: r.get(10)?,
    })
}

const APPROVAL_COLUMNS: &str = "approval_id, proposal_id, proposal_version, proposal_hash, approver, role, status, reason, created_at, actor_source, role_verified";

pub(crate) fn approval_by_id(
    conn: &Connection,
    id: i64,
) -> Result<Option<crate::ApprovalRecord>, LedgerError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {APPROVAL_COLUMNS} FROM approvals WHERE approval_id = ?1"
        ))?
        .query_row([id], approval_from_row)
        .optional()?)
}

pub(crate) fn approvals(
    conn: &Connection,
    proposal_id: &str,
) -> Result<Vec<crate::ApprovalRecord>, LedgerError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {APPROVAL_COLUMNS} FROM approvals WHERE proposal_id = ?1 ORDER BY approval_id"
    ))?;
    let rows = stmt.query_map([proposal_id], approval_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

const JOB_COLUMNS: &str = "job_row_id, writeback_job_id, attempt, proposal_id, proposal_hash, actor, job_json, created_at, actor_source";

fn job_from_row(r: &Row<'_>) -> rusqlite::Result<crate::JobRecord> {
    let text: String = r.get(6)?;
    let job = serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(6, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(crate::JobRecord {
        job_row_id: r.get(0)?,
        writeback_job_id: r.get(1)?,
        attempt: r.get(2)?,
        proposal_id: r.get(3)?,
        proposal_hash: r.get(4)?,
        actor: r.get(5)?,
        job,
        created_at: r.get(7)?,
        actor_source: r.get(8)?,
    })
}

pub(crate) fn job_by_id(
    conn: &Connection,
    id: i64,
) -> Result<Option<crate::JobRecord>, LedgerError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {JOB_COLUMNS} FROM writeback_jobs WHERE job_row_id = ?1"
        ))?
        .query_row([id], job_from_row)
        .optional()?)
}

pub(crate) fn jobs(
    conn: &Connection,
    proposal_id: &str,
) -> Result<Vec<crate::JobRecord>, LedgerError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {JOB_COLUMNS} FROM writeback_jobs WHERE proposal_id = ?1 ORDER BY job_row_id"
    ))?;
    let rows = stmt.query_map([proposal_id], job_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) const RECEIPT_COLUMNS: &str = "receipt_id, writeback_job_id, proposal_id, status, idempotency_key, source_database_mutated, receipt_json, created_at";

pub(crate) fn receipt_from_row(r: &Row<'_>) -> rusqlite::Result<crate::StoredReceipt> {
    let text: String = r.get(6)?;
    let receipt = serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(6, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(crate::StoredReceipt {
        receipt_id: r.get(0)?,
        writeback_job_id: r.get(1)?,
        proposal_id: r.get(2)?,
        status: word(r, 3)?,
        idempotency_key: r.get(4)?,
        source_database_mutated: r.get(5)?,
        receipt,
        created_at: r.get(7)?,
    })
}

pub(crate) fn receipt_by_id(
    conn: &Connection,
    id: i64,
) -> Result<Option<crate::StoredReceipt>, LedgerError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {RECEIPT_COLUMNS} FROM receipts WHERE receipt_id = ?1"
        ))?
        .query_row([id], receipt_from_row)
        .optional()?)
}

pub(crate) fn replay(conn: &Connection, id: &str) -> Result<crate::Replay, LedgerError> {
    let proposal = proposal(conn, id)?;
    let pid = proposal.proposal_id.clone();
    let mut stmt = conn.prepare("SELECT evidence_bundle_id FROM evidence_bundles WHERE proposal_id = ?1 ORDER BY created_at, rowid")?;
    let ids: Vec<String> = stmt
        .query_map([&pid], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let evidence = ids
        .iter()
        .map(|e| self::evidence(conn, e))
        .collect::<Result<Vec<_>, _>>()?;
    let of_proposal = RecordFilter {
        proposal: Some(pid.clone()),
        limit: MAX_PAGE,
        ..RecordFilter::default()
    };
    let mut query_audit = super::browse::query_audit(conn, &of_proposal)?.items;
    query_audit.reverse();
    let mut receipts = super::browse::receipts(conn, &of_proposal)?.items;
    receipts.reverse();
    Ok(crate::Replay {
        replay_id: airlock_protocol::ids::replay_id(&pid),
        events: proposal_events(conn, &pid)?,
        approvals: approvals(conn, &pid)?,
        jobs: jobs(conn, &pid)?,
        receipts,
        evidence,
        query_audit,
        proposal,
        generated_at: airlock_protocol::now_rfc3339(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_ends_of_a_table_are_read_from_its_b_tree_not_row_by_row() {
        let dir = tempfile::tempdir().unwrap();
        drop(crate::SqliteLedger::open(&dir.path().join("l.db")).unwrap());
        let conn = rusqlite::Connection::open(dir.path().join("l.db")).unwrap();
        for table in [
            "events",
            "proposals",
            "evidence_bundles",
            "query_audit",
            "receipts",
        ] {
            let plan: Vec<String> = conn
                .prepare(&format!(
                    "EXPLAIN QUERY PLAN {}",
                    super::row_id_ends_sql(table)
                ))
                .unwrap()
                .query_map([], |r| r.get(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            // "SCAN <table>" reads every row; "SEARCH" reads one end of the B-tree.
            assert!(
                plan.iter()
                    .all(|s| !s.starts_with(&format!("SCAN {table}"))),
                "{table}: {plan:?}"
            );
            assert_eq!(plan.iter().filter(|s| s.starts_with("SEARCH")).count(), 2);
        }
    }
}
