//! Postgres engine against a real server, one fresh database per test.

mod common;

use std::time::{Duration, Instant};

use airlock_db::{DbErrorKind, EngineKind, Param};
use airlock_testkit::{FreshDb, fresh_postgres};
use common::*;
use serde_json::json;

const PG: EngineKind = EngineKind::Postgres;

const SEED: &str = r#"
CREATE TABLE accounts (id int8 PRIMARY KEY, tenant_id text NOT NULL, name text, email text, balance numeric(12,2));
INSERT INTO accounts VALUES (1, 't1', 'Ada', 'ada@example.com', 10.50),
                            (2, 't1', 'Bob', 'bob@example.com', 0),
                            (3, 't2', 'Eve', 'eve@example.com', 99.99);
CREATE TABLE notes (code text PRIMARY KEY, tenant_id text NOT NULL, body text);
INSERT INTO notes VALUES ('a', 't1', 'first'), ('b', 't2', 'second');
"#;

async fn seeded() -> Option<FreshDb> {
    let db = fresh_postgres().await?;
    db.execute_batch(SEED).await.expect("seed");
    Some(db)
}

#[tokio::test]
async fn own_tenant_row_with_projection_in_order() {
    let Some(db) = seeded().await else { return };
    let e = engine(PG, &db.url, Some(5000), 2).await;
    let rows = e
        .select(&select(
            "accounts",
            &["email", "name", "id", "balance"],
            "id",
            text("1"),
            Some("t1"),
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(keys(&rows[0]), ["email", "name", "id", "balance"]);
    assert_eq!(
        json!(rows[0]),
        json!({"email": "ada@example.com", "name": "Ada", "id": 1, "balance": "10.50"})
    );
}

#[tokio::test]
async fn other_tenant_gets_zero_rows() {
    let Some(db) = seeded().await else { return };
    let e = engine(PG, &db.url, Some(5000), 2).await;
    assert!(
        e.select(&select("accounts", &["id"], "id", text("3"), Some("t1")))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        e.select(&select("accounts", &["id"], "id", text("1"), Some("t2")))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        e.select(&select("notes", &["body"], "code", text("b"), Some("t1")))
            .await
            .unwrap()
            .is_empty()
    );
    // Without a tenant (acknowledged single-tenant table) the key alone decides.
    assert_eq!(
        e.select(&select("notes", &["body"], "code", text("b"), None))
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn injection_strings_are_only_values() {
    let Some(db) = seeded().await else { return };
    let e = engine(PG, &db.url, Some(5000), 2).await;
    for s in injection_strings() {
        // Text key: compared as a string, matches nothing.
        let rows = e
            .select(&select(
                "notes",
                &["code", "body"],
                "code",
                Param::Text(s.clone()),
                Some("t1"),
            ))
            .await;
        assert!(rows.unwrap().is_empty(), "{}", &s[..s.len().min(40)]);
        // Integer key: not an integer, rejected before it is sent.
        let r = e
            .select(&select(
                "accounts",
                &["id"],
                "id",
                Param::Text(s.clone()),
                Some("t1"),
            ))
            .await;
        assert_kind(r, DbErrorKind::InvalidValue);
        // As the tenant value too.
        let r = e
            .select(&select("notes", &["code"], "code", text("a"), Some(&s)))
            .await;
        assert!(r.unwrap().is_empty());
    }
    // The server refuses NUL in text: InvalidValue, not a panic.
    let r = e
        .select(&select(
            "notes",
            &["code"],
            "code",
            text("a\0' OR '1'='1"),
            Some("t1"),
        ))
        .await;
    let err = assert_kind(r, DbErrorKind::InvalidValue);
    assert_eq!(err.code.as_deref(), Some("22021"));
    assert_eq!(
        db.query_scalar("SELECT count(*) FROM accounts")
            .await
            .unwrap()
            .as_deref(),
        Some("3")
    );
    assert_eq!(
        db.query_scalar("SELECT count(*) FROM notes")
            .await
            .unwrap()
            .as_deref(),
        Some("2")
    );
}

#[tokio::test]
async fn integer_key_accepts_integer_text_only() {
    let Some(db) = seeded().await else { return };
    let e = engine(PG, &db.url, Some(5000), 2).await;
    for key in [text("2"), text(" 2 "), Param::Int(2), Param::Float(2.0)] {
        let rows = e
            .select(&select(
                "accounts",
                &["name"],
                "id",
                key.clone(),
                Some("t1"),
            ))
            .await
            .unwrap();
        assert_eq!(json!(rows), json!([{"name": "Bob"}]), "{key:?}");
    }
    for bad in [
        text("abc"),
        text("2x"),
        text("2.5"),
        text(""),
        text("99999999999999999999"),
        Param::Float(2.5),
        Param::Bool(true),
    ] {
        assert_kind(
            e.select(&select("accounts", &["name"], "id", bad, Some("t1")))
                .await,
            DbErrorKind::InvalidValue,
        );
    }
    // A text key given a number compares as text.
    db.execute_batch("INSERT INTO notes VALUES ('7', 't1', 'seven')")
        .await
        .unwrap();
    let rows = e
        .select(&select(
            "notes",
            &["body"],
            "code",
            Param::Int(7),
            Some("t1"),
        ))
        .await
        .unwrap();
    assert_eq!(json!(rows), json!([{"body": "seven"}]));
}

#[tokio::test]
async fn uuid_numeric_and_date_keys_bind_in_text_format() {
    let Some(db) = fresh_postgres().await else {
        return;
    };
    db.execute_batch(
        "CREATE TABLE things (u uuid PRIMARY KEY, n numeric UNIQUE, d date, tenant_id text NOT NULL);
         INSERT INTO things VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 12345678901234567890.5, '2026-06-20', 't1');",
    )
    .await
    .unwrap();
    let e = engine(PG, &db.url, Some(5000), 2).await;
    let rows = e
        .select(&select(
            "things",
            &["n"],
            "u",
            text("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"),
            Some("t1"),
        ))
        .await;
    assert_eq!(
        json!(rows.unwrap()),
        json!([{"n": "12345678901234567890.5"}])
    );
    let rows = e
        .select(&select(
            "things",
            &["u"],
            "n",
            text("12345678901234567890.5"),
            Some("t1"),
        ))
        .await;
    assert_eq!(
        json!(rows.unwrap()),
        json!([{"u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}])
    );
    // Exactness: a float would round these two to the same value.
    let rows = e
        .select(&select(
            "things",
            &["u"],
            "n",
            text("12345678901234567890.6"),
            Some("t1"),
        ))
        .await;
    assert!(rows.unwrap().is_empty());
    let rows = e
        .select(&select(
            "things",
            &["u"],
            "d",
            text("2026-06-20"),
            Some("t1"),
        ))
        .await;
    assert_eq!(rows.unwrap().len(), 1);
    for (col, bad) in [("u", "not-a-uuid"), ("n", "1e"), ("d", "2026-13-45")] {
        let err = assert_kind(
            e.select(&select("things", &["u"], col, text(bad), Some("t1")))
                .await,
            DbErrorKind::InvalidValue,
        );
        assert!(
            err.code.as_deref().is_some_and(|c| c.starts_with("22")),
            "{err}"
        );
    }
}

#[tokio::test]
async fn type_mapping() {
    let Some(db) = fresh_postgres().await else {
        return;
    };
    db.execute_batch(
        r#"
        CREATE EXTENSION citext;
        CREATE TYPE mood AS ENUM ('happy', 'sad');
        CREATE DOMAIN posint AS int4 CHECK (VALUE > 0);
        CREATE TABLE types (
            id int4 PRIMARY KEY, tenant_id text NOT NULL,
            b bool, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, f8nan float8, f8inf float8, f8ninf float8,
            n numeric, nneg numeric, nscale numeric(10,4), nnan numeric,
            t text, vc varchar(10), bc char(5), nm name, ci citext,
            tstz timestamptz, tstz_us timestamptz, ts timestamp, ts_us timestamp, d date, dinf date,
            j json, jb jsonb, u uuid, by bytea, iv interval, ip inet, e mood, tm time, arr int4[], dom posint,
            o oid, nul text
        );
        INSERT INTO types VALUES (
            1, 't1',
            true, -32768, 2147483647, 9223372036854775807, 0.1, 0.1, 'NaN', 'Infinity', '-Infinity',
            12345678901234567890.123456789, -0.0001, 1.5, 'NaN',
            'héllo', 'vc', 'ab', 'nm', 'CaSe',
            '2026-06-20 14:31:08+00', '2026-06-20 16:31:08.123456+02', '2026-06-20 14:31:08', '2026-06-20 14:31:08.5',
            '2026-06-20', 'infinity',
            '{"a": 1,  "b": [1, 2], "s": "x  y"}', '{"b": [1, 2], "a": {"c": null}}',
            'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '\xdeadbeef', '1 day 02:00:00', '10.0.0.1', 'happy', '12:34:56',
            '{1,2}', 7, 42, NULL
        );"#,
    )
    .await
    .unwrap();
    let expected = json!({
        "b": true, "i2": -32768, "i4": 2147483647, "i8": 9223372036854775807i64,
        "f4": 0.1, "f8": 0.1, "f8nan": "NaN", "f8inf": "Infinity", "f8ninf": "-Infinity",
        "n": "12345678901234567890.123456789", "nneg": "-0.0001", "nscale": "1.5000", "nnan": "NaN",
        "t": "héllo", "vc": "vc", "bc": "ab   ", "nm": "nm", "ci": "CaSe",
        "tstz": "2026-06-20T14:31:08Z", "tstz_us": "2026-06-20T14:31:08.123456Z",
        "ts": "2026-06-20T14:31:08", "ts_us": "2026-06-20T14:31:08.500000",
        "d": "2026-06-20", "dinf": "infinity",
        "j": r#"{"a":1,"b":[1,2],"s":"x  y"}"#, "jb": r#"{"a":{"c":null},"b":[1,2]}"#,
        "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "by": "\\xdeadbeef", "iv": "1 day 02:00:00",
        "ip": "10.0.0.1/32", "e": "happy", "tm": "12:34:56", "arr": "{1,2}", "dom": 7, "o": 42, "nul": null,
    });
    let cols: Vec<&str> = expected
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let e = engine(PG, &db.url, Some(5000), 2).await;
    let q = select("types", &cols, "id", text("1"), Some("t1"));
    let before = e.render_select(&q);
    assert!(!before.contains("::text"), "{before}");
    let rows = e.select(&q).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(keys(&rows[0]), cols);
    for (k, v) in expected.as_object().unwrap() {
        assert_eq!(&rows[0][k], v, "column {k}");
    }
    // Columns without a native mapping are now selected as text, and render_select says so.
    let after = e.render_select(&q);
    for c in ["iv", "ip", "tm", "arr"] {
        assert!(
            after.contains(&format!(r#""{c}"::text AS "{c}""#)),
            "{after}"
        );
    }
    assert!(after.contains(r#""u", "by""#), "{after}");
    // Second run goes through the cached shape and gives the same row.
    assert_eq!(e.select(&q).await.unwrap(), rows);
}

#[tokio::test]
async fn numeric_is_exactly_the_server_text() {
    let Some(db) = fresh_postgres().await else {
        return;
    };
    let values = [
        "0",
        "0.0",
        "1",
        "-1",
        "10000",
        "9999.9999",
        "0.00001",
        "123456789012345678901234567890",
        "1e-20",
        "-1.5e10",
        "100.000",
        "0.1234567890123456789",
        "-99999999.00000001",
        "NaN",
        "Infinity",
        "-Infinity",
    ];
    let mut sql =
        String::from("CREATE TABLE nums (id int PRIMARY KEY, tenant_id text, n numeric);");
    for (i, v) in values.iter().enumerate() {
        sql.push_str(&format!("INSERT INTO nums VALUES ({i}, 't', '{v}');"));
    }
    db.execute_batch(&sql).await.unwrap();
    let e = engine(PG, &db.url, None, 1).await;
    for (i, value) in values.iter().enumerate() {
        let rows = e
            .select(&select(
                "nums",
                &["n"],
                "id",
                Param::Int(i as i64),
                Some("t"),
            ))
            .await
            .unwrap();
        let server = db
            .query_scalar(&format!("SELECT n::text FROM nums WHERE id = {i}"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(rows[0]["n"], json!(server), "value {value}");
    }
}

#[tokio::test]
async fn statement_timeout_fires() {
    let Some(db) = seeded().await else { return };
    db.execute_batch(
        "CREATE VIEW slow AS SELECT a.id, a.tenant_id, a.name FROM accounts a, pg_sleep(2)",
    )
    .await
    .unwrap();
    let e = engine(PG, &db.url, Some(200), 2).await;
    let started = Instant::now();
    let err = assert_kind(
        e.select(&select("slow", &["name"], "id", text("1"), Some("t1")))
            .await,
        DbErrorKind::Timeout,
    );
    assert_eq!(err.code.as_deref(), Some("57014"));
    assert!(
        started.elapsed() < Duration::from_millis(1900),
        "{:?}",
        started.elapsed()
    );
    // The connection is still usable afterwards.
    assert_eq!(
        e.select(&select("accounts", &["name"], "id", text("1"), Some("t1")))
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn missing_table_or_column_is_not_found() {
    let Some(db) = seeded().await else { return };
    let e = engine(PG, &db.url, Some(5000), 2).await;
    let err = assert_kind(
        e.select(&select("nope", &["id"], "id", text("1"), Some("t1")))
            .await,
        DbErrorKind::NotFound,
    );
    assert_eq!(err.code.as_deref(), Some("42P01"));
    let err = assert_kind(
        e.select(&select("accounts", &["nope"], "id", text("1"), Some("t1")))
            .await,
        DbErrorKind::NotFound,
    );
    assert_eq!(err.code.as_deref(), Some("42703"));
    let mut q = select("accounts", &["id"], "id", text("1"), Some("t1"));
    q.schema = Some(id("no_such_schema"));
    assert_kind(e.select(&q).await, DbErrorKind::NotFound);
    q.schema = Some(id("public"));
    assert_eq!(e.select(&q).await.unwrap().len(), 1);
}

#[tokio::test]
async fn bad_credentials_and_unreachable_server() {
    let Some(db) = fresh_postgres().await else {
        return;
    };
    let secret = "hunter2-sekrit";
    let admin = db.admin_url();
    let host = admin
        .split_once('@')
        .map_or("127.0.0.1:5432/postgres", |(_, h)| h);
    // Unknown role (the test server may use trust auth, so a wrong password alone may pass).
    let e = engine(
        PG,
        &format!("postgres://airlock_no_such_role:{secret}@{host}"),
        Some(1000),
        1,
    )
    .await;
    let err = e.ping().await.unwrap_err();
    assert_eq!(err.kind, DbErrorKind::Permission, "{err}");
    assert!(!err.to_string().contains(secret), "{err}");
    // Nothing listens on port 1.
    let e = engine(
        PG,
        &format!("postgres://postgres:{secret}@127.0.0.1:1/postgres"),
        Some(1000),
        1,
    )
    .await;
    let err = e.ping().await.unwrap_err();
    assert_eq!(err.kind, DbErrorKind::Connection, "{err}");
    assert!(!err.to_string().contains(secret), "{err}");
    assert!(!format!("{err:?}").contains(secret), "{err:?}");
    assert!(!format!("{e:?}").contains(secret), "{e:?}");
    // Missing database.
    let base = airlock_testkit::with_database(admin, "airlock_t_does_not_exist");
    let e = engine(PG, &base, Some(1000), 1).await;
    assert_kind(e.ping().await, DbErrorKind::NotFound);
    // Malformed URL: reported by connect, without the password.
    let r = airlock_db::connect(&settings(
        PG,
        &format!("postgres://u:{secret}@h:notaport/db"),
        None,
        1,
    ))
    .await;
    let err = assert_kind(r, DbErrorKind::Connection);
    assert!(!err.to_string().contains(secret), "{err}");
    // And a good one pings.
    engine(PG, &db.url, Some(1000), 1)
        .await
        .ping()
        .await
        .unwrap();
}

#[tokio::test]
async fn pooled_sessions_are_read_only() {
    let Some(db) = seeded().await else { return };
    db.execute_batch(
        "CREATE TABLE audit (x int);
         CREATE FUNCTION try_write() RETURNS int LANGUAGE sql VOLATILE AS 'INSERT INTO audit VALUES (1) RETURNING x';
         CREATE VIEW writer AS SELECT 1 AS id, 't1'::text AS tenant_id, try_write() AS w;
         CREATE VIEW session_info AS SELECT 1 AS id, 't1'::text AS tenant_id,
             current_setting('transaction_read_only') AS ro, current_setting('statement_timeout') AS st;",
    )
    .await
    .unwrap();
    let e = engine(PG, &db.url, Some(1500), 2).await;
    let err = assert_kind(
        e.select(&select("writer", &["w"], "id", text("1"), Some("t1")))
            .await,
        DbErrorKind::Permission,
    );
    assert_eq!(err.code.as_deref(), Some("25006"));
    assert_eq!(
        db.query_scalar("SELECT count(*) FROM audit")
            .await
            .unwrap()
            .as_deref(),
        Some("0")
    );
    let rows = e
        .select(&select(
            "session_info",
            &["ro", "st"],
            "id",
            text("1"),
            Some("t1"),
        ))
        .await
        .unwrap();
    assert_eq!(json!(rows), json!([{"ro": "on", "st": "1500ms"}]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_is_reused_and_bounded() {
    let Some(db) = seeded().await else { return };
    let max = 3;
    let e = engine(PG, &db.url, Some(5000), max).await;
    let q = select("accounts", &["id", "name"], "id", text("1"), Some("t1"));
    e.select(&q).await.unwrap(); // warm: connect + prepare
    let started = Instant::now();
    for _ in 0..200 {
        assert_eq!(e.select(&q).await.unwrap().len(), 1);
    }
    let per = started.elapsed().as_secs_f64() * 1000.0 / 200.0;
    eprintln!("postgres pooled select: {per:.3} ms");
    let count_sql = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'airlock'";
    let n: usize = db
        .query_scalar(count_sql)
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    eprintln!("postgres connections after 200 sequential selects: {n}");
    assert!((1..=max).contains(&n), "{n} connections for max {max}");

    let mut set = tokio::task::JoinSet::new();
    for _ in 0..40 {
        let e = e.clone();
        let q = q.clone();
        set.spawn(async move {
            for _ in 0..5 {
                e.select(&q).await.unwrap();
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    let n: usize = db
        .query_scalar(count_sql)
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    eprintln!("postgres connections after 200 concurrent selects: {n}");
    assert!((1..=max).contains(&n), "{n} connections for max {max}");
}

#[tokio::test]
async fn schema_change_under_a_cached_statement_is_retried() {
    let Some(db) = seeded().await else { return };
    let e = engine(PG, &db.url, Some(5000), 1).await;
    let q = select(
        "accounts",
        &["name", "balance"],
        "id",
        text("1"),
        Some("t1"),
    );
    assert_eq!(e.select(&q).await.unwrap().len(), 1);
    db.execute_batch(
        "ALTER TABLE accounts ALTER COLUMN name TYPE varchar(100);
         ALTER TABLE accounts ALTER COLUMN id TYPE int4;
         ALTER TABLE accounts ALTER COLUMN balance TYPE interval USING make_interval(days => balance::int);",
    )
    .await
    .unwrap();
    let rows = e.select(&q).await.unwrap();
    assert_eq!(json!(rows), json!([{"name": "Ada", "balance": "11 days"}]));
    assert!(
        e.render_select(&q)
            .contains(r#""balance"::text AS "balance""#)
    );
}

/// TLS follows the URL's `sslmode`. The local server runs with `ssl=on` and Debian's
/// self-signed "snakeoil" certificate, which names the machine, not 127.0.0.1.
#[tokio::test]
async fn tls_follows_the_urls_sslmode() {
    let Some(db) = fresh_postgres().await else {
        return;
    };
    if db.query_scalar("SHOW ssl").await.unwrap().as_deref() != Some("on") {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "under CI the local Postgres must run with ssl=on"
        );
        eprintln!("SKIP tls_follows_the_urls_sslmode: this Postgres has ssl=off");
        return;
    }
    db.execute_batch(
        "CREATE VIEW conn AS SELECT 'me'::text AS id, 't'::text AS tenant_id, ssl::text AS ssl
         FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    )
    .await
    .unwrap();
    let cert = db
        .query_scalar("SHOW ssl_cert_file")
        .await
        .unwrap()
        .unwrap();
    let sep = if db.url.contains('?') { '&' } else { '?' };
    let with = |query: &str| format!("{}{sep}{query}", db.url);
    let ssl_of = |url: String| async move {
        let e = engine(PG, &url, Some(5000), 1).await;
        e.select(&select("conn", &["ssl"], "id", text("me"), Some("t")))
            .await
            .map(|rows| json!(rows[0])["ssl"].clone())
    };
    assert_eq!(ssl_of(db.url.clone()).await.unwrap(), "false");
    assert_eq!(ssl_of(with("sslmode=disable")).await.unwrap(), "false");
    assert_eq!(ssl_of(with("sslmode=no-verify")).await.unwrap(), "true");
    // `require` verifies the certificate: a self-signed one is refused, and nothing is read.
    let err = ssl_of(with("sslmode=require")).await.unwrap_err();
    assert_eq!(err.kind, DbErrorKind::Connection, "{err}");
    assert!(err.detail.contains("certificate"), "{err}");
    // Trusting that certificate as a root: the chain verifies, the host name does not.
    let trusted = format!("sslrootcert={cert}");
    // What `doctor` reports, from the server's own view of each session.
    let transport_of = |url: String| async move {
        engine(PG, &url, Some(5000), 1)
            .await
            .transport()
            .await
            .expect("transport")
    };
    let clear = transport_of(with("sslmode=disable")).await;
    assert!(!clear.encrypted && clear.tls_version.is_none(), "{clear:?}");
    let unverified = transport_of(with("sslmode=no-verify")).await;
    assert!(
        unverified.encrypted && !unverified.certificate_verified,
        "{unverified:?}"
    );
    assert!(unverified.tls_version.is_some() && unverified.cipher.is_some());
    let verified = transport_of(with(&format!("sslmode=verify-ca&{trusted}"))).await;
    assert!(
        verified.encrypted && verified.certificate_verified,
        "{verified:?}"
    );
    assert_eq!(verified.requested, "verify-ca");
    assert_eq!(
        ssl_of(with(&format!("sslmode=verify-ca&{trusted}")))
            .await
            .unwrap(),
        "true"
    );
    let err = ssl_of(with(&format!("sslmode=verify-full&{trusted}")))
        .await
        .unwrap_err();
    assert!(err.detail.contains("certificate"), "{err}");
    // Bad TLS parameters fail when the pool is built, with a message that names them.
    for (query, says) in [
        (
            "sslmode=require&sslrootcert=/nonexistent/ca.pem",
            "sslrootcert",
        ),
        ("sslmode=sometimes", "unknown sslmode"),
    ] {
        let err = airlock_db::connect(&settings(PG, &with(query), Some(5000), 1))
            .await
            .unwrap_err();
        assert!(err.to_string().contains(says), "{query}: {err}");
        assert!(
            !err.to_string().contains(&db.url),
            "the URL never appears: {err}"
        );
    }
}

/// The case-folding column types of issue 8: a nondeterministic ICU collation, `citext` (and a
/// domain over it), and `char(n)`, whose padding is not part of its value.
const FOLDED: &str = "
CREATE EXTENSION IF NOT EXISTS citext;
CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE DOMAIN tenant_name AS citext;
CREATE TABLE folded_icu (id text COLLATE ci PRIMARY KEY, tenant_id text COLLATE ci NOT NULL, note text);
CREATE TABLE folded_citext (id citext PRIMARY KEY, tenant_id tenant_name NOT NULL, note text);
CREATE TABLE folded_char (id char(8) PRIMARY KEY, tenant_id char(8) NOT NULL, note text);
";

/// Issue 8: `ACME`, `Acme` or `acme ` never read `acme`'s rows and `o-1` / `O-1 ` never return
/// `O-1`, whatever the columns' collation or type.
#[tokio::test]
async fn case_insensitive_columns_cannot_cross_the_tenant_boundary() {
    let Some(db) = fresh_postgres().await else {
        return;
    };
    db.execute_batch(FOLDED).await.unwrap();
    let tables = ["folded_icu", "folded_citext", "folded_char"];
    for table in tables {
        db.execute_batch(&format!("INSERT INTO {table} VALUES {FOLDED_ROWS}"))
            .await
            .unwrap();
    }
    let e = engine(PG, &db.url, Some(5000), 2).await;
    for table in tables {
        assert_exact_boundary(e.as_ref(), table).await;
    }
}

/// The exact comparison keeps the primary key usable on a nondeterministic collation.
#[tokio::test]
async fn exact_predicates_still_use_the_primary_key() {
    let Some(db) = fresh_postgres().await else {
        return;
    };
    db.execute_batch(FOLDED).await.unwrap();
    db.execute_batch(
        "INSERT INTO folded_icu SELECT 'K-' || g, 't' || (g % 7), 'x' FROM generate_series(1, 2000) g;
         ANALYZE folded_icu;",
    )
    .await
    .unwrap();
    let e = engine(PG, &db.url, Some(5000), 2).await;
    let q = select("folded_icu", &["note"], "id", text("K-7"), Some("t0"));
    assert_eq!(e.select(&q).await.unwrap().len(), 1);
    let sql = e.render_select(&q);
    assert!(sql.contains(r#"COLLATE "C""#), "{sql}");
    let (client, conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute("SET enable_seqscan = off")
        .await
        .unwrap();
    let plan: Vec<String> = client
        .query(&format!("EXPLAIN {sql}"), &[&"K-7", &"K-7", &"t0", &"t0"])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        plan.iter()
            .any(|l| l.contains("Index Scan using folded_icu_pkey")),
        "{plan:#?}"
    );
}
