//! MySQL/MariaDB engine against a real server, one fresh database per test.

mod common;

use std::time::{Duration, Instant};

use airlock_db::{DbErrorKind, EngineKind, Param};
use airlock_testkit::{FreshDb, fresh_mysql};
use common::*;
use serde_json::json;

const MY: EngineKind = EngineKind::Mysql;

const SEED: &str = r#"
CREATE TABLE accounts (id BIGINT PRIMARY KEY, tenant_id VARCHAR(20) NOT NULL, name VARCHAR(50), email VARCHAR(100),
                       balance DECIMAL(12,2));
INSERT INTO accounts VALUES (1, 't1', 'Ada', 'ada@example.com', 10.50),
                            (2, 't1', 'Bob', 'bob@example.com', 0),
                            (3, 't2', 'Eve', 'eve@example.com', 99.99);
CREATE TABLE notes (code VARCHAR(64) PRIMARY KEY, tenant_id VARCHAR(20) NOT NULL, body TEXT);
INSERT INTO notes VALUES ('a', 't1', 'first'), ('b', 't2', 'second'), ('0', 't1', 'zero');
"#;

async fn seeded() -> Option<FreshDb> {
    let db = fresh_mysql().await?;
    db.execute_batch(SEED).await.expect("seed");
    Some(db)
}

#[tokio::test]
async fn own_tenant_row_with_projection_in_order() {
    let Some(db) = seeded().await else { return };
    let e = engine(MY, &db.url, Some(5000), 2).await;
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
    let e = engine(MY, &db.url, Some(5000), 2).await;
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
    let e = engine(MY, &db.url, Some(5000), 2).await;
    let mut strings = injection_strings();
    strings.push("a\0".to_owned());
    strings.push("\0".to_owned());
    for s in strings {
        let short = &s[..s.len().min(40)];
        let rows = e
            .select(&select(
                "notes",
                &["code", "body"],
                "code",
                Param::Text(s.clone()),
                Some("t1"),
            ))
            .await;
        assert!(rows.unwrap().is_empty(), "{short}");
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
        let r = e
            .select(&select("notes", &["code"], "code", text("a"), Some(&s)))
            .await;
        assert!(r.unwrap().is_empty(), "{short}");
    }
    assert_eq!(
        db.query_scalar("SELECT COUNT(*) FROM accounts")
            .await
            .unwrap()
            .as_deref(),
        Some("3")
    );
    assert_eq!(
        db.query_scalar("SELECT COUNT(*) FROM notes")
            .await
            .unwrap()
            .as_deref(),
        Some("3")
    );
}

#[tokio::test]
async fn integer_key_accepts_integer_text_only() {
    let Some(db) = seeded().await else { return };
    let e = engine(MY, &db.url, Some(5000), 2).await;
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
    // MySQL itself would find id 2 for '2x' and id 0 for 'abc'; the engine refuses instead.
    for bad in [
        text("abc"),
        text("2x"),
        text("2.5"),
        text(""),
        Param::Float(2.5),
    ] {
        assert_kind(
            e.select(&select("accounts", &["name"], "id", bad, Some("t1")))
                .await,
            DbErrorKind::InvalidValue,
        );
    }
    // A number for a string key is compared as text: 0 must not match every non-numeric code.
    let rows = e
        .select(&select(
            "notes",
            &["body"],
            "code",
            Param::Int(0),
            Some("t1"),
        ))
        .await
        .unwrap();
    assert_eq!(json!(rows), json!([{"body": "zero"}]));
    // Decimal keys take decimal text only.
    let rows = e
        .select(&select(
            "accounts",
            &["name"],
            "balance",
            text("10.5"),
            Some("t1"),
        ))
        .await
        .unwrap();
    assert_eq!(json!(rows), json!([{"name": "Ada"}]));
    assert_kind(
        e.select(&select(
            "accounts",
            &["name"],
            "balance",
            text("10.5x"),
            Some("t1"),
        ))
        .await,
        DbErrorKind::InvalidValue,
    );
}

#[tokio::test]
async fn type_mapping() {
    let Some(db) = fresh_mysql().await else {
        return;
    };
    db.execute_batch(
        r#"
        SET time_zone = '+00:00';
        CREATE TABLE types (
            id INT PRIMARY KEY, tenant_id VARCHAR(20) NOT NULL,
            ti TINYINT, si SMALLINT, mi MEDIUMINT, i INT, bi BIGINT, ubi BIGINT UNSIGNED,
            f FLOAT, d DOUBLE, dec_ DECIMAL(30,9),
            dt DATE, dtm DATETIME, dtm6 DATETIME(6), ts TIMESTAMP NULL, tm TIME, tmneg TIME(3),
            ch CHAR(5), vc VARCHAR(20), tx TEXT, js JSON, en ENUM('happy','sad'), st SET('a','b'),
            bl BLOB, vb VARBINARY(10), bin BINARY(4), bt BIT(8), yr YEAR, nul VARCHAR(5)
        );
        INSERT INTO types VALUES (
            1, 't1',
            -128, -32768, -8388608, 2147483647, 9223372036854775807, 18446744073709551615,
            0.1, 0.1, 12345678901234567890.123456789,
            '2026-06-20', '2026-06-20 14:31:08', '2026-06-20 14:31:08.123456', '2026-06-20 14:31:08',
            '12:34:56', '-838:59:58.5',
            'ab', 'vc', 'héllo', '{"a": 1}', 'happy', 'a,b',
            X'DEADBEEF', X'0102', X'CAFE', b'101', 2026, NULL
        );"#,
    )
    .await
    .unwrap();
    let expected = json!({
        "ti": -128, "si": -32768, "mi": -8388608, "i": 2147483647, "bi": 9223372036854775807i64,
        "ubi": 18446744073709551615u64, "f": 0.1, "d": 0.1, "dec_": "12345678901234567890.123456789",
        "dt": "2026-06-20", "dtm": "2026-06-20 14:31:08", "dtm6": "2026-06-20 14:31:08.123456",
        "ts": "2026-06-20 14:31:08", "tm": "12:34:56", "tmneg": "-838:59:58.500000",
        "ch": "ab", "vc": "vc", "tx": "héllo", "js": r#"{"a": 1}"#, "en": "happy", "st": "a,b",
        "bl": "\\xdeadbeef", "vb": "\\x0102", "bin": "\\xcafe0000", "bt": 5, "yr": 2026, "nul": null,
    });
    let cols: Vec<&str> = expected
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let e = engine(MY, &db.url, Some(5000), 2).await;
    let rows = e
        .select(&select("types", &cols, "id", text("1"), Some("t1")))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(keys(&rows[0]), cols);
    for (k, v) in expected.as_object().unwrap() {
        assert_eq!(&rows[0][k], v, "column {k}");
    }
}

#[tokio::test]
async fn statement_timeout_fires() {
    let Some(db) = seeded().await else { return };
    db.execute_batch("CREATE VIEW slow AS SELECT id, tenant_id, name, SLEEP(2) AS s FROM accounts")
        .await
        .unwrap();
    let e = engine(MY, &db.url, Some(200), 2).await;
    let started = Instant::now();
    assert_kind(
        e.select(&select("slow", &["name", "s"], "id", text("1"), Some("t1")))
            .await,
        DbErrorKind::Timeout,
    );
    assert!(
        started.elapsed() < Duration::from_millis(1900),
        "{:?}",
        started.elapsed()
    );
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
    let e = engine(MY, &db.url, Some(5000), 2).await;
    let err = assert_kind(
        e.select(&select("nope", &["id"], "id", text("1"), Some("t1")))
            .await,
        DbErrorKind::NotFound,
    );
    assert_eq!(err.code.as_deref(), Some("1146"));
    let err = assert_kind(
        e.select(&select("accounts", &["nope"], "id", text("1"), Some("t1")))
            .await,
        DbErrorKind::NotFound,
    );
    assert_eq!(err.code.as_deref(), Some("1054"));
    let mut q = select("accounts", &["id"], "id", text("1"), Some("t1"));
    q.schema = Some(id("airlock_no_such_db"));
    assert_kind(e.select(&q).await, DbErrorKind::NotFound);
    q.schema = Some(id(&db.name));
    assert_eq!(e.select(&q).await.unwrap().len(), 1);
}

#[tokio::test]
async fn bad_credentials_and_unreachable_server() {
    let Some(db) = fresh_mysql().await else {
        return;
    };
    let secret = "hunter2-sekrit";
    let admin = db.admin_url();
    let (_, host) = admin.split_once("://").unwrap();
    let host = host
        .rsplit_once('@')
        .map_or(host, |(_, h)| h)
        .split('/')
        .next()
        .unwrap();
    let e = engine(
        MY,
        &format!("mysql://airlock_no_such_user:{secret}@{host}/"),
        Some(1000),
        1,
    )
    .await;
    let err = e.ping().await.unwrap_err();
    assert_eq!(err.kind, DbErrorKind::Permission, "{err}");
    assert!(!err.to_string().contains(secret), "{err}");
    let e = engine(MY, &format!("mysql://root:{secret}@{host}/"), Some(1000), 1).await;
    let err = e.ping().await.unwrap_err();
    assert_eq!(err.kind, DbErrorKind::Permission, "{err}");
    assert!(!err.to_string().contains(secret), "{err}");
    let e = engine(
        MY,
        &format!("mysql://root:{secret}@127.0.0.1:1/"),
        Some(1000),
        1,
    )
    .await;
    let err = e.ping().await.unwrap_err();
    assert_eq!(err.kind, DbErrorKind::Connection, "{err}");
    assert!(!err.to_string().contains(secret), "{err}");
    assert!(!format!("{e:?}").contains(secret), "{e:?}");
    let e = engine(
        MY,
        &airlock_testkit::with_database(admin, "airlock_t_does_not_exist"),
        Some(1000),
        1,
    )
    .await;
    assert_kind(e.ping().await, DbErrorKind::NotFound);
    let r = airlock_db::connect(&settings(
        MY,
        &format!("mysql://u:{secret}@h:notaport/db"),
        None,
        1,
    ))
    .await;
    let err = assert_kind(r, DbErrorKind::Connection);
    assert!(!err.to_string().contains(secret), "{err}");
    engine(MY, &db.url, Some(1000), 1)
        .await
        .ping()
        .await
        .unwrap();
}

#[tokio::test]
async fn pooled_sessions_are_read_only() {
    let Some(db) = seeded().await else { return };
    db.execute_batch(
        "CREATE TABLE audit (x INT);
         CREATE FUNCTION try_write() RETURNS INT MODIFIES SQL DATA BEGIN INSERT INTO audit VALUES (1); RETURN 1; END;
         CREATE VIEW writer AS SELECT 1 AS id, 't1' AS tenant_id, try_write() AS w;
         CREATE FUNCTION ro_flag() RETURNS INT READS SQL DATA RETURN @@session.tx_read_only;
         CREATE FUNCTION max_time() RETURNS DOUBLE READS SQL DATA RETURN @@session.max_statement_time;
         CREATE VIEW session_info AS SELECT 1 AS id, 't1' AS tenant_id, ro_flag() AS ro, max_time() AS mst;",
    )
    .await
    .unwrap();
    let e = engine(MY, &db.url, Some(1500), 2).await;
    assert_kind(
        e.select(&select("writer", &["w"], "id", text("1"), Some("t1")))
            .await,
        DbErrorKind::Permission,
    );
    assert_eq!(
        db.query_scalar("SELECT COUNT(*) FROM audit")
            .await
            .unwrap()
            .as_deref(),
        Some("0")
    );
    let rows = e
        .select(&select(
            "session_info",
            &["ro", "mst"],
            "id",
            text("1"),
            Some("t1"),
        ))
        .await
        .unwrap();
    assert_eq!(json!(rows), json!([{"ro": 1, "mst": 1.5}]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_is_reused_and_bounded() {
    use mysql_async::prelude::Queryable;
    let Some(db) = seeded().await else { return };
    // One long-lived observer connection: short-lived ones linger in PROCESSLIST after QUIT.
    let mut observer = mysql_async::Conn::new(mysql_async::Opts::from_url(&db.url).unwrap())
        .await
        .unwrap();
    let count_sql = "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> CONNECTION_ID()";
    let max = 3;
    let e = engine(MY, &db.url, Some(5000), max).await;
    let q = select("accounts", &["id", "name"], "id", text("1"), Some("t1"));
    e.select(&q).await.unwrap();
    let started = Instant::now();
    for _ in 0..200 {
        assert_eq!(e.select(&q).await.unwrap().len(), 1);
    }
    let per = started.elapsed().as_secs_f64() * 1000.0 / 200.0;
    eprintln!("mysql pooled select: {per:.3} ms");
    let n: Option<usize> = observer.query_first(count_sql).await.unwrap();
    let n = n.unwrap();
    eprintln!("mysql connections after 200 sequential selects: {n}");
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
    let n: Option<usize> = observer.query_first(count_sql).await.unwrap();
    let n = n.unwrap();
    eprintln!("mysql connections after 200 concurrent selects: {n}");
    assert!((1..=max).contains(&n), "{n} connections for max {max}");
    observer.disconnect().await.unwrap();
}

/// Issue 8: MariaDB's default collations fold case and ignore trailing spaces. The key and
/// tenant comparisons must not: `ACME`, `Acme` or `acme ` never read `acme`'s rows, `o-1` or
/// `O-1 ` never return `O-1`.
#[tokio::test]
async fn case_insensitive_collations_cannot_cross_the_tenant_boundary() {
    let Some(db) = fresh_mysql().await else {
        return;
    };
    let mut tables = Vec::new();
    for collation in ["utf8mb4_general_ci", "utf8mb4_unicode_ci"] {
        let table = format!("folded_{}", collation.replace("utf8mb4_", ""));
        db.execute_batch(&format!(
            "CREATE TABLE {table} (id VARCHAR(20) PRIMARY KEY, tenant_id VARCHAR(20) NOT NULL, note TEXT, KEY (tenant_id))
               DEFAULT CHARSET utf8mb4 COLLATE {collation};
             INSERT INTO {table} VALUES {FOLDED_ROWS};"
        ))
        .await
        .unwrap();
        tables.push(table);
    }
    let e = engine(MY, &db.url, Some(5000), 2).await;
    for table in &tables {
        assert_exact_boundary(e.as_ref(), table).await;
    }
}

/// The exact comparison keeps the primary key usable: EXPLAIN of the statement a read runs
/// shows a primary-key lookup, not a scan.
#[tokio::test]
async fn exact_predicates_still_use_the_primary_key() {
    use mysql_async::prelude::Queryable;
    let Some(db) = fresh_mysql().await else {
        return;
    };
    db.execute_batch(
        "CREATE TABLE folded (id VARCHAR(20) PRIMARY KEY, tenant_id VARCHAR(20) NOT NULL, note TEXT)
           DEFAULT CHARSET utf8mb4 COLLATE utf8mb4_general_ci;
         INSERT INTO folded SELECT CONCAT('K-', seq), CONCAT('t', seq % 7), 'x' FROM seq_1_to_2000;",
    )
    .await
    .unwrap();
    let e = engine(MY, &db.url, Some(5000), 2).await;
    let q = select("folded", &["note"], "id", text("K-7"), Some("t0"));
    assert_eq!(e.select(&q).await.unwrap().len(), 1);
    let sql = e.render_select(&q);
    assert!(sql.contains("CAST(? AS BINARY)"), "{sql}");
    let mut conn = mysql_async::Conn::from_url(db.url.as_str()).await.unwrap();
    let plan: Vec<mysql_async::Row> = conn
        .exec(format!("EXPLAIN {sql}"), ("K-7", "K-7", "t0", "t0"))
        .await
        .unwrap();
    let key: Option<String> = plan[0].get("key").flatten();
    let access: Option<String> = plan[0].get("type").flatten();
    assert_eq!(key.as_deref(), Some("PRIMARY"), "{sql}");
    assert!(
        matches!(
            access.as_deref(),
            Some("const" | "eq_ref" | "ref" | "range")
        ),
        "{access:?}"
    );
    conn.disconnect().await.unwrap();
}
