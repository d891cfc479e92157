//! `record_read` throughput on the Postgres ledger: 32 concurrent tasks recording reads
//! through one writer (one `PostgresLedger`, as one server) and through three (three
//! `PostgresLedger`s on one database, as three servers, each its own hash chain). Each
//! iteration is one recorded read; criterion reports time per read, so reads/s = 1 / time.
//!
//! ```text
//! cargo bench -p airlock-ledger-pg --bench pg_ledger_write
//! ```
//!
//! Measured 2026-12-07 on the shared 2-core dev machine (load 6-9, Postgres on the same
//! cores; bench profile without LTO): median 397 µs per read with one writer (~2,500 reads/s)
//! and 441 µs with three (~2,270 reads/s). With the database on the same two cores, three
//! writers cannot go faster than one here: the figure to compare across machines is the
//! one-writer line.
//!
//! Needs the local Postgres (`AIRLOCK_TEST_POSTGRES_URL` or the testkit default); without it
//! the bench prints a SKIP line and measures nothing.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use airlock_ledger::Ledger;
use airlock_ledger_pg::{PgLedgerOptions, PostgresLedger};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const TASKS: u64 = 32;

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let Some(db) = airlock_testkit::fresh_postgres_blocking() else {
        return;
    };
    let mut g = c.benchmark_group("pg_ledger_write");
    g.throughput(Throughput::Elements(1));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    for writers in [1usize, 3] {
        let ledgers: Vec<Arc<PostgresLedger>> = (0..writers)
            .map(|w| {
                Arc::new(
                    rt.block_on(PostgresLedger::connect(
                        &db.url,
                        PgLedgerOptions {
                            writer_id: Some(format!("bench-{writers}-{w}")),
                            max_connections: 8,
                            ..PgLedgerOptions::default()
                        },
                    ))
                    .unwrap(),
                )
            })
            .collect();
        let n = Arc::new(AtomicU64::new(0));
        g.bench_function(
            format!("record_read/{writers}_writers/{TASKS}_tasks"),
            |b| {
                b.iter_custom(|iters| {
                    let reads: Vec<Vec<_>> = (0..TASKS)
                        .map(|t| {
                            (0..iters.div_ceil(TASKS))
                                .filter(|i| i * TASKS + t < iters)
                                .map(|_| {
                                    support::read(&format!(
                                        "B-{}",
                                        n.fetch_add(1, Ordering::Relaxed)
                                    ))
                                })
                                .collect()
                        })
                        .collect();
                    rt.block_on(async {
                        let started = Instant::now();
                        let tasks: Vec<_> = reads
                            .into_iter()
                            .enumerate()
                            .map(|(t, reads)| {
                                let ledger = ledgers[t % ledgers.len()].clone();
                                tokio::spawn(async move {
                                    for r in reads {
                                        ledger.record_read(r).await.unwrap();
                                    }
                                })
                            })
                            .collect();
                        for t in tasks {
                            t.await.unwrap();
                        }
                        started.elapsed()
                    })
                })
            },
        );
        for l in &ledgers {
            rt.block_on(l.close()).unwrap();
        }
    }
    g.finish();
    let ledger = rt
        .block_on(PostgresLedger::connect(&db.url, PgLedgerOptions::default()))
        .unwrap();
    let report = rt.block_on(ledger.verify()).unwrap();
    assert!(report.ok, "{report:?}");
}

criterion_group!(group, benches);
criterion_main!(group);
