//! The ledger's share of a tool call: `record_read` (evidence + query audit + 2 chained events,
//! one transaction) and `record_proposal` (dedupe check, proposal + evidence + audit + 3
//! events, read-back, one transaction) on a file ledger. Records are shaped like the runtime's
//! for the support-billing example and built outside the timed region. Every proposal has a
//! different dedupe key, so each one is a real insert.
//!
//! ```text
//! CARGO_TARGET_DIR=target-bench cargo bench -p airlock-ledger --bench ledger_write
//! ```

mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use airlock_ledger::{Ledger, SqliteLedger};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let records = support::Records::new();
    // On disk next to the other bench data (the temp dir may be a RAM disk elsewhere).
    let base = support::data_dir();
    std::fs::create_dir_all(&base).unwrap();
    let dir = tempfile::tempdir_in(&base).unwrap();
    let ledger = SqliteLedger::open(&dir.path().join("ledger.db")).unwrap();
    let mut n = 0u64;
    // What `record_proposal` returns must be the row as stored (it is not read back).
    let recorded = rt
        .block_on(ledger.record_proposal(records.proposal(n)))
        .unwrap();
    let stored = rt
        .block_on(ledger.proposal(&recorded.proposal.proposal_id))
        .unwrap();
    assert_eq!(recorded.proposal, stored);

    let mut g = c.benchmark_group("ledger_write");
    g.bench_function("record_read", |b| {
        b.iter_batched(
            || {
                n += 1;
                records.read(n)
            },
            |read| black_box(rt.block_on(ledger.record_read(read)).unwrap()),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("record_proposal", |b| {
        b.iter_batched(
            || {
                n += 1;
                records.proposal(n)
            },
            |p| {
                let r = rt.block_on(ledger.record_proposal(p)).unwrap();
                assert!(r.created, "each proposal must be new");
                black_box(r)
            },
            BatchSize::SmallInput,
        )
    });
    // Building the records (ids, JSON, change-set hash) is the runtime's work, not the
    // ledger's; shown for scale.
    g.bench_function("build_read_record", |b| {
        b.iter(|| {
            n += 1;
            black_box(records.read(n))
        })
    });
    g.bench_function("build_proposal_record", |b| {
        b.iter(|| {
            n += 1;
            black_box(records.proposal(n))
        })
    });
    g.finish();

    // Records are built before each pass so that its CPU figure is the ledger's alone.
    const PASS: usize = 5_000;
    if support::wants_latency("ledger_write/record_read") {
        let mut reads = (0..PASS as u64)
            .map(|i| records.read(n + i))
            .collect::<Vec<_>>();
        n += PASS as u64;
        support::latency_pass("ledger_write/record_read", PASS, || {
            let read = reads.pop().unwrap();
            let started = Instant::now();
            rt.block_on(ledger.record_read(read)).unwrap();
            started.elapsed()
        });
    }
    if support::wants_latency("ledger_write/record_proposal") {
        let mut proposals = (0..PASS as u64)
            .map(|i| records.proposal(n + i))
            .collect::<Vec<_>>();
        support::latency_pass("ledger_write/record_proposal", PASS, || {
            let p = proposals.pop().unwrap();
            let started = Instant::now();
            let r = rt.block_on(ledger.record_proposal(p)).unwrap();
            let t = started.elapsed();
            assert!(r.created);
            t
        });
    }
}

criterion_group! {
    name = ledger_write;
    // Long runs for a noisy 2-core machine; `--measurement-time` on the command line overrides.
    config = Criterion::default().measurement_time(Duration::from_secs(10));
    targets = benches
}
criterion_main!(ledger_write);
