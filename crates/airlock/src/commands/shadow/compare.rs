//! `airlock shadow compare`: one shadow proposal against the latest human action for it.

use airlock_cli::ShadowCompareArgs;
use airlock_ledger::HumanActionFilter;
use airlock_ledger::shadow::{self, ShadowComparison};
use serde_json::Value;

use crate::output::{self, ExitStatus};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: &ShadowCompareArgs) -> anyhow::Result<ExitStatus> {
    let ledger = settings.open_ledger_read_only().await?;
    let p = super::shadow_proposal(&*ledger, &args.proposal).await?;
    let actions = ledger
        .human_actions(&HumanActionFilter {
            capability: None,
            tenant: Some(p.tenant_id.clone()),
        })
        .await?;
    let c = shadow::compare(&p, shadow::latest_for(&p, &actions));
    if args.json {
        output::json(&c)?;
    } else {
        print(&c);
    }
    Ok(ExitStatus::Success)
}

/// The text block of one comparison (also used by `shadow report`).
pub fn print(c: &ShadowComparison) {
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_owned()
        } else {
            v.join(", ")
        }
    };
    output::line(&format!("shadow comparison: {}", c.proposal_id));
    output::line(&format!(
        "  {} for {} (tenant {})",
        c.capability, c.object_id, c.tenant_id
    ));
    output::line(&format!("  status: {}", c.status.as_str()));
    output::line(&format!(
        "  matching columns: {}",
        list(&c.matching_columns)
    ));
    output::line(&format!(
        "  differing columns: {}",
        list(&c.differing_columns)
    ));
    for col in &c.differing_columns {
        let human = c.human_patch.as_ref().and_then(|h| h.get(col));
        output::line(&format!(
            "    {col}: agent {} / human {}",
            shown(c.agent_patch.get(col)),
            shown(human)
        ));
    }
    output::line(&format!(
        "  missing from human action: {}",
        list(&c.missing_from_human)
    ));
    output::line(&format!(
        "  extra human columns: {}",
        list(&c.extra_human_columns)
    ));
    if let Some(n) = &c.notes {
        output::line(&format!("  notes: {n}"));
    }
}

fn shown(v: Option<&Value>) -> String {
    v.map_or_else(|| "(unchanged)".to_owned(), Value::to_string)
}
