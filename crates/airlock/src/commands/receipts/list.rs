//! `airlock receipts list`: every apply outcome, newest first.

use airlock_cli::ReceiptListArgs;
use airlock_ledger::{Ledger, ReceiptFilter};

use crate::output::{self, ExitStatus};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: &ReceiptListArgs) -> anyhow::Result<ExitStatus> {
    let ledger = settings.open_ledger_read_only()?;
    let receipts = ledger
        .receipts(&ReceiptFilter {
            proposal: args.proposal.clone(),
            status: args.status.clone(),
            limit: args.limit,
        })
        .await?;
    if args.json {
        output::json(&serde_json::json!({ "receipts": receipts }))?;
        return Ok(ExitStatus::Success);
    }
    if receipts.is_empty() {
        output::line("No receipts match.");
        return Ok(ExitStatus::Success);
    }
    output::line(&format!(
        "{:<11} {:<16} {:<26} {:<22} {:>4}  {}",
        "RECEIPT", "STATUS", "PROPOSAL", "CODE", "ROWS", "WHEN"
    ));
    for r in &receipts {
        output::line(&format!(
            "rct_{:06} {:<16} {:<26} {:<22} {:>4}  {}",
            r.receipt_id,
            r.status,
            r.proposal_id,
            r.receipt.safe_error_code.as_deref().unwrap_or("-"),
            r.receipt.rows_affected,
            r.created_at
        ));
    }
    Ok(ExitStatus::Success)
}
