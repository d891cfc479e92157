//! Errors with a stable code, a cause and a hint.

use airlock_ledger::LedgerError;

/// Why an events command could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EventsError {
    /// A destination or option is unusable; `code` says which rule it broke.
    #[error("{message}")]
    Invalid {
        code: &'static str,
        message: String,
        hint: String,
    },
    /// `--once` stopped at an attempt that failed (the state keeps the retry).
    #[error("delivery to {destination} failed: {error}")]
    Undelivered { destination: String, error: String },
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl EventsError {
    pub(crate) fn invalid(
        code: &'static str,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> EventsError {
        EventsError::Invalid {
            code,
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// The stable code (`WEBHOOK_URL_INVALID`, `WEBHOOK_UNDELIVERED`, …).
    pub fn code(&self) -> &'static str {
        match self {
            EventsError::Invalid { code, .. } => code,
            EventsError::Undelivered { .. } => "WEBHOOK_UNDELIVERED",
            EventsError::Ledger(_) => "LEDGER_ERROR",
        }
    }

    /// What to do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            EventsError::Invalid { hint, .. } => Some(hint.clone()),
            EventsError::Undelivered { .. } => Some(
                "the event stays pending: check the receiver, then run the deliverer again (`airlock events status` shows the retry state)"
                    .into(),
            ),
            EventsError::Ledger(e) => e.hint().map(str::to_owned),
        }
    }
}
