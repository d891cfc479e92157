//! What `airlock ledger stats` adds on the Postgres ledger beyond the engine-neutral counts:
//! every writer's chain and head, the age of the history, and how much room it takes.

use airlock_ledger::{ChainHead, LedgerError};
use serde::Serialize;
use tokio_postgres::GenericClient;

use crate::error::Pg;

/// The Postgres side of `ledger stats`.
#[derive(Debug, Clone, Serialize)]
pub struct FleetStats {
    /// Every registered writer (one hash chain each), by writer id.
    pub writers: Vec<WriterStats>,
    /// `created_at` of the first and last event by sequence number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oldest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newest: Option<String>,
    /// Tables, indexes and TOAST of the ledger's schema.
    pub schema_bytes: i64,
    /// The whole database the schema lives in.
    pub database_bytes: i64,
    /// The migrations applied.
    pub schema_version: i64,
}

/// One writer's chain.
#[derive(Debug, Clone, Serialize)]
pub struct WriterStats {
    pub writer_id: String,
    pub host: String,
    pub pid: i64,
    pub registered_at: String,
    /// When it closed its chain; `None` while it serves (or when it stopped without closing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<String>,
    /// Events on its chain: its head's position (a chain that verifies has no gaps), read
    /// from the index rather than counted row by row.
    pub events: i64,
    /// Its last event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head: Option<ChainHead>,
}

pub(crate) async fn fleet_stats(
    c: &impl GenericClient,
    schema: &str,
) -> Result<FleetStats, LedgerError> {
    let writers = c
        .query(
            "SELECT w.writer_id, w.host, w.pid, w.registered_at, w.closed_at,
                    e.writer_seq, e.seq, e.hash
             FROM writers w
             LEFT JOIN LATERAL (SELECT writer_seq, seq, hash FROM events
                 WHERE events.writer_id = w.writer_id ORDER BY writer_seq DESC LIMIT 1) e ON true
             ORDER BY w.writer_id",
            &[],
        )
        .await
        .pg()?
        .iter()
        .map(|r| {
            let seq: Option<i64> = r.get(6);
            let hash: Option<String> = r.get(7);
            WriterStats {
                writer_id: r.get(0),
                host: r.get(1),
                pid: r.get(2),
                registered_at: r.get(3),
                closed_at: r.get(4),
                events: r.get::<_, Option<i64>>(5).unwrap_or(0),
                head: seq.zip(hash).map(|(seq, hash)| ChainHead { seq, hash }),
            }
        })
        .collect();
    let r = c
        .query_one(
            "SELECT (SELECT created_at FROM events ORDER BY seq LIMIT 1),
                    (SELECT created_at FROM events ORDER BY seq DESC LIMIT 1),
                    (SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
                       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                      WHERE n.nspname = $1 AND c.relkind IN ('r', 'm')),
                    pg_database_size(current_database()),
                    (SELECT coalesce(max(version), 0) FROM schema_migrations)",
            &[&schema],
        )
        .await
        .pg()?;
    Ok(FleetStats {
        writers,
        oldest: r.get(0),
        newest: r.get(1),
        schema_bytes: r.get(2),
        database_bytes: r.get(3),
        schema_version: r.get(4),
    })
}
