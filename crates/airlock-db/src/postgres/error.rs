//! SQLSTATE → [`DbErrorKind`].

use deadpool_postgres::PoolError;
use deadpool_postgres::TimeoutType;

use crate::{DbError, DbErrorKind};

/// Classifies a SQLSTATE.
pub(crate) fn kind_for_sqlstate(code: &str) -> DbErrorKind {
    match code {
        // undefined_table, undefined_column, invalid_schema_name, invalid_catalog_name
        "42P01" | "42703" | "3F000" | "3D000" => DbErrorKind::NotFound,
        // query_canceled (statement_timeout)
        "57014" => DbErrorKind::Timeout,
        // insufficient_privilege, read_only_sql_transaction
        "42501" | "25006" => DbErrorKind::Permission,
        c if c.starts_with("28") => DbErrorKind::Permission,
        // admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections
        "57P01" | "57P02" | "57P03" | "53300" => DbErrorKind::Connection,
        c if c.starts_with("08") => DbErrorKind::Connection,
        // serialization_failure, deadlock_detected, lock_not_available
        "40001" | "40P01" | "55P03" => DbErrorKind::Conflict,
        c if c.starts_with("22") => DbErrorKind::InvalidValue,
        // integrity_constraint_violation (writes): not null, foreign key, unique, check. The
        // writer turns a unique violation on the receipts table into a duplicate receipt.
        c if c.starts_with("23") => DbErrorKind::InvalidValue,
        _ => DbErrorKind::Other,
    }
}

/// Classifies a driver error. The detail is the server message (plus its DETAIL line) or the
/// driver's own description; callers scrub it.
pub(crate) fn classify(e: &tokio_postgres::Error) -> DbError {
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        let mut detail = db.message().to_owned();
        if let Some(d) = db.detail() {
            detail.push_str(" (");
            detail.push_str(d);
            detail.push(')');
        }
        return DbError::new(kind_for_sqlstate(code), detail).with_code(code);
    }
    let mut detail = error_chain(e);
    if detail.contains("certificate") {
        detail.push_str(
            " (TLS certificate verification failed: trust your database's CA with \
             sslrootcert=PATH in the URL; sslmode=no-verify skips verification, for disposable \
             dev databases only)",
        );
    }
    let kind = if e.is_closed() || has_io_source(e) {
        DbErrorKind::Connection
    } else {
        let top = e.to_string();
        if top.starts_with("authentication error") {
            DbErrorKind::Permission
        } else if top.starts_with("error connecting")
            || top.starts_with("timeout waiting")
            || top.starts_with("error communicating")
            || top.starts_with("error performing TLS")
            || top.starts_with("invalid configuration")
            || top.starts_with("invalid connection string")
        {
            DbErrorKind::Connection
        } else {
            DbErrorKind::Other
        }
    };
    DbError::new(kind, detail).unreachable_if_refused(e)
}

pub(crate) fn classify_pool(e: &PoolError) -> DbError {
    match e {
        PoolError::Backend(e) => classify(e),
        PoolError::Timeout(TimeoutType::Wait) => DbError::new(
            DbErrorKind::Connection,
            "timed out waiting for a free pooled connection",
        ),
        PoolError::Timeout(TimeoutType::Create) => DbError::new(
            DbErrorKind::Connection,
            "timed out connecting to the server",
        ),
        PoolError::Timeout(TimeoutType::Recycle) => DbError::new(
            DbErrorKind::Connection,
            "timed out checking a pooled connection",
        ),
        PoolError::Closed => DbError::new(DbErrorKind::Connection, "connection pool is closed"),
        PoolError::NoRuntimeSpecified => {
            DbError::new(DbErrorKind::Other, "connection pool has no runtime")
        }
        PoolError::PostCreateHook(h) => DbError::new(DbErrorKind::Connection, h.to_string()),
    }
}

fn has_io_source(e: &tokio_postgres::Error) -> bool {
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        if s.is::<std::io::Error>() {
            return true;
        }
        src = s.source();
    }
    false
}

fn error_chain(e: &tokio_postgres::Error) -> String {
    let mut out = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstates() {
        use DbErrorKind::*;
        for (code, kind) in [
            ("42P01", NotFound),
            ("42703", NotFound),
            ("57014", Timeout),
            ("28P01", Permission),
            ("28000", Permission),
            ("42501", Permission),
            ("08006", Connection),
            ("08001", Connection),
            ("40001", Conflict),
            ("40P01", Conflict),
            ("55P03", Conflict),
            ("22P02", InvalidValue),
            ("22021", InvalidValue),
            ("23505", InvalidValue),
            ("23502", InvalidValue),
            ("23514", InvalidValue),
            ("42601", Other),
        ] {
            assert_eq!(kind_for_sqlstate(code), kind, "{code}");
        }
    }
}
