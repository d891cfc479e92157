//! App-owned executors end to end: a real ledger, a real SQLite app database, proposals made by
//! the runtime, `apply::prepare` + `apply::apply`, and real handlers — the example axum
//! handler (`examples/rust-axum-handler`) on a loopback port, behind a test front that can
//! misbehave, and real processes for `command_handler`.
//!
//! Every case checks that the attempt left a receipt in the ledger (valid against the published
//! schema) and where it leaves the proposal: a conflict or a settled failure where a person can
//! approve it again; a failure that wrote nothing, or whose outcome is unknown, with the
//! approval standing, so the next apply simply retries with the same idempotency key.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use airlock_capability::AliasMode;
use airlock_capability::envelope::Outcome as CallOutcome;
use airlock_config::Config;
use airlock_handler::Verifier;
use airlock_ledger::{Actor, Ledger, RecordFilter, SqliteLedger};
use airlock_runtime::{Runtime, RuntimeOptions};
use airlock_testkit::FreshDb;
use airlock_writeback::AttemptEffect;
use airlock_writeback::apply::{self, ApplyError, ApplyReport};
use airlock_writeback::approval::{self, Verdict};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rust_axum_handler::AppState;
use serde_json::{Value, json};

const TOKEN: &str = "handler-secret-token";
const SECRET: &str = "handler-signing-secret";
const V0: &str = "2026-06-20T14:31:08.000000Z";
const HTTP_TIMEOUT_MS: u64 = 1000;

/// How the front in front of the example handler behaves.
#[derive(Debug, Clone)]
enum Mode {
    /// Pass every request to the example handler.
    Example,
    /// Answer 200 with HTML.
    Garbage,
    /// Answer 200 with a valid receipt for another proposal.
    OtherProposal,
    /// Answer 200 with this receipt.
    Fixed(Value),
    /// Answer `status` with an empty body for the next `times` requests, then pass.
    Status { status: u16, times: usize },
    /// Apply, then wait `delay` before answering, for the next `times` requests.
    SlowAfterApply { delay: Duration, times: usize },
    /// Wait `delay`, then pass.
    Slow(Duration),
    /// Change the body (the patch amount) before passing it on.
    TamperBody,
    /// Replace the issued-at header with one ten minutes old before passing it on.
    StaleHeader,
    /// The handler's clock is this far ahead (or behind, negative) of Airlock's.
    ClockSkew(i64),
    /// Pass it on, then send the same captured request again and keep what the handler said.
    Replay,
}

struct Front {
    app: Arc<AppState>,
    mode: Mutex<Mode>,
    calls: AtomicUsize,
    /// Bodies received, in order.
    bodies: Mutex<Vec<Value>>,
    /// Headers received, in order.
    headers: Mutex<Vec<HeaderMap>>,
    /// What the handler answered to replays.
    replays: Mutex<Vec<(u16, Value)>>,
}

fn json_response(status: StatusCode, v: &impl serde::Serialize) -> Response {
    (
        status,
        [("content-type", "application/json")],
        serde_json::to_string(v).unwrap(),
    )
        .into_response()
}

async fn front(State(f): State<Arc<Front>>, mut headers: HeaderMap, body: Bytes) -> Response {
    f.calls.fetch_add(1, Ordering::SeqCst);
    f.bodies
        .lock()
        .unwrap()
        .push(serde_json::from_slice(&body).unwrap_or(Value::Null));
    f.headers.lock().unwrap().push(headers.clone());
    let mode = f.mode.lock().unwrap().clone();
    let pass = |headers: HeaderMap, body: Vec<u8>, skew: i64| {
        let f = f.clone();
        async move {
            let now = chrono::Utc::now() + chrono::Duration::seconds(skew);
            let (s, r) = rust_axum_handler::respond(&f.app, &headers, &body, now).await;
            json_response(s, &r)
        }
    };
    match mode {
        Mode::Example => pass(headers, body.to_vec(), 0).await,
        Mode::Garbage => (StatusCode::OK, "<html>502 Bad Gateway</html>").into_response(),
        Mode::OtherProposal => json_response(
            StatusCode::OK,
            &json!({"proposal_id": "wrp_someoneelse00000000", "status": "applied", "rows_affected": 1, "source_database_mutated": true}),
        ),
        Mode::Fixed(v) => json_response(StatusCode::OK, &v),
        Mode::Status { status, times } => {
            if times > 0 {
                *f.mode.lock().unwrap() = Mode::Status {
                    status,
                    times: times - 1,
                };
                StatusCode::from_u16(status).unwrap().into_response()
            } else {
                pass(headers, body.to_vec(), 0).await
            }
        }
        Mode::SlowAfterApply { delay, times } => {
            let r = pass(headers, body.to_vec(), 0).await;
            if times > 0 {
                *f.mode.lock().unwrap() = Mode::SlowAfterApply {
                    delay,
                    times: times - 1,
                };
                tokio::time::sleep(delay).await;
            }
            r
        }
        Mode::Slow(d) => {
            tokio::time::sleep(d).await;
            pass(headers, body.to_vec(), 0).await
        }
        Mode::TamperBody => {
            let tampered = String::from_utf8(body.to_vec()).unwrap().replace(
                "\"credit_requested_cents\":1200",
                "\"credit_requested_cents\":9900",
            );
            assert!(tampered.as_bytes() != &body[..], "nothing to tamper with");
            pass(headers, tampered.into_bytes(), 0).await
        }
        Mode::StaleHeader => {
            let stale = (chrono::Utc::now() - chrono::Duration::minutes(10))
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            headers.insert(
                "x-synapsor-issued-at",
                HeaderValue::from_str(&stale).unwrap(),
            );
            pass(headers, body.to_vec(), 0).await
        }
        Mode::ClockSkew(s) => pass(headers, body.to_vec(), s).await,
        Mode::Replay => {
            let first = pass(headers.clone(), body.to_vec(), 0).await;
            let (s, r) =
                rust_axum_handler::respond(&f.app, &headers, &body, chrono::Utc::now()).await;
            f.replays
                .lock()
                .unwrap()
                .push((s.as_u16(), serde_json::to_value(r).unwrap()));
            first
        }
    }
}

fn config_doc(timeout_ms: u64) -> Value {
    let target = json!({"table": "invoices", "primary_key": "id", "tenant_key": "tenant_id"});
    let cap = |name: &str, executor: &str| {
        json!({
            "name": name, "kind": "proposal", "source": "app", "target": target,
            "executor": executor,
            "args": {"invoice_id": {"type": "string", "max_length": 64},
                     "amount_cents": {"type": "number", "minimum": 1, "maximum": 10000},
                     "reason": {"type": "string", "max_length": 200}},
            "lookup": {"id_from_arg": "invoice_id"},
            "visible_columns": ["id", "status", "credit_requested_cents", "credit_reason", "updated_at"],
            "patch": {"credit_requested_cents": {"from_arg": "amount_cents"}, "credit_reason": {"from_arg": "reason"}},
            "allowed_columns": ["credit_requested_cents", "credit_reason"],
            "conflict_guard": {"column": "updated_at"},
            "approval": {"required_role": "billing_lead"}
        })
    };
    json!({
        "version": 1,
        "mode": "review",
        "sources": {"app": {"engine": "sqlite", "read_url_env": "APP_URL", "write_url_env": "APP_URL"}},
        "trusted_context": {"provider": "environment", "values": {"tenant_id_env": "T_TENANT", "principal_env": "T_PRINCIPAL"}},
        "operators": {"dana": {"roles": ["billing_lead"]}},
        "executors": {
            "billing_app_handler": {
                "type": "http_handler", "url_env": "HANDLER_URL", "method": "POST",
                "auth": {"type": "bearer_env", "token_env": "HANDLER_TOKEN"},
                "signing_secret_env": "HANDLER_SIGNING_SECRET", "timeout_ms": timeout_ms
            },
            "billing_command": {"type": "command_handler", "command_env": "HANDLER_COMMAND", "timeout_ms": 1500}
        },
        "capabilities": [
            cap("billing.propose_account_credit", "billing_app_handler"),
            cap("billing.propose_account_credit_cmd", "billing_command")
        ]
    })
}

struct World {
    _db: FreshDb,
    db_path: PathBuf,
    rt: Runtime,
    ledger: Arc<SqliteLedger>,
    env: HashMap<String, String>,
    dir: tempfile::TempDir,
    front: Arc<Front>,
}

async fn world() -> World {
    let db = airlock_testkit::fresh_sqlite();
    let db_path = PathBuf::from(&db.url);
    rust_axum_handler::init_db(&db_path).unwrap();
    db.execute_batch(&format!(
        "INSERT INTO invoices (id, tenant_id, customer_id, status, balance_cents, updated_at) VALUES
           ('INV-1', 'acme', 'cust_1', 'overdue', 25500, '{V0}'),
           ('INV-2', 'acme', 'cust_1', 'overdue', 9900, '{V0}'),
           ('INV-9', 'globex', 'cust_9', 'overdue', 25500, '{V0}');"
    ))
    .await
    .unwrap();
    let app = Arc::new(AppState {
        verifier: Verifier::new().bearer_token(TOKEN).signing_secret(SECRET),
        db_path: db_path.clone(),
    });
    let front_state = Arc::new(Front {
        app,
        mode: Mutex::new(Mode::Example),
        calls: AtomicUsize::new(0),
        bodies: Mutex::default(),
        headers: Mutex::default(),
        replays: Mutex::default(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/airlock/writeback",
        listener.local_addr().unwrap()
    );
    let router = axum::Router::new()
        .route("/airlock/writeback", axum::routing::post(front))
        .with_state(front_state.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let (config, _) = airlock_config::parse(&config_doc(HTTP_TIMEOUT_MS)).expect("valid config");
    let dir = tempfile::tempdir().unwrap();
    let ledger = Arc::new(SqliteLedger::open(&dir.path().join("ledger.db")).unwrap());
    let env: HashMap<String, String> = [
        ("APP_URL", db.url.as_str()),
        ("T_TENANT", "acme"),
        ("T_PRINCIPAL", "agent_7"),
        ("HANDLER_URL", url.as_str()),
        ("HANDLER_TOKEN", TOKEN),
        ("HANDLER_SIGNING_SECRET", SECRET),
        ("PATH", "/usr/local/bin:/usr/bin:/bin"),
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
        _db: db,
        db_path,
        rt,
        ledger,
        env,
        dir,
        front: front_state,
    }
}

impl World {
    fn config(&self) -> &Config {
        self.rt.config()
    }

    fn set_mode(&self, m: Mode) {
        *self.front.mode.lock().unwrap() = m;
    }

    fn calls(&self) -> usize {
        self.front.calls.load(Ordering::SeqCst)
    }

    async fn propose(&self, invoice: &str) -> String {
        self.propose_with("billing.propose_account_credit", invoice)
            .await
    }

    async fn propose_with(&self, tool: &str, invoice: &str) -> String {
        let args = json!({"invoice_id": invoice, "amount_cents": 1200, "reason": "outage credit"});
        match self.rt.call(tool, args.as_object().unwrap(), None).await {
            Ok(CallOutcome::Proposal(p)) => p.proposal_id,
            other => panic!("proposal failed: {other:?}"),
        }
    }

    async fn approve(&self, id: &str) {
        let p = self.ledger.proposal(id).await.unwrap();
        let dana = Actor {
            name: "dana".into(),
            source: "flag".into(),
        };
        approval::decide(
            self.ledger.as_ref(),
            self.config(),
            &p,
            &dana,
            Verdict::Approve,
            None,
        )
        .await
        .expect("a person can approve it (again)");
    }

    async fn apply_env(
        &self,
        id: &str,
        env: &HashMap<String, String>,
        dry_run: bool,
    ) -> Result<ApplyReport, ApplyError> {
        let prepared =
            apply::prepare(self.ledger.as_ref(), self.config(), id, None, "local").await?;
        let executor = airlock_writeback::setup::executor_for(
            self.config(),
            prepared.capability,
            env,
            self.dir.path(),
        )?;
        apply::apply(
            self.ledger.as_ref(),
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

    async fn apply(&self, id: &str) -> ApplyReport {
        let r = self
            .apply_env(id, &self.env, false)
            .await
            .expect("apply runs");
        self.check_recorded(&r).await;
        r
    }

    /// The attempt left exactly this receipt in the ledger, valid and sealed.
    async fn check_recorded(&self, r: &ApplyReport) {
        let id = r.receipt_id.expect("a receipt was recorded");
        let stored = self.ledger.receipt(id).await.unwrap();
        assert_eq!(stored.receipt, r.receipt);
        assert!(r.receipt.hash_is_valid());
        assert_receipt_schema(&r.receipt);
        let text = serde_json::to_string(r).unwrap();
        for secret in [TOKEN, SECRET] {
            assert!(!text.contains(secret), "a secret leaked: {text}");
        }
        assert!(
            !text.contains("127.0.0.1"),
            "the handler URL leaked: {text}"
        );
    }

    fn credits(&self) -> i64 {
        rusqlite::Connection::open(&self.db_path)
            .unwrap()
            .query_row("SELECT COUNT(*) FROM account_credits", [], |r| r.get(0))
            .unwrap()
    }

    fn credited(&self, invoice: &str) -> i64 {
        rusqlite::Connection::open(&self.db_path)
            .unwrap()
            .query_row(
                "SELECT credited_cents FROM invoices WHERE id = ?1",
                [invoice],
                |r| r.get(0),
            )
            .unwrap()
    }

    async fn receipts(&self, id: &str) -> usize {
        self.ledger
            .receipt_page(&RecordFilter {
                proposal: Some(id.into()),
                limit: 100,
                ..RecordFilter::default()
            })
            .await
            .unwrap()
            .items
            .len()
    }

    /// With the handler back to normal, the retry applies exactly once: after a settled
    /// failure or a conflict (state `failed`/`conflict`) a person approves again; after a
    /// failure that wrote nothing (`approved`) or whose outcome is unknown (`pending_worker`)
    /// the approval stands and apply simply runs again.
    async fn recover(&self, id: &str, credits_before: i64) {
        let state = self.ledger.proposal(id).await.unwrap().state;
        self.set_mode(Mode::Example);
        match state.as_str() {
            "failed" | "conflict" => self.approve(id).await,
            "approved" | "pending_worker" => {}
            other => panic!("state {other}"),
        }
        let approvals = self.ledger.approvals(id).await.unwrap().len();
        let r = self.apply(id).await;
        assert_eq!(r.status, "applied", "{r:?}");
        assert_eq!(self.credits(), credits_before + 1);
        assert_eq!(self.ledger.approvals(id).await.unwrap().len(), approvals);
    }

    /// The proposal's state and the recorded effect of the last attempt.
    fn after(r: &ApplyReport) -> (&str, AttemptEffect) {
        (r.state.as_str(), r.effect)
    }
}

fn assert_receipt_schema(r: &airlock_protocol::ExecutionReceipt) {
    airlock_testkit::assert_published_schemas(
        "execution-receipt.v1.schema.json",
        "execution-receipt.v1.schema.json",
        &serde_json::to_value(r).unwrap(),
    );
}

fn code(r: &ApplyReport) -> (&str, Option<&str>) {
    (r.status.as_str(), r.receipt.safe_error_code.as_deref())
}

// ------------------------------------------------------------------------------------ HTTP

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applied_then_already_applied_with_the_exact_request_and_headers() {
    let w = world().await;
    let id = w.propose("INV-1").await;
    w.approve(&id).await;
    // A dry run calls the handler with dry_run: true; nothing is written or recorded.
    let dry = w.apply_env(&id, &w.env, true).await.unwrap();
    assert_eq!(
        (dry.status.as_str(), dry.dry_run, dry.receipt_id),
        ("applied", true, None)
    );
    assert_eq!(w.credits(), 0);
    assert_eq!(w.ledger.proposal(&id).await.unwrap().state, "approved");

    let r = w.apply(&id).await;
    assert_eq!(code(&r), ("applied", None), "{r:?}");
    assert_eq!(r.state, "applied");
    assert!(r.receipt.source_database_mutated);
    assert_eq!(r.receipt.rows_affected, 2);
    assert_eq!(r.receipt.previous_version, Some(json!(V0)));
    assert_eq!(w.credits(), 1);
    assert_eq!(w.credited("INV-1"), 1200);

    // The request: both shapes, the exact patch, guards, scope, evidence, idempotency key.
    let body = w.front.bodies.lock().unwrap().last().unwrap().clone();
    assert_eq!(body["protocol_version"], "1.0");
    assert_eq!(body["schema_version"], "synapsor.handler-writeback.v1");
    assert_eq!(body["proposal_id"], json!(id));
    assert_eq!(body["idempotency_key"], json!(format!("{id}:INV-1")));
    assert_eq!(
        body["patch"],
        json!({"credit_requested_cents": 1200, "credit_reason": "outage credit"})
    );
    assert_eq!(body["change_set"]["patch"], body["patch"]);
    assert_eq!(body["change_set"]["scope"]["tenant_id"], "acme");
    assert_eq!(body["change_set"]["scope"]["object_id"], "INV-1");
    assert_eq!(body["guards"]["expected_version"]["value"], json!(V0));
    assert_eq!(body["before"]["credit_requested_cents"], json!(0));
    assert!(
        body["evidence"]["bundle_id"]
            .as_str()
            .unwrap()
            .starts_with("ev_")
    );
    assert_eq!(body["dry_run"], false);
    assert!(body.get("sql").is_none());
    let headers = w.front.headers.lock().unwrap().last().unwrap().clone();
    assert_eq!(
        headers["x-synapsor-issued-at"],
        body["issued_at"].as_str().unwrap()
    );
    assert_eq!(headers["x-synapsor-proposal-id"], id.as_str());
    assert_eq!(headers["idempotency-key"], format!("{id}:INV-1").as_str());
    assert!(
        headers["x-synapsor-signature"]
            .to_str()
            .unwrap()
            .starts_with("sha256=")
    );
    assert!(
        headers["x-airlock-signature"]
            .to_str()
            .unwrap()
            .starts_with("v2=")
    );

    // Applying again: Airlock's own ledger answers; the handler is not called.
    let calls = w.calls();
    let again = w.apply_env(&id, &w.env, false).await.unwrap();
    assert_eq!(again.status, "already_applied");
    assert_eq!(w.calls(), calls);
    assert_eq!(w.credits(), 1);
    assert!(w.ledger.verify().await.unwrap().ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicts_from_the_handler_are_recorded_and_re_approvable() {
    let w = world().await;
    let id = w.propose("INV-1").await;
    w.approve(&id).await;
    // The app changed the row after the proposal.
    rusqlite::Connection::open(&w.db_path)
        .unwrap()
        .execute(
            "UPDATE invoices SET updated_at = '2026-07-01T00:00:00.000000Z' WHERE id = 'INV-1'",
            [],
        )
        .unwrap();
    let r = w.apply(&id).await;
    assert_eq!(code(&r), ("conflict", Some("ROW_CHANGED_AFTER_PROPOSAL")));
    assert_eq!(r.state, "conflict");
    assert!(!r.receipt.source_database_mutated);
    assert_eq!(w.credits(), 0);
    // Re-approval is possible; the guard still holds, so it conflicts again.
    w.approve(&id).await;
    assert_eq!(w.apply(&id).await.status, "conflict");
    assert_eq!(w.receipts(&id).await, 2);
    assert_eq!(w.credits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_statuses_map_into_receipts() {
    let w = world().await;
    let cases = [
        (
            json!({"status": "already_applied", "rows_affected": 0, "source_database_mutated": false}),
            ("already_applied", None),
            "applied",
        ),
        (
            json!({"status": "conflict", "rows_affected": 0, "source_database_mutated": false, "safe_error_code": "ROW_NOT_FOUND_OR_WRONG_TENANT"}),
            ("conflict", Some("ROW_NOT_FOUND_OR_WRONG_TENANT")),
            "conflict",
        ),
        (
            json!({"status": "failed", "rows_affected": 0, "source_database_mutated": false, "safe_error_code": "HANDLER_BUSINESS_ERROR", "details": {"why": "credit limit", "db": "postgres://u:pw@db/app"}}),
            ("failed", Some("HANDLER_BUSINESS_ERROR")),
            "failed",
        ),
        (
            json!({"status": "failed", "rows_affected": 0, "source_database_mutated": false}),
            ("failed", Some("HANDLER_FAILED")),
            "failed",
        ),
    ];
    for (answer, want, state) in cases {
        let id = w.propose("INV-1").await;
        w.approve(&id).await;
        w.set_mode(Mode::Fixed(answer));
        let r = w.apply(&id).await;
        assert_eq!(code(&r), want, "{r:?}");
        assert_eq!(r.state, state);
        assert!(!r.detail.contains("pw@"), "{}", r.detail);
        if state != "applied" {
            let before = w.credits();
            w.recover(&id, before).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_is_refused_by_the_handler() {
    let w = world().await;
    let id = w.propose("INV-1").await;
    w.approve(&id).await;
    let mut env = w.env.clone();
    env.insert("HANDLER_TOKEN".into(), "not-the-token".into());
    let r = w.apply_env(&id, &env, false).await.unwrap();
    w.check_recorded(&r).await;
    assert_eq!(code(&r), ("failed", Some("HANDLER_HTTP_401")));
    assert_eq!(
        World::after(&r),
        ("approved", AttemptEffect::NothingWritten),
        "a refused credential wrote nothing; the approval stands"
    );
    assert!(r.detail.contains("UNAUTHORIZED"), "{}", r.detail);
    assert!(!serde_json::to_string(&r).unwrap().contains("not-the-token"));
    assert_eq!(w.calls(), 1, "4xx is not retried");
    assert_eq!(w.credits(), 0);
    w.recover(&id, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_body_or_a_refreshed_timestamp_is_refused() {
    let w = world().await;
    for (mode, handler_code) in [
        (Mode::TamperBody, "INVALID_SIGNATURE"),
        (Mode::StaleHeader, "INVALID_SIGNATURE"),
    ] {
        let id = w.propose("INV-1").await;
        w.approve(&id).await;
        w.set_mode(mode);
        let r = w.apply(&id).await;
        assert_eq!(code(&r), ("failed", Some("HANDLER_HTTP_401")), "{r:?}");
        assert_eq!(
            World::after(&r),
            ("approved", AttemptEffect::NothingWritten)
        );
        assert!(r.detail.contains(handler_code), "{}", r.detail);
        assert_eq!(w.credits(), 0);
        w.recover(&id, 0).await;
        rusqlite::Connection::open(&w.db_path)
            .unwrap()
            .execute_batch("DELETE FROM account_credits; DELETE FROM writeback_handler_receipts;")
            .unwrap();
        rusqlite::Connection::open(&w.db_path)
            .unwrap()
            .execute(
                "UPDATE invoices SET updated_at = ?1, credited_cents = 0 WHERE id = 'INV-1'",
                [V0],
            )
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_and_future_timestamps_are_refused() {
    let w = world().await;
    // The handler's clock is ten minutes ahead: Airlock's request looks stale; then behind:
    // it looks like it comes from the future.
    for skew in [600, -600] {
        let id = w.propose("INV-1").await;
        w.approve(&id).await;
        w.set_mode(Mode::ClockSkew(skew));
        let r = w.apply(&id).await;
        assert_eq!(code(&r), ("failed", Some("HANDLER_HTTP_401")));
        assert!(r.detail.contains("INVALID_ISSUED_AT"), "{}", r.detail);
        assert_eq!(
            World::after(&r),
            ("approved", AttemptEffect::NothingWritten)
        );
        assert_eq!(w.credits(), 0);
        w.set_mode(Mode::ClockSkew(0));
        assert_eq!(w.apply(&id).await.status, "applied");
        assert_eq!(w.credits(), 1);
        rusqlite::Connection::open(&w.db_path)
            .unwrap()
            .execute_batch("DELETE FROM account_credits; DELETE FROM writeback_handler_receipts;")
            .unwrap();
        rusqlite::Connection::open(&w.db_path)
            .unwrap()
            .execute(
                "UPDATE invoices SET updated_at = ?1 WHERE id = 'INV-1'",
                [V0],
            )
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_request_is_refused_and_applies_nothing() {
    let w = world().await;
    let id = w.propose("INV-1").await;
    w.approve(&id).await;
    w.set_mode(Mode::Replay);
    let r = w.apply(&id).await;
    assert_eq!(r.status, "applied");
    let replays = w.front.replays.lock().unwrap().clone();
    assert_eq!(replays.len(), 1);
    assert_eq!(replays[0].0, 409);
    assert_eq!(replays[0].1["safe_error_code"], "REPLAYED_REQUEST");
    assert_eq!(w.credits(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_is_down_is_retried_then_recorded_as_unavailable() {
    let w = world().await;
    let id = w.propose("INV-1").await;
    w.approve(&id).await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut env = w.env.clone();
    env.insert(
        "HANDLER_URL".into(),
        format!("http://{closed}/airlock/writeback"),
    );
    let started = Instant::now();
    let r = w.apply_env(&id, &env, false).await.unwrap();
    w.check_recorded(&r).await;
    assert_eq!(code(&r), ("failed", Some("HANDLER_UNAVAILABLE")), "{r:?}");
    assert_eq!(
        World::after(&r),
        ("approved", AttemptEffect::NothingWritten)
    );
    assert!(r.detail.contains("attempt 3 of 3"), "{}", r.detail);
    assert!(started.elapsed() >= Duration::from_millis(700), "backoff");
    assert!(!r.detail.contains(&closed.to_string()), "{}", r.detail);
    w.recover(&id, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_that_wrote_nothing_keep_the_approval_and_the_retry_applies_once() {
    let w = world().await;
    let id = w.propose("INV-1").await;
    w.approve(&id).await;

    // 1. The handler is down: nothing listens on its port.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut down = w.env.clone();
    down.insert(
        "HANDLER_URL".into(),
        format!("http://{closed}/airlock/writeback"),
    );
    let r = w.apply_env(&id, &down, false).await.unwrap();
    w.check_recorded(&r).await;
    assert_eq!(code(&r), ("failed", Some("HANDLER_UNAVAILABLE")), "{r:?}");
    assert_eq!(
        World::after(&r),
        ("approved", AttemptEffect::NothingWritten)
    );

    // 2. The handler rotated its signing secret before Airlock's environment did: it refuses
    //    the signature before touching anything.
    let mut old_secret = w.env.clone();
    old_secret.insert(
        "HANDLER_SIGNING_SECRET".into(),
        "the-signing-secret-before-rotation".into(),
    );
    let r = w.apply_env(&id, &old_secret, false).await.unwrap();
    w.check_recorded(&r).await;
    assert_eq!(code(&r), ("failed", Some("HANDLER_HTTP_401")), "{r:?}");
    assert!(r.detail.contains("INVALID_SIGNATURE"), "{}", r.detail);
    assert_eq!(
        World::after(&r),
        ("approved", AttemptEffect::NothingWritten)
    );

    // 3. A TLS endpoint that accepts the connection but never completes the handshake: the
    //    attempt times out before the request is sent.
    let hung = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hung_addr = hung.local_addr().unwrap();
    let held = Arc::new(Mutex::new(Vec::new()));
    let holder = held.clone();
    let acceptor = tokio::spawn(async move {
        while let Ok((socket, _)) = hung.accept().await {
            holder.lock().unwrap().push(socket);
        }
    });
    let mut tls = w.env.clone();
    tls.insert(
        "HANDLER_URL".into(),
        format!("https://{hung_addr}/airlock/writeback"),
    );
    let r = w.apply_env(&id, &tls, false).await.unwrap();
    acceptor.abort();
    w.check_recorded(&r).await;
    assert_eq!(code(&r), ("failed", Some("HANDLER_UNAVAILABLE")), "{r:?}");
    assert_eq!(
        World::after(&r),
        ("approved", AttemptEffect::NothingWritten)
    );
    assert!(
        !held.lock().unwrap().is_empty(),
        "the TLS endpoint was reached"
    );

    assert_eq!(w.credits(), 0);
    assert_eq!(w.calls(), 1, "only the refused request reached the handler");

    // 4. Everything is back: the same approval applies, exactly once.
    let r = w.apply(&id).await;
    assert_eq!(code(&r), ("applied", None), "{r:?}");
    assert_eq!(w.credits(), 1);
    assert_eq!(w.credited("INV-1"), 1200);
    let calls = w.calls();
    assert_eq!(w.apply(&id).await.status, "already_applied");
    assert_eq!(w.calls(), calls, "an applied proposal is not sent again");
    assert_eq!(w.credits(), 1);

    // Every request that reached the handler carried the same idempotency key, and the ledger
    // shows one decision and four attempts of one job.
    let key = format!("{id}:INV-1");
    let bodies = w.front.bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 2);
    assert!(bodies.iter().all(|b| b["idempotency_key"] == json!(key)));
    let replay = w.ledger.replay(&id).await.unwrap();
    assert_eq!(replay.approvals.len(), 1);
    let attempts: Vec<(u32, &str)> = replay
        .jobs
        .iter()
        .map(|j| (j.attempt, j.job.idempotency_key.as_str()))
        .collect();
    assert_eq!(
        attempts,
        [
            (1, key.as_str()),
            (2, key.as_str()),
            (3, key.as_str()),
            (4, key.as_str())
        ]
    );
    let mut receipts: Vec<(&str, Option<&str>)> = replay
        .receipts
        .iter()
        .map(|r| (r.status.as_str(), r.receipt.safe_error_code.as_deref()))
        .collect();
    receipts.sort();
    assert_eq!(
        receipts,
        [
            ("applied", None),
            ("failed", Some("HANDLER_HTTP_401")),
            ("failed", Some("HANDLER_UNAVAILABLE")),
            ("failed", Some("HANDLER_UNAVAILABLE")),
        ]
    );
    let outcomes: Vec<(&str, Value, Value)> = replay
        .events
        .iter()
        .filter(|e| e.kind.starts_with("writeback_") && e.kind != "writeback_job_recorded")
        .map(|e| {
            (
                e.kind.as_str(),
                e.payload["attempt"].clone(),
                e.payload["state"].clone(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("writeback_failed", json!(1), json!("approved")),
            ("writeback_failed", json!(2), json!("approved")),
            ("writeback_failed", json!(3), json!("approved")),
            ("writeback_applied", json!(4), json!("applied")),
        ]
    );
    assert!(w.ledger.verify().await.unwrap().ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_handler_is_retried_without_a_new_approval_and_writes_once() {
    let w = world().await;
    let dir = w.dir.path().to_owned();
    let keys = dir.join("keys.txt");
    let applied = dir.join("applied.txt");
    let id = w
        .propose_with("billing.propose_account_credit_cmd", "INV-1")
        .await;
    w.approve(&id).await;
    let run = |command: String| {
        let mut env = w.env.clone();
        env.insert("HANDLER_COMMAND".into(), command);
        env
    };
    // 1. The program is not installed yet: it never ran.
    let r = w
        .apply_env(&id, &run("/nonexistent/billing-handler".into()), false)
        .await
        .unwrap();
    w.check_recorded(&r).await;
    assert_eq!(code(&r), ("failed", Some("HANDLER_UNAVAILABLE")));
    assert_eq!(
        World::after(&r),
        ("approved", AttemptEffect::NothingWritten)
    );
    // 2. It runs, makes its write, and crashes before answering: the outcome is unknown.
    let crash = script(
        &dir,
        "crash.sh",
        &format!(
            "key=$(sed -n 's/.*\"idempotency_key\":\"\\([^\"]*\\)\".*/\\1/p')\n\
             echo \"$key\" >> '{keys}'\necho \"$key\" >> '{applied}'\nexit 70",
            keys = keys.display(),
            applied = applied.display()
        ),
    );
    let r = w.apply_env(&id, &run(crash), false).await.unwrap();
    w.check_recorded(&r).await;
    assert_eq!(code(&r), ("failed", Some("HANDLER_EXIT_70")));
    assert_eq!(
        World::after(&r),
        ("pending_worker", AttemptEffect::OutcomeUnknown)
    );
    // 3. Fixed: it applies once per idempotency key, remembering the keys it applied. The
    //    retry carries the same key, so the handler answers that the write already happened.
    let ok = script(
        &dir,
        "ok.sh",
        &format!(
            "key=$(sed -n 's/.*\"idempotency_key\":\"\\([^\"]*\\)\".*/\\1/p')\necho \"$key\" >> '{keys}'\n\
             if grep -qxF \"$key\" '{applied}' 2>/dev/null; then\n\
               echo '{{\"status\":\"already_applied\",\"rows_affected\":0,\"source_database_mutated\":false}}'\n\
             else\n\
               echo \"$key\" >> '{applied}'\n\
               echo '{{\"status\":\"applied\",\"rows_affected\":1,\"source_database_mutated\":true}}'\n\
             fi",
            keys = keys.display(),
            applied = applied.display()
        ),
    );
    let r = w.apply_env(&id, &run(ok.clone()), false).await.unwrap();
    w.check_recorded(&r).await;
    assert_eq!(code(&r), ("already_applied", None), "{r:?}");
    assert_eq!(r.state, "applied");
    let again = w.apply_env(&id, &run(ok), false).await.unwrap();
    assert_eq!(again.status, "already_applied");

    let key = format!("{id}:INV-1");
    let seen = std::fs::read_to_string(&keys).unwrap();
    assert_eq!(
        seen.lines().collect::<Vec<_>>(),
        [key.as_str(), key.as_str()],
        "both runs got the same idempotency key"
    );
    assert_eq!(
        std::fs::read_to_string(&applied).unwrap().lines().count(),
        1
    );
    let replay = w.ledger.replay(&id).await.unwrap();
    assert_eq!(replay.approvals.len(), 1);
    assert_eq!(
        replay.jobs.iter().map(|j| j.attempt).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert!(w.ledger.verify().await.unwrap().ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_with_the_same_idempotency_key() {
    let w = world().await;
    let id = w.propose("INV-1").await;
    w.approve(&id).await;
    w.set_mode(Mode::Status {
        status: 503,
        times: 2,
    });
    let r = w.apply(&id).await;
    assert_eq!(r.status, "applied", "{r:?}");
    assert_eq!(w.calls(), 3);
    assert_eq!(w.credits(), 1);
    let bodies = w.front.bodies.lock().unwrap().clone();
    let keys: Vec<&Value> = bodies.iter().map(|b| &b["idempotency_key"]).collect();
    assert!(keys.iter().all(|k| *k == keys[0]));
    let stamps: std::collections::HashSet<&str> = bodies
        .iter()
        .map(|b| b["issued_at"].as_str().unwrap())
        .collect();
    assert_eq!(stamps.len(), 3, "each attempt is re-stamped and re-signed");

    // Always 503: three attempts, then a failed receipt with the compatible code.
    let id = w.propose("INV-2").await;
    w.approve(&id).await;
    w.set_mode(Mode::Status {
        status: 503,
        times: 10,
    });
    let r = w.apply(&id).await;
    assert_eq!(code(&r), ("failed", Some("HANDLER_HTTP_503")));
    assert_eq!(
        World::after(&r),
        ("pending_worker", AttemptEffect::OutcomeUnknown),
        "a server error may follow a write: the retry relies on the idempotency key"
    );
    assert_eq!(w.calls(), 6);
    w.recover(&id, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_handler_times_out() {
    let w = world().await;
    let id = w.propose("INV-1").await;
    w.approve(&id).await;
    w.set_mode(Mode::Slow(Duration::from_millis(HTTP_TIMEOUT_MS * 3)));
    let started = Instant::now();
    let r = w.apply(&id).await;
    assert_eq!(code(&r), ("failed", Some("HANDLER_TIMEOUT")));
    assert_eq!(
        World::after(&r),
        ("pending_worker", AttemptEffect::OutcomeUnknown)
    );
    assert!(started.elapsed() < Duration::from_millis(HTTP_TIMEOUT_MS * 4));
    assert_eq!(w.calls(), 1, "a timeout is not retried within one apply");
    w.recover(&id, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_a_timeout_applies_once() {
    let w = world().await;
    let id = w.propose("INV-1").await;
    w.approve(&id).await;
    // The handler commits, then answers too late.
    w.set_mode(Mode::SlowAfterApply {
        delay: Duration::from_millis(HTTP_TIMEOUT_MS * 2),
        times: 1,
    });
    let r = w.apply(&id).await;
    assert_eq!(code(&r), ("failed", Some("HANDLER_TIMEOUT")));
    assert_eq!(
        World::after(&r),
        ("pending_worker", AttemptEffect::OutcomeUnknown)
    );
    assert_eq!(w.credits(), 1, "the handler did apply");
    // No new decision: the retry carries the same idempotency key, and the handler's own
    // idempotency check says the write already happened. Nothing is guessed.
    let r = w.apply(&id).await;
    assert_eq!(code(&r), ("already_applied", None), "{r:?}");
    assert_eq!(r.state, "applied");
    assert_eq!(w.credits(), 1);
    assert_eq!(w.credited("INV-1"), 1200);
    assert_eq!(w.receipts(&id).await, 2);
    assert_eq!(w.ledger.approvals(&id).await.unwrap().len(), 1);
    let bodies = w.front.bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0]["idempotency_key"], bodies[1]["idempotency_key"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_receipts_for_other_proposals_are_failures() {
    let w = world().await;
    for (mode, want) in [
        (Mode::Garbage, "HANDLER_INVALID_RECEIPT"),
        (
            Mode::Fixed(json!({"status": "applied", "rows_affected": "one"})),
            "HANDLER_INVALID_RECEIPT",
        ),
        (Mode::OtherProposal, "HANDLER_RECEIPT_MISMATCH"),
        (
            Mode::Fixed(
                json!({"status": "applied", "rows_affected": 1, "source_database_mutated": true, "idempotency_key": "wrp_x:INV-1"}),
            ),
            "HANDLER_RECEIPT_MISMATCH",
        ),
    ] {
        let id = w.propose("INV-1").await;
        w.approve(&id).await;
        w.set_mode(mode);
        let r = w.apply(&id).await;
        assert_eq!(code(&r), ("failed", Some(want)), "{r:?}");
        assert_eq!(
            World::after(&r),
            ("pending_worker", AttemptEffect::OutcomeUnknown),
            "a 2xx that is not a receipt for this request proves nothing"
        );
        assert!(!r.receipt.source_database_mutated);
        let before = w.credits();
        w.recover(&id, before).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_handler_settings_record_nothing() {
    let w = world().await;
    let id = w.propose("INV-1").await;
    w.approve(&id).await;
    for var in ["HANDLER_URL", "HANDLER_TOKEN", "HANDLER_SIGNING_SECRET"] {
        let mut env = w.env.clone();
        env.remove(var);
        let e = w.apply_env(&id, &env, false).await.unwrap_err();
        assert!(matches!(e, ApplyError::Setup(_)), "{e:?}");
        assert!(e.to_string().contains(var), "{e}");
    }
    let mut env = w.env.clone();
    env.insert("HANDLER_URL".into(), "http://billing.internal/apply".into());
    let e = w.apply_env(&id, &env, false).await.unwrap_err();
    assert!(e.to_string().contains("allow_insecure_http"), "{e}");
    assert!(!e.to_string().contains("billing.internal"), "{e}");
    assert_eq!(w.receipts(&id).await, 0);
    assert_eq!(w.ledger.proposal(&id).await.unwrap().state, "approved");
}

// --------------------------------------------------------------------------------- command

fn script(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_handlers_get_the_request_on_stdin_and_answer_on_stdout() {
    let w = world().await;
    let dir = w.dir.path();
    let seen = dir.join("stdin.json");
    let ok = script(
        dir,
        "ok.sh",
        &format!(
            "cat > '{}'\necho '{{\"status\":\"applied\",\"rows_affected\":1,\"source_database_mutated\":true,\"new_version\":7}}'",
            seen.display()
        ),
    );
    let mut env = w.env.clone();
    env.insert("HANDLER_COMMAND".into(), format!("'{ok}' --flag"));
    let id = w
        .propose_with("billing.propose_account_credit_cmd", "INV-1")
        .await;
    w.approve(&id).await;
    let r = w.apply_env(&id, &env, false).await.unwrap();
    w.check_recorded(&r).await;
    assert_eq!(code(&r), ("applied", None), "{r:?}");
    assert_eq!(r.receipt.new_version, Some(json!(7)));
    let stdin: Value = serde_json::from_str(&std::fs::read_to_string(&seen).unwrap()).unwrap();
    assert_eq!(stdin["proposal_id"], json!(id));
    assert_eq!(stdin["executor"], "billing_command");
    assert_eq!(stdin["change_set"]["scope"]["tenant_id"], "acme");
    assert!(stdin.get("issued_at").is_none() && stdin.get("protocol_version").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_failures_are_receipts_with_redacted_stderr() {
    let w = world().await;
    let dir = w.dir.path().to_owned();
    let unknown = ("pending_worker", AttemptEffect::OutcomeUnknown);
    let cases = [
        (
            "exit.sh",
            "cat >/dev/null\necho \"boom: token=$HANDLER_TOKEN db=postgres://app:pw@db/app\" >&2\nexit 3",
            "HANDLER_EXIT_3",
            unknown,
        ),
        (
            "garbage.sh",
            "cat >/dev/null\necho 'not json'",
            "HANDLER_INVALID_RECEIPT",
            unknown,
        ),
        (
            "other.sh",
            "cat >/dev/null\necho '{\"proposal_id\":\"wrp_other\",\"status\":\"applied\",\"rows_affected\":1,\"source_database_mutated\":true}'",
            "HANDLER_RECEIPT_MISMATCH",
            unknown,
        ),
        (
            "failed.sh",
            "cat >/dev/null\necho '{\"status\":\"failed\",\"rows_affected\":0,\"source_database_mutated\":false,\"safe_error_code\":\"CREDIT_LIMIT\"}'",
            "CREDIT_LIMIT",
            ("failed", AttemptEffect::Settled),
        ),
    ];
    for (name, body, want, after) in cases {
        let path = script(&dir, name, body);
        let mut env = w.env.clone();
        env.insert("HANDLER_COMMAND".into(), path);
        let id = w
            .propose_with("billing.propose_account_credit_cmd", "INV-1")
            .await;
        w.approve(&id).await;
        let r = w.apply_env(&id, &env, false).await.unwrap();
        w.check_recorded(&r).await;
        assert_eq!(code(&r), ("failed", Some(want)), "{name}: {r:?}");
        assert_eq!(World::after(&r), after, "{name}");
        assert!(!r.detail.contains("pw@"), "{}", r.detail);
        if name == "exit.sh" {
            assert!(
                r.detail.contains("stderr: boom: token=<redacted>"),
                "{}",
                r.detail
            );
        }
    }
    // A program that does not exist.
    let mut env = w.env.clone();
    env.insert("HANDLER_COMMAND".into(), "/nonexistent/handler --x".into());
    let id = w
        .propose_with("billing.propose_account_credit_cmd", "INV-1")
        .await;
    w.approve(&id).await;
    let r = w.apply_env(&id, &env, false).await.unwrap();
    assert_eq!(code(&r), ("failed", Some("HANDLER_UNAVAILABLE")));
    assert_eq!(
        World::after(&r),
        ("approved", AttemptEffect::NothingWritten)
    );
    // Unset or unterminated: setup errors, nothing recorded.
    env.insert("HANDLER_COMMAND".into(), "sh 'oops".into());
    assert!(matches!(
        w.apply_env(&id, &env, false).await,
        Err(ApplyError::Setup(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_past_its_timeout_is_killed_with_its_process_group() {
    let w = world().await;
    let dir = w.dir.path().to_owned();
    let pid_file = dir.join("bg.pid");
    let slow = script(
        &dir,
        "slow.sh",
        &format!(
            "sleep 30 &\necho $! > '{}'\necho 'working' >&2\nsleep 30",
            pid_file.display()
        ),
    );
    let mut env = w.env.clone();
    env.insert("HANDLER_COMMAND".into(), slow);
    let id = w
        .propose_with("billing.propose_account_credit_cmd", "INV-1")
        .await;
    w.approve(&id).await;
    let started = Instant::now();
    let r = w.apply_env(&id, &env, false).await.unwrap();
    w.check_recorded(&r).await;
    assert_eq!(code(&r), ("failed", Some("HANDLER_TIMEOUT")));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(r.detail.contains("stderr: working"), "{}", r.detail);
    let bg: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // The background child was killed too (give the kernel a moment to reap it).
    let mut alive = true;
    for _ in 0..50 {
        let stat = std::fs::read_to_string(format!("/proc/{bg}/stat")).unwrap_or_default();
        // Gone, or a zombie waiting for init.
        if stat.is_empty() || stat.split(' ').nth(2) == Some("Z") {
            alive = false;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!alive, "the background child survived");
    assert_eq!(
        World::after(&r),
        ("pending_worker", AttemptEffect::OutcomeUnknown)
    );
}
