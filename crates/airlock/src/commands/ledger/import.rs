//! `airlock ledger import`: migrate a Synapsor Runner store into Airlock's ledger in place.

use airlock_ledger::SqliteLedger;

use crate::output::{self, ExitStatus};
use crate::settings::Settings;

pub fn run(settings: &Settings, json: bool) -> anyhow::Result<ExitStatus> {
    let path = super::sqlite_file(
        settings,
        "`airlock ledger import`",
        super::IMPORT_ON_POSTGRES,
    )?;
    let report = SqliteLedger::import_original(&path)?;
    if json {
        output::json(&report)?;
    } else {
        output::line(&format!("imported {}", report.path.display()));
        output::line(&format!("  backup           {}", report.backup.display()));
        output::line(&format!("  proposals        {}", report.proposals));
        output::line(&format!("  evidence bundles {}", report.evidence_bundles));
        output::line(&format!("  query audit      {}", report.query_audit));
        output::line(&format!("  approvals        {}", report.approvals));
        output::line(&format!("  writeback jobs   {}", report.writeback_jobs));
        output::line(&format!("  receipts         {}", report.receipts));
        output::line(&format!("  events           {}", report.events));
        output::line("check it with `airlock ledger verify`");
    }
    Ok(ExitStatus::Success)
}
