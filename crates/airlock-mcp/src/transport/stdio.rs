//! MCP over stdio. Nothing but protocol frames is written to stdout; logs go to stderr.
//!
//! The line transport is ours rather than rmcp's because rmcp drops a line that is not JSON
//! or longer than its limit without a word, leaving the client waiting forever. Here every
//! bad line that could be a request gets a JSON-RPC error (`-32700` not JSON, `-32600` not a
//! request, batch, or too long) and the next line is served as usual. Notifications (objects
//! without `id`) never get a reply, as JSON-RPC requires.

use std::sync::Arc;

use rmcp::service::{RxJsonRpcMessage, ServerInitializeError, TxJsonRpcMessage};
use rmcp::transport::Transport;
use rmcp::{RoleServer, ServiceExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use crate::server::session::SessionServer;
use crate::transport::frame;
use crate::{McpError, McpServer};

/// Longest line accepted (one JSON-RPC message); a longer one is answered with `-32600`.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// Serves one MCP session on stdin/stdout until the client closes it or the process gets
/// SIGINT/SIGTERM.
pub async fn serve(server: McpServer) -> Result<(), McpError> {
    let ct = CancellationToken::new();
    crate::transport::net::cancel_on_signal(ct.clone())?;
    let (read, write) = rmcp::transport::stdio_pipes();
    let transport = LineTransport::new(read, write, MAX_LINE_BYTES);
    let running = match SessionServer::new(server)
        .serve_with_ct(transport, ct)
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

/// Newline-delimited JSON-RPC with bounded lines and an error reply for each bad one.
pub(crate) struct LineTransport<R, W> {
    read: BufReader<R>,
    /// The line being read. Kept here, not in `receive`, because rmcp polls `receive` in a
    /// `select!` and may drop it mid-line; the next call resumes.
    line: Vec<u8>,
    max_line: usize,
    /// Skipping the rest of a line already refused as too long.
    discarding: bool,
    write: Arc<Mutex<W>>,
}

enum Read {
    Line,
    TooLong,
    Eof,
}

impl<R, W> LineTransport<R, W>
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send + 'static,
{
    pub(crate) fn new(read: R, write: W, max_line: usize) -> LineTransport<R, W> {
        LineTransport {
            read: BufReader::new(read),
            line: Vec::new(),
            max_line,
            discarding: false,
            write: Arc::new(Mutex::new(write)),
        }
    }

    /// Reads one line into `self.line` without letting it grow past `max_line`. Consuming
    /// from the buffer and appending happen with no await between them (cancellation-safe).
    async fn read_line(&mut self) -> std::io::Result<Read> {
        loop {
            let available = self.read.fill_buf().await?;
            if available.is_empty() {
                return Ok(Read::Eof);
            }
            let newline = available.iter().position(|b| *b == b'\n');
            let take = newline.map_or(available.len(), |i| i + 1);
            let outcome = if self.discarding {
                if newline.is_some() {
                    self.discarding = false;
                }
                None
            } else if self.line.len() + take > self.max_line {
                self.line.clear();
                self.discarding = newline.is_none();
                Some(Read::TooLong)
            } else {
                self.line.extend_from_slice(&available[..take]);
                newline.map(|_| Read::Line)
            };
            self.read.consume(take);
            if let Some(outcome) = outcome {
                return Ok(outcome);
            }
        }
    }

    /// Sends an error reply without blocking `receive` (a detached task, so a cancelled
    /// `receive` cannot leave half a frame on stdout).
    fn reply_error(&self, id: Value, code: i64, message: String) {
        let frame =
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}});
        let write = self.write.clone();
        tokio::spawn(async move {
            if let Err(e) = write_frame(&write, frame.to_string().into_bytes()).await {
                tracing::debug!(error = %e, "could not send an error reply on stdout");
            }
        });
    }
}

async fn write_frame<W: AsyncWrite + Unpin>(
    write: &Mutex<W>,
    mut bytes: Vec<u8>,
) -> std::io::Result<()> {
    bytes.push(b'\n');
    let mut w = write.lock().await;
    w.write_all(&bytes).await?;
    w.flush().await
}

impl<R, W> Transport<RoleServer> for LineTransport<R, W>
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send + 'static,
{
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let write = self.write.clone();
        async move {
            let bytes = serde_json::to_vec(&item).map_err(std::io::Error::other)?;
            write_frame(&write, bytes).await
        }
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        loop {
            match self.read_line().await {
                Ok(Read::Line) => {}
                Ok(Read::TooLong) => {
                    tracing::warn!(
                        max = self.max_line,
                        "stdio message refused: longer than the line limit"
                    );
                    self.reply_error(
                        Value::Null,
                        frame::INVALID_REQUEST,
                        format!(
                            "The message is longer than {} bytes and was skipped.",
                            self.max_line
                        ),
                    );
                    continue;
                }
                // A partial last line without its newline is not a message.
                Ok(Read::Eof) => return None,
                Err(e) => {
                    tracing::error!(error = %e, "could not read stdin");
                    return None;
                }
            }
            let line = std::mem::take(&mut self.line);
            let text = line.strip_suffix(b"\n").unwrap_or(&line);
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match frame::parse(text) {
                Ok(message) => return Some(message),
                Err(rejected) if rejected.notification => {
                    tracing::debug!(
                        "ignoring a notification that is not an MCP message: {}",
                        rejected.message
                    );
                }
                Err(rejected) => {
                    tracing::info!(code = rejected.code, "stdio message refused");
                    self.reply_error(rejected.id, rejected.code, rejected.message);
                }
            }
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        self.write.lock().await.flush().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn bad_lines_get_errors_and_the_next_line_is_served() {
        let (mut client, server_in) = tokio::io::duplex(1 << 16);
        let (server_out, mut client_out) = tokio::io::duplex(1 << 16);
        let mut t = LineTransport::new(server_in, server_out, 64);
        let long = "x".repeat(200);
        let input = format!(
            "{long}\nnot json\n[1]\n{{\"jsonrpc\":\"2.0\",\"method\":\"x/y\"}}\n{{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}}\n"
        );
        client.write_all(input.as_bytes()).await.unwrap();
        // The custom notification is delivered (rmcp ignores it), then the ping.
        let first = t.receive().await.expect("the notification");
        assert!(serde_json::to_string(&first).unwrap().contains("x/y"));
        let ping = t.receive().await.expect("the ping after the bad lines");
        assert!(serde_json::to_string(&ping).unwrap().contains("ping"));
        // Three replies (too long, not JSON, batch); the notification gets none.
        let mut got = String::new();
        while got.lines().count() < 3 {
            let mut buf = [0u8; 4096];
            let n = client_out.read(&mut buf).await.unwrap();
            got.push_str(std::str::from_utf8(&buf[..n]).unwrap());
        }
        let mut codes: Vec<i64> = got
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["error"]["code"]
                    .as_i64()
                    .unwrap()
            })
            .collect();
        codes.sort();
        assert_eq!(codes, vec![-32700, -32600, -32600]);
    }
}
