//! `airlock recipes` and `airlock init --recipe` through the real binary: every built-in
//! recipe on SQLite, and one on Postgres and MariaDB, goes recipe → config validate → a read
//! and a proposal through the MCP server (stdio) → approve → apply, and the row changes.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::Stdio;

use common::{airlock, clean_command, json_of, ok};
use serde_json::{Value, json};

/// One stdio MCP session with `env`: initialize, then each `tools/call`, answered in order.
fn mcp_calls(dir: &Path, env: &[(&str, &str)], calls: &[(&str, Value)]) -> Vec<Value> {
    let mut cmd = clean_command(dir);
    cmd.args(["mcp", "serve"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn airlock mcp serve");
    let mut stdin = child.stdin.take().unwrap();
    let mut frames = vec![
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
               "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                          "clientInfo": {"name": "recipes-test", "version": "0"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    ];
    for (i, (tool, args)) in calls.iter().enumerate() {
        frames.push(
            json!({"jsonrpc": "2.0", "id": i + 1, "method": "tools/call",
                           "params": {"name": tool, "arguments": args}}),
        );
    }
    let mut replies = vec![Value::Null; calls.len()];
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut lines = stdout.lines();
    // One frame at a time: the proposal must follow the read.
    for frame in &frames {
        writeln!(stdin, "{frame}").unwrap();
        stdin.flush().unwrap();
        let Some(id) = frame["id"].as_u64() else {
            continue;
        };
        for line in lines.by_ref() {
            let v: Value = serde_json::from_str(&line.unwrap()).unwrap();
            if v["id"].as_u64() == Some(id) {
                if id > 0 {
                    replies[id as usize - 1] = v;
                }
                break;
            }
        }
    }
    drop(stdin);
    child.wait().unwrap();
    replies
}

/// A recipe on one engine: the call arguments and the column the apply must change.
struct Case {
    id: &'static str,
    read: (&'static str, Value),
    propose: (&'static str, Value),
    /// (table, id, column, value after apply)
    check: (&'static str, &'static str, &'static str, &'static str),
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "billing.late_fee_waiver",
            read: ("billing.inspect_invoice", json!({"invoice_id": "INV-1001"})),
            propose: (
                "billing.propose_late_fee_waiver",
                json!({"invoice_id": "INV-1001", "reason": "charged twice"}),
            ),
            check: ("invoices", "INV-1001", "late_fee_cents", "0"),
        },
        Case {
            id: "support.ticket_status",
            read: ("support.inspect_ticket", json!({"ticket_id": "T-501"})),
            propose: (
                "support.propose_ticket_status",
                json!({"ticket_id": "T-501", "next_status": "resolved", "note": "invoice re-sent"}),
            ),
            check: ("support_tickets", "T-501", "status", "resolved"),
        },
        Case {
            id: "accounts.plan_credit",
            read: ("accounts.inspect_account", json!({"account_id": "ACC-7"})),
            propose: (
                "accounts.propose_plan_credit",
                json!({"account_id": "ACC-7", "credit_cents": 1500, "reason": "outage on the 3rd"}),
            ),
            check: ("accounts", "ACC-7", "plan_credit_cents", "1500"),
        },
    ]
}

const TENANT: [(&str, &str); 2] = [
    ("SYNAPSOR_TENANT_ID", "acme"),
    ("SYNAPSOR_PRINCIPAL", "agent_one"),
];

/// validate → MCP read and proposal → approve → apply; returns the applied proposal's id.
fn review_loop(dir: &Path, env: &[(&str, &str)], case: &Case) -> String {
    let v = json_of(&airlock(dir, &["config", "validate", "--json"], env));
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["errors"], json!([]), "{v}");
    let replies = mcp_calls(
        dir,
        env,
        &[
            (case.read.0, case.read.1.clone()),
            (case.propose.0, case.propose.1.clone()),
        ],
    );
    let read = &replies[0]["result"]["structuredContent"];
    assert_eq!(read["ok"], true, "{}: {}", case.id, replies[0]);
    let proposal = &replies[1]["result"]["structuredContent"];
    assert_eq!(proposal["ok"], true, "{}: {}", case.id, replies[1]);
    let id = proposal["proposal"]["id"].as_str().unwrap().to_owned();
    ok(&airlock(
        dir,
        &["proposals", "approve", &id, "--actor", "dana", "--yes"],
        env,
    ));
    let a = json_of(&airlock(dir, &["apply", &id, "--json"], env));
    assert_eq!(a["receipt"]["status"], "applied", "{}: {a}", case.id);
    id
}

fn sqlite_value(db: &Path, (table, id, column, _): (&str, &str, &str, &str)) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(
        &format!("SELECT CAST({column} AS TEXT) FROM {table} WHERE id = ?1"),
        [id],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn every_recipe_works_end_to_end_on_sqlite() {
    for case in cases() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let s = json_of(&airlock(
            dir,
            &[
                "recipes",
                "init",
                case.id,
                "--engine",
                "sqlite",
                "--out",
                "app/",
                "--operator",
                "dana",
                "--json",
            ],
            &[],
        ));
        assert_eq!(s["format"], "airlock.init.v1", "{s}");
        let app = dir.join("app");
        for f in [
            "airlock.json",
            ".env.example",
            "NEXT-STEPS.md",
            "schema.sql",
        ] {
            assert!(app.join(f).exists(), "{}: {f} missing", case.id);
        }
        let sql = std::fs::read_to_string(app.join("schema.sql")).unwrap();
        rusqlite::Connection::open(app.join("app.db"))
            .unwrap()
            .execute_batch(&sql)
            .unwrap();
        let next = std::fs::read_to_string(app.join("NEXT-STEPS.md")).unwrap();
        assert!(next.contains("schema.sql"), "{next}");
        review_loop(&app, &TENANT, &case);
        assert_eq!(sqlite_value(&app.join("app.db"), case.check), case.check.3);
        // A second init over the same files refuses without --force and writes nothing.
        let again = airlock(
            dir,
            &[
                "recipes", "init", case.id, "--engine", "sqlite", "--out", "app/",
            ],
            &[],
        );
        assert_eq!(again.code, 1, "{}", again.stderr);
        assert!(
            again.stderr.contains("INIT_FILE_EXISTS"),
            "{}",
            again.stderr
        );
    }
}

#[test]
fn init_recipe_maps_onto_an_existing_postgres_table() {
    let Some(db) = airlock_testkit::fresh_postgres_blocking() else {
        return;
    };
    let case = &cases()[0];
    // The customer's own table name: the recipe is mapped onto it with --table.
    let sql = include_str!("../../airlock-db/recipes/billing.late_fee_waiver.postgres.sql")
        .replace("invoices", "customer_invoices");
    db.execute_batch_blocking(&sql).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("SYNAPSOR_DATABASE_WRITE_URL", db.url.as_str()),
        TENANT[0],
        TENANT[1],
    ];
    let s = json_of(&airlock(
        dir,
        &[
            "init",
            "--recipe",
            case.id,
            "--url-env",
            "DATABASE_URL",
            "--table",
            "customer_invoices",
            "--operator",
            "dana",
            "--json",
        ],
        &env,
    ));
    assert_eq!(
        s["tools"],
        json!(["billing.inspect_invoice", "billing.propose_late_fee_waiver"]),
        "{s}"
    );
    // Inspected against a live database: no DDL is written.
    assert!(!dir.join("schema.sql").exists());
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("airlock.json")).unwrap()).unwrap();
    assert_eq!(
        config["capabilities"][1]["conflict_guard"],
        json!({"column": "version", "bump": true})
    );
    review_loop(dir, &env, case);
    let fee = db
        .query_scalar_blocking(
            "SELECT late_fee_cents::text || '/' || version::text FROM customer_invoices WHERE id = 'INV-1001'",
        )
        .unwrap();
    assert_eq!(fee.as_deref(), Some("0/2"));

    // A recipe whose table is not there is refused before anything is written.
    let run = airlock(
        dir,
        &[
            "init",
            "--recipe",
            "support.ticket_status",
            "--url-env",
            "DATABASE_URL",
            "--output",
            "support.json",
        ],
        &env,
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stderr.contains("support_tickets"), "{}", run.stderr);
    assert!(!dir.join("support.json").exists());
}

#[test]
fn a_recipe_works_on_mariadb() {
    let Some(db) = airlock_testkit::fresh_mysql_blocking() else {
        return;
    };
    let case = &cases()[1];
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(&airlock(
        dir,
        &[
            "recipes",
            "init",
            case.id,
            "--engine",
            "mariadb",
            "--operator",
            "dana",
        ],
        &[],
    ));
    let sql = std::fs::read_to_string(dir.join("schema.sql")).unwrap();
    db.execute_batch_blocking(&sql).unwrap();
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("SYNAPSOR_DATABASE_WRITE_URL", db.url.as_str()),
        TENANT[0],
        TENANT[1],
    ];
    review_loop(dir, &env, case);
    let status = db
        .query_scalar_blocking("SELECT status FROM support_tickets WHERE id = 'T-501'")
        .unwrap();
    assert_eq!(status.as_deref(), Some("resolved"));
}

#[test]
fn list_and_show_describe_the_recipes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let list = json_of(&airlock(dir, &["recipes", "list", "--json"], &[]));
    assert_eq!(list["format"], "airlock.recipes.v1");
    let ids: Vec<&str> = list["recipes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "billing.late_fee_waiver",
            "support.ticket_status",
            "accounts.plan_credit"
        ]
    );
    let text = airlock(dir, &["recipes", "list"], &[]);
    ok(&text);
    assert!(text.stdout.contains("billing.propose_late_fee_waiver"));

    let show = json_of(&airlock(
        dir,
        &["recipes", "show", "support.ticket_status", "--json"],
        &[],
    ));
    assert_eq!(show["recipe"]["id"], "support.ticket_status");
    assert_eq!(
        show["config"]["capabilities"][1]["transition_guards"]["status"]["allowed"]["escalated"],
        json!(["resolved"])
    );
    assert!(
        show["schema_sql"]
            .as_str()
            .unwrap()
            .contains("CREATE TABLE support_tickets")
    );
    let text = airlock(dir, &["recipes", "show", "accounts.plan_credit"], &[]);
    ok(&text);
    assert!(
        text.stdout.contains("plan_credit_cents in 0..20000"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("approval role:    billing_lead"),
        "{}",
        text.stdout
    );
}

#[test]
fn bad_recipes_are_refused_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // Unknown id: names the built-ins.
    for args in [
        &["recipes", "show", "billing.refund_everything"][..],
        &["recipes", "init", "billing.refund_everything"][..],
        &["init", "--recipe", "billing.refund_everything"][..],
    ] {
        let run = airlock(dir, args, &[]);
        assert_eq!(run.code, 1, "{args:?}");
        assert!(run.stderr.contains("RECIPE_NOT_FOUND"), "{}", run.stderr);
        assert!(
            run.stderr.contains("billing.late_fee_waiver"),
            "{}",
            run.stderr
        );
    }
    // A recipe file of the wrong form, with an injection string for a table, too large.
    let good = json_of(&airlock(
        dir,
        &["recipes", "show", "billing.late_fee_waiver", "--json"],
        &[],
    ))["recipe"]
        .clone();
    let mut wrong_format = good.clone();
    wrong_format["format"] = json!("synapsor.recipe.v0");
    let mut injected = good.clone();
    injected["answers"]["tables"][0]["table"] = json!("invoices; DROP TABLE invoices");
    let mut extra = good.clone();
    extra["run_after"] = json!("rm -rf /");
    for (name, doc, code) in [
        ("wrong.json", wrong_format, "RECIPE_INVALID"),
        ("injected.json", injected, "ANSWERS_UNSAFE_IDENTIFIER"),
        ("extra.json", extra, "RECIPE_INVALID"),
    ] {
        std::fs::write(dir.join(name), doc.to_string()).unwrap();
        let run = airlock(dir, &["recipes", "init", name], &[]);
        assert_eq!(run.code, 1, "{name}: {}", run.stdout);
        assert!(run.stderr.contains(code), "{name}: {}", run.stderr);
    }
    std::fs::write(dir.join("huge.json"), " ".repeat(2 * 1024 * 1024)).unwrap();
    let run = airlock(dir, &["recipes", "show", "huge.json"], &[]);
    assert!(run.stderr.contains("RECIPE_TOO_LARGE"), "{}", run.stderr);
    assert!(!dir.join("airlock.json").exists());
    // A recipe file of one's own that is valid works like a built-in (no DDL to write).
    std::fs::write(dir.join("mine.json"), good.to_string()).unwrap();
    ok(&airlock(
        dir,
        &["recipes", "init", "./mine.json", "--out", "mine/"],
        &[],
    ));
    assert!(dir.join("mine/airlock.json").exists());
    assert!(!dir.join("mine/schema.sql").exists());
}

#[test]
fn read_only_mode_keeps_only_the_read_tool() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let s = json_of(&airlock(
        dir,
        &[
            "recipes",
            "init",
            "accounts.plan_credit",
            "--mode",
            "read_only",
            "--json",
        ],
        &[],
    ));
    assert_eq!(s["tools"], json!(["accounts.inspect_account"]), "{s}");
    assert_eq!(s["mode"], "read_only");
}
