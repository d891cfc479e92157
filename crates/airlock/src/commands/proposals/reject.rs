//! `airlock proposals reject ID|latest --reason R`.

use airlock_cli::DecisionArgs;

use super::decide::{self, Verdict};
use crate::output::ExitStatus;
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: &DecisionArgs) -> anyhow::Result<ExitStatus> {
    decide::run(settings, args, Verdict::Reject).await
}
