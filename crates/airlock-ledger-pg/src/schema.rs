//! The ledger's tables, in a Postgres schema of their own, and versioned migrations.
//!
//! `connect` applies pending migrations inside one transaction holding a transaction-level
//! advisory lock keyed by the schema name, so replicas started together migrate once: the
//! first takes the lock and migrates, the others wait, then find the version current.
//!
//! Text columns hold times and JSON exactly as written (not `timestamptz`/`jsonb`): the hash
//! chain covers their text, and `jsonb` would reorder keys.

use deadpool_postgres::Client;

use crate::error::Pg;
use airlock_ledger::LedgerError;

/// Migrations, in order; version N is the first N applied. Never edit one that shipped.
const MIGRATIONS: &[&str] = &[
    // 1: every table of the SQLite ledger, plus `writers` (one hash chain per server process)
    // and the chain columns on events: `seq` is global (a sequence, allocation order) and
    // hashed; `(writer_id, writer_seq)` place the event on its writer's chain.
    r#"
    CREATE TABLE writers (
        writer_id     TEXT PRIMARY KEY,
        host          TEXT NOT NULL,
        pid           BIGINT NOT NULL,
        registered_at TEXT NOT NULL,
        closed_at     TEXT
    );

    CREATE TABLE proposals (
        proposal_id      TEXT PRIMARY KEY,
        row_order        BIGSERIAL NOT NULL,
        proposal_version BIGINT NOT NULL,
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
        source_database_mutated BOOLEAN NOT NULL,
        dedupe_key       TEXT NOT NULL,
        change_set_json  TEXT NOT NULL,
        created_at       TEXT NOT NULL,
        updated_at       TEXT NOT NULL
    );
    -- At most one open proposal per dedupe key, across every server.
    CREATE UNIQUE INDEX proposals_open_dedupe ON proposals(dedupe_key)
        WHERE state = 'pending_review';
    CREATE INDEX proposals_created ON proposals(created_at, row_order);
    CREATE INDEX proposals_state ON proposals(state);

    CREATE TABLE evidence_bundles (
        evidence_bundle_id TEXT PRIMARY KEY,
        row_order          BIGSERIAL NOT NULL,
        proposal_id        TEXT,
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
    CREATE INDEX evidence_proposal ON evidence_bundles(proposal_id)
        WHERE proposal_id IS NOT NULL;

    CREATE TABLE query_audit (
        audit_id           BIGSERIAL PRIMARY KEY,
        proposal_id        TEXT,
        evidence_bundle_id TEXT,
        tenant_id          TEXT NOT NULL,
        principal          TEXT NOT NULL,
        capability         TEXT NOT NULL,
        business_object    TEXT NOT NULL,
        object_id          TEXT NOT NULL,
        source_id          TEXT NOT NULL,
        query_fingerprint  TEXT NOT NULL,
        table_name         TEXT NOT NULL,
        row_count          BIGINT NOT NULL,
        duration_us        BIGINT NOT NULL,
        outcome            TEXT NOT NULL,
        payload_json       TEXT NOT NULL,
        created_at         TEXT NOT NULL
    );
    CREATE INDEX query_audit_evidence ON query_audit(evidence_bundle_id)
        WHERE evidence_bundle_id IS NOT NULL;
    CREATE INDEX query_audit_proposal ON query_audit(proposal_id)
        WHERE proposal_id IS NOT NULL;

    CREATE TABLE approvals (
        approval_id      BIGSERIAL PRIMARY KEY,
        proposal_id      TEXT NOT NULL,
        proposal_version BIGINT NOT NULL,
        proposal_hash    TEXT NOT NULL,
        approver         TEXT NOT NULL,
        role             TEXT,
        status           TEXT NOT NULL,
        reason           TEXT,
        created_at       TEXT NOT NULL,
        actor_source     TEXT,
        role_verified    BOOLEAN
    );
    CREATE INDEX approvals_proposal ON approvals(proposal_id);

    -- One row per apply attempt; `attempt` is the fencing token, the job's lease says until
    -- when its worker holds it.
    CREATE TABLE writeback_jobs (
        job_row_id       BIGSERIAL PRIMARY KEY,
        writeback_job_id TEXT NOT NULL,
        attempt          BIGINT NOT NULL,
        proposal_id      TEXT NOT NULL,
        proposal_hash    TEXT NOT NULL,
        actor            TEXT NOT NULL,
        job_json         TEXT NOT NULL,
        created_at       TEXT NOT NULL,
        actor_source     TEXT,
        UNIQUE (writeback_job_id, attempt)
    );
    CREATE INDEX writeback_jobs_proposal ON writeback_jobs(proposal_id);

    CREATE TABLE receipts (
        receipt_id       BIGSERIAL PRIMARY KEY,
        writeback_job_id TEXT NOT NULL,
        attempt          BIGINT NOT NULL,
        proposal_id      TEXT NOT NULL,
        status           TEXT NOT NULL,
        idempotency_key  TEXT NOT NULL,
        source_database_mutated BOOLEAN NOT NULL,
        receipt_json     TEXT NOT NULL,
        created_at       TEXT NOT NULL
    );
    CREATE INDEX receipts_proposal ON receipts(proposal_id);
    CREATE INDEX receipts_job ON receipts(writeback_job_id, attempt);

    CREATE TABLE human_actions (
        action_id    BIGSERIAL PRIMARY KEY,
        capability   TEXT NOT NULL,
        tenant_id    TEXT NOT NULL,
        object_id    TEXT NOT NULL,
        proposal_id  TEXT,
        actor        TEXT NOT NULL,
        patch_json   TEXT NOT NULL,
        notes        TEXT,
        created_at   TEXT NOT NULL
    );
    CREATE INDEX human_actions_object ON human_actions(capability, tenant_id, object_id);

    CREATE SEQUENCE event_seq;
    CREATE TABLE events (
        seq          BIGINT PRIMARY KEY,
        writer_id    TEXT NOT NULL,
        writer_seq   BIGINT NOT NULL,
        kind         TEXT NOT NULL,
        proposal_id  TEXT,
        subject_kind TEXT NOT NULL,
        subject_id   TEXT NOT NULL,
        actor        TEXT NOT NULL,
        payload_json TEXT NOT NULL,
        record_hash  TEXT NOT NULL,
        prev_hash    TEXT NOT NULL,
        hash         TEXT NOT NULL,
        created_at   TEXT NOT NULL,
        -- When the row was written, by the database's clock: the feed holds back rows younger
        -- than its settle time (see feed.rs). Not hashed; operational.
        inserted_at  TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
        UNIQUE (writer_id, writer_seq)
    );
    CREATE INDEX events_proposal ON events(proposal_id, seq) WHERE proposal_id IS NOT NULL;
    CREATE INDEX events_anchors ON events(seq)
        WHERE kind IN ('writer_joined', 'writers_anchored');

    -- Operational, outside the chain (as in the SQLite ledger).
    CREATE TABLE event_deliveries (
        destination       TEXT PRIMARY KEY,
        target            TEXT NOT NULL,
        cursor_seq        BIGINT NOT NULL,
        pending_seq       BIGINT,
        attempts          BIGINT NOT NULL DEFAULT 0,
        next_attempt_at   TEXT,
        last_error        TEXT,
        last_error_at     TEXT,
        delivered         BIGINT NOT NULL DEFAULT 0,
        last_delivered_at TEXT,
        created_at        TEXT NOT NULL,
        updated_at        TEXT NOT NULL
    );
    "#,
    // 2: the browse order keys (`created_at`, id, newest first) and their main filters, in
    // the bytewise collation the browse statements order by (browse.rs), so a page reads an
    // index range instead of sorting the table.
    r#"
    CREATE INDEX proposals_browse ON proposals(created_at COLLATE "C", proposal_id COLLATE "C");
    CREATE INDEX proposals_browse_tenant
        ON proposals(tenant_id, created_at COLLATE "C", proposal_id COLLATE "C");
    CREATE INDEX proposals_browse_object
        ON proposals(object_id, created_at COLLATE "C", proposal_id COLLATE "C");
    CREATE INDEX evidence_browse
        ON evidence_bundles(created_at COLLATE "C", evidence_bundle_id COLLATE "C");
    CREATE INDEX evidence_browse_tenant
        ON evidence_bundles(tenant_id, created_at COLLATE "C", evidence_bundle_id COLLATE "C");
    CREATE INDEX query_audit_browse ON query_audit(created_at COLLATE "C", audit_id);
    CREATE INDEX query_audit_browse_tenant
        ON query_audit(tenant_id, created_at COLLATE "C", audit_id);
    CREATE INDEX receipts_browse ON receipts(created_at COLLATE "C", receipt_id);
    CREATE INDEX events_browse ON events(created_at COLLATE "C", seq)
        WHERE proposal_id IS NOT NULL AND kind <> 'proposal_created';
    "#,
];

/// The schema version this build writes.
pub const CURRENT: i64 = MIGRATIONS.len() as i64;

/// A 64-bit advisory lock key for `purpose` in `schema` (so two ledgers in two schemas of one
/// database never wait for each other).
pub(crate) fn lock_key(purpose: &str, schema: &str) -> i64 {
    let hex = airlock_protocol::canonical::sha256_hex(
        format!("airlock-ledger:{purpose}:{schema}").as_bytes(),
    );
    i64::from_str_radix(&hex[..15], 16).expect("15 hex digits fit an i64")
}

/// Whether `name` is a plain lowercase identifier Postgres takes unquoted (the schema name is
/// spliced into `search_path`, so nothing else is accepted).
pub(crate) fn valid_schema(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63
}

/// What [`migrate`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Migrated {
    Current,
    Upgraded { from: i64 },
}

/// Creates the schema when missing and applies pending migrations, under the migration lock.
pub(crate) async fn migrate(client: &mut Client, schema: &str) -> Result<Migrated, LedgerError> {
    let tx = client.transaction().await.pg()?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1)",
        &[&lock_key("migrate", schema)],
    )
    .await
    .pg()?;
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {schema};
         CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
             version    BIGINT PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         );"
    ))
    .await
    .pg()?;
    let found: i64 = tx
        .query_one(
            &format!("SELECT COALESCE(MAX(version), 0) FROM {schema}.schema_migrations"),
            &[],
        )
        .await
        .pg()?
        .get(0);
    if found > CURRENT {
        return Err(LedgerError::TooNew {
            path: format!("postgres schema {schema}"),
            found,
            supported: CURRENT,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.batch_execute(&format!("SET LOCAL search_path TO {schema}; {sql}"))
            .await
            .pg()?;
        tx.execute(
            &format!("INSERT INTO {schema}.schema_migrations (version) VALUES ($1)"),
            &[&(i as i64 + 1)],
        )
        .await
        .pg()?;
    }
    tx.commit().await.pg()?;
    Ok(if found == CURRENT {
        Migrated::Current
    } else {
        Migrated::Upgraded { from: found }
    })
}

/// For a read-only open: the schema must hold a ledger at exactly this version
/// ([`LedgerError::Missing`] when it holds none). Nothing is created, migrated or locked.
pub(crate) async fn check_current(client: &Client, schema: &str) -> Result<(), LedgerError> {
    let table = format!("{schema}.schema_migrations");
    let exists: bool = client
        .query_one("SELECT to_regclass($1::text) IS NOT NULL", &[&table])
        .await
        .pg()?
        .get(0);
    if !exists {
        // A reading command never creates one.
        return Err(LedgerError::Missing {
            path: format!("Postgres schema {schema}"),
        });
    }
    let found: i64 = client
        .query_one(
            &format!("SELECT COALESCE(MAX(version), 0) FROM {table}"),
            &[],
        )
        .await
        .pg()?
        .get(0);
    if found > CURRENT {
        return Err(LedgerError::TooNew {
            path: format!("postgres schema {schema}"),
            found,
            supported: CURRENT,
        });
    }
    if found < CURRENT {
        return Err(LedgerError::Postgres {
            detail: format!(
                "schema {schema} holds ledger version {found}, older than this airlock's {CURRENT}; a reading command never migrates it (a server or writing command of this version does)"
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_schema_names_are_accepted() {
        for good in ["airlock", "_x1", "ledger_2"] {
            assert!(valid_schema(good), "{good}");
        }
        for bad in [
            "",
            "Airlock",
            "1x",
            "a-b",
            "a; DROP TABLE x",
            "a\"b",
            &"x".repeat(64),
        ] {
            assert!(!valid_schema(bad), "{bad}");
        }
    }

    #[test]
    fn lock_keys_differ_by_purpose_and_schema() {
        assert_ne!(lock_key("migrate", "a"), lock_key("migrate", "b"));
        assert_ne!(lock_key("migrate", "a"), lock_key("join", "a"));
    }
}
