//! Shared by the compatibility tier (`compat_*.rs`): run the real binary as a user switching
//! from Synapsor Runner would, and talk MCP over its stdio.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

/// The store path the original's docs use.
pub const STORE: &str = ".synapsor/local.db";

/// One run of the binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn of(cmd: &mut Command) -> Run {
        let out = cmd.output().expect("airlock runs");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", self.stdout, self.stderr))
    }

    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts the exit status and that stderr names each of `needles`.
    #[track_caller]
    pub fn refused(self, code: i32, needles: &[&str]) -> Run {
        assert_eq!(
            self.code, code,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        for n in needles {
            assert!(
                self.stderr.contains(n),
                "stderr lacks {n:?}:\n{}",
                self.stderr
            );
        }
        self
    }
}

/// `airlock ARGS` in `dir`, without USER, LOGNAME or any AIRLOCK_ / SYNAPSOR_ variable from
/// the test's own environment.
pub fn airlock(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_airlock"));
    cmd.current_dir(dir).args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("AIRLOCK_") || k.starts_with("SYNAPSOR_") || k == "USER" || k == "LOGNAME"
        {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// Initializes an MCP session over the server's stdio, sends `requests` after it, collects
/// the replies with the given ids (in that order), closes stdin and returns them with the
/// server's stderr.
pub fn mcp_session(mut cmd: Command, requests: &[Value], ids: &[i64]) -> (Vec<Value>, String) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn airlock mcp serve");
    let mut stdin = child.stdin.take().unwrap();
    let opening = [
        json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"compat","version":"0"}}}),
        json!({"jsonrpc":"2.0","method":"notifications/initialized"}),
    ];
    for r in opening.iter().chain(requests) {
        writeln!(stdin, "{r}").unwrap();
    }
    stdin.flush().unwrap();
    let mut by_id = HashMap::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while ids.iter().any(|id| !by_id.contains_key(id)) {
        let Some(Ok(line)) = lines.next() else { break };
        let v: Value = serde_json::from_str(&line).expect("stdout carries JSON-RPC only");
        if let Some(id) = v["id"].as_i64() {
            by_id.insert(id, v);
        }
    }
    drop(stdin);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    child.wait().unwrap();
    let replies = ids
        .iter()
        .map(|id| {
            by_id
                .remove(id)
                .unwrap_or_else(|| panic!("no reply to request {id}; stderr:\n{stderr}"))
        })
        .collect();
    (replies, stderr)
}

/// The first proposal id (`wrp_` + 20 hex) in a reply.
pub fn proposal_id(reply: &impl std::fmt::Display) -> String {
    let text = reply.to_string();
    let start = text.find("wrp_").expect("a proposal id in the reply");
    text[start..start + 24].to_owned()
}
