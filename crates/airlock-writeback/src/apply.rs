//! The apply flow shared by `airlock apply` and `airlock demo`:
//! check → record the job → run the executor → record the receipt.
//!
//! Guarantees:
//! - An applied proposal is never written again: a second apply returns its original receipt.
//! - Every attempt that reached the executor leaves exactly one receipt in the ledger, whatever
//!   happened (applied, already_applied, conflict, failed).
//! - A dry run writes nothing anywhere: no job, no receipt, no state change.
//! - A failure that proves nothing was written, or whose outcome is unknown, keeps the
//!   approval: the next apply is a new attempt of the same job (same idempotency key), with no
//!   new decision. A conflict or a failure about the change itself ends the approval.

use airlock_config::{Capability, Config};
use airlock_ledger::{Actor, Ledger, LedgerError, Review, StoredProposal, StoredReceipt};
use airlock_protocol::{
    EXECUTION_RECEIPT_V1, ExecutionReceipt, ProposalState, ReceiptStatus, WritebackJob, now_rfc3339,
};
use chrono::Utc;
use serde::Serialize;

use crate::executor::{ApplyPlan, AttemptEffect, Executor, Outcome, OutcomeStatus};
use crate::job::{self, JobError};

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Job(#[from] JobError),
    #[error("proposal {proposal} is {state}; only an approved proposal can be applied")]
    NotApproved {
        proposal: String,
        state: ProposalState,
    },
    #[error("{0}")]
    Setup(String),
}

impl ApplyError {
    pub fn hint(&self) -> Option<String> {
        match self {
            ApplyError::NotApproved { proposal, .. } => Some(format!("approve it first: airlock proposals approve {proposal}")),
            ApplyError::Job(JobError::LeaseExpired { .. }) => Some("write a fresh job with `airlock proposals writeback-job`".into()),
            ApplyError::Job(_) => Some("regenerate the job with `airlock proposals writeback-job ID`, or apply with --proposal ID".into()),
            ApplyError::Ledger(e) => e.hint().map(str::to_owned),
            ApplyError::Setup(_) => None,
        }
    }
}

/// A proposal that passed every check before execution.
#[derive(Debug, Clone)]
pub struct Prepared<'a> {
    pub proposal: StoredProposal,
    pub capability: &'a Capability,
    pub job: WritebackJob,
    /// Set when the proposal was applied before: its receipt, and nothing else will happen.
    pub already_applied: Option<StoredReceipt>,
}

/// Loads the proposal, checks it against today's config, builds its job and, when a job
/// file was given, cross-checks every field of it.
pub async fn prepare<'a>(
    ledger: &dyn Ledger,
    config: &'a Config,
    proposal_id: &str,
    job_file: Option<&WritebackJob>,
    project_id: &str,
) -> Result<Prepared<'a>, ApplyError> {
    let (proposal, applied) = ledger.proposal_for_apply(proposal_id).await?;
    let capability = job::reviewed_capability(config, &proposal)?;
    let now = Utc::now();
    let expected = job::build(
        config,
        &proposal,
        project_id,
        job::MAX_LEASE_SECONDS / 12,
        now,
    )?;
    let job = match job_file {
        Some(file) => {
            job::cross_check(file, &expected, now)?;
            file.clone()
        }
        None => expected,
    };
    let already_applied = applied;
    if already_applied.is_none()
        && !matches!(
            proposal.state,
            ProposalState::Approved | ProposalState::PendingWorker
        )
    {
        return Err(ApplyError::NotApproved {
            proposal: proposal.proposal_id.clone(),
            state: proposal.state,
        });
    }
    Ok(Prepared {
        proposal,
        capability,
        job,
        already_applied,
    })
}

/// What one apply did.
#[derive(Debug, Clone, Serialize)]
pub struct ApplyReport {
    pub proposal_id: String,
    /// Never `canceled`.
    pub status: ReceiptStatus,
    pub dry_run: bool,
    pub detail: String,
    pub receipt: ExecutionReceipt,
    /// The ledger record of the receipt (absent for dry runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt_id: Option<i64>,
    /// The proposal's state afterwards.
    pub state: ProposalState,
    /// For a failure that keeps the approval: `nothing_written` or `outcome_unknown`.
    #[serde(skip_serializing_if = "AttemptEffect::is_settled")]
    pub effect: AttemptEffect,
}

impl ApplyReport {
    /// One sentence saying what happened, for people (the CLI and the review UI print it).
    pub fn headline(&self) -> String {
        match (self.dry_run, self.status) {
            (true, ReceiptStatus::Applied) => {
                "Dry run passed: the update would apply (rolled back; nothing recorded).".to_owned()
            }
            (true, other) => {
                format!("Dry run: the update would end {other} (rolled back; nothing recorded).")
            }
            (false, ReceiptStatus::Applied) => "Applied.".to_owned(),
            (false, ReceiptStatus::AlreadyApplied) => {
                "Already applied; nothing was written again.".to_owned()
            }
            (false, other) => format!("Not applied: {other}."),
        }
    }

    /// Whether the approval still stands after this attempt, so `apply` may simply run again.
    pub fn approval_stands(&self) -> bool {
        !self.dry_run
            && matches!(
                self.state,
                ProposalState::Approved | ProposalState::PendingWorker
            )
    }
}

/// Runs a prepared apply. `actor` is recorded on the job (with where the name came from) and
/// on the receipt event.
pub async fn apply(
    ledger: &dyn Review,
    executor: &dyn Executor,
    prepared: Prepared<'_>,
    actor: &Actor,
    runner_id: &str,
    dry_run: bool,
) -> Result<ApplyReport, ApplyError> {
    let mut span = crate::trace::lifecycle_span(
        airlock_telemetry::names::APPLY,
        &prepared.proposal.proposal_id,
    );
    if let Some(span) = &mut span {
        span.set("airlock.dry_run", dry_run);
        span.set(
            "airlock.executor",
            prepared.capability.executor_name().to_owned(),
        );
    }
    let parent = span.as_ref().map(|s| s.context().clone());
    let report = match parent {
        Some(parent) if parent.sampled => {
            airlock_telemetry::scope(
                parent,
                apply_untraced(ledger, executor, prepared, actor, runner_id, dry_run),
            )
            .await
        }
        _ => apply_untraced(ledger, executor, prepared, actor, runner_id, dry_run).await,
    };
    if let Some(span) = &mut span {
        match &report {
            Ok(r) => {
                span.set("airlock.receipt.status", r.status.as_str());
                span.set("airlock.proposal.state", r.state.as_str());
                if matches!(r.status, ReceiptStatus::Failed | ReceiptStatus::Conflict) {
                    span.fail(r.status.as_str(), "the apply did not write");
                }
            }
            Err(_) => span.fail("apply_error", "the apply was refused or failed"),
        }
    }
    report
}

async fn apply_untraced(
    ledger: &dyn Review,
    executor: &dyn Executor,
    prepared: Prepared<'_>,
    actor: &Actor,
    runner_id: &str,
    dry_run: bool,
) -> Result<ApplyReport, ApplyError> {
    let Prepared {
        proposal,
        capability,
        job,
        already_applied,
    } = prepared;
    if let Some(original) = already_applied {
        return Ok(already_applied_report(
            proposal.proposal_id,
            original,
            dry_run,
        ));
    }
    if dry_run {
        let plan = ApplyPlan {
            job: &job,
            change_set: &proposal.change_set,
            capability,
        };
        let outcome = executor.apply(&plan, true).await;
        let receipt = receipt(&job, &outcome, runner_id);
        return Ok(ApplyReport {
            proposal_id: proposal.proposal_id,
            status: outcome.status.receipt_status(),
            dry_run: true,
            detail: outcome.detail,
            receipt,
            receipt_id: None,
            state: proposal.state,
            effect: outcome.effect,
        });
    }
    let key = crate::review_key();
    let recorded = match ledger.begin_apply(&key, &job, actor).await {
        Ok(recorded) => recorded,
        // Another apply of this proposal finished after `prepare` read it: this one is a
        // repeat, answered with the original receipt, and writes nothing.
        Err(LedgerError::InvalidState {
            state: ProposalState::Applied,
            ..
        }) => {
            let original = ledger
                .applied_receipt(&proposal.proposal_id)
                .await?
                .ok_or_else(|| LedgerError::Corrupt {
                    what: proposal.proposal_id.clone(),
                    detail: "applied without an applied receipt".into(),
                })?;
            return Ok(already_applied_report(
                proposal.proposal_id,
                original,
                dry_run,
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let mut job = job;
    job.lease.attempt = recorded.attempt;
    let mut execute = airlock_telemetry::child(
        airlock_telemetry::names::EXECUTE,
        airlock_telemetry::SpanKind::Client,
    );
    if let Some(span) = &mut execute {
        span.set("airlock.executor", capability.executor_name().to_owned());
        span.set("airlock.attempt", i64::from(recorded.attempt));
    }
    let outcome = executor
        .apply(
            &ApplyPlan {
                job: &job,
                change_set: &proposal.change_set,
                capability,
            },
            false,
        )
        .await;
    if let Some(mut span) = execute {
        let status = outcome.status.receipt_status();
        span.set("airlock.receipt.status", status.as_str());
        if status != ReceiptStatus::Applied {
            span.fail(status.as_str(), "the executor did not write");
        }
    }
    let receipt = receipt(&job, &outcome, runner_id);
    // The ledger says which state the receipt left the proposal in: no read back.
    let recorded = ledger
        .record_receipt(&key, &receipt, outcome.effect, &actor.name)
        .await?;
    let effect = if outcome.status == OutcomeStatus::Failed {
        outcome.effect
    } else {
        AttemptEffect::Settled
    };
    Ok(ApplyReport {
        proposal_id: proposal.proposal_id,
        status: outcome.status.receipt_status(),
        dry_run: false,
        detail: outcome.detail,
        receipt,
        receipt_id: Some(recorded.receipt.receipt_id),
        state: recorded.state,
        effect,
    })
}

/// What one apply asks for, beyond the ledger and config.
#[derive(Debug, Clone, Copy)]
pub struct ApplyRequest<'r> {
    /// Proposal id or `latest`.
    pub proposal_id: &'r str,
    /// A job file to cross-check against the ledger, when one was given.
    pub job_file: Option<&'r WritebackJob>,
    /// Project recorded in the job's runner scope.
    pub project: &'r str,
    /// Runner id written on receipts.
    pub runner_id: &'r str,
    pub actor: &'r Actor,
    pub dry_run: bool,
}

/// The whole apply of one proposal: [`prepare`], build the executor its capability names
/// (credentials from `env`, paths against `base_dir`), then [`apply`]. `airlock apply` and the
/// review UI both run this.
pub async fn run(
    ledger: &dyn Review,
    config: &Config,
    env: &std::collections::HashMap<String, String>,
    base_dir: &std::path::Path,
    req: ApplyRequest<'_>,
) -> Result<ApplyReport, ApplyError> {
    let prepared = prepare(ledger, config, req.proposal_id, req.job_file, req.project).await?;
    let executor = crate::setup::executor_for(config, prepared.capability, env, base_dir)?;
    apply(
        ledger,
        executor.as_ref(),
        prepared,
        req.actor,
        req.runner_id,
        req.dry_run,
    )
    .await
}

/// The answer to applying an applied proposal again: its original receipt, nothing written.
fn already_applied_report(
    proposal_id: String,
    original: StoredReceipt,
    dry_run: bool,
) -> ApplyReport {
    ApplyReport {
        proposal_id,
        status: ReceiptStatus::AlreadyApplied,
        dry_run,
        detail: format!("already applied; original receipt #{}", original.receipt_id),
        receipt: original.receipt,
        receipt_id: Some(original.receipt_id),
        state: ProposalState::Applied,
        effect: AttemptEffect::Settled,
    }
}

/// The `synapsor.execution-receipt.v1` of an outcome, sealed.
pub fn receipt(job: &WritebackJob, o: &Outcome, runner_id: &str) -> ExecutionReceipt {
    let mut r = ExecutionReceipt {
        schema_version: EXECUTION_RECEIPT_V1.into(),
        writeback_job_id: job.writeback_job_id.clone(),
        proposal_id: job.proposal_id.clone(),
        runner_id: runner_id.into(),
        status: o.status.receipt_status(),
        rows_affected: if o.status == OutcomeStatus::Applied && !o.dry_run {
            o.rows_affected
        } else {
            0
        },
        idempotency_key: job.idempotency_key.clone(),
        previous_version: o.previous_version.clone(),
        new_version: o.new_version.clone(),
        source_database_mutated: o.source_database_mutated(),
        executed_at: now_rfc3339(),
        safe_error_code: o.code().map(str::to_owned),
        receipt_hash: String::new(),
    };
    r.seal();
    r
}
