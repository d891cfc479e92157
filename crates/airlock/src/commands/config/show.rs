//! `airlock config show [--redacted]`: the config as parsed.

use crate::output::{self, ExitStatus};
use crate::settings::Settings;

pub fn run(settings: &Settings, redacted: bool) -> anyhow::Result<ExitStatus> {
    let loaded = airlock_config::read(&settings.config_path()?)?;
    let doc = if redacted {
        airlock_config::redacted(&loaded.document)
    } else {
        loaded.document
    };
    output::json(&doc)?;
    Ok(ExitStatus::Success)
}
