//! SQLite result code (and message) → [`DbErrorKind`].

use rusqlite::ErrorCode;

use crate::{DbError, DbErrorKind};

/// Classifies a result code; `SQLITE_ERROR` is refined by its message.
pub(crate) fn kind_for(code: ErrorCode, message: &str) -> DbErrorKind {
    match code {
        ErrorCode::OperationInterrupted => DbErrorKind::Timeout,
        ErrorCode::CannotOpen | ErrorCode::NotADatabase | ErrorCode::SystemIoFailure => {
            DbErrorKind::Connection
        }
        ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => DbErrorKind::Conflict,
        ErrorCode::ReadOnly
        | ErrorCode::PermissionDenied
        | ErrorCode::AuthorizationForStatementDenied => DbErrorKind::Permission,
        // Constraint violations (writes): NOT NULL, UNIQUE, CHECK, foreign keys, STRICT types.
        ErrorCode::TypeMismatch | ErrorCode::TooBig | ErrorCode::ConstraintViolation => {
            DbErrorKind::InvalidValue
        }
        _ if message.starts_with("no such table") || message.starts_with("no such column") => {
            DbErrorKind::NotFound
        }
        _ => DbErrorKind::Other,
    }
}

pub(crate) fn classify(e: &rusqlite::Error) -> DbError {
    match e {
        rusqlite::Error::SqliteFailure(f, msg) => {
            let message = msg.clone().unwrap_or_else(|| f.to_string());
            DbError::new(kind_for(f.code, &message), message).with_code(f.extended_code.to_string())
        }
        rusqlite::Error::SqlInputError { error, msg, .. } => {
            DbError::new(kind_for(error.code, msg), msg.clone())
                .with_code(error.extended_code.to_string())
        }
        other => DbError::new(DbErrorKind::Other, other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_messages() {
        use DbErrorKind::*;
        assert_eq!(kind_for(ErrorCode::Unknown, "no such table: t"), NotFound);
        assert_eq!(kind_for(ErrorCode::Unknown, "no such column: x"), NotFound);
        assert_eq!(
            kind_for(ErrorCode::OperationInterrupted, "interrupted"),
            Timeout
        );
        assert_eq!(kind_for(ErrorCode::CannotOpen, ""), Connection);
        assert_eq!(kind_for(ErrorCode::DatabaseBusy, ""), Conflict);
        assert_eq!(kind_for(ErrorCode::DatabaseLocked, ""), Conflict);
        assert_eq!(kind_for(ErrorCode::ReadOnly, ""), Permission);
        assert_eq!(kind_for(ErrorCode::ConstraintViolation, ""), InvalidValue);
        assert_eq!(
            kind_for(ErrorCode::Unknown, "near \"x\": syntax error"),
            Other
        );
    }
}
