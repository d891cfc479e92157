//! `airlock replay export ID --output FILE` (or `--proposal ID`): the full replay as JSON.

use airlock_cli::ExportArgs;
use airlock_ledger::Ledger;

use crate::output::{self, ExitStatus};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: &ExportArgs) -> anyhow::Result<ExitStatus> {
    let ledger = settings.open_ledger_read_only()?;
    let replay = ledger
        .replay(super::show::proposal_id(super::super::export_id(args)))
        .await?;
    super::super::write_json_file(&args.output, &replay)?;
    output::line(&format!(
        "wrote {} to {}",
        replay.replay_id,
        args.output.display()
    ));
    Ok(ExitStatus::Success)
}
