//! The call path of a tool, end to end: check arguments, resolve trusted context, run the
//! scoped select on a pooled engine, check proposal guards, record evidence, query audit and
//! proposals in the ledger, and shape the result.
//!
//! Used by every surface that lets a model (or a person acting as one) call a tool: `smoke
//! call`, `propose`, and the MCP server. Invariant: nothing here can approve or apply; the
//! only database operation it has is a read-only select.

mod call;
mod context;
mod engines;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use airlock_capability::envelope::ResultFormat;
use airlock_capability::{AliasMode, Catalog};
use airlock_config::Config;
use airlock_ledger::Ledger;

pub use call::CallFailure;
pub use context::resolve_scope;
pub use engines::source_settings;

/// Environment variables as read once at start. Tests pass their own.
pub type Env = HashMap<String, String>;

/// Everything a call needs, built once per process.
pub struct Runtime {
    config: Arc<Config>,
    catalog: Catalog,
    ledger: Arc<dyn Ledger>,
    env: Env,
    engines: engines::Engines,
    format: ResultFormat,
}

/// How to build a [`Runtime`].
pub struct RuntimeOptions {
    pub alias_mode: AliasMode,
    /// Overrides `result_format` from the config.
    pub result_format: Option<ResultFormat>,
    /// Folder that relative SQLite source paths are resolved against (the config's folder).
    pub base_dir: PathBuf,
    /// Upper bound on pooled connections per source.
    pub max_connections: usize,
}

impl Runtime {
    pub fn new(
        config: Config,
        ledger: Arc<dyn Ledger>,
        env: Env,
        options: RuntimeOptions,
    ) -> Runtime {
        let catalog = Catalog::new(&config, options.alias_mode);
        let format = options.result_format.unwrap_or_else(|| {
            config
                .result_format
                .and_then(ResultFormat::from_number)
                .unwrap_or_default()
        });
        let config = Arc::new(config);
        Runtime {
            engines: engines::Engines::new(
                config.clone(),
                options.base_dir,
                options.max_connections,
            ),
            config,
            catalog,
            ledger,
            env,
            format,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn ledger(&self) -> &Arc<dyn Ledger> {
        &self.ledger
    }

    pub fn result_format(&self) -> ResultFormat {
        self.format
    }

    /// The trusted scope of a caller outside any one capability (MCP resource reads): the
    /// verified claims when a transport has them, else the trusted context of the first
    /// capability, resolved from config and environment.
    pub fn session_scope(
        &self,
        claims: Option<&airlock_capability::plan::TrustedScope>,
    ) -> Result<airlock_capability::plan::TrustedScope, airlock_capability::CallError> {
        if let Some(scope) = claims {
            return Ok(scope.clone());
        }
        let cap = self.config.capabilities.first().ok_or_else(|| {
            airlock_capability::CallError::new(
                "TRUSTED_CONTEXT_MISSING",
                "No capability is configured, so there is no trusted context.",
            )
        })?;
        resolve_scope(&self.config, cap, &self.env, None)
    }
}
