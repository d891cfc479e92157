//! MCP over Streamable HTTP: each message a POST; answers as JSON or as a server-sent event
//! stream; the session id from `initialize` carried on every later request.

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use super::Limits;
use super::jsonrpc::{self, PROTOCOL_VERSION, Session, quote};
use crate::error::{DiscoveryError, ErrorCode};

const SESSION_HEADER: &str = "mcp-session-id";
const VERSION_HEADER: &str = "mcp-protocol-version";

/// A Streamable HTTP server.
#[derive(Debug, Clone)]
pub struct HttpServer {
    pub url: String,
    /// Extra request headers (`Authorization: Bearer …` from `--bearer-env` or a client
    /// config). Their values are never printed.
    pub headers: Vec<(String, String)>,
}

impl HttpServer {
    /// `url` with an optional bearer token.
    pub fn new(url: &str, bearer: Option<&str>) -> Result<HttpServer, DiscoveryError> {
        let parsed = reqwest::Url::parse(url).map_err(|e| {
            DiscoveryError::new(
                ErrorCode::Usage,
                format!("{url:?} is not a URL: {e}"),
                "pass the server's MCP endpoint, e.g. --url http://127.0.0.1:8787/mcp",
            )
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(DiscoveryError::new(
                ErrorCode::Usage,
                format!("{url:?} is not an http(s) URL"),
                "Streamable HTTP endpoints are http:// or https:// URLs",
            ));
        }
        Ok(HttpServer {
            url: url.to_owned(),
            headers: bearer
                .map(|t| vec![("Authorization".to_owned(), format!("Bearer {t}"))])
                .unwrap_or_default(),
        })
    }

    /// The URL with any userinfo and query removed.
    pub fn label(&self) -> String {
        match reqwest::Url::parse(&self.url) {
            Ok(mut u) => {
                let _ = u.set_username("");
                let _ = u.set_password(None);
                u.set_query(None);
                u.to_string()
            }
            Err(_) => "<invalid url>".to_owned(),
        }
    }

    pub(crate) async fn list_tools(&self, limits: &Limits) -> Result<Vec<Value>, DiscoveryError> {
        let mut session = HttpSession::new(self, limits)?;
        let result = jsonrpc::list_tools(&mut session, limits.max_pages).await;
        session.close().await;
        result
    }
}

struct HttpSession {
    client: reqwest::Client,
    url: String,
    headers: HeaderMap,
    read: usize,
    max_bytes: usize,
}

impl HttpSession {
    fn new(server: &HttpServer, limits: &Limits) -> Result<HttpSession, DiscoveryError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("application/json, text/event-stream"),
        );
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (k, v) in &server.headers {
            let name = HeaderName::try_from(k.as_str());
            let mut value = HeaderValue::try_from(v.as_str());
            if let Ok(v) = value.as_mut() {
                v.set_sensitive(true);
            }
            match (name, value) {
                (Ok(n), Ok(v)) => {
                    headers.insert(n, v);
                }
                _ => {
                    return Err(DiscoveryError::new(
                        ErrorCode::Usage,
                        format!("the header {k:?} is not a valid HTTP header"),
                        "check the header names and values in the client config",
                    ));
                }
            }
        }
        let client = reqwest::Client::builder()
            .timeout(limits.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                DiscoveryError::new(
                    ErrorCode::Connect,
                    format!("cannot build an HTTP client: {e}"),
                    "this is a bug",
                )
            })?;
        Ok(HttpSession {
            client,
            url: server.url.clone(),
            headers,
            read: 0,
            max_bytes: limits.max_bytes,
        })
    }

    async fn post(&mut self, msg: &Value) -> Result<reqwest::Response, DiscoveryError> {
        let response = self
            .client
            .post(&self.url)
            .headers(self.headers.clone())
            .body(serde_json::to_vec(msg).expect("a JSON value serializes"))
            .send()
            .await
            .map_err(|e| {
                DiscoveryError::new(
                    ErrorCode::Connect,
                    format!("cannot reach {}: {}", self.label(), quote(&e.to_string())),
                    "check that the server is running and the URL is its MCP endpoint",
                )
            })?;
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(DiscoveryError::new(
                ErrorCode::Unauthorized,
                format!("the server answered HTTP {status}"),
                "pass a token: --bearer-env VAR names the variable holding it",
            ));
        }
        if !status.is_success() {
            return Err(DiscoveryError::new(
                ErrorCode::HttpStatus,
                format!("the server answered HTTP {status}"),
                "check that the URL is the server's Streamable HTTP endpoint (often /mcp)",
            ));
        }
        if let Some(id) = response.headers().get(SESSION_HEADER).cloned() {
            self.headers.insert(SESSION_HEADER, id);
        }
        Ok(response)
    }

    fn label(&self) -> String {
        HttpServer {
            url: self.url.clone(),
            headers: Vec::new(),
        }
        .label()
    }

    /// Reads the next chunk of a body, counting it against the byte limit.
    async fn chunk(
        &mut self,
        response: &mut reqwest::Response,
    ) -> Result<Option<bytes::Bytes>, DiscoveryError> {
        let chunk = response.chunk().await.map_err(|e| {
            DiscoveryError::new(
                ErrorCode::ServerExited,
                format!("the answer broke off: {}", quote(&e.to_string())),
                "check the server's logs",
            )
        })?;
        if let Some(c) = &chunk {
            self.read += c.len();
            if self.read > self.max_bytes {
                return Err(DiscoveryError::new(
                    ErrorCode::ResponseTooLarge,
                    format!("the server sent more than {} bytes", self.max_bytes),
                    "a tool list is far smaller; the server is broken or hostile",
                ));
            }
        }
        Ok(chunk)
    }

    async fn close(&mut self) {
        if self.headers.contains_key(SESSION_HEADER) {
            let _ = self
                .client
                .delete(&self.url)
                .headers(self.headers.clone())
                .send()
                .await;
        }
    }
}

impl Session for HttpSession {
    async fn request(
        &mut self,
        msg: Value,
        id: u64,
        method: &str,
    ) -> Result<Value, DiscoveryError> {
        let mut response = self.post(&msg).await?;
        if method == "initialize" {
            self.headers
                .insert(VERSION_HEADER, HeaderValue::from_static(PROTOCOL_VERSION));
        }
        let event_stream = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/event-stream"));
        let mut body = Vec::new();
        while let Some(chunk) = self.chunk(&mut response).await? {
            body.extend_from_slice(chunk.as_ref());
            if event_stream {
                // Answer as soon as the awaited message has arrived: the stream may stay open.
                for data in sse_messages(&body) {
                    let incoming = parse(&data)?;
                    if let Some(answer) = jsonrpc::answer(&incoming, id, method) {
                        return answer;
                    }
                }
            }
        }
        let messages = if event_stream {
            sse_messages(&body)
        } else {
            vec![body]
        };
        for data in messages {
            let incoming = parse(&data)?;
            if let Some(answer) = jsonrpc::answer(&incoming, id, method) {
                return answer;
            }
        }
        Err(DiscoveryError::new(
            ErrorCode::BadJson,
            format!("the server's answer did not contain the {method} response"),
            "check that the URL is an MCP Streamable HTTP endpoint",
        ))
    }

    async fn notify(&mut self, msg: Value) -> Result<(), DiscoveryError> {
        self.post(&msg).await.map(drop)
    }
}

fn parse(data: &[u8]) -> Result<Value, DiscoveryError> {
    serde_json::from_slice(data).map_err(|e| {
        DiscoveryError::new(
            ErrorCode::BadJson,
            format!(
                "the server's answer is not JSON ({e}): {}",
                quote(&String::from_utf8_lossy(data))
            ),
            "check that the URL is an MCP Streamable HTTP endpoint",
        )
    })
}

/// The `data` of every complete event in a server-sent event stream (events end with a blank
/// line; multi-line data is joined with newlines; events with empty data are skipped).
fn sse_messages(body: &[u8]) -> Vec<Vec<u8>> {
    let text = String::from_utf8_lossy(body).replace("\r\n", "\n");
    let complete = match text.rfind("\n\n") {
        Some(end) => &text[..end],
        None => return Vec::new(),
    };
    complete
        .split("\n\n")
        .filter_map(|event| {
            let data: Vec<&str> = event
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(|d| d.strip_prefix(' ').unwrap_or(d))
                .collect();
            let data = data.join("\n");
            // An event without data (a priming event carrying only an id) holds no message.
            (!data.trim().is_empty()).then(|| data.into_bytes())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_events_are_split_and_incomplete_ones_wait() {
        let body = b"id: 0\ndata:\n\nevent: message\ndata: {\"a\":1}\n\n: comment\n\ndata: {\"b\":\ndata: 2}\r\n\r\ndata: {\"c\"";
        let got: Vec<String> = sse_messages(body)
            .into_iter()
            .map(|d| String::from_utf8(d).unwrap())
            .collect();
        assert_eq!(got, ["{\"a\":1}", "{\"b\":\n2}"]);
    }

    #[test]
    fn labels_drop_credentials_and_query() {
        let s = HttpServer::new("https://u:p@host.example/mcp?token=x", Some("t")).unwrap();
        assert_eq!(s.label(), "https://host.example/mcp");
        assert_eq!(
            HttpServer::new("ftp://x", None).unwrap_err().code,
            ErrorCode::Usage
        );
    }
}
