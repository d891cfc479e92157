//! `airlock query-audit list`: every query a capability ran, newest first. Values are never
//! stored, only the statement shape and who asked.

use airlock_cli::QueryAuditListArgs;
use airlock_ledger::{AuditFilter, Ledger};

use crate::output::{self, ExitStatus};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: &QueryAuditListArgs) -> anyhow::Result<ExitStatus> {
    let ledger = settings.open_ledger_read_only()?;
    let records = ledger
        .query_audit(&AuditFilter {
            evidence: args.evidence.clone(),
            proposal: args.proposal.clone(),
            tenant: args.tenant.clone(),
            capability: args.capability.clone(),
            outcome: args.outcome.clone(),
            limit: args.limit,
        })
        .await?;
    if args.json {
        output::json(&serde_json::json!({ "query_audit": records }))?;
        return Ok(ExitStatus::Success);
    }
    if records.is_empty() {
        output::line("No query-audit records match.");
        return Ok(ExitStatus::Success);
    }
    output::line(&format!(
        "{:<7} {:<25} {:<12} {:<32} {:<20} {:>4} {:>8}  {}",
        "ID", "WHEN", "TENANT", "CAPABILITY", "OUTCOME", "ROWS", "µs", "OBJECT"
    ));
    for a in &records {
        output::line(&format!(
            "{:<7} {:<25} {:<12} {:<32} {:<20} {:>4} {:>8}  {}",
            a.audit_id,
            a.created_at,
            a.tenant_id,
            a.capability,
            a.outcome,
            a.row_count,
            a.duration_us,
            a.object_id
        ));
    }
    Ok(ExitStatus::Success)
}
