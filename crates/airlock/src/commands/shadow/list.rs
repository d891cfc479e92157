//! `airlock shadow list`: shadow-mode proposals, newest first.

use airlock_cli::ShadowListArgs;
use airlock_ledger::RecordFilter;
use serde_json::json;

use crate::output::{self, ExitStatus};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: &ShadowListArgs) -> anyhow::Result<ExitStatus> {
    let ledger = settings.open_ledger_read_only().await?;
    let list =
        super::shadow_proposals(&*ledger, &RecordFilter::default(), args.limit as usize).await?;
    if args.json {
        output::json(&json!({ "proposals": list }))?;
        return Ok(ExitStatus::Success);
    }
    if list.is_empty() {
        output::line("No shadow proposals found.");
        return Ok(ExitStatus::Success);
    }
    for p in &list {
        output::line(&format!(
            "{}  {}  {}  {}",
            p.created_at, p.proposal_id, p.state, p.action
        ));
        output::line(&format!("  object: {}:{}", p.business_object, p.object_id));
        output::line(&format!(
            "  tenant: {}  patch: {}",
            p.tenant_id,
            p.change_set
                .patch
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(ExitStatus::Success)
}
