//! `airlock config schema`: the JSON Schema of the config file, generated from its types.

use crate::output::{self, ExitStatus};

pub fn run() -> anyhow::Result<ExitStatus> {
    output::json(&airlock_config::json_schema())?;
    Ok(ExitStatus::Success)
}
