//! What a handler's answer to a probe says about it (`airlock doctor --check-handlers`).
//!
//! A probe ([`airlock_protocol::handler::HandlerProbe`]) is signed and sent exactly like a
//! writeback request, and writes nothing. A handler that verified it answers with a
//! [`ProbeAnswer`] echoing the probe id. [`HttpHandler::probe`](crate::http_handler::HttpHandler::probe)
//! and [`CommandHandler::probe`](crate::command_handler::CommandHandler::probe) send one and
//! classify the answer here, so both transports report the same [`ProbeOutcome`]s.

use airlock_protocol::handler::{
    HandlerReceipt, HandlerStatus, ProbeAnswer, ProbeAnswerError, is_probe,
};
use serde::Serialize;

/// What the probe showed, most reassuring first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeOutcome {
    /// The handler verified the signed probe and answered it in this protocol version.
    Ok,
    /// No answer: no connection, or no answer in time.
    Unreachable,
    /// A command handler's program is missing, not executable, or cannot start.
    NotRunnable,
    /// Answered 401/403: the bearer token or signature was refused (a wrong secret).
    SignatureRefused,
    /// Answered 401 `INVALID_ISSUED_AT`: the clocks differ by more than its window.
    IssuedAtRefused,
    /// Answered, but in another protocol version (or refused ours as unsupported).
    ProtocolMismatch,
    /// Accepted the credentials but does not know probes (an older handler): it refused the
    /// body as a bad writeback request.
    Unsupported,
    /// Any other answer: not a probe answer, another probe's id, a claimed write, an error.
    BadAnswer,
    /// Answered a probe signed with a wrong secret (or token) as if it were valid: it does not
    /// verify requests.
    AcceptsForged,
}

/// The result of probing one handler.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    pub outcome: ProbeOutcome,
    /// What happened, safe to show (no URL, no secret, no text from the handler).
    pub detail: String,
    /// The HTTP status of the signed probe's answer (HTTP handlers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
}

impl Probe {
    pub fn new(outcome: ProbeOutcome, detail: impl Into<String>) -> Probe {
        Probe {
            outcome,
            detail: detail.into(),
            http_status: None,
        }
    }

    pub fn ok(&self) -> bool {
        self.outcome == ProbeOutcome::Ok
    }
}

/// A code a refusal carried, when it is one of ours: `^[A-Z][A-Z0-9_]*$`, at most 64 bytes.
fn refusal_code(bytes: &[u8]) -> Option<String> {
    HandlerReceipt::parse(bytes)
        .ok()
        .and_then(|r| r.safe_error_code)
        .filter(|c| {
            c.len() <= 64
                && c.starts_with(|ch: char| ch.is_ascii_uppercase())
                && c.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        })
}

/// Classifies a successful answer (HTTP 2xx, or a command's stdout after exit 0).
pub fn classify_answer(bytes: &[u8], probe_id: &str) -> Probe {
    match ProbeAnswer::check(bytes, probe_id) {
        Ok(a) => Probe::new(
            ProbeOutcome::Ok,
            format!(
                "answered the signed probe (protocol {})",
                a.protocol_version
            ),
        ),
        Err(ProbeAnswerError::Protocol(v)) => Probe::new(
            ProbeOutcome::ProtocolMismatch,
            format!(
                "answers in protocol version `{}`; Airlock speaks {}",
                v.escape_default(),
                airlock_protocol::handler::PROTOCOL_VERSION
            ),
        ),
        Err(ProbeAnswerError::WrongProbe) => Probe::new(
            ProbeOutcome::BadAnswer,
            "answered with another probe's id: it does not answer what it is asked",
        ),
        Err(ProbeAnswerError::Mutated) => Probe::new(
            ProbeOutcome::BadAnswer,
            "claims a probe changed the database (a probe writes nothing)",
        ),
        Err(ProbeAnswerError::NotAnAnswer(why)) => match HandlerReceipt::parse(bytes) {
            Ok(r) if r.status == HandlerStatus::Failed => refused_body(refusal_code(bytes)),
            Ok(r) => Probe::new(
                ProbeOutcome::BadAnswer,
                format!(
                    "answered a probe with an `{}` receipt: it would apply a request it cannot have understood",
                    r.status.as_str()
                ),
            ),
            Err(_) => Probe::new(ProbeOutcome::BadAnswer, format!("answered {why}")),
        },
    }
}

/// A `failed` answer to the probe, by its code.
fn refused_body(code: Option<String>) -> Probe {
    match code.as_deref() {
        Some("UNSUPPORTED_PROTOCOL_VERSION") => Probe::new(
            ProbeOutcome::ProtocolMismatch,
            "refused protocol version 1.0 (UNSUPPORTED_PROTOCOL_VERSION)",
        ),
        Some(c @ ("BAD_WRITEBACK_REQUEST" | "BAD_JSON")) => Probe::new(
            ProbeOutcome::Unsupported,
            format!("accepted the credentials but refused the probe as {c}: it predates probes"),
        ),
        Some(c @ ("UNAUTHORIZED" | "INVALID_SIGNATURE")) => Probe::new(
            ProbeOutcome::SignatureRefused,
            format!("refused the probe's credentials ({c})"),
        ),
        Some("INVALID_ISSUED_AT") => Probe::new(
            ProbeOutcome::IssuedAtRefused,
            "refused the probe's timestamp (INVALID_ISSUED_AT)",
        ),
        Some(c) => Probe::new(
            ProbeOutcome::BadAnswer,
            format!("answered the probe with failed ({c})"),
        ),
        None => Probe::new(ProbeOutcome::BadAnswer, "answered the probe with failed"),
    }
}

/// Classifies an HTTP answer to the signed probe.
pub fn classify_http(status: u16, bytes: &[u8], probe_id: &str) -> Probe {
    let mut p = if (200..300).contains(&status) {
        classify_answer(bytes, probe_id)
    } else {
        let code = refusal_code(bytes);
        match (status, code.as_deref()) {
            (401 | 403, Some("INVALID_ISSUED_AT")) => Probe::new(
                ProbeOutcome::IssuedAtRefused,
                format!("answered HTTP {status} INVALID_ISSUED_AT: the clocks differ too much"),
            ),
            (401 | 403, c) => Probe::new(
                ProbeOutcome::SignatureRefused,
                format!(
                    "answered HTTP {status}{}: it refused the token or signature",
                    c.map(|c| format!(" {c}")).unwrap_or_default()
                ),
            ),
            (400..=499, Some(_)) if !matches!(status, 404 | 405) => {
                let mut p = refused_body(code.clone());
                p.detail = format!("answered HTTP {status}: {}", p.detail);
                p
            }
            _ => Probe::new(
                ProbeOutcome::BadAnswer,
                format!("answered HTTP {status} instead of a probe answer"),
            ),
        }
    };
    p.http_status = Some(status);
    p
}

/// Whether an answer to a probe with a wrong signature accepted it.
pub fn accepted_forged(status: u16, bytes: &[u8]) -> bool {
    (200..300).contains(&status)
        && serde_json::from_slice::<serde_json::Value>(bytes).is_ok_and(|v| is_probe(&v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_are_classified() {
        let good = json!({"kind": "probe", "status": "ok", "probe_id": "prb_1",
            "protocol_version": "1.0", "source_database_mutated": false})
        .to_string();
        assert_eq!(
            classify_http(200, good.as_bytes(), "prb_1").outcome,
            ProbeOutcome::Ok
        );
        let failed = |code: &str| {
            json!({"status": "failed", "rows_affected": 0, "source_database_mutated": false,
                "safe_error_code": code})
            .to_string()
        };
        for (status, body, want) in [
            (
                401,
                failed("INVALID_SIGNATURE"),
                ProbeOutcome::SignatureRefused,
            ),
            (401, String::new(), ProbeOutcome::SignatureRefused),
            (
                401,
                failed("INVALID_ISSUED_AT"),
                ProbeOutcome::IssuedAtRefused,
            ),
            (
                400,
                failed("UNSUPPORTED_PROTOCOL_VERSION"),
                ProbeOutcome::ProtocolMismatch,
            ),
            (
                400,
                failed("BAD_WRITEBACK_REQUEST"),
                ProbeOutcome::Unsupported,
            ),
            (
                200,
                failed("BAD_WRITEBACK_REQUEST"),
                ProbeOutcome::Unsupported,
            ),
            (404, failed("NOPE"), ProbeOutcome::BadAnswer),
            (500, String::new(), ProbeOutcome::BadAnswer),
            (204, String::new(), ProbeOutcome::BadAnswer),
            (200, good.replace("prb_1", "prb_2"), ProbeOutcome::BadAnswer),
            (
                200,
                json!({"status": "applied", "rows_affected": 1, "source_database_mutated": true})
                    .to_string(),
                ProbeOutcome::BadAnswer,
            ),
        ] {
            assert_eq!(
                classify_http(status, body.as_bytes(), "prb_1").outcome,
                want,
                "{status} {body}"
            );
        }
        assert!(accepted_forged(200, good.as_bytes()));
        assert!(!accepted_forged(401, good.as_bytes()));
        assert!(!accepted_forged(200, failed("X").as_bytes()));
    }
}
