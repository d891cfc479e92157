//! The Postgres ledger against a real local Postgres: the SQLite ledger's behaviours, several
//! writers at once, tampering of each kind, exactly-once apply across ledgers, leases and
//! fencing, migrations racing. Each test makes a fresh database (skipped with a `SKIP` line
//! when no server answers, except under `CI=true`, where it fails).

mod support;

use std::sync::Arc;

use airlock_ledger::*;
use airlock_ledger_pg::{PgLedgerOptions, PostgresLedger, SCHEMA_VERSION};
use airlock_protocol::ProposalState;
use airlock_review_key::ReviewKey;
use airlock_testkit::FreshDb;
use serde_json::json;
use support::*;

async fn fresh() -> Option<FreshDb> {
    airlock_testkit::fresh_postgres().await
}

async fn expect_break(ledger: &PostgresLedger, code: &str) -> VerifyBreak {
    let report = ledger.verify().await.unwrap();
    assert!(
        !report.ok,
        "verify passed but {code} was expected: {report:?}"
    );
    let b = report.first_break.unwrap();
    assert_eq!(b.code, code, "{b:?}");
    b
}

async fn scalar(db: &FreshDb, sql: &str) -> String {
    db.query_scalar(sql).await.unwrap().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_reads_and_proposals_and_verifies() {
    let Some(db) = fresh().await else { return };
    let ledger = connect(&db, "w1").await;
    let ev = evidence("acme", "INV-1");
    let rec = ledger
        .record_read(NewRead {
            evidence: Some(ev.clone()),
            audit: audit("acme", "INV-1", Some(&ev)),
        })
        .await
        .unwrap();
    assert!(rec.audit_id > 0);
    ledger
        .record_read(NewRead {
            evidence: None,
            audit: audit("acme", "INV-404", None),
        })
        .await
        .unwrap();
    let p = ledger
        .record_proposal(new_proposal("INV-1", 0))
        .await
        .unwrap();
    assert!(p.created);
    assert_eq!(p.proposal.state, ProposalState::PendingReview);
    // What record_proposal returns is the row as stored.
    assert_eq!(
        ledger.proposal(&p.proposal.proposal_id).await.unwrap(),
        p.proposal
    );

    let shown = ledger.evidence(&ev.evidence_bundle_id).await.unwrap();
    assert_eq!(shown.bundle, ev);
    assert_eq!(shown.query_audit.len(), 1);
    assert_eq!(
        ledger
            .query_audit_record(rec.audit_id)
            .await
            .unwrap()
            .object_id,
        "INV-1"
    );

    let latest = ledger.proposal("latest").await.unwrap();
    assert_eq!(latest.proposal_id, p.proposal.proposal_id);
    let kinds: Vec<String> = ledger
        .proposal_events(&latest.proposal_id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        ["proposal_created", "evidence_recorded", "query_audited"]
    );

    let not_found = ledger
        .query_audit_page(&RecordFilter {
            outcome: Some("not_found".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .items;
    assert_eq!(not_found.len(), 1);
    assert_eq!(not_found[0].object_id, "INV-404");

    let report = ledger.verify().await.unwrap();
    assert!(report.ok, "{report:?}");
    // 6 record events and the writer's joined event.
    assert_eq!(report.events_checked, 7);
    let stats = ledger.stats().await.unwrap();
    assert_eq!(
        (
            stats.proposals,
            stats.evidence_bundles,
            stats.query_audit,
            stats.events
        ),
        (1, 2, 3, 7)
    );
    assert_eq!(report.head, ledger.chain_head().await.unwrap());

    // Bad input is a clear error, never a panic or a match.
    assert!(matches!(
        ledger.proposal("wrp_nope' OR '1'='1").await,
        Err(LedgerError::NotFound { .. })
    ));
    assert!(matches!(
        ledger.receipt(424242).await,
        Err(LedgerError::NotFound { .. })
    ));
    let page = ledger
        .proposal_page(&RecordFilter::default())
        .await
        .unwrap();
    assert_eq!(page.items, vec![latest]);
    assert!(page.next_cursor.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_ledger_says_so() {
    let Some(db) = fresh().await else { return };
    let ledger = connect(&db, "w1").await;
    assert!(matches!(
        ledger.proposal("latest").await,
        Err(LedgerError::NoProposals)
    ));
    assert!(ledger.verify().await.unwrap().ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identical_open_proposal_is_returned_not_duplicated_across_servers() {
    let Some(db) = fresh().await else { return };
    let a = Arc::new(connect(&db, "a").await);
    let b = Arc::new(connect(&db, "b").await);
    let first = a.record_proposal(new_proposal("INV-9", 0)).await.unwrap();
    let again = b.record_proposal(new_proposal("INV-9", 0)).await.unwrap();
    assert!(first.created && !again.created);
    assert_eq!(again.proposal.proposal_id, first.proposal.proposal_id);

    // Both servers race on a new key: one proposal.
    let mut tasks = Vec::new();
    for i in 0..16 {
        let l = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            l.record_proposal(new_proposal("INV-10", 5)).await.unwrap()
        }));
    }
    let mut ids = std::collections::BTreeSet::new();
    let mut created = 0;
    for t in tasks {
        let r = t.await.unwrap();
        created += usize::from(r.created);
        ids.insert(r.proposal.proposal_id);
    }
    assert_eq!((created, ids.len()), (1, 1));
    assert_eq!(a.proposal_count(&RecordFilter::default()).await.unwrap(), 2);
    // Every call still recorded its read, linked to the one proposal.
    let audit = a
        .query_audit_page(&RecordFilter {
            proposal: ids.first().cloned(),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .items;
    assert_eq!(audit.len(), 16);
    let report = a.verify().await.unwrap();
    assert!(report.ok, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lifecycle_moves_like_the_sqlite_ledger_and_replays() {
    let Some(db) = fresh().await else { return };
    let ledger = connect(&db, "w1").await;
    let key = ReviewKey::issue();
    let p = ledger
        .record_proposal(new_proposal("INV-1", 0))
        .await
        .unwrap()
        .proposal;

    let mut stale = decision(&p);
    stale.proposal_hash = "sha256:other".into();
    assert!(matches!(
        ledger.approve(&key, stale).await,
        Err(LedgerError::HashMismatch { .. })
    ));
    let approved = ledger.approve(&key, decision(&p)).await.unwrap();
    assert_eq!(approved.state, ProposalState::Approved);
    assert!(matches!(
        ledger.approve(&key, decision(&p)).await,
        Err(LedgerError::InvalidState { .. })
    ));
    let job = job(&p, 60);
    let recorded = ledger.begin_apply(&key, &job, &actor()).await.unwrap();
    assert_eq!(recorded.attempt, 1);
    let stored = ledger
        .record_receipt(
            &key,
            &receipt(&job, "applied", "r1"),
            AttemptEffect::Settled,
            "dana",
        )
        .await
        .unwrap();
    let now = ledger.proposal(&p.proposal_id).await.unwrap();
    assert_eq!(now.state, ProposalState::Applied);
    assert!(now.source_database_mutated);
    assert_eq!(
        ledger
            .applied_receipt(&p.proposal_id)
            .await
            .unwrap()
            .unwrap()
            .receipt_id,
        stored.receipt.receipt_id
    );
    assert!(matches!(
        ledger.begin_apply(&key, &job, &actor()).await,
        Err(LedgerError::InvalidState {
            state: ProposalState::Applied,
            ..
        })
    ));

    let replay = ledger.replay(&p.proposal_id).await.unwrap();
    let kinds: Vec<&str> = replay.events.iter().map(|e| e.kind.as_str()).collect();
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
    assert_eq!(
        (
            replay.approvals.len(),
            replay.jobs.len(),
            replay.receipts.len()
        ),
        (1, 1, 1)
    );
    assert_eq!((replay.evidence.len(), replay.query_audit.len()), (1, 1));
    let counts = ledger.state_counts().await.unwrap();
    assert_eq!(counts.proposals, vec![("applied".to_owned(), 1)]);
    assert_eq!(counts.receipts, vec![("applied".to_owned(), 1)]);

    // A rejected one, and the history search.
    let q = ledger
        .record_proposal(new_proposal("INV-2", 0))
        .await
        .unwrap()
        .proposal;
    let mut no = decision(&q);
    no.reason = Some("50%_off is wrong".into());
    ledger.reject(&key, no).await.unwrap();
    let (n, found) = ledger.search_proposals("50%_OFF", 10, 0).await.unwrap();
    assert_eq!(
        (n, found[0].proposal_id.as_str()),
        (1, q.proposal_id.as_str())
    );
    assert_eq!(ledger.search_proposals("5_%", 10, 0).await.unwrap().0, 0);
    assert!(ledger.verify().await.unwrap().ok);
}

/// What an apply reads first, in one statement: the proposal, and the receipt that applied it
/// only once it is applied (the `applied` one, not a later `already_applied` one beside it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_reads_a_proposal_and_its_applied_receipt_at_once() {
    let Some(db) = fresh().await else { return };
    let ledger = connect(&db, "w1").await;
    let key = ReviewKey::issue();
    let p = approved(&ledger, &key, "INV-1").await;
    let (seen, applied) = ledger.proposal_for_apply(&p.proposal_id).await.unwrap();
    assert_eq!(seen.state, ProposalState::Approved);
    assert!(applied.is_none());

    let job = job(&p, 60);
    ledger.begin_apply(&key, &job, &actor()).await.unwrap();
    let first = ledger
        .record_receipt(
            &key,
            &receipt(&job, "applied", "r1"),
            AttemptEffect::Settled,
            "dana",
        )
        .await
        .unwrap();
    // A second worker that found the write done records its own receipt beside the first;
    // each recording reports the state it left, and the proposal stays applied.
    let late = ledger
        .record_receipt(
            &key,
            &receipt(&job, "already_applied", "r2"),
            AttemptEffect::Settled,
            "dana",
        )
        .await
        .unwrap();
    assert_eq!(
        (first.state, late.state),
        (ProposalState::Applied, ProposalState::Applied)
    );
    let (seen, applied) = ledger.proposal_for_apply(&p.proposal_id).await.unwrap();
    assert_eq!(seen.state, ProposalState::Applied);
    assert_eq!(
        seen.updated_at,
        ledger.proposal(&p.proposal_id).await.unwrap().updated_at
    );
    let applied = applied.expect("the receipt that applied it");
    assert_eq!(applied.receipt_id, first.receipt.receipt_id);
    assert_eq!(
        Some(applied.receipt_id),
        ledger
            .applied_receipt(&p.proposal_id)
            .await
            .unwrap()
            .map(|r| r.receipt_id)
    );
    let (latest, _) = ledger.proposal_for_apply("latest").await.unwrap();
    assert_eq!(latest.proposal_id, p.proposal_id);
    assert!(matches!(
        ledger.proposal_for_apply("p_missing").await,
        Err(LedgerError::NotFound { .. })
    ));
    assert!(ledger.verify().await.unwrap().ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_writers_at_once_lose_and_duplicate_nothing() {
    let Some(db) = fresh().await else { return };
    let mut ledgers = Vec::new();
    for w in ["a", "b", "c"] {
        ledgers.push(Arc::new(connect(&db, w).await));
    }
    const TASKS: usize = 8;
    const EACH: usize = 40;
    let mut tasks = Vec::new();
    for (li, l) in ledgers.iter().enumerate() {
        for t in 0..TASKS {
            let l = l.clone();
            tasks.push(tokio::spawn(async move {
                let mut ids = Vec::new();
                for i in 0..EACH {
                    if i % 10 == 9 {
                        let p = l
                            .record_proposal(new_proposal(&format!("P-{li}-{t}-{i}"), 1))
                            .await
                            .unwrap();
                        assert!(p.created);
                        ids.push(p.audit_id);
                    } else {
                        ids.push(
                            l.record_read(read(&format!("R-{li}-{t}-{i}")))
                                .await
                                .unwrap()
                                .audit_id,
                        );
                    }
                }
                ids
            }));
        }
    }
    let mut audit_ids = std::collections::BTreeSet::new();
    for t in tasks {
        for id in t.await.unwrap() {
            assert!(audit_ids.insert(id), "audit id {id} returned twice");
        }
    }
    let total = 3 * TASKS * EACH;
    let proposals = 3 * TASKS * (EACH / 10);
    assert_eq!(audit_ids.len(), total);
    for l in &ledgers {
        l.close().await.unwrap();
    }
    let stats = ledgers[0].stats().await.unwrap();
    assert_eq!(stats.query_audit as usize, total);
    assert_eq!(stats.evidence_bundles as usize, total);
    assert_eq!(stats.proposals as usize, proposals);
    let report = ledgers[0].verify().await.unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.events_checked as i64, stats.events);
    assert!(report.anchors_checked > 0, "{report:?}");
    // Each writer's chain is contiguous from 1.
    for w in ["a", "b", "c"] {
        let n = scalar(
            &db,
            &format!("SELECT (max(writer_seq) = count(*))::text FROM airlock.events WHERE writer_id = '{w}'"),
        )
        .await;
        assert_eq!(n, "true", "writer {w}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_of_one_process_spread_over_lanes_that_verify() {
    let Some(db) = fresh().await else { return };
    let l = Arc::new(
        PostgresLedger::connect(
            &db.url,
            PgLedgerOptions {
                max_lanes: 4,
                ..options("w")
            },
        )
        .await
        .unwrap(),
    );
    const TASKS: usize = 24;
    const EACH: usize = 5;
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let l = l.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..EACH {
                let mut patch = serde_json::Map::new();
                patch.insert("late_fee_cents".into(), json!(i));
                l.record_human_action(&NewHumanAction {
                    capability: "billing.reverse_late_fee".into(),
                    tenant_id: "acme".into(),
                    object_id: format!("INV-{t}-{i}"),
                    proposal_id: None,
                    actor: "dana".into(),
                    patch,
                    notes: None,
                })
                .await
                .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    l.close().await.unwrap();
    let listed = l
        .human_actions(&HumanActionFilter::default())
        .await
        .unwrap();
    assert_eq!(listed.len(), TASKS * EACH);
    // Writes that found the first chain's head taken opened more, named after the first.
    let lanes = scalar(
        &db,
        "SELECT string_agg(writer_id || ':' || (closed_at IS NOT NULL)::text, ',' ORDER BY writer_id) FROM airlock.writers",
    )
    .await;
    let lanes: Vec<&str> = lanes.split(',').collect();
    assert!(lanes.len() >= 2 && lanes.len() <= 4, "{lanes:?}");
    for (k, lane) in lanes.iter().enumerate() {
        let id = if k == 0 {
            "w".to_owned()
        } else {
            format!("w.{k}")
        };
        assert_eq!(
            *lane,
            format!("{id}:true"),
            "every lane registered and closed"
        );
        let contiguous = scalar(
            &db,
            &format!("SELECT (max(writer_seq) = count(*))::text FROM airlock.events WHERE writer_id = '{id}'"),
        )
        .await;
        assert_eq!(contiguous, "true", "lane {id}");
    }
    let report = l.verify().await.unwrap();
    assert!(report.ok, "{report:?}");
    let actions = scalar(
        &db,
        "SELECT count(*)::text FROM airlock.events WHERE subject_kind = 'human_action'",
    )
    .await;
    assert_eq!(actions, (TASKS * EACH).to_string(), "one event per action");
    let events = scalar(&db, "SELECT count(*)::text FROM airlock.events").await;
    assert_eq!(
        report.events_checked.to_string(),
        events,
        "every event walked"
    );
    // A lane is a chain like any other: an edited event on it is found.
    db.execute_batch(
        "UPDATE airlock.events SET actor = actor || '!' WHERE writer_id = 'w.1' AND writer_seq = 2",
    )
    .await
    .unwrap();
    expect_break(&l, "EVENT_HASH_MISMATCH").await;
}

/// Two writers with events on both chains and cross-anchors between them.
async fn seeded(db: &FreshDb) -> (PostgresLedger, PostgresLedger, StoredProposal) {
    let a = connect(db, "a").await;
    let b = connect(db, "b").await;
    for i in 0..6 {
        a.record_read(read(&format!("A-{i}"))).await.unwrap();
        b.record_read(read(&format!("B-{i}"))).await.unwrap();
    }
    let p = a
        .record_proposal(new_proposal("INV-1", 0))
        .await
        .unwrap()
        .proposal;
    let key = ReviewKey::issue();
    b.approve(&key, decision(&p)).await.unwrap();
    let report = a.verify().await.unwrap();
    assert!(report.ok, "{report:?}");
    (a, b, p)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_finds_edited_records_and_events() {
    let Some(db) = fresh().await else { return };
    let (a, _b, p) = seeded(&db).await;
    db.execute_batch(
        "UPDATE airlock.evidence_bundles SET tenant_id = 'evil' WHERE object_id = 'A-3'",
    )
    .await
    .unwrap();
    expect_break(&a, "RECORD_HASH_MISMATCH").await;
    db.execute_batch(
        "UPDATE airlock.evidence_bundles SET tenant_id = 'acme' WHERE object_id = 'A-3'",
    )
    .await
    .unwrap();
    assert!(a.verify().await.unwrap().ok);

    // Text where JSON was: unreadable, named as an edit.
    db.execute_batch(
        "UPDATE airlock.query_audit SET payload_json = 'not json' WHERE object_id = 'B-2'",
    )
    .await
    .unwrap();
    expect_break(&a, "RECORD_HASH_MISMATCH").await;
    db.execute_batch(
        "UPDATE airlock.query_audit SET payload_json = '{\"statement_template\":\"SELECT ...\",\"parameters_redacted\":true}' WHERE object_id = 'B-2'",
    )
    .await
    .unwrap();
    assert!(a.verify().await.unwrap().ok);

    db.execute_batch(
        "UPDATE airlock.events SET actor = actor || '!' WHERE writer_id = 'b' AND writer_seq = 4",
    )
    .await
    .unwrap();
    expect_break(&a, "EVENT_HASH_MISMATCH").await;
    db.execute_batch("UPDATE airlock.events SET actor = rtrim(actor, '!') WHERE writer_id = 'b' AND writer_seq = 4")
        .await
        .unwrap();
    assert!(a.verify().await.unwrap().ok);

    // A state changed behind the ledger's back.
    db.execute_batch(&format!(
        "UPDATE airlock.proposals SET state = 'pending_review' WHERE proposal_id = '{}'",
        p.proposal_id
    ))
    .await
    .unwrap();
    expect_break(&a, "STATE_MISMATCH").await;
    db.execute_batch(&format!(
        "UPDATE airlock.proposals SET state = 'approved' WHERE proposal_id = '{}'",
        p.proposal_id
    ))
    .await
    .unwrap();
    assert!(a.verify().await.unwrap().ok);

    // A record no event covers.
    db.execute_batch(
        "INSERT INTO airlock.approvals (proposal_id, proposal_version, proposal_hash, approver, status, created_at)
         VALUES ('x', 1, 'h', 'mallory', 'approved', 'now')",
    )
    .await
    .unwrap();
    expect_break(&a, "UNCHAINED_RECORD").await;
    db.execute_batch("DELETE FROM airlock.approvals WHERE approver = 'mallory'")
        .await
        .unwrap();
    // A record removed.
    db.execute_batch("DELETE FROM airlock.evidence_bundles WHERE object_id = 'B-5'")
        .await
        .unwrap();
    expect_break(&a, "RECORD_MISSING").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_finds_a_deleted_middle_event_and_renumbering() {
    let Some(db) = fresh().await else { return };
    let (a, _b, _) = seeded(&db).await;
    // Renumbering a writer's chain past a gap.
    db.execute_batch("UPDATE airlock.events SET writer_seq = writer_seq + 1000 WHERE writer_id = 'a' AND writer_seq >= 5")
        .await
        .unwrap();
    expect_break(&a, "SEQUENCE_GAP").await;
    db.execute_batch("UPDATE airlock.events SET writer_seq = writer_seq - 1000 WHERE writer_id = 'a' AND writer_seq >= 1005")
        .await
        .unwrap();
    assert!(a.verify().await.unwrap().ok);
    // Swapping two events' global numbers: the hashes cover them.
    db.execute_batch(
        "UPDATE airlock.events SET seq = -seq WHERE writer_id = 'a' AND writer_seq IN (3, 4);
         UPDATE airlock.events SET seq = CASE writer_seq
             WHEN 3 THEN (SELECT -seq FROM airlock.events WHERE writer_id = 'a' AND writer_seq = 4)
             ELSE (SELECT -seq FROM airlock.events WHERE writer_id = 'a' AND writer_seq = 3) END
         WHERE writer_id = 'a' AND writer_seq IN (3, 4)",
    )
    .await
    .unwrap();
    expect_break(&a, "EVENT_HASH_MISMATCH").await;
    // Moving a later event before an earlier one of the same writer.
    db.execute_batch(
        "UPDATE airlock.events SET seq = -seq WHERE writer_id = 'a' AND writer_seq IN (3, 4);
         UPDATE airlock.events SET seq = CASE writer_seq
             WHEN 3 THEN (SELECT -seq FROM airlock.events WHERE writer_id = 'a' AND writer_seq = 4)
             ELSE (SELECT -seq FROM airlock.events WHERE writer_id = 'a' AND writer_seq = 3) END
         WHERE writer_id = 'a' AND writer_seq IN (3, 4)",
    )
    .await
    .unwrap();
    assert!(a.verify().await.unwrap().ok, "swapped back");
    db.execute_batch(
        "UPDATE airlock.events SET seq = 1000000 WHERE writer_id = 'a' AND writer_seq = 2",
    )
    .await
    .unwrap();
    // Renumbered: every event's hash covers its global number.
    expect_break(&a, "EVENT_HASH_MISMATCH").await;
    // A middle event removed (with its record), the rest of the chain left as it was.
    let db2 = fresh().await.unwrap();
    let (a2, _b2, _) = seeded(&db2).await;
    db2.execute_batch(
        "DELETE FROM airlock.query_audit WHERE audit_id::text =
             (SELECT subject_id FROM airlock.events WHERE writer_id = 'a' AND writer_seq = 3 AND subject_kind = 'query_audit');
         DELETE FROM airlock.events WHERE writer_id = 'a' AND writer_seq = 3",
    )
    .await
    .unwrap();
    expect_break(&a2, "SEQUENCE_GAP").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_chain_tail_is_caught_by_another_writers_anchor() {
    let Some(db) = fresh().await else { return };
    let a = connect(&db, "a").await;
    let b = connect(&db, "b").await;
    for i in 0..5 {
        a.record_read(read(&format!("A-{i}"))).await.unwrap();
    }
    // b anchors now: its anchor names a's head.
    b.close().await.unwrap();
    assert!(a.verify().await.unwrap().ok);
    // Cut a's last two events and the records they covered: a's own chain stays valid.
    db.execute_batch(
        "DELETE FROM airlock.evidence_bundles WHERE evidence_bundle_id IN (SELECT subject_id FROM airlock.events
             WHERE writer_id = 'a' AND subject_kind = 'evidence' AND writer_seq > (SELECT max(writer_seq) - 2 FROM airlock.events WHERE writer_id = 'a'));
         DELETE FROM airlock.query_audit WHERE audit_id::text IN (SELECT subject_id FROM airlock.events
             WHERE writer_id = 'a' AND subject_kind = 'query_audit' AND writer_seq > (SELECT max(writer_seq) - 2 FROM airlock.events WHERE writer_id = 'a'));
         DELETE FROM airlock.events WHERE writer_id = 'a'
             AND writer_seq > (SELECT max(writer_seq) - 2 FROM airlock.events WHERE writer_id = 'a')",
    )
    .await
    .unwrap();
    let brk = expect_break(&a, "ANCHOR_TRUNCATED").await;
    assert!(brk.detail.contains("writer a"), "{brk:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_writer_is_found() {
    let Some(db) = fresh().await else { return };
    let (a, _b, _) = seeded(&db).await;
    // Events of a writer that never registered.
    db.execute_batch(
        "INSERT INTO airlock.events (seq, writer_id, writer_seq, kind, subject_kind, subject_id, actor,
             payload_json, record_hash, prev_hash, hash, created_at)
         VALUES (-1, 'ghost', 1, 'writer_joined', 'writer', 'ghost', 'airlock', '{\"heads\":[]}', 'h', 'p', 'x', 'now')",
    )
    .await
    .unwrap();
    expect_break(&a, "WRITER_UNKNOWN").await;
    db.execute_batch("DELETE FROM airlock.events WHERE writer_id = 'ghost'")
        .await
        .unwrap();

    // A registered writer with a chain consistent in itself, slipped in at an early sequence
    // number: the anchors written after that number do not name it.
    let at = airlock_protocol::now_rfc3339();
    let record = airlock_ledger::rules::record_hash(
        &json!({"writer_id": "ghost", "host": "h", "pid": 1, "registered_at": at}),
    );
    let payload = json!({"host": "h", "pid": 1, "heads": []});
    let prev = airlock_protocol::hash_canonical("airlock-ledger-writer:ghost");
    let hash = airlock_ledger::rules::event_hash(&airlock_ledger::rules::EventBody {
        seq: -1,
        kind: "writer_joined",
        proposal_id: None,
        subject_kind: "writer",
        subject_id: "ghost",
        actor: "airlock",
        payload: &payload,
        record_hash: &record,
        prev_hash: &prev,
        created_at: &at,
    });
    db.execute_batch(&format!(
        "INSERT INTO airlock.writers (writer_id, host, pid, registered_at) VALUES ('ghost', 'h', 1, '{at}');
         INSERT INTO airlock.events (seq, writer_id, writer_seq, kind, subject_kind, subject_id, actor,
             payload_json, record_hash, prev_hash, hash, created_at)
         VALUES (-1, 'ghost', 1, 'writer_joined', 'writer', 'ghost', 'airlock', '{payload}', '{record}', '{prev}', '{hash}', '{at}')"
    ))
    .await
    .unwrap();
    expect_break(&a, "WRITER_UNWITNESSED").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_anchor_pins_the_newest_tail() {
    let Some(db) = fresh().await else { return };
    let dir = tempfile_dir();
    let anchor = dir.join("ledger.anchor");
    let a = PostgresLedger::connect(
        &db.url,
        PgLedgerOptions {
            anchor_file: Some(anchor.clone()),
            ..options("a")
        },
    )
    .await
    .unwrap();
    let p = a
        .record_proposal(new_proposal("INV-1", 0))
        .await
        .unwrap()
        .proposal;
    a.approve(&ReviewKey::issue(), decision(&p)).await.unwrap();
    let report = a.verify().await.unwrap();
    assert!(report.ok && report.anchored_seq.is_some(), "{report:?}");
    // Remove the approval entirely (the last events of the only writer): no other writer
    // anchored it, but the external anchor did.
    db.execute_batch(&format!(
        "DELETE FROM airlock.approvals;
         DELETE FROM airlock.events WHERE kind = 'proposal_approved';
         UPDATE airlock.proposals SET state = 'pending_review', updated_at = created_at WHERE proposal_id = '{}'",
        p.proposal_id
    ))
    .await
    .unwrap();
    expect_break(&a, "ANCHOR_TRUNCATED").await;
    let _ = std::fs::remove_dir_all(dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("airlock-pg-ledger-{}", rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_suffix() -> String {
    airlock_protocol::ids::new_id("t")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_appliers_racing_one_approved_proposal_run_one_job() {
    let Some(db) = fresh().await else { return };
    let a = Arc::new(connect(&db, "a").await);
    let b = Arc::new(connect(&db, "b").await);
    let key = ReviewKey::issue();
    let p = approved(&a, &key, "INV-1").await;
    let job = job(&p, 60);
    let mut tasks = Vec::new();
    for l in [a.clone(), b.clone(), a.clone(), b.clone()] {
        let job = job.clone();
        tasks.push(tokio::spawn(async move {
            let key = ReviewKey::issue();
            let begun = l.begin_apply(&key, &job, &actor()).await;
            match begun {
                Ok(_) => {
                    l.record_receipt(
                        &key,
                        &receipt(&job, "applied", "r"),
                        AttemptEffect::Settled,
                        "dana",
                    )
                    .await
                    .unwrap();
                    true
                }
                Err(LedgerError::LeaseHeld { .. })
                | Err(LedgerError::InvalidState {
                    state: ProposalState::Applied,
                    ..
                }) => false,
                Err(e) => panic!("{e}"),
            }
        }));
    }
    let mut ran = 0;
    for t in tasks {
        ran += usize::from(t.await.unwrap());
    }
    assert_eq!(ran, 1);
    let receipts = a
        .receipt_page(&RecordFilter {
            proposal: Some(p.proposal_id.clone()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .items;
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0].status.as_str(), "applied");
    assert_eq!(a.replay(&p.proposal_id).await.unwrap().jobs.len(), 1);
    // The receipt filters select it, and through it its proposal's records.
    let r = &receipts[0];
    let by = |f: RecordFilter| {
        let a = &a;
        async move { a.receipt_page(&f).await.unwrap().items.len() }
    };
    for f in [
        RecordFilter {
            idempotency_key: Some(r.idempotency_key.clone()),
            ..Default::default()
        },
        RecordFilter {
            writeback_job: Some(r.writeback_job_id.clone()),
            ..Default::default()
        },
        RecordFilter {
            receipt: Some(r.receipt_id),
            ..Default::default()
        },
        RecordFilter {
            replay: Some(format!("replay_{}", p.proposal_id)),
            outcome: Some("applied".into()),
            ..Default::default()
        },
        RecordFilter {
            table: Some("memberships".into()),
            tenant: Some("acme".into()),
            ..Default::default()
        },
        RecordFilter {
            table: Some("public.memberships".into()),
            ..Default::default()
        },
    ] {
        assert_eq!(by(f.clone()).await, 1, "{f:?}");
    }
    for f in [
        RecordFilter {
            idempotency_key: Some("' OR '1'='1".into()),
            ..Default::default()
        },
        RecordFilter {
            receipt: Some(r.receipt_id + 1000),
            ..Default::default()
        },
        RecordFilter {
            tenant: Some("globex".into()),
            ..Default::default()
        },
        RecordFilter {
            table: Some("berships".into()),
            ..Default::default()
        },
    ] {
        assert_eq!(by(f.clone()).await, 0, "{f:?}");
    }
    let of_receipt = RecordFilter {
        receipt: Some(r.receipt_id),
        ..Default::default()
    };
    assert_eq!(a.proposal_count(&of_receipt).await.unwrap(), 1);
    let hits = a.search(None, &of_receipt).await.unwrap().items;
    assert!(hits.iter().any(|h| h.kind == RecordKind::Receipt));
    assert!(hits.iter().any(|h| h.kind == RecordKind::Event));
    assert!(
        hits.iter()
            .all(|h| h.proposal_id.as_deref() == Some(p.proposal_id.as_str())),
        "{hits:?}"
    );
    let applied = SearchText::new("APPLIED").unwrap();
    let found = a.search(Some(&applied), &of_receipt).await.unwrap().items;
    assert!(
        found
            .iter()
            .any(|h| h.kind == RecordKind::Receipt && h.matched.contains(&"status"))
    );
    assert!(a.verify().await.unwrap().ok);
}

/// An apply that waits for a proposal's row lock reads the job's attempts only once it holds
/// the lock: the look-up travels with the locking statement but is not part of it. Here the
/// lock's holder records attempt 1, with a live lease, while the apply waits; the apply must
/// then find that lease (a look-up that saw the attempts from before the wait would number
/// its own attempt 1 again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_waiting_for_the_row_lock_sees_the_attempt_recorded_meanwhile() {
    let Some(db) = fresh().await else { return };
    let ledger = Arc::new(connect(&db, "w1").await);
    let key = ReviewKey::issue();
    let p = approved(&ledger, &key, "INV-1").await;
    let job = job(&p, 60);

    let (mut holder, connection) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let tx = holder.transaction().await.unwrap();
    tx.execute(
        "SELECT 1 FROM airlock.proposals WHERE proposal_id = $1 FOR UPDATE",
        &[&p.proposal_id],
    )
    .await
    .unwrap();
    let waiting = {
        let (ledger, job) = (ledger.clone(), job.clone());
        tokio::spawn(async move {
            ledger
                .begin_apply(&ReviewKey::issue(), &job, &actor())
                .await
        })
    };
    // Until the apply waits for the row lock.
    while scalar(
        &db,
        "SELECT count(*) FROM pg_stat_activity
         WHERE wait_event_type = 'Lock' AND datname = current_database()",
    )
    .await
        == "0"
    {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let mut taken = job.clone();
    taken.lease.attempt = 1;
    tx.execute(
        "INSERT INTO airlock.writeback_jobs (writeback_job_id, attempt, proposal_id,
             proposal_hash, actor, job_json, created_at)
         VALUES ($1, 1, $2, $3, 'another worker', $4, 'now')",
        &[
            &job.writeback_job_id,
            &p.proposal_id,
            &p.proposal_hash,
            &serde_json::to_string(&taken).unwrap(),
        ],
    )
    .await
    .unwrap();
    tx.execute(
        "UPDATE airlock.proposals SET state = 'pending_worker' WHERE proposal_id = $1",
        &[&p.proposal_id],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    match waiting.await.unwrap() {
        Err(LedgerError::LeaseHeld { attempt: 1, .. }) => {}
        other => panic!("the waiting apply must find attempt 1's live lease: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_lease_is_taken_over_and_the_late_worker_is_fenced() {
    let Some(db) = fresh().await else { return };
    let slow = connect(&db, "slow").await;
    let other = connect(&db, "other").await;
    let key = ReviewKey::issue();
    let p = approved(&slow, &key, "INV-1").await;
    // The slow worker's lease has already run out when the other one looks.
    let expired_job = job(&p, -1);
    assert_eq!(
        slow.begin_apply(&key, &expired_job, &actor())
            .await
            .unwrap()
            .attempt,
        1
    );
    let live_job = job(&p, 60);
    let taken = other.begin_apply(&key, &live_job, &actor()).await.unwrap();
    assert_eq!(taken.attempt, 2);
    // A third try while attempt 2's lease is live is refused.
    assert!(matches!(
        slow.begin_apply(&key, &live_job, &actor()).await,
        Err(LedgerError::LeaseHeld { attempt: 2, .. })
    ));
    // The slow worker wakes up: its receipt is refused, nothing changes.
    let late = slow
        .record_receipt(
            &key,
            &receipt(&expired_job, "applied", "slow"),
            AttemptEffect::Settled,
            "dana",
        )
        .await;
    assert!(
        matches!(
            late,
            Err(LedgerError::Fenced {
                attempt: 1,
                current: 2,
                ..
            })
        ),
        "{late:?}"
    );
    assert_eq!(
        slow.proposal(&p.proposal_id).await.unwrap().state,
        ProposalState::PendingWorker
    );
    // The worker holding the lease finishes.
    other
        .record_receipt(
            &key,
            &receipt(&live_job, "applied", "other"),
            AttemptEffect::Settled,
            "dana",
        )
        .await
        .unwrap();
    assert_eq!(
        other.proposal(&p.proposal_id).await.unwrap().state,
        ProposalState::Applied
    );
    assert_eq!(
        other
            .receipt_page(&RecordFilter::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert!(other.verify().await.unwrap().ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_outcome_is_retried_at_once_and_nothing_written_returns_to_approved() {
    let Some(db) = fresh().await else { return };
    let l = connect(&db, "w").await;
    let key = ReviewKey::issue();
    let p = approved(&l, &key, "INV-1").await;
    let j = job(&p, 60);
    l.begin_apply(&key, &j, &actor()).await.unwrap();
    l.record_receipt(
        &key,
        &receipt(&j, "failed", "r"),
        AttemptEffect::OutcomeUnknown,
        "dana",
    )
    .await
    .unwrap();
    assert_eq!(
        l.proposal(&p.proposal_id).await.unwrap().state,
        ProposalState::PendingWorker
    );
    // The lease is live, but the attempt is settled for now: a retry may start.
    assert_eq!(l.begin_apply(&key, &j, &actor()).await.unwrap().attempt, 2);
    l.record_receipt(
        &key,
        &receipt(&j, "failed", "r"),
        AttemptEffect::NothingWritten,
        "dana",
    )
    .await
    .unwrap();
    assert_eq!(
        l.proposal(&p.proposal_id).await.unwrap().state,
        ProposalState::Approved
    );
    assert!(l.verify().await.unwrap().ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_together_migrate_once() {
    let Some(db) = fresh().await else { return };
    let mut tasks = Vec::new();
    for i in 0..4 {
        let url = db.url.clone();
        tasks.push(tokio::spawn(async move {
            PostgresLedger::connect(&url, options(&format!("r{i}"))).await
        }));
    }
    let mut ledgers = Vec::new();
    for t in tasks {
        ledgers.push(t.await.unwrap().unwrap());
    }
    assert_eq!(
        scalar(&db, "SELECT count(*)::text FROM airlock.schema_migrations").await,
        SCHEMA_VERSION.to_string()
    );
    assert_eq!(
        scalar(&db, "SELECT count(*)::text FROM airlock.writers").await,
        "4"
    );
    let report = ledgers[0].verify().await.unwrap();
    assert!(report.ok, "{report:?}");

    // A schema from a newer airlock is refused, not migrated down.
    db.execute_batch("INSERT INTO airlock.schema_migrations (version) VALUES (999)")
        .await
        .unwrap();
    assert!(matches!(
        PostgresLedger::connect(&db.url, options("late")).await,
        Err(LedgerError::TooNew { found: 999, .. })
    ));
    // Another schema in the same database is a separate ledger.
    let other = PostgresLedger::connect(
        &db.url,
        PgLedgerOptions {
            schema: "tenant_b".into(),
            ..options("x")
        },
    )
    .await
    .unwrap();
    assert_eq!(other.stats().await.unwrap().proposals, 0);
    // A schema name that is not a plain identifier is refused before anything runs.
    for bad in ["a; DROP SCHEMA airlock CASCADE", "Airlock", ""] {
        assert!(matches!(
            PostgresLedger::connect(
                &db.url,
                PgLedgerOptions {
                    schema: bad.into(),
                    ..options("y")
                }
            )
            .await,
            Err(LedgerError::Postgres { .. })
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_and_the_feed() {
    let Some(db) = fresh().await else { return };
    let l = connect(&db, "w").await;
    for i in 0..3 {
        l.record_read(read(&format!("R-{i}"))).await.unwrap();
    }
    let events = l
        .events(&EventQuery {
            after_seq: Some(0),
            kinds: vec!["query_audited".into()],
            tenant: Some("acme".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!(
        events[0].capability.as_deref(),
        Some("billing.inspect_invoice")
    );
    let newest = l
        .events(&EventQuery {
            limit: 2,
            newest: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(newest[0].event.seq < newest[1].event.seq);

    let s = l
        .register_destination("hook", "https://example.invalid", 0)
        .await
        .unwrap();
    assert_eq!(s.cursor_seq, 0);
    l.record_failed_attempt("hook", 2, 1, "timeout", "2030-01-01T00:00:00.000Z")
        .await
        .unwrap();
    l.record_delivered("hook", 2).await.unwrap();
    l.advance_cursor("hook", 5).await.unwrap();
    l.advance_cursor("hook", 3).await.unwrap(); // never back
    let states = l.delivery_states().await.unwrap();
    assert_eq!(
        (
            states[0].cursor_seq,
            states[0].delivered,
            states[0].pending_seq
        ),
        (5, 1, None)
    );
    // Registering again keeps the cursor.
    assert_eq!(
        l.register_destination("hook", "https://example.invalid", 0)
            .await
            .unwrap()
            .cursor_seq,
        5
    );
    assert!(matches!(
        l.record_delivered("nope", 1).await,
        Err(LedgerError::NotFound { .. })
    ));
    assert!(matches!(
        l.advance_cursor("nope", 1).await,
        Err(LedgerError::NotFound { .. })
    ));

    // A feed with an hour's settle time: the consecutive events after the cursor are read at
    // once (nothing below them can still be committing).
    let settled = PostgresLedger::connect(
        &db.url,
        PgLedgerOptions {
            feed_settle: std::time::Duration::from_secs(3600),
            ..options("w2")
        },
    )
    .await
    .unwrap();
    let after_zero = EventQuery {
        after_seq: Some(0),
        ..Default::default()
    };
    let head = settled.chain_head().await.unwrap().unwrap().seq;
    assert_eq!(settled.feed_horizon(0).await.unwrap(), head);
    assert_eq!(
        settled.events(&after_zero).await.unwrap().len() as i64,
        head
    );
    // A number taken but not (yet) written: a transaction still committing, or one that rolled
    // back. The feed stops before it, however many events follow...
    let hole: i64 = scalar(&db, "SELECT nextval('airlock.event_seq')")
        .await
        .parse()
        .unwrap();
    settled.record_read(read("R-after-hole")).await.unwrap();
    let newest = settled.chain_head().await.unwrap().unwrap().seq;
    assert!(newest > hole);
    assert_eq!(settled.feed_horizon(0).await.unwrap(), hole - 1);
    assert_eq!(settled.feed_horizon(hole - 1).await.unwrap(), hole - 1);
    let read = settled.events(&after_zero).await.unwrap();
    assert_eq!(
        read.last().unwrap().event.seq,
        hole - 1,
        "read past the hole"
    );
    // ...until an event past it has settled: the hole is then given up for lost.
    db.execute_batch(&format!(
        "UPDATE airlock.events SET inserted_at = inserted_at - interval '2 hours' WHERE seq = {}",
        hole + 1
    ))
    .await
    .unwrap();
    assert_eq!(settled.feed_horizon(hole - 1).await.unwrap(), newest);
    assert_eq!(
        settled
            .events(&EventQuery {
                after_seq: Some(hole - 1),
                ..Default::default()
            })
            .await
            .unwrap()
            .first()
            .unwrap()
            .event
            .seq,
        hole + 1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn human_actions_are_chained() {
    let Some(db) = fresh().await else { return };
    let l = connect(&db, "w").await;
    let mut patch = serde_json::Map::new();
    patch.insert("late_fee_cents".into(), json!(0));
    let a = l
        .record_human_action(&NewHumanAction {
            capability: "billing.reverse_late_fee".into(),
            tenant_id: "acme".into(),
            object_id: "INV-1".into(),
            proposal_id: None,
            actor: "dana".into(),
            patch,
            notes: Some("by hand".into()),
        })
        .await
        .unwrap();
    let listed = l
        .human_actions(&HumanActionFilter::default())
        .await
        .unwrap();
    assert_eq!(listed, vec![a]);
    assert!(l.verify().await.unwrap().ok);
    db.execute_batch("UPDATE airlock.human_actions SET notes = 'edited'")
        .await
        .unwrap();
    expect_break(&l, "RECORD_HASH_MISMATCH").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_that_go_away_never_break_a_batch() {
    let Some(db) = fresh().await else { return };
    let l = Arc::new(connect(&db, "w").await);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let l = l.clone();
        tasks.push(tokio::spawn(async move {
            l.record_read(read(&format!("C-{i}"))).await.unwrap()
        }));
    }
    // Cancel every other caller wherever it is (queued, or its batch committing).
    for t in tasks.iter().step_by(2) {
        t.abort();
    }
    let mut answered = 0;
    for (i, t) in tasks.into_iter().enumerate() {
        match t.await {
            Ok(_) => answered += 1,
            Err(e) => assert!(e.is_cancelled() && i % 2 == 0, "{e}"),
        }
    }
    assert!(answered >= 20);
    // A cancelled caller's record may or may not be committed; the chain is whole either way.
    let stats = l.stats().await.unwrap();
    assert!(
        (answered..=40).contains(&(stats.query_audit as usize)),
        "{stats:?}"
    );
    let report = l.verify().await.unwrap();
    assert!(report.ok, "{report:?}");
    l.record_read(read("after")).await.unwrap();
    assert!(l.verify().await.unwrap().ok);
}

/// Reads and proposals for two tenants, three capabilities and a day each, fed to a Postgres
/// ledger and a SQLite one alike.
fn browse_records() -> (Vec<NewRead>, Vec<NewProposal>) {
    let mut reads = Vec::new();
    let capabilities = [
        "billing.inspect_invoice",
        "billing.list_invoices",
        "crm.show_account",
    ];
    for i in 0..18u32 {
        let tenant = if i.is_multiple_of(2) {
            "acme"
        } else {
            "globex"
        };
        let object = format!("INV-{}", i % 5);
        let mut ev = evidence(tenant, &object);
        ev.capability = capabilities[(i % 3) as usize].into();
        // Days 1..=9, two records a day: ties on created_at are broken by the id.
        ev.created_at = format!("2026-01-0{}T10:00:00.000Z", i / 2 + 1);
        if i == 7 {
            ev.object_id = "100%_off".into();
        }
        let mut a = audit(tenant, &ev.object_id, (!i.is_multiple_of(4)).then_some(&ev));
        a.capability = ev.capability.clone();
        a.created_at = ev.created_at.clone();
        reads.push(NewRead {
            evidence: (!i.is_multiple_of(4)).then_some(ev),
            audit: a,
        });
    }
    let mut proposals = Vec::new();
    for i in 0..6i64 {
        let mut p = new_proposal(&format!("INV-{i}"), i);
        p.evidence.created_at = format!("2026-02-0{}T10:00:00.000Z", i + 1);
        p.audit.created_at = p.evidence.created_at.clone();
        proposals.push(p);
    }
    (reads, proposals)
}

/// Every page of a listing, following the cursor; fails on a repeated cursor.
async fn all_pages<T, F, Fut>(mut f: RecordFilter, page: F) -> Vec<T>
where
    F: Fn(RecordFilter) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, LedgerError>>,
{
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    loop {
        let p = page(f.clone()).await.unwrap();
        out.extend(p.items);
        match p.next_cursor {
            Some(c) => {
                assert!(seen.insert(c.clone()), "a cursor came back twice");
                f.cursor = Some(c);
            }
            None => return out,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browse_pages_and_search_answer_as_the_sqlite_ledger_does() {
    let Some(db) = fresh().await else { return };
    let pg = connect(&db, "w1").await;
    let path = std::env::temp_dir().join(format!(
        "{}.sqlite",
        airlock_protocol::ids::new_id("pgbrowse")
    ));
    let lite = SqliteLedger::open(&path).unwrap();
    let (reads, proposals) = browse_records();
    for r in reads {
        pg.record_read(r.clone()).await.unwrap();
        lite.record_read(r).await.unwrap();
    }
    for p in proposals {
        pg.record_proposal(p.clone()).await.unwrap();
        lite.record_proposal(p).await.unwrap();
    }
    let (pg, lite) = (&pg, &lite);
    let time = |s: &str| {
        Some(LedgerTime::from_utc(
            chrono::DateTime::parse_from_rfc3339(s).unwrap().into(),
        ))
    };
    let injection = "'; DROP TABLE proposals; --";
    let filters = vec![
        RecordFilter::default(),
        RecordFilter {
            tenant: Some("acme".into()),
            ..Default::default()
        },
        RecordFilter {
            tenant: Some("globex".into()),
            capability: Some("crm.show_account".into()),
            ..Default::default()
        },
        RecordFilter {
            from: time("2026-01-03T00:00:00Z"),
            to: time("2026-01-06T23:00:00Z"),
            ..Default::default()
        },
        RecordFilter {
            outcome: Some("not_found".into()),
            ..Default::default()
        },
        RecordFilter {
            outcome: Some("pending_review".into()),
            ..Default::default()
        },
        RecordFilter {
            object_id: Some("INV-3".into()),
            ..Default::default()
        },
        RecordFilter {
            object_id: Some("100%_off".into()),
            ..Default::default()
        },
        RecordFilter {
            object_id: Some("%".into()),
            ..Default::default()
        },
        RecordFilter {
            table: Some("invoices".into()),
            ..Default::default()
        },
        RecordFilter {
            table: Some("public.invoices".into()),
            ..Default::default()
        },
        RecordFilter {
            table: Some("voices".into()),
            ..Default::default()
        },
        RecordFilter {
            query_fingerprint: Some("sha256:abc".into()),
            tenant: Some("acme".into()),
            ..Default::default()
        },
        RecordFilter {
            tenant: Some(injection.into()),
            ..Default::default()
        },
        RecordFilter {
            capability: Some(injection.into()),
            principal: Some("%_".into()),
            ..Default::default()
        },
    ];
    for base in &filters {
        for limit in [0, 1, 4] {
            let f = RecordFilter {
                limit,
                ..base.clone()
            };
            let ids = |v: Vec<EvidenceBundle>| -> Vec<String> {
                v.into_iter().map(|e| e.evidence_bundle_id).collect()
            };
            let pg_ev =
                ids(all_pages(f.clone(), |f| async move { pg.evidence_page(&f).await }).await);
            let lite_ev =
                ids(all_pages(f.clone(), |f| async move { lite.evidence_page(&f).await }).await);
            assert_eq!(pg_ev, lite_ev, "evidence under {f:?}");
            let dedup: std::collections::BTreeSet<_> = pg_ev.iter().collect();
            assert_eq!(dedup.len(), pg_ev.len(), "a row shown twice under {f:?}");

            let audit = |v: Vec<QueryAudit>| -> Vec<(String, String, String)> {
                v.into_iter()
                    .map(|a| (a.created_at, a.tenant_id, a.object_id))
                    .collect()
            };
            let pg_a =
                audit(all_pages(f.clone(), |f| async move { pg.query_audit_page(&f).await }).await);
            let lite_a = audit(
                all_pages(
                    f.clone(),
                    |f| async move { lite.query_audit_page(&f).await },
                )
                .await,
            );
            assert_eq!(pg_a, lite_a, "query audit under {f:?}");

            let pids = |v: Vec<StoredProposal>| -> Vec<String> {
                v.into_iter().map(|p| p.proposal_id).collect()
            };
            let pg_p =
                pids(all_pages(f.clone(), |f| async move { pg.proposal_page(&f).await }).await);
            let lite_p =
                pids(all_pages(f.clone(), |f| async move { lite.proposal_page(&f).await }).await);
            assert_eq!(pg_p, lite_p, "proposals under {f:?}");
            assert_eq!(
                pg.proposal_count(&f).await.unwrap(),
                lite.proposal_count(&f).await.unwrap()
            );
            assert_eq!(pg.proposal_count(&f).await.unwrap(), pg_p.len() as u64);

            let pg_r = all_pages(f.clone(), |f| async move { pg.receipt_page(&f).await }).await;
            assert!(pg_r.is_empty());

            // A search without text walks the same records (events aside, whose sequence
            // numbers differ between engines) on both.
            let hits = |v: Vec<Hit>| -> Vec<(RecordKind, String)> {
                v.into_iter()
                    .filter(|h| h.kind != RecordKind::Event)
                    .map(|h| (h.kind, h.id))
                    .collect()
            };
            let pg_h =
                hits(all_pages(f.clone(), |f| async move { pg.search(None, &f).await }).await);
            let lite_h =
                hits(all_pages(f.clone(), |f| async move { lite.search(None, &f).await }).await);
            assert_eq!(pg_h, lite_h, "search under {f:?}");
        }
    }
    // The filters that name nothing match nothing (and dropped nothing).
    for f in &filters[13..] {
        assert!(pg.evidence_page(f).await.unwrap().items.is_empty());
        assert_eq!(pg.proposal_count(f).await.unwrap(), 0);
    }
    assert_eq!(
        pg.proposal_count(&RecordFilter::default()).await.unwrap(),
        6
    );
    // A bare table name matches it in any schema, never a name it ends with.
    let bare = pg.evidence_page(&filters[9]).await.unwrap().items.len();
    assert_eq!(
        bare,
        pg.evidence_page(&filters[10]).await.unwrap().items.len()
    );
    assert!(bare > 0);
    assert!(
        pg.evidence_page(&filters[11])
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let literal = RecordFilter {
        object_id: Some("100%_off".into()),
        ..Default::default()
    };
    assert_eq!(pg.query_audit_page(&literal).await.unwrap().items.len(), 1);

    // Search texts: injection finds nothing, `%_` matches literally (the one object that holds
    // it), case is ignored.
    for text in [injection, "%_", "_off", "100%_OFF", "nothing-like-this"] {
        let t = SearchText::new(text).unwrap();
        let f = RecordFilter {
            limit: 3,
            ..Default::default()
        };
        let pg_h = all_pages(f.clone(), |f| {
            let t = t.clone();
            async move { pg.search(Some(&t), &f).await }
        })
        .await;
        let lite_h = all_pages(f.clone(), |f| {
            let t = t.clone();
            async move { lite.search(Some(&t), &f).await }
        })
        .await;
        let strip = |v: &[Hit]| -> Vec<(RecordKind, String, Vec<&'static str>, Option<String>)> {
            v.iter()
                .filter(|h| h.kind != RecordKind::Event)
                .map(|h| (h.kind, h.id.clone(), h.matched.clone(), h.snippet.clone()))
                .collect()
        };
        assert_eq!(strip(&pg_h), strip(&lite_h), "search {text:?}");
        if text == injection || text == "nothing-like-this" {
            assert!(pg_h.is_empty(), "{text:?} found {pg_h:?}");
        } else {
            // The audit row and the evidence of read 7.
            assert_eq!(pg_h.len(), 2, "{text:?}: {pg_h:?}");
            assert!(
                pg_h.iter()
                    .all(|h| h.snippet.as_deref() == Some("100%_off"))
            );
        }
    }
    // The tables are all still there.
    assert_eq!(
        pg.proposal_count(&RecordFilter::default()).await.unwrap(),
        6
    );

    // A tampered cursor, and one used with other filters or another listing, are refused.
    let page = pg
        .evidence_page(&RecordFilter {
            limit: 2,
            ..Default::default()
        })
        .await
        .unwrap();
    let token = page.next_cursor.unwrap();
    let mut tampered = token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == '0' { '1' } else { '0' });
    let refused = |f: RecordFilter| async move {
        match pg.evidence_page(&f).await {
            Err(LedgerError::Cursor { code, .. }) => code,
            other => panic!("expected a cursor error, got {other:?}"),
        }
    };
    let code = refused(RecordFilter {
        limit: 2,
        cursor: Some(tampered),
        ..Default::default()
    })
    .await;
    assert_eq!(code, "CURSOR_TAMPERED");
    let code = refused(RecordFilter {
        limit: 2,
        tenant: Some("globex".into()),
        cursor: Some(token.clone()),
        ..Default::default()
    })
    .await;
    assert_eq!(code, "CURSOR_MISMATCH");
    let code = refused(RecordFilter {
        cursor: Some(format!("{injection}.00")),
        ..Default::default()
    })
    .await;
    assert_eq!(code, "CURSOR_MALFORMED");
    let foreign = pg
        .proposal_page(&RecordFilter {
            cursor: Some(token),
            limit: 2,
            ..Default::default()
        })
        .await;
    assert!(matches!(
        foreign,
        Err(LedgerError::Cursor {
            code: "CURSOR_MISMATCH",
            ..
        })
    ));
    let _ = std::fs::remove_file(&path);
}

/// Rows of the tables a reader could change, as one comparable text.
async fn ledger_rows(db: &FreshDb) -> String {
    scalar(
        db,
        "SELECT (SELECT count(*) FROM airlock.writers) || ' writers, '
             || (SELECT count(*) FROM airlock.events) || ' events, head '
             || (SELECT coalesce(max(seq), 0) FROM airlock.events) || ', '
             || (SELECT count(*) FROM airlock.event_deliveries) || ' deliveries, '
             || (SELECT string_agg(writer_id || ':' || coalesce(closed_at, 'open'), ',' ORDER BY writer_id) FROM airlock.writers)",
    )
    .await
}

fn refused<T: std::fmt::Debug>(result: Result<T, LedgerError>, what: &str) {
    match result {
        Err(LedgerError::ReadOnly {
            what: said,
            location,
        }) => {
            assert!(said.contains(what), "{said} / {what}");
            assert!(location.contains("schema airlock"), "{location}");
        }
        other => panic!("{what}: expected a read-only refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_open_registers_no_writer_and_refuses_every_write() {
    let Some(db) = fresh().await else { return };
    // Nothing there yet: a reader neither creates nor migrates the schema.
    let err = PostgresLedger::connect_read_only(&db.url, options("reader"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, LedgerError::Missing { path } if path.contains("schema airlock")),
        "{err}"
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'airlock'"
        )
        .await,
        "0"
    );
    // A hostile schema name never reaches SQL.
    let err = PostgresLedger::connect_read_only(
        &db.url,
        PgLedgerOptions {
            schema: "airlock; DROP SCHEMA public CASCADE".into(),
            ..options("reader")
        },
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("plain lowercase"), "{err}");

    let (a, _b, p) = seeded(&db).await;
    let before = ledger_rows(&db).await;
    let r = PostgresLedger::connect_read_only(&db.url, options("reader"))
        .await
        .unwrap();
    assert!(r.is_read_only());
    assert_eq!(r.writer_id(), None);
    // Every read answers.
    assert_eq!(
        r.proposal(&p.proposal_id).await.unwrap(),
        a.proposal(&p.proposal_id).await.unwrap()
    );
    assert!(r.verify().await.unwrap().ok);
    assert_eq!(r.stats().await.unwrap().proposals, 1);
    assert_eq!(r.chain_heads().await.unwrap().len(), 2);
    assert!(!r.replay(&p.proposal_id).await.unwrap().events.is_empty());
    assert!(
        !r.events(&EventQuery {
            after_seq: Some(0),
            ..Default::default()
        })
        .await
        .unwrap()
        .is_empty()
    );
    // Every write is refused, naming what was tried.
    let key = ReviewKey::issue();
    refused(r.record_read(read("R-1")).await, "read");
    refused(
        r.record_proposal(new_proposal("INV-9", 0)).await,
        "proposal",
    );
    refused(r.approve(&key, decision(&p)).await, "approving");
    refused(r.reject(&key, decision(&p)).await, "rejecting");
    let job = job(&p, 60);
    refused(r.begin_apply(&key, &job, &actor()).await, "apply");
    refused(
        r.record_receipt(
            &key,
            &receipt(&job, "applied", "r1"),
            AttemptEffect::Settled,
            "dana",
        )
        .await,
        "receipt",
    );
    refused(
        r.register_destination("hook", "https://example.invalid", 0)
            .await,
        "destination",
    );
    refused(r.record_delivered("hook", 1).await, "delivery");
    refused(r.advance_cursor("hook", 1).await, "cursor");
    refused(
        r.record_failed_attempt("hook", 1, 1, "x", "2030-01-01T00:00:00.000Z")
            .await,
        "failed delivery",
    );
    refused(
        r.record_human_action(&NewHumanAction {
            capability: "billing.reverse_late_fee".into(),
            tenant_id: "acme".into(),
            object_id: "INV-1".into(),
            proposal_id: None,
            actor: "dana".into(),
            patch: serde_json::Map::new(),
            notes: None,
        })
        .await,
        "human action",
    );
    r.close().await.unwrap();
    assert_eq!(
        ledger_rows(&db).await,
        before,
        "a reader changed the ledger"
    );
    assert!(r.verify().await.unwrap().ok);

    // A ledger of another version is refused, never migrated by a reader.
    db.execute_batch(&format!(
        "DELETE FROM airlock.schema_migrations WHERE version = {SCHEMA_VERSION}"
    ))
    .await
    .unwrap();
    let err = PostgresLedger::connect_read_only(&db.url, options("reader"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("older than"), "{err}");
    assert_eq!(
        scalar(&db, "SELECT max(version) FROM airlock.schema_migrations").await,
        (SCHEMA_VERSION - 1).to_string()
    );
    db.execute_batch(&format!(
        "INSERT INTO airlock.schema_migrations (version) VALUES ({SCHEMA_VERSION}), ({})",
        SCHEMA_VERSION + 1
    ))
    .await
    .unwrap();
    assert!(matches!(
        PostgresLedger::connect_read_only(&db.url, options("reader")).await,
        Err(LedgerError::TooNew { .. })
    ));
}

/// The tables a tampering test edits, copied aside so each tampering starts from the same
/// whole ledger.
const TAMPERED_TABLES: [&str; 9] = [
    "writers",
    "events",
    "proposals",
    "evidence_bundles",
    "query_audit",
    "approvals",
    "writeback_jobs",
    "receipts",
    "human_actions",
];

async fn keep_pristine(db: &FreshDb) {
    let mut sql = String::from("CREATE SCHEMA pristine;");
    for t in TAMPERED_TABLES {
        sql.push_str(&format!("CREATE TABLE pristine.{t} AS TABLE airlock.{t};"));
    }
    db.execute_batch(&sql).await.unwrap();
}

async fn restore_pristine(db: &FreshDb) {
    let mut sql = String::new();
    for t in TAMPERED_TABLES {
        sql.push_str(&format!(
            "DELETE FROM airlock.{t}; INSERT INTO airlock.{t} SELECT * FROM pristine.{t};"
        ));
    }
    db.execute_batch(&sql).await.unwrap();
}

/// Three writers append at once (reads, proposals, a decision, an apply with its receipt),
/// then each kind of tampering is made in the database and `verify`, through a reader that
/// is none of them, names it; the ledger is restored whole between kinds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_of_three_writers_catches_every_kind_of_tampering() {
    let Some(db) = fresh().await else { return };
    let writers = Arc::new([
        connect(&db, "w1").await,
        connect(&db, "w2").await,
        connect(&db, "w3").await,
    ]);
    let tasks: Vec<_> = (0..3)
        .map(|w| {
            let writers = writers.clone();
            tokio::spawn(async move {
                let l = &writers[w];
                let mut proposals = Vec::new();
                for i in 0..30 {
                    l.record_read(read(&format!("W{w}-{i}"))).await.unwrap();
                    if i % 10 == 0 {
                        let p = l
                            .record_proposal(new_proposal(&format!("INV-{w}-{i}"), 0))
                            .await
                            .unwrap()
                            .proposal;
                        proposals.push(p);
                    }
                }
                proposals
            })
        })
        .collect();
    let mut proposals = Vec::new();
    for t in tasks {
        proposals.extend(t.await.unwrap());
    }
    assert_eq!(proposals.len(), 9);
    // w2 approves a proposal w1 recorded; w3 applies it and records the receipt.
    let key = ReviewKey::issue();
    let p = &proposals[0];
    writers[1].approve(&key, decision(p)).await.unwrap();
    let job = job(p, 60);
    writers[2].begin_apply(&key, &job, &actor()).await.unwrap();
    writers[2]
        .record_receipt(
            &key,
            &receipt(&job, "applied", "w3"),
            AttemptEffect::Settled,
            "dana",
        )
        .await
        .unwrap();
    // Closed in order: w3's last anchor names the final heads of w1 and w2.
    for w in writers.iter() {
        w.close().await.unwrap();
    }
    let reader = PostgresLedger::connect_read_only(&db.url, options("reader"))
        .await
        .unwrap();
    let report = reader.verify().await.unwrap();
    assert!(report.ok, "{report:?}");
    assert!(report.anchors_checked >= 3, "{report:?}");
    keep_pristine(&db).await;

    // A middle event of w2 that records evidence (not an anchor), and the one after it.
    let middle: i64 = scalar(
        &db,
        "SELECT writer_seq FROM airlock.events WHERE writer_id = 'w2'
         AND subject_kind = 'evidence' ORDER BY writer_seq OFFSET 10 LIMIT 1",
    )
    .await
    .parse()
    .unwrap();
    let next = middle + 1;
    // The first event of w3 numbered after it: swapping the two numbers keeps w2's chain in
    // order, so only the hashes can tell.
    let other: i64 = scalar(
        &db,
        &format!(
            "SELECT writer_seq FROM airlock.events WHERE writer_id = 'w3' AND seq >
                 (SELECT seq FROM airlock.events WHERE writer_id = 'w2' AND writer_seq = {middle})
             ORDER BY seq LIMIT 1"
        ),
    )
    .await
    .parse()
    .unwrap();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "an event's payload altered",
            format!(
                "UPDATE airlock.events SET payload_json = (payload_json::jsonb || '{{\"tampered\": true}}')::text
                 WHERE writer_id = 'w2' AND writer_seq = {middle}"
            ),
            "EVENT_HASH_MISMATCH",
        ),
        (
            "an event deleted from the middle of a chain",
            format!("DELETE FROM airlock.events WHERE writer_id = 'w2' AND writer_seq = {middle}"),
            "SEQUENCE_GAP",
        ),
        (
            "the tail of a chain deleted, with the records it covered",
            "DELETE FROM airlock.evidence_bundles WHERE evidence_bundle_id IN (SELECT subject_id FROM airlock.events
                 WHERE writer_id = 'w1' AND subject_kind = 'evidence' AND writer_seq > (SELECT max(writer_seq) - 4 FROM airlock.events WHERE writer_id = 'w1'));
             DELETE FROM airlock.query_audit WHERE audit_id::text IN (SELECT subject_id FROM airlock.events
                 WHERE writer_id = 'w1' AND subject_kind = 'query_audit' AND writer_seq > (SELECT max(writer_seq) - 4 FROM airlock.events WHERE writer_id = 'w1'));
             DELETE FROM airlock.events WHERE writer_id = 'w1'
                 AND writer_seq > (SELECT max(writer_seq) - 4 FROM airlock.events WHERE writer_id = 'w1')"
                .into(),
            "ANCHOR_TRUNCATED",
        ),
        (
            "two events of one chain swapped",
            format!(
                "UPDATE airlock.events SET writer_seq = -writer_seq
                     WHERE writer_id = 'w2' AND writer_seq IN ({middle}, {next});
                 UPDATE airlock.events SET writer_seq = CASE writer_seq
                     WHEN -{middle} THEN {next} ELSE {middle} END
                 WHERE writer_id = 'w2' AND writer_seq IN (-{middle}, -{next})"
            ),
            "PREV_HASH_MISMATCH",
        ),
        (
            "two events of different writers swapping their global numbers",
            format!(
                "UPDATE airlock.events SET seq = -seq WHERE (writer_id = 'w2' AND writer_seq = {middle}) OR (writer_id = 'w3' AND writer_seq = {other});
                 UPDATE airlock.events SET seq = CASE writer_id
                     WHEN 'w2' THEN (SELECT -seq FROM airlock.events WHERE writer_id = 'w3' AND writer_seq = {other})
                     ELSE (SELECT -seq FROM airlock.events WHERE writer_id = 'w2' AND writer_seq = {middle}) END
                 WHERE seq < 0"
            ),
            "EVENT_HASH_MISMATCH",
        ),
        (
            "a writer row deleted",
            "DELETE FROM airlock.writers WHERE writer_id = 'w3'".into(),
            "WRITER_UNKNOWN",
        ),
        (
            "a writer row edited",
            "UPDATE airlock.writers SET host = 'elsewhere' WHERE writer_id = 'w1'".into(),
            "RECORD_HASH_MISMATCH",
        ),
        (
            "a writer's whole chain removed",
            "DELETE FROM airlock.events WHERE writer_id = 'w2'; DELETE FROM airlock.writers WHERE writer_id = 'w2'".into(),
            "ANCHOR_TRUNCATED",
        ),
        (
            "an evidence row edited",
            "UPDATE airlock.evidence_bundles SET items_json = replace(items_json, '500', '0') WHERE object_id = 'W1-17'".into(),
            "RECORD_HASH_MISMATCH",
        ),
        (
            "a receipt edited",
            "UPDATE airlock.receipts SET status = 'failed'".into(),
            "RECORD_HASH_MISMATCH",
        ),
        (
            "a receipt's JSON replaced",
            "UPDATE airlock.receipts SET receipt_json = (receipt_json::jsonb || '{\"rows_affected\": 7}')::text".into(),
            "RECORD_HASH_MISMATCH",
        ),
    ];
    for (what, sql, code) in cases {
        db.execute_batch(&sql)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let report = reader.verify().await.unwrap();
        let b = report
            .first_break
            .unwrap_or_else(|| panic!("{what}: verify passed"));
        assert_eq!(b.code, code, "{what}: {b:?}");
        restore_pristine(&db).await;
        assert!(reader.verify().await.unwrap().ok, "{what}: not restored");
    }
}
