//! The search index (schema 8) against the full scan it replaces: the same pages for every
//! text, including the ones that look like FTS5 query syntax, SQL or `LIKE` patterns, and an
//! index that follows inserts, state changes, prunes, vacuum and the migration of an older
//! ledger.

use std::path::{Path, PathBuf};

use airlock_protocol::{ChangeSet, ids};
use airlock_testkit::sqlite_ledger::back_to_schema_7;
use rusqlite::Connection;
use serde_json::json;

use super::{Budget, index_query, search_within};
use crate::browse::shape::SEARCHED;
use crate::browse::{Hit, MAX_SEARCH_TEXT, Page, RecordFilter, SearchText};
use crate::{
    Actor, Decision, EvidenceBundle, Ledger, NewProposal, NewRead, PruneProgress, QueryAudit,
    Review, SqliteLedger,
};

/// No bound: every row is read, as search did before the index (the reference).
const FULL: Budget = Budget {
    max: i64::MAX as usize,
    matches: 0,
    walk: 0,
    depth: 0,
    tail: 0,
};

/// Bounds small enough that the tiny ledger below exercises every path: the index whenever it
/// can serve the text, and pages cut short after three rows when it cannot.
const TIGHT: Budget = Budget {
    max: 3,
    matches: i64::MAX as usize,
    walk: 0,
    depth: 0,
    tail: i64::MAX as usize,
};

/// [`TIGHT`], but every text the index finds in a row counts as common and is read on,
/// bounded, without walking the index.
const COMMON: Budget = Budget {
    max: 3,
    matches: 1,
    walk: 0,
    depth: 0,
    tail: i64::MAX as usize,
};

/// Every text the index finds is walked newest first through the index, however far.
const WALK: Budget = Budget {
    max: 3,
    matches: 1,
    walk: i64::MAX as usize,
    depth: i64::MAX as usize,
    tail: i64::MAX as usize,
};

/// [`WALK`], but a walk gives up after two rows named and the kind is read on, bounded.
const WALK_SHORT: Budget = Budget { walk: 2, ..WALK };

/// [`WALK`], but a walk gives up when its page is deeper than one row and the kind is read
/// on, bounded.
const WALK_SHALLOW: Budget = Budget { depth: 1, ..WALK };

/// [`WALK`], but any row not indexed yet makes the kind read on, bounded, without the index.
const TAIL_SHORT: Budget = Budget { tail: 0, ..WALK };

/// A note stored in evidence rows: quotes, FTS5 operators, `LIKE` wildcards, SQL and
/// characters outside ASCII.
const NOTE: &str =
    r#"50%_Off "quoted" NEAR(a b) AND OR NOT a*b ^col: café ÜNÏ 日本語 '; DROP TABLE events; --"#;

fn at(minute: u32) -> String {
    format!("2026-11-0{}T10:{minute:02}:00.000Z", 1 + minute / 60)
}

fn read(n: u32, tenant: &str, when: &str) -> NewRead {
    let object = format!("INV-{n:03}");
    let evidence = EvidenceBundle {
        evidence_bundle_id: ids::new_id(ids::EVIDENCE),
        proposal_id: None,
        tenant_id: tenant.into(),
        principal: "agent_1".into(),
        capability: "billing.inspect_invoice".into(),
        source_id: "app".into(),
        source_table: "public.invoices".into(),
        business_object: "invoices".into(),
        object_id: object.clone(),
        query_fingerprint: "sha256:abc".into(),
        payload: json!({"capability": "billing.inspect_invoice"}),
        items: vec![
            json!({"visible_row": {"id": object, "note": if n.is_multiple_of(3) { NOTE } else { "plain" }}}),
        ],
        created_at: when.into(),
    };
    let audit = QueryAudit {
        audit_id: 0,
        proposal_id: None,
        evidence_bundle_id: Some(evidence.evidence_bundle_id.clone()),
        tenant_id: tenant.into(),
        principal: "agent_1".into(),
        capability: "billing.inspect_invoice".into(),
        business_object: "invoices".into(),
        object_id: object,
        source_id: "app".into(),
        query_fingerprint: "sha256:abc".into(),
        table_name: "public.invoices".into(),
        row_count: 1,
        duration_us: 120,
        outcome: "ok".into(),
        payload: json!({}),
        created_at: when.into(),
    };
    NewRead {
        evidence: Some(evidence),
        audit,
    }
}

fn proposal(object: &str) -> NewProposal {
    let mut v = airlock_testkit::read_json(
        &airlock_testkit::repo_root().join("examples/protocol"),
        "change-set.fee-reversal.v1.json",
    );
    v["scope"]["tenant_id"] = json!("acme");
    v["guards"]["tenant"]["value"] = json!("acme");
    v["scope"]["object_id"] = json!(object);
    let mut cs: ChangeSet = serde_json::from_value(v).unwrap();
    cs.proposal_id = ids::new_id(ids::PROPOSAL);
    cs.created_at = airlock_protocol::now_rfc3339();
    cs.seal();
    let NewRead { evidence, audit } = read(999, "acme", &cs.created_at.clone());
    NewProposal {
        change_set: cs,
        dedupe_key: format!("dk:{object}"),
        evidence: evidence.unwrap(),
        audit,
        approval_policy: Default::default(),
    }
}

/// 24 reads over two tenants, four of them at one instant (ties broken by id), then three
/// proposals: one approved with a reason holding the note, one rejected, one left open.
async fn written(dir: &Path) -> (SqliteLedger, PathBuf) {
    written_in(dir, 0..24).await
}

/// [`written`], the reads written in the order `reads` gives (each read's time is its number's).
async fn written_in(dir: &Path, reads: impl IntoIterator<Item = u32>) -> (SqliteLedger, PathBuf) {
    let path = dir.join("ledger.db");
    let ledger = SqliteLedger::open(&path).unwrap();
    for n in reads {
        let tenant = if n.is_multiple_of(2) {
            "acme"
        } else {
            "globex"
        };
        let when = if (8..12).contains(&n) { at(8) } else { at(n) };
        ledger.record_read(read(n, tenant, &when)).await.unwrap();
    }
    let key = airlock_review_key::ReviewKey::issue();
    for (i, object) in ["P-1", "P-2", "P-3"].into_iter().enumerate() {
        let p = ledger.record_proposal(proposal(object)).await.unwrap();
        let d = Decision {
            proposal_id: p.proposal.proposal_id.clone(),
            actor: Actor {
                name: "dana".into(),
                source: "flag".into(),
            },
            role: None,
            role_verified: None,
            reason: Some(format!("checked: {NOTE}")),
            proposal_hash: p.proposal.proposal_hash.clone(),
        };
        match i {
            0 => {
                ledger.approve(&key, d).await.unwrap();
            }
            1 => {
                ledger.reject(&key, d).await.unwrap();
            }
            _ => {}
        }
    }
    (ledger, path)
}

/// Every page of a search, following its cursors.
fn pages(conn: &Connection, text: &SearchText, f: &RecordFilter, b: Budget) -> Vec<Page<Hit>> {
    let mut f = f.clone();
    let mut out = Vec::new();
    loop {
        let page = search_within(conn, Some(text), &f, b).unwrap();
        let next = page.next_cursor.clone();
        out.push(page);
        match next {
            Some(c) => f.cursor = Some(c),
            None => return out,
        }
        assert!(out.len() < 500, "paging does not end");
    }
}

fn hits(pages: &[Page<Hit>]) -> Vec<Hit> {
    pages.iter().flat_map(|p| p.items.clone()).collect()
}

/// Texts that must be plain text to the index: FTS5 syntax, quotes, `LIKE` wildcards, SQL,
/// unicode, short and maximal texts.
fn needles() -> Vec<String> {
    let mut n: Vec<String> = [
        "INV-00",
        "inv-01",
        "acme",
        "GLOBEX",
        "50%_off",
        "%_o",
        "%",
        "_",
        "\"quoted\"",
        "\"",
        "\"\"",
        "NEAR(a b)",
        "near",
        " AND ",
        "OR NOT",
        "a*b",
        "*",
        "^col:",
        "'; DROP TABLE events; --",
        "café",
        "CAFÉ",
        "üNï",
        "日本語",
        "本",
        "x",
        "ab",
        "dana",
        "approved",
        "checked: 50%",
        "no such text anywhere",
        "a\0b",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    n.push("x".repeat(MAX_SEARCH_TEXT));
    n
}

/// Filters the searches run under: none, one tenant, and a time window.
fn filters() -> Vec<RecordFilter> {
    let time = |s: &str| {
        Some(crate::LedgerTime::from_utc(
            chrono::DateTime::parse_from_rfc3339(s).unwrap().into(),
        ))
    };
    vec![
        RecordFilter::default(),
        RecordFilter {
            tenant: Some("acme".into()),
            limit: 3,
            ..RecordFilter::default()
        },
        RecordFilter {
            from: time(&at(5)),
            to: time(&at(15)),
            limit: 2,
            ..RecordFilter::default()
        },
        RecordFilter {
            limit: 1,
            ..RecordFilter::default()
        },
    ]
}

/// Asserts that every search pages as the full scan does: page for page (cursors included)
/// when the index serves the text, and the same hits in the same order when a short text
/// ends pages early.
fn same_as_full_scan(conn: &Connection) -> usize {
    compared_with_full_scan(conn, true)
}

/// The same hits in the same order as the full scan, whatever the pages (a kind whose index
/// is set aside reads bounded pages).
fn same_hits_as_full_scan(conn: &Connection) -> usize {
    compared_with_full_scan(conn, false)
}

fn compared_with_full_scan(conn: &Connection, exact_pages: bool) -> usize {
    let mut found = 0;
    for needle in needles() {
        let text = SearchText::new(&needle).unwrap();
        for f in filters() {
            let full = pages(conn, &text, &f, FULL);
            let tight = pages(conn, &text, &f, TIGHT);
            found += hits(&full).len();
            let walked = pages(conn, &text, &f, WALK);
            for bounded in [COMMON, WALK_SHORT, WALK_SHALLOW, TAIL_SHORT] {
                assert_eq!(
                    hits(&pages(conn, &text, &f, bounded)),
                    hits(&full),
                    "{needle:?} under {f:?} within {bounded:?}"
                );
            }
            if exact_pages && index_query(&text.folded()).is_some() {
                let strip = |p: &[Page<Hit>]| -> Vec<(Vec<Hit>, Option<String>)> {
                    p.iter()
                        .map(|p| (p.items.clone(), p.next_cursor.clone()))
                        .collect()
                };
                assert_eq!(strip(&tight), strip(&full), "{needle:?} under {f:?}");
                assert_eq!(
                    strip(&walked),
                    strip(&full),
                    "walked: {needle:?} under {f:?}"
                );
            } else {
                assert_eq!(hits(&tight), hits(&full), "{needle:?} under {f:?}");
                assert_eq!(hits(&walked), hits(&full), "walked: {needle:?} under {f:?}");
            }
        }
    }
    found
}

fn raw(path: &Path) -> Connection {
    Connection::open(path).unwrap()
}

/// Empties every search index and indexes again only the first `rowids` row ids of each kind
/// (none for 0): the rest is the unindexed tail a search reads beside the index. The ledger
/// must have no writer open (its batches would move the marks).
fn index_only_first(conn: &mut Connection, rowids: i64) {
    for (index, _, _) in crate::sqlite::search_index::INDEXES {
        conn.execute_batch(&format!(
            "INSERT INTO {index}({index}) VALUES('delete-all');
             UPDATE search_marks SET upto = 0 WHERE index_name = '{index}';"
        ))
        .unwrap();
    }
    if rowids > 0 {
        crate::sqlite::search_index::index_batch(conn, rowids).unwrap();
    }
    in_step(conn);
}

/// [`same_as_full_scan`] with nothing indexed, with the oldest rows only, and with every row
/// indexed (as it leaves the ledger).
fn same_as_full_scan_at_every_mark(conn: &mut Connection) -> usize {
    let mut found = Vec::new();
    for rowids in [0, 2, 7, i64::MAX] {
        index_only_first(conn, rowids);
        found.push(same_as_full_scan(conn));
    }
    assert!(found.windows(2).all(|w| w[0] == w[1]), "{found:?}");
    found[0]
}

#[tokio::test]
async fn the_index_pages_exactly_as_a_full_scan_for_every_kind_of_text() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, path) = written(dir.path()).await;
    drop(ledger);
    let mut conn = raw(&path);
    assert!(same_as_full_scan_at_every_mark(&mut conn) > 0);
    // Texts that look like syntax found what holds them, literally.
    let text = |t: &str| SearchText::new(t).unwrap();
    let all = RecordFilter {
        limit: 1000,
        ..RecordFilter::default()
    };
    let count = |t: &str| hits(&pages(&conn, &text(t), &all, TIGHT)).len();
    // Eight reads and three proposals' evidence hold the note, and two decisions' events.
    assert!(count("NEAR(a b) AND OR NOT a*b") >= 8 + 3 + 2);
    assert_eq!(count("50%_OFF"), count("50%_off"));
    assert_eq!(count("50%_0ff"), 0);
    assert_eq!(count("%"), count("50%"));
    // Non-ASCII letters keep their case (as SQLite's `lower()`), though the index folds them.
    assert!(count("ÜNÏ") > 0);
    assert_eq!(count("ünï"), 0);
    // A short text pages through every row, a bounded number at a time.
    let short = pages(&conn, &text("ab"), &all, TIGHT);
    assert!(short.len() > 1);
    // Searching wrote nothing.
    let ledger = SqliteLedger::open(&path).unwrap();
    assert!(ledger.verify().await.unwrap().ok);
}

#[tokio::test]
async fn the_walk_of_the_index_pages_exactly_as_a_full_scan_when_rows_are_written_out_of_order() {
    // The reads are written in an order far from their times (so rowid order is not listing
    // order), four of them at one instant: the newest-first walk must still find the newest.
    let dir = tempfile::tempdir().unwrap();
    let (ledger, path) = written_in(dir.path(), (0..24).map(|i| (i * 7 + 5) % 24)).await;
    drop(ledger);
    let mut conn = raw(&path);
    let rowid_order: Vec<String> = conn
        .prepare("SELECT created_at FROM evidence_bundles ORDER BY rowid")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(rowid_order.windows(2).any(|w| w[0] > w[1]));
    assert!(same_as_full_scan_at_every_mark(&mut conn) > 0);
    // A text in every read, one page at a time: each page is the next in time, whichever
    // rows the walk meets first.
    let one = RecordFilter {
        limit: 1,
        ..RecordFilter::default()
    };
    let walked = hits(&pages(
        &conn,
        &SearchText::new("INV-0").unwrap(),
        &one,
        WALK,
    ));
    let times: Vec<&str> = walked.iter().map(|h| h.created_at.as_str()).collect();
    assert!(
        times.len() >= 20 && times.windows(2).all(|w| w[0] >= w[1]),
        "{times:?}"
    );
}

/// An empty ledger of the current schema, for reading query plans.
fn empty_ledger() -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    crate::sqlite::migrations::apply_from(&conn, 0).unwrap();
    conn
}

/// The filters the query-plan tests try: none, one tenant, a time range.
fn plan_filters() -> [RecordFilter; 3] {
    [
        RecordFilter::default(),
        RecordFilter {
            tenant: Some("acme".into()),
            ..RecordFilter::default()
        },
        RecordFilter {
            from: Some(crate::LedgerTime::from_utc(chrono::Utc::now())),
            ..RecordFilter::default()
        },
    ]
}

/// Asserts that `plan` reads a search index first, then looks each match up by rowid; returns
/// the plan's lines.
fn index_first<'p>(plan: &'p str, sql: &str) -> Vec<&'p str> {
    let lines: Vec<&str> = plan.split(" | ").collect();
    assert!(
        lines[0].starts_with("SCAN search_") && lines[0].contains("VIRTUAL TABLE"),
        "{plan}\n  for {sql}"
    );
    assert!(
        lines[1].starts_with("SEARCH ") && lines[1].contains("(rowid=?)"),
        "{plan}\n  for {sql}"
    );
    lines
}

#[test]
fn a_walk_of_the_index_starts_from_the_index_and_its_check_from_a_time_index() {
    let conn = empty_ledger();
    let filters = plan_filters();
    for f in &filters {
        for with_cursor in [false, true] {
            let statements = super::walk_statements_of(f, with_cursor, "needle");
            let plans = super::tests::plans_in(&conn, statements);
            // Three statements for each kind (every kind carries these filters).
            assert_eq!(plans.len(), 3 * SEARCHED.len());
            for (walk, shape) in plans.chunks(3).zip(SEARCHED) {
                // The index drives the walk, newest rowid first (no sort: the walk stops when
                // the page is full), each row looked up by rowid.
                let (sql, plan) = &walk[0];
                index_first(plan, sql);
                assert!(!plan.contains("TEMP B-TREE"), "{plan}\n  for {sql}");
                // The check counts, then reads, the rows listed before the page's last
                // through an index that holds the time (receipts and events filtered through
                // their proposal: that proposal set's rows, as their listing does), never
                // every row below a rowid.
                for (sql, plan) in &walk[1..] {
                    let through_proposal = sql.contains("proposal_id IN (SELECT");
                    let read = plan
                        .split(" | ")
                        .find(|l| l.starts_with(&format!("SEARCH {} ", shape.table)))
                        .unwrap_or_else(|| panic!("{plan}\n  for {sql}"));
                    assert!(
                        through_proposal || read.contains("created_at"),
                        "{plan}\n  for {sql}"
                    );
                    assert!(!plan.contains("(rowid<?)"), "{plan}\n  for {sql}");
                }
            }
        }
    }
}

#[test]
fn statements_driven_by_the_index_ask_each_rows_own_proposal() {
    // The shapes still filter receipts and events through a list of proposal ids, which
    // `per_row` rewrites; if that form changes, this fails instead of the rewrite silently
    // no longer applying.
    let tenant = RecordFilter {
        tenant: Some("acme".into()),
        ..RecordFilter::default()
    };
    let through_proposal: Vec<_> = SEARCHED
        .iter()
        .filter_map(|shape| {
            crate::browse::shape::filter_where(shape, &tenant, &crate::browse::shape::SQLITE)
        })
        .filter(|w| {
            w.clauses
                .iter()
                .any(|c| c.starts_with(super::PROPOSAL_LIST))
        })
        .collect();
    assert_eq!(through_proposal.len(), 2, "receipts and events");
    let conn = empty_ledger();
    let walks = super::tests::plans_in(&conn, super::walk_statements_of(&tenant, false, "needle"));
    let indexed = super::tests::plans_of(&conn, &tenant, false, Some("needle"));
    let driven = walks.iter().step_by(3).chain(&indexed);
    for (sql, plan) in driven {
        assert!(!sql.contains(super::PROPOSAL_LIST), "{sql}");
        assert!(!plan.contains("LIST SUBQUERY"), "{plan}\n  for {sql}");
        if sql.contains("EXISTS (SELECT 1 FROM proposals p") {
            assert!(plan.contains("CORRELATED"), "{plan}\n  for {sql}");
            assert!(plan.contains("(proposal_id=?)"), "{plan}\n  for {sql}");
        }
    }
}

/// Rows of each search index and the rows it should hold: the searched records at or below
/// its mark (on a ledger older than schema 9, every one), read in one snapshot.
fn indexed_counts(conn: &Connection) -> Vec<(i64, i64)> {
    let marked = crate::sqlite::migrations::version(conn).unwrap()
        >= crate::sqlite::search_index::BACKGROUND_SINCE;
    let snapshot = conn.unchecked_transaction().unwrap();
    let counts = [
        (
            "search_proposals",
            "SELECT count(*) FROM proposals WHERE rowid <= ?1",
        ),
        (
            "search_evidence",
            "SELECT count(*) FROM evidence_bundles WHERE rowid <= ?1",
        ),
        (
            "search_query_audit",
            "SELECT count(*) FROM query_audit WHERE rowid <= ?1",
        ),
        (
            "search_receipts",
            "SELECT count(*) FROM receipts WHERE rowid <= ?1",
        ),
        (
            "search_events",
            "SELECT count(*) FROM events WHERE seq <= ?1
                 AND proposal_id IS NOT NULL AND kind <> 'proposal_created'",
        ),
    ]
    .into_iter()
    .map(|(index, rows)| {
        let upto: i64 = if marked {
            snapshot
                .query_row(
                    "SELECT upto FROM search_marks WHERE index_name = ?1",
                    [index],
                    |r| r.get(0),
                )
                .unwrap()
        } else {
            i64::MAX
        };
        let indexed: i64 = snapshot
            .query_row(&format!("SELECT count(*) FROM {index}_docsize"), [], |r| {
                r.get(0)
            })
            .unwrap();
        let held: i64 = snapshot.query_row(rows, [upto], |r| r.get(0)).unwrap();
        (indexed, held)
    })
    .collect();
    drop(snapshot);
    counts
}

/// The index holds exactly the rows at or below its marks.
fn in_step(conn: &Connection) {
    for (indexed, rows) in indexed_counts(conn) {
        assert_eq!(indexed, rows);
    }
}

/// Every row of every kind is indexed (no tail).
fn caught_up(conn: &Connection) {
    for &(index, _, table) in crate::sqlite::search_index::INDEXES {
        let mark = crate::sqlite::search_index::mark(conn, index, table).unwrap();
        assert_eq!(mark.span(), 0, "{index}: {mark:?}");
    }
    in_step(conn);
}

#[tokio::test]
async fn the_index_follows_prunes_and_vacuum_and_is_built_for_an_older_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, path) = written(dir.path()).await;
    in_step(&raw(&path));
    // Prune the reads of the first day: they leave the index, and searches still page as a
    // full scan (which no longer sees them either).
    let plan = ledger.prune(&at(12), 7, |_| {}).unwrap();
    assert!(plan.checkpoint_seq.is_some());
    let conn = raw(&path);
    in_step(&conn);
    assert!(same_as_full_scan(&conn) > 0);
    // Vacuum renumbers nothing the index relies on.
    ledger.vacuum().unwrap();
    let conn = raw(&path);
    in_step(&conn);
    assert!(same_as_full_scan(&conn) > 0);
    drop((conn, ledger));

    // A ledger of schema 7 (no index) is migrated: the index is built for the rows it holds.
    back_to_schema_7(&raw(&path));
    // Read-only, the old ledger is searched without the index, a bounded page at a time.
    let old = SqliteLedger::open_read_only(&path).unwrap();
    let all = RecordFilter::default();
    let found = old
        .search(Some(&SearchText::new("INV-0").unwrap()), &all)
        .await
        .unwrap();
    assert!(!found.items.is_empty());
    drop(old);
    let ledger = SqliteLedger::open(&path).unwrap();
    let conn = raw(&path);
    in_step(&conn);
    assert!(indexed_counts(&conn).iter().map(|(n, _)| n).sum::<i64>() > 0);
    assert!(same_as_full_scan(&conn) > 0);
    assert!(ledger.verify().await.unwrap().ok);
}

/// Every trigram of each search index with the rows it names, through `fts5vocab` and a query
/// per trigram.
fn index_contents(conn: &Connection) -> Vec<(String, String, Vec<i64>)> {
    let mut out = Vec::new();
    for shape in SEARCHED {
        let index = super::index_table(shape);
        conn.execute_batch(&format!(
            "DROP TABLE IF EXISTS temp.vocab;
             CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, {index}, 'row');"
        ))
        .unwrap();
        let terms: Vec<String> = conn
            .prepare("SELECT term FROM temp.vocab ORDER BY term")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for term in terms {
            let rows: Vec<i64> = conn
                .prepare(&format!(
                    "SELECT rowid FROM {index} WHERE {index} MATCH ?1 ORDER BY rowid"
                ))
                .unwrap()
                .query_map([format!("\"{}\"", term.replace('"', "\"\""))], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            out.push((index.to_owned(), term, rows));
        }
    }
    out
}

#[tokio::test]
async fn the_backfill_in_ranges_indexes_what_one_statement_did() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, path) = written(dir.path()).await;
    drop(ledger);
    back_to_schema_7(&raw(&path));
    let ranged = dir.path().join("ranged.db");
    std::fs::copy(&path, &ranged).unwrap();

    // As migration 8 first ran: one statement per index.
    let whole = raw(&path);
    whole.execute_batch("BEGIN IMMEDIATE").unwrap();
    crate::sqlite::migrations::migration_8_in_one_statement_per_index(&whole).unwrap();
    whole.execute_batch("COMMIT").unwrap();

    // In ranges of two row ids, each reported.
    let conn = raw(&ranged);
    let mut heard = Vec::new();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    let steps = crate::sqlite::migrations::migration_8_in_ranges(&conn, 2, &mut |p| {
        heard.push(*p);
    })
    .unwrap();
    conn.execute_batch("COMMIT").unwrap();
    // 8, then every later migration.
    assert_eq!(
        steps.len() as i64,
        crate::sqlite::migrations::CURRENT - 7,
        "{steps:?}"
    );
    assert_eq!(steps[0].version, 8);
    assert!(heard.len() > 10, "{heard:?}");
    for part in heard.iter().map(|p| p.part) {
        let of_part: Vec<_> = heard.iter().filter(|p| p.part == part).collect();
        assert!(of_part.windows(2).all(|w| w[0].done < w[1].done));
        let last = of_part.last().unwrap();
        assert_eq!(last.done, last.total, "{part}");
    }

    let expected = index_contents(&whole);
    assert!(expected.len() > 100, "{}", expected.len());
    assert_eq!(index_contents(&conn), expected);
    in_step(&conn);
    assert!(same_as_full_scan(&conn) > 0);
    let reopened = SqliteLedger::open(&ranged).unwrap();
    assert!(reopened.verify().await.unwrap().ok);
}

#[test]
fn an_index_query_is_quoted_trigrams_or_none() {
    assert_eq!(index_query("abc").as_deref(), Some("\"abc\""));
    assert_eq!(
        index_query("abcab").as_deref(),
        Some("\"abc\" AND \"bca\" AND \"cab\"")
    );
    assert_eq!(index_query("a\"b").as_deref(), Some("\"a\"\"b\""));
    assert_eq!(index_query("日本語").as_deref(), Some("\"日本語\""));
    for short in ["", "a", "ab", "本語", "a\0bc"] {
        assert_eq!(index_query(short), None, "{short:?}");
    }
}

#[test]
fn an_indexed_search_starts_from_the_index_not_from_the_table() {
    let conn = empty_ledger();
    let filters = plan_filters();
    for f in &filters {
        for with_cursor in [false, true] {
            for (sql, plan) in super::tests::plans_of(&conn, f, with_cursor, Some("needle")) {
                // The index is read first, then each match looked up by its rowid: no walk
                // of a table or of a filter's index, however many rows they hold.
                let lines = index_first(&plan, &sql);
                assert!(
                    !lines
                        .iter()
                        .any(|l| l.starts_with("SCAN ") && !l.contains("VIRTUAL")),
                    "{plan}\n  for {sql}"
                );
            }
        }
    }
}

#[tokio::test]
async fn records_are_found_at_once_and_indexed_in_the_background_while_the_ledger_is_open() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, path) = written(dir.path()).await;
    // Whatever the index holds yet, a search finds every record just written.
    let conn = raw(&path);
    let text = SearchText::new("INV-0").unwrap();
    let all = RecordFilter {
        limit: 1000,
        ..RecordFilter::default()
    };
    let expected = hits(&pages(&conn, &text, &all, FULL));
    assert!(expected.len() >= 24, "{}", expected.len());
    assert_eq!(hits(&pages(&conn, &text, &all, WALK)), expected);
    in_step(&conn);
    // The writer's checkpoint thread indexes them without another write or a close.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let tail: u64 = crate::sqlite::search_index::INDEXES
            .iter()
            .map(|&(index, _, table)| {
                crate::sqlite::search_index::mark(&conn, index, table)
                    .unwrap()
                    .span()
            })
            .sum();
        if tail == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{tail} row ids still unindexed after 30 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    caught_up(&conn);
    // A decision written outside the batch writer (as a CLI command writes) lands in the tail
    // and is indexed when the ledger closes.
    let p3: String = conn
        .query_row(
            "SELECT proposal_id FROM proposals WHERE state = 'pending_review'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let p = ledger.proposal(&p3).await.unwrap();
    let key = airlock_review_key::ReviewKey::issue();
    ledger
        .approve(
            &key,
            Decision {
                proposal_id: p3.clone(),
                actor: Actor {
                    name: "erin".into(),
                    source: "flag".into(),
                },
                role: None,
                role_verified: None,
                reason: Some("late approval".into()),
                proposal_hash: p.proposal_hash,
            },
        )
        .await
        .unwrap();
    let late = SearchText::new("late approval").unwrap();
    assert!(!hits(&pages(&conn, &late, &all, WALK)).is_empty());
    assert_eq!(
        hits(&pages(&conn, &late, &all, WALK)),
        hits(&pages(&conn, &late, &all, FULL))
    );
    drop(ledger);
    caught_up(&conn);
    assert!(same_as_full_scan(&conn) > 0);
}

#[tokio::test]
async fn the_triggers_index_changes_at_or_below_the_mark_and_leave_the_tail_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, path) = written(dir.path()).await;
    drop(ledger);
    let mut conn = raw(&path);
    // Proposals indexed up to the second: the third is in the tail.
    index_only_first(&mut conn, 2);
    let docs = |conn: &Connection, index: &str| -> i64 {
        conn.query_row(&format!("SELECT count(*) FROM {index}_docsize"), [], |r| {
            r.get(0)
        })
        .unwrap()
    };
    let before = docs(&conn, "search_proposals");
    // A state change of an indexed proposal re-indexes it (found by its new state), one in
    // the tail is left for the batches (found by the tail's read).
    conn.execute_batch("UPDATE proposals SET state = 'expired_by_test' WHERE rowid IN (1, 3);")
        .unwrap();
    assert_eq!(docs(&conn, "search_proposals"), before);
    in_step(&conn);
    let all = RecordFilter {
        limit: 1000,
        ..RecordFilter::default()
    };
    let expired = SearchText::new("expired_by_test").unwrap();
    let full = hits(&pages(&conn, &expired, &all, FULL));
    assert_eq!(full.len(), 2);
    assert_eq!(hits(&pages(&conn, &expired, &all, TIGHT)), full);
    assert_eq!(hits(&pages(&conn, &expired, &all, WALK)), full);
    // A row id set free below the mark and written again is indexed as it is written.
    index_only_first(&mut conn, i64::MAX);
    let newest: i64 = conn
        .query_row("SELECT max(rowid) FROM evidence_bundles", [], |r| r.get(0))
        .unwrap();
    conn.execute_batch(&format!(
        "PRAGMA foreign_keys = OFF;
         CREATE TEMP TABLE keep AS SELECT * FROM evidence_bundles WHERE rowid = {newest};
         DELETE FROM evidence_bundles WHERE rowid = {newest};
         UPDATE temp.keep SET evidence_bundle_id = 'ev_reused', items_json = '[\"reused row id\"]';
         INSERT INTO evidence_bundles SELECT * FROM temp.keep;"
    ))
    .unwrap();
    let reused: i64 = conn
        .query_row(
            "SELECT rowid FROM evidence_bundles WHERE evidence_bundle_id = 'ev_reused'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(reused, newest);
    caught_up(&conn);
    let text = SearchText::new("reused row id").unwrap();
    assert_eq!(hits(&pages(&conn, &text, &all, TIGHT)).len(), 1);
    assert!(same_as_full_scan(&conn) > 0);
}

#[tokio::test]
async fn row_ids_with_gaps_count_as_the_rows_they_hold() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, path) = written(dir.path()).await;
    drop(ledger);
    let mut conn = raw(&path);
    index_only_first(&mut conn, i64::MAX);
    // An audit row with an id far past the others (as an import keeps the original's ids).
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF;
         CREATE TEMP TABLE keep AS
             SELECT * FROM query_audit WHERE audit_id = (SELECT max(audit_id) FROM query_audit);
         UPDATE temp.keep SET audit_id = audit_id + 1000000, object_id = 'GAP-1';
         INSERT INTO query_audit SELECT * FROM temp.keep;",
    )
    .unwrap();
    let mark =
        crate::sqlite::search_index::mark(&conn, "search_query_audit", "query_audit").unwrap();
    assert!(mark.span() >= 1_000_000, "{mark:?}");
    // One row past the mark, whatever the span: searched beside the index under a bound of 8.
    assert!(crate::sqlite::search_index::tail_within(&conn, "query_audit", mark, 8).unwrap());
    let all = RecordFilter {
        limit: 1000,
        ..RecordFilter::default()
    };
    let gap = SearchText::new("GAP-1").unwrap();
    let full = hits(&pages(&conn, &gap, &all, FULL));
    assert_eq!(full.len(), 1);
    let short_tail = Budget { tail: 8, ..WALK };
    assert_eq!(hits(&pages(&conn, &gap, &all, short_tail)), full);
    // One batch indexes it (rows, not a million ids 256 at a time).
    assert_eq!(
        crate::sqlite::search_index::index_batch(&mut conn, 256).unwrap(),
        0
    );
    caught_up(&conn);
    assert_eq!(crate::sqlite::search_index::unindexed(&conn).unwrap(), 0);
    assert_eq!(hits(&pages(&conn, &gap, &all, short_tail)), full);
}

/// FTS5's own check of each search index's structure.
fn indexes_sound(conn: &Connection) {
    for (index, _, _) in crate::sqlite::search_index::INDEXES {
        conn.execute(
            &format!("INSERT INTO {index}({index}, rank) VALUES ('integrity-check', 0)"),
            [],
        )
        .unwrap_or_else(|e| panic!("{index}: {e}"));
    }
}

/// After a prune rebuilt `indexes`: every row of their kinds is indexed; once the other kinds
/// are caught up too, FTS5 finds every index sound, searches page as the full scan, and the
/// indexes hold what indexes built afresh hold.
fn sound_after_rebuild(conn: &mut Connection, indexes: &[String]) {
    for &(index, _, table) in crate::sqlite::search_index::INDEXES {
        if indexes.iter().any(|i| i == index) {
            let mark = crate::sqlite::search_index::mark(conn, index, table).unwrap();
            assert_eq!(mark.span(), 0, "{index}: {mark:?}");
        }
    }
    crate::sqlite::search_index::index_batch(conn, i64::MAX).unwrap();
    caught_up(conn);
    indexes_sound(conn);
    assert!(same_as_full_scan(conn) > 0);
    same_as_built_afresh(conn);
}

/// The indexes as they are, and as built afresh from the rows (the same, for a sound index).
fn same_as_built_afresh(conn: &mut Connection) {
    let now = index_contents(conn);
    index_only_first(conn, i64::MAX);
    assert_eq!(now, index_contents(conn));
}

#[tokio::test]
async fn a_prune_of_most_of_a_kind_sets_its_index_aside_and_rebuilds_what_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, path) = written(dir.path()).await;
    crate::sqlite::search_index::index_batch(&mut raw(&path), i64::MAX).unwrap();
    // Three reads of 24: under a quarter of each kind, removed entry by entry.
    let small = ledger.prune(&at(3), 5, |_| {}).unwrap();
    assert!(small.checkpoint_seq.is_some());
    assert!(small.plan.search_set_aside.is_empty(), "{small:?}");
    assert!(small.search_rebuilt.is_empty());
    let mut conn = raw(&path);
    in_step(&conn);
    indexes_sound(&conn);

    // Reads up to minute 20: most evidence and audit rows. The dry run says what it sets aside.
    let plan = ledger.prune_plan(&at(20)).unwrap();
    assert_eq!(
        plan.search_set_aside,
        ["search_evidence", "search_query_audit", "search_events"],
        "{plan:?}"
    );
    let mut heard = Vec::new();
    let report = ledger.prune(&at(20), 5, |p| heard.push(p)).unwrap();
    assert_eq!(report.search_rebuilt, plan.search_set_aside);
    assert!(report.plan.events() > 0);
    // Removals counted up, then the indexes emptied, then the rows left to index counted down
    // to none.
    let phases: Vec<u8> = heard
        .iter()
        .map(|p| match p {
            PruneProgress::Removing { .. } => 0,
            PruneProgress::Emptying { .. } => 1,
            PruneProgress::Reindexing { .. } => 2,
        })
        .collect();
    assert!(phases.is_sorted(), "{heard:?}");
    assert!([0, 1, 2].iter().all(|p| phases.contains(p)), "{heard:?}");
    assert_eq!(heard.last(), Some(&PruneProgress::Reindexing { left: 0 }));

    // The prune indexed every row of the kinds it rebuilt; the writer's batches do the rest.
    sound_after_rebuild(&mut conn, &report.search_rebuilt);
    assert!(ledger.verify().await.unwrap().ok);
}

#[tokio::test]
async fn an_index_a_stopped_prune_left_set_aside_is_never_read_or_written_and_the_next_prune_rebuilds_it()
 {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, path) = written(dir.path()).await;
    let mut conn = raw(&path);
    crate::sqlite::search_index::index_batch(&mut conn, i64::MAX).unwrap();
    caught_up(&conn);
    // As a prune stopped while emptying the evidence index: set aside, half its storage gone.
    conn.execute_batch(
        "UPDATE search_marks SET upto = -1 WHERE index_name = 'search_evidence';
         DELETE FROM search_evidence_data WHERE id > 10 AND id % 2 = 0;
         DELETE FROM search_evidence_docsize WHERE id % 3 = 0;",
    )
    .unwrap();
    // Searches read evidence without the index (in bounded pages) and find what a full scan
    // finds.
    assert!(same_hits_as_full_scan(&conn) > 0);
    let text = SearchText::new("INV-0").unwrap();
    let found = ledger
        .search(Some(&text), &RecordFilter::default())
        .await
        .unwrap();
    assert!(
        found
            .items
            .iter()
            .any(|h| h.kind == crate::browse::RecordKind::Evidence),
        "{found:?}"
    );
    // New rows, a closing CLI ledger and the servers' batches leave it alone.
    ledger.record_read(read(40, "acme", &at(40))).await.unwrap();
    assert_eq!(
        crate::sqlite::search_index::index_batch(&mut conn, 1_000).unwrap(),
        0
    );
    let aside =
        crate::sqlite::search_index::mark(&conn, "search_evidence", "evidence_bundles").unwrap();
    assert!(aside.set_aside(), "{aside:?}");
    let evidence: i64 = conn
        .query_row("SELECT count(*) FROM evidence_bundles", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        ledger.storage_stats().unwrap().search_unindexed,
        evidence as u64
    );
    // A prune with nothing to remove finishes the job (its dry run says so).
    assert_eq!(
        ledger.prune_plan(&at(0)).unwrap().search_set_aside,
        ["search_evidence"]
    );
    let report = ledger.prune(&at(0), 5, |_| {}).unwrap();
    assert_eq!(report.plan.events(), 0);
    assert_eq!(report.search_rebuilt, ["search_evidence"]);
    sound_after_rebuild(&mut conn, &report.search_rebuilt);
    assert_eq!(ledger.storage_stats().unwrap().search_unindexed, 0);
}

#[tokio::test]
async fn a_rebuild_that_fails_after_the_removal_says_what_was_done_and_the_next_prune_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, path) = written(dir.path()).await;
    let mut conn = raw(&path);
    crate::sqlite::search_index::index_batch(&mut conn, i64::MAX).unwrap();
    // Something in the way of emptying the evidence index (a table of it gone missing).
    conn.execute_batch("ALTER TABLE search_evidence_idx RENAME TO moved_away")
        .unwrap();
    let err = ledger.prune(&at(20), 5, |_| {}).unwrap_err().to_string();
    assert!(err.contains("wrote its checkpoint (event #"), "{err}");
    assert!(err.contains("run `airlock ledger prune` again"), "{err}");
    assert!(err.contains("search_evidence_idx"), "{err}");
    // The removal stands and verifies; the checkpoint was anchored.
    let verified = ledger.verify().await.unwrap();
    assert!(verified.ok, "{verified:?}");
    assert!(verified.checkpoint.is_some());
    assert!(
        ledger
            .storage_stats()
            .unwrap()
            .search_set_aside
            .contains(&"search_evidence")
    );
    let anchored = std::fs::read_to_string(ledger.anchor_path()).unwrap();
    let checkpoint_seq = verified.checkpoint.unwrap().event_seq;
    assert!(
        anchored
            .lines()
            .any(|l| l.split_whitespace().next() == Some(&checkpoint_seq.to_string())),
        "{anchored}"
    );
    conn.execute_batch("ALTER TABLE moved_away RENAME TO search_evidence_idx")
        .unwrap();
    let report = ledger.prune(&at(20), 5, |_| {}).unwrap();
    assert!(report.search_rebuilt.iter().any(|i| i == "search_evidence"));
    sound_after_rebuild(&mut conn, &report.search_rebuilt);
}
