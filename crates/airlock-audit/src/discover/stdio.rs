//! MCP over a child process's stdin and stdout: one JSON-RPC message per line.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use super::jsonrpc::{self, Session, quote};
use super::{Limits, redact};
use crate::error::{DiscoveryError, ErrorCode};

/// Bytes of the server's stderr kept for error messages.
const STDERR_TAIL: usize = 4096;
/// Lines on stdout that are not JSON (banners, logs) skipped before giving up.
const MAX_NOISE_LINES: usize = 1000;

/// A server started as a process.
#[derive(Debug, Clone)]
pub struct StdioServer {
    pub program: String,
    pub args: Vec<String>,
    /// Variables set for the server on top of the inherited environment.
    pub env: Vec<(String, String)>,
    pub cwd: Option<PathBuf>,
}

impl StdioServer {
    /// From `--stdio "CMD ARGS"`.
    pub fn from_command_line(line: &str) -> Result<StdioServer, DiscoveryError> {
        let mut words = split_command(line)?.into_iter();
        let program = words.next().ok_or_else(|| {
            DiscoveryError::new(
                ErrorCode::Usage,
                "the --stdio command is empty",
                "pass the server's command line, e.g. --stdio \"npx -y @bytebase/dbhub --dsn ...\"",
            )
        })?;
        Ok(StdioServer {
            program,
            args: words.collect(),
            env: Vec::new(),
            cwd: None,
        })
    }

    /// `stdio:CMD ARGS`, credentials redacted.
    pub fn label(&self, env: &HashMap<String, String>) -> String {
        let line = std::iter::once(self.program.as_str())
            .chain(self.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ");
        let secrets: Vec<&str> = self.env.iter().map(|(_, v)| v.as_str()).collect();
        redact(&format!("stdio:{line}"), &secrets, env)
    }

    pub(crate) async fn list_tools(&self, limits: &Limits) -> Result<Vec<Value>, DiscoveryError> {
        let mut session = StdioSession::start(self, limits)?;
        let result = jsonrpc::list_tools(&mut session, limits.max_pages).await;
        let result = match result {
            Err(e) if e.code == ErrorCode::ServerExited => Err(session.exited(e).await),
            other => other,
        };
        session.stop().await;
        result
    }
}

struct StdioSession {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    stderr: Arc<Mutex<Vec<u8>>>,
    /// The task copying stderr into `stderr`; it ends at the pipe's end of file.
    stderr_reader: Option<tokio::task::JoinHandle<()>>,
    read: usize,
    max_bytes: usize,
    secrets: Vec<String>,
}

impl StdioSession {
    fn start(server: &StdioServer, limits: &Limits) -> Result<StdioSession, DiscoveryError> {
        let mut cmd = Command::new(&server.program);
        cmd.args(&server.args)
            .envs(server.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(dir) = &server.cwd {
            cmd.current_dir(dir);
        }
        let mut child = cmd.spawn().map_err(|e| {
            DiscoveryError::new(
                ErrorCode::SpawnFailed,
                format!("cannot start {:?}: {e}", server.program),
                "check that the command is installed and on PATH (or give its full path)",
            )
        })?;
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut stderr_reader = None;
        if let Some(mut pipe) = child.stderr.take() {
            let tail = Arc::clone(&stderr);
            stderr_reader = Some(tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    let mut t = tail.lock().expect("stderr tail lock");
                    t.extend_from_slice(&buf[..n]);
                    let excess = t.len().saturating_sub(STDERR_TAIL);
                    t.drain(..excess);
                }
            }));
        }
        Ok(StdioSession {
            child,
            stdin,
            stdout,
            stderr,
            stderr_reader,
            read: 0,
            max_bytes: limits.max_bytes,
            secrets: server.env.iter().map(|(_, v)| v.clone()).collect(),
        })
    }

    async fn send(&mut self, msg: &Value) -> Result<(), DiscoveryError> {
        let mut line = serde_json::to_vec(msg).expect("a JSON value serializes");
        line.push(b'\n');
        let Some(stdin) = self.stdin.as_mut() else {
            return Err(gone("stdin is closed"));
        };
        stdin
            .write_all(&line)
            .await
            .and(stdin.flush().await)
            .map_err(|e| gone(&format!("writing to its stdin failed: {e}")))
    }

    /// The next JSON message on stdout. Lines that do not start like JSON are logs some
    /// servers print there; they are skipped. A line that starts like JSON must be JSON.
    async fn next_message(&mut self) -> Result<Value, DiscoveryError> {
        for _ in 0..MAX_NOISE_LINES {
            let mut line = Vec::new();
            let room = (self.max_bytes.saturating_sub(self.read) + 1) as u64;
            let n = (&mut self.stdout)
                .take(room)
                .read_until(b'\n', &mut line)
                .await
                .map_err(|e| gone(&format!("reading its stdout failed: {e}")))?;
            if n == 0 {
                return Err(gone("it closed stdout before answering"));
            }
            self.read += n;
            if self.read > self.max_bytes {
                return Err(DiscoveryError::new(
                    ErrorCode::ResponseTooLarge,
                    format!("the server sent more than {} bytes", self.max_bytes),
                    "a tool list is far smaller; the server is broken or hostile",
                ));
            }
            let text = line.trim_ascii();
            if !(text.starts_with(b"{") || text.starts_with(b"[")) {
                continue;
            }
            return serde_json::from_slice(text).map_err(|e| {
                DiscoveryError::new(
                    ErrorCode::BadJson,
                    format!(
                        "the server wrote a line that is not JSON ({e}): {}",
                        quote(&String::from_utf8_lossy(text))
                    ),
                    "an MCP stdio server writes only JSON-RPC messages on stdout; logs belong on stderr",
                )
            });
        }
        Err(DiscoveryError::new(
            ErrorCode::BadJson,
            format!("the server wrote {MAX_NOISE_LINES} lines that are not JSON-RPC messages"),
            "check that the command starts an MCP stdio server",
        ))
    }

    /// Adds how the process ended and the end of its stderr to an exit error.
    async fn exited(&mut self, e: DiscoveryError) -> DiscoveryError {
        let status = tokio::time::timeout(Duration::from_millis(500), self.child.wait())
            .await
            .ok()
            .and_then(Result::ok)
            .map_or_else(|| "still running".to_owned(), |s| s.to_string());
        // A process that exited has closed stderr: let the reader take its last bytes first.
        if let Some(reader) = self.stderr_reader.take() {
            let _ = tokio::time::timeout(Duration::from_millis(500), reader).await;
        }
        let tail =
            String::from_utf8_lossy(&self.stderr.lock().expect("stderr tail lock")).into_owned();
        let secrets: Vec<&str> = self.secrets.iter().map(String::as_str).collect();
        let tail = redact(&quote(tail.trim()), &secrets, &HashMap::new());
        let mut message = format!("{} (process: {status})", e.message);
        if !tail.is_empty() {
            message.push_str(&format!("; its stderr ends: {tail}"));
        }
        DiscoveryError { message, ..e }
    }

    /// Closes stdin, gives the server a moment to exit, then kills it.
    async fn stop(mut self) {
        drop(self.stdin.take());
        if tokio::time::timeout(Duration::from_millis(500), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

impl Session for StdioSession {
    async fn request(
        &mut self,
        msg: Value,
        id: u64,
        method: &str,
    ) -> Result<Value, DiscoveryError> {
        self.send(&msg).await?;
        loop {
            let incoming = self.next_message().await?;
            if let Some(answer) = jsonrpc::answer(&incoming, id, method) {
                return answer;
            }
            if let Some(refusal) = jsonrpc::refuse(&incoming) {
                self.send(&refusal).await?;
            }
        }
    }

    async fn notify(&mut self, msg: Value) -> Result<(), DiscoveryError> {
        self.send(&msg).await
    }
}

fn gone(what: &str) -> DiscoveryError {
    DiscoveryError::new(
        ErrorCode::ServerExited,
        format!("the server stopped talking: {what}"),
        "run the command by hand to see why it exits (missing arguments, a database it cannot reach)",
    )
}

/// Splits `--stdio`'s command line with Airlock's one splitter
/// ([`airlock_config::split_command`]).
pub fn split_command(line: &str) -> Result<Vec<String>, DiscoveryError> {
    airlock_config::split_command(line).map_err(|why| {
        DiscoveryError::new(
            ErrorCode::Usage,
            format!("the --stdio command cannot be split: {why}"),
            "close every ' and \" in the command line",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_split_like_a_shell_without_running_one() {
        assert_eq!(
            split_command(r#"npx -y "@scope/pkg" --dsn 'postgres://a b' x\ y "q\"t" $HOME"#)
                .unwrap(),
            [
                "npx",
                "-y",
                "@scope/pkg",
                "--dsn",
                "postgres://a b",
                "x y",
                "q\"t",
                "$HOME"
            ]
        );
        assert_eq!(split_command("  ").unwrap(), Vec::<String>::new());
        assert_eq!(split_command("a ''").unwrap(), ["a", ""]);
        assert_eq!(split_command("a 'b").unwrap_err().code, ErrorCode::Usage);
        assert_eq!(split_command("a \"b").unwrap_err().code, ErrorCode::Usage);
    }
}
