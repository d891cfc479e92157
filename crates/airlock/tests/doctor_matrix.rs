//! `airlock doctor` and `airlock up` through the real binary against real Postgres, MariaDB
//! and SQLite: a least-privilege setup passes, and each broken setup fails with its own code
//! (and only that one). Roles, users and databases are fresh per test and dropped after.

mod common;

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::Path;

use airlock_db::{EngineKind, receipts_ddl};
use airlock_testkit::{FreshDb, FreshUser};
use common::airlock;
use common::handler::{self, Behaviour};
use serde_json::{Value, json};

/// A real handler that verifies the executor's token and secret (those of [`base_env`]) and
/// answers probes.
fn handler_up() -> String {
    handler_with(Behaviour::Honest)
}

fn handler_with(b: Behaviour) -> String {
    handler::start("tok-secret-123", Some("hmac-secret-456"), b)
}

/// A URL on a port nothing listens on.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn config(engine: &str, source_extra: Value) -> Value {
    let mut source =
        json!({"engine": engine, "read_url_env": "APP_READ_URL", "write_url_env": "APP_WRITE_URL"});
    for (k, v) in source_extra.as_object().unwrap() {
        source[k] = v.clone();
    }
    json!({
        "version": 1, "mode": "review",
        "storage": {"sqlite_path": "ledger.db"},
        "sources": {"app": source},
        "trusted_context": {"provider": "environment",
            "values": {"tenant_id_env": "APP_TENANT", "principal_env": "APP_PRINCIPAL"}},
        "executors": {"web": {"type": "http_handler", "url_env": "WEB_URL",
            "auth": {"type": "bearer_env", "token_env": "WEB_TOKEN"},
            "signing_secret_env": "WEB_SECRET", "timeout_ms": 1000}},
        "capabilities": [
            {"name": "billing.inspect_invoice", "kind": "read", "source": "app",
             "target": {"table": "invoices", "primary_key": "id", "tenant_key": "tenant_id"},
             "args": {"invoice_id": {"type": "string", "max_length": 40}},
             "lookup": {"id_from_arg": "invoice_id"},
             "visible_columns": ["id", "tenant_id", "status", "credit", "note", "updated_at"]},
            {"name": "billing.propose_credit", "kind": "proposal", "source": "app",
             "target": {"table": "invoices", "primary_key": "id", "tenant_key": "tenant_id"},
             "args": {"invoice_id": {"type": "string", "max_length": 40},
                      "credit": {"type": "number", "minimum": 0, "maximum": 500}},
             "lookup": {"id_from_arg": "invoice_id"},
             "visible_columns": ["id", "tenant_id", "status", "credit", "updated_at"],
             "patch": {"credit": {"from_arg": "credit"}, "status": {"fixed": "credited"}},
             "allowed_columns": ["credit", "status"],
             "numeric_bounds": {"credit": {"minimum": 0, "maximum": 500}},
             "conflict_guard": {"column": "updated_at"}},
            {"name": "billing.propose_note", "kind": "proposal", "source": "app", "executor": "web",
             "target": {"table": "invoices", "primary_key": "id", "tenant_key": "tenant_id"},
             "args": {"invoice_id": {"type": "string", "max_length": 40},
                      "note": {"type": "string", "max_length": 200}},
             "lookup": {"id_from_arg": "invoice_id"},
             "visible_columns": ["id", "tenant_id", "note", "updated_at"],
             "patch": {"note": {"from_arg": "note"}},
             "allowed_columns": ["note"],
             "conflict_guard": {"column": "updated_at"}}
        ]
    })
}

struct Env(Vec<(String, String)>);

impl Env {
    fn without(&self, var: &str) -> Env {
        Env(self.0.iter().filter(|(k, _)| k != var).cloned().collect())
    }
    fn with(&self, var: &str, value: &str) -> Env {
        let mut e = self.without(var);
        e.0.push((var.to_owned(), value.to_owned()));
        e
    }
}

/// Runs doctor with `--json`; returns the exit code, the report, and the set of failing codes.
fn doctor(dir: &Path, env: &Env, extra: &[&str]) -> (i32, Value, BTreeSet<String>) {
    let mut args = vec!["doctor", "--json"];
    args.extend_from_slice(extra);
    let pairs: Vec<(&str, &str)> = env
        .0
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let run = airlock(dir, &args, &pairs);
    let v: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", run.stdout, run.stderr));
    for (_, secret) in &env.0 {
        if secret.contains("://") || secret.starts_with("pw") || secret.contains("secret") {
            assert!(
                !run.stdout.contains(secret.as_str()),
                "a secret was printed: {}",
                run.stdout
            );
        }
    }
    let fails = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["level"] == "fail")
        .map(|c| c["code"].as_str().unwrap().to_owned())
        .collect();
    (run.code, v, fails)
}

fn set(codes: &[&str]) -> BTreeSet<String> {
    codes.iter().map(|s| (*s).to_owned()).collect()
}

const FULL: &[&str] = &["--check-writeback", "--check-handlers"];

/// The schema: a composite key (tenant, id), so the tenant is part of the lookup.
fn schema(db: &FreshDb, engine: EngineKind) {
    let ts = match engine {
        EngineKind::Postgres => "timestamptz NOT NULL DEFAULT now()",
        EngineKind::Mysql => "timestamp(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)",
        EngineKind::Sqlite => "TEXT NOT NULL DEFAULT '2026-01-01T00:00:00Z'",
    };
    let text = if engine == EngineKind::Mysql {
        "varchar(40)"
    } else {
        "text"
    };
    db.execute_batch_blocking(&format!(
        "CREATE TABLE invoices (id {text} NOT NULL, tenant_id {text} NOT NULL, \
         status {text} NOT NULL, credit integer NOT NULL DEFAULT 0, note {text}, \
         updated_at {ts}, PRIMARY KEY (tenant_id, id));\n{}",
        receipts_ddl(engine)
    ))
    .unwrap();
}

/// Grants the least privileges: SELECT for the reader; the printed writer grants.
fn grant(db: &FreshDb, engine: EngineKind, reader: &FreshUser, writer: &FreshUser) {
    let (r, w) = (&reader.name, &writer.name);
    let sql = match engine {
        EngineKind::Postgres => format!(
            "GRANT SELECT ON invoices TO \"{r}\";\n\
             GRANT SELECT, UPDATE (credit, status) ON invoices TO \"{w}\";\n\
             GRANT SELECT, INSERT ON synapsor_writeback_receipts TO \"{w}\";"
        ),
        _ => {
            let d = &db.name;
            format!(
                "GRANT SELECT ON `{d}`.invoices TO '{r}'@'%';\n\
                 GRANT SELECT, UPDATE (credit, status) ON `{d}`.invoices TO '{w}'@'%';\n\
                 GRANT SELECT, INSERT ON `{d}`.synapsor_writeback_receipts TO '{w}'@'%';"
            )
        }
    };
    db.execute_batch_blocking(&sql).unwrap();
}

fn base_env(reader: &str, writer: &str, handler: &str) -> Env {
    Env(vec![
        ("APP_READ_URL".into(), reader.into()),
        ("APP_WRITE_URL".into(), writer.into()),
        ("APP_TENANT".into(), "t1".into()),
        ("APP_PRINCIPAL".into(), "agent".into()),
        ("WEB_URL".into(), handler.into()),
        ("WEB_TOKEN".into(), "tok-secret-123".into()),
        ("WEB_SECRET".into(), "hmac-secret-456".into()),
    ])
}

/// The whole matrix on a server engine.
fn server_matrix(db: &FreshDb, engine: EngineKind) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(
        dir.join("airlock.json"),
        config(engine.as_str(), json!({})).to_string(),
    )
    .unwrap();
    schema(db, engine);
    let reader = db.fresh_user_blocking().unwrap();
    let writer = db.fresh_user_blocking().unwrap();
    grant(db, engine, &reader, &writer);
    let env = base_env(&reader.url, &writer.url, &handler_up());

    // Healthy, least privilege: exit 0 with every probe on.
    let (code, v, fails) = doctor(dir, &env, FULL);
    assert_eq!((code, &fails), (0, &set(&[])), "{v:#}");
    let codes: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    for expected in [
        "read_credential_read_only",
        "credential_separate",
        "table_ok",
        "receipts_table_ok",
        "writer_grants_ok",
        "handler_probe_ok",
        "ledger_absent",
        "tools_semantic_only",
    ] {
        assert!(codes.contains(&expected), "{expected} missing: {v:#}");
    }
    assert_eq!(v["format"], "airlock.doctor.v1");

    // Each variable missing: its own code, nothing else fails.
    for (var, code) in [
        ("APP_READ_URL", "env_read_url_missing"),
        ("APP_WRITE_URL", "env_write_url_missing"),
        ("APP_TENANT", "env_tenant_missing"),
        ("APP_PRINCIPAL", "env_principal_missing"),
        ("WEB_URL", "env_handler_missing"),
        ("WEB_SECRET", "env_handler_missing"),
    ] {
        let (exit, v, fails) = doctor(dir, &env.without(var), FULL);
        assert_eq!((exit, &fails), (1, &set(&[code])), "{var}: {v:#}");
        let failed = v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["level"] == "fail")
            .unwrap();
        assert_eq!(failed["name"], format!("env:{var}"));
        assert!(failed["hint"].as_str().unwrap().contains(var));
    }

    // The database is down (nothing listens on the port).
    let down = match engine {
        EngineKind::Postgres => format!("postgres://nobody:pw@127.0.0.1:{}/x", closed_port()),
        _ => format!("mysql://nobody:pw@127.0.0.1:{}/x", closed_port()),
    };
    let (exit, v, fails) = doctor(dir, &env.with("APP_READ_URL", &down), FULL);
    assert_eq!((exit, &fails), (1, &set(&["source_unreachable"])), "{v:#}");

    // The read credential may write: a real grant, found in the catalog without writing.
    let widen = match engine {
        EngineKind::Postgres => format!("GRANT UPDATE ON invoices TO \"{}\"", reader.name),
        _ => format!(
            "GRANT UPDATE ON `{}`.invoices TO '{}'@'%'",
            db.name, reader.name
        ),
    };
    db.execute_batch_blocking(&widen).unwrap();
    let (exit, v, fails) = doctor(dir, &env, FULL);
    assert_eq!(
        (exit, &fails),
        (1, &set(&["read_credential_can_write"])),
        "{v:#}"
    );
    let narrow = match engine {
        EngineKind::Postgres => format!("REVOKE UPDATE ON invoices FROM \"{}\"", reader.name),
        _ => format!(
            "REVOKE UPDATE ON `{}`.invoices FROM '{}'@'%'",
            db.name, reader.name
        ),
    };
    db.execute_batch_blocking(&narrow).unwrap();
    if engine == EngineKind::Mysql {
        // Write rights through a role the reader holds but has not activated.
        let role = format!("{}_r", reader.name);
        db.execute_batch_blocking(&format!(
            "CREATE ROLE `{role}`; GRANT DELETE ON `{}`.invoices TO `{role}`; \
             GRANT `{role}` TO '{}'@'%'",
            db.name, reader.name
        ))
        .unwrap();
        let (exit, v, fails) = doctor(dir, &env, FULL);
        db.execute_batch_blocking(&format!("DROP ROLE `{role}`"))
            .unwrap();
        assert_eq!(
            (exit, &fails),
            (1, &set(&["read_credential_can_write"])),
            "{v:#}"
        );
    }
    let rows = db
        .query_scalar_blocking("SELECT count(*) FROM invoices")
        .unwrap();
    assert_eq!(rows.as_deref(), Some("0"), "doctor wrote nothing");

    // Read and write share one credential (without --check-writeback, which would also
    // find the reader lacks the writer's grants).
    let shared = env.with("APP_WRITE_URL", &reader.url);
    let (exit, v, fails) = doctor(dir, &shared, &["--check-handlers"]);
    assert_eq!((exit, &fails), (1, &set(&["credential_shared"])), "{v:#}");
    let (exit, _, _) = doctor(
        dir,
        &shared,
        &["--check-handlers", "--allow-shared-credential"],
    );
    assert_eq!(exit, 0);

    // Two different URLs that log in as the same user are one credential too.
    if engine == EngineKind::Postgres {
        let sep = if reader.url.contains('?') { '&' } else { '?' };
        let alias = format!("{}{sep}application_name=writer", reader.url);
        let (exit, v, fails) = doctor(
            dir,
            &env.with("APP_WRITE_URL", &alias),
            &["--check-handlers"],
        );
        assert_eq!((exit, &fails), (1, &set(&["credential_shared"])), "{v:#}");
        assert!(v.to_string().contains("both log in as"), "{v:#}");
    }

    // A column the config names is gone.
    db.execute_batch_blocking("ALTER TABLE invoices DROP COLUMN note")
        .unwrap();
    let (exit, v, fails) = doctor(dir, &env, FULL);
    assert_eq!((exit, &fails), (1, &set(&["column_missing"])), "{v:#}");
    let missing: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["code"] == "column_missing")
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(
        missing.iter().all(|n| n.ends_with(":column:note")),
        "{missing:?}"
    );
    let add = match engine {
        EngineKind::Postgres => "ALTER TABLE invoices ADD COLUMN note text",
        _ => "ALTER TABLE invoices ADD COLUMN note varchar(40)",
    };
    db.execute_batch_blocking(add).unwrap();

    // The handler is down.
    let gone = format!("http://127.0.0.1:{}/apply", closed_port());
    let (exit, v, fails) = doctor(dir, &env.with("WEB_URL", &gone), FULL);
    assert_eq!((exit, &fails), (1, &set(&["handler_unreachable"])), "{v:#}");

    // The receipts table is missing.
    db.execute_batch_blocking("DROP TABLE synapsor_writeback_receipts")
        .unwrap();
    let (exit, v, fails) = doctor(dir, &env, FULL);
    assert_eq!(
        (exit, &fails),
        (1, &set(&["receipts_table_missing"])),
        "{v:#}"
    );
    let hint = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "receipts_table_missing")
        .unwrap()["hint"]
        .clone();
    assert!(
        hint.as_str()
            .unwrap()
            .contains("airlock writeback migration"),
        "{hint}"
    );

    // `up` stops on doctor's failures, with them listed.
    let pairs: Vec<(&str, &str)> = env
        .0
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let run = airlock(dir, &["up", "--check-writeback", "--serve"], &pairs);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("airlock up stopped"), "{}", run.stdout);
    assert!(
        run.stdout.contains("receipts_table_missing"),
        "{}",
        run.stdout
    );
    // Without --check-writeback it only warns, so `up --dry-run` prints the checklist.
    let run = airlock(dir, &["up", "--dry-run", "--serve"], &pairs);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    for text in [
        "What the model sees:",
        "billing.inspect_invoice: read",
        "How proposals are applied:",
        "billing.propose_credit: one guarded UPDATE through APP_WRITE_URL",
        "billing.propose_note: app-owned http_handler `web`",
        "airlock proposals approve <id>",
        "Server: not started (--dry-run)",
    ] {
        assert!(run.stdout.contains(text), "{text}: {}", run.stdout);
    }
}

#[test]
fn postgres_doctor_matrix() {
    let Some(db) = airlock_testkit::fresh_postgres_blocking() else {
        return;
    };
    server_matrix(&db, EngineKind::Postgres);
}

#[test]
fn mariadb_doctor_matrix() {
    let Some(db) = airlock_testkit::fresh_mysql_blocking() else {
        return;
    };
    server_matrix(&db, EngineKind::Mysql);
}

/// SQLite: a file opened read-only is the read credential; the other checks as elsewhere.
#[test]
fn sqlite_doctor_checks_file_schema_and_ledger() {
    let db = airlock_testkit::fresh_sqlite();
    schema(&db, EngineKind::Sqlite);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::copy(&db.url, dir.join("app.db")).unwrap();
    let mut cfg = config("sqlite", json!({"path": "app.db"}));
    cfg["sources"]["app"]
        .as_object_mut()
        .unwrap()
        .remove("read_url_env");
    cfg["sources"]["app"]
        .as_object_mut()
        .unwrap()
        .remove("write_url_env");
    std::fs::write(dir.join("airlock.json"), cfg.to_string()).unwrap();
    let env = base_env("", "", &handler_up())
        .without("APP_READ_URL")
        .without("APP_WRITE_URL");
    let (code, v, fails) = doctor(dir, &env, FULL);
    assert_eq!((code, &fails), (0, &set(&[])), "{v:#}");
    let read = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "source:app:read-credential")
        .unwrap()
        .clone();
    assert_eq!(read["code"], "read_credential_read_only", "{read}");

    // The handler: each way it can be broken has its own code, and only that one fails.
    for (what, env, code) in [
        (
            "down",
            env.with("WEB_URL", &format!("http://127.0.0.1:{}/x", closed_port())),
            "handler_unreachable",
        ),
        (
            "wrong secret",
            env.with("WEB_SECRET", "hmac-secret-other"),
            "handler_signature_refused",
        ),
        (
            "wrong token",
            env.with("WEB_TOKEN", "tok-secret-other"),
            "handler_signature_refused",
        ),
        (
            "skips verification",
            env.with("WEB_URL", &handler_with(Behaviour::SkipsVerification)),
            "handler_accepts_forged",
        ),
        (
            "answers applied",
            env.with("WEB_URL", &handler_with(Behaviour::AlwaysApplied)),
            "handler_bad_answer",
        ),
        (
            "another protocol",
            env.with("WEB_URL", &handler_with(Behaviour::FutureProtocol)),
            "handler_protocol_mismatch",
        ),
    ] {
        let (exit, v, fails) = doctor(dir, &env, &["--check-handlers"]);
        assert_eq!((exit, &fails), (1, &set(&[code])), "{what}: {v:#}");
        let c = v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["code"] == code)
            .unwrap()
            .clone();
        assert_eq!(c["name"], "handler:web", "{what}: {c}");
        assert!(c["hint"].as_str().is_some_and(|h| !h.is_empty()), "{c}");
    }
    // A handler from before probes: a warning, not a failure.
    let old = env.with("WEB_URL", &handler_with(Behaviour::Old));
    let (exit, v, fails) = doctor(dir, &old, &["--check-handlers"]);
    assert_eq!((exit, &fails), (0, &set(&[])), "{v:#}");
    assert!(v.to_string().contains("handler_probe_unsupported"), "{v:#}");
    // No auth and no signature at all: a failure of its own, before any probe.
    let mut open = cfg.clone();
    open["executors"]["web"] = json!({"type": "http_handler", "url_env": "WEB_URL"});
    std::fs::write(dir.join("airlock.json"), open.to_string()).unwrap();
    let (_, v, fails) = doctor(dir, &env, &[]);
    assert_eq!(fails, set(&["handler_unauthenticated"]), "{v:#}");
    std::fs::write(dir.join("airlock.json"), cfg.to_string()).unwrap();

    // A key looked up by a number but holding text, and a key that is not unique.
    let mut bad = cfg.clone();
    bad["capabilities"][0]["target"]["primary_key"] = json!("status");
    bad["capabilities"][0]["args"]["invoice_id"] = json!({"type": "number"});
    std::fs::write(dir.join("airlock.json"), bad.to_string()).unwrap();
    let (code, v, fails) = doctor(dir, &env, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        fails,
        set(&["column_type_incompatible", "key_not_unique"]),
        "{v:#}"
    );
    std::fs::write(dir.join("airlock.json"), cfg.to_string()).unwrap();

    // `up --serve`: doctor passes, the checklist prints, then the MCP server answers.
    up_serves(dir, &env);

    // Missing receipts table.
    rusqlite::Connection::open(dir.join("app.db"))
        .unwrap()
        .execute_batch("DROP TABLE synapsor_writeback_receipts")
        .unwrap();
    let (code, v, fails) = doctor(dir, &env, FULL);
    assert_eq!(
        (code, &fails),
        (1, &set(&["receipts_table_missing"])),
        "{v:#}"
    );

    // A tampered ledger fails with its own code.
    for f in ["ledger.db-wal", "ledger.db-shm"] {
        let _ = std::fs::remove_file(dir.join(f));
    }
    std::fs::write(dir.join("ledger.db"), vec![b'x'; 4096]).unwrap();
    let (_, v, fails) = doctor(dir, &env, &[]);
    assert_eq!(fails, set(&["ledger_unreadable"]), "{v:#}");
}

/// `--first-run` without any config says how to make one, and flags a client config that
/// holds a database URL.
#[test]
fn first_run_without_config_and_with_a_leaky_client_config() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(
        dir.join("client.json"),
        r#"{"mcpServers":{"airlock":{"command":"airlock","env":{"APP_READ_URL":"postgres://app:hunter2@db/prod"}}}}"#,
    )
    .unwrap();
    let (code, v, fails) = doctor(
        dir,
        &Env(vec![]),
        &["--first-run", "--client-config", "client.json"],
    );
    assert_eq!(code, 1);
    assert_eq!(
        fails,
        set(&["config_missing", "client_config_has_secret"]),
        "{v:#}"
    );
    assert!(!v.to_string().contains("hunter2"));
    let hint = v["checks"][0]["hint"].as_str().unwrap();
    assert!(
        hint.contains("airlock inspect") && hint.contains("airlock init"),
        "{hint}"
    );
    // Text output names each code and its fix.
    let run = airlock(dir, &["doctor", "--first-run"], &[]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("FAIL config [config_missing]"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("fix: "), "{}", run.stdout);
    // --report writes Markdown.
    let run = airlock(dir, &["doctor", "--report", "--out", "r.md"], &[]);
    assert_eq!(run.code, 1);
    let md = std::fs::read_to_string(dir.join("r.md")).unwrap();
    assert!(md.contains("| fail | config | `config_missing` |"), "{md}");
}

/// Starts `airlock up --serve` on a free port, waits for /healthz, then stops it.
fn up_serves(dir: &Path, env: &Env) {
    use std::io::{BufRead, BufReader, Read, Write};
    let port = closed_port();
    let mut cmd = common::clean_command(dir);
    cmd.args([
        "up",
        "--serve",
        "--dev-no-auth",
        "--port",
        &port.to_string(),
    ])
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::null());
    for (k, v) in &env.0 {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    let mut line = String::new();
    while out.read_line(&mut line).unwrap_or(0) > 0 {
        seen.push_str(&line);
        if line.contains("Server: Streamable HTTP, starting now") {
            break;
        }
        line.clear();
    }
    assert!(seen.contains("Airlock up: doctor ok"), "{seen}");
    let mut answered = String::new();
    for _ in 0..100 {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            s.write_all(b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n")
                .unwrap();
            let _ = s.read_to_string(&mut answered);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap();
    let _ = child.wait();
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
}
