//! `airlock audit` end to end through the real binary: formats, exit codes, usage errors, and
//! Airlock's own surface (every example config, and a live server over stdio and Streamable
//! HTTP) with no high finding and no tool called.

mod common;

use std::path::Path;

use common::airlock;
use serde_json::Value;

fn json_of(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"))
}

#[test]
fn the_built_in_example_in_every_format_and_the_ci_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let text = airlock(dir.path(), &["audit", "--example"], &[]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(
        text.stdout.contains("HIGH   GENERIC_SQL_TOOL  execute_sql"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("evidence: /tools/0/inputSchema/properties/sql"),
        "{}",
        text.stdout
    );

    let json = airlock(
        dir.path(),
        &["audit", "example:dangerous-db-mcp", "--json"],
        &[],
    );
    let report = json_of(&json.stdout);
    assert_eq!(report["schema_version"], "airlock.audit.v1");
    assert_eq!(report["summary"]["tools_inspected"], 8);
    assert!(report["summary"]["high"].as_u64().unwrap() >= 15);
    assert_eq!(report["summary"]["overall_risk"], "high");

    let sarif = airlock(
        dir.path(),
        &["mcp", "audit", "--example", "--format", "sarif"],
        &[],
    );
    assert_eq!(json_of(&sarif.stdout)["version"], "2.1.0");
    let md = airlock(
        dir.path(),
        &["audit", "--example", "--format", "markdown"],
        &[],
    );
    assert!(
        md.stdout.starts_with("# Airlock MCP risk review"),
        "{}",
        md.stdout
    );

    for (threshold, code) in [("high", 1), ("medium", 1), ("low", 1)] {
        let run = airlock(
            dir.path(),
            &["audit", "--example", "--fail-on", threshold],
            &[],
        );
        assert_eq!(run.code, code, "--fail-on {threshold}");
    }
}

#[test]
fn bad_targets_exit_2_with_a_code_and_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.json"), "{\"tools\": [").unwrap();
    for (args, code) in [
        (
            &["audit", "--stdio", "npx 'unterminated"][..],
            "AUDIT_USAGE",
        ),
        (&["audit", "--example", "nope"], "AUDIT_USAGE"),
        (
            &["audit", "--url", "ftp://example.invalid/mcp"],
            "AUDIT_USAGE",
        ),
        (
            &[
                "audit",
                "--url",
                "http://127.0.0.1:9/mcp",
                "--bearer-env",
                "AUDIT_TEST_UNSET_VAR",
            ],
            "AUDIT_BEARER_ENV_UNSET",
        ),
        (&["audit", "--tools-json", "missing.json"], "AUDIT_FILE"),
        (&["audit", "broken.json"], "AUDIT_BAD_JSON"),
        (
            &["audit", "--stdio", "/nonexistent/mcp-server"],
            "AUDIT_SPAWN_FAILED",
        ),
        (
            &["audit", "--url", "http://127.0.0.1:9/mcp"],
            "AUDIT_CONNECT",
        ),
    ] {
        let run = airlock(dir.path(), args, &[]);
        assert_eq!(run.code, 2, "{args:?}: {}{}", run.stdout, run.stderr);
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(all.contains(code), "{args:?} should say {code}:\n{all}");
        assert!(all.contains("hint"), "{args:?}:\n{all}");
    }
    let none = airlock(dir.path(), &["audit"], &[]);
    assert_eq!(none.code, 2, "{}", none.stderr);
    let two = airlock(
        dir.path(),
        &["audit", "--example", "--url", "http://x/mcp"],
        &[],
    );
    assert_eq!(two.code, 2, "{}", two.stderr);
}

#[test]
fn every_example_config_has_no_high_finding() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/configs");
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&root).unwrap() {
        let config = entry.unwrap().path().join("airlock.json");
        let run = airlock(
            dir.path(),
            &[
                "audit",
                config.to_str().unwrap(),
                "--json",
                "--fail-on",
                "high",
            ],
            &[],
        );
        assert_eq!(
            run.code,
            0,
            "{}: {}{}",
            config.display(),
            run.stdout,
            run.stderr
        );
        let report = json_of(&run.stdout);
        assert_eq!(report["summary"]["high"], 0, "{}", run.stdout);
        assert!(report["summary"]["tools_inspected"].as_u64().unwrap() > 0);
    }
}

fn query_audit_rows(ledger: &Path) -> i64 {
    let db = rusqlite::Connection::open(ledger).unwrap();
    db.query_row("SELECT count(*) FROM query_audit", [], |r| r.get(0))
        .unwrap()
}

/// A SQLite app with one read tool whose tenant comes from the environment.
fn stdio_fixture(dir: &Path) -> std::path::PathBuf {
    let db = rusqlite::Connection::open(dir.join("app.db")).unwrap();
    db.execute_batch(
        "CREATE TABLE invoices (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, amount INTEGER NOT NULL);
         INSERT INTO invoices VALUES ('INV-1', 'acme', 100);",
    )
    .unwrap();
    let config = serde_json::json!({
        "version": 1, "mode": "review", "result_format": 2,
        "sources": {"app": {"engine": "sqlite", "path": "app.db"}},
        "trusted_context": {"provider": "environment"},
        "capabilities": [{
            "name": "billing.inspect_invoice", "kind": "read", "source": "app",
            "target": {"table": "invoices", "primary_key": "id", "tenant_key": "tenant_id"},
            "args": {"invoice_id": {"type": "string", "max_length": 32}},
            "lookup": {"id_from_arg": "invoice_id"},
            "visible_columns": ["id", "amount"]
        }]
    });
    let path = dir.join("airlock.json");
    std::fs::write(&path, config.to_string()).unwrap();
    path
}

#[test]
fn a_live_airlock_over_stdio_has_no_high_finding_and_no_call_is_made() {
    let dir = tempfile::tempdir().unwrap();
    let config = stdio_fixture(dir.path());
    let ledger = dir.path().join("ledger.db");
    let serve = format!(
        "'{}' --config '{}' --store '{}' mcp serve",
        env!("CARGO_BIN_EXE_airlock"),
        config.display(),
        ledger.display()
    );
    let env = [
        ("SYNAPSOR_TENANT_ID", "acme"),
        ("SYNAPSOR_PRINCIPAL", "auditor"),
    ];
    let run = airlock(
        dir.path(),
        &[
            "audit",
            "--stdio",
            &serve,
            "--json",
            "--fail-on",
            "high",
            "--timeout-ms",
            "60000",
        ],
        &env,
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let report = json_of(&run.stdout);
    assert_eq!(report["servers"][0]["tools"][0], "billing.inspect_invoice");
    assert_eq!(report["summary"]["high"], 0);
    assert_eq!(query_audit_rows(&ledger), 0, "the audit called a tool");
    // The counter counts: one real call leaves one query-audit record.
    let call = airlock(
        dir.path(),
        &[
            "--config",
            config.to_str().unwrap(),
            "--store",
            ledger.to_str().unwrap(),
            "smoke",
            "call",
            "billing.inspect_invoice",
            "--json",
            r#"{"invoice_id":"INV-1"}"#,
        ],
        &env,
    );
    assert_eq!(call.code, 0, "{}{}", call.stdout, call.stderr);
    assert_eq!(query_audit_rows(&ledger), 1);
}

#[test]
fn a_live_airlock_over_streamable_http_with_a_bearer_from_a_variable() {
    let dir = tempfile::tempdir().unwrap();
    let config = common::http::fixture(dir.path());
    let server = common::http::Server::start(dir.path(), &config, "serve-streamable-http", &[]);
    let url = format!("http://{}/mcp", server.addr);
    let token = common::http::jwt("auditor");
    let run = airlock(
        dir.path(),
        &[
            "audit",
            "--url",
            &url,
            "--bearer-env",
            "AUDIT_TEST_TOKEN",
            "--format",
            "json",
            "--fail-on",
            "high",
        ],
        &[("AUDIT_TEST_TOKEN", &token)],
    );
    assert_eq!(
        run.code,
        0,
        "{}{}\n{}",
        run.stdout,
        run.stderr,
        server.log()
    );
    assert!(!run.stdout.contains(&token) && !run.stderr.contains(&token));
    let report = json_of(&run.stdout);
    assert_eq!(report["summary"]["tools_inspected"], 1);
    assert_eq!(report["summary"]["high"], 0);
    // Without the token the server refuses, and the audit says how to pass one.
    let refused = airlock(dir.path(), &["audit", "--url", &url], &[]);
    assert_eq!(refused.code, 2);
    assert!(
        refused.stdout.contains("AUDIT_UNAUTHORIZED"),
        "{}",
        refused.stdout
    );
    assert_eq!(
        query_audit_rows(&dir.path().join("ledger.db")),
        0,
        "the audit called a tool"
    );
}
