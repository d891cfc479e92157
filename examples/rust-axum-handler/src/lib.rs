//! An app-owned writeback handler: the team's own service makes the business write that an
//! approved Airlock proposal asks for.
//!
//! Airlock proposes `billing.propose_account_credit` on an invoice; a person approves it;
//! `airlock apply` sends the signed request here. This handler:
//!
//! 1. verifies it with [`airlock_handler::Verifier`] (bearer token, v2 + v1 signatures,
//!    freshness window, replayed requests refused);
//! 2. accepts only the action it knows, on the table it owns: the request never chooses
//!    tables or columns;
//! 3. in ONE SQLite transaction (`BEGIN IMMEDIATE`): returns the stored receipt when the
//!    idempotency key was applied before; locks the invoice by id AND tenant (else
//!    `conflict`/`ROW_NOT_FOUND_OR_WRONG_TENANT`); checks `updated_at` still equals the
//!    version the agent saw (else `conflict`/`ROW_CHANGED_AFTER_PROPOSAL`); inserts an
//!    `account_credits` row (its `idempotency_key` is UNIQUE too); updates the invoice; stores
//!    the receipt under the idempotency key; commits. A dry run does it all and rolls back.
//!
//! So a retried request (same idempotency key, fresh signature) applies once.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use airlock_handler::{
    Answer, HandlerReceipt, HandlerStatus, Incoming, Verifier, WritebackRequest,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde_json::{Value, json};

/// The action this handler applies.
pub const ACTION: &str = "billing.propose_account_credit";
/// Where Airlock posts (the executor's `url_env` holds `http://host:port/airlock/writeback`).
pub const PATH: &str = "/airlock/writeback";

/// Tables of the example app (the app's own schema, not Airlock's).
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS invoices (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  status TEXT NOT NULL,
  balance_cents INTEGER NOT NULL,
  credit_requested_cents INTEGER NOT NULL DEFAULT 0,
  credit_reason TEXT,
  credited_cents INTEGER NOT NULL DEFAULT 0,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS account_credits (
  id INTEGER PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  invoice_id TEXT NOT NULL REFERENCES invoices(id),
  customer_id TEXT NOT NULL,
  amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
  reason TEXT NOT NULL,
  idempotency_key TEXT NOT NULL UNIQUE,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS writeback_handler_receipts (
  idempotency_key TEXT PRIMARY KEY,
  proposal_id TEXT NOT NULL,
  action TEXT NOT NULL,
  status TEXT NOT NULL,
  receipt_json TEXT NOT NULL,
  created_at TEXT NOT NULL
);
";

/// Shared by every request.
pub struct AppState {
    pub verifier: Verifier,
    /// The app's SQLite database.
    pub db_path: PathBuf,
}

/// The routes: `POST /airlock/writeback` and `GET /healthz`.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(PATH, post(writeback))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state)
}

/// Creates the app's tables.
pub fn init_db(path: &std::path::Path) -> rusqlite::Result<()> {
    Connection::open(path)?.execute_batch(SCHEMA)
}

/// The handler: verify, then one transaction. Every outcome is a receipt; verification
/// failures answer 4xx, everything else 200 (so Airlock records the handler's own code).
pub async fn writeback(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, axum::Json<Answer>) {
    let (status, answer) = respond(&state, &headers, &body, chrono::Utc::now()).await;
    (status, axum::Json(answer))
}

/// [`writeback`] with the clock as a parameter (tests use it to simulate clock skew).
pub async fn respond(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    now: chrono::DateTime<chrono::Utc>,
) -> (StatusCode, Answer) {
    let req = match state.verifier.verify_incoming_at(headers, body, now) {
        Ok(Incoming::Writeback(r)) => r,
        // `airlock doctor --check-handlers`: answered after verification; the database is
        // not opened.
        Ok(Incoming::Probe(p)) => return (StatusCode::OK, Answer::Probe(p.answer())),
        Err(rejection) => {
            let status =
                StatusCode::from_u16(rejection.http_status).unwrap_or(StatusCode::BAD_REQUEST);
            return (status, Answer::Receipt(rejection.receipt()));
        }
    };
    if req.action != ACTION {
        return (
            StatusCode::OK,
            Answer::Receipt(req.failed("UNSUPPORTED_ACTION")),
        );
    }
    let path = state.db_path.clone();
    let receipt = tokio::task::spawn_blocking(move || {
        apply_credit(&path, &req).unwrap_or_else(|_| req.failed("HANDLER_EXCEPTION"))
    })
    .await
    .unwrap_or_else(|_| HandlerReceipt {
        proposal_id: None,
        idempotency_key: None,
        status: HandlerStatus::Failed,
        rows_affected: 0,
        source_database_mutated: false,
        previous_version: None,
        new_version: None,
        safe_error_code: Some("HANDLER_EXCEPTION".into()),
        details: None,
    });
    (StatusCode::OK, Answer::Receipt(receipt))
}

fn to_json(v: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => json!(i),
        ValueRef::Real(f) => json!(f),
        ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
        ValueRef::Blob(_) => Value::Null,
    }
}

/// The business write, in one transaction.
pub fn apply_credit(
    path: &std::path::Path,
    req: &WritebackRequest,
) -> rusqlite::Result<HandlerReceipt> {
    // What this handler owns; the request must agree.
    if req.target.table != "invoices"
        || req.target.primary_key.column != "id"
        || req.tenant_guard.column != "tenant_id"
        || req.expected_version.column != "updated_at"
    {
        return Ok(req.failed("UNEXPECTED_TARGET"));
    }
    let amount = req
        .patch
        .get("credit_requested_cents")
        .and_then(Value::as_i64);
    let reason = req.patch.get("credit_reason").and_then(Value::as_str);
    let (Some(amount), Some(reason)) = (amount.filter(|a| *a > 0), reason) else {
        return Ok(req.failed("BAD_PATCH"));
    };
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    // BEGIN IMMEDIATE: the write lock is held from here, so the checks below stay true until
    // commit (Postgres: SELECT … FOR UPDATE).
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;

    // 1. Idempotency: this key was applied before → the same answer, nothing written.
    let prior: Option<String> = tx
        .query_row(
            "SELECT receipt_json FROM writeback_handler_receipts WHERE idempotency_key = ?1 AND status = 'applied'",
            [&req.idempotency_key],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(prior) = prior {
        let prior: HandlerReceipt = serde_json::from_str(&prior)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        return Ok(req.already_applied_from(&prior));
    }

    // 2. Tenant guard: the row by id AND tenant.
    let pk = req
        .target
        .primary_key
        .value
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let tenant = req
        .tenant_guard
        .value
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let row = tx
        .query_row(
            "SELECT updated_at, customer_id FROM invoices WHERE id = ?1 AND tenant_id = ?2",
            params![pk, tenant],
            |r| Ok((to_json(r.get_ref(0)?), r.get::<_, String>(1)?)),
        )
        .optional()?;
    let Some((version, customer_id)) = row else {
        return Ok(req.conflict("ROW_NOT_FOUND_OR_WRONG_TENANT", None));
    };

    // 3. Version guard: the row is as the agent saw it.
    if version != req.expected_version.value {
        return Ok(req.conflict("ROW_CHANGED_AFTER_PROPOSAL", Some(version)));
    }

    // 4. The business write.
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let created_by = req
        .principal
        .clone()
        .unwrap_or_else(|| "approved_operator".into());
    tx.execute(
        "INSERT INTO account_credits (tenant_id, invoice_id, customer_id, amount_cents, reason, idempotency_key, created_by, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![tenant, pk, customer_id, amount, reason, req.idempotency_key, created_by, now],
    )?;
    let changed = tx.execute(
        "UPDATE invoices SET credit_requested_cents = ?1, credit_reason = ?2,
             credited_cents = credited_cents + ?1, updated_at = ?3
         WHERE id = ?4 AND tenant_id = ?5 AND updated_at = ?6",
        params![
            amount,
            reason,
            now,
            pk,
            tenant,
            version.as_str().unwrap_or_default()
        ],
    )?;
    if changed != 1 {
        return Ok(req.conflict("ROW_CHANGED_AFTER_PROPOSAL", Some(version)));
    }
    let receipt = req.applied(2, Some(version), Some(json!(now)));

    // 5. A dry run rehearses everything and keeps nothing.
    if req.dry_run {
        tx.rollback()?;
        return Ok(receipt);
    }

    // 6. The receipt, in the same transaction as the write.
    tx.execute(
        "INSERT INTO writeback_handler_receipts (idempotency_key, proposal_id, action, status, receipt_json, created_at)
         VALUES (?1, ?2, ?3, 'applied', ?4, ?5)",
        params![
            req.idempotency_key,
            req.proposal_id,
            req.action,
            serde_json::to_string(&receipt).unwrap_or_default(),
            now
        ],
    )?;
    tx.commit()?;
    Ok(receipt)
}
