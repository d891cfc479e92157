//! SQLite engine against real files, one fresh database per test.

mod common;

use std::time::{Duration, Instant};

use airlock_db::{DbErrorKind, EngineKind, Param};
use airlock_testkit::{FreshDb, fresh_sqlite};
use common::*;
use serde_json::json;

const LITE: EngineKind = EngineKind::Sqlite;

const SEED: &str = r#"
CREATE TABLE accounts (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, name TEXT, email TEXT, balance REAL);
INSERT INTO accounts VALUES (1, 't1', 'Ada', 'ada@example.com', 10.5),
                            (2, 't1', 'Bob', 'bob@example.com', 0),
                            (3, 't2', 'Eve', 'eve@example.com', 99.99);
CREATE TABLE notes (code TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, body TEXT);
INSERT INTO notes VALUES ('a', 't1', 'first'), ('b', 't2', 'second'), ('0', 't1', 'zero');
"#;

async fn seeded() -> FreshDb {
    let db = fresh_sqlite();
    db.execute_batch(SEED).await.expect("seed");
    db
}

#[tokio::test]
async fn own_tenant_row_with_projection_in_order() {
    let db = seeded().await;
    let e = engine(LITE, &db.url, Some(5000), 2).await;
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
        json!({"email": "ada@example.com", "name": "Ada", "id": 1, "balance": 10.5})
    );
}

#[tokio::test]
async fn other_tenant_gets_zero_rows() {
    let db = seeded().await;
    let e = engine(LITE, &db.url, Some(5000), 2).await;
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
    let db = seeded().await;
    let e = engine(LITE, &db.url, Some(5000), 2).await;
    let mut strings = injection_strings();
    strings.push("a\0".to_owned());
    strings.push("\0' OR '1'='1".to_owned());
    for s in strings {
        let short = &s[..s.len().min(40)];
        for (table, key) in [("notes", "code"), ("accounts", "id")] {
            let rows = e
                .select(&select(
                    table,
                    &[key],
                    key,
                    Param::Text(s.clone()),
                    Some("t1"),
                ))
                .await;
            assert!(rows.unwrap().is_empty(), "{table}: {short}");
        }
        let r = e
            .select(&select("notes", &["code"], "code", text("a"), Some(&s)))
            .await;
        assert!(r.unwrap().is_empty(), "{short}");
    }
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
        Some("3")
    );
}

/// SQLite's comparison affinity: integer text matches an INTEGER key; other text matches
/// nothing (no error: SQLite has no typed parameters to reject it against).
#[tokio::test]
async fn integer_key_with_text() {
    let db = seeded().await;
    let e = engine(LITE, &db.url, Some(5000), 2).await;
    for key in [text("2"), Param::Int(2), Param::Float(2.0)] {
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
    for bad in [text("abc"), text("2x"), text("2.5"), text("")] {
        assert!(
            e.select(&select("accounts", &["name"], "id", bad, Some("t1")))
                .await
                .unwrap()
                .is_empty()
        );
    }
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
}

#[tokio::test]
async fn type_mapping() {
    let db = fresh_sqlite();
    db.execute_batch(
        "CREATE TABLE types (id INTEGER PRIMARY KEY, tenant_id TEXT, i INTEGER, big INTEGER, r REAL, rinf REAL,
                             t TEXT, b BLOB, n NUMERIC, untyped, nul TEXT);
         INSERT INTO types VALUES (1, 't1', -42, 9223372036854775807, 0.1, 9e999, 'héllo', X'DEADBEEF', '12.50',
                                   'x', NULL);",
    )
    .await
    .unwrap();
    let expected = json!({
        "i": -42, "big": 9223372036854775807i64, "r": 0.1, "rinf": "Infinity", "t": "héllo",
        "b": "\\xdeadbeef", "n": 12.5, "untyped": "x", "nul": null,
    });
    let cols: Vec<&str> = expected
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let e = engine(LITE, &db.url, Some(5000), 2).await;
    let rows = e
        .select(&select("types", &cols, "id", text("1"), Some("t1")))
        .await
        .unwrap();
    assert_eq!(keys(&rows[0]), cols);
    for (k, v) in expected.as_object().unwrap() {
        assert_eq!(&rows[0][k], v, "column {k}");
    }
}

#[tokio::test]
async fn statement_timeout_fires() {
    let db = seeded().await;
    db.execute_batch(
        "CREATE VIEW slow AS
           WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000)
           SELECT a.id, a.tenant_id, (SELECT count(*) FROM c) AS n FROM accounts a;",
    )
    .await
    .unwrap();
    let e = engine(LITE, &db.url, Some(200), 2).await;
    let started = Instant::now();
    assert_kind(
        e.select(&select("slow", &["n"], "id", text("1"), Some("t1")))
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
    let db = seeded().await;
    let e = engine(LITE, &db.url, Some(5000), 2).await;
    assert_kind(
        e.select(&select("nope", &["id"], "id", text("1"), Some("t1")))
            .await,
        DbErrorKind::NotFound,
    );
    assert_kind(
        e.select(&select("accounts", &["nope"], "id", text("1"), Some("t1")))
            .await,
        DbErrorKind::NotFound,
    );
    let mut q = select("accounts", &["id"], "id", text("1"), Some("t1"));
    q.schema = Some(id("main"));
    assert_eq!(e.select(&q).await.unwrap().len(), 1);
}

#[tokio::test]
async fn missing_or_broken_file() {
    let db = fresh_sqlite();
    let missing = format!("{}.missing", db.url);
    for url in [
        missing.clone(),
        format!("sqlite://{missing}"),
        format!("sqlite:{missing}"),
        format!("file:{missing}"),
    ] {
        let err = assert_kind(
            airlock_db::connect(&settings(LITE, &url, None, 1)).await,
            DbErrorKind::Connection,
        );
        assert!(!err.detail.contains(&missing), "{err}");
        assert!(
            !std::path::Path::new(&missing).exists(),
            "a read-only source must never create its file"
        );
    }
    // A file that is not a database opens, but ping reads the header and fails.
    let junk = format!("{}.junk", db.url);
    std::fs::write(&junk, vec![b'x'; 4096]).unwrap();
    let e = engine(LITE, &junk, None, 1).await;
    assert_kind(e.ping().await, DbErrorKind::Connection);
    // Every accepted URL form works for a real file.
    db.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        .await
        .unwrap();
    for url in [
        db.url.clone(),
        format!("sqlite://{}", db.url),
        format!("sqlite:{}", db.url),
        format!("file:{}?mode=ro", db.url),
    ] {
        engine(LITE, &url, None, 1).await.ping().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pooled_select_timing_and_concurrency() {
    let db = seeded().await;
    let e = engine(LITE, &db.url, Some(5000), 3).await;
    let q = select("accounts", &["id", "name"], "id", text("1"), Some("t1"));
    e.select(&q).await.unwrap();
    let started = Instant::now();
    for _ in 0..200 {
        assert_eq!(e.select(&q).await.unwrap().len(), 1);
    }
    let per = started.elapsed().as_secs_f64() * 1000.0 / 200.0;
    eprintln!("sqlite pooled select: {per:.3} ms");
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..40 {
        let e = e.clone();
        let q = q.clone();
        set.spawn(async move {
            for _ in 0..5 {
                assert_eq!(e.select(&q).await.unwrap().len(), 1);
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
}

/// Issue 8: on `COLLATE NOCASE` (and `RTRIM`) columns, `ACME`, `Acme` or `acme ` never read
/// `acme`'s rows and `o-1` / `O-1 ` never return `O-1`; the primary key index stays in use.
#[tokio::test]
async fn folding_collations_cannot_cross_the_tenant_boundary() {
    let db = fresh_sqlite();
    let mut tables = Vec::new();
    for collation in ["NOCASE", "RTRIM"] {
        let table = format!("folded_{}", collation.to_ascii_lowercase());
        db.execute_batch(&format!(
            "CREATE TABLE {table} (id TEXT PRIMARY KEY COLLATE {collation},
               tenant_id TEXT NOT NULL COLLATE {collation}, note TEXT);
             INSERT INTO {table} VALUES {FOLDED_ROWS};"
        ))
        .await
        .unwrap();
        tables.push(table);
    }
    let e = engine(LITE, &db.url, Some(5000), 2).await;
    for table in &tables {
        assert_exact_boundary(e.as_ref(), table).await;
    }

    let q = select("folded_nocase", &["note"], "id", text("O-1"), Some("acme"));
    let sql = e.render_select(&q);
    assert!(sql.contains("COLLATE BINARY"), "{sql}");
    let conn = rusqlite::Connection::open(&db.url).unwrap();
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let plan: Vec<String> = stmt
        .query_map(["O-1", "O-1", "acme", "acme"], |r| r.get(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        plan.iter()
            .any(|l| l.contains("USING INDEX sqlite_autoindex_folded_nocase_1")),
        "{plan:?}"
    );
}
