//! Retention against a live server: `airlock ledger prune` and `ledger backup` run while the
//! real `airlock mcp serve-streamable-http` records tool calls into the same ledger. Every
//! call is accounted for (removed by a prune, or still there), the chain verifies, and calls
//! recorded afterwards still chain.

mod common;

use std::path::Path;

use common::airlock;
use common::http::{self, Server};
use serde_json::{Value, json};

fn call(addr: &str, bearer: &str, session: &str, id: i64) {
    let reply = http::on_session(
        addr,
        bearer,
        session,
        &json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
            "name": "billing.inspect_invoice", "arguments": {"invoice_id": "INV-1"}}}),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(
        reply.message()["result"]["structuredContent"]["data"]["id"],
        "INV-1"
    );
}

fn cli(dir: &Path, args: &[&str]) -> Value {
    let store = dir.join("ledger.db");
    let mut all = vec!["--store", store.to_str().unwrap()];
    all.extend_from_slice(args);
    let run = airlock(dir, &all, &[]);
    assert_eq!(run.code, 0, "{args:?}: {}{}", run.stdout, run.stderr);
    serde_json::from_str(&run.stdout).unwrap()
}

#[test]
fn prune_and_backup_while_a_server_records_calls() {
    let dir = tempfile::tempdir().unwrap();
    let config = http::fixture(dir.path());
    let server = Server::start(dir.path(), &config, "serve-streamable-http", &[]);
    let bearer = http::jwt("agent_1");
    let session = http::open_session(&server.addr, &bearer);
    for id in 0..40 {
        call(&server.addr, &bearer, &session, id);
    }
    // Two agents keep calling while the prunes and the backup run.
    const DURING: i64 = 200;
    const CALLERS: i64 = 2;
    let callers: Vec<_> = (0..CALLERS)
        .map(|c| {
            let (addr, bearer) = (server.addr.clone(), http::jwt(&format!("agent_{}", c + 2)));
            std::thread::spawn(move || {
                let session = http::open_session(&addr, &bearer);
                for id in 0..DURING {
                    call(&addr, &bearer, &session, 1000 * (c + 1) + id);
                }
            })
        })
        .collect();
    let mut removed = 0;
    let mut rebuilt = 0;
    let mut last_cutoff = String::new();
    for _ in 0..3 {
        let pruned = cli(
            dir.path(),
            &[
                "ledger",
                "prune",
                "--older-than",
                "0d",
                "--batch",
                "10",
                "--json",
            ],
        );
        removed += pruned["report"]["removes"]["query_audit"]
            .as_i64()
            .unwrap_or(0);
        last_cutoff = pruned["report"]["cutoff"].as_str().unwrap().to_owned();
        rebuilt += pruned["report"]["search_rebuilt"]
            .as_array()
            .map_or(0, Vec::len);
    }
    let backup = dir.path().join("backup.db");
    let made = cli(
        dir.path(),
        &["ledger", "backup", backup.to_str().unwrap(), "--json"],
    );
    for caller in callers {
        caller.join().unwrap();
    }
    assert!(removed > 0, "the prunes removed nothing");
    // A prune of most of the ledger sets its search indexes aside and rebuilds them while the
    // server writes: none is left aside, and each passes FTS5's own check.
    assert!(rebuilt > 0, "no prune set a search index aside");

    let verified = cli(dir.path(), &["ledger", "verify", "--json"]);
    assert_eq!(verified["ok"], true, "{verified:#}");
    assert_eq!(verified["awaiting_prune"], 0);
    // Every call is either removed by a prune or still in the ledger, and nothing created
    // before the last cutoff is left.
    let stats = cli(dir.path(), &["ledger", "stats", "--json"]);
    let remaining = stats["stats"]["counts"]["query_audit"].as_i64().unwrap();
    assert_eq!(remaining + removed, 40 + CALLERS * DURING, "{stats:#}");
    assert_eq!(stats["stats"]["search_set_aside"], json!([]));
    // The counts `ledger stats` derives from the chain are the row counts.
    let db = rusqlite::Connection::open(dir.path().join("ledger.db")).unwrap();
    for table in ["events", "evidence_bundles", "query_audit"] {
        let rows: i64 = db
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap();
        assert_eq!(stats["stats"]["counts"][table], rows, "{table}: {stats:#}");
    }
    for index in [
        "search_proposals",
        "search_evidence",
        "search_query_audit",
        "search_receipts",
        "search_events",
    ] {
        db.execute(
            &format!("INSERT INTO {index}({index}, rank) VALUES ('integrity-check', 0)"),
            [],
        )
        .unwrap_or_else(|e| panic!("{index}: {e}"));
    }
    // Nothing older than the last cutoff is left at or before its cut (a call still in flight
    // when the prune planned is committed after the cut, and the next prune takes it).
    let cut = verified["checkpoint"]["cut"]["seq"].as_i64().unwrap();
    let older: i64 = db
        .query_row(
            "SELECT count(*) FROM query_audit q JOIN events e
                ON e.subject_kind = 'query_audit' AND e.subject_id = CAST(q.audit_id AS TEXT)
             WHERE q.created_at < ?1 AND e.seq <= ?2",
            rusqlite::params![last_cutoff, cut],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(older, 0);

    // The backup, taken mid-stream, verifies on its own.
    let elsewhere = tempfile::tempdir().unwrap();
    let copy = airlock(
        elsewhere.path(),
        &[
            "--store",
            backup.to_str().unwrap(),
            "ledger",
            "verify",
            "--json",
        ],
        &[],
    );
    assert_eq!(copy.code, 0, "{}{}", copy.stdout, copy.stderr);
    let copy: Value = serde_json::from_str(&copy.stdout).unwrap();
    assert_eq!(copy["head"], made["head"]);

    // New calls still chain after the checkpoints.
    let head = verified["head"]["seq"].as_i64().unwrap();
    call(&server.addr, &bearer, &session, 9999);
    drop(server);
    let verified = cli(dir.path(), &["ledger", "verify", "--json"]);
    assert_eq!(verified["ok"], true, "{verified:#}");
    assert!(verified["head"]["seq"].as_i64().unwrap() > head);
}
