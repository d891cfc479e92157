//! `airlock config validate`: every problem at once; exit 0 valid, 2 invalid.

use airlock_config::{Issue, LoadError};

use crate::output::{self, ExitStatus};
use crate::settings::Settings;

pub fn run(settings: &Settings, json: bool) -> anyhow::Result<ExitStatus> {
    let path = settings.config_path()?;
    let loaded = match airlock_config::read(&path) {
        Ok(loaded) => loaded,
        Err(e) if !matches!(e, LoadError::NotFound { .. }) && json => {
            // A file that is not a config at all is still an invalid config: exit 2 with a
            // code, and a JSON answer for scripts.
            output::json(&serde_json::json!({
                "ok": false,
                "config_path": path,
                "errors": [{"code": e.code(), "path": "$", "message": e.to_string(), "hint": e.hint()}],
                "warnings": [],
            }))?;
            return Ok(ExitStatus::Invalid);
        }
        Err(e) => return Err(e.into()),
    };
    let mut report = airlock_config::validate(&loaded.document);
    // Checks that need the environment (the config crate never reads it).
    if let Ok((config, _)) = airlock_config::parse(&loaded.document) {
        for (at, problem) in airlock_mcp::auth::short_hs256_secrets(&config, &settings.env) {
            report.errors.push(Issue {
                code: "HS256_SECRET_TOO_SHORT",
                path: at,
                message: problem.to_string(),
                hint: Some(
                    "generate a random secret of 32 bytes or more, e.g. `openssl rand -base64 48`"
                        .into(),
                ),
            });
        }
        report.ok = report.errors.is_empty();
    }
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
