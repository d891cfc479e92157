//! Grouped counts for metrics scrapes.

use rusqlite::Connection;

use crate::LedgerError;
use crate::telemetry::StateCounts;

pub(crate) fn state_counts(conn: &Connection) -> Result<StateCounts, LedgerError> {
    Ok(StateCounts {
        proposals: grouped(
            conn,
            "SELECT state, count(*) FROM proposals GROUP BY state ORDER BY state",
        )?,
        receipts: grouped(
            conn,
            "SELECT status, count(*) FROM receipts GROUP BY status ORDER BY status",
        )?,
    })
}

fn grouped(conn: &Connection, sql: &str) -> Result<Vec<(String, u64)>, LedgerError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (key, n) = row?;
        out.push((key, u64::try_from(n).unwrap_or(0)));
    }
    Ok(out)
}
