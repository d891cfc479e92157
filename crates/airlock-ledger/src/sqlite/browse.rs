//! List pages and search over every record kind, with one filter and one keyset rule, on
//! SQLite. The shapes, predicates and cursor rule are shared with the Postgres ledger
//! ([`crate::browse::shape`]); this file runs them. A text is matched with
//! `instr(lower(column), ?)`, so `%`, `_` and quotes are plain characters.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, Row, params_from_iter};

use crate::browse::shape::{
    self, ACTIVITY, Bound, Cursor, CursorId, EVIDENCE, HitRow, PROPOSALS, QUERY_AUDIT, RECEIPTS,
    SEARCHED, SQLITE, Shape, Where,
};
use crate::browse::{Hit, Page, RecordFilter, SearchText};
use crate::{EvidenceBundle, LedgerError, QueryAudit, StoredProposal, StoredReceipt};

use super::read;

fn values(w: Where) -> Vec<SqlValue> {
    w.values
        .into_iter()
        .map(|v| match v {
            Bound::Text(t) => SqlValue::Text(t),
            Bound::Int(i) => SqlValue::Integer(i),
        })
        .collect()
}

/// The order key of a row whose last two columns are `created_at` and the id.
fn key_of(shape: &Shape, r: &Row<'_>) -> rusqlite::Result<Cursor> {
    let n = r.as_ref().column_count();
    let id = if shape.id_is_int {
        CursorId::Int(r.get(n - 1)?)
    } else {
        CursorId::Text(r.get(n - 1)?)
    };
    Ok(shape::key(shape, r.get(n - 2)?, id))
}

/// One page of one kind: at most `limit + 1` rows (the extra one says whether more follow).
fn fetch<T>(
    conn: &Connection,
    shape: &Shape,
    mut w: Where,
    cursor: Option<&Cursor>,
    columns: &str,
    (limit, offset): (usize, u32),
    map: impl Fn(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<(Cursor, T)>, LedgerError> {
    if let Some(c) = cursor {
        shape::after_cursor(&mut w, shape, c, &SQLITE);
    }
    let sql = shape::page_sql(shape, columns, &w, limit + 1, offset, &SQLITE);
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(values(w)), |r| {
        Ok((key_of(shape, r)?, map(r)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One page of a single-kind listing (`listing` names it in the cursor).
fn list<T>(
    conn: &Connection,
    shape: &Shape,
    listing: &str,
    f: &RecordFilter,
    columns: &str,
    map: impl Fn(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Page<T>, LedgerError> {
    let (fingerprint, cursor) = shape::open_cursor(f, listing, None)?;
    let Some(w) = shape::filter_where(shape, f, &SQLITE) else {
        return Ok(Page {
            items: Vec::new(),
            next_cursor: None,
        });
    };
    let limit = shape::page_size(f);
    let rows = fetch(
        conn,
        shape,
        w,
        cursor.as_ref(),
        columns,
        (limit, f.offset),
        map,
    )?;
    Ok(shape::into_page(rows, limit, listing, &fingerprint))
}

pub(crate) fn proposals(
    conn: &Connection,
    f: &RecordFilter,
) -> Result<Page<StoredProposal>, LedgerError> {
    list(
        conn,
        &PROPOSALS,
        "proposals",
        f,
        read::PROPOSAL_COLUMNS,
        read::proposal_from_row,
    )
}

/// How many proposals match `f` (its page, cursor and offset aside).
pub(crate) fn proposal_count(conn: &Connection, f: &RecordFilter) -> Result<u64, LedgerError> {
    let Some(w) = shape::filter_where(&PROPOSALS, f, &SQLITE) else {
        return Ok(0);
    };
    let n: i64 = conn.query_row(
        &format!("SELECT count(*) FROM proposals{}", w.sql()),
        params_from_iter(values(w)),
        |r| r.get(0),
    )?;
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(crate) fn evidence(
    conn: &Connection,
    f: &RecordFilter,
) -> Result<Page<EvidenceBundle>, LedgerError> {
    list(
        conn,
        &EVIDENCE,
        "evidence",
        f,
        read::EVIDENCE_COLUMNS,
        read::evidence_from_row,
    )
}

pub(crate) fn query_audit(
    conn: &Connection,
    f: &RecordFilter,
) -> Result<Page<QueryAudit>, LedgerError> {
    list(
        conn,
        &QUERY_AUDIT,
        "query-audit",
        f,
        read::AUDIT_COLUMNS,
        read::audit_from_row,
    )
}

pub(crate) fn receipts(
    conn: &Connection,
    f: &RecordFilter,
) -> Result<Page<StoredReceipt>, LedgerError> {
    list(
        conn,
        &RECEIPTS,
        "receipts",
        f,
        read::RECEIPT_COLUMNS,
        read::receipt_from_row,
    )
}

/// Records of every kind matching `f` (and `text`, when given), newest first, merged into one
/// page.
pub(crate) fn search(
    conn: &Connection,
    text: Option<&SearchText>,
    f: &RecordFilter,
) -> Result<Page<Hit>, LedgerError> {
    let (fingerprint, cursor) = shape::open_cursor(f, ACTIVITY, text)?;
    let needle = text.map(shape::needle);
    let limit = shape::page_size(f);
    let mut rows = Vec::new();
    for shape in SEARCHED {
        let Some(mut w) = shape::filter_where(shape, f, &SQLITE) else {
            continue;
        };
        if let Some(needle) = &needle {
            shape::text_where(&mut w, shape, needle, &SQLITE);
        }
        let columns = shape::hit_columns(shape);
        let found = fetch(conn, shape, w, cursor.as_ref(), &columns, (limit, 0), |r| {
            hit_from_row(shape, r, needle.as_deref())
        })?;
        rows.extend(found);
    }
    shape::sort_merged(&mut rows);
    Ok(shape::into_page(rows, limit, ACTIVITY, &fingerprint))
}

fn hit_from_row(shape: &Shape, r: &Row<'_>, needle: Option<&str>) -> rusqlite::Result<Hit> {
    let fields = (0..shape.text.len())
        .map(|i| r.get(4 + i))
        .collect::<rusqlite::Result<_>>()?;
    let row = HitRow {
        id: r.get(0)?,
        created_at: r.get(r.as_ref().column_count() - 2)?,
        tenant_id: r.get(1)?,
        capability: r.get(2)?,
        proposal_id: r.get(3)?,
        fields,
    };
    Ok(shape::hit(shape, row, needle))
}

/// The statements the listings and searches run, for `EXPLAIN QUERY PLAN` (tests).
#[cfg(test)]
pub(crate) fn statements(f: &RecordFilter, with_cursor: bool) -> Vec<(String, Vec<SqlValue>)> {
    let mut out = Vec::new();
    for shape in SEARCHED {
        let Some(mut w) = shape::filter_where(shape, f, &SQLITE) else {
            continue;
        };
        if with_cursor {
            let id = if shape.id_is_int {
                CursorId::Int(1)
            } else {
                CursorId::Text("x".into())
            };
            let at = "2026-01-01T00:00:00.000Z".to_owned();
            shape::after_cursor(&mut w, shape, &shape::key(shape, at, id), &SQLITE);
        }
        let sql = shape::page_sql(shape, "*", &w, 21, 0, &SQLITE);
        out.push((sql, values(w)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LedgerTime;

    /// The plan lines of every listing statement under `f`.
    fn plans(conn: &Connection, f: &RecordFilter, with_cursor: bool) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (sql, values) in statements(f, with_cursor) {
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let details: Vec<String> = stmt
                .query_map(params_from_iter(values), |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            out.push((sql, details.join(" | ")));
        }
        out
    }

    #[test]
    fn the_main_filters_never_scan_a_whole_table_or_sort_it() {
        let conn = Connection::open_in_memory().unwrap();
        super::super::migrations::apply_from(&conn, 0).unwrap();
        let time = |s: &str| {
            Some(LedgerTime::from_utc(
                chrono::DateTime::parse_from_rfc3339(s).unwrap().into(),
            ))
        };
        let filters = [
            RecordFilter::default(),
            RecordFilter {
                tenant: Some("acme".into()),
                ..RecordFilter::default()
            },
            RecordFilter {
                from: time("2026-01-01T00:00:00Z"),
                to: time("2026-02-01T00:00:00Z"),
                ..RecordFilter::default()
            },
            RecordFilter {
                tenant: Some("acme".into()),
                from: time("2026-01-01T00:00:00Z"),
                ..RecordFilter::default()
            },
            RecordFilter {
                object_id: Some("INV-1".into()),
                ..RecordFilter::default()
            },
        ];
        for f in &filters {
            for with_cursor in [false, true] {
                for (sql, plan) in plans(&conn, f, with_cursor) {
                    let bare_scan = plan
                        .split(" | ")
                        .any(|line| line.starts_with("SCAN ") && !line.contains(" USING "));
                    assert!(!bare_scan, "a full scan: {plan}\n  for {sql}");
                    // Receipts and events filtered through their proposal sort that
                    // proposal's few records; everything else reads in index order.
                    let through_proposal = sql.contains("proposal_id IN (SELECT");
                    assert!(
                        through_proposal || !plan.contains("TEMP B-TREE FOR ORDER BY"),
                        "a full sort: {plan}\n  for {sql}"
                    );
                }
            }
        }
        // The filters with an index of their own search it rather than walk another.
        let tenant = plans(&conn, &filters[1], false);
        for (sql, plan) in &tenant {
            if !sql.contains("proposal_id IN (SELECT") {
                assert!(plan.contains("(tenant_id=?"), "{plan}\n  for {sql}");
            }
        }
        // Object filters read in time order (no index of their own on the hot path's tables),
        // proposals aside.
        for (sql, plan) in plans(&conn, &filters[4], false) {
            if sql.contains("FROM proposals") {
                assert!(plan.contains("(object_id=?"), "{plan}\n  for {sql}");
            }
        }
    }
}
