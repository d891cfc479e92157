//! `airlock ledger backup PATH`: an online, consistent copy of the ledger.

use airlock_cli::BackupArgs;
use airlock_ledger::SqliteLedger;

use crate::output::{self, ExitStatus};
use crate::settings::{Settings, absolute};

use super::human_bytes;

pub async fn run(settings: &Settings, args: &BackupArgs) -> anyhow::Result<ExitStatus> {
    let path = super::sqlite_file(
        settings,
        "`airlock ledger backup`",
        super::BACKUP_ON_POSTGRES,
    )?;
    let ledger = SqliteLedger::open_read_only(&path)?;
    let dest = absolute(&settings.cwd, &args.path);
    if dest == ledger.path() {
        return Err(output::hinted(
            "the backup would overwrite the ledger itself",
            "name a new file, e.g. ledger-$(date +%F).db",
        ));
    }
    let report = ledger.backup(&dest)?;
    if args.json {
        output::json(&report)?;
        return Ok(ExitStatus::Success);
    }
    output::line(&format!(
        "backed up {} to {} ({}, {} ms)",
        ledger.path().display(),
        report.path,
        human_bytes(report.bytes),
        report.elapsed_ms
    ));
    match &report.head {
        Some(h) => output::line(&format!("  chain head in the copy: #{} {}", h.seq, h.hash)),
        None => output::line("  the ledger was empty"),
    }
    if let Some(anchor) = &report.anchor {
        output::line(&format!("  anchor lines it covers: {anchor}"));
    }
    output::line(&format!(
        "  check it anywhere with: airlock --store {} ledger verify",
        report.path
    ));
    Ok(ExitStatus::Success)
}
