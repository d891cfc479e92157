use std::fmt;

/// [`DbError::code`] of a connection the server closed under an established session (a
/// restart, a failover, an idle limit, a killed session). The pool drops it; the next call
/// dials afresh. Reads retry once on their own.
pub const CONNECTION_LOST_CODE: &str = "connection_lost";
/// [`DbError::code`] of a dial the server's host refused (nothing listens on the port: the
/// server is down or restarting). The next call dials again.
pub const SERVER_UNREACHABLE_CODE: &str = "server_unreachable";
/// [`DbError::code`] of a dial that did not finish within the source's `connect_timeout_ms`.
pub const CONNECT_TIMEOUT_CODE: &str = "connect_timeout";

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

    /// A connection error raised on an established session becomes a lost connection: its
    /// detail keeps the server's code and says what happens next. Other errors are unchanged.
    pub fn lost_if_connection(self) -> DbError {
        if self.kind != DbErrorKind::Connection || self.is_connection_lost() {
            return self;
        }
        let server = self.code.map(|c| format!(" [{c}]")).unwrap_or_default();
        DbError::new(
            DbErrorKind::Connection,
            format!(
                "the server closed the connection (restart, failover, idle limit or a killed session){server}: {}; the pool drops it and the next call reconnects",
                self.detail
            ),
        )
        .with_code(CONNECTION_LOST_CODE)
    }

    pub fn is_connection_lost(&self) -> bool {
        self.code.as_deref() == Some(CONNECTION_LOST_CODE)
    }

    /// A connection error whose cause chain holds a refused dial becomes
    /// [`SERVER_UNREACHABLE_CODE`] with a hint; anything else is unchanged.
    pub fn unreachable_if_refused(self, cause: &(dyn std::error::Error + 'static)) -> DbError {
        if self.kind != DbErrorKind::Connection || self.code.is_some() {
            return self;
        }
        let mut src = Some(cause);
        while let Some(s) = src {
            if s.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
            {
                return DbError::new(
                    DbErrorKind::Connection,
                    format!(
                        "the server refused the connection ({}): it is down or restarting; the next call dials again",
                        self.detail
                    ),
                )
                .with_code(SERVER_UNREACHABLE_CODE);
            }
            src = s.source();
        }
        self
    }

    /// A dial that did not finish within `timeout`.
    pub fn connect_timeout(timeout: std::time::Duration) -> DbError {
        DbError::new(
            DbErrorKind::Connection,
            format!(
                "no connection within {} ms (the source's connect_timeout_ms): check the host, port, firewall and that the server is up",
                timeout.as_millis()
            ),
        )
        .with_code(CONNECT_TIMEOUT_CODE)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_errors_on_a_live_session_become_lost() {
        let e = DbError::new(DbErrorKind::Connection, "terminating connection")
            .with_code("57P01")
            .lost_if_connection();
        assert!(e.is_connection_lost());
        assert_eq!(e.code.as_deref(), Some(CONNECTION_LOST_CODE));
        assert!(e.detail.contains("[57P01]") && e.detail.contains("next call reconnects"));
        // Idempotent, and other kinds are left alone.
        assert_eq!(e.clone().lost_if_connection().detail, e.detail);
        let t = DbError::new(DbErrorKind::Timeout, "canceled").lost_if_connection();
        assert!(!t.is_connection_lost());
        let c = DbError::connect_timeout(std::time::Duration::from_millis(250));
        assert_eq!(c.code.as_deref(), Some(CONNECT_TIMEOUT_CODE));
        assert!(c.to_string().contains("250 ms"), "{c}");
    }
}
