//! `airlock inspect` through the real binary: sources, output forms, coded failures.

mod common;

use common::airlock;
use serde_json::{Value, json};

fn sqlite_app(dir: &std::path::Path) {
    let c = rusqlite::Connection::open(dir.join("app.db")).unwrap();
    c.execute_batch(
        "CREATE TABLE invoices (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, amount INTEGER,
             customer_email TEXT, updated_at DATETIME);
         INSERT INTO invoices VALUES ('INV-1', 't1', 5, 'row-value-never-shown@example.com', NULL);
         CREATE TABLE \"bad\nname\" (x INT);",
    )
    .unwrap();
}

/// A valid config with `sources` and one read capability on the first of them.
fn config(dir: &std::path::Path, sources: Value) {
    let first = sources.as_object().unwrap().keys().next().unwrap().clone();
    let config = json!({
        "version": 1, "mode": "read_only",
        "sources": sources,
        "trusted_context": {"provider": "environment"},
        "capabilities": [{
            "name": "billing.inspect_invoice", "kind": "read", "source": first,
            "target": {"table": "invoices", "primary_key": "id", "tenant_key": "tenant_id"},
            "args": {"invoice_id": {"type": "string", "max_length": 64}},
            "lookup": {"id_from_arg": "invoice_id"},
            "visible_columns": ["id", "amount"]
        }]
    });
    std::fs::write(dir.join("airlock.json"), config.to_string()).unwrap();
}

#[test]
fn sqlite_source_from_config_in_both_forms() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    sqlite_app(dir);
    config(dir, json!({"app": {"engine": "sqlite", "path": "app.db"}}));

    let run = airlock(dir, &["inspect", "--json"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["format"], "airlock.inspect.v1");
    assert_eq!(report["engine"], "sqlite");
    let invoices = &report["tables"][1];
    assert_eq!(invoices["name"], "invoices");
    assert_eq!(invoices["candidates"]["tenant"][0]["column"], "tenant_id");
    assert_eq!(invoices["columns"][3]["sensitive"], "contact");
    assert_eq!(
        invoices["visible_columns"],
        json!(["id", "tenant_id", "amount", "updated_at"])
    );
    assert!(!run.stdout.contains("row-value-never-shown"));

    let run = airlock(dir, &["inspect", "--source", "app"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("main.invoices (table"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("tenant     tenant_id (high"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("customer_email (contact)"),
        "{}",
        run.stdout
    );
    // A newline in a table name is shown escaped, never raw.
    assert!(run.stdout.contains("main.bad\\nname"), "{}", run.stdout);
    assert!(!run.stdout.contains("row-value-never-shown"));

    let run = airlock(dir, &["inspect", "--source", "nope"], &[]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("SOURCE_NOT_FOUND"), "{}", run.stderr);
}

#[test]
fn coded_failures_never_show_the_url_credentials() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let url = "postgres://app:s3cr3t-pw@127.0.0.1:1/db?connect_timeout=2";
    let run = airlock(dir, &["inspect", "--url", url], &[]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("[DB_UNREACHABLE]"), "{}", run.stderr);
    assert!(run.stderr.contains("127.0.0.1:1"), "{}", run.stderr);
    assert!(!run.stderr.contains("s3cr3t-pw"), "{}", run.stderr);
    assert!(run.stderr.contains("hint:"), "{}", run.stderr);

    let run = airlock(dir, &["inspect", "--url-env", "APP_DB_URL"], &[]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("INSPECT_URL_MISSING"), "{}", run.stderr);

    let run = airlock(dir, &["inspect", "--url", "redis://h/0"], &[]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("INSPECT_URL_UNSUPPORTED"),
        "{}",
        run.stderr
    );

    let run = airlock(dir, &["inspect", "--url", "/no/such/app.db"], &[]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("[DB_UNREACHABLE]"), "{}", run.stderr);

    config(
        dir,
        json!({"a": {"engine": "sqlite", "path": "a.db"},
               "b": {"engine": "postgres", "read_url_env": "B_URL"}}),
    );
    let run = airlock(dir, &["inspect"], &[]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("INSPECT_SOURCE_AMBIGUOUS") && run.stderr.contains("a, b"),
        "{}",
        run.stderr
    );
    let run = airlock(dir, &["inspect", "--source", "b"], &[]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("SOURCE_CREDENTIAL_MISSING"),
        "{}",
        run.stderr
    );

    // The original's flags are refused naming the Airlock form.
    let run = airlock(dir, &["inspect", "--from-env", "DATABASE_URL"], &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("airlock inspect --url-env"),
        "{}",
        run.stderr
    );
}

#[test]
fn postgres_by_url_env_with_unknown_schema() {
    let Some(db) = airlock_testkit::fresh_postgres_blocking() else {
        return;
    };
    db.execute_batch_blocking("CREATE TABLE accounts (id int PRIMARY KEY, org_id int NOT NULL)")
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let env = [("APP_DB_URL", db.url.as_str())];
    let run = airlock(tmp.path(), &["inspect", "--url-env", "APP_DB_URL"], &env);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("public.accounts"), "{}", run.stdout);
    assert!(run.stdout.contains("org_id (high"), "{}", run.stdout);

    let run = airlock(
        tmp.path(),
        &[
            "inspect",
            "--url-env",
            "APP_DB_URL",
            "--schema",
            "nope",
            "--json",
        ],
        &env,
    );
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("[DB_NOT_FOUND]"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
}
