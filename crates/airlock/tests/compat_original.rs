//! Compatibility tier: Synapsor Runner's documented command forms, exactly as its docs write
//! them (no Airlock-only flags), driven through the real binary against real Postgres and
//! MariaDB, from a working folder that holds no config file and with `USER` unset.
//!
//! propose (MCP stdio, then `propose`) → approve (role not verified) → apply → re-apply →
//! conflict → reject → replay (every form) → receipts → evidence, plus each difference Airlock
//! keeps on purpose, with the message that names the Airlock form.
//!
//! The example apps, their original configs and their least-privilege grants come from
//! `../shared/conformance/examples` when it exists; otherwise (with a SKIP line) from a small
//! fixture of our own in the same shape, so the core of the tier always runs.

mod compat_support;

use std::path::PathBuf;
use std::process::Command;

use airlock_testkit::{FreshDb, FreshUser};
use compat_support::{Run, STORE, mcp_session, proposal_id};
use serde_json::{Value, json};

/// An original example app on a fresh database, with the original's reader and writer roles.
struct App {
    db: FreshDb,
    _reader: FreshUser,
    writer: FreshUser,
    /// The folder commands run in: no config file here.
    work: tempfile::TempDir,
    /// The folder holding the (unchanged but for the database name) original config.
    config_dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    spec: &'static Spec,
}

/// What differs between the two example apps.
struct Spec {
    example: &'static str,
    engine: &'static str,
    read_env: &'static str,
    write_env: &'static str,
    propose: &'static str,
    id_arg: &'static str,
    note_arg: &'static str,
    object: &'static str,
    table: &'static str,
    note_column: &'static str,
    /// The example's database name, replaced by the fresh database's.
    example_db: &'static str,
    fallback_config: &'static str,
    fallback_seed: &'static str,
}

const POSTGRES: Spec = Spec {
    example: "mcp-postgres-support",
    engine: "postgres",
    read_env: "SUPPORT_POSTGRES_READ_URL",
    write_env: "SUPPORT_POSTGRES_WRITE_URL",
    propose: "support.propose_ticket_resolution",
    id_arg: "ticket_id",
    note_arg: "resolution_note",
    object: "T-1042",
    table: "public.tickets",
    note_column: "resolution_note",
    example_db: "synapsor_runner_mcp_support",
    fallback_config: include_str!("compat_fixture/postgres.runner.json"),
    fallback_seed: include_str!("compat_fixture/postgres.sql"),
};

const MARIADB: Spec = Spec {
    example: "mcp-mysql-orders",
    engine: "mysql",
    read_env: "ORDERS_MYSQL_READ_URL",
    write_env: "ORDERS_MYSQL_WRITE_URL",
    propose: "orders.propose_refund_review",
    id_arg: "order_id",
    note_arg: "refund_note",
    object: "O-1001",
    table: "orders",
    note_column: "refund_note",
    example_db: "synapsor_runner_mcp_orders",
    fallback_config: include_str!("compat_fixture/mysql.runner.json"),
    fallback_seed: include_str!("compat_fixture/mysql.sql"),
};

/// The original's example apps, when `../shared/conformance` (or `$AIRLOCK_SHARED_DIR`) is
/// present; otherwise a SKIP line and the embedded fixture (a failure under `CI=true`).
fn examples() -> Option<PathBuf> {
    airlock_testkit::shared_conformance("original example apps; running on the embedded fixture")
        .map(|dir| dir.join("examples"))
}

/// The example's config and seed SQL (schema, rows, users and grants).
fn sources(spec: &Spec) -> (String, String) {
    match examples() {
        Some(dir) => {
            let app = dir.join(spec.example);
            (
                std::fs::read_to_string(app.join("synapsor.runner.json")).unwrap(),
                std::fs::read_to_string(app.join("seed/001_schema.sql")).unwrap(),
            )
        }
        None => (
            spec.fallback_config.to_owned(),
            spec.fallback_seed.to_owned(),
        ),
    }
}

impl App {
    fn new(spec: &'static Spec) -> Option<App> {
        let db = match spec.engine {
            "postgres" => airlock_testkit::fresh_postgres_blocking()?,
            _ => airlock_testkit::fresh_mysql_blocking()?,
        };
        let (config, seed) = sources(spec);
        let rt = tokio::runtime::Runtime::new().unwrap();
        let reader = rt.block_on(db.fresh_user()).unwrap();
        let writer = rt.block_on(db.fresh_user()).unwrap();
        // The seed as the original ships it, with the fresh database and per-test roles in
        // place of the fixed names (tests run in parallel on one server).
        let mut sql = String::new();
        for statement in split_sql(&seed) {
            let upper = statement.trim_start().to_ascii_uppercase();
            if upper.starts_with("CREATE USER")
                || upper.starts_with("DO $$")
                || upper.starts_with("FLUSH")
                || upper.starts_with("GRANT CONNECT")
            {
                continue;
            }
            let statement = statement
                .replace("synapsor_reader", &reader.name)
                .replace("synapsor_writer", &writer.name)
                .replace(spec.example_db, &db.name);
            sql.push_str(&statement);
            sql.push_str(";\n");
        }
        db.execute_batch_blocking(&sql)
            .unwrap_or_else(|e| panic!("seed of {}: {e:#}\n{sql}", spec.example));
        let config_dir = tempfile::tempdir().unwrap();
        // MySQL names the database in target.schema; it is the fresh database here.
        std::fs::write(
            config_dir.path().join("synapsor.runner.json"),
            config.replace(spec.example_db, &db.name),
        )
        .unwrap();
        let env = vec![
            (spec.read_env.to_owned(), reader.url.clone()),
            // The original's writer role, with its column-scoped grants (which include the
            // version column in both example apps).
            (spec.write_env.to_owned(), writer.url.clone()),
            ("SYNAPSOR_TENANT_ID".to_owned(), "acme".to_owned()),
            (
                "SYNAPSOR_PRINCIPAL".to_owned(),
                "support_agent_1".to_owned(),
            ),
        ];
        Some(App {
            db,
            _reader: reader,
            writer,
            work: tempfile::tempdir().unwrap(),
            config_dir,
            env,
            spec,
        })
    }

    fn config(&self) -> String {
        self.config_dir
            .path()
            .join("synapsor.runner.json")
            .display()
            .to_string()
    }

    /// Runs `airlock ARGS` in the working folder, with the app's environment only.
    fn run(&self, args: &[&str]) -> Run {
        Run::of(&mut self.command(args))
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = compat_support::airlock(self.work.path(), args);
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// `mcp serve --config C --store S` over stdio: initialize, then one tools/call.
    fn mcp_call(&self, extra: &[&str], tool: &str, arguments: Value) -> (Value, String) {
        let config = self.config();
        let mut args = vec!["mcp", "serve", "--config", &config, "--store", STORE];
        args.extend_from_slice(extra);
        let requests = [
            json!({"jsonrpc":"2.0","id":2,"method":"tools/list"}),
            json!({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":tool,"arguments":arguments}}),
        ];
        let (replies, stderr) = mcp_session(self.command(&args), &requests, &[2, 3]);
        (
            json!({"tools": replies[0]["result"]["tools"], "call": replies[1]["result"]}),
            stderr,
        )
    }

    fn propose_args(&self, note: &str) -> Value {
        json!({ self.spec.id_arg: self.spec.object, self.spec.note_arg: note })
    }

    fn note(&self) -> String {
        self.column(self.spec.note_column).unwrap_or_default()
    }

    /// A column of the example row, read with the admin connection.
    fn column(&self, column: &str) -> Option<String> {
        self.db
            .query_scalar_blocking(&format!(
                "SELECT {column} FROM {} WHERE id = '{}'",
                self.spec.table, self.spec.object
            ))
            .unwrap()
    }

    /// The agent proposes over MCP and a person approves it from the store alone; the id.
    fn approved_proposal(&self, note: &str) -> String {
        let (mcp, _) = self.mcp_call(&[], self.spec.propose, self.propose_args(note));
        let id = proposal_id(&mcp["call"]);
        self.run(&["proposals", "approve", &id, "--store", STORE, "--yes"])
            .ok();
        id
    }
}

/// Splits a seed file into statements (`;` at a line end, outside `$$` blocks).
fn split_sql(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut in_dollar = false;
    for line in sql.lines() {
        if line.trim_start().starts_with("--") {
            continue;
        }
        in_dollar ^= line.matches("$$").count() % 2 == 1;
        current.push_str(line);
        current.push('\n');
        if !in_dollar && line.trim_end().ends_with(';') {
            let s = current.trim().trim_end_matches(';').to_owned();
            if !s.is_empty() {
                out.push(s);
            }
            current.clear();
        }
    }
    out
}

/// The whole loop with the original's command forms.
fn the_original_loop(spec: &'static Spec) {
    let Some(app) = App::new(spec) else { return };
    let config = app.config();
    assert!(
        !app.work.path().join("synapsor.runner.json").exists()
            && !app.work.path().join("airlock.json").exists()
    );

    // 1. The agent proposes over MCP stdio, as a client configured by the original would.
    let (mcp, _) = app.mcp_call(&[], spec.propose, app.propose_args("first note"));
    assert_eq!(mcp["call"]["isError"], json!(false), "{mcp}");
    let first = proposal_id(&mcp["call"]);

    // 2. Review from the store alone: no config here, no --config.
    let list = app
        .run(&["proposals", "list", "--store", STORE, "--json"])
        .ok();
    assert_eq!(list.json()["proposals"][0]["proposal_id"], json!(first));
    let show = app
        .run(&["proposals", "show", "latest", "--store", STORE, "--json"])
        .ok();
    assert_eq!(show.json()["proposal"]["state"], json!("pending_review"));

    // 3. Approve as the original documents it. The config has required_role and no
    //    operators: approval succeeds, says on stderr the role was not verified, and records it.
    let approve = app
        .run(&[
            "proposals",
            "approve",
            &first,
            "--store",
            STORE,
            "--actor",
            "lead_ana",
            "--reason",
            "checked the ticket",
            "--yes",
            "--json",
        ])
        .ok();
    assert!(
        approve.stderr.contains("was not verified") && approve.stderr.contains("\"operators\""),
        "{}",
        approve.stderr
    );
    let decided = approve.json();
    assert_eq!(decided["proposal"]["state"], json!("approved"));
    assert_eq!(decided["role_verified"], json!(false));
    assert_eq!(decided["actor"], json!("lead_ana"));
    assert_eq!(decided["actor_source"], json!("flag"));

    // 4. Apply as the README writes it; USER is unset, so the actor is local_operator.
    let apply = app
        .run(&[
            "apply",
            "--proposal",
            &first,
            "--config",
            &config,
            "--store",
            STORE,
        ])
        .ok();
    assert!(apply.stdout.contains("Applied."), "{}", apply.stdout);
    assert_eq!(app.note(), "first note");

    // 5. Re-apply (positional id, store only): nothing is written twice.
    let again = app.run(&["apply", &first, "--store", STORE, "--json"]).ok();
    assert_eq!(again.json()["status"], json!("already_applied"));

    // 6. A row that changed after the proposal: the conflict guard holds.
    let second = proposal_id(
        &app.run(&[
            "propose",
            spec.propose,
            "--json",
            &app.propose_args("second note").to_string(),
            "--config",
            &config,
            "--store",
            STORE,
        ])
        .ok()
        .json(),
    );
    app.run(&[
        "proposals",
        "approve",
        "latest",
        "--store",
        STORE,
        "--yes",
        "--json",
    ])
    .ok();
    app.db
        .execute_batch_blocking(&format!(
            "UPDATE {} SET updated_at = '2030-01-01 00:00:00' WHERE id = '{}'",
            spec.table, spec.object
        ))
        .unwrap();
    let conflict = app.run(&[
        "apply",
        "--proposal",
        &second,
        "--config",
        &config,
        "--store",
        STORE,
        "--json",
    ]);
    // Kept on purpose: a conflict exits 1 (the original exits 0); see docs/compatibility.md.
    assert_eq!(conflict.code, 1, "{}{}", conflict.stdout, conflict.stderr);
    assert_eq!(conflict.json()["status"], json!("conflict"));
    assert_eq!(app.note(), "first note", "a conflict writes nothing");

    // 7. Reject without --actor (USER unset): local_operator, recorded as the default.
    let (mcp, _) = app.mcp_call(&[], spec.propose, app.propose_args("third note"));
    let third = proposal_id(&mcp["call"]);
    let reject = app
        .run(&[
            "proposals",
            "reject",
            &third,
            "--store",
            STORE,
            "--reason",
            "not needed",
            "--yes",
            "--json",
        ])
        .ok();
    assert_eq!(reject.json()["actor"], json!("local_operator"));
    assert_eq!(reject.json()["actor_source"], json!("default"));
    assert_eq!(reject.json()["proposal"]["state"], json!("rejected"));

    // 8. Replay in every documented form.
    let replay = app
        .run(&[
            "replay",
            "show",
            "--proposal",
            &first,
            "--store",
            STORE,
            "--json",
        ])
        .ok();
    let replay = replay.json();
    assert_eq!(replay["proposal"]["state"], json!("applied"));
    let approval = &replay["approvals"][0];
    assert_eq!(approval["role_verified"], json!(false));
    assert_eq!(approval["actor_source"], json!("flag"));
    assert_eq!(replay["jobs"][0]["actor"], json!("local_operator"));
    assert_eq!(replay["jobs"][0]["actor_source"], json!("default"));
    let evidence = replay["proposal"]["change_set"]["evidence"]["bundle_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let by_evidence = app
        .run(&[
            "replay",
            "show",
            "--evidence",
            &evidence,
            "--store",
            STORE,
            "--json",
        ])
        .ok();
    assert_eq!(by_evidence.json()["proposal"]["proposal_id"], json!(first));
    let bare = app.run(&["replay", &first, "--store", STORE]).ok();
    assert!(
        bare.stdout.contains(&format!("replay_{first}")),
        "{}",
        bare.stdout
    );
    let listed = app
        .run(&["replay", "list", "--store", STORE, "--json"])
        .ok();
    assert_eq!(listed.json()["replays"].as_array().unwrap().len(), 3);

    // 9. Receipts of one proposal; the evidence behind it.
    let receipts = app
        .run(&[
            "receipts",
            "list",
            "--proposal",
            &first,
            "--store",
            STORE,
            "--json",
        ])
        .ok();
    let receipts = receipts.json();
    let statuses: Vec<&Value> = receipts["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["status"])
        .collect();
    assert_eq!(statuses, [&json!("applied")], "re-apply adds no receipt");
    let ev = app
        .run(&["evidence", "show", &evidence, "--store", STORE, "--json"])
        .ok();
    assert_eq!(ev.json()["proposal_id"], json!(first));
    let out = app.work.path().join("evidence.json");
    app.run(&[
        "evidence",
        "export",
        &evidence,
        "--output",
        out.to_str().unwrap(),
        "--store",
        STORE,
    ])
    .ok();
    assert!(out.is_file());

    // Exports and detail views with the original's flags.
    app.run(&[
        "replay",
        "export",
        "--proposal",
        &first,
        "--output",
        "replay.json",
        "--store",
        STORE,
    ])
    .ok();
    app.run(&[
        "evidence",
        "export",
        "--evidence",
        &evidence,
        "--output",
        "ev.json",
        "--format",
        "json",
        "--store",
        STORE,
    ])
    .ok();
    assert!(
        app.work.path().join("replay.json").is_file() && app.work.path().join("ev.json").is_file()
    );
    app.run(&["proposals", "show", &first, "--details", "--store", STORE])
        .ok();
    app.run(&["replay", "show", "latest", "--debug", "--store", STORE])
        .ok();

    // 10. The ledger's chain holds over all of it.
    let verify = app
        .run(&["ledger", "verify", "--store", STORE, "--json"])
        .ok();
    assert_eq!(verify.json()["ok"], json!(true));
}

#[test]
fn original_forms_on_postgres() {
    the_original_loop(&POSTGRES);
}

#[test]
fn original_forms_on_mariadb() {
    the_original_loop(&MARIADB);
}

// Issue 9 parts 4 and 7 on both engines, with the original's roles. Part 6 (the original's
// store) is covered by tests/original_store.rs, which drives `airlock ledger import`.

#[test]
fn least_privilege_writer_on_postgres() {
    least_privilege_writer_without_the_version_column(&POSTGRES);
}

#[test]
fn least_privilege_writer_on_mariadb() {
    least_privilege_writer_without_the_version_column(&MARIADB);
}

#[test]
fn retry_after_nothing_written_on_postgres() {
    retry_after_a_failure_that_wrote_nothing(&POSTGRES);
}

#[test]
fn retry_after_nothing_written_on_mariadb() {
    retry_after_a_failure_that_wrote_nothing(&MARIADB);
}

/// Part 4: the writer may UPDATE only the patched columns (not the version column), and the
/// app bumps the version itself with a trigger. Apply must write the patch only, succeed, and
/// the version must move exactly once.
fn least_privilege_writer_without_the_version_column(spec: &'static Spec) {
    let Some(app) = App::new(spec) else { return };
    let (revoke, trigger) = match spec.engine {
        "postgres" => (
            format!("REVOKE UPDATE (updated_at) ON {} FROM \"{}\"", spec.table, app.writer.name),
            format!(
                "CREATE FUNCTION bump() RETURNS trigger AS $$ BEGIN NEW.updated_at = now(); RETURN NEW; END $$ LANGUAGE plpgsql;
                 CREATE TRIGGER bump BEFORE UPDATE ON {} FOR EACH ROW EXECUTE FUNCTION bump()",
                spec.table
            ),
        ),
        _ => (
            format!("REVOKE UPDATE (updated_at) ON {}.{} FROM '{}'@'%'", app.db.name, spec.table, app.writer.name),
            format!(
                "CREATE TRIGGER bump BEFORE UPDATE ON {} FOR EACH ROW SET NEW.updated_at = NOW(6)",
                spec.table
            ),
        ),
    };
    app.db
        .execute_batch_blocking(&format!("{revoke};\n{trigger}"))
        .unwrap();
    let id = app.approved_proposal("least privilege");
    let before = app.column("updated_at");
    app.run(&[
        "apply",
        "--proposal",
        &id,
        "--config",
        &app.config(),
        "--store",
        STORE,
    ])
    .ok();
    assert_eq!(app.note(), "least privilege");
    let after = app.column("updated_at");
    assert_ne!(before, after, "the app's trigger moved the version");
}

/// Part 7: an apply that failed before writing anything (the writer's server unreachable)
/// keeps its approval; the next `apply` retries with the same idempotency key, no new approval.
fn retry_after_a_failure_that_wrote_nothing(spec: &'static Spec) {
    let Some(mut app) = App::new(spec) else {
        return;
    };
    let config = app.config();
    let id = app.approved_proposal("retried");
    let good = std::mem::replace(
        &mut app
            .env
            .iter_mut()
            .find(|(k, _)| k == spec.write_env)
            .unwrap()
            .1,
        format!(
            "{}://nobody@127.0.0.1:1/none",
            if spec.engine == "postgres" {
                "postgres"
            } else {
                "mysql"
            }
        ),
    );
    let failed = app.run(&[
        "apply", &id, "--config", &config, "--store", STORE, "--json",
    ]);
    assert_eq!(failed.json()["status"], json!("failed"));
    assert_eq!(
        failed.json()["receipt"]["source_database_mutated"],
        json!(false)
    );
    app.env
        .iter_mut()
        .find(|(k, _)| k == spec.write_env)
        .unwrap()
        .1 = good;
    let retried = app
        .run(&[
            "apply", &id, "--config", &config, "--store", STORE, "--json",
        ])
        .ok();
    assert_eq!(retried.json()["status"], json!("applied"));
    assert_eq!(app.note(), "retried");
    let replay = app
        .run(&["replay", &id, "--store", STORE, "--json"])
        .ok()
        .json();
    assert_eq!(
        replay["approvals"].as_array().unwrap().len(),
        1,
        "no second approval"
    );
    assert_eq!(
        replay["receipts"].as_array().unwrap().len(),
        2,
        "each attempt recorded"
    );
}
