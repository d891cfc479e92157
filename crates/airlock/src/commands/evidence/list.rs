//! `airlock evidence list`: what reads returned, newest first, filtered and paged.

use airlock_cli::EvidenceListArgs;
use airlock_ledger::RecordFilter;

use crate::listing::{self, filter};
use crate::output::{self, ExitStatus};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: &EvidenceListArgs) -> anyhow::Result<ExitStatus> {
    let filter = RecordFilter {
        proposal: args.proposal.clone(),
        query_fingerprint: args.query_fingerprint.clone(),
        ..filter::record_filter(&args.browse, chrono::Utc::now())?
    };
    let ledger = settings.open_ledger_read_only().await?;
    let page = ledger.evidence_page(&filter).await?;
    if args.browse.json {
        output::json(&listing::json_page("evidence", &page)?)?;
        return Ok(ExitStatus::Success);
    }
    listing::print_page(
        settings,
        &page,
        "No evidence bundles match.",
        &[
            "EVIDENCE",
            "CREATED",
            "TENANT",
            "CAPABILITY",
            "OBJECT",
            "PROPOSAL",
        ],
        |b| {
            vec![
                b.evidence_bundle_id.clone(),
                b.created_at.clone(),
                b.tenant_id.clone(),
                b.capability.clone(),
                format!("{}:{}", b.business_object, b.object_id),
                b.proposal_id.clone().unwrap_or_else(|| "-".into()),
            ]
        },
    )
}
