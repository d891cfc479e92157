//! A real HTTP handler on std sockets for doctor tests: it verifies requests with
//! `airlock-handler`'s `Verifier` (token, both signatures, freshness, replay) and answers
//! probes, or misbehaves on purpose.

use std::io::{Read, Write};
use std::net::TcpListener;

use airlock_handler::{Answer, Incoming, Verifier};
use serde_json::{Value, json};

/// How the handler answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Verifies every request and answers probes (as the templates do).
    Honest,
    /// Answers any probe "ok" without checking token or signature.
    SkipsVerification,
    /// Verifies, then answers every request with an `applied` receipt.
    AlwaysApplied,
    /// Verifies, then answers probes in protocol version 2.0.
    FutureProtocol,
    /// Verifies, then refuses probes as bad writeback requests (written before probes).
    Old,
}

/// Starts a handler checking `token` and, when given, `secret`; returns its URL. It serves for
/// the life of the test process.
pub fn start(token: &str, secret: Option<&str>, behaviour: Behaviour) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut verifier = Verifier::new().bearer_token(token);
    if let Some(secret) = secret {
        verifier = verifier.signing_secret(secret);
    }
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let Some((headers, body)) = read_request(&mut s) else {
                continue;
            };
            let (status, answer) = respond(&verifier, behaviour, headers, &body);
            let text = answer.to_string();
            let _ = write!(
                s,
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    format!("http://{addr}/airlock/writeback")
}

fn respond(
    verifier: &Verifier,
    behaviour: Behaviour,
    headers: Headers,
    body: &[u8],
) -> (u16, Value) {
    let raw: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let probe_answer = |version: &str| {
        json!({"kind": "probe", "status": "ok", "probe_id": raw["probe_id"],
               "protocol_version": version, "source_database_mutated": false})
    };
    if behaviour == Behaviour::SkipsVerification {
        return (200, probe_answer("1.0"));
    }
    let incoming = match verifier.verify_incoming(&headers, body) {
        Ok(i) => i,
        Err(rej) => {
            return (
                rej.http_status,
                serde_json::to_value(rej.receipt()).unwrap(),
            );
        }
    };
    match (behaviour, incoming) {
        (Behaviour::AlwaysApplied, _) => (
            200,
            json!({"status": "applied", "rows_affected": 1, "source_database_mutated": true}),
        ),
        (Behaviour::FutureProtocol, _) => (200, probe_answer("2.0")),
        (Behaviour::Old, _) => (
            400,
            json!({"status": "failed", "rows_affected": 0, "source_database_mutated": false,
                   "safe_error_code": "BAD_WRITEBACK_REQUEST"}),
        ),
        (_, Incoming::Probe(p)) => (
            200,
            serde_json::to_value(Answer::Probe(p.answer())).unwrap(),
        ),
        (_, Incoming::Writeback(req)) => (
            200,
            serde_json::to_value(req.applied(1, None, None)).unwrap(),
        ),
    }
}

/// Lowercase header name and value pairs.
type Headers = Vec<(String, String)>;

/// Reads one HTTP/1.1 request: its headers and the body (by content-length).
fn read_request(s: &mut std::net::TcpStream) -> Option<(Headers, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = s.read(&mut chunk).ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let headers: Headers = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[end + 4..].to_vec();
    while body.len() < length {
        let n = s.read(&mut chunk).ok().filter(|n| *n > 0)?;
        body.extend_from_slice(&chunk[..n]);
    }
    Some((headers, body))
}
