//! The call path of a tool, end to end: check arguments, resolve trusted context, run the
//! scoped select on a pooled engine, check proposal guards, record evidence, query audit and
//! proposals in the ledger, and shape the result.
//!
//! Used by every surface that lets a model (or a person acting as one) call a tool: `smoke
//! call`, `propose`, and the MCP server. Invariant: nothing here can approve or apply (the
//! runtime holds the recording and reading [`Ledger`] only, see [`Runtime::ledger`], and does
//! not depend on `airlock-writeback`); the only database operation it has is a read-only select.

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

pub use airlock_db::PoolStatus;
pub use call::CallFailure;
pub use context::resolve_scope;

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

    /// The ledger calls are recorded in, as the recording and reading [`Ledger`] only. The
    /// review side ([`airlock_ledger::Review`]: approve, reject, begin an apply, record a
    /// receipt) is a different trait this runtime never holds, so neither the runtime nor the
    /// MCP server above it can change a proposal's state. These do not compile:
    ///
    /// ```compile_fail,E0599
    /// # async fn approve(rt: &airlock_runtime::Runtime, d: airlock_ledger::Decision) {
    /// let _ = rt.ledger().approve(d).await;
    /// # }
    /// ```
    ///
    /// ```compile_fail,E0308
    /// # fn review_side(rt: &airlock_runtime::Runtime) {
    /// let _: &dyn airlock_ledger::Review = rt.ledger().as_ref();
    /// # }
    /// ```
    ///
    /// while reading through the same ledger does, so the examples above fail for the missing
    /// capability and nothing else:
    ///
    /// ```
    /// # async fn read(rt: &airlock_runtime::Runtime) {
    /// let _ = rt.ledger().proposal("latest").await;
    /// let _: &dyn airlock_ledger::Ledger = rt.ledger().as_ref();
    /// # }
    /// ```
    pub fn ledger(&self) -> &Arc<dyn Ledger> {
        &self.ledger
    }

    /// The read pools this runtime has opened, by source name, with how they are used now.
    pub fn pool_status(&self) -> Vec<(String, airlock_db::PoolStatus)> {
        self.engines.pool_status()
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
                airlock_capability::CallCode::TrustedContextMissing,
                "No capability is configured, so there is no trusted context.",
            )
        })?;
        resolve_scope(&self.config, cap, &self.env, None)
    }
}
