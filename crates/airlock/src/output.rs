//! Exit statuses, error reporting and JSON printing. The only place that writes to stdout.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Done as asked.
    Success,
    /// The command ran and the answer is "no": a failed call, a refused input, a broken ledger.
    Failure,
    /// The input to the command is invalid (config invalid, bad usage).
    Invalid,
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> ExitCode {
        ExitCode::from(match s {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Invalid => 2,
        })
    }
}

/// An error with a separate line of advice.
#[derive(Debug)]
pub struct Hinted {
    pub message: String,
    pub hint: String,
}

impl std::fmt::Display for Hinted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Hinted {}

pub fn hinted(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Hinted {
        message: message.into(),
        hint: hint.into(),
    })
}

/// Input a command cannot use (a bad filter, duration or token): exit status 2, a stable
/// code, and advice.
#[derive(Debug)]
pub struct Invalid {
    pub code: &'static str,
    pub message: String,
    pub hint: String,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}", self.code, self.message)
    }
}

impl std::error::Error for Invalid {}

pub fn invalid(
    code: &'static str,
    message: impl Into<String>,
    hint: impl Into<String>,
) -> anyhow::Error {
    anyhow::Error::new(Invalid {
        code,
        message: message.into(),
        hint: hint.into(),
    })
}

/// Whether `e` is bad input to the command (exit status 2) rather than a failure.
pub fn is_invalid_input(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<Invalid>().is_some()
            || matches!(
                c.downcast_ref::<airlock_ledger::LedgerError>(),
                Some(airlock_ledger::LedgerError::Cursor { .. })
            )
    })
}

/// `error: <chain>` and, when known, `hint: <advice>` on stderr.
pub fn report_error(e: &anyhow::Error) {
    let mut err = std::io::stderr().lock();
    let code = e
        .chain()
        .find_map(|c| c.downcast_ref::<airlock_config::LoadError>())
        .map(airlock_config::LoadError::code);
    let hint = error_hint(e);
    if JSON_LOGS.load(std::sync::atomic::Ordering::Relaxed) {
        let mut fields = serde_json::json!({"message": format!("{e:#}")});
        if let Some(code) = code {
            fields["code"] = code.to_string().into();
        }
        if let Some(h) = &hint {
            fields["hint"] = h.clone().into();
        }
        let _ = writeln!(err, "{}", json_log_line("ERROR", fields));
        return;
    }
    match code {
        Some(code) => {
            let _ = writeln!(err, "error[{code}]: {e:#}");
        }
        None => {
            let _ = writeln!(err, "error: {e:#}");
        }
    }
    if let Some(h) = hint {
        let _ = writeln!(err, "hint: {h}");
    }
}

/// Whether stderr carries JSON lines (`--log-format json`, `AIRLOCK_LOG_FORMAT=json`).
static JSON_LOGS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// One log line in the JSON logs' shape, for what is written outside `tracing`.
fn json_log_line(level: &str, fields: serde_json::Value) -> String {
    serde_json::json!({
        "timestamp": airlock_protocol::now_rfc3339(),
        "level": level,
        "fields": fields,
        "target": "airlock",
    })
    .to_string()
}

/// A line for the operator on stderr (startup banner, notes): as is, or as a JSON log line.
pub fn note(text: &str) {
    if JSON_LOGS.load(std::sync::atomic::Ordering::Relaxed) {
        eprintln!(
            "{}",
            json_log_line("INFO", serde_json::json!({"message": text}))
        );
    } else {
        eprintln!("{text}");
    }
}

fn error_hint(e: &anyhow::Error) -> Option<String> {
    e.chain()
        .find_map(|c| c.downcast_ref::<Hinted>().map(|h| h.hint.clone()))
        .or_else(|| {
            e.chain()
                .find_map(|c| c.downcast_ref::<Invalid>().map(|i| i.hint.clone()))
        })
        .or_else(|| {
            e.chain().find_map(|c| {
                c.downcast_ref::<airlock_ledger::LedgerError>()
                    .and_then(|l| l.hint())
                    .map(str::to_owned)
            })
        })
        .or_else(|| {
            e.chain().find_map(|c| {
                c.downcast_ref::<airlock_config::LoadError>()
                    .map(|l| l.hint())
            })
        })
}

/// Logs go to stderr, never stdout. `AIRLOCK_LOG` sets the filter (default `warn`).
pub fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env(airlock_config::env_vars::LOG)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    if json {
        JSON_LOGS.store(true, std::sync::atomic::Ordering::Relaxed);
        // One JSON object per line; inside a traced tool call, `span` carries its
        // trace_id and span_id.
        let _ = tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init();
        return;
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

/// Pretty JSON and a newline on stdout.
pub fn json(v: &impl serde::Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(v)?;
    line(&text);
    Ok(())
}

/// Compact JSON on one line of stdout (JSON lines, for `--json` streams).
pub fn json_line(v: &impl serde::Serialize) -> anyhow::Result<()> {
    line(&serde_json::to_string(v)?);
    Ok(())
}

/// Raw bytes on stdout (generated scripts and pages). A closed pipe ends output quietly.
pub fn bytes(b: &[u8]) {
    let mut out = std::io::stdout().lock();
    if out.write_all(b).and_then(|()| out.flush()).is_err() {
        std::process::exit(0);
    }
}

/// One line of human output on stdout. A closed pipe (`| head`) ends output quietly.
pub fn line(s: &str) {
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{s}").is_err() {
        std::process::exit(0);
    }
}

/// The last line of a page that has a next one: the flag that continues it.
pub fn more(next_cursor: Option<&str>) {
    if let Some(token) = next_cursor {
        line(&format!("More: --cursor {token}"));
    }
}

/// `warning: <text>` on stderr, where scripts reading stdout (`--json`) never see it.
pub fn warn(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "warning: {text}");
}

/// Whether a person is watching stdout.
pub fn interactive() -> bool {
    std::io::stdout().is_terminal() && std::io::stdin().is_terminal()
}

/// Asks a yes/no question on the terminal. Without a terminal, refuses: scripts pass --yes.
pub fn confirm(question: &str) -> anyhow::Result<bool> {
    use std::io::BufRead;
    if !std::io::stdin().is_terminal() {
        return Err(hinted(
            "confirmation needed, and stdin is not a terminal",
            "pass --yes to confirm from a script",
        ));
    }
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{question} Type yes to continue: ");
    let _ = err.flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim().eq_ignore_ascii_case("yes"))
}
