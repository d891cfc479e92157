//! The MCP server of Airlock: the tools of a validated config, served over stdio and
//! Streamable HTTP (rmcp), plus a small authenticated JSON-RPC bridge.
//!
//! - [`McpServer`] is built once per process from a [`Runtime`]: the tool list, the
//!   resource templates and the trusted scope used for resource reads.
//! - [`server::session::SessionServer`] is the hand-written rmcp `ServerHandler` (one per
//!   session): tools come from config, not macros.
//! - [`transport::stdio`], [`transport::http`] and [`transport::jsonrpc_bridge`] serve it; [`auth`] verifies
//!   bearers (static token or JWT `http_claims`); [`resources`] reads ledger records scoped
//!   to the caller's tenant; [`metrics`] serves Prometheus metrics when asked to.
//!
//! Invariants:
//! - This crate is the only one that knows rmcp.
//! - It has no code that can approve or apply a proposal. It holds the runtime's recording
//!   and reading ledger only ([`Runtime::ledger`]), does not depend on `airlock-writeback`,
//!   and cannot name the key every review-side ledger method asks for
//!   (`crates/airlock-mcp/tests/tidy.rs` checks the dependency graph):
//!
//!   ```compile_fail,E0433
//!   let _ = airlock_review_key::ReviewKey::issue();
//!   ```
//! - Tool arguments reach the runtime unchanged: an undeclared key such as `tenant_id` is
//!   refused by the runtime with an error the model can read, never silently dropped.
//! - Over stdio nothing but protocol frames goes to stdout.

pub mod auth;
pub mod client_config;
mod error;
pub mod metrics;
pub mod resources;
pub mod server;
pub mod trace;
pub mod transport;

pub use error::McpError;
pub use server::{McpServer, ServerInfo};

pub use airlock_runtime::Runtime;
