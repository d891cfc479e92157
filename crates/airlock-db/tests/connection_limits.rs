//! The connection options of a source against real servers: a connect timeout that returns
//! promptly with a coded error, a statement timeout that stops a slow read, idle pooled
//! connections closed after the source's idle timeout, and sessions the server kills
//! (`pg_terminate_backend`, MariaDB `KILL`) followed by a call that succeeds. A server restart
//! between two calls is in `mysql_tls.rs` (it needs a private server).

mod common;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use airlock_db::{
    CONNECT_TIMEOUT_CODE, DbErrorKind, Engine, EngineKind, Param, PoolOptions,
    SERVER_UNREACHABLE_CODE, connect,
};
use airlock_testkit::FreshDb;
use common::*;

const SEED_PG: &str =
    "CREATE TABLE accounts (id BIGINT PRIMARY KEY, tenant_id TEXT NOT NULL, name TEXT);
    INSERT INTO accounts VALUES (1, 't1', 'Ada'), (2, 't2', 'Eve');
    CREATE VIEW slow_accounts AS SELECT a.id, a.tenant_id, a.name FROM accounts a, pg_sleep(3);";
const SEED_MY: &str = "CREATE TABLE accounts (id BIGINT PRIMARY KEY, tenant_id VARCHAR(20) NOT NULL, name VARCHAR(50));
    INSERT INTO accounts VALUES (1, 't1', 'Ada'), (2, 't2', 'Eve');
    CREATE VIEW slow_accounts AS SELECT id, tenant_id, name FROM accounts WHERE SLEEP(3) = 0;";

async fn engine_with(
    kind: EngineKind,
    url: &str,
    timeout_ms: Option<u64>,
    pool: PoolOptions,
) -> Arc<dyn Engine> {
    let mut s = settings(kind, url, timeout_ms, 1);
    s.pool = pool;
    connect(&s).await.expect("a valid URL")
}

fn ada() -> airlock_db::ScopedSelect {
    select("accounts", &["id", "name"], "id", Param::Int(1), Some("t1"))
}

async fn read_ada(e: &dyn Engine) -> Result<String, airlock_db::DbError> {
    let rows = e.select(&ada()).await?;
    Ok(rows[0]["name"].as_str().unwrap_or_default().to_owned())
}

/// A TCP server that accepts connections and never answers: a dial to it hangs in the
/// handshake until the client gives up.
fn silent_server() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    (listener, port)
}

#[tokio::test]
async fn a_server_that_never_answers_fails_within_the_connect_timeout() {
    let (_listener, port) = silent_server();
    let pool = PoolOptions {
        connect_timeout: Duration::from_millis(400),
        ..PoolOptions::default()
    };
    for (kind, url) in [
        (
            EngineKind::Postgres,
            format!("postgres://airlock:secret-pw@127.0.0.1:{port}/app"),
        ),
        (
            EngineKind::Mysql,
            format!("mysql://airlock:secret-pw@127.0.0.1:{port}/app"),
        ),
    ] {
        let e = engine_with(kind, &url, None, pool).await;
        let started = Instant::now();
        let err = e.select(&ada()).await.expect_err("nobody answers");
        let took = started.elapsed();
        assert!(took < Duration::from_secs(3), "{kind:?} took {took:?}");
        assert_eq!(err.kind, DbErrorKind::Connection, "{err}");
        assert_eq!(err.code.as_deref(), Some(CONNECT_TIMEOUT_CODE), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("400 ms") && text.contains("connect_timeout_ms"),
            "{text}"
        );
        assert!(!text.contains("secret-pw"), "{text}");
    }
}

#[tokio::test]
async fn a_port_nobody_listens_on_fails_at_once_as_unreachable() {
    // Bind then drop: the port is free and refuses connections.
    let port = silent_server().1;
    for (kind, url) in [
        (
            EngineKind::Postgres,
            format!("postgres://airlock:secret-pw@127.0.0.1:{port}/app"),
        ),
        (
            EngineKind::Mysql,
            format!("mysql://airlock:secret-pw@127.0.0.1:{port}/app"),
        ),
    ] {
        let e = engine_with(kind, &url, None, PoolOptions::default()).await;
        let started = Instant::now();
        let err = e.select(&ada()).await.expect_err("nothing listens");
        assert!(started.elapsed() < Duration::from_secs(3), "{kind:?}");
        assert_eq!(err.kind, DbErrorKind::Connection, "{err}");
        assert_eq!(
            err.code.as_deref(),
            Some(SERVER_UNREACHABLE_CODE),
            "{kind:?}: {err:?}"
        );
        let text = err.to_string();
        assert!(text.contains("down or restarting"), "{text}");
        assert!(
            !text.contains("secret-pw") && !err.detail.contains("secret-pw"),
            "{err:?}"
        );
    }
}

async fn check_statement_timeout(db: &FreshDb, kind: EngineKind) {
    let e = engine_with(kind, &db.url, Some(300), PoolOptions::default()).await;
    let slow = select(
        "slow_accounts",
        &["id", "name"],
        "id",
        Param::Int(1),
        Some("t1"),
    );
    let started = Instant::now();
    let err = e.select(&slow).await.expect_err("the view sleeps 3 s");
    assert!(started.elapsed() < Duration::from_millis(2500), "{kind:?}");
    assert_eq!(err.kind, DbErrorKind::Timeout, "{kind:?}: {err}");
    // The session is still usable for the next read.
    assert_eq!(read_ada(e.as_ref()).await.expect("fast read"), "Ada");
}

#[tokio::test]
async fn statement_timeout_stops_a_slow_read_postgres() {
    let Some(db) = airlock_testkit::fresh_postgres().await else {
        return;
    };
    db.execute_batch(SEED_PG).await.expect("seed");
    check_statement_timeout(&db, EngineKind::Postgres).await;
}

#[tokio::test]
async fn statement_timeout_stops_a_slow_read_mysql() {
    let Some(db) = airlock_testkit::fresh_mysql().await else {
        return;
    };
    db.execute_batch(SEED_MY).await.expect("seed");
    check_statement_timeout(&db, EngineKind::Mysql).await;
}

/// Server-side ids of the engine's sessions on `db` (never the admin helper's own).
async fn sessions(db: &FreshDb, kind: EngineKind) -> String {
    let sql = match kind {
        EngineKind::Postgres => format!(
            "SELECT coalesce(string_agg(pid::text, ',' ORDER BY pid), '') FROM pg_stat_activity \
             WHERE datname = '{}' AND application_name = 'airlock'",
            db.name
        ),
        _ => format!(
            "SELECT coalesce(GROUP_CONCAT(id ORDER BY id), '') FROM information_schema.PROCESSLIST \
             WHERE db = '{}' AND id <> CONNECTION_ID()",
            db.name
        ),
    };
    db.query_scalar(&sql)
        .await
        .expect("list sessions")
        .unwrap_or_default()
}

/// Kills every session of the engine on `db`, as an idle reaper or a failover would. Returns
/// how many kills the server accepted (a session killed a moment ago may be gone already).
async fn kill_sessions(db: &FreshDb, kind: EngineKind) -> usize {
    let ids = sessions(db, kind).await;
    let mut killed = 0;
    for id in ids.split(',').filter(|s| !s.is_empty()) {
        let sql = match kind {
            EngineKind::Postgres => format!("SELECT pg_terminate_backend({id})"),
            _ => format!("KILL CONNECTION {id}"),
        };
        if db.execute_batch(&sql).await.is_ok() {
            killed += 1;
        }
    }
    killed
}

async fn check_killed_sessions(db: &FreshDb, kind: EngineKind) {
    let e = engine_with(kind, &db.url, Some(5000), PoolOptions::default()).await;
    assert_eq!(read_ada(e.as_ref()).await.expect("first read"), "Ada");
    for round in 0..3 {
        // At least the pooled session (a backend killed in the round before may still be
        // exiting; killing it again is harmless).
        assert!(kill_sessions(db, kind).await >= 1, "{kind:?} round {round}");
        assert_eq!(
            read_ada(e.as_ref())
                .await
                .expect("the next call reconnects"),
            "Ada",
            "{kind:?} round {round}"
        );
        e.ping().await.expect("ping after the kill");
    }
}

#[tokio::test]
async fn a_killed_session_does_not_break_the_next_call_postgres() {
    let Some(db) = airlock_testkit::fresh_postgres().await else {
        return;
    };
    db.execute_batch(SEED_PG).await.expect("seed");
    check_killed_sessions(&db, EngineKind::Postgres).await;
}

#[tokio::test]
async fn a_killed_session_does_not_break_the_next_call_mysql() {
    let Some(db) = airlock_testkit::fresh_mysql().await else {
        return;
    };
    db.execute_batch(SEED_MY).await.expect("seed");
    check_killed_sessions(&db, EngineKind::Mysql).await;
}

async fn check_idle_timeout(db: &FreshDb, kind: EngineKind) {
    let pool = PoolOptions {
        idle_timeout: Duration::from_secs(1),
        ..PoolOptions::default()
    };
    let e = engine_with(kind, &db.url, Some(5000), pool).await;
    assert_eq!(read_ada(e.as_ref()).await.expect("first read"), "Ada");
    let used = std::time::Instant::now();
    let before = sessions(db, kind).await;
    assert!(!before.is_empty(), "{kind:?}: a pooled session exists");
    // Kept while fresh. The driver may open a second session while the first is on its way
    // back to the pool (MySQL) and may close that spare again, so the check is that the pool
    // still holds a session it had, and only while less than the idle timeout has passed (on
    // a loaded machine the second read can come later than that, and then closing is right).
    assert_eq!(read_ada(e.as_ref()).await.expect("second read"), "Ada");
    let fresh = sessions(db, kind).await;
    if used.elapsed() < Duration::from_millis(900) {
        assert!(
            before
                .split(',')
                .any(|b| fresh.split(',').any(|id| id == b)),
            "{kind:?}: every fresh session was closed ({before} → {fresh})"
        );
    }
    let before = fresh;
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_eq!(
        read_ada(e.as_ref()).await.expect("read after idling"),
        "Ada"
    );
    let after = sessions(db, kind).await;
    assert!(
        !after
            .split(',')
            .any(|id| before.split(',').any(|b| b == id)),
        "{kind:?}: the idle session was closed, not reused ({before} → {after})"
    );
}

#[tokio::test]
async fn idle_connections_are_closed_after_the_idle_timeout_postgres() {
    let Some(db) = airlock_testkit::fresh_postgres().await else {
        return;
    };
    db.execute_batch(SEED_PG).await.expect("seed");
    check_idle_timeout(&db, EngineKind::Postgres).await;
}

#[tokio::test]
async fn idle_connections_are_closed_after_the_idle_timeout_mysql() {
    let Some(db) = airlock_testkit::fresh_mysql().await else {
        return;
    };
    db.execute_batch(SEED_MY).await.expect("seed");
    check_idle_timeout(&db, EngineKind::Mysql).await;
}
