//! What both HTTP servers share: the listener (TCP_NODELAY, header-read timeout, graceful
//! shutdown), and the hardening layers: Host/Origin allow-lists (DNS-rebinding protection)
//! and bearer authentication. Resource bounds (bodies, slots, per-credential caps) are in
//! [`super::limits`].

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::McpError;
use crate::auth::HttpAuth;

/// Settings of an HTTP server.
#[derive(Clone)]
pub struct HttpOptions {
    pub host: String,
    pub port: u16,
    pub auth: HttpAuth,
    /// Extra `Host` values accepted besides loopback names and the bind address.
    pub allowed_hosts: Vec<String>,
    /// Extra browser origins accepted besides loopback origins (`scheme://host[:port|:*]`).
    pub allowed_origins: Vec<String>,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Longest time a client may take to send its whole request body (408 beyond). No
    /// in-flight slot is held meanwhile.
    pub body_timeout: Duration,
    /// Most open MCP sessions (Streamable HTTP); beyond, the least recently used is closed.
    pub max_sessions: usize,
    /// Most open MCP sessions of one credential; beyond, its least recently used is closed.
    pub max_sessions_per_credential: usize,
    /// A session unused this long is closed.
    pub session_idle: Duration,
    /// Most requests being handled at once, after their body arrived; more get 503.
    pub max_in_flight: usize,
    /// Most requests of one credential in progress at once, counted from the end of its
    /// headers (so including body upload); more get 429.
    pub max_in_flight_per_credential: usize,
    /// Longest time from a fully received request to its response head.
    pub request_timeout: Duration,
    /// Longest time a client may take to send request headers.
    pub header_timeout: Duration,
}

impl HttpOptions {
    /// Defaults: 1 MiB bodies sent within 5 s; 256 sessions, 32 per credential, idle-closed
    /// after 10 minutes; 256 requests in flight, 64 per credential; 30 s request deadline;
    /// 10 s to send headers.
    pub fn new(host: impl Into<String>, port: u16, auth: HttpAuth) -> HttpOptions {
        HttpOptions {
            host: host.into(),
            port,
            auth,
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
            max_body_bytes: 1024 * 1024,
            body_timeout: Duration::from_secs(5),
            max_sessions: 256,
            max_sessions_per_credential: 32,
            session_idle: Duration::from_secs(600),
            max_in_flight: 256,
            max_in_flight_per_credential: 64,
            request_timeout: Duration::from_secs(30),
            header_timeout: Duration::from_secs(10),
        }
    }
}

/// Whether `host` names a loopback address.
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Refuses a non-loopback bind without authentication.
pub(crate) fn check_bind(opts: &HttpOptions) -> Result<(), McpError> {
    if opts.auth.is_disabled() && !is_loopback(&opts.host) {
        return Err(McpError::UnauthenticatedNonLoopback {
            host: opts.host.clone(),
        });
    }
    Ok(())
}

/// A JSON body with a status.
pub(crate) fn json_response(status: StatusCode, body: serde_json::Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A JSON-RPC error reply with a status.
pub(crate) fn jsonrpc_error(
    status: StatusCode,
    id: serde_json::Value,
    code: i64,
    message: impl Into<String>,
) -> Response {
    json_response(
        status,
        json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message.into()}}),
    )
}

/// Host and Origin allow-lists.
#[derive(Debug, Clone)]
pub(crate) struct Guard {
    hosts: Vec<String>,
    origins: Vec<OriginRule>,
}

#[derive(Debug, Clone, PartialEq)]
struct OriginRule {
    scheme: String,
    host: String,
    /// `None`: any port.
    port: Option<u16>,
}

fn default_port(scheme: &str) -> u16 {
    if scheme == "https" { 443 } else { 80 }
}

/// `scheme://host[:port]` → parts, host lowercased and unbracketed.
fn parse_origin(s: &str) -> Option<(String, String, Option<&str>)> {
    let (scheme, rest) = s.split_once("://")?;
    let rest = rest.trim_end_matches('/');
    if rest.contains('/') || rest.is_empty() {
        return None;
    }
    let (host, port) = split_host_port(rest);
    Some((scheme.to_ascii_lowercase(), host.to_ascii_lowercase(), port))
}

/// `host:port`, `[v6]:port`, `host` → (host without brackets, port text).
fn split_host_port(s: &str) -> (&str, Option<&str>) {
    if let Some(rest) = s.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((h, tail)) => (h, tail.strip_prefix(':')),
            None => (rest, None),
        };
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, Some(p)),
        _ => (s, None),
    }
}

impl Guard {
    pub(crate) fn new(opts: &HttpOptions) -> Guard {
        let mut hosts: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
        let bind = opts.host.trim_start_matches('[').trim_end_matches(']');
        let wildcard = bind.parse::<IpAddr>().is_ok_and(|ip| ip.is_unspecified());
        if !wildcard {
            hosts.push(bind.to_ascii_lowercase());
        }
        hosts.extend(opts.allowed_hosts.iter().map(|h| h.to_ascii_lowercase()));
        let mut origins: Vec<OriginRule> = ["localhost", "127.0.0.1", "::1"]
            .iter()
            .flat_map(|h| {
                ["http", "https"].map(|scheme| OriginRule {
                    scheme: scheme.into(),
                    host: (*h).into(),
                    port: None,
                })
            })
            .collect();
        for o in &opts.allowed_origins {
            if o == "null" {
                origins.push(OriginRule {
                    scheme: "null".into(),
                    host: String::new(),
                    port: None,
                });
                continue;
            }
            match parse_origin(o) {
                Some((scheme, host, port)) => {
                    let port = match port {
                        Some("*") => None,
                        Some(p) => match p.parse() {
                            Ok(p) => Some(p),
                            Err(_) => {
                                tracing::warn!(origin = %o, "ignoring --allowed-origin with a bad port");
                                continue;
                            }
                        },
                        None => Some(default_port(&scheme)),
                    };
                    origins.push(OriginRule { scheme, host, port });
                }
                None => {
                    tracing::warn!(origin = %o, "ignoring --allowed-origin: expected scheme://host[:port]")
                }
            }
        }
        Guard { hosts, origins }
    }

    fn host_ok(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers
            .get(http::header::HOST)
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let value = value.trim().to_ascii_lowercase();
        let (host, _) = split_host_port(&value);
        self.hosts.iter().any(|h| *h == host || *h == value)
    }

    fn origin_ok(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers.get(http::header::ORIGIN) else {
            return true;
        };
        let Ok(value) = value.to_str() else {
            return false;
        };
        if value == "null" {
            return self.origins.iter().any(|r| r.scheme == "null");
        }
        let Some((scheme, host, port)) = parse_origin(value) else {
            return false;
        };
        let port = match port {
            Some(p) => match p.parse::<u16>() {
                Ok(p) => p,
                Err(_) => return false,
            },
            None => default_port(&scheme),
        };
        self.origins
            .iter()
            .any(|r| r.scheme == scheme && r.host == host && r.port.is_none_or(|rp| rp == port))
    }
}

/// Refuses requests whose Host or Origin is not allowed (403).
pub(crate) async fn guard_layer(
    State(guard): State<Arc<Guard>>,
    request: Request,
    next: Next,
) -> Response {
    if !guard.host_ok(request.headers()) {
        tracing::warn!(host = ?request.headers().get(http::header::HOST), "request refused: Host not allowed");
        return json_response(
            StatusCode::FORBIDDEN,
            json!({"ok": false, "error": "forbidden_host"}),
        );
    }
    if !guard.origin_ok(request.headers()) {
        tracing::warn!(origin = ?request.headers().get(http::header::ORIGIN), "request refused: Origin not allowed");
        return json_response(
            StatusCode::FORBIDDEN,
            json!({"ok": false, "error": "forbidden_origin"}),
        );
    }
    // From here on an Origin header, if any, is on the allow-list: answer CORS for it.
    let Some(origin) = request.headers().get(http::header::ORIGIN).cloned() else {
        return next.run(request).await;
    };
    if request.method() == http::Method::OPTIONS
        && request
            .headers()
            .contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        // A preflight carries no credentials; it only learns what the real request may send.
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NO_CONTENT;
        let h = response.headers_mut();
        cors_headers(h, origin);
        h.insert(
            http::header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, DELETE, OPTIONS"),
        );
        h.insert(
            http::header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(CORS_REQUEST_HEADERS),
        );
        h.insert(
            http::header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        return response;
    }
    let mut response = next.run(request).await;
    cors_headers(response.headers_mut(), origin);
    response
}

/// Request headers a browser client of MCP sends besides the CORS-safelisted ones.
const CORS_REQUEST_HEADERS: &str = "authorization, content-type, accept, mcp-session-id, \
     mcp-protocol-version, mcp-method, mcp-name, last-event-id";

/// CORS answer for an allowed Origin: that origin only (never `*`), and the MCP response
/// headers a browser script needs to read.
fn cors_headers(h: &mut HeaderMap, origin: HeaderValue) {
    h.insert(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.append(http::header::VARY, HeaderValue::from_static("Origin"));
    h.insert(
        http::header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("mcp-session-id, mcp-protocol-version, www-authenticate"),
    );
}

/// Authenticates the bearer and records the caller in the request (401 otherwise).
pub(crate) async fn auth_layer(
    State(auth): State<HttpAuth>,
    mut request: Request,
    next: Next,
) -> Response {
    match auth.authenticate(request.headers()) {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(denied) => {
            tracing::info!(reason = denied.reason(), "request refused: unauthorized");
            let mut response = json_response(
                StatusCode::UNAUTHORIZED,
                json!({"ok": false, "error": "unauthorized"}),
            );
            response.headers_mut().insert(
                http::header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"airlock\""),
            );
            response
        }
    }
}

/// Cancels `ct` on SIGINT or SIGTERM.
pub(crate) fn cancel_on_signal(ct: CancellationToken) -> Result<(), McpError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).map_err(McpError::Signal)?;
    let mut int = signal(SignalKind::interrupt()).map_err(McpError::Signal)?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
            _ = ct.cancelled() => return,
        }
        ct.cancel();
    });
    Ok(())
}

/// Binds the address (refusing a non-loopback one without auth).
pub(crate) async fn bind(opts: &HttpOptions) -> Result<tokio::net::TcpListener, McpError> {
    check_bind(opts)?;
    let host = opts.host.trim_start_matches('[').trim_end_matches(']');
    let addr = format!("{}:{}", host, opts.port);
    let target: Result<SocketAddr, _> = match host.parse::<IpAddr>() {
        Ok(ip) => Ok(SocketAddr::new(ip, opts.port)),
        Err(_) => tokio::net::lookup_host(&addr).await.and_then(|mut it| {
            it.next().ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::NotFound, "no address for host")
            })
        }),
    };
    let target = target.map_err(|source| McpError::Listen {
        addr: addr.clone(),
        source,
    })?;
    tokio::net::TcpListener::bind(target)
        .await
        .map_err(|source| McpError::Listen { addr, source })
}

/// Serves `router` on `listener` until `ct` is cancelled, then drains connections (5 s max).
/// Accepted sockets get TCP_NODELAY (without it each SSE reply waits ~40 ms).
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    opts: &HttpOptions,
    ct: CancellationToken,
) -> Result<(), McpError> {
    let local = listener.local_addr().map_err(|source| McpError::Listen {
        addr: opts.host.clone(),
        source,
    })?;
    let tracker = TaskTracker::new();
    let header_timeout = opts.header_timeout;
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and similar: back off instead of spinning.
                    tracing::warn!(error = %e, addr = %local, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = ct.cancelled() => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let ct = ct.clone();
        tracker.spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .keep_alive(true);
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                }
                _ = ct.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
                }
            }
        });
    }
    tracker.close();
    let _ = tokio::time::timeout(Duration::from_secs(5), tracker.wait()).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(origins: &[&str]) -> Guard {
        let mut opts = HttpOptions::new("127.0.0.1", 1, HttpAuth::new(None, None, true));
        opts.allowed_origins = origins.iter().map(|s| s.to_string()).collect();
        Guard::new(&opts)
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn hosts_default_to_loopback() {
        let g = guard(&[]);
        assert!(g.host_ok(&headers(&[("host", "127.0.0.1:8766")])));
        assert!(g.host_ok(&headers(&[("host", "localhost")])));
        assert!(g.host_ok(&headers(&[("host", "[::1]:8766")])));
        assert!(!g.host_ok(&headers(&[("host", "evil.example:8766")])));
        assert!(!g.host_ok(&headers(&[])));
    }

    #[test]
    fn origins_default_to_loopback_and_allow_absent() {
        let g = guard(&["https://app.example.com", "http://tool.example:*"]);
        assert!(g.origin_ok(&headers(&[])));
        assert!(g.origin_ok(&headers(&[("origin", "http://localhost:3000")])));
        assert!(g.origin_ok(&headers(&[("origin", "https://app.example.com")])));
        assert!(g.origin_ok(&headers(&[("origin", "https://app.example.com:443")])));
        assert!(!g.origin_ok(&headers(&[("origin", "https://app.example.com:8443")])));
        assert!(g.origin_ok(&headers(&[("origin", "http://tool.example:9999")])));
        assert!(!g.origin_ok(&headers(&[("origin", "https://evil.example")])));
        assert!(!g.origin_ok(&headers(&[("origin", "null")])));
        assert!(!g.origin_ok(&headers(&[("origin", "garbage")])));
    }

    #[test]
    fn loopback_names() {
        assert!(is_loopback("127.0.0.1"));
        assert!(is_loopback("::1"));
        assert!(is_loopback("[::1]"));
        assert!(is_loopback("localhost"));
        assert!(!is_loopback("0.0.0.0"));
        assert!(!is_loopback("10.0.0.1"));
    }
}
