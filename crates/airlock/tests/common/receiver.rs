//! A real HTTP receiver for webhook deliveries, on std sockets (one request per connection),
//! scripted to fail in the ways a deliverer must survive; and SIGINT for a background child.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Child;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// One request as a receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map_or("", |(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// What a receiver does with its n-th request (from 1).
#[derive(Clone, Copy)]
pub enum Script {
    /// 1: HTTP 500; 2: connection dropped unanswered; 3: kept, but answered after the
    /// deliverer's timeout; then 200.
    Flaky,
    /// Keeps every request and answers 200 after a pause.
    Slow(Duration),
}

/// A real HTTP receiver on a std socket: one request per connection.
pub struct Receiver {
    pub url: String,
    /// Requests it kept (answered 2xx, or kept and answered late), in arrival order.
    kept: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub fn start(script: Script) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/hooks/airlock-SECRETPATH",
            listener.local_addr().unwrap()
        );
        let kept = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::new(AtomicUsize::new(0));
        let sink = kept.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (sink, seen) = (sink.clone(), seen.clone());
                std::thread::spawn(move || serve(stream, script, &sink, &seen));
            }
        });
        Receiver { url, kept }
    }

    pub fn kept(&self) -> Vec<Received> {
        self.kept.lock().unwrap().clone()
    }

    /// Distinct event ids kept (the receiver's de-duplication).
    pub fn event_ids(&self) -> BTreeSet<String> {
        self.kept()
            .iter()
            .map(|r| r.header("x-airlock-event-id").to_owned())
            .collect()
    }

    /// Waits (up to a minute) until `n` distinct events were kept.
    pub fn wait_for(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.event_ids().len() < n {
            assert!(
                Instant::now() < deadline,
                "the receiver kept {} of {n} events",
                self.event_ids().len()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn serve(mut stream: TcpStream, script: Script, kept: &Mutex<Vec<Received>>, seen: &AtomicUsize) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut headers = Vec::new();
    let mut first = String::new();
    if reader.read_line(&mut first).unwrap_or(0) == 0 {
        return;
    }
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (k, v) = line.split_once(':').unwrap();
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = vec![0; len];
    reader.read_exact(&mut body).unwrap();
    let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
    let received = Received { headers, body };
    let answer = |stream: &mut TcpStream, status: &str| {
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
        );
    };
    match (script, n) {
        (Script::Flaky, 1) => answer(&mut stream, "500 Internal Server Error"),
        (Script::Flaky, 2) => drop(stream),
        (Script::Flaky, 3) => {
            kept.lock().unwrap().push(received);
            std::thread::sleep(Duration::from_millis(1500));
            answer(&mut stream, "200 OK");
        }
        (Script::Flaky, _) => {
            kept.lock().unwrap().push(received);
            answer(&mut stream, "200 OK");
        }
        (Script::Slow(pause), _) => {
            kept.lock().unwrap().push(received);
            std::thread::sleep(pause);
            answer(&mut stream, "200 OK");
        }
    }
}

/// Sends SIGINT (what Ctrl-C sends) and returns the exit status and output.
pub fn interrupt(mut child: Child) -> (i32, String, String) {
    let pid = child.id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut out = String::new();
            let mut err = String::new();
            if let Some(mut s) = child.stdout.take() {
                s.read_to_string(&mut out).unwrap();
            }
            if let Some(mut s) = child.stderr.take() {
                s.read_to_string(&mut err).unwrap();
            }
            return (status.code().unwrap_or(-1), out, err);
        }
        assert!(Instant::now() < deadline, "no exit after SIGINT");
        std::thread::sleep(Duration::from_millis(20));
    }
}
