//! Write app-owned writeback handlers for Airlock (and Synapsor Runner 0.1.1) in Rust.
//!
//! An approved proposal whose capability names an `http_handler` executor is sent to your
//! endpoint as a signed JSON request. Your handler makes the business write in its own
//! transaction and answers with a receipt. This crate does the parts that must be exactly
//! right:
//!
//! - [`Verifier::verify`]: bearer token and both signature forms checked in constant time
//!   (`X-Airlock-Signature: v2=…` over timestamp, proposal id, idempotency key and body hash;
//!   `X-Synapsor-Signature: sha256=…` over the body), a freshness window on
//!   `X-Synapsor-Issued-At`, headers cross-checked with the body, replays rejected through an
//!   [`IdempotencyStore`], and the body parsed into a typed [`WritebackRequest`] (both the flat
//!   shape and the nested `change_set` shape are accepted).
//! - [`WritebackRequest::applied`], [`WritebackRequest::conflict`], …: receipts that echo the
//!   proposal id and idempotency key, which Airlock checks.
//! - [`Verifier::verify_incoming`]: the same checks, and a signed probe (`airlock doctor
//!   --check-handlers`) comes back as [`Incoming::Probe`]; answer it with
//!   [`ProbeRequest::answer`] without touching your app. [`Verifier::handle`] does that itself.
//!
//! What stays yours: the transaction, and inside it the checks the request asks for — the
//! row belongs to [`WritebackRequest::tenant_guard`], its version still equals
//! [`WritebackRequest::expected_version`], and the idempotency key was not applied before
//! (store it in the same transaction as the write).
//!
//! ```
//! use airlock_handler::{Verifier, WritebackRequest, sign_for_tests};
//!
//! let verifier = Verifier::new()
//!     .bearer_token("handler-token")
//!     .signing_secret("signing-secret");
//! let body = br#"{"protocol_version":"1.0","schema_version":"synapsor.handler-writeback.v1",
//!   "proposal_id":"wrp_1","idempotency_key":"wrp_1:INV-1","action":"billing.credit",
//!   "target":{"schema":"public","table":"invoices","primary_key":{"column":"id","value":"INV-1"}},
//!   "tenant_guard":{"column":"tenant_id","value":"acme"},
//!   "guards":{"tenant":{"column":"tenant_id","value":"acme"},"allowed_columns":["credit"],
//!             "expected_version":{"column":"version","value":3}},
//!   "patch":{"credit":500},"issued_at":"ISSUED","dry_run":false}"#;
//! let issued = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
//! let body = String::from_utf8_lossy(body).replace("ISSUED", &issued).into_bytes();
//! let headers = sign_for_tests(&body, "handler-token", "signing-secret");
//! let req: WritebackRequest = verifier.verify(&headers, &body).unwrap();
//! assert_eq!(req.tenant_id, "acme");
//! let receipt = req.applied(1, Some(3.into()), Some(4.into()));
//! assert_eq!(receipt.proposal_id.as_deref(), Some("wrp_1"));
//! // The same signed request again is a replay.
//! assert_eq!(verifier.verify(&headers, &body).unwrap_err().code, "REPLAYED_REQUEST");
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

pub use airlock_protocol::events::{EVENT_DELIVERY_V1, EventDelivery, EventRecord};
pub use airlock_protocol::handler::{
    HANDLER_PROBE_V1, HANDLER_WRITEBACK_V1, HandlerProbe, HandlerReceipt, HandlerRequest,
    HandlerStatus, PROTOCOL_VERSION, ProbeAnswer, ReceiptError, headers, sign_v1, sign_v2,
    v2_string_to_sign, verify_v1, verify_v2,
};
pub use airlock_protocol::{ColumnValue, JobTarget};

use airlock_protocol::events::headers::EVENT_ID as EVENT_ID_HEADER;

use airlock_protocol::handler::headers as h;

/// Default freshness window: a request's issued-at may differ from now by at most this much.
pub const DEFAULT_WINDOW_SECONDS: i64 = 300;

/// Looks up request headers by lowercase name (implementations compare case-insensitively).
pub trait HeaderSource {
    fn header(&self, name: &str) -> Option<&str>;
}

impl HeaderSource for [(&str, &str)] {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }
}

impl<const N: usize> HeaderSource for [(&str, &str); N] {
    fn header(&self, name: &str) -> Option<&str> {
        self.as_slice().header(name)
    }
}

impl HeaderSource for Vec<(String, String)> {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl HeaderSource for HashMap<String, String> {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(feature = "http")]
impl HeaderSource for http::HeaderMap {
    fn header(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Why a request was refused: the HTTP status to answer with and a safe code. Answer with
/// [`Rejection::receipt`] as the JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub http_status: u16,
    /// `UNAUTHORIZED`, `INVALID_SIGNATURE`, `INVALID_ISSUED_AT`, `REPLAYED_REQUEST`,
    /// `BAD_JSON`, `BAD_WRITEBACK_REQUEST`, `UNSUPPORTED_PROTOCOL_VERSION`,
    /// `METHOD_NOT_ALLOWED`.
    pub code: &'static str,
    /// For your logs; never secret.
    pub reason: String,
}

impl Rejection {
    fn new(http_status: u16, code: &'static str, reason: impl Into<String>) -> Rejection {
        Rejection {
            http_status,
            code,
            reason: reason.into(),
        }
    }

    /// A `failed` receipt carrying the code.
    pub fn receipt(&self) -> HandlerReceipt {
        HandlerReceipt {
            proposal_id: None,
            idempotency_key: None,
            status: HandlerStatus::Failed,
            rows_affected: 0,
            source_database_mutated: false,
            previous_version: None,
            new_version: None,
            safe_error_code: Some(self.code.to_owned()),
            details: None,
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.http_status, self.reason)
    }
}

impl std::error::Error for Rejection {}

/// Remembers signed requests (to reject replays) and, optionally, receipts by idempotency key.
///
/// The receipt half is a convenience for handlers without a database of their own. When the
/// business write goes to a database, record the idempotency key **in the same transaction**
/// (the example app does) — that is what makes a retried request apply once.
pub trait IdempotencyStore: Send + Sync {
    /// Records `request_id` (a signature) until `expires_at`. Returns false if it was already
    /// recorded and has not expired: the request is a replay.
    fn first_sight(&self, request_id: &str, expires_at: DateTime<Utc>) -> bool;
    /// The receipt recorded for `idempotency_key`.
    fn receipt(&self, idempotency_key: &str) -> Option<HandlerReceipt>;
    /// Records the receipt of `idempotency_key`.
    fn record(&self, idempotency_key: &str, receipt: &HandlerReceipt);
}

/// An [`IdempotencyStore`] in process memory: for one process, tests and demos. Expired
/// request ids are pruned as new ones arrive; at most `max_requests` are kept (the oldest
/// expiry is dropped first).
#[derive(Debug)]
pub struct MemoryStore {
    requests: Mutex<HashMap<String, DateTime<Utc>>>,
    receipts: Mutex<HashMap<String, HandlerReceipt>>,
    max_requests: usize,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore {
            requests: Mutex::default(),
            receipts: Mutex::default(),
            max_requests: 100_000,
        }
    }
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }
}

impl IdempotencyStore for MemoryStore {
    fn first_sight(&self, request_id: &str, expires_at: DateTime<Utc>) -> bool {
        let now = Utc::now();
        let mut seen = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        if seen.get(request_id).is_some_and(|exp| *exp > now) {
            return false;
        }
        if seen.len() >= self.max_requests {
            seen.retain(|_, exp| *exp > now);
            while seen.len() >= self.max_requests {
                let oldest = seen
                    .iter()
                    .min_by_key(|(_, exp)| **exp)
                    .map(|(k, _)| k.clone());
                match oldest {
                    Some(k) => seen.remove(&k),
                    None => break,
                };
            }
        }
        seen.insert(request_id.to_owned(), expires_at);
        true
    }

    fn receipt(&self, idempotency_key: &str) -> Option<HandlerReceipt> {
        self.receipts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(idempotency_key)
            .cloned()
    }

    fn record(&self, idempotency_key: &str, receipt: &HandlerReceipt) {
        self.receipts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(idempotency_key.to_owned(), receipt.clone());
    }
}

/// Checks requests. Build one at startup and share it.
#[derive(Clone)]
pub struct Verifier {
    token: Option<Vec<u8>>,
    signing_secret: Option<Vec<u8>>,
    window: Duration,
    allow_v1_only: bool,
    store: Arc<dyn IdempotencyStore>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field(
                "signing_secret",
                &self.signing_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("window", &self.window)
            .field("allow_v1_only", &self.allow_v1_only)
            .finish()
    }
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier::new()
    }
}

impl Verifier {
    /// A verifier with no credentials yet, a ±5 minute window and a [`MemoryStore`]. Configure
    /// at least a bearer token or a signing secret (both is best).
    pub fn new() -> Verifier {
        Verifier {
            token: None,
            signing_secret: None,
            window: Duration::seconds(DEFAULT_WINDOW_SECONDS),
            allow_v1_only: false,
            store: Arc::new(MemoryStore::new()),
        }
    }

    /// Requires `Authorization: Bearer <token>`.
    pub fn bearer_token(mut self, token: impl AsRef<[u8]>) -> Verifier {
        self.token = Some(token.as_ref().to_vec());
        self
    }

    /// Requires signed requests: `X-Airlock-Signature` (v2), and `X-Synapsor-Signature` (v1)
    /// checked too when present.
    pub fn signing_secret(mut self, secret: impl AsRef<[u8]>) -> Verifier {
        self.signing_secret = Some(secret.as_ref().to_vec());
        self
    }

    /// How far issued-at may be from now, either way (default 300 s).
    pub fn freshness_window(mut self, window: std::time::Duration) -> Verifier {
        self.window =
            Duration::from_std(window).unwrap_or(Duration::seconds(DEFAULT_WINDOW_SECONDS));
        self
    }

    /// Also accept requests signed only with v1 (`X-Synapsor-Signature`), as Synapsor Runner
    /// 0.1.1 sends them. The body's `issued_at` must then equal the header, which binds the
    /// timestamp to the v1 signature.
    pub fn allow_v1_only(mut self, allow: bool) -> Verifier {
        self.allow_v1_only = allow;
        self
    }

    /// Where request ids (and receipts, for [`Verifier::handle`]) are remembered.
    pub fn store(mut self, store: Arc<dyn IdempotencyStore>) -> Verifier {
        self.store = store;
        self
    }

    pub fn idempotency_store(&self) -> &Arc<dyn IdempotencyStore> {
        &self.store
    }

    /// Verifies one request (now) and parses it. See [`Verifier::verify_at`].
    pub fn verify<H: HeaderSource + ?Sized>(
        &self,
        headers: &H,
        body: &[u8],
    ) -> Result<WritebackRequest, Rejection> {
        self.verify_at(headers, body, Utc::now())
    }

    /// Verifies one writeback request as of `now`; a probe is refused (400
    /// `BAD_WRITEBACK_REQUEST`): use [`Verifier::verify_incoming_at`] to answer probes. The
    /// checks, in this order: bearer token (401 `UNAUTHORIZED`);
    /// signature (401 `INVALID_SIGNATURE`); issued-at present and within the window (401
    /// `INVALID_ISSUED_AT`); JSON (400 `BAD_JSON`); protocol version (400
    /// `UNSUPPORTED_PROTOCOL_VERSION`); the request's shape (400 `BAD_WRITEBACK_REQUEST`);
    /// headers equal to the body's `issued_at`, `proposal_id`, `idempotency_key` (401
    /// `INVALID_ISSUED_AT` / 400 `BAD_WRITEBACK_REQUEST`); replay (409 `REPLAYED_REQUEST`).
    pub fn verify_at<H: HeaderSource + ?Sized>(
        &self,
        headers: &H,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<WritebackRequest, Rejection> {
        match self.verify_incoming_at(headers, body, now)? {
            Incoming::Writeback(req) => Ok(req),
            Incoming::Probe(_) => Err(Rejection::new(
                400,
                "BAD_WRITEBACK_REQUEST",
                "a probe, not a writeback request (answer probes through verify_incoming)",
            )),
        }
    }

    /// Verifies one request (now): a writeback request or a probe. See
    /// [`Verifier::verify_incoming_at`].
    pub fn verify_incoming<H: HeaderSource + ?Sized>(
        &self,
        headers: &H,
        body: &[u8],
    ) -> Result<Incoming, Rejection> {
        self.verify_incoming_at(headers, body, Utc::now())
    }

    /// Like [`Verifier::verify_at`], but a body with `"kind": "probe"` that passes every
    /// check (credentials, signatures, freshness, protocol version, headers equal to the
    /// body, replay) is returned as [`Incoming::Probe`] instead of being refused.
    pub fn verify_incoming_at<H: HeaderSource + ?Sized>(
        &self,
        headers: &H,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Incoming, Rejection> {
        let Authenticated {
            request_id,
            issued_at,
        } = self.authenticate(headers, body, now)?;
        let issued_header = headers.header(h::ISSUED_AT);
        let raw: Value = if body.iter().all(u8::is_ascii_whitespace) {
            Value::Object(Map::new())
        } else {
            serde_json::from_slice(body)
                .map_err(|_| Rejection::new(400, "BAD_JSON", "the body is not JSON"))?
        };
        let protocol = raw
            .get("protocol_version")
            .or_else(|| raw.get("schema_version"))
            .and_then(Value::as_str)
            .unwrap_or(PROTOCOL_VERSION);
        if protocol != PROTOCOL_VERSION && protocol != HANDLER_WRITEBACK_V1 {
            return Err(Rejection::new(
                400,
                "UNSUPPORTED_PROTOCOL_VERSION",
                "protocol_version must be 1.0 (schema_version synapsor.handler-writeback.v1)",
            ));
        }
        let incoming = if airlock_protocol::handler::is_probe(&raw) {
            Incoming::Probe(
                ProbeRequest::from_value(raw)
                    .map_err(|why| Rejection::new(400, "BAD_WRITEBACK_REQUEST", why))?,
            )
        } else {
            Incoming::Writeback(
                WritebackRequest::from_value(raw)
                    .map_err(|why| Rejection::new(400, "BAD_WRITEBACK_REQUEST", why))?,
            )
        };
        let (body_at, proposal_id, idempotency_key) = match &incoming {
            Incoming::Writeback(r) => (r.issued_at.as_deref(), &r.proposal_id, &r.idempotency_key),
            Incoming::Probe(p) => (p.issued_at.as_deref(), &p.probe_id, &p.probe_id),
        };
        if issued_header.is_some_and(|hd| body_at.is_some_and(|b| hd.trim() != b)) {
            return Err(Rejection::new(
                401,
                "INVALID_ISSUED_AT",
                "X-Synapsor-Issued-At differs from the body's issued_at",
            ));
        }
        for (name, value) in [
            (h::PROPOSAL_ID, proposal_id),
            (h::IDEMPOTENCY_KEY, idempotency_key),
        ] {
            if headers.header(name).is_some_and(|v| v != value) {
                return Err(Rejection::new(
                    400,
                    "BAD_WRITEBACK_REQUEST",
                    format!("header {name} differs from the body"),
                ));
            }
        }
        self.remember(request_id, issued_at, now)?;
        Ok(incoming)
    }

    /// Verifies one event notification (`airlock events webhook`, `notifications` in the
    /// config) as of now and parses it. See [`Verifier::verify_event_at`].
    pub fn verify_event<H: HeaderSource + ?Sized>(
        &self,
        headers: &H,
        body: &[u8],
    ) -> Result<EventDelivery, Rejection> {
        self.verify_event_at(headers, body, Utc::now())
    }

    /// Verifies an event notification: bearer token, signatures and freshness exactly as
    /// [`Verifier::verify_at`]; then the body (400 `BAD_JSON`, 400 `BAD_EVENT_DELIVERY`);
    /// headers equal to the body's `issued_at`, `event_id` (the `idempotency-key`) and
    /// proposal id (401 `INVALID_ISSUED_AT` / 400 `BAD_EVENT_DELIVERY`); replay of this very
    /// request (409 `REPLAYED_REQUEST`). A retried delivery is a new request with the same
    /// [`EventDelivery::event_id`]: de-duplicate on it.
    pub fn verify_event_at<H: HeaderSource + ?Sized>(
        &self,
        headers: &H,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<EventDelivery, Rejection> {
        let Authenticated {
            request_id,
            issued_at,
        } = self.authenticate(headers, body, now)?;
        let delivery: EventDelivery = serde_json::from_slice(body).map_err(|e| {
            if serde_json::from_slice::<Value>(body).is_err() {
                Rejection::new(400, "BAD_JSON", "the body is not JSON")
            } else {
                Rejection::new(
                    400,
                    "BAD_EVENT_DELIVERY",
                    format!("not an event delivery: {e}"),
                )
            }
        })?;
        if delivery.schema_version != EVENT_DELIVERY_V1 {
            return Err(Rejection::new(
                400,
                "BAD_EVENT_DELIVERY",
                format!("schema_version must be {EVENT_DELIVERY_V1}"),
            ));
        }
        if headers
            .header(h::ISSUED_AT)
            .is_some_and(|t| t.trim() != delivery.issued_at)
        {
            return Err(Rejection::new(
                401,
                "INVALID_ISSUED_AT",
                "X-Synapsor-Issued-At differs from the body's issued_at",
            ));
        }
        let proposal = delivery.event.proposal_id.as_deref().unwrap_or("");
        for (name, value) in [
            (h::IDEMPOTENCY_KEY, delivery.event_id.as_str()),
            (EVENT_ID_HEADER, delivery.event_id.as_str()),
            (h::PROPOSAL_ID, proposal),
        ] {
            if headers.header(name).is_some_and(|v| v != value) {
                return Err(Rejection::new(
                    400,
                    "BAD_EVENT_DELIVERY",
                    format!("header {name} differs from the body"),
                ));
            }
        }
        if delivery.event_id != delivery.event.event_id {
            return Err(Rejection::new(
                400,
                "BAD_EVENT_DELIVERY",
                "event_id differs from event.event_id",
            ));
        }
        self.remember(request_id, issued_at, now)?;
        Ok(delivery)
    }

    /// Refuses a signed request seen before (its signature is its id).
    fn remember(
        &self,
        request_id: Option<String>,
        issued_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), Rejection> {
        if let Some(id) = request_id {
            let until = issued_at.unwrap_or(now) + self.window;
            if !self.store.first_sight(&id, until) {
                return Err(Rejection::new(
                    409,
                    "REPLAYED_REQUEST",
                    "this signed request was already received",
                ));
            }
        }
        Ok(())
    }

    /// Bearer token, signatures (v2 required unless v1-only is allowed) and the freshness
    /// window: what every signed request must pass, whatever its body.
    fn authenticate<H: HeaderSource + ?Sized>(
        &self,
        headers: &H,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Authenticated, Rejection> {
        if let Some(token) = &self.token {
            let given = headers
                .header(h::AUTHORIZATION)
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("");
            if !bool::from(given.as_bytes().ct_eq(token)) {
                return Err(Rejection::new(
                    401,
                    "UNAUTHORIZED",
                    "missing or wrong bearer token",
                ));
            }
        }
        let issued_header = headers.header(h::ISSUED_AT);
        let mut request_id = None;
        if let Some(secret) = &self.signing_secret {
            let v1 = headers.header(h::SIGNATURE);
            let v2 = headers.header(h::AIRLOCK_SIGNATURE);
            if v1.is_some_and(|v1| !verify_v1(secret, body, v1)) {
                return Err(Rejection::new(
                    401,
                    "INVALID_SIGNATURE",
                    "X-Synapsor-Signature does not match the body",
                ));
            }
            match v2 {
                Some(v2) => {
                    let ok = match (
                        issued_header,
                        headers.header(h::PROPOSAL_ID),
                        headers.header(h::IDEMPOTENCY_KEY),
                    ) {
                        (Some(t), Some(p), Some(k)) => verify_v2(secret, t, p, k, body, v2),
                        _ => false,
                    };
                    if !ok {
                        return Err(Rejection::new(
                            401,
                            "INVALID_SIGNATURE",
                            "X-Airlock-Signature does not match the timestamp, ids and body",
                        ));
                    }
                    request_id = Some(v2.to_owned());
                }
                None if self.allow_v1_only && v1.is_some() => {
                    request_id = v1.map(str::to_owned);
                }
                None => {
                    return Err(Rejection::new(
                        401,
                        "INVALID_SIGNATURE",
                        if v1.is_some() {
                            "X-Airlock-Signature is required (v1-only requests are not accepted)"
                        } else {
                            "the request is not signed"
                        },
                    ));
                }
            }
        }
        let issued_at = match issued_header {
            Some(t) => {
                let at = DateTime::parse_from_rfc3339(t.trim())
                    .map_err(|_| {
                        Rejection::new(
                            401,
                            "INVALID_ISSUED_AT",
                            "issued-at is not an RFC 3339 time",
                        )
                    })?
                    .with_timezone(&Utc);
                if (now - at).abs() > self.window {
                    return Err(Rejection::new(
                        401,
                        "INVALID_ISSUED_AT",
                        if at < now {
                            "the request is too old"
                        } else {
                            "the request is from the future"
                        },
                    ));
                }
                Some(at)
            }
            None if self.signing_secret.is_some() => {
                return Err(Rejection::new(
                    401,
                    "INVALID_ISSUED_AT",
                    "X-Synapsor-Issued-At is missing",
                ));
            }
            None => None,
        };
        Ok(Authenticated {
            request_id,
            issued_at,
        })
    }

    /// The whole pattern for a handler without its own database: verify, answer a verified
    /// probe (without calling `apply`), answer a known idempotency key with
    /// `already_applied`, otherwise run `apply` and remember an applied receipt. Returns the
    /// HTTP status and the JSON to send (200 for every receipt, so Airlock records the
    /// handler's own code; 4xx for rejections).
    pub fn handle<H: HeaderSource + ?Sized>(
        &self,
        headers: &H,
        body: &[u8],
        apply: impl FnOnce(&WritebackRequest) -> HandlerReceipt,
    ) -> (u16, Answer) {
        let req = match self.verify_incoming(headers, body) {
            Ok(Incoming::Writeback(r)) => r,
            Ok(Incoming::Probe(p)) => return (200, Answer::Probe(p.answer())),
            Err(rej) => return (rej.http_status, Answer::Receipt(rej.receipt())),
        };
        if let Some(prior) = self.store.receipt(&req.idempotency_key) {
            return (200, Answer::Receipt(req.already_applied_from(&prior)));
        }
        let receipt = apply(&req);
        if !req.dry_run && receipt.status == HandlerStatus::Applied {
            self.store.record(&req.idempotency_key, &receipt);
        }
        (200, Answer::Receipt(receipt))
    }
}

/// A verified request: a change to apply, or a probe to answer.
// One value per HTTP request, matched once: boxing the writeback would only cost callers a
// deref in every match arm.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    Writeback(WritebackRequest),
    Probe(ProbeRequest),
}

/// What to send back: a receipt (to a writeback request or a refusal) or a probe answer.
/// Serializes as the bare JSON object.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Answer {
    Receipt(HandlerReceipt),
    Probe(ProbeAnswer),
}

impl Answer {
    /// The receipt, unless this answers a probe.
    pub fn receipt(&self) -> Option<&HandlerReceipt> {
        match self {
            Answer::Receipt(r) => Some(r),
            Answer::Probe(_) => None,
        }
    }
}

/// A verified probe (`airlock doctor --check-handlers`). It asks nothing of your app: answer
/// with [`ProbeRequest::answer`], write nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeRequest {
    pub probe_id: String,
    pub issued_at: Option<String>,
    /// The whole body as received.
    pub raw: Value,
}

impl ProbeRequest {
    fn from_value(raw: Value) -> Result<ProbeRequest, String> {
        let text = |k: &str| {
            raw.get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let probe_id = text("probe_id").ok_or("probe_id must be a non-empty string")?;
        for k in ["proposal_id", "idempotency_key"] {
            if text(k).as_deref() != Some(probe_id.as_str()) {
                return Err(format!("a probe's {k} must equal its probe_id"));
            }
        }
        Ok(ProbeRequest {
            probe_id,
            issued_at: text("issued_at"),
            raw,
        })
    }

    /// The answer Airlock expects: `{"kind":"probe","status":"ok","probe_id":…,
    /// "protocol_version":"1.0","source_database_mutated":false}`.
    pub fn answer(&self) -> ProbeAnswer {
        ProbeAnswer {
            kind: "probe".into(),
            status: "ok".into(),
            probe_id: self.probe_id.clone(),
            protocol_version: PROTOCOL_VERSION.into(),
            source_database_mutated: false,
        }
    }
}

/// What [`Verifier::authenticate`] established.
struct Authenticated {
    /// The signature, which identifies this very request (for replay refusal).
    request_id: Option<String>,
    issued_at: Option<DateTime<Utc>>,
}

/// A verified request, normalized from either shape.
#[derive(Debug, Clone, PartialEq)]
pub struct WritebackRequest {
    pub proposal_id: String,
    pub idempotency_key: String,
    /// The capability name (`billing.propose_account_credit`).
    pub action: String,
    pub issued_at: Option<String>,
    /// Rehearse only: write nothing, remember nothing.
    pub dry_run: bool,
    /// The tenant the change is scoped to (trusted context at proposal time).
    pub tenant_id: String,
    /// The business object's id (the primary key value, as text).
    pub object_id: String,
    /// The agent principal that proposed it, when sent.
    pub principal: Option<String>,
    pub target: JobTarget,
    /// The row must have this tenant column value.
    pub tenant_guard: ColumnValue,
    /// The row must still have this version column value (`__row_hash`: the hash of the row
    /// as the agent read it).
    pub expected_version: ColumnValue,
    /// Column → new value (scalars), only allowed columns.
    pub patch: Map<String, Value>,
    pub before: Map<String, Value>,
    pub after: Map<String, Value>,
    /// The whole body as received.
    pub raw: Value,
}

fn is_identifier(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
        && s.len() <= 128
}

fn is_scalar(v: &Value) -> bool {
    !(v.is_object() || v.is_array())
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn column_value(v: Option<&Value>, what: &str) -> Result<ColumnValue, String> {
    let obj = v
        .and_then(Value::as_object)
        .ok_or_else(|| format!("{what} is missing"))?;
    let column = obj
        .get("column")
        .and_then(Value::as_str)
        .filter(|c| is_identifier(c) || *c == "__row_hash")
        .ok_or_else(|| format!("{what}.column must be an identifier"))?;
    let value = obj.get("value").cloned().unwrap_or(Value::Null);
    if !is_scalar(&value) {
        return Err(format!("{what}.value must be a scalar"));
    }
    Ok(ColumnValue {
        column: column.to_owned(),
        value,
    })
}

impl WritebackRequest {
    /// Normalizes a request body: the nested `change_set` shape when present, else the flat
    /// shape (Synapsor Runner 0.1.1, and Airlock, send both).
    pub fn from_value(raw: Value) -> Result<WritebackRequest, String> {
        let root = raw.as_object().ok_or("the body must be a JSON object")?;
        let text = |k: &str| {
            root.get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| format!("{k} must be a non-empty string"))
        };
        let proposal_id = text("proposal_id")?;
        let idempotency_key = text("idempotency_key")?;
        let protocol = root
            .get("protocol_version")
            .or_else(|| root.get("schema_version"))
            .and_then(Value::as_str)
            .unwrap_or(PROTOCOL_VERSION);
        if protocol != PROTOCOL_VERSION && protocol != HANDLER_WRITEBACK_V1 {
            return Err(format!("unsupported protocol version `{protocol}`"));
        }
        let cs = root
            .get("change_set")
            .and_then(Value::as_object)
            .unwrap_or(root);
        let get = |k: &str| cs.get(k).or_else(|| root.get(k));
        let action = get("action")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or("action must be a non-empty string")?
            .to_owned();
        let target_v = get("target")
            .or_else(|| get("source"))
            .and_then(Value::as_object)
            .ok_or("target is missing")?;
        let ident = |k: &str| {
            target_v
                .get(k)
                .and_then(Value::as_str)
                .filter(|s| is_identifier(s))
                .map(str::to_owned)
                .ok_or_else(|| format!("target.{k} must be an identifier"))
        };
        let target = JobTarget {
            schema: ident("schema")?,
            table: ident("table")?,
            primary_key: column_value(target_v.get("primary_key"), "target.primary_key")?,
        };
        let guards = get("guards").and_then(Value::as_object);
        let tenant_guard = column_value(
            guards
                .and_then(|g| g.get("tenant"))
                .or_else(|| get("tenant_guard")),
            "guards.tenant",
        )?;
        let expected_version = column_value(
            guards.and_then(|g| g.get("expected_version")),
            "guards.expected_version",
        )?;
        let patch = get("patch")
            .and_then(Value::as_object)
            .filter(|p| !p.is_empty())
            .ok_or("patch must be a non-empty object")?
            .clone();
        for (k, v) in &patch {
            if !is_identifier(k) || !is_scalar(v) {
                return Err(format!(
                    "patch.{k} must be an identifier with a scalar value"
                ));
            }
        }
        let map = |k: &str| {
            get(k)
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        let scope = cs.get("scope").and_then(Value::as_object);
        let tenant_id = scope
            .and_then(|s| s.get("tenant_id"))
            .filter(|v| is_scalar(v) && !v.is_null())
            .map(scalar_text)
            .unwrap_or_else(|| scalar_text(&tenant_guard.value));
        let object_id = scope
            .and_then(|s| s.get("object_id"))
            .filter(|v| is_scalar(v) && !v.is_null())
            .map(scalar_text)
            .unwrap_or_else(|| scalar_text(&target.primary_key.value));
        let principal = cs
            .get("principal")
            .and_then(|p| p.get("id"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok(WritebackRequest {
            proposal_id,
            idempotency_key,
            action,
            issued_at: root
                .get("issued_at")
                .and_then(Value::as_str)
                .map(str::to_owned),
            dry_run: root
                .get("dry_run")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            tenant_id,
            object_id,
            principal,
            target,
            tenant_guard,
            expected_version,
            patch,
            before: map("before"),
            after: map("after"),
            raw,
        })
    }

    /// The full Airlock request, when the body is one (every field typed).
    pub fn airlock_request(&self) -> Option<HandlerRequest> {
        serde_json::from_value(self.raw.clone()).ok()
    }

    fn receipt(
        &self,
        status: HandlerStatus,
        rows: u64,
        mutated: bool,
        code: Option<&str>,
    ) -> HandlerReceipt {
        HandlerReceipt {
            proposal_id: Some(self.proposal_id.clone()),
            idempotency_key: Some(self.idempotency_key.clone()),
            status,
            rows_affected: rows,
            source_database_mutated: mutated,
            previous_version: None,
            new_version: None,
            safe_error_code: code.map(str::to_owned),
            details: None,
        }
    }

    /// The change was made (or, for a dry run, would be: rows 0, nothing mutated,
    /// `details.dry_run`).
    pub fn applied(
        &self,
        rows_affected: u64,
        previous_version: Option<Value>,
        new_version: Option<Value>,
    ) -> HandlerReceipt {
        let mut r = if self.dry_run {
            let mut r = self.receipt(HandlerStatus::Applied, 0, false, None);
            r.details = Some(Map::from_iter([("dry_run".to_owned(), Value::Bool(true))]));
            r
        } else {
            self.receipt(
                HandlerStatus::Applied,
                rows_affected,
                rows_affected > 0,
                None,
            )
        };
        r.previous_version = previous_version;
        r.new_version = new_version;
        r
    }

    /// This idempotency key was applied before; nothing was written now.
    pub fn already_applied(&self) -> HandlerReceipt {
        self.receipt(HandlerStatus::AlreadyApplied, 0, false, None)
    }

    /// `already_applied`, keeping the versions of the earlier receipt.
    pub fn already_applied_from(&self, prior: &HandlerReceipt) -> HandlerReceipt {
        let mut r = self.already_applied();
        r.previous_version = prior.previous_version.clone();
        r.new_version = prior.new_version.clone();
        r
    }

    /// The guards failed: the row changed (`ROW_CHANGED_AFTER_PROPOSAL`, with the current
    /// version) or is not there for this tenant (`ROW_NOT_FOUND_OR_WRONG_TENANT`).
    pub fn conflict(&self, code: &str, current_version: Option<Value>) -> HandlerReceipt {
        let mut r = self.receipt(HandlerStatus::Conflict, 0, false, Some(code));
        r.previous_version = current_version;
        r
    }

    /// The change could not be made; `code` is `^[A-Z][A-Z0-9_]*$` and safe to show.
    pub fn failed(&self, code: &str) -> HandlerReceipt {
        self.receipt(HandlerStatus::Failed, 0, false, Some(code))
    }
}

/// Headers Airlock would send for `body` (whose `issued_at` they copy): for tests of your
/// handler. Not for production: Airlock signs real requests. Only with the `test-util`
/// feature, which belongs in `[dev-dependencies]`.
#[cfg(any(test, feature = "test-util"))]
pub fn sign_for_tests(body: &[u8], token: &str, secret: &str) -> Vec<(String, String)> {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let issued = s("issued_at");
    let (p, k) = (s("proposal_id"), s("idempotency_key"));
    vec![
        (h::AUTHORIZATION.into(), format!("Bearer {token}")),
        (h::ISSUED_AT.into(), issued.clone()),
        (h::PROPOSAL_ID.into(), p.clone()),
        (h::IDEMPOTENCY_KEY.into(), k.clone()),
        (h::SIGNATURE.into(), sign_v1(secret.as_bytes(), body)),
        (
            h::AIRLOCK_SIGNATURE.into(),
            sign_v2(secret.as_bytes(), &issued, &p, &k, body),
        ),
    ]
}

#[cfg(test)]
mod tests;
