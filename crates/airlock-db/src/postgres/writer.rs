//! Postgres write transactions (rules in [`crate::writer`] and the `postgres` module docs).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Object, Pool};
use tokio_postgres::types::{Kind, ToSql, Type};

use super::engine::{Shapes, build_pool, exact_match, pooled_client, render_base, select_rows};
use super::error::classify;
use super::types::{Bind, base_type, bind, is_text_like};
use crate::common::{
    self, AdvanceSql, Scrubber, SelectTail, cannot_advance, increment_expr, next_text_timestamp,
    precision_unit_micros, render_update, text_values, validate_update, version_select,
};
use crate::exact::{ExactMatch, guard_columns};
use crate::writer::{
    Limits, RECEIPTS_TABLE, duplicate_receipt, receipt_select, rolled_back_instead, stored_receipt,
    unusable,
};
use crate::{
    DbError, DbErrorKind, EngineKind, Ident, ReceiptRow, Row, RowUpdate, ScopedSelect,
    SourceSettings, StoredReceiptRow, TxOptions, VersionAdvance, WriteTx, Writer, receipts_ddl,
};

fn quote(i: &Ident) -> String {
    common::quote_with(i, '"')
}

/// The statement that opens a transaction with its limits (milliseconds, at least 1: zero
/// would mean "no limit" to Postgres).
pub(crate) fn begin_sql(limits: Limits) -> String {
    let ms = |d: Duration| d.as_millis().clamp(1, i32::MAX as u128);
    format!(
        "BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE; SET LOCAL lock_timeout = {}; SET LOCAL statement_timeout = {}",
        ms(limits.lock),
        ms(limits.statement)
    )
}

pub(crate) struct PostgresWriter {
    pool: Pool,
    scrub: Arc<Scrubber>,
    shapes: Arc<Shapes>,
    statement_timeout: Option<Duration>,
    redacted_url: String,
    max_connections: usize,
}

impl fmt::Debug for PostgresWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresWriter")
            .field("url", &self.redacted_url)
            .field("max_connections", &self.max_connections)
            .finish_non_exhaustive()
    }
}

impl PostgresWriter {
    /// Validates the URL and builds the pool. Does not dial.
    pub(crate) async fn connect(settings: &SourceSettings) -> Result<Self, DbError> {
        let (pool, scrub) = build_pool(settings, false)?;
        Ok(PostgresWriter {
            pool,
            scrub: Arc::new(scrub),
            shapes: Arc::new(Shapes::default()),
            statement_timeout: settings.statement_timeout_ms.map(Duration::from_millis),
            redacted_url: settings.url.redacted(),
            max_connections: settings.max_connections.max(1),
        })
    }

    async fn receipts_table_exists(&self, client: &Object) -> Result<bool, DbError> {
        let row = client
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&RECEIPTS_TABLE])
            .await
            .map_err(|e| self.scrub.error(classify(&e)))?;
        Ok(row.get(0))
    }
}

#[async_trait::async_trait]
impl Writer for PostgresWriter {
    fn kind(&self) -> EngineKind {
        EngineKind::Postgres
    }

    async fn begin_with(&self, opts: &TxOptions) -> Result<Box<dyn WriteTx>, DbError> {
        let limits = Limits::resolve(opts, self.statement_timeout);
        let client = pooled_client(&self.pool, &self.scrub).await?;
        let tx = PgTx {
            client: Some(client),
            failed: false,
            shapes: self.shapes.clone(),
            scrub: self.scrub.clone(),
        };
        // On failure `tx` is dropped, which rolls back whatever part of the batch ran.
        tx.live()?
            .batch_execute(&begin_sql(limits))
            .await
            .map_err(|e| tx.err(&e))?;
        Ok(Box::new(tx))
    }

    async fn ensure_receipts_table(&self) -> Result<(), DbError> {
        let client = pooled_client(&self.pool, &self.scrub).await?;
        if self.receipts_table_exists(&client).await? {
            return Ok(());
        }
        match client
            .batch_execute(&receipts_ddl(EngineKind::Postgres))
            .await
        {
            Ok(()) => Ok(()),
            // A concurrent creator can win the race (unique violation on the catalog).
            Err(e) if self.receipts_table_exists(&client).await.unwrap_or(false) => {
                tracing::debug!(error = %e, "receipts table created concurrently");
                Ok(())
            }
            Err(e) => Err(self.scrub.error(classify(&e))),
        }
    }
}

/// An open Postgres transaction on a pooled connection. Dropping it rolls back (see
/// [`release_after_rollback`]).
pub(crate) struct PgTx {
    /// `None` once committed or rolled back.
    client: Option<Object>,
    failed: bool,
    shapes: Arc<Shapes>,
    scrub: Arc<Scrubber>,
}

impl fmt::Debug for PgTx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgTx")
            .field("open", &self.client.is_some())
            .field("failed", &self.failed)
            .finish()
    }
}

impl Drop for PgTx {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            release_after_rollback(client);
        }
    }
}

/// Rolls back on a spawned task and only then returns the connection to the pool. If that is
/// impossible (no runtime, rollback failed, task dropped at shutdown) the connection is
/// detached from the pool and closed, and the server rolls back.
fn release_after_rollback(client: Object) {
    struct DetachUnlessClean(Option<Object>);
    impl Drop for DetachUnlessClean {
        fn drop(&mut self) {
            if let Some(c) = self.0.take() {
                drop(Object::take(c));
            }
        }
    }
    let mut guard = DetachUnlessClean(Some(client));
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        handle.spawn(async move {
            let clean = match guard.0.as_ref() {
                Some(c) => c.batch_execute("ROLLBACK").await.is_ok(),
                None => false,
            };
            if clean {
                // Back to the pool, outside any transaction.
                drop(guard.0.take());
            }
        });
    }
}

impl PgTx {
    /// The connection, unless the transaction has failed or ended.
    fn live(&self) -> Result<&Object, DbError> {
        if self.failed {
            return Err(unusable());
        }
        self.client.as_ref().ok_or_else(unusable)
    }

    fn err(&self, e: &tokio_postgres::Error) -> DbError {
        // On an open transaction's session, a broken connection is a lost one: the server
        // rolled the transaction back, nothing was applied.
        self.scrub.error(classify(e)).lost_if_connection()
    }

    /// Records a failure: the transaction is unusable from now on.
    fn check<T>(&mut self, r: Result<T, DbError>) -> Result<T, DbError> {
        if r.is_err() {
            self.failed = true;
        }
        r.map_err(DbError::lost_if_connection)
    }

    async fn select(&self, q: &ScopedSelect, tail: SelectTail) -> Result<Vec<Row>, DbError> {
        let client = self.live()?;
        let r = select_rows(client, &self.shapes, &self.scrub, q, tail).await;
        if r.as_ref()
            .is_err_and(|e| e.code.as_deref() == Some("0A000"))
        {
            // The table changed under a cached statement: forget it so a retry works.
            client.statement_cache.clear();
            self.shapes.remove(&render_base(&guard_columns(q), tail));
        }
        r
    }

    /// How the advanced column is set; `None` when no row matches (text versions only).
    async fn advance_sql(
        &self,
        u: &RowUpdate,
        col: &Ident,
        how: VersionAdvance,
    ) -> Result<Option<AdvanceSql>, DbError> {
        let client = self.live()?;
        let mut probe = format!("SELECT {} FROM ", quote(col));
        if let Some(s) = &u.schema {
            probe.push_str(&quote(s));
            probe.push('.');
        }
        probe.push_str(&quote(&u.table));
        probe.push_str(" WHERE false");
        let stmt = client.prepare(&probe).await.map_err(|e| self.err(&e))?;
        let column = stmt
            .columns()
            .first()
            .ok_or_else(|| DbError::new(DbErrorKind::Other, "version probe returned no column"))?;
        let ty: &Type = column.type_();
        let base = base_type(ty);
        let typmod = if matches!(ty.kind(), Kind::Domain(_)) {
            let row = client
                .query_one("SELECT typtypmod FROM pg_type WHERE oid = $1", &[&ty.oid()])
                .await
                .map_err(|e| self.err(&e))?;
            row.get::<_, i32>(0)
        } else {
            column.type_modifier()
        };
        let q = quote(col);
        let micros = || {
            // timestamp(p): the typmod is p; -1 means the default precision 6.
            let p = u32::try_from(typmod).ok().filter(|p| *p <= 6).unwrap_or(6);
            precision_unit_micros(p)
        };
        Ok(Some(match (how, base) {
            (
                VersionAdvance::Increment,
                &Type::INT2 | &Type::INT4 | &Type::INT8 | &Type::NUMERIC,
            ) => AdvanceSql::Expr(increment_expr(&q)),
            (VersionAdvance::Now, &Type::TIMESTAMPTZ) => AdvanceSql::Expr(format!(
                "GREATEST(clock_timestamp(), {q} + interval '{} microseconds')",
                micros()
            )),
            (VersionAdvance::Now, &Type::TIMESTAMP) => AdvanceSql::Expr(format!(
                "GREATEST(clock_timestamp() AT TIME ZONE 'UTC', {q} + interval '{} microseconds')",
                micros()
            )),
            (VersionAdvance::Now, t) if is_text_like(t) => {
                let rows = self
                    .select(&version_select(u, col), SelectTail::ForUpdate)
                    .await?;
                if rows.is_empty() {
                    return Ok(None);
                }
                let current = text_values(&rows, col)?;
                AdvanceSql::Param(crate::Param::Text(next_text_timestamp(
                    col,
                    &current,
                    chrono::Utc::now(),
                )?))
            }
            _ => return Err(cannot_advance(col, how, base.name())),
        }))
    }

    async fn update(&self, u: &RowUpdate) -> Result<u64, DbError> {
        validate_update(u)?;
        let advance = match &u.advance {
            None => None,
            Some((col, how)) => match self.advance_sql(u, col, *how).await? {
                Some(a) => Some(a),
                None => return Ok(0),
            },
        };
        let client = self.live()?;
        let render = |exact: &ExactMatch| {
            render_update(u, quote, |n| format!("${n}"), advance.as_ref(), exact)
        };
        // Not cached: the parameter types must be those of the table as it is now. The plain
        // statement tells the key and tenant types; text ones get exact predicates.
        let mut r = render(&ExactMatch::plain(EngineKind::Postgres));
        let mut stmt = client.prepare(&r.sql).await.map_err(|e| self.err(&e))?;
        // Plain placeholders: the SET values, a computed advance, then the key and the tenant.
        let key_at = u.set.len() + usize::from(matches!(advance, Some(AdvanceSql::Param(_))));
        let exact = exact_match(
            stmt.params().get(key_at),
            u.tenant
                .as_ref()
                .and_then(|_| stmt.params().get(key_at + 1)),
        );
        if exact.any() {
            r = render(&exact);
            stmt = client.prepare(&r.sql).await.map_err(|e| self.err(&e))?;
        }
        if stmt.params().len() != r.params.len() {
            return Err(DbError::new(
                DbErrorKind::Other,
                "statement parameter count mismatch",
            ));
        }
        let binds: Vec<Bind> = r
            .params
            .iter()
            .zip(stmt.params())
            .map(|((_, p), ty)| bind(p, ty))
            .collect::<Result<_, _>>()?;
        let refs: Vec<&(dyn ToSql + Sync)> =
            binds.iter().map(|b| b as &(dyn ToSql + Sync)).collect();
        client.execute(&stmt, &refs).await.map_err(|e| self.err(&e))
    }

    async fn insert(&self, r: &ReceiptRow) -> Result<(), DbError> {
        let client = self.live()?;
        let completed = if r.completed {
            "CURRENT_TIMESTAMP"
        } else {
            "NULL"
        };
        let sql = format!(
            "INSERT INTO \"{RECEIPTS_TABLE}\" (\"idempotency_key\", \"job_id\", \"proposal_id\", \"status\", \"result_hash\", \"completed_at\") VALUES ($1, $2, $3, $4, $5, {completed})"
        );
        let stmt = client
            .prepare_cached(&sql)
            .await
            .map_err(|e| self.err(&e))?;
        let params: [&(dyn ToSql + Sync); 5] = [
            &r.idempotency_key,
            &r.job_id,
            &r.proposal_id,
            &r.status,
            &r.result_hash,
        ];
        match client.execute(&stmt, &params).await {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = self.err(&e);
                if e.code.as_deref() == Some("23505") {
                    Err(duplicate_receipt(e))
                } else {
                    Err(e)
                }
            }
        }
    }

    /// Runs `COMMIT` or `ROLLBACK`. The connection stays in `self` while the statement runs,
    /// so a cancelled call still ends in [`Drop`]'s rollback.
    async fn finish(&mut self, sql: &str) -> Result<(), DbError> {
        let client = self.client.as_ref().ok_or_else(unusable)?;
        let r = client.batch_execute(sql).await;
        match r {
            Ok(()) => {
                // Outside any transaction now: back to the pool.
                drop(self.client.take());
                Ok(())
            }
            // Left in `self`: dropping it rolls back (harmless if the server already did).
            Err(e) => Err(self.err(&e)),
        }
    }
}

#[async_trait::async_trait]
impl WriteTx for PgTx {
    async fn lock_rows(&mut self, q: &ScopedSelect) -> Result<Vec<Row>, DbError> {
        let r = self.select(q, SelectTail::ForUpdate).await;
        self.check(r)
    }

    async fn find_receipt(
        &mut self,
        idempotency_key: &str,
    ) -> Result<Option<StoredReceiptRow>, DbError> {
        // A plain read (see `crate::writer`): row locks would need UPDATE on the receipts table.
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
    fn begin_statement() {
        assert_eq!(
            begin_sql(Limits {
                lock: Duration::from_millis(250),
                statement: Duration::from_secs(3),
            }),
            "BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE; SET LOCAL lock_timeout = 250; SET LOCAL statement_timeout = 3000"
        );
        // Zero would disable the limit.
        assert!(
            begin_sql(Limits {
                lock: Duration::ZERO,
                statement: Duration::ZERO,
            })
            .ends_with("lock_timeout = 1; SET LOCAL statement_timeout = 1")
        );
    }
}
