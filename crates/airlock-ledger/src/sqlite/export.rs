//! Writing a ledger export (see [`crate::export`]): one read snapshot, streamed.

use std::io::Write;

use rusqlite::Connection;

use super::{checkpoint, read, verify};
use crate::export::{EXPORT_FORMAT, ExportHeader, ExportLine};
use crate::{LedgerError, VerifyBreak};

/// Writes the events created at or after `since` (all when `None`) with their records. A
/// range that starts before a prune's cut starts right after it (the events kept below the
/// cut are not a contiguous chain).
pub(crate) fn export(
    conn: &Connection,
    ledger: &str,
    since: Option<&str>,
    out: &mut dyn Write,
) -> Result<ExportHeader, LedgerError> {
    let snapshot = conn.unchecked_transaction()?;
    let cut = match checkpoint::latest(&snapshot)? {
        Some(Ok(c)) => c.summary.cut.seq,
        Some(Err(detail)) => return Err(LedgerError::Maintenance { detail }),
        None => 0,
    };
    let head = read::head(&snapshot)?.map_or(0, |(seq, _)| seq);
    let from: Option<i64> = match since {
        Some(t) => snapshot.query_row(
            "SELECT min(seq) FROM events WHERE created_at >= ?1",
            [t],
            |r| r.get(0),
        )?,
        None => Some(1),
    };
    let first = from.unwrap_or(head + 1).max(cut + 1);
    let prev_hash: String = if first <= head {
        snapshot.query_row(
            "SELECT prev_hash FROM events WHERE seq = ?1",
            [first],
            |r| r.get(0),
        )?
    } else {
        read::head(&snapshot)?.map_or_else(|| crate::GENESIS_HASH.to_owned(), |(_, h)| h)
    };
    let header = ExportHeader {
        format: EXPORT_FORMAT.into(),
        ledger: ledger.into(),
        exported_at: airlock_protocol::now_rfc3339(),
        since: since.map(str::to_owned),
        first_seq: first,
        last_seq: head.max(first - 1),
        events: (head - first + 1).max(0) as u64,
        prev_hash,
    };
    serde_json::to_writer(&mut *out, &header)?;
    out.write_all(b"\n")?;
    let mut stmt = snapshot.prepare(&format!(
        "{} WHERE seq >= ?1 AND seq <= ?2 ORDER BY seq",
        read::events_sql()
    ))?;
    let mut rows = stmt.query([first, head])?;
    let mut covered: verify::Covered = [0; verify::CHAINED_TABLES.len()];
    while let Some(row) = rows.next()? {
        let event = read::event_from_row(row)?;
        let record = verify::record_value(&snapshot, &event, &mut covered).map_err(|w| match w {
            verify::Walk::Ledger(e) => e,
            verify::Walk::Break(VerifyBreak { seq, code, detail }) => LedgerError::Maintenance {
                detail: format!(
                    "event {seq} cannot be exported ({code}: {detail}); run `airlock ledger verify`"
                ),
            },
        })?;
        serde_json::to_writer(&mut *out, &ExportLine { event, record })?;
        out.write_all(b"\n")?;
    }
    drop(rows);
    drop(stmt);
    snapshot.rollback()?;
    out.flush()?;
    Ok(header)
}
