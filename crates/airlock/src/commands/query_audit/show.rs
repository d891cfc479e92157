//! `airlock query-audit show ID`: one query's audit record.

use airlock_cli::QueryAuditShowArgs;

use crate::output::{self, ExitStatus};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: &QueryAuditShowArgs) -> anyhow::Result<ExitStatus> {
    let ledger = settings.open_ledger_read_only().await?;
    let a = ledger.query_audit_record(args.id).await?;
    if args.json {
        output::json(&a)?;
        return Ok(ExitStatus::Success);
    }
    output::line(&format!("Query audit #{}", a.audit_id));
    output::line(&format!(
        "Capability: {}    Tenant: {}    Principal: {}",
        a.capability, a.tenant_id, a.principal
    ));
    output::line(&format!(
        "Object:     {}:{} in {} ({})",
        a.business_object, a.object_id, a.table_name, a.source_id
    ));
    output::line(&format!(
        "Outcome:    {}, {} rows, {} µs",
        a.outcome, a.row_count, a.duration_us
    ));
    output::line(&format!("Query:      {}", a.query_fingerprint));
    if let Some(e) = &a.evidence_bundle_id {
        output::line(&format!("Evidence:   {e}"));
    }
    if let Some(p) = &a.proposal_id {
        output::line(&format!("Proposal:   {p} (airlock replay show {p})"));
    }
    output::line(&format!("Recorded:   {}", a.created_at));
    output::line("Parameter values are never stored.");
    Ok(ExitStatus::Success)
}
