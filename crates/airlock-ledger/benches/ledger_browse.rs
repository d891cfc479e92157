//! List pages and activity search on a ledger of 1 million records: 250,000 reads (each an
//! evidence bundle, a query-audit record and two events) spread over 90 days and 20 tenants,
//! plus 2,000 proposals. Target: any page or search under 50 ms.
//!
//! The ledger is written once through the public API (batched, a few minutes) and cached
//! under `<target>/airlock-bench/` (override with `AIRLOCK_BENCH_DATA`).
//!
//! First, the write path's cost of the search index (`write_path/*`: with it and with its
//! triggers dropped). `AIRLOCK_BENCH_WRITE_ONLY=1` stops after it.
//!
//! ```text
//! CARGO_TARGET_DIR=target-bench cargo bench -p airlock-ledger --bench ledger_browse
//! ```

mod support;

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use airlock_ledger::{Ledger, LedgerTime, RecordFilter, SearchText, SqliteLedger};
use criterion::{Criterion, criterion_group, criterion_main};

const READS: u64 = 250_000;
const PROPOSALS: u64 = 2_000;
const TENANTS: u64 = 20;
const DAYS: i64 = 90;

/// When read `n` happened: evenly over the last [`DAYS`] days, oldest first.
fn at(n: u64, now: chrono::DateTime<chrono::Utc>) -> String {
    let span = chrono::Duration::days(DAYS).num_milliseconds();
    let back = span - span * n as i64 / READS as i64;
    LedgerTime::from_utc(now - chrono::Duration::milliseconds(back))
        .as_str()
        .to_owned()
}

fn browse_ledger(rt: &tokio::runtime::Runtime) -> PathBuf {
    let dir = support::data_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("browse-{READS}.db"));
    if path.exists() {
        let ok = SqliteLedger::open_read_only(&path)
            .ok()
            .and_then(|l| rt.block_on(l.stats()).ok())
            .is_some_and(|s| {
                s.query_audit == (READS + PROPOSALS) as i64 && s.proposals == PROPOSALS as i64
            });
        if ok {
            eprintln!("using cached ledger {}", path.display());
            // A ledger cached by an older build gains the search index here (once).
            let started = Instant::now();
            drop(SqliteLedger::open(&path).unwrap());
            eprintln!(
                "opened for writing (migrated if older) in {:.1?}",
                started.elapsed()
            );
            return path;
        }
    }
    let building = dir.join(format!("browse-{READS}.building.db"));
    for suffix in ["", "-wal", "-shm", ".anchor"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", building.display()));
    }
    eprintln!("building {} (once; cached) …", building.display());
    let started = Instant::now();
    let now = chrono::Utc::now();
    {
        let ledger = Arc::new(SqliteLedger::open(&building).unwrap());
        let records = Arc::new(support::Records::new());
        rt.block_on(async {
            // Chunks of concurrent calls, so the group-commit writer batches them as it does
            // under load.
            const CHUNK: u64 = 500;
            for chunk in 0..READS.div_ceil(CHUNK) {
                let mut calls = tokio::task::JoinSet::new();
                for n in chunk * CHUNK..((chunk + 1) * CHUNK).min(READS) {
                    let (ledger, records) = (ledger.clone(), records.clone());
                    let when = at(n, now);
                    calls.spawn(async move {
                        let mut read = records.read(n);
                        let tenant = format!("tenant-{:02}", n % TENANTS);
                        let object = format!("MB-{}", 10_000 + n % 50_000);
                        if let Some(e) = read.evidence.as_mut() {
                            e.tenant_id = tenant.clone();
                            e.object_id = object.clone();
                            e.created_at = when.clone();
                        }
                        read.audit.tenant_id = tenant;
                        read.audit.object_id = object;
                        read.audit.created_at = when;
                        ledger.record_read(read).await.unwrap();
                    });
                }
                while let Some(done) = calls.join_next().await {
                    done.unwrap();
                }
                if (chunk + 1) % 100 == 0 {
                    eprintln!("  {} reads, {:.1?}", (chunk + 1) * CHUNK, started.elapsed());
                }
            }
            for n in 0..PROPOSALS {
                let r = ledger.record_proposal(records.proposal(n)).await.unwrap();
                assert!(r.created);
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

/// The search index's triggers (schema 8), dropped: the write path before the index (its
/// tables stay, untouched). Every other index is the same.
/// Takes the search index off a ledger: its triggers dropped (found by name) and its marks
/// set past any row id, so nothing is ever indexed.
fn without_search_index(path: &std::path::Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let triggers: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'search%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(triggers.len(), 15, "{triggers:?}");
    for name in triggers {
        conn.execute_batch(&format!("DROP TRIGGER {name}")).unwrap();
    }
    conn.execute_batch("UPDATE search_marks SET upto = 9223372036854775807")
        .unwrap();
}

/// What the search index costs each tool call: `record_read` alone and 64 at once (the
/// group-commit writer batches them, as under HTTP load), with the index and without it, in
/// one run so both see the same machine. With it, the writer's checkpoint thread indexes the
/// new records in the background (schema 9) while the calls go on; without it, the triggers
/// are dropped and the marks set past any row id, so nothing is ever indexed. (Schema 4's browse indexes were measured the same
/// way against schema 3's set; see docs/benchmarks.md.)
fn write_path(c: &mut Criterion, rt: &tokio::runtime::Runtime) {
    let records = Arc::new(support::Records::new());
    let base = support::data_dir();
    std::fs::create_dir_all(&base).unwrap();
    let mut g = c.benchmark_group("write_path");
    let mut n = 1_000_000_000u64;
    for schema in ["search_index", "without_search_index"] {
        let dir = tempfile::tempdir_in(&base).unwrap();
        let path = dir.path().join("ledger.db");
        let ledger = Arc::new(SqliteLedger::open(&path).unwrap());
        if schema == "without_search_index" {
            without_search_index(&path);
        }
        g.bench_function(format!("record_read/{schema}"), |b| {
            b.iter_batched(
                || {
                    n += 1;
                    records.read(n)
                },
                |read| black_box(rt.block_on(ledger.record_read(read)).unwrap()),
                criterion::BatchSize::SmallInput,
            )
        });
        g.bench_function(format!("record_read_x64/{schema}"), |b| {
            b.iter_batched(
                || {
                    n += 64;
                    (n - 64..n).map(|i| records.read(i)).collect::<Vec<_>>()
                },
                |reads| {
                    rt.block_on(async {
                        let mut calls = tokio::task::JoinSet::new();
                        for read in reads {
                            let ledger = ledger.clone();
                            calls.spawn(async move { ledger.record_read(read).await.unwrap() });
                        }
                        while let Some(done) = calls.join_next().await {
                            done.unwrap();
                        }
                    })
                },
                criterion::BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    write_path(c, &rt);
    if std::env::var_os("AIRLOCK_BENCH_WRITE_ONLY").is_some() {
        return;
    }
    let path = browse_ledger(&rt);
    let ledger = SqliteLedger::open_read_only(&path).unwrap();
    let now = chrono::Utc::now();
    let hours_ago = |h: i64| Some(LedgerTime::from_utc(now - chrono::Duration::hours(h)));
    let f = |tweak: &dyn Fn(&mut RecordFilter)| {
        let mut f = RecordFilter {
            limit: 20,
            ..RecordFilter::default()
        };
        tweak(&mut f);
        f
    };

    let mut g = c.benchmark_group("browse_1m");
    let audit_cases: [(&str, RecordFilter); 6] = [
        ("query_audit/newest", f(&|_| {})),
        (
            "query_audit/tenant",
            f(&|f| f.tenant = Some("tenant-07".into())),
        ),
        ("query_audit/since_2h", f(&|f| f.from = hours_ago(2))),
        (
            "query_audit/tenant_in_a_day_45_days_ago",
            f(&|f| {
                f.tenant = Some("tenant-03".into());
                f.from = hours_ago(45 * 24);
                f.to = hours_ago(44 * 24);
            }),
        ),
        (
            "query_audit/object",
            f(&|f| f.object_id = Some("MB-12345".into())),
        ),
        (
            "query_audit/capability_and_outcome",
            f(&|f| {
                f.capability = Some("accounts.inspect_membership".into());
                f.outcome = Some("ok".into());
            }),
        ),
    ];
    for (name, filter) in &audit_cases {
        g.bench_function(*name, |b| {
            b.iter(|| black_box(rt.block_on(ledger.query_audit_page(filter)).unwrap()))
        });
    }
    // The second page, through the cursor the first printed.
    let first = rt
        .block_on(ledger.query_audit_page(&audit_cases[1].1))
        .unwrap();
    let second = RecordFilter {
        cursor: first.next_cursor.clone(),
        ..audit_cases[1].1.clone()
    };
    g.bench_function("query_audit/tenant_next_page", |b| {
        b.iter(|| black_box(rt.block_on(ledger.query_audit_page(&second)).unwrap()))
    });
    let evidence = f(&|f| f.object_id = Some("MB-12345".into()));
    g.bench_function("evidence/object", |b| {
        b.iter(|| black_box(rt.block_on(ledger.evidence_page(&evidence)).unwrap()))
    });
    let evidence_tenant = f(&|f| f.tenant = Some("tenant-11".into()));
    g.bench_function("evidence/tenant", |b| {
        b.iter(|| black_box(rt.block_on(ledger.evidence_page(&evidence_tenant)).unwrap()))
    });
    let proposals = f(&|_| {});
    g.bench_function("proposals/newest", |b| {
        b.iter(|| black_box(rt.block_on(ledger.proposal_page(&proposals)).unwrap()))
    });

    // Search: a text found in recent records stops after a page; a rarer one is looked up in
    // the search index, whatever the filters.
    // Half the tenants' reads hold "tenant-1" (the newest 2,000 evidence rows, of proposals,
    // do not): found within a few thousand rows.
    let common = SearchText::new("tenant-1").unwrap();
    let nowhere = SearchText::new("no such text anywhere").unwrap();
    let all = f(&|_| {});
    g.bench_function("search/common_text", |b| {
        b.iter(|| black_box(rt.block_on(ledger.search(Some(&common), &all)).unwrap()))
    });
    g.bench_function("search/filters_only_tenant", |b| {
        b.iter(|| black_box(rt.block_on(ledger.search(None, &audit_cases[1].1)).unwrap()))
    });
    let narrowed = f(&|f| {
        f.tenant = Some("tenant-03".into());
        f.from = hours_ago(24);
    });
    g.bench_function("search/absent_text_tenant_last_day", |b| {
        b.iter(|| {
            black_box(
                rt.block_on(ledger.search(Some(&nowhere), &narrowed))
                    .unwrap(),
            )
        })
    });
    g.bench_function("search/absent_text_everything", |b| {
        b.iter(|| black_box(rt.block_on(ledger.search(Some(&nowhere), &all)).unwrap()))
    });
    // One object's reads (5 of 250,000, each an evidence and an audit row).
    let rare = SearchText::new("MB-12345").unwrap();
    g.bench_function("search/rare_text_everything", |b| {
        b.iter(|| black_box(rt.block_on(ledger.search(Some(&rare), &all)).unwrap()))
    });
    // Too short for the trigram index: a bounded read per kind, then a cursor.
    let short = SearchText::new("zq").unwrap();
    g.bench_function("search/short_absent_text_everything", |b| {
        b.iter(|| black_box(rt.block_on(ledger.search(Some(&short), &all)).unwrap()))
    });
    g.finish();
}

criterion_group! {
    name = ledger_browse;
    config = Criterion::default().measurement_time(Duration::from_secs(5));
    targets = benches
}
criterion_main!(ledger_browse);
