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
    let (rx, threads) = stall(
        &server.addr,
        &http::post_head("/mcp", &flood, 100_000, &[]),
        STALLED,
    );
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

/// Opens `n` connections that each send `head` and one byte of body, then wait; their
/// replies arrive on the channel as they come.
fn stall(
    addr: &str,
    head: &str,
    n: usize,
) -> (
    mpsc::Receiver<http::Reply>,
    Vec<std::thread::JoinHandle<()>>,
) {
    let (tx, rx) = mpsc::channel();
    let threads = (0..n)
        .map(|_| {
            let (addr, tx) = (addr.to_owned(), tx.clone());
            let raw = format!("{head}{{");
            std::thread::spawn(move || {
                let mut stream = http::send(&addr, raw.as_bytes());
                let _ = tx.send(http::read_reply(&mut stream));
            })
        })
        .collect();
    (rx, threads)
}

/// Stalled bodies hold no in-flight slot: with 2 slots in all and 3 per credential, one
/// credential stalls 3 bodies and another is still served. Tested on the bridge, which
/// shares these layers with Streamable HTTP.
#[test]
fn stalled_bodies_hold_no_in_flight_slot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = http::fixture(dir.path());
    let server = Server::start(
        dir.path(),
        &config,
        "serve-http",
        &[
            "--max-in-flight",
            "2",
            "--max-in-flight-per-credential",
            "3",
            "--body-timeout-secs",
            "2",
        ],
    );
    let flood = http::jwt("flood");
    let (rx, threads) = stall(&server.addr, &http::post_head("/rpc", &flood, 1000, &[]), 4);
    // Three hold the credential's cap and stall; the fourth is refused at once, whichever
    // it is.
    let first = rx.recv_timeout(Duration::from_secs(30)).expect("a refusal");
    assert_eq!(first.status, 429, "{first:?}");
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
    for _ in 0..3 {
        let reply = rx.recv_timeout(Duration::from_secs(60)).expect("a reply");
        assert_eq!(reply.status, 408, "{reply:?}");
    }
    for t in threads {
        t.join().expect("client thread");
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
