//! `airlock proposals show ID|latest`: the diff, guards, evidence and history of one proposal.

use serde_json::{Value, json};

use crate::output::{self, ExitStatus};
use crate::settings::Settings;

pub async fn run(settings: &Settings, id: &str, json_out: bool) -> anyhow::Result<ExitStatus> {
    let ledger = settings.open_ledger_read_only().await?;
    let proposal = ledger.proposal(id).await?;
    let events = ledger.proposal_events(&proposal.proposal_id).await?;
    if json_out {
        output::json(&json!({ "proposal": proposal, "events": events }))?;
        return Ok(ExitStatus::Success);
    }
    print_detail(&proposal, &events);
    Ok(ExitStatus::Success)
}

/// The human view of a proposal: diff, guards, evidence, history. Shown before approval too.
pub fn print_detail(proposal: &airlock_ledger::StoredProposal, events: &[airlock_ledger::Event]) {
    let cs = &proposal.change_set;
    output::line(&format!(
        "Proposal {}  ({})",
        proposal.proposal_id, proposal.state
    ));
    output::line(&format!("Capability: {}", proposal.action));
    output::line(&format!(
        "Tenant:     {}    Principal: {} ({})",
        cs.scope.tenant_id, cs.principal.id, cs.principal.source
    ));
    output::line(&format!(
        "Target:     {}.{} where {} = {}",
        cs.source.schema,
        cs.source.table,
        cs.source.primary_key.column,
        show(&cs.source.primary_key.value)
    ));
    output::line(&format!("Created:    {}", proposal.created_at));
    output::line("");
    output::line("Change:");
    for (column, proposed) in &cs.patch {
        let before = cs.before.get(column).cloned().unwrap_or(Value::Null);
        output::line(&format!(
            "  {column}: {} -> {}",
            show(&before),
            show(proposed)
        ));
    }
    output::line("");
    output::line("Guards checked again at apply:");
    output::line(&format!(
        "  tenant:           {} = {}",
        cs.guards.tenant.column,
        show(&cs.guards.tenant.value)
    ));
    output::line(&format!(
        "  allowed columns:  {}",
        cs.guards.allowed_columns.join(", ")
    ));
    output::line(&format!(
        "  expected version: {} = {}",
        cs.guards.expected_version.column,
        show(&cs.guards.expected_version.value)
    ));
    if let Some(role) = &cs.approval.required_role {
        output::line(&format!("  approver role:    {role}"));
    }
    output::line(&format!("  executor:         {}", cs.writeback.executor));
    output::line("");
    output::line(&format!("Evidence: {}", cs.evidence.bundle_id));
    output::line(&format!("Hash:     {}", proposal.proposal_hash));
    output::line("");
    output::line("History:");
    for e in events {
        output::line(&format!(
            "  #{:<6} {}  {:<20} by {}",
            e.seq, e.created_at, e.kind, e.actor
        ));
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}
