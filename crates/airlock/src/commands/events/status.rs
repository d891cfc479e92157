//! `airlock events status`: each webhook destination's delivery state, from the ledger.

use airlock_cli::EventsStatusArgs;

use crate::output::{self, ExitStatus};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: &EventsStatusArgs) -> anyhow::Result<ExitStatus> {
    let ledger = settings.open_ledger_read_only().await?;
    let states = ledger.delivery_states().await?;
    let head = ledger.chain_head().await?.map_or(0, |h| h.seq);
    if args.json {
        output::json(&serde_json::json!({ "head_seq": head, "destinations": states }))?;
        return Ok(ExitStatus::Success);
    }
    if states.is_empty() {
        output::line("No webhook destinations yet (`airlock events webhook` registers one).");
        return Ok(ExitStatus::Success);
    }
    for s in &states {
        output::line(&format!(
            "{} → {}: cursor #{} of #{head}, {} delivered{}",
            s.destination,
            s.target,
            s.cursor_seq,
            s.delivered,
            s.last_delivered_at
                .as_deref()
                .map(|t| format!(" (last {t})"))
                .unwrap_or_default()
        ));
        if let Some(seq) = s.pending_seq {
            output::line(&format!(
                "  retrying event #{seq}: {} failed attempt(s), next at {}; last error: {}",
                s.attempts,
                s.next_attempt_at.as_deref().unwrap_or("-"),
                s.last_error.as_deref().unwrap_or("-")
            ));
        }
    }
    Ok(ExitStatus::Success)
}
