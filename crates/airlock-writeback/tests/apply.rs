//! Approve and apply end to end on real Postgres, MariaDB and SQLite: the full flow, conflicts,
//! idempotency under concurrency, crash recovery, tampered jobs, policy at apply time, roles,
//! retries that keep the approval, and (Postgres, MariaDB) a writer with column-scoped UPDATE
//! grants only, with and without a version-bumping trigger.

use std::collections::HashMap;
use std::sync::Arc;

use airlock_capability::AliasMode;
use airlock_capability::envelope::Outcome as CallOutcome;
use airlock_config::Config;
use airlock_ledger::{Actor, Ledger, RecordFilter, Review, SqliteLedger};
use airlock_protocol::WritebackJob;
use airlock_runtime::{Runtime, RuntimeOptions};
use airlock_testkit::FreshDb;
use airlock_writeback::AttemptEffect;
use airlock_writeback::apply::{self, ApplyError};
use airlock_writeback::approval::{self, Verdict};
use airlock_writeback::executor::ApplyPlan;
use airlock_writeback::job::JobError;
use serde_json::{Value, json};

const SCHEMA: &str = "
CREATE TABLE invoices (
    id VARCHAR(64) PRIMARY KEY,
    tenant_id VARCHAR(64) NOT NULL,
    status VARCHAR(32) NOT NULL,
    late_fee_cents INTEGER NOT NULL,
    waiver_reason VARCHAR(500),
    version INTEGER NOT NULL
);
INSERT INTO invoices VALUES ('INV-1', 'acme', 'open', 500, NULL, 1);
INSERT INTO invoices VALUES ('INV-2', 'acme', 'open', 700, NULL, 1);
INSERT INTO invoices VALUES ('INV-9', 'globex', 'open', 1500, NULL, 1);
";

fn config_doc(engine: &str, schema: &str, weak: bool) -> Value {
    let target = json!({"schema": schema, "table": "invoices", "primary_key": "id", "tenant_key": "tenant_id"});
    // The waiver capability asks Airlock to advance the version itself (`bump`); the status
    // capability leaves it alone (the default: only the patched columns are written).
    let guard = if weak {
        json!({"weak_guard_ack": true})
    } else {
        json!({"column": "version", "bump": true})
    };
    json!({
        "version": 1,
        "mode": "review",
        "sources": {"app": {"engine": engine, "read_url_env": "APP_URL", "write_url_env": "APP_WRITE_URL"}},
        "trusted_context": {"provider": "environment", "values": {"tenant_id_env": "T_TENANT", "principal_env": "T_PRINCIPAL"}},
        "operators": {"dana": {"roles": ["billing_lead"]}, "sam": {"roles": ["support"]}},
        "capabilities": [
            {
                "name": "billing.propose_waiver", "kind": "proposal", "source": "app", "target": target,
                "args": {"invoice_id": {"type": "string", "max_length": 64}, "fee": {"type": "number"}, "reason": {"type": "string", "max_length": 200}},
                "lookup": {"id_from_arg": "invoice_id"},
                "visible_columns": ["id", "status", "late_fee_cents", "waiver_reason", "version"],
                "patch": {"late_fee_cents": {"from_arg": "fee"}, "waiver_reason": {"from_arg": "reason"}},
                "allowed_columns": ["late_fee_cents", "waiver_reason"],
                "numeric_bounds": {"late_fee_cents": {"minimum": 0, "maximum": 1000}},
                "conflict_guard": guard,
                "approval": {"required_role": "billing_lead"}
            },
            {
                "name": "billing.propose_status", "kind": "proposal", "source": "app", "target": target,
                "args": {"invoice_id": {"type": "string", "max_length": 64}, "status": {"type": "string", "max_length": 32}},
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

struct World {
    db: FreshDb,
    rt: Runtime,
    ledger: Arc<SqliteLedger>,
    ledger_path: std::path::PathBuf,
    env: HashMap<String, String>,
    dir: tempfile::TempDir,
    doc: Value,
}

fn schema_for(db: &FreshDb) -> String {
    match db.engine {
        "postgres" => "public".into(),
        "mysql" => db.name.clone(),
        _ => "main".into(),
    }
}

async fn world(db: FreshDb, weak: bool) -> World {
    db.execute_batch(SCHEMA).await.expect("seed");
    let doc = config_doc(db.engine, &schema_for(&db), weak);
    let (config, _) = airlock_config::parse(&doc).expect("valid config");
    let dir = tempfile::tempdir().unwrap();
    let ledger_path = dir.path().join("ledger.db");
    let ledger = Arc::new(SqliteLedger::open(&ledger_path).unwrap());
    let env: HashMap<String, String> = [
        ("APP_URL", db.url.as_str()),
        ("APP_WRITE_URL", db.url.as_str()),
        ("T_TENANT", "acme"),
        ("T_PRINCIPAL", "agent_7"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let options = RuntimeOptions {
        alias_mode: AliasMode::Canonical,
        result_format: None,
        base_dir: dir.path().to_owned(),
        max_connections: 2,
    };
    let rt = Runtime::new(config, ledger.clone(), env.clone(), options);
    World {
        db,
        rt,
        ledger,
        ledger_path,
        env,
        dir,
        doc,
    }
}

impl World {
    fn config(&self) -> &Config {
        self.rt.config()
    }

    async fn propose(&self, tool: &str, args: Value) -> String {
        match self.rt.call(tool, args.as_object().unwrap(), None).await {
            Ok(CallOutcome::Proposal(p)) => p.proposal_id,
            other => panic!("proposal failed: {other:?}"),
        }
    }

    async fn approve(&self, id: &str, actor: &str) {
        let p = self.ledger.proposal(id).await.unwrap();
        let actor = Actor {
            name: actor.into(),
            source: "flag".into(),
        };
        approval::decide(
            self.ledger.as_ref(),
            self.config(),
            &p,
            &actor,
            Verdict::Approve,
            None,
        )
        .await
        .expect("authorized and recorded");
    }

    async fn apply_with(
        &self,
        ledger: &dyn Review,
        config: &Config,
        id: &str,
        job: Option<&WritebackJob>,
        dry_run: bool,
    ) -> Result<apply::ApplyReport, ApplyError> {
        let prepared = apply::prepare(ledger, config, id, job, "local").await?;
        let executor = airlock_writeback::setup::executor_for(
            config,
            prepared.capability,
            &self.env,
            self.dir.path(),
        )?;
        apply::apply(
            ledger,
            executor.as_ref(),
            prepared,
            &Actor {
                name: "dana".into(),
                source: "flag".into(),
            },
            "test-runner",
            dry_run,
        )
        .await
    }

    async fn apply(&self, id: &str) -> apply::ApplyReport {
        self.apply_with(self.ledger.as_ref(), self.config(), id, None, false)
            .await
            .expect("apply runs")
    }

    async fn row(&self, id: &str) -> String {
        self.db
            .query_scalar(&format!(
                "SELECT CONCAT(late_fee_cents, ':', COALESCE(waiver_reason, '-'), ':', status, ':', version) FROM invoices WHERE id = '{id}'"
            ))
            .await
            .unwrap()
            .unwrap()
    }

    async fn receipts_in_source(&self) -> i64 {
        self.db
            .query_scalar("SELECT COUNT(*) FROM synapsor_writeback_receipts")
            .await
            .unwrap()
            .unwrap()
            .parse()
            .unwrap()
    }
}

fn waiver(invoice: &str, fee: i64) -> Value {
    json!({"invoice_id": invoice, "fee": fee, "reason": "goodwill"})
}

async fn full_flow(w: World) {
    let id = w
        .propose("billing.propose_waiver", waiver("INV-1", 0))
        .await;
    assert_eq!(w.row("INV-1").await, "500:-:open:1");
    // Not approved yet: apply refuses and records nothing.
    assert!(matches!(
        w.apply_with(w.ledger.as_ref(), w.config(), &id, None, false)
            .await,
        Err(ApplyError::NotApproved { .. })
    ));
    // Roles: the proposer and an operator without the role are refused.
    let p = w.ledger.proposal(&id).await.unwrap();
    assert!(matches!(
        approval::authorize(w.config(), &p, None, "agent_7"),
        Err(approval::ApprovalError::SelfApproval { .. })
    ));
    assert!(matches!(
        approval::authorize(w.config(), &p, None, "sam"),
        Err(approval::ApprovalError::MissingRole { .. })
    ));
    assert!(matches!(
        approval::authorize(w.config(), &p, None, "mallory"),
        Err(approval::ApprovalError::UnknownOperator { .. })
    ));
    // `decide` runs the same checks as it records, for either verdict, and records nothing
    // when they fail. Withdrawing one's own proposal needs no second person; approving does.
    let events = w.ledger.proposal_events(&id).await.unwrap().len();
    for (who, verdict) in [
        ("agent_7", Verdict::Approve),
        ("sam", Verdict::Approve),
        ("mallory", Verdict::Approve),
        ("sam", Verdict::Reject),
        ("mallory", Verdict::Reject),
    ] {
        let actor = Actor {
            name: who.into(),
            source: "flag".into(),
        };
        let refused = approval::decide(w.ledger.as_ref(), w.config(), &p, &actor, verdict, None);
        assert!(
            matches!(refused.await, Err(approval::DecideError::Refused(_))),
            "{who} {verdict:?}"
        );
    }
    assert_eq!(w.ledger.proposal_events(&id).await.unwrap().len(), events);
    assert!(w.ledger.approvals(&id).await.unwrap().is_empty());
    assert!(approval::check(w.config(), &p, None, "agent_7", Verdict::Reject).is_ok());
    w.approve(&id, "dana").await;

    let before = w.ledger.stats().await.unwrap();
    let dry = w
        .apply_with(w.ledger.as_ref(), w.config(), &id, None, true)
        .await
        .unwrap();
    assert_eq!(dry.status, "applied");
    assert!(dry.dry_run);
    assert_eq!(
        w.row("INV-1").await,
        "500:-:open:1",
        "a dry run changed the row"
    );
    let after = w.ledger.stats().await.unwrap();
    assert_eq!(
        (after.events, after.receipts, after.writeback_jobs),
        (before.events, before.receipts, before.writeback_jobs),
        "a dry run wrote to the ledger"
    );
    assert_eq!(w.ledger.proposal(&id).await.unwrap().state, "approved");

    let report = w.apply(&id).await;
    assert_eq!(report.status, "applied", "{report:?}");
    assert_eq!(report.state, "applied");
    assert_eq!(w.row("INV-1").await, "0:goodwill:open:2");
    assert_eq!(report.receipt.previous_version, Some(json!(1)));
    assert_eq!(report.receipt.new_version, Some(json!(2)));
    assert!(report.receipt.source_database_mutated);
    assert!(report.receipt.hash_is_valid());
    assert_receipt_schema(&report.receipt);
    assert_eq!(w.receipts_in_source().await, 1);

    // Again: the original receipt, nothing written.
    let again = w.apply(&id).await;
    assert_eq!(again.status, "already_applied");
    assert_eq!(again.receipt_id, report.receipt_id);
    assert_eq!(w.row("INV-1").await, "0:goodwill:open:2");
    assert_eq!(w.receipts_in_source().await, 1);

    // Other rows untouched.
    assert_eq!(w.row("INV-2").await, "700:-:open:1");
    assert_eq!(w.row("INV-9").await, "1500:-:open:1");
    let replay = w.ledger.replay(&id).await.unwrap();
    let kinds: Vec<&str> = replay.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "proposal_created",
            "evidence_recorded",
            "query_audited",
            "proposal_approved",
            "writeback_job_recorded",
            "writeback_applied"
        ]
    );
    assert!(w.ledger.verify().await.unwrap().ok);
}

fn assert_receipt_schema(r: &airlock_protocol::ExecutionReceipt) {
    airlock_testkit::assert_published_schemas(
        "execution-receipt.v1.schema.json",
        "execution-receipt.v1.schema.json",
        &serde_json::to_value(r).unwrap(),
    );
}

async fn conflict_then_retry(w: World) {
    let id = w
        .propose("billing.propose_waiver", waiver("INV-1", 100))
        .await;
    w.approve(&id, "dana").await;
    // The app changes the row after the proposal.
    w.db.execute_batch("UPDATE invoices SET late_fee_cents = 650, version = 5 WHERE id = 'INV-1'")
        .await
        .unwrap();
    let r = w.apply(&id).await;
    assert_eq!(r.status, "conflict", "{r:?}");
    assert_eq!(
        r.receipt.safe_error_code.as_deref(),
        Some("VERSION_CONFLICT")
    );
    assert_eq!(r.receipt.new_version, Some(json!(5)));
    assert_eq!(
        w.row("INV-1").await,
        "650:-:open:5",
        "a conflicted apply wrote"
    );
    assert_eq!(r.state, "conflict");
    // Re-approval allows a retry; the guard still holds, so it conflicts again.
    w.approve(&id, "dana").await;
    assert_eq!(w.apply(&id).await.status, "conflict");
    assert_eq!(w.row("INV-1").await, "650:-:open:5");
    // A row that vanished (or moved tenant) is a conflict too.
    let gone = w
        .propose("billing.propose_waiver", waiver("INV-2", 0))
        .await;
    w.approve(&gone, "dana").await;
    w.db.execute_batch("UPDATE invoices SET tenant_id = 'globex' WHERE id = 'INV-2'")
        .await
        .unwrap();
    let r = w.apply(&gone).await;
    assert_eq!(
        (r.status.as_str(), r.receipt.safe_error_code.as_deref()),
        ("conflict", Some("ROW_NOT_FOUND"))
    );
    assert!(w.ledger.verify().await.unwrap().ok);
}

async fn weak_guard(w: World) {
    let id = w
        .propose("billing.propose_waiver", waiver("INV-1", 10))
        .await;
    w.approve(&id, "dana").await;
    // Any visible change breaks the row hash, even without a version column.
    w.db.execute_batch("UPDATE invoices SET waiver_reason = 'edited by app' WHERE id = 'INV-1'")
        .await
        .unwrap();
    let r = w.apply(&id).await;
    assert_eq!(
        (r.status.as_str(), r.receipt.safe_error_code.as_deref()),
        ("conflict", Some("VERSION_CONFLICT")),
        "{r:?}"
    );
    assert_eq!(w.row("INV-1").await, "500:edited by app:open:1");
    // Unchanged row: the hash matches and the write goes through.
    let id2 = w
        .propose("billing.propose_waiver", waiver("INV-2", 20))
        .await;
    w.approve(&id2, "dana").await;
    assert_eq!(w.apply(&id2).await.status, "applied");
    assert_eq!(w.row("INV-2").await, "20:goodwill:open:1");
}

async fn concurrent_applies(w: World) {
    let id = w
        .propose("billing.propose_waiver", waiver("INV-1", 0))
        .await;
    w.approve(&id, "dana").await;
    // Two "processes": separate ledger connections on one file, each with its own executor pool.
    let second = Arc::new(SqliteLedger::open(&w.ledger_path).unwrap());
    let ledgers: [Arc<dyn Review>; 2] = [w.ledger.clone(), second];
    let w = Arc::new(w);
    let mut tasks = Vec::new();
    for i in 0..50 {
        let w = w.clone();
        let ledger = ledgers[i % 2].clone();
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            let config = w.config().clone();
            w.apply_with(ledger.as_ref(), &config, &id, None, false)
                .await
                .map(|r| r.status)
        }));
    }
    let mut statuses: HashMap<String, usize> = HashMap::new();
    for t in tasks {
        let s = match t.await.unwrap() {
            Ok(s) => s.to_string(),
            // A task that arrives after the proposal left `pending_worker` may find it applied
            // already in `prepare`: that returns already_applied too.
            Err(e) => format!("error: {e}"),
        };
        *statuses.entry(s).or_default() += 1;
    }
    assert_eq!(statuses.get("applied"), Some(&1), "{statuses:?}");
    assert_eq!(statuses.get("already_applied"), Some(&49), "{statuses:?}");
    assert_eq!(w.row("INV-1").await, "0:goodwill:open:2");
    assert_eq!(w.receipts_in_source().await, 1);
    let applied = w
        .ledger
        .receipt_page(&RecordFilter {
            proposal: Some(id.clone()),
            outcome: Some("applied".into()),
            limit: 100,
            ..RecordFilter::default()
        })
        .await
        .unwrap()
        .items;
    assert_eq!(applied.len(), 1);
    assert!(w.ledger.verify().await.unwrap().ok);
}

async fn crash_between_write_and_receipt(w: World) {
    // The process dies after the source transaction committed but before the ledger heard of
    // it: the proposal is left in pending_worker. A retry must not write again.
    let id = w
        .propose("billing.propose_waiver", waiver("INV-1", 0))
        .await;
    w.approve(&id, "dana").await;
    let prepared = apply::prepare(w.ledger.as_ref(), w.config(), &id, None, "local")
        .await
        .unwrap();
    let job = prepared.job.clone();
    w.ledger
        .begin_apply(
            &airlock_review_key::ReviewKey::issue(),
            &job,
            &Actor {
                name: "dana".into(),
                source: "flag".into(),
            },
        )
        .await
        .unwrap();
    let executor = airlock_writeback::setup::executor_for(
        w.config(),
        prepared.capability,
        &w.env,
        w.dir.path(),
    )
    .unwrap();
    let outcome = executor
        .apply(
            &ApplyPlan {
                job: &job,
                change_set: &prepared.proposal.change_set,
                capability: prepared.capability,
            },
            false,
        )
        .await;
    assert_eq!(outcome.status.as_str(), "applied");
    drop(executor);
    // "Restart": the ledger says pending_worker.
    assert_eq!(
        w.ledger.proposal(&id).await.unwrap().state,
        "pending_worker"
    );
    let r = w.apply(&id).await;
    assert_eq!(r.status, "already_applied", "{r:?}");
    assert_eq!(r.state, "applied");
    assert_eq!(w.row("INV-1").await, "0:goodwill:open:2");
    assert_eq!(w.receipts_in_source().await, 1);
    assert!(w.ledger.verify().await.unwrap().ok);
}

async fn tampered_jobs(w: World) {
    let id = w
        .propose("billing.propose_waiver", waiver("INV-1", 0))
        .await;
    w.approve(&id, "dana").await;
    let p = w.ledger.proposal(&id).await.unwrap();
    let good =
        airlock_writeback::job::build(w.config(), &p, "local", 300, chrono::Utc::now()).unwrap();
    let good_v = serde_json::to_value(&good).unwrap();
    let tampers: Vec<(&str, Value)> = vec![
        ("/writeback_job_id", json!("wbj_other")),
        ("/proposal_id", json!("wrp_00000000000000000000")),
        ("/proposal_version", json!(2)),
        ("/proposal_hash", json!("sha256:0000")),
        ("/runner_scope/project_id", json!("elsewhere")),
        ("/runner_scope/source_id", json!("other_source")),
        (
            "/engine",
            json!(if w.db.engine == "postgres" {
                "mysql"
            } else {
                "postgres"
            }),
        ),
        ("/operation", json!("multi_row_update")),
        ("/target/schema", json!("audit")),
        ("/target/table", json!("users")),
        ("/target/primary_key/column", json!("tenant_id")),
        ("/target/primary_key/value", json!("INV-9")),
        ("/tenant_guard/column", json!("status")),
        ("/tenant_guard/value", json!("globex")),
        (
            "/allowed_columns",
            json!(["late_fee_cents", "waiver_reason", "status"]),
        ),
        ("/patch/late_fee_cents", json!(999)),
        ("/patch/status", json!("void")),
        ("/conflict_guard", json!({"kind": "none"})),
        ("/conflict_guard/expected_value", json!(7)),
        ("/conflict_guard/column", json!("status")),
        ("/idempotency_key", json!("other:key")),
        ("/lease/lease_id", json!("lease_other")),
        ("/lease/attempt", json!(9)),
        ("/lease/expires_at", json!("2020-01-01T00:00:00Z")),
        ("/lease/expires_at", json!("2099-01-01T00:00:00Z")),
        ("/lease/expires_at", json!("tomorrow")),
    ];
    for (pointer, value) in tampers {
        let mut v = good_v.clone();
        set(&mut v, pointer, value.clone());
        let job: WritebackJob = serde_json::from_value(v).unwrap();
        let r = w
            .apply_with(w.ledger.as_ref(), w.config(), &id, Some(&job), false)
            .await;
        assert!(
            matches!(r, Err(ApplyError::Job(_))),
            "{pointer} = {value}: {r:?}"
        );
    }
    assert_eq!(w.row("INV-1").await, "500:-:open:1");
    assert_eq!(
        w.ledger.proposal(&id).await.unwrap().state,
        "approved",
        "a refused job changed the state"
    );
    // The untouched job applies.
    let r = w
        .apply_with(w.ledger.as_ref(), w.config(), &id, Some(&good), false)
        .await
        .unwrap();
    assert_eq!(r.status, "applied");
}

fn set(v: &mut Value, pointer: &str, value: Value) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let target = if parent.is_empty() {
        v
    } else {
        v.pointer_mut(parent).unwrap()
    };
    target
        .as_object_mut()
        .unwrap()
        .insert(key.to_owned(), value);
}

async fn policy_at_apply_time(w: World) {
    // Proposed under a loose config, applied under a stricter one: the stricter one wins.
    let id = w
        .propose("billing.propose_waiver", waiver("INV-1", 900))
        .await;
    w.approve(&id, "dana").await;
    let mut strict = w.doc.clone();
    strict["capabilities"][0]["numeric_bounds"]["late_fee_cents"]["maximum"] = json!(100);
    let (strict, _) = airlock_config::parse(&strict).unwrap();
    let r = w
        .apply_with(w.ledger.as_ref(), &strict, &id, None, false)
        .await
        .unwrap();
    assert_eq!(
        (r.status.as_str(), r.receipt.safe_error_code.as_deref()),
        ("failed", Some("POLICY_VIOLATION")),
        "{r:?}"
    );
    assert_eq!(r.state, "failed", "a policy refusal ends the approval");
    assert_eq!(w.row("INV-1").await, "500:-:open:1");

    let id = w
        .propose(
            "billing.propose_status",
            json!({"invoice_id": "INV-2", "status": "void"}),
        )
        .await;
    w.approve(&id, "sam").await;
    let mut strict = w.doc.clone();
    strict["capabilities"][1]["transition_guards"]["status"]["allowed"] = json!({"open": ["paid"]});
    let (strict, _) = airlock_config::parse(&strict).unwrap();
    let r = w
        .apply_with(w.ledger.as_ref(), &strict, &id, None, false)
        .await
        .unwrap();
    assert_eq!(
        (r.status.as_str(), r.receipt.safe_error_code.as_deref()),
        ("failed", Some("POLICY_VIOLATION")),
        "{r:?}"
    );
    assert_eq!(r.state, "failed");
    assert_eq!(w.row("INV-2").await, "700:-:open:1");
    // A capability whose allowed columns shrank refuses the proposal before anything happens.
    let id = w
        .propose("billing.propose_waiver", waiver("INV-2", 5))
        .await;
    w.approve(&id, "dana").await;
    let mut narrowed = w.doc.clone();
    narrowed["capabilities"][0]["allowed_columns"] = json!(["late_fee_cents"]);
    narrowed["capabilities"][0]["patch"] = json!({"late_fee_cents": {"from_arg": "fee"}});
    let (narrowed, _) = airlock_config::parse(&narrowed).unwrap();
    let r = w
        .apply_with(w.ledger.as_ref(), &narrowed, &id, None, false)
        .await;
    assert!(
        matches!(r, Err(ApplyError::Job(JobError::CapabilityMismatch { .. }))),
        "{r:?}"
    );
    assert_eq!(w.ledger.proposal(&id).await.unwrap().state, "approved");
}

async fn unreachable_database(w: World) {
    let id = w
        .propose("billing.propose_waiver", waiver("INV-1", 0))
        .await;
    w.approve(&id, "dana").await;
    let mut env = w.env.clone();
    let bad = match w.db.engine {
        "postgres" => "postgres://airlock:pw@127.0.0.1:1/x",
        "mysql" => "mysql://airlock:pw@127.0.0.1:1/x",
        _ => "/nonexistent/airlock/app.db",
    };
    env.insert("APP_WRITE_URL".into(), bad.into());
    let prepared = apply::prepare(w.ledger.as_ref(), w.config(), &id, None, "local")
        .await
        .unwrap();
    let executor =
        airlock_writeback::setup::executor_for(w.config(), prepared.capability, &env, w.dir.path())
            .unwrap();
    let r = apply::apply(
        w.ledger.as_ref(),
        executor.as_ref(),
        prepared,
        &Actor {
            name: "dana".into(),
            source: "flag".into(),
        },
        "test",
        false,
    )
    .await
    .unwrap();
    assert_eq!(
        (r.status.as_str(), r.receipt.safe_error_code.as_deref()),
        ("failed", Some("DATABASE_UNAVAILABLE")),
        "{r:?}"
    );
    assert_eq!(
        (r.state.as_str(), r.effect),
        ("approved", AttemptEffect::NothingWritten),
        "nothing was written, so the approval stands"
    );
    assert!(r.approval_stands());
    assert!(!serde_json::to_string(&r).unwrap().contains(":pw@"));
    assert_eq!(w.row("INV-1").await, "500:-:open:1");
    // The database is back: the next apply retries without a new decision and applies once.
    let retry = w.apply(&id).await;
    assert_eq!(retry.status, "applied", "{retry:?}");
    assert_eq!(w.row("INV-1").await, "0:goodwill:open:2");
    assert_eq!(w.receipts_in_source().await, 1);
    assert_eq!(w.apply(&id).await.status, "already_applied");
    assert_eq!(w.row("INV-1").await, "0:goodwill:open:2");

    // The ledger shows one decision and each attempt, all with the same idempotency key.
    let replay = w.ledger.replay(&id).await.unwrap();
    assert_eq!(replay.approvals.len(), 1);
    let attempts: Vec<u32> = replay.jobs.iter().map(|j| j.attempt).collect();
    assert_eq!(attempts, [1, 2]);
    let keys: Vec<&str> = replay
        .receipts
        .iter()
        .map(|r| r.idempotency_key.as_str())
        .chain(replay.jobs.iter().map(|j| j.job.idempotency_key.as_str()))
        .collect();
    assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
    let statuses: Vec<&str> = replay.receipts.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(statuses, ["failed", "applied"]);
    let outcomes: Vec<(String, Value, Value)> = replay
        .events
        .iter()
        .filter(|e| e.kind.starts_with("writeback_") && e.kind != "writeback_job_recorded")
        .map(|e| {
            (
                e.kind.clone(),
                e.payload["attempt"].clone(),
                e.payload["effect"].clone(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            (
                "writeback_failed".to_owned(),
                json!(1),
                json!("nothing_written")
            ),
            ("writeback_applied".to_owned(), json!(2), json!("settled")),
        ]
    );
    assert!(w.ledger.verify().await.unwrap().ok);
}

// ------------------------------------------------------------------ least-privilege writer

/// A writer role with the grants `airlock writeback grants` prints for `doc` (column-scoped
/// UPDATE), applied as the admin; `w` then writes as that role.
async fn grant_writer(w: &mut World, user: &airlock_testkit::FreshUser, doc: &Value) {
    let kind = match w.db.engine {
        "postgres" => airlock_db::EngineKind::Postgres,
        _ => airlock_db::EngineKind::Mysql,
    };
    let (config, _) = airlock_config::parse(doc).expect("valid config");
    let targets = airlock_writeback::grants::write_targets(&config, kind, None, &[]).unwrap();
    let role = airlock_db::Ident::new(&user.name).unwrap();
    let grants = airlock_db::writer_grants(kind, &role, &targets);
    assert!(
        grants.contains("UPDATE (") && !grants.contains("UPDATE ON"),
        "{grants}"
    );
    w.db.execute_batch(&grants).await.expect("grants run");
    w.env.insert("APP_WRITE_URL".into(), user.url.clone());
}

/// The original's documented grants: UPDATE on the patched columns only (no version column).
fn without_bump(doc: &Value) -> Value {
    let mut d = doc.clone();
    for cap in d["capabilities"].as_array_mut().unwrap() {
        if let Some(g) = cap["conflict_guard"].as_object_mut() {
            g.remove("bump");
        }
    }
    d
}

async fn least_privilege_writer(mut w: World) {
    let user = w.db.fresh_user().await.unwrap();
    // A DBA created the receipts table; the writer has no DDL rights.
    w.db.execute_batch(&airlock_db::receipts_ddl(match w.db.engine {
        "postgres" => airlock_db::EngineKind::Postgres,
        _ => airlock_db::EngineKind::Mysql,
    }))
    .await
    .unwrap();
    let original = without_bump(&w.doc);
    grant_writer(&mut w, &user, &original).await;

    // Default: exactly the patched column is written; the version stays where it was.
    let id = w
        .propose(
            "billing.propose_status",
            json!({"invoice_id": "INV-2", "status": "void"}),
        )
        .await;
    w.approve(&id, "sam").await;
    let r = w.apply(&id).await;
    assert_eq!(r.status, "applied", "{r:?}");
    assert_eq!(w.row("INV-2").await, "700:-:void:1");
    assert_eq!(
        (
            r.receipt.previous_version.clone(),
            r.receipt.new_version.clone()
        ),
        (Some(json!(1)), Some(json!(1)))
    );
    assert_eq!(w.receipts_in_source().await, 1);

    // The version guard is still in force: a change after the proposal is a conflict.
    let id = w
        .propose(
            "billing.propose_status",
            json!({"invoice_id": "INV-1", "status": "paid"}),
        )
        .await;
    w.approve(&id, "sam").await;
    w.db.execute_batch("UPDATE invoices SET version = 7 WHERE id = 'INV-1'")
        .await
        .unwrap();
    let r = w.apply(&id).await;
    assert_eq!(
        (
            r.status.as_str(),
            r.receipt.safe_error_code.as_deref(),
            r.state.as_str()
        ),
        ("conflict", Some("VERSION_CONFLICT"), "conflict"),
        "{r:?}"
    );
    assert_eq!(w.row("INV-1").await, "500:-:open:7");

    // `bump: true` needs UPDATE on the version column: without it the write is refused,
    // nothing changes, and the approval stands.
    let id = w
        .propose("billing.propose_waiver", waiver("INV-1", 0))
        .await;
    w.approve(&id, "dana").await;
    let r = w.apply(&id).await;
    assert_eq!(
        (r.status.as_str(), r.receipt.safe_error_code.as_deref()),
        ("failed", Some("PERMISSION_DENIED")),
        "{r:?}"
    );
    assert_eq!(
        (r.state.as_str(), r.effect),
        ("approved", AttemptEffect::NothingWritten)
    );
    assert_eq!(w.row("INV-1").await, "500:-:open:7");
    // The grants printed for the config as it is include the version column; the retry then
    // applies and advances the version once, with no new decision.
    let doc = w.doc.clone();
    grant_writer(&mut w, &user, &doc).await;
    let r = w.apply(&id).await;
    assert_eq!(r.status, "applied", "{r:?}");
    assert_eq!(w.row("INV-1").await, "0:goodwill:open:8");
    assert_eq!(w.ledger.approvals(&id).await.unwrap().len(), 1);
    assert!(w.ledger.verify().await.unwrap().ok);
}

async fn version_trigger(mut w: World) {
    let user = w.db.fresh_user().await.unwrap();
    let kind = match w.db.engine {
        "postgres" => airlock_db::EngineKind::Postgres,
        _ => airlock_db::EngineKind::Mysql,
    };
    w.db.execute_batch(&airlock_db::receipts_ddl(kind))
        .await
        .unwrap();
    // The application advances the version itself, as many schemas do.
    let trigger = match kind {
        airlock_db::EngineKind::Postgres => {
            "CREATE FUNCTION bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN NEW.version := OLD.version + 1; RETURN NEW; END $$;
             CREATE TRIGGER invoices_bump BEFORE UPDATE ON invoices
             FOR EACH ROW EXECUTE FUNCTION bump_version();"
        }
        _ => {
            "CREATE TRIGGER invoices_bump BEFORE UPDATE ON invoices
             FOR EACH ROW SET NEW.version = OLD.version + 1"
        }
    };
    w.db.execute_batch(trigger).await.unwrap();
    let original = without_bump(&w.doc);
    grant_writer(&mut w, &user, &original).await;
    let id = w
        .propose(
            "billing.propose_status",
            json!({"invoice_id": "INV-1", "status": "paid"}),
        )
        .await;
    w.approve(&id, "sam").await;
    let r = w.apply(&id).await;
    assert_eq!(r.status, "applied", "{r:?}");
    assert_eq!(w.row("INV-1").await, "500:-:paid:2", "bumped exactly once");
    assert_eq!(
        (
            r.receipt.previous_version.clone(),
            r.receipt.new_version.clone()
        ),
        (Some(json!(1)), Some(json!(2)))
    );
    // Re-applying writes nothing, so the trigger does not fire again.
    assert_eq!(w.apply(&id).await.status, "already_applied");
    assert_eq!(w.row("INV-1").await, "500:-:paid:2");
    // A proposal made before the trigger's bump is a conflict.
    let stale = w
        .propose(
            "billing.propose_status",
            json!({"invoice_id": "INV-2", "status": "void"}),
        )
        .await;
    w.approve(&stale, "sam").await;
    w.db.execute_batch("UPDATE invoices SET waiver_reason = 'app edit' WHERE id = 'INV-2'")
        .await
        .unwrap();
    let r = w.apply(&stale).await;
    assert_eq!(
        (r.status.as_str(), r.receipt.safe_error_code.as_deref()),
        ("conflict", Some("VERSION_CONFLICT"))
    );
    assert_eq!(w.row("INV-2").await, "700:app edit:open:2");
}

/// The apply's session is killed while it waits for the row lock (another transaction holds
/// it), as a failover would: the receipt says CONNECTION_LOST, nothing was applied, the
/// approval stands, and the retry applies exactly once on a fresh connection.
async fn killed_during_apply(w: World) {
    let id = w
        .propose("billing.propose_waiver", waiver("INV-1", 0))
        .await;
    w.approve(&id, "dana").await;
    let kind = if w.db.engine == "postgres" {
        airlock_db::EngineKind::Postgres
    } else {
        airlock_db::EngineKind::Mysql
    };
    let holder = airlock_db::connect_writer(&airlock_db::SourceSettings {
        engine: kind,
        url: airlock_db::SecretUrl::new(&w.db.url),
        statement_timeout_ms: None,
        max_connections: 1,
        pool: Default::default(),
    })
    .await
    .unwrap();
    let mut held = holder.begin().await.unwrap();
    let lock = airlock_db::ScopedSelect {
        schema: None,
        table: airlock_db::Ident::new("invoices").unwrap(),
        columns: vec![airlock_db::Ident::new("version").unwrap()],
        key_column: airlock_db::Ident::new("id").unwrap(),
        key_value: airlock_db::Param::Text("INV-1".into()),
        tenant: None,
        limit: 1,
    };
    assert_eq!(held.lock_rows(&lock).await.unwrap().len(), 1);

    let waiting = match kind {
        airlock_db::EngineKind::Postgres => {
            "SELECT coalesce(string_agg(pid::text, ','), '') FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'"
        }
        _ => {
            "SELECT coalesce(GROUP_CONCAT(p.ID), '') FROM information_schema.INNODB_TRX t \
             JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id \
             WHERE p.DB = DATABASE() AND t.trx_state = 'LOCK WAIT'"
        }
    };
    let killer = async {
        for _ in 0..60 {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let ids =
                w.db.query_scalar(waiting)
                    .await
                    .unwrap()
                    .unwrap_or_default();
            if ids.is_empty() {
                continue;
            }
            for pid in ids.split(',') {
                let sql = match kind {
                    airlock_db::EngineKind::Postgres => {
                        format!("SELECT pg_terminate_backend({pid})")
                    }
                    _ => format!("KILL CONNECTION {pid}"),
                };
                w.db.execute_batch(&sql).await.unwrap();
            }
            return true;
        }
        false
    };
    let (r, killed) = tokio::join!(w.apply(&id), killer);
    assert!(killed, "the apply never waited for the lock");
    held.rollback().await.unwrap();
    assert_eq!(
        (r.status.as_str(), r.receipt.safe_error_code.as_deref()),
        ("failed", Some("CONNECTION_LOST")),
        "{r:?}"
    );
    assert_eq!(
        (r.state.as_str(), r.effect),
        ("approved", AttemptEffect::NothingWritten),
        "nothing was applied, so the approval stands"
    );
    let json = serde_json::to_string(&r).unwrap();
    assert!(
        json.contains("nothing was applied") && json.contains("safe"),
        "{json}"
    );
    assert_eq!(w.row("INV-1").await, "500:-:open:1");
    assert_eq!(w.receipts_in_source().await, 0);

    let retry = w.apply(&id).await;
    assert_eq!(retry.status, "applied", "{retry:?}");
    assert_eq!(w.row("INV-1").await, "0:goodwill:open:2");
    assert_eq!(w.receipts_in_source().await, 1);
    assert_eq!(w.apply(&id).await.status, "already_applied");
    assert!(w.ledger.verify().await.unwrap().ok);
}

macro_rules! server_tests {
    ($engine:ident, $fresh:expr) => {
        mod $engine {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn a_writer_with_column_grants_writes_only_the_patched_columns() {
                let Some(db) = $fresh else { return };
                least_privilege_writer(world(db, false).await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn an_app_trigger_bumps_the_version_exactly_once() {
                let Some(db) = $fresh else { return };
                version_trigger(world(db, false).await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn a_session_killed_during_apply_applies_nothing_and_the_retry_applies_once() {
                let Some(db) = $fresh else { return };
                killed_during_apply(world(db, false).await).await;
            }
        }
    };
}

mod least_privilege {
    use super::*;
    server_tests!(postgres, airlock_testkit::fresh_postgres().await);
    server_tests!(mysql, airlock_testkit::fresh_mysql().await);
}

macro_rules! engine_tests {
    ($engine:ident, $fresh:expr) => {
        mod $engine {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn full_flow_applies_once() {
                let Some(db) = $fresh else { return };
                full_flow(world(db, false).await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn a_changed_row_is_a_conflict_and_is_not_written() {
                let Some(db) = $fresh else { return };
                conflict_then_retry(world(db, false).await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn the_weak_row_hash_guard_is_enforced() {
                let Some(db) = $fresh else { return };
                weak_guard(world(db, true).await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn fifty_concurrent_applies_write_once() {
                let Some(db) = $fresh else { return };
                concurrent_applies(world(db, false).await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn a_crash_after_commit_is_recovered_without_a_second_write() {
                let Some(db) = $fresh else { return };
                crash_between_write_and_receipt(world(db, false).await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn every_tampered_job_field_is_refused() {
                let Some(db) = $fresh else { return };
                tampered_jobs(world(db, false).await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn bounds_and_transitions_are_checked_again_at_apply() {
                let Some(db) = $fresh else { return };
                policy_at_apply_time(world(db, false).await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn an_unreachable_database_keeps_the_approval_and_the_retry_applies_once() {
                let Some(db) = $fresh else { return };
                unreachable_database(world(db, false).await).await;
            }
        }
    };
}

engine_tests!(postgres, airlock_testkit::fresh_postgres().await);
engine_tests!(mysql, airlock_testkit::fresh_mysql().await);
engine_tests!(sqlite, Some(airlock_testkit::fresh_sqlite()));
