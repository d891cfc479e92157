//! Why a server could not be audited: a stable code, what happened, and what to do.

use std::fmt;

/// Stable codes of discovery errors (docs/audit.md lists them). Scripts match on these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorCode {
    /// The target could not be understood (empty command, unterminated quote, bad URL).
    Usage,
    /// The stdio command could not be started.
    SpawnFailed,
    /// The server did not answer within the timeout.
    Timeout,
    /// The server process ended (or closed its output) before answering.
    ServerExited,
    /// An answer was larger than the limit.
    ResponseTooLarge,
    /// An answer was not JSON, or not the JSON-RPC response asked for.
    BadJson,
    /// The server answered `initialize` or `tools/list` with a JSON-RPC error.
    RpcError,
    /// The tool list breaks the MCP shape: no `tools` array, a tool without a string name,
    /// too many tools or pages.
    InvalidToolList,
    /// Two tools of one server share a name: a client cannot tell which one it calls.
    DuplicateTool,
    /// The HTTP connection failed.
    Connect,
    /// The HTTP server answered 401 or 403.
    Unauthorized,
    /// The HTTP server answered another non-success status.
    HttpStatus,
    /// The variable named by `--bearer-env` is not set.
    BearerEnvUnset,
    /// A file (saved tool list, client config) could not be read.
    File,
    /// The MCP client config has no servers, or a server entry cannot be used.
    Config,
}

impl ErrorCode {
    /// The code as printed and as it appears in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Usage => "AUDIT_USAGE",
            ErrorCode::SpawnFailed => "AUDIT_SPAWN_FAILED",
            ErrorCode::Timeout => "AUDIT_TIMEOUT",
            ErrorCode::ServerExited => "AUDIT_SERVER_EXITED",
            ErrorCode::ResponseTooLarge => "AUDIT_RESPONSE_TOO_LARGE",
            ErrorCode::BadJson => "AUDIT_BAD_JSON",
            ErrorCode::RpcError => "AUDIT_RPC_ERROR",
            ErrorCode::InvalidToolList => "AUDIT_INVALID_TOOL_LIST",
            ErrorCode::DuplicateTool => "AUDIT_DUPLICATE_TOOL",
            ErrorCode::Connect => "AUDIT_CONNECT",
            ErrorCode::Unauthorized => "AUDIT_UNAUTHORIZED",
            ErrorCode::HttpStatus => "AUDIT_HTTP_STATUS",
            ErrorCode::BearerEnvUnset => "AUDIT_BEARER_ENV_UNSET",
            ErrorCode::File => "AUDIT_FILE",
            ErrorCode::Config => "AUDIT_CONFIG",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A server that could not be audited.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct DiscoveryError {
    pub code: ErrorCode,
    pub message: String,
    pub hint: String,
}

impl DiscoveryError {
    pub fn new(code: ErrorCode, message: impl Into<String>, hint: impl Into<String>) -> Self {
        DiscoveryError {
            code,
            message: message.into(),
            hint: hint.into(),
        }
    }
}
