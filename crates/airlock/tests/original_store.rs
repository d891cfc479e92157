//! A store written by Synapsor Runner (`.synapsor/local.db`, the original's own tables) is
//! recognised and refused with a clear message by the real binary, on reading and writing
//! paths alike, and the file is left byte for byte as it was; `airlock ledger import`
//! migrates it in place (after a backup), and Airlock carries on from the imported history.

mod common;

use std::path::Path;

use common::airlock;

fn original_store(dir: &Path) -> std::path::PathBuf {
    let path = dir.join(".synapsor/local.db");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(include_str!("fixtures/original_store.sql"))
        .unwrap();
    path
}

#[test]
fn an_original_store_is_recognised_and_left_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let store = original_store(dir);
    let before = std::fs::read(&store).unwrap();
    let run = airlock(dir, &["demo", "--no-pause", "--dir", "story"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let config = dir.join("story/airlock.json");
    let store_arg = store.to_str().unwrap();
    for args in [
        vec!["--store", store_arg, "proposals", "list"],
        vec!["--store", store_arg, "ledger", "verify"],
        // A writing path: a read tool call records evidence into the store.
        vec![
            "--config",
            config.to_str().unwrap(),
            "--store",
            store_arg,
            "smoke",
            "call",
            "billing.inspect_subscription",
            "--json",
            r#"{"subscription_id":"SUB-1001"}"#,
        ],
    ] {
        let run = airlock(dir, &args, &[]);
        assert_eq!(run.code, 1, "{args:?}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains("written by Synapsor Runner"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(run.stderr.contains("hint:"), "{}", run.stderr);
        assert!(
            run.stderr.contains("airlock ledger import --store"),
            "{}",
            run.stderr
        );
        assert!(
            !run.stderr.contains("already exists"),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert_eq!(
        std::fs::read(&store).unwrap(),
        before,
        "the store was changed"
    );
    for side in ["local.db-wal", "local.db.anchor"] {
        assert!(
            !dir.join(".synapsor").join(side).exists(),
            "{side} appeared"
        );
    }
}

/// Proposals in the fixture, by what the original did with them.
const APPLIED: &str = "wrp_01a24b65c7f1ef18b0ec";
const APPROVED: &str = "wrp_01a24b65c83041a1a18e";
const PENDING: &str = "wrp_01a24b65c85578423ad0";
const REJECTED: &str = "wrp_01a24b65c8688eedf00b";

fn files_beside(store: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(store.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn json(run: &common::Run) -> serde_json::Value {
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

#[test]
fn import_copies_every_record_chains_it_and_keeps_a_backup() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let store = original_store(dir);
    let before = std::fs::read(&store).unwrap();
    let s = store.to_str().unwrap();
    let report = json(&airlock(
        dir,
        &["ledger", "import", "--store", s, "--json"],
        &[],
    ));
    for (table, n) in [
        ("proposals", 4),
        ("evidence_bundles", 5),
        ("query_audit", 5),
        ("approvals", 3),
        ("writeback_jobs", 1),
        ("receipts", 1),
        ("events", 20),
    ] {
        assert_eq!(report[table], n, "{table}: {report}");
    }
    assert_eq!(report["original_schema_version"], 1);
    let backup = Path::new(report["backup"].as_str().unwrap());
    let name = backup.file_name().unwrap().to_str().unwrap();
    assert!(name.starts_with("local.db.synapsor-backup-"), "{name}");
    assert_eq!(std::fs::read(backup).unwrap(), before, "the backup differs");

    let verify = json(&airlock(
        dir,
        &["--store", s, "ledger", "verify", "--json"],
        &[],
    ));
    assert_eq!(verify["ok"], true, "{verify}");
    assert_eq!(verify["events_checked"], 20, "{verify}");
    // The imported records are in the search index at once (no server need index them).
    let stats = json(&airlock(
        dir,
        &["--store", s, "ledger", "stats", "--json"],
        &[],
    ));
    assert_eq!(stats["stats"]["search_unindexed"], 0, "{stats}");
    let events = json(&airlock(
        dir,
        &["--store", s, "replay", "show", APPLIED, "--json"],
        &[],
    ));
    let kinds: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "proposal_created",
            "evidence_recorded",
            "query_audited",
            "proposal_approved",
            "writeback_job_recorded",
            "writeback_applied"
        ]
    );

    let list = airlock(dir, &["--store", s, "proposals", "list"], &[]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    for (id, state) in [
        (APPLIED, "applied"),
        (APPROVED, "approved"),
        (PENDING, "pending_review"),
        (REJECTED, "rejected"),
    ] {
        let line = list
            .stdout
            .lines()
            .find(|l| l.contains(id))
            .unwrap_or_else(|| panic!("{id} missing: {}", list.stdout));
        assert!(line.contains(state), "{line}");
        let show = json(&airlock(
            dir,
            &["--store", s, "proposals", "show", id, "--json"],
            &[],
        ));
        assert_eq!(
            show["proposal"]["state"]
                .as_str()
                .or(show["state"].as_str()),
            Some(state),
            "{show}"
        );
    }

    // The ledger's first event says where the history came from.
    let conn = rusqlite::Connection::open(&store).unwrap();
    let (kind, payload): (String, String) = conn
        .query_row(
            "SELECT kind, payload_json FROM events WHERE seq = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(kind, "ledger_imported");
    assert!(
        payload.contains("imported from Synapsor Runner store, 19 records"),
        "{payload}"
    );
    assert!(
        payload.contains(r#""original_schema_version":1"#),
        "{payload}"
    );
    // The original's tables are kept, renamed.
    let kept: i64 = conn
        .query_row("SELECT count(*) FROM synapsor_proposals", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kept, 4);

    // A second import finds an Airlock ledger and refuses, changing nothing.
    let again = airlock(dir, &["ledger", "import", "--store", s], &[]);
    assert_eq!(again.code, 1, "{}", again.stdout);
    assert!(
        again.stderr.contains("not a Synapsor Runner store"),
        "{}",
        again.stderr
    );
}

fn subscription(db: &Path, id: &str) -> (i64, i64) {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row(
            "SELECT discount_pct, row_version FROM subscriptions WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}

#[test]
fn an_imported_approval_applies_once_and_an_applied_proposal_is_never_written_again() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let store = original_store(dir);
    let run = airlock(dir, &["demo", "--no-pause", "--dir", "story"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let s = store.to_str().unwrap();
    let config = dir.join("story/airlock.json");
    let c = config.to_str().unwrap();
    let app = dir.join("story/app.db");
    json(&airlock(
        dir,
        &["ledger", "import", "--store", s, "--json"],
        &[],
    ));

    let before_1001 = subscription(&app, "SUB-1001");
    let apply = airlock(
        dir,
        &[
            "--config", c, "--store", s, "apply", APPROVED, "--actor", "x",
        ],
        &[],
    );
    assert_eq!(apply.code, 0, "{}{}", apply.stdout, apply.stderr);
    assert_eq!(subscription(&app, "SUB-1001"), (20, before_1001.1 + 1));

    let before_1002 = subscription(&app, "SUB-1002");
    let again = airlock(
        dir,
        &[
            "--config", c, "--store", s, "apply", APPLIED, "--actor", "x",
        ],
        &[],
    );
    assert!(
        again
            .stdout
            .contains("Already applied; nothing was written again"),
        "{}{}",
        again.stdout,
        again.stderr
    );
    assert_eq!(subscription(&app, "SUB-1002"), before_1002, "written twice");
    let verify = json(&airlock(
        dir,
        &["--store", s, "ledger", "verify", "--json"],
        &[],
    ));
    assert_eq!(verify["ok"], true, "{verify}");
}

#[test]
fn a_row_that_cannot_be_mapped_stops_the_import_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let store = original_store(dir);
    rusqlite::Connection::open(&store)
        .unwrap()
        .execute_batch(
            "INSERT INTO proposals (proposal_id, proposal_version, proposal_hash, action, state,
                tenant_id, business_object, object_id, source_kind, source_id, source_schema,
                source_table, change_set_json, created_at, updated_at)
             VALUES ('wrp_broken', 1, 'sha256:00', 'update', 'pending_review', 'northwind',
                'subscriptions', 'SUB-1001', 'sqlite', 'demo_app', 'main', 'subscriptions',
                '{\"note\":\"not a change set\"}', '2026-12-01T00:00:00Z', '2026-12-01T00:00:00Z');",
        )
        .unwrap();
    let before = std::fs::read(&store).unwrap();
    let files = files_beside(&store);
    let run = airlock(
        dir,
        &["ledger", "import", "--store", store.to_str().unwrap()],
        &[],
    );
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("cannot import proposals row wrp_broken"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("left unchanged"), "{}", run.stderr);
    assert_eq!(
        std::fs::read(&store).unwrap(),
        before,
        "the store was changed"
    );
    assert_eq!(
        files_beside(&store),
        files,
        "files appeared beside the store"
    );
}
