//! `airlock ledger stats`: row counts.

use airlock_ledger::Ledger;

use crate::output::{self, ExitStatus};
use crate::settings::Settings;

pub async fn run(settings: &Settings, json: bool) -> anyhow::Result<ExitStatus> {
    let ledger = settings.open_ledger_read_only()?;
    let stats = ledger.stats().await?;
    if json {
        output::json(&serde_json::json!({"path": ledger.path(), "stats": stats}))?;
    } else {
        output::line(&format!("ledger: {}", ledger.path().display()));
        output::line(&format!("  proposals        {}", stats.proposals));
        output::line(&format!("  evidence bundles {}", stats.evidence_bundles));
        output::line(&format!("  query audit      {}", stats.query_audit));
        output::line(&format!("  events           {}", stats.events));
    }
    Ok(ExitStatus::Success)
}
