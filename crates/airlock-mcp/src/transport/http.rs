//! MCP Streamable HTTP on `/mcp` (rmcp), with sessions for 2024-11-05 … 2025-11-25 and the
//! stateless 2026-07-28 revision on the same endpoint; `/healthz` and `/readyz` beside it.
//!
//! Layers, outermost first: Host/Origin allow-lists (403), in-flight bound and deadline
//! (503/504), then on `/mcp` only: bearer auth (401) and the session layer (bounded session
//! count, sessions bound to the credential that created them).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use axum::routing::get;
use http::{Method, StatusCode};
use http_body_util::BodyExt;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::auth::Caller;
use crate::handler::AirlockHandler;
use crate::transport::net::{self, Guard, HttpOptions, Limits, json_response};
use crate::{McpError, McpServer};

const SESSION_HEADER: &str = "mcp-session-id";

/// How long an answered request can still be resumed with `Last-Event-ID`.
const RESUME_WINDOW: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Clone)]
struct HttpState {
    server: McpServer,
    sessions: Arc<LocalSessionManager>,
    max_sessions: usize,
    max_body_bytes: usize,
    /// Session id → identity of the credential that created it.
    owners: Arc<Mutex<HashMap<String, String>>>,
    shutting_down: CancellationToken,
}

/// Serves until SIGINT/SIGTERM. `on_listen` gets the bound address (port 0 picks one).
pub async fn serve(
    server: McpServer,
    opts: HttpOptions,
    on_listen: impl FnOnce(SocketAddr),
) -> Result<(), McpError> {
    let ct = CancellationToken::new();
    net::cancel_on_signal(ct.clone())?;
    serve_until(server, opts, ct, on_listen).await
}

/// Serves until `ct` is cancelled.
pub async fn serve_until(
    server: McpServer,
    opts: HttpOptions,
    ct: CancellationToken,
    on_listen: impl FnOnce(SocketAddr),
) -> Result<(), McpError> {
    let listener = net::bind(&opts).await?;
    if let Ok(addr) = listener.local_addr() {
        on_listen(addr);
    }
    let router = router(server, &opts, ct.clone());
    net::serve(listener, router, &opts, ct).await
}

fn router(server: McpServer, opts: &HttpOptions, ct: CancellationToken) -> Router {
    let mut manager = LocalSessionManager::default();
    manager.session_config.keep_alive = Some(opts.session_idle);
    // rmcp keeps every answered request's SSE channel for late resumption (default 60 s). At
    // thousands of calls per second that is tens of thousands of entries per minute, in
    // memory and scanned on every request; a client that lost an answer resumes within its
    // SSE retry interval (3 s), so a few of those suffice.
    manager.session_config.completed_cache_ttl = RESUME_WINDOW;
    let sessions = Arc::new(manager);
    let config = StreamableHttpServerConfig::default()
        .with_cancellation_token(ct.child_token())
        .with_max_request_body_bytes(opts.max_body_bytes)
        // Host and Origin are checked by our own layer (shared with the bridge, tested).
        .disable_allowed_hosts()
        .disable_allowed_origins()
        // Stateless (2026-07-28) replies as plain JSON; session replies stay SSE.
        .with_json_response(true);
    let factory = server.clone();
    let mcp_service = StreamableHttpService::new(
        move || Ok(AirlockHandler::new(factory.clone())),
        sessions.clone(),
        config,
    );
    let state = HttpState {
        server,
        sessions,
        max_sessions: opts.max_sessions.max(1),
        max_body_bytes: opts.max_body_bytes,
        owners: Arc::new(Mutex::new(HashMap::new())),
        shutting_down: ct,
    };
    let mcp = Router::new()
        .route_service("/mcp", mcp_service)
        .layer(from_fn_with_state(state.clone(), session_layer))
        .layer(from_fn_with_state(opts.auth.clone(), net::auth_layer));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
        .merge(mcp)
        .fallback(not_found)
        .layer(from_fn_with_state(Limits::new(opts), net::limit_layer))
        .layer(from_fn_with_state(
            Arc::new(Guard::new(opts)),
            net::guard_layer,
        ))
}

async fn not_found() -> Response {
    json_response(
        StatusCode::NOT_FOUND,
        json!({"ok": false, "error": "not_found"}),
    )
}

async fn healthz(State(st): State<HttpState>) -> Response {
    let sessions = st.sessions.sessions.read().await.len();
    json_response(
        StatusCode::OK,
        json!({
            "ok": true,
            "transport": "streamable-http",
            "sessions": sessions,
            "tools": st.server.capability_count(),
            "mode": st.server.runtime().config().mode.as_str(),
        }),
    )
}

async fn readyz(State(st): State<HttpState>) -> Response {
    if st.shutting_down.is_cancelled() {
        return json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"ready": false, "reason": "shutting down"}),
        );
    }
    let sessions = st.sessions.sessions.read().await.len();
    if sessions >= st.max_sessions {
        return json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"ready": false, "reason": "session limit reached"}),
        );
    }
    json_response(StatusCode::OK, json!({"ready": true}))
}

fn jsonrpc_error(status: StatusCode, code: i64, message: &str) -> Response {
    json_response(
        status,
        json!({"jsonrpc": "2.0", "id": null, "error": {"code": code, "message": message}}),
    )
}

/// Whether a JSON-RPC body (single or batch) carries an `initialize` request.
fn is_initialize(body: &[u8]) -> bool {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    let is_init = |v: &Value| v.get("method").and_then(Value::as_str) == Some("initialize");
    match &value {
        Value::Array(items) => items.iter().any(is_init),
        other => is_init(other),
    }
}

/// Binds sessions to the credential that created them and bounds how many are open.
async fn session_layer(State(st): State<HttpState>, request: Request, next: Next) -> Response {
    let identity = request
        .extensions()
        .get::<Caller>()
        .map(|c| c.identity.clone())
        .unwrap_or_default();
    let session = request
        .headers()
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let method = request.method().clone();
    let mut request = request;
    if let Some(id) = &session {
        let owner = st
            .owners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned();
        if owner.is_some_and(|o| o != identity) {
            // Someone else's session reads exactly like an unknown one.
            tracing::warn!("request refused: session used by a different credential");
            return jsonrpc_error(StatusCode::NOT_FOUND, -32001, "Session not found");
        }
    } else if method == Method::POST {
        let (parts, body) = request.into_parts();
        let bytes = match http_body_util::Limited::new(body, st.max_body_bytes)
            .collect()
            .await
        {
            Ok(collected) => collected.to_bytes(),
            Err(_) => {
                return jsonrpc_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    -32600,
                    "Request body is too large or could not be read.",
                );
            }
        };
        if is_initialize(&bytes) && st.sessions.sessions.read().await.len() >= st.max_sessions {
            tracing::warn!(
                max = st.max_sessions,
                "initialize refused: session limit reached"
            );
            return jsonrpc_error(
                StatusCode::SERVICE_UNAVAILABLE,
                -32000,
                "Too many open MCP sessions; close one (DELETE /mcp) or retry later.",
            );
        }
        request = Request::from_parts(parts, Body::from(bytes));
    }
    let response = next.run(request).await;
    match (&session, response.headers().get(SESSION_HEADER)) {
        (None, Some(created)) => {
            if let Ok(created) = created.to_str() {
                let live: Vec<String> = {
                    let owners = st.owners.lock().unwrap_or_else(|p| p.into_inner());
                    if owners.len() < st.max_sessions * 2 {
                        Vec::new()
                    } else {
                        owners.keys().cloned().collect()
                    }
                };
                let stale: Vec<String> = if live.is_empty() {
                    Vec::new()
                } else {
                    let open = st.sessions.sessions.read().await;
                    live.into_iter()
                        .filter(|id| !open.contains_key(id.as_str()))
                        .collect()
                };
                let mut owners = st.owners.lock().unwrap_or_else(|p| p.into_inner());
                for id in stale {
                    owners.remove(&id);
                }
                owners.insert(created.to_owned(), identity);
            }
        }
        (Some(id), _) if method == Method::DELETE && response.status().is_success() => {
            st.owners
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(id);
        }
        _ => {}
    }
    response
}
