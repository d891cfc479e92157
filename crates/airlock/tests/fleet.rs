//! A fleet: several real `airlock mcp serve-streamable-http` processes on one Postgres ledger,
//! answering the stateless 2026-07-28 protocol so any replica takes any call. Concurrent calls
//! across replicas lose and duplicate nothing; a proposal made through one replica is approved
//! by the CLI and applied once while three CLI processes race; a replica killed mid-load
//! leaves the others serving and the ledger verifying; replicas starting together migrate the
//! ledger once; `events tail --follow` and `events webhook` see every replica's events once.
//! Needs the local Postgres (a SKIP line without it, a failure under `CI=true`).

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::http::{STATIC_TOKEN, Server, get, stateless_call};
use common::{Run, airlock, json_of};
use serde_json::{Value, json};

const LEDGER_ENV: &str = "FLEET_LEDGER_URL";
const SCHEMA_NAME: &str = "airlock_fleet";
const INVOICES: usize = 40;

/// The app: invoices of two tenants, and a trigger that logs every update, so a test counts
/// the writes an apply really made.
fn app_schema() -> String {
    let mut sql = String::from(
        "CREATE TABLE invoices (id text PRIMARY KEY, tenant_id text NOT NULL,
           late_fee_cents int NOT NULL, waiver_reason text, version int NOT NULL);
         CREATE TABLE invoice_writes (id text NOT NULL, at timestamptz NOT NULL DEFAULT now());
         CREATE FUNCTION log_invoice_write() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN INSERT INTO invoice_writes (id) VALUES (NEW.id); RETURN NEW; END $$;
         CREATE TRIGGER invoice_written AFTER UPDATE ON invoices
           FOR EACH ROW EXECUTE FUNCTION log_invoice_write();
         INSERT INTO invoices VALUES ('OTHER-1', 'globex', 900, NULL, 1);",
    );
    for n in 0..INVOICES {
        sql.push_str(&format!(
            "INSERT INTO invoices VALUES ('INV-{n}', 'acme', 500, NULL, 1);"
        ));
    }
    // Created up front: three racing applies would otherwise race on CREATE TABLE IF NOT
    // EXISTS, which Postgres does not make atomic.
    sql.push_str(&airlock_db::writer::receipts_ddl(
        airlock_config::Engine::Postgres,
    ));
    sql
}

fn config() -> Value {
    json!({
        "version": 1, "mode": "review", "result_format": 2,
        "storage": {"ledger": {"engine": "postgres", "url_env": LEDGER_ENV, "schema": SCHEMA_NAME}},
        "sources": {"app": {"engine": "postgres", "read_url_env": "APP_URL", "write_url_env": "APP_URL"}},
        "trusted_context": {"provider": "environment"},
        "operators": {"dana": {"roles": ["billing_lead"]}},
        "capabilities": [{
            "name": "billing.inspect_invoice", "kind": "read", "source": "app",
            "target": {"schema": "public", "table": "invoices", "primary_key": "id", "tenant_key": "tenant_id"},
            "args": {"invoice_id": {"type": "string", "max_length": 64}},
            "lookup": {"id_from_arg": "invoice_id"},
            "visible_columns": ["id", "late_fee_cents", "waiver_reason", "version"]
        }, {
            "name": "billing.propose_waiver", "kind": "proposal", "source": "app",
            "target": {"schema": "public", "table": "invoices", "primary_key": "id", "tenant_key": "tenant_id"},
            "args": {"invoice_id": {"type": "string", "max_length": 64}, "reason": {"type": "string", "max_length": 200}},
            "lookup": {"id_from_arg": "invoice_id"},
            "visible_columns": ["id", "late_fee_cents", "waiver_reason", "version"],
            "patch": {"late_fee_cents": {"fixed": 0}, "waiver_reason": {"from_arg": "reason"}},
            "allowed_columns": ["late_fee_cents", "waiver_reason"],
            "conflict_guard": {"column": "version", "bump": true},
            "approval": {"required_role": "billing_lead"}
        }]
    })
}

/// One fleet's database, folder and environment.
struct Fleet {
    db: airlock_testkit::FreshDb,
    dir: tempfile::TempDir,
}

impl Fleet {
    fn new() -> Option<Fleet> {
        let db = airlock_testkit::fresh_postgres_blocking()?;
        db.execute_batch_blocking(&app_schema())
            .expect("app schema");
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("airlock.json"), config().to_string()).expect("config");
        Some(Fleet { db, dir })
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn env(&self) -> Vec<(&str, &str)> {
        vec![
            (LEDGER_ENV, self.db.url.as_str()),
            ("APP_URL", self.db.url.as_str()),
            ("SYNAPSOR_TENANT_ID", "acme"),
            ("SYNAPSOR_PRINCIPAL", "agent_7"),
        ]
    }

    /// `airlock --config airlock.json <args>` with the fleet's environment.
    fn cli(&self, args: &[&str]) -> Run {
        let mut full = vec!["--config", "airlock.json"];
        full.extend_from_slice(args);
        airlock(self.dir(), &full, &self.env())
    }

    /// Spawns `n` replicas at once, then waits for each to listen.
    fn replicas(&self, n: usize) -> Vec<Server> {
        let env = self.env();
        let starting: Vec<_> = (0..n)
            .map(|_| {
                Server::spawn(
                    self.dir(),
                    &["--config", "airlock.json"],
                    "serve-streamable-http",
                    &[],
                    &env,
                )
            })
            .collect();
        starting
            .into_iter()
            .map(common::http::Starting::wait_listening)
            .collect()
    }

    fn scalar(&self, sql: &str) -> String {
        self.db
            .query_scalar_blocking(sql)
            .expect("query")
            .unwrap_or_default()
    }

    fn verify(&self) -> Value {
        let report = json_of(&self.cli(&["ledger", "verify", "--json"]));
        assert_eq!(report["ok"], true, "{report:#}");
        report
    }

    fn counts(&self) -> Value {
        json_of(&self.cli(&["ledger", "stats", "--json"]))["stats"]["counts"].clone()
    }
}

/// A successful read through one replica: its evidence id.
fn inspect(server: &Server, id: i64, invoice: &str) -> Result<String, String> {
    let reply = stateless_call(
        &server.addr,
        STATIC_TOKEN,
        id,
        "billing.inspect_invoice",
        &json!({"invoice_id": invoice}),
    );
    if reply.status != 200 {
        return Err(format!("status {}: {}", reply.status, reply.body));
    }
    let message = reply.message();
    let result = &message["result"]["structuredContent"];
    match result["evidence"]["bundle_id"].as_str() {
        Some(id) if result["ok"] == true => Ok(id.to_owned()),
        _ => Err(message.to_string()),
    }
}

#[test]
fn concurrent_calls_across_three_replicas_lose_and_duplicate_nothing() {
    let Some(fleet) = Fleet::new() else {
        return;
    };
    let servers = Arc::new(fleet.replicas(3));
    for server in servers.iter() {
        let ready = get(&server.addr, "/readyz");
        assert_eq!(ready.status, 200, "{ready:?}");
        let body: Value = serde_json::from_str(&ready.body).expect("readyz JSON");
        assert_eq!(body["ledger"]["ok"], true, "{body}");
    }
    const CLIENTS: usize = 9;
    const CALLS: usize = 20;
    let handles: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let servers = servers.clone();
            std::thread::spawn(move || {
                let mut ids = Vec::new();
                for call in 0..CALLS {
                    // Every client visits every replica in turn.
                    let server = &servers[(client + call) % servers.len()];
                    let n = client * CALLS + call;
                    let invoice = format!("INV-{}", n % INVOICES);
                    let id = inspect(server, n as i64 + 1, &invoice).unwrap_or_else(|e| {
                        panic!("call {n} through {}: {e}\n{}", server.addr, server.log())
                    });
                    ids.push(id);
                }
                ids
            })
        })
        .collect();
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.join().expect("client thread"));
    }
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!(all.len(), CLIENTS * CALLS);
    assert_eq!(
        unique.len(),
        all.len(),
        "an evidence id was handed out twice"
    );
    // Every answered call is in the ledger once: as many bundles as calls, each readable.
    let counts = fleet.counts();
    assert_eq!(
        counts["evidence_bundles"],
        json!(CLIENTS * CALLS),
        "{counts}"
    );
    assert_eq!(counts["query_audit"], json!(CLIENTS * CALLS), "{counts}");
    for id in all.iter().step_by(37) {
        let shown = json_of(&fleet.cli(&["evidence", "show", id, "--json"]));
        assert_eq!(
            shown["evidence_bundle_id"].as_str(),
            Some(id.as_str()),
            "{shown}"
        );
    }
    let report = fleet.verify();
    assert!(
        report["records_checked"].as_u64().unwrap_or(0) >= (CLIENTS * CALLS) as u64,
        "{report:#}"
    );
}

#[test]
fn a_proposal_through_one_replica_is_applied_once_while_three_cli_processes_race() {
    let Some(fleet) = Fleet::new() else {
        return;
    };
    let servers = fleet.replicas(2);
    let reply = stateless_call(
        &servers[0].addr,
        STATIC_TOKEN,
        1,
        "billing.propose_waiver",
        &json!({"invoice_id": "INV-7", "reason": "fleet goodwill"}),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    let message = reply.message();
    let proposal = message["result"]["structuredContent"]["proposal"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no proposal: {message}"))
        .to_owned();
    // The same call through the other replica finds the open proposal instead of a twin.
    let again = stateless_call(
        &servers[1].addr,
        STATIC_TOKEN,
        2,
        "billing.propose_waiver",
        &json!({"invoice_id": "INV-7", "reason": "fleet goodwill"}),
    )
    .message();
    assert_eq!(
        again["result"]["structuredContent"]["proposal"]["id"].as_str(),
        Some(proposal.as_str()),
        "{again}"
    );

    common::ok(&fleet.cli(&[
        "proposals",
        "approve",
        &proposal,
        "--actor",
        "dana",
        "--yes",
    ]));
    let env = fleet.env();
    let racers: Vec<_> = (0..3)
        .map(|_| {
            common::clean_command(fleet.dir())
                .args(["--config", "airlock.json", "apply", &proposal])
                .args(["--actor", "dana", "--json"])
                .envs(env.iter().copied())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn apply")
        })
        .collect();
    let outputs: Vec<_> = racers
        .into_iter()
        .map(|c| c.wait_with_output().expect("apply finishes"))
        .collect();
    let logs: String = outputs
        .iter()
        .map(|o| {
            format!(
                "exit {:?}\n{}{}\n",
                o.status.code(),
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
        })
        .collect();
    assert!(
        outputs.iter().any(|o| o.status.success()),
        "no apply succeeded:\n{logs}"
    );
    // Exactly one write reached the app's table, and exactly one receipt says applied.
    assert_eq!(
        fleet.scalar("SELECT count(*) FROM invoice_writes WHERE id = 'INV-7'"),
        "1",
        "{logs}"
    );
    assert_eq!(
        fleet.scalar("SELECT late_fee_cents || ':' || waiver_reason || ':' || version FROM invoices WHERE id = 'INV-7'"),
        "0:fleet goodwill:2"
    );
    assert_eq!(fleet.scalar("SELECT count(*) FROM invoice_writes"), "1");
    let replay = json_of(&fleet.cli(&["replay", "show", &proposal, "--json"]));
    let receipts = replay["receipts"].as_array().expect("receipts");
    let applied = receipts.iter().filter(|r| r["status"] == "applied").count();
    assert_eq!(applied, 1, "{replay:#}\n{logs}");
    let shown = json_of(&fleet.cli(&["proposals", "show", &proposal, "--json"]));
    assert_eq!(shown["proposal"]["state"], "applied", "{shown:#}");
    // A fourth apply afterwards writes nothing more.
    let late = fleet.cli(&["apply", &proposal, "--actor", "dana", "--json"]);
    assert!(
        late.code == 0 || late.code == 1,
        "{}{}",
        late.stdout,
        late.stderr
    );
    assert_eq!(fleet.scalar("SELECT count(*) FROM invoice_writes"), "1");
    fleet.verify();
    drop(servers);
}

#[test]
fn a_replica_killed_mid_load_leaves_the_others_serving_and_the_ledger_whole() {
    let Some(fleet) = Fleet::new() else {
        return;
    };
    let mut servers = fleet.replicas(3);
    let victim_calls = Arc::new(AtomicUsize::new(0));
    let addrs: Vec<String> = servers.iter().map(|s| s.addr.clone()).collect();
    const PER_REPLICA_CLIENTS: usize = 2;
    const CALLS: usize = 30;
    // Clients on the victim stop at their first refused call; clients on the survivors must
    // never see one.
    let handles: Vec<_> = (0..addrs.len() * PER_REPLICA_CLIENTS)
        .map(|client| {
            let replica = client % addrs.len();
            let addr = addrs[replica].clone();
            let counter = victim_calls.clone();
            std::thread::spawn(move || {
                let mut ok = 0usize;
                let mut failed = None;
                for call in 0..CALLS {
                    let n = (client * CALLS + call) as i64 + 1;
                    let invoice = format!("INV-{}", n as usize % INVOICES);
                    let outcome = std::panic::catch_unwind(|| {
                        let reply = stateless_call(
                            &addr,
                            STATIC_TOKEN,
                            n,
                            "billing.inspect_invoice",
                            &json!({"invoice_id": invoice}),
                        );
                        (reply.status, reply.body)
                    });
                    match outcome {
                        Ok((200, body)) if body.contains("bundle_id") => {
                            ok += 1;
                            if replica == 0 {
                                counter.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                        Ok((status, body)) => {
                            failed = Some(format!("status {status}: {body}"));
                            break;
                        }
                        Err(_) => {
                            failed = Some("connection failed".to_owned());
                            break;
                        }
                    }
                }
                (replica, ok, failed)
            })
        })
        .collect();
    // Kill the first replica once its clients are well into their calls.
    while victim_calls.load(Ordering::SeqCst) < 10 {
        std::thread::yield_now();
    }
    servers[0].kill();
    let mut answered = 0usize;
    let mut victim_clients_cut = 0usize;
    for h in handles {
        let (replica, ok, failed) = h.join().expect("client thread");
        answered += ok;
        if replica == 0 {
            victim_clients_cut += usize::from(failed.is_some());
        } else {
            assert!(
                failed.is_none(),
                "a survivor refused a call after replica 0 died: {failed:?}"
            );
            assert_eq!(ok, CALLS);
        }
    }
    // The victim's clients may have lost an answer whose record was committed (killed between
    // commit and reply): at most one per client. Nothing answered is missing.
    let recorded = fleet.counts()["evidence_bundles"].as_u64().expect("count") as usize;
    assert!(
        recorded >= answered && recorded <= answered + PER_REPLICA_CLIENTS,
        "recorded {recorded}, answered {answered} (victim clients cut: {victim_clients_cut})"
    );
    // The survivors still answer, and the ledger verifies with the victim's partial work in it.
    for server in &servers[1..] {
        inspect(server, 9_999, "INV-1").expect("survivor answers");
        assert_eq!(get(&server.addr, "/readyz").status, 200);
    }
    fleet.verify();
}

#[test]
fn replicas_starting_together_migrate_the_ledger_once() {
    let Some(fleet) = Fleet::new() else {
        return;
    };
    // Nothing exists yet: both replicas find an empty database and migrate it at once.
    assert_eq!(
        fleet.scalar(&format!(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = '{SCHEMA_NAME}'"
        )),
        "0"
    );
    let servers = fleet.replicas(2);
    for (i, server) in servers.iter().enumerate() {
        let ready = get(&server.addr, "/readyz");
        assert_eq!(ready.status, 200, "{ready:?}\n{}", server.log());
        inspect(server, i as i64 + 1, "INV-3").expect("each replica answers");
    }
    assert_eq!(fleet.counts()["evidence_bundles"], json!(2));
    fleet.verify();
}

/// What does not need a Postgres server: the variable is named when unset, `--store` beside
/// a Postgres config is refused, and the SQLite-only maintenance commands say what to use.
#[test]
fn postgres_config_without_its_url_or_with_sqlite_commands_is_refused_clearly() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("airlock.json"), config().to_string()).expect("config");
    let base = [("APP_URL", "postgres://127.0.0.1:1/none")];
    let run = airlock(
        dir.path(),
        &["--config", "airlock.json", "proposals", "list", "--json"],
        &base,
    );
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains(LEDGER_ENV), "{}", run.stderr);
    assert!(
        run.stderr.contains("storage.ledger.url_env"),
        "{}",
        run.stderr
    );

    let with_url = [
        ("APP_URL", "postgres://127.0.0.1:1/none"),
        (LEDGER_ENV, "postgres://fleet:s3cret-pw@127.0.0.1:1/ledger"),
    ];
    let run = airlock(
        dir.path(),
        &[
            "--config",
            "airlock.json",
            "--store",
            "x.db",
            "ledger",
            "stats",
        ],
        &with_url,
    );
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("--store"), "{}", run.stderr);
    for (args, instead) in [
        (&["ledger", "vacuum"][..], "autovacuum"),
        (&["ledger", "migrate"][..], "migrates itself"),
        (&["ledger", "backup", "copy.db"][..], "pg_dump"),
        (
            &["ledger", "prune", "--older-than", "30d"][..],
            "kept whole",
        ),
        (&["ledger", "prune"][..], "kept whole"),
        (&["ledger", "reset", "--yes"][..], "DROP SCHEMA"),
        (&["ledger", "export"][..], "pg_dump"),
        (&["ledger", "import"][..], "SQLite ledger"),
    ] {
        let mut full = vec!["--config", "airlock.json"];
        full.extend_from_slice(args);
        let run = airlock(dir.path(), &full, &with_url);
        assert_ne!(run.code, 0, "{args:?}: {}", run.stdout);
        assert!(
            run.stderr.contains("Postgres") && run.stderr.contains(instead),
            "{args:?}: {}",
            run.stderr
        );
        // The URL's password never reaches the terminal.
        assert!(!run.stderr.contains("s3cret-pw"), "{}", run.stderr);
        assert!(!dir.path().join("copy.db").exists());
    }
    // A URL where the variable's name belongs is a config error, with the value not echoed.
    let mut bad = config();
    bad["storage"]["ledger"]["url_env"] = json!("postgres://fleet:s3cret-pw@db/ledger");
    std::fs::write(dir.path().join("bad.json"), bad.to_string()).expect("config");
    let run = airlock(
        dir.path(),
        &["--config", "bad.json", "config", "validate"],
        &with_url,
    );
    assert_ne!(run.code, 0);
    assert!(
        run.stdout.contains("INVALID_LEDGER_URL_ENV")
            || run.stderr.contains("INVALID_LEDGER_URL_ENV"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    // An injection attempt through the schema name never reaches SQL: validation refuses it.
    let mut bad = config();
    bad["storage"]["ledger"]["schema"] = json!("airlock; DROP SCHEMA public CASCADE");
    std::fs::write(dir.path().join("bad.json"), bad.to_string()).expect("config");
    let run = airlock(
        dir.path(),
        &["--config", "bad.json", "config", "validate"],
        &with_url,
    );
    assert_ne!(run.code, 0);
    assert!(
        run.stdout.contains("INVALID_LEDGER_SCHEMA")
            || run.stderr.contains("INVALID_LEDGER_SCHEMA"),
        "{}{}",
        run.stdout,
        run.stderr
    );
}

/// The SQLite ledger's readiness reports it too.
#[test]
fn readiness_reports_the_sqlite_ledger() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = common::http::fixture(dir.path());
    let server = Server::start(dir.path(), &config, "serve-streamable-http", &[]);
    let ready = get(&server.addr, "/readyz");
    assert_eq!(ready.status, 200, "{ready:?}");
    let body: Value = serde_json::from_str(&ready.body).expect("JSON");
    assert_eq!(body["ready"], true);
    assert_eq!(body["ledger"]["ok"], true, "{body}");
}

/// Reading commands open the shared ledger read-only: before any server they neither create
/// nor migrate it, and afterwards they register no writer and write no event. `ledger stats`
/// shows every writer's chain and head.
#[test]
fn reading_commands_register_no_writer_and_stats_show_every_chain() {
    let Some(fleet) = Fleet::new() else {
        return;
    };
    let run = fleet.cli(&["proposals", "list", "--json"]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stderr.contains("no ledger at") && run.stderr.contains(LEDGER_ENV),
        "{}",
        run.stderr
    );
    // doctor says the same, as a fresh deployment's normal state, and creates nothing either.
    let doctor = fleet.cli(&["doctor", "--json"]);
    assert!(
        doctor.stdout.contains("no ledger yet"),
        "{}{}",
        doctor.stdout,
        doctor.stderr
    );
    let schemas = format!(
        "SELECT count(*) FROM information_schema.schemata WHERE schema_name = '{SCHEMA_NAME}'"
    );
    assert_eq!(fleet.scalar(&schemas), "0", "a reader created the ledger");

    let servers = fleet.replicas(2);
    for (i, server) in servers.iter().enumerate() {
        inspect(server, i as i64 + 1, "INV-1").expect("each replica answers");
    }
    let snapshot = || {
        fleet.scalar(&format!(
            "SELECT (SELECT count(*) FROM {SCHEMA_NAME}.writers) || ' writers, '
                 || (SELECT count(*) FROM {SCHEMA_NAME}.events) || ' events, head '
                 || (SELECT max(seq) FROM {SCHEMA_NAME}.events)"
        ))
    };
    let before = snapshot();
    assert!(before.starts_with("2 writers"), "{before}");
    let reads: [&[&str]; 10] = [
        &["proposals", "list", "--json"],
        &["evidence", "list", "--json"],
        &["query-audit", "list", "--json"],
        &["receipts", "list", "--json"],
        &["replay", "list", "--json"],
        &["activity", "search", "INV-1", "--json"],
        &["events", "tail", "--json"],
        &["events", "status", "--json"],
        &["ledger", "verify", "--json"],
        &["ledger", "stats", "--json"],
    ];
    for args in reads {
        let run = fleet.cli(args);
        assert_eq!(run.code, 0, "{args:?}: {}{}", run.stdout, run.stderr);
    }
    assert_eq!(snapshot(), before, "a reading command wrote to the ledger");

    let stats = json_of(&fleet.cli(&["ledger", "stats", "--json"]))["stats"].clone();
    let writers = stats["writers"].as_array().expect("writers").clone();
    assert_eq!(writers.len(), 2, "{stats:#}");
    for w in &writers {
        // Each replica's chain: its join anchor, then its call's evidence and audit.
        assert!(w["events"].as_i64().unwrap_or(0) >= 3, "{w}");
        assert!(w["head"]["hash"].is_string(), "{w}");
    }
    assert!(stats["schema_bytes"].as_i64().unwrap_or(0) > 0, "{stats:#}");
    assert!(
        stats["database_bytes"].as_i64() >= stats["schema_bytes"].as_i64(),
        "{stats:#}"
    );
    assert!(stats["oldest"].is_string() && stats["newest"].is_string());
    let text = fleet.cli(&["ledger", "stats"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    for w in &writers {
        let id = w["writer_id"].as_str().unwrap();
        assert!(text.stdout.contains(id), "{}", text.stdout);
    }
    drop(servers);
}

/// `events tail --follow` on the shared ledger while three replicas record calls at once: every
/// call's evidence event is printed once, none skipped, though the replicas commit their events
/// out of sequence order (the follower moves only up to the feed's horizon, not the chain head).
#[test]
fn events_tail_follow_prints_every_event_of_every_replica_once() {
    use std::io::BufRead;

    let Some(fleet) = Fleet::new() else {
        return;
    };
    let servers = Arc::new(fleet.replicas(3));
    inspect(&servers[0], 1, "INV-0").expect("first call");
    let mut tail = common::clean_command(fleet.dir());
    tail.args([
        "--config",
        "airlock.json",
        "events",
        "tail",
        "--follow",
        "--json",
        "--limit",
        "1",
        "--interval-ms",
        "100",
    ])
    .envs(fleet.env())
    .stdout(std::process::Stdio::piped())
    .stderr(std::fs::File::create(fleet.dir().join("tail.log")).expect("log file"));
    let mut child = tail.spawn().expect("events tail runs");
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if lines_tx.send(line).is_err() {
                return;
            }
        }
    });
    // The newest event is printed first: the follower is running.
    let wait = std::time::Duration::from_secs(120);
    if lines.recv_timeout(wait).is_err() {
        let _ = child.kill();
        panic!(
            "events tail printed nothing: {}",
            std::fs::read_to_string(fleet.dir().join("tail.log")).unwrap_or_default()
        );
    }

    const CALLS: usize = 10;
    let handles: Vec<_> = (0..3)
        .map(|r| {
            let servers = servers.clone();
            std::thread::spawn(move || {
                (0..CALLS)
                    .map(|i| {
                        let n = r * CALLS + i;
                        inspect(
                            &servers[r],
                            100 + n as i64,
                            &format!("INV-{}", n % INVOICES),
                        )
                        .expect("call")
                    })
                    .collect::<Vec<String>>()
            })
        })
        .collect();
    let mut expected: HashSet<String> = HashSet::new();
    for h in handles {
        expected.extend(h.join().expect("client thread"));
    }
    let mut printed: Vec<String> = Vec::new();
    let mut waiting = expected.clone();
    while !waiting.is_empty() {
        let Ok(line) = lines.recv_timeout(wait) else {
            let _ = child.kill();
            panic!(
                "events tail --follow never printed {} evidence events: {waiting:?}",
                waiting.len()
            );
        };
        let event: Value = serde_json::from_str(&line).expect("one JSON event per line");
        if let Some(id) = event["subject_id"].as_str()
            && expected.contains(id)
        {
            printed.push(id.to_owned());
            waiting.remove(id);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(printed.len(), expected.len(), "an event was printed twice");
}

/// `events webhook` on the shared ledger: the events every replica commits reach a real
/// receiver, each once (save the one in flight when the deliverer is killed with SIGKILL),
/// signed, in sequence order, and a second deliverer resumes from the cursor the first kept
/// in the Postgres ledger.
#[test]
fn events_webhook_delivers_every_replicas_events_once_across_a_killed_deliverer() {
    use common::receiver::{Receiver, Script, interrupt};

    const SECRET: &str = "fleet-webhook-signing-secret-81c4";
    let Some(fleet) = Fleet::new() else {
        return;
    };
    let servers = Arc::new(fleet.replicas(3));
    let calls = |round: usize, per_replica: usize| -> Vec<String> {
        let handles: Vec<_> = (0..3)
            .map(|r| {
                let servers = servers.clone();
                std::thread::spawn(move || {
                    (0..per_replica)
                        .map(|i| {
                            let n = round * 1000 + r * per_replica + i;
                            inspect(&servers[r], n as i64, &format!("INV-{}", n % INVOICES))
                                .expect("call")
                        })
                        .collect::<Vec<String>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("client thread"))
            .collect()
    };
    let mut evidence = calls(1, 4);
    let receiver = Receiver::start(Script::Slow(std::time::Duration::from_millis(40)));
    let deliverer = || {
        let mut cmd = common::clean_command(fleet.dir());
        cmd.args([
            "--config",
            "airlock.json",
            "events",
            "webhook",
            &receiver.url,
        ])
        .args([
            "--kinds",
            "*",
            "--since-event-id",
            "0",
            "--interval-ms",
            "100",
        ])
        .args(["--name", "audit_sink", "--secret-env", "HOOK_SECRET"])
        .envs(fleet.env())
        .env("HOOK_SECRET", SECRET)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
        cmd.spawn().expect("events webhook runs")
    };
    let mut first = deliverer();
    // Replicas keep committing while the first deliverer sends.
    evidence.extend(calls(2, 6));
    receiver.wait_for(8);
    first.kill().expect("SIGKILL");
    first.wait().expect("reaped");
    let status = json_of(&fleet.cli(&["events", "status", "--json"]));
    let cursor = status["destinations"][0]["cursor_seq"]
        .as_i64()
        .unwrap_or_else(|| panic!("no cursor: {status:#}"));
    assert!(cursor > 0, "{status:#}");
    assert!(receiver.event_ids().len() >= 8);
    evidence.extend(calls(3, 4));
    let second = deliverer();
    // Wait for every call's event, then stop the deliverer the way Ctrl-C does.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let subjects: HashSet<String> = receiver
            .kept()
            .iter()
            .filter_map(|r| r.json()["event"]["subject_id"].as_str().map(str::to_owned))
            .collect();
        if evidence.iter().all(|id| subjects.contains(id)) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the receiver has {} of the calls' events",
            evidence.iter().filter(|id| subjects.contains(*id)).count()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let (code, out, err) = interrupt(second);
    assert_eq!(code, 0, "{out}{err}");

    // Exactly the ledger's events up to the delivered cursor, each once but the one in flight.
    let done = json_of(&fleet.cli(&["events", "status", "--json"]));
    let last = done["destinations"][0]["cursor_seq"]
        .as_i64()
        .expect("cursor");
    let tail = fleet.cli(&["events", "tail", "--json", "--limit", "100000"]);
    assert_eq!(tail.code, 0, "{}{}", tail.stdout, tail.stderr);
    let ledger: Vec<(i64, String)> = tail
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("one event per line"))
        .filter(|e| e["seq"].as_i64().is_some_and(|s| s <= last))
        .map(|e| {
            (
                e["seq"].as_i64().unwrap(),
                e["event_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let wanted: std::collections::BTreeSet<String> =
        ledger.iter().map(|(_, id)| id.clone()).collect();
    assert_eq!(receiver.event_ids(), wanted, "nothing lost, nothing extra");
    let verifier = airlock_handler::Verifier::new().signing_secret(SECRET);
    let mut sent: Vec<i64> = Vec::new();
    for r in receiver.kept() {
        let delivery = verifier
            .verify_event(&r.headers, &r.body)
            .unwrap_or_else(|e| panic!("{e:?}: {}", String::from_utf8_lossy(&r.body)));
        assert_eq!(delivery.event_id, r.header("x-airlock-event-id"));
        sent.push(r.json()["event"]["seq"].as_i64().expect("seq"));
    }
    // The first event after the kept cursor may arrive twice (sent, not yet acknowledged).
    let in_flight = ledger.iter().map(|(s, _)| *s).filter(|s| *s > cursor).min();
    let mut seen = HashSet::new();
    for s in &sent {
        assert!(
            seen.insert(*s) || Some(*s) == in_flight,
            "event {s} was sent twice (cursor {cursor})"
        );
    }
    // Each deliverer sends in sequence order, the second from where the first stopped.
    let mut order = sent;
    order.dedup();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    fleet.verify();
}
