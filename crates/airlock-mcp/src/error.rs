//! Errors of starting or running a server. Each names its cause.

use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum McpError {
    #[error("the stdio MCP session failed: {0}")]
    Stdio(String),
    #[error("could not listen on {addr}: {source}")]
    Listen {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("could not accept connections on {addr}: {source}")]
    Accept {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "refusing to listen on {host} without authentication: only loopback addresses may run with --dev-no-auth"
    )]
    UnauthenticatedNonLoopback { host: String },
    #[error("{0}")]
    Auth(#[from] crate::auth::AuthSetupError),
    #[error("could not install the signal handler: {0}")]
    Signal(std::io::Error),
}
