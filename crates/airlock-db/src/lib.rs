//! Database engines behind one trait.
//!
//! Airlock never runs SQL text that came from a model. Every statement is built here from a
//! [`ScopedSelect`] whose identifiers were validated by `airlock-config` and are quoted by the
//! engine's own quoting function; every value travels as a bound parameter.
//!
//! One implementation per engine, in parallel folders `postgres/`, `mysql/`, `sqlite/`, each
//! with `engine.rs` (pool, rendering, select, ping), `types.rs` (parameter conversion and the
//! value-mapping table in the folder's module docs) and `error.rs` (error classification).
//! Each engine builds its pool in one place, for reads and writes alike (`build_pool`,
//! `mysql/pool.rs`, `FilePool`). [`connect`] is the single place that chooses one;
//! [`resolve_source`] turns a configured source into its [`SourceSettings`]. What the engines
//! share lives in `common/`: `render` (SQL text), `versions`, `scrub`, `values`.
//!
//! Key and tenant predicates compare byte for byte whatever the column's collation or type
//! (case-insensitive MariaDB collations, `citext`, nondeterministic ICU, SQLite `NOCASE`), and
//! every returned row's key and tenant are re-checked: see `exact.rs`.
//!
//! Connection behaviour: Postgres and MySQL validate the URL in [`connect`] and dial on first
//! use (`select` or [`Engine::ping`]); SQLite checks the file and opens it in [`connect`].
//!
//! Writes go through a separate [`Writer`] ([`connect_writer`], the source's write URL): the
//! transactional primitives of the guarded `sql_update` executor, in `writer.rs` and each
//! engine folder's `writer.rs`. See [`writer`] for isolation, locking and the
//! version-advance rule.

mod common;
mod error;
mod exact;
mod ident;
pub mod inspect;
mod mysql;
pub mod onboard;
mod postgres;
pub mod privileges;
mod secret;
mod settings;
mod sqlite;
mod tls;
pub mod writer;

use std::sync::Arc;

pub use error::{
    CONNECT_TIMEOUT_CODE, CONNECTION_LOST_CODE, DbError, DbErrorKind, SERVER_UNREACHABLE_CODE,
};
pub use ident::Ident;
pub use postgres::pool_manager as postgres_pool_manager;
pub use secret::SecretUrl;
pub use settings::{Access, SettingsError, resolve_source};
pub use writer::{
    DEFAULT_LOCK_TIMEOUT, DEFAULT_WRITE_STATEMENT_TIMEOUT, DUPLICATE_RECEIPT_CODE, Locked,
    RECEIPT_COLUMNS, RECEIPTS_TABLE, ReceiptRow, RowUpdate, StoredReceiptRow, TxOptions,
    VersionAdvance, WriteTarget, WriteTx, Writer, connect_writer, receipts_ddl, receipts_migration,
    writer_grants,
};

/// A row as the model may see it: column name → JSON scalar, in projection order.
pub type Row = serde_json::Map<String, serde_json::Value>;

/// Engine family: the config's engine enum, so no mapping is needed between them.
pub use airlock_config::Engine as EngineKind;

/// A bound parameter value. Never spliced into SQL text.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

impl Param {
    /// Converts a JSON scalar into a parameter. Objects and arrays are not parameters.
    pub fn from_json(v: &serde_json::Value) -> Option<Param> {
        use serde_json::Value as V;
        Some(match v {
            V::Null => Param::Null,
            V::Bool(b) => Param::Bool(*b),
            V::Number(n) => match n.as_i64() {
                Some(i) => Param::Int(i),
                None => Param::Float(n.as_f64()?),
            },
            V::String(s) => Param::Text(s.clone()),
            V::Array(_) | V::Object(_) => return None,
        })
    }
}

/// `SELECT <columns> FROM <schema>.<table> WHERE <key> = ? [AND <tenant> = ?] LIMIT <limit>`.
///
/// Only rows whose key and tenant are exactly the given values come back, whatever the
/// columns' collation (see `exact.rs`).
#[derive(Debug, Clone)]
pub struct ScopedSelect {
    /// Postgres schema, MySQL database, or SQLite attached database (`main`). `None` leaves the
    /// table unqualified.
    pub schema: Option<Ident>,
    pub table: Ident,
    pub columns: Vec<Ident>,
    pub key_column: Ident,
    pub key_value: Param,
    /// Tenant column and the trusted tenant id. `None` only for acknowledged single-tenant
    /// development tables.
    pub tenant: Option<(Ident, Param)>,
    /// Row limit placed in the SQL.
    pub limit: u32,
}

/// Settings for one source, resolved from config and environment by the caller.
#[derive(Debug, Clone)]
pub struct SourceSettings {
    pub engine: EngineKind,
    /// Connection URL (postgres://, mysql://) or, for SQLite, a file path or `sqlite://` URL.
    pub url: SecretUrl,
    /// Statement timeout for reads.
    pub statement_timeout_ms: Option<u64>,
    /// Upper bound on pooled connections.
    pub max_connections: usize,
    /// Dial and idle limits of the pool.
    pub pool: PoolOptions,
}

/// How a source's pool dials and when it stops reusing a connection (the source's
/// `connect_timeout_ms` and `idle_timeout_ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolOptions {
    /// Longest wait for a new connection (TCP, TLS and authentication).
    pub connect_timeout: std::time::Duration,
    /// A pooled connection idle longer than this is closed instead of reused.
    pub idle_timeout: std::time::Duration,
}

impl PoolOptions {
    /// The options a configured source asks for, defaults filled in.
    pub fn of(source: &airlock_config::Source) -> PoolOptions {
        PoolOptions {
            connect_timeout: source.connect_timeout(),
            idle_timeout: source.idle_timeout(),
        }
    }
}

impl Default for PoolOptions {
    fn default() -> PoolOptions {
        PoolOptions {
            connect_timeout: std::time::Duration::from_millis(
                airlock_config::DEFAULT_CONNECT_TIMEOUT_MS,
            ),
            idle_timeout: std::time::Duration::from_millis(airlock_config::DEFAULT_IDLE_TIMEOUT_MS),
        }
    }
}

/// A pooled, read-only connection to one source.
#[async_trait::async_trait]
pub trait Engine: Send + Sync + std::fmt::Debug {
    fn kind(&self) -> EngineKind;

    /// How the read pool is used right now (for metrics); never dials.
    fn pool_status(&self) -> PoolStatus;

    /// Quotes a validated identifier for this engine's dialect.
    fn quote(&self, ident: &Ident) -> String;

    /// The SQL text [`Engine::select`] runs, with the engine's placeholders. For audit and
    /// fingerprints; values are never part of it.
    fn render_select(&self, q: &ScopedSelect) -> String;

    /// Runs a scoped select in a read-only transaction under the source's statement timeout.
    /// Column values are mapped to JSON scalars (see the engine file for its type table).
    async fn select(&self, q: &ScopedSelect) -> Result<Vec<Row>, DbError>;

    /// Checks that the source answers (`SELECT 1`).
    async fn ping(&self) -> Result<(), DbError>;

    /// Describes the schema from the catalog for onboarding (`airlock inspect`): metadata
    /// only, never a row value. `schema` narrows to one Postgres schema, MySQL database or
    /// SQLite attached database; an unknown one is [`DbErrorKind::NotFound`]. See [`inspect`].
    async fn inspect(&self, schema: Option<&str>) -> Result<inspect::SchemaReport, DbError>;

    /// How a pooled session is protected, as the server reports it (`doctor` shows this).
    async fn transport(&self) -> Result<Transport, DbError>;

    /// What this connection's credential may change, from the catalog (nothing is written):
    /// see [`privileges`]. `tables` are reported on one by one.
    async fn privileges(
        &self,
        tables: &[privileges::TableRef],
    ) -> Result<privileges::Privileges, DbError>;
}

/// How a source's read pool is used at one moment. What a driver does not report is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// The configured upper bound.
    pub max: usize,
    /// Connections open (in use or idle).
    pub open: Option<usize>,
    /// Connections lent to a query right now.
    pub in_use: Option<usize>,
    /// Queries waiting for a connection.
    pub waiting: Option<usize>,
}

/// How the connection to a source is protected: what the URL asked for, what the server
/// reports for a live session, and whether Airlock verified the server's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transport {
    /// The mode the URL asked for, spelled as its engine documents it (`VERIFY_IDENTITY`,
    /// `verify-full`), or `local file` for SQLite.
    pub requested: String,
    /// The server says the session is encrypted.
    pub encrypted: bool,
    /// TLS version and cipher as the server reports them (`None` in clear text).
    pub tls_version: Option<String>,
    pub cipher: Option<String>,
    /// Airlock checked the server's certificate chain (and its name, except under verify-ca).
    pub certificate_verified: bool,
}

/// Opens a pool for a source. Connections are made lazily or eagerly as the engine prefers;
/// a bad URL is reported here.
pub async fn connect(settings: &SourceSettings) -> Result<Arc<dyn Engine>, DbError> {
    match settings.engine {
        EngineKind::Postgres => postgres::PostgresEngine::connect(settings)
            .await
            .map(|e| Arc::new(e) as _),
        EngineKind::Mysql => mysql::MysqlEngine::connect(settings)
            .await
            .map(|e| Arc::new(e) as _),
        EngineKind::Sqlite => sqlite::SqliteEngine::connect(settings)
            .await
            .map(|e| Arc::new(e) as _),
    }
}
