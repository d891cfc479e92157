//! The event feed (chain events with the tenant and capability of their records) and the
//! `event_deliveries` table.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};

use airlock_protocol::now_rfc3339;

use super::read::event_from_row;
use crate::{DeliveryState, EventQuery, LedgerError, ScopedEvent};

/// Events are appended in commit order, but their `created_at` is the record's own time, so
/// writers in several processes can commit slightly out of time order. A search by time
/// starts this much earlier and then filters exactly.
const CLOCK_SLACK_SECS: i64 = 120;

const SCOPED_EVENTS: &str = "SELECT e.seq, e.kind, e.proposal_id, e.subject_kind, e.subject_id,
        e.actor, e.payload_json, e.record_hash, e.prev_hash, e.hash, e.created_at,
        COALESCE(p.tenant_id, q.tenant_id, b.tenant_id),
        COALESCE(p.action, q.capability, b.capability)
    FROM events e
    LEFT JOIN proposals p ON p.proposal_id = e.proposal_id
    LEFT JOIN query_audit q
        ON e.subject_kind = 'query_audit' AND q.audit_id = CAST(e.subject_id AS INTEGER)
    LEFT JOIN evidence_bundles b
        ON e.subject_kind = 'evidence' AND b.evidence_bundle_id = e.subject_id";

fn scoped_from_row(r: &Row<'_>) -> rusqlite::Result<ScopedEvent> {
    Ok(ScopedEvent {
        event: event_from_row(r)?,
        tenant_id: r.get(11)?,
        capability: r.get(12)?,
    })
}

pub(crate) fn events(conn: &Connection, q: &EventQuery) -> Result<Vec<ScopedEvent>, LedgerError> {
    let mut clause = vec!["1 = 1".to_owned()];
    let mut values: Vec<SqlValue> = Vec::new();
    let mut push = |sql: &str, v: SqlValue| {
        clause.push(sql.to_owned());
        values.push(v);
    };
    if let Some(after) = q.after_seq {
        push("e.seq > ?", SqlValue::Integer(after));
    }
    if let Some(since) = q.since.as_deref() {
        if let Some(floor) = seq_floor(conn, since)? {
            push("e.seq >= ?", SqlValue::Integer(floor));
        }
        push("e.created_at >= ?", SqlValue::Text(since.to_owned()));
    }
    if let Some(until) = q.until.as_deref() {
        push("e.created_at <= ?", SqlValue::Text(until.to_owned()));
    }
    for (sql, v) in [
        ("e.proposal_id = ?", &q.proposal),
        ("e.actor = ?", &q.actor),
        (
            "COALESCE(p.tenant_id, q.tenant_id, b.tenant_id) = ?",
            &q.tenant,
        ),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            push(sql, SqlValue::Text(v.to_owned()));
        }
    }
    if !q.kinds.is_empty() {
        clause.push(format!(
            "e.kind IN ({})",
            vec!["?"; q.kinds.len()].join(", ")
        ));
        values.extend(q.kinds.iter().map(|k| SqlValue::Text(k.clone())));
    }
    let order = if q.newest { "DESC" } else { "ASC" };
    let limit = if q.limit == 0 {
        String::new()
    } else {
        format!(" LIMIT {}", q.limit)
    };
    let sql = format!(
        "{SCOPED_EVENTS} WHERE {} ORDER BY e.seq {order}{limit}",
        clause.join(" AND ")
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(values), scoped_from_row)?;
    let mut out: Vec<ScopedEvent> = rows.collect::<Result<_, _>>()?;
    if q.newest {
        out.reverse();
    }
    Ok(out)
}

/// A sequence number before which no event was created at or after `since` (allowing for
/// [`CLOCK_SLACK_SECS`] of disorder), found by binary search over the chain so a search by
/// time does not scan the whole table. `None` when `since` is not an RFC 3339 time the search
/// can use (the exact filter still applies).
fn seq_floor(conn: &Connection, since: &str) -> Result<Option<i64>, LedgerError> {
    let Ok(at) = chrono::DateTime::parse_from_rfc3339(since) else {
        return Ok(None);
    };
    let target = (at.with_timezone(&chrono::Utc) - chrono::Duration::seconds(CLOCK_SLACK_SECS))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let (lo, hi): (Option<i64>, Option<i64>) =
        conn.query_row("SELECT MIN(seq), MAX(seq) FROM events", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let (Some(mut lo), Some(mut hi)) = (lo, hi) else {
        return Ok(None);
    };
    let mut probe = conn.prepare_cached(
        "SELECT seq, created_at FROM events WHERE seq >= ?1 ORDER BY seq LIMIT 1",
    )?;
    // Invariant: events before `lo` were created before `target`; the answer is in [lo, hi].
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let found: Option<(i64, String)> = probe
            .query_row([mid], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        match found {
            Some((seq, created)) if created.as_str() < target.as_str() => lo = seq + 1,
            _ => hi = mid,
        }
    }
    Ok(Some(lo))
}

const DELIVERY_COLUMNS: &str = "destination, target, cursor_seq, pending_seq, attempts,
    next_attempt_at, last_error, last_error_at, delivered, last_delivered_at, created_at,
    updated_at";

fn delivery_from_row(r: &Row<'_>) -> rusqlite::Result<DeliveryState> {
    Ok(DeliveryState {
        destination: r.get(0)?,
        target: r.get(1)?,
        cursor_seq: r.get(2)?,
        pending_seq: r.get(3)?,
        attempts: r.get(4)?,
        next_attempt_at: r.get(5)?,
        last_error: r.get(6)?,
        last_error_at: r.get(7)?,
        delivered: r.get::<_, i64>(8)?.max(0) as u64,
        last_delivered_at: r.get(9)?,
        created_at: r.get(10)?,
        updated_at: r.get(11)?,
    })
}

pub(crate) fn register(
    conn: &Connection,
    destination: &str,
    target: &str,
    start_after: i64,
) -> Result<DeliveryState, LedgerError> {
    let now = now_rfc3339();
    conn.execute(
        "INSERT INTO event_deliveries (destination, target, cursor_seq, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?4)
         ON CONFLICT (destination) DO UPDATE SET target = excluded.target
         WHERE target <> excluded.target",
        params![destination, target, start_after, now],
    )?;
    Ok(conn.query_row(
        &format!("SELECT {DELIVERY_COLUMNS} FROM event_deliveries WHERE destination = ?1"),
        [destination],
        delivery_from_row,
    )?)
}

pub(crate) fn states(conn: &Connection) -> Result<Vec<DeliveryState>, LedgerError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM event_deliveries ORDER BY destination"
    ))?;
    let rows = stmt.query_map([], delivery_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn delivered(conn: &Connection, destination: &str, seq: i64) -> Result<(), LedgerError> {
    let now = now_rfc3339();
    let changed = conn.execute(
        "UPDATE event_deliveries SET cursor_seq = MAX(cursor_seq, ?2), pending_seq = NULL,
             attempts = 0, next_attempt_at = NULL, delivered = delivered + 1,
             last_delivered_at = ?3, updated_at = ?3
         WHERE destination = ?1",
        params![destination, seq, now],
    )?;
    unknown_destination(changed, destination)
}

pub(crate) fn advance(conn: &Connection, destination: &str, seq: i64) -> Result<(), LedgerError> {
    let changed = conn.execute(
        "UPDATE event_deliveries SET cursor_seq = ?2, updated_at = ?3
         WHERE destination = ?1 AND cursor_seq < ?2",
        params![destination, seq, now_rfc3339()],
    )?;
    if changed == 0 {
        // Either already there, or no such destination: tell them apart.
        let exists: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM event_deliveries WHERE destination = ?1)",
            [destination],
            |r| r.get(0),
        )?;
        return unknown_destination(usize::from(exists), destination);
    }
    Ok(())
}

pub(crate) fn failed(
    conn: &Connection,
    destination: &str,
    seq: i64,
    attempts: u32,
    error: &str,
    next_attempt_at: &str,
) -> Result<(), LedgerError> {
    let now = now_rfc3339();
    let changed = conn.execute(
        "UPDATE event_deliveries SET pending_seq = ?2, attempts = ?3, last_error = ?4,
             last_error_at = ?5, next_attempt_at = ?6, updated_at = ?5
         WHERE destination = ?1",
        params![destination, seq, attempts, error, now, next_attempt_at],
    )?;
    unknown_destination(changed, destination)
}

fn unknown_destination(changed: usize, destination: &str) -> Result<(), LedgerError> {
    if changed == 0 {
        return Err(LedgerError::NotFound {
            kind: "delivery destination",
            id: destination.to_owned(),
        });
    }
    Ok(())
}
