//! `airlock proposals writeback-job ID|latest [--output FILE]`: the writeback-job v1 document
//! `airlock apply --job` accepts. Writes nothing to the ledger.

use airlock_cli::WritebackJobArgs;

use crate::open_ledger::{Access, OpenLedger};
use crate::output::{self, ExitStatus, hinted};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: &WritebackJobArgs) -> anyhow::Result<ExitStatus> {
    let loaded = settings.load_config_for_ledger()?;
    let ledger =
        OpenLedger::open(&settings.ledger_target(Some(&loaded))?, Access::ReadOnly).await?;
    let proposal = ledger.proposal(&args.id).await?;
    if proposal.state != airlock_protocol::ProposalState::Approved {
        return Err(hinted(
            format!(
                "proposal {} is {}; a writeback job is for an approved proposal",
                proposal.proposal_id, proposal.state
            ),
            format!(
                "approve it first: airlock proposals approve {}",
                proposal.proposal_id
            ),
        ));
    }
    airlock_writeback::job::reviewed_capability(&loaded.config, &proposal)?;
    let job = airlock_writeback::job::build(
        &loaded.config,
        &proposal,
        &args.project,
        args.lease_seconds,
        chrono::Utc::now(),
    )?;
    match &args.output {
        Some(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                fs_err::create_dir_all(dir)?;
            }
            fs_err::write(path, serde_json::to_string_pretty(&job)? + "\n")?;
            output::line(&format!(
                "wrote writeback job {} for {} to {}",
                job.writeback_job_id,
                job.proposal_id,
                path.display()
            ));
            output::line(&format!(
                "lease expires {}; next: airlock apply --job {}",
                job.lease.expires_at,
                path.display()
            ));
        }
        None => output::json(&job)?,
    }
    Ok(ExitStatus::Success)
}
