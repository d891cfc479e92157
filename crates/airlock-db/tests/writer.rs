//! Write transactions against real Postgres, MariaDB/MySQL and SQLite, one fresh database per
//! test. Every scenario is one function run on each engine (see `per_engine!`).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use airlock_db::{
    DbErrorKind, Engine, EngineKind, Ident, Param, ReceiptRow, Row, RowUpdate, TxOptions,
    VersionAdvance, WriteTarget, Writer, connect_writer, receipts_ddl, receipts_migration,
    writer_grants,
};
use airlock_testkit::{FreshDb, fresh_mysql, fresh_postgres, fresh_sqlite};
use chrono::NaiveDateTime;
use common::*;
use serde_json::{Value, json};

const PG_SCHEMA: &str = r#"
CREATE TABLE accounts (
  id int8 PRIMARY KEY, tenant_id text NOT NULL, name text, credit int4 NOT NULL DEFAULT 0,
  version int8 NOT NULL DEFAULT 1,
  updated_at timestamptz(3) NOT NULL DEFAULT '2026-01-01T00:00:00Z',
  modified text NOT NULL DEFAULT '2026-01-01T00:00:00.000Z',
  naive timestamp NOT NULL DEFAULT '2026-01-01 00:00:00',
  label varchar(20) NOT NULL DEFAULT 'abc');
INSERT INTO accounts (id, tenant_id, name) VALUES (1, 't1', 'Ada'), (2, 't1', 'Bob'), (3, 't2', 'Eve');
"#;

const MY_SCHEMA: &str = r#"
CREATE TABLE accounts (
  id BIGINT PRIMARY KEY, tenant_id VARCHAR(20) NOT NULL, name VARCHAR(50), credit INT NOT NULL DEFAULT 0,
  version BIGINT NOT NULL DEFAULT 1,
  updated_at DATETIME(3) NOT NULL DEFAULT '2026-01-01 00:00:00',
  modified VARCHAR(40) NOT NULL DEFAULT '2026-01-01T00:00:00.000Z',
  naive TIMESTAMP(6) NOT NULL DEFAULT '2026-01-01 00:00:00',
  label VARCHAR(20) NOT NULL DEFAULT 'abc');
INSERT INTO accounts (id, tenant_id, name) VALUES (1, 't1', 'Ada'), (2, 't1', 'Bob'), (3, 't2', 'Eve');
"#;

const SQLITE_SCHEMA: &str = r#"
CREATE TABLE accounts (
  id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, name TEXT, credit INTEGER NOT NULL DEFAULT 0,
  version INTEGER NOT NULL DEFAULT 1,
  updated_at TEXT NOT NULL DEFAULT '2026-01-01T00:00:00.000Z',
  modified TEXT NOT NULL DEFAULT '2026-01-01T00:00:00.000Z',
  naive TEXT NOT NULL DEFAULT '2026-01-01 00:00:00',
  label TEXT NOT NULL DEFAULT 'abc');
INSERT INTO accounts (id, tenant_id, name) VALUES (1, 't1', 'Ada'), (2, 't1', 'Bob'), (3, 't2', 'Eve');
"#;

const ALL_COLUMNS: &[&str] = &[
    "id",
    "tenant_id",
    "name",
    "credit",
    "version",
    "updated_at",
    "modified",
    "naive",
    "label",
];

/// A seeded database with a writer (pool of 8) and a reader on it.
struct Fx {
    kind: EngineKind,
    writer: Arc<dyn Writer>,
    reader: Arc<dyn Engine>,
    db: FreshDb,
}

async fn fresh(kind: EngineKind) -> Option<FreshDb> {
    match kind {
        EngineKind::Postgres => fresh_postgres().await,
        EngineKind::Mysql => fresh_mysql().await,
        EngineKind::Sqlite => Some(fresh_sqlite()),
    }
}

async fn fixture(kind: EngineKind) -> Option<Fx> {
    let db = fresh(kind).await?;
    let schema = match kind {
        EngineKind::Postgres => PG_SCHEMA,
        EngineKind::Mysql => MY_SCHEMA,
        EngineKind::Sqlite => SQLITE_SCHEMA,
    };
    db.execute_batch(schema).await.expect("schema");
    let writer = connect_writer(&settings(kind, &db.url, Some(10_000), 8))
        .await
        .expect("writer");
    writer
        .ensure_receipts_table()
        .await
        .expect("receipts table");
    let reader = engine(kind, &db.url, Some(10_000), 2).await;
    Some(Fx {
        kind,
        writer,
        reader,
        db,
    })
}

macro_rules! per_engine {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(fx) = fixture(EngineKind::Postgres).await {
                    super::$name(fx).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mysql() {
                if let Some(fx) = fixture(EngineKind::Mysql).await {
                    super::$name(fx).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(fx) = fixture(EngineKind::Sqlite).await {
                    super::$name(fx).await;
                }
            }
        }
    )*};
}

per_engine!(
    integer_version_check_and_increment,
    timestamp_versions_advance_strictly,
    text_versions_keep_their_format,
    unadvanceable_versions_are_invalid,
    version_mismatch_changes_nothing,
    wrong_tenant_matches_nothing,
    bad_set_value_is_invalid_and_rolls_back,
    receipt_commits_and_rolls_back_with_the_update,
    duplicate_receipts_are_rejected,
    dropped_transaction_rolls_back,
    concurrent_appliers_apply_exactly_once,
    lock_timeout_is_conflict,
    receipts_ddl_applies_cleanly,
    receipts_migration_creates_the_table_in_the_named_schema,
    grants_are_valid_and_sufficient,
    folding_collations_lock_and_update_nothing,
);

// ---------------------------------------------------------------------------------------------
// Helpers

fn scoped(cols: &[&str], key: i64, tenant: &str) -> airlock_db::ScopedSelect {
    select("accounts", cols, "id", Param::Int(key), Some(tenant))
}

fn update(
    key: i64,
    tenant: &str,
    set: Vec<(&str, Param)>,
    check: Option<(&str, Param)>,
    advance: Option<(&str, VersionAdvance)>,
) -> RowUpdate {
    RowUpdate {
        schema: None,
        table: id("accounts"),
        key: (id("id"), Param::Int(key)),
        tenant: Some((id("tenant_id"), text(tenant))),
        set: set.into_iter().map(|(c, p)| (id(c), p)).collect(),
        version_check: check.map(|(c, p)| (id(c), p)),
        advance: advance.map(|(c, a)| (id(c), a)),
    }
}

fn receipt(key: &str, job: &str) -> ReceiptRow {
    ReceiptRow {
        idempotency_key: key.to_owned(),
        job_id: job.to_owned(),
        proposal_id: "wrp_1".to_owned(),
        status: "applied".to_owned(),
        result_hash: Some("sha256:abc".to_owned()),
        completed: true,
    }
}

/// The row as the read path reports it.
async fn read(fx: &Fx, key: i64) -> Row {
    let tenant = if key == 3 { "t2" } else { "t1" };
    let rows = fx
        .reader
        .select(&scoped(ALL_COLUMNS, key, tenant))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    rows.into_iter().next().unwrap()
}

async fn receipt_exists(fx: &Fx, key: &str) -> bool {
    let mut tx = fx.writer.begin().await.unwrap();
    let found = tx.find_receipt(key).await.unwrap();
    tx.rollback().await.unwrap();
    found.is_some()
}

/// A timestamp as any engine prints it, for ordering.
fn instant(v: &Value) -> NaiveDateTime {
    let s = v.as_str().expect("timestamp string");
    let s = s.trim_end_matches(['Z', 'z']).replace('T', " ");
    NaiveDateTime::parse_from_str(&s, "%Y-%m-%d %H:%M:%S%.f").unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn param(v: &Value) -> Param {
    Param::from_json(v).expect("scalar")
}

/// Applies `update` in its own transaction and commits; returns the rows matched.
async fn apply(fx: &Fx, u: &RowUpdate) -> u64 {
    let mut tx = fx.writer.begin().await.unwrap();
    let n = tx.update_row(u).await.unwrap();
    tx.commit().await.unwrap();
    n
}

// ---------------------------------------------------------------------------------------------
// Scenarios

async fn integer_version_check_and_increment(fx: Fx) {
    let before = read(&fx, 1).await;
    let mut tx = fx.writer.begin().await.unwrap();
    // lock_rows maps values exactly like Engine::select.
    let locked = tx.lock_rows(&scoped(ALL_COLUMNS, 1, "t1")).await.unwrap();
    assert_eq!(locked, vec![before.clone()]);
    let version = locked[0]["version"].clone();
    assert_eq!(version, json!(1));
    let n = tx
        .update_row(&update(
            1,
            "t1",
            vec![("name", text("Ada Lovelace")), ("credit", text("5"))],
            Some(("version", param(&version))),
            Some(("version", VersionAdvance::Increment)),
        ))
        .await
        .unwrap();
    assert_eq!(n, 1);
    tx.commit().await.unwrap();
    let after = read(&fx, 1).await;
    assert_eq!(after["name"], json!("Ada Lovelace"));
    assert_eq!(after["credit"], json!(5));
    assert_eq!(after["version"], json!(2));
    // Other rows untouched.
    assert_eq!(read(&fx, 2).await["version"], json!(1));

    // Setting values equal to the current ones still reports the matched row (MySQL needs
    // CLIENT_FOUND_ROWS for this), and a NULL check renders IS NULL (matches nothing here).
    let same = update(1, "t1", vec![("name", text("Ada Lovelace"))], None, None);
    assert_eq!(apply(&fx, &same).await, 1);
    let null_check = update(
        1,
        "t1",
        vec![("name", text("x"))],
        Some(("version", Param::Null)),
        None,
    );
    assert_eq!(apply(&fx, &null_check).await, 0);
    assert_eq!(read(&fx, 1).await["name"], json!("Ada Lovelace"));
}

async fn timestamp_versions_advance_strictly(fx: Fx) {
    // Several applies in quick succession, each guarded by the value the read path reported.
    let mut previous = read(&fx, 1).await["updated_at"].clone();
    for i in 0..5 {
        let n = apply(
            &fx,
            &update(
                1,
                "t1",
                vec![("credit", Param::Int(i))],
                Some(("updated_at", param(&previous))),
                Some(("updated_at", VersionAdvance::Now)),
            ),
        )
        .await;
        assert_eq!(n, 1, "apply {i} with version {previous}");
        let current = read(&fx, 1).await["updated_at"].clone();
        assert!(
            instant(&current) > instant(&previous),
            "{current} after {previous}"
        );
        previous = current;
    }
    // The value read inside a write transaction is the same JSON as the read path's.
    let mut tx = fx.writer.begin().await.unwrap();
    let locked = tx
        .lock_rows(&scoped(&["updated_at", "naive"], 1, "t1"))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(locked[0]["updated_at"], previous);

    // A version in the future moves by one unit of the column's precision (milliseconds).
    let future = match fx.kind {
        EngineKind::Postgres => "'2999-01-01T00:00:00Z'",
        EngineKind::Mysql => "'2999-01-01 00:00:00'",
        EngineKind::Sqlite => "'2999-01-01T00:00:00.000Z'",
    };
    fx.db
        .execute_batch(&format!(
            "UPDATE accounts SET updated_at = {future} WHERE id = 2"
        ))
        .await
        .unwrap();
    let future_read = read(&fx, 2).await["updated_at"].clone();
    let n = apply(
        &fx,
        &update(
            2,
            "t1",
            vec![],
            Some(("updated_at", param(&future_read))),
            Some(("updated_at", VersionAdvance::Now)),
        ),
    )
    .await;
    assert_eq!(n, 1);
    let expected = match fx.kind {
        EngineKind::Postgres => "2999-01-01T00:00:00.001Z",
        EngineKind::Mysql => "2999-01-01 00:00:00.001000", // the read path prints 6 digits
        EngineKind::Sqlite => "2999-01-01T00:00:00.001Z",
    };
    assert_eq!(read(&fx, 2).await["updated_at"], json!(expected));

    // Microsecond (Postgres timestamp, MySQL TIMESTAMP(6)) or second (SQLite text) precision.
    let before = read(&fx, 1).await["naive"].clone();
    for _ in 0..2 {
        let n = apply(
            &fx,
            &update(1, "t1", vec![], None, Some(("naive", VersionAdvance::Now))),
        )
        .await;
        assert_eq!(n, 1);
    }
    let after = read(&fx, 1).await["naive"].clone();
    assert!(instant(&after) > instant(&before), "{after} after {before}");
}

async fn text_versions_keep_their_format(fx: Fx) {
    let mut previous = read(&fx, 1).await["modified"].clone();
    assert_eq!(previous, json!("2026-01-01T00:00:00.000Z"));
    for _ in 0..3 {
        let n = apply(
            &fx,
            &update(
                1,
                "t1",
                vec![("name", text("x"))],
                Some(("modified", param(&previous))),
                Some(("modified", VersionAdvance::Now)),
            ),
        )
        .await;
        assert_eq!(n, 1);
        let current = read(&fx, 1).await["modified"].clone();
        let s = current.as_str().unwrap();
        assert_eq!(s.len(), "2026-01-01T00:00:00.000Z".len(), "{s}");
        assert!(s.ends_with('Z') && s.as_bytes()[10] == b'T', "{s}");
        assert!(instant(&current) > instant(&previous));
        previous = current;
    }
}

async fn unadvanceable_versions_are_invalid(fx: Fx) {
    let cases = [
        ("label", VersionAdvance::Now),       // text that is not a timestamp
        ("label", VersionAdvance::Increment), // text
        ("version", VersionAdvance::Now),     // integer
        ("updated_at", VersionAdvance::Increment),
    ];
    for (col, how) in cases {
        let mut tx = fx.writer.begin().await.unwrap();
        let e = tx
            .update_row(&update(
                1,
                "t1",
                vec![("name", text("x"))],
                None,
                Some((col, how)),
            ))
            .await
            .unwrap_err();
        assert_eq!(e.kind, DbErrorKind::InvalidValue, "{col} {how:?}: {e}");
        assert!(e.detail.contains(col), "{e}");
        // The transaction is unusable now, and commit refuses.
        assert!(tx.lock_rows(&scoped(&["id"], 1, "t1")).await.is_err());
        assert!(tx.commit().await.is_err());
    }
    assert_eq!(read(&fx, 1).await["name"], json!("Ada"));
}

async fn version_mismatch_changes_nothing(fx: Fx) {
    let before = read(&fx, 1).await;
    let mut tx = fx.writer.begin().await.unwrap();
    let n = tx
        .update_row(&update(
            1,
            "t1",
            vec![("name", text("Mallory"))],
            Some(("version", Param::Int(99))),
            Some(("version", VersionAdvance::Increment)),
        ))
        .await
        .unwrap();
    assert_eq!(n, 0);
    // Same with a stale timestamp version (text version: computed under the lock).
    let n = tx
        .update_row(&update(
            1,
            "t1",
            vec![("name", text("Mallory"))],
            Some(("modified", text("2025-01-01T00:00:00.000Z"))),
            Some(("modified", VersionAdvance::Now)),
        ))
        .await
        .unwrap();
    assert_eq!(n, 0);
    tx.commit().await.unwrap();
    assert_eq!(read(&fx, 1).await, before);
}

async fn wrong_tenant_matches_nothing(fx: Fx) {
    let before = read(&fx, 1).await;
    let mut tx = fx.writer.begin().await.unwrap();
    assert!(
        tx.lock_rows(&scoped(&["id"], 1, "t2"))
            .await
            .unwrap()
            .is_empty()
    );
    for advance in [
        None,
        Some(("version", VersionAdvance::Increment)),
        Some(("modified", VersionAdvance::Now)),
    ] {
        let n = tx
            .update_row(&update(
                1,
                "t2",
                vec![("name", text("Eve's"))],
                None,
                advance,
            ))
            .await
            .unwrap();
        assert_eq!(n, 0);
    }
    tx.commit().await.unwrap();
    assert_eq!(read(&fx, 1).await, before);
}

async fn bad_set_value_is_invalid_and_rolls_back(fx: Fx) {
    let before = read(&fx, 1).await;
    let mut tx = fx.writer.begin().await.unwrap();
    // A valid change first, in the same transaction.
    let n = tx
        .update_row(&update(
            1,
            "t1",
            vec![("name", text("changed"))],
            None,
            None,
        ))
        .await
        .unwrap();
    assert_eq!(n, 1);
    for bad in [text("abc"), text("2x"), Param::Float(1.5)] {
        let e = tx
            .update_row(&update(1, "t1", vec![("credit", bad.clone())], None, None))
            .await
            .unwrap_err();
        // The first bad value fails as InvalidValue; afterwards the transaction is unusable.
        assert!(
            e.kind == DbErrorKind::InvalidValue || e.detail.contains("unusable"),
            "{bad:?}: {e}"
        );
    }
    tx.rollback().await.unwrap();
    assert_eq!(read(&fx, 1).await, before);

    // Out of range and NOT NULL violations come from the server, also InvalidValue; setting
    // the tenant column is refused before anything is sent.
    let mut cases = vec![
        ("tenant_id", Param::Null, DbErrorKind::Other),
        ("label", Param::Null, DbErrorKind::InvalidValue),
    ];
    if fx.kind != EngineKind::Sqlite {
        // (SQLite integers are 64-bit: this fits.)
        cases.push(("credit", Param::Int(1 << 40), DbErrorKind::InvalidValue));
    }
    for (col, value, expected) in cases {
        let mut tx = fx.writer.begin().await.unwrap();
        let e = tx
            .update_row(&update(1, "t1", vec![(col, value)], None, None))
            .await
            .unwrap_err();
        assert_eq!(e.kind, expected, "{col}: {e}");
        assert!(tx.commit().await.is_err());
    }
    assert_eq!(read(&fx, 1).await, before);
}

async fn receipt_commits_and_rolls_back_with_the_update(fx: Fx) {
    let mut tx = fx.writer.begin().await.unwrap();
    tx.lock_rows(&scoped(&["version"], 1, "t1")).await.unwrap();
    assert_eq!(tx.find_receipt("wrp_1:1").await.unwrap(), None);
    let u = update(
        1,
        "t1",
        vec![("name", text("committed"))],
        Some(("version", Param::Int(1))),
        Some(("version", VersionAdvance::Increment)),
    );
    assert_eq!(tx.update_row(&u).await.unwrap(), 1);
    tx.insert_receipt(&receipt("wrp_1:1", "wbj_1"))
        .await
        .unwrap();
    // Visible inside the transaction.
    assert!(tx.find_receipt("wrp_1:1").await.unwrap().is_some());
    tx.commit().await.unwrap();

    let mut tx = fx.writer.begin().await.unwrap();
    let stored = tx.find_receipt("wrp_1:1").await.unwrap().expect("receipt");
    tx.rollback().await.unwrap();
    assert_eq!(stored.idempotency_key, "wrp_1:1");
    assert_eq!(stored.job_id, "wbj_1");
    assert_eq!(stored.proposal_id, "wrp_1");
    assert_eq!(stored.status, "applied");
    assert_eq!(stored.result_hash.as_deref(), Some("sha256:abc"));
    assert!(stored.completed_at.is_some());
    assert!(stored.created_at.starts_with("20"), "{}", stored.created_at);
    assert_eq!(read(&fx, 1).await["version"], json!(2));

    // Both vanish on rollback.
    let mut tx = fx.writer.begin().await.unwrap();
    let u = update(
        1,
        "t1",
        vec![("name", text("rolled back"))],
        Some(("version", Param::Int(2))),
        Some(("version", VersionAdvance::Increment)),
    );
    assert_eq!(tx.update_row(&u).await.unwrap(), 1);
    let mut second = receipt("wrp_2:1", "wbj_2");
    second.completed = false;
    second.result_hash = None;
    tx.insert_receipt(&second).await.unwrap();
    let inside = tx.find_receipt("wrp_2:1").await.unwrap().unwrap();
    assert_eq!(inside.completed_at, None);
    assert_eq!(inside.result_hash, None);
    tx.rollback().await.unwrap();
    assert!(!receipt_exists(&fx, "wrp_2:1").await);
    let row = read(&fx, 1).await;
    assert_eq!(row["name"], json!("committed"));
    assert_eq!(row["version"], json!(2));
}

async fn duplicate_receipts_are_rejected(fx: Fx) {
    let mut tx = fx.writer.begin().await.unwrap();
    tx.insert_receipt(&receipt("k1", "job1")).await.unwrap();
    tx.commit().await.unwrap();

    for dup in [receipt("k1", "job2"), receipt("k2", "job1")] {
        let mut tx = fx.writer.begin().await.unwrap();
        assert_eq!(
            tx.update_row(&update(1, "t1", vec![("name", text("dup"))], None, None))
                .await
                .unwrap(),
            1
        );
        let e = tx.insert_receipt(&dup).await.unwrap_err();
        assert_eq!(e.kind, DbErrorKind::Conflict, "{e}");
        assert!(e.is_duplicate_receipt(), "{e}");
        // Unusable afterwards; commit rolls back the update too.
        assert!(tx.commit().await.is_err());
    }
    assert_eq!(read(&fx, 1).await["name"], json!("Ada"));
    assert!(!receipt_exists(&fx, "k2").await);
}

/// Open transactions on this database, as the server sees them.
async fn open_transactions(fx: &Fx) -> Option<i64> {
    let sql = match fx.kind {
        EngineKind::Postgres => {
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'"
        }
        EngineKind::Mysql => {
            "SELECT COUNT(*) FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id WHERE p.DB = DATABASE()"
        }
        EngineKind::Sqlite => return None,
    };
    fx.db
        .query_scalar(sql)
        .await
        .unwrap()
        .map(|s| s.parse().unwrap())
}

async fn dropped_transaction_rolls_back(fx: Fx) {
    let before = read(&fx, 1).await;
    // More dropped transactions than pooled connections: each must come back clean.
    for i in 0..12 {
        let mut tx = fx.writer.begin().await.unwrap();
        tx.lock_rows(&scoped(&["id"], 1, "t1")).await.unwrap();
        let n = tx
            .update_row(&update(
                1,
                "t1",
                vec![("name", text("dropped"))],
                None,
                Some(("version", VersionAdvance::Increment)),
            ))
            .await
            .unwrap();
        assert_eq!(n, 1);
        tx.insert_receipt(&receipt(&format!("drop{i}"), &format!("job{i}")))
            .await
            .unwrap();
        drop(tx);
    }
    // A short lock timeout: the row must be free again.
    let quick = TxOptions {
        lock_timeout: Some(Duration::from_secs(3)),
        statement_timeout: None,
    };
    let mut tx = fx.writer.begin_with(&quick).await.unwrap();
    let rows = tx.lock_rows(&scoped(ALL_COLUMNS, 1, "t1")).await.unwrap();
    assert_eq!(rows, vec![before.clone()]);
    assert_eq!(tx.find_receipt("drop0").await.unwrap(), None);
    tx.commit().await.unwrap();
    assert!(!receipt_exists(&fx, "drop11").await);
    assert_eq!(read(&fx, 1).await, before);

    // No connection stays inside a transaction.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match open_transactions(&fx).await {
            None | Some(0) => break,
            Some(n) if Instant::now() > deadline => panic!("{n} transactions left open"),
            Some(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    // Dropping one outside a runtime-driven context (a plain thread) also rolls back.
    let tx = fx.writer.begin().await.unwrap();
    std::thread::spawn(move || drop(tx)).join().unwrap();
    let mut tx = fx.writer.begin_with(&quick).await.unwrap();
    tx.lock_rows(&scoped(&["id"], 1, "t1")).await.unwrap();
    tx.rollback().await.unwrap();
}

async fn concurrent_appliers_apply_exactly_once(fx: Fx) {
    const TASKS: usize = 50;
    let writer = fx.writer.clone();
    let mut set = tokio::task::JoinSet::new();
    for t in 0..TASKS {
        let writer = writer.clone();
        set.spawn(async move {
            let opts = TxOptions {
                lock_timeout: Some(Duration::from_secs(30)),
                statement_timeout: Some(Duration::from_secs(30)),
            };
            let mut tx = writer.begin_with(&opts).await.expect("begin");
            let select = scoped(&["version", "credit"], 1, "t1");
            // Half the tasks take the one-call path (on Postgres one round trip with the
            // BEGIN), half the two calls: both must see the winner's receipt.
            let (rows, found) = if t % 2 == 0 {
                let locked = tx.lock_for_apply(&select, "wrp_9:1").await.expect("lock");
                (locked.rows, locked.receipt.is_some())
            } else {
                let rows = tx.lock_rows(&select).await.expect("lock");
                (
                    rows,
                    tx.find_receipt("wrp_9:1").await.expect("find").is_some(),
                )
            };
            assert_eq!(rows.len(), 1);
            if found {
                tx.commit().await.expect("commit");
                return false;
            }
            let version = param(&rows[0]["version"]);
            let credit = rows[0]["credit"].as_i64().unwrap();
            let n = tx
                .update_row(&update(
                    1,
                    "t1",
                    vec![("credit", Param::Int(credit + 100))],
                    Some(("version", version)),
                    Some(("version", VersionAdvance::Increment)),
                ))
                .await
                .expect("update");
            assert_eq!(n, 1, "task {t}");
            tx.insert_receipt(&receipt("wrp_9:1", "wbj_9"))
                .await
                .expect("receipt");
            tx.commit().await.expect("commit");
            true
        });
    }
    let mut applied = 0;
    let mut seen = 0;
    while let Some(r) = set.join_next().await {
        if r.unwrap() {
            applied += 1;
        } else {
            seen += 1;
        }
    }
    assert_eq!((applied, seen), (1, TASKS - 1));
    let row = read(&fx, 1).await;
    assert_eq!(row["version"], json!(2));
    assert_eq!(row["credit"], json!(100));
}

async fn lock_timeout_is_conflict(fx: Fx) {
    let mut holder = fx.writer.begin().await.unwrap();
    holder.lock_rows(&scoped(&["id"], 1, "t1")).await.unwrap();
    // SQLite's BEGIN IMMEDIATE already holds the database write lock.
    if fx.kind != EngineKind::Sqlite {
        holder
            .update_row(&update(1, "t1", vec![("name", text("held"))], None, None))
            .await
            .unwrap();
    }
    let short = TxOptions {
        lock_timeout: Some(Duration::from_millis(300)),
        statement_timeout: None,
    };
    let started = Instant::now();
    let e = match fx.kind {
        EngineKind::Sqlite => fx.writer.begin_with(&short).await.unwrap_err(),
        _ => {
            let mut waiter = fx.writer.begin_with(&short).await.unwrap();
            let e = waiter
                .lock_rows(&scoped(&["id"], 1, "t1"))
                .await
                .unwrap_err();
            assert!(waiter.commit().await.is_err());
            e
        }
    };
    let waited = started.elapsed();
    assert_eq!(e.kind, DbErrorKind::Conflict, "{e}");
    // MySQL waits whole seconds (at least 1).
    assert!(waited < Duration::from_secs(4), "{waited:?}");
    // Other rows are not blocked (row locks), except on SQLite (database lock).
    if fx.kind != EngineKind::Sqlite {
        let mut other = fx.writer.begin_with(&short).await.unwrap();
        assert_eq!(
            other
                .lock_rows(&scoped(&["id"], 2, "t1"))
                .await
                .unwrap()
                .len(),
            1
        );
        other.rollback().await.unwrap();
    }
    holder.rollback().await.unwrap();
    assert_eq!(read(&fx, 1).await["name"], json!("Ada"));
}

async fn receipts_migration_creates_the_table_in_the_named_schema(fx: Fx) {
    // Without a schema the migration is the DDL alone.
    assert_eq!(receipts_migration(fx.kind, None), receipts_ddl(fx.kind));
    let empty = fresh(fx.kind).await.unwrap();
    let schema = match fx.kind {
        // A schema the writer's default search_path does not include.
        EngineKind::Postgres => {
            empty
                .execute_batch("CREATE SCHEMA receipts_home")
                .await
                .unwrap();
            id("receipts_home")
        }
        // MySQL's schema is the database: switch to the fresh one by name.
        EngineKind::Mysql => id(&empty
            .query_scalar("SELECT DATABASE()")
            .await
            .unwrap()
            .unwrap()),
        // SQLite has no schemas; the name is ignored.
        EngineKind::Sqlite => id("ignored"),
    };
    let migration = receipts_migration(fx.kind, Some(&schema));
    if fx.kind == EngineKind::Sqlite {
        assert_eq!(migration, receipts_ddl(fx.kind));
    } else {
        assert!(migration.ends_with(&receipts_ddl(fx.kind)), "{migration}");
        assert!(migration.contains(schema.as_str()), "{migration}");
    }
    empty.execute_batch(&migration).await.unwrap();
    let qualified = match fx.kind {
        EngineKind::Postgres => "SELECT count(*) FROM receipts_home.synapsor_writeback_receipts",
        _ => "SELECT count(*) FROM synapsor_writeback_receipts",
    };
    assert_eq!(
        empty.query_scalar(qualified).await.unwrap().as_deref(),
        Some("0")
    );
    if fx.kind == EngineKind::Postgres {
        // Only in the named schema: public has no receipts table.
        let public = empty
            .query_scalar("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'synapsor_writeback_receipts'")
            .await
            .unwrap();
        assert_eq!(public.as_deref(), Some("0"));
    }
}

async fn receipts_ddl_applies_cleanly(fx: Fx) {
    // The fixture created the table through the writer; the DDL is idempotent on top.
    let ddl = receipts_ddl(fx.kind);
    fx.db.execute_batch(&ddl).await.unwrap();
    fx.writer.ensure_receipts_table().await.unwrap();
    // And on an empty database, run by hand.
    let empty = fresh(fx.kind).await.unwrap();
    empty.execute_batch(&ddl).await.unwrap();
    empty.execute_batch(&ddl).await.unwrap();
    let count = empty
        .query_scalar("SELECT count(*) FROM synapsor_writeback_receipts")
        .await
        .unwrap();
    assert_eq!(count.as_deref(), Some("0"));
    for col in [
        "idempotency_key",
        "job_id",
        "proposal_id",
        "status",
        "result_hash",
        "created_at",
        "completed_at",
    ] {
        assert!(ddl.contains(&format!("\n  {col} ")), "{col}");
    }
    let w = connect_writer(&settings(fx.kind, &empty.url, None, 1))
        .await
        .unwrap();
    w.ensure_receipts_table().await.unwrap();
    let mut tx = w.begin().await.unwrap();
    tx.insert_receipt(&receipt("a", "b")).await.unwrap();
    tx.commit().await.unwrap();
}

fn accounts_target(schema: Option<Ident>) -> WriteTarget {
    WriteTarget {
        schema,
        table: id("accounts"),
        update_columns: vec![id("name"), id("updated_at")],
    }
}

async fn grants_are_valid_and_sufficient(fx: Fx) {
    if fx.kind == EngineKind::Sqlite {
        let g = writer_grants(fx.kind, &id("writer"), &[accounts_target(None)]);
        assert!(g.lines().all(|l| l.starts_with("--")), "{g}");
        return;
    }
    let user = fx.db.fresh_user().await.unwrap();
    let role = id(&user.name);
    let schema = match fx.kind {
        EngineKind::Postgres => id("public"),
        _ => id(&fx.db.name),
    };
    let grants = writer_grants(fx.kind, &role, &[accounts_target(Some(schema))]);
    for word in ["DELETE", "CREATE", "ALTER", "DROP", "ALL", "UPDATE ON"] {
        assert!(
            grants
                .lines()
                .filter(|l| !l.starts_with("--"))
                .all(|l| !l.contains(word)),
            "{word} in {grants}"
        );
    }
    fx.db.execute_batch(&grants).await.expect("grants run");
    // Without a schema too (unqualified tables).
    let unqualified = writer_grants(fx.kind, &role, &[accounts_target(None)]);
    fx.db.execute_batch(&unqualified).await.expect("grants run");

    // The least-privilege writer can do the whole apply.
    let w = connect_writer(&settings(fx.kind, &user.url, Some(5000), 2))
        .await
        .unwrap();
    w.ensure_receipts_table().await.unwrap();
    let mut tx = w.begin().await.unwrap();
    let rows = tx
        .lock_rows(&scoped(&["version", "updated_at"], 1, "t1"))
        .await
        .unwrap();
    assert_eq!(tx.find_receipt("g:1").await.unwrap(), None);
    let n = tx
        .update_row(&update(
            1,
            "t1",
            vec![("name", text("granted"))],
            Some(("updated_at", param(&rows[0]["updated_at"]))),
            Some(("updated_at", VersionAdvance::Now)),
        ))
        .await
        .unwrap();
    assert_eq!(n, 1);
    tx.insert_receipt(&receipt("g:1", "gj")).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(read(&fx, 1).await["name"], json!("granted"));

    // And nothing more: no DELETE, no DDL, no UPDATE of receipts.
    let denied = [
        "DELETE FROM accounts WHERE id = 2",
        "UPDATE accounts SET credit = 1 WHERE id = 2",
        "UPDATE accounts SET version = 9 WHERE id = 2",
        "DELETE FROM synapsor_writeback_receipts",
        "UPDATE synapsor_writeback_receipts SET status = 'x'",
        "CREATE TABLE sneaky (x int)",
        "DROP TABLE accounts",
    ];
    for sql in denied {
        let e = run_as(fx.kind, &user.url, sql).await.unwrap_err();
        assert_eq!(e, DbErrorKind::Permission, "{sql}");
    }
    assert_eq!(
        fx.db
            .query_scalar("SELECT count(*) FROM accounts")
            .await
            .unwrap()
            .as_deref(),
        Some("3")
    );
    drop(w);
}

/// Runs one statement as another user and classifies a failure by its code.
async fn run_as(kind: EngineKind, url: &str, sql: &str) -> Result<(), DbErrorKind> {
    match kind {
        EngineKind::Postgres => {
            let (c, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            match c.batch_execute(sql).await {
                Ok(()) => Ok(()),
                Err(e) => match e.code().map(|c| c.code()) {
                    Some("42501") => Err(DbErrorKind::Permission),
                    other => panic!("{sql}: unexpected {other:?} {e}"),
                },
            }
        }
        _ => {
            use mysql_async::prelude::Queryable;
            let mut c = mysql_async::Conn::new(mysql_async::Opts::from_url(url).unwrap())
                .await
                .unwrap();
            let r = c.query_drop(sql).await;
            let _ = c.disconnect().await;
            match r {
                Ok(()) => Ok(()),
                Err(mysql_async::Error::Server(s))
                    if matches!(s.code, 1142 | 1143 | 1044 | 1227) =>
                {
                    Err(DbErrorKind::Permission)
                }
                Err(e) => panic!("{sql}: unexpected {e}"),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Connection errors never show the URL or password

#[tokio::test]
async fn connection_errors_are_classified_and_scrubbed() {
    for (kind, url) in [
        (
            EngineKind::Postgres,
            "postgres://writer:writer-secret-pw@127.0.0.1:9/app",
        ),
        (
            EngineKind::Mysql,
            "mysql://writer:writer-secret-pw@127.0.0.1:9/app",
        ),
    ] {
        let w = connect_writer(&settings(kind, url, Some(1000), 1))
            .await
            .unwrap();
        let e = w.begin().await.unwrap_err();
        assert_eq!(e.kind, DbErrorKind::Connection, "{e}");
        let shown = format!("{e} {e:?} {w:?}");
        for secret in ["writer-secret-pw", "writer:", "127.0.0.1:9/app"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert_eq!(
            w.ensure_receipts_table().await.unwrap_err().kind,
            DbErrorKind::Connection
        );
    }
    // SQLite: a missing file is never created.
    let e = connect_writer(&settings(
        EngineKind::Sqlite,
        "/nonexistent/dir/app.db",
        None,
        1,
    ))
    .await
    .unwrap_err();
    assert_eq!(e.kind, DbErrorKind::Connection);
    assert!(!std::path::Path::new("/nonexistent/dir/app.db").exists());
}

/// Issue 8: on key and tenant columns that fold case (MariaDB `utf8mb4_general_ci`, Postgres
/// nondeterministic ICU and `citext`, SQLite `NOCASE`), a lock or guarded update whose tenant or
/// key differs from the row's in case or padding matches nothing and writes nothing.
async fn folding_collations_lock_and_update_nothing(fx: Fx) {
    let ddl = match fx.kind {
        EngineKind::Postgres => {
            "CREATE EXTENSION IF NOT EXISTS citext;
             CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
             CREATE TABLE folded (id text COLLATE ci PRIMARY KEY, tenant_id citext NOT NULL, note text,
               version int8 NOT NULL DEFAULT 1);"
        }
        EngineKind::Mysql => {
            "CREATE TABLE folded (id VARCHAR(20) PRIMARY KEY, tenant_id VARCHAR(20) NOT NULL, note TEXT,
               version BIGINT NOT NULL DEFAULT 1) DEFAULT CHARSET utf8mb4 COLLATE utf8mb4_general_ci;"
        }
        EngineKind::Sqlite => {
            "CREATE TABLE folded (id TEXT PRIMARY KEY COLLATE NOCASE, tenant_id TEXT NOT NULL COLLATE NOCASE,
               note TEXT, version INTEGER NOT NULL DEFAULT 1);"
        }
    };
    fx.db.execute_batch(ddl).await.unwrap();
    fx.db
        .execute_batch(&format!(
            "INSERT INTO folded (id, tenant_id, note) VALUES {FOLDED_ROWS}"
        ))
        .await
        .unwrap();
    let cols = ["id", "tenant_id", "note", "version"];
    let lock = |key: &str, tenant: &str| select("folded", &cols, "id", text(key), Some(tenant));
    let change = |key: &str, tenant: &str| RowUpdate {
        schema: None,
        table: id("folded"),
        key: (id("id"), text(key)),
        tenant: Some((id("tenant_id"), text(tenant))),
        set: vec![(id("note"), text("changed"))],
        version_check: Some((id("version"), Param::Int(1))),
        advance: Some((id("version"), VersionAdvance::Increment)),
    };
    let unchanged = || async {
        let rows = fx.reader.select(&lock("O-1", "acme")).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["note"], json!("a"), "{:?}", fx.kind);
        assert_eq!(rows[0]["version"], json!(1), "{:?}", fx.kind);
    };

    for (key, tenant) in NEAR_MISSES {
        let mut tx = fx.writer.begin().await.unwrap();
        let locked = tx.lock_rows(&lock(key, tenant)).await.unwrap();
        assert!(
            locked.is_empty(),
            "{:?} {key:?}/{tenant:?}: {locked:?}",
            fx.kind
        );
        let n = tx.update_row(&change(key, tenant)).await.unwrap();
        assert_eq!(n, 0, "{:?} {key:?}/{tenant:?}", fx.kind);
        tx.commit().await.unwrap();
        unchanged().await;
    }
    // A lock without the key and tenant in its projection is checked the same way.
    let mut tx = fx.writer.begin().await.unwrap();
    let narrow = select("folded", &["note"], "id", text("O-1"), Some("ACME"));
    assert!(tx.lock_rows(&narrow).await.unwrap().is_empty());
    tx.rollback().await.unwrap();

    // The exact values still lock and update their row.
    let mut tx = fx.writer.begin().await.unwrap();
    assert_eq!(tx.lock_rows(&lock("O-1", "acme")).await.unwrap().len(), 1);
    assert_eq!(tx.update_row(&change("O-1", "acme")).await.unwrap(), 1);
    tx.commit().await.unwrap();
    let rows = fx.reader.select(&lock("O-1", "acme")).await.unwrap();
    assert_eq!(rows[0]["note"], json!("changed"));
    assert_eq!(rows[0]["version"], json!(2));
    let other = fx.reader.select(&lock("P-1", "ACME")).await.unwrap();
    assert_eq!(other[0]["note"], json!("b"));
}

// ---------------------------------------------------------------------------------------------
// A session killed inside a write transaction (not per_engine!: SQLite has no session to kill)

/// Kills every session on the fixture's database except the admin helper's own, as a
/// failover or an idle reaper would. Returns how many kills the server accepted.
async fn kill_writer_sessions(fx: &Fx) -> usize {
    let list = match fx.kind {
        EngineKind::Postgres => {
            "SELECT coalesce(string_agg(pid::text, ','), '') FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = 'airlock-writer'"
        }
        _ => {
            "SELECT coalesce(GROUP_CONCAT(id), '') FROM information_schema.PROCESSLIST \
             WHERE db = DATABASE() AND id <> CONNECTION_ID()"
        }
    };
    let ids = fx.db.query_scalar(list).await.unwrap().unwrap_or_default();
    let mut killed = 0;
    for id in ids.split(',').filter(|s| !s.is_empty()) {
        let sql = match fx.kind {
            EngineKind::Postgres => format!("SELECT pg_terminate_backend({id})"),
            _ => format!("KILL CONNECTION {id}"),
        };
        if fx.db.execute_batch(&sql).await.is_ok() {
            killed += 1;
        }
    }
    killed
}

async fn killed_inside_a_write_transaction(fx: Fx) {
    let ada = scoped(&["version"], 1, "t1");
    let change = || {
        update(
            1,
            "t1",
            vec![("name", text("after retry"))],
            Some(("version", Param::Int(1))),
            Some(("version", VersionAdvance::Increment)),
        )
    };
    // Killed between the row lock and the update: the update fails as a lost connection,
    // the commit refuses, and nothing changed.
    let mut tx = fx.writer.begin().await.unwrap();
    tx.lock_rows(&ada).await.unwrap();
    assert!(kill_writer_sessions(&fx).await >= 1, "{:?}", fx.kind);
    let err = tx
        .update_row(&change())
        .await
        .expect_err("the session is gone");
    assert_eq!(err.kind, DbErrorKind::Connection, "{err:?}");
    assert!(err.is_connection_lost(), "{:?}: {err:?}", fx.kind);
    assert!(err.to_string().contains("next call reconnects"), "{err}");
    tx.commit()
        .await
        .expect_err("a failed transaction never commits");
    let row = read(&fx, 1).await;
    assert_eq!(row["name"], json!("Ada"));
    assert_eq!(row["version"], json!(1));
    assert!(!receipt_exists(&fx, "wrp_k:1").await);

    // Killed while the connection sat idle in the pool: `begin` reconnects, and the retry
    // applies exactly once.
    assert!(kill_writer_sessions(&fx).await >= 1, "{:?}", fx.kind);
    for attempt in 0..2 {
        let mut tx = fx.writer.begin().await.expect("begin after the kill");
        tx.lock_rows(&ada).await.unwrap();
        if tx.find_receipt("wrp_k:1").await.unwrap().is_some() {
            assert_eq!(attempt, 1, "the receipt appears only after the first apply");
            tx.rollback().await.unwrap();
            continue;
        }
        assert_eq!(attempt, 0);
        assert_eq!(tx.update_row(&change()).await.unwrap(), 1);
        tx.insert_receipt(&receipt("wrp_k:1", "wbj_k"))
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let row = read(&fx, 1).await;
    assert_eq!(row["name"], json!("after retry"));
    assert_eq!(row["version"], json!(2));

    // The same through the one-call first step: its BEGIN fails on the dead connection, a
    // fresh one takes over, and the look-up finds the receipt.
    assert!(kill_writer_sessions(&fx).await >= 1, "{:?}", fx.kind);
    let mut tx = fx.writer.begin().await.expect("begin after the kill");
    let locked = tx
        .lock_for_apply(&ada, "wrp_k:1")
        .await
        .expect("reconnected");
    assert_eq!(locked.rows.len(), 1);
    assert_eq!(locked.receipt.expect("the receipt").job_id, "wbj_k");
    tx.rollback().await.unwrap();

    // Killed while the one-call first step waits for the row lock (Postgres, whose BEGIN
    // travels with it): that is not an idle connection, so nothing is retried and the
    // transaction fails as lost.
    if fx.kind == EngineKind::Postgres {
        let mut holder = fx.writer.begin().await.unwrap();
        holder.lock_rows(&ada).await.unwrap();
        let mut waiter = fx.writer.begin().await.unwrap();
        let killer = async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            // Only the waiting session: the holder's stays.
            fx.db
                .query_scalar(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                     WHERE datname = current_database() AND wait_event_type = 'Lock'",
                )
                .await
                .unwrap()
        };
        let (err, killed) = tokio::join!(waiter.lock_for_apply(&ada, "wrp_k:1"), killer);
        assert_eq!(killed.as_deref(), Some("1"));
        let err = err.expect_err("killed while waiting");
        assert!(err.is_connection_lost(), "{err:?}");
        waiter
            .commit()
            .await
            .expect_err("a failed transaction never commits");
        holder.rollback().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_inside_a_write_transaction_postgres() {
    if let Some(fx) = fixture(EngineKind::Postgres).await {
        killed_inside_a_write_transaction(fx).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_inside_a_write_transaction_mysql() {
    if let Some(fx) = fixture(EngineKind::Mysql).await {
        killed_inside_a_write_transaction(fx).await;
    }
}

/// An update shape remembers the predicates its key and tenant types needed, but every update
/// is still prepared fresh and checked against them: when the key column turns from an integer
/// into text under a case-folding collation, the next update of the same shape compares the
/// key byte for byte again (a near miss updates nothing) instead of reusing the plain
/// predicate it learned before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_shape_relearns_its_predicates_when_the_key_type_changes() {
    let Some(fx) = fixture(EngineKind::Postgres).await else {
        return;
    };
    fx.db
        .execute_batch(
            "CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
             CREATE TABLE shifty (id int8 PRIMARY KEY, tenant_id text NOT NULL, note text,
               version int8 NOT NULL DEFAULT 1);
             INSERT INTO shifty (id, tenant_id, note) VALUES (1, 'acme', 'a');",
        )
        .await
        .unwrap();
    let change = |key: Param| RowUpdate {
        schema: None,
        table: id("shifty"),
        key: (id("id"), key),
        tenant: Some((id("tenant_id"), text("acme"))),
        set: vec![(id("note"), text("changed"))],
        version_check: None,
        advance: None,
    };
    let writer = &fx.writer;
    let run = |u: RowUpdate| async move {
        let mut tx = writer.begin().await.unwrap();
        let n = tx.update_row(&u).await.unwrap();
        tx.commit().await.unwrap();
        n
    };
    assert_eq!(run(change(Param::Int(1))).await, 1, "the integer key");
    fx.db
        .execute_batch(
            "ALTER TABLE shifty ALTER COLUMN id TYPE text COLLATE ci USING 'K-' || id::text;",
        )
        .await
        .unwrap();
    assert_eq!(run(change(text("k-1"))).await, 0, "a near miss in case");
    assert_eq!(run(change(text("K-1"))).await, 1, "the exact key");
}
