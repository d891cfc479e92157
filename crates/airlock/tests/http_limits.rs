//! Issue 8, part 3, against the real binary: authenticated clients that stall mid-body or
//! open sessions without closing them must not deny service to other credentials.

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::http::{self, Server};
use serde_json::json;

const STALLED: usize = 300;
const PER_CREDENTIAL: usize = 64;

/// 300 connections with a valid bearer and `Content-Length: 100000` send a few bytes of body
/// and stall. The credential's cap refuses what is beyond it at once (429); a client with
/// another credential is answered meanwhile; the stalled ones get 408 after the body timeout.
#[test]
fn stalled_bodies_of_one_credential_do_not_starve_another() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = http::fixture(dir.path());
    let server = Server::start(
        dir.path(),
        &config,
        "serve-streamable-http",
        &["--body-timeout-secs", "3"],
    );
    let flood = http::jwt("flood");
    let (tx, rx) = mpsc::channel();
    let mut threads = Vec::new();
    for _ in 0..STALLED {
        let addr = server.addr.clone();
        let head = http::post_head("/mcp", &flood, 100_000, &[]);
        let tx = tx.clone();
        threads.push(std::thread::spawn(move || {
            let mut raw = head.into_bytes();
            raw.extend_from_slice(b"{\"jsonrpc\"");
            let mut stream = http::send(&addr, &raw);
            let _ = tx.send(http::read_reply(&mut stream));
        }));
    }
    drop(tx);
    // Everything beyond the credential's cap is refused without waiting for its body. Once
    // all of those are in, the other 64 hold the cap: they are the stalled ones.
    let mut refused = 0;
    while refused < STALLED - PER_CREDENTIAL {
        let reply = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| {
                panic!(
                    "only {refused} of {} over-cap connections were refused; the rest stalled the server",
                    STALLED - PER_CREDENTIAL
                )
            });
        assert_eq!(reply.status, 429, "over the per-credential cap: {reply:?}");
        assert_eq!(reply.header("retry-after").as_deref(), Some("1"));
        refused += 1;
    }
    // Another credential is served while the flood holds its connections.
    let victim = http::jwt("victim");
    let (reply, session) = http::initialize(&server.addr, &victim);
    assert_eq!(
        reply.status, 200,
        "other credential during the flood: {reply:?}"
    );
    assert_eq!(reply.message()["result"]["serverInfo"]["name"], "airlock");
    let session = session.expect("session id");
    let call = http::on_session(
        &server.addr,
        &victim,
        &session,
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    );
    assert_eq!(call.status, 202);
    let call = http::on_session(
        &server.addr,
        &victim,
        &session,
        &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "billing.inspect_invoice", "arguments": {"invoice_id": "INV-1"}}}),
    );
    assert_eq!(call.status, 200, "{call:?}");
    assert_eq!(
        call.message()["result"]["structuredContent"]["data"]["id"],
        "INV-1"
    );
    // The stalled ones are answered 408 with a JSON-RPC error once the body timeout passes.
    for _ in 0..PER_CREDENTIAL {
        let reply = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("a stalled connection was never answered");
        assert_eq!(reply.status, 408, "stalled body: {reply:?}");
        assert_eq!(reply.message()["error"]["code"], -32600);
        assert_eq!(reply.header("connection").as_deref(), Some("close"));
    }
    for t in threads {
        t.join().expect("client thread");
    }
    // With its slots free again, the flooding credential itself is served.
    let (reply, _) = http::initialize(&server.addr, &flood);
    assert_eq!(reply.status, 200, "{reply:?}");
}

/// A lower per-credential cap, and the bridge: the same layers guard `mcp serve-http`.
#[test]
fn bridge_caps_each_credential_and_times_out_bodies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = http::fixture(dir.path());
    let server = Server::start(
        dir.path(),
        &config,
        "serve-http",
        &[
            "--max-in-flight-per-credential",
            "2",
            "--body-timeout-secs",
            "2",
        ],
    );
    let flood = http::jwt("flood");
    let head = http::post_head("/rpc", &flood, 1000, &[]);
    let stalled: Vec<_> = (0..2)
        .map(|_| http::send(&server.addr, format!("{head}{{").as_bytes()))
        .collect();
    // The third request of the same credential may only come after the first two hold the
    // cap; a refused one proves they do.
    let mut third = http::send(&server.addr, format!("{head}{{").as_bytes());
    let reply = http::read_reply(&mut third);
    assert_eq!(reply.status, 429, "{reply:?}");
    let other = http::post(
        &server.addr,
        "/rpc",
        http::STATIC_TOKEN,
        &[],
        br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
    );
    assert_eq!(other.status, 200, "{other:?}");
    assert_eq!(
        other.message()["result"]["tools"][0]["name"],
        "billing.inspect_invoice"
    );
    for mut s in stalled {
        let reply = http::read_reply(&mut s);
        assert_eq!(reply.status, 408, "{reply:?}");
    }
}

/// 300 `initialize` calls without DELETE from one credential: each succeeds (that
/// credential's least recently used session is closed), another credential's session stays
/// open, and new sessions are still granted to both.
#[test]
fn abandoned_sessions_do_not_lock_anyone_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = http::fixture(dir.path());
    let server = Server::start(dir.path(), &config, "serve-streamable-http", &[]);
    let victim = http::jwt("victim");
    let kept = http::open_session(&server.addr, &victim);
    let flood = http::jwt("flood");
    let mut first = None;
    for i in 0..300 {
        let (reply, session) = http::initialize(&server.addr, &flood);
        assert_eq!(
            reply.status, 200,
            "initialize #{i} of the same credential: {reply:?}"
        );
        first.get_or_insert(session.expect("session id"));
    }
    let ping = json!({"jsonrpc": "2.0", "id": 9, "method": "ping"});
    // The other credential's session was not touched by the flood.
    let reply = http::on_session(&server.addr, &victim, &kept, &ping);
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(reply.message()["result"].is_object());
    // New sessions for both credentials.
    let (reply, _) = http::initialize(&server.addr, &victim);
    assert_eq!(reply.status, 200, "{reply:?}");
    let (reply, _) = http::initialize(&server.addr, &flood);
    assert_eq!(reply.status, 200, "{reply:?}");
    // The flood's oldest session was closed to make room; its newest is alive.
    let first = first.expect("first session");
    let reply = http::on_session(&server.addr, &flood, &first, &ping);
    assert_eq!(reply.status, 404, "evicted session: {reply:?}");
    let health = http::read_reply(&mut http::send(
        &server.addr,
        b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    ));
    let open = health.message()["sessions"]
        .as_u64()
        .expect("session count");
    assert!(
        open <= 34,
        "at most 32 of the flood plus 2 of the victim, got {open}"
    );
}
