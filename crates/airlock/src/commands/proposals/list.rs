//! `airlock proposals list`: newest first, filterable.

use airlock_cli::ProposalListArgs;
use airlock_ledger::{Ledger, ProposalFilter};

use crate::output::{self, ExitStatus};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: &ProposalListArgs) -> anyhow::Result<ExitStatus> {
    let ledger = settings.open_ledger_read_only()?;
    let filter = ProposalFilter {
        tenant: args.tenant.clone(),
        state: args.state.clone(),
        capability: args.capability.clone(),
        limit: args.limit,
        ..ProposalFilter::default()
    };
    let proposals = ledger.proposals(&filter).await?;
    if args.json {
        output::json(&serde_json::json!({ "proposals": proposals }))?;
        return Ok(ExitStatus::Success);
    }
    if proposals.is_empty() {
        output::line("No proposals match.");
        return Ok(ExitStatus::Success);
    }
    output::line(&format!(
        "{:<26} {:<16} {:<12} {:<34} {}",
        "PROPOSAL", "STATE", "TENANT", "CAPABILITY", "OBJECT"
    ));
    for p in &proposals {
        output::line(&format!(
            "{:<26} {:<16} {:<12} {:<34} {}:{}",
            p.proposal_id, p.state, p.tenant_id, p.action, p.business_object, p.object_id
        ));
    }
    Ok(ExitStatus::Success)
}
