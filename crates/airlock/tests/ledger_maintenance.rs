//! `ledger stats|backup|prune|vacuum|reset|migrate` and the original's `store` names, through
//! the real binary on a ledger written by `airlock demo`.

mod common;

use std::path::{Path, PathBuf};

use common::{Run, airlock};
use serde_json::Value;

fn demo(dir: &Path) -> PathBuf {
    let run = airlock(dir, &["demo", "--no-pause", "--dir", "story"], &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    dir.join("story/ledger.db")
}

fn on(dir: &Path, store: &Path, args: &[&str]) -> Run {
    let mut all = vec!["--store", store.to_str().unwrap()];
    all.extend_from_slice(args);
    airlock(dir, &all, &[])
}

fn json(run: &Run) -> Value {
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

#[test]
fn stats_backup_and_a_prune_that_keeps_proof() {
    let dir = tempfile::tempdir().unwrap();
    let store = demo(dir.path());
    let stats = json(&on(dir.path(), &store, &["ledger", "stats", "--json"]));
    let s = &stats["stats"];
    assert_eq!(s["counts"]["proposals"], 2, "{stats:#}");
    assert!(s["file_bytes"].as_u64().unwrap() > 0);
    assert!(s["head"]["seq"].as_i64().unwrap() > 0);
    assert!(s["oldest"].is_string() && s["newest"].is_string());
    // The original's name prints the same.
    let store_stats = json(&on(dir.path(), &store, &["store", "stats", "--json"]));
    assert_eq!(store_stats["stats"]["counts"], s["counts"]);

    // A backup verifies from another folder, with nothing but the file.
    let backup = dir.path().join("elsewhere/ledger-copy.db");
    let made = json(&on(
        dir.path(),
        &store,
        &["ledger", "backup", backup.to_str().unwrap(), "--json"],
    ));
    assert_eq!(made["head"], s["head"]);
    let other = tempfile::tempdir().unwrap();
    let verified = json(&on(other.path(), &backup, &["ledger", "verify", "--json"]));
    assert_eq!(verified["ok"], true, "{verified:#}");
    assert!(
        verified["anchors_checked"].as_u64().unwrap() > 0,
        "{verified:#}"
    );
    let refused = on(
        dir.path(),
        &store,
        &["ledger", "backup", backup.to_str().unwrap()],
    );
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("already exists"),
        "{}",
        refused.stderr
    );

    // Dry runs change nothing: `ledger prune --dry-run`, and `store prune` without --yes.
    let planned = json(&on(
        dir.path(),
        &store,
        &[
            "ledger",
            "prune",
            "--older-than",
            "0d",
            "--dry-run",
            "--json",
        ],
    ));
    assert_eq!(planned["dry_run"], true);
    assert_eq!(planned["plan"]["removes"]["proposal"], 1, "{planned:#}");
    // It removes most of the demo's records: their search indexes are set aside and rebuilt.
    let set_aside = planned["plan"]["search_set_aside"].clone();
    assert!(
        set_aside
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i == "search_evidence"),
        "{planned:#}"
    );
    let dry_text = on(
        dir.path(),
        &store,
        &["ledger", "prune", "--older-than", "0d", "--dry-run"],
    );
    assert!(
        dry_text
            .stdout
            .contains("would rebuild the search index of what is left: search_proposals"),
        "{}",
        dry_text.stdout
    );
    let store_dry = on(
        dir.path(),
        &store,
        &["store", "prune", "--older-than", "0d"],
    );
    assert_eq!(store_dry.code, 0, "{}", store_dry.stderr);
    assert!(
        store_dry.stdout.contains("rerun with --yes"),
        "{}",
        store_dry.stdout
    );
    let unchanged = json(&on(dir.path(), &store, &["ledger", "stats", "--json"]));
    assert_eq!(unchanged["stats"]["counts"], s["counts"]);

    // The prune: the applied proposal goes, the one in conflict (still open) stays.
    let pruned = json(&on(
        dir.path(),
        &store,
        &["ledger", "prune", "--older-than", "0d", "--json"],
    ));
    let checkpoint = pruned["report"]["checkpoint_seq"].as_i64().unwrap();
    assert_eq!(pruned["report"]["search_rebuilt"], set_aside, "{pruned:#}");
    let verified = json(&on(dir.path(), &store, &["ledger", "verify", "--json"]));
    assert_eq!(verified["ok"], true, "{verified:#}");
    assert_eq!(verified["checkpoint"]["event_seq"], checkpoint);
    let after = json(&on(dir.path(), &store, &["ledger", "stats", "--json"]));
    assert_eq!(after["stats"]["counts"]["proposals"], 1, "{after:#}");
    assert_eq!(after["stats"]["proposals_by_state"]["conflict"], 1);
    // Rebuilt: nothing set aside, every record left indexed, and the kept proposal found.
    assert_eq!(after["stats"]["search_set_aside"], serde_json::json!([]));
    assert_eq!(after["stats"]["search_unindexed"], 0, "{after:#}");
    let kept = after_listing(dir.path(), &store);
    let found = json(&on(
        dir.path(),
        &store,
        &["activity", "search", &kept, "--json"],
    ));
    assert!(
        found.to_string().contains(&kept),
        "{kept} not found after the prune: {found:#}"
    );
    let listed = json(&on(dir.path(), &store, &["proposals", "list", "--json"]));
    assert_eq!(
        listed["proposals"].as_array().map(Vec::len),
        Some(1),
        "{listed:#}"
    );
    let text = on(dir.path(), &store, &["ledger", "verify"]);
    assert_eq!(text.code, 0, "{}", text.stdout);
    let vacuumed = json(&on(dir.path(), &store, &["ledger", "vacuum", "--json"]));
    assert!(vacuumed["vacuum"]["bytes_after"].as_u64().unwrap() > 0);
    assert_eq!(
        json(&on(dir.path(), &store, &["ledger", "verify", "--json"]))["ok"],
        true
    );
}

/// The object id of the one proposal the demo's prune keeps.
fn after_listing(dir: &Path, store: &Path) -> String {
    let listed = json(&on(dir, store, &["proposals", "list", "--json"]));
    listed["proposals"][0]["object_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{listed:#}"))
        .to_owned()
}

#[test]
fn bad_durations_and_missing_ledgers_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let store = demo(dir.path());
    for bad in ["90", "1w", "-3d", "1.5d", "'; DROP TABLE events; --"] {
        let flag = format!("--older-than={bad}");
        let run = on(dir.path(), &store, &["ledger", "prune", &flag]);
        assert_ne!(run.code, 0, "{bad}");
        assert!(
            run.stderr.contains("not a duration"),
            "{bad}: {}",
            run.stderr
        );
        assert!(run.stderr.contains("hint:"), "{}", run.stderr);
    }
    let missing = on(dir.path(), &store, &["ledger", "prune"]);
    assert!(
        missing.stderr.contains("--older-than"),
        "{}",
        missing.stderr
    );
    let nowhere = dir.path().join("no/such.db");
    let run = on(
        dir.path(),
        &nowhere,
        &["ledger", "prune", "--older-than", "1d"],
    );
    assert_ne!(run.code, 0);
    assert!(!nowhere.exists(), "a prune created a ledger");
    let run = on(dir.path(), &nowhere, &["ledger", "vacuum"]);
    assert_ne!(run.code, 0);
    assert!(!nowhere.exists(), "a vacuum created a ledger");
}

/// Takes a ledger back to schema 7, as written before the search index (migration 8).
fn back_to_schema_7(store: &Path) {
    let db = rusqlite::Connection::open(store).unwrap();
    airlock_testkit::sqlite_ledger::back_to_schema_7(&db);
}

fn schema_version(store: &Path) -> i64 {
    rusqlite::Connection::open(store)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn migrate_applies_what_is_pending_and_a_dry_run_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = demo(dir.path());
    back_to_schema_7(&store);
    let before = std::fs::read(&store).unwrap();

    // A dry run lists versions 8, 9 and 10 and leaves the file as it was.
    let planned = json(&on(
        dir.path(),
        &store,
        &["ledger", "migrate", "--dry-run", "--json"],
    ));
    assert_eq!(planned["dry_run"], true, "{planned:#}");
    assert_eq!(planned["current"], false);
    assert_eq!(planned["from"], 7);
    assert_eq!(planned["to"], 10);
    let pending = planned["pending"].as_array().unwrap();
    assert_eq!(pending.len(), 3, "{planned:#}");
    assert_eq!(pending[0]["version"], 8);
    assert_eq!(pending[1]["version"], 9);
    assert_eq!(pending[2]["version"], 10);
    assert!(
        pending[0]["what"]
            .as_str()
            .unwrap()
            .contains("search index")
    );
    let told = on(dir.path(), &store, &["ledger", "migrate", "--dry-run"]);
    assert_eq!(told.code, 0, "{}", told.stderr);
    assert!(
        told.stdout.contains("3 migration(s) pending"),
        "{}",
        told.stdout
    );
    assert!(
        told.stdout.contains("nothing was changed"),
        "{}",
        told.stdout
    );
    assert_eq!(
        std::fs::read(&store).unwrap(),
        before,
        "a dry run changed the file"
    );
    assert_eq!(schema_version(&store), 7);

    // A failure half-way (an object in the way of the search index) leaves it as it was.
    rusqlite::Connection::open(&store)
        .unwrap()
        .execute_batch("CREATE TABLE search_receipts (x)")
        .unwrap();
    let blocked = std::fs::read(&store).unwrap();
    let failed = on(dir.path(), &store, &["ledger", "migrate"]);
    assert_eq!(failed.code, 1, "{}{}", failed.stdout, failed.stderr);
    assert!(
        failed.stderr.contains("search_receipts"),
        "{}",
        failed.stderr
    );
    assert_eq!(
        std::fs::read(&store).unwrap(),
        blocked,
        "a failed migration changed the file"
    );
    assert_eq!(schema_version(&store), 7);
    rusqlite::Connection::open(&store)
        .unwrap()
        .execute_batch("DROP TABLE search_receipts")
        .unwrap();

    // The migration: from 7 to 10, three steps, progress on stderr; the ledger still verifies
    // and its search finds what the demo recorded.
    let run = on(dir.path(), &store, &["ledger", "migrate", "--json"]);
    let done = json(&run);
    assert_eq!(done["dry_run"], false, "{done:#}");
    assert_eq!(done["current"], false);
    assert_eq!(
        (done["from"].as_i64(), done["to"].as_i64()),
        (Some(7), Some(10))
    );
    let steps = done["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3, "{done:#}");
    assert_eq!(steps[0]["version"], 8);
    assert_eq!(steps[1]["version"], 9);
    assert_eq!(steps[2]["version"], 10);
    assert!(steps[0]["elapsed_ms"].is_u64() && done["elapsed_ms"].is_u64());
    assert!(
        run.stderr.contains("migration 8: search index of"),
        "{}",
        run.stderr
    );
    assert_eq!(schema_version(&store), 10);
    let verified = json(&on(dir.path(), &store, &["ledger", "verify", "--json"]));
    assert_eq!(verified["ok"], true, "{verified:#}");

    // Already current: said so, in both forms, and nothing done.
    let again = json(&on(dir.path(), &store, &["ledger", "migrate", "--json"]));
    assert_eq!(again["current"], true, "{again:#}");
    assert_eq!(again["steps"].as_array().unwrap().len(), 0);
    assert_eq!(
        (again["from"].as_i64(), again["to"].as_i64()),
        (Some(10), Some(10))
    );
    let told = on(dir.path(), &store, &["ledger", "migrate"]);
    assert_eq!(told.code, 0, "{}", told.stderr);
    assert!(told.stdout.contains("is current"), "{}", told.stdout);
    let planned = json(&on(
        dir.path(),
        &store,
        &["ledger", "migrate", "--dry-run", "--json"],
    ));
    assert_eq!(planned["current"], true, "{planned:#}");
    assert_eq!(planned["pending"].as_array().unwrap().len(), 0);

    // No ledger there: named, and none created.
    let nowhere = dir.path().join("no/such.db");
    for args in [
        &["ledger", "migrate"][..],
        &["ledger", "migrate", "--dry-run"],
    ] {
        let run = on(dir.path(), &nowhere, args);
        assert_ne!(run.code, 0, "{args:?}");
        assert!(run.stderr.contains("such.db"), "{}", run.stderr);
        assert!(!nowhere.exists(), "{args:?} created a ledger");
    }
}

#[test]
fn reset_refuses_without_yes_off_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let store = demo(dir.path());
    let refused = on(dir.path(), &store, &["ledger", "reset"]);
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    assert!(store.exists());
    let reset = json(&on(
        dir.path(),
        &store,
        &["store", "reset", "--yes", "--json"],
    ));
    assert_eq!(reset["ok"], true);
    assert!(!store.exists());
    assert!(!dir.path().join("story/ledger.db.anchor").exists());
    let removed = reset["removed"].as_array().unwrap();
    assert!(removed.len() >= 2, "{reset:#}");
}

/// Verifies `export` with `ledger verify --file` from a folder with no config and no ledger.
fn verify_file(export: &Path) -> (Run, Value) {
    let elsewhere = tempfile::tempdir().unwrap();
    let copy = elsewhere.path().join("copy.jsonl");
    std::fs::copy(export, &copy).unwrap();
    let run = airlock(
        elsewhere.path(),
        &["ledger", "verify", "--file", "copy.jsonl", "--json"],
        &[],
    );
    let report = serde_json::from_str(&run.stdout).unwrap_or(Value::Null);
    (run, report)
}

#[test]
fn an_export_verifies_offline_and_tampering_names_the_first_bad_record() {
    let dir = tempfile::tempdir().unwrap();
    let store = demo(dir.path());
    let export = dir.path().join("out/ledger.jsonl");
    std::fs::create_dir_all(export.parent().unwrap()).unwrap();
    let run = on(
        dir.path(),
        &store,
        &[
            "ledger",
            "export",
            "--format",
            "jsonl",
            "--output",
            export.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let (run, report) = verify_file(&export);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(report["ok"], true);
    let head =
        json(&on(dir.path(), &store, &["ledger", "stats", "--json"]))["stats"]["head"].clone();
    assert_eq!(report["head"], head, "the export reaches the ledger's head");

    let text = std::fs::read_to_string(&export).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() > 5);
    let write = |name: &str, lines: &[String]| {
        let p = dir.path().join(name);
        std::fs::write(&p, lines.join("\n") + "\n").unwrap();
        p
    };
    let owned: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();

    // A record changed (the third event's record gets a new field value).
    let mut edited = owned.clone();
    let mut line: Value = serde_json::from_str(&edited[3]).unwrap();
    let seq = line["event"]["seq"].as_i64().unwrap();
    line["record"]["created_at"] = Value::String("2020-01-01T00:00:00.000Z".into());
    edited[3] = line.to_string();
    let (run, report) = verify_file(&write("edited.jsonl", &edited));
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(report["first_break"]["code"], "RECORD_HASH_MISMATCH");
    assert_eq!(report["first_break"]["seq"], seq);
    assert!(
        report["first_break"]["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("line 4, event {seq}")),
        "{report:#}"
    );
    // The text form names it too.
    let elsewhere = tempfile::tempdir().unwrap();
    let p = dir.path().join("edited.jsonl");
    let text_run = airlock(
        elsewhere.path(),
        &["ledger", "verify", "--file", p.to_str().unwrap()],
        &[],
    );
    assert_eq!(text_run.code, 1);
    assert!(
        text_run.stdout.contains(&format!("event #{seq}")),
        "{}",
        text_run.stdout
    );

    // An event's own field changed.
    let mut edited = owned.clone();
    let mut line: Value = serde_json::from_str(&edited[2]).unwrap();
    line["event"]["actor"] = Value::String("mallory".into());
    edited[2] = line.to_string();
    let (_, report) = verify_file(&write("actor.jsonl", &edited));
    assert_eq!(report["first_break"]["code"], "EVENT_HASH_MISMATCH");

    // A line removed from the middle, and the last line cut off.
    let mut removed = owned.clone();
    removed.remove(3);
    let (_, report) = verify_file(&write("removed.jsonl", &removed));
    assert_eq!(report["first_break"]["code"], "SEQUENCE_GAP");
    let cut = &owned[..owned.len() - 1];
    let (_, report) = verify_file(&write("cut.jsonl", cut));
    assert_eq!(report["first_break"]["code"], "EXPORT_TRUNCATED");

    // Not an export at all, and a missing file.
    let (run, report) = verify_file(&write("junk.jsonl", &["{\"hello\": 1}".to_owned()]));
    assert_eq!(run.code, 1);
    assert_eq!(report["first_break"]["code"], "EXPORT_INVALID");
    let run = airlock(
        dir.path(),
        &["ledger", "verify", "--file", "nope.jsonl"],
        &[],
    );
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("ledger export"), "{}", run.stderr);

    // A range: the last hour is everything; a bad --from is named.
    let recent = on(dir.path(), &store, &["ledger", "export", "--since", "1h"]);
    assert_eq!(recent.code, 0, "{}", recent.stderr);
    assert_eq!(recent.stdout.lines().count(), lines.len());
    let bad = on(
        dir.path(),
        &store,
        &["ledger", "export", "--from", "yesterday"],
    );
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("RFC 3339"), "{}", bad.stderr);

    // After a prune the export starts after the cut and still verifies.
    json(&on(
        dir.path(),
        &store,
        &["ledger", "prune", "--older-than", "0d", "--json"],
    ));
    let after = on(dir.path(), &store, &["ledger", "export"]);
    let p = dir.path().join("after.jsonl");
    std::fs::write(&p, &after.stdout).unwrap();
    let (run, report) = verify_file(&p);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        report["events_checked"].as_u64().unwrap() >= 1,
        "{report:#}"
    );
}

#[test]
fn a_replay_exports_as_markdown_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let store = demo(dir.path());
    let export = |format: &str, name: &str| {
        let path = dir.path().join(name);
        let args = ["replay", "export", "latest", "--format", format, "--output"];
        let mut args: Vec<&str> = args.to_vec();
        args.push(path.to_str().unwrap());
        let run = on(dir.path(), &store, &args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        std::fs::read_to_string(&path).unwrap()
    };
    let page = export("markdown", "out/replay.md");
    assert!(page.starts_with("# Replay "), "{page}");
    for heading in [
        "## 1. What the agent saw",
        "## 4. What happened",
        "| seq | kind |",
    ] {
        assert!(page.contains(heading), "{heading} missing:\n{page}");
    }
    let js = export("json", "replay.json");
    let v: Value = serde_json::from_str(&js).unwrap();
    assert!(v["events"].as_array().unwrap().len() > 2);
    let refused = on(
        dir.path(),
        &store,
        &[
            "evidence", "export", "x", "--format", "markdown", "--output", "e.md",
        ],
    );
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("JSON only"), "{}", refused.stderr);
    let bad = on(
        dir.path(),
        &store,
        &[
            "replay", "export", "latest", "--format", "pdf", "--output", "x.pdf",
        ],
    );
    assert_eq!(bad.code, 2, "{}", bad.stderr);
}

#[test]
fn storage_retention_in_the_config_is_the_default_age() {
    let dir = tempfile::tempdir().unwrap();
    demo(dir.path());
    let config = dir.path().join("story/airlock.json");
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    doc["storage"]["retention"] = Value::String("0d".into());
    std::fs::write(&config, doc.to_string()).unwrap();
    let story = dir.path().join("story");
    let valid = airlock(&story, &["config", "validate"], &[]);
    assert_eq!(valid.code, 0, "{}{}", valid.stdout, valid.stderr);
    let run = airlock(&story, &["ledger", "prune", "--dry-run", "--json"], &[]);
    let plan = json(&run);
    assert_eq!(plan["plan"]["removes"]["proposal"], 1, "{plan:#}");

    doc["storage"]["retention"] = Value::String("ninety days".into());
    std::fs::write(&config, doc.to_string()).unwrap();
    let run = airlock(&story, &["ledger", "prune", "--dry-run"], &[]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("storage.retention"), "{}", run.stderr);
}
