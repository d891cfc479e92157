//! Shared by the app-owned executors (`http_handler`, `command_handler`): safe error codes,
//! and turning a handler's answer into an [`Outcome`]. Secrets live in [`crate::secret`];
//! text redaction in `airlock_config::redact`.

use airlock_config::redact::Redactor;
use airlock_protocol::handler::{HandlerReceipt, HandlerStatus, ReceiptError};
use serde_json::Value;

use crate::executor::{AttemptEffect, Outcome, OutcomeStatus, ReceiptCode};

/// Cuts `s` to at most `max` characters, marking the cut.
pub fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}… (truncated)", &s[..i]),
        None => s.to_owned(),
    }
}

/// `HANDLER_HTTP_<status>`.
pub fn http_status_code(status: u16) -> ReceiptCode {
    ReceiptCode::parse(&format!("HANDLER_HTTP_{status}")).unwrap_or(codes::HTTP_ERROR)
}

/// `HANDLER_EXIT_<code>`, or `HANDLER_EXIT_UNKNOWN` (killed by a signal, or a negative code).
pub fn exit_code(code: Option<i32>) -> ReceiptCode {
    code.and_then(|c| ReceiptCode::parse(&format!("HANDLER_EXIT_{c}")))
        .unwrap_or(codes::EXIT_UNKNOWN)
}

/// The stable codes the executors produce themselves.
pub mod codes {
    use crate::executor::ReceiptCode;

    /// The answer is not JSON, or not a receipt.
    pub const INVALID_RECEIPT: ReceiptCode = ReceiptCode::of("HANDLER_INVALID_RECEIPT");
    /// The receipt names another proposal or idempotency key.
    pub const RECEIPT_MISMATCH: ReceiptCode = ReceiptCode::of("HANDLER_RECEIPT_MISMATCH");
    /// No connection (HTTP) or the command could not start.
    pub const UNAVAILABLE: ReceiptCode = ReceiptCode::of("HANDLER_UNAVAILABLE");
    /// No complete answer within `timeout_ms`.
    pub const TIMEOUT: ReceiptCode = ReceiptCode::of("HANDLER_TIMEOUT");
    /// The handler said `failed` without a (valid) code.
    pub const FAILED: ReceiptCode = ReceiptCode::of("HANDLER_FAILED");
    /// The handler said `conflict` without a (valid) code.
    pub const CONFLICT: ReceiptCode = ReceiptCode::of("HANDLER_CONFLICT");
    /// The handler reported a database change for a dry run.
    pub const DRY_RUN_MUTATED: ReceiptCode = ReceiptCode::of("HANDLER_DRY_RUN_MUTATED");
    /// The request cannot be built (an id that is not a valid header value); nothing is sent.
    pub const REQUEST_INVALID: ReceiptCode = ReceiptCode::of("HANDLER_REQUEST_INVALID");
    /// An HTTP error status that is not a number of three digits (never seen in practice).
    pub const HTTP_ERROR: ReceiptCode = ReceiptCode::of("HANDLER_HTTP_ERROR");
    /// The command ended without an exit code (a signal).
    pub const EXIT_UNKNOWN: ReceiptCode = ReceiptCode::of("HANDLER_EXIT_UNKNOWN");
}

/// A failed outcome.
pub fn failed(code: ReceiptCode, detail: impl Into<String>, dry_run: bool) -> Outcome {
    let mut o = Outcome::failed(code, detail);
    o.dry_run = dry_run;
    o
}

/// What the request was, to check the receipt against.
pub struct Expected<'a> {
    pub executor: &'a str,
    pub proposal_id: &'a str,
    pub idempotency_key: &'a str,
    pub dry_run: bool,
}

/// Turns a handler's answer (HTTP 2xx body, or command stdout after exit 0) into an outcome.
/// An answer that is not a receipt for this request leaves the outcome unknown: the handler
/// may have written, and only a retry with the same idempotency key can tell.
pub fn outcome_from_answer(bytes: &[u8], exp: &Expected<'_>, redactor: &Redactor) -> Outcome {
    match HandlerReceipt::parse(bytes) {
        Ok(r) => outcome_from_receipt(r, exp, redactor),
        Err(e) => failed(
            codes::INVALID_RECEIPT,
            format!(
                "handler `{}` answered, but {e}{}",
                exp.executor,
                match e {
                    ReceiptError::NotJson if bytes.is_empty() => " (empty answer)",
                    _ => "",
                }
            ),
            exp.dry_run,
        )
        .with_effect(AttemptEffect::OutcomeUnknown),
    }
}

/// Checks a parsed receipt against the request and maps it.
pub fn outcome_from_receipt(r: HandlerReceipt, exp: &Expected<'_>, redactor: &Redactor) -> Outcome {
    let name = exp.executor;
    if r.proposal_id
        .as_deref()
        .is_some_and(|p| p != exp.proposal_id)
    {
        return failed(
            codes::RECEIPT_MISMATCH,
            format!(
                "handler `{name}` answered with a receipt for another proposal; nothing is known about this one"
            ),
            exp.dry_run,
        )
        .with_effect(AttemptEffect::OutcomeUnknown);
    }
    if r.idempotency_key
        .as_deref()
        .is_some_and(|k| k != exp.idempotency_key)
    {
        return failed(
            codes::RECEIPT_MISMATCH,
            format!(
                "handler `{name}` answered with a receipt for another idempotency key; nothing is known about this change"
            ),
            exp.dry_run,
        )
        .with_effect(AttemptEffect::OutcomeUnknown);
    }
    let details = r
        .details
        .as_ref()
        .filter(|d| !d.is_empty())
        .map(|d| truncate_chars(&redactor.json(&Value::Object(d.clone())), 1000));
    if exp.dry_run
        && matches!(
            r.status,
            HandlerStatus::Applied | HandlerStatus::AlreadyApplied
        )
        && r.source_database_mutated
    {
        return failed(
            codes::DRY_RUN_MUTATED,
            format!(
                "handler `{name}` reported a database change for a dry run; it must rehearse only when dry_run is true"
            ),
            true,
        );
    }
    let (status, code, what) = match r.status {
        HandlerStatus::Applied => (
            OutcomeStatus::Applied,
            None,
            if exp.dry_run {
                "accepted the dry run".to_owned()
            } else {
                format!(
                    "applied the change ({} row{})",
                    r.rows_affected,
                    if r.rows_affected == 1 { "" } else { "s" }
                )
            },
        ),
        HandlerStatus::AlreadyApplied => (
            OutcomeStatus::AlreadyApplied,
            None,
            "had already applied this idempotency key; nothing was written again".to_owned(),
        ),
        HandlerStatus::Conflict => {
            let code = code_or(r.safe_error_code.as_deref(), codes::CONFLICT);
            (
                OutcomeStatus::Conflict,
                Some(code.clone()),
                format!("refused the change as a conflict ({code}); nothing was written"),
            )
        }
        HandlerStatus::Failed => {
            let code = code_or(r.safe_error_code.as_deref(), codes::FAILED);
            (
                OutcomeStatus::Failed,
                Some(code.clone()),
                format!("failed ({code})"),
            )
        }
    };
    let mut detail = format!("app handler `{name}` {what}");
    if let Some(d) = details {
        detail.push_str("; details: ");
        detail.push_str(&d);
    }
    Outcome {
        status,
        rows_affected: r.rows_affected,
        previous_version: r.previous_version,
        new_version: r.new_version,
        safe_error_code: code,
        detail,
        dry_run: exp.dry_run,
        effect: AttemptEffect::Settled,
    }
}

/// The handler's code when it is safe to record, else `fallback`.
pub fn code_or(raw: Option<&str>, fallback: ReceiptCode) -> ReceiptCode {
    raw.and_then(ReceiptCode::parse).unwrap_or(fallback)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;

    fn exp(dry_run: bool) -> Expected<'static> {
        Expected {
            executor: "app",
            proposal_id: "wrp_1",
            idempotency_key: "wrp_1:INV-1",
            dry_run,
        }
    }

    fn map(v: Value, dry_run: bool) -> Outcome {
        outcome_from_answer(
            v.to_string().as_bytes(),
            &exp(dry_run),
            &Redactor::new(&["s3cret-token"], &HashMap::new()),
        )
    }

    #[test]
    fn statuses_map() {
        let o = map(
            json!({"status": "applied", "rows_affected": 2, "source_database_mutated": true, "previous_version": 1, "new_version": 2, "proposal_id": "wrp_1"}),
            false,
        );
        assert_eq!(
            (o.status, o.rows_affected, o.new_version.clone()),
            (OutcomeStatus::Applied, 2, Some(json!(2)))
        );
        assert!(o.source_database_mutated());
        let o = map(
            json!({"status": "already_applied", "rows_affected": 0, "source_database_mutated": false}),
            false,
        );
        assert_eq!(o.status, OutcomeStatus::AlreadyApplied);
        let o = map(
            json!({"status": "conflict", "rows_affected": 0, "source_database_mutated": false, "safe_error_code": "ROW_CHANGED_AFTER_PROPOSAL"}),
            false,
        );
        assert_eq!(
            (o.status, o.code()),
            (OutcomeStatus::Conflict, Some("ROW_CHANGED_AFTER_PROPOSAL"))
        );
        let o = map(
            json!({"status": "failed", "rows_affected": 0, "source_database_mutated": false, "safe_error_code": "lower case; DROP"}),
            false,
        );
        assert_eq!(o.code(), Some("HANDLER_FAILED"));
    }

    #[test]
    fn garbage_mismatches_and_dry_run_writes_fail() {
        assert_eq!(
            outcome_from_answer(b"<html>oops</html>", &exp(false), &Redactor::default()).code(),
            Some("HANDLER_INVALID_RECEIPT")
        );
        let o = map(
            json!({"status": "applied", "rows_affected": 1, "source_database_mutated": true, "proposal_id": "wrp_2"}),
            false,
        );
        assert_eq!(o.code(), Some("HANDLER_RECEIPT_MISMATCH"));
        let o = map(
            json!({"status": "applied", "rows_affected": 1, "source_database_mutated": true, "idempotency_key": "wrp_1:INV-2"}),
            false,
        );
        assert_eq!(o.code(), Some("HANDLER_RECEIPT_MISMATCH"));
        let o = map(
            json!({"status": "applied", "rows_affected": 1, "source_database_mutated": true}),
            true,
        );
        assert_eq!(o.code(), Some("HANDLER_DRY_RUN_MUTATED"));
    }

    #[test]
    fn details_and_text_are_redacted() {
        let o = map(
            json!({"status": "failed", "rows_affected": 0, "source_database_mutated": false,
                   "details": {"db": "postgres://u:pw@db/app", "token": "abc", "note": "used s3cret-token here"}}),
            false,
        );
        assert!(!o.detail.contains("pw@"), "{}", o.detail);
        assert!(!o.detail.contains("abc"), "{}", o.detail);
        assert!(!o.detail.contains("s3cret-token"), "{}", o.detail);
    }

    #[test]
    fn handler_codes_are_checked_once_and_kept_exactly() {
        let code = |s: &str| ReceiptCode::parse(s).map(|c| c.as_str().to_owned());
        assert_eq!(code("UNAUTHORIZED").as_deref(), Some("UNAUTHORIZED"));
        assert_eq!(code("CREDIT_LIMIT_2").as_deref(), Some("CREDIT_LIMIT_2"));
        let longest = format!("A{}", "B".repeat(63));
        assert_eq!(code(&longest), Some(longest.clone()));
        for bad in [
            "",
            "bad",
            "Bad",
            "_LEADING",
            "9LIVES",
            "WITH SPACE",
            "DROP;--",
            "ÄRGER",
            &format!("{longest}C"),
        ] {
            assert_eq!(code(bad), None, "{bad:?}");
            assert_eq!(code_or(Some(bad), codes::FAILED), codes::FAILED);
        }
        assert_eq!(code_or(None, codes::CONFLICT), codes::CONFLICT);
        assert_eq!(http_status_code(503).as_str(), "HANDLER_HTTP_503");
        assert_eq!(exit_code(Some(3)).as_str(), "HANDLER_EXIT_3");
        assert_eq!(exit_code(Some(-1)), codes::EXIT_UNKNOWN);
        assert_eq!(exit_code(None).as_str(), "HANDLER_EXIT_UNKNOWN");
    }

    #[test]
    fn many_distinct_handler_codes_are_all_recorded() {
        // Codes used to be interned into a process-wide set capped at 512 entries, after which
        // a handler's code was replaced by the fallback. Each outcome now owns its code.
        for i in 0..2000 {
            let raw = format!("APP_CODE_{i}");
            let o = map(
                json!({"status": "failed", "rows_affected": 0, "source_database_mutated": false, "safe_error_code": raw}),
                false,
            );
            assert_eq!(o.code(), Some(raw.as_str()));
        }
    }
}
