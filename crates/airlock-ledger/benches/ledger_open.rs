//! Start-up cost on a big ledger: opening a ledger that holds 100,000 proposals (with their
//! evidence, query audit and 300,000 events) and building the tool catalog of the
//! support-billing example. Target: under 10 ms. Also `open_read_only` and
//! `proposal("latest")` on that ledger, and `open` on an empty ledger for comparison.
//!
//! The big ledger is built once through the public API (about a minute) and cached under
//! `<target>/airlock-bench/` (override with `AIRLOCK_BENCH_DATA`).
//!
//! ```text
//! CARGO_TARGET_DIR=target-bench cargo bench -p airlock-ledger --bench ledger_open
//! ```

mod support;

use std::hint::black_box;
use std::time::Duration;

use airlock_capability::{AliasMode, Catalog};
use airlock_ledger::{Ledger, RecordFilter, SqliteLedger};
use criterion::{Criterion, criterion_group, criterion_main};

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let path = support::big_ledger(&rt);
    let config = support::example_config();

    let mut g = c.benchmark_group("ledger_100k");

    // What `airlock mcp` / `airlock propose` pay at start: open (migrations check) + catalog.
    g.bench_function("open_plus_catalog", |b| {
        b.iter_custom(|iters| {
            support::timed_without_drop(iters, || {
                let ledger = SqliteLedger::open(&path).unwrap();
                let catalog = Catalog::new(&config, AliasMode::Canonical);
                (ledger, catalog)
            })
        })
    });
    if support::wants_latency("ledger_100k/open_plus_catalog") {
        support::latency_pass("ledger_100k/open_plus_catalog", 2_000, || {
            support::timed_without_drop(1, || {
                (
                    SqliteLedger::open(&path).unwrap(),
                    Catalog::new(&config, AliasMode::Canonical),
                )
            })
        });
    }

    g.bench_function("open", |b| {
        b.iter_custom(|iters| {
            support::timed_without_drop(iters, || SqliteLedger::open(&path).unwrap())
        })
    });
    // Open, first query, close: includes the WAL checkpoint on close.
    g.bench_function("open_latest_close", |b| {
        b.iter(|| {
            let ledger = SqliteLedger::open(&path).unwrap();
            black_box(rt.block_on(ledger.proposal("latest")).unwrap());
        })
    });
    g.bench_function("open_read_only", |b| {
        b.iter_custom(|iters| {
            support::timed_without_drop(iters, || SqliteLedger::open_read_only(&path).unwrap())
        })
    });
    // What `airlock proposals show latest` does.
    g.bench_function("open_read_only_then_latest", |b| {
        b.iter_custom(|iters| {
            support::timed_without_drop(iters, || {
                let ledger = SqliteLedger::open_read_only(&path).unwrap();
                let p = rt.block_on(ledger.proposal("latest")).unwrap();
                (ledger, p)
            })
        })
    });

    // While another connection holds the file (a running `airlock mcp`), the WAL index
    // already exists and closing does not checkpoint: opening is cheaper.
    let ledger = SqliteLedger::open_read_only(&path).unwrap();
    g.bench_function("open_plus_catalog/while_open_elsewhere", |b| {
        b.iter_custom(|iters| {
            support::timed_without_drop(iters, || {
                let ledger = SqliteLedger::open(&path).unwrap();
                let catalog = Catalog::new(&config, AliasMode::Canonical);
                (ledger, catalog)
            })
        })
    });
    g.bench_function("proposal_latest", |b| {
        b.iter(|| black_box(rt.block_on(ledger.proposal("latest")).unwrap()))
    });
    let filter = RecordFilter::default();
    g.bench_function("proposals_list_20", |b| {
        b.iter(|| black_box(rt.block_on(ledger.proposal_page(&filter)).unwrap()))
    });
    g.finish();
    drop(ledger);

    // Same on an empty ledger: open cost must not grow with the ledger.
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("ledger.db");
    drop(SqliteLedger::open(&empty).unwrap());
    let mut g = c.benchmark_group("ledger_empty");
    g.bench_function("open", |b| {
        b.iter_custom(|iters| {
            support::timed_without_drop(iters, || SqliteLedger::open(&empty).unwrap())
        })
    });
    g.finish();
}

criterion_group! {
    name = ledger_open;
    // Long runs for a noisy 2-core machine; `--measurement-time` on the command line overrides.
    config = Criterion::default().measurement_time(Duration::from_secs(10));
    targets = benches
}
criterion_main!(ledger_open);
