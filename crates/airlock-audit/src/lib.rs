//! `airlock audit`: a risk review of another MCP server's tool surface.
//!
//! Three stages, each its own module:
//! - [`discover`]: a list-only MCP client. It sends `initialize` and `tools/list` (following
//!   `nextCursor`) over stdio or Streamable HTTP, or reads a saved `tools/list` answer, or every
//!   server of an MCP client config. It never sends `tools/call`: auditing a server must not
//!   act on anything behind it. Every way a server can fail or lie (no answer in time, an
//!   oversize or malformed answer, duplicate tool names, a tool without a name) is a
//!   [`DiscoveryError`] with a stable code.
//! - [`rules`]: pure functions from one [`Tool`] to findings, one file per rule, each with a
//!   stable id, a severity, evidence (JSON pointers into the tool list) and a fix naming what
//!   Airlock would expose instead.
//! - [`format`](mod@format): the [`Report`] as text, JSON, Markdown or SARIF 2.1.0.
//!
//! Design decision: the client is a small JSON-RPC client of its own rather than rmcp's. It
//! keeps the audited server's answer as raw JSON (so evidence points at the exact field the
//! server sent), bounds every read, and cannot call a tool because it has no code to.

pub mod discover;
mod error;
pub mod example;
pub mod format;
mod report;
pub mod rules;
mod tool;

pub use discover::{Limits, Target};
pub use error::{DiscoveryError, ErrorCode};
pub use report::{Evidence, Finding, Report, ServerReport, Severity, Summary};
pub use tool::{Tool, parse_tool_list};

/// Audits already discovered servers: applies every rule to every tool.
pub fn audit(servers: Vec<discover::Discovered>) -> Report {
    Report::build(servers)
}
