//! MCP over stdio. Nothing but protocol frames is written to stdout; logs go to stderr.

use rmcp::ServiceExt;
use rmcp::service::ServerInitializeError;
use tokio_util::sync::CancellationToken;

use crate::handler::AirlockHandler;
use crate::{McpError, McpServer};

/// Serves one MCP session on stdin/stdout until the client closes it or the process gets
/// SIGINT/SIGTERM.
pub async fn serve(server: McpServer) -> Result<(), McpError> {
    let ct = CancellationToken::new();
    crate::transport::net::cancel_on_signal(ct.clone())?;
    let running = match AirlockHandler::new(server)
        .serve_with_ct(rmcp::transport::stdio_pipes(), ct)
        .await
    {
        Ok(running) => running,
        // The client went away (or a signal came) before initializing: a clean end.
        Err(ServerInitializeError::ConnectionClosed(_) | ServerInitializeError::Cancelled) => {
            return Ok(());
        }
        Err(e) => return Err(McpError::Stdio(e.to_string())),
    };
    running
        .waiting()
        .await
        .map_err(|e| McpError::Stdio(e.to_string()))?;
    Ok(())
}
