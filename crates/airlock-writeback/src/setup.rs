//! Builds the executor a capability names from the config and the environment (credentials,
//! paths); the [`Executor`] trait itself is in [`crate::executor`].

use std::collections::HashMap;
use std::path::Path;

use airlock_config::{Capability, Config, ExecutorKind};
use airlock_db::{Access, SourceSettings, resolve_source};

use crate::apply::ApplyError;
use crate::command_handler::CommandHandler;
use crate::executor::Executor;
use crate::http_handler::HttpHandler;
use crate::sql_update::SqlUpdate;

/// The executor for `cap`. Credentials come from `env`; SQLite paths resolve against
/// `base_dir`. Missing credentials (database URL, handler URL, token, signing secret, command)
/// are a setup error (nothing is recorded; the proposal stays approved); a database or handler
/// that does not answer is reported by the executor as a `failed` outcome.
pub fn executor_for(
    config: &Config,
    cap: &Capability,
    env: &HashMap<String, String>,
    base_dir: &Path,
) -> Result<Box<dyn Executor>, ApplyError> {
    let name = cap.executor_name();
    let declared = config.executors.as_ref().and_then(|e| e.get(name));
    let Some(kind) = executor_kind(config, cap) else {
        return Err(ApplyError::Setup(format!(
            "executor `{name}` is not configured"
        )));
    };
    match (kind, declared) {
        (ExecutorKind::SqlUpdate, _) => Ok(Box::new(SqlUpdate::new(write_settings(
            config, cap, env, base_dir,
        )?))),
        (ExecutorKind::HttpHandler, Some(e)) => {
            Ok(Box::new(HttpHandler::from_config(name, e, env)?))
        }
        (ExecutorKind::CommandHandler, Some(e)) => {
            Ok(Box::new(CommandHandler::from_config(name, e, env)?))
        }
        (_, None) => Err(ApplyError::Setup(format!(
            "executor `{name}` is not configured"
        ))),
    }
}

/// The kind of executor a capability names: a declared executor's type, or `sql_update` for
/// the built-in default. `None` when the name is not declared.
pub fn executor_kind(config: &Config, cap: &Capability) -> Option<ExecutorKind> {
    let name = cap.executor_name();
    match config.executors.as_ref().and_then(|e| e.get(name)) {
        Some(e) => Some(e.kind),
        None if name == "sql_update" => Some(ExecutorKind::SqlUpdate),
        None => None,
    }
}

fn write_settings(
    config: &Config,
    cap: &Capability,
    env: &HashMap<String, String>,
    base_dir: &Path,
) -> Result<SourceSettings, ApplyError> {
    let source = config
        .sources
        .get(&cap.source)
        .ok_or_else(|| ApplyError::Setup(format!("source `{}` is not configured", cap.source)))?;
    resolve_source(&cap.source, source, Access::Write, env, base_dir, 4)
        .map_err(|e| ApplyError::Setup(e.to_string()))
}
