//! Discovery against a scriptable server (tests/fixtures/fake_mcp_server.py) that records
//! every method it receives: the audit lists tools and never calls one, follows pages, and
//! turns every way a server can fail or lie into an error with a stable code.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use airlock_audit::discover::{self, HttpServer, StdioServer};
use airlock_audit::{ErrorCode, Limits, Target};

fn fake() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fake_mcp_server.py")
        .display()
        .to_string()
}

fn python() -> String {
    let ok = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(ok, "python3 is needed to run the fake MCP server");
    "python3".to_owned()
}

fn stdio(mode: &str, log: &Path) -> Target {
    Target::Stdio(StdioServer {
        program: python(),
        args: vec![fake(), "stdio".into(), mode.into()],
        env: vec![("FAKE_MCP_LOG".into(), log.display().to_string())],
        cwd: None,
    })
}

fn limits() -> Limits {
    Limits {
        timeout: Duration::from_secs(30),
        max_bytes: 1024 * 1024,
        max_pages: 5,
    }
}

async fn outcome(target: &Target, limits: &Limits) -> Result<Vec<String>, (ErrorCode, String)> {
    let mut found = discover::discover(target, limits, &HashMap::new()).await;
    assert_eq!(found.len(), 1);
    match found.remove(0).outcome {
        Ok(tools) => Ok(tools.into_iter().map(|t| t.name).collect()),
        Err(e) => Err((e.code, e.message)),
    }
}

fn methods(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn stdio_discovery_lists_every_page_and_never_calls_a_tool() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.log");
    let tools = outcome(&stdio("ok", &log), &limits()).await.unwrap();
    assert_eq!(tools, ["execute_sql", "list_tables", "delete_row"]);
    assert_eq!(
        methods(&log),
        [
            "initialize",
            "notifications/initialized",
            "tools/list",
            "tools/list"
        ]
    );
}

#[tokio::test]
async fn log_lines_on_stdout_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let tools = outcome(&stdio("noise", &dir.path().join("l")), &limits())
        .await
        .unwrap();
    assert_eq!(tools.len(), 3);
}

#[tokio::test]
async fn servers_that_fail_or_lie_give_stable_codes() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.log");
    let short = Limits {
        timeout: Duration::from_secs(2),
        ..limits()
    };
    for (mode, code, limits) in [
        ("bad-json", ErrorCode::BadJson, limits()),
        ("die", ErrorCode::ServerExited, limits()),
        ("dup", ErrorCode::DuplicateTool, limits()),
        ("no-name", ErrorCode::InvalidToolList, limits()),
        ("giant", ErrorCode::ResponseTooLarge, limits()),
        ("rpc-error", ErrorCode::RpcError, limits()),
        ("endless-pages", ErrorCode::InvalidToolList, limits()),
        ("silent", ErrorCode::Timeout, short),
    ] {
        let got = outcome(&stdio(mode, &log), &limits).await;
        let (got_code, message) = got.expect_err(mode);
        assert_eq!(got_code, code, "{mode}: {message}");
        if mode == "die" {
            assert!(message.contains("boom"), "{message}");
            assert!(
                !message.contains("hunter2"),
                "stderr is redacted: {message}"
            );
        }
    }
    assert!(!methods(&log).iter().any(|m| m == "tools/call"));
}

#[tokio::test]
async fn a_command_that_does_not_exist_is_a_spawn_error() {
    let target =
        Target::Stdio(StdioServer::from_command_line("/nonexistent/mcp-server --x").unwrap());
    assert_eq!(
        outcome(&target, &limits()).await.unwrap_err().0,
        ErrorCode::SpawnFailed
    );
}

struct HttpFake {
    child: std::process::Child,
    url: String,
}

impl Drop for HttpFake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http_fake(mode: &str, log: &Path, dir: &Path) -> HttpFake {
    let portfile: PathBuf = dir.join(format!("port-{mode}"));
    let child = std::process::Command::new(python())
        .args([
            fake(),
            "http".into(),
            mode.into(),
            portfile.display().to_string(),
        ])
        .env("FAKE_MCP_LOG", log)
        .spawn()
        .unwrap();
    let mut fake = HttpFake {
        child,
        url: String::new(),
    };
    for _ in 0..600 {
        if let Ok(port) = std::fs::read_to_string(&portfile) {
            fake.url = format!("http://127.0.0.1:{port}/mcp");
            return fake;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the fake HTTP server did not start");
}

#[tokio::test]
async fn streamable_http_discovery_carries_bearer_and_session_and_never_calls_a_tool() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.log");
    let server = http_fake("ok", &log, dir.path());
    let target = Target::Http(HttpServer::new(&server.url, Some("s3cret")).unwrap());
    let tools = outcome(&target, &limits()).await.unwrap();
    assert_eq!(tools, ["execute_sql", "list_tables", "delete_row"]);
    assert_eq!(
        methods(&log),
        [
            "initialize",
            "notifications/initialized",
            "tools/list",
            "tools/list",
            "DELETE"
        ]
    );

    let wrong = Target::Http(HttpServer::new(&server.url, Some("nope")).unwrap());
    assert_eq!(
        outcome(&wrong, &limits()).await.unwrap_err().0,
        ErrorCode::Unauthorized
    );
    let closed = Target::Http(HttpServer::new("http://127.0.0.1:9/mcp", None).unwrap());
    assert_eq!(
        outcome(&closed, &limits()).await.unwrap_err().0,
        ErrorCode::Connect
    );
}

#[tokio::test]
async fn a_client_config_audits_every_server_and_reports_broken_ones_alone() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.log");
    let config = dir.path().join("claude_desktop_config.json");
    let entry = |mode: &str| serde_json::json!({"command": "python3", "args": [fake(), "stdio", mode], "env": {"FAKE_MCP_LOG": log.display().to_string()}});
    std::fs::write(
        &config,
        serde_json::json!({"mcpServers": {"good": entry("ok"), "liar": entry("dup"), "unset": {"command": "x", "args": ["${NOPE}"]}}}).to_string(),
    )
    .unwrap();
    python();
    let found = discover::discover(&Target::McpConfig(config), &limits(), &HashMap::new()).await;
    let summary: Vec<(String, Option<ErrorCode>)> = found
        .iter()
        .map(|d| {
            (
                d.server.clone().unwrap(),
                d.outcome.as_ref().err().map(|e| e.code),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("good".to_owned(), None),
            ("liar".to_owned(), Some(ErrorCode::DuplicateTool)),
            ("unset".to_owned(), Some(ErrorCode::Config)),
        ]
    );
}
