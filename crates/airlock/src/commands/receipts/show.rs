//! `airlock receipts show ID`.

use airlock_cli::ReceiptShowArgs;

use crate::output::{self, ExitStatus, hinted};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: &ReceiptShowArgs) -> anyhow::Result<ExitStatus> {
    let id: i64 = args.id.trim_start_matches("rct_").parse().map_err(|_| {
        hinted(
            format!("`{}` is not a receipt number", args.id),
            "use the number from `airlock receipts list`, e.g. rct_000003 or 3",
        )
    })?;
    let ledger = settings.open_ledger_read_only().await?;
    let r = ledger.receipt(id).await?;
    if args.json {
        output::json(&r)?;
    } else {
        output::line(&format!("Receipt rct_{:06}: {}", r.receipt_id, r.status));
        output::line(&serde_json::to_string_pretty(&r.receipt)?);
        output::line(&format!(
            "hash valid: {}",
            if r.receipt.hash_is_valid() {
                "yes"
            } else {
                "NO"
            }
        ));
    }
    Ok(ExitStatus::Success)
}
