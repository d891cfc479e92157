//! Approve-and-apply throughput on Postgres, from one process and from two processes sharing
//! one ledger file, and apply alone across a fleet: three processes on one Postgres ledger
//! (issue 16) racing over the same approved proposals, each with 16 applies in flight. Not a
//! criterion bench: it measures a whole flow end to end and prints applies per second and
//! latency percentiles. Every run checks afterwards that each row changed exactly once, that
//! the ledger holds one `applied` receipt per proposal and that `ledger verify` passes.
//!
//!     cargo bench -p airlock-writeback --bench apply_throughput
//!
//! Env: `AIRLOCK_BENCH_N` (proposals per run, default 2000), `AIRLOCK_TEST_POSTGRES_URL`,
//! `AIRLOCK_BENCH_ONLY=fleet` (only the fleet run).

// A bench that reports by printing, like criterion does.
#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use airlock_capability::AliasMode;
use airlock_capability::envelope::Outcome;
use airlock_config::Config;
use airlock_ledger::{Actor, Ledger, LedgerError, Review, SqliteLedger};
use airlock_ledger_pg::{PgLedgerOptions, PostgresLedger};
use airlock_runtime::{Runtime, RuntimeOptions};
use airlock_writeback::apply::ApplyError;
use airlock_writeback::approval::{self, Verdict};
use airlock_writeback::{apply, setup};
use serde_json::json;

fn config() -> Config {
    let doc = json!({
        "version": 1, "mode": "review",
        "sources": {"app": {"engine": "postgres", "read_url_env": "APP_URL", "write_url_env": "APP_URL"}},
        "trusted_context": {"provider": "environment"},
        "operators": {"dana": {"roles": ["billing_lead"]}},
        "capabilities": [{
            "name": "billing.propose_waiver", "kind": "proposal", "source": "app",
            "target": {"schema": "public", "table": "invoices", "primary_key": "id", "tenant_key": "tenant_id"},
            "args": {"invoice_id": {"type": "string", "max_length": 64}},
            "lookup": {"id_from_arg": "invoice_id"},
            "visible_columns": ["id", "late_fee_cents", "version"],
            "patch": {"late_fee_cents": {"fixed": 0}},
            "allowed_columns": ["late_fee_cents"],
            "conflict_guard": {"column": "version"},
            "approval": {"required_role": "billing_lead"}
        }]
    });
    airlock_config::parse(&doc).expect("valid bench config").0
}

fn env(url: &str) -> HashMap<String, String> {
    [
        ("APP_URL", url),
        ("SYNAPSOR_TENANT_ID", "acme"),
        ("SYNAPSOR_PRINCIPAL", "agent"),
    ]
    .into_iter()
    .map(|(k, v)| (k.into(), v.into()))
    .collect()
}

/// Approves and applies each proposal in `ids`, returning per-proposal latencies.
async fn approve_and_apply(
    ledger: &dyn Review,
    config: &Config,
    url: &str,
    ids: &[String],
    dir: &Path,
) -> Vec<Duration> {
    let cap = &config.capabilities[0];
    let executor = setup::executor_for(config, cap, &env(url), dir).expect("executor");
    let mut latencies = Vec::with_capacity(ids.len());
    for id in ids {
        let started = Instant::now();
        let p = ledger.proposal(id).await.expect("proposal");
        let dana = Actor {
            name: "dana".into(),
            source: "flag".into(),
        };
        approval::decide(ledger, config, &p, &dana, Verdict::Approve, None)
            .await
            .expect("approve");
        let prepared = apply::prepare(ledger, config, id, None, "bench")
            .await
            .expect("prepare");
        let dana = Actor {
            name: "dana".into(),
            source: "flag".into(),
        };
        let report = apply::apply(ledger, executor.as_ref(), prepared, &dana, "bench", false)
            .await
            .expect("apply");
        assert_eq!(report.status, "applied", "{report:?}");
        latencies.push(started.elapsed());
    }
    latencies
}

fn summary(label: &str, wall: Duration, mut l: Vec<Duration>) {
    l.sort();
    let pct = |p: f64| l[((l.len() as f64 * p) as usize).min(l.len() - 1)].as_secs_f64() * 1000.0;
    println!(
        "{label:<28} {:>6} applies in {:>6.2} s = {:>7.1} applies/s   p50 {:.2} ms  p99 {:.2} ms",
        l.len(),
        wall.as_secs_f64(),
        l.len() as f64 / wall.as_secs_f64(),
        pct(0.50),
        pct(0.99)
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Child mode: one of the fleet's three processes.
    if let Ok(spec) = std::env::var("AIRLOCK_BENCH_FLEET_CHILD") {
        let v: serde_json::Value = serde_json::from_str(&spec).unwrap();
        println!("{}", rt.block_on(fleet_child(&v)));
        return;
    }
    // Child mode: one of the two processes.
    if let Ok(spec) = std::env::var("AIRLOCK_BENCH_CHILD") {
        let v: serde_json::Value = serde_json::from_str(&spec).unwrap();
        let ids: Vec<String> = serde_json::from_value(v["ids"].clone()).unwrap();
        let ledger = SqliteLedger::open(Path::new(v["ledger"].as_str().unwrap())).unwrap();
        let dir = PathBuf::from(v["dir"].as_str().unwrap());
        let l = rt.block_on(approve_and_apply(
            &ledger,
            &config(),
            v["url"].as_str().unwrap(),
            &ids,
            &dir,
        ));
        println!(
            "{}",
            json!(l.iter().map(|d| d.as_micros() as u64).collect::<Vec<_>>())
        );
        return;
    }
    let n: usize = std::env::var("AIRLOCK_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let Some(db) = airlock_testkit::fresh_postgres_blocking() else {
        eprintln!("SKIP apply_throughput: Postgres unreachable");
        return;
    };
    if std::env::var("AIRLOCK_BENCH_ONLY").as_deref() == Ok("fleet") {
        fleet_run(&rt, &db, n);
        return;
    }
    println!(
        "approve + apply on Postgres ({} proposals per run; each = approve, prepare, guarded UPDATE + receipt, 3 ledger transactions)",
        n
    );
    for run in [
        "one process, sequential",
        "one process, 16 in flight",
        "two processes, one ledger",
    ] {
        reset_invoices(&db, n);
        let dir = tempfile::tempdir().unwrap();
        let ledger_path = dir.path().join("ledger.db");
        let ledger = Arc::new(SqliteLedger::open(&ledger_path).unwrap());
        let runtime = Runtime::new(
            config(),
            ledger.clone(),
            env(&db.url),
            RuntimeOptions {
                alias_mode: AliasMode::Canonical,
                result_format: None,
                base_dir: dir.path().into(),
                max_connections: 4,
            },
        );
        let ids: Vec<String> = rt.block_on(async {
            let mut ids = Vec::with_capacity(n);
            for i in 1..=n {
                let args = json!({"invoice_id": format!("INV-{i}")});
                match runtime
                    .call("billing.propose_waiver", args.as_object().unwrap(), None)
                    .await
                {
                    Ok(Outcome::Proposal(p)) => ids.push(p.proposal_id),
                    other => panic!("{other:?}"),
                }
            }
            ids
        });
        if run == "one process, sequential" {
            let started = Instant::now();
            let l = rt.block_on(approve_and_apply(
                ledger.as_ref(),
                &config(),
                &db.url,
                &ids,
                dir.path(),
            ));
            summary(run, started.elapsed(), l);
        } else if run == "one process, 16 in flight" {
            let started = Instant::now();
            let config = Arc::new(config());
            let l = rt.block_on(async {
                let tasks: Vec<_> = ids
                    .chunks(n.div_ceil(16))
                    .map(|chunk| {
                        let (ledger, config, url, chunk, dir) = (
                            ledger.clone(),
                            config.clone(),
                            db.url.clone(),
                            chunk.to_vec(),
                            dir.path().to_owned(),
                        );
                        tokio::spawn(async move {
                            approve_and_apply(ledger.as_ref(), &config, &url, &chunk, &dir).await
                        })
                    })
                    .collect();
                let mut all = Vec::new();
                for t in tasks {
                    all.extend(t.await.unwrap());
                }
                all
            });
            summary(run, started.elapsed(), l);
        } else {
            let exe = std::env::current_exe().unwrap();
            let started = Instant::now();
            let children: Vec<_> = ids
                .chunks(n.div_ceil(2))
                .map(|chunk| {
                    let spec = json!({"ids": chunk, "ledger": ledger_path, "url": db.url, "dir": dir.path()});
                    std::process::Command::new(&exe)
                        .env("AIRLOCK_BENCH_CHILD", spec.to_string())
                        .stdout(std::process::Stdio::piped())
                        .spawn()
                        .unwrap()
                })
                .collect();
            let mut all = Vec::new();
            for c in children {
                let out = c.wait_with_output().unwrap();
                assert!(out.status.success());
                let us: Vec<u64> = serde_json::from_slice(&out.stdout).unwrap();
                all.extend(us.into_iter().map(Duration::from_micros));
            }
            summary(run, started.elapsed(), all);
        }
        assert_written_once(&db, n);
        assert!(rt.block_on(ledger.verify()).unwrap().ok);
    }
    fleet_run(&rt, &db, n);
}

/// Fresh `invoices` rows `INV-1..=n`, and a trigger that logs every update of one into
/// `invoice_writes`, so a run can count the writes themselves (the reviewed patch changes only
/// `late_fee_cents`; nothing else on the row tells one write from two).
fn reset_invoices(db: &airlock_testkit::FreshDb, n: usize) {
    db.execute_batch_blocking(&format!(
        "DROP TABLE IF EXISTS invoices; DROP TABLE IF EXISTS invoice_writes;
         DROP TABLE IF EXISTS synapsor_writeback_receipts;
         CREATE TABLE invoices (id text PRIMARY KEY, tenant_id text NOT NULL, late_fee_cents int NOT NULL, version int NOT NULL);
         CREATE TABLE invoice_writes (id text NOT NULL);
         CREATE OR REPLACE FUNCTION log_invoice_write() RETURNS trigger LANGUAGE plpgsql AS
           'BEGIN INSERT INTO invoice_writes VALUES (NEW.id); RETURN NEW; END';
         CREATE TRIGGER invoice_written AFTER UPDATE ON invoices
           FOR EACH ROW EXECUTE FUNCTION log_invoice_write();
         INSERT INTO invoices SELECT 'INV-' || g, 'acme', 500, 1 FROM generate_series(1, {n}) g;"
    ))
    .unwrap();
}

/// Every one of the `n` rows was written exactly once, with the reviewed patch.
fn assert_written_once(db: &airlock_testkit::FreshDb, n: usize) {
    let scalar = |sql: &str| db.query_scalar_blocking(sql).unwrap().unwrap_or_default();
    assert_eq!(
        scalar("SELECT count(*) FROM invoice_writes"),
        n.to_string(),
        "one write per proposal"
    );
    assert_eq!(
        scalar("SELECT count(DISTINCT id) FROM invoice_writes"),
        n.to_string(),
        "every row written"
    );
    assert_eq!(
        scalar("SELECT count(*) FROM invoices WHERE late_fee_cents = 0"),
        n.to_string(),
        "every row carries the patch"
    );
}

const FLEET_SCHEMA: &str = "airlock_bench_fleet";
const FLEET_PROCESSES: usize = 3;
const FLEET_IN_FLIGHT: usize = 16;

fn fleet_options() -> PgLedgerOptions {
    PgLedgerOptions {
        schema: FLEET_SCHEMA.into(),
        ..PgLedgerOptions::default()
    }
}

/// Apply across a fleet: `n` proposals are made and approved first (not timed); then three
/// processes, each its own writer on one Postgres ledger, apply the whole list at once. Each
/// starts a third of the way further along, so they work apart until they meet and then race
/// for the same proposals: exactly one of them may write each row.
fn fleet_run(rt: &tokio::runtime::Runtime, db: &airlock_testkit::FreshDb, n: usize) {
    reset_invoices(db, n);
    db.execute_batch_blocking(&format!("DROP SCHEMA IF EXISTS {FLEET_SCHEMA} CASCADE"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = config();
    let ids: Vec<String> = rt.block_on(async {
        let ledger = Arc::new(
            PostgresLedger::connect(&db.url, fleet_options())
                .await
                .expect("the Postgres ledger"),
        );
        let runtime = Runtime::new(
            config.clone(),
            ledger.clone(),
            env(&db.url),
            RuntimeOptions {
                alias_mode: AliasMode::Canonical,
                result_format: None,
                base_dir: dir.path().into(),
                max_connections: 4,
            },
        );
        let dana = Actor {
            name: "dana".into(),
            source: "flag".into(),
        };
        let mut ids = Vec::with_capacity(n);
        for i in 1..=n {
            let args = json!({"invoice_id": format!("INV-{i}")});
            let id = match runtime
                .call("billing.propose_waiver", args.as_object().unwrap(), None)
                .await
            {
                Ok(Outcome::Proposal(p)) => p.proposal_id,
                other => panic!("{other:?}"),
            };
            let p = ledger.proposal(&id).await.expect("proposal");
            approval::decide(ledger.as_ref(), &config, &p, &dana, Verdict::Approve, None)
                .await
                .expect("approve");
            ids.push(id);
        }
        ledger.close().await.expect("close");
        ids
    });
    let exe = std::env::current_exe().unwrap();
    let cpu_before = (
        airlock_testkit::bench::process_cpu(None).unwrap_or_default(),
        airlock_testkit::bench::command_cpu_seconds("postgres"),
    );
    let started = Instant::now();
    let children: Vec<_> = (0..FLEET_PROCESSES)
        .map(|k| {
            let spec = json!({"ids": ids, "url": db.url, "dir": dir.path(), "start": k * n / FLEET_PROCESSES});
            std::process::Command::new(&exe)
                .env("AIRLOCK_BENCH_FLEET_CHILD", spec.to_string())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let (mut latencies, mut applied, mut already, mut held) = (Vec::new(), 0, 0, 0);
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "a fleet process failed");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let us: Vec<u64> = serde_json::from_value(v["latencies_us"].clone()).unwrap();
        latencies.extend(us.into_iter().map(Duration::from_micros));
        applied += v["applied"].as_u64().unwrap();
        already += v["already_applied"].as_u64().unwrap();
        held += v["lease_held"].as_u64().unwrap();
    }
    let wall = started.elapsed();
    // The three processes, reaped above, and every Postgres process (the app's tables and
    // the ledger share the server), over the timed part only.
    let clients = airlock_testkit::bench::process_cpu(None)
        .unwrap_or_default()
        .reaped_children
        - cpu_before.0.reaped_children;
    let server = airlock_testkit::bench::command_cpu_seconds("postgres") - cpu_before.1;
    println!(
        "apply only, {FLEET_PROCESSES} processes on one Postgres ledger, {FLEET_IN_FLIGHT} in flight each, racing over the same {n} approved proposals"
    );
    summary("fleet: writes (applied)", wall, latencies);
    println!(
        "{:<28} {applied} applied, {already} found already applied, {held} found another worker's lease",
        ""
    );
    let per_apply = |s: f64| s * 1e6 / n as f64;
    println!(
        "{:<28} CPU per applied proposal: the three processes {:.0} µs, Postgres {:.0} µs ({:.2} + {:.2} CPU-s)",
        "",
        per_apply(clients),
        per_apply(server),
        clients,
        server
    );
    assert_eq!(applied, n as u64, "exactly one apply wrote each proposal");
    assert_written_once(db, n);
    let receipts = db
        .query_scalar_blocking(&format!(
            "SELECT count(*) FROM {FLEET_SCHEMA}.receipts WHERE status = 'applied'"
        ))
        .unwrap()
        .unwrap();
    assert_eq!(receipts, n.to_string(), "one applied receipt per proposal");
    let report = rt.block_on(async {
        let ledger = PostgresLedger::connect(&db.url, fleet_options())
            .await
            .unwrap();
        let report = ledger.verify().await.unwrap();
        ledger.close().await.expect("close");
        report
    });
    assert!(report.ok, "ledger verify: {:?}", report.first_break);
}

/// One fleet process: applies every proposal of `ids` from `start` on (wrapping), 16 at a
/// time, and prints what it did as JSON.
async fn fleet_child(v: &serde_json::Value) -> serde_json::Value {
    let ids: Vec<String> = serde_json::from_value(v["ids"].clone()).unwrap();
    let start = v["start"].as_u64().unwrap() as usize;
    let url = v["url"].as_str().unwrap().to_owned();
    let dir = PathBuf::from(v["dir"].as_str().unwrap());
    let order: Arc<Vec<String>> =
        Arc::new(ids[start..].iter().chain(&ids[..start]).cloned().collect());
    let ledger = Arc::new(
        PostgresLedger::connect(&url, fleet_options())
            .await
            .expect("the Postgres ledger"),
    );
    let config = Arc::new(config());
    let executor: Arc<dyn airlock_writeback::Executor> = Arc::from(
        setup::executor_for(&config, &config.capabilities[0], &env(&url), &dir).expect("executor"),
    );
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let tasks: Vec<_> = (0..FLEET_IN_FLIGHT)
        .map(|_| {
            let (ledger, config, executor, order, next) = (
                ledger.clone(),
                config.clone(),
                executor.clone(),
                order.clone(),
                next.clone(),
            );
            tokio::spawn(async move {
                let (mut latencies, mut applied, mut already, mut held) =
                    (Vec::new(), 0u64, 0u64, 0u64);
                let dana = Actor {
                    name: "dana".into(),
                    source: "flag".into(),
                };
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(id) = order.get(i) else { break };
                    let started = Instant::now();
                    let prepared = apply::prepare(ledger.as_ref(), &config, id, None, "bench")
                        .await
                        .expect("prepare");
                    match apply::apply(
                        ledger.as_ref(),
                        executor.as_ref(),
                        prepared,
                        &dana,
                        "bench",
                        false,
                    )
                    .await
                    {
                        Ok(r) if r.status == airlock_protocol::ReceiptStatus::Applied => {
                            applied += 1;
                            latencies.push(started.elapsed().as_micros() as u64);
                        }
                        Ok(r) if r.status == airlock_protocol::ReceiptStatus::AlreadyApplied => {
                            already += 1
                        }
                        Ok(r) => panic!("apply of {id} ended {}: {}", r.status, r.detail),
                        Err(ApplyError::Ledger(LedgerError::LeaseHeld { .. })) => held += 1,
                        Err(e) => panic!("apply of {id}: {e}"),
                    }
                }
                (latencies, applied, already, held)
            })
        })
        .collect();
    let (mut latencies, mut applied, mut already, mut held) = (Vec::new(), 0, 0, 0);
    for t in tasks {
        let (l, a, r, h) = t.await.unwrap();
        latencies.extend(l);
        applied += a;
        already += r;
        held += h;
    }
    ledger.close().await.expect("close");
    json!({"latencies_us": latencies, "applied": applied, "already_applied": already, "lease_held": held})
}
