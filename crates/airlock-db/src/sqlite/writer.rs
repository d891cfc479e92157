//! SQLite write transactions (rules in [`crate::writer`] and the `sqlite` module docs).

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use rusqlite::types::Value;
use tokio::sync::OwnedSemaphorePermit;

use super::engine::{FilePool, PROGRESS_OPS, select_blocking};
use super::error::classify;
use super::types::bind;
use crate::common::{
    self, AdvanceSql, SelectTail, cannot_advance, increment_expr, is_decimal_literal,
    next_text_timestamp, parse_int, render_update, text_values, validate_update, version_select,
};
use crate::exact::ExactMatch;
use crate::writer::{
    DEFAULT_LOCK_TIMEOUT, Limits, RECEIPTS_TABLE, duplicate_receipt, receipt_select,
    rolled_back_instead, stored_receipt, unusable,
};
use crate::{
    DbError, DbErrorKind, EngineKind, Ident, Param, ReceiptRow, Row, RowUpdate, ScopedSelect,
    SourceSettings, StoredReceiptRow, TxOptions, VersionAdvance, WriteTx, Writer, receipts_ddl,
};

/// `SQLITE_CONSTRAINT_PRIMARYKEY` and `SQLITE_CONSTRAINT_UNIQUE`.
const UNIQUE_CODES: [&str; 2] = ["1555", "2067"];

fn quote(i: &Ident) -> String {
    common::quote_with(i, '"')
}

type Idle = Arc<Mutex<Vec<Connection>>>;

pub(crate) struct SqliteWriter {
    pool: FilePool,
    statement_timeout: Option<Duration>,
}

impl fmt::Debug for SqliteWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteWriter")
            .field("max_connections", &self.pool.max_connections)
            .finish_non_exhaustive()
    }
}

/// Returns a connection to the idle list if it is outside any transaction; otherwise rolls
/// back first, and closes it (SQLite then rolls back) if that fails.
fn release(idle: &Idle, conn: Connection) {
    if conn.is_autocommit() || (conn.execute_batch("ROLLBACK").is_ok() && conn.is_autocommit()) {
        idle.lock().unwrap_or_else(|e| e.into_inner()).push(conn);
    }
}

/// Runs `f` with a progress-handler deadline (statement timeout → `SQLITE_INTERRUPT`).
fn with_deadline<T>(
    conn: &mut Connection,
    timeout: Duration,
    f: impl FnOnce(&Connection) -> Result<T, DbError>,
) -> Result<T, DbError> {
    let deadline = Instant::now() + timeout;
    conn.progress_handler(PROGRESS_OPS, Some(move || Instant::now() >= deadline))
        .map_err(|e| classify(&e))?;
    let r = f(conn);
    let _ = conn.progress_handler(0, None::<fn() -> bool>);
    r
}

impl SqliteWriter {
    /// Checks that the file exists and opens one read-write connection.
    pub(crate) async fn connect(settings: &SourceSettings) -> Result<Self, DbError> {
        let writer = SqliteWriter {
            pool: FilePool::new(settings)?,
            statement_timeout: settings.statement_timeout_ms.map(Duration::from_millis),
        };
        writer.with_idle_conn(|_| Ok(())).await?;
        Ok(writer)
    }

    async fn permit(&self) -> Result<OwnedSemaphorePermit, DbError> {
        self.pool.permit().await
    }

    /// Runs `f` on a pooled connection outside any transaction.
    async fn with_idle_conn<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, DbError> + Send + 'static,
    {
        let permit = self.permit().await?;
        let (idle, target) = (self.pool.idle.clone(), self.pool.target.clone());
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let pooled = idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let conn = match pooled {
                Some(c) => c,
                None => target.open_rw(DEFAULT_LOCK_TIMEOUT)?,
            };
            conn.busy_timeout(DEFAULT_LOCK_TIMEOUT)
                .map_err(|e| classify(&e))?;
            let r = f(&conn);
            release(&idle, conn);
            r
        })
        .await
        .map_err(|e| DbError::new(DbErrorKind::Other, format!("sqlite worker failed: {e}")))?
    }
}

#[async_trait::async_trait]
impl Writer for SqliteWriter {
    fn kind(&self) -> EngineKind {
        EngineKind::Sqlite
    }

    async fn begin_with(&self, opts: &TxOptions) -> Result<Box<dyn WriteTx>, DbError> {
        let limits = Limits::resolve(opts, self.statement_timeout);
        let permit = self.permit().await?;
        let (idle, target) = (self.pool.idle.clone(), self.pool.target.clone());
        let conn = tokio::task::spawn_blocking(move || {
            let pooled = idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let conn = match pooled {
                Some(c) => c,
                None => target.open_rw(limits.lock)?,
            };
            // The busy timeout bounds the wait for the database write lock, here and at COMMIT.
            let begun = conn
                .busy_timeout(limits.lock)
                .and_then(|()| conn.execute_batch("BEGIN IMMEDIATE"));
            match begun {
                Ok(()) => Ok(conn),
                Err(e) => {
                    release(&idle, conn);
                    Err(classify(&e))
                }
            }
        })
        .await
        .map_err(|e| DbError::new(DbErrorKind::Other, format!("sqlite worker failed: {e}")))??;
        Ok(Box::new(SqliteTx {
            conn: Some(conn),
            permit: Some(permit),
            idle: self.pool.idle.clone(),
            statement_timeout: limits.statement,
            failed: false,
        }))
    }

    async fn ensure_receipts_table(&self) -> Result<(), DbError> {
        self.with_idle_conn(|conn| {
            let n: i64 = conn
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                    [RECEIPTS_TABLE],
                    |r| r.get(0),
                )
                .map_err(|e| classify(&e))?;
            if n == 0 {
                conn.execute_batch(&receipts_ddl(EngineKind::Sqlite))
                    .map_err(|e| classify(&e))?;
            }
            Ok(())
        })
        .await
    }
}

/// An open `BEGIN IMMEDIATE` transaction. The connection moves to a blocking thread for each
/// call; dropping the transaction rolls back (on a blocking thread) before the connection is
/// reused.
pub(crate) struct SqliteTx {
    /// `None` once ended, or while lost with a cancelled call (SQLite rolls back when that
    /// connection closes).
    conn: Option<Connection>,
    permit: Option<OwnedSemaphorePermit>,
    idle: Idle,
    statement_timeout: Duration,
    failed: bool,
}

impl fmt::Debug for SqliteTx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteTx")
            .field("open", &self.conn.is_some())
            .field("failed", &self.failed)
            .finish()
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        let (idle, permit) = (self.idle.clone(), self.permit.take());
        let job = move || {
            let _permit = permit;
            release(&idle, conn);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(h) => {
                h.spawn_blocking(job);
            }
            Err(_) => job(),
        }
    }
}

impl SqliteTx {
    /// Runs `f` on the transaction's connection on a blocking thread, under the statement
    /// timeout. Any error makes the transaction unusable.
    async fn call<T, F>(&mut self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, DbError> + Send + 'static,
    {
        if self.failed {
            return Err(unusable());
        }
        let conn = self.conn.take().ok_or_else(unusable)?;
        let timeout = self.statement_timeout;
        let job = tokio::task::spawn_blocking(move || {
            let mut conn = conn;
            let r = with_deadline(&mut conn, timeout, f);
            (conn, r)
        });
        match job.await {
            Ok((conn, r)) => {
                self.conn = Some(conn);
                if r.is_err() {
                    self.failed = true;
                }
                r
            }
            Err(e) => {
                self.failed = true;
                Err(DbError::new(
                    DbErrorKind::Other,
                    format!("sqlite worker failed: {e}"),
                ))
            }
        }
    }

    async fn select(&mut self, q: &ScopedSelect) -> Result<Vec<Row>, DbError> {
        let q = q.clone();
        self.call(move |conn| select_blocking(conn, &q, SelectTail::Nothing))
            .await
    }

    /// `COMMIT` or `ROLLBACK`; on success the connection goes back to the pool.
    async fn finish(&mut self, sql: &'static str) -> Result<(), DbError> {
        let was_failed = std::mem::replace(&mut self.failed, false);
        let r = self
            .call(move |conn| conn.execute_batch(sql).map_err(|e| classify(&e)))
            .await;
        if r.is_ok() {
            self.failed = was_failed;
            if let Some(conn) = self.conn.take() {
                release(&self.idle, conn);
            }
            self.permit.take();
        }
        // On error the connection stays here and `Drop` rolls back.
        r
    }
}

/// Type affinity of a declared column type (SQLite's rules, "Determination Of Column
/// Affinity").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Affinity {
    Integer,
    Text,
    Blob,
    Real,
    Numeric,
}

impl Affinity {
    pub(crate) fn of_declared(decl: &str) -> Affinity {
        let d = decl.to_ascii_uppercase();
        if d.contains("INT") {
            Affinity::Integer
        } else if d.contains("CHAR") || d.contains("CLOB") || d.contains("TEXT") {
            Affinity::Text
        } else if d.contains("BLOB") || d.trim().is_empty() {
            Affinity::Blob
        } else if d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB") {
            Affinity::Real
        } else {
            Affinity::Numeric
        }
    }
}

/// Converts a SET value for a column of the given affinity. INTEGER and REAL columns accept
/// only values that are numbers of that kind (SQLite itself would store `"abc"` as text);
/// other affinities take the value as is.
pub(crate) fn bind_for(p: &Param, affinity: Option<Affinity>) -> Result<Value, DbError> {
    let invalid = |ty: &str| common::invalid_value("value", ty);
    Ok(match (affinity, p) {
        (_, Param::Null) => Value::Null,
        (Some(Affinity::Integer), Param::Int(i)) => Value::Integer(*i),
        (Some(Affinity::Integer), Param::Bool(b)) => Value::Integer(i64::from(*b)),
        (Some(Affinity::Integer), Param::Float(f)) => {
            if f.fract() == 0.0 && *f >= -(2f64.powi(63)) && *f < 2f64.powi(63) {
                Value::Integer(*f as i64)
            } else {
                return Err(invalid("integer"));
            }
        }
        (Some(Affinity::Integer), Param::Text(s)) => {
            Value::Integer(parse_int(s).ok_or_else(|| invalid("integer"))?)
        }
        (Some(Affinity::Real), Param::Text(s)) => {
            if is_decimal_literal(s) {
                Value::Real(s.trim().parse().map_err(|_| invalid("real"))?)
            } else {
                return Err(invalid("real"));
            }
        }
        _ => bind(p),
    })
}

/// Declared column types of a table, by lowercase column name.
fn declared_affinities(
    conn: &Connection,
    schema: Option<&Ident>,
    table: &Ident,
) -> Result<std::collections::HashMap<String, Affinity>, DbError> {
    let mut stmt = conn
        .prepare_cached("SELECT name, type FROM pragma_table_info(?1, ?2)")
        .map_err(|e| classify(&e))?;
    let rows = stmt
        .query_map(
            [table.as_str(), schema.map_or("main", Ident::as_str)],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
        )
        .map_err(|e| classify(&e))?;
    let mut out = std::collections::HashMap::new();
    for r in rows {
        let (name, decl) = r.map_err(|e| classify(&e))?;
        out.insert(name.to_ascii_lowercase(), Affinity::of_declared(&decl));
    }
    Ok(out)
}

fn update_blocking(conn: &Connection, u: &RowUpdate) -> Result<u64, DbError> {
    validate_update(u)?;
    let advance = match &u.advance {
        None => None,
        Some((col, how)) => {
            // The write lock is held since BEGIN IMMEDIATE: these values cannot change.
            let rows = select_blocking(conn, &version_select(u, col), SelectTail::Nothing)?;
            if rows.is_empty() {
                return Ok(0);
            }
            Some(match how {
                VersionAdvance::Increment => {
                    let all_integers = rows.iter().all(|r| match r.get(col.as_str()) {
                        Some(serde_json::Value::Number(n)) => n.is_i64() || n.is_u64(),
                        Some(serde_json::Value::Null) | None => true,
                        Some(_) => false,
                    });
                    if !all_integers {
                        return Err(cannot_advance(col, *how, "a value that is not an integer"));
                    }
                    AdvanceSql::Expr(increment_expr(&quote(col)))
                }
                VersionAdvance::Now => {
                    let current = text_values(&rows, col)
                        .map_err(|_| cannot_advance(col, *how, "a value that is not text"))?;
                    AdvanceSql::Param(Param::Text(next_text_timestamp(
                        col,
                        &current,
                        chrono::Utc::now(),
                    )?))
                }
            })
        }
    };
    let r = render_update(
        u,
        quote,
        |_| "?".to_owned(),
        advance.as_ref(),
        &ExactMatch::sqlite(),
    );
    let affinities = declared_affinities(conn, u.schema.as_ref(), &u.table)?;
    let set_count = u.set.len();
    let params: Vec<Value> = r
        .params
        .iter()
        .enumerate()
        .map(|(i, (col, p))| {
            if i < set_count {
                bind_for(
                    p,
                    affinities.get(&col.as_str().to_ascii_lowercase()).copied(),
                )
            } else {
                Ok(bind(p))
            }
        })
        .collect::<Result<_, _>>()?;
    let mut stmt = conn.prepare_cached(&r.sql).map_err(|e| classify(&e))?;
    let n = stmt
        .execute(rusqlite::params_from_iter(params.iter()))
        .map_err(|e| classify(&e))?;
    Ok(n as u64)
}

fn insert_blocking(conn: &Connection, r: &ReceiptRow) -> Result<(), DbError> {
    let completed = if r.completed {
        "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
    } else {
        "NULL"
    };
    let sql = format!(
        "INSERT INTO \"{RECEIPTS_TABLE}\" (\"idempotency_key\", \"job_id\", \"proposal_id\", \"status\", \"result_hash\", \"completed_at\") VALUES (?1, ?2, ?3, ?4, ?5, {completed})"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(|e| classify(&e))?;
    match stmt.execute(rusqlite::params![
        r.idempotency_key,
        r.job_id,
        r.proposal_id,
        r.status,
        r.result_hash
    ]) {
        Ok(_) => Ok(()),
        Err(e) => {
            let e = classify(&e);
            if e.code.as_deref().is_some_and(|c| UNIQUE_CODES.contains(&c)) {
                Err(duplicate_receipt(e))
            } else {
                Err(e)
            }
        }
    }
}

#[async_trait::async_trait]
impl WriteTx for SqliteTx {
    async fn lock_rows(&mut self, q: &ScopedSelect) -> Result<Vec<Row>, DbError> {
        self.select(q).await
    }

    async fn find_receipt(
        &mut self,
        idempotency_key: &str,
    ) -> Result<Option<StoredReceiptRow>, DbError> {
        let q = receipt_select(idempotency_key);
        self.call(move |conn| {
            select_blocking(conn, &q, SelectTail::Nothing)?
                .first()
                .map(stored_receipt)
                .transpose()
        })
        .await
    }

    async fn update_row(&mut self, u: &RowUpdate) -> Result<u64, DbError> {
        let u = u.clone();
        self.call(move |conn| update_blocking(conn, &u)).await
    }

    async fn insert_receipt(&mut self, r: &ReceiptRow) -> Result<(), DbError> {
        let r = r.clone();
        self.call(move |conn| insert_blocking(conn, &r)).await
    }

    async fn commit(mut self: Box<Self>) -> Result<(), DbError> {
        if self.failed {
            let _ = self.finish("ROLLBACK").await;
            return Err(rolled_back_instead());
        }
        self.finish("COMMIT").await
    }

    async fn rollback(mut self: Box<Self>) -> Result<(), DbError> {
        self.finish("ROLLBACK").await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affinity_rules() {
        use Affinity::*;
        for (decl, a) in [
            ("INTEGER", Integer),
            ("bigint", Integer),
            ("VARCHAR(20)", Text),
            ("TEXT", Text),
            ("", Blob),
            ("BLOB", Blob),
            ("REAL", Real),
            ("double precision", Real),
            ("NUMERIC", Numeric),
            ("DATETIME", Numeric),
        ] {
            assert_eq!(Affinity::of_declared(decl), a, "{decl}");
        }
    }

    #[test]
    fn set_values_follow_affinity() {
        let int = Some(Affinity::Integer);
        assert_eq!(
            bind_for(&Param::Text(" 7 ".into()), int).unwrap(),
            Value::Integer(7)
        );
        assert_eq!(
            bind_for(&Param::Float(2.0), int).unwrap(),
            Value::Integer(2)
        );
        for bad in [
            Param::Text("abc".into()),
            Param::Float(1.5),
            Param::Text("2x".into()),
        ] {
            assert_eq!(
                bind_for(&bad, int).unwrap_err().kind,
                DbErrorKind::InvalidValue
            );
        }
        assert_eq!(
            bind_for(&Param::Text("1.5".into()), Some(Affinity::Real)).unwrap(),
            Value::Real(1.5)
        );
        assert_eq!(
            bind_for(&Param::Text("x".into()), Some(Affinity::Real))
                .unwrap_err()
                .kind,
            DbErrorKind::InvalidValue
        );
        assert_eq!(
            bind_for(&Param::Text("abc".into()), Some(Affinity::Text)).unwrap(),
            Value::Text("abc".into())
        );
        assert_eq!(bind_for(&Param::Null, int).unwrap(), Value::Null);
        assert_eq!(
            bind_for(&Param::Text("abc".into()), None).unwrap(),
            Value::Text("abc".into())
        );
    }
}
