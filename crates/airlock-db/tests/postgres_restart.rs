//! A real Postgres restart between two calls, against a private cluster (the shared server is
//! never stopped): the call after a restart reconnects and succeeds; while the server is down a
//! call fails promptly with a coded connection error; once it is back the next call succeeds.
//!
//! One cluster for the whole file (initdb takes seconds), so the scenarios run in order inside
//! one test.

mod common;

use std::time::{Duration, Instant};

use airlock_db::{DbErrorKind, EngineKind, Param, PoolOptions, SERVER_UNREACHABLE_CODE, connect};
use airlock_testkit::private_pg::PrivatePostgres;
use common::*;

#[tokio::test]
async fn reads_survive_a_postgres_restart_and_fail_coded_while_it_is_down() {
    let Some(mut server) = PrivatePostgres::start() else {
        return;
    };
    server
        .execute_batch(
            "postgres",
            "CREATE TABLE accounts (id BIGINT PRIMARY KEY, tenant_id TEXT NOT NULL, name TEXT);
             INSERT INTO accounts VALUES (1, 't1', 'Ada'), (2, 't2', 'Eve');",
        )
        .await
        .expect("seed");
    let mut s = settings(EngineKind::Postgres, &server.url("postgres"), Some(5000), 2);
    s.pool = PoolOptions {
        connect_timeout: Duration::from_millis(2000),
        ..PoolOptions::default()
    };
    let e = connect(&s).await.expect("a valid URL");
    let ada = select("accounts", &["name"], "id", Param::Int(1), Some("t1"));
    let read = || async { e.select(&ada).await };

    assert_eq!(read().await.expect("before the restart")[0]["name"], "Ada");

    // Restart (fast stop ends the pooled session): the next call reconnects, three times over.
    for round in 0..3 {
        server.restart().expect("restart");
        let rows = read()
            .await
            .unwrap_or_else(|err| panic!("round {round}: the call after a restart: {err}"));
        assert_eq!(rows[0]["name"], "Ada", "round {round}");
    }

    // Down: a coded connection error, promptly, and the URL never shows.
    server.stop().expect("stop");
    for attempt in 0..2 {
        let started = Instant::now();
        let err = read().await.expect_err("the server is down");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "attempt {attempt} took {:?}",
            started.elapsed()
        );
        assert_eq!(err.kind, DbErrorKind::Connection, "{err}");
        assert_eq!(
            err.code.as_deref(),
            Some(SERVER_UNREACHABLE_CODE),
            "{err:?}"
        );
        assert!(err.to_string().contains("down or restarting"), "{err}");
        assert!(!err.to_string().contains("postgres://"), "{err}");
        assert!(!err.detail.contains("postgres://"), "{err:?}");
    }

    // Back up: the next call succeeds (not failing forever).
    server.start_again().expect("start again");
    assert_eq!(
        read().await.expect("after the server is back")[0]["name"],
        "Ada"
    );
    e.ping().await.expect("ping after the server is back");
}
