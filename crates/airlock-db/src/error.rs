use std::fmt;

/// What went wrong, in terms a caller can act on. Engines map driver errors into these; the
/// raw driver text stays in [`DbError::detail`] for operator logs and never reaches a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbErrorKind {
    /// The table or a column does not exist (config and schema disagree).
    NotFound,
    /// The statement timeout fired or the query was cancelled.
    Timeout,
    /// The database refused the credentials or the privilege.
    Permission,
    /// The server could not be reached or the connection broke.
    Connection,
    /// Serialization failure, deadlock or lock timeout: retrying may succeed.
    Conflict,
    /// A bound value does not fit the column (e.g. text for an integer key).
    InvalidValue,
    /// Anything else.
    Other,
}

impl DbErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DbErrorKind::NotFound => "not_found",
            DbErrorKind::Timeout => "timeout",
            DbErrorKind::Permission => "permission",
            DbErrorKind::Connection => "connection",
            DbErrorKind::Conflict => "conflict",
            DbErrorKind::InvalidValue => "invalid_value",
            DbErrorKind::Other => "other",
        }
    }
}

/// A classified database error.
#[derive(Debug, Clone, thiserror::Error)]
pub struct DbError {
    pub kind: DbErrorKind,
    /// SQLSTATE or engine error code when the driver gave one.
    pub code: Option<String>,
    /// Driver message for operator logs. May name tables and columns; never contains the URL.
    pub detail: String,
}

impl DbError {
    pub fn new(kind: DbErrorKind, detail: impl Into<String>) -> DbError {
        DbError {
            kind,
            code: None,
            detail: detail.into(),
        }
    }

    pub fn with_code(mut self, code: impl Into<String>) -> DbError {
        self.code = Some(code.into());
        self
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "database error ({})", self.kind.as_str())?;
        if let Some(code) = &self.code {
            write!(f, " [{code}]")?;
        }
        write!(f, ": {}", self.detail)
    }
}
