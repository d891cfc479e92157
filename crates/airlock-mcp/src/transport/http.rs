//! MCP Streamable HTTP on `/mcp` (rmcp), with sessions for 2024-11-05 … 2025-11-25 and the
//! stateless 2026-07-28 revision on the same endpoint; `/healthz` and `/readyz` (the ledger
//! answers) beside it.
//!
//! Layers, outermost first: Host/Origin allow-lists (403); then on `/mcp`: bearer auth (401),
//! per-credential request cap (429), body read within its timeout (408/413), in-flight bound
//! and deadline (503/504), and the session layer (one JSON-RPC object per body, else 400
//! with `-32700`/`-32600`; sessions bound to their credential; per-credential and total
//! session caps that close the least recently used). `/healthz` and `/readyz` get only the
//! in-flight bound.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use axum::routing::get;
use http::{Method, StatusCode};
use http_body_util::BodyExt;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::session::{SessionId, SessionManager};
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::auth::Caller;
use crate::server::session::SessionServer;
use crate::transport::frame;
use crate::transport::limits::{self, Limits};
use crate::transport::net::{self, Guard, HttpOptions, json_response, jsonrpc_error};
use crate::transport::ready;
use crate::transport::sessions::{Access, SessionBook};
use crate::{McpError, McpServer};

const SESSION_HEADER: &str = "mcp-session-id";

/// How long an answered request can still be resumed with `Last-Event-ID`.
const RESUME_WINDOW: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Clone)]
struct HttpState {
    server: McpServer,
    sessions: Arc<LocalSessionManager>,
    /// Session id → owning credential and order of use.
    book: Arc<SessionBook>,
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
        move || Ok(SessionServer::new(factory.clone())),
        sessions.clone(),
        config,
    );
    let state = HttpState {
        server,
        sessions,
        book: Arc::new(SessionBook::new(
            opts.max_sessions,
            opts.max_sessions_per_credential,
        )),
        shutting_down: ct,
    };
    let limits = Limits::new(opts);
    // Outermost last: auth, per-credential cap, body, in-flight slot, sessions, rmcp.
    let mcp = Router::new()
        .route_service("/mcp", mcp_service)
        .layer(from_fn_with_state(state.clone(), session_layer))
        .layer(from_fn_with_state(limits.clone(), limits::limit_layer))
        .layer(from_fn_with_state(limits.clone(), limits::body_layer))
        .layer(from_fn_with_state(limits.clone(), limits::credential_layer))
        .layer(from_fn_with_state(opts.auth.clone(), net::auth_layer));
    let open = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
        .fallback(not_found)
        .layer(from_fn_with_state(limits, limits::limit_layer));
    open.merge(mcp).layer(from_fn_with_state(
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
    ready::readiness(&st.server, st.shutting_down.is_cancelled()).await
}

/// Checks that a POST body is one JSON-RPC message (400 with `-32700`/`-32600` otherwise,
/// instead of rmcp's 415), ties sessions to the credential that created them, and keeps the
/// session caps (closing least recently used sessions, see [`SessionBook`]).
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
    if let Some(id) = &session
        && st.book.touch(id, &identity) == Access::Foreign
    {
        // Someone else's session reads exactly like an unknown one.
        tracing::warn!("request refused: session used by a different credential");
        return jsonrpc_error(
            StatusCode::NOT_FOUND,
            Value::Null,
            -32001,
            "Session not found",
        );
    }
    let method = request.method().clone();
    let mut request = request;
    if method == Method::POST {
        // The body is already in memory (`limits::body_layer`).
        let (parts, body) = request.into_parts();
        let bytes = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => {
                return jsonrpc_error(
                    StatusCode::BAD_REQUEST,
                    Value::Null,
                    frame::PARSE_ERROR,
                    "The request body could not be read.",
                );
            }
        };
        if let Err(rejected) = frame::parse(&bytes) {
            return jsonrpc_error(
                StatusCode::BAD_REQUEST,
                rejected.id,
                rejected.code,
                rejected.message,
            );
        }
        request = Request::from_parts(parts, Body::from(bytes));
    }
    let response = next.run(request).await;
    match (&session, response.headers().get(SESSION_HEADER)) {
        (None, Some(created)) => {
            if let Ok(created) = created.to_str() {
                let open: HashSet<String> = st
                    .sessions
                    .sessions
                    .read()
                    .await
                    .keys()
                    .map(|k| k.to_string())
                    .collect();
                let victims = st.book.admit(created, &identity, |id| open.contains(id));
                for victim in victims {
                    tracing::info!(
                        "closing the least recently used MCP session: session cap reached"
                    );
                    if let Err(e) = st.sessions.close_session(&SessionId::from(victim)).await {
                        tracing::debug!(error = %e, "evicted session was already closing");
                    }
                }
            }
        }
        (Some(id), _) if method == Method::DELETE && response.status().is_success() => {
            st.book.forget(id);
        }
        _ => {}
    }
    response
}
