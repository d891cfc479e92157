//! MySQL/MariaDB error code → [`DbErrorKind`].

use mysql_async::{DriverError, Error};

use crate::{DbError, DbErrorKind};

/// Classifies a server (or client library) error code.
pub(crate) fn kind_for_code(code: u16) -> DbErrorKind {
    match code {
        // ER_NO_SUCH_TABLE, ER_BAD_FIELD_ERROR, ER_BAD_DB_ERROR
        1146 | 1054 | 1049 => DbErrorKind::NotFound,
        // ER_STATEMENT_TIMEOUT (MariaDB), ER_QUERY_TIMEOUT (MySQL), ER_QUERY_INTERRUPTED
        1969 | 3024 | 1317 => DbErrorKind::Timeout,
        // access denied (user, table, column, database); read-only transaction / server
        1045 | 1142 | 1143 | 1044 | 1792 | 1290 => DbErrorKind::Permission,
        // CR_CONNECTION_ERROR, CR_CONN_HOST_ERROR, CR_SERVER_GONE_ERROR, CR_SERVER_LOST,
        // ER_CON_COUNT_ERROR, ER_SERVER_SHUTDOWN, ER_CONNECTION_KILLED (MariaDB),
        // ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8: wait_timeout closed the session)
        2002 | 2003 | 2006 | 2013 | 1040 | 1053 | 1927 | 4031 => DbErrorKind::Connection,
        // ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT
        1213 | 1205 => DbErrorKind::Conflict,
        // ER_TRUNCATED_WRONG_VALUE, ER_TRUNCATED_WRONG_VALUE_FOR_FIELD; on writes also
        // ER_WARN_DATA_OUT_OF_RANGE, WARN_DATA_TRUNCATED, ER_DATA_TOO_LONG, ER_BAD_NULL_ERROR,
        // ER_DUP_ENTRY, foreign key failures, check constraints (MySQL 3819, MariaDB 4025).
        1292 | 1366 | 1264 | 1265 | 1406 | 1048 | 1062 | 1451 | 1452 | 3819 | 4025 => {
            DbErrorKind::InvalidValue
        }
        _ => DbErrorKind::Other,
    }
}

/// Classifies a driver error. The detail is the server message or the driver's description;
/// callers scrub it. URL errors get a fixed detail (their text can quote the URL).
pub(crate) fn classify(e: &Error) -> DbError {
    match e {
        Error::Server(s) => {
            DbError::new(kind_for_code(s.code), s.message.clone()).with_code(s.code.to_string())
        }
        Error::Io(io) => {
            DbError::new(DbErrorKind::Connection, io.to_string()).unreachable_if_refused(io)
        }
        Error::Url(_) => DbError::new(DbErrorKind::Connection, "malformed mysql connection URL"),
        Error::Driver(d) => {
            let kind = match d {
                DriverError::ConnectionClosed
                | DriverError::PoolDisconnected
                | DriverError::PacketOutOfOrder
                | DriverError::UnexpectedPacket { .. }
                | DriverError::BadCompressedPacketHeader
                | DriverError::CantParseServerVersion { .. }
                | DriverError::NamedPipesDisabled => DbErrorKind::Connection,
                DriverError::UnknownAuthPlugin { .. } | DriverError::MysqlOldPasswordDisabled => {
                    DbErrorKind::Permission
                }
                DriverError::PacketTooLarge => DbErrorKind::InvalidValue,
                _ => DbErrorKind::Other,
            };
            DbError::new(kind, d.to_string())
        }
        Error::Other(o) => DbError::new(DbErrorKind::Other, o.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        use DbErrorKind::*;
        for (code, kind) in [
            (1146, NotFound),
            (1054, NotFound),
            (1049, NotFound),
            (1969, Timeout),
            (3024, Timeout),
            (1317, Timeout),
            (1045, Permission),
            (1142, Permission),
            (1143, Permission),
            (1044, Permission),
            (1792, Permission),
            (2002, Connection),
            (2003, Connection),
            (2006, Connection),
            (2013, Connection),
            (1213, Conflict),
            (1205, Conflict),
            (1292, InvalidValue),
            (1366, InvalidValue),
            (1062, InvalidValue),
            (1406, InvalidValue),
            (4025, InvalidValue),
            (1064, Other),
        ] {
            assert_eq!(kind_for_code(code), kind, "{code}");
        }
    }
}
