//! Built-in examples for `airlock audit --example NAME`: tool lists that show what the rules
//! find without any server running.

use serde_json::Value;

use crate::discover::Discovered;
use crate::error::{DiscoveryError, ErrorCode};
use crate::tool::parse_tool_list;

/// The examples, by name: a database MCP server with the usual raw-SQL surface.
pub const EXAMPLES: &[(&str, &str)] = &[(
    "dangerous-db-mcp",
    include_str!("../resources/dangerous-db-mcp.json"),
)];

/// The default `--example`.
pub const DEFAULT: &str = "dangerous-db-mcp";

/// The example's tool list as the audit sees it.
pub fn load(name: &str) -> Result<Discovered, DiscoveryError> {
    let Some((_, text)) = EXAMPLES.iter().find(|(n, _)| *n == name) else {
        return Err(DiscoveryError::new(
            ErrorCode::Usage,
            format!("unknown audit example {name:?}"),
            format!(
                "available examples: {}",
                EXAMPLES
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    };
    let doc: Value = serde_json::from_str(text).expect("built-in examples are valid JSON");
    Ok(Discovered {
        target: format!("example:{name}"),
        server: None,
        file: None,
        outcome: parse_tool_list(&doc),
    })
}
