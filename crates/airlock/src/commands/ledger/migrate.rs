//! `airlock ledger migrate [--dry-run] [--json]`: the ledger's pending schema migrations,
//! applied on request with progress on stderr (opening a ledger for writing applies them
//! silently), or listed.

use std::io::Write;
use std::time::{Duration, Instant};

use airlock_cli::MigrateArgs;
use airlock_ledger::{MigrationProgress, MigrationReport, SqliteLedger};

use crate::output::{self, ExitStatus};
use crate::settings::Settings;

/// How often a long step says where it is.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

pub fn run(settings: &Settings, args: &MigrateArgs) -> anyhow::Result<ExitStatus> {
    let path = super::sqlite_file(
        settings,
        "`airlock ledger migrate`",
        super::MIGRATE_ON_POSTGRES,
    )?;
    if args.dry_run {
        let pending = SqliteLedger::pending_migrations(&path)?;
        if args.json {
            output::json(&serde_json::json!({
                "path": path,
                "dry_run": true,
                "current": pending.steps.is_empty(),
                "from": pending.from,
                "to": pending.to,
                "pending": pending.steps,
            }))?;
            return Ok(ExitStatus::Success);
        }
        if pending.steps.is_empty() {
            output::line(&format!(
                "ledger {} is current (schema version {}): nothing to migrate",
                path.display(),
                pending.to
            ));
            return Ok(ExitStatus::Success);
        }
        output::line(&format!(
            "ledger {}: schema version {}; {} migration(s) pending:",
            path.display(),
            pending.from,
            pending.steps.len()
        ));
        for step in &pending.steps {
            output::line(&format!("  {:>2}  {}", step.version, step.what));
        }
        output::line("nothing was changed; rerun without --dry-run to migrate");
        return Ok(ExitStatus::Success);
    }
    let mut shown = Progress::new();
    let report = SqliteLedger::migrate(&path, |p| shown.heard(p))?;
    if args.json {
        output::json(&serde_json::json!({
            "path": path,
            "dry_run": false,
            "current": report.steps.is_empty(),
            "from": report.from,
            "to": report.to,
            "steps": report.steps,
            "elapsed_ms": report.elapsed_ms,
        }))?;
        return Ok(ExitStatus::Success);
    }
    print_done(&path, &report);
    Ok(ExitStatus::Success)
}

fn print_done(path: &std::path::Path, report: &MigrationReport) {
    if report.steps.is_empty() {
        output::line(&format!(
            "ledger {} is current (schema version {}): nothing to migrate",
            path.display(),
            report.to
        ));
        return;
    }
    output::line(&format!(
        "migrated ledger {} from schema version {} to {} in {}",
        path.display(),
        report.from,
        report.to,
        seconds(report.elapsed_ms)
    ));
    for step in &report.steps {
        output::line(&format!(
            "  {:>2}  {} ({})",
            step.version,
            step.what,
            seconds(step.elapsed_ms)
        ));
    }
}

fn seconds(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

/// Progress lines on stderr: one per part when it starts, then at most one every
/// [`PROGRESS_EVERY`], and one when it is done. Lines, not a redrawn line, so a log keeps them.
struct Progress {
    started: Instant,
    part: Option<&'static str>,
    last_shown: Instant,
}

impl Progress {
    fn new() -> Progress {
        let now = Instant::now();
        Progress {
            started: now,
            part: None,
            last_shown: now,
        }
    }

    fn heard(&mut self, p: &MigrationProgress) {
        let new_part = self.part != Some(p.part);
        let done = p.done >= p.total;
        if !new_part && !done && self.last_shown.elapsed() < PROGRESS_EVERY {
            return;
        }
        self.part = Some(p.part);
        self.last_shown = Instant::now();
        let percent = if p.total == 0 {
            100.0
        } else {
            p.done as f64 * 100.0 / p.total as f64
        };
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "migration {}: {} {:5.1} % ({} of {} row ids), {:.0} s",
            p.version,
            p.part,
            percent,
            p.done,
            p.total,
            self.started.elapsed().as_secs_f64()
        );
        let _ = err.flush();
    }
}
