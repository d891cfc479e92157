//! The pooled MySQL/MariaDB engine.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use mysql_async::prelude::Queryable;
use mysql_async::{Column, Conn, Params, Pool};

use super::error::classify;
use super::pool::{LazyPool, WAIT_TIMEOUT};
use super::types::{KeyKind, bind, decode};
use crate::common::{self, Scrubber, SelectTail};
use crate::exact::{Exact, ExactMatch, Slot, guard_columns, keep_exact, select_params};
use crate::inspect::SchemaReport;
use crate::{
    DbError, DbErrorKind, Engine, EngineKind, Ident, Row, ScopedSelect, SourceSettings, Transport,
};

/// Server flavor, which decides the timeout variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    MariaDb,
    Mysql,
}

impl Flavor {
    pub(crate) fn from_version(version: &str) -> Flavor {
        if version.contains("MariaDB") {
            Flavor::MariaDb
        } else {
            Flavor::Mysql
        }
    }
}

/// Statements run on every new pooled connection (see the module docs).
pub(crate) fn setup_statements(flavor: Flavor, statement_timeout_ms: Option<u64>) -> Vec<String> {
    let mut set = String::from("SET SESSION time_zone = '+00:00'");
    if let Some(ms) = statement_timeout_ms {
        match flavor {
            Flavor::MariaDb => set.push_str(&format!(
                ", SESSION max_statement_time = {}.{:03}",
                ms / 1000,
                ms % 1000
            )),
            Flavor::Mysql => set.push_str(&format!(", SESSION max_execution_time = {ms}")),
        }
    }
    vec!["SET SESSION TRANSACTION READ ONLY".to_owned(), set]
}

pub(crate) struct MysqlEngine {
    /// Built on first use, after flavor detection.
    pool: LazyPool,
    scrub: Scrubber,
    statement_timeout_ms: Option<u64>,
    /// Probe SQL of a shape → its key and tenant columns.
    key_kinds: Mutex<HashMap<String, KeyColumns>>,
}

impl fmt::Debug for MysqlEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MysqlEngine")
            .field("url", &self.pool.redacted_url())
            .field("flavor", &self.pool.flavor())
            .field("max_connections", &self.pool.max_connections())
            .finish_non_exhaustive()
    }
}

impl MysqlEngine {
    /// Validates the URL. Does not dial: the first `select` or `ping` detects the flavor and
    /// builds the pool.
    pub(crate) async fn connect(settings: &SourceSettings) -> Result<Self, DbError> {
        let (pool, scrub) = LazyPool::new(settings)?;
        Ok(MysqlEngine {
            pool,
            scrub,
            statement_timeout_ms: settings.statement_timeout_ms,
            key_kinds: Mutex::new(HashMap::new()),
        })
    }

    fn err(&self, e: &mysql_async::Error) -> DbError {
        self.scrub.error(classify(e))
    }

    async fn pool(&self) -> Result<&Pool, DbError> {
        let timeout = self.statement_timeout_ms;
        let (pool, _) = self
            .pool
            .get(&self.scrub, |flavor, opts| {
                opts.setup(setup_statements(flavor, timeout))
            })
            .await?;
        Ok(pool)
    }

    async fn conn(&self) -> Result<mysql_async::Conn, DbError> {
        let pool = self.pool().await?;
        tokio::time::timeout(WAIT_TIMEOUT, pool.get_conn())
            .await
            .map_err(|_| {
                DbError::new(
                    DbErrorKind::Connection,
                    "timed out waiting for a pooled connection",
                )
            })?
            .map_err(|e| self.err(&e))
    }

    async fn select_once(&self, q: &ScopedSelect) -> Result<Vec<Row>, DbError> {
        let mut conn = self.conn().await?;
        async {
            let kinds = self.key_kinds(&mut conn, q).await?;
            select_rows(&mut conn, &self.scrub, &kinds, q, SelectTail::Limit).await
        }
        .await
        .map_err(DbError::lost_if_connection)
    }

    async fn ping_once(&self) -> Result<(), DbError> {
        let mut conn = self.conn().await?;
        conn.query_drop("SELECT 1")
            .await
            .map_err(|e| self.err(&e).lost_if_connection())
    }

    /// Kinds of the key (and tenant) column, learnt once per shape.
    async fn key_kinds(&self, conn: &mut Conn, q: &ScopedSelect) -> Result<KeyColumns, DbError> {
        let probe = key_probe(q);
        if let Some(k) = self
            .key_kinds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&probe)
        {
            return Ok(k.clone());
        }
        let kinds = key_columns(&probe_columns(conn, &self.scrub, &probe).await?);
        self.key_kinds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(probe, kinds.clone());
        Ok(kinds)
    }
}

fn quote(i: &Ident) -> String {
    common::quote_with(i, '`')
}

/// The key column and, if any, the tenant column of a shape: how values are converted for
/// them, and how they are compared.
pub(crate) type KeyColumns = Arc<[(KeyKind, Exact)]>;

/// [`KeyColumns`] from a probe's result columns.
pub(crate) fn key_columns(columns: &[Column]) -> KeyColumns {
    columns
        .iter()
        .map(|c| (KeyKind::of(c), KeyKind::exact(c)))
        .collect()
}

/// The predicates of a select (or update) whose key and tenant columns are `keys`.
pub(crate) fn exact_match(keys: &[(KeyKind, Exact)]) -> ExactMatch {
    let at = |i: usize| keys.get(i).map_or(Exact::No, |(_, e)| *e);
    ExactMatch {
        engine: crate::EngineKind::Mysql,
        key: at(0),
        tenant: at(1),
    }
}

/// `[`schema`.]`table``.
pub(crate) fn table_ref(schema: Option<&Ident>, table: &Ident) -> String {
    match schema {
        Some(s) => format!("{}.{}", quote(s), quote(table)),
        None => quote(table),
    }
}

/// `SELECT <cols> FROM <table> WHERE 1=0`: prepared, never executed, to learn column types.
pub(crate) fn column_probe<'a>(
    schema: Option<&Ident>,
    table: &Ident,
    cols: impl IntoIterator<Item = &'a Ident>,
) -> String {
    let cols: Vec<String> = cols.into_iter().map(quote).collect();
    format!(
        "SELECT {} FROM {} WHERE 1=0",
        cols.join(", "),
        table_ref(schema, table)
    )
}

/// The probe for the key (and tenant) column of a scoped select.
pub(crate) fn key_probe(q: &ScopedSelect) -> String {
    column_probe(
        q.schema.as_ref(),
        &q.table,
        std::iter::once(&q.key_column).chain(q.tenant.as_ref().map(|(t, _)| t)),
    )
}

/// Prepares a probe and returns its result columns.
pub(crate) async fn probe_columns<Q: Queryable>(
    conn: &mut Q,
    scrub: &Scrubber,
    probe: &str,
) -> Result<Vec<Column>, DbError> {
    let stmt = conn
        .prep(probe)
        .await
        .map_err(|e| scrub.error(classify(&e)))?;
    Ok(stmt.columns().to_vec())
}

/// Runs a scoped select with the key/tenant converted and compared per `keys` and maps the
/// values (the module docs' tables). Shared by reads and write transactions.
pub(crate) async fn select_rows<Q: Queryable>(
    conn: &mut Q,
    scrub: &Scrubber,
    keys: &[(KeyKind, Exact)],
    q: &ScopedSelect,
    tail: SelectTail,
) -> Result<Vec<Row>, DbError> {
    let m = exact_match(keys);
    let original = q;
    let guarded = guard_columns(q);
    let q = guarded.as_ref();
    let kind = |slot: Slot| {
        let i = usize::from(slot == Slot::Tenant);
        keys.get(i).map_or(KeyKind::Other, |(k, _)| *k)
    };
    let params = select_params(q, &m)
        .into_iter()
        .map(|(slot, p)| bind(p, kind(slot)))
        .collect::<Result<Vec<_>, _>>()?;
    let sql = common::render_select_with(q, quote, |_| "?".to_owned(), None, tail, &m);
    let rows: Vec<mysql_async::Row> = conn
        .exec(sql.as_str(), Params::Positional(params))
        .await
        .map_err(|e| scrub.error(classify(&e)))?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let columns = row.columns();
        let mut map = Row::new();
        for ((name, col), v) in q.columns.iter().zip(columns.iter()).zip(row.unwrap()) {
            map.insert(name.as_str().to_owned(), decode(col, v));
        }
        out.push(map);
    }
    Ok(keep_exact(original, out, &m))
}

#[async_trait::async_trait]
impl Engine for MysqlEngine {
    fn kind(&self) -> EngineKind {
        EngineKind::Mysql
    }

    fn pool_status(&self) -> crate::PoolStatus {
        // mysql_async does not report its pool's use.
        crate::PoolStatus {
            max: self.pool.max_connections(),
            open: None,
            in_use: None,
            waiting: None,
        }
    }

    fn quote(&self, ident: &Ident) -> String {
        common::quote_with(ident, '`')
    }

    fn render_select(&self, q: &ScopedSelect) -> String {
        // The predicates depend on the key columns' types, known once the shape ran.
        let m = self
            .key_kinds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key_probe(q))
            .map_or(ExactMatch::plain(EngineKind::Mysql), |k| exact_match(k));
        common::render_select(&guard_columns(q), quote, |_| "?".to_owned(), None, &m)
    }

    async fn select(&self, q: &ScopedSelect) -> Result<Vec<Row>, DbError> {
        // A read is safe to repeat.
        common::retry::once_more_if_lost("a read", &self.pool.redacted_url(), || {
            self.select_once(q)
        })
        .await
    }

    async fn ping(&self) -> Result<(), DbError> {
        common::retry::once_more_if_lost("a ping", &self.pool.redacted_url(), || self.ping_once())
            .await
    }

    async fn transport(&self) -> Result<Transport, DbError> {
        let mut conn = self.conn().await?;
        let status: Vec<(String, String)> = conn
            .query("SHOW SESSION STATUS WHERE Variable_name IN ('Ssl_version', 'Ssl_cipher')")
            .await
            .map_err(|e| self.err(&e))?;
        let value = |name: &str| {
            status
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };
        let cipher = value("Ssl_cipher");
        let (plan, negotiated) = self.pool.tls();
        Ok(Transport {
            requested: plan.mode.as_str().to_owned(),
            encrypted: cipher.is_some(),
            tls_version: value("Ssl_version"),
            certificate_verified: cipher.is_some() && negotiated.is_some_and(|n| n.verified),
            cipher,
        })
    }

    async fn privileges(
        &self,
        tables: &[crate::privileges::TableRef],
    ) -> Result<crate::privileges::Privileges, DbError> {
        let mut conn = self.conn().await?;
        crate::privileges::mysql::privileges(&mut conn, tables, |e| self.err(e)).await
    }

    async fn inspect(&self, schema: Option<&str>) -> Result<SchemaReport, DbError> {
        let mut conn = self.conn().await?;
        crate::inspect::mysql::inspect(&mut conn, schema, |e| self.err(e)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Param, SecretUrl};

    fn settings(url: &str) -> SourceSettings {
        SourceSettings {
            engine: EngineKind::Mysql,
            url: SecretUrl::new(url),
            statement_timeout_ms: Some(1500),
            max_connections: 2,
            pool: Default::default(),
        }
    }

    #[test]
    fn setup_per_flavor() {
        assert_eq!(
            setup_statements(Flavor::MariaDb, Some(1500)),
            [
                "SET SESSION TRANSACTION READ ONLY",
                "SET SESSION time_zone = '+00:00', SESSION max_statement_time = 1.500"
            ]
        );
        assert_eq!(
            setup_statements(Flavor::Mysql, Some(200))[1],
            "SET SESSION time_zone = '+00:00', SESSION max_execution_time = 200"
        );
        assert_eq!(
            setup_statements(Flavor::Mysql, None)[1],
            "SET SESSION time_zone = '+00:00'"
        );
        assert_eq!(
            Flavor::from_version("10.11.19-MariaDB-0+deb12u1"),
            Flavor::MariaDb
        );
        assert_eq!(Flavor::from_version("8.0.36"), Flavor::Mysql);
    }

    #[tokio::test]
    async fn renders_backtick_select() {
        let e = MysqlEngine::connect(&settings("mysql://u:pw@localhost/db"))
            .await
            .unwrap();
        let q = ScopedSelect {
            schema: Ident::new("shop"),
            table: Ident::new("orders").unwrap(),
            columns: vec![Ident::new("id").unwrap(), Ident::new("total").unwrap()],
            key_column: Ident::new("id").unwrap(),
            key_value: Param::Text("1".into()),
            tenant: Some((Ident::new("tenant_id").unwrap(), Param::Text("t1".into()))),
            limit: 5,
        };
        assert_eq!(
            e.render_select(&q),
            "SELECT `id`, `total`, `tenant_id` FROM `shop`.`orders` WHERE `id` = ? AND `tenant_id` = ? LIMIT 5"
        );
    }

    /// Writes through a pooled session are refused; the session is read-only with the timeout.
    #[tokio::test]
    async fn pooled_sessions_refuse_writes() {
        let Some(db) = airlock_testkit::fresh_mysql().await else {
            return;
        };
        db.execute_batch("CREATE TABLE t (id int primary key)")
            .await
            .unwrap();
        let e = MysqlEngine::connect(&settings(&db.url)).await.unwrap();
        let mut conn = e.conn().await.unwrap();
        let err = conn
            .query_drop("INSERT INTO t VALUES (1)")
            .await
            .unwrap_err();
        assert_eq!(e.err(&err).kind, DbErrorKind::Permission, "{err}");
        let ro: Option<i64> = conn
            .query_first("SELECT @@session.tx_read_only")
            .await
            .unwrap();
        assert_eq!(ro, Some(1));
        let t: Option<f64> = conn
            .query_first("SELECT @@session.max_statement_time")
            .await
            .unwrap();
        assert_eq!(t, Some(1.5));
        let tz: Option<String> = conn
            .query_first("SELECT @@session.time_zone")
            .await
            .unwrap();
        assert_eq!(tz.as_deref(), Some("+00:00"));
    }
}
