//! `airlock replay list`: one replay per proposal, newest first (a replay is built from the
//! ledger on read, so this lists proposals under their replay ids).

use airlock_cli::ProposalListArgs;
use airlock_ledger::{Ledger, ProposalFilter};
use serde_json::json;

use crate::output::{self, ExitStatus};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: &ProposalListArgs) -> anyhow::Result<ExitStatus> {
    let ledger = settings.open_ledger_read_only()?;
    let proposals = ledger
        .proposals(&ProposalFilter {
            tenant: args.tenant.clone(),
            state: args.state.clone(),
            capability: args.capability.clone(),
            limit: args.limit,
            ..ProposalFilter::default()
        })
        .await?;
    let rows: Vec<_> = proposals
        .iter()
        .map(|p| {
            json!({
                "replay_id": format!("replay_{}", p.proposal_id),
                "proposal_id": p.proposal_id,
                "created_at": p.created_at,
                "state": p.state,
                "tenant_id": p.tenant_id,
                "principal": p.principal,
                "capability": p.action,
                "business_object": p.business_object,
                "object_id": p.object_id,
            })
        })
        .collect();
    if args.json {
        output::json(&json!({ "replays": rows }))?;
        return Ok(ExitStatus::Success);
    }
    if proposals.is_empty() {
        output::line("No replays match.");
        return Ok(ExitStatus::Success);
    }
    output::line(&format!(
        "{:<33} {:<16} {:<12} {}",
        "REPLAY", "STATE", "TENANT", "CAPABILITY"
    ));
    for p in &proposals {
        output::line(&format!(
            "replay_{:<26} {:<16} {:<12} {}",
            p.proposal_id, p.state, p.tenant_id, p.action
        ));
    }
    output::line("Show one: airlock replay show ID");
    Ok(ExitStatus::Success)
}
