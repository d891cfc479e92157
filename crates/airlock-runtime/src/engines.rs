//! One pooled engine per source, connected on first use and reused for the process lifetime.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use airlock_capability::{CallCode, CallError};
use airlock_config::Config;
use airlock_db::{Access, Engine, SourceSettings, resolve_source};
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

    /// The pools opened so far, by source name (sorted), with how they are used.
    pub(crate) fn pool_status(&self) -> Vec<(String, airlock_db::PoolStatus)> {
        let mut out: Vec<_> = self
            .cells
            .iter()
            .filter_map(|(name, cell)| cell.get().map(|e| (name.clone(), e.pool_status())))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// The engine of `source`, connecting on first use. A failed connect is not cached.
    pub(crate) async fn get(&self, source: &str, env: &Env) -> Result<Arc<dyn Engine>, CallError> {
        let cell = self.cells.get(source).ok_or_else(|| {
            CallError::new(
                CallCode::SourceNotFound,
                format!("Unknown source `{source}`."),
            )
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
        resolve_source(
            name,
            &self.config.sources[name],
            Access::Read,
            env,
            &self.base_dir,
            self.max_connections,
        )
        .map_err(|e| {
            CallError::new(
                CallCode::SourceCredentialMissing,
                "The database connection for this capability is not configured.",
            )
            .with_detail(e.to_string())
        })
    }
}
