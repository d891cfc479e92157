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
use crate::browse::{Hit, Page, RecordFilter, RecordKind, SearchText};
use crate::{EvidenceBundle, LedgerError, QueryAudit, StoredProposal, StoredReceipt};

use super::{read, search_index};

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
    (from, columns): (&str, &str),
    (limit, offset): (usize, u32),
    map: impl Fn(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<(Cursor, T)>, LedgerError> {
    if let Some(c) = cursor {
        shape::after_cursor(&mut w, shape, c, &SQLITE);
    }
    let sql = shape::page_sql_from(shape, from, columns, &w, limit + 1, offset, &SQLITE);
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
        (shape.table, columns),
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

/// How many rows of one kind a text search reads newest first, per page.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    /// When the index cannot serve the text (under 3 characters, or a ledger opened read-only
    /// before the index existed), or names [`Budget::matches`] rows or more. A page that
    /// reaches this bound ends early, possibly empty, with a cursor where the reading stopped.
    pub max: usize,
    /// When a walk of the index gave up: the most rows of one kind the index may name for a
    /// page to be read through it (each is looked up and checked, and the matches sorted). A
    /// text held by more rows is read newest first, within [`Budget::max`].
    pub matches: usize,
    /// The most rows the index may name to a newest-first walk of one kind before the walk
    /// gives up (a common text under a filter that few of its rows pass); at least
    /// [`Budget::matches`], the index is then known to name too many rows to be read through
    /// it. 0: never walk.
    pub walk: usize,
    /// The most rows listed before the last of a walked page that the walk's check may read
    /// (step 2 of [`walk`]); a page deeper than that (a text in few, old rows) is read as
    /// [`Budget::matches`] decides instead.
    pub depth: usize,
    /// The most row ids past the index's mark (rows not indexed yet, see `super::search_index`)
    /// a search reads directly beside the index; a longer tail (indexing fell behind, or a
    /// server killed hard left one) makes the kind read as for a text the index cannot serve.
    pub tail: usize,
}

/// The bounds every search runs with.
pub(crate) const BUDGET: Budget = Budget {
    max: 10_000,
    matches: 2_000,
    walk: 2_000,
    depth: 100_000,
    tail: 8_192,
};

/// Records of every kind matching `f` (and `text`, when given), newest first, merged into one
/// page.
///
/// With a text, each kind's search index (schema 8, FTS5 trigrams) is first walked newest row
/// first until the page is full ([`walk`]), so a common text costs what its page costs, not
/// what the table holds. The walk gives up when the index names more than [`Budget::walk`]
/// rows before the page is full (a common text under a filter few of its rows pass), or when
/// the page reaches deeper than [`Budget::depth`] rows (a text in few, old rows). Then the
/// index is asked how many rows hold the text (counting stops at [`Budget::matches`], reading
/// index pages only). Fewer: those rows are looked up, confirmed against the fields themselves
/// and paged, so a rare or absent text costs what its matches cost whatever the filters (a
/// filter that matches few rows must not make the search walk the table looking for them).
/// More, and a text the index cannot serve: the kind is read newest first, at most
/// [`Budget::max`] rows. Either way the page, its `matched` fields, snippets and cursor are
/// those a full scan gives, up to where a bounded read stopped.
pub(crate) fn search(
    conn: &Connection,
    text: Option<&SearchText>,
    f: &RecordFilter,
) -> Result<Page<Hit>, LedgerError> {
    search_within(conn, text, f, BUDGET)
}

/// [`search`] with other bounds (tests).
pub(crate) fn search_within(
    conn: &Connection,
    text: Option<&SearchText>,
    f: &RecordFilter,
    bounds: Budget,
) -> Result<Page<Hit>, LedgerError> {
    let (fingerprint, cursor) = shape::open_cursor(f, ACTIVITY, text)?;
    let limit = shape::page_size(f);
    let Some(text) = text else {
        let mut rows = Vec::new();
        for shape in SEARCHED {
            let Some(w) = shape::filter_where(shape, f, &SQLITE) else {
                continue;
            };
            let columns = shape::hit_columns(shape);
            rows.extend(fetch(
                conn,
                shape,
                w,
                cursor.as_ref(),
                (shape.table, &columns),
                (limit, 0),
                |r| hit_from_row(shape, r, 0, None),
            )?);
        }
        shape::sort_merged(&mut rows);
        return Ok(shape::into_page(rows, limit, ACTIVITY, &fingerprint));
    };
    let needle = shape::needle(text);
    let query = match index_query(&needle) {
        Some(p) if has_index(conn)? => Some(p),
        _ => None,
    };
    let mut rows = Vec::new();
    // The newest position where a bounded read stopped short: rows after it are unread.
    let mut stopped: Option<Cursor> = None;
    for shape in SEARCHED {
        let Some(w) = shape::filter_where(shape, f, &SQLITE) else {
            continue;
        };
        // One snapshot per kind: its index and mark must agree, or rows a batch indexed
        // meanwhile would be read twice (from the index and as tail) or not at all. (Not one
        // for the whole search: a snapshot held long keeps a TRUNCATE checkpoint, and the
        // calls behind it, waiting.)
        let _snapshot = conn.unchecked_transaction()?;
        // The index serves the rows up to its mark; the rows past it (the tail) are read
        // directly and merged into the index's page.
        let (query, mark) = match &query {
            Some(q) => {
                let mark = search_index::mark(conn, index_table(shape), shape.table)?;
                // An index set aside by a prune is being emptied: never read.
                if !mark.set_aside()
                    && search_index::tail_within(conn, shape.table, mark, bounds.tail as u64)?
                {
                    (Some(q), mark)
                } else {
                    (None, mark)
                }
            }
            None => (None, search_index::Mark { upto: 0, newest: 0 }),
        };
        let walked = match query {
            Some(query) if bounds.walk > 0 => Some(walk(
                conn,
                shape,
                w.clone(),
                cursor.as_ref(),
                (&needle, query),
                (limit, mark.upto),
                bounds,
            )?),
            _ => None,
        };
        // A walk fed more rows than the count's bound already knows the answer: not fewer.
        let named_many = matches!(walked, Some(Walked::Named)) && bounds.walk >= bounds.matches;
        let from_index = match (walked, query) {
            (Some(Walked::Page(found)), _) => Some(found),
            (_, Some(query))
                if !named_many && named_fewer_than(conn, shape, query, bounds.matches)? =>
            {
                Some(indexed(
                    conn,
                    shape,
                    w.clone(),
                    cursor.as_ref(),
                    &needle,
                    query,
                    limit,
                )?)
            }
            _ => None,
        };
        if let Some(found) = from_index {
            rows.extend(found);
            let tail = unindexed(conn, shape, w, cursor.as_ref(), &needle, mark, limit)?;
            rows.extend(tail);
            continue;
        }
        let read = scan(conn, shape, w, cursor.as_ref(), &needle, limit, bounds.max)?;
        rows.extend(read.rows);
        if let Some(at) = read.stopped_at
            && stopped
                .as_ref()
                .is_none_or(|s| shape::listing_order(&at, s).is_lt())
        {
            stopped = Some(at);
        }
    }
    shape::sort_merged(&mut rows);
    // A row is shown once, even if an edited index or mark names it twice.
    rows.dedup_by(|a, b| shape::listing_order(&a.0, &b.0).is_eq());
    if let Some(at) = stopped {
        rows.retain(|(k, _)| shape::listing_order(k, &at).is_le());
        if rows.len() <= limit {
            return Ok(Page {
                items: rows.into_iter().map(|(_, hit)| hit).collect(),
                next_cursor: Some(at.encode(ACTIVITY, &fingerprint)),
            });
        }
    }
    Ok(shape::into_page(rows, limit, ACTIVITY, &fingerprint))
}

/// What a bounded read of one kind found: its hits (at most `limit + 1`), and the last row it
/// read when it stopped at its bound with fewer.
struct Scan {
    rows: Vec<(Cursor, Hit)>,
    stopped_at: Option<Cursor>,
}

/// Reads at most `budget` rows of `shape` under `w` newest first, and keeps those holding
/// `needle`, until `limit + 1` are found.
fn scan(
    conn: &Connection,
    shape: &Shape,
    mut w: Where,
    cursor: Option<&Cursor>,
    needle: &str,
    limit: usize,
    budget: usize,
) -> Result<Scan, LedgerError> {
    if let Some(c) = cursor {
        shape::after_cursor(&mut w, shape, c, &SQLITE);
    }
    // The text test is a column (1 when the row holds the needle), so every read row counts.
    let mut test = Where::default();
    shape::text_where(&mut test, shape, needle, &SQLITE);
    let columns = format!("{}, {}", test.clauses.join(""), shape::hit_columns(shape));
    let sql = shape::page_sql(shape, &columns, &w, budget, 0, &SQLITE);
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut found = stmt.query(params_from_iter(values(test).into_iter().chain(values(w))))?;
    let (mut rows, mut read, mut last) = (Vec::new(), 0, None);
    while let Some(r) = found.next()? {
        read += 1;
        let key = key_of(shape, r)?;
        if r.get::<_, bool>(0)? {
            rows.push((key.clone(), hit_from_row(shape, r, 1, Some(needle))?));
            if rows.len() > limit {
                return Ok(Scan {
                    rows,
                    stopped_at: None,
                });
            }
        }
        last = Some(key);
    }
    Ok(Scan {
        rows,
        stopped_at: if read >= budget { last } else { None },
    })
}

/// What a [`walk`] of the index found.
enum Walked {
    /// The first `limit + 1` matches in listing order (fewer: all of them).
    Page(Vec<(Cursor, Hit)>),
    /// The index named more than [`Budget::walk`] rows before the page was full.
    Named,
    /// The page lies deeper than [`Budget::depth`] rows.
    Deep,
}

/// How many rows written after a walk stopped are taken to stand for one row its check would
/// read (a filter's index holds a part of them): a walk that stopped more than this many times
/// [`Budget::depth`] rowids below the newest gives up without counting.
const WRITTEN_PER_LISTED: usize = 10;

/// The first `limit + 1` rows of `shape` under `w` (after `cursor`) that hold `needle`, in
/// listing order, found by walking the search index from its newest row down; or why the walk
/// gave up: the index named more than [`Budget::walk`] rows before the page was full, or the
/// check of step 2 would read more than [`Budget::depth`] rows.
///
/// A row's rowid is the order it was written in, which is nearly but not exactly the listing
/// order `(created_at, id)`: writers stamp `created_at` before they queue for the write lock,
/// rows of one millisecond are listed by id, and an import may write old records late. So the
/// walk is exact whatever the order, in two steps:
///
/// 1. The index is read newest rowid first (FTS5 reads its rowids backwards, lazily); each row
///    it names is looked up and tested against the filter, the cursor and the text, until
///    `limit + 1` pass. Every row that holds the text at or above the rowid `r` where the walk
///    stopped has then been seen. (An index that runs out first has named every match.)
/// 2. Let `T` be the last of those `limit + 1` in listing order. A row the page still lacks is
///    listed before `T`, so it is a row below `r` listed before `T`. The rows listed before
///    `T` are counted through the filter's time-ordered index (at most [`Budget::depth`], the
///    rowid tested on each index entry, no row read); any below `r` are read, tested the same
///    way and merged. When rowid order is listing order there are none. (A walk that stopped
///    [`WRITTEN_PER_LISTED`] times [`Budget::depth`] rowids or more below the newest gives up
///    without counting.)
fn walk(
    conn: &Connection,
    shape: &Shape,
    mut w: Where,
    cursor: Option<&Cursor>,
    (needle, query): (&str, &str),
    (limit, upto): (usize, i64),
    bounds: Budget,
) -> Result<Walked, LedgerError> {
    if let Some(c) = cursor {
        shape::after_cursor(&mut w, shape, c, &SQLITE);
    }
    let mut found = Vec::new();
    let Some(stopped_at) = walk_index(
        conn,
        shape,
        &w,
        (needle, query),
        limit,
        bounds.walk,
        &mut found,
    )?
    else {
        return Ok(Walked::Named);
    };
    let Some(r) = stopped_at else {
        return Ok(Walked::Page(found));
    };
    shape::sort_merged(&mut found);
    let Some(last) = found.last().map(|(k, _)| k.clone()) else {
        return Ok(Walked::Page(found));
    };
    // Rows are nearly in listing order, so about the indexed rows written after `r` are
    // listed before `T`, of which a filter keeps a part: when even a tenth of them is more
    // than the check may read, give up without counting. (The rows past the mark are read
    // apart, see [`unindexed`].)
    let written_after = usize::try_from(upto.saturating_sub(r)).unwrap_or(usize::MAX);
    if written_after / WRITTEN_PER_LISTED >= bounds.depth {
        return Ok(Walked::Deep);
    }
    let (sql, bound) = listed_before_sql(shape, w.clone(), &last, r, bounds.depth);
    let (listed, below): (i64, i64) = conn
        .prepare_cached(&sql)?
        .query_row(params_from_iter(bound), |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?;
    if listed as usize >= bounds.depth {
        return Ok(Walked::Deep);
    }
    if below > 0 {
        found.extend(listed_before_below(conn, shape, w, &last, r, needle)?);
        shape::sort_merged(&mut found);
        found.truncate(limit + 1);
    }
    Ok(Walked::Page(found))
}

/// Counts, for step 2 of [`walk`], the rows of `shape` under `w` listed before `last` (at most
/// `depth`) and how many of those lie below rowid `below`; both from the filter's
/// time-ordered index when it holds the filter (the rowid is part of every index entry).
fn listed_before_sql(
    shape: &Shape,
    w: Where,
    last: &Cursor,
    below: i64,
    depth: usize,
) -> (String, Vec<SqlValue>) {
    let listed = before(shape, w, last);
    let sql = format!(
        "SELECT count(*), coalesce(sum(below), 0) FROM
         (SELECT +{table}.rowid < ? AS below FROM {table}{where_} LIMIT ?)",
        table = shape.table,
        where_ = listed.sql(),
    );
    let mut bound = vec![SqlValue::Integer(below)];
    bound.extend(values(listed));
    bound.push(SqlValue::Integer(i64::try_from(depth).unwrap_or(i64::MAX)));
    (sql, bound)
}

/// `filter` and the rows listed before `last` (of the same kind), the order key's bound
/// first so that it bounds the read.
fn before(shape: &Shape, filter: Where, last: &Cursor) -> Where {
    let id = match &last.id {
        CursorId::Int(i) => Bound::Int(*i),
        CursorId::Text(t) => Bound::Text(t.clone()),
    };
    let created = shape.created;
    let mut w = Where::default();
    w.push(
        format!("{created} >= ? AND ({created} > ? OR {} > ?)", shape.id),
        [
            Bound::Text(last.at.clone()),
            Bound::Text(last.at.clone()),
            id,
        ],
    );
    w.clauses.extend(filter.clauses);
    w.values.extend(filter.values);
    w
}

/// Step 1 of [`walk`]: pushes onto `found` the rows the index names for `query`, newest rowid
/// first, that pass `w` and hold `needle`, until `limit + 1` do. `Some(Some(r))`: stopped at
/// rowid `r` with the page full; `Some(None)`: the index ran out; `None`: over `budget`.
fn walk_index(
    conn: &Connection,
    shape: &Shape,
    w: &Where,
    (needle, query): (&str, &str),
    limit: usize,
    budget: usize,
    found: &mut Vec<(Cursor, Hit)>,
) -> Result<Option<Option<i64>>, LedgerError> {
    let (sql, bound) = walk_sql(shape, w, needle, query);
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut named = stmt.query(params_from_iter(bound))?;
    let mut read = 0;
    while let Some(r) = named.next()? {
        read += 1;
        if read > budget {
            return Ok(None);
        }
        // NULL (a filter on a column the row leaves empty) is no match.
        if r.get::<_, Option<bool>>(1)? == Some(true) {
            found.push((key_of(shape, r)?, hit_from_row(shape, r, 2, Some(needle))?));
            if found.len() > limit {
                return Ok(Some(Some(r.get(0)?)));
            }
        }
    }
    Ok(Some(None))
}

/// The statement of step 1 of [`walk`] and its values: every row the index names for `query`,
/// newest rowid first (the index drives the read, each row then looked up by rowid), with one
/// column that says whether it passes `w` and holds `needle` (so every named row is counted).
fn walk_sql(shape: &Shape, w: &Where, needle: &str, query: &str) -> (String, Vec<SqlValue>) {
    let mut test = per_row(shape, w);
    shape::text_where(&mut test, shape, needle, &SQLITE);
    let index = index_table(shape);
    let sql = format!(
        "SELECT {index}.rowid, ({test}), {columns}, {table}.{created}, {table}.{id}
         FROM {index} CROSS JOIN {table} ON {table}.rowid = {index}.rowid
         WHERE {index} MATCH ? ORDER BY {index}.rowid DESC",
        test = test.clauses.join(" AND "),
        columns = shape::hit_columns(shape),
        table = shape.table,
        created = shape.created,
        id = shape.id,
    );
    let mut bound = values(test);
    bound.push(SqlValue::Text(query.to_owned()));
    (sql, bound)
}

/// Step 2 of [`walk`]: the rows of `shape` under `w` that hold `needle`, are listed before
/// `last` and lie below rowid `below`.
fn listed_before_below(
    conn: &Connection,
    shape: &Shape,
    w: Where,
    last: &Cursor,
    below: i64,
    needle: &str,
) -> Result<Vec<(Cursor, Hit)>, LedgerError> {
    let (sql, bound) = before_below_sql(shape, w, last, below, needle);
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(bound), |r| {
        Ok((key_of(shape, r)?, hit_from_row(shape, r, 0, Some(needle))?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The statement of [`listed_before_below`] and its values.
fn before_below_sql(
    shape: &Shape,
    filter: Where,
    last: &Cursor,
    below: i64,
    needle: &str,
) -> (String, Vec<SqlValue>) {
    // `+` keeps the planner off the rowid range (every row below `below`): the time-ordered
    // index bounds the read, and its entries carry the rowid, tested first (before the row
    // is read; the filter and the text follow).
    let mut w = Where::default();
    w.push(format!("+{}.rowid < ?", shape.table), [Bound::Int(below)]);
    let listed = before(shape, filter, last);
    w.clauses.extend(listed.clauses);
    w.values.extend(listed.values);
    shape::text_where(&mut w, shape, needle, &SQLITE);
    let sql = format!(
        "SELECT {columns}, {created}, {id} FROM {table}{where_}",
        columns = shape::hit_columns(shape),
        created = shape.created,
        id = shape.id,
        table = shape.table,
        where_ = w.sql(),
    );
    (sql, values(w))
}

/// One page of `shape` under `w` of the rows the search index names for `query`, each
/// confirmed to hold `needle`.
fn indexed(
    conn: &Connection,
    shape: &Shape,
    w: Where,
    cursor: Option<&Cursor>,
    needle: &str,
    query: &str,
    limit: usize,
) -> Result<Vec<(Cursor, Hit)>, LedgerError> {
    let mut w = per_row(shape, &w);
    let from = indexed_where(&mut w, shape, needle, query);
    let columns = shape::hit_columns(shape);
    fetch(conn, shape, w, cursor, (&from, &columns), (limit, 0), |r| {
        hit_from_row(shape, r, 0, Some(needle))
    })
}

/// One page of `shape` under `w` of the rows past the index's `mark` (not indexed yet) that
/// hold `needle`: read by row id (`NOT INDEXED` keeps the planner off the filters' indexes,
/// which would read far more than the tail), each tested, the few that pass sorted.
fn unindexed(
    conn: &Connection,
    shape: &Shape,
    w: Where,
    cursor: Option<&Cursor>,
    needle: &str,
    mark: search_index::Mark,
    limit: usize,
) -> Result<Vec<(Cursor, Hit)>, LedgerError> {
    if mark.span() == 0 {
        return Ok(Vec::new());
    }
    let mut tail = Where::default();
    tail.push(
        format!("{}.rowid > ?", shape.table),
        [Bound::Int(mark.upto)],
    );
    let filter = per_row(shape, &w);
    tail.clauses.extend(filter.clauses);
    tail.values.extend(filter.values);
    shape::text_where(&mut tail, shape, needle, &SQLITE);
    let from = format!("{} NOT INDEXED", shape.table);
    let columns = shape::hit_columns(shape);
    fetch(
        conn,
        shape,
        tail,
        cursor,
        (&from, &columns),
        (limit, 0),
        |r| hit_from_row(shape, r, 0, Some(needle)),
    )
}

/// How the shapes filter receipts and lifecycle events by a field only their proposal has
/// (tenant, principal, capability, object, source): a list of the ids of every proposal that
/// passes ([`crate::browse::shape`]). SQLite builds that list once per statement, from the
/// proposals' rows (their filter indexes do not hold the id), which suits a listing that
/// reads many of the kind's rows through it.
const PROPOSAL_LIST: &str = "proposal_id IN (SELECT proposal_id FROM proposals WHERE ";

/// `w` for a statement driven by the search index, which reads few rows of the kind: each
/// filter through the proposal is asked of the row's own proposal (one look-up by its key)
/// instead of through the list of [`PROPOSAL_LIST`], which under a tenant filter meant
/// reading every proposal of the tenant (17,000 rows, most of a 10M-record search's time)
/// for a walk that named 20 receipts. The same rows pass: for a row without a proposal
/// (NULL) the list's test is NULL and this one false, and neither is a match.
fn per_row(shape: &Shape, w: &Where) -> Where {
    let clauses = w
        .clauses
        .iter()
        .map(|clause| match clause.strip_prefix(PROPOSAL_LIST) {
            // `rest` is the predicate and the list's closing parenthesis.
            Some(rest) => format!(
                "EXISTS (SELECT 1 FROM proposals p WHERE p.proposal_id = {}.proposal_id AND ({rest})",
                shape.table
            ),
            None => clause.clone(),
        })
        .collect();
    Where {
        clauses,
        values: w.values.clone(),
    }
}

/// Narrows `w` to the rows the index names for `query` that hold `needle`, and returns the
/// `FROM` that reads them: the index first (`CROSS JOIN` fixes the order), each match then
/// looked up by rowid, so the cost follows the matches, whatever index a filter could walk.
fn indexed_where(w: &mut Where, shape: &Shape, needle: &str, query: &str) -> String {
    let index = index_table(shape);
    w.push(format!("{index} MATCH ?"), [Bound::Text(query.to_owned())]);
    shape::text_where(w, shape, needle, &SQLITE);
    format!(
        "{index} CROSS JOIN {table} ON {table}.rowid = {index}.rowid",
        table = shape.table
    )
}

/// Whether the index of `shape` names fewer than `cap` rows for `query` (counting stops at
/// `cap`: the index's own pages, no row read).
fn named_fewer_than(
    conn: &Connection,
    shape: &Shape,
    query: &str,
    cap: usize,
) -> Result<bool, LedgerError> {
    let index = index_table(shape);
    let n: i64 = conn
        .prepare_cached(&format!(
            "SELECT count(*) FROM (SELECT 1 FROM {index} WHERE {index} MATCH ?1 LIMIT ?2)"
        ))?
        .query_row(rusqlite::params![query, cap as i64], |r| r.get(0))?;
    Ok((n as usize) < cap)
}

/// The search index of a kind (migration 8).
fn index_table(shape: &Shape) -> &'static str {
    match shape.kind {
        RecordKind::Proposal => "search_proposals",
        RecordKind::Evidence => "search_evidence",
        RecordKind::QueryAudit => "search_query_audit",
        RecordKind::Receipt => "search_receipts",
        RecordKind::Event => "search_events",
    }
}

/// Whether the ledger has the search index (a read-only connection may hold an older one).
fn has_index(conn: &Connection) -> Result<bool, LedgerError> {
    Ok(super::migrations::version(conn)? >= super::migrations::SEARCH_INDEX_SINCE)
}

/// The FTS5 query that names the rows holding `needle` (already folded) through a trigram
/// index without positions (`detail = none`): every distinct 3-character run of the text, each
/// one quoted string (its quotes doubled, so no character of the text is query syntax), all
/// required (`AND`). It may name rows that hold the runs apart; the search confirms each row.
/// `None` when a trigram index cannot serve the text: under 3 characters, or holding a NUL
/// (the query parser would end the text there).
pub(crate) fn index_query(needle: &str) -> Option<String> {
    let chars: Vec<char> = needle.chars().collect();
    if chars.len() < 3 || chars.contains(&'\0') {
        return None;
    }
    let mut runs: Vec<String> = chars.windows(3).map(|w| w.iter().collect()).collect();
    runs.sort();
    runs.dedup();
    let quoted: Vec<String> = runs
        .iter()
        .map(|run| format!("\"{}\"", run.replace('"', "\"\"")))
        .collect();
    Some(quoted.join(" AND "))
}

/// The hit of a row whose search columns ([`shape::hit_columns`]) start at column `first`.
fn hit_from_row(
    shape: &Shape,
    r: &Row<'_>,
    first: usize,
    needle: Option<&str>,
) -> rusqlite::Result<Hit> {
    let fields = (0..shape.text.len())
        .map(|i| r.get(first + 4 + i))
        .collect::<rusqlite::Result<_>>()?;
    let row = HitRow {
        id: r.get(first)?,
        created_at: r.get(r.as_ref().column_count() - 2)?,
        tenant_id: r.get(first + 1)?,
        capability: r.get(first + 2)?,
        proposal_id: r.get(first + 3)?,
        fields,
    };
    Ok(shape::hit(shape, row, needle))
}

/// The statements the listings and searches run, for `EXPLAIN QUERY PLAN` (tests), each
/// narrowed to the rows the search index names for `needle` when given.
#[cfg(test)]
pub(crate) fn statements_of(
    f: &RecordFilter,
    with_cursor: bool,
    needle: Option<&str>,
) -> Vec<(String, Vec<SqlValue>)> {
    let mut out = Vec::new();
    for shape in SEARCHED {
        let Some(mut w) = shape::filter_where(shape, f, &SQLITE) else {
            continue;
        };
        let mut from = shape.table.to_owned();
        if let Some(needle) = needle {
            let query = index_query(needle).expect("an indexable needle");
            w = per_row(shape, &w);
            from = indexed_where(&mut w, shape, needle, &query);
        }
        if with_cursor {
            shape::after_cursor(&mut w, shape, &position_of(shape), &SQLITE);
        }
        let sql = shape::page_sql_from(shape, &from, "*", &w, 21, 0, &SQLITE);
        out.push((sql, values(w)));
    }
    out
}

/// A position in `shape`'s listing (tests).
#[cfg(test)]
fn position_of(shape: &Shape) -> Cursor {
    let id = if shape.id_is_int {
        CursorId::Int(1)
    } else {
        CursorId::Text("x".into())
    };
    shape::key(shape, "2026-01-01T00:00:00.000Z".to_owned(), id)
}

/// The three statements of a newest-first walk of the index ([`walk`]) for `needle` under `f`
/// (the walk, its check's count and its check's read), of every kind, for `EXPLAIN QUERY PLAN`
/// (tests).
#[cfg(test)]
pub(crate) fn walk_statements_of(
    f: &RecordFilter,
    with_cursor: bool,
    needle: &str,
) -> Vec<(String, Vec<SqlValue>)> {
    let query = index_query(needle).expect("an indexable needle");
    let mut out = Vec::new();
    for shape in SEARCHED {
        let Some(mut w) = shape::filter_where(shape, f, &SQLITE) else {
            continue;
        };
        if with_cursor {
            shape::after_cursor(&mut w, shape, &position_of(shape), &SQLITE);
        }
        out.push(walk_sql(shape, &w, needle, &query));
        out.push(listed_before_sql(
            shape,
            w.clone(),
            &position_of(shape),
            1,
            10,
        ));
        out.push(before_below_sql(shape, w, &position_of(shape), 1, needle));
    }
    out
}

#[cfg(test)]
mod index_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LedgerTime;

    /// The plan lines of every listing statement under `f`.
    fn plans(conn: &Connection, f: &RecordFilter, with_cursor: bool) -> Vec<(String, String)> {
        plans_of(conn, f, with_cursor, None)
    }

    /// The query plan of every statement a listing (or, with `needle`, an indexed search)
    /// runs for `f`.
    pub(super) fn plans_of(
        conn: &Connection,
        f: &RecordFilter,
        with_cursor: bool,
        needle: Option<&str>,
    ) -> Vec<(String, String)> {
        plans_in(conn, statements_of(f, with_cursor, needle))
    }

    /// Each statement with its query plan, its lines joined by ` | `.
    pub(super) fn plans_in(
        conn: &Connection,
        statements: Vec<(String, Vec<SqlValue>)>,
    ) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (sql, values) in statements {
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
