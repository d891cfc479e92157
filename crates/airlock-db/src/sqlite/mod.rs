//! SQLite engine: a small pool of read-only connections to one file, queried on Tokio's
//! blocking threads.
//!
//! Connections are opened with `SQLITE_OPEN_READ_ONLY` (never `CREATE`: a missing file is a
//! [`DbErrorKind::Connection`](crate::DbErrorKind) error at `connect`) and additionally set
//! `PRAGMA query_only = ON`. Double-quoted string literals are switched off
//! (`SQLITE_DBCONFIG_DQS_DML`), so an unknown `"column"` is an error, not the string `'column'`. The statement timeout is a progress handler that interrupts the
//! statement after its deadline (`SQLITE_INTERRUPT` → `Timeout`); the same duration is the busy
//! timeout.
//!
//! Accepted source URLs: a plain path, `sqlite://path` (`sqlite:///abs/path` is absolute),
//! `sqlite:path`, and `file:` URIs (passed to SQLite as URIs; `mode=` cannot loosen the
//! read-only flag).
//!
//! # Parameters
//!
//! Bound as given (`Param::Text` → TEXT, `Int` → INTEGER, `Float` → REAL, `Bool` → 0/1).
//! SQLite's comparison affinity makes text `"2"` match an `INTEGER` key 2, while text that is not
//! a number (`"abc"`, `"2x"`) simply matches nothing.
//!
//! # Result values
//!
//! | SQLite storage class | JSON                                                     |
//! |----------------------|----------------------------------------------------------|
//! | NULL                 | `null`                                                   |
//! | INTEGER              | number                                                   |
//! | REAL                 | number (±Infinity → `"Infinity"`, `"-Infinity"`)         |
//! | TEXT                 | string (invalid UTF-8 replaced with U+FFFD)              |
//! | BLOB                 | string, `\x` + lowercase hex                             |
//!
//! # Writes ([`Writer`](crate::Writer))
//!
//! Separate connections opened `SQLITE_OPEN_READ_WRITE` (never `CREATE`) with
//! `PRAGMA foreign_keys = ON`. A transaction is `BEGIN IMMEDIATE` with the busy timeout set to
//! the lock timeout, so it holds the database write lock from the start (effectively
//! serializable); `lock_rows` and `find_receipt` are plain selects. `SQLITE_BUSY` is
//! `Conflict`. The statement timeout is the progress-handler deadline, per call.
//!
//! SET values follow the declared column affinity (`pragma_table_info`): INTEGER affinity
//! accepts integers, integral floats, bools and integer text (`"abc"`, `"2x"`, `1.5` are
//! `InvalidValue`, where SQLite itself would store them); REAL affinity accepts numbers and
//! decimal text; other affinities take the value as is. Constraint violations are
//! `InvalidValue`, except a unique violation on the receipts table (duplicate receipt).
//!
//! Version advance (decided from the current values, read under the write lock): INTEGER
//! values or NULL → `COALESCE(v, 0) + 1`; TEXT holding an ISO timestamp (or NULL) → computed by
//! Airlock in the same format (see [`crate::writer`]; NULL becomes
//! `strftime('%Y-%m-%dT%H:%M:%fZ','now')`'s form); anything else is `InvalidValue`.
//!
//! A dropped transaction is rolled back on a blocking thread before its connection is reused.

mod engine;
mod error;
mod types;
mod writer;

pub(crate) use engine::SqliteEngine;
pub(crate) use writer::SqliteWriter;
