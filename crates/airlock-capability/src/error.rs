//! Errors of a tool call, and the small safe code set the model is allowed to see.

use std::fmt;

/// The safe error codes a model may see (kept from Synapsor Runner's v2 envelope).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SafeCode {
    /// Arguments or trusted-context binding are invalid. Fix the input; do not retry as is.
    InvalidArgument,
    /// No row matched inside the trusted tenant.
    NotFoundInTenant,
    /// The change is outside the capability's policy (bounds, transitions, guards).
    PolicyViolation,
    /// The tool does not exist.
    CapabilityNotFound,
    /// Proposals are disabled in this mode.
    ApprovalRequired,
    /// The database or ledger is unavailable; retrying later may work.
    TemporarilyUnavailable,
    /// Anything else. Details are in the operator log only.
    Internal,
}

impl SafeCode {
    pub fn as_str(self) -> &'static str {
        match self {
            SafeCode::InvalidArgument => "INVALID_ARGUMENT",
            SafeCode::NotFoundInTenant => "NOT_FOUND_IN_TENANT",
            SafeCode::PolicyViolation => "POLICY_VIOLATION",
            SafeCode::CapabilityNotFound => "CAPABILITY_NOT_FOUND",
            SafeCode::ApprovalRequired => "APPROVAL_REQUIRED",
            SafeCode::TemporarilyUnavailable => "TEMPORARILY_UNAVAILABLE",
            SafeCode::Internal => "INTERNAL",
        }
    }

    pub fn retryable(self) -> bool {
        matches!(self, SafeCode::TemporarilyUnavailable)
    }

    /// A message that is safe to show a model.
    pub fn safe_message(self) -> &'static str {
        match self {
            SafeCode::InvalidArgument => "The tool input or trusted context binding is invalid.",
            SafeCode::NotFoundInTenant => {
                "No authorized row was found in the trusted tenant scope."
            }
            SafeCode::PolicyViolation => {
                "The requested change is outside the reviewed capability policy."
            }
            SafeCode::CapabilityNotFound => "The requested capability is not available.",
            SafeCode::ApprovalRequired => "Proposal tools are disabled for this runner mode.",
            SafeCode::TemporarilyUnavailable => {
                "The database is temporarily unavailable. Retry later."
            }
            SafeCode::Internal => {
                "The capability failed safely. Check the Airlock logs for details."
            }
        }
    }
}

/// A failed tool call. `code` is a stable, specific code (`ARGUMENT_TOO_LONG`, …);
/// `message` is written for the caller and never contains SQL, URLs or driver text.
#[derive(Debug, Clone, PartialEq)]
pub struct CallError {
    pub code: &'static str,
    pub message: String,
    /// Operator-only detail (driver text, paths). Never shown to a model.
    pub detail: Option<String>,
}

impl CallError {
    pub fn new(code: &'static str, message: impl Into<String>) -> CallError {
        CallError {
            code,
            message: message.into(),
            detail: None,
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> CallError {
        self.detail = Some(detail.into());
        self
    }

    /// Which safe code the model sees.
    pub fn safe_code(&self) -> SafeCode {
        let c = self.code;
        match c {
            "ROW_NOT_FOUND" => SafeCode::NotFoundInTenant,
            "TOOL_NOT_FOUND" => SafeCode::CapabilityNotFound,
            "PROPOSALS_DISABLED" => SafeCode::ApprovalRequired,
            "SOURCE_UNAVAILABLE"
            | "SOURCE_TIMEOUT"
            | "SOURCE_CREDENTIAL_MISSING"
            | "LEDGER_UNAVAILABLE" => SafeCode::TemporarilyUnavailable,
            "CONFLICT_GUARD_MISSING" => SafeCode::PolicyViolation,
            _ if c.starts_with("PATCH_") => SafeCode::PolicyViolation,
            _ if c.starts_with("ARGUMENT_")
                || c == "MODEL_CANNOT_OVERRIDE_BINDING"
                || c.starts_with("TRUSTED_") =>
            {
                SafeCode::InvalidArgument
            }
            _ => SafeCode::Internal,
        }
    }

    /// The message a model may see: specific for input and policy errors (it must be able to
    /// correct itself), generic for everything else.
    pub fn model_message(&self) -> &str {
        match self.safe_code() {
            SafeCode::InvalidArgument
            | SafeCode::PolicyViolation
            | SafeCode::NotFoundInTenant
            | SafeCode::CapabilityNotFound
            | SafeCode::ApprovalRequired => &self.message,
            other => other.safe_message(),
        }
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for CallError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_details_never_reach_the_model_message() {
        let e = CallError::new("SOURCE_UNAVAILABLE", "connection refused to db.internal")
            .with_detail("postgres://app:pw@db.internal");
        assert_eq!(e.safe_code(), SafeCode::TemporarilyUnavailable);
        assert!(!e.model_message().contains("db.internal"));
        let e = CallError::new(
            "ARGUMENT_TOO_LONG",
            "`reason` is longer than 500 characters.",
        );
        assert_eq!(e.safe_code(), SafeCode::InvalidArgument);
        assert!(e.model_message().contains("reason"));
        assert_eq!(
            CallError::new("PATCH_ABOVE_MAXIMUM", "x").safe_code(),
            SafeCode::PolicyViolation
        );
        assert_eq!(
            CallError::new("LEDGER_WRITE_FAILED", "x").safe_code(),
            SafeCode::Internal
        );
    }
}
