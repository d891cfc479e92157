//! `airlock replay list`: one replay per proposal, newest first (a replay is built from the
//! ledger on read, so this lists proposals under their replay ids). Filters and pages like
//! `proposals list`.

use airlock_cli::ProposalListArgs;
use airlock_ledger::Page;
use serde_json::json;

use crate::listing;
use crate::output::{self, ExitStatus};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: &ProposalListArgs) -> anyhow::Result<ExitStatus> {
    let filter = crate::commands::proposals::list::proposal_filter(args)?;
    let ledger = settings.open_ledger_read_only().await?;
    let page = ledger.proposal_page(&filter).await?;
    if args.browse.json {
        let rows = Page {
            items: page
                .items
                .iter()
                .map(|p| {
                    json!({
                        "replay_id": airlock_protocol::ids::replay_id(&p.proposal_id),
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
                .collect(),
            next_cursor: page.next_cursor,
        };
        output::json(&listing::json_page("replays", &rows)?)?;
        return Ok(ExitStatus::Success);
    }
    let status = listing::print_page(
        settings,
        &page,
        "No replays match.",
        &["REPLAY", "CREATED", "STATE", "TENANT", "CAPABILITY"],
        |p| {
            vec![
                airlock_protocol::ids::replay_id(&p.proposal_id),
                p.created_at.clone(),
                p.state.to_string(),
                p.tenant_id.clone(),
                p.action.clone(),
            ]
        },
    )?;
    if !page.items.is_empty() {
        output::line("Show one: airlock replay show ID");
    }
    Ok(status)
}
