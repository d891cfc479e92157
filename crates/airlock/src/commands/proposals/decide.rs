//! What approve and reject share: show the proposal, check the operator, confirm, record.

use airlock_cli::DecisionArgs;
use airlock_ledger::{ApprovalPolicy, Decision, Ledger};
use airlock_writeback::approval;

use crate::commands::proposals::show::print_detail;
use crate::output::{self, ExitStatus, hinted};
use crate::settings::Settings;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Approve,
    Reject,
}

pub async fn run(
    settings: &Settings,
    args: &DecisionArgs,
    verdict: Verdict,
) -> anyhow::Result<ExitStatus> {
    let reason = args.reason.clone().filter(|r| !r.trim().is_empty());
    if verdict == Verdict::Reject && reason.is_none() {
        return Err(hinted(
            "a rejection needs a reason",
            "pass --reason \"why\"",
        ));
    }
    let loaded = settings.load_config_for_ledger()?;
    let ledger = settings.open_ledger(&loaded)?;
    let actor = settings.actor(args.actor.as_deref());
    let proposal = ledger.proposal(&args.id).await?;
    let events = ledger.proposal_events(&proposal.proposal_id).await?;
    if !args.json {
        print_detail(&proposal, &events);
        output::line("");
    }
    let policy = ApprovalPolicy::recorded(&events);
    let authorized = match approval::authorize(&loaded.config, &proposal, policy, &actor.name) {
        Ok(authorized) => authorized,
        // Withdrawing your own proposal is allowed; only approval needs a second person.
        Err(
            approval::ApprovalError::SelfApproval { .. }
            | approval::ApprovalError::SelfApprovalLocked { .. },
        ) if verdict == Verdict::Reject => approval::Authorized {
            role: None,
            role_verified: None,
            warning: None,
        },
        Err(e) => return Err(hinted(e.to_string(), e.hint())),
    };
    if let (Some(warning), Verdict::Approve) = (&authorized.warning, verdict) {
        output::warn(warning);
    }
    let actor_name = actor.name.clone();
    let role = authorized.role.clone();
    let (verb, question) = match verdict {
        Verdict::Approve => (
            "approved",
            format!(
                "Approve proposal {} for guarded writeback as {actor_name}?",
                proposal.proposal_id
            ),
        ),
        Verdict::Reject => (
            "rejected",
            format!("Reject proposal {} as {actor_name}?", proposal.proposal_id),
        ),
    };
    if !args.yes && !output::confirm(&question)? {
        return Err(hinted(
            "not confirmed; nothing was recorded",
            "answer yes, or pass --yes",
        ));
    }
    let decision = Decision {
        proposal_id: proposal.proposal_id.clone(),
        actor: actor.clone(),
        role: role.clone(),
        role_verified: authorized.role_verified,
        reason,
        // The exact content shown above; a proposal that changed since is refused.
        proposal_hash: proposal.proposal_hash.clone(),
    };
    let updated = match verdict {
        Verdict::Approve => ledger.approve(decision).await?,
        Verdict::Reject => ledger.reject(decision).await?,
    };
    if args.json {
        output::json(&serde_json::json!({
            "proposal": updated,
            "actor": actor.name,
            "actor_source": actor.source,
            "role": role,
            "role_verified": authorized.role_verified,
        }))?;
    } else {
        let role = match (role, authorized.role_verified) {
            (Some(r), Some(false)) => format!(" (role {r} not verified)"),
            (Some(r), _) => format!(" (role {r})"),
            (None, _) => String::new(),
        };
        output::line(&format!(
            "{verb} {} by {actor_name}{role}",
            updated.proposal_id
        ));
        if verdict == Verdict::Approve {
            output::line(&format!(
                "next: airlock apply {} --dry-run, then airlock apply {}",
                updated.proposal_id, updated.proposal_id
            ));
        }
    }
    Ok(ExitStatus::Success)
}
