//! `airlock audit` against real third-party MCP database servers from the registries, pinned
//! in tests/audit-targets (installed by its install.sh, which scripts/test runs first), each on
//! a throwaway database of our own: DBHub and the archived reference Postgres server (npm) on a
//! fresh Postgres database, mcp-server-sqlite (PyPI) on a fresh SQLite file. Their raw-SQL
//! tools must be flagged high; the audit must not call any of them (the databases stay empty).
//!
//! Outside CI a target that is not installed prints SKIP; under CI=true it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn targets_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/audit-targets")
}

/// The installed file, or `None` after a SKIP line (a failure under CI=true).
fn installed(relative: &str) -> Option<PathBuf> {
    let path = targets_dir().join(relative);
    if path.exists() {
        return Some(path);
    }
    let message = format!(
        "{} is not installed; run tests/audit-targets/install.sh",
        path.display()
    );
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{message} (required under CI=true)"
    );
    eprintln!("SKIP {message}");
    None
}

/// Quotes one word for `--stdio`.
fn word(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn audit(stdio: &[String]) -> Value {
    let line = stdio.iter().map(|w| word(w)).collect::<Vec<_>>().join(" ");
    let out = Command::new(env!("CARGO_BIN_EXE_airlock"))
        .args([
            "audit",
            "--stdio",
            &line,
            "--json",
            "--fail-on",
            "high",
            "--timeout-ms",
            "120000",
        ])
        .output()
        .expect("airlock runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "high findings exit 1:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).expect("JSON report")
}

/// The rule ids with severity high for `tool`.
fn high(report: &Value, tool: &str) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["tool"] == tool && f["severity"] == "high")
        .map(|f| f["rule"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn dbhub_execute_sql_is_flagged_high() {
    let (Some(node), Some(dbhub)) = (
        installed("node_modules/.bin/node"),
        installed("node_modules/@bytebase/dbhub/dist/index.js"),
    ) else {
        return;
    };
    let Some(db) = airlock_testkit::fresh_postgres_blocking() else {
        return;
    };
    let dsn = format!("{}?sslmode=disable", db.url);
    let report = audit(&[
        node.display().to_string(),
        dbhub.display().to_string(),
        "--transport".into(),
        "stdio".into(),
        "--dsn".into(),
        dsn,
    ]);
    let sql = high(&report, "execute_sql");
    for rule in [
        "GENERIC_SQL_TOOL",
        "WRITE_TOOL_ACCEPTS_ARBITRARY_SQL",
        "WRITE_WITHOUT_PROPOSAL_BOUNDARY",
    ] {
        assert!(sql.contains(&rule.to_owned()), "{rule} missing: {sql:?}");
    }
    assert!(high(&report, "search_objects").contains(&"ARBITRARY_IDENTIFIER_INPUT".to_owned()));
    assert_eq!(report["summary"]["tools_inspected"], 2);
    let tables = db
        .query_scalar_blocking("SELECT count(*)::text FROM pg_tables WHERE schemaname = 'public'")
        .unwrap();
    assert_eq!(
        tables.as_deref(),
        Some("0"),
        "the audit changed the database"
    );
}

#[test]
fn the_reference_postgres_servers_query_tool_is_flagged_high() {
    let (Some(node), Some(server)) = (
        installed("node_modules/.bin/node"),
        installed("node_modules/@modelcontextprotocol/server-postgres/dist/index.js"),
    ) else {
        return;
    };
    let Some(db) = airlock_testkit::fresh_postgres_blocking() else {
        return;
    };
    let report = audit(&[
        node.display().to_string(),
        server.display().to_string(),
        db.url.clone(),
    ]);
    let query = high(&report, "query");
    for rule in ["GENERIC_SQL_TOOL", "WRITE_TOOL_ACCEPTS_ARBITRARY_SQL"] {
        assert!(
            query.contains(&rule.to_owned()),
            "{rule} missing: {query:?}"
        );
    }
}

#[test]
fn mcp_server_sqlites_query_tools_are_flagged_high() {
    let Some(server) = installed(".venv/bin/mcp-server-sqlite") else {
        return;
    };
    let db = airlock_testkit::fresh_sqlite();
    let report = audit(&[
        server.display().to_string(),
        "--db-path".into(),
        db.url.clone(),
    ]);
    assert!(high(&report, "read_query").contains(&"GENERIC_SQL_TOOL".to_owned()));
    for tool in ["write_query", "create_table"] {
        let found = high(&report, tool);
        assert!(
            found.contains(&"GENERIC_SQL_TOOL".to_owned()),
            "{tool}: {found:?}"
        );
        assert!(
            found.contains(&"WRITE_TOOL_ACCEPTS_ARBITRARY_SQL".to_owned()),
            "{tool}: {found:?}"
        );
    }
    assert!(high(&report, "create_table").contains(&"SCHEMA_CHANGE_TOOL".to_owned()));
    let tables = db
        .query_scalar_blocking("SELECT count(*) FROM sqlite_master WHERE type = 'table'")
        .unwrap();
    assert_eq!(
        tables.as_deref(),
        Some("0"),
        "the audit changed the database"
    );
}
