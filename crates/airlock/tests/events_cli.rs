//! `airlock events` against real components: a ledger written by the real
//! `airlock mcp serve-streamable-http` (proposals of two tenants), real HTTP receivers on
//! std sockets (one that answers 500, drops a connection and answers too late before it
//! accepts; one that is down; one that is slow while the deliverer is killed with SIGKILL),
//! signatures checked with `airlock-handler`, and `events tail --follow` seeing a proposal
//! committed by the server process.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::http::{self, Server};
use common::receiver::{Receiver, Script, interrupt};
use common::{airlock, clean_command};
use serde_json::{Value, json};

const SECRET: &str = "events-test-signing-secret-5d1e";
const CAPABILITY: &str = "billing.waive_late_fee";

/// The app and config: one proposal capability, tenants from verified JWTs, a Slack-format
/// destination in `notifications`.
fn fixture(dir: &Path) -> PathBuf {
    let db = rusqlite::Connection::open(dir.join("app.db")).unwrap();
    db.execute_batch(
        "CREATE TABLE invoices (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL,
             late_fee_cents INTEGER NOT NULL, waiver_reason TEXT,
             row_version INTEGER NOT NULL DEFAULT 1);
         INSERT INTO invoices (id, tenant_id, late_fee_cents) VALUES ('INV-1', 'acme', 2500),
             ('INV-2', 'acme', 900), ('INV-3', 'acme', 100), ('INV-4', 'acme', 100),
             ('G-1', 'globex', 4000), ('G-2', 'globex', 50);",
    )
    .unwrap();
    let config = json!({
        "version": 1, "mode": "review", "result_format": 2,
        "sources": {"app": {"engine": "sqlite", "path": "app.db"}},
        "trusted_context": {"provider": "http_claims", "values": {
            "hs256_secret_env": "AIRLOCK_TEST_JWT_SECRET", "issuer": http::ISSUER,
            "audience": http::AUDIENCE
        }},
        "notifications": {
            "review_url": "http://127.0.0.1:8700",
            "webhooks": {"team_channel": {"url_env": "TEAM_HOOK_URL", "format": "slack",
                                          "kinds": ["proposal_created"], "tenants": ["acme"]}}
        },
        "capabilities": [{
            "name": CAPABILITY, "kind": "proposal", "source": "app",
            "target": {"table": "invoices", "primary_key": "id", "tenant_key": "tenant_id"},
            "args": {"invoice_id": {"type": "string", "max_length": 32},
                     "reason": {"type": "string", "max_length": 200}},
            "lookup": {"id_from_arg": "invoice_id"},
            "visible_columns": ["id", "late_fee_cents", "waiver_reason"],
            "patch": {"late_fee_cents": {"fixed": 0}, "waiver_reason": {"from_arg": "reason"}},
            "allowed_columns": ["late_fee_cents", "waiver_reason"],
            "conflict_guard": {"column": "row_version"}
        }]
    });
    let path = dir.join("airlock.json");
    std::fs::write(&path, config.to_string()).unwrap();
    path
}

/// A verified bearer for `principal` of `tenant`.
fn jwt(principal: &str, tenant: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({"sub": principal, "tenant_id": tenant, "iss": http::ISSUER,
        "aud": http::AUDIENCE, "iat": now, "exp": now + 3600});
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(http::JWT_SECRET.as_bytes()),
    )
    .unwrap()
}

/// A running server and an MCP session per tenant.
struct App {
    dir: PathBuf,
    server: Server,
    sessions: BTreeMap<&'static str, (String, String)>,
    next_id: i64,
}

impl App {
    fn start(dir: &Path) -> App {
        let config = fixture(dir);
        let server = Server::start(dir, &config, "serve-streamable-http", &[]);
        let mut sessions = BTreeMap::new();
        for (tenant, agent) in [("acme", "agent_acme"), ("globex", "agent_globex")] {
            let bearer = jwt(agent, tenant);
            let session = http::open_session(&server.addr, &bearer);
            sessions.insert(tenant, (bearer, session));
        }
        App {
            dir: dir.to_owned(),
            server,
            sessions,
            next_id: 10,
        }
    }

    /// Proposes through the server; returns the proposal id.
    fn propose(&mut self, tenant: &str, invoice: &str) -> String {
        let (bearer, session) = &self.sessions[tenant];
        self.next_id += 1;
        let reply = http::on_session(
            &self.server.addr,
            bearer,
            session,
            &json!({"jsonrpc": "2.0", "id": self.next_id, "method": "tools/call", "params": {
                "name": CAPABILITY,
                "arguments": {"invoice_id": invoice, "reason": "<!channel> late by one day"}}}),
        );
        assert_eq!(reply.status, 200, "{reply:?}");
        let data = &reply.message()["result"]["structuredContent"];
        data["proposal"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no proposal id in {data}"))
            .to_owned()
    }

    /// Five proposals: three of acme, two of globex.
    fn with_proposals(dir: &Path) -> App {
        let mut app = App::start(dir);
        for (t, inv) in [
            ("acme", "INV-1"),
            ("globex", "G-1"),
            ("acme", "INV-2"),
            ("globex", "G-2"),
            ("acme", "INV-3"),
        ] {
            app.propose(t, inv);
        }
        app
    }

    fn store(&self) -> String {
        self.dir.join("ledger.db").display().to_string()
    }

    /// `airlock --config … --store … ARGS` to completion.
    fn cli(&self, args: &[&str], env: &[(&str, &str)]) -> common::Run {
        let config = self.dir.join("airlock.json").display().to_string();
        let store = self.store();
        let mut all = vec!["--config", &config, "--store", &store];
        all.extend_from_slice(args);
        airlock(&self.dir, &all, env)
    }

    /// `events tail --json ARGS` as parsed lines.
    fn tail(&self, args: &[&str]) -> Vec<Value> {
        let mut all = vec!["events", "tail", "--json"];
        all.extend_from_slice(args);
        let run = self.cli(&all, &[]);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        run.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    /// `airlock … events webhook ARGS` in the background.
    fn spawn(&self, args: &[&str], env: &[(&str, &str)]) -> Child {
        let config = self.dir.join("airlock.json").display().to_string();
        let mut cmd = clean_command(&self.dir);
        cmd.args([
            "--config",
            &config,
            "--store",
            &self.store(),
            "events",
            "webhook",
        ])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.spawn().unwrap()
    }

    fn status(&self) -> Value {
        let run = self.cli(&["events", "status", "--json"], &[]);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        serde_json::from_str(&run.stdout).unwrap()
    }
}

fn ids_of(events: &[Value]) -> BTreeSet<String> {
    events
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn tail_prints_the_servers_events_with_tenant_and_capability() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::with_proposals(dir.path());
    let all = app.tail(&["--limit", "1000"]);
    let created: Vec<&Value> = all
        .iter()
        .filter(|e| e["kind"] == "proposal_created")
        .collect();
    assert_eq!(created.len(), 5, "{all:#?}");
    for e in &all {
        for field in [
            "event_id",
            "seq",
            "kind",
            "created_at",
            "actor",
            "proposal_id",
            "tenant_id",
            "capability",
            "subject_kind",
            "subject_id",
            "payload",
            "hash",
        ] {
            assert!(e.get(field).is_some(), "{field} missing in {e}");
        }
        assert_eq!(e["capability"], CAPABILITY, "{e}");
    }
    let seqs: Vec<i64> = all.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "oldest first: {seqs:?}"
    );
    let tenants: BTreeSet<&str> = all.iter().filter_map(|e| e["tenant_id"].as_str()).collect();
    assert_eq!(tenants, BTreeSet::from(["acme", "globex"]));
    // Filters.
    let globex = app.tail(&["--tenant", "globex", "--kind", "proposal_created"]);
    assert_eq!(globex.len(), 2);
    assert!(globex.iter().all(|e| e["tenant_id"] == "globex"));
    assert_eq!(app.tail(&["--limit", "2"]).len(), 2);
    assert_eq!(
        app.tail(&["--limit", "2"]).last().unwrap()["seq"],
        all.last().unwrap()["seq"],
        "--limit keeps the newest"
    );
    assert_eq!(app.tail(&["--since", "1h"]).len(), all.len());
    assert!(app.tail(&["--since", "2099-01-01T00:00:00Z"]).is_empty());
    let first = created[0]["proposal_id"].as_str().unwrap();
    let of_first = app.tail(&["--proposal", first]);
    assert!(of_first.iter().all(|e| e["proposal_id"] == first) && !of_first.is_empty());
    // The line a person reads.
    let human = app.cli(&["events", "tail", "--kind", "proposal_created"], &[]);
    assert_eq!(human.code, 0, "{}", human.stderr);
    assert_eq!(human.stdout.lines().count(), 5, "{}", human.stdout);
    assert!(
        human.stdout.lines().all(|l| l.contains("proposal_created")
            && l.contains(CAPABILITY)
            && l.contains("tenant ")
            && l.contains("by agent_")),
        "{}",
        human.stdout
    );
    // Bad input: clear errors, stable codes.
    let bad = app.cli(&["events", "tail", "--kind", "proposal_craeted"], &[]);
    assert_eq!(bad.code, 1, "{}", bad.stderr);
    assert!(
        bad.stderr.contains("UNKNOWN_EVENT_KIND") && bad.stderr.contains("hint:"),
        "{}",
        bad.stderr
    );
    let bad = app.cli(&["events", "tail", "--since", "yesterday"], &[]);
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("--since"), "{}", bad.stderr);
}

#[test]
fn follow_sees_an_event_committed_by_the_server_process() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::start(dir.path());
    app.propose("acme", "INV-1");
    let config = dir.path().join("airlock.json").display().to_string();
    let mut child = clean_command(dir.path())
        .args(["--config", &config, "--store", &app.store()])
        .args([
            "events",
            "tail",
            "--follow",
            "--json",
            "--limit",
            "1",
            "--interval-ms",
            "100",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    // The first line is the newest event already there.
    let first: Value =
        serde_json::from_str(&rx.recv_timeout(Duration::from_secs(30)).unwrap()).unwrap();
    let new_id = app.propose("globex", "G-1");
    let deadline = Instant::now() + Duration::from_secs(30);
    let seen = loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the follower printed the new proposal");
        let e: Value = serde_json::from_str(&line).unwrap();
        assert!(e["seq"].as_i64() > first["seq"].as_i64(), "{e}");
        if e["kind"] == "proposal_created" {
            break e;
        }
    };
    assert_eq!(seen["proposal_id"], new_id.as_str());
    assert_eq!(seen["tenant_id"], "globex");
    let (code, _, err) = interrupt(child);
    assert_eq!(code, 0, "Ctrl-C ends the follower cleanly: {err}");
}

#[test]
fn a_flaky_receiver_gets_each_event_once_after_dedupe_and_every_signature_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::with_proposals(dir.path());
    let expected = ids_of(&app.tail(&["--kind", "proposal_created"]));
    let receiver = Receiver::start(Script::Flaky);
    let child = app.spawn(
        &[
            &receiver.url,
            "--secret-env",
            "HOOK_SECRET",
            "--since-event-id",
            "0",
            "--timeout-ms",
            "500",
            "--retry-initial-ms",
            "50",
            "--retry-max-ms",
            "200",
            "--interval-ms",
            "100",
            "--json",
        ],
        &[("HOOK_SECRET", SECRET)],
    );
    receiver.wait_for(expected.len());
    let (code, out, err) = interrupt(child);
    assert_eq!(code, 0, "{out}{err}");
    let kept = receiver.kept();
    // The late answer made the deliverer send that event again: the receiver kept it twice
    // and de-duplicates by event id.
    assert_eq!(kept.len(), expected.len() + 1, "{kept:#?}");
    assert_eq!(receiver.event_ids(), expected);
    let verifier = airlock_handler::Verifier::new().signing_secret(SECRET);
    for r in &kept {
        let body = r.json();
        let delivery = verifier
            .verify_event(&r.headers, &r.body)
            .unwrap_or_else(|e| panic!("{e:?}: {body}"));
        assert_eq!(delivery.event_id, r.header("x-airlock-event-id"));
        assert_eq!(delivery.event_id, r.header("idempotency-key"));
        assert_eq!(body["schema_version"], "airlock.event-delivery.v1");
        assert_eq!(body["event"]["kind"], "proposal_created");
        assert!(
            body["text"]
                .as_str()
                .unwrap()
                .starts_with("proposal waiting: "),
            "{body}"
        );
        assert!(
            airlock_handler::verify_v1(
                SECRET.as_bytes(),
                &r.body,
                r.header("x-synapsor-signature")
            ),
            "v1"
        );
        // Another secret does not verify.
        assert!(
            airlock_handler::Verifier::new()
                .signing_secret("wrong")
                .verify_event(&r.headers, &r.body)
                .is_err()
        );
    }
    // In chain order, and the JSON report shows the retries with their errors.
    let seqs: Vec<i64> = kept
        .iter()
        .map(|r| r.json()["event"]["seq"].as_i64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] <= w[1]), "{seqs:?}");
    let reports: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let retries: Vec<&Value> = reports
        .iter()
        .filter(|r| r["outcome"] == "retrying")
        .collect();
    assert_eq!(retries.len(), 3, "{out}");
    assert!(
        retries[0]["error"].as_str().unwrap().contains("HTTP 500"),
        "{out}"
    );
    assert!(
        retries[2]["error"]
            .as_str()
            .unwrap()
            .contains("no answer within 500 ms"),
        "{out}"
    );
    assert_eq!(
        reports
            .iter()
            .filter(|r| r["outcome"] == "delivered")
            .count(),
        expected.len()
    );
    assert!(
        !out.contains("SECRETPATH") && !err.contains("SECRETPATH"),
        "the URL path is never shown"
    );
    let status = app.status();
    let state = &status["destinations"][0];
    assert_eq!(state["delivered"], expected.len());
    assert_eq!(state["pending_seq"], Value::Null);
    assert!(!status.to_string().contains("SECRETPATH"));
    // Delivery state is outside the chain: the ledger still verifies.
    let verify = app.cli(&["ledger", "verify", "--json"], &[]);
    assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);
}

#[test]
fn a_receiver_that_is_down_leaves_a_clear_retrying_state() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::with_proposals(dir.path());
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/hooks/SECRETPATH");
    let once = |app: &App| {
        app.cli(
            &[
                "events",
                "webhook",
                "--url-env",
                "HOOK_URL",
                "--since-event-id",
                "0",
                "--once",
                "--retry-initial-ms",
                "50",
                "--json",
            ],
            &[("HOOK_URL", url.as_str())],
        )
    };
    let run = once(&app);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("WEBHOOK_UNDELIVERED") && run.stderr.contains("hint:"),
        "{}",
        run.stderr
    );
    let reports: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let retry = reports.iter().find(|r| r["outcome"] == "retrying").unwrap();
    assert!(
        retry["error"]
            .as_str()
            .unwrap()
            .contains("could not connect"),
        "{retry}"
    );
    let first_created = &app.tail(&["--kind", "proposal_created"])[0];
    let status = app.status();
    let state = &status["destinations"][0];
    assert_eq!(state["pending_seq"], first_created["seq"]);
    assert_eq!(state["attempts"], 1);
    assert!(
        state["last_error"]
            .as_str()
            .unwrap()
            .contains("could not connect"),
        "{state}"
    );
    assert_eq!(state["delivered"], 0);
    // The next run retries the same event as attempt 2.
    let run = once(&app);
    assert_eq!(run.code, 1);
    assert_eq!(app.status()["destinations"][0]["attempts"], 2);
    let human = app.cli(&["events", "status"], &[]);
    assert!(
        human.stdout.contains("retrying event #") && human.stdout.contains("could not connect"),
        "{}",
        human.stdout
    );
    for text in [&run.stdout, &run.stderr, &human.stdout, &status.to_string()] {
        assert!(!text.contains("SECRETPATH"), "{text}");
    }
    // Bad destinations: stable codes, nothing recorded.
    let bad = app.cli(&["events", "webhook", "ftp://x/y", "--once"], &[]);
    assert!(bad.stderr.contains("WEBHOOK_URL_INVALID"), "{}", bad.stderr);
    let bad = app.cli(
        &[
            "events",
            "webhook",
            "--url-env",
            "NOT_SET_ANYWHERE",
            "--once",
        ],
        &[],
    );
    assert!(bad.stderr.contains("WEBHOOK_ENV_UNSET"), "{}", bad.stderr);
    let bad = app.cli(
        &[
            "events",
            "webhook",
            "http://x/",
            "--kinds",
            "nope",
            "--once",
        ],
        &[],
    );
    assert!(bad.stderr.contains("UNKNOWN_EVENT_KIND"), "{}", bad.stderr);
    assert_eq!(app.status()["destinations"].as_array().unwrap().len(), 1);
}

#[test]
fn a_killed_deliverer_resumes_from_its_cursor_without_losing_or_repeating() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::with_proposals(dir.path());
    let all = app.tail(&["--limit", "1000"]);
    let expected = ids_of(&all);
    assert!(expected.len() >= 10, "{}", expected.len());
    let receiver = Receiver::start(Script::Slow(Duration::from_millis(150)));
    let args = [
        receiver.url.as_str(),
        "--kinds",
        "*",
        "--since-event-id",
        "0",
        "--interval-ms",
        "100",
        "--name",
        "audit_sink",
    ];
    let mut first = app.spawn(&args, &[]);
    receiver.wait_for(4);
    first.kill().unwrap(); // SIGKILL: no chance to clean up
    first.wait().unwrap();
    let cursor = app.status()["destinations"][0]["cursor_seq"]
        .as_i64()
        .unwrap();
    assert!(cursor >= 3, "cursor {cursor}");
    let before = receiver.kept().len();
    let second = app.spawn(&args, &[]);
    receiver.wait_for(expected.len());
    let (code, out, err) = interrupt(second);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(receiver.event_ids(), expected, "nothing lost");
    // Acknowledged events are never sent again; only the one in flight at the kill may be.
    let mut count: BTreeMap<i64, usize> = BTreeMap::new();
    for r in receiver.kept() {
        *count
            .entry(r.json()["event"]["seq"].as_i64().unwrap())
            .or_default() += 1;
    }
    let repeated: Vec<i64> = count
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(s, _)| *s)
        .collect();
    assert!(
        repeated.iter().all(|s| *s == cursor + 1),
        "repeated {repeated:?}, cursor {cursor}"
    );
    assert!(
        receiver.kept().len() <= expected.len() + 1,
        "{before} then {}",
        receiver.kept().len()
    );
    let state = &app.status()["destinations"][0];
    assert_eq!(state["cursor_seq"], all.last().unwrap()["seq"]);
    // Ledger maintenance with delivery state present.
    let backup = dir.path().join("backup.db").display().to_string();
    let made = app.cli(&["ledger", "backup", &backup, "--json"], &[]);
    assert_eq!(made.code, 0, "{}{}", made.stdout, made.stderr);
    let copy = airlock(
        dir.path(),
        &["--store", &backup, "events", "status", "--json"],
        &[],
    );
    let copied: Value = serde_json::from_str(&copy.stdout).unwrap();
    assert_eq!(
        copied["destinations"][0]["cursor_seq"], state["cursor_seq"],
        "the backup keeps delivery state"
    );
    let export = app.cli(&["ledger", "export", "--output", "export.jsonl"], &[]);
    assert_eq!(export.code, 0, "{}{}", export.stdout, export.stderr);
    let pruned = app.cli(&["ledger", "prune", "--older-than", "0d", "--json"], &[]);
    assert_eq!(pruned.code, 0, "{}{}", pruned.stdout, pruned.stderr);
    let verify = app.cli(&["ledger", "verify", "--json"], &[]);
    assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);
}

#[test]
fn configured_slack_destination_hears_proposals_waiting_with_a_review_link() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::with_proposals(dir.path());
    let receiver = Receiver::start(Script::Slow(Duration::ZERO));
    let run = app.cli(
        &["events", "webhook", "--once", "--since-event-id", "0"],
        &[("TEAM_HOOK_URL", receiver.url.as_str())],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let kept = receiver.kept();
    // Three acme proposals; globex is filtered out by the destination's tenants.
    assert_eq!(kept.len(), 3, "{kept:#?}");
    let text = kept[0].json()["text"].as_str().unwrap().to_owned();
    assert!(
        text.starts_with(&format!(
            "proposal waiting: {CAPABILITY} on invoices INV-1: late_fee_cents 2500 → 0"
        )),
        "{text}"
    );
    assert!(
        text.contains("(tenant acme), review at http://127.0.0.1:8700/proposals/wrp_"),
        "{text}"
    );
    assert!(
        !text.contains("<!channel>"),
        "agent text cannot mention a channel: {text}"
    );
    assert_eq!(
        kept[0].json().as_object().unwrap().len(),
        1,
        "a Slack body is just text"
    );
    assert!(!kept[0].header("x-airlock-event-id").is_empty());
    // Run again: nothing new to send.
    let again = app.cli(
        &["events", "webhook", "--once"],
        &[("TEAM_HOOK_URL", receiver.url.as_str())],
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(receiver.kept().len(), 3);
    // The variable unset: a stable code naming it.
    let unset = app.cli(&["events", "webhook", "--once"], &[]);
    assert!(
        unset.stderr.contains("WEBHOOK_ENV_UNSET") && unset.stderr.contains("TEAM_HOOK_URL"),
        "{}",
        unset.stderr
    );
    // A tampered notifications block is refused by config validation with its code.
    let path = dir.path().join("airlock.json");
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config["notifications"]["webhooks"]["team_channel"]["url"] = json!(receiver.url);
    config["notifications"]["webhooks"]["team_channel"]["timeout_ms"] = json!(-1);
    std::fs::write(&path, config.to_string()).unwrap();
    let invalid = app.cli(&["config", "validate", "--json"], &[]);
    assert_ne!(invalid.code, 0);
    for code in ["WEBHOOK_SECRET_INLINE", "INVALID_WEBHOOK_TIMEOUT"] {
        assert!(invalid.stdout.contains(code), "{code}: {}", invalid.stdout);
    }
}
