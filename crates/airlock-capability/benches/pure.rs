//! The pure, in-memory parts of a tool call for our studio example: argument checks,
//! the scoped read plan, the proposal patch and guards, the change set and its canonical hash,
//! the dedupe key, result rendering, and (once per process) config parsing and the catalog.
//!
//! ```text
//! CARGO_TARGET_DIR=target-bench cargo bench -p airlock-capability --bench pure
//! ```

use std::hint::black_box;
use std::time::Duration;

use airlock_capability::envelope::{self, Outcome, ReadOutcome, ResultFormat};
use airlock_capability::plan::{self, ProposalInputs, TrustedScope};
use airlock_capability::{AliasMode, Catalog, args};
use airlock_config::{Capability, Config};
use airlock_protocol::{canonical_json, hash_json, ids, now_rfc3339};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Map, Value, json};

const EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/configs/studio-postgres/airlock.json"
);

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn cap<'a>(config: &'a Config, name: &str) -> &'a Capability {
    config
        .capabilities
        .iter()
        .find(|c| c.name == name)
        .expect("capability in example")
}

fn benches(c: &mut Criterion) {
    let text = std::fs::read_to_string(EXAMPLE).expect("studio example present");
    let doc: Value = serde_json::from_str(&text).unwrap();
    let (config, _) = airlock_config::parse(&doc).unwrap();
    let read = cap(&config, "accounts.inspect_membership");
    let propose = cap(&config, "accounts.propose_fee_reversal");
    let scope = TrustedScope {
        tenant_id: "harbour-yoga".into(),
        principal: "desk_assistant_4".into(),
        provenance: "environment",
    };
    let read_args = obj(json!({"membership_id": "MB-0117"}));
    let propose_args =
        obj(json!({"membership_id": "MB-0117", "reason": "member asked for a review"}));
    let row = obj(json!({
        "id": "MB-0117", "studio_id": "harbour-yoga", "member_name": "Priya Natarajan",
        "tier": "unlimited", "balance_cents": 8900, "late_fee_cents": 1500, "fee_note": null,
        "updated_at": "2026-09-03T08:15:42+00:00",
    }));
    let proposal_plan = plan::read_plan(propose, &propose_args, &scope).unwrap();
    let patch = plan::build_patch(propose, &propose_args);
    let inputs = ProposalInputs {
        cap: propose,
        mode: config.mode,
        engine: config.sources[&propose.source].engine,
        scope: &scope,
        proposal_id: ids::new_id(ids::PROPOSAL),
        before: row.clone(),
        patch: patch.clone(),
        evidence_bundle_id: ids::new_id(ids::EVIDENCE),
        query_fingerprint: proposal_plan.fingerprint.clone(),
        created_at: now_rfc3339(),
    };
    let change_set = plan::change_set(inputs.clone()).unwrap();
    let change_set_value = serde_json::to_value(&change_set).unwrap();

    let mut g = c.benchmark_group("capability");
    g.bench_function("args_check/read", |b| {
        b.iter(|| args::check(black_box(read), black_box(&read_args)).unwrap())
    });
    g.bench_function("args_check/proposal", |b| {
        b.iter(|| args::check(black_box(propose), black_box(&propose_args)).unwrap())
    });
    g.bench_function("read_plan/read", |b| {
        b.iter(|| plan::read_plan(black_box(read), black_box(&read_args), &scope).unwrap())
    });
    g.bench_function("proposal_guards", |b| {
        b.iter(|| {
            let patch = plan::build_patch(propose, black_box(&propose_args));
            plan::check_guards(propose, &row, &patch).unwrap();
            plan::expected_version(propose, &row).unwrap();
            patch
        })
    });
    g.bench_function("change_set", |b| {
        b.iter(|| plan::change_set(black_box(inputs.clone())).unwrap())
    });
    g.bench_function("change_set/to_value", |b| {
        b.iter(|| serde_json::to_value(black_box(&change_set)).unwrap())
    });
    g.bench_function("change_set/canonical_json", |b| {
        b.iter(|| canonical_json(black_box(&change_set_value)))
    });
    g.bench_function("change_set/hash_json", |b| {
        b.iter(|| hash_json(black_box(&change_set_value)))
    });
    g.bench_function("dedupe_key", |b| {
        b.iter(|| {
            plan::dedupe_key(
                &propose.name,
                &scope.tenant_id,
                "MB-0117",
                black_box(&row),
                black_box(&patch),
            )
        })
    });
    let outcome = Outcome::Read(ReadOutcome {
        action: read.name.clone(),
        mode: "review",
        object_type: "memberships".into(),
        object_id: "MB-0117".into(),
        rows: vec![row.clone()],
        max_rows: 1,
        truncated: false,
        scope: scope.clone(),
        evidence_bundle_id: ids::new_id(ids::EVIDENCE),
    });
    g.bench_function("render_read/v1", |b| {
        b.iter(|| envelope::render(black_box(&outcome), ResultFormat::V1))
    });
    // Once per process.
    g.bench_function("config_parse", |b| {
        b.iter(|| airlock_config::parse(black_box(&doc)).unwrap())
    });
    g.bench_function("catalog_new", |b| {
        b.iter(|| Catalog::new(black_box(&config), AliasMode::Canonical))
    });
    g.bench_function("catalog_new/both", |b| {
        b.iter(|| Catalog::new(black_box(&config), AliasMode::Both))
    });
    g.finish();
}

criterion_group! {
    name = pure;
    // Long runs for a noisy 2-core machine; `--measurement-time` on the command line overrides.
    config = Criterion::default().measurement_time(Duration::from_secs(5));
    targets = benches
}
criterion_main!(pure);
