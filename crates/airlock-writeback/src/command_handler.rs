//! The `command_handler` executor: runs the team's own program with the request on stdin and
//! reads the receipt from stdout.
//!
//! - The command line comes from the variable named by `command_env`. It is split into argv
//!   like a POSIX shell splits words (whitespace; `'…'` literal; `"…"` with `\"` `\\` `\$`
//!   `` \` `` escapes; `\x` outside quotes), but **no shell runs**: no pipes, redirections,
//!   variables or globs. Write `sh -c '…'` yourself when you want a shell.
//! - The program runs in its own process group with the environment Airlock was given. stdin
//!   gets one JSON line (the request, [`Transport::Command`] shape) and is closed.
//! - Exit 0 and stdout holding exactly one receipt JSON → mapped like an HTTP 2xx answer.
//!   Non-zero exit → `failed` with `HANDLER_EXIT_<code>`; invalid stdout →
//!   `HANDLER_INVALID_RECEIPT`; no exit within `timeout_ms` → the whole process group is killed
//!   and the result is `HANDLER_TIMEOUT`; the program cannot start → `HANDLER_UNAVAILABLE`.
//!   A program that could not start wrote nothing (the approval stands); a timeout, a non-zero
//!   exit or an answer that is not a receipt leaves the outcome unknown (the approval stands;
//!   the retry relies on the idempotency key); a `conflict` or `failed` receipt settles it.
//! - stderr is captured (first [`STDERR_KEEP`] bytes), redacted, and kept in the outcome's
//!   detail (the apply report), never in the protocol receipt.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use airlock_config::Executor as ExecutorConfig;
use airlock_config::redact::Redactor;
use airlock_protocol::handler::{HandlerProbe, HandlerRequest, Transport};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use crate::apply::ApplyError;
use crate::executor::{ApplyPlan, AttemptEffect, Executor, Outcome};
use crate::handler_outcome::{
    Expected, codes, exit_code, failed, outcome_from_answer, truncate_chars,
};
use crate::http_handler::{DEFAULT_TIMEOUT_MS, MAX_ANSWER_BYTES, required_env, runner_hint};
use crate::probe::{self, Probe, ProbeOutcome};

/// Bytes of stderr kept (the rest is read and dropped).
pub const STDERR_KEEP: usize = 16 * 1024;
/// Characters of (redacted) stderr shown in the outcome detail.
pub const STDERR_SHOWN: usize = 2000;
/// After the program exits, how long to wait for its pipes to close (a background child may
/// hold them) before the group is killed.
const PIPE_GRACE: Duration = Duration::from_millis(500);

pub use airlock_config::split_command;

/// Settings of one command handler, resolved from config and environment.
pub struct CommandHandler {
    name: String,
    argv: Vec<String>,
    timeout: Duration,
    runner_hint: String,
    env: HashMap<String, String>,
    redactor: Redactor,
}

impl fmt::Debug for CommandHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommandHandler")
            .field("name", &self.name)
            .field("program", &self.argv.first())
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Result of [`CommandHandler::probe`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct CommandProbe {
    pub runnable: bool,
    /// The resolved program path, when found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub program: Option<PathBuf>,
    pub detail: String,
}

impl CommandHandler {
    pub fn from_config(
        name: &str,
        cfg: &ExecutorConfig,
        env: &HashMap<String, String>,
    ) -> Result<CommandHandler, ApplyError> {
        let var = cfg
            .command_env
            .as_deref()
            .ok_or_else(|| ApplyError::Setup(format!("executor `{name}` has no command_env")))?;
        let line = required_env(env, var, "command_env", name)?;
        let argv = split_command(&line).map_err(|why| {
            ApplyError::Setup(format!("{var} (command_env of executor `{name}`): {why}"))
        })?;
        if argv.is_empty() {
            return Err(ApplyError::Setup(format!(
                "{var} (command_env of executor `{name}`) did not contain a command"
            )));
        }
        Ok(CommandHandler {
            name: name.to_owned(),
            argv,
            timeout: Duration::from_millis(cfg.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS).max(1)),
            runner_hint: runner_hint(env),
            redactor: Redactor::new(&[], env),
            env: env.clone(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the program exists and is executable, without running it.
    pub fn locate(&self) -> CommandProbe {
        let program = &self.argv[0];
        let found = if program.contains('/') {
            Some(PathBuf::from(program)).filter(|p| is_executable(p))
        } else {
            self.env
                .get("PATH")
                .map(String::as_str)
                .unwrap_or("/usr/local/bin:/usr/bin:/bin")
                .split(':')
                .filter(|d| !d.is_empty())
                .map(|d| Path::new(d).join(program))
                .find(|p| is_executable(p))
        };
        match found {
            Some(p) => CommandProbe {
                runnable: true,
                detail: format!("{} is executable", p.display()),
                program: Some(p),
            },
            None => CommandProbe {
                runnable: false,
                program: None,
                detail: if program.contains('/') {
                    format!("{program} does not exist or is not executable")
                } else {
                    format!("{program} was not found on PATH")
                },
            },
        }
    }

    fn stderr_note(&self, stderr: &[u8]) -> String {
        let text = String::from_utf8_lossy(stderr);
        let text = text.trim();
        if text.is_empty() {
            String::new()
        } else {
            format!(
                "; stderr: {}",
                truncate_chars(&self.redactor.text(text), STDERR_SHOWN)
            )
        }
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Bytes read from a pipe so far, shared with the reading task; `true` once more than the
/// cap arrived.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<(Vec<u8>, bool)>>);

impl Captured {
    fn take(&self) -> (Vec<u8>, bool) {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Reads a pipe to its end, keeping at most `keep` bytes.
async fn read_into(mut r: impl AsyncRead + Unpin, into: Captured, keep: usize) {
    let mut buf = [0u8; 8192];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                let mut g = into.0.lock().unwrap_or_else(|e| e.into_inner());
                let room = keep.saturating_sub(g.0.len());
                if n > room {
                    g.1 = true;
                }
                g.0.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
}

fn kill_group(pgid: Option<u32>) {
    if let Some(id) = pgid.and_then(|id| i32::try_from(id).ok()) {
        // ESRCH (already gone) is fine.
        let _ = killpg(Pid::from_raw(id), Signal::SIGKILL);
    }
}

#[async_trait::async_trait]
impl Executor for CommandHandler {
    fn kind(&self) -> &'static str {
        "command_handler"
    }

    async fn apply(&self, plan: &ApplyPlan<'_>, dry_run: bool) -> Outcome {
        let name = &self.name;
        let request = HandlerRequest::new(
            plan.job,
            plan.change_set,
            name,
            &self.runner_hint,
            dry_run,
            Transport::Command,
        );
        let ran = match self.run(request.to_body()).await {
            Ok(r) => r,
            Err(kind) => {
                return failed(
                    codes::UNAVAILABLE,
                    format!("command handler `{name}` could not start ({kind})"),
                    dry_run,
                )
                .with_effect(AttemptEffect::NothingWritten);
            }
        };
        let note = self.stderr_note(&ran.stderr);
        let Some(status) = ran.status else {
            return failed(
                codes::TIMEOUT,
                format!(
                    "command handler `{name}` did not finish within {} ms; its process group was killed{note}",
                    self.timeout.as_millis()
                ),
                dry_run,
            )
            .with_effect(AttemptEffect::OutcomeUnknown);
        };
        if !status.success() {
            let code = exit_code(status.code());
            return failed(
                code,
                format!(
                    "command handler `{name}` exited with {}{note}",
                    status
                        .code()
                        .map_or_else(|| "a signal".to_owned(), |c| format!("status {c}"))
                ),
                dry_run,
            )
            .with_effect(AttemptEffect::OutcomeUnknown);
        }
        if ran.overflow {
            return failed(
                codes::INVALID_RECEIPT,
                format!(
                    "command handler `{name}` printed more than {MAX_ANSWER_BYTES} bytes{note}"
                ),
                dry_run,
            )
            .with_effect(AttemptEffect::OutcomeUnknown);
        }
        let text = String::from_utf8_lossy(&ran.stdout);
        let exp = Expected {
            executor: name,
            proposal_id: &request.proposal_id,
            idempotency_key: &request.idempotency_key,
            dry_run,
        };
        let mut o = outcome_from_answer(text.trim().as_bytes(), &exp, &self.redactor);
        o.detail = o.detail.replacen("app handler", "command handler", 1);
        o.detail.push_str(&note);
        o
    }
}

/// What one run of the program left: its exit (`None`: killed at the timeout), stdout (and
/// whether it overflowed the cap) and stderr.
struct Ran {
    status: Option<std::process::ExitStatus>,
    stdout: Vec<u8>,
    overflow: bool,
    stderr: Vec<u8>,
}

impl CommandHandler {
    /// Runs the program once with `input` and a newline on stdin, within the timeout (the
    /// whole process group is killed past it). `Err`: it could not start.
    async fn run(&self, mut input: Vec<u8>) -> Result<Ran, std::io::ErrorKind> {
        input.push(b'\n');
        let mut cmd = Command::new(&self.argv[0]);
        cmd.args(&self.argv[1..])
            .env_clear()
            .envs(&self.env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| e.kind())?;
        let pgid = child.id();
        let mut stdin = child.stdin.take().expect("stdin piped");
        let stdout = child.stdout.take().expect("stdout piped");
        let stderr = child.stderr.take().expect("stderr piped");
        let writer = tokio::spawn(async move {
            // A program that exits without reading stdin closes the pipe: not our failure.
            let _ = stdin.write_all(&input).await;
            let _ = stdin.shutdown().await;
        });
        let out_buf = Captured::default();
        let err_buf = Captured::default();
        let out_task = tokio::spawn(read_into(stdout, out_buf.clone(), MAX_ANSWER_BYTES));
        let err_task = tokio::spawn(read_into(stderr, err_buf.clone(), STDERR_KEEP));
        let status = match tokio::time::timeout(self.timeout, child.wait()).await {
            Ok(Ok(s)) => Some(s),
            Ok(Err(_)) | Err(_) => None,
        };
        if status.is_none() {
            kill_group(pgid);
        }
        // The pipes close when every process holding them is gone. A background child that
        // outlives the program keeps them open: after a grace period the group is killed.
        let drained = tokio::time::timeout(PIPE_GRACE, async move {
            let _ = out_task.await;
            let _ = err_task.await;
        })
        .await;
        if drained.is_err() {
            kill_group(pgid);
        }
        writer.abort();
        let _ = child.wait().await;
        let (stdout, overflow) = out_buf.take();
        let (stderr, _) = err_buf.take();
        Ok(Ran {
            status,
            stdout,
            overflow,
            stderr,
        })
    }

    /// Runs the program once with a [`HandlerProbe`] on stdin (nothing is applied) and
    /// classifies what it prints, like [`HttpHandler::probe`](crate::http_handler::HttpHandler::probe)
    /// does for HTTP. A missing or non-executable program is found before anything runs.
    pub async fn probe(&self) -> Probe {
        let found = self.locate();
        if !found.runnable {
            return Probe::new(ProbeOutcome::NotRunnable, found.detail);
        }
        let request = HandlerProbe::new(&self.name, &self.runner_hint);
        let ran = match self.run(request.to_body()).await {
            Ok(r) => r,
            Err(kind) => {
                return Probe::new(
                    ProbeOutcome::NotRunnable,
                    format!("could not start ({kind})"),
                );
            }
        };
        match ran.status {
            None => Probe::new(
                ProbeOutcome::Unreachable,
                format!(
                    "did not answer the probe within {} ms",
                    self.timeout.as_millis()
                ),
            ),
            Some(s) if !s.success() => Probe::new(
                ProbeOutcome::BadAnswer,
                format!(
                    "exited with {} on the probe{}",
                    s.code()
                        .map_or_else(|| "a signal".to_owned(), |c| format!("status {c}")),
                    self.stderr_note(&ran.stderr)
                ),
            ),
            Some(_) => probe::classify_answer(
                String::from_utf8_lossy(&ran.stdout).trim().as_bytes(),
                &request.probe_id,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_a_shell_without_one() {
        let s = |l: &str| split_command(l).unwrap();
        assert_eq!(s("python3 handler.py"), ["python3", "handler.py"]);
        assert_eq!(
            s(r#"  node "my handler.mjs" --x='a b' c\ d "q\"x" '' "#),
            ["node", "my handler.mjs", "--x=a b", "c d", "q\"x", ""]
        );
        assert_eq!(s("a|b >c $HOME"), ["a|b", ">c", "$HOME"]);
        assert_eq!(s(r#""a\nb""#), [r"a\nb"]);
        assert!(s("").is_empty());
        assert!(split_command("x 'open").is_err());
        assert!(split_command("x \"open").is_err());
        assert!(split_command("x \\").is_err());
    }
}
