//! The ledger at scale (issue 13, "Speed"): on a generated ledger of `AIRLOCK_BENCH_RECORDS`
//! records (default 200,000; the 10-million figures in docs/benchmarks.md are this bench with
//! `AIRLOCK_BENCH_RECORDS=10000000`), times
//!
//! - `open` and `open_read_only` (target < 10 ms),
//! - `replay` of one applied proposal (target < 5 ms),
//! - `stats` (`ledger stats`: counts, sizes, head, checkpoint),
//! - one page (20 rows) of each listing, newest and filtered, and `activity search` with a
//!   common text (also within a tenant, and its second page), one found nowhere, and one found
//!   nowhere within a tenant (target < 50 ms each),
//! - `verify`, as records per second (target ≥ 1,000,000/s),
//! - and, outside criterion, a prune of the oldest 90 % of a copy while a writer records about
//!   1,000 reads a second: the longest prune batch and the writer's longest call (target: no
//!   call blocked more than 100 ms).
//!
//! The ledger comes from `support::generate` (see there for what it holds) and is cached
//! under `<target>/airlock-bench/scale-<N>.db` (`AIRLOCK_BENCH_DATA` moves it);
//! `AIRLOCK_BENCH_INDEX_AT_END=1` generates it without the search index and builds the index
//! at the end through its migration (much faster; see `Spec::index_at_end`).
//! `AIRLOCK_BENCH_SKIP_PRUNE=1` skips the prune pass; `AIRLOCK_BENCH_VERIFY_ONCE=1` adds one
//! timed walk outside criterion (run with a filter such as `-- 'open|replay|stats'` to skip
//! criterion's ten walks on a big ledger).
//!
//! ```text
//! cargo bench -p airlock-ledger --bench ledger_scale
//! AIRLOCK_BENCH_RECORDS=2000000 cargo bench -p airlock-ledger --bench ledger_scale
//! ```

#![allow(clippy::print_stdout)]

mod support;
// Not in `support`: the review UI's bench shares `support` and must not name `ReviewKey`.
#[path = "support/generate.rs"]
#[allow(
    dead_code,
    reason = "shared with the gen_ledger example; not every item is used here"
)]
mod generate;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use airlock_ledger::{Ledger, LedgerTime, RecordFilter, SearchText, SqliteLedger};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use generate::Spec;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn records() -> u64 {
    env_u64("AIRLOCK_BENCH_RECORDS", 200_000)
}

/// The generated ledger of `n` records, built once and reused while its chain has `n` events.
fn ledger(n: u64) -> PathBuf {
    let dir = support::data_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("scale-{n}.db"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let complete = SqliteLedger::open_read_only(&path)
        .ok()
        .and_then(|l| rt.block_on(l.chain_head()).ok().flatten())
        .is_some_and(|h| h.seq as u64 == n);
    if complete {
        eprintln!("using cached ledger {}", path.display());
        return path;
    }
    let building = dir.join(format!("scale-{n}.building.db"));
    generate::remove(&building);
    generate::remove(&path);
    eprintln!(
        "generating {n} records at {} (once; cached) …",
        building.display()
    );
    let done = generate::generate(&Spec {
        records: n,
        out: building.clone(),
        index_at_end: env_u64("AIRLOCK_BENCH_INDEX_AT_END", 0) == 1,
    });
    eprintln!(
        "generated {} events from {} calls in {:.1} s",
        done.events,
        done.calls,
        done.elapsed.as_secs_f64()
    );
    for (from, to) in airlock_ledger::ledger_files(&building)
        .into_iter()
        .zip(airlock_ledger::ledger_files(&path))
    {
        if from.exists() {
            std::fs::rename(from, to).unwrap();
        }
    }
    path
}

fn benches(c: &mut Criterion) {
    let n = records();
    let path = ledger(n);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let reader = SqliteLedger::open_read_only(&path).unwrap();
    let applied = rt
        .block_on(reader.proposal_page(&RecordFilter {
            outcome: Some("applied".into()),
            limit: 1,
            ..RecordFilter::default()
        }))
        .unwrap()
        .items
        .pop()
        .expect("the generated ledger has applied proposals")
        .proposal_id;

    let mut g = c.benchmark_group(format!("ledger_scale_{n}"));
    g.bench_function("open", |b| {
        b.iter_custom(|iters| {
            support::timed_without_drop(iters, || SqliteLedger::open(&path).unwrap())
        })
    });
    g.bench_function("open_read_only", |b| {
        b.iter_custom(|iters| {
            support::timed_without_drop(iters, || SqliteLedger::open_read_only(&path).unwrap())
        })
    });
    g.bench_function("replay_applied_proposal", |b| {
        b.iter(|| black_box(rt.block_on(reader.replay(&applied)).unwrap()))
    });
    g.bench_function("stats", |b| {
        b.iter(|| black_box(reader.storage_stats().unwrap()))
    });
    g.sample_size(10);
    pages(&mut g, &rt, &reader, &path);
    g.throughput(Throughput::Elements(n));
    g.bench_function("verify", |b| {
        b.iter(|| {
            let report = rt.block_on(reader.verify()).unwrap();
            assert!(report.ok, "{report:?}");
            report
        })
    });
    g.finish();
    // One timed walk outside criterion (which needs ten): on 10 million records a walk takes
    // long enough that a single one is the figure.
    if env_u64("AIRLOCK_BENCH_VERIFY_ONCE", 0) == 1 {
        let cpu_before = cpu_seconds();
        if let Ok(n) = std::env::var("AIRLOCK_VERIFY_THREADS") {
            airlock_ledger::set_verify_threads(n.parse().unwrap_or(0));
        }
        let started = Instant::now();
        let report = rt.block_on(reader.verify()).unwrap();
        let took = started.elapsed();
        let cpu = cpu_seconds() - cpu_before;
        assert!(report.ok, "{report:?}");
        let line = format!(
            "ledger_scale_{n}/verify_once: {} records in {:.2} s = {:.0} records/s wall; {:.2} CPU-s = {:.0} records per CPU-second (reading threads: {})",
            report.records_checked,
            took.as_secs_f64(),
            report.records_checked as f64 / took.as_secs_f64(),
            cpu,
            report.records_checked as f64 / cpu,
            std::env::var("AIRLOCK_VERIFY_THREADS").unwrap_or_else(|_| "one per core".into()),
        );
        println!("{line}");
        let _ = std::fs::write(
            support::data_dir().join(format!("scale-{n}-verify.txt")),
            line + "\n",
        );
    }
    drop(reader);
    if env_u64("AIRLOCK_BENCH_SKIP_PRUNE", 0) != 1 {
        prune_pass(&path, n);
    }
}

/// One page of each listing and of `activity search`, on the big ledger.
fn pages(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    rt: &tokio::runtime::Runtime,
    reader: &SqliteLedger,
    path: &Path,
) {
    let page = |f: RecordFilter| RecordFilter { limit: 20, ..f };
    let recent: chrono::DateTime<chrono::Utc> = generate::cutoff_at(path, 0.99)
        .parse()
        .expect("created_at is RFC 3339");
    let newest = page(RecordFilter::default());
    let tenant = page(RecordFilter {
        tenant: Some("north-shore-pilates".into()),
        ..RecordFilter::default()
    });
    // The generated ledger spans the minutes it took to write: its last 1 %.
    let last_minute = page(RecordFilter {
        from: Some(LedgerTime::from_utc(recent)),
        ..RecordFilter::default()
    });
    let object = page(RecordFilter {
        object_id: Some("MB-3417".into()),
        ..RecordFilter::default()
    });
    let outcome = page(RecordFilter {
        outcome: Some("not_found".into()),
        tenant: Some("lakeside-climbing".into()),
        ..RecordFilter::default()
    });
    let cases: [(&str, &RecordFilter); 5] = [
        ("newest", &newest),
        ("tenant", &tenant),
        ("last_1pct", &last_minute),
        ("object", &object),
        ("tenant_outcome", &outcome),
    ];
    for (name, f) in cases {
        g.bench_function(format!("page/evidence/{name}"), |b| {
            b.iter(|| black_box(rt.block_on(reader.evidence_page(f)).unwrap()))
        });
        g.bench_function(format!("page/query_audit/{name}"), |b| {
            b.iter(|| black_box(rt.block_on(reader.query_audit_page(f)).unwrap()))
        });
    }
    g.bench_function("page/proposals/newest", |b| {
        b.iter(|| black_box(rt.block_on(reader.proposal_page(&newest)).unwrap()))
    });
    g.bench_function("page/proposals/tenant", |b| {
        b.iter(|| black_box(rt.block_on(reader.proposal_page(&tenant)).unwrap()))
    });
    g.bench_function("page/receipts/newest", |b| {
        b.iter(|| black_box(rt.block_on(reader.receipt_page(&newest)).unwrap()))
    });
    let common = SearchText::new("MB-3417").unwrap();
    let nowhere = SearchText::new("zq-no-such-text").unwrap();
    g.bench_function("search/common_text", |b| {
        b.iter(|| black_box(rt.block_on(reader.search(Some(&common), &newest)).unwrap()))
    });
    g.bench_function("search/common_text_tenant", |b| {
        b.iter(|| black_box(rt.block_on(reader.search(Some(&common), &tenant)).unwrap()))
    });
    // The second page, through the first one's cursor.
    let second = RecordFilter {
        cursor: rt
            .block_on(reader.search(Some(&common), &newest))
            .unwrap()
            .next_cursor,
        ..newest.clone()
    };
    g.bench_function("search/common_text_page_2", |b| {
        b.iter(|| black_box(rt.block_on(reader.search(Some(&common), &second)).unwrap()))
    });
    g.bench_function("search/absent_text_tenant", |b| {
        b.iter(|| black_box(rt.block_on(reader.search(Some(&nowhere), &tenant)).unwrap()))
    });
    g.bench_function("search/absent_text_everything", |b| {
        b.iter(|| black_box(rt.block_on(reader.search(Some(&nowhere), &newest)).unwrap()))
    });
}

/// CPU time this process has used (user + system), from `/proc/self/stat` (0 elsewhere).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which ends with ')'): utime and stime are the 12th and
    // 13th of them, in clock ticks (100 per second on Linux).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// One call of the writer during the prune pass: when it started (since the prune started;
/// negative before), how long it took, and its error if it failed.
struct Call {
    at: f64,
    took: Duration,
    error: Option<String>,
}

/// Records about 1,000 reads a second into `ledger` until `stop` is set, timing each call
/// against `zero`; a failed call is kept with its error (and the writer goes on), so one
/// `database is locked` does not lose the figures of the rest.
fn timed_reads(
    rt: &tokio::runtime::Runtime,
    ledger: Arc<SqliteLedger>,
    stop: Arc<AtomicBool>,
    zero: Instant,
    live: PathBuf,
) -> tokio::task::JoinHandle<Vec<Call>> {
    let records = support::Records::new();
    rt.spawn(async move {
        // Slow and failed calls as they happen, so a stopped run still leaves them.
        let mut live = std::fs::File::create(live)
            .map(std::io::LineWriter::new)
            .ok();
        let mut calls = Vec::new();
        let mut n = 0;
        while !stop.load(Ordering::Relaxed) {
            let r = records.read(n);
            let started = Instant::now();
            let done = ledger.record_read(r).await;
            calls.push(Call {
                at: if started >= zero {
                    started.duration_since(zero).as_secs_f64()
                } else {
                    -zero.duration_since(started).as_secs_f64()
                },
                took: started.elapsed(),
                error: done.err().map(|e| format!("{e:?}")),
            });
            let call = calls.last().expect("just pushed");
            if (call.error.is_some() || call.took > Duration::from_millis(20))
                && let Some(out) = live.as_mut()
            {
                use std::io::Write;
                let _ = writeln!(
                    out,
                    "call {:.3} {:.1} {}",
                    call.at,
                    call.took.as_secs_f64() * 1e3,
                    call.error.as_deref().unwrap_or("")
                );
            }
            n += 1;
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        calls
    })
}

/// Prunes the oldest 90 % of a copy while a writer records about 1,000 reads a second, timing
/// each of the writer's calls and each batch of the prune. Besides the summary line, writes
/// `<data>/scale-<N>-prune-log.txt`: when each batch ended (seconds since the prune started)
/// and the time since the previous one (batch, checkpoint of the WAL and pause together; the
/// first also holds the planning and the checkpoint event), and every call of the writer over
/// 20 ms or failed, with when it started.
fn prune_pass(source: &Path, n: u64) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let copy = source.with_extension("prune-copy.db");
    generate::remove(&copy);
    let copying = Instant::now();
    SqliteLedger::open_read_only(source)
        .unwrap()
        .backup(&copy)
        .unwrap();
    // The copy leaves gigabytes of dirty pages: written back now, so a checkpoint's fsync
    // during the pass does not wait for them (at 10M a call made while the prune planned
    // waited 15 s, probably for that; not confirmed).
    std::fs::File::open(&copy).unwrap().sync_all().unwrap();
    eprintln!("prune pass: copied in {:.1?}", copying.elapsed());
    // An experiment (`AIRLOCK_BENCH_PRUNE_AUTOMERGE=N`): the search indexes' FTS5 `automerge`
    // set to N on the copy before the pass (0: no merging on commit).
    if let Ok(n) = std::env::var("AIRLOCK_BENCH_PRUNE_AUTOMERGE") {
        let n: i64 = n.parse().expect("a number");
        let conn = rusqlite::Connection::open(&copy).unwrap();
        for index in [
            "search_proposals",
            "search_evidence",
            "search_query_audit",
            "search_receipts",
            "search_events",
        ] {
            conn.execute(
                &format!("INSERT INTO {index}({index}, rank) VALUES ('automerge', ?1)"),
                [n],
            )
            .unwrap();
        }
        eprintln!("prune pass: the search indexes' automerge set to {n}");
    }
    let cutoff = generate::cutoff_at(&copy, 0.9);
    let ledger = Arc::new(SqliteLedger::open(&copy).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    // Let the writer settle before the prune starts.
    let zero = Instant::now() + Duration::from_millis(200);
    let writer = timed_reads(
        &rt,
        ledger.clone(),
        stop.clone(),
        zero,
        support::data_dir().join(format!("scale-{n}-prune-calls-live.txt")),
    );
    std::thread::sleep(zero.saturating_duration_since(Instant::now()));
    let started = Instant::now();
    let mut batches: Vec<(f64, f64, u64)> = Vec::new();
    let mut last = started;
    // As it goes, too: a prune that runs for long (or is stopped) still leaves its log.
    let live_path = support::data_dir().join(format!("scale-{n}-prune-live.txt"));
    let mut live = std::fs::File::create(&live_path)
        .map(std::io::LineWriter::new)
        .ok();
    let pruned = ledger.prune(&cutoff, 500, |at| {
        // Rows left to index while the prune rebuilds an index it set aside count down.
        let (done, total) = match at {
            airlock_ledger::PruneProgress::Removing { done, total } => (done, total),
            airlock_ledger::PruneProgress::Emptying { removed, .. } => (removed, 0),
            airlock_ledger::PruneProgress::Reindexing { left } => (left, 0),
        };
        let now = Instant::now();
        let entry = (
            now.duration_since(started).as_secs_f64(),
            now.duration_since(last).as_secs_f64() * 1e3,
            done,
        );
        if let Some(out) = live.as_mut() {
            use std::io::Write;
            let _ = writeln!(
                out,
                "batch {:.3} {:.1} {} of {total}",
                entry.0, entry.1, entry.2
            );
        }
        batches.push(entry);
        last = now;
    });
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let calls = rt.block_on(writer).unwrap();
    let report = match pruned {
        Ok(report) => report,
        Err(e) => {
            let slow: Vec<String> = calls
                .iter()
                .filter(|c| c.error.is_some() || c.took > Duration::from_millis(20))
                .map(|c| format!("{:.3} {:.1?} {:?}", c.at, c.took, c.error))
                .collect();
            panic!(
                "the prune failed after {took:.1?} and {} batches: {e}\nslow calls:\n{}",
                batches.len(),
                slow.join("\n")
            );
        }
    };
    let failed: Vec<&Call> = calls.iter().filter(|c| c.error.is_some()).collect();
    let mut times: Vec<Duration> = calls.iter().map(|c| c.took).collect();
    times.sort_unstable();
    let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    let first_batch = batches.first().map_or(0.0, |b| b.1);
    let mut gaps: Vec<f64> = batches.iter().skip(1).map(|b| b.1).collect();
    gaps.sort_by(f64::total_cmp);
    let line = format!(
        "ledger_scale_{n}/prune_90pct: {} events removed in {:.1} s ({:.0} events/s), {} batches, longest batch {:.1} ms; \
         planning + checkpoint + first batch {:.0} ms; batch to batch p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; \
         reads recorded meanwhile: {} calls, p50 {:.0} µs, p99 {:.1} ms, max {:.1} ms; {} failed; \
         search indexes set aside and rebuilt: {:?} in {:.1} s",
        report.plan.events(),
        took.as_secs_f64(),
        report.plan.events() as f64 / took.as_secs_f64(),
        report.batches,
        report.longest_batch_ms,
        first_batch,
        gaps.get(gaps.len() / 2).copied().unwrap_or(0.0),
        gaps.get(gaps.len() * 99 / 100).copied().unwrap_or(0.0),
        gaps.last().copied().unwrap_or(0.0),
        calls.len(),
        pct(0.5).as_secs_f64() * 1e6,
        pct(0.99).as_secs_f64() * 1e3,
        times.last().unwrap().as_secs_f64() * 1e3,
        failed.len(),
        report.search_rebuilt,
        report.search_rebuild_ms as f64 / 1000.0,
    );
    println!("{line}");
    let mut log = format!(
        "{line}\n# batches: end (s since the prune started), since the previous (ms), events removed\n"
    );
    for (at, since, done) in &batches {
        log.push_str(&format!("batch {at:.3} {since:.1} {done}\n"));
    }
    log.push_str("# writer calls over 20 ms or failed: start (s since the prune started), took (ms), error\n");
    for c in calls
        .iter()
        .filter(|c| c.error.is_some() || c.took > Duration::from_millis(20))
    {
        log.push_str(&format!(
            "call {:.3} {:.1} {}\n",
            c.at,
            c.took.as_secs_f64() * 1e3,
            c.error.as_deref().unwrap_or("")
        ));
    }
    let _ = std::fs::write(
        support::data_dir().join(format!("scale-{n}-prune.txt")),
        line + "\n",
    );
    let _ = std::fs::write(
        support::data_dir().join(format!("scale-{n}-prune-log.txt")),
        log,
    );
    assert!(
        failed.is_empty(),
        "{} calls failed, the first: {:?}",
        failed.len(),
        failed[0].error
    );
    let verified = rt.block_on(ledger.verify()).unwrap();
    assert!(verified.ok, "{verified:?}");
    drop(ledger);
    generate::remove(&copy);
}

criterion_group! {
    name = ledger_scale;
    config = Criterion::default().measurement_time(Duration::from_secs(5));
    targets = benches
}
criterion_main!(ledger_scale);
