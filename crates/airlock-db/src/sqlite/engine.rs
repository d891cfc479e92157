//! The pooled SQLite engine.

use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::config::DbConfig;
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::error::classify;
use super::types::{bind, decode};
use crate::common::{self, SelectTail, percent_decode};
use crate::exact::{ExactMatch, guard_columns, keep_exact, select_params};
use crate::inspect::SchemaReport;
use crate::{
    DbError, DbErrorKind, Engine, EngineKind, Ident, Row, ScopedSelect, SourceSettings, Transport,
};

/// Virtual machine steps between two deadline checks.
pub(crate) const PROGRESS_OPS: i32 = 1000;
/// Busy timeout when the source has no statement timeout.
const DEFAULT_BUSY: Duration = Duration::from_secs(5);

/// What to open: a filename, or a `file:` URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) name: String,
    pub(crate) uri: bool,
}

impl Target {
    /// Parses the accepted URL forms (see the module docs).
    pub(crate) fn parse(url: &str) -> Result<Target, DbError> {
        let url = url.trim();
        let target = if url.starts_with("file:") {
            Target {
                name: url.to_owned(),
                uri: true,
            }
        } else if let Some(rest) = url.strip_prefix("sqlite://") {
            if rest.contains('?') {
                Target {
                    name: format!("file:{rest}"),
                    uri: true,
                }
            } else {
                Target {
                    name: rest.to_owned(),
                    uri: false,
                }
            }
        } else if let Some(rest) = url.strip_prefix("sqlite:") {
            Target {
                name: rest.to_owned(),
                uri: false,
            }
        } else {
            Target {
                name: url.to_owned(),
                uri: false,
            }
        };
        let empty = if target.uri {
            target.fs_path().is_some_and(|p| p.is_empty())
        } else {
            target.name.is_empty()
        };
        if empty {
            return Err(DbError::new(
                DbErrorKind::Connection,
                "malformed sqlite source: no file path",
            ));
        }
        Ok(target)
    }

    /// The file system path, or `None` for in-memory databases.
    pub(crate) fn fs_path(&self) -> Option<String> {
        if !self.uri {
            return (self.name != ":memory:").then(|| self.name.clone());
        }
        let rest = self.name.strip_prefix("file:")?;
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, q),
            None => (rest, ""),
        };
        let path = path.split('#').next().unwrap_or("");
        if query.split('&').any(|kv| kv == "mode=memory") || path == ":memory:" {
            return None;
        }
        let path = match path.strip_prefix("//") {
            // `file://host/path`: only an empty host or `localhost` is valid.
            Some(auth_and_path) => {
                &auth_and_path[auth_and_path.find('/').unwrap_or(auth_and_path.len())..]
            }
            None => path,
        };
        Some(percent_decode(path))
    }

    fn open(&self, busy: Duration) -> Result<Connection, DbError> {
        let conn = self.open_with(OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        conn.execute_batch("PRAGMA query_only = ON")
            .map_err(|e| classify(&e))?;
        conn.busy_timeout(busy).map_err(|e| classify(&e))?;
        Ok(conn)
    }

    /// A read-write connection for the writer (never `CREATE`), with foreign keys enforced.
    pub(crate) fn open_rw(&self, busy: Duration) -> Result<Connection, DbError> {
        let conn = self.open_with(OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        conn.execute_batch("PRAGMA foreign_keys = ON")
            .map_err(|e| classify(&e))?;
        conn.busy_timeout(busy).map_err(|e| classify(&e))?;
        Ok(conn)
    }

    fn open_with(&self, mode: OpenFlags) -> Result<Connection, DbError> {
        let mut flags = mode | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if self.uri {
            flags |= OpenFlags::SQLITE_OPEN_URI;
        }
        let conn = Connection::open_with_flags(&self.name, flags).map_err(|e| classify(&e))?;
        // Without this, SQLite reads an unknown "column" as a string literal: a misconfigured
        // column would return its own name as the value instead of failing with NotFound.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DQS_DML, false)
            .map_err(|e| classify(&e))?;
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DQS_DDL, false)
            .map_err(|e| classify(&e))?;
        Ok(conn)
    }
}

/// The connection slots of one SQLite file, the one pool shape of the read engine and the
/// writer: the checked target, idle connections, and the permits that cap how many exist.
pub(crate) struct FilePool {
    pub(crate) target: Arc<Target>,
    pub(crate) idle: Arc<Mutex<Vec<Connection>>>,
    pub(crate) permits: Arc<Semaphore>,
    pub(crate) max_connections: usize,
}

impl FilePool {
    /// Parses the target and checks that its file exists (SQLite sources are never created).
    /// Opens nothing.
    pub(crate) fn new(settings: &SourceSettings) -> Result<FilePool, DbError> {
        let target = Target::parse(settings.url.expose())?;
        if target.fs_path().is_some_and(|p| !Path::new(&p).is_file()) {
            return Err(DbError::new(
                DbErrorKind::Connection,
                "sqlite database file does not exist (sqlite sources are never created)",
            ));
        }
        let max = settings.max_connections.max(1);
        Ok(FilePool {
            target: Arc::new(target),
            idle: Arc::new(Mutex::new(Vec::with_capacity(max))),
            permits: Arc::new(Semaphore::new(max)),
            max_connections: max,
        })
    }

    /// One of the `max_connections` slots, waiting for a free one.
    pub(crate) async fn permit(&self) -> Result<OwnedSemaphorePermit, DbError> {
        self.permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| DbError::new(DbErrorKind::Connection, "sqlite pool is closed"))
    }
}

pub(crate) struct SqliteEngine {
    pool: FilePool,
    statement_timeout: Option<Duration>,
    /// Connections opened so far (idle ones are reused; at most `max_connections` exist).
    opened: Arc<AtomicUsize>,
}

impl fmt::Debug for SqliteEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteEngine")
            .field("max_connections", &self.pool.max_connections)
            .field("opened", &self.opened.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl SqliteEngine {
    /// Checks that the file exists and opens the first connection.
    pub(crate) async fn connect(settings: &SourceSettings) -> Result<Self, DbError> {
        let engine = SqliteEngine {
            pool: FilePool::new(settings)?,
            statement_timeout: settings.statement_timeout_ms.map(Duration::from_millis),
            opened: Arc::new(AtomicUsize::new(0)),
        };
        // Open one connection now so a file SQLite cannot open fails at connect.
        engine.with_conn(|_| Ok(())).await?;
        Ok(engine)
    }

    /// Runs `f` on a pooled connection on a blocking thread, under the statement timeout.
    async fn with_conn<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, DbError> + Send + 'static,
    {
        let permit = self.pool.permit().await?;
        let idle = self.pool.idle.clone();
        let target = self.pool.target.clone();
        let timeout = self.statement_timeout;
        let opened = self.opened.clone();
        let job = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let pooled = idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let mut conn = match pooled {
                Some(c) => c,
                None => {
                    let c = target.open(timeout.unwrap_or(DEFAULT_BUSY))?;
                    opened.fetch_add(1, Ordering::Relaxed);
                    c
                }
            };
            if let Some(t) = timeout {
                let deadline = Instant::now() + t;
                conn.progress_handler(PROGRESS_OPS, Some(move || Instant::now() >= deadline))
                    .map_err(|e| classify(&e))?;
            }
            let result = f(&conn);
            if timeout.is_some() && conn.progress_handler(0, None::<fn() -> bool>).is_err() {
                // A connection whose handler could not be cleared is not reused.
                return result;
            }
            idle.lock().unwrap_or_else(|e| e.into_inner()).push(conn);
            result
        });
        job.await
            .map_err(|e| DbError::new(DbErrorKind::Other, format!("sqlite worker failed: {e}")))?
    }
}

/// Runs a scoped select with exact key and tenant predicates ([`crate::exact`]) and maps the
/// values (the module docs' table). Shared by reads and write transactions.
pub(crate) fn select_blocking(
    conn: &Connection,
    q: &ScopedSelect,
    tail: SelectTail,
) -> Result<Vec<Row>, DbError> {
    let m = ExactMatch::sqlite();
    let guarded = guard_columns(q);
    let sql = render(&guarded, tail);
    let params: Vec<Value> = select_params(&guarded, &m)
        .into_iter()
        .map(|(_, p)| bind(p))
        .collect();
    let names: Vec<String> = guarded
        .columns
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    let rows = run(conn, &sql, &params, &names)?;
    Ok(keep_exact(q, rows, &m))
}

/// The SQL [`select_blocking`] runs.
fn render(q: &ScopedSelect, tail: SelectTail) -> String {
    common::render_select_with(
        q,
        |i| common::quote_with(i, '"'),
        |_| "?".to_owned(),
        None,
        tail,
        &ExactMatch::sqlite(),
    )
}

/// Runs a select and maps the values (the module docs' table).
fn run(
    conn: &Connection,
    sql: &str,
    params: &[Value],
    names: &[String],
) -> Result<Vec<Row>, DbError> {
    let mut stmt = conn.prepare_cached(sql).map_err(|e| classify(&e))?;
    let mut rows = stmt
        .query(rusqlite::params_from_iter(params.iter()))
        .map_err(|e| classify(&e))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(|e| classify(&e))? {
        let mut map = Row::new();
        for (i, name) in names.iter().enumerate() {
            map.insert(
                name.clone(),
                decode(r.get_ref(i).map_err(|e| classify(&e))?),
            );
        }
        out.push(map);
    }
    Ok(out)
}

#[async_trait::async_trait]
impl Engine for SqliteEngine {
    fn kind(&self) -> EngineKind {
        EngineKind::Sqlite
    }

    fn pool_status(&self) -> crate::PoolStatus {
        let max = self.pool.max_connections;
        let in_use = max.saturating_sub(self.pool.permits.available_permits());
        let idle = self
            .pool
            .idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len();
        crate::PoolStatus {
            max,
            open: Some(in_use + idle),
            in_use: Some(in_use),
            waiting: None,
        }
    }

    fn quote(&self, ident: &Ident) -> String {
        common::quote_with(ident, '"')
    }

    fn render_select(&self, q: &ScopedSelect) -> String {
        render(&guard_columns(q), SelectTail::Limit)
    }

    async fn select(&self, q: &ScopedSelect) -> Result<Vec<Row>, DbError> {
        let q = q.clone();
        self.with_conn(move |conn| select_blocking(conn, &q, SelectTail::Limit))
            .await
    }

    async fn ping(&self) -> Result<(), DbError> {
        // Reading the schema makes SQLite read the file header (a plain `SELECT 1` would not).
        self.with_conn(|conn| {
            conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
                .map_err(|e| classify(&e))
        })
        .await
    }

    async fn inspect(&self, schema: Option<&str>) -> Result<SchemaReport, DbError> {
        let schema = schema.map(str::to_owned);
        self.with_conn(move |conn| {
            crate::inspect::sqlite::inspect(conn, schema.as_deref(), classify)
        })
        .await
    }

    /// The read connection is opened `SQLITE_OPEN_READ_ONLY`: it can change nothing, and
    /// SQLite has no SQL privileges to report.
    async fn privileges(
        &self,
        tables: &[crate::privileges::TableRef],
    ) -> Result<crate::privileges::Privileges, DbError> {
        Ok(crate::privileges::Privileges {
            method: "SQLITE_OPEN_READ_ONLY file open".into(),
            tables: tables
                .iter()
                .map(|t| crate::privileges::TablePrivileges {
                    schema: t.schema.clone(),
                    table: t.table.clone(),
                    select: true,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })
    }

    async fn transport(&self) -> Result<Transport, DbError> {
        Ok(Transport {
            requested: "local file".into(),
            encrypted: false,
            tls_version: None,
            cipher: None,
            certificate_verified: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SecretUrl;

    #[test]
    fn url_forms() {
        let t = |s: &str| Target::parse(s).unwrap();
        assert_eq!(
            t("/tmp/a.db"),
            Target {
                name: "/tmp/a.db".into(),
                uri: false
            }
        );
        assert_eq!(
            t("data/a.db"),
            Target {
                name: "data/a.db".into(),
                uri: false
            }
        );
        assert_eq!(
            t("sqlite:///tmp/a.db"),
            Target {
                name: "/tmp/a.db".into(),
                uri: false
            }
        );
        assert_eq!(
            t("sqlite://data/a.db"),
            Target {
                name: "data/a.db".into(),
                uri: false
            }
        );
        assert_eq!(
            t("sqlite:data/a.db"),
            Target {
                name: "data/a.db".into(),
                uri: false
            }
        );
        assert_eq!(
            t("sqlite:///tmp/a.db?mode=ro"),
            Target {
                name: "file:/tmp/a.db?mode=ro".into(),
                uri: true
            }
        );
        assert_eq!(
            t("file:/tmp/a%20b.db?mode=ro").fs_path().as_deref(),
            Some("/tmp/a b.db")
        );
        assert_eq!(
            t("file:///tmp/a.db").fs_path().as_deref(),
            Some("/tmp/a.db")
        );
        assert_eq!(
            t("file://localhost/tmp/a.db").fs_path().as_deref(),
            Some("/tmp/a.db")
        );
        assert_eq!(t("file:x.db").fs_path().as_deref(), Some("x.db"));
        assert_eq!(t("file:mem?mode=memory").fs_path(), None);
        for bad in ["", "sqlite://", "sqlite:", "file:"] {
            assert_eq!(
                Target::parse(bad).unwrap_err().kind,
                DbErrorKind::Connection,
                "{bad}"
            );
        }
    }

    /// Pooled connections are read-only twice over: the open flag and `query_only`.
    #[tokio::test]
    async fn pooled_connections_refuse_writes() {
        let db = airlock_testkit::fresh_sqlite();
        db.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY)")
            .await
            .unwrap();
        let e = SqliteEngine::connect(&SourceSettings {
            engine: EngineKind::Sqlite,
            url: SecretUrl::new(db.url.clone()),
            statement_timeout_ms: None,
            max_connections: 1,
            pool: Default::default(),
        })
        .await
        .unwrap();
        let err = e
            .with_conn(|c| {
                c.execute("INSERT INTO t VALUES (1)", [])
                    .map_err(|e| classify(&e))
            })
            .await;
        assert_eq!(err.unwrap_err().kind, DbErrorKind::Permission);
        let q = e.with_conn(|c| {
            c.query_row("PRAGMA query_only", [], |r| r.get::<_, i64>(0))
                .map_err(|e| classify(&e))
        });
        assert_eq!(q.await.unwrap(), 1);
        let ro = e
            .with_conn(|c| c.is_readonly(rusqlite::MAIN_DB).map_err(|e| classify(&e)))
            .await;
        assert!(ro.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pool_is_reused_and_bounded() {
        let db = airlock_testkit::fresh_sqlite();
        db.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, tenant_id TEXT); INSERT INTO t VALUES (1, 'a');")
            .await
            .unwrap();
        let max = 3;
        let e = Arc::new(
            SqliteEngine::connect(&SourceSettings {
                engine: EngineKind::Sqlite,
                url: SecretUrl::new(db.url.clone()),
                statement_timeout_ms: Some(5000),
                max_connections: max,
                pool: Default::default(),
            })
            .await
            .unwrap(),
        );
        let q = ScopedSelect {
            schema: None,
            table: Ident::new("t").unwrap(),
            columns: vec![Ident::new("id").unwrap()],
            key_column: Ident::new("id").unwrap(),
            key_value: crate::Param::Text("1".into()),
            tenant: Some((
                Ident::new("tenant_id").unwrap(),
                crate::Param::Text("a".into()),
            )),
            limit: 1,
        };
        for _ in 0..200 {
            assert_eq!(e.select(&q).await.unwrap().len(), 1);
        }
        assert_eq!(e.opened.load(Ordering::Relaxed), 1);
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..40 {
            let (e, q) = (e.clone(), q.clone());
            set.spawn(async move {
                for _ in 0..5 {
                    e.select(&q).await.unwrap();
                }
            });
        }
        while let Some(r) = set.join_next().await {
            r.unwrap();
        }
        let opened = e.opened.load(Ordering::Relaxed);
        assert!((1..=max).contains(&opened), "{opened}");
        assert!(e.pool.idle.lock().unwrap().len() <= max);
    }
}
