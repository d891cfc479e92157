//! The real binary as an HTTP server, and a raw HTTP/1.1 client on std sockets, for tests
//! that need exact control of the bytes on the wire (stalled bodies, bad JSON).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use serde_json::{Value, json};

pub const JWT_SECRET: &str = "http-tests-hs256-secret-0123456789abcdef";
pub const STATIC_TOKEN: &str = "http-tests-static-token";
pub const ISSUER: &str = "https://issuer.airlock.test";
pub const AUDIENCE: &str = "airlock-http-tests";

/// A SQLite app with one read tool, verified JWTs (HS256) for the tenant, and a static token
/// beside them. Returns the config path.
pub fn fixture(dir: &Path) -> PathBuf {
    let db = rusqlite::Connection::open(dir.join("app.db")).expect("app db");
    db.execute_batch(
        "CREATE TABLE invoices (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, amount INTEGER NOT NULL);
         INSERT INTO invoices VALUES ('INV-1', 'acme', 100), ('INV-2', 'other', 200);",
    )
    .expect("seed");
    let config = json!({
        "version": 1, "mode": "review", "result_format": 2,
        "sources": {"app": {"engine": "sqlite", "path": "app.db"}},
        "trusted_context": {"provider": "http_claims", "values": {
            "hs256_secret_env": "AIRLOCK_TEST_JWT_SECRET", "issuer": ISSUER, "audience": AUDIENCE
        }},
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

/// A valid HS256 bearer for `principal` of tenant `acme`.
pub fn jwt(principal: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let claims = json!({
        "sub": principal, "tenant_id": "acme", "iss": ISSUER, "aud": AUDIENCE,
        "iat": now, "exp": now + 3600,
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .expect("sign")
}

/// A running `airlock mcp <verb>`; killed when dropped.
pub struct Server {
    child: Child,
    pub addr: String,
    log: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `airlock mcp <verb> --port <free> <extra…>` in `dir` with `config`, and waits
    /// for its listening banner.
    pub fn start(dir: &Path, config: &Path, verb: &str, extra: &[&str]) -> Server {
        let store = dir.join("ledger.db");
        let global = [
            "--config",
            config.to_str().expect("utf-8 path"),
            "--store",
            store.to_str().expect("utf-8 path"),
        ];
        Server::launch(dir, &global, verb, extra, &[])
    }

    /// Starts `airlock <global…> mcp <verb> --port <free> <extra…>` in `dir` with `env` added,
    /// and waits for its listening banner.
    pub fn launch(
        dir: &Path,
        global: &[&str],
        verb: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        let server = Server::spawn(dir, global, verb, extra, env);
        server.wait_listening()
    }

    /// Like [`Server::launch`] without waiting: several servers can be started at once and
    /// then waited for with [`Server::wait_listening`].
    pub fn spawn(
        dir: &Path,
        global: &[&str],
        verb: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Starting {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_airlock"));
        for (k, _) in std::env::vars() {
            if k.starts_with("AIRLOCK_") || k.starts_with("SYNAPSOR_") {
                cmd.env_remove(k);
            }
        }
        let mut child = cmd
            .current_dir(dir)
            .args(global)
            .args(["mcp", verb, "--port", &port.to_string()])
            .args(["--auth-token-env", "AIRLOCK_TEST_TOKEN"])
            .args(extra)
            .env("AIRLOCK_TEST_JWT_SECRET", JWT_SECRET)
            .env("AIRLOCK_TEST_TOKEN", STATIC_TOKEN)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn airlock");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (ready_tx, ready_rx) = mpsc::channel();
        let sink = log.clone();
        // Keeps draining stderr for the server's whole life (a full pipe would block it).
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if line.contains("listening on") {
                    let _ = ready_tx.send(());
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        Starting {
            server: Server {
                child,
                addr: format!("127.0.0.1:{port}"),
                log,
            },
            ready: ready_rx,
        }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Kills the process with SIGKILL (no shutdown of any kind) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server spawned by [`Server::spawn`], not yet known to listen.
pub struct Starting {
    server: Server,
    ready: mpsc::Receiver<()>,
}

impl Starting {
    /// Waits for the listening banner (panics with the server's log after a minute).
    pub fn wait_listening(mut self) -> Server {
        if self.ready.recv_timeout(Duration::from_secs(60)).is_err() {
            let _ = self.server.child.kill();
            panic!("airlock did not start listening:\n{}", self.server.log());
        }
        self.server
    }
}

/// A GET with `Connection: close`.
pub fn get(addr: &str, path: &str) -> Reply {
    let raw = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    read_reply(&mut send(addr, raw.as_bytes()))
}

/// A stateless (2026-07-28) `tools/call`: no session; the protocol version rides in the
/// header and in `params._meta`.
pub fn stateless_call(addr: &str, bearer: &str, id: i64, tool: &str, args: &Value) -> Reply {
    let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {}
        },
        "name": tool,
        "arguments": args,
    }});
    post(
        addr,
        "/mcp",
        bearer,
        &[
            ("MCP-Protocol-Version", "2026-07-28"),
            ("Mcp-Method", "tools/call"),
            ("Mcp-Name", tool),
        ],
        body.to_string().as_bytes(),
    )
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP response read to the end of the connection.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Reply {
    /// A response header's value (name lowercase).
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }

    /// The JSON-RPC message of the body: plain JSON, or the SSE `data:` event carrying one.
    pub fn message(&self) -> Value {
        if let Ok(v) = serde_json::from_str::<Value>(self.body.trim()) {
            return v;
        }
        self.body
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .find(|v| v.get("jsonrpc").is_some())
            .unwrap_or_else(|| panic!("no JSON-RPC message in: {self:?}"))
    }
}

/// Parses a full response (head and body, chunked or not).
pub fn parse_reply(raw: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut reply = Reply {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    };
    if reply
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        reply.body = dechunk(body);
    }
    reply
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}

/// Opens a connection and writes `raw` (which should ask for `Connection: close`).
pub fn send(addr: &str, raw: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("read timeout");
    stream.write_all(raw).expect("write request");
    stream
}

/// Reads a response to the end of the connection.
pub fn read_reply(stream: &mut TcpStream) -> Reply {
    let mut raw = Vec::new();
    match stream.read_to_end(&mut raw) {
        Ok(_) => {}
        Err(e) if !raw.is_empty() => eprintln!("read ended with {e}"),
        Err(e) => panic!("no response: {e}"),
    }
    parse_reply(&raw)
}

/// Request head of a POST to `path` with a bearer and the headers MCP clients send.
pub fn post_head(
    path: &str,
    bearer: &str,
    content_length: usize,
    extra: &[(&str, &str)],
) -> String {
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {bearer}\r\n\
         Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n\
         Content-Length: {content_length}\r\nConnection: close\r\n"
    );
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    head
}

/// A complete POST.
pub fn post(addr: &str, path: &str, bearer: &str, extra: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut raw = post_head(path, bearer, body.len(), extra).into_bytes();
    raw.extend_from_slice(body);
    read_reply(&mut send(addr, &raw))
}

pub fn initialize_body(id: i64) -> Vec<u8> {
    json!({"jsonrpc": "2.0", "id": id, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "http-tests", "version": "0"}
    }})
    .to_string()
    .into_bytes()
}

/// `initialize` on `/mcp`; returns the reply and the new session id.
pub fn initialize(addr: &str, bearer: &str) -> (Reply, Option<String>) {
    let reply = post(addr, "/mcp", bearer, &[], &initialize_body(1));
    let session = reply.header("mcp-session-id");
    (reply, session)
}

/// A request on an open session (protocol 2025-06-18).
pub fn on_session(addr: &str, bearer: &str, session: &str, body: &Value) -> Reply {
    post(
        addr,
        "/mcp",
        bearer,
        &[
            ("Mcp-Session-Id", session),
            ("MCP-Protocol-Version", "2025-06-18"),
        ],
        body.to_string().as_bytes(),
    )
}

/// `initialize` then `notifications/initialized`: a session ready for requests.
pub fn open_session(addr: &str, bearer: &str) -> String {
    let (reply, session) = initialize(addr, bearer);
    assert_eq!(reply.status, 200, "initialize: {reply:?}");
    let session = session.expect("session id");
    let done = on_session(
        addr,
        bearer,
        &session,
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    );
    assert_eq!(done.status, 202, "initialized: {done:?}");
    session
}
