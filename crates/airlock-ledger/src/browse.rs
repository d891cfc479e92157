//! Browsing the ledger: the one filter every list and search takes, pages with a keyset
//! cursor, and search hits.
//!
//! Every listing is ordered newest first by `(created_at, id)` and resumes strictly after the
//! last row it returned, so a record is shown at most once however many records are written
//! while someone pages (new records sort before the cursor and are never reached). The cursor
//! token carries that position, the listing it belongs to and a fingerprint of the filter, and
//! a checksum; a token that was edited, or reused with other filters, is refused by code.

use serde::Serialize;

pub mod shape;

use crate::LedgerError;

/// The most a search text may hold, in bytes.
pub const MAX_SEARCH_TEXT: usize = 256;

/// The largest page a listing returns.
pub const MAX_PAGE: u32 = 1000;

/// What a list or search selects. Empty fields do not filter. A field the record kind does not
/// carry (an outcome for evidence) makes that kind match nothing: a list command offers only
/// the filters its kind has, and `activity search` leaves such kinds out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordFilter {
    pub tenant: Option<String>,
    pub principal: Option<String>,
    /// The capability (a proposal's `action`).
    pub capability: Option<String>,
    pub object_id: Option<String>,
    /// The business object type (`invoice`).
    pub object_type: Option<String>,
    /// The configured source id.
    pub source: Option<String>,
    /// `schema.table`, or a bare table name that matches it in any schema.
    pub table: Option<String>,
    /// A proposal's state, a query-audit outcome or a receipt status.
    pub outcome: Option<String>,
    pub proposal: Option<String>,
    pub evidence: Option<String>,
    /// A replay id (`replay_<proposal id>`, or the proposal id itself): the records of that
    /// proposal, as `proposal` selects them.
    pub replay: Option<String>,
    /// A receipt number: that receipt, and the records of the proposal it applied.
    pub receipt: Option<i64>,
    /// The fingerprint of the query behind a read (evidence and query audit).
    pub query_fingerprint: Option<String>,
    /// A receipt's idempotency key.
    pub idempotency_key: Option<String>,
    /// A receipt's writeback job id.
    pub writeback_job: Option<String>,
    /// Only records created at or after this time.
    pub from: Option<LedgerTime>,
    /// Only records created at or before this time.
    pub to: Option<LedgerTime>,
    /// Page size, 1 to [`MAX_PAGE`] (0 means 20).
    pub limit: u32,
    /// Resume after this token (a page's `next_cursor`).
    pub cursor: Option<String>,
    /// Rows to skip first (numbered pages, as the review UI shows; a search ignores it).
    /// Prefer the cursor: skipping reads every skipped row.
    pub offset: u32,
}

impl RecordFilter {
    /// The proposal `replay` names: the id after `replay_`, or the value as typed.
    pub(crate) fn replay_proposal(&self) -> Option<&str> {
        self.replay
            .as_deref()
            .filter(|r| !r.is_empty())
            .map(|r| r.strip_prefix("replay_").unwrap_or(r))
    }

    pub(crate) fn page_size(&self) -> usize {
        match self.limit {
            0 => 20,
            n => n.min(MAX_PAGE) as usize,
        }
    }

    /// A short digest of what the filter selects, which binds a cursor to the listing that
    /// printed it. The page size, the cursor and the time range are left out: a `--since`
    /// window moves with the clock between two pages.
    pub(crate) fn fingerprint(&self, listing: &str, text: Option<&SearchText>) -> String {
        let fields = [
            &self.tenant,
            &self.principal,
            &self.capability,
            &self.object_id,
            &self.object_type,
            &self.source,
            &self.table,
            &self.outcome,
            &self.proposal,
            &self.evidence,
            &self.replay,
            &self.query_fingerprint,
            &self.idempotency_key,
            &self.writeback_job,
        ];
        let mut parts: Vec<serde_json::Value> = vec![listing.into()];
        parts.extend(fields.iter().map(|f| serde_json::json!(f)));
        parts.push(serde_json::json!(self.receipt));
        parts.push(serde_json::json!(text.map(SearchText::as_str)));
        let digest = airlock_protocol::canonical::sha256_hex(
            serde_json::Value::Array(parts).to_string().as_bytes(),
        );
        digest[..16].to_owned()
    }
}

/// A time as the ledger writes `created_at`: RFC 3339 in UTC with milliseconds and a `Z`
/// (`2026-12-06T17:40:02.518Z`), so comparing the text compares the instants.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LedgerTime(String);

impl LedgerTime {
    pub fn from_utc(t: chrono::DateTime<chrono::Utc>) -> LedgerTime {
        LedgerTime(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Text to search for: not blank, at most [`MAX_SEARCH_TEXT`] bytes, kept as typed (ASCII
/// letters are compared without case; every other character, `%` and `_` included, is
/// literal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchText(String);

/// Why a search text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchTextError {
    Empty,
    TooLong,
}

impl SearchText {
    pub fn new(text: &str) -> Result<SearchText, SearchTextError> {
        if text.trim().is_empty() {
            return Err(SearchTextError::Empty);
        }
        if text.len() > MAX_SEARCH_TEXT {
            return Err(SearchTextError::TooLong);
        }
        Ok(SearchText(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text with ASCII letters lowered, as SQLite's `lower()` lowers a column.
    pub(crate) fn folded(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// One page of a listing, newest first, and the token that continues it (none on the last
/// page).
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// The kinds of record a search looks through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum RecordKind {
    /// A proposal's lifecycle event (decisions, apply attempts), not its creation.
    #[serde(rename = "event")]
    Event,
    #[serde(rename = "receipt")]
    Receipt,
    #[serde(rename = "query-audit")]
    QueryAudit,
    #[serde(rename = "evidence")]
    Evidence,
    #[serde(rename = "proposal")]
    Proposal,
}

impl RecordKind {
    pub const ALL: [RecordKind; 5] = [
        RecordKind::Proposal,
        RecordKind::Evidence,
        RecordKind::QueryAudit,
        RecordKind::Receipt,
        RecordKind::Event,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Proposal => "proposal",
            RecordKind::Evidence => "evidence",
            RecordKind::QueryAudit => "query-audit",
            RecordKind::Receipt => "receipt",
            RecordKind::Event => "event",
        }
    }

    fn parse(word: &str) -> Option<RecordKind> {
        RecordKind::ALL.into_iter().find(|k| k.as_str() == word)
    }
}

/// One record a search found: what it is, when, whose, which fields matched, and the ids that
/// lead to the rest of the story (`airlock replay show PROPOSAL`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub kind: RecordKind,
    /// The record's id: a proposal or evidence id, an audit or receipt number, an event's
    /// sequence number.
    pub id: String,
    pub created_at: String,
    pub tenant_id: Option<String>,
    pub capability: Option<String>,
    pub proposal_id: Option<String>,
    /// `replay_<proposal id>` when the record belongs to a proposal.
    pub replay_id: Option<String>,
    /// The fields the text was found in (empty when searching by filters alone).
    pub matched: Vec<&'static str>,
    /// The first matched field around the match, at most 80 characters.
    pub snippet: Option<String>,
}

/// A position in a listing: the last row shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    pub at: String,
    pub kind: RecordKind,
    pub id: CursorId,
}

/// A record id as it sorts: text ids (proposals, evidence) or numbers (audit, receipts, events).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum CursorId {
    Int(i64),
    Text(String),
}

const CURSOR_VERSION: u64 = 1;

impl Cursor {
    /// `<hex of the position>.<checksum>`.
    pub fn encode(&self, listing: &str, fingerprint: &str) -> String {
        let body = serde_json::json!({
            "v": CURSOR_VERSION,
            "l": listing,
            "f": fingerprint,
            "t": self.at,
            "k": self.kind.as_str(),
            "i": self.id,
        })
        .to_string();
        format!("{}.{}", hex::encode(&body), checksum(&body))
    }

    /// The position a token names, checked against the listing and filter it is used with.
    pub fn decode(token: &str, listing: &str, fingerprint: &str) -> Result<Cursor, LedgerError> {
        let malformed = || LedgerError::Cursor {
            code: "CURSOR_MALFORMED",
            detail: "the --cursor token is not one airlock printed".into(),
        };
        let (body, sum) = token.trim().split_once('.').ok_or_else(malformed)?;
        let body = hex::decode(body).map_err(|_| malformed())?;
        let body = String::from_utf8(body).map_err(|_| malformed())?;
        if checksum(&body) != sum {
            return Err(LedgerError::Cursor {
                code: "CURSOR_TAMPERED",
                detail: "the --cursor token was changed after airlock printed it".into(),
            });
        }
        let v: serde_json::Value = serde_json::from_str(&body).map_err(|_| malformed())?;
        if v["v"].as_u64() != Some(CURSOR_VERSION) {
            return Err(malformed());
        }
        if v["l"].as_str() != Some(listing) || v["f"].as_str() != Some(fingerprint) {
            return Err(LedgerError::Cursor {
                code: "CURSOR_MISMATCH",
                detail: format!(
                    "the --cursor token belongs to another listing or other filters (this is `{listing}`)"
                ),
            });
        }
        let at = v["t"].as_str().ok_or_else(malformed)?.to_owned();
        let kind = v["k"]
            .as_str()
            .and_then(RecordKind::parse)
            .ok_or_else(malformed)?;
        let id = serde_json::from_value(v["i"].clone()).map_err(|_| malformed())?;
        Ok(Cursor { at, kind, id })
    }
}

fn checksum(body: &str) -> String {
    let digest =
        airlock_protocol::canonical::sha256_hex(format!("airlock-cursor:{body}").as_bytes());
    digest[..16].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor() -> Cursor {
        Cursor {
            at: "2026-12-06T10:00:00.000Z".into(),
            kind: RecordKind::QueryAudit,
            id: CursorId::Int(42),
        }
    }

    #[test]
    fn a_cursor_round_trips_and_refuses_edits_and_other_filters() {
        let token = cursor().encode("query-audit", "f1");
        assert_eq!(
            Cursor::decode(&token, "query-audit", "f1").unwrap(),
            cursor()
        );
        let code = |r: Result<Cursor, LedgerError>| match r {
            Err(LedgerError::Cursor { code, .. }) => code,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            code(Cursor::decode(&token, "query-audit", "f2")),
            "CURSOR_MISMATCH"
        );
        assert_eq!(
            code(Cursor::decode(&token, "evidence", "f1")),
            "CURSOR_MISMATCH"
        );
        // Flip one hex digit of the body: the checksum no longer fits.
        let mut bytes = token.clone().into_bytes();
        bytes[10] = if bytes[10] == b'0' { b'1' } else { b'0' };
        let edited = String::from_utf8(bytes).unwrap();
        assert_eq!(
            code(Cursor::decode(&edited, "query-audit", "f1")),
            "CURSOR_TAMPERED"
        );
        for bad in ["", "x", "zz.zz", "'; DROP TABLE events; --", "00.00"] {
            let got = code(Cursor::decode(bad, "query-audit", "f1"));
            assert!(
                got == "CURSOR_MALFORMED" || got == "CURSOR_TAMPERED",
                "{bad}: {got}"
            );
        }
    }

    #[test]
    fn search_text_is_bounded() {
        assert_eq!(SearchText::new("  "), Err(SearchTextError::Empty));
        assert_eq!(
            SearchText::new(&"x".repeat(MAX_SEARCH_TEXT + 1)),
            Err(SearchTextError::TooLong)
        );
        assert_eq!(SearchText::new("50%_Off").unwrap().folded(), "50%_off");
    }
}
