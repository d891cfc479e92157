//! `airlock ledger verify`: walk the hash chain and check it against the anchor; exit 1 at the
//! first broken link.

use std::path::{Path, PathBuf};

use airlock_cli::VerifyArgs;
use airlock_config::{LedgerEngine, env_vars};
use airlock_ledger::{read_anchors, verify_export};

use crate::output::{self, ExitStatus, hinted};
use crate::settings::{Settings, absolute};

pub async fn run(settings: &Settings, args: &VerifyArgs) -> anyhow::Result<ExitStatus> {
    if let Some(file) = &args.file {
        return verify_file(&absolute(&settings.cwd, file), args.json);
    }
    if let Some(n) = settings.env.get(env_vars::VERIFY_THREADS) {
        let n = n.trim().parse::<usize>().map_err(|_| {
            hinted(
                format!(
                    "{} must be a whole number of threads, got {n:?}",
                    env_vars::VERIFY_THREADS
                ),
                "unset it for one hashing thread per core",
            )
        })?;
        airlock_ledger::set_verify_threads(n);
    }
    let ledger = settings.open_ledger_read_only().await?;
    // An anchor named on the command line must exist; the one beside the ledger may not.
    let anchor: Option<PathBuf> = match &args.anchor {
        Some(path) => Some(absolute(&settings.cwd, path)),
        None => ledger
            .anchor_path()
            .map(Path::to_owned)
            .filter(|p| p.exists()),
    };
    let anchors = match &anchor {
        Some(path) => read_anchors(path)?,
        None => Vec::new(),
    };
    let report = ledger.verify_against(&anchors).await?;
    if args.json {
        let mut value = serde_json::to_value(&report)?;
        value["anchor_file"] = serde_json::json!(anchor);
        output::json(&value)?;
        return Ok(status(report.ok));
    }
    if let Some(b) = &report.first_break {
        output::line(&format!("ledger BROKEN: {}", ledger.location()));
        output::line(&format!(
            "  first break at event #{}: {} — {}",
            b.seq, b.code, b.detail
        ));
        output::line(&format!(
            "  checked {} events before it",
            report.events_checked.saturating_sub(1)
        ));
        return Ok(status(false));
    }
    output::line(&format!("ledger ok: {}", ledger.location()));
    output::line(&format!(
        "  {} events and {} records verified",
        report.events_checked, report.records_checked
    ));
    if let Some(head) = &report.head {
        output::line(&format!("  head: event #{} {}", head.seq, head.hash));
    }
    if let Some(cp) = &report.checkpoint {
        output::line(&format!(
            "  pruned: checkpoint event #{} ({}) cut the chain at #{}; verified from there, with the {} events it kept",
            cp.event_seq, cp.created_at, cp.cut.seq, cp.retained_events
        ));
    }
    if report.awaiting_prune > 0 {
        output::line(&format!(
            "  {} events at or before the cut are still waiting for removal (a prune was interrupted or is running); the next prune removes them",
            report.awaiting_prune
        ));
    }
    match (&anchor, report.anchored_seq) {
        (Some(path), Some(seq)) => output::line(&format!(
            "  anchor {}: {} checkpoints match; no event up to #{seq} was removed or rewritten",
            path.display(),
            report.anchors_checked
        )),
        (Some(path), None) => output::line(&format!(
            "  anchor {}: empty, so it proves nothing yet",
            path.display()
        )),
        (None, _) if ledger.engine() == LedgerEngine::Postgres => output::line(
            "  Postgres ledger: no anchor file; pass --anchor FILE to check heads kept elsewhere (see docs/fleet.md)",
        ),
        (None, _) => output::line(
            "  no anchor file: events removed from the end of the chain would go unnoticed (see docs/security.md)",
        ),
    }
    Ok(status(true))
}

/// `ledger verify --file EXPORT`: an export checked on its own.
fn verify_file(path: &Path, json: bool) -> anyhow::Result<ExitStatus> {
    let file = fs_err::File::open(path).map_err(|e| {
        output::hinted(
            format!("could not read the export {}: {e}", path.display()),
            "write one with `airlock ledger export --output FILE`",
        )
    })?;
    let (header, report) = verify_export(std::io::BufReader::new(file))?;
    if json {
        let mut value = serde_json::to_value(&report)?;
        value["file"] = serde_json::json!(path);
        value["export"] = serde_json::to_value(&header)?;
        output::json(&value)?;
        return Ok(status(report.ok));
    }
    if let Some(b) = &report.first_break {
        output::line(&format!("export BROKEN: {}", path.display()));
        output::line(&format!(
            "  first bad record: event #{}: {} — {}",
            b.seq, b.code, b.detail
        ));
        return Ok(status(false));
    }
    output::line(&format!("export ok: {}", path.display()));
    output::line(&format!(
        "  events #{}..#{} of {} ({} events and records verified)",
        header.first_seq, header.last_seq, header.ledger, report.events_checked
    ));
    if let Some(head) = &report.head {
        output::line(&format!(
            "  last event #{} {}: compare it with the ledger's anchor to prove nothing after it was cut",
            head.seq, head.hash
        ));
    }
    Ok(status(true))
}

fn status(ok: bool) -> ExitStatus {
    if ok {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    }
}
