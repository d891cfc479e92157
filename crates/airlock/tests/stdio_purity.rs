//! Spawns the real `airlock` binary and checks that, over stdio, every line on stdout is a
//! JSON-RPC message: logs (even at debug level) and errors go to stderr only.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

fn fixture(dir: &Path) -> PathBuf {
    let db = rusqlite::Connection::open(dir.join("app.db")).expect("app db");
    db.execute_batch(
        "CREATE TABLE invoices (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, amount INTEGER NOT NULL);
         INSERT INTO invoices VALUES ('INV-1', 'acme', 100), ('INV-2', 'other', 200);",
    )
    .expect("seed");
    let config = json!({
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
    std::fs::write(&path, config.to_string()).expect("config");
    path
}

#[test]
fn stdout_carries_only_protocol_frames() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = fixture(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_airlock"))
        .args(["--config"])
        .arg(&config)
        .arg("--store")
        .arg(dir.path().join("ledger.db"))
        .args(["mcp", "serve"])
        .env("AIRLOCK_LOG", "debug")
        .env("SYNAPSOR_TENANT_ID", "acme")
        .env("SYNAPSOR_PRINCIPAL", "purity_test")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn airlock");
    let mut stdin = child.stdin.take().expect("stdin");
    let lines = [
        json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"purity","version":"0"}}}).to_string(),
        json!({"jsonrpc":"2.0","method":"notifications/initialized"}).to_string(),
        json!({"jsonrpc":"2.0","id":2,"method":"tools/list"}).to_string(),
        json!({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"billing.inspect_invoice","arguments":{"invoice_id":"INV-1"}}}).to_string(),
        json!({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"billing.inspect_invoice","arguments":{"invoice_id":"INV-1","tenant_id":"other"}}}).to_string(),
        "this is not json".to_owned(),
        json!({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"no.such_tool","arguments":{}}}).to_string(),
        json!({"jsonrpc":"2.0","id":6,"method":"resources/read","params":{"uri":"synapsor://evidence/ev_missing"}}).to_string(),
        json!({"jsonrpc":"2.0","id":7,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"again","version":"0"}}}).to_string(),
        json!({"jsonrpc":"2.0","id":8,"method":"ping"}).to_string(),
    ];
    for line in &lines {
        writeln!(stdin, "{line}").expect("write");
    }
    stdin.flush().expect("flush");
    // Replies may come in any order: read until ids 1..=8 all answered, then close stdin.
    let stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut answered = std::collections::HashSet::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("utf-8 line");
            if let Some(id) = serde_json::from_str::<Value>(&line)
                .ok()
                .and_then(|v| v["id"].as_i64())
            {
                answered.insert(id);
            }
            seen.push(line);
            if (1..=8).all(|i| answered.contains(&i)) {
                break;
            }
        }
        seen
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !reader.is_finished() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(stdin);
    let seen = reader.join().expect("reader");
    let status = child.wait().expect("wait");
    assert!(status.success(), "airlock exited with {status}");
    let mut by_id = std::collections::HashMap::new();
    for line in &seen {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line:?}"));
        assert_eq!(v["jsonrpc"], "2.0", "not a JSON-RPC frame: {line}");
        if let Some(id) = v.get("id").and_then(Value::as_i64) {
            by_id.insert(id, v);
        }
    }
    assert_eq!(by_id[&1]["result"]["serverInfo"]["name"], "airlock");
    assert_eq!(
        by_id[&2]["result"]["tools"][0]["name"],
        "billing.inspect_invoice"
    );
    assert_eq!(
        by_id[&3]["result"]["structuredContent"]["data"]["id"],
        "INV-1"
    );
    assert_eq!(by_id[&4]["result"]["isError"], true);
    assert_eq!(
        by_id[&4]["result"]["structuredContent"]["error"]["reason"],
        "MODEL_CANNOT_OVERRIDE_BINDING"
    );
    assert_eq!(by_id[&5]["error"]["code"], -32602);
    assert!(by_id[&6]["error"].is_object());
    assert_eq!(
        by_id[&7]["error"]["code"], -32600,
        "second initialize refused"
    );
    assert!(by_id[&8]["result"].is_object());
}
