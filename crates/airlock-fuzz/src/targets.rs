//! The fuzz targets. Each is `fn(&[u8])` and panics only on a broken invariant.

use std::path::Path;
use std::sync::OnceLock;

use airlock_config::redact::Redactor;
use airlock_config::{Capability, Config};
use airlock_protocol::WritebackJob;
use airlock_protocol::handler::HandlerReceipt;
use airlock_writeback::executor::OutcomeStatus;
use airlock_writeback::handler_outcome::{Expected, outcome_from_answer};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

/// A config file: load limits, JSON parsing, validation, typed parsing.
pub fn config(data: &[u8]) {
    let Ok(loaded) = airlock_config::from_bytes(Path::new("fuzz.json"), data) else {
        return;
    };
    let report = airlock_config::validate(&loaded.document);
    assert_eq!(report.ok, report.errors.is_empty());
    for issue in report.errors.iter().chain(&report.warnings) {
        assert!(!issue.code.is_empty(), "an issue without a code: {issue:?}");
        assert!(
            issue.path.starts_with('$'),
            "an issue without a path: {issue:?}"
        );
    }
    let parsed = airlock_config::parse(&loaded.document);
    assert_eq!(
        parsed.is_ok(),
        report.ok,
        "validate and parse disagree: {:?}",
        parsed.err()
    );
}

/// The config the argument and plan targets run against: one proposal capability with every
/// kind of argument and guard.
fn fixture() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let doc = json!({
            "version": 1,
            "mode": "review",
            "sources": {"app": {"engine": "postgres", "read_url_env": "R", "write_url_env": "W"}},
            "trusted_context": {"provider": "environment"},
            "operators": {"dana": {"roles": ["lead"]}},
            "capabilities": [{
                "name": "billing.propose_fee",
                "kind": "proposal",
                "source": "app",
                "target": {"schema": "public", "table": "invoices", "primary_key": "id", "tenant_key": "tenant_id"},
                "args": {
                    "invoice_id": {"type": "string", "max_length": 64},
                    "amount": {"type": "number", "minimum": 0, "maximum": 5000},
                    "rate": {"type": "number", "minimum": -1.5, "maximum": 1.5},
                    "status": {"type": "string", "enum": ["open", "waived"]},
                    "urgent": {"type": "boolean", "required": false}
                },
                "lookup": {"id_from_arg": "invoice_id"},
                "visible_columns": ["id", "status", "fee_cents", "version"],
                "patch": {"fee_cents": {"from_arg": "amount"}, "status": {"from_arg": "status"}},
                "allowed_columns": ["fee_cents", "status"],
                "numeric_bounds": {"fee_cents": {"minimum": 0, "maximum": 5000}},
                "transition_guards": {"status": {"allowed": {"open": ["waived"]}}},
                "conflict_guard": {"column": "version"},
                "approval": {"mode": "human", "required_role": "lead"}
            }]
        });
        airlock_config::parse(&doc)
            .unwrap_or_else(|r| panic!("the fuzz fixture config is invalid: {r:?}"))
            .0
    })
}

fn capability() -> &'static Capability {
    &fixture().capabilities[0]
}

/// A tool call's `arguments` object: the argument check, then the read plan and the guards
/// the runtime would run next.
pub fn tool_args(data: &[u8]) {
    let Ok(Value::Object(args)) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let cap = capability();
    if airlock_capability::args::check(cap, &args).is_err() {
        return;
    }
    for key in args.keys() {
        assert!(
            cap.args.contains_key(key),
            "undeclared argument `{key}` accepted"
        );
    }
    let scope = airlock_capability::plan::TrustedScope {
        tenant_id: "tenant_a".into(),
        principal: "agent".into(),
        provenance: "environment",
    };
    let plan = match airlock_capability::plan::read_plan(cap, &args, &scope) {
        Ok(plan) => plan,
        Err(_) => return,
    };
    assert_eq!(
        plan.tenant,
        Some(("tenant_id".to_owned(), "tenant_a".to_owned())),
        "a plan must bind the trusted tenant, whatever the arguments"
    );
    let patch = airlock_capability::plan::build_patch(cap, &args);
    let before: Map<String, Value> = [
        ("id".to_owned(), args["invoice_id"].clone()),
        ("status".to_owned(), json!("open")),
        ("fee_cents".to_owned(), json!(100)),
        ("version".to_owned(), json!(3)),
    ]
    .into_iter()
    .collect();
    if airlock_capability::plan::check_guards(cap, &before, &patch).is_ok()
        && let Some(n) = patch.get("fee_cents").and_then(Value::as_f64)
    {
        assert!((0.0..=5000.0).contains(&n), "numeric bound let {n} through");
    }
}

fn expected_job() -> &'static WritebackJob {
    static JOB: OnceLock<WritebackJob> = OnceLock::new();
    JOB.get_or_init(|| {
        serde_json::from_value(json!({
            "schema_version": "synapsor.writeback-job.v1",
            "writeback_job_id": "wbj_wrp_0123456789abcdef0123",
            "proposal_id": "wrp_0123456789abcdef0123",
            "proposal_version": 1,
            "proposal_hash": "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
            "runner_scope": {"project_id": "local", "source_id": "app"},
            "engine": "postgres",
            "operation": "update",
            "target": {"schema": "public", "table": "invoices", "primary_key": {"column": "id", "value": "INV-1"}},
            "tenant_guard": {"column": "tenant_id", "value": "tenant_a"},
            "allowed_columns": ["fee_cents"],
            "patch": {"fee_cents": 0},
            "conflict_guard": {"kind": "column", "column": "version", "expected_value": 3},
            "idempotency_key": "wrp_0123456789abcdef0123:INV-1",
            "lease": {"lease_id": "lease_1", "attempt": 1, "expires_at": "2030-01-01T00:10:00Z"}
        }))
        .expect("the fuzz fixture job parses")
    })
}

/// An `apply --job` file: parsing, then the field-by-field cross-check against the job the
/// ledger would build.
pub fn job_file(data: &[u8]) {
    let Ok(file) = serde_json::from_slice::<WritebackJob>(data) else {
        return;
    };
    let now: DateTime<Utc> = "2030-01-01T00:00:00Z".parse().expect("fixed time");
    let expected = expected_job();
    if airlock_writeback::job::cross_check(&file, expected, now).is_ok() {
        let strip = |j: &WritebackJob| {
            let mut v = serde_json::to_value(j).expect("job serializes");
            v["lease"]["expires_at"] = Value::Null;
            v
        };
        assert_eq!(
            strip(&file),
            strip(expected),
            "a different job passed the cross-check"
        );
    }
}

/// A handler's answer (HTTP body or command stdout) to a request for one proposal.
pub fn handler_receipt(data: &[u8]) {
    let exp = Expected {
        executor: "billing_api",
        proposal_id: "wrp_0123456789abcdef0123",
        idempotency_key: "wrp_0123456789abcdef0123:INV-1",
        dry_run: false,
    };
    let outcome = outcome_from_answer(data, &exp, &Redactor::default());
    let Ok(receipt) = HandlerReceipt::parse(data) else {
        assert_eq!(
            outcome.status,
            OutcomeStatus::Failed,
            "unparsable answer not failed"
        );
        return;
    };
    let foreign = receipt
        .proposal_id
        .as_deref()
        .is_some_and(|p| p != exp.proposal_id)
        || receipt
            .idempotency_key
            .as_deref()
            .is_some_and(|k| k != exp.idempotency_key);
    if foreign {
        assert_eq!(
            outcome.status,
            OutcomeStatus::Failed,
            "a receipt for another proposal or key was taken as {:?}",
            outcome.status
        );
    }
    assert!(outcome.detail.chars().count() <= 4000, "unbounded detail");
}

/// One JSON-RPC frame as the stdio and Streamable HTTP transports receive it.
pub fn jsonrpc_frame(data: &[u8]) {
    let answer = airlock_mcp::transport::check_frame(data);
    if serde_json::from_slice::<Value>(data).is_err() {
        // Not JSON at all is always a parse error.
        let bom_stripped = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
        if serde_json::from_slice::<Value>(bom_stripped).is_err() {
            assert_eq!(
                answer,
                Err(-32700),
                "non-JSON frame not answered with -32700"
            );
        }
    }
}
