//! `airlock ledger reset` (and `store reset`): delete a disposable ledger and its files.

use airlock_cli::ResetArgs;

use crate::output::{self, ExitStatus};
use crate::settings::Settings;

pub fn run(settings: &Settings, args: &ResetArgs) -> anyhow::Result<ExitStatus> {
    let path = super::sqlite_file(settings, "`airlock ledger reset`", super::RESET_ON_POSTGRES)?;
    let files = airlock_ledger::ledger_files(&path);
    if !args.yes {
        let question = format!(
            "This deletes the ledger {} and every record in it (back it up first with `airlock ledger backup PATH`).",
            path.display()
        );
        if !output::confirm(&question)? {
            output::line("nothing deleted");
            return Ok(ExitStatus::Failure);
        }
    }
    let mut removed = Vec::new();
    for file in &files {
        match std::fs::remove_file(file) {
            Ok(()) => removed.push(file.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(output::hinted(
                    format!("could not delete {}: {e}", file.display()),
                    "check the file's permissions; files listed before it were deleted",
                ));
            }
        }
    }
    if args.json {
        output::json(&serde_json::json!({
            "ok": true,
            "store": path,
            "removed": removed,
            "source_database_changed": false,
        }))?;
        return Ok(ExitStatus::Success);
    }
    output::line("ledger reset complete");
    output::line(&format!("  store: {}", path.display()));
    output::line("  source database changed: no");
    if removed.is_empty() {
        output::line("  no ledger files were present");
    }
    for file in &removed {
        output::line(&format!("  removed {file}"));
    }
    Ok(ExitStatus::Success)
}
