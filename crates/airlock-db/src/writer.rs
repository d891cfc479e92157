//! Transactional write primitives for the guarded `sql_update` executor.
//!
//! airlock-db does not decide *whether* a change may be applied (versions, row hashes, bounds
//! and receipts are judged by the caller); it provides engine-correct building blocks that run
//! inside one transaction on a pooled connection from the source's **write** URL:
//!
//! ```text
//! let mut tx = writer.begin().await?;
//! let locked = tx.lock_for_apply(&select, key).await?; // row lock (FOR UPDATE), then the
//! if let Some(r) = locked.receipt { … }                // receipt look-up: sees a committed one
//! let n = tx.update_row(&update).await?;               // guarded single-row UPDATE
//! tx.insert_receipt(&receipt).await?;                  // same transaction as the UPDATE
//! tx.commit().await?;
//! ```
//!
//! # Transactions per engine
//!
//! | engine  | isolation | begin | row lock | lock wait limit |
//! |---------|-----------|-------|----------|-----------------|
//! | Postgres | `READ COMMITTED` | `BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE; SET LOCAL lock_timeout; SET LOCAL statement_timeout` | `SELECT … FOR UPDATE` | `lock_timeout` (SQLSTATE 55P03 → `Conflict`) |
//! | MySQL/MariaDB | `READ COMMITTED` | `SET TRANSACTION ISOLATION LEVEL READ COMMITTED; START TRANSACTION; SET SESSION innodb_lock_wait_timeout, lock_wait_timeout, max_statement_time/max_execution_time` | `SELECT … FOR UPDATE` | `innodb_lock_wait_timeout` in whole seconds, rounded up, at least 1 (error 1205 → `Conflict`) |
//! | SQLite  | serializable (one writer) | `BEGIN IMMEDIATE` with the busy timeout set to the lock timeout | none needed: `BEGIN IMMEDIATE` already holds the database write lock | busy timeout (`SQLITE_BUSY` → `Conflict`) |
//!
//! Call [`WriteTx::lock_rows`] first, then [`WriteTx::find_receipt`]
//! ([`WriteTx::lock_for_apply`] does both, in that order). The row lock serializes
//! appliers of the same row: a second applier blocks until the first commits, and because
//! under `READ COMMITTED` every statement reads the newest committed data, it then sees the
//! updated row *and* the first applier's receipt (both committed together).
//! `find_receipt` is therefore a plain read, not `FOR UPDATE`: on Postgres a row lock would
//! need `UPDATE` on the receipts table, which the least-privilege grants
//! ([`writer_grants`]) do not give. Without a row lock in front of it (e.g. the row is gone),
//! two appliers can both find no receipt; the receipt's unique key then makes the second
//! [`WriteTx::insert_receipt`] wait for the first transaction and fail as a duplicate
//! ([`DbError::is_duplicate_receipt`]), so the second transaction must roll back.
//!
//! # Failure rule
//!
//! Any error returned by a [`WriteTx`] method leaves the transaction unusable on every engine
//! (Postgres aborts it; the others are made to behave the same): later calls fail, and
//! [`WriteTx::commit`] rolls back and returns an error. Dropping a `WriteTx` without committing
//! rolls back; a connection is never returned to the pool inside a transaction.
//!
//! # Version advance ([`VersionAdvance`])
//!
//! | engine | column type | `Increment` | `Now` |
//! |--------|-------------|-------------|-------|
//! | Postgres | `int2/int4/int8/numeric` | `COALESCE(v, 0) + 1` | `InvalidValue` |
//! | Postgres | `timestamptz(p)` | `InvalidValue` | `GREATEST(clock_timestamp(), v + interval '10^(6-p) microseconds')` |
//! | Postgres | `timestamp(p)` | `InvalidValue` | same with `clock_timestamp() AT TIME ZONE 'UTC'` |
//! | MySQL | integer types, `DECIMAL` | `COALESCE(v, 0) + 1` | `InvalidValue` |
//! | MySQL | `DATETIME(fsp)`, `TIMESTAMP(fsp)` | `InvalidValue` | `COALESCE(GREATEST(CURRENT_TIMESTAMP(6), v + INTERVAL 10^(6-fsp) MICROSECOND), CURRENT_TIMESTAMP(6))` (session time zone is UTC) |
//! | SQLite | INTEGER values (or NULL) | `COALESCE(v, 0) + 1` | `InvalidValue` |
//! | any | text holding an ISO timestamp | `InvalidValue` | computed by Airlock, see below |
//! | any | anything else | `InvalidValue` | `InvalidValue` |
//!
//! The timestamp unit is one step of the column's own precision, so
//! `GREATEST(now, old + unit)` is at least `old + unit` after the server rounds it to the
//! column: the new value is strictly later than the old one even when two applies land in the
//! same millisecond or the old value lies in the future. A NULL version becomes `1` / now.
//!
//! Text versions (`varchar`/`text` on Postgres and MySQL, TEXT values on SQLite) must hold a
//! timestamp `YYYY-MM-DD[T| ]HH:MM:SS[.f{1,9}][Z|±HH[:MM]|±HHMM]`. Under the row lock Airlock
//! reads the current value(s), and binds `max(now truncated to the value's precision,
//! old + one unit)` rendered in exactly the old value's format (separator, fraction digits,
//! zone suffix and offset; a value without a zone is taken as UTC). A NULL text version becomes
//! `YYYY-MM-DDTHH:MM:SS.mmmZ`, SQLite's `strftime('%Y-%m-%dT%H:%M:%fZ','now')` form. Any other
//! text is `InvalidValue` ("cannot advance").
//!
//! Not handled: a Postgres version of `'infinity'` stays `'infinity'`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::{DbError, DbErrorKind, EngineKind, Ident, Param, Row, ScopedSelect, SourceSettings};

/// Name of the receipts table, unqualified: it lives in the writer connection's default schema
/// (Postgres `search_path`, the MySQL URL's database, SQLite `main`).
pub const RECEIPTS_TABLE: &str = "synapsor_writeback_receipts";

/// The columns of [`RECEIPTS_TABLE`] the writer reads and writes (`airlock writeback
/// migration` creates them; `airlock doctor --check-writeback` looks for them).
pub const RECEIPT_COLUMNS: [&str; 7] = [
    "idempotency_key",
    "job_id",
    "proposal_id",
    "status",
    "result_hash",
    "created_at",
    "completed_at",
];

/// [`DbError::code`] of the error [`WriteTx::insert_receipt`] returns when a receipt with the
/// same idempotency key (or job id) already exists. Its kind is [`DbErrorKind::Conflict`].
pub const DUPLICATE_RECEIPT_CODE: &str = "duplicate_receipt";

/// Lock wait limit when [`TxOptions::lock_timeout`] is not set.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(5);
/// Statement timeout for writes when neither [`TxOptions::statement_timeout`] nor the source's
/// `statement_timeout_ms` is set.
pub const DEFAULT_WRITE_STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

impl DbError {
    /// Whether this is the "receipt already exists" error of [`WriteTx::insert_receipt`].
    pub fn is_duplicate_receipt(&self) -> bool {
        self.kind == DbErrorKind::Conflict && self.code.as_deref() == Some(DUPLICATE_RECEIPT_CODE)
    }
}

/// Per-transaction limits. `None` takes the writer's default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TxOptions {
    /// How long a statement waits for a row (or, on SQLite, database) lock before failing with
    /// [`DbErrorKind::Conflict`]. Default [`DEFAULT_LOCK_TIMEOUT`]. MySQL rounds up to whole
    /// seconds (at least 1).
    pub lock_timeout: Option<Duration>,
    /// Statement timeout ([`DbErrorKind::Timeout`]). Default: the source's
    /// `statement_timeout_ms`, else [`DEFAULT_WRITE_STATEMENT_TIMEOUT`].
    pub statement_timeout: Option<Duration>,
}

/// How the version column moves forward with an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionAdvance {
    /// Integer version: `+ 1`.
    Increment,
    /// Timestamp (or timestamp text) version: the current time, strictly later than the old
    /// value (see the module docs for the rule per engine and type).
    Now,
}

/// `UPDATE [schema.]table SET c1 = ?, … [, advance] WHERE key = ? [AND tenant = ?] [AND version = ?]`.
#[derive(Debug, Clone)]
pub struct RowUpdate {
    pub schema: Option<Ident>,
    pub table: Ident,
    /// Primary-key column and value.
    pub key: (Ident, Param),
    /// Tenant column and the trusted tenant id. `None` only for acknowledged single-tenant
    /// tables.
    pub tenant: Option<(Ident, Param)>,
    /// Columns to set and their new values, in order. Must not name the key, tenant or advanced
    /// column, nor any column twice.
    pub set: Vec<(Ident, Param)>,
    /// Optimistic guard: the version column must still equal this value. `Param::Null` renders
    /// `IS NULL`.
    pub version_check: Option<(Ident, Param)>,
    /// Version column to move forward.
    pub advance: Option<(Ident, VersionAdvance)>,
}

/// A receipt to insert into [`RECEIPTS_TABLE`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptRow {
    /// Unique (primary key).
    pub idempotency_key: String,
    /// Unique.
    pub job_id: String,
    pub proposal_id: String,
    /// `applied`, `conflict`, … (the original also used `in_progress`).
    pub status: String,
    pub result_hash: Option<String>,
    /// Sets `completed_at` to the database's current timestamp; otherwise it stays NULL.
    pub completed: bool,
}

/// A receipt as stored. Timestamps are formatted as the read path formats that column type
/// (Postgres `timestamptz`: RFC 3339 UTC; MySQL `timestamp`: `YYYY-MM-DD HH:MM:SS` UTC; SQLite:
/// the stored text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReceiptRow {
    pub idempotency_key: String,
    pub job_id: String,
    pub proposal_id: String,
    pub status: String,
    pub result_hash: Option<String>,
    pub created_at: String,
    pub completed_at: Option<String>,
}

/// What [`WriteTx::lock_for_apply`] found: the locked rows, and the receipt already stored for
/// the idempotency key, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Locked {
    pub rows: Vec<Row>,
    pub receipt: Option<StoredReceiptRow>,
}

/// A pool of read-write connections from a source's write URL.
#[async_trait::async_trait]
pub trait Writer: Send + Sync + fmt::Debug {
    fn kind(&self) -> EngineKind;

    /// Starts a transaction with the writer's default limits. A pooled connection the server
    /// closed while it sat idle fails the `BEGIN` as lost; nothing ran yet, so this retries
    /// once on a fresh connection. (Postgres sends its `BEGIN` with the transaction's first
    /// statement, and makes that retry there.)
    async fn begin(&self) -> Result<Box<dyn WriteTx>, DbError> {
        let opts = TxOptions::default();
        match self.begin_with(&opts).await {
            Err(e) if e.is_connection_lost() => self.begin_with(&opts).await,
            r => r,
        }
    }

    /// Starts a transaction (see the module docs for isolation and locking per engine).
    async fn begin_with(&self, opts: &TxOptions) -> Result<Box<dyn WriteTx>, DbError>;

    /// Creates [`RECEIPTS_TABLE`] with [`receipts_ddl`] if it does not exist. Checks first, so a
    /// least-privilege writer (no DDL rights) succeeds when a DBA already created the table.
    async fn ensure_receipts_table(&self) -> Result<(), DbError>;
}

/// One open write transaction. See the module docs for the failure rule.
#[async_trait::async_trait]
pub trait WriteTx: Send + fmt::Debug {
    /// `SELECT <columns> FROM t WHERE key = ? [AND tenant = ?] FOR UPDATE` (SQLite: without
    /// `FOR UPDATE`). Returns every matching row (`q.limit` is ignored: all matching rows are
    /// locked), mapped exactly as [`Engine::select`](crate::Engine::select) maps them.
    async fn lock_rows(&mut self, q: &ScopedSelect) -> Result<Vec<Row>, DbError>;

    /// The receipt stored for an idempotency key. A plain read of the newest committed data
    /// (see the module docs: call it after [`WriteTx::lock_rows`]).
    async fn find_receipt(
        &mut self,
        idempotency_key: &str,
    ) -> Result<Option<StoredReceiptRow>, DbError>;

    /// Locks the rows ([`WriteTx::lock_rows`]) and, once they are locked, looks up the receipt
    /// stored for an idempotency key ([`WriteTx::find_receipt`]): the two first steps of an
    /// apply, in the order the module docs require. Postgres sends both (with the transaction's
    /// `BEGIN`) in one round trip; the server still runs the look-up only after the lock is
    /// granted, with a snapshot taken then.
    async fn lock_for_apply(
        &mut self,
        q: &ScopedSelect,
        idempotency_key: &str,
    ) -> Result<Locked, DbError> {
        let rows = self.lock_rows(q).await?;
        let receipt = self.find_receipt(idempotency_key).await?;
        Ok(Locked { rows, receipt })
    }

    /// Runs the update and returns the number of rows it matched. SET values are converted to
    /// the column types as the read path converts keys; a value that does not fit is
    /// [`DbErrorKind::InvalidValue`].
    async fn update_row(&mut self, u: &RowUpdate) -> Result<u64, DbError>;

    /// Inserts a receipt. A duplicate idempotency key or job id is [`DbErrorKind::Conflict`]
    /// with code [`DUPLICATE_RECEIPT_CODE`] ([`DbError::is_duplicate_receipt`]).
    async fn insert_receipt(&mut self, r: &ReceiptRow) -> Result<(), DbError>;

    /// Commits. After an earlier error this rolls back and returns an error instead.
    async fn commit(self: Box<Self>) -> Result<(), DbError>;

    /// Rolls back.
    async fn rollback(self: Box<Self>) -> Result<(), DbError>;
}

/// Opens a writer pool for a source; `settings.url` must be the source's write URL.
/// Postgres and MySQL dial on first use; SQLite checks that the file exists (it is never
/// created).
pub async fn connect_writer(settings: &SourceSettings) -> Result<Arc<dyn Writer>, DbError> {
    match settings.engine {
        EngineKind::Postgres => crate::postgres::PostgresWriter::connect(settings)
            .await
            .map(|w| Arc::new(w) as _),
        EngineKind::Mysql => crate::mysql::MysqlWriter::connect(settings)
            .await
            .map(|w| Arc::new(w) as _),
        EngineKind::Sqlite => crate::sqlite::SqliteWriter::connect(settings)
            .await
            .map(|w| Arc::new(w) as _),
    }
}

/// `CREATE TABLE IF NOT EXISTS synapsor_writeback_receipts (…);` for an engine. Postgres and
/// MySQL are the original runner's DDL, column for column, so tables created by existing
/// migrations keep working.
pub fn receipts_ddl(kind: EngineKind) -> String {
    match kind {
        EngineKind::Postgres => {
            "CREATE TABLE IF NOT EXISTS synapsor_writeback_receipts (
  idempotency_key text PRIMARY KEY,
  job_id text UNIQUE NOT NULL,
  proposal_id text NOT NULL,
  status text NOT NULL,
  result_hash text,
  created_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz
);
"
        }
        EngineKind::Mysql => {
            "CREATE TABLE IF NOT EXISTS synapsor_writeback_receipts (
  idempotency_key varchar(255) PRIMARY KEY,
  job_id varchar(255) UNIQUE NOT NULL,
  proposal_id varchar(512) NOT NULL,
  status varchar(64) NOT NULL,
  result_hash varchar(128),
  created_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,
  completed_at timestamp NULL
);
"
        }
        EngineKind::Sqlite => {
            "CREATE TABLE IF NOT EXISTS synapsor_writeback_receipts (
  idempotency_key TEXT PRIMARY KEY NOT NULL,
  job_id TEXT UNIQUE NOT NULL,
  proposal_id TEXT NOT NULL,
  status TEXT NOT NULL,
  result_hash TEXT,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  completed_at TEXT
);
"
        }
    }
    .to_owned()
}

/// What a DBA runs to create the receipts table: [`receipts_ddl`], preceded by a switch to
/// `schema` when one is given (the table lives in the writer connection's default schema, so it
/// stays unqualified). SQLite has no schemas: `schema` is ignored there.
pub fn receipts_migration(kind: EngineKind, schema: Option<&Ident>) -> String {
    use crate::common::quote_with;
    let switch = match (kind, schema) {
        (EngineKind::Postgres, Some(s)) => format!("SET search_path TO {};\n", quote_with(s, '"')),
        (EngineKind::Mysql, Some(s)) => format!("USE {};\n", quote_with(s, '`')),
        (EngineKind::Sqlite, _) | (_, None) => String::new(),
    };
    switch + &receipts_ddl(kind)
}

/// A table the writer updates, and exactly the columns it may set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteTarget {
    /// Qualifies the table (and, on Postgres, gets `GRANT USAGE ON SCHEMA`).
    pub schema: Option<Ident>,
    pub table: Ident,
    /// The columns an UPDATE may set: the patched columns, plus the version column when
    /// Airlock advances it. Never empty.
    pub update_columns: Vec<Ident>,
}

/// Least-privilege grants for the writer: `SELECT` and column-scoped `UPDATE` on each target
/// table, `SELECT, INSERT` on the receipts table. Nothing else (no table-wide UPDATE, no
/// DELETE, no DDL).
///
/// The receipts table stays unqualified, as in [`receipts_ddl`] and at run time. On MySQL
/// `` TO `role` `` means the account `'role'@'%'` (or the MariaDB role of that name). SQLite
/// has no privileges: the result is comments only.
pub fn writer_grants(kind: EngineKind, writer_role: &Ident, targets: &[WriteTarget]) -> String {
    use crate::common::quote_with;
    let mut out = String::new();
    let quote = match kind {
        EngineKind::Postgres => '"',
        EngineKind::Mysql => '`',
        EngineKind::Sqlite => {
            out.push_str("-- SQLite has no SQL privileges. The writer needs read-write access\n");
            out.push_str("-- to the database file and its directory (journal files).\n");
            return out;
        }
    };
    let q = |i: &Ident| quote_with(i, quote);
    let role = q(writer_role);
    let table = |t: &WriteTarget| match &t.schema {
        Some(s) => format!("{}.{}", q(s), q(&t.table)),
        None => q(&t.table),
    };
    let columns = |t: &WriteTarget| {
        t.update_columns
            .iter()
            .map(&q)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if kind == EngineKind::Postgres {
        out.push_str("-- Least-privilege grants for the Airlock writer role.\n");
        out.push_str(
            "-- Run as the owner of the tables. UPDATE only on the columns Airlock sets;\n",
        );
        out.push_str("-- no DELETE, no DDL.\n");
        out.push_str(
            "-- The receipts table is unqualified: it must be on the writer's search_path.\n",
        );
        let mut schemas: Vec<&Ident> = Vec::new();
        for s in targets.iter().filter_map(|t| t.schema.as_ref()) {
            if !schemas.contains(&s) {
                schemas.push(s);
                out.push_str(&format!("GRANT USAGE ON SCHEMA {} TO {role};\n", q(s)));
            }
        }
        for t in targets {
            out.push_str(&format!("GRANT SELECT ON TABLE {} TO {role};\n", table(t)));
            out.push_str(&format!(
                "GRANT UPDATE ({}) ON TABLE {} TO {role};\n",
                columns(t),
                table(t)
            ));
        }
        out.push_str(&format!(
            "GRANT SELECT, INSERT ON TABLE \"{RECEIPTS_TABLE}\" TO {role};\n"
        ));
    } else {
        out.push_str("-- Least-privilege grants for the Airlock writer account.\n");
        out.push_str(&format!(
            "-- {role} means the account '{writer_role}'@'%' (or the MariaDB role {writer_role}).\n"
        ));
        out.push_str(
            "-- Run in the database of the writer URL. UPDATE only on the columns Airlock\n",
        );
        out.push_str("-- sets; no DELETE, no DDL.\n");
        for t in targets {
            out.push_str(&format!(
                "GRANT SELECT, UPDATE ({}) ON {} TO {role};\n",
                columns(t),
                table(t)
            ));
        }
        out.push_str(&format!(
            "GRANT SELECT, INSERT ON `{RECEIPTS_TABLE}` TO {role};\n"
        ));
    }
    out
}

/// Converts a receipt row read through the value mapping into its typed form.
pub(crate) fn stored_receipt(row: &Row) -> Result<StoredReceiptRow, DbError> {
    fn text(row: &Row, col: &str) -> Result<Option<String>, DbError> {
        match row.get(col) {
            None => Err(DbError::new(
                DbErrorKind::Other,
                format!("receipt row has no column {col}"),
            )),
            Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Ok(Some(other.to_string())),
        }
    }
    let required = |col: &str| -> Result<String, DbError> {
        text(row, col)?.ok_or_else(|| {
            DbError::new(DbErrorKind::Other, format!("receipt column {col} is NULL"))
        })
    };
    Ok(StoredReceiptRow {
        idempotency_key: required("idempotency_key")?,
        job_id: required("job_id")?,
        proposal_id: required("proposal_id")?,
        status: required("status")?,
        result_hash: text(row, "result_hash")?,
        created_at: required("created_at")?,
        completed_at: text(row, "completed_at")?,
    })
}

/// The receipt lookup as a scoped select (`WHERE idempotency_key = ?`).
pub(crate) fn receipt_select(idempotency_key: &str) -> ScopedSelect {
    let id = |s: &str| Ident::new(s).expect("static identifier");
    ScopedSelect {
        schema: None,
        table: id(RECEIPTS_TABLE),
        columns: RECEIPT_COLUMNS.into_iter().map(id).collect(),
        key_column: id("idempotency_key"),
        key_value: Param::Text(idempotency_key.to_owned()),
        tenant: None,
        limit: 1,
    }
}

/// The error every engine returns once a transaction has failed.
pub(crate) fn unusable() -> DbError {
    DbError::new(
        DbErrorKind::Other,
        "the write transaction is unusable after an earlier error; roll it back",
    )
}

/// The error `commit` returns for a transaction that had failed (and was rolled back).
pub(crate) fn rolled_back_instead() -> DbError {
    DbError::new(
        DbErrorKind::Other,
        "the write transaction had failed and was rolled back instead of committed",
    )
}

/// Marks a unique violation on the receipts table as a duplicate receipt.
pub(crate) fn duplicate_receipt(e: DbError) -> DbError {
    let mut detail = String::from("a receipt with this idempotency key or job id already exists");
    if let Some(code) = &e.code {
        detail.push_str(&format!(" [{code}]"));
    }
    detail.push_str(": ");
    detail.push_str(&e.detail);
    DbError::new(DbErrorKind::Conflict, detail).with_code(DUPLICATE_RECEIPT_CODE)
}

/// Resolved limits of one transaction.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) lock: Duration,
    pub(crate) statement: Duration,
}

impl Limits {
    pub(crate) fn resolve(opts: &TxOptions, source_statement_timeout: Option<Duration>) -> Limits {
        Limits {
            lock: opts.lock_timeout.unwrap_or(DEFAULT_LOCK_TIMEOUT),
            statement: opts
                .statement_timeout
                .or(source_statement_timeout)
                .unwrap_or(DEFAULT_WRITE_STATEMENT_TIMEOUT),
        }
    }
}
