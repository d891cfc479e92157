//! The JSON-RPC messages discovery sends, and how answers are matched. Shared by both
//! transports, so the exchange is the same whichever carries it.

use serde_json::{Value, json};

use crate::error::{DiscoveryError, ErrorCode};

/// The protocol revision asked for; servers answer with one they support.
pub(crate) const PROTOCOL_VERSION: &str = "2025-06-18";

/// Longest server-provided text quoted in an error.
const QUOTE: usize = 300;

/// The `initialize` request.
pub(crate) fn initialize(id: u64) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "method": "initialize",
        "params": {
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "airlock-audit", "version": env!("CARGO_PKG_VERSION")},
        },
    })
}

/// `notifications/initialized`.
pub(crate) fn initialized() -> Value {
    json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
}

/// `tools/list`, with the cursor of the previous page.
pub(crate) fn tools_list(id: u64, cursor: Option<&str>) -> Value {
    let params = match cursor {
        Some(c) => json!({"cursor": c}),
        None => json!({}),
    };
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/list", "params": params})
}

/// A "method not found" answer to a request the server sent us (discovery serves nothing).
pub(crate) fn refuse(request: &Value) -> Option<Value> {
    let id = request.get("id")?;
    request.get("method")?;
    Some(json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {"code": -32601, "message": "airlock audit only lists tools"},
    }))
}

/// `Some(result)` when `msg` answers request `id`; `None` for other messages.
pub(crate) fn answer(msg: &Value, id: u64, method: &str) -> Option<Result<Value, DiscoveryError>> {
    if msg.get("method").is_some() || msg.get("id").and_then(Value::as_u64) != Some(id) {
        return None;
    }
    if let Some(error) = msg.get("error") {
        let message = error.get("message").and_then(Value::as_str).unwrap_or("");
        return Some(Err(DiscoveryError::new(
            ErrorCode::RpcError,
            format!(
                "the server answered {method} with error {}: {}",
                error.get("code").unwrap_or(&Value::Null),
                quote(message)
            ),
            "the server refused discovery; check its own logs and arguments",
        )));
    }
    Some(match msg.get("result") {
        Some(r) if r.is_object() => Ok(r.clone()),
        _ => Err(DiscoveryError::new(
            ErrorCode::BadJson,
            format!("the answer to {method} has no result object"),
            "the server does not speak MCP's JSON-RPC",
        )),
    })
}

/// The exchange both transports run: initialize, initialized, then every page of tools.
pub(crate) trait Session {
    /// Sends a request and waits for its answer.
    async fn request(&mut self, msg: Value, id: u64, method: &str)
    -> Result<Value, DiscoveryError>;
    /// Sends a notification.
    async fn notify(&mut self, msg: Value) -> Result<(), DiscoveryError>;
}

/// Lists every tool of the server behind `session`.
pub(crate) async fn list_tools(
    session: &mut impl Session,
    max_pages: usize,
) -> Result<Vec<Value>, DiscoveryError> {
    let init = session.request(initialize(1), 1, "initialize").await?;
    if init
        .get("protocolVersion")
        .and_then(Value::as_str)
        .is_none()
    {
        return Err(DiscoveryError::new(
            ErrorCode::BadJson,
            "the initialize answer has no protocolVersion",
            "the server does not speak MCP",
        ));
    }
    session.notify(initialized()).await?;
    let mut tools = Vec::new();
    let mut cursor: Option<String> = None;
    for page in 0..max_pages {
        let id = 2 + page as u64;
        let result = session
            .request(tools_list(id, cursor.as_deref()), id, "tools/list")
            .await?;
        let Some(list) = result.get("tools").and_then(Value::as_array) else {
            return Err(DiscoveryError::new(
                ErrorCode::InvalidToolList,
                "the tools/list answer has no tools array",
                "the server's tools/list result must carry `tools: [...]`",
            ));
        };
        tools.extend(list.iter().cloned());
        match result.get("nextCursor") {
            None | Some(Value::Null) => return Ok(tools),
            Some(Value::String(next)) if cursor.as_deref() != Some(next) => {
                cursor = Some(next.clone())
            }
            Some(_) => {
                return Err(DiscoveryError::new(
                    ErrorCode::InvalidToolList,
                    "tools/list returned an invalid or repeating nextCursor",
                    "the server's pagination does not end; report it to its authors",
                ));
            }
        }
    }
    Err(DiscoveryError::new(
        ErrorCode::InvalidToolList,
        format!("tools/list still had more pages after {max_pages}"),
        "a real server lists its tools in a few pages; check the target",
    ))
}

/// Server text for an error message: at most [`QUOTE`] characters, on one line.
pub(crate) fn quote(s: &str) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = one_line.trim();
    match trimmed.char_indices().nth(QUOTE) {
        Some((i, _)) => format!("{}…", &trimmed[..i]),
        None => trimmed.to_owned(),
    }
}
