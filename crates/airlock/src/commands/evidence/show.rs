//! `airlock evidence show ID`: what a read returned, and the audit of the query behind it.

use airlock_cli::ShowArgs;

use crate::output::{self, ExitStatus};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: &ShowArgs) -> anyhow::Result<ExitStatus> {
    let ledger = settings.open_ledger_read_only().await?;
    let found = ledger.evidence(&args.id).await?;
    if args.json {
        output::json(&found)?;
        return Ok(ExitStatus::Success);
    }
    let b = &found.bundle;
    output::line(&format!("Evidence {}", b.evidence_bundle_id));
    output::line(&format!(
        "Capability: {}    Tenant: {}    Principal: {}",
        b.capability, b.tenant_id, b.principal
    ));
    output::line(&format!(
        "Object:     {}:{} in {} ({})",
        b.business_object, b.object_id, b.source_table, b.source_id
    ));
    if let Some(p) = &b.proposal_id {
        output::line(&format!("Proposal:   {p}"));
    }
    output::line(&format!("Recorded:   {}", b.created_at));
    for item in &b.items {
        output::line(&format!("Item ({}):", item["kind"].as_str().unwrap_or("?")));
        output::line(&serde_json::to_string_pretty(item)?);
    }
    for a in &found.query_audit {
        output::line(&format!(
            "Query audit #{}: {} rows, {} µs, outcome {}, fingerprint {}",
            a.audit_id, a.row_count, a.duration_us, a.outcome, a.query_fingerprint
        ));
    }
    Ok(ExitStatus::Success)
}
