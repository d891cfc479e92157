//! Turning driver and pool errors into [`LedgerError`]s that name what failed.

use airlock_ledger::LedgerError;

/// `.pg()?` on a driver or pool result.
pub(crate) trait Pg<T> {
    fn pg(self) -> Result<T, LedgerError>;
}

impl<T> Pg<T> for Result<T, tokio_postgres::Error> {
    fn pg(self) -> Result<T, LedgerError> {
        self.map_err(|e| postgres(&e))
    }
}

impl<T> Pg<T> for Result<T, deadpool_postgres::PoolError> {
    fn pg(self) -> Result<T, LedgerError> {
        self.map_err(|e| LedgerError::Postgres {
            detail: format!("no connection to the ledger database: {e}"),
        })
    }
}

/// The server's own message (with its SQLSTATE) when it sent one, else the driver's.
pub(crate) fn postgres(e: &tokio_postgres::Error) -> LedgerError {
    let detail = match e.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => e.to_string(),
    };
    LedgerError::Postgres { detail }
}

/// A column that does not decode into its record (text where JSON was): the record was edited.
pub(crate) fn corrupt(what: impl Into<String>, detail: impl std::fmt::Display) -> LedgerError {
    LedgerError::Corrupt {
        what: what.into(),
        detail: detail.to_string(),
    }
}
