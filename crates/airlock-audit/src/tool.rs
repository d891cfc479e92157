//! One tool as the audited server listed it, kept as raw JSON with its place in the list.

use std::collections::HashSet;

use serde_json::Value;

use crate::error::{DiscoveryError, ErrorCode};

/// Most tools one server may list; more is treated as a broken or hostile answer.
pub const MAX_TOOLS: usize = 5_000;

/// A tool from a `tools/list` answer.
#[derive(Debug, Clone)]
pub struct Tool {
    /// The tool's `name`.
    pub name: String,
    /// JSON pointer of the tool object in the audited document (`/tools/3`,
    /// `/result/tools/3` in a saved JSON-RPC response).
    pub pointer: String,
    /// The tool object exactly as the server sent it.
    pub raw: Value,
}

impl Tool {
    /// A string field of the tool (`description`, `title`), or "".
    pub fn text(&self, key: &str) -> &str {
        self.raw.get(key).and_then(Value::as_str).unwrap_or("")
    }

    /// `inputSchema`, if it is an object.
    pub fn input_schema(&self) -> Option<&Value> {
        self.raw.get("inputSchema").filter(|v| v.is_object())
    }

    /// `outputSchema`, if it is an object.
    pub fn output_schema(&self) -> Option<&Value> {
        self.raw.get("outputSchema").filter(|v| v.is_object())
    }

    /// A boolean annotation (`readOnlyHint`, `destructiveHint`), if the server declared it.
    pub fn hint(&self, key: &str) -> Option<bool> {
        self.raw.get("annotations")?.get(key)?.as_bool()
    }

    /// Pointer to a field of this tool.
    pub fn at(&self, field: &str) -> String {
        format!("{}/{}", self.pointer, field)
    }
}

/// Finds the tools in a saved document: a bare array, `{"tools": [...]}` (a `tools/list`
/// result), or a JSON-RPC response `{"result": {"tools": [...]}}`. Anything else is refused
/// rather than searched, so a document is never audited as something it is not.
pub fn parse_tool_list(doc: &Value) -> Result<Vec<Tool>, DiscoveryError> {
    let (list, base) = if let Some(list) = doc.as_array() {
        (list, String::new())
    } else if let Some(list) = doc.get("tools").and_then(Value::as_array) {
        (list, "/tools".to_owned())
    } else if let Some(list) = doc
        .get("result")
        .and_then(|r| r.get("tools"))
        .and_then(Value::as_array)
    {
        (list, "/result/tools".to_owned())
    } else {
        return Err(DiscoveryError::new(
            ErrorCode::InvalidToolList,
            "no tool list found: expected an array of tools, {\"tools\": [...]}, or a JSON-RPC response with result.tools",
            "save the server's tools/list answer as it is, or use --stdio/--url to ask the server",
        ));
    };
    tools_from(list, &base)
}

/// Checks and wraps the tools of one server, in order.
pub(crate) fn tools_from(list: &[Value], base: &str) -> Result<Vec<Tool>, DiscoveryError> {
    if list.len() > MAX_TOOLS {
        return Err(DiscoveryError::new(
            ErrorCode::InvalidToolList,
            format!(
                "the server listed {} tools, more than {MAX_TOOLS}",
                list.len()
            ),
            "a real server lists far fewer; check that the target is an MCP server",
        ));
    }
    let mut seen = HashSet::new();
    let mut tools = Vec::with_capacity(list.len());
    for (i, raw) in list.iter().enumerate() {
        let pointer = format!("{base}/{i}");
        let Some(name) = raw
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
        else {
            return Err(DiscoveryError::new(
                ErrorCode::InvalidToolList,
                format!("the tool at {pointer} has no string name"),
                "every MCP tool needs a non-empty string `name`; the server's tool list is malformed",
            ));
        };
        if !seen.insert(name) {
            return Err(DiscoveryError::new(
                ErrorCode::DuplicateTool,
                format!("two tools are named {name:?} (the second at {pointer})"),
                "a client cannot tell which of the two it calls; the server must list each name once",
            ));
        }
        tools.push(Tool {
            name: name.to_owned(),
            pointer,
            raw: raw.clone(),
        });
    }
    Ok(tools)
}

/// Escapes one key for a JSON pointer (RFC 6901).
pub(crate) fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_three_saved_shapes_give_pointers_into_the_document() {
        let tool = json!({"name": "q"});
        let bare = parse_tool_list(&json!([tool])).unwrap();
        assert_eq!(bare[0].pointer, "/0");
        let result = parse_tool_list(&json!({"tools": [tool]})).unwrap();
        assert_eq!(result[0].pointer, "/tools/0");
        let rpc = parse_tool_list(&json!({"jsonrpc": "2.0", "id": 2, "result": {"tools": [tool]}}))
            .unwrap();
        assert_eq!(rpc[0].pointer, "/result/tools/0");
    }

    #[test]
    fn lies_are_refused_with_a_code() {
        let dup = parse_tool_list(&json!({"tools": [{"name": "a"}, {"name": "a"}]})).unwrap_err();
        assert_eq!(dup.code, ErrorCode::DuplicateTool);
        let nameless = parse_tool_list(&json!({"tools": [{"name": 7}]})).unwrap_err();
        assert_eq!(nameless.code, ErrorCode::InvalidToolList);
        let other = parse_tool_list(&json!({"mcpServers": {}})).unwrap_err();
        assert_eq!(other.code, ErrorCode::InvalidToolList);
        let many: Vec<_> = (0..=MAX_TOOLS)
            .map(|i| json!({"name": format!("t{i}")}))
            .collect();
        assert_eq!(
            parse_tool_list(&json!(many)).unwrap_err().code,
            ErrorCode::InvalidToolList
        );
    }

    #[test]
    fn pointer_keys_are_escaped() {
        assert_eq!(escape("a/b~c"), "a~1b~0c");
    }
}
