//! What metrics and traces cost a tool call: the same read through `McpServer::call_traced`
//! with everything off, with metrics on, and with traces on (every span sampled and exported
//! over OTLP/HTTP to an in-process receiver on loopback), then both. Each iteration is a
//! batch of 32 concurrent calls, as 32 clients would send them; criterion reports the time of
//! a batch, so throughput is 32 / that time. On SQLite (a fresh file from `airlock-testkit`),
//! where the call is cheapest and any overhead shows most.
//!
//! The tracer is process-wide and cannot be removed once installed, so the groups run in
//! order: off, metrics, then traces and traces + metrics.
//!
//! ```text
//! cargo bench -p airlock-mcp --bench tracing_cost
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use airlock_capability::AliasMode;
use airlock_ledger::SqliteLedger;
use airlock_mcp::McpServer;
use airlock_mcp::trace::{CallTrace, Network};
use airlock_runtime::{Env, Runtime, RuntimeOptions};
use airlock_telemetry::{ExportSettings, Sampler};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Map, Value, json};

const CLIENTS: usize = 32;
const TOOL: &str = "billing.inspect_subscription";

fn config(db_path: &str) -> Value {
    json!({
        "version": 1, "mode": "review", "result_format": 2,
        "sources": {"app": {"engine": "sqlite", "path": db_path}},
        "trusted_context": {"provider": "environment"},
        "capabilities": [{
            "name": TOOL, "kind": "read", "source": "app",
            "target": {"table": "subscriptions", "primary_key": "id", "tenant_key": "tenant_id"},
            "args": {"subscription_id": {"type": "string", "max_length": 64}},
            "lookup": {"id_from_arg": "subscription_id"},
            "visible_columns": ["id", "customer_name", "plan", "seats"]
        }]
    })
}

fn args() -> Map<String, Value> {
    json!({"subscription_id": "SUB-1001"})
        .as_object()
        .cloned()
        .unwrap()
}

/// An OTLP/HTTP receiver that accepts and counts request bodies.
async fn sink() -> (String, Arc<AtomicU64>) {
    let bodies = Arc::new(AtomicU64::new(0));
    let counted = bodies.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |_body: axum::body::Bytes| {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::Relaxed);
                ""
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/v1/traces"), bodies)
}

async fn batch(server: &McpServer, args: &Map<String, Value>, traced: bool) {
    let calls = (0..CLIENTS).map(|i| {
        let server = server.clone();
        let args = args.clone();
        tokio::spawn(async move {
            let trace = traced.then(|| {
                let mut t = CallTrace::new(Network::Http);
                t.request_id = Some(i.to_string());
                t.meta_parent = Some((
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
                    None,
                ));
                t
            });
            let reply = server
                .call_traced(TOOL, &args, None, trace)
                .await
                .expect("routed");
            assert!(!reply.is_error, "{}", reply.envelope);
        })
    });
    for c in calls.collect::<Vec<_>>() {
        c.await.unwrap();
    }
}

fn benches(c: &mut Criterion) {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let db = airlock_testkit::fresh_sqlite();
    tokio.block_on(async {
        db.execute_batch(
            "CREATE TABLE subscriptions (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL,
               customer_name TEXT NOT NULL, plan TEXT NOT NULL, seats INTEGER NOT NULL);
             INSERT INTO subscriptions VALUES ('SUB-1001', 'northwind', 'Blue Harbor Cafe', 'team', 12);",
        )
        .await
        .unwrap();
    });
    let (cfg, _) = airlock_config::parse(&config(&db.url)).expect("valid config");
    let dir = tempfile::tempdir().unwrap();
    let ledger = Arc::new(SqliteLedger::open(&dir.path().join("ledger.db")).unwrap());
    let env: Env = [
        ("SYNAPSOR_TENANT_ID", "northwind"),
        ("SYNAPSOR_PRINCIPAL", "bench_agent"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let runtime = |ledger: Arc<SqliteLedger>| {
        Runtime::new(
            cfg.clone(),
            ledger,
            env.clone(),
            RuntimeOptions {
                alias_mode: AliasMode::Canonical,
                result_format: None,
                base_dir: dir.path().to_owned(),
                max_connections: 4,
            },
        )
    };
    let plain = McpServer::new(runtime(ledger.clone()));
    let metered = McpServer::new(runtime(ledger));
    let _ = metered.metrics();
    let args = args();

    let mut g = c.benchmark_group("tracing_cost");
    g.throughput(criterion::Throughput::Elements(CLIENTS as u64));
    g.bench_function("off", |b| {
        b.to_async(&tokio).iter(|| batch(&plain, &args, false))
    });
    g.bench_function("metrics", |b| {
        b.to_async(&tokio).iter(|| batch(&metered, &args, false))
    });
    let (url, bodies) = tokio.block_on(sink());
    tokio.block_on(async {
        airlock_telemetry::install(
            ExportSettings::new(url, vec![("service.name", "bench".into())]),
            Sampler::AlwaysOn,
        )
        .unwrap();
    });
    g.bench_function("traces", |b| {
        b.to_async(&tokio).iter(|| batch(&plain, &args, true))
    });
    g.bench_function("traces_and_metrics", |b| {
        b.to_async(&tokio).iter(|| batch(&metered, &args, true))
    });
    g.finish();
    interleaved(&tokio, &plain, &metered, &args);
    airlock_telemetry::flush(Duration::from_secs(10));
    let stats = airlock_telemetry::stats().unwrap();
    eprintln!(
        "exported {} spans in {} requests; dropped {} (queue full {}, export failed {})",
        stats.exported.load(Ordering::Relaxed),
        bodies.load(Ordering::Relaxed),
        stats.dropped(),
        stats.dropped_queue_full.load(Ordering::Relaxed),
        stats.dropped_export_failed.load(Ordering::Relaxed),
    );
}

/// On a shared, noisy machine criterion's groups run minutes apart under different load. This
/// pass alternates the modes round by round (off is a call without a trace: with the tracer
/// installed it costs the same single check as with none) and prints the median of each
/// mode's per-round time and its cost against off.
fn interleaved(
    tokio: &tokio::runtime::Runtime,
    plain: &McpServer,
    metered: &McpServer,
    args: &Map<String, Value>,
) {
    const ROUNDS: usize = 40;
    const BATCHES: usize = 10;
    let modes: [(&str, &McpServer, bool); 4] = [
        ("off", plain, false),
        ("metrics", metered, false),
        ("traces", plain, true),
        ("traces_and_metrics", metered, true),
    ];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); modes.len()];
    for round in 0..ROUNDS {
        for k in 0..modes.len() {
            // Rotate the order so no mode always runs first.
            let i = (k + round) % modes.len();
            let (_, server, traced) = modes[i];
            let started = std::time::Instant::now();
            tokio.block_on(async {
                for _ in 0..BATCHES {
                    batch(server, args, traced).await;
                }
            });
            times[i].push(started.elapsed().as_secs_f64() / BATCHES as f64);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let off = median(&mut times[0].clone());
    for (i, (name, _, _)) in modes.iter().enumerate() {
        let m = median(&mut times[i]);
        eprintln!(
            "interleaved {name:>20}: median {:.3} ms per {CLIENTS} calls, {:.0} calls/s, {:+.1}% time vs off",
            m * 1e3,
            CLIENTS as f64 / m,
            (m / off - 1.0) * 100.0
        );
    }
}

criterion_group! {
    name = tracing_cost;
    config = Criterion::default().measurement_time(Duration::from_secs(10));
    targets = benches
}
criterion_main!(tracing_cost);
