//! `airlock ledger verify`: walk the hash chain; exit 1 at the first broken link.

use airlock_ledger::Ledger;

use crate::output::{self, ExitStatus};
use crate::settings::Settings;

pub async fn run(settings: &Settings, json: bool) -> anyhow::Result<ExitStatus> {
    let ledger = settings.open_ledger_read_only()?;
    let report = ledger.verify().await?;
    if json {
        output::json(&report)?;
    } else if let Some(b) = &report.first_break {
        output::line(&format!("ledger BROKEN: {}", ledger.path().display()));
        output::line(&format!(
            "  first break at event #{}: {} — {}",
            b.seq, b.code, b.detail
        ));
        output::line(&format!(
            "  checked {} events before it",
            report.events_checked.saturating_sub(1)
        ));
    } else {
        output::line(&format!("ledger ok: {}", ledger.path().display()));
        output::line(&format!(
            "  {} events and {} records verified",
            report.events_checked, report.records_checked
        ));
    }
    Ok(if report.ok {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}
