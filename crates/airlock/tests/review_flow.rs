//! The review loop through the real binary on an SQLite app: propose → approve (with refused
//! approvers) → writeback job → tampered job refused → dry run → apply → idempotent re-apply →
//! receipts, replay, exports → ledger verify (and a tampered ledger caught).

mod common;

use std::path::Path;

use common::{airlock, scrub};
use serde_json::{Value, json};

const APP: &str = "
CREATE TABLE invoices (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, status TEXT NOT NULL,
  late_fee_cents INTEGER NOT NULL, waiver_reason TEXT, updated_at TEXT NOT NULL);
INSERT INTO invoices VALUES ('INV-1', 'acme', 'open', 500, NULL, '2026-11-01T10:00:00.000Z');
INSERT INTO invoices VALUES ('INV-9', 'globex', 'open', 900, NULL, '2026-11-01T10:00:00.000Z');
";

fn setup(dir: &Path) {
    rusqlite::Connection::open(dir.join("app.db"))
        .unwrap()
        .execute_batch(APP)
        .unwrap();
    let config = json!({
        "version": 1, "mode": "review", "result_format": 2,
        "storage": {"sqlite_path": "ledger.db"},
        "sources": {"app": {"engine": "sqlite", "path": "app.db"}},
        "trusted_context": {"provider": "environment"},
        "operators": {"dana": {"roles": ["billing_lead"]}, "sam": {"roles": ["support_lead"]}},
        "capabilities": [{
            "name": "billing.propose_waiver", "kind": "proposal", "source": "app",
            "target": {"table": "invoices", "primary_key": "id", "tenant_key": "tenant_id"},
            "args": {"invoice_id": {"type": "string", "max_length": 64}, "reason": {"type": "string", "max_length": 200}},
            "lookup": {"id_from_arg": "invoice_id"},
            "visible_columns": ["id", "status", "late_fee_cents", "waiver_reason", "updated_at"],
            "patch": {"late_fee_cents": {"fixed": 0}, "waiver_reason": {"from_arg": "reason"}},
            "allowed_columns": ["late_fee_cents", "waiver_reason"],
            "conflict_guard": {"column": "updated_at", "bump": true},
            "approval": {"mode": "human", "required_role": "billing_lead"}
        }]
    });
    std::fs::write(
        dir.join("airlock.json"),
        serde_json::to_string_pretty(&config).unwrap(),
    )
    .unwrap();
}

const AGENT: [(&str, &str); 2] = [
    ("SYNAPSOR_TENANT_ID", "acme"),
    ("SYNAPSOR_PRINCIPAL", "agent_7"),
];

fn row(dir: &Path) -> String {
    rusqlite::Connection::open(dir.join("app.db"))
        .unwrap()
        .query_row("SELECT late_fee_cents || ':' || COALESCE(waiver_reason, '-') || ':' || updated_at FROM invoices WHERE id = 'INV-1'", [], |r| r.get(0))
        .unwrap()
}

fn json_of(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

#[test]
fn the_whole_review_loop_through_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    setup(dir);
    let run = airlock(
        dir,
        &[
            "propose",
            "billing.propose_waiver",
            "--json",
            r#"{"invoice_id":"INV-1","reason":"goodwill"}"#,
        ],
        &AGENT,
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let proposal_id = json_of(&run.stdout)["proposal"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Approval outside MCP: no confirmation without a terminal, wrong people refused.
    let run = airlock(
        dir,
        &["proposals", "approve", "latest", "--actor", "dana"],
        &[],
    );
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("--yes"), "{}", run.stderr);
    let run = airlock(
        dir,
        &[
            "proposals",
            "approve",
            "latest",
            "--actor",
            "agent_7",
            "--yes",
        ],
        &[],
    );
    assert_eq!(run.code, 1);
    insta::assert_snapshot!("approve_self_refused", scrub(&run.stderr, dir));
    let run = airlock(
        dir,
        &["proposals", "approve", "latest", "--actor", "sam", "--yes"],
        &[],
    );
    assert_eq!(run.code, 1);
    insta::assert_snapshot!("approve_role_refused", scrub(&run.stderr, dir));
    // Applying before approval is refused.
    let run = airlock(dir, &["apply", "latest", "--actor", "dana"], &[]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("only an approved proposal"),
        "{}",
        run.stderr
    );
    let run = airlock(
        dir,
        &[
            "proposals",
            "approve",
            "latest",
            "--actor",
            "dana",
            "--yes",
            "--reason",
            "policy allows it",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!("approve", scrub(&run.stdout, dir));

    // A job file; every tampered copy is refused, the original is accepted.
    let run = airlock(
        dir,
        &[
            "proposals",
            "writeback-job",
            "latest",
            "--output",
            "job.json",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let job: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("job.json")).unwrap()).unwrap();
    for (pointer, value) in [
        ("/patch/late_fee_cents", json!(1)),
        ("/tenant_guard/value", json!("globex")),
        ("/idempotency_key", json!("x")),
        ("/conflict_guard/expected_value", json!("2030-01-01")),
    ] {
        let mut bad = job.clone();
        *bad.pointer_mut(pointer).unwrap() = value;
        std::fs::write(dir.join("bad.json"), bad.to_string()).unwrap();
        let run = airlock(dir, &["apply", "--job", "bad.json", "--actor", "dana"], &[]);
        assert_eq!(run.code, 1, "{pointer}: {}", run.stdout);
        assert!(
            run.stderr.contains("does not match"),
            "{pointer}: {}",
            run.stderr
        );
    }
    let run = airlock(
        dir,
        &["apply", "--job", "job.json", "--dry-run", "--actor", "dana"],
        &[],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.starts_with("Dry run passed"), "{}", run.stdout);
    assert_eq!(row(dir), "500:-:2026-11-01T10:00:00.000Z");

    let run = airlock(dir, &["apply", "--job", "job.json", "--actor", "dana"], &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    insta::assert_snapshot!("apply", scrub(&run.stdout, dir));
    let after = row(dir);
    assert!(after.starts_with("0:goodwill:2026-"), "{after}");
    assert_ne!(
        after, "0:goodwill:2026-11-01T10:00:00.000Z",
        "the version column did not advance"
    );

    let run = airlock(
        dir,
        &["apply", &proposal_id, "--actor", "dana", "--json"],
        &[],
    );
    assert_eq!(run.code, 0);
    assert_eq!(json_of(&run.stdout)["status"], "already_applied");
    assert_eq!(row(dir), after);

    let run = airlock(dir, &["receipts", "list", "--json"], &[]);
    let receipts = json_of(&run.stdout)["receipts"].as_array().unwrap().clone();
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0]["status"], "applied");
    let run = airlock(dir, &["receipts", "show", "rct_000001"], &[]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("hash valid: yes"), "{}", run.stdout);

    let run = airlock(dir, &["replay", "show", "latest"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!("replay", scrub(&run.stdout, dir));
    let run = airlock(
        dir,
        &[
            "replay",
            "export",
            &format!("replay_{proposal_id}"),
            "--output",
            "out/replay.json",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let replay: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/replay.json")).unwrap())
            .unwrap();
    assert_eq!(replay["receipts"].as_array().unwrap().len(), 1);
    let evidence_id = replay["evidence"][0]["evidence_bundle_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let run = airlock(
        dir,
        &[
            "evidence",
            "export",
            &evidence_id,
            "--output",
            "out/ev.json",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);

    // Reading never writes: the ledger file is byte-identical after read commands.
    let ledger_before = std::fs::read(dir.join("ledger.db")).unwrap();
    for args in [
        &["replay", "show", "latest"][..],
        &["proposals", "list"],
        &["receipts", "list"],
        &["ledger", "verify"],
        &["query-audit", "list"],
    ] {
        assert_eq!(airlock(dir, args, &[]).code, 0, "{args:?}");
    }
    assert_eq!(
        std::fs::read(dir.join("ledger.db")).unwrap(),
        ledger_before,
        "a read command changed the ledger"
    );

    let run = airlock(dir, &["ledger", "verify"], &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    // An edit behind the ledger's back is found.
    rusqlite::Connection::open(dir.join("ledger.db"))
        .unwrap()
        .execute("UPDATE receipts SET receipt_json = replace(receipt_json, '\"rows_affected\":1', '\"rows_affected\":0')", [])
        .unwrap();
    let run = airlock(dir, &["ledger", "verify", "--json"], &[]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(
        json_of(&run.stdout)["first_break"]["code"],
        "RECORD_HASH_MISMATCH"
    );
}

#[test]
fn reject_needs_a_reason_and_ends_the_proposal() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    setup(dir);
    let run = airlock(
        dir,
        &[
            "propose",
            "billing.propose_waiver",
            "--json",
            r#"{"invoice_id":"INV-1","reason":"x"}"#,
        ],
        &AGENT,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = airlock(
        dir,
        &["proposals", "reject", "latest", "--actor", "dana", "--yes"],
        &[],
    );
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("--reason"), "{}", run.stderr);
    let run = airlock(
        dir,
        &[
            "proposals",
            "reject",
            "latest",
            "--actor",
            "dana",
            "--yes",
            "--reason",
            "not justified",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = airlock(
        dir,
        &["proposals", "approve", "latest", "--actor", "dana", "--yes"],
        &[],
    );
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("is rejected"), "{}", run.stderr);
    let run = airlock(dir, &["apply", "latest", "--actor", "dana"], &[]);
    assert_eq!(run.code, 1);
    assert_eq!(row(dir), "500:-:2026-11-01T10:00:00.000Z");
}

#[test]
fn writeback_migration_and_grants_for_a_dba() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    setup(dir);
    for engine in ["postgres", "mysql", "sqlite"] {
        let run = airlock(dir, &["writeback", "migration", "--engine", engine], &[]);
        assert_eq!(run.code, 0);
        insta::assert_snapshot!(format!("migration_{engine}"), run.stdout);
    }
    // Grants come from the config: column-scoped UPDATE on what each sql_update capability
    // patches. Our example apps per engine (the handler example's http_handler capability
    // needs no grant), then, in the compatibility tier, the original's.
    let ours = common::examples_dir();
    let mut cases: Vec<(String, std::path::PathBuf, &str, &str)> = [
        ("studio-postgres", "postgres", "studio_writer"),
        ("parcels-mysql", "mysql", "depot_writer"),
        ("tutoring-handler-postgres", "postgres", "tutoring_writer"),
    ]
    .into_iter()
    .map(|(name, engine, role)| {
        let config = ours.join(name).join(common::EXAMPLE_CONFIG);
        (name.to_owned(), config, engine, role)
    })
    .collect();
    if let Some(originals) = common::original_examples_dir("grants for the original examples") {
        for (name, engine) in [
            ("mcp-postgres-support", "postgres"),
            ("mcp-mysql-orders", "mysql"),
            ("support-billing-agent", "postgres"),
        ] {
            let config = originals.join(name).join(common::ORIGINAL_CONFIG);
            cases.push((name.to_owned(), config, engine, "synapsor_writer"));
        }
    }
    for (example, config, engine, role) in cases {
        let run = airlock(
            dir,
            &[
                "writeback",
                "grants",
                "--config",
                config.to_str().unwrap(),
                "--engine",
                engine,
                "--writer-role",
                role,
            ],
            &[],
        );
        assert_eq!(run.code, 0, "{example}: {}", run.stderr);
        insta::assert_snapshot!(format!("grants_{example}"), run.stdout);
    }
    // This folder's config writes to SQLite only: nothing to grant on Postgres.
    let run = airlock(
        dir,
        &[
            "writeback",
            "grants",
            "--engine",
            "postgres",
            "--writer-role",
            "airlock_writer",
        ],
        &[],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("no sql_update proposal capability on a postgres source"),
        "{}",
        run.stderr
    );
    let run = airlock(
        dir,
        &[
            "writeback",
            "grants",
            "--engine",
            "mysql",
            "--writer-role",
            "x; DROP TABLE y",
        ],
        &[],
    );
    assert_eq!(run.code, 1);
}

#[test]
fn the_demo_runs_the_whole_loop_without_services() {
    let tmp = tempfile::tempdir().unwrap();
    let run = airlock(tmp.path(), &["demo", "--no-pause"], &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    insta::assert_snapshot!("demo", scrub(&run.stdout, tmp.path()));
    // A rerun resets its own folder; a folder it did not create is refused.
    assert_eq!(
        airlock(tmp.path(), &["demo", "--no-pause", "--json"], &[]).code,
        0
    );
    std::fs::create_dir(tmp.path().join("mine")).unwrap();
    let run = airlock(tmp.path(), &["demo", "--dir", "mine"], &[]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("not created by `airlock demo`"),
        "{}",
        run.stderr
    );
}
