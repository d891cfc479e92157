//! Resolves what a command needs from flags, environment and config: config path, store path,
//! the ledger and the call runtime. Commands never read env vars or files directly.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use airlock_capability::AliasMode;
use airlock_capability::envelope::ResultFormat;
use airlock_cli::GlobalArgs;
use airlock_config::{Config, Issue};

use airlock_ledger::SqliteLedger;
use airlock_runtime::{Env, Runtime, RuntimeOptions};
use anyhow::Context as _;

use crate::output::hinted;

/// Default ledger location when neither --store nor storage.sqlite_path says otherwise.
pub const DEFAULT_STORE: &str = ".airlock/ledger.db";

/// Process-wide inputs of a command.
pub struct Settings {
    pub cwd: PathBuf,
    pub env: Env,
    pub config: Option<PathBuf>,
    pub store: Option<PathBuf>,
}

/// A config that passed validation.
pub struct LoadedConfig {
    pub path: PathBuf,
    pub config: Config,
    pub warnings: Vec<Issue>,
}

impl LoadedConfig {
    /// The folder relative paths in the config are resolved against.
    pub fn dir(&self, cwd: &Path) -> PathBuf {
        self.path
            .parent()
            .map_or_else(|| cwd.to_owned(), |p| absolute(cwd, p))
    }
}

/// A config that failed validation: the issues to print.
#[derive(Debug)]
pub struct InvalidConfig {
    pub path: PathBuf,
    pub report: airlock_config::Report,
}

impl std::fmt::Display for InvalidConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "config invalid: {}", self.path.display())?;
        for (i, issue) in self.report.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "  {} {}: {}", issue.path, issue.code, issue.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for InvalidConfig {}

impl Settings {
    pub fn new(global: &GlobalArgs) -> anyhow::Result<Settings> {
        Ok(Settings {
            cwd: std::env::current_dir().context("could not read the current directory")?,
            env: std::env::vars().collect(),
            config: global.config.clone(),
            store: global.store.clone(),
        })
    }

    /// `--config` / `AIRLOCK_CONFIG`, else airlock.json, else synapsor.runner.json.
    pub fn config_path(&self) -> anyhow::Result<PathBuf> {
        Ok(airlock_config::discover(
            self.config.as_deref(),
            None,
            &self.cwd,
        )?)
    }

    /// Reads and validates the config. An invalid config is an [`InvalidConfig`] error.
    pub fn load_config(&self) -> anyhow::Result<LoadedConfig> {
        let path = self.config_path()?;
        let loaded = airlock_config::read(&path)?;
        match airlock_config::parse(&loaded.document) {
            Ok((config, warnings)) => Ok(LoadedConfig {
                path,
                config,
                warnings,
            }),
            Err(report) => Err(anyhow::Error::new(InvalidConfig { path, report })),
        }
    }

    /// `--store` / `AIRLOCK_STORE` (relative to the working directory), else the config's
    /// `storage.sqlite_path` (relative to the config file's folder), else
    /// `./.airlock/ledger.db`.
    pub fn store_path(&self, config: Option<&LoadedConfig>) -> PathBuf {
        if let Some(store) = &self.store {
            return absolute(&self.cwd, store);
        }
        if let Some(loaded) = config {
            if let Some(storage) = &loaded.config.storage {
                return absolute(&loaded.dir(&self.cwd), Path::new(&storage.sqlite_path));
            }
        }
        absolute(&self.cwd, Path::new(DEFAULT_STORE))
    }

    /// The store path for read-only commands, which may run without a config.
    pub fn store_path_for_reading(&self) -> PathBuf {
        let config = self.load_config().ok();
        self.store_path(config.as_ref())
    }

    /// Opens the ledger for reading; never creates one.
    pub fn open_ledger_read_only(&self) -> anyhow::Result<SqliteLedger> {
        let path = self.store_path_for_reading();
        Ok(SqliteLedger::open_read_only(&path)?)
    }

    /// Builds the call runtime over a writable ledger.
    pub fn runtime(
        &self,
        loaded: &LoadedConfig,
        alias_mode: AliasMode,
        format: Option<ResultFormat>,
    ) -> anyhow::Result<Runtime> {
        let ledger = SqliteLedger::open(&self.store_path(Some(loaded)))?;
        let base_dir = loaded.dir(&self.cwd);
        Ok(Runtime::new(
            loaded.config.clone(),
            Arc::new(ledger),
            self.env.clone(),
            RuntimeOptions {
                alias_mode,
                result_format: format,
                base_dir,
                max_connections: 4,
            },
        ))
    }
}

impl Settings {
    /// Who is acting: `--actor`, else `$AIRLOCK_ACTOR`, else `$USER` / `$LOGNAME`.
    pub fn actor(&self, flag: Option<&str>) -> anyhow::Result<String> {
        flag.map(str::to_owned)
            .or_else(|| {
                ["AIRLOCK_ACTOR", "USER", "LOGNAME"]
                    .iter()
                    .find_map(|k| self.env.get(*k).filter(|v| !v.is_empty()).cloned())
            })
            .ok_or_else(|| {
                hinted(
                    "no operator identity",
                    "pass --actor NAME or set AIRLOCK_ACTOR",
                )
            })
    }

    /// Opens the ledger for writing (creating it when missing).
    pub fn open_ledger(&self, loaded: &LoadedConfig) -> anyhow::Result<SqliteLedger> {
        Ok(SqliteLedger::open(&self.store_path(Some(loaded)))?)
    }
}

pub fn absolute(cwd: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_owned()
    } else {
        cwd.join(p)
    }
}

/// Parses `--result-format`.
pub fn result_format(flag: Option<&str>) -> anyhow::Result<Option<ResultFormat>> {
    Ok(match flag {
        None => None,
        Some("1" | "v1") => Some(ResultFormat::V1),
        Some("2" | "v2") => Some(ResultFormat::V2),
        Some(other) => {
            return Err(hinted(
                format!("unknown result format {other}"),
                "use 1 or 2",
            ));
        }
    })
}
