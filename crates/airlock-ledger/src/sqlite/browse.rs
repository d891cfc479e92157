//! List pages and search over every record kind, with one filter and one keyset rule.
//!
//! Each kind is described once by a [`Shape`]: its table, its `(created_at, id)` order key,
//! the predicate each filter field becomes, and the fields a search text is looked for in.
//! Every value is bound; predicates and column names are constants. A text is matched with
//! `instr(lower(column), ?)`, so `%`, `_` and quotes are plain characters.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, Row, params_from_iter};

use crate::browse::{Cursor, CursorId, Hit, Page, RecordFilter, RecordKind, SearchText};
use crate::{EvidenceBundle, LedgerError, QueryAudit, StoredProposal, StoredReceipt};

use super::read;

/// How one record kind is filtered, ordered and searched.
pub(crate) struct Shape {
    kind: RecordKind,
    table: &'static str,
    created: &'static str,
    id: &'static str,
    id_is_int: bool,
    /// Always part of the `WHERE` (events: only a proposal's lifecycle).
    scope: Option<&'static str>,
    /// One predicate with one `?` per filter field; `None`: the kind does not carry it.
    tenant: Option<&'static str>,
    principal: Option<&'static str>,
    capability: Option<&'static str>,
    object_id: Option<&'static str>,
    object_type: Option<&'static str>,
    source: Option<&'static str>,
    /// The `schema.table` expression the table filter compares with.
    table_name: Option<&'static str>,
    outcome: Option<&'static str>,
    proposal: Option<&'static str>,
    evidence: Option<&'static str>,
    /// A receipt number (`?` is bound as an integer).
    receipt: Option<&'static str>,
    query_fingerprint: Option<&'static str>,
    idempotency_key: Option<&'static str>,
    writeback_job: Option<&'static str>,
    /// The search hit's tenant, capability and proposal.
    hit_tenant: &'static str,
    hit_capability: &'static str,
    hit_proposal: &'static str,
    /// (field name shown in `matched`, expression) searched by a text.
    text: &'static [(&'static str, &'static str)],
}

/// A kind that carries no tenant, principal, object or table of its own (receipts, events):
/// those filters and the hit's tenant and capability come from its proposal.
macro_rules! through_proposal {
    (
        kind: $kind:expr,
        table: $table:literal,
        id: $id:literal,
        scope: $scope:expr,
        outcome: $outcome:expr,
        receipt: $receipt:expr,
        idempotency_key: $idempotency_key:expr,
        writeback_job: $writeback_job:expr,
        text: $text:expr $(,)?
    ) => {
        Shape {
            kind: $kind,
            table: $table,
            created: "created_at",
            id: $id,
            id_is_int: true,
            scope: $scope,
            tenant: Some(through_proposal!(where "tenant_id = ?")),
            principal: Some(through_proposal!(where "principal = ?")),
            capability: Some(through_proposal!(where "action = ?")),
            object_id: Some(through_proposal!(where "object_id = ?")),
            object_type: Some(through_proposal!(where "business_object = ?")),
            source: Some(through_proposal!(where "source_id = ?")),
            table_name: Some(through_proposal!(column "source_schema || '.' || source_table", $table)),
            outcome: $outcome,
            proposal: Some("proposal_id = ?"),
            evidence: None,
            receipt: $receipt,
            query_fingerprint: None,
            idempotency_key: $idempotency_key,
            writeback_job: $writeback_job,
            hit_tenant: through_proposal!(column "tenant_id", $table),
            hit_capability: through_proposal!(column "action", $table),
            hit_proposal: "proposal_id",
            text: $text,
        }
    };
    (where $predicate:literal) => {
        concat!("proposal_id IN (SELECT proposal_id FROM proposals WHERE ", $predicate, ")")
    };
    (column $expr:literal, $table:literal) => {
        concat!(
            "(SELECT ", $expr, " FROM proposals p WHERE p.proposal_id = ", $table, ".proposal_id)"
        )
    };
}

/// The records of the proposal a receipt applied.
const RECEIPT_PROPOSAL: &str =
    "proposal_id IN (SELECT proposal_id FROM receipts WHERE receipt_id = ?)";

pub(crate) const PROPOSALS: Shape = Shape {
    kind: RecordKind::Proposal,
    table: "proposals",
    created: "created_at",
    id: "proposal_id",
    id_is_int: false,
    scope: None,
    tenant: Some("tenant_id = ?"),
    principal: Some("principal = ?"),
    capability: Some("action = ?"),
    object_id: Some("object_id = ?"),
    object_type: Some("business_object = ?"),
    source: Some("source_id = ?"),
    table_name: Some("(source_schema || '.' || source_table)"),
    outcome: Some("state = ?"),
    proposal: Some("proposal_id = ?"),
    evidence: Some(
        "proposal_id IN (SELECT proposal_id FROM evidence_bundles WHERE evidence_bundle_id = ?)",
    ),
    receipt: Some(RECEIPT_PROPOSAL),
    query_fingerprint: None,
    idempotency_key: None,
    writeback_job: None,
    hit_tenant: "tenant_id",
    hit_capability: "action",
    hit_proposal: "proposal_id",
    text: &[
        ("proposal_id", "proposal_id"),
        ("capability", "action"),
        ("tenant_id", "tenant_id"),
        ("principal", "principal"),
        ("business_object", "business_object"),
        ("object_id", "object_id"),
        ("source", "source_id"),
        ("table", "source_schema || '.' || source_table"),
        ("state", "state"),
        ("change_set", "change_set_json"),
    ],
};

/// A kind recorded by a read (evidence, query audit): it carries the tenant, principal,
/// capability, object, source and query fingerprint of the read itself.
const fn read_record(
    kind: RecordKind,
    table: &'static str,
    id: &'static str,
    id_is_int: bool,
    table_name: &'static str,
    outcome: Option<&'static str>,
    text: &'static [(&'static str, &'static str)],
) -> Shape {
    Shape {
        kind,
        table,
        created: "created_at",
        id,
        id_is_int,
        scope: None,
        tenant: Some("tenant_id = ?"),
        principal: Some("principal = ?"),
        capability: Some("capability = ?"),
        object_id: Some("object_id = ?"),
        object_type: Some("business_object = ?"),
        source: Some("source_id = ?"),
        table_name: Some(table_name),
        outcome,
        proposal: Some("proposal_id = ?"),
        evidence: Some("evidence_bundle_id = ?"),
        receipt: Some(RECEIPT_PROPOSAL),
        query_fingerprint: Some("query_fingerprint = ?"),
        idempotency_key: None,
        writeback_job: None,
        hit_tenant: "tenant_id",
        hit_capability: "capability",
        hit_proposal: "proposal_id",
        text,
    }
}

pub(crate) const EVIDENCE: Shape = read_record(
    RecordKind::Evidence,
    "evidence_bundles",
    "evidence_bundle_id",
    false,
    "source_table",
    None,
    &[
        ("evidence_bundle_id", "evidence_bundle_id"),
        ("capability", "capability"),
        ("tenant_id", "tenant_id"),
        ("principal", "principal"),
        ("business_object", "business_object"),
        ("object_id", "object_id"),
        ("source", "source_id"),
        ("table", "source_table"),
        ("items", "items_json"),
    ],
);

pub(crate) const QUERY_AUDIT: Shape = read_record(
    RecordKind::QueryAudit,
    "query_audit",
    "audit_id",
    true,
    "table_name",
    Some("outcome = ?"),
    &[
        ("capability", "capability"),
        ("tenant_id", "tenant_id"),
        ("principal", "principal"),
        ("business_object", "business_object"),
        ("object_id", "object_id"),
        ("source", "source_id"),
        ("table", "table_name"),
        ("outcome", "outcome"),
        ("query_fingerprint", "query_fingerprint"),
    ],
);

pub(crate) const RECEIPTS: Shape = through_proposal! {
    kind: RecordKind::Receipt,
    table: "receipts",
    id: "receipt_id",
    scope: None,
    outcome: Some("status = ?"),
    receipt: Some("receipt_id = ?"),
    idempotency_key: Some("idempotency_key = ?"),
    writeback_job: Some("writeback_job_id = ?"),
    text: &[
        ("writeback_job_id", "writeback_job_id"),
        ("proposal_id", "proposal_id"),
        ("status", "status"),
        ("idempotency_key", "idempotency_key"),
        ("receipt", "receipt_json"),
    ],
};

pub(crate) const EVENTS: Shape = through_proposal! {
    kind: RecordKind::Event,
    table: "events",
    id: "seq",
    scope: Some("proposal_id IS NOT NULL AND kind <> 'proposal_created'"),
    outcome: None,
    receipt: Some(RECEIPT_PROPOSAL),
    idempotency_key: None,
    writeback_job: None,
    text: &[
        ("kind", "kind"),
        ("actor", "actor"),
        ("payload", "payload_json"),
    ],
};

/// The shapes a search looks through, in the order ties on `created_at` are listed.
const SEARCHED: [&Shape; 5] = [&PROPOSALS, &EVIDENCE, &QUERY_AUDIT, &RECEIPTS, &EVENTS];

/// A `WHERE` under construction: clauses joined by `AND`, values bound in order.
#[derive(Default)]
struct Where {
    clauses: Vec<String>,
    values: Vec<SqlValue>,
}

impl Where {
    fn push(&mut self, clause: impl Into<String>, values: impl IntoIterator<Item = SqlValue>) {
        self.clauses.push(clause.into());
        self.values.extend(values);
    }

    fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }
}

fn text(v: &str) -> SqlValue {
    SqlValue::Text(v.to_owned())
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|v| !v.is_empty())
}

/// The `WHERE` of `f` for `shape`, or `None` when the kind cannot match (it lacks a filtered
/// field).
fn filter_where(shape: &Shape, f: &RecordFilter) -> Option<Where> {
    let mut w = Where::default();
    if let Some(scope) = shape.scope {
        w.push(scope, []);
    }
    let fields = [
        (shape.tenant, &f.tenant),
        (shape.principal, &f.principal),
        (shape.capability, &f.capability),
        (shape.object_id, &f.object_id),
        (shape.object_type, &f.object_type),
        (shape.source, &f.source),
        (shape.outcome, &f.outcome),
        (shape.proposal, &f.proposal),
        (shape.evidence, &f.evidence),
        (shape.query_fingerprint, &f.query_fingerprint),
        (shape.idempotency_key, &f.idempotency_key),
        (shape.writeback_job, &f.writeback_job),
    ];
    for (predicate, value) in fields {
        if let Some(v) = given(value) {
            w.push(predicate?, [text(v)]);
        }
    }
    if let Some(proposal) = f.replay_proposal() {
        w.push(shape.proposal?, [text(proposal)]);
    }
    if let Some(receipt) = f.receipt {
        w.push(shape.receipt?, [SqlValue::Integer(receipt)]);
    }
    if let Some(table) = given(&f.table) {
        let column = shape.table_name?;
        if table.contains('.') {
            w.push(format!("{column} = ?"), [text(table)]);
        } else {
            // A bare name matches `any_schema.name` (or a name stored without a schema).
            w.push(
                format!("({column} = ? OR substr({column}, -length(?) - 1) = '.' || ?)"),
                [text(table), text(table), text(table)],
            );
        }
    }
    if let Some(from) = &f.from {
        w.push(format!("{} >= ?", shape.created), [text(from.as_str())]);
    }
    if let Some(to) = &f.to {
        w.push(format!("{} <= ?", shape.created), [text(to.as_str())]);
    }
    Some(w)
}

/// Rows strictly after `cursor` in the merged order `(created_at, kind, id)`, newest first.
fn after_cursor(w: &mut Where, shape: &Shape, cursor: &Cursor) {
    let at = text(&cursor.at);
    let created = shape.created;
    if shape.kind > cursor.kind {
        // At the same instant this kind is listed before the cursor's: already shown.
        w.push(format!("{created} < ?"), [at]);
    } else if shape.kind < cursor.kind {
        w.push(format!("{created} <= ?"), [at]);
    } else {
        let id = match &cursor.id {
            CursorId::Int(i) => SqlValue::Integer(*i),
            CursorId::Text(t) => text(t),
        };
        // The first clause bounds the index range; the second breaks ties on the id.
        w.push(
            format!("{created} <= ? AND ({created} < ? OR {} < ?)", shape.id),
            [at.clone(), at, id],
        );
    }
}

fn text_where(w: &mut Where, shape: &Shape, needle: &str) {
    let any: Vec<String> = shape
        .text
        .iter()
        .map(|(_, expr)| format!("instr(lower({expr}), ?) > 0"))
        .collect();
    w.push(
        format!("({})", any.join(" OR ")),
        shape.text.iter().map(|_| text(needle)),
    );
}

/// The statement of one page of `shape`: `columns`, then the order key, newest first.
fn page_sql(shape: &Shape, columns: &str, w: &Where, limit: usize, offset: u32) -> String {
    format!(
        "SELECT {columns}, {created}, {id} FROM {table}{where_} ORDER BY {created} DESC, {id} DESC LIMIT {limit} OFFSET {offset}",
        created = shape.created,
        id = shape.id,
        table = shape.table,
        where_ = w.sql(),
    )
}

/// The order key of a row whose last two columns are `created_at` and the id.
fn key_of(shape: &Shape, r: &Row<'_>) -> rusqlite::Result<Cursor> {
    let n = r.as_ref().column_count();
    Ok(Cursor {
        at: r.get(n - 2)?,
        kind: shape.kind,
        id: if shape.id_is_int {
            CursorId::Int(r.get(n - 1)?)
        } else {
            CursorId::Text(r.get(n - 1)?)
        },
    })
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
        after_cursor(&mut w, shape, c);
    }
    let mut stmt = conn.prepare(&page_sql(shape, columns, &w, limit + 1, offset))?;
    let rows = stmt.query_map(params_from_iter(w.values), |r| {
        Ok((key_of(shape, r)?, map(r)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Cuts `rows` (newest first, at most `limit + 1`) to a page and the cursor after it.
fn into_page<T>(
    mut rows: Vec<(Cursor, T)>,
    limit: usize,
    listing: &str,
    fingerprint: &str,
) -> Page<T> {
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = if more {
        rows.last().map(|(k, _)| k.encode(listing, fingerprint))
    } else {
        None
    };
    Page {
        items: rows.into_iter().map(|(_, t)| t).collect(),
        next_cursor,
    }
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
    let fingerprint = f.fingerprint(listing, None);
    let cursor = f
        .cursor
        .as_deref()
        .map(|t| Cursor::decode(t, listing, &fingerprint))
        .transpose()?;
    let Some(w) = filter_where(shape, f) else {
        return Ok(Page {
            items: Vec::new(),
            next_cursor: None,
        });
    };
    let limit = f.page_size();
    let rows = fetch(
        conn,
        shape,
        w,
        cursor.as_ref(),
        columns,
        (limit, f.offset),
        map,
    )?;
    Ok(into_page(rows, limit, listing, &fingerprint))
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
    let Some(w) = filter_where(&PROPOSALS, f) else {
        return Ok(0);
    };
    let n: i64 = conn.query_row(
        &format!("SELECT count(*) FROM proposals{}", w.sql()),
        params_from_iter(w.values),
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
    const LISTING: &str = "activity";
    let fingerprint = f.fingerprint(LISTING, text);
    let cursor = f
        .cursor
        .as_deref()
        .map(|t| Cursor::decode(t, LISTING, &fingerprint))
        .transpose()?;
    let needle = text.map(SearchText::folded);
    let limit = f.page_size();
    let mut rows = Vec::new();
    for shape in SEARCHED {
        let Some(mut w) = filter_where(shape, f) else {
            continue;
        };
        if let Some(needle) = &needle {
            text_where(&mut w, shape, needle);
        }
        let fields: Vec<&str> = shape.text.iter().map(|(_, expr)| *expr).collect();
        let columns = format!(
            "CAST({} AS TEXT), {}, {}, {}, {}",
            shape.id,
            shape.hit_tenant,
            shape.hit_capability,
            shape.hit_proposal,
            fields.join(", ")
        );
        let found = fetch(conn, shape, w, cursor.as_ref(), &columns, (limit, 0), |r| {
            hit_from_row(shape, r, needle.as_deref())
        })?;
        rows.extend(found);
    }
    // Newest first; ties in the order the cursor assumes (kind, then id, descending).
    rows.sort_by(|(a, _), (b, _)| {
        (b.at.as_str(), b.kind)
            .cmp(&(a.at.as_str(), a.kind))
            .then_with(|| match (&b.id, &a.id) {
                (CursorId::Int(x), CursorId::Int(y)) => x.cmp(y),
                (CursorId::Text(x), CursorId::Text(y)) => x.cmp(y),
                _ => std::cmp::Ordering::Equal,
            })
    });
    Ok(into_page(rows, limit, LISTING, &fingerprint))
}

/// The longest snippet shown around a match, in characters.
const SNIPPET: usize = 80;

fn hit_from_row(shape: &Shape, r: &Row<'_>, needle: Option<&str>) -> rusqlite::Result<Hit> {
    let proposal_id: Option<String> = r.get(3)?;
    let mut matched = Vec::new();
    let mut snippet = None;
    if let Some(needle) = needle {
        for (i, (name, _)) in shape.text.iter().enumerate() {
            let value: Option<String> = r.get(4 + i)?;
            let Some(value) = value else { continue };
            if let Some(at) = value.to_ascii_lowercase().find(needle) {
                matched.push(*name);
                if snippet.is_none() {
                    snippet = Some(around(&value, at, needle.len()));
                }
            }
        }
    }
    Ok(Hit {
        kind: shape.kind,
        id: r.get(0)?,
        created_at: r.get(r.as_ref().column_count() - 2)?,
        tenant_id: r.get(1)?,
        capability: r.get(2)?,
        replay_id: proposal_id.as_deref().map(airlock_protocol::ids::replay_id),
        proposal_id,
        matched,
        snippet,
    })
}

/// At most [`SNIPPET`] characters of `value` around the byte range `at..at + len`, with `…`
/// where it was cut.
fn around(value: &str, at: usize, len: usize) -> String {
    let chars: Vec<(usize, char)> = value.char_indices().collect();
    let first = chars.iter().position(|(i, _)| *i >= at).unwrap_or(0);
    let last = chars
        .iter()
        .position(|(i, _)| *i >= at + len)
        .unwrap_or(chars.len());
    let room = SNIPPET.saturating_sub(last - first);
    let start = first.saturating_sub(room / 2);
    let end = (last + (room - (first - start))).min(chars.len());
    let mut out: String = chars[start..end].iter().map(|(_, c)| *c).collect();
    if start > 0 {
        out.insert(0, '…');
    }
    if end < chars.len() {
        out.push('…');
    }
    out
}

/// The statements the listings and searches run, for `EXPLAIN QUERY PLAN` (tests).
#[cfg(test)]
pub(crate) fn statements(f: &RecordFilter, with_cursor: bool) -> Vec<(String, Vec<SqlValue>)> {
    let mut out = Vec::new();
    for shape in SEARCHED {
        let Some(mut w) = filter_where(shape, f) else {
            continue;
        };
        if with_cursor {
            let id = if shape.id_is_int {
                CursorId::Int(1)
            } else {
                CursorId::Text("x".into())
            };
            after_cursor(
                &mut w,
                shape,
                &Cursor {
                    at: "2026-01-01T00:00:00.000Z".into(),
                    kind: shape.kind,
                    id,
                },
            );
        }
        out.push((page_sql(shape, "*", &w, 21, 0), w.values));
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

    #[test]
    fn a_snippet_keeps_the_match_and_marks_the_cuts() {
        let long = format!("{}needle{}", "a".repeat(200), "b".repeat(200));
        let s = around(&long, 200, 6);
        assert!(s.contains("needle") && s.starts_with('…') && s.ends_with('…'));
        assert!(s.chars().count() <= SNIPPET + 2);
        assert_eq!(around("short needle", 6, 6), "short needle");
        // Multi-byte characters are never split.
        let wide = format!("{}x{}", "é".repeat(100), "ü".repeat(100));
        assert!(around(&wide, 200, 1).contains('x'));
    }
}
