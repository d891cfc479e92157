//! `airlock apply ID|latest` / `--proposal ID` / `--job FILE`: apply an approved proposal with
//! its executor. Exit 0 when applied or already applied, 1 on conflict or failure.

use airlock_cli::ApplyArgs;
use airlock_protocol::WritebackJob;
use airlock_writeback::AttemptEffect;
use airlock_writeback::apply::{self, ApplyError};

use crate::output::{self, ExitStatus, hinted};
use crate::settings::Settings;

/// Largest job file read by `--job`.
const MAX_JOB_FILE_BYTES: u64 = 1024 * 1024;
const JOB_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

pub async fn run(settings: &Settings, args: &ApplyArgs) -> anyhow::Result<ExitStatus> {
    let loaded = settings.load_config_for_ledger()?;
    let job_file: Option<WritebackJob> = match &args.job {
        Some(path) => {
            // A job file is a few kilobytes; a wrong path (a device, a pipe) must not hang.
            let bytes = airlock_config::read_bounded(path, MAX_JOB_FILE_BYTES, JOB_READ_TIMEOUT)
                .map_err(|e| {
                    hinted(
                        format!("cannot read the job file {}: {e}", path.display()),
                        "pass the file written by `airlock proposals writeback-job ID --output FILE`",
                    )
                })?;
            Some(serde_json::from_slice(&bytes).map_err(|e| {
                hinted(
                    format!(
                        "{} is not a valid writeback-job v1 document: {e}",
                        path.display()
                    ),
                    "regenerate it with `airlock proposals writeback-job ID --output FILE`",
                )
            })?)
        }
        None => None,
    };
    let id = match (&args.id, &args.proposal, &job_file) {
        (Some(id), _, _) | (None, Some(id), _) => id.clone(),
        (None, None, Some(job)) => job.proposal_id.clone(),
        (None, None, None) => {
            return Err(hinted(
                "nothing to apply",
                "pass a proposal id (or `latest`), --proposal ID, or --job FILE",
            ));
        }
    };
    let actor = settings.actor(args.actor.as_deref());
    let ledger = settings.open_ledger(&loaded).await?;
    let report = apply::run(
        &*ledger,
        &loaded.config,
        &settings.env,
        &loaded.dir(&settings.cwd),
        apply::ApplyRequest {
            proposal_id: &id,
            job_file: job_file.as_ref(),
            project: &args.project,
            runner_id: &args.runner,
            actor: &actor,
            dry_run: args.dry_run,
        },
    )
    .await
    .map_err(explain)?;
    if args.json {
        output::json(&report)?;
    } else {
        let r = &report.receipt;
        output::line(&report.headline());
        output::line(&format!(
            "Proposal: {} (now {})",
            report.proposal_id, report.state
        ));
        output::line(&format!("Detail:   {}", report.detail));
        if let Some(code) = &r.safe_error_code {
            output::line(&format!("Code:     {code}"));
        }
        output::line(&format!(
            "Rows:     {}    Source database changed: {}",
            r.rows_affected,
            if r.source_database_mutated {
                "yes"
            } else {
                "no"
            }
        ));
        if let (Some(before), Some(after)) = (&r.previous_version, &r.new_version) {
            output::line(&format!("Version:  {before} -> {after}"));
        }
        if let Some(id) = report.receipt_id {
            output::line(&format!("Receipt:  rct_{id:06}  ({})", r.receipt_hash));
        }
        if report.approval_stands() {
            let why = match report.effect {
                AttemptEffect::OutcomeUnknown => {
                    "the outcome is unknown; the retry sends the same idempotency key, which tells whether the write already happened"
                }
                _ => "nothing was written",
            };
            output::line(&format!(
                "Retry:    the approval stands ({why}); run `airlock apply {}` again",
                report.proposal_id
            ));
        }
        output::line(&format!(
            "Replay:   airlock replay show {}",
            report.proposal_id
        ));
    }
    Ok(if report.status.is_applied() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

fn explain(e: ApplyError) -> anyhow::Error {
    match e.hint() {
        Some(h) => hinted(e.to_string(), h),
        None => anyhow::Error::new(e),
    }
}
