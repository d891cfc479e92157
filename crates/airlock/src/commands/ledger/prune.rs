//! `airlock ledger prune --older-than 90d` (and the original's `store prune`): retention that
//! keeps proof. The ledger writes a checkpoint and removes old records in small batches.

use std::io::Write;

use airlock_cli::PruneArgs;
use airlock_ledger::{PrunePlan, PruneProgress};

use crate::output::{self, ExitStatus};
use crate::settings::Settings;

/// How the command was called: `ledger prune` prunes unless `--dry-run`; the original's
/// `store prune` is a dry run unless `--yes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Ledger,
    Store,
}

pub fn run(settings: &Settings, args: &PruneArgs, flavor: Flavor) -> anyhow::Result<ExitStatus> {
    // The Postgres ledger is refused before anything else is asked for.
    super::sqlite_file(settings, "`airlock ledger prune`", super::PRUNE_ON_POSTGRES)?;
    let from_config = || {
        settings
            .load_config()
            .ok()
            .and_then(|c| c.config.storage.and_then(|s| s.retention))
    };
    let (text, source) = match &args.older_than {
        Some(text) => (text.clone(), "--older-than"),
        None => match from_config() {
            Some(text) => (text, "storage.retention"),
            None => {
                return Err(output::hinted(
                    "prune needs --older-than <duration> (or storage.retention in the config)",
                    "for example --older-than 90d (units: s, m, h, d)",
                ));
            }
        },
    };
    let age = crate::listing::filter::parse_age_of(&text, source)?;
    let dry_run = args.dry_run || (flavor == Flavor::Store && !args.yes);
    let cutoff = (chrono::Utc::now() - age).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let ledger =
        super::open_existing(settings, "`airlock ledger prune`", super::PRUNE_ON_POSTGRES)?;
    if dry_run {
        let plan = ledger.prune_plan(&cutoff)?;
        if args.json {
            output::json(&serde_json::json!({"dry_run": true, "plan": plan}))?;
        } else {
            print_plan(&plan, true);
            let rerun = match flavor {
                Flavor::Ledger => "without --dry-run",
                Flavor::Store => "with --yes",
            };
            output::line(&format!("nothing was removed; rerun {rerun} to prune"));
        }
        return Ok(ExitStatus::Success);
    }
    let show_progress = !args.json && output::interactive();
    let pruned = ledger.prune(&cutoff, args.batch as usize, |at| {
        if show_progress {
            let mut err = std::io::stderr().lock();
            let _ = match at {
                PruneProgress::Removing { done, total } => {
                    write!(err, "\rpruning: {done}/{total} events removed")
                }
                PruneProgress::Emptying { index, removed } => {
                    write!(err, "\r\x1b[Kemptying {index}: {removed} entries removed")
                }
                PruneProgress::Reindexing { left } => write!(
                    err,
                    "\r\x1b[Krebuilding the search index: {left} rows to index"
                ),
            };
            let _ = err.flush();
        }
    });
    // End the progress line, also before an error.
    if show_progress {
        eprintln!();
    }
    let report = pruned?;
    if args.json {
        output::json(&serde_json::json!({"dry_run": false, "report": report}))?;
        return Ok(ExitStatus::Success);
    }
    print_plan(&report.plan, false);
    match report.checkpoint_seq {
        Some(seq) => {
            output::line(&format!(
                "  checkpoint: event #{seq}; `airlock ledger verify` proves the rest from there"
            ));
            output::line(&format!(
                "  {} batches, longest {:.1} ms, {} ms in all; run `airlock ledger vacuum` to give the space back",
                report.batches, report.longest_batch_ms, report.elapsed_ms
            ));
        }
        None => output::line("  nothing to remove"),
    }
    if !report.search_rebuilt.is_empty() {
        output::line(&format!(
            "  search index rebuilt from the records left: {} ({} ms)",
            report.search_rebuilt.join(", "),
            report.search_rebuild_ms
        ));
    }
    Ok(ExitStatus::Success)
}

fn print_plan(plan: &PrunePlan, dry_run: bool) {
    output::line(&format!(
        "ledger prune {}: records older than {}",
        if dry_run { "dry run" } else { "complete" },
        plan.cutoff
    ));
    match &plan.cut {
        Some(cut) if plan.events() > 0 => {
            output::line(&format!("  cut at event #{}", cut.seq));
            for (kind, n) in &plan.removes {
                let verb = if dry_run { "would remove" } else { "removed" };
                output::line(&format!("  {verb} {n} {kind}"));
            }
        }
        _ => {}
    }
    output::line(&format!(
        "  kept: {} open proposals with their {} events",
        plan.proposals_kept, plan.events_kept
    ));
    if dry_run && !plan.search_set_aside.is_empty() {
        output::line(&format!(
            "  would rebuild the search index of what is left: {} (it removes a quarter or more of their rows; searches read those records without the index until then)",
            plan.search_set_aside.join(", ")
        ));
    }
}
