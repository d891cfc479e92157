//! `airlock evidence export ID --output FILE` (or `--evidence ID`).

use airlock_cli::ExportArgs;

use crate::output::{self, ExitStatus};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: &ExportArgs) -> anyhow::Result<ExitStatus> {
    if args.format != "json" {
        return Err(output::hinted(
            format!("evidence export writes JSON only, not {}", args.format),
            "drop --format, or use `airlock replay export ID --format markdown` for a page",
        ));
    }
    let ledger = settings.open_ledger_read_only().await?;
    let evidence = ledger.evidence(super::super::export_id(args)).await?;
    super::super::write_json_file(&args.output, &evidence)?;
    output::line(&format!(
        "wrote evidence {} to {}",
        evidence.bundle.evidence_bundle_id,
        args.output.display()
    ));
    Ok(ExitStatus::Success)
}
