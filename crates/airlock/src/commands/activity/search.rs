//! `airlock activity search [TEXT]`: every record kind at once, newest first, with where the
//! text was found and the replay each record belongs to.

use airlock_cli::ActivitySearchArgs;
use airlock_ledger::{Ledger, RecordFilter};

use crate::listing::{filter, table::Table};
use crate::output::{self, ExitStatus};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: &ActivitySearchArgs) -> anyhow::Result<ExitStatus> {
    let text = args.text.as_deref().map(filter::search_text).transpose()?;
    let filter = RecordFilter {
        proposal: args.proposal.clone(),
        evidence: args.evidence.clone(),
        outcome: args.outcome.clone(),
        ..filter::record_filter(&args.browse, chrono::Utc::now())?
    };
    let ledger = settings.open_ledger_read_only()?;
    let page = ledger.search(text.as_ref(), &filter).await?;
    if args.browse.json {
        output::json(&serde_json::json!({
            "text": args.text,
            "interactions": page.items,
            "next_cursor": page.next_cursor,
        }))?;
        return Ok(ExitStatus::Success);
    }
    if page.items.is_empty() {
        output::line("Nothing matches.");
        return Ok(ExitStatus::Success);
    }
    let mut table = Table::new(&["KIND", "ID", "WHEN", "TENANT", "REPLAY", "MATCHED", "TEXT"]);
    for h in &page.items {
        table.row(vec![
            h.kind.as_str().to_owned(),
            h.id.clone(),
            h.created_at.clone(),
            h.tenant_id.clone().unwrap_or_else(|| "-".into()),
            h.replay_id.clone().unwrap_or_else(|| "-".into()),
            if h.matched.is_empty() {
                "-".into()
            } else {
                h.matched.join(",")
            },
            h.snippet.clone().unwrap_or_default(),
        ]);
    }
    table.print(settings);
    output::more(page.next_cursor.as_deref());
    output::line("Show the story of one: airlock replay show REPLAY");
    Ok(ExitStatus::Success)
}
