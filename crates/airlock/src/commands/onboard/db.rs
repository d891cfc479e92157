//! `airlock onboard db`: `init` (prompt-free with `--yes`), then the checks a new user runs
//! next: the config validates and the tool list passes the exposure checks. Exit 0 only
//! when both pass.

use airlock_capability::exposure::{SafetyCheck, safety_checks};
use airlock_capability::{AliasMode, Catalog};
use airlock_cli::InitArgs;

use crate::commands::init;
use crate::output::{self, ExitStatus};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: &InitArgs) -> anyhow::Result<ExitStatus> {
    let Some(outcome) = init::generate_and_write(settings, args, true).await? else {
        return Ok(ExitStatus::Success);
    };
    // Read back what was written, as every later command will.
    let loaded = airlock_config::read(&outcome.config_path)?;
    let (config, _) = airlock_config::parse(&loaded.document).map_err(|r| {
        anyhow::anyhow!(
            "[INIT_GENERATED_INVALID] the written config does not validate: {} errors",
            r.errors.len()
        )
    })?;
    let catalog = Catalog::new(&config, AliasMode::Canonical);
    let failed: Vec<SafetyCheck> = safety_checks(&catalog)
        .into_iter()
        .filter(|c| !c.ok)
        .collect();
    if args.json {
        let mut summary = init::summary_json(&outcome);
        summary["tools_listed"] =
            serde_json::json!(catalog.tools.iter().map(|t| &t.name).collect::<Vec<_>>());
        summary["failed_checks"] = serde_json::json!(failed);
        output::json(&summary)?;
    } else {
        init::summary(args, &outcome)?;
        output::line(&format!("config valid: {}", outcome.config_path.display()));
        if failed.is_empty() {
            output::line(
                "tool boundary: ok (no SQL, approval or apply tool, URL or trusted-context argument exposed)",
            );
        }
        for c in &failed {
            output::line(&format!("tool boundary: FAIL {}: {}", c.name, c.detail));
        }
    }
    Ok(if failed.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}
