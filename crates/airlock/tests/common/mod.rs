//! Helpers for CLI tests: run the real binary, normalise volatile output for snapshots.

#![allow(dead_code)]

pub mod handler;
pub mod http;
pub mod receiver;
pub mod webdriver;

use std::path::{Path, PathBuf};

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Asserts that a run exited 0, showing its output otherwise.
pub fn ok(run: &Run) {
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
}

/// The JSON a run printed on stdout, after asserting it exited 0.
pub fn json_of(run: &Run) -> serde_json::Value {
    ok(run);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

/// Runs `airlock` in `dir` with a clean environment (no inherited AIRLOCK_* variables).
pub fn airlock(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = clean_command(dir);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("airlock runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
    }
}

/// `airlock` in `dir` without inherited `AIRLOCK_*`/`SYNAPSOR_*` variables.
pub fn clean_command(dir: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("airlock"));
    cmd.current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("AIRLOCK_") || k.starts_with("SYNAPSOR_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// Replaces ids, hashes, timestamps, durations and temp paths with stable placeholders.
pub fn scrub(text: &str, dir: &Path) -> String {
    let mut s = text.replace(&dir.display().to_string(), "[DIR]");
    let rules: &[(&str, &str)] = &[
        (r"wrp_[0-9a-f]{20}", "[PROPOSAL_ID]"),
        (r"ev_[0-9a-f]{20}", "[EVIDENCE_ID]"),
        (r"sha256:[0-9a-f]{64}", "[SHA256]"),
        (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z", "[TIME]"),
        (r#""duration_us": \d+"#, r#""duration_us": "[US]""#),
    ];
    for (pattern, replacement) in rules {
        s = regex_lite::Regex::new(pattern)
            .unwrap()
            .replace_all(&s, *replacement)
            .into_owned();
    }
    s
}

/// Our example apps' configs: `examples/configs/<name>/airlock.json`.
pub fn examples_dir() -> PathBuf {
    airlock_testkit::repo_root().join("examples/configs")
}

/// The config file name in each of [`examples_dir`]'s folders.
pub const EXAMPLE_CONFIG: &str = "airlock.json";

pub const EXAMPLES: [&str; 4] = [
    "garden-sqlite",
    "parcels-mysql",
    "studio-postgres",
    "tutoring-handler-postgres",
];

/// Compatibility tier: the original's example apps (`../shared/conformance/examples`, each
/// with a `synapsor.runner.json`), or `None` after a SKIP line (a failure under `CI=true`).
pub fn original_examples_dir(what: &str) -> Option<PathBuf> {
    airlock_testkit::shared_conformance(what).map(|dir| dir.join("examples"))
}

pub const ORIGINAL_CONFIG: &str = "synapsor.runner.json";

pub const ORIGINAL_EXAMPLES: [&str; 4] = [
    "mcp-mysql-orders",
    "mcp-postgres-billing-app-handler",
    "mcp-postgres-support",
    "support-billing-agent",
];

/// Serves `airlock <global> mcp serve <serve_flags>` over stdio in `dir` with a clean
/// environment, sends `initialize` then `request` (a JSON-RPC request with id 2) and returns
/// its reply.
pub fn mcp_stdio_request(
    dir: &Path,
    global: &[&str],
    serve_flags: &[&str],
    request: &serde_json::Value,
) -> serde_json::Value {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    let mut cmd = clean_command(dir);
    cmd.args(global).args(["mcp", "serve"]).args(serve_flags);
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn airlock mcp serve");
    let mut stdin = child.stdin.take().expect("stdin");
    let initialize = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "airlock-tests", "version": "0"}}});
    let initialized = serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    for frame in [&initialize, &initialized, request] {
        writeln!(stdin, "{frame}").expect("write frame");
    }
    stdin.flush().expect("flush");
    let stdout = child.stdout.take().expect("stdout");
    let mut reply = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("utf-8 line");
        let v: serde_json::Value = serde_json::from_str(&line).expect("a JSON-RPC frame");
        if v["id"] == 2 {
            reply = Some(v);
            break;
        }
    }
    drop(stdin);
    let status = child.wait().expect("wait");
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        std::io::Read::read_to_string(&mut e, &mut stderr).ok();
    }
    reply.unwrap_or_else(|| panic!("no reply to id 2 (exit {status}): {stderr}"))
}
