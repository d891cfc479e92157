//! App-owned handlers: the request Airlock sends (`synapsor.handler-writeback.v1`), the receipt
//! a handler answers with, and both request signatures. `docs/handlers.md` is the contract in
//! prose; this module is the one implementation of it, used by the `http_handler` and
//! `command_handler` executors and by the `airlock-handler` library.
//!
//! ## Request body
//!
//! One JSON object carrying two shapes at once, so handlers written for either accept it:
//! - the **flat** shape Synapsor Runner 0.1.1 sends (`proposal_id`, `target`, `tenant_guard`,
//!   `patch`, `guards`, …), in the same key order;
//! - the **nested** `change_set` shape of the published request schema
//!   (`change_set.scope.tenant_id`, `change_set.guards.expected_version`, …).
//!
//! ## Signatures (HMAC-SHA256 with the executor's signing secret)
//!
//! - v1 (compatible): `X-Synapsor-Signature: sha256=<hex HMAC(secret, raw body)>`.
//! - v2 (Airlock): `X-Airlock-Signature: v2=<hex HMAC(secret, string_to_sign)>` where
//!   `string_to_sign` is [`V2_PREFIX`], issued-at, proposal id, idempotency key and the hex
//!   SHA-256 of the raw body, joined by `\n`. It covers the timestamp, so a captured body
//!   cannot be replayed with a fresh `X-Synapsor-Issued-At`.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::Sha256;

use crate::{
    ApprovalState, ChangeSet, ColumnValue, EvidenceRef, Guards, JobTarget, ScalarMap, SourceRef,
    WritebackJob, sha256_hex,
};

/// `schema_version` of a handler request.
pub const HANDLER_WRITEBACK_V1: &str = "synapsor.handler-writeback.v1";
/// `protocol_version` of an HTTP handler request.
pub const PROTOCOL_VERSION: &str = "1.0";
/// First line of the v2 string to sign.
pub const V2_PREFIX: &str = "airlock-handler-v2";

/// Header names, lowercase as sent.
pub mod headers {
    /// `sha256=<hex>`: HMAC of the raw body (v1, Synapsor Runner compatible).
    pub const SIGNATURE: &str = "x-synapsor-signature";
    /// RFC 3339 time the request was signed; equals the body's `issued_at`.
    pub const ISSUED_AT: &str = "x-synapsor-issued-at";
    /// The proposal id; equals the body's `proposal_id`.
    pub const PROPOSAL_ID: &str = "x-synapsor-proposal-id";
    /// The idempotency key; equals the body's `idempotency_key`.
    pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
    /// `v2=<hex>`: HMAC of the v2 string to sign.
    pub const AIRLOCK_SIGNATURE: &str = "x-airlock-signature";
    /// `Bearer <token>` when the executor has `auth`.
    pub const AUTHORIZATION: &str = "authorization";
}

/// The request body. Field order is the wire order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct HandlerRequest {
    /// `1.0` on HTTP requests; absent on command stdin (as in Synapsor Runner).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<String>,
    pub schema_version: String,
    pub writeback_job_id: String,
    pub proposal_id: String,
    pub proposal_version: u32,
    pub proposal_hash: String,
    /// The capability name.
    pub action: String,
    /// The runner id of the Airlock that sends the request.
    pub runner_hint: String,
    /// `<proposal_id>:<object_id>`; the same on every attempt for this proposal.
    pub idempotency_key: String,
    pub source: SourceRef,
    pub target: JobTarget,
    pub tenant_guard: ColumnValue,
    pub allowed_columns: Vec<String>,
    pub before: ScalarMap,
    pub patch: ScalarMap,
    pub after: ScalarMap,
    pub guards: Guards,
    pub evidence: EvidenceRef,
    pub approval: ApprovalState,
    /// Always false: nothing was written before the handler ran.
    pub source_database_mutated: bool,
    /// When the request was signed (HTTP only); equals `X-Synapsor-Issued-At`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<String>,
    /// The executor name in the config.
    pub executor: String,
    /// True: rehearse and write nothing.
    pub dry_run: bool,
    /// The same change in the nested shape of the published request schema.
    pub change_set: HandlerChangeSet,
}

/// `change_set` of the published request schema (`synapsor.app-handler-request.v1.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct HandlerChangeSet {
    pub action: String,
    pub scope: HandlerScope,
    /// The agent principal that proposed the change.
    pub principal: HandlerPrincipal,
    pub target: JobTarget,
    pub before: ScalarMap,
    pub patch: ScalarMap,
    pub after: ScalarMap,
    pub guards: Guards,
    pub evidence: EvidenceRef,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct HandlerScope {
    pub tenant_id: String,
    pub object_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct HandlerPrincipal {
    pub id: String,
    pub source: String,
}

/// Transport the request is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Carries `protocol_version` and `issued_at`.
    Http,
    /// Command stdin: neither.
    Command,
}

impl HandlerRequest {
    /// The request for an approved job. `issued_at` is set per attempt with
    /// [`HandlerRequest::with_issued_at`] for HTTP.
    pub fn new(
        job: &WritebackJob,
        cs: &ChangeSet,
        executor: &str,
        runner_hint: &str,
        dry_run: bool,
        transport: Transport,
    ) -> HandlerRequest {
        let target = JobTarget {
            schema: job.target.schema.clone(),
            table: job.target.table.clone(),
            primary_key: job.target.primary_key.clone(),
        };
        HandlerRequest {
            protocol_version: (transport == Transport::Http).then(|| PROTOCOL_VERSION.to_owned()),
            schema_version: HANDLER_WRITEBACK_V1.into(),
            writeback_job_id: job.writeback_job_id.clone(),
            proposal_id: job.proposal_id.clone(),
            proposal_version: job.proposal_version,
            proposal_hash: job.proposal_hash.clone(),
            action: cs.action.clone(),
            runner_hint: runner_hint.into(),
            idempotency_key: job.idempotency_key.clone(),
            source: cs.source.clone(),
            target: target.clone(),
            tenant_guard: job.tenant_guard.clone(),
            allowed_columns: job.allowed_columns.clone(),
            before: cs.before.clone(),
            patch: job.patch.clone(),
            after: cs.after.clone(),
            guards: cs.guards.clone(),
            evidence: cs.evidence.clone(),
            // Only approved proposals are ever sent; the stored change set still says how it
            // was created (`pending`), which would mislead a handler.
            approval: ApprovalState {
                status: "approved".into(),
                required_role: cs.approval.required_role.clone(),
            },
            source_database_mutated: false,
            issued_at: None,
            executor: executor.into(),
            dry_run,
            change_set: HandlerChangeSet {
                action: cs.action.clone(),
                scope: HandlerScope {
                    tenant_id: cs.scope.tenant_id.clone(),
                    object_id: cs.scope.object_id.clone(),
                },
                principal: HandlerPrincipal {
                    id: cs.principal.id.clone(),
                    source: cs.principal.source.clone(),
                },
                target,
                before: cs.before.clone(),
                patch: job.patch.clone(),
                after: cs.after.clone(),
                guards: cs.guards.clone(),
                evidence: cs.evidence.clone(),
            },
        }
    }

    /// A copy stamped with `issued_at` (HTTP attempts).
    pub fn with_issued_at(&self, issued_at: &str) -> HandlerRequest {
        HandlerRequest {
            issued_at: Some(issued_at.to_owned()),
            ..self.clone()
        }
    }

    /// The exact bytes sent (compact JSON, wire field order).
    pub fn to_body(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("handler request serializes")
    }
}

/// Receipt status a handler may answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum HandlerStatus {
    Applied,
    AlreadyApplied,
    Conflict,
    Failed,
}

impl HandlerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HandlerStatus::Applied => "applied",
            HandlerStatus::AlreadyApplied => "already_applied",
            HandlerStatus::Conflict => "conflict",
            HandlerStatus::Failed => "failed",
        }
    }
}

/// What a handler answers (`synapsor.app-handler-receipt.v1`, plus the optional echo of
/// `proposal_id` and `idempotency_key` that Airlock checks when present).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct HandlerReceipt {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    pub status: HandlerStatus,
    pub rows_affected: u64,
    pub source_database_mutated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_version: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_version: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safe_error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Map<String, Value>>,
}

/// Why a handler's answer is not a receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiptError {
    /// Not JSON at all (or empty).
    NotJson,
    /// JSON, but not a receipt: the field and what is wrong with it.
    Invalid(String),
}

impl std::fmt::Display for ReceiptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReceiptError::NotJson => f.write_str("the answer is not JSON"),
            ReceiptError::Invalid(why) => write!(f, "the answer is not a receipt: {why}"),
        }
    }
}

impl HandlerReceipt {
    /// Parses and checks a handler's answer: `status`, `rows_affected` (non-negative integer)
    /// and `source_database_mutated` (boolean) are required; versions must be scalars;
    /// `safe_error_code` a string or null; `details` an object. Unknown fields are ignored.
    pub fn parse(bytes: &[u8]) -> Result<HandlerReceipt, ReceiptError> {
        let v: Value = serde_json::from_slice(bytes).map_err(|_| ReceiptError::NotJson)?;
        HandlerReceipt::from_value(&v)
    }

    pub fn from_value(v: &Value) -> Result<HandlerReceipt, ReceiptError> {
        let obj = v
            .as_object()
            .ok_or_else(|| ReceiptError::Invalid("expected a JSON object".into()))?;
        for key in ["status", "rows_affected", "source_database_mutated"] {
            if !obj.contains_key(key) {
                return Err(ReceiptError::Invalid(format!("`{key}` is missing")));
            }
        }
        let status = obj["status"].as_str().unwrap_or_default();
        if !matches!(
            status,
            "applied" | "already_applied" | "conflict" | "failed"
        ) {
            return Err(ReceiptError::Invalid(
                "`status` must be applied, already_applied, conflict or failed".into(),
            ));
        }
        if obj["rows_affected"].as_u64().is_none() {
            return Err(ReceiptError::Invalid(
                "`rows_affected` must be a non-negative integer".into(),
            ));
        }
        if !obj["source_database_mutated"].is_boolean() {
            return Err(ReceiptError::Invalid(
                "`source_database_mutated` must be a boolean".into(),
            ));
        }
        for key in ["previous_version", "new_version"] {
            if obj.get(key).is_some_and(|x| x.is_object() || x.is_array()) {
                return Err(ReceiptError::Invalid(format!("`{key}` must be a scalar")));
            }
        }
        if obj
            .get("safe_error_code")
            .is_some_and(|x| !(x.is_string() || x.is_null()))
        {
            return Err(ReceiptError::Invalid(
                "`safe_error_code` must be a string or null".into(),
            ));
        }
        if obj
            .get("details")
            .is_some_and(|x| !(x.is_object() || x.is_null()))
        {
            return Err(ReceiptError::Invalid("`details` must be an object".into()));
        }
        for key in ["proposal_id", "idempotency_key"] {
            if obj
                .get(key)
                .is_some_and(|x| !(x.is_string() || x.is_null()))
            {
                return Err(ReceiptError::Invalid(format!("`{key}` must be a string")));
            }
        }
        serde_json::from_value(v.clone()).map_err(|e| ReceiptError::Invalid(e.to_string()))
    }
}

/// What one signed HTTP request is bound to: its exact body, the time it was signed, the
/// proposal it is about (empty when none) and the key a receiver de-duplicates on. Handler
/// requests (`http_handler`) and event notifications are signed through this one function.
#[derive(Debug, Clone, Copy)]
pub struct Signed<'a> {
    pub body: &'a [u8],
    pub issued_at: &'a str,
    pub proposal_id: &'a str,
    pub idempotency_key: &'a str,
}

impl Signed<'_> {
    /// The id headers always sent (`idempotency-key`, `x-synapsor-issued-at`,
    /// `x-synapsor-proposal-id`) and, with a signing secret, both signatures
    /// (`x-synapsor-signature`, `x-airlock-signature`). Names are lowercase.
    pub fn headers(&self, signing_secret: Option<&[u8]>) -> Vec<(&'static str, String)> {
        let mut out = vec![
            (headers::IDEMPOTENCY_KEY, self.idempotency_key.to_owned()),
            (headers::ISSUED_AT, self.issued_at.to_owned()),
            (headers::PROPOSAL_ID, self.proposal_id.to_owned()),
        ];
        if let Some(key) = signing_secret {
            out.push((headers::SIGNATURE, sign_v1(key, self.body)));
            out.push((
                headers::AIRLOCK_SIGNATURE,
                sign_v2(
                    key,
                    self.issued_at,
                    self.proposal_id,
                    self.idempotency_key,
                    self.body,
                ),
            ));
        }
        out
    }
}

/// `schema_version` of a probe: a signed request that writes nothing and asks the handler
/// to show it is there, holds the same secret and speaks this protocol (`airlock doctor
/// --check-handlers`).
pub const HANDLER_PROBE_V1: &str = "airlock.handler-probe.v1";
/// Value of `kind` in a probe and its answer; a writeback request has no `kind`.
pub const PROBE_KIND: &str = "probe";
/// Prefix of probe ids.
pub const PROBE_ID_PREFIX: &str = "prb";

/// The probe body. It carries `proposal_id` and `idempotency_key` (both equal to `probe_id`)
/// so it is signed and cross-checked exactly like a writeback request; a handler tells the
/// two apart by `kind == "probe"` and answers with a [`ProbeAnswer`], writing nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct HandlerProbe {
    /// `1.0`, on HTTP and on command stdin alike.
    pub protocol_version: String,
    pub schema_version: String,
    /// Always `probe`.
    pub kind: String,
    /// `prb_<20 hex>`, new for every probe; the answer echoes it.
    pub probe_id: String,
    /// Equals `probe_id` (the signature and headers cover it as for a writeback).
    pub proposal_id: String,
    /// Equals `probe_id`.
    pub idempotency_key: String,
    /// The runner id of the Airlock that sends the probe.
    pub runner_hint: String,
    /// The executor name in the config.
    pub executor: String,
    /// When the probe was signed (HTTP only); equals `X-Synapsor-Issued-At`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<String>,
    /// Always true: nothing may be written.
    pub dry_run: bool,
}

impl HandlerProbe {
    /// A fresh probe for `executor`; HTTP probes get `issued_at` with
    /// [`HandlerProbe::with_issued_at`].
    pub fn new(executor: &str, runner_hint: &str) -> HandlerProbe {
        let id = crate::ids::new_id(PROBE_ID_PREFIX);
        HandlerProbe {
            protocol_version: PROTOCOL_VERSION.into(),
            schema_version: HANDLER_PROBE_V1.into(),
            kind: PROBE_KIND.into(),
            probe_id: id.clone(),
            proposal_id: id.clone(),
            idempotency_key: id,
            runner_hint: runner_hint.into(),
            executor: executor.into(),
            issued_at: None,
            dry_run: true,
        }
    }

    pub fn with_issued_at(&self, issued_at: &str) -> HandlerProbe {
        HandlerProbe {
            issued_at: Some(issued_at.to_owned()),
            ..self.clone()
        }
    }

    /// The exact bytes sent (compact JSON, wire field order).
    pub fn to_body(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("handler probe serializes")
    }

    /// The answer a handler that verified this probe sends.
    pub fn answer(&self) -> ProbeAnswer {
        ProbeAnswer {
            kind: PROBE_KIND.into(),
            status: "ok".into(),
            probe_id: self.probe_id.clone(),
            protocol_version: PROTOCOL_VERSION.into(),
            source_database_mutated: false,
        }
    }
}

/// Whether a request body is a probe (`kind == "probe"`), before it is parsed further.
pub fn is_probe(body: &Value) -> bool {
    body.get("kind").and_then(Value::as_str) == Some(PROBE_KIND)
}

/// What a handler answers to a verified probe (HTTP 200, or one line on stdout).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ProbeAnswer {
    /// Always `probe`.
    pub kind: String,
    /// Always `ok`: a refused probe is answered like a refused request (4xx, `failed`).
    pub status: String,
    /// The probe's `probe_id`.
    pub probe_id: String,
    /// The protocol the handler speaks; Airlock sends `1.0`.
    pub protocol_version: String,
    /// Always false: a probe writes nothing.
    pub source_database_mutated: bool,
}

/// Why an answer is not a proper answer to the probe that was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeAnswerError {
    /// Not a probe answer at all (not JSON, another shape, a receipt, `status` not `ok`).
    NotAnAnswer(String),
    /// A probe answer for another probe id: the handler does not answer what it was asked.
    WrongProbe,
    /// The handler claims it changed the database.
    Mutated,
    /// A probe answer in another protocol version (the version it speaks).
    Protocol(String),
}

impl ProbeAnswer {
    /// Checks a handler's answer to the probe with id `probe_id`.
    pub fn check(bytes: &[u8], probe_id: &str) -> Result<ProbeAnswer, ProbeAnswerError> {
        let v: Value = serde_json::from_slice(bytes)
            .map_err(|_| ProbeAnswerError::NotAnAnswer("the answer is not JSON".into()))?;
        if !is_probe(&v) {
            let what = if v.get("status").is_some() && v.get("rows_affected").is_some() {
                "a writeback receipt, not a probe answer"
            } else {
                "not a probe answer (no \"kind\": \"probe\")"
            };
            return Err(ProbeAnswerError::NotAnAnswer(what.into()));
        }
        let a: ProbeAnswer = serde_json::from_value(v)
            .map_err(|e| ProbeAnswerError::NotAnAnswer(format!("a malformed probe answer: {e}")))?;
        if a.probe_id != probe_id {
            return Err(ProbeAnswerError::WrongProbe);
        }
        if a.source_database_mutated {
            return Err(ProbeAnswerError::Mutated);
        }
        if a.protocol_version != PROTOCOL_VERSION {
            return Err(ProbeAnswerError::Protocol(a.protocol_version));
        }
        if a.status != "ok" {
            return Err(ProbeAnswerError::NotAnAnswer(format!(
                "status `{}` (a probe answer says ok)",
                a.status.escape_default()
            )));
        }
        Ok(a)
    }
}

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8]) -> HmacSha256 {
    HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length")
}

/// Lowercase hex HMAC-SHA256.
pub fn hmac_sha256_hex(secret: &[u8], message: &[u8]) -> String {
    let mut m = mac(secret);
    m.update(message);
    hex::encode(m.finalize().into_bytes())
}

/// The v1 signature header value: `sha256=<hex HMAC(secret, body)>`.
pub fn sign_v1(secret: &[u8], body: &[u8]) -> String {
    format!("sha256={}", hmac_sha256_hex(secret, body))
}

/// The v2 string to sign:
/// `airlock-handler-v2\n<issued_at>\n<proposal_id>\n<idempotency_key>\n<hex sha256(body)>`.
pub fn v2_string_to_sign(
    issued_at: &str,
    proposal_id: &str,
    idempotency_key: &str,
    body: &[u8],
) -> String {
    format!(
        "{V2_PREFIX}\n{issued_at}\n{proposal_id}\n{idempotency_key}\n{}",
        sha256_hex(body)
    )
}

/// The v2 signature header value: `v2=<hex HMAC(secret, v2 string to sign)>`.
pub fn sign_v2(
    secret: &[u8],
    issued_at: &str,
    proposal_id: &str,
    idempotency_key: &str,
    body: &[u8],
) -> String {
    let s = v2_string_to_sign(issued_at, proposal_id, idempotency_key, body);
    format!("v2={}", hmac_sha256_hex(secret, s.as_bytes()))
}

fn verify_hex(secret: &[u8], message: &[u8], hex_sig: &str) -> bool {
    let Ok(bytes) = hex::decode(hex_sig.trim()) else {
        return false;
    };
    let mut m = mac(secret);
    m.update(message);
    // `verify_slice` compares in constant time.
    m.verify_slice(&bytes).is_ok()
}

/// Checks a v1 header value (`sha256=<hex>`) against the raw body, in constant time.
pub fn verify_v1(secret: &[u8], body: &[u8], header: &str) -> bool {
    header
        .strip_prefix("sha256=")
        .is_some_and(|h| verify_hex(secret, body, h))
}

/// Checks a v2 header value (`v2=<hex>`), in constant time.
pub fn verify_v2(
    secret: &[u8],
    issued_at: &str,
    proposal_id: &str,
    idempotency_key: &str,
    body: &[u8],
    header: &str,
) -> bool {
    header.strip_prefix("v2=").is_some_and(|h| {
        let s = v2_string_to_sign(issued_at, proposal_id, idempotency_key, body);
        verify_hex(secret, s.as_bytes(), h)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The worked example of docs/handlers.md.
    #[test]
    fn worked_example() {
        let secret = b"example-signing-secret";
        let body = br#"{"proposal_id":"wrp_0123456789abcdef0123","idempotency_key":"wrp_0123456789abcdef0123:INV-3001"}"#;
        let issued = "2026-06-20T14:31:08.123Z";
        assert_eq!(
            sign_v1(secret, body),
            "sha256=297905791ba9340fd936b863c367ff9cdc5c67b367b1e07e238c790d0c12a613"
        );
        assert_eq!(
            sha256_hex(body),
            "58a3500d4e00039f44a4ab6e159e6462bc573757450618dd7bdf33c936d2837d"
        );
        let v2 = sign_v2(
            secret,
            issued,
            "wrp_0123456789abcdef0123",
            "wrp_0123456789abcdef0123:INV-3001",
            body,
        );
        assert_eq!(
            v2,
            "v2=2d467eb88b4c334b824dfcc6a0d9b3501f64af2411dc746ae996eaa0756d795b"
        );
        assert!(verify_v2(
            secret,
            issued,
            "wrp_0123456789abcdef0123",
            "wrp_0123456789abcdef0123:INV-3001",
            body,
            &v2
        ));
        assert!(!verify_v2(
            secret,
            "2026-06-20T14:41:08.123Z",
            "wrp_0123456789abcdef0123",
            "wrp_0123456789abcdef0123:INV-3001",
            body,
            &v2
        ));
        assert!(verify_v1(secret, body, &sign_v1(secret, body)));
        assert!(!verify_v1(secret, b"{}", &sign_v1(secret, body)));
        assert!(!verify_v1(secret, body, "sha256=zz"));
        assert!(!verify_v1(b"other", body, &sign_v1(secret, body)));
    }

    #[test]
    fn probes_are_signed_like_requests_and_answers_are_checked() {
        let p = HandlerProbe::new("app", "runner-1").with_issued_at("2026-09-03T09:02:11.123Z");
        assert!(p.probe_id.starts_with("prb_"));
        assert_eq!(
            (&p.proposal_id, &p.idempotency_key),
            (&p.probe_id, &p.probe_id)
        );
        let v: Value = serde_json::from_slice(&p.to_body()).unwrap();
        assert!(is_probe(&v));
        let schema = crate::fixtures::own_schema("handler-probe.v1.schema.json");
        assert_eq!(crate::fixtures::errors(&schema, &v), Vec::<String>::new());
        let answer = serde_json::to_vec(&p.answer()).unwrap();
        let schema = crate::fixtures::own_schema("handler-probe-answer.v1.schema.json");
        let av: Value = serde_json::from_slice(&answer).unwrap();
        assert_eq!(crate::fixtures::errors(&schema, &av), Vec::<String>::new());
        assert_eq!(ProbeAnswer::check(&answer, &p.probe_id), Ok(p.answer()));
        // Another probe's answer, a claimed write, another protocol, a receipt, not JSON.
        assert_eq!(
            ProbeAnswer::check(&answer, "prb_other"),
            Err(ProbeAnswerError::WrongProbe)
        );
        let mut lie = av.clone();
        lie["source_database_mutated"] = json!(true);
        assert_eq!(
            ProbeAnswer::check(lie.to_string().as_bytes(), &p.probe_id),
            Err(ProbeAnswerError::Mutated)
        );
        let mut future = av.clone();
        future["protocol_version"] = json!("2.0");
        assert_eq!(
            ProbeAnswer::check(future.to_string().as_bytes(), &p.probe_id),
            Err(ProbeAnswerError::Protocol("2.0".into()))
        );
        for bad in [
            br#"{"status":"applied","rows_affected":1,"source_database_mutated":true}"#.to_vec(),
            b"<html>".to_vec(),
            br#"{"kind":"probe","status":"ok"}"#.to_vec(),
        ] {
            assert!(matches!(
                ProbeAnswer::check(&bad, &p.probe_id),
                Err(ProbeAnswerError::NotAnAnswer(_))
            ));
        }
        // A writeback request is not a probe.
        let (_, _, req) = our_request();
        assert!(!is_probe(&req));
    }

    /// RFC 4231 test case 2, so any implementation can be checked against ours.
    #[test]
    fn hmac_known_answer() {
        assert_eq!(
            hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    /// A request built from a job and change set (ours, or the original's fixtures).
    fn request_from(job: Value, mut cs: Value) -> (HandlerRequest, ChangeSet, Value) {
        let job: WritebackJob = serde_json::from_value(job).unwrap();
        cs["writeback"]["executor"] = json!("refund_service");
        let cs: ChangeSet = serde_json::from_value(cs).unwrap();
        let r = HandlerRequest::new(
            &job,
            &cs,
            "refund_service",
            "runner-1",
            false,
            Transport::Http,
        )
        .with_issued_at("2026-09-03T09:02:11.123Z");
        let v: Value = serde_json::from_slice(&r.to_body()).unwrap();
        (r, cs, v)
    }

    fn our_request() -> (HandlerRequest, ChangeSet, Value) {
        request_from(
            crate::fixtures::own("writeback-job.fee-reversal.v1.json"),
            crate::fixtures::own("change-set.fee-reversal.v1.json"),
        )
    }

    #[test]
    fn requests_carry_both_shapes_and_validate_against_our_schema() {
        let (r, cs, v) = our_request();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "protocol_version",
                "schema_version",
                "writeback_job_id",
                "proposal_id",
                "proposal_version",
                "proposal_hash",
                "action",
                "runner_hint",
                "idempotency_key",
                "source",
                "target",
                "tenant_guard",
                "allowed_columns",
                "before",
                "patch",
                "after",
                "guards",
                "evidence",
                "approval",
                "source_database_mutated",
                "issued_at",
                "executor",
                "dry_run",
                "change_set"
            ]
        );
        assert_eq!(
            v["change_set"]["scope"]["tenant_id"],
            json!(cs.scope.tenant_id)
        );
        assert_eq!(v["approval"]["status"], json!("approved"));
        let schema = crate::fixtures::own_schema("handler-request.v1.schema.json");
        assert_eq!(crate::fixtures::errors(&schema, &v), Vec::<String>::new());
        let mut bad = v.clone();
        bad["dry_run"] = json!("no");
        assert!(!crate::fixtures::errors(&schema, &bad).is_empty());
        let mut bad = v.clone();
        bad["change_set"].as_object_mut().unwrap().remove("scope");
        assert!(!crate::fixtures::errors(&schema, &bad).is_empty());
        let back: HandlerRequest = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
        let job: WritebackJob =
            serde_json::from_value(crate::fixtures::own("writeback-job.fee-reversal.v1.json"))
                .unwrap();
        let stdin = HandlerRequest::new(&job, &cs, "cmd", "runner-1", true, Transport::Command);
        let v = serde_json::to_value(&stdin).unwrap();
        assert!(v.get("protocol_version").is_none() && v.get("issued_at").is_none());
    }

    /// Compatibility tier: requests built from ours and from the original's fixtures validate
    /// against the original's published request schema.
    #[test]
    fn compat_requests_validate_against_the_original_schema() {
        let Some(dir) = airlock_testkit::shared_conformance("handler request vs the original")
        else {
            return;
        };
        let read = |name: &str| airlock_testkit::read_json(&dir, name);
        let schema = read("schemas/synapsor.app-handler-request.v1.json");
        let original = request_from(
            read("fixtures/protocol/writeback-job.late-fee-waiver.v1.json"),
            read("fixtures/protocol/change-set.late-fee-waiver.v1.json"),
        );
        for (_, _, v) in [original, our_request()] {
            assert_eq!(crate::fixtures::errors(&schema, &v), Vec::<String>::new());
        }
    }

    #[test]
    fn receipts_are_checked() {
        let ok = HandlerReceipt::parse(
            br#"{"status":"applied","rows_affected":1,"source_database_mutated":true,"previous_version":"a","new_version":2,"extra":1}"#,
        )
        .unwrap();
        assert_eq!(ok.status, HandlerStatus::Applied);
        assert_eq!(ok.new_version, Some(json!(2)));
        assert_eq!(HandlerReceipt::parse(b"<html>"), Err(ReceiptError::NotJson));
        assert_eq!(HandlerReceipt::parse(b""), Err(ReceiptError::NotJson));
        for bad in [
            json!([]),
            json!({"status": "applied", "rows_affected": 1}),
            json!({"status": "done", "rows_affected": 1, "source_database_mutated": true}),
            json!({"status": "applied", "rows_affected": -1, "source_database_mutated": true}),
            json!({"status": "applied", "rows_affected": 1.5, "source_database_mutated": true}),
            json!({"status": "applied", "rows_affected": 1, "source_database_mutated": "yes"}),
            json!({"status": "applied", "rows_affected": 1, "source_database_mutated": true, "new_version": {"a": 1}}),
            json!({"status": "failed", "rows_affected": 0, "source_database_mutated": false, "safe_error_code": 5}),
            json!({"status": "failed", "rows_affected": 0, "source_database_mutated": false, "details": "x"}),
            json!({"status": "failed", "rows_affected": 0, "source_database_mutated": false, "proposal_id": 5}),
        ] {
            assert!(
                matches!(
                    HandlerReceipt::from_value(&bad),
                    Err(ReceiptError::Invalid(_))
                ),
                "{bad}"
            );
        }
    }

    fn conflict_receipt() -> Value {
        let r = HandlerReceipt {
            proposal_id: None,
            idempotency_key: None,
            status: HandlerStatus::Conflict,
            rows_affected: 0,
            source_database_mutated: false,
            previous_version: Some(json!("2026-09-03T08:15:42Z")),
            new_version: None,
            safe_error_code: Some("ROW_CHANGED_AFTER_PROPOSAL".into()),
            details: Some(Map::new()),
        };
        serde_json::to_value(&r).unwrap()
    }

    #[test]
    fn receipts_validate_against_our_schema() {
        let schema = crate::fixtures::own_schema("handler-receipt.v1.schema.json");
        let v = conflict_receipt();
        assert_eq!(crate::fixtures::errors(&schema, &v), Vec::<String>::new());
        for (field, bad) in [
            ("status", json!("done")),
            ("rows_affected", json!(-1)),
            ("source_database_mutated", json!("yes")),
        ] {
            let mut doc = v.clone();
            doc[field] = bad;
            assert!(
                !crate::fixtures::errors(&schema, &doc).is_empty(),
                "{field}"
            );
        }
    }

    /// Compatibility tier: a receipt without the echo validates against the original's schema.
    #[test]
    fn compat_receipts_validate_against_the_original_schema_without_the_echo() {
        let Some(dir) = airlock_testkit::shared_conformance("handler receipt vs the original")
        else {
            return;
        };
        let schema =
            airlock_testkit::read_json(&dir, "schemas/synapsor.app-handler-receipt.v1.json");
        assert_eq!(
            crate::fixtures::errors(&schema, &conflict_receipt()),
            Vec::<String>::new()
        );
    }
}
