//! Retention and maintenance on a big ledger: `storage_stats`, `verify`, a prune plan (the
//! dry run) and a 90-day prune while a writer keeps recording reads, with the writer's
//! per-call latency during the prune and the longest prune batch (how long a call can wait).
//!
//! The ledger holds `AIRLOCK_BENCH_EVENTS` events (default 1,000,000): reads spread evenly
//! over the last 180 days, oldest first, and one open proposal every 1,000 reads. It is built
//! once through the public API and cached under `<target>/airlock-bench/` (see
//! `support::data_dir`); each prune runs on a fresh backup of it.
//!
//! ```text
//! AIRLOCK_BENCH_EVENTS=1000000 cargo bench -p airlock-ledger --bench ledger_retention
//! ```
//!
//! `AIRLOCK_BENCH_PRUNE_BATCH` sets the prune's batch size (default 500, as the command);
//! `AIRLOCK_BENCH_QUICK=1` skips the full verify walks.

#![allow(clippy::print_stdout)]

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use airlock_ledger::{Ledger, SqliteLedger};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn events_wanted() -> u64 {
    env_u64("AIRLOCK_BENCH_EVENTS", 1_000_000)
}

/// `AIRLOCK_BENCH_QUICK=1`: skip the full verify walks (the slowest steps) and time only
/// stats, the dry run and the prune.
fn quick() -> bool {
    env_u64("AIRLOCK_BENCH_QUICK", 0) == 1
}

fn at(days_ago: f64) -> String {
    let t = chrono::Utc::now() - chrono::Duration::milliseconds((days_ago * 86_400_000.0) as i64);
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Builds (or reuses) the ledger: two events per read, three per proposal.
fn generated(rt: &tokio::runtime::Runtime, events: u64) -> PathBuf {
    let dir = support::data_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("retention-{events}.db"));
    if let Ok(l) = SqliteLedger::open_read_only(&path)
        && rt
            .block_on(l.stats())
            .is_ok_and(|s| s.events as u64 >= events)
    {
        eprintln!("using cached ledger {}", path.display());
        return path;
    }
    let building = dir.join(format!("retention-{events}.building.db"));
    for suffix in ["", "-wal", "-shm", ".anchor"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", building.display()));
    }
    let records = support::Records::new();
    let started = Instant::now();
    {
        let ledger = Arc::new(SqliteLedger::open(&building).unwrap());
        let reads = events / 2;
        rt.block_on(async {
            // Several callers at once, as a server records them (the batch writer groups them).
            let mut n = 0u64;
            while n < reads {
                let chunk: Vec<u64> = (n..(n + 256).min(reads)).collect();
                let mut calls = Vec::new();
                for i in chunk {
                    let ledger = ledger.clone();
                    let when = at(180.0 * (1.0 - i as f64 / reads as f64));
                    if i % 1000 == 999 {
                        let mut p = records.proposal(i);
                        p.change_set.created_at = when.clone();
                        p.change_set.seal();
                        p.evidence.created_at = when.clone();
                        p.audit.created_at = when;
                        calls.push(tokio::spawn(async move {
                            ledger.record_proposal(p).await.map(|_| ())
                        }));
                    } else {
                        let mut r = records.read(i);
                        if let Some(e) = r.evidence.as_mut() {
                            e.created_at = when.clone();
                        }
                        r.audit.created_at = when;
                        calls.push(tokio::spawn(async move {
                            ledger.record_read(r).await.map(|_| ())
                        }));
                    }
                }
                for c in calls {
                    c.await.unwrap().unwrap();
                }
                n += 256;
                if n % 50_000 < 256 {
                    eprintln!("  {n} of {reads} calls, {:.1?}", started.elapsed());
                }
            }
        });
    }
    std::fs::rename(&building, &path).unwrap();
    let _ = std::fs::rename(
        format!("{}.anchor", building.display()),
        format!("{}.anchor", path.display()),
    );
    eprintln!("built in {:.1?}", started.elapsed());
    path
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let started = Instant::now();
        last = Some(f());
        times.push(started.elapsed());
    }
    (median(times), last.unwrap())
}

fn prune_copy(rt: &tokio::runtime::Runtime, source: &Path) {
    let copy = source.with_extension("prune-copy.db");
    for suffix in ["", "-wal", "-shm", ".anchor"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", copy.display()));
    }
    let (took, _) = time(1, || {
        SqliteLedger::open_read_only(source)
            .unwrap()
            .backup(&copy)
            .unwrap()
    });
    println!("backup: {}", ms(took));
    let ledger = Arc::new(SqliteLedger::open(&copy).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let writer = support::steady_reads(rt, ledger.clone(), stop.clone());
    let cutoff = at(90.0);
    let started = Instant::now();
    let batch = env_u64("AIRLOCK_BENCH_PRUNE_BATCH", 500) as usize;
    let report = ledger.prune(&cutoff, batch, |_| {}).unwrap();
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut calls = rt.block_on(writer).unwrap();
    calls.sort_unstable();
    let pct = |p: f64| calls[((calls.len() as f64 * p) as usize).min(calls.len() - 1)];
    println!(
        "prune 90d (batches of {batch}): {} events removed in {} ({:.0} events/s), {} batches, longest batch {:.1} ms",
        report.plan.events(),
        ms(took),
        report.plan.events() as f64 / took.as_secs_f64(),
        report.batches,
        report.longest_batch_ms
    );
    println!(
        "  reads recorded meanwhile: {} calls, p50 {:.0} µs, p99 {:.0} µs, max {}",
        calls.len(),
        pct(0.5).as_secs_f64() * 1e6,
        pct(0.99).as_secs_f64() * 1e6,
        ms(*calls.last().unwrap())
    );
    if quick() {
        return;
    }
    let (took, report) = time(1, || rt.block_on(ledger.verify()).unwrap());
    assert!(report.ok, "{report:?}");
    println!(
        "verify after prune: {} events in {}",
        report.events_checked,
        ms(took)
    );
    let (took, _) = time(1, || ledger.vacuum().unwrap());
    println!("vacuum after prune: {}", ms(took));
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let events = events_wanted();
    let path = generated(&rt, events);
    let ledger = SqliteLedger::open_read_only(&path).unwrap();
    let (took, stats) = time(5, || ledger.storage_stats().unwrap());
    println!(
        "ledger: {} events, {} MiB; stats median {}",
        stats.counts.events,
        stats.file_bytes / (1 << 20),
        ms(took)
    );
    if !quick() {
        // One run: a full walk is the slowest step.
        let (took, report) = time(1, || rt.block_on(ledger.verify()).unwrap());
        assert!(report.ok, "{report:?}");
        println!(
            "verify: {} ({:.0} events/s)",
            ms(took),
            report.events_checked as f64 / took.as_secs_f64()
        );
    }
    let (took, plan) = time(3, || ledger.prune_plan(&at(90.0)).unwrap());
    println!(
        "prune plan (dry run) 90d: median {}, would remove {} events",
        ms(took),
        plan.events()
    );
    prune_copy(&rt, &path);
}
