//! MySQL/MariaDB write transactions (rules in [`crate::writer`] and the `mysql` module docs).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use mysql_async::consts::ColumnType;
use mysql_async::prelude::Queryable;
use mysql_async::{IsolationLevel, Params, Pool, Transaction, TxOpts, Value};

use super::engine::{
    Flavor, column_probe, exact_match, key_columns, key_probe, probe_columns, select_rows,
};
use super::error::classify;
use super::pool::{LazyPool, WAIT_TIMEOUT};
use super::types::{KeyKind, bind};
use crate::common::{
    self, AdvanceSql, Scrubber, SelectTail, cannot_advance, increment_expr, next_text_timestamp,
    precision_unit_micros, render_update, text_values, validate_update, version_select,
};
use crate::writer::{
    Limits, RECEIPTS_TABLE, duplicate_receipt, receipt_select, rolled_back_instead, stored_receipt,
    unusable,
};
use crate::{
    DbError, DbErrorKind, EngineKind, Ident, Param, ReceiptRow, Row, RowUpdate, ScopedSelect,
    SourceSettings, StoredReceiptRow, TxOptions, VersionAdvance, WriteTx, Writer, receipts_ddl,
};

fn quote(i: &Ident) -> String {
    common::quote_with(i, '`')
}

/// Statements run on every new writer connection: UTC session time zone (so `TIMESTAMP`
/// values read as the read path reads them) and strict mode for every table (a value that does
/// not fit is an error, never silently truncated or zeroed).
pub(crate) fn writer_setup_statements() -> Vec<String> {
    vec![
        "SET SESSION time_zone = '+00:00', SESSION sql_mode = CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), 'STRICT_ALL_TABLES')"
            .to_owned(),
    ]
}

/// The per-transaction limits. `innodb_lock_wait_timeout` and `lock_wait_timeout` take whole
/// seconds: rounded up, at least 1.
pub(crate) fn limits_statement(flavor: Flavor, limits: Limits) -> String {
    let lock_secs = limits.lock.as_millis().div_ceil(1000).max(1);
    let ms = limits.statement.as_millis().max(1);
    let statement = match flavor {
        Flavor::MariaDb => format!(
            "SESSION max_statement_time = {}.{:03}",
            ms / 1000,
            ms % 1000
        ),
        Flavor::Mysql => format!("SESSION max_execution_time = {ms}"),
    };
    format!(
        "SET SESSION innodb_lock_wait_timeout = {lock_secs}, SESSION lock_wait_timeout = {lock_secs}, {statement}"
    )
}

pub(crate) struct MysqlWriter {
    pool: LazyPool,
    scrub: Arc<Scrubber>,
    statement_timeout: Option<Duration>,
}

impl fmt::Debug for MysqlWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MysqlWriter")
            .field("url", &self.pool.redacted_url())
            .field("flavor", &self.pool.flavor())
            .field("max_connections", &self.pool.max_connections())
            .finish_non_exhaustive()
    }
}

impl MysqlWriter {
    /// Validates the URL. Does not dial.
    pub(crate) async fn connect(settings: &SourceSettings) -> Result<Self, DbError> {
        let (pool, scrub) = LazyPool::new(settings)?;
        Ok(MysqlWriter {
            pool,
            scrub: Arc::new(scrub),
            statement_timeout: settings.statement_timeout_ms.map(Duration::from_millis),
        })
    }

    async fn pool(&self) -> Result<&(Pool, Flavor), DbError> {
        // CLIENT_FOUND_ROWS: an UPDATE reports the rows it matched, not only those whose
        // values changed, so "0 rows" always means "no row matched the guards".
        self.pool
            .get(&self.scrub, |_, opts| {
                opts.client_found_rows(true)
                    .setup(writer_setup_statements())
            })
            .await
    }

    fn err(&self, e: &mysql_async::Error) -> DbError {
        // On an open transaction's session, a broken connection is a lost one: the server
        // rolled the transaction back, nothing was applied.
        self.scrub.error(classify(e)).lost_if_connection()
    }
}

#[async_trait::async_trait]
impl Writer for MysqlWriter {
    fn kind(&self) -> EngineKind {
        EngineKind::Mysql
    }

    async fn begin_with(&self, opts: &TxOptions) -> Result<Box<dyn WriteTx>, DbError> {
        let limits = Limits::resolve(opts, self.statement_timeout);
        let (pool, flavor) = self.pool().await?;
        let mut tx_opts = TxOpts::default();
        tx_opts.with_isolation_level(IsolationLevel::ReadCommitted);
        let tx = tokio::time::timeout(WAIT_TIMEOUT, pool.start_transaction(tx_opts))
            .await
            .map_err(|_| {
                DbError::new(
                    DbErrorKind::Connection,
                    "timed out waiting for a pooled connection",
                )
            })?
            .map_err(|e| self.err(&e))?;
        let mut tx = MyTx {
            tx: Some(tx),
            failed: false,
            scrub: self.scrub.clone(),
        };
        // On failure `tx` is dropped, which rolls back.
        let set = limits_statement(*flavor, limits);
        tx.live()?.query_drop(set).await.map_err(|e| self.err(&e))?;
        Ok(Box::new(tx))
    }

    async fn ensure_receipts_table(&self) -> Result<(), DbError> {
        let (pool, _) = self.pool().await?;
        let mut conn = tokio::time::timeout(WAIT_TIMEOUT, pool.get_conn())
            .await
            .map_err(|_| {
                DbError::new(
                    DbErrorKind::Connection,
                    "timed out waiting for a pooled connection",
                )
            })?
            .map_err(|e| self.err(&e))?;
        let n: Option<i64> = conn
            .exec_first(
                "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
                (RECEIPTS_TABLE,),
            )
            .await
            .map_err(|e| self.err(&e))?;
        if n.unwrap_or(0) > 0 {
            return Ok(());
        }
        conn.query_drop(receipts_ddl(EngineKind::Mysql))
            .await
            .map_err(|e| self.err(&e))
    }
}

/// An open MySQL transaction. Dropping it rolls back: mysql_async marks a dropped
/// `Transaction` as needing a rollback and its pool rolls back before reusing the connection.
pub(crate) struct MyTx {
    /// `None` once committed or rolled back.
    tx: Option<Transaction<'static>>,
    failed: bool,
    scrub: Arc<Scrubber>,
}

impl fmt::Debug for MyTx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MyTx")
            .field("open", &self.tx.is_some())
            .field("failed", &self.failed)
            .finish()
    }
}

impl MyTx {
    fn live(&mut self) -> Result<&mut Transaction<'static>, DbError> {
        if self.failed {
            return Err(unusable());
        }
        self.tx.as_mut().ok_or_else(unusable)
    }

    fn check<T>(&mut self, r: Result<T, DbError>) -> Result<T, DbError> {
        if r.is_err() {
            self.failed = true;
        }
        r.map_err(DbError::lost_if_connection)
    }

    async fn select(&mut self, q: &ScopedSelect, tail: SelectTail) -> Result<Vec<Row>, DbError> {
        let scrub = self.scrub.clone();
        let tx = self.live()?;
        let keys = key_columns(&probe_columns(tx, &scrub, &key_probe(q)).await?);
        select_rows(tx, &scrub, &keys, q, tail).await
    }

    /// How the advanced column is set; `None` when no row matches (text versions only).
    async fn advance_sql(
        &mut self,
        u: &RowUpdate,
        col: &Ident,
        how: VersionAdvance,
    ) -> Result<Option<AdvanceSql>, DbError> {
        let scrub = self.scrub.clone();
        let probe = column_probe(u.schema.as_ref(), &u.table, [col]);
        let columns = probe_columns(self.live()?, &scrub, &probe).await?;
        let column = columns
            .first()
            .ok_or_else(|| DbError::new(DbErrorKind::Other, "version probe returned no column"))?;
        let q = quote(col);
        let ty = column.column_type();
        use ColumnType::*;
        Ok(Some(match (how, KeyKind::of(column)) {
            (VersionAdvance::Increment, KeyKind::Integer { .. }) if ty != MYSQL_TYPE_YEAR => {
                AdvanceSql::Expr(increment_expr(&q))
            }
            (VersionAdvance::Increment, KeyKind::Numeric)
                if matches!(ty, MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL) =>
            {
                AdvanceSql::Expr(increment_expr(&q))
            }
            (VersionAdvance::Now, _)
                if matches!(
                    ty,
                    MYSQL_TYPE_DATETIME
                        | MYSQL_TYPE_DATETIME2
                        | MYSQL_TYPE_TIMESTAMP
                        | MYSQL_TYPE_TIMESTAMP2
                ) =>
            {
                // `decimals` is the column's fractional-seconds precision.
                let unit = precision_unit_micros(u32::from(column.decimals()));
                AdvanceSql::Expr(format!(
                    "COALESCE(GREATEST(CURRENT_TIMESTAMP(6), {q} + INTERVAL {unit} MICROSECOND), CURRENT_TIMESTAMP(6))"
                ))
            }
            (VersionAdvance::Now, KeyKind::Text) => {
                let rows = self
                    .select(&version_select(u, col), SelectTail::ForUpdate)
                    .await?;
                if rows.is_empty() {
                    return Ok(None);
                }
                let current = text_values(&rows, col)?;
                AdvanceSql::Param(Param::Text(next_text_timestamp(
                    col,
                    &current,
                    chrono::Utc::now(),
                )?))
            }
            _ => return Err(cannot_advance(col, how, &format!("{ty:?}"))),
        }))
    }

    async fn update(&mut self, u: &RowUpdate) -> Result<u64, DbError> {
        validate_update(u)?;
        let advance = match &u.advance {
            None => None,
            Some((col, how)) => match self.advance_sql(u, col, *how).await? {
                Some(a) => Some(a),
                None => return Ok(0),
            },
        };
        let scrub = self.scrub.clone();
        let tx = self.live()?;
        let key_probe = column_probe(
            u.schema.as_ref(),
            &u.table,
            std::iter::once(&u.key.0).chain(u.tenant.as_ref().map(|(c, _)| c)),
        );
        let keys = key_columns(&probe_columns(tx, &scrub, &key_probe).await?);
        let r = render_update(
            u,
            quote,
            |_| "?".to_owned(),
            advance.as_ref(),
            &exact_match(&keys),
        );
        let probe = column_probe(u.schema.as_ref(), &u.table, r.params.iter().map(|(c, _)| c));
        let kinds: Vec<KeyKind> = probe_columns(tx, &scrub, &probe)
            .await?
            .iter()
            .map(KeyKind::of)
            .collect();
        if kinds.len() != r.params.len() {
            return Err(DbError::new(
                DbErrorKind::Other,
                "statement parameter count mismatch",
            ));
        }
        let params = r
            .params
            .iter()
            .zip(kinds)
            .map(|((_, p), k)| bind(p, k))
            .collect::<Result<Vec<_>, _>>()?;
        tx.exec_drop(r.sql.as_str(), Params::Positional(params))
            .await
            .map_err(|e| scrub.error(classify(&e)))?;
        Ok(tx.affected_rows())
    }

    async fn insert(&mut self, r: &ReceiptRow) -> Result<(), DbError> {
        let scrub = self.scrub.clone();
        let tx = self.live()?;
        let completed = if r.completed {
            "CURRENT_TIMESTAMP"
        } else {
            "NULL"
        };
        let sql = format!(
            "INSERT INTO `{RECEIPTS_TABLE}` (`idempotency_key`, `job_id`, `proposal_id`, `status`, `result_hash`, `completed_at`) VALUES (?, ?, ?, ?, ?, {completed})"
        );
        let text = |s: &str| Value::Bytes(s.as_bytes().to_vec());
        let params = vec![
            text(&r.idempotency_key),
            text(&r.job_id),
            text(&r.proposal_id),
            text(&r.status),
            r.result_hash.as_deref().map_or(Value::NULL, text),
        ];
        match tx.exec_drop(sql.as_str(), Params::Positional(params)).await {
            Ok(()) => Ok(()),
            Err(e) => {
                let e = scrub.error(classify(&e));
                if e.code.as_deref() == Some("1062") {
                    Err(duplicate_receipt(e))
                } else {
                    Err(e)
                }
            }
        }
    }
}

#[async_trait::async_trait]
impl WriteTx for MyTx {
    async fn lock_rows(&mut self, q: &ScopedSelect) -> Result<Vec<Row>, DbError> {
        let r = self.select(q, SelectTail::ForUpdate).await;
        self.check(r)
    }

    async fn find_receipt(
        &mut self,
        idempotency_key: &str,
    ) -> Result<Option<StoredReceiptRow>, DbError> {
        // A consistent read (see `crate::writer`): READ COMMITTED gives it a fresh snapshot.
        let r = self
            .select(&receipt_select(idempotency_key), SelectTail::Nothing)
            .await;
        let r = r.and_then(|rows| rows.first().map(stored_receipt).transpose());
        self.check(r)
    }

    async fn update_row(&mut self, u: &RowUpdate) -> Result<u64, DbError> {
        let r = self.update(u).await;
        self.check(r)
    }

    async fn insert_receipt(&mut self, r: &ReceiptRow) -> Result<(), DbError> {
        let res = self.insert(r).await;
        self.check(res)
    }

    async fn commit(mut self: Box<Self>) -> Result<(), DbError> {
        let tx = self.tx.take().ok_or_else(unusable)?;
        if self.failed {
            let _ = tx.rollback().await;
            return Err(rolled_back_instead());
        }
        // On error mysql_async rolls back before returning it.
        tx.commit()
            .await
            .map_err(|e| self.scrub.error(classify(&e)))
    }

    async fn rollback(mut self: Box<Self>) -> Result<(), DbError> {
        let tx = self.tx.take().ok_or_else(unusable)?;
        tx.rollback()
            .await
            .map_err(|e| self.scrub.error(classify(&e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_flavor() {
        let limits = Limits {
            lock: Duration::from_millis(1200),
            statement: Duration::from_millis(2500),
        };
        assert_eq!(
            limits_statement(Flavor::MariaDb, limits),
            "SET SESSION innodb_lock_wait_timeout = 2, SESSION lock_wait_timeout = 2, SESSION max_statement_time = 2.500"
        );
        assert_eq!(
            limits_statement(
                Flavor::Mysql,
                Limits {
                    lock: Duration::from_millis(10),
                    statement: Duration::ZERO,
                }
            ),
            "SET SESSION innodb_lock_wait_timeout = 1, SESSION lock_wait_timeout = 1, SESSION max_execution_time = 1"
        );
    }
}
