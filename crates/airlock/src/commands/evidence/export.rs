//! `airlock evidence export ID --output FILE` (or `--evidence ID`).

use airlock_cli::ExportArgs;
use airlock_ledger::Ledger;

use crate::output::{self, ExitStatus};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: &ExportArgs) -> anyhow::Result<ExitStatus> {
    let ledger = settings.open_ledger_read_only()?;
    let evidence = ledger.evidence(super::super::export_id(args)).await?;
    super::super::write_json_file(&args.output, &evidence)?;
    output::line(&format!(
        "wrote evidence {} to {}",
        evidence.bundle.evidence_bundle_id,
        args.output.display()
    ));
    Ok(ExitStatus::Success)
}
