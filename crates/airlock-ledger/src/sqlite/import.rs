//! `airlock ledger import`: migrates a Synapsor Runner store into Airlock's schema in place.
//!
//! One transaction: the original's tables are renamed `synapsor_*` (kept, never dropped),
//! Airlock's schema is created by the normal migrations, every proposal, evidence bundle,
//! query-audit record, approval, job and receipt is copied with its id, and each copied record
//! gets a chained event after a first `ledger_imported` event that marks where the chain
//! starts. Any row that cannot be mapped rolls the whole transaction back.

use std::path::{Path, PathBuf};

use airlock_protocol::{
    ChangeSet, ExecutionReceipt, ProposalState, WritebackJob, hash_json, now_rfc3339,
};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use serde_json::{Value, json};

use super::migrations;
use super::write::{RUNNER_ACTOR, append_event};
use super::{read, search_index};
use crate::LedgerError;
use crate::chain::{self, PROPOSAL_ROW, ProposalRow};

/// Subject kind of the event that marks where an imported chain starts.
pub(crate) const IMPORT_SUBJECT: &str = "ledger";
/// Kind of the first event of an imported ledger.
pub(crate) const IMPORT_KIND: &str = "ledger_imported";

/// The original's tables, renamed `synapsor_<name>` by the import.
const ORIGINAL_TABLES: &[&str] = &[
    "proposal_store_schema",
    "proposals",
    "proposal_events",
    "approvals",
    "writeback_receipts",
    "evidence_bundles",
    "evidence_items",
    "query_audit",
    "writeback_jobs",
    "idempotency_receipts",
    "replay_records",
    "shadow_human_actions",
    "runner_state",
];

/// What an import did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    pub path: PathBuf,
    pub backup: PathBuf,
    /// The original's schema marker (highest `proposal_store_schema` version).
    pub original_schema_version: Option<i64>,
    pub proposals: u64,
    pub evidence_bundles: u64,
    pub query_audit: u64,
    pub approvals: u64,
    pub writeback_jobs: u64,
    pub receipts: u64,
    /// Events written, the `ledger_imported` marker included.
    pub events: u64,
    /// The original's tables, kept under these names.
    pub kept_tables: Vec<String>,
}

impl ImportReport {
    fn records(&self) -> u64 {
        self.proposals
            + self.evidence_bundles
            + self.query_audit
            + self.approvals
            + self.writeback_jobs
            + self.receipts
    }
}

/// Backs the store up beside itself, then migrates it in place.
pub(crate) fn import(path: &Path) -> Result<ImportReport, LedgerError> {
    let open_error = |source| LedgerError::Open {
        path: path.display().to_string(),
        source,
    };
    if !path.exists() {
        return Err(LedgerError::Missing {
            path: path.display().to_string(),
        });
    }
    let mut conn = Connection::open(path).map_err(open_error)?;
    super::wait_when_busy(&mut conn)?;
    if !migrations::is_original_store(&conn).map_err(open_error)? {
        return Err(LedgerError::NotOriginalStore {
            path: path.display().to_string(),
        });
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // The write lock is held: nobody changes the file while it is copied.
    let backup = write_backup(path)?;
    let mut report = ImportReport {
        path: path.to_owned(),
        backup,
        ..ImportReport::default()
    };
    // On any failure the transaction rolls back and the backup goes too: nothing changed.
    // The copied records are indexed for search in the same transaction (no server may ever
    // open this ledger to index them in the background).
    let done = copy_all(&tx, &mut report)
        .and_then(|()| search_index::index_all(&tx))
        .and_then(|()| Ok(tx.commit()?));
    if let Err(e) = done {
        let _ = std::fs::remove_file(&report.backup);
        return Err(e);
    }
    crate::anchor::append_head(&conn, &crate::anchor::anchor_path(path));
    Ok(report)
}

fn write_backup(path: &Path) -> Result<PathBuf, LedgerError> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".synapsor-backup-{secs}"));
    let backup = PathBuf::from(name);
    let copy = || -> std::io::Result<()> {
        let mut from = std::fs::File::open(path)?;
        // Never overwrite an earlier backup.
        let mut to = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&backup)?;
        std::io::copy(&mut from, &mut to)?;
        to.sync_all()
    };
    copy().map_err(|source| LedgerError::Backup {
        backup: backup.display().to_string(),
        source,
    })?;
    Ok(backup)
}

fn copy_all(tx: &Connection, report: &mut ImportReport) -> Result<(), LedgerError> {
    report.original_schema_version = tx
        .query_row("SELECT MAX(version) FROM proposal_store_schema", [], |r| {
            r.get(0)
        })
        .optional()?
        .flatten();
    for table in ORIGINAL_TABLES {
        let exists: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
            [table],
            |r| r.get(0),
        )?;
        if exists {
            tx.execute_batch(&format!("ALTER TABLE {table} RENAME TO synapsor_{table}"))?;
            report.kept_tables.push(format!("synapsor_{table}"));
        }
    }
    // Indexes of the kept tables are dropped (SQLite cannot rename an index): their names could
    // collide with Airlock's, and nothing queries the kept tables.
    let indexes: Vec<String> = tx
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL
             AND tbl_name LIKE 'synapsor\\_%' ESCAPE '\\'",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for index in indexes {
        tx.execute_batch(&format!("DROP INDEX \"{index}\""))?;
    }
    migrations::apply_from(tx, 0)?;

    // Count first so the marker event can say how many records follow.
    let mut counts = ImportReport::default();
    for (table, slot) in [
        ("synapsor_proposals", &mut counts.proposals),
        ("synapsor_evidence_bundles", &mut counts.evidence_bundles),
        ("synapsor_query_audit", &mut counts.query_audit),
        ("synapsor_approvals", &mut counts.approvals),
        ("synapsor_writeback_jobs", &mut counts.writeback_jobs),
        ("synapsor_writeback_receipts", &mut counts.receipts),
    ] {
        *slot = count(tx, table)?;
    }
    let now = now_rfc3339();
    let payload = json!({
        "note": format!("imported from Synapsor Runner store, {} records", counts.records()),
        "original_schema_version": report.original_schema_version,
        "records": {
            "proposals": counts.proposals,
            "evidence_bundles": counts.evidence_bundles,
            "query_audit": counts.query_audit,
            "approvals": counts.approvals,
            "writeback_jobs": counts.writeback_jobs,
            "receipts": counts.receipts,
        },
        "kept_tables": report.kept_tables,
    });
    append_event(
        tx,
        IMPORT_KIND,
        None,
        (IMPORT_SUBJECT, "synapsor_runner"),
        RUNNER_ACTOR,
        &payload,
        &hash_json(&payload),
        &now,
    )?;
    report.events = 1;
    report.proposals = copy_proposals(tx)?;
    report.evidence_bundles = copy_evidence(tx)?;
    report.query_audit = copy_audit(tx)?;
    report.approvals = copy_approvals(tx)?;
    report.writeback_jobs = copy_jobs(tx)?;
    report.receipts = copy_receipts(tx)?;
    report.events += report.records();
    Ok(())
}

fn count(tx: &Connection, table: &str) -> Result<u64, LedgerError> {
    let exists: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
        [table],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(0);
    }
    let n: i64 = tx.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
    Ok(n as u64)
}

fn unmappable(table: &'static str, id: impl ToString, detail: impl Into<String>) -> LedgerError {
    LedgerError::Unmappable {
        table,
        id: id.to_string(),
        detail: detail.into(),
    }
}

/// A column the original may leave empty, filled from a fallback or refused.
fn required(
    table: &'static str,
    id: &str,
    column: &str,
    value: Option<String>,
) -> Result<String, LedgerError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| unmappable(table, id, format!("`{column}` is empty")))
}

fn parse_json<T: serde::de::DeserializeOwned>(
    table: &'static str,
    id: &str,
    column: &str,
    text: &str,
) -> Result<T, LedgerError> {
    serde_json::from_str(text)
        .map_err(|e| unmappable(table, id, format!("`{column}` does not map: {e}")))
}

fn copy_proposals(tx: &Connection) -> Result<u64, LedgerError> {
    let rows: Vec<(String, String, String, String, bool, String)> = tx
        .prepare(
            "SELECT proposal_id, state, change_set_json, updated_at, source_database_mutated,
                 COALESCE(principal, '')
             FROM synapsor_proposals ORDER BY created_at, proposal_id",
        )?
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    let n = rows.len() as u64;
    for (id, state, cs_json, updated_at, mutated, principal) in rows {
        const T: &str = "proposals";
        let state: ProposalState = state
            .parse()
            .map_err(|e: airlock_protocol::UnknownState| unmappable(T, &id, e.to_string()))?;
        let cs: ChangeSet = parse_json(T, &id, "change_set_json", &cs_json)?;
        if cs.proposal_id != id {
            return Err(unmappable(
                T,
                &id,
                format!("its change set names proposal {}", cs.proposal_id),
            ));
        }
        if !cs.hash_is_valid() {
            return Err(unmappable(
                T,
                &id,
                "its change set does not match its own proposal_hash",
            ));
        }
        let principal = if principal.is_empty() {
            cs.principal.id.clone()
        } else {
            principal
        };
        // Imported proposals keep their own dedupe key space: a new identical proposal is
        // not merged into an imported one.
        let dedupe_key = format!("imported:{id}");
        tx.execute(
            "INSERT INTO proposals (proposal_id, proposal_version, proposal_hash, action, state,
                tenant_id, principal, business_object, object_id, source_kind, source_id,
                source_schema, source_table, source_database_mutated, dedupe_key, change_set_json,
                created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
            params![
                id,
                cs.proposal_version,
                cs.integrity.proposal_hash,
                cs.action,
                state.as_str(),
                cs.scope.tenant_id,
                principal,
                cs.scope.business_object,
                cs.scope.object_id,
                cs.source.kind,
                cs.source.source_id,
                cs.source.schema,
                cs.source.table,
                mutated,
                dedupe_key,
                serde_json::to_string(&cs)?,
                cs.created_at,
                updated_at,
            ],
        )?;
        let stored = read::proposal(tx, &id)?;
        append_event(
            tx,
            "proposal_created",
            Some(&id),
            ("proposal", &id),
            &stored.principal,
            &json!({
                "imported": true,
                "proposal_hash": stored.proposal_hash,
                "proposal_version": stored.proposal_version,
                "state": stored.state,
                "source_database_mutated": stored.source_database_mutated,
                PROPOSAL_ROW: ProposalRow::of(&stored),
            }),
            &chain::proposal_hash(&stored, &dedupe_key),
            &stored.created_at,
        )?;
    }
    Ok(n)
}

/// Reads a column of `payload_json` as text, for columns the original's first versions left
/// to the payload.
fn from_payload(payload: &Value, key: &str) -> Option<String> {
    payload.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn copy_evidence(tx: &Connection) -> Result<u64, LedgerError> {
    type Row = (
        String,
        Option<String>,
        String,
        String,
        String,
        [Option<String>; 7],
    );
    let rows: Vec<Row> = tx
        .prepare(
            "SELECT evidence_bundle_id, proposal_id, tenant_id, payload_json, created_at,
                 principal, capability, source_id, source_table, business_object, object_id,
                 query_fingerprint
             FROM synapsor_evidence_bundles ORDER BY created_at, evidence_bundle_id",
        )?
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                [
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    r.get(10)?,
                    r.get(11)?,
                ],
            ))
        })?
        .collect::<Result<_, _>>()?;
    let n = rows.len() as u64;
    for (id, proposal_id, tenant_id, payload_json, created_at, cols) in rows {
        const T: &str = "evidence_bundles";
        let payload: Value = parse_json(T, &id, "payload_json", &payload_json)?;
        let [
            principal,
            capability,
            source_id,
            source_table,
            business_object,
            object_id,
            fp,
        ] = cols;
        let principal = required(
            T,
            &id,
            "principal",
            principal.or_else(|| from_payload(&payload, "principal")),
        )?;
        let capability = required(
            T,
            &id,
            "capability",
            capability.or_else(|| from_payload(&payload, "capability")),
        )?;
        let source_id = required(
            T,
            &id,
            "source_id",
            source_id.or_else(|| from_payload(&payload, "source_id")),
        )?;
        let source_table = required(
            T,
            &id,
            "source_table",
            source_table.or_else(|| from_payload(&payload, "target")),
        )?;
        let business_object = required(T, &id, "business_object", business_object)?;
        let object_id = required(T, &id, "object_id", object_id)?;
        let fp = required(T, &id, "query_fingerprint", fp)?;
        let item_texts: Vec<String> = tx
            .prepare(
                "SELECT item_json FROM synapsor_evidence_items WHERE evidence_bundle_id = ?1
                 ORDER BY evidence_item_id",
            )?
            .query_map([&id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let items = item_texts
            .iter()
            .map(|t| parse_json::<Value>(T, &id, "evidence_items.item_json", t))
            .collect::<Result<Vec<_>, _>>()?;
        tx.execute(
            "INSERT INTO evidence_bundles (evidence_bundle_id, proposal_id, tenant_id, principal,
                capability, source_id, source_table, business_object, object_id, query_fingerprint,
                payload_json, items_json, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![
                id,
                proposal_id,
                tenant_id,
                principal,
                capability,
                source_id,
                source_table,
                business_object,
                object_id,
                fp,
                serde_json::to_string(&payload)?,
                serde_json::to_string(&items)?,
                created_at,
            ],
        )?;
        let stored = read::evidence_bundle(tx, &id)?
            .ok_or_else(|| unmappable(T, &id, "it could not be read back"))?;
        append_event(
            tx,
            "evidence_recorded",
            stored.proposal_id.as_deref(),
            ("evidence", &id),
            RUNNER_ACTOR,
            &json!({ "imported": true, "evidence_bundle_id": id, "item_count": stored.items.len() }),
            &chain::evidence_hash(&stored),
            &stored.created_at,
        )?;
    }
    Ok(n)
}

fn copy_audit(tx: &Connection) -> Result<u64, LedgerError> {
    type Row = (i64, String, i64, [Option<String>; 11]);
    let rows: Vec<Row> = tx
        .prepare(
            "SELECT audit_id, payload_json, row_count, proposal_id, evidence_bundle_id,
                 source_id, query_fingerprint, table_name, created_at, tenant_id, principal,
                 capability, business_object, object_id
             FROM synapsor_query_audit ORDER BY audit_id",
        )?
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                [
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    r.get(10)?,
                    r.get(11)?,
                    r.get(12)?,
                    r.get(13)?,
                ],
            ))
        })?
        .collect::<Result<_, _>>()?;
    let n = rows.len() as u64;
    for (audit_id, payload_json, row_count, cols) in rows {
        const T: &str = "query_audit";
        let id = audit_id.to_string();
        let payload: Value = parse_json(T, &id, "payload_json", &payload_json)?;
        let [
            proposal_id,
            evidence_id,
            source_id,
            fp,
            table_name,
            created_at,
            tenant,
            principal,
            capability,
            object,
            object_id,
        ] = cols;
        let capability = required(
            T,
            &id,
            "capability",
            capability.or_else(|| from_payload(&payload, "capability")),
        )?;
        let row_count = u64::try_from(row_count)
            .map_err(|_| unmappable(T, &id, format!("row_count {row_count} is negative")))?;
        let outcome = if row_count == 0 { "not_found" } else { "ok" };
        tx.execute(
            "INSERT INTO query_audit (audit_id, proposal_id, evidence_bundle_id, tenant_id,
                principal, capability, business_object, object_id, source_id, query_fingerprint,
                table_name, row_count, duration_us, outcome, payload_json, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 0, ?13, ?14, ?15)",
            params![
                audit_id,
                proposal_id,
                evidence_id,
                required(T, &id, "tenant_id", tenant)?,
                required(T, &id, "principal", principal)?,
                capability,
                required(T, &id, "business_object", object)?,
                required(T, &id, "object_id", object_id)?,
                required(T, &id, "source_id", source_id)?,
                required(T, &id, "query_fingerprint", fp)?,
                required(T, &id, "table_name", table_name)?,
                row_count as i64,
                outcome,
                serde_json::to_string(&payload)?,
                required(T, &id, "created_at", created_at)?,
            ],
        )?;
        let stored = read::audit_by_id(tx, audit_id)?
            .ok_or_else(|| unmappable(T, &id, "it could not be read back"))?;
        append_event(
            tx,
            "query_audited",
            stored.proposal_id.as_deref(),
            ("query_audit", &id),
            &stored.principal,
            &json!({ "imported": true, "audit_id": audit_id, "outcome": stored.outcome, "row_count": stored.row_count }),
            &chain::audit_hash(&stored),
            &stored.created_at,
        )?;
    }
    Ok(n)
}

fn copy_approvals(tx: &Connection) -> Result<u64, LedgerError> {
    let ids: Vec<(i64, String)> = tx
        .prepare("SELECT approval_id, status FROM synapsor_approvals ORDER BY approval_id")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (id, status) in &ids {
        if !matches!(status.as_str(), "approved" | "rejected") {
            return Err(unmappable(
                "approvals",
                id,
                format!("unknown status `{status}`"),
            ));
        }
        tx.execute(
            "INSERT INTO approvals (approval_id, proposal_id, proposal_version, proposal_hash,
                approver, role, status, reason, created_at, actor_source, role_verified)
             SELECT approval_id, proposal_id, proposal_version, proposal_hash, approver, NULL,
                status, reason, created_at, 'imported', NULL
             FROM synapsor_approvals WHERE approval_id = ?1",
            [id],
        )?;
        let a = read::approval_by_id(tx, *id)?
            .ok_or_else(|| unmappable("approvals", id, "it could not be read back"))?;
        append_event(
            tx,
            &format!("proposal_{}", a.status),
            Some(&a.proposal_id),
            ("approval", &id.to_string()),
            &a.approver,
            &json!({ "imported": true, "status": a.status, "proposal_hash": a.proposal_hash, "reason": a.reason }),
            &chain::record_hash(&a),
            &a.created_at,
        )?;
    }
    Ok(ids.len() as u64)
}

fn copy_jobs(tx: &Connection) -> Result<u64, LedgerError> {
    let rows: Vec<(String, String, String, String, String)> = tx
        .prepare(
            "SELECT writeback_job_id, proposal_id, proposal_hash, job_json, created_at
             FROM synapsor_writeback_jobs ORDER BY created_at, writeback_job_id",
        )?
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<_, _>>()?;
    let n = rows.len() as u64;
    for (job_id, proposal_id, proposal_hash, job_json, created_at) in rows {
        const T: &str = "writeback_jobs";
        let job: WritebackJob = parse_json(T, &job_id, "job_json", &job_json)?;
        if job.writeback_job_id != job_id || job.proposal_id != proposal_id {
            return Err(unmappable(
                T,
                &job_id,
                "its job_json names another job or proposal",
            ));
        }
        // The approver of the proposal ran the original's apply; the job does not say who.
        let actor: String = tx
            .query_row(
                "SELECT approver FROM approvals WHERE proposal_id = ?1 AND status = 'approved'
                 ORDER BY approval_id DESC LIMIT 1",
                [&proposal_id],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or_else(|| "synapsor_runner".into());
        tx.execute(
            "INSERT INTO writeback_jobs (writeback_job_id, attempt, proposal_id, proposal_hash,
                actor, job_json, created_at, actor_source)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'imported')",
            params![
                job_id,
                job.lease.attempt.max(1),
                proposal_id,
                proposal_hash,
                actor,
                serde_json::to_string(&job)?,
                created_at,
            ],
        )?;
        let row_id = tx.last_insert_rowid();
        let record = read::job_by_id(tx, row_id)?
            .ok_or_else(|| unmappable(T, &job_id, "it could not be read back"))?;
        append_event(
            tx,
            "writeback_job_recorded",
            Some(&proposal_id),
            ("writeback_job", &row_id.to_string()),
            &record.actor,
            &json!({ "imported": true, "writeback_job_id": job_id, "attempt": record.attempt }),
            &chain::record_hash(&record),
            &record.created_at,
        )?;
    }
    Ok(n)
}

fn copy_receipts(tx: &Connection) -> Result<u64, LedgerError> {
    let rows: Vec<(i64, String, String)> = tx
        .prepare(
            "SELECT receipt_id, receipt_json, created_at FROM synapsor_writeback_receipts
             ORDER BY receipt_id",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let n = rows.len() as u64;
    for (id, receipt_json, created_at) in rows {
        const T: &str = "writeback_receipts";
        let receipt: ExecutionReceipt =
            parse_json(T, &id.to_string(), "receipt_json", &receipt_json)?;
        if !receipt.hash_is_valid() {
            return Err(unmappable(
                T,
                id,
                "the receipt does not match its own receipt_hash",
            ));
        }
        tx.execute(
            "INSERT INTO receipts (receipt_id, writeback_job_id, proposal_id, status,
                idempotency_key, source_database_mutated, receipt_json, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                id,
                receipt.writeback_job_id,
                receipt.proposal_id,
                receipt.status.as_str(),
                receipt.idempotency_key,
                receipt.source_database_mutated,
                serde_json::to_string(&receipt)?,
                created_at,
            ],
        )?;
        let stored = read::receipt_by_id(tx, id)?
            .ok_or_else(|| unmappable(T, id, "it could not be read back"))?;
        append_event(
            tx,
            &format!("writeback_{}", stored.status),
            Some(&stored.proposal_id),
            ("receipt", &id.to_string()),
            RUNNER_ACTOR,
            &json!({
                "imported": true,
                "writeback_job_id": stored.writeback_job_id,
                "rows_affected": receipt.rows_affected,
                "source_database_mutated": stored.source_database_mutated,
                "receipt_hash": receipt.receipt_hash,
            }),
            &chain::record_hash(&stored),
            &stored.created_at,
        )?;
    }
    Ok(n)
}
