//! Postgres write transactions (rules in [`crate::writer`] and the `postgres` module docs).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Object, Pool};
use tokio_postgres::types::{Kind, ToSql, Type};

use super::engine::{
    Shapes, build_pool, exact_match, pooled_client, prepare_select, render_base, select_rows,
};
use super::error::classify;
use super::types::{Bind, base_type, bind, is_text_like};
use crate::common::{
    self, AdvanceSql, Scrubber, SelectTail, cannot_advance, increment_expr, next_text_timestamp,
    precision_unit_micros, render_update, text_values, validate_update, version_select,
};
use crate::exact::{Exact, ExactMatch, guard_columns};
use crate::writer::{
    Limits, Locked, RECEIPTS_TABLE, duplicate_receipt, receipt_select, rolled_back_instead,
    stored_receipt, unusable,
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
    updates: Arc<UpdateShapes>,
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
            updates: Arc::new(UpdateShapes::default()),
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

    /// Takes a pooled connection; the `BEGIN` waits to travel with the first statement.
    async fn begin_with(&self, opts: &TxOptions) -> Result<Box<dyn WriteTx>, DbError> {
        let limits = Limits::resolve(opts, self.statement_timeout);
        let client = pooled_client(&self.pool, &self.scrub).await?;
        Ok(Box::new(PgTx {
            client: Some(client),
            begin: Some(begin_sql(limits)),
            pool: self.pool.clone(),
            failed: false,
            shapes: self.shapes.clone(),
            updates: self.updates.clone(),
            scrub: self.scrub.clone(),
        }))
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

/// The predicates each update shape needs, learned from the key and tenant types when the
/// shape first ran, by its plain SQL. Every update is still prepared fresh and checked against
/// what it was prepared with (see `PgTx::update`): this saves the second prepare, never the
/// types' check.
type UpdateShapes = Shapes<ExactMatch>;

/// An open Postgres transaction on a pooled connection. Dropping it rolls back (see
/// [`release_after_rollback`]).
pub(crate) struct PgTx {
    /// `None` once committed or rolled back.
    client: Option<Object>,
    /// The `BEGIN` batch, until it has been sent with the transaction's first statement.
    begin: Option<String>,
    /// For one fresh connection when the pooled one proves closed before anything ran.
    pool: Pool,
    failed: bool,
    shapes: Arc<Shapes>,
    updates: Arc<UpdateShapes>,
    scrub: Arc<Scrubber>,
}

impl fmt::Debug for PgTx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgTx")
            .field("open", &self.client.is_some())
            .field("begun", &self.begin.is_none())
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

    /// After an error before the transaction began: a pooled connection the server closed
    /// while it sat idle fails its `BEGIN` (or a prepare ahead of it) as lost, before anything
    /// ran, so it is replaced with a fresh one (once; `Ok(true)`) and the round trip may run
    /// again, `BEGIN` included. A connection lost later (a statement killed while it waited
    /// for a lock) is not retried: that is the caller's failure to report.
    async fn replaced_closed(&mut self, before_begin: bool, e: &DbError) -> Result<bool, DbError> {
        if !before_begin || !e.is_connection_lost() {
            return Ok(false);
        }
        if let Some(dead) = self.client.take() {
            // Closed by the server: detach it instead of rolling back on it.
            drop(Object::take(dead));
        }
        self.client = Some(pooled_client(&self.pool, &self.scrub).await?);
        Ok(true)
    }

    /// Sends the pending `BEGIN` on its own, for a transaction whose first step is not
    /// [`WriteTx::lock_for_apply`].
    async fn ensure_begun(&mut self) -> Result<(), DbError> {
        let Some(begin) = self.begin.clone() else {
            return Ok(());
        };
        let send = async |tx: &PgTx| match tx.live() {
            Ok(client) => client.batch_execute(&begin).await.map_err(|e| tx.err(&e)),
            Err(e) => Err(e),
        };
        let mut r = send(self).await;
        if let Err(e) = &r
            && self.replaced_closed(true, e).await?
        {
            r = send(self).await;
        }
        if r.is_ok() {
            self.begin = None;
        }
        r
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
        if let Err(e) = &r {
            self.forget_if_changed(e, q, tail);
        }
        r
    }

    /// After a select failed because the table changed under a cached statement (SQLSTATE
    /// 0A000): forgets the statement and its shape, so a retry prepares them again.
    fn forget_if_changed(&self, e: &DbError, q: &ScopedSelect, tail: SelectTail) {
        if e.code.as_deref() != Some("0A000") {
            return;
        }
        if let Some(client) = &self.client {
            client.statement_cache.clear();
        }
        self.shapes.remove(&render_base(&guard_columns(q), tail));
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
        // Prepared fresh, not cached: the parameter types must be those of the table as it is
        // now. The key and tenant types choose the predicates (text ones get exact ones); the
        // choice this shape needed last time is tried first and checked against the types the
        // statement was prepared with, so the plain statement is prepared only when it changed.
        let plain = ExactMatch::plain(EngineKind::Postgres);
        let plain_sql = render(&plain).sql;
        let guess = self.updates.get(&plain_sql).unwrap_or(plain);
        // Placeholders: the SET values, a computed advance, then the key (twice when exact)
        // and the tenant (likewise).
        let key_at = u.set.len() + usize::from(matches!(advance, Some(AdvanceSql::Param(_))));
        let tenant_at = key_at + 1 + usize::from(guess.key != Exact::No);
        let r = render(&guess);
        let stmt = client.prepare(&r.sql).await.map_err(|e| self.err(&e))?;
        let exact = exact_match(
            stmt.params().get(key_at),
            u.tenant.as_ref().and_then(|_| stmt.params().get(tenant_at)),
        );
        let (r, stmt) = if exact == guess {
            (r, stmt)
        } else {
            // A first run, or the table changed: learn the shape's predicates again.
            self.updates.insert(plain_sql, exact);
            let r = render(&exact);
            let stmt = client.prepare(&r.sql).await.map_err(|e| self.err(&e))?;
            (r, stmt)
        };
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

    /// The row lock and the receipt look-up, prepared first (usually from the connection's
    /// statement cache) and then sent together, after the `BEGIN` when it is still pending:
    /// each is queued whole when first polled, in that order, so the server runs the look-up
    /// only once the lock is granted, in a snapshot of its own (READ COMMITTED), and sees a
    /// receipt committed by whoever held the lock before.
    ///
    /// An error comes with whether it struck before the transaction began (a prepare, or the
    /// `BEGIN` itself, failed).
    async fn lock_then_find(
        &self,
        q: &ScopedSelect,
        receipt: &ScopedSelect,
    ) -> Result<Locked, (DbError, bool)> {
        let begin = self.begin.as_deref();
        let before = |e: DbError| (e.lost_if_connection(), begin.is_some());
        let client = self.live().map_err(before)?;
        let lock = prepare_select(client, &self.shapes, &self.scrub, q, SelectTail::ForUpdate)
            .await
            .map_err(before)?;
        let find = prepare_select(
            client,
            &self.shapes,
            &self.scrub,
            receipt,
            SelectTail::Nothing,
        )
        .await
        .map_err(before)?;
        let (begun, rows, found) = futures_util::future::join3(
            async {
                match begin {
                    Some(sql) => client.batch_execute(sql).await.map_err(|e| self.err(&e)),
                    None => Ok(()),
                }
            },
            lock.run(client, &self.scrub),
            find.run(client, &self.scrub),
        )
        .await;
        begun.map_err(before)?;
        let after = |e: DbError| (e.lost_if_connection(), false);
        let rows = rows.map_err(after)?;
        let receipt = found
            .map_err(after)?
            .first()
            .map(stored_receipt)
            .transpose()
            .map_err(after)?;
        Ok(Locked { rows, receipt })
    }
}

#[async_trait::async_trait]
impl WriteTx for PgTx {
    async fn lock_rows(&mut self, q: &ScopedSelect) -> Result<Vec<Row>, DbError> {
        let r = async {
            self.ensure_begun().await?;
            self.select(q, SelectTail::ForUpdate).await
        }
        .await;
        self.check(r)
    }

    async fn find_receipt(
        &mut self,
        idempotency_key: &str,
    ) -> Result<Option<StoredReceiptRow>, DbError> {
        // A plain read (see `crate::writer`): row locks would need UPDATE on the receipts table.
        let r = async {
            self.ensure_begun().await?;
            let rows = self
                .select(&receipt_select(idempotency_key), SelectTail::Nothing)
                .await?;
            rows.first().map(stored_receipt).transpose()
        }
        .await;
        self.check(r)
    }

    async fn lock_for_apply(
        &mut self,
        q: &ScopedSelect,
        idempotency_key: &str,
    ) -> Result<Locked, DbError> {
        let receipt = receipt_select(idempotency_key);
        let mut r = self.lock_then_find(q, &receipt).await;
        if let Err((e, before_begin)) = &r {
            match self.replaced_closed(*before_begin, e).await {
                Ok(true) => r = self.lock_then_find(q, &receipt).await,
                Ok(false) => {}
                Err(e) => r = Err((e, false)),
            }
        }
        let r = r.map_err(|(e, _)| e);
        match &r {
            Ok(_) => self.begin = None,
            Err(e) => self.forget_if_changed(e, q, SelectTail::ForUpdate),
        }
        self.check(r)
    }

    async fn update_row(&mut self, u: &RowUpdate) -> Result<u64, DbError> {
        let r = async {
            self.ensure_begun().await?;
            self.update(u).await
        }
        .await;
        self.check(r)
    }

    async fn insert_receipt(&mut self, r: &ReceiptRow) -> Result<(), DbError> {
        let res = async {
            self.ensure_begun().await?;
            self.insert(r).await
        }
        .await;
        self.check(res)
    }

    async fn commit(mut self: Box<Self>) -> Result<(), DbError> {
        if self.failed {
            let _ = self.finish("ROLLBACK").await;
            return Err(rolled_back_instead());
        }
        if self.begin.is_some() {
            // Nothing was sent: there is no transaction to commit.
            drop(self.client.take());
            return Ok(());
        }
        self.finish("COMMIT").await
    }

    async fn rollback(mut self: Box<Self>) -> Result<(), DbError> {
        if self.begin.is_some() {
            drop(self.client.take());
            return Ok(());
        }
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
