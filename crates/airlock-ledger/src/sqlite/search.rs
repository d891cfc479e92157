//! Free-text search over proposals (the review UI's history search). Self-contained: one
//! query, the text bound as a value and matched literally (`instr`, no `LIKE` wildcards).

use rusqlite::{Connection, params};

use super::read::{PROPOSAL_COLUMNS, proposal_from_row};
use crate::{LedgerError, StoredProposal};

/// Where the text may appear: the proposal's id, capability, tenant, object id or principal,
/// or a decision's reason or actor, or an apply's actor. ASCII case is ignored.
const MATCHES: &str = "(instr(lower(p.proposal_id), ?1) > 0
    OR instr(lower(p.action), ?1) > 0
    OR instr(lower(p.tenant_id), ?1) > 0
    OR instr(lower(p.object_id), ?1) > 0
    OR instr(lower(p.principal), ?1) > 0
    OR EXISTS (SELECT 1 FROM approvals a WHERE a.proposal_id = p.proposal_id
        AND (instr(lower(COALESCE(a.reason, '')), ?1) > 0 OR instr(lower(a.approver), ?1) > 0))
    OR EXISTS (SELECT 1 FROM writeback_jobs j WHERE j.proposal_id = p.proposal_id
        AND instr(lower(j.actor), ?1) > 0))";

/// One page of the proposals matching `text` (newest first) and how many match in all. An
/// empty (or blank) text matches every proposal.
pub(crate) fn search_proposals(
    conn: &Connection,
    text: &str,
    limit: u32,
    offset: u32,
) -> Result<(u64, Vec<StoredProposal>), LedgerError> {
    let needle = text.trim().to_ascii_lowercase();
    let total: i64 = conn.query_row(
        &format!("SELECT COUNT(*) FROM proposals p WHERE {MATCHES}"),
        params![needle],
        |r| r.get(0),
    )?;
    let columns = PROPOSAL_COLUMNS
        .split(',')
        .map(|c| format!("p.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let mut stmt = conn.prepare(&format!(
        "SELECT {columns} FROM proposals p WHERE {MATCHES}
         ORDER BY p.created_at DESC, p.rowid DESC LIMIT ?2 OFFSET ?3"
    ))?;
    let rows = stmt
        .query_map(
            params![needle, limit.clamp(1, 1000), offset],
            proposal_from_row,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((u64::try_from(total).unwrap_or(0), rows))
}
