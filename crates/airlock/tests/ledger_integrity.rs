//! Tampering with a real ledger file behind Airlock's back, caught by the real binary's
//! `ledger verify`: an edit of any column of any ledger table, a consistent removal of the
//! chain's tail, and a consistent rewrite of the whole chain (the last two through the anchor
//! file). Also: a ledger written before events carried proposal rows still verifies, and keeps
//! verifying as new events are added to it.

mod common;

use std::path::{Path, PathBuf};

use common::{Run, airlock};
use rusqlite::types::Value as SqlValue;
use serde_json::{Value, json};

const TABLES: [&str; 7] = [
    "proposals",
    "evidence_bundles",
    "query_audit",
    "approvals",
    "writeback_jobs",
    "receipts",
    "events",
];

/// Chained tables the demo writes no rows to; their tamper tests live with the feature
/// (`human_actions`: `shadow_cli.rs::ledger_verify_finds_an_edited_removed_or_unchained_human_action`).
const CHAINED_ELSEWHERE: [&str; 1] = ["human_actions"];

/// Runs `airlock demo` in `dir/story`: two proposals, one applied and one that ends in a
/// conflict receipt, the last event of the chain. Returns the story folder.
fn demo(dir: &Path) -> PathBuf {
    let run = airlock(dir, &["demo", "--no-pause", "--dir", "story"], &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    dir.join("story")
}

fn verify(dir: &Path, store: &Path, extra: &[&str]) -> (Run, Value) {
    let store = store.to_str().unwrap();
    let mut args = vec!["--store", store, "ledger", "verify", "--json"];
    args.extend_from_slice(extra);
    let run = airlock(dir, &args, &[]);
    let report = serde_json::from_str(&run.stdout).unwrap_or(Value::Null);
    (run, report)
}

fn broken_with(dir: &Path, store: &Path, extra: &[&str], code: &str) -> Value {
    let (run, report) = verify(dir, store, extra);
    assert_eq!(
        run.code, 1,
        "tampering went unnoticed: {}{}",
        run.stdout, run.stderr
    );
    assert_eq!(report["first_break"]["code"], code, "{report:#}");
    report
}

fn db(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

/// A copy of a ledger without its anchor or WAL, for tampering.
fn copy_ledger(from: &Path, to: &Path) {
    db(from)
        .execute("VACUUM INTO ?1", [to.to_str().unwrap()])
        .unwrap();
}

/// A different value of the same kind: numbers and flags flip between zero and non-zero,
/// JSON keeps its shape with its first leaf changed, other text gets a character appended.
fn tampered(value: &SqlValue) -> SqlValue {
    match value {
        SqlValue::Integer(0) => SqlValue::Integer(1000),
        SqlValue::Integer(_) => SqlValue::Integer(0),
        SqlValue::Real(r) => SqlValue::Real(r + 1.0),
        SqlValue::Null => SqlValue::Text("x".into()),
        SqlValue::Blob(b) => SqlValue::Blob([b.as_slice(), b"x"].concat()),
        SqlValue::Text(t) => match serde_json::from_str::<Value>(t) {
            Ok(mut v @ (Value::Object(_) | Value::Array(_))) => {
                assert!(change_first_leaf(&mut v), "no leaf in {t}");
                SqlValue::Text(v.to_string())
            }
            _ => SqlValue::Text(format!("{t}x")),
        },
    }
}

fn change_first_leaf(v: &mut Value) -> bool {
    match v {
        Value::Object(m) => m.values_mut().any(change_first_leaf),
        Value::Array(a) => a.iter_mut().any(change_first_leaf),
        Value::String(s) => {
            s.push('x');
            true
        }
        Value::Number(n) => {
            *v = json!(n.as_f64().unwrap_or(0.0) + 1.0);
            true
        }
        Value::Bool(b) => {
            *b = !*b;
            true
        }
        Value::Null => {
            *v = json!("x");
            true
        }
    }
}

fn columns(conn: &rusqlite::Connection, table: &str) -> Vec<String> {
    let mut stmt = conn
        .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Every table of a ledger is either covered column by column (`TABLES`, tested below) or
/// listed, with its reason, as outside the chain (`airlock_ledger::UNCHAINED_TABLES`). A new
/// table that is neither fails here.
#[test]
fn every_table_is_chained_or_declared_outside_the_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let story = demo(tmp.path());
    let conn = db(&story.join("ledger.db"));
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap();
    let tables: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for table in &tables {
        assert!(
            TABLES.contains(&table.as_str())
                || CHAINED_ELSEWHERE.contains(&table.as_str())
                || airlock_ledger::UNCHAINED_TABLES.contains(&table.as_str())
                || table.starts_with(airlock_ledger::SEARCH_INDEX_TABLE_PREFIX),
            "table {table} is neither covered by verify nor declared outside the chain"
        );
    }
    for table in airlock_ledger::UNCHAINED_TABLES {
        assert!(tables.iter().any(|t| t == table), "{table} exists");
        assert!(!TABLES.contains(table));
    }
}

#[test]
fn an_edit_of_any_column_of_any_ledger_table_is_found() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let story = demo(dir);
    let ledger = story.join("ledger.db");
    let mut unnoticed = Vec::new();
    let mut checked = 0;
    for table in TABLES {
        for column in columns(&db(&ledger), table) {
            let copy = dir.join(format!("{table}.{column}.db"));
            copy_ledger(&ledger, &copy);
            let conn = db(&copy);
            // An attacker is not bound by the ledger's foreign keys.
            conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
            // The newest row: for proposals and receipts, the one that ended in a conflict.
            let (rowid, old): (i64, SqlValue) = conn
                .query_row(
                    &format!("SELECT rowid, {column} FROM {table} ORDER BY rowid DESC LIMIT 1"),
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap();
            conn.execute(
                &format!("UPDATE {table} SET {column} = ?1 WHERE rowid = ?2"),
                rusqlite::params![tampered(&old), rowid],
            )
            .unwrap();
            drop(conn);
            let (run, report) = verify(dir, &copy, &[]);
            if run.code != 1 || report["ok"] != false {
                unnoticed.push(format!("{table}.{column}"));
            }
            checked += 1;
        }
    }
    assert!(checked >= 80, "only {checked} columns found");
    assert!(unnoticed.is_empty(), "edits not found: {unnoticed:?}");
}

#[test]
fn an_edited_updated_at_or_mutated_flag_is_found() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let ledger = demo(dir).join("ledger.db");
    for (edit, column) in [
        (
            "UPDATE proposals SET updated_at = '2020-01-01T00:00:00.000Z' WHERE state = 'conflict'",
            "updated_at",
        ),
        (
            "UPDATE proposals SET source_database_mutated = 1 WHERE state = 'conflict'",
            "source_database_mutated true",
        ),
        (
            "UPDATE proposals SET source_database_mutated = 0 WHERE state = 'applied'",
            "source_database_mutated false",
        ),
    ] {
        let copy = dir.join("copy.db");
        let _ = std::fs::remove_file(&copy);
        copy_ledger(&ledger, &copy);
        db(&copy).execute(edit, []).unwrap();
        let report = broken_with(dir, &copy, &[], "STATE_MISMATCH");
        let detail = report["first_break"]["detail"].as_str().unwrap();
        assert!(detail.contains(column), "{detail}");
    }
}

/// Removes the last event (the conflict receipt's) and its receipt, and rolls the proposal
/// back to the row the previous event left: a chain that is valid on its own.
fn remove_the_conflict_receipt(ledger: &Path) {
    let conn = db(ledger);
    let (seq, kind, subject): (i64, String, String) = conn
        .query_row(
            "SELECT seq, kind, subject_id FROM events ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(kind, "writeback_conflict");
    let (pid, payload): (String, String) = conn
        .query_row(
            "SELECT proposal_id, payload_json FROM events WHERE seq = ?1",
            [seq - 1],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let before: Value = serde_json::from_str(&payload).unwrap();
    let row = &before["proposal_row"];
    conn.execute_batch(&format!(
        "DELETE FROM events WHERE seq = {seq}; DELETE FROM receipts WHERE receipt_id = {subject};"
    ))
    .unwrap();
    conn.execute(
        "UPDATE proposals SET state = ?1, updated_at = ?2, source_database_mutated = ?3
         WHERE proposal_id = ?4",
        rusqlite::params![
            row["state"].as_str().unwrap(),
            row["updated_at"].as_str().unwrap(),
            row["source_database_mutated"].as_bool().unwrap(),
            pid
        ],
    )
    .unwrap();
}

#[test]
fn a_removed_tail_is_found_through_the_anchor() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let ledger = demo(dir).join("ledger.db");
    let anchor = dir.join("story/ledger.db.anchor");

    // Untouched: the anchor beside the ledger is used by default and covers the last event.
    let (run, report) = verify(dir, &ledger, &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(report["anchored_seq"], report["head"]["seq"], "{report:#}");
    assert_eq!(report["anchor_file"], anchor.to_str().unwrap());

    remove_the_conflict_receipt(&ledger);
    let report = broken_with(dir, &ledger, &[], "ANCHOR_TRUNCATED");
    assert_eq!(
        report["head"],
        Value::Null,
        "a broken chain has no trusted head"
    );

    // The attacker also removes the anchor beside the ledger: the chain alone looks fine, and
    // verify says it cannot see a removed tail; a copy kept elsewhere still catches it.
    let offsite = dir.join("offsite.anchor");
    std::fs::rename(&anchor, &offsite).unwrap();
    let store = ledger.to_str().unwrap();
    let run = airlock(dir, &["--store", store, "ledger", "verify"], &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("no anchor file"), "{}", run.stdout);
    broken_with(
        dir,
        &ledger,
        &["--anchor", offsite.to_str().unwrap()],
        "ANCHOR_TRUNCATED",
    );

    // An anchor named on the command line must exist and parse.
    let (run, _) = verify(dir, &ledger, &["--anchor", "missing.anchor"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("could not read the anchor file"),
        "{}",
        run.stderr
    );
    std::fs::write(dir.join("bad.anchor"), "12 not-a-hash yesterday\n").unwrap();
    let (run, _) = verify(dir, &ledger, &["--anchor", "bad.anchor"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("line 1"), "{}", run.stderr);
    assert!(run.stderr.contains("hint:"), "{}", run.stderr);
}

/// The chain's event hash, as an attacker who knows the format recomputes it.
fn event_hash(conn: &rusqlite::Connection, seq: i64, prev_hash: &str) -> String {
    let body: Value = conn
        .query_row(
            "SELECT kind, proposal_id, subject_kind, subject_id, actor, payload_json,
                    record_hash, created_at FROM events WHERE seq = ?1",
            [seq],
            |r| {
                Ok(json!({
                    "seq": seq,
                    "kind": r.get::<_, String>(0)?,
                    "proposal_id": r.get::<_, Option<String>>(1)?,
                    "subject_kind": r.get::<_, String>(2)?,
                    "subject_id": r.get::<_, String>(3)?,
                    "actor": r.get::<_, String>(4)?,
                    "payload": serde_json::from_str::<Value>(&r.get::<_, String>(5)?).unwrap(),
                    "record_hash": r.get::<_, String>(6)?,
                    "prev_hash": prev_hash,
                    "created_at": r.get::<_, String>(7)?,
                }))
            },
        )
        .unwrap();
    airlock_protocol::hash_json(&body)
}

#[test]
fn a_rewritten_chain_is_found_through_the_anchor() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let ledger = demo(dir).join("ledger.db");
    // Rename the approver of every approval everywhere it appears, then re-chain every event
    // from the first one changed: a ledger consistent in itself.
    let conn = db(&ledger);
    conn.execute_batch(
        "UPDATE approvals SET approver = 'mallory';
         UPDATE events SET actor = 'mallory' WHERE subject_kind = 'approval';",
    )
    .unwrap();
    let approvals: Vec<(i64, String)> = {
        let mut stmt = conn
            .prepare("SELECT seq, subject_id FROM events WHERE subject_kind = 'approval'")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    for (seq, id) in &approvals {
        let record: Value = conn
            .query_row(
                "SELECT approval_id, proposal_id, proposal_version, proposal_hash, approver,
                        role, status, reason, created_at, actor_source, role_verified
                 FROM approvals WHERE approval_id = ?1",
                [id],
                |r| {
                    let mut v = json!({
                        "approval_id": r.get::<_, i64>(0)?,
                        "proposal_id": r.get::<_, String>(1)?,
                        "proposal_version": r.get::<_, i64>(2)?,
                        "proposal_hash": r.get::<_, String>(3)?,
                        "approver": r.get::<_, String>(4)?,
                        "status": r.get::<_, String>(6)?,
                        "created_at": r.get::<_, String>(8)?,
                    });
                    for (i, key) in [(5, "role"), (7, "reason"), (9, "actor_source")] {
                        if let Some(s) = r.get::<_, Option<String>>(i)? {
                            v[key] = json!(s);
                        }
                    }
                    if let Some(b) = r.get::<_, Option<bool>>(10)? {
                        v["role_verified"] = json!(b);
                    }
                    Ok(v)
                },
            )
            .unwrap();
        conn.execute(
            "UPDATE events SET record_hash = ?1 WHERE seq = ?2",
            rusqlite::params![airlock_protocol::hash_json(&record), seq],
        )
        .unwrap();
    }
    let first = approvals.iter().map(|(s, _)| *s).min().unwrap();
    let last: i64 = conn
        .query_row("SELECT max(seq) FROM events", [], |r| r.get(0))
        .unwrap();
    let mut prev: String = conn
        .query_row("SELECT hash FROM events WHERE seq = ?1", [first - 1], |r| {
            r.get(0)
        })
        .unwrap();
    for seq in first..=last {
        let hash = event_hash(&conn, seq, &prev);
        conn.execute(
            "UPDATE events SET prev_hash = ?1, hash = ?2 WHERE seq = ?3",
            rusqlite::params![prev, hash, seq],
        )
        .unwrap();
        prev = hash;
    }
    drop(conn);

    // The chain alone cannot tell (no key signs it): without the anchor it verifies.
    let offsite = dir.join("offsite.anchor");
    std::fs::rename(dir.join("story/ledger.db.anchor"), &offsite).unwrap();
    let (run, _) = verify(dir, &ledger, &[]);
    assert_eq!(run.code, 0, "the rewrite is not consistent: {}", run.stdout);
    let report = broken_with(
        dir,
        &ledger,
        &["--anchor", offsite.to_str().unwrap()],
        "ANCHOR_MISMATCH",
    );
    assert!(report["first_break"]["seq"].as_i64().unwrap() >= first);
}

#[test]
fn a_ledger_written_before_proposal_rows_verifies_and_keeps_verifying() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // Today's demo gives the same config and app; its ledger is replaced by one that the
    // previous release wrote with the same demo (events without `proposal_row`, no anchor).
    let story = demo(dir);
    let ledger = story.join("ledger.db");
    for stale in [
        "ledger.db",
        "ledger.db.anchor",
        "ledger.db-wal",
        "ledger.db-shm",
    ] {
        let _ = std::fs::remove_file(story.join(stale));
    }
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ledger-schema2-before-proposal-rows.db");
    std::fs::copy(&fixture, &ledger).unwrap();
    let (run, report) = verify(dir, &ledger, &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(report["events_checked"], 15);

    // The old events still pin each proposal's row.
    let copy = dir.join("copy.db");
    copy_ledger(&ledger, &copy);
    db(&copy)
        .execute(
            "UPDATE proposals SET updated_at = '2020-01-01T00:00:00.000Z' WHERE state = 'applied'",
            [],
        )
        .unwrap();
    broken_with(dir, &copy, &[], "STATE_MISMATCH");

    // New events follow the old ones: approve the proposal that ended in a conflict again.
    let config = story.join("airlock.json");
    let config = config.to_str().unwrap();
    let pid: String = db(&ledger)
        .query_row(
            "SELECT proposal_id FROM proposals WHERE state = 'conflict'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let run = airlock(
        dir,
        &[
            "--config",
            config,
            "proposals",
            "approve",
            &pid,
            "--actor",
            "dana",
            "--yes",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let (run, report) = verify(dir, &ledger, &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(report["anchored_seq"], 16, "{report:#}");
    db(&ledger)
        .execute(
            "UPDATE proposals SET updated_at = '2020-01-01T00:00:00.000Z' WHERE proposal_id = ?1",
            [&pid],
        )
        .unwrap();
    broken_with(dir, &ledger, &[], "STATE_MISMATCH");
}

#[test]
fn tool_calls_from_a_short_command_are_anchored_when_it_exits() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let story = demo(dir);
    let config = story.join("airlock.json");
    let run = airlock(
        dir,
        &[
            "--config",
            config.to_str().unwrap(),
            "smoke",
            "call",
            "billing.inspect_subscription",
            "--json",
            r#"{"subscription_id":"SUB-1001"}"#,
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let (run, report) = verify(dir, &story.join("ledger.db"), &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    // The read's two events come after the demo's last lifecycle event, and are anchored too.
    assert_eq!(report["events_checked"], 17, "{report:#}");
    assert_eq!(report["head"]["seq"], 17, "{report:#}");
    assert_eq!(report["anchored_seq"], 17, "{report:#}");
}
