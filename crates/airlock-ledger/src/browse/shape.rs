//! The engine-neutral half of browsing: how each record kind is filtered, ordered, searched
//! and paged, shared by the SQLite ledger and the Postgres one (`airlock-ledger-pg`).
//!
//! Each kind is described once by a [`Shape`]: its table, its `(created_at, id)` order key,
//! the predicate each filter field becomes, and the fields a search text is looked for in.
//! Predicates hold `?` placeholders in the order their values are bound (an engine with
//! numbered placeholders renumbers them, see [`numbered`]); column names and predicates are
//! constants, every value is bound. A [`Dialect`] supplies the two pieces that differ between
//! engines: the literal substring test and the collation text is ordered by.

use crate::LedgerError;
use crate::browse::{Hit, Page, RecordFilter, RecordKind, SearchText};

pub use crate::browse::{Cursor, CursorId};

/// How one record kind is filtered, ordered and searched.
pub struct Shape {
    pub kind: RecordKind,
    pub table: &'static str,
    pub created: &'static str,
    pub id: &'static str,
    pub id_is_int: bool,
    /// Always part of the `WHERE` (events: only a proposal's lifecycle).
    pub scope: Option<&'static str>,
    /// One predicate with one `?` per filter field; `None`: the kind does not carry it.
    pub tenant: Option<&'static str>,
    pub principal: Option<&'static str>,
    pub capability: Option<&'static str>,
    pub object_id: Option<&'static str>,
    pub object_type: Option<&'static str>,
    pub source: Option<&'static str>,
    /// The `schema.table` expression the table filter compares with.
    pub table_name: Option<&'static str>,
    pub outcome: Option<&'static str>,
    pub proposal: Option<&'static str>,
    pub evidence: Option<&'static str>,
    /// A receipt number (`?` is bound as an integer).
    pub receipt: Option<&'static str>,
    pub query_fingerprint: Option<&'static str>,
    pub idempotency_key: Option<&'static str>,
    pub writeback_job: Option<&'static str>,
    /// The search hit's tenant, capability and proposal.
    pub hit_tenant: &'static str,
    pub hit_capability: &'static str,
    pub hit_proposal: &'static str,
    /// (field name shown in `matched`, expression) searched by a text.
    pub text: &'static [(&'static str, &'static str)],
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

pub const PROPOSALS: Shape = Shape {
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

pub const EVIDENCE: Shape = read_record(
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

pub const QUERY_AUDIT: Shape = read_record(
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

pub const RECEIPTS: Shape = through_proposal! {
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

pub const EVENTS: Shape = through_proposal! {
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
pub const SEARCHED: [&Shape; 5] = [&PROPOSALS, &EVIDENCE, &QUERY_AUDIT, &RECEIPTS, &EVENTS];

/// What differs between engines in a browse statement.
pub struct Dialect {
    /// A predicate true when the lowered `expr` contains the bound (lowered) needle, literally
    /// (no wildcards): SQLite `instr(lower(expr), ?) > 0`, Postgres `strpos(lower(expr), ?) > 0`.
    pub contains: fn(expr: &str) -> String,
    /// Appended to text the order key compares (`COLLATE "C"` on Postgres), so ids and times
    /// sort bytewise as the cursor and the merged search assume.
    pub collate: &'static str,
}

/// SQLite compares text bytewise already.
pub const SQLITE: Dialect = Dialect {
    contains: |expr| format!("instr(lower({expr}), ?) > 0"),
    collate: "",
};

/// Postgres: `strpos` matches literally; `COLLATE "C"` orders bytewise whatever the
/// database's locale.
pub const POSTGRES: Dialect = Dialect {
    contains: |expr| format!("strpos(lower({expr}), ?) > 0"),
    collate: " COLLATE \"C\"",
};

/// A value bound to a `?`.
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    Text(String),
    Int(i64),
}

/// A `WHERE` under construction: clauses joined by `AND`, values bound in order.
#[derive(Debug, Default, Clone)]
pub struct Where {
    pub clauses: Vec<String>,
    pub values: Vec<Bound>,
}

impl Where {
    pub fn push(&mut self, clause: impl Into<String>, values: impl IntoIterator<Item = Bound>) {
        self.clauses.push(clause.into());
        self.values.extend(values);
    }

    /// ` WHERE a AND b`, or nothing.
    pub fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }
}

fn text(v: &str) -> Bound {
    Bound::Text(v.to_owned())
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|v| !v.is_empty())
}

impl Shape {
    /// The `created_at` column as the order key compares it.
    fn created_key(&self, d: &Dialect) -> String {
        format!("{}{}", self.created, d.collate)
    }

    /// The id column as the order key compares it.
    fn id_key(&self, d: &Dialect) -> String {
        if self.id_is_int {
            self.id.to_owned()
        } else {
            format!("{}{}", self.id, d.collate)
        }
    }

    /// `column` of the table itself, never the select list's column of the same name (the
    /// page selects the id twice; Postgres calls a bare `ORDER BY id` ambiguous).
    fn own(&self, column: &str) -> String {
        format!("{}.{column}", self.table)
    }
}

/// The `WHERE` of `f` for `shape`, or `None` when the kind cannot match (it lacks a filtered
/// field).
pub fn filter_where(shape: &Shape, f: &RecordFilter, d: &Dialect) -> Option<Where> {
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
        w.push(shape.receipt?, [Bound::Int(receipt)]);
    }
    if let Some(table) = given(&f.table) {
        let column = shape.table_name?;
        if table.contains('.') {
            w.push(format!("{column} = ?"), [text(table)]);
        } else {
            // A bare name matches `any_schema.name` (or a name stored without a schema): the
            // column's tail from the character before the name on. When the column is no
            // longer than the name, `substr` returns at most the column, never equal.
            w.push(
                format!(
                    "({column} = ? OR substr({column}, length({column}) - length(CAST(? AS TEXT))) = '.' || CAST(? AS TEXT))"
                ),
                [text(table), text(table), text(table)],
            );
        }
    }
    let created = shape.created_key(d);
    if let Some(from) = &f.from {
        w.push(format!("{created} >= ?"), [text(from.as_str())]);
    }
    if let Some(to) = &f.to {
        w.push(format!("{created} <= ?"), [text(to.as_str())]);
    }
    Some(w)
}

/// Rows strictly after `cursor` in the merged order `(created_at, kind, id)`, newest first.
pub fn after_cursor(w: &mut Where, shape: &Shape, cursor: &Cursor, d: &Dialect) {
    let at = text(&cursor.at);
    let created = shape.created_key(d);
    if shape.kind > cursor.kind {
        // At the same instant this kind is listed before the cursor's: already shown.
        w.push(format!("{created} < ?"), [at]);
    } else if shape.kind < cursor.kind {
        w.push(format!("{created} <= ?"), [at]);
    } else {
        let id = match &cursor.id {
            CursorId::Int(i) => Bound::Int(*i),
            CursorId::Text(t) => text(t),
        };
        // The first clause bounds the index range; the second breaks ties on the id.
        w.push(
            format!(
                "{created} <= ? AND ({created} < ? OR {} < ?)",
                shape.id_key(d)
            ),
            [at.clone(), at, id],
        );
    }
}

/// Narrows `w` to rows where any of the shape's text fields contains `needle` (already
/// folded).
pub fn text_where(w: &mut Where, shape: &Shape, needle: &str, d: &Dialect) {
    let any: Vec<String> = shape
        .text
        .iter()
        .map(|(_, expr)| (d.contains)(expr))
        .collect();
    w.push(
        format!("({})", any.join(" OR ")),
        shape.text.iter().map(|_| text(needle)),
    );
}

/// The statement of one page of `shape`: `columns`, then the order key (`created_at`, id),
/// newest first.
pub fn page_sql(
    shape: &Shape,
    columns: &str,
    w: &Where,
    limit: usize,
    offset: u32,
    d: &Dialect,
) -> String {
    page_sql_from(shape, shape.table, columns, w, limit, offset, d)
}

/// [`page_sql`] over `from`: the shape's table, or a join that names its rows (a search index
/// joined to the table, read in that order).
pub fn page_sql_from(
    shape: &Shape,
    from: &str,
    columns: &str,
    w: &Where,
    limit: usize,
    offset: u32,
    d: &Dialect,
) -> String {
    format!(
        "SELECT {columns}, {created}, {id} FROM {table}{where_} ORDER BY {created_key}{collate} DESC, {id_key}{id_collate} DESC LIMIT {limit} OFFSET {offset}",
        created = shape.created,
        id = shape.id,
        table = from,
        where_ = w.sql(),
        created_key = shape.own(shape.created),
        id_key = shape.own(shape.id),
        collate = d.collate,
        id_collate = if shape.id_is_int { "" } else { d.collate },
    )
}

/// The columns a search selects for `shape`: the id as text, the hit's tenant, capability and
/// proposal, then every text field (read by [`hit`]).
pub fn hit_columns(shape: &Shape) -> String {
    let fields: Vec<&str> = shape.text.iter().map(|(_, expr)| *expr).collect();
    format!(
        "CAST({} AS TEXT), {}, {}, {}, {}",
        shape.id,
        shape.hit_tenant,
        shape.hit_capability,
        shape.hit_proposal,
        fields.join(", ")
    )
}

/// `sql` with each `?` replaced by `$1`, `$2`, … in order (the shapes hold no `?` inside a
/// quoted literal).
pub fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(c);
        }
    }
    out
}

/// The fingerprint of `f` for `listing` and the position its cursor names (checked against
/// both), if it has one.
pub fn open_cursor(
    f: &RecordFilter,
    listing: &str,
    search: Option<&SearchText>,
) -> Result<(String, Option<Cursor>), LedgerError> {
    let fingerprint = f.fingerprint(listing, search);
    let cursor = f
        .cursor
        .as_deref()
        .map(|t| Cursor::decode(t, listing, &fingerprint))
        .transpose()?;
    Ok((fingerprint, cursor))
}

/// The page size of `f`.
pub fn page_size(f: &RecordFilter) -> usize {
    f.page_size()
}

/// The folded needle of a search text.
pub fn needle(text: &SearchText) -> String {
    text.folded()
}

/// The order key of a row from its last two columns.
pub fn key(shape: &Shape, at: String, id: CursorId) -> Cursor {
    Cursor {
        at,
        kind: shape.kind,
        id,
    }
}

/// Cuts `rows` (newest first, at most `limit + 1`) to a page and the cursor after it.
pub fn into_page<T>(
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

/// The listing name a search's cursor carries.
pub const ACTIVITY: &str = "activity";

/// Sorts the rows of every kind a search found into one order: newest first, ties in the
/// order the cursor assumes (kind, then id, descending).
pub fn sort_merged<T>(rows: &mut [(Cursor, T)]) {
    rows.sort_by(|(a, _), (b, _)| listing_order(a, b));
}

/// How two positions compare in a merged listing: `Less` when `a` is listed first (newer; at
/// the same instant, the later kind, then the greater id), as [`after_cursor`] assumes.
pub fn listing_order(a: &Cursor, b: &Cursor) -> std::cmp::Ordering {
    (b.at.as_str(), b.kind)
        .cmp(&(a.at.as_str(), a.kind))
        .then_with(|| match (&b.id, &a.id) {
            (CursorId::Int(x), CursorId::Int(y)) => x.cmp(y),
            (CursorId::Text(x), CursorId::Text(y)) => x.cmp(y),
            _ => std::cmp::Ordering::Equal,
        })
}

/// The columns of a search row as [`hit_columns`] selects them.
pub struct HitRow {
    pub id: String,
    pub created_at: String,
    pub tenant_id: Option<String>,
    pub capability: Option<String>,
    pub proposal_id: Option<String>,
    /// One per text field of the shape, in order.
    pub fields: Vec<Option<String>>,
}

/// The hit a search row makes: which fields hold `needle`, and a snippet of the first.
pub fn hit(shape: &Shape, row: HitRow, needle: Option<&str>) -> Hit {
    let mut matched = Vec::new();
    let mut snippet = None;
    if let Some(needle) = needle {
        for ((name, _), value) in shape.text.iter().zip(&row.fields) {
            let Some(value) = value else { continue };
            if let Some(at) = value.to_ascii_lowercase().find(needle) {
                matched.push(*name);
                if snippet.is_none() {
                    snippet = Some(around(value, at, needle.len()));
                }
            }
        }
    }
    Hit {
        kind: shape.kind,
        id: row.id,
        created_at: row.created_at,
        tenant_id: row.tenant_id,
        capability: row.capability,
        replay_id: row
            .proposal_id
            .as_deref()
            .map(airlock_protocol::ids::replay_id),
        proposal_id: row.proposal_id,
        matched,
        snippet,
    }
}

/// The longest snippet shown around a match, in characters.
pub const SNIPPET: usize = 80;

/// At most [`SNIPPET`] characters of `value` around the byte range `at..at + len`, with `…`
/// where it was cut.
pub fn around(value: &str, at: usize, len: usize) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn placeholders_are_numbered_in_order() {
        assert_eq!(
            numbered("a = ? AND (b < ? OR c = ?)"),
            "a = $1 AND (b < $2 OR c = $3)"
        );
    }
}
