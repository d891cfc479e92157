//! A fresh database per test, for every integration test in the workspace.
//!
//! ```no_run
//! # async fn t() {
//! let Some(db) = airlock_testkit::fresh_postgres().await else { return };
//! db.execute_batch("CREATE TABLE t (id int primary key); INSERT INTO t VALUES (1);").await.unwrap();
//! // … connect to `db.url` …
//! # }
//! ```
//!
//! - Postgres and MySQL/MariaDB: a new database `airlock_t_<random hex>` on the server named by
//!   [`POSTGRES_URL_ENV`] / [`MYSQL_URL_ENV`] (admin URLs; defaults
//!   `postgres://postgres@127.0.0.1:5432/postgres` and `mysql://root@127.0.0.1:3306/`).
//!   [`FreshDb::url`] is the admin URL pointed at the new database. Dropping the [`FreshDb`]
//!   drops the database (best effort, bounded wait, never panics).
//! - SQLite: an empty file in a new temporary directory, removed on drop. Always available.
//! - [`FreshDb::fresh_user`]: a login role (Postgres) or user (MySQL) with a random password and
//!   no privileges, for testing grants; dropped with its [`FreshUser`].
//!
//! When a server cannot be reached the helpers print `SKIP <engine> tier: <reason>` to stderr
//! and return `None`, so the test returns early and passes. With `CI=true` they panic instead:
//! CI must not silently skip a tier.
//!
//! Every async helper has a `_blocking` twin for synchronous tests; those run on a private
//! thread with its own runtime, so they also work when called inside a Tokio runtime.

pub mod bench;
pub mod conformance;
pub mod mariadb_tls;
pub mod private_pg;
pub mod sqlite_ledger;

pub use conformance::{
    assert_published_schemas, assert_valid, read_json, repo_root, schema_errors, shared_conformance,
};

use std::future::Future;
use std::time::Duration;

use anyhow::{Context, anyhow};
use mysql_async::prelude::Queryable;

/// Admin URL of the Postgres test server.
pub const POSTGRES_URL_ENV: &str = "AIRLOCK_TEST_POSTGRES_URL";
/// Admin URL of the MySQL/MariaDB test server.
pub const MYSQL_URL_ENV: &str = "AIRLOCK_TEST_MYSQL_URL";

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const DEFAULT_MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/";

const POSTGRES_START: &str =
    "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start";
const MYSQL_START: &str =
    "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd";

/// How long to wait for a test server to answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long `Drop` waits for `DROP DATABASE`.
const DROP_WAIT: Duration = Duration::from_secs(10);

/// Prefix of every database this kit creates.
pub const DB_PREFIX: &str = "airlock_t_";

/// Whether a server tier can run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Availability {
    /// The admin URL, which answered.
    Available(String),
    /// Why the tier is skipped.
    Skip(String),
}

/// Which kind of database a [`FreshDb`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Postgres,
    Mysql,
    Sqlite,
}

/// A database that exists for the life of this value.
#[derive(Debug)]
pub struct FreshDb {
    /// Connection URL for the new database (admin credentials), or for SQLite the file path.
    pub url: String,
    /// Database name (`airlock_t_<hex>`; for SQLite the file stem).
    pub name: String,
    /// `"postgres"`, `"mysql"` or `"sqlite"`.
    pub engine: &'static str,
    kind: Kind,
    admin_url: String,
    /// Keeps the SQLite temp directory alive.
    _dir: Option<tempfile::TempDir>,
}

/// The Postgres admin URL from [`POSTGRES_URL_ENV`] or the default.
pub fn postgres_admin_url() -> String {
    std::env::var(POSTGRES_URL_ENV)
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_POSTGRES_URL.to_owned())
}

/// The MySQL admin URL from [`MYSQL_URL_ENV`] or the default.
pub fn mysql_admin_url() -> String {
    std::env::var(MYSQL_URL_ENV)
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_MYSQL_URL.to_owned())
}

/// Whether `CI` is set to `true` (or `1`).
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// Reports an unreachable server: panics under CI, otherwise prints a SKIP line.
fn skip(engine: &str, env: &str, start: &str, reason: &str) {
    if in_ci() {
        panic!(
            "\n\n==> {engine} test server unavailable: {reason}\n\
             ==> CI=true, so the {engine} tier must run. Point {env} at an admin URL, or start the \
             service:\n==>   {start}\n\n"
        );
    }
    eprintln!("SKIP {engine} tier: {reason} (set {env}, or start it: {start})");
}

/// `scheme://host[:port]` with credentials and path removed, for messages.
pub fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let authority = rest.split(['/', '?']).next().unwrap_or("");
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{scheme}://{host}")
        }
        None => "<url>".to_owned(),
    }
}

/// Replaces the database (path) part of a `scheme://authority/db?query` URL.
pub fn with_database(url: &str, db: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let cut = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(cut);
    let query = tail.find('?').map_or("", |i| &tail[i..]);
    format!("{scheme}://{authority}/{db}{query}")
}

/// `context: root cause`, without the repetition of nested driver errors.
fn reason(e: &anyhow::Error) -> String {
    let root = e.root_cause().to_string();
    let top = e.to_string();
    if top == root {
        top
    } else {
        format!("{top}: {root}")
    }
}

fn random_name() -> String {
    format!("{DB_PREFIX}{:016x}", rand::random::<u64>())
}

/// Runs a future to completion on a fresh thread with its own current-thread runtime.
fn block_on<F>(fut: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    std::thread::scope(|s| {
        s.spawn(|| runtime().block_on(fut))
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("building a Tokio runtime")
}

// ---------------------------------------------------------------------------------------------
// Postgres

async fn pg_connect(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let mut config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| anyhow!("{} is not a valid postgres URL: {e}", redact(url)))?;
    config.connect_timeout(CONNECT_TIMEOUT);
    let (client, connection) =
        tokio::time::timeout(CONNECT_TIMEOUT, config.connect(tokio_postgres::NoTls))
            .await
            .map_err(|_| anyhow!("timed out connecting to {}", redact(url)))?
            .with_context(|| format!("connecting to {}", redact(url)))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// Checks that the Postgres admin URL answers.
pub async fn postgres_availability() -> Availability {
    let url = postgres_admin_url();
    match pg_connect(&url).await {
        Ok(c) => match c.simple_query("SELECT 1").await {
            Ok(_) => Availability::Available(url),
            Err(e) => Availability::Skip(format!("{}: {e}", redact(&url))),
        },
        Err(e) => Availability::Skip(reason(&e)),
    }
}

/// A new, empty Postgres database, or `None` (after a `SKIP` line) when the server is not
/// reachable outside CI.
pub async fn fresh_postgres() -> Option<FreshDb> {
    let admin = postgres_admin_url();
    let client = match pg_connect(&admin).await {
        Ok(c) => c,
        Err(e) => {
            skip("postgres", POSTGRES_URL_ENV, POSTGRES_START, &reason(&e));
            return None;
        }
    };
    let name = random_name();
    if let Err(e) = client
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .await
    {
        panic!(
            "postgres at {} answered but CREATE DATABASE failed: {e}",
            redact(&admin)
        );
    }
    Some(FreshDb {
        url: with_database(&admin, &name),
        name,
        engine: "postgres",
        kind: Kind::Postgres,
        admin_url: admin,
        _dir: None,
    })
}

/// [`fresh_postgres`] for synchronous tests.
pub fn fresh_postgres_blocking() -> Option<FreshDb> {
    block_on(fresh_postgres())
}

// ---------------------------------------------------------------------------------------------
// MySQL / MariaDB

async fn my_connect(url: &str) -> anyhow::Result<mysql_async::Conn> {
    let opts = mysql_async::Opts::from_url(url)
        .map_err(|_| anyhow!("{} is not a valid mysql URL", redact(url)))?;
    tokio::time::timeout(CONNECT_TIMEOUT, mysql_async::Conn::new(opts))
        .await
        .map_err(|_| anyhow!("timed out connecting to {}", redact(url)))?
        .with_context(|| format!("connecting to {}", redact(url)))
}

/// Checks that the MySQL admin URL answers.
pub async fn mysql_availability() -> Availability {
    let url = mysql_admin_url();
    match my_connect(&url).await {
        Ok(mut c) => {
            let r = c.query_drop("SELECT 1").await;
            let _ = c.disconnect().await;
            match r {
                Ok(()) => Availability::Available(url),
                Err(e) => Availability::Skip(format!("{}: {e}", redact(&url))),
            }
        }
        Err(e) => Availability::Skip(reason(&e)),
    }
}

/// A new, empty MySQL/MariaDB database, or `None` (after a `SKIP` line) when the server is
/// not reachable outside CI.
pub async fn fresh_mysql() -> Option<FreshDb> {
    let admin = mysql_admin_url();
    let mut conn = match my_connect(&admin).await {
        Ok(c) => c,
        Err(e) => {
            skip("mysql", MYSQL_URL_ENV, MYSQL_START, &reason(&e));
            return None;
        }
    };
    let name = random_name();
    if let Err(e) = conn
        .query_drop(format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
        .await
    {
        panic!(
            "mysql at {} answered but CREATE DATABASE failed: {e}",
            redact(&admin)
        );
    }
    let _ = conn.disconnect().await;
    Some(FreshDb {
        url: with_database(&admin, &name),
        name,
        engine: "mysql",
        kind: Kind::Mysql,
        admin_url: admin,
        _dir: None,
    })
}

/// [`fresh_mysql`] for synchronous tests.
pub fn fresh_mysql_blocking() -> Option<FreshDb> {
    block_on(fresh_mysql())
}

// ---------------------------------------------------------------------------------------------
// SQLite

/// A new, empty SQLite database file in its own temporary directory.
pub fn fresh_sqlite() -> FreshDb {
    let dir = tempfile::Builder::new()
        .prefix(DB_PREFIX)
        .tempdir()
        .expect("creating a temp dir");
    let name = random_name();
    let path = dir.path().join(format!("{name}.db"));
    rusqlite::Connection::open(&path)
        .and_then(|c| c.execute_batch("PRAGMA user_version = 0"))
        .expect("creating sqlite file");
    FreshDb {
        url: path.to_string_lossy().into_owned(),
        name,
        engine: "sqlite",
        kind: Kind::Sqlite,
        admin_url: String::new(),
        _dir: Some(dir),
    }
}

// ---------------------------------------------------------------------------------------------

impl FreshDb {
    /// Runs a multi-statement script (schema and seed) with write rights.
    pub async fn execute_batch(&self, sql: &str) -> anyhow::Result<()> {
        match self.kind {
            Kind::Postgres => {
                let c = pg_connect(&self.url).await?;
                c.batch_execute(sql)
                    .await
                    .context("running the postgres script")?;
            }
            Kind::Mysql => {
                let mut c = my_connect(&self.url).await?;
                let r = c.query_drop(sql).await.context("running the mysql script");
                let _ = c.disconnect().await;
                r?;
            }
            Kind::Sqlite => {
                let c = rusqlite::Connection::open(&self.url)?;
                c.execute_batch(sql).context("running the sqlite script")?;
            }
        }
        Ok(())
    }

    /// [`FreshDb::execute_batch`] for synchronous tests.
    pub fn execute_batch_blocking(&self, sql: &str) -> anyhow::Result<()> {
        block_on(self.execute_batch(sql))
    }

    /// Runs one query with write rights and returns the first column of the first row as
    /// text (`None` for no row or NULL). For assertions such as connection counts.
    pub async fn query_scalar(&self, sql: &str) -> anyhow::Result<Option<String>> {
        match self.kind {
            Kind::Postgres => {
                let c = pg_connect(&self.url).await?;
                for msg in c.simple_query(sql).await? {
                    if let tokio_postgres::SimpleQueryMessage::Row(r) = msg {
                        return Ok(r.get(0).map(str::to_owned));
                    }
                }
                Ok(None)
            }
            Kind::Mysql => {
                let mut c = my_connect(&self.url).await?;
                let r: Result<Option<mysql_async::Row>, _> = c.query_first(sql).await;
                let _ = c.disconnect().await;
                Ok(r?
                    .and_then(|row| row.unwrap().into_iter().next())
                    .and_then(|v| match v {
                        mysql_async::Value::NULL => None,
                        mysql_async::Value::Bytes(b) => {
                            Some(String::from_utf8_lossy(&b).into_owned())
                        }
                        other => Some(other.as_sql(true)),
                    }))
            }
            Kind::Sqlite => {
                let c = rusqlite::Connection::open(&self.url)?;
                let mut stmt = c.prepare(sql)?;
                let mut rows = stmt.query([])?;
                let Some(row) = rows.next()? else {
                    return Ok(None);
                };
                Ok(match row.get::<_, rusqlite::types::Value>(0)? {
                    rusqlite::types::Value::Null => None,
                    rusqlite::types::Value::Integer(i) => Some(i.to_string()),
                    rusqlite::types::Value::Real(f) => Some(f.to_string()),
                    rusqlite::types::Value::Text(t) => Some(t),
                    rusqlite::types::Value::Blob(b) => {
                        Some(String::from_utf8_lossy(&b).into_owned())
                    }
                })
            }
        }
    }

    /// [`FreshDb::query_scalar`] for synchronous tests.
    pub fn query_scalar_blocking(&self, sql: &str) -> anyhow::Result<Option<String>> {
        block_on(self.query_scalar(sql))
    }

    /// The admin URL of the server this database lives on (empty for SQLite).
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }
}

// ---------------------------------------------------------------------------------------------
// Users

/// Prefix of every role/user this kit creates.
pub const USER_PREFIX: &str = "airlock_u_";

/// A login role (Postgres) or user `'name'@'%'` (MySQL/MariaDB) with a random password and no
/// privileges, for testing grants. Dropped with this value (Postgres: `DROP OWNED BY` in the
/// database, then `DROP ROLE`; MySQL: `DROP USER`), best effort and bounded like [`FreshDb`].
#[derive(Debug)]
pub struct FreshUser {
    /// Role / user name (`airlock_u_<hex>`), a plain identifier.
    pub name: String,
    /// The database's URL with this user's credentials.
    pub url: String,
    kind: Kind,
    admin_url: String,
    db_url: String,
}

/// Replaces the userinfo of a `scheme://[userinfo@]host…` URL.
pub fn with_user(url: &str, user: &str, password: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let cut = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(cut);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    format!("{scheme}://{user}:{password}@{host}{tail}")
}

impl FreshDb {
    /// [`FreshDb::fresh_user`] for synchronous tests.
    pub fn fresh_user_blocking(&self) -> anyhow::Result<FreshUser> {
        block_on(self.fresh_user())
    }

    /// Creates a login role / user without privileges (Postgres and MySQL only).
    pub async fn fresh_user(&self) -> anyhow::Result<FreshUser> {
        let name = format!("{USER_PREFIX}{:016x}", rand::random::<u64>());
        let password = format!("pw{:016x}", rand::random::<u64>());
        match self.kind {
            Kind::Postgres => {
                let c = pg_connect(&self.admin_url).await?;
                c.batch_execute(&format!(
                    "CREATE ROLE \"{name}\" LOGIN PASSWORD '{password}'"
                ))
                .await
                .context("creating the postgres role")?;
            }
            Kind::Mysql => {
                let mut c = my_connect(&self.admin_url).await?;
                let r = c
                    .query_drop(format!(
                        "CREATE USER '{name}'@'%' IDENTIFIED BY '{password}'"
                    ))
                    .await
                    .context("creating the mysql user");
                let _ = c.disconnect().await;
                r?;
            }
            Kind::Sqlite => anyhow::bail!("sqlite has no users"),
        }
        Ok(FreshUser {
            url: with_user(&self.url, &name, &password),
            name,
            kind: self.kind,
            admin_url: self.admin_url.clone(),
            db_url: self.url.clone(),
        })
    }
}

impl Drop for FreshUser {
    fn drop(&mut self) {
        let (kind, name) = (self.kind, self.name.clone());
        let (admin, db) = (self.admin_url.clone(), self.db_url.clone());
        run_cleanup(&format!("test user {}", self.name), async move {
            match kind {
                Kind::Postgres => {
                    // Privileges inside the database (gone with it if it was dropped first).
                    if let Ok(c) = pg_connect(&db).await {
                        let _ = c.batch_execute(&format!("DROP OWNED BY \"{name}\"")).await;
                    }
                    let c = pg_connect(&admin).await?;
                    c.batch_execute(&format!("DROP ROLE IF EXISTS \"{name}\""))
                        .await?;
                }
                Kind::Mysql => {
                    let mut c = my_connect(&admin).await?;
                    let r = c
                        .query_drop(format!("DROP USER IF EXISTS '{name}'@'%'"))
                        .await;
                    let _ = c.disconnect().await;
                    r?;
                }
                Kind::Sqlite => {}
            }
            anyhow::Ok(())
        });
    }
}

/// Runs a cleanup future on its own thread and runtime, waiting at most [`DROP_WAIT`]; never
/// panics.
fn run_cleanup<F>(what: &str, fut: F)
where
    F: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("airlock-testkit-cleanup".into())
        .spawn(move || {
            let _ = tx.send(runtime().block_on(fut));
        });
    if spawned.is_err() {
        eprintln!("warning: could not clean up {what}: no thread");
        return;
    }
    match rx.recv_timeout(DROP_WAIT) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("warning: could not clean up {what}: {}", reason(&e)),
        Err(_) => eprintln!("warning: cleaning up {what} did not finish in time"),
    }
}

impl Drop for FreshDb {
    fn drop(&mut self) {
        let sql = match self.kind {
            Kind::Sqlite => return, // the TempDir removes the file
            Kind::Postgres => format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name),
            Kind::Mysql => format!("DROP DATABASE IF EXISTS `{}`", self.name),
        };
        let kind = self.kind;
        let admin = self.admin_url.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("airlock-testkit-drop".into())
            .spawn(move || {
                let result = runtime().block_on(async move {
                    match kind {
                        Kind::Postgres => {
                            let c = pg_connect(&admin).await?;
                            c.batch_execute(&sql).await?;
                        }
                        Kind::Mysql => {
                            let mut c = my_connect(&admin).await?;
                            let r = c.query_drop("SET SESSION lock_wait_timeout = 5").await;
                            let r = match r {
                                Ok(()) => c.query_drop(&sql).await,
                                Err(e) => Err(e),
                            };
                            let _ = c.disconnect().await;
                            r?;
                        }
                        Kind::Sqlite => {}
                    }
                    anyhow::Ok(())
                });
                let _ = tx.send(result);
            });
        if spawned.is_err() {
            eprintln!(
                "warning: could not drop test database {}: no thread",
                self.name
            );
            return;
        }
        match rx.recv_timeout(DROP_WAIT) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!(
                "warning: could not drop test database {}: {}",
                self.name,
                reason(&e)
            ),
            Err(_) => eprintln!(
                "warning: dropping test database {} did not finish in time",
                self.name
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("mysql://root@127.0.0.1:3306/", "x"),
            "mysql://root@127.0.0.1:3306/x"
        );
        assert_eq!(
            with_database("mysql://root@h:3306", "x"),
            "mysql://root@h:3306/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(redact("postgres://u:secret@h:5432/db"), "postgres://h:5432");
        assert_eq!(
            with_user("postgres://postgres@127.0.0.1:5432/x?a=b", "w", "pw"),
            "postgres://w:pw@127.0.0.1:5432/x?a=b"
        );
        assert_eq!(
            with_user("mysql://root:old@h:3306/db", "w", "pw"),
            "mysql://w:pw@h:3306/db"
        );
        assert_eq!(with_user("mysql://h", "w", "pw"), "mysql://w:pw@h");
    }

    #[test]
    fn sqlite_is_always_there_and_cleaned_up() {
        let db = fresh_sqlite();
        db.execute_batch_blocking("CREATE TABLE t (x); INSERT INTO t VALUES (7);")
            .unwrap();
        assert_eq!(
            db.query_scalar_blocking("SELECT x FROM t")
                .unwrap()
                .as_deref(),
            Some("7")
        );
        let path = std::path::PathBuf::from(&db.url);
        assert!(path.is_file());
        drop(db);
        assert!(!path.exists());
    }

    #[test]
    fn postgres_database_is_created_and_dropped() {
        let Some(db) = fresh_postgres_blocking() else {
            return;
        };
        db.execute_batch_blocking("CREATE TABLE t (x int); INSERT INTO t VALUES (7);")
            .unwrap();
        assert_eq!(
            db.query_scalar_blocking("SELECT x FROM t")
                .unwrap()
                .as_deref(),
            Some("7")
        );
        let name = db.name.clone();
        let admin = db.admin_url().to_owned();
        drop(db);
        let left = block_on(async {
            let c = pg_connect(&admin).await.unwrap();
            c.query_one(
                "SELECT count(*) FROM pg_database WHERE datname = $1",
                &[&name],
            )
            .await
            .unwrap()
            .get::<_, i64>(0)
        });
        assert_eq!(left, 0);
    }

    #[test]
    fn mysql_database_is_created_and_dropped() {
        let Some(db) = fresh_mysql_blocking() else {
            return;
        };
        db.execute_batch_blocking("CREATE TABLE t (x int); INSERT INTO t VALUES (7);")
            .unwrap();
        assert_eq!(
            db.query_scalar_blocking("SELECT x FROM t")
                .unwrap()
                .as_deref(),
            Some("7")
        );
        let name = db.name.clone();
        let admin = db.admin_url().to_owned();
        drop(db);
        let left = block_on(async {
            let mut c = my_connect(&admin).await.unwrap();
            let n: Option<i64> = c
                .exec_first(
                    "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
                    (name,),
                )
                .await
                .unwrap();
            let _ = c.disconnect().await;
            n
        });
        assert_eq!(left, Some(0));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn users_are_created_and_dropped() {
        if let Some(db) = fresh_postgres().await {
            let user = db.fresh_user().await.unwrap();
            let c = pg_connect(&user.url).await.unwrap();
            let who: String = c
                .query_one("SELECT current_user::text", &[])
                .await
                .unwrap()
                .get(0);
            assert_eq!(who, user.name);
            drop(c);
            let name = user.name.clone();
            drop(user);
            let left = db
                .query_scalar(&format!(
                    "SELECT count(*) FROM pg_roles WHERE rolname = '{name}'"
                ))
                .await
                .unwrap();
            assert_eq!(left.as_deref(), Some("0"));
        }
        if let Some(db) = fresh_mysql().await {
            let user = db.fresh_user().await.unwrap();
            // No privileges yet, so no database can be selected.
            let mut c = my_connect(&with_database(&user.url, "")).await.unwrap();
            let who: Option<String> = c.query_first("SELECT CURRENT_USER()").await.unwrap();
            assert_eq!(who, Some(format!("{}@%", user.name)));
            let _ = c.disconnect().await;
            let name = user.name.clone();
            drop(user);
            let left = db
                .query_scalar(&format!(
                    "SELECT COUNT(*) FROM mysql.user WHERE User = '{name}'"
                ))
                .await
                .unwrap();
            assert_eq!(left.as_deref(), Some("0"));
        }
    }

    #[tokio::test]
    async fn async_variants_work_inside_a_runtime() {
        assert!(matches!(
            postgres_availability().await,
            Availability::Available(_) | Availability::Skip(_)
        ));
        // The blocking variants must not deadlock or panic inside a runtime.
        let db = fresh_sqlite();
        db.execute_batch_blocking("CREATE TABLE t (x)").unwrap();
        drop(fresh_postgres_blocking());
    }
}
