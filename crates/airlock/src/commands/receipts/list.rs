//! `airlock receipts list`: every apply outcome, newest first, filtered and paged.

use airlock_cli::ReceiptListArgs;
use airlock_ledger::RecordFilter;

use crate::listing::{self, filter};
use crate::output::{self, ExitStatus};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: &ReceiptListArgs) -> anyhow::Result<ExitStatus> {
    let filter = RecordFilter {
        proposal: args.proposal.clone(),
        outcome: args.status.clone(),
        idempotency_key: args.idempotency_key.clone(),
        writeback_job: args.writeback_job.clone(),
        ..filter::record_filter(&args.browse, chrono::Utc::now())?
    };
    let ledger = settings.open_ledger_read_only().await?;
    let page = ledger.receipt_page(&filter).await?;
    if args.browse.json {
        output::json(&listing::json_page("receipts", &page)?)?;
        return Ok(ExitStatus::Success);
    }
    listing::print_page(
        settings,
        &page,
        "No receipts match.",
        &["RECEIPT", "STATUS", "PROPOSAL", "CODE", "ROWS", "WHEN"],
        |r| {
            vec![
                format!("rct_{:06}", r.receipt_id),
                r.status.to_string(),
                r.proposal_id.clone(),
                r.receipt
                    .safe_error_code
                    .clone()
                    .unwrap_or_else(|| "-".into()),
                r.receipt.rows_affected.to_string(),
                r.created_at.clone(),
            ]
        },
    )
}
