//! Approve-and-apply throughput on Postgres, from one process and from two processes sharing
//! one ledger file. Not a criterion bench: it measures a whole flow end to end and prints
//! applies per second and latency percentiles.
//!
//!     cargo bench -p airlock-writeback --bench apply_throughput
//!
//! Env: `AIRLOCK_BENCH_N` (proposals per run, default 2000), `AIRLOCK_TEST_POSTGRES_URL`.

// A bench that reports by printing, like criterion does.
#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use airlock_capability::AliasMode;
use airlock_capability::envelope::Outcome;
use airlock_config::Config;
use airlock_ledger::{Actor, Ledger, Review, SqliteLedger};
use airlock_runtime::{Runtime, RuntimeOptions};
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
    println!(
        "approve + apply on Postgres ({} proposals per run; each = approve, prepare, guarded UPDATE + receipt, 3 ledger transactions)",
        n
    );
    for run in [
        "one process, sequential",
        "one process, 16 in flight",
        "two processes, one ledger",
    ] {
        db.execute_batch_blocking(&format!(
            "DROP TABLE IF EXISTS invoices; DROP TABLE IF EXISTS synapsor_writeback_receipts;
             CREATE TABLE invoices (id text PRIMARY KEY, tenant_id text NOT NULL, late_fee_cents int NOT NULL, version int NOT NULL);
             INSERT INTO invoices SELECT 'INV-' || g, 'acme', 500, 1 FROM generate_series(1, {n}) g;"
        ))
        .unwrap();
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
        let applied = db
            .query_scalar_blocking("SELECT count(*) FROM invoices WHERE version = 2")
            .unwrap()
            .unwrap();
        assert_eq!(applied, n.to_string(), "every row applied exactly once");
        assert!(rt.block_on(ledger.verify()).unwrap().ok);
    }
}
