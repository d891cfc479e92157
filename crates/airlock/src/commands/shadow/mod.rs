//! `airlock shadow`: what people actually did, beside what the agent proposed in shadow mode
//! (`airlock_ledger::shadow` compares them).

pub mod compare;
pub mod list;
pub mod record_human_action;
pub mod report;

use airlock_ledger::{Ledger, MAX_PAGE, RecordFilter, StoredProposal};

use crate::output::hinted;

/// The ledger's shadow proposals (made under `mode: shadow`), newest first, up to `limit`.
pub async fn shadow_proposals(
    ledger: &dyn Ledger,
    filter: &RecordFilter,
    limit: usize,
) -> anyhow::Result<Vec<StoredProposal>> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = ledger
            .proposal_page(&RecordFilter {
                limit: MAX_PAGE,
                cursor,
                ..filter.clone()
            })
            .await?;
        out.extend(
            page.items
                .into_iter()
                .filter(|p| p.change_set.mode == "shadow"),
        );
        cursor = page.next_cursor;
        if out.len() >= limit || cursor.is_none() {
            out.truncate(limit);
            return Ok(out);
        }
    }
}

/// One shadow proposal by id (or `latest`: the newest shadow proposal).
pub async fn shadow_proposal(ledger: &dyn Ledger, id: &str) -> anyhow::Result<StoredProposal> {
    let p = if id == "latest" {
        shadow_proposals(ledger, &RecordFilter::default(), 1)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| {
                hinted(
                    "[SHADOW_NO_PROPOSALS] the ledger holds no shadow proposal",
                    "serve a config with \"mode\": \"shadow\" and let the agent call a proposal tool (or `airlock propose`)",
                )
            })?
    } else {
        ledger.proposal(id).await?
    };
    if p.change_set.mode != "shadow" {
        return Err(hinted(
            format!(
                "[SHADOW_NOT_SHADOW_PROPOSAL] proposal {} was made in {} mode, not shadow mode",
                p.proposal_id, p.change_set.mode
            ),
            "compare shadow proposals only (`airlock shadow list`); for any other object record the action with --capability, --tenant and --object-id",
        ));
    }
    Ok(p)
}
