//! `airlock init` / `airlock onboard db` through the real binary, on schemas we did not design
//! (Django's migrations on Postgres and SQLite, the Chinook sample on MariaDB) and on bad
//! input: inspect → init → config validate → tools list → read → proposal → approve → apply.

mod common;

use std::path::Path;

use common::{Run, airlock, json_of, ok};
use serde_json::{Value, json};

const DJANGO_PG: &str = include_str!("fixtures/onboarding/django_postgres.sql");
const DJANGO_SQLITE: &str = include_str!("fixtures/onboarding/django_sqlite.sql");
const CHINOOK_MYSQL: &str = include_str!("fixtures/onboarding/chinook_mysql.sql");

fn write(dir: &Path, name: &str, v: &Value) {
    std::fs::write(dir.join(name), serde_json::to_string_pretty(v).unwrap()).unwrap();
}

/// validate → tools list → read → propose → approve → apply, returning the applied proposal's
/// replay. `env` carries the database URLs and the trusted context.
fn review_loop(dir: &Path, env: &[(&str, &str)], read: (&str, Value), propose: (&str, Value)) {
    let v = json_of(&airlock(dir, &["config", "validate", "--json"], env));
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["errors"], json!([]), "{v}");
    let tools = json_of(&airlock(dir, &["tools", "list", "--json"], env));
    assert_eq!(tools["ok"], true, "{tools}");
    let listed: Vec<&str> = tools["exposed_to_mcp"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(
        listed.contains(&read.0) && listed.contains(&propose.0),
        "{listed:?}"
    );

    let r = json_of(&airlock(
        dir,
        &["smoke", "call", read.0, "--json", &read.1.to_string()],
        env,
    ));
    assert_eq!(r["ok"], true, "{r}");
    let p = json_of(&airlock(
        dir,
        &["propose", propose.0, "--json", &propose.1.to_string()],
        env,
    ));
    assert_eq!(p["ok"], true, "{p}");
    let id = p["proposal"]["id"].as_str().unwrap().to_owned();
    ok(&airlock(
        dir,
        &["proposals", "approve", &id, "--actor", "dana", "--yes"],
        env,
    ));
    let applied = airlock(dir, &["apply", &id, "--json"], env);
    let a = json_of(&applied);
    assert_eq!(a["receipt"]["status"], "applied", "{a}");
}

/// A Django user and one admin-log entry of theirs (content type, user, log: the foreign keys
/// hold on every engine).
const DJANGO_ROWS: &str = "
INSERT INTO django_content_type (id, app_label, model) VALUES (1, 'auth', 'user');
INSERT INTO auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
  VALUES (7, 'pbkdf2$never-shown', NULL, false, 'ada', 'Ada', 'L', 'ada@example.com', false, true, '2026-01-01 00:00:00+00');
INSERT INTO django_admin_log (id, action_time, object_id, object_repr, action_flag, change_message, content_type_id, user_id)
  VALUES (41, '2026-01-02 00:00:00+00', '7', 'ada', 1, '[]', 1, 7);
";

#[test]
fn django_on_sqlite_from_our_answers_format() {
    let db = airlock_testkit::fresh_sqlite();
    db.execute_batch_blocking(DJANGO_SQLITE).unwrap();
    db.execute_batch_blocking(DJANGO_ROWS).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();

    // The defaults keep Django's password hash (credential) and e-mail (contact) out.
    let dry = json_of(&airlock(
        dir,
        &[
            "onboard",
            "db",
            "--url",
            &db.url,
            "--table",
            "auth_user",
            "--single-tenant-dev",
            "--yes",
            "--dry-run",
        ],
        &[],
    ));
    let visible = dry["capabilities"][0]["visible_columns"]
        .as_array()
        .unwrap()
        .clone();
    assert!(visible.contains(&json!("username")), "{visible:?}");
    assert!(
        !visible.contains(&json!("password")) && !visible.contains(&json!("email")),
        "{visible:?}"
    );

    write(
        dir,
        "answers.json",
        &json!({
            "format": "airlock.answers.v1",
            "operators": {"dana": ["admin_lead"]},
            "tables": [{
                "table": "django_admin_log", "tenant_key": "user_id", "namespace": "admin", "object_name": "log_entry",
                "proposals": [{"name": "admin.propose_log_fix", "columns": ["action_flag", "change_message"],
                               "weak_guard_ack": true, "approval_role": "admin_lead"}]
            }]
        }),
    );
    let s = json_of(&airlock(
        dir,
        &[
            "init",
            "--url",
            &db.url,
            "--answers",
            "answers.json",
            "--json",
        ],
        &[],
    ));
    assert_eq!(s["format"], "airlock.init.v1");
    assert_eq!(
        s["tools"],
        json!(["admin.inspect_log_entry", "admin.propose_log_fix"])
    );
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("airlock.json")).unwrap()).unwrap();
    // Django's CHECK ("action_flag" >= 0) becomes the argument's minimum and a numeric bound.
    assert_eq!(
        config["capabilities"][1]["args"]["action_flag"]["minimum"],
        0.0
    );
    assert_eq!(
        config["capabilities"][1]["numeric_bounds"]["action_flag"]["minimum"],
        0.0
    );
    let env_example = std::fs::read_to_string(dir.join(".env.example")).unwrap();
    assert!(
        env_example.contains("SYNAPSOR_TENANT_ID=") && !env_example.contains(&db.url),
        "{env_example}"
    );
    assert!(dir.join("NEXT-STEPS.md").exists());

    let env = [
        ("SYNAPSOR_TENANT_ID", "7"),
        ("SYNAPSOR_PRINCIPAL", "agent_1"),
    ];
    review_loop(
        dir,
        &env,
        ("admin.inspect_log_entry", json!({"log_entry_id": "41"})),
        (
            "admin.propose_log_fix",
            json!({"log_entry_id": "41", "action_flag": 2, "change_message": "reviewed"}),
        ),
    );
    assert_eq!(
        db.query_scalar_blocking(
            "SELECT action_flag || change_message FROM django_admin_log WHERE id = 41"
        )
        .unwrap()
        .as_deref(),
        Some("2reviewed")
    );
}

#[test]
fn django_on_postgres_from_the_originals_onboarding_selection() {
    let Some(db) = airlock_testkit::fresh_postgres_blocking() else {
        return;
    };
    db.execute_batch_blocking(DJANGO_PG).unwrap();
    db.execute_batch_blocking(DJANGO_ROWS).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // Synapsor Runner's onboarding-selection v1, read as the original's `init --spec`.
    write(
        dir,
        "selection.json",
        &json!({
            "version": 1, "engine": "postgres", "mode": "review",
            "schema": "public", "table": "django_admin_log", "primary_key": "id", "tenant_key": "user_id",
            "namespace": "admin", "object_name": "log_entry", "lookup_arg": "entry_id",
            "visible_columns": ["id", "object_repr", "action_flag", "change_message"],
            "patch": {"change_message": {"from_arg": "note"}},
            "patch_args": {"note": {"type": "string", "required": true, "max_length": 200}},
            "read_url_env": "APP_DB_URL", "write_url_env": "APP_DB_WRITE_URL",
            "approval": {"required_role": "admin_lead"}
        }),
    );
    let env = [("APP_DB_URL", db.url.as_str())];
    let spec_alone = airlock(dir, &["init", "--spec", "selection.json"], &env);
    assert_eq!(spec_alone.code, 1);
    assert!(
        spec_alone
            .stderr
            .contains("INIT_SPEC_NEEDS_NON_INTERACTIVE"),
        "{}",
        spec_alone.stderr
    );
    let s = json_of(&airlock(
        dir,
        &[
            "init",
            "--from-env",
            "APP_DB_URL",
            "--spec",
            "selection.json",
            "--non-interactive",
            "--operator",
            "dana=admin_lead",
            "--json",
        ],
        &env,
    ));
    assert_eq!(
        s["tools"],
        json!(["admin.inspect_log_entry", "admin.propose_log_entry_update"])
    );
    assert_eq!(
        s["env_vars"],
        json!([
            "APP_DB_URL",
            "SYNAPSOR_TENANT_ID",
            "SYNAPSOR_PRINCIPAL",
            "APP_DB_WRITE_URL"
        ])
    );
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("airlock.json")).unwrap()).unwrap();
    // Declared patch_args win over inferred ones (the original let inference override them).
    assert_eq!(config["capabilities"][1]["args"]["note"]["max_length"], 200);

    let env = [
        ("APP_DB_URL", db.url.as_str()),
        ("APP_DB_WRITE_URL", db.url.as_str()),
        ("SYNAPSOR_TENANT_ID", "7"),
        ("SYNAPSOR_PRINCIPAL", "agent_1"),
    ];
    review_loop(
        dir,
        &env,
        ("admin.inspect_log_entry", json!({"entry_id": "41"})),
        (
            "admin.propose_log_entry_update",
            json!({"entry_id": "41", "note": "reviewed"}),
        ),
    );
    assert_eq!(
        db.query_scalar_blocking("SELECT change_message FROM django_admin_log WHERE id = 41")
            .unwrap()
            .as_deref(),
        Some("reviewed")
    );
}

#[test]
fn chinook_on_mariadb_with_the_originals_scripted_flags() {
    let Some(db) = airlock_testkit::fresh_mysql_blocking() else {
        return;
    };
    db.execute_batch_blocking(CHINOOK_MYSQL).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let env = [("CHINOOK_URL", db.url.as_str())];
    // Inspect first, as a user would; the saved report drives a dry run without a connection.
    let report = airlock(
        dir,
        &["inspect", "--url-env", "CHINOOK_URL", "--json"],
        &env,
    );
    ok(&report);
    std::fs::write(dir.join("inspection.json"), &report.stdout).unwrap();
    let dry = json_of(&airlock(
        dir,
        &[
            "init",
            "--inspection-json",
            "inspection.json",
            "--table",
            "Invoice",
            "--single-tenant-dev",
            "--dry-run",
        ],
        &[],
    ));
    assert_eq!(dry["capabilities"][0]["name"], "invoice.inspect_invoice");
    assert!(!dir.join("airlock.json").exists());

    let s = json_of(&airlock(
        dir,
        &[
            "onboard",
            "db",
            "--url-env",
            "CHINOOK_URL",
            "--table",
            "Invoice",
            "--tenant-column",
            "CustomerId",
            "--namespace",
            "billing",
            "--object-name",
            "invoice",
            "--id-arg",
            "invoice_id",
            "--patch",
            "BillingCity=arg:city",
            "--patch-fixed",
            "BillingState=reviewed",
            "--write-url-env",
            "CHINOOK_WRITE_URL",
            "--approval-role",
            "billing_lead",
            "--operator",
            "dana=billing_lead",
            "--yes",
            "--json",
        ],
        &env,
    ));
    assert_eq!(
        s["tools"],
        json!(["billing.inspect_invoice", "billing.propose_invoice_update"])
    );
    assert_eq!(s["failed_checks"], json!([]));
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("airlock.json")).unwrap()).unwrap();
    let visible = config["capabilities"][0]["visible_columns"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        !visible.contains(&json!("BillingAddress"))
            && !visible.contains(&json!("BillingPostalCode")),
        "{visible:?}"
    );
    assert_eq!(config["capabilities"][1]["args"]["city"]["max_length"], 40);

    // Each customer is a tenant: the agent serves the customer of invoice 98.
    let customer = db
        .query_scalar_blocking("SELECT CustomerId FROM Invoice WHERE InvoiceId = 98")
        .unwrap()
        .unwrap();
    let env = [
        ("CHINOOK_URL", db.url.as_str()),
        ("CHINOOK_WRITE_URL", db.url.as_str()),
        ("SYNAPSOR_TENANT_ID", customer.as_str()),
        ("SYNAPSOR_PRINCIPAL", "agent_1"),
    ];
    review_loop(
        dir,
        &env,
        ("billing.inspect_invoice", json!({"invoice_id": "98"})),
        (
            "billing.propose_invoice_update",
            json!({"invoice_id": "98", "city": "Lisboa"}),
        ),
    );
    assert_eq!(
        db.query_scalar_blocking(
            "SELECT CONCAT(BillingCity, '/', BillingState) FROM Invoice WHERE InvoiceId = 98"
        )
        .unwrap()
        .as_deref(),
        Some("Lisboa/reviewed")
    );
}

#[test]
fn enums_and_checks_become_guards_on_mariadb() {
    let Some(db) = airlock_testkit::fresh_mysql_blocking() else {
        return;
    };
    db.execute_batch_blocking(
        "CREATE TABLE tickets (id VARCHAR(20) PRIMARY KEY, org_id VARCHAR(20) NOT NULL,
           status ENUM('open','pending','closed') NOT NULL, priority INT NOT NULL CHECK (priority BETWEEN 1 AND 5),
           contact_email VARCHAR(200), updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP);
         INSERT INTO tickets (id, org_id, status, priority) VALUES ('T-1', 'acme', 'open', 3), ('T-2', 'globex', 'open', 3);",
    )
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let env = [("APP_DB_URL", db.url.as_str())];
    let s = json_of(&airlock(
        dir,
        &[
            "onboard",
            "db",
            "--url-env",
            "APP_DB_URL",
            "--yes",
            "--operator",
            "dana",
            "--json",
        ],
        &env,
    ));
    assert_eq!(
        s["tools"],
        json!(["ticket.inspect_ticket", "ticket.propose_ticket_update"])
    );
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("airlock.json")).unwrap()).unwrap();
    let p = &config["capabilities"][1];
    assert_eq!(p["target"]["tenant_key"], "org_id");
    assert_eq!(
        p["numeric_bounds"]["priority"],
        json!({"minimum": 1.0, "maximum": 5.0})
    );
    assert_eq!(
        p["transition_guards"]["status"]["allowed"]["open"],
        json!(["pending", "closed"])
    );
    assert_eq!(p["conflict_guard"], json!({"column": "updated_at"}));
    assert_eq!(p["args"]["priority"]["maximum"], 5.0);

    let env = [
        ("APP_DB_URL", db.url.as_str()),
        ("SYNAPSOR_DATABASE_WRITE_URL", db.url.as_str()),
        ("SYNAPSOR_TENANT_ID", "acme"),
        ("SYNAPSOR_PRINCIPAL", "agent_1"),
    ];
    // A bound the database enforces is refused before anything is recorded.
    let refused = airlock(
        dir,
        &[
            "propose",
            "ticket.propose_ticket_update",
            "--json",
            r#"{"ticket_id":"T-1","status":"closed","priority":9}"#,
        ],
        &env,
    );
    assert_ne!(refused.code, 0, "{}", refused.stdout);
    // Another tenant's ticket is not found.
    let other = airlock(
        dir,
        &[
            "smoke",
            "call",
            "ticket.inspect_ticket",
            "--json",
            r#"{"ticket_id":"T-2"}"#,
        ],
        &env,
    );
    assert!(
        other.stdout.contains("NOT_FOUND_IN_TENANT"),
        "{}",
        other.stdout
    );
    review_loop(
        dir,
        &env,
        ("ticket.inspect_ticket", json!({"ticket_id": "T-1"})),
        (
            "ticket.propose_ticket_update",
            json!({"ticket_id": "T-1", "status": "closed", "priority": 2}),
        ),
    );
    assert_eq!(
        db.query_scalar_blocking("SELECT CONCAT(status, priority) FROM tickets WHERE id = 'T-1'")
            .unwrap()
            .as_deref(),
        Some("closed2")
    );
}

fn sqlite_app(dir: &Path) -> String {
    let path = dir.join("app.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(
            "CREATE TABLE invoices (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, amount INTEGER,
               customer_email TEXT, api_token TEXT, updated_at TEXT);
             CREATE TABLE \"evil\"\"; DROP TABLE invoices; --\" (id TEXT PRIMARY KEY, tenant_id TEXT);",
        )
        .unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn bad_answers_are_refused_with_every_cause_and_nothing_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let url = sqlite_app(dir);
    let init = |answers: &Value| {
        write(dir, "answers.json", answers);
        airlock(
            dir,
            &["init", "--url", &url, "--answers", "answers.json"],
            &[],
        )
    };
    let t = |extra: Value| {
        let mut table = json!({"table": "invoices"});
        table
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({"format": "airlock.answers.v1", "tables": [table]})
    };

    std::fs::write(dir.join("answers.json"), "{\"format\": ").unwrap();
    let run = airlock(
        dir,
        &["init", "--url", &url, "--answers", "answers.json"],
        &[],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("INIT_ANSWERS_MALFORMED"),
        "{}",
        run.stderr
    );

    let run = init(&json!({"format": "airlock.answers.v1", "tables": [{"table": "nope"}]}));
    assert!(
        run.stderr.contains("ANSWERS_UNKNOWN_TABLE") && run.stderr.contains("main.invoices"),
        "{}",
        run.stderr
    );

    let run = init(&t(
        json!({"visible_columns": ["id", "amount", "missing_col"]}),
    ));
    assert!(
        run.stderr.contains("ANSWERS_UNKNOWN_COLUMN") && run.stderr.contains("missing_col"),
        "{}",
        run.stderr
    );

    let run = init(&t(
        json!({"visible_columns": ["id", "amount; DROP TABLE invoices"]}),
    ));
    assert!(
        run.stderr.contains("ANSWERS_UNSAFE_IDENTIFIER"),
        "{}",
        run.stderr
    );

    let run = init(
        &json!({"format": "airlock.answers.v1", "tables": [{"table": "evil\"; DROP TABLE invoices; --"}]}),
    );
    assert!(
        run.stderr.contains("ANSWERS_UNSAFE_IDENTIFIER"),
        "{}",
        run.stderr
    );

    // A sensitive column made visible needs an explicit opt-in; a credential never.
    let run = init(&t(json!({"visible_columns": ["id", "customer_email"]})));
    assert!(
        run.stderr.contains("ANSWERS_SENSITIVE_VISIBLE")
            && run.stderr.contains("include_sensitive"),
        "{}",
        run.stderr
    );
    let run = init(&t(
        json!({"visible_columns": ["id", "api_token"], "include_sensitive": ["api_token"]}),
    ));
    assert!(
        run.stderr.contains("ANSWERS_SECRET_VISIBLE"),
        "{}",
        run.stderr
    );

    let run = init(&t(json!({"proposals": [{"columns": ["tenant_id"]}]})));
    assert!(
        run.stderr.contains("ANSWERS_COLUMN_NOT_PATCHABLE"),
        "{}",
        run.stderr
    );

    let run = init(&json!({"table": "invoices", "patch": "amount=oops", "tenant_colum": "x"}));
    assert!(
        run.stderr.contains("ANSWERS_UNKNOWN_KEY") && run.stderr.contains("fixed:VALUE"),
        "{}",
        run.stderr
    );
    assert!(!dir.join("airlock.json").exists() && !dir.join(".env.example").exists());

    // Opting in works, and writes all three files.
    let run = init(&t(
        json!({"visible_columns": ["id", "customer_email"], "include_sensitive": ["customer_email"]}),
    ));
    ok(&run);
    let before = std::fs::read_to_string(dir.join("airlock.json")).unwrap();
    // Existing files are never overwritten without --force, and nothing else is written.
    std::fs::remove_file(dir.join(".env.example")).unwrap();
    let run = init(&t(json!({})));
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("INIT_FILE_EXISTS") && run.stderr.contains("--force"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("airlock.json")).unwrap(),
        before
    );
    assert!(!dir.join(".env.example").exists());
    let run = airlock(
        dir,
        &[
            "init",
            "--url",
            &url,
            "--answers",
            "answers.json",
            "--force",
        ],
        &[],
    );
    ok(&run);
    assert_ne!(
        std::fs::read_to_string(dir.join("airlock.json")).unwrap(),
        before
    );
}

#[test]
fn defaults_skip_what_cannot_be_a_tool_and_prompts_need_a_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let url = sqlite_app(dir);
    let s = json_of(&airlock(
        dir,
        &["onboard", "db", "--url", &url, "--yes", "--json"],
        &[],
    ));
    assert_eq!(s["tools"], json!(["invoice.inspect_invoice"]));
    assert!(
        s["skipped_tables"][0]
            .as_str()
            .unwrap()
            .contains("not a plain identifier"),
        "{s}"
    );
    let config = std::fs::read_to_string(dir.join("airlock.json")).unwrap();
    assert!(
        !config.contains("api_token") && !config.contains("customer_email"),
        "{config}"
    );

    // No terminal and nothing saying what to do: a clear error naming the prompt-free forms.
    let run = airlock(dir, &["init", "--url", &url], &[]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("INIT_NOT_A_TERMINAL")
            && run.stderr.contains("--answers")
            && run.stderr.contains("--yes"),
        "{}",
        run.stderr
    );
    let run = airlock(dir, &["onboard", "db", "--yes", "--force"], &[]);
    assert!(run.stderr.contains("INIT_URL_MISSING"), "{}", run.stderr);
}

/// Exit 1 with every needle in stderr.
fn refused(run: &Run, needles: &[&str]) {
    assert_eq!(run.code, 1, "stdout:\n{}", run.stdout);
    for n in needles {
        assert!(run.stderr.contains(n), "no {n:?} in:\n{}", run.stderr);
    }
}

#[test]
fn emit_handler_writes_a_starting_handler_that_doctor_accepts_all_or_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let url = sqlite_app(dir);
    let base = [
        "init",
        "--url",
        &url,
        "--table",
        "invoices",
        "--mode",
        "review",
        "--patch",
        "amount=arg:amount",
        "--non-interactive",
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter().chain(extra).map(|s| (*s).to_owned()).collect()
    };
    let run_with = |extra: &[&str]| {
        let args = with(extra);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        airlock(dir, &refs, &[])
    };

    // command_handler + --emit-handler: the program lands beside the config, executable, and
    // .env.example suggests it as the command.
    let s = json_of(&run_with(&[
        "--writeback",
        "command_handler",
        "--emit-handler",
        "--json",
    ]));
    let program = dir.join("airlock_command_handler.py");
    assert_eq!(s["handler"], json!(program), "{s}");
    assert!(s["files"].as_array().unwrap().contains(&json!(program)));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&program).unwrap().permissions().mode();
    assert_eq!(mode & 0o111, 0o111, "not executable: {mode:o}");
    let env_example = std::fs::read_to_string(dir.join(".env.example")).unwrap();
    assert!(
        env_example.contains("SYNAPSOR_APP_WRITEBACK_COMMAND=\"./airlock_command_handler.py\""),
        "{env_example}"
    );
    assert!(
        std::fs::read_to_string(dir.join("NEXT-STEPS.md"))
            .unwrap()
            .contains("YOUR TRANSACTION GOES HERE")
    );
    // MCP client snippets beside the config, pointing at it and its ledger, no credentials.
    for (file, key) in [
        ("generic-stdio.json", "/args"),
        ("claude-desktop.json", "/mcpServers/airlock/args"),
        ("cursor.json", "/mcpServers/airlock/args"),
        ("vscode.json", "/servers/airlock/args"),
    ] {
        let text = std::fs::read_to_string(dir.join(".airlock/mcp").join(file)).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        let args = v.pointer(key).unwrap_or_else(|| panic!("{file}: {v}"));
        assert_eq!(args[3], json!(dir.join("airlock.json")), "{file}: {v}");
        assert_eq!(
            args[5],
            json!(dir.join(".airlock/ledger.db")),
            "{file}: {v}"
        );
        assert!(
            !text.contains("app.db") && !text.contains("CHANGE_ME"),
            "{text}"
        );
        assert!(
            s["files"]
                .as_array()
                .unwrap()
                .contains(&json!(dir.join(".airlock/mcp").join(file)))
        );
    }
    // What doctor --check-handlers checks: the variables are set and the program runs.
    let doctor = airlock(
        dir,
        &["doctor", "--check-handlers", "--json"],
        &[
            (
                "SYNAPSOR_APP_WRITEBACK_COMMAND",
                "./airlock_command_handler.py",
            ),
            ("SYNAPSOR_TENANT_ID", "t1"),
            ("SYNAPSOR_PRINCIPAL", "p1"),
        ],
    );
    let d: Value = serde_json::from_str(&doctor.stdout)
        .unwrap_or_else(|e| panic!("{e}: {} {}", doctor.stdout, doctor.stderr));
    let check = |name: &str| {
        d["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name}: {d}"))
    };
    // The emitted program answers the probe on stdin, writing nothing.
    assert_eq!(
        check("handler:app_command_handler")["code"],
        "handler_probe_ok",
        "{d}"
    );
    assert_eq!(check("config")["code"], "config_ok", "{d}");

    // Existing files without --force: refused before anything is written, files as they were.
    std::fs::write(&program, "#!/bin/sh\n# my edited handler\n").unwrap();
    let config_before = std::fs::read_to_string(dir.join("airlock.json")).unwrap();
    let run = run_with(&["--writeback", "http_handler", "--emit-handler"]);
    refused(&run, &["INIT_FILE_EXISTS"]);
    assert_eq!(
        std::fs::read_to_string(dir.join("airlock.json")).unwrap(),
        config_before
    );
    assert!(!dir.join("airlock-writeback-handler.mjs").exists());
    let run = run_with(&[
        "--writeback",
        "command_handler",
        "--emit-handler",
        "--output",
        "other.json",
    ]);
    refused(&run, &["INIT_FILE_EXISTS", "airlock_command_handler.py"]);
    assert!(!dir.join("other.json").exists());
    assert_eq!(
        std::fs::read_to_string(&program).unwrap(),
        "#!/bin/sh\n# my edited handler\n"
    );

    // A handler written over the config itself: refused, nothing written.
    let fresh = tempfile::tempdir().unwrap();
    let run = airlock(
        fresh.path(),
        &with(&[
            "--writeback",
            "http_handler",
            "--handler-output",
            "airlock.json",
        ])
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>(),
        &[],
    );
    refused(&run, &["INIT_FILE_CLASH", "airlock.json"]);
    assert_eq!(std::fs::read_dir(fresh.path()).unwrap().count(), 0);

    // An unknown template: refused with the list command as the hint, nothing written.
    let fresh = tempfile::tempdir().unwrap();
    let run = airlock(
        fresh.path(),
        &with(&[
            "--writeback",
            "http_handler",
            "--handler-template",
            "lambda",
        ])
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>(),
        &[],
    );
    refused(
        &run,
        &[
            "unknown handler template: lambda",
            "airlock handler template --list",
        ],
    );
    assert_eq!(std::fs::read_dir(fresh.path()).unwrap().count(), 0);

    // http_handler, the original's alias names and output flag (relative to the working
    // folder), with --force: the python template, not executable.
    let s = json_of(&run_with(&[
        "--writeback",
        "http_handler",
        "--handler-template",
        "fastapi",
        "--handler-template-output",
        "app/handler.py",
        "--force",
        "--json",
    ]));
    let py = dir.join("app/handler.py");
    assert_eq!(s["handler"], json!(py));
    // The template refuses to start unsigned, so the executor sends a token and signatures.
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("airlock.json")).unwrap()).unwrap();
    let web = &config["executors"]["app_http_handler"];
    assert_eq!(
        web["auth"]["token_env"], "SYNAPSOR_APP_WRITEBACK_TOKEN",
        "{config}"
    );
    assert_eq!(
        web["signing_secret_env"],
        "SYNAPSOR_APP_WRITEBACK_SIGNING_SECRET"
    );
    let env_example = std::fs::read_to_string(dir.join(".env.example")).unwrap();
    assert!(
        env_example.contains("AIRLOCK_HANDLER_SIGNING_SECRET set to the same value"),
        "{env_example}"
    );
    let text = std::fs::read_to_string(&py).unwrap();
    assert!(text.contains("FastAPI") && text.contains("ROW_CHANGED_AFTER_PROPOSAL"));
    assert_eq!(
        std::fs::metadata(&py).unwrap().permissions().mode() & 0o111,
        0
    );

    // --no-emit-handler / --skip-handler-template win; sql_update has no handler to write.
    std::fs::remove_file(&py).unwrap();
    let s = json_of(&run_with(&[
        "--writeback",
        "http_handler",
        "--handler-output",
        "app/handler.py",
        "--skip-handler-template",
        "--force",
        "--json",
    ]));
    assert_eq!(s["handler"], Value::Null);
    assert!(!py.exists());
    let run = run_with(&["--emit-handler", "--force"]);
    ok(&run);
    assert!(
        run.stderr.contains("no handler written") && run.stderr.contains("sql_update"),
        "{}",
        run.stderr
    );
}

#[test]
fn smoke_id_saves_the_first_read_which_then_runs_and_an_unknown_recipe_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let url = sqlite_app(dir);
    rusqlite::Connection::open(&url)
        .unwrap()
        .execute_batch("INSERT INTO invoices (id, tenant_id, amount) VALUES ('inv-1', 't1', 5);")
        .unwrap();
    let init_in = |at: &Path, id: &str, out: &str, env: &[(&str, &str)]| {
        airlock(
            at,
            &[
                "init",
                "--url",
                &url,
                "--table",
                "invoices",
                "--non-interactive",
                "--json",
                "--smoke-id",
                id,
                "--output",
                out,
            ],
            env,
        )
    };
    let init = |id: &str, out: &str| init_in(dir, id, out, &[]);

    // Bad ids first: refused, nothing written.
    for (id, why) in [(" ", "empty"), (&"x".repeat(129)[..], "longer than 128")] {
        let run = init(id, "airlock.json");
        refused(&run, &["INIT_SMOKE_ID_INVALID", why]);
        assert!(!dir.join("airlock.json").exists() && !dir.join(".airlock").exists());
    }

    let s = json_of(&init("inv-1", "airlock.json"));
    let input = dir.join(".airlock/smoke-input.json");
    assert_eq!(s["smoke_input"], json!(input));
    // Without a trusted tenant and principal in the environment the first read waits.
    assert_eq!(s["smoke"]["status"], "not_run", "{s}");
    assert_eq!(
        s["smoke"]["missing_env"],
        json!(["SYNAPSOR_TENANT_ID", "SYNAPSOR_PRINCIPAL"]),
        "{s}"
    );
    // With them, init runs it through the runtime: a real row passes, an unknown id fails
    // (reported, the config stays written, exit 0), and another tenant's row is not found.
    let smoke = |id: &str, tenant: &str| {
        let fresh = dir.join(format!("smoke-{id}-{tenant}"));
        std::fs::create_dir_all(&fresh).unwrap();
        let run = init_in(
            &fresh,
            id,
            "airlock.json",
            &[("SYNAPSOR_TENANT_ID", tenant), ("SYNAPSOR_PRINCIPAL", "p1")],
        );
        let text = std::fs::read_to_string(fresh.join("NEXT-STEPS.md")).unwrap();
        (json_of(&run), text)
    };
    let (s, steps) = smoke("inv-1", "t1");
    assert_eq!(s["smoke"]["status"], "passed", "{s}");
    assert!(
        s["smoke"]["detail"]
            .as_str()
            .unwrap()
            .contains("evidence ev_"),
        "{s}"
    );
    assert!(
        steps.contains("## First read") && steps.contains(": passed."),
        "{steps}"
    );
    for (id, tenant) in [("inv-404", "t1"), ("inv-1", "t2")] {
        let (s, steps) = smoke(id, tenant);
        assert_eq!(s["smoke"]["status"], "failed", "{id} {tenant}: {s}");
        assert!(
            s["smoke"]["detail"].as_str().unwrap().contains("NOT_FOUND"),
            "{s}"
        );
        assert!(steps.contains("FAILED"), "{steps}");
    }
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&input).unwrap()).unwrap();
    assert_eq!(saved, json!({"invoice_id": "inv-1"}));
    assert!(
        std::fs::read_to_string(dir.join("NEXT-STEPS.md"))
            .unwrap()
            .contains("--input .airlock/smoke-input.json")
    );
    // The smoke call NEXT-STEPS.md shows finds the row in the trusted tenant...
    let env = [("SYNAPSOR_TENANT_ID", "t1"), ("SYNAPSOR_PRINCIPAL", "p1")];
    let call = |env: &[(&str, &str)]| {
        airlock(
            dir,
            &[
                "smoke",
                "call",
                "invoice.inspect_invoice",
                "--input",
                ".airlock/smoke-input.json",
                "--format",
                "json",
            ],
            env,
        )
    };
    let r = json_of(&call(&env));
    assert_eq!(r["ok"], json!(true), "{r}");
    // ...and not in another one.
    let run = call(&[("SYNAPSOR_TENANT_ID", "t2"), ("SYNAPSOR_PRINCIPAL", "p1")]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("NOT_FOUND"), "{}", run.stdout);

    // A recipe Airlock does not have: refused, naming the built-in ones (recipes_cli.rs
    // covers the ones it has).
    let run = airlock(dir, &["init", "--recipe", "credits.account_credit"], &[]);
    refused(&run, &["RECIPE_NOT_FOUND", "billing.late_fee_waiver"]);
}

#[test]
fn starter_writes_a_skeleton_that_validates_without_a_database() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let s = json_of(&airlock(dir, &["init", "--starter", "--json"], &[]));
    assert_eq!(s["tools"], json!(["record.inspect_record"]), "{s}");
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("airlock.json")).unwrap()).unwrap();
    let source = &config["sources"]["local_postgres"];
    assert_eq!(source["engine"], "postgres", "{config}");
    assert_eq!(source["read_url_env"], "DATABASE_URL", "{config}");
    assert_eq!(
        config["capabilities"][0]["target"],
        json!({"schema": "public", "table": "records", "primary_key": "id", "tenant_key": "tenant_id"})
    );
    ok(&airlock(dir, &["config", "validate"], &[]));
    let tools = airlock(dir, &["tools", "list"], &[]);
    ok(&tools);
    assert!(
        tools.stdout.contains("record.inspect_record"),
        "{}",
        tools.stdout
    );

    // MySQL flavour, elsewhere.
    let s = json_of(&airlock(
        dir,
        &[
            "init",
            "--starter",
            "--engine",
            "mysql",
            "--output",
            "my/airlock.json",
            "--json",
        ],
        &[],
    ));
    assert_eq!(s["tools"], json!(["record.inspect_record"]));
    let my: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("my/airlock.json")).unwrap())
            .unwrap();
    assert_eq!(my["capabilities"][0]["target"]["schema"], "app");

    // Existing files: refused, nothing changed; a database flag with --starter is a usage error.
    let before = std::fs::read_to_string(dir.join("airlock.json")).unwrap();
    refused(
        &airlock(dir, &["init", "--starter", "--engine", "mysql"], &[]),
        &["INIT_FILE_EXISTS", "--force"],
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("airlock.json")).unwrap(),
        before
    );
    let run = airlock(dir, &["init", "--starter", "--url", "app.db"], &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("cannot be used with"), "{}", run.stderr);
}
