//! The event feed (chain events with the tenant and capability of their records) and the
//! `event_deliveries` table.
//!
//! Ordering: `seq` is allocated from one sequence when a transaction appends its events, and
//! transactions of different servers commit in any order, so an event can become visible after
//! one with a higher `seq`. A reader that resumes after a cursor (`after_seq`, which is how
//! deliveries and `events tail` follow the chain) therefore reads only up to the feed's
//! horizon ([`horizon`]): past the cursor, every number up to it is either visible or given up
//! for lost. Numbers are handed out one by one, so a run of visible numbers right after the
//! cursor is complete and is read at once. A missing number (a transaction still committing,
//! or one that rolled back and left a hole for good) holds the horizon until a later event is
//! older than the settle time (`PgLedgerOptions::feed_settle`, by the database's clock): a
//! write transaction commits within milliseconds of inserting its events, so by then every
//! lower `seq` that will ever exist is visible. A transaction held open longer than the
//! settle time between insert and commit could still be passed over; the ledger's own
//! transactions never are.

use std::time::Duration;

use airlock_ledger::{DeliveryState, EventQuery, LedgerError, ScopedEvent};
use airlock_protocol::now_rfc3339;
use tokio_postgres::GenericClient;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::error::Pg;
use crate::read::{EVENT_COLUMNS, col, event_from_row};

const SCOPED_FROM: &str = "FROM events e
    LEFT JOIN proposals p ON p.proposal_id = e.proposal_id
    LEFT JOIN query_audit q
        ON e.subject_kind = 'query_audit' AND q.audit_id::text = e.subject_id
    LEFT JOIN evidence_bundles b
        ON e.subject_kind = 'evidence' AND b.evidence_bundle_id = e.subject_id";

fn scoped_from_row(r: &Row) -> Result<ScopedEvent, LedgerError> {
    Ok(ScopedEvent {
        event: event_from_row(r)?,
        tenant_id: col(r, 11)?,
        capability: col(r, 12)?,
    })
}

/// Numbers past the cursor one horizon query looks at: a reader far behind moves a window at
/// a time.
const HORIZON_WINDOW: i64 = 10_000;

/// How far a feed that read everything up to `after` may read now (see the module's notes):
/// the run of consecutive numbers right after `after`, extended past a hole only once a later
/// event has settled.
pub(crate) async fn horizon(
    c: &impl GenericClient,
    after: i64,
    settle: Duration,
) -> Result<i64, LedgerError> {
    let rows = c
        .query(
            "SELECT seq, inserted_at <= clock_timestamp() - make_interval(secs => $2)
             FROM events WHERE seq > $1 ORDER BY seq LIMIT $3",
            &[&after, &settle.as_secs_f64(), &HORIZON_WINDOW],
        )
        .await
        .pg()?;
    let seqs: Vec<(i64, bool)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    Ok(horizon_of(after, &seqs))
}

/// [`horizon`] over `(seq, settled)` pairs ascending: everything up to the last settled
/// event, then every consecutive number after it.
fn horizon_of(after: i64, seqs: &[(i64, bool)]) -> i64 {
    let settled = seqs
        .iter()
        .filter(|(_, settled)| *settled)
        .map(|(seq, _)| *seq)
        .max()
        .unwrap_or(after);
    let mut horizon = after.max(settled);
    for &(seq, _) in seqs {
        if seq <= horizon {
            continue;
        }
        if seq != horizon + 1 {
            break;
        }
        horizon = seq;
    }
    horizon
}

pub(crate) async fn events(
    c: &impl GenericClient,
    q: &EventQuery,
    settle: Duration,
) -> Result<Vec<ScopedEvent>, LedgerError> {
    // Worked out before the query: what is visible up to it stays visible.
    let upto = match q.after_seq {
        Some(after) => Some((after, horizon(c, after, settle).await?)),
        None => None,
    };
    let mut clause = vec!["TRUE".to_owned()];
    let mut values: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
    let mut push = |sql: &str, v: Box<dyn ToSql + Sync + Send>| {
        values.push(v);
        clause.push(sql.replace('?', &format!("${}", values.len())));
    };
    if let Some((after, horizon)) = upto {
        push("e.seq > ?", Box::new(after));
        push("e.seq <= ?", Box::new(horizon));
    }
    if let Some(since) = q.since.as_deref() {
        push("e.created_at >= ?", Box::new(since.to_owned()));
    }
    if let Some(until) = q.until.as_deref() {
        push("e.created_at <= ?", Box::new(until.to_owned()));
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
            push(sql, Box::new(v.to_owned()));
        }
    }
    if !q.kinds.is_empty() {
        push("e.kind = ANY(?)", Box::new(q.kinds.clone()));
    }
    let order = if q.newest { "DESC" } else { "ASC" };
    let limit = if q.limit == 0 {
        String::new()
    } else {
        format!(" LIMIT {}", q.limit)
    };
    let sql = format!(
        "SELECT {EVENT_COLUMNS},
            COALESCE(p.tenant_id, q.tenant_id, b.tenant_id),
            COALESCE(p.action, q.capability, b.capability)
         {SCOPED_FROM} WHERE {} ORDER BY e.seq {order}{limit}",
        clause.join(" AND ")
    );
    let params: Vec<&(dyn ToSql + Sync)> =
        values.iter().map(|v| &**v as &(dyn ToSql + Sync)).collect();
    let rows = c.query(&sql, &params).await.pg()?;
    let mut out = rows
        .iter()
        .map(scoped_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    if q.newest {
        out.reverse();
    }
    Ok(out)
}

const DELIVERY_COLUMNS: &str = "destination, target, cursor_seq, pending_seq, attempts,
    next_attempt_at, last_error, last_error_at, delivered, last_delivered_at, created_at,
    updated_at";

fn delivery_from_row(r: &Row) -> Result<DeliveryState, LedgerError> {
    Ok(DeliveryState {
        destination: col(r, 0)?,
        target: col(r, 1)?,
        cursor_seq: col(r, 2)?,
        pending_seq: col(r, 3)?,
        attempts: u32::try_from(col::<i64>(r, 4)?).unwrap_or(u32::MAX),
        next_attempt_at: col(r, 5)?,
        last_error: col(r, 6)?,
        last_error_at: col(r, 7)?,
        delivered: col::<i64>(r, 8)?.max(0) as u64,
        last_delivered_at: col(r, 9)?,
        created_at: col(r, 10)?,
        updated_at: col(r, 11)?,
    })
}

pub(crate) async fn register(
    c: &impl GenericClient,
    destination: &str,
    target: &str,
    start_after: i64,
) -> Result<DeliveryState, LedgerError> {
    let now = now_rfc3339();
    c.execute(
        "INSERT INTO event_deliveries (destination, target, cursor_seq, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $4)
         ON CONFLICT (destination) DO UPDATE SET target = excluded.target
         WHERE event_deliveries.target <> excluded.target",
        &[&destination, &target, &start_after, &now],
    )
    .await
    .pg()?;
    let row = c
        .query_one(
            &format!("SELECT {DELIVERY_COLUMNS} FROM event_deliveries WHERE destination = $1"),
            &[&destination],
        )
        .await
        .pg()?;
    delivery_from_row(&row)
}

pub(crate) async fn states(c: &impl GenericClient) -> Result<Vec<DeliveryState>, LedgerError> {
    let rows = c
        .query(
            &format!("SELECT {DELIVERY_COLUMNS} FROM event_deliveries ORDER BY destination"),
            &[],
        )
        .await
        .pg()?;
    rows.iter().map(delivery_from_row).collect()
}

pub(crate) async fn delivered(
    c: &impl GenericClient,
    destination: &str,
    seq: i64,
) -> Result<(), LedgerError> {
    let changed = c
        .execute(
            "UPDATE event_deliveries SET cursor_seq = GREATEST(cursor_seq, $2), pending_seq = NULL,
                 attempts = 0, next_attempt_at = NULL, delivered = delivered + 1,
                 last_delivered_at = $3, updated_at = $3
             WHERE destination = $1",
            &[&destination, &seq, &now_rfc3339()],
        )
        .await
        .pg()?;
    unknown_destination(changed, destination)
}

pub(crate) async fn advance(
    c: &impl GenericClient,
    destination: &str,
    seq: i64,
) -> Result<(), LedgerError> {
    let changed = c
        .execute(
            "UPDATE event_deliveries SET cursor_seq = $2, updated_at = $3
             WHERE destination = $1 AND cursor_seq < $2",
            &[&destination, &seq, &now_rfc3339()],
        )
        .await
        .pg()?;
    if changed == 0 {
        let exists: bool = c
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM event_deliveries WHERE destination = $1)",
                &[&destination],
            )
            .await
            .pg()?
            .get(0);
        return unknown_destination(u64::from(exists), destination);
    }
    Ok(())
}

pub(crate) async fn failed(
    c: &impl GenericClient,
    destination: &str,
    seq: i64,
    attempts: u32,
    error: &str,
    next_attempt_at: &str,
) -> Result<(), LedgerError> {
    let now = now_rfc3339();
    let changed = c
        .execute(
            "UPDATE event_deliveries SET pending_seq = $2, attempts = $3, last_error = $4,
                 last_error_at = $5, next_attempt_at = $6, updated_at = $5
             WHERE destination = $1",
            &[
                &destination,
                &seq,
                &i64::from(attempts),
                &error,
                &now,
                &next_attempt_at,
            ],
        )
        .await
        .pg()?;
    unknown_destination(changed, destination)
}

fn unknown_destination(changed: u64, destination: &str) -> Result<(), LedgerError> {
    if changed == 0 {
        return Err(LedgerError::NotFound {
            kind: "delivery destination",
            id: destination.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::horizon_of;

    #[test]
    fn the_horizon_follows_consecutive_numbers_and_passes_a_hole_only_once_settled() {
        let fresh = |s: &[i64]| s.iter().map(|&n| (n, false)).collect::<Vec<_>>();
        assert_eq!(horizon_of(10, &[]), 10);
        assert_eq!(horizon_of(10, &fresh(&[11, 12, 13])), 13);
        // A hole at 12 (still committing, or rolled back): wait.
        assert_eq!(horizon_of(10, &fresh(&[11, 13, 14])), 11);
        assert_eq!(horizon_of(10, &fresh(&[12])), 10);
        // Once an event past the hole settled, the hole is given up for lost.
        assert_eq!(horizon_of(10, &[(11, true), (13, true), (14, false)]), 14);
        assert_eq!(horizon_of(10, &[(13, true), (15, false)]), 13);
        // Settled rows arrive out of order too (inserted a moment apart).
        assert_eq!(horizon_of(10, &[(11, false), (12, true), (13, false)]), 13);
    }
}
