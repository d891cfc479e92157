//! `airlock ledger verify`: walk the hash chain and check it against the anchor; exit 1 at the
//! first broken link.

use std::path::PathBuf;

use airlock_cli::VerifyArgs;
use airlock_ledger::{Ledger, read_anchors};

use crate::output::{self, ExitStatus};
use crate::settings::{Settings, absolute};

pub async fn run(settings: &Settings, args: &VerifyArgs) -> anyhow::Result<ExitStatus> {
    let ledger = settings.open_ledger_read_only()?;
    // An anchor named on the command line must exist; the one beside the ledger may not.
    let anchor: Option<PathBuf> = match &args.anchor {
        Some(path) => Some(absolute(&settings.cwd, path)),
        None => Some(ledger.anchor_path().to_owned()).filter(|p| p.exists()),
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
        output::line(&format!("ledger BROKEN: {}", ledger.path().display()));
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
    output::line(&format!("ledger ok: {}", ledger.path().display()));
    output::line(&format!(
        "  {} events and {} records verified",
        report.events_checked, report.records_checked
    ));
    if let Some(head) = &report.head {
        output::line(&format!("  head: event #{} {}", head.seq, head.hash));
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
        (None, _) => output::line(
            "  no anchor file: events removed from the end of the chain would go unnoticed (see docs/security.md)",
        ),
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
