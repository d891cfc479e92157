//! One pooled engine per source, connected on first use and reused for the process lifetime.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use airlock_capability::CallError;
use airlock_config::{Config, Engine as EngineName};
use airlock_db::{Engine, EngineKind, SecretUrl, SourceSettings};
use tokio::sync::OnceCell;

use crate::Env;

pub(crate) struct Engines {
    config: Arc<Config>,
    base_dir: PathBuf,
    max_connections: usize,
    cells: HashMap<String, OnceCell<Arc<dyn Engine>>>,
}

impl Engines {
    pub(crate) fn new(config: Arc<Config>, base_dir: PathBuf, max_connections: usize) -> Engines {
        let cells = config
            .sources
            .keys()
            .map(|k| (k.clone(), OnceCell::new()))
            .collect();
        Engines {
            config,
            base_dir,
            max_connections,
            cells,
        }
    }

    /// The engine of `source`, connecting on first use. A failed connect is not cached.
    pub(crate) async fn get(&self, source: &str, env: &Env) -> Result<Arc<dyn Engine>, CallError> {
        let cell = self.cells.get(source).ok_or_else(|| {
            CallError::new("SOURCE_NOT_FOUND", format!("Unknown source `{source}`."))
        })?;
        cell.get_or_try_init(|| async {
            let settings = self.settings(source, env)?;
            airlock_db::connect(&settings).await.map_err(|e| {
                tracing::warn!(source, error = %e, "could not open the source");
                crate::call::db_error(e)
            })
        })
        .await
        .cloned()
    }

    fn settings(&self, name: &str, env: &Env) -> Result<SourceSettings, CallError> {
        source_settings(
            &self.config,
            name,
            &self.base_dir,
            env,
            self.max_connections,
        )
    }
}

/// The connection settings of a configured source: its SQLite `path` (relative to
/// `base_dir`, the config file's folder) or the URL in its `read_url_env` variable. A missing
/// variable or source is `SOURCE_CREDENTIAL_MISSING` / `SOURCE_NOT_FOUND`, with the operator
/// detail in [`CallError::detail`].
pub fn source_settings(
    config: &Config,
    name: &str,
    base_dir: &Path,
    env: &Env,
    max_connections: usize,
) -> Result<SourceSettings, CallError> {
    let source = config
        .sources
        .get(name)
        .ok_or_else(|| CallError::new("SOURCE_NOT_FOUND", format!("Unknown source `{name}`.")))?;
    let url = match (&source.path, &source.read_url_env) {
        (Some(path), _) => {
            let p = PathBuf::from(path);
            let p = if p.is_absolute() { p } else { base_dir.join(p) };
            SecretUrl::new(p.display().to_string())
        }
        (None, Some(var)) => match env.get(var).filter(|v| !v.is_empty()) {
            Some(url) => SecretUrl::new(url.clone()),
            None => {
                return Err(CallError::new(
                    "SOURCE_CREDENTIAL_MISSING",
                    "The database connection for this capability is not configured.",
                )
                .with_detail(format!(
                    "environment variable {var} is not set (source {name})"
                )));
            }
        },
        (None, None) => {
            return Err(CallError::new(
                "SOURCE_CREDENTIAL_MISSING",
                "The database connection for this capability is not configured.",
            )
            .with_detail(format!("source {name} has neither path nor read_url_env")));
        }
    };
    Ok(SourceSettings {
        engine: match source.engine {
            EngineName::Postgres => EngineKind::Postgres,
            EngineName::Mysql => EngineKind::Mysql,
            EngineName::Sqlite => EngineKind::Sqlite,
        },
        url,
        statement_timeout_ms: source.statement_timeout_ms,
        max_connections,
    })
}
