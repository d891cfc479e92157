//! `airlock recipes init`: `airlock init --recipe NAME` with the recipe command's flags (the
//! same generator, checks and writer; nothing of its own).

use std::path::PathBuf;

use airlock_cli::{InitArgs, RecipeInitArgs};

use crate::output::ExitStatus;
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: &RecipeInitArgs) -> anyhow::Result<ExitStatus> {
    let init = InitArgs {
        recipe: Some(args.name.clone()),
        engine: args.engine.clone(),
        mode: args.mode.clone(),
        output: args.output.as_ref().map(|o| config_path(settings, o)),
        operators: args.operators.clone(),
        force: args.force,
        json: args.json,
        yes: true,
        ..InitArgs::default()
    };
    crate::commands::init::run(settings, &init).await
}

/// `--out DIR` (an existing folder, or a path ending in a separator) means DIR/airlock.json.
fn config_path(settings: &Settings, out: &std::path::Path) -> PathBuf {
    let text = out.to_string_lossy();
    if settings.cwd.join(out).is_dir() || text.ends_with('/') || text.ends_with('\\') {
        out.join("airlock.json")
    } else {
        out.to_path_buf()
    }
}
