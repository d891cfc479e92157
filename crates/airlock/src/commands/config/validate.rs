//! `airlock config validate`: every problem at once; exit 0 valid, 2 invalid.

use airlock_config::Issue;

use crate::output::{self, ExitStatus};
use crate::settings::Settings;

pub fn run(settings: &Settings, json: bool) -> anyhow::Result<ExitStatus> {
    let path = settings.config_path()?;
    let loaded = airlock_config::read(&path)?;
    let report = airlock_config::validate(&loaded.document);
    if json {
        output::json(&serde_json::json!({
            "ok": report.ok,
            "config_path": path,
            "errors": report.errors,
            "warnings": report.warnings,
        }))?;
    } else {
        output::line(&format!(
            "config {}: {}",
            if report.ok { "valid" } else { "invalid" },
            path.display()
        ));
        for issue in &report.errors {
            print_issue("error", issue);
        }
        for issue in &report.warnings {
            print_issue("warning", issue);
        }
        if report.ok {
            let n = loaded
                .document
                .get("capabilities")
                .and_then(|c| c.as_array())
                .map_or(0, Vec::len);
            output::line(&format!("{n} capabilities; next: airlock tools list"));
        }
    }
    Ok(if report.ok {
        ExitStatus::Success
    } else {
        ExitStatus::Invalid
    })
}

fn print_issue(level: &str, issue: &Issue) {
    output::line(&format!(
        "{level} {} {}: {}",
        issue.path, issue.code, issue.message
    ));
    if let Some(hint) = &issue.hint {
        output::line(&format!("  hint: {hint}"));
    }
}
