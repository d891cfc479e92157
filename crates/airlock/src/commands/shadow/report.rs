//! `airlock shadow report`: how often the agent's shadow proposals matched what people did.

use airlock_cli::ShadowReportArgs;
use airlock_ledger::shadow::{self, ShadowReport, Tally};
use airlock_ledger::{HumanActionFilter, RecordFilter};
use serde_json::Value;

use crate::output::{self, ExitStatus};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: &ShadowReportArgs) -> anyhow::Result<ExitStatus> {
    let ledger = settings.open_ledger_read_only().await?;
    let proposals = super::shadow_proposals(
        &*ledger,
        &RecordFilter {
            tenant: args.tenant.clone(),
            capability: args.capability.clone(),
            ..RecordFilter::default()
        },
        usize::MAX,
    )
    .await?;
    let actions = ledger
        .human_actions(&HumanActionFilter {
            capability: None,
            tenant: args.tenant.clone(),
        })
        .await?;
    // Actions for other capabilities stay in (one may name a proposal of this capability);
    // the count of unanswered ones is over those the filter keeps.
    let mut report = shadow::report(&proposals, &actions, args.examples);
    if let Some(cap) = &args.capability {
        let answered: std::collections::HashSet<i64> = report
            .comparisons
            .iter()
            .filter_map(|c| c.human_action_id)
            .collect();
        report.unanswered_human_actions = actions
            .iter()
            .filter(|a| a.capability == *cap && !answered.contains(&a.action_id))
            .count() as u64;
    }
    match (args.json, args.format.as_str()) {
        (true, _) | (_, "json") => output::json(&report)?,
        (_, "markdown") => output::line(&markdown(&report)),
        _ => text(&report),
    }
    Ok(ExitStatus::Success)
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "n/a".to_owned(), |r| format!("{:.0}%", r * 100.0))
}

fn tally_line(t: &Tally) -> String {
    format!(
        "{} shadow proposals, {} with a human action: {} exact, {} partial, {} mismatched ({} exact); {} awaiting a human action",
        t.shadow_proposals,
        t.with_human_action,
        t.exact_matches,
        t.partial_matches,
        t.mismatches,
        percent(t.exact_match_rate),
        t.no_human_action
    )
}

fn value(v: Option<&Value>) -> String {
    v.map_or_else(|| "(unchanged)".to_owned(), Value::to_string)
}

fn text(r: &ShadowReport) {
    output::line("Shadow mode report");
    output::line(&format!("  {}", tally_line(&r.tally)));
    output::line(&format!(
        "  human actions no shadow proposal answers: {}",
        r.unanswered_human_actions
    ));
    for cap in &r.capabilities {
        output::line("");
        output::line(&cap.capability);
        output::line(&format!("  {}", tally_line(&cap.tally)));
        for f in &cap.fields {
            output::line(&format!(
                "  field {}: {} of {} matched ({}), {} differed, {} not changed by the person, {} changed only by the person",
                f.column,
                f.matched,
                f.compared,
                percent(f.match_rate),
                f.differed,
                f.missing_from_human,
                f.extra_in_human
            ));
        }
        for e in &cap.mismatch_examples {
            output::line(&format!(
                "  e.g. {} ({} / {}): {} agent {} / human {}",
                e.proposal_id,
                e.tenant_id,
                e.object_id,
                e.column,
                value(e.agent.as_ref()),
                value(e.human.as_ref())
            ));
        }
    }
}

/// Markdown cells cannot hold `|` or line breaks.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn markdown(r: &ShadowReport) -> String {
    let mut out = String::from("# Shadow mode report\n\n");
    out.push_str(&format!("{}.\n\n", tally_line(&r.tally)));
    out.push_str(&format!(
        "Human actions no shadow proposal answers: {}.\n",
        r.unanswered_human_actions
    ));
    for cap in &r.capabilities {
        out.push_str(&format!(
            "\n## `{}`\n\n{}.\n\n",
            cell(&cap.capability),
            tally_line(&cap.tally)
        ));
        if !cap.fields.is_empty() {
            out.push_str("| field | compared | matched | match rate | differed | not changed by the person | changed only by the person |\n|---|---:|---:|---:|---:|---:|---:|\n");
            for f in &cap.fields {
                out.push_str(&format!(
                    "| `{}` | {} | {} | {} | {} | {} | {} |\n",
                    cell(&f.column),
                    f.compared,
                    f.matched,
                    percent(f.match_rate),
                    f.differed,
                    f.missing_from_human,
                    f.extra_in_human
                ));
            }
        }
        if !cap.mismatch_examples.is_empty() {
            out.push_str("\nExamples of mismatches:\n\n| proposal | tenant | object | field | agent | human |\n|---|---|---|---|---|---|\n");
            for e in &cap.mismatch_examples {
                out.push_str(&format!(
                    "| {} | {} | {} | `{}` | {} | {} |\n",
                    cell(&e.proposal_id),
                    cell(&e.tenant_id),
                    cell(&e.object_id),
                    cell(&e.column),
                    cell(&value(e.agent.as_ref())),
                    cell(&value(e.human.as_ref()))
                ));
            }
        }
    }
    out
}
