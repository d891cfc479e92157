//! `airlock query-audit list`: every query a capability ran, newest first, filtered and
//! paged. Values are never stored, only the statement shape and who asked.

use airlock_cli::QueryAuditListArgs;
use airlock_ledger::RecordFilter;

use crate::listing::{self, filter};
use crate::output::{self, ExitStatus};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: &QueryAuditListArgs) -> anyhow::Result<ExitStatus> {
    let filter = RecordFilter {
        evidence: args.evidence.clone(),
        proposal: args.proposal.clone(),
        outcome: args.outcome.clone(),
        query_fingerprint: args.query_fingerprint.clone(),
        ..filter::record_filter(&args.browse, chrono::Utc::now())?
    };
    let ledger = settings.open_ledger_read_only().await?;
    let page = ledger.query_audit_page(&filter).await?;
    if args.browse.json {
        output::json(&listing::json_page("query_audit", &page)?)?;
        return Ok(ExitStatus::Success);
    }
    listing::print_page(
        settings,
        &page,
        "No query-audit records match.",
        &[
            "ID",
            "WHEN",
            "TENANT",
            "CAPABILITY",
            "OUTCOME",
            "ROWS",
            "µs",
            "OBJECT",
        ],
        |a| {
            vec![
                a.audit_id.to_string(),
                a.created_at.clone(),
                a.tenant_id.clone(),
                a.capability.clone(),
                a.outcome.clone(),
                a.row_count.to_string(),
                a.duration_us.to_string(),
                a.object_id.clone(),
            ]
        },
    )
}
