//! Tool calls end to end on real Postgres, MariaDB and SQLite: each test gets a fresh
//! database and a fresh ledger. Covers scoping, bad input, guards and what gets recorded.

use std::sync::Arc;

use airlock_capability::envelope::Outcome;
use airlock_capability::{AliasMode, CallCode, SafeCode};
use airlock_ledger::{Ledger, RecordFilter, SqliteLedger};
use airlock_runtime::{CallFailure, Runtime, RuntimeOptions};
use airlock_testkit::FreshDb;
use serde_json::{Map, Value, json};

const SCHEMA: &str = "
CREATE TABLE invoices (
    id VARCHAR(64) PRIMARY KEY,
    tenant_id VARCHAR(64) NOT NULL,
    status VARCHAR(32) NOT NULL,
    balance_cents INTEGER NOT NULL,
    late_fee_cents INTEGER NOT NULL,
    waiver_reason VARCHAR(500),
    version INTEGER NOT NULL
);
INSERT INTO invoices VALUES ('INV-1', 'acme', 'open', 12000, 500, NULL, 1);
INSERT INTO invoices VALUES ('INV-2', 'acme', 'paid', 0, 0, NULL, 4);
INSERT INTO invoices VALUES ('INV-9', 'globex', 'open', 99000, 1500, NULL, 2);
";

fn config(engine: &str, schema: &str) -> Value {
    let target = json!({"schema": schema, "table": "invoices", "primary_key": "id", "tenant_key": "tenant_id"});
    json!({
        "version": 1,
        "mode": "review",
        "sources": {"app": {"engine": engine, "read_url_env": "APP_READ_URL", "write_url_env": "APP_WRITE_URL", "statement_timeout_ms": 5000}},
        "trusted_context": {"provider": "environment", "values": {"tenant_id_env": "TEST_TENANT", "principal_env": "TEST_PRINCIPAL"}},
        "capabilities": [
            {
                "name": "billing.inspect_invoice", "kind": "read", "source": "app", "target": target,
                "args": {"invoice_id": {"type": "string", "max_length": 128}, "note": {"type": "string", "required": false}},
                "lookup": {"id_from_arg": "invoice_id"},
                "visible_columns": ["id", "status", "balance_cents", "late_fee_cents"]
            },
            {
                "name": "billing.propose_late_fee", "kind": "proposal", "source": "app", "target": target,
                "args": {"invoice_id": {"type": "string", "max_length": 128}, "fee": {"type": "number"}, "reason": {"type": "string", "max_length": 500}},
                "lookup": {"id_from_arg": "invoice_id"},
                "visible_columns": ["id", "status", "late_fee_cents", "waiver_reason", "version"],
                "patch": {"late_fee_cents": {"from_arg": "fee"}, "waiver_reason": {"from_arg": "reason"}},
                "allowed_columns": ["late_fee_cents", "waiver_reason"],
                "numeric_bounds": {"late_fee_cents": {"minimum": 0, "maximum": 1000}},
                "conflict_guard": {"column": "version"},
                "approval": {"required_role": "billing_lead"}
            },
            {
                "name": "billing.propose_status", "kind": "proposal", "source": "app", "target": target,
                "args": {"invoice_id": {"type": "string", "max_length": 128}, "status": {"type": "string", "max_length": 32}},
                "lookup": {"id_from_arg": "invoice_id"},
                "visible_columns": ["id", "status", "version"],
                "patch": {"status": {"from_arg": "status"}},
                "allowed_columns": ["status"],
                "transition_guards": {"status": {"allowed": {"open": ["void", "paid"]}}},
                "conflict_guard": {"column": "version"}
            }
        ]
    })
}

struct Fixture {
    db: FreshDb,
    rt: Runtime,
    ledger: Arc<SqliteLedger>,
    _dir: tempfile::TempDir,
}

async fn fixture(db: FreshDb) -> Fixture {
    db.execute_batch(SCHEMA).await.expect("seed");
    let (engine, schema) = match db.engine {
        "postgres" => ("postgres", "public".to_owned()),
        "mysql" => ("mysql", db.name.clone()),
        _ => ("sqlite", "main".to_owned()),
    };
    let (config, _warnings) =
        airlock_config::parse(&config(engine, &schema)).expect("valid test config");
    let dir = tempfile::tempdir().unwrap();
    let ledger = Arc::new(SqliteLedger::open(&dir.path().join("ledger.db")).unwrap());
    let env = [
        ("APP_READ_URL", db.url.as_str()),
        ("TEST_TENANT", "acme"),
        ("TEST_PRINCIPAL", "agent_7"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let options = RuntimeOptions {
        alias_mode: AliasMode::Both,
        result_format: None,
        base_dir: dir.path().to_owned(),
        max_connections: 2,
    };
    let rt = Runtime::new(config, ledger.clone(), env, options);
    Fixture {
        db,
        rt,
        ledger,
        _dir: dir,
    }
}

fn args(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

impl Fixture {
    async fn call(&self, tool: &str, a: Value) -> Result<Outcome, CallFailure> {
        self.rt.call(tool, &args(a), None).await
    }

    async fn fails(&self, tool: &str, a: Value, code: &str) -> CallFailure {
        match self.call(tool, a).await {
            Ok(o) => panic!("expected {code}, got {o:?}"),
            Err(f) => {
                assert_eq!(f.error.code.as_str(), code, "{f:?}");
                f
            }
        }
    }

    async fn table_snapshot(&self) -> String {
        self.db
            .query_scalar("SELECT CONCAT(COUNT(*), ':', SUM(late_fee_cents), ':', SUM(version)) FROM invoices")
            .await
            .unwrap()
            .unwrap_or_default()
    }
}

async fn scoped_reads(f: Fixture) {
    let Outcome::Read(r) = f
        .call("billing.inspect_invoice", json!({"invoice_id": "INV-1"}))
        .await
        .unwrap()
    else {
        panic!()
    };
    let cols: Vec<&str> = r.rows[0].keys().map(String::as_str).collect();
    assert_eq!(
        cols,
        [
            "id",
            "status",
            "balance_cents",
            "late_fee_cents",
            "tenant_id"
        ]
    );
    assert_eq!(r.rows[0]["balance_cents"], json!(12000));
    assert_eq!(r.scope.tenant_id, "acme");
    let ev = f.ledger.evidence(&r.evidence_bundle_id).await.unwrap();
    assert_eq!(ev.query_audit.len(), 1);
    assert_eq!(ev.query_audit[0].outcome, "ok");
    let statement = ev.query_audit[0].payload["statement_template"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(statement.contains("tenant_id"), "{statement}");
    assert!(
        !statement.contains("acme") && !statement.contains("INV-1"),
        "values must be bound, not inlined: {statement}"
    );

    // The alias routes to the same capability.
    assert!(
        f.call("billing__inspect_invoice", json!({"invoice_id": "INV-2"}))
            .await
            .is_ok()
    );

    // Another tenant's id is indistinguishable from a missing one, and audited.
    let e = f
        .fails(
            "billing.inspect_invoice",
            json!({"invoice_id": "INV-9"}),
            "ROW_NOT_FOUND",
        )
        .await;
    assert_eq!(e.error.safe_code(), SafeCode::NotFoundInTenant);
    let misses = f
        .ledger
        .query_audit_page(&RecordFilter {
            outcome: Some("not_found".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .items;
    assert_eq!(misses.len(), 1);
    assert_eq!(misses[0].object_id, "INV-9");
    assert_eq!(misses[0].tenant_id, "acme");
}

async fn hostile_input(f: Fixture) {
    let before = f.table_snapshot().await;
    for id in [
        "' OR '1'='1",
        "INV-1' OR tenant_id <> 'acme",
        "1; DROP TABLE invoices; --",
        "INV-1\\",
        "\"INV-1\"",
        "INV-9' --",
        "%",
        "INV-_",
    ] {
        f.fails(
            "billing.inspect_invoice",
            json!({"invoice_id": id}),
            "ROW_NOT_FOUND",
        )
        .await;
    }
    f.fails(
        "billing.inspect_invoice",
        json!({"invoice_id": "INV-1\u{0}"}),
        "ARGUMENT_INVALID_CHARACTER",
    )
    .await;
    f.fails(
        "billing.inspect_invoice",
        json!({"invoice_id": "x".repeat(1 << 20)}),
        "ARGUMENT_TOO_LONG",
    )
    .await;
    // No max_length configured: the global limit applies.
    f.fails(
        "billing.inspect_invoice",
        json!({"invoice_id": "INV-1", "note": "y".repeat(1 << 20)}),
        "ARGUMENT_TOO_LONG",
    )
    .await;
    f.fails(
        "billing.inspect_invoice",
        json!({"invoice_id": 1}),
        "ARGUMENT_TYPE_INVALID",
    )
    .await;
    f.fails(
        "billing.inspect_invoice",
        json!({"invoice_id": null}),
        "ARGUMENT_TYPE_INVALID",
    )
    .await;
    f.fails(
        "billing.inspect_invoice",
        json!({"invoice_id": ["INV-1"]}),
        "ARGUMENT_TYPE_INVALID",
    )
    .await;
    f.fails("billing.inspect_invoice", json!({}), "ARGUMENT_REQUIRED")
        .await;
    f.fails(
        "billing.inspect_invoice",
        json!({"invoice_id": "INV-1", "limit": 5}),
        "ARGUMENT_NOT_DECLARED",
    )
    .await;
    for key in [
        "tenant_id",
        "principal",
        "role",
        "tenantId",
        "Tenant-ID",
        "table",
        "approved_by",
    ] {
        let e = f
            .fails(
                "billing.inspect_invoice",
                json!({"invoice_id": "INV-9", key: "globex"}),
                "MODEL_CANNOT_OVERRIDE_BINDING",
            )
            .await;
        assert_eq!(e.error.safe_code(), SafeCode::InvalidArgument);
    }
    f.fails(
        "billing.propose_late_fee",
        json!({"invoice_id": "INV-1", "fee": "0", "reason": "r"}),
        "ARGUMENT_TYPE_INVALID",
    )
    .await;
    f.fails(
        "admin.execute_sql",
        json!({"sql": "DROP TABLE invoices"}),
        "TOOL_NOT_FOUND",
    )
    .await;
    assert_eq!(
        f.table_snapshot().await,
        before,
        "hostile input changed the table"
    );
    assert!(f.ledger.verify().await.unwrap().ok);
}

async fn proposals(f: Fixture) {
    let before = f.table_snapshot().await;
    let Outcome::Proposal(p) = f
        .call(
            "billing.propose_late_fee",
            json!({"invoice_id": "INV-1", "fee": 0, "reason": "goodwill"}),
        )
        .await
        .unwrap()
    else {
        panic!()
    };
    assert!(!p.reused);
    assert_eq!(
        p.diff["late_fee_cents"],
        json!({"before": 500, "proposed": 0})
    );
    let stored = f.ledger.proposal(&p.proposal_id).await.unwrap();
    assert_eq!(stored.state, "pending_review");
    let cs = &stored.change_set;
    assert!(cs.hash_is_valid());
    assert_eq!(cs.guards.expected_version.column, "version");
    assert_eq!(cs.guards.expected_version.value, json!(1));
    assert_eq!(cs.guards.tenant.value, json!("acme"));
    assert_eq!(cs.approval.required_role.as_deref(), Some("billing_lead"));
    assert_change_set_matches_schema(cs, f.db.engine);

    // The same change again returns the open proposal instead of failing or duplicating.
    let Outcome::Proposal(again) = f
        .call(
            "billing.propose_late_fee",
            json!({"invoice_id": "INV-1", "fee": 0, "reason": "goodwill"}),
        )
        .await
        .unwrap()
    else {
        panic!()
    };
    assert!(again.reused);
    assert_eq!(again.proposal_id, p.proposal_id);

    // Guard violations are refused before anything but the query audit is stored.
    let stats = f.ledger.stats().await.unwrap();
    f.fails(
        "billing.propose_late_fee",
        json!({"invoice_id": "INV-1", "fee": 5000, "reason": "x"}),
        "PATCH_ABOVE_MAXIMUM",
    )
    .await;
    f.fails(
        "billing.propose_late_fee",
        json!({"invoice_id": "INV-1", "fee": -1, "reason": "x"}),
        "PATCH_BELOW_MINIMUM",
    )
    .await;
    f.fails(
        "billing.propose_status",
        json!({"invoice_id": "INV-2", "status": "void"}),
        "PATCH_TRANSITION_NOT_ALLOWED",
    )
    .await;
    let after = f.ledger.stats().await.unwrap();
    assert_eq!(after.proposals, stats.proposals);
    assert_eq!(
        after.evidence_bundles, stats.evidence_bundles,
        "a rejected proposal left orphan evidence"
    );
    assert_eq!(after.query_audit, stats.query_audit + 3);
    let rejected = f
        .ledger
        .query_audit_page(&RecordFilter {
            outcome: Some("rejected:PATCH_TRANSITION_NOT_ALLOWED".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .items;
    assert_eq!(rejected.len(), 1);

    assert!(
        f.call(
            "billing.propose_status",
            json!({"invoice_id": "INV-1", "status": "void"})
        )
        .await
        .is_ok()
    );
    // Another tenant's row cannot be proposed against.
    f.fails(
        "billing.propose_late_fee",
        json!({"invoice_id": "INV-9", "fee": 0, "reason": "x"}),
        "ROW_NOT_FOUND",
    )
    .await;

    assert_eq!(
        f.table_snapshot().await,
        before,
        "a proposal changed the source database"
    );
    let all = f
        .ledger
        .proposal_page(&RecordFilter::default())
        .await
        .unwrap()
        .items;
    assert_eq!(all.len(), 2);
    assert!(f.ledger.verify().await.unwrap().ok);
}

/// Checks a change set the runtime wrote against our published schema and, in the
/// compatibility tier, the original's.
fn assert_change_set_matches_schema(cs: &airlock_protocol::ChangeSet, engine: &str) {
    let mut v = serde_json::to_value(cs).unwrap();
    let ours = airlock_testkit::repo_root().join("schemas");
    airlock_testkit::assert_valid(&ours, "change-set.v1.schema.json", &v);
    let Some(dir) = airlock_testkit::shared_conformance("change sets vs the original's schema")
    else {
        return;
    };
    if engine == "sqlite" {
        // `external_sqlite` is Airlock's one extension of the source-kind enum.
        assert_eq!(v["source"]["kind"], "external_sqlite");
        v["source"]["kind"] = json!("external_postgres");
    }
    airlock_testkit::assert_valid(&dir, "schemas/change-set.v1.schema.json", &v);
}

async fn unreachable_source(db: FreshDb) {
    let mut f = fixture(db).await;
    // Point the source at a closed port: a safe, retryable error with nothing leaked.
    let bad = match f.db.engine {
        "postgres" => "postgres://airlock:s3cret-pw@127.0.0.1:1/nowhere",
        "mysql" => "mysql://airlock:s3cret-pw@127.0.0.1:1/nowhere",
        _ => "/nonexistent/dir/app.db",
    };
    let (config, _) = airlock_config::parse(&config(f.db.engine, "public")).unwrap();
    let env = [
        ("APP_READ_URL", bad),
        ("TEST_TENANT", "acme"),
        ("TEST_PRINCIPAL", "agent_7"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let options = RuntimeOptions {
        alias_mode: AliasMode::Canonical,
        result_format: None,
        base_dir: f._dir.path().to_owned(),
        max_connections: 1,
    };
    f.rt = Runtime::new(config, f.ledger.clone(), env, options);
    let e = f
        .call("billing.inspect_invoice", json!({"invoice_id": "INV-1"}))
        .await
        .unwrap_err();
    assert_eq!(
        e.error.safe_code(),
        SafeCode::TemporarilyUnavailable,
        "{e:?}"
    );
    assert_eq!(v2_error(&e)["retryable"], json!(true));
    for format in [
        airlock_capability::envelope::ResultFormat::V1,
        airlock_capability::envelope::ResultFormat::V2,
    ] {
        let shown = e.render(format).to_string();
        assert!(
            !shown.contains("s3cret")
                && !shown.contains("127.0.0.1")
                && !shown.contains("nonexistent"),
            "{shown}"
        );
    }
}

/// A runtime over `f`'s ledger whose environment is `env` (plus the trusted context).
fn runtime_with(f: &Fixture, read_url: Option<&str>) -> Runtime {
    let (config, _) = airlock_config::parse(&config(
        f.db.engine,
        match f.db.engine {
            "postgres" => "public",
            "mysql" => f.db.name.as_str(),
            _ => "main",
        },
    ))
    .unwrap();
    let mut env: std::collections::HashMap<String, String> =
        [("TEST_TENANT", "acme"), ("TEST_PRINCIPAL", "agent_7")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
    if let Some(url) = read_url {
        env.insert("APP_READ_URL".to_owned(), url.to_owned());
    }
    let options = RuntimeOptions {
        alias_mode: AliasMode::Canonical,
        result_format: None,
        base_dir: f._dir.path().to_owned(),
        max_connections: 1,
    };
    Runtime::new(config, f.ledger.clone(), env, options)
}

/// The v2 envelope's `error` object for a failure.
fn v2_error(e: &CallFailure) -> Value {
    e.render(airlock_capability::envelope::ResultFormat::V2)["error"].clone()
}

/// Failures only an operator can fix (a missing credential, a missing grant) are `INTERNAL`
/// and not retryable: retrying cannot help until someone changes the setup.
async fn operator_fixable_sources(db: FreshDb) {
    let mut f = fixture(db).await;
    f.rt = runtime_with(&f, None);
    let e = f
        .call("billing.inspect_invoice", json!({"invoice_id": "INV-1"}))
        .await
        .unwrap_err();
    assert_eq!(e.error.code, CallCode::SourceCredentialMissing, "{e:?}");
    assert_eq!(
        v2_error(&e),
        json!({"code": "INTERNAL", "reason": "INTERNAL", "message": SafeCode::Internal.safe_message(), "retryable": false})
    );
    if f.db.engine == "sqlite" {
        return;
    }
    // A login without any grant on the table.
    let user = f.db.fresh_user().await.expect("a role without grants");
    f.rt = runtime_with(&f, Some(&user.url));
    let e = f
        .call("billing.inspect_invoice", json!({"invoice_id": "INV-1"}))
        .await
        .unwrap_err();
    assert_eq!(e.error.code, CallCode::SourcePermissionDenied, "{e:?}");
    let shown = v2_error(&e);
    assert_eq!(
        (shown["code"].as_str(), shown["retryable"].as_bool()),
        (Some("INTERNAL"), Some(false))
    );
    assert!(!shown.to_string().contains(&user.name), "{shown}");
}

macro_rules! engine_tests {
    ($engine:ident, $fresh:expr) => {
        mod $engine {
            use super::*;

            #[tokio::test]
            async fn reads_are_tenant_scoped_and_audited() {
                let Some(db) = $fresh else { return };
                scoped_reads(fixture(db).await).await;
            }

            #[tokio::test]
            async fn hostile_input_gets_clear_errors_and_leaves_data_alone() {
                let Some(db) = $fresh else { return };
                hostile_input(fixture(db).await).await;
            }

            #[tokio::test]
            async fn proposals_capture_guards_and_change_nothing() {
                let Some(db) = $fresh else { return };
                proposals(fixture(db).await).await;
            }

            #[tokio::test]
            async fn missing_credentials_and_grants_are_internal_and_not_retryable() {
                let Some(db) = $fresh else { return };
                operator_fixable_sources(db).await;
            }

            #[tokio::test]
            async fn an_unreachable_source_is_a_safe_retryable_error() {
                let Some(db) = $fresh else { return };
                unreachable_source(db).await;
            }
        }
    };
}

/// A tool call through the runtime around a real Postgres restart (a private cluster; the
/// shared server only holds the fixture): the call after the restart succeeds, a call while
/// the server is down is a safe retryable error, and the call after it is back succeeds.
#[tokio::test]
async fn reads_through_the_runtime_survive_a_postgres_restart() {
    let Some(db) = airlock_testkit::fresh_postgres().await else {
        return;
    };
    let Some(mut server) = airlock_testkit::private_pg::PrivatePostgres::start() else {
        return;
    };
    server
        .execute_batch("postgres", SCHEMA)
        .await
        .expect("seed");
    let f = fixture(db).await;
    let rt = runtime_with(&f, Some(&server.url("postgres")));
    let inspect = || async {
        rt.call(
            "billing.inspect_invoice",
            &args(json!({"invoice_id": "INV-1"})),
            None,
        )
        .await
    };
    inspect().await.expect("before the restart");
    server.restart().expect("restart");
    inspect().await.expect("the call after a restart succeeds");
    server.stop().expect("stop");
    let e = inspect().await.expect_err("the server is down");
    assert_eq!(e.error.code.as_str(), "SOURCE_UNAVAILABLE", "{e:?}");
    assert_eq!(v2_error(&e)["retryable"], json!(true));
    server.start_again().expect("start again");
    inspect()
        .await
        .expect("the call after the server is back succeeds");
}

engine_tests!(postgres, airlock_testkit::fresh_postgres().await);
engine_tests!(mysql, airlock_testkit::fresh_mysql().await);
engine_tests!(sqlite, Some(airlock_testkit::fresh_sqlite()));
