//! The example handler on a real loopback server with a real SQLite database: signed requests
//! as Airlock sends them, retries and replays, guards, dry runs.

use std::path::Path;
use std::sync::Arc;

use airlock_handler::{Verifier, sign_for_tests};
use rusqlite::Connection;
use rust_axum_handler::{AppState, PATH, init_db, router};
use serde_json::{Value, json};

const TOKEN: &str = "example-token";
const SECRET: &str = "example-secret";
const V0: &str = "2026-06-20T14:31:08.000000Z";

struct Server {
    url: String,
    dir: tempfile::TempDir,
    client: reqwest::Client,
}

async fn server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    init_db(&db).unwrap();
    Connection::open(&db)
        .unwrap()
        .execute_batch(&format!(
            "INSERT INTO invoices (id, tenant_id, customer_id, status, balance_cents, updated_at) VALUES
               ('INV-1', 'acme', 'cust_1', 'overdue', 25500, '{V0}'),
               ('INV-9', 'globex', 'cust_9', 'overdue', 25500, '{V0}');"
        ))
        .unwrap();
    let state = Arc::new(AppState {
        verifier: Verifier::new().bearer_token(TOKEN).signing_secret(SECRET),
        db_path: db,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}{PATH}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router(state)).await.unwrap() });
    Server {
        url,
        dir,
        client: reqwest::Client::new(),
    }
}

fn request(proposal: &str, invoice: &str, tenant: &str, version: &str, dry_run: bool) -> Value {
    let target = json!({"schema": "main", "table": "invoices", "primary_key": {"column": "id", "value": invoice}});
    let guards = json!({"tenant": {"column": "tenant_id", "value": tenant},
        "allowed_columns": ["credit_requested_cents", "credit_reason"],
        "expected_version": {"column": "updated_at", "value": version}});
    let patch = json!({"credit_requested_cents": 1200, "credit_reason": "outage"});
    json!({
        "protocol_version": "1.0", "schema_version": "synapsor.handler-writeback.v1",
        "writeback_job_id": format!("wbj_{proposal}"), "proposal_id": proposal, "proposal_version": 1,
        "proposal_hash": "sha256:00", "action": "billing.propose_account_credit", "runner_hint": "airlock-local",
        "idempotency_key": format!("{proposal}:{invoice}"),
        "source": {"kind": "external_sqlite", "source_id": "app", "schema": "main", "table": "invoices",
                   "primary_key": {"column": "id", "value": invoice}},
        "target": target, "tenant_guard": guards["tenant"], "allowed_columns": guards["allowed_columns"],
        "before": {"credit_requested_cents": 0, "credit_reason": null}, "patch": patch,
        "after": patch, "guards": guards,
        "evidence": {"bundle_id": "ev_1", "query_fingerprint": "sha256:00", "items": []},
        "approval": {"status": "approved"}, "source_database_mutated": false,
        "issued_at": "", "executor": "billing_app_handler", "dry_run": dry_run,
        "change_set": {"action": "billing.propose_account_credit",
            "scope": {"tenant_id": tenant, "object_id": invoice},
            "principal": {"id": "agent_7", "source": "environment"},
            "target": target, "before": {}, "patch": patch, "after": patch, "guards": guards,
            "evidence": {"bundle_id": "ev_1", "query_fingerprint": "sha256:00", "items": []}}
    })
}

/// Stamps, signs and sends `req` as Airlock would (a fresh signature per attempt).
fn sign(req: &Value, token: &str) -> (Vec<u8>, Vec<(String, String)>) {
    let mut req = req.clone();
    req["issued_at"] = json!(chrono_now());
    let body = serde_json::to_vec(&req).unwrap();
    let headers = sign_for_tests(&body, token, SECRET);
    (body, headers)
}

fn chrono_now() -> String {
    // Distinct per call, like Airlock's per-attempt stamps.
    std::thread::sleep(std::time::Duration::from_millis(2));
    airlock_protocol::now_rfc3339()
}

impl Server {
    async fn send_signed(&self, body: Vec<u8>, headers: &[(String, String)]) -> (u16, Value) {
        let mut b = self.client.post(&self.url).body(body);
        for (k, v) in headers {
            b = b.header(k, v);
        }
        let r = b.send().await.unwrap();
        let status = r.status().as_u16();
        (
            status,
            serde_json::from_slice(&r.bytes().await.unwrap()).unwrap(),
        )
    }

    async fn send(&self, req: &Value) -> (u16, Value) {
        let (body, headers) = sign(req, TOKEN);
        self.send_signed(body, &headers).await
    }

    fn db(&self) -> Connection {
        Connection::open(self.dir.path().join("app.db")).unwrap()
    }

    fn credits(&self) -> i64 {
        self.db()
            .query_row("SELECT COUNT(*) FROM account_credits", [], |r| r.get(0))
            .unwrap()
    }

    fn invoice(&self, id: &str) -> (i64, String) {
        self.db()
            .query_row(
                "SELECT credited_cents, updated_at FROM invoices WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
    }
}

fn status(v: &Value) -> (&str, Option<&str>) {
    (
        v["status"].as_str().unwrap_or("?"),
        v["safe_error_code"].as_str(),
    )
}

#[tokio::test]
async fn applies_once_however_often_it_is_retried() {
    let s = server().await;
    let req = request("wrp_a1", "INV-1", "acme", V0, false);
    let (code, r) = s.send(&req).await;
    assert_eq!((code, status(&r)), (200, ("applied", None)), "{r}");
    assert_eq!(r["proposal_id"], "wrp_a1");
    assert_eq!(r["idempotency_key"], "wrp_a1:INV-1");
    assert_eq!(r["previous_version"], V0);
    assert_eq!(s.credits(), 1);
    let (credited, v1) = s.invoice("INV-1");
    assert_eq!(credited, 1200);
    assert_eq!(r["new_version"], json!(v1));

    // Airlock retries with the same idempotency key and a fresh signature: nothing new.
    for _ in 0..3 {
        let (code, again) = s.send(&req).await;
        assert_eq!((code, status(&again)), (200, ("already_applied", None)));
        assert_eq!(again["new_version"], json!(v1));
    }
    assert_eq!(s.credits(), 1);
    assert_eq!(s.invoice("INV-1").0, 1200);

    // Concurrent retries: still once.
    let req2 = request("wrp_a2", "INV-1", "acme", &v1, false);
    let s = Arc::new(s);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (s, req2) = (s.clone(), req2.clone());
        tasks.push(tokio::spawn(async move { s.send(&req2).await.1 }));
    }
    let mut applied = 0;
    for t in tasks {
        match status(&t.await.unwrap()).0 {
            "applied" => applied += 1,
            "already_applied" => {}
            other => panic!("{other}"),
        }
    }
    assert_eq!(applied, 1);
    assert_eq!(s.credits(), 2);
    assert_eq!(s.invoice("INV-1").0, 2400);
}

#[tokio::test]
async fn a_replayed_request_is_refused() {
    let s = server().await;
    let (body, headers) = sign(&request("wrp_r1", "INV-1", "acme", V0, false), TOKEN);
    let (code, r) = s.send_signed(body.clone(), &headers).await;
    assert_eq!((code, status(&r).0), (200, "applied"));
    let (code, r) = s.send_signed(body, &headers).await;
    assert_eq!(
        (code, status(&r)),
        (409, ("failed", Some("REPLAYED_REQUEST")))
    );
    assert_eq!(s.credits(), 1);
}

#[tokio::test]
async fn guards_wrong_token_and_dry_runs_write_nothing() {
    let s = server().await;
    // Version moved on since the proposal.
    let (_, r) = s
        .send(&request(
            "wrp_c1",
            "INV-1",
            "acme",
            "2026-01-01T00:00:00.000000Z",
            false,
        ))
        .await;
    assert_eq!(status(&r), ("conflict", Some("ROW_CHANGED_AFTER_PROPOSAL")));
    assert_eq!(r["previous_version"], V0);
    // Another tenant's invoice.
    let (_, r) = s.send(&request("wrp_c2", "INV-9", "acme", V0, false)).await;
    assert_eq!(
        status(&r),
        ("conflict", Some("ROW_NOT_FOUND_OR_WRONG_TENANT"))
    );
    // Wrong token.
    let (body, headers) = sign(&request("wrp_c3", "INV-1", "acme", V0, false), "wrong");
    let (code, r) = s.send_signed(body, &headers).await;
    assert_eq!((code, status(&r)), (401, ("failed", Some("UNAUTHORIZED"))));
    // Dry run: applied, nothing written, and the real request still applies afterwards.
    let (_, r) = s.send(&request("wrp_c4", "INV-1", "acme", V0, true)).await;
    assert_eq!(status(&r), ("applied", None));
    assert_eq!(r["source_database_mutated"], false);
    assert_eq!(r["details"]["dry_run"], true);
    assert_eq!(s.credits(), 0);
    assert_eq!(s.invoice("INV-1"), (0, V0.to_owned()));
    let (_, r) = s.send(&request("wrp_c4", "INV-1", "acme", V0, false)).await;
    assert_eq!(status(&r), ("applied", None));
    assert_eq!(s.credits(), 1);
}

#[test]
fn schema_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let p: &Path = &dir.path().join("x.db");
    init_db(p).unwrap();
    init_db(p).unwrap();
}
