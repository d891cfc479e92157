//! `airlock handler template` and `airlock doctor --check-handlers` through the real binary.

mod common;

use common::airlock;
use serde_json::{Value, json};

fn project(dir: &std::path::Path) {
    let config = json!({
        "version": 1, "mode": "review",
        "storage": {"sqlite_path": "ledger.db"},
        "sources": {"app": {"engine": "sqlite", "path": "app.db"}},
        "trusted_context": {"provider": "environment"},
        "executors": {
            "web": {"type": "http_handler", "url_env": "WEB_URL",
                    "auth": {"type": "bearer_env", "token_env": "WEB_TOKEN"}, "timeout_ms": 500},
            "cmd": {"type": "command_handler", "command_env": "CMD"}
        },
        "capabilities": [{
            "name": "billing.propose_credit", "kind": "proposal", "source": "app", "executor": "web",
            "target": {"table": "invoices", "primary_key": "id", "tenant_key": "tenant_id"},
            "args": {"invoice_id": {"type": "string", "max_length": 64}},
            "lookup": {"id_from_arg": "invoice_id"},
            "visible_columns": ["id", "credit"],
            "patch": {"credit": {"fixed": 1}},
            "allowed_columns": ["credit"],
            "conflict_guard": {"column": "updated_at"}
        }]
    });
    std::fs::write(dir.join("airlock.json"), config.to_string()).unwrap();
}

#[test]
fn templates_are_listed_written_and_not_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let run = airlock(dir, &["handler", "template", "--list"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for name in ["node-fastify", "python-fastapi", "command", "rust-axum"] {
        assert!(run.stdout.contains(name), "{}", run.stdout);
    }
    assert!(
        run.stdout
            .contains("IMPORTANT: your app handler owns the final business write.")
    );

    let run = airlock(
        dir,
        &["handler", "template", "script", "--output", "h/cmd.py"],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let path = dir.join("h/cmd.py");
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("YOUR TRANSACTION GOES HERE")
    );
    use std::os::unix::fs::PermissionsExt;
    assert_ne!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o111,
        0
    );
    let run = airlock(
        dir,
        &["handler", "template", "command", "--output", "h/cmd.py"],
        &[],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("already exists") && run.stderr.contains("--force"),
        "{}",
        run.stderr
    );
    let run = airlock(
        dir,
        &[
            "handler", "template", "command", "--output", "h/cmd.py", "--force",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);

    let run = airlock(
        dir,
        &["handler", "template", "rust-axum", "--output", "rs"],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(dir.join("rs/Cargo.toml").exists() && dir.join("rs/src/main.rs").exists());

    let run = airlock(dir, &["handler", "template", "fastapi", "--stdout"], &[]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("x-airlock-signature"));

    let run = airlock(dir, &["handler", "template", "lambda"], &[]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("unknown handler template: lambda"),
        "{}",
        run.stderr
    );
}

#[test]
fn doctor_checks_env_reachability_and_executables_without_applying() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    project(dir);
    // Nothing set: both handlers fail the env check; no secret value is printed.
    rusqlite::Connection::open(dir.join("app.db"))
        .and_then(|c| {
            c.execute_batch(
                "CREATE TABLE invoices (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, \
                 credit INTEGER, updated_at TEXT)",
            )
        })
        .unwrap();
    let run = airlock(dir, &["doctor", "--check-handlers", "--json"], &[]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["ok"], false);
    let checks = v["checks"].as_array().unwrap();
    let by_name = |name: &str| {
        checks
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("{name}: {v:#}"))
            .clone()
    };
    let source = by_name("source:app");
    assert_eq!(source["code"], "source_reachable", "{source}");
    assert_eq!(source["data"]["transport"]["requested"], "local file");
    for var in ["WEB_URL", "WEB_TOKEN", "CMD"] {
        let c = by_name(&format!("env:{var}"));
        assert_eq!(c["code"], "env_handler_missing", "{c}");
        assert!(c["message"].as_str().unwrap().contains(var));
    }
    // Unset variables are reported once, by the env checks; the handlers are not probed.
    assert!(!checks.iter().any(|c| c["name"] == "handler:web"));

    // A real handler (token only) answers the signed probe; so does the program, on stdin.
    let url = common::handler::start(
        "doctor-secret-token",
        None,
        common::handler::Behaviour::Honest,
    );
    let answer = r#"python3 -c 'import json, sys; b = json.loads(sys.stdin.readline()); print(json.dumps({"kind": "probe", "status": "ok", "probe_id": b["probe_id"], "protocol_version": "1.0", "source_database_mutated": False}))'"#;
    let env = [
        ("WEB_URL", url.as_str()),
        ("WEB_TOKEN", "doctor-secret-token"),
        ("CMD", answer),
        ("PATH", "/usr/bin:/bin"),
        ("SYNAPSOR_TENANT_ID", "t1"),
        ("SYNAPSOR_PRINCIPAL", "agent"),
    ];
    let run = airlock(dir, &["doctor", "--check-handlers", "--json"], &env);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains("doctor-secret-token"));
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let check = |name: &str| {
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()
            .clone()
    };
    let web = check("handler:web");
    assert_eq!(web["code"], "handler_probe_ok", "{web}");
    assert_eq!(check("handler:cmd")["code"], "handler_probe_ok", "{v:#}");
    // A program that exits 0 without answering is not a handler that answers probes.
    let env2 = [
        ("WEB_URL", url.as_str()),
        ("WEB_TOKEN", "doctor-secret-token"),
        ("CMD", "sh -c 'exit 0'"),
        ("PATH", "/usr/bin:/bin"),
        ("SYNAPSOR_TENANT_ID", "t1"),
        ("SYNAPSOR_PRINCIPAL", "agent"),
    ];
    let run = airlock(dir, &["doctor", "--check-handlers"], &env2);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("FAIL handler:cmd [handler_bad_answer]"),
        "{}",
        run.stdout
    );
    assert_eq!(
        web["data"]["capabilities"],
        json!(["billing.propose_credit"])
    );

    // Down (nothing listens), and a program that is not there.
    let gone = format!(
        "http://127.0.0.1:{}/apply",
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    );
    let env = [
        ("WEB_URL", gone.as_str()),
        ("WEB_TOKEN", "doctor-secret-token"),
        ("CMD", "/nonexistent/handler"),
    ];
    let run = airlock(dir, &["doctor", "--check-handlers"], &env);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("FAIL handler:web [handler_unreachable]"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("FAIL handler:cmd [handler_not_executable]")
            && run.stdout.contains("/nonexistent/handler does not exist"),
        "{}",
        run.stdout
    );
}

/// Each source is checked on its read connection: an unset variable and a server that does not
/// answer each fail doctor with their own step, and the URL is never printed.
#[test]
fn doctor_fails_a_source_that_is_not_set_or_does_not_answer() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let config = json!({
        "version": 1, "mode": "review",
        "storage": {"sqlite_path": "ledger.db"},
        "sources": {"pg": {"engine": "postgres", "read_url_env": "PG_READ_URL"}},
        "trusted_context": {"provider": "environment"},
        "capabilities": [{
            "name": "billing.inspect_invoice", "kind": "read", "source": "pg",
            "target": {"table": "invoices", "primary_key": "id", "tenant_key": "tenant_id"},
            "args": {"invoice_id": {"type": "string"}},
            "lookup": {"id_from_arg": "invoice_id"},
            "visible_columns": ["id"]
        }]
    });
    std::fs::write(dir.join("airlock.json"), config.to_string()).unwrap();
    let run = airlock(dir, &["doctor", "--json"], &[]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let failed: Vec<&Value> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["level"] == "fail")
        .collect();
    // The read URL, and the environment provider's default tenant and principal variables.
    let codes: Vec<(&str, &str)> = failed
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        codes,
        [
            ("env:SYNAPSOR_TENANT_ID", "env_tenant_missing"),
            ("env:SYNAPSOR_PRINCIPAL", "env_principal_missing"),
            ("env:PG_READ_URL", "env_read_url_missing"),
        ],
        "{v:#}"
    );

    let url = "postgres://reader:doctor-pw-123@127.0.0.1:1/app";
    let run = airlock(dir, &["doctor", "--json"], &[("PG_READ_URL", url)]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let source = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "source:pg")
        .unwrap()
        .clone();
    assert_eq!(source["code"], "source_unreachable", "{v}");
    assert!(!run.stdout.contains("doctor-pw-123") && !run.stderr.contains("doctor-pw-123"));
}
