//! `airlock activity search [TEXT]`: every record kind at once, newest first, with where the
//! text was found and the replay each record belongs to.

use airlock_cli::ActivitySearchArgs;
use airlock_ledger::RecordFilter;

use crate::listing::{self, filter};
use crate::output::{self, ExitStatus};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: &ActivitySearchArgs) -> anyhow::Result<ExitStatus> {
    let text = args.text.as_deref().map(filter::search_text).transpose()?;
    let filter = RecordFilter {
        proposal: args.proposal.clone(),
        evidence: args.evidence.clone(),
        outcome: args.outcome.clone(),
        replay: args.replay.clone(),
        receipt: args
            .receipt
            .as_deref()
            .map(filter::receipt_number)
            .transpose()?,
        query_fingerprint: args.query_fingerprint.clone(),
        ..filter::record_filter(&args.browse, chrono::Utc::now())?
    };
    let ledger = settings.open_ledger_read_only().await?;
    let page = ledger.search(text.as_ref(), &filter).await?;
    if args.browse.json {
        // The listing shape, with the text searched for first.
        let out = serde_json::json!({
            "text": args.text,
            "interactions": page.items,
            "next_cursor": page.next_cursor,
        });
        output::json(&out)?;
        return Ok(ExitStatus::Success);
    }
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let status = listing::print_page(
        settings,
        &page,
        "Nothing matches.",
        &["KIND", "ID", "WHEN", "TENANT", "REPLAY", "MATCHED", "TEXT"],
        |h| {
            vec![
                h.kind.as_str().to_owned(),
                h.id.clone(),
                h.created_at.clone(),
                dash(&h.tenant_id),
                dash(&h.replay_id),
                if h.matched.is_empty() {
                    "-".into()
                } else {
                    h.matched.join(",")
                },
                h.snippet.clone().unwrap_or_default(),
            ]
        },
    )?;
    if !page.items.is_empty() {
        output::line("Show the story of one: airlock replay show REPLAY");
    }
    Ok(status)
}
