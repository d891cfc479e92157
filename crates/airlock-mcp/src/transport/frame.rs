//! One incoming JSON-RPC frame (an HTTP body or a stdio line), parsed the way rmcp parses
//! it, with a JSON-RPC error for every way it can be wrong: `-32700` when it is not JSON
//! (bad syntax, invalid UTF-8, nesting deeper than 128, numbers out of range) and `-32600`
//! when it is JSON but not one request or notification (batches included).

use rmcp::model::ClientJsonRpcMessage;
use serde_json::Value;

/// Why a frame was refused, as a JSON-RPC error.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rejected {
    pub(crate) code: i64,
    pub(crate) message: String,
    /// The request id when the frame has a usable one, else `null`.
    pub(crate) id: Value,
    /// The frame is an object without `id` (a notification): JSON-RPC says it gets no reply
    /// where the transport allows silence (stdio).
    pub(crate) notification: bool,
}

pub(crate) const PARSE_ERROR: i64 = -32700;
pub(crate) const INVALID_REQUEST: i64 = -32600;

/// Parses one frame, or says precisely why it is not a message.
pub(crate) fn parse(bytes: &[u8]) -> Result<ClientJsonRpcMessage, Rejected> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let first = match serde_json::from_slice::<ClientJsonRpcMessage>(bytes) {
        Ok(message) => return Ok(message),
        Err(e) => e,
    };
    let rejected = |code, message: String, id, notification| Rejected {
        code,
        message,
        id,
        notification,
    };
    let value = match serde_json::from_slice::<Value>(bytes) {
        Ok(value) => value,
        Err(e) => {
            return Err(rejected(
                PARSE_ERROR,
                format!("Parse error: the message is not valid JSON ({e})."),
                Value::Null,
                false,
            ));
        }
    };
    Err(match value {
        Value::Array(_) => rejected(
            INVALID_REQUEST,
            "Batches are not supported: send one JSON-RPC object per message.".into(),
            Value::Null,
            false,
        ),
        Value::Object(object) => {
            let id = match object.get("id") {
                Some(id @ Value::String(_)) => id.clone(),
                Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Value::Number(n.clone()),
                _ => Value::Null,
            };
            let notification = !object.contains_key("id");
            tracing::debug!(error = %first, "message refused: not a JSON-RPC request");
            rejected(
                INVALID_REQUEST,
                "Invalid request: expected a JSON-RPC 2.0 request or notification \
                 (jsonrpc \"2.0\", a string method, an integer or string id)."
                    .into(),
                id,
                notification,
            )
        }
        _ => rejected(
            INVALID_REQUEST,
            "Invalid request: a JSON-RPC message must be an object.".into(),
            Value::Null,
            false,
        ),
    })
}

/// How one incoming frame is answered, for the fuzz targets (`airlock-fuzz`) and anyone
/// checking the contract from outside: `Ok(())` when rmcp takes it as a message, else the
/// JSON-RPC error code it gets. Panics if a refusal breaks the contract (a code other than
/// parse error / invalid request, or an id that is neither null, a string nor an integer).
pub fn check_frame(bytes: &[u8]) -> Result<(), i64> {
    match parse(bytes) {
        Ok(_) => Ok(()),
        Err(r) => {
            assert!(
                r.code == PARSE_ERROR || r.code == INVALID_REQUEST,
                "unexpected code {}",
                r.code
            );
            assert!(
                r.id.is_null() || r.id.is_string() || r.id.is_i64() || r.id.is_u64(),
                "unusable id {}",
                r.id
            );
            assert!(!r.message.is_empty());
            Err(r.code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(bytes: &[u8]) -> i64 {
        parse(bytes).err().map(|r| r.code).unwrap_or(0)
    }

    #[test]
    fn each_bad_frame_has_its_code() {
        assert_eq!(code(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#), 0);
        assert_eq!(code(b"not json"), PARSE_ERROR);
        assert_eq!(
            code(b"{\"jsonrpc\":\"2.0\",\"id\":\"\xff\",\"method\":\"ping\"}"),
            PARSE_ERROR
        );
        assert_eq!(
            code(br#"{"jsonrpc":"2.0","id":1e400,"method":"ping"}"#),
            PARSE_ERROR
        );
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(code(deep.as_bytes()), PARSE_ERROR);
        assert_eq!(
            code(br#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#),
            INVALID_REQUEST
        );
        assert_eq!(code(b"42"), INVALID_REQUEST);
        assert_eq!(
            code(br#"{"jsonrpc":"2.0","id":18446744073709551616,"method":"ping"}"#),
            INVALID_REQUEST
        );
        let r = parse(br#"{"jsonrpc":"1.0","id":7,"method":"ping"}"#).unwrap_err();
        assert_eq!(
            (r.code, r.id, r.notification),
            (INVALID_REQUEST, Value::from(7), false)
        );
    }
}
