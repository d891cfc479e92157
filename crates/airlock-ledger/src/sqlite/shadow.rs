//! Human actions (shadow mode): what a person actually did for an object, stored with its
//! chained event in one transaction.

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params_from_iter};
use serde_json::json;

use super::read::where_clause;
use super::write::append_event;
use crate::chain;
use crate::{HumanAction, HumanActionFilter, LedgerError, NewHumanAction};

const COLUMNS: &str = "action_id, capability, tenant_id, object_id, proposal_id, actor, patch_json, notes, created_at";

pub(crate) fn record(
    conn: &mut Connection,
    a: &NewHumanAction,
) -> Result<HumanAction, LedgerError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let created_at = airlock_protocol::now_rfc3339();
    tx.execute(
        "INSERT INTO human_actions (capability, tenant_id, object_id, proposal_id, actor,
            patch_json, notes, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        rusqlite::params![
            a.capability,
            a.tenant_id,
            a.object_id,
            a.proposal_id,
            a.actor,
            serde_json::to_string(&a.patch)?,
            a.notes,
            created_at,
        ],
    )?;
    let stored = HumanAction {
        action_id: tx.last_insert_rowid(),
        capability: a.capability.clone(),
        tenant_id: a.tenant_id.clone(),
        object_id: a.object_id.clone(),
        proposal_id: a.proposal_id.clone(),
        actor: a.actor.clone(),
        patch: a.patch.clone(),
        notes: a.notes.clone(),
        created_at,
    };
    // Not tied to the proposal's events (`proposal_id` stays out of the event), so a prune
    // treats it as a record of its own.
    append_event(
        &tx,
        "human_action_recorded",
        None,
        ("human_action", &stored.action_id.to_string()),
        &stored.actor,
        &json!({
            "action_id": stored.action_id,
            "capability": stored.capability,
            "tenant_id": stored.tenant_id,
            "object_id": stored.object_id,
            "proposal_id": stored.proposal_id,
            "patch_columns": stored.patch.keys().collect::<Vec<_>>(),
        }),
        &chain::record_hash(&stored),
        &stored.created_at,
    )?;
    tx.commit()?;
    Ok(stored)
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<HumanAction> {
    let text: String = r.get(6)?;
    let patch = serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(6, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(HumanAction {
        action_id: r.get(0)?,
        capability: r.get(1)?,
        tenant_id: r.get(2)?,
        object_id: r.get(3)?,
        proposal_id: r.get(4)?,
        actor: r.get(5)?,
        patch,
        notes: r.get(7)?,
        created_at: r.get(8)?,
    })
}

pub(crate) fn by_id(conn: &Connection, id: i64) -> Result<Option<HumanAction>, LedgerError> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM human_actions WHERE action_id = ?1"),
            [id],
            from_row,
        )
        .optional()?)
}

pub(crate) fn list(
    conn: &Connection,
    f: &HumanActionFilter,
) -> Result<Vec<HumanAction>, LedgerError> {
    let (clause, values) = where_clause(&[("capability", &f.capability), ("tenant_id", &f.tenant)]);
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM human_actions{clause} ORDER BY action_id"
    ))?;
    let rows = stmt.query_map(params_from_iter(values), from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}
