//! A store written by Synapsor Runner (`.synapsor/local.db`, the original's own tables) is
//! recognised and refused with a clear message by the real binary, on reading and writing
//! paths alike, and the file is left byte for byte as it was.

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
