//! The queue page with 10,000 pending proposals, rendered through the whole router (security
//! layer, count, first page of 50, HTML): the target is under 100 ms server-side.
//!
//! The ledger is built once through the public API with the ledger benches' record builder.

#[path = "../../airlock-ledger/benches/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;

use airlock_ledger::{Actor, Ledger, SqliteLedger};
use airlock_review_ui::{ApplySetup, Reviewers, Ui, UiOptions, router};
use axum::body::Body;
use axum::http::{Request, header};
use criterion::{Criterion, criterion_group, criterion_main};
use tower::ServiceExt as _;

const PENDING: u64 = 10_000;

fn queue_page(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = support::data_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("ui-queue-{PENDING}.db"));
    let ready = SqliteLedger::open_read_only(&path)
        .ok()
        .and_then(|l| rt.block_on(l.stats()).ok())
        .is_some_and(|s| s.proposals == PENDING as i64);
    if !ready {
        for suffix in ["", "-wal", "-shm", ".anchor"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        let ledger = SqliteLedger::open(&path).unwrap();
        let records = support::Records::new();
        rt.block_on(async {
            for n in 0..PENDING {
                ledger.record_proposal(records.proposal(n)).await.unwrap();
            }
        });
    }
    let ledger = Arc::new(SqliteLedger::open(&path).unwrap());
    let addr: std::net::SocketAddr = "127.0.0.1:8700".parse().unwrap();
    let ui = Ui::new(UiOptions {
        ledger,
        config: support::example_config(),
        apply: ApplySetup {
            env: HashMap::new(),
            base_dir: dir.clone(),
            runner_id: "bench".into(),
            project: "bench".into(),
        },
        reviewers: Reviewers::Single(Actor {
            name: "bench".into(),
            source: "bench".into(),
        }),
        addr,
        remote: false,
        config_path: support::EXAMPLE.into(),
        store_path: path.clone(),
    });
    let app = router(ui.clone());
    let get = |uri: &str, cookie: Option<&str>| {
        let mut r = Request::get(uri).header(header::HOST, "127.0.0.1:8700");
        if let Some(c) = cookie {
            r = r.header(header::COOKIE, c);
        }
        r.body(Body::empty()).unwrap()
    };
    let token_path = ui.open_url().replace("http://127.0.0.1:8700", "");
    let res = rt
        .block_on(app.clone().oneshot(get(&token_path, None)))
        .unwrap();
    let cookie = res.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let render = |uri: &str| {
        let res = rt
            .block_on(app.clone().oneshot(get(uri, Some(&cookie))))
            .unwrap();
        assert_eq!(res.status(), 200);
        let body = rt
            .block_on(axum::body::to_bytes(res.into_body(), usize::MAX))
            .unwrap();
        assert!(body.len() > 10_000);
        body
    };
    let first = render("/");
    assert!(
        String::from_utf8_lossy(&first).contains(&format!("({PENDING}) pending")),
        "the title counts every pending proposal"
    );
    let mut g = c.benchmark_group("ui_queue_10k");
    g.bench_function("first_page", |b| b.iter(|| black_box(render("/"))));
    g.bench_function("page_100", |b| b.iter(|| black_box(render("/?page=100"))));
    g.bench_function("filtered_tenant", |b| {
        b.iter(|| {
            black_box(render(
                "/?tenant=harbour-yoga&capability=accounts.propose_fee_reversal",
            ))
        })
    });
    g.finish();
}

criterion_group!(benches, queue_page);
criterion_main!(benches);
