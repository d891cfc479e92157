//! Human actions (shadow mode): what a person actually did for an object, chained like every
//! other record.

use crate::tx::Tx;
use airlock_ledger::rules;
use airlock_ledger::{HumanAction, HumanActionFilter, LedgerError, NewHumanAction};
use serde_json::json;
use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, Row};

use crate::error::{Pg, corrupt};
use crate::read::{col, where_clause};
use crate::writer::NewEvent;

pub(crate) const COLUMNS: &str = "action_id, capability, tenant_id, object_id, proposal_id, actor, patch_json, notes, created_at";

pub(crate) async fn record(
    tx: &Tx,
    a: &NewHumanAction,
    events: &mut Vec<NewEvent>,
) -> Result<HumanAction, LedgerError> {
    let created_at = airlock_protocol::now_rfc3339();
    let action_id: i64 = tx
        .query_one(
            "INSERT INTO human_actions (capability, tenant_id, object_id, proposal_id, actor,
                patch_json, notes, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING action_id",
            &[
                &a.capability,
                &a.tenant_id,
                &a.object_id,
                &a.proposal_id,
                &a.actor,
                &serde_json::to_string(&a.patch)?,
                &a.notes,
                &created_at,
            ],
        )
        .await
        .pg()?
        .get(0);
    let stored = HumanAction {
        action_id,
        capability: a.capability.clone(),
        tenant_id: a.tenant_id.clone(),
        object_id: a.object_id.clone(),
        proposal_id: a.proposal_id.clone(),
        actor: a.actor.clone(),
        patch: a.patch.clone(),
        notes: a.notes.clone(),
        created_at,
    };
    events.push(NewEvent {
        kind: "human_action_recorded".into(),
        proposal_id: None,
        subject_kind: "human_action",
        subject_id: action_id.to_string(),
        actor: stored.actor.clone(),
        payload: json!({
            "action_id": stored.action_id,
            "capability": stored.capability,
            "tenant_id": stored.tenant_id,
            "object_id": stored.object_id,
            "proposal_id": stored.proposal_id,
            "patch_columns": stored.patch.keys().collect::<Vec<_>>(),
        }),
        record_hash: rules::record_hash(&stored),
        created_at: stored.created_at.clone(),
    });
    Ok(stored)
}

pub(crate) fn from_row(r: &Row) -> Result<HumanAction, LedgerError> {
    let text: String = col(r, 6)?;
    Ok(HumanAction {
        action_id: col(r, 0)?,
        capability: col(r, 1)?,
        tenant_id: col(r, 2)?,
        object_id: col(r, 3)?,
        proposal_id: col(r, 4)?,
        actor: col(r, 5)?,
        patch: serde_json::from_str(&text).map_err(|e| corrupt("patch_json", e))?,
        notes: col(r, 7)?,
        created_at: col(r, 8)?,
    })
}

pub(crate) async fn list(
    c: &impl GenericClient,
    f: &HumanActionFilter,
) -> Result<Vec<HumanAction>, LedgerError> {
    let (clause, values) = where_clause(&[("capability", &f.capability), ("tenant_id", &f.tenant)]);
    let params: Vec<&(dyn ToSql + Sync)> =
        values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
    let rows = c
        .query(
            &format!("SELECT {COLUMNS} FROM human_actions{clause} ORDER BY action_id"),
            &params,
        )
        .await
        .pg()?;
    rows.iter().map(from_row).collect()
}
