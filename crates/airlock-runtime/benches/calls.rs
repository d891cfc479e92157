//! A tool call end to end through `Runtime::call`, beside the raw database round trip of the
//! same scoped select, on SQLite and Postgres (fresh databases from `airlock-testkit`; the
//! Postgres half is skipped with a message when no server answers). The difference is the
//! in-process cost: argument checks, trusted context, plan, evidence, ledger write, result.
//! Targets: read under 100 µs, proposal under 200 µs, on top of the round trip (medians).
//!
//! Config: the support-billing example, its source pointed at the fresh database. Every
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
    "/../../../shared/conformance/examples/support-billing-agent/synapsor.runner.json"
);
const READ_TOOL: &str = "billing.inspect_invoice";
const PROPOSAL_TOOL: &str = "billing.propose_late_fee_waiver";
/// As `airlock mcp` builds its runtime.
const MAX_CONNECTIONS: usize = 4;

/// The example's tables the two tools read, plus 10,000 filler invoices so the key lookup is
/// not on a toy table. `{ts}` is the timestamp type.
const SCHEMA: &str = "
CREATE TABLE tenants (id text PRIMARY KEY, name text NOT NULL);
CREATE TABLE customers (
  id text PRIMARY KEY, tenant_id text NOT NULL REFERENCES tenants(id), name text NOT NULL,
  plan text NOT NULL, plan_credit_cents integer NOT NULL DEFAULT 0, credit_reason text,
  updated_at {ts} NOT NULL);
CREATE TABLE invoices (
  id text PRIMARY KEY, tenant_id text NOT NULL REFERENCES tenants(id),
  customer_id text NOT NULL REFERENCES customers(id), status text NOT NULL,
  balance_cents integer NOT NULL, late_fee_cents integer NOT NULL, waiver_reason text,
  updated_at {ts} NOT NULL);
INSERT INTO tenants VALUES ('acme', 'Acme Robotics'), ('otherco', 'OtherCo Labs');
INSERT INTO customers VALUES
  ('cust_acme_1', 'acme', 'Acme Robotics', 'enterprise', 0, NULL, '2026-06-20T10:00:00Z'),
  ('cust_other_1', 'otherco', 'OtherCo Labs', 'builder', 0, NULL, '2026-06-20T10:00:00Z');
INSERT INTO invoices VALUES
  ('INV-3001', 'acme', 'cust_acme_1', 'overdue', 25500, 5500, NULL, '2026-06-20T14:31:08Z'),
  ('INV-9001', 'otherco', 'cust_other_1', 'overdue', 25500, 5500, NULL, '2026-06-20T14:31:08Z');
";

fn filler(engine: EngineKind) -> &'static str {
    match engine {
        EngineKind::Postgres => {
            "INSERT INTO invoices SELECT 'INV-' || (100000 + g), CASE WHEN g % 2 = 0 THEN 'acme' ELSE 'otherco' END,
               CASE WHEN g % 2 = 0 THEN 'cust_acme_1' ELSE 'cust_other_1' END, 'open', 1000, 500, NULL,
               '2026-06-20T14:31:08Z' FROM generate_series(1, 10000) g;"
        }
        _ => {
            "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 10000)
             INSERT INTO invoices SELECT 'INV-' || (100000 + g), CASE WHEN g % 2 = 0 THEN 'acme' ELSE 'otherco' END,
               CASE WHEN g % 2 = 0 THEN 'cust_acme_1' ELSE 'cust_other_1' END, 'open', 1000, 500, NULL,
               '2026-06-20T14:31:08Z' FROM s;"
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
    doc["sources"]["app_postgres"]["engine"] = json!(engine.as_str());
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
    let statement_timeout_ms = config.sources["app_postgres"].statement_timeout_ms;

    // The ledger on disk like a real one (WAL checkpoints pay real writes).
    let dir = tempfile::tempdir().unwrap();
    let ledger = Arc::new(SqliteLedger::open(&dir.path().join("ledger.db")).unwrap());
    let env: Env = [
        ("REFERENCE_POSTGRES_READ_URL", db.url.as_str()),
        ("SYNAPSOR_TENANT_ID", "acme"),
        ("SYNAPSOR_PRINCIPAL", "support_agent_17"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let scope = TrustedScope {
        tenant_id: "acme".into(),
        principal: "support_agent_17".into(),
        provenance: "environment",
    };

    // The exact select the runtime runs for the read tool (the proposal tool reads the same
    // columns of the same row).
    let args = obj(json!({"invoice_id": "INV-3001", "reason": "x"}));
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
    obj(json!({"invoice_id": "INV-3001"}))
}

fn proposal_args(n: u64) -> Map<String, Value> {
    obj(json!({"invoice_id": "INV-3001", "reason": format!("customer requested review #{n}")}))
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
