//! The pooled Postgres engine.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool_postgres::{Hook, HookError, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;
use tokio_postgres::config::SslMode;
use tokio_postgres::types::ToSql;

use super::error::{classify, classify_pool};
use super::types::{Bind, RawCell, base_type, bind, decode, is_native, is_text_like};
use crate::common::{self, ColumnRender, Scrubber, SelectTail};
use crate::exact::{Exact, ExactMatch, guard_columns, keep_exact, select_params};
use crate::inspect::SchemaReport;
use crate::{
    DbError, DbErrorKind, Engine, EngineKind, Ident, Row, ScopedSelect, SourceSettings, Transport,
};

/// How long a caller waits for a free pooled connection before giving up.
const WAIT_TIMEOUT: Duration = Duration::from_secs(30);

/// Base SQL of a statement shape → what its first run learned: for selects the SQL that
/// actually runs (with `::text` casts for columns that have no native mapping and exact key and
/// tenant predicates for text columns) and its predicates; for a write transaction's updates
/// the predicates alone. Filled on first use of each shape.
pub(crate) struct Shapes<V = (Arc<str>, ExactMatch)>(Mutex<HashMap<String, V>>);

impl<V> Default for Shapes<V> {
    fn default() -> Self {
        Shapes(Mutex::new(HashMap::new()))
    }
}

impl<V: Clone> Shapes<V> {
    pub(crate) fn get(&self, base: &str) -> Option<V> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(base)
            .cloned()
    }

    pub(crate) fn insert(&self, base: String, learned: V) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(base, learned);
    }

    pub(crate) fn remove(&self, base: &str) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(base);
    }
}

pub(crate) struct PostgresEngine {
    pool: Pool,
    scrub: Scrubber,
    shapes: Shapes,
    redacted_url: String,
    max_connections: usize,
    /// The URL's `sslmode`, for [`Engine::transport`].
    tls_mode: super::tls::TlsMode,
}

impl fmt::Debug for PostgresEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresEngine")
            .field("url", &self.redacted_url)
            .field("max_connections", &self.max_connections)
            .finish_non_exhaustive()
    }
}

/// The startup `options` that make every statement of a session read-only and time-limited.
pub(crate) fn session_options(existing: Option<&str>, statement_timeout_ms: Option<u64>) -> String {
    let mut opts = existing.unwrap_or("").trim().to_owned();
    if !opts.is_empty() {
        opts.push(' ');
    }
    opts.push_str("-c default_transaction_read_only=on");
    if let Some(ms) = statement_timeout_ms {
        opts.push_str(&format!(" -c statement_timeout={ms}"));
    }
    opts
}

/// Validates the URL and builds a pool (no dialing). `read_only` adds the read-only session
/// option and the statement timeout to every connection's startup options; a writer pool
/// keeps the URL's options and sets its limits per transaction.
pub(crate) fn build_pool(
    settings: &SourceSettings,
    read_only: bool,
) -> Result<(Pool, Scrubber), DbError> {
    let url = settings.url.expose();
    let mut scrub = Scrubber::for_url(url);
    let tls = super::tls::parse(url)?;
    let mut config: tokio_postgres::Config = tls
        .url
        .parse()
        .map_err(|_| DbError::new(DbErrorKind::Connection, "malformed postgres connection URL"))?;
    if let Some(pw) = config.get_password() {
        scrub.add(&String::from_utf8_lossy(pw));
    }
    if read_only {
        let options = session_options(config.get_options(), settings.statement_timeout_ms);
        config.options(&options);
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(settings.pool.connect_timeout);
    }
    let connect_timeout = config
        .get_connect_timeout()
        .copied()
        .unwrap_or(settings.pool.connect_timeout);
    if config.get_application_name().is_none() {
        config.application_name(if read_only {
            "airlock"
        } else {
            "airlock-writer"
        });
    }
    let manager_config = || ManagerConfig {
        recycling_method: RecyclingMethod::Fast,
    };
    let manager = match tls.mode {
        super::tls::TlsMode::Off => Manager::from_config(config, NoTls, manager_config()),
        _ => {
            config.ssl_mode(SslMode::Require);
            Manager::from_config(config, super::tls::connector(&tls)?, manager_config())
        }
    };
    let idle_timeout = settings.pool.idle_timeout;
    let pool = Pool::builder(manager)
        .max_size(settings.max_connections.max(1))
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(WAIT_TIMEOUT))
        // tokio-postgres applies its connect timeout per address; this bounds the whole dial.
        .create_timeout(Some(connect_timeout + Duration::from_millis(500)))
        // A connection idle past the source's idle_timeout is dropped instead of reused: a
        // server or proxy may have closed it meanwhile.
        .pre_recycle(Hook::sync_fn(move |_, metrics| {
            if metrics.last_used() > idle_timeout {
                Err(HookError::message("idle past idle_timeout_ms"))
            } else {
                Ok(())
            }
        }))
        .recycle_timeout(Some(Duration::from_secs(5)))
        .build()
        .map_err(|e| {
            DbError::new(
                DbErrorKind::Other,
                format!("could not build the connection pool: {e}"),
            )
        })?;
    Ok((pool, scrub))
}

/// A lost connection leaves the pool for good: returned, it could pass the quick recycle
/// check before its closed socket is noticed and be handed to the retry.
pub(crate) fn discard_if_lost(client: deadpool_postgres::Object, e: DbError) -> DbError {
    if e.is_connection_lost() {
        drop(deadpool_postgres::Object::take(client));
    }
    e
}

/// Takes a connection from the pool.
pub(crate) async fn pooled_client(
    pool: &Pool,
    scrub: &Scrubber,
) -> Result<deadpool_postgres::Object, DbError> {
    pool.get().await.map_err(|e| {
        if is_connect_timeout(&e) {
            // The create timeout is the connect timeout plus a margin (see `build_pool`).
            let limit = pool.timeouts().create.unwrap_or_default();
            DbError::connect_timeout(limit.saturating_sub(Duration::from_millis(500)))
        } else {
            scrub.error(classify_pool(&e))
        }
    })
}

/// The pool's create timeout fired, or tokio-postgres's own connect timeout did.
fn is_connect_timeout(e: &deadpool_postgres::PoolError) -> bool {
    use deadpool_postgres::{PoolError, TimeoutType};
    match e {
        PoolError::Timeout(TimeoutType::Create) => true,
        PoolError::Backend(e) => {
            let mut src = std::error::Error::source(e);
            while let Some(s) = src {
                if s.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
                {
                    return true;
                }
                src = s.source();
            }
            false
        }
        _ => false,
    }
}

/// Renders a scoped select with `$n` placeholders.
pub(crate) fn render(
    q: &ScopedSelect,
    casts: Option<&[ColumnRender]>,
    tail: SelectTail,
    exact: &ExactMatch,
) -> String {
    common::render_select_with(
        q,
        |i| common::quote_with(i, '"'),
        |n| format!("${n}"),
        casts,
        tail,
        exact,
    )
}

/// The shape's SQL before its types are known: no casts, plain predicates.
pub(crate) fn render_base(q: &ScopedSelect, tail: SelectTail) -> String {
    render(
        q,
        None,
        tail,
        &ExactMatch::plain(crate::EngineKind::Postgres),
    )
}

/// How a key or tenant predicate on a column of type `ty` compares ([`crate::exact`]): text
/// types (including `citext` and domains over them), whose collation may fold case, byte for
/// byte; `char(n)` likewise without its padding; other types by value.
pub(crate) fn exact_for(ty: &tokio_postgres::types::Type) -> Exact {
    let base = base_type(ty);
    if *base == tokio_postgres::types::Type::BPCHAR {
        Exact::Padded
    } else if is_text_like(base) {
        Exact::Bytes
    } else {
        Exact::No
    }
}

/// The predicates for a statement whose key and tenant parameters have `types`.
pub(crate) fn exact_match(
    key: Option<&tokio_postgres::types::Type>,
    tenant: Option<&tokio_postgres::types::Type>,
) -> ExactMatch {
    ExactMatch {
        engine: crate::EngineKind::Postgres,
        key: key.map_or(Exact::No, exact_for),
        tenant: tenant.map_or(Exact::No, exact_for),
    }
}

/// Runs a scoped select on `client` and maps the values (the module docs' tables). Shared by
/// reads and write transactions, so both report a value identically.
pub(crate) async fn select_rows(
    client: &deadpool_postgres::ClientWrapper,
    shapes: &Shapes,
    scrub: &Scrubber,
    q: &ScopedSelect,
    tail: SelectTail,
) -> Result<Vec<Row>, DbError> {
    prepare_select(client, shapes, scrub, q, tail)
        .await?
        .run(client, scrub)
        .await
}

/// A scoped select whose statement is prepared (usually from the connection's cache) and whose
/// values are bound: [`SelectReady::run`] sends it whole in one go, so two of them run in
/// the order they are first polled (a write transaction pipelines its row lock and receipt
/// look-up that way).
pub(crate) struct SelectReady<'q> {
    /// The select as asked (its columns are what the rows keep).
    original: &'q ScopedSelect,
    /// With the guard columns the exact predicates need.
    guarded: std::borrow::Cow<'q, ScopedSelect>,
    stmt: tokio_postgres::Statement,
    exact: ExactMatch,
    binds: Vec<Bind>,
}

/// Prepares a scoped select: the shape's SQL from [`Shapes`] (learning it on first use: the
/// key and tenant types choose exact predicates, the result types choose `::text` casts) and
/// the values bound to the statement's parameter types.
pub(crate) async fn prepare_select<'q>(
    client: &deadpool_postgres::ClientWrapper,
    shapes: &Shapes,
    scrub: &Scrubber,
    original: &'q ScopedSelect,
    tail: SelectTail,
) -> Result<SelectReady<'q>, DbError> {
    let err = |e: &tokio_postgres::Error| scrub.error(classify(e));
    let guarded = guard_columns(original);
    let q = guarded.as_ref();
    let base = render_base(q, tail);
    let (stmt, exact) = match shapes.get(&base) {
        Some((sql, exact)) => (
            client.prepare_cached(&sql).await.map_err(|e| err(&e))?,
            exact,
        ),
        None => {
            let stmt = client.prepare_cached(&base).await.map_err(|e| err(&e))?;
            // The plain shape binds the key as $1 and the tenant as $2.
            let exact = exact_match(
                stmt.params().first(),
                q.tenant.as_ref().and_then(|_| stmt.params().get(1)),
            );
            let casts: Vec<ColumnRender> = stmt
                .columns()
                .iter()
                .map(|c| {
                    if is_native(c.type_()) {
                        ColumnRender::Plain
                    } else {
                        ColumnRender::CastText
                    }
                })
                .collect();
            let (sql, stmt) = if casts.iter().all(|c| *c == ColumnRender::Plain) && !exact.any() {
                (base.clone(), stmt)
            } else {
                let sql = render(q, Some(&casts), tail, &exact);
                tracing::debug!(table = %q.table, "selecting with text casts or exact key predicates");
                let stmt = client.prepare_cached(&sql).await.map_err(|e| err(&e))?;
                (sql, stmt)
            };
            shapes.insert(base, (sql.into(), exact));
            (stmt, exact)
        }
    };

    let values: Vec<&crate::Param> = select_params(q, &exact)
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    if values.len() != stmt.params().len() {
        return Err(DbError::new(
            DbErrorKind::Other,
            "statement parameter count mismatch",
        ));
    }
    let binds: Vec<Bind> = values
        .iter()
        .zip(stmt.params())
        .map(|(p, ty)| bind(p, ty))
        .collect::<Result<_, _>>()?;
    Ok(SelectReady {
        original,
        guarded,
        stmt,
        exact,
        binds,
    })
}

impl SelectReady<'_> {
    /// Sends the select (queued whole when first polled) and maps its rows.
    pub(crate) async fn run(
        &self,
        client: &deadpool_postgres::ClientWrapper,
        scrub: &Scrubber,
    ) -> Result<Vec<Row>, DbError> {
        let err = |e: &tokio_postgres::Error| scrub.error(classify(e));
        let refs: Vec<&(dyn ToSql + Sync)> = self
            .binds
            .iter()
            .map(|b| b as &(dyn ToSql + Sync))
            .collect();
        let rows = client.query(&self.stmt, &refs).await.map_err(|e| err(&e))?;
        let columns = self.stmt.columns();
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut map = Row::new();
            for (i, name) in self.guarded.columns.iter().enumerate() {
                let cell: RawCell<'_> = row.try_get(i).map_err(|e| err(&e))?;
                let ty = columns.get(i).map(|c| c.type_()).ok_or_else(|| {
                    DbError::new(
                        DbErrorKind::Other,
                        "result has fewer columns than the projection",
                    )
                })?;
                map.insert(name.as_str().to_owned(), decode(ty, cell.0)?);
            }
            out.push(map);
        }
        Ok(keep_exact(self.original, out, &self.exact))
    }
}

impl PostgresEngine {
    /// Validates the URL and builds the pool. Does not dial: the first `select` or `ping` does.
    pub(crate) async fn connect(settings: &SourceSettings) -> Result<Self, DbError> {
        let (pool, scrub) = build_pool(settings, true)?;
        let tls_mode = super::tls::parse(settings.url.expose())?.mode;
        Ok(PostgresEngine {
            tls_mode,
            pool,
            scrub,
            shapes: Shapes::default(),
            redacted_url: settings.url.redacted(),
            max_connections: settings.max_connections.max(1),
        })
    }

    #[cfg(test)]
    fn err(&self, e: &tokio_postgres::Error) -> DbError {
        self.scrub.error(classify(e))
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, DbError> {
        pooled_client(&self.pool, &self.scrub).await
    }

    async fn select_once(&self, q: &ScopedSelect) -> Result<Vec<Row>, DbError> {
        let client = self.client().await?;
        match self.run(&client, q).await {
            // "cached plan must not change result type": the table changed under a cached
            // statement. Forget this connection's statements and the shape, and try once more.
            Err(e) if e.code.as_deref() == Some("0A000") => {
                client.statement_cache.clear();
                self.shapes
                    .remove(&render_base(&guard_columns(q), SelectTail::Limit));
                self.run(&client, q).await
            }
            r => r,
        }
        .map_err(|e| discard_if_lost(client, e.lost_if_connection()))
    }

    async fn ping_once(&self) -> Result<(), DbError> {
        let client = self.client().await?;
        match client.simple_query("SELECT 1").await {
            Ok(_) => Ok(()),
            Err(e) => Err(discard_if_lost(
                client,
                self.scrub.error(classify(&e)).lost_if_connection(),
            )),
        }
    }

    async fn run(
        &self,
        client: &deadpool_postgres::Object,
        q: &ScopedSelect,
    ) -> Result<Vec<Row>, DbError> {
        select_rows(client, &self.shapes, &self.scrub, q, SelectTail::Limit).await
    }
}

#[async_trait::async_trait]
impl Engine for PostgresEngine {
    fn kind(&self) -> EngineKind {
        EngineKind::Postgres
    }

    fn pool_status(&self) -> crate::PoolStatus {
        let s = self.pool.status();
        crate::PoolStatus {
            max: s.max_size,
            open: Some(s.size),
            in_use: Some(s.size.saturating_sub(s.available)),
            waiting: Some(s.waiting),
        }
    }

    fn quote(&self, ident: &Ident) -> String {
        common::quote_with(ident, '"')
    }

    fn render_select(&self, q: &ScopedSelect) -> String {
        let base = render_base(&guard_columns(q), SelectTail::Limit);
        match self.shapes.get(&base) {
            Some((sql, _)) => sql.to_string(),
            None => base,
        }
    }

    async fn select(&self, q: &ScopedSelect) -> Result<Vec<Row>, DbError> {
        // A read is safe to repeat.
        common::retry::once_more_if_lost("a read", &self.redacted_url, || self.select_once(q)).await
    }

    async fn ping(&self) -> Result<(), DbError> {
        common::retry::once_more_if_lost("a ping", &self.redacted_url, || self.ping_once()).await
    }

    async fn inspect(&self, schema: Option<&str>) -> Result<SchemaReport, DbError> {
        let mut client = self.client().await?;
        crate::inspect::postgres::inspect(&mut client, schema, |e| self.scrub.error(classify(e)))
            .await
    }

    async fn privileges(
        &self,
        tables: &[crate::privileges::TableRef],
    ) -> Result<crate::privileges::Privileges, DbError> {
        let client = self.client().await?;
        crate::privileges::postgres::privileges(&client, tables, |e| self.scrub.error(classify(e)))
            .await
    }

    async fn transport(&self) -> Result<Transport, DbError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT ssl, version, cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .await
            .map_err(|e| self.scrub.error(classify(&e)))?;
        let (encrypted, tls_version, cipher) = match row {
            Some(row) => (
                row.get::<_, Option<bool>>(0).unwrap_or(false),
                row.get::<_, Option<String>>(1),
                row.get::<_, Option<String>>(2),
            ),
            None => (false, None, None),
        };
        use super::tls::TlsMode;
        Ok(Transport {
            requested: self.tls_mode.as_str().to_owned(),
            encrypted,
            tls_version,
            cipher,
            certificate_verified: encrypted
                && matches!(self.tls_mode, TlsMode::VerifyFull | TlsMode::VerifyCa),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Param, SecretUrl};

    fn settings(url: &str) -> SourceSettings {
        SourceSettings {
            engine: EngineKind::Postgres,
            url: SecretUrl::new(url),
            statement_timeout_ms: Some(1500),
            max_connections: 2,
            pool: Default::default(),
        }
    }

    #[test]
    fn options_carry_read_only_and_timeout() {
        assert_eq!(
            session_options(None, Some(200)),
            "-c default_transaction_read_only=on -c statement_timeout=200"
        );
        assert_eq!(
            session_options(Some("-c search_path=app"), None),
            "-c search_path=app -c default_transaction_read_only=on"
        );
    }

    #[tokio::test]
    async fn renders_quoted_select() {
        let e = PostgresEngine::connect(&settings("postgres://u:pw@localhost/db"))
            .await
            .unwrap();
        let q = ScopedSelect {
            schema: Ident::new("public"),
            table: Ident::new("orders").unwrap(),
            columns: vec![Ident::new("id").unwrap(), Ident::new("total").unwrap()],
            key_column: Ident::new("id").unwrap(),
            key_value: Param::Text("1".into()),
            tenant: Some((Ident::new("tenant_id").unwrap(), Param::Text("t1".into()))),
            limit: 5,
        };
        assert_eq!(
            e.render_select(&q),
            r#"SELECT "id", "total", "tenant_id" FROM "public"."orders" WHERE "id" = $1 AND "tenant_id" = $2 LIMIT 5"#
        );
        let q2 = ScopedSelect {
            schema: None,
            tenant: None,
            ..q
        };
        assert_eq!(
            e.render_select(&q2),
            r#"SELECT "id", "total" FROM "orders" WHERE "id" = $1 LIMIT 5"#
        );
    }

    /// Writes through a pooled session are refused by the server (read-only session default).
    #[tokio::test]
    async fn pooled_sessions_refuse_writes() {
        let Some(db) = airlock_testkit::fresh_postgres().await else {
            return;
        };
        db.execute_batch("CREATE TABLE t (id int primary key)")
            .await
            .unwrap();
        let e = PostgresEngine::connect(&settings(&db.url)).await.unwrap();
        let client = e.client().await.unwrap();
        let err = client
            .batch_execute("INSERT INTO t VALUES (1)")
            .await
            .unwrap_err();
        assert_eq!(e.err(&err).kind, DbErrorKind::Permission, "{err}");
        let rows = client
            .query("SHOW transaction_read_only", &[])
            .await
            .unwrap();
        assert_eq!(rows[0].get::<_, String>(0), "on");
        let rows = client.query("SHOW statement_timeout", &[]).await.unwrap();
        assert_eq!(rows[0].get::<_, String>(0), "1500ms");
    }
}
