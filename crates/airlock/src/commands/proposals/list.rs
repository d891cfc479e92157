//! `airlock proposals list`: newest first, filtered and paged (docs/ledger-operations.md).

use airlock_cli::ProposalListArgs;
use airlock_ledger::RecordFilter;

use crate::listing::{self, filter};
use crate::output::{self, ExitStatus};
use crate::settings::Settings;

/// The filter of `proposals list` and `replay list`.
pub fn proposal_filter(args: &ProposalListArgs) -> anyhow::Result<RecordFilter> {
    Ok(RecordFilter {
        outcome: args.state.clone(),
        proposal: args.proposal.clone(),
        evidence: args.evidence.clone(),
        replay: args.replay.clone(),
        receipt: args
            .receipt
            .as_deref()
            .map(filter::receipt_number)
            .transpose()?,
        ..filter::record_filter(&args.browse, chrono::Utc::now())?
    })
}

pub async fn run(settings: &Settings, args: &ProposalListArgs) -> anyhow::Result<ExitStatus> {
    let filter = proposal_filter(args)?;
    let ledger = settings.open_ledger_read_only().await?;
    let page = ledger.proposal_page(&filter).await?;
    if args.browse.json {
        output::json(&listing::json_page("proposals", &page)?)?;
        return Ok(ExitStatus::Success);
    }
    listing::print_page(
        settings,
        &page,
        "No proposals match.",
        &[
            "PROPOSAL",
            "CREATED",
            "STATE",
            "TENANT",
            "CAPABILITY",
            "OBJECT",
        ],
        |p| {
            vec![
                p.proposal_id.clone(),
                p.created_at.clone(),
                p.state.to_string(),
                p.tenant_id.clone(),
                p.action.clone(),
                format!("{}:{}", p.business_object, p.object_id),
            ]
        },
    )
}
