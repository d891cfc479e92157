//! Ledger behaviour on a real SQLite file: recording, dedupe, chain verification and tamper
//! detection, concurrent writers, read-only opening.

use std::path::Path;

use airlock_ledger::*;
use airlock_protocol::{ChangeSet, ids};
use serde_json::json;

fn evidence(tenant: &str, object: &str) -> EvidenceBundle {
    EvidenceBundle {
        evidence_bundle_id: ids::new_id(ids::EVIDENCE),
        proposal_id: None,
        tenant_id: tenant.into(),
        principal: "agent_1".into(),
        capability: "billing.inspect_invoice".into(),
        source_id: "app".into(),
        source_table: "public.invoices".into(),
        business_object: "invoices".into(),
        object_id: object.into(),
        query_fingerprint: "sha256:abc".into(),
        payload: json!({"capability": "billing.inspect_invoice"}),
        items: vec![
            json!({"kind": "external_row", "visible_row": {"id": object, "late_fee_cents": 500}}),
        ],
        created_at: airlock_protocol::now_rfc3339(),
    }
}

fn audit(tenant: &str, object: &str, ev: Option<&EvidenceBundle>) -> QueryAudit {
    QueryAudit {
        audit_id: 0,
        proposal_id: None,
        evidence_bundle_id: ev.map(|e| e.evidence_bundle_id.clone()),
        tenant_id: tenant.into(),
        principal: "agent_1".into(),
        capability: "billing.inspect_invoice".into(),
        business_object: "invoices".into(),
        object_id: object.into(),
        source_id: "app".into(),
        query_fingerprint: "sha256:abc".into(),
        table_name: "public.invoices".into(),
        row_count: ev.map_or(0, |_| 1),
        duration_us: 120,
        outcome: if ev.is_some() { "ok" } else { "not_found" }.into(),
        payload: json!({"statement_template": "SELECT ...", "parameters_redacted": true}),
        created_at: airlock_protocol::now_rfc3339(),
    }
}

fn change_set(object: &str, fee: i64) -> ChangeSet {
    let mut v = airlock_testkit::read_json(
        &airlock_testkit::repo_root().join("examples/protocol"),
        "change-set.fee-reversal.v1.json",
    );
    v["scope"]["tenant_id"] = json!("acme");
    v["guards"]["tenant"]["value"] = json!("acme");
    v["scope"]["object_id"] = json!(object);
    v["patch"]["late_fee_cents"] = json!(fee);
    let mut cs: ChangeSet = serde_json::from_value(v).unwrap();
    cs.proposal_id = ids::new_id(ids::PROPOSAL);
    cs.created_at = airlock_protocol::now_rfc3339();
    cs.seal();
    cs
}

fn new_proposal(object: &str, fee: i64) -> NewProposal {
    let ev = evidence("acme", object);
    let a = audit("acme", object, Some(&ev));
    NewProposal {
        change_set: change_set(object, fee),
        dedupe_key: format!("dk:{object}:{fee}"),
        evidence: ev,
        audit: a,
        approval_policy: Default::default(),
    }
}

fn open(dir: &Path) -> SqliteLedger {
    SqliteLedger::open(&dir.join("nested/ledger.db")).unwrap()
}

fn raw(dir: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.join("nested/ledger.db")).unwrap()
}

#[tokio::test]
async fn records_reads_and_proposals_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
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
    assert_eq!(p.proposal.state, "pending_review");

    let shown = ledger.evidence(&ev.evidence_bundle_id).await.unwrap();
    assert_eq!(shown.bundle, ev);
    assert_eq!(shown.query_audit.len(), 1);

    let latest = ledger.proposal("latest").await.unwrap();
    assert_eq!(latest.proposal_id, p.proposal.proposal_id);
    let events = ledger.proposal_events(&latest.proposal_id).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
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
    assert_eq!(report.events_checked, 6);
}

#[tokio::test]
async fn an_identical_open_proposal_is_returned_not_duplicated() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let first = ledger
        .record_proposal(new_proposal("INV-1", 0))
        .await
        .unwrap();
    let again = ledger
        .record_proposal(new_proposal("INV-1", 0))
        .await
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.proposal.proposal_id, first.proposal.proposal_id);
    let different = ledger
        .record_proposal(new_proposal("INV-1", 10))
        .await
        .unwrap();
    assert!(different.created);
    let all = ledger
        .proposal_page(&RecordFilter::default())
        .await
        .unwrap()
        .items;
    assert_eq!(all.len(), 2);
    // Both reads were recorded, both linked to the proposal they produced.
    let audits = ledger
        .query_audit_page(&RecordFilter {
            proposal: Some(first.proposal.proposal_id.clone()),
            ..Default::default()
        })
        .await
        .unwrap()
        .items;
    assert_eq!(audits.len(), 2);
    assert!(ledger.verify().await.unwrap().ok);
}

#[tokio::test]
async fn proposal_pages_counts_age_filter_and_chain_head() {
    let tmp = tempfile::tempdir().unwrap();
    let ledger = open(tmp.path());
    assert_eq!(ledger.chain_head().await.unwrap(), None);
    for fee in 0..7 {
        ledger
            .record_proposal(new_proposal("INV-1", fee))
            .await
            .unwrap();
    }
    let all = RecordFilter {
        limit: 3,
        ..Default::default()
    };
    assert_eq!(ledger.proposal_count(&all).await.unwrap(), 7);
    let first = ledger.proposal_page(&all).await.unwrap().items;
    let third = ledger
        .proposal_page(&RecordFilter {
            offset: 6,
            ..all.clone()
        })
        .await
        .unwrap()
        .items;
    assert_eq!((first.len(), third.len()), (3, 1));
    assert!(!first.iter().any(|p| p.proposal_id == third[0].proposal_id));
    // Nothing is older than a time before the first proposal.
    let old = RecordFilter {
        to: Some(LedgerTime::from_utc(
            chrono::DateTime::parse_from_rfc3339("2000-01-01T00:00:00Z")
                .unwrap()
                .into(),
        )),
        ..Default::default()
    };
    assert_eq!(ledger.proposal_count(&old).await.unwrap(), 0);
    // Another tenant has none; an injection string is a value.
    for tenant in ["globex", "' OR 1=1 --"] {
        let other_tenant = RecordFilter {
            tenant: Some(tenant.into()),
            ..Default::default()
        };
        assert_eq!(ledger.proposal_count(&other_tenant).await.unwrap(), 0);
    }
    let head = ledger.chain_head().await.unwrap().unwrap();
    let report = ledger.verify().await.unwrap();
    assert_eq!(Some(head), report.head);
}

async fn seeded(dir: &Path) -> (SqliteLedger, String, String) {
    let ledger = open(dir);
    let ev = evidence("acme", "INV-1");
    ledger
        .record_read(NewRead {
            evidence: Some(ev.clone()),
            audit: audit("acme", "INV-1", Some(&ev)),
        })
        .await
        .unwrap();
    let p = ledger
        .record_proposal(new_proposal("INV-2", 0))
        .await
        .unwrap();
    ledger
        .record_read(NewRead {
            evidence: None,
            audit: audit("acme", "INV-3", None),
        })
        .await
        .unwrap();
    assert!(ledger.verify().await.unwrap().ok);
    (ledger, ev.evidence_bundle_id, p.proposal.proposal_id)
}

async fn expect_break(ledger: &SqliteLedger, code: &str) -> VerifyBreak {
    let report = ledger.verify().await.unwrap();
    assert!(!report.ok, "tampering went unnoticed");
    let b = report.first_break.unwrap();
    assert_eq!(b.code, code, "{b:?}");
    b
}

#[tokio::test]
async fn verify_finds_an_edited_evidence_row() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, ev, _) = seeded(dir.path()).await;
    raw(dir.path())
        .execute("UPDATE evidence_bundles SET items_json = replace(items_json, '500', '0') WHERE evidence_bundle_id = ?1", [&ev])
        .unwrap();
    let b = expect_break(&ledger, "RECORD_HASH_MISMATCH").await;
    assert_eq!(b.seq, 1);
}

#[tokio::test]
async fn verify_finds_an_edited_change_set() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, _, pid) = seeded(dir.path()).await;
    raw(dir.path())
        .execute("UPDATE proposals SET change_set_json = replace(change_set_json, '\"late_fee_cents\":0', '\"late_fee_cents\":1') WHERE proposal_id = ?1", [&pid])
        .unwrap();
    expect_break(&ledger, "PROPOSAL_HASH_INVALID").await;
}

#[tokio::test]
async fn verify_finds_a_state_changed_behind_its_back() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, _, pid) = seeded(dir.path()).await;
    raw(dir.path())
        .execute(
            "UPDATE proposals SET state = 'approved' WHERE proposal_id = ?1",
            [&pid],
        )
        .unwrap();
    expect_break(&ledger, "STATE_MISMATCH").await;
}

#[tokio::test]
async fn an_unknown_state_word_is_a_clear_error_and_a_break() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, _, pid) = seeded(dir.path()).await;
    raw(dir.path())
        .execute(
            "UPDATE proposals SET state = 'on_hold' WHERE proposal_id = ?1",
            [&pid],
        )
        .unwrap();
    // Reading names the word and the column instead of panicking or passing it on.
    let e = ledger.proposal(&pid).await.unwrap_err().to_string();
    assert!(e.contains("unknown proposal state `on_hold`"), "{e}");
    assert!(e.contains("pending_review"), "{e}");
    let b = expect_break(&ledger, "RECORD_HASH_MISMATCH").await;
    assert!(b.detail.contains("on_hold"), "{b:?}");
}

#[tokio::test]
async fn verify_finds_edited_and_deleted_events_and_audit_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, _, _) = seeded(dir.path()).await;
    raw(dir.path())
        .execute("UPDATE events SET actor = 'mallory' WHERE seq = 3", [])
        .unwrap();
    assert_eq!(expect_break(&ledger, "EVENT_HASH_MISMATCH").await.seq, 3);

    let dir = tempfile::tempdir().unwrap();
    let (ledger, _, _) = seeded(dir.path()).await;
    raw(dir.path())
        .execute("DELETE FROM events WHERE seq = 2", [])
        .unwrap();
    expect_break(&ledger, "SEQUENCE_GAP").await;

    let dir = tempfile::tempdir().unwrap();
    let (ledger, _, _) = seeded(dir.path()).await;
    raw(dir.path())
        .execute(
            "UPDATE query_audit SET row_count = 9 WHERE outcome = 'not_found'",
            [],
        )
        .unwrap();
    expect_break(&ledger, "RECORD_HASH_MISMATCH").await;

    let dir = tempfile::tempdir().unwrap();
    let (ledger, _, _) = seeded(dir.path()).await;
    raw(dir.path())
        .execute("INSERT INTO query_audit (tenant_id, principal, capability, business_object, object_id, source_id, query_fingerprint, table_name, row_count, duration_us, outcome, payload_json, created_at) VALUES ('x','x','x','x','x','x','x','x',0,0,'ok','{}','x')", [])
        .unwrap();
    expect_break(&ledger, "UNCHAINED_RECORD").await;
}

#[test]
fn concurrent_writers_on_one_file_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    SqliteLedger::open(&path).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let path = path.clone();
            std::thread::spawn(move || {
                // A separate connection per writer, as two processes would have.
                let ledger = SqliteLedger::open(&path).unwrap();
                let rt = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap();
                for i in 0..100 {
                    let object = format!("INV-{t}-{i}");
                    let ev = evidence("acme", &object);
                    let a = audit("acme", &object, Some(&ev));
                    rt.block_on(ledger.record_read(NewRead {
                        evidence: Some(ev),
                        audit: a,
                    }))
                    .unwrap();
                    if i % 10 == 0 {
                        rt.block_on(ledger.record_proposal(new_proposal(&object, i)))
                            .unwrap();
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let ledger = SqliteLedger::open(&path).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let stats = rt.block_on(ledger.stats()).unwrap();
    assert_eq!(stats.query_audit, 440);
    assert_eq!(stats.evidence_bundles, 440);
    assert_eq!(stats.proposals, 40);
    assert_eq!(stats.events, 440 * 2 + 40);
    let report = rt.block_on(ledger.verify()).unwrap();
    assert!(report.ok, "{report:?}");
}

/// Many calls in flight on one ledger share commits (group commit). Each still gets its own
/// answer: a record that fails rolls back alone, identical proposals in one batch dedupe, and
/// the chain verifies afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_calls_share_commits_and_fail_alone() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = std::sync::Arc::new(open(dir.path()));
    // A record whose evidence id is already taken must fail without taking others with it.
    let taken = evidence("acme", "INV-taken");
    ledger
        .record_read(NewRead {
            audit: audit("acme", "INV-taken", Some(&taken)),
            evidence: Some(taken.clone()),
        })
        .await
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let ledger = ledger.clone();
        let taken = taken.clone();
        tasks.spawn(async move {
            match i % 4 {
                0 => {
                    // Same object and fee: one proposal, reused by the others.
                    let r = ledger
                        .record_proposal(new_proposal("INV-same", 0))
                        .await
                        .unwrap();
                    ("same", r.proposal.proposal_id, r.created)
                }
                1 if i == 101 => {
                    let err = ledger
                        .record_read(NewRead {
                            audit: audit("acme", "INV-dup", Some(&taken)),
                            evidence: Some(taken),
                        })
                        .await
                        .unwrap_err();
                    assert!(err.to_string().contains("UNIQUE"), "{err}");
                    ("failed", String::new(), false)
                }
                _ => {
                    let object = format!("INV-{i}");
                    let ev = evidence("acme", &object);
                    let r = ledger
                        .record_read(NewRead {
                            audit: audit("acme", &object, Some(&ev)),
                            evidence: Some(ev),
                        })
                        .await
                        .unwrap();
                    assert!(r.audit_id > 0);
                    ("read", String::new(), false)
                }
            }
        });
    }
    let mut same = std::collections::BTreeSet::new();
    let (mut created, mut reads, mut failed) = (0, 0, 0);
    while let Some(done) = tasks.join_next().await {
        let (kind, id, was_created) = done.unwrap();
        match kind {
            "same" => {
                same.insert(id);
                created += usize::from(was_created);
            }
            "read" => reads += 1,
            _ => failed += 1,
        }
    }
    assert_eq!((same.len(), created, failed), (1, 1, 1));
    let stats = ledger.stats().await.unwrap();
    // 1 seed read + 149 reads + 50 proposal calls (each with evidence and audit).
    assert_eq!(reads, 149);
    assert_eq!(stats.query_audit, 1 + 149 + 50);
    assert_eq!(stats.evidence_bundles, 1 + 149 + 50);
    assert_eq!(stats.proposals, 1);
    assert_eq!(stats.events, 2 * (1 + 149 + 50) + 1);
    let report = ledger.verify().await.unwrap();
    assert!(report.ok, "{report:?}");
    // Everything the callers were told is committed is visible to a fresh connection.
    drop(std::sync::Arc::into_inner(ledger).unwrap());
    let n: i64 = raw(dir.path())
        .query_row("SELECT count(*) FROM query_audit", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 200);
}

#[tokio::test]
async fn read_only_open_never_creates_a_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.db");
    let err = SqliteLedger::open_read_only(&path).unwrap_err();
    assert!(matches!(err, LedgerError::Missing { .. }), "{err}");
    assert!(err.hint().is_some());
    assert!(!path.exists());
    let err = SqliteLedger::open(&dir.path().join("x.db"))
        .unwrap()
        .proposal("latest")
        .await
        .unwrap_err();
    assert!(matches!(err, LedgerError::NoProposals));
}

#[tokio::test]
async fn a_ledger_from_a_newer_airlock_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.db");
    drop(SqliteLedger::open(&path).unwrap());
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("PRAGMA user_version = 99")
        .unwrap();
    assert!(matches!(
        SqliteLedger::open(&path).unwrap_err(),
        LedgerError::TooNew { found: 99, .. }
    ));
}

#[tokio::test]
async fn tool_call_heads_are_anchored_and_a_new_ledger_sets_an_old_anchor_aside() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, _, _) = seeded(dir.path()).await;
    let anchor = ledger.anchor_path().to_owned();
    drop(ledger); // the writer anchors its last commit when it stops
    let anchors = airlock_ledger::read_anchors(&anchor).unwrap();
    assert_eq!(anchors.last().map(|a| a.seq), Some(6), "{anchors:?}");
    let report = open(dir.path()).verify().await.unwrap();
    assert_eq!(report.anchored_seq, Some(6));

    // Starting over at the same path: the old anchor must not condemn the new chain.
    std::fs::remove_file(dir.path().join("nested/ledger.db")).unwrap();
    let ledger = open(dir.path());
    assert!(!anchor.exists(), "the stale anchor is still in place");
    let aside = std::fs::read_dir(dir.path().join("nested"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("ledger.db.anchor.replaced-")
        })
        .count();
    assert_eq!(aside, 1);
    ledger
        .record_proposal(new_proposal("INV-7", 0))
        .await
        .unwrap();
    assert!(ledger.verify().await.unwrap().ok);
}

/// A verify that runs while another process decides on proposals must read one snapshot: the
/// soak found `STATE_MISMATCH` when the proposals table was read after a decision that the
/// events read earlier did not yet show.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_reads_one_snapshot_while_a_writer_decides() {
    let dir = tempfile::tempdir().unwrap();
    let writer = open(dir.path());
    let reader = SqliteLedger::open_read_only(&dir.path().join("nested/ledger.db")).unwrap();
    let mut ids = Vec::new();
    for i in 0..200 {
        let p = writer
            .record_proposal(new_proposal(&format!("INV-{i}"), i))
            .await
            .unwrap();
        ids.push((p.proposal.proposal_id, p.proposal.proposal_hash));
    }
    let deciding = tokio::spawn(async move {
        for (i, (id, hash)) in ids.into_iter().enumerate() {
            let d = Decision {
                proposal_id: id,
                actor: Actor {
                    name: "dana".into(),
                    source: "flag".into(),
                },
                role: None,
                role_verified: None,
                reason: Some("snapshot test".into()),
                proposal_hash: hash,
            };
            let key = airlock_review_key::ReviewKey::issue();
            if i % 2 == 0 {
                writer.approve(&key, d).await.unwrap();
            } else {
                writer.reject(&key, d).await.unwrap();
            }
        }
    });
    let mut verified = 0;
    while !deciding.is_finished() {
        let report = reader.verify().await.unwrap();
        assert!(report.ok, "{report:?}");
        verified += 1;
    }
    deciding.await.unwrap();
    assert!(reader.verify().await.unwrap().ok);
    assert!(verified > 0);
}

/// Under a steady stream of calls the WAL stays bounded: the checkpointer truncates it once it
/// passes 64 MiB. Without that, PASSIVE checkpoints never caught the writer and a 10-minute soak
/// grew the WAL to 15 GB.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_wal_stays_bounded_under_steady_writes() {
    const LIMIT: u64 = 64 * 1024 * 1024;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let wal = dir.path().join("ledger.db-wal");
    let ledger = std::sync::Arc::new(SqliteLedger::open(&path).unwrap());
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..16)
        .map(|t| {
            let ledger = ledger.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut i = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let object = format!("INV-{t}-{i}");
                    let ev = evidence("acme", &object);
                    let a = audit("acme", &object, Some(&ev));
                    ledger
                        .record_read(NewRead {
                            evidence: Some(ev),
                            audit: a,
                        })
                        .await
                        .unwrap();
                    i += 1;
                }
            })
        })
        .collect();
    // Write until 3x the limit has gone through the WAL into the database, watching the WAL.
    let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    let mut largest = 0;
    let started = std::time::Instant::now();
    while size(&path) < 3 * LIMIT && started.elapsed() < std::time::Duration::from_secs(240) {
        largest = largest.max(size(&wal));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    assert!(
        size(&path) >= 3 * LIMIT,
        "wrote {} MiB in 240 s; too slow to test",
        size(&path) >> 20
    );
    assert!(
        largest < 2 * LIMIT,
        "the WAL reached {} MiB under steady writes",
        largest >> 20
    );
}

// ---- Retention, backup and storage statistics ----

fn days_ago(days: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::days(days))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A read (evidence and audit) created at `at`.
fn read_at(object: &str, at: &str) -> NewRead {
    let mut ev = evidence("acme", object);
    ev.created_at = at.into();
    let mut a = audit("acme", object, Some(&ev));
    a.created_at = at.into();
    NewRead {
        evidence: Some(ev),
        audit: a,
    }
}

fn decision(p: &StoredProposal) -> Decision {
    Decision {
        proposal_id: p.proposal_id.clone(),
        actor: Actor {
            name: "dana".into(),
            source: "flag".into(),
        },
        role: None,
        role_verified: None,
        reason: Some("retention test".into()),
        proposal_hash: p.proposal_hash.clone(),
    }
}

/// 40 reads from 100 days ago, three proposals (one left open, one approved, one rejected),
/// then 10 reads from today. Returns the ledger and the three proposals.
async fn aged(dir: &Path) -> (SqliteLedger, [StoredProposal; 3]) {
    let ledger = open(dir);
    let old = days_ago(100);
    for i in 0..40 {
        ledger
            .record_read(read_at(&format!("OLD-{i}"), &old))
            .await
            .unwrap();
    }
    let mut made = Vec::new();
    for i in 0..3 {
        let p = ledger
            .record_proposal(new_proposal(&format!("P-{i}"), i))
            .await
            .unwrap();
        made.push(p.proposal);
    }
    let key = airlock_review_key::ReviewKey::issue();
    ledger.approve(&key, decision(&made[1])).await.unwrap();
    ledger.reject(&key, decision(&made[2])).await.unwrap();
    let today = airlock_protocol::now_rfc3339();
    for i in 0..10 {
        ledger
            .record_read(read_at(&format!("NEW-{i}"), &today))
            .await
            .unwrap();
    }
    (ledger, made.try_into().unwrap())
}

#[tokio::test]
async fn a_dry_run_changes_nothing_and_a_prune_keeps_proof_and_open_proposals() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, [open_p, approved, rejected]) = aged(dir.path()).await;
    let before = ledger.storage_stats().unwrap();

    // 90 days: only the 40 old reads are old enough.
    let plan = ledger.prune_plan(&days_ago(90)).unwrap();
    assert_eq!(plan.removes["evidence"], 40);
    assert_eq!(plan.removes["query_audit"], 40);
    assert_eq!(plan.events(), 80);
    let after_dry = ledger.storage_stats().unwrap();
    assert_eq!(after_dry.counts, before.counts);
    assert_eq!(after_dry.head, before.head);

    // An odd batch size splits reads across batches; they still go together.
    let report = ledger.prune(&days_ago(90), 7, |_| {}).unwrap();
    assert!(report.batches >= 10, "{report:?}");
    let verified = ledger.verify().await.unwrap();
    assert!(verified.ok, "{verified:?}");
    assert_eq!(verified.awaiting_prune, 0);
    let checkpoint = verified.checkpoint.clone().expect("a checkpoint");
    assert_eq!(checkpoint.cut.seq, 80);
    assert_eq!(Some(checkpoint.event_seq), report.checkpoint_seq);
    let stats = ledger.storage_stats().unwrap();
    assert_eq!(
        stats.counts.evidence_bundles,
        before.counts.evidence_bundles - 40
    );
    assert_eq!(stats.counts.proposals, 3);
    assert_eq!(stats.checkpoint, Some(checkpoint));

    // Everything until now: the rejected proposal goes, the open and approved ones stay
    // with their evidence, and the chain goes on.
    let report = ledger
        .prune(&airlock_protocol::now_rfc3339(), 1000, |_| {})
        .unwrap();
    assert_eq!(report.plan.proposals_kept, 2, "{report:?}");
    assert_eq!(report.plan.removes["proposal"], 1);
    let verified = ledger.verify().await.unwrap();
    assert!(verified.ok, "{verified:?}");
    for kept in [&open_p, &approved] {
        let replay = ledger.replay(&kept.proposal_id).await.unwrap();
        assert_eq!(replay.proposal.proposal_id, kept.proposal_id);
    }
    assert!(matches!(
        ledger.proposal(&rejected.proposal_id).await,
        Err(LedgerError::NotFound { .. })
    ));
    let stats = ledger.storage_stats().unwrap();
    assert_eq!(stats.counts.evidence_bundles, 2, "{stats:?}");
    assert_eq!(stats.counts.proposals, 2);
    let head = stats.head.unwrap().seq;
    ledger
        .record_read(read_at("AFTER", &airlock_protocol::now_rfc3339()))
        .await
        .unwrap();
    let verified = ledger.verify().await.unwrap();
    assert!(verified.ok, "{verified:?}");
    assert_eq!(verified.head.unwrap().seq, head + 2);

    // A prune with nothing to remove writes no checkpoint.
    let again = ledger.prune(&days_ago(90), 100, |_| {}).unwrap();
    assert_eq!(again.checkpoint_seq, None);
}

#[tokio::test]
async fn tampering_below_a_checkpoint_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, [open_p, ..]) = aged(dir.path()).await;
    ledger
        .prune(&airlock_protocol::now_rfc3339(), 500, |_| {})
        .unwrap();
    assert!(ledger.verify().await.unwrap().ok);
    let db = raw(dir.path());
    let kept_seq: i64 = db
        .query_row(
            "SELECT min(seq) FROM events WHERE proposal_id = ?1",
            [&open_p.proposal_id],
            |r| r.get(0),
        )
        .unwrap();

    // The checkpoint's own payload is chained.
    db.execute(
        "UPDATE events SET payload_json = replace(payload_json, '\"cutoff\":\"', '\"cutoff\":\"1') WHERE kind = 'ledger_pruned'",
        [],
    )
    .unwrap();
    expect_break(&ledger, "EVENT_HASH_MISMATCH").await;
    db.execute(
        "UPDATE events SET payload_json = replace(payload_json, '\"cutoff\":\"1', '\"cutoff\":\"') WHERE kind = 'ledger_pruned'",
        [],
    )
    .unwrap();
    assert!(ledger.verify().await.unwrap().ok);

    // A kept event removed with its record (the proposal's evidence, here): the checkpoint
    // lists it.
    db.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
    let (subject_kind, subject_id): (String, String) = db
        .query_row(
            "SELECT subject_kind, subject_id FROM events WHERE proposal_id = ?1 AND subject_kind = 'evidence'",
            [&open_p.proposal_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(subject_kind, "evidence");
    db.execute(
        "DELETE FROM evidence_bundles WHERE evidence_bundle_id = ?1",
        [&subject_id],
    )
    .unwrap();
    db.execute(
        "DELETE FROM events WHERE subject_kind = 'evidence' AND subject_id = ?1",
        [&subject_id],
    )
    .unwrap();
    let b = expect_break(&ledger, "CHECKPOINT_MISMATCH").await;
    assert!(b.seq > kept_seq, "{b:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_prune_while_calls_are_recorded_loses_nothing_that_should_stay() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = std::sync::Arc::new(open(dir.path()));
    let old = days_ago(100);
    for i in 0..3000 {
        ledger
            .record_read(read_at(&format!("OLD-{i}"), &old))
            .await
            .unwrap();
    }
    let open_p = ledger
        .record_proposal(new_proposal("KEEP", 1))
        .await
        .unwrap()
        .proposal;
    let cutoff = days_ago(1);
    let writer = {
        let ledger = ledger.clone();
        tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..1500 {
                let r = ledger
                    .record_read(read_at(
                        &format!("NEW-{i}"),
                        &airlock_protocol::now_rfc3339(),
                    ))
                    .await
                    .unwrap();
                ids.push(r.audit_id);
            }
            ids
        })
    };
    let pruner = {
        let ledger = ledger.clone();
        let cutoff = cutoff.clone();
        tokio::task::spawn_blocking(move || ledger.prune(&cutoff, 200, |_| {}).unwrap())
    };
    let report = pruner.await.unwrap();
    let ids = writer.await.unwrap();
    assert_eq!(report.plan.removes["query_audit"], 3000, "{report:?}");
    let verified = ledger.verify().await.unwrap();
    assert!(verified.ok, "{verified:?}");
    let stats = ledger.storage_stats().unwrap();
    assert_eq!(stats.counts.query_audit, 1500 + 1);
    assert_eq!(stats.counts.evidence_bundles, 1500 + 1);
    let db = raw(dir.path());
    let mut present = db
        .prepare("SELECT count(*) FROM query_audit WHERE audit_id = ?1")
        .unwrap();
    for id in ids {
        let n: i64 = present.query_row([id], |r| r.get(0)).unwrap();
        assert_eq!(n, 1, "audit {id}, recorded during the prune, is gone");
    }
    ledger.replay(&open_p.proposal_id).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_while_calls_are_recorded_verifies_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = std::sync::Arc::new(open(dir.path()));
    for i in 0..500 {
        ledger
            .record_read(read_at(&format!("R-{i}"), &airlock_protocol::now_rfc3339()))
            .await
            .unwrap();
    }
    let writer = {
        let ledger = ledger.clone();
        tokio::spawn(async move {
            for i in 0..2000 {
                ledger
                    .record_read(read_at(&format!("W-{i}"), &airlock_protocol::now_rfc3339()))
                    .await
                    .unwrap();
            }
        })
    };
    let dest = dir.path().join("backups/copy.db");
    let report = ledger.backup(&dest).unwrap();
    writer.await.unwrap();
    let copy = SqliteLedger::open_read_only(&dest).unwrap();
    let verified = copy.verify().await.unwrap();
    assert!(verified.ok, "{verified:?}");
    assert_eq!(verified.head, report.head);
    assert!(verified.events_checked >= 1000);
    assert!(!Path::new(&format!("{}-wal", dest.display())).exists());
    let again = ledger.backup(&dest).unwrap_err();
    assert!(again.to_string().contains("already exists"), "{again}");
}

#[tokio::test]
async fn search_finds_ids_objects_reasons_and_actors_literally_one_page_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, [open_p, approved, rejected]) = aged(dir.path()).await;
    let ids = |rows: &[StoredProposal]| -> Vec<String> {
        rows.iter().map(|p| p.proposal_id.clone()).collect()
    };
    // By id (any case), object id, reason, actor, capability, tenant.
    let (n, rows) = ledger
        .search_proposals(&open_p.proposal_id.to_uppercase(), 50, 0)
        .await
        .unwrap();
    assert_eq!((n, ids(&rows)), (1, vec![open_p.proposal_id.clone()]));
    let (n, rows) = ledger.search_proposals("p-2", 50, 0).await.unwrap();
    assert_eq!((n, ids(&rows)), (1, vec![rejected.proposal_id.clone()]));
    let (n, rows) = ledger.search_proposals("RETENTION", 50, 0).await.unwrap();
    assert_eq!(n, 2);
    assert_eq!(
        ids(&rows),
        vec![rejected.proposal_id.clone(), approved.proposal_id.clone()]
    );
    assert_eq!(ledger.search_proposals("dana", 50, 0).await.unwrap().0, 2);
    assert_eq!(ledger.search_proposals("acme", 50, 0).await.unwrap().0, 3);
    let capability = &open_p.action;
    assert_eq!(
        ledger.search_proposals(capability, 50, 0).await.unwrap().0,
        3
    );
    // Pages.
    let (n, page) = ledger.search_proposals("acme", 2, 2).await.unwrap();
    assert_eq!((n, page.len()), (3, 1));
    assert_eq!(page[0].proposal_id, open_p.proposal_id);
    // Wildcards and injection strings are text, not patterns or SQL.
    for needle in [
        "%",
        "P-%",
        "INV_%",
        "' OR 1=1 --",
        "\") OR 1=1 --",
        "nobody",
    ] {
        assert_eq!(
            ledger.search_proposals(needle, 50, 0).await.unwrap().0,
            0,
            "{needle}"
        );
    }
    // Searching wrote nothing: the chain still verifies.
    assert!(ledger.verify().await.unwrap().ok);
}

/// `ledger stats` derives the counts of events, evidence and audit from chain positions and
/// row ids (see `DERIVED_COUNTS`); they must equal the row counts whatever the ledger went
/// through: reads with and without evidence, proposals, prunes that keep open proposals'
/// records below their cut, and records written after each prune.
#[tokio::test]
async fn derived_stats_counts_equal_the_row_counts() {
    async fn same(ledger: &SqliteLedger, when: &str) {
        let derived = ledger.storage_stats().unwrap();
        let exact = ledger.stats().await.unwrap();
        assert_eq!(derived.counts, exact, "{when}");
        assert_eq!(
            derived.derived_counts,
            ["events", "evidence_bundles", "query_audit"]
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let empty = SqliteLedger::open(&dir.path().join("empty.db")).unwrap();
    same(&empty, "an empty ledger").await;

    let (ledger, _) = aged(dir.path()).await;
    let not_found = |i: usize, at: &str| {
        let mut a = audit("acme", &format!("GONE-{i}"), None);
        a.created_at = at.into();
        NewRead {
            evidence: None,
            audit: a,
        }
    };
    for i in 0..5 {
        ledger
            .record_read(not_found(i, &days_ago(100)))
            .await
            .unwrap();
    }
    same(&ledger, "before any prune").await;
    ledger.prune(&days_ago(90), 7, |_| {}).unwrap();
    same(&ledger, "after a 90-day prune").await;
    for i in 0..3 {
        let now = airlock_protocol::now_rfc3339();
        ledger.record_read(not_found(10 + i, &now)).await.unwrap();
        ledger
            .record_read(read_at(&format!("LATER-{i}"), &now))
            .await
            .unwrap();
    }
    same(&ledger, "after new reads").await;
    // Everything until now: the open and approved proposals stay, below the cut.
    ledger
        .prune(&airlock_protocol::now_rfc3339(), 3, |_| {})
        .unwrap();
    same(&ledger, "after a prune that keeps records below its cut").await;
    ledger
        .record_proposal(new_proposal("AFTER-ALL", 1))
        .await
        .unwrap();
    ledger
        .record_read(not_found(99, &airlock_protocol::now_rfc3339()))
        .await
        .unwrap();
    same(&ledger, "after a proposal and a read past the last cut").await;
    assert!(ledger.verify().await.unwrap().ok);
}
