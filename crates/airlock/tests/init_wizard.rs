//! The `airlock init` wizard driven through a real pseudo-terminal (expectrl), on a SQLite app:
//! every question answered as a person would, then the written config validated and used.

mod common;

use std::time::Duration;

use common::airlock;
use serde_json::Value;

#[test]
fn the_wizard_on_a_terminal_writes_a_config_that_works() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let db = dir.join("app.db");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "CREATE TABLE invoices (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL,
               status TEXT NOT NULL CHECK (status IN ('open', 'paid', 'void')),
               late_fee_cents INTEGER NOT NULL CHECK (late_fee_cents >= 0),
               customer_email TEXT, updated_at TEXT NOT NULL);
             INSERT INTO invoices VALUES ('INV-1', 'acme', 'open', 500, 'a@example.com', '2026-01-01');",
        )
        .unwrap();
    let db = db.to_string_lossy().into_owned();

    let mut cmd = common::clean_command(dir);
    cmd.arg("init").env("APP_DB", &db).env("TERM", "xterm");
    let mut p = expectrl::Session::spawn(cmd).expect("spawn in a pty");
    p.set_expect_timeout(Some(Duration::from_secs(30)));
    let step = |p: &mut expectrl::Session, prompt: &str, keys: &str| {
        p.expect(prompt)
            .unwrap_or_else(|e| panic!("waiting for {prompt:?}: {e}"));
        p.send(keys).unwrap();
    };
    step(&mut p, "Variable holding the database URL", "APP_DB\r");
    step(&mut p, "Tables the agent may use", "\r");
    step(&mut p, "column holding the tenant", "\r");
    step(&mut p, "columns the model may see", "\r");
    step(&mut p, "columns a proposal may change", "\r");
    step(&mut p, "trusted tenant id", "\r");
    step(&mut p, "agent's principal", "\r");
    step(&mut p, "How approved proposals are applied", "\r");
    step(&mut p, "Role an operator needs", "billing_lead\r");
    step(&mut p, "Operators who hold that role", "dana\r");
    step(&mut p, "Write ", "\r");
    p.expect("created").expect("files written");
    p.expect(expectrl::Eof).ok();

    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("airlock.json")).unwrap()).unwrap();
    assert_eq!(config["sources"]["local_sqlite"]["read_url_env"], "APP_DB");
    assert_eq!(config["operators"]["dana"]["roles"][0], "billing_lead");
    let proposal = &config["capabilities"][1];
    assert_eq!(proposal["target"]["tenant_key"], "tenant_id");
    assert_eq!(
        proposal["transition_guards"]["status"]["allowed"]["open"][0],
        "paid"
    );
    assert!(!config.to_string().contains("customer_email"), "{config}");
    assert!(dir.join(".env.example").exists() && dir.join("NEXT-STEPS.md").exists());

    let env = [
        ("APP_DB", db.as_str()),
        ("SYNAPSOR_TENANT_ID", "acme"),
        ("SYNAPSOR_PRINCIPAL", "agent"),
    ];
    let v = airlock(dir, &["config", "validate", "--json"], &env);
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
    let read = airlock(
        dir,
        &[
            "smoke",
            "call",
            "invoice.inspect_invoice",
            "--json",
            r#"{"invoice_id":"INV-1"}"#,
        ],
        &env,
    );
    assert!(
        read.stdout.contains("\"ok\": true"),
        "{}{}",
        read.stdout,
        read.stderr
    );
}

#[test]
fn the_wizard_offers_the_handler_template_for_a_command_handler() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let db = dir.join("app.db");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "CREATE TABLE invoices (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL,
               status TEXT NOT NULL CHECK (status IN ('open', 'paid', 'void')),
               updated_at TEXT NOT NULL);",
        )
        .unwrap();
    let db = db.to_string_lossy().into_owned();
    let mut cmd = common::clean_command(dir);
    cmd.arg("init").env("APP_DB", &db).env("TERM", "xterm");
    let mut p = expectrl::Session::spawn(cmd).expect("spawn in a pty");
    p.set_expect_timeout(Some(Duration::from_secs(30)));
    let step = |p: &mut expectrl::Session, prompt: &str, keys: &str| {
        p.expect(prompt)
            .unwrap_or_else(|e| panic!("waiting for {prompt:?}: {e}"));
        p.send(keys).unwrap();
    };
    step(&mut p, "Variable holding the database URL", "APP_DB\r");
    step(&mut p, "Tables the agent may use", "\r");
    step(&mut p, "column holding the tenant", "\r");
    step(&mut p, "columns the model may see", "\r");
    step(&mut p, "columns a proposal may change", "\r");
    step(&mut p, "trusted tenant id", "\r");
    step(&mut p, "agent's principal", "\r");
    // Down twice: command_handler.
    step(
        &mut p,
        "How approved proposals are applied",
        "\x1b[B\x1b[B\r",
    );
    step(&mut p, "Variable holding the handler command", "\r");
    step(&mut p, "Role an operator needs", "\r");
    step(&mut p, "Operators who hold that role", "dana\r");
    step(&mut p, "starting handler", "\r");
    step(&mut p, "handler template?", "\r");
    p.expect("created").expect("files written");
    p.expect(expectrl::Eof).ok();

    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("airlock.json")).unwrap()).unwrap();
    assert_eq!(
        config["executors"]["app_command_handler"]["type"], "command_handler",
        "{config}"
    );
    let handler = std::fs::read_to_string(dir.join("airlock_command_handler.py")).unwrap();
    assert!(handler.contains("YOUR TRANSACTION GOES HERE"));
}
