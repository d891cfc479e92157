//! A tool call end to end through `Runtime::call`, beside the raw database round trip of the
//! same scoped select, on SQLite and Postgres (fresh databases from `airlock-testkit`; the
//! Postgres half is skipped with a message when no server answers). The difference is the
//! in-process cost: argument checks, trusted context, plan, evidence, ledger write, result.
//! Targets: read under 100 µs, proposal under 200 µs, on top of the round trip (medians).
//!
//! Config: our studio example (`examples/configs/studio-postgres`), its source pointed at the
//! fresh database. Every
//! proposal call carries a different `reason`, so each one creates a new proposal (no dedupe).
//! After criterion, a per-call pass prints p50/p95/p99 of the whole call and of the call
//! minus the round trip the runtime itself measured (`duration_us` of its query audit).
//!
//! ```text
//! CARGO_TARGET_DIR=target-bench cargo bench -p airlock-runtime --bench calls
//! ```

#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use airlock_capability::AliasMode;
use airlock_capability::envelope::Outcome;
use airlock_capability::plan::{self, TrustedScope};
use airlock_db::{EngineKind, Ident, Param, ScopedSelect, SecretUrl, SourceSettings};
use airlock_ledger::SqliteLedger;
use airlock_runtime::{Env, Runtime, RuntimeOptions};
use airlock_testkit::FreshDb;
use airlock_testkit::bench::{cpu_since, thread_cpu_ns, wants_latency};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Map, Value, json};

const EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/configs/studio-postgres/airlock.json"
);
const SOURCE: &str = "studio_db";
const READ_TOOL: &str = "accounts.inspect_membership";
const PROPOSAL_TOOL: &str = "accounts.propose_fee_reversal";
/// As `airlock mcp` builds its runtime.
const MAX_CONNECTIONS: usize = 4;

/// The example's table the two tools read, plus 10,000 filler memberships so the key lookup
/// is not on a toy table. `{ts}` is the timestamp type.
const SCHEMA: &str = "
CREATE TABLE studios (id text PRIMARY KEY, name text NOT NULL);
CREATE TABLE memberships (
  id text PRIMARY KEY, studio_id text NOT NULL REFERENCES studios(id),
  member_name text NOT NULL, tier text NOT NULL, balance_cents integer NOT NULL,
  late_fee_cents integer NOT NULL, fee_note text, updated_at {ts} NOT NULL);
INSERT INTO studios VALUES ('harbour-yoga', 'Harbour Yoga'), ('hill-climb', 'Hill Climb Gym');
INSERT INTO memberships VALUES
  ('MB-0117', 'harbour-yoga', 'Priya Natarajan', 'unlimited', 8900, 1500, NULL, '2026-09-03T08:15:42Z'),
  ('MB-0900', 'hill-climb', 'Tomas Weber', 'off_peak', 4200, 1500, NULL, '2026-09-03T08:15:42Z');
";

fn filler(engine: EngineKind) -> &'static str {
    match engine {
        EngineKind::Postgres => {
            "INSERT INTO memberships SELECT 'MB-' || (100000 + g), CASE WHEN g % 2 = 0 THEN 'harbour-yoga' ELSE 'hill-climb' END,
               'member ' || g, 'class_pack', 1000, 500, NULL, '2026-09-03T08:15:42Z'
               FROM generate_series(1, 10000) g;"
        }
        _ => {
            "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 10000)
             INSERT INTO memberships SELECT 'MB-' || (100000 + g), CASE WHEN g % 2 = 0 THEN 'harbour-yoga' ELSE 'hill-climb' END,
               'member ' || g, 'class_pack', 1000, 500, NULL, '2026-09-03T08:15:42Z' FROM s;"
        }
    }
}

struct Setup {
    label: &'static str,
    rt: Runtime,
    settings: SourceSettings,
    select: ScopedSelect,
    _db: FreshDb,
    _dir: tempfile::TempDir,
}

async fn setup(db: FreshDb) -> Setup {
    let (engine, ts, schema) = match db.engine {
        "postgres" => (EngineKind::Postgres, "timestamptz", "public"),
        _ => (EngineKind::Sqlite, "text", "main"),
    };
    db.execute_batch(&SCHEMA.replace("{ts}", ts))
        .await
        .expect("schema");
    db.execute_batch(filler(engine)).await.expect("filler rows");

    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(EXAMPLE).expect("example present")).unwrap();
    doc["sources"][SOURCE]["engine"] = json!(engine.as_str());
    for cap in doc["capabilities"].as_array_mut().unwrap() {
        cap["target"]["schema"] = json!(schema);
    }
    let (config, _) = airlock_config::parse(&doc).expect("valid config");
    let read_cap = config
        .capabilities
        .iter()
        .find(|c| c.name == READ_TOOL)
        .unwrap()
        .clone();
    let proposal_cap = config
        .capabilities
        .iter()
        .find(|c| c.name == PROPOSAL_TOOL)
        .unwrap();
    let statement_timeout_ms = config.sources[SOURCE].statement_timeout_ms;

    // The ledger on disk like a real one (WAL checkpoints pay real writes).
    let dir = tempfile::tempdir().unwrap();
    let ledger = Arc::new(SqliteLedger::open(&dir.path().join("ledger.db")).unwrap());
    let env: Env = [
        ("STUDIO_DB_READ_URL", db.url.as_str()),
        ("STUDIO_TENANT", "harbour-yoga"),
        ("STUDIO_AGENT", "desk_assistant_4"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let scope = TrustedScope {
        tenant_id: "harbour-yoga".into(),
        principal: "desk_assistant_4".into(),
        provenance: "environment",
    };

    // The exact select the runtime runs for the read tool (the proposal tool reads the same
    // columns of the same row).
    let args = obj(json!({"membership_id": "MB-0117", "reason": "x"}));
    let plan = plan::read_plan(&read_cap, &args, &scope).unwrap();
    assert_eq!(
        plan.columns,
        plan::read_plan(proposal_cap, &args, &scope)
            .unwrap()
            .columns
    );
    let ident = |s: &str| Ident::new(s).unwrap();
    let select = ScopedSelect {
        schema: plan.schema.as_deref().map(ident),
        table: ident(&plan.table),
        columns: plan.columns.iter().map(|c| ident(c)).collect(),
        key_column: ident(&plan.key_column),
        key_value: Param::from_json(&plan.key_value).unwrap(),
        tenant: plan
            .tenant
            .as_ref()
            .map(|(c, t)| (ident(c), Param::Text(t.clone()))),
        limit: plan.fetch_limit,
    };
    let settings = SourceSettings {
        engine,
        url: SecretUrl::new(db.url.clone()),
        statement_timeout_ms,
        max_connections: MAX_CONNECTIONS,
        pool: Default::default(),
    };
    let options = RuntimeOptions {
        alias_mode: AliasMode::Canonical,
        result_format: None,
        base_dir: dir.path().to_owned(),
        max_connections: MAX_CONNECTIONS,
    };
    Setup {
        label: engine.as_str(),
        rt: Runtime::new(config, ledger, env, options),
        settings,
        select,
        _db: db,
        _dir: dir,
    }
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn read_args() -> Map<String, Value> {
    obj(json!({"membership_id": "MB-0117"}))
}

fn proposal_args(n: u64) -> Map<String, Value> {
    obj(json!({"membership_id": "MB-0117", "reason": format!("member asked for a review #{n}")}))
}

/// One call; panics unless it succeeded (and, for a proposal, created a new one). Returns the
/// evidence bundle id for the latency pass.
async fn call(rt: &Runtime, tool: &str, args: &Map<String, Value>) -> String {
    match rt.call(tool, args, None).await {
        Ok(Outcome::Read(r)) => r.evidence_bundle_id,
        Ok(Outcome::Proposal(p)) => {
            assert!(!p.reused, "proposal deduped into an open one");
            p.evidence_bundle_id
        }
        Err(f) => panic!("{tool} failed: {:?}", f.error),
    }
}

fn bench_engine(c: &mut Criterion, tokio: &tokio::runtime::Runtime, s: &Setup) {
    let engine = tokio.block_on(airlock_db::connect(&s.settings)).unwrap();
    // Warm: first connection, prepared statements, ledger file.
    tokio.block_on(async {
        engine.select(&s.select).await.unwrap();
        call(&s.rt, READ_TOOL, &read_args()).await;
        call(&s.rt, PROPOSAL_TOOL, &proposal_args(0)).await;
    });
    let mut n = 1u64;

    let mut g = c.benchmark_group(format!("calls/{}", s.label));
    let (engine_ref, select) = (&engine, &s.select);
    g.bench_function("raw_select", |b| {
        b.to_async(tokio).iter(|| async move {
            let rows = engine_ref.select(black_box(select)).await.unwrap();
            assert_eq!(rows.len(), 1);
            rows
        })
    });
    let args = &read_args();
    g.bench_function("read", |b| {
        b.to_async(tokio)
            .iter(|| async move { call(&s.rt, READ_TOOL, black_box(args)).await })
    });
    g.bench_function("proposal", |b| {
        b.to_async(tokio).iter(|| {
            n += 1;
            let args = proposal_args(n);
            async move { call(&s.rt, PROPOSAL_TOOL, &args).await }
        })
    });
    g.finish();

    // Per-call distribution, and the in-process part of each call: total minus the round trip
    // the runtime timed around `Engine::select` (recorded in the query audit, looked up after
    // the timed loop). CPU per call counts every thread of this process (the SQLite source
    // runs its query in-process; a Postgres server's own CPU is not counted).
    const SAMPLES: usize = 3_000;
    let name = format!("calls/{}/raw_select", s.label);
    if wants_latency(&name) {
        let mut total = Vec::with_capacity(SAMPLES);
        let cpu_before = thread_cpu_ns();
        tokio.block_on(async {
            for _ in 0..SAMPLES {
                let started = Instant::now();
                black_box(engine.select(&s.select).await.unwrap());
                total.push(started.elapsed().as_secs_f64() * 1e6);
            }
        });
        let cpu = cpu_per_call(cpu_before, SAMPLES);
        report(&name, format!("n={SAMPLES} total {}{cpu}", pct(&mut total)));
    }
    for (tool, kind) in [(READ_TOOL, "read"), (PROPOSAL_TOOL, "proposal")] {
        let name = format!("calls/{}/{kind}", s.label);
        if !wants_latency(&name) {
            continue;
        }
        let args: Vec<Map<String, Value>> = (0..SAMPLES as u64)
            .map(|i| {
                if kind == "read" {
                    read_args()
                } else {
                    proposal_args(n + i)
                }
            })
            .collect();
        n += SAMPLES as u64;
        let mut total = Vec::with_capacity(SAMPLES);
        let mut evidence = Vec::with_capacity(SAMPLES);
        let cpu_before = thread_cpu_ns();
        tokio.block_on(async {
            for a in &args {
                let started = Instant::now();
                let ev = call(&s.rt, tool, a).await;
                total.push(started.elapsed().as_secs_f64() * 1e6);
                evidence.push(ev);
            }
        });
        let cpu = cpu_per_call(cpu_before, SAMPLES);
        let mut db = Vec::with_capacity(SAMPLES);
        let mut in_process = Vec::with_capacity(SAMPLES);
        tokio.block_on(async {
            for (t, ev) in total.iter().zip(&evidence) {
                let audit = s.rt.ledger().evidence(ev).await.unwrap().query_audit;
                let rt_us = audit[0].duration_us as f64;
                db.push(rt_us);
                in_process.push(t - rt_us);
            }
        });
        report(
            &name,
            format!(
                "n={SAMPLES} total {} | round trip {} | in-process {}{cpu}",
                pct(&mut total),
                pct(&mut db),
                pct(&mut in_process)
            ),
        );
    }
}

fn cpu_per_call(before: Option<HashMap<String, u64>>, calls: usize) -> String {
    cpu_since(&before)
        .map(|ns| format!(" | cpu/call={:.1}µs", ns as f64 / calls as f64 / 1e3))
        .unwrap_or_default()
}

fn report(name: &str, body: String) {
    let line = format!("latency {name}: {body}");
    println!("{line}");
    write_latency(name, &line);
}

fn pct(v: &mut [f64]) -> String {
    v.sort_by(f64::total_cmp);
    let at = |p: f64| v[((v.len() as f64 * p) as usize).min(v.len() - 1)];
    format!(
        "p50={:.1}µs p95={:.1}µs p99={:.1}µs",
        at(0.5),
        at(0.95),
        at(0.99)
    )
}

fn write_latency(name: &str, line: &str) {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            let exe = std::env::current_exe().ok()?;
            exe.ancestors().nth(3).map(std::path::Path::to_path_buf)
        })
        .unwrap_or_else(std::env::temp_dir);
    let dir = target.join("airlock-bench/latency");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(
        dir.join(format!("{}.txt", name.replace('/', "_"))),
        format!("{line}\n"),
    );
}

fn benches(c: &mut Criterion) {
    // As the `airlock` binary builds it.
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sqlite = tokio.block_on(setup(airlock_testkit::fresh_sqlite()));
    bench_engine(c, &tokio, &sqlite);
    drop(sqlite);
    match tokio.block_on(airlock_testkit::fresh_postgres()) {
        Some(db) => {
            let pg = tokio.block_on(setup(db));
            bench_engine(c, &tokio, &pg);
            drop(pg);
        }
        None => eprintln!(
            "SKIP calls/postgres benches: no Postgres server answered (set AIRLOCK_TEST_POSTGRES_URL)"
        ),
    }
}

criterion_group! {
    name = calls;
    // Long runs for a noisy 2-core machine; `--measurement-time` on the command line overrides.
    config = Criterion::default().measurement_time(Duration::from_secs(15));
    targets = benches
}
criterion_main!(calls);
