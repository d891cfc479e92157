//! TLS to MySQL/MariaDB against a real MariaDB started by this test with TLS on (its own
//! certificate authority, server certificate, data directory and port: see
//! `airlock_testkit::mariadb_tls`). Each `ssl-mode` connects or refuses as documented, the
//! server's own `Ssl_cipher` proves a session is encrypted, reads and writes work over TLS,
//! and a server restart between two calls does not break the second call.
//!
//! One server for the whole file (starting one takes seconds), so the scenarios run in order
//! inside one test.

mod common;

use std::sync::Arc;

use airlock_db::{DbErrorKind, EngineKind, Param, RowUpdate, connect, connect_writer};
use airlock_testkit::mariadb_tls::TlsMariaDb;
use common::*;
use mysql_async::prelude::Queryable;

const MY: EngineKind = EngineKind::Mysql;
/// The server certificate names these; never 127.0.0.1, so the IP address is "another host".
const NAMES: &[&str] = &["db.airlock.test", "localhost"];

async fn seed(server: &TlsMariaDb) {
    let mut conn = mysql_async::Conn::new(
        mysql_async::Opts::from_url(&server.url("127.0.0.1", "")).expect("admin url"),
    )
    .await
    .expect("admin connection to the TLS server");
    conn.query_drop(
        "CREATE DATABASE app; \
         CREATE TABLE app.accounts (id BIGINT PRIMARY KEY, tenant_id VARCHAR(20) NOT NULL, \
         name VARCHAR(50), version INT NOT NULL DEFAULT 1); \
         INSERT INTO app.accounts VALUES (1, 't1', 'Ada', 1), (2, 't2', 'Eve', 1);",
    )
    .await
    .expect("seed");
    let _ = conn.disconnect().await;
}

fn url(server: &TlsMariaDb, host: &str, params: &str) -> String {
    server.url(host, params).replace(
        &format!(":{}/", server.port),
        &format!(":{}/app", server.port),
    )
}

async fn engine_for(u: &str) -> Arc<dyn airlock_db::Engine> {
    connect(&settings(MY, u, Some(5000), 2))
        .await
        .expect("a valid URL")
}

/// Reads Ada as tenant t1 and returns how the session was protected.
async fn read_and_describe(u: &str) -> Result<airlock_db::Transport, airlock_db::DbError> {
    let e = engine_for(u).await;
    let rows = e
        .select(&select(
            "accounts",
            &["id", "name"],
            "id",
            Param::Int(1),
            Some("t1"),
        ))
        .await?;
    assert_eq!(rows.len(), 1, "{u}");
    assert_eq!(rows[0]["name"], "Ada");
    e.transport().await
}

fn assert_clean(message: &str) {
    assert!(!message.contains("mysql://"), "the URL leaked: {message}");
    assert!(!message.contains("root@"), "the URL leaked: {message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn each_ssl_mode_connects_or_refuses_as_documented() {
    let Some(mut server) = TlsMariaDb::start(NAMES) else {
        return;
    };
    seed(&server).await;
    let ca = server.ca_pem.display().to_string();
    let other_ca = server.other_ca_pem.display().to_string();

    // DISABLED: clear message, as asked.
    let t = read_and_describe(&url(&server, "127.0.0.1", "ssl-mode=DISABLED"))
        .await
        .expect("disabled");
    assert!(!t.encrypted && !t.certificate_verified, "{t:?}");
    assert_eq!(t.requested, "DISABLED");

    // No parameter = PREFERRED: this server offers TLS, so the session is encrypted.
    for params in ["", "ssl-mode=PREFERRED", "ssl-mode=REQUIRED", "ssl=true"] {
        let t = read_and_describe(&url(&server, "127.0.0.1", params))
            .await
            .unwrap_or_else(|e| panic!("{params}: {e}"));
        assert!(t.encrypted, "{params}: {t:?}");
        assert!(
            t.cipher.is_some() && t.tls_version.is_some(),
            "{params}: {t:?}"
        );
        assert!(!t.certificate_verified, "{params} does not verify: {t:?}");
    }

    // VERIFY_IDENTITY with our CA and the host the certificate names.
    let t = read_and_describe(&url(
        &server,
        "localhost",
        &format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}"),
    ))
    .await
    .expect("verify identity on the right name");
    assert!(t.encrypted && t.certificate_verified, "{t:?}");

    // ... but not on an address the certificate does not name.
    let err = read_and_describe(&url(
        &server,
        "127.0.0.1",
        &format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}"),
    ))
    .await
    .expect_err("wrong host name");
    assert_eq!(err.kind, DbErrorKind::Connection, "{err}");
    let message = err.to_string();
    assert!(
        message.contains("VERIFY_CA"),
        "names the way out: {message}"
    );
    assert_clean(&message);

    // VERIFY_CA: the chain is checked, the name is not.
    for params in [
        format!("ssl-mode=VERIFY_CA&ssl-ca={ca}"),
        format!("ssl-ca={ca}"),
    ] {
        let t = read_and_describe(&url(&server, "127.0.0.1", &params))
            .await
            .unwrap_or_else(|e| panic!("{params}: {e}"));
        assert!(t.encrypted && t.certificate_verified, "{params}: {t:?}");
    }

    // A CA that did not sign the server's certificate, or none at all: refused under both
    // verifying modes, with the option to set.
    for params in [
        format!("ssl-mode=VERIFY_CA&ssl-ca={other_ca}"),
        format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={other_ca}"),
        "ssl-mode=VERIFY_IDENTITY".to_owned(),
    ] {
        let host = if params.contains("IDENTITY") {
            "localhost"
        } else {
            "127.0.0.1"
        };
        let err = read_and_describe(&url(&server, host, &params))
            .await
            .expect_err(&params);
        let message = err.to_string();
        assert!(message.contains("ssl-ca=PATH"), "{params}: {message}");
        assert_clean(&message);
    }

    // A CA file that is not there, or not PEM.
    let missing = read_and_describe(&url(
        &server,
        "127.0.0.1",
        "ssl-mode=VERIFY_CA&ssl-ca=/nonexistent/ca.pem",
    ))
    .await
    .expect_err("missing CA file");
    assert!(
        missing
            .to_string()
            .contains("could not read ssl-ca /nonexistent/ca.pem"),
        "{missing}"
    );
    let not_pem = server.ca_pem.with_extension("txt");
    std::fs::write(&not_pem, "not a certificate").expect("write");
    let err = read_and_describe(&url(
        &server,
        "127.0.0.1",
        &format!("ssl-mode=VERIFY_CA&ssl-ca={}", not_pem.display()),
    ))
    .await
    .expect_err("not PEM");
    assert!(
        err.to_string().contains("holds no PEM certificate"),
        "{err}"
    );

    // A write over TLS: one guarded UPDATE through the writer pool, verified.
    let writer = connect_writer(&settings(
        MY,
        &url(
            &server,
            "localhost",
            &format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}"),
        ),
        Some(5000),
        2,
    ))
    .await
    .expect("writer");
    let mut tx = writer.begin().await.expect("begin over TLS");
    let n = tx
        .update_row(&RowUpdate {
            schema: None,
            table: id("accounts"),
            key: (id("id"), Param::Int(1)),
            tenant: Some((id("tenant_id"), text("t1"))),
            set: vec![(id("name"), text("Ada L."))],
            version_check: Some((id("version"), Param::Int(1))),
            advance: None,
        })
        .await
        .expect("update over TLS");
    assert_eq!(n, 1);
    tx.commit().await.expect("commit");

    // A restart between two calls: the second call reconnects and succeeds.
    let e = engine_for(&url(&server, "127.0.0.1", "ssl-mode=REQUIRED")).await;
    let q = select("accounts", &["name"], "id", Param::Int(1), Some("t1"));
    assert_eq!(
        e.select(&q).await.expect("before restart")[0]["name"],
        "Ada L."
    );
    server.restart().expect("restart");
    let rows = e
        .select(&q)
        .await
        .expect("the first call after a restart succeeds");
    assert_eq!(rows[0]["name"], "Ada L.");
    assert!(e.transport().await.expect("transport").encrypted);
}

#[tokio::test]
async fn required_never_falls_back_to_clear_text() {
    // The shared test server has TLS off: PREFERRED connects in clear message, REQUIRED and the
    // verifying modes refuse before sending credentials in clear.
    let Some(db) = airlock_testkit::fresh_mysql().await else {
        return;
    };
    db.execute_batch(
        "CREATE TABLE accounts (id BIGINT PRIMARY KEY, tenant_id VARCHAR(20) NOT NULL, name VARCHAR(50));
         INSERT INTO accounts VALUES (1, 't1', 'Ada');",
    )
    .await
    .expect("seed");
    let sep = if db.url.contains('?') { '&' } else { '?' };
    let t = read_and_describe(&format!("{}{sep}ssl-mode=PREFERRED", db.url))
        .await
        .expect("preferred falls back");
    assert!(!t.encrypted, "{t:?}");
    for mode in ["REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY"] {
        let err = read_and_describe(&format!("{}{sep}ssl-mode={mode}", db.url))
            .await
            .expect_err(mode);
        let message = err.to_string();
        assert!(message.contains("offers no TLS"), "{mode}: {message}");
        assert!(message.contains(mode), "{mode}: {message}");
        assert_clean(&message);
    }
}

#[tokio::test]
async fn bad_tls_parameters_are_refused_before_dialing() {
    for (u, needle) in [
        (
            "mysql://root:pw@127.0.0.1:1/app?ssl-mode=SOMETIMES",
            "unknown ssl-mode",
        ),
        (
            "mysql://root:pw@127.0.0.1:1/app?verify_identity=true",
            "not supported",
        ),
        (
            "mysql://root:pw@127.0.0.1:1/app?ssl=true&sslmode=disable",
            "two TLS modes",
        ),
    ] {
        let err = connect(&settings(MY, u, None, 1)).await.expect_err(u);
        assert_eq!(err.kind, DbErrorKind::Connection);
        assert!(err.to_string().contains(needle), "{u}: {err}");
        assert_clean(&err.to_string());
    }
}
