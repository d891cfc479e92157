//! `airlock propose CAPABILITY`: create a proposal as a model would. The source database is
//! never written.

use airlock_cli::CallArgs;

use crate::commands::smoke::call::{self, Kind};
use crate::output::ExitStatus;
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: &CallArgs) -> anyhow::Result<ExitStatus> {
    call::run(settings, args, Kind::Proposal).await
}
