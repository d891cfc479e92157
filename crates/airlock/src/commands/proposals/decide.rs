//! What approve and reject share: show the proposal, check the operator, confirm, record.

use airlock_cli::DecisionArgs;
use airlock_ledger::ApprovalPolicy;
pub use airlock_writeback::approval::Verdict;
use airlock_writeback::approval::{self, DecideError};

use crate::commands::proposals::show::print_detail;
use crate::output::{self, ExitStatus, hinted};
use crate::settings::Settings;

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
    let ledger = settings.open_ledger(&loaded).await?;
    let actor = settings.actor(args.actor.as_deref());
    let proposal = ledger.proposal(&args.id).await?;
    let events = ledger.proposal_events(&proposal.proposal_id).await?;
    if !args.json {
        print_detail(&proposal, &events);
        output::line("");
    }
    // Refuse an operator before asking them to confirm; `decide` checks again as it records.
    let policy = ApprovalPolicy::recorded(&events);
    let authorized = approval::check(&loaded.config, &proposal, policy, &actor.name, verdict)
        .map_err(|e| hinted(e.to_string(), e.hint()))?;
    if let (Some(warning), Verdict::Approve) = (&authorized.warning, verdict) {
        output::warn(warning);
    }
    let actor_name = actor.name.clone();
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
    let decided = approval::decide(&*ledger, &loaded.config, &proposal, &actor, verdict, reason)
        .await
        .map_err(|e| match e {
            DecideError::Refused(e) => hinted(e.to_string(), e.hint()),
            DecideError::Ledger(e) => e.into(),
        })?;
    let (updated, authorized) = (decided.proposal, decided.authorized);
    let role = authorized.role.clone();
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
