//! The UI's security layer: session token and cookie, CSRF tokens, Host and Origin checks,
//! response headers, operator sign-in.
//!
//! - The run token (printed once in the URL) is traded for a browser session on the first
//!   request; the session id lives in an `HttpOnly`, `SameSite=Strict` cookie and the token is
//!   dropped from the address bar by a redirect.
//! - Every state-changing request must come from a page of this server: `Origin` equal to the
//!   served origin (`Sec-Fetch-Site: same-origin` when the browser sends it) and the session's
//!   CSRF token in the form.
//! - The Host header must name the bound address (DNS rebinding gets nothing).
//! - Secrets compare in constant time; signing in starts a new session (no fixation).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use rand::RngCore;
use subtle::ConstantTimeEq;

use crate::{Reviewers, Ui, UiOptions};

/// The session cookie's name.
pub(crate) const COOKIE: &str = "airlock_ui";
/// Sessions kept at once; the oldest goes first beyond this.
const MAX_SESSIONS: usize = 256;

/// The environment variable holding operator `name`'s sign-in secret:
/// `AIRLOCK_UI_SECRET_` + the name in upper case, every other character than A–Z and 0–9
/// turned into `_` (operator `dana.lee` → `AIRLOCK_UI_SECRET_DANA_LEE`).
pub fn operator_secret_var(name: &str) -> String {
    let tail: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("{}{tail}", airlock_config::env_vars::UI_SECRET_PREFIX)
}

pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// One browser session.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub id: String,
    pub csrf: String,
    /// The operator signed in, when operators are declared.
    pub operator: Option<String>,
    serial: u64,
}

impl Session {
    /// Whether `token` is this session's CSRF token.
    pub fn csrf_ok(&self, token: &str) -> bool {
        same(&self.csrf, token)
    }
}

pub(crate) struct Security {
    run_token: String,
    hosts: Vec<String>,
    sessions: Mutex<(u64, HashMap<String, Session>)>,
}

/// `host:port` as a browser writes it in the Host header.
pub(crate) fn host_of(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => format!("{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
    }
}

impl Security {
    pub fn new(opts: &UiOptions) -> Security {
        let port = opts.addr.port();
        let mut hosts = vec![host_of(opts.addr)];
        if opts.addr.ip().is_loopback() {
            hosts.extend([
                format!("localhost:{port}"),
                format!("127.0.0.1:{port}"),
                format!("[::1]:{port}"),
            ]);
        }
        hosts.dedup();
        Security {
            run_token: random_token(),
            hosts,
            sessions: Mutex::new((0, HashMap::new())),
        }
    }

    pub fn run_token(&self) -> &str {
        &self.run_token
    }

    fn host_ok(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }

    /// A new session (signed in as `operator`, if given).
    pub fn start(&self, operator: Option<String>) -> Session {
        let mut guard = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let (serial, map) = &mut *guard;
        *serial += 1;
        if map.len() >= MAX_SESSIONS
            && let Some(oldest) = map.values().min_by_key(|s| s.serial).map(|s| s.id.clone())
        {
            map.remove(&oldest);
        }
        let s = Session {
            id: random_token(),
            csrf: random_token(),
            operator,
            serial: *serial,
        };
        map.insert(s.id.clone(), s.clone());
        s
    }

    pub fn end(&self, id: &str) {
        let mut guard = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        guard.1.remove(id);
    }

    fn find(&self, id: &str) -> Option<Session> {
        let guard = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        guard.1.get(id).cloned()
    }
}

/// The cookie that carries session `id`.
pub(crate) fn session_cookie(id: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/"))
        .expect("hex is a valid header value")
}

fn cookie_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Checks an operator's secret. `None` when the name is not an operator who can sign in.
pub(crate) fn operator_secret_ok(reviewers: &Reviewers, name: &str, secret: &str) -> bool {
    match reviewers {
        Reviewers::Operators(m) => m.get(name).is_some_and(|s| same(s, secret)),
        Reviewers::Single(_) => false,
    }
}

fn refuse(status: StatusCode, message: &str, hint: &str) -> Response {
    (status, crate::views::error_page(status, message, hint)).into_response()
}

/// The query string without its `token` parameter.
fn without_token(query: &str) -> String {
    query
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("token="))
        .collect::<Vec<_>>()
        .join("&")
}

fn token_param(query: &str) -> Option<&str> {
    query.split('&').find_map(|kv| kv.strip_prefix("token="))
}

/// The layer around every route.
pub(crate) async fn guard(State(ui): State<Arc<Ui>>, mut req: Request, next: Next) -> Response {
    let mut res = check(&ui, &mut req).await;
    if res.is_none() {
        res = Some(next.run(req).await);
    }
    let mut res = res.unwrap_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response());
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Not `no-referrer`: under it browsers send `Origin: null` on form posts, and the
    // Origin check could not tell this UI's forms from a sandboxed attacker's.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// `Some(response)` to answer without reaching the route.
async fn check(ui: &Ui, req: &mut Request) -> Option<Response> {
    let sec = &ui.security;
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if !sec.host_ok(&host) {
        return Some(refuse(
            StatusCode::MISDIRECTED_REQUEST,
            &format!("this server does not answer for the host `{host}`"),
            "open the URL `airlock ui` printed",
        ));
    }
    let path = req.uri().path().to_owned();
    if path.starts_with("/assets/") {
        return None;
    }
    let query = req.uri().query().unwrap_or_default().to_owned();
    if req.method() == Method::GET
        && let Some(token) = token_param(&query)
    {
        if !same(token, sec.run_token()) {
            return Some(refuse(
                StatusCode::UNAUTHORIZED,
                "this link's session token is not this run's",
                "open the URL the running `airlock ui` printed; each run prints a new one",
            ));
        }
        let session = sec.start(None);
        let rest = without_token(&query);
        let target = if rest.is_empty() {
            path
        } else {
            format!("{path}?{rest}")
        };
        let mut res = Redirect::to(&target).into_response();
        res.headers_mut()
            .insert(header::SET_COOKIE, session_cookie(&session.id));
        return Some(res);
    }
    let Some(session) = cookie_value(req.headers(), COOKIE).and_then(|id| sec.find(id)) else {
        return Some(refuse(
            StatusCode::UNAUTHORIZED,
            "no review session",
            "open the URL `airlock ui` printed (it carries this run's session token)",
        ));
    };
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let origin = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if origin != format!("http://{host}") {
            return Some(refuse(
                StatusCode::FORBIDDEN,
                "refused: the request did not come from a page of this review UI (Origin)",
                "use the forms of the review UI",
            ));
        }
        let site = req
            .headers()
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok());
        if site.is_some_and(|s| s != "same-origin") {
            return Some(refuse(
                StatusCode::FORBIDDEN,
                "refused: the request did not come from a page of this review UI (Sec-Fetch-Site)",
                "use the forms of the review UI",
            ));
        }
    }
    if ui.opts.remote && session.operator.is_none() && path != "/login" {
        return Some(Redirect::to("/login").into_response());
    }
    req.extensions_mut().insert(session);
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_variables_are_upper_case_with_underscores() {
        assert_eq!(operator_secret_var("dana"), "AIRLOCK_UI_SECRET_DANA");
        assert_eq!(
            operator_secret_var("dana.lee-2"),
            "AIRLOCK_UI_SECRET_DANA_LEE_2"
        );
    }

    #[test]
    fn the_token_leaves_the_query() {
        assert_eq!(without_token("token=abc&page=2"), "page=2");
        assert_eq!(without_token("token=abc"), "");
        assert_eq!(token_param("a=1&token=xyz"), Some("xyz"));
    }

    #[test]
    fn secrets_compare_by_value_and_length() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "abcd"));
    }
}
