//! Discovery: ask a server for its tools, and nothing else.
//!
//! A live server is asked `initialize`, told `notifications/initialized`, then asked
//! `tools/list` until it stops returning `nextCursor`. No other request is ever sent; in
//! particular there is no code here that builds a `tools/call`. Every read is bounded
//! ([`Limits`]) and every failure is a [`DiscoveryError`] with a stable code.

mod http;
mod jsonrpc;
pub mod mcp_config;
mod stdio;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use airlock_config::redact::Redactor;
use serde_json::Value;

pub use http::HttpServer;
pub use stdio::{StdioServer, split_command};

use crate::error::{DiscoveryError, ErrorCode};
use crate::tool::{Tool, parse_tool_list, tools_from};

/// Bounds on one server's discovery.
#[derive(Debug, Clone)]
pub struct Limits {
    /// For the whole exchange with one server (start, initialize, every page).
    pub timeout: Duration,
    /// Bytes read from one server, all answers together (and the size of a saved file).
    pub max_bytes: usize,
    /// `tools/list` pages followed.
    pub max_pages: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(10),
            max_bytes: 16 * 1024 * 1024,
            max_pages: 100,
        }
    }
}

/// What to audit.
#[derive(Debug, Clone)]
pub enum Target {
    /// Start a server and speak MCP over its stdin/stdout.
    Stdio(StdioServer),
    /// A Streamable HTTP endpoint.
    Http(HttpServer),
    /// A saved `tools/list` answer.
    ToolsJson(PathBuf),
    /// Every server in an MCP client config (Claude Desktop, Cursor, VS Code, Claude Code).
    McpConfig(PathBuf),
}

/// One server's tools, or why they could not be had.
#[derive(Debug)]
pub struct Discovered {
    /// The target as shown in reports (credentials redacted).
    pub target: String,
    /// The server's name in a client config.
    pub server: Option<String>,
    /// The file the tools came from, for report locations.
    pub file: Option<String>,
    pub outcome: Result<Vec<Tool>, DiscoveryError>,
}

/// Discovers `target`'s tools. `env` answers `${env:NAME}` references in client configs.
/// A client config gives one entry per server; every other target gives one.
pub async fn discover(
    target: &Target,
    limits: &Limits,
    env: &HashMap<String, String>,
) -> Vec<Discovered> {
    match target {
        Target::Stdio(server) => vec![Discovered {
            target: server.label(env),
            server: None,
            file: None,
            outcome: live(server.list_tools(limits), limits).await,
        }],
        Target::Http(server) => vec![Discovered {
            target: server.label(),
            server: None,
            file: None,
            outcome: live(server.list_tools(limits), limits).await,
        }],
        Target::ToolsJson(path) => vec![Discovered {
            target: path.display().to_string(),
            server: None,
            file: Some(path.display().to_string()),
            outcome: read_json(path, limits).and_then(|doc| parse_tool_list(&doc)),
        }],
        Target::McpConfig(path) => {
            match read_json(path, limits).and_then(|doc| mcp_config::servers(&doc, env)) {
                Err(e) => vec![Discovered {
                    target: path.display().to_string(),
                    server: None,
                    file: Some(path.display().to_string()),
                    outcome: Err(e),
                }],
                Ok(servers) => {
                    let mut out = Vec::with_capacity(servers.len());
                    for (name, spec) in servers {
                        let (label, outcome) = match spec {
                            Err(e) => (format!("{}#{name}", path.display()), Err(e)),
                            Ok(mcp_config::Spec::Stdio(s)) => {
                                (s.label(env), live(s.list_tools(limits), limits).await)
                            }
                            Ok(mcp_config::Spec::Http(h)) => {
                                (h.label(), live(h.list_tools(limits), limits).await)
                            }
                        };
                        out.push(Discovered {
                            target: label,
                            server: Some(name),
                            file: Some(path.display().to_string()),
                            outcome,
                        });
                    }
                    out
                }
            }
        }
    }
}

/// Runs one live exchange under the timeout.
async fn live(
    exchange: impl Future<Output = Result<Vec<Value>, DiscoveryError>>,
    limits: &Limits,
) -> Result<Vec<Tool>, DiscoveryError> {
    let tools = tokio::time::timeout(limits.timeout, exchange)
        .await
        .map_err(|_| {
            DiscoveryError::new(
                ErrorCode::Timeout,
                format!(
                    "the server did not list its tools within {} ms",
                    limits.timeout.as_millis()
                ),
                "raise --timeout-ms for a slow start (first npx/uvx runs download packages), or check that the command starts an MCP server",
            )
        })??;
    tools_from(&tools, "/tools")
}

/// Reads a JSON file, bounded by `limits.max_bytes`.
pub fn read_json(path: &Path, limits: &Limits) -> Result<Value, DiscoveryError> {
    let file_error = |e: std::io::Error| {
        DiscoveryError::new(
            ErrorCode::File,
            format!("cannot read {}: {e}", path.display()),
            "check the path",
        )
    };
    let len = std::fs::metadata(path).map_err(file_error)?.len();
    if len > limits.max_bytes as u64 {
        return Err(DiscoveryError::new(
            ErrorCode::ResponseTooLarge,
            format!(
                "{} is {len} bytes, more than {}",
                path.display(),
                limits.max_bytes
            ),
            "a tool list is far smaller; check the file",
        ));
    }
    let bytes = std::fs::read(path).map_err(file_error)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        DiscoveryError::new(
            ErrorCode::BadJson,
            format!("{} is not JSON: {e}", path.display()),
            "save the tools/list answer as JSON",
        )
    })
}

/// Redacts credentials (URLs with passwords, `Bearer …`, secret-named variables' values)
/// from text shown in reports and errors.
pub(crate) fn redact(text: &str, secrets: &[&str], env: &HashMap<String, String>) -> String {
    Redactor::new(secrets, env).text(text)
}
