//! `/readyz` of both HTTP servers: ready when not shutting down and the ledger answers. A
//! fleet's load balancer takes a replica out of rotation when its ledger (the shared
//! Postgres, or the local SQLite file) stops answering, instead of sending it calls that
//! would fail to be recorded.

use std::time::{Duration, Instant};

use axum::response::Response;
use http::StatusCode;
use serde_json::json;

use crate::McpServer;
use crate::transport::net::json_response;

/// How long the ledger has to answer before the replica reports itself not ready.
pub(crate) const LEDGER_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The readiness answer: 200 with the ledger's head, or 503 with a reason. The reason is
/// coarse (this endpoint needs no bearer); the cause goes to the server's log.
pub(crate) async fn readiness(server: &McpServer, shutting_down: bool) -> Response {
    if shutting_down {
        return json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"ready": false, "reason": "shutting down"}),
        );
    }
    let started = Instant::now();
    let probe =
        tokio::time::timeout(LEDGER_PROBE_TIMEOUT, server.runtime().ledger().chain_head()).await;
    let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    match probe {
        Ok(Ok(head)) => json_response(
            StatusCode::OK,
            json!({
                "ready": true,
                "ledger": {"ok": true, "head": head.map_or(0, |h| h.seq), "ms": ms},
            }),
        ),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the ledger did not answer");
            json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"ready": false, "reason": "ledger unavailable", "ledger": {"ok": false}}),
            )
        }
        Err(_) => {
            tracing::warn!(
                timeout_ms = LEDGER_PROBE_TIMEOUT.as_millis() as u64,
                "readiness: the ledger did not answer in time"
            );
            json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"ready": false, "reason": "ledger timed out", "ledger": {"ok": false}}),
            )
        }
    }
}
