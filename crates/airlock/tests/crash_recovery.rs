//! A real `airlock apply` process is killed with SIGKILL while its transaction waits on the row
//! (Postgres). After "restart" the state is consistent and a retry applies exactly once.

mod common;

use std::time::{Duration, Instant};

use common::airlock;
use serde_json::{Value, json};

const SCHEMA: &str = "
CREATE TABLE invoices (id text PRIMARY KEY, tenant_id text NOT NULL, late_fee_cents int NOT NULL,
  waiver_reason text, version int NOT NULL);
INSERT INTO invoices VALUES ('INV-1', 'acme', 500, NULL, 1);
";

fn config() -> Value {
    json!({
        "version": 1, "mode": "review",
        "sources": {"app": {"engine": "postgres", "read_url_env": "APP_URL", "write_url_env": "APP_URL"}},
        "trusted_context": {"provider": "environment"},
        "operators": {"dana": {"roles": ["billing_lead"]}},
        "capabilities": [{
            "name": "billing.propose_waiver", "kind": "proposal", "source": "app",
            "target": {"schema": "public", "table": "invoices", "primary_key": "id", "tenant_key": "tenant_id"},
            "args": {"invoice_id": {"type": "string", "max_length": 64}},
            "lookup": {"id_from_arg": "invoice_id"},
            "visible_columns": ["id", "late_fee_cents", "waiver_reason", "version"],
            "patch": {"late_fee_cents": {"fixed": 0}, "waiver_reason": {"fixed": "crash test"}},
            "allowed_columns": ["late_fee_cents", "waiver_reason"],
            "conflict_guard": {"column": "version", "bump": true},
            "approval": {"required_role": "billing_lead"}
        }]
    })
}

#[test]
fn sigkill_during_apply_then_retry_writes_exactly_once() {
    let Some(db) = airlock_testkit::fresh_postgres_blocking() else {
        return;
    };
    db.execute_batch_blocking(SCHEMA).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("airlock.json"), config().to_string()).unwrap();
    let env = [
        ("APP_URL", db.url.as_str()),
        ("SYNAPSOR_TENANT_ID", "acme"),
        ("SYNAPSOR_PRINCIPAL", "agent_7"),
    ];
    let run = airlock(
        dir,
        &[
            "propose",
            "billing.propose_waiver",
            "--json",
            r#"{"invoice_id":"INV-1"}"#,
        ],
        &env,
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let run = airlock(
        dir,
        &["proposals", "approve", "latest", "--actor", "dana", "--yes"],
        &env,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let holder = rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
            .batch_execute("BEGIN; SELECT 1 FROM invoices WHERE id = 'INV-1' FOR UPDATE")
            .await
            .unwrap();
        client
    });

    // Start the apply; it blocks on the row lock inside its transaction.
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin!("airlock"))
        .current_dir(dir)
        .args(["apply", "latest", "--actor", "dana"])
        .envs(env)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        // A fresh connection each time: pg_stat_activity is a per-transaction snapshot.
        let waiting = db
            .query_scalar_blocking("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
            .unwrap()
            .unwrap_or_default();
        if waiting != "0" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the apply never reached the row lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    rt.block_on(holder.batch_execute("ROLLBACK")).unwrap();

    // After the crash: nothing written, proposal visibly mid-apply, ledger intact.
    assert_eq!(
        db.query_scalar_blocking("SELECT late_fee_cents || ':' || version FROM invoices")
            .unwrap()
            .unwrap(),
        "500:1"
    );
    let shown: Value =
        serde_json::from_str(&airlock(dir, &["proposals", "show", "latest", "--json"], &[]).stdout)
            .unwrap();
    assert_eq!(shown["proposal"]["state"], "pending_worker");
    assert_eq!(airlock(dir, &["ledger", "verify"], &[]).code, 0);

    // Retry: applied once.
    let run = airlock(dir, &["apply", "latest", "--actor", "dana", "--json"], &env);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["status"], "applied");
    assert_eq!(
        db.query_scalar_blocking("SELECT late_fee_cents || ':' || version FROM invoices")
            .unwrap()
            .unwrap(),
        "0:2"
    );
    assert_eq!(
        db.query_scalar_blocking("SELECT count(*) FROM synapsor_writeback_receipts")
            .unwrap()
            .unwrap(),
        "1"
    );
    let again: Value = serde_json::from_str(
        &airlock(dir, &["apply", "latest", "--actor", "dana", "--json"], &env).stdout,
    )
    .unwrap();
    assert_eq!(again["status"], "already_applied");
    assert_eq!(
        db.query_scalar_blocking("SELECT late_fee_cents || ':' || version FROM invoices")
            .unwrap()
            .unwrap(),
        "0:2"
    );
    let verify = airlock(dir, &["ledger", "verify", "--json"], &[]);
    assert_eq!(verify.code, 0, "{}", verify.stdout);
}
