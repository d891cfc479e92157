//! Builds the executor a capability names from the config and the environment (credentials,
//! paths); the [`Executor`] trait itself is in [`crate::executor`].

use std::collections::HashMap;
use std::path::Path;

use airlock_config::{Capability, Config, Engine, ExecutorKind};
use airlock_db::{EngineKind, SecretUrl, SourceSettings};

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

/// The database kind of a configured source engine.
pub fn engine_kind(engine: Engine) -> EngineKind {
    match engine {
        Engine::Postgres => EngineKind::Postgres,
        Engine::Mysql => EngineKind::Mysql,
        Engine::Sqlite => EngineKind::Sqlite,
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
    if source.read_only == Some(true) {
        return Err(ApplyError::Setup(format!(
            "source `{}` is marked read_only; airlock never writes to it",
            cap.source
        )));
    }
    let from_env = |var: &String| env.get(var).filter(|v| !v.is_empty()).cloned();
    let url = match (&source.write_url_env, &source.path) {
        (Some(var), _) => from_env(var).ok_or_else(|| {
            ApplyError::Setup(format!(
                "environment variable {var} (write_url_env of source `{}`) is not set",
                cap.source
            ))
        })?,
        (None, Some(path)) => {
            let p = Path::new(path);
            if p.is_absolute() {
                path.clone()
            } else {
                base_dir.join(p).display().to_string()
            }
        }
        (None, None) => {
            return Err(ApplyError::Setup(format!(
                "source `{}` has no write_url_env, so approved proposals on it cannot be applied",
                cap.source
            )));
        }
    };
    Ok(SourceSettings {
        engine: engine_kind(source.engine),
        url: SecretUrl::new(url),
        statement_timeout_ms: source.statement_timeout_ms,
        max_connections: 4,
    })
}
