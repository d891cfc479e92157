//! Versioned schema migrations, tracked in `PRAGMA user_version`. Opening a current ledger
//! reads one pragma and nothing else.

use std::path::Path;

use rusqlite::Connection;

use super::search_index::INDEXES;
use crate::LedgerError;

/// Each entry moves the schema from version `i` to `i + 1`. Append only; never edit.
const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    r#"
    CREATE TABLE proposals (
        proposal_id      TEXT PRIMARY KEY,
        proposal_version INTEGER NOT NULL,
        proposal_hash    TEXT NOT NULL,
        action           TEXT NOT NULL,
        state            TEXT NOT NULL,
        tenant_id        TEXT NOT NULL,
        principal        TEXT NOT NULL,
        business_object  TEXT NOT NULL,
        object_id        TEXT NOT NULL,
        source_kind      TEXT NOT NULL,
        source_id        TEXT NOT NULL,
        source_schema    TEXT NOT NULL,
        source_table     TEXT NOT NULL,
        source_database_mutated INTEGER NOT NULL DEFAULT 0,
        dedupe_key       TEXT NOT NULL,
        change_set_json  TEXT NOT NULL,
        created_at       TEXT NOT NULL,
        updated_at       TEXT NOT NULL
    );
    CREATE INDEX idx_proposals_created ON proposals(created_at);
    CREATE INDEX idx_proposals_tenant_created ON proposals(tenant_id, created_at);
    CREATE INDEX idx_proposals_state_created ON proposals(state, created_at);
    CREATE INDEX idx_proposals_action_created ON proposals(action, created_at);
    CREATE INDEX idx_proposals_object_created ON proposals(business_object, object_id, created_at);
    -- At most one open proposal per identical change, across processes.
    CREATE UNIQUE INDEX idx_proposals_open_dedupe ON proposals(dedupe_key)
        WHERE state = 'pending_review';

    CREATE TABLE evidence_bundles (
        evidence_bundle_id TEXT PRIMARY KEY,
        proposal_id        TEXT REFERENCES proposals(proposal_id),
        tenant_id          TEXT NOT NULL,
        principal          TEXT NOT NULL,
        capability         TEXT NOT NULL,
        source_id          TEXT NOT NULL,
        source_table       TEXT NOT NULL,
        business_object    TEXT NOT NULL,
        object_id          TEXT NOT NULL,
        query_fingerprint  TEXT NOT NULL,
        payload_json       TEXT NOT NULL,
        items_json         TEXT NOT NULL,
        created_at         TEXT NOT NULL
    );
    CREATE INDEX idx_evidence_proposal ON evidence_bundles(proposal_id);
    CREATE INDEX idx_evidence_tenant_created ON evidence_bundles(tenant_id, created_at);
    CREATE INDEX idx_evidence_object_created ON evidence_bundles(business_object, object_id, created_at);

    CREATE TABLE query_audit (
        audit_id           INTEGER PRIMARY KEY AUTOINCREMENT,
        proposal_id        TEXT REFERENCES proposals(proposal_id),
        evidence_bundle_id TEXT REFERENCES evidence_bundles(evidence_bundle_id),
        tenant_id          TEXT NOT NULL,
        principal          TEXT NOT NULL,
        capability         TEXT NOT NULL,
        business_object    TEXT NOT NULL,
        object_id          TEXT NOT NULL,
        source_id          TEXT NOT NULL,
        query_fingerprint  TEXT NOT NULL,
        table_name         TEXT NOT NULL,
        row_count          INTEGER NOT NULL,
        duration_us        INTEGER NOT NULL,
        outcome            TEXT NOT NULL,
        payload_json       TEXT NOT NULL,
        created_at         TEXT NOT NULL
    );
    CREATE INDEX idx_query_audit_created ON query_audit(created_at);
    CREATE INDEX idx_query_audit_evidence ON query_audit(evidence_bundle_id);
    CREATE INDEX idx_query_audit_proposal ON query_audit(proposal_id);
    CREATE INDEX idx_query_audit_tenant_created ON query_audit(tenant_id, created_at);

    -- Written by approval and writeback.
    CREATE TABLE approvals (
        approval_id      INTEGER PRIMARY KEY AUTOINCREMENT,
        proposal_id      TEXT NOT NULL REFERENCES proposals(proposal_id),
        proposal_version INTEGER NOT NULL,
        proposal_hash    TEXT NOT NULL,
        approver         TEXT NOT NULL,
        role             TEXT,
        status           TEXT NOT NULL,
        reason           TEXT,
        created_at       TEXT NOT NULL
    );
    CREATE INDEX idx_approvals_proposal ON approvals(proposal_id);

    -- One row per apply attempt; a job is never rewritten.
    CREATE TABLE writeback_jobs (
        job_row_id       INTEGER PRIMARY KEY AUTOINCREMENT,
        writeback_job_id TEXT NOT NULL,
        attempt          INTEGER NOT NULL,
        proposal_id      TEXT NOT NULL REFERENCES proposals(proposal_id),
        proposal_hash    TEXT NOT NULL,
        actor            TEXT NOT NULL,
        job_json         TEXT NOT NULL,
        created_at       TEXT NOT NULL,
        UNIQUE (writeback_job_id, attempt)
    );
    CREATE INDEX idx_writeback_jobs_proposal ON writeback_jobs(proposal_id);

    CREATE TABLE receipts (
        receipt_id       INTEGER PRIMARY KEY AUTOINCREMENT,
        writeback_job_id TEXT NOT NULL,
        proposal_id      TEXT NOT NULL REFERENCES proposals(proposal_id),
        status           TEXT NOT NULL,
        idempotency_key  TEXT NOT NULL,
        source_database_mutated INTEGER NOT NULL,
        receipt_json     TEXT NOT NULL,
        created_at       TEXT NOT NULL
    );
    CREATE INDEX idx_receipts_created ON receipts(created_at);
    CREATE INDEX idx_receipts_proposal ON receipts(proposal_id);
    CREATE INDEX idx_receipts_idempotency ON receipts(idempotency_key);

    -- The hash chain over everything above.
    CREATE TABLE events (
        seq          INTEGER PRIMARY KEY,
        kind         TEXT NOT NULL,
        proposal_id  TEXT,
        subject_kind TEXT NOT NULL,
        subject_id   TEXT NOT NULL,
        actor        TEXT NOT NULL,
        payload_json TEXT NOT NULL,
        record_hash  TEXT NOT NULL,
        prev_hash    TEXT NOT NULL,
        hash         TEXT NOT NULL,
        created_at   TEXT NOT NULL
    );
    CREATE INDEX idx_events_proposal ON events(proposal_id, seq);
    "#,
    // 2: leaner indexes for the hot path (every tool call writes evidence, audit and events).
    // Indexes no query uses are dropped; `proposal_id` indexes become partial, so a plain
    // read, which has no proposal, touches none of them; the audit's tenant filter is ordered
    // by audit_id through the rowid every index entry carries.
    r#"
    DROP INDEX idx_evidence_tenant_created;
    DROP INDEX idx_evidence_object_created;
    DROP INDEX idx_evidence_proposal;
    CREATE INDEX idx_evidence_proposal ON evidence_bundles(proposal_id)
        WHERE proposal_id IS NOT NULL;
    DROP INDEX idx_query_audit_created;
    DROP INDEX idx_query_audit_tenant_created;
    CREATE INDEX idx_query_audit_tenant ON query_audit(tenant_id);
    DROP INDEX idx_query_audit_proposal;
    CREATE INDEX idx_query_audit_proposal ON query_audit(proposal_id)
        WHERE proposal_id IS NOT NULL;
    DROP INDEX idx_events_proposal;
    CREATE INDEX idx_events_proposal ON events(proposal_id, seq)
        WHERE proposal_id IS NOT NULL;
    "#,
    // 3: the ledger remembers the config that served it (so review commands run from the
    // store alone), and decisions and apply attempts record where the operator's name came
    // from and whether a required role was checked.
    r#"
    CREATE TABLE ledger_meta (
        key        TEXT PRIMARY KEY,
        value      TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    ALTER TABLE approvals ADD COLUMN actor_source TEXT;
    ALTER TABLE approvals ADD COLUMN role_verified INTEGER;
    ALTER TABLE writeback_jobs ADD COLUMN actor_source TEXT;
    "#,
    // 4: delivery state of event notifications (`airlock events webhook`, `notifications` in
    // the config): one row per destination. Operational state, outside the hash chain like
    // `ledger_meta` (see `crate::UNCHAINED_TABLES`): it records what a receiver acknowledged,
    // not what happened.
    r#"
    CREATE TABLE event_deliveries (
        destination       TEXT PRIMARY KEY,
        target            TEXT NOT NULL,
        cursor_seq        INTEGER NOT NULL,
        pending_seq       INTEGER,
        attempts          INTEGER NOT NULL DEFAULT 0,
        next_attempt_at   TEXT,
        last_error        TEXT,
        last_error_at     TEXT,
        delivered         INTEGER NOT NULL DEFAULT 0,
        last_delivered_at TEXT,
        created_at        TEXT NOT NULL,
        updated_at        TEXT NOT NULL
    );
    "#,
    // 5 (HUMAN_ACTIONS_SINCE): what people actually did, for shadow-mode comparisons
    // (`airlock shadow`). Chained like the other records; `proposal_id` is a plain link, not a
    // foreign key, so pruning a proposal never depends on its human actions.
    r#"
    CREATE TABLE human_actions (
        action_id    INTEGER PRIMARY KEY AUTOINCREMENT,
        capability   TEXT NOT NULL,
        tenant_id    TEXT NOT NULL,
        object_id    TEXT NOT NULL,
        proposal_id  TEXT,
        actor        TEXT NOT NULL,
        patch_json   TEXT NOT NULL,
        notes        TEXT,
        created_at   TEXT NOT NULL
    );
    CREATE INDEX idx_human_actions_object ON human_actions(capability, tenant_id, object_id);
    "#,
    // 6: the latest prune checkpoint in one index step. `stats`, `verify` and `prune` look for
    // it first; without an index that look-up read every event of a ledger never pruned (10
    // million rows: seconds). Partial, so a tool call's events never touch it.
    r#"
    CREATE INDEX idx_events_checkpoints ON events(seq) WHERE kind = 'ledger_pruned';
    "#,
    // 7 (browse): indexes for list pages and activity search, which order every kind by
    // `(created_at, id)` newest first and filter mostly by time and tenant. Evidence indexes
    // name the id (a text key is not the rowid); audit indexes get `audit_id` as the rowid.
    // The lifecycle-event index is partial: plain reads' events stay out of it. No object
    // index on evidence or audit: two more per read let the WAL outgrow its bound under
    // steady writes (`the_wal_stays_bounded_under_steady_writes`).
    r#"
    CREATE INDEX idx_evidence_created ON evidence_bundles(created_at, evidence_bundle_id);
    CREATE INDEX idx_evidence_tenant_created
        ON evidence_bundles(tenant_id, created_at, evidence_bundle_id);
    DROP INDEX idx_query_audit_tenant;
    CREATE INDEX idx_query_audit_created ON query_audit(created_at);
    CREATE INDEX idx_query_audit_tenant_created ON query_audit(tenant_id, created_at);
    CREATE INDEX idx_proposals_object_id_created ON proposals(object_id, created_at);
    CREATE INDEX idx_events_lifecycle_created ON events(created_at, seq)
        WHERE proposal_id IS NOT NULL;
    "#,
    // 8 (search index): one FTS5 trigram index per searched kind, so `activity search` finds a
    // text without reading every row (see `super::browse`). Each index holds, per row, the
    // fields the kind's shape searches (`crate::browse::shape`), joined by newlines; the
    // `search_text_*` views are the one place that says which, used by the triggers that keep
    // the index in step with every insert, update (a proposal's state) and delete (prune), and by the backfill
    // below, which indexes the rows an older ledger already holds (in this migration's
    // transaction). Contentless (no second copy of the text) and `detail = none` (which rows
    // hold a trigram, not where: about half the cost to each write of positions): the index
    // names the rows holding every trigram of a text, and the search confirms each against
    // the row itself.
    // Reads' own events (no proposal) and proposal creations are never searched, so never
    // indexed. Case folding is the tokenizer's (wider than ASCII): the index may offer a few
    // more candidates than match, never fewer.
    r#"
    CREATE VIEW search_text_proposals AS SELECT rowid AS row_id, concat_ws(char(10),
        proposal_id, action, tenant_id, principal, business_object, object_id, source_id,
        source_schema || '.' || source_table, state, change_set_json) AS text FROM proposals;
    CREATE VIEW search_text_evidence AS SELECT rowid AS row_id, concat_ws(char(10),
        evidence_bundle_id, capability, tenant_id, principal, business_object, object_id,
        source_id, source_table, items_json) AS text FROM evidence_bundles;
    CREATE VIEW search_text_query_audit AS SELECT audit_id AS row_id, concat_ws(char(10),
        capability, tenant_id, principal, business_object, object_id, source_id, table_name,
        outcome, query_fingerprint) AS text FROM query_audit;
    CREATE VIEW search_text_receipts AS SELECT receipt_id AS row_id, concat_ws(char(10),
        writeback_job_id, proposal_id, status, idempotency_key, receipt_json) AS text
        FROM receipts;
    CREATE VIEW search_text_events AS SELECT seq AS row_id, concat_ws(char(10),
        kind, actor, payload_json) AS text FROM events
        WHERE proposal_id IS NOT NULL AND kind <> 'proposal_created';

    CREATE VIRTUAL TABLE search_proposals USING fts5(text, content = '',
        contentless_delete = 1, detail = none,
        tokenize = 'trigram case_sensitive 0 remove_diacritics 0');
    CREATE VIRTUAL TABLE search_evidence USING fts5(text, content = '',
        contentless_delete = 1, detail = none,
        tokenize = 'trigram case_sensitive 0 remove_diacritics 0');
    CREATE VIRTUAL TABLE search_query_audit USING fts5(text, content = '',
        contentless_delete = 1, detail = none,
        tokenize = 'trigram case_sensitive 0 remove_diacritics 0');
    CREATE VIRTUAL TABLE search_receipts USING fts5(text, content = '',
        contentless_delete = 1, detail = none,
        tokenize = 'trigram case_sensitive 0 remove_diacritics 0');
    CREATE VIRTUAL TABLE search_events USING fts5(text, content = '',
        contentless_delete = 1, detail = none,
        tokenize = 'trigram case_sensitive 0 remove_diacritics 0');

    CREATE TRIGGER search_proposals_insert AFTER INSERT ON proposals BEGIN
        INSERT INTO search_proposals(rowid, text)
            SELECT row_id, text FROM search_text_proposals WHERE row_id = new.rowid;
    END;
    CREATE TRIGGER search_proposals_update AFTER UPDATE ON proposals BEGIN
        DELETE FROM search_proposals WHERE rowid = old.rowid;
        INSERT INTO search_proposals(rowid, text)
            SELECT row_id, text FROM search_text_proposals WHERE row_id = new.rowid;
    END;
    CREATE TRIGGER search_proposals_delete AFTER DELETE ON proposals BEGIN
        DELETE FROM search_proposals WHERE rowid = old.rowid;
    END;
    CREATE TRIGGER search_evidence_insert AFTER INSERT ON evidence_bundles BEGIN
        INSERT INTO search_evidence(rowid, text)
            SELECT row_id, text FROM search_text_evidence WHERE row_id = new.rowid;
    END;
    CREATE TRIGGER search_evidence_update AFTER UPDATE ON evidence_bundles BEGIN
        DELETE FROM search_evidence WHERE rowid = old.rowid;
        INSERT INTO search_evidence(rowid, text)
            SELECT row_id, text FROM search_text_evidence WHERE row_id = new.rowid;
    END;
    CREATE TRIGGER search_evidence_delete AFTER DELETE ON evidence_bundles BEGIN
        DELETE FROM search_evidence WHERE rowid = old.rowid;
    END;
    CREATE TRIGGER search_query_audit_insert AFTER INSERT ON query_audit BEGIN
        INSERT INTO search_query_audit(rowid, text)
            SELECT row_id, text FROM search_text_query_audit WHERE row_id = new.audit_id;
    END;
    CREATE TRIGGER search_query_audit_update AFTER UPDATE ON query_audit BEGIN
        DELETE FROM search_query_audit WHERE rowid = old.audit_id;
        INSERT INTO search_query_audit(rowid, text)
            SELECT row_id, text FROM search_text_query_audit WHERE row_id = new.audit_id;
    END;
    CREATE TRIGGER search_query_audit_delete AFTER DELETE ON query_audit BEGIN
        DELETE FROM search_query_audit WHERE rowid = old.audit_id;
    END;
    CREATE TRIGGER search_receipts_insert AFTER INSERT ON receipts BEGIN
        INSERT INTO search_receipts(rowid, text)
            SELECT row_id, text FROM search_text_receipts WHERE row_id = new.receipt_id;
    END;
    CREATE TRIGGER search_receipts_update AFTER UPDATE ON receipts BEGIN
        DELETE FROM search_receipts WHERE rowid = old.receipt_id;
        INSERT INTO search_receipts(rowid, text)
            SELECT row_id, text FROM search_text_receipts WHERE row_id = new.receipt_id;
    END;
    CREATE TRIGGER search_receipts_delete AFTER DELETE ON receipts BEGIN
        DELETE FROM search_receipts WHERE rowid = old.receipt_id;
    END;
    CREATE TRIGGER search_events_insert AFTER INSERT ON events
        WHEN new.proposal_id IS NOT NULL AND new.kind <> 'proposal_created' BEGIN
        INSERT INTO search_events(rowid, text)
            SELECT row_id, text FROM search_text_events WHERE row_id = new.seq;
    END;
    CREATE TRIGGER search_events_update AFTER UPDATE ON events BEGIN
        DELETE FROM search_events WHERE rowid = old.seq;
        INSERT INTO search_events(rowid, text)
            SELECT row_id, text FROM search_text_events WHERE row_id = new.seq;
    END;
    CREATE TRIGGER search_events_delete AFTER DELETE ON events
        WHEN old.proposal_id IS NOT NULL AND old.kind <> 'proposal_created' BEGIN
        DELETE FROM search_events WHERE rowid = old.seq;
    END;
    "#,
    // (8, continued: the backfill of the rows already there (`backfill_search_index`) runs right
    // after this text in the same transaction.)
    // 9 (search index in the background): the index no longer grows inside every tool
    // call's transaction. Migration 8's triggers indexed each row as it was written, and
    // FTS5 flushed and merged its segments at every group commit, under the write lock: issue
    // 3's HTTP benchmark lost 43 % of its inspect and 67 % of its propose throughput. Now each
    // index covers the row ids up to its mark in `search_indexed`, every row at or below the
    // mark and none above (rows above it are the unindexed tail, which a search reads directly,
    // see `super::browse`); `super::search_index` moves the mark in large batches off the call
    // path. The triggers act only on rows at or below the mark: an update or a delete there
    // (a proposal's state, a prune), and an insert there (a row id a delete set free).
    r#"
    CREATE TABLE search_indexed (
        index_name TEXT PRIMARY KEY,
        upto       INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO search_indexed(index_name, upto) VALUES
        ('search_proposals', coalesce((SELECT max(rowid) FROM proposals), 0)),
        ('search_evidence', coalesce((SELECT max(rowid) FROM evidence_bundles), 0)),
        ('search_query_audit', coalesce((SELECT max(audit_id) FROM query_audit), 0)),
        ('search_receipts', coalesce((SELECT max(receipt_id) FROM receipts), 0)),
        ('search_events', coalesce((SELECT max(seq) FROM events), 0));
    DROP TRIGGER search_proposals_insert;
    DROP TRIGGER search_proposals_update;
    DROP TRIGGER search_proposals_delete;
    DROP TRIGGER search_evidence_insert;
    DROP TRIGGER search_evidence_update;
    DROP TRIGGER search_evidence_delete;
    DROP TRIGGER search_query_audit_insert;
    DROP TRIGGER search_query_audit_update;
    DROP TRIGGER search_query_audit_delete;
    DROP TRIGGER search_receipts_insert;
    DROP TRIGGER search_receipts_update;
    DROP TRIGGER search_receipts_delete;
    DROP TRIGGER search_events_insert;
    DROP TRIGGER search_events_update;
    DROP TRIGGER search_events_delete;
    CREATE TRIGGER search_proposals_insert AFTER INSERT ON proposals
        WHEN new.rowid <=
            (SELECT upto FROM search_indexed WHERE index_name = 'search_proposals') BEGIN
        INSERT INTO search_proposals(rowid, text)
            SELECT row_id, text FROM search_text_proposals WHERE row_id = new.rowid;
    END;
    CREATE TRIGGER search_proposals_update AFTER UPDATE ON proposals
        WHEN min(old.rowid, new.rowid) <= (SELECT upto FROM search_indexed WHERE index_name = 'search_proposals') BEGIN
        DELETE FROM search_proposals WHERE rowid = old.rowid;
        INSERT INTO search_proposals(rowid, text) SELECT row_id, text FROM search_text_proposals
            WHERE row_id = new.rowid AND new.rowid <= (SELECT upto FROM search_indexed WHERE index_name = 'search_proposals');
    END;
    CREATE TRIGGER search_proposals_delete AFTER DELETE ON proposals
        WHEN old.rowid <= (SELECT upto FROM search_indexed WHERE index_name = 'search_proposals') BEGIN
        DELETE FROM search_proposals WHERE rowid = old.rowid;
    END;
    CREATE TRIGGER search_evidence_insert AFTER INSERT ON evidence_bundles
        WHEN new.rowid <=
            (SELECT upto FROM search_indexed WHERE index_name = 'search_evidence') BEGIN
        INSERT INTO search_evidence(rowid, text)
            SELECT row_id, text FROM search_text_evidence WHERE row_id = new.rowid;
    END;
    CREATE TRIGGER search_evidence_update AFTER UPDATE ON evidence_bundles
        WHEN min(old.rowid, new.rowid) <= (SELECT upto FROM search_indexed WHERE index_name = 'search_evidence') BEGIN
        DELETE FROM search_evidence WHERE rowid = old.rowid;
        INSERT INTO search_evidence(rowid, text) SELECT row_id, text FROM search_text_evidence
            WHERE row_id = new.rowid AND new.rowid <= (SELECT upto FROM search_indexed WHERE index_name = 'search_evidence');
    END;
    CREATE TRIGGER search_evidence_delete AFTER DELETE ON evidence_bundles
        WHEN old.rowid <= (SELECT upto FROM search_indexed WHERE index_name = 'search_evidence') BEGIN
        DELETE FROM search_evidence WHERE rowid = old.rowid;
    END;
    CREATE TRIGGER search_query_audit_insert AFTER INSERT ON query_audit
        WHEN new.audit_id <= (SELECT upto FROM search_indexed WHERE index_name = 'search_query_audit') BEGIN
        INSERT INTO search_query_audit(rowid, text)
            SELECT row_id, text FROM search_text_query_audit WHERE row_id = new.audit_id;
    END;
    CREATE TRIGGER search_query_audit_update AFTER UPDATE ON query_audit
        WHEN min(old.audit_id, new.audit_id) <= (SELECT upto FROM search_indexed WHERE index_name = 'search_query_audit') BEGIN
        DELETE FROM search_query_audit WHERE rowid = old.audit_id;
        INSERT INTO search_query_audit(rowid, text) SELECT row_id, text FROM search_text_query_audit
            WHERE row_id = new.audit_id AND new.audit_id <= (SELECT upto FROM search_indexed WHERE index_name = 'search_query_audit');
    END;
    CREATE TRIGGER search_query_audit_delete AFTER DELETE ON query_audit
        WHEN old.audit_id <= (SELECT upto FROM search_indexed WHERE index_name = 'search_query_audit') BEGIN
        DELETE FROM search_query_audit WHERE rowid = old.audit_id;
    END;
    CREATE TRIGGER search_receipts_insert AFTER INSERT ON receipts
        WHEN new.receipt_id <= (SELECT upto FROM search_indexed WHERE index_name = 'search_receipts') BEGIN
        INSERT INTO search_receipts(rowid, text)
            SELECT row_id, text FROM search_text_receipts WHERE row_id = new.receipt_id;
    END;
    CREATE TRIGGER search_receipts_update AFTER UPDATE ON receipts
        WHEN min(old.receipt_id, new.receipt_id) <= (SELECT upto FROM search_indexed WHERE index_name = 'search_receipts') BEGIN
        DELETE FROM search_receipts WHERE rowid = old.receipt_id;
        INSERT INTO search_receipts(rowid, text) SELECT row_id, text FROM search_text_receipts
            WHERE row_id = new.receipt_id AND new.receipt_id <= (SELECT upto FROM search_indexed WHERE index_name = 'search_receipts');
    END;
    CREATE TRIGGER search_receipts_delete AFTER DELETE ON receipts
        WHEN old.receipt_id <= (SELECT upto FROM search_indexed WHERE index_name = 'search_receipts') BEGIN
        DELETE FROM search_receipts WHERE rowid = old.receipt_id;
    END;
    CREATE TRIGGER search_events_insert AFTER INSERT ON events
        WHEN new.proposal_id IS NOT NULL AND new.kind <> 'proposal_created'
        AND new.seq <= (SELECT upto FROM search_indexed WHERE index_name = 'search_events') BEGIN
        INSERT INTO search_events(rowid, text)
            SELECT row_id, text FROM search_text_events WHERE row_id = new.seq;
    END;
    CREATE TRIGGER search_events_update AFTER UPDATE ON events
        WHEN min(old.seq, new.seq) <= (SELECT upto FROM search_indexed WHERE index_name = 'search_events') BEGIN
        DELETE FROM search_events WHERE rowid = old.seq;
        INSERT INTO search_events(rowid, text) SELECT row_id, text FROM search_text_events
            WHERE row_id = new.seq AND new.seq <= (SELECT upto FROM search_indexed WHERE index_name = 'search_events');
    END;
    CREATE TRIGGER search_events_delete AFTER DELETE ON events
        WHEN old.proposal_id IS NOT NULL AND old.kind <> 'proposal_created'
        AND old.seq <= (SELECT upto FROM search_indexed WHERE index_name = 'search_events') BEGIN
        DELETE FROM search_events WHERE rowid = old.seq;
    END;
    "#,
    // 10: a search index's mark may be -1, set aside by a prune that removes a large share of
    // its kind (`super::search_index::SET_ASIDE`): no trigger fires for it (every row id is
    // above it), and this build neither reads nor indexes into it while the prune empties
    // and rebuilds it. An older build would take -1 for a tail to index and write into the
    // half-emptied index: the version keeps it from opening the ledger, and the new name of
    // the marks fails the statements of one that opened it before (a server still running
    // the old build: its batches and searches fail, its tool calls go on; SQLite rewrites
    // the triggers to the new name).
    r#"
    ALTER TABLE search_indexed RENAME TO search_marks;
    "#,
];

/// One line per migration (in step with [`MIGRATIONS`]), for `airlock ledger migrate`.
const WHAT: &[&str] = &[
    "the initial schema",
    "leaner indexes for the tool-call path",
    "the remembered config; where a decision's actor came from",
    "delivery state of event notifications",
    "human actions (shadow mode)",
    "an index of prune checkpoints",
    "indexes for list pages and activity search",
    "the search index (FTS5 trigrams), built for every row already recorded",
    "the search index kept up in the background, off the tool-call path",
    "a prune may set a search index aside and rebuild it (older builds must not open it)",
];

const _: () = assert!(WHAT.len() == MIGRATIONS.len());

/// Migration 8's backfill runs over each search index in [`INDEXES`] (the index, the view
/// that says what it holds and the table whose row ids the view's `row_id` is). The rows are
/// indexed in row id ranges of [`BACKFILL_ROWIDS`], each one `INSERT … SELECT` like the single
/// statement per index this migration first ran, so a long build can report progress; the
/// index names the same rows with the same trigrams
/// (`the_backfill_in_ranges_indexes_what_one_statement_did`).
/// Row ids per statement of the backfill: 10 million rows report progress about 150 times.
const BACKFILL_ROWIDS: i64 = 65_536;

/// The schema version that added `human_actions` (migration 5 above; keep in step if
/// migrations are renumbered). Older ledgers read it as an empty table.
const HUMAN_ACTIONS_SINCE: i64 = 5;

/// The oldest schema version this build can read without migrating it. Version 2 ledgers lack
/// the columns version 3 added; a read-only connection sees them through temporary views
/// (`shim_v2`), which live in the connection's temp schema and never touch the file.
const READABLE_SINCE: i64 = 2;

/// The schema version that added the search index (migration 8 above). A read-only connection
/// to an older ledger searches without it (see `super::browse`).
pub(crate) const SEARCH_INDEX_SINCE: i64 = 8;

/// The schema version this build writes.
pub(crate) const CURRENT: i64 = MIGRATIONS.len() as i64;

pub(crate) fn version(conn: &Connection) -> Result<i64, rusqlite::Error> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// What [`migrate`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Migrated {
    /// The ledger was already current (or another process migrated it first).
    Current,
    /// An older ledger was brought up to date.
    Upgraded,
    /// The file was empty: this process created the ledger.
    Created,
}

/// Where a long migration step is: `done` of `total` row ids of one table covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MigrationProgress {
    /// The schema version the step moves to.
    pub version: i64,
    /// What is being built (`search index of evidence_bundles`).
    pub part: &'static str,
    pub done: u64,
    pub total: u64,
}

/// One migration applied: the version it moved to, what it does and how long it took.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MigrationStep {
    pub version: i64,
    pub what: &'static str,
    pub elapsed_ms: u64,
}

/// What an explicit migration did, or (for a dry run) would do: the schema version found and
/// the one reached, and each step.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MigrationReport {
    pub from: i64,
    pub to: i64,
    /// The steps applied (a dry run: the ones pending, with no time).
    pub steps: Vec<MigrationStep>,
    pub elapsed_ms: u64,
}

pub(crate) fn migrate(conn: &Connection, path: &Path) -> Result<Migrated, LedgerError> {
    let report = migrate_reporting(conn, path, &mut |_| {})?;
    Ok(match report.from {
        0 => Migrated::Created,
        f if f == CURRENT => Migrated::Current,
        _ => Migrated::Upgraded,
    })
}

/// Applies every pending migration in one write transaction (taken first, then the version
/// read again: another process may have migrated meanwhile), telling `progress` where long
/// steps are. On any error the transaction rolls back and the file is as it was.
pub(crate) fn migrate_reporting(
    conn: &Connection,
    path: &Path,
    progress: &mut dyn FnMut(&MigrationProgress),
) -> Result<MigrationReport, LedgerError> {
    let started = std::time::Instant::now();
    let found = version(conn)?;
    if found > CURRENT {
        return Err(too_new(path, found));
    }
    if found == CURRENT {
        return Ok(MigrationReport {
            from: found,
            to: found,
            steps: Vec::new(),
            elapsed_ms: 0,
        });
    }
    // Another process may be migrating too: take the write lock, then look again.
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let result = (|| {
        let found = version(conn)?;
        if found > CURRENT {
            return Err(too_new(path, found));
        }
        let steps = apply_steps(conn, found, BACKFILL_ROWIDS, progress)?;
        Ok(MigrationReport {
            from: found,
            to: CURRENT,
            steps,
            elapsed_ms: 0,
        })
    })();
    match result {
        Ok(mut done) => {
            conn.execute_batch("COMMIT")?;
            done.elapsed_ms = elapsed_ms(started);
            Ok(done)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// What [`migrate_reporting`] would do to a ledger at schema `found`, changing nothing.
pub(crate) fn pending(path: &Path, found: i64) -> Result<MigrationReport, LedgerError> {
    if found > CURRENT {
        return Err(too_new(path, found));
    }
    let steps = (found.max(0)..CURRENT)
        .map(|i| MigrationStep {
            version: i + 1,
            what: WHAT[i as usize],
            elapsed_ms: 0,
        })
        .collect();
    Ok(MigrationReport {
        from: found,
        to: CURRENT,
        steps,
        elapsed_ms: 0,
    })
}

fn too_new(path: &Path, found: i64) -> LedgerError {
    LedgerError::TooNew {
        path: path.display().to_string(),
        found,
        supported: CURRENT,
    }
}

fn elapsed_ms(since: std::time::Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Applies every migration after version `found`. The caller holds the write transaction.
pub(crate) fn apply_from(conn: &Connection, found: i64) -> Result<(), rusqlite::Error> {
    apply_steps(conn, found, BACKFILL_ROWIDS, &mut |_| {})?;
    Ok(())
}

/// [`apply_from`], timing each step and telling `progress` about the backfill's ranges.
fn apply_steps(
    conn: &Connection,
    found: i64,
    backfill_rowids: i64,
    progress: &mut dyn FnMut(&MigrationProgress),
) -> Result<Vec<MigrationStep>, rusqlite::Error> {
    let mut steps = Vec::new();
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
        let started = std::time::Instant::now();
        let to = i as i64 + 1;
        conn.execute_batch(sql)?;
        if to == SEARCH_INDEX_SINCE {
            backfill_search_index(conn, to, backfill_rowids, progress)?;
        }
        conn.execute_batch(&format!("PRAGMA user_version = {to}"))?;
        steps.push(MigrationStep {
            version: to,
            what: WHAT[i],
            elapsed_ms: elapsed_ms(started),
        });
    }
    Ok(steps)
}

/// Indexes every row already recorded (migration 8), `rowids` row ids per statement, oldest
/// first, telling `progress` after each range.
fn backfill_search_index(
    conn: &Connection,
    version: i64,
    rowids: i64,
    progress: &mut dyn FnMut(&MigrationProgress),
) -> Result<(), rusqlite::Error> {
    for &(index, view, table) in INDEXES {
        let Some((first, last)) = super::read::row_id_ends(conn, table)? else {
            continue;
        };
        let part = backfill_part(table);
        let total = u64::try_from(last - first + 1).unwrap_or(0);
        let mut stmt = conn.prepare(&format!(
            "INSERT INTO {index}(rowid, text) SELECT row_id, text FROM {view}
             WHERE row_id >= ?1 AND row_id < ?2"
        ))?;
        let mut from = first;
        while from <= last {
            let to = from.saturating_add(rowids.max(1));
            stmt.execute([from, to])?;
            from = to;
            progress(&MigrationProgress {
                version,
                part,
                done: u64::try_from(from.min(last + 1) - first).unwrap_or(0),
                total,
            });
        }
    }
    Ok(())
}

/// The progress label of the backfill of `table`.
fn backfill_part(table: &str) -> &'static str {
    match table {
        "proposals" => "search index of proposals",
        "evidence_bundles" => "search index of evidence",
        "query_audit" => "search index of query audit",
        "receipts" => "search index of receipts",
        _ => "search index of lifecycle events",
    }
}

/// Whether the connection holds a Synapsor Runner store (its own tables, no Airlock schema
/// version).
pub(crate) fn is_original_store(conn: &Connection) -> Result<bool, rusqlite::Error> {
    if version(conn)? != 0 {
        return Ok(false);
    }
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master
             WHERE type = 'table' AND name IN ('proposal_store_schema', 'proposal_events'))",
        [],
        |r| r.get(0),
    )
}

/// Refuses a store written by Synapsor Runner (its own tables, no Airlock schema version),
/// before anything touches the file: Airlock's migrations would fail half-way on it, and even
/// switching it to WAL would change it.
pub(crate) fn refuse_original_store(conn: &Connection, path: &Path) -> Result<(), LedgerError> {
    let open_error = |source| LedgerError::Open {
        path: path.display().to_string(),
        source,
    };
    if is_original_store(conn).map_err(open_error)? {
        return Err(LedgerError::OriginalStore {
            path: path.display().to_string(),
        });
    }
    Ok(())
}

pub(crate) fn check_current(conn: &Connection, path: &Path) -> Result<(), LedgerError> {
    refuse_original_store(conn, path)?;
    let found = version(conn).map_err(|source| LedgerError::Open {
        path: path.display().to_string(),
        source,
    })?;
    if found > CURRENT {
        return Err(LedgerError::TooNew {
            path: path.display().to_string(),
            found,
            supported: CURRENT,
        });
    }
    if found < READABLE_SINCE {
        return Err(LedgerError::Corrupt {
            what: path.display().to_string(),
            detail: format!(
                "schema version {found} is older than {READABLE_SINCE}; open it once with a writing command (e.g. `airlock propose`) to migrate"
            ),
        });
    }
    if found < 3 {
        shim_v2(conn).map_err(|source| LedgerError::Open {
            path: path.display().to_string(),
            source,
        })?;
    }
    shim_deliveries(conn).map_err(|source| LedgerError::Open {
        path: path.display().to_string(),
        source,
    })?;
    if found < HUMAN_ACTIONS_SINCE {
        conn.execute_batch(
            "CREATE TEMP TABLE human_actions (
                 action_id INTEGER PRIMARY KEY, capability TEXT NOT NULL,
                 tenant_id TEXT NOT NULL, object_id TEXT NOT NULL, proposal_id TEXT,
                 actor TEXT NOT NULL, patch_json TEXT NOT NULL, notes TEXT,
                 created_at TEXT NOT NULL);",
        )
        .map_err(|source| LedgerError::Open {
            path: path.display().to_string(),
            source,
        })?;
    }
    Ok(())
}

/// Lets a read-only connection read a ledger written before `event_deliveries` existed: an
/// empty temporary table stands in. Looked up by name, not by version, so the migration can
/// move in the list.
fn shim_deliveries(conn: &Connection) -> rusqlite::Result<()> {
    let present: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM main.sqlite_master
             WHERE type = 'table' AND name = 'event_deliveries')",
        [],
        |r| r.get(0),
    )?;
    if present {
        return Ok(());
    }
    conn.execute_batch(
        "CREATE TEMP TABLE event_deliveries (
             destination TEXT PRIMARY KEY, target TEXT NOT NULL, cursor_seq INTEGER NOT NULL,
             pending_seq INTEGER, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at TEXT,
             last_error TEXT, last_error_at TEXT, delivered INTEGER NOT NULL DEFAULT 0,
             last_delivered_at TEXT,
             created_at TEXT NOT NULL, updated_at TEXT NOT NULL);",
    )
}

/// Lets a read-only connection read a version-2 ledger as if it had version 3's columns: the
/// added columns read as NULL (records written before them never had them, so their hashes
/// are unchanged) and `ledger_meta` is empty.
fn shim_v2(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TEMP VIEW approvals AS
             SELECT *, NULL AS actor_source, NULL AS role_verified FROM main.approvals;
         CREATE TEMP VIEW writeback_jobs AS
             SELECT *, NULL AS actor_source FROM main.writeback_jobs;
         CREATE TEMP TABLE ledger_meta (
             key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL);",
    )
}

/// Migration 8 as it first ran (tests): its text, then one `INSERT … SELECT` per index over
/// every row, no ranges.
#[cfg(test)]
pub(crate) fn migration_8_in_one_statement_per_index(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(MIGRATIONS[SEARCH_INDEX_SINCE as usize - 1])?;
    for (index, view, _) in INDEXES {
        conn.execute_batch(&format!(
            "INSERT INTO {index}(rowid, text) SELECT row_id, text FROM {view}"
        ))?;
    }
    conn.execute_batch(&format!("PRAGMA user_version = {SEARCH_INDEX_SINCE}"))
}

/// Migration 8 with `rowids` row ids per range of its backfill (tests).
#[cfg(test)]
pub(crate) fn migration_8_in_ranges(
    conn: &Connection,
    rowids: i64,
    progress: &mut dyn FnMut(&MigrationProgress),
) -> rusqlite::Result<Vec<MigrationStep>> {
    apply_steps(conn, SEARCH_INDEX_SINCE - 1, rowids, progress)
}
