//! Issue 8, part 6, against the real binary: every malformed JSON-RPC frame gets a JSON-RPC
//! error with the right code on every transport, and the server keeps serving.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::http::{self, Server};
use serde_json::{Value, json};

/// Bodies that are not one JSON-RPC request, with the code each must get.
fn bad_bodies() -> Vec<(&'static str, Vec<u8>, i64)> {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_params = format!(
        r#"{{"jsonrpc":"2.0","id":5,"method":"ping","params":{{"x":{}1{}}}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    vec![
        ("not JSON", b"hello there".to_vec(), -32700),
        ("truncated JSON", br#"{"jsonrpc":"2.0","id":1,"#.to_vec(), -32700),
        (
            "invalid UTF-8",
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"p\xffing\"}".to_vec(),
            -32700,
        ),
        ("100k nested arrays", deep.into_bytes(), -32700),
        ("100k nested params", deep_params.into_bytes(), -32700),
        (
            "number out of range",
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"billing.inspect_invoice","arguments":{"invoice_id":1e999}}}"#.to_vec(),
            -32700,
        ),
        (
            "id out of range",
            br#"{"jsonrpc":"2.0","id":18446744073709551616,"method":"ping"}"#.to_vec(),
            -32600,
        ),
        (
            "batch",
            br#"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"ping"}]"#
                .to_vec(),
            -32600,
        ),
        ("empty batch", b"[]".to_vec(), -32600),
        ("a string", br#""ping""#.to_vec(), -32600),
        ("empty body", Vec::new(), -32700),
        (
            "wrong jsonrpc version",
            br#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#.to_vec(),
            -32600,
        ),
        (
            "method not a string",
            br#"{"jsonrpc":"2.0","id":1,"method":42}"#.to_vec(),
            -32600,
        ),
    ]
}

#[test]
fn streamable_http_answers_bad_bodies_with_400_and_jsonrpc_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = http::fixture(dir.path());
    let server = Server::start(dir.path(), &config, "serve-streamable-http", &[]);
    let bearer = http::jwt("agent");
    let session = http::open_session(&server.addr, &bearer);
    for (what, body, code) in bad_bodies() {
        // Without a session (as the first request of a client) and on an open session.
        for extra in [
            vec![],
            vec![
                ("Mcp-Session-Id", session.as_str()),
                ("MCP-Protocol-Version", "2025-06-18"),
            ],
        ] {
            let reply = http::post(&server.addr, "/mcp", &bearer, &extra, &body);
            assert_eq!(reply.status, 400, "{what}: {reply:?}");
            assert_eq!(
                reply.header("content-type").as_deref(),
                Some("application/json"),
                "{what}"
            );
            let message = reply.message();
            assert_eq!(message["jsonrpc"], "2.0", "{what}: {message}");
            assert_eq!(message["error"]["code"], code, "{what}: {message}");
        }
    }
    // A usable id is echoed.
    let reply = http::post(
        &server.addr,
        "/mcp",
        &bearer,
        &[],
        br#"{"jsonrpc":"1.0","id":"abc","method":"ping"}"#,
    );
    assert_eq!(reply.message()["id"], "abc");
    // The session still works after all of that.
    let reply = http::on_session(
        &server.addr,
        &bearer,
        &session,
        &json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list"}),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(
        reply.message()["result"]["tools"][0]["name"],
        "billing.inspect_invoice"
    );
}

/// `resources/read` and `tools/call` with params of the wrong shape are bad params
/// (`-32602`), not unknown methods (`-32601`); an unknown method stays `-32601`.
#[test]
fn bad_params_of_served_methods_are_invalid_params_over_http() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = http::fixture(dir.path());
    let server = Server::start(dir.path(), &config, "serve-streamable-http", &[]);
    let bearer = http::jwt("agent");
    let session = http::open_session(&server.addr, &bearer);
    for (params, code) in bad_params_cases() {
        let reply = http::on_session(&server.addr, &bearer, &session, &params);
        assert_eq!(reply.status, 200, "{params}: {reply:?}");
        let message = reply.message();
        assert_eq!(message["error"]["code"], code, "{params}: {message}");
        assert_eq!(message["id"], params["id"], "{params}");
    }
}

fn bad_params_cases() -> Vec<(Value, i64)> {
    vec![
        (
            json!({"jsonrpc": "2.0", "id": 1, "method": "resources/read", "params": {}}),
            -32602,
        ),
        (
            json!({"jsonrpc": "2.0", "id": 2, "method": "resources/read", "params": {"uri": 42}}),
            -32602,
        ),
        (
            json!({"jsonrpc": "2.0", "id": 3, "method": "resources/read"}),
            -32602,
        ),
        (
            json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": 7}}),
            -32602,
        ),
        (
            json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "billing.inspect_invoice", "arguments": []}}),
            -32602,
        ),
        (
            json!({"jsonrpc": "2.0", "id": 6, "method": "no/such_method", "params": {}}),
            -32601,
        ),
    ]
}

/// The JSON-RPC bridge had the right shapes already; this keeps them.
#[test]
fn bridge_answers_the_same_bad_bodies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = http::fixture(dir.path());
    let server = Server::start(dir.path(), &config, "serve-http", &[]);
    let bearer = http::jwt("agent");
    for (what, body, code) in bad_bodies() {
        let reply = http::post(&server.addr, "/rpc", &bearer, &[], &body);
        let message = reply.message();
        assert_eq!(reply.status, 400, "{what}: {reply:?}");
        // The bridge reads the id it can and checks methods itself: a JSON object of the
        // wrong shape is an invalid request, whatever the exact fault.
        let expected = if code == -32700 { -32700 } else { -32600 };
        assert_eq!(message["error"]["code"], expected, "{what}: {message}");
    }
    let reply = http::post(
        &server.addr,
        "/rpc",
        &bearer,
        &[],
        br#"{"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":42}}"#,
    );
    assert_eq!(reply.message()["error"]["code"], -32602, "{reply:?}");
}

/// Over stdio: a 20 MB line, a non-JSON line and a batch each get an error reply, bad
/// params get `-32602`, and the next request is served.
#[test]
fn stdio_answers_huge_and_bad_lines_and_keeps_serving() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = http::fixture(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_airlock"))
        .arg("--config")
        .arg(&config)
        .arg("--store")
        .arg(dir.path().join("ledger.db"))
        .args(["mcp", "serve"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn airlock");
    let mut stdin = child.stdin.take().expect("stdin");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let next = || -> Value {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("a reply on stdout");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    };
    let init = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"0"}}});
    writeln!(stdin, "{init}").expect("write");
    assert_eq!(next()["id"], 1);
    writeln!(
        stdin,
        r#"{{"jsonrpc":"2.0","method":"notifications/initialized"}}"#
    )
    .expect("write");
    // One line of 20 MB: a string argument far over the 16 MiB line limit.
    let huge = format!(
        r#"{{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{{"name":"billing.inspect_invoice","arguments":{{"invoice_id":"{}"}}}}}}"#,
        "x".repeat(20 * 1024 * 1024)
    );
    stdin.write_all(huge.as_bytes()).expect("write");
    stdin.write_all(b"\n").expect("write");
    stdin.flush().expect("flush");
    let reply = next();
    assert_eq!(reply["error"]["code"], -32600, "{reply}");
    let cases: Vec<(String, i64)> = vec![
        ("this is not json".into(), -32700),
        ("[1,2]".into(), -32600),
        (
            "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":1e999}".into(),
            -32700,
        ),
    ];
    for (line, code) in cases {
        writeln!(stdin, "{line}").expect("write");
        let reply = next();
        assert_eq!(reply["error"]["code"], code, "{line}: {reply}");
    }
    for (params, code) in bad_params_cases() {
        writeln!(stdin, "{params}").expect("write");
        let reply = next();
        assert_eq!(reply["error"]["code"], code, "{params}: {reply}");
        assert_eq!(reply["id"], params["id"]);
    }
    writeln!(stdin, r#"{{"jsonrpc":"2.0","id":99,"method":"ping"}}"#).expect("write");
    let reply = next();
    assert_eq!(reply["id"], 99, "{reply}");
    assert!(reply["result"].is_object());
    drop(stdin);
    let status = child.wait().expect("wait");
    assert!(status.success(), "airlock exited with {status}");
}
