//! The JSON-RPC bridge (`airlock mcp serve-http`): a small authenticated bridge, not the spec
//! MCP transport, for
//! scripts and gateways. `POST /rpc` (also `/` and `/mcp`) with one JSON-RPC request:
//! `tools/list`, `tools/call`, `resources/read`, `ping`. Same tools, envelopes, auth and
//! hardening as the Streamable HTTP server; errors carry the request id and a proper code.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::from_fn_with_state;
use axum::response::Response;
use axum::routing::{get, post};
use http::StatusCode;
use http_body_util::BodyExt;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use crate::auth::Caller;
use crate::resources;
use crate::server::{short_name, text_copy};
use crate::trace::{CallTrace, Network};
use crate::transport::limits::{self, Limits};
use crate::transport::net::{self, Guard, HttpOptions, json_response, jsonrpc_error as error};
use crate::{McpError, McpServer};

#[derive(Clone)]
struct BridgeState {
    server: McpServer,
}

/// Serves until SIGINT/SIGTERM. `on_listen` gets the bound address.
pub async fn serve(
    server: McpServer,
    opts: HttpOptions,
    on_listen: impl FnOnce(SocketAddr),
) -> Result<(), McpError> {
    let ct = CancellationToken::new();
    net::cancel_on_signal(ct.clone())?;
    let listener = net::bind(&opts).await?;
    if let Ok(addr) = listener.local_addr() {
        on_listen(addr);
    }
    net::serve(listener, router(server, &opts), &opts, ct).await
}

fn router(server: McpServer, opts: &HttpOptions) -> Router {
    let state = BridgeState { server };
    let limits = Limits::new(opts);
    // Outermost last: auth, per-credential cap, body, in-flight slot.
    let rpc = Router::new()
        .route("/rpc", post(rpc).fallback(method_not_allowed))
        .route("/", post(rpc).fallback(method_not_allowed))
        .route("/mcp", post(rpc).fallback(method_not_allowed))
        .with_state(state.clone())
        .layer(from_fn_with_state(limits.clone(), limits::limit_layer))
        .layer(from_fn_with_state(limits.clone(), limits::body_layer))
        .layer(from_fn_with_state(limits.clone(), limits::credential_layer))
        .layer(from_fn_with_state(opts.auth.clone(), net::auth_layer));
    let open = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
        .fallback(|| async {
            json_response(
                StatusCode::NOT_FOUND,
                json!({"ok": false, "error": "not_found"}),
            )
        })
        .layer(from_fn_with_state(limits, limits::limit_layer));
    open.merge(rpc).layer(from_fn_with_state(
        Arc::new(Guard::new(opts)),
        net::guard_layer,
    ))
}

use std::sync::Arc;

async fn method_not_allowed() -> Response {
    let mut r = json_response(
        StatusCode::METHOD_NOT_ALLOWED,
        json!({"ok": false, "error": "method_not_allowed"}),
    );
    r.headers_mut()
        .insert(http::header::ALLOW, http::HeaderValue::from_static("POST"));
    r
}

async fn healthz(State(st): State<BridgeState>) -> Response {
    json_response(
        StatusCode::OK,
        json!({
            "ok": true,
            "transport": "http",
            "tools": st.server.capability_count(),
            "mode": st.server.runtime().config().mode.as_str(),
        }),
    )
}

async fn readyz(State(st): State<BridgeState>) -> Response {
    crate::transport::ready::readiness(&st.server, false).await
}

async fn rpc(State(st): State<BridgeState>, request: Request) -> Response {
    let claims = request
        .extensions()
        .get::<Caller>()
        .and_then(|c| c.scope.clone());
    let trace = airlock_telemetry::tracer()
        .map(|_| CallTrace::new(Network::Http).with_headers(request.headers()));
    // The body is already in memory, within the size limit (`limits::body_layer`).
    let body = match request.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                Value::Null,
                -32700,
                "The request body could not be read.",
            );
        }
    };
    let Ok(message) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            Value::Null,
            -32700,
            "Parse error: the body is not JSON.",
        );
    };
    let Value::Object(message) = message else {
        return error(
            StatusCode::BAD_REQUEST,
            Value::Null,
            -32600,
            "A JSON-RPC request must be one object (batches are not supported).",
        );
    };
    let id = match message.get("id") {
        None | Some(Value::Null) => Value::Null,
        Some(id @ Value::String(_)) => id.clone(),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Value::Number(n.clone()),
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                Value::Null,
                -32600,
                "JSON-RPC id must be a string or an integer.",
            );
        }
    };
    if message.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return error(
            StatusCode::BAD_REQUEST,
            id,
            -32600,
            "JSON-RPC version must be \"2.0\".",
        );
    }
    let Some(method) = message.get("method").and_then(Value::as_str) else {
        return error(
            StatusCode::BAD_REQUEST,
            id,
            -32600,
            "JSON-RPC method is required.",
        );
    };
    let empty = Map::new();
    let params = match message.get("params") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(p)) => p,
        Some(_) => return error(StatusCode::OK, id, -32602, "params must be an object."),
    };
    let result = match method {
        "ping" => Ok(json!({})),
        "tools/list" => Ok(json!({"tools": st.server.tools_json()})),
        "tools/call" => {
            let trace = trace.map(|t| {
                let mut t = t.with_meta(params.get("_meta").and_then(Value::as_object));
                t.request_id = match &id {
                    Value::Null => None,
                    Value::String(s) => Some(s.clone()),
                    other => Some(other.to_string()),
                };
                t
            });
            call(&st.server, params, claims.as_ref(), trace).await
        }
        "resources/read" => read(&st.server, params, claims.as_ref()).await,
        other => Err((-32601, format!("Method not found: {}", short_name(other)))),
    };
    match result {
        Ok(result) => json_response(
            StatusCode::OK,
            json!({"jsonrpc": "2.0", "id": id, "result": result}),
        ),
        Err((code, message)) => error(StatusCode::OK, id, code, message),
    }
}

type RpcResult = Result<Value, (i64, String)>;

async fn call(
    server: &McpServer,
    params: &Map<String, Value>,
    claims: Option<&airlock_capability::plan::TrustedScope>,
    trace: Option<CallTrace>,
) -> RpcResult {
    let Some(name) = params.get("name").and_then(Value::as_str) else {
        return Err((-32602, "tools/call requires params.name.".into()));
    };
    let empty = Value::Object(Map::new());
    let args = params
        .get("arguments")
        .or_else(|| params.get("args"))
        .unwrap_or(&empty);
    let Value::Object(args) = args else {
        return Err((-32602, "params.arguments must be an object.".into()));
    };
    match server.call_traced(name, args, claims, trace).await {
        Some(reply) => Ok(json!({
            "content": [{"type": "text", "text": text_copy(&reply.envelope)}],
            "structuredContent": reply.envelope,
            "isError": reply.is_error,
        })),
        None => Err((-32602, format!("Unknown tool: {}", short_name(name)))),
    }
}

async fn read(
    server: &McpServer,
    params: &Map<String, Value>,
    claims: Option<&airlock_capability::plan::TrustedScope>,
) -> RpcResult {
    let Some(uri) = params.get("uri").and_then(Value::as_str) else {
        return Err((-32602, "resources/read requires params.uri.".into()));
    };
    match resources::read(server, uri, claims).await {
        Ok(payload) => Ok(json!({
            "contents": [{"uri": uri, "mimeType": "application/json", "text": text_copy(&payload)}],
        })),
        Err(e @ resources::ResourceError::NotFound { .. }) => Err((-32002, e.to_string())),
        Err(e @ resources::ResourceError::NoTrustedScope(_)) => Err((-32600, e.to_string())),
        Err(e @ resources::ResourceError::LedgerUnavailable) => Err((-32603, e.to_string())),
    }
}
