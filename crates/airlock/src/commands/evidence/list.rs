//! `airlock evidence list`: what reads returned, newest first, filtered and paged.

use airlock_cli::EvidenceListArgs;
use airlock_ledger::{Ledger, RecordFilter};

use crate::listing::{filter, table::Table};
use crate::output::{self, ExitStatus};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: &EvidenceListArgs) -> anyhow::Result<ExitStatus> {
    let filter = RecordFilter {
        proposal: args.proposal.clone(),
        ..filter::record_filter(&args.browse, chrono::Utc::now())?
    };
    let ledger = settings.open_ledger_read_only()?;
    let page = ledger.evidence_page(&filter).await?;
    if args.browse.json {
        output::json(&serde_json::json!({
            "evidence": page.items,
            "next_cursor": page.next_cursor,
        }))?;
        return Ok(ExitStatus::Success);
    }
    if page.items.is_empty() {
        output::line("No evidence bundles match.");
        return Ok(ExitStatus::Success);
    }
    let mut table = Table::new(&[
        "EVIDENCE",
        "CREATED",
        "TENANT",
        "CAPABILITY",
        "OBJECT",
        "PROPOSAL",
    ]);
    for b in &page.items {
        table.row(vec![
            b.evidence_bundle_id.clone(),
            b.created_at.clone(),
            b.tenant_id.clone(),
            b.capability.clone(),
            format!("{}:{}", b.business_object, b.object_id),
            b.proposal_id.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    table.print(settings);
    output::more(page.next_cursor.as_deref());
    Ok(ExitStatus::Success)
}
