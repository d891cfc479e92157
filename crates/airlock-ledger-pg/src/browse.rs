//! List pages, counts and search on Postgres, with the same shapes, predicates and keyset rule
//! as the SQLite ledger ([`airlock_ledger::browse::shape`]): the shared `?` placeholders are
//! renumbered to `$n`, a text is matched with `strpos(lower(column), $n) > 0` (literally: `%`,
//! `_` and quotes are plain characters), and the order key compares text with `COLLATE "C"`
//! so ids sort bytewise as on SQLite. Every value is bound.

use airlock_ledger::browse::shape::{
    self, ACTIVITY, Bound, Cursor, CursorId, EVIDENCE, HitRow, POSTGRES, PROPOSALS, QUERY_AUDIT,
    RECEIPTS, SEARCHED, Shape, Where,
};
use airlock_ledger::{
    EvidenceBundle, Hit, LedgerError, Page, QueryAudit, RecordFilter, SearchText, StoredProposal,
    StoredReceipt,
};
use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, Row};

use crate::error::Pg;
use crate::read::{self, col};

fn params(values: &[Bound]) -> Vec<&(dyn ToSql + Sync)> {
    values
        .iter()
        .map(|v| match v {
            Bound::Text(t) => t as &(dyn ToSql + Sync),
            Bound::Int(i) => i as &(dyn ToSql + Sync),
        })
        .collect()
}

/// The order key of a row whose last two columns are `created_at` and the id.
fn key_of(shape: &Shape, r: &Row) -> Result<Cursor, LedgerError> {
    let n = r.len();
    let id = if shape.id_is_int {
        CursorId::Int(col(r, n - 1)?)
    } else {
        CursorId::Text(col(r, n - 1)?)
    };
    Ok(shape::key(shape, col(r, n - 2)?, id))
}

/// One page of one kind: at most `limit + 1` rows (the extra one says whether more follow).
async fn fetch<T>(
    c: &impl GenericClient,
    shape: &Shape,
    mut w: Where,
    cursor: Option<&Cursor>,
    columns: &str,
    (limit, offset): (usize, u32),
    map: impl Fn(&Row) -> Result<T, LedgerError>,
) -> Result<Vec<(Cursor, T)>, LedgerError> {
    if let Some(cur) = cursor {
        shape::after_cursor(&mut w, shape, cur, &POSTGRES);
    }
    let sql = shape::page_sql(shape, columns, &w, limit + 1, offset, &POSTGRES);
    let rows = c
        .query(&shape::numbered(&sql), &params(&w.values))
        .await
        .pg()?;
    rows.iter()
        .map(|r| Ok((key_of(shape, r)?, map(r)?)))
        .collect()
}

/// One page of a single-kind listing (`listing` names it in the cursor).
async fn list<T>(
    c: &impl GenericClient,
    shape: &Shape,
    listing: &str,
    f: &RecordFilter,
    columns: &str,
    map: impl Fn(&Row) -> Result<T, LedgerError>,
) -> Result<Page<T>, LedgerError> {
    let (fingerprint, cursor) = shape::open_cursor(f, listing, None)?;
    let Some(w) = shape::filter_where(shape, f, &POSTGRES) else {
        return Ok(Page {
            items: Vec::new(),
            next_cursor: None,
        });
    };
    let limit = shape::page_size(f);
    let rows = fetch(
        c,
        shape,
        w,
        cursor.as_ref(),
        columns,
        (limit, f.offset),
        map,
    )
    .await?;
    Ok(shape::into_page(rows, limit, listing, &fingerprint))
}

pub(crate) async fn proposals(
    c: &impl GenericClient,
    f: &RecordFilter,
) -> Result<Page<StoredProposal>, LedgerError> {
    let columns = read::PROPOSAL_COLUMNS;
    list(
        c,
        &PROPOSALS,
        "proposals",
        f,
        columns,
        read::proposal_from_row,
    )
    .await
}

/// How many proposals match `f` (its page, cursor and offset aside).
pub(crate) async fn proposal_count(
    c: &impl GenericClient,
    f: &RecordFilter,
) -> Result<u64, LedgerError> {
    let Some(w) = shape::filter_where(&PROPOSALS, f, &POSTGRES) else {
        return Ok(0);
    };
    let sql = shape::numbered(&format!("SELECT count(*) FROM proposals{}", w.sql()));
    let n: i64 = col(&c.query_one(&sql, &params(&w.values)).await.pg()?, 0)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(crate) async fn evidence(
    c: &impl GenericClient,
    f: &RecordFilter,
) -> Result<Page<EvidenceBundle>, LedgerError> {
    let columns = read::EVIDENCE_COLUMNS;
    list(
        c,
        &EVIDENCE,
        "evidence",
        f,
        columns,
        read::evidence_from_row,
    )
    .await
}

pub(crate) async fn query_audit(
    c: &impl GenericClient,
    f: &RecordFilter,
) -> Result<Page<QueryAudit>, LedgerError> {
    let columns = read::AUDIT_COLUMNS;
    list(
        c,
        &QUERY_AUDIT,
        "query-audit",
        f,
        columns,
        read::audit_from_row,
    )
    .await
}

pub(crate) async fn receipts(
    c: &impl GenericClient,
    f: &RecordFilter,
) -> Result<Page<StoredReceipt>, LedgerError> {
    let columns = read::RECEIPT_COLUMNS;
    list(c, &RECEIPTS, "receipts", f, columns, read::receipt_from_row).await
}

/// Records of every kind matching `f` (and `text`, when given), newest first, merged into one
/// page.
pub(crate) async fn search(
    c: &impl GenericClient,
    text: Option<&SearchText>,
    f: &RecordFilter,
) -> Result<Page<Hit>, LedgerError> {
    let (fingerprint, cursor) = shape::open_cursor(f, ACTIVITY, text)?;
    let needle = text.map(shape::needle);
    let limit = shape::page_size(f);
    let mut rows = Vec::new();
    for shape in SEARCHED {
        let Some(mut w) = shape::filter_where(shape, f, &POSTGRES) else {
            continue;
        };
        if let Some(needle) = &needle {
            shape::text_where(&mut w, shape, needle, &POSTGRES);
        }
        let columns = shape::hit_columns(shape);
        let found = fetch(c, shape, w, cursor.as_ref(), &columns, (limit, 0), |r| {
            hit_from_row(shape, r, needle.as_deref())
        })
        .await?;
        rows.extend(found);
    }
    shape::sort_merged(&mut rows);
    Ok(shape::into_page(rows, limit, ACTIVITY, &fingerprint))
}

fn hit_from_row(shape: &Shape, r: &Row, needle: Option<&str>) -> Result<Hit, LedgerError> {
    let fields = (0..shape.text.len())
        .map(|i| col(r, 4 + i))
        .collect::<Result<_, _>>()?;
    let row = HitRow {
        id: col(r, 0)?,
        created_at: col(r, r.len() - 2)?,
        tenant_id: col(r, 1)?,
        capability: col(r, 2)?,
        proposal_id: col(r, 3)?,
        fields,
    };
    Ok(shape::hit(shape, row, needle))
}
