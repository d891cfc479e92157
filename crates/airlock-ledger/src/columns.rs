//! Column hashes: the ledger's second hash format, for rows written from this version on.
//!
//! A `sha256:` hash (the first format) covers the canonical JSON of a record, which `verify`
//! has to rebuild from the columns for every row. A column hash covers the stored column
//! values themselves, in one fixed order per record kind ([`Layout`]), each with a type tag and
//! a length: JSON columns as the exact text stored, integers as 8 big-endian bytes. `verify`
//! reads the columns and feeds them to SHA-256 as they are.
//!
//! The format is named in the hash string: [`PREFIX`] (`sha256c:`, "c" for columns) instead of
//! `sha256:`. So a ledger may hold both (rows written before an upgrade, then rows after) and
//! each row is checked the way it was written.
//!
//! Hashed bytes: the layout's tag, a zero byte, the number of columns (u32, big-endian), then
//! per column `0` (NULL), `1` + i64 big-endian (integer) or `2` + u64 big-endian length +
//! bytes (text).
//!
//! Covered so far: events, evidence bundles and query audit rows (the bulk of a ledger). The
//! other kinds (proposals, approvals, jobs, receipts, human actions) keep `sha256:` record
//! hashes; their events are column-hashed like every other event.

use sha2::{Digest, Sha256};

use crate::chain::EventBody;
use crate::{EvidenceBundle, QueryAudit};

/// Prefix of a column hash (see the module documentation).
pub const PREFIX: &str = "sha256c:";

/// One column value as stored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Col<'a> {
    Null,
    Int(i64),
    Text(&'a [u8]),
}

impl<'a> Col<'a> {
    pub fn text(s: &'a str) -> Col<'a> {
        Col::Text(s.as_bytes())
    }

    pub fn opt(s: Option<&'a str>) -> Col<'a> {
        s.map_or(Col::Null, Col::text)
    }
}

impl rusqlite::ToSql for Col<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match *self {
            Col::Null => ValueRef::Null,
            Col::Int(n) => ValueRef::Integer(n),
            Col::Text(b) => ValueRef::Text(b),
        }))
    }
}

/// A record kind's column hash: its tag and the columns hashed, in order (the same text the
/// ledger's SELECTs use, so reading and hashing agree on the order).
pub struct Layout {
    pub tag: &'static str,
    pub columns: &'static str,
}

impl Layout {
    /// How many columns it hashes.
    pub fn width(&self) -> usize {
        self.columns.split(',').count()
    }
}

/// An event: every column but `hash`, in `events` order.
pub const EVENT: Layout = Layout {
    tag: "airlock.ledger.event.c1",
    columns: "seq, kind, proposal_id, subject_kind, subject_id, actor, payload_json, record_hash,
    prev_hash, created_at",
};

/// An evidence bundle: every column.
pub const EVIDENCE: Layout = Layout {
    tag: "airlock.ledger.evidence.c1",
    columns: "evidence_bundle_id, proposal_id, tenant_id, principal, capability,
    source_id, source_table, business_object, object_id, query_fingerprint, payload_json,
    items_json, created_at",
};

/// A query audit row: every column.
pub const AUDIT: Layout = Layout {
    tag: "airlock.ledger.query_audit.c1",
    columns: "audit_id, proposal_id, evidence_bundle_id, tenant_id, principal,
    capability, business_object, object_id, source_id, query_fingerprint, table_name, row_count,
    duration_us, outcome, payload_json, created_at",
};

/// Appends the bytes [`digest`] hashes for `cols` of `layout` to `buf`.
pub fn encode(layout: &Layout, cols: &[Col<'_>], buf: &mut Vec<u8>) {
    encode_with(layout, cols, buf, |buf, text| buf.extend_from_slice(text));
}

/// [`encode`], handing each text column's bytes to `text` instead of appending them itself
/// (the header of the column, its tag and length, is in `buf` by then).
fn encode_with(
    layout: &Layout,
    cols: &[Col<'_>],
    buf: &mut Vec<u8>,
    mut text: impl FnMut(&mut Vec<u8>, &[u8]),
) {
    buf.extend_from_slice(layout.tag.as_bytes());
    buf.push(0);
    buf.extend_from_slice(&(cols.len() as u32).to_be_bytes());
    for c in cols {
        match *c {
            Col::Null => buf.push(0),
            Col::Int(n) => {
                buf.push(1);
                buf.extend_from_slice(&n.to_be_bytes());
            }
            Col::Text(b) => {
                buf.push(2);
                buf.extend_from_slice(&(b.len() as u64).to_be_bytes());
                text(buf, b);
            }
        }
    }
}

/// Texts at least this long go to SHA-256 where they are instead of being copied into the
/// scratch buffer first (`verify` hashes a few hundred MB of stored JSON per million rows;
/// shorter ones are cheaper to copy than to hand over one by one).
const HASHED_IN_PLACE: usize = 128;

/// SHA-256 of the encoded columns (`buf` is scratch space).
pub fn digest(layout: &Layout, cols: &[Col<'_>], buf: &mut Vec<u8>) -> [u8; 32] {
    let mut sha = Sha256::new();
    buf.clear();
    encode_with(layout, cols, buf, |buf, text| {
        if text.len() < HASHED_IN_PLACE {
            buf.extend_from_slice(text);
        } else {
            sha.update(&buf[..]);
            buf.clear();
            sha.update(text);
        }
    });
    sha.update(&buf[..]);
    sha.finalize().into()
}

/// The stored form: `sha256c:` and 64 lowercase hex digits.
pub fn hash(layout: &Layout, cols: &[Col<'_>]) -> String {
    let mut buf = Vec::with_capacity(512);
    let d = digest(layout, cols, &mut buf);
    let mut out = String::with_capacity(PREFIX.len() + 64);
    out.push_str(PREFIX);
    out.push_str(&hex::encode(d));
    out
}

/// Whether `stored` is a column hash (of either result).
pub fn is_column_hash(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

/// Whether `stored` is the column hash of `cols`. The digest's hex is compared with the
/// stored text as it is produced (lowercase, as [`hash`] writes it): no string is built.
pub fn matches(layout: &Layout, cols: &[Col<'_>], stored: &[u8], buf: &mut Vec<u8>) -> bool {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let Some(want) = stored.strip_prefix(PREFIX.as_bytes()) else {
        return false;
    };
    if want.len() != 64 {
        return false;
    }
    let d = digest(layout, cols, buf);
    d.iter()
        .zip(want.chunks_exact(2))
        .all(|(b, pair)| pair[0] == HEX[usize::from(b >> 4)] && pair[1] == HEX[usize::from(b & 15)])
}

/// An event's columns in [`EVENT`] order, its payload as the text stored.
pub fn event_cols<'a>(b: &EventBody<'a>, payload_json: &'a str) -> [Col<'a>; 10] {
    [
        Col::Int(b.seq),
        Col::text(b.kind),
        Col::opt(b.proposal_id),
        Col::text(b.subject_kind),
        Col::text(b.subject_id),
        Col::text(b.actor),
        Col::text(payload_json),
        Col::text(b.record_hash),
        Col::text(b.prev_hash),
        Col::text(b.created_at),
    ]
}

/// The JSON columns of an evidence bundle as the ledger stores them.
pub struct EvidenceJson {
    pub payload: String,
    pub items: String,
}

impl EvidenceJson {
    pub fn of(e: &EvidenceBundle) -> serde_json::Result<EvidenceJson> {
        Ok(EvidenceJson {
            payload: serde_json::to_string(&e.payload)?,
            items: serde_json::to_string(&e.items)?,
        })
    }
}

/// An evidence bundle's columns in [`EVIDENCE`] order (what the ledger inserts and hashes).
pub fn evidence_cols<'a>(e: &'a EvidenceBundle, json: &'a EvidenceJson) -> [Col<'a>; 13] {
    [
        Col::text(&e.evidence_bundle_id),
        Col::opt(e.proposal_id.as_deref()),
        Col::text(&e.tenant_id),
        Col::text(&e.principal),
        Col::text(&e.capability),
        Col::text(&e.source_id),
        Col::text(&e.source_table),
        Col::text(&e.business_object),
        Col::text(&e.object_id),
        Col::text(&e.query_fingerprint),
        Col::text(&json.payload),
        Col::text(&json.items),
        Col::text(&e.created_at),
    ]
}

/// A query audit row's columns in [`AUDIT`] order (what the ledger inserts and hashes; the
/// first, `audit_id`, is the row id the insert assigned).
pub fn audit_cols<'a>(a: &'a QueryAudit, payload_json: &'a str) -> [Col<'a>; 16] {
    [
        Col::Int(a.audit_id),
        Col::opt(a.proposal_id.as_deref()),
        Col::opt(a.evidence_bundle_id.as_deref()),
        Col::text(&a.tenant_id),
        Col::text(&a.principal),
        Col::text(&a.capability),
        Col::text(&a.business_object),
        Col::text(&a.object_id),
        Col::text(&a.source_id),
        Col::text(&a.query_fingerprint),
        Col::text(&a.table_name),
        Col::Int(a.row_count as i64),
        Col::Int(a.duration_us as i64),
        Col::text(&a.outcome),
        Col::text(payload_json),
        Col::text(&a.created_at),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_lengths_and_tags_keep_inputs_apart() {
        let h = |layout: &Layout, cols: &[Col<'_>]| hash(layout, cols);
        let base = h(&EVENT, &[Col::text("ab"), Col::text("c")]);
        assert!(base.starts_with(PREFIX) && base.len() == PREFIX.len() + 64);
        // Moving a byte across a column boundary, NULL against empty text, an integer
        // against its text, another tag: all different.
        for other in [
            h(&EVENT, &[Col::text("a"), Col::text("bc")]),
            h(&EVENT, &[Col::text("abc")]),
            h(&EVENT, &[Col::text("ab"), Col::text("c"), Col::Null]),
            h(&EVIDENCE, &[Col::text("ab"), Col::text("c")]),
        ] {
            assert_ne!(base, other);
        }
        assert_ne!(h(&AUDIT, &[Col::Null]), h(&AUDIT, &[Col::text("")]));
        assert_ne!(h(&AUDIT, &[Col::Int(1)]), h(&AUDIT, &[Col::text("1")]));
        let mut buf = Vec::new();
        let cols = [Col::Int(-5), Col::text("x")];
        assert!(matches(
            &AUDIT,
            &cols,
            h(&AUDIT, &cols).as_bytes(),
            &mut buf
        ));
        assert!(!matches(
            &AUDIT,
            &cols,
            h(&AUDIT, &[Col::Int(-4), Col::text("x")]).as_bytes(),
            &mut buf
        ));
        // Long texts are hashed in place, short ones copied first: the same bytes either way.
        let long = "é".repeat(HASHED_IN_PLACE);
        for cols in [
            vec![Col::text(&long)],
            vec![
                Col::Int(7),
                Col::text(&long),
                Col::Null,
                Col::text("s"),
                Col::text(&long),
            ],
            vec![
                Col::text(&long[..HASHED_IN_PLACE]),
                Col::text(&long[..HASHED_IN_PLACE - 2]),
            ],
        ] {
            let mut encoded = Vec::new();
            encode(&EVIDENCE, &cols, &mut encoded);
            let want: [u8; 32] = Sha256::digest(&encoded).into();
            assert_eq!(digest(&EVIDENCE, &cols, &mut Vec::new()), want);
        }
        // Not a column hash, or not hex: no match rather than a panic.
        assert!(!matches(&AUDIT, &cols, b"sha256:00", &mut buf));
        assert!(!matches(
            &AUDIT,
            &cols,
            format!("{PREFIX}{}", "zz".repeat(32)).as_bytes(),
            &mut buf
        ));
    }
}
