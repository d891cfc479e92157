//! Airlock app-owned writeback handler (Rust + axum).
//!
//! IMPORTANT: your app handler owns the final business write. Airlock has checked the
//! proposal, its approval and its guards; this handler must still make the write in ONE
//! transaction that (1) refuses a repeated idempotency key, (2) finds the row by primary key
//! AND tenant, and (3) checks the version the agent saw. Never trust the request to choose
//! tables or columns: map the action to the write you allow.
//!
//! ```text
//! AIRLOCK_HANDLER_TOKEN=... AIRLOCK_HANDLER_SIGNING_SECRET=... PORT=8787 cargo run
//! ```
//!
//! Executor config: `{"type": "http_handler", "url_env": "APP_HANDLER_URL", "auth":
//! {"type": "bearer_env", "token_env": "APP_HANDLER_TOKEN"}, "signing_secret_env":
//! "APP_HANDLER_SIGNING_SECRET"}` with `APP_HANDLER_URL=http://127.0.0.1:8787/airlock/writeback`.
//! A full example with a real database transaction: `examples/rust-axum-handler`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use airlock_handler::{Answer, HandlerReceipt, Incoming, Verifier, WritebackRequest};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde_json::json;

struct App {
    /// Bearer token, v2 + v1 signatures, ±5 min freshness, replayed requests refused.
    verifier: Verifier,
    /// DEMO ONLY: applied idempotency keys. Replace with a table written in the SAME
    /// transaction as the business change.
    applied: Mutex<HashMap<String, HandlerReceipt>>,
}

async fn writeback(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, axum::Json<Answer>) {
    let req = match app.verifier.verify_incoming(&headers, &body) {
        Ok(Incoming::Writeback(req)) => req,
        // `airlock doctor --check-handlers`: a verified probe is answered, nothing is written.
        Ok(Incoming::Probe(probe)) => {
            return (StatusCode::OK, axum::Json(Answer::Probe(probe.answer())));
        }
        Err(rejection) => {
            let status =
                StatusCode::from_u16(rejection.http_status).unwrap_or(StatusCode::BAD_REQUEST);
            return (status, axum::Json(Answer::Receipt(rejection.receipt())));
        }
    };
    // Every outcome is a receipt with HTTP 200, so Airlock records your safe_error_code.
    (
        StatusCode::OK,
        axum::Json(Answer::Receipt(apply_change(&app, &req))),
    )
}

fn apply_change(app: &App, req: &WritebackRequest) -> HandlerReceipt {
    // ===================== YOUR TRANSACTION GOES HERE =====================
    // BEGIN;
    // 1. Idempotency: SELECT receipt FROM writeback_receipts WHERE idempotency_key = $1 FOR UPDATE
    //    → found: return req.already_applied_from(&prior) and write nothing.
    let mut applied = app.applied.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(prior) = applied.get(&req.idempotency_key) {
        return req.already_applied_from(prior);
    }
    // 2. Tenant: SELECT * FROM <table you own for req.action>
    //      WHERE <pk> = req.object_id AND <tenant column> = req.tenant_id FOR UPDATE
    //    → no row: return req.conflict("ROW_NOT_FOUND_OR_WRONG_TENANT", None)
    // 3. Version: row[req.expected_version.column] must equal req.expected_version.value
    //    → else: return req.conflict("ROW_CHANGED_AFTER_PROPOSAL", Some(current))
    // 4. The business write (only the columns you allow for req.action), with req.patch.
    // 5. req.dry_run → ROLLBACK; req.applied(..) already answers rows 0, nothing mutated.
    // 6. INSERT INTO writeback_receipts (idempotency_key, ...) ...; COMMIT;
    let previous = req.expected_version.value.clone();
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let receipt = req.applied(1, Some(previous), Some(json!(now)));
    if !req.dry_run {
        applied.insert(req.idempotency_key.clone(), receipt.clone());
    }
    receipt
    // ======================================================================
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut verifier = Verifier::new();
    match (
        env("AIRLOCK_HANDLER_TOKEN"),
        env("AIRLOCK_HANDLER_SIGNING_SECRET"),
    ) {
        (None, None) => {
            return Err("set AIRLOCK_HANDLER_TOKEN and/or AIRLOCK_HANDLER_SIGNING_SECRET".into());
        }
        (token, secret) => {
            if let Some(t) = token {
                verifier = verifier.bearer_token(t);
            }
            if let Some(s) = secret {
                verifier = verifier.signing_secret(s);
            }
        }
    }
    let app = Arc::new(App {
        verifier,
        applied: Mutex::default(),
    });
    let router = Router::new()
        .route("/airlock/writeback", post(writeback))
        .route("/synapsor/writeback", post(writeback)) // Synapsor Runner's path
        .route("/healthz", get(|| async { "ok" }))
        .with_state(app);
    let port: u16 = env("PORT").map_or(Ok(8787), |p| p.parse())?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    eprintln!("listening on http://127.0.0.1:{port}/airlock/writeback");
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
