//! `airlock ledger stats` (and the original's `store stats`): counts, sizes, age, chain head.

use crate::open_ledger::OpenLedger;
use crate::output::{self, ExitStatus};
use crate::settings::Settings;

use super::human_bytes;

pub async fn run(settings: &Settings, json: bool) -> anyhow::Result<ExitStatus> {
    let opened = settings.open_ledger_read_only().await?;
    let Ok(ledger) = opened.sqlite_only("", "") else {
        return shared(&opened, json).await;
    };
    let stats = ledger.storage_stats()?;
    if json {
        output::json(&serde_json::json!({"path": ledger.path(), "stats": stats}))?;
        return Ok(ExitStatus::Success);
    }
    let c = &stats.counts;
    output::line(&format!("ledger: {}", ledger.path().display()));
    output::line(&format!(
        "  size             {} (WAL {}, anchor {}, {} free)",
        human_bytes(stats.file_bytes),
        human_bytes(stats.wal_bytes),
        human_bytes(stats.anchor_bytes),
        human_bytes(stats.free_bytes)
    ));
    for (label, n) in [
        ("proposals       ", c.proposals),
        ("evidence bundles", c.evidence_bundles),
        ("query audit     ", c.query_audit),
        ("approvals       ", c.approvals),
        ("writeback jobs  ", c.writeback_jobs),
        ("receipts        ", c.receipts),
        ("events          ", c.events),
    ] {
        output::line(&format!("  {label} {n}"));
    }
    output::line(&format!(
        "                   ({} derived from the chain, not counted row by row; `ledger verify` counts every row)",
        stats.derived_counts.join(", ")
    ));
    if !stats.proposals_by_state.is_empty() {
        let states: Vec<String> = stats
            .proposals_by_state
            .iter()
            .map(|(s, n)| format!("{s} {n}"))
            .collect();
        output::line(&format!("  by state         {}", states.join(", ")));
    }
    if let (Some(oldest), Some(newest)) = (&stats.oldest, &stats.newest) {
        output::line(&format!("  oldest event     {oldest}"));
        output::line(&format!("  newest event     {newest}"));
    }
    match &stats.head {
        Some(h) => output::line(&format!("  chain head       #{} {}", h.seq, h.hash)),
        None => output::line("  chain head       none (empty ledger)"),
    }
    if !stats.search_set_aside.is_empty() {
        output::line(&format!(
            "  search index     set aside by a prune: {} (searches read those records without it; the prune rebuilds it at its end, and if that prune stopped, the next `airlock ledger prune` does)",
            stats.search_set_aside.join(", ")
        ));
    } else if stats.search_unindexed > 0 {
        output::line(&format!(
            "  search index     {} recent records not indexed yet (a writer indexes them in the background; searches read them directly)",
            stats.search_unindexed
        ));
    }
    if let Some(cp) = &stats.checkpoint {
        output::line(&format!(
            "  checkpoint       event #{} ({}): history before #{} pruned, records older than {}",
            cp.event_seq,
            cp.created_at,
            cp.cut.seq + 1,
            cp.cutoff
        ));
    }
    Ok(ExitStatus::Success)
}

/// The Postgres ledger: row counts, proposals by state and the newest event through the
/// ledger traits; every writer's chain head, the history's age and the schema's size from the
/// Postgres ledger itself (vacuum state is the database's to report).
async fn shared(ledger: &OpenLedger, json: bool) -> anyhow::Result<ExitStatus> {
    let counts = ledger.stats().await?;
    let states = ledger.state_counts().await?;
    let head = ledger.chain_head().await?;
    let fleet = match ledger.postgres() {
        Some(pg) => Some(pg.fleet_stats().await?),
        None => None,
    };
    if json {
        let mut stats = serde_json::json!({
            "counts": counts,
            "proposals_by_state": states.proposals,
            "receipts_by_status": states.receipts,
            "head": head,
        });
        if let Some(fleet) = &fleet
            && let (Some(out), serde_json::Value::Object(more)) =
                (stats.as_object_mut(), serde_json::to_value(fleet)?)
        {
            out.extend(more);
        }
        output::json(&serde_json::json!({
            "engine": "postgres",
            "location": ledger.location(),
            "stats": stats,
        }))?;
        return Ok(ExitStatus::Success);
    }
    output::line(&format!("ledger: Postgres {}", ledger.location()));
    if let Some(f) = &fleet {
        output::line(&format!(
            "  size             {} (schema), {} (whole database); schema version {}",
            human_bytes(u64::try_from(f.schema_bytes).unwrap_or(0)),
            human_bytes(u64::try_from(f.database_bytes).unwrap_or(0)),
            f.schema_version
        ));
    }
    for (label, n) in [
        ("proposals       ", counts.proposals),
        ("evidence bundles", counts.evidence_bundles),
        ("query audit     ", counts.query_audit),
        ("approvals       ", counts.approvals),
        ("writeback jobs  ", counts.writeback_jobs),
        ("receipts        ", counts.receipts),
        ("events          ", counts.events),
    ] {
        output::line(&format!("  {label} {n}"));
    }
    if !states.proposals.is_empty() {
        let by: Vec<String> = states
            .proposals
            .iter()
            .map(|(s, n)| format!("{s} {n}"))
            .collect();
        output::line(&format!("  by state         {}", by.join(", ")));
    }
    if let Some(f) = &fleet
        && let (Some(oldest), Some(newest)) = (&f.oldest, &f.newest)
    {
        output::line(&format!("  oldest event     {oldest}"));
        output::line(&format!("  newest event     {newest}"));
    }
    match &head {
        Some(h) => output::line(&format!(
            "  latest head      #{} {} (across writers)",
            h.seq, h.hash
        )),
        None => output::line("  chain head       none (empty ledger)"),
    }
    if let Some(f) = &fleet {
        output::line(&format!(
            "  writers          {} (one hash chain each)",
            f.writers.len()
        ));
        for w in &f.writers {
            let state = match &w.closed_at {
                Some(at) => format!("closed {at}"),
                None => "open".to_owned(),
            };
            let head = match &w.head {
                Some(h) => format!("head #{} {}", h.seq, h.hash),
                None => "no events".to_owned(),
            };
            output::line(&format!(
                "    {}  {} events, {head}; {} pid {}, joined {}, {state}",
                w.writer_id, w.events, w.host, w.pid, w.registered_at
            ));
        }
    }
    Ok(ExitStatus::Success)
}
