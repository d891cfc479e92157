//! `airlock ledger vacuum` (and `store vacuum`): give free pages back to the file system.

use crate::output::{self, ExitStatus};
use crate::settings::Settings;

use super::human_bytes;

pub fn run(settings: &Settings, json: bool) -> anyhow::Result<ExitStatus> {
    let ledger = super::open_existing(
        settings,
        "`airlock ledger vacuum`",
        super::VACUUM_ON_POSTGRES,
    )?;
    let report = ledger.vacuum()?;
    if json {
        output::json(&serde_json::json!({"path": ledger.path(), "vacuum": report}))?;
        return Ok(ExitStatus::Success);
    }
    output::line(&format!("vacuumed ledger {}", ledger.path().display()));
    output::line(&format!(
        "  size: {} -> {} ({} ms)",
        human_bytes(report.bytes_before),
        human_bytes(report.bytes_after),
        report.elapsed_ms
    ));
    Ok(ExitStatus::Success)
}
