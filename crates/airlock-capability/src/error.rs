//! Errors of a tool call, and the small safe code set the model is allowed to see.

use std::fmt;
use std::str::FromStr;

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

/// Every specific code a tool call can fail with. Its string form (`ARGUMENT_TOO_LONG`, …) is
/// what envelopes, audit outcomes (`rejected:<code>`) and logs carry. [`CallCode::safe_code`] and
/// [`CallCode::retryable`] are exhaustive matches, so a new code cannot be added without
/// deciding what the model sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallCode {
    /// An argument the capability does not declare (tenant-like names included).
    ArgumentNotDeclared,
    /// A required argument is missing.
    ArgumentRequired,
    /// An argument has the wrong JSON type.
    ArgumentTypeInvalid,
    /// An argument contains a character no column accepts (NUL).
    ArgumentInvalidCharacter,
    /// A text argument is longer than its `max_length`.
    ArgumentTooLong,
    /// A number argument is below its `minimum`.
    ArgumentBelowMinimum,
    /// A number argument is above its `maximum`.
    ArgumentAboveMaximum,
    /// An argument is not one of its allowed values.
    ArgumentNotAllowed,
    /// The model supplied a trusted-context value as an argument.
    ModelCannotOverrideBinding,
    /// The capability's trusted binding has no value.
    TrustedBindingMissing,
    /// No trusted context is configured for the capability.
    TrustedContextMissing,
    /// The trusted context gave no tenant or principal for this call.
    TrustedContextUnavailable,
    /// A patched value is below its numeric bound.
    PatchBelowMinimum,
    /// A patched value is above its numeric bound.
    PatchAboveMaximum,
    /// A numeric bound applies to a value that is not a number.
    PatchNumericBoundTypeInvalid,
    /// The state transition is not in the capability's allowed transitions.
    PatchTransitionNotAllowed,
    /// A transition guard applies to a value that is not text.
    PatchTransitionTypeInvalid,
    /// The proposal matched more than one row.
    PatchMultiRowBlocked,
    /// The row has no value for the configured conflict guard column.
    ConflictGuardMissing,
    /// No row matched inside the trusted tenant.
    RowNotFound,
    /// No tool has the requested name.
    ToolNotFound,
    /// Proposal tools are disabled (read_only mode).
    ProposalsDisabled,
    /// The source database refused or lost the connection, or is busy.
    SourceUnavailable,
    /// The source database did not answer within the statement timeout.
    SourceTimeout,
    /// The source database closed an established connection (a restart, a failover, an idle
    /// limit); the next call reconnects.
    SourceConnectionLost,
    /// No connection to the source database within its `connect_timeout_ms`.
    SourceConnectTimeout,
    /// The ledger could not record the call.
    LedgerUnavailable,
    /// The source's connection URL is not set in the environment. An operator must set it;
    /// retrying as is cannot help.
    SourceCredentialMissing,
    /// The source database refused the read (a missing grant). An operator must grant it;
    /// retrying as is cannot help.
    SourcePermissionDenied,
    /// The configured table or columns do not exist in the source database.
    SourceSchemaMismatch,
    /// Any other database failure.
    SourceQueryFailed,
    /// The capability names a source the config does not define.
    SourceNotFound,
    /// A configured identifier failed validation at call time (a second line of defence).
    UnsafeIdentifier,
}

impl CallCode {
    /// Every code, in declaration order.
    pub const ALL: [CallCode; 33] = [
        CallCode::ArgumentNotDeclared,
        CallCode::ArgumentRequired,
        CallCode::ArgumentTypeInvalid,
        CallCode::ArgumentInvalidCharacter,
        CallCode::ArgumentTooLong,
        CallCode::ArgumentBelowMinimum,
        CallCode::ArgumentAboveMaximum,
        CallCode::ArgumentNotAllowed,
        CallCode::ModelCannotOverrideBinding,
        CallCode::TrustedBindingMissing,
        CallCode::TrustedContextMissing,
        CallCode::TrustedContextUnavailable,
        CallCode::PatchBelowMinimum,
        CallCode::PatchAboveMaximum,
        CallCode::PatchNumericBoundTypeInvalid,
        CallCode::PatchTransitionNotAllowed,
        CallCode::PatchTransitionTypeInvalid,
        CallCode::PatchMultiRowBlocked,
        CallCode::ConflictGuardMissing,
        CallCode::RowNotFound,
        CallCode::ToolNotFound,
        CallCode::ProposalsDisabled,
        CallCode::SourceUnavailable,
        CallCode::SourceTimeout,
        CallCode::SourceConnectionLost,
        CallCode::SourceConnectTimeout,
        CallCode::LedgerUnavailable,
        CallCode::SourceCredentialMissing,
        CallCode::SourcePermissionDenied,
        CallCode::SourceSchemaMismatch,
        CallCode::SourceQueryFailed,
        CallCode::SourceNotFound,
        CallCode::UnsafeIdentifier,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CallCode::ArgumentNotDeclared => "ARGUMENT_NOT_DECLARED",
            CallCode::ArgumentRequired => "ARGUMENT_REQUIRED",
            CallCode::ArgumentTypeInvalid => "ARGUMENT_TYPE_INVALID",
            CallCode::ArgumentInvalidCharacter => "ARGUMENT_INVALID_CHARACTER",
            CallCode::ArgumentTooLong => "ARGUMENT_TOO_LONG",
            CallCode::ArgumentBelowMinimum => "ARGUMENT_BELOW_MINIMUM",
            CallCode::ArgumentAboveMaximum => "ARGUMENT_ABOVE_MAXIMUM",
            CallCode::ArgumentNotAllowed => "ARGUMENT_NOT_ALLOWED",
            CallCode::ModelCannotOverrideBinding => "MODEL_CANNOT_OVERRIDE_BINDING",
            CallCode::TrustedBindingMissing => "TRUSTED_BINDING_MISSING",
            CallCode::TrustedContextMissing => "TRUSTED_CONTEXT_MISSING",
            CallCode::TrustedContextUnavailable => "TRUSTED_CONTEXT_UNAVAILABLE",
            CallCode::PatchBelowMinimum => "PATCH_BELOW_MINIMUM",
            CallCode::PatchAboveMaximum => "PATCH_ABOVE_MAXIMUM",
            CallCode::PatchNumericBoundTypeInvalid => "PATCH_NUMERIC_BOUND_TYPE_INVALID",
            CallCode::PatchTransitionNotAllowed => "PATCH_TRANSITION_NOT_ALLOWED",
            CallCode::PatchTransitionTypeInvalid => "PATCH_TRANSITION_TYPE_INVALID",
            CallCode::PatchMultiRowBlocked => "PATCH_MULTI_ROW_BLOCKED",
            CallCode::ConflictGuardMissing => "CONFLICT_GUARD_MISSING",
            CallCode::RowNotFound => "ROW_NOT_FOUND",
            CallCode::ToolNotFound => "TOOL_NOT_FOUND",
            CallCode::ProposalsDisabled => "PROPOSALS_DISABLED",
            CallCode::SourceUnavailable => "SOURCE_UNAVAILABLE",
            CallCode::SourceTimeout => "SOURCE_TIMEOUT",
            CallCode::SourceConnectionLost => "SOURCE_CONNECTION_LOST",
            CallCode::SourceConnectTimeout => "SOURCE_CONNECT_TIMEOUT",
            CallCode::LedgerUnavailable => "LEDGER_UNAVAILABLE",
            CallCode::SourceCredentialMissing => "SOURCE_CREDENTIAL_MISSING",
            CallCode::SourcePermissionDenied => "SOURCE_PERMISSION_DENIED",
            CallCode::SourceSchemaMismatch => "SOURCE_SCHEMA_MISMATCH",
            CallCode::SourceQueryFailed => "SOURCE_QUERY_FAILED",
            CallCode::SourceNotFound => "SOURCE_NOT_FOUND",
            CallCode::UnsafeIdentifier => "UNSAFE_IDENTIFIER",
        }
    }

    /// Which safe code the model sees.
    pub fn safe_code(self) -> SafeCode {
        match self {
            CallCode::ArgumentNotDeclared
            | CallCode::ArgumentRequired
            | CallCode::ArgumentTypeInvalid
            | CallCode::ArgumentInvalidCharacter
            | CallCode::ArgumentTooLong
            | CallCode::ArgumentBelowMinimum
            | CallCode::ArgumentAboveMaximum
            | CallCode::ArgumentNotAllowed
            | CallCode::ModelCannotOverrideBinding
            | CallCode::TrustedBindingMissing
            | CallCode::TrustedContextMissing
            | CallCode::TrustedContextUnavailable => SafeCode::InvalidArgument,
            CallCode::PatchBelowMinimum
            | CallCode::PatchAboveMaximum
            | CallCode::PatchNumericBoundTypeInvalid
            | CallCode::PatchTransitionNotAllowed
            | CallCode::PatchTransitionTypeInvalid
            | CallCode::PatchMultiRowBlocked
            | CallCode::ConflictGuardMissing => SafeCode::PolicyViolation,
            CallCode::RowNotFound => SafeCode::NotFoundInTenant,
            CallCode::ToolNotFound => SafeCode::CapabilityNotFound,
            CallCode::ProposalsDisabled => SafeCode::ApprovalRequired,
            CallCode::SourceUnavailable
            | CallCode::SourceTimeout
            | CallCode::SourceConnectionLost
            | CallCode::SourceConnectTimeout
            | CallCode::LedgerUnavailable => SafeCode::TemporarilyUnavailable,
            CallCode::SourceCredentialMissing
            | CallCode::SourcePermissionDenied
            | CallCode::SourceSchemaMismatch
            | CallCode::SourceQueryFailed
            | CallCode::SourceNotFound
            | CallCode::UnsafeIdentifier => SafeCode::Internal,
        }
    }

    /// Whether the same call may succeed later without anyone changing anything. True exactly
    /// for the codes shown as `TEMPORARILY_UNAVAILABLE` (whose message says to retry later).
    pub fn retryable(self) -> bool {
        // Derived, so the two can never disagree; `safe_code` is the exhaustive match.
        matches!(self.safe_code(), SafeCode::TemporarilyUnavailable)
    }
}

impl fmt::Display for CallCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CallCode {
    type Err = UnknownCallCode;

    fn from_str(s: &str) -> Result<CallCode, UnknownCallCode> {
        CallCode::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownCallCode(s.to_owned()))
    }
}

/// A string that is not a [`CallCode`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCallCode(pub String);

impl fmt::Display for UnknownCallCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not a tool-call error code", self.0)
    }
}

impl std::error::Error for UnknownCallCode {}

/// A failed tool call. `code` is the specific code; `message` is written for the caller and
/// never contains SQL, URLs or driver text.
#[derive(Debug, Clone, PartialEq)]
pub struct CallError {
    pub code: CallCode,
    pub message: String,
    /// Operator-only detail (driver text, paths). Never shown to a model.
    pub detail: Option<String>,
}

impl CallError {
    pub fn new(code: CallCode, message: impl Into<String>) -> CallError {
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
        self.code.safe_code()
    }

    /// Whether the model may retry the same call later.
    pub fn retryable(&self) -> bool {
        self.code.retryable()
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
        let e = CallError::new(
            CallCode::SourceUnavailable,
            "connection refused to db.internal",
        )
        .with_detail("postgres://app:pw@db.internal");
        assert_eq!(e.safe_code(), SafeCode::TemporarilyUnavailable);
        assert!(e.retryable());
        assert!(!e.model_message().contains("db.internal"));
        let e = CallError::new(
            CallCode::ArgumentTooLong,
            "`reason` is longer than 500 characters.",
        );
        assert_eq!(e.safe_code(), SafeCode::InvalidArgument);
        assert!(e.model_message().contains("reason"));
        assert_eq!(
            CallError::new(CallCode::PatchAboveMaximum, "x").safe_code(),
            SafeCode::PolicyViolation
        );
    }

    #[test]
    fn operator_fixable_source_errors_are_internal_and_not_retryable() {
        // A missing credential or grant stays missing until an operator acts: telling the
        // model to retry later would only repeat the failure.
        for code in [
            CallCode::SourceCredentialMissing,
            CallCode::SourcePermissionDenied,
        ] {
            let e = CallError::new(code, "The database refused the read.")
                .with_detail("permission denied for table invoices");
            assert_eq!(e.safe_code(), SafeCode::Internal, "{code}");
            assert!(!e.retryable(), "{code}");
            assert_eq!(e.model_message(), SafeCode::Internal.safe_message());
        }
    }

    #[test]
    fn every_code_round_trips_and_keeps_its_wire_string() {
        let mut seen = std::collections::HashSet::new();
        for code in CallCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "{s} twice");
            assert_eq!(s.parse::<CallCode>(), Ok(code));
            assert_eq!(code.to_string(), s);
            assert!(
                s.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
                "{s}"
            );
            // `retryable` and the "retry later" message must agree.
            assert_eq!(
                code.retryable(),
                code.safe_code() == SafeCode::TemporarilyUnavailable,
                "{s}"
            );
        }
        // The strings envelopes, audit outcomes and documentation already use.
        for (code, s) in [
            (CallCode::ArgumentNotDeclared, "ARGUMENT_NOT_DECLARED"),
            (
                CallCode::ModelCannotOverrideBinding,
                "MODEL_CANNOT_OVERRIDE_BINDING",
            ),
            (CallCode::PatchMultiRowBlocked, "PATCH_MULTI_ROW_BLOCKED"),
            (CallCode::RowNotFound, "ROW_NOT_FOUND"),
            (
                CallCode::SourceCredentialMissing,
                "SOURCE_CREDENTIAL_MISSING",
            ),
            (CallCode::SourcePermissionDenied, "SOURCE_PERMISSION_DENIED"),
            (CallCode::LedgerUnavailable, "LEDGER_UNAVAILABLE"),
        ] {
            assert_eq!(code.as_str(), s);
        }
    }

    #[test]
    fn unknown_code_strings_are_refused() {
        for bad in [
            "",
            "row_not_found",
            "PATCH_SOMETHING_NEW",
            "LEDGER_WRITE_FAILED",
            "INTERNAL",
        ] {
            let err = bad.parse::<CallCode>().unwrap_err();
            assert_eq!(err, UnknownCallCode(bad.to_owned()));
            assert!(err.to_string().contains("not a tool-call error code"));
        }
    }
}
