//! `airlock query-audit list`: every query a capability ran, newest first, filtered and
//! paged. Values are never stored, only the statement shape and who asked.

use airlock_cli::QueryAuditListArgs;
use airlock_ledger::{Ledger, RecordFilter};

use crate::listing::{filter, table::Table};
use crate::output::{self, ExitStatus};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: &QueryAuditListArgs) -> anyhow::Result<ExitStatus> {
    let filter = RecordFilter {
        evidence: args.evidence.clone(),
        proposal: args.proposal.clone(),
        outcome: args.outcome.clone(),
        ..filter::record_filter(&args.browse, chrono::Utc::now())?
    };
    let ledger = settings.open_ledger_read_only()?;
    let page = ledger.query_audit_page(&filter).await?;
    if args.browse.json {
        output::json(&serde_json::json!({
            "query_audit": page.items,
            "next_cursor": page.next_cursor,
        }))?;
        return Ok(ExitStatus::Success);
    }
    if page.items.is_empty() {
        output::line("No query-audit records match.");
        return Ok(ExitStatus::Success);
    }
    let mut table = Table::new(&[
        "ID",
        "WHEN",
        "TENANT",
        "CAPABILITY",
        "OUTCOME",
        "ROWS",
        "µs",
        "OBJECT",
    ]);
    for a in &page.items {
        table.row(vec![
            a.audit_id.to_string(),
            a.created_at.clone(),
            a.tenant_id.clone(),
            a.capability.clone(),
            a.outcome.clone(),
            a.row_count.to_string(),
            a.duration_us.to_string(),
            a.object_id.clone(),
        ]);
    }
    table.print(settings);
    output::more(page.next_cursor.as_deref());
    Ok(ExitStatus::Success)
}
